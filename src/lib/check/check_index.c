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
#include "overlay/redirect.h"
#include "overlay/util.h"
#include "walk/links.h"
#include "core/strset.h"
#include "internal.h"

/*
 * What the upper walk remembers of hard links for the index pass: per
 * upper inode, how many upper aliases it has and how many of them stand
 * at the path of a lower alias of the same inode (covering it); per lower
 * inode, how many of its aliases an upper whiteout deletes. The merged
 * view then shows aliases + lower links - covered - whited names, the
 * count the kernel keeps in the nlink xattr. Memory follows the hard
 * links, not the tree.
 */
struct hl_entry {
	ino_t ino;
	unsigned aliases;
	unsigned covered;
	bool used;
	bool has_index;		/* an index entry is this inode */
	bool lower_linked;	/* its origin has several links: the kernel indexes it */
	char *alias;		/* path of its first upper alias */
	size_t rebased_len;	/* its origin is being re-based to this */
	unsigned char rebased[OVL_FH_MAX_LEN];
};

struct ovl_hlinks {
	struct hl_entry *v;
	size_t cap, n;
	char **whited;		/* fid keys of whited-out lower aliases */
	size_t nwhited, capwhited;
	bool sorted;
};

static struct ovl_hlinks *hlinks(struct ovl_ctx *c)
{
	if (!c->hlinks) {
		c->hlinks = ovl_xcalloc(1, sizeof(*c->hlinks));
		c->hlinks->cap = 64;
		c->hlinks->v = ovl_xcalloc(c->hlinks->cap, sizeof(*c->hlinks->v));
	}
	return c->hlinks;
}

static struct hl_entry *hl_slot(struct hl_entry *v, size_t cap, ino_t ino)
{
	for (size_t i = (size_t)(ino * 0x9e3779b97f4a7c15ULL) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!v[i].used || v[i].ino == ino)
			return &v[i];
}

static struct hl_entry *hl_get(struct ovl_ctx *c, ino_t ino, bool create)
{
	struct ovl_hlinks *hl = hlinks(c);
	struct hl_entry *e = hl_slot(hl->v, hl->cap, ino);

	if (e->used || !create)
		return e->used ? e : NULL;
	if (2 * (hl->n + 1) > hl->cap) {
		struct hl_entry *old = hl->v;
		size_t oldcap = hl->cap;
		hl->cap *= 2;
		hl->v = ovl_xcalloc(hl->cap, sizeof(*hl->v));
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].used)
				*hl_slot(hl->v, hl->cap, old[i].ino) = old[i];
		free(old);
		e = hl_slot(hl->v, hl->cap, ino);
	}
	e->used = true;
	e->ino = ino;
	hl->n++;
	return e;
}

