/*
 * A container store's own bookkeeping, judged from the model store.c
 * read: every l/ link leads to its layer's diff, every link file holds a
 * short name whose link exists, every lower file names the layer's
 * parents as the metadata chains them, no layer dir unknown to the
 * metadata, no metadata naming a missing dir. Only reads; the fixes are
 * data for repair.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "overlay/util.h"
#include "check_store.h"

struct sctx {
	const struct ovl_store *st;
	struct ovl_report *r;
	struct ovl_plan *plan;
	char **eff;		/* per layer: its short name once repaired (or NULL) */
	bool *fresh;		/* ... a new one, with no l/ link yet */
	bool *removed;		/* an orphan whose removal is planned */
};

static bool report(struct sctx *c, enum ovl_problem_code code, const char *path,
		   const char *detail, bool fixable)
{
	struct ovl_pctx p = {
		.layer = "store", .path = path, .pathlen = (size_t)-1,
		.detail = detail, .fixable = fixable,
	};
	return ovl_problem(c->r, code, &p);
}

static void plan(struct sctx *c, enum ovl_fix_op op, const char *path, const char *val)
{
	if (c->plan)
		ovl_plan_add(c->plan, op, OVL_STORE_FIX_LAYER, path, strlen(path), 0, val,
			     val ? strlen(val) : 0, c->r->seq);
}

/* ---- short names ---- */

static bool name_taken(const struct sctx *c, const char *name)
{
	const struct ovl_store *st = c->st;

	if (ovl_store_link_find(st, name) != OVL_STORE_NONE)
		return true;
	for (size_t i = 0; i < st->nlayers; i++)
		if ((st->layers[i].link && !strcmp(st->layers[i].link, name)) ||
		    (c->eff[i] && !strcmp(c->eff[i], name)))
			return true;
	return false;
}

/* 26 random characters of base32, as the engines' GenerateID makes them. */
static char *new_name(const struct sctx *c)
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char rnd[26];
	char name[27];

	do {
		size_t got = 0;
		while (got < sizeof(rnd)) {
			ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
			if (n < 0 && errno != EINTR) {
				fprintf(stderr, "fsck.overlay: getrandom: %s\n", strerror(errno));
				exit(8);
			}
			if (n > 0)
				got += (size_t)n;
		}
		for (size_t i = 0; i < sizeof(rnd); i++)
			name[i] = b32[rnd[i] & 31];
		name[26] = '\0';
	} while (name_taken(c, name));
	return ovl_xstrdup(name);
}

/* The short name each layer dir has, or gets: its valid link file, else an
 * l/ link that leads to it, else a new one. */
static void effective_names(struct sctx *c)
{
	const struct ovl_store *st = c->st;

	for (size_t i = 0; i < st->nlayers; i++)
		if (st->layers[i].on_disk && st->layers[i].link)
			c->eff[i] = ovl_xstrdup(st->layers[i].link);
	for (size_t i = 0; i < st->nlayers; i++) {
		if (!st->layers[i].on_disk || c->eff[i])
			continue;
		for (size_t k = 0; k < st->nlinks && !c->eff[i]; k++)
			if (st->links[k].layer == (long)i)
				c->eff[i] = ovl_xstrdup(st->links[k].name);
		if (!c->eff[i]) {
			c->eff[i] = new_name(c);
			c->fresh[i] = true;
		}
	}
}

/* Which layer a short name of a lower file leads to once repaired. */
static long resolve(const struct sctx *c, const char *name)
{
	const struct ovl_store *st = c->st;
	long k;

	for (size_t i = 0; i < st->nlayers; i++)
		if (c->eff[i] && !strcmp(c->eff[i], name))
			return (long)i;
	k = ovl_store_link_find(st, name);
	return k == OVL_STORE_NONE ? OVL_STORE_NONE : st->links[k].layer;
}

/* ---- helpers for the words ---- */

static const char *label(const struct ovl_store *st, long i)
{
	return st->layers[i].label ? st->layers[i].label : st->layers[i].id;
}

/* "image a, container b, ..." of the stacks whose chain holds layer i */
static void users(const struct ovl_store *st, long i, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t s = 0; s < st->nstacks; s++) {
		const struct ovl_store_stack *sk = &st->stacks[s];
		bool in = false;
		for (size_t k = 0; k < sk->nchain && !in; k++)
			in = sk->chain[k] == i;
		if (!in)
			continue;
		int n = snprintf(buf + used, size - used, "%s%s %s", used ? ", " : "",
				 sk->container ? "container" : "image", sk->name);
		if (n < 0 || (size_t)n >= size - used) {
			if (size > 5)
				snprintf(buf + size - 5, 5, ", ..");
			return;
		}
		used += (size_t)n;
	}
}

