/*
 * The tar-split record an engine keeps of every layer it unpacked
 * (vbatts/tar-split: Docker's layerdb/sha256/CHAIN/tar-split.json.gz,
 * containers-storage's overlay-layers/ID.tar-split.gz): a gzip stream of
 * JSON documents, one a line, each an entry
 *   {"type":2,"payload":BASE64,"position":N}            raw tar bytes
 *   {"type":1,"name":S|"name_raw":BASE64,"size":N,"payload":BASE64|null,...}
 * A segment (type 2) holds headers and padding as they were in the tar;
 * a file (type 1) stands for one member's data, read back from the layer
 * dir: its size and, when the size is not 0, its CRC64 (ISO polynomial,
 * reflected, as Go's hash/crc64) as 8 big-endian bytes. The layer's tar
 * is every segment and every file's data in record order.
 *
 * Streaming: one line in memory at a time, at most OVL_TS_LINE_MAX bytes,
 * however large the layer. Bad bytes give -1 and one line, never a crash.
 */
#ifndef OVERLAY_TARSPLIT_H
#define OVERLAY_TARSPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* tar-split writes trailing padding in 1 MiB segments (1.4 MB of base64)
 * and Go's tar reader takes PAX headers up to 1 MiB: room for both. */
#define OVL_TS_LINE_MAX (4u << 20)

enum ovl_ts_type {
	OVL_TS_FILE = 1,
	OVL_TS_SEGMENT = 2,
};

struct ovl_ts_entry {
	enum ovl_ts_type type;
	const char *name;	/* file: the member's name, bytes (not NUL-safe) */
	size_t namelen;
	long long size;		/* file: bytes of data */
	bool has_crc;		/* file: a CRC64 was recorded (size > 0) */
	uint64_t crc;
	const unsigned char *payload;	/* segment: raw tar bytes */
	size_t len;
};

struct ovl_ts_reader;

/* A reader of the gzip record on fd (not closed by the reader), or of
 * len bytes at buf (gzip too; the tests and the fuzz target). */
struct ovl_ts_reader *ovl_ts_open_fd(int fd);
struct ovl_ts_reader *ovl_ts_open_mem(const void *buf, size_t len);
void ovl_ts_close(struct ovl_ts_reader *r);

/*
 * The next entry: 1 (e valid until the next call), 0 at the end of the
 * record, -1 with one line in why (cut short, not gzip, a line too long,
 * not JSON, a member missing or of the wrong kind, bad base64).
 */
int ovl_ts_next(struct ovl_ts_reader *r, struct ovl_ts_entry *e, char *why, size_t whylen);

/* Compressed bytes read so far (progress). */
unsigned long long ovl_ts_bytes_read(const struct ovl_ts_reader *r);

#endif
