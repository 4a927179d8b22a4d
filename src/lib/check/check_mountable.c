/*
 * Will it mount? Pass 1, before any walk: the reasons the kernel would
 * refuse the mount of this stack (or mount it degraded), each reported
 * as a problem instead of the kernel's bare EINVAL. Found by reading the
 * kernel (fs/overlayfs super.c, params.c, util.c) and by mounting each
 * case on Linux 6.18 (tests/kernel/premount.sh):
 *
 *   upper and work on two mounts            EINVAL
 *   work and upper not separate subtrees    EINVAL
 *   a lower dir that is another layer       ELOOP ("conflicting")
 *   a lower dir inside another layer        ELOOP ("overlapping")
 *   upper or work inside a lower            mounts; that path gives ELOOP
 *   a layer (or an ancestor) is the upper   EBUSY with index=on, else a
 *     or work dir of a mounted overlay        warning only
 *   overlay on overlay on overlay           EINVAL (FILESYSTEM_MAX_STACK_DEPTH 2)
 *   upper on an overlayfs                   EINVAL
 *   no d_type on the upper                  mounts; whiteouts stay listed
 *   no overlay xattrs on the upper          mounts without index, metacopy,
 *                                             redirects (nofollow), uuid=null
 *   too few free inodes for W/work and      ENOSPC
 *     the kernel's probe files
 *
 * Everything here only reads: fstat/statx, fstatfs/fstatvfs, ".." by fd,
 * one fgetxattr and one getdents of a layer root, /proc/self/mountinfo.
 * Nothing is created to probe.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "overlay/util.h"
#include "internal.h"

#define OVL_SUPER_MAGIC		0x794c7630	/* OVERLAYFS_SUPER_MAGIC */
#define OVL_MAX_STACK_DEPTH	2		/* FILESYSTEM_MAX_STACK_DEPTH */
#define OVL_ANCESTORS_MAX	4096

struct mnt_devino {
	dev_t dev;
	ino_t ino;
};

/* One dir of the stack as the kernel takes it at mount. */
struct mdir {
	const char *name;	/* "upper", "work", "lower1", "data1" */
	const char *what;	/* "upper dir", "work dir", "lower dir", "data dir" */
	const char *path;	/* as given */
	bool lower;		/* lower or data: the kernel traps these */
	uint64_t mnt;		/* mount id (st_dev without statx) */
	struct mnt_devino *anc;	/* [0] the dir, then its ancestors to its mount root */
	size_t nanc;
};

/* A layer dir of a mounted overlay (from mountinfo). */
struct mnt_layer {
	char *mnt;		/* the overlay's mount point */
	dev_t ovl_dev;		/* the overlay's own st_dev */
	char key[12];		/* "upperdir", "workdir", "lowerdir", "datadir" */
	char *path;
	bool have;		/* path could be stat'ed: dev/ino valid */
	struct mnt_devino di;
};

struct mnt_list {
	struct mnt_layer *v;
	size_t n, cap;
};

static uint64_t mount_id(int fd, dev_t dev)
{
#ifdef STATX_MNT_ID
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) == 0 &&
	    (stx.stx_mask & STATX_MNT_ID))
		return stx.stx_mnt_id;
#else
	(void)fd;
#endif
	return (uint64_t)dev | (1ull << 63);
}

/*
 * dev/ino of dir fd and of every ancestor up to the root of its mount:
 * the kernel looks for other layers among the parents of a layer root
 * inside its filesystem, so ".." is followed by fd (no path strings)
 * and the walk stops where ".." would leave the mount.
 */
static void ancestors(struct mdir *d, int fd)
{
	size_t cap = 16;
	struct stat st;
	int cur = fd;

	d->anc = ovl_xmalloc(cap * sizeof(*d->anc));
	d->nanc = 0;
	if (fstat(fd, &st) < 0)
		return;
	d->mnt = mount_id(fd, st.st_dev);
	for (;;) {
		if (d->nanc == cap) {
			cap *= 2;
			d->anc = ovl_xrealloc(d->anc, cap * sizeof(*d->anc));
		}
		d->anc[d->nanc].dev = st.st_dev;
		d->anc[d->nanc].ino = st.st_ino;
		d->nanc++;
		if (d->nanc >= OVL_ANCESTORS_MAX)
			break;
		int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cur != fd)
			close(cur);
		cur = up;
		if (cur < 0 || fstat(cur, &st) < 0)
			break;
		struct mnt_devino *last = &d->anc[d->nanc - 1];
		if (st.st_dev == last->dev && st.st_ino == last->ino)
			break;	/* "/" */
		if (st.st_dev != last->dev || mount_id(cur, st.st_dev) != d->mnt)
			break;	/* ".." left the mount */
	}
	if (cur >= 0 && cur != fd)
		close(cur);
}

