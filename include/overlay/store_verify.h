/*
 * fsck.overlay --store DIR --verify-content: every image layer of a
 * Docker or containers-storage store that has a tar-split record,
 * verified against it (overlay/content.h), in up to `jobs` threads side
 * by side; each layer reported on the calling thread, in the order of
 * the store's units (base layers first), as a stack of its own: a
 * "content of layer NAME (ID):" line, the images and containers using
 * it, its CT_ problems (each detail naming them too), and how to get
 * the image again. Nothing is ever written: the bytes cannot be
 * restored from the store, whatever the mode.
 */
#ifndef OVERLAY_STORE_VERIFY_H
#define OVERLAY_STORE_VERIFY_H

#include <stdio.h>

#include "overlay/problem.h"
#include "overlay/report_json.h"
#include "overlay/store.h"

struct ovl_verify_opts {
	int jobs;		/* threads (-j); < 1: one */
	enum ovl_mode mode;	/* only for the report's counts: nothing is fixed */
	int progress_fd;	/* -C: > 0 e2fsck lines on it, 0 a bar on a terminal, < 0 none */
	struct ovl_json *json;	/* --json: each layer a record of kind "content" (or NULL) */
};

/* Returns the fsck(8) exit code or-ed over the layers (0, 4, 8, 32). */
int ovl_store_verify_content(const struct ovl_store *st, const struct ovl_verify_opts *o);

#endif
