/*
 * The merged view of one dir: found through the layers by merged-view
 * lookups (never a walk), then its dirs read top layer first; the first
 * layer that has a name decides, a whiteout hides it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/lookup.h"
#include "overlay/mview.h"
#include "overlay/fh.h"
#include "overlay/nlink.h"
#include "overlay/redirect.h"
#include "overlay/util.h"
#include "overlay/xattr.h"
#include "core/merge.h"
#include "core/inofind.h"
#include "walk/walk.h"
#include "core/strset.h"

/* A single name of a dir: not "", ".", "..", nor holding a '/'. */
static bool bad_name(const char *name)
{
	return !name[0] || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/');
}

/*
 * The upper dir fd (or -1) and the lower dirs merging below `path`. With
 * `shadow`, when `path` itself is opaque, the lower dirs it hides.
 */
static int find_dir_shadow(struct ovl_stack *s, const char *path, int *upfd,
			   struct ovl_below *below, struct ovl_below *shadow)
{
	int up = s->has_upper ? openat(s->layers[0].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
			      : -1;
	struct ovl_below next;
	const char *p = path;

	ovl_below_root(below, s, s->has_upper ? 0 : 0);
	if (!s->has_upper) {
		/* a lower-only stack: the top lower is the top layer */
		ovl_below_release(below);
		ovl_below_root(below, s, 0);
	}
	ovl_below_init(&next, s);
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchrnul(p, '/');
		char name[256];
		size_t n = (size_t)(e - p);
		if (n >= sizeof(name)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		p = e;
		/* "." and ".." would leave the layer roots: no such merged names */
		if (!strcmp(name, ".") || !strcmp(name, "..")) {
			errno = EINVAL;
			goto fail;
		}

		struct ovl_lookup_req req = { .name = name, .is_dir = true, .layer = 0 };
		struct ovl_lookup_res res;
		struct stat st;
		char rd[OVL_XATTR_MAX + 1];
		bool abs;
		int child = -1;

		if (up >= 0 && ovl_stat_at(up, name, &st) == 0) {
			if (!S_ISDIR(st.st_mode) || ovl_is_whiteout_stat(&st)) {
				errno = ovl_is_whiteout_stat(&st) ? ENOENT : ENOTDIR;
				goto fail;
			}
			char op[2] = { 0 };
			ssize_t ol = ovl_xattr_get_at(up, name, ovl_xattr_name(s->ns, OVL_XA_OPAQUE),
						      op, 1);
			ssize_t rl = ovl_xattr_get_at(up, name, ovl_xattr_name(s->ns, OVL_XA_REDIRECT),
						      rd, OVL_XATTR_MAX);
			if (rl > 0 && s->redirect_follow &&
			    ovl_redirect_parse(rd, (size_t)rl, &abs) == OVL_RD_OK) {
				rd[rl] = '\0';
				req.redirect = rd;
			}
			child = ovl_open_dir_at(up, name);
			if (ol == 1 && op[0] == 'y') {
				ovl_below_release(&next);	/* opaque: nothing below */
				if (shadow && !p[strspn(p, "/")])
					ovl_merge_lookup(s, below, &req, shadow, &res);
			} else if (ovl_merge_lookup(s, below, &req, &next, &res) < 0) {
				goto fail;
			}
		} else {
			if (ovl_merge_lookup(s, below, &req, &next, &res) < 0)
				goto fail;
			if (res.first != OVL_HIT_DIR) {
				errno = res.first == OVL_HIT_FILE ? ENOTDIR : ENOENT;
				goto fail;
			}
		}
		if (up >= 0)
			close(up);
		up = child;
		ovl_below_release(below);
		struct ovl_below t = *below;
		*below = next;
		next = t;
	}
	ovl_below_free(&next);
	*upfd = up;
	return 0;
fail:;
	int err = errno;
	if (up >= 0)
		close(up);
	ovl_below_free(&next);
	errno = err;
	return -1;
}

static int find_dir(struct ovl_stack *s, const char *path, int *upfd, struct ovl_below *below)
{
	return find_dir_shadow(s, path, upfd, below, NULL);
}

/* What find_dir opened, closed; errno kept for the caller's answer. */
static void release_dir(int up, struct ovl_below *below)
{
	int e = errno;

	if (up >= 0)
		close(up);
	ovl_below_free(below);
	errno = e;
}

static void add(struct ovl_mdir *d, size_t *cap, struct ovl_mentry *e)
{
	if (d->n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		d->e = ovl_xrealloc(d->e, *cap * sizeof(*d->e));
	}
	d->e[d->n++] = *e;
}

/* xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx */
static void uuid_text(const uint8_t u[16], char out[37])
{
	char hex[33];

	ovl_hex_encode(u, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* Read and parse the upper origin of `name` into fh; false without one
 * or when it is unreadable (then w says so). */
static bool read_origin(struct ovl_stack *s, int up, const char *name, struct ovl_fh *fh,
			struct ovl_mwhere *w)
{
	unsigned char buf[OVL_XATTR_MAX];
	ssize_t n = ovl_xattr_get_at(up, name, ovl_xattr_name(s->ns, OVL_XA_ORIGIN), buf,
				     sizeof(buf));

	if (n < 0)
		return false;
	enum ovl_fh_err err = ovl_fh_parse(buf, (size_t)n, fh);
	if (err != OVL_FH_OK) {
		w->origin = OVL_WO_BAD;
		w->origin_err = err;
		return false;
	}
	uuid_text(fh->uuid, w->uuid);
	w->origin_fid_type = fh->type;
	w->origin_fid_len = fh->fid_len;
	return true;
}

/* What the origin fh names, against the lower inodes at `name`. */
static void compare_origin(struct ovl_stack *s, const struct ovl_below *below, const char *name,
			   const struct ovl_fh *fh, struct ovl_mwhere *w)
{
	struct ovl_fh here;

	w->origin = OVL_WO_NO_LAYER;
	for (int k = 0; k < below->n; k++) {
		const struct ovl_layer *L = &s->layers[below->d[k].layer];
		if (!ovl_fh_uuid_is_null(fh) && memcmp(L->uuid, fh->uuid, sizeof(L->uuid)))
			continue;
		if (w->origin_layer < 0)
			w->origin_layer = L->idx;
		w->origin = OVL_WO_OTHER;
		if (below->d[k].fd < 0)
			continue;
		if (ovl_fh_of_at(below->d[k].fd, name, fh->uuid, &here) < 0) {
			if (errno != ENOENT && errno != ENOTDIR && w->origin == OVL_WO_OTHER)
				w->origin = OVL_WO_UNCHECKED;
			continue;
		}
		if (ovl_fh_same_fid(fh, &here)) {
			w->origin = OVL_WO_SAME;
			w->origin_layer = L->idx;
			return;
		}
	}
	if (w->origin_layer < 0) {
		struct ovl_layer *L = ovl_stack_layer_by_uuid(s, fh->uuid, 1, s->nlayers - 1);
		w->origin_layer = L ? L->idx : -1;
		if (L)
			w->origin = OVL_WO_OTHER;
	}
}

/* Where the upper entry's redirect leads, by the same lookup as the listing. */
static void redirect_target(struct ovl_stack *s, int up, const struct ovl_below *below,
			    const char *name, const struct stat *st, struct ovl_mwhere *w)
{
	char rd[OVL_XATTR_MAX + 1];
	bool abs;
	ssize_t rl = ovl_xattr_get_at(up, name, ovl_xattr_name(s->ns, OVL_XA_REDIRECT), rd,
				      OVL_XATTR_MAX);

	if (rl <= 0 || ovl_redirect_parse(rd, (size_t)rl, &abs) != OVL_RD_OK ||
	    (S_ISDIR(st->st_mode) && !s->redirect_follow))
		return;
	rd[rl] = '\0';
	struct ovl_lookup_req req = { .name = name, .redirect = rd, .layer = 0,
				      .want_data = S_ISREG(st->st_mode) };
	struct ovl_lookup_res res;
	w->redirect_layer = -1;
	if (ovl_merge_lookup(s, below, &req, NULL, &res) == 0 && res.first != OVL_HIT_NONE)
		w->redirect_layer = res.first_layer;
}

/* OTHER: decode the handle, as the checks do, to say where the inode is
 * now: the kernel's path when it is sure, else found by its number (the
 * kernel names a non-dir only while its cache holds a connected dentry). */
static void origin_now(struct ovl_stack *s, const struct ovl_fh *fh, struct ovl_mwhere *w)
{
	struct stat st;
	struct ovl_ctx c;
	struct ovl_fsck_opts none = { 0 };
	struct ovl_fsck_stats stats;
	int decoded_in, layer = -1;

	w->origin_path[0] = '\0';
	ovl_ctx_init(&c, s, NULL, &none, &stats);	/* only its handle fds are used */
	int fd = ovl_ctx_decode(&c, fh, 1, s->nlower, &st, &decoded_in);
	if (fd >= 0) {
		w->origin_alive = true;
		layer = ovl_ctx_sure_path(&c, decoded_in, fd, &st, w->origin_path,
					  sizeof(w->origin_path));
		close(fd);
	}
	if (fd >= 0 && layer < 0) {
		struct ovl_inofind *f = ovl_inofind_new();
		const char *where;
		size_t id = ovl_inofind_want(f, decoded_in, st.st_dev, st.st_ino);
		ovl_inofind_run(f, s, c.max_depth);
		layer = ovl_inofind_result(f, id, &where);
		if (layer > 0 && strlen(where) < sizeof(w->origin_path))
			memcpy(w->origin_path, where, strlen(where) + 1);
		else
			layer = -1;
		ovl_inofind_free(f);
	}
	if (layer > 0)
		w->origin_layer = layer;
	else
		w->origin_path[0] = '\0';
	ovl_ctx_free(&c);
}

/*
 * The W/index entry of the lower non-dir `name` (lstat `lst`) of `layer`:
 * with the index in use the kernel looks every lower non-dir up there by
 * its file handle, and one found is the overlay inode: a hard link copied
 * up through another name is seen, changed, at this one too. Only a lower
 * inode with other links can have been copied up under another name
 * (with nfs_export every copy-up is indexed, so any). The handle carries
 * the lower fs uuid or a null one (uuid=null/off, or the kernel's choice
 * for one fs), so both names are tried. True with its hex name and lstat
 * when the entry is of the lower's type (another type is a bad index: EIO
 * in the kernel, a problem for fsck.overlay, not shown here).
 */
static bool index_entry(struct ovl_stack *s, int dirfd, const char *name, int layer,
			const struct stat *lst, char hex[OVL_FH_HEX_MAX], struct stat *ist)
{
	static const uint8_t null_uuid[16];
	struct ovl_fh fh;

	if (!s->index || s->indexfd < 0 || layer <= 0 || S_ISDIR(lst->st_mode) ||
	    (lst->st_nlink < 2 && !s->nfs_export) ||
	    ovl_fh_of_at(dirfd, name, s->layers[layer].uuid, &fh) < 0)
		return false;
	for (int i = 0; i < 2; i++) {
		if (i == 1) {
			if (ovl_fh_uuid_is_null(&fh))
				break;
			memcpy(fh.uuid, null_uuid, sizeof(fh.uuid));
		}
		ovl_fh_to_hex(&fh, hex);
		if (ovl_stat_at(s->indexfd, hex, ist) == 0)
			return (ist->st_mode & S_IFMT) == (lst->st_mode & S_IFMT) &&
			       !ovl_is_whiteout_stat(ist);
	}
	return false;
}

/*
 * A lower entry that the index says was copied up: shown as the kernel
 * shows it, the index entry's owner, mode, times and size (its data the
 * upper copy's, or the lower's while it is a metacopy file), its link
 * count from the nlink xattr.
 */
static void follow_index(struct ovl_stack *s, int dirfd, const char *name, struct ovl_mentry *e)
{
	char hex[OVL_FH_HEX_MAX], nl[32];
	struct stat ist;
	struct ovl_nlink parsed;

	if (!index_entry(s, dirfd, name, e->layer, &e->st, hex, &ist))
		return;
	struct stat lst = e->st;
	e->st = ist;	/* its own link count is the kernel's fallback */
	ssize_t n = ovl_xattr_get_at(s->indexfd, hex, ovl_xattr_name(s->ns, OVL_XA_NLINK), nl,
				     sizeof(nl) - 1);
	if (n > 0 && ovl_nlink_parse(nl, (size_t)n, &parsed) == 0) {
		long v = ovl_nlink_apply(&parsed, (long)ist.st_nlink, (long)lst.st_nlink);
		if (v > 0)
			e->st.st_nlink = (nlink_t)v;
	}
	if (ovl_xattr_get_at(s->indexfd, hex, ovl_xattr_name(s->ns, OVL_XA_METACOPY), NULL, 0) >= 0) {
		/* its data is the lower inode's: this entry, or the data a
		 * lower metacopy file leads to */
		if (!(e->flags & OVL_ME_METACOPY))
			e->data_layer = e->layer;
		e->flags |= OVL_ME_METACOPY;
		e->st.st_blocks = lst.st_blocks;
	} else {
		e->flags &= ~OVL_ME_METACOPY;
		e->data_layer = -1;
	}
	e->flags |= OVL_ME_INDEXED | OVL_ME_ORIGIN;
	e->origin = OVL_WO_SAME;	/* its name is this inode's handle */
	if (e->st.st_nlink > 1)
		e->flags |= OVL_ME_HARDLINK;
	e->layer = 0;
}

/* The entry `name` of one layer's dir, with its overlay marks. */
static void describe(struct ovl_stack *s, int dirfd, const char *name, int layer,
		     const struct ovl_below *below, struct ovl_mentry *e)
{
	struct ovl_xattrs xa;

	memset(e, 0, sizeof(*e));
	e->name = ovl_xstrdup(name);
	e->layer = layer;
	e->data_layer = -1;
	if (ovl_stat_at(dirfd, name, &e->st) < 0)
		return;
	if (ovl_xattrs_read(dirfd, name, s->ns, &xa) < 0)
		memset(&xa, 0, sizeof(xa));
	if (ovl_xattrs_has(&xa, OVL_XA_ORIGIN)) {
		e->flags |= OVL_ME_ORIGIN;
		struct ovl_mwhere w = { .origin_layer = -1 };
		struct ovl_fh fh;
		if (layer == 0 && read_origin(s, dirfd, name, &fh, &w))
			compare_origin(s, below, name, &fh, &w);
		e->origin = w.origin;
	}
	if (ovl_xattrs_has(&xa, OVL_XA_IMPURE))
		e->flags |= OVL_ME_IMPURE;
	if (xa.val[OVL_XA_OPAQUE] && xa.val[OVL_XA_OPAQUE][0] == 'y')
		e->flags |= OVL_ME_OPAQUE;
	if (xa.val[OVL_XA_REDIRECT]) {
		e->flags |= OVL_ME_REDIRECT;
		e->redirect = ovl_xstrdup((const char *)xa.val[OVL_XA_REDIRECT]);
	}
	if (!S_ISDIR(e->st.st_mode) && e->st.st_nlink > 1)
		e->flags |= OVL_ME_HARDLINK;
	if (S_ISREG(e->st.st_mode) && ovl_xattrs_has(&xa, OVL_XA_METACOPY)) {
		struct ovl_lookup_req req = { .name = name, .want_data = true, .layer = layer,
					      .redirect = e->redirect };
		struct ovl_lookup_res res;
		e->flags |= OVL_ME_METACOPY;
		if (ovl_merge_lookup(s, below, &req, NULL, &res) == 0 &&
		    res.data_status == OVL_DATA_OK) {
			e->data_layer = res.data_layer;
			e->st.st_blocks = res.data_st.st_blocks;
		}
	}
	if (S_ISDIR(e->st.st_mode) && !(e->flags & OVL_ME_OPAQUE)) {
		struct ovl_lookup_req req = { .name = name, .is_dir = true, .layer = layer,
					      .redirect = e->redirect };
		struct ovl_lookup_res res;
		if (ovl_merge_lookup(s, below, &req, NULL, &res) == 0 && res.first == OVL_HIT_DIR)
			e->flags |= OVL_ME_MERGED;
	}
	ovl_xattrs_free(&xa);
}

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct ovl_mentry *)a)->name, ((const struct ovl_mentry *)b)->name);
}

