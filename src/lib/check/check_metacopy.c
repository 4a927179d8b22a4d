/*
 * Metacopy files: the xattr as the kernel judges it under this stack's
 * verity= mode, and the lower data inode it needs: present, a regular
 * file, the same size, and matching the fs-verity digest when one is set.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "overlay/fh.h"
#include "overlay/lookup.h"
#include "overlay/util.h"
#include "overlay/metacopy.h"
#include "overlay/verity.h"
#include "core/strset.h"
#include "internal.h"

/* A readable fd of an O_PATH one: reopen through its own magic link. */
static int reopen_rdonly(int opath_fd)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", opath_fd);
	return open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

/* A metacopy file whose data moved, until its new place is known. */
struct moved_data {
	bool below;		/* a lower entry shows at its path once it goes */
	size_t copylen;		/* of OVL_RP_COPY_UP's copy, or 0: none */
	unsigned char copy[1 + OVL_XATTR_MAX];
};

/* Nowhere to re-point: the data copied up from the origin, or the file
 * quarantined. */
static void plan_moved_data(struct ovl_ctx *c, unsigned long seq, const struct moved_data *m)
{
	if (m->copylen)
		ovl_plan_copy_from_origin(c, seq, m->copy, m->copylen);
	else
		ovl_plan_for(c, seq, m->below ? OVL_FIX_QUARANTINE_WH : OVL_FIX_QUARANTINE,
			     c->layer->idx, c->path, c->pathlen, 0, NULL, 0);
}

static void judge_moved_data(struct ovl_ctx *c, const struct ovl_placed *p)
{
	const struct moved_data *m = p->arg;

	if (!p->where)
		plan_moved_data(c, p->seq, m);
	else if (m->copylen)
		ovl_repoint_later_copy(c, p->seq, p->where, m->copy, m->copylen);
	else
		ovl_repoint_later_for(c, p->seq, p->where,
				      m->below ? OVL_RP_QUARANTINE_WH : OVL_RP_QUARANTINE);
}

static void unreadable(struct ovl_ctx *c, struct ovl_node *n, enum ovl_problem_code code,
		       const char *detail);

/* verity=off: the kernel never checks the digest and serves the data,
 * so what the file shows stays; on/require: EIO, an unreadable file. */
static void digest_mismatch(struct ovl_ctx *c, struct ovl_node *n, const char *detail)
{
	if (c->s->verity == OVL_VERITY_OFF)
		ovl_report_here(c, PR_MC_DIGEST_UNCHECKED, detail);
	else
		unreadable(c, n, PR_MC_DIGEST_MISMATCH, detail);
}

static void check_digest(struct ovl_ctx *c, struct ovl_node *n,
			 const struct ovl_metacopy *mc, const struct ovl_lookup_res *res)
{
	uint8_t digest[OVL_METACOPY_DIGEST_MAX];
	size_t dlen = 0;
	unsigned algo = 0;
	int fd = reopen_rdonly(res->data_fd);

	if (fd < 0)
		return;
	if (ovl_verity_measure(fd, &algo, digest, &dlen) == 0) {
		if (algo != mc->digest_algo || dlen != mc->digest_len ||
		    memcmp(digest, mc->digest, dlen) != 0)
			digest_mismatch(c, n, "measured fs-verity digest");
		close(fd);
		return;
	}
	bool computed = ovl_verity_compute(fd, mc->digest_algo, digest, &dlen) == 0;
	bool match = computed && dlen == mc->digest_len && !memcmp(digest, mc->digest, dlen);
	close(fd);

	/* A wrong digest is the problem; that the kernel could not even
	 * check it (no fs-verity) changes nothing about the fix. */
	if (computed && !match) {
		digest_mismatch(c, n, "computed fs-verity digest");
		return;
	}
	if (c->s->verity == OVL_VERITY_OFF)
		return;
	/* The lower has no fs-verity, so the kernel cannot check the digest
	 * (EIO). Under verity=on a digest the data was just shown to match
	 * can go; under require the file cannot be read at all. */
	if (c->s->verity == OVL_VERITY_ON && match) {
		if (ovl_report_fix(c, PR_MC_VERITY_MISSING, "the data matches the digest"))
			ovl_plan_here(c, OVL_FIX_SET_XATTR, OVL_XA_METACOPY, "", 0);
		return;
	}
	unreadable(c, n, PR_MC_VERITY_MISSING, NULL);
}

