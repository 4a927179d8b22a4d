/*
 * Unit names of paths, byte for byte what systemd makes of them: a drop-in
 * written for a name that differs by one escape would silently apply to
 * no unit at all.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/unitname.h"
#include "overlay/util.h"

/*
 * "/a//./b/" -> "/a/b", "/" stays "/". NULL when systemd would call the
 * path not normalized or not valid.
 */
static char *simplify(const char *path)
{
	size_t len = strlen(path);

	if (path[0] != '/' || len >= PATH_MAX)
		return NULL;
	char *out = ovl_xmalloc(len + 1), *o = out;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (!n)
			break;
		if (n > NAME_MAX || (n == 2 && p[0] == '.' && p[1] == '.')) {
			free(out);
			return NULL;
		}
		if (!(n == 1 && p[0] == '.')) {
			*o++ = '/';
			memcpy(o, p, n);
			o += n;
		}
		p = e;
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
	return out;
}

static int plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == ':' || c == '_' || c == '.';
}

char *ovl_unit_path_escape(const char *path)
{
	char *s = simplify(path);

	if (!s)
		return NULL;
	if (!strcmp(s, "/")) {
		free(s);
		return ovl_xstrdup("-");
	}
	char *out = ovl_xmalloc(4 * strlen(s) + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s + 1; *p; p++) {
		if (*p == '/')
			*o++ = '-';
		else if (plain(*p) && !(*p == '.' && o == out))
			*o++ = (char)*p;
		else
			o += sprintf(o, "\\x%02x", *p);
	}
	*o = '\0';
	free(s);
	return out;
}

char *ovl_unit_name_from_path(const char *prefix, const char *path, const char *suffix)
{
	char *esc = ovl_unit_path_escape(path);

	if (!esc)
		return NULL;
	size_t n = strlen(esc) + strlen(suffix) + (prefix ? strlen(prefix) : 0) + 3;
	char *name = ovl_xmalloc(n);
	snprintf(name, n, "%s%s%s.%s", prefix ? prefix : "", prefix ? "@" : "", esc, suffix);
	free(esc);
	if (strlen(name) >= OVL_UNIT_NAME_MAX) {
		free(name);
		return NULL;
	}
	return name;
}

char *ovl_unit_path_canonical(const char *path)
{
	char *s = simplify(path);
	char buf[PATH_MAX];

	if (!s)
		return NULL;
	/* the longest existing prefix resolved, then the rest as written */
	for (size_t end = strlen(s); end > 0;) {
		char save = s[end];
		s[end] = '\0';
		int found = realpath(s, buf) != NULL;
		s[end] = save;
		if (found) {
			size_t n = strlen(buf) + strlen(s + end) + 1;
			char *joined = ovl_xmalloc(n);
			snprintf(joined, n, "%s%s", buf, s + end);
			char *r = simplify(joined);
			free(joined);
			free(s);
			return r;
		}
		while (end > 0 && s[end - 1] != '/')
			end--;
		if (end > 0)
			end--;
	}
	return s;
}

char *ovl_unit_quote(const char *path, int dollar)
{
	char *out = ovl_xmalloc(2 * strlen(path) + 3), *o = out;

	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			free(out);
			return NULL;
		}
		if (*p == '"' || *p == '\\')
			*o++ = '\\';
		else if (*p == '%' || (dollar && *p == '$'))
			*o++ = (char)*p;
		*o++ = (char)*p;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}
