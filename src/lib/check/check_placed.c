/*
 * Judgements that need the path of a lower inode an origin names, made
 * at the end of the upper walk.
 *
 * The kernel names a non-dir opened by its handle only while a connected
 * dentry of it is cached: cold, or after any decode made a disconnected
 * alias, /proc/self/fd reads "/". A judgement taken from that path would
 * say one thing warm and another cold. So every such judgement waits: the
 * kernel's path is taken when it is sure (one link, confirmed by a
 * lookup), and the others are placed by inofind's walk of the lowers, one
 * walk for all of them, made only when one is left. Their problems are
 * reported at the end of the upper walk, in the walk's order.
 */
#include <stdlib.h>
#include <string.h>

#include "overlay/util.h"
#include "core/inofind.h"
#include "internal.h"

struct wait {
	char *path;		/* the upper entry */
	size_t pathlen;
	struct ovl_placed p;
	char *where;		/* the kernel's path, sure */
	size_t find;		/* else its inofind id */
	bool finding;
	ovl_placed_judge judge;
	void *arg;
};

struct ovl_placeds {
	struct wait *v;
	size_t n, cap;
};

void ovl_judge_placed(struct ovl_ctx *c, int layer, int fd, const struct stat *st,
		      ovl_placed_judge judge, const void *arg, size_t arglen)
{
	char where[4096];

	if (!c->placeds)
		c->placeds = ovl_xcalloc(1, sizeof(*c->placeds));
	struct ovl_placeds *ps = c->placeds;
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 8;
		ps->v = ovl_xrealloc(ps->v, ps->cap * sizeof(*ps->v));
	}
	struct wait *w = &ps->v[ps->n++];
	*w = (struct wait){
		.path = ovl_xstrndup(c->path, c->pathlen),
		.pathlen = c->pathlen,
		.p = { .seq = c->r->seq, .layer = layer, .st = *st, .found = -1 },
		.judge = judge,
	};
	if (arglen) {
		w->arg = ovl_xmalloc(arglen);
		memcpy(w->arg, arg, arglen);
	}
	/* Else the walk's first, whatever the cache holds. */
	int found = ovl_ctx_sure_path(c, layer, fd, st, where, sizeof(where));
	if (found > 0) {
		w->p.found = found;
		w->where = ovl_xstrdup(where);
	} else {
		w->finding = true;
	}
}

void ovl_placeds_resolve(struct ovl_ctx *c)
{
	struct ovl_placeds *ps = c->placeds;
	struct ovl_inofind *f = NULL;

	if (!ps)
		return;
	for (size_t i = 0; i < ps->n; i++) {
		struct wait *w = &ps->v[i];
		if (!w->finding)
			continue;
		if (!f)
			f = ovl_inofind_new();
		w->find = ovl_inofind_want(f, w->p.layer, w->p.st.st_dev, w->p.st.st_ino);
	}
	if (f)
		ovl_inofind_run(f, c->s, c->max_depth);
	for (size_t i = 0; i < ps->n; i++) {
		struct wait *w = &ps->v[i];
		const char *where = w->where;
		if (w->finding)
			w->p.found = ovl_inofind_result(f, w->find, &where);
		w->p.where = w->p.found > 0 ? where : NULL;
		w->p.arg = w->arg;
		ovl_ctx_set_path(c, w->path, w->pathlen);
		w->judge(c, &w->p);
	}
	ovl_ctx_set_path(c, "/", 1);
	ovl_inofind_free(f);
	ovl_placeds_free(c);
}

void ovl_placeds_free(struct ovl_ctx *c)
{
	struct ovl_placeds *ps = c->placeds;

	if (!ps)
		return;
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->v[i].path);
		free(ps->v[i].where);
		free(ps->v[i].arg);
	}
	free(ps->v);
	free(ps);
	c->placeds = NULL;
}
