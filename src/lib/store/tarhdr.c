/*
 * Tar headers from the raw bytes of a tar-split record (overlay/tarhdr.h).
 * The rules are those of Go's archive/tar reader, which is what read the
 * layer when the record was made: header checksums signed or unsigned,
 * octal or base-256 numbers, the ustar prefix, GNU long names, PAX
 * records overriding the header, a '\0' typeflag ending in '/' a dir.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/tarhdr.h"
#include "overlay/util.h"

#define BLOCK 512

enum state {
	ST_HEADER,	/* collecting a header block */
	ST_META,	/* the data of an 'x', 'g', 'L' or 'K' header */
	ST_PAD,		/* padding up to the next block */
	ST_MEMBER,	/* a member's header is complete: its file entry is due */
	ST_ZERO1,	/* one zero block seen */
	ST_END,		/* two zero blocks: what follows is the tail */
};

/* One owned byte string (names grow up to the extended header bound). */
struct bytes {
	char *s;
	size_t len, cap;
	bool set;
};

struct ovl_tarhdr {
	enum state st;
	unsigned char blk[BLOCK];
	size_t blk_len;
	char meta_type;			/* the extended header being read */
	unsigned char *meta;
	size_t meta_len, meta_size;
	long long pad_left;		/* ST_PAD */
	long long pad_after;		/* padding owed after the member's file entry */
	/* what the extended headers said of the next member */
	struct bytes pax_path, pax_link, gnu_name, gnu_link;
	bool pax_size_set, pax_uid_set, pax_gid_set;
	long long pax_size;
	unsigned long long pax_uid, pax_gid;
	struct ovl_tar_member m;	/* the member completed last */
	struct bytes name, link;	/* its strings */
};

struct ovl_tarhdr *ovl_tarhdr_new(void)
{
	return ovl_xcalloc(1, sizeof(struct ovl_tarhdr));
}

void ovl_tarhdr_free(struct ovl_tarhdr *t)
{
	if (!t)
		return;
	free(t->meta);
	free(t->pax_path.s);
	free(t->pax_link.s);
	free(t->gnu_name.s);
	free(t->gnu_link.s);
	free(t->name.s);
	free(t->link.s);
	free(t);
}

static void bytes_set(struct bytes *b, const void *s, size_t len)
{
	if (len + 1 > b->cap) {
		b->s = ovl_xrealloc(b->s, len + 1);
		b->cap = len + 1;
	}
	memcpy(b->s, s, len);
	b->s[len] = '\0';
	b->len = len;
	b->set = true;
}

static void bytes_append(struct bytes *b, const void *s, size_t len)
{
	size_t old = b->set ? b->len : 0;

	if (old + len + 1 > b->cap) {
		b->s = ovl_xrealloc(b->s, old + len + 1);
		b->cap = old + len + 1;
	}
	memcpy(b->s + old, s, len);
	b->len = old + len;
	b->s[b->len] = '\0';
	b->set = true;
}

/* A NUL-terminated field: its length up to the first NUL. */
static size_t field_len(const unsigned char *f, size_t n)
{
	const unsigned char *z = memchr(f, '\0', n);

	return z ? (size_t)(z - f) : n;
}

/* Go's parseNumeric: base-256 when the top bit is set, else octal with
 * spaces and NULs trimmed (empty is 0). */
static bool parse_num(const unsigned char *f, size_t n, long long *out)
{
	if (n && (f[0] & 0x80)) {
		/* two's complement, big-endian, the marker bit dropped */
		unsigned char inv = (f[0] & 0x40) ? 0xff : 0x00;
		unsigned long long x = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)(f[i] ^ inv);
			if (i == 0)
				c &= 0x7f;
			if (x >> 56)
				return false;	/* does not fit in 63 bits */
			x = x << 8 | c;
		}
		if (x >> 63)
			return false;
		*out = inv ? ~(long long)x : (long long)x;
		return true;
	}
	size_t a = 0, b = n;
	while (a < b && (f[a] == ' ' || f[a] == '\0'))
		a++;
	while (b > a && (f[b - 1] == ' ' || f[b - 1] == '\0'))
		b--;
	unsigned long long x = 0;
	for (size_t i = a; i < b; i++) {
		if (f[i] < '0' || f[i] > '7' || x >> 60)
			return false;
		x = x << 3 | (unsigned)(f[i] - '0');
	}
	*out = (long long)x;
	return true;
}

