/*
 * scope-check: does a scoped check (overlay/scope.h) say what a full
 * check says? Takes fsck.overlay's arguments (-o, -w, positional layers;
 * the mode flags are ignored) and checks the stack read-only:
 *
 *   scope-check ARGS...
 *	a full check (with its links), then for every path of every walked
 *	layer and every W/index entry alone, a scoped check of it: its
 *	problem lines must be exactly the full check's lines at the places
 *	it checks. The links must come out as the full check made them.
 *   scope-check --edits N ARGS...
 *	writes: up to N times, the fix of the first problem of the list not
 *	tried yet (then copy-ups of the upper metacopy files), as
 *	overlay-browse --write applies it; the list the scoped check keeps
 *	must then be exactly a new full check's, the links too.
 *
 * Exit 0 when everything matched, 1 with the differences on stdout, 2 for
 * bad arguments or a stack that cannot be opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/edit.h"
#include "overlay/fsck.h"
#include "overlay/lookup.h"
#include "overlay/opts.h"
#include "overlay/pscan.h"
#include "overlay/scope.h"
#include "overlay/stack.h"
#include "overlay/util.h"
#include "overlay/xattr.h"
#include "../src/lib/walk/links.h"

struct lines {
	char **v;
	size_t n, cap;
};

static void lines_add(struct lines *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = ovl_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = s;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A problem as its line says it, escaped. */
static char *line_of(const struct ovl_pitem *it)
{
	char path[8192], detail[8192] = "", *out;

	ovl_escape(it->path, strlen(it->path), path, sizeof(path));
	if (it->detail)
		ovl_escape(it->detail, strlen(it->detail), detail, sizeof(detail));
	if (asprintf(&out, "%s %s:%s%s%s", ovl_problem_def(it->code)->name, it->layer, path,
		     it->detail ? ": " : "", detail) < 0)
		exit(2);
	return out;
}

/* Print what is only in a and only in b (both sorted); true when equal. */
static bool same_lines(const char *what, struct lines *a, struct lines *b)
{
	size_t i = 0, j = 0;
	bool eq = true;

	if (a->n)
		qsort(a->v, a->n, sizeof(*a->v), cmp_str);
	if (b->n)
		qsort(b->v, b->n, sizeof(*b->v), cmp_str);
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i], b->v[j]);
		if (!c) {
			i++;
			j++;
			continue;
		}
		if (eq)
			printf("%s:\n", what);
		eq = false;
		if (c < 0)
			printf("  full only:   %s\n", a->v[i++]);
		else
			printf("  scoped only: %s\n", b->v[j++]);
	}
	return eq;
}

static void links_lines(const struct ovl_links *l, struct lines *out)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct ovl_link *k = &l->v[i];
		char path[8192], key[8192], *s;
		ovl_escape(k->path, strlen(k->path), path, sizeof(path));
		ovl_escape(k->key, strlen(k->key), key, sizeof(key));
		if (asprintf(&s, "link %c %d:%s %s %s %llu", k->kind, k->layer, path, key, k->aux,
			     k->ino) < 0)
			exit(2);
		lines_add(out, s);
	}
}

struct full {
	struct ovl_pitem *item;
	size_t n, cap;
};

static void seen(void *arg, enum ovl_problem_code code, const struct ovl_pctx *p)
{
	struct full *f = arg;

	ovl_pitems_push(&f->item, &f->n, &f->cap, code, p->layer, p->path,
			p->pathlen == (size_t)-1 ? strlen(p->path) : p->pathlen, p->detail);
}

/* A full read-only check: its problems, and its links when asked. */
static void full_check(struct ovl_stack *s, struct full *f, struct ovl_links *links)
{
	struct ovl_fsck_opts fo = { .links = links };
	struct ovl_fsck_stats st;
	struct ovl_report r;
	FILE *null = fopen("/dev/null", "w");

	memset(f, 0, sizeof(*f));
	ovl_report_init(&r, OVL_MODE_NO, null);
	r.silent = true;
	r.seen = seen;
	r.seen_arg = f;
	ovl_fsck_run(s, &fo, &r, &st);
	fclose(null);
}