int ovl_mview_list(struct ovl_stack *s, const char *path, bool hidden, struct ovl_mdir *out)
{
	struct ovl_below below;
	int up = -1;
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	struct ovl_below shadow;
	ovl_below_init(&below, s);
	ovl_below_init(&shadow, s);
	if (find_dir_shadow(s, path, &up, &below, hidden ? &shadow : NULL) < 0) {
		int e = errno;
		ovl_below_free(&below);
		ovl_below_free(&shadow);
		errno = e;
		return -1;
	}
	struct ovl_strset *seen = ovl_strset_new();
	/* top layer first: the upper dir, then the merged lower dirs */
	for (int k = -1; k < below.n; k++) {
		int fd = k < 0 ? up : below.d[k].fd;
		int layer = k < 0 ? 0 : below.d[k].layer;
		size_t n = 0;
		char **names = fd >= 0 ? ovl_dir_names(fd, "", &n) : NULL;
		/* what lies below this layer's dir: the later entries */
		struct ovl_below rest = { .n = below.n - (k + 1), .d = below.d + (k + 1) };

		for (size_t i = 0; i < n; i++) {
			if (!ovl_strset_add(seen, names[i], strlen(names[i])))
				continue;	/* a higher layer has it */
			struct ovl_mentry e;
			describe(s, fd, names[i], layer, &rest, &e);
			bool wh = ovl_is_whiteout_stat(&e.st) ||
				  (S_ISREG(e.st.st_mode) && e.st.st_size == 0 &&
				   ovl_xattr_get_at(fd, names[i],
						    ovl_xattr_name(s->ns, OVL_XA_WHITEOUT), NULL, 0) >= 0);
			if (wh) {
				e.flags |= OVL_ME_WHITEOUT;
				e.hidden = true;
			} else if (layer > 0) {
				follow_index(s, fd, names[i], &e);
			}
			if (e.hidden && !hidden) {
				free(e.name);
				free(e.redirect);
				continue;
			}
			add(out, &cap, &e);
		}
		ovl_dir_names_free(names);
	}
	/* what an opaque dir hides: names of the lower dirs it stops */
	for (int k = 0; k < shadow.n; k++) {
		size_t n = 0;
		char **names = shadow.d[k].fd >= 0 ? ovl_dir_names(shadow.d[k].fd, "", &n) : NULL;
		struct ovl_below rest = { .n = shadow.n - (k + 1), .d = shadow.d + (k + 1) };
		for (size_t i = 0; i < n; i++) {
			if (!ovl_strset_add(seen, names[i], strlen(names[i])))
				continue;
			struct ovl_mentry e;
			describe(s, shadow.d[k].fd, names[i], shadow.d[k].layer, &rest, &e);
			e.flags |= ovl_is_whiteout_stat(&e.st) ? OVL_ME_WHITEOUT : OVL_ME_UNDER_OPAQUE;
			e.hidden = true;
			add(out, &cap, &e);
		}
		ovl_dir_names_free(names);
	}
	ovl_below_free(&shadow);
	ovl_strset_free(seen);
	if (up >= 0)
		close(up);
	ovl_below_free(&below);
	if (out->n)
		qsort(out->e, out->n, sizeof(*out->e), cmp_entries);
	return 0;
}

