/*
 * The walker. Each directory of a layer is read once; every entry gets one
 * fstatat and one read of its overlay xattrs, then one merged-view lookup
 * when a check needs to know what lies below it. Entries are visited in
 * name order so that output is the same on every filesystem.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/lookup.h"
#include "overlay/metacopy.h"
#include "overlay/redirect.h"
#include "overlay/util.h"
#include "check/internal.h"
#include "core/strset.h"
#include "walk.h"

/* Entries the readers may be ahead of the walker. The subdirs a reader
 * opens from its parent's next chunk come after all the walker reads
 * before them; with 4096 the readers filled the bound with those and
 * waited (0.3-0.6 s of a 2-3 s run, 200 dirs of 1000) while the walker
 * read its own dirs alone. Records are about 1 KiB: 16 MiB at most. */
#define AHEAD_ENTRIES 16384

static void path_reserve(struct ovl_ctx *c, size_t need)
{
	if (need > c->pathcap) {
		while (need > c->pathcap)
			c->pathcap *= 2;
		c->path = ovl_xrealloc(c->path, c->pathcap);
	}
}

static void path_push(struct ovl_ctx *c, const char *name)
{
	size_t nlen = strlen(name);

	path_reserve(c, c->pathlen + 1 + nlen + 1);
	if (c->pathlen > 1)
		c->path[c->pathlen++] = '/';
	memcpy(c->path + c->pathlen, name, nlen + 1);
	c->pathlen += nlen;
}

static void path_pop(struct ovl_ctx *c, size_t len)
{
	c->pathlen = len;
	c->path[len] = '\0';
}

void ovl_ctx_set_path(struct ovl_ctx *c, const char *path, size_t len)
{
	path_reserve(c, len + 1);
	memcpy(c->path, path, len);
	path_pop(c, len);
}


/*
 * --copy-up PATH...: only what lies at, below or above (a parent of) a
 * named path concerns the copy; the stack's own problems always do.
 */
static bool copyup_scope(const struct ovl_ctx *c, const char *layer, const char *path,
			 size_t pathlen)
{
	if (!c->o->copy_up || !c->o->ncopy_paths || !strcmp(layer, "stack"))
		return true;
	if (!c->layer && (!strcmp(layer, "index") || !strcmp(layer, "work")))
		return false;
	if (pathlen == (size_t)-1)
		pathlen = strlen(path);
	for (size_t i = 0; i < c->o->ncopy_paths; i++) {
		const char *p = c->o->copy_paths[i];
		size_t len = strlen(p);
		size_t n = len < pathlen ? len : pathlen;
		const char *longer = len < pathlen ? path : p;
		/* one is the other, or a parent of it */
		if (!strncmp(p, path, n) &&
		    (len == pathlen || n == 1 || longer[n] == '/'))
			return true;
	}
	return false;
}

static bool report(struct ovl_ctx *c, const char *layer, const char *path, size_t pathlen,
		   enum ovl_problem_code code, const char *detail, bool fixable)
{
	if (!copyup_scope(c, layer, path, pathlen))
		return false;
	/* --copy-up copies data: of the repairs only the preen-safe ones
	 * within its scope (a parent's impure mark a cut copy-up left), never
	 * a quarantine (ovl_plan_at); a file with another problem is left as
	 * it is, with its problem (exit 4) */
	if (c->o->copy_up) {
		const struct ovl_problem_def *def = ovl_problem_def(code);
		fixable = fixable && def && (def->flags & PF_PREEN);
	}
	struct ovl_pctx p = {
		.layer = layer,
		.path = path,
		.pathlen = pathlen,
		.detail = detail,
		/* true with -n too (no plan): the JSON report tells what
		 * -y would fix; the reporter offers nothing with -n */
		.fixable = fixable,
	};
	return ovl_problem(c->r, code, &p);
}

void ovl_report_at(struct ovl_ctx *c, const char *layer, const char *path,
		   enum ovl_problem_code code, const char *detail)
{
	report(c, layer, path, (size_t)-1, code, detail, false);
}

void ovl_report_here(struct ovl_ctx *c, enum ovl_problem_code code, const char *detail)
{
	report(c, c->layer ? c->layer->name : "stack", c->path, c->pathlen, code, detail, false);
}

