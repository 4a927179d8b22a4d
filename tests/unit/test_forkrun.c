/*
 * forkrun: tasks in forked children, replayed in task order whatever
 * order they end in; standard output and error kept in their order; a
 * later task reading what an earlier one writes sees what a run one
 * after the other would show; a task that dies is told as such; progress
 * lines of the oldest task only; workers reused from task to task.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "overlay/forkrun.h"
#include "overlay/repair.h"
#include "unit.h"

#define MAXT 8

struct t {
	char dir[64];		/* a temp dir the tasks meet in */
	enum ovl_forkrun_dep deps[MAXT][MAXT];
	int (*body)(struct t *t, size_t i, FILE *report);
	int status[MAXT];
	char report[MAXT][64];
	size_t order[MAXT], ndone;
	int progress_fd;
	bool slow_reader;	/* body_write_read: the reader outlives its kill */
};

static void t_init(struct t *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/forkrun.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
}

static void t_fini(struct t *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void t_path(const struct t *t, char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", t->dir, name);
}

static void touch(const struct t *t, const char *name)
{
	char p[128];
	t_path(t, p, sizeof(p), name);
	FILE *f = fopen(p, "a");
	ck_assert_ptr_nonnull(f);
	fclose(f);
}

static bool exists(const struct t *t, const char *name)
{
	char p[128];
	t_path(t, p, sizeof(p), name);
	return access(p, F_OK) == 0;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* Wait (at most 3 s) for a file another task makes. */
static bool wait_for(const struct t *t, const char *name)
{
	for (int k = 0; k < 300; k++) {
		if (exists(t, name))
			return true;
		pause_ms(10);
	}
	return false;
}

static int run_cb(void *arg, size_t i, FILE *report)
{
	struct t *t = arg;
	return t->body(t, i, report);
}

static enum ovl_forkrun_dep dep_cb(void *arg, size_t i, size_t j)
{
	struct t *t = arg;
	return t->deps[i][j];
}

static void done_cb(void *arg, size_t i, int status, const char *report, size_t len)
{
	struct t *t = arg;

	t->status[i] = status;
	snprintf(t->report[i], sizeof(t->report[i]), "%.*s", (int)len, report ? report : "");
	t->order[t->ndone++] = i;
}

/* Run n tasks, jobs at a time; standard output and error both into one
 * file, returned as a string. */
static char *run(struct t *t, size_t n, int jobs, int (*body)(struct t *, size_t, FILE *))
{
	static char text[8192];
	FILE *out = tmpfile();

	ck_assert_ptr_nonnull(out);
	t->body = body;
	struct ovl_forkrun fr = {
		.ntasks = n, .jobs = jobs, .out = out, .err = out,
		.progress_fd = t->progress_fd, .run = run_cb, .dep = dep_cb,
		.done = done_cb, .arg = t,
	};
	ovl_forkrun(&fr);
	rewind(out);
	size_t len = fread(text, 1, sizeof(text) - 1, out);
	text[len] = '\0';
	fclose(out);
	return text;
}

/* A fresh meeting dir, and two tasks side by side, b depending on a. */
static char *run_two(struct t *t, enum ovl_forkrun_dep dep,
		     int (*body)(struct t *, size_t, FILE *))
{
	t_init(t);
	t->deps[0][1] = dep;
	return run(t, 2, 2, body);
}

/* Later tasks end first; stdout and stderr interleave. */
static int body_order(struct t *t, size_t i, FILE *report)
{
	(void)t;
	pause_ms((long)(4 - i) * 30);
	printf("%zu out\n", i);
	fflush(stdout);
	fprintf(stderr, "%zu err\n", i);
	printf("%zu end\n", i);
	fprintf(report, "report %zu", i);
	return (int)i;
}

START_TEST(test_order)
{
	struct t t;

	t_init(&t);
	const char *text = run(&t, 4, 4, body_order);
	ck_assert_str_eq(text, "0 out\n0 err\n0 end\n1 out\n1 err\n1 end\n"
			       "2 out\n2 err\n2 end\n3 out\n3 err\n3 end\n");
	ck_assert_uint_eq(t.ndone, 4);
	for (size_t i = 0; i < 4; i++) {
		char want[16];
		snprintf(want, sizeof(want), "report %zu", i);
		ck_assert_uint_eq(t.order[i], i);
		ck_assert_int_eq(t.status[i], (int)i);
		ck_assert_str_eq(t.report[i], want);
	}
	t_fini(&t);
}
END_TEST

/* Two tasks that each wait for the other: only side by side do both
 * see it. */
static int body_meet(struct t *t, size_t i, FILE *report)
{
	(void)report;
	touch(t, i ? "b" : "a");
	return wait_for(t, i ? "a" : "b") ? 0 : 1;
}

START_TEST(test_side_by_side)
{
	struct t t;

	run_two(&t, OVL_FORKRUN_NONE, body_meet);
	ck_assert_int_eq(t.status[0], 0);
	ck_assert_int_eq(t.status[1], 0);
	t_fini(&t);
}
END_TEST

/* Task 0 writes a file late; task 1 reads it (READS) and counts its
 * attempts: it ran beside task 0, was thrown away when task 0 wrote, and
 * ran again after, so it prints what one after the other would. A slow
 * reader is still running when task 0 is let write: what it printed so
 * far goes with it, even once it is the oldest task. */
static int body_write_read(struct t *t, size_t i, FILE *report)
{
	(void)report;
	if (i == 0) {
		if (!wait_for(t, "read"))	/* task 1 read before the write */
			return 1;
		ovl_forkrun_before_write();
		touch(t, "data");
		return 0;
	}
	bool seen = exists(t, "data");
	printf("task 1 sees %s\n", seen ? "the data" : "nothing");
	fflush(stdout);
	touch(t, exists(t, "read") ? "read2" : "read");
	if (!seen && t->slow_reader) {
		/* the worker is killed meanwhile; a process holding its
		 * pipe makes its end come after task 0's */
		if (fork() == 0) {
			pause_ms(300);
			_exit(0);
		}
		pause_ms(2000);
	}
	return 0;
}

static void write_read(bool slow)
{
	struct t t;

	t_init(&t);
	t.slow_reader = slow;
	t.deps[0][1] = OVL_FORKRUN_READS;
	const char *text = run(&t, 2, 2, body_write_read);
	ck_assert_str_eq(text, "task 1 sees the data\n");
	ck_assert_int_eq(t.status[0], 0);
	ck_assert_int_eq(t.status[1], 0);
	ck_assert(exists(&t, "read2"));		/* two attempts */
	t_fini(&t);
}

START_TEST(test_rerun_after_write)
{
	write_read(false);
}
END_TEST

START_TEST(test_rerun_while_running)
{
	write_read(true);
}
END_TEST

/* Task 0 reads and writes nothing: task 1 beside it stands (one try). */
static int body_no_write(struct t *t, size_t i, FILE *report)
{
	(void)report;
	touch(t, i ? "b" : "a");
	if (!wait_for(t, i ? "a" : "b"))
		return 1;
	if (i == 1)
		touch(t, exists(t, "tried") ? "tried2" : "tried");
	return 0;
}

START_TEST(test_no_write_no_rerun)
{
	struct t t;

	run_two(&t, OVL_FORKRUN_READS, body_no_write);
	ck_assert_int_eq(t.status[0], 0);
	ck_assert_int_eq(t.status[1], 0);
	ck_assert(!exists(&t, "tried2"));
	t_fini(&t);
}
END_TEST

/* WRITES: task 1 starts only after task 0 ended. */
static int body_after(struct t *t, size_t i, FILE *report)
{
	(void)report;
	if (i == 0) {
		pause_ms(100);
		touch(t, "zero");
		return 0;
	}
	return exists(t, "zero") ? 0 : 1;
}

START_TEST(test_writes_waits)
{
	struct t t;

	run_two(&t, OVL_FORKRUN_WRITES, body_after);
	ck_assert_int_eq(t.status[1], 0);
	t_fini(&t);
}
END_TEST

/* A task that dies: what it printed is out, its status says the signal,
 * the others run on. */
static int body_die(struct t *t, size_t i, FILE *report)
{
	(void)t;
	(void)report;
	printf("%zu\n", i);
	fflush(stdout);
	if (i == 1)
		raise(SIGKILL);
	return 0;
}

START_TEST(test_died)
{
	struct t t;

	t_init(&t);
	const char *text = run(&t, 3, 2, body_die);
	ck_assert_str_eq(text, "0\n1\n2\n");
	ck_assert_int_eq(t.status[0], 0);
	ck_assert_int_eq(t.status[1], -SIGKILL);
	ck_assert_int_eq(t.status[2], 0);
	t_fini(&t);
}
END_TEST

/* Progress lines: the oldest task's as they come; a later one's last line
 * only, when its turn comes. */
static int body_progress(struct t *t, size_t i, FILE *report)
{
	(void)report;
	if (i == 0) {
		dprintf(t->progress_fd, "0 a\n");
		if (!wait_for(t, "one"))
			return 1;
		pause_ms(50);	/* the parent has read task 1's lines */
		dprintf(t->progress_fd, "0 b\n");
		return 0;
	}
	dprintf(t->progress_fd, "1 a\n1 b\n");
	touch(t, "one");
	return 0;
}

START_TEST(test_progress)
{
	struct t t;
	int p[2];
	char buf[256];

	ck_assert_int_eq(pipe(p), 0);
	t_init(&t);
	t.progress_fd = p[1];
	run(&t, 2, 2, body_progress);
	close(p[1]);
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "0 a\n0 b\n1 b\n");
	ck_assert_int_eq(t.status[0], 0);
	close(p[0]);
	t_fini(&t);
}
END_TEST

/* Workers run one task after another: six tasks, two processes. A
 * task that exits takes its worker only. */
static int body_pid(struct t *t, size_t i, FILE *report)
{
	(void)t;
	fprintf(report, "%ld", (long)getpid());
	if (i == 4)
		exit(8);
	return 0;
}

START_TEST(test_pool)
{
	struct t t;
	size_t distinct = 0;

	t_init(&t);
	run(&t, 6, 2, body_pid);
	for (size_t i = 0; i < 6; i++) {
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			seen = seen || strcmp(t.report[k], t.report[i]) == 0;
		distinct += !seen;
		ck_assert_int_eq(t.status[i], i == 4 ? 8 : 0);
	}
	ck_assert_uint_le(distinct, 3);		/* a third after the exit */
	ck_assert_uint_eq(t.ndone, 6);
	t_fini(&t);
}
END_TEST

static void on_term(int sig)
{
	(void)sig;
	ovl_repair_interrupted = 1;
}

/* Interrupted: the running task ends and is replayed, no other starts. */
static int body_interrupt(struct t *t, size_t i, FILE *report)
{
	(void)t;
	(void)report;
	printf("%zu\n", i);
	if (i == 0) {
		kill(getppid(), SIGTERM);
		pause_ms(100);
	}
	return 0;
}

START_TEST(test_interrupted)
{
	struct t t;

	t_init(&t);
	signal(SIGTERM, on_term);
	const char *text = run(&t, 4, 1, body_interrupt);
	ck_assert_str_eq(text, "0\n");
	ck_assert_uint_eq(t.ndone, 1);
	ovl_repair_interrupted = 0;
	t_fini(&t);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("forkrun");
	TCase *tc = tcase_create("forkrun");

	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_side_by_side);
	tcase_add_test(tc, test_rerun_after_write);
	tcase_add_test(tc, test_rerun_while_running);
	tcase_add_test(tc, test_no_write_no_rerun);
	tcase_add_test(tc, test_writes_waits);
	tcase_add_test(tc, test_died);
	tcase_add_test(tc, test_progress);
	tcase_add_test(tc, test_interrupted);
	tcase_add_test(tc, test_pool);
	suite_add_tcase(s, tc);
	return s;
}
