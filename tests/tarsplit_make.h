/*
 * tar-split records made in memory, for the unit tests and the fuzz
 * target: ustar headers, the JSON lines tar-split writes (segments and
 * file entries with their CRC64), and the gzip around them. Each helper
 * appends to a growing buffer; the tar those lines stand for is kept too
 * (tm.tar) so its sha256 can be recorded as the diff digest.
 */
#ifndef OVL_TESTS_TARSPLIT_MAKE_H
#define OVL_TESTS_TARSPLIT_MAKE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <isa-l/crc64.h>
#include <nettle/base64.h>
#include <nettle/sha2.h>
#include <zlib.h>

struct tm_buf {
	char *b;
	size_t len, cap;
};

struct tm {
	struct tm_buf json;	/* the record's lines */
	struct tm_buf tar;	/* the tar they stand for */
	int pos;
};

static inline void tm_put(struct tm_buf *t, const void *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->b = realloc(t->b, t->cap);
		if (!t->b)
			abort();
	}
	if (n)	/* p may be NULL for no bytes */
		memcpy(t->b + t->len, p, n);
	t->len += n;
	t->b[t->len] = '\0';
}

static inline void tm_b64(struct tm_buf *t, const void *p, size_t n)
{
	char *out = malloc(BASE64_ENCODE_RAW_LENGTH(n) + 1);

	if (!out)
		abort();
	base64_encode_raw(out, n, p);
	tm_put(t, out, BASE64_ENCODE_RAW_LENGTH(n));
	free(out);
}

/* A ustar header block (name up to 99 bytes, linkname up to 99). */
static inline void tm_header(unsigned char blk[512], const char *name, char type, unsigned mode,
		      unsigned uid, unsigned gid, long long size, const char *link)
{
	unsigned sum = 0;

	memset(blk, 0, 512);
	snprintf((char *)blk, 100, "%s", name);
	snprintf((char *)blk + 100, 8, "%07o", mode);
	snprintf((char *)blk + 108, 8, "%07o", uid);
	snprintf((char *)blk + 116, 8, "%07o", gid);
	snprintf((char *)blk + 124, 12, "%011llo", size);
	snprintf((char *)blk + 136, 12, "%011o", 0);
	blk[156] = (unsigned char)type;
	if (link)
		snprintf((char *)blk + 157, 100, "%s", link);
	memcpy(blk + 257, "ustar\0" "00", 8);
	memset(blk + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += blk[i];
	snprintf((char *)blk + 148, 8, "%06o", sum);
}

static inline void tm_segment(struct tm *m, const void *p, size_t n)
{
	char head[64];

	snprintf(head, sizeof(head), "{\"type\":2,\"payload\":\"");
	tm_put(&m->json, head, strlen(head));
	tm_b64(&m->json, p, n);
	snprintf(head, sizeof(head), "\",\"position\":%d}\n", m->pos++);
	tm_put(&m->json, head, strlen(head));
	tm_put(&m->tar, p, n);
}

/* A file entry for name with size bytes of data (its CRC when size > 0). */
static inline void tm_file(struct tm *m, const char *name, const void *data, long long size)
{
	char head[600];
	unsigned char crc[8];
	uint64_t c = crc64_iso_refl(0, data, (uint64_t)size);

	snprintf(head, sizeof(head), "{\"type\":1,\"name\":\"%s\",\"size\":%lld,\"payload\":", name,
		 size);
	tm_put(&m->json, head, strlen(head));
	if (size > 0) {
		for (int i = 0; i < 8; i++)
			crc[i] = (unsigned char)(c >> (56 - 8 * i));
		tm_put(&m->json, "\"", 1);
		tm_b64(&m->json, crc, 8);
		tm_put(&m->json, "\"", 1);
	} else {
		tm_put(&m->json, "null", 4);
	}
	snprintf(head, sizeof(head), ",\"position\":%d}\n", m->pos++);
	tm_put(&m->json, head, strlen(head));
	tm_put(&m->tar, data, (size_t)size);
}

/* One member, owned by whoever runs the test: its header as a segment,
 * its file entry, its padding. */
static inline void tm_member(struct tm *m, const char *name, char type, unsigned mode,
		      const void *data, long long size, const char *link)
{
	unsigned char blk[512], zero[512] = { 0 };
	long long data_size = (type == '0') ? size : 0;

	tm_header(blk, name, type, mode, (unsigned)getuid(), (unsigned)getgid(), size, link);
	tm_segment(m, blk, 512);
	tm_file(m, name, data, data_size);
	if (data_size % 512)
		tm_segment(m, zero, (size_t)(512 - data_size % 512));
}

/* The end-of-archive blocks. */
static inline void tm_end(struct tm *m)
{
	unsigned char zero[1024] = { 0 };

	tm_segment(m, zero, sizeof(zero));
}

/* gzip of n bytes at p; malloc'ed, its length in *outlen. */
static inline unsigned char *tm_gzip(const void *p, size_t n, size_t *outlen)
{
	z_stream z;
	size_t cap = n + n / 10 + 128;
	unsigned char *out = malloc(cap);

	memset(&z, 0, sizeof(z));
	if (!out || deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}

/* The sha256 of the tar, as 64 hex digits. */
static inline void tm_digest(const struct tm *m, char hex[65])
{
	struct sha256_ctx c;
	unsigned char d[32];

	sha256_init(&c);
	sha256_update(&c, m->tar.len, (const unsigned char *)m->tar.b);
	sha256_digest(&c, 32, d);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static inline void tm_free(struct tm *m)
{
	free(m->json.b);
	free(m->tar.b);
	memset(m, 0, sizeof(*m));
}

#endif
