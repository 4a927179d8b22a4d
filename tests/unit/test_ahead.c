/*
 * The read-ahead pool: entries come back in order, each read once, with
 * any number of readers; readers are added while the reads wait (on the
 * disk, here on a sleep), up to 4 * jobs - 1, and none without -j.
 */
#include <check.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "walk/ahead.h"
#include "unit.h"

#define SUITE_TAG "ahead"
#include "tmptree.h"

#define NFILES 400

static atomic_int reads;
static int sleep_us;

/* A read that waits without using a CPU, as one on a cold disk does. */
static void slow_read(const struct ovl_walk_env *e, int dirfd, const char *name,
		      struct ovl_rentry *r)
{
	struct timespec ts = { 0, sleep_us * 1000L };

	(void)e;
	memset(r, 0, sizeof(*r));
	r->child_fd = -1;
	r->res.data_fd = -1;
	if (sleep_us)
		nanosleep(&ts, NULL);
	atomic_fetch_add(&reads, 1);
	if (fstatat(dirfd, name, &r->st, AT_SYMLINK_NOFOLLOW) < 0)
		r->stat_err = 1;
}

static void make_files(void)
{
	char p[512];

	snprintf(base, sizeof(base), "%s/t-XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(base));
	for (int i = 0; i < NFILES; i++) {
		snprintf(p, sizeof(p), "%s/f%04d", base, i);
		FILE *f = fopen(p, "w");
		ck_assert_ptr_nonnull(f);
		/* the size tells which file a record is of */
		for (int k = 0; k < i; k++)
			fputc('x', f);
		fclose(f);
	}
}

/* Walk the dir with `jobs`; returns the readers it had at the end. */
static int walk(int jobs, int us)
{
	struct ovl_walk_env env = { .read = slow_read };
	int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	sleep_us = us;
	atomic_store(&reads, 0);
	struct ovl_ahead *a = ovl_ahead_start(&env, jobs, 4096);
	struct ovl_rdir *d = ovl_ahead_dir(a, fd, NULL, 0);
	size_t n = 0;
	int err = 0;
	char **names = ovl_rdir_names(d, &n, &err);
	ck_assert_ptr_nonnull(names);
	ck_assert_uint_eq(n, NFILES);
	for (size_t i = 0; i < n; i++) {
		struct ovl_rentry *r = ovl_rdir_entry(d, i);
		ck_assert_int_eq(r->stat_err, 0);
		ck_assert_int_eq(r->st.st_size, (off_t)i);
		ovl_rentry_free(&env, r);
	}
	ovl_rdir_release(d);
	int readers = ovl_ahead_readers(a);
	ovl_ahead_stop(a);
	close(fd);
	ck_assert_int_eq(atomic_load(&reads), NFILES);
	return readers;
}

START_TEST(in_order_any_jobs)
{
	make_files();
	ck_assert_int_eq(walk(1, 0), 0);
	for (int jobs = 2; jobs <= 8; jobs *= 2)
		ck_assert_int_le(walk(jobs, 0), 4 * jobs - 1);
}
END_TEST

START_TEST(waiting_reads_add_readers)
{
	make_files();
	/* 400 reads of 2 ms: 0.8 s with the one reader and the walker */
	int readers = walk(2, 2000);
	ck_assert_int_gt(readers, 1);
	ck_assert_int_le(readers, 7);
	/* -j 1 stays the serial walk */
	ck_assert_int_eq(walk(1, 200), 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("ahead");
	TCase *tc = tcase_create("ahead");

	tcase_add_unchecked_fixture(tc, top_setup, top_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, in_order_any_jobs);
	tcase_add_test(tc, waiting_reads_add_readers);
	suite_add_tcase(s, tc);
	return s;
}