void ovl_hlinks_free(struct ovl_hlinks *hl)
{
	if (!hl)
		return;
	for (size_t i = 0; i < hl->cap; i++) {
		free(hl->v[i].alias);
	}
	for (size_t i = 0; i < hl->nwhited; i++)
		free(hl->whited[i]);
	free(hl->whited);
	free(hl->v);
	free(hl);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static unsigned whited_count(struct ovl_ctx *c, const struct ovl_fh *fh)
{
	struct ovl_hlinks *hl = hlinks(c);
	char key[OVL_FID_KEY_MAX];
	unsigned n = 0;

	if (!hl->nwhited)
		return 0;
	if (!hl->sorted) {
		qsort(hl->whited, hl->nwhited, sizeof(*hl->whited), cmp_str);
		hl->sorted = true;
	}
	/* which lower inode: its fid (the uuid is the stack's) */
	ovl_fid_key(fh, key);
	for (size_t i = 0; i < hl->nwhited; i++)	/* sorted: one run */
		if (!strcmp(hl->whited[i], key))
			n++;
	return n;
}

void ovl_note_rebase(struct ovl_ctx *c, const struct ovl_node *n, const void *fh, size_t len)
{
	if (S_ISDIR(n->st.st_mode) || len > OVL_FH_MAX_LEN ||
	    (n->st.st_nlink < 2 && !ovl_xattrs_has(&n->xa, OVL_XA_NLINK)))
		return;
	struct hl_entry *e = hl_get(c, n->st.st_ino, true);
	memcpy(e->rebased, fh, len);
	e->rebased_len = len;
}

/* Plan one change of W/index/NAME (path "/NAME"). */
static void plan_entry(struct ovl_ctx *c, enum ovl_fix_op op, const char *path,
		       enum ovl_xattr_id xattr, const void *val, size_t len)
{
	char wpath[OVL_FH_HEX_MAX + 512];

	snprintf(wpath, sizeof(wpath), "/index%s", path);
	ovl_plan_at(c, op, OVL_FIX_WORKDIR, wpath, strlen(wpath), xattr, val, len);
}

/* Rename W/index/OLD to the hex name of a stored handle. */
static void plan_rename(struct ovl_ctx *c, const char *path, const void *fh, size_t len)
{
	struct ovl_fh h;
	char hex[OVL_FH_HEX_MAX];
	char to[OVL_FH_HEX_MAX + 8];

	if (ovl_fh_parse(fh, len, &h) != OVL_FH_OK)
		return;
	ovl_fh_to_hex(&h, hex);
	snprintf(to, sizeof(to), "/index/%s", hex);

	/* The right name may exist already: a second name of the same inode
	 * (a repair cut short between the origin and the rename) is moved
	 * aside; another inode there is left for a human. */
	struct stat here, there;
	if (ovl_stat_at(c->s->indexfd, hex, &there) == 0) {
		if (ovl_stat_at(c->s->indexfd, path + 1, &here) == 0 &&
		    here.st_ino == there.st_ino && here.st_dev == there.st_dev)
			plan_entry(c, OVL_FIX_QUARANTINE, path, 0, NULL, 0);
		return;
	}
	plan_entry(c, OVL_FIX_RENAME_W, path, 0, to, strlen(to));
}

void ovl_note_whiteout(struct ovl_ctx *c, const struct ovl_lookup_res *res)
{
	if (res->first != OVL_HIT_FILE || !res->first_fh_ok || res->first_st.st_nlink < 2)
		return;
	struct ovl_hlinks *hl = hlinks(c);
	char key[OVL_FID_KEY_MAX];

	ovl_fid_key(&res->first_fh, key);
	ovl_links_note_whiteout(c, key);
	if (hl->nwhited == hl->capwhited) {
		hl->capwhited = hl->capwhited ? 2 * hl->capwhited : 16;
		hl->whited = ovl_xrealloc(hl->whited, hl->capwhited * sizeof(*hl->whited));
	}
	hl->whited[hl->nwhited++] = ovl_xstrdup(key);
	hl->sorted = false;
}

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

static void quarantine(struct ovl_ctx *c, const char *path, enum ovl_problem_code code,
		       const char *detail);

/*
 * nfs_export dir entries: the upper handle must find the upper dir. When
 * it does not, the upper dir with this origin (seen in the upper walk)
 * gives the handle again.
 */
static void check_dir_entry(struct ovl_ctx *c, int fd, const char *name,
			    const struct ovl_xattrs *xa, const char *path)
{
	struct ovl_fh up;
	struct stat st;

	if (!ovl_xattrs_has(xa, OVL_XA_UPPER)) {
		if (ovl_dir_is_empty(fd, name))
			ovl_report_at(c, "index", path, PR_IX_EMPTY_DIR, NULL);
		else
			quarantine(c, path, PR_IX_DIR_NO_UPPER, NULL);
		return;
	}
	if (!xa->val[OVL_XA_UPPER] ||
	    ovl_fh_parse(xa->val[OVL_XA_UPPER], xa->len[OVL_XA_UPPER], &up) != OVL_FH_OK) {
		quarantine(c, path, PR_IX_DIR_NO_UPPER, "upper handle unparseable");
		return;
	}
	if (!c->s->has_upper || resolve(c, &up, 0, 0, &st) == 0)
		return;

	size_t len = 0;
	const unsigned char *now = c->dirorigins ?
		ovl_strset_get(c->dirorigins, name, strlen(name), &len) : NULL;
	struct ovl_fh fh;
	unsigned char buf[OVL_FH_MAX_LEN];
	size_t blen = 0;
	if (now && ovl_fh_parse(now, len, &fh) == OVL_FH_OK) {
		memcpy(fh.uuid, up.uuid, sizeof(fh.uuid));
		fh.flags = up.flags;
		blen = ovl_fh_encode(&fh, buf, sizeof(buf));
	}
	if (!blen) {
		ovl_report_at(c, "index", path, PR_IX_DIR_UPPER_STALE, NULL);
	} else if (ovl_report_fix_at(c, "index", path, PR_IX_DIR_UPPER_STALE,
				     "the upper dir with this origin is found")) {
		plan_entry(c, OVL_FIX_SET_XATTR, path, OVL_XA_UPPER, buf, blen);
	}
}

void ovl_note_upper_dir(struct ovl_ctx *c, const struct ovl_node *n)
{
	const char *val = ovl_node_xattr(n, OVL_XA_ORIGIN);
	struct ovl_fh origin, self;
	char hex[OVL_FH_HEX_MAX];
	unsigned char buf[OVL_FH_MAX_LEN];

	if (!val || !c->s->nfs_export || c->s->indexfd < 0 ||
	    ovl_fh_parse(val, n->xa.len[OVL_XA_ORIGIN], &origin) != OVL_FH_OK ||
	    ovl_fh_of_at(n->dirfd, n->name, c->layer->uuid, &self) < 0)
		return;
	size_t len = ovl_fh_encode(&self, buf, sizeof(buf));
	if (!len)
		return;
	if (!c->dirorigins)
		c->dirorigins = ovl_strset_new();
	ovl_fh_to_hex(&origin, hex);
	ovl_strset_put(c->dirorigins, hex, strlen(hex), buf, len);
	ovl_links_note_dir_origin(c, hex);
}

/* Move W/index/NAME into the quarantine: the kernel would refuse or
 * delete it, and it may hold the only copy of some data. */
static void quarantine(struct ovl_ctx *c, const char *path, enum ovl_problem_code code,
		       const char *detail)
{
	if (ovl_report_fix_at(c, "index", path, code, detail))
		plan_entry(c, OVL_FIX_QUARANTINE, path, 0, NULL, 0);
}

/* Write the handle the entry is named after as its origin. */
static void rewrite_origin(struct ovl_ctx *c, const char *path, const struct ovl_fh *name_fh,
			   enum ovl_problem_code code)
{
	unsigned char buf[OVL_FH_MAX_LEN];
	size_t len = ovl_fh_encode(name_fh, buf, sizeof(buf));

	if (ovl_report_fix_at(c, "index", path, code, NULL) && len)
		plan_entry(c, OVL_FIX_SET_XATTR, path, OVL_XA_ORIGIN, buf, len);
}

/*
 * A metacopy mark on an entry no upper name shows (its aliases are
 * judged by the upper walk): the lower aliases read the origin's data
 * under this entry's size. An entry holding data blocks of another size
 * than the origin's is a full copy whose mark hides its bytes.
 */
static void check_unaliased_metacopy(struct ovl_ctx *c, const char *path,
				     const struct stat *st, const struct stat *lower)
{
	if (!ovl_holds_own_data(c->s->indexfd, path + 1, st, lower, -1, false))
		return;
	char detail[80];
	snprintf(detail, sizeof(detail), "%lld bytes here, %lld in the origin",
		 (long long)st->st_size, (long long)lower->st_size);
	if (ovl_report_fix_at(c, "index", path, PR_MC_OWN_DATA, detail))
		plan_entry(c, OVL_FIX_RM_XATTR, path, OVL_XA_METACOPY, NULL, 0);
}

/*
 * A redirect the kernel will not follow makes every lookup that finds
 * this entry fail (EINVAL), its lower aliases too. An index entry is
 * found by its origin, so the data never needs the redirect: it goes.
 */
static void check_entry_redirect(struct ovl_ctx *c, const char *path, const struct ovl_xattrs *xa)
{
	const char *rd = (const char *)xa->val[OVL_XA_REDIRECT];
	bool absolute;

	if (!ovl_xattrs_has(xa, OVL_XA_REDIRECT) || !rd)
		return;
	enum ovl_redirect_err err = ovl_redirect_parse(rd, xa->len[OVL_XA_REDIRECT], &absolute);
	if (err == OVL_RD_OK || err == OVL_RD_TOO_LONG)
		return;
	if (ovl_report_fix_at(c, "index", path, PR_RD_INVALID, ovl_redirect_strerror(err)))
		plan_entry(c, OVL_FIX_RM_XATTR, path, OVL_XA_REDIRECT, NULL, 0);
}

static void check_file_entry(struct ovl_ctx *c, const struct ovl_fh *name_fh,
			     const struct ovl_rentry *r, const char *path)
{
	const struct stat *st = &r->st;
	const struct ovl_xattrs *xa = &r->xa;
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
		/* Trust the one that names a live lower inode: a live origin
		 * under a dead name means the name is what went stale. */
		struct stat ost;
		bool parsed = xa->val[OVL_XA_ORIGIN] &&
			      ovl_fh_parse(xa->val[OVL_XA_ORIGIN], xa->len[OVL_XA_ORIGIN],
					   &origin) == OVL_FH_OK;
		if (parsed && resolve(c, &origin, 1, c->s->nlayers - 1, &ost) == 0 &&
		    !r->lower_alive) {
			if (ovl_report_fix_at(c, "index", path, PR_IX_ORIGIN_MISMATCH,
					      "the origin is live, the name stale"))
				plan_rename(c, path, xa->val[OVL_XA_ORIGIN], xa->len[OVL_XA_ORIGIN]);
			return;
		}
		rewrite_origin(c, path, name_fh, PR_IX_ORIGIN_MISMATCH);
		return;
	}
	/* The kernel decodes the origin first: a gone lower makes the entry
	 * stale, deleted at mount once no upper alias is left. */
	lst = r->lower_st;
	if (!r->lower_alive) {
		if (st->st_nlink <= 1) {
			quarantine(c, path, PR_IX_STALE, "no upper alias left: deleted at mount");
			return;
		}
		/* Its aliases' origins are being re-based: follow with the name. */
		struct hl_entry *re = hl_get(c, st->st_ino, false);
		if (re && re->rebased_len) {
			if (ovl_report_fix_at(c, "index", path, PR_IX_STALE,
					      "re-named after the re-based origin"))
				plan_rename(c, path, re->rebased, re->rebased_len);
			return;
		}
		ovl_report_at(c, "index", path, PR_IX_STALE, NULL);
		return;		/* no lower count to judge nlink by */
	}

	/* An entry with upper aliases is their inode: the upper walk judged
	 * its metacopy mark and, on a metacopy file, its redirect (which
	 * leads to the data there). A redirect left on a full copy (a
	 * metacopy file linked, then written) is read when a lower alias
	 * finds the entry: only here is it seen. */
	bool mc = S_ISREG(st->st_mode) && ovl_xattrs_has(xa, OVL_XA_METACOPY);
	if (st->st_nlink <= 1 || !mc)
		check_entry_redirect(c, path, xa);
	if (st->st_nlink <= 1 && mc)
		check_unaliased_metacopy(c, path, st, &lst);

	const char *v = ovl_xattrs_has(xa, OVL_XA_NLINK) ? (const char *)xa->val[OVL_XA_NLINK] :
							   NULL;
	size_t vlen = v ? xa->len[OVL_XA_NLINK] : 0;
	long lower_nlink = (long)lst.st_nlink;

	/* The kernel's own orphan rule (ovl_verify_index): no upper alias and
	 * a union link count of 0. It deletes such an entry at mount and no
	 * name shows it; any other entry without alias holds the data its
	 * remaining lower aliases show. */
	if (st->st_nlink <= 1 && ovl_nlink_kernel(v, vlen, (long)st->st_nlink, lower_nlink, 0) == 0) {
		/* with nfs_export the kernel leaves a whiteout there, so that
		 * a file handle of the gone file stays stale: so does this */
		if (ovl_report_fix_at(c, "index", path, PR_IX_ORPHAN, NULL))
			plan_entry(c, c->s->nfs_export ? OVL_FIX_QUARANTINE_WH : OVL_FIX_QUARANTINE,
				   path, 0, NULL, 0);
		return;
	}
	/* A lower with one link: the kernel never reads the count. */
	if (lower_nlink == 1)
		return;

	/*
	 * Visible links: every upper alias, plus the lower links that no
	 * upper alias covers and no upper whiteout deletes. Lower aliases
	 * hidden by an opaque or removed parent dir cannot be seen from
	 * here, so this is an upper bound.
	 */
	struct hl_entry *e = hl_get(c, st->st_ino, false);
	long aliases = (long)st->st_nlink - 1;
	long hidden = (long)(e ? e->covered : 0) + (long)whited_count(c, name_fh);
	long most = aliases + (lower_nlink > hidden ? lower_nlink - hidden : 0);
	struct ovl_nlink nl;
	bool ok = v && ovl_nlink_parse(v, vlen, &nl) == 0;
	long value = ok ? ovl_nlink_apply(&nl, (long)st->st_nlink, lower_nlink) : 0;

	if (ok && value > 0) {
		/* st_nlink shows this value: a count outside the range is
		 * only reported, as changing it would change st_nlink. */
		if (value < aliases || value > most) {
			snprintf(detail, sizeof(detail), "%s gives %ld, expected %ld..%ld", v, value,
				 aliases, most);
			ovl_report_at(c, "index", path, PR_IX_NLINK_WRONG, detail);
		}
		return;
	}
	/* Unusable: the kernel shows the upper inode's own count. Only
	 * reported: any value written now would change st_nlink. */
	snprintf(detail, sizeof(detail), "%s", v ? v : "missing");
	ovl_report_at(c, "index", path, PR_IX_NLINK_BAD, detail);
}