/* Go accepts the unsigned sum and the signed one (old tars). */
static bool checksum_ok(const unsigned char *b)
{
	long long want, usum = 0, ssum = 0;

	if (!parse_num(b + 148, 8, &want))
		return false;
	for (int i = 0; i < BLOCK; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : b[i];
		usum += c;
		ssum += (signed char)c;
	}
	return want == usum || want == ssum;
}

static bool is_zero(const unsigned char *b)
{
	for (int i = 0; i < BLOCK; i++)
		if (b[i])
			return false;
	return true;
}

static long long padding(long long size)
{
	return (BLOCK - size % BLOCK) % BLOCK;
}

static bool header_only(char type)
{
	return type == '1' || type == '2' || type == '3' || type == '4' || type == '5' ||
	       type == '6';
}

long long ovl_tar_data_size(const struct ovl_tar_member *m)
{
	return header_only(m->type) ? 0 : m->size;
}

/* A decimal PAX value (Go: strconv.ParseInt, base 10). */
static bool parse_dec(const char *s, size_t n, long long *out)
{
	unsigned long long x = 0;

	if (!n || n > 18)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	*out = (long long)x;
	return true;
}

/* "LEN key=value\n" records of an 'x' header. */
static int parse_pax(struct ovl_tarhdr *t, char *why, size_t whylen)
{
	const char *p = (const char *)t->meta, *end = p + t->meta_len;

	while (p < end) {
		long long len = 0;
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		if (!sp || !parse_dec(p, (size_t)(sp - p), &len) || len < 5 ||
		    len > end - p || p[len - 1] != '\n') {
			snprintf(why, whylen, "a PAX record that does not parse");
			return -1;
		}
		const char *key = sp + 1, *rec_end = p + len - 1;
		const char *eq = memchr(key, '=', (size_t)(rec_end - key));
		if (!eq || eq == key) {
			snprintf(why, whylen, "a PAX record without a key");
			return -1;
		}
		size_t klen = (size_t)(eq - key), vlen = (size_t)(rec_end - eq - 1);
		const char *val = eq + 1;
		long long n;
#define KEY(k) (klen == sizeof(k) - 1 && !memcmp(key, k, klen))
		if (KEY("path")) {
			bytes_set(&t->pax_path, val, vlen);
		} else if (KEY("linkpath")) {
			bytes_set(&t->pax_link, val, vlen);
		} else if (KEY("size") || KEY("uid") || KEY("gid")) {
			if (!parse_dec(val, vlen, &n)) {
				snprintf(why, whylen, "a PAX %.*s that is not a number", (int)klen, key);
				return -1;
			}
			if (KEY("size")) {
				t->pax_size = n;
				t->pax_size_set = true;
			} else if (KEY("uid")) {
				t->pax_uid = (unsigned long long)n;
				t->pax_uid_set = true;
			} else {
				t->pax_gid = (unsigned long long)n;
				t->pax_gid_set = true;
			}
		} else if (klen > 11 && !memcmp(key, "GNU.sparse.", 11)) {
			snprintf(why, whylen, "a GNU sparse member (tar-split cannot rebuild it)");
			return -1;
		}
#undef KEY
		p += len;
	}
	return 0;
}

static void clear_pending(struct ovl_tarhdr *t)
{
	t->pax_path.set = t->pax_link.set = t->gnu_name.set = t->gnu_link.set = false;
	t->pax_size_set = t->pax_uid_set = t->pax_gid_set = false;
}

