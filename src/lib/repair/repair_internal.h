/*
 * Private to the repair modules: repair.c (the plan and its order),
 * repair_fix.c (the overlay fixes), repair_copyup.c (data copy-ups and
 * copies of lower entries), repair_store.c (a container store's
 * bookkeeping), all writing through the journal (journal.h). Each fix
 * module knows its ops three ways: apply (journalled first), where a
 * record's change is now (1 made, 0 not made, -1 neither: the layers
 * changed since), and revert.
 */
#ifndef OVL_REPAIR_INTERNAL_H
#define OVL_REPAIR_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include <sys/stat.h>

#include "overlay/repair.h"
#include "journal.h"

/* The root fd of a fix's layer (OVL_FIX_WORKDIR: W), or -1. */
int ovl_fix_root(const struct ovl_stack *s, int layer);
/* Open the parent dir of "/a/b" inside root (O_PATH); *leaf points at "b". */
int ovl_fix_open_parent(int root, const char *path, const char **leaf);
/* Open dfd/leaf for writing when it is a regular file (never through a
 * link, never blocking on a fifo or taking a tty); its stat in *st. -1
 * with errno (EINVAL: not a regular file). */
int ovl_fix_open_regular(int dfd, const char *leaf, struct stat *st);

/* Why the fix being applied fails, beyond its errno, for its failure
 * line (printf-like; notes of one fix are joined by "; "). */
void ovl_fix_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Any fix, by its op (repair_fix.c). */
int ovl_fix_apply(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f);
int ovl_fix_state(struct ovl_stack *s, const struct record *rec);
int ovl_fix_revert(struct ovl_stack *s, const struct record *rec);

/* The copy-up ops (repair_copyup.c): COPY_DATA, COPY_COMMIT, COPYUP_NEW. */
int ovl_copyup_fix_apply(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f,
			 int dfd, const char *leaf);
int ovl_copyup_fix_state(struct ovl_stack *s, const struct record *rec, int dfd,
			 const char *leaf);
int ovl_copyup_fix_revert(struct ovl_stack *s, const struct record *rec, int dfd,
			  const char *leaf);
/* The records of all copy-up commits of the plan from `from` on whose data
 * was copied (`done`, by plan order), written ahead and synced once. */
int ovl_copyup_prejournal(struct ovl_stack *s, struct journal *j, struct ovl_plan *p,
			  size_t from, const unsigned char *done);
/* W/work (made when a stack never mounted lacks it): its fd, or -1. */
int ovl_work_dir(struct ovl_stack *s);
/* Everything written so far on the upper filesystem, on disk. */
int ovl_sync_upper(const struct ovl_stack *s);

/* An xattr record against dfd/leaf: where it is now; rolled back. */
int ovl_fix_xattr_state(const struct record *rec, int dfd, const char *leaf);
int ovl_fix_xattr_revert(const struct record *rec, int dfd, const char *leaf);

/* The ops of overlay-layers (layers/ops.c): RM_COPY. */
int ovl_layers_fix_apply(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f,
			 int dfd, const char *leaf);
int ovl_layers_fix_state(struct ovl_stack *s, const struct record *rec, int dfd,
			 const char *leaf);
int ovl_layers_fix_revert(struct ovl_stack *s, const struct record *rec, int dfd,
			  const char *leaf);

/* Remove the dir tree `name` under dfd (repair_store.c): by fd, never
 * through a symlink, never into another filesystem than dev. */
int ovl_rm_tree(int dfd, const char *name, dev_t dev, int depth);

/* The store fixes (repair_store.c): apply one at dfd/leaf after journalling
 * it; where a record's change is now; undo. */
int ovl_store_fix_apply(struct journal *j, const struct ovl_fix *f, int dfd, const char *leaf);
int ovl_store_fix_state(struct ovl_stack *s, const struct record *rec, int dfd,
			const char *leaf);
int ovl_store_fix_revert(struct ovl_stack *s, const struct record *rec, int dfd,
			 const char *leaf);

#endif
