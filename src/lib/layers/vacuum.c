/*
 * vacuum's plan: the upper entries that change nothing of the merged
 * view. The check walker visits every upper entry with the lookup of
 * what lies below it (a hook, as the change list does); the comparison
 * is made there, while the lower dirs are open. A dir goes only when
 * all of its upper entries go; removals come children first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/copyup.h"
#include "overlay/fsck.h"
#include "overlay/lookup.h"
#include "overlay/util.h"
#include "overlay/xattr_copy.h"
#include "check/internal.h"
#include "walk/walk.h"
#include "internal.h"

struct ventry {
	char *path;
	long parent;		/* index of its dir, -1 below the root */
	bool dir, removable;
	unsigned long keep;	/* a dir's entries that stay */
	int src_layer;
	unsigned long long bytes;
	const char *why;
};

struct vscan {
	struct ventry *v;
	size_t n, cap;
	long *dirs;		/* the open dirs of the walk, root side first */
	size_t ndirs, dcap;
	bool partial;
};

/* The lower dir of `layer` that merges with the entry's dir. */
static int below_fd(const struct ovl_below *b, int layer)
{
	for (int k = 0; k < b->n; k++)
		if (b->d[k].layer == layer)
			return b->d[k].fd;
	return -1;
}

/* Is that lower dir the one at the same path in its layer (no redirect on
 * the way)? Undo makes a removed entry again from that path. */
static bool same_path(const struct ovl_stack *s, int layer, int fd, const char *dirpath,
		      size_t len)
{
	struct stat a, b;
	int pfd = len <= 1 ? fcntl(s->layers[layer].fd, F_DUPFD_CLOEXEC, 0)
			   : ovl_open_beneath(s->layers[layer].fd, dirpath + 1, len - 1,
					      O_PATH | O_DIRECTORY);
	bool same = pfd >= 0 && fstat(pfd, &a) == 0 && fstat(fd, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino;

	ovl_close_keep_errno(pfd);
	return same;
}

static bool same_meta(const struct stat *a, const struct stat *b, bool dir)
{
	return a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       (dir || (a->st_size == b->st_size && a->st_rdev == b->st_rdev &&
			a->st_nlink == 1 && b->st_nlink == 1));
}

/* Does the lower entry carry overlay xattrs of its own (a stub, a redirect)? */
static bool has_overlay_xattrs(int dfd, const char *name, enum ovl_ns ns)
{
	struct ovl_xattrs x;
	bool any;

	if (ovl_xattrs_read(dfd, name, ns, &x) < 0)
		return true;
	any = x.present || x.other_ns || x.escaped || x.unknown;
	ovl_xattrs_free(&x);
	return any;
}

static bool same_data(int adir, int bdir, const char *name, const struct stat *st)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	int a = openat(adir, name, flags), b = openat(bdir, name, flags);
	struct stat as, bs;
	bool same = a >= 0 && b >= 0 && fstat(a, &as) == 0 && fstat(b, &bs) == 0 &&
		    S_ISREG(as.st_mode) && S_ISREG(bs.st_mode) && as.st_size == st->st_size &&
		    bs.st_size == st->st_size && ovl_copyup_compare(a, b, st->st_size) == 0;

	ovl_close_keep_errno(a);
	ovl_close_keep_errno(b);
	return same;
}

static bool same_target(int adir, int bdir, const char *name)
{
	char x[4096], y[4096];
	ssize_t n = readlinkat(adir, name, x, sizeof(x));
	ssize_t m = readlinkat(bdir, name, y, sizeof(y));

	return n >= 0 && n == m && !memcmp(x, y, (size_t)n);
}

/* Why an upper entry changes nothing, or NULL when it does. */
static const char *unchanging(struct ovl_ctx *c, struct ovl_node *n,
			      const struct ovl_lookup_res *res, int *src_layer)
{
	const struct stat *st = &n->st;
	bool dir = S_ISDIR(st->st_mode);
	bool metacopy = S_ISREG(st->st_mode) && ovl_xattrs_has(&n->xa, OVL_XA_METACOPY);

	/* a whiteout over nothing is fsck.overlay's WH_ORPHAN: refused before */
	if (n->whiteout || n->xwhiteout || ovl_xattrs_has(&n->xa, OVL_XA_REDIRECT) || res->via_redirect ||
	    res->first_layer <= 0 || (dir && n->frame && n->frame->opaque == 'y') ||
	    (dir && c->s->nfs_export) || !n->parent)
		return NULL;
	if (res->first != (dir ? OVL_HIT_DIR : OVL_HIT_FILE) ||
	    !same_meta(st, &res->first_st, dir))
		return NULL;
	int bfd = below_fd(&n->parent->below, res->first_layer);
	if (bfd < 0 || !same_path(c->s, res->first_layer, bfd, c->path,
				  n->parent->pathlen) ||
	    has_overlay_xattrs(bfd, n->name, c->s->ns) ||
	    ovl_xattr_compare(n->dirfd, n->name, bfd, n->name, c->s->ns) != 0)
		return NULL;
	*src_layer = res->first_layer;
	if (dir)
		return "a dir equal to the lower dir";
	if (metacopy)
		return res->data_status == OVL_DATA_OK && res->data_layer == res->first_layer
		       ? "metacopy, metadata equal to the lower file" : NULL;
	if (S_ISREG(st->st_mode))
		return same_data(n->dirfd, bfd, n->name, st) ? "a copy equal to the lower file"
							      : NULL;
	if (S_ISLNK(st->st_mode))
		return same_target(n->dirfd, bfd, n->name) ? "a symlink equal to the lower one"
							    : NULL;
	return "equal to the lower entry";
}