/* Every path of a layer ("/" first), never following a symlink. */
static void layer_paths(int dirfd, const char *dir, struct lines *out, int depth)
{
	size_t n = 0;
	char **names = ovl_dir_names(dirfd, "", &n);

	for (size_t i = 0; names && i < n; i++) {
		char *p;
		struct stat st;
		if (asprintf(&p, "%s/%s", strcmp(dir, "/") ? dir : "", names[i]) < 0)
			exit(2);
		lines_add(out, p);
		if (depth < 64 && ovl_stat_at(dirfd, names[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			int fd = ovl_open_dir_at(dirfd, names[i]);
			if (fd >= 0) {
				layer_paths(fd, p, out, depth + 1);
				close(fd);
			}
		}
	}
	ovl_dir_names_free(names);
}

/* The places to try: paths of the walked layers (merged: each once),
 * then "index" names. */
static void places(struct ovl_stack *s, struct lines *paths, struct lines *index)
{
	lines_add(paths, ovl_xstrdup("/"));
	for (int i = s->has_upper ? 0 : 1; i <= s->nlower; i++) {
		int fd = openat(s->layers[i].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			layer_paths(fd, "/", paths, 0);
			close(fd);
		}
	}
	qsort(paths->v, paths->n, sizeof(*paths->v), cmp_str);
	size_t k = 0;
	for (size_t i = 0; i < paths->n; i++) {
		if (k && !strcmp(paths->v[k - 1], paths->v[i]))
			free(paths->v[i]);
		else
			paths->v[k++] = paths->v[i];
	}
	paths->n = k;
	size_t n = 0;
	char **names = s->indexfd >= 0 ? ovl_dir_names(s->indexfd, "", &n) : NULL;
	for (size_t i = 0; names && i < n; i++)
		lines_add(index, ovl_xstrdup(names[i]));
	ovl_dir_names_free(names);
}

/* One place alone: the scoped lines against the full lines there. */
static bool try_place(struct ovl_stack *s, struct ovl_links *links, const struct full *f,
		      const char *layer, const char *path)
{
	struct ovl_scope *sc = ovl_scope_new();
	struct ovl_pitem *got;
	size_t ngot;
	struct lines a = { 0 }, b = { 0 };
	char what[8300];

	ovl_scope_add(sc, layer, path);
	ovl_scope_check(s, sc, links, &got, &ngot);
	for (size_t i = 0; i < f->n; i++)
		if (ovl_scope_has(sc, f->item[i].layer, f->item[i].path))
			lines_add(&a, line_of(&f->item[i]));
	for (size_t i = 0; i < ngot; i++)
		lines_add(&b, line_of(&got[i]));
	snprintf(what, sizeof(what), "a scoped check of %s:%s (%zu places with what it ties in)",
		 layer, path, ovl_scope_count(sc));
	bool eq = same_lines(what, &a, &b);
	lines_free(&a);
	lines_free(&b);
	ovl_pitems_free(got, ngot);
	ovl_scope_free(sc);
	return eq;
}

static int exact(struct ovl_stack *s)
{
	struct ovl_links *links = ovl_links_new();
	struct full f;
	struct lines paths = { 0 }, index = { 0 }, before = { 0 }, after = { 0 };
	bool ok = true;

	full_check(s, &f, links);
	links_lines(links, &before);
	places(s, &paths, &index);
	for (size_t i = 0; i < paths.n; i++)
		ok &= try_place(s, links, &f, "upper", paths.v[i]);
	for (size_t i = 0; i < index.n; i++) {
		char p[4096];
		snprintf(p, sizeof(p), "/%s", index.v[i]);
		ok &= try_place(s, links, &f, "index", p);
	}
	links_lines(links, &after);
	ok &= same_lines("the links after the scoped checks (full: as the full check made them)",
			 &before, &after);
	printf("%s: %zu problems; %zu paths and %zu W/index entries checked alone; %zu links\n",
	       ok ? "same" : "DIFFERENT", f.n, paths.n, index.n, ovl_links_count(links));
	ovl_pitems_free(f.item, f.n);
	lines_free(&paths);
	lines_free(&index);
	lines_free(&before);
	lines_free(&after);
	ovl_links_free(links);
	return ok ? 0 : 1;
}

/* The kept list and links against a new full check's. */
static bool compare_lists(struct ovl_stack *s, struct ovl_pscan *ps, const char *what)
{
	struct ovl_links *links = ovl_links_new();
	struct full f;
	struct lines a = { 0 }, b = { 0 };

	full_check(s, &f, links);
	for (size_t i = 0; i < f.n; i++)
		lines_add(&a, line_of(&f.item[i]));
	links_lines(links, &a);
	for (size_t i = 0; i < ps->n; i++)
		lines_add(&b, line_of(&ps->item[i]));
	links_lines(ps->links, &b);
	bool eq = same_lines(what, &a, &b);
	lines_free(&a);
	lines_free(&b);
	ovl_pitems_free(f.item, f.n);
	ovl_links_free(links);
	return eq;
}

static bool tried_before(struct lines *tried, const struct ovl_pitem *it)
{
	char *l = line_of(it);

	for (size_t i = 0; i < tried->n; i++) {
		if (!strcmp(tried->v[i], l)) {
			free(l);
			return true;
		}
	}
	lines_add(tried, l);
	return false;
}

static bool is_metacopy(struct ovl_stack *s, const char *path)
{
	int fd = ovl_open_beneath(s->layers[0].fd, path + 1, strlen(path + 1), O_PATH);
	bool mc = fd >= 0 && ovl_xattr_get_at(fd, "", ovl_xattr_name(s->ns, OVL_XA_METACOPY),
					      NULL, 0) >= 0;
	if (fd >= 0)
		close(fd);
	return mc;
}

/* Take an edit's re-checked problems into the list, then compare. */
static bool after_edit(struct ovl_stack *s, struct ovl_pscan *ps, struct ovl_edit_result *res,
		       const char *what)
{
	char line[9000];

	snprintf(line, sizeof(line), "%s: %s (%zu places)", what, res->msg,
		 res->scope ? ovl_scope_count(res->scope) : 0);
	printf("%s\n", line);
	if (!res->scope) {
		printf("  no scoped check\n");
		return false;
	}
	ovl_pscan_replace(ps, res->scope, res->item, res->n);
	res->item = NULL;
	res->n = 0;
	ovl_edit_result_free(res);
	return compare_lists(s, ps, line);
}

static int edits(struct ovl_stack *s, int max)
{
	struct ovl_pscan ps;
	struct lines tried = { 0 }, paths = { 0 }, index = { 0 };
	int done = 0;
	bool ok = true;

	if (ovl_pscan_start(&ps, s) < 0)
		return 2;
	while (!ps.done) {
		ovl_pscan_poll(&ps);
		if (!ps.done)
			usleep(2000);
	}
	ok &= compare_lists(s, &ps, "the background check against a full check");
	/* fixes, first problem first, until none is left untried */
	while (ok && done < max) {
		const struct ovl_pitem *it = NULL;
		for (size_t i = 0; i < ps.n && !it; i++) {
			const struct ovl_problem_def *d = ovl_problem_def(ps.item[i].code);
			if (d->fix[0] && !(d->flags & PF_NOFIX) && !tried_before(&tried, &ps.item[i]))
				it = &ps.item[i];
		}
		if (!it)
			break;
		struct ovl_edit_result res;
		char *l = line_of(it), *what;
		char *layer = ovl_xstrdup(it->layer), *path = ovl_xstrdup(it->path);
		ovl_edit_fix(s, ps.links, it->code, layer, path, &res);
		if (asprintf(&what, "f %s", l) < 0)
			exit(2);
		ok &= after_edit(s, &ps, &res, what);
		free(what);
		free(l);
		free(layer);
		free(path);
		done++;
	}
	/* then copy-ups of the upper metacopy files */
	if (s->has_upper)
		places(s, &paths, &index);
	for (size_t i = 0; ok && i < paths.n && done < max; i++) {
		struct ovl_edit_result res;
		char what[4200];
		if (!is_metacopy(s, paths.v[i]))
			continue;
		ovl_edit_copy_up(s, ps.links, paths.v[i], &res);
		snprintf(what, sizeof(what), "c %s", paths.v[i]);
		ok &= after_edit(s, &ps, &res, what);
		done++;
	}
	printf("%s: %d edits, %zu problems left\n", ok ? "same" : "DIFFERENT", done, ps.n);
	lines_free(&tried);
	lines_free(&paths);
	lines_free(&index);
	ovl_pscan_free(&ps);
	return ok ? 0 : 1;
}

static int usage(void)
{
	fputs("usage: scope-check [--edits N] [fsck.overlay options] [-o OPTS] [LAYERS]\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct ovl_opts opts;
	struct ovl_stack s;
	char err[512];
	const char *workdir = NULL;
	int max_edits = -1, npos = 0;
	char **pos = ovl_xcalloc((size_t)argc, sizeof(*pos));

	ovl_opts_init(&opts);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--edits") && i + 1 < argc) {
			max_edits = atoi(argv[++i]);
		} else if (!strcmp(a, "-o") && i + 1 < argc) {
			if (ovl_opts_parse(&opts, argv[++i], err, sizeof(err)) < 0) {
				fprintf(stderr, "scope-check: %s\n", err);
				return 2;
			}
		} else if (!strcmp(a, "-w") && i + 1 < argc) {
			workdir = argv[++i];
		} else if ((!strcmp(a, "-z") || !strcmp(a, "-j") || !strcmp(a, "-C")) && i + 1 < argc) {
			i++;	/* not about the stack */
		} else if (a[0] == '-') {
			continue;	/* -n, -y, -p, -f, -v: the mode is ours */
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (npos) {
		if (npos < 2 || opts.upper || opts.nlower)
			return usage();
		opts.upper = ovl_xstrdup(pos[0]);
		for (int i = 1; i < npos; i++)
			ovl_opts_add_lower(&opts, pos[i]);
	}
	if (workdir) {
		free(opts.work);
		opts.work = ovl_xstrdup(workdir);
	}
	free(pos);
	if (ovl_stack_open(&s, &opts, err, sizeof(err)) != OVL_STACK_OK) {
		fprintf(stderr, "scope-check: %s\n", err);
		return 2;
	}
	ovl_stack_detect(&s);
	int rc = max_edits >= 0 ? edits(&s, max_edits) : exact(&s);
	ovl_stack_close(&s);
	ovl_opts_free(&opts);
	return rc;
}
