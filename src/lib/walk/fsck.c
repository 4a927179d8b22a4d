/*
 * The check driver: the passes in order, each owning one kind of
 * knowledge. Pass 1 the stack's fixed places, then one walk per layer
 * (upper first, lowers unless --upper-only), then W/index and W/work.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "overlay/copyup.h"
#include "overlay/fsck.h"
#include "overlay/lookup.h"
#include "overlay/repair.h"
#include "overlay/scope.h"
#include "overlay/util.h"
#include "check/internal.h"
#include "core/strset.h"
#include "walk.h"

int ovl_jobs_default(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > OVL_JOBS_MAX ? OVL_JOBS_MAX : (int)n;
}

/* The fds a process may hold (the soft limit raised to the hard one). */
static long fd_limit(void)
{
	struct rlimit rl;
	long fds = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		fds = rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
	}
	return fds;
}

/* Each level of the walk holds one fd per layer it merges. */
static int depth_limit(const struct ovl_stack *s, long fds)
{
	long depth = (fds - 64) / (s->nlayers + 2);
	if (depth > 4096)
		depth = 4096;
	return depth < 16 ? 16 : (int)depth;
}

/* What the deepest walk leaves of the fds, for records read ahead: the
 * depth limit must not depend on -j, nor may the read-ahead starve the
 * walk (each reader may hold a few fds of its own for a moment). */
static int ahead_fds(const struct ovl_stack *s, long fds, int depth, int jobs)
{
	long spare = fds - 64 - (long)depth * (s->nlayers + 2) - 16L * (jobs > 1 ? jobs : 0);
	if (spare > 1L << 16)
		spare = 1L << 16;
	return spare > 0 ? (int)spare : 0;
}

static void pass(struct ovl_ctx *c, int *n, const char *what)
{
	(*n)++;
	ovl_progress_pass(c->r->progress, *n, what);
	if (c->o->verbose)
		fprintf(c->r->out, "Pass %d: checking %s\n", *n, what);
}

void ovl_ctx_init(struct ovl_ctx *c, struct ovl_stack *s, struct ovl_report *r,
		  const struct ovl_fsck_opts *o, struct ovl_fsck_stats *stats)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->r = r;
	c->o = o;
	c->stats = stats;
	memset(stats, 0, sizeof(*stats));
	c->pathcap = 4096;
	c->path = ovl_xmalloc(c->pathcap);
	strcpy(c->path, "/");
	c->pathlen = 1;
	c->mountfd = ovl_xmalloc((size_t)s->nlayers * sizeof(*c->mountfd));
	for (int i = 0; i < s->nlayers; i++)
		c->mountfd[i] = -1;
	long fds = fd_limit();
	c->max_depth = depth_limit(s, fds);
	c->fd_spare = ahead_fds(s, fds, c->max_depth, o->jobs);
	c->copy_matched = ovl_xcalloc(o->ncopy_paths + 1, sizeof(*c->copy_matched));
	c->scope = o->scope;
	c->links = o->links;
}

void ovl_ctx_free(struct ovl_ctx *c)
{
	for (int i = 0; i < c->s->nlayers; i++)
		if (c->mountfd[i] >= 0)
			close(c->mountfd[i]);
	free(c->mountfd);
	free(c->copy_matched);
	free(c->path);
	ovl_strset_free(c->redirects);
	ovl_strset_free(c->upper_redirects);
	ovl_repoints_free(c);
	ovl_placeds_free(c);
	ovl_hlinks_free(c->hlinks);
	ovl_strset_free(c->dirorigins);
	ovl_strset_free(c->copied_inodes);
	ovl_strset_free(c->copies);
}

int ovl_fsck_run(struct ovl_stack *s, const struct ovl_fsck_opts *o,
		 struct ovl_report *r, struct ovl_fsck_stats *stats)
{
	struct ovl_ctx c;
	int npass = 0;
	char what[64];

	ovl_ctx_init(&c, s, r, o, stats);

	struct ovl_plan plan;
	ovl_plan_init(&plan);
	if (r->mode != OVL_MODE_NO)
		c.plan = &plan;

	pass(&c, &npass, "the stack");
	if (ovl_check_mountable(&c)) {
		/* Layers the kernel would not take as one stack: whatever a
		 * walk judged on them as one would be noise, and a fix could
		 * be wrong. The reasons are the whole report. */
		if (r->mode != OVL_MODE_NO)
			fputs("not repairing: the kernel would refuse these layers as one stack\n",
			      r->out);
		goto done;
	}
	ovl_check_stack_roots(&c);

