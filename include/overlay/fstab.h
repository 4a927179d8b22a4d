/*
 * Overlay entries of an fstab (libmount), so that a stack can be named
 * by its mount point, and `-A` can check every one a boot would mount.
 */
#ifndef OVERLAY_FSTAB_H
#define OVERLAY_FSTAB_H

#include <stddef.h>

struct ovl_fstab_entry {
	char *target;		/* the mount point, as in the fstab */
	char *options;		/* the overlay's own options (lowerdir=...) */
	int passno;
};

struct ovl_fstab {
	struct ovl_fstab_entry *e;
	size_t n;
};

/*
 * Read the overlay entries of `path` (NULL: /etc/fstab, or $FSTAB_FILE as
 * libmount reads it), in file order. Returns 0, or -1 with a reason.
 */
int ovl_fstab_read(const char *path, struct ovl_fstab *out, char *err, size_t errlen);
/* The entry mounted on `target` (compared after canonicalizing), or NULL. */
const struct ovl_fstab_entry *ovl_fstab_find(const struct ovl_fstab *t, const char *target);
/* The entries `-A` checks: pass number > 0, by pass number, then file order. */
size_t ovl_fstab_pass_order(const struct ovl_fstab *t, const struct ovl_fstab_entry **out);
void ovl_fstab_free(struct ovl_fstab *t);

#endif
