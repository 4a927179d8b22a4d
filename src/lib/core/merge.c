/*
 * Merged-view lookup: where the kernel continues below an entry. Every
 * access is relative to a dirfd of a layer, with O_NOFOLLOW; absolute
 * redirects are walked component by component from the layer root.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/*
 * The overlay xattrs one looked-up entry has, listed once when first
 * asked: most lower entries have none, and one list answers every
 * "is it there" of the step (whiteout, metacopy, opaque, redirect)
 * for less than one get of a missing name costs.
 */
struct xprobe {
	int dirfd;
	const char *name;
	int state;		/* 0: not listed yet, 1: present valid, -1: list failed */
	unsigned present;
};

static struct xprobe xprobe_of(int dirfd, const char *name)
{
	return (struct xprobe){ .dirfd = dirfd, .name = name };
}

/* false: certainly absent; true: present, or the list could not tell */
static bool maybe_has(const struct ovl_stack *s, struct xprobe *x, enum ovl_xattr_id id)
{
	if (!x->state)
		x->state = ovl_xattr_names_at(x->dirfd, x->name, s->ns, &x->present) == 0 ? 1 : -1;
	return x->state < 0 || (x->present & (1u << id));
}

static char opaque_val(const struct ovl_stack *s, struct xprobe *x)
{
	char v[4];

	if (!maybe_has(s, x, OVL_XA_OPAQUE))
		return 0;
	ssize_t n = ovl_xattr_get_at(x->dirfd, x->name, ovl_xattr_name(s->ns, OVL_XA_OPAQUE),
				     v, sizeof(v));
	return n == 1 ? v[0] : 0;
}

static bool has_xattr(const struct ovl_stack *s, struct xprobe *x, enum ovl_xattr_id id)
{
	char v[1];

	if (!maybe_has(s, x, id))
		return false;
	if (x->state > 0)
		return true;
	ssize_t n = ovl_xattr_get_at(x->dirfd, x->name, ovl_xattr_name(s->ns, id), v, 0);
	(void)v;
	return n >= 0;
}

/*
 * Redirect of a lower entry, validated; NULL when none or invalid. A
 * component over NAME_MAX is followed, as the kernel does: it just finds
 * nothing (ENAMETOOLONG is "not found" there).
 */
static char *read_redirect(const struct ovl_stack *s, struct xprobe *x)
{
	char buf[OVL_XATTR_MAX + 1];
	bool abs;
	enum ovl_redirect_err e;

	if (!maybe_has(s, x, OVL_XA_REDIRECT))
		return NULL;
	ssize_t n = ovl_xattr_get_at(x->dirfd, x->name, ovl_xattr_name(s->ns, OVL_XA_REDIRECT),
				     buf, OVL_XATTR_MAX);
	if (n <= 0)
		return NULL;
	e = ovl_redirect_parse(buf, (size_t)n, &abs);
	if (e != OVL_RD_OK && e != OVL_RD_TOO_LONG)
		return NULL;
	return ovl_xstrndup(buf, (size_t)n);
}

static bool is_xattr_whiteout(const struct ovl_stack *s, struct xprobe *x,
			      const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_size == 0 && has_xattr(s, x, OVL_XA_WHITEOUT);
}

/*
 * The lookup state as it moves down the layers, as the kernel keeps it:
 * the name (one component, or "/a/b" once a redirect made it absolute),
 * whether no layer below may contribute, whether the chain still looks
 * for a data inode, and whether the last redirect looked at was absolute
 * (only then may a metacopy chain end in the data-only layers).
 */
struct mstate {
	char *name;
	bool absolute;
	bool stop;
	bool is_dir;
	bool metacopy;
	bool abs_redirect;
	bool follow;
	bool renamed;		/* a redirect changed the name */
};

static void name_set(struct mstate *m, char *v)
{
	free(m->name);
	m->name = v;
	m->absolute = v[0] == '/';
}

/*
 * Check the redirect of a dir (or metacopy file) met at component
 * name[prelen..] whose rest is post: the kernel resets its "absolute"
 * flag on every such check, rewrites the name (relative: replaces this
 * component; absolute: replaces everything before post), and an absolute
 * redirect lets the search go on even below an opaque ancestor.
 */
