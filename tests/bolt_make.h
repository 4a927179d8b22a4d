/*
 * A small bbolt writer for the tests: a tree of buckets and values made in
 * memory becomes the bytes of a database file as bbolt lays them out
 * (src/lib/store/bbolt.c has the format): two meta pages, an empty freelist
 * page, then the pages of the buckets. Buckets are inline where bbolt
 * would inline them (no nested bucket, at most a quarter page), unless
 * told not to; a bucket's leaves hold at most leaf_max keys and its branch
 * pages at most branch_max children, so small numbers make deep trees; a
 * leaf larger than a page takes overflow pages.
 *
 * Used by tests/unit/test_bbolt.c, the containerd store of store_skel.h
 * and the fuzz targets. Allocation failures abort (tests only).
 */
#ifndef OVL_TESTS_BOLT_MAKE_H
#define OVL_TESTS_BOLT_MAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct bm_bucket;

struct bm_kv {
	unsigned char *key;
	size_t klen;
	unsigned char *val;	/* a value ... */
	size_t vlen;
	struct bm_bucket *sub;	/* ... or a nested bucket */
};

struct bm_bucket {
	struct bm_kv *kv;
	size_t n;
	bool no_inline;		/* always on pages of its own */
};

struct bm_opts {
	uint32_t page_size;	/* 0: 4096 */
	unsigned leaf_max;	/* 0: no limit */
	unsigned branch_max;	/* 0: no limit (at least 2 when set) */
	bool no_inline;		/* no bucket inline */
};

static inline void *bm_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		abort();
	return p;
}

static inline struct bm_bucket *bm_new(void)
{
	return bm_alloc(sizeof(struct bm_bucket));
}

static inline struct bm_kv *bm_add(struct bm_bucket *b, const void *key, size_t klen)
{
	struct bm_kv *kv;

	b->kv = realloc(b->kv, (b->n + 1) * sizeof(*b->kv));
	if (!b->kv)
		abort();
	kv = &b->kv[b->n++];
	memset(kv, 0, sizeof(*kv));
	kv->key = bm_alloc(klen);
	memcpy(kv->key, key, klen);
	kv->klen = klen;
	return kv;
}

static inline void bm_put(struct bm_bucket *b, const void *key, size_t klen, const void *val,
		   size_t vlen)
{
	struct bm_kv *kv = bm_add(b, key, klen);

	kv->val = bm_alloc(vlen);
	memcpy(kv->val, val, vlen);
	kv->vlen = vlen;
}

static inline void bm_puts(struct bm_bucket *b, const char *key, const char *val)
{
	bm_put(b, key, strlen(key), val, strlen(val));
}

static inline struct bm_bucket *bm_sub(struct bm_bucket *b, const char *key)
{
	struct bm_kv *kv = bm_add(b, key, strlen(key));

	kv->sub = bm_new();
	return kv->sub;
}

static inline void bm_free(struct bm_bucket *b)
{
	for (size_t i = 0; b && i < b->n; i++) {
		free(b->kv[i].key);
		free(b->kv[i].val);
		bm_free(b->kv[i].sub);
	}
	if (b)
		free(b->kv);
	free(b);
}

/* ---- the writer ---- */

struct bm_w {
	const struct bm_opts *o;
	uint32_t ps;
	unsigned char *buf;
	uint64_t npages;
};

static inline void bm_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t bm_pages(struct bm_w *w, uint64_t n)
{
	uint64_t id = w->npages;

	w->buf = realloc(w->buf, (size_t)((w->npages + n) * w->ps));
	if (!w->buf)
		abort();
	memset(w->buf + id * w->ps, 0, (size_t)(n * w->ps));
	w->npages += n;
	return id;
}

static inline int bm_cmp(const void *a, const void *b)
{
	const struct bm_kv *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int r = memcmp(x->key, y->key, n);

	return r ? r : (x->klen > y->klen) - (x->klen < y->klen);
}