static bool devino_eq(const struct mnt_devino *a, const struct mnt_devino *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

static bool same(const struct mdir *a, const struct mdir *b)
{
	return a->nanc && b->nanc && devino_eq(&a->anc[0], &b->anc[0]);
}

/* Is b itself (or, with strict, only an ancestor of a) among a's dirs? */
static bool below(const struct mdir *a, const struct mdir *b, bool strict)
{
	if (!a->nanc || !b->nanc)
		return false;
	for (size_t i = strict ? 1 : 0; i < a->nanc; i++)
		if (devino_eq(&a->anc[i], &b->anc[0]))
			return true;
	return false;
}

static void report(struct ovl_ctx *c, const char *layer, enum ovl_problem_code code,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(struct ovl_ctx *c, const char *layer, enum ovl_problem_code code,
		   const char *fmt, ...)
{
	char detail[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	ovl_report_at(c, layer, "/", code, detail);
}

/* The dirs the kernel takes: upper, W, the lowers, the data layers. */
static size_t collect_dirs(struct ovl_stack *s, struct mdir *d)
{
	size_t n = 0;

	for (int i = 0; i < s->nlayers; i++) {
		struct ovl_layer *L = &s->layers[i];

		if (L->fd < 0)
			continue;
		d[n].name = L->name;
		d[n].path = L->path;
		d[n].lower = L->kind != OVL_LAYER_UPPER;
		d[n].what = L->kind == OVL_LAYER_UPPER ? "upper dir" :
			    L->kind == OVL_LAYER_LOWER ? "lower dir" : "data dir";
		ancestors(&d[n++], L->fd);
		if (i == 0 && s->workfd >= 0) {
			d[n].name = "work";
			d[n].what = "work dir";
			d[n].path = s->workdir;
			ancestors(&d[n++], s->workfd);
		}
	}
	return n;
}

/*
 * How the dirs lie to each other. True when the kernel refuses the
 * layers as given: then they are not one stack, and repairing them as
 * one would be wrong.
 */
static bool check_layout(struct ovl_ctx *c, struct mdir *d, size_t n)
{
	bool refused = false;
	size_t i, j;

	/* upper and W: d[0] and d[1] when both are there */
	if (c->s->has_upper && c->s->workfd >= 0 && n >= 2) {
		if (d[0].mnt != d[1].mnt) {
			report(c, "work", PR_STK_WORK_OTHER_MOUNT, "work dir %s, upper dir %s",
			       d[1].path, d[0].path);
			refused = true;
		} else if (below(&d[0], &d[1], false) || below(&d[1], &d[0], false)) {
			report(c, "work", PR_STK_WORK_NESTED, "work dir %s, upper dir %s",
			       d[1].path, d[0].path);
			refused = true;
		}
	}
	for (i = 0; i < n; i++) {
		if (!d[i].lower)
			continue;
		/* the same dir as a layer before it (a trap already set) */
		for (j = 0; j < i; j++)
			if (same(&d[i], &d[j]))
				break;
		if (j < i) {
			report(c, d[i].name, PR_STK_LAYER_TWICE, "%s %s is also %s %s",
			       d[i].what, d[i].path, d[j].what, d[j].path);
			refused = true;
			continue;
		}
		/* any other layer among its parents */
		for (j = 0; j < n; j++)
			if (j != i && below(&d[i], &d[j], true))
				break;
		if (j < n) {
			report(c, d[i].name, PR_STK_LAYER_NESTED, "%s %s is inside %s %s",
			       d[i].what, d[i].path, d[j].what, d[j].path);
			refused = true;
		}
	}
	/* upper or W inside a lower: the kernel mounts it, then refuses the
	 * lookup that would reach it */
	for (i = 0; i < n; i++) {
		if (d[i].lower)
			continue;
		for (j = 0; j < n; j++) {
			if (d[j].lower && below(&d[i], &d[j], true)) {
				report(c, d[i].name, PR_STK_UPPER_IN_LOWER, "%s %s is inside %s %s",
				       d[i].what, d[i].path, d[j].what, d[j].path);
				break;
			}
		}
	}
	return refused;
}

/* ---- mounted overlays ---- */

static int collect_mount(void *arg, const char *mnt, dev_t dev, const char *key,
			 const char *path)
{
	struct mnt_list *l = arg;
	struct stat st;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = ovl_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	struct mnt_layer *m = &l->v[l->n++];
	memset(m, 0, sizeof(*m));
	m->mnt = ovl_xstrdup(mnt);
	m->ovl_dev = dev;
	snprintf(m->key, sizeof(m->key), "%s", key);
	m->path = ovl_xstrdup(path);
	/* relative paths were the mounter's: taken from our cwd, as
	 * ovl_stack_mounted does; a path that is gone tells nothing */
	if (*path && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		m->have = true;
		m->di.dev = st.st_dev;
		m->di.ino = st.st_ino;
	}
	return 0;
}

static void free_mounts(struct mnt_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].mnt);
		free(l->v[i].path);
	}
	free(l->v);
}