	/* a scoped check without entries of the layers walks none */
	bool walk = !o->scope || ovl_scope_walks(o->scope);
	if (s->has_upper && walk) {
		pass(&c, &npass, "upper");
		ovl_walk_layer(&c, 0);
	}
	/* A copy-up path with no metacopy file at or below it (a lower-only
	 * path was matched by the walk's lower planning). */
	for (size_t i = 0; o->copy_up && i < o->ncopy_paths; i++) {
		if (c.copy_matched[i])
			continue;
		const char *p = o->copy_paths[i];
		int fd = -1, in = s->has_upper ? 0 : 1;
		for (; fd < 0 && in < s->nlayers; in++)
			fd = ovl_open_beneath(s->layers[in].fd, p + 1, strlen(p + 1), O_PATH);
		in--;
		fprintf(r->out, "nothing to copy up at %s: %s\n", p,
			fd < 0 ? "no such path in the layers"
			: in == 0 ? "no metacopy file there"
				  : "only the lower layers have it, with no file below to copy");
		if (fd >= 0)
			close(fd);
		if (fd < 0 || in > 0)
			r->copy_missed++;
	}
	if (!o->upper_only && walk) {
		for (int i = 1; i <= (o->top_lower_only ? 1 : s->nlower); i++) {
			snprintf(what, sizeof(what), "%s", s->layers[i].name);
			pass(&c, &npass, what);
			ovl_walk_layer(&c, i);
		}
	}
	c.layer = NULL;
	ovl_check_mountable_copyup(&c);
	if (s->indexfd >= 0) {
		pass(&c, &npass, "W/index");
		ovl_check_index(&c);
	}
	if (s->has_work) {
		pass(&c, &npass, "W/work");
		ovl_check_work(&c);
	}

	if (o->scope)
		ovl_scope_note_plan(o->scope, &plan);
	if (plan.n) {
		char journal[4096];
		if (o->before_write)
			o->before_write();
		if (o->journal)
			snprintf(journal, sizeof(journal), "%s", o->journal);
		else
			ovl_repair_default_journal(journal, sizeof(journal),
						   o->journal_dir ? o->journal_dir : s->workdir);
		if (!o->journal && o->journal_tag) {
			size_t n = strlen(journal);
			snprintf(journal + n, sizeof(journal) - n, ".%s", o->journal_tag);
		}
		pass(&c, &npass, "applying the fixes");
		ovl_copyup_verify = o->verify_data;
		if (ovl_repair_apply(s, &plan, journal, sizeof(journal), !o->journal, r) == 0 ||
		    r->fixed) {
			fprintf(r->out, "undo journal: %s\n", journal);
			snprintf(r->journal, sizeof(r->journal), "%s", journal);
		}
		if (r->cancelled)
			fputs("cancelled: no further change was made; run again to finish\n",
			      r->out);
	}
done:
	ovl_plan_free(&plan);
	ovl_progress_end(r->progress);

	ovl_ctx_free(&c);
	return r->operational ? 8 : 0;
}

void ovl_fsck_stats_each(const struct ovl_stack *s, const struct ovl_fsck_opts *o,
			 const struct ovl_fsck_stats *stats,
			 void (*fn)(void *arg, const char *name, unsigned long n), void *arg)
{
	for (int i = 0; i < s->nlayers && i < (int)OVL_ARRAY_SIZE(stats->entries); i++) {
		if (i == 0 && !s->has_upper)
			continue;
		if (i > 0 && (o->upper_only || s->layers[i].kind == OVL_LAYER_DATA ||
			      (o->top_lower_only && i > 1)))
			continue;
		fn(arg, s->layers[i].name, stats->entries[i]);
	}
	if (s->indexfd >= 0)
		fn(arg, "index", stats->index_entries);
	if (s->has_work)
		fn(arg, "work", stats->work_entries);
}

struct print_stats {
	FILE *out;
	const char *sep;
};

static void print_count(void *arg, const char *name, unsigned long n)
{
	struct print_stats *p = arg;

	fprintf(p->out, "%s%s: %lu entries", p->sep, name, n);
	p->sep = ", ";
}

void ovl_fsck_print_stats(const struct ovl_stack *s, const struct ovl_fsck_opts *o,
			  const struct ovl_fsck_stats *stats, FILE *out)
{
	struct print_stats p = { out, "" };

	ovl_fsck_stats_each(s, o, stats, print_count, &p);
	fputc('\n', out);
}
