/*
 * One chosen change to a stack, for interactive tools (overlay-browse
 * --write): copy up one file's data, or apply the fix of one problem.
 * Both run the same passes and the same journalled repair as
 * fsck.overlay, with every other fix declined.
 */
#ifndef OVERLAY_EDIT_H
#define OVERLAY_EDIT_H

#include <stddef.h>

#include "overlay/problem.h"
#include "overlay/stack.h"

struct ovl_edit_result {
	int rc;			/* fsck(8) exit bits of the run */
	unsigned long done;	/* fixes applied or files copied up */
	char msg[512];		/* one line: what was done, or why not */
};

/* Copy up the data of the merged-view file `path` ("/a/b"). */
int ovl_edit_copy_up(struct ovl_stack *s, const char *path, struct ovl_edit_result *res);

/* Apply the fix of the problem `code` reported at `layer`:`path`. */
int ovl_edit_fix(struct ovl_stack *s, enum ovl_problem_code code, const char *layer,
		 const char *path, struct ovl_edit_result *res);

#endif
