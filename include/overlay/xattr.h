/*
 * Overlay xattrs: names in both namespaces, and reading them from a layer
 * entry relative to its parent dirfd without following symlinks and without
 * opening the entry (devices and fifos must never be opened).
 */
#ifndef OVERLAY_XATTR_H
#define OVERLAY_XATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum ovl_ns {
	OVL_NS_TRUSTED,		/* trusted.overlay.NAME */
	OVL_NS_USER,		/* user.overlay.NAME (userxattr mounts) */
};

enum ovl_xattr_id {
	OVL_XA_OPAQUE,
	OVL_XA_REDIRECT,
	OVL_XA_ORIGIN,
	OVL_XA_IMPURE,
	OVL_XA_NLINK,
	OVL_XA_UPPER,
	OVL_XA_METACOPY,
	OVL_XA_PROTATTR,
	OVL_XA_UUID,
	OVL_XA_WHITEOUT,
	OVL_XA_WHITEOUTS,	/* 6.7-only dir marker, read like opaque=x */
	OVL_XA_COUNT
};

/* Largest overlay xattr value we keep; longer ones are reported as huge. */
#define OVL_XATTR_MAX 4096

/* "opaque", "redirect", ... */
const char *ovl_xattr_short_name(enum ovl_xattr_id id);
/* Full name in a namespace: "trusted.overlay.origin". Static storage. */
const char *ovl_xattr_name(enum ovl_ns ns, enum ovl_xattr_id id);

enum ovl_xattr_class {
	OVL_XC_OTHER,		/* not an overlay xattr */
	OVL_XC_OVERLAY,		/* overlay xattr of the given namespace, *id set */
	OVL_XC_ESCAPED,		/* NS.overlay.overlay.*: data of a nested overlay */
	OVL_XC_OTHER_NS,	/* overlay xattr of the other namespace, *id set */
	OVL_XC_UNKNOWN,		/* NS.overlay.SOMETHING we do not know */
};
enum ovl_xattr_class ovl_xattr_classify(const char *name, enum ovl_ns ns,
					enum ovl_xattr_id *id);

/*
 * List / get xattrs of entry `name` in `dirfd` (name "" = dirfd itself),
 * never following a symlink. Return the size, or -1 with errno set
 * (ENODATA for a missing xattr, ERANGE when buf is too small).
 * Uses listxattrat/getxattrat (Linux 6.13) and falls back to
 * /proc/self/fd of an O_PATH descriptor on older kernels.
 */
ssize_t ovl_xattr_list_at(int dirfd, const char *name, char *buf, size_t size);
/* Test hook: non-zero makes the calls above always use the fallback. */
extern int ovl_xattr_force_fallback;
ssize_t ovl_xattr_get_at(int dirfd, const char *name, const char *xname,
			 void *buf, size_t size);

/*
 * Set / remove an xattr of entry `name` in dirfd, never following a
 * symlink and never opening the entry for I/O (an O_PATH fd and its
 * /proc/self/fd link). Only the repair module writes; 0 or -1 with errno.
 */
int ovl_xattr_set_at(int dirfd, const char *name, const char *xname,
		     const void *val, size_t size);
int ovl_xattr_remove_at(int dirfd, const char *name, const char *xname);

/* Every overlay xattr of one entry, as read once by the walker. */
struct ovl_xattrs {
	unsigned present;	/* bit (1u << id) for each id found */
	unsigned other_ns;	/* ids found in the other namespace */
	unsigned huge;		/* ids whose value exceeded OVL_XATTR_MAX */
	unsigned unreadable;	/* ids listed but get failed (not ENODATA) */
	unsigned escaped;	/* count of escaped overlay.overlay.* names */
	unsigned unknown;	/* count of unknown NS.overlay.* names */
	size_t len[OVL_XA_COUNT];
	/* NUL-terminated copy; NULL when absent, huge or unreadable. */
	unsigned char *val[OVL_XA_COUNT];
};

static inline bool ovl_xattrs_has(const struct ovl_xattrs *x, enum ovl_xattr_id id)
{
	return x->present & (1u << id);
}

/*
 * Read every overlay xattr of an entry: one list call, one get per overlay
 * name present. Returns 0, or -1 with errno when the list itself failed
 * (EOPNOTSUPP on a filesystem without xattrs is returned as 0, empty).
 */
int ovl_xattrs_read(int dirfd, const char *name, enum ovl_ns ns,
		    struct ovl_xattrs *out);
void ovl_xattrs_free(struct ovl_xattrs *x);

/*
 * Which overlay xattrs of namespace ns an entry has, from one list call:
 * a bit (1u << id) each in *present. Cheaper than a get of a name it
 * lacks (no name to copy in, no permission hook), so lookups that only
 * ask "is it there" list once. Returns 0, or -1 with errno when the list
 * failed (ERANGE for a list over 2 KiB): the caller then gets each name.
 */
int ovl_xattr_names_at(int dirfd, const char *name, enum ovl_ns ns, unsigned *present);

#endif