/* A leaf page of items (values already encoded in vals) into out. */
static inline size_t bm_leaf(const struct bm_kv *kv, unsigned char **vals, size_t *vlens, size_t n,
		      unsigned char *out)
{
	size_t data = 16 + 16 * n;

	if (out) {
		bm_le(out + 8, 0x02, 2);
		bm_le(out + 10, n, 2);
	}
	for (size_t i = 0; i < n; i++) {
		if (out) {
			unsigned char *e = out + 16 + 16 * i;
			bm_le(e, kv[i].sub ? 1 : 0, 4);
			bm_le(e + 4, data - (16 + 16 * i), 4);
			bm_le(e + 8, kv[i].klen, 4);
			bm_le(e + 12, vlens[i], 4);
			memcpy(out + data, kv[i].key, kv[i].klen);
			memcpy(out + data + kv[i].klen, vals[i], vlens[i]);
		}
		data += kv[i].klen + vlens[i];
	}
	return data;
}

/* A page (with overflow pages) holding len bytes made by the caller. */
static inline uint64_t bm_place(struct bm_w *w, const unsigned char *bytes, size_t len)
{
	uint64_t n = (len + w->ps - 1) / w->ps, id = bm_pages(w, n ? n : 1);
	unsigned char *p = w->buf + id * w->ps;

	memcpy(p, bytes, len);
	bm_le(p, id, 8);
	bm_le(p + 12, (n ? n : 1) - 1, 4);
	return id;
}

static inline unsigned char *bm_bucket_value(struct bm_w *w, struct bm_bucket *b, bool pages,
				      size_t *vlen);

/* The pages of bucket b; returns its root page. */
static inline uint64_t bm_bucket_pages(struct bm_w *w, struct bm_bucket *b, unsigned char **vals,
				size_t *vlens)
{
	size_t per = w->o->leaf_max ? w->o->leaf_max : (b->n ? b->n : 1);
	size_t nleaves = b->n ? (b->n + per - 1) / per : 1;
	uint64_t *ids = bm_alloc(nleaves * sizeof(*ids));
	size_t *first = bm_alloc(nleaves * sizeof(*first));
	size_t level = nleaves;

	for (size_t l = 0; l < nleaves; l++) {
		size_t from = l * per, cnt = b->n - from < per ? b->n - from : per;
		if (!b->n)
			cnt = 0;
		size_t len = bm_leaf(b->kv + from, vals + from, vlens + from, cnt, NULL);
		unsigned char *tmp = bm_alloc(len);
		bm_leaf(b->kv + from, vals + from, vlens + from, cnt, tmp);
		ids[l] = bm_place(w, tmp, len);
		first[l] = from;
		free(tmp);
	}
	/* branch levels until one root; a child's key is its first key */
	size_t bper = w->o->branch_max >= 2 ? w->o->branch_max : level;
	while (level > 1) {
		size_t nb = (level + bper - 1) / bper;
		for (size_t g = 0; g < nb; g++) {
			size_t from = g * bper, cnt = level - from < bper ? level - from : bper;
			size_t len = 16 + 16 * cnt;
			for (size_t i = 0; i < cnt; i++)
				len += b->kv[first[from + i]].klen;
			unsigned char *tmp = bm_alloc(len);
			size_t data = 16 + 16 * cnt;
			bm_le(tmp + 8, 0x01, 2);
			bm_le(tmp + 10, cnt, 2);
			for (size_t i = 0; i < cnt; i++) {
				const struct bm_kv *k = &b->kv[first[from + i]];
				unsigned char *e = tmp + 16 + 16 * i;
				bm_le(e, data - (16 + 16 * i), 4);
				bm_le(e + 4, k->klen, 4);
				bm_le(e + 8, ids[from + i], 8);
				memcpy(tmp + data, k->key, k->klen);
				data += k->klen;
			}
			uint64_t id = bm_place(w, tmp, len);
			free(tmp);
			ids[g] = id;
			first[g] = first[from];
		}
		level = nb;
	}
	uint64_t root = ids[0];
	free(ids);
	free(first);
	return root;
}

