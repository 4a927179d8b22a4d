/*
 * The redirect xattr, validated as the kernel does before following one
 * (fs/overlayfs/util.c, ovl_get_redirect_xattr()): a zero-size value is
 * invalid; an absolute value ("/...") must have a non-empty component
 * after every '/' (so "/", "//a", "/a//b" and "/a/" are invalid); a
 * relative value must not contain '/'. An invalid redirect makes lookup
 * of the entry fail with EINVAL.
 *
 * Checked here on top of that:
 *  - "." and ".." components: the kernel's per-component lookup refuses
 *    them (lookup_one*() gives EACCES), so the entry is unreachable too,
 *    and for us they would climb.
 *  - NUL bytes: the kernel reads the value as a C string and silently
 *    cuts it at the first NUL; nothing writes one, so it is damage.
 *  - a component over NAME_MAX (the lookup gives ENAMETOOLONG, the
 *    redirect target is simply not found) or a value over PATH_MAX.
 */
#include <limits.h>
#include <string.h>

#include "overlay/redirect.h"

static enum ovl_redirect_err ovl_redirect_comp(const char *c, size_t len)
{
	if (len == 0)
		return OVL_RD_EMPTY_COMPONENT;
	if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
		return OVL_RD_DOT;
	if (len > NAME_MAX)
		return OVL_RD_TOO_LONG;
	return OVL_RD_OK;
}

enum ovl_redirect_err ovl_redirect_parse(const char *val, size_t size,
					 bool *absolute)
{
	enum ovl_redirect_err err;
	const char *p, *end = val + size, *slash;

	if (absolute)
		*absolute = size && val[0] == '/';
	if (size == 0)
		return OVL_RD_EMPTY;
	if (memchr(val, '\0', size))
		return OVL_RD_NUL;

	if (val[0] != '/') {
		if (memchr(val, '/', size))
			return OVL_RD_SLASH_IN_RELATIVE;
		return ovl_redirect_comp(val, size);
	}

	if (size == 1)
		return OVL_RD_ROOT;
	/* Structural errors first: they are what the kernel itself rejects. */
	for (p = val + 1;; p = slash + 1) {
		slash = memchr(p, '/', end - p);
		if ((slash ? slash : end) == p)
			return OVL_RD_EMPTY_COMPONENT;
		if (!slash)
			break;
	}
	for (p = val + 1;; p = slash + 1) {
		slash = memchr(p, '/', end - p);
		err = ovl_redirect_comp(p, (slash ? slash : end) - p);
		if (err)
			return err;
		if (!slash)
			break;
	}
	if (size > PATH_MAX)
		return OVL_RD_TOO_LONG;
	return OVL_RD_OK;
}

const char *ovl_redirect_strerror(enum ovl_redirect_err err)
{
	switch (err) {
	case OVL_RD_OK:
		return "valid redirect";
	case OVL_RD_EMPTY:
		return "empty redirect";
	case OVL_RD_ROOT:
		return "redirect to the layer root";
	case OVL_RD_EMPTY_COMPONENT:
		return "redirect with an empty path component";
	case OVL_RD_SLASH_IN_RELATIVE:
		return "relative redirect containing '/'";
	case OVL_RD_DOT:
		return "redirect with a '.' or '..' component";
	case OVL_RD_NUL:
		return "redirect containing a NUL byte";
	case OVL_RD_TOO_LONG:
		return "redirect too long";
	}
	return "unknown redirect error";
}

int ovl_redirect_foreach(const char *val, size_t size,
			 int (*fn)(const char *comp, size_t len, void *arg),
			 void *arg)
{
	const char *p = val, *end = val + size, *slash;
	int r;

	while (p < end) {
		if (*p == '/') {
			p++;
			continue;
		}
		slash = memchr(p, '/', end - p);
		if (!slash)
			slash = end;
		r = fn(p, slash - p, arg);
		if (r)
			return r;
		p = slash;
	}
	return 0;
}