static int cmp_alias(const void *a, const void *b)
{
	return strcmp((*(struct hl_entry *const *)a)->alias, (*(struct hl_entry *const *)b)->alias);
}

/*
 * Upper copies of lower hard links whose inode has no index entry under
 * any name (copied up while index was off): decided once every entry was
 * seen (an entry under a stale name still counts), reported in path order.
 * The kernel indexes only lower files with several links (or everything
 * with nfs_export, but a missing entry there is equally harmless).
 */
static void report_missing(struct ovl_ctx *c)
{
	struct ovl_hlinks *hl = c->hlinks;
	struct hl_entry **miss;
	size_t n = 0;

	if (!hl)
		return;
	miss = ovl_xmalloc((hl->n + 1) * sizeof(*miss));
	for (size_t i = 0; i < hl->cap; i++)
		if (hl->v[i].used && hl->v[i].alias && !hl->v[i].has_index &&
		    hl->v[i].lower_linked)
			miss[n++] = &hl->v[i];
	if (n)
		qsort(miss, n, sizeof(*miss), cmp_alias);
	/* Only reported: linking it into the index now would make its lower
	 * aliases show the upper copy, and its st_nlink grow. */
	for (size_t i = 0; i < n; i++)
		ovl_report_at(c, "upper", miss[i]->alias, PR_IX_MISSING, NULL);
	free(miss);
}

