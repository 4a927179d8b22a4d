/*
 * The checks: each looks at one entry (or one dir when its children are
 * done, or one of the stack's fixed places) and reports problems. Checks
 * only read; they never print or prompt themselves.
 */
#ifndef OVL_CHECK_INTERNAL_H
#define OVL_CHECK_INTERNAL_H

#include "walk/walk.h"

/* Per entry, in this order, called by the walker. */
void ovl_check_entry(struct ovl_ctx *c, struct ovl_node *n,
		     const struct ovl_lookup_res *res);	/* names, xattrs, whiteouts, opaque, impure */
/* True when it reported a problem of the redirect (the origin check of
 * that dir then has nothing more to say). */
bool ovl_check_redirect(struct ovl_ctx *c, struct ovl_node *n,
			const struct ovl_lookup_res *res);	/* dirs, metacopy files */
void ovl_check_metacopy(struct ovl_ctx *c, struct ovl_node *n,
			const struct ovl_lookup_res *res);
void ovl_check_origin(struct ovl_ctx *c, struct ovl_node *n,
		      const struct ovl_lookup_res *res);
/* When a dir's children are done. */
void ovl_check_dir_end(struct ovl_ctx *c, struct ovl_node *n);
/* Does upper entry n make its parent dir need the impure mark (an origin,
 * a dir's redirect, a dir merging with a lower dir: n->frame->below)? */
bool ovl_makes_parent_impure(const struct ovl_node *n);

/* --copy-up: plan the data copy-up of a clean upper metacopy file when
 * its path is one of those asked for. */
void ovl_copyup_plan(struct ovl_ctx *c, struct ovl_node *n, const struct ovl_lookup_res *res);
/* Does the file (dirfd, name; st its stat) with a metacopy mark hold data
 * of its own: data blocks and another size than its lower data's, or
 * with `bytes` (and data_fd, the lower data) other bytes? */
bool ovl_holds_own_data(int dirfd, const char *name, const struct stat *st,
			const struct stat *data, int data_fd, bool bytes);
/* --copy-up: a metacopy file with a problem is skipped, and said so. */
void ovl_copyup_skip(struct ovl_ctx *c);
/* --copy-up of a path that only the lowers have, below the upper dir f
 * (the deepest upper dir on its way): its lower dirs are copied up, then
 * the entry, as the kernel would. */
void ovl_copyup_plan_lower(struct ovl_ctx *c, struct ovl_frame *f);

/* Will it mount? First in pass 1: layout, mounts in use, stacking
 * depth, d_type, xattrs, room. True when the kernel refuses the layers as
 * given (not one stack: nothing may be repaired as if they were). */
bool ovl_check_mountable(struct ovl_ctx *c);
/* After the walks, with --copy-up: do the planned copy-ups fit? */
void ovl_check_mountable_copyup(struct ovl_ctx *c);

/* Fixed places. */
void ovl_check_stack_roots(struct ovl_ctx *c);	/* pass 1 */
void ovl_check_index(struct ovl_ctx *c);	/* W/index */
void ovl_check_work(struct ovl_ctx *c);		/* W/work */
void ovl_check_upper_hardlink(struct ovl_ctx *c, struct ovl_node *n,
			      const struct ovl_lookup_res *res);
/* An upper whiteout over a lower file with several links: one lower
 * alias fewer in the merged view (for the nlink of its index entry). */
void ovl_note_whiteout(struct ovl_ctx *c, const struct ovl_lookup_res *res);
void ovl_hlinks_free(struct ovl_hlinks *hl);
/* nfs_export: remember which upper dir has which origin (for W/index). */
void ovl_note_upper_dir(struct ovl_ctx *c, const struct ovl_node *n);
/* An upper hard link's origin is being re-based to `fh` (stored bytes):
 * its index entry must then be renamed to match. */
void ovl_note_rebase(struct ovl_ctx *c, const struct ovl_node *n, const void *fh, size_t len);

/*
 * Re-pointing by origin: where the lower inode named by the entry's origin
 * lives now ("/a/b" into path, false if it cannot be found there).
 */
