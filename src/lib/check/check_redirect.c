/*
 * Redirects (redirect_dir=on renames of dirs, renamed metacopy files).
 * Dirs: the value must be a path the
 * kernel accepts, lead to a dir in a layer below, be the only dir of its
 * layer leading there, and the old name must be covered so the lower dir
 * does not show twice.
 */
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>

#include "overlay/fh.h"
#include "overlay/lookup.h"
#include "overlay/redirect.h"
#include "overlay/util.h"
#include "walk/links.h"
#include "core/strset.h"
#include "internal.h"

/* The absolute target of a redirect: "/a/b" as is, "name" beside the dir. */
static char *redirect_target(const struct ovl_ctx *c, const struct ovl_node *n,
			     const char *rd, bool absolute)
{
	if (absolute)
		return ovl_xstrdup(rd);
	size_t plen = n->parent ? n->parent->pathlen : 1;
	size_t rlen = strlen(rd);
	char *t = ovl_xmalloc(plen + 1 + rlen + 1);

	memcpy(t, c->path, plen);
	if (plen > 1)
		t[plen++] = '/';
	memcpy(t + plen, rd, rlen + 1);
	return t;
}

/* Is handle `want` the one of `name` in dir fd (name "" for fd itself)? */
static bool handle_at_is(int fd, const char *name, const uint8_t *uuid, const struct ovl_fh *want)
{
	struct ovl_fh at;

	return ovl_fh_of_at(fd, name, uuid, &at) == 0 && ovl_fh_same_fid(&at, want);
}

/*
 * Did this dir merge with the lower dir of its own name, its redirect a
 * later addition (a bad value written over a dir never renamed)? Its
 * origin names that dir, or an upper child's origin names the lower
 * child of the same name. A renamed dir's copied-up children came from
 * its old place, so they never match there.
 */
static bool origin_is_lower_dir(struct ovl_ctx *c, const struct ovl_node *n,
				const struct ovl_below *below)
{
	const char *val = ovl_node_xattr(n, OVL_XA_ORIGIN);
	struct ovl_fh fh;

	return below->n > 0 && val &&
	       ovl_fh_parse(val, n->xa.len[OVL_XA_ORIGIN], &fh) == OVL_FH_OK &&
	       handle_at_is(below->d[0].fd, "", c->s->layers[below->d[0].layer].uuid, &fh);
}

static bool merged_by_name(struct ovl_ctx *c, const struct ovl_node *n,
			   const struct ovl_below *below)
{
	if (below->n == 0)
		return false;
	if (origin_is_lower_dir(c, n, below))
		return true;
	int lfd = below->d[0].fd;
	const uint8_t *uuid = c->s->layers[below->d[0].layer].uuid;
	const char *xname = ovl_xattr_name(c->s->ns, OVL_XA_ORIGIN);
	struct ovl_fh fh;

	int ufd = openat(n->dirfd, n->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ufd < 0)
		return false;
	size_t count = 0;
	char **names = ovl_dir_names(ufd, "", &count);
	bool found = false;
	unsigned char buf[OVL_FH_MAX_LEN];
	for (size_t i = 0; names && i < count && !found; i++) {
		ssize_t len = ovl_xattr_get_at(ufd, names[i], xname, buf, sizeof(buf));
		found = len > 0 && ovl_fh_parse(buf, (size_t)len, &fh) == OVL_FH_OK &&
			handle_at_is(lfd, names[i], uuid, &fh);
	}
	ovl_dir_names_free(names);
	close(ufd);
	return found;
}

/*
 * Its origin named the lower dir the redirect led to (or nothing): without
 * the redirect the dir no longer comes from there. And it would merge with
 * whatever lower dir has its own name, which it never held: make it opaque
 * then; unless it did merge by that name, the redirect a later addition.
 */
unsigned ovl_drop_redirect_effects(struct ovl_ctx *c, const struct ovl_node *n)
{
	struct ovl_lookup_req req = {
		.name = n->name,
		.is_dir = true,
		.layer = c->layer->idx,
	};
	struct ovl_lookup_res own = { .first = OVL_HIT_NONE };
	struct ovl_below below;
	unsigned effects = 0;

	ovl_below_init(&below, c->s);
	bool by_name = n->parent &&
		       ovl_merge_lookup(c->s, &n->parent->below, &req, &below, &own) == 0 &&
		       own.first == OVL_HIT_DIR && merged_by_name(c, n, &below);
	if (ovl_xattrs_has(&n->xa, OVL_XA_ORIGIN) &&
	    !(by_name && origin_is_lower_dir(c, n, &below)))
		effects |= OVL_DROP_ORIGIN;
	if (own.first == OVL_HIT_DIR && !by_name && !(n->frame && n->frame->opaque == 'y'))
		effects |= OVL_DROP_OPAQUE;
	ovl_below_free(&below);
	return effects;
}

