/*
 * The layer stack: shapes the kernel refuses, exit classes and messages,
 * filesystem uuids checked against what a real overlay writes, xattr
 * namespace and feature detection, and mount detection with a real
 * overlay mount (skipped, with a note, where mounting is not allowed).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "overlay/fsck.h"
#include "overlay/opts.h"
#include "overlay/problem.h"
#include "overlay/stack.h"
#include "unit.h"

#define SUITE_TAG "stack"
#include "tmptree.h"

static char err[512];
static struct ovl_stack st;

/* base-relative path in a static ring of buffers */
static void mkd(const char *rel)
{
	ck_assert_msg(mkdir(P("%s", rel), 0755) == 0, "mkdir %s: %s", rel,
		      strerror(errno));
}

static void mkf(const char *rel)
{
	int fd = open(P("%s", rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "hello\n", 6), 6);
	close(fd);
}


static void cleanup(void);

static void setup(void)
{
	static int registered;

	snprintf(base, sizeof(base), "%s/t-XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(base));
	/* a failed assertion exits the test's process without teardown */
	if (!registered++)
		atexit(cleanup);
	mkd("l1");
	mkd("l2");
	mkd("d1");
	mkd("u");
	mkd("w");
	mkf("file");
	memset(&st, 0, sizeof(st));
	st.workfd = st.workworkfd = st.indexfd = -1;
}

static void cleanup(void)
{
	if (!base[0])
		return;
	static const char *mnts[] = { "b", "t", "om-base", "om-tmpfs", "m n,t: \\" };
	char cmd[PATH_MAX];
	size_t i;

	ovl_stack_close(&st);
	/* a failed test may leave its mounts behind */
	for (i = 0; i < sizeof(mnts) / sizeof(mnts[0]); i++)
		umount2(P("%s", mnts[i]), MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not clean %s\n", base);
	base[0] = '\0';
}

static void teardown(void)
{
	cleanup();
}

/* Parse an option string (paths already absolute) and open the stack. */
static int open_opts(const char *optstr)
{
	struct ovl_opts o;
	char perr[256];

	ovl_opts_init(&o);
	ck_assert_msg(ovl_opts_parse(&o, optstr, perr, sizeof(perr)) == 0,
		      "parse %s: %s", optstr, perr);
	err[0] = '\0';
	return ovl_stack_open(&st, &o, err, sizeof(err));
}

static int open_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int open_fmt(const char *fmt, ...)
{
	char buf[4 * PATH_MAX];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ovl_stack_close(&st);
	ret = open_opts(buf);
	return ret;
}

#define EXPECT(ret, cls, ...)						\
	do {								\
		char want_[1024];					\
		snprintf(want_, sizeof(want_), __VA_ARGS__);		\
		ck_assert_int_eq((ret), (cls));				\
		ck_assert_str_eq(err, want_);				\
	} while (0)

static void same_inode(int fd, const char *path)
{
	struct stat a, b;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &a), 0);
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

/* ---- shape ---- */

START_TEST(test_stack_full)
{
	int ret, i;

	ret = open_fmt("lowerdir=%s:%s::%s,upperdir=%s,workdir=%s",
		       P("l1"), P("l2"), P("d1"), P("u"), P("w"));
	ck_assert_msg(ret == OVL_STACK_OK, "%s", err);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(st.nlayers, 4);
	ck_assert_int_eq(st.nlower, 2);
	ck_assert_int_eq(st.ndata, 1);
	ck_assert(st.has_upper && st.has_work);
	ck_assert_str_eq(st.layers[0].name, "upper");
	ck_assert_str_eq(st.layers[1].name, "lower1");
	ck_assert_str_eq(st.layers[2].name, "lower2");
	ck_assert_str_eq(st.layers[3].name, "data1");
	ck_assert_int_eq(st.layers[0].kind, OVL_LAYER_UPPER);
	ck_assert_int_eq(st.layers[1].kind, OVL_LAYER_LOWER);
	ck_assert_int_eq(st.layers[2].kind, OVL_LAYER_LOWER);
	ck_assert_int_eq(st.layers[3].kind, OVL_LAYER_DATA);
	ck_assert_str_eq(st.layers[1].path, P("l1"));
	ck_assert_str_eq(st.layers[3].path, P("d1"));
	ck_assert_str_eq(st.workdir, P("w"));
	same_inode(st.layers[0].fd, P("u"));
	same_inode(st.layers[1].fd, P("l1"));
	same_inode(st.layers[2].fd, P("l2"));
	same_inode(st.layers[3].fd, P("d1"));
	same_inode(st.workfd, P("w"));
	for (i = 0; i < st.nlayers; i++) {
		struct stat s;

		ck_assert_int_eq(st.layers[i].idx, i);
		/* one filesystem: every layer points at the first */
		ck_assert_int_eq(st.layers[i].fs, 0);
		ck_assert_int_eq(fstat(st.layers[i].fd, &s), 0);
		ck_assert(s.st_dev == st.layers[i].dev && s.st_ino == st.layers[i].ino);
		ck_assert(fcntl(st.layers[i].fd, F_GETFL) & O_PATH);
		ck_assert(fcntl(st.layers[i].fd, F_GETFD) & FD_CLOEXEC);
		ck_assert(st.layers[i].can_handle);	/* ext4/tmpfs */
	}
	/* no W/work, W/index yet */
	ck_assert_int_eq(st.workworkfd, -1);
	ck_assert_int_eq(st.indexfd, -1);
	ck_assert_ptr_eq(ovl_stack_upper(&st), &st.layers[0]);

	/* W/work and W/index as dirs are opened; a file or a symlink is not */
	mkd("w/work");
	mkd("w/index");
	ck_assert_int_eq(open_fmt("lowerdir=%s,upperdir=%s,workdir=%s",
				  P("l1"), P("u"), P("w")), OVL_STACK_OK);
	same_inode(st.workworkfd, P("w/work"));
	same_inode(st.indexfd, P("w/index"));
	ck_assert_int_eq(rmdir(P("w/index")), 0);
	ck_assert_int_eq(symlink(P("l1"), P("w/index")), 0);
	ck_assert_int_eq(rmdir(P("w/work")), 0);
	mkf("w/work");
	ck_assert_int_eq(open_fmt("lowerdir=%s,upperdir=%s,workdir=%s",
				  P("l1"), P("u"), P("w")), OVL_STACK_OK);
	ck_assert_int_eq(st.workworkfd, -1);
	ck_assert_int_eq(st.indexfd, -1);
}
END_TEST

START_TEST(test_stack_partial)
{
	/* no upper: lowers only, layer 0 empty */
	ck_assert_int_eq(open_fmt("lowerdir=%s:%s", P("l1"), P("l2")), OVL_STACK_OK);
	ck_assert(!st.has_upper && !st.has_work);
	ck_assert_int_eq(st.layers[0].fd, -1);
	ck_assert_int_eq(st.workfd, -1);
	ck_assert_ptr_null(ovl_stack_upper(&st));
	ck_assert_int_eq(st.layers[2].fs, 1);

	/* upper without work: allowed (positional form without -w) */
	ck_assert_int_eq(open_fmt("lowerdir=%s,upperdir=%s", P("l1"), P("u")),
			 OVL_STACK_OK);
	ck_assert(st.has_upper && !st.has_work);
	ck_assert_int_eq(st.workfd, -1);
	ck_assert_int_eq(st.indexfd, -1);

	/* one lower and a data layer, no upper */
	ck_assert_int_eq(open_fmt("lowerdir=%s::%s", P("l1"), P("d1")), OVL_STACK_OK);
	ck_assert_int_eq(st.nlayers, 3);
	ck_assert_int_eq(st.layers[2].kind, OVL_LAYER_DATA);
}
END_TEST

START_TEST(test_stack_usage)
{
	struct ovl_opts o;

	EXPECT(open_fmt("upperdir=%s,workdir=%s", P("u"), P("w")),
	       OVL_STACK_USAGE, "no lower dir given");
	EXPECT(open_fmt("lowerdir=%s,workdir=%s", P("l1"), P("w")),
	       OVL_STACK_USAGE, "work dir %s given without an upper dir", P("w"));

	/* data layers only */
	ovl_stack_close(&st);
	ovl_opts_init(&o);
	ovl_opts_add_data(&o, P("d1"));
	o.upper = strdup(P("u"));
	o.work = strdup(P("w"));
	EXPECT(ovl_stack_open(&st, &o, err, sizeof(err)), OVL_STACK_USAGE,
	       "data-only lower dirs need at least one regular lower dir");
	/* the stack took the options over: nothing left to free here */
	ck_assert_ptr_null(o.upper);
	ck_assert_int_eq(o.ndata, 0);

	/* usage errors are found before anything is opened */
	EXPECT(open_fmt("upperdir=%s,workdir=%s", P("nope"), P("nope2")),
	       OVL_STACK_USAGE, "no lower dir given");
}
END_TEST

START_TEST(test_stack_missing)
{
	EXPECT(open_fmt("lowerdir=%s,upperdir=%s,workdir=%s",
			P("l1"), P("nope"), P("w")),
	       OVL_STACK_ERROR, "upper dir %s: No such file or directory", P("nope"));
	EXPECT(open_fmt("lowerdir=%s,upperdir=%s,workdir=%s",
			P("l1"), P("u"), P("nope")),
	       OVL_STACK_ERROR, "work dir %s: No such file or directory", P("nope"));
	EXPECT(open_fmt("lowerdir=%s:%s,upperdir=%s,workdir=%s",
			P("l1"), P("nope"), P("u"), P("w")),
	       OVL_STACK_ERROR, "lower dir %s: No such file or directory", P("nope"));
	EXPECT(open_fmt("lowerdir=%s::%s,upperdir=%s,workdir=%s",
			P("l1"), P("nope"), P("u"), P("w")),
	       OVL_STACK_ERROR, "data dir %s: No such file or directory", P("nope"));
	EXPECT(open_fmt("lowerdir=%s,upperdir=%s,workdir=%s",
			P("l1"), P("file"), P("w")),
	       OVL_STACK_ERROR, "upper dir %s: Not a directory", P("file"));
	EXPECT(open_fmt("lowerdir=%s,upperdir=%s,workdir=%s",
			P("file"), P("u"), P("w")),
	       OVL_STACK_ERROR, "lower dir %s: Not a directory", P("file"));
	/* a symlink the user names is followed, like mount does */
	ck_assert_int_eq(symlink(P("l1"), P("lnk")), 0);
	ck_assert_int_eq(open_fmt("lowerdir=%s,upperdir=%s,workdir=%s",
				  P("lnk"), P("u"), P("w")), OVL_STACK_OK);
	same_inode(st.layers[1].fd, P("l1"));
}
END_TEST

/*
 * The stack opens whatever the layers' places; pass 1 of the check then
 * says what the kernel would refuse (check_mountable.c): the output of
 * a -n run on the stack opened last.
 */
static char *check_out(void)
{
	struct ovl_fsck_opts fo = { 0 };
	struct ovl_fsck_stats stats;
	struct ovl_report r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ovl_stack_detect(&st);
	ovl_report_init(&r, OVL_MODE_NO, f);
	ovl_fsck_run(&st, &fo, &r, &stats);
	fclose(f);
	return buf;
}

/* Does a line of out start with "code " and hold want? */
static bool has_line(const char *out, const char *code, const char *want)
{
	size_t cl = strlen(code);

	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *end = strchrnul(l, '\n');
		const char *hit = strstr(l, want);

		if (!strncmp(l, code, cl) && l[cl] == ' ' && hit && hit < end)
			return true;
	}
	return false;
}

