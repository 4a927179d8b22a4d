/*
 * The copy-up ops of the repair: a metacopy file's data copied into its
 * upper inode (COPY_DATA: unjournalled, the metacopy xattr still hides
 * it), the commit that removes the xattr once every copy is synced
 * (COPY_COMMIT, journalled, the records of many written ahead and synced
 * together), and a lower-only entry copied up as the kernel does
 * (COPYUP_NEW: made in W/work and renamed into place). The bytes are
 * moved by copyup.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/copyup.h"
#include "overlay/fh.h"
#include "overlay/lookup.h"
#include "overlay/mview.h"
#include "overlay/nlink.h"
#include "overlay/util.h"
#include "overlay/xattr_copy.h"
#include "repair_internal.h"

/*
 * Open the lower inode a copy-up fix names (`val`: layer byte + stored
 * handle) with `flags`; fh gets the handle. Returns an fd or -1 (EINVAL
 * for a bad value).
 */
static int open_lower(const struct ovl_stack *s, const struct ovl_fix *f, int flags,
		      struct ovl_fh *fh)
{
	int layer = f->len ? f->val[0] : -1;

	if (layer <= 0 || layer >= s->nlayers ||
	    ovl_fh_parse(f->val + 1, f->len - 1, fh) != OVL_FH_OK) {
		errno = EINVAL;
		return -1;
	}
	int mfd = openat(s->layers[layer].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct file_handle *h = malloc(sizeof(*h) + fh->fid_len);
	int fd = -1;
	if (mfd >= 0 && h) {
		h->handle_bytes = (unsigned)fh->fid_len;
		h->handle_type = fh->type;
		memcpy(h->f_handle, fh->fid, fh->fid_len);
		fd = open_by_handle_at(mfd, h, flags | O_NOFOLLOW | O_CLOEXEC);
	}
	free(h);
	ovl_close_keep_errno(mfd);
	return fd;
}

/* Our own xattr holding a metacopy file's times while its data moves. */
static const char *times_xattr(const struct ovl_stack *s)
{
	return s->ns == OVL_NS_USER ? "user.overlay-fsck.times" : "trusted.overlay-fsck.times";
}

/* A write drops file capabilities (and, for others than root, the set-id
 * bits): what to put back, with the times, once the data is written. */
struct kept_meta {
	unsigned char cap[256];
	ssize_t caplen;
	mode_t mode;
	struct timespec times[2];
};

static void keep_meta(int dfd, const char *leaf, const struct stat *st, struct kept_meta *k)
{
	k->caplen = ovl_xattr_get_at(dfd, leaf, "security.capability", k->cap, sizeof(k->cap));
	k->mode = st->st_mode & 07777;
	k->times[0] = st->st_atim;
	k->times[1] = st->st_mtim;
}

static int put_meta_back(int dfd, const char *leaf, int fd, const struct kept_meta *k)
{
	if (k->caplen > 0 &&
	    ovl_xattr_set_at(dfd, leaf, "security.capability", k->cap, (size_t)k->caplen) < 0)
		return -1;
	return fchmod(fd, k->mode) < 0 || futimens(fd, k->times) < 0 ? -1 : 0;
}

/*
 * A data copy-up, first half: the data copied into the upper inode while
 * its metacopy xattr still sends every read to the lower data, so nothing
 * the kernel shows changes (and nothing is journalled); the second half,
 * after one sync of all copies, removes the xattr (copy_commit).
 */
static int copy_data(struct ovl_stack *s, const struct ovl_fix *f, int dfd, const char *leaf)
{
	const char *xname = ovl_xattr_name(s->ns, OVL_XA_METACOPY);
	const char *tname = times_xattr(s);
	struct ovl_fh fh;
	struct stat st;
	int src = -1, dst = -1, ret = -1;

	if (ovl_xattr_get_at(dfd, leaf, xname, NULL, 0) < 0)
		return errno == ENODATA ? 0 : -1;	/* done already */
	/* A regular file only is read; the handle names the data inode. */
	src = open_lower(s, f, O_RDONLY | O_NONBLOCK, &fh);
	if (src < 0)
		goto out;
	dst = ovl_fix_open_regular(dfd, leaf, &st);
	if (dst < 0)
		goto out;
	struct kept_meta kept;
	keep_meta(dfd, leaf, &st, &kept);
	struct timespec *times = kept.times;
	/*
	 * Writing moves the mtime, and a kill before the end would lose the
	 * old one for good: it is kept in an xattr of ours until the copy is
	 * committed, and a later run that finds it puts that one back.
	 */
	if (ovl_xattr_get_at(dfd, leaf, tname, times, sizeof(kept.times)) != sizeof(kept.times) &&
	    ovl_xattr_set_at(dfd, leaf, tname, times, sizeof(kept.times)) < 0)
		goto out;
	ovl_fault_point(false);
	struct ovl_copyup_stats cs = { 0 };
	if (ovl_copyup_data(src, dst, st.st_size, &cs) < 0 || put_meta_back(dfd, leaf, dst, &kept) < 0)
		goto out;
	/* Test hook: OVL_FAULT_CORRUPT=1 spoils the copy's first byte, so
	 * the tests can show that --verify-data catches a bad copy. */
	if (getenv("OVL_FAULT_CORRUPT") && st.st_size > 0) {
		unsigned char b;
		if (pread(src, &b, 1, 0) == 1) {
			b ^= 0xff;
			/* times put back as after a real copy: only the data is bad */
			if (pwrite(dst, &b, 1, 0) != 1 || futimens(dst, times) < 0)
				goto out;
		}
	}
	if (ovl_copyup_verify) {
		/* read back through a fresh fd: what is now in the upper file */
		int rd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		int cmp = rd < 0 ? -1 : ovl_copyup_compare(src, rd, st.st_size);
		if (rd >= 0)
			close(rd);
		if (cmp != 0) {
			if (cmp > 0)
				errno = EIO;	/* the copy differs: not committed */
			goto out;
		}
	}
	ret = 0;
out:
	ovl_close_keep_errno(src);
	ovl_close_keep_errno(dst);
	return ret;
}

/*
 * A copy that replaced a metacopy file's lost data (the fix of MC_NO_DATA
 * when the view shows that data elsewhere: xattr ORIGIN) drops the origin
 * once the file holds its data: it names a lower inode the view shows at
 * another path, and the kernel would key both by it (ESTALE). Its own
 * journal step; `step`: a record of this fix is open before it.
 */
static int drop_origin(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f,
		       int dfd, const char *leaf, bool step)
{
	const char *xname = ovl_xattr_name(s->ns, OVL_XA_ORIGIN);
	unsigned char old[OVL_XATTR_MAX];
	struct ovl_fix rm = *f;

	if (f->xattr != OVL_XA_ORIGIN)
		return 0;	/* --copy-up's commits keep the origin */
	ssize_t n = ovl_xattr_get_at(dfd, leaf, xname, old, sizeof(old));
	if (n < 0)
		return errno == ENODATA ? 0 : -1;	/* gone already */
	rm.op = OVL_FIX_RM_XATTR;
	rm.val = NULL;
	rm.len = 0;
	if ((step ? ovl_journal_step(j, &rm, xname, old, (size_t)n, true, NULL, 0, false)
		  : ovl_journal_record(j, &rm, xname, old, (size_t)n, true, NULL, 0, false)) < 0)
		return -1;
	return ovl_xattr_remove_at(dfd, leaf, xname);
}

/* The second half, once every copy's data is synced: the metacopy xattr
 * goes (journalled: undo sets it back), and our times xattr with it. */
static int copy_commit(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f,
		       int dfd, const char *leaf)
{
	const char *xname = ovl_xattr_name(s->ns, OVL_XA_METACOPY);
	unsigned char old[OVL_XATTR_MAX];
	ssize_t n = ovl_xattr_get_at(dfd, leaf, xname, old, sizeof(old));

	if (n < 0)	/* done already (its origin, maybe not) */
		return errno == ENODATA ? drop_origin(s, j, f, dfd, leaf, false) : -1;
	/* Many copies: their records were written and synced together. */
	unsigned long pre = j->preseq ? j->preseq[f->order] : 0;
	if (pre) {
		ovl_fault_point(false);
		if ((ovl_xattr_remove_at(dfd, leaf, times_xattr(s)) < 0 && errno != ENODATA) ||
		    ovl_xattr_remove_at(dfd, leaf, xname) < 0)
			return -1;
		ovl_journal_done_seq(j, pre);
		return drop_origin(s, j, f, dfd, leaf, false);
	}
	if (ovl_journal_record(j, f, xname, old, (size_t)n, true, NULL, 0, false) < 0)
		return -1;
	ovl_fault_point(false);
	if ((ovl_xattr_remove_at(dfd, leaf, times_xattr(s)) < 0 && errno != ENODATA) ||
	    ovl_xattr_remove_at(dfd, leaf, xname) < 0)
		return -1;
	return drop_origin(s, j, f, dfd, leaf, true);
}

int ovl_work_dir(struct ovl_stack *s)
{
	/* W/work, where the kernel makes its copies, is made at mount; a
	 * stack that was never mounted may not have it yet. */
	if (s->workworkfd < 0 && s->workfd >= 0) {
		if (mkdirat(s->workfd, "work", 0) < 0 && errno != EEXIST)
			return -1;
		s->workworkfd = ovl_open_beneath(s->workfd, "work", 4, O_PATH | O_DIRECTORY);
	}
	if (s->workworkfd < 0) {
		errno = EINVAL;
		return -1;
	}
	return s->workworkfd;
}

/* Everything written so far on the upper filesystem, on disk. */
int ovl_sync_upper(const struct ovl_stack *s)
{
	int fd = s->workfd >= 0 ? openat(s->workfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
				: openat(s->layers[0].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = fd >= 0 ? syncfs(fd) : -1;

	if (fd >= 0)
		close(fd);
	return ret;
}

/* A name the copy could not take: said in the failure line of the fix. */
static void xattr_not_copied(void *arg, const char *name, int err)
{
	(void)arg;
	ovl_fix_note("xattr %s not copied (%s)", name ? name : "names not listed", strerror(err));
}

/*
 * The dir of `layer` holding the lower entry that merged path `path`
 * shows (not in the upper yet: its copy is being made), its name in
 * *leaf: found by the merged view's lookups, the kernel's rules
 * (redirects, opaque dirs) applied, and confirmed to hold src's inode.
 * -1 with errno (ESTALE: another inode is there now).
 */
static int lower_parent(struct ovl_stack *s, int layer, int src, const char *path,
			const char **leaf)
{
	struct stat want, got;
	char *dir = ovl_xstrdup(path);
	char *slash = strrchr(dir, '/');
	int at = -1, dfd = -1;

	if (!slash || !slash[1]) {
		free(dir);
		errno = EINVAL;
		return -1;
	}
	*leaf = path + (slash - dir) + 1;
	slash[slash == dir ? 1 : 0] = '\0';
	dfd = ovl_mview_entry_dir(s, dir, *leaf, &at);
	free(dir);
	if (dfd >= 0 && (at != layer || fstat(src, &want) < 0 ||
			 fstatat(dfd, *leaf, &got, AT_SYMLINK_NOFOLLOW) < 0 ||
			 got.st_dev != want.st_dev || got.st_ino != want.st_ino)) {
		close(dfd);
		dfd = -1;
		errno = ESTALE;
	}
	return dfd;
}

/*
 * Every xattr of the lower entry src (an O_PATH fd in `layer`, opened by
 * its handle) but the overlay's own, onto dfd/leaf. The kernel decodes a
 * non-dir handle to a disconnected dentry when it has none cached (the
 * handle names no parent), so src may have no path: a regular file is
 * read through `in`, its open fd, onto `out`; a dir, always connected,
 * through its fd; another entry (symlink, device, fifo) by its name in
 * the lower dir where the merged view shows it at `path`.
 */
static int copy_xattrs(struct ovl_stack *s, int layer, int src, int in, int out,
		       const char *path, int dfd, const char *leaf)
{
	struct stat st;
	const char *name;

	if (in >= 0 && out >= 0)
		return ovl_xattr_copy_fd(in, out, s->ns, xattr_not_copied, NULL);
	if (fstat(src, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		return ovl_xattr_copy(src, "", dfd, leaf, s->ns, xattr_not_copied, NULL);
	int pfd = lower_parent(s, layer, src, path, &name);
	if (pfd < 0)
		return -1;
	int ret = ovl_xattr_copy(pfd, name, dfd, leaf, s->ns, xattr_not_copied, NULL);
	ovl_close_keep_errno(pfd);
	return ret;
}

/* The origin, as the kernel writes it: the stored handle of the lower. */
static int set_origin(struct ovl_stack *s, int dfd, const char *leaf, const struct ovl_fix *f)
{
	return ovl_xattr_set_at(dfd, leaf, ovl_xattr_name(s->ns, OVL_XA_ORIGIN), f->val + 1,
				f->len - 1);
}

/*
 * Copy a lower-only entry up as the kernel does (its parents were copied
 * up before it): made in W/work with its data, metadata, xattrs and
 * origin, synced, and renamed into place, so that no half-made entry is
 * ever visible; an xattr the upper will not take fails the copy. The
 * parent is marked impure. Undo removes what was made.
 */
static int copyup_new(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f,
		      int dfd, const char *leaf)
{
	struct ovl_fh fh;
	struct stat lst, st;
	int src = -1, in = -1, out = -1, ret = -1;
	char tmp[64];

	if (ovl_stat_at(dfd, leaf, &st) == 0)
		return 0;	/* made by an earlier run */
	if (ovl_work_dir(s) < 0)
		return -1;
	src = open_lower(s, f, O_PATH, &fh);
	if (src < 0 || fstat(src, &lst) < 0)
		goto done;
	if (ovl_journal_record(j, f, NULL, NULL, 0, false, f->path, strlen(f->path), true) < 0)
		goto done;
	ovl_fault_point(false);

	struct timespec times[2] = { lst.st_atim, lst.st_mtim };
	char hex[OVL_FH_HEX_MAX];
	struct stat ist;
	ovl_fh_to_hex(&fh, hex);
	if (S_ISREG(lst.st_mode) && lst.st_nlink > 1 && s->index && s->indexfd >= 0 &&
	    ovl_stat_at(s->indexfd, hex, &ist) == 0 && S_ISREG(ist.st_mode)) {
		/* Another name of this lower inode was copied up already: this
		 * one becomes an alias of its index entry, as the kernel does.
		 * The names the merged view shows do not change, so the nlink
		 * the kernel keeps is moved by one against the upper count. */
		const char *xn = ovl_xattr_name(s->ns, OVL_XA_NLINK);
		char nlv[32];
		struct ovl_nlink nl;
		ssize_t nn = ovl_xattr_get_at(s->indexfd, hex, xn, nlv, sizeof(nlv) - 1);
		if (linkat(s->indexfd, hex, dfd, leaf, 0) < 0)
			goto done;
		if (nn > 0 && ovl_nlink_parse(nlv, (size_t)nn, &nl) == 0) {
			long shown = ovl_nlink_apply(&nl, (long)ist.st_nlink, (long)lst.st_nlink);
			struct ovl_nlink now = { 'U', shown - ((long)ist.st_nlink + 1) };
			char nv[32];
			ovl_nlink_format(&now, nv, sizeof(nv));
			char ipath[OVL_FH_HEX_MAX + 8];
			snprintf(ipath, sizeof(ipath), "/index/%s", hex);
			struct ovl_fix nf = { .op = OVL_FIX_SET_XATTR, .layer = OVL_FIX_WORKDIR,
					      .path = ipath, .xattr = OVL_XA_NLINK,
					      .val = (unsigned char *)nv, .len = strlen(nv) };
			if (ovl_journal_step(j, &nf, xn, nlv, (size_t)nn, true, nv, strlen(nv), true) < 0 ||
			    ovl_xattr_set_at(s->indexfd, hex, xn, nv, strlen(nv)) < 0)
				goto done;
		}
		/* The inode may still be a metacopy: the data comes up too. */
		if (ovl_xattr_get_at(dfd, leaf, ovl_xattr_name(s->ns, OVL_XA_METACOPY), NULL, 0) >= 0) {
			ovl_fault_point(true);
			ovl_journal_done(j);
			if (copy_data(s, f, dfd, leaf) < 0 || ovl_sync_upper(s) < 0 ||
			    copy_commit(s, j, f, dfd, leaf) < 0)
				goto done;
		}
	} else {
		/* A dir too is made whole in W/work first: one that a failed
		 * xattr or a kill left half made must not look made. */
		int rmflag = S_ISDIR(lst.st_mode) ? AT_REMOVEDIR : 0;
		snprintf(tmp, sizeof(tmp), "#overlay-fsck-copyup.%d", (int)getpid());
		unlinkat(s->workworkfd, tmp, rmflag);	/* a cut earlier try */
		int made;
		if (S_ISDIR(lst.st_mode)) {
			made = mkdirat(s->workworkfd, tmp, 0700);
		} else if (S_ISREG(lst.st_mode)) {
			char p[64];
			snprintf(p, sizeof(p), "/proc/self/fd/%d", src);
			in = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			out = openat(s->workworkfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				     O_CLOEXEC, 0600);
			made = in >= 0 && out >= 0 &&
			       ovl_copyup_data(in, out, lst.st_size, NULL) == 0 ? 0 : -1;
		} else if (S_ISLNK(lst.st_mode)) {
			char target[4096];
			ssize_t tl = readlinkat(src, "", target, sizeof(target) - 1);
			if (tl >= 0)
				target[tl] = '\0';
			made = tl >= 0 ? symlinkat(target, s->workworkfd, tmp) : -1;
		} else {
			made = mknodat(s->workworkfd, tmp, lst.st_mode, lst.st_rdev);
		}
		/* A lower hard link gets its index entry, as with index=on the
		 * kernel's copy-up does: the nlink it keeps counts the lower
		 * names, of which this one is now the upper alias. */
		bool indexed = !S_ISDIR(lst.st_mode) && lst.st_nlink > 1 && s->index &&
			       s->indexfd >= 0;
		char nl[32];
		if (indexed)
			snprintf(nl, sizeof(nl), "U%+ld", (long)lst.st_nlink - 2);
		if (made < 0 ||
		    (indexed && ovl_xattr_set_at(s->workworkfd, tmp,
						 ovl_xattr_name(s->ns, OVL_XA_NLINK),
						 nl, strlen(nl)) < 0) ||
		    fchownat(s->workworkfd, tmp, lst.st_uid, lst.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (!S_ISLNK(lst.st_mode) && fchmodat(s->workworkfd, tmp, lst.st_mode & 07777, 0) < 0) ||
		    copy_xattrs(s, f->val[0], src, in, out, f->path, s->workworkfd, tmp) < 0 ||
		    set_origin(s, s->workworkfd, tmp, f) < 0 ||
		    utimensat(s->workworkfd, tmp, times, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (out >= 0 && fsync(out) < 0) ||
		    renameat2(s->workworkfd, tmp, dfd, leaf, RENAME_NOREPLACE) < 0) {
			int e = errno;
			unlinkat(s->workworkfd, tmp, rmflag);
			errno = e;
			goto done;
		}
		if (indexed) {
			char ipath[OVL_FH_HEX_MAX + 8];
			snprintf(ipath, sizeof(ipath), "/index/%s", hex);
			struct ovl_fix lf = { .op = OVL_FIX_LINK_W, .layer = f->layer,
					      .path = f->path, .val = (unsigned char *)ipath,
					      .len = strlen(ipath) };
			if (ovl_journal_step(j, &lf, NULL, NULL, 0, false, ipath, strlen(ipath),
					 true) < 0 ||
			    linkat(dfd, leaf, s->indexfd, hex, 0) < 0)
				goto done;
		}
	}
	/* The parent now holds an entry with an origin: impure, journalled
	 * on its own so that undo takes it back too. */
	char y[2];
	const char *xi = ovl_xattr_name(s->ns, OVL_XA_IMPURE);
	if (ovl_xattr_get_at(dfd, "", xi, y, sizeof(y)) == 1 && y[0] == 'y') {
		ret = 0;
	} else {
		char *parent = ovl_xstrdup(f->path);
		char *slash = strrchr(parent, '/');
		if (slash)
			slash[slash == parent ? 1 : 0] = '\0';
		struct ovl_fix pf = { .op = OVL_FIX_SET_XATTR, .layer = f->layer, .path = parent,
				      .xattr = OVL_XA_IMPURE, .val = (unsigned char *)"y", .len = 1 };
		ssize_t n = ovl_xattr_get_at(dfd, "", xi, y, sizeof(y));
		ret = ovl_journal_step(j, &pf, xi, y, n < 0 ? 0 : (size_t)n, n >= 0, "y", 1, true);
		if (ret == 0)
			ret = ovl_xattr_set_at(dfd, "", xi, "y", 1);
		free(parent);
	}
	int pfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd >= 0) {
		fsync(pfd);
		close(pfd);
	}
done:
	ovl_close_keep_errno(in);
	ovl_close_keep_errno(out);
	ovl_close_keep_errno(src);
	return ret;
}

/* One journal sync instead of one per file; each commit then only removes
 * its xattrs and marks its record done. */
int ovl_copyup_prejournal(struct ovl_stack *s, struct journal *j, struct ovl_plan *p,
			  size_t from, const unsigned char *done)
{
	const char *xname = ovl_xattr_name(s->ns, OVL_XA_METACOPY);
	unsigned char old[OVL_XATTR_MAX];

	j->preseq = ovl_xcalloc(p->n + 1, sizeof(*j->preseq));
	j->batch = true;
	for (size_t k = from; k < p->n; k++) {
		struct ovl_fix *g = &p->fixes[k];
		size_t data = 0;
		const char *leaf;
		if (g->op != OVL_FIX_COPY_COMMIT)
			continue;
		memcpy(&data, g->val, g->len < sizeof(data) ? g->len : sizeof(data));
		if (data >= p->n || !done[data])
			continue;
		int dfd = ovl_fix_open_parent(ovl_fix_root(s, g->layer), g->path, &leaf);
		ssize_t n = dfd >= 0 ? ovl_xattr_get_at(dfd, leaf, xname, old, sizeof(old)) : -1;
		if (dfd >= 0)
			close(dfd);
		if (n < 0)
			continue;	/* committed already, or gone: its own run says */
		if (ovl_journal_record(j, g, xname, old, (size_t)n, true, NULL, 0, false) < 0)
			return -1;
		j->preseq[g->order] = j->seq;
	}
	j->batch = false;
	return ovl_journal_sync(j);
}

int ovl_copyup_fix_apply(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f,
			 int dfd, const char *leaf)
{
	switch (f->op) {
	case OVL_FIX_COPY_DATA:
		return copy_data(s, f, dfd, leaf);
	case OVL_FIX_COPY_COMMIT:
		return copy_commit(s, j, f, dfd, leaf);
	case OVL_FIX_COPYUP_NEW:
		return copyup_new(s, j, f, dfd, leaf);
	default:
		errno = EINVAL;
		return -1;
	}
}

int ovl_copyup_fix_state(struct ovl_stack *s, const struct record *rec, int dfd,
			 const char *leaf)
{
	struct stat st;

	(void)s;
	switch (rec->op) {
	case OVL_FIX_COPY_COMMIT:	/* undone by setting metacopy back */
		return ovl_fix_xattr_state(rec, dfd, leaf);
	case OVL_FIX_COPYUP_NEW:	/* made, or not */
		return ovl_stat_at(dfd, leaf, &st) == 0 ? 1 : errno == ENOENT ? 0 : -1;
	default:	/* COPY_DATA is never journalled: it changes nothing seen */
		return -1;
	}
}

/*
 * A metacopy file whose mark an undo set back: the data the copy wrote
 * into it, unused now, goes, so that it holds no blocks again, as the
 * kernel made it (its metadata as it was).
 */
static int empty_again(int dfd, const char *leaf)
{
	struct kept_meta kept;
	struct stat st;
	int fd = ovl_fix_open_regular(dfd, leaf, &st);
	int ret = -1;

	if (fd < 0)
		goto out;
	keep_meta(dfd, leaf, &st, &kept);
	ret = ovl_copyup_punch(fd, 0, st.st_size) < 0 ? -1 : put_meta_back(dfd, leaf, fd, &kept);
out:
	ovl_close_keep_errno(fd);
	return ret;
}

int ovl_copyup_fix_revert(struct ovl_stack *s, const struct record *rec, int dfd,
			  const char *leaf)
{
	struct stat st;

	(void)s;
	switch (rec->op) {
	case OVL_FIX_COPY_COMMIT:
		return ovl_fix_xattr_revert(rec, dfd, leaf) < 0 ? -1 : empty_again(dfd, leaf);
	case OVL_FIX_COPYUP_NEW:
		return ovl_stat_at(dfd, leaf, &st) < 0 ? -1 :
		       unlinkat(dfd, leaf, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
	default:
		return 0;
	}
}
