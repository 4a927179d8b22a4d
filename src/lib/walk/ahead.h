/*
 * Read-ahead for the walker (-j N): threads read entries of a layer
 * (fstatat, xattrs, the merged lookup, the open of a dir) ahead of the one
 * thread that judges them. They only read; every judgement, problem line
 * and planned fix stays in the walker's thread, in name order, so the
 * output does not depend on N.
 *
 * Bounded: at most `max_ahead` entries read and not yet taken, and the
 * fds the records hold come from a budget; an entry that finds the budget
 * spent is left for the walker to look up itself.
 */
#ifndef OVL_AHEAD_H
#define OVL_AHEAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "overlay/stack.h"
#include "overlay/xattr.h"
#include "core/merge.h"

struct ovl_rentry;

/* What every read of one layer walk needs: read-only while it runs. */
struct ovl_walk_env {
	const struct ovl_stack *s;
	const struct ovl_layer *layer;
	bool hook;		/* every upper entry is looked up (the change list) */
	bool links;		/* the links ledger is kept (an upper file's link count) */
	bool copy_up;		/* --copy-up: data fds of metacopy files */
	int max_depth;		/* dirs deeper are not opened */
	atomic_int *fd_budget;	/* fds records may hold; NULL: no limit */
	/* How an entry is read: ovl_rentry_read when NULL (a layer's walk) */
	void (*read)(const struct ovl_walk_env *e, int dirfd, const char *name,
		     struct ovl_rentry *r);
	const int *mountfd;	/* per layer, opened: for the handles `read` decodes */
};

/* One entry of a layer as read from disk, before any judgement. */
struct ovl_rentry {
	int stat_err;		/* errno of the fstatat; 0: read */
	int xattr_err;		/* errno of listing its xattrs; 0: read */
	int lookup_err;		/* errno of the merged lookup */
	int open_err;		/* dirs: errno of opening it */
	bool looked_up;		/* res, below and child_fd are filled */
	bool need_lookup;
	int fds;		/* fds taken from the budget */
	struct stat st;
	struct ovl_xattrs xa;
	struct ovl_lookup_res res;
	struct ovl_below below;	/* dirs: the dirs of the layers below merging with it */
	int child_fd;		/* dirs within max_depth: open, or -1 */
	/* W/index entries: does the handle their name is find a lower inode */
	bool lower_alive;
	struct stat lower_st;
};

/* Read an entry of dir `dirfd` (at `depth`, merging with `below`), of
 * d_type `dtype` (DT_UNKNOWN when not known). The lookup is left for
 * ovl_rentry_lookup() when the fd budget is spent. */
void ovl_rentry_read(const struct ovl_walk_env *e, int dirfd, const struct ovl_below *below,
		     int depth, const char *name, unsigned char dtype, struct ovl_rentry *r);
/* The lookup and open of a read entry, when the read left them. */
void ovl_rentry_lookup(const struct ovl_walk_env *e, int dirfd, const struct ovl_below *below,
		       int depth, const char *name, struct ovl_rentry *r);
/* Close and free what a record holds, and give its fds back. */
void ovl_rentry_free(const struct ovl_walk_env *e, struct ovl_rentry *r);

struct ovl_ahead;
struct ovl_rdir;

/* Threads for one layer walk: jobs - 1 readers (none for jobs <= 1); more
 * join while all of them wait on the disk, up to 4 * jobs - 1. */
struct ovl_ahead *ovl_ahead_start(const struct ovl_walk_env *e, int jobs, size_t max_ahead);
void ovl_ahead_stop(struct ovl_ahead *a);
/* How many readers it has now (more than jobs - 1 once reads waited on
 * the disk). */
int ovl_ahead_readers(struct ovl_ahead *a);

/* The read-ahead of a dir (fd and below stay the caller's and must live
 * until ovl_rdir_release). */
struct ovl_rdir *ovl_ahead_dir(struct ovl_ahead *a, int fd, const struct ovl_below *below,
			       int depth);
/* Give a dir no reader may list yet (one without readers) its names,
 * taken over (ovl_dir_names_free), or NULL and the errno of the failure. */
void ovl_rdir_set_names(struct ovl_rdir *d, char **names, size_t count, int err);
/* Its sorted names (waits for them), or NULL with *err. */
char **ovl_rdir_names(struct ovl_rdir *d, size_t *count, int *err);
/* Entry i, read (waits for it, or reads it here). Taken in order. */
struct ovl_rentry *ovl_rdir_entry(struct ovl_rdir *d, size_t i);
/* The read-ahead of dir entry i (open, child_fd >= 0). */
struct ovl_rdir *ovl_rdir_child(struct ovl_rdir *d, size_t i);
/* The walker is done with the dir: the entries it did not take are freed. */
void ovl_rdir_release(struct ovl_rdir *d);

#endif
