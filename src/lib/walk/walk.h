/*
 * The walker: reads each layer once (getdents + fstatat + the overlay
 * xattrs of every entry), keeps one path buffer that grows and shrinks
 * with the descent, and hands every entry to the checks.
 */
#ifndef OVL_WALK_H
#define OVL_WALK_H

#include <stdbool.h>
#include <sys/stat.h>

#include "overlay/fh.h"
#include "overlay/fsck.h"
#include "overlay/problem.h"
#include "overlay/repair.h"
#include "overlay/stack.h"
#include "overlay/xattr.h"
#include "ahead.h"
#include "core/merge.h"

struct ovl_strset;
struct ovl_hlinks;

/* A directory being walked. */
struct ovl_frame {
	struct ovl_frame *up;
	int fd;			/* O_RDONLY|O_DIRECTORY */
	struct ovl_below below;	/* dirs of the layers below merging with it */
	size_t pathlen;		/* length of its path in ctx->path */
	int depth;
	char opaque;		/* 'y', 'x' or 0 */
	bool impure;		/* impure=y present */
	bool impure_needed;	/* a child has origin or redirect */
	bool xwhiteouts;	/* opaque=x or the 6.7 whiteouts marker */
};

/* One entry of a layer, as the checks see it. */
struct ovl_node {
	const struct ovl_layer *layer;
	struct ovl_frame *parent;	/* NULL for a layer root */
	int dirfd;			/* parent dir fd (layer root fd for the root) */
	const char *name;		/* "" for a layer root */
	struct stat st;
	struct ovl_xattrs xa;
	bool whiteout;			/* char device 0/0 */
	bool xwhiteout;			/* whiteout xattr present */
	struct ovl_frame *frame;	/* for dirs: the frame of its children */
};

struct ovl_ctx {
	struct ovl_stack *s;
	struct ovl_report *r;
	const struct ovl_fsck_opts *o;
	struct ovl_fsck_stats *stats;
	char *path;		/* "/a/b" of the entry being checked */
	size_t pathlen;
	size_t pathcap;
	const struct ovl_layer *layer;	/* layer being walked */
	struct ovl_strset *redirects;	/* redirect targets seen in this layer */
	struct ovl_strset *upper_redirects; /* upper dirs by redirect target, for the lowers' */
	int *mountfd;		/* per layer: O_RDONLY root for open_by_handle_at */
	int max_depth;
	int fd_spare;		/* fds the read-ahead may hold */
	atomic_int fd_budget;	/* of which left, during a walk */
	struct ovl_walk_env env;	/* what the read-ahead of the walk reads by */
	struct ovl_plan *plan;	/* fixes accepted so far */
	struct ovl_hlinks *hlinks;	/* upper hard links seen, for W/index */
	struct ovl_strset *dirorigins;	/* nfs_export: origin hex -> upper dir handle */
	bool *copy_matched;	/* per --copy-up path: a metacopy file was found there */
	/* Called for every upper entry once it is checked (the change list). */
	void (*hook)(struct ovl_ctx *c, struct ovl_node *n, const struct ovl_lookup_res *res);
	void *hook_arg;
	struct ovl_strset *copied_inodes;	/* hard-linked inodes planned for copy-up */
	struct ovl_progress_share share;	/* the walk's done fraction (-C) */
	struct ovl_scope *scope;	/* a scoped check: only these places */
	struct ovl_links *links;	/* the links between entries, recorded */
	struct ovl_repoints *repoints;	/* re-points judged at the end of the upper walk */
	struct ovl_placeds *placeds;	/* judgements waiting for a lower inode's path */
	struct ovl_strset *copies;	/* plain copies away from their origin's path:
					 * origin dev:ino -> the first's inode and path */
};

/* A context for the stack (path buffer, per-layer fds), and its end. */
void ovl_ctx_init(struct ovl_ctx *c, struct ovl_stack *s, struct ovl_report *r,
		  const struct ovl_fsck_opts *o, struct ovl_fsck_stats *stats);
void ovl_ctx_free(struct ovl_ctx *c);

/*
 * A scoped check (scope.c): the names of dir f (at c->path) to visit,
 * and the W/index names, sorted, as ovl_dir_names() gives them (NULL
 * with errno when the dir cannot be read).
 */
char **ovl_scope_dir_names(struct ovl_ctx *c, struct ovl_frame *f, size_t *count);
char **ovl_scope_index_names(struct ovl_ctx *c, size_t *count);
/* Add the redirect targets of a layer the links of the last full check
 * know (those of dirs the scope does not visit) to `into`; false when the
 * scope has no links. */
