/*
 * Origin file handles of upper entries: parseable, from the filesystem of
 * a lower layer, and naming the lower inode the kernel finds for this
 * entry. When the inode at the path differs, the handle is decoded to
 * tell a moved inode from a gone one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/fh.h"
#include "overlay/lookup.h"
#include "overlay/util.h"
#include "overlay/xattr.h"
#include "core/strset.h"
#include "walk/links.h"
#include "internal.h"

static bool layer_matches(const struct ovl_ctx *c, int i, const struct ovl_fh *fh)
{
	const struct ovl_layer *L = &c->s->layers[i];

	if (ovl_fh_uuid_is_null(fh))
		return true;	/* uuid=null, or a filesystem without one */
	return memcmp(L->uuid, fh->uuid, sizeof(L->uuid)) == 0;
}

/* Set origin to the handle `now` with the uuid of the stored one. */
static void plan_rebase(struct ovl_ctx *c, const struct ovl_node *n, const struct ovl_fh *stored,
			const struct ovl_fh *now)
{
	struct ovl_fh fh = *now;
	unsigned char buf[OVL_FH_MAX_LEN];

	memcpy(fh.uuid, stored->uuid, sizeof(fh.uuid));
	fh.flags = stored->flags;
	size_t len = ovl_fh_encode(&fh, buf, sizeof(buf));
	if (len) {
		ovl_plan_here(c, OVL_FIX_SET_XATTR, OVL_XA_ORIGIN, buf, len);
		ovl_note_rebase(c, n, buf, len);
	}
}

/*
 * Drop an origin that leads nowhere useful, unless it keys an index entry
 * (an indexed hard link: the index pass deals with those).
 */
static bool can_drop(const struct ovl_node *n)
{
	return S_ISDIR(n->st.st_mode) ||
	       (n->st.st_nlink < 2 && !ovl_xattrs_has(&n->xa, OVL_XA_NLINK));
}

static void report_drop(struct ovl_ctx *c, const struct ovl_node *n, enum ovl_problem_code code,
			const char *detail)
{
	if (!can_drop(n))
		ovl_report_here(c, code, detail);
	else if (ovl_report_fix(c, code, detail))
		ovl_plan_here(c, OVL_FIX_RM_XATTR, OVL_XA_ORIGIN, NULL, 0);
}