/* The check of the stack opened by fmt reports code with this detail. */
#define REPORTS(fmt_args, code, ...)					\
	do {								\
		char want_[2048], *out_;				\
		ck_assert_int_eq(open_fmt fmt_args, OVL_STACK_OK);	\
		snprintf(want_, sizeof(want_), __VA_ARGS__);		\
		out_ = check_out();					\
		ck_assert_msg(has_line(out_, code, want_),		\
			      "want %s ...%s in:\n%s", code, want_, out_); \
		free(out_);						\
	} while (0)

/* Nothing of the layout in the output of the stack opened by fmt. */
#define LAYOUT_OK(fmt_args)						\
	do {								\
		char *out_;						\
		ck_assert_int_eq(open_fmt fmt_args, OVL_STACK_OK);	\
		out_ = check_out();					\
		ck_assert_msg(!strstr(out_, "STK_WORK_") && !strstr(out_, "STK_LAYER_") && \
			      !strstr(out_, "STK_UPPER_IN_LOWER"), "%s", out_); \
		free(out_);						\
	} while (0)

START_TEST(test_stack_overlap)
{
	mkd("u/in");
	mkd("w/in");
	mkd("l1/in");
	REPORTS(("lowerdir=%s,upperdir=%s,workdir=%s", P("l1"), P("u"), P("u/in")),
		"STK_WORK_NESTED", "work:/: %s: work dir %s, upper dir %s",
		ovl_problem_def(PR_STK_WORK_NESTED)->message, P("u/in"), P("u"));
	REPORTS(("lowerdir=%s,upperdir=%s,workdir=%s", P("l1"), P("w/in"), P("w")),
		"STK_WORK_NESTED", "work:/: %s: work dir %s, upper dir %s",
		ovl_problem_def(PR_STK_WORK_NESTED)->message, P("w"), P("w/in"));
	REPORTS(("lowerdir=%s,upperdir=%s,workdir=%s", P("l1"), P("u"), P("u")),
		"STK_WORK_NESTED", "work dir %s, upper dir %s", P("u"), P("u"));
	REPORTS(("lowerdir=%s,upperdir=%s,workdir=%s", P("u"), P("u"), P("w")),
		"STK_LAYER_TWICE", "lower1:/: %s: lower dir %s is also upper dir %s",
		ovl_problem_def(PR_STK_LAYER_TWICE)->message, P("u"), P("u"));
	REPORTS(("lowerdir=%s,upperdir=%s,workdir=%s", P("w"), P("u"), P("w")),
		"STK_LAYER_TWICE", "lower dir %s is also work dir %s", P("w"), P("w"));
	REPORTS(("lowerdir=%s:%s,upperdir=%s,workdir=%s", P("l1"), P("l1"), P("u"), P("w")),
		"STK_LAYER_TWICE", "lower2:/: %s: lower dir %s is also lower dir %s",
		ovl_problem_def(PR_STK_LAYER_TWICE)->message, P("l1"), P("l1"));
	REPORTS(("lowerdir=%s::%s,upperdir=%s,workdir=%s", P("l1"), P("l1"), P("u"), P("w")),
		"STK_LAYER_TWICE", "data1:/: %s: data dir %s is also lower dir %s",
		ovl_problem_def(PR_STK_LAYER_TWICE)->message, P("l1"), P("l1"));
	REPORTS(("lowerdir=%s:%s,upperdir=%s,workdir=%s", P("l1"), P("l1/in"), P("u"), P("w")),
		"STK_LAYER_NESTED", "lower2:/: %s: lower dir %s is inside lower dir %s",
		ovl_problem_def(PR_STK_LAYER_NESTED)->message, P("l1/in"), P("l1"));
	/* the kernel refuses the nested one whichever comes first */
	REPORTS(("lowerdir=%s:%s,upperdir=%s,workdir=%s", P("l1/in"), P("l1"), P("u"), P("w")),
		"STK_LAYER_NESTED", "lower1:/: %s: lower dir %s is inside lower dir %s",
		ovl_problem_def(PR_STK_LAYER_NESTED)->message, P("l1/in"), P("l1"));
	REPORTS(("lowerdir=%s::%s,upperdir=%s,workdir=%s", P("l1"), P("l1/in"), P("u"), P("w")),
		"STK_LAYER_NESTED", "data dir %s is inside lower dir %s", P("l1/in"), P("l1"));
	REPORTS(("lowerdir=%s,upperdir=%s,workdir=%s", P("u/in"), P("u"), P("w")),
		"STK_LAYER_NESTED", "lower dir %s is inside upper dir %s", P("u/in"), P("u"));
	REPORTS(("lowerdir=%s,upperdir=%s,workdir=%s", P("w/in"), P("u"), P("w")),
		"STK_LAYER_NESTED", "lower dir %s is inside work dir %s", P("w/in"), P("w"));
	/* the kernel mounts this; the lookup of the path to the upper
	 * then fails with ELOOP */
	REPORTS(("lowerdir=%s,upperdir=%s,workdir=%s", base, P("u"), P("w")),
		"STK_UPPER_IN_LOWER", "upper:/: %s: upper dir %s is inside lower dir %s",
		ovl_problem_def(PR_STK_UPPER_IN_LOWER)->message, P("u"), base);
	/* the same dir under two names is still the same dir */
	ck_assert_int_eq(symlink(P("u"), P("ulink")), 0);
	REPORTS(("lowerdir=%s,upperdir=%s,workdir=%s", P("l1"), P("u"), P("ulink/in")),
		"STK_WORK_NESTED", "work dir %s, upper dir %s", P("ulink/in"), P("u"));
	/* siblings with a common parent are fine */
	LAYOUT_OK(("lowerdir=%s:%s,upperdir=%s,workdir=%s", P("l1/in"), P("l2"), P("u/in"), P("w")));
}
END_TEST

