/*
 * export: the upper's changes as an OCI image layer (a tar, written with
 * libarchive in pax format), to be applied over the same lower layers.
 *
 * What the upper holds becomes tar entries: a whiteout that hides
 * something is DIR/.wh.NAME, an opaque dir is DIR/ with DIR/.wh..wh..opq,
 * a metacopy file carries the data of its lower data file, upper hard
 * links are tar hard links, xattrs (but the overlay's) are pax records.
 * A renamed dir (a redirect) has no tar form: it is written opaque with
 * the whole merged content it shows (its old name's whiteout is in the
 * upper already). A lower hard link the index shows copied up under
 * another name is a tar hard link to that name.
 *
 * Reproducible: entries sorted by path, parents first; no atime, ctime,
 * user or group names, nothing of the machine or the time of the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "overlay/fsck.h"
#include "overlay/lookup.h"
#include "overlay/mview.h"
#include "overlay/util.h"
#include "overlay/xattr_copy.h"
#include "../check/internal.h"
#include "../repair_internal.h"
#include "../walk.h"
#include "internal.h"

enum xkind { X_DIR, X_FILE, X_LINK, X_SPECIAL, X_WHITEOUT, X_OPAQUE };

struct xentry {
	char *path;		/* "/a/b" in the merged view */
	enum xkind kind;
	struct stat st;		/* the metadata the merged view shows */
	bool meta_upper;	/* xattrs and target read at this upper path; else
				 * where the merged view takes the entry from */
	bool data_upper;	/* data read at this upper path; else through
				 * the merged view (a metacopy file's lower data) */
	char *target;		/* a symlink's */
	const char *hardlink;	/* an earlier entry's path: a tar hard link */
	unsigned long long key_dev, key_ino;	/* hard-link identity (nlink > 1) */
};

struct xlist {
	struct xentry *v;
	size_t n, cap;
	struct ovl_stack *s;
	char **expand;		/* renamed dirs: written whole from the merged view */
	size_t nexpand;
	bool partial;
};

static struct xentry *add(struct xlist *x, const char *path, size_t len, enum xkind kind,
			  const struct stat *st)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 256;
		x->v = ovl_xrealloc(x->v, x->cap * sizeof(*x->v));
	}
	struct xentry *e = &x->v[x->n++];
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

