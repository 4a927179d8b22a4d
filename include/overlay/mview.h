/*
 * The merged view, dir by dir, as the kernel would show it: for the
 * browser. Only lookups: a dir is found through the layers by the
 * kernel's rules, then its layers' dirs are read and merged.
 */
#ifndef OVERLAY_MVIEW_H
#define OVERLAY_MVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "overlay/fh.h"
#include "overlay/metacopy.h"

#include "overlay/stack.h"

#define OVL_ME_METACOPY	(1u << 0)	/* data in data_layer */
#define OVL_ME_REDIRECT	(1u << 1)
#define OVL_ME_ORIGIN	(1u << 2)
#define OVL_ME_OPAQUE	(1u << 3)
#define OVL_ME_IMPURE	(1u << 4)
#define OVL_ME_HARDLINK	(1u << 5)	/* nlink > 1 */
#define OVL_ME_MERGED	(1u << 6)	/* a dir merged with lower dirs */
#define OVL_ME_WHITEOUT	(1u << 7)	/* hidden: a whiteout deletes the name */
#define OVL_ME_UNDER_OPAQUE (1u << 8)	/* hidden: a lower name under an opaque dir */
#define OVL_ME_INDEXED	(1u << 9)	/* a lower hard link the index says was copied
					 * up: layer 0, its inode W/index/<handle hex> */

/* What an upper entry's origin handle names. */
enum ovl_where_origin {
	OVL_WO_NONE,		/* no origin xattr (or no upper entry) */
	OVL_WO_BAD,		/* unparseable: origin_err says why */
	OVL_WO_SAME,		/* names the inode at the same name in origin_layer */
	OVL_WO_OTHER,		/* names another inode (moved, redirected or stale) */
	OVL_WO_NO_LAYER,	/* no layer has its filesystem uuid */
	OVL_WO_UNCHECKED,	/* the lower filesystem cannot give handles */
};

struct ovl_mentry {
	char *name;
	int layer;		/* where it comes from (0 upper, 1.. lowers; 0 also
				 * for OVL_ME_INDEXED: not at this name in the upper dir) */
	struct stat st;
	unsigned flags;
	int data_layer;		/* OVL_ME_METACOPY: the layer of its data, -1 if none */
	char *redirect;		/* its redirect, or NULL */
	bool hidden;		/* not in the merged view (shown with '.') */
	enum ovl_where_origin origin;	/* OVL_ME_ORIGIN of an upper entry */
};

struct ovl_mdir {
	struct ovl_mentry *e;
	size_t n;
};

/*
 * List the merged dir at `path` ("/" or "/a/b"). With `hidden`, names a
 * whiteout deletes, and the lower names an opaque `path` hides, are listed
 * too (hidden = true). Sorted by name.
 * Returns 0, or -1 with errno (ENOENT: no such merged dir, ENOTDIR).
 */
int ovl_mview_list(struct ovl_stack *s, const char *path, bool hidden, struct ovl_mdir *out);
void ovl_mdir_free(struct ovl_mdir *d);

/*
 * Open (read-only) the data of a regular file `name` of the merged dir
 * `dirpath`, from the layer that holds it: a metacopy file's data in its
 * lower data inode, anything else where the merged view takes it from.
 * Returns an fd, or -1 with errno (EISDIR/EINVAL for not a regular file).
 */
int ovl_mview_open_data(struct ovl_stack *s, const char *dirpath, const char *name);

/*
 * The dir (O_RDONLY) of the layer holding the entry `name` of the merged
 * dir `dirpath` shows (its metadata, xattrs, link target), that layer in
 * *layer. -1 with errno (ENOENT: no such entry).
 */
int ovl_mview_entry_dir(struct ovl_stack *s, const char *dirpath, const char *name, int *layer);

/* Where a name of a merged dir lives, layer by layer, and what its origin says. */
struct ovl_mwhere {
	int nlayers;
	/* per layer index: '-' absent or not merged here (below an opaque dir),
	 * 'f' file, 'd' dir, 'l' symlink, 'w' whiteout, 'o' other */
	char kind[64];
	enum ovl_where_origin origin;
	int origin_err;		/* enum ovl_fh_err, for OVL_WO_BAD */
	int origin_layer;	/* SAME: the layer holding it; OTHER: the first
				 * layer on its filesystem; -1 if none */
	char uuid[37];		/* the handle's uuid, text */
	char origin_path[1024];	/* OTHER: where the inode is now ("/x/y" in
				 * origin_layer), "" when it cannot be found */
	bool origin_alive;	/* OTHER: the handle names an inode (in no
				 * layer's tree when origin_path is "") */
	unsigned origin_fid_type;	/* the handle's fid: type and length */
	size_t origin_fid_len;
	/* the upper entry's metacopy xattr, decoded */
	bool has_metacopy;
	int metacopy_err;	/* enum ovl_metacopy_err */
	struct ovl_metacopy metacopy;
	/* the upper entry's redirect: the layer it leads to (-1: nothing there,
	 * 0: no redirect or not followed) */
	int redirect_layer;
	/* the upper entry's nlink xattr: raw, and whether the kernel takes it */
	char nlink[32];
	bool nlink_ok;
	/* a lower hard link copied up under another name: its W/index entry
	 * (the origin, metacopy and nlink above are that entry's), else "" */
	char index_name[OVL_FH_HEX_MAX];
};

/*
 * What the upper layer costs and hides under the merged dir `path`:
 * bytes of the regular files whose data the upper holds (metacopy files
 * hold none), and bytes of lower regular files no longer seen because
 * an upper copy, whiteout or opaque dir covers them. Lower-only subtrees
 * are not walked; a covered lower dir counts its top lower layer's files.
 */
struct ovl_mcost {
	unsigned long long upper_bytes, upper_files;
	unsigned long long shadowed_bytes, shadowed_files;
};
int ovl_mview_cost(struct ovl_stack *s, const char *path, struct ovl_mcost *c);

/*
 * Every lower non-dir of the merged view that the index shows copied up
 * under another name (OVL_ME_INDEXED), with its merged path ("/a/b"): the
 * changes a walk of the upper dir cannot see. Only when W/index holds a
 * non-dir copy-up, and then only the merged dirs with lower parts are
 * read. Dirs that cannot be read are left out. Returns 0.
 */
typedef void (*ovl_mview_fn)(const char *path, const struct ovl_mentry *e, void *arg);
int ovl_mview_indexed(struct ovl_stack *s, ovl_mview_fn fn, void *arg);

/* Fill `w` for `name` of the merged dir `dirpath`. 0, or -1 with errno. */
int ovl_mview_where(struct ovl_stack *s, const char *dirpath, const char *name,
		    struct ovl_mwhere *w);

#endif
