/*
 * Fuzz target: the bbolt reader (bbolt.c).
 *
 * The first input byte picks the mode:
 *   even  the input is a whole database file (its first byte is meta
 *         page 0's id, 0; pages of 128 bytes fit the standalone driver's
 *         512-byte inputs);
 *   odd   the rest is a list of patches (offset: 2 bytes little-endian,
 *         length: 1 byte, then the bytes) applied to a copy of a valid
 *         database shaped like containerd's snapshotter metadata (nested,
 *         inline and paged buckets, branch levels, an overflow value),
 *         made once by tests/bolt_make.h; offsets wrap around its size.
 * Then every bucket is walked (nested ones too, to a depth of 8) and
 * every key seen is looked up again.
 *
 * Never crash, leak or hang; every key and value lies inside the file's
 * bytes; a lookup that finds a key returns that key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/bbolt.h"
#include "../bolt_make.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_seeds(size_t *n);

static unsigned char *tmpl;
static size_t tmpl_len;

/* containerd's snapshotter metadata, bigger than it is in life */
static void make_template(void)
{
	struct bm_opts o = { .page_size = 512, .leaf_max = 4, .branch_max = 3 };
	struct bm_bucket *root = bm_new(), *v1 = bm_sub(root, "v1");
	struct bm_bucket *snaps = bm_sub(v1, "snapshots"), *parents = bm_sub(v1, "parents");
	unsigned char big[1500];
	char key[64], parent[64], pk[3];

	for (int i = 1; i <= 12; i++) {
		struct bm_bucket *s;
		snprintf(key, sizeof(key), "default/%d/sha256:%02d", i, i);
		s = bm_sub(snaps, key);
		unsigned char id = (unsigned char)i, kind = i == 12 ? 2 : 3;
		bm_put(s, "id", 2, &id, 1);
		bm_put(s, "kind", 4, &kind, 1);
		if (i > 1) {
			snprintf(parent, sizeof(parent), "default/%d/sha256:%02d", i - 1, i - 1);
			bm_puts(s, "parent", parent);
			pk[0] = (char)(i - 1);
			pk[1] = 0;
			pk[2] = (char)i;
			bm_put(parents, pk, 3, key, strlen(key));
		}
		if (i % 4 == 0)	/* a nested bucket: on pages of its own */
			bm_puts(bm_sub(s, "labels"), "containerd.io/snapshot.ref", key);
	}
	memset(big, 'b', sizeof(big));
	bm_put(root, "big", 3, big, sizeof(big));
	tmpl = bm_write(root, &o, &tmpl_len);
	bm_free(root);
}

struct walk {
	struct ovl_bolt *db;
	const struct ovl_bolt_bucket *bucket;
	int depth;
};

static void in_file(const struct ovl_bolt *db, const unsigned char *p, size_t n)
{
	if (p < db->data || p > db->data + db->size || n > (size_t)(db->data + db->size - p))
		abort();
}

static int walk_cb(void *arg, const struct ovl_bolt_item *it)
{
	struct walk *w = arg;
	struct ovl_bolt_item again;
	struct ovl_bolt_bucket sub;

	in_file(w->db, it->key, it->klen);
	in_file(w->db, it->val, it->vlen);
	/* damaged pages may be out of order: found or not, but never another key */
	if (ovl_bolt_get(w->db, w->bucket, it->key, it->klen, &again) == 1 &&
	    (again.klen != it->klen || memcmp(again.key, it->key, it->klen)))
		abort();
	if (it->bucket && w->depth < 8 && ovl_bolt_item_bucket(w->db, it, &sub) == 0) {
		struct walk inner = { w->db, &sub, w->depth + 1 };
		int rc = ovl_bolt_each(w->db, &sub, walk_cb, &inner);
		if (rc != 0 && rc != -1)
			abort();
		struct ovl_bolt_item v;
		(void)ovl_bolt_get(w->db, &sub, "id", 2, &v);
	}
	return 0;
}

static void walk_root(struct ovl_bolt *db)
{
	struct ovl_bolt_bucket root, sub;
	struct ovl_bolt_item it;
	struct walk w = { db, &root, 0 };
	static const char *const keys[] = { "v1", "big", "", "snapshots", "zzzz" };

	ovl_bolt_root(db, &root);
	if (ovl_bolt_each(db, &root, walk_cb, &w) < -1)
		abort();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int rc = ovl_bolt_get(db, &root, keys[i], strlen(keys[i]), &it);
		if (rc == 1 && (it.klen != strlen(keys[i]) || memcmp(it.key, keys[i], it.klen)))
			abort();
		if (rc == 1)
			in_file(db, it.val, it.vlen);
		rc = ovl_bolt_sub(db, &root, keys[i], &sub);
		if (rc < -1 || rc > 1)
			abort();
	}
	if (ovl_bolt_sub(db, &root, "v1", &sub) == 1) {
		struct ovl_bolt_bucket snaps;
		if (ovl_bolt_sub(db, &sub, "snapshots", &snaps) == 1)
			(void)ovl_bolt_get(db, &snaps, "default/5/sha256:05", 19, &it);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovl_bolt db;
	unsigned char *copy;

	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		copy = malloc(size);
		if (!copy)
			abort();
		memcpy(copy, data, size);
		if (ovl_bolt_open_mem(&db, copy, size) == 0)
			walk_root(&db);
		else if (!db.err[0])
			abort();	/* a failure always says why */
		ovl_bolt_close(&db);
		free(copy);
		return 0;
	}
	if (!tmpl)
		make_template();
	copy = malloc(tmpl_len);
	if (!copy)
		abort();
	memcpy(copy, tmpl, tmpl_len);
	bm_patch(copy, tmpl_len, data + 1, size - 1);
	if (ovl_bolt_open_mem(&db, copy, tmpl_len) == 0)
		walk_root(&db);
	else if (!db.err[0])
		abort();
	ovl_bolt_close(&db);
	free(copy);
	return 0;
}

/* Seeds: a whole small database (pages of 128 bytes), and patches. */
const char *const *fuzz_seeds(size_t *n)
{
	static char whole[4 + 2 * 512 + 1], *seeds[6];
	struct bm_opts o = { .page_size = 128 };
	struct bm_bucket *root = bm_new();
	size_t len;
	unsigned char *db;

	bm_sub(root, "v1");	/* empty: inline in a quarter of a 128-byte page */
	bm_puts(root, "k", "v");
	db = bm_write(root, &o, &len);
	bm_free(root);
	snprintf(whole, sizeof(whole), "hex:");
	for (size_t i = 0; i < len && i < 512; i++)
		snprintf(whole + 4 + 2 * i, 3, "%02x", db[i]);
	free(db);
	seeds[0] = whole;
	/* patches: a child page id, a key length, a bucket flag, a meta byte */
	seeds[1] = "hex:01" "1000" "02" "ffff";
	seeds[2] = "hex:01" "0300" "04" "00000000";
	seeds[3] = "hex:01" "2000" "01" "01";
	seeds[4] = "hex:01" "0300" "08" "0100000000000000";
	seeds[5] = "hex:01";
	*n = 6;
	return (const char *const *)seeds;
}
