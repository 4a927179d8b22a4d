/*
 * Repair: the only module that writes to the layers. Checks describe a fix
 * as data (a plan); after the walk the plan is applied in an order that
 * keeps the stack mountable at every step (create, then xattrs, then
 * removals), each change first appended to an undo journal with what was
 * there before.
 */
#ifndef OVERLAY_REPAIR_H
#define OVERLAY_REPAIR_H

#include <stdbool.h>
#include <stddef.h>

#include "overlay/problem.h"
#include "overlay/stack.h"
#include "overlay/xattr.h"

/* A planned change that fixes no reported problem (a data copy-up). */
#define OVL_FIX_NO_PROBLEM	((unsigned long)-1)

/* A fix's place: a layer index, or the work dir W. */
#define OVL_FIX_WORKDIR	(-1)

enum ovl_fix_op {
	OVL_FIX_MK_WHITEOUT,	/* create a whiteout (char 0/0) */
	OVL_FIX_LINK_W,		/* hard link the entry into W at `val` (an index entry) */
	OVL_FIX_SET_XATTR,	/* set an overlay xattr */
	OVL_FIX_RM_XATTR,	/* remove an overlay xattr */
	OVL_FIX_RM_WHITEOUT,	/* unlink a whiteout */
	OVL_FIX_QUARANTINE,	/* move an entry aside into W/overlay-fsck.quarantine */
	OVL_FIX_QUARANTINE_WH,	/* the same, leaving a whiteout in its place (atomic) */
	OVL_FIX_RENAME_W,	/* rename inside W to `val` (an index entry's name) */
	OVL_FIX_TRUNCATE,	/* set a regular file's size to `val` (decimal) */
	OVL_FIX_COPY_DATA,	/* data copy-up: `val` = layer byte + handle of the data */
	OVL_FIX_COPY_COMMIT,	/* ... and its end, once the data of all is synced:
				 * the metacopy xattr removed (`val`: the order of
				 * its COPY_DATA in the plan) */
	OVL_FIX_COPYUP_NEW,	/* copy a lower-only entry up (`val` as above; xattr
				 * field non-zero: the entry asked for) */
	/* a container store's bookkeeping (--store: layer 1 is the driver dir) */
	OVL_FIX_SYMLINK,	/* create, or re-point atomically, a symlink whose text is `val` */
	OVL_FIX_WRITE_FILE,	/* create or replace (atomically) a small file holding `val` */
	OVL_FIX_RM_SYMLINK,	/* remove a symlink (the journal keeps its text) */
	OVL_FIX_MKDIR,		/* create an empty dir, mode 0700 */
	OVL_FIX_RM_TREE,	/* remove a whole dir tree (an orphan layer): not undoable */
	/* overlay-layers (layer 0 is the upper) */
	OVL_FIX_RM_COPY,	/* remove an upper entry equal to the lower entry of layer
				 * val[0] at path val+1 (a dir: empty); the journal keeps
				 * what undo needs to make it again from that entry */
	/* merge in place (layers/fold_ops.c): a stack folded into its lower */
	OVL_FIX_MG_BEGIN,	/* make W/overlay-layers-merge, naming the journal */
	OVL_FIX_MG_MOVE,	/* rename the entry of place `val` ("LAYER:/path") here */
	OVL_FIX_MG_LINK,	/* hard link the entry of place `val` here */
	OVL_FIX_MG_ATTR,	/* set owner, mode and times to `val` (text) */
	OVL_FIX_MG_XATTR,	/* set ("+NAME\0VALUE") or remove ("-NAME") any xattr */
	OVL_FIX_MG_COMMIT,	/* remove W/overlay-layers-merge: not undoable */
};

struct ovl_fix {
	enum ovl_fix_op op;
	int layer;		/* layer idx or OVL_FIX_WORKDIR */
	char *path;		/* "/a/b" inside the layer (or W) */
	enum ovl_xattr_id xattr;
	unsigned char *val;	/* SET_XATTR value */
	size_t len;
	unsigned long problem;	/* which reported problem it fixes (OVL_FIX_NO_PROBLEM: none) */
	size_t order;		/* position in the plan: ties keep walk order */
};

struct ovl_plan {
	struct ovl_fix *fixes;
	size_t n, cap;
};

void ovl_plan_init(struct ovl_plan *p);
void ovl_plan_free(struct ovl_plan *p);
/* Queue a fix (copies path and value). */
void ovl_plan_add(struct ovl_plan *p, enum ovl_fix_op op, int layer, const char *path,
		  size_t pathlen, enum ovl_xattr_id xattr, const void *val, size_t len,
		  unsigned long problem);

/*
 * Apply the plan to the stack. The journal is a new file at journal_path
 * (fsync'ed before every change); when `numbered`, a taken name gets a
 * ".N" suffix written back into journal_path. Counts fixed problems
 * into r. Returns 0, or -1 when a change failed (reported on r->out).
 */
int ovl_repair_apply(struct ovl_stack *s, struct ovl_plan *p, char *journal_path,
		     size_t journal_size, bool numbered, struct ovl_report *r);

/*
 * Roll back every change recorded in a journal, newest first, after
 * checking that each still looks as the repair left it. Returns 0, 4 when
 * the layers changed since (nothing rolled back), 8 on other errors; a one
 * line reason in err.
 */
int ovl_repair_undo(struct ovl_stack *s, const char *journal_path, char *err, size_t errlen);

/* Set by a signal handler: stop before the next change (exit 32). */
extern volatile int ovl_repair_interrupted;

/* The default journal path under W: W/overlay-fsck-undo.<UTC time>. */
void ovl_repair_default_journal(char *buf, size_t size, const char *workdir);

/* Test hook: OVL_FAULT_WRITE=N kills the process (SIGKILL) at the Nth
 * change, after its journal record and before the change itself;
 * OVL_FAULT_AFTER=1 moves the kill to just after the change;
 * OVL_FAULT_SIGNAL=INT sends SIGINT instead (a clean stop, exit 32). */

#endif
