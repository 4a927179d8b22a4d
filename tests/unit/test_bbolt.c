/*
 * The bbolt reader (bbolt.c): databases made by tests/bolt_make.h in every
 * shape bbolt writes (inline buckets, buckets on pages, branch levels,
 * overflow pages, the two metas), one made by containerd 1.6.20's
 * overlayfs snapshotter (containerd-1.6.20-metadata.db.gz, beside this
 * file), and hostile ones: loops, shared pages, offsets past a page, a
 * cut file, bad metas. Each must read right or fail with a reason, never
 * crash or hang.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "overlay/bbolt.h"

#include "unit.h"
#include "../bolt_make.h"

static unsigned char *make(struct bm_bucket *root, const struct bm_opts *o, size_t *len)
{
	unsigned char *db = bm_write(root, o, len);

	bm_free(root);
	return db;
}

/* key "k%03d" -> value "v%d", n of them */
static void fill(struct bm_bucket *b, int n)
{
	char k[16], v[16];

	for (int i = n - 1; i >= 0; i--) {	/* the writer sorts */
		snprintf(k, sizeof(k), "k%03d", i);
		snprintf(v, sizeof(v), "v%d", i);
		bm_puts(b, k, v);
	}
}

struct seen {
	int n;
	char last[64];
	bool sorted;
};

static int count_cb(void *arg, const struct ovl_bolt_item *it)
{
	struct seen *s = arg;
	char k[64];

	snprintf(k, sizeof(k), "%.*s", (int)it->klen, (const char *)it->key);
	if (s->n && strcmp(s->last, k) >= 0)
		s->sorted = false;
	snprintf(s->last, sizeof(s->last), "%s", k);
	s->n++;
	return 0;
}

static int get_str(struct ovl_bolt *db, const struct ovl_bolt_bucket *b, const char *key,
		   char *out, size_t size)
{
	struct ovl_bolt_item it;
	int rc = ovl_bolt_get(db, b, key, strlen(key), &it);

	if (rc == 1)
		snprintf(out, size, "%.*s", (int)it.vlen, (const char *)it.val);
	return rc;
}

/* A small tree: v1/{snapshots/{a/{id,kind}, b/{id}}, parents}, meta=x. */
static struct bm_bucket *small_tree(void)
{
	struct bm_bucket *root = bm_new(), *v1 = bm_sub(root, "v1");
	struct bm_bucket *snaps = bm_sub(v1, "snapshots"), *a = bm_sub(snaps, "a");

	bm_puts(a, "id", "\x01");
	bm_puts(a, "kind", "\x03");
	bm_puts(bm_sub(snaps, "b"), "id", "\x02");
	bm_sub(v1, "parents");
	bm_puts(root, "meta", "x");
	return root;
}

