/*
 * fs-verity digests of lower data files. The kernel measures an enabled
 * file with FS_IOC_MEASURE_VERITY; for files without verity (or kernels
 * without CONFIG_FS_VERITY) the same digest is computed in user space
 * with libfsverity, using the parameters `fsverity enable` defaults to:
 * 4096-byte Merkle tree blocks, no salt.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_LIBFSVERITY
#include <libfsverity.h>
#endif

#include "overlay/verity.h"

/* uapi linux/fsverity.h (Linux 5.4); defined here for older headers. */
struct ovl_fsverity_digest {
	uint16_t digest_algorithm;
	uint16_t digest_size;
	uint8_t digest[];
};
#ifndef FS_IOC_MEASURE_VERITY
#define FS_IOC_MEASURE_VERITY	_IOWR('f', 134, struct ovl_fsverity_digest)
#endif

int ovl_verity_measure(int fd, unsigned *algo, uint8_t digest[OVL_METACOPY_DIGEST_MAX],
		       size_t *digest_len)
{
	union {
		struct ovl_fsverity_digest d;
		uint8_t space[sizeof(struct ovl_fsverity_digest) + OVL_METACOPY_DIGEST_MAX];
	} u;

	memset(&u, 0, sizeof(u));
	u.d.digest_size = OVL_METACOPY_DIGEST_MAX;
	if (ioctl(fd, FS_IOC_MEASURE_VERITY, &u) < 0)
		return -1;
	if (u.d.digest_size > OVL_METACOPY_DIGEST_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	*algo = u.d.digest_algorithm;
	*digest_len = u.d.digest_size;
	memcpy(digest, u.d.digest, u.d.digest_size);
	return 0;
}

#ifdef HAVE_LIBFSVERITY
struct ovl_verity_reader {
	int fd;
	off_t pos;
};

/* libfsverity reads the file front to back; pread keeps fd's offset. */
static int ovl_verity_read(void *ctx, void *buf, size_t count)
{
	struct ovl_verity_reader *r = ctx;
	uint8_t *p = buf;

	while (count) {
		ssize_t n = pread(r->fd, p, count, r->pos);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* file shrank under us */
		p += n;
		count -= (size_t)n;
		r->pos += n;
	}
	return 0;
}

int ovl_verity_compute(int fd, unsigned algo, uint8_t digest[OVL_METACOPY_DIGEST_MAX],
		       size_t *digest_len)
{
	struct libfsverity_merkle_tree_params params;
	struct libfsverity_digest *d = NULL;
	struct ovl_verity_reader r = { .fd = fd, .pos = 0 };
	struct stat st;
	int err;

	if (!ovl_verity_digest_size(algo)) {
		errno = EINVAL;
		return -1;
	}
	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	memset(&params, 0, sizeof(params));
	params.version = 1;
	params.hash_algorithm = algo;
	params.file_size = (uint64_t)st.st_size;
	params.block_size = 4096;
	err = libfsverity_compute_digest(&r, ovl_verity_read, &params, &d);
	if (err) {
		errno = -err;
		return -1;
	}
	if (d->digest_size > OVL_METACOPY_DIGEST_MAX) {
		free(d);
		errno = EOVERFLOW;
		return -1;
	}
	*digest_len = d->digest_size;
	memcpy(digest, d->digest, d->digest_size);
	free(d);
	return 0;
}
#else
int ovl_verity_compute(int fd, unsigned algo, uint8_t digest[OVL_METACOPY_DIGEST_MAX],
		       size_t *digest_len)
{
	(void)fd;
	(void)algo;
	(void)digest;
	(void)digest_len;
	errno = ENOSYS;
	return -1;
}
#endif
