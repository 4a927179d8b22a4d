/*
 * Overlay xattrs: their names in both namespaces, classification of any
 * xattr name, and reading them from a layer entry relative to its parent
 * dirfd without following symlinks and without opening the entry.
 *
 * Entries of hostile layers include symlinks (whose target must never be
 * followed), fifos (an open would block) and devices (an open reaches a
 * driver). listxattrat/getxattrat (Linux 6.13) take a dirfd + name and
 * AT_SYMLINK_NOFOLLOW and open nothing. On older kernels an O_PATH
 * descriptor opens nothing either, and getxattr() on its /proc/self/fd
 * link reaches the inode the descriptor refers to, a symlink's own inode
 * included (checked on 6.18: the symlink's trusted.* xattrs are read, not
 * its target's). lgetxattr() on that link would read the proc link itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef HAVE_SYS_XATTR_H
#include <sys/xattr.h>
#endif

#include "overlay/util.h"
#include "overlay/xattr.h"

/* Same on every architecture (the unified syscall table), Linux 6.13. */
#ifndef __NR_getxattrat
#define __NR_getxattrat 464
#endif
#ifndef __NR_listxattrat
#define __NR_listxattrat 465
#endif

/* uapi struct xattr_args (linux/xattr.h, 6.13); Debian 12 lacks it. */
struct ovl_xattr_args {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};

int ovl_xattr_force_fallback;

/* Room for the values the kernel writes but a long redirect (a file
 * handle is under 160 bytes): offered OVL_XATTR_MAX, getxattr has the
 * kernel allocate and zero 4 KiB first, every time. */
#define OVL_XATTR_SHORT 256

/* Set once the kernel said ENOSYS: later calls go straight to the fallback. */
static atomic_int ovl_xattr_no_at_syscalls;

static const char *const ovl_xattr_short[OVL_XA_COUNT] = {
	[OVL_XA_OPAQUE] = "opaque",
	[OVL_XA_REDIRECT] = "redirect",
	[OVL_XA_ORIGIN] = "origin",
	[OVL_XA_IMPURE] = "impure",
	[OVL_XA_NLINK] = "nlink",
	[OVL_XA_UPPER] = "upper",
	[OVL_XA_METACOPY] = "metacopy",
	[OVL_XA_PROTATTR] = "protattr",
	[OVL_XA_UUID] = "uuid",
	[OVL_XA_WHITEOUT] = "whiteout",
	[OVL_XA_WHITEOUTS] = "whiteouts",
};

static const char *const ovl_xattr_full[2][OVL_XA_COUNT] = {
	[OVL_NS_TRUSTED] = {
		[OVL_XA_OPAQUE] = "trusted.overlay.opaque",
		[OVL_XA_REDIRECT] = "trusted.overlay.redirect",
		[OVL_XA_ORIGIN] = "trusted.overlay.origin",
		[OVL_XA_IMPURE] = "trusted.overlay.impure",
		[OVL_XA_NLINK] = "trusted.overlay.nlink",
		[OVL_XA_UPPER] = "trusted.overlay.upper",
		[OVL_XA_METACOPY] = "trusted.overlay.metacopy",
		[OVL_XA_PROTATTR] = "trusted.overlay.protattr",
		[OVL_XA_UUID] = "trusted.overlay.uuid",
		[OVL_XA_WHITEOUT] = "trusted.overlay.whiteout",
		[OVL_XA_WHITEOUTS] = "trusted.overlay.whiteouts",
	},
	[OVL_NS_USER] = {
		[OVL_XA_OPAQUE] = "user.overlay.opaque",
		[OVL_XA_REDIRECT] = "user.overlay.redirect",
		[OVL_XA_ORIGIN] = "user.overlay.origin",
		[OVL_XA_IMPURE] = "user.overlay.impure",
		[OVL_XA_NLINK] = "user.overlay.nlink",
		[OVL_XA_UPPER] = "user.overlay.upper",
		[OVL_XA_METACOPY] = "user.overlay.metacopy",
		[OVL_XA_PROTATTR] = "user.overlay.protattr",
		[OVL_XA_UUID] = "user.overlay.uuid",
		[OVL_XA_WHITEOUT] = "user.overlay.whiteout",
		[OVL_XA_WHITEOUTS] = "user.overlay.whiteouts",
	},
};

const char *ovl_xattr_short_name(enum ovl_xattr_id id)
{
	if ((unsigned)id >= OVL_XA_COUNT)
		return NULL;
	return ovl_xattr_short[id];
}

const char *ovl_xattr_name(enum ovl_ns ns, enum ovl_xattr_id id)
{
	if ((unsigned)ns > OVL_NS_USER || (unsigned)id >= OVL_XA_COUNT)
		return NULL;
	return ovl_xattr_full[ns][id];
}

