/*
 * The filter of the screen: what dive and ncdu users reach for to find
 * the big or the matching files among thousands.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

static int parse_size(const char *s, long long *out)
{
	char *end;

	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (errno || end == s || n < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': n <<= 10; end++; break;
	case 'm': case 'M': n <<= 20; end++; break;
	case 'g': case 'G': n <<= 30; end++; break;
	}
	if (*end)
		return -1;
	*out = n;
	return 0;
}

int filter_parse(const char *text, struct filter *f, char *err, size_t errlen)
{
	struct filter nf = { .min = -1, .max = -1 };
	char copy[256], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", text);
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (*w == '>' || *w == '<') {
			long long n;
			if (parse_size(w + 1, &n) < 0) {
				snprintf(err, errlen, "not a size: %s", w + 1);
				return -1;
			}
			if (*w == '>')
				nf.min = n;
			else
				nf.max = n;
		} else if (nf.glob[0]) {
			snprintf(err, errlen, "one glob only");
			return -1;
		} else {
			snprintf(nf.glob, sizeof(nf.glob), "%s", w);
		}
	}
	nf.on = nf.glob[0] || nf.min >= 0 || nf.max >= 0;
	snprintf(nf.text, sizeof(nf.text), "%s", nf.on ? text : "");
	*f = nf;
	return 0;
}

bool filter_match(const struct filter *f, const char *name, const char *path,
		  const struct stat *st)
{
	if (!f->on)
		return true;
	if (f->glob[0]) {
		bool whole = strchr(f->glob, '/') != NULL;
		if (fnmatch(f->glob, whole ? path : name, whole ? FNM_PATHNAME : 0))
			return false;
	}
	if (S_ISDIR(st->st_mode))
		return true;	/* sizes are of files; dirs stay, to go into */
	if (f->min >= 0 && !(S_ISREG(st->st_mode) && st->st_size > f->min))
		return false;
	if (f->max >= 0 && !(S_ISREG(st->st_mode) && st->st_size < f->max))
		return false;
	return true;
}