void ovl_plan_drop_redirect_at(struct ovl_ctx *c, unsigned long problem, int layer,
			       const char *path, size_t len, unsigned effects)
{
	ovl_plan_for(c, problem, OVL_FIX_RM_XATTR, layer, path, len, OVL_XA_REDIRECT, NULL, 0);
	if (effects & OVL_DROP_ORIGIN)
		ovl_plan_for(c, problem, OVL_FIX_RM_XATTR, layer, path, len, OVL_XA_ORIGIN, NULL, 0);
	if (effects & OVL_DROP_OPAQUE)
		ovl_plan_for(c, problem, OVL_FIX_SET_XATTR, layer, path, len, OVL_XA_OPAQUE, "y", 1);
}

void ovl_plan_drop_redirect(struct ovl_ctx *c, struct ovl_node *n)
{
	ovl_plan_drop_redirect_at(c, c->r->seq, c->layer->idx, c->path, c->pathlen,
				  ovl_drop_redirect_effects(c, n));
}

bool ovl_origin_path(struct ovl_ctx *c, const struct ovl_node *n, char *path, size_t size,
		     mode_t *type)
{
	const char *val = ovl_node_xattr(n, OVL_XA_ORIGIN);
	struct ovl_fh fh;
	struct stat st;

	if (!val || c->layer->kind != OVL_LAYER_UPPER ||
	    ovl_fh_parse(val, n->xa.len[OVL_XA_ORIGIN], &fh) != OVL_FH_OK ||
	    ovl_ctx_handle_path(c, &fh, path, size, &st) <= 0)
		return false;
	*type = st.st_mode & S_IFMT;
	return *type == (n->st.st_mode & S_IFMT);
}

/*
 * Report a redirect problem of a dir (returns true: reported). The fix
 * re-points the redirect at the lower dir its origin names, when that is
 * found; else it removes it.
 */
bool ovl_report_bad_redirect(struct ovl_ctx *c, struct ovl_node *n,
			     enum ovl_problem_code code, const char *detail)
{
	char where[4096];
	const char *rd = ovl_node_xattr(n, OVL_XA_REDIRECT);

	if (!S_ISDIR(n->st.st_mode)) {
		ovl_report_here(c, code, detail);
		return true;
	}
	mode_t type;
	bool repoint = code != PR_RD_DUPLICATE && ovl_origin_path(c, n, where, sizeof(where), &type) &&
		       (!rd || strcmp(where, rd) != 0);
	if (!ovl_report_fix(c, code, detail))
		return true;
	if (repoint)
		ovl_repoint_later(c, where, OVL_RP_DROP_REDIRECT, ovl_drop_redirect_effects(c, n));
	else
		ovl_plan_drop_redirect(c, n);
	return true;
}


/*
 * Duplicates across layers (fstests overlay/046): an upper dir and a dir
 * of a lower layer whose redirects lead to the same lower dir both merge
 * it, which the kernel never makes. The upper one is the duplicate;
 * it is known first, so each upper redirect is remembered with what
 * dropping it takes, and judged when a lower layer's walk meets its
 * target.
 */
#define UR_DONE 0x80	/* beside the DROP_ flags: judged already */

static void note_cross_layer_duplicate(struct ovl_ctx *c, const struct ovl_node *n,
				       const struct ovl_lookup_res *res)
{
	/* Each layer's redirects are paths from the layer below it: the
	 * same text in two layers may name two dirs. The dir the redirect
	 * merges with first is what two dirs must not share. */
	char target[64];
	size_t tlen;

	if (res->first != OVL_HIT_DIR)
		return;
	tlen = (size_t)snprintf(target, sizeof(target), "%llx:%llx",
				(unsigned long long)res->first_st.st_dev,
				(unsigned long long)res->first_st.st_ino);
	if (c->s->has_upper && c->layer == &c->s->layers[0]) {
		char *v = ovl_xmalloc(1 + c->pathlen);

		v[0] = (char)ovl_drop_redirect_effects(c, n);
		memcpy(v + 1, c->path, c->pathlen);
		if (!c->upper_redirects)
			c->upper_redirects = ovl_strset_new();
		ovl_strset_put(c->upper_redirects, target, tlen, v, 1 + c->pathlen);
		free(v);
		return;
	}
	size_t vlen;
	const char *v = c->upper_redirects ?
		ovl_strset_get(c->upper_redirects, target, tlen, &vlen) : NULL;
	if (!v || ((unsigned char)v[0] & UR_DONE))
		return;
	unsigned effects = (unsigned char)v[0];
	char *path = ovl_xstrndup(v + 1, vlen - 1);
	char done = (char)(effects | UR_DONE);
	ovl_strset_put(c->upper_redirects, target, tlen, &done, 1);
	if (ovl_report_fix_at(c, "upper", path, PR_RD_DUPLICATE, "a lower layer's dir redirects there too"))
		ovl_plan_drop_redirect_at(c, c->r->seq, 0, path, strlen(path), effects);
	free(path);
}