bool ovl_report_fix(struct ovl_ctx *c, enum ovl_problem_code code, const char *detail)
{
	return report(c, c->layer ? c->layer->name : "stack", c->path, c->pathlen, code,
		      detail, true);
}

bool ovl_report_fix_at(struct ovl_ctx *c, const char *layer, const char *path,
		       enum ovl_problem_code code, const char *detail)
{
	return report(c, layer, path, (size_t)-1, code, detail, true);
}

void ovl_plan_for(struct ovl_ctx *c, unsigned long problem, enum ovl_fix_op op, int layer,
		  const char *path, size_t pathlen, enum ovl_xattr_id xattr, const void *val,
		  size_t len)
{
	if (c->o->copy_up && (op == OVL_FIX_QUARANTINE || op == OVL_FIX_QUARANTINE_WH))
		return;		/* its problem stays: counted left, not fixed */
	if (c->plan)
		ovl_plan_add(c->plan, op, layer, path, pathlen, xattr, val, len, problem);
}

void ovl_plan_at(struct ovl_ctx *c, enum ovl_fix_op op, int layer, const char *path,
		 size_t pathlen, enum ovl_xattr_id xattr, const void *val, size_t len)
{
	ovl_plan_for(c, c->r->seq, op, layer, path, pathlen, xattr, val, len);
}

void ovl_plan_here(struct ovl_ctx *c, enum ovl_fix_op op, enum ovl_xattr_id xattr,
		   const void *val, size_t len)
{
	ovl_plan_at(c, op, c->layer->idx, c->path, c->pathlen, xattr, val, len);
}

int ovl_ctx_mountfd(struct ovl_ctx *c, int layer)
{
	if (c->mountfd[layer] == -1) {
		int fd = openat(c->s->layers[layer].fd, ".",
				O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		c->mountfd[layer] = fd >= 0 ? fd : -2;
	}
	return c->mountfd[layer] >= 0 ? c->mountfd[layer] : -1;
}

/*
 * Is dir fd (O_PATH) inside the root of layer L? Walk ".." up to the
 * filesystem root comparing dev/ino: the kernel accepts a decoded dir only
 * under the layer root.
 */
static bool dir_within_layer(int fd, const struct ovl_layer *L)
{
	int cur = dup(fd);
	bool inside = false;

	for (int depth = 0; cur >= 0 && depth < 4096; depth++) {
		struct stat st, pst;
		if (fstat(cur, &st) < 0)
			break;
		if (st.st_dev == L->dev && st.st_ino == L->ino) {
			inside = true;
			break;
		}
		int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0 || fstat(up, &pst) < 0 ||
		    (pst.st_dev == st.st_dev && pst.st_ino == st.st_ino)) {
			if (up >= 0)
				close(up);
			break;
		}
		close(cur);
		cur = up;
	}
	if (cur >= 0)
		close(cur);
	return inside;
}

int ovl_open_handle_in(const struct ovl_stack *s, const int *mountfd, const struct ovl_fh *fh,
		       int first, int last, struct stat *st)
{
	bool null = ovl_fh_uuid_is_null(fh);
	struct file_handle *h = ovl_xmalloc(sizeof(*h) + fh->fid_len);

	h->handle_bytes = (unsigned)fh->fid_len;
	h->handle_type = fh->type;
	memcpy(h->f_handle, fh->fid, fh->fid_len);
	for (int i = first; i <= last; i++) {
		const struct ovl_layer *L = &s->layers[i];
		if (L->fd < 0 || (!null && memcmp(L->uuid, fh->uuid, sizeof(L->uuid)) != 0))
			continue;
		int mfd = mountfd[i];
		if (mfd < 0)
			continue;
		/* O_PATH: the inode is only looked at, never read. */
		int fd = open_by_handle_at(mfd, h, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, st) == 0 && (!S_ISDIR(st->st_mode) || dir_within_layer(fd, L))) {
			free(h);
			return fd;
		}
		close(fd);
	}
	free(h);
	return -1;
}

int ovl_ctx_open_handle(struct ovl_ctx *c, const struct ovl_fh *fh, int first, int last,
			struct stat *st)
{
	for (int i = first; i <= last; i++)
		ovl_ctx_mountfd(c, i);
	return ovl_open_handle_in(c->s, c->mountfd, fh, first, last, st);
}

