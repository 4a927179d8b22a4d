/*
 * Repair: applies a plan of fixes, the only code that writes to a layer.
 *
 * Order keeps the stack mountable at every step: whiteouts are created
 * first, then xattrs are set, then removed, then entries are removed or
 * moved aside; a crash between two steps leaves a state the next run
 * finishes the same way. Before each change one record goes to the undo journal and is
 * fsync'ed: what the change is and what was there before. A crash between
 * record and change leaves a record without its "D" line; undo and the
 * next check both look at the layers themselves, so either state is fine.
 *
 * Journal (text, one record a line, bytes as hex):
 *   overlay-fsck-journal 1
 *   L <layer> <dev> <ino>          each layer root, W as layer -1
 *   R <seq> <op> <layer> <path> <xattr> <old> <new>    ('-': absent)
 *   D <seq>                        the change was made
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "overlay/copyup.h"
#include "overlay/fh.h"
#include "overlay/lookup.h"
#include "overlay/nlink.h"
#include "overlay/repair.h"
#include "overlay/util.h"
#include "repair_internal.h"

#define QUARANTINE_DIR "overlay-fsck.quarantine"

volatile int ovl_repair_interrupted;

void ovl_repair_default_journal(char *buf, size_t size, const char *workdir)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(buf, size, "%s/overlay-fsck-undo.%s", workdir, stamp);
}

static const char *const op_names[] = {
	[OVL_FIX_MK_WHITEOUT] = "mkwhiteout",
	[OVL_FIX_LINK_W] = "link",
	[OVL_FIX_SET_XATTR] = "setxattr",
	[OVL_FIX_RM_XATTR] = "rmxattr",
	[OVL_FIX_RM_WHITEOUT] = "rmwhiteout",
	[OVL_FIX_QUARANTINE] = "quarantine",
	[OVL_FIX_QUARANTINE_WH] = "quarantine-wh",
	[OVL_FIX_RENAME_W] = "rename",
	[OVL_FIX_TRUNCATE] = "truncate",
	[OVL_FIX_COPY_DATA] = "copydata",
	[OVL_FIX_COPY_COMMIT] = "copyup",
	[OVL_FIX_COPYUP_NEW] = "copyup-new",
	[OVL_FIX_SYMLINK] = "symlink",
	[OVL_FIX_WRITE_FILE] = "writefile",
	[OVL_FIX_RM_SYMLINK] = "rmsymlink",
	[OVL_FIX_MKDIR] = "mkdir",
	[OVL_FIX_RM_TREE] = "rmtree",
};

void ovl_plan_init(struct ovl_plan *p)
{
	memset(p, 0, sizeof(*p));
}

void ovl_plan_free(struct ovl_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->fixes[i].path);
		free(p->fixes[i].val);
	}
	free(p->fixes);
	memset(p, 0, sizeof(*p));
}

void ovl_plan_add(struct ovl_plan *p, enum ovl_fix_op op, int layer, const char *path,
		  size_t pathlen, enum ovl_xattr_id xattr, const void *val, size_t len,
		  unsigned long problem)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->fixes = ovl_xrealloc(p->fixes, p->cap * sizeof(*p->fixes));
	}
	struct ovl_fix *f = &p->fixes[p->n++];
	f->op = op;
	f->layer = layer;
	f->path = ovl_xstrndup(path, pathlen);
	f->xattr = xattr;
	f->val = NULL;
	f->len = len;
	if (val) {
		f->val = ovl_xmalloc(len + 1);
		memcpy(f->val, val, len);
		f->val[len] = '\0';	/* path values are used as strings */
	}
	f->problem = problem;
	f->order = p->n - 1;
}

static int phase(enum ovl_fix_op op)
{
	switch (op) {
	case OVL_FIX_MK_WHITEOUT:
	case OVL_FIX_LINK_W:
	case OVL_FIX_SYMLINK:
	case OVL_FIX_WRITE_FILE:
	case OVL_FIX_MKDIR:
		return 0;
	case OVL_FIX_SET_XATTR:
	case OVL_FIX_TRUNCATE:
		return 1;	/* e.g. opaque before the redirect goes */
	case OVL_FIX_RM_XATTR:
		return 2;
	case OVL_FIX_COPY_DATA:
	case OVL_FIX_COPYUP_NEW:
		return 4;	/* once the stack is repaired, in plan order */
	case OVL_FIX_COPY_COMMIT:
		return 5;	/* once the copied data is on disk */
	default:
		return 3;
	}
}