/* Would this stack be mounted with index=on? */
static bool index_at_mount(const struct ovl_stack *s)
{
	char v = 'N';
	FILE *f;

	if (!s->has_upper)
		return false;	/* a lower-only mount ignores index */
	if (s->opts.index != OVL_UNSET)
		return s->opts.index == OVL_ON;
	if (s->index)
		return true;	/* W/index in use: it is meant to be mounted so */
	/* else the module's default */
	f = fopen("/sys/module/overlay/parameters/index", "re");
	if (f) {
		if (fscanf(f, " %c", &v) != 1)
			v = 'N';
		fclose(f);
	}
	return v == 'Y' || v == 'y' || v == '1';
}

/*
 * A dir of ours (or one of its parents) that a mounted overlay uses as
 * upper or work dir: the kernel marks those in use and checks every
 * layer of a new mount and its parents against the marks.
 */
/* Is the overlay of ml->v[k] this very stack (its upper and work dirs
 * ours: d[0] and d[1])? */
static bool is_this_stack(const struct mnt_list *ml, size_t k, const struct mdir *d, size_t n)
{
	bool upper = false, work = n < 2 || d[1].lower;

	if (!n || d[0].lower || !d[0].nanc || (!work && !d[1].nanc))
		return false;
	for (size_t j = 0; j < ml->n; j++) {
		const struct mnt_layer *m = &ml->v[j];

		if (m->ovl_dev != ml->v[k].ovl_dev || !m->have)
			continue;
		if (!strcmp(m->key, "upperdir") && devino_eq(&m->di, &d[0].anc[0]))
			upper = true;
		if (!strcmp(m->key, "workdir") && !work && devino_eq(&m->di, &d[1].anc[0]))
			work = true;
	}
	return upper && work;
}

static void check_in_use(struct ovl_ctx *c, struct mdir *d, size_t n,
			 const struct mnt_list *ml)
{
	bool busy = index_at_mount(c->s);

	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < ml->n; k++) {
			const struct mnt_layer *m = &ml->v[k];
			size_t a;

			if (!m->have || (strcmp(m->key, "upperdir") && strcmp(m->key, "workdir")))
				continue;
			/* the stack itself mounted: the caller says so already
			 * (and refuses to repair it); it is not "another" mount */
			if (is_this_stack(ml, k, d, n))
				continue;
			for (a = 0; a < d[i].nanc; a++)
				if (devino_eq(&d[i].anc[a], &m->di))
					break;
			if (a == d[i].nanc)
				continue;
			report(c, d[i].name, busy ? PR_STK_IN_USE_BUSY : PR_STK_IN_USE,
			       "%s %s %s the %s %s of the overlay mounted on %s",
			       d[i].what, d[i].path, a ? "lies inside" : "is", m->key,
			       m->path, m->mnt);
			break;
		}
	}
}

