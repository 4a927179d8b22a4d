/*
 * Redirects (redirect_dir=on renames of dirs, renamed metacopy files).
 * Dirs: the value must be a path the
 * kernel accepts, lead to a dir in a layer below, be the only dir of its
 * layer leading there, and the old name must be covered so the lower dir
 * does not show twice.
 */
#include <stdlib.h>
#include <string.h>

#include "overlay/redirect.h"
#include "overlay/util.h"
#include "../strset.h"
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

void ovl_check_redirect(struct ovl_ctx *c, struct ovl_node *n,
			const struct ovl_lookup_res *res)
{
	const char *rd = ovl_node_xattr(n, OVL_XA_REDIRECT);
	size_t len = n->xa.len[OVL_XA_REDIRECT];
	bool absolute = false;
	enum ovl_redirect_err err;

	if (!rd)
		return;		/* huge or unreadable: reported already */
	err = ovl_redirect_parse(rd, len, &absolute);

	if (err == OVL_RD_DOT) {
		ovl_report_here(c, PR_RD_ESCAPE, rd);
		return;
	}
	if (err != OVL_RD_OK && err != OVL_RD_TOO_LONG) {
		ovl_report_here(c, PR_RD_INVALID, ovl_redirect_strerror(err));
		return;
	}
	if (!c->s->redirect_follow) {
		ovl_report_here(c, PR_RD_FOLLOW_OFF, rd);
		return;
	}
	/* Redirects of metacopy files lead to data: the metacopy check follows. */
	if (!S_ISDIR(n->st.st_mode))
		return;
	/* An opaque dir merges with nothing: its redirect is never used. */
	if (n->frame && n->frame->opaque == 'y')
		return;

	char *target = redirect_target(c, n, rd, absolute);
	size_t tlen = strlen(target);

	if (tlen < c->pathlen && strncmp(c->path, target, tlen) == 0 &&
	    (c->path[tlen] == '/' || tlen == 1)) {
		ovl_report_here(c, PR_RD_LOOP, rd);
		goto out;
	}
	if (res->first == OVL_HIT_NONE || res->first == OVL_HIT_WHITEOUT) {
		ovl_report_here(c, PR_RD_TARGET_MISSING, rd);
		goto out;
	}
	if (res->first == OVL_HIT_FILE) {
		ovl_report_here(c, PR_RD_TARGET_NOT_DIR, rd);
		goto out;
	}
	if (!ovl_strset_add(c->redirects, target, tlen)) {
		ovl_report_here(c, PR_RD_DUPLICATE, rd);
		goto out;
	}
	/* A dir renamed onto its own name needs no cover. */
	if (tlen == c->pathlen && memcmp(target, c->path, tlen) == 0)
		goto out;

	bool covered;
	enum ovl_hit_kind k = ovl_merge_path_kind(c->s, c->layer->idx, target, &covered);
	if (!covered) {
		if (k == OVL_HIT_DIR)
			ovl_report_here(c, PR_RD_DUPLICATE, "the old name is still a merged dir");
		else
			ovl_report_here(c, PR_RD_NO_WHITEOUT, rd);
	}
out:
	free(target);
}
