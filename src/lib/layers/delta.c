/*
 * The upper's changes as entries: what a layer tar (export) or a new
 * upper without redirects and metacopy (deref) must hold so that, over
 * the same lower layers, the merged view is the same.
 *
 * The check walker visits every upper entry with the lookup of what lies
 * below (a hook): a whiteout that hides something, a dir (opaque, or
 * renamed), a file (a metacopy file's data is below), a symlink, a
 * device. A renamed dir (a redirect) is written whole and opaque from
 * the merged view, for a reader that follows no redirect. A lower hard
 * link the index shows copied up under another name is a hard link of
 * that name. Sorted by path, parents first; the first name of an inode
 * carries it, the others link to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/fsck.h"
#include "overlay/lookup.h"
#include "overlay/mview.h"
#include "overlay/redirect.h"
#include "overlay/util.h"
#include "check/internal.h"
#include "repair/repair_internal.h"
#include "walk/walk.h"
#include "internal.h"

static struct ovl_lentry *add(struct ovl_ldelta *x, const char *path, size_t len, enum ovl_lkind kind,
			  const struct stat *st)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 256;
		x->v = ovl_xrealloc(x->v, x->cap * sizeof(*x->v));
	}
	struct ovl_lentry *e = &x->v[x->n++];
	memset(e, 0, sizeof(*e));
	e->path = ovl_xstrndup(path, len);
	e->kind = kind;
	if (st)
		e->st = *st;
	if (st && !S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		e->key_dev = st->st_dev;
		e->key_ino = st->st_ino;
	}
	return e;
}

static enum ovl_lkind kind_of(mode_t m)
{
	return S_ISDIR(m) ? OVL_LK_DIR : S_ISREG(m) ? OVL_LK_FILE : S_ISLNK(m) ? OVL_LK_LINK : OVL_LK_SPECIAL;
}

/* "/a/b" + "/" + "c" */
static char *child_path(const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	char *p = ovl_xmalloc(dl + strlen(name) + 2);

	sprintf(p, "%s%s%s", dir, dl > 1 ? "/" : "", name);
	return p;
}

/* Is path inside (or at) one of the dirs written whole? */
static bool expanded(const struct ovl_ldelta *x, const char *path, size_t len)
{
	for (size_t i = 0; i < x->nexpand; i++) {
		size_t el = strlen(x->expand[i]);
		if (len >= el && !strncmp(path, x->expand[i], el) && (len == el || path[el] == '/'))
			return true;
	}
	return false;
}

/* A metacopy file's data inode, by the lookup the walk made from its dir:
 * its layer and handle, to open it without a lookup from the root. */
static void data_handle(struct ovl_ctx *c, struct ovl_node *n, struct ovl_lentry *e)
{
	const char *rd = ovl_node_xattr(n, OVL_XA_REDIRECT);
	bool abs;
	struct ovl_lookup_req req = {
		.name = n->name, .want_data = true, .want_data_fd = true, .layer = 0,
		.redirect = rd && ovl_redirect_parse(rd, n->xa.len[OVL_XA_REDIRECT], &abs) ==
				 OVL_RD_OK ? rd : NULL,
	};
	struct ovl_lookup_res res;
	int mnt;

	if (ovl_merge_lookup(c->s, &n->parent->below, &req, NULL, &res) < 0)
		return;
	if (res.data_fd >= 0 && res.data_status == OVL_DATA_OK) {
		struct file_handle *fh = ovl_xmalloc(sizeof(*fh) + MAX_HANDLE_SZ);
		fh->handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(res.data_fd, "", fh, &mnt, AT_EMPTY_PATH) == 0) {
			e->data_fh = fh;
			e->data_layer = res.data_layer;
		} else {
			free(fh);
		}
	}
	if (res.data_fd >= 0)
		close(res.data_fd);
}

