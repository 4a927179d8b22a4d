/*
 * Temp trees for the Check suites that work on real files: every test's
 * dirs live under `top`, made by the parent process, whose unchecked
 * teardown detaches any mount below it and removes it (a test's process
 * ends at a failed assertion, without its own teardown). Include after
 * defining SUITE_TAG; tests keep their own dir in `base`.
 */
#ifndef OVL_TESTS_TMPTREE_H
#define OVL_TESTS_TMPTREE_H

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

static char top[128];
static char base[256];		/* a test's own dir, below top */

static void top_setup(void)
{
	snprintf(top, sizeof(top), "/tmp/ovl-%s-XXXXXX", SUITE_TAG);
	if (!mkdtemp(top))
		top[0] = '\0';
}

/* Detach whatever is still mounted below top, deepest first. */
static void top_umount(void)
{
	char line[4 * PATH_MAX];

	for (int pass = 0; pass < 8; pass++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		int found = 0;

		if (!f)
			return;
		while (fgets(line, sizeof(line), f)) {
			char mp[PATH_MAX], *r, *w;

			if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
				continue;
			/* undo the octal escapes of mountinfo */
			for (r = w = mp; *r;) {
				if (r[0] == '\\' && r[1] && r[2] && r[3]) {
					*w++ = (char)(((r[1] - '0') << 6) |
						      ((r[2] - '0') << 3) | (r[3] - '0'));
					r += 4;
				} else {
					*w++ = *r++;
				}
			}
			*w = '\0';
			size_t n = strlen(top);
			if (top[0] && !strncmp(mp, top, n) && mp[n] == '/' &&
			    umount2(mp, MNT_DETACH) == 0)
				found = 1;
		}
		fclose(f);
		if (!found)
			return;
	}
}

static void top_teardown(void)
{
	char cmd[256];

	if (!top[0])
		return;
	top_umount();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", top);
	top[0] = '\0';
}

/* base/REL, formatted; a ring of buffers so a few can be live at once. */
static const char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static const char *P(const char *fmt, ...)
{
	static char ring[16][PATH_MAX];
	static int next;
	char rel[PATH_MAX / 2];
	char *out = ring[next++ % 16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(out, PATH_MAX, "%s/%s", base, rel);
	return out;
}

#endif
