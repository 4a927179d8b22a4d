/* Small helpers shared by every module: allocation, escaping for output. */
#ifndef OVERLAY_UTIL_H
#define OVERLAY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OVL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that cannot fail: on out-of-memory print one line and exit 8. */
void *ovl_xmalloc(size_t size);
void *ovl_xcalloc(size_t n, size_t size);
void *ovl_xrealloc(void *ptr, size_t size);
char *ovl_xstrdup(const char *s);
char *ovl_xstrndup(const char *s, size_t n);

/*
 * Escape bytes that must not reach a terminal or a line-based log:
 * control bytes, DEL, backslash and invalid UTF-8 become \n, \t, \\ or \xHH.
 * Valid UTF-8 is kept (unless ovl_escape_utf8 is false: then every byte
 * over 0x7f is \xHH too, for a terminal in a locale that cannot draw it).
 * Writes at most outlen-1 bytes plus NUL and returns the length the full
 * escape needs (like snprintf).
 */
size_t ovl_escape(const char *in, size_t inlen, char *out, size_t outlen);
extern bool ovl_escape_utf8;

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void ovl_hex_encode(const void *buf, size_t len, char *out);
/* Parse lowercase or uppercase hex; returns bytes written or -1 on bad input. */
long ovl_hex_decode(const char *hex, size_t hexlen, void *out, size_t outsize);

/* A decimal number in [min, max], in one spelling only (no sign but a
 * minus, no leading zero, no blank): true and *out, else false. */
bool ovl_parse_ll(const char *s, long long min, long long max, long long *out);

/* Close fd when it is one (>= 0), keeping errno for the caller's error path. */
void ovl_close_keep_errno(int fd);

#endif