static enum xkind kind_of(mode_t m)
{
	return S_ISDIR(m) ? X_DIR : S_ISREG(m) ? X_FILE : S_ISLNK(m) ? X_LINK : X_SPECIAL;
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
static bool expanded(const struct xlist *x, const char *path, size_t len)
{
	for (size_t i = 0; i < x->nexpand; i++) {
		size_t el = strlen(x->expand[i]);
		if (len >= el && !strncmp(path, x->expand[i], el) && (len == el || path[el] == '/'))
			return true;
	}
	return false;
}

static void hook(struct ovl_ctx *c, struct ovl_node *n, const struct ovl_lookup_res *res)
{
	struct xlist *x = c->hook_arg;
	const char *p = c->path;
	size_t len = c->pathlen;

	if (expanded(x, p, len))
		return;
	if (n->whiteout || n->xwhiteout) {
		if (res->first == OVL_HIT_DIR || res->first == OVL_HIT_FILE)
			add(x, p, len, X_WHITEOUT, &n->st);
		return;
	}
	struct xentry *e = add(x, p, len, kind_of(n->st.st_mode), &n->st);
	e->meta_upper = e->data_upper = true;
	if (S_ISDIR(n->st.st_mode)) {
		bool opaque = n->frame && n->frame->opaque == 'y';
		bool renamed = !opaque && res->via_redirect && res->first == OVL_HIT_DIR;
		if (opaque || renamed)
			add(x, p, len, X_OPAQUE, &n->st);
		if (renamed) {
			x->expand = ovl_xrealloc(x->expand, (x->nexpand + 1) * sizeof(*x->expand));
			x->expand[x->nexpand++] = ovl_xstrndup(p, len);
		}
	} else if (S_ISREG(n->st.st_mode) && ovl_xattrs_has(&n->xa, OVL_XA_METACOPY)) {
		e->data_upper = false;	/* its data is below */
	} else if (S_ISLNK(n->st.st_mode)) {
		char t[4096];
		ssize_t tl = readlinkat(n->dirfd, n->name, t, sizeof(t) - 1);
		t[tl < 0 ? 0 : tl] = '\0';
		e->target = ovl_xstrdup(t);
	}
}

/* A renamed dir's whole merged content, as the merged view lists it. */
static void expand_dir(struct xlist *x, const char *path, int depth)
{
	struct ovl_mdir d;

	if (depth > 512 || ovl_mview_list(x->s, path, false, &d) < 0) {
		x->partial = true;
		return;
	}
	for (size_t i = 0; i < d.n; i++) {
		const struct ovl_mentry *m = &d.e[i];
		char *cp = child_path(path, m->name);
		struct xentry *e = add(x, cp, strlen(cp), kind_of(m->st.st_mode), &m->st);
		/* an entry of the upper dir: at the same path there */
		if (m->layer == 0 && !(m->flags & OVL_ME_INDEXED)) {
			e->meta_upper = true;
			e->data_upper = !(m->flags & OVL_ME_METACOPY);
		}
		if ((m->flags & OVL_ME_OPAQUE) && S_ISDIR(m->st.st_mode) && m->layer == 0)
			add(x, cp, strlen(cp), X_OPAQUE, &m->st);
		if (S_ISDIR(m->st.st_mode))
			expand_dir(x, cp, depth + 1);
		free(cp);
	}
	ovl_mdir_free(&d);
}

/* Lower hard links the index shows copied up under another name. */
static void indexed(const char *path, const struct ovl_mentry *m, void *arg)
{
	struct xlist *x = arg;

	if (!expanded(x, path, strlen(path)))
		add(x, path, strlen(path), kind_of(m->st.st_mode), &m->st);
}

/* Parents before children, names in byte order ('/' first). */
static int cmp_entries(const void *a, const void *b)
{
	const struct xentry *x = a, *y = b;
	const unsigned char *p = (const unsigned char *)x->path, *q = (const unsigned char *)y->path;

	for (; *p && *p == *q; p++, q++)
		;
	if (*p != *q)
		return !*p ? -1 : !*q ? 1 : *p == '/' ? -1 : *q == '/' ? 1 : *p - *q;
	/* the same path: a dir before its opaque marker */
	return (int)x->kind - (int)y->kind;
}

static void free_list(struct xlist *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].path);
		free(x->v[i].target);
	}
	free(x->v);
	for (size_t i = 0; i < x->nexpand; i++)
		free(x->expand[i]);
	free(x->expand);
	memset(x, 0, sizeof(*x));
}

static const char *kind_why[] = {
	[X_DIR] = "dir", [X_FILE] = "file", [X_LINK] = "symlink", [X_SPECIAL] = "special",
	[X_WHITEOUT] = "whiteout", [X_OPAQUE] = "opaque",
};

/* The entries, sorted, their hard links resolved. */
static int collect(struct ovl_stack *s, struct xlist *x)
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
	qsort(x->v, x->n, sizeof(*x->v), cmp_entries);
	/* the first name of an inode carries its data, the others link to it */
	for (size_t i = 0; i < x->n; i++) {
		struct xentry *e = &x->v[i];
		if (!e->key_ino || e->kind == X_OPAQUE || e->kind == X_WHITEOUT)
			continue;
		for (size_t k = 0; k < i; k++)
			if (x->v[k].key_ino == e->key_ino && x->v[k].key_dev == e->key_dev &&
			    !x->v[k].hardlink && x->v[k].kind == e->kind) {
				e->hardlink = x->v[k].path;
				break;
			}
	}
	return 0;
}

