/*
 * The check driver: runs the passes over a stack and reports into a
 * problem table. The programs call this and hold no overlay logic.
 */
#ifndef OVERLAY_FSCK_H
#define OVERLAY_FSCK_H

#include <stdbool.h>
#include <stdio.h>

#include "overlay/problem.h"
#include "overlay/stack.h"

struct ovl_scope;
struct ovl_links;

struct ovl_fsck_opts {
	bool upper_only;	/* reach lower entries only by lookup */
	bool top_lower_only;	/* walk lower1 only, the layers below by lookup
				 * (a store's layer, checked once over its parents) */
	bool verbose;		/* progress by pass on stderr-like stream */
	bool force;		/* -f: check even if it looks clean */
	const char *journal;	/* undo journal of a repair (-z), or NULL: under W */
	const char *journal_dir;	/* instead of W, for the default journal (a store's root) */
	bool copy_up;		/* --copy-up: plan the deferred data copy-ups */
	bool verify_data;	/* --verify-data: compare each copy before committing it */
	char **copy_paths;	/* merged-view paths ("/a/b") to copy up; none: all */
	size_t ncopy_paths;
	int jobs;		/* -j: threads reading the layers; 0 or 1: one */
	struct ovl_scope *scope;	/* check only these places (overlay/scope.h);
					 * the places the plan changes are added to it */
	struct ovl_links *links;	/* record the links between entries here */
};

/* The -j default: the online CPUs, at most OVL_JOBS_MAX. */
#define OVL_JOBS_MAX 16
int ovl_jobs_default(void);

struct ovl_fsck_stats {
	unsigned long entries[64];	/* per layer idx (capped) */
	unsigned long index_entries;
	unsigned long work_entries;
};

/*
 * Run every pass; unless r->mode is OVL_MODE_NO, apply the fixes the
 * reporter accepted. Returns 0, or 8 on an operational failure.
 */
int ovl_fsck_run(struct ovl_stack *s, const struct ovl_fsck_opts *o,
		 struct ovl_report *r, struct ovl_fsck_stats *stats);

/*
 * Each entry count a check made, in output order: the layers it walked
 * (by name), then "index" and "work" when it read them.
 */
void ovl_fsck_stats_each(const struct ovl_stack *s, const struct ovl_fsck_opts *o,
			 const struct ovl_fsck_stats *stats,
			 void (*fn)(void *arg, const char *name, unsigned long n), void *arg);

/* "upper: N entries, lower1: N entries, ..., index: N entries, work: N entries" */
void ovl_fsck_print_stats(const struct ovl_stack *s, const struct ovl_fsck_opts *o,
			  const struct ovl_fsck_stats *stats, FILE *out);

#endif
