/*
 * W/index (index=on): every entry is named by the hex of the origin handle
 * of a lower inode. Non-dirs are the upper inode of a hard-linked lower
 * file, linked to its upper aliases; dirs (nfs_export) point back at their
 * upper dir. The kernel refuses the mount for badly named or origin-less
 * entries and deletes stale and orphan entries at mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/fh.h"
#include "overlay/lookup.h"
#include "overlay/nlink.h"
#include "overlay/util.h"
#include "internal.h"

/* Decode fh on the filesystems of layers [first, last]: -1 gone, else 0 with st. */
static int resolve(struct ovl_ctx *c, const struct ovl_fh *fh, int first, int last,
		   struct stat *st)
{
	int fd = ovl_ctx_open_handle(c, fh, first, last, st);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static void check_dir_entry(struct ovl_ctx *c, int fd, const char *name,
			    const struct ovl_xattrs *xa, const char *path)
{
	struct ovl_fh up;
	struct stat st;

	if (!ovl_xattrs_has(xa, OVL_XA_UPPER)) {
		ovl_report_at(c, "index", path, ovl_dir_is_empty(fd, name) ? PR_IX_EMPTY_DIR
									: PR_IX_DIR_NO_UPPER, NULL);
		return;
	}
	if (!xa->val[OVL_XA_UPPER] ||
	    ovl_fh_parse(xa->val[OVL_XA_UPPER], xa->len[OVL_XA_UPPER], &up) != OVL_FH_OK) {
		ovl_report_at(c, "index", path, PR_IX_DIR_NO_UPPER, "upper handle unparseable");
		return;
	}
	if (c->s->has_upper && resolve(c, &up, 0, 0, &st) < 0)
		ovl_report_at(c, "index", path, PR_IX_DIR_UPPER_STALE, NULL);
}

/* Move W/index/NAME into the quarantine: the kernel would refuse or
 * delete it, and it may hold the only copy of some data. */
static void quarantine(struct ovl_ctx *c, const char *path, enum ovl_problem_code code,
		       const char *detail)
{
	char wpath[OVL_FH_HEX_MAX + 512];

	if (ovl_report_fix_at(c, "index", path, code, detail)) {
		snprintf(wpath, sizeof(wpath), "/index%s", path);
		ovl_plan_at(c, OVL_FIX_QUARANTINE, OVL_FIX_WORKDIR, wpath, strlen(wpath), 0,
			    NULL, 0);
	}
}

/* Write the handle the entry is named after as its origin. */
static void rewrite_origin(struct ovl_ctx *c, const char *path, const struct ovl_fh *name_fh,
			   enum ovl_problem_code code)
{
	unsigned char buf[OVL_FH_MAX_LEN];
	char wpath[OVL_FH_HEX_MAX + 512];
	size_t len = ovl_fh_encode(name_fh, buf, sizeof(buf));

	if (ovl_report_fix_at(c, "index", path, code, NULL) && len) {
		snprintf(wpath, sizeof(wpath), "/index%s", path);
		ovl_plan_at(c, OVL_FIX_SET_XATTR, OVL_FIX_WORKDIR, wpath, strlen(wpath),
			    OVL_XA_ORIGIN, buf, len);
	}
}

static void check_file_entry(struct ovl_ctx *c, const struct ovl_fh *name_fh,
			     const struct stat *st, const struct ovl_xattrs *xa,
			     const char *path)
{
	struct ovl_fh origin;
	struct stat lst;
	char detail[64];

	if (!ovl_xattrs_has(xa, OVL_XA_ORIGIN)) {
		rewrite_origin(c, path, name_fh, PR_IX_NO_ORIGIN);
		return;
	}
	if (!xa->val[OVL_XA_ORIGIN] ||
	    ovl_fh_parse(xa->val[OVL_XA_ORIGIN], xa->len[OVL_XA_ORIGIN], &origin) != OVL_FH_OK ||
	    origin.len != name_fh->len || !ovl_fh_same_fid(&origin, name_fh) ||
	    memcmp(origin.uuid, name_fh->uuid, 16) != 0) {
		rewrite_origin(c, path, name_fh, PR_IX_ORIGIN_MISMATCH);
		return;
	}
	/* The kernel decodes the origin first: a gone lower makes the entry
	 * stale, deleted at mount once no upper alias is left. */
	bool lower_alive = resolve(c, name_fh, 1, c->s->nlayers - 1, &lst) == 0;
	if (!lower_alive) {
		if (st->st_nlink <= 1) {
			quarantine(c, path, PR_IX_STALE, "no upper alias left: deleted at mount");
			return;
		}
		ovl_report_at(c, "index", path, PR_IX_STALE, NULL);
	} else if (st->st_nlink <= 1) {
		quarantine(c, path, PR_IX_ORPHAN, NULL);
		return;
	}

	struct ovl_nlink nl;
	const char *v = (const char *)xa->val[OVL_XA_NLINK];
	if (!ovl_xattrs_has(xa, OVL_XA_NLINK) || !v ||
	    ovl_nlink_parse(v, xa->len[OVL_XA_NLINK], &nl) < 0) {
		ovl_report_at(c, "index", path, PR_IX_NLINK_BAD, v ? v : "missing");
		return;
	}
	long lower_nlink = lower_alive ? (long)lst.st_nlink : 0;
	long value = ovl_nlink_apply(&nl, (long)st->st_nlink, lower_nlink);
	long aliases = (long)st->st_nlink - 1;
	if (value <= 0) {
		ovl_report_at(c, "index", path, PR_IX_NLINK_BAD, v);
		return;
	}
	/* Visible links: every upper alias, plus lower links not copied up. */
	if (value < aliases || value > aliases + lower_nlink) {
		snprintf(detail, sizeof(detail), "%s gives %ld, %ld upper alias%s",
			 v, value, aliases, aliases == 1 ? "" : "es");
		ovl_report_at(c, "index", path, PR_IX_NLINK_WRONG, detail);
	}
}

void ovl_check_index(struct ovl_ctx *c)
{
	size_t n = 0;
	char **names = ovl_dir_names(c->s->indexfd, "", &n);

	if (!names) {
		ovl_report_at(c, "index", "/", PR_LY_UNREADABLE, strerror(errno));
		return;
	}
	int dfd = c->s->indexfd;
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];
		size_t plen = strlen(name) + 2;
		char *path = ovl_xmalloc(plen);
		struct stat st;
		struct ovl_fh fh;
		struct ovl_xattrs xa;

