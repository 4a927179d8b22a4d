/*
 * Where inodes live in the lower layers, by inode number: one walk of a
 * layer's dirs (names sorted, getdents' d_ino matched, fstatat confirming)
 * for all the inodes wanted there, stopped once each is found.
 *
 * The kernel names an inode opened by a file handle only while a
 * connected dentry of it is cached; a non-dir decoded cold (or after an
 * earlier decode made a disconnected alias) reads as "/". What a check
 * decides from such a path must not depend on the cache, so this finds
 * it the slow, sure way, and only for the inodes the kernel left without.
 */
#ifndef OVL_INOFIND_H
#define OVL_INOFIND_H

#include <stddef.h>
#include <sys/types.h>

struct ovl_stack;
struct ovl_inofind;

struct ovl_inofind *ovl_inofind_new(void);
void ovl_inofind_free(struct ovl_inofind *f);
/* Want inode dev:ino, looked for in lower layers `from`..nlower in order
 * (the first layer whose tree holds it wins). Returns its id. */
size_t ovl_inofind_want(struct ovl_inofind *f, int from, dev_t dev, ino_t ino);
/* Look. Dirs deeper than max_depth are not entered. */
void ovl_inofind_run(struct ovl_inofind *f, const struct ovl_stack *s, int max_depth);
/* Where id was found: its layer and path ("/a/b", valid until free), the
 * first in the walk's order when it has several; or -1. */
int ovl_inofind_result(const struct ovl_inofind *f, size_t id, const char **path);

#endif
