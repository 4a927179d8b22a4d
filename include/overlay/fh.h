/*
 * Overlay file handles as stored in origin and upper xattrs and as index
 * entry names:
 *   u8 version (0), u8 magic (0xfb), u8 len (whole length), u8 flags,
 *   u8 fid type, u8 uuid[16], u8 fid[len - 21]
 */
#ifndef OVERLAY_FH_H
#define OVERLAY_FH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OVL_FH_VERSION		0
#define OVL_FH_MAGIC		0xfb
#define OVL_FH_HDR_LEN		21
#define OVL_FH_FID_MAX		128	/* MAX_HANDLE_SZ */
#define OVL_FH_MAX_LEN		(OVL_FH_HDR_LEN + OVL_FH_FID_MAX)
#define OVL_FH_HEX_MAX		(2 * OVL_FH_MAX_LEN + 1)

#define OVL_FH_FLAG_BIG_ENDIAN	(1u << 0)
#define OVL_FH_FLAG_ANY_ENDIAN	(1u << 1)
#define OVL_FH_FLAG_PATH_UPPER	(1u << 2)
#define OVL_FH_FLAG_ALL		(OVL_FH_FLAG_BIG_ENDIAN | \
				 OVL_FH_FLAG_ANY_ENDIAN | \
				 OVL_FH_FLAG_PATH_UPPER)

struct ovl_fh {
	uint8_t version;
	uint8_t magic;
	uint8_t len;
	uint8_t flags;
	uint8_t type;
	uint8_t uuid[16];
	uint8_t fid[OVL_FH_FID_MAX];
	size_t fid_len;
};

enum ovl_fh_err {
	OVL_FH_OK = 0,
	OVL_FH_EMPTY,		/* zero-length value */
	OVL_FH_SHORT,		/* shorter than the 21-byte header */
	OVL_FH_BAD_LEN,		/* len field disagrees with the stored size */
	OVL_FH_BAD_VERSION,
	OVL_FH_BAD_MAGIC,
	OVL_FH_BAD_FLAGS,	/* unknown flag bits */
	OVL_FH_BAD_ENDIAN,	/* other endianness and not any-endian */
	OVL_FH_TOO_LONG,	/* fid longer than MAX_HANDLE_SZ */
	OVL_FH_BAD_HEX,		/* index name: not hex (ovl_fh_from_hex only) */
};

enum ovl_fh_err ovl_fh_parse(const void *buf, size_t size, struct ovl_fh *fh);
const char *ovl_fh_strerror(enum ovl_fh_err err);

/* Build a handle from a kernel file handle (type + fid) and a fs uuid. */
void ovl_fh_init(struct ovl_fh *fh, int type, const void *fid, size_t fid_len,
		 const uint8_t uuid[16], bool path_upper);
/* Stored bytes; returns length (fh->len), 0 if size is too small. */
size_t ovl_fh_encode(const struct ovl_fh *fh, void *buf, size_t size);
/* Index entry name: lowercase hex of the stored bytes. */
void ovl_fh_to_hex(const struct ovl_fh *fh, char out[OVL_FH_HEX_MAX]);
enum ovl_fh_err ovl_fh_from_hex(const char *name, struct ovl_fh *fh);

/* Same inode: fid type and fid bytes equal (uuid not compared). */
bool ovl_fh_same_fid(const struct ovl_fh *a, const struct ovl_fh *b);
bool ovl_fh_uuid_is_null(const struct ovl_fh *fh);

/*
 * name_to_handle_at of entry `name` in dirfd (never following a symlink),
 * filled into fh with the given uuid. Returns 0 or -1 with errno
 * (EOPNOTSUPP when the filesystem cannot export handles).
 */
int ovl_fh_of_at(int dirfd, const char *name, const uint8_t uuid[16],
		 struct ovl_fh *fh);

#endif