/* ---- the journal ---- */

static void put_hex(FILE *f, const void *buf, size_t len, bool present)
{
	char hex[3];

	if (!present) {
		fputs(" -", f);
		return;
	}
	fputs(" x", f);		/* "x" alone: present and empty */
	for (size_t i = 0; i < len; i++) {
		ovl_hex_encode((const unsigned char *)buf + i, 1, hex);
		fputs(hex, f);
	}
}

/*
 * A journal is never appended to or overwritten: one file per run. A
 * taken default name gets a numbered suffix; a taken -z name is an error.
 */
static int journal_create(char *path, size_t size, bool numbered)
{
	size_t base = strlen(path);

	for (int i = 1; i < 1000; i++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC |
			  O_NOFOLLOW, 0600);
		if (fd >= 0 || errno != EEXIST || !numbered)
			return fd;
		snprintf(path + base, size - base, ".%d", i);
	}
	return -1;
}

static int journal_open(struct journal *j, char *path, size_t size, bool numbered,
			const struct ovl_stack *s)
{
	int fd = journal_create(path, size, numbered);
	struct stat st;

	j->seq = 0;
	j->f = fd >= 0 ? fdopen(fd, "a") : NULL;
	if (!j->f) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fputs("overlay-fsck-journal 1\n", j->f);
	for (int i = 0; i < s->nlayers; i++)
		if (s->layers[i].fd >= 0)
			fprintf(j->f, "L %d %llu %llu\n", i, (unsigned long long)s->layers[i].dev,
				(unsigned long long)s->layers[i].ino);
	if (s->workfd >= 0 && fstat(s->workfd, &st) == 0)
		fprintf(j->f, "L -1 %llu %llu\n", (unsigned long long)st.st_dev,
			(unsigned long long)st.st_ino);
	if (fflush(j->f) != 0 || fsync(fileno(j->f)) != 0)
		return -1;
	return 0;
}

int ovl_journal_record(struct journal *j, const struct ovl_fix *f, const char *xname,
			  const void *old, size_t oldlen, bool had_old,
			  const void *new, size_t newlen, bool has_new)
{
	j->seq++;
	fprintf(j->f, "R %lu %s %d", j->seq, op_names[f->op], f->layer);
	put_hex(j->f, f->path, strlen(f->path), true);
	fprintf(j->f, " %s", xname ? xname : "-");
	put_hex(j->f, old, oldlen, had_old);
	put_hex(j->f, new, newlen, has_new);
	fputc('\n', j->f);
	if (fflush(j->f) != 0 || (!j->batch && fdatasync(fileno(j->f)) != 0))
		return -1;
	return 0;
}

static int journal_sync(struct journal *j)
{
	return fflush(j->f) == 0 && fdatasync(fileno(j->f)) == 0 ? 0 : -1;
}

static void journal_done(struct journal *j)
{
	fprintf(j->f, "D %lu\n", j->seq);
	fflush(j->f);
}


/* Close the step before and journal the next step of the same fix; each
 * step gets its own kill points in the crash tests. */
static int journal_step(struct journal *j, const struct ovl_fix *f, const char *xname,
			const void *old, size_t oldlen, bool had_old,
			const void *new, size_t newlen, bool has_new)
{
	ovl_fault_point(true);
	journal_done(j);
	if (ovl_journal_record(j, f, xname, old, oldlen, had_old, new, newlen, has_new) < 0)
		return -1;
	ovl_fault_point(false);
	return 0;
}

/* Fault injection for the crash tests. */
void ovl_fault_point(bool after)
{
	static long count = -1, target;
	static bool kill_after;

	if (count < 0) {
		const char *v = getenv("OVL_FAULT_WRITE");
		target = v ? atol(v) : 0;
		kill_after = getenv("OVL_FAULT_AFTER") != NULL;
		count = 0;
	}
	if (!target)
		return;
	if (!after)
		count++;
	if (count == target && after == kill_after) {
		/* OVL_FAULT_SIGNAL=INT: the user's ^C instead of a crash */
		const char *sig = getenv("OVL_FAULT_SIGNAL");
		kill(getpid(), sig && !strcmp(sig, "INT") ? SIGINT : SIGKILL);
	}
}

/* ---- applying ---- */

static int root_of(const struct ovl_stack *s, int layer)
{
	if (layer == OVL_FIX_WORKDIR)
		return s->workfd;
	if (layer < 0 || layer >= s->nlayers)
		return -1;
	return s->layers[layer].fd;
}

