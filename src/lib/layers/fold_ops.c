/*
 * The changes of a merge in place (fold.c plans them), each journalled
 * before it is made, each knowing where it is now and how to go back:
 *
 *   mgbegin   make W/overlay-layers-merge (the attic), naming the journal
 *   mgmove    rename an entry from one place to another (layer and path:
 *             upper, lower or the attic; the stack's layers share one fs)
 *   mglink    hard link an entry to a new name
 *   mgattr    owner, mode and times of an entry
 *   mgxattr   one xattr of an entry set or removed
 *   mgcommit  the attic removed: the one change no undo takes back
 *
 * Nothing is deleted before the commit: what the merged view no longer
 * shows is moved into the attic, so that undo can move it back. A move's
 * record keeps the inode number it moves and the times of both dirs, so
 * that where it is now is told by inode, and undo puts the dirs' times
 * back (a merged dir shows its upper dir's mtime).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/lookup.h"
#include "overlay/util.h"
#include "overlay/xattr.h"
#include "repair/repair_internal.h"
#include "internal.h"

#define XATTR_BUF	65536
#define CAPABILITY	"security.capability"

/* The root of a layer's entry itself is named "." under its own fd. */
static const char *leaf_of(const char *leaf)
{
	return leaf && *leaf ? leaf : ".";
}

/* The dir of a place "LAYER:/path" (val of a move or link, len bytes). */
static int open_place(struct ovl_stack *s, const unsigned char *val, size_t len, char *path,
		      size_t pathlen, const char **leaf)
{
	int layer;
	const char *p;

	if (len >= pathlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, val, len);
	path[len] = '\0';
	if (ovl_journal_place_parse((const unsigned char *)path, len, &layer, &p) < 0) {
		errno = EINVAL;
		return -1;
	}
	int root = ovl_fix_root(s, layer);
	if (root < 0) {
		errno = EBADF;
		return -1;
	}
	return ovl_fix_open_parent(root, p, leaf);
}

/* ---- moves and links: "INO SRCDIR-TIMES DSTDIR-TIMES" ---- */

struct move_rec {
	unsigned long long ino;
	struct timespec src_dir[2], dst_dir[2];	/* atime, mtime of each dir before */
};

static void dir_times(int dfd, struct timespec t[2])
{
	struct stat st;

	memset(t, 0, 2 * sizeof(*t));
	if (fstat(dfd, &st) == 0) {
		t[0] = st.st_atim;
		t[1] = st.st_mtim;
	}
}

static int format_move(char *buf, size_t size, const struct move_rec *m)
{
	return snprintf(buf, size, "%llu %lld %ld %lld %ld %lld %ld %lld %ld", m->ino,
			(long long)m->src_dir[0].tv_sec, m->src_dir[0].tv_nsec,
			(long long)m->src_dir[1].tv_sec, m->src_dir[1].tv_nsec,
			(long long)m->dst_dir[0].tv_sec, m->dst_dir[0].tv_nsec,
			(long long)m->dst_dir[1].tv_sec, m->dst_dir[1].tv_nsec);
}

static bool get_time(char **cur, struct timespec *t)
{
	long long sec, nsec;

	if (!ovl_parse_ll(strsep(cur, " "), LLONG_MIN, LLONG_MAX, &sec) ||
	    !ovl_parse_ll(strsep(cur, " "), 0, 999999999, &nsec))
		return false;
	t->tv_sec = (time_t)sec;
	t->tv_nsec = (long)nsec;
	return true;
}

static int parse_move(const struct record *rec, struct move_rec *m)
{
	char buf[256], *cur = buf;
	long long ino;

	if (!rec->has_new || rec->newlen >= sizeof(buf))
		return -1;
	memcpy(buf, rec->new, rec->newlen);
	buf[rec->newlen] = '\0';
	if (!ovl_parse_ll(strsep(&cur, " "), 0, LLONG_MAX, &ino) ||
	    !get_time(&cur, &m->src_dir[0]) || !get_time(&cur, &m->src_dir[1]) ||
	    !get_time(&cur, &m->dst_dir[0]) || !get_time(&cur, &m->dst_dir[1]) || cur)
		return -1;
	m->ino = (unsigned long long)ino;
	return 0;
}

