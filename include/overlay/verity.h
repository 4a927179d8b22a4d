/*
 * fs-verity digests of lower data files: read with FS_IOC_MEASURE_VERITY
 * when the file has verity enabled, computed in user space with
 * libfsverity (4096-byte blocks, no salt: the kernel's defaults) otherwise.
 */
#ifndef OVERLAY_VERITY_H
#define OVERLAY_VERITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/metacopy.h"

/*
 * Measure the enabled fs-verity digest of an open file (O_RDONLY).
 * Returns 0 with algo and digest set, -1 with errno: ENODATA when verity
 * is not enabled, EOPNOTSUPP/ENOTTY when the filesystem has no verity.
 */
int ovl_verity_measure(int fd, unsigned *algo, uint8_t digest[OVL_METACOPY_DIGEST_MAX],
		       size_t *digest_len);

/*
 * Compute the fs-verity digest of the file's contents with the given
 * algorithm. Returns 0, or -1 with errno (ENOSYS when built without
 * libfsverity).
 */
int ovl_verity_compute(int fd, unsigned algo, uint8_t digest[OVL_METACOPY_DIGEST_MAX],
		       size_t *digest_len);

#endif
