/*
 * One layer's content against its tar-split record (overlay/content.h).
 * CRC64-ISO from ISA-L (crc64_iso_refl: Go's crc64.ISO, init and final
 * inversion included), sha256 from nettle.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <isa-l/crc64.h>
#include <nettle/sha2.h>

#include "overlay/content.h"
#include "overlay/lookup.h"
#include "overlay/tarhdr.h"
#include "overlay/tarsplit.h"
#include "overlay/util.h"
#include "core/strset.h"

#define READ_SIZE (256 * 1024)
#define WALK_DEPTH_MAX 512

struct verify {
	const struct ovl_content_in *in;
	struct ovl_content_result *out;
	struct sha256_ctx sha;
	unsigned char *buf;
	struct ovl_strset *names;	/* every path the record accounts for */
	char *dir;			/* the parent dir last opened ... */
	int dirfd;			/* ... as O_PATH */
	int dir_errno;			/* ... or why it could not be */
};

static void finding(struct verify *v, enum ovl_problem_code code, const char *path,
		    size_t pathlen, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void finding(struct verify *v, enum ovl_problem_code code, const char *path,
		    size_t pathlen, const char *fmt, ...)
{
	struct ovl_content_result *o = v->out;
	char detail[1024];
	va_list ap;

	if (o->n >= OVL_CONTENT_FINDINGS_MAX) {
		o->more++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	o->f = ovl_xrealloc(o->f, (o->n + 1) * sizeof(*o->f));
	char *p = ovl_xmalloc(pathlen + 2);
	p[0] = '/';
	memcpy(p + 1, path, pathlen);
	p[pathlen + 1] = '\0';
	o->f[o->n].code = code;
	o->f[o->n].path = p;
	o->f[o->n].detail = ovl_xstrdup(detail);
	o->n++;
}

/* Bytes of the rebuilt tar. */
static void emit(struct verify *v, const void *b, size_t len)
{
	if (!len)
		return;	/* an empty segment has no payload at all */
	sha256_update(&v->sha, len, b);
	v->out->bytes += len;
	if (v->in->progress)
		__atomic_fetch_add(v->in->progress, len, __ATOMIC_RELAXED);
}

/* A member's data that cannot be read still takes its place in the tar
 * (the digest then tells the rebuilt layer is not the recorded one). */
static void emit_zeros(struct verify *v, long long n)
{
	memset(v->buf, 0, READ_SIZE);
	while (n > 0) {
		size_t k = n > READ_SIZE ? READ_SIZE : (size_t)n;
		emit(v, v->buf, k);
		n -= (long long)k;
	}
}

/*
 * A member's name as a path in the layer dir, the way the engines unpack
 * it: leading '/' and "./" dropped, "." components dropped, a trailing
 * '/' dropped. -1 for a name with ".." or a NUL (an engine refuses it).
 */
static long clean_name(const char *name, size_t len, char *out)
{
	size_t o = 0, i = 0;

	while (i < len) {
		while (i < len && name[i] == '/')
			i++;
		size_t s = i;
		while (i < len && name[i] != '/')
			i++;
		size_t n = i - s;
		if (!n || (n == 1 && name[s] == '.'))
			continue;
		if ((n == 2 && name[s] == '.' && name[s + 1] == '.') || memchr(name + s, '\0', n))
			return -1;
		if (o)
			out[o++] = '/';
		memcpy(out + o, name + s, n);
		o += n;
	}
	out[o] = '\0';
	return (long)o;
}

/* Remember a path and each dir above it (the engines make missing parents). */
static void remember(struct verify *v, const char *path, size_t len)
{
	if (!len)
		return;
	ovl_strset_add(v->names, path, len);
	for (size_t i = len; i-- > 0;)
		if (path[i] == '/')
			ovl_strset_add(v->names, path, i);
}

/* The O_PATH fd of the dir part of path (cached: tars list a dir's
 * members together); -1 with errno. */
static int parent_fd(struct verify *v, const char *path, size_t len, const char **base)
{
	const char *slash = memrchr(path, '/', len);
	size_t dlen = slash ? (size_t)(slash - path) : 0;

	*base = slash ? slash + 1 : path;
	if (v->dir && strlen(v->dir) == dlen && !memcmp(v->dir, path, dlen)) {
		errno = v->dir_errno;
		return v->dirfd;
	}
	if (v->dirfd >= 0)
		close(v->dirfd);
	free(v->dir);
	v->dir = ovl_xstrndup(path, dlen);
	v->dirfd = ovl_open_beneath(v->in->difffd, path, dlen, O_PATH | O_DIRECTORY);
	v->dir_errno = v->dirfd < 0 ? errno : 0;
	errno = v->dir_errno;
	return v->dirfd;
}

static const char *type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a dir";
	case S_IFLNK:
		return "a symlink";
	case S_IFCHR:
		return "a char device";
	case S_IFBLK:
		return "a block device";
	case S_IFIFO:
		return "a fifo";
	case S_IFSOCK:
		return "a socket";
	}
	return "of an unknown type";
}

