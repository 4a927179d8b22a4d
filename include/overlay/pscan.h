/*
 * A read-only check of a stack run beside a viewer: a child process runs
 * every pass in -n mode and streams each problem back, so that the
 * browser stays responsive on a large stack and can mark what is wrong
 * as it is found. The child never writes to the layers.
 */
#ifndef OVERLAY_PSCAN_H
#define OVERLAY_PSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "overlay/problem.h"
#include "overlay/stack.h"

struct ovl_pitem {
	enum ovl_problem_code code;
	char *layer;		/* "upper", "lower1", "index", "work", "stack" */
	char *path;		/* inside that layer, "/a/b" */
	char *detail;		/* or NULL */
};

struct ovl_links;
struct ovl_scope;

struct ovl_pscan {
	pid_t pid;		/* the checking child, 0 when it is gone */
	int fd;			/* its records, -1 when done */
	bool done;		/* the check ended (failed: status != 0) */
	int status;
	struct ovl_pitem *item;
	size_t n, cap;
	char *buf;		/* a partial record */
	size_t blen, bcap;
	/* the links between entries the check saw (overlay/scope.h), whole
	 * once it is done without failing */
	struct ovl_links *links;
};

/* Start checking `s` in the background. Returns 0, or -1 with errno. */
int ovl_pscan_start(struct ovl_pscan *ps, struct ovl_stack *s);

/* Take in what the child has sent so far, without blocking.
 * Returns the number of new problems. */
size_t ovl_pscan_poll(struct ovl_pscan *ps);

/* The problem is about an upper or lower entry, so has a merged-view path. */
bool ovl_pitem_in_view(const struct ovl_pitem *it);
/* ... and that path is `path` ("/a/b"). */
bool ovl_pitem_at(const struct ovl_pitem *it, const char *path);

/* Problems at the merged-view path `path`. */
size_t ovl_pscan_count(const struct ovl_pscan *ps, const char *path);

/* Stop the child if it still runs, free everything. */
void ovl_pscan_free(struct ovl_pscan *ps);

/*
 * After a scoped check (overlay/scope.h): drop the problems at the places
 * of sc and take in `items` (moved out of the array, which is freed),
 * each before the first problem that comes after it in a full check's
 * order (the stack, then upper, the lowers, W/index, W/work; by path).
 */
void ovl_pscan_replace(struct ovl_pscan *ps, const struct ovl_scope *sc,
		       struct ovl_pitem *items, size_t n);

/* A list of problems: add one (copies), free all. */
void ovl_pitems_push(struct ovl_pitem **v, size_t *n, size_t *cap, enum ovl_problem_code code,
		     const char *layer, const char *path, size_t pathlen, const char *detail);
void ovl_pitems_free(struct ovl_pitem *v, size_t n);

#endif
