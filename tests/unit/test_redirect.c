/* Unit tests: redirect validation and component walk. */
#include <string.h>

#include "overlay/redirect.h"
#include "unit.h"

static enum ovl_redirect_err rd(const char *s, bool *abs)
{
	bool dummy;

	return ovl_redirect_parse(s, strlen(s), abs ? abs : &dummy);
}

START_TEST(test_valid)
{
	bool abs;

	ck_assert_int_eq(rd("name", &abs), OVL_RD_OK);
	ck_assert(!abs);
	ck_assert_int_eq(rd("/a", &abs), OVL_RD_OK);
	ck_assert(abs);
	ck_assert_int_eq(rd("/a/b/c", &abs), OVL_RD_OK);
	ck_assert(abs);
	/* stored raw: newline, backslash, dots inside names are fine */
	ck_assert_int_eq(rd("a\nb", NULL), OVL_RD_OK);
	ck_assert_int_eq(rd("/x\\y/z", NULL), OVL_RD_OK);
	ck_assert_int_eq(rd("...", NULL), OVL_RD_OK);
	ck_assert_int_eq(rd("/.hidden/..x", NULL), OVL_RD_OK);
	ck_assert_int_eq(rd("/hl/lh2", NULL), OVL_RD_OK);
	ck_assert_int_eq(rd("/mv1", NULL), OVL_RD_OK);
	ck_assert_int_eq(ovl_redirect_parse("/a", 2, NULL), OVL_RD_OK);
}
END_TEST

START_TEST(test_kernel_invalid)
{
	/* the forms seen to make a dir vanish (EINVAL) */
	ck_assert_int_eq(rd("", NULL), OVL_RD_EMPTY);
	ck_assert_int_eq(rd("/", NULL), OVL_RD_ROOT);
	ck_assert_int_eq(rd("dir/", NULL), OVL_RD_SLASH_IN_RELATIVE);
	ck_assert_int_eq(rd("a/b", NULL), OVL_RD_SLASH_IN_RELATIVE);
	ck_assert_int_eq(rd("//dir", NULL), OVL_RD_EMPTY_COMPONENT);
	ck_assert_int_eq(rd("/di//r", NULL), OVL_RD_EMPTY_COMPONENT);
	ck_assert_int_eq(rd("/a/", NULL), OVL_RD_EMPTY_COMPONENT);
	ck_assert_int_eq(rd("//", NULL), OVL_RD_EMPTY_COMPONENT);
	/* structural errors win over dot components */
	ck_assert_int_eq(rd("/../a/", NULL), OVL_RD_EMPTY_COMPONENT);
}
END_TEST

START_TEST(test_extra_invalid)
{
	char big[5000];

	ck_assert_int_eq(rd(".", NULL), OVL_RD_DOT);
	ck_assert_int_eq(rd("..", NULL), OVL_RD_DOT);
	ck_assert_int_eq(rd("/..", NULL), OVL_RD_DOT);
	ck_assert_int_eq(rd("/a/../../etc", NULL), OVL_RD_DOT);
	ck_assert_int_eq(rd("/a/.", NULL), OVL_RD_DOT);
	ck_assert_int_eq(ovl_redirect_parse("a\0b", 3, NULL), OVL_RD_NUL);
	ck_assert_int_eq(ovl_redirect_parse("/a\0", 3, NULL), OVL_RD_NUL);
	ck_assert_int_eq(ovl_redirect_parse("\0", 1, NULL), OVL_RD_NUL);
	/* NAME_MAX per component, PATH_MAX overall */
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(ovl_redirect_parse(big, 255, NULL), OVL_RD_OK);
	ck_assert_int_eq(ovl_redirect_parse(big, 256, NULL), OVL_RD_TOO_LONG);
	big[0] = '/';
	ck_assert_int_eq(ovl_redirect_parse(big, 256, NULL), OVL_RD_OK);
	ck_assert_int_eq(ovl_redirect_parse(big, 257, NULL), OVL_RD_TOO_LONG);
	for (int i = 200; i < (int)sizeof(big); i += 200)
		big[i] = '/';
	ck_assert_int_eq(ovl_redirect_parse(big, 4096, NULL), OVL_RD_OK);
	ck_assert_int_eq(ovl_redirect_parse(big, 4097, NULL), OVL_RD_TOO_LONG);
	for (int e = OVL_RD_OK; e <= OVL_RD_TOO_LONG; e++)
		ck_assert_ptr_nonnull(ovl_redirect_strerror(e));
}
END_TEST

struct collect {
	char buf[256];
	int n;
	int stop_at;
};

static int collect_fn(const char *comp, size_t len, void *arg)
{
	struct collect *c = arg;

	if (c->n == c->stop_at)
		return 42;
	strncat(c->buf, "[", sizeof(c->buf) - strlen(c->buf) - 1);
	strncat(c->buf, comp, len);
	strncat(c->buf, "]", sizeof(c->buf) - strlen(c->buf) - 1);
	c->n++;
	return 0;
}

START_TEST(test_foreach)
{
	struct collect c = { "", 0, -1 };

	ck_assert_int_eq(ovl_redirect_foreach("/a/bc/def", 9, collect_fn, &c), 0);
	ck_assert_str_eq(c.buf, "[a][bc][def]");
	ck_assert_int_eq(c.n, 3);
	memset(&c, 0, sizeof(c));
	c.stop_at = 1;
	ck_assert_int_eq(ovl_redirect_foreach("/a/bc/def", 9, collect_fn, &c), 42);
	ck_assert_str_eq(c.buf, "[a]");
	memset(&c, 0, sizeof(c));
	c.stop_at = -1;
	/* size bounds the walk: the rest is not looked at */
	ck_assert_int_eq(ovl_redirect_foreach("/a/bc/def", 5, collect_fn, &c), 0);
	ck_assert_str_eq(c.buf, "[a][bc]");
	memset(&c, 0, sizeof(c));
	c.stop_at = -1;
	ck_assert_int_eq(ovl_redirect_foreach("rel", 3, collect_fn, &c), 0);
	ck_assert_str_eq(c.buf, "[rel]");
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("redirect");
	TCase *tc = tcase_create("redirect");

	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_kernel_invalid);
	tcase_add_test(tc, test_extra_invalid);
	tcase_add_test(tc, test_foreach);
	suite_add_tcase(s, tc);
	return s;
}
