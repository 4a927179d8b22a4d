/*
 * Overlay mount option strings, parsed the way the kernel reads them
 * (fs/overlayfs/params.c, Documentation/filesystems/overlayfs.rst):
 *
 *  - items are separated by ',' not preceded by '\' (the backslash stays
 *    in the item, as in the kernel's ovl_next_opt()); empty items are
 *    skipped;
 *  - lowerdir=L1:L2::D1::D2 lists regular lowers (top first), then
 *    data-only lowers each introduced by "::". A single ':' after a data
 *    layer is an error ("regular lower layers cannot follow data lower
 *    layers"), as are ":::" and leading or trailing colons. In each path
 *    '\' makes the next character literal (ovl_unescape()). An empty
 *    "lowerdir=" drops every lower and data layer;
 *  - lowerdir+=P and datadir+=P append one layer each, taken literally:
 *    the kernel does not unescape them (ovl_mount_dir_noesc()), and a
 *    regular layer cannot follow a data layer. Unlike the kernel, which
 *    refuses lowerdir+= after lowerdir= in one mount, they simply append:
 *    fsck takes -o several times and the last word wins;
 *  - upperdir= and workdir= are unescaped like lowerdir paths;
 *  - the feature options that shape the on-disk format are recorded,
 *    later values overriding earlier ones; generic VFS options are
 *    accepted and ignored; anything else is an error.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/opts.h"
#include "overlay/util.h"

/* The kernel's OVL_MAX_STACK. */
#define OVL_OPTS_MAX_STACK 500

void ovl_opts_init(struct ovl_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->metacopy = OVL_UNSET;
	o->index = OVL_UNSET;
	o->nfs_export = OVL_UNSET;
	o->userxattr = OVL_UNSET;
	o->redirect_dir = OVL_REDIRECT_UNSET;
	o->xino = OVL_XINO_UNSET;
	o->uuid = OVL_UUID_UNSET;
	o->verity = OVL_VERITY_UNSET;
	o->is_volatile = 0;
}

static void ovl_opts_free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void ovl_opts_drop_lowers(struct ovl_opts *o)
{
	ovl_opts_free_list(o->lower, o->nlower);
	ovl_opts_free_list(o->data, o->ndata);
	o->lower = o->data = NULL;
	o->nlower = o->ndata = 0;
}

void ovl_opts_free(struct ovl_opts *o)
{
	ovl_opts_drop_lowers(o);
	free(o->upper);
	free(o->work);
	ovl_opts_init(o);
}

static void ovl_opts_push(char ***list, size_t *n, char *path)
{
	*list = ovl_xrealloc(*list, (*n + 1) * sizeof(**list));
	(*list)[(*n)++] = path;
}

void ovl_opts_add_lower(struct ovl_opts *o, const char *path)
{
	ovl_opts_push(&o->lower, &o->nlower, ovl_xstrdup(path));
}

void ovl_opts_add_data(struct ovl_opts *o, const char *path)
{
	ovl_opts_push(&o->data, &o->ndata, ovl_xstrdup(path));
}

/* err may be NULL; the value is escaped so the reason stays one line. */
static int ovl_opts_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static char *ovl_opts_esc(const char *s, size_t n, char *buf, size_t buflen)
{
	size_t need = ovl_escape(s, n, buf, buflen);

	/* Mark a cut value so the reason does not look like the full one. */
	if (need >= buflen && buflen > 4)
		memcpy(buf + buflen - 4, "...", 4);
	return buf;
}

/* ovl_unescape(): '\' makes the next character literal; a lone one goes. */
static char *ovl_opts_unescape(const char *s, size_t n)
{
	char *out = ovl_xmalloc(n + 1), *d = out;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\') {
			if (++i == n)
				break;
		}
		*d++ = s[i];
	}
	*d = '\0';
	return out;
}

