/*
 * A container engine's overlay store, read as a whole: Docker's overlay2
 * driver dir, containers-storage's overlay driver dir (Podman, CRI-O) or
 * containerd's overlayfs snapshotter, with the engine's own metadata
 * naming the images and containers. This
 * module only reads and models; the checks of the bookkeeping live in
 * check/check_store.c and the check driver in storefsck.c.
 *
 * Never leaves the store: every file is opened relative to the root fd,
 * without following symlinks (the l/ links are read with readlinkat).
 */
#ifndef OVERLAY_STORE_H
#define OVERLAY_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "overlay/opts.h"

enum ovl_store_kind {
	OVL_STORE_DOCKER,	/* /var/lib/docker: overlay2/, image/overlay2/layerdb */
	OVL_STORE_CSTORAGE,	/* /var/lib/containers/storage: overlay/, overlay-*.json */
	OVL_STORE_CONTAINERD,	/* /var/lib/containerd: io.containerd.snapshotter.v1.overlayfs/
				 * snapshots/N/{fs,work}, metadata.db (bbolt) */
};

/* containerd's snapshotter dir below its root, and its own metadata
 * (image and container names) */
#define OVL_CD_SNAPSHOTTER	"io.containerd.snapshotter.v1.overlayfs"
#define OVL_CD_META_DB		"io.containerd.metadata.v1.bolt/meta.db"

/* No such layer (an index into ovl_store.layers otherwise). */
#define OVL_STORE_NONE	(-1L)

/* One layer dir of the driver dir ("overlay2/<id>"), or one the metadata
 * names. containerd: a snapshot, its dir "snapshots/<id>" with fs/ as diff/. */
struct ovl_store_layer {
	char *id;		/* the dir name (the engine's cache-id / layer id) */
	bool on_disk;		/* the dir exists */
	bool has_diff;		/* <id>/diff (containerd: <id>/fs) is a dir */
	bool has_work;		/* <id>/work is a dir */
	bool link_file;		/* <id>/link exists ... */
	char *link;		/* ... and holds this short name (NULL: empty/bad) */
	bool lower_file;	/* <id>/lower exists ... */
	char **lower;		/* ... and names these short names ("l/X" -> "X"), top first */
	size_t nlower;		/* 0 for an empty lower file */
	bool lower_bad;		/* an entry not of the form l/NAME */
	/* from the engine's metadata */
	bool known;		/* the metadata names this layer */
	long parent;		/* its parent layer, OVL_STORE_NONE for a base layer */
	char *parent_id;	/* the parent's id as the metadata gives it (NULL: none) */
	bool parent_missing;	/* the metadata names a parent no layer has */
	bool rw;		/* a container's read-write layer (Docker: also <id>-init;
				 * containerd: an active snapshot) */
	bool committed;		/* containerd: a committed snapshot, checked as a layer
				 * whether or not an image names it */
	bool view;		/* containerd: a view (mounts its parents read-only) */
	char *key;		/* containerd: the snapshot's key ("default/5/c1") */
	char *label;		/* what users call it: "alpine:latest layer 2/3",
				 * "container web", "orphan" */
	unsigned long long size;	/* bytes under the dir, only computed for orphans */
	/* the engine's record of an image layer's content (--verify-content) */
	char *tarsplit;		/* its tar-split record, relative to the root (NULL: none) */
	char *diff_digest;	/* the sha256 of its tar as unpacked, 64 hex (NULL: none) */
	long long diff_size;	/* the bytes of that tar (-1: not recorded) */
	long long files_size;	/* Docker's layerdb size: bytes of its files (-1: none) */
	bool ids_mapped;	/* unpacked with a uid/gid mapping (containers-storage
				 * "uidmap"/"gidmap"): owners on disk are shifted */
};

/* One entry of the short-name dir (overlay2/l, overlay/l). */
struct ovl_store_link {
	char *name;		/* the short name */
	char *target;		/* the symlink's text; NULL when it is not a symlink */
	long layer;		/* the layer whose diff it names ("../<id>/diff"), or NONE */
};

/* A stack the engine would mount: a container's, or an image's (read only). */
struct ovl_store_stack {
	bool container;
	char *id;		/* the engine's container or image id */
	char *name;		/* "web", "docker.io/library/alpine:latest" (id when unnamed) */
	long top;		/* container: its rw layer; image: its top layer */
	long *chain;		/* top to base, by the metadata's parents (top included) */
	size_t nchain;
	bool broken;		/* a layer of the chain is missing (not on disk or unknown) */
	char *ref;		/* containerd, top NONE: the snapshot key the engine's
				 * metadata names and the snapshotter does not have */
};

/* A metadata file that could not be used. */
struct ovl_store_error {
	char *file;		/* path relative to the engine root */
	char *why;		/* one line */
};

struct ovl_store {
	enum ovl_store_kind kind;
	char *root;		/* the engine root as found (absolute) */
	char *driver;		/* the driver dir: root + "/overlay2" or "/overlay" */
	const char *driver_rel;	/* "overlay2", "overlay",
				 * "io.containerd.snapshotter.v1.overlayfs/snapshots" */
	const char *diff_rel;	/* a layer's content dir: "diff" (containerd: "fs") */
	int rootfd;		/* O_PATH|O_DIRECTORY of root */
	int driverfd;		/* ... of the driver dir */
	int linkfd;		/* ... of <driver>/l, -1 when missing */
	struct ovl_store_layer *layers;
	size_t nlayers;
	struct ovl_store_link *links;
	size_t nlinks;
	struct ovl_store_stack *stacks;	/* images first, then containers, each by name */
	size_t nstacks;
	struct ovl_store_error *errors;
	size_t nerrors;
	/* metadata that only names things (containerd's meta.db): unreadable,
	 * the layers are still known, by their own keys */
	struct ovl_store_error *name_errors;
	size_t nname_errors;
	/* the feature options the engine mounts with, as -o takes them
	 * ("index=off,metacopy=on"); from its config when readable */
	char *mount_options;
};

/*
 * Open the store at dir: the engine root (/var/lib/docker,
 * /var/lib/containers/storage, /var/lib/containerd) or its driver dir
 * (.../overlay2, .../overlay, .../io.containerd.snapshotter.v1.overlayfs). Reads the driver dir, l/, every layer's link and lower
 * files, and the engine's metadata. A metadata file that is missing or
 * cannot be parsed is recorded in errors, not fatal. Returns 0, or -1
 * with a one-line reason in err (not a store, unreadable).
 * Call ovl_store_close() in every case.
 */
int ovl_store_open(struct ovl_store *st, const char *dir, char *err, size_t errlen);
void ovl_store_close(struct ovl_store *st);

long ovl_store_layer_find(const struct ovl_store *st, const char *id);
long ovl_store_link_find(const struct ovl_store *st, const char *name);

/*
 * The overlay options the engine would mount a stack with: the upper and
 * work dirs of a container's rw layer, the lower dirs of the chain by the
 * metadata (absolute <driver>/<id>/diff paths, not the possibly damaged
 * lower file), and mount_options. Returns 0, or -1 with a reason.
 */
int ovl_store_stack_opts(const struct ovl_store *st, const struct ovl_store_stack *sk,
			 struct ovl_opts *o, char *err, size_t errlen);

/*
 * A read-only stack of one layer over its parents (lower1 = the layer):
 * how a shared layer is checked once, whatever number of stacks use it.
 */
int ovl_store_layer_opts(const struct ovl_store *st, long layer, struct ovl_opts *o,
			 char *err, size_t errlen);

#endif
