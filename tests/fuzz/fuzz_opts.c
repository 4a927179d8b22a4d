/* Fuzz target: mount option strings (never crash, free cleanly). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_seeds(size_t *n);

static const char *const seeds[] = {
	"lowerdir=/l1:/l2::/d1::/d2,upperdir=/u,workdir=/w",
	"lowerdir+=/a,datadir+=/b,metacopy=on,index=on,redirect_dir=follow",
	"lowerdir=/a\\:b:/c\\,d,upperdir=/u\\\\v,xino=auto,uuid=null,verity=require",
	"userxattr,volatile,ro,noatime,context=\"a\\,b\",x-systemd.automount",
	"nfs_export=on,index=off,lowerdir=,lowerdir=/z",
};

const char *const *fuzz_seeds(size_t *n)
{
	*n = sizeof(seeds) / sizeof(seeds[0]);
	return seeds;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovl_opts o;
	char *s, err[128];
	size_t i;
	int r;

	s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';

	ovl_opts_init(&o);
	/* twice: the second run merges into the first */
	for (int pass = 0; pass < 2; pass++) {
		err[0] = 'X';
		r = ovl_opts_parse(&o, s, err, sizeof(err));
		if (r != 0 && r != -1)
			abort();
		/* an error gives a one-line reason; success leaves it empty */
		if (r == -1 && (!err[0] || strchr(err, '\n')))
			abort();
		if (r == 0 && err[0])
			abort();
		if (o.nlower + o.ndata > 500)
			abort();
		for (i = 0; i < o.nlower; i++)
			if (!o.lower[i] || !o.lower[i][0])
				abort();
		for (i = 0; i < o.ndata; i++)
			if (!o.data[i] || !o.data[i][0])
				abort();
		if ((o.upper && !o.upper[0]) || (o.work && !o.work[0]))
			abort();
		if (o.metacopy < -1 || o.metacopy > 1 || o.index < -1 || o.index > 1 ||
		    o.redirect_dir < -1 || o.redirect_dir > OVL_REDIRECT_ON ||
		    o.xino < -1 || o.xino > OVL_XINO_ON || o.uuid < -1 || o.uuid > OVL_UUID_ON ||
		    o.verity < -1 || o.verity > OVL_VERITY_REQUIRE)
			abort();
	}
	ovl_opts_free(&o);
	if (o.nlower || o.ndata || o.lower || o.upper)
		abort();
	free(s);
	return 0;
}