/* What the record says the member is on disk. */
static mode_t member_type(char type)
{
	switch (type) {
	case '2':
		return S_IFLNK;
	case '3':
		return S_IFCHR;
	case '4':
		return S_IFBLK;
	case '5':
		return S_IFDIR;
	case '6':
		return S_IFIFO;
	}
	return S_IFREG;	/* '0', '7', and what Go's reader treats as a file */
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

/* lstat of the member's path; 0, or -1 with errno. */
static int stat_path(struct verify *v, const char *path, size_t len, struct stat *st,
		     int *dfd, const char **base)
{
	if (!len) {
		*dfd = -1;
		*base = "";
		return fstat(v->in->difffd, st);
	}
	*dfd = parent_fd(v, path, len, base);
	if (*dfd < 0)
		return -1;
	return fstatat(*dfd, *base, st, AT_SYMLINK_NOFOLLOW);
}

/* Why a path is not there, for the detail. */
static const char *absent_why(int err)
{
	switch (err) {
	case ENOENT:
		return "not in the layer dir";
	case ENOTDIR:
		return "a dir on its path is not a dir";
	case ELOOP:
		return "a symlink on its path (not followed)";
	}
	return NULL;
}

/* The data of a regular member: CRC64 against the record, into the tar. */
static void check_data(struct verify *v, const char *path, size_t len, int dfd,
		       const char *base, const struct stat *st, const struct ovl_ts_entry *e)
{
	long long want = e->size, done = 0;
	uint64_t crc = 0;
	struct stat fst;
	char self[64];
	int fd = -1;
	/* An O_PATH fd first, checked, then reopened through its own magic
	 * link: a device or fifo swapped in after the lstat is never opened. */
	int pfd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (pfd >= 0 && fstat(pfd, &fst) == 0 && S_ISREG(fst.st_mode) &&
	    fst.st_ino == st->st_ino && fst.st_dev == st->st_dev) {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
		fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	} else if (pfd >= 0) {
		errno = ESTALE;	/* replaced since the lstat */
	}
	ovl_close_keep_errno(pfd);
	if (fd < 0) {
		finding(v, PR_CT_DATA, path, len, "cannot be read: %s",
			errno == ESTALE ? "replaced while read" : strerror(errno));
		emit_zeros(v, want);
		return;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (done < want) {
		size_t k = want - done > READ_SIZE ? READ_SIZE : (size_t)(want - done);
		ssize_t n = read(fd, v->buf, k);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			finding(v, PR_CT_DATA, path, len, "cannot be read at byte %lld: %s", done,
				strerror(errno));
			break;
		}
		if (n == 0)
			break;	/* shorter than recorded: the size finding says it */
		crc = crc64_iso_refl(crc, v->buf, (uint64_t)n);
		emit(v, v->buf, (size_t)n);
		done += n;
		if (v->in->stop && *v->in->stop)
			break;
	}
	close(fd);
	if (done < want) {
		emit_zeros(v, want - done);
		return;
	}
	if (e->has_crc && crc != e->crc && st->st_size == want)
		finding(v, PR_CT_DATA, path, len, "CRC64 %016llx, recorded %016llx",
			(unsigned long long)crc, (unsigned long long)e->crc);
}

/* A ".wh." member: as the overlay drivers unpack it. */
static void check_whiteout(struct verify *v, const char *path, size_t len, size_t baseoff)
{
	const char *b = path + baseoff;

	if (!strcmp(b, ".wh..wh..opq")) {
		/* the dir is marked opaque instead (trusted., or user. rootless) */
		size_t dlen = baseoff ? baseoff - 1 : 0;
		char val[8];
		int fd = ovl_open_beneath(v->in->difffd, path, dlen, O_RDONLY | O_DIRECTORY);
		ssize_t n = -1;
		if (fd >= 0) {
			n = fgetxattr(fd, "trusted.overlay.opaque", val, sizeof(val));
			if (n < 0)
				n = fgetxattr(fd, "user.overlay.opaque", val, sizeof(val));
			close(fd);
		}
		if (n != 1 || val[0] != 'y')
			finding(v, PR_CT_MISSING, path, dlen,
				"the dir is not marked opaque (overlay.opaque=y), recorded "
				".wh..wh..opq");
		return;
	}
	if (!strncmp(b, ".wh..wh.", 8))
		return;	/* aufs bookkeeping the drivers skip */

	/* ".wh.NAME" -> a whiteout named NAME */
	char *target = ovl_xmalloc(len + 1);
	memcpy(target, path, baseoff);
	memcpy(target + baseoff, b + 4, len - baseoff - 4);
	size_t tlen = len - 4;
	target[tlen] = '\0';
	remember(v, target, tlen);

	struct stat st;
	int dfd;
	const char *base;
	if (stat_path(v, target, tlen, &st, &dfd, &base) < 0) {
		const char *why = absent_why(errno);
		finding(v, why ? PR_CT_MISSING : PR_CT_DATA, target, tlen, "%s%s: a whiteout",
			why ? why : "cannot be read: ", why ? "" : strerror(errno));
	} else if (!is_whiteout(&st)) {
		finding(v, PR_CT_TYPE, target, tlen, "%s, recorded a whiteout (char device 0/0)",
			S_ISCHR(st.st_mode) ? "a char device other than 0/0" : type_name(st.st_mode));
	}
	free(target);
}

/* A hard link member: the same inode as its target. */
static void check_hardlink(struct verify *v, const char *path, size_t len,
			   const struct stat *st, const struct ovl_tar_member *m)
{
	char *t = ovl_xmalloc(m->linklen + 1);
	long tlen = clean_name(m->linkname, m->linklen, t);
	struct stat ts;
	int dfd;
	const char *base;

	if (tlen < 0 || stat_path(v, t, (size_t)tlen, &ts, &dfd, &base) < 0 ||
	    ts.st_ino != st->st_ino || ts.st_dev != st->st_dev)
		finding(v, PR_CT_LINK, path, len, "not a hard link of /%s as recorded",
			tlen < 0 ? "(a name out of the layer)" : t);
	free(t);
}

static void check_member(struct verify *v, const struct ovl_ts_entry *e,
			 const struct ovl_tar_member *m)
{
	char *path = ovl_xmalloc(e->namelen + 1);
	long plen = clean_name(e->name, e->namelen, path);
	size_t len;
	long long data = ovl_tar_data_size(m);

	v->out->members++;
	if (m->type == 'g') {
		free(path);	/* a PAX global header: nothing on disk */
		return;
	}
	if (plen < 0) {
		finding(v, PR_CT_RECORD_BAD, "", 0, "a member named out of the layer dir");
		emit_zeros(v, data);
		free(path);
		return;
	}
	len = (size_t)plen;
	const char *slash = memrchr(path, '/', len);
	size_t baseoff = slash ? (size_t)(slash - path) + 1 : 0;
	if (len && !strncmp(path + baseoff, ".wh.", 4)) {
		check_whiteout(v, path, len, baseoff);
		emit_zeros(v, data);	/* whiteouts hold no data (0 bytes) */
		free(path);
		return;
	}
	remember(v, path, len);

	struct stat st;
	int dfd;
	const char *base;
	mode_t want = member_type(m->type);
	if (stat_path(v, path, len, &st, &dfd, &base) < 0) {
		const char *why = absent_why(errno);
		if (why && want == S_IFREG && m->type != '1')
			finding(v, PR_CT_MISSING, path, len, "%s (recorded a regular file of %lld "
				"bytes)", why, m->size);
		else if (why)
			finding(v, PR_CT_MISSING, path, len, "%s (recorded %s)", why,
				m->type == '1' ? "a hard link" : type_name(want));
		else
			finding(v, PR_CT_DATA, path, len, "cannot be read: %s", strerror(errno));
		emit_zeros(v, data);
		free(path);
		return;
	}
	if (m->type == '1') {
		check_hardlink(v, path, len, &st, m);
		emit_zeros(v, data);
		free(path);
		return;
	}
	if ((st.st_mode & S_IFMT) != want) {
		finding(v, PR_CT_TYPE, path, len, "%s, recorded %s", type_name(st.st_mode),
			type_name(want));
		emit_zeros(v, data);
		free(path);
		return;
	}
	/* The layer dir itself is the engine's (containers-storage makes it
	 * 0555 whatever "./" says): its type only. */
	if (!len) {
		free(path);
		return;
	}
	/* a symlink's mode is always 0777 on Linux: not unpacked, not compared */
	if (!S_ISLNK(st.st_mode) && (st.st_mode & 07777) != m->mode)
		finding(v, PR_CT_MODE, path, len, "mode %04o, recorded %04o", st.st_mode & 07777,
			m->mode);
	if (!v->in->skip_owner && (st.st_uid != m->uid || st.st_gid != m->gid))
		finding(v, PR_CT_OWNER, path, len, "owner %u:%u, recorded %llu:%llu", st.st_uid,
			st.st_gid, m->uid, m->gid);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		if (major(st.st_rdev) != m->devmajor || minor(st.st_rdev) != m->devminor)
			finding(v, PR_CT_TYPE, path, len, "device %u:%u, recorded %llu:%llu",
				major(st.st_rdev), minor(st.st_rdev), m->devmajor, m->devminor);
	} else if (S_ISLNK(st.st_mode)) {
		char target[4097];
		ssize_t n = readlinkat(dfd, base, target, sizeof(target) - 1);
		if (n < 0 || (size_t)n != m->linklen || memcmp(target, m->linkname, m->linklen)) {
			char now[600], rec[600];
			ovl_escape(n < 0 ? "" : target, n < 0 ? 0 : (size_t)n, now, sizeof(now));
			ovl_escape(m->linkname, m->linklen, rec, sizeof(rec));
			finding(v, PR_CT_LINK, path, len, "symlink to \"%s\", recorded \"%s\"", now,
				rec);
		}
	} else if (S_ISREG(st.st_mode)) {
		if (st.st_size != m->size)
			finding(v, PR_CT_SIZE, path, len, "%lld bytes, recorded %lld",
				(long long)st.st_size, m->size);
		check_data(v, path, len, dfd, base, &st, e);
		free(path);
		return;
	}
	emit_zeros(v, data);
	free(path);
}