/* verity=require and no digest: the one the lower's fs-verity measures,
 * as the kernel records at copy-up; else the file cannot be read. */
static void add_digest(struct ovl_ctx *c, struct ovl_node *n, const struct ovl_lookup_res *res)
{
	struct ovl_metacopy mc = { 0 };
	unsigned algo = 0;
	unsigned char buf[OVL_METACOPY_MAX_LEN];
	int fd = res->data_fd >= 0 ? reopen_rdonly(res->data_fd) : -1;
	bool measured = fd >= 0 &&
			ovl_verity_measure(fd, &algo, mc.digest, &mc.digest_len) == 0;
	size_t len = 0;

	if (fd >= 0)
		close(fd);
	if (measured) {
		mc.digest_algo = (uint8_t)algo;
		mc.len = (uint8_t)(OVL_METACOPY_HDR_LEN + mc.digest_len);
		len = ovl_metacopy_encode(&mc, buf, sizeof(buf));
	}
	if (!len) {
		unreadable(c, n, PR_MC_DIGEST_MISSING, NULL);
		return;
	}
	if (ovl_report_fix(c, PR_MC_DIGEST_MISSING, "measured on the lower data"))
		ovl_plan_here(c, OVL_FIX_SET_XATTR, OVL_XA_METACOPY, buf, len);
}

/* Open a regular file read-only (no link followed): the fd, or -1; *first
 * the offset of its first data below size, or -1 when it has none. */
static int open_first_data(int dirfd, const char *name, off_t size, off_t *first)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	*first = -1;
	if (fd < 0)
		return -1;
	off_t d = lseek(fd, 0, SEEK_DATA);
	if (d >= 0 && d < size)
		*first = d;
	return fd;
}

/* Data blocks in a metacopy file: a data copy-up was cut short. */
static bool has_data(const struct ovl_node *n)
{
	/* ext4 counts an external xattr block in st_blocks: look closer only
	 * when there is more than one block. */
	if (n->st.st_blocks * 512 <= 4096 || n->st.st_size == 0)
		return false;
	off_t d;
	int fd = open_first_data(n->dirfd, n->name, n->st.st_size, &d);
	if (fd >= 0)
		close(fd);
	return fd >= 0 && d >= 0;
}


/* Do the upper's data ranges from `from` hold other bytes than the
 * lower's?  At most OWN_DATA_CMP bytes are compared: equal so far is
 * taken as equal (a copy-up cut short is the likelier story). */
#define OWN_DATA_CMP (4u << 20)
static bool bytes_differ(int ufd, int data_fd, off_t from, off_t size)
{
	static char a[65536], b[65536];
	int lfd = reopen_rdonly(data_fd);
	size_t budget = OWN_DATA_CMP;
	bool differ = false;

	if (lfd < 0)
		return false;
	for (off_t off = from; off >= 0 && off < size && budget && !differ;) {
		off_t end = lseek(ufd, off, SEEK_HOLE);
		if (end < 0)
			break;
		while (off < end && budget && !differ) {
			size_t want = (size_t)(end - off) < sizeof(a) ? (size_t)(end - off) : sizeof(a);
			if (want > budget)
				want = budget;
			ssize_t got = pread(ufd, a, want, off);
			if (got <= 0 || pread(lfd, b, (size_t)got, off) != got)
				goto out;
			differ = memcmp(a, b, (size_t)got) != 0;
			off += got;
			budget -= (size_t)got;
		}
		off = lseek(ufd, off, SEEK_DATA);
	}
out:
	close(lfd);
	return differ;
}

