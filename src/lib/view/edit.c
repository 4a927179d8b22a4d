/*
 * Single changes for interactive tools. A check runs, so that the chosen
 * fix is planned with the context it needs (parents, index, hard links),
 * and the reporter's decide hook declines everything else; the repair
 * and its journal are fsck.overlay's own. With the links of a full check
 * the check is scoped to the place and what the links tie to it, and a
 * read-only scoped check of the places the plan changed follows. What
 * the run prints is kept in memory and its last meaningful line returned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/edit.h"
#include "overlay/fsck.h"

struct target {
	enum ovl_problem_code code;
	const char *layer;
	const char *path;
	unsigned long seen;	/* reported again */
	unsigned long matched;	/* ... with a fix offered, and accepted */
};

static bool decline_all(void *arg, enum ovl_problem_code code, const struct ovl_pctx *p)
{
	(void)arg; (void)code; (void)p;
	return false;
}

static bool is_target(const struct target *t, enum ovl_problem_code code,
		      const struct ovl_pctx *p)
{
	if (code != t->code || !p || !p->layer || strcmp(p->layer, t->layer) || !p->path)
		return false;
	size_t len = p->pathlen == (size_t)-1 ? strlen(p->path) : p->pathlen;
	return len == strlen(t->path) && !memcmp(p->path, t->path, len);
}

static void seen_target(void *arg, enum ovl_problem_code code, const struct ovl_pctx *p)
{
	struct target *t = arg;

	if (is_target(t, code, p))
		t->seen++;
}

static bool only_target(void *arg, enum ovl_problem_code code, const struct ovl_pctx *p)
{
	struct target *t = arg;

	if (!is_target(t, code, p))
		return false;
	t->matched++;
	return true;
}

/* A problem line: "CODE layer:/path: ..." (its message may say cannot). */
static bool problem_line(const char *l)
{
	size_t n = strspn(l, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

	return n && l[n] == ' ';
}

/* The last line of the run's output that says what failed, if any. */
static void failure_line(const char *text, char *out, size_t size)
{
	const char *hit = NULL;

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *end = strchr(l, '\n');
		const char *c = strstr(l, "cannot ");
		if (c && (!end || c < end) && !problem_line(l))
			hit = l;
	}
	if (hit)
		snprintf(out, size, "%.*s", (int)strcspn(hit, "\n"), hit);
}

/* Run the edit's check: scoped to (layer, path) when there are links,
 * then the scoped check again of what it changed. */
static int run(struct ovl_stack *s, struct ovl_links *links, const char *layer, const char *path,
	       struct ovl_fsck_opts *fo, struct ovl_report *r, char **text,
	       struct ovl_edit_result *res)
{
	size_t len = 0;
	FILE *out = open_memstream(text, &len);
	struct ovl_fsck_stats st;

	if (!out) {
		snprintf(res->msg, sizeof(res->msg), "no memory");
		return res->rc = 8;
	}
	if (links) {
		res->scope = ovl_scope_new();
		ovl_scope_add(res->scope, layer, path);
		ovl_scope_expand(res->scope, links);
		fo->scope = res->scope;
	}
	r->out = out;
	int rc = ovl_fsck_run(s, fo, r, &st);
	fclose(out);
	res->rc = rc | ovl_report_exit(r);
	if (links)
		res->rc |= ovl_scope_check(s, res->scope, links, &res->item, &res->n);
	return res->rc;
}

void ovl_edit_result_free(struct ovl_edit_result *res)
{
	ovl_scope_free(res->scope);
	ovl_pitems_free(res->item, res->n);
	res->scope = NULL;
	res->item = NULL;
	res->n = 0;
}

int ovl_edit_copy_up(struct ovl_stack *s, struct ovl_links *links, const char *path,
		     struct ovl_edit_result *res)
{
	char *paths[1] = { (char *)path };
	struct ovl_fsck_opts fo = { .copy_up = true, .copy_paths = paths, .ncopy_paths = 1 };
	struct ovl_report r;
	char *text = NULL;

	memset(res, 0, sizeof(*res));
	ovl_report_init(&r, OVL_MODE_YES, NULL);
	r.decide = decline_all;
	run(s, links, "upper", path, &fo, &r, &text, res);
	res->done = r.copied;
	if (r.copied)
		snprintf(res->msg, sizeof(res->msg), "copied up %s", path);
	else if (!r.copy_planned)
		snprintf(res->msg, sizeof(res->msg), "%s has no data to copy up "
			 "(not a metacopy file, or its data is missing)", path);
	else
		snprintf(res->msg, sizeof(res->msg), "could not copy up %s", path);
	if (text)
		failure_line(text, res->msg, sizeof(res->msg));
	free(text);
	return res->done ? 0 : -1;
}

int ovl_edit_fix(struct ovl_stack *s, struct ovl_links *links, enum ovl_problem_code code,
		 const char *layer, const char *path, struct ovl_edit_result *res)
{
	struct ovl_fsck_opts fo = { 0 };
	struct target t = { code, layer, path, 0, 0 };
	struct ovl_report r;
	char *text = NULL;
	const struct ovl_problem_def *d = ovl_problem_def(code);

	memset(res, 0, sizeof(*res));
	ovl_report_init(&r, OVL_MODE_YES, NULL);
	r.decide = only_target;
	r.decide_arg = &t;
	r.seen = seen_target;
	r.seen_arg = &t;
	run(s, links, layer, path, &fo, &r, &text, res);
	res->done = r.fixed;
	if (!d || (d->flags & PF_NOFIX))
		snprintf(res->msg, sizeof(res->msg), "%s has no fix: it needs a person",
			 d ? d->name : "?");
	else if (!t.seen)
		snprintf(res->msg, sizeof(res->msg), "%s at %s:%s is no longer reported",
			 d->name, layer, path);
	else if (!t.matched)
		snprintf(res->msg, sizeof(res->msg), "%s at %s:%s has no safe fix here "
			 "(see fsck.overlay(8))", d->name, layer, path);
	else if (r.fixed)
		snprintf(res->msg, sizeof(res->msg), "%s at %s:%s: %s, done", d->name, layer, path,
			 d->fix);
	else
		snprintf(res->msg, sizeof(res->msg), "%s at %s:%s: could not %s", d->name, layer,
			 path, d->fix);
	if (text)
		failure_line(text, res->msg, sizeof(res->msg));
	free(text);
	return res->done ? 0 : -1;
}