/* Is the inode ino at dfd/leaf? 1 yes, 0 nothing there, -1 another one. */
static int holds(int dfd, const char *leaf, unsigned long long ino)
{
	struct stat st;

	if (dfd < 0 || fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return dfd < 0 || errno == ENOENT ? 0 : -1;
	return st.st_ino == ino ? 1 : -1;
}

static int move_or_link(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f,
			int dfd, const char *leaf)
{
	char spath[PATH_MAX + 16], new[256];
	const char *sleaf;
	struct move_rec m;
	struct stat st;
	int sdfd = open_place(s, f->val, f->len, spath, sizeof(spath), &sleaf);
	int ret = -1;

	if (sdfd < 0 || fstatat(sdfd, sleaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		goto out;
	m.ino = st.st_ino;
	dir_times(sdfd, m.src_dir);
	dir_times(dfd, m.dst_dir);
	format_move(new, sizeof(new), &m);
	if (ovl_journal_record(j, f, NULL, f->val, f->len, true, new, strlen(new), true) < 0)
		goto out;
	ovl_fault_point(false);
	ret = f->op == OVL_FIX_MG_MOVE ? renameat2(sdfd, sleaf, dfd, leaf, RENAME_NOREPLACE)
				       : linkat(sdfd, sleaf, dfd, leaf, 0);
out:
	ovl_close_keep_errno(sdfd);
	return ret;
}

static int move_state(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf)
{
	char spath[PATH_MAX + 16];
	const char *sleaf;
	struct move_rec m;

	if (parse_move(rec, &m) < 0)
		return -1;
	int there = holds(dfd, leaf, m.ino);
	if (there != 0)
		return there;
	/* nothing here: a change recorded as made moved it on from here
	 * (undo brings it back first), else this one was never made */
	if (rec->done)
		return 1;
	if (rec->op == OVL_FIX_MG_LINK)
		return 0;
	int sdfd = open_place(s, rec->old, rec->oldlen, spath, sizeof(spath), &sleaf);
	int here = sdfd >= 0 ? holds(sdfd, sleaf, m.ino) : -1;
	ovl_close_keep_errno(sdfd);
	return here == 1 ? 0 : -1;
}

/* W/work and W/index, moved into the attic, are made again empty by a
 * mount in between: such an empty dir gives way to the one coming back. */
static int work_remade(const struct record *rec, int sdfd, const char *sleaf)
{
	struct stat st;

	if (rec->oldlen < 3 || memcmp(rec->old, "-1:", 3) || strchr(sleaf, '/') ||
	    fstatat(sdfd, sleaf, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return unlinkat(sdfd, sleaf, AT_REMOVEDIR) < 0 && errno != ENOTEMPTY ? -1 : 0;
}

static int move_revert(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf)
{
	char spath[PATH_MAX + 16];
	const char *sleaf;
	struct move_rec m;
	int ret = -1;

	if (parse_move(rec, &m) < 0) {
		errno = EINVAL;
		return -1;
	}
	int sdfd = open_place(s, rec->old, rec->oldlen, spath, sizeof(spath), &sleaf);
	if (sdfd < 0)
		return -1;
	if (holds(dfd, leaf, m.ino) != 1)
		errno = ESTALE;
	else if (rec->op == OVL_FIX_MG_MOVE && work_remade(rec, sdfd, sleaf) < 0)
		;
	else if ((rec->op == OVL_FIX_MG_MOVE ? renameat2(dfd, leaf, sdfd, sleaf, RENAME_NOREPLACE)
					     : unlinkat(dfd, leaf, 0)) == 0 &&
		 ovl_layers_put_times(sdfd, m.src_dir) == 0 &&
		 ovl_layers_put_times(dfd, m.dst_dir) == 0)
		ret = 0;
	ovl_close_keep_errno(sdfd);
	return ret;
}

/* ---- owner, mode, times: "UID GID MODE MTIME.S MTIME.NS ATIME.S ATIME.NS" ---- */

struct attr {
	unsigned long long uid, gid, mode;
	struct timespec mtime, atime;
};

static int parse_attr(const unsigned char *v, size_t len, struct attr *a)
{
	char buf[256], *cur = buf;
	long long uid, gid, mode;

	if (!v || len >= sizeof(buf))
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (!ovl_parse_ll(strsep(&cur, " "), 0, UINT_MAX, &uid) ||
	    !ovl_parse_ll(strsep(&cur, " "), 0, UINT_MAX, &gid) ||
	    !ovl_parse_ll(strsep(&cur, " "), 0, 07777, &mode) || !get_time(&cur, &a->mtime) ||
	    !get_time(&cur, &a->atime) || cur)
		return -1;
	a->uid = (unsigned long long)uid;
	a->gid = (unsigned long long)gid;
	a->mode = (unsigned long long)mode;
	return 0;
}

int ovl_fold_attr_format(char *buf, size_t size, const struct stat *st)
{
	return snprintf(buf, size, "%u %u %u %lld %ld %lld %ld", (unsigned)st->st_uid,
			(unsigned)st->st_gid, (unsigned)(st->st_mode & 07777),
			(long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
			(long long)st->st_atim.tv_sec, st->st_atim.tv_nsec);
}

static bool attr_is(const struct stat *st, const struct attr *a)
{
	return st->st_uid == a->uid && st->st_gid == a->gid && (st->st_mode & 07777) == a->mode &&
	       st->st_mtim.tv_sec == a->mtime.tv_sec && st->st_mtim.tv_nsec == a->mtime.tv_nsec;
}

/*
 * Owner (only when it changes: a chown drops set-id bits and a file
 * capability), mode, times. A capability the entry holds is put back
 * after the chown: the xattr changes that follow (or, undoing, came
 * before) are the ones that decide it.
 */
static int set_attr(int dfd, const char *leaf, const struct stat *st, const struct attr *a)
{
	unsigned char cap[XATTR_BUF];
	ssize_t caplen = -1;
	struct timespec t[2] = { a->atime, a->mtime };

	if (st->st_uid != a->uid || st->st_gid != a->gid) {
		if (!S_ISLNK(st->st_mode))
			caplen = ovl_xattr_get_at(dfd, leaf, CAPABILITY, cap, sizeof(cap));
		if (fchownat(dfd, leaf, (uid_t)a->uid, (gid_t)a->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (caplen >= 0 && ovl_xattr_set_at(dfd, leaf, CAPABILITY, cap, (size_t)caplen) < 0))
			return -1;
	}
	if (!S_ISLNK(st->st_mode) && fchmodat(dfd, leaf, (mode_t)a->mode, 0) < 0)
		return -1;
	return utimensat(dfd, leaf, t, AT_SYMLINK_NOFOLLOW);
}

/* The attributes v says, and the entry as it is now. */
static int attr_and_entry(const unsigned char *v, size_t len, int dfd, const char *leaf,
			  struct attr *a, struct stat *st)
{
	if (parse_attr(v, len, a) < 0) {
		errno = EINVAL;
		return -1;
	}
	return fstatat(dfd, leaf, st, AT_SYMLINK_NOFOLLOW);
}

static int attr_apply(struct journal *j, const struct ovl_fix *f, int dfd, const char *leaf)
{
	char old[256];
	struct attr a;
	struct stat st;

	if (attr_and_entry(f->val, f->len, dfd, leaf, &a, &st) < 0)
		return -1;
	ovl_fold_attr_format(old, sizeof(old), &st);
	if (ovl_journal_record(j, f, NULL, old, strlen(old), true, f->val, f->len, true) < 0)
		return -1;
	ovl_fault_point(false);
	return set_attr(dfd, leaf, &st, &a);
}

/* 1 the new attributes, 0 the old ones, and a change cut half-way is
 * taken as made (undo puts all of the old back). */
static int attr_state(const struct record *rec, int dfd, const char *leaf)
{
	struct attr old, new;
	struct stat st;

	if (parse_attr(rec->old, rec->oldlen, &old) < 0 ||
	    parse_attr(rec->new, rec->newlen, &new) < 0 || dfd < 0 ||
	    fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	return attr_is(&st, &new) || !attr_is(&st, &old) ? 1 : 0;
}

static int attr_revert(const struct record *rec, int dfd, const char *leaf)
{
	struct attr old;
	struct stat st;

	if (attr_and_entry(rec->old, rec->oldlen, dfd, leaf, &old, &st) < 0)
		return -1;
	return set_attr(dfd, leaf, &st, &old);
}

/* ---- one xattr: val "+NAME\0VALUE" or "-NAME" ---- */

static int xattr_apply(struct journal *j, const struct ovl_fix *f, int dfd, const char *leaf)
{
	const char *name = (const char *)f->val + 1;
	size_t nl = f->len > 1 ? strnlen(name, f->len - 1) : 0;
	bool set = f->len > 1 && f->val[0] == '+';

	if (!nl || (set && nl + 2 > f->len) || (!set && f->val[0] != '-') ||
	    !ovl_journal_xname_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	const unsigned char *val = set ? f->val + nl + 2 : NULL;
	size_t vl = set ? f->len - nl - 2 : 0;
	unsigned char *old = ovl_xmalloc(XATTR_BUF);
	ssize_t n = ovl_xattr_get_at(dfd, leaf, name, old, XATTR_BUF);
	int ret = -1;

	if (n < 0 && errno != ENODATA)
		goto out;
	if (ovl_journal_record(j, f, name, old, n < 0 ? 0 : (size_t)n, n >= 0, val, vl, set) < 0)
		goto out;
	ovl_fault_point(false);
	if (set)
		ret = ovl_xattr_set_at(dfd, leaf, name, val, vl);
	else
		ret = n < 0 ? 0 : ovl_xattr_remove_at(dfd, leaf, name);
out:
	free(old);
	return ret;
}

/* ---- the attic: made first, removed last ---- */

static int begin_apply(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f, int dfd,
		       const char *leaf)
{
	char path[PATH_MAX];

	if (!j->path || !realpath(j->path, path))
		return -1;
	if (ovl_journal_record(j, f, NULL, NULL, 0, false, path, strlen(path), true) < 0)
		return -1;
	ovl_fault_point(false);
	if (mkdirat(dfd, leaf, 0700) < 0)
		return -1;
	/* the next run finds the journal of a run that did not end here */
	int a = ovl_open_beneath(s->workfd, OVL_FOLD_ATTIC, strlen(OVL_FOLD_ATTIC),
				 O_PATH | O_DIRECTORY);
	int fd = a >= 0 ? openat(a, "journal", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				 O_CLOEXEC, 0600) : -1;
	int ret = fd >= 0 && write(fd, path, strlen(path)) == (ssize_t)strlen(path) &&
		  fsync(fd) == 0 ? 0 : -1;
	ovl_close_keep_errno(fd);
	ovl_close_keep_errno(a);
	return ret;
}

static int begin_revert(int dfd, const char *leaf)
{
	int a = ovl_open_beneath(dfd, leaf, strlen(leaf), O_PATH | O_DIRECTORY);

	if (a < 0)
		return errno == ENOENT ? 0 : -1;
	if (unlinkat(a, "journal", 0) < 0 && errno != ENOENT) {
		close(a);
		return -1;
	}
	close(a);
	return unlinkat(dfd, leaf, AT_REMOVEDIR);
}

static int commit_apply(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f,
			int dfd, const char *leaf)
{
	struct stat st;

	/* everything moved is on disk before anything is removed (the
	 * layers share one filesystem) */
	if (ovl_sync_upper(s) < 0 ||
	    ovl_journal_record(j, f, NULL, NULL, 0, false, NULL, 0, false) < 0)
		return -1;
	ovl_fault_point(false);
	/* renamed first: a half-removed attic is never taken for one to undo */
	if (renameat(dfd, leaf, dfd, OVL_FOLD_ATTIC ".commit") < 0 ||
	    fstatat(dfd, OVL_FOLD_ATTIC ".commit", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	return ovl_rm_tree(dfd, OVL_FOLD_ATTIC ".commit", st.st_dev, 0);
}

int ovl_fold_fix_apply(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f, int dfd,
		       const char *leaf)
{
	int ret;

	leaf = leaf_of(leaf);
	switch (f->op) {
	case OVL_FIX_MG_BEGIN:
		ret = begin_apply(s, j, f, dfd, leaf);
		break;
	case OVL_FIX_MG_MOVE:
	case OVL_FIX_MG_LINK:
		ret = move_or_link(s, j, f, dfd, leaf);
		break;
	case OVL_FIX_MG_ATTR:
		ret = attr_apply(j, f, dfd, leaf);
		break;
	case OVL_FIX_MG_XATTR:
		ret = xattr_apply(j, f, dfd, leaf);
		break;
	case OVL_FIX_MG_COMMIT:
		ret = commit_apply(s, j, f, dfd, leaf);
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	return ret;	/* ovl_fix_apply marks it done and holds the kill point after it */
}

int ovl_fold_fix_state(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf)
{
	struct stat st;

	leaf = leaf_of(leaf);
	switch (rec->op) {
	case OVL_FIX_MG_BEGIN:
		if (dfd >= 0 && fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return S_ISDIR(st.st_mode) ? 1 : -1;
		return dfd < 0 || errno == ENOENT ? 0 : -1;
	case OVL_FIX_MG_MOVE:
	case OVL_FIX_MG_LINK:
		return move_state(s, rec, dfd, leaf);
	case OVL_FIX_MG_ATTR:
		return attr_state(rec, dfd, leaf);
	case OVL_FIX_MG_XATTR:
		return dfd < 0 ? -1 : ovl_fix_xattr_state(rec, dfd, leaf);
	default:
		return -1;	/* a commit: nothing to go back to */
	}
}

int ovl_fold_fix_revert(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf)
{
	leaf = leaf_of(leaf);
	switch (rec->op) {
	case OVL_FIX_MG_BEGIN:
		return begin_revert(dfd, leaf);
	case OVL_FIX_MG_MOVE:
	case OVL_FIX_MG_LINK:
		return move_revert(s, rec, dfd, leaf);
	case OVL_FIX_MG_ATTR:
		return attr_revert(rec, dfd, leaf);
	case OVL_FIX_MG_XATTR:
		return ovl_fix_xattr_revert(rec, dfd, leaf);
	default:
		errno = EINVAL;
		return -1;
	}
}
