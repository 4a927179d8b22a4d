/*
 * Safe lookups: every case runs twice, through openat2 and through the
 * component walk (ovl_lookup_force_fallback), and both must agree.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "overlay/lookup.h"
#include "unit.h"

#define SUITE_TAG "lookup"
#include "tmptree.h"

static int rootfd = -1;

static void mk(const char *rel, const char *content)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

static void mkd(const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void mkl(const char *target, const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	ck_assert_int_eq(symlink(target, p), 0);
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
	mkd("a");
	mkd("a/b");
	mkd("a/b/d");
	mk("a/b/c", "data");
	mk("f", "file");
	mkl("a", "lnk");
	mkl("b", "a/sl");
	mkl("c", "a/b/endlink");
	mkl("/etc", "a/b/abslink");
	mkl("/", "a/rootlink");
	mkl("../..", "a/b/uplink");
	rootfd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(rootfd, 0);
	ovl_lookup_force_fallback = 0;
}

static void cleanup(void)
{
	if (!base[0])
		return;
	char cmd[PATH_MAX + 16];

	if (rootfd >= 0)
		close(rootfd);
	rootfd = -1;
	ovl_lookup_force_fallback = 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", base);
	base[0] = '\0';
}

static void teardown(void)
{
	cleanup();
}

struct lk_case {
	const char *path;
	int flags;
	int err;		/* 0: must open; else the errno */
	const char *same_as;	/* success: lstat of this rel path must match */
};

static const struct lk_case lk_cases[] = {
	{ "", O_PATH, 0, "." },
	{ "", O_RDONLY | O_DIRECTORY, 0, "." },
	{ "a", O_RDONLY | O_DIRECTORY, 0, "a" },
	{ "a/b/c", O_RDONLY, 0, "a/b/c" },
	{ "a/b/d", O_PATH | O_DIRECTORY, 0, "a/b/d" },
	{ "f", O_PATH, 0, "f" },
	/* symlinks: first, middle, last component, pointing out */
	{ "lnk", O_RDONLY, ELOOP, NULL },
	{ "lnk/b/c", O_RDONLY, ELOOP, NULL },
	{ "lnk/b/c", O_PATH, ELOOP, NULL },
	{ "a/sl/c", O_RDONLY, ELOOP, NULL },
	{ "a/sl/d", O_PATH | O_DIRECTORY, ELOOP, NULL },
	{ "a/b/endlink", O_RDONLY, ELOOP, NULL },
	{ "a/b/endlink", O_PATH, 0, "a/b/endlink" },	/* the link itself */
	{ "a/b/abslink/passwd", O_RDONLY, ELOOP, NULL },
	{ "a/rootlink/etc/passwd", O_RDONLY, ELOOP, NULL },
	{ "a/b/uplink/a", O_PATH, ELOOP, NULL },
	/* leaving the root */
	{ "..", O_PATH, EXDEV, NULL },
	{ "a/..", O_PATH, EXDEV, NULL },
	{ "a/../a", O_PATH, EXDEV, NULL },
	{ "a/b/../../..", O_PATH, EXDEV, NULL },
	{ "a/b/c/..", O_RDONLY, EXDEV, NULL },
	{ "/etc/passwd", O_RDONLY, EXDEV, NULL },
	{ "/", O_PATH, EXDEV, NULL },
	/* missing, not a dir */
	{ "nope", O_PATH, ENOENT, NULL },
	{ "a/nope/c", O_RDONLY, ENOENT, NULL },
	{ "a/b/nope", O_RDONLY, ENOENT, NULL },
	{ "f/x", O_RDONLY, ENOTDIR, NULL },
	{ "a/b/c/x", O_PATH, ENOTDIR, NULL },
	{ "a/b/c", O_RDONLY | O_DIRECTORY, ENOTDIR, NULL },
	/* malformed */
	{ ".", O_PATH, EINVAL, NULL },
	{ "a//b", O_PATH, EINVAL, NULL },
	{ "a/./b", O_PATH, EINVAL, NULL },
	{ "a/", O_PATH, EINVAL, NULL },
	{ "a/b/c/", O_RDONLY, EINVAL, NULL },
	/* O_PATH drops flags openat2 would refuse with it */
	{ "a/b/c", O_PATH | O_RDWR | O_TRUNC, 0, "a/b/c" },
};

/* Run one case; returns the errno (0 on success) and the st of the fd. */
static int lk_run(const struct lk_case *c, struct stat *st)
{
	int fd, e;

	errno = 0;
	fd = ovl_open_beneath(rootfd, c->path, strlen(c->path), c->flags);
	if (fd < 0) {
		e = errno;
		ck_assert_int_ne(e, 0);
		return e;
	}
	ck_assert_int_eq(fstat(fd, st), 0);
	/* O_CLOEXEC is always added */
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	return 0;
}