int ovl_layers_export_plan(struct ovl_stack *s, struct ovl_layers_plan *p)
{
	struct xlist x;

	if (!s->has_upper)
		return 0;
	if (collect(s, &x) < 0)
		return -1;
	for (size_t i = 0; i < x.n; i++) {
		const struct xentry *e = &x.v[i];
		unsigned long long bytes = e->kind == X_FILE && !e->hardlink
					   ? (unsigned long long)e->st.st_size : 0;
		ovl_layers_plan_add(p, OVL_LSTEP_ADD, 0, e->path, NULL, 0, bytes,
				    e->hardlink ? "hard link" : kind_why[e->kind]);
	}
	p->partial = x.partial;
	free_list(&x);
	return 0;
}

/* ---- the tar ---- */

/* The tar name of an entry: no leading '/'; a whiteout's or opaque
 * marker's OCI name. */
static char *tar_name(const struct xentry *e)
{
	const char *p = e->path + 1;
	const char *slash = strrchr(e->path, '/');
	size_t dl = (size_t)(slash - e->path);	/* "/a" in "/a/b" */
	char *out = ovl_xmalloc(strlen(e->path) + 16);

	if (e->kind == X_WHITEOUT)
		sprintf(out, "%.*s%s.wh.%s", (int)(dl ? dl - 1 : 0), p, dl ? "/" : "", slash + 1);
	else if (e->kind == X_OPAQUE)
		sprintf(out, "%s%s.wh..wh..opq", p, *p ? "/" : "");
	else
		strcpy(out, p);
	return out;
}

/* The dir fd and name an entry's xattrs are read at, or -1: the upper
 * path, or the layer the merged view takes it from. */
static int xattr_place(struct ovl_stack *s, const struct xentry *e, const char **leaf)
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

static int put_xattrs(struct ovl_stack *s, const struct xentry *e, struct archive_entry *ae)
{
	const char *leaf;
	char list[65536];
	int dfd = xattr_place(s, e, &leaf);

	if (dfd < 0)
		return -1;
	ssize_t n = ovl_xattr_list_at(dfd, leaf, list, sizeof(list));
	/* names sorted: the pax records in one order on every run */
	size_t cnt = 0;
	const char *names[1024];
	for (ssize_t i = 0; n > 0 && i < n && cnt < 1024; i += (ssize_t)strlen(list + i) + 1)
		if (ovl_xattr_copied(list + i, s->ns))
			names[cnt++] = list + i;
	for (size_t i = 1; i < cnt; i++)
		for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
			const char *t = names[k];
			names[k] = names[k - 1];
			names[k - 1] = t;
		}
	for (size_t i = 0; i < cnt; i++) {
		static unsigned char val[65536];
		ssize_t v = ovl_xattr_get_at(dfd, leaf, names[i], val, sizeof(val));
		if (v >= 0)
			archive_entry_xattr_add_entry(ae, names[i], val, (size_t)v);
	}
	close(dfd);
	return 0;
}

static int data_fd(struct ovl_stack *s, const struct xentry *e)
{
	if (e->data_upper) {
		const char *leaf;
		int dfd = ovl_fix_open_parent(s->layers[0].fd, e->path, &leaf);
		int fd = dfd >= 0 ? openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
					   O_NOCTTY | O_CLOEXEC) : -1;
		ovl_close_keep_errno(dfd);
		return fd;
	}
	char *dir = ovl_xstrdup(e->path);
	char *slash = strrchr(dir, '/');
	slash[slash == dir ? 1 : 0] = '\0';
	int fd = ovl_mview_open_data(s, dir, strrchr(e->path, '/') + 1);
	free(dir);
	return fd;
}

static int write_data(struct archive *a, int fd, off_t size)
{
	static char buf[1 << 16];
	off_t done = 0;

	while (done < size) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = n < 0 ? errno : EIO;	/* it shrank while read */
			return -1;
		}
		if (n > size - done)
			n = (ssize_t)(size - done);
		if (archive_write_data(a, buf, (size_t)n) != n) {
			errno = EIO;
			return -1;
		}
		done += n;
	}
	return 0;
}

