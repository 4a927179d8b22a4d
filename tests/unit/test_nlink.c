/* Unit tests: nlink xattr parse/apply/format. */
#include <string.h>

#include "overlay/nlink.h"
#include "unit.h"

static int nl(const char *s, struct ovl_nlink *out)
{
	return ovl_nlink_parse(s, strlen(s), out);
}

START_TEST(test_valid)
{
	struct ovl_nlink n;

	ck_assert_int_eq(nl("U+0", &n), 0);
	ck_assert_int_eq(n.base, 'U');
	ck_assert_int_eq(n.diff, 0);
	ck_assert_int_eq(nl("U-1", &n), 0);
	ck_assert_int_eq(n.diff, -1);
	ck_assert_int_eq(nl("L+3", &n), 0);
	ck_assert_int_eq(n.base, 'L');
	ck_assert_int_eq(n.diff, 3);
	ck_assert_int_eq(nl("L-0", &n), 0);
	ck_assert_int_eq(n.diff, 0);
	ck_assert_int_eq(nl("U+007", &n), 0);
	ck_assert_int_eq(n.diff, 7);
	/* kstrtoint allows one trailing newline */
	ck_assert_int_eq(nl("U+5\n", &n), 0);
	ck_assert_int_eq(n.diff, 5);
	/* int range, 12 bytes max */
	ck_assert_int_eq(nl("U+2147483647", &n), 0);
	ck_assert_int_eq(n.diff, 2147483647L);
	ck_assert_int_eq(nl("U-2147483648", &n), 0);
	ck_assert_int_eq(n.diff, -2147483648L);
	/* the kernel reads a C string: an embedded NUL ends it */
	ck_assert_int_eq(ovl_nlink_parse("U+1\0junk", 8, &n), 0);
	ck_assert_int_eq(n.diff, 1);
}
END_TEST

START_TEST(test_invalid)
{
	struct ovl_nlink n;

	ck_assert_int_eq(nl("", &n), -1);
	ck_assert_int_eq(nl("U", &n), -1);
	ck_assert_int_eq(nl("U+", &n), -1);
	ck_assert_int_eq(nl("U1", &n), -1);
	ck_assert_int_eq(nl("u+1", &n), -1);
	ck_assert_int_eq(nl("X+1", &n), -1);
	ck_assert_int_eq(nl("U++1", &n), -1);
	ck_assert_int_eq(nl("U+-1", &n), -1);
	ck_assert_int_eq(nl("U-+1", &n), -1);
	ck_assert_int_eq(nl("U--1", &n), -1);
	ck_assert_int_eq(nl("U+1x", &n), -1);
	ck_assert_int_eq(nl("U+ 1", &n), -1);
	ck_assert_int_eq(nl("U+1 ", &n), -1);
	ck_assert_int_eq(nl("U+1\n\n", &n), -1);
	ck_assert_int_eq(nl("U+0x1", &n), -1);
	ck_assert_int_eq(nl("U+2147483648", &n), -1);
	ck_assert_int_eq(nl("U-2147483649", &n), -1);
	/* more than 12 bytes: ERANGE in the kernel */
	ck_assert_int_eq(nl("U+0000000001", &n), 0);
	ck_assert_int_eq(nl("U+00000000001", &n), -1);
	ck_assert_int_eq(nl("U+1\n\0\0\0\0\0\0\0\0\0", &n), 0);	/* strlen 4 */
	ck_assert_int_eq(ovl_nlink_parse("U+1\n\0\0\0\0\0\0\0\0\0", 13, &n), -1);
	ck_assert_int_eq(ovl_nlink_parse("\0+1", 3, &n), -1);
}
END_TEST

START_TEST(test_apply_format)
{
	struct ovl_nlink n = { 'U', -1 };
	char buf[24];

	ck_assert_int_eq(ovl_nlink_apply(&n, 3, 7), 2);
	n.base = 'L';
	ck_assert_int_eq(ovl_nlink_apply(&n, 3, 7), 6);
	n.diff = -7;
	ck_assert_int_le(ovl_nlink_apply(&n, 3, 7), 0);
	ovl_nlink_format(&n, buf, sizeof(buf));
	ck_assert_str_eq(buf, "L-7");
	n.base = 'U';
	n.diff = 0;
	ovl_nlink_format(&n, buf, sizeof(buf));
	ck_assert_str_eq(buf, "U+0");
	n.diff = 12;
	ovl_nlink_format(&n, buf, sizeof(buf));
	ck_assert_str_eq(buf, "U+12");
	/* format -> parse round trip */
	{
		struct ovl_nlink back;
		long d[] = { 0, 1, -1, 2147483647L, -2147483648L };

		for (unsigned i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
			n.diff = d[i];
			ovl_nlink_format(&n, buf, sizeof(buf));
			ck_assert_int_eq(nl(buf, &back), 0);
			ck_assert_int_eq(back.diff, d[i]);
			ck_assert_int_eq(back.base, n.base);
		}
	}
}
END_TEST

/* ovl_get_nlink's answers: the orphan rule of the index at mount. */
START_TEST(test_kernel_count)
{
	/* no usable value, or a lower with one link: the fallback */
	ck_assert_int_eq(ovl_nlink_kernel(NULL, 0, 1, 2, 0), 0);
	ck_assert_int_eq(ovl_nlink_kernel("U*1", 3, 1, 2, 0), 0);
	ck_assert_int_eq(ovl_nlink_kernel("U+1", 3, 1, 1, 0), 0);
	ck_assert_int_eq(ovl_nlink_kernel("U+1", 3, 3, 1, 3), 3);
	/* a count of 0 or less is unusable too */
	ck_assert_int_eq(ovl_nlink_kernel("U-1", 3, 1, 2, 0), 0);
	ck_assert_int_eq(ovl_nlink_kernel("L-2", 3, 1, 2, 7), 7);
	/* an index entry kept for the lower aliases left: union nlink 1 */
	ck_assert_int_eq(ovl_nlink_kernel("U+0", 3, 1, 2, 0), 1);
	ck_assert_int_eq(ovl_nlink_kernel("L-1", 3, 1, 2, 0), 1);
	ck_assert_int_eq(ovl_nlink_kernel("U+12", 4, 2, 3, 0), 14);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("nlink");
	TCase *tc = tcase_create("nlink");

	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_apply_format);
	tcase_add_test(tc, test_kernel_count);
	suite_add_tcase(s, tc);
	return s;
}
