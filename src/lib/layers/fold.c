/*
 * merge in place: the plan that folds the upper into the stack's top
 * lower layer L1, so that L1 alone (over the same layers below it, when
 * there are some) shows the merged view; its changes are fold_ops.c's.
 * Only renames, links and metadata changes: the upper and L1 must be on
 * one filesystem (another is refused, merge --into copies), and nothing
 * is deleted before the last change, the commit; what goes is moved into
 * W/overlay-layers-merge (the attic).
 *
 * The plan, in its order:
 *  1. the attic is made (it names the journal: a killed run is found);
 *  2. the lower data of renamed metacopy files is linked into the attic,
 *     then the lower dirs of renamed dirs are moved there, deepest first
 *     (their old names may be taken by what comes next);
 *  3. the upper, walked parents first: a whiteout moves the lower entry
 *     aside; an opaque or new dir, a file, a symlink or a device moves
 *     into the lower (what it replaces aside first) and loses the
 *     overlay's xattrs; a merged dir takes the upper dir's owner, mode,
 *     xattrs and times after its entries; a renamed dir gets its lower
 *     dir back from the attic; a metacopy file takes the upper's metadata
 *     on its lower data inode (moved to its new name when renamed);
 *     upper hard links are renamed name by name (one inode), a metacopy
 *     file's other names linked to the first;
 *  4. the lower root takes the upper root's metadata;
 *  5. what is left of the upper, W/work and W/index moves into the attic;
 *  6. the commit removes the attic.
 *
 * The plan is made from the layers before any change: a lower entry that
 * step 2 moves away is not moved aside again in step 3.
 *
 * Layers below L1 are never written. The walk carries, beside each upper
 * dir's place in L1, where the stack looked them up for it (L1's own
 * redirects and opaque marks applied); L1 then keeps the upper's
 * whiteouts over names they show, and each dir it holds gets the opaque
 * mark or absolute redirect that makes the kernel look them up there
 * again; a metacopy file whose data is below stays metacopy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/lookup.h"
#include "overlay/mview.h"
#include "overlay/redirect.h"
#include "overlay/util.h"
#include "overlay/xattr.h"
#include "overlay/xattr_copy.h"
#include "repair/journal.h"
#include "repair/repair_internal.h"
#include "core/strset.h"
#include "internal.h"

#define LOWER	1
#define XATTR_BUF	65536

/* One change of step 3, held until the staged sources are all known. */
struct step {
	enum ovl_fix_op op;
	int layer;
	char *path;
	unsigned char *val;
	size_t len;
	unsigned long long bytes;
	const char *why;
	char *unless_staged;	/* an aside of this lower path, dropped when
				 * step 2 moved the entry away already */
};

/* A renamed dir's lower dir, or a renamed metacopy file's data, staged. */
struct stage {
	char *src;		/* its path in the lower, before any change */
	char name[32];		/* its place in the attic */
	bool link;
	int depth;
};

/* Where an upper entry is while the plan runs: its dir moved into the
 * lower (or aside into the attic) takes its entries along. */
struct where {
	int layer;		/* 0 upper, LOWER, OVL_FIX_WORKDIR */
	const char *path;
};

struct fold {
	struct ovl_stack *s;
	int lfd;
	bool multi;		/* layers below L1: L1 keeps the marks they need */
	struct step *v;
	size_t n, cap;
	struct stage *st;
	size_t nst;
	struct ovl_strset *staged;	/* lower paths step 2 moves away */
	struct ovl_strset *inodes;	/* upper inodes of several names -> first path */
	struct ovl_strset *moved_top;	/* upper root names moved whole */
	struct ovl_strset *mc_inodes;	/* upper inodes of several names that are metacopy */
	struct {
		char *path;
		char key[48];		/* its upper inode, "dev:ino" */
	} *alias;			/* lower hard links the index shows copied up */
	size_t nalias;
	unsigned long aside;		/* attic names given */
	char *why;
	size_t whylen;
	bool refused;
};

static void refuse(struct fold *f, const char *path, const char *what)
{
	if (f->refused)
		return;
	f->refused = true;
	snprintf(f->why, f->whylen, "%s: %s", path, what);
}

static char *join(const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	char *p = ovl_xmalloc(dl + strlen(name) + 2);

	sprintf(p, "%s%s%s", dir, dl > 1 ? "/" : "", name);
	return p;
}

static char *place(int layer, const char *path)
{
	char *v = ovl_xmalloc(strlen(path) + 16);

	sprintf(v, "%d:%s", layer, path);
	return v;
}

static struct step *add(struct fold *f, enum ovl_fix_op op, int layer, const char *path,
			const void *val, size_t len, unsigned long long bytes, const char *why)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 256;
		f->v = ovl_xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	struct step *s = &f->v[f->n++];
	memset(s, 0, sizeof(*s));
	s->op = op;
	s->layer = layer;
	s->path = ovl_xstrdup(path);
	if (len) {
		s->val = ovl_xmalloc(len);
		memcpy(s->val, val, len);
	}
	s->len = len;
	s->bytes = bytes;
	s->why = why;
	return s;
}

/* Move the entry at (layer, path) into the attic. */
static struct step *aside(struct fold *f, int layer, const char *path, const char *why)
{
	char dst[64];
	char *src = place(layer, path);

