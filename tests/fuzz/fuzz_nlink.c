/* Fuzz target: the nlink xattr. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/nlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_seeds(size_t *n);

static const char *const seeds[] = {
	"U+0", "U-1", "L+3", "L-2147483648", "U+2147483647", "U+5\n", "U+0000000001",
};

const char *const *fuzz_seeds(size_t *n)
{
	*n = sizeof(seeds) / sizeof(seeds[0]);
	return seeds;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovl_nlink nl, back;
	char buf[24];

	if (ovl_nlink_parse((const char *)data, size, &nl) != 0)
		return 0;
	if (size < 3 || size > 12 || (nl.base != 'U' && nl.base != 'L'))
		abort();
	if (nl.diff < -2147483648L || nl.diff > 2147483647L)
		abort();
	/* format gives the canonical form, which parses to the same value */
	ovl_nlink_format(&nl, buf, sizeof(buf));
	if (ovl_nlink_parse(buf, strlen(buf), &back) != 0 ||
	    back.base != nl.base || back.diff != nl.diff)
		abort();
	if (ovl_nlink_apply(&nl, 5, 7) != (nl.base == 'U' ? 5 : 7) + nl.diff)
		abort();
	return 0;
}