/* What a parent stores for bucket b: its header, and its page if inline. */
static inline unsigned char *bm_bucket_value(struct bm_w *w, struct bm_bucket *b, bool pages,
				      size_t *vlen)
{
	unsigned char **vals = bm_alloc((b->n + 1) * sizeof(*vals));
	size_t *vlens = bm_alloc((b->n + 1) * sizeof(*vlens));
	bool has_sub = false;
	unsigned char *out;

	if (b->n)
		qsort(b->kv, b->n, sizeof(*b->kv), bm_cmp);
	for (size_t i = 0; i < b->n; i++) {
		if (b->kv[i].sub) {
			vals[i] = bm_bucket_value(w, b->kv[i].sub, false, &vlens[i]);
			has_sub = true;
		} else {
			vals[i] = bm_alloc(b->kv[i].vlen);
			memcpy(vals[i], b->kv[i].val, b->kv[i].vlen);
			vlens[i] = b->kv[i].vlen;
		}
	}
	size_t leaf = bm_leaf(b->kv, vals, vlens, b->n, NULL);
	/* bbolt's inlineable(): a leaf without nested buckets, a quarter page */
	if (!pages && !w->o->no_inline && !b->no_inline && !has_sub && leaf <= w->ps / 4) {
		*vlen = 16 + leaf;
		out = bm_alloc(*vlen);
		bm_leaf(b->kv, vals, vlens, b->n, out + 16);
	} else {
		*vlen = 16;
		out = bm_alloc(16);
		bm_le(out, bm_bucket_pages(w, b, vals, vlens), 8);
	}
	for (size_t i = 0; i < b->n; i++)
		free(vals[i]);
	free(vals);
	free(vlens);
	return out;
}

static inline uint64_t bm_fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Meta page id (0 or 1) for transaction txid. */
static inline void bm_meta(struct bm_w *w, uint64_t id, uint64_t root, uint64_t txid)
{
	unsigned char *p = w->buf + id * w->ps, *m = p + 16;

	bm_le(p, id, 8);
	bm_le(p + 8, 0x04, 2);
	bm_le(m, 0xED0CDAED, 4);
	bm_le(m + 4, 2, 4);
	bm_le(m + 8, w->ps, 4);
	bm_le(m + 16, root, 8);
	bm_le(m + 32, 2, 8);		/* the freelist page */
	bm_le(m + 40, w->npages, 8);
	bm_le(m + 48, txid, 8);
	bm_le(m + 56, bm_fnv(m, 56), 8);
}

/* The database of root's buckets; *len its bytes (free() it). */
static inline unsigned char *bm_write(struct bm_bucket *root, const struct bm_opts *o, size_t *len)
{
	struct bm_w w = { .o = o, .ps = o->page_size ? o->page_size : 4096 };
	size_t vlen;

	bm_pages(&w, 3);
	bm_le(w.buf + 2 * w.ps, 2, 8);
	bm_le(w.buf + 2 * w.ps + 8, 0x10, 2);
	unsigned char *v = bm_bucket_value(&w, root, true, &vlen);
	uint64_t rootpg = v[0] | (uint64_t)v[1] << 8 | (uint64_t)v[2] << 16 |
			  (uint64_t)v[3] << 24 | (uint64_t)v[4] << 32 | (uint64_t)v[5] << 40;
	free(v);
	/* both metas valid, page 1 the newer (txid 3), as after a commit */
	bm_meta(&w, 0, rootpg, 2);
	bm_meta(&w, 1, rootpg, 3);
	*len = (size_t)(w.npages * w.ps);
	return w.buf;
}

/*
 * Patches of a fuzz input applied to a database of len bytes: each is an
 * offset (2 bytes little-endian, times 7, wrapping around len), a count
 * (1 byte) and that many bytes.
 */
static inline void bm_patch(unsigned char *db, size_t len, const uint8_t *in, size_t n)
{
	for (size_t i = 0; len && i + 3 <= n;) {
		size_t off = (size_t)(in[i] | in[i + 1] << 8) * 7 % len;
		size_t cnt = in[i + 2];
		i += 3;
		for (size_t k = 0; k < cnt && i < n; k++, i++)
			db[(off + k) % len] = in[i];
	}
}

/* Re-sign meta page id after a test changed it. */
static inline void bm_resign(unsigned char *db, uint32_t ps, uint64_t id)
{
	unsigned char *m = db + id * ps + 16;

	bm_le(m + 56, bm_fnv(m, 56), 8);
}

#endif