/*
 * Does an upper file with a metacopy xattr hold its own data: a full
 * copy-up (a write, an append) whose xattr came back or was never cut?
 * A stub the kernel makes has no data blocks and keeps the size of its
 * lower data (a truncate copies the data up first); a data copy-up cut
 * short holds a part of the lower's bytes. So data blocks here and
 * another size (or, with `bytes`, other bytes) than the lower's mean the
 * upper's data is the file's, and the xattr is what hides it. Bytes are
 * compared only where the kernel reads nothing now (EIO): where it reads
 * the lower's bytes at their size, those stay what the file shows.
 */
bool ovl_holds_own_data(int dirfd, const char *name, const struct stat *st,
			const struct stat *data, int data_fd, bool bytes)
{
	/* st_blocks may count an ext4 xattr block: SEEK_DATA decides */
	if (st->st_blocks == 0 || st->st_size == 0)
		return false;
	off_t d;
	int fd = open_first_data(dirfd, name, st->st_size, &d);
	if (fd < 0)
		return false;
	bool own = d >= 0 &&
		   (st->st_size != data->st_size ||
		    (bytes && data_fd >= 0 && bytes_differ(fd, data_fd, d, st->st_size)));
	close(fd);
	return own;
}

static bool own_data(const struct ovl_node *n, const struct ovl_lookup_res *res, bool bytes)
{
	return res->data_status == OVL_DATA_OK && (res->data_fd >= 0 || !bytes) &&
	       ovl_holds_own_data(n->dirfd, n->name, &n->st, &res->data_st, res->data_fd, bytes);
}

/* The file's own data shows again once the xattr is gone. */
static void drop_for_own_data(struct ovl_ctx *c, const char *detail)
{
	if (ovl_report_fix(c, PR_MC_OWN_DATA, detail))
		ovl_plan_here(c, OVL_FIX_RM_XATTR, OVL_XA_METACOPY, NULL, 0);
}

/*
 * A metacopy file the kernel cannot read (EIO/ENOENT) leaves the merged
 * view: an upper one is moved into the quarantine with its metadata and
 * xattrs (one rename, same inode), and a whiteout takes its place when a
 * lower entry of its name would show through instead.
 */
/*
 * Where a lower entry shows: nowhere (a layer above has something at its
 * path or hides it), at its own path with its parent dir in the upper
 * (a whiteout there can hide it), or somewhere this does not follow
 * (through a redirect above, or no parent dir in the upper).
 */
enum lower_shows { SHOWS_NOWHERE, SHOWS_HIDEABLE, SHOWS_OTHER };

static enum lower_shows lower_visibility(const struct ovl_ctx *c)
{
	char parent[4096];
	bool covered = false;

	for (int i = c->s->has_upper ? 0 : 1; i < c->layer->idx; i++) {
		if (ovl_merge_path_kind(c->s, i, c->path, &covered) != OVL_HIT_NONE || covered)
			return SHOWS_NOWHERE;
	}
	if (!c->s->has_upper || c->pathlen >= sizeof(parent))
		return SHOWS_OTHER;
	memcpy(parent, c->path, c->pathlen + 1);
	char *slash = strrchr(parent, '/');
	if (slash == parent)
		return SHOWS_HIDEABLE;	/* the upper root is there */
	*slash = '\0';
	covered = false;
	return ovl_merge_path_kind(c->s, 0, parent, &covered) == OVL_HIT_DIR && !covered
	       ? SHOWS_HIDEABLE : SHOWS_OTHER;
}

/* A text record of a lower entry hidden by a repair: what it was. */
static size_t hidden_record(const struct ovl_ctx *c, const struct ovl_node *n,
			    enum ovl_problem_code code, char *buf, size_t size)
{
	const struct ovl_problem_def *def = ovl_problem_def(code);
	size_t k = (size_t)snprintf(buf, size,
				    "overlay-fsck: lower entry hidden by a whiteout in the upper\n"
				    "layer %s\nproblem %s\nmode %o uid %u gid %u size %lld\n",
				    c->layer->name, def ? def->name : "?",
				    (unsigned)n->st.st_mode, (unsigned)n->st.st_uid,
				    (unsigned)n->st.st_gid, (long long)n->st.st_size);
	for (int id = 0; id < OVL_XA_COUNT && k < size; id++) {
		if (!ovl_xattrs_has(&n->xa, id) || !n->xa.val[id] ||
		    k + 2 * n->xa.len[id] + 128 > size)
			continue;
		k += (size_t)snprintf(buf + k, size - k, "xattr %s 0x",
				      ovl_xattr_name(c->s->ns, id));
		ovl_hex_encode(n->xa.val[id], n->xa.len[id], buf + k);
		k += 2 * n->xa.len[id];
		buf[k++] = '\n';
	}
	return k < size ? k : size;
}