static void check_small(const unsigned char *bytes, size_t len)
{
	struct ovl_bolt db;
	struct ovl_bolt_bucket root, v1, snaps, a;
	struct ovl_bolt_item it;
	struct seen s = { .sorted = true };
	char v[32];

	ck_assert_msg(ovl_bolt_open_mem(&db, bytes, len) == 0, "%s", db.err);
	ovl_bolt_root(&db, &root);
	ck_assert_int_eq(ovl_bolt_sub(&db, &root, "v1", &v1), 1);
	ck_assert_int_eq(ovl_bolt_sub(&db, &v1, "snapshots", &snaps), 1);
	ck_assert_int_eq(ovl_bolt_each(&db, &snaps, count_cb, &s), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(ovl_bolt_get(&db, &snaps, "a", 1, &it), 1);
	ck_assert(it.bucket);
	ck_assert_int_eq(ovl_bolt_item_bucket(&db, &it, &a), 0);
	ck_assert_int_eq(ovl_bolt_sub(&db, &v1, "nothing", &a), 0);
	ck_assert_int_eq(get_str(&db, &root, "meta", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "x");
	/* a plain value is no bucket */
	ck_assert_int_eq(ovl_bolt_sub(&db, &root, "meta", &a), 0);
	ck_assert_int_eq(ovl_bolt_get(&db, &root, "zzz", 3, &it), 0);
	ck_assert_int_eq(ovl_bolt_get(&db, &root, "", 0, &it), 0);
	ck_assert_uint_eq(db.txid, 3);
	ovl_bolt_close(&db);
}

START_TEST(t_small_inline)
{
	struct bm_opts o = { 0 };
	size_t len;
	unsigned char *bytes = make(small_tree(), &o, &len);

	check_small(bytes, len);
	free(bytes);
}
END_TEST

START_TEST(t_small_pages)
{
	/* every bucket on pages of its own, pages of 512 bytes */
	struct bm_opts o = { .page_size = 512, .no_inline = true };
	size_t len;
	unsigned char *bytes = make(small_tree(), &o, &len);

	check_small(bytes, len);
	free(bytes);
}
END_TEST

/* Many keys, few per page: several branch levels. */
START_TEST(t_branches)
{
	struct bm_opts o = { .page_size = 1024, .leaf_max = 3, .branch_max = 2 };
	struct bm_bucket *root = bm_new();
	struct ovl_bolt db;
	struct ovl_bolt_bucket b, rb;
	struct ovl_bolt_item it;
	struct seen s = { .sorted = true };
	size_t len;
	char k[16], v[16], got[16];
	unsigned char *bytes;

	fill(bm_sub(root, "big"), 300);
	bytes = make(root, &o, &len);
	ck_assert_msg(ovl_bolt_open_mem(&db, bytes, len) == 0, "%s", db.err);
	ovl_bolt_root(&db, &rb);
	ck_assert_int_eq(ovl_bolt_sub(&db, &rb, "big", &b), 1);
	ck_assert_uint_ne(b.root, 0);
	ck_assert_int_eq(ovl_bolt_each(&db, &b, count_cb, &s), 0);
	ck_assert_int_eq(s.n, 300);
	ck_assert(s.sorted);
	for (int i = 0; i < 300; i++) {
		snprintf(k, sizeof(k), "k%03d", i);
		snprintf(v, sizeof(v), "v%d", i);
		ck_assert_int_eq(get_str(&db, &b, k, got, sizeof(got)), 1);
		ck_assert_str_eq(got, v);
	}
	/* before the first, between two, after the last */
	ck_assert_int_eq(ovl_bolt_get(&db, &b, "a", 1, &it), 0);
	ck_assert_int_eq(ovl_bolt_get(&db, &b, "k0005", 5, &it), 0);
	ck_assert_int_eq(ovl_bolt_get(&db, &b, "z", 1, &it), 0);
	ck_assert_str_eq(db.err, "");
	ovl_bolt_close(&db);
	free(bytes);
}
END_TEST

/* A value larger than a page: the leaf takes overflow pages. */
START_TEST(t_overflow)
{
	struct bm_opts o = { .page_size = 1024 };
	struct bm_bucket *root = bm_new(), *b = bm_sub(root, "b");
	struct ovl_bolt db;
	struct ovl_bolt_bucket rb, sb;
	struct ovl_bolt_item it;
	unsigned char big[10000];
	size_t len;
	unsigned char *bytes;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7);
	bm_put(b, "blob", 4, big, sizeof(big));
	bm_puts(b, "small", "s");
	bytes = make(root, &o, &len);
	ck_assert_msg(ovl_bolt_open_mem(&db, bytes, len) == 0, "%s", db.err);
	ovl_bolt_root(&db, &rb);
	ck_assert_int_eq(ovl_bolt_sub(&db, &rb, "b", &sb), 1);
	ck_assert_int_eq(ovl_bolt_get(&db, &sb, "blob", 4, &it), 1);
	ck_assert_uint_eq(it.vlen, sizeof(big));
	ck_assert(memcmp(it.val, big, sizeof(big)) == 0);
	ck_assert_int_eq(ovl_bolt_get(&db, &sb, "small", 5, &it), 1);
	ovl_bolt_close(&db);
	/* the overflow pages cut off: the page overflows the file */
	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len - 1024), -1);
	ck_assert_msg(strstr(db.err, "cut short"), "%s", db.err);
	ovl_bolt_close(&db);
	free(bytes);
}
END_TEST