static void hook(struct ovl_ctx *c, struct ovl_node *n, const struct ovl_lookup_res *res)
{
	struct ovl_ldelta *x = c->hook_arg;
	const char *p = c->path;
	size_t len = c->pathlen;

	if (expanded(x, p, len))
		return;
	if (n->whiteout || n->xwhiteout) {
		if (res->first == OVL_HIT_DIR || res->first == OVL_HIT_FILE)
			add(x, p, len, OVL_LK_WHITEOUT, &n->st);
		return;
	}
	struct ovl_lentry *e = add(x, p, len, kind_of(n->st.st_mode), &n->st);
	e->meta_upper = e->data_upper = true;
	if (S_ISDIR(n->st.st_mode)) {
		bool opaque = n->frame && n->frame->opaque == 'y';
		bool renamed = !opaque && res->via_redirect && res->first == OVL_HIT_DIR;
		if (opaque || renamed)
			add(x, p, len, OVL_LK_OPAQUE, &n->st);
		if (renamed) {
			x->expand = ovl_xrealloc(x->expand, (x->nexpand + 1) * sizeof(*x->expand));
			x->expand[x->nexpand++] = ovl_xstrndup(p, len);
		}
	} else if (S_ISREG(n->st.st_mode) && ovl_xattrs_has(&n->xa, OVL_XA_METACOPY)) {
		e->data_upper = false;	/* its data is below: its handle, found now */
		data_handle(c, n, e);
	} else if (S_ISLNK(n->st.st_mode)) {
		char t[4096];
		ssize_t tl = readlinkat(n->dirfd, n->name, t, sizeof(t) - 1);
		t[tl < 0 ? 0 : tl] = '\0';
		e->target = ovl_xstrdup(t);
	}
}

/* A renamed dir's whole merged content, as the merged view lists it. */
static void expand_dir(struct ovl_ldelta *x, const char *path, int depth)
{
	struct ovl_mdir d;

	if (depth > 512 || ovl_mview_list(x->s, path, false, &d) < 0) {
		x->partial = true;
		return;
	}
	for (size_t i = 0; i < d.n; i++) {
		const struct ovl_mentry *m = &d.e[i];
		char *cp = child_path(path, m->name);
		struct ovl_lentry *e = add(x, cp, strlen(cp), kind_of(m->st.st_mode), &m->st);
		/* an entry of the upper dir: at the same path there */
		if (m->layer == 0 && !(m->flags & OVL_ME_INDEXED)) {
			e->meta_upper = true;
			e->data_upper = !(m->flags & OVL_ME_METACOPY);
		}
		if ((m->flags & OVL_ME_OPAQUE) && S_ISDIR(m->st.st_mode) && m->layer == 0 &&
		    !x->plain)
			add(x, cp, strlen(cp), OVL_LK_OPAQUE, &m->st);
		if (S_ISDIR(m->st.st_mode))
			expand_dir(x, cp, depth + 1);
		free(cp);
	}
	ovl_mdir_free(&d);
}

/* Lower hard links the index shows copied up under another name. */
static void indexed(const char *path, const struct ovl_mentry *m, void *arg)
{
	struct ovl_ldelta *x = arg;

	if (!expanded(x, path, strlen(path)))
		add(x, path, strlen(path), kind_of(m->st.st_mode), &m->st);
}

/* Parents before children, names in byte order ('/' first). */
static int cmp_entries(const void *a, const void *b)
{
	const struct ovl_lentry *x = a, *y = b;
	const unsigned char *p = (const unsigned char *)x->path, *q = (const unsigned char *)y->path;

	for (; *p && *p == *q; p++, q++)
		;
	if (*p != *q)
		return !*p ? -1 : !*q ? 1 : *p == '/' ? -1 : *q == '/' ? 1 : *p - *q;
	/* the same path: a dir before its opaque marker */
	return (int)x->kind - (int)y->kind;
}

void ovl_ldelta_free(struct ovl_ldelta *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].path);
		free(x->v[i].target);
		free(x->v[i].data_fh);
	}
	for (int i = 0; x->mountfd && i < x->s->nlayers; i++)
		if (x->mountfd[i] >= 0)
			close(x->mountfd[i]);
	free(x->mountfd);
	free(x->v);
	for (size_t i = 0; i < x->nexpand; i++)
		free(x->expand[i]);
	free(x->expand);
	memset(x, 0, sizeof(*x));
}

const char *const ovl_lkind_names[] = {
	[OVL_LK_DIR] = "dir", [OVL_LK_FILE] = "file", [OVL_LK_LINK] = "symlink", [OVL_LK_SPECIAL] = "special",
	[OVL_LK_WHITEOUT] = "whiteout", [OVL_LK_OPAQUE] = "opaque",
};

