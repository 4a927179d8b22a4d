/*
 * What the upper layer changes against the lower layers, entry by entry,
 * as the merged view shows it: for overlay-browse --diff / --json and the
 * browser's "changed only" view.
 */
#ifndef OVERLAY_CHANGES_H
#define OVERLAY_CHANGES_H

#include <stdio.h>
#include <sys/types.h>

#include "overlay/stack.h"

enum ovl_change_kind {
	OVL_CH_ADDED,		/* only the upper has it */
	OVL_CH_DELETED,		/* a whiteout hides a lower entry (not one a
				 * rename left: that entry is OVL_CH_RENAMED) */
	OVL_CH_MODIFIED,	/* the upper replaces a lower entry (data or type) */
	OVL_CH_METADATA,	/* owner, mode or times only (metacopy, a chowned dir) */
	OVL_CH_RENAMED,		/* a redirect: it was `from` in the lower layers */
	OVL_CH_OPAQUE,		/* an opaque dir replaces a lower dir and its content */
};

struct ovl_change {
	enum ovl_change_kind kind;
	const char *path;	/* merged-view path, "/a/b" (not NUL-safe: use pathlen) */
	size_t pathlen;
	const char *from;	/* OVL_CH_RENAMED: the lower path, else NULL */
	mode_t type;		/* S_IFREG, S_IFDIR, ... of the entry (of the lower one
				 * for OVL_CH_DELETED) */
};

const char *ovl_change_name(enum ovl_change_kind kind);

typedef void (*ovl_change_fn)(const struct ovl_change *ch, void *arg);

/*
 * Walk the upper layer and report every change, parents before children,
 * in name order, once the walk is done (a rename's whiteout is told from a
 * deletion only then). Returns 0, or 8 when a layer could not be read.
 */
int ovl_changes(struct ovl_stack *s, ovl_change_fn fn, void *arg);

/* The two output forms: one line per change, or a JSON array. */
void ovl_change_print_line(const struct ovl_change *ch, FILE *out);
void ovl_change_print_json(const struct ovl_change *ch, FILE *out, int first);

#endif
