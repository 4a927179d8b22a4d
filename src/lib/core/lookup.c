/*
 * Safe lookups inside one layer.
 *
 * Layers are written by untrusted containers and we run as root, so a
 * lookup must never follow a symlink (or a /proc magic link) and never
 * leave the layer root. openat2() with RESOLVE_BENEATH does exactly that
 * in the kernel; where it is missing (ENOSYS: old kernel, or a seccomp
 * filter) we walk one component at a time with O_NOFOLLOW.
 *
 * Both paths validate the path the same way first, so they give the same
 * result and errno for the same input: '/' at the start or a ".."
 * component is EXDEV, an empty or "." component is EINVAL.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifdef HAVE_LINUX_OPENAT2_H
#include <linux/openat2.h>
#endif

#include "overlay/lookup.h"
#include "overlay/util.h"

#ifndef SYS_openat2
#define SYS_openat2 437		/* same number on every architecture */
#endif

#ifndef RESOLVE_BENEATH
struct open_how {
	unsigned long long flags;
	unsigned long long mode;
	unsigned long long resolve;
};
#define RESOLVE_NO_MAGICLINKS	0x02
#define RESOLVE_NO_SYMLINKS	0x04
#define RESOLVE_BENEATH		0x08
#endif

/* Flags openat2 accepts together with O_PATH; it refuses others (EINVAL). */
#define OVL_O_PATH_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

int ovl_lookup_force_fallback;

/* Set once openat2 answered ENOSYS: no point asking again. */
static atomic_int ovl_lookup_no_openat2;	/* read-ahead threads share it */

/*
 * Check relpath before either lookup path sees it, and make a
 * NUL-terminated copy in buf (PATH_MAX bytes).
 */
