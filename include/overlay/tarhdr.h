/*
 * The tar members of a layer as its tar-split record shows them: the raw
 * tar bytes of the record's segments are fed in order, and each file
 * entry takes the member whose headers were just completed. Read as Go's
 * archive/tar reads them (tar-split records what that reader saw): ustar
 * (with its name prefix), GNU (long names and link names, 'L' and 'K';
 * base-256 numbers), PAX extended headers ('x': path, linkpath, size,
 * uid, gid; 'g' is a member of its own, as Go returns it), v7.
 *
 * A state machine over the bytes, so segments may be cut anywhere; what
 * is kept is one header block and one extended header (at most
 * OVL_TAR_META_MAX bytes, Go's own bound).
 */
#ifndef OVERLAY_TARHDR_H
#define OVERLAY_TARHDR_H

#include <stdbool.h>
#include <stddef.h>

#define OVL_TAR_META_MAX (1u << 20)

struct ovl_tar_member {
	char type;		/* typeflag: '0' (also '\0', '7'), '1' ... '6', 'g' */
	unsigned mode;		/* permission, set-id and sticky bits (07777) */
	unsigned long long uid, gid;
	long long size;		/* bytes of data that follow in the tar */
	unsigned long long devmajor, devminor;
	const char *name;	/* as Go's reader gives Header.Name */
	size_t namelen;
	const char *linkname;
	size_t linklen;
};

struct ovl_tarhdr;

struct ovl_tarhdr *ovl_tarhdr_new(void);
void ovl_tarhdr_free(struct ovl_tarhdr *t);

/*
 * Raw tar bytes of a segment: headers, extended headers, padding, the
 * end-of-archive zero blocks and whatever follows them. 0, or -1 with
 * one line in why (a bad header checksum, data where a member's data
 * must come from a file entry, an extended header over the bound, a
 * GNU sparse member, numbers that do not parse).
 */
int ovl_tarhdr_feed(struct ovl_tarhdr *t, const unsigned char *b, size_t len, char *why,
		    size_t whylen);

/*
 * A file entry arrives: the member whose header was completed last
 * (valid until the next call), whose data (m->size bytes, none for the
 * header-only types) the caller takes from the file; its padding is
 * then expected from the segments. NULL, with why, when no member's
 * header is complete here.
 */
const struct ovl_tar_member *ovl_tarhdr_member(struct ovl_tarhdr *t, char *why, size_t whylen);

/* Bytes of data of this member in the tar (0 for the header-only types:
 * links, devices, dirs, fifos, as Go's reader counts them). */
long long ovl_tar_data_size(const struct ovl_tar_member *m);

/* The record is over: did the archive end with its zero blocks, with
 * no member left half done? */
bool ovl_tarhdr_complete(const struct ovl_tarhdr *t);

#endif
