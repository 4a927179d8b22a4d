/*
 * bbolt databases read-only (overlay/bbolt.h). The format, as bbolt's
 * internal/common (page.go, meta.go, bucket.go) and db.go define it:
 *
 *   page header  id u64, flags u16, count u16, overflow u32   (16 bytes)
 *   flags        0x01 branch, 0x02 leaf, 0x04 meta, 0x10 freelist
 *   meta         magic u32 0xED0CDAED, version u32 2, page size u32,
 *                flags u32, root bucket {root u64, sequence u64},
 *                freelist u64, pgid u64 (pages in use), txid u64,
 *                checksum u64 = FNV-1a 64 of the 56 bytes before it;
 *                at the start of pages 0 and 1, after the header
 *   branch elem  pos u32, ksize u32, pgid u64   (pos from the element)
 *   leaf elem    flags u32 (1: a bucket), pos u32, ksize u32, vsize u32
 *   bucket value {root u64, sequence u64}; root 0: an inline leaf page
 *                follows in the value
 *
 * A page spans overflow + 1 pages. Numbers are little-endian (the files
 * of amd64 and arm64 machines); a big-endian file fails the magic test.
 * Every multi-byte read is byte-wise: pages inside values are unaligned.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/bbolt.h"
#include "overlay/util.h"

#define BOLT_MAGIC	0xED0CDAEDu
#define BOLT_VERSION	2u
#define PAGE_HDR	16
#define ELEM_SIZE	16	/* branch and leaf elements alike */
#define META_SUMMED	56	/* the meta's bytes before its checksum */
#define BUCKET_HDR	16
#define FLAG_BRANCH	0x01
#define FLAG_LEAF	0x02
#define ITEM_BUCKET	0x01
/* bbolt probes for the second meta at 1 KiB << 0..14 when the first is bad */
#define PROBE_MAX	14
#define PAGE_MIN	128	/* a header and a meta with room to spare */
#define PAGE_MAX	(16u << 20)
/* page reads allowed per page of the file: a valid tree is read about
 * once per lookup; a loop or a shared page spends it */
