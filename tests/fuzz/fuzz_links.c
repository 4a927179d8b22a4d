/* Fuzz target: the links records a background check sends (links.c) and
 * the closure a scope takes over them. Input: NUL-separated fields, four
 * to a record; the first field's paths also seed the scope. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/scope.h"
#include "../../src/lib/walk/links.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_seeds(size_t *n);

static const char *const seeds[] = {
	"Lr\0" "0 0 801:2a\0/n1\0/old\0Lr\0" "0 0 \0/n2\0/old",
	"La\0" "0 5 00fb\0/h/f\0" "01aa\0Li\0-1 5 \0/00fb\0" "01aa\0Lw\0" "0 0 \0/w\0" "01aa",
	"Ld\0" "0 0 \0/d\0" "00fb\0Ln\0" "0 7 \0/h/g\0",
	"Lr\0" "0 0 \0/y\0/a/b/c\0Lr\0" "0 x\0/z\0/",
};

const char *const *fuzz_seeds(size_t *n)
{
	*n = sizeof(seeds) / sizeof(seeds[0]);
	return seeds;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	const char *f[4];
	struct ovl_links *l = ovl_links_new();
	struct ovl_scope *sc = ovl_scope_new();
	size_t at = 0;
	int nf = 0;

	memcpy(buf, data, size);
	buf[size] = '\0';
	while (at <= size) {
		f[nf++] = buf + at;
		at += strlen(buf + at) + 1;
		if (nf == 4) {
			size_t before = ovl_links_count(l);
			bool ok = ovl_links_read(l, f);
			if (ok != (ovl_links_count(l) == before + 1))
				abort();
			if (ok && l->v[before].path[0] != '/')
				abort();
			ovl_scope_add(sc, "upper", f[2]);
			nf = 0;
		}
	}
	if (nf)
		ovl_scope_add(sc, "index", f[0]);
	ovl_scope_expand(sc, l);
	/* a closure: nothing more to take in */
	if (ovl_scope_expand(sc, l))
		abort();
	for (size_t i = 0; i < l->n; i++)
		ovl_scope_holds(sc, l->v[i].layer, l->v[i].path);
	ovl_scope_free(sc);
	ovl_links_free(l);
	free(buf);
	return 0;
}
