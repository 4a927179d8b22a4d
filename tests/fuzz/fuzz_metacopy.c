/* Fuzz target: the metacopy xattr. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/metacopy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_seeds(size_t *n);

static const char *const seeds[] = {
	"hex:00040000",
	"hex:00240001000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	"hex:004400020001020304050607080910111213141516171819202122232425262728293031"
	"3233343536373839404142434445464748495051525354555657585960616263",
	"hex:01240001000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	"hex:000a0000ffffffffffff",
};

const char *const *fuzz_seeds(size_t *n)
{
	*n = sizeof(seeds) / sizeof(seeds[0]);
	return seeds;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovl_metacopy mc, back;
	uint8_t out[OVL_METACOPY_MAX_LEN];
	enum ovl_metacopy_err err;
	size_t n;

	err = ovl_metacopy_parse(data, size, &mc);
	if (err > OVL_MC_BAD_DIGEST_LEN || !ovl_metacopy_strerror(err))
		abort();
	if (size >= 1 && size <= 3 && err != OVL_MC_TOO_SHORT)
		abort();
	if (err != OVL_MC_OK)
		return 0;
	if (size == 0) {
		if (!mc.empty || ovl_metacopy_encode(&mc, out, sizeof(out)) != 0)
			abort();
		return 0;
	}
	/* parse OK -> encode gives the same bytes, which parse the same */
	n = ovl_metacopy_encode(&mc, out, sizeof(out));
	if (n != size || memcmp(out, data, size))
		abort();
	if (ovl_metacopy_parse(out, n, &back) != OVL_MC_OK || memcmp(&mc, &back, sizeof(mc)))
		abort();
	if (mc.digest_algo && mc.digest_len &&
	    mc.digest_len != ovl_verity_digest_size(mc.digest_algo))
		abort();
	return 0;
}