/*
 * How deep an overlay is stacked: 1 + the deepest of its layers, each 0
 * unless it is itself on an overlay. Bounded: a loop in what mountinfo
 * says cannot recurse forever.
 */
static int overlay_depth(const struct mnt_list *ml, dev_t dev, int limit);

static int path_depth(const struct mnt_list *ml, const char *path, int limit)
{
	struct statfs sf;
	struct stat st;

	if (statfs(path, &sf) < 0 || sf.f_type != OVL_SUPER_MAGIC || stat(path, &st) < 0)
		return 0;
	return overlay_depth(ml, st.st_dev, limit);
}

static int overlay_depth(const struct mnt_list *ml, dev_t dev, int limit)
{
	int depth = 0;

	/* an overlay mountinfo does not show (another mount namespace)
	 * counts as itself only */
	if (limit <= 0)
		return OVL_MAX_STACK_DEPTH + 1;
	for (size_t k = 0; k < ml->n; k++) {
		if (ml->v[k].ovl_dev != dev || !strcmp(ml->v[k].key, "workdir"))
			continue;
		int d = path_depth(ml, ml->v[k].path, limit - 1);
		if (d > depth)
			depth = d;
	}
	return depth + 1;
}

static const char *overlay_mnt(const struct mnt_list *ml, dev_t dev)
{
	for (size_t k = 0; k < ml->n; k++)
		if (ml->v[k].ovl_dev == dev)
			return ml->v[k].mnt;
	return "(not in this mount namespace)";
}

static void check_depth(struct ovl_ctx *c, const struct mnt_list *ml)
{
	struct ovl_stack *s = c->s;
	int deepest = 0, at = -1;

	for (int i = 0; i < s->nlayers; i++) {
		struct ovl_layer *L = &s->layers[i];
		struct statfs sf;

		if (L->fd < 0 || fstatfs(L->fd, &sf) < 0 || sf.f_type != OVL_SUPER_MAGIC)
			continue;
		if (L->kind == OVL_LAYER_UPPER)
			report(c, L->name, PR_STK_UPPER_ON_OVERLAY, "%s is on the overlay mounted on %s",
			       L->path, overlay_mnt(ml, L->dev));
		int d = overlay_depth(ml, L->dev, OVL_MAX_STACK_DEPTH + 1);
		if (d > deepest) {
			deepest = d;
			at = i;
		}
	}
	if (at >= 0 && deepest + 1 > OVL_MAX_STACK_DEPTH) {
		struct ovl_layer *L = &s->layers[at];
		report(c, L->name, PR_STK_TOO_DEEP,
		       "%s is on the overlay mounted on %s, itself on an overlay: this one would be %d deep",
		       L->path, overlay_mnt(ml, L->dev), deepest + 1);
	}
}

/* ---- the filesystems ---- */

/*
 * Does the filesystem of dir fd fill in d_type? As the kernel finds out
 * (it reads the work dir): any entry, "." included, with a type says yes.
 */
static bool has_dtype(int fd)
{
	char buf[4096] __attribute__((aligned(8)));
	bool yes = true;
	int rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (rfd < 0)
		return true;	/* cannot tell: say nothing */
	ssize_t len = getdents64(rfd, buf, sizeof(buf));
	if (len > 0) {
		yes = false;
		for (ssize_t off = 0; off < len;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);

			if (de->d_type != DT_UNKNOWN) {
				yes = true;
				break;
			}
			off += de->d_reclen;
		}
	}
	close(rfd);
	return yes;
}

static void check_dtype(struct ovl_ctx *c)
{
	struct ovl_stack *s = c->s;

	/* the upper's whiteouts hide lower names; a lower's only those of
	 * the lowers below it: the lowest regular lower needs no types */
	for (int i = 0; i < s->nlower; i++) {
		struct ovl_layer *L = &s->layers[i];
		int fd = i == 0 && s->workfd >= 0 ? s->workfd : L->fd;

		if (L->fd < 0 || L->fs != i)
			continue;	/* one look per filesystem */
		if (!has_dtype(fd))
			report(c, L->name, PR_STK_NO_DTYPE, "%s (xfs made with ftype=0, ext4 without filetype?)",
			       i == 0 && s->workfd >= 0 ? s->workdir : L->path);
	}
}