static void check_redirect(const struct ovl_stack *s, struct mstate *m, struct xprobe *x,
			   size_t prelen, size_t postoff)
{
	m->abs_redirect = false;
	if (!m->follow)
		return;

	char *rd = read_redirect(s, x);
	if (!rd)
		return;

	const char *post = m->name + postoff;
	size_t rlen = strlen(rd), plen = strlen(post);
	size_t keep = rd[0] == '/' ? 0 : prelen;
	char *n = ovl_xmalloc(keep + rlen + plen + 1);

	memcpy(n, m->name, keep);
	memcpy(n + keep, rd, rlen);
	memcpy(n + keep + rlen, post, plen + 1);
	if (rd[0] == '/') {
		m->abs_redirect = true;
		m->stop = false;
	}
	free(rd);
	name_set(m, n);
	m->renamed = true;
}

struct step {
	enum ovl_hit_kind kind;
	struct stat st;
	int parentfd;		/* dir holding the entry (owned when != base) */
	const char *leaf;	/* name of the entry in parentfd */
	bool opaque;		/* a whiteout, or an opaque dir at the end */
	bool metacopy;		/* a regular file with the metacopy xattr */
	bool not_reg;		/* a non-regular entry where data was wanted */
};

/*
 * Look the current name up in one layer from base (a merged dir of the
 * parent, or the layer root for absolute names), one component at a
 * time as ovl_lookup_layer() does: intermediate components must be dirs
 * (never symlinks), whiteouts and non-dirs on the way end the walk, an
 * opaque dir on the way stops the layers below, a redirect on the way
 * rewrites the name the layers below are searched for.
 */
static int step_layer(const struct ovl_stack *s, int base, struct mstate *m,
		      struct step *st, char leaf[NAME_MAX + 1])
{
	int fd = base;
	size_t rem = m->absolute ? strlen(m->name) - 1 : strlen(m->name);

	memset(st, 0, sizeof(*st));
	st->kind = OVL_HIT_NONE;
	st->parentfd = base;
	for (;;) {
		size_t nlen = strlen(m->name);
		const char *p = m->name + nlen - rem;
		const char *slash = m->absolute ? strchr(p, '/') : NULL;
		size_t len = slash ? (size_t)(slash - p) : rem;
		size_t prelen = (size_t)(p - m->name);
		size_t postoff = prelen + len;
		bool last = !slash;

		/* Too long for any layer: not found here, as ENAMETOOLONG is. */
		if (len > NAME_MAX || len == 0)
			break;
		memcpy(leaf, p, len);
		leaf[len] = '\0';
		if (ovl_stat_at(fd, leaf, &st->st) < 0) {
			if (errno != ENOENT && errno != ENOTDIR && errno != ENAMETOOLONG)
				goto fail;
			break;
		}
		struct xprobe x = xprobe_of(fd, leaf);
		if (ovl_is_whiteout_stat(&st->st) || is_xattr_whiteout(s, &x, &st->st)) {
			m->stop = st->opaque = true;
			if (!last)
				break;
			st->kind = OVL_HIT_WHITEOUT;
			goto found;
		}
		if (last && m->metacopy && !S_ISREG(st->st.st_mode)) {
			/* the data of a metacopy file must be a regular file */
			m->stop = st->not_reg = true;
			st->kind = S_ISDIR(st->st.st_mode) ? OVL_HIT_DIR : OVL_HIT_FILE;
			goto found;
		}
		if (!S_ISDIR(st->st.st_mode)) {
			m->stop = true;
			if (!last)
				break;
			st->kind = OVL_HIT_FILE;
			if (!m->is_dir && S_ISREG(st->st.st_mode) &&
			    has_xattr(s, &x, OVL_XA_METACOPY)) {
				st->metacopy = true;
				m->stop = false;
				check_redirect(s, m, &x, prelen, postoff);
			}
			m->metacopy = st->metacopy;
			goto found;
		}
		if (opaque_val(s, &x) == 'y') {
			m->stop = true;
			st->opaque = last;
		} else {
			check_redirect(s, m, &x, prelen, postoff);
		}
		if (last) {
			st->kind = OVL_HIT_DIR;
			goto found;
		}
		int next = openat(fd, leaf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				break;	/* changed under us */
			goto fail;
		}
		if (fd != base)
			close(fd);
		fd = next;
		rem -= len + 1;
	}
	/* Not found in this layer (or the walk ended on the way). */
	if (fd != base)
		close(fd);
	st->parentfd = base;
	return 0;
found:
	st->parentfd = fd;
	st->leaf = leaf;
	return 0;
fail:
	if (fd != base)
		close(fd);
	st->parentfd = base;
	return -1;
}

static void step_done(struct step *st, int base)
{
	if (st->parentfd >= 0 && st->parentfd != base)
		close(st->parentfd);
	st->parentfd = -1;
}

/*
 * The data inode of an absolute redirect in the data-only layers. The
 * kernel resolves it lazily with a plain beneath/no-symlink path walk:
 * no whiteouts or opaque dirs there, the first regular file wins, and
 * anything else means "try the next data layer".
 */
