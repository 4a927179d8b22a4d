/*
 * The fixes of a container store's bookkeeping (--store): l/ symlinks,
 * link and lower files, a missing work dir, an orphan layer removed on
 * request. Each is journalled before it is made, as every repair is, and
 * made atomically (a new name renamed over the old), so a crash leaves
 * either the old or the new entry and the next run converges.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/util.h"
#include "repair/repair_internal.h"

#define SMALL_FILE_MAX	(1 << 20)	/* link and lower files are tiny */
#define TMP_SUFFIX	".overlay-fsck-tmp"
#define TREE_DEPTH_MAX	4096

/* The text of the symlink leaf, NUL-terminated; -1 with ENOENT when there
 * is nothing, EINVAL when it is not a symlink. */
static ssize_t link_text(int dfd, const char *leaf, char *buf, size_t size)
{
	struct stat st;

	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISLNK(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	ssize_t n = readlinkat(dfd, leaf, buf, size - 1);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* A small regular file's bytes (malloc'ed, *len), never through a link;
 * NULL with ENOENT when absent. */
static unsigned char *read_small(int dfd, const char *leaf, size_t *len, mode_t *mode)
{
	int fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	unsigned char *buf = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size > SMALL_FILE_MAX) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		goto fail;
	}
	buf = ovl_xmalloc((size_t)st.st_size + 1);
	*len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + *len, (size_t)st.st_size + 1 - *len);
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		*len += (size_t)n;
		if (*len > (size_t)st.st_size) {
			errno = EAGAIN;	/* grew while read: not ours to judge */
			goto fail;
		}
	}
	if (mode)
		*mode = st.st_mode & 07777;
	close(fd);
	return buf;
fail:;
	int e = errno;
	free(buf);
	close(fd);
	errno = e;
	return NULL;
}

static void tmp_name(char *buf, size_t size, const char *leaf)
{
	snprintf(buf, size, ".%s" TMP_SUFFIX, leaf);
}

/* The new entry tmp takes leaf's place (or goes, when it cannot). */
static int rename_into_place(int dfd, const char *tmp, const char *leaf)
{
	if (renameat(dfd, tmp, dfd, leaf) < 0) {
		int e = errno;
		unlinkat(dfd, tmp, 0);
		errno = e;
		return -1;
	}
	return 0;
}

/* Write bytes to a new file beside leaf, sync it, rename it over leaf. */
static int replace_file(int dfd, const char *leaf, const void *buf, size_t len, mode_t mode)
{
	char tmp[NAME_MAX + 32];
	const unsigned char *p = buf;

	tmp_name(tmp, sizeof(tmp), leaf);
	unlinkat(dfd, tmp, 0);	/* a crashed run's: ours */
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0)
			goto fail;
		done += (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0)	/* the umask is not ours to apply */
		goto fail;
	close(fd);
	return rename_into_place(dfd, tmp, leaf);
fail:;
	int e = errno;
	close(fd);
	unlinkat(dfd, tmp, 0);
	errno = e;
	return -1;
}

/* Make leaf a symlink to target, replacing a symlink atomically. */
static int replace_symlink(int dfd, const char *leaf, const char *target)
{
	char tmp[NAME_MAX + 32];

	tmp_name(tmp, sizeof(tmp), leaf);
	unlinkat(dfd, tmp, 0);
	if (symlinkat(target, dfd, tmp) < 0)
		return -1;
	return rename_into_place(dfd, tmp, leaf);
}

int ovl_rm_tree(int dfd, const char *name, dev_t dev, int depth)
{
	if (depth > TREE_DEPTH_MAX) {
		errno = ELOOP;
		return -1;
	}
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_dev != dev) {
		if (st.st_dev != dev)
			errno = EXDEV;
		close(fd);
		return -1;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	struct dirent *de;
	int ret = 0;
	while (ret == 0 && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat cst;
		if (fstatat(dirfd(d), de->d_name, &cst, AT_SYMLINK_NOFOLLOW) < 0)
			ret = -1;
		else if (S_ISDIR(cst.st_mode))
			ret = ovl_rm_tree(dirfd(d), de->d_name, dev, depth + 1);
		else
			ret = unlinkat(dirfd(d), de->d_name, 0);
	}
	if (ret == 0 && errno)
		ret = -1;
	int e = errno;
	closedir(d);
	errno = e;
	return ret == 0 ? unlinkat(dfd, name, AT_REMOVEDIR) : -1;
}

static bool same(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || !memcmp(a, b, alen));
}

