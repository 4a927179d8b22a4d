/*
 * The tar-split record reader (overlay/tarsplit.h): zlib inflates the
 * gzip stream into a small window, lines are cut from it one at a time,
 * json-c parses each line and nettle decodes its base64.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <nettle/base64.h>
#include <zlib.h>

#include "overlay/tarsplit.h"
#include "overlay/util.h"

#define IN_SIZE (128 * 1024)
#define OUT_SIZE (128 * 1024)

struct ovl_ts_reader {
	int fd;				/* -1: reading mem */
	const unsigned char *mem;
	size_t memlen, memoff;
	z_stream z;
	bool started;			/* the first bytes were seen (gzip magic) */
	bool member_end;		/* the last gzip member ended cleanly */
	bool in_eof;			/* no more compressed bytes */
	unsigned long long bytes_in;
	unsigned char in[IN_SIZE];
	unsigned char out[OUT_SIZE];
	size_t out_pos, out_len;
	char *line;			/* the current line, growing up to the bound */
	size_t line_len, line_cap;
	unsigned char *buf;		/* decoded base64 (payload, name_raw) */
	size_t buf_cap;
	char *name;
	size_t name_cap;
	struct json_tokener *tok;
};

static struct ovl_ts_reader *reader_new(void)
{
	struct ovl_ts_reader *r = ovl_xcalloc(1, sizeof(*r));

	/* 15 + 16: gzip only, with its CRC32 and length checked at the end */
	if (inflateInit2(&r->z, 15 + 16) != Z_OK) {
		free(r);
		return NULL;
	}
	r->tok = json_tokener_new();
	if (!r->tok) {
		inflateEnd(&r->z);
		free(r);
		return NULL;
	}
	return r;
}

struct ovl_ts_reader *ovl_ts_open_fd(int fd)
{
	struct ovl_ts_reader *r = reader_new();

	if (r)
		r->fd = fd;
	return r;
}

struct ovl_ts_reader *ovl_ts_open_mem(const void *buf, size_t len)
{
	struct ovl_ts_reader *r = reader_new();

	if (r) {
		r->fd = -1;
		r->mem = buf;
		r->memlen = len;
	}
	return r;
}

void ovl_ts_close(struct ovl_ts_reader *r)
{
	if (!r)
		return;
	inflateEnd(&r->z);
	json_tokener_free(r->tok);
	free(r->line);
	free(r->buf);
	free(r->name);
	free(r);
}

unsigned long long ovl_ts_bytes_read(const struct ovl_ts_reader *r)
{
	return r->bytes_in;
}

/* More compressed bytes into z's input; 0 at the end, -1 on a read error. */
static int fill_in(struct ovl_ts_reader *r, char *why, size_t whylen)
{
	size_t n;

	if (r->fd < 0) {
		n = r->memlen - r->memoff;
		if (n > IN_SIZE)
			n = IN_SIZE;
		memcpy(r->in, r->mem + r->memoff, n);
		r->memoff += n;
	} else {
		ssize_t got;
		do
			got = read(r->fd, r->in, IN_SIZE);
		while (got < 0 && errno == EINTR);
		if (got < 0) {
			snprintf(why, whylen, "cannot read: %s", strerror(errno));
			return -1;
		}
		n = (size_t)got;
	}
	if (!r->started && n) {
		r->started = true;
		if (n < 2 || r->in[0] != 0x1f || r->in[1] != 0x8b) {
			snprintf(why, whylen, "not gzip");
			return -1;
		}
	}
	r->bytes_in += n;
	r->z.next_in = r->in;
	r->z.avail_in = (uInt)n;
	if (!n)
		r->in_eof = true;
	return n ? 1 : 0;
}

/* Refill the output window: 1 with bytes, 0 at a clean end, -1 bad. */
static int fill_out(struct ovl_ts_reader *r, char *why, size_t whylen)
{
	r->out_pos = r->out_len = 0;
	while (!r->out_len) {
		if (!r->z.avail_in && !r->in_eof) {
			int rc = fill_in(r, why, whylen);
			if (rc < 0)
				return -1;
		}
		if (!r->z.avail_in && r->in_eof) {
			if (!r->started) {
				snprintf(why, whylen, "empty");
				return -1;
			}
			if (!r->member_end) {
				snprintf(why, whylen, "gzip stream cut short");
				return -1;
			}
			return 0;
		}
		if (r->member_end) {
			/* another gzip member follows (gzip allows several) */
			if (inflateReset(&r->z) != Z_OK) {
				snprintf(why, whylen, "gzip: cannot reset");
				return -1;
			}
			r->member_end = false;
		}
		r->z.next_out = r->out;
		r->z.avail_out = OUT_SIZE;
		int rc = inflate(&r->z, Z_NO_FLUSH);
		r->out_len = OUT_SIZE - r->z.avail_out;
		if (rc == Z_STREAM_END) {
			r->member_end = true;
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			snprintf(why, whylen, "gzip: %s", r->z.msg ? r->z.msg : "corrupt data");
			return -1;
		}
	}
	return 1;
}