	snprintf(dst, sizeof(dst), "/" OVL_FOLD_ATTIC "/a%lu", ++f->aside);
	struct step *s = add(f, OVL_FIX_MG_MOVE, OVL_FIX_WORKDIR, dst, src, strlen(src), 0, why);
	free(src);
	return s;
}

/* The lower entry now at merged path `path` (lower path `lpath` before
 * any change) moves aside, unless step 2 takes it first. */
static void aside_lower(struct fold *f, const char *path, const char *lpath, const char *why)
{
	aside(f, LOWER, path, why)->unless_staged = ovl_xstrdup(lpath);
}

static void move(struct fold *f, struct where from, const char *to, unsigned long long bytes,
		 const char *why)
{
	char *src = place(from.layer, from.path);

	add(f, OVL_FIX_MG_MOVE, LOWER, to, src, strlen(src), bytes, why);
	free(src);
	if (from.layer == 0 && !strchr(from.path + 1, '/'))
		ovl_strset_add(f->moved_top, from.path, strlen(from.path));
}

/* ---- xattrs: the ones a copy takes (not the overlay's) ---- */

struct xlist {
	char *names;		/* NUL-separated */
	ssize_t len;
};

static void xlist_read(int dfd, const char *name, struct xlist *x)
{
	x->names = ovl_xmalloc(XATTR_BUF);
	x->len = ovl_xattr_list_at(dfd, name, x->names, XATTR_BUF);
	if (x->len < 0)
		x->len = 0;
}

static ssize_t xget(int dfd, const char *name, const char *xname, unsigned char *buf)
{
	return ovl_xattr_get_at(dfd, name, xname, buf, XATTR_BUF);
}

static void add_xattr(struct fold *f, const char *path, bool set, const char *xname,
		      const unsigned char *val, size_t vl, const char *why)
{
	size_t nl = strlen(xname);
	unsigned char *v = ovl_xmalloc(nl + 2 + vl);

	v[0] = set ? '+' : '-';
	memcpy(v + 1, xname, nl + 1);
	if (vl)
		memcpy(v + nl + 2, val, vl);
	add(f, OVL_FIX_MG_XATTR, LOWER, path, v, set ? nl + 2 + vl : nl + 1, 0, why);
	free(v);
}

/*
 * The xattrs of the lower entry at merged path `path` (lower dfd/lname
 * now) made those of the upper entry udfd/uname: set what differs,
 * remove what the upper lacks. A file capability is set again whatever
 * it was (an owner change before it drops it). With udfd -1: only the
 * overlay's names of the entry removed (it came from the upper), but the
 * ones in `keep` (bits 1 << enum ovl_xattr_id).
 */
static void plan_xattrs(struct fold *f, const char *path, int udfd, const char *uname, int ldfd,
			const char *lname, unsigned keep)
{
	struct xlist u = { 0 }, l;
	unsigned char *a = ovl_xmalloc(XATTR_BUF), *b = ovl_xmalloc(XATTR_BUF);

	xlist_read(ldfd, lname, &l);
	if (udfd >= 0)
		xlist_read(udfd, uname, &u);
	for (ssize_t i = 0; i < u.len; i += (ssize_t)strlen(u.names + i) + 1) {
		const char *n = u.names + i;
		if (!ovl_xattr_copied(n, f->s->ns))
			continue;
		if (!ovl_journal_xname_ok(n)) {
			refuse(f, path, "an xattr name the journal cannot hold");
			continue;
		}
		ssize_t al = xget(udfd, uname, n, a), bl = xget(ldfd, lname, n, b);
		if (al < 0)
			continue;
		if (bl != al || memcmp(a, b, (size_t)al) || !strcmp(n, "security.capability"))
			add_xattr(f, path, true, n, a, (size_t)al, "an xattr of the upper");
	}
	for (ssize_t i = 0; i < l.len; i += (ssize_t)strlen(l.names + i) + 1) {
		const char *n = l.names + i;
		bool ours = !ovl_xattr_copied(n, f->s->ns);
		enum ovl_xattr_id id;
		if ((udfd >= 0) == ours)
			continue;	/* with an upper: its copied names; else the overlay's */
		if (keep && ovl_xattr_classify(n, f->s->ns, &id) == OVL_XC_OVERLAY &&
		    (keep & (1u << id)))
			continue;
		if (udfd >= 0 && xget(udfd, uname, n, a) >= 0)
			continue;
		if (!ovl_journal_xname_ok(n))
			refuse(f, path, "an xattr name the journal cannot hold");
		else
			add_xattr(f, path, false, n, NULL, 0, udfd >= 0 ? "an xattr the upper does not have"
								      : "an overlay xattr, removed");
	}
	free(u.names);
	free(l.names);
	free(a);
	free(b);
}

static void attr(struct fold *f, const char *path, const struct stat *st, const char *why)
{
	char v[256];

	ovl_fold_attr_format(v, sizeof(v), st);
	add(f, OVL_FIX_MG_ATTR, LOWER, path, v, strlen(v), 0, why);
}

/* The lower entry (ldfd/lname before any change, at merged path `path`
 * when the step runs) takes the upper entry's metadata. */
static void take_meta(struct fold *f, const char *path, int udfd, const char *uname,
		      const struct stat *ust, int ldfd, const char *lname, const char *why)
{
	attr(f, path, ust, why);
	plan_xattrs(f, path, udfd, uname, ldfd, lname, 0);
}

