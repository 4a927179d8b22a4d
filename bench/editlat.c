/*
 * editlat: how long a key of overlay-browse --write takes. Opens the stack,
 * runs the browser's background check (overlay/pscan.h) to its end, then
 * times what `c` and `f` do: the edit and the scoped check of what it
 * touched, with the problems list updated (ovl_edit_*, ovl_pscan_replace).
 * The files copied up are the first metacopy files of the upper dirs
 * named in turn; the fixes are those of the problems the check listed.
 * For comparison, one edit the way the browser did it before: the edit by
 * a whole check, then a whole background check again.
 *
 *   editlat [-c COPIES] [-f FIXES] [-w] -o lowerdir=...,upperdir=...,workdir=...
 *	-w: also time the whole-check way (one edit)
 *
 * WRITES to the stack: give it a copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "overlay/edit.h"
#include "overlay/lookup.h"
#include "overlay/opts.h"
#include "overlay/pscan.h"
#include "overlay/scope.h"
#include "overlay/stack.h"
#include "overlay/xattr.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void summary(const char *what, double *t, int n)
{
	if (!n) {
		printf("%-28s none\n", what);
		return;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	printf("%-28s %d: median %.4f s, max %.4f s\n", what, n, t[n / 2], t[n - 1]);
}

static void background(struct ovl_stack *s, struct ovl_pscan *ps)
{
	double t0 = now();

	if (ovl_pscan_start(ps, s) < 0) {
		perror("editlat: background check");
		exit(8);
	}
	while (!ps->done) {
		ovl_pscan_poll(ps);
		if (!ps->done)
			usleep(5000);
	}
	printf("%-28s %.3f s, %zu problems, %zu links, status %d\n", "background check",
	       now() - t0, ps->n, ovl_links_count(ps->links), ps->status);
}

/* The first metacopy file of upper dir `dir` ("/d0001"), or false. */
static bool first_metacopy(struct ovl_stack *s, const char *dir, char *path, size_t size)
{
	int fd = ovl_open_beneath(s->layers[0].fd, dir + 1, strlen(dir + 1), O_RDONLY | O_DIRECTORY);
	size_t n = 0;
	char **names = fd >= 0 ? ovl_dir_names(fd, "", &n) : NULL;
	bool found = false;

	for (size_t i = 0; names && i < n && !found; i++) {
		if (ovl_xattr_get_at(fd, names[i], ovl_xattr_name(s->ns, OVL_XA_METACOPY), NULL, 0) < 0)
			continue;
		snprintf(path, size, "%s/%s", dir, names[i]);
		found = true;
	}
	ovl_dir_names_free(names);
	if (fd >= 0)
		close(fd);
	return found;
}

static double take(struct ovl_pscan *ps, struct ovl_edit_result *res, double t0)
{
	if (res->scope)
		ovl_pscan_replace(ps, res->scope, res->item, res->n);
	res->item = NULL;
	res->n = 0;
	double t = now() - t0;
	ovl_edit_result_free(res);
	return t;
}

int main(int argc, char **argv)
{
	struct ovl_opts opts;
	struct ovl_stack s;
	struct ovl_pscan ps;
	char err[512];
	int copies = 5, fixes = 5, c;
	bool whole = false;

	ovl_opts_init(&opts);
	while ((c = getopt(argc, argv, "c:f:o:w")) != -1) {
		switch (c) {
		case 'c':
			copies = atoi(optarg);
			break;
		case 'f':
			fixes = atoi(optarg);
			break;
		case 'w':
			whole = true;
			break;
		case 'o':
			if (ovl_opts_parse(&opts, optarg, err, sizeof(err)) == 0)
				break;
			fprintf(stderr, "editlat: %s\n", err);
			return 16;
		default:
			fputs("usage: editlat [-c COPIES] [-f FIXES] [-w] -o OPTS\n", stderr);
			return 16;
		}
	}
	if (ovl_stack_open(&s, &opts, err, sizeof(err)) != OVL_STACK_OK) {
		fprintf(stderr, "editlat: %s\n", err);
		return 8;
	}
	ovl_stack_detect(&s);
	background(&s, &ps);
	if (ps.status) {
		fputs("editlat: the background check failed\n", stderr);
		return 8;
	}

	double tc[64], tf[64];
	int nc = 0, nf = 0;
	char path[4096], dir[64];
	for (int d = 0; nc < copies && nc < 64 && d < 10000; d++) {
		struct ovl_edit_result res;
		snprintf(dir, sizeof(dir), "/d%04d", (d * 37) % 200);
		if (!first_metacopy(&s, dir, path, sizeof(path)))
			continue;
		double t0 = now();
		if (ovl_edit_copy_up(&s, ps.links, path, &res) < 0)
			printf("c %s: %s\n", path, res.msg);
		tc[nc++] = take(&ps, &res, t0);
	}
	while (nf < fixes && nf < 64) {
		const struct ovl_pitem *it = NULL;
		for (size_t i = 0; i < ps.n && !it; i++) {
			const struct ovl_problem_def *def = ovl_problem_def(ps.item[i].code);
			if (def->fix[0] && !(def->flags & PF_NOFIX))
				it = &ps.item[i];
		}
		if (!it)
			break;
		struct ovl_edit_result res;
		char layer[32];
		snprintf(layer, sizeof(layer), "%s", it->layer);
		snprintf(path, sizeof(path), "%s", it->path);
		double t0 = now();
		if (ovl_edit_fix(&s, ps.links, it->code, layer, path, &res) < 0) {
			printf("f %s:%s: %s\n", layer, path, res.msg);
			tf[nf++] = take(&ps, &res, t0);
			break;	/* it stays listed */
		}
		tf[nf++] = take(&ps, &res, t0);
	}
	summary("c (copy up, re-check)", tc, nc);
	summary("f (fix, re-check)", tf, nf);
	printf("%-28s %zu\n", "problems left", ps.n);

	if (whole) {
		/* before: the edit by a whole check, then the list again */
		struct ovl_edit_result res;
		char dir2[64];
		snprintf(dir2, sizeof(dir2), "/d%04d", 199);
		if (first_metacopy(&s, dir2, path, sizeof(path))) {
			double t0 = now();
			ovl_edit_copy_up(&s, NULL, path, &res);
			ovl_edit_result_free(&res);
			ovl_pscan_free(&ps);
			background(&s, &ps);
			printf("%-28s %.3f s\n", "whole-check c and re-check", now() - t0);
		}
	}
	ovl_pscan_free(&ps);
	ovl_stack_close(&s);
	ovl_opts_free(&opts);
	return 0;
}
