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

static void print_escaped(FILE *out, const char *s, size_t len)
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

	fputs(def->name, r->out);
	fputc(' ', r->out);
	fputs(pctx && pctx->layer ? pctx->layer : "stack", r->out);
	fputc(':', r->out);
	if (pctx && pctx->path) {
		size_t len = pctx->pathlen == (size_t)-1 ? strlen(pctx->path)
							  : pctx->pathlen;
		print_escaped(r->out, pctx->path, len);
	} else {
		fputc('/', r->out);
	}
	fputs(": ", r->out);
	fputs(def->message, r->out);
	if (pctx && pctx->detail) {
		fputs(": ", r->out);
		print_escaped(r->out, pctx->detail, strlen(pctx->detail));
	}
	fputc('\n', r->out);

	/* Repair comes with its own module; until then nothing is fixed. */
	return false;
}

int ovl_report_exit(const struct ovl_report *r)
{
	int code = 0;

	if (r->fixed)
		code |= 1;
	if (r->errors)
		code |= 4;
	if (r->operational)
		code |= 8;
	return code;
}

void ovl_report_summary(const struct ovl_report *r)
{
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
}