/* The newer valid meta is used; a damaged one is passed over. */
START_TEST(t_metas)
{
	struct bm_opts o = { .page_size = 16384 };
	struct ovl_bolt db;
	size_t len;
	unsigned char *bytes = make(small_tree(), &o, &len);

	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len), 0);
	ck_assert_uint_eq(db.txid, 3);
	ck_assert_uint_eq(db.page_size, 16384);
	ovl_bolt_close(&db);
	bytes[16384 + 16 + 60] ^= 1;	/* meta 1's checksum */
	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len), 0);
	ck_assert_uint_eq(db.txid, 2);
	ovl_bolt_close(&db);
	bytes[16384 + 16 + 60] ^= 1;
	/* meta 0 bad: its page size is found by probing for meta 1 */
	bytes[16] ^= 0xff;
	ck_assert_msg(ovl_bolt_open_mem(&db, bytes, len) == 0, "%s", db.err);
	ck_assert_uint_eq(db.page_size, 16384);
	ck_assert_uint_eq(db.txid, 3);
	check_small(bytes, len);
	ovl_bolt_close(&db);
	/* both bad */
	bytes[16384 + 16 + 60] ^= 1;
	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len), -1);
	ck_assert_msg(strstr(db.err, "meta"), "%s", db.err);
	ovl_bolt_close(&db);
	free(bytes);
}
END_TEST

/* Not a database at all, or a meta saying what cannot be. */
START_TEST(t_bad_files)
{
	static unsigned char zeros[8192];
	struct bm_opts o = { .page_size = 4096 };
	struct ovl_bolt db;
	size_t len;
	unsigned char *bytes;

	ck_assert_int_eq(ovl_bolt_open_mem(&db, zeros, sizeof(zeros)), -1);
	ck_assert_msg(strstr(db.err, "not a bbolt"), "%s", db.err);
	ck_assert_int_eq(ovl_bolt_open_mem(&db, zeros, 0), -1);
	ck_assert_int_eq(ovl_bolt_open_mem(&db, zeros, 10), -1);

	bytes = make(small_tree(), &o, &len);
	/* a page size of 64 in both metas, signed */
	for (int m = 0; m < 2; m++) {
		bytes[m * 4096 + 16 + 8] = 64;
		bytes[m * 4096 + 16 + 9] = 0;
		bm_resign(bytes, 4096, (uint64_t)m);
	}
	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len), -1);
	ck_assert_msg(strstr(db.err, "page size"), "%s", db.err);
	free(bytes);

	/* more pages than the file has; a root past the pages in use */
	bytes = make(small_tree(), &o, &len);
	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len - 4096), -1);
	ck_assert_msg(strstr(db.err, "cut short"), "%s", db.err);
	for (int m = 0; m < 2; m++) {
		bytes[m * 4096 + 16 + 16] = 0xee;
		bm_resign(bytes, 4096, (uint64_t)m);
	}
	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len), -1);
	ck_assert_msg(strstr(db.err, "root"), "%s", db.err);
	free(bytes);
}
END_TEST

/* The root bucket's page of a database whose root is a branch page. */
static unsigned char *branchy(size_t *len, uint64_t *rootpg, struct ovl_bolt_bucket *big)
{
	struct bm_opts o = { .page_size = 1024, .leaf_max = 2, .branch_max = 2,
			     .no_inline = true };
	struct bm_bucket *root = bm_new();
	struct ovl_bolt db;
	struct ovl_bolt_bucket rb;
	unsigned char *bytes;

	fill(bm_sub(root, "big"), 40);
	bytes = make(root, &o, len);
	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, *len), 0);
	ovl_bolt_root(&db, &rb);
	ck_assert_int_eq(ovl_bolt_sub(&db, &rb, "big", big), 1);
	*rootpg = big->root;
	ck_assert_int_eq(bytes[*rootpg * 1024 + 8], 0x01);	/* a branch */
	ovl_bolt_close(&db);
	return bytes;
}