/* What the layer dir holds that the record does not: not descended into. */
static void walk_extra(struct verify *v, int dirfd, char *path, size_t len, dev_t dev, int depth)
{
	size_t n = 0;
	char **names = ovl_dir_names(dirfd, "", &n);

	for (size_t i = 0; names && i < n; i++) {
		size_t nl = strlen(names[i]);
		char *p = ovl_xmalloc(len + nl + 2);
		size_t plen = 0;
		struct stat st;

		if (len) {
			memcpy(p, path, len);
			p[len] = '/';
			plen = len + 1;
		}
		memcpy(p + plen, names[i], nl + 1);
		plen += nl;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			free(p);
			continue;
		}
		if (!ovl_strset_has(v->names, p, plen)) {
			finding(v, PR_CT_EXTRA, p, plen, "%s",
				is_whiteout(&st) ? "a whiteout" : type_name(st.st_mode));
		} else if (S_ISDIR(st.st_mode) && st.st_dev == dev && depth < WALK_DEPTH_MAX) {
			int sub = ovl_open_dir_at(dirfd, names[i]);
			if (sub >= 0) {
				walk_extra(v, sub, p, plen, dev, depth + 1);
				close(sub);
			}
		}
		free(p);
	}
	ovl_dir_names_free(names);
}