/* Upper and work on different filesystems: a tmpfs of our own. */
START_TEST(test_stack_other_fs)
{
	mkd("t");
	if (mount("tmpfs", P("t"), "tmpfs", 0, "size=1m") < 0) {
		printf("# SKIP different filesystems: mount tmpfs: %s\n", strerror(errno));
		return;
	}
	mkd("t/w");
	mkd("t/l");
	REPORTS(("lowerdir=%s,upperdir=%s,workdir=%s", P("l1"), P("u"), P("t/w")),
		"STK_WORK_OTHER_MOUNT", "work dir %s, upper dir %s", P("t/w"), P("u"));
	/* lowers elsewhere are normal; fs says which share one */
	REPORTS(("lowerdir=%s:%s:%s,upperdir=%s,workdir=%s", P("t/l"), P("l1"), P("t"), P("u"), P("w")),
		"STK_LAYER_NESTED", "lower dir %s is inside lower dir %s", P("t/l"), P("t"));
	LAYOUT_OK(("lowerdir=%s:%s,upperdir=%s,workdir=%s", P("t/l"), P("l1"), P("u"), P("w")));
	ck_assert_int_eq(st.layers[0].fs, 0);
	ck_assert_int_eq(st.layers[1].fs, 1);
	ck_assert_int_eq(st.layers[2].fs, 0);
	ck_assert(st.layers[1].dev != st.layers[0].dev);
	/* a mount inside a layer is another filesystem: the kernel looks
	 * for other layers among the parents inside one filesystem only */
	LAYOUT_OK(("lowerdir=%s,upperdir=%s,workdir=%s", P("t/l"), P("u"), P("w")));
	/* a bind mount of the upper's filesystem is another mount */
	mkd("b");
	if (mount(P("w"), P("b"), NULL, MS_BIND, NULL) == 0) {
		REPORTS(("lowerdir=%s,upperdir=%s,workdir=%s", P("l1"), P("u"), P("b")),
			"STK_WORK_OTHER_MOUNT", "work dir %s, upper dir %s", P("b"), P("u"));
		umount2(P("b"), MNT_DETACH);
	}
}
END_TEST