static void human_size(unsigned long long b, char *buf, size_t size)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t u = 0;

	if (b < 1024) {
		snprintf(buf, size, "%llu bytes", b);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < OVL_ARRAY_SIZE(unit)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f %s (%llu bytes)", v, unit[u], b);
}

/* ---- the checks of one layer ---- */

static void check_orphan(struct sctx *c, long i, bool remove_orphans)
{
	const struct ovl_store *st = c->st;
	const struct ovl_store_layer *l = &st->layers[i];
	char path[600], detail[256], size[64];
	bool fix = remove_orphans && st->nerrors == 0;

	human_size(l->size, size, sizeof(size));
	snprintf(path, sizeof(path), "/%s/%s", st->driver_rel, l->id);
	snprintf(detail, sizeof(detail), "%s%s", size,
		 remove_orphans && !fix ? "; kept: the engine's metadata could not all be read"
		 : "");
	if (!report(c, PR_SR_LAYER_ORPHAN, path, detail, fix))
		return;
	c->removed[i] = true;
	for (size_t k = 0; k < st->nlinks; k++) {
		if (st->links[k].layer != i)
			continue;
		snprintf(path, sizeof(path), "/l/%s", st->links[k].name);
		plan(c, OVL_FIX_RM_SYMLINK, path, NULL);
	}
	snprintf(path, sizeof(path), "/%s", l->id);
	plan(c, OVL_FIX_RM_TREE, path, NULL);
}

/* link file and l/ link of an on-disk layer */
static void check_link(struct sctx *c, long i)
{
	const struct ovl_store *st = c->st;
	const struct ovl_store_layer *l = &st->layers[i];
	char path[600], fixpath[600], target[600], detail[700];

	snprintf(target, sizeof(target), "../%s/diff", l->id);
	if (!l->link) {
		enum ovl_problem_code code = l->link_file ? PR_SR_LINKFILE_BAD
							   : PR_SR_LINKFILE_MISSING;
		snprintf(path, sizeof(path), "/%s/%s/link", st->driver_rel, l->id);
		snprintf(detail, sizeof(detail), c->fresh[i] ? "%s; no l/ link leads to it: "
			 "new short name %s" : "%s; l/%s leads to it", label(st, i), c->eff[i]);
		if (!report(c, code, path, detail, true))
			return;
		if (c->fresh[i]) {
			snprintf(fixpath, sizeof(fixpath), "/l/%s", c->eff[i]);
			plan(c, OVL_FIX_SYMLINK, fixpath, target);
		}
		snprintf(fixpath, sizeof(fixpath), "/%s/link", l->id);
		plan(c, OVL_FIX_WRITE_FILE, fixpath, c->eff[i]);
		return;
	}
	long k = ovl_store_link_find(st, l->link);
	snprintf(path, sizeof(path), "/%s/l/%s", st->driver_rel, l->link);
	snprintf(fixpath, sizeof(fixpath), "/l/%s", l->link);
	if (k == OVL_STORE_NONE) {
		snprintf(detail, sizeof(detail), "%s (%s)", label(st, i), l->id);
		if (report(c, PR_SR_LINK_MISSING, path, detail, true))
			plan(c, OVL_FIX_SYMLINK, fixpath, target);
	} else if (st->links[k].target && st->links[k].layer != i) {
		snprintf(detail, sizeof(detail), "it points to '%s', the link file of %s (%s) "
			 "names it", st->links[k].target, label(st, i), l->id);
		if (report(c, PR_SR_LINK_WRONG, path, detail, true))
			plan(c, OVL_FIX_SYMLINK, fixpath, target);
	}
	/* not a symlink: reported with the l/ entries */
}

/* The expected lower file: the parents' short names, top first. Returns
 * the number of parents, or -1 (why in detail) when it cannot be known. */
static long expected_lower(struct sctx *c, long i, long *chain, size_t max, char *val,
			   size_t vsize, char *why, size_t wsize)
{
	const struct ovl_store *st = c->st;
	size_t n = 0, used = 0;

	val[0] = '\0';
	for (long p = st->layers[i].parent; p != OVL_STORE_NONE; p = st->layers[p].parent) {
		for (size_t k = 0; k < n; k++)
			if (chain[k] == p) {
				snprintf(why, wsize, "its parents make a loop");
				return -1;
			}
		if (n == max) {
			snprintf(why, wsize, "more than %zu parents", max);
			return -1;
		}
		if (!st->layers[p].on_disk || !c->eff[p]) {
			snprintf(why, wsize, "its parent %s has no dir", label(st, p));
			return -1;
		}
		if (st->layers[p].parent_missing) {
			snprintf(why, wsize, "the parent of %s does not exist", label(st, p));
			return -1;
		}
		chain[n++] = p;
		int w = snprintf(val + used, vsize - used, "%sl/%s", used ? ":" : "", c->eff[p]);
		if (w < 0 || (size_t)w >= vsize - used) {
			snprintf(why, wsize, "too many parents");
			return -1;
		}
		used += (size_t)w;
	}
	return (long)n;
}

