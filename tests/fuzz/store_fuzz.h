/*
 * What the store fuzz targets (fuzz_store, fuzz_cdstore) share: the temp
 * dir they build their stores in (made once under $TMPDIR or /tmp, every
 * file made relative to its fd, removed at exit, not after a crash or a
 * signal) and the bookkeeping checks of a store. FUZZ_NAME names the
 * target in messages.
 */
#ifndef OVL_FUZZ_STORE_FUZZ_H
#define OVL_FUZZ_STORE_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/problem.h"
#include "overlay/repair.h"
#include "overlay/store.h"
#include "../../src/lib/check/check_store.h"

static char tmp[PATH_MAX];
static int tmpfd = -1;
static FILE *devnull;		/* the reports go here */
static void (*tmp_more_cleanup)(void);

static void die(const char *what, const char *rel)
{
	fprintf(stderr, FUZZ_NAME ": %s %s: %s\n", what, rel, strerror(errno));
	abort();
}

/* mkdir -p below the temp dir */
static void mkp(const char *rel)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", rel);
	for (char *p = buf;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = '\0';
		if (mkdirat(tmpfd, buf, 0755) < 0 && errno != EEXIST)
			die("mkdir", buf);
		if (!c)
			return;
		*p = c;
	}
}

static int tmp_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void tmp_cleanup(void)
{
	if (tmpfd >= 0)
		close(tmpfd);
	if (tmp[0])
		nftw(tmp, tmp_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (devnull)
		fclose(devnull);
	if (tmp_more_cleanup)
		tmp_more_cleanup();
}

/* The temp dir and /dev/null; more_cleanup (or NULL) runs at exit too. */
static void tmp_open(void (*more_cleanup)(void))
{
	const char *t = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/" FUZZ_NAME "-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmp))
		die("mkdtemp", tmp);
	tmp_more_cleanup = more_cleanup;
	atexit(tmp_cleanup);
	tmpfd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tmpfd < 0)
		die("open", tmp);
	devnull = fopen("/dev/null", "we");
	if (!devnull)
		die("open", "/dev/null");
}

/* Open the store at dir (its layout is never fuzzed: it always opens). */
static void store_open_or_die(struct ovl_store *st, const char *dir)
{
	char err[512];

	if (ovl_store_open(st, dir, err, sizeof(err)) < 0) {
		fprintf(stderr, FUZZ_NAME ": %s\n", err);
		abort();
	}
}

/* The bookkeeping checks with -n, then with -y into a plan (nothing
 * applied) whose fixes must all be paths of the driver dir's stack. */
static void check_book(const struct ovl_store *st)
{
	struct ovl_report r;
	struct ovl_plan plan;

	ovl_report_init(&r, OVL_MODE_NO, devnull);
	ovl_check_store(st, &r, NULL, false);
	ovl_plan_init(&plan);
	ovl_report_init(&r, OVL_MODE_YES, devnull);
	ovl_check_store(st, &r, &plan, true);
	for (size_t i = 0; i < plan.n; i++)
		if (plan.fixes[i].layer != OVL_STORE_FIX_LAYER || plan.fixes[i].path[0] != '/')
			abort();
	ovl_plan_free(&plan);
}

#endif
