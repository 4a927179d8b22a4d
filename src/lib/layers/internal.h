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

/* A plan step that is no change of the stack: an entry an export writes. */
#define OVL_LSTEP_ADD	((enum ovl_fix_op)1000)

/* Append one change to a plan. */
void ovl_layers_plan_add(struct ovl_layers_plan *p, enum ovl_fix_op op, int layer,
			 const char *path, const void *val, size_t len,
			 unsigned long long bytes, const char *why);

#endif
