/*
 * The merged-view lookup (src/lib/core/merge.c) against small layer trees, and
 * against the kernel: every case that a mount can show is also mounted
 * (lowerdir=l1:l2::d1 with an upper) and what the kernel shows for the
 * path -- exists or not, EIO, type, file content unique per layer, dir
 * listing with one marker file per layer -- must agree with the lookup.
 * The kernel half is skipped, with the reason printed, where mounting is
 * impossible; the lookup half always runs.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "overlay/opts.h"
#include "overlay/stack.h"
#include "../../src/lib/core/merge.h"
#include "../../src/lib/walk/ahead.h"
#include "unit.h"

#define SUITE_TAG "merge"
#include "tmptree.h"

/* Layer dirs in stack order: upper, lower1, lower2, data1. */
static const char *const lname[] = { "u", "l1", "l2", "d1" };
#define UP 0
#define L1 1
#define L2 2
#define D1 3

static struct ovl_stack st;
static bool st_open;
static bool mounted;

static void mkd(const char *rel)
{
	char buf[PATH_MAX];
	char *s;

	snprintf(buf, sizeof(buf), "%s", P("%s", rel));
	for (s = buf + strlen(base) + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		ck_assert_msg(mkdir(buf, 0755) == 0 || errno == EEXIST, "mkdir %s: %s",
			      buf, strerror(errno));
		if (!c)
			break;
		*s = c;
	}
}

