/*
 * barewalk: the least a checker of overlay layers must do, as a yardstick
 * for fsck.overlay -n. For every entry below each dir given: getdents64,
 * fstatat(AT_SYMLINK_NOFOLLOW), list the xattrs and get each overlay one
 * (trusted.overlay.* / user.overlay.*), relative to the parent dirfd
 * (listxattrat/getxattrat, Linux 6.13; path-based l*xattr before that).
 * Never follows a symlink, never opens anything but dirs.
 *
 *   barewalk DIR...    prints "N entries, M overlay xattrs"
 *   barewalk -l LOWER UPPER [DIR...]
 *
 * -l: the least `fsck.overlay --upper-only` must add to that walk. For
 * every entry of UPPER with an overlay origin or metacopy xattr, the
 * same path in LOWER is stat'ed and its xattrs listed (is it a whiteout,
 * a metacopy file itself?) and, with an origin to compare, its file
 * handle asked (name_to_handle_at): three lookups, relative to the
 * lower dir that mirrors the upper one. Prints "N lower lookups" too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

/* New syscalls share one number on every architecture. */
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif

struct bw_xattr_args {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};

static unsigned long bw_entries, bw_xattrs, bw_errors, bw_lower;
static int bw_have_at = 1;	/* cleared on ENOSYS: use paths */

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* "" names the dirfd itself (a layer root). */
static unsigned bw_at_flags(const char *name)
{
	return AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH);
}

static ssize_t bw_list(int dfd, const char *name, const char *path,
		       char *buf, size_t size)
{
	if (bw_have_at) {
		long n = syscall(SYS_listxattrat, dfd, name, bw_at_flags(name),
				 buf, size);
		if (n >= 0 || errno != ENOSYS)
			return n;
		bw_have_at = 0;
	}
	return llistxattr(path, buf, size);
}

static ssize_t bw_get(int dfd, const char *name, const char *path,
		      const char *xname, void *buf, size_t size)
{
	if (bw_have_at) {
		struct bw_xattr_args args = {
			.value = (uintptr_t)buf, .size = (uint32_t)size,
		};
		long n = syscall(SYS_getxattrat, dfd, name, bw_at_flags(name),
				 xname, &args, sizeof(args));
		if (n >= 0 || errno != ENOSYS)
			return n;
		bw_have_at = 0;
	}
	return lgetxattr(path, xname, buf, size);
}

static int bw_is_overlay(const char *x)
{
	return !strncmp(x, "trusted.overlay.", 16) ||
	       !strncmp(x, "user.overlay.", 13);
}

/* Which overlay xattrs the entry has that send a check below. */
enum { BW_ORIGIN = 1, BW_METACOPY = 2 };

static int bw_xattrs_of(int dfd, const char *name, const char *path)
{
	char list[65536], val[4096];
	ssize_t n = bw_list(dfd, name, path, list, sizeof(list));
	int below = 0;

	if (n < 0) {
		if (errno != EOPNOTSUPP)
			bw_errors++;
		return 0;
	}
	for (char *x = list; x < list + n; x += strlen(x) + 1) {
		if (!bw_is_overlay(x))
			continue;
		const char *rest = strchr(x, '.') + 9;	/* past "overlay." */
		if (!strcmp(rest, "origin"))
			below |= BW_ORIGIN;
		else if (!strcmp(rest, "metacopy"))
			below |= BW_METACOPY;
		if (bw_get(dfd, name, path, x, val, sizeof(val)) >= 0 ||
		    errno == ERANGE)
			bw_xattrs++;
		else
			bw_errors++;
	}
	return below;
}

/* -l: the lower entry under the same name, as the check looks it up. */
static void bw_lower_of(int lfd, const char *name, int below)
{
	struct {
		struct file_handle h;
		unsigned char fid[128];
	} fh;
	char list[2048];
	struct stat st;
	int mnt;

	bw_lower++;
	if (fstatat(lfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;		/* nothing below: nothing more to ask */
	if (bw_have_at)
		syscall(SYS_listxattrat, lfd, name, AT_SYMLINK_NOFOLLOW, list, sizeof(list));
	if (below & BW_ORIGIN) {
		fh.h.handle_bytes = sizeof(fh.fid);
		if (name_to_handle_at(lfd, name, &fh.h, &mnt, 0) < 0)
			bw_errors++;
	}
}

/* path is only built for the fallback; dfd is an open dir, lfd its
 * namesake in LOWER (-l), or -1. */
static void bw_walk(int dfd, int lfd, char *path, size_t plen)
{
	char buf[65536];
	long n;

	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			const char *nm = d->d_name;
			struct stat st;
			size_t nlen = strlen(nm);

			off += d->d_reclen;
			if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2])))
				continue;
			if (plen + 1 + nlen >= PATH_MAX) {
				bw_errors++;
				continue;
			}
			path[plen] = '/';
			memcpy(path + plen + 1, nm, nlen + 1);
			bw_entries++;
			if (fstatat(dfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				bw_errors++;
				continue;
			}
			int below = bw_xattrs_of(dfd, nm, path);
			if (lfd >= 0 && below)
				bw_lower_of(lfd, nm, below);
			if (S_ISDIR(st.st_mode)) {
				int cfd = openat(dfd, nm, O_RDONLY | O_DIRECTORY |
						 O_NOFOLLOW | O_CLOEXEC);
				if (cfd < 0) {
					bw_errors++;
					continue;
				}
				int clfd = lfd < 0 ? -1 : openat(lfd, nm, O_RDONLY | O_DIRECTORY |
								   O_NOFOLLOW | O_CLOEXEC);
				bw_walk(cfd, clfd, path, plen + 1 + nlen);
				close(cfd);
				if (clfd >= 0)
					close(clfd);
			}
		}
	}
	if (n < 0)
		bw_errors++;
	path[plen] = '\0';
}

int main(int argc, char **argv)
{
	static char path[PATH_MAX];
	int first = 1, lower = -1;

	if (argc > 2 && !strcmp(argv[1], "-l")) {
		lower = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lower < 0) {
			fprintf(stderr, "barewalk: %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		first = 3;
	}
	if (argc < first + 1) {
		fprintf(stderr, "usage: barewalk [-l LOWER] DIR...\n");
		return 2;
	}
	for (int i = first; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0) {
			fprintf(stderr, "barewalk: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		snprintf(path, sizeof(path), "%s", argv[i]);
		/* the root's own xattrs, as a checker reads them too */
		bw_entries++;
		bw_xattrs_of(fd, "", path);
		/* -l pairs LOWER with the first dir only (the upper) */
		bw_walk(fd, i == first ? lower : -1, path, strlen(path));
		close(fd);
	}
	if (lower >= 0)
		close(lower);
	printf("%lu entries, %lu overlay xattrs", bw_entries, bw_xattrs);
	if (first > 1)
		printf(", %lu lower lookups", bw_lower);
	if (bw_errors)
		printf(", %lu errors", bw_errors);
	printf("\n");
	return bw_errors ? 1 : 0;
}
