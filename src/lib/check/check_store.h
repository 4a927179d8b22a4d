/*
 * The bookkeeping of a container engine's store (--store): l/ links, link
 * and lower files, layer dirs against the engine's metadata. Reports the
 * SR_* problems; wanted fixes go into a plan against a pseudo-stack whose
 * layer OVL_STORE_FIX_LAYER is the driver dir (paths "/l/NAME",
 * "/<id>/link", "/<id>/lower", "/<id>/work", "/<id>").
 */
#ifndef OVL_CHECK_STORE_H
#define OVL_CHECK_STORE_H

#include <stdbool.h>

#include "overlay/problem.h"
#include "overlay/repair.h"
#include "overlay/store.h"

#define OVL_STORE_FIX_LAYER	1

/* plan may be NULL (-n). Orphans are removed only with remove_orphans,
 * and never while a metadata file could not be read. */
void ovl_check_store(const struct ovl_store *st, struct ovl_report *r, struct ovl_plan *plan,
		     bool remove_orphans);

#endif