void ovl_mdir_free(struct ovl_mdir *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->e[i].name);
		free(d->e[i].redirect);
	}
	free(d->e);
	memset(d, 0, sizeof(*d));
}

int ovl_mview_open_data(struct ovl_stack *s, const char *dirpath, const char *name)
{
	struct ovl_below below;
	int up = -1, fd = -1;

	ovl_below_init(&below, s);
	if (bad_name(name)) {
		errno = EINVAL;
		goto out;
	}
	if (find_dir(s, dirpath, &up, &below) < 0)
		goto out;
	errno = 0;
	/* the top layer that has the name decides, as in the listing */
	for (int k = -1; k < below.n && fd < 0; k++) {
		int dfd = k < 0 ? up : below.d[k].fd;
		int layer = k < 0 ? 0 : below.d[k].layer;
		struct stat st;
		if (dfd < 0 || ovl_stat_at(dfd, name, &st) < 0)
			continue;
		if (!S_ISREG(st.st_mode) || ovl_is_whiteout_stat(&st)) {
			errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
			break;
		}
		/* a lower hard link copied up whole under another name: the
		 * kernel reads the index entry's data (one name, no symlink) */
		char hex[OVL_FH_HEX_MAX];
		struct stat ist;
		if (k >= 0 && index_entry(s, dfd, name, layer, &st, hex, &ist) &&
		    ovl_xattr_get_at(s->indexfd, hex, ovl_xattr_name(s->ns, OVL_XA_METACOPY), NULL,
				     0) < 0) {
			fd = openat(s->indexfd, hex,
				    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
			break;
		}
		if (ovl_xattr_get_at(dfd, name, ovl_xattr_name(s->ns, OVL_XA_METACOPY), NULL, 0) < 0) {
			fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
			break;
		}
		/* a metacopy file: its data lies further down */
		struct ovl_below rest = { .n = below.n - (k + 1), .d = below.d + (k + 1) };
		char rd[OVL_XATTR_MAX + 1];
		bool abs;
		ssize_t rl = ovl_xattr_get_at(dfd, name, ovl_xattr_name(s->ns, OVL_XA_REDIRECT), rd,
					      OVL_XATTR_MAX);
		struct ovl_lookup_req req = { .name = name, .want_data = true, .want_data_fd = true,
					      .layer = layer };
		if (rl > 0 && ovl_redirect_parse(rd, (size_t)rl, &abs) == OVL_RD_OK) {
			rd[rl] = '\0';
			req.redirect = rd;
		}
		struct ovl_lookup_res res;
		if (ovl_merge_lookup(s, &rest, &req, NULL, &res) == 0 && res.data_fd >= 0) {
			char p[64];
			snprintf(p, sizeof(p), "/proc/self/fd/%d", res.data_fd);
			fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			close(res.data_fd);
		} else {
			errno = EIO;	/* what the kernel says */
		}
		break;
	}
	if (fd < 0 && errno == 0)
		errno = ENOENT;
	/* the layer may have changed since the stat: never hand out a device */
	struct stat fst;
	if (fd >= 0 && (fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode))) {
		close(fd);
		fd = -1;
		errno = EINVAL;
	}
out:
	release_dir(up, &below);
	return fd;
}