int ovl_ctx_decode(struct ovl_ctx *c, const struct ovl_fh *fh, int first, int last,
		   struct stat *st, int *layer)
{
	for (int i = first; i <= last; i++) {
		int fd = ovl_ctx_open_handle(c, fh, i, i, st);
		if (fd >= 0) {
			*layer = i;
			return fd;
		}
	}
	return -1;
}

/* The kernel's name for an fd ("/proc/self/fd/N"), from the process root. */
static ssize_t fd_path(int fd, char *buf, size_t size)
{
	char link[64];

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, size - 1);
	if (n < 0 || (size_t)n >= size - 1)
		return -1;
	buf[n] = '\0';
	return n;
}

int ovl_ctx_fd_path(struct ovl_ctx *c, int layer, int fd, const struct stat *st, char *path,
		    size_t size)
{
	char root[4096], full[4096];
	struct stat vst;
	ssize_t rl = fd_path(c->s->layers[layer].fd, root, sizeof(root));
	ssize_t fl = fd_path(fd, full, sizeof(full));

	/* The text only proposes a path; the lookup below decides. */
	if (rl <= 0 || fl <= rl || strncmp(full, root, (size_t)rl) != 0 ||
	    (full[rl] != '/' && rl > 1) || (size_t)(fl - rl) + 2 > size)
		return -1;
	const char *rel = full + (rl > 1 ? rl : 0);
	int vfd = ovl_open_beneath(c->s->layers[layer].fd, rel + 1, strlen(rel + 1), O_PATH);
	if (vfd < 0)
		return -1;
	int ok = fstat(vfd, &vst) == 0 && vst.st_dev == st->st_dev && vst.st_ino == st->st_ino;
	close(vfd);
	if (!ok)
		return -1;
	snprintf(path, size, "%s", rel);
	return 0;
}

int ovl_ctx_fd_path_from(struct ovl_ctx *c, int layer, int fd, const struct stat *st, char *path,
			 size_t size)
{
	for (int i = layer; i <= c->s->nlower; i++)
		if (ovl_ctx_fd_path(c, i, fd, st, path, size) == 0)
			return i;
	return -1;
}

int ovl_ctx_sure_path(struct ovl_ctx *c, int layer, int fd, const struct stat *st, char *path,
		      size_t size)
{
	if (!S_ISDIR(st->st_mode) && st->st_nlink != 1)
		return -1;
	return ovl_ctx_fd_path_from(c, layer, fd, st, path, size);
}

int ovl_ctx_handle_path(struct ovl_ctx *c, const struct ovl_fh *fh, char *path, size_t size,
			struct stat *out)
{
	int decoded_in;
	int fd = ovl_ctx_decode(c, fh, 1, c->s->nlower, out, &decoded_in);

	if (fd < 0)
		return -1;
	int layer = ovl_ctx_sure_path(c, decoded_in, fd, out, path, size);
	close(fd);
	return layer;
}

static void frame_flags(struct ovl_frame *f, const struct ovl_xattrs *xa)
{
	const char *op = ovl_xattrs_has(xa, OVL_XA_OPAQUE) ? (const char *)xa->val[OVL_XA_OPAQUE] : NULL;
	const char *im = ovl_xattrs_has(xa, OVL_XA_IMPURE) ? (const char *)xa->val[OVL_XA_IMPURE] : NULL;

	f->opaque = op && xa->len[OVL_XA_OPAQUE] == 1 ? op[0] : 0;
	f->xwhiteouts = f->opaque == 'x' || ovl_xattrs_has(xa, OVL_XA_WHITEOUTS);
	f->impure = im != NULL;
	f->impure_needed = false;
}

static bool opaque_dir(const struct ovl_xattrs *xa)
{
	return ovl_xattrs_has(xa, OVL_XA_OPAQUE) && xa->len[OVL_XA_OPAQUE] == 1 &&
	       xa->val[OVL_XA_OPAQUE][0] == 'y';
}