#define READS_PER_PAGE	64

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int damage(struct ovl_bolt *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int damage(struct ovl_bolt *db, const char *fmt, ...)
{
	va_list ap;

	if (!db->err[0]) {	/* the first damage is the one worth saying */
		va_start(ap, fmt);
		vsnprintf(db->err, sizeof(db->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

bool ovl_bolt_uvarint(const unsigned char *p, size_t len, uint64_t *v)
{
	uint64_t x = 0;

	for (size_t i = 0; i < len && i < 10; i++) {
		if (i == 9 && p[i] > 1)
			return false;	/* past 64 bits */
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* ---- meta pages ---- */

struct meta {
	uint32_t page_size;
	uint64_t root, pgid, txid;
};

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The meta of the page at off, if the bytes are there and it validates. */
static bool meta_at(const struct ovl_bolt *db, uint64_t off, struct meta *m)
{
	const unsigned char *p;

	if (off > db->size || db->size - off < PAGE_HDR + META_SUMMED + 8)
		return false;
	p = db->data + off + PAGE_HDR;
	if (le32(p) != BOLT_MAGIC || le32(p + 4) != BOLT_VERSION ||
	    le64(p + META_SUMMED) != fnv1a64(p, META_SUMMED))
		return false;
	m->page_size = le32(p + 8);
	m->root = le64(p + 16);
	m->pgid = le64(p + 40);
	m->txid = le64(p + 48);
	return true;
}

/* As bbolt opens a file: the page size from meta 0, else from a meta
 * found at 1 KiB << i; then the valid meta of pages 0 and 1 with the
 * higher transaction id. */
static int read_meta(struct ovl_bolt *db, struct meta *use)
{
	struct meta m0 = { 0 }, m1 = { 0 }, probe;
	uint32_t ps = 0;
	bool ok0, ok1;

	if (meta_at(db, 0, &probe))
		ps = probe.page_size;
	for (int i = 0; !ps && i <= PROBE_MAX; i++) {
		uint64_t pos = 1024ull << i;
		if (pos + 1024 >= db->size)
			break;
		if (meta_at(db, pos, &probe))
			ps = probe.page_size;
	}
	if (!ps)
		return damage(db, "not a bbolt database (no valid meta page)");
	if (ps < PAGE_MIN || ps > PAGE_MAX)
		return damage(db, "page size %u out of range", ps);
	ok0 = meta_at(db, 0, &m0) && m0.page_size == ps;
	ok1 = meta_at(db, ps, &m1) && m1.page_size == ps;
	if (!ok0 && !ok1)
		return damage(db, "both meta pages are damaged");
	*use = ok0 && (!ok1 || m0.txid > m1.txid) ? m0 : m1;
	db->page_size = ps;
	return 0;
}

/* The meta and the pages it counts, of db->data and db->size. */
static int open_bytes(struct ovl_bolt *db)
{
	struct meta m = { 0 };
	uint64_t have;

	if (read_meta(db, &m) < 0)
		return -1;
	have = db->size / db->page_size;
	if (m.pgid < 3 || m.pgid > have)
		return damage(db, "cut short or damaged: the meta counts %llu pages, "
			      "the file holds %llu", (unsigned long long)m.pgid,
			      (unsigned long long)have);
	if (m.root < 2 || m.root >= m.pgid)
		return damage(db, "the root bucket's page %llu is not a page in use",
			      (unsigned long long)m.root);
	db->npages = m.pgid;
	db->size = (size_t)(m.pgid * db->page_size);
	db->txid = m.txid;
	db->root = m.root;
	db->reads_left = READS_PER_PAGE * m.pgid + 1024;
	return 0;
}

int ovl_bolt_open_mem(struct ovl_bolt *db, const void *data, size_t size)
{
	memset(db, 0, sizeof(*db));
	db->data = data;
	db->size = size;
	return open_bytes(db);
}

int ovl_bolt_open_fd(struct ovl_bolt *db, int fd, size_t max)
{
	struct stat sb;
	size_t got = 0;

	memset(db, 0, sizeof(*db));
	if (fstat(fd, &sb) < 0)
		return damage(db, "%s", strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return damage(db, "not a regular file");
	if ((unsigned long long)sb.st_size > max)
		return damage(db, "too large (%lld bytes, at most %zu read)",
			      (long long)sb.st_size, max);
	db->owned = ovl_xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		ssize_t n = pread(fd, db->owned + got, (size_t)sb.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return damage(db, "%s", strerror(errno));
		if (n == 0)
			break;	/* shrank since the fstat: what is there is judged */
		got += (size_t)n;
	}
	db->data = db->owned;
	db->size = got;
	return open_bytes(db);
}

void ovl_bolt_close(struct ovl_bolt *db)
{
	free(db->owned);
	memset(db, 0, sizeof(*db));
}

void ovl_bolt_root(const struct ovl_bolt *db, struct ovl_bolt_bucket *b)
{
	memset(b, 0, sizeof(*b));
	b->root = db->root;
}

/* ---- pages ---- */

struct page {
	const unsigned char *p;
	size_t len;		/* its bytes, overflow pages included */
	uint16_t flags, count;
};

/* Page id of the file: in use, naming itself, a branch or a leaf, its
 * overflow within the file, its elements within its bytes. */
static int page_get(struct ovl_bolt *db, uint64_t id, struct page *pg)
{
	const unsigned char *p;
	uint32_t overflow;

	if (db->reads_left == 0)
		return damage(db, "page reads over budget: the tree loops or shares pages");
	db->reads_left--;
	if (id < 2 || id >= db->npages)
		return damage(db, "a reference to page %llu, not a page in use",
			      (unsigned long long)id);
	p = db->data + id * db->page_size;
	overflow = le32(p + 12);
	if (le64(p) != id)
		return damage(db, "page %llu names itself %llu", (unsigned long long)id,
			      (unsigned long long)le64(p));
	if (overflow >= db->npages - id)
		return damage(db, "page %llu overflows the file", (unsigned long long)id);
	pg->p = p;
	pg->len = (size_t)(overflow + 1ull) * db->page_size;
	pg->flags = le16(p + 8);
	pg->count = le16(p + 10);
	if (pg->flags != FLAG_BRANCH && pg->flags != FLAG_LEAF)
		return damage(db, "page %llu is not a branch or leaf page (flags %#x)",
			      (unsigned long long)id, pg->flags);
	if (pg->flags == FLAG_BRANCH && pg->count == 0)
		return damage(db, "branch page %llu is empty", (unsigned long long)id);
	if (PAGE_HDR + (size_t)pg->count * ELEM_SIZE > pg->len)
		return damage(db, "page %llu: %u elements do not fit", (unsigned long long)id,
			      pg->count);
	return 0;
}

/* A bucket's first page: its root, or its inline leaf. */
static int bucket_page(struct ovl_bolt *db, const struct ovl_bolt_bucket *b, struct page *pg)
{
	if (b->root)
		return page_get(db, b->root, pg);
	if (!b->page || b->len < PAGE_HDR)
		return damage(db, "an inline bucket without its page");
	pg->p = b->page;
	pg->len = b->len;
	pg->flags = le16(b->page + 8);
	pg->count = le16(b->page + 10);
	if (pg->flags != FLAG_LEAF)
		return damage(db, "an inline bucket's page is not a leaf (flags %#x)", pg->flags);
	if (PAGE_HDR + (size_t)pg->count * ELEM_SIZE > pg->len)
		return damage(db, "an inline bucket's %u elements do not fit", pg->count);
	return 0;
}

/* Element i of a leaf page, its key and value within the page. */
static int leaf_item(struct ovl_bolt *db, const struct page *pg, unsigned i,
		     struct ovl_bolt_item *it)
{
	const unsigned char *e = pg->p + PAGE_HDR + (size_t)i * ELEM_SIZE;
	uint64_t at = PAGE_HDR + (uint64_t)i * ELEM_SIZE + le32(e + 4);
	uint64_t klen = le32(e + 8), vlen = le32(e + 12);

	if (at + klen + vlen > pg->len)
		return damage(db, "a leaf element points past its page");
	it->key = pg->p + at;
	it->klen = (size_t)klen;
	it->val = it->key + klen;
	it->vlen = (size_t)vlen;
	it->bucket = le32(e) & ITEM_BUCKET;
	return 0;
}

/* Element i of a branch page: its key and child page. */
static int branch_elem(struct ovl_bolt *db, const struct page *pg, unsigned i,
		       const unsigned char **key, size_t *klen, uint64_t *child)
{
	const unsigned char *e = pg->p + PAGE_HDR + (size_t)i * ELEM_SIZE;
	uint64_t at = PAGE_HDR + (uint64_t)i * ELEM_SIZE + le32(e);
	uint64_t n = le32(e + 4);

	if (at + n > pg->len)
		return damage(db, "a branch element points past its page");
	*key = pg->p + at;
	*klen = (size_t)n;
	*child = le64(e + 8);
	return 0;
}

/* ---- walks ---- */

struct each_ctx {
	int (*fn)(void *arg, const struct ovl_bolt_item *it);
	void *arg;
};

static int each_page(struct ovl_bolt *db, const struct page *pg, int depth, struct each_ctx *c)
{
	if (depth > OVL_BOLT_MAX_DEPTH)
		return damage(db, "the tree is deeper than %d pages", OVL_BOLT_MAX_DEPTH);
	for (unsigned i = 0; i < pg->count; i++) {
		int rc;
		if (pg->flags == FLAG_LEAF) {
			struct ovl_bolt_item it;
			if (leaf_item(db, pg, i, &it) < 0)
				return -1;
			rc = c->fn(c->arg, &it);
		} else {
			const unsigned char *k;
			size_t kl;
			uint64_t child;
			struct page sub;
			if (branch_elem(db, pg, i, &k, &kl, &child) < 0 ||
			    page_get(db, child, &sub) < 0)
				return -1;
			rc = each_page(db, &sub, depth + 1, c);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int ovl_bolt_each(struct ovl_bolt *db, const struct ovl_bolt_bucket *b,
		  int (*fn)(void *arg, const struct ovl_bolt_item *it), void *arg)
{
	struct each_ctx c = { fn, arg };
	struct page pg;

	if (bucket_page(db, b, &pg) < 0)
		return -1;
	return each_page(db, &pg, 0, &c);
}

static int keycmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	return r ? r : (alen > blen) - (alen < blen);
}

int ovl_bolt_get(struct ovl_bolt *db, const struct ovl_bolt_bucket *b, const void *key,
		 size_t klen, struct ovl_bolt_item *it)
{
	struct page pg;

	if (bucket_page(db, b, &pg) < 0)
		return -1;
	for (int depth = 0; pg.flags == FLAG_BRANCH; depth++) {
		/* the last child whose first key is not above the key (the
		 * first child when every one is) */
		unsigned lo = 0, hi = pg.count;
		uint64_t child;
		const unsigned char *k;
		size_t kl;

		if (depth > OVL_BOLT_MAX_DEPTH)
			return damage(db, "the tree is deeper than %d pages", OVL_BOLT_MAX_DEPTH);
		while (hi - lo > 1) {
			unsigned mid = lo + (hi - lo) / 2;
			if (branch_elem(db, &pg, mid, &k, &kl, &child) < 0)
				return -1;
			if (keycmp(k, kl, key, klen) <= 0)
				lo = mid;
			else
				hi = mid;
		}
		if (branch_elem(db, &pg, lo, &k, &kl, &child) < 0 || page_get(db, child, &pg) < 0)
			return -1;
	}
	unsigned lo = 0, hi = pg.count;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (leaf_item(db, &pg, mid, it) < 0)
			return -1;
		int r = keycmp(it->key, it->klen, key, klen);
		if (r == 0)
			return 1;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int ovl_bolt_item_bucket(struct ovl_bolt *db, const struct ovl_bolt_item *it,
			 struct ovl_bolt_bucket *sub)
{
	memset(sub, 0, sizeof(*sub));
	if (!it->bucket)
		return damage(db, "a value where a bucket was expected");
	if (it->vlen < BUCKET_HDR)
		return damage(db, "a bucket header of %zu bytes", it->vlen);
	sub->root = le64(it->val);
	if (!sub->root) {
		sub->page = it->val + BUCKET_HDR;
		sub->len = it->vlen - BUCKET_HDR;
	}
	return 0;
}

int ovl_bolt_sub(struct ovl_bolt *db, const struct ovl_bolt_bucket *b, const char *name,
		 struct ovl_bolt_bucket *sub)
{
	struct ovl_bolt_item it;
	int rc = ovl_bolt_get(db, b, name, strlen(name), &it);

	if (rc <= 0)
		return rc;
	if (!it.bucket)
		return 0;
	return ovl_bolt_item_bucket(db, &it, sub) < 0 ? -1 : 1;
}