START_TEST(test_lookup_table)
{
	size_t i;

	ovl_lookup_force_fallback = _i;
	for (i = 0; i < sizeof(lk_cases) / sizeof(lk_cases[0]); i++) {
		const struct lk_case *c = &lk_cases[i];
		struct stat st, want;
		int e = lk_run(c, &st);

		ck_assert_msg(e == c->err, "%s path '%s' flags %#x: errno %d (%s), want %d",
			      _i ? "walk" : "openat2", c->path, c->flags, e,
			      strerror(e), c->err);
		if (!e) {
			ck_assert_int_eq(fstatat(rootfd, c->same_as, &want,
						 AT_SYMLINK_NOFOLLOW), 0);
			ck_assert_msg(st.st_dev == want.st_dev &&
				      st.st_ino == want.st_ino,
				      "path '%s' opened the wrong inode", c->path);
		}
	}
	/* O_PATH|O_TRUNC must not have truncated anything */
	{
		struct stat st;

		ck_assert_int_eq(fstatat(rootfd, "a/b/c", &st, 0), 0);
		ck_assert_int_eq(st.st_size, 4);
	}
}
END_TEST

/* The two paths agree on every case, including ones the table does not
 * pin (a trailing symlink under O_DIRECTORY, say). */
START_TEST(test_lookup_paths_agree)
{
	static const struct lk_case extra[] = {
		{ "a/b/endlink", O_RDONLY | O_DIRECTORY, -1, NULL },
		{ "a/b/endlink", O_PATH | O_DIRECTORY, -1, NULL },
		{ "lnk", O_PATH, -1, NULL },
		{ "a/sl", O_PATH | O_DIRECTORY, -1, NULL },
		{ "a/b/c", O_WRONLY | O_DIRECTORY, -1, NULL },
	};
	size_t i, n = sizeof(lk_cases) / sizeof(lk_cases[0]);

	for (i = 0; i < n + sizeof(extra) / sizeof(extra[0]); i++) {
		const struct lk_case *c = i < n ? &lk_cases[i] : &extra[i - n];
		struct stat s1, s2;
		int e1, e2;

		memset(&s1, 0, sizeof(s1));
		memset(&s2, 0, sizeof(s2));
		ovl_lookup_force_fallback = 0;
		e1 = lk_run(c, &s1);
		ovl_lookup_force_fallback = 1;
		e2 = lk_run(c, &s2);
		ck_assert_msg(e1 == e2, "path '%s' flags %#x: openat2 %s, walk %s",
			      c->path, c->flags, strerror(e1), strerror(e2));
		if (!e1)
			ck_assert(s1.st_dev == s2.st_dev && s1.st_ino == s2.st_ino);
	}
}
END_TEST

