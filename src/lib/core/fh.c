/*
 * Overlay file handles (origin and upper xattrs, index entry names).
 *
 * What the kernel accepts (fs/overlayfs/namei.c, ovl_check_fb_len() as
 * called by ovl_get_fh() and ovl_verify_index()), in its order:
 *
 *   stored size < 21            EINVAL  "invalid origin" warning   SHORT
 *   len field > stored size     EINVAL  warning                    BAD_LEN
 *   magic != 0xfb               EINVAL  warning                    BAD_MAGIC
 *   version > 0                 ENODATA silent "origin unknown"    BAD_VERSION
 *   unknown flag bits           ENODATA silent                     BAD_FLAGS
 *   other endianness, not any   ENODATA silent                     BAD_ENDIAN
 *
 * For an origin xattr every rejection only costs the inode its origin
 * (the kernel warns for EINVAL, says nothing for ENODATA, and the file
 * stays visible). For an index entry name any of them fails
 * ovl_verify_index(), which refuses the mount with index=on. A zero-size
 * origin means "copied up, origin unknown" and is not an error at all
 * (EMPTY here, so the caller can tell it apart).
 *
 * Two cases the kernel's length check lets through but no kernel can ever
 * produce or decode, rejected here too because struct ovl_fh cannot hold
 * them: a len field below 21 (a negative fid length: exportfs never
 * resolves it) -> BAD_LEN, and a fid longer than MAX_HANDLE_SZ (the kernel
 * encodes at most that much) -> TOO_LONG.
 *
 * A stored value longer than its len field is accepted, like the kernel
 * does: only the first len bytes are the handle (the kernel compares and
 * decodes len bytes). Callers that want canonical values compare fh->len
 * with the stored size.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "overlay/fh.h"
#include "overlay/util.h"

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define OVL_FH_FLAG_CPU_ENDIAN	OVL_FH_FLAG_BIG_ENDIAN
#else
#define OVL_FH_FLAG_CPU_ENDIAN	0
#endif

enum ovl_fh_err ovl_fh_parse(const void *buf, size_t size, struct ovl_fh *fh)
{
	const uint8_t *b = buf;
	uint8_t len, flags;

	memset(fh, 0, sizeof(*fh));
	if (size == 0)
		return OVL_FH_EMPTY;
	if (size < OVL_FH_HDR_LEN)
		return OVL_FH_SHORT;
	len = b[2];
	if (len > size)
		return OVL_FH_BAD_LEN;
	if (b[1] != OVL_FH_MAGIC)
		return OVL_FH_BAD_MAGIC;
	if (b[0] > OVL_FH_VERSION)
		return OVL_FH_BAD_VERSION;
	flags = b[3];
	if (flags & ~OVL_FH_FLAG_ALL)
		return OVL_FH_BAD_FLAGS;
	if (!(flags & OVL_FH_FLAG_ANY_ENDIAN) &&
	    (flags & OVL_FH_FLAG_BIG_ENDIAN) != OVL_FH_FLAG_CPU_ENDIAN)
		return OVL_FH_BAD_ENDIAN;
	if (len < OVL_FH_HDR_LEN)
		return OVL_FH_BAD_LEN;
	if (len - OVL_FH_HDR_LEN > OVL_FH_FID_MAX)
		return OVL_FH_TOO_LONG;

	fh->version = b[0];
	fh->magic = b[1];
	fh->len = len;
	fh->flags = flags;
	fh->type = b[4];
	memcpy(fh->uuid, b + 5, sizeof(fh->uuid));
	fh->fid_len = len - OVL_FH_HDR_LEN;
	memcpy(fh->fid, b + OVL_FH_HDR_LEN, fh->fid_len);
	return OVL_FH_OK;
}

const char *ovl_fh_strerror(enum ovl_fh_err err)
{
	switch (err) {
	case OVL_FH_OK:
		return "valid file handle";
	case OVL_FH_EMPTY:
		return "empty file handle";
	case OVL_FH_SHORT:
		return "file handle shorter than its header";
	case OVL_FH_BAD_LEN:
		return "file handle length field does not match its size";
	case OVL_FH_BAD_VERSION:
		return "unsupported file handle version";
	case OVL_FH_BAD_MAGIC:
		return "bad file handle magic";
	case OVL_FH_BAD_FLAGS:
		return "unknown file handle flags";
	case OVL_FH_BAD_ENDIAN:
		return "file handle of the other endianness";
	case OVL_FH_TOO_LONG:
		return "file handle fid too long";
	case OVL_FH_BAD_HEX:
		return "index name is not hex of a file handle";
	}
	return "unknown file handle error";
}

void ovl_fh_init(struct ovl_fh *fh, int type, const void *fid, size_t fid_len,
		 const uint8_t uuid[16], bool path_upper)
{
	memset(fh, 0, sizeof(*fh));
	if (fid_len > OVL_FH_FID_MAX)
		fid_len = OVL_FH_FID_MAX;	/* cannot come from the kernel */
	fh->version = OVL_FH_VERSION;
	fh->magic = OVL_FH_MAGIC;
	fh->len = (uint8_t)(OVL_FH_HDR_LEN + fid_len);
	/* As the kernel writes them: host endianness, PATH_UPPER for upper. */
	fh->flags = OVL_FH_FLAG_CPU_ENDIAN;
	if (path_upper)
		fh->flags |= OVL_FH_FLAG_PATH_UPPER;
	fh->type = (uint8_t)type;
	if (uuid)
		memcpy(fh->uuid, uuid, sizeof(fh->uuid));
	fh->fid_len = fid_len;
	if (fid_len)
		memcpy(fh->fid, fid, fid_len);
}