/*
 * A lower entry no read can serve, in a stack with an upper: a whiteout
 * at its path hides it, so every listed path reads again, and a record
 * of it goes to W/overlay-fsck.quarantine/hidden (the lower itself is
 * never written). One that shows nowhere is no problem at all.
 */
static void hide_lower(struct ovl_ctx *c, struct ovl_node *n, enum ovl_problem_code code,
		       const char *detail)
{
	enum lower_shows where = lower_visibility(c);

	if (where == SHOWS_NOWHERE)
		return;
	if (where != SHOWS_HIDEABLE || !c->s->has_work) {
		ovl_report_here(c, code, detail);
		return;
	}
	if (!ovl_report_fix(c, code, detail))
		return;
	static const char qdir[] = "/overlay-fsck.quarantine", hdir[] = "/overlay-fsck.quarantine/hidden";
	char rec[8192], name[4400];
	size_t rlen = hidden_record(c, n, code, rec, sizeof(rec));
	int k = snprintf(name, sizeof(name), "%s/%s", hdir, c->layer->name);
	for (size_t i = 0; i < c->pathlen && k + 1 < (int)sizeof(name); i++)
		name[k++] = c->path[i] == '/' ? '%' : c->path[i];
	name[k] = '\0';
	ovl_plan_at(c, OVL_FIX_MKDIR, OVL_FIX_WORKDIR, qdir, strlen(qdir), 0, NULL, 0);
	ovl_plan_at(c, OVL_FIX_MKDIR, OVL_FIX_WORKDIR, hdir, strlen(hdir), 0, NULL, 0);
	ovl_plan_at(c, OVL_FIX_WRITE_FILE, OVL_FIX_WORKDIR, name, strlen(name), 0, rec, rlen);
	ovl_plan_at(c, OVL_FIX_MK_WHITEOUT, 0, c->path, c->pathlen, 0, NULL, 0);
}

/*
 * Can the lost data of upper metacopy file n be copied up from the inode
 * its origin names (fd, st: decoded in lower `layer`)? Only the data
 * itself: a regular file of n's size, not a metacopy file (its bytes are
 * not the data), no digest the kernel would check, and n not a hard link.
 * The copy's source (layer byte + handle) into buf; its length, or 0.
 */
static size_t copy_source(struct ovl_ctx *c, const struct ovl_node *n, int layer, int fd,
			  const struct stat *st, unsigned char *buf, size_t size)
{
	const char *mcval = ovl_node_xattr(n, OVL_XA_METACOPY);
	const char *origin = ovl_node_xattr(n, OVL_XA_ORIGIN);
	size_t olen = n->xa.len[OVL_XA_ORIGIN];
	struct ovl_metacopy mc;

	/* a hard link's origin names its index entry: it must stay */
	if (!mcval || !origin || olen + 1 > size || !S_ISREG(st->st_mode) ||
	    st->st_size != n->st.st_size || n->st.st_nlink > 1 ||
	    ovl_xattrs_has(&n->xa, OVL_XA_NLINK))
		return 0;
	if (c->s->verity != OVL_VERITY_OFF &&
	    (ovl_metacopy_parse(mcval, n->xa.len[OVL_XA_METACOPY], &mc) != OVL_MC_OK ||
	     mc.digest_len))
		return 0;
	if (ovl_xattr_get_at(fd, "", ovl_xattr_name(c->s->ns, OVL_XA_METACOPY), NULL, 0) >= 0)
		return 0;
	buf[0] = (unsigned char)layer;
	memcpy(buf + 1, origin, olen);
	return olen + 1;
}