/* Unreadable dirs: only meaningful without root, so drop to nobody. */
START_TEST(test_stack_permission)
{
	char want1[PATH_MAX + 64], want2[PATH_MAX + 64];
	pid_t pid;
	int status;

	ck_assert_int_eq(chmod(top, 0755), 0);
	ck_assert_int_eq(chmod(base, 0755), 0);
	mkd("l2/x");
	ck_assert_int_eq(chmod(P("l2"), 0), 0);
	/* O_PATH needs no permission on l2 itself: reading it does */
	snprintf(want1, sizeof(want1), "lower dir %s: Permission denied", P("l2"));
	/* and l2/x cannot even be reached */
	snprintf(want2, sizeof(want2), "upper dir %s: Permission denied", P("l2/x"));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(77);
		if (open_fmt("lowerdir=%s:%s", P("l1"), P("l2")) != OVL_STACK_ERROR)
			_exit(1);
		if (strcmp(err, want1))
			_exit(2);
		if (open_fmt("lowerdir=%s,upperdir=%s", P("l1"), P("l2/x")) !=
		    OVL_STACK_ERROR)
			_exit(3);
		if (strcmp(err, want2))
			_exit(4);
		ovl_stack_close(&st);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		printf("# SKIP permission: cannot switch to an unprivileged user\n");
		return;
	}
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* ---- uuids: what the kernel writes into origin ---- */

