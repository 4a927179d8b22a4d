/* A set of byte strings (open addressing): remembers what must be
 * remembered across a walk, e.g. redirect targets, without a list scan. */
#ifndef OVL_STRSET_H
#define OVL_STRSET_H

#include <stdbool.h>
#include <stddef.h>

struct ovl_strset;

struct ovl_strset *ovl_strset_new(void);
void ovl_strset_free(struct ovl_strset *set);
/* Insert; returns false when the string was already there. */
bool ovl_strset_add(struct ovl_strset *set, const char *s, size_t len);
bool ovl_strset_has(const struct ovl_strset *set, const char *s, size_t len);
size_t ovl_strset_count(const struct ovl_strset *set);

#endif
