/*
 * The scoped check (overlay/scope.h). The walker visits, in each layer,
 * only the names on the way to the scope's entries (each looked up, not
 * read from its dir) and everything below its subtrees; the index pass
 * only the scope's W/index names. So every entry gets the same visit,
 * with the same parent frames, as in a full walk, and the same checks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/fsck.h"
#include "overlay/lookup.h"
#include "overlay/repair.h"
#include "overlay/util.h"
#include "links.h"
#include "core/strset.h"
#include "walk.h"

/* A list of distinct strings, in the order added. */
struct names {
	char **v;
	size_t n, cap;
	struct ovl_strset *set;
};

struct ovl_scope {
	struct names entry;		/* paths checked with their parents */
	struct names tree;		/* paths checked with everything below */
	struct names index;		/* W/index names */
	struct ovl_strset *chain;	/* each entry, tree root, and their parents */
	const struct ovl_links *links;	/* the last it was expanded with */
};

static bool names_add(struct names *l, const char *s, size_t len)
{
	if (!l->set)
		l->set = ovl_strset_new();
	if (!ovl_strset_add(l->set, s, len))
		return false;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = ovl_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = ovl_xstrndup(s, len);
	return true;
}

static bool names_has(const struct names *l, const char *s, size_t len)
{
	return l->set && ovl_strset_has(l->set, s, len);
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	ovl_strset_free(l->set);
}

struct ovl_scope *ovl_scope_new(void)
{
	struct ovl_scope *sc = ovl_xcalloc(1, sizeof(*sc));

	sc->chain = ovl_strset_new();
	return sc;
}

void ovl_scope_free(struct ovl_scope *sc)
{
	if (!sc)
		return;
	names_free(&sc->entry);
	names_free(&sc->tree);
	names_free(&sc->index);
	ovl_strset_free(sc->chain);
	free(sc);
}

size_t ovl_scope_count(const struct ovl_scope *sc)
{
	return sc->entry.n + sc->tree.n + sc->index.n;
}

/* Is path at or below root (component-wise)? */
static bool at_or_below(const char *path, const char *root)
{
	size_t rl = strlen(root);

	if (rl == 1)
		return true;
	return !strncmp(path, root, rl) && (path[rl] == '\0' || path[rl] == '/');
}

static bool in_tree(const struct ovl_scope *sc, const char *path)
{
	for (size_t i = 0; i < sc->tree.n; i++)
		if (at_or_below(path, sc->tree.v[i]))
			return true;
	return false;
}

static void add_chain(struct ovl_scope *sc, const char *path)
{
	size_t len = strlen(path);

	ovl_strset_add(sc->chain, "/", 1);
	for (size_t i = 1; i <= len; i++)
		if (i == len || path[i] == '/')
			ovl_strset_add(sc->chain, path, i);
}

/* Only "/" or "/a/b" with no empty, "." or ".." component is a place. */
static bool good_path(const char *p)
{
	if (p[0] != '/')
		return false;
	if (!p[1])
		return true;
	for (const char *c = p + 1;;) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!c[n])
			return true;
		c += n + 1;
	}
}

static bool add_entry(struct ovl_scope *sc, const char *path)
{
	if (!good_path(path) || !names_add(&sc->entry, path, strlen(path)))
		return false;
	add_chain(sc, path);
	return true;
}

static bool add_index(struct ovl_scope *sc, const char *name)
{
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	return names_add(&sc->index, name, strlen(name));
}

void ovl_scope_add(struct ovl_scope *sc, const char *layer, const char *path)
{
	if (!strcmp(layer, "stack") || !strcmp(layer, "work"))
		return;
	if (!strcmp(layer, "index")) {
		if (path[0] == '/')
			add_index(sc, path + 1);
		return;
	}
	add_entry(sc, path);
}

void ovl_scope_add_subtree(struct ovl_scope *sc, const char *path)
{
	if (good_path(path) && names_add(&sc->tree, path, strlen(path)))
		add_chain(sc, path);
}

bool ovl_scope_walks(const struct ovl_scope *sc)
{
	return sc->entry.n || sc->tree.n;
}