/* ---- the walk of the upper ---- */

/* A redirect's lower path: absolute, or a name in the parent's lower dir. */
static char *redirect_path(struct fold *f, const struct ovl_xattrs *xa, const char *lparent,
			   const char *path)
{
	const char *rd = (const char *)xa->val[OVL_XA_REDIRECT];
	size_t len = xa->len[OVL_XA_REDIRECT];
	bool abs;

	if (!rd || ovl_redirect_parse(rd, len, &abs) != OVL_RD_OK || (!abs && !lparent)) {
		refuse(f, path, "a redirect that cannot be followed");
		return NULL;
	}
	return abs ? ovl_xstrndup(rd, len) : join(lparent, rd);
}

static struct stage *stage(struct fold *f, const char *src, bool link)
{
	f->st = ovl_xrealloc(f->st, (f->nst + 1) * sizeof(*f->st));
	struct stage *g = &f->st[f->nst];
	g->src = ovl_xstrdup(src);
	g->link = link;
	g->depth = 0;
	for (const char *c = src; *c; c++)
		g->depth += *c == '/';
	snprintf(g->name, sizeof(g->name), "/" OVL_FOLD_ATTIC "/%c%zu", link ? 'm' : 's', f->nst);
	f->nst++;
	if (!link)
		ovl_strset_add(f->staged, src, strlen(src));
	return g;
}

static int lstat_lower(struct fold *f, const char *lpath, struct stat *st)
{
	const char *p = lpath[0] == '/' ? lpath + 1 : lpath;

	if (!*p)
		return fstat(f->lfd, st);
	int fd = ovl_open_beneath(f->lfd, p, strlen(p), O_PATH);
	int ret = fd >= 0 ? fstat(fd, st) : -1;
	ovl_close_keep_errno(fd);
	return ret;
}

static int open_lower_parent(struct fold *f, const char *lpath, const char **leaf)
{
	return ovl_fix_open_parent(f->lfd, lpath, leaf);
}

/* ---- the layers below L1 (a stack of several lowers): never written ---- */

/*
 * Does a layer below L1 show an entry at `bpath`? The first of them that
 * holds the name decides (a whiteout shows nothing). Their dirs' own
 * marks on the way are not followed: at worst L1 gets a whiteout or an
 * opaque mark that hides nothing, which the view does not show.
 */
static bool below_shows(struct fold *f, const char *bpath)
{
	if (!bpath)
		return false;
	if (!strcmp(bpath, "/"))
		return true;
	for (int k = LOWER + 1; k <= f->s->nlower; k++) {
		const char *leaf;
		struct stat st;
		int pfd = ovl_fix_open_parent(f->s->layers[k].fd, bpath, &leaf);
		int ret = pfd >= 0 ? fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) : -1;
		ovl_close_keep_errno(pfd);
		if (ret == 0)
			return !ovl_is_whiteout_stat(&st);
	}
	return false;
}

/* The overlay xattr `id` of dfd/name (malloc'ed, NUL-terminated), or NULL. */
static char *mark_at(struct fold *f, int dfd, const char *name, enum ovl_xattr_id id)
{
	struct ovl_xattrs xa;
	char *v = NULL;

	if (dfd >= 0 && ovl_xattrs_read(dfd, name, f->s->ns, &xa) == 0) {
		if (xa.val[id])
			v = ovl_xstrndup((const char *)xa.val[id], xa.len[id]);
		ovl_xattrs_free(&xa);
	}
	return v;
}

/* The same of the L1 entry at lower path `lpath`. */
static char *lower_mark(struct fold *f, const char *lpath, enum ovl_xattr_id id)
{
	const char *leaf;
	int pfd = open_lower_parent(f, lpath, &leaf);
	char *v = mark_at(f, pfd, leaf, id);

	ovl_close_keep_errno(pfd);
	return v;
}

/*
 * Where the layers below L1 were looked up for a dir of the stack: L1
 * was looked up at `r1` (NULL: not at all), and the layers below at
 * `bdef` unless L1's dir there says otherwise (an opaque mark ends the
 * lookup, a redirect moves it, a non-dir ends it). NULL: nowhere.
 */