/* Branch pages leading back to themselves, or twice to one page. */
START_TEST(t_loops)
{
	struct ovl_bolt db;
	struct ovl_bolt_bucket big;
	struct ovl_bolt_item it;
	struct seen s = { .sorted = true };
	uint64_t rp;
	size_t len;
	unsigned char *bytes = branchy(&len, &rp, &big);
	unsigned char *e0 = bytes + rp * 1024 + 16, *e1 = e0 + 16;

	/* its first child is itself */
	bm_le(e0 + 8, rp, 8);
	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len), 0);
	ck_assert_int_eq(ovl_bolt_each(&db, &big, count_cb, &s), -1);
	ck_assert_msg(db.err[0], "no reason");
	ovl_bolt_close(&db);
	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len), 0);
	ck_assert_int_eq(ovl_bolt_get(&db, &big, "k000", 4, &it), -1);
	ovl_bolt_close(&db);
	/* both children the page itself: 2^depth paths without the budget */
	bm_le(e1 + 8, rp, 8);
	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len), 0);
	ck_assert_int_eq(ovl_bolt_each(&db, &big, count_cb, &s), -1);
	ovl_bolt_close(&db);
	free(bytes);
}
END_TEST

/* Offsets and ids that point out of their page or the file. */
START_TEST(t_bounds)
{
	struct ovl_bolt db;
	struct ovl_bolt_bucket big;
	struct seen s = { .sorted = true };
	uint64_t rp;
	size_t len;
	unsigned char *bytes = branchy(&len, &rp, &big), *keep = malloc(len);
	unsigned char *pg = bytes + rp * 1024;
	static const struct { int off, width; uint64_t val; const char *why; } cases[] = {
		{ 16 + 8, 8, 1000000, "not a page in use" },	/* child id */
		{ 16 + 8, 8, 1, "not a page in use" },		/* a meta page */
		{ 16 + 0, 4, 5000, "past its page" },		/* key pos */
		{ 16 + 4, 4, 0xffffffff, "past its page" },	/* key size */
		{ 10, 2, 0xffff, "do not fit" },		/* count */
		{ 10, 2, 0, "empty" },
		{ 8, 2, 0x10, "not a branch or leaf" },		/* flags */
		{ 0, 8, 3, "names itself" },			/* id */
		{ 12, 4, 0xffffffff, "overflows" },
	};

	ck_assert_ptr_nonnull(keep);
	memcpy(keep, bytes, len);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		memcpy(bytes, keep, len);
		bm_le(pg + cases[c].off, cases[c].val, cases[c].width);
		ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len), 0);
		ck_assert_int_eq(ovl_bolt_each(&db, &big, count_cb, &s), -1);
		ck_assert_msg(strstr(db.err, cases[c].why), "case %zu: %s", c, db.err);
		ovl_bolt_close(&db);
	}
	free(keep);
	free(bytes);
}
END_TEST

