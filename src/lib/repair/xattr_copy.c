/*
 * xattr copies with libattr. attr_copy_file() reads and writes with the
 * l*xattr calls on paths; each entry is given as /proc/self/fd/DIR/NAME:
 * the only link the kernel follows is our own dir fd's, and NAME, one
 * component, is never followed (a symlink's own xattrs are copied). No
 * entry is opened, so a fifo or a device is as safe as a file.
 *
 * An entry the caller holds open (not O_PATH) is copied through its fd
 * instead (attr_copy_fd, the f*xattr calls): no name is needed, so an
 * inode opened by file handle copies even when the kernel gave it no
 * path (a disconnected dentry).
 *
 * attr_copy_file() tells its errors as messages; which names failed is
 * found afterwards by comparing the two entries, so a name is never lost
 * without the caller hearing of it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <attr/error_context.h>
#include <attr/libattr.h>

#include "overlay/util.h"
#include "overlay/xattr_copy.h"

struct copy_ctx {
	struct error_context ec;	/* first: libattr hands it back */
	enum ovl_ns ns;
	int first_err;
};

bool ovl_xattr_copied(const char *name, enum ovl_ns ns)
{
	return ovl_xattr_classify(name, ns, NULL) == OVL_XC_OTHER;
}

static int keep_name(const char *name, struct error_context *ec)
{
	return ovl_xattr_copied(name, ((struct copy_ctx *)ec)->ns);
}

/* libattr's message is not needed: the names are found by comparing. */
static void on_error(struct error_context *ec, const char *fmt, ...)
{
	struct copy_ctx *c = (struct copy_ctx *)ec;

	(void)fmt;
	if (!c->first_err)
		c->first_err = errno ? errno : EIO;
}

/* One side of a copy: a path for the l*xattr calls, or an open fd (not
 * O_PATH) for the f*xattr ones when fd >= 0. */
struct xentry {
	char path[64 + NAME_MAX];
	int fd;
};

static void entry_path(struct xentry *e, int fd, const char *name)
{
	snprintf(e->path, sizeof(e->path), "/proc/self/fd/%d/%s", fd, *name ? name : ".");
	e->fd = -1;
}

static void entry_fd(struct xentry *e, int fd)
{
	snprintf(e->path, sizeof(e->path), "/proc/self/fd/%d", fd);
	e->fd = fd;
}

static ssize_t entry_list(const struct xentry *e, char *buf, size_t size)
{
	return e->fd >= 0 ? flistxattr(e->fd, buf, size) : llistxattr(e->path, buf, size);
}

static ssize_t entry_get(const struct xentry *e, const char *name, void *buf, size_t size)
{
	return e->fd >= 0 ? fgetxattr(e->fd, name, buf, size) : lgetxattr(e->path, name, buf, size);
}

/* A value, malloc'ed (*len); NULL with errno. */
static void *get_value(const struct xentry *e, const char *name, size_t *len)
{
	for (int tries = 0; tries < 4; tries++) {
		ssize_t n = entry_get(e, name, NULL, 0);
		if (n < 0)
			return NULL;
		char *buf = ovl_xmalloc((size_t)n + 1);
		ssize_t got = entry_get(e, name, buf, (size_t)n);
		if (got >= 0) {
			*len = (size_t)got;
			return buf;
		}
		free(buf);
		if (errno != ERANGE)
			return NULL;	/* ERANGE: it grew between the calls */
	}
	return NULL;
}

/* Every name of src a copy takes that dst lacks or holds otherwise. */
static int find_missing(const struct xentry *src, const struct xentry *dst, enum ovl_ns ns,
			int err, ovl_xattr_fail_fn fail, void *arg)
{
	ssize_t n = entry_list(src, NULL, 0);
	char *names = n > 0 ? ovl_xmalloc((size_t)n + 1) : NULL;
	int missing = 0;

	if (n > 0)
		n = entry_list(src, names, (size_t)n);
	if (n < 0) {
		if (fail)
			fail(arg, NULL, errno);
		free(names);
		return 1;
	}
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *name = names + i;
		size_t sl = 0, dl = 0;
		if (!*name || !ovl_xattr_copied(name, ns))
			continue;
		void *sv = get_value(src, name, &sl);
		void *dv = sv ? get_value(dst, name, &dl) : NULL;
		if (!sv || !dv || sl != dl || memcmp(sv, dv, sl)) {
			missing++;
			if (fail)
				fail(arg, name, err);
		}
		free(sv);
		free(dv);
	}
	free(names);
	return missing;
}

int ovl_xattr_compare(int afd, const char *aname, int bfd, const char *bname, enum ovl_ns ns)
{
	struct xentry a, b;

	if (strchr(aname, '/') || strchr(bname, '/')) {
		errno = EINVAL;
		return -1;
	}
	entry_path(&a, afd, aname);
	entry_path(&b, bfd, bname);
	/* each side's names are on the other with the same value */
	return find_missing(&a, &b, ns, 0, NULL, NULL) || find_missing(&b, &a, ns, 0, NULL, NULL);
}

/* attr_copy_*'s outcome: 0, or the names not copied told and -1. */
static int copy_result(int copied, struct copy_ctx *c, const struct xentry *src,
		       const struct xentry *dst, ovl_xattr_fail_fn fail, void *arg)
{
	if (copied == 0 && !c->first_err)
		return 0;
	int err = c->first_err ? c->first_err : errno ? errno : EIO;
	/* a name a second try cannot fix is a name not copied */
	if (find_missing(src, dst, c->ns, err, fail, arg) == 0)
		return 0;
	errno = err;
	return -1;
}

int ovl_xattr_copy(int sfd, const char *sname, int dfd, const char *dname, enum ovl_ns ns,
		   ovl_xattr_fail_fn fail, void *arg)
{
	struct xentry src, dst;
	struct copy_ctx c = { .ec = { .error = on_error }, .ns = ns };

	if (strchr(sname, '/') || strchr(dname, '/')) {
		errno = EINVAL;
		return -1;
	}
	entry_path(&src, sfd, sname);
	entry_path(&dst, dfd, dname);
	errno = 0;
	int copied = attr_copy_file(src.path, dst.path, keep_name, &c.ec);
	return copy_result(copied, &c, &src, &dst, fail, arg);
}

int ovl_xattr_copy_fd(int sfd, int dfd, enum ovl_ns ns, ovl_xattr_fail_fn fail, void *arg)
{
	struct xentry src, dst;
	struct copy_ctx c = { .ec = { .error = on_error }, .ns = ns };

	entry_fd(&src, sfd);
	entry_fd(&dst, dfd);
	errno = 0;
	int copied = attr_copy_fd(src.path, sfd, dst.path, dfd, keep_name, &c.ec);
	return copy_result(copied, &c, &src, &dst, fail, arg);
}
