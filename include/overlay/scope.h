/*
 * The scoped check: fsck.overlay's passes over a few places of a stack
 * instead of all of it, for a viewer that changed one thing. A place is
 * an entry (checked with its chain of parents from each layer root, in
 * every layer that has its path), a subtree (an entry and everything
 * below it) or a W/index entry. Pass 1 (the stack's fixed places),
 * W/index's own root and W/work are checked every time (a few reads), the
 * layer roots whenever there are entries.
 *
 * What a judgement takes from elsewhere in the stack (the other dirs of a
 * layer whose redirect leads to the same place, the aliases of a hard
 * link and the whiteouts over its lower aliases, the upper dir an
 * nfs_export index entry names) comes from the links: a ledger a full
 * check fills and each scoped check keeps current. A scope grows to take
 * in every entry the links tie to it, so that each entry it checks gets
 * the problem lines a full check gives it.
 */
#ifndef OVERLAY_SCOPE_H
#define OVERLAY_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "overlay/pscan.h"
#include "overlay/stack.h"

struct ovl_links;
struct ovl_scope;

struct ovl_links *ovl_links_new(void);
void ovl_links_free(struct ovl_links *l);
/* Records held: entries that refer to others, or are referred to. */
size_t ovl_links_count(const struct ovl_links *l);

struct ovl_scope *ovl_scope_new(void);
void ovl_scope_free(struct ovl_scope *sc);
/*
 * Add the place of a problem (its layer name and path): "index" "/NAME"
 * a W/index entry; "upper", "lowerN", "dataN" an entry, checked at that
 * path in every layer; "stack", "work" and "index" "/" are always checked.
 */
void ovl_scope_add(struct ovl_scope *sc, const char *layer, const char *path);
/* An entry and everything below it, in every layer. */
void ovl_scope_add_subtree(struct ovl_scope *sc, const char *path);
/* Take in the entries the links tie to the places, until none is left
 * out. True when the scope grew. */
bool ovl_scope_expand(struct ovl_scope *sc, const struct ovl_links *links);
/* Is (layer name, path) checked by a scoped check of sc? */
bool ovl_scope_has(const struct ovl_scope *sc, const char *layer, const char *path);
/* The entries, subtrees and W/index names (not the chains). */
size_t ovl_scope_count(const struct ovl_scope *sc);
/* Does it hold entries of the layers (else no layer is walked)? */
bool ovl_scope_walks(const struct ovl_scope *sc);
/* Add what the changes of a plan touch: the entries they change, as
 * subtrees where a change makes what lies below merge otherwise. */
struct ovl_plan;
void ovl_scope_note_plan(struct ovl_scope *sc, const struct ovl_plan *plan);

/*
 * Check the places of sc read-only (-n), after expanding it with links,
 * and bring the links of what it checked up to date; when that ties in
 * more entries, check again. The problems found (every one at a place
 * of sc) in *items (free with ovl_pitems_free). Returns 0, or 8 when a
 * pass failed operationally.
 */
int ovl_scope_check(struct ovl_stack *s, struct ovl_scope *sc, struct ovl_links *links,
		    struct ovl_pitem **items, size_t *n);

#endif