static void check_lower(struct sctx *c, long i)
{
	const struct ovl_store *st = c->st;
	const struct ovl_store_layer *l = &st->layers[i];
	char path[600], fixpath[600], detail[900], why[400];
	static char val[64 * 1024];
	long chain[512];
	long n;

	snprintf(path, sizeof(path), "/%s/%s/lower", st->driver_rel, l->id);
	snprintf(fixpath, sizeof(fixpath), "/%s/lower", l->id);
	if (st->nerrors) {
		/* the chain cannot be trusted: only what is wrong on its face */
		if (l->lower_bad)
			report(c, PR_SR_LOWER_BAD, path, "not of the form l/NAME:l/NAME; not "
			       "rewritten: the engine's metadata could not all be read", false);
		return;
	}
	if (l->parent == OVL_STORE_NONE) {
		if (l->lower_file)
			report(c, PR_SR_LOWER_BAD, path, "a base layer (no parent in the "
			       "metadata) with a lower file", false);
		return;
	}
	n = expected_lower(c, i, chain, OVL_ARRAY_SIZE(chain), val, sizeof(val), why,
			   sizeof(why));
	bool fix = n >= 0;
	if (!l->lower_file) {
		snprintf(detail, sizeof(detail), "%s%s%s", label(st, i), fix ? "" : "; ", fix ? ""
			 : why);
		if (report(c, PR_SR_LOWER_MISSING, path, detail, fix))
			plan(c, OVL_FIX_WRITE_FILE, fixpath, val);
		return;
	}
	if (l->lower_bad)
		snprintf(detail, sizeof(detail), "not of the form l/NAME:l/NAME");
	else if (l->nlower == 0)
		snprintf(detail, sizeof(detail), "empty");
	else {
		detail[0] = '\0';
		for (size_t k = 0; k < l->nlower && !detail[0]; k++) {
			long j = resolve(c, l->lower[k]);
			if (j == OVL_STORE_NONE)
				snprintf(detail, sizeof(detail), "l/%s leads to no layer",
					 l->lower[k]);
			else if (fix && (k >= (size_t)n || chain[k] != j))
				snprintf(detail, sizeof(detail), "entry %zu is %s, the metadata's "
					 "chain has %s there", k + 1, label(st, j),
					 k >= (size_t)n ? "nothing" : label(st, chain[k]));
		}
		if (!detail[0] && fix && l->nlower < (size_t)n)
			snprintf(detail, sizeof(detail), "it names %zu layers, the metadata's "
				 "chain has %ld", l->nlower, n);
		if (!detail[0])
			return;
	}
	if (!fix) {
		size_t len = strlen(detail);
		snprintf(detail + len, sizeof(detail) - len, "; not rewritten: %s", why);
	}
	if (report(c, PR_SR_LOWER_BAD, path, detail, fix))
		plan(c, OVL_FIX_WRITE_FILE, fixpath, val);
}