bool ovl_scope_holds(const struct ovl_scope *sc, int layer, const char *path)
{
	if (layer < 0)
		return !strcmp(path, "/") || (path[0] == '/' && names_has(&sc->index, path + 1,
									  strlen(path + 1)));
	return ovl_scope_walks(sc) &&
	       (ovl_strset_has(sc->chain, path, strlen(path)) || in_tree(sc, path));
}

bool ovl_scope_has(const struct ovl_scope *sc, const char *layer, const char *path)
{
	if (!strcmp(layer, "stack") || !strcmp(layer, "work"))
		return true;
	return ovl_scope_holds(sc, strcmp(layer, "index") ? 0 : -1, path);
}

/*
 * What a change of the plan touches. Creating or removing an entry, or
 * changing how a dir merges (its redirect, its opaque mark), changes what
 * every entry below it merges with: those are subtrees. W/index entries
 * by their names (a rename: both).
 */
static void add_index_path(struct ovl_scope *sc, const char *wpath)
{
	static const char pre[] = "/index/";

	if (!strncmp(wpath, pre, sizeof(pre) - 1))
		add_index(sc, wpath + sizeof(pre) - 1);
}

void ovl_scope_note_plan(struct ovl_scope *sc, const struct ovl_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct ovl_fix *f = &plan->fixes[i];
		bool marks = (f->op == OVL_FIX_SET_XATTR || f->op == OVL_FIX_RM_XATTR) &&
			     (f->xattr == OVL_XA_REDIRECT || f->xattr == OVL_XA_OPAQUE);

		if (f->layer == OVL_FIX_WORKDIR) {
			add_index_path(sc, f->path);
			if ((f->op == OVL_FIX_RENAME_W || f->op == OVL_FIX_LINK_W) && f->val) {
				char *to = ovl_xstrndup((const char *)f->val, f->len);
				add_index_path(sc, to);
				free(to);
			}
		} else if (f->layer >= 0) {
			if (marks || f->op == OVL_FIX_MK_WHITEOUT || f->op == OVL_FIX_RM_WHITEOUT ||
			    f->op == OVL_FIX_QUARANTINE || f->op == OVL_FIX_QUARANTINE_WH)
				ovl_scope_add_subtree(sc, f->path);
			else
				add_entry(sc, f->path);
		}
	}
}

/* Does a redirect to `target` lead to, or below, an entry or tree root
 * (whose change may change what it finds or whether its old name is
 * covered)? The root as an entry is its own marks only. */
static bool leads_into(const struct ovl_scope *sc, const char *target)
{
	size_t len = strlen(target);

	if (target[0] != '/')
		return false;
	if (names_has(&sc->tree, "/", 1))
		return true;
	for (size_t i = 2; i <= len; i++)
		if (i == len || target[i] == '/')
			if (names_has(&sc->entry, target, i) || names_has(&sc->tree, target, i))
				return true;
	return false;
}

static bool same(const char *a, const char *b)
{
	return a[0] && !strcmp(a, b);
}

/* Take in what record k is tied to; true when something was added. */
static bool relate(struct ovl_scope *sc, const struct ovl_links *l, const struct ovl_link *k)
{
	bool grew = false;

	if (k->kind == OVL_LINK_DIR_ORIGIN)
		return add_index(sc, k->key);
	if (k->kind == OVL_LINK_ALIAS)
		grew |= add_index(sc, k->aux);
	for (size_t i = 0; i < l->n; i++) {
		const struct ovl_link *j = &l->v[i];
		bool tied = false;

		switch (k->kind) {
		case OVL_LINK_REDIRECT:
			/* the same target: which is the duplicate; the same
			 * first dir: the duplicate across layers */
			tied = j->kind == OVL_LINK_REDIRECT && (same(j->key, k->key) ||
								same(j->aux, k->aux));
			break;
		case OVL_LINK_ALIAS:
		case OVL_LINK_INDEX:
		case OVL_LINK_NAME:
			/* one inode, or one lower inode: the hard-link counts */
			tied = ((j->kind == OVL_LINK_ALIAS || j->kind == OVL_LINK_INDEX ||
				 j->kind == OVL_LINK_NAME) && j->ino == k->ino) ||
			       ((j->kind == OVL_LINK_ALIAS || j->kind == OVL_LINK_WHITEOUT ||
				 j->kind == OVL_LINK_INDEX) && same(j->key, k->key));
			break;
		case OVL_LINK_COPY:
			/* one origin: which of the copies comes first */
			tied = j->kind == OVL_LINK_COPY && same(j->key, k->key);
			break;
		case OVL_LINK_WHITEOUT:
			tied = (j->kind == OVL_LINK_ALIAS || j->kind == OVL_LINK_WHITEOUT ||
				j->kind == OVL_LINK_INDEX) && same(j->key, k->key);
			break;
		}
		if (!tied || j == k)
			continue;
		if (j->kind == OVL_LINK_INDEX)
			grew |= add_index(sc, j->path + 1);
		else
			grew |= add_entry(sc, j->path);
	}
	return grew;
}

