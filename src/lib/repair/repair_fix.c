/*
 * The overlay fixes, each three ways: applied (its record journalled
 * first), where a journalled change is now, and rolled back. The op of a
 * fix picks its code; copy-ups (repair_copyup.c) and a store's
 * bookkeeping (repair_store.c) have modules of their own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "overlay/lookup.h"
#include "overlay/util.h"
#include "repair_internal.h"

#define QUARANTINE_DIR "overlay-fsck.quarantine"

int ovl_fix_root(const struct ovl_stack *s, int layer)
{
	if (layer == OVL_FIX_WORKDIR)
		return s->workfd;
	if (layer < 0 || layer >= s->nlayers)
		return -1;
	return s->layers[layer].fd;
}

int ovl_fix_open_regular(int dfd, const char *leaf, struct stat *st)
{
	int fd = openat(dfd, leaf, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

int ovl_fix_open_parent(int root, const char *path, const char **leaf)
{
	const char *p = path[0] == '/' ? path + 1 : path;
	const char *slash = strrchr(p, '/');

	if (!slash) {
		*leaf = p;	/* "" for the root itself */
		return fcntl(root, F_DUPFD_CLOEXEC, 0);
	}
	*leaf = slash + 1;
	return ovl_open_beneath(root, p, (size_t)(slash - p), O_PATH | O_DIRECTORY);
}

static int quarantine_dir(const struct ovl_stack *s, char *name, size_t namelen)
{
	static char run[32];

	if (!run[0]) {
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(run, sizeof(run), "%Y%m%dT%H%M%SZ", &tm);
	}
	if (mkdirat(s->workfd, QUARANTINE_DIR, 0700) < 0 && errno != EEXIST)
		return -1;
	int q = ovl_open_beneath(s->workfd, QUARANTINE_DIR, strlen(QUARANTINE_DIR),
				 O_PATH | O_DIRECTORY);
	if (q < 0)
		return -1;
	if (mkdirat(q, run, 0700) < 0 && errno != EEXIST) {
		close(q);
		return -1;
	}
	int d = ovl_open_beneath(q, run, strlen(run), O_PATH | O_DIRECTORY);
	close(q);
	snprintf(name, namelen, QUARANTINE_DIR "/%s", run);
	return d;
}

/* Set a file's size, keeping its times: only the size is the fix. */
static int truncate_keep_times(int fd, off_t size)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || ftruncate(fd, size) < 0)
		return -1;
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	return futimens(fd, times);
}

/* An xattr record: 1 its new value is there, 0 its old one, -1 another. */
int ovl_fix_xattr_state(const struct record *rec, int dfd, const char *leaf)
{
	unsigned char *cur;
	ssize_t n;

	if (!rec->xname)
		return -1;
	cur = ovl_xmalloc(65536);
	n = ovl_xattr_get_at(dfd, leaf, rec->xname, cur, 65536);
	bool now = n >= 0;
	bool is_new = now == rec->has_new &&
		      (!now || ((size_t)n == rec->newlen && !memcmp(cur, rec->new, rec->newlen)));
	bool is_old = now == rec->has_old &&
		      (!now || ((size_t)n == rec->oldlen && !memcmp(cur, rec->old, rec->oldlen)));
	free(cur);
	return is_new ? 1 : is_old ? 0 : -1;
}

int ovl_fix_xattr_revert(const struct record *rec, int dfd, const char *leaf)
{
	if (!rec->xname) {
		errno = EINVAL;
		return -1;
	}
	return rec->has_old ? ovl_xattr_set_at(dfd, leaf, rec->xname, rec->old, rec->oldlen)
			    : ovl_xattr_remove_at(dfd, leaf, rec->xname);
}