static void lookup_dataonly(const struct ovl_stack *s, const char *path,
			    bool want_fd, struct ovl_lookup_res *res)
{
	res->data_status = OVL_DATA_ONLY_MISSING;
	for (int i = s->nlower + 1; i < s->nlayers; i++) {
		struct stat st;
		int fd = ovl_open_beneath(s->layers[i].fd, path + 1, strlen(path + 1), O_PATH);

		if (fd < 0)
			continue;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			continue;
		}
		res->data_layer = i;
		res->data_st = st;
		res->data_status = OVL_DATA_OK;
		res->data_via_dataonly = true;
		if (want_fd)
			res->data_fd = fd;
		else
			close(fd);
		return;
	}
}

int ovl_merge_lookup(const struct ovl_stack *s, const struct ovl_below *parent,
		     const struct ovl_lookup_req *req, struct ovl_below *below,
		     struct ovl_lookup_res *res)
{
	struct mstate m = {
		.is_dir = req->is_dir,
		.metacopy = req->want_data,	/* the entry itself is metacopy */
		.follow = s->redirect_follow,
	};
	char leaf[NAME_MAX + 1];
	int ret = 0;
	bool use_roots;
	bool not_reg = false;
	int last_layer = req->layer;
	/* lower entries of the chain: the kernel needs one before it may
	 * look in the data-only layers (an upper metacopy cannot go there) */
	int ctr = req->layer >= 1 && req->layer <= s->nlower;

	memset(res, 0, sizeof(*res));
	res->first = OVL_HIT_NONE;
	res->first_layer = -1;
	res->data_layer = -1;
	res->data_fd = -1;
	res->data_status = OVL_DATA_MISSING;
	if (below)
		ovl_below_release(below);

	name_set(&m, ovl_xstrdup(req->redirect ? req->redirect : req->name));
	if (req->redirect) {
		res->via_redirect = true;
		m.abs_redirect = m.absolute;
	}
	use_roots = m.absolute;

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
		if (step_layer(s, base, &m, &st, leaf) < 0) {
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
		if (req->is_dir) {
			if (st.kind == OVL_HIT_DIR && below) {
				int fd = openat(st.parentfd, st.leaf,
						O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (fd >= 0)
					below_add(below, layer, fd);
			}
		} else if (req->want_data) {
			if (st.not_reg) {
				not_reg = true;
			} else if (st.kind == OVL_HIT_FILE && !st.metacopy) {
				res->data_layer = layer;
				res->data_st = st.st;
				if (req->want_data_fd)
					res->data_fd = openat(st.parentfd, st.leaf,
							      O_PATH | O_NOFOLLOW | O_CLOEXEC);
				res->data_status = OVL_DATA_OK;
				step_done(&st, base);
				break;
			} else if (st.kind == OVL_HIT_FILE) {
				ctr++;	/* a lower metacopy file: data further down */
			}
		} else if (st.kind != OVL_HIT_NONE) {
			m.stop = true;	/* only the first entry below matters */
		}
		step_done(&st, base);
		if (m.stop)
			break;
		if (m.absolute)
			use_roots = true;
	}
	if (m.renamed)
		res->via_redirect = true;

	/*
	 * A chain still without data may go on in the data-only layers, but
	 * only when a lower entry was found and the last redirect checked
	 * was absolute; otherwise the kernel fails the lookup (EIO).
	 */
	if (req->want_data && res->data_status != OVL_DATA_OK && ret == 0) {
		if (m.metacopy && ctr > 0 && s->ndata > 0 && m.abs_redirect && m.absolute)
			lookup_dataonly(s, m.name, req->want_data_fd, res);
		else if (not_reg)
			res->data_status = OVL_DATA_NOT_REG;
	}

	free(m.name);
	return ret;
}

enum ovl_hit_kind ovl_merge_path_kind(const struct ovl_stack *s, int layer,
				      const char *path, bool *covered)
{
	/* Redirects always count here: a redirected dir hides its path. */
	struct mstate m = { .follow = true };
	struct step st;
	char leaf[NAME_MAX + 1];
	int root = s->layers[layer].fd;
	enum ovl_hit_kind k;

	*covered = false;
	name_set(&m, ovl_xstrdup(path));
	if (step_layer(s, root, &m, &st, leaf) < 0) {
		free(m.name);
		return OVL_HIT_NONE;
	}
	k = st.kind;
	if (k == OVL_HIT_NONE || k == OVL_HIT_DIR)
		*covered = m.stop || m.renamed;
	else
		*covered = true;
	step_done(&st, root);
	free(m.name);
	return k;
}
