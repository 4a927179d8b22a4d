/*
 * fsck.overlay --store: what to check in a container engine's store and
 * in which order (see overlay/storefsck.h), and the store's own fixes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "overlay/lookup.h"
#include "overlay/repair.h"
#include "overlay/storefsck.h"
#include "overlay/util.h"
#include "check/check_store.h"

/*
 * A layer that can be stacked: it and every parent are known to the
 * metadata (only the metadata says what lies below a layer: checked over
 * the wrong parents, its whiteouts would look orphaned) and have a diff
 * dir.
 */
static bool stackable(const struct ovl_store *st, long layer)
{
	for (size_t depth = 0; layer != OVL_STORE_NONE; depth++) {
		const struct ovl_store_layer *L = &st->layers[layer];
		if (depth > st->nlayers || !L->known || !L->on_disk || !L->has_diff ||
		    L->parent_missing)
			return false;	/* (a parent loop counts as broken) */
		layer = L->parent;
	}
	return true;
}

/* A file name part from a dir name of the store (bytes of the engine's
 * choosing: they reach the output in the journal's path). */
static char *name_part(const char *s)
{
	size_t n = strnlen(s, 80);
	char *p = ovl_xstrndup(s, n);

	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			    p[i]))
			p[i] = '_';	/* (ASCII whatever the locale) */
	return p;
}

static void add_unit(struct ovl_store_unit **v, size_t *n, size_t *cap,
		     const struct ovl_store *st, struct ovl_store_unit *u)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		*v = ovl_xrealloc(*v, *cap * sizeof(**v));
	}
	u->journal_tag = name_part(st->layers[u->layer].id);
	(*v)[(*n)++] = *u;
}

/* "image app:1, container web": every stack whose chain holds the layer. */
static char *users_of(const struct ovl_store *st, long layer)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return ovl_xstrdup("");
	const char *sep = "";
	for (size_t i = 0; i < st->nstacks; i++) {
		const struct ovl_store_stack *sk = &st->stacks[i];
		for (size_t k = 0; k < sk->nchain; k++) {
			if (sk->chain[k] != layer)
				continue;
			fprintf(f, "%s%s %s", sep, sk->container ? "container" : "image", sk->name);
			sep = ", ";
			break;
		}
	}
	fclose(f);
	return out ? out : ovl_xstrdup("");
}

/* The layers of a chain below `from`, base first, each once. */
static void add_chain(const struct ovl_store *st, const struct ovl_store_stack *sk, size_t from,
		      bool *seen, struct ovl_store_unit **v, size_t *n, size_t *cap)
{
	for (size_t k = sk->nchain; k-- > from;) {
		long l = sk->chain[k];
		if (l == OVL_STORE_NONE || seen[l] || !stackable(st, l))
			continue;
		seen[l] = true;
		struct ovl_store_unit u = { .kind = "layer", .name = st->layers[l].label,
					    .id = st->layers[l].id, .layer = l,
					    .used_by = users_of(st, l) };
		add_unit(v, n, cap, st, &u);
	}
}

/*
 * containerd: committed snapshots no image names (a build's, an image's
 * removed before the collector ran) are layers all the same; each after
 * its parents, as the chain of a stack of its own would add them.
 */
static void add_committed(const struct ovl_store *st, bool *seen, struct ovl_store_unit **v,
			  size_t *n, size_t *cap)
{
	long *chain = ovl_xcalloc(st->nlayers + 1, sizeof(*chain));

	for (size_t i = 0; i < st->nlayers; i++) {
		struct ovl_store_stack sk = { .chain = chain };
		size_t from = *n;

		if (!st->layers[i].committed || seen[i] || !stackable(st, (long)i))
			continue;
		for (long l = (long)i; l != OVL_STORE_NONE; l = st->layers[l].parent)
			chain[sk.nchain++] = l;	/* stackable: no loop, at most nlayers */
		add_chain(st, &sk, 0, seen, v, n, cap);
		for (size_t k = from; k < *n; k++)
			if (!*(*v)[k].used_by) {	/* no image or container: no line */
				free((*v)[k].used_by);
				(*v)[k].used_by = NULL;
			}
	}
	free(chain);
}

size_t ovl_store_units(const struct ovl_store *st, struct ovl_store_unit **units)
{
	bool *seen = ovl_xcalloc(st->nlayers + 1, sizeof(*seen));
	size_t n = 0, cap = 0;

	*units = NULL;
	/* Without all of the metadata, what lies below a layer is a guess;
	 * checked over the wrong parents its whiteouts would look orphaned,
	 * and -y would remove them. */
	if (st->nerrors) {
		free(seen);
		return 0;
	}
	/* every layer below a container's own, and every image's */
	for (size_t i = 0; i < st->nstacks; i++) {
		const struct ovl_store_stack *sk = &st->stacks[i];
		add_chain(st, sk, sk->container ? 1 : 0, seen, units, &n, &cap);
	}
	add_committed(st, seen, units, &n, &cap);
	for (size_t i = 0; i < st->nstacks; i++) {
		const struct ovl_store_stack *sk = &st->stacks[i];
		if (!sk->container || sk->broken || sk->top == OVL_STORE_NONE ||
		    !stackable(st, sk->top) || !st->layers[sk->top].has_work)
			continue;	/* reported by the bookkeeping */
		if (st->kind == OVL_STORE_CONTAINERD && sk->nchain < 2)
			continue;	/* no parent: bind-mounted, not an overlay */
		struct ovl_store_unit u = { .kind = "container", .name = sk->name, .id = sk->id,
					    .layer = sk->top, .stack = sk };
		add_unit(units, &n, &cap, st, &u);
	}
	free(seen);
	return n;
}

