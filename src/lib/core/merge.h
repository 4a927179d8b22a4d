/*
 * Merged-view lookup, following the kernel's rules: per name, top layer
 * first; a whiteout ends the search, a non-dir ends it, an opaque dir ends
 * it below itself, a redirect continues at another path, a metacopy file
 * continues to its data inode. Only lookups: nothing here walks a layer.
 */
#ifndef OVL_MERGE_H
#define OVL_MERGE_H

#include <stdbool.h>
#include <sys/stat.h>

#include "overlay/fh.h"
#include "overlay/stack.h"

/* One dir of a lower layer that merges below a dir. */
struct ovl_bdir {
	int layer;
	int fd;			/* O_RDONLY|O_DIRECTORY, owned by the below set */
};

/* The dirs of the layers below that merge with one dir, top first. */
struct ovl_below {
	int n;
	struct ovl_bdir *d;	/* capacity: the stack's nlayers */
};

void ovl_below_init(struct ovl_below *b, const struct ovl_stack *s);
void ovl_below_release(struct ovl_below *b);	/* closes fds, keeps storage */
void ovl_below_free(struct ovl_below *b);
/* The below set of the root of layer `layer`: every regular lower after it. */
void ovl_below_root(struct ovl_below *b, const struct ovl_stack *s, int layer);

enum ovl_hit_kind {
	OVL_HIT_NONE,		/* nothing below */
	OVL_HIT_WHITEOUT,	/* the name is whited out below */
	OVL_HIT_DIR,
	OVL_HIT_FILE,		/* any non-dir */
};

/* What a lookup below found. */
struct ovl_lookup_res {
	enum ovl_hit_kind first;	/* the topmost entry found below */
	int first_layer;
	struct stat first_st;
	bool first_fh_ok;		/* first_fh holds its file handle */
	struct ovl_fh first_fh;

	/* metacopy chain (lookups of non-dirs with want_data) */
	int data_layer;			/* -1: no data inode */
	int data_fd;			/* O_PATH of the data inode, -1 if none */
	struct stat data_st;
	enum {
		OVL_DATA_OK,
		OVL_DATA_MISSING,	/* nothing at the end of the chain */
		OVL_DATA_NOT_REG,	/* dir, symlink, fifo... where data should be */
		OVL_DATA_ONLY_MISSING,	/* absolute redirect into data layers found nothing */
	} data_status;
	bool data_via_dataonly;
	bool via_redirect;		/* a redirect was followed below */
};

struct ovl_lookup_req {
	const char *name;	/* the entry's own name */
	const char *redirect;	/* its redirect (validated), or NULL */
	bool is_dir;		/* collect merged dirs into `below` */
	bool want_data;		/* follow a metacopy chain to the data inode */
	bool want_data_fd;	/* open the data inode (O_PATH) into data_fd */
	bool want_fh;		/* file handle of the first entry found */
	int layer;		/* layer of the entry itself */
};

/*
 * Look up one entry of layer req->layer whose parent merges with `parent`.
 * For dirs fills `below` (may be NULL otherwise). Returns 0, or -1 with
 * errno for an operational failure (EMFILE...). Caller closes res->data_fd.
 */
int ovl_merge_lookup(const struct ovl_stack *s, const struct ovl_below *parent,
		     const struct ovl_lookup_req *req, struct ovl_below *below,
		     struct ovl_lookup_res *res);

/*
 * Look up an absolute path ("/a/b", validated) in one layer from its root,
 * as the kernel walks an absolute redirect. Returns the kind found at the
 * end (OVL_HIT_NONE also when the walk stopped on the way) and sets
 * *covered when this layer hides whatever lies below that path: a
 * whiteout or non-dir on the way, or an opaque or redirected dir at the end.
 */
enum ovl_hit_kind ovl_merge_path_kind(const struct ovl_stack *s, int layer,
				      const char *path, bool *covered);

#endif
