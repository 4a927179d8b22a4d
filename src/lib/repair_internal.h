/*
 * Private to the repair modules: the undo journal and its records, shared
 * by repair.c (the plan, the overlay fixes, undo) and repair_store.c (the
 * fixes of a container store's bookkeeping).
 */
#ifndef OVL_REPAIR_INTERNAL_H
#define OVL_REPAIR_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "overlay/repair.h"

struct journal {
	FILE *f;
	unsigned long seq;
	bool batch;		/* records are synced together by journal_sync */
	unsigned long *preseq;	/* by plan order: a record written ahead, or 0 */
};

/* One journal line read back by undo. */
struct record {
	unsigned long seq;
	enum ovl_fix_op op;
	int layer;
	char *path;
	char *xname;
	unsigned char *old, *new;
	size_t oldlen, newlen;
	bool has_old, has_new, done;
};

/* Append (and, unless batched, sync) the record of a change about to be made. */
int ovl_journal_record(struct journal *j, const struct ovl_fix *f, const char *xname,
		       const void *old, size_t oldlen, bool had_old,
		       const void *new, size_t newlen, bool has_new);

/* The crash tests' kill points (OVL_FAULT_WRITE): before and after a change. */
void ovl_fault_point(bool after);

/* The store fixes (repair_store.c): apply one at dfd/leaf after journalling
 * it; where a record's change is now (1 made, 0 not made, -1 other); undo. */
int ovl_store_fix_apply(struct journal *j, const struct ovl_fix *f, int dfd, const char *leaf);
int ovl_store_fix_state(const struct record *rec, int dfd, const char *leaf);
int ovl_store_fix_revert(const struct record *rec, int dfd, const char *leaf);

#endif