static int write_entry(struct ovl_stack *s, struct archive *a, const struct xentry *e,
		       FILE *err)
{
	struct archive_entry *ae = archive_entry_new();
	char *name = tar_name(e);
	int fd = -1, ret = -1;

	archive_entry_set_pathname(ae, name);
	archive_entry_set_uid(ae, e->st.st_uid);
	archive_entry_set_gid(ae, e->st.st_gid);
	archive_entry_set_mtime(ae, e->st.st_mtim.tv_sec, e->st.st_mtim.tv_nsec);
	if (e->kind == X_WHITEOUT || e->kind == X_OPAQUE) {
		/* OCI: the marker's own metadata means nothing; fixed */
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, 0);
		archive_entry_set_uid(ae, 0);
		archive_entry_set_gid(ae, 0);
		archive_entry_set_mtime(ae, 0, 0);
	} else if (e->hardlink) {
		archive_entry_set_filetype(ae, e->st.st_mode & S_IFMT);
		archive_entry_set_perm(ae, e->st.st_mode & 07777);
		archive_entry_set_hardlink(ae, e->hardlink + 1);
		archive_entry_set_size(ae, 0);
	} else {
		archive_entry_set_filetype(ae, e->st.st_mode & S_IFMT);
		archive_entry_set_perm(ae, e->st.st_mode & 07777);
		archive_entry_set_size(ae, e->kind == X_FILE ? e->st.st_size : 0);
		if (e->kind == X_LINK) {
			if (!e->target) {
				const char *leaf;
				char t[4096];
				int dfd = xattr_place(s, e, &leaf);
				ssize_t tl = dfd >= 0 ? readlinkat(dfd, leaf, t, sizeof(t) - 1) : -1;
				ovl_close_keep_errno(dfd);
				if (tl < 0)
					goto out;
				t[tl] = '\0';
				archive_entry_set_symlink(ae, t);
			} else {
				archive_entry_set_symlink(ae, e->target);
			}
		}
		if (e->kind == X_SPECIAL)
			archive_entry_set_rdev(ae, e->st.st_rdev);
		if (put_xattrs(s, e, ae) < 0)
			goto out;
		if (e->kind == X_FILE && (fd = data_fd(s, e)) < 0)
			goto out;
	}
	if (archive_write_header(a, ae) != ARCHIVE_OK) {
		errno = EIO;
		fprintf(err, "%s: %s\n", name, archive_error_string(a));
		goto out;
	}
	ret = fd >= 0 ? write_data(a, fd, e->st.st_size) : 0;
out:
	if (ret < 0 && errno)
		fprintf(err, "%s: %s\n", name, strerror(errno));
	ovl_close_keep_errno(fd);
	free(name);
	archive_entry_free(ae);
	return ret;
}

int ovl_layers_export_write(struct ovl_stack *s, int out_fd, struct ovl_progress *progress,
			    FILE *err, unsigned long *written)
{
	struct xlist x;
	int ret = 0;

	*written = 0;
	if (!s->has_upper || collect(s, &x) < 0)
		return -1;
	struct archive *a = archive_write_new();
	/* full pax: every entry's mtime to the nanosecond; the last block not
	 * padded, whatever the output is (a file, a pipe) */
	if (!a || archive_write_set_format_pax(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, out_fd) != ARCHIVE_OK) {
		fprintf(err, "cannot start the tar: %s\n", a ? archive_error_string(a) : "no memory");
		if (a)
			archive_write_free(a);
		free_list(&x);
		return -1;
	}
	ovl_progress_pass(progress, 1, "export");
	for (size_t i = 0; i < x.n && !ovl_repair_interrupted; i++) {
		ovl_progress_update(progress, i, x.n, NULL);
		if (write_entry(s, a, &x.v[i], err) < 0) {
			ret = -1;
			break;
		}
		(*written)++;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		fprintf(err, "cannot end the tar: %s\n", archive_error_string(a));
		ret = -1;
	}
	archive_write_free(a);
	ovl_progress_end(progress);
	free_list(&x);
	return ovl_repair_interrupted ? -1 : ret;
}