/* The next line (without its '\n') in r->line: 1, 0 at the end, -1 bad. */
static int next_line(struct ovl_ts_reader *r, char *why, size_t whylen)
{
	r->line_len = 0;
	for (;;) {
		if (r->out_pos == r->out_len) {
			int rc = fill_out(r, why, whylen);
			if (rc < 0)
				return -1;
			if (rc == 0)
				return r->line_len ? 1 : 0;	/* a last line without '\n' */
		}
		unsigned char *s = r->out + r->out_pos;
		size_t avail = r->out_len - r->out_pos;
		unsigned char *nl = memchr(s, '\n', avail);
		size_t take = nl ? (size_t)(nl - s) : avail;

		if (r->line_len + take + 1 > OVL_TS_LINE_MAX) {
			snprintf(why, whylen, "an entry longer than %u bytes", OVL_TS_LINE_MAX);
			return -1;
		}
		if (r->line_len + take + 1 > r->line_cap) {
			size_t cap = r->line_cap ? r->line_cap : 4096;
			while (cap < r->line_len + take + 1)
				cap *= 2;
			r->line = ovl_xrealloc(r->line, cap);
			r->line_cap = cap;
		}
		memcpy(r->line + r->line_len, s, take);
		r->line_len += take;
		r->line[r->line_len] = '\0';
		r->out_pos += take + (nl ? 1 : 0);
		if (nl)
			return 1;
	}
}

/* Base64 (Go's StdEncoding) into r->buf; the length, or -1. */
static long decode64(struct ovl_ts_reader *r, json_object *v)
{
	struct base64_decode_ctx ctx;
	const char *src = json_object_get_string(v);
	size_t srclen = (size_t)json_object_get_string_len(v);
	size_t need = BASE64_DECODE_LENGTH(srclen) + 1, outlen = need;

	if (need > r->buf_cap) {
		r->buf = ovl_xrealloc(r->buf, need);
		r->buf_cap = need;
	}
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &outlen, r->buf, srclen, src) ||
	    !base64_decode_final(&ctx))
		return -1;
	return (long)outlen;
}

static bool get(json_object *o, const char *key, json_type type, json_object **v)
{
	return json_object_object_get_ex(o, key, v) && *v && json_object_is_type(*v, type);
}

/* Is the member there and not null? */
static bool present(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v;
}

static int parse_entry(struct ovl_ts_reader *r, json_object *o, struct ovl_ts_entry *e,
		       char *why, size_t whylen)
{
	json_object *v;
	long n;

	memset(e, 0, sizeof(*e));
	if (!json_object_is_type(o, json_type_object) || !get(o, "type", json_type_int, &v)) {
		snprintf(why, whylen, "an entry without a type");
		return -1;
	}
	int64_t type = json_object_get_int64(v);
	if (type == OVL_TS_SEGMENT) {
		e->type = OVL_TS_SEGMENT;
		if (!present(o, "payload"))
			return 1;	/* an empty segment */
		if (!get(o, "payload", json_type_string, &v) || (n = decode64(r, v)) < 0) {
			snprintf(why, whylen, "a segment whose payload is not base64");
			return -1;
		}
		e->payload = r->buf;
		e->len = (size_t)n;
		return 1;
	}
	if (type != OVL_TS_FILE) {
		snprintf(why, whylen, "an entry of unknown type %lld", (long long)type);
		return -1;
	}
	e->type = OVL_TS_FILE;
	if (present(o, "size")) {
		if (!get(o, "size", json_type_int, &v) || json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) == INT64_MAX) {
			snprintf(why, whylen, "a file entry with a bad size");
			return -1;
		}
		e->size = json_object_get_int64(v);
	}
	if (present(o, "payload")) {
		if (!get(o, "payload", json_type_string, &v) || decode64(r, v) != 8) {
			snprintf(why, whylen, "a file entry whose checksum is not 8 bytes of base64");
			return -1;
		}
		e->has_crc = true;
		for (int i = 0; i < 8; i++)
			e->crc = e->crc << 8 | r->buf[i];
	}
	/* name_raw (not UTF-8) wins, as tar-split's GetName() */
	const char *name = NULL;
	size_t len = 0;
	if (present(o, "name_raw") && get(o, "name_raw", json_type_string, &v) &&
	    json_object_get_string_len(v) > 0) {
		if ((n = decode64(r, v)) < 0) {
			snprintf(why, whylen, "a file entry whose name_raw is not base64");
			return -1;
		}
		name = (const char *)r->buf;
		len = (size_t)n;
	} else if (present(o, "name")) {
		if (!get(o, "name", json_type_string, &v)) {
			snprintf(why, whylen, "a file entry whose name is not a string");
			return -1;
		}
		name = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
	}
	if (!len) {
		snprintf(why, whylen, "a file entry without a name");
		return -1;
	}
	if (len + 1 > r->name_cap) {
		r->name = ovl_xrealloc(r->name, len + 1);
		r->name_cap = len + 1;
	}
	memcpy(r->name, name, len);
	r->name[len] = '\0';
	e->name = r->name;
	e->namelen = len;
	return 1;
}

int ovl_ts_next(struct ovl_ts_reader *r, struct ovl_ts_entry *e, char *why, size_t whylen)
{
	for (;;) {
		int rc = next_line(r, why, whylen);
		if (rc <= 0)
			return rc;
		size_t i = 0;
		while (i < r->line_len && strchr(" \t\r", r->line[i]))
			i++;
		if (i == r->line_len)
			continue;	/* a blank line */

		json_tokener_reset(r->tok);
		json_object *o = json_tokener_parse_ex(r->tok, r->line + i, (int)(r->line_len - i));
		enum json_tokener_error err = json_tokener_get_error(r->tok);
		size_t end = i + (size_t)json_tokener_get_parse_end(r->tok);
		while (o && err == json_tokener_success && end < r->line_len &&
		       strchr(" \t\r", r->line[end]))
			end++;
		if (!o || err != json_tokener_success || end != r->line_len) {
			snprintf(why, whylen, "an entry that is not one JSON object: %s",
				 o && err == json_tokener_success ? "bytes after it" :
				 err == json_tokener_continue ? "cut short" :
				 json_tokener_error_desc(err));
			json_object_put(o);
			return -1;
		}
		rc = parse_entry(r, o, e, why, whylen);
		json_object_put(o);
		return rc;
	}
}
