/*
 * Deferred data copy-up: the data of a metacopy file is copied from its
 * lower data inode into the same upper inode, in place (hard links stay
 * one inode), keeping size, holes, owner, mode, times and xattrs; then
 * the metacopy xattr goes. Planned by the walk, applied by repair.c
 * through the journal: data synced first, then the xattr removed, then
 * the parent synced, so a kill at any instant leaves a file the kernel
 * still reads from the lower data.
 */
#ifndef OVERLAY_COPYUP_H
#define OVERLAY_COPYUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "overlay/progress.h"

struct ovl_copyup_stats {
	unsigned long files;
	unsigned long long bytes;	/* data bytes (holes not counted) */
	unsigned long cloned;		/* done with FICLONE */
};

/*
 * Copy the data of src (O_RDONLY) into dst (O_WRONLY), both regular
 * files, for the first `size` bytes: FICLONE when the filesystem shares
 * extents, else copy_file_range over the data ranges (SEEK_DATA /
 * SEEK_HOLE, so holes stay holes), else read/write. Data a half-done
 * earlier copy left where the source has holes is punched out. The size
 * of dst never changes on the way (it is `size` already: the metacopy
 * file's). Syncing is the caller's (one syncfs after many copies).
 * Returns 0 or -1 with errno.
 */
int ovl_copyup_data(int src, int dst, off_t size, struct ovl_copyup_stats *st);

/*
 * Compare the first `size` bytes of two files (holes read as zeros).
 * Returns 0 when equal, 1 when they differ, -1 with errno on a read error.
 */
int ovl_copyup_compare(int a, int b, off_t size);

/* --verify-data: each copy is compared with its source before the copy
 * is committed; a copy that differs is not (its metacopy xattr stays). */
extern bool ovl_copyup_verify;

/*
 * Progress of the copies, in KiB of the current pass (the pass that
 * applies the fixes): every copied chunk and file updates it. A NULL
 * progress is allowed.
 */
void ovl_copyup_progress_start(struct ovl_progress *p, unsigned long files,
			       unsigned long long bytes);
void ovl_copyup_progress_file(void);
void ovl_copyup_progress_end(void);

/* Test hook: OVL_COPYUP_FORCE=rw|cfr skips FICLONE (and copy_file_range). */

/* Make [off, off+len) of dst a hole, whatever an earlier copy left there
 * (zeros written where the filesystem cannot punch). */
int ovl_copyup_punch(int dst, off_t off, off_t len);

#endif
