/*
 * The redirect xattr: a relative name (same parent, no '/') or an absolute
 * path "/a/b" from the layer root. Validated the way the kernel does
 * before it follows one; anything else makes the entry unreachable.
 */
#ifndef OVERLAY_REDIRECT_H
#define OVERLAY_REDIRECT_H

#include <stdbool.h>
#include <stddef.h>

enum ovl_redirect_err {
	OVL_RD_OK = 0,
	OVL_RD_EMPTY,		/* "" */
	OVL_RD_ROOT,		/* "/" alone */
	OVL_RD_EMPTY_COMPONENT,	/* "//a", "/a//b", "/a/" */
	OVL_RD_SLASH_IN_RELATIVE, /* "a/b", "a/" */
	OVL_RD_DOT,		/* a "." or ".." component: would climb */
	OVL_RD_NUL,		/* embedded NUL byte */
	OVL_RD_TOO_LONG,	/* a component over NAME_MAX, or over PATH_MAX */
};

/* Validate a raw value of size bytes (not NUL-terminated). */
enum ovl_redirect_err ovl_redirect_parse(const char *val, size_t size,
					 bool *absolute);
const char *ovl_redirect_strerror(enum ovl_redirect_err err);

/*
 * Split an absolute redirect into components: calls fn for each component
 * (pointer into val, length) in order; stops and returns fn's value when it
 * is non-zero. val must have passed ovl_redirect_parse.
 */
int ovl_redirect_foreach(const char *val, size_t size,
			 int (*fn)(const char *comp, size_t len, void *arg),
			 void *arg);

#endif
