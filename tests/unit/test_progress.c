/*
 * -C progress: e2fsck's lines, complete passes, rate limiting, a bar that
 * can be taken off, and the walk's share estimate.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/progress.h"
#include "unit.h"

/* Everything written to the pipe so far, as one string. */
static char *drain(int fd)
{
	static char buf[1 << 16];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(test_lines)
{
	int p[2];
	struct ovl_progress pr;

	ck_assert_int_eq(pipe(p), 0);
	ovl_progress_init(&pr, p[1], NULL, "/srv/m");
	ovl_progress_update(&pr, 1, 2, NULL);	/* before any pass: nothing */
	ovl_progress_pass(&pr, 1, "the stack");
	ovl_progress_pass(&pr, 2, "upper");
	ovl_progress_update(&pr, 500, 1000, NULL);
	ovl_progress_update(&pr, 500, 1000, NULL);	/* unchanged: no line */
	ovl_progress_update(&pr, 2000, 1000, NULL);	/* capped at max */
	ovl_progress_pass(&pr, 3, "applying the fixes");
	ovl_progress_update(&pr, 0, 4882, NULL);	/* a new scale: KiB */
	ovl_progress_update(&pr, 4882, 4882, NULL);
	ovl_progress_end(&pr);	/* already complete: no line */
	ck_assert_str_eq(drain(p[0]), "1 0 1000 /srv/m\n"
				      "1 1000 1000 /srv/m\n"
				      "2 0 1000 /srv/m\n"
				      "2 500 1000 /srv/m\n"
				      "2 1000 1000 /srv/m\n"
				      "3 0 1000 /srv/m\n"
				      "3 0 4882 /srv/m\n"
				      "3 4882 4882 /srv/m\n");
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A million updates write about a thousand lines. */
START_TEST(test_rate)
{
	int p[2];
	struct ovl_progress pr;

	ck_assert_int_eq(pipe(p), 0);
	ovl_progress_init(&pr, p[1], NULL, "x");
	ovl_progress_pass(&pr, 1, "upper");
	drain(p[0]);
	int lines = 0;
	for (unsigned long long i = 0; i < 1000000; i++) {
		ovl_progress_update(&pr, i, 1000000, NULL);
		if (i % 100000 == 0)
			lines += count_lines(drain(p[0]));
	}
	ovl_progress_end(&pr);
	lines += count_lines(drain(p[0]));
	ck_assert_int_ge(lines, 1000);
	ck_assert_int_le(lines, 1002);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_bar)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct ovl_progress pr;

	ovl_progress_init(&pr, 0, f, "x");
	ovl_progress_pass(&pr, 2, "upper");
	ovl_progress_update(&pr, 1, 3, NULL);	/* within 0.1 s of the 0%: not drawn */
	usleep(110 * 1000);
	ovl_progress_update(&pr, 1, 2, "3/6 files");
	ovl_progress_clear(&pr);
	fflush(f);
	ck_assert_ptr_nonnull(strstr(text, "\rPass 2: upper [    "));
	ck_assert_ptr_null(strstr(text, "33.3%"));
	ck_assert_ptr_nonnull(strstr(text, "]  50.0% 3/6 files"));
	/* cleared: the text ends with a carriage return after blanks */
	ck_assert_int_eq(text[len - 1], '\r');
	ck_assert_int_eq(text[len - 2], ' ');
	size_t before = len;
	ovl_progress_clear(&pr);	/* not on the screen: nothing */
	fflush(f);
	ck_assert_uint_eq(len, before);
	fclose(f);
	free(text);
}
END_TEST

/* Dir of 4 entries; entry 2 is a dir of 2: its second entry is at
 * 2/4 + 1/4 * 1/2 = 0.625. */
START_TEST(test_share)
{
	struct ovl_progress_share s = { 0, 1 };
	struct ovl_progress_share top = ovl_progress_enter(&s, 2, 4);

	ck_assert(s.base == 0.5 && s.span == 0.25);
	struct ovl_progress_share mid = ovl_progress_enter(&s, 1, 2);
	ck_assert(s.base == 0.625 && s.span == 0.125);
	s = mid;
	ck_assert(s.base == 0.5);
	s = top;
	ck_assert(s.base == 0 && s.span == 1);
	ovl_progress_at(NULL, &s);	/* NULL progress: a no-op */
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("progress");
	TCase *tc = tcase_create("progress");

	tcase_add_test(tc, test_lines);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_bar);
	tcase_add_test(tc, test_share);
	suite_add_tcase(s, tc);
	return s;
}