int ovl_mview_entry_dir(struct ovl_stack *s, const char *dirpath, const char *name, int *layer)
{
	struct ovl_below below;
	int up = -1, fd = -1;
	struct stat st;

	if (bad_name(name)) {
		errno = EINVAL;
		return -1;
	}
	ovl_below_init(&below, s);
	if (find_dir(s, dirpath, &up, &below) < 0)
		goto out;
	errno = ENOENT;
	/* the top layer that has the name decides, as in the listing */
	for (int k = -1; k < below.n; k++) {
		int dfd = k < 0 ? up : below.d[k].fd;
		if (dfd < 0 || ovl_stat_at(dfd, name, &st) < 0)
			continue;
		if (!ovl_is_whiteout_stat(&st)) {
			fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
			*layer = k < 0 ? 0 : below.d[k].layer;
		}
		break;
	}
out:
	release_dir(up, &below);
	return fd;
}

static char kind_of(const struct stat *st)
{
	if (ovl_is_whiteout_stat(st))
		return 'w';
	if (S_ISREG(st->st_mode))
		return 'f';
	if (S_ISDIR(st->st_mode))
		return 'd';
	if (S_ISLNK(st->st_mode))
		return 'l';
	return 'o';
}

/* The overlay xattrs of the upper inode of `name`: at `name` in the upper
 * dir `fd`, or the index entry `fname` in W/index. */