/* A W/index name: the aliases and whiteouts of its lower inode, the
 * nfs_export upper dir it names (also for names no record holds). */
static bool relate_index_name(struct ovl_scope *sc, const struct ovl_links *l, const char *name)
{
	char key[OVL_FID_KEY_MAX] = "";
	struct ovl_fh fh;
	bool grew = false;

	if (ovl_fh_from_hex(name, &fh) == OVL_FH_OK)
		ovl_fid_key(&fh, key);
	for (size_t i = 0; i < l->n; i++) {
		const struct ovl_link *j = &l->v[i];
		if ((j->kind == OVL_LINK_ALIAS && (same(j->key, key) || !strcmp(j->aux, name))) ||
		    (j->kind == OVL_LINK_WHITEOUT && same(j->key, key)) ||
		    (j->kind == OVL_LINK_DIR_ORIGIN && !strcmp(j->key, name)))
			grew |= add_entry(sc, j->path);
	}
	return grew;
}

bool ovl_scope_expand(struct ovl_scope *sc, const struct ovl_links *l)
{
	bool grew = false, more = l != NULL;

	if (l)
		sc->links = l;
	while (more) {
		more = false;
		for (size_t i = 0; i < l->n; i++) {
			const struct ovl_link *k = &l->v[i];
			if (ovl_scope_holds(sc, k->layer, k->path))
				more |= relate(sc, l, k);
			else if (k->kind == OVL_LINK_REDIRECT && leads_into(sc, k->key))
				more |= add_entry(sc, k->path);
		}
		for (size_t i = 0; i < sc->index.n; i++)
			more |= relate_index_name(sc, l, sc->index.v[i]);
		grew |= more;
	}
	return grew;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of `list` sorted and deduplicated, those that exist in dir fd. */
static char **existing(int fd, char **list, size_t n, size_t *count)
{
	size_t k = 0;

	qsort(list, n, sizeof(*list), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if ((k && !strcmp(list[k - 1], list[i])) ||
		    (ovl_stat_at(fd, list[i], &st) < 0 && (errno == ENOENT || errno == ENOTDIR))) {
			free(list[i]);
			continue;
		}
		list[k++] = list[i];
	}
	list[k] = NULL;
	*count = k;
	return list;
}

/* Is `path` a child of dir `dir` (dlen: 0 for the root)? */
static bool child_of(const char *path, const char *dir, size_t dlen)
{
	return !strncmp(path, dir, dlen) && path[dlen] == '/' && !strchr(path + dlen + 1, '/');
}

bool ovl_scope_redirect_targets(const struct ovl_ctx *c, int layer, struct ovl_strset *into)
{
	const struct ovl_links *l = c->scope->links;

	if (!l)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].kind == OVL_LINK_REDIRECT && l->v[i].layer == layer)
			ovl_strset_add(into, l->v[i].key, strlen(l->v[i].key));
	return true;
}

/*
 * Does a child the scope does not visit need the impure mark of the dir
 * at c->path, as the links of its last check say? Those links go on into
 * the new ones (ovl_links_replace drops them with the dir checked again).
 */
static bool links_say_impure(struct ovl_ctx *c)
{
	const struct ovl_scope *sc = c->scope;
	const struct ovl_links *l = sc->links;
	size_t dlen = c->pathlen == 1 ? 0 : c->pathlen;
	bool needed = false;

	for (size_t i = 0; i < l->n; i++) {
		const struct ovl_link *k = &l->v[i];
		if (k->kind != OVL_LINK_IMPURE || !child_of(k->path, c->path, dlen) ||
		    ovl_scope_holds(sc, k->layer, k->path))
			continue;
		needed = true;
		if (c->links)
			ovl_links_add(c->links, k);
	}
	return needed;
}

