/* 'F': which entries of a dir the screen shows, by name glob and size. */
#ifndef OVL_BROWSE_FILTER_H
#define OVL_BROWSE_FILTER_H

#include <stdbool.h>
#include <sys/stat.h>

struct filter {
	bool on;
	char glob[256];		/* fnmatch(3) on the name, or on the merged
				 * path when it holds a '/'; "" any */
	long long min, max;	/* sizes in bytes, -1 when unset */
	char text[256];		/* as typed, for the title */
};

/*
 * Parse "GLOB", ">SIZE", "<SIZE" words (SIZE may end in K, M, G), e.g.
 * "*.so >1M". Empty text turns the filter off. Returns 0, or -1 with a
 * reason in err.
 */
int filter_parse(const char *text, struct filter *f, char *err, size_t errlen);
/* Sizes bound regular files only; a dir passes them (to be gone into). */
bool filter_match(const struct filter *f, const char *name, const char *path,
		  const struct stat *st);

#endif
