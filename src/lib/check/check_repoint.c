/*
 * Re-pointing an upper entry by its origin (a redirect to where the lower
 * inode its origin names lives now), decided once the whole upper layer
 * is known.
 *
 * The kernel keys the overlay inode of an entry with lower data by that
 * lower inode. Two merged paths reaching one lower inode (a lower-only
 * entry and a redirected one, or two redirected dirs) share one key: the
 * second one looked up fails with ESTALE, or shows the first one's upper
 * metadata. A re-point that makes such a pair hurts a path that was
 * readable, so it is made only where nothing else shows that inode: not
 * at its own path, not through any redirect of the layer (which are all
 * known only at the end of the walk), not through another re-point.
 * Otherwise the fallback the check chose is planned instead.
 */
#include <stdlib.h>
#include <string.h>

#include "overlay/lookup.h"
#include "overlay/util.h"
#include "core/strset.h"
#include "internal.h"

struct ovl_repoint {
	char *path;		/* the entry, in the upper layer */
	char *where;		/* the lower path its origin names */
	unsigned long seq;	/* the problem the fix belongs to */
	enum ovl_repoint_fallback fallback;
	unsigned effects;	/* of OVL_RP_DROP_REDIRECT */
	unsigned char *copy;	/* of OVL_RP_COPY_UP */
	size_t copylen;
};

struct ovl_repoints {
	struct ovl_repoint *v;
	size_t n, cap;
};

/* A new entry at the current path, or NULL without a plan. */
static struct ovl_repoint *repoint_add(struct ovl_ctx *c, unsigned long seq, const char *where,
				       enum ovl_repoint_fallback fallback, unsigned effects)
{
	if (!c->plan)
		return NULL;
	if (!c->repoints)
		c->repoints = ovl_xcalloc(1, sizeof(*c->repoints));
	struct ovl_repoints *rp = c->repoints;
	if (rp->n == rp->cap) {
		rp->cap = rp->cap ? 2 * rp->cap : 8;
		rp->v = ovl_xrealloc(rp->v, rp->cap * sizeof(*rp->v));
	}
	struct ovl_repoint *p = &rp->v[rp->n++];
	*p = (struct ovl_repoint){
		.path = ovl_xstrndup(c->path, c->pathlen),
		.where = ovl_xstrdup(where),
		.seq = seq,
		.fallback = fallback,
		.effects = effects,
	};
	return p;
}

void ovl_repoint_later(struct ovl_ctx *c, const char *where, enum ovl_repoint_fallback fallback,
		       unsigned effects)
{
	repoint_add(c, c->r->seq, where, fallback, effects);
}

void ovl_repoint_later_for(struct ovl_ctx *c, unsigned long seq, const char *where,
			   enum ovl_repoint_fallback fallback)
{
	repoint_add(c, seq, where, fallback, 0);
}

void ovl_repoint_later_copy(struct ovl_ctx *c, unsigned long seq, const char *where,
			    const void *copy, size_t copylen)
{
	struct ovl_repoint *p = repoint_add(c, seq, where, OVL_RP_COPY_UP, 0);

	if (p) {
		p->copy = ovl_xmalloc(copylen);
		memcpy(p->copy, copy, copylen);
		p->copylen = copylen;
	}
}

/* Would the lower inode at `where` then show at two merged paths? */
static bool shown_elsewhere(struct ovl_ctx *c, const char *where)
{
	bool covered;
	enum ovl_hit_kind k = ovl_merge_path_kind(c->s, 0, where, &covered);

	/* Nothing in the upper hides the path: the lowers show it there (or
	 * an upper dir merges with it). An upper non-dir there may carry
	 * the same origin. */
	if ((k != OVL_HIT_WHITEOUT && !covered) || k == OVL_HIT_FILE)
		return true;
	/* A redirect of the layer leads to it, or to a dir above it. */
	if (!c->redirects)
		return false;
	size_t len = strlen(where);
	for (size_t i = len; i > 1; i--)
		if ((i == len || where[i] == '/') && ovl_strset_has(c->redirects, where, i))
			return true;
	return false;
}

/* The data now, then the commit that drops the metacopy mark and (xattr
 * ORIGIN) the origin, which would alias the data's other path. */
static void plan_copy(struct ovl_ctx *c, unsigned long seq, const char *path, size_t len,
		      const void *copy, size_t copylen)
{
	size_t order = c->plan->n;

	ovl_plan_for(c, seq, OVL_FIX_COPY_DATA, 0, path, len, 0, copy, copylen);
	ovl_plan_for(c, seq, OVL_FIX_COPY_COMMIT, 0, path, len, OVL_XA_ORIGIN, &order,
		     sizeof(order));
}

void ovl_plan_copy_from_origin(struct ovl_ctx *c, unsigned long seq, const void *copy,
			       size_t copylen)
{
	if (c->plan)
		plan_copy(c, seq, c->path, c->pathlen, copy, copylen);
}

static void plan(struct ovl_ctx *c, const struct ovl_repoint *p, enum ovl_fix_op op,
		 enum ovl_xattr_id xattr, const void *val, size_t len)
{
	ovl_plan_for(c, p->seq, op, 0, p->path, strlen(p->path), xattr, val, len);
}

void ovl_repoints_resolve(struct ovl_ctx *c)
{
	struct ovl_repoints *rp = c->repoints;

	if (!rp)
		return;
	if (!c->redirects)
		c->redirects = ovl_strset_new();
	/* A scoped check has seen only some redirects: the links of the
	 * last full check know the others (without them: no re-point). */
	bool all_known = !c->scope || ovl_scope_redirect_targets(c, 0, c->redirects);
	for (size_t i = 0; i < rp->n; i++) {
		struct ovl_repoint *p = &rp->v[i];
		if (all_known && !shown_elsewhere(c, p->where)) {
			plan(c, p, OVL_FIX_SET_XATTR, OVL_XA_REDIRECT, p->where, strlen(p->where));
			ovl_strset_add(c->redirects, p->where, strlen(p->where));
			continue;
		}
		switch (p->fallback) {
		case OVL_RP_DROP_REDIRECT:
			ovl_plan_drop_redirect_at(c, p->seq, 0, p->path, strlen(p->path),
						  p->effects);
			break;
		case OVL_RP_QUARANTINE:
			plan(c, p, OVL_FIX_QUARANTINE, 0, NULL, 0);
			break;
		case OVL_RP_QUARANTINE_WH:
			plan(c, p, OVL_FIX_QUARANTINE_WH, 0, NULL, 0);
			break;
		case OVL_RP_COPY_UP:
			plan_copy(c, p->seq, p->path, strlen(p->path), p->copy, p->copylen);
			break;
		case OVL_RP_NONE:
			break;
		}
	}
	ovl_repoints_free(c);
}

void ovl_repoints_free(struct ovl_ctx *c)
{
	struct ovl_repoints *rp = c->repoints;

	if (!rp)
		return;
	for (size_t i = 0; i < rp->n; i++) {
		free(rp->v[i].path);
		free(rp->v[i].where);
		free(rp->v[i].copy);
	}
	free(rp->v);
	free(rp);
	c->repoints = NULL;
}