/* The origin of n decoded in a regular lower (its layer, stat): an fd, or -1. */
static int origin_decoded(struct ovl_ctx *c, const struct ovl_node *n, struct stat *st,
			  int *layer)
{
	const char *origin = ovl_node_xattr(n, OVL_XA_ORIGIN);
	struct ovl_fh fh;

	if (!origin || ovl_fh_parse(origin, n->xa.len[OVL_XA_ORIGIN], &fh) != OVL_FH_OK)
		return -1;
	return ovl_ctx_decode(c, &fh, 1, c->s->nlower, st, layer);
}

/* Would a lower entry show at n's path once n is gone from the upper? */
static bool shows_below(struct ovl_ctx *c, const struct ovl_node *n)
{
	struct ovl_lookup_req req = { .name = n->name, .layer = c->layer->idx };
	struct ovl_lookup_res below;

	return n->parent && ovl_merge_lookup(c->s, &n->parent->below, &req, NULL, &below) == 0 &&
	       (below.first == OVL_HIT_DIR || below.first == OVL_HIT_FILE);
}

static void unreadable(struct ovl_ctx *c, struct ovl_node *n, enum ovl_problem_code code,
		       const char *detail)
{
	if (c->layer->kind != OVL_LAYER_UPPER) {
		hide_lower(c, n, code, detail);
		return;
	}
	if (!c->s->has_work) {
		ovl_report_here(c, code, detail);
		return;
	}
	/* Data moved inside a lower layer: its origin finds it, point there
	 * (unless the merged view shows that data elsewhere: copied up from
	 * it then, else quarantined). */
	struct stat st;
	int layer = -1;
	bool data_lost = code == PR_MC_NO_DATA || code == PR_MC_DATA_NOT_REG ||
			 code == PR_MC_TOO_SHORT;
	/* The line names no path: what is reported must not depend on where
	 * the data is. */
	if (!ovl_report_fix(c, code, detail))
		return;
	int fd = data_lost ? origin_decoded(c, n, &st, &layer) : -1;
	struct moved_data m = { .below = shows_below(c, n) };
	if (fd >= 0)
		m.copylen = copy_source(c, n, layer, fd, &st, m.copy, sizeof(m.copy));
	/* A re-point needs the data's path: placed at the end of the walk. */
	if (fd >= 0 && S_ISREG(st.st_mode))
		ovl_judge_placed(c, layer, fd, &st, judge_moved_data, &m, sizeof(m));
	else
		plan_moved_data(c, c->r->seq, &m);
	if (fd >= 0)
		close(fd);
}

/* Does the origin (when there is one) name the data inode found? */
static bool origin_names_data(const struct ovl_node *n, const struct ovl_lookup_res *res)
{
	const char *val = ovl_node_xattr(n, OVL_XA_ORIGIN);
	struct ovl_fh fh;

	if (!val || ovl_fh_parse(val, n->xa.len[OVL_XA_ORIGIN], &fh) != OVL_FH_OK ||
	    !res->first_fh_ok)
		return true;
	return ovl_fh_same_fid(&fh, &res->first_fh);
}

