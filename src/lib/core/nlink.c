/*
 * The nlink xattr of indexed hard links, parsed as the kernel's
 * ovl_get_nlink() (fs/overlayfs/inode.c) does:
 *  - it reads at most 12 bytes (a longer value fails with ERANGE),
 *    NUL-terminates them and treats them as a C string from then on
 *    (bytes after an embedded NUL are ignored);
 *  - byte 0 'U' or 'L', byte 1 '+' or '-';
 *  - kstrtoint(value + 1, 10): optional sign already there, decimal
 *    digits only, one trailing '\n' allowed, int range;
 *  - the count is the upper's or lower's i_nlink plus the difference and
 *    must be > 0.
 * On any failure the kernel warns "failed to get index nlink" and falls
 * back to the real nlink; an index entry with nlink 1 and no usable
 * value is removed at mount as an orphan.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "overlay/nlink.h"

#define OVL_NLINK_READ_MAX	12

int ovl_nlink_parse(const char *val, size_t size, struct ovl_nlink *out)
{
	char buf[OVL_NLINK_READ_MAX + 1];
	const char *p;
	bool neg = false;
	long long v = 0;
	int digits = 0;

	if (size > OVL_NLINK_READ_MAX)
		return -1;
	memcpy(buf, val, size);
	buf[size] = '\0';
	if ((buf[0] != 'U' && buf[0] != 'L') || (buf[1] != '+' && buf[1] != '-'))
		return -1;

	/* kstrtoll: '-' then digits, or '+' (skipped by kstrtoull) then digits */
	p = buf + 1;
	if (*p == '-')
		neg = true;
	p++;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		v = v * 10 + (*p - '0');	/* <= 11 digits: no overflow */
	}
	if (!digits)
		return -1;
	if (*p == '\n')
		p++;
	if (*p)
		return -1;
	if (neg)
		v = -v;
	if (v < INT_MIN || v > INT_MAX)
		return -1;
	out->base = buf[0];
	out->diff = (long)v;
	return 0;
}

long ovl_nlink_apply(const struct ovl_nlink *nl, long upper_nlink, long lower_nlink)
{
	return (nl->base == 'L' ? lower_nlink : upper_nlink) + nl->diff;
}

long ovl_nlink_kernel(const void *val, size_t size, long upper_nlink, long lower_nlink,
		      long fallback)
{
	struct ovl_nlink nl;
	long v;

	/* A lower inode with one link never had its links counted. */
	if (lower_nlink == 1 || !val || ovl_nlink_parse(val, size, &nl) < 0)
		return fallback;
	v = ovl_nlink_apply(&nl, upper_nlink, lower_nlink);
	return v > 0 ? v : fallback;
}

void ovl_nlink_format(const struct ovl_nlink *nl, char *buf, size_t size)
{
	/* The kernel writes "U%+i" / "L%+i". */
	snprintf(buf, size, "%c%+ld", nl->base, nl->diff);
}
