/*
 * overlay-layers' library: whole-stack operations on an unmounted stack
 * (vacuum, export), each planned from the merged view first (a list of
 * changes with their bytes), printed or applied in order through the
 * undo journal. The program holds no overlay logic.
 */
#ifndef OVERLAY_LAYERS_H
#define OVERLAY_LAYERS_H

#include <stdbool.h>
#include <stdio.h>

#include "overlay/progress.h"
#include "overlay/repair.h"
#include "overlay/stack.h"

/* A plan: the changes in the order they are made, each with its bytes. */
struct ovl_layers_plan {
	const char *command;		/* "vacuum", ... */
	struct ovl_plan fixes;		/* applied in this order, not by phase */
	unsigned long long *bytes;	/* per fix: what it frees or copies */
	const char **why;		/* per fix: a few words, static */
	size_t cap;
	unsigned long long total;	/* bytes of all */
	bool partial;			/* some entries could not be read: left out */
};

void ovl_layers_plan_init(struct ovl_layers_plan *p, const char *command);
void ovl_layers_plan_free(struct ovl_layers_plan *p);

/*
 * vacuum: the upper entries that change nothing of the merged view: a
 * copy equal to what lies below (type, mode, owner, mtime, size, data or
 * link target, device number, xattrs but the overlay's, one link on both
 * sides), a metacopy file whose metadata is the lower data file's, and
 * a dir that ends up empty and equal to the lower dir it merges with.
 * Returns 0, or -1 with errno.
 */
int ovl_layers_vacuum_plan(struct ovl_stack *s, struct ovl_layers_plan *p);

/*
 * The upper's changes as the entries a layer tar or a new upper holds:
 * whiteouts that hide something, opaque marks, dirs, files (a metacopy
 * file with its lower data), links, devices; a renamed dir whole; hard
 * links. The plan lists them in the order written, each with its data
 * bytes (export and deref plan the same).
 */
int ovl_layers_delta_plan(struct ovl_stack *s, struct ovl_layers_plan *p);

/* merge --into's plan: every entry of the merged view, in the same form. */
int ovl_layers_view_plan(struct ovl_stack *s, struct ovl_layers_plan *p);

/*
 * merge --into: every entry of the merged view made as a plain tree in
 * the new dir `dir` (must not exist): the whole view, hard links one
 * inode, owners, modes, times, xattrs but the overlay's. The stack is
 * only read. Made beside it and renamed once whole. 0, or -1.
 */
int ovl_layers_merge_into(struct ovl_stack *s, const char *dir, struct ovl_progress *progress,
			  FILE *err, unsigned long *written);

/*
 * export: those entries as an OCI layer tar (pax) on out_fd (*written
 * entries): whiteouts .wh.NAME, opaque dirs .wh..wh..opq, xattrs as pax
 * records. The same stack gives the same bytes. 0, or -1 (the reason on
 * err).
 */
int ovl_layers_export_write(struct ovl_stack *s, int out_fd, struct ovl_progress *progress,
			    FILE *err, unsigned long *written);

/*
 * deref: those entries as a new upper dir `dir` (must not exist) that
 * shows the same view over the same lowers without redirects or metacopy
 * (no redirect, origin or metacopy xattr in it). Made beside it and
 * renamed once whole. 0, or -1 (the reason on err).
 */
int ovl_layers_deref_write(struct ovl_stack *s, const char *dir, struct ovl_progress *progress,
			   FILE *err, unsigned long *written);

/*
 * merge in place: the plan that folds the upper into the stack's only
 * lower layer (upper, lower and work on one filesystem), so that the
 * lower alone shows the merged view; upper, W/work and W/index emptied.
 * Renames, links and metadata changes only; what goes is moved into
 * W/overlay-layers-merge and removed by the last change, the commit.
 * Returns 0, 1 when the stack cannot be folded in place (the reason in
 * why), or -1 with errno.
 */
int ovl_layers_fold_plan(struct ovl_stack *s, struct ovl_layers_plan *p, char *why, size_t whylen);

/*
 * A merge in place killed before its end: rolled back by its journal (a
 * commit begun is finished). 0 none found, 1 done (msg says what), or an
 * exit code (8, or 4 when the layers changed since) with msg.
 */
int ovl_layers_fold_resume(struct ovl_stack *s, char *msg, size_t msglen);
/* Did a merge in place stop before its end (its attic is there)? */
int ovl_layers_fold_pending(const struct ovl_stack *s);

/*
 * Who else uses layer `layer` of s: an overlay mounted now, an fstab
 * overlay entry over another upper (/etc/fstab, or $LIBMOUNT_FSTAB),
 * a container store's layer or snapshot. 1 with a description in who,
 * else 0.
 */
int ovl_layers_lower_users(const struct ovl_stack *s, int layer, char *who, size_t wholen);

/* Print the plan: one line per change ("would remove upper:/a: N bytes
 * (why)" with dry_run), then the total. */
void ovl_layers_plan_print(const struct ovl_stack *s, const struct ovl_layers_plan *p,
			   bool dry_run, FILE *out);

/*
 * Apply the plan in order, each change journalled first (a new journal
 * at journal_path; `numbered` as for ovl_repair_apply). Progress by
 * change on p (may be NULL); a change that fails stops the run, its
 * reason on err_out. Returns the number of changes made, -1 when the
 * journal could not be written.
 */
long ovl_layers_apply(struct ovl_stack *s, struct ovl_layers_plan *p, char *journal_path,
		      size_t journal_size, bool numbered, struct ovl_progress *progress,
		      FILE *err_out);

/* What a run did, for its JSON document. */
struct ovl_layers_result {
	bool dry_run;
	long done;		/* changes made */
	const char *journal;	/* the undo journal, or NULL */
	const char *error;	/* why it stopped or refused, or NULL */
	int exit_code;
};

/* The JSON document of a run (--json): the layers, each change with its
 * bytes and whether it was made, the total, the journal, the exit code. */
int ovl_layers_json_write(const struct ovl_stack *s, const struct ovl_layers_plan *p,
			  const struct ovl_layers_result *res, FILE *out);

#endif