void ovl_check_metacopy(struct ovl_ctx *c, struct ovl_node *n,
			const struct ovl_lookup_res *res)
{
	const char *val = ovl_node_xattr(n, OVL_XA_METACOPY);
	size_t len = n->xa.len[OVL_XA_METACOPY];
	struct ovl_metacopy mc;
	char detail[96];

	if (!val)
		return;		/* huge or unreadable: reported already */
	if (!S_ISREG(n->st.st_mode)) {
		if (ovl_report_fix(c, PR_MC_NOT_REG, NULL))
			ovl_plan_here(c, OVL_FIX_RM_XATTR, OVL_XA_METACOPY, NULL, 0);
		return;
	}
	if (c->s->opts.metacopy == OVL_OFF) {
		ovl_report_here(c, PR_MC_FOLLOW_OFF, NULL);
		return;
	}
	enum ovl_metacopy_err err = ovl_metacopy_parse(val, len, &mc);
	/* A cut metacopy xattr still says "metacopy": when the data is
	 * there, the empty form (no digest) makes the file readable again;
	 * else it is an unreadable file like any other. */
	if (err == OVL_MC_TOO_SHORT) {
		if (own_data(n, res, true))
			drop_for_own_data(c, "1-3 bytes");
		else if (res->data_status != OVL_DATA_OK)
			unreadable(c, n, PR_MC_TOO_SHORT, NULL);
		else if (c->s->verity == OVL_VERITY_REQUIRE)
			ovl_report_here(c, PR_MC_TOO_SHORT, "verity=require needs a digest");
		else if (ovl_report_fix(c, PR_MC_TOO_SHORT, NULL))
			ovl_plan_here(c, OVL_FIX_SET_XATTR, OVL_XA_METACOPY, "", 0);
		return;
	}
	/* A broken header: the empty form keeps the file readable where no
	 * digest is required; under verity=require it cannot be read. */
	/* verity=off reads the lower's data through a bad header */
	if (err != OVL_MC_OK && own_data(n, res, c->s->verity != OVL_VERITY_OFF)) {
		drop_for_own_data(c, ovl_metacopy_strerror(err));
		return;
	}
	if (err != OVL_MC_OK) {
		enum ovl_problem_code code = c->s->verity == OVL_VERITY_OFF
					     ? PR_MC_BAD_HEADER : PR_MC_BAD_HEADER_VERITY;
		if (c->s->verity == OVL_VERITY_REQUIRE) {
			unreadable(c, n, code, ovl_metacopy_strerror(err));
			return;
		}
		if (ovl_report_fix(c, code, ovl_metacopy_strerror(err)))
			ovl_plan_here(c, OVL_FIX_SET_XATTR, OVL_XA_METACOPY, "", 0);
	}

	switch (res->data_status) {
	case OVL_DATA_OK:
		break;
	case OVL_DATA_MISSING:
		unreadable(c, n, PR_MC_NO_DATA, NULL);
		return;
	case OVL_DATA_NOT_REG:
		unreadable(c, n, PR_MC_DATA_NOT_REG, NULL);
		return;
	case OVL_DATA_ONLY_MISSING:
		unreadable(c, n, PR_MC_DATA_ONLY_MISSING, NULL);
		return;
	}

	/* With index=on the kernel refuses data that is not the origin's
	 * (ESTALE); for an indexed hard link the origin check re-points the
	 * redirect at the origin's data, so a size judged against this data
	 * would be wrong. */
	if (n->st.st_size != res->data_st.st_size && c->s->index &&
	    (n->st.st_nlink > 1 || ovl_xattrs_has(&n->xa, OVL_XA_NLINK)) &&
	    !origin_names_data(n, res))
		return;
	if (n->st.st_size != res->data_st.st_size) {
		snprintf(detail, sizeof(detail), "%lld bytes here, %lld in %s",
			 (long long)n->st.st_size, (long long)res->data_st.st_size,
			 c->s->layers[res->data_layer].name);
		/* A new size cut to the lower's would lose the upper's bytes. */
		if (own_data(n, res, false)) {
			drop_for_own_data(c, detail);
			return;
		}
		/* The reads return the lower data: make the size say so. */
		if (ovl_report_fix(c, PR_MC_SIZE_MISMATCH, detail)) {
			char size[32];
			snprintf(size, sizeof(size), "%lld", (long long)res->data_st.st_size);
			ovl_plan_here(c, OVL_FIX_TRUNCATE, 0, size, strlen(size));
		}
	}

	bool digest = err == OVL_MC_OK && !mc.empty && mc.digest_len > 0;
	if (c->s->verity == OVL_VERITY_REQUIRE && !digest && err == OVL_MC_OK) {
		add_digest(c, n, res);
		return;
	}
	if (digest && res->data_fd >= 0)
		check_digest(c, n, &mc, res);

	if (has_data(n))
		ovl_report_here(c, PR_MC_PARTIAL_DATA, NULL);
}