/*
 * Mount an overlay with lower on lowerrel, upper/work under base, chown a
 * lower file through it (metacopy copy-up writes origin), and return the
 * uuid bytes of the origin. 0 done, 1 skipped.
 */
static int origin_uuid(const char *lowerrel, const char *tag, uint8_t uuid[16])
{
	char opts[4 * PATH_MAX], u[PATH_MAX], w[PATH_MAX], m[PATH_MAX];
	uint8_t val[128];
	ssize_t n;

	snprintf(u, sizeof(u), "%s", P("ou-%s", tag));
	snprintf(w, sizeof(w), "%s", P("ow-%s", tag));
	snprintf(m, sizeof(m), "%s", P("om-%s", tag));
	ck_assert_int_eq(mkdir(u, 0755), 0);
	ck_assert_int_eq(mkdir(w, 0755), 0);
	ck_assert_int_eq(mkdir(m, 0755), 0);
	snprintf(opts, sizeof(opts), "%s/f", lowerrel);
	mkf(opts);
	snprintf(opts, sizeof(opts),
		 "lowerdir=%s,upperdir=%s,workdir=%s,metacopy=on,index=on,redirect_dir=on",
		 P("%s", lowerrel), u, w);
	if (mount("overlay", m, "overlay", 0, opts) < 0) {
		if (errno == EPERM || errno == ENODEV) {
			printf("# SKIP origin uuid on %s: mount overlay: %s\n",
			       tag, strerror(errno));
			return 1;
		}
		ck_abort_msg("mount overlay %s: %s", opts, strerror(errno));
	}
	ck_assert_int_eq(chown(P("om-%s/f", tag), 1, 1), 0);
	ck_assert_int_eq(umount(m), 0);
	n = getxattr(P("ou-%s/f", tag), "trusted.overlay.origin", val, sizeof(val));
	ck_assert_msg(n >= 21, "origin of %s: %zd", tag, n);
	ck_assert_int_eq(val[1], 0xfb);
	memcpy(uuid, val + 5, 16);
	return 0;
}