/* A redirect the lookup may follow: valid, and followed by this stack. */
static const char *usable_redirect(const struct ovl_stack *s, const struct ovl_xattrs *xa)
{
	const char *rd = ovl_xattrs_has(xa, OVL_XA_REDIRECT) ? (const char *)xa->val[OVL_XA_REDIRECT]
							      : NULL;
	bool abs;

	if (!rd || !s->redirect_follow)
		return NULL;
	/* A component over NAME_MAX is followed by the kernel: it just
	 * finds nothing there. */
	enum ovl_redirect_err err = ovl_redirect_parse(rd, xa->len[OVL_XA_REDIRECT], &abs);
	if (err != OVL_RD_OK && err != OVL_RD_TOO_LONG)
		return NULL;
	return rd;
}

/* Blocks and a metacopy xattr that does not parse: the check compares
 * the file's bytes with the lower's, to tell whose data it holds. */
static bool bytes_compared(const struct ovl_rentry *r)
{
	struct ovl_metacopy mc;

	return r->st.st_blocks > 0 && r->xa.val[OVL_XA_METACOPY] &&
	       ovl_metacopy_parse(r->xa.val[OVL_XA_METACOPY], r->xa.len[OVL_XA_METACOPY],
				  &mc) != OVL_MC_OK;
}

/* What a lookup of the entry asks for. */
static struct ovl_lookup_req lookup_req(const struct ovl_walk_env *e, const char *name,
					const struct ovl_rentry *r)
{
	bool upper = e->layer->kind == OVL_LAYER_UPPER;
	bool is_dir = S_ISDIR(r->st.st_mode);
	bool metacopy = S_ISREG(r->st.st_mode) && ovl_xattrs_has(&r->xa, OVL_XA_METACOPY);
	bool whiteout = ovl_is_whiteout_stat(&r->st) || ovl_xattrs_has(&r->xa, OVL_XA_WHITEOUT);

	return (struct ovl_lookup_req){
		.name = name,
		/* an opaque dir merges with nothing below */
		.redirect = ((is_dir && !opaque_dir(&r->xa)) || metacopy)
				    ? usable_redirect(e->s, &r->xa) : NULL,
		.is_dir = is_dir,
		.want_data = metacopy,
		.want_data_fd = metacopy &&
				(r->xa.len[OVL_XA_METACOPY] > OVL_METACOPY_HDR_LEN ||
				 e->s->verity == OVL_VERITY_REQUIRE || e->copy_up ||
				 bytes_compared(r)),
		.want_fh = upper && (ovl_xattrs_has(&r->xa, OVL_XA_ORIGIN) || whiteout),
		.layer = e->layer->idx,
	};
}

/* Take n fds from the budget, or none. */
static bool fds_take(const struct ovl_walk_env *e, int n)
{
	if (!e->fd_budget || n == 0)
		return true;
	int left = atomic_load(e->fd_budget);
	while (left >= n)
		if (atomic_compare_exchange_weak(e->fd_budget, &left, left - n))
			return true;
	return false;
}

/* Look the entry up as `req` asks, and open it when it is a dir. */
static void lookup_as(const struct ovl_walk_env *e, int dirfd, const struct ovl_below *below,
		      int depth, const char *name, struct ovl_rentry *r,
		      const struct ovl_lookup_req *req)
{
	r->looked_up = true;
	if (req->is_dir)
		ovl_below_init(&r->below, e->s);
	if (ovl_merge_lookup(e->s, below, req,
			     req->is_dir && !opaque_dir(&r->xa) ? &r->below : NULL, &r->res) < 0)
		r->lookup_err = errno ? errno : EIO;
	if (req->is_dir && depth + 1 <= e->max_depth) {
		r->child_fd = ovl_open_dir_at(dirfd, name);
		if (r->child_fd < 0)
			r->open_err = errno ? errno : EIO;
	}
}

void ovl_rentry_lookup(const struct ovl_walk_env *e, int dirfd, const struct ovl_below *below,
		       int depth, const char *name, struct ovl_rentry *r)
{
	r->looked_up = true;
	if (!r->need_lookup)
		return;
	struct ovl_lookup_req req = lookup_req(e, name, r);
	lookup_as(e, dirfd, below, depth, name, r, &req);
}

/* No xattr the checks would look at: nothing of the overlay's, in
 * either namespace, escaped or unknown. */
static bool xattrs_none(const struct ovl_xattrs *xa)
{
	return !xa->present && !xa->other_ns && !xa->escaped && !xa->unknown;
}