/*
 * An upper dir without its impure mark is judged by all its children:
 * those the scope visits say so themselves, the others through the links
 * of the last check that saw them (without links: none counts).
 */
static void impure_from_links(struct ovl_ctx *c, struct ovl_frame *f)
{
	if (c->layer->kind == OVL_LAYER_UPPER && !f->impure && c->scope->links)
		f->impure_needed |= links_say_impure(c);
}

char **ovl_scope_dir_names(struct ovl_ctx *c, struct ovl_frame *f, size_t *count)
{
	const struct ovl_scope *sc = c->scope;
	const char *dir = c->path;
	size_t dlen = c->pathlen == 1 ? 0 : c->pathlen;
	size_t n = 0, cap = sc->entry.n + sc->tree.n + 1;
	char **list;

	if (in_tree(sc, dir))
		return ovl_dir_names(f->fd, "", count);
	impure_from_links(c, f);
	list = ovl_xmalloc(cap * sizeof(*list));
	for (int pass = 0; pass < 2; pass++) {
		const struct names *from = pass ? &sc->tree : &sc->entry;
		for (size_t i = 0; i < from->n; i++) {
			const char *p = from->v[i];
			/* the next component of a path below this dir */
			if (strncmp(p, dir, dlen) || p[dlen] != '/' || !p[dlen + 1])
				continue;
			list[n++] = ovl_xstrndup(p + dlen + 1, strcspn(p + dlen + 1, "/"));
		}
	}
	return existing(f->fd, list, n, count);
}

/* Can W/index be read at all? The full pass says so at index:/ when not. */
static bool index_readable(int indexfd)
{
	int fd = openat(indexfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	bool ok;

	if (!d) {
		ovl_close_keep_errno(fd);
		return false;
	}
	errno = 0;
	ok = readdir(d) || !errno;
	int err = errno;
	closedir(d);
	errno = err;
	return ok;
}

char **ovl_scope_index_names(struct ovl_ctx *c, size_t *count)
{
	const struct ovl_scope *sc = c->scope;
	char **list;

	if (!index_readable(c->s->indexfd))
		return NULL;
	list = ovl_xmalloc((sc->index.n + 1) * sizeof(*list));
	for (size_t i = 0; i < sc->index.n; i++)
		list[i] = ovl_xstrdup(sc->index.v[i]);
	return existing(c->s->indexfd, list, sc->index.n, count);
}

struct collected {
	struct ovl_pitem *v;
	size_t n, cap;
};

static void collect(void *arg, enum ovl_problem_code code, const struct ovl_pctx *p)
{
	struct collected *got = arg;
	size_t len = p->pathlen == (size_t)-1 ? strlen(p->path) : p->pathlen;

	ovl_pitems_push(&got->v, &got->n, &got->cap, code, p->layer, p->path, len, p->detail);
}

/* A scoped check runs until the links it brings back tie in nothing new. */
#define MAX_ROUNDS 8

int ovl_scope_check(struct ovl_stack *s, struct ovl_scope *sc, struct ovl_links *links,
		    struct ovl_pitem **items, size_t *n)
{
	FILE *null = fopen("/dev/null", "w");
	struct collected got = { 0 };
	int rc = 8;

	*items = NULL;
	*n = 0;
	if (!null)
		return rc;
	ovl_scope_expand(sc, links);
	for (int round = 0; round < MAX_ROUNDS; round++) {
		struct ovl_links *fresh = ovl_links_new();
		struct ovl_fsck_opts fo = { .scope = sc, .links = fresh };
		struct ovl_fsck_stats st;
		struct ovl_report r;

		ovl_pitems_free(got.v, got.n);
		got = (struct collected){ 0 };
		ovl_report_init(&r, OVL_MODE_NO, null);
		r.silent = true;
		r.seen = collect;
		r.seen_arg = &got;
		rc = ovl_fsck_run(s, &fo, &r, &st);
		if (links)
			ovl_links_replace(links, sc, fresh);
		ovl_links_free(fresh);
		if (rc || !ovl_scope_expand(sc, links))
			break;
	}
	fclose(null);
	*items = got.v;
	*n = got.n;
	return rc;
}