/* What an index entry needs read: done ahead by the readers of -j. */
static void index_read(const struct ovl_walk_env *e, int dirfd, const char *name,
		       struct ovl_rentry *r)
{
	struct ovl_fh fh;

	memset(r, 0, sizeof(*r));
	r->child_fd = -1;
	r->res.data_fd = -1;
	if (ovl_stat_at(dirfd, name, &r->st) < 0) {
		r->stat_err = errno ? errno : EIO;
		return;
	}
	if (ovl_is_whiteout_stat(&r->st) || ovl_fh_from_hex(name, &fh) != OVL_FH_OK)
		return;
	if (ovl_xattrs_read(dirfd, name, e->s->ns, &r->xa) < 0) {
		r->xattr_err = errno ? errno : EIO;
		memset(&r->xa, 0, sizeof(r->xa));
		return;
	}
	if (!S_ISDIR(r->st.st_mode)) {
		int fd = ovl_open_handle_in(e->s, e->mountfd, &fh, 1, e->s->nlayers - 1,
					    &r->lower_st);
		r->lower_alive = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
}

void ovl_check_index(struct ovl_ctx *c)
{
	/* the readers decode handles through these: opened before they start */
	for (int i = 1; i < c->s->nlayers; i++)
		ovl_ctx_mountfd(c, i);
	struct ovl_walk_env env = { .s = c->s, .read = index_read, .mountfd = c->mountfd };
	struct ovl_ahead *a = ovl_ahead_start(&env, c->scope ? 1 : c->o->jobs, 4096);
	struct ovl_rdir *d = ovl_ahead_dir(a, c->s->indexfd, NULL, 0);
	size_t n = 0;
	int err = 0;
	if (c->scope) {
		char **scoped = ovl_scope_index_names(c, &n);
		ovl_rdir_set_names(d, scoped, n, scoped ? 0 : errno);
	}
	char **names = ovl_rdir_names(d, &n, &err);

	if (!names) {
		ovl_report_at(c, "index", "/", PR_LY_UNREADABLE, strerror(err));
		ovl_rdir_release(d);
		ovl_ahead_stop(a);
		return;
	}
	int dfd = c->s->indexfd;
	for (size_t i = 0; i < n; i++) {
		ovl_progress_update(c->r->progress, i * 1000 / n, 1000, NULL);
		const char *name = names[i];
		struct ovl_rentry *r = ovl_rdir_entry(d, i);
		size_t plen = strlen(name) + 2;
		char *path = ovl_xmalloc(plen);
		struct ovl_fh fh;

		snprintf(path, plen, "/%s", name);
		c->stats->index_entries++;
		if (r->stat_err) {
			ovl_report_at(c, "index", path, PR_LY_UNREADABLE, strerror(r->stat_err));
			goto next;
		}
		/* The kernel's shared whiteout keeps links named #N here. */
		if (ovl_is_whiteout_stat(&r->st) && name[0] == '#')
			goto next;
		if (ovl_fh_from_hex(name, &fh) != OVL_FH_OK) {
			quarantine(c, path, PR_IX_BAD_NAME, NULL);
			goto next;
		}
		if (ovl_is_whiteout_stat(&r->st))
			goto next;	/* nfs_export: a removed dir's entry */
		if (r->xattr_err) {
			ovl_report_at(c, "index", path, PR_LY_XATTR_UNREADABLE, strerror(r->xattr_err));
			goto next;
		}
		if (!S_ISDIR(r->st.st_mode)) {
			struct hl_entry *e = hl_get(c, r->st.st_ino, false);
			if (e)
				e->has_index = true;
			ovl_links_note_index(c, name, &r->st, &fh);
		}
		/* nfs_export indexes every non-dir: fifos and devices too */
		if (S_ISDIR(r->st.st_mode))
			check_dir_entry(c, dfd, name, &r->xa, path);
		else
			check_file_entry(c, &fh, r, path);
next:
		ovl_rentry_free(&env, r);
		free(path);
	}
	ovl_rdir_release(d);
	ovl_ahead_stop(a);
	report_missing(c);
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

	/* Count the alias, and whether it stands where a lower alias is. */
	struct hl_entry *e = hl_get(c, n->st.st_ino, true);
	e->aliases++;
	e->lower_linked |= lower_linked;
	ovl_links_note_alias(c, n, &fh);
	struct ovl_lookup_res own;
	const struct ovl_lookup_res *byname = res;
	struct ovl_lookup_req req = { .name = n->name, .want_fh = true, .layer = c->layer->idx };
	if (ovl_xattrs_has(&n->xa, OVL_XA_METACOPY) || !res->first_fh_ok) {
		byname = NULL;
		if (n->parent && ovl_merge_lookup(c->s, &n->parent->below, &req, NULL, &own) == 0)
			byname = &own;
	}
	if (byname && byname->first == OVL_HIT_FILE && byname->first_fh_ok &&
	    ovl_fh_same_fid(&fh, &byname->first_fh))
		e->covered++;

	/* Whether it has an index entry is known after the index pass. */
	if (!e->alias)
		e->alias = ovl_xstrndup(c->path, c->pathlen);
}
