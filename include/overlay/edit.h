/*
 * One chosen change to a stack, for interactive tools (overlay-browse
 * --write): copy up one file's data, or apply the fix of one problem.
 * Both run the same passes and the same journalled repair as
 * fsck.overlay, with every other fix declined. Given the links of a full
 * check (overlay/scope.h), the passes go over the changed entry and what
 * it touches only, and what the change touched is checked again after.
 */
#ifndef OVERLAY_EDIT_H
#define OVERLAY_EDIT_H

#include <stddef.h>

#include "overlay/problem.h"
#include "overlay/pscan.h"
#include "overlay/scope.h"
#include "overlay/stack.h"

struct ovl_edit_result {
	int rc;			/* fsck(8) exit bits of the run */
	unsigned long done;	/* fixes applied or files copied up */
	char msg[512];		/* one line: what was done, or why not */
	/* with links: the places checked again after the change, and the
	 * problems found there (ovl_pscan_replace takes them) */
	struct ovl_scope *scope;
	struct ovl_pitem *item;
	size_t n;
};

/* Copy up the data of the merged-view file `path` ("/a/b"). `links`:
 * NULL for a whole check, else the links of the last full check, kept
 * current. */
int ovl_edit_copy_up(struct ovl_stack *s, struct ovl_links *links, const char *path,
		     struct ovl_edit_result *res);

/* Apply the fix of the problem `code` reported at `layer`:`path`. */
int ovl_edit_fix(struct ovl_stack *s, struct ovl_links *links, enum ovl_problem_code code,
		 const char *layer, const char *path, struct ovl_edit_result *res);

/* Free what a result holds (its scope and problems, when not taken). */
void ovl_edit_result_free(struct ovl_edit_result *res);

#endif