		snprintf(path, plen, "/%s", name);
		c->stats->index_entries++;
		if (ovl_stat_at(dfd, name, &st) < 0) {
			ovl_report_at(c, "index", path, PR_LY_UNREADABLE, strerror(errno));
			goto next;
		}
		/* The kernel's shared whiteout keeps links named #N here. */
		if (ovl_is_whiteout_stat(&st) && name[0] == '#')
			goto next;
		if (ovl_fh_from_hex(name, &fh) != OVL_FH_OK) {
			quarantine(c, path, PR_IX_BAD_NAME, NULL);
			goto next;
		}
		if (ovl_is_whiteout_stat(&st))
			goto next;	/* nfs_export: a removed dir's entry */
		if (ovl_xattrs_read(dfd, name, c->s->ns, &xa) < 0) {
			ovl_report_at(c, "index", path, PR_LY_XATTR_UNREADABLE, strerror(errno));
			goto next;
		}
		if (S_ISDIR(st.st_mode))
			check_dir_entry(c, dfd, name, &xa, path);
		else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
			check_file_entry(c, &fh, &st, &xa, path);
		else
			quarantine(c, path, PR_IX_UNKNOWN, NULL);
		ovl_xattrs_free(&xa);
next:
		free(path);
	}
	ovl_dir_names_free(names);
}

/*
 * An upper hard link of a lower file (nlink > 1, with origin) needs its
 * index entry once index=on, or the kernel treats the links as unrelated.
 */
void ovl_check_upper_hardlink(struct ovl_ctx *c, struct ovl_node *n,
			      const struct ovl_lookup_res *res)
{
	const char *val = ovl_node_xattr(n, OVL_XA_ORIGIN);
	struct ovl_fh fh;
	char hex[OVL_FH_HEX_MAX];
	struct stat st;

	if (!val || !c->s->index || c->s->indexfd < 0 || S_ISDIR(n->st.st_mode))
		return;
	/* Indexed: linked to its index entry, or carrying the nlink the
	 * kernel writes only on indexed copies, or copied from a lower
	 * inode that has several links. */
	bool lower_linked = res->first == OVL_HIT_FILE && res->first_fh_ok &&
			    res->first_st.st_nlink > 1 && val &&
			    ovl_fh_parse(val, n->xa.len[OVL_XA_ORIGIN], &fh) == OVL_FH_OK &&
			    ovl_fh_same_fid(&fh, &res->first_fh);
	if (n->st.st_nlink < 2 && !ovl_xattrs_has(&n->xa, OVL_XA_NLINK) && !lower_linked)
		return;
	if (ovl_fh_parse(val, n->xa.len[OVL_XA_ORIGIN], &fh) != OVL_FH_OK)
		return;
	ovl_fh_to_hex(&fh, hex);
	if (ovl_stat_at(c->s->indexfd, hex, &st) < 0 && errno == ENOENT)
		ovl_report_here(c, PR_IX_MISSING, NULL);
}