/* lowerdir=: split at unescaped ':' and "::", then replace both lists. */
static int ovl_opts_lowerdir(struct ovl_opts *o, const char *v, size_t n,
			     char *err, size_t errlen)
{
	char **lower = NULL, **data = NULL, esc[128];
	size_t nlower = 0, ndata = 0, i, start = 0;
	bool data_layer = false;
	int ret = -1;

	if (n == 0) {
		ovl_opts_drop_lowers(o);
		return 0;
	}
	if (v[0] == ':')
		return ovl_opts_fail(err, errlen, "bad value for lowerdir: '%s' (leading ':')",
				     ovl_opts_esc(v, n, esc, sizeof(esc)));

	for (i = 0; i <= n; i++) {
		size_t colons = 0;
		char *path;

		if (i < n && v[i] == '\\') {
			if (i + 1 < n)
				i++;
			continue;
		}
		if (i < n && v[i] != ':')
			continue;
		while (i + colons < n && v[i + colons] == ':')
			colons++;
		if (colons > 2) {
			ovl_opts_fail(err, errlen,
				      "bad value for lowerdir: '%s' (only ':' or '::' may separate layers)",
				      ovl_opts_esc(v, n, esc, sizeof(esc)));
			goto out;
		}
		if (colons && i + colons == n) {
			ovl_opts_fail(err, errlen, "bad value for lowerdir: '%s' (trailing ':')",
				      ovl_opts_esc(v, n, esc, sizeof(esc)));
			goto out;
		}
		path = ovl_opts_unescape(v + start, (i > n ? n : i) - start);
		if (!path[0]) {
			free(path);
			ovl_opts_fail(err, errlen, "bad value for lowerdir: '%s' (empty path)",
				      ovl_opts_esc(v, n, esc, sizeof(esc)));
			goto out;
		}
		if (data_layer)
			ovl_opts_push(&data, &ndata, path);
		else
			ovl_opts_push(&lower, &nlower, path);
		if (nlower + ndata > OVL_OPTS_MAX_STACK) {
			ovl_opts_fail(err, errlen, "too many lower directories, limit is %d",
				      OVL_OPTS_MAX_STACK);
			goto out;
		}
		if (colons == 1 && ndata) {
			ovl_opts_fail(err, errlen,
				      "bad value for lowerdir: '%s' (regular lower layers cannot follow data lower layers)",
				      ovl_opts_esc(v, n, esc, sizeof(esc)));
			goto out;
		}
		if (colons == 2)
			data_layer = true;
		if (colons == 0)
			break;	/* end of the value */
		i += colons - 1;
		start = i + 1;
	}
	ovl_opts_drop_lowers(o);
	o->lower = lower;
	o->nlower = nlower;
	o->data = data;
	o->ndata = ndata;
	lower = data = NULL;
	nlower = ndata = 0;
	ret = 0;
out:
	ovl_opts_free_list(lower, nlower);
	ovl_opts_free_list(data, ndata);
	return ret;
}

struct ovl_opts_enum {
	const char *name;
	int value;
};

static const struct ovl_opts_enum ovl_opts_onoff[] = {
	{ "on", OVL_ON }, { "off", OVL_OFF }, { NULL, 0 },
};
static const struct ovl_opts_enum ovl_opts_redirect[] = {
	{ "on", OVL_REDIRECT_ON }, { "follow", OVL_REDIRECT_FOLLOW },
	{ "nofollow", OVL_REDIRECT_NOFOLLOW }, { "off", OVL_REDIRECT_OFF },
	{ NULL, 0 },
};
static const struct ovl_opts_enum ovl_opts_xino[] = {
	{ "on", OVL_XINO_ON }, { "off", OVL_XINO_OFF }, { "auto", OVL_XINO_AUTO },
	{ NULL, 0 },
};
static const struct ovl_opts_enum ovl_opts_uuid[] = {
	{ "null", OVL_UUID_NULL }, { "off", OVL_UUID_OFF },
	{ "auto", OVL_UUID_AUTO }, { "on", OVL_UUID_ON }, { NULL, 0 },
};
static const struct ovl_opts_enum ovl_opts_verity[] = {
	{ "off", OVL_VERITY_OFF }, { "on", OVL_VERITY_ON },
	{ "require", OVL_VERITY_REQUIRE }, { NULL, 0 },
};

/* Options with a value; field NULL means accepted and ignored. */
static const struct {
	const char *key;
	const struct ovl_opts_enum *values;
	size_t field;
} ovl_opts_enums[] = {
	{ "metacopy", ovl_opts_onoff, offsetof(struct ovl_opts, metacopy) },
	{ "index", ovl_opts_onoff, offsetof(struct ovl_opts, index) },
	{ "nfs_export", ovl_opts_onoff, offsetof(struct ovl_opts, nfs_export) },
	{ "redirect_dir", ovl_opts_redirect, offsetof(struct ovl_opts, redirect_dir) },
	{ "xino", ovl_opts_xino, offsetof(struct ovl_opts, xino) },
	{ "uuid", ovl_opts_uuid, offsetof(struct ovl_opts, uuid) },
	{ "verity", ovl_opts_verity, offsetof(struct ovl_opts, verity) },
	/* changes only the credentials used, not the layout */
	{ "override_creds", ovl_opts_onoff, (size_t)-1 },
};

/* Flags and valued options of the VFS, fstab and LSMs: no layout effect. */
static const char *const ovl_opts_generic_flags[] = {
	"ro", "rw", "noatime", "atime", "relatime", "norelatime",
	"strictatime", "nostrictatime", "lazytime", "nolazytime",
	"nodiratime", "diratime", "nodev", "dev", "nosuid", "suid",
	"noexec", "exec", "sync", "async", "dirsync", "mand", "nomand",
	"silent", "loud", "iversion", "noiversion", "defaults", "auto",
	"noauto", "user", "nouser", "users", "owner", "group", "nofail",
	"_netdev", "seclabel", "default_permissions", "nosymfollow",
	"symfollow", NULL,
};
static const char *const ovl_opts_generic_valued[] = {
	"context", "fscontext", "defcontext", "rootcontext", "comment",
	"source", NULL,
};

