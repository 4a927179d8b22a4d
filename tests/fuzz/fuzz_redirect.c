/* Fuzz target: redirect validation and the component walk. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/redirect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_seeds(size_t *n);

static const char *const seeds[] = {
	"/a/b/c", "name", "/", "//dir", "/di//r", "dir/", "/..", "/a/./b",
	"/hl/lh2", "/mv1", "a\nb", "/x\\y",
};

const char *const *fuzz_seeds(size_t *n)
{
	*n = sizeof(seeds) / sizeof(seeds[0]);
	return seeds;
}

struct walk {
	const char *val;
	size_t size;
	size_t covered;		/* component bytes + one '/' before each */
	const char *last_end;
	int count;
};

static int walk_fn(const char *comp, size_t len, void *arg)
{
	struct walk *w = arg;

	/* in order, inside the value, each right after a '/', no '/' inside */
	if (comp < w->val + 1 || comp + len > w->val + w->size || comp[-1] != '/')
		abort();
	if (comp < w->last_end || len == 0 || len > NAME_MAX || memchr(comp, '/', len))
		abort();
	if ((len == 1 && comp[0] == '.') || (len == 2 && !memcmp(comp, "..", 2)))
		abort();
	w->last_end = comp + len;
	w->covered += len + 1;
	w->count++;
	return 0;
}

static int stop_fn(const char *comp, size_t len, void *arg)
{
	(void)comp;
	(void)len;
	return ++*(int *)arg == 2 ? 7 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *val = (const char *)data;
	enum ovl_redirect_err err;
	struct walk w = { val, size, 0, val, 0 };
	bool abs;
	int calls = 0, r;

	err = ovl_redirect_parse(val, size, &abs);
	if (err > OVL_RD_TOO_LONG || !ovl_redirect_strerror(err))
		abort();
	if (size == 0 && err != OVL_RD_EMPTY)
		abort();
	if (err != OVL_RD_OK)
		return 0;
	if (memchr(val, '\0', size) || abs != (val[0] == '/'))
		abort();
	if (!abs) {
		if (memchr(val, '/', size))
			abort();
		return 0;
	}
	/* foreach covers every byte: "/" + comp for each component */
	if (ovl_redirect_foreach(val, size, walk_fn, &w) != 0)
		abort();
	if (w.covered != size || w.last_end != val + size || w.count < 1)
		abort();
	r = ovl_redirect_foreach(val, size, stop_fn, &calls);
	if ((w.count >= 2 && (r != 7 || calls != 2)) || (w.count < 2 && (r != 0 || calls != 1)))
		abort();
	return 0;
}
