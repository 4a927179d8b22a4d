/*
 * One entry copied whole (for undo of a removal, and for the commands
 * that copy), and the record of an entry a change removes.
 *
 * The record is one text line, its numbers in decimal, bytes in hex:
 *   TYPE MODE UID GID SIZE RDEV MTIME.S MTIME.NS ATIME.S ATIME.NS
 *   PMTIME.S PMTIME.NS PATIME.S PATIME.NS SRCLAYER SRCPATH [NAME=VALUE...]
 * TYPE one of f d l c b p s, MODE octal, P* the times of its dir, the
 * overlay xattrs of the entry last.
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
#include "overlay/util.h"
#include "overlay/xattr.h"
#include "overlay/xattr_copy.h"
#include "internal.h"

int ovl_layers_put_times(int dirfd, const struct timespec times[2])
{
	return utimensat(dirfd, "", times, AT_EMPTY_PATH) == 0 ? 0
	       : futimens(dirfd, times);
}

/* Regular file data: the source opened only if it is still that inode. */
static int copy_data(int sdir, const char *sname, const struct stat *sst, int ddir,
		     const char *dname)
{
	struct stat now;
	int in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int out = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int ret = -1;

	if (in < 0 || out < 0 || fstat(in, &now) < 0)
		goto out;
	if (!S_ISREG(now.st_mode) || now.st_ino != sst->st_ino || now.st_dev != sst->st_dev) {
		errno = ESTALE;
		goto out;
	}
	ret = ovl_copyup_data(in, out, sst->st_size, NULL) == 0 && fsync(out) == 0 ? 0 : -1;
out:
	ovl_close_keep_errno(in);
	ovl_close_keep_errno(out);
	return ret;
}

