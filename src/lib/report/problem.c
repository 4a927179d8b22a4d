/*
 * The problem table and the reporter: the one place that decides, from the
 * mode and the table row, what to print and whether a fix is applied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/problem.h"
#include "overlay/util.h"

static const struct ovl_problem_def problem_table[PR_COUNT] = {
#define PR(code, cls, sev, flags, msg, fix) \
	[PR_##code] = { #code, OVL_PC_##cls, sev, flags, msg, fix },
#include "overlay/problem_codes.h"
#undef PR
};

static const char *const class_names[OVL_PC_COUNT] = {
	[OVL_PC_stack] = "stack",
	[OVL_PC_layer] = "layer",
	[OVL_PC_whiteout] = "whiteout",
	[OVL_PC_opaque] = "opaque",
	[OVL_PC_redirect] = "redirect",
	[OVL_PC_metacopy] = "metacopy",
	[OVL_PC_origin] = "origin",
	[OVL_PC_impure] = "impure",
	[OVL_PC_index] = "index",
	[OVL_PC_store] = "store",
	[OVL_PC_content] = "content",
};

const struct ovl_problem_def *ovl_problem_def(enum ovl_problem_code code)
{
	if ((unsigned)code >= PR_COUNT)
		return NULL;
	return &problem_table[code];
}

const char *ovl_problem_class_name(enum ovl_problem_class cls)
{
	if ((unsigned)cls >= OVL_PC_COUNT)
		return "?";
	return class_names[cls];
}

const char *ovl_severity_name(enum ovl_severity sev)
{
	switch (sev) {
	case NOTE:
		return "note";
	case WARNING:
		return "warning";
	case ERROR:
		return "error";
	}
	return "?";
}

void ovl_report_init(struct ovl_report *r, enum ovl_mode mode, FILE *out)
{
	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->out = out;
}

void ovl_print_escaped(FILE *out, const char *s, size_t len)
{
	char small[512];
	size_t need = ovl_escape(s, len, small, sizeof(small));

	if (need < sizeof(small)) {
		fputs(small, out);
		return;
	}
	char *big = ovl_xmalloc(need + 1);
	ovl_escape(s, len, big, need + 1);
	fputs(big, out);
	free(big);
}

/* e2fsck's question: y(es), n(o), a(ll: yes from now on), q(uit). */
static bool ask(struct ovl_report *r, const char *fix)
{
	char line[32];

	if (r->cancelled)
		return false;
	if (r->yes_to_all) {
		fprintf(r->out, "  %s? yes", fix);
		return true;
	}
	for (;;) {
		fprintf(r->out, "  %s<y>? ", fix);
		fflush(r->out);
		if (!r->in || !fgets(line, sizeof(line), r->in)) {
			r->cancelled = true;
			fputs("cancelled", r->out);
			return false;
		}
		switch (line[0]) {
		case 'y': case 'Y': case '\n':
			fputs("yes", r->out);
			return true;
		case 'n': case 'N':
			fputs("no", r->out);
			return false;
		case 'a': case 'A':
			r->yes_to_all = true;
			fputs("yes to all", r->out);
			return true;
		case 'q': case 'Q':
			r->cancelled = true;
			fputs("cancelled", r->out);
			return false;
		}
	}
}

bool ovl_problem_fixable(enum ovl_problem_code code, const struct ovl_pctx *pctx)
{
	const struct ovl_problem_def *def = ovl_problem_def(code);

	return def && pctx && pctx->fixable && !(def->flags & PF_NOFIX);
}

/* CODE layer:/path: message[: detail], no newline */
static void print_line(struct ovl_report *r, const struct ovl_problem_def *def,
		       const struct ovl_pctx *pctx)
{
	fputs(def->name, r->out);
	fputc(' ', r->out);
	fputs(pctx && pctx->layer ? pctx->layer : "stack", r->out);
	fputc(':', r->out);
	if (pctx && pctx->path) {
		size_t len = pctx->pathlen == (size_t)-1 ? strlen(pctx->path)
							  : pctx->pathlen;
		ovl_print_escaped(r->out, pctx->path, len);
	} else {
		fputc('/', r->out);
	}
	fputs(": ", r->out);
	fputs(def->message, r->out);
	if (pctx && pctx->detail) {
		fputs(": ", r->out);
		ovl_print_escaped(r->out, pctx->detail, strlen(pctx->detail));
	}
}