#define OVL_TRUSTED_PREFIX	"trusted.overlay."
#define OVL_USER_PREFIX		"user.overlay."
#define OVL_ESCAPE_PREFIX	"overlay."

enum ovl_xattr_class ovl_xattr_classify(const char *name, enum ovl_ns ns,
					enum ovl_xattr_id *id)
{
	enum ovl_ns found;
	const char *rest;
	unsigned i;

	if (!strncmp(name, OVL_TRUSTED_PREFIX, strlen(OVL_TRUSTED_PREFIX))) {
		found = OVL_NS_TRUSTED;
		rest = name + strlen(OVL_TRUSTED_PREFIX);
	} else if (!strncmp(name, OVL_USER_PREFIX, strlen(OVL_USER_PREFIX))) {
		found = OVL_NS_USER;
		rest = name + strlen(OVL_USER_PREFIX);
	} else {
		return OVL_XC_OTHER;
	}

	/*
	 * A layer that was itself an overlay's layer keeps that overlay's
	 * xattrs escaped one level: NS.overlay.overlay.NAME. They are data
	 * for the nested overlay, not ours, in either namespace.
	 */
	if (!strncmp(rest, OVL_ESCAPE_PREFIX, strlen(OVL_ESCAPE_PREFIX)))
		return OVL_XC_ESCAPED;

	for (i = 0; i < OVL_XA_COUNT; i++) {
		if (strcmp(rest, ovl_xattr_short[i]))
			continue;
		if (id)
			*id = (enum ovl_xattr_id)i;
		return found == ns ? OVL_XC_OVERLAY : OVL_XC_OTHER_NS;
	}
	return OVL_XC_UNKNOWN;
}

static int ovl_xattr_use_fallback(void)
{
	return ovl_xattr_force_fallback ||
	       atomic_load_explicit(&ovl_xattr_no_at_syscalls, memory_order_relaxed);
}

/*
 * Fallback for kernels before 6.13: an O_PATH|O_NOFOLLOW descriptor of the
 * entry, then the path-based call on its /proc/self/fd link. Returns the
 * descriptor to close (-1 if none needed) and fills path.
 */
static int ovl_xattr_proc_path(int dirfd, const char *name, char *path,
			       size_t pathlen)
{
	int fd = -1;

	if (name[0]) {
		fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -2;
		snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	} else {
		snprintf(path, pathlen, "/proc/self/fd/%d", dirfd);
	}
	return fd;
}

/*
 * After a *at call: is its result final, or should the /proc/self/fd
 * path try? Try on ENOSYS (remembered: the kernel predates 6.13), and on
 * EBADF for an empty name: the *at calls refuse O_PATH dirfds there.
 */
static bool at_call_failed_over(ssize_t r, const char *name)
{
	if (r >= 0)
		return false;
	if (errno == ENOSYS) {
		atomic_store_explicit(&ovl_xattr_no_at_syscalls, 1, memory_order_relaxed);
		return true;
	}
	return errno == EBADF && !name[0];
}

ssize_t ovl_xattr_list_at(int dirfd, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t r;
	int fd;

	if (!name)
		name = "";
	if (!ovl_xattr_use_fallback()) {
		r = syscall(__NR_listxattrat, dirfd, name,
			    AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH),
			    buf, size);
		if (!at_call_failed_over(r, name))
			return r;
	}
	fd = ovl_xattr_proc_path(dirfd, name, path, sizeof(path));
	if (fd == -2)
		return -1;
	r = listxattr(path, buf, size);
	ovl_close_keep_errno(fd);
	return r;
}

ssize_t ovl_xattr_get_at(int dirfd, const char *name, const char *xname,
			 void *buf, size_t size)
{
	struct ovl_xattr_args args;
	char path[64];
	ssize_t r;
	int fd;

	if (!name)
		name = "";
	if (!ovl_xattr_use_fallback()) {
		/* The kernel takes a u32 size; larger buffers cannot help. */
		args.value = (uintptr_t)buf;
		args.size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
		args.flags = 0;
		r = syscall(__NR_getxattrat, dirfd, name,
			    AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH),
			    xname, &args, sizeof(args));
		if (!at_call_failed_over(r, name))
			return r;
	}
	fd = ovl_xattr_proc_path(dirfd, name, path, sizeof(path));
	if (fd == -2)
		return -1;
	r = getxattr(path, xname, buf, size);
	ovl_close_keep_errno(fd);
	return r;
}