/* Leaf elements and inline buckets that do not fit. */
START_TEST(t_leaf_bounds)
{
	struct bm_opts o = { 0 };
	struct bm_bucket *root = bm_new();
	struct ovl_bolt db;
	struct ovl_bolt_bucket rb, sub;
	struct ovl_bolt_item it;
	struct seen s = { .sorted = true };
	size_t len;
	unsigned char *bytes;

	bm_puts(bm_sub(root, "in"), "k", "v");	/* inline */
	bm_puts(root, "plain", "v");
	bytes = make(root, &o, &len);
	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len), 0);
	ovl_bolt_root(&db, &rb);
	ck_assert_int_eq(ovl_bolt_get(&db, &rb, "in", 2, &it), 1);
	ck_assert_int_eq(ovl_bolt_item_bucket(&db, &it, &sub), 0);
	ck_assert_uint_eq(sub.root, 0);
	/* an item not a bucket, a header cut short, an inline page cut */
	ck_assert_int_eq(ovl_bolt_get(&db, &rb, "plain", 5, &it), 1);
	ck_assert_int_eq(ovl_bolt_item_bucket(&db, &it, &sub), -1);
	ck_assert_int_eq(ovl_bolt_get(&db, &rb, "in", 2, &it), 1);
	it.vlen = 10;
	ck_assert_int_eq(ovl_bolt_item_bucket(&db, &it, &sub), -1);
	it.vlen = 16 + 17;	/* the page header and one byte of an element */
	ck_assert_int_eq(ovl_bolt_item_bucket(&db, &it, &sub), 0);
	db.err[0] = '\0';	/* the first damage is kept: forget the ones above */
	ck_assert_int_eq(ovl_bolt_each(&db, &sub, count_cb, &s), -1);
	ck_assert_msg(strstr(db.err, "do not fit"), "%s", db.err);
	ovl_bolt_close(&db);

	/* the root leaf's first element: its value runs past the page */
	ck_assert_int_eq(ovl_bolt_open_mem(&db, bytes, len), 0);
	unsigned char *leaf = bytes + db.root * 4096 + 16;
	bm_le(leaf + 12, 0x7fffffff, 4);
	ck_assert_int_eq(ovl_bolt_each(&db, &rb, count_cb, &s), -1);
	ck_assert_msg(strstr(db.err, "past its page"), "%s", db.err);
	ovl_bolt_close(&db);
	free(bytes);
}
END_TEST

START_TEST(t_uvarint)
{
	static const struct { const char *b; size_t n; bool ok; uint64_t v; } c[] = {
		{ "\x00", 1, true, 0 },
		{ "\x01", 1, true, 1 },
		{ "\x7f", 1, true, 127 },
		{ "\x80\x01", 2, true, 128 },
		{ "\xac\x02", 2, true, 300 },
		{ "\x05\xff", 2, true, 5 },	/* what follows is ignored, as Go does */
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, true, UINT64_MAX },
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, false, 0 },
		{ "\x80\x80", 2, false, 0 },
		{ "", 0, false, 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint64_t v = 42;
		ck_assert_msg(ovl_bolt_uvarint((const unsigned char *)c[i].b, c[i].n, &v) == c[i].ok,
			      "case %zu", i);
		if (c[i].ok)
			ck_assert_uint_eq(v, c[i].v);
	}
}
END_TEST

/* From a file: read whole, bounded, regular files only. */
START_TEST(t_open_fd)
{
	struct bm_opts o = { 0 };
	struct ovl_bolt db;
	char path[] = "/tmp/test_bbolt.XXXXXX";
	size_t len;
	unsigned char *bytes = make(small_tree(), &o, &len);
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(write(fd, bytes, len), (ssize_t)len);
	ck_assert_msg(ovl_bolt_open_fd(&db, fd, 1 << 20) == 0, "%s", db.err);
	ck_assert_ptr_nonnull(db.owned);
	ovl_bolt_close(&db);
	ck_assert_int_eq(ovl_bolt_open_fd(&db, fd, len - 1), -1);
	ck_assert_msg(strstr(db.err, "too large"), "%s", db.err);
	ovl_bolt_close(&db);
	close(fd);
	fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(ovl_bolt_open_fd(&db, fd, 1 << 20), -1);
	ck_assert_msg(strstr(db.err, "regular"), "%s", db.err);
	ovl_bolt_close(&db);
	close(fd);
	free(bytes);
}
END_TEST

/* ---- a file written by bbolt itself ---- */

struct snap {
	char key[128], parent[128];
	uint64_t id;
	int kind;
};

struct snaps {
	struct ovl_bolt *db;
	struct snap s[8];
	int n;
};