/* Is the merged-view path one asked for (or below one)? */
static bool selected(struct ovl_ctx *c)
{
	bool any = !c->o->ncopy_paths;

	for (size_t i = 0; i < c->o->ncopy_paths; i++) {
		const char *p = c->o->copy_paths[i];
		size_t len = strlen(p);
		if (len == 1 ||
		    (strncmp(c->path, p, len) == 0 &&
		     (c->path[len] == '\0' || c->path[len] == '/'))) {
			c->copy_matched[i] = true;
			any = true;
		}
	}
	return any;
}

void ovl_copyup_plan(struct ovl_ctx *c, struct ovl_node *n, const struct ovl_lookup_res *res)
{
	struct ovl_fh fh;
	unsigned char val[1 + OVL_FH_MAX_LEN];

	if (!selected(c) || res->data_fd < 0 || res->data_layer <= 0 ||
	    ovl_fh_of_at(res->data_fd, "", c->s->layers[res->data_layer].uuid, &fh) < 0)
		return;
	/* Hard links: one inode, one copy (the first name seen). */
	if (n->st.st_nlink > 1) {
		char key[48];
		int klen = snprintf(key, sizeof(key), "%llu", (unsigned long long)n->st.st_ino);
		if (!c->copied_inodes)
			c->copied_inodes = ovl_strset_new();
		if (!ovl_strset_add(c->copied_inodes, key, (size_t)klen))
			return;
	}
	/* The data is named by its handle: no path to resolve again later. */
	val[0] = (unsigned char)res->data_layer;
	size_t len = ovl_fh_encode(&fh, val + 1, sizeof(val) - 1);
	if (!len)
		return;
	c->r->copy_planned++;
	c->r->copy_bytes += (unsigned long long)res->data_st.st_size;
	fprintf(c->r->out, "%s %s:", c->r->mode == OVL_MODE_NO ? "would copy up" : "copy up",
		c->layer->name);
	ovl_print_escaped(c->r->out, c->path, c->pathlen);
	fprintf(c->r->out, ": %lld bytes from %s\n", (long long)res->data_st.st_size,
		c->s->layers[res->data_layer].name);
	if (c->plan) {
		/* the data now, the xattr once every copy is on disk */
		size_t order = c->plan->n;
		ovl_plan_add(c->plan, OVL_FIX_COPY_DATA, c->layer->idx, c->path, c->pathlen, 0,
			     val, 1 + len, OVL_FIX_NO_PROBLEM);
		ovl_plan_add(c->plan, OVL_FIX_COPY_COMMIT, c->layer->idx, c->path, c->pathlen, 0,
			     &order, sizeof(order), OVL_FIX_NO_PROBLEM);
	}
}

void ovl_copyup_skip(struct ovl_ctx *c)
{
	if (!selected(c))
		return;
	c->r->copy_missed++;
	fprintf(c->r->out, "not copying up %s:", c->layer->name);
	ovl_print_escaped(c->r->out, c->path, c->pathlen);
	fputs(": its problem is reported above\n", c->r->out);
}

/* Plan the copy-up of one lower entry at upper path `path`; `asked` marks
 * the path asked for (its parents come along). */
static bool plan_new(struct ovl_ctx *c, const char *path, const struct ovl_lookup_res *res,
		     bool asked)
{
	unsigned char val[1 + OVL_FH_MAX_LEN];
	size_t len;

	if (!res->first_fh_ok || res->first_layer <= 0)
		return false;
	val[0] = (unsigned char)res->first_layer;
	len = ovl_fh_encode(&res->first_fh, val + 1, sizeof(val) - 1);
	if (!len)
		return false;
	ovl_plan_add(c->plan, OVL_FIX_COPYUP_NEW, 0, path, strlen(path), asked, val, 1 + len,
		     OVL_FIX_NO_PROBLEM);
	return true;
}

static bool lower_is_metacopy(struct ovl_ctx *c, const struct ovl_lookup_res *res)
{
	struct stat st;
	int fd = ovl_ctx_open_handle(c, &res->first_fh, res->first_layer, res->first_layer, &st);
	bool mc = fd >= 0 && ovl_xattr_get_at(fd, "", ovl_xattr_name(c->s->ns, OVL_XA_METACOPY),
					      NULL, 0) >= 0;
	if (fd >= 0)
		close(fd);
	return fd < 0 || mc;
}