/* Can the filesystem of dir fd hold xattrs of this prefix at all? */
static bool xattr_ns_ok(int fd, const char *prefix)
{
	char name[64];
	char v[1];
	int rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = true;

	if (rfd < 0)
		return true;
	snprintf(name, sizeof(name), "%soverlay.opaque", prefix);
	if (fgetxattr(rfd, name, v, sizeof(v)) < 0 && (errno == EOPNOTSUPP || errno == ENOTSUP))
		ok = false;
	close(rfd);
	return ok;
}

static void check_xattr(struct ovl_ctx *c)
{
	struct ovl_stack *s = c->s;
	struct ovl_layer *U = ovl_stack_upper(s);
	bool user = s->ns == OVL_NS_USER;

	if (!U || U->fd < 0 || xattr_ns_ok(U->fd, user ? "user." : "trusted."))
		return;
	/* what the stack asks for or already uses and would lose */
	bool needed = s->opts.metacopy == OVL_ON || s->opts.index == OVL_ON || s->index ||
		      s->opts.redirect_dir == OVL_REDIRECT_ON || s->opts.nfs_export == OVL_ON ||
		      s->opts.verity == OVL_VERITY_ON || s->opts.verity == OVL_VERITY_REQUIRE;
	const char *hint = !user && xattr_ns_ok(U->fd, "user.") ?
			   "; user.* xattrs work there: mount with userxattr" : "";

	report(c, "upper", needed ? PR_STK_NO_XATTR : PR_STK_XATTR_FALLBACK,
	       "no %s.* xattrs on the filesystem of %s%s", user ? "user" : "trusted",
	       U->path, hint);
}

static bool upper_statvfs(const struct ovl_stack *s, struct statvfs *sv)
{
	const struct ovl_layer *U = s->has_upper ? &s->layers[0] : NULL;

	return U && U->fd >= 0 && fstatvfs(U->fd, sv) == 0;
}

/*
 * Room for what the kernel creates at mount: W/work (made again each
 * time), W/index when missing, a temp file and a whiteout to probe
 * RENAME_WHITEOUT (ENOSPC there fails the mount), an O_TMPFILE probe.
 * Measured on tmpfs: 3 free inodes mount with W/work present, 2 fail.
 */
static void check_room(struct ovl_ctx *c)
{
	struct ovl_stack *s = c->s;
	struct statvfs sv;

	if (!s->has_work || !upper_statvfs(s, &sv))
		return;
	unsigned long need = 3 + (s->workworkfd < 0) + (index_at_mount(s) && s->indexfd < 0);
	/* f_files 0: the filesystem allocates inodes on demand (btrfs) */
	if (sv.f_files > 0 && sv.f_ffree < need)
		report(c, "upper", PR_STK_NO_INODES, "%lu free, the kernel needs %lu at mount",
		       (unsigned long)sv.f_ffree, need);
	if (sv.f_blocks > 0 && sv.f_bfree == 0)
		report(c, "upper", PR_STK_NO_SPACE, "no free blocks");
}

bool ovl_check_mountable(struct ovl_ctx *c)
{
	struct ovl_stack *s = c->s;
	struct mnt_list ml = { 0 };
	struct mdir *d = ovl_xcalloc((size_t)s->nlayers + 1, sizeof(*d));
	size_t n = collect_dirs(s, d);

	bool refused = check_layout(c, d, n);
	if (ovl_mountinfo_overlays(collect_mount, &ml) >= 0) {
		check_in_use(c, d, n, &ml);
		check_depth(c, &ml);
	}
	check_dtype(c);
	check_xattr(c);
	check_room(c);

	free_mounts(&ml);
	for (size_t i = 0; i < n; i++)
		free(d[i].anc);
	free(d);
	return refused;
}

void ovl_check_mountable_copyup(struct ovl_ctx *c)
{
	struct statvfs sv;

	if (!c->o->copy_up || !c->r->copy_bytes || !upper_statvfs(c->s, &sv))
		return;
	unsigned long long avail = (unsigned long long)sv.f_bfree * sv.f_frsize;
	if (sv.f_bfree > 0 && c->r->copy_bytes > avail)
		report(c, "upper", PR_STK_NO_SPACE, "the copy-ups need %llu bytes, %llu are free",
		       c->r->copy_bytes, avail);
}