void ovl_content_verify(const struct ovl_content_in *in, struct ovl_content_result *out)
{
	struct verify v = { .in = in, .out = out, .dirfd = -1 };
	struct ovl_ts_reader *r = ovl_ts_open_fd(in->recordfd);
	struct ovl_tarhdr *th = ovl_tarhdr_new();
	struct ovl_ts_entry e;
	char why[256];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!r) {
		finding(&v, PR_CT_RECORD_BAD, "", 0, "out of memory for the reader");
		ovl_tarhdr_free(th);
		return;
	}
	v.buf = ovl_xmalloc(READ_SIZE);
	v.names = ovl_strset_new();
	sha256_init(&v.sha);
	while ((rc = ovl_ts_next(r, &e, why, sizeof(why))) == 1) {
		if (in->stop && *in->stop) {
			out->stopped = true;
			break;
		}
		if (e.type == OVL_TS_SEGMENT) {
			emit(&v, e.payload, e.len);
			if (ovl_tarhdr_feed(th, e.payload, e.len, why, sizeof(why)) < 0) {
				rc = -1;
				break;
			}
			continue;
		}
		const struct ovl_tar_member *m = ovl_tarhdr_member(th, why, sizeof(why));
		if (!m) {
			rc = -1;
			break;
		}
		if (e.size != m->size || e.namelen != m->namelen ||
		    memcmp(e.name, m->name, e.namelen)) {
			snprintf(why, sizeof(why), "file entry %llu does not match its tar header",
				 out->members + 1);
			rc = -1;
			break;
		}
		check_member(&v, &e, m);
	}
	if (rc == 0 && !out->stopped && !ovl_tarhdr_complete(th)) {
		snprintf(why, sizeof(why), "the record ends inside the tar");
		rc = -1;
	}
	if (rc < 0) {
		finding(&v, PR_CT_RECORD_BAD, "", 0, "%s (after %llu members, %llu bytes)", why,
			out->members, out->bytes);
	} else if (!out->stopped) {
		unsigned char d[SHA256_DIGEST_SIZE];
		struct stat st;

		out->record_read = true;
		sha256_digest(&v.sha, sizeof(d), d);
		ovl_hex_encode(d, sizeof(d), out->sha256);
		if (fstat(in->difffd, &st) == 0) {
			char root[1] = "";
			walk_extra(&v, in->difffd, root, 0, st.st_dev, 0);
		}
		if (in->digest) {
			out->digest_checked = true;
			out->digest_match = !strcmp(out->sha256, in->digest);
			char sizes[64] = "";
			if (in->size >= 0)
				snprintf(sizes, sizeof(sizes), ", recorded %lld", in->size);
			if (!out->digest_match)
				finding(&v, PR_CT_DIGEST, "", 0,
					"sha256:%s, recorded sha256:%s (%llu bytes rebuilt%s)",
					out->sha256, in->digest, out->bytes, sizes);
		}
	}
	if (v.dirfd >= 0)
		close(v.dirfd);
	free(v.dir);
	free(v.buf);
	ovl_strset_free(v.names);
	ovl_tarhdr_free(th);
	ovl_ts_close(r);
}

void ovl_content_result_free(struct ovl_content_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->f[i].path);
		free(r->f[i].detail);
	}
	free(r->f);
	memset(r, 0, sizeof(*r));
}