/*
 * A redirect whose text names an ancestor loops only when it leads to
 * the lower dir that ancestor merges with: the text is a path in the
 * layers below, and after later renames (the kernel's own, e.g. a dir
 * moved into a subdir, then another renamed to its old name) the
 * ancestor of that name may merge with another dir entirely.
 */
static bool merges_ancestor(const struct ovl_node *n, size_t tlen,
			    const struct ovl_lookup_res *res)
{
	const struct ovl_frame *f = n->parent;
	struct stat st;

	while (f && f->pathlen > tlen)
		f = f->up;
	if (!f || f->pathlen != tlen)
		return true;	/* not found: judge by the text, as before */
	if (res->first != OVL_HIT_DIR || f->below.n == 0)
		return false;
	return fstat(f->below.d[0].fd, &st) == 0 && st.st_dev == res->first_st.st_dev &&
	       st.st_ino == res->first_st.st_ino;
}

bool ovl_check_redirect(struct ovl_ctx *c, struct ovl_node *n,
			const struct ovl_lookup_res *res)
{
	const char *rd = ovl_node_xattr(n, OVL_XA_REDIRECT);
	size_t len = n->xa.len[OVL_XA_REDIRECT];
	bool absolute = false;
	enum ovl_redirect_err err;

	if (!rd)
		return false;	/* huge or unreadable: reported already */
	err = ovl_redirect_parse(rd, len, &absolute);

	if (err == OVL_RD_DOT)
		return ovl_report_bad_redirect(c, n, PR_RD_ESCAPE, rd);
	if (err != OVL_RD_OK && err != OVL_RD_TOO_LONG)
		return ovl_report_bad_redirect(c, n, PR_RD_INVALID, ovl_redirect_strerror(err));
	if (!c->s->redirect_follow) {
		ovl_report_here(c, PR_RD_FOLLOW_OFF, rd);
		return true;
	}
	/* what leads where, for a scoped check */
	if (c->links) {
		char *to = redirect_target(c, n, rd, absolute);
		ovl_links_note_redirect(c, n, to, res);
		free(to);
	}
	/* Redirects of metacopy files lead to data: the metacopy check follows. */
	if (!S_ISDIR(n->st.st_mode))
		return false;
	/* An opaque dir merges with nothing: its redirect is never used
	 * (the kernel never writes both; a repair cut short may leave both). */
	if (n->frame && n->frame->opaque == 'y') {
		if (ovl_report_fix(c, PR_RD_UNUSED, rd)) {
			ovl_plan_here(c, OVL_FIX_RM_XATTR, OVL_XA_REDIRECT, NULL, 0);
			if (ovl_xattrs_has(&n->xa, OVL_XA_ORIGIN))
				ovl_plan_here(c, OVL_FIX_RM_XATTR, OVL_XA_ORIGIN, NULL, 0);
		}
		return true;
	}

	bool bad = false;
	char *target = redirect_target(c, n, rd, absolute);
	size_t tlen = strlen(target);

	if (tlen < c->pathlen && strncmp(c->path, target, tlen) == 0 &&
	    (c->path[tlen] == '/' || tlen == 1) && merges_ancestor(n, tlen, res)) {
		bad = ovl_report_bad_redirect(c, n, PR_RD_LOOP, rd);
		goto out;
	}
	if (res->first == OVL_HIT_NONE || res->first == OVL_HIT_WHITEOUT) {
		bad = ovl_report_bad_redirect(c, n, PR_RD_TARGET_MISSING, rd);
		goto out;
	}
	if (res->first == OVL_HIT_FILE) {
		bad = ovl_report_bad_redirect(c, n, PR_RD_TARGET_NOT_DIR, rd);
		goto out;
	}
	if (!ovl_strset_add(c->redirects, target, tlen)) {
		bad = ovl_report_bad_redirect(c, n, PR_RD_DUPLICATE, rd);
		goto out;
	}
	note_cross_layer_duplicate(c, n, res);
	/* A dir renamed onto its own name needs no cover. */
	if (tlen == c->pathlen && memcmp(target, c->path, tlen) == 0)
		goto out;
	/* The kernel renames in the upper only, always leaving a whiteout
	 * at the old name. A lower layer made otherwise (by hand, as
	 * fstests overlay/055 does) shows the lower dir under both names:
	 * a layout, not damage. */
	if (!c->s->has_upper || c->layer != &c->s->layers[0])
		goto out;

	bool covered;
	enum ovl_hit_kind k = ovl_merge_path_kind(c->s, c->layer->idx, target, &covered);
	if (!covered) {
		if (k == OVL_HIT_DIR)
			bad = ovl_report_bad_redirect(c, n, PR_RD_DUPLICATE, "the old name is still a merged dir");
		else if (ovl_report_fix(c, PR_RD_NO_WHITEOUT, rd))
			ovl_plan_at(c, OVL_FIX_MK_WHITEOUT, c->layer->idx, target, tlen, 0,
				    NULL, 0);
	}
out:
	free(target);
	return bad;
}
