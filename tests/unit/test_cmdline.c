/*
 * fsck.mode= and fsck.repair= read from a kernel command line as
 * systemd-fsck reads them; /proc/cmdline overridden by
 * $SYSTEMD_PROC_CMDLINE.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/cmdline.h"
#include "unit.h"

static struct ovl_fsck_boot b;
static char warn[256];

static int parse(const char *cmdline)
{
	return ovl_cmdline_fsck(cmdline, &b, warn, sizeof(warn));
}

START_TEST(test_defaults)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(b.mode, OVL_BOOT_AUTO);
	ck_assert_int_eq(b.repair, OVL_REPAIR_PREEN);
	ck_assert_str_eq(warn, "");
	ck_assert_int_eq(parse("BOOT_IMAGE=/vmlinuz root=UUID=1 ro quiet fsck.modes=skip "
			       "xfsck.mode=skip fsck.mode.x=skip fsck.repairs=yes\n"), 0);
	ck_assert_int_eq(b.mode, OVL_BOOT_AUTO);
	ck_assert_int_eq(b.repair, OVL_REPAIR_PREEN);
}
END_TEST

START_TEST(test_values)
{
	ck_assert_int_eq(parse("ro fsck.mode=skip"), 0);
	ck_assert_int_eq(b.mode, OVL_BOOT_SKIP);
	ck_assert_int_eq(parse("fsck.mode=force\tfsck.repair=yes"), 0);
	ck_assert_int_eq(b.mode, OVL_BOOT_FORCE);
	ck_assert_int_eq(b.repair, OVL_REPAIR_YES);
	ck_assert_int_eq(parse("fsck.repair=no fsck.mode=auto"), 0);
	ck_assert_int_eq(b.mode, OVL_BOOT_AUTO);
	ck_assert_int_eq(b.repair, OVL_REPAIR_NO);
	ck_assert_int_eq(parse("fsck.repair=preen"), 0);
	ck_assert_int_eq(b.repair, OVL_REPAIR_PREEN);
	/* the last one wins */
	ck_assert_int_eq(parse("fsck.mode=skip fsck.repair=no fsck.mode=force fsck.repair=yes"), 0);
	ck_assert_int_eq(b.mode, OVL_BOOT_FORCE);
	ck_assert_int_eq(b.repair, OVL_REPAIR_YES);
}
END_TEST

START_TEST(test_quotes)
{
	ck_assert_int_eq(parse("\"fsck.mode=skip\""), 0);
	ck_assert_int_eq(b.mode, OVL_BOOT_SKIP);
	ck_assert_int_eq(parse("fsck.repair='yes'"), 0);
	ck_assert_int_eq(b.repair, OVL_REPAIR_YES);
	/* a quoted space does not split: one word "x=a fsck.mode=skip" */
	ck_assert_int_eq(parse("x=\"a fsck.mode=skip\""), 0);
	ck_assert_int_eq(b.mode, OVL_BOOT_AUTO);
	/* an unterminated quote runs to the end */
	ck_assert_int_eq(parse("fsck.mode=\"skip"), 0);
	ck_assert_int_eq(b.mode, OVL_BOOT_SKIP);
}
END_TEST

START_TEST(test_ignored)
{
	/* the initrd's switches are not ours */
	ck_assert_int_eq(parse("rd.fsck.mode=skip rd.fsck.repair=yes"), 0);
	ck_assert_int_eq(b.mode, OVL_BOOT_AUTO);
	ck_assert_int_eq(b.repair, OVL_REPAIR_PREEN);
	/* unknown and missing values: ignored, the earlier value kept */
	ck_assert_int_eq(parse("fsck.mode=force fsck.mode=sometimes fsck.repair fsck.repair=YES"), 3);
	ck_assert_int_eq(b.mode, OVL_BOOT_FORCE);
	ck_assert_int_eq(b.repair, OVL_REPAIR_PREEN);
	ck_assert_str_eq(warn, "fsck.mode=sometimes: unknown value, ignored");
	ck_assert_int_eq(parse("fsck.repair="), 1);
	ck_assert_str_eq(warn, "fsck.repair=: unknown value, ignored");
	ck_assert_int_eq(parse("fsck.mode"), 1);
	ck_assert_str_eq(warn, "fsck.mode=: no value, ignored");
	ck_assert_int_eq(parse("fsck.mode=\x1b[2J"), 1);
	ck_assert_str_eq(warn, "fsck.mode=\\x1b[2J: unknown value, ignored");
}
END_TEST

START_TEST(test_read)
{
	ck_assert_int_eq(setenv("SYSTEMD_PROC_CMDLINE", "quiet fsck.mode=skip", 1), 0);
	char *c = ovl_cmdline_read();
	ck_assert_str_eq(c, "quiet fsck.mode=skip");
	free(c);
	ck_assert_int_eq(unsetenv("SYSTEMD_PROC_CMDLINE"), 0);
	c = ovl_cmdline_read();
	ck_assert_ptr_nonnull(c);	/* /proc/cmdline: never missing on Linux */
	ck_assert_int_ge(parse(c), 0);
	free(c);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("cmdline");
	TCase *tc = tcase_create("cmdline");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_quotes);
	tcase_add_test(tc, test_ignored);
	tcase_add_test(tc, test_read);
	suite_add_tcase(s, tc);
	return s;
}