void ovl_rentry_read(const struct ovl_walk_env *e, int dirfd, const struct ovl_below *below,
		     int depth, const char *name, unsigned char dtype, struct ovl_rentry *r)
{
	bool have_xa = false;

	memset(r, 0, sizeof(*r));
	r->child_fd = -1;
	r->res = (struct ovl_lookup_res){ .first = OVL_HIT_NONE, .first_layer = -1,
					  .data_layer = -1, .data_fd = -1 };
	/* A regular file (getdents says so) without such xattrs needs no
	 * lookup, and the checks look only at its type (the links ledger
	 * also at an upper file's link count): its fstatat is left out.
	 * Anything else is stat'ed as before, first, so that an entry gone
	 * or unreadable reads as it did. */
	if (dtype == DT_REG && !e->hook && (e->layer->kind != OVL_LAYER_UPPER || !e->links)) {
		if (ovl_xattrs_read(dirfd, name, e->s->ns, &r->xa) == 0) {
			if (xattrs_none(&r->xa)) {
				r->st.st_mode = S_IFREG;
				r->looked_up = true;
				return;
			}
			have_xa = true;
		}
	}
	if (ovl_stat_at(dirfd, name, &r->st) < 0) {
		r->stat_err = errno ? errno : EIO;
		r->looked_up = true;
		return;
	}
	if (!have_xa && ovl_xattrs_read(dirfd, name, e->s->ns, &r->xa) < 0) {
		r->xattr_err = errno ? errno : EIO;
		memset(&r->xa, 0, sizeof(r->xa));
	}
	bool is_dir = S_ISDIR(r->st.st_mode);
	bool metacopy = S_ISREG(r->st.st_mode) && ovl_xattrs_has(&r->xa, OVL_XA_METACOPY);
	bool upper = e->layer->kind == OVL_LAYER_UPPER;
	r->need_lookup = e->hook || is_dir || ovl_is_whiteout_stat(&r->st) ||
			 ovl_xattrs_has(&r->xa, OVL_XA_WHITEOUT) || metacopy ||
			 (upper && ovl_xattrs_has(&r->xa, OVL_XA_ORIGIN)) ||
			 ovl_xattrs_has(&r->xa, OVL_XA_REDIRECT);
	if (!r->need_lookup) {
		r->looked_up = true;
		return;
	}
	struct ovl_lookup_req req = lookup_req(e, name, r);
	/* the fds the record will hold: a dir and the dirs below it, or
	 * the data inode; when the budget is spent the walker looks up */
	int fds = 0;
	if (is_dir)
		fds = 1 + (opaque_dir(&r->xa) ? 0 : e->s->nlower);
	else if (req.want_data_fd)
		fds = 1;
	if (!fds_take(e, fds))
		return;
	r->fds = fds;
	lookup_as(e, dirfd, below, depth, name, r, &req);
}

void ovl_rentry_free(const struct ovl_walk_env *e, struct ovl_rentry *r)
{
	if (r->res.data_fd >= 0)
		close(r->res.data_fd);
	r->res.data_fd = -1;
	if (r->child_fd >= 0)
		close(r->child_fd);
	r->child_fd = -1;
	if (r->below.d)
		ovl_below_free(&r->below);
	ovl_xattrs_free(&r->xa);
	if (r->fds && e->fd_budget)
		atomic_fetch_add(e->fd_budget, r->fds);
	r->fds = 0;
}

static void walk_dir(struct ovl_ctx *c, struct ovl_frame *f, struct ovl_rdir *d);