static void upper_xattrs(struct ovl_stack *s, const struct ovl_below *below, int fd,
			 const char *fname, const char *name, struct ovl_mwhere *w)
{
	unsigned char mc[OVL_XATTR_MAX];
	char nl[sizeof(w->nlink)];
	struct ovl_nlink parsed;
	struct ovl_fh fh;

	if (read_origin(s, fd, fname, &fh, w)) {
		compare_origin(s, below, name, &fh, w);
		if (w->origin == OVL_WO_OTHER)
			origin_now(s, &fh, w);
	}
	ssize_t n = ovl_xattr_get_at(fd, fname, ovl_xattr_name(s->ns, OVL_XA_METACOPY), mc,
				     sizeof(mc));
	if (n >= 0) {
		w->has_metacopy = true;
		w->metacopy_err = ovl_metacopy_parse(mc, (size_t)n, &w->metacopy);
	}
	n = ovl_xattr_get_at(fd, fname, ovl_xattr_name(s->ns, OVL_XA_NLINK), nl, sizeof(nl) - 1);
	if (n >= 0) {
		w->nlink_ok = ovl_nlink_parse(nl, (size_t)n, &parsed) == 0;
		ovl_escape(nl, (size_t)n, w->nlink, sizeof(w->nlink));
	}
}