static void check_layer_uuid(const char *lowerrel, const char *tag, bool expect_src)
{
	uint8_t kern[16];
	struct ovl_layer *l;

	if (origin_uuid(lowerrel, tag, kern))
		return;
	ck_assert_int_eq(open_fmt("lowerdir=%s,upperdir=%s,workdir=%s",
				  P("%s", lowerrel), P("u"), P("w")), OVL_STACK_OK);
	l = &st.layers[1];
	ck_assert_msg(!memcmp(l->uuid, kern, 16),
		      "%s: our uuid differs from the origin's", tag);
	if (expect_src)
		ck_assert_int_ne(l->uuid_src, OVL_UUID_SRC_NONE);
	ck_assert_ptr_eq(ovl_stack_layer_by_uuid(&st, kern, 1, 1), l);
}

START_TEST(test_stack_uuid_ext4)
{
	/* the filesystem under /tmp (ext4 here; whatever it is, the uuid we
	 * report must be the one the kernel writes) */
	mkd("el");
	check_layer_uuid("el", "base", false);
}
END_TEST

START_TEST(test_stack_uuid_tmpfs)
{
	uint8_t u[16], zero[16] = { 0 };
	struct stat s;

	mkd("t");
	if (mount("tmpfs", P("t"), "tmpfs", 0, "size=1m") < 0) {
		printf("# SKIP tmpfs uuid: mount tmpfs: %s\n", strerror(errno));
		return;
	}
	mkd("t/l");
	check_layer_uuid("t/l", "tmpfs", true);
	/* tmpfs has a random uuid, read by the ioctl */
	ck_assert_int_eq(st.layers[1].uuid_src, OVL_UUID_SRC_IOCTL);
	ck_assert(memcmp(st.layers[1].uuid, zero, 16));
	/* no fd: only libblkid is left, and tmpfs has no device */
	ck_assert_int_eq(stat(P("t/l"), &s), 0);
	ck_assert_int_eq(ovl_fs_uuid(-1, s.st_dev, u), OVL_UUID_SRC_NONE);
	ck_assert(!memcmp(u, zero, 16));
}
END_TEST

START_TEST(test_stack_layer_by_uuid)
{
	static const uint8_t a[16] = { 0xaa, 1 }, b[16] = { 0xbb, 2 }, z[16];

	ck_assert_int_eq(open_fmt("lowerdir=%s:%s::%s,upperdir=%s,workdir=%s",
				  P("l1"), P("l2"), P("d1"), P("u"), P("w")), OVL_STACK_OK);
	memcpy(st.layers[0].uuid, a, 16);
	memcpy(st.layers[1].uuid, b, 16);
	memcpy(st.layers[2].uuid, b, 16);
	memset(st.layers[3].uuid, 0, 16);
	st.layers[3].uuid_src = OVL_UUID_SRC_NONE;
	ck_assert_ptr_eq(ovl_stack_layer_by_uuid(&st, a, 0, 3), &st.layers[0]);
	ck_assert_ptr_null(ovl_stack_layer_by_uuid(&st, a, 1, 3));
	ck_assert_ptr_eq(ovl_stack_layer_by_uuid(&st, b, 0, 3), &st.layers[1]);
	ck_assert_ptr_eq(ovl_stack_layer_by_uuid(&st, b, 2, 3), &st.layers[2]);
	/* a layer whose uuid we could not read matches a null uuid */
	ck_assert_ptr_eq(ovl_stack_layer_by_uuid(&st, z, 1, 3), &st.layers[3]);
	ck_assert_ptr_null(ovl_stack_layer_by_uuid(&st, z, 1, 2));
	/* uuid=off writes null uuids, all layers on one fs */
	st.opts.uuid = OVL_UUID_OFF;
	ck_assert_ptr_eq(ovl_stack_layer_by_uuid(&st, z, 1, 2), &st.layers[1]);
	/* out-of-range bounds are clamped, an absent upper is skipped */
	ck_assert_ptr_eq(ovl_stack_layer_by_uuid(&st, b, -5, 99), &st.layers[1]);
	ck_assert_int_eq(open_fmt("lowerdir=%s:%s", P("l1"), P("l2")), OVL_STACK_OK);
	ck_assert_ptr_eq(ovl_stack_layer_by_uuid(&st, st.layers[1].uuid, 0, 2),
			 &st.layers[1]);
}
END_TEST

/* ---- namespace and features ---- */

static int open_detect(const char *extra)
{
	int ret = open_fmt("lowerdir=%s,upperdir=%s,workdir=%s%s",
			   P("l1"), P("u"), P("w"), extra);

	ck_assert_msg(ret == OVL_STACK_OK, "%s", err);
	ovl_stack_detect(&st);
	return ret;
}