void ovl_store_units_free(struct ovl_store_unit *units, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(units[i].used_by);
		free(units[i].journal_tag);
	}
	free(units);
}

/* Does unit u's stack hold this layer? */
static bool unit_reads(const struct ovl_store *st, const struct ovl_store_unit *u, long layer)
{
	if (u->stack) {
		for (size_t k = 0; k < u->stack->nchain; k++)
			if (u->stack->chain[k] == layer)
				return true;
		return false;
	}
	/* a unit's layer is stackable: its parents end, without a loop */
	for (long l = u->layer; l != OVL_STORE_NONE; l = st->layers[l].parent)
		if (l == layer)
			return true;
	return false;
}

enum ovl_forkrun_dep ovl_store_unit_dep(const struct ovl_store *st,
					const struct ovl_store_unit *a,
					const struct ovl_store_unit *b)
{
	if (unit_reads(st, a, b->layer))
		return OVL_FORKRUN_WRITES;
	if (unit_reads(st, b, a->layer))
		return OVL_FORKRUN_READS;
	return OVL_FORKRUN_NONE;
}

int ovl_store_unit_opts(const struct ovl_store *st, const struct ovl_store_unit *u,
			struct ovl_opts *o, struct ovl_fsck_opts *fo, char *err, size_t errlen)
{
	fo->journal_tag = u->journal_tag;
	if (u->stack) {
		fo->upper_only = true;
		fo->top_lower_only = false;
		return ovl_store_stack_opts(st, u->stack, o, err, errlen);
	}
	fo->upper_only = false;
	fo->top_lower_only = true;
	return ovl_store_layer_opts(st, u->layer, o, err, errlen);
}

int ovl_store_book_stack(const struct ovl_store *st, struct ovl_stack *s, char *err,
			 size_t errlen)
{
	struct ovl_opts o;

	ovl_opts_init(&o);
	ovl_opts_add_lower(&o, st->driver);
	return ovl_stack_open(s, &o, err, errlen);
}

int ovl_store_fsck_book(const struct ovl_store *st, struct ovl_report *r, bool remove_orphans,
			char *journal, size_t journal_size, bool default_journal)
{
	struct ovl_plan plan;
	int rc = 0;

	ovl_plan_init(&plan);
	ovl_check_store(st, r, &plan, remove_orphans);
	if (plan.n && r->mode != OVL_MODE_NO) {
		struct ovl_stack s;
		char err[512];
		if (ovl_store_book_stack(st, &s, err, sizeof(err)) != OVL_STACK_OK) {
			fprintf(r->out, "cannot repair the store: %s\n", err);
			rc = 8;
		} else {
			if (default_journal)
				ovl_repair_default_journal(journal, journal_size, st->root);
			if (ovl_repair_apply(&s, &plan, journal, journal_size, default_journal, r) == 0 ||
			    r->fixed) {
				fprintf(r->out, "undo journal: %s\n", journal);
				snprintf(r->journal, sizeof(r->journal), "%s", journal);
			}
		}
		ovl_stack_close(&s);
	}
	ovl_plan_free(&plan);
	return r->operational ? 8 : rc;
}

struct mounted_arg {
	const struct ovl_store *st;
	char *mnt;
	size_t mntlen;
};

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static int mounted_one(void *arg, const char *mnt, dev_t dev, const char *key, const char *path)
{
	struct mounted_arg *a = arg;

	(void)dev;
	(void)key;
	/* the engines mount on <driver>/<id>/merged, with layers under the
	 * driver dir (Docker gives them relative to it: the mount point is
	 * what always tells) */
	if (!under(mnt, a->st->driver) && !under(path, a->st->driver))
		return 0;
	snprintf(a->mnt, a->mntlen, "%s", mnt);
	return 1;
}

/* containerd holds its snapshotter's bbolt file locked (flock, as bbolt
 * opens a database for writing) while it runs, mounts or none. */
static bool containerd_holds(const struct ovl_store *st, char *mnt, size_t mntlen)
{
	char rel[300];
	size_t dl = strlen(st->driver_rel) - strlen("snapshots");
	int fd;
	bool held;

	snprintf(rel, sizeof(rel), "%.*smetadata.db", (int)dl, st->driver_rel);
	fd = ovl_open_beneath(st->rootfd, rel, strlen(rel), O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);	/* drops the lock, if it was taken */
	if (held)
		snprintf(mnt, mntlen, "nothing, but %s/%s is locked by containerd", st->root, rel);
	return held;
}

int ovl_store_mounted(const struct ovl_store *st, char *mnt, size_t mntlen)
{
	struct mounted_arg a = { st, mnt, mntlen };
	int rc = ovl_mountinfo_overlays(mounted_one, &a);

	if (rc == 0 && st->kind == OVL_STORE_CONTAINERD && containerd_holds(st, mnt, mntlen))
		return 1;
	return rc;
}