bool ovl_problem(struct ovl_report *r, enum ovl_problem_code code,
		 const struct ovl_pctx *pctx)
{
	const struct ovl_problem_def *def = ovl_problem_def(code);

	if (!def)
		return false;
	r->count[code]++;
	if (def->severity == NOTE) {
		r->notes++;
	} else {
		r->by_class[def->cls]++;
		r->errors++;
	}
	if (def->flags & PF_OPER)
		r->operational = true;

	r->seq++;
	if (r->seen)
		r->seen(r->seen_arg, code, pctx);
	if (!r->silent) {
		ovl_progress_clear(r->progress);
		print_line(r, def, pctx);
	}

	bool offered = r->mode != OVL_MODE_NO && ovl_problem_fixable(code, pctx);
	bool accept = false;
	if (offered && r->decide) {
		accept = r->decide(r->decide_arg, code, pctx);
	} else if (offered) {
		switch (r->mode) {
		case OVL_MODE_YES:
			accept = true;
			break;
		case OVL_MODE_PREEN:
			accept = def->flags & PF_PREEN;
			if (!accept)
				r->preen_left = true;
			break;
		case OVL_MODE_ASK:
			accept = ask(r, def->fix);
			break;
		case OVL_MODE_NO:
			break;
		}
	}
	/* A note whose fix is wanted (an orphan layer with --remove-orphans)
	 * becomes a problem to fix: counted, so that a failed fix is left. */
	if (accept && def->severity == NOTE) {
		r->by_class[def->cls]++;
		r->errors++;
	}
	if (r->silent)
		return accept;
	if (offered && (r->decide || r->mode != OVL_MODE_ASK))
		fprintf(r->out, "  %s? %s", def->fix, accept ? "yes" : "no");
	fputc('\n', r->out);
	fflush(r->out);
	return accept;
}

int ovl_report_exit(const struct ovl_report *r)
{
	int code = 0;

	if (r->fixed || r->copied)
		code |= 1;
	if ((r->mode != OVL_MODE_NO && r->copied < r->copy_planned) || r->copy_missed)
		code |= 4;	/* a copy-up that did not happen */
	if (r->errors > r->fixed)
		code |= 4;
	/* Preen met a problem it may not fix: "run fsck manually", 4 alone,
	 * as e2fsck's preen halt (fstests overlay/046 expects exactly 4). */
	if (r->preen_left)
		code &= ~1;
	if (r->operational)
		code |= 8;
	if (r->cancelled)
		code |= 32;
	return code;
}

void ovl_report_summary(const struct ovl_report *r)
{
	if (r->copy_planned) {
		if (r->mode == OVL_MODE_NO)
			fprintf(r->out, "%lu file%s to copy up (%llu bytes)\n", r->copy_planned,
				r->copy_planned == 1 ? "" : "s", r->copy_bytes);
		else
			fprintf(r->out, "%lu of %lu file%s copied up (%llu bytes)\n", r->copied,
				r->copy_planned, r->copy_planned == 1 ? "" : "s", r->copy_bytes);
	}
	if (!r->errors) {
		fputs("no problems found\n", r->out);
		return;
	}
	fprintf(r->out, "%lu problem%s (", r->errors, r->errors == 1 ? "" : "s");
	const char *sep = "";
	for (int c = 0; c < OVL_PC_COUNT; c++) {
		if (!r->by_class[c])
			continue;
		fprintf(r->out, "%s%s %lu", sep, class_names[c], r->by_class[c]);
		sep = ", ";
	}
	fputs(")\n", r->out);
	if (r->mode != OVL_MODE_NO)
		fprintf(r->out, "%lu fixed, %lu left\n", r->fixed, r->errors - r->fixed);
	if (r->preen_left)
		fputs("UNEXPECTED INCONSISTENCY: run fsck.overlay without -p (-y or "
		      "interactively)\n", r->out);
}
