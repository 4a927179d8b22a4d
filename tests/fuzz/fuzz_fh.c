/* Fuzz target: origin/upper file handles and index names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/fh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_seeds(size_t *n);

static const char *const seeds[] = {
	"hex:00fb1d0001112233445566778899aabbccddeeff000c0000009d3b7a5e",
	"hex:00fb1d0401112233445566778899aabbccddeeff000c0000009d3b7a5e",
	"hex:00fb1502810000000000000000000000000000000000",
	"hex:00fb2581ff00112233445566778899aabbccddeeff0102030405060708090a0b0c0d0e0f10",
	"00fb1d0001112233445566778899aabbccddeeff000c0000009d3b7a5e",
	"#42",
};

const char *const *fuzz_seeds(size_t *n)
{
	*n = sizeof(seeds) / sizeof(seeds[0]);
	return seeds;
}

static void check_parsed(const struct ovl_fh *fh, const uint8_t *data, size_t size)
{
	uint8_t out[OVL_FH_MAX_LEN];
	char hex[OVL_FH_HEX_MAX];
	struct ovl_fh back;
	size_t n;

	/* parse OK -> encode gives the same (first len) bytes */
	n = ovl_fh_encode(fh, out, sizeof(out));
	if (n != fh->len || n > size || n != OVL_FH_HDR_LEN + fh->fid_len ||
	    memcmp(out, data, n))
		abort();
	if (ovl_fh_encode(fh, out, n - 1) != 0)
		abort();
	/* hex round trip */
	ovl_fh_to_hex(fh, hex);
	if (strlen(hex) != 2 * n)
		abort();
	if (ovl_fh_from_hex(hex, &back) != OVL_FH_OK || memcmp(fh, &back, sizeof(back)))
		abort();
	if (!ovl_fh_same_fid(fh, &back))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovl_fh fh;
	char name[512];
	enum ovl_fh_err err;

	err = ovl_fh_parse(data, size, &fh);
	if (err > OVL_FH_BAD_HEX || !ovl_fh_strerror(err))
		abort();
	if (err == OVL_FH_OK)
		check_parsed(&fh, data, size);
	else if (size == 0 && err != OVL_FH_EMPTY)
		abort();

	/* the same bytes as an index entry name */
	if (size < sizeof(name)) {
		memcpy(name, data, size);
		name[size] = '\0';
		err = ovl_fh_from_hex(name, &fh);
		if (err > OVL_FH_BAD_HEX)
			abort();
		if (err == OVL_FH_OK) {
			uint8_t out[OVL_FH_MAX_LEN];

			if (ovl_fh_encode(&fh, out, sizeof(out)) != fh.len)
				abort();
		}
	}
	return 0;
}