/* The member of a header block, with what the extended headers said. */
static int make_member(struct ovl_tarhdr *t, const unsigned char *b, char *why, size_t whylen)
{
	struct ovl_tar_member *m = &t->m;
	long long mode, uid, gid, size, maj, min;

	if (!parse_num(b + 100, 8, &mode) || !parse_num(b + 108, 8, &uid) ||
	    !parse_num(b + 116, 8, &gid) || !parse_num(b + 124, 12, &size) ||
	    !parse_num(b + 329, 8, &maj) || !parse_num(b + 337, 8, &min) || size < 0) {
		snprintf(why, whylen, "a tar header whose numbers do not parse");
		return -1;
	}
	memset(m, 0, sizeof(*m));
	m->type = (char)b[156];
	m->mode = (unsigned)mode & 07777;
	m->uid = t->pax_uid_set ? t->pax_uid : (unsigned long long)uid;
	m->gid = t->pax_gid_set ? t->pax_gid : (unsigned long long)gid;
	m->size = t->pax_size_set ? t->pax_size : size;
	m->devmajor = (unsigned long long)maj;
	m->devminor = (unsigned long long)min;

	bool ustar = !memcmp(b + 257, "ustar\0", 6) && !memcmp(b + 263, "00", 2);
	bool star = ustar && !memcmp(b + 508, "tar\0", 4);
	size_t nlen = field_len(b, 100);
	if (t->gnu_name.set) {
		bytes_set(&t->name, t->gnu_name.s, field_len((unsigned char *)t->gnu_name.s,
							     t->gnu_name.len));
	} else if (t->pax_path.set) {
		bytes_set(&t->name, t->pax_path.s, t->pax_path.len);
	} else {
		size_t plen = ustar ? field_len(b + 345, star ? 131 : 155) : 0;
		t->name.set = false;
		if (plen) {
			bytes_set(&t->name, b + 345, plen);
			bytes_append(&t->name, "/", 1);
		}
		bytes_append(&t->name, b, nlen);
	}
	if (t->gnu_link.set)
		bytes_set(&t->link, t->gnu_link.s, field_len((unsigned char *)t->gnu_link.s,
							     t->gnu_link.len));
	else if (t->pax_link.set)
		bytes_set(&t->link, t->pax_link.s, t->pax_link.len);
	else
		bytes_set(&t->link, b + 157, field_len(b + 157, 100));
	clear_pending(t);
	/* Go: an old-style regular file whose name ends in '/' is a dir */
	if (m->type == '\0')
		m->type = t->name.len && t->name.s[t->name.len - 1] == '/' ? '5' : '0';
	if (m->type == 'S') {
		snprintf(why, whylen, "a GNU sparse member (tar-split cannot rebuild it)");
		return -1;
	}
	m->name = t->name.s;
	m->namelen = t->name.len;
	m->linkname = t->link.s;
	m->linklen = t->link.len;
	return 0;
}

/* A header block is complete. */
static int header_block(struct ovl_tarhdr *t, char *why, size_t whylen)
{
	const unsigned char *b = t->blk;
	long long size;

	t->blk_len = 0;
	if (is_zero(b)) {
		t->st = t->st == ST_ZERO1 ? ST_END : ST_ZERO1;
		return 0;
	}
	if (t->st == ST_ZERO1) {
		snprintf(why, whylen, "a zero block followed by a header");
		return -1;
	}
	if (!checksum_ok(b)) {
		snprintf(why, whylen, "a tar header whose checksum does not match");
		return -1;
	}
	char type = (char)b[156];
	if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
		if (!parse_num(b + 124, 12, &size) || size < 0 || size > OVL_TAR_META_MAX) {
			snprintf(why, whylen, "an extended tar header of a bad size");
			return -1;
		}
		if (type == 'g' && make_member(t, b, why, whylen) < 0)
			return -1;
		t->meta_type = type;
		t->meta_size = (size_t)size;
		t->meta_len = 0;
		if (!t->meta)
			t->meta = ovl_xmalloc(OVL_TAR_META_MAX);
		t->st = ST_META;
		return 0;
	}
	if (make_member(t, b, why, whylen) < 0)
		return -1;
	t->pad_after = padding(ovl_tar_data_size(&t->m));
	t->st = ST_MEMBER;
	return 0;
}