struct ovl_strset;
bool ovl_scope_redirect_targets(const struct ovl_ctx *c, int layer, struct ovl_strset *into);

/* Walk one layer from its root. */
int ovl_walk_layer(struct ovl_ctx *c, int layer);
/* Make `path` the current one (the checks' _here functions use it): for
 * judgements made after the walk has left the entry. */
void ovl_ctx_set_path(struct ovl_ctx *c, const char *path, size_t len);

/* Report a problem at the current path of the walk. */
void ovl_report_here(struct ovl_ctx *c, enum ovl_problem_code code, const char *detail);
/* The same for a problem the check can fix: true when the fix is wanted
 * (then plan it with ovl_plan_here / ovl_plan_at). */
bool ovl_report_fix(struct ovl_ctx *c, enum ovl_problem_code code, const char *detail);
bool ovl_report_fix_at(struct ovl_ctx *c, const char *layer, const char *path,
		       enum ovl_problem_code code, const char *detail);
/* Queue one change of the last reported problem, at the current path or
 * at an explicit place (layer idx or OVL_FIX_WORKDIR, "/a/b"). */
void ovl_plan_here(struct ovl_ctx *c, enum ovl_fix_op op, enum ovl_xattr_id xattr,
		   const void *val, size_t len);
/* The same for an earlier problem (its sequence number), planned later. */
void ovl_plan_for(struct ovl_ctx *c, unsigned long problem, enum ovl_fix_op op, int layer,
		  const char *path, size_t pathlen, enum ovl_xattr_id xattr, const void *val,
		  size_t len);
void ovl_plan_at(struct ovl_ctx *c, enum ovl_fix_op op, int layer, const char *path,
		 size_t pathlen, enum ovl_xattr_id xattr, const void *val, size_t len);
/* Report a problem at an explicit layer name and path. */
void ovl_report_at(struct ovl_ctx *c, const char *layer, const char *path,
		   enum ovl_problem_code code, const char *detail);

/* An fd of a layer root fit for open_by_handle_at, cached. */
int ovl_ctx_mountfd(struct ovl_ctx *c, int layer);

/*
 * Decode a handle on the filesystems of layers [first, last] whose uuid
 * matches (a null uuid matches any). Dirs count only inside the layer
 * root, as the kernel accepts them. Returns an O_PATH fd with *st, or -1.
 */
int ovl_ctx_open_handle(struct ovl_ctx *c, const struct ovl_fh *fh, int first, int last,
			struct stat *st);
/* The same, saying in which layer it decoded (*layer). */
int ovl_ctx_decode(struct ovl_ctx *c, const struct ovl_fh *fh, int first, int last,
		   struct stat *st, int *layer);
/* The same with the root fds of every layer in [first, last] opened
 * already (ovl_ctx_mountfd; -2 for none): for the read-ahead threads. */
int ovl_open_handle_in(const struct ovl_stack *s, const int *mountfd, const struct ovl_fh *fh,
		       int first, int last, struct stat *st);

/*
 * Where does a handle's inode live now? Decodes it in the regular lower
 * layers and returns the layer with the path ("/a/b") of the inode
 * inside it, verified by a safe lookup from the layer root that reaches
 * the same inode; -1 when it cannot be found that way, or the kernel's
 * answer would not be sure (ovl_ctx_sure_path).
 */
int ovl_ctx_handle_path(struct ovl_ctx *c, const struct ovl_fh *fh, char *path, size_t size,
			struct stat *st);
/* The same for an inode decoded already: fd of layer `layer`, st its
 * stat. 0 with the path, -1 when not found inside that layer. */
int ovl_ctx_fd_path(struct ovl_ctx *c, int layer, int fd, const struct stat *st, char *path,
		    size_t size);
/* The same in the regular lowers from `layer` on (lowers on one
 * filesystem decode a handle alike: the path says whose); the layer
 * found, or -1 (none, or the kernel gave a disconnected dentry). */
int ovl_ctx_fd_path_from(struct ovl_ctx *c, int layer, int fd, const struct stat *st, char *path,
			 size_t size);
/* The same when the kernel's answer is sure: a dir (its dentries are
 * always connected) or a file of one link; a file of several is named by
 * whichever link the cache holds, so -1 for it too. */
int ovl_ctx_sure_path(struct ovl_ctx *c, int layer, int fd, const struct stat *st, char *path,
		      size_t size);

#endif
