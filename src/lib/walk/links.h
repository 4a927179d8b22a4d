/*
 * The links: what a check learnt of entries that refer to each other,
 * recorded where the check keeps the same fact for its own judgements
 * (a layer's redirect targets, the hard-link bookkeeping for W/index,
 * nfs_export dir origins). A scoped check grows its scope with them.
 */
#ifndef OVL_LINKS_H
#define OVL_LINKS_H

#include <stdbool.h>
#include <stdio.h>

#include "overlay/fh.h"
#include "overlay/scope.h"
#include "walk.h"

enum ovl_link_kind {
	OVL_LINK_REDIRECT = 'r',	/* key: the target ("/a/b"); aux: "dev:ino" of the
					 * dir it merges first, or "" */
	OVL_LINK_ALIAS = 'a',		/* an upper hard link of a lower inode: key: its
					 * fid; aux: its origin as an index name; ino */
	OVL_LINK_NAME = 'n',		/* an upper non-dir of several links: ino (a change
					 * of one name is a change of them all, and of the
					 * W/index entry that is the same inode) */
	OVL_LINK_IMPURE = 'p',		/* an upper entry that makes its parent, which has
					 * no impure mark, need one */
	OVL_LINK_WHITEOUT = 'w',	/* an upper whiteout over a lower hard link: key: its fid */
	OVL_LINK_DIR_ORIGIN = 'd',	/* nfs_export: an upper dir; key: its origin's index name */
	OVL_LINK_COPY = 'c',		/* an upper copied-up file (one link) whose origin
					 * is not the inode at its path: key: the origin's
					 * fid (two such copies are keyed alike by the
					 * kernel) */
	OVL_LINK_INDEX = 'i',		/* a W/index entry of a non-dir: key: the fid of its
					 * name; ino */
};

struct ovl_link {
	char kind;
	int layer;		/* layer idx; -1 for a W/index entry */
	char *path;		/* in the layer; "/NAME" for a W/index entry */
	char *key;
	char *aux;
	unsigned long long ino;
};

struct ovl_links {
	struct ovl_link *v;
	size_t n, cap;
};

/* Records from the checks; nothing happens without c->links. */
void ovl_links_note_redirect(struct ovl_ctx *c, const struct ovl_node *n, const char *target,
			     const struct ovl_lookup_res *res);
void ovl_links_note_alias(struct ovl_ctx *c, const struct ovl_node *n, const struct ovl_fh *origin);
void ovl_links_note_name(struct ovl_ctx *c, const struct ovl_node *n);
void ovl_links_note_impure(struct ovl_ctx *c, const struct ovl_node *n);
void ovl_links_note_whiteout(struct ovl_ctx *c, const char *fid_key);
void ovl_links_note_copy(struct ovl_ctx *c, const char *fid_key);
void ovl_links_note_dir_origin(struct ovl_ctx *c, const char *index_name);
void ovl_links_note_index(struct ovl_ctx *c, const char *name, const struct stat *st,
			  const struct ovl_fh *fh);

/* The fid of a handle as links key it: hex of its type and fid bytes. */
#define OVL_FID_KEY_MAX (2 * (1 + OVL_FH_FID_MAX) + 1)
void ovl_fid_key(const struct ovl_fh *fh, char key[OVL_FID_KEY_MAX]);

/* A copy of record k. */
void ovl_links_add(struct ovl_links *l, const struct ovl_link *k);

/* The records as pscan sends them: 4 NUL-terminated fields each, the
 * first "L" and the kind. */
void ovl_links_write(const struct ovl_links *l, FILE *out);
/* One record back from its 4 fields; false when they are not one. */
bool ovl_links_read(struct ovl_links *l, const char *const f[4]);

/* Is the place (layer idx, -1 for W/index; path) one sc checks? */
bool ovl_scope_holds(const struct ovl_scope *sc, int layer, const char *path);

/* Replace what l holds of the places sc checks by fresh's records
 * (which are moved out of fresh); impure records go with their parent
 * dir checked again (fresh has those still true). */
void ovl_links_replace(struct ovl_links *l, const struct ovl_scope *sc, struct ovl_links *fresh);

#endif