static void visit(struct ovl_ctx *c, struct ovl_frame *f, struct ovl_rdir *d, size_t i,
		  const char *name)
{
	struct ovl_rentry *r = ovl_rdir_entry(d, i);
	struct ovl_node n = {
		.layer = c->layer,
		.parent = f,
		.dirfd = f->fd,
		.name = name,
	};
	size_t saved = c->pathlen;
	bool upper = c->layer->kind == OVL_LAYER_UPPER;

	path_push(c, name);
	if (r->stat_err) {
		ovl_report_here(c, PR_LY_UNREADABLE, strerror(r->stat_err));
		goto out;
	}
	n.st = r->st;
	if (c->layer->idx < (int)OVL_ARRAY_SIZE(c->stats->entries))
		c->stats->entries[c->layer->idx]++;
	if (r->xattr_err)
		ovl_report_here(c, PR_LY_XATTR_UNREADABLE, strerror(r->xattr_err));
	n.xa = r->xa;
	n.whiteout = ovl_is_whiteout_stat(&n.st);
	n.xwhiteout = ovl_xattrs_has(&n.xa, OVL_XA_WHITEOUT);
	/* The kernel marks a dir impure for entries that carry an origin
	 * (their inode numbers come from it) and for renamed dirs; a hard
	 * link of a metacopy file gets a redirect but no origin, and its
	 * parent no mark; nor does an empty origin (copied from a lower that
	 * has no file handles: no inode number to take from it). */
	if ((ovl_xattrs_has(&n.xa, OVL_XA_ORIGIN) && n.xa.len[OVL_XA_ORIGIN] > 0) ||
	    (S_ISDIR(n.st.st_mode) && ovl_xattrs_has(&n.xa, OVL_XA_REDIRECT)))
		f->impure_needed = true;

	bool is_dir = S_ISDIR(n.st.st_mode);
	bool metacopy = S_ISREG(n.st.st_mode) && ovl_xattrs_has(&n.xa, OVL_XA_METACOPY);
	bool origin = upper && ovl_xattrs_has(&n.xa, OVL_XA_ORIGIN);
	struct ovl_frame child = { .fd = -1 };

	if (!r->looked_up)	/* the read-ahead had no fds to spare */
		ovl_rentry_lookup(&c->env, f->fd, &f->below, f->depth, name, r);
	if (r->lookup_err)
		ovl_report_here(c, PR_LY_UNREADABLE, strerror(r->lookup_err));
	const struct ovl_lookup_res *res = &r->res;
	if (is_dir) {
		frame_flags(&child, &n.xa);
		child.below = r->below;
		n.frame = &child;	/* the checks look at its opaque and impure marks */
	}

	/* A merge dir child makes its parent impure too: the kernel stores its
	 * origin and marks the parent at the first lookup. */
	if (is_dir && child.below.n > 0 && upper)
		f->impure_needed = true;

	ovl_check_entry(c, &n, res);
	bool rd_bad = (is_dir || metacopy) && ovl_xattrs_has(&n.xa, OVL_XA_REDIRECT) &&
		      ovl_check_redirect(c, &n, res);
	unsigned long before = c->r->errors;
	if (ovl_xattrs_has(&n.xa, OVL_XA_METACOPY))
		ovl_check_metacopy(c, &n, res);
	/* Copy up only what checks clean: a metacopy file with a problem
	 * is repaired (or left) first. */
	if (c->o->copy_up && metacopy && upper) {
		if (c->r->errors == before && res->data_status == OVL_DATA_OK)
			ovl_copyup_plan(c, &n, res);
		else
			ovl_copyup_skip(c);
	}
	if (origin) {
		/* A metacopy file without data is one problem, not two; a dir
		 * whose redirect cannot be followed was not looked up where
		 * its origin lives. */
		bool rd_unusable = ovl_xattrs_has(&n.xa, OVL_XA_REDIRECT) &&
				   !usable_redirect(c->s, &n.xa);
		/* An opaque dir merges with nothing: its origin is never used. */
		bool opaque = is_dir && child.opaque == 'y';
		if ((!metacopy || res->data_status == OVL_DATA_OK) &&
		    !(is_dir && (rd_unusable || rd_bad)) && !opaque)
			ovl_check_origin(c, &n, res);
		ovl_check_upper_hardlink(c, &n, res);
		if (is_dir)
			ovl_note_upper_dir(c, &n);
	}

	if (c->hook && upper)
		c->hook(c, &n, res);

	if (is_dir) {
		child.up = f;
		child.depth = f->depth + 1;
		child.pathlen = c->pathlen;
		if (child.depth > c->max_depth) {
			ovl_report_here(c, PR_LY_UNREADABLE, "directory tree too deep, not descended");
		} else if (r->child_fd < 0) {
			ovl_report_here(c, PR_LY_UNREADABLE, strerror(r->open_err ? r->open_err : EIO));
		} else {
			child.fd = r->child_fd;
			walk_dir(c, &child, ovl_rdir_child(d, i));
			path_pop(c, child.pathlen);
			ovl_check_dir_end(c, &n);
		}
	}
out:
	ovl_rentry_free(&c->env, r);
	path_pop(c, saved);
}