static char *below_of(struct fold *f, const char *r1, const char *bdef)
{
	struct stat st;

	if (r1 && lstat_lower(f, r1, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return NULL;
		char *op = lower_mark(f, r1, OVL_XA_OPAQUE);
		bool opaque = op && !strcmp(op, "y");
		free(op);
		if (opaque)
			return NULL;
		char *rd = lower_mark(f, r1, OVL_XA_REDIRECT);
		bool abs;
		if (rd && ovl_redirect_parse(rd, strlen(rd), &abs) == OVL_RD_OK) {
			if (abs)
				return rd;
			/* a name in the parent's dir below */
			char *parent = bdef ? ovl_xstrdup(bdef) : NULL, *slash;
			char *b = NULL;
			if (parent && (slash = strrchr(parent, '/'))) {
				slash[slash == parent ? 1 : 0] = '\0';
				b = join(parent, rd);
			}
			free(parent);
			free(rd);
			return b;
		}
		free(rd);
	}
	return bdef ? ovl_xstrdup(bdef) : NULL;
}

/* Set (val non-NULL) or remove one overlay mark of the L1 entry at
 * merged path `path`, whose mark is `have` now. An opaque=x mark (the
 * dir holds xattr whiteouts) stays. */
static void set_mark(struct fold *f, const char *path, enum ovl_xattr_id id, const char *have,
		     const char *val, const char *why)
{
	const char *xn = ovl_xattr_name(f->s->ns, id);

	if (id == OVL_XA_OPAQUE && have && !strcmp(have, "x") && !val)
		return;
	if (val && (!have || strcmp(have, val)))
		add_xattr(f, path, true, xn, (const unsigned char *)val, strlen(val), why);
	else if (!val && have)
		add_xattr(f, path, false, xn, NULL, 0, why);
}

/*
 * The marks the dir at merged path `path` needs in L1 so that, over the
 * same layers below, it shows what the stack showed: `below` is where
 * the stack looked them up for it (NULL: nowhere), `bpos` where the
 * kernel will look them up for L1's dir (its parent's place below and
 * its name). Nothing below that the stack showed: opaque if something
 * is at bpos; else a redirect when the places differ. The dir's marks
 * now are those of cdfd/cname, before any change (the upper's or L1's
 * entry). Gives where its entries are looked up below (malloc'ed).
 */
static char *below_marks(struct fold *f, const char *path, int cdfd, const char *cname,
			 char *below, const char *bpos)
{
	if (!f->multi)
		return below;
	char *op = mark_at(f, cdfd, cname, OVL_XA_OPAQUE);
	char *rd = mark_at(f, cdfd, cname, OVL_XA_REDIRECT);
	if (below && !below_shows(f, below)) {
		free(below);
		below = NULL;
	}
	bool moved = below && (!bpos || strcmp(below, bpos));
	set_mark(f, path, OVL_XA_OPAQUE, op, !below && below_shows(f, bpos) ? "y" : NULL,
		 "a dir over the layers below");
	set_mark(f, path, OVL_XA_REDIRECT, rd, moved ? below : NULL, "a dir over the layers below");
	free(op);
	free(rd);
	return below;
}

static void walk(struct fold *f, int udfd, const char *path, struct where at, const char *lorig,
		 const char *borig, bool xwhiteouts, int depth);

/*
 * A metacopy file whose data a layer below L1 holds (at `data`): it moves
 * into L1 still metacopy, with its redirect, as the kernel reads a
 * metacopy file of a lower layer (metacopy=on, which made it); its other
 * overlay xattrs go. Copying the data would cost its bytes and make the
 * merge more than renames.
 */
static void metacopy_below(struct fold *f, int udfd, const char *name, const char *path,
			   struct where at, const char *lchild, bool lower_here, const char *data)
{
	if (!below_shows(f, data)) {
		refuse(f, path, "a metacopy file whose lower data is not there");
		return;
	}
	if (lower_here)
		aside_lower(f, path, lchild, "replaced by a metacopy file");
	if (at.layer != LOWER)
		move(f, at, path, 0, "metacopy: its data stays in a layer below");
	plan_xattrs(f, path, -1, NULL, udfd, name, 1u << OVL_XA_METACOPY | 1u << OVL_XA_REDIRECT);
}

/* A metacopy file: its metadata onto its lower data inode, which moves to
 * this name when the file was renamed. */
static void metacopy(struct fold *f, int udfd, const char *name, const struct stat *st,
		     const struct ovl_xattrs *xa, const char *path, struct where at,
		     const char *lorig, const char *borig, const char *lchild, bool lower_here)
{
	bool renamed = ovl_xattrs_has(xa, OVL_XA_REDIRECT);
	char *src = renamed ? redirect_path(f, xa, lorig, path) : lchild ? ovl_xstrdup(lchild) : NULL;
	struct stat dst;
	const char *leaf;

	if (f->multi &&
	    (!src || (lstat_lower(f, src, &dst) < 0 && (errno == ENOENT || errno == ENOTDIR)))) {
		/* not in L1: the stack took the data from below */
		char *data = renamed ? ovl_xstrdup(src) : borig ? join(borig, name) : NULL;
		metacopy_below(f, udfd, name, path, at, lchild, lower_here, data);
		free(data);
		goto out;
	}
	if (!src) {
		refuse(f, path, "a metacopy file without lower data at its path or redirect");
		return;
	}
	if (lstat_lower(f, src, &dst) < 0 || !S_ISREG(dst.st_mode) || dst.st_size != st->st_size) {
		refuse(f, path, "a metacopy file whose lower data is not there");
		goto out;
	}
	/* with the index every name of the lower inode shows this file, and
	 * takes its metadata with it; without, the others keep their own */
	if (dst.st_nlink > 1 && !f->s->index) {
		refuse(f, path, "a metacopy file whose lower data has other names (not merged in "
			       "place: merge --into)");
		goto out;
	}
	int ldfd = open_lower_parent(f, src, &leaf);
	if (ldfd < 0) {
		refuse(f, path, "its lower data cannot be opened");
		goto out;
	}
	if (!renamed && at.layer != LOWER) {
		/* the data is the lower entry of the same name: in place */
		take_meta(f, path, udfd, name, st, ldfd, leaf, "metacopy: the upper's metadata");
	} else {
		struct stage *g = stage(f, src, true);
		if (at.layer == LOWER)
			aside(f, LOWER, path, "a metacopy stub");
		else if (lower_here)
			aside_lower(f, path, lchild, "replaced by a renamed metacopy file");
		char *v = place(OVL_FIX_WORKDIR, g->name);
		add(f, OVL_FIX_MG_MOVE, LOWER, path, v, strlen(v), (unsigned long long)st->st_size,
		    "metacopy: its lower data, renamed");
		free(v);
		take_meta(f, path, udfd, name, st, ldfd, leaf, "metacopy: the upper's metadata");
		/* an L1 metacopy file found its data below at its old name */
		char *mc = f->multi ? lower_mark(f, src, OVL_XA_METACOPY) : NULL;
		char *rd = mc ? lower_mark(f, src, OVL_XA_REDIRECT) : NULL;
		if (mc && !rd)
			set_mark(f, path, OVL_XA_REDIRECT, NULL, src, "metacopy: its data below");
		free(mc);
		free(rd);
	}
	close(ldfd);
out:
	free(src);
}

/*
 * A dir of the upper: renamed, new (or opaque), or merged with the lower.
 * With layers below L1, `borig` is where they were looked up for its
 * parent, and the dir gets in L1 the marks that keep what they showed.
 */
static void dir(struct fold *f, int udfd, const char *name, const struct stat *st,
		const struct ovl_xattrs *xa, const char *path, struct where at, const char *lorig,
		const char *borig, const char *lchild, const struct stat *lst, int depth)
{
	const unsigned char *op = xa->val[OVL_XA_OPAQUE];
	bool opaque = op && xa->len[OVL_XA_OPAQUE] == 1 && op[0] == 'y';
	bool xwh = (op && xa->len[OVL_XA_OPAQUE] == 1 && op[0] == 'x') ||
		   ovl_xattrs_has(xa, OVL_XA_WHITEOUTS);
	bool renamed = ovl_xattrs_has(xa, OVL_XA_REDIRECT) && !opaque;
	int cfd = openat(udfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char *src = NULL, *moved = NULL, *below = NULL;
	char *bpos = borig ? join(borig, name) : NULL;
	bool src_here = false;
	struct stat sst;
	const char *leaf;

	if (cfd < 0) {
		refuse(f, path, "an upper dir that cannot be read");
		free(bpos);
		return;
	}
	if (renamed) {
		const char *rd = (const char *)xa->val[OVL_XA_REDIRECT];
		bool abs = false;
		if (!rd || ovl_redirect_parse(rd, xa->len[OVL_XA_REDIRECT], &abs) != OVL_RD_OK) {
			refuse(f, path, "a redirect that cannot be followed");
			goto out;
		}
		/* a relative redirect names a dir beside it, in every layer */
		src = abs ? ovl_xstrdup(rd) : lorig ? join(lorig, rd) : NULL;
		char *bdef = abs ? ovl_xstrdup(rd) : borig ? join(borig, rd) : NULL;
		src_here = src && lstat_lower(f, src, &sst) == 0;
		below = below_of(f, src_here ? src : NULL, bdef);
		free(bdef);
		if (src_here ? !S_ISDIR(sst.st_mode) : !f->multi) {
			refuse(f, path, "a renamed dir whose lower dir is not there");
			goto out;
		}
	} else if (!opaque) {
		below = below_of(f, lchild, bpos);
	}
	if (renamed && src_here) {
		struct stage *g = stage(f, src, false);
		struct where in = at;
		if (at.layer == LOWER) {
			/* inside a dir moved in whole: the upper dir goes aside
			 * with its entries, the lower dir takes its name */
			char an[64];
			aside(f, LOWER, path, "a renamed dir's upper part");
			snprintf(an, sizeof(an), "/" OVL_FOLD_ATTIC "/a%lu", f->aside);
			in = (struct where){ OVL_FIX_WORKDIR, moved = ovl_xstrdup(an) };
		} else if (lst) {
			aside_lower(f, path, lchild, "replaced by a renamed dir");
		}
		char *v = place(OVL_FIX_WORKDIR, g->name);
		add(f, OVL_FIX_MG_MOVE, LOWER, path, v, strlen(v), 0, "a renamed dir: its lower dir");
		free(v);
		int ldfd = open_lower_parent(f, src, &leaf);
		below = below_marks(f, path, ldfd, leaf, below, bpos);
		walk(f, cfd, path, in, src, below, xwh, depth + 1);
		if (ldfd >= 0) {
			take_meta(f, path, udfd, name, st, ldfd, leaf, "a renamed dir: the upper's metadata");
			close(ldfd);
		}
	} else if (opaque || renamed || !lst || !S_ISDIR(lst->st_mode)) {
		/* renamed here: from a dir only the layers below hold */
		const char *what = opaque ? "an opaque dir" : renamed ? "a renamed dir" : "a new dir";
		if (lst)
			aside_lower(f, path, lchild, opaque ? "hidden by an opaque dir"
							    : "replaced by a dir");
		if (at.layer != LOWER)
			move(f, at, path, 0, what);
		/* with layers below, its marks are below_marks' to keep or change */
		plan_xattrs(f, path, -1, NULL, udfd, name,
			    f->multi ? 1u << OVL_XA_OPAQUE | 1u << OVL_XA_REDIRECT : 0);
		below = below_marks(f, path, udfd, name, below, bpos);
		walk(f, cfd, path, (struct where){ LOWER, path }, NULL, below, xwh, depth + 1);
		attr(f, path, st, "its times, after its entries");
	} else {
		int ldfd = open_lower_parent(f, lchild, &leaf);
		below = below_marks(f, path, ldfd, leaf, below, bpos);
		walk(f, cfd, path, at, lchild, below, xwh, depth + 1);
		if (ldfd >= 0) {
			take_meta(f, path, udfd, name, st, ldfd, leaf, "a merged dir: the upper's metadata");
			close(ldfd);
		}
	}
out:
	free(src);
	free(moved);
	free(below);
	free(bpos);
	close(cfd);
}

/* Any entry of the upper, with what the lower holds at its name. */
static void entry(struct fold *f, int udfd, const char *name, const char *path, struct where at,
		  const char *lorig, const char *borig, bool xwhiteouts, int depth)
{
	struct stat st, lst;
	struct ovl_xattrs xa;
	char *lchild = lorig ? join(lorig, name) : NULL;
	bool lower_here = lchild && lstat_lower(f, lchild, &lst) == 0;

	if (fstatat(udfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    ovl_xattrs_read(udfd, name, f->s->ns, &xa) < 0) {
		refuse(f, path, "an upper entry that cannot be read");
		free(lchild);
		return;
	}
	bool whiteout = ovl_is_whiteout_stat(&st) ||
			(xwhiteouts && S_ISREG(st.st_mode) && ovl_xattrs_has(&xa, OVL_XA_WHITEOUT));
	struct where here = { at.layer, NULL };
	char *hpath = join(at.path, name);
	here.path = hpath;

	if (whiteout) {
		/* it stays, in L1, over a name a layer below shows */
		char *bpos = borig ? join(borig, name) : NULL;
		bool keep = f->multi && below_shows(f, bpos);
		free(bpos);
		if (lower_here)
			aside_lower(f, path, lchild, "deleted (a whiteout)");
		if (keep && !S_ISCHR(st.st_mode))
			refuse(f, path, "an xattr whiteout over a layer below the top lower (merge "
				       "--into DIR copies the view)");
		else if (keep && at.layer != LOWER)
			move(f, here, path, 0, "a whiteout over the layers below");
		else if (!keep && at.layer == LOWER)
			aside(f, LOWER, path, "a whiteout");
	} else if (S_ISDIR(st.st_mode)) {
		dir(f, udfd, name, &st, &xa, path, here, lorig, borig, lchild,
		    lower_here ? &lst : NULL, depth);
	} else {
		/* an upper inode of several names: the first carries it */
		char key[64];
		size_t first_len = 0;
		const char *first = NULL;
		if (st.st_nlink > 1) {
			snprintf(key, sizeof(key), "%llu:%llu", (unsigned long long)st.st_dev,
				 (unsigned long long)st.st_ino);
			first = ovl_strset_get(f->inodes, key, strlen(key), &first_len);
			if (!first)
				ovl_strset_put(f->inodes, key, strlen(key), path, strlen(path) + 1);
		}
		bool mc = S_ISREG(st.st_mode) && ovl_xattrs_has(&xa, OVL_XA_METACOPY);
		if (mc && st.st_nlink > 1)
			ovl_strset_add(f->mc_inodes, key, strlen(key));
		if (mc && first) {
			char *v = place(LOWER, first);
			if (at.layer == LOWER)
				aside(f, LOWER, path, "a metacopy stub");
			else if (lower_here)
				aside_lower(f, path, lchild, "replaced by a hard link");
			add(f, OVL_FIX_MG_LINK, LOWER, path, v, strlen(v), 0,
			    "a hard link of a metacopy file");
			free(v);
		} else if (mc) {
			metacopy(f, udfd, name, &st, &xa, path, here, lorig, borig, lchild, lower_here);
		} else {
			if (lower_here)
				aside_lower(f, path, lchild, "replaced by the upper entry");
			if (at.layer != LOWER)
				move(f, here, path, S_ISREG(st.st_mode) ? (unsigned long long)st.st_size : 0,
				     "the upper entry");
			if (!first)
				plan_xattrs(f, path, -1, NULL, udfd, name, 0);
		}
	}
	ovl_xattrs_free(&xa);
	free(hpath);
	free(lchild);
}

static void walk(struct fold *f, int udfd, const char *path, struct where at, const char *lorig,
		 const char *borig, bool xwhiteouts, int depth)
{
	size_t n;
	char **names;

	if (depth > 4096) {
		refuse(f, path, "too deep");
		return;
	}
	if (!(names = ovl_dir_names(udfd, ".", &n))) {
		refuse(f, path, "an upper dir that cannot be read");
		return;
	}
	for (size_t i = 0; i < n && !f->refused; i++) {
		char *cp = join(path, names[i]);
		entry(f, udfd, names[i], cp, at, lorig, borig, xwhiteouts, depth);
		free(cp);
	}
	ovl_dir_names_free(names);
}

/* ---- the plan ---- */

static int by_depth(const void *a, const void *b)
{
	const struct stage *x = a, *y = b;

	if (x->link != y->link)
		return x->link ? -1 : 1;	/* links first: they move nothing */
	return y->depth - x->depth;
}

static void indexed_alias(const char *path, const struct ovl_mentry *e, void *arg)
{
	struct fold *f = arg;

	f->alias = ovl_xrealloc(f->alias, (f->nalias + 1) * sizeof(*f->alias));
	f->alias[f->nalias].path = ovl_xstrdup(path);
	snprintf(f->alias[f->nalias].key, sizeof(f->alias[f->nalias].key), "%llu:%llu",
		 (unsigned long long)e->st.st_dev, (unsigned long long)e->st.st_ino);
	f->nalias++;
}

/*
 * A lower hard link the index shows as the upper inode copied up under
 * another name: a link of that inode's first name, once all moved (a
 * metacopy inode's data is this very lower inode: nothing to do). Its
 * dir's times are put back after: the upper dir's, or the lower dir's
 * when the upper has none.
 */
static void link_aliases(struct fold *f, int ufd)
{
	struct ovl_strset *dirs = ovl_strset_new();

	for (size_t i = 0; i < f->nalias && !f->refused; i++) {
		const char *a = f->alias[i].path, *key = f->alias[i].key;
		size_t len;
		const char *first = ovl_strset_get(f->inodes, key, strlen(key), &len);
		if (ovl_strset_has(f->mc_inodes, key, strlen(key)))
			continue;
		if (!first) {
			refuse(f, a, "a lower hard link whose upper inode has no name in the upper");
			break;
		}
		char *dir = ovl_xstrdup(a);
		char *slash = strrchr(dir, '/');
		slash[slash == dir ? 1 : 0] = '\0';
		struct stat st, ast;
		const char *p = dir[1] ? dir + 1 : ".";
		bool in_upper = fstatat(ufd, p, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (!in_upper && lstat_lower(f, dir, &st) < 0) {
			/* only a layer below L1 holds its dir: L1 has no place for it */
			refuse(f, a, "a lower hard link of a copied-up file in a dir only a layer below "
				     "holds (merge --into DIR copies the view)");
			free(dir);
			break;
		}
		char *v = place(LOWER, first);
		if (lstat_lower(f, a, &ast) == 0)	/* else a layer below holds it */
			aside(f, LOWER, a, "a lower hard link of a copied-up file");
		add(f, OVL_FIX_MG_LINK, LOWER, a, v, strlen(v), 0, "a hard link of the copied-up file");
		free(v);
		if (ovl_strset_add(dirs, dir, strlen(dir)))
			attr(f, dir, &st, "a dir's times, after a hard link in it");
		free(dir);
	}
	ovl_strset_free(dirs);
}

static void put_step(struct ovl_layers_plan *p, const struct step *s)
{
	/* ovl_layers_plan_add takes the path as a C string, the value as bytes */
	ovl_layers_plan_add(p, s->op, s->layer, s->path, s->val, s->len, s->bytes, s->why);
}

/* The layers one merge in place can fold, or a reason. */
static const char *foldable(struct ovl_stack *s)
{
	struct stat u, l, w;

	if (!s->has_upper || s->nlower < 1 || s->ndata)
		return "merge in place folds the upper into the stack's top lower layer, not with "
		       "data-only layers; use merge --into DIR";
	if (!s->has_work)
		return "merge in place needs the work dir (-w or workdir=): its journal and attic "
		       "live there";
	if (fstat(s->layers[0].fd, &u) < 0 || fstat(s->layers[1].fd, &l) < 0 ||
	    fstat(s->workfd, &w) < 0)
		return "the layers cannot be read";
	if (u.st_dev != l.st_dev || u.st_dev != w.st_dev)
		return "the upper and the lower are on different filesystems: merge in place "
		       "only renames; use merge --into DIR to copy";
	return NULL;
}

int ovl_layers_fold_plan(struct ovl_stack *s, struct ovl_layers_plan *p, char *why, size_t whylen)
{
	struct fold f = { .s = s, .why = why, .whylen = whylen };
	const char *no = foldable(s);
	struct stat ust, lst;

	if (no) {
		snprintf(why, whylen, "%s", no);
		return 1;
	}
	f.lfd = s->layers[LOWER].fd;
	f.multi = s->nlower > 1;
	f.staged = ovl_strset_new();
	f.inodes = ovl_strset_new();
	f.moved_top = ovl_strset_new();
	f.mc_inodes = ovl_strset_new();
	ovl_mview_indexed(s, indexed_alias, &f);
	int ufd = openat(s->layers[0].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ufd < 0 || fstat(ufd, &ust) < 0 || fstat(f.lfd, &lst) < 0) {
		ovl_close_keep_errno(ufd);
		return -1;
	}
	if (!f.refused)
		walk(&f, ufd, "/", (struct where){ 0, "/" }, "/", f.multi ? "/" : NULL, false, 0);
	link_aliases(&f, ufd);
	/* 4: the root */
	if (!f.refused)
		take_meta(&f, "/", ufd, ".", &ust, f.lfd, ".", "the root: the upper root's metadata");

	add(&f, OVL_FIX_MG_BEGIN, OVL_FIX_WORKDIR, "/" OVL_FOLD_ATTIC, NULL, 0, 0, "the attic");
	struct step begin = f.v[--f.n];
	ovl_layers_plan_add(p, begin.op, begin.layer, begin.path, NULL, 0, 0, begin.why);
	free(begin.path);
	/* 2: the staged sources */
	if (f.nst)
		qsort(f.st, f.nst, sizeof(*f.st), by_depth);
	for (size_t i = 0; i < f.nst; i++) {
		char *v = place(LOWER, f.st[i].src);
		ovl_layers_plan_add(p, f.st[i].link ? OVL_FIX_MG_LINK : OVL_FIX_MG_MOVE,
				    OVL_FIX_WORKDIR, f.st[i].name, v, strlen(v), 0,
				    f.st[i].link ? "a renamed metacopy file's data, kept"
						 : "a renamed dir's lower dir, staged");
		free(v);
	}
	/* 3 and 4 */
	for (size_t i = 0; i < f.n; i++) {
		const struct step *st = &f.v[i];
		if (!st->unless_staged ||
		    !ovl_strset_has(f.staged, st->unless_staged, strlen(st->unless_staged)))
			put_step(p, st);
	}
	/* 5: what is left of the upper, W/work, W/index */
	size_t n, left = f.n;
	char **names = ovl_dir_names(ufd, ".", &n);
	for (size_t i = 0; names && i < n; i++) {
		char *top = join("/", names[i]);
		if (!ovl_strset_has(f.moved_top, top, strlen(top)))
			aside(&f, 0, top, "emptying the upper");
		free(top);
	}
	ovl_dir_names_free(names);
	if (s->workworkfd >= 0)
		aside(&f, OVL_FIX_WORKDIR, "/work", "emptying the work dir");
	if (s->indexfd >= 0)
		aside(&f, OVL_FIX_WORKDIR, "/index", "emptying the index");
	for (size_t i = left; i < f.n; i++)
		put_step(p, &f.v[i]);
	ovl_layers_plan_add(p, OVL_FIX_MG_COMMIT, OVL_FIX_WORKDIR, "/" OVL_FOLD_ATTIC, NULL, 0, 0,
			    "the commit: the attic removed");
	close(ufd);
	for (size_t i = 0; i < f.n; i++) {
		free(f.v[i].path);
		free(f.v[i].val);
		free(f.v[i].unless_staged);
	}
	free(f.v);
	for (size_t i = 0; i < f.nst; i++)
		free(f.st[i].src);
	free(f.st);
	ovl_strset_free(f.staged);
	ovl_strset_free(f.inodes);
	ovl_strset_free(f.moved_top);
	ovl_strset_free(f.mc_inodes);
	for (size_t i = 0; i < f.nalias; i++)
		free(f.alias[i].path);
	free(f.alias);
	return f.refused ? 1 : 0;
}

/* ---- a run that did not end ---- */

/* Does the journal record the commit (its change begun)? */
static bool committed(const char *path)
{
	FILE *in = fopen(path, "re");
	struct journal_file jf;
	char err[256];
	bool yes = false;

	if (!in)
		return false;
	if (ovl_journal_parse(in, &jf, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < jf.n; i++)
			yes |= jf.recs[i].op == OVL_FIX_MG_COMMIT;
		ovl_journal_file_free(&jf);
	}
	fclose(in);
	return yes;
}

int ovl_layers_fold_pending(const struct ovl_stack *s)
{
	struct stat st;

	return s->has_work && (fstatat(s->workfd, OVL_FOLD_ATTIC, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
			       fstatat(s->workfd, OVL_FOLD_ATTIC ".commit", &st,
				       AT_SYMLINK_NOFOLLOW) == 0);
}

int ovl_layers_fold_resume(struct ovl_stack *s, char *msg, size_t msglen)
{
	char journal[4096];
	struct stat st;

	if (!s->has_work)
		return 0;
	if (fstatat(s->workfd, OVL_FOLD_ATTIC ".commit", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (ovl_rm_tree(s->workfd, OVL_FOLD_ATTIC ".commit", st.st_dev, 0) < 0) {
			snprintf(msg, msglen, "cannot remove the attic of a committed merge: %s",
				 strerror(errno));
			return 8;
		}
		snprintf(msg, msglen, "finished the commit of a merge a killed run left");
		return 1;
	}
	int a = ovl_open_beneath(s->workfd, OVL_FOLD_ATTIC, strlen(OVL_FOLD_ATTIC),
				 O_PATH | O_DIRECTORY);
	if (a < 0)
		return 0;
	int fd = openat(a, "journal", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, journal, sizeof(journal) - 1) : -1;
	ovl_close_keep_errno(fd);
	close(a);
	if (n <= 0) {
		/* killed between the attic and its journal's name: nothing moved */
		if (unlinkat(s->workfd, OVL_FOLD_ATTIC, AT_REMOVEDIR) < 0) {
			snprintf(msg, msglen, "W/%s names no journal and is not empty: %s",
				 OVL_FOLD_ATTIC, strerror(errno));
			return 8;
		}
		snprintf(msg, msglen, "removed the empty attic of a killed merge");
		return 1;
	}
	journal[n] = '\0';
	if (committed(journal)) {
		/* every change made, the commit begun: it is finished */
		if (renameat(s->workfd, OVL_FOLD_ATTIC, s->workfd, OVL_FOLD_ATTIC ".commit") < 0)
			return 8;
		return ovl_layers_fold_resume(s, msg, msglen);
	}
	char err[512];
	int rc = ovl_repair_undo(s, journal, err, sizeof(err));
	if (rc) {
		snprintf(msg, msglen, "a killed merge left W/%s; rolling it back failed: %s",
			 OVL_FOLD_ATTIC, err);
		return rc;
	}
	snprintf(msg, msglen, "rolled back the merge a killed run left (journal %s)", journal);
	return 1;
}