static bool ovl_opts_in(const char *const *list, const char *key, size_t klen)
{
	for (; *list; list++)
		if (strlen(*list) == klen && !memcmp(*list, key, klen))
			return true;
	return false;
}

static bool ovl_opts_key_is(const char *key, size_t klen, const char *name)
{
	return strlen(name) == klen && !memcmp(key, name, klen);
}

static int ovl_opts_item(struct ovl_opts *o, const char *item, size_t len,
			 char *err, size_t errlen)
{
	const char *eq = memchr(item, '=', len), *val;
	size_t klen = eq ? (size_t)(eq - item) : len, vlen, i, j;
	char kesc[64], vesc[128];
	char *path;

	val = eq ? eq + 1 : item + len;
	vlen = eq ? len - klen - 1 : 0;
	ovl_opts_esc(item, klen, kesc, sizeof(kesc));

	if (ovl_opts_key_is(item, klen, "lowerdir")) {
		if (!eq)
			goto novalue;
		return ovl_opts_lowerdir(o, val, vlen, err, errlen);
	}
	if (ovl_opts_key_is(item, klen, "lowerdir+") ||
	    ovl_opts_key_is(item, klen, "datadir+")) {
		bool data = item[0] == 'd';

		if (!eq)
			goto novalue;
		if (!vlen)
			return ovl_opts_fail(err, errlen, "empty path for %s", kesc);
		if (!data && o->ndata)
			return ovl_opts_fail(err, errlen,
					     "lowerdir+=%s: regular lower layers cannot follow data layers",
					     ovl_opts_esc(val, vlen, vesc, sizeof(vesc)));
		if (o->nlower + o->ndata >= OVL_OPTS_MAX_STACK)
			return ovl_opts_fail(err, errlen, "too many lower directories, limit is %d",
					     OVL_OPTS_MAX_STACK);
		path = ovl_xstrndup(val, vlen);
		if (strlen(path) != vlen) {
			free(path);
			return ovl_opts_fail(err, errlen, "NUL byte in %s", kesc);
		}
		if (data)
			ovl_opts_push(&o->data, &o->ndata, path);
		else
			ovl_opts_push(&o->lower, &o->nlower, path);
		return 0;
	}
	if (ovl_opts_key_is(item, klen, "upperdir") ||
	    ovl_opts_key_is(item, klen, "workdir")) {
		char **field = item[0] == 'u' ? &o->upper : &o->work;

		if (!eq)
			goto novalue;
		path = ovl_opts_unescape(val, vlen);
		if (!path[0]) {
			free(path);
			return ovl_opts_fail(err, errlen, "empty path for %s", kesc);
		}
		free(*field);
		*field = path;
		return 0;
	}
	if (ovl_opts_key_is(item, klen, "userxattr") ||
	    ovl_opts_key_is(item, klen, "volatile")) {
		if (eq)
			goto hasvalue;
		if (item[0] == 'u')
			o->userxattr = OVL_ON;
		else
			o->is_volatile = 1;
		return 0;
	}
	for (i = 0; i < OVL_ARRAY_SIZE(ovl_opts_enums); i++) {
		const struct ovl_opts_enum *e = ovl_opts_enums[i].values;

		if (!ovl_opts_key_is(item, klen, ovl_opts_enums[i].key))
			continue;
		if (!eq)
			goto novalue;
		for (j = 0; e[j].name; j++) {
			if (strlen(e[j].name) != vlen || memcmp(e[j].name, val, vlen))
				continue;
			if (ovl_opts_enums[i].field != (size_t)-1)
				*(int *)((char *)o + ovl_opts_enums[i].field) = e[j].value;
			return 0;
		}
		return ovl_opts_fail(err, errlen, "bad value for %s: '%s'", kesc,
				     ovl_opts_esc(val, vlen, vesc, sizeof(vesc)));
	}
	if (ovl_opts_in(ovl_opts_generic_flags, item, klen)) {
		if (eq)
			goto hasvalue;
		return 0;
	}
	if (ovl_opts_in(ovl_opts_generic_valued, item, klen) ||
	    (klen > 2 && (item[0] == 'x' || item[0] == 'X') && item[1] == '-'))
		return 0;
	return ovl_opts_fail(err, errlen, "unknown option '%s'", kesc);

novalue:
	return ovl_opts_fail(err, errlen, "option '%s' needs a value", kesc);
hasvalue:
	return ovl_opts_fail(err, errlen, "option '%s' takes no value", kesc);
}

int ovl_opts_parse(struct ovl_opts *o, const char *s, char *err, size_t errlen)
{
	size_t i, start = 0, n = strlen(s);

	if (err && errlen)
		err[0] = '\0';
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] == '\\') {
			if (i + 1 < n)
				i++;
			continue;
		}
		if (i < n && s[i] != ',')
			continue;
		if (i > start && ovl_opts_item(o, s + start, i - start, err, errlen))
			return -1;
		start = i + 1;
	}
	return 0;
}