static void mkf(const char *rel, const char *content)
{
	int fd = open(P("%s", rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_msg(fd >= 0, "create %s: %s", rel, strerror(errno));
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

/* A file whose content names its layer and path: "l1:a/f\n". */
static void mkdata(int layer, const char *rel)
{
	char c[PATH_MAX];

	snprintf(c, sizeof(c), "%s:%s\n", lname[layer], rel);
	mkf(P("%s/%s", lname[layer], rel) + strlen(base) + 1, c);
}

/* A dir with a marker file "m.LAYER" so listings show who merged. */
static void mkdm(int layer, const char *rel)
{
	mkd(P("%s/%s", lname[layer], rel) + strlen(base) + 1);
	mkf(P("%s/%s/m.%s", lname[layer], rel, lname[layer]) + strlen(base) + 1, "");
}

static void xset(const char *rel, const char *name, const char *val)
{
	char xn[64];

	snprintf(xn, sizeof(xn), "trusted.overlay.%s", name);
	ck_assert_msg(lsetxattr(P("%s", rel), xn, val, strlen(val), 0) == 0,
		      "setxattr %s %s: %s", rel, xn, strerror(errno));
}

static void mkwh(const char *rel)
{
	ck_assert_msg(mknod(P("%s", rel), S_IFCHR | 0, makedev(0, 0)) == 0,
		      "mknod %s: %s", rel, strerror(errno));
}

static void mkxwh(const char *rel)
{
	mkf(rel, "");
	xset(rel, "whiteout", "");
}

/* A metacopy stub of the given size (the size of the data it stands for). */
static void mkmeta(const char *rel, off_t size, const char *redirect)
{
	mkf(rel, "");
	ck_assert_int_eq(truncate(P("%s", rel), size), 0);
	xset(rel, "metacopy", "");
	if (redirect)
		xset(rel, "redirect", redirect);
}

static void umount_all(void)
{
	if (mounted)
		umount2(P("m"), MNT_DETACH);
	mounted = false;
}

static void cleanup(void)
{
	char cmd[PATH_MAX];

	if (!base[0])
		return;
	umount_all();
	if (st_open)
		ovl_stack_close(&st);
	st_open = false;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", base);
	base[0] = '\0';
}

static void setup(void)
{
	ck_assert(top[0]);
	snprintf(base, sizeof(base), "%s/t-XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(base));
	for (int i = 0; i < 4; i++)
		mkd(lname[i]);
	mkd("w");
	mkd("m");
}

static void teardown(void)
{
	cleanup();
}

/* Every test uses the same shape: upper + work, two lowers, one data layer. */
static void open_stack(void)
{
	struct ovl_opts o;
	char err[512], opt[4 * PATH_MAX];

	snprintf(opt, sizeof(opt), "lowerdir=%s:%s::%s,upperdir=%s,workdir=%s,"
		 "metacopy=on,redirect_dir=on", P("l1"), P("l2"), P("d1"), P("u"), P("w"));
	ovl_opts_init(&o);
	ck_assert_msg(ovl_opts_parse(&o, opt, err, sizeof(err)) == 0, "%s", err);
	memset(&st, 0, sizeof(st));
	ck_assert_msg(ovl_stack_open(&st, &o, err, sizeof(err)) == OVL_STACK_OK, "%s", err);
	st_open = true;
	ovl_stack_detect(&st);
	ck_assert_int_eq(st.nlower, 2);
	ck_assert_int_eq(st.ndata, 1);
	ck_assert(st.redirect_follow);
}

/* ---- the lookup half ---- */

static char *raw_xattr(int layer, const char *rel, const char *name)
{
	char xn[64], buf[8192];
	ssize_t n;

	snprintf(xn, sizeof(xn), "trusted.overlay.%s", name);
	n = lgetxattr(P("%s/%s", lname[layer], rel), xn, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

struct lk {
	struct ovl_lookup_res r;
	struct ovl_below b;
};

/*
 * Look up rel ("a/b/c") of layer `layer` as the walker does: each
 * ancestor merged first (with its own redirect, nothing below an opaque
 * one), then the entry itself with its redirect and metacopy state.
 */
static void lookup(int layer, const char *rel, struct lk *out)
{
	struct ovl_below pb, cb;
	struct ovl_lookup_res tmp;
	char path[PATH_MAX], *comp, *slash;
	struct stat sb;

	ovl_below_init(&pb, &st);
	ovl_below_init(&cb, &st);
	ovl_below_init(&out->b, &st);
	ovl_below_root(&pb, &st, layer);
	snprintf(path, sizeof(path), "%s", rel);
	for (comp = path;; comp = slash + 1) {
		slash = strchr(comp, '/');
		if (slash)
			*slash = '\0';
		ck_assert_msg(lstat(P("%s/%s", lname[layer], path), &sb) == 0,
			      "%s/%s must exist", lname[layer], path);
		char *op = raw_xattr(layer, path, "opaque");
		char *rd = raw_xattr(layer, path, "redirect");
		bool opaque = S_ISDIR(sb.st_mode) && op && !strcmp(op, "y");
		char *mc = raw_xattr(layer, path, "metacopy");
		bool meta = S_ISREG(sb.st_mode) && mc;
		struct ovl_lookup_req req = {
			.name = comp,
			.redirect = opaque ? NULL : rd,
			.is_dir = S_ISDIR(sb.st_mode),
			.want_data = meta,
			.want_data_fd = meta,
			.want_fh = true,
			.layer = layer,
		};
		struct ovl_below *dst = slash ? &cb : &out->b;

		if (!req.is_dir && !meta)
			req.redirect = NULL;
		ck_assert_int_eq(ovl_merge_lookup(&st, &pb, &req,
						  opaque ? NULL : dst,
						  slash ? &tmp : &out->r), 0);
		if (opaque)
			ovl_below_release(dst);
		free(op);
		free(rd);
		free(mc);
		if (!slash)
			break;
		if (tmp.data_fd >= 0)
			close(tmp.data_fd);
		*slash = '/';
		struct ovl_below t = pb;
		pb = cb;
		cb = t;
	}
	ovl_below_free(&pb);
	ovl_below_free(&cb);
}

static void lk_free(struct lk *l)
{
	if (l->r.data_fd >= 0)
		close(l->r.data_fd);
	ovl_below_free(&l->b);
}

/* The layers of the below set, as "1,2". */
static const char *below_str(const struct ovl_below *b)
{
	static char s[64];
	size_t n = 0;

	s[0] = '\0';
	for (int i = 0; i < b->n; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%d", i ? "," : "", b->d[i].layer);
	return s;
}

#define CHECK_FIRST(l, kind, layer)					\
	do {								\
		ck_assert_int_eq((l).r.first, (kind));			\
		ck_assert_int_eq((l).r.first_layer, (layer));		\
	} while (0)

/* ---- the kernel half ---- */

static char skip_reason[256];

static bool kmount(void)
{
	char opt[4 * PATH_MAX];

	snprintf(opt, sizeof(opt), "lowerdir=%s:%s::%s,upperdir=%s,workdir=%s,"
		 "index=off,metacopy=on,redirect_dir=on",
		 P("l1"), P("l2"), P("d1"), P("u"), P("w"));
	if (mount("overlay", P("m"), "overlay", 0, opt) < 0) {
		snprintf(skip_reason, sizeof(skip_reason), "mount -t overlay: %s",
			 strerror(errno));
		printf("# kernel half skipped: %s\n", skip_reason);
		fflush(stdout);
		return false;
	}
	mounted = true;
	return true;
}

/* errno of lstat in the merged view, 0 when it exists */
static int kstat(const char *rel, struct stat *sb)
{
	return lstat(P("m/%s", rel), sb) < 0 ? errno : 0;
}

static void k_absent(const char *rel, int err)
{
	struct stat sb;

	ck_assert_msg(kstat(rel, &sb) == err, "kernel: %s: want %s, got %s", rel,
		      strerror(err), strerror(kstat(rel, &sb)));
}

/* The merged file exists, and reading it gives want (NULL: the open
 * fails with errno open_err). */
static void k_file(const char *rel, const char *want, int open_err)
{
	struct stat sb;
	char buf[PATH_MAX];
	int fd, e = kstat(rel, &sb);

	ck_assert_msg(e == 0, "kernel: %s: %s", rel, strerror(e));
	ck_assert_msg(S_ISREG(sb.st_mode), "kernel: %s not a file", rel);
	fd = open(P("m/%s", rel), O_RDONLY);
	if (!want) {
		ck_assert_msg(fd < 0 && errno == open_err, "kernel: open %s: want %s, got %s",
			      rel, strerror(open_err), fd < 0 ? strerror(errno) : "success");
		if (fd >= 0)
			close(fd);
		return;
	}
	ck_assert_msg(fd >= 0, "kernel: open %s: %s", rel, strerror(errno));
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The merged dir exists and lists exactly these names (sorted, ","). */
static void k_dir(const char *rel, const char *want)
{
	struct stat sb;
	char *names[64], got[1024] = "";
	size_t n = 0, len = 0;
	struct dirent *de;
	DIR *d;
	int e = kstat(rel, &sb);

	ck_assert_msg(e == 0, "kernel: %s: %s", rel, strerror(e));
	ck_assert_msg(S_ISDIR(sb.st_mode), "kernel: %s not a dir", rel);
	d = opendir(P("m/%s", rel));
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) && n < 64)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s", i ? "," : "", names[i]);
		free(names[i]);
	}
	ck_assert_str_eq(got, want);
}

/* ---- dirs ---- */

START_TEST(test_plain_merge)
{
	struct lk l;

	mkdm(UP, "a");
	mkdm(L1, "a");
	mkdm(L2, "a");
	mkdm(UP, "a/b");
	mkdm(L2, "a/b");	/* lower1 has no a/b: skipped */
	open_stack();

	lookup(UP, "a", &l);
	CHECK_FIRST(l, OVL_HIT_DIR, L1);
	ck_assert_str_eq(below_str(&l.b), "1,2");
	ck_assert(!l.r.via_redirect);
	ck_assert(l.r.first_fh_ok);
	ck_assert(S_ISDIR(l.r.first_st.st_mode));
	ck_assert_int_eq(l.r.data_layer, -1);
	lk_free(&l);

	lookup(UP, "a/b", &l);
	CHECK_FIRST(l, OVL_HIT_DIR, L2);
	ck_assert_str_eq(below_str(&l.b), "2");
	lk_free(&l);

	/* from lower1's own walk: only lower2 lies below */
	lookup(L1, "a", &l);
	CHECK_FIRST(l, OVL_HIT_DIR, L2);
	ck_assert_str_eq(below_str(&l.b), "2");
	lk_free(&l);

	/* the root below set of each layer */
	struct ovl_below b;
	ovl_below_init(&b, &st);
	ovl_below_root(&b, &st, UP);
	ck_assert_str_eq(below_str(&b), "1,2");
	ovl_below_root(&b, &st, L2);
	ck_assert_str_eq(below_str(&b), "");
	ovl_below_free(&b);

	if (!kmount())
		return;
	k_dir("a", "b,m.l1,m.l2,m.u");
	k_dir("a/b", "m.l2,m.u");
}
END_TEST

START_TEST(test_whiteout_middle)
{
	struct lk l;

	mkdm(UP, "a");
	mkwh("l1/a");
	mkdm(L2, "a");
	mkwh("l1/f");
	mkdata(L2, "f");
	open_stack();

	lookup(UP, "a", &l);
	CHECK_FIRST(l, OVL_HIT_WHITEOUT, L1);
	ck_assert_str_eq(below_str(&l.b), "");
	ck_assert(!l.r.first_fh_ok);	/* no handle for a whiteout */
	lk_free(&l);

	/* the whiteout itself, as lower1's walk sees it: what it hides */
	lookup(L1, "f", &l);
	CHECK_FIRST(l, OVL_HIT_FILE, L2);
	ck_assert(l.r.first_fh_ok);
	lk_free(&l);

	if (!kmount())
		return;
	k_dir("a", "m.u");
	k_absent("f", ENOENT);
}
END_TEST

START_TEST(test_opaque)
{
	struct lk l;

	/* opaque in upper: the walker asks with no below set */
	mkdm(UP, "a");
	xset("u/a", "opaque", "y");
	mkdm(L1, "a");
	mkdm(L2, "a");
	/* opaque in lower1: lower2 hidden */
	mkdm(UP, "b");
	mkdm(L1, "b");
	xset("l1/b", "opaque", "y");
	mkdm(L2, "b");
	/* opaque=x is no opaque dir */
	mkdm(UP, "c");
	mkdm(L1, "c");
	xset("l1/c", "opaque", "x");
	mkdm(L2, "c");
	open_stack();

	lookup(UP, "a", &l);
	CHECK_FIRST(l, OVL_HIT_DIR, L1);
	ck_assert_str_eq(below_str(&l.b), "");
	lk_free(&l);

	lookup(UP, "b", &l);
	CHECK_FIRST(l, OVL_HIT_DIR, L1);
	ck_assert_str_eq(below_str(&l.b), "1");
	lk_free(&l);

	lookup(UP, "c", &l);
	ck_assert_str_eq(below_str(&l.b), "1,2");
	lk_free(&l);

	bool cov;
	ck_assert_int_eq(ovl_merge_path_kind(&st, L1, "/b", &cov), OVL_HIT_DIR);
	ck_assert(cov);
	ck_assert_int_eq(ovl_merge_path_kind(&st, L1, "/c", &cov), OVL_HIT_DIR);
	ck_assert(!cov);

	if (!kmount())
		return;
	k_dir("a", "m.u");
	k_dir("b", "m.l1,m.u");
	k_dir("c", "m.l1,m.l2,m.u");
}
END_TEST

START_TEST(test_redirect_upper)
{
	struct lk l;

	/* relative: same parent */
	mkdm(UP, "a");
	xset("u/a", "redirect", "b");
	mkdm(L1, "a");		/* the old name must not merge */
	mkdm(L1, "b");
	mkdm(L2, "b");
	/* absolute: from the lower roots */
	mkdm(UP, "x/a");
	xset("u/x/a", "redirect", "/p/q");
	mkdm(L1, "x/a");
	mkdm(L1, "p/q");
	mkdm(L2, "p/q");
	open_stack();

	lookup(UP, "a", &l);
	CHECK_FIRST(l, OVL_HIT_DIR, L1);
	ck_assert_str_eq(below_str(&l.b), "1,2");
	ck_assert(l.r.via_redirect);
	lk_free(&l);

	lookup(UP, "x/a", &l);
	CHECK_FIRST(l, OVL_HIT_DIR, L1);
	ck_assert_str_eq(below_str(&l.b), "1,2");
	ck_assert(l.r.via_redirect);
	/* the hit is l1/p/q, not l1/x/a */
	struct stat sb;
	ck_assert_int_eq(lstat(P("l1/p/q"), &sb), 0);
	ck_assert(l.r.first_st.st_ino == sb.st_ino);
	lk_free(&l);

	if (!kmount())
		return;
	k_dir("a", "m.l1,m.l2,m.u");
	k_dir("x/a", "m.l1,m.l2,m.u");
}
END_TEST

START_TEST(test_redirect_lower)
{
	struct lk l;

	/* a lower1 dir that was an upper once: relative redirect */
	mkdm(UP, "a");
	mkdm(L1, "a");
	xset("l1/a", "redirect", "b");
	mkdm(L2, "a");		/* not merged: lower1 redirects */
	mkdm(L2, "b");
	/* absolute redirect on a lower1 dir below a plain parent */
	mkdm(UP, "d/e");
	mkdm(L1, "d/e");
	xset("l1/d/e", "redirect", "/p/q");
	mkdm(L2, "d/e");
	mkdm(L2, "p/q");
	open_stack();

	lookup(UP, "a", &l);
	ck_assert_str_eq(below_str(&l.b), "1,2");
	ck_assert(l.r.via_redirect);
	ck_assert_int_eq(l.b.d[1].layer, L2);
	struct stat a, b;
	ck_assert_int_eq(fstat(l.b.d[1].fd, &a), 0);
	ck_assert_int_eq(lstat(P("l2/b"), &b), 0);
	ck_assert(a.st_ino == b.st_ino);
	lk_free(&l);

	lookup(UP, "d/e", &l);
	ck_assert_str_eq(below_str(&l.b), "1,2");
	ck_assert(l.r.via_redirect);
	ck_assert_int_eq(fstat(l.b.d[1].fd, &a), 0);
	ck_assert_int_eq(lstat(P("l2/p/q"), &b), 0);
	ck_assert(a.st_ino == b.st_ino);
	lk_free(&l);

	/* lower1's own walk sees the same continuation */
	lookup(L1, "d/e", &l);
	ck_assert_str_eq(below_str(&l.b), "2");
	lk_free(&l);

	if (!kmount())
		return;
	k_dir("a", "m.l1,m.l2,m.u");
	k_dir("d/e", "m.l1,m.l2,m.u");
}
END_TEST

/* Intermediate components of an absolute redirect, walked in lower1. */
START_TEST(test_redirect_intermediate)
{
	struct lk l;
	bool cov;

	/* a: /p/q where lower1 /p is a whiteout */
	mkdm(UP, "a");
	xset("u/a", "redirect", "/p/q");
	mkwh("l1/p");
	mkdm(L2, "p/q");
	/* b: /f/q where lower1 /f is a file */
	mkdm(UP, "b");
	xset("u/b", "redirect", "/f/q");
	mkdata(L1, "f");
	mkdm(L2, "f/q");
	/* c: /o/q where lower1 /o is opaque: its q merges, lower2 does not */
	mkdm(UP, "c");
	xset("u/c", "redirect", "/o/q");
	mkdm(L1, "o/q");
	xset("l1/o", "opaque", "y");
	mkdm(L2, "o/q");
	/* d: as c, but o/q redirects absolutely: that resets the stop */
	mkdm(UP, "d");
	xset("u/d", "redirect", "/o2/q");
	mkdm(L1, "o2/q");
	xset("l1/o2", "opaque", "y");
	xset("l1/o2/q", "redirect", "/r/s");
	mkdm(L2, "r/s");
	mkdm(L2, "o2/q");
	/* e: as d with a relative redirect: the stop stays */
	mkdm(UP, "e");
	xset("u/e", "redirect", "/o3/q");
	mkdm(L1, "o3/q");
	xset("l1/o3", "opaque", "y");
	xset("l1/o3/q", "redirect", "s");
	mkdm(L2, "o3/s");
	/* g: a redirect on the way (lower1 /z redirects to /y) renames below */
	mkdm(UP, "g");
	xset("u/g", "redirect", "/z/q");
	mkdm(L1, "z/q");
	xset("l1/z", "redirect", "/y");
	mkdm(L2, "y/q");
	mkdm(L2, "z/q");
	open_stack();

	lookup(UP, "a", &l);
	CHECK_FIRST(l, OVL_HIT_NONE, -1);
	ck_assert_str_eq(below_str(&l.b), "");
	lk_free(&l);
	ck_assert_int_eq(ovl_merge_path_kind(&st, L1, "/p/q", &cov), OVL_HIT_NONE);
	ck_assert(cov);

	lookup(UP, "b", &l);
	CHECK_FIRST(l, OVL_HIT_NONE, -1);
	ck_assert_str_eq(below_str(&l.b), "");
	lk_free(&l);
	ck_assert_int_eq(ovl_merge_path_kind(&st, L1, "/f/q", &cov), OVL_HIT_NONE);
	ck_assert(cov);

	lookup(UP, "c", &l);
	CHECK_FIRST(l, OVL_HIT_DIR, L1);
	ck_assert_str_eq(below_str(&l.b), "1");
	lk_free(&l);
	/* an opaque ancestor hides lower2's /o/q */
	ck_assert_int_eq(ovl_merge_path_kind(&st, L1, "/o/q", &cov), OVL_HIT_DIR);
	ck_assert(cov);
	ck_assert_int_eq(ovl_merge_path_kind(&st, L2, "/o/q", &cov), OVL_HIT_DIR);
	ck_assert(!cov);

	lookup(UP, "d", &l);
	ck_assert_str_eq(below_str(&l.b), "1,2");
	lk_free(&l);

	lookup(UP, "e", &l);
	ck_assert_str_eq(below_str(&l.b), "1");
	lk_free(&l);

	lookup(UP, "g", &l);
	ck_assert_str_eq(below_str(&l.b), "1,2");
	struct stat a, b;
	ck_assert_int_eq(fstat(l.b.d[1].fd, &a), 0);
	ck_assert_int_eq(lstat(P("l2/y/q"), &b), 0);
	ck_assert(a.st_ino == b.st_ino);
	lk_free(&l);
	ck_assert_int_eq(ovl_merge_path_kind(&st, L1, "/z/q", &cov), OVL_HIT_DIR);
	ck_assert(cov);

	if (!kmount())
		return;
	k_dir("a", "m.u");
	k_dir("b", "m.u");
	k_dir("c", "m.l1,m.u");
	k_dir("d", "m.l1,m.l2,m.u");
	k_dir("e", "m.l1,m.u");
	k_dir("g", "m.l1,m.l2,m.u");
}
END_TEST

START_TEST(test_xattr_whiteout)
{
	struct lk l;

	mkdm(UP, "a");
	mkxwh("l1/a");
	mkdm(L2, "a");
	mkxwh("l1/f");
	mkdata(L2, "f");
	/* not empty: a plain file, the xattr means nothing */
	mkf("l1/g", "l1:g\n");
	xset("l1/g", "whiteout", "");
	mkdata(L2, "g");
	open_stack();

	lookup(UP, "a", &l);
	CHECK_FIRST(l, OVL_HIT_WHITEOUT, L1);
	ck_assert_str_eq(below_str(&l.b), "");
	lk_free(&l);

	bool cov;
	ck_assert_int_eq(ovl_merge_path_kind(&st, L1, "/f", &cov), OVL_HIT_WHITEOUT);
	ck_assert(cov);
	ck_assert_int_eq(ovl_merge_path_kind(&st, L1, "/g", &cov), OVL_HIT_FILE);

	if (!kmount())
		return;
	k_dir("a", "m.u");
	k_absent("f", ENOENT);
	k_file("g", "l1:g\n", 0);
}
END_TEST

/* ---- metacopy ---- */

START_TEST(test_metacopy_chain)
{
	struct lk l;
	const char *obj = "d1:objs/x\n";

	/* upper stub -> lower1 stub with an absolute redirect -> data1 */
	mkmeta("u/f", (off_t)strlen(obj), NULL);
	mkmeta("l1/f", (off_t)strlen(obj), "/objs/x");
	mkd("d1/objs");
	mkdata(D1, "objs/x");
	/* plain chain in the regular lowers: upper stub -> lower2 data */
	mkmeta("u/h", 5, NULL);
	mkdata(L2, "h");
	/* the lower1 stub on its own (no upper entry) */
	mkmeta("l1/k", (off_t)strlen("d1:objs/k\n"), "/objs/k");
	mkdata(D1, "objs/k");
	/* a lower1 stub whose xattr list outgrows the lookup's list buffer:
	 * its metacopy mark is still seen (got by name), data in lower2 */
	mkmeta("u/p", 5, NULL);
	mkmeta("l1/p", 5, NULL);
	for (int i = 0; i < 50; i++) {
		char xn[64];
		snprintf(xn, sizeof(xn), "trusted.padding-to-outgrow-the-list-%04d", i);
		ck_assert_int_eq(lsetxattr(P("l1/p"), xn, "p", 1, 0), 0);
	}
	mkdata(L2, "p");
	open_stack();

	lookup(UP, "f", &l);
	CHECK_FIRST(l, OVL_HIT_FILE, L1);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_OK);
	ck_assert_int_eq(l.r.data_layer, D1);
	ck_assert(l.r.data_via_dataonly);
	ck_assert(l.r.via_redirect);
	ck_assert_int_ge(l.r.data_fd, 0);
	ck_assert_int_eq(l.r.data_st.st_size, (off_t)strlen(obj));
	lk_free(&l);

	lookup(UP, "h", &l);
	CHECK_FIRST(l, OVL_HIT_FILE, L2);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_OK);
	ck_assert_int_eq(l.r.data_layer, L2);
	ck_assert(!l.r.data_via_dataonly);
	ck_assert(!l.r.via_redirect);
	lk_free(&l);

	lookup(L1, "k", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_OK);
	ck_assert_int_eq(l.r.data_layer, D1);
	lk_free(&l);

	ck_assert_int_gt(listxattr(P("l1/p"), NULL, 0), 2048);
	lookup(UP, "p", &l);
	CHECK_FIRST(l, OVL_HIT_FILE, L1);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_OK);
	ck_assert_int_eq(l.r.data_layer, L2);
	lk_free(&l);

	if (!kmount())
		return;
	k_file("f", obj, 0);
	k_file("h", "l2:h\n", 0);
	k_file("k", "d1:objs/k\n", 0);
	k_file("p", "l2:p\n", 0);
}
END_TEST

START_TEST(test_metacopy_missing)
{
	struct lk l;

	/* the data object is missing: listed, stat works, open fails */
	mkmeta("u/f", 4, NULL);
	mkmeta("l1/f", 4, "/objs/none");
	mkd("d1/objs");
	/* the data object is a dir, a fifo, behind a symlink: the same */
	mkmeta("l1/g", 4, "/objs/dir");
	mkd("d1/objs/dir");
	mkmeta("l1/fi", 4, "/objs/fifo");
	ck_assert_int_eq(mkfifo(P("d1/objs/fifo"), 0644), 0);
	mkmeta("l1/sl", 4, "/lnk/x");
	mkd("d1/real");
	mkdata(D1, "real/x");
	ck_assert_int_eq(symlink("real", P("d1/lnk")), 0);
	/* an empty file with overlay.whiteout is data there: no overlay rules */
	mkmeta("l1/xw", 0, "/objs/xw");
	mkxwh("d1/objs/xw");
	/* nothing at all below an upper stub */
	mkmeta("u/n", 4, NULL);
	open_stack();

	lookup(UP, "f", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_ONLY_MISSING);
	ck_assert_int_eq(l.r.data_layer, -1);
	ck_assert_int_eq(l.r.data_fd, -1);
	lk_free(&l);
	const char *only_missing[] = { "g", "fi", "sl" };
	for (size_t i = 0; i < 3; i++) {
		lookup(L1, only_missing[i], &l);
		ck_assert_msg(l.r.data_status == OVL_DATA_ONLY_MISSING, "%s: %d",
			      only_missing[i], l.r.data_status);
		lk_free(&l);
	}
	lookup(L1, "xw", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_OK);
	ck_assert_int_eq(l.r.data_layer, D1);
	lk_free(&l);
	lookup(UP, "n", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_MISSING);
	CHECK_FIRST(l, OVL_HIT_NONE, -1);
	lk_free(&l);

	if (!kmount())
		return;
	k_file("f", NULL, ENOENT);
	k_file("g", NULL, ENOENT);
	k_file("fi", NULL, ENOENT);
	/* the kernel walks data layers with no symlinks: ELOOP */
	k_file("sl", NULL, ELOOP);
	k_file("xw", "", 0);
	k_absent("n", EIO);
}
END_TEST

START_TEST(test_metacopy_not_reg)
{
	struct lk l;

	/* data of an upper stub in a regular lower is a dir / a symlink */
	mkmeta("u/f", 4, NULL);
	mkdm(L1, "f");
	mkmeta("u/s", 4, NULL);
	ck_assert_int_eq(symlink("f", P("l1/s")), 0);
	/* a whiteout where the data should be */
	mkmeta("u/w", 4, NULL);
	mkwh("l1/w");
	mkdata(L2, "w");
	open_stack();

	lookup(UP, "f", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_NOT_REG);
	CHECK_FIRST(l, OVL_HIT_DIR, L1);
	lk_free(&l);
	lookup(UP, "s", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_NOT_REG);
	CHECK_FIRST(l, OVL_HIT_FILE, L1);
	lk_free(&l);
	lookup(UP, "w", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_MISSING);
	CHECK_FIRST(l, OVL_HIT_WHITEOUT, L1);
	lk_free(&l);

	if (!kmount())
		return;
	k_absent("f", EIO);
	k_absent("s", EIO);
	k_absent("w", EIO);
}
END_TEST

/*
 * When a chain may go on in the data-only layers: the kernel wants a
 * lower entry in the chain and the last redirect it checked (on a
 * metacopy file, or on any dir it walked through) to be absolute.
 */
START_TEST(test_metacopy_dataonly_rules)
{
	struct lk l;

	/* an upper stub cannot redirect straight into data1 */
	mkmeta("u/a", 7, "/oa");
	mkdata(D1, "oa");
	/* the lower stub has no redirect of its own */
	mkmeta("u/b", 7, "/ob");
	mkmeta("l1/ob", 7, NULL);
	mkdata(D1, "ob");
	/* the lower stub's redirect is relative */
	mkmeta("u/c", 8, "/cc/b");
	mkd("l1/cc");
	mkd("d1/cc");
	mkmeta("l1/cc/b", 8, "c");
	mkdata(D1, "cc/c");
	/* lower2 has a plain dir on the way: its redirect check resets */
	mkmeta("u/d", 8, NULL);
	mkmeta("l1/d", 8, "/dx/y");
	mkd("l2/dx");
	mkd("d1/dx");
	mkdata(D1, "dx/y");
	/* an opaque dir on the way is not checked for a redirect */
	mkmeta("u/e", 8, NULL);
	mkmeta("l1/e", 8, "/ex/y");
	mkd("l2/ex");
	xset("l2/ex", "opaque", "y");
	mkwh("l2/ex/y");
	mkd("d1/ex");
	mkdata(D1, "ex/y");
	/* a whiteout at the end of the chain, nothing on the way */
	mkmeta("u/g", 6, NULL);
	mkmeta("l1/g", 6, "/gy");
	mkwh("l2/gy");
	mkdata(D1, "gy");
	/* a dir on the way redirecting absolutely renames the object */
	mkmeta("u/h", 8, NULL);
	mkmeta("l1/h", 8, "/hx/y");
	mkd("l2/hx");
	xset("l2/hx", "redirect", "/hq");
	mkd("d1/hq");
	mkdata(D1, "hq/y");
	open_stack();

	lookup(UP, "a", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_MISSING);
	lk_free(&l);
	lookup(UP, "b", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_MISSING);
	CHECK_FIRST(l, OVL_HIT_FILE, L1);
	lk_free(&l);
	lookup(UP, "c", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_MISSING);
	lk_free(&l);
	lookup(UP, "d", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_MISSING);
	lk_free(&l);
	lookup(UP, "e", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_OK);
	ck_assert_int_eq(l.r.data_layer, D1);
	lk_free(&l);
	lookup(UP, "g", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_OK);
	ck_assert_int_eq(l.r.data_layer, D1);
	lk_free(&l);
	lookup(UP, "h", &l);
	ck_assert_int_eq(l.r.data_status, OVL_DATA_OK);
	ck_assert_int_eq(l.r.data_layer, D1);
	lk_free(&l);

	if (!kmount())
		return;
	k_absent("a", EIO);
	k_absent("b", EIO);
	k_absent("c", EIO);
	k_absent("d", EIO);
	k_file("e", "d1:ex/y\n", 0);
	k_file("g", "d1:gy\n", 0);
	k_file("h", "d1:hq/y\n", 0);
}
END_TEST

/* ---- hostile shapes ---- */

/*
 * The walker's read of one entry: a regular file that getdents typed
 * and that has no xattr of the overlay's is not stat'ed (st_ino stays 0:
 * the fstatat was left out), but in the upper layer when the links
 * ledger is kept; everything else is.
 */
START_TEST(test_rentry_stat_left_out)
{
	struct ovl_rentry r;
	struct ovl_below b;

	mkdata(L1, "plain");
	ck_assert_int_eq(lsetxattr(P("l1/plain"), "trusted.other", "v", 1, 0), 0);
	mkf("l1/odd", "x");
	xset("l1/odd", "overlay.x", "1");	/* escaped: a nested overlay's */
	mkmeta("l1/stub", 5, NULL);
	mkdata(L2, "stub");
	mkdata(UP, "up");
	mkdata(UP, "upo");
	xset("u/upo", "origin", "");
	open_stack();
	ovl_below_init(&b, &st);
	ovl_below_root(&b, &st, L1);
	struct ovl_walk_env e = { .s = &st, .layer = &st.layers[L1], .max_depth = 64 };

	ovl_rentry_read(&e, st.layers[L1].fd, &b, 0, "plain", DT_REG, &r);
	ck_assert_int_eq(r.stat_err, 0);
	ck_assert(S_ISREG(r.st.st_mode));
	ck_assert_uint_eq(r.st.st_ino, 0);
	ck_assert(r.looked_up && !r.need_lookup);
	ovl_rentry_free(&e, &r);
	/* the type not told, an escaped name, a metacopy stub: stat'ed */
	ovl_rentry_read(&e, st.layers[L1].fd, &b, 0, "plain", DT_UNKNOWN, &r);
	ck_assert_uint_ne(r.st.st_ino, 0);
	ovl_rentry_free(&e, &r);
	ovl_rentry_read(&e, st.layers[L1].fd, &b, 0, "odd", DT_REG, &r);
	ck_assert_uint_ne(r.st.st_ino, 0);
	ck_assert_uint_eq(r.xa.escaped, 1);
	ovl_rentry_free(&e, &r);
	ovl_rentry_read(&e, st.layers[L1].fd, &b, 0, "stub", DT_REG, &r);
	ck_assert_uint_ne(r.st.st_ino, 0);
	ck_assert_int_eq(r.st.st_size, 5);
	ck_assert(ovl_xattrs_has(&r.xa, OVL_XA_METACOPY));
	ck_assert(r.need_lookup && r.looked_up);
	ck_assert_int_eq(r.res.data_layer, L2);
	ovl_rentry_free(&e, &r);
	/* gone: read as before, the stat's error */
	ovl_rentry_read(&e, st.layers[L1].fd, &b, 0, "gone", DT_REG, &r);
	ck_assert_int_eq(r.stat_err, ENOENT);
	ovl_rentry_free(&e, &r);
	ovl_below_free(&b);

	/* upper: the same, but for the links ledger (it notes a file's
	 * link count) and for a file with an origin */
	ovl_below_init(&b, &st);
	ovl_below_root(&b, &st, UP);
	e.layer = &st.layers[UP];
	ovl_rentry_read(&e, st.layers[UP].fd, &b, 0, "up", DT_REG, &r);
	ck_assert(S_ISREG(r.st.st_mode));
	ck_assert_uint_eq(r.st.st_ino, 0);
	ovl_rentry_free(&e, &r);
	ovl_rentry_read(&e, st.layers[UP].fd, &b, 0, "upo", DT_REG, &r);
	ck_assert_uint_ne(r.st.st_ino, 0);
	ck_assert(ovl_xattrs_has(&r.xa, OVL_XA_ORIGIN));
	ovl_rentry_free(&e, &r);
	e.links = true;
	ovl_rentry_read(&e, st.layers[UP].fd, &b, 0, "up", DT_REG, &r);
	ck_assert_uint_ne(r.st.st_ino, 0);
	ovl_rentry_free(&e, &r);
	ovl_below_free(&b);
}
END_TEST

START_TEST(test_long_names)
{
	char lng[300], path[320];
	struct ovl_below b;
	struct ovl_lookup_res r;
	struct lk l;
	bool cov;

	memset(lng, 'n', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	mkdm(L1, "p");
	/* an upper dir redirecting to an over-long name merges nothing, and
	 * a lower dir doing so hides its own name below */
	mkdm(UP, "a");
	mkdm(L1, "a");
	snprintf(path, sizeof(path), "/%s", lng);
	xset("u/a", "redirect", path);
	mkdm(UP, "c");
	mkdm(L1, "c");
	xset("l1/c", "redirect", lng);
	mkdm(L2, "c");
	open_stack();

	ovl_below_init(&b, &st);
	ovl_below_root(&b, &st, UP);
	struct ovl_lookup_req req = { .name = lng, .layer = UP, .want_fh = true };
	ck_assert_int_eq(ovl_merge_lookup(&st, &b, &req, NULL, &r), 0);
	ck_assert_int_eq(r.first, OVL_HIT_NONE);
	req.is_dir = true;
	struct ovl_below nb;
	ovl_below_init(&nb, &st);
	ck_assert_int_eq(ovl_merge_lookup(&st, &b, &req, &nb, &r), 0);
	ck_assert_int_eq(nb.n, 0);
	ovl_below_free(&nb);
	ovl_below_free(&b);

	snprintf(path, sizeof(path), "/p/%s", lng);
	ck_assert_int_eq(ovl_merge_path_kind(&st, L1, path, &cov), OVL_HIT_NONE);
	ck_assert(!cov);
	snprintf(path, sizeof(path), "/%s/p", lng);
	ck_assert_int_eq(ovl_merge_path_kind(&st, L1, path, &cov), OVL_HIT_NONE);
	ck_assert(!cov);

	lookup(UP, "a", &l);
	ck_assert_str_eq(below_str(&l.b), "");
	lk_free(&l);
	lookup(UP, "c", &l);
	ck_assert_str_eq(below_str(&l.b), "1");
	ck_assert(l.r.via_redirect);
	lk_free(&l);

	if (!kmount())
		return;
	k_absent(lng, ENAMETOOLONG);
	k_dir("a", "m.u");
	k_dir("c", "m.l1,m.u");
}
END_TEST

START_TEST(test_symlink_component)
{
	struct lk l;
	bool cov;

	/* an absolute redirect through a symlink in lower1: never followed */
	mkdm(UP, "a");
	xset("u/a", "redirect", "/s/q");
	mkdm(L1, "real/q");
	ck_assert_int_eq(symlink("real", P("l1/s")), 0);
	mkdm(L2, "s/q");
	/* a symlink to a dir where a dir merges */
	mkdm(UP, "b");
	ck_assert_int_eq(symlink("real", P("l1/b")), 0);
	mkdm(L2, "b");
	/* a symlink pointing out of the layer */
	mkdm(UP, "c");
	xset("u/c", "redirect", "/out/q");
	ck_assert_int_eq(symlink("/", P("l1/out")), 0);
	open_stack();

	lookup(UP, "a", &l);
	CHECK_FIRST(l, OVL_HIT_NONE, -1);
	ck_assert_str_eq(below_str(&l.b), "");
	lk_free(&l);
	ck_assert_int_eq(ovl_merge_path_kind(&st, L1, "/s/q", &cov), OVL_HIT_NONE);
	ck_assert(cov);
	ck_assert_int_eq(ovl_merge_path_kind(&st, L1, "/s", &cov), OVL_HIT_FILE);
	ck_assert(cov);

	lookup(UP, "b", &l);
	CHECK_FIRST(l, OVL_HIT_FILE, L1);
	ck_assert(S_ISLNK(l.r.first_st.st_mode));
	ck_assert_str_eq(below_str(&l.b), "");
	lk_free(&l);

	lookup(UP, "c", &l);
	CHECK_FIRST(l, OVL_HIT_NONE, -1);
	ck_assert_str_eq(below_str(&l.b), "");
	lk_free(&l);

	if (!kmount())
		return;
	k_dir("a", "m.u");
	k_dir("b", "m.u");
	k_dir("c", "m.u");
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("merge");
	TCase *tc = tcase_create("merge");

	tcase_add_unchecked_fixture(tc, top_setup, top_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_plain_merge);
	tcase_add_test(tc, test_whiteout_middle);
	tcase_add_test(tc, test_opaque);
	tcase_add_test(tc, test_redirect_upper);
	tcase_add_test(tc, test_redirect_lower);
	tcase_add_test(tc, test_redirect_intermediate);
	tcase_add_test(tc, test_xattr_whiteout);
	tcase_add_test(tc, test_metacopy_chain);
	tcase_add_test(tc, test_metacopy_missing);
	tcase_add_test(tc, test_metacopy_not_reg);
	tcase_add_test(tc, test_metacopy_dataonly_rules);
	tcase_add_test(tc, test_rentry_stat_left_out);
	tcase_add_test(tc, test_long_names);
	tcase_add_test(tc, test_symlink_component);
	suite_add_tcase(s, tc);
	return s;
}