int ovl_mview_where(struct ovl_stack *s, const char *dirpath, const char *name,
		    struct ovl_mwhere *w)
{
	struct ovl_below below;
	struct stat st;
	int up = -1;

	memset(w, 0, sizeof(*w));
	w->nlayers = s->nlayers < (int)sizeof(w->kind) ? s->nlayers : (int)sizeof(w->kind);
	memset(w->kind, '-', (size_t)w->nlayers);
	w->origin_layer = -1;
	if (bad_name(name)) {
		errno = EINVAL;
		return -1;
	}
	ovl_below_init(&below, s);
	if (find_dir(s, dirpath, &up, &below) < 0) {
		int e = errno;
		ovl_below_free(&below);
		errno = e;
		return -1;
	}
	bool in_upper = up >= 0 && ovl_stat_at(up, name, &st) == 0;
	if (in_upper) {
		w->kind[0] = kind_of(&st);
		upper_xattrs(s, &below, up, name, name, w);
		redirect_target(s, up, &below, name, &st, w);
	}
	bool top_lower = !in_upper;
	for (int k = 0; k < below.n; k++) {
		int l = below.d[k].layer;
		if (below.d[k].fd < 0 || l >= w->nlayers || ovl_stat_at(below.d[k].fd, name, &st) < 0)
			continue;
		w->kind[l] = kind_of(&st);
		/* the entry the merged view shows: its copy-up may be indexed */
		struct stat ist;
		if (top_lower && !ovl_is_whiteout_stat(&st) &&
		    index_entry(s, below.d[k].fd, name, l, &st, w->index_name, &ist))
			upper_xattrs(s, &below, s->indexfd, w->index_name, name, w);
		top_lower = false;
	}
	if (up >= 0)
		close(up);
	ovl_below_free(&below);
	return 0;
}

