/*
 * Independent tasks run side by side by a pool of forked workers (at most
 * N tasks at a time, each worker running one task after another), with
 * what they print replayed in task order: the output is the one running
 * them one after the other in this process would give.
 *
 * A worker's standard output and error are captured as one stream of
 * tagged chunks (so their order is kept), a third channel carries each
 * task's report (a JSON document, say), and its -C progress lines go
 * through a pipe of their own. The parent streams the oldest unfinished
 * task's output as it comes and holds the later tasks' until their turn;
 * progress lines pass only for that oldest task (one line stream).
 *
 * Tasks that write declare it: a task calls ovl_forkrun_before_write()
 * before its first change and waits for leave. Through dep(), a later
 * task says how it depends on an earlier one:
 *   READS   it reads what the earlier one may write: it may start while
 *           the earlier one runs, but its result stands only when that
 *           one wrote nothing; else it is thrown away (killed before it
 *           writes, its output dropped) and run again after it;
 *   WRITES  it may write what the earlier one reads: it starts only
 *           after that one ended.
 * The engine behind a task needs no thread safety: every task has a
 * process of its own.
 */
#ifndef OVERLAY_FORKRUN_H
#define OVERLAY_FORKRUN_H

#include <stddef.h>
#include <stdio.h>

enum ovl_forkrun_dep {
	OVL_FORKRUN_NONE,
	OVL_FORKRUN_READS,
	OVL_FORKRUN_WRITES,
};

struct ovl_forkrun {
	size_t ntasks;
	int jobs;		/* tasks at once (1: still in a worker, one at a time) */
	FILE *out, *err;	/* where the tasks' standard output and error go */
	int progress_fd;	/* > 0: the fd the tasks write -C lines on */
	/*
	 * Run task i, in a worker (or in this process when no worker can be
	 * made): print on stdout/stderr, write the report on `report`.
	 * Returns its exit code (0..127). What it leaves behind in the
	 * worker's memory, the worker's next task finds.
	 */
	int (*run)(void *arg, size_t i, FILE *report);
	/* How task j depends on task i < j; NULL: they never depend. */
	enum ovl_forkrun_dep (*dep)(void *arg, size_t i, size_t j);
	/*
	 * In task order, once task i's output is out: its exit code (its
	 * worker's, if the worker exited inside it), or minus the signal that
	 * ended its worker, and the report it wrote.
	 */
	void (*done)(void *arg, size_t i, int status, const char *report, size_t len);
	void *arg;
};

/*
 * Run every task (not those left when ovl_repair_interrupted is set: the
 * running ones are told by SIGTERM and finish; the rest is not started).
 * Returns the number of tasks run to their end.
 */
size_t ovl_forkrun(const struct ovl_forkrun *fr);

/*
 * In a task: ask leave to write, before the first change. Returns when
 * the task may write; ends the worker when the task's result is to be
 * thrown away. Does nothing outside a worker.
 */
void ovl_forkrun_before_write(void);

#endif
