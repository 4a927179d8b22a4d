/*
 * Checking a container engine's store as a whole (fsck.overlay --store):
 * its bookkeeping first (l/ links, link and lower files, metadata), then
 * the units to check with the ordinary passes, in an order where every
 * layer is walked once however many images and containers share it:
 *   - each layer an image or container uses, as a read-only stack of the
 *     layer over its parents, walking the layer only (top_lower_only);
 *   - each container, as the engine mounts it, walking its read-write
 *     layer, work dir and index only (upper_only): the layers below were
 *     checked as layers and are reached by lookup.
 */
#ifndef OVERLAY_STOREFSCK_H
#define OVERLAY_STOREFSCK_H

#include <stdbool.h>
#include <stddef.h>

#include "overlay/forkrun.h"
#include "overlay/fsck.h"
#include "overlay/opts.h"
#include "overlay/problem.h"
#include "overlay/stack.h"
#include "overlay/store.h"

/* One stack of the store to check with the ordinary passes. */
struct ovl_store_unit {
	const char *kind;	/* "layer" or "container" */
	const char *name;	/* what users call it ("alpine:latest layer 2/3", "web") */
	const char *id;		/* the layer or container id */
	long layer;		/* the layer walked: the layer, or the container's rw layer */
	const struct ovl_store_stack *stack;	/* a container's stack, else NULL */
	char *used_by;		/* a layer: who is hurt by its problems, as
				 * "image app:1, container web" (malloc'ed) */
	char *journal_tag;	/* its journal's name ends in this: the layer dir,
				 * other bytes than [A-Za-z0-9._-] as '_' (malloc'ed) */
};

/*
 * The units, layers base first (a layer after its parents), then the
 * containers by name. Layers no image or container uses (orphans), and
 * stacks with a missing layer, are left out: the bookkeeping reports them.
 * None at all when a metadata file could not be read (the chains of
 * parents are then not known for sure).
 * Returns the count; free with ovl_store_units_free().
 */
size_t ovl_store_units(const struct ovl_store *st, struct ovl_store_unit **units);
void ovl_store_units_free(struct ovl_store_unit *units, size_t n);

/*
 * When units run side by side with fixes (fsck.overlay -j), how unit b
 * depends on unit a, checked before it. A unit writes only the layer it
 * walks (a container: its read-write layer, diff and work dir) and reads
 * the layers of its stack:
 *   OVL_FORKRUN_WRITES  b may write a layer a reads (two containers
 *                       naming one read-write layer, or one that is also
 *                       an image layer): b starts after a;
 *   OVL_FORKRUN_READS   b reads the layer a may write (a layer below b):
 *                       b's judgement stands only if a wrote nothing;
 *   OVL_FORKRUN_NONE    neither.
 */
enum ovl_forkrun_dep ovl_store_unit_dep(const struct ovl_store *st,
					const struct ovl_store_unit *a,
					const struct ovl_store_unit *b);

/* The options and walk of a unit: the stack as the engine would mount it
 * (container) or the layer over its parents (layer), and which part of it
 * to walk. Returns 0, or -1 with a reason. */
int ovl_store_unit_opts(const struct ovl_store *st, const struct ovl_store_unit *u,
			struct ovl_opts *o, struct ovl_fsck_opts *fo, char *err, size_t errlen);

/*
 * The store's own bookkeeping: report every SR_ problem into r, and unless
 * r->mode is OVL_MODE_NO apply the accepted fixes through an undo journal
 * (journal, or <root>/overlay-fsck-undo.TIME; the path is written back).
 * Orphan layers are removed only with remove_orphans. Returns 0, or 8
 * when a fix could not be applied.
 */
int ovl_store_fsck_book(const struct ovl_store *st, struct ovl_report *r, bool remove_orphans,
			char *journal, size_t journal_size, bool default_journal);

/*
 * The stack the store's own fixes are written against (and --undo reads
 * them back with): no upper, lower1 the driver dir.
 */
int ovl_store_book_stack(const struct ovl_store *st, struct ovl_stack *s, char *err,
			 size_t errlen);

/* Is an overlay mounted from this store (on a dir of its driver dir)?
 * 1 with its mount point in mnt, 0 if not, -1 if mountinfo is unreadable.
 * containerd: also 1 while it holds its snapshotter's metadata locked
 * (it runs; mnt then says so). */
int ovl_store_mounted(const struct ovl_store *st, char *mnt, size_t mntlen);

#endif
