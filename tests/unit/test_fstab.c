/*
 * The overlay entries of an fstab: only overlays, the overlay's own
 * options (mount flags dropped), fstab escapes undone, -A's pass order.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/fstab.h"
#include "unit.h"

static char path[] = "/tmp/ovl-fstab-XXXXXX";

static void write_fstab(const char *text)
{
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

START_TEST(test_read_and_order)
{
	struct ovl_fstab t;
	char err[256];

	write_fstab("# a comment\n"
		    "UUID=1234 / ext4 defaults 0 1\n"
		    "overlay /srv/m\\040two overlay lowerdir=/l,upperdir=/u,workdir=/w,noauto,"
		    "x-systemd.requires=a.mount 0 2\n"
		    "overlay /srv/one overlay lowerdir=/l1:/l2,metacopy=on 0 1\n"
		    "overlay /srv/zero overlay lowerdir=/l 0 0\n"
		    "overlay /srv/one2 overlay lowerdir=/x 0 1\n");
	ck_assert_msg(ovl_fstab_read(path, &t, err, sizeof(err)) == 0, "%s", err);
	unlink(path);
	ck_assert_uint_eq(t.n, 4);
	ck_assert_str_eq(t.e[0].target, "/srv/m two");
	/* the overlay's options only: noauto and x-systemd.* are mount's */
	ck_assert_str_eq(t.e[0].options, "lowerdir=/l,upperdir=/u,workdir=/w");
	ck_assert_int_eq(t.e[0].passno, 2);
	ck_assert_str_eq(t.e[1].options, "lowerdir=/l1:/l2,metacopy=on");
	ck_assert_ptr_eq(ovl_fstab_find(&t, "/srv/m two"), &t.e[0]);
	/* no such dirs here: the text is compared, "//" and a trailing '/' aside */
	ck_assert_ptr_eq(ovl_fstab_find(&t, "/srv//one/"), &t.e[1]);
	ck_assert_ptr_eq(ovl_fstab_find(&t, "/srv/on"), NULL);
	ck_assert_ptr_eq(ovl_fstab_find(&t, "/srv/zero"), &t.e[2]);

	const struct ovl_fstab_entry *order[8];
	ck_assert_uint_eq(ovl_fstab_pass_order(&t, order), 3);
	ck_assert_str_eq(order[0]->target, "/srv/one");
	ck_assert_str_eq(order[1]->target, "/srv/one2");
	ck_assert_str_eq(order[2]->target, "/srv/m two");
	ovl_fstab_free(&t);
}
END_TEST

START_TEST(test_missing_file)
{
	struct ovl_fstab t;
	char err[256];

	ck_assert_int_eq(ovl_fstab_read("/nonexistent/fstab", &t, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/fstab"));
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("fstab");
	TCase *tc = tcase_create("fstab");

	tcase_add_test(tc, test_read_and_order);
	tcase_add_test(tc, test_missing_file);
	suite_add_tcase(s, tc);
	return s;
}
