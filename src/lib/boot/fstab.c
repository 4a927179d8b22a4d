/*
 * The overlay lines of an fstab, read by libmount so that its escapes,
 * comments and quirks are the ones mount(8) applies. Only the overlay's
 * own options are kept: mount flags (noauto, x-systemd.*) are not ours.
 */
#include <errno.h>
#include <libmount.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/fstab.h"
#include "overlay/util.h"

int ovl_fstab_read(const char *path, struct ovl_fstab *out, char *err, size_t errlen)
{
	struct libmnt_table *tb = mnt_new_table();
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs;
	size_t cap = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!tb || !it) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	int r = mnt_table_parse_fstab(tb, path);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path ? path : "/etc/fstab", strerror(-r));
		goto done;
	}
	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		const char *type = mnt_fs_get_fstype(fs);
		const char *target = mnt_fs_get_target(fs);
		if (!type || strcmp(type, "overlay") || !target)
			continue;
		if (out->n == cap) {
			cap = cap ? 2 * cap : 8;
			out->e = ovl_xrealloc(out->e, cap * sizeof(*out->e));
		}
		const char *o = mnt_fs_get_fs_options(fs);
		out->e[out->n].target = ovl_xstrdup(target);
		out->e[out->n].options = ovl_xstrdup(o ? o : "");
		out->e[out->n].passno = mnt_fs_get_passno(fs);
		out->n++;
	}
	rc = 0;
done:
	mnt_free_iter(it);
	mnt_unref_table(tb);
	return rc;
}

/* A mount point as the kernel would resolve it; the text itself if it
 * does not exist (an fstab may name a dir not made yet). */
static void canonical(const char *p, char *out, size_t size)
{
	char buf[PATH_MAX];

	if (realpath(p, buf)) {
		snprintf(out, size, "%s", buf);
		return;
	}
	/* no such dir: at least "//" and a trailing '/' do not matter */
	size_t n = 0;
	for (const char *c = p; *c && n + 1 < size; c++)
		if (*c != '/' || !n || out[n - 1] != '/')
			out[n++] = *c;
	if (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
}

const struct ovl_fstab_entry *ovl_fstab_find(const struct ovl_fstab *t, const char *target)
{
	char want[PATH_MAX], have[PATH_MAX];

	canonical(target, want, sizeof(want));
	for (size_t i = 0; i < t->n; i++) {
		canonical(t->e[i].target, have, sizeof(have));
		if (!strcmp(want, have))
			return &t->e[i];
	}
	return NULL;
}

size_t ovl_fstab_pass_order(const struct ovl_fstab *t, const struct ovl_fstab_entry **out)
{
	size_t n = 0;
	int maxpass = 0;

	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].passno > maxpass)
			maxpass = t->e[i].passno;
	/* few entries: a pass per pass number keeps file order stable */
	for (int pass = 1; pass <= maxpass; pass++)
		for (size_t i = 0; i < t->n; i++)
			if (t->e[i].passno == pass)
				out[n++] = &t->e[i];
	return n;
}

void ovl_fstab_free(struct ovl_fstab *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].target);
		free(t->e[i].options);
	}
	free(t->e);
	memset(t, 0, sizeof(*t));
}