bool ovl_origin_path(struct ovl_ctx *c, const struct ovl_node *n, char *path, size_t size,
		     mode_t *type);

/*
 * The re-point itself waits for the end of the upper walk (check_repoint.c):
 * made only when the lower inode at `where` would show at no other merged
 * path (else the kernel gives ESTALE at one of them); else the fallback.
 */
enum ovl_repoint_fallback {
	OVL_RP_NONE,		/* the problem stays */
	OVL_RP_DROP_REDIRECT,	/* ovl_plan_drop_redirect(), its effects given */
	OVL_RP_QUARANTINE,
	OVL_RP_QUARANTINE_WH,
	OVL_RP_COPY_UP,		/* a metacopy file's data copied up from its origin's
				 * inode (`copy`: layer byte + handle), the origin dropped */
};
void ovl_repoint_later(struct ovl_ctx *c, const char *where, enum ovl_repoint_fallback fallback,
		       unsigned effects);
/* The same for the problem `seq`, reported earlier (a placed judgement). */
void ovl_repoint_later_for(struct ovl_ctx *c, unsigned long seq, const char *where,
			   enum ovl_repoint_fallback fallback);
void ovl_repoint_later_copy(struct ovl_ctx *c, unsigned long seq, const char *where,
			    const void *copy, size_t copylen);
/* The copy of OVL_RP_COPY_UP, planned now for the current entry (its
 * origin decoded, its path not in the lowers: nothing to re-point at). */
void ovl_plan_copy_from_origin(struct ovl_ctx *c, unsigned long seq, const void *copy,
			       size_t copylen);
void ovl_repoints_resolve(struct ovl_ctx *c);
void ovl_repoints_free(struct ovl_ctx *c);

/*
 * A judgement of the current upper entry that needs the path of the lower
 * inode its origin names (check_placed.c): made at the end of the upper
 * walk, with that entry as the current path, whatever the dentry cache
 * holds. fd, st: the inode, decoded in lower `layer`; arg: the check's
 * own bytes, copied.
 */
struct ovl_placed {
	unsigned long seq;	/* the last problem reported before waiting */
	int layer;		/* where the handle decoded */
	struct stat st;		/* the inode */
	int found;		/* the lower layer whose tree holds it, or -1 */
	const char *where;	/* its path there ("/a/b"), or NULL */
	const void *arg;
};
typedef void (*ovl_placed_judge)(struct ovl_ctx *c, const struct ovl_placed *p);
void ovl_judge_placed(struct ovl_ctx *c, int layer, int fd, const struct stat *st,
		      ovl_placed_judge judge, const void *arg, size_t arglen);
void ovl_placeds_resolve(struct ovl_ctx *c);
void ovl_placeds_free(struct ovl_ctx *c);

/* What dropping a dir's redirect takes besides the redirect itself. */
enum { OVL_DROP_ORIGIN = 1, OVL_DROP_OPAQUE = 2 };
unsigned ovl_drop_redirect_effects(struct ovl_ctx *c, const struct ovl_node *n);
/* Plan that drop at a dir of a layer (idx, path) for a given problem. */
void ovl_plan_drop_redirect_at(struct ovl_ctx *c, unsigned long problem, int layer,
			       const char *path, size_t len, unsigned effects);

/* Remove a dir's redirect (and the origin it came with), making the dir
 * opaque when it would otherwise merge with a lower dir of its name. */
void ovl_plan_drop_redirect(struct ovl_ctx *c, struct ovl_node *n);
/* Report a bad redirect of a dir; its fix re-points by origin or drops. */
bool ovl_report_bad_redirect(struct ovl_ctx *c, struct ovl_node *n,
			     enum ovl_problem_code code, const char *detail);

/* Small shared helpers. */
bool ovl_name_is_hostile(const char *name);
/* A value of an overlay xattr of n, or NULL. */
static inline const char *ovl_node_xattr(const struct ovl_node *n, enum ovl_xattr_id id)
{
	return ovl_xattrs_has(&n->xa, id) ? (const char *)n->xa.val[id] : NULL;
}

#endif