static void walk_dir(struct ovl_ctx *c, struct ovl_frame *f, struct ovl_rdir *d)
{
	size_t count = 0;
	int err = 0;
	/* a scoped check visits only its names (and reads with one thread) */
	if (c->scope) {
		char **scoped = ovl_scope_dir_names(c, f, &count);
		ovl_rdir_set_names(d, scoped, count, scoped ? 0 : errno);
	}
	char **names = ovl_rdir_names(d, &count, &err);

	if (!names) {
		ovl_report_here(c, PR_LY_UNREADABLE, strerror(err));
		ovl_rdir_release(d);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		if (!c->r->progress) {
			visit(c, f, d, i, names[i]);
			continue;
		}
		struct ovl_progress_share outer = ovl_progress_enter(&c->share, i, count);
		ovl_progress_at(c->r->progress, &c->share);
		visit(c, f, d, i, names[i]);
		c->share = outer;
	}
	/* --copy-up of paths below this dir that only the lowers have. */
	if (c->o->copy_up && c->layer->kind == OVL_LAYER_UPPER)
		ovl_copyup_plan_lower(c, f);
	ovl_rdir_release(d);
}

int ovl_walk_layer(struct ovl_ctx *c, int layer)
{
	struct ovl_layer *L = &c->s->layers[layer];
	struct ovl_node root = {
		.layer = L,
		.dirfd = L->fd,
		.name = "",
	};
	struct ovl_frame f = { .fd = -1 };

	c->layer = L;
	c->path[0] = '/';
	c->path[1] = '\0';
	c->pathlen = 1;
	c->share = (struct ovl_progress_share){ .base = 0, .span = 1 };
	ovl_strset_free(c->redirects);
	c->redirects = ovl_strset_new();

	/* Root xattrs through a real fd: xattr syscalls refuse O_PATH ones. */
	f.fd = openat(L->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f.fd < 0 || fstat(f.fd, &root.st) < 0 ||
	    ovl_xattrs_read(f.fd, "", c->s->ns, &root.xa) < 0) {
		ovl_report_here(c, PR_LY_UNREADABLE, strerror(errno));
		if (f.fd >= 0)
			close(f.fd);
		return -1;
	}
	root.dirfd = f.fd;
	ovl_below_init(&f.below, c->s);
	if (L->kind != OVL_LAYER_DATA)
		ovl_below_root(&f.below, c->s, layer);
	frame_flags(&f, &root.xa);
	f.pathlen = 1;
	root.frame = &f;

	/* The root's own marks: the same value checks as any dir. */
	struct ovl_lookup_res none = { .first = OVL_HIT_NONE, .first_layer = -1,
				       .data_layer = -1, .data_fd = -1 };
	ovl_check_entry(c, &root, &none);
	if (ovl_xattrs_has(&root.xa, OVL_XA_METACOPY))
		ovl_check_metacopy(c, &root, &none);

	c->env = (struct ovl_walk_env){
		.s = c->s,
		.layer = L,
		.hook = c->hook != NULL,
		.links = c->links != NULL,
		.copy_up = c->o->copy_up,
		.max_depth = c->max_depth,
		.fd_budget = &c->fd_budget,
	};
	atomic_store(&c->fd_budget, c->fd_spare);
	struct ovl_ahead *a = ovl_ahead_start(&c->env, c->scope ? 1 : c->o->jobs, AHEAD_ENTRIES);
	walk_dir(c, &f, ovl_ahead_dir(a, f.fd, &f.below, 0));
	ovl_ahead_stop(a);
	path_pop(c, 1);
	ovl_check_dir_end(c, &root);
	/* every redirect of the upper is known now */
	if (L->kind == OVL_LAYER_UPPER) {
		ovl_placeds_resolve(c);
		ovl_repoints_resolve(c);
	}

	ovl_below_free(&f.below);
	close(f.fd);
	ovl_xattrs_free(&root.xa);
	return 0;
}