size_t ovl_fh_encode(const struct ovl_fh *fh, void *buf, size_t size)
{
	uint8_t *b = buf;
	size_t fid_len = fh->fid_len > OVL_FH_FID_MAX ? OVL_FH_FID_MAX : fh->fid_len;
	size_t len = OVL_FH_HDR_LEN + fid_len;

	if (size < len)
		return 0;
	b[0] = fh->version;
	b[1] = fh->magic;
	b[2] = (uint8_t)len;
	b[3] = fh->flags;
	b[4] = fh->type;
	memcpy(b + 5, fh->uuid, sizeof(fh->uuid));
	memcpy(b + OVL_FH_HDR_LEN, fh->fid, fid_len);
	return len;
}

void ovl_fh_to_hex(const struct ovl_fh *fh, char out[OVL_FH_HEX_MAX])
{
	uint8_t buf[OVL_FH_MAX_LEN];
	size_t len = ovl_fh_encode(fh, buf, sizeof(buf));

	ovl_hex_encode(buf, len, out);
}

/*
 * As ovl_verify_index() reads a name: at least 42 characters, the first
 * len/2 bytes of hex (either case; an odd last character is ignored),
 * then the length check above. The kernel writes lowercase hex of exactly
 * fh->len bytes; a caller comparing the name with ovl_fh_to_hex() finds
 * names that are accepted but not canonical.
 */
enum ovl_fh_err ovl_fh_from_hex(const char *name, struct ovl_fh *fh)
{
	uint8_t buf[OVL_FH_MAX_LEN + 128];
	size_t n = strlen(name);

	memset(fh, 0, sizeof(*fh));
	if (n < 2 * OVL_FH_HDR_LEN)
		return OVL_FH_SHORT;
	n /= 2;
	if (n > sizeof(buf))
		n = sizeof(buf);	/* names are at most 255 bytes anyway */
	if (ovl_hex_decode(name, 2 * n, buf, sizeof(buf)) < 0)
		return OVL_FH_BAD_HEX;
	return ovl_fh_parse(buf, n, fh);
}

bool ovl_fh_same_fid(const struct ovl_fh *a, const struct ovl_fh *b)
{
	return a->type == b->type && a->fid_len == b->fid_len &&
	       a->fid_len <= OVL_FH_FID_MAX &&
	       !memcmp(a->fid, b->fid, a->fid_len);
}

bool ovl_fh_uuid_is_null(const struct ovl_fh *fh)
{
	size_t i;

	for (i = 0; i < sizeof(fh->uuid); i++)
		if (fh->uuid[i])
			return false;
	return true;
}

int ovl_fh_of_at(int dirfd, const char *name, const uint8_t uuid[16],
		 struct ovl_fh *fh)
{
	union {
		struct file_handle h;
		char space[sizeof(struct file_handle) + OVL_FH_FID_MAX];
	} u;
	/*
	 * name_to_handle_at() never follows a final symlink unless given
	 * AT_SYMLINK_FOLLOW; it rejects AT_SYMLINK_NOFOLLOW with EINVAL
	 * (checked on 6.18), so no flag is the no-follow form.
	 */
	int mnt_id, flags = 0;

	if (!name || !name[0]) {
		name = "";
		flags |= AT_EMPTY_PATH;
	}
	/*
	 * Non-connectable, like the kernel's ovl_encode_real_fh(): the
	 * same fid type and bytes overlay stores in origin.
	 */
	u.h.handle_bytes = OVL_FH_FID_MAX;
	if (name_to_handle_at(dirfd, name, &u.h, &mnt_id, flags) < 0)
		return -1;
	if (u.h.handle_bytes > OVL_FH_FID_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	ovl_fh_init(fh, u.h.handle_type, u.h.f_handle, u.h.handle_bytes, uuid,
		    false);
	return 0;
}