/* The data of an extended header is complete. */
static int meta_done(struct ovl_tarhdr *t, char *why, size_t whylen)
{
	long long pad = padding((long long)t->meta_size);

	switch (t->meta_type) {
	case 'x':
		if (parse_pax(t, why, whylen) < 0)
			return -1;
		break;
	case 'L':
		bytes_set(&t->gnu_name, t->meta, t->meta_len);
		break;
	case 'K':
		bytes_set(&t->gnu_link, t->meta, t->meta_len);
		break;
	case 'g':
		/* Go returns a global header as a member; its padding is read
		 * with the next header, after the member's file entry */
		t->m.size = 0;
		t->pad_after = pad;
		t->st = ST_MEMBER;
		return 0;
	}
	t->pad_left = pad;
	t->st = pad ? ST_PAD : ST_HEADER;
	return 0;
}

int ovl_tarhdr_feed(struct ovl_tarhdr *t, const unsigned char *b, size_t len, char *why,
		    size_t whylen)
{
	while (len) {
		size_t n;

		switch (t->st) {
		case ST_END:
			return 0;	/* the tail after the archive: kept as is */
		case ST_MEMBER:
			snprintf(why, whylen, "tar bytes where a member's file entry must come");
			return -1;
		case ST_PAD:
			n = (size_t)t->pad_left < len ? (size_t)t->pad_left : len;
			t->pad_left -= (long long)n;
			if (!t->pad_left)
				t->st = ST_HEADER;
			break;
		case ST_META:
			n = t->meta_size - t->meta_len < len ? t->meta_size - t->meta_len : len;
			memcpy(t->meta + t->meta_len, b, n);
			t->meta_len += n;
			break;
		case ST_HEADER:
		case ST_ZERO1:
			n = BLOCK - t->blk_len < len ? BLOCK - t->blk_len : len;
			memcpy(t->blk + t->blk_len, b, n);
			t->blk_len += n;
			break;
		default:
			return -1;
		}
		b += n;
		len -= n;
		if ((t->st == ST_HEADER || t->st == ST_ZERO1) && t->blk_len == BLOCK &&
		    header_block(t, why, whylen) < 0)
			return -1;
		if (t->st == ST_META && t->meta_len == t->meta_size &&
		    meta_done(t, why, whylen) < 0)
			return -1;
	}
	/* an empty extended header is complete without a byte */
	if (t->st == ST_META && t->meta_len == t->meta_size)
		return meta_done(t, why, whylen);
	return 0;
}

const struct ovl_tar_member *ovl_tarhdr_member(struct ovl_tarhdr *t, char *why, size_t whylen)
{
	if (t->st != ST_MEMBER) {
		snprintf(why, whylen, "a file entry where no tar header precedes it");
		return NULL;
	}
	t->pad_left = t->pad_after;
	t->st = t->pad_left ? ST_PAD : ST_HEADER;
	return &t->m;
}

bool ovl_tarhdr_complete(const struct ovl_tarhdr *t)
{
	/* Go's reader also ends cleanly after one zero block, or with none
	 * at a block boundary */
	return t->st == ST_END || ((t->st == ST_ZERO1 || t->st == ST_HEADER) && !t->blk_len &&
				   !t->pax_path.set && !t->pax_link.set && !t->gnu_name.set &&
				   !t->gnu_link.set);
}
