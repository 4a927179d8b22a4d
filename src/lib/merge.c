/*
 * Merged-view lookup: where the kernel continues below an entry. Every
 * access is relative to a dirfd of a layer, with O_NOFOLLOW; absolute
 * redirects are walked component by component from the layer root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/lookup.h"
#include "overlay/redirect.h"
#include "overlay/util.h"
#include "overlay/xattr.h"
#include "merge.h"

void ovl_below_init(struct ovl_below *b, const struct ovl_stack *s)
{
	b->n = 0;
	b->d = ovl_xcalloc((size_t)s->nlayers + 1, sizeof(*b->d));
}

void ovl_below_release(struct ovl_below *b)
{
	for (int i = 0; i < b->n; i++)
		if (b->d[i].fd >= 0)
			close(b->d[i].fd);
	b->n = 0;
}

void ovl_below_free(struct ovl_below *b)
{
	ovl_below_release(b);
	free(b->d);
	b->d = NULL;
}

static void below_add(struct ovl_below *b, int layer, int fd)
{
	b->d[b->n].layer = layer;
	b->d[b->n].fd = fd;
	b->n++;
}

void ovl_below_root(struct ovl_below *b, const struct ovl_stack *s, int layer)
{
	ovl_below_release(b);
	for (int i = layer + 1; i <= s->nlower; i++) {
		int fd = openat(s->layers[i].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			below_add(b, i, fd);
	}
}

static char opaque_val(const struct ovl_stack *s, int dirfd, const char *name)
{
	char v[4];
	ssize_t n = ovl_xattr_get_at(dirfd, name, ovl_xattr_name(s->ns, OVL_XA_OPAQUE),
				     v, sizeof(v));
	return n == 1 ? v[0] : 0;
}

static bool has_xattr(const struct ovl_stack *s, int dirfd, const char *name,
		      enum ovl_xattr_id id)
{
	char v[1];
	ssize_t n = ovl_xattr_get_at(dirfd, name, ovl_xattr_name(s->ns, id), v, 0);
	(void)v;
	return n >= 0;
}

/* Redirect of a lower entry, validated; NULL when none or invalid. */
static char *read_redirect(const struct ovl_stack *s, int dirfd, const char *name)
{
	char buf[OVL_XATTR_MAX + 1];
	bool abs;
	ssize_t n = ovl_xattr_get_at(dirfd, name, ovl_xattr_name(s->ns, OVL_XA_REDIRECT),
				     buf, OVL_XATTR_MAX);
	if (n <= 0 || ovl_redirect_parse(buf, (size_t)n, &abs) != OVL_RD_OK)
		return NULL;
	return ovl_xstrndup(buf, (size_t)n);
}

static bool is_xattr_whiteout(const struct ovl_stack *s, int dirfd, const char *name,
			      const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_size == 0 &&
	       has_xattr(s, dirfd, name, OVL_XA_WHITEOUT);
}

/* The lookup state as it moves down the layers. */
struct walk_name {
	char *name;		/* current name: one component, or "/a/b" */
	bool absolute;
};

static void name_set(struct walk_name *w, const char *v)
{
	free(w->name);
	w->name = ovl_xstrdup(v);
	w->absolute = v[0] == '/';
}

/* A relative redirect replaces the last component of the current name. */
static void name_apply_redirect(struct walk_name *w, const char *rd)
{
	if (rd[0] == '/' || !w->absolute) {
		name_set(w, rd);
		return;
	}
	char *slash = strrchr(w->name, '/');
	size_t keep = (size_t)(slash - w->name) + 1;
	char *n = ovl_xmalloc(keep + strlen(rd) + 1);
	memcpy(n, w->name, keep);
	strcpy(n + keep, rd);
	free(w->name);
	w->name = n;
}

struct step {
	enum ovl_hit_kind kind;
	struct stat st;
	int parentfd;		/* dir holding the entry (owned when != base) */
	const char *leaf;	/* name of the entry in parentfd */
	bool stop;		/* no layer below may contribute */
	bool opaque;
};

/*
 * Look the current name up in one layer from base (a merged dir of the
 * parent, or the layer root for absolute names). Intermediate components
 * must be dirs; whiteouts and non-dirs on the way stop the search.
 */