void ovl_copyup_plan_lower(struct ovl_ctx *c, struct ovl_frame *f)
{
	size_t dlen = f->pathlen;

	for (size_t i = 0; i < c->o->ncopy_paths; i++) {
		const char *p = c->o->copy_paths[i];
		/* below this dir: "/dir/next..." (or "/next" below the root) */
		size_t pre = dlen == 1 ? 0 : dlen;
		if (c->copy_matched[i] || strncmp(p, c->path, pre) != 0 || p[pre] != '/' ||
		    !p[pre + 1])
			continue;
		const char *rest = p + pre + 1;
		const char *slash = strchr(rest, '/');
		char first[256];
		size_t flen = slash ? (size_t)(slash - rest) : strlen(rest);
		struct stat st;
		if (flen >= sizeof(first))
			continue;
		memcpy(first, rest, flen);
		first[flen] = '\0';
		if (ovl_stat_at(f->fd, first, &st) == 0)
			continue;	/* in upper: a deeper dir handles it */

		/* Down the lowers, one component at a time, by the kernel's
		 * lookup rules; every dir on the way is copied up first. */
		struct ovl_below a, b, *cur = &a, *next = &b;
		ovl_below_init(&a, c->s);
		ovl_below_init(&b, c->s);
		for (int k = 0; k < f->below.n; k++) {
			int fd = fcntl(f->below.d[k].fd, F_DUPFD_CLOEXEC, 0);
			if (fd >= 0) {
				a.d[a.n].layer = f->below.d[k].layer;
				a.d[a.n++].fd = fd;
			}
		}
		char *upath = ovl_xstrdup(p);
		size_t off = (size_t)(rest - p);
		bool ok = true;
		size_t planned_before = c->plan ? c->plan->n : 0;
		while (ok) {
			const char *comp = p + off;
			const char *end = strchrnul(comp, '/');
			bool last = !*end;
			char name[256];
			size_t nlen = (size_t)(end - comp);
			if (nlen >= sizeof(name)) {
				ok = false;
				break;
			}
			memcpy(name, comp, nlen);
			name[nlen] = '\0';
			upath[end - p] = '\0';
			struct ovl_lookup_req req = {
				.name = name, .is_dir = !last, .want_fh = true, .layer = 0,
			};
			struct ovl_lookup_res res;
			/* dirs on the way; a non-dir at the end, and not a metacopy
			 * stub of a lower layer (its data is further down) */
			if (ovl_merge_lookup(c->s, cur, &req, next, &res) < 0 ||
			    res.first != (last ? OVL_HIT_FILE : OVL_HIT_DIR) ||
			    (last && lower_is_metacopy(c, &res))) {
				ok = false;
				break;
			}
			if (c->plan && !plan_new(c, upath, &res, last)) {
				ok = false;
				break;
			}
			if (last) {
				c->r->copy_planned++;
				c->r->copy_bytes += S_ISREG(res.first_st.st_mode)
						    ? (unsigned long long)res.first_st.st_size : 0;
				fprintf(c->r->out, "%s upper:", c->r->mode == OVL_MODE_NO
					? "would copy up" : "copy up");
				ovl_print_escaped(c->r->out, upath, strlen(upath));
				fprintf(c->r->out, ": %lld bytes from %s, with its parents\n",
					(long long)res.first_st.st_size,
					c->s->layers[res.first_layer].name);
				break;
			}
			upath[end - p] = '/';
			ovl_below_release(cur);
			struct ovl_below *t = cur;
			cur = next;
			next = t;
			off = (size_t)(end - p) + 1;
		}
		if (ok) {
			c->copy_matched[i] = true;
		} else if (c->plan) {
			/* all or nothing for one path */
			while (c->plan->n > planned_before) {
				struct ovl_fix *fx = &c->plan->fixes[--c->plan->n];
				free(fx->path);
				free(fx->val);
			}
		}
		free(upath);
		ovl_below_free(&a);
		ovl_below_free(&b);
	}
}