int ovl_store_fix_apply(struct journal *j, const struct ovl_fix *f, int dfd, const char *leaf)
{
	char old[4096];
	struct stat st;
	ssize_t n;

	switch (f->op) {
	case OVL_FIX_SYMLINK:
		n = link_text(dfd, leaf, old, sizeof(old));
		if (n < 0 && errno != ENOENT)
			return -1;	/* not a symlink: never replaced */
		if (n >= 0 && same(old, (size_t)n, f->val, f->len))
			return 0;
		if (ovl_journal_record(j, f, NULL, old, n < 0 ? 0 : (size_t)n, n >= 0,
				       f->val, f->len, true) < 0)
			return -1;
		ovl_fault_point(false);
		return replace_symlink(dfd, leaf, (const char *)f->val);
	case OVL_FIX_RM_SYMLINK:
		n = link_text(dfd, leaf, old, sizeof(old));
		if (n < 0)
			return errno == ENOENT ? 0 : -1;
		if (ovl_journal_record(j, f, NULL, old, (size_t)n, true, NULL, 0, false) < 0)
			return -1;
		ovl_fault_point(false);
		return unlinkat(dfd, leaf, 0);
	case OVL_FIX_WRITE_FILE: {
		size_t olen = 0;
		mode_t mode = 0644;
		unsigned char *prev = read_small(dfd, leaf, &olen, &mode);
		if (!prev && errno != ENOENT)
			return -1;
		if (prev && same(prev, olen, f->val, f->len)) {
			free(prev);
			return 0;
		}
		int ret = ovl_journal_record(j, f, NULL, prev, olen, prev != NULL,
					     f->val, f->len, true);
		free(prev);
		if (ret < 0)
			return -1;
		ovl_fault_point(false);
		return replace_file(dfd, leaf, f->val, f->len, mode);
	}
	case OVL_FIX_MKDIR:
		if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return S_ISDIR(st.st_mode) ? 0 : (errno = EEXIST, -1);
		if (ovl_journal_record(j, f, NULL, NULL, 0, false, NULL, 0, false) < 0)
			return -1;
		ovl_fault_point(false);
		return mkdirat(dfd, leaf, 0700);
	case OVL_FIX_RM_TREE:
		if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return errno == ENOENT ? 0 : -1;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		if (ovl_journal_record(j, f, NULL, NULL, 0, false, NULL, 0, false) < 0)
			return -1;
		ovl_fault_point(false);
		return ovl_rm_tree(dfd, leaf, st.st_dev, 0);
	default:
		errno = EINVAL;
		return -1;
	}
}

int ovl_store_fix_state(struct ovl_stack *s, const struct record *rec, int dfd,
			const char *leaf)
{
	char cur[4096];
	struct stat st;
	ssize_t n;

	(void)s;
	switch (rec->op) {
	case OVL_FIX_SYMLINK:
	case OVL_FIX_RM_SYMLINK: {
		n = link_text(dfd, leaf, cur, sizeof(cur));
		if (n < 0 && errno != ENOENT)
			return -1;
		bool now = n >= 0;
		size_t len = now ? (size_t)n : 0;
		if (now == rec->has_new && (!now || same(cur, len, rec->new, rec->newlen)))
			return 1;
		if (now == rec->has_old && (!now || same(cur, len, rec->old, rec->oldlen)))
			return 0;
		return -1;
	}
	case OVL_FIX_WRITE_FILE: {
		size_t len = 0;
		unsigned char *buf = read_small(dfd, leaf, &len, NULL);
		if (!buf && errno != ENOENT)
			return -1;
		int state = buf && same(buf, len, rec->new, rec->newlen) ? 1
			    : !buf ? (rec->has_old ? -1 : 0)
			    : rec->has_old && same(buf, len, rec->old, rec->oldlen) ? 0 : -1;
		free(buf);
		return state;
	}
	case OVL_FIX_MKDIR:
		if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return S_ISDIR(st.st_mode) ? 1 : -1;
		return errno == ENOENT ? 0 : -1;
	case OVL_FIX_RM_TREE:
		return 1;	/* gone for good: undo leaves it */
	default:
		return -1;
	}
}

int ovl_store_fix_revert(struct ovl_stack *s, const struct record *rec, int dfd,
			 const char *leaf)
{
	(void)s;
	switch (rec->op) {
	case OVL_FIX_SYMLINK:
	case OVL_FIX_RM_SYMLINK:
		if (rec->has_old)
			return replace_symlink(dfd, leaf, (const char *)rec->old);
		return unlinkat(dfd, leaf, 0);
	case OVL_FIX_WRITE_FILE:
		if (rec->has_old)
			return replace_file(dfd, leaf, rec->old, rec->oldlen, 0644);
		return unlinkat(dfd, leaf, 0);
	case OVL_FIX_MKDIR:
		return unlinkat(dfd, leaf, AT_REMOVEDIR);
	case OVL_FIX_RM_TREE:
		return 0;	/* a removed orphan cannot come back (documented) */
	default:
		errno = EINVAL;
		return -1;
	}
}
