/*
 * The nlink xattr of indexed hard links: "U+n", "U-n", "L+n", "L-n": the
 * overlay link count relative to the upper ('U') or lower ('L') inode's.
 */
#ifndef OVERLAY_NLINK_H
#define OVERLAY_NLINK_H

#include <stdbool.h>
#include <stddef.h>

struct ovl_nlink {
	char base;		/* 'U' or 'L' */
	long diff;
};

/* Parse as the kernel does (sign required, decimal, int range). 0 or -1. */
int ovl_nlink_parse(const char *val, size_t size, struct ovl_nlink *out);
/* The overlay link count it yields from the real counts; <= 0 is invalid. */
long ovl_nlink_apply(const struct ovl_nlink *nl, long upper_nlink, long lower_nlink);
/*
 * The overlay link count the kernel uses for an indexed inode: the value
 * of the xattr (val, size; NULL when absent) applied to the real counts,
 * or fallback when the lower has one link or the value is unusable. At
 * mount an index entry without upper alias is an orphan when this gives
 * 0 with fallback 0.
 */
long ovl_nlink_kernel(const void *val, size_t size, long upper_nlink, long lower_nlink,
		      long fallback);
/* Format "U+0" into buf (at least 24 bytes). */
void ovl_nlink_format(const struct ovl_nlink *nl, char *buf, size_t size);

#endif
