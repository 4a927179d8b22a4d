/* Unit tests: allocation, escaping, hex. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "overlay/util.h"
#include "unit.h"

#ifdef __SANITIZE_ADDRESS__
/* Let the OOM test see malloc fail instead of ASan aborting on the size. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

static const char *esc(const char *in, size_t n)
{
	static char buf[1024];

	ovl_escape(in, n, buf, sizeof(buf));
	return buf;
}

START_TEST(test_xalloc)
{
	char *s = ovl_xstrdup("hello");
	char *t = ovl_xstrndup("hello", 3);
	char *u = ovl_xstrndup("hi", 10);
	int *z = ovl_xcalloc(4, sizeof(int));
	void *m = ovl_xmalloc(0);

	ck_assert_str_eq(s, "hello");
	ck_assert_str_eq(t, "hel");
	ck_assert_str_eq(u, "hi");
	ck_assert_int_eq(z[0] | z[1] | z[2] | z[3], 0);
	ck_assert_ptr_nonnull(m);
	s = ovl_xrealloc(s, 100);
	ck_assert_str_eq(s, "hello");
	free(s);
	free(t);
	free(u);
	free(z);
	free(m);
}
END_TEST

/* Out of memory: one line on stderr, exit status 8. */
START_TEST(test_xmalloc_oom)
{
	int p[2], status;
	char buf[128] = "";
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 2);
		ovl_xmalloc((size_t)-1 / 2);
		_exit(0);
	}
	close(p[1]);
	{
		static char all[4096];
		size_t got = 0;

		while ((n = read(p[0], all + got, sizeof(all) - 1 - got)) > 0)
			got += (size_t)n;
		all[got] = '\0';
		ck_assert_uint_gt(got, 0);
		memcpy(buf, all, got < sizeof(buf) - 1 ? got : sizeof(buf) - 1);
#ifdef __SANITIZE_ADDRESS__
		/* ASan warns about the failed allocation first */
		ck_assert_ptr_nonnull(strstr(all, "\nfsck.overlay: out of memory\n"));
		{
			const char *line = strstr(all, "\nfsck.overlay") + 1;
			size_t l = strlen(line);

			memset(buf, 0, sizeof(buf));
			memcpy(buf, line, l < sizeof(buf) - 1 ? l : sizeof(buf) - 1);
		}
#endif
	}
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 8);
	ck_assert_str_eq(buf, "fsck.overlay: out of memory\n");
}
END_TEST

START_TEST(test_escape_basic)
{
	ck_assert_str_eq(esc("plain", 5), "plain");
	ck_assert_str_eq(esc("a\nb\tc\\d", 7), "a\\nb\\tc\\\\d");
	ck_assert_str_eq(esc("\x01\x1b[31m\x7f", 7), "\\x01\\x1b[31m\\x7f");
	ck_assert_str_eq(esc("a\0b", 3), "a\\x00b");
	ck_assert_str_eq(esc("", 0), "");
	ck_assert_str_eq(esc("\r", 1), "\\x0d");
}
END_TEST

START_TEST(test_escape_utf8)
{
	/* valid UTF-8 kept: é, €, U+1F600 */
	ck_assert_str_eq(esc("caf\xc3\xa9", 5), "caf\xc3\xa9");
	ck_assert_str_eq(esc("\xe2\x82\xac", 3), "\xe2\x82\xac");
	ck_assert_str_eq(esc("\xf0\x9f\x98\x80", 4), "\xf0\x9f\x98\x80");
	/* invalid: lone continuation, truncated, overlong, surrogate, > U+10FFFF */
	ck_assert_str_eq(esc("\x80", 1), "\\x80");
	ck_assert_str_eq(esc("\xc3", 1), "\\xc3");
	ck_assert_str_eq(esc("\xe2\x82", 2), "\\xe2\\x82");
	ck_assert_str_eq(esc("\xc0\xaf", 2), "\\xc0\\xaf");
	ck_assert_str_eq(esc("\xe0\x80\xaf", 3), "\\xe0\\x80\\xaf");
	ck_assert_str_eq(esc("\xed\xa0\x80", 3), "\\xed\\xa0\\x80");
	ck_assert_str_eq(esc("\xf4\x90\x80\x80", 4), "\\xf4\\x90\\x80\\x80");
	ck_assert_str_eq(esc("\xff", 1), "\\xff");
	/* C1 control U+009B (CSI) escaped, U+00A0 kept */
	ck_assert_str_eq(esc("\xc2\x9b", 2), "\\xc2\\x9b");
	ck_assert_str_eq(esc("\xc2\xa0", 2), "\xc2\xa0");
	/* a bad byte does not swallow the valid one after it */
	ck_assert_str_eq(esc("\xc3\xc3\xa9", 3), "\\xc3\xc3\xa9");
}
END_TEST

START_TEST(test_escape_truncation)
{
	char buf[8];
	size_t n;

	n = ovl_escape("abcdefghij", 10, buf, sizeof(buf));
	ck_assert_uint_eq(n, 10);
	ck_assert_str_eq(buf, "abcdefg");
	n = ovl_escape("\n\n\n\n\n", 5, buf, sizeof(buf));
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_eq(strlen(buf), 7);
	n = ovl_escape("abc", 3, NULL, 0);
	ck_assert_uint_eq(n, 3);
	n = ovl_escape("abc", 3, buf, 1);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(buf, "");
	/* exact fit */
	n = ovl_escape("abcdefg", 7, buf, 8);
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(buf, "abcdefg");
}
END_TEST

START_TEST(test_hex)
{
	unsigned char in[] = { 0x00, 0xfb, 0x1d, 0xab, 0xff }, out[8];
	char hex[16];

	ovl_hex_encode(in, sizeof(in), hex);
	ck_assert_str_eq(hex, "00fb1dabff");
	ck_assert_int_eq(ovl_hex_decode(hex, 10, out, sizeof(out)), 5);
	ck_assert_mem_eq(in, out, 5);
	ck_assert_int_eq(ovl_hex_decode("00FB1DABFF", 10, out, sizeof(out)), 5);
	ck_assert_mem_eq(in, out, 5);
	ck_assert_int_eq(ovl_hex_decode("abc", 3, out, sizeof(out)), -1);
	ck_assert_int_eq(ovl_hex_decode("zz", 2, out, sizeof(out)), -1);
	ck_assert_int_eq(ovl_hex_decode("0g", 2, out, sizeof(out)), -1);
	ck_assert_int_eq(ovl_hex_decode("001122", 6, out, 2), -1);
	ck_assert_int_eq(ovl_hex_decode("", 0, out, 0), 0);
	ovl_hex_encode(in, 0, hex);
	ck_assert_str_eq(hex, "");
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("util");

	tcase_add_test(tc, test_xalloc);
	tcase_add_test(tc, test_xmalloc_oom);
	tcase_add_test(tc, test_escape_basic);
	tcase_add_test(tc, test_escape_utf8);
	tcase_add_test(tc, test_escape_truncation);
	tcase_add_test(tc, test_hex);
	suite_add_tcase(s, tc);
	return s;
}