START_TEST(test_lookup_len)
{
	struct stat st, want;
	int fd;

	ovl_lookup_force_fallback = _i;
	/* only len bytes count: no NUL needed */
	fd = ovl_open_beneath(rootfd, "a/b/cXYZ", 5, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(fstatat(rootfd, "a/b/c", &want, 0), 0);
	ck_assert(st.st_ino == want.st_ino);
	close(fd);
	fd = ovl_open_beneath(rootfd, "a/b/c", 0, O_PATH);	/* the root */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(fstat(rootfd, &want), 0);
	ck_assert(st.st_ino == want.st_ino);
	close(fd);
	/* an embedded NUL is not a shorter path */
	errno = 0;
	ck_assert_int_eq(ovl_open_beneath(rootfd, "a\0b", 3, O_PATH), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_lookup_long_names)
{
	char name[NAME_MAX + 2], *path;

	ovl_lookup_force_fallback = _i;
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	errno = 0;
	ck_assert_int_eq(ovl_open_beneath(rootfd, name, strlen(name), O_PATH), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);

	path = malloc(PATH_MAX + 1);
	ck_assert_ptr_nonnull(path);
	memset(path, 'a', PATH_MAX);
	for (size_t k = 1; k < PATH_MAX; k += 2)
		path[k] = '/';
	path[PATH_MAX] = '\0';
	errno = 0;
	ck_assert_int_eq(ovl_open_beneath(rootfd, path, PATH_MAX, O_PATH), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	free(path);
}
END_TEST

/* A dir that was fine is swapped for a symlink (a container racing us). */
START_TEST(test_lookup_dir_replaced)
{
	char p[PATH_MAX], q[PATH_MAX];
	int fd;

	ovl_lookup_force_fallback = _i;
	fd = ovl_open_beneath(rootfd, "a/b/d", 5, O_PATH | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	close(fd);
	mkd("a/b/d/e");

	snprintf(p, sizeof(p), "%s/a/b/d", base);
	snprintf(q, sizeof(q), "%s/a/b/d2", base);
	ck_assert_int_eq(rename(p, q), 0);
	ck_assert_int_eq(symlink("/etc", p), 0);

	errno = 0;
	ck_assert_int_eq(ovl_open_beneath(rootfd, "a/b/d/e", 7, O_PATH), -1);
	ck_assert_int_eq(errno, ELOOP);
	errno = 0;
	ck_assert_int_eq(ovl_open_beneath(rootfd, "a/b/d/passwd", 12, O_RDONLY), -1);
	ck_assert_int_eq(errno, ELOOP);
	errno = 0;
	ck_assert_int_eq(ovl_open_beneath(rootfd, "a/b/d", 5, O_RDONLY | O_DIRECTORY), -1);
	ck_assert(errno == ELOOP || errno == ENOTDIR);

	/* a symlink to a dir inside the layer is refused just the same */
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(symlink("d2", p), 0);
	errno = 0;
	ck_assert_int_eq(ovl_open_beneath(rootfd, "a/b/d/e", 7, O_PATH), -1);
	ck_assert_int_eq(errno, ELOOP);
	fd = ovl_open_beneath(rootfd, "a/b/d2/e", 8, O_PATH | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	close(fd);
}
END_TEST

/* /proc magic links: never followed, in the middle or at the end. */
START_TEST(test_lookup_magiclinks)
{
	int pfd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (pfd < 0) {
		printf("# SKIP magic links: /proc not mounted\n");
		return;
	}
	ovl_lookup_force_fallback = _i;
	errno = 0;
	ck_assert_int_eq(ovl_open_beneath(pfd, "cwd/tmp", 7, O_PATH), -1);
	ck_assert_int_eq(errno, ELOOP);
	errno = 0;
	ck_assert_int_eq(ovl_open_beneath(pfd, "root/etc", 8, O_PATH), -1);
	ck_assert_int_eq(errno, ELOOP);
	errno = 0;
	ck_assert_int_eq(ovl_open_beneath(pfd, "exe", 3, O_RDONLY), -1);
	ck_assert_int_eq(errno, ELOOP);
	close(pfd);
}
END_TEST

START_TEST(test_lookup_helpers)
{
	struct stat st;
	char p[PATH_MAX];
	int fd;

	fd = ovl_open_dir_at(rootfd, "a");
	ck_assert_int_ge(fd, 0);
	/* readable: a real O_RDONLY dir fd, not O_PATH */
	ck_assert_int_eq(fcntl(fd, F_GETFL) & (O_PATH | O_ACCMODE), O_RDONLY);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	ck_assert_int_eq(ovl_open_dir_at(rootfd, "lnk"), -1);	/* symlink */
	ck_assert_int_eq(ovl_open_dir_at(rootfd, "f"), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	ck_assert_int_eq(ovl_open_dir_at(rootfd, "nope"), -1);
	ck_assert_int_eq(errno, ENOENT);

	/* names sorted, each with its d_type */
	size_t n = 0;
	unsigned char *types = NULL;
	char **names = ovl_dir_names_types(rootfd, "", &n, &types);
	ck_assert_ptr_nonnull(names);
	ck_assert_ptr_null(names[n]);
	for (size_t i = 0; i < n; i++) {
		ck_assert(i == 0 || strcmp(names[i - 1], names[i]) < 0);
		ck_assert_int_eq(ovl_stat_at(rootfd, names[i], &st), 0);
		if (types[i] != DT_UNKNOWN)
			ck_assert_uint_eq((unsigned)types[i] << 12, st.st_mode & S_IFMT);
		if (!strcmp(names[i], "a"))
			ck_assert(types[i] == DT_DIR || types[i] == DT_UNKNOWN);
	}
	ovl_dir_names_free(names);
	free(types);

	ck_assert_int_eq(ovl_stat_at(rootfd, "lnk", &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(ovl_stat_at(rootfd, "a", &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(ovl_stat_at(rootfd, "nope", &st), -1);
	ck_assert_int_eq(errno, ENOENT);

	/* whiteouts: char 0/0 only */
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFCHR | 0;
	st.st_rdev = makedev(0, 0);
	ck_assert(ovl_is_whiteout_stat(&st));
	st.st_rdev = makedev(1, 3);
	ck_assert(!ovl_is_whiteout_stat(&st));
	st.st_mode = S_IFREG | 0644;
	st.st_rdev = makedev(0, 0);
	ck_assert(!ovl_is_whiteout_stat(&st));
	st.st_mode = S_IFBLK;
	ck_assert(!ovl_is_whiteout_stat(&st));

	/* and a real one, where we may make devices */
	snprintf(p, sizeof(p), "%s/wh", base);
	if (mknod(p, S_IFCHR | 0, makedev(0, 0)) == 0) {
		ck_assert_int_eq(ovl_stat_at(rootfd, "wh", &st), 0);
		ck_assert(ovl_is_whiteout_stat(&st));
	} else {
		printf("# SKIP real whiteout: mknod: %s\n", strerror(errno));
	}
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("lookup");
	TCase *tc = tcase_create("lookup");

	tcase_add_unchecked_fixture(tc, top_setup, top_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	/* _i = 0: openat2, _i = 1: the component walk */
	tcase_add_loop_test(tc, test_lookup_table, 0, 2);
	tcase_add_test(tc, test_lookup_paths_agree);
	tcase_add_loop_test(tc, test_lookup_len, 0, 2);
	tcase_add_loop_test(tc, test_lookup_long_names, 0, 2);
	tcase_add_loop_test(tc, test_lookup_dir_replaced, 0, 2);
	tcase_add_loop_test(tc, test_lookup_magiclinks, 0, 2);
	tcase_add_test(tc, test_lookup_helpers);
	suite_add_tcase(s, tc);
	return s;
}