static int snap_cb(void *arg, const struct ovl_bolt_item *it)
{
	struct snaps *ss = arg;
	struct snap *s = &ss->s[ss->n++];
	struct ovl_bolt_bucket b;
	struct ovl_bolt_item v;

	ck_assert_int_lt(ss->n, 8);
	ck_assert(it->bucket);
	snprintf(s->key, sizeof(s->key), "%.*s", (int)it->klen, (const char *)it->key);
	ck_assert_int_eq(ovl_bolt_item_bucket(ss->db, it, &b), 0);
	ck_assert_int_eq(ovl_bolt_get(ss->db, &b, "id", 2, &v), 1);
	ck_assert(ovl_bolt_uvarint(v.val, v.vlen, &s->id));
	ck_assert_int_eq(ovl_bolt_get(ss->db, &b, "kind", 4, &v), 1);
	ck_assert_uint_eq(v.vlen, 1);
	s->kind = v.val[0];
	if (ovl_bolt_get(ss->db, &b, "parent", 6, &v) == 1)
		snprintf(s->parent, sizeof(s->parent), "%.*s", (int)v.vlen, (const char *)v.val);
	return 0;
}

/*
 * containerd 1.6.20's snapshotter after `ctr images import` of a
 * two-layer image, `ctr run` of container c1, `ctr snapshots view v1`
 * of the top layer and `ctr snapshots prepare p1` of the base.
 */
START_TEST(t_containerd_file)
{
	static unsigned char buf[1 << 20];
	char path[4096];
	const char *srcdir = getenv("top_srcdir");
	struct ovl_bolt db;
	struct ovl_bolt_bucket root, v1, sb;
	struct snaps ss = { .db = &db };
	gzFile gz;
	int n;

	snprintf(path, sizeof(path), "%s/tests/unit/containerd-1.6.20-metadata.db.gz",
		 srcdir ? srcdir : ".");
	gz = gzopen(path, "rb");
	ck_assert_msg(gz != NULL, "%s", path);
	n = gzread(gz, buf, sizeof(buf));
	gzclose(gz);
	ck_assert_int_eq(n, 65536);
	ck_assert_msg(ovl_bolt_open_mem(&db, buf, (size_t)n) == 0, "%s", db.err);
	ck_assert_uint_eq(db.page_size, 4096);
	ovl_bolt_root(&db, &root);
	ck_assert_int_eq(ovl_bolt_sub(&db, &root, "v1", &v1), 1);
	ck_assert_int_eq(ovl_bolt_sub(&db, &v1, "snapshots", &sb), 1);
	ck_assert_int_eq(ovl_bolt_each(&db, &sb, snap_cb, &ss), 0);
	ck_assert_int_eq(ss.n, 5);
	/* key order; kinds 1 view, 2 active, 3 committed */
	ck_assert_str_eq(ss.s[0].key, "default/2/sha256:09a29e5aa6b4cd72d05444a52368815fa7513d867ee99adbd549a4675ca04fca");
	ck_assert_uint_eq(ss.s[0].id, 1);
	ck_assert_int_eq(ss.s[0].kind, 3);
	ck_assert_str_eq(ss.s[0].parent, "");
	ck_assert_uint_eq(ss.s[1].id, 2);
	ck_assert_str_eq(ss.s[1].parent, ss.s[0].key);
	ck_assert_str_eq(ss.s[2].key, "default/5/c1");
	ck_assert_int_eq(ss.s[2].kind, 2);
	ck_assert_str_eq(ss.s[2].parent, ss.s[1].key);
	ck_assert_str_eq(ss.s[3].key, "default/6/v1");
	ck_assert_int_eq(ss.s[3].kind, 1);
	ck_assert_str_eq(ss.s[4].key, "default/7/p1");
	ck_assert_uint_eq(ss.s[4].id, 5);
	ck_assert_str_eq(ss.s[4].parent, ss.s[0].key);
	ovl_bolt_close(&db);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("bbolt");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_small_inline);
	tcase_add_test(tc, t_small_pages);
	tcase_add_test(tc, t_branches);
	tcase_add_test(tc, t_overflow);
	tcase_add_test(tc, t_metas);
	tcase_add_test(tc, t_bad_files);
	tcase_add_test(tc, t_loops);
	tcase_add_test(tc, t_bounds);
	tcase_add_test(tc, t_leaf_bounds);
	tcase_add_test(tc, t_uvarint);
	tcase_add_test(tc, t_open_fd);
	tcase_add_test(tc, t_containerd_file);
	suite_add_tcase(s, tc);
	return s;
}