/* Open the parent dir of "/a/b" inside root (O_PATH); *leaf points at "b". */
static int open_parent(int root, const char *path, const char **leaf)
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
	dst = openat(dfd, leaf, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (src < 0 || dst < 0 || fstat(dst, &st) < 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	/* A write drops file capabilities (and, for others than root, the
	 * set-id bits): keep both, with the times, as they were. */
	unsigned char cap[256];
	ssize_t caplen = ovl_xattr_get_at(dfd, leaf, "security.capability", cap, sizeof(cap));
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	/*
	 * Writing moves the mtime, and a kill before the end would lose the
	 * old one for good: it is kept in an xattr of ours until the copy is
	 * committed, and a later run that finds it puts that one back.
	 */
	if (ovl_xattr_get_at(dfd, leaf, tname, times, sizeof(times)) != sizeof(times) &&
	    ovl_xattr_set_at(dfd, leaf, tname, times, sizeof(times)) < 0)
		goto out;
	ovl_fault_point(false);
	struct ovl_copyup_stats cs = { 0 };
	if (ovl_copyup_data(src, dst, st.st_size, &cs) < 0 ||
	    (caplen > 0 && ovl_xattr_set_at(dfd, leaf, "security.capability", cap,
					    (size_t)caplen) < 0) ||
	    fchmod(dst, st.st_mode & 07777) < 0 || futimens(dst, times) < 0)
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

/* The second half, once every copy's data is synced: the metacopy xattr
 * goes (journalled: undo sets it back), and our times xattr with it. */
static int copy_commit(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f,
		       int dfd, const char *leaf)
{
	const char *xname = ovl_xattr_name(s->ns, OVL_XA_METACOPY);
	unsigned char old[OVL_XATTR_MAX];
	ssize_t n = ovl_xattr_get_at(dfd, leaf, xname, old, sizeof(old));

	if (n < 0)
		return errno == ENODATA ? 0 : -1;	/* done already */
	/* Many copies: their records were written and synced together. */
	unsigned long pre = j->preseq ? j->preseq[f->order] : 0;
	if (pre) {
		ovl_fault_point(false);
		if ((ovl_xattr_remove_at(dfd, leaf, times_xattr(s)) < 0 && errno != ENODATA) ||
		    ovl_xattr_remove_at(dfd, leaf, xname) < 0)
			return -1;
		fprintf(j->f, "D %lu\n", pre);
		return 0;
	}
	if (ovl_journal_record(j, f, xname, old, (size_t)n, true, NULL, 0, false) < 0)
		return -1;
	ovl_fault_point(false);
	if (ovl_xattr_remove_at(dfd, leaf, times_xattr(s)) < 0 && errno != ENODATA)
		return -1;
	return ovl_xattr_remove_at(dfd, leaf, xname);
}

/* Everything written so far on the upper filesystem, on disk. */
static int sync_upper(const struct ovl_stack *s)
{
	int fd = s->workfd >= 0 ? openat(s->workfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
				: openat(s->layers[0].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = fd >= 0 ? syncfs(fd) : -1;

	if (fd >= 0)
		close(fd);
	return ret;
}

/* Every xattr of src (an O_PATH fd) but the lower's own overlay ones. */
static int copy_xattrs(int src, int dfd, const char *leaf, enum ovl_ns ns)
{
	char list[65536];
	unsigned char *val = malloc(65536);
	ssize_t n = ovl_xattr_list_at(src, "", list, sizeof(list));
	int ret = 0;

	if (!val)
		return -1;
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(list + i) + 1) {
		if (ovl_xattr_classify(list + i, ns, NULL) != OVL_XC_OTHER)
			continue;
		ssize_t v = ovl_xattr_get_at(src, "", list + i, val, 65536);
		if (v >= 0 && ovl_xattr_set_at(dfd, leaf, list + i, val, (size_t)v) < 0 &&
		    errno != EOPNOTSUPP && errno != EPERM)
			ret = -1;
	}
	free(val);
	return ret;
}

/* The origin, as the kernel writes it: the stored handle of the lower. */
static int set_origin(struct ovl_stack *s, int dfd, const char *leaf, const struct ovl_fix *f)
{
	return ovl_xattr_set_at(dfd, leaf, ovl_xattr_name(s->ns, OVL_XA_ORIGIN), f->val + 1,
				f->len - 1);
}

/*
 * Copy a lower-only entry up as the kernel does: a dir is made in place
 * (its parents were copied up before it); anything else is made in W/work
 * with its data, metadata, xattrs and origin, synced, and renamed into
 * place, so that no half-made entry is ever visible. The parent is marked
 * impure. Undo removes what was made.
 */
static int copyup_new(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f,
		      int dfd, const char *leaf)
{
	struct ovl_fh fh;
	struct stat lst, st;
	int src = -1, out = -1, ret = -1;
	char tmp[64];

	if (ovl_stat_at(dfd, leaf, &st) == 0)
		return 0;	/* made by an earlier run */
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
			if (journal_step(j, &nf, xn, nlv, (size_t)nn, true, nv, strlen(nv), true) < 0 ||
			    ovl_xattr_set_at(s->indexfd, hex, xn, nv, strlen(nv)) < 0)
				goto done;
		}
		/* The inode may still be a metacopy: the data comes up too. */
		if (ovl_xattr_get_at(dfd, leaf, ovl_xattr_name(s->ns, OVL_XA_METACOPY), NULL, 0) >= 0) {
			ovl_fault_point(true);
			journal_done(j);
			if (copy_data(s, f, dfd, leaf) < 0 || sync_upper(s) < 0 ||
			    copy_commit(s, j, f, dfd, leaf) < 0)
				goto done;
		}
	} else if (S_ISDIR(lst.st_mode)) {
		if (mkdirat(dfd, leaf, lst.st_mode & 07777) < 0 ||
		    fchownat(dfd, leaf, lst.st_uid, lst.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    copy_xattrs(src, dfd, leaf, s->ns) < 0 || set_origin(s, dfd, leaf, f) < 0 ||
		    utimensat(dfd, leaf, times, AT_SYMLINK_NOFOLLOW) < 0)
			goto done;
	} else {
		snprintf(tmp, sizeof(tmp), "#overlay-fsck-copyup.%d", (int)getpid());
		unlinkat(s->workworkfd, tmp, 0);	/* a cut earlier try */
		int made;
		if (S_ISREG(lst.st_mode)) {
			char p[64];
			snprintf(p, sizeof(p), "/proc/self/fd/%d", src);
			int in = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			out = openat(s->workworkfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				     O_CLOEXEC, 0600);
			made = in >= 0 && out >= 0 &&
			       ovl_copyup_data(in, out, lst.st_size, NULL) == 0 ? 0 : -1;
			if (in >= 0)
				close(in);
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
		    copy_xattrs(src, s->workworkfd, tmp, s->ns) < 0 ||
		    set_origin(s, s->workworkfd, tmp, f) < 0 ||
		    utimensat(s->workworkfd, tmp, times, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (out >= 0 && fsync(out) < 0) ||
		    renameat2(s->workworkfd, tmp, dfd, leaf, RENAME_NOREPLACE) < 0) {
			int e = errno;
			unlinkat(s->workworkfd, tmp, 0);
			errno = e;
			goto done;
		}
		if (indexed) {
			char ipath[OVL_FH_HEX_MAX + 8];
			snprintf(ipath, sizeof(ipath), "/index/%s", hex);
			struct ovl_fix lf = { .op = OVL_FIX_LINK_W, .layer = f->layer,
					      .path = f->path, .val = (unsigned char *)ipath,
					      .len = strlen(ipath) };
			if (journal_step(j, &lf, NULL, NULL, 0, false, ipath, strlen(ipath),
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
		ret = journal_step(j, &pf, xi, y, n < 0 ? 0 : (size_t)n, n >= 0, "y", 1, true);
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
	ovl_close_keep_errno(out);
	ovl_close_keep_errno(src);
	return ret;
}

static int apply_one(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f)
{
	unsigned long seq0 = j->seq;	/* records this fix writes are after it */
	int root = root_of(s, f->layer);
	const char *leaf;
	int dfd, ret = -1;
	struct stat st;
	const char *xname = f->op == OVL_FIX_SET_XATTR || f->op == OVL_FIX_RM_XATTR
			    ? ovl_xattr_name(s->ns, f->xattr) : NULL;

	if (root < 0) {
		errno = EBADF;
		return -1;
	}
	dfd = open_parent(root, f->path, &leaf);
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
		ret = copy_data(s, f, dfd, leaf);
		break;
	case OVL_FIX_SYMLINK:
	case OVL_FIX_WRITE_FILE:
	case OVL_FIX_RM_SYMLINK:
	case OVL_FIX_MKDIR:
	case OVL_FIX_RM_TREE:
		ret = ovl_store_fix_apply(j, f, dfd, leaf);
		break;
	case OVL_FIX_COPY_COMMIT:
		ret = copy_commit(s, j, f, dfd, leaf);
		break;
	case OVL_FIX_COPYUP_NEW:
		ret = copyup_new(s, j, f, dfd, leaf);
		break;
	case OVL_FIX_TRUNCATE: {
		/* Only a regular file, never through a link; the old size goes
		 * to the journal. */
		int fd = openat(dfd, leaf, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
				O_CLOEXEC);
		if (fd < 0)
			break;
		char old[32];
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			errno = EINVAL;
			break;
		}
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
		int wd = open_parent(s->workfd, (const char *)f->val, &wleaf);
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
		int wd = open_parent(s->workfd, (const char *)f->val, &wleaf);
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
			journal_done(j);
	}
	ovl_close_keep_errno(dfd);
	return ret;
}

/*
 * The records of all copy-up commits, written ahead and synced once (one
 * journal sync instead of one per file); each commit then only removes
 * its xattrs and marks its record done.
 */
static int prejournal_commits(struct ovl_stack *s, struct journal *j, struct ovl_plan *p,
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
		int dfd = open_parent(root_of(s, g->layer), g->path, &leaf);
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
	return journal_sync(j);
}

static int cmp_phase(const void *a, const void *b)
{
	const struct ovl_fix *x = a, *y = b;
	int d = phase(x->op) - phase(y->op);

	if (d)
		return d;
	/* keep the walk's order within a phase */
	return x->order < y->order ? -1 : x->order > y->order;
}

int ovl_repair_apply(struct ovl_stack *s, struct ovl_plan *p, char *journal_path,
		     size_t journal_size, bool numbered, struct ovl_report *r)
{
	struct journal j = { 0 };
	unsigned char *failed;
	unsigned char *touched;
	int ret = 0;

	if (!p->n)
		return 0;
	if (journal_open(&j, journal_path, journal_size, numbered, s) < 0) {
		fprintf(r->out, "cannot write the undo journal %s: %s: no changes made\n",
			journal_path, strerror(errno));
		r->operational = true;
		return -1;
	}
	qsort(p->fixes, p->n, sizeof(*p->fixes), cmp_phase);
	failed = ovl_xcalloc(r->seq + 1, 1);
	touched = ovl_xcalloc(r->seq + 1, 1);
	unsigned char *done = ovl_xcalloc(p->n + 1, 1);	/* by plan order */
	bool synced = false, progress = false;
	for (size_t i = 0; i < p->n; i++) {
		struct ovl_fix *f = &p->fixes[i];
		if (f->problem <= r->seq)
			touched[f->problem] = 1;
		if (f->problem <= r->seq && failed[f->problem])
			continue;	/* the rest of a failed fix stays undone */
		if (ovl_repair_interrupted) {
			r->cancelled = true;
			if (f->problem <= r->seq)
				failed[f->problem] = 1;
			continue;
		}
		bool copy = f->op == OVL_FIX_COPY_DATA || f->op == OVL_FIX_COPYUP_NEW ||
			    f->op == OVL_FIX_COPY_COMMIT;
		/* The copies' data reaches the disk in one go before any of
		 * their metacopy xattrs goes, and the commits in one go after. */
		if (f->op == OVL_FIX_COPY_COMMIT && !synced) {
			synced = true;
			if (sync_upper(s) < 0 || prejournal_commits(s, &j, p, i, done) < 0) {
				fprintf(r->out, "cannot sync the copied data: %s\n", strerror(errno));
				r->operational = true;
				break;
			}
		}
		if (f->op == OVL_FIX_COPY_COMMIT) {
			size_t data = 0;
			memcpy(&data, f->val, f->len < sizeof(data) ? f->len : sizeof(data));
			if (data >= p->n || !done[data])
				continue;	/* its data was not copied */
		}
		if (f->op == OVL_FIX_COPY_DATA && !progress) {
			progress = true;
			ovl_copyup_progress_start(r->progress, r->copy_planned, r->copy_bytes);
		}
		if (copy && apply_one(s, &j, f) == 0) {
			done[f->order] = 1;
			if (f->op == OVL_FIX_COPY_DATA)
				ovl_copyup_progress_file();
			/* the parents of a copied-up path are not counted */
			if (f->op == OVL_FIX_COPY_COMMIT || (f->op == OVL_FIX_COPYUP_NEW && f->xattr))
				r->copied++;
			continue;
		}
		if (copy || apply_one(s, &j, f) < 0) {
			const char *lname = f->layer == OVL_FIX_WORKDIR ? "work dir"
					    : s->layers[f->layer].name;
			fprintf(r->out, "%s:%s: cannot %s: %s\n", lname, f->path,
				op_names[f->op], strerror(errno));
			if (f->problem <= r->seq)
				failed[f->problem] = 1;
			if (errno != EROFS)
				r->operational = true;
			ret = -1;
		}
	}
	for (unsigned long i = 0; i <= r->seq; i++)
		if (touched[i] && !failed[i]) {
			r->fixed++;
			if (r->applied)
				r->applied(r->applied_arg, i);
		}
	if (synced)
		sync_upper(s);
	if (progress)
		ovl_copyup_progress_end();
	free(j.preseq);
	free(done);
	free(failed);
	free(touched);
	fclose(j.f);
	return ret;
}

/* ---- undo ---- */

/* " -" absent, " x<hex>" present. */
static bool get_hex(char **cur, unsigned char **out, size_t *len, bool *present)
{
	char *tok = strsep(cur, " ");

	*out = NULL;
	*len = 0;
	*present = false;
	if (!tok)
		return false;
	if (!strcmp(tok, "-"))
		return true;
	if (tok[0] != 'x')
		return false;
	size_t hl = strlen(tok + 1);
	*out = ovl_xmalloc(hl / 2 + 1);
	long n = ovl_hex_decode(tok + 1, hl, *out, hl / 2 + 1);
	if (n < 0)
		return false;
	(*out)[n] = 0;
	*len = (size_t)n;
	*present = true;
	return true;
}

static int parse_record(char *line, struct record *rec)
{
	char *cur = line + 2, *tok;
	unsigned char *path;
	size_t plen;
	bool present;

	memset(rec, 0, sizeof(*rec));
	if (!(tok = strsep(&cur, " ")))
		return -1;
	rec->seq = strtoul(tok, NULL, 10);
	if (!(tok = strsep(&cur, " ")))
		return -1;
	rec->op = (enum ovl_fix_op)-1;
	for (size_t i = 0; i < OVL_ARRAY_SIZE(op_names); i++)
		if (!strcmp(tok, op_names[i]))
			rec->op = (enum ovl_fix_op)i;
	if ((int)rec->op < 0 || !(tok = strsep(&cur, " ")))
		return -1;
	rec->layer = atoi(tok);
	if (!get_hex(&cur, &path, &plen, &present) || !present)
		return -1;
	rec->path = (char *)path;
	if (!(tok = strsep(&cur, " ")))
		return -1;
	rec->xname = strcmp(tok, "-") ? ovl_xstrdup(tok) : NULL;
	if (!get_hex(&cur, &rec->old, &rec->oldlen, &rec->has_old) ||
	    !get_hex(&cur, &rec->new, &rec->newlen, &rec->has_new))
		return -1;
	return 0;
}

static void record_free(struct record *rec)
{
	free(rec->path);
	free(rec->xname);
	free(rec->old);
	free(rec->new);
}

/*
 * Where is this change now: 1 the repair's result is there, 0 the state
 * before it is there (the change never happened), -1 something else.
 */
static int record_state(struct ovl_stack *s, const struct record *rec)
{
	const char *leaf;
	int root = root_of(s, rec->layer);
	int dfd = root >= 0 ? open_parent(root, rec->path, &leaf) : -1;
	struct stat st;
	int state = -1;

	if (dfd < 0)
		return -1;
	switch (rec->op) {
	case OVL_FIX_SET_XATTR:
	case OVL_FIX_RM_XATTR:
	case OVL_FIX_COPY_COMMIT: {	/* undone by setting metacopy back */
		unsigned char *cur = ovl_xmalloc(65536);
		ssize_t n = ovl_xattr_get_at(dfd, leaf, rec->xname, cur, 65536);
		bool now = n >= 0;
		bool is_new = now == rec->has_new &&
			      (!now || ((size_t)n == rec->newlen && !memcmp(cur, rec->new, rec->newlen)));
		bool is_old = now == rec->has_old &&
			      (!now || ((size_t)n == rec->oldlen && !memcmp(cur, rec->old, rec->oldlen)));
		state = is_new ? 1 : is_old ? 0 : -1;
		free(cur);
		break;
	}
	case OVL_FIX_SYMLINK:
	case OVL_FIX_WRITE_FILE:
	case OVL_FIX_RM_SYMLINK:
	case OVL_FIX_MKDIR:
	case OVL_FIX_RM_TREE:
		state = ovl_store_fix_state(rec, dfd, leaf);
		break;
	case OVL_FIX_MK_WHITEOUT:
		if (ovl_stat_at(dfd, leaf, &st) == 0)
			state = ovl_is_whiteout_stat(&st) ? 1 : -1;
		else
			state = errno == ENOENT ? 0 : -1;
		break;
	case OVL_FIX_RM_WHITEOUT:
		if (ovl_stat_at(dfd, leaf, &st) == 0)
			state = ovl_is_whiteout_stat(&st) ||
				(S_ISREG(st.st_mode) && st.st_size == 0 && rec->xname) ? 0 : -1;
		else
			state = errno == ENOENT ? 1 : -1;
		break;
	case OVL_FIX_COPY_DATA:		/* never journalled: it changes nothing seen */
		break;
	case OVL_FIX_COPYUP_NEW:	/* made, or not */
		state = ovl_stat_at(dfd, leaf, &st) == 0 ? 1 : errno == ENOENT ? 0 : -1;
		break;
	case OVL_FIX_TRUNCATE:
		if (ovl_stat_at(dfd, leaf, &st) == 0 && S_ISREG(st.st_mode)) {
			long long now = (long long)st.st_size;
			state = now == strtoll((const char *)rec->new, NULL, 10) ? 1 :
				now == strtoll((const char *)rec->old, NULL, 10) ? 0 : -1;
		}
		break;
	case OVL_FIX_RENAME_W: {
		const char *wleaf;
		int wd = open_parent(s->workfd, (const char *)rec->new, &wleaf);
		bool here = ovl_stat_at(dfd, leaf, &st) == 0;
		bool there = wd >= 0 && ovl_stat_at(wd, wleaf, &st) == 0;
		if (wd >= 0)
			close(wd);
		state = there && !here ? 1 : here && !there ? 0 : -1;
		break;
	}
	case OVL_FIX_LINK_W: {
		const char *wleaf;
		struct stat wst;
		int wd = open_parent(s->workfd, (const char *)rec->new, &wleaf);
		bool here = ovl_stat_at(dfd, leaf, &st) == 0;
		bool there = wd >= 0 && ovl_stat_at(wd, wleaf, &wst) == 0;
		if (wd >= 0)
			close(wd);
		state = here && there && st.st_ino == wst.st_ino ? 1 : here && !there ? 0 : -1;
		break;
	}
	case OVL_FIX_QUARANTINE:
	case OVL_FIX_QUARANTINE_WH: {
		const char *qleaf;
		int qd = open_parent(s->workfd, (const char *)rec->new, &qleaf);
		bool here = ovl_stat_at(dfd, leaf, &st) == 0;
		bool wh = here && ovl_is_whiteout_stat(&st);
		bool there = qd >= 0 && ovl_stat_at(qd, qleaf, &st) == 0;
		if (qd >= 0)
			close(qd);
		if (rec->op == OVL_FIX_QUARANTINE_WH)
			state = there && wh ? 1 : here && !wh && !there ? 0 : -1;
		else
			state = there && !here ? 1 : here && !there ? 0 : -1;
		break;
	}
	}
	close(dfd);
	return state;
}

static int record_revert(struct ovl_stack *s, const struct record *rec)
{
	const char *leaf;
	int dfd = open_parent(root_of(s, rec->layer), rec->path, &leaf);
	int ret = -1;

	if (dfd < 0)
		return -1;
	switch (rec->op) {
	case OVL_FIX_SET_XATTR:
	case OVL_FIX_RM_XATTR:
	case OVL_FIX_COPY_COMMIT:
		ret = rec->has_old ? ovl_xattr_set_at(dfd, leaf, rec->xname, rec->old, rec->oldlen)
				   : ovl_xattr_remove_at(dfd, leaf, rec->xname);
		break;
	case OVL_FIX_MK_WHITEOUT:
		ret = unlinkat(dfd, leaf, 0);
		break;
	case OVL_FIX_SYMLINK:
	case OVL_FIX_WRITE_FILE:
	case OVL_FIX_RM_SYMLINK:
	case OVL_FIX_MKDIR:
	case OVL_FIX_RM_TREE:
		ret = ovl_store_fix_revert(rec, dfd, leaf);
		break;
	case OVL_FIX_COPY_DATA:
		break;
	case OVL_FIX_COPYUP_NEW: {
		struct stat st;
		ret = ovl_stat_at(dfd, leaf, &st) < 0 ? -1 :
		      unlinkat(dfd, leaf, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
		break;
	}
	case OVL_FIX_TRUNCATE: {
		int fd = openat(dfd, leaf, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
				O_CLOEXEC);
		ret = fd < 0 ? -1 : truncate_keep_times(fd, (off_t)strtoll((const char *)rec->old,
									    NULL, 10));
		if (fd >= 0)
			close(fd);
		break;
	}
	case OVL_FIX_RENAME_W: {
		const char *wleaf;
		int wd = open_parent(s->workfd, (const char *)rec->new, &wleaf);
		ret = wd >= 0 ? renameat(wd, wleaf, dfd, leaf) : -1;
		if (wd >= 0)
			close(wd);
		break;
	}
	case OVL_FIX_LINK_W: {
		const char *wleaf;
		int wd = open_parent(s->workfd, (const char *)rec->new, &wleaf);
		ret = wd >= 0 ? unlinkat(wd, wleaf, 0) : -1;
		if (wd >= 0)
			close(wd);
		break;
	}
	case OVL_FIX_RM_WHITEOUT: {
		unsigned mode = 0, uid = 0, gid = 0;
		char kind = 'c';
		if (rec->has_old)
			sscanf((const char *)rec->old, "%c %o %u %u", &kind, &mode, &uid, &gid);
		if (kind == 'f') {
			int fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
					O_CLOEXEC, mode & 07777);
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
		break;
	}
	case OVL_FIX_QUARANTINE:
	case OVL_FIX_QUARANTINE_WH: {
		const char *qleaf;
		int qd = open_parent(s->workfd, (const char *)rec->new, &qleaf);
		if (rec->op == OVL_FIX_QUARANTINE_WH && unlinkat(dfd, leaf, 0) < 0) {
			if (qd >= 0)
				close(qd);
			break;
		}
		ret = qd >= 0 ? renameat(qd, qleaf, dfd, leaf) : -1;
		if (qd >= 0)
			close(qd);
		break;
	}
	}
	close(dfd);
	return ret;
}

int ovl_repair_undo(struct ovl_stack *s, const char *journal_path, char *err, size_t errlen)
{
	FILE *f = fopen(journal_path, "re");
	struct record *recs = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;
	int ret = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", journal_path, strerror(errno));
		return 8;
	}
	if ((len = getline(&line, &linecap, f)) < 0 ||
	    strcmp(line, "overlay-fsck-journal 1\n") != 0) {
		snprintf(err, errlen, "%s: not an overlay-fsck journal", journal_path);
		ret = 8;
		goto out;
	}
	while ((len = getline(&line, &linecap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (line[0] == 'L') {
			int layer;
			unsigned long long dev, ino;
			struct stat st;
			if (sscanf(line, "L %d %llu %llu", &layer, &dev, &ino) != 3)
				continue;
			int root = root_of(s, layer);
			if (root < 0 || fstat(root, &st) < 0 || st.st_dev != dev || st.st_ino != ino) {
				snprintf(err, errlen, "%s: written for another stack (layer %d differs)",
					 journal_path, layer);
				ret = 8;
				goto out;
			}
		} else if (line[0] == 'R') {
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				recs = ovl_xrealloc(recs, cap * sizeof(*recs));
			}
			if (parse_record(line, &recs[n]) < 0) {
				record_free(&recs[n]);
				snprintf(err, errlen, "%s: damaged record", journal_path);
				ret = 8;
				goto out;
			}
			n++;
		} else if (line[0] == 'D') {
			unsigned long seq = strtoul(line + 2, NULL, 10);
			for (size_t i = 0; i < n; i++)
				if (recs[i].seq == seq)
					recs[i].done = true;
		}
	}
	/* Check everything before touching anything. */
	for (size_t i = n; i-- > 0;) {
		int st = record_state(s, &recs[i]);
		if (st < 0 || (st == 0 && recs[i].done)) {
			snprintf(err, errlen, "the layers changed since the repair (%s %s): "
				 "nothing rolled back", op_names[recs[i].op], recs[i].path);
			ret = 4;
			goto out;
		}
		recs[i].done = st == 1;
	}
	for (size_t i = n; i-- > 0;) {
		if (recs[i].done && record_revert(s, &recs[i]) < 0) {
			snprintf(err, errlen, "cannot roll back %s %s: %s", op_names[recs[i].op],
				 recs[i].path, strerror(errno));
			ret = 8;
			goto out;
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		record_free(&recs[i]);
	free(recs);
	free(line);
	fclose(f);
	return ret;
}
