/*
 * One image layer's content against the engine's own record of it: the
 * tar-split record (overlay/tarsplit.h) read once, its tar headers
 * (overlay/tarhdr.h) taken member by member, each member compared with
 * what the layer dir holds at its name (presence, type, size, mode,
 * owner, link target, the CRC64 of the data), then the layer's tar
 * rebuilt from the record and the files hashed with sha256 against the
 * recorded diff digest, and the layer dir walked for what the record
 * does not have. The overlay drivers' whiteouts (".wh.NAME" members
 * unpacked as char devices 0/0 named NAME, ".wh..wh..opq" as the dir's
 * overlay.opaque=y) are compared as the drivers unpack them.
 *
 * Only reads: every lookup below the diff dir fd without a symlink
 * followed (ovl_open_beneath); a file is opened only when the record
 * and an lstat say it is regular, through an O_PATH fd checked first (a
 * device or fifo swapped in meanwhile is never opened). Memory: one record
 * line, one read buffer, one tar header, and the set of names (for the
 * files the record does not have); never the data. Safe to run in
 * several threads at once on different layers.
 */
#ifndef OVERLAY_CONTENT_H
#define OVERLAY_CONTENT_H

#include <stdbool.h>
#include <stddef.h>

#include "overlay/problem.h"

/* Findings kept per layer; more are counted (a wiped layer would
 * otherwise hold one per file). */
#define OVL_CONTENT_FINDINGS_MAX 1000

struct ovl_content_in {
	int recordfd;			/* the tar-split record (gzip), open for reading */
	int difffd;			/* the layer's diff dir, O_RDONLY|O_DIRECTORY */
	const char *digest;		/* recorded diff digest, 64 hex, or NULL */
	long long size;			/* recorded tar size, or -1 */
	bool skip_owner;		/* owners on disk are mapped: not compared */
	unsigned long long *progress;	/* tar bytes rebuilt, added atomically (or NULL) */
	const volatile int *stop;	/* non-zero: give up soon (or NULL) */
};

/* One difference: a code of the content class, where, and what differs. */
struct ovl_content_finding {
	enum ovl_problem_code code;
	char *path;			/* in the layer dir, "/etc/passwd" ("/" the dir) */
	char *detail;			/* "size 3, recorded 5" */
};

struct ovl_content_result {
	struct ovl_content_finding *f;
	size_t n;
	unsigned long more;		/* findings past OVL_CONTENT_FINDINGS_MAX */
	unsigned long long members;	/* tar members compared */
	unsigned long long bytes;	/* bytes of the rebuilt tar */
	bool record_read;		/* the record was read to its end */
	bool digest_checked;		/* ... and a digest was recorded to compare */
	bool digest_match;
	char sha256[65];		/* of the rebuilt tar, when record_read */
	bool stopped;			/* *stop was set */
};

void ovl_content_verify(const struct ovl_content_in *in, struct ovl_content_result *out);
void ovl_content_result_free(struct ovl_content_result *r);

#endif
