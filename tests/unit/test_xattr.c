/*
 * Unit tests: xattr names, classification, and reads from real entries
 * (needs root for trusted.* and mknod; this project's machines are root).
 * Every read test runs twice: with listxattrat/getxattrat and with the
 * O_PATH + /proc/self/fd fallback forced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "overlay/xattr.h"
#include "overlay/xattr_copy.h"
#include "unit.h"

static char dir[64];
static int dfd = -1;

static void xset(const char *name, const char *xname, const void *val, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_msg(lsetxattr(path, xname, val, len, 0) == 0, "lsetxattr %s %s: %s",
		      path, xname, strerror(errno));
}

static void setup(void)
{
	int fd;

	strcpy(dir, "/tmp/ovl-xattr-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	fd = openat(dfd, "file", O_CREAT | O_WRONLY, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = openat(dfd, "target", O_CREAT | O_WRONLY, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(mkdirat(dfd, "dir", 0755), 0);
	ck_assert_int_eq(symlinkat("target", dfd, "link"), 0);
	ck_assert_int_eq(mkfifoat(dfd, "fifo", 0644), 0);
	ck_assert_int_eq(mknodat(dfd, "wh", S_IFCHR | 0644, makedev(0, 0)), 0);

	xset("file", "trusted.overlay.origin", "\x00\xfb\x15\x00\x01", 5);
	xset("file", "trusted.overlay.metacopy", "", 0);
	xset("file", "user.overlay.redirect", "/x", 2);
	xset("file", "trusted.overlay.overlay.origin", "esc", 3);
	xset("file", "trusted.overlay.bogus", "b", 1);
	xset("file", "user.other", "o", 1);
	xset("dir", "trusted.overlay.opaque", "y", 1);
	xset("dir", "trusted.overlay.impure", "y", 1);
	xset("target", "trusted.overlay.redirect", "/target", 7);
	xset("link", "trusted.overlay.redirect", "/own", 4);
	xset("fifo", "trusted.overlay.opaque", "x", 1);
	xset("wh", "trusted.overlay.nlink", "U+0", 3);
	xset(".", "trusted.overlay.upper", "UP", 2);
	ovl_xattr_force_fallback = 0;
}

static void teardown(void)
{
	const char *names[] = { "file", "target", "link", "fifo", "wh", "copy", "link2",
				"link3", "fifo2", "copyfd", NULL };

	for (int i = 0; names[i]; i++)
		unlinkat(dfd, names[i], 0);
	unlinkat(dfd, "dir", AT_REMOVEDIR);
	unlinkat(dfd, "dir2", AT_REMOVEDIR);
	close(dfd);
	rmdir(dir);
}

START_TEST(test_names)
{
	ck_assert_str_eq(ovl_xattr_short_name(OVL_XA_ORIGIN), "origin");
	ck_assert_str_eq(ovl_xattr_short_name(OVL_XA_WHITEOUTS), "whiteouts");
	ck_assert_str_eq(ovl_xattr_name(OVL_NS_TRUSTED, OVL_XA_METACOPY),
			 "trusted.overlay.metacopy");
	ck_assert_str_eq(ovl_xattr_name(OVL_NS_USER, OVL_XA_OPAQUE), "user.overlay.opaque");
	ck_assert_ptr_null(ovl_xattr_name(OVL_NS_USER, OVL_XA_COUNT));
	ck_assert_ptr_null(ovl_xattr_short_name(OVL_XA_COUNT));
	for (int id = 0; id < OVL_XA_COUNT; id++) {
		enum ovl_xattr_id got = OVL_XA_COUNT;

		ck_assert_int_eq(ovl_xattr_classify(ovl_xattr_name(OVL_NS_TRUSTED, id),
						    OVL_NS_TRUSTED, &got), OVL_XC_OVERLAY);
		ck_assert_int_eq(got, id);
		got = OVL_XA_COUNT;
		ck_assert_int_eq(ovl_xattr_classify(ovl_xattr_name(OVL_NS_USER, id),
						    OVL_NS_TRUSTED, &got), OVL_XC_OTHER_NS);
		ck_assert_int_eq(got, id);
		ck_assert_int_eq(ovl_xattr_classify(ovl_xattr_name(OVL_NS_USER, id),
						    OVL_NS_USER, &got), OVL_XC_OVERLAY);
	}
}
END_TEST

START_TEST(test_classify)
{
	enum ovl_xattr_id id;

	ck_assert_int_eq(ovl_xattr_classify("security.selinux", OVL_NS_TRUSTED, &id), OVL_XC_OTHER);
	ck_assert_int_eq(ovl_xattr_classify("trusted.overlayx", OVL_NS_TRUSTED, &id), OVL_XC_OTHER);
	ck_assert_int_eq(ovl_xattr_classify("trusted.overlay", OVL_NS_TRUSTED, &id), OVL_XC_OTHER);
	ck_assert_int_eq(ovl_xattr_classify("user.foo", OVL_NS_USER, &id), OVL_XC_OTHER);
	ck_assert_int_eq(ovl_xattr_classify("trusted.overlay.overlay.origin", OVL_NS_TRUSTED, &id),
			 OVL_XC_ESCAPED);
	ck_assert_int_eq(ovl_xattr_classify("user.overlay.overlay.x", OVL_NS_TRUSTED, &id),
			 OVL_XC_ESCAPED);
	ck_assert_int_eq(ovl_xattr_classify("trusted.overlay.overlay.", OVL_NS_USER, &id),
			 OVL_XC_ESCAPED);
	ck_assert_int_eq(ovl_xattr_classify("trusted.overlay.bogus", OVL_NS_TRUSTED, &id),
			 OVL_XC_UNKNOWN);
	ck_assert_int_eq(ovl_xattr_classify("trusted.overlay.", OVL_NS_TRUSTED, &id),
			 OVL_XC_UNKNOWN);
	ck_assert_int_eq(ovl_xattr_classify("trusted.overlay.Origin", OVL_NS_TRUSTED, &id),
			 OVL_XC_UNKNOWN);
	ck_assert_int_eq(ovl_xattr_classify("trusted.overlay.origin2", OVL_NS_TRUSTED, &id),
			 OVL_XC_UNKNOWN);
	ck_assert_int_eq(ovl_xattr_classify("user.overlay.bogus", OVL_NS_TRUSTED, &id),
			 OVL_XC_UNKNOWN);
	ck_assert_int_eq(ovl_xattr_classify("trusted.overlay.opaque", OVL_NS_TRUSTED, NULL),
			 OVL_XC_OVERLAY);
}
END_TEST

/* _i: 0 = *at syscalls, 1 = forced fallback */
START_TEST(test_get_at)
{
	char buf[64];
	ssize_t n;

	ovl_xattr_force_fallback = _i;
	n = ovl_xattr_get_at(dfd, "dir", "trusted.overlay.opaque", buf, sizeof(buf));
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(buf[0], 'y');
	/* symlink: its own xattr, not the target's */
	n = ovl_xattr_get_at(dfd, "link", "trusted.overlay.redirect", buf, sizeof(buf));
	ck_assert_int_eq(n, 4);
	ck_assert_mem_eq(buf, "/own", 4);
	/* char device and fifo: read without opening (a fifo open would block) */
	n = ovl_xattr_get_at(dfd, "wh", "trusted.overlay.nlink", buf, sizeof(buf));
	ck_assert_int_eq(n, 3);
	ck_assert_mem_eq(buf, "U+0", 3);
	n = ovl_xattr_get_at(dfd, "fifo", "trusted.overlay.opaque", buf, sizeof(buf));
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(buf[0], 'x');
	/* "" is the dir itself */
	n = ovl_xattr_get_at(dfd, "", "trusted.overlay.upper", buf, sizeof(buf));
	ck_assert_int_eq(n, 2);
	n = ovl_xattr_get_at(dfd, NULL, "trusted.overlay.upper", buf, sizeof(buf));
	ck_assert_int_eq(n, 2);
	/* size query, empty value */
	n = ovl_xattr_get_at(dfd, "file", "trusted.overlay.origin", NULL, 0);
	ck_assert_int_eq(n, 5);
	n = ovl_xattr_get_at(dfd, "file", "trusted.overlay.metacopy", buf, sizeof(buf));
	ck_assert_int_eq(n, 0);
	/* errors */
	errno = 0;
	ck_assert_int_eq(ovl_xattr_get_at(dfd, "file", "trusted.overlay.nope", buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, ENODATA);
	ck_assert_int_eq(ovl_xattr_get_at(dfd, "file", "trusted.overlay.origin", buf, 2), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_int_eq(ovl_xattr_get_at(dfd, "missing", "trusted.overlay.origin", buf, 8), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* a name with a slash stays relative to dfd and never follows the link */
	ck_assert_int_eq(ovl_xattr_get_at(dfd, "dir/../dir", "trusted.overlay.opaque", buf, 8), 1);
}
END_TEST

START_TEST(test_list_at)
{
	char buf[1024];
	ssize_t n;

	ovl_xattr_force_fallback = _i;
	n = ovl_xattr_list_at(dfd, "link", buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)sizeof("trusted.overlay.redirect"));
	ck_assert_str_eq(buf, "trusted.overlay.redirect");
	n = ovl_xattr_list_at(dfd, "wh", buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)sizeof("trusted.overlay.nlink"));
	n = ovl_xattr_list_at(dfd, "fifo", NULL, 0);
	ck_assert_int_eq(n, (ssize_t)sizeof("trusted.overlay.opaque"));
	ck_assert_int_eq(ovl_xattr_list_at(dfd, "file", buf, 4), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_int_eq(ovl_xattr_list_at(dfd, "target", buf, sizeof(buf)),
			 (ssize_t)sizeof("trusted.overlay.redirect"));
}
END_TEST

START_TEST(test_names_at)
{
	unsigned present;

	ovl_xattr_force_fallback = _i;
	ck_assert_int_eq(ovl_xattr_names_at(dfd, "file", OVL_NS_TRUSTED, &present), 0);
	ck_assert_uint_eq(present, (1u << OVL_XA_ORIGIN) | (1u << OVL_XA_METACOPY));
	ck_assert_int_eq(ovl_xattr_names_at(dfd, "file", OVL_NS_USER, &present), 0);
	ck_assert_uint_eq(present, 1u << OVL_XA_REDIRECT);
	ck_assert_int_eq(ovl_xattr_names_at(dfd, "dir", OVL_NS_TRUSTED, &present), 0);
	ck_assert_uint_eq(present, (1u << OVL_XA_OPAQUE) | (1u << OVL_XA_IMPURE));
	ck_assert_int_eq(ovl_xattr_names_at(dfd, "wh", OVL_NS_TRUSTED, &present), 0);
	ck_assert_uint_eq(present, 1u << OVL_XA_NLINK);
	ck_assert_int_eq(ovl_xattr_names_at(dfd, "", OVL_NS_TRUSTED, &present), 0);
	ck_assert_uint_eq(present, 1u << OVL_XA_UPPER);
	ck_assert_int_eq(ovl_xattr_names_at(dfd, "missing", OVL_NS_TRUSTED, &present), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(present, 0);
}
END_TEST

START_TEST(test_read_file)
{
	struct ovl_xattrs x;

	ovl_xattr_force_fallback = _i;
	ck_assert_int_eq(ovl_xattrs_read(dfd, "file", OVL_NS_TRUSTED, &x), 0);
	ck_assert(ovl_xattrs_has(&x, OVL_XA_ORIGIN));
	ck_assert(ovl_xattrs_has(&x, OVL_XA_METACOPY));
	ck_assert(!ovl_xattrs_has(&x, OVL_XA_REDIRECT));
	ck_assert_uint_eq(x.other_ns, 1u << OVL_XA_REDIRECT);
	ck_assert_uint_eq(x.escaped, 1);
	ck_assert_uint_eq(x.unknown, 1);
	ck_assert_uint_eq(x.huge, 0);
	ck_assert_uint_eq(x.unreadable, 0);
	ck_assert_uint_eq(x.len[OVL_XA_ORIGIN], 5);
	ck_assert_mem_eq(x.val[OVL_XA_ORIGIN], "\x00\xfb\x15\x00\x01", 5);
	ck_assert_int_eq(x.val[OVL_XA_ORIGIN][5], 0);
	ck_assert_uint_eq(x.len[OVL_XA_METACOPY], 0);
	ck_assert_ptr_nonnull(x.val[OVL_XA_METACOPY]);
	ck_assert_int_eq(x.val[OVL_XA_METACOPY][0], 0);
	ck_assert_ptr_null(x.val[OVL_XA_REDIRECT]);
	ovl_xattrs_free(&x);
	ck_assert_ptr_null(x.val[OVL_XA_ORIGIN]);

	/* the user namespace view of the same file */
	ck_assert_int_eq(ovl_xattrs_read(dfd, "file", OVL_NS_USER, &x), 0);
	ck_assert_uint_eq(x.present, 1u << OVL_XA_REDIRECT);
	ck_assert_str_eq((char *)x.val[OVL_XA_REDIRECT], "/x");
	ck_assert_uint_eq(x.other_ns, (1u << OVL_XA_ORIGIN) | (1u << OVL_XA_METACOPY));
	ovl_xattrs_free(&x);
}
END_TEST

START_TEST(test_read_special)
{
	struct ovl_xattrs x;

	ovl_xattr_force_fallback = _i;
	ck_assert_int_eq(ovl_xattrs_read(dfd, "link", OVL_NS_TRUSTED, &x), 0);
	ck_assert_uint_eq(x.present, 1u << OVL_XA_REDIRECT);
	ck_assert_str_eq((char *)x.val[OVL_XA_REDIRECT], "/own");
	ovl_xattrs_free(&x);
	ck_assert_int_eq(ovl_xattrs_read(dfd, "wh", OVL_NS_TRUSTED, &x), 0);
	ck_assert_uint_eq(x.present, 1u << OVL_XA_NLINK);
	ck_assert_str_eq((char *)x.val[OVL_XA_NLINK], "U+0");
	ovl_xattrs_free(&x);
	ck_assert_int_eq(ovl_xattrs_read(dfd, "fifo", OVL_NS_TRUSTED, &x), 0);
	ck_assert_uint_eq(x.present, 1u << OVL_XA_OPAQUE);
	ovl_xattrs_free(&x);
	ck_assert_int_eq(ovl_xattrs_read(dfd, "dir", OVL_NS_TRUSTED, &x), 0);
	ck_assert_uint_eq(x.present, (1u << OVL_XA_OPAQUE) | (1u << OVL_XA_IMPURE));
	ovl_xattrs_free(&x);
	ck_assert_int_eq(ovl_xattrs_read(dfd, "", OVL_NS_TRUSTED, &x), 0);
	ck_assert_uint_eq(x.present, 1u << OVL_XA_UPPER);
	ck_assert_uint_eq(x.len[OVL_XA_UPPER], 2);
	ovl_xattrs_free(&x);
	/* no xattrs at all */
	ck_assert_int_eq(ovl_xattrs_read(dfd, "dir/..", OVL_NS_USER, &x), 0);
	ck_assert_uint_eq(x.present | x.other_ns, 1u << OVL_XA_UPPER);
	ovl_xattrs_free(&x);
	/* missing entry */
	ck_assert_int_eq(ovl_xattrs_read(dfd, "missing", OVL_NS_TRUSTED, &x), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/*
 * ext4 keeps every xattr of an inode in one block, too small for a value
 * over OVL_XATTR_MAX plus a long list: use a private tmpfs (trusted.*
 * there has no size limit), or /dev/shm when mounting is not allowed.
 */
/* Layer roots are O_PATH fds: "" must read the dir itself through them. */
START_TEST(test_read_opath_self)
{
	char buf[64];
	struct ovl_xattrs x;
	int pfd = openat(dfd, ".", O_PATH | O_DIRECTORY);

	ovl_xattr_force_fallback = _i;
	ck_assert_int_ge(pfd, 0);
	ck_assert_int_eq(ovl_xattr_get_at(pfd, "", "trusted.overlay.upper", buf, sizeof(buf)), 2);
	ck_assert_int_eq(memcmp(buf, "UP", 2), 0);
	ck_assert_int_gt(ovl_xattr_list_at(pfd, "", buf, sizeof(buf)), 0);
	ck_assert_int_eq(ovl_xattrs_read(pfd, "", OVL_NS_TRUSTED, &x), 0);
	ck_assert(ovl_xattrs_has(&x, OVL_XA_UPPER));
	ovl_xattrs_free(&x);
	/* A named entry under an O_PATH dir works as well. */
	ck_assert_int_eq(ovl_xattr_get_at(pfd, "dir", "trusted.overlay.opaque", buf, sizeof(buf)), 1);
	close(pfd);
}
END_TEST

START_TEST(test_read_huge_and_long_list)
{
	static char big[OVL_XATTR_MAX + 1];
	char tdir[] = "/tmp/ovl-xattr-big-XXXXXX", xname[64], path[128];
	const char *base = tdir;
	struct ovl_xattrs x;
	int fd, bfd, mounted;

	ovl_xattr_force_fallback = _i;
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	mounted = mount("tmpfs", tdir, "tmpfs", 0, "size=4m") == 0;
	if (!mounted)
		base = "/dev/shm";
	snprintf(path, sizeof(path), "%s/big-%d", base, (int)getpid());
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	memset(big, 'r', sizeof(big));
	big[0] = '/';
	ck_assert_int_eq(lsetxattr(path, "trusted.overlay.redirect", big, sizeof(big), 0), 0);
	ck_assert_int_eq(lsetxattr(path, "trusted.overlay.origin", big, OVL_XATTR_MAX, 0), 0);
	/* values just under and over the first, short read's buffer */
	ck_assert_int_eq(lsetxattr(path, "trusted.overlay.uuid", big, 256, 0), 0);
	ck_assert_int_eq(lsetxattr(path, "trusted.overlay.upper", big, 257, 0), 0);
	/* many names: the list outgrows the first buffer */
	for (int i = 0; i < 120; i++) {
		snprintf(xname, sizeof(xname), "trusted.padding.name-to-grow-the-list-%04d", i);
		ck_assert_int_eq(lsetxattr(path, xname, "p", 1, 0), 0);
	}
	ck_assert_int_eq(lsetxattr(path, "trusted.overlay.opaque", "y", 1, 0), 0);
	bfd = open(base, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(bfd, 0);
	ck_assert_int_gt(ovl_xattr_list_at(bfd, strrchr(path, '/') + 1, NULL, 0), 4096);
	/* too many names for one list: the caller is told to get by name */
	unsigned present;
	ck_assert_int_eq(ovl_xattr_names_at(bfd, strrchr(path, '/') + 1, OVL_NS_TRUSTED, &present), -1);
	ck_assert_int_eq(errno, ERANGE);

	ck_assert_int_eq(ovl_xattrs_read(bfd, strrchr(path, '/') + 1, OVL_NS_TRUSTED, &x), 0);
	ck_assert(ovl_xattrs_has(&x, OVL_XA_REDIRECT));
	ck_assert_uint_eq(x.huge, 1u << OVL_XA_REDIRECT);
	ck_assert_ptr_null(x.val[OVL_XA_REDIRECT]);
	/* exactly OVL_XATTR_MAX is kept */
	ck_assert_uint_eq(x.len[OVL_XA_ORIGIN], OVL_XATTR_MAX);
	ck_assert_ptr_nonnull(x.val[OVL_XA_ORIGIN]);
	ck_assert_mem_eq(x.val[OVL_XA_ORIGIN], big, OVL_XATTR_MAX);
	ck_assert_uint_eq(x.len[OVL_XA_UUID], 256);
	ck_assert_mem_eq(x.val[OVL_XA_UUID], big, 256);
	ck_assert_uint_eq(x.len[OVL_XA_UPPER], 257);
	ck_assert_mem_eq(x.val[OVL_XA_UPPER], big, 257);
	ck_assert_uint_eq(x.huge, 1u << OVL_XA_REDIRECT);
	ck_assert(ovl_xattrs_has(&x, OVL_XA_OPAQUE));
	ck_assert_uint_eq(x.unreadable, 0);
	ovl_xattrs_free(&x);
	close(bfd);
	unlink(path);
	if (mounted)
		umount(tdir);
	rmdir(tdir);
}
END_TEST


/* ---- copies (xattr_copy.c) ---- */

static bool has_value(const char *name, const char *xname, const char *want, size_t len)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ssize_t n = lgetxattr(path, xname, buf, sizeof(buf));
	return n == (ssize_t)len && !memcmp(buf, want, len);
}

static bool has_name(const char *name, const char *xname)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lgetxattr(path, xname, NULL, 0) >= 0;
}

struct failed {
	int n, err;
	char name[64];
};

static void on_fail(void *arg, const char *name, int err)
{
	struct failed *f = arg;

	f->n++;
	f->err = err;
	snprintf(f->name, sizeof(f->name), "%s", name ? name : "(none)");
}

/* A file capability (cap_net_bind_service, effective), as setcap makes it. */
static const char cap[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x04 };

START_TEST(test_copy_drops_overlay_names)
{
	struct failed f = { 0 };
	int fd = openat(dfd, "copy", O_CREAT | O_WRONLY, 0644);

	ck_assert_int_ge(fd, 0);
	close(fd);
	xset("file", "security.capability", cap, sizeof(cap));
	ck_assert_int_eq(ovl_xattr_copy(dfd, "file", dfd, "copy", OVL_NS_TRUSTED, on_fail, &f), 0);
	ck_assert_int_eq(f.n, 0);
	ck_assert(has_value("copy", "user.other", "o", 1));
	ck_assert(has_value("copy", "security.capability", cap, sizeof(cap)));
	/* ours in both namespaces, escaped and unknown overlay names stay behind */
	ck_assert(!has_name("copy", "trusted.overlay.origin"));
	ck_assert(!has_name("copy", "trusted.overlay.metacopy"));
	ck_assert(!has_name("copy", "user.overlay.redirect"));
	ck_assert(!has_name("copy", "trusted.overlay.overlay.origin"));
	ck_assert(!has_name("copy", "trusted.overlay.bogus"));
	ck_assert(ovl_xattr_copied("security.selinux", OVL_NS_USER));
	ck_assert(!ovl_xattr_copied("trusted.overlay.opaque", OVL_NS_USER));
}
END_TEST

/* Through two open fds: the source unlinked, so it has no name at all
 * (as a file opened by handle may have none); the same names as by path. */
START_TEST(test_copy_fd)
{
	struct failed f = { 0 };
	int in = openat(dfd, "file", O_RDONLY);
	int out = openat(dfd, "copyfd", O_CREAT | O_WRONLY, 0644);

	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	xset("file", "security.capability", cap, sizeof(cap));
	ck_assert_int_eq(unlinkat(dfd, "file", 0), 0);
	ck_assert_int_eq(ovl_xattr_copy_fd(in, out, OVL_NS_TRUSTED, on_fail, &f), 0);
	close(in);
	close(out);
	ck_assert_int_eq(f.n, 0);
	ck_assert(has_value("copyfd", "user.other", "o", 1));
	ck_assert(has_value("copyfd", "security.capability", cap, sizeof(cap)));
	ck_assert(!has_name("copyfd", "trusted.overlay.origin"));
	ck_assert(!has_name("copyfd", "user.overlay.redirect"));
	ck_assert(!has_name("copyfd", "trusted.overlay.bogus"));
}
END_TEST

/* Never through a symlink, never opening a fifo; "" is the dir fd itself. */
START_TEST(test_copy_special)
{
	int pfd;

	xset("link", "trusted.mine", "l", 1);
	ck_assert_int_eq(symlinkat("target", dfd, "link2"), 0);
	ck_assert_int_eq(ovl_xattr_copy(dfd, "link", dfd, "link2", OVL_NS_TRUSTED, NULL, NULL), 0);
	ck_assert(has_value("link2", "trusted.mine", "l", 1));
	ck_assert(!has_name("link2", "trusted.overlay.redirect"));
	ck_assert(!has_name("target", "trusted.mine"));

	xset("fifo", "trusted.mine", "f", 1);
	ck_assert_int_eq(mkfifoat(dfd, "fifo2", 0644), 0);
	ck_assert_int_eq(ovl_xattr_copy(dfd, "fifo", dfd, "fifo2", OVL_NS_TRUSTED, NULL, NULL), 0);
	ck_assert(has_value("fifo2", "trusted.mine", "f", 1));

	xset("dir", "trusted.mine", "d", 1);
	ck_assert_int_eq(mkdirat(dfd, "dir2", 0755), 0);
	pfd = openat(dfd, "dir", O_PATH | O_DIRECTORY);
	ck_assert_int_ge(pfd, 0);
	ck_assert_int_eq(ovl_xattr_copy(pfd, "", dfd, "dir2", OVL_NS_TRUSTED, NULL, NULL), 0);
	close(pfd);
	ck_assert(has_value("dir2", "trusted.mine", "d", 1));
	ck_assert(!has_name("dir2", "trusted.overlay.opaque"));
	ck_assert_int_eq(ovl_xattr_copy(dfd, "a/b", dfd, "dir2", OVL_NS_TRUSTED, NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* A name the destination refuses (user.* on a symlink: EPERM) is named,
 * and the names it takes are still copied. */
START_TEST(test_copy_refused_name)
{
	struct failed f = { 0 };

	xset("file", "trusted.kept", "k", 1);
	ck_assert_int_eq(symlinkat("target", dfd, "link3"), 0);
	ck_assert_int_eq(ovl_xattr_copy(dfd, "file", dfd, "link3", OVL_NS_TRUSTED, on_fail, &f), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(f.n, 1);
	ck_assert_str_eq(f.name, "user.other");
	ck_assert_int_eq(f.err, EPERM);
	ck_assert(has_value("link3", "trusted.kept", "k", 1));
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("xattr");
	TCase *tc = tcase_create("names");
	TCase *io = tcase_create("io");

	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_classify);
	suite_add_tcase(s, tc);

	if (geteuid() != 0)
		return s;	/* trusted.* and mknod need root */
	tcase_add_checked_fixture(io, setup, teardown);
	tcase_add_loop_test(io, test_get_at, 0, 2);
	tcase_add_loop_test(io, test_list_at, 0, 2);
	tcase_add_loop_test(io, test_names_at, 0, 2);
	tcase_add_loop_test(io, test_read_file, 0, 2);
	tcase_add_loop_test(io, test_read_special, 0, 2);
	tcase_add_loop_test(io, test_read_huge_and_long_list, 0, 2);
	tcase_add_loop_test(io, test_read_opath_self, 0, 2);
	tcase_add_test(io, test_copy_drops_overlay_names);
	tcase_add_test(io, test_copy_fd);
	tcase_add_test(io, test_copy_special);
	tcase_add_test(io, test_copy_refused_name);
	suite_add_tcase(s, io);
	return s;
}