static void hook(struct ovl_ctx *c, struct ovl_node *n, const struct ovl_lookup_res *res)
{
	struct vscan *v = c->hook_arg;

	/* the walk is depth first: the dirs not above this entry are done */
	while (v->ndirs) {
		const char *dp = v->v[v->dirs[v->ndirs - 1]].path;
		size_t dl = strlen(dp);
		if (c->pathlen > dl && !strncmp(c->path, dp, dl) && c->path[dl] == '/')
			break;
		v->ndirs--;
	}
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 256;
		v->v = ovl_xrealloc(v->v, v->cap * sizeof(*v->v));
	}
	struct ventry *e = &v->v[v->n];
	memset(e, 0, sizeof(*e));
	e->path = ovl_xstrndup(c->path, c->pathlen);
	e->parent = v->ndirs ? v->dirs[v->ndirs - 1] : -1;
	e->dir = S_ISDIR(n->st.st_mode);
	e->why = unchanging(c, n, res, &e->src_layer);
	e->removable = e->why != NULL;
	e->bytes = e->dir ? 0 : (unsigned long long)n->st.st_blocks * 512;
	if (e->dir) {
		if (v->ndirs == v->dcap) {
			v->dcap = v->dcap ? 2 * v->dcap : 64;
			v->dirs = ovl_xrealloc(v->dirs, v->dcap * sizeof(*v->dirs));
		}
		v->dirs[v->ndirs++] = (long)v->n;
	}
	v->n++;
}

static void add_removal(struct ovl_layers_plan *p, const struct ventry *e)
{
	size_t pl = strlen(e->path);
	unsigned char *val = ovl_xmalloc(pl + 1);

	/* the lower entry it equals: its layer, at the same path */
	val[0] = (unsigned char)e->src_layer;
	memcpy(val + 1, e->path, pl);
	ovl_layers_plan_add(p, OVL_FIX_RM_COPY, 0, e->path, val, pl + 1, e->bytes, e->why);
	free(val);
}

int ovl_layers_vacuum_plan(struct ovl_stack *s, struct ovl_layers_plan *p)
{
	struct ovl_report r;
	struct ovl_fsck_opts o = { .upper_only = true };
	struct ovl_fsck_stats stats;
	struct ovl_ctx c;
	struct vscan v = { 0 };
	FILE *null = fopen("/dev/null", "w");

	if (!null)
		return -1;
	if (!s->has_upper) {
		fclose(null);
		return 0;
	}
	ovl_report_init(&r, OVL_MODE_NO, null);
	ovl_ctx_init(&c, s, &r, &o, &stats);
	c.hook = hook;
	c.hook_arg = &v;
	ovl_walk_layer(&c, 0);
	ovl_ctx_free(&c);
	fclose(null);
	p->partial = r.count[PR_LY_UNREADABLE] > 0;

	/* a dir stays when anything in it stays */
	for (size_t i = v.n; i-- > 0;) {
		struct ventry *e = &v.v[i];
		if (e->dir && e->keep)
			e->removable = false;
		if (!e->removable && e->parent >= 0)
			v.v[e->parent].keep++;
	}
	/* children first, siblings in walk order: a dir once the walk left it */
	long *open = ovl_xmalloc((v.n + 1) * sizeof(*open));
	size_t nopen = 0;
	for (size_t i = 0; i <= v.n; i++) {
		struct ventry *e = i < v.n ? &v.v[i] : NULL;
		while (nopen && (!e || open[nopen - 1] != e->parent)) {
			struct ventry *d = &v.v[open[--nopen]];
			if (d->removable)
				add_removal(p, d);
		}
		if (e && e->dir)
			open[nopen++] = (long)i;
		else if (e && e->removable)
			add_removal(p, e);
	}
	free(open);
	for (size_t i = 0; i < v.n; i++)
		free(v.v[i].path);
	free(v.v);
	free(v.dirs);
	return 0;
}
