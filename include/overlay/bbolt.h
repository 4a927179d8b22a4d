/*
 * A read-only reader of bbolt databases (go.etcd.io/bbolt, format version
 * 2), the key/value files containerd keeps its metadata in. The whole file
 * is read into memory once; nothing is ever written, locked or mapped.
 *
 * What it reads: the two meta pages (the valid one with the higher
 * transaction id; the page size from the meta), branch and leaf pages
 * with their overflow pages, nested buckets with their own root page and
 * inline buckets (a small bucket's leaf page stored in its parent's
 * value). Not read: the freelist (only writers need it).
 *
 * The file is untrusted: every offset and length is checked against its
 * page and the file, a page must name itself in its header, tree walks
 * stop at a depth of OVL_BOLT_MAX_DEPTH, and the page reads of one open
 * database are budgeted (a multiple of its page count), so a loop or a
 * page shared by many branches ends in an error instead of a hang.
 * Damage is returned as -1 with one line in db->err.
 */
#ifndef OVERLAY_BBOLT_H
#define OVERLAY_BBOLT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OVL_BOLT_MAX_DEPTH	64

struct ovl_bolt {
	const unsigned char *data;
	size_t size;		/* bytes used: the meta's pages, within the file */
	unsigned char *owned;	/* data, when read from a file */
	uint32_t page_size;
	uint64_t npages;	/* the meta's high-water mark */
	uint64_t txid;		/* of the meta in use */
	uint64_t root;		/* the root bucket's page */
	uint64_t reads_left;	/* page reads before the budget is spent */
	char err[200];		/* the first damage found */
};

/* A bucket: its root page, or its inline leaf page. */
struct ovl_bolt_bucket {
	uint64_t root;			/* 0: inline */
	const unsigned char *page;	/* the inline page ... */
	size_t len;			/* ... and its bytes */
};

/* A key of a bucket, pointing into the database's bytes. */
struct ovl_bolt_item {
	const unsigned char *key;
	size_t klen;
	const unsigned char *val;	/* a nested bucket: its header (and inline page) */
	size_t vlen;
	bool bucket;			/* a nested bucket, not a value */
};

/*
 * Open a database in memory (data is used in place and must outlive db),
 * or read the regular file fd into memory (at most max bytes). Returns 0,
 * or -1 with the reason in db->err (not a bbolt file, both metas bad, cut
 * short, too large). Call ovl_bolt_close() in every case.
 */
int ovl_bolt_open_mem(struct ovl_bolt *db, const void *data, size_t size);
int ovl_bolt_open_fd(struct ovl_bolt *db, int fd, size_t max);
void ovl_bolt_close(struct ovl_bolt *db);

/* The root bucket (whose keys are the top-level buckets). */
void ovl_bolt_root(const struct ovl_bolt *db, struct ovl_bolt_bucket *b);

/*
 * Every key of bucket b, in key order; fn returns non-zero to stop (that
 * value is returned). Returns 0 when all were seen, -1 on damage.
 */
int ovl_bolt_each(struct ovl_bolt *db, const struct ovl_bolt_bucket *b,
		  int (*fn)(void *arg, const struct ovl_bolt_item *it), void *arg);

/* The key of bucket b: 1 found (in *it), 0 absent, -1 damage. */
int ovl_bolt_get(struct ovl_bolt *db, const struct ovl_bolt_bucket *b, const void *key,
		 size_t klen, struct ovl_bolt_item *it);

/* The nested bucket an item holds: 0, or -1 when it is not a bucket or its
 * header is damaged. */
int ovl_bolt_item_bucket(struct ovl_bolt *db, const struct ovl_bolt_item *it,
			 struct ovl_bolt_bucket *sub);

/* The nested bucket named name (a C string) of b: 1 found, 0 absent (or a
 * plain value of that name), -1 damage. */
int ovl_bolt_sub(struct ovl_bolt *db, const struct ovl_bolt_bucket *b, const char *name,
		 struct ovl_bolt_bucket *sub);

/* Go's binary.Uvarint, as containerd reads its ids: the varint at the
 * start of the bytes (what follows is ignored, as Go ignores it); false
 * when there is none or it overflows 64 bits. */
bool ovl_bolt_uvarint(const unsigned char *p, size_t len, uint64_t *v);

#endif