int ovl_fix_apply(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f)
{
	unsigned long seq0 = j->seq;	/* records this fix writes are after it */
	int root = ovl_fix_root(s, f->layer);
	const char *leaf;
	int dfd, ret = -1;
	struct stat st;
	const char *xname = f->op == OVL_FIX_SET_XATTR || f->op == OVL_FIX_RM_XATTR
			    ? ovl_xattr_name(s->ns, f->xattr) : NULL;

	if (root < 0) {
		errno = EBADF;
		return -1;
	}
	dfd = ovl_fix_open_parent(root, f->path, &leaf);
	if (dfd < 0)
		return -1;

	switch (f->op) {
	case OVL_FIX_SET_XATTR:
	case OVL_FIX_RM_XATTR: {
		unsigned char *old = ovl_xmalloc(65536);
		ssize_t n = ovl_xattr_get_at(dfd, leaf, xname, old, 65536);
		if (n < 0 && errno != ENODATA) {
			free(old);
			break;
		}
		if (f->op == OVL_FIX_RM_XATTR && n < 0) {
			free(old);
			ret = 0;	/* already gone */
			break;
		}
		if (ovl_journal_record(j, f, xname, old, n < 0 ? 0 : (size_t)n, n >= 0,
				   f->val, f->len, f->op == OVL_FIX_SET_XATTR) < 0) {
			free(old);
			break;
		}
		free(old);
		ovl_fault_point(false);
		ret = f->op == OVL_FIX_SET_XATTR
		      ? ovl_xattr_set_at(dfd, leaf, xname, f->val, f->len)
		      : ovl_xattr_remove_at(dfd, leaf, xname);
		break;
	}
	case OVL_FIX_MK_WHITEOUT:
		if (ovl_stat_at(dfd, leaf, &st) == 0) {
			ret = ovl_is_whiteout_stat(&st) ? 0 : (errno = EEXIST, -1);
			break;
		}
		if (ovl_journal_record(j, f, NULL, NULL, 0, false, NULL, 0, false) < 0)
			break;
		ovl_fault_point(false);
		ret = mknodat(dfd, leaf, S_IFCHR | 0000, makedev(0, 0));
		break;
	case OVL_FIX_COPY_DATA:
	case OVL_FIX_COPY_COMMIT:
	case OVL_FIX_COPYUP_NEW:
		ret = ovl_copyup_fix_apply(s, j, f, dfd, leaf);
		break;
	case OVL_FIX_RM_COPY:
	case OVL_FIX_MG_BEGIN:
	case OVL_FIX_MG_MOVE:
	case OVL_FIX_MG_LINK:
	case OVL_FIX_MG_ATTR:
	case OVL_FIX_MG_XATTR:
	case OVL_FIX_MG_COMMIT:
		ret = ovl_layers_fix_apply(s, j, f, dfd, leaf);
		break;
	case OVL_FIX_SYMLINK:
	case OVL_FIX_WRITE_FILE:
	case OVL_FIX_RM_SYMLINK:
	case OVL_FIX_MKDIR:
	case OVL_FIX_RM_TREE:
		ret = ovl_store_fix_apply(j, f, dfd, leaf);
		break;
	case OVL_FIX_TRUNCATE: {
		/* Only a regular file, never through a link; the old size goes
		 * to the journal. */
		int fd = ovl_fix_open_regular(dfd, leaf, &st);
		if (fd < 0)
			break;
		char old[32];
		int olen = snprintf(old, sizeof(old), "%lld", (long long)st.st_size);
		if (ovl_journal_record(j, f, NULL, old, (size_t)olen, true, f->val, f->len, true) == 0) {
			ovl_fault_point(false);
			ret = truncate_keep_times(fd, (off_t)strtoll((const char *)f->val, NULL, 10));
		}
		ovl_close_keep_errno(fd);
		break;
	}
	case OVL_FIX_RENAME_W: {
		const char *wleaf;
		int wd = ovl_fix_open_parent(s->workfd, (const char *)f->val, &wleaf);
		if (wd < 0)
			break;
		if (ovl_stat_at(wd, wleaf, &st) == 0) {
			close(wd);
			errno = EEXIST;	/* never replace an entry */
			break;
		}
		if (ovl_journal_record(j, f, NULL, NULL, 0, false, f->val, f->len, true) == 0) {
			ovl_fault_point(false);
			ret = renameat(dfd, leaf, wd, wleaf);
		}
		ovl_close_keep_errno(wd);
		break;
	}
	case OVL_FIX_LINK_W: {
		const char *wleaf;
		struct stat wst;
		int wd = ovl_fix_open_parent(s->workfd, (const char *)f->val, &wleaf);
		if (wd < 0)
			break;
		/* Already linked (by another alias's fix): done. */
		if (ovl_stat_at(wd, wleaf, &wst) == 0 && ovl_stat_at(dfd, leaf, &st) == 0 &&
		    wst.st_ino == st.st_ino && wst.st_dev == st.st_dev) {
			close(wd);
			ret = 0;
			break;
		}
		if (ovl_journal_record(j, f, NULL, NULL, 0, false, f->val, f->len, true) == 0) {
			ovl_fault_point(false);
			ret = linkat(dfd, leaf, wd, wleaf, 0);
		}
		ovl_close_keep_errno(wd);
		break;
	}
	case OVL_FIX_RM_WHITEOUT:
		if (ovl_stat_at(dfd, leaf, &st) < 0) {
			ret = errno == ENOENT ? 0 : -1;
			break;
		}
		/* A device whiteout, or an xattr whiteout: an empty file. */
		bool xwh = S_ISREG(st.st_mode) && st.st_size == 0;
		if (!ovl_is_whiteout_stat(&st) && !xwh) {
			errno = EEXIST;
			break;
		}
		/* Kind, mode and owner, so that undo makes the same whiteout. */
		char meta[64];
		int mlen = snprintf(meta, sizeof(meta), "%c %o %u %u", xwh ? 'f' : 'c',
				    (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
				    (unsigned)st.st_gid);
		if (ovl_journal_record(j, f, xwh ? ovl_xattr_name(s->ns, OVL_XA_WHITEOUT) : NULL,
				   meta, (size_t)mlen, true, NULL, 0, false) < 0)
			break;
		ovl_fault_point(false);
		ret = unlinkat(dfd, leaf, 0);
		break;
	case OVL_FIX_QUARANTINE:
	case OVL_FIX_QUARANTINE_WH: {
		char qname[128], target[512];
		int q = quarantine_dir(s, qname, sizeof(qname));
		if (q < 0)
			break;
		/* One flat dir per run: layer and path, '/' as '%', name the entry. */
		int k = snprintf(target, sizeof(target), "%s",
				 f->layer == OVL_FIX_WORKDIR ? "W" : s->layers[f->layer].name);
		for (const char *p = f->path; *p && k + 1 < (int)sizeof(target); p++)
			target[k++] = *p == '/' ? '%' : *p;
		target[k] = '\0';
		char full[700];
		snprintf(full, sizeof(full), "/%s/%s", qname, target);
		if (ovl_journal_record(j, f, NULL, NULL, 0, false, full, strlen(full), true) < 0) {
			close(q);
			break;
		}
		ovl_fault_point(false);
		/* RENAME_WHITEOUT: no moment where a lower entry shows through. */
		ret = f->op == OVL_FIX_QUARANTINE ? renameat(dfd, leaf, q, target)
			: renameat2(dfd, leaf, q, target, RENAME_WHITEOUT);
		close(q);
		break;
	}
	}
	if (ret == 0) {
		ovl_fault_point(true);
		if (j->seq != seq0)
			ovl_journal_done(j);
	}
	ovl_close_keep_errno(dfd);
	return ret;
}

/*
 * Each journalled op, two ways: where its change is now (1 the repair's
 * result is there, 0 the state before it, -1 something else) and rolled
 * back. dfd/leaf: the record's place; rec->new names the place in W of
 * the ops that move or link an entry there.
 */
struct fix_undo {
	int (*state)(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf);
	int (*revert)(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf);
};

/* The place in W a record names (rec->new), and what is there. */
struct w_place {
	int fd;
	const char *leaf;
	bool there;
	struct stat st;
};

static void w_open(struct ovl_stack *s, const struct record *rec, struct w_place *w)
{
	w->fd = ovl_fix_open_parent(s->workfd, (const char *)rec->new, &w->leaf);
	w->there = w->fd >= 0 && ovl_stat_at(w->fd, w->leaf, &w->st) == 0;
}

static void w_close(struct w_place *w)
{
	if (w->fd >= 0)
		ovl_close_keep_errno(w->fd);
}

static int xattr_state(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf)
{
	(void)s;
	return ovl_fix_xattr_state(rec, dfd, leaf);
}

static int xattr_revert(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf)
{
	(void)s;
	return ovl_fix_xattr_revert(rec, dfd, leaf);
}

static int mkwhiteout_state(struct ovl_stack *s, const struct record *rec, int dfd,
			    const char *leaf)
{
	struct stat st;

	(void)s;
	(void)rec;
	if (ovl_stat_at(dfd, leaf, &st) == 0)
		return ovl_is_whiteout_stat(&st) ? 1 : -1;
	return errno == ENOENT ? 0 : -1;
}

static int mkwhiteout_revert(struct ovl_stack *s, const struct record *rec, int dfd,
			     const char *leaf)
{
	(void)s;
	(void)rec;
	return unlinkat(dfd, leaf, 0);
}

static int rmwhiteout_state(struct ovl_stack *s, const struct record *rec, int dfd,
			    const char *leaf)
{
	struct stat st;

	(void)s;
	if (ovl_stat_at(dfd, leaf, &st) == 0)
		return ovl_is_whiteout_stat(&st) ||
		       (S_ISREG(st.st_mode) && st.st_size == 0 && rec->xname) ? 0 : -1;
	return errno == ENOENT ? 1 : -1;
}

static int rmwhiteout_revert(struct ovl_stack *s, const struct record *rec, int dfd,
			     const char *leaf)
{
	unsigned mode = 0, uid = 0, gid = 0;
	char kind = 'c';
	int ret;

	(void)s;
	if (rec->has_old)
		sscanf((const char *)rec->old, "%c %o %u %u", &kind, &mode, &uid, &gid);
	if (kind == 'f') {
		int fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				mode & 07777);
		ret = fd < 0 ? -1 : close(fd);
		if (ret == 0 && rec->xname)
			ret = ovl_xattr_set_at(dfd, leaf, rec->xname, "", 0);
	} else {
		ret = mknodat(dfd, leaf, S_IFCHR | (mode & 07777), makedev(0, 0));
	}
	if (ret == 0 && rec->has_old)
		ret = fchownat(dfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW);
	if (ret == 0 && rec->has_old)	/* mknod is subject to the umask */
		ret = fchmodat(dfd, leaf, mode & 07777, 0);
	return ret;
}

