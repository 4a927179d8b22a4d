/*
 * The metacopy xattr: empty, or a header
 *   u8 version (0), u8 len (header + digest), u8 flags, u8 digest_algo,
 *   u8 digest[len - 4]
 * digest_algo: 1 = sha256 (32 bytes), 2 = sha512 (64 bytes), the fs-verity
 * hash algorithm numbers.
 */
#ifndef OVERLAY_METACOPY_H
#define OVERLAY_METACOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OVL_METACOPY_HDR_LEN	4
#define OVL_METACOPY_DIGEST_MAX	64
#define OVL_METACOPY_MAX_LEN	(OVL_METACOPY_HDR_LEN + OVL_METACOPY_DIGEST_MAX)

#define OVL_VERITY_ALG_SHA256	1
#define OVL_VERITY_ALG_SHA512	2

struct ovl_metacopy {
	bool empty;		/* zero-length value: no header */
	uint8_t version;
	uint8_t len;
	uint8_t flags;
	uint8_t digest_algo;
	size_t digest_len;	/* 0: header without digest */
	uint8_t digest[OVL_METACOPY_DIGEST_MAX];
};

enum ovl_metacopy_err {
	OVL_MC_OK = 0,
	OVL_MC_TOO_SHORT,	/* 1..3 bytes: the kernel returns EIO always */
	OVL_MC_TOO_LONG,	/* larger than header + largest digest */
	OVL_MC_BAD_VERSION,
	OVL_MC_BAD_LEN,		/* len field disagrees with the stored size */
	OVL_MC_BAD_FLAGS,
	OVL_MC_BAD_ALGO,	/* unknown digest algorithm */
	OVL_MC_BAD_DIGEST_LEN,	/* digest size does not fit the algorithm */
};

enum ovl_metacopy_err ovl_metacopy_parse(const void *buf, size_t size,
					 struct ovl_metacopy *mc);
const char *ovl_metacopy_strerror(enum ovl_metacopy_err err);
/* Digest size of an fs-verity algorithm, 0 if unknown. */
size_t ovl_verity_digest_size(unsigned algo);
/* Encode; returns length written, 0 if size is too small. */
size_t ovl_metacopy_encode(const struct ovl_metacopy *mc, void *buf, size_t size);

#endif