static int step_layer(const struct ovl_stack *s, int base, const struct walk_name *w,
		      bool want_dir, struct step *st, char *leafbuf, size_t leafsize)
{
	int fd = base;
	const char *p = w->absolute ? w->name + 1 : w->name;

	memset(st, 0, sizeof(*st));
	st->kind = OVL_HIT_NONE;
	st->parentfd = base;
	for (;;) {
		const char *slash = w->absolute ? strchr(p, '/') : NULL;
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		bool last = !slash;

		if (len >= leafsize) {
			st->stop = true;
			break;
		}
		memcpy(leafbuf, p, len);
		leafbuf[len] = '\0';
		if (ovl_stat_at(fd, leafbuf, &st->st) < 0) {
			if (errno != ENOENT && errno != ENOTDIR && errno != ENAMETOOLONG)
				goto fail;
			break;
		}
		if (ovl_is_whiteout_stat(&st->st) || is_xattr_whiteout(s, fd, leafbuf, &st->st)) {
			st->stop = st->opaque = true;
			if (last) {
				st->kind = OVL_HIT_WHITEOUT;
				st->parentfd = fd;
				st->leaf = leafbuf;
				return 0;
			}
			break;
		}
		if (!S_ISDIR(st->st.st_mode)) {
			if (!last || want_dir) {
				st->stop = true;
				if (last) {
					st->kind = OVL_HIT_FILE;
					st->parentfd = fd;
					st->leaf = leafbuf;
					return 0;
				}
				break;
			}
			st->kind = OVL_HIT_FILE;
			st->parentfd = fd;
			st->leaf = leafbuf;
			return 0;
		}
		if (last) {
			st->kind = OVL_HIT_DIR;
			st->parentfd = fd;
			st->leaf = leafbuf;
			if (opaque_val(s, fd, leafbuf) == 'y')
				st->stop = st->opaque = true;
			return 0;
		}
		if (opaque_val(s, fd, leafbuf) == 'y')
			st->stop = true;
		int next = openat(fd, leafbuf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			goto fail;
		if (fd != base)
			close(fd);
		fd = next;
		p = slash + 1;
	}
	/* Not found in this layer (or stopped on the way). */
	if (fd != base)
		close(fd);
	st->parentfd = base;
	return 0;
fail:
	if (fd != base)
		close(fd);
	return -1;
}

static void step_done(struct step *st, int base)
{
	if (st->parentfd >= 0 && st->parentfd != base)
		close(st->parentfd);
	st->parentfd = -1;
}

/* Look for the data inode of an absolute redirect in the data-only layers. */
static void lookup_dataonly(const struct ovl_stack *s, const char *path,
			    bool want_fd, struct ovl_lookup_res *res)
{
	struct walk_name w = { .name = (char *)path, .absolute = true };
	char leaf[256];

	res->data_status = OVL_DATA_ONLY_MISSING;
	for (int i = s->nlower + 1; i < s->nlayers; i++) {
		struct step st;
		int root = s->layers[i].fd;

		if (step_layer(s, root, &w, false, &st, leaf, sizeof(leaf)) < 0)
			continue;
		if (st.kind == OVL_HIT_FILE) {
			if (S_ISREG(st.st.st_mode)) {
				res->data_layer = i;
				res->data_st = st.st;
				if (want_fd)
					res->data_fd = openat(st.parentfd, st.leaf,
							      O_PATH | O_NOFOLLOW | O_CLOEXEC);
				res->data_status = OVL_DATA_OK;
				res->data_via_dataonly = true;
			} else {
				res->data_status = OVL_DATA_NOT_REG;
			}
			step_done(&st, root);
			return;
		}
		step_done(&st, root);
	}
}

int ovl_merge_lookup(const struct ovl_stack *s, const struct ovl_below *parent,
		     const struct ovl_lookup_req *req, struct ovl_below *below,
		     struct ovl_lookup_res *res)
{
	struct walk_name w = { NULL, false };
	char leaf[256];
	int ret = 0;
	bool metacopy_seen = req->want_data;	/* the entry itself is metacopy */
	bool use_roots = false;
	int last_layer = req->layer;

	memset(res, 0, sizeof(*res));
	res->first = OVL_HIT_NONE;
	res->first_layer = -1;
	res->data_layer = -1;
	res->data_fd = -1;
	res->data_status = OVL_DATA_MISSING;
	if (below)
		ovl_below_release(below);

	name_set(&w, req->redirect ? req->redirect : req->name);
	if (req->redirect) {
		res->via_redirect = true;
		use_roots = w.absolute;
	}

	/*
	 * Relative names move down the parent's merged dirs; once a name is
	 * absolute the search continues from the roots of the layers below
	 * the last one searched, as the kernel switches to the root stack.
	 */
	for (int i = 0;; i++) {
		int layer, base;

		if (use_roots) {
			layer = last_layer + 1;
			if (layer > s->nlower)
				break;
			base = s->layers[layer].fd;
		} else {
			if (i >= parent->n)
				break;
			layer = parent->d[i].layer;
			base = parent->d[i].fd;
		}
		last_layer = layer;

		struct step st;
		if (step_layer(s, base, &w, req->is_dir, &st, leaf, sizeof(leaf)) < 0) {
			ret = -1;
			break;
		}
		if (st.kind != OVL_HIT_NONE && res->first == OVL_HIT_NONE) {
			res->first = st.kind;
			res->first_layer = layer;
			res->first_st = st.st;
			if (req->want_fh && st.kind != OVL_HIT_WHITEOUT)
				res->first_fh_ok = ovl_fh_of_at(st.parentfd, st.leaf,
								s->layers[layer].uuid,
								&res->first_fh) == 0;
		}
		if (st.kind == OVL_HIT_DIR && req->is_dir) {
			if (below) {
				int fd = openat(st.parentfd, st.leaf,
						O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (fd >= 0)
					below_add(below, layer, fd);
			}
			if (!st.stop && s->redirect_follow) {
				char *rd = read_redirect(s, st.parentfd, st.leaf);
				if (rd) {
					name_apply_redirect(&w, rd);
					res->via_redirect = true;
					free(rd);
					if (w.absolute)
						use_roots = true;
				}
			}
		} else if (st.kind == OVL_HIT_FILE && !req->is_dir && metacopy_seen) {
			if (!S_ISREG(st.st.st_mode)) {
				res->data_status = OVL_DATA_NOT_REG;
				step_done(&st, base);
				break;
			}
			if (!has_xattr(s, st.parentfd, st.leaf, OVL_XA_METACOPY)) {
				res->data_layer = layer;
				res->data_st = st.st;
				if (req->want_data_fd)
					res->data_fd = openat(st.parentfd, st.leaf,
							      O_PATH | O_NOFOLLOW | O_CLOEXEC);
				res->data_status = OVL_DATA_OK;
				step_done(&st, base);
				break;
			}
			/* A metacopy file in a lower layer: its data is further down. */
			char *rd = read_redirect(s, st.parentfd, st.leaf);
			if (rd) {
				name_apply_redirect(&w, rd);
				res->via_redirect = true;
				free(rd);
				if (w.absolute)
					use_roots = true;
			}
			step_done(&st, base);
			continue;
		} else if (st.kind == OVL_HIT_DIR && !req->is_dir && metacopy_seen) {
			res->data_status = OVL_DATA_NOT_REG;
			step_done(&st, base);
			break;
		}
		bool stop = st.stop || (st.kind != OVL_HIT_NONE && !req->is_dir) ||
			    (st.kind == OVL_HIT_FILE);
		step_done(&st, base);
		if (stop)
			break;
	}

	/* A metacopy chain that ends on an absolute name may reach data layers. */
	if (metacopy_seen && res->data_status == OVL_DATA_MISSING && w.absolute &&
	    s->ndata > 0 && ret == 0)
		lookup_dataonly(s, w.name, req->want_data_fd, res);

	free(w.name);
	return ret;
}

enum ovl_hit_kind ovl_merge_path_kind(const struct ovl_stack *s, int layer,
				      const char *path, bool *covered)
{
	struct walk_name w = { .name = (char *)path, .absolute = true };
	struct step st;
	char leaf[256];
	int root = s->layers[layer].fd;

	*covered = false;
	if (step_layer(s, root, &w, false, &st, leaf, sizeof(leaf)) < 0)
		return OVL_HIT_NONE;
	enum ovl_hit_kind k = st.kind;
	if (k == OVL_HIT_NONE)
		*covered = st.stop;
	else if (k == OVL_HIT_DIR) {
		char *rd = read_redirect(s, st.parentfd, st.leaf);
		*covered = st.opaque || rd != NULL;
		free(rd);
	} else {
		*covered = true;
	}
	step_done(&st, root);
	return k;
}