int ovl_layers_copy_entry(int sdir, const char *sname, const struct stat *sst, int ddir,
			  const char *dname, enum ovl_ns ns, bool with_data)
{
	mode_t type = sst->st_mode & S_IFMT;
	int made;

	switch (type) {
	case S_IFDIR:
		made = mkdirat(ddir, dname, 0700);
		break;
	case S_IFREG:
		if (with_data) {
			made = copy_data(sdir, sname, sst, ddir, dname);
		} else {
			int fd = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
					O_CLOEXEC, 0600);
			made = fd >= 0 && ftruncate(fd, sst->st_size) == 0 ? 0 : -1;
			ovl_close_keep_errno(fd);
		}
		break;
	case S_IFLNK: {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sdir, sname, target, sizeof(target) - 1);
		if (n >= 0)
			target[n] = '\0';
		made = n >= 0 ? symlinkat(target, ddir, dname) : -1;
		break;
	}
	default:
		made = mknodat(ddir, dname, sst->st_mode & ~07777, sst->st_rdev);
		break;
	}
	if (made < 0)
		return -1;
	struct timespec times[2] = { sst->st_atim, sst->st_mtim };
	/* the owner before the mode (chown drops set-id bits) and before the
	 * xattrs (it drops a file capability) */
	if (fchownat(ddir, dname, sst->st_uid, sst->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    (type != S_IFLNK && fchmodat(ddir, dname, sst->st_mode & 07777, 0) < 0) ||
	    ovl_xattr_copy(sdir, sname, ddir, dname, ns, NULL, NULL) < 0 ||
	    utimensat(ddir, dname, times, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		unlinkat(ddir, dname, type == S_IFDIR ? AT_REMOVEDIR : 0);
		errno = e;
		return -1;
	}
	return 0;
}

/* ---- the record of a removed entry ---- */

static const char types[] = "fdlcbps";
static const mode_t type_modes[] = { S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO,
				     S_IFSOCK };

static void put_hex(FILE *f, const void *buf, size_t len)
{
	char hex[3];

	for (size_t i = 0; i < len; i++) {
		ovl_hex_encode((const unsigned char *)buf + i, 1, hex);
		fputs(hex, f);
	}
}

char *ovl_lgone_format(int dirfd, const char *name, const struct stat *st, int pfd,
		       enum ovl_ns ns, int src_layer, const char *src_path, size_t *len)
{
	char *buf = NULL, list[65536];
	struct stat pst;
	FILE *f = open_memstream(&buf, len);
	char t = 'f';

	if (!f)
		return NULL;
	for (size_t i = 0; i < sizeof(type_modes) / sizeof(type_modes[0]); i++)
		if ((st->st_mode & S_IFMT) == type_modes[i])
			t = types[i];
	if (fstat(pfd, &pst) < 0)
		memset(&pst, 0, sizeof(pst));
	fprintf(f, "%c %o %u %u %lld %llu %lld %ld %lld %ld %lld %ld %lld %ld %d ", t,
		(unsigned)(st->st_mode & 07777), (unsigned)st->st_uid, (unsigned)st->st_gid,
		(long long)st->st_size, (unsigned long long)st->st_rdev,
		(long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
		(long long)st->st_atim.tv_sec, st->st_atim.tv_nsec,
		(long long)pst.st_mtim.tv_sec, pst.st_mtim.tv_nsec,
		(long long)pst.st_atim.tv_sec, pst.st_atim.tv_nsec, src_layer);
	put_hex(f, src_path, strlen(src_path));
	ssize_t n = ovl_xattr_list_at(dirfd, name, list, sizeof(list));
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(list + i) + 1) {
		unsigned char val[OVL_XATTR_MAX];
		if (ovl_xattr_copied(list + i, ns))
			continue;	/* the lower entry holds those */
		ssize_t v = ovl_xattr_get_at(dirfd, name, list + i, val, sizeof(val));
		if (v < 0)
			continue;
		fprintf(f, " %s=", list + i);
		put_hex(f, val, (size_t)v);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void ovl_lgone_free(struct ovl_lgone *g)
{
	for (size_t i = 0; i < g->nxattrs; i++) {
		free(g->xname[i]);
		free(g->xval[i]);
	}
	free(g->xname);
	free(g->xval);
	free(g->xlen);
	free(g->src_path);
	memset(g, 0, sizeof(*g));
}

static bool get_ll(char **cur, long long min, long long max, long long *out)
{
	return ovl_parse_ll(strsep(cur, " "), min, max, out);
}

/* Hex into a NUL-terminated malloc'ed copy. */
static unsigned char *get_bytes(const char *hex, size_t hl, size_t *len)
{
	unsigned char *out = ovl_xmalloc(hl / 2 + 1);
	long n = hl % 2 ? -1 : ovl_hex_decode(hex, hl, out, hl / 2 + 1);

	if (n < 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*len = (size_t)n;
	return out;
}

int ovl_lgone_parse(const unsigned char *buf, size_t len, struct ovl_lgone *g)
{
	char *copy = ovl_xstrndup((const char *)buf, len), *cur = copy, *tok;
	long long v[15];
	const char *tp;
	size_t plen;
	int ret = -1;

	memset(g, 0, sizeof(*g));
	g->src_layer = -1;
	if (strlen(copy) != len || !(tok = strsep(&cur, " ")) || strlen(tok) != 1 ||
	    !(tp = strchr(types, tok[0])) || !*tp)
		goto out;
	static const long long lim[15][2] = {
		{ 0, 07777 }, { 0, 0xffffffffLL }, { 0, 0xffffffffLL }, { 0, LLONG_MAX },
		{ 0, LLONG_MAX }, { LLONG_MIN, LLONG_MAX }, { 0, 999999999 },
		{ LLONG_MIN, LLONG_MAX }, { 0, 999999999 }, { LLONG_MIN, LLONG_MAX },
		{ 0, 999999999 }, { LLONG_MIN, LLONG_MAX }, { 0, 999999999 }, { 1, 65535 },
		{ 0, 0 },
	};
	tok = strsep(&cur, " ");	/* the mode, octal */
	char *end;
	if (!tok || !*tok)
		goto out;
	errno = 0;
	v[0] = strtoll(tok, &end, 8);
	if (*end || errno || v[0] < lim[0][0] || v[0] > lim[0][1])
		goto out;
	for (int i = 1; i < 14; i++)
		if (!get_ll(&cur, lim[i][0], lim[i][1], &v[i]))
			goto out;
	g->st.st_mode = type_modes[tp - types] | (mode_t)v[0];
	g->st.st_uid = (uid_t)v[1];
	g->st.st_gid = (gid_t)v[2];
	g->st.st_size = (off_t)v[3];
	g->st.st_rdev = (dev_t)v[4];
	g->st.st_mtim = (struct timespec){ (time_t)v[5], v[6] };
	g->st.st_atim = (struct timespec){ (time_t)v[7], v[8] };
	g->parent_times[1] = (struct timespec){ (time_t)v[9], v[10] };
	g->parent_times[0] = (struct timespec){ (time_t)v[11], v[12] };
	g->src_layer = (int)v[13];
	if (!(tok = strsep(&cur, " ")) || !(g->src_path = (char *)get_bytes(tok, strlen(tok), &plen)) ||
	    strlen(g->src_path) != plen || g->src_path[0] != '/')
		goto out;
	while (cur && (tok = strsep(&cur, " "))) {
		char *eq = strchr(tok, '=');
		size_t vl;
		if (!eq || eq == tok || eq - tok > 255)
			goto out;
		*eq = '\0';
		unsigned char *val = get_bytes(eq + 1, strlen(eq + 1), &vl);
		if (!val)
			goto out;
		g->xname = ovl_xrealloc(g->xname, (g->nxattrs + 1) * sizeof(*g->xname));
		g->xval = ovl_xrealloc(g->xval, (g->nxattrs + 1) * sizeof(*g->xval));
		g->xlen = ovl_xrealloc(g->xlen, (g->nxattrs + 1) * sizeof(*g->xlen));
		g->xname[g->nxattrs] = ovl_xstrdup(tok);
		g->xval[g->nxattrs] = val;
		g->xlen[g->nxattrs++] = vl;
	}
	ret = 0;
out:
	free(copy);
	if (ret < 0)
		ovl_lgone_free(g);
	return ret;
}
