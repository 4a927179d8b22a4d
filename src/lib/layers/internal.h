/*
 * Private to overlay-layers' library (src/lib/layers/): copying one
 * entry, and the description of an entry a change removes, which its
 * journal record keeps so that undo can make it again.
 */
#ifndef OVL_LAYERS_INTERNAL_H
#define OVL_LAYERS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "overlay/layers.h"
#include "overlay/xattr.h"

/*
 * Make dname in ddir a copy of sname in sdir (lstat sst): a dir (empty),
 * a regular file with its data (with_data) or only its size (a metacopy
 * stub), a symlink, a device, fifo or socket; then owner, mode, xattrs
 * but the overlay's (a name not taken fails the copy) and times. The
 * source is opened only when it is a regular file whose data is copied,
 * and must still be the inode sst describes. 0, or -1 with errno; a
 * half-made copy is removed.
 */
int ovl_layers_copy_entry(int sdir, const char *sname, const struct stat *sst, int ddir,
			  const char *dname, enum ovl_ns ns, bool with_data);

/* What an entry was, as an undo record keeps it. */
struct ovl_lgone {
	struct stat st;			/* mode, uid, gid, size, rdev, atime, mtime */
	struct timespec parent_times[2];	/* its dir's atime, mtime */
	int src_layer;			/* the lower entry it equalled ... */
	char *src_path;			/* ... at this path ("/a/b") */
	size_t nxattrs;			/* its overlay xattrs */
	char **xname;
	unsigned char **xval;
	size_t *xlen;
};

/* The record of dirfd/name (lstat st) whose dir is pfd: a malloc'ed text
 * line, *len bytes. */
char *ovl_lgone_format(int dirfd, const char *name, const struct stat *st, int pfd,
		       enum ovl_ns ns, int src_layer, const char *src_path, size_t *len);
/* Read one back (bytes from a journal: hostile). 0, or -1. */
int ovl_lgone_parse(const unsigned char *buf, size_t len, struct ovl_lgone *g);
void ovl_lgone_free(struct ovl_lgone *g);

/* A dir's atime and mtime as they were (a change inside it moves them). */
int ovl_layers_put_times(int dirfd, const struct timespec times[2]);

/* ---- the upper's changes as entries (delta.c), for export and deref ---- */

enum ovl_lkind { OVL_LK_DIR, OVL_LK_FILE, OVL_LK_LINK, OVL_LK_SPECIAL, OVL_LK_WHITEOUT,
		OVL_LK_OPAQUE };

struct ovl_lentry {
	char *path;		/* "/a/b" in the merged view */
	enum ovl_lkind kind;
	struct stat st;		/* the metadata the merged view shows */
	bool meta_upper;	/* xattrs and target read at this upper path; else
				 * where the merged view takes the entry from */
	bool data_upper;	/* data read at this upper path; else through
				 * the merged view (a metacopy file's lower data) */
	char *target;		/* a symlink's */
	const char *hardlink;	/* an earlier entry's path: a tar hard link */
	unsigned long long key_dev, key_ino;	/* hard-link identity (nlink > 1) */
	int data_layer;		/* a metacopy file's data inode, found once by the
				 * walk: its layer and file handle (else by path) */
	struct file_handle *data_fh;
};

struct ovl_ldelta {
	struct ovl_lentry *v;
	size_t n, cap;
	struct ovl_stack *s;
	char **expand;		/* renamed dirs: written whole from the merged view */
	size_t nexpand;
	bool partial;
	bool plain;		/* the whole view as a plain tree: no opaque marks */
	int *mountfd;		/* per layer: a root fd for open_by_handle_at, or -1 */
};

/* Collect them (sorted, hard links resolved); free. 0, or -1. */
int ovl_ldelta_collect(struct ovl_stack *s, struct ovl_ldelta *x);
/* Every entry of the merged view instead, as a plain tree (merge --into). */
int ovl_ldelta_collect_view(struct ovl_stack *s, struct ovl_ldelta *x);
void ovl_ldelta_free(struct ovl_ldelta *x);
/* "dir", "file", "symlink", "special", "whiteout", "opaque" */
extern const char *const ovl_lkind_names[];
/* The dir holding the entry whose metadata, xattrs and target the view
 * shows (*leaf its name there), or -1. */
int ovl_lentry_meta_dir(struct ovl_stack *s, const struct ovl_lentry *e, const char **leaf);
/* Its data, read-only, from where the view takes it, or -1. */
int ovl_lentry_data(struct ovl_ldelta *x, const struct ovl_lentry *e);

/* ---- merge in place (fold.c plans, fold_ops.c applies) ---- */

/* The dir in W holding what a merge in place moved aside, until commit. */
#define OVL_FOLD_ATTIC	"overlay-layers-merge"

struct journal;
struct record;
struct ovl_fix;
int ovl_fold_fix_apply(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f, int dfd,
		       const char *leaf);
/* dfd -1: the record's dir is not there */
int ovl_fold_fix_state(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf);
int ovl_fold_fix_revert(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf);
/* An mgattr value: "UID GID MODE MTIME.S MTIME.NS ATIME.S ATIME.NS" of st. */
int ovl_fold_attr_format(char *buf, size_t size, const struct stat *st);

/* A plan step that is no change of the stack: an entry an export writes. */
#define OVL_LSTEP_ADD	((enum ovl_fix_op)1000)

/* Append one change to a plan. */
void ovl_layers_plan_add(struct ovl_layers_plan *p, enum ovl_fix_op op, int layer,
			 const char *path, const void *val, size_t len,
			 unsigned long long bytes, const char *why);

#endif
