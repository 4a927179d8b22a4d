/* String set: FNV-1a hashing, linear probing, grows at 50% load. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/util.h"
#include "strset.h"

struct slot {
	char *s;
	size_t len;
	uint64_t hash;
	void *val;
	size_t vlen;
};

struct ovl_strset {
	struct slot *slots;
	size_t cap;		/* power of two */
	size_t count;
};

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

struct ovl_strset *ovl_strset_new(void)
{
	struct ovl_strset *set = ovl_xcalloc(1, sizeof(*set));

	set->cap = 16;
	set->slots = ovl_xcalloc(set->cap, sizeof(*set->slots));
	return set;
}

void ovl_strset_free(struct ovl_strset *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->cap; i++) {
		free(set->slots[i].s);
		free(set->slots[i].val);
	}
	free(set->slots);
	free(set);
}

static struct slot *find(const struct ovl_strset *set, const char *s, size_t len,
			 uint64_t h)
{
	size_t mask = set->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct slot *sl = &set->slots[i];
		if (!sl->s)
			return sl;
		if (sl->hash == h && sl->len == len && memcmp(sl->s, s, len) == 0)
			return sl;
	}
}

static void grow(struct ovl_strset *set)
{
	struct slot *old = set->slots;
	size_t oldcap = set->cap;

	set->cap *= 2;
	set->slots = ovl_xcalloc(set->cap, sizeof(*set->slots));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].s)
			*find(set, old[i].s, old[i].len, old[i].hash) = old[i];
	free(old);
}

bool ovl_strset_add(struct ovl_strset *set, const char *s, size_t len)
{
	uint64_t h = hash_bytes(s, len);
	struct slot *sl = find(set, s, len, h);

	if (sl->s)
		return false;
	sl->s = ovl_xstrndup(s, len);
	sl->len = len;
	sl->hash = h;
	if (++set->count * 2 > set->cap)
		grow(set);
	return true;
}

bool ovl_strset_has(const struct ovl_strset *set, const char *s, size_t len)
{
	return find(set, s, len, hash_bytes(s, len))->s != NULL;
}

void ovl_strset_put(struct ovl_strset *set, const char *s, size_t len,
		    const void *val, size_t vlen)
{
	ovl_strset_add(set, s, len);
	struct slot *sl = find(set, s, len, hash_bytes(s, len));
	free(sl->val);
	sl->val = ovl_xmalloc(vlen + 1);
	memcpy(sl->val, val, vlen);
	sl->vlen = vlen;
}

const void *ovl_strset_get(const struct ovl_strset *set, const char *s, size_t len,
			   size_t *vlen)
{
	const struct slot *sl = find(set, s, len, hash_bytes(s, len));

	if (!sl->s || !sl->val)
		return NULL;
	if (vlen)
		*vlen = sl->vlen;
	return sl->val;
}

size_t ovl_strset_count(const struct ovl_strset *set)
{
	return set->count;
}