START_TEST(test_stack_detect_ns)
{
	/* nothing anywhere: trusted, but not from the layers */
	open_detect("");
	ck_assert_int_eq(st.ns, OVL_NS_TRUSTED);
	ck_assert(!st.ns_detected);

	/* a lower root with user.overlay.*: user */
	ck_assert_int_eq(setxattr(P("l1"), "user.overlay.opaque", "y", 1, 0), 0);
	open_detect("");
	ck_assert_int_eq(st.ns, OVL_NS_USER);
	ck_assert(st.ns_detected);

	/* the upper root outranks a lower root */
	ck_assert_int_eq(setxattr(P("u"), "trusted.overlay.impure", "y", 1, 0), 0);
	open_detect("");
	ck_assert_int_eq(st.ns, OVL_NS_TRUSTED);
	ck_assert(st.ns_detected);
	ck_assert_int_eq(removexattr(P("u"), "trusted.overlay.impure"), 0);
	ck_assert_int_eq(removexattr(P("l1"), "user.overlay.opaque"), 0);

	/* W/index carrying user.overlay.upper */
	mkd("w/index");
	ck_assert_int_eq(setxattr(P("w/index"), "user.overlay.upper", "x", 1, 0), 0);
	open_detect("");
	ck_assert_int_eq(st.ns, OVL_NS_USER);
	ck_assert(st.ns_detected);
	ck_assert(st.index);	/* the upper xattr says index was on */

	/* the option wins over the layers */
	ck_assert_int_eq(setxattr(P("u"), "trusted.overlay.origin", "x", 1, 0), 0);
	open_detect(",userxattr");
	ck_assert_int_eq(st.ns, OVL_NS_USER);
	ck_assert(!st.ns_detected);
}
END_TEST

START_TEST(test_stack_detect_features)
{
	open_detect("");
	ck_assert(st.metacopy);		/* unknown: accept metacopy files */
	ck_assert(!st.index);		/* no W/index */
	ck_assert(st.redirect_follow);
	ck_assert(!st.nfs_export);
	ck_assert_int_eq(st.verity, OVL_VERITY_OFF);

	/* an empty W/index says nothing; one entry does */
	mkd("w/index");
	open_detect("");
	ck_assert(!st.index);
	mkf("w/index/00fb");
	open_detect("");
	ck_assert(st.index);
	/* trusted.overlay.upper on W/index */
	ck_assert_int_eq(unlink(P("w/index/00fb")), 0);
	ck_assert_int_eq(setxattr(P("w/index"), "trusted.overlay.upper", "x", 1, 0), 0);
	open_detect("");
	ck_assert(st.index);

	/* options win */
	open_detect(",metacopy=off,index=off,redirect_dir=nofollow,verity=require");
	ck_assert(!st.metacopy);
	ck_assert(!st.index);
	ck_assert(!st.redirect_follow);
	ck_assert_int_eq(st.verity, OVL_VERITY_REQUIRE);
	open_detect(",index=on,nfs_export=on,metacopy=off,redirect_dir=follow");
	ck_assert(st.index && st.nfs_export && st.redirect_follow);
	/* off still follows (redirect_always_follow): only nofollow refuses */
	open_detect(",redirect_dir=off");
	ck_assert(st.redirect_follow);
	open_detect(",redirect_dir=on,metacopy=on,verity=on");
	ck_assert(st.redirect_follow && st.metacopy);
	ck_assert_int_eq(st.verity, OVL_VERITY_ON);
	/* index=on without a W/index dir: the option still says on */
	ck_assert_int_eq(rmdir(P("w/index")), 0);
	open_detect(",index=on");
	ck_assert(st.index);
	ck_assert_int_eq(st.indexfd, -1);
}
END_TEST

/* ---- mounted? ---- */