/* Does the upper non-dir at `path` (upper-relative "/a/b") carry origin fh? */
static bool upper_origin_is(struct ovl_ctx *c, const char *path, const struct ovl_fh *fh)
{
	const char *slash = strrchr(path, '/');
	size_t plen = (size_t)(slash - path);
	int dfd = plen ? ovl_open_beneath(c->s->layers[0].fd, path + 1, plen - 1,
					  O_RDONLY | O_DIRECTORY)
		       : openat(c->s->layers[0].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned char buf[OVL_FH_MAX_LEN];
	struct ovl_fh at;

	if (dfd < 0)
		return false;
	ssize_t len = ovl_xattr_get_at(dfd, slash + 1, ovl_xattr_name(c->s->ns, OVL_XA_ORIGIN),
				       buf, sizeof(buf));
	close(dfd);
	return len > 0 && ovl_fh_parse(buf, (size_t)len, &at) == OVL_FH_OK &&
	       ovl_fh_same_fid(&at, fh);
}

/* What the first copy away from an origin's path left for the others. */
struct first_copy {
	dev_t dev;
	ino_t ino;
	char path[];
};

/* A plain copy waiting for its origin's path: the copy's inode and the
 * origin (for an upper file at that path with the same one). */
struct alias_wait {
	dev_t dev;
	ino_t ino;
	struct ovl_fh fh;
};

static void drop_aliased(struct ovl_ctx *c, const char *detail)
{
	/* a copy of one link with no nlink xattr: can_drop() held */
	if (ovl_report_fix(c, PR_OR_ALIASED, detail))
		ovl_plan_here(c, OVL_FIX_RM_XATTR, OVL_XA_ORIGIN, NULL, 0);
}

/*
 * The second of two copies away from their origin's path (mv f g, then
 * cp -a g h): the same key, two upper inodes. The first in walk order
 * keeps its origin, so a scoped check, which the links bring the first
 * into, decides as the whole walk does.
 */
static void check_second_copy(struct ovl_ctx *c, const struct alias_wait *a,
			      const struct stat *origin)
{
	char key[48];
	size_t vlen;

	snprintf(key, sizeof(key), "%llx:%llx", (unsigned long long)origin->st_dev,
		 (unsigned long long)origin->st_ino);
	if (!c->copies)
		c->copies = ovl_strset_new();
	const struct first_copy *first = ovl_strset_get(c->copies, key, strlen(key), &vlen);
	if (!first) {
		size_t size = sizeof(*first) + c->pathlen + 1;
		struct first_copy *mine = ovl_xcalloc(1, size);
		mine->dev = a->dev;
		mine->ino = a->ino;
		memcpy(mine->path, c->path, c->pathlen);
		ovl_strset_put(c->copies, key, strlen(key), mine, size);
		free(mine);
	} else if (first->dev != a->dev || first->ino != a->ino) {
		drop_aliased(c, first->path);
	}
}

/* The judgement of check_alias, once the origin's path is known. */
static void judge_alias(struct ovl_ctx *c, const struct ovl_placed *p)
{
	const struct alias_wait *a = p->arg;
	bool covered;

	/* In no lower's tree: whether a path shows it is not known, but a
	 * second copy is one all the same. */
	if (!p->where) {
		check_second_copy(c, a, &p->st);
		return;
	}
	if (strcmp(p->where, c->path) == 0)
		return;
	for (int i = 0; i < p->found; i++) {
		enum ovl_hit_kind k = ovl_merge_path_kind(c->s, i, p->where, &covered);
		if (i == 0 && k == OVL_HIT_FILE && upper_origin_is(c, p->where, &a->fh))
			break;
		if (k != OVL_HIT_NONE || covered) {
			/* not shown at its own path */
			check_second_copy(c, a, &p->st);
			return;
		}
	}
	drop_aliased(c, p->where);
}

/*
 * A plain copied-up file is keyed by its origin's inode (of one link):
 * when the merged view shows that inode at its own path too, as a lower
 * entry or through an upper file with the same origin (a copy made
 * offline: cp -a keeps the xattr), or through another copy, the kernel
 * fails whichever of the two is looked up second with ESTALE. Dropping
 * the origin of this one (not at that path) leaves both readable, with
 * the same content. fd, st: the origin decoded in lower `layer`.
 */
static void check_alias(struct ovl_ctx *c, const struct ovl_node *n, const struct ovl_fh *fh,
			int layer, int fd, const struct stat *st)
{
	if (c->layer->kind != OVL_LAYER_UPPER || !can_drop(n) || st->st_nlink != 1 ||
	    !S_ISREG(st->st_mode))
		return;
	/* Tied before the path is known, so that a scoped check brings the
	 * other copies in. */
	if (c->links) {
		char fid[OVL_FID_KEY_MAX];
		ovl_fid_key(fh, fid);
		ovl_links_note_copy(c, fid);
	}
	struct alias_wait a = { .dev = n->st.st_dev, .ino = n->st.st_ino, .fh = *fh };
	ovl_judge_placed(c, layer, fd, st, judge_alias, &a, sizeof(a));
}

/* A metacopy file whose origin's inode is not at its path: re-pointed
 * there when the inode is found (an indexed hard link's redirect follows
 * its origin, which its index entry confirmed). */
static void judge_moved(struct ovl_ctx *c, const struct ovl_placed *p)
{
	if (!p->where)
		ovl_report_here(c, PR_OR_MOVED, NULL);
	else if (ovl_report_fix(c, PR_OR_MOVED, p->where))
		ovl_repoint_later(c, p->where, OVL_RP_NONE, 0);
}

static void judge_stale_verify(struct ovl_ctx *c, const struct ovl_placed *p)
{
	if (!p->where || !S_ISREG(p->st.st_mode))
		ovl_report_here(c, PR_OR_STALE_VERIFY, NULL);
	else if (ovl_report_fix(c, PR_OR_STALE_VERIFY, p->where))
		ovl_plan_here(c, OVL_FIX_SET_XATTR, OVL_XA_REDIRECT, p->where, strlen(p->where));
}

/* Is W/index/<hex of fh> this very inode (its index entry)? */
static bool index_entry_is(struct ovl_ctx *c, const struct ovl_fh *fh, const struct ovl_node *n)
{
	char hex[OVL_FH_HEX_MAX];
	struct stat st;

	if (c->s->indexfd < 0)
		return false;
	ovl_fh_to_hex(fh, hex);
	return ovl_stat_at(c->s->indexfd, hex, &st) == 0 && st.st_ino == n->st.st_ino &&
	       st.st_dev == n->st.st_dev;
}

/* Which mismatches make the kernel fail a lookup with ESTALE. */
static bool kernel_verifies(const struct ovl_ctx *c, const struct ovl_node *n)
{
	return S_ISDIR(n->st.st_mode) ? c->s->nfs_export
				      : ovl_xattrs_has(&n->xa, OVL_XA_METACOPY) && c->s->index;
}

/* Same kind of inode at the path: the candidate for a re-base (the
 * kernel reads through the path anyway). */
static bool same_kind_at_path(const struct ovl_node *n, const struct ovl_lookup_res *res)
{
	return (res->first == OVL_HIT_DIR || res->first == OVL_HIT_FILE) && res->first_fh_ok &&
	       (res->first_st.st_mode & S_IFMT) == (n->st.st_mode & S_IFMT);
}

/* Something else is at the path: the kernel reads through it (or,
 * verifying, refuses). Re-basing keeps what it shows; following the
 * origin elsewhere would change it. The uuid stays: the kernel chose it
 * for this stack. */
static void report_stale(struct ovl_ctx *c, const struct ovl_node *n, const struct ovl_fh *fh,
			 const struct ovl_lookup_res *res)
{
	enum ovl_problem_code code = kernel_verifies(c, n) ? PR_OR_STALE_VERIFY : PR_OR_STALE;

	if (!same_kind_at_path(n, res))
		ovl_report_here(c, code, NULL);
	else if (ovl_report_fix(c, code, NULL))
		plan_rebase(c, n, fh, &res->first_fh);
}

/* The origin decoded (fd, st, in lower `layer`) to another inode than
 * the one at the path. */
static void judge_decoded(struct ovl_ctx *c, const struct ovl_node *n, const struct ovl_fh *fh,
			  int layer, int fd, const struct stat *st, const struct ovl_lookup_res *res)
{
	bool is_dir = S_ISDIR(n->st.st_mode);
	bool metacopy = ovl_xattrs_has(&n->xa, OVL_XA_METACOPY);
	bool other_at_path = res->first == OVL_HIT_DIR || res->first == OVL_HIT_FILE;

	/* A plain copied-up file is found by its handle, not its path. */
	if (!is_dir && !metacopy && (st->st_mode & S_IFMT) == (n->st.st_mode & S_IFMT)) {
		check_alias(c, n, fh, layer, fd, st);
		return;
	}
	if ((st->st_mode & S_IFMT) != (n->st.st_mode & S_IFMT)) {
		if (!same_kind_at_path(n, res))
			report_drop(c, n, PR_OR_TYPE, NULL);
		else if (ovl_report_fix(c, PR_OR_TYPE, NULL))
			plan_rebase(c, n, fh, &res->first_fh);
		return;
	}
	/* An indexed hard link's origin names its index entry: when its
	 * redirect leads elsewhere (the kernel refuses it: ESTALE), the
	 * redirect is what went wrong, so it follows the origin... */
	if (other_at_path && kernel_verifies(c, n) && metacopy && !can_drop(n)) {
		/* ...when the index agrees: else the origin is what went
		 * wrong, and the index pass writes it back from the entry's
		 * name. */
		if (!index_entry_is(c, fh, n))
			ovl_report_here(c, PR_OR_STALE_VERIFY, "the index names this inode otherwise");
		else
			ovl_judge_placed(c, layer, fd, st, judge_stale_verify, NULL, 0);
		return;
	}
	if (other_at_path) {
		report_stale(c, n, fh, res);
		return;
	}
	/* Nothing at the path. A dir merges with nothing then, and the kernel
	 * shows it alone: a re-point would change what a readable dir shows
	 * (and where the lower dir shows already, a copy's, make the kernel
	 * fail the second with ESTALE). A dir's path the kernel always has. */
	if (is_dir) {
		char where[4096];
		bool found = ovl_ctx_sure_path(c, layer, fd, st, where, sizeof(where)) > 0;
		ovl_report_here(c, PR_OR_DIR_MOVED, found ? where : NULL);
		return;
	}
	ovl_judge_placed(c, layer, fd, st, judge_moved, NULL, 0);
}

void ovl_check_origin(struct ovl_ctx *c, struct ovl_node *n,
		      const struct ovl_lookup_res *res)
{
	const char *val = ovl_node_xattr(n, OVL_XA_ORIGIN);
	size_t len = n->xa.len[OVL_XA_ORIGIN];
	struct ovl_fh fh;

	if (!val)
		return;
	enum ovl_fh_err err = ovl_fh_parse(val, len, &fh);
	if (err == OVL_FH_EMPTY)
		return;		/* the kernel reads an empty origin as none */
	/* An indexed hard link shares its origin with its index entry (one
	 * inode): removing it would leave the entry without one (mount
	 * refused); the index pass writes the handle of the entry's name. */
	if (err != OVL_FH_OK) {
		report_drop(c, n, PR_OR_BAD, ovl_fh_strerror(err));
		return;
	}

	int first = -1, last = -1;
	for (int i = 1; i < c->s->nlayers; i++) {
		if (!layer_matches(c, i, &fh))
			continue;
		if (first < 0)
			first = i;
		last = i;
	}
	if (first < 0) {
		/* The lower moved to another filesystem: re-base onto the inode
		 * at the path with that filesystem's uuid. */
		if (!same_kind_at_path(n, res))
			ovl_report_here(c, PR_OR_UUID_UNKNOWN, NULL);
		else if (ovl_report_fix(c, PR_OR_UUID_UNKNOWN, NULL))
			plan_rebase(c, n, &res->first_fh, &res->first_fh);
		return;
	}

	/* The inode found by path is the one the kernel checks against. */
	bool at_path = res->first_fh_ok && res->first_layer >= first &&
		       res->first_layer <= last;
	if (at_path && ovl_fh_same_fid(&fh, &res->first_fh))
		return;

	struct stat st;
	int fd_layer;
	int fd = ovl_ctx_decode(c, &fh, first, last, &st, &fd_layer);
	if (fd >= 0) {
		judge_decoded(c, n, &fh, fd_layer, fd, &st, res);
		close(fd);
		return;
	}
	if (res->first == OVL_HIT_DIR || res->first == OVL_HIT_FILE)
		report_stale(c, n, &fh, res);
	else
		report_drop(c, n, PR_OR_GONE, NULL);
}