int ovl_xattr_set_at(int dirfd, const char *name, const char *xname,
		     const void *val, size_t size)
{
	char path[64];
	int fd = ovl_xattr_proc_path(dirfd, name ? name : "", path, sizeof(path));
	int r;

	if (fd == -2)
		return -1;
	r = setxattr(path, xname, val, size, 0);
	ovl_close_keep_errno(fd);
	return r;
}

int ovl_xattr_remove_at(int dirfd, const char *name, const char *xname)
{
	char path[64];
	int fd = ovl_xattr_proc_path(dirfd, name ? name : "", path, sizeof(path));
	int r;

	if (fd == -2)
		return -1;
	r = removexattr(path, xname);
	ovl_close_keep_errno(fd);
	return r;
}

/* The list of names, grown on ERANGE (names may be added meanwhile). */
static ssize_t ovl_xattrs_list(int dirfd, const char *name, char *stackbuf,
			       size_t stacksize, char **heap)
{
	ssize_t r, want;
	char *buf;

	*heap = NULL;
	r = ovl_xattr_list_at(dirfd, name, stackbuf, stacksize);
	if (r >= 0 || errno != ERANGE)
		return r;
	for (;;) {
		want = ovl_xattr_list_at(dirfd, name, NULL, 0);
		if (want < 0)
			return -1;
		buf = ovl_xrealloc(*heap, (size_t)want + 256);
		*heap = buf;
		r = ovl_xattr_list_at(dirfd, name, buf, (size_t)want + 256);
		if (r >= 0 || errno != ERANGE)
			return r;
	}
}

int ovl_xattrs_read(int dirfd, const char *name, enum ovl_ns ns,
		    struct ovl_xattrs *out)
{
	char stacklist[2048], *heap = NULL, *list, *p;
	unsigned char val[OVL_XATTR_MAX];
	enum ovl_xattr_id id;
	ssize_t len, vlen;

	memset(out, 0, sizeof(*out));
	len = ovl_xattrs_list(dirfd, name, stacklist, sizeof(stacklist), &heap);
	if (len < 0) {
		if (errno == EOPNOTSUPP)
			return 0;
		free(heap);
		return -1;
	}
	list = heap ? heap : stacklist;

	for (p = list; p < list + len; p += strnlen(p, list + len - p) + 1) {
		/* The kernel NUL-terminates every name; be safe anyway. */
		if (strnlen(p, list + len - p) == (size_t)(list + len - p))
			break;
		switch (ovl_xattr_classify(p, ns, &id)) {
		case OVL_XC_OTHER:
			continue;
		case OVL_XC_ESCAPED:
			out->escaped++;
			continue;
		case OVL_XC_UNKNOWN:
			out->unknown++;
			continue;
		case OVL_XC_OTHER_NS:
			out->other_ns |= 1u << id;
			continue;
		case OVL_XC_OVERLAY:
			break;
		}

		/* A small buffer first: the kernel zeroes as much as it is
		 * offered, and overlay values are short (a file handle) */
		vlen = ovl_xattr_get_at(dirfd, name, p, val, OVL_XATTR_SHORT);
		if (vlen < 0 && errno == ERANGE)
			vlen = ovl_xattr_get_at(dirfd, name, p, val, sizeof(val));
		if (vlen < 0) {
			if (errno == ENODATA)
				continue;	/* removed since the list */
			out->present |= 1u << id;
			if (errno == ERANGE)
				out->huge |= 1u << id;
			else
				out->unreadable |= 1u << id;
			continue;
		}
		out->present |= 1u << id;
		out->len[id] = (size_t)vlen;
		out->val[id] = ovl_xmalloc((size_t)vlen + 1);
		memcpy(out->val[id], val, (size_t)vlen);
		out->val[id][vlen] = '\0';
	}
	free(heap);
	return 0;
}

int ovl_xattr_names_at(int dirfd, const char *name, enum ovl_ns ns, unsigned *present)
{
	char list[2048];
	enum ovl_xattr_id id;
	ssize_t len = ovl_xattr_list_at(dirfd, name, list, sizeof(list));

	*present = 0;
	if (len < 0)
		return errno == EOPNOTSUPP ? 0 : -1;
	for (char *p = list; p < list + len; p += strnlen(p, list + len - p) + 1) {
		if (strnlen(p, list + len - p) == (size_t)(list + len - p))
			break;	/* not NUL-terminated: no name */
		if (ovl_xattr_classify(p, ns, &id) == OVL_XC_OVERLAY)
			*present |= 1u << id;
	}
	return 0;
}

void ovl_xattrs_free(struct ovl_xattrs *x)
{
	unsigned i;

	for (i = 0; i < OVL_XA_COUNT; i++) {
		free(x->val[i]);
		x->val[i] = NULL;
	}
}
