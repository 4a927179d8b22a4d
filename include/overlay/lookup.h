/*
 * Safe lookups inside one layer: never leave the layer root, never follow
 * a symlink or magic link. openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS) where the kernel has it, a component-by-component
 * O_NOFOLLOW walk otherwise.
 */
#ifndef OVERLAY_LOOKUP_H
#define OVERLAY_LOOKUP_H

#include <stddef.h>
#include <sys/stat.h>

/*
 * Open relpath (components separated by '/', no leading '/', "" = the root
 * itself) below rootfd with flags (O_PATH, O_RDONLY|O_DIRECTORY, ...).
 * O_NOFOLLOW and O_CLOEXEC are always added. Returns an fd or -1 with
 * errno: ELOOP for a symlink on the way, EXDEV for a leading '/' or any
 * '..' component, EINVAL for an empty or "." component. A symlink as the
 * last component is ELOOP, except with O_PATH (an fd of the link itself).
 */
int ovl_open_beneath(int rootfd, const char *relpath, size_t len, int flags);

/* Test hook: non-zero makes ovl_open_beneath skip openat2 and walk. */
extern int ovl_lookup_force_fallback;

/* Open a child dir of dirfd for reading (getdents), never following. */
int ovl_open_dir_at(int dirfd, const char *name);

/*
 * The names in child dir `name` of dirfd ("" or "." for dirfd itself),
 * without "." and "..", sorted bytewise so that output does not depend on
 * the filesystem's order. Returns a NULL-terminated array (free with
 * ovl_dir_names_free) and its length in *count, or NULL with errno.
 */
char **ovl_dir_names(int dirfd, const char *name, size_t *count);
/* The same with each name's d_type (DT_UNKNOWN where the filesystem
 * does not tell) in *types, in the names' order (free it). */
char **ovl_dir_names_types(int dirfd, const char *name, size_t *count, unsigned char **types);
void ovl_dir_names_free(char **names);
/* A dir's entries, sorted by name as ovl_dir_names sorts them, each with
 * its d_type and d_ino (the inode number getdents gives). NULL with errno. */
struct ovl_dirent {
	char *name;
	unsigned char type;
	ino_t ino;
};
struct ovl_dirent *ovl_dir_entries(int dirfd, const char *name, size_t *count);
void ovl_dir_entries_free(struct ovl_dirent *ents, size_t count);
/* Does child dir `name` of dirfd hold anything? Unreadable counts as empty. */
int ovl_dir_is_empty(int dirfd, const char *name);

/* lstat of a child; 0 or -1 with errno. */
int ovl_stat_at(int dirfd, const char *name, struct stat *st);

/* Is this a whiteout: a char device 0/0 (xattr whiteouts are decided by
 * the caller from the xattr and its parent). */
int ovl_is_whiteout_stat(const struct stat *st);

#endif