static int truncate_state(struct ovl_stack *s, const struct record *rec, int dfd,
			  const char *leaf)
{
	struct stat st;

	(void)s;
	if (ovl_stat_at(dfd, leaf, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	long long now = (long long)st.st_size;
	return now == strtoll((const char *)rec->new, NULL, 10) ? 1 :
	       now == strtoll((const char *)rec->old, NULL, 10) ? 0 : -1;
}

static int truncate_revert(struct ovl_stack *s, const struct record *rec, int dfd,
			   const char *leaf)
{
	struct stat st;
	int fd = ovl_fix_open_regular(dfd, leaf, &st);
	int ret;

	(void)s;
	ret = fd < 0 ? -1 : truncate_keep_times(fd, (off_t)strtoll((const char *)rec->old,
								    NULL, 10));
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Moved into W (an index entry renamed, a quarantined entry): the entry
 * is there and not here; a whiteout left here by QUARANTINE_WH. */
static int moved_state(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf)
{
	struct stat st;
	struct w_place w;
	bool here = ovl_stat_at(dfd, leaf, &st) == 0;
	bool wh = here && ovl_is_whiteout_stat(&st);

	w_open(s, rec, &w);
	w_close(&w);
	if (rec->op == OVL_FIX_QUARANTINE_WH)
		return w.there && wh ? 1 : here && !wh && !w.there ? 0 : -1;
	return w.there && !here ? 1 : here && !w.there ? 0 : -1;
}

static int moved_revert(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf)
{
	struct w_place w;
	int ret = -1;

	w_open(s, rec, &w);
	if (w.fd >= 0 && (rec->op != OVL_FIX_QUARANTINE_WH || unlinkat(dfd, leaf, 0) == 0))
		ret = renameat(w.fd, w.leaf, dfd, leaf);
	w_close(&w);
	return ret;
}

static int linked_state(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf)
{
	struct stat st;
	struct w_place w;
	bool here = ovl_stat_at(dfd, leaf, &st) == 0;

	w_open(s, rec, &w);
	w_close(&w);
	return here && w.there && st.st_ino == w.st.st_ino ? 1 : here && !w.there ? 0 : -1;
}

static int linked_revert(struct ovl_stack *s, const struct record *rec, int dfd, const char *leaf)
{
	struct w_place w;
	int ret;

	(void)dfd;
	(void)leaf;
	w_open(s, rec, &w);
	ret = w.fd >= 0 ? unlinkat(w.fd, w.leaf, 0) : -1;
	w_close(&w);
	return ret;
}

static const struct fix_undo undo_ops[] = {
	[OVL_FIX_MK_WHITEOUT] = { mkwhiteout_state, mkwhiteout_revert },
	[OVL_FIX_LINK_W] = { linked_state, linked_revert },
	[OVL_FIX_SET_XATTR] = { xattr_state, xattr_revert },
	[OVL_FIX_RM_XATTR] = { xattr_state, xattr_revert },
	[OVL_FIX_RM_WHITEOUT] = { rmwhiteout_state, rmwhiteout_revert },
	[OVL_FIX_QUARANTINE] = { moved_state, moved_revert },
	[OVL_FIX_QUARANTINE_WH] = { moved_state, moved_revert },
	[OVL_FIX_RENAME_W] = { moved_state, moved_revert },
	[OVL_FIX_TRUNCATE] = { truncate_state, truncate_revert },
	[OVL_FIX_COPY_DATA] = { ovl_copyup_fix_state, ovl_copyup_fix_revert },
	[OVL_FIX_COPY_COMMIT] = { ovl_copyup_fix_state, ovl_copyup_fix_revert },
	[OVL_FIX_COPYUP_NEW] = { ovl_copyup_fix_state, ovl_copyup_fix_revert },
	[OVL_FIX_SYMLINK] = { ovl_store_fix_state, ovl_store_fix_revert },
	[OVL_FIX_WRITE_FILE] = { ovl_store_fix_state, ovl_store_fix_revert },
	[OVL_FIX_RM_SYMLINK] = { ovl_store_fix_state, ovl_store_fix_revert },
	[OVL_FIX_MKDIR] = { ovl_store_fix_state, ovl_store_fix_revert },
	[OVL_FIX_RM_TREE] = { ovl_store_fix_state, ovl_store_fix_revert },
	/* overlay-layers (layers/ops.c, layers/fold_ops.c) */
	[OVL_FIX_RM_COPY] = { ovl_layers_fix_state, ovl_layers_fix_revert },
	[OVL_FIX_MG_BEGIN] = { ovl_layers_fix_state, ovl_layers_fix_revert },
	[OVL_FIX_MG_MOVE] = { ovl_layers_fix_state, ovl_layers_fix_revert },
	[OVL_FIX_MG_LINK] = { ovl_layers_fix_state, ovl_layers_fix_revert },
	[OVL_FIX_MG_ATTR] = { ovl_layers_fix_state, ovl_layers_fix_revert },
	[OVL_FIX_MG_XATTR] = { ovl_layers_fix_state, ovl_layers_fix_revert },
	[OVL_FIX_MG_COMMIT] = { ovl_layers_fix_state, ovl_layers_fix_revert },
};

static const struct fix_undo *undo_of(const struct record *rec)
{
	size_t op = (size_t)rec->op;

	return op < sizeof(undo_ops) / sizeof(undo_ops[0]) && undo_ops[op].state ? &undo_ops[op]
										    : NULL;
}

int ovl_fix_state(struct ovl_stack *s, const struct record *rec)
{
	const struct fix_undo *u = undo_of(rec);
	const char *leaf;
	int root = ovl_fix_root(s, rec->layer);
	int dfd = root >= 0 ? ovl_fix_open_parent(root, rec->path, &leaf) : -1;

	/* a removed entry whose dir went after it: undo brings the dir first */
	if (dfd < 0)
		return rec->op == OVL_FIX_RM_COPY && errno == ENOENT ? 1
		       : rec->op >= OVL_FIX_MG_BEGIN && errno == ENOENT
		       ? ovl_layers_fix_state(s, rec, -1, NULL) : -1;
	int state = u ? u->state(s, rec, dfd, leaf) : -1;
	close(dfd);
	return state;
}

int ovl_fix_revert(struct ovl_stack *s, const struct record *rec)
{
	const struct fix_undo *u = undo_of(rec);
	const char *leaf;
	int dfd = ovl_fix_open_parent(ovl_fix_root(s, rec->layer), rec->path, &leaf);
	int ret;

	if (dfd < 0)
		return -1;
	if (!u)
		errno = EINVAL;
	ret = u ? u->revert(s, rec, dfd, leaf) : -1;
	ovl_close_keep_errno(dfd);
	return ret;
}