static void tree_bytes(int dirfd, int depth, struct ovl_mcost *c);

/* Count what a hidden lower entry holds: a file's bytes, a dir's tree
 * (at `depth` below the covered entry). */
static void count_hidden(int dirfd, const char *name, const struct stat *st, int depth,
			 struct ovl_mcost *c)
{
	if (S_ISREG(st->st_mode)) {
		c->shadowed_bytes += (unsigned long long)st->st_size;
		c->shadowed_files++;
	} else if (S_ISDIR(st->st_mode)) {
		int fd = ovl_open_dir_at(dirfd, name);
		if (fd >= 0) {
			tree_bytes(fd, depth, c);
			close(fd);
		}
	}
}

/* Regular-file bytes of a lower dir tree (one layer; symlinks not followed). */
static void tree_bytes(int dirfd, int depth, struct ovl_mcost *c)
{
	size_t n = 0;
	char **names;

	if (depth > 512 || !(names = ovl_dir_names(dirfd, "", &n)))
		return;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (ovl_stat_at(dirfd, names[i], &st) == 0)
			count_hidden(dirfd, names[i], &st, depth + 1, c);
	}
	ovl_dir_names_free(names);
}

/* What the lower layers merged at this dir hold at `name` (the top one). */
static void lower_bytes(const struct ovl_below *below, const char *name, struct ovl_mcost *c)
{
	for (int k = 0; k < below->n; k++) {
		struct stat st;
		if (below->d[k].fd < 0 || ovl_stat_at(below->d[k].fd, name, &st) < 0)
			continue;
		count_hidden(below->d[k].fd, name, &st, 0, c);
		return;	/* the top lower entry is what the upper covers */
	}
}