/* Escape ',' ':' '\' for an overlay option value. */
static void esc(char *out, size_t outlen, const char *in)
{
	size_t o = 0;

	for (; *in && o + 2 < outlen; in++) {
		if (*in == ',' || *in == ':' || *in == '\\')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = '\0';
}

START_TEST(test_stack_mounted)
{
	/* names with a space, a comma, a colon and a backslash */
	static const char *lo = "lo w,1:x", *lo2 = "l2 b", *up = "u p,:\\z",
			  *wk = "w o,r:k", *mp = "m n,t: \\";
	char opts[5 * PATH_MAX], e1[PATH_MAX], e2[PATH_MAX], e3[PATH_MAX],
	     e4[PATH_MAX], mnt[PATH_MAX];
	struct ovl_opts o;

	mkd(lo);
	mkd(lo2);
	mkd(up);
	mkd(wk);
	mkd(mp);
	esc(e1, sizeof(e1), P("%s", lo));
	esc(e2, sizeof(e2), P("%s", lo2));
	esc(e3, sizeof(e3), P("%s", up));
	esc(e4, sizeof(e4), P("%s", wk));
	snprintf(opts, sizeof(opts), "lowerdir=%s:%s,upperdir=%s,workdir=%s",
		 e1, e2, e3, e4);

	/* the stack, opened with the same odd names */
	ovl_opts_init(&o);
	o.upper = strdup(P("%s", up));
	o.work = strdup(P("%s", wk));
	ovl_opts_add_lower(&o, P("%s", lo));
	ovl_opts_add_lower(&o, P("%s", lo2));
	ck_assert_int_eq(ovl_stack_open(&st, &o, err, sizeof(err)), OVL_STACK_OK);
	ck_assert_int_eq(ovl_stack_mounted(&st, mnt, sizeof(mnt)), 0);

	if (mount("overlay", P("%s", mp), "overlay", 0, opts) < 0) {
		if (errno == EPERM || errno == ENODEV) {
			printf("# SKIP mounted detection: mount overlay: %s\n",
			       strerror(errno));
			return;
		}
		ck_abort_msg("mount %s: %s", opts, strerror(errno));
	}
	mnt[0] = '\0';
	ck_assert_int_eq(ovl_stack_mounted(&st, mnt, sizeof(mnt)), 1);
	ck_assert_str_eq(mnt, P("%s", mp));
	ck_assert_int_eq(ovl_stack_mounted(&st, NULL, 0), 1);

	/* a stack without upper on the same first lower: mounted too */
	ck_assert_int_eq(open_fmt("lowerdir=%s:%s", e1, P("l1")), OVL_STACK_OK);
	ck_assert_int_eq(ovl_stack_mounted(&st, mnt, sizeof(mnt)), 1);
	ck_assert_str_eq(mnt, P("%s", mp));
	/* ... but not on another one */
	ck_assert_int_eq(open_fmt("lowerdir=%s:%s", P("l1"), P("l2")), OVL_STACK_OK);
	ck_assert_int_eq(ovl_stack_mounted(&st, mnt, sizeof(mnt)), 0);

	/* other dirs: not mounted */
	ck_assert_int_eq(open_fmt("lowerdir=%s,upperdir=%s,workdir=%s",
				  e1, P("u"), P("w")), OVL_STACK_OK);
	ck_assert_int_eq(ovl_stack_mounted(&st, mnt, sizeof(mnt)), 0);
	/* sharing only the work dir is enough */
	ck_assert_int_eq(open_fmt("lowerdir=%s,upperdir=%s,workdir=%s",
				  P("l1"), P("u"), e4), OVL_STACK_OK);
	ck_assert_int_eq(ovl_stack_mounted(&st, mnt, sizeof(mnt)), 1);
	ck_assert_int_eq(open_fmt("lowerdir=%s,upperdir=%s", P("l1"), e4), OVL_STACK_OK);
	ck_assert_int_eq(ovl_stack_mounted(&st, mnt, sizeof(mnt)), 1);

	ck_assert_int_eq(umount(P("%s", mp)), 0);
	ck_assert_int_eq(open_fmt("lowerdir=%s:%s,upperdir=%s,workdir=%s",
				  e1, e2, e3, e4), OVL_STACK_OK);
	ck_assert_int_eq(ovl_stack_mounted(&st, mnt, sizeof(mnt)), 0);

	/* data layers ("::") in the mount do not confuse the split */
	snprintf(opts, sizeof(opts), "lowerdir=%s::%s,upperdir=%s,workdir=%s",
		 e1, e2, e3, e4);
	ck_assert_int_eq(mount("overlay", P("%s", mp), "overlay", 0, opts), 0);
	ck_assert_int_eq(ovl_stack_mounted(&st, mnt, sizeof(mnt)), 1);
	ck_assert_int_eq(open_fmt("lowerdir=%s:%s", e1, P("l1")), OVL_STACK_OK);
	ck_assert_int_eq(ovl_stack_mounted(&st, mnt, sizeof(mnt)), 1);
	ck_assert_int_eq(umount(P("%s", mp)), 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("stack");
	TCase *tc = tcase_create("stack");

	tcase_add_unchecked_fixture(tc, top_setup, top_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_stack_full);
	tcase_add_test(tc, test_stack_partial);
	tcase_add_test(tc, test_stack_usage);
	tcase_add_test(tc, test_stack_missing);
	tcase_add_test(tc, test_stack_overlap);
	tcase_add_test(tc, test_stack_other_fs);
	tcase_add_test(tc, test_stack_permission);
	tcase_add_test(tc, test_stack_uuid_ext4);
	tcase_add_test(tc, test_stack_uuid_tmpfs);
	tcase_add_test(tc, test_stack_layer_by_uuid);
	tcase_add_test(tc, test_stack_detect_ns);
	tcase_add_test(tc, test_stack_detect_features);
	tcase_add_test(tc, test_stack_mounted);
	suite_add_tcase(s, tc);
	return s;
}
