/*
 * Small helpers shared by every module: allocation that cannot fail,
 * escaping of untrusted bytes for terminals and logs, hex, closing an fd
 * on an error path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "overlay/util.h"

/* fsck(8) "operational error": nothing sensible can go on without memory. */
static void ovl_oom(void)
{
	fputs("fsck.overlay: out of memory\n", stderr);
	exit(8);
}

void *ovl_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		ovl_oom();
	return p;
}

void *ovl_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		ovl_oom();
	return p;
}

void *ovl_xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		ovl_oom();
	return p;
}

char *ovl_xstrdup(const char *s)
{
	return ovl_xstrndup(s, strlen(s));
}

char *ovl_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = ovl_xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/*
 * Length of the valid UTF-8 sequence at s (at most avail bytes), or 0 if
 * it is not one: overlong forms, surrogates and code points past U+10FFFF
 * are invalid. C1 controls (U+0080..U+009F) count as invalid too, since
 * some terminals act on them (U+009B is CSI) and they are escaped anyway.
 */
static size_t ovl_utf8_len(const unsigned char *s, size_t avail)
{
	unsigned cp;
	size_t n, i;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	if (s[0] < 0xe0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] < 0xf0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else {
		n = 4;
		cp = s[0] & 0x07;
	}
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0;	/* overlong */
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;	/* surrogate */
	if (cp > 0x10ffff)
		return 0;
	if (cp < 0xa0)
		return 0;	/* C1 control */
	return n;
}

/* Append n bytes to out if they fit (keeping room for the NUL); count all. */
static void ovl_emit(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, (*pos)++)
		if (outlen && *pos < outlen - 1)
			out[*pos] = s[i];
}

bool ovl_escape_utf8 = true;

size_t ovl_escape(const char *in, size_t inlen, char *out, size_t outlen)
{
	static const char hexd[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t pos = 0, i = 0;

	while (i < inlen) {
		unsigned char c = s[i];
		char esc[4];
		size_t n;

		if (c == '\n') {
			ovl_emit(out, outlen, &pos, "\\n", 2);
			i++;
		} else if (c == '\t') {
			ovl_emit(out, outlen, &pos, "\\t", 2);
			i++;
		} else if (c == '\\') {
			ovl_emit(out, outlen, &pos, "\\\\", 2);
			i++;
		} else if (c >= 0x20 && c < 0x7f) {
			ovl_emit(out, outlen, &pos, (const char *)&s[i], 1);
			i++;
		} else if (c >= 0x80 && ovl_escape_utf8 && (n = ovl_utf8_len(s + i, inlen - i))) {
			ovl_emit(out, outlen, &pos, (const char *)&s[i], n);
			i += n;
		} else {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hexd[c >> 4];
			esc[3] = hexd[c & 15];
			ovl_emit(out, outlen, &pos, esc, 4);
			i++;
		}
	}
	if (outlen)
		out[pos < outlen ? pos : outlen - 1] = '\0';
	return pos;
}

void ovl_hex_encode(const void *buf, size_t len, char *out)
{
	static const char hexd[] = "0123456789abcdef";
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hexd[p[i] >> 4];
		out[2 * i + 1] = hexd[p[i] & 15];
	}
	out[2 * len] = '\0';
}

static int ovl_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long ovl_hex_decode(const char *hex, size_t hexlen, void *out, size_t outsize)
{
	unsigned char *o = out;
	size_t i;

	if (hexlen % 2 || hexlen / 2 > outsize || hexlen / 2 > (size_t)LONG_MAX)
		return -1;
	for (i = 0; i < hexlen / 2; i++) {
		int hi = ovl_hex_digit(hex[2 * i]);
		int lo = ovl_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		o[i] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(hexlen / 2);
}

void ovl_close_keep_errno(int fd)
{
	int e = errno;

	if (fd >= 0)
		close(fd);
	errno = e;
}

bool ovl_parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;

	if (!s || !*s || (s[0] == '0' && s[1]) || (s[0] == '-' && (s[1] == '0' || !s[1])) ||
	    !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || errno || v < min || v > max)
		return false;
	*out = v;
	return true;
}