static void check_layer(struct sctx *c, long i, bool remove_orphans)
{
	const struct ovl_store *st = c->st;
	const struct ovl_store_layer *l = &st->layers[i];
	char path[600], fixpath[600], detail[1024];

	snprintf(path, sizeof(path), "/%s/%s", st->driver_rel, l->id);
	if (!l->on_disk) {
		users(st, i, detail, sizeof(detail));
		if (!detail[0])
			snprintf(detail, sizeof(detail), "%s", label(st, i));
		report(c, PR_SR_LAYER_MISSING, path, detail, false);
		return;
	}
	if (!l->known) {
		check_orphan(c, i, remove_orphans);
		if (c->removed[i])
			return;
	}
	/* a containerd view mounts its parents only: its own fs is not read */
	if (!l->has_diff && !(l->view && l->parent != OVL_STORE_NONE)) {
		snprintf(path, sizeof(path), "/%s/%s/%s", st->driver_rel, l->id, st->diff_rel);
		users(st, i, detail, sizeof(detail));
		report(c, PR_SR_DIFF_MISSING, path, detail[0] ? detail : label(st, i), false);
	}
	/* Docker makes work/ only for a layer with a parent; containers-storage
	 * and containerd (an active snapshot) always */
	if (l->known && l->rw && !l->has_work &&
	    (st->kind != OVL_STORE_DOCKER || l->parent != OVL_STORE_NONE ||
	     l->parent_missing)) {
		snprintf(path, sizeof(path), "/%s/%s/work", st->driver_rel, l->id);
		snprintf(fixpath, sizeof(fixpath), "/%s/work", l->id);
		if (report(c, PR_SR_WORK_MISSING, path, label(st, i), true))
			plan(c, OVL_FIX_MKDIR, fixpath, NULL);
	}
	if (st->kind != OVL_STORE_CONTAINERD)	/* no short names there */
		check_link(c, i);
	if (!l->known)
		return;
	if (l->parent_missing) {
		snprintf(path, sizeof(path), "/%s/%s", st->driver_rel, l->id);
		snprintf(detail, sizeof(detail), "%s: parent %s", label(st, i),
			 l->parent_id ? l->parent_id : "?");
		report(c, PR_SR_PARENT_MISSING, path, detail, false);
		return;
	}
	if (st->kind != OVL_STORE_CONTAINERD)	/* its metadata alone chains them */
		check_lower(c, i);
}

/* containerd: images and containers whose snapshot is gone from the
 * snapshotter's metadata, and its own metadata unreadable. */
static void check_refs(struct sctx *c)
{
	const struct ovl_store *st = c->st;
	char detail[1024];

	for (size_t s = 0; s < st->nstacks; s++) {
		const struct ovl_store_stack *sk = &st->stacks[s];
		if (!sk->ref)
			continue;
		snprintf(detail, sizeof(detail), "%s %s: snapshot %s",
			 sk->container ? "container" : "image", sk->name, sk->ref);
		report(c, PR_SR_SNAPSHOT_MISSING, "/" OVL_CD_META_DB, detail, false);
	}
	for (size_t e = 0; e < st->nname_errors; e++)
		report(c, PR_SR_NAMES_BAD, st->name_errors[e].file, st->name_errors[e].why, false);
}

/* ---- the l/ entries ---- */

static void check_links(struct sctx *c)
{
	const struct ovl_store *st = c->st;
	char path[600], fixpath[600], detail[600];

	for (size_t k = 0; k < st->nlinks; k++) {
		const struct ovl_store_link *lk = &st->links[k];
		bool owned = false;

		snprintf(path, sizeof(path), "/%s/l/%s", st->driver_rel, lk->name);
		if (!lk->target) {
			report(c, PR_SR_LINK_NOT_SYMLINK, path, NULL, false);
			continue;
		}
		if (lk->layer != OVL_STORE_NONE && st->layers[lk->layer].on_disk)
			continue;
		/* the link of a layer the metadata still names: part of its
		 * SR_LAYER_MISSING, and needed again if the layer comes back */
		if (lk->layer != OVL_STORE_NONE && st->layers[lk->layer].known)
			continue;
		/* a layer's own name leading elsewhere is re-pointed (SR_LINK_WRONG) */
		for (size_t i = 0; i < st->nlayers && !owned; i++)
			owned = st->layers[i].on_disk && st->layers[i].link &&
				!strcmp(st->layers[i].link, lk->name);
		if (owned)
			continue;
		snprintf(detail, sizeof(detail), "it points to '%s'", lk->target);
		snprintf(fixpath, sizeof(fixpath), "/l/%s", lk->name);
		if (report(c, PR_SR_LINK_DANGLING, path, detail, true))
			plan(c, OVL_FIX_RM_SYMLINK, fixpath, NULL);
	}
}

void ovl_check_store(const struct ovl_store *st, struct ovl_report *r, struct ovl_plan *p,
		     bool remove_orphans)
{
	struct sctx c = {
		.st = st, .r = r, .plan = p,
		.eff = ovl_xcalloc(st->nlayers + 1, sizeof(char *)),
		.fresh = ovl_xcalloc(st->nlayers + 1, sizeof(bool)),
		.removed = ovl_xcalloc(st->nlayers + 1, sizeof(bool)),
	};

	for (size_t e = 0; e < st->nerrors; e++)
		report(&c, PR_SR_META_BAD, st->errors[e].file, st->errors[e].why, false);
	effective_names(&c);
	for (size_t i = 0; i < st->nlayers; i++)
		check_layer(&c, (long)i, remove_orphans);
	check_links(&c);
	check_refs(&c);
	for (size_t i = 0; i < st->nlayers; i++)
		free(c.eff[i]);
	free(c.eff);
	free(c.fresh);
	free(c.removed);
}