/* Sorted, parents first; the first name of an inode carries it, the
 * others link to it. */
static void finish(struct ovl_ldelta *x)
{
	qsort(x->v, x->n, sizeof(*x->v), cmp_entries);
	for (size_t i = 0; i < x->n; i++) {
		struct ovl_lentry *e = &x->v[i];
		if (!e->key_ino || e->kind == OVL_LK_OPAQUE || e->kind == OVL_LK_WHITEOUT)
			continue;
		for (size_t k = 0; k < i; k++)
			if (x->v[k].key_ino == e->key_ino && x->v[k].key_dev == e->key_dev &&
			    !x->v[k].hardlink && x->v[k].kind == e->kind) {
				e->hardlink = x->v[k].path;
				break;
			}
	}
}

int ovl_ldelta_collect(struct ovl_stack *s, struct ovl_ldelta *x)
{
	struct ovl_report r;
	struct ovl_fsck_opts o = { .upper_only = true };
	struct ovl_fsck_stats stats;
	struct ovl_ctx c;
	FILE *null = fopen("/dev/null", "w");

	memset(x, 0, sizeof(*x));
	x->s = s;
	if (!null)
		return -1;
	ovl_report_init(&r, OVL_MODE_NO, null);
	ovl_ctx_init(&c, s, &r, &o, &stats);
	c.hook = hook;
	c.hook_arg = x;
	ovl_walk_layer(&c, 0);
	ovl_ctx_free(&c);
	fclose(null);
	x->partial = r.count[PR_LY_UNREADABLE] > 0;
	size_t walked = x->nexpand;
	for (size_t i = 0; i < walked; i++)
		expand_dir(x, x->expand[i], 0);
	ovl_mview_indexed(s, indexed, x);
	finish(x);
	return 0;
}

int ovl_ldelta_collect_view(struct ovl_stack *s, struct ovl_ldelta *x)
{
	memset(x, 0, sizeof(*x));
	x->s = s;
	x->plain = true;
	expand_dir(x, "/", 0);
	finish(x);
	return 0;
}

int ovl_lentry_meta_dir(struct ovl_stack *s, const struct ovl_lentry *e, const char **leaf)
{
	if (e->meta_upper)
		return ovl_fix_open_parent(s->layers[0].fd, e->path, leaf);
	char *dir = ovl_xstrdup(e->path);
	char *slash = strrchr(dir, '/');
	int layer;
	slash[slash == dir ? 1 : 0] = '\0';
	*leaf = strrchr(e->path, '/') + 1;
	int fd = ovl_mview_entry_dir(s, dir, *leaf, &layer);
	free(dir);
	return fd;
}

int ovl_lentry_data(struct ovl_ldelta *x, const struct ovl_lentry *e)
{
	struct ovl_stack *s = x->s;
	struct stat st;

	if (e->data_upper) {
		const char *leaf;
		int dfd = ovl_fix_open_parent(s->layers[0].fd, e->path, &leaf);
		int fd = dfd >= 0 ? openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
					   O_NOCTTY | O_CLOEXEC) : -1;
		ovl_close_keep_errno(dfd);
		return fd;
	}
	if (e->data_fh && e->data_layer > 0 && e->data_layer < s->nlayers) {
		if (!x->mountfd) {
			x->mountfd = ovl_xmalloc((size_t)s->nlayers * sizeof(*x->mountfd));
			for (int i = 0; i < s->nlayers; i++)
				x->mountfd[i] = -1;
		}
		int *m = &x->mountfd[e->data_layer];
		if (*m < 0)
			*m = openat(s->layers[e->data_layer].fd, ".",
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int fd = *m >= 0 ? open_by_handle_at(*m, e->data_fh, O_RDONLY | O_NOFOLLOW |
						     O_NONBLOCK | O_NOCTTY | O_CLOEXEC) : -1;
		/* the handle names a regular file, never anything else */
		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0)
			return fd;
	}
	char *dir = ovl_xstrdup(e->path);
	char *slash = strrchr(dir, '/');
	slash[slash == dir ? 1 : 0] = '\0';
	int fd = ovl_mview_open_data(s, dir, strrchr(e->path, '/') + 1);
	free(dir);
	return fd;
}