static int ovl_lookup_check_path(const char *relpath, size_t len, char *buf)
{
	size_t i, start;

	if (len >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (len && memchr(relpath, '\0', len)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(buf, relpath, len);
	buf[len] = '\0';
	if (len == 0)
		return 0;
	if (buf[0] == '/') {
		/* absolute: escapes the layer, as RESOLVE_BENEATH says */
		errno = EXDEV;
		return -1;
	}
	/* ".." anywhere is EXDEV even if it would stay below the root:
	 * layer paths never need it, and one rule is easier to trust */
	for (start = 0, i = 0; i <= len; i++) {
		size_t clen;

		if (i < len && buf[i] != '/')
			continue;
		clen = i - start;
		if (clen == 2 && buf[start] == '.' && buf[start + 1] == '.') {
			errno = EXDEV;
			return -1;
		}
		start = i + 1;
	}
	for (start = 0, i = 0; i <= len; i++) {
		size_t clen;

		if (i < len && buf[i] != '/')
			continue;
		clen = i - start;
		if (clen == 0 || (clen == 1 && buf[start] == '.')) {
			errno = EINVAL;
			return -1;
		}
		if (clen > NAME_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		start = i + 1;
	}
	return 0;
}

static int ovl_open_beneath_openat2(int rootfd, const char *path, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)(unsigned int)flags;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
		      RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/*
 * The component walk. path is checked: no empty, ".", ".." component.
 * Intermediate dirs are opened O_PATH|O_NOFOLLOW; a symlink there gives
 * ENOTDIR from openat, which we turn into ELOOP as openat2 would.
 */
static int ovl_open_beneath_walk(int rootfd, char *path, int flags)
{
	int dirfd = rootfd;
	char *comp = path, *slash;
	int fd, saved;

	if (!*path)
		return openat(rootfd, ".", flags);

	while ((slash = strchr(comp, '/')) != NULL) {
		*slash = '\0';
		fd = openat(dirfd, comp,
			    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOTDIR) {
			struct stat st;

			if (fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				errno = ELOOP;
			else
				errno = ENOTDIR;
		}
		*slash = '/';
		if (fd < 0)
			goto fail;
		if (dirfd != rootfd)
			close(dirfd);
		dirfd = fd;
		comp = slash + 1;
	}
	fd = openat(dirfd, comp, flags);
	if (fd < 0)
		goto fail;
	if (dirfd != rootfd)
		close(dirfd);
	return fd;

fail:
	saved = errno;
	if (dirfd != rootfd)
		close(dirfd);
	errno = saved;
	return -1;
}

int ovl_open_beneath(int rootfd, const char *relpath, size_t len, int flags)
{
	char buf[PATH_MAX];
	int fd;

	if (ovl_lookup_check_path(relpath, len, buf) < 0)
		return -1;

	flags |= O_NOFOLLOW | O_CLOEXEC;
	/* openat ignores other flags with O_PATH, openat2 refuses them:
	 * drop them so both paths behave alike */
	if (flags & O_PATH)
		flags &= OVL_O_PATH_FLAGS;

	if (!ovl_lookup_force_fallback && !ovl_lookup_no_openat2) {
		fd = ovl_open_beneath_openat2(rootfd, *buf ? buf : ".", flags);
		if (fd >= 0 || errno != ENOSYS)
			return fd;
		ovl_lookup_no_openat2 = 1;
	}
	return ovl_open_beneath_walk(rootfd, buf, flags);
}

int ovl_open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name,
		      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int ovl_stat_at(int dirfd, const char *name, struct stat *st)
{
	return fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW);
}

int ovl_is_whiteout_stat(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static DIR *open_dir_stream(int dirfd, const char *name)
{
	int fd = (!name[0] || !strcmp(name, "."))
		 ? openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
		 : ovl_open_dir_at(dirfd, name);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

static bool is_dot(const char *n)
{
	return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

static int cmp_dirents(const void *a, const void *b)
{
	return strcmp(((const struct ovl_dirent *)a)->name, ((const struct ovl_dirent *)b)->name);
}

struct ovl_dirent *ovl_dir_entries(int dirfd, const char *name, size_t *count)
{
	DIR *d = open_dir_stream(dirfd, name);
	if (!d)
		return NULL;
	size_t n = 0, cap = 64;
	struct ovl_dirent *ents = ovl_xmalloc(cap * sizeof(*ents));
	struct dirent *de;

	errno = 0;
	while ((de = readdir(d))) {
		if (is_dot(de->d_name))
			continue;
		if (n == cap) {
			cap *= 2;
			ents = ovl_xrealloc(ents, cap * sizeof(*ents));
		}
		ents[n++] = (struct ovl_dirent){
			.name = ovl_xstrdup(de->d_name),
			.type = de->d_type,
			.ino = de->d_ino,
		};
	}
	int err = errno;
	closedir(d);
	if (err) {
		ovl_dir_entries_free(ents, n);
		errno = err;
		return NULL;
	}
	qsort(ents, n, sizeof(*ents), cmp_dirents);
	*count = n;
	return ents;
}

void ovl_dir_entries_free(struct ovl_dirent *ents, size_t count)
{
	if (!ents)
		return;
	for (size_t i = 0; i < count; i++)
		free(ents[i].name);
	free(ents);
}

char **ovl_dir_names_types(int dirfd, const char *name, size_t *count, unsigned char **types)
{
	size_t n;
	struct ovl_dirent *ents = ovl_dir_entries(dirfd, name, &n);

	if (!ents)
		return NULL;
	char **names = ovl_xmalloc((n + 1) * sizeof(*names));
	if (types)
		*types = ovl_xmalloc(n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		names[i] = ents[i].name;
		if (types)
			(*types)[i] = ents[i].type;
	}
	names[n] = NULL;
	free(ents);
	*count = n;
	return names;
}

char **ovl_dir_names(int dirfd, const char *name, size_t *count)
{
	return ovl_dir_names_types(dirfd, name, count, NULL);
}

void ovl_dir_names_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

int ovl_dir_is_empty(int dirfd, const char *name)
{
	DIR *d = open_dir_stream(dirfd, name);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return 1;
	while ((de = readdir(d)))
		if (!is_dot(de->d_name)) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}