static int cost_dir(struct ovl_stack *s, const char *path, int depth, struct ovl_mcost *c)
{
	struct ovl_mdir d;
	struct ovl_below below;
	bool have_below = false;
	int up = -1;
	char child[4096];

	if (depth > 512)
		return 0;
	if (ovl_mview_list(s, path, true, &d) < 0)
		return -1;
	ovl_below_init(&below, s);
	for (size_t i = 0; i < d.n; i++) {
		const struct ovl_mentry *e = &d.e[i];
		bool reg = S_ISREG(e->st.st_mode), dir = S_ISDIR(e->st.st_mode);
		int len = snprintf(child, sizeof(child), "%s%s%s", path, strcmp(path, "/") ? "/" : "",
				   e->name);
		/* its inode is an upper alias's (counted there: du counts a
		 * hard link once), its lower inode that alias's too */
		if (e->flags & OVL_ME_INDEXED)
			continue;
		if (e->layer == 0) {
			if (reg && !(e->flags & (OVL_ME_METACOPY | OVL_ME_WHITEOUT))) {
				c->upper_bytes += (unsigned long long)e->st.st_size;
				c->upper_files++;
			}
			/* an upper copy or whiteout covers the lower entry; an upper
			 * dir merges with a lower dir (its own listing says what it hides) */
			if ((!dir || !(e->flags & (OVL_ME_MERGED | OVL_ME_OPAQUE))) &&
			    !(e->flags & OVL_ME_METACOPY)) {
				/* the lower dirs of this dir, found once */
				if (!have_below)
					have_below = find_dir(s, path, &up, &below) == 0;
				if (have_below)
					lower_bytes(&below, e->name, c);
			}
			if (dir && len > 0 && (size_t)len < sizeof(child))
				cost_dir(s, child, depth + 1, c);
		} else if (e->flags & OVL_ME_UNDER_OPAQUE) {
			if (reg) {
				c->shadowed_bytes += (unsigned long long)e->st.st_size;
				c->shadowed_files++;
			} else if (dir) {
				/* the hidden lower dir, by its path in its own layer */
				int fd = len > 1 && (size_t)len < sizeof(child)
					 ? ovl_open_beneath(s->layers[e->layer].fd, child + 1,
							    (size_t)len - 1, O_RDONLY | O_DIRECTORY)
					 : -1;
				if (fd >= 0) {
					tree_bytes(fd, 0, c);
					close(fd);
				}
			}
		}
		/* lower-only entries cost the upper nothing: not walked */
	}
	if (up >= 0)
		close(up);
	ovl_below_free(&below);
	ovl_mdir_free(&d);
	return 0;
}

int ovl_mview_cost(struct ovl_stack *s, const char *path, struct ovl_mcost *c)
{
	memset(c, 0, sizeof(*c));
	return cost_dir(s, path, 0, c);
}

/* W/index holds a non-dir copy-up (not a whiteout): a lower alias may show it. */
static bool index_has_copies(struct ovl_stack *s)
{
	size_t n = 0;
	bool any = false;
	char **names;

	if (!s->index || s->indexfd < 0 || !(names = ovl_dir_names(s->indexfd, "", &n)))
		return false;
	for (size_t i = 0; i < n && !any; i++) {
		struct stat st;
		any = ovl_stat_at(s->indexfd, names[i], &st) == 0 && !S_ISDIR(st.st_mode) &&
		      !ovl_is_whiteout_stat(&st);
	}
	ovl_dir_names_free(names);
	return any;
}

static void indexed_dir(struct ovl_stack *s, const char *path, int depth, ovl_mview_fn fn,
			void *arg)
{
	struct ovl_mdir d;

	if (depth > 512 || ovl_mview_list(s, path, false, &d) < 0)
		return;
	for (size_t i = 0; i < d.n; i++) {
		const struct ovl_mentry *e = &d.e[i];
		bool lower_part = e->layer > 0 || (e->flags & OVL_ME_MERGED);
		if (!(e->flags & OVL_ME_INDEXED) && !(S_ISDIR(e->st.st_mode) && lower_part))
			continue;	/* an upper-only or opaque dir has no lower aliases */
		size_t plen = strlen(path);
		char *child = ovl_xmalloc(plen + strlen(e->name) + 2);
		sprintf(child, "%s%s%s", path, plen > 1 ? "/" : "", e->name);
		if (e->flags & OVL_ME_INDEXED)
			fn(child, e, arg);
		else
			indexed_dir(s, child, depth + 1, fn, arg);
		free(child);
	}
	ovl_mdir_free(&d);
}

int ovl_mview_indexed(struct ovl_stack *s, ovl_mview_fn fn, void *arg)
{
	if (index_has_copies(s))
		indexed_dir(s, "/", 0, fn, arg);
	return 0;
}
