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

/* The set as a map: a value (bytes, copied) stored with a string. Put
 * replaces the value of a string already there; get returns NULL if none. */
void ovl_strset_put(struct ovl_strset *set, const char *s, size_t len,
		    const void *val, size_t vlen);
const void *ovl_strset_get(const struct ovl_strset *set, const char *s, size_t len,
			   size_t *vlen);

#endif
