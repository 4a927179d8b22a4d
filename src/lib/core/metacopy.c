/*
 * The metacopy xattr, judged as the kernel does (fs/overlayfs/util.c,
 * ovl_check_metacopy_xattr() and ovl_validate_verity()).
 *
 * Always, whatever the verity mode:
 *   size 0          "metacopy, no header": fine                  OK, empty
 *   size 1..3       EIO on lookup ("has too small xattr")         TOO_SHORT
 *   size >= 4       lookup only asks for the size: fine
 * Only with verity=on|require, when the kernel reads the header into a
 * 68-byte buffer to validate the digest:
 *   size > 68       getxattr fails with ERANGE                    TOO_LONG
 *   version != 0    EIO ("unsupported version")                   BAD_VERSION
 *   len != size     EIO ("invalid xattr size")                    BAD_LEN
 *   algorithm or digest size not what fs-verity measured on the lower
 *                   EIO ("wrong fs-verity digest")                BAD_ALGO,
 *                                                                 BAD_DIGEST_LEN
 * A 4-byte header (no digest) is never validated: the kernel only checks
 * a digest when the xattr is larger than the header, and digest_algo 0
 * means "no digest" whatever follows it. verity=require additionally
 * fails any metacopy without a digest; that is a stack-level judgement
 * left to the caller. The kernel defines no flags and ignores the field,
 * so OVL_MC_BAD_FLAGS is never returned.
 */
#include <string.h>

#include "overlay/metacopy.h"

size_t ovl_verity_digest_size(unsigned algo)
{
	switch (algo) {
	case OVL_VERITY_ALG_SHA256:
		return 32;
	case OVL_VERITY_ALG_SHA512:
		return 64;
	}
	return 0;
}

enum ovl_metacopy_err ovl_metacopy_parse(const void *buf, size_t size,
					 struct ovl_metacopy *mc)
{
	const uint8_t *b = buf;

	memset(mc, 0, sizeof(*mc));
	if (size == 0) {
		mc->empty = true;
		return OVL_MC_OK;
	}
	if (size < OVL_METACOPY_HDR_LEN)
		return OVL_MC_TOO_SHORT;
	if (size > OVL_METACOPY_MAX_LEN)
		return OVL_MC_TOO_LONG;

	mc->version = b[0];
	mc->len = b[1];
	mc->flags = b[2];
	mc->digest_algo = b[3];
	/* Kept whole even when algo is 0, so that encode gives it back. */
	mc->digest_len = size - OVL_METACOPY_HDR_LEN;
	memcpy(mc->digest, b + OVL_METACOPY_HDR_LEN, mc->digest_len);

	if (mc->version != 0)
		return OVL_MC_BAD_VERSION;
	if (mc->len != size)
		return OVL_MC_BAD_LEN;
	if (mc->digest_len == 0 || mc->digest_algo == 0)
		return OVL_MC_OK;
	if (!ovl_verity_digest_size(mc->digest_algo))
		return OVL_MC_BAD_ALGO;
	if (ovl_verity_digest_size(mc->digest_algo) != mc->digest_len)
		return OVL_MC_BAD_DIGEST_LEN;
	return OVL_MC_OK;
}

const char *ovl_metacopy_strerror(enum ovl_metacopy_err err)
{
	switch (err) {
	case OVL_MC_OK:
		return "valid metacopy";
	case OVL_MC_TOO_SHORT:
		return "metacopy xattr too short";
	case OVL_MC_TOO_LONG:
		return "metacopy xattr too long";
	case OVL_MC_BAD_VERSION:
		return "unsupported metacopy version";
	case OVL_MC_BAD_LEN:
		return "metacopy length field does not match its size";
	case OVL_MC_BAD_FLAGS:
		return "unknown metacopy flags";
	case OVL_MC_BAD_ALGO:
		return "unknown metacopy digest algorithm";
	case OVL_MC_BAD_DIGEST_LEN:
		return "metacopy digest size does not match its algorithm";
	}
	return "unknown metacopy error";
}

size_t ovl_metacopy_encode(const struct ovl_metacopy *mc, void *buf, size_t size)
{
	uint8_t *b = buf;
	size_t len;

	if (mc->empty || mc->digest_len > OVL_METACOPY_DIGEST_MAX)
		return 0;
	len = OVL_METACOPY_HDR_LEN + mc->digest_len;
	if (size < len)
		return 0;
	b[0] = mc->version;
	b[1] = (uint8_t)len;
	b[2] = mc->flags;
	b[3] = mc->digest_algo;
	memcpy(b + OVL_METACOPY_HDR_LEN, mc->digest, mc->digest_len);
	return len;
}
