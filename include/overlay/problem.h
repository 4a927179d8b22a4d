/*
 * The problem table and the reporter. Checks describe what they found with
 * ovl_problem(); the reporter decides from the mode whether to print, ask
 * or fix, and counts. Checks never print or prompt themselves.
 */
#ifndef OVERLAY_PROBLEM_H
#define OVERLAY_PROBLEM_H

#include <stdbool.h>
#include <stdio.h>

#include "overlay/progress.h"

#define PF_PREEN	(1u << 0)
#define PF_NOFIX	(1u << 1)
#define PF_OPER		(1u << 2)

enum ovl_severity { NOTE, WARNING, ERROR };

enum ovl_problem_class {
	OVL_PC_stack, OVL_PC_layer, OVL_PC_whiteout, OVL_PC_opaque,
	OVL_PC_redirect, OVL_PC_metacopy, OVL_PC_origin, OVL_PC_impure,
	OVL_PC_index, OVL_PC_store, OVL_PC_content, OVL_PC_COUNT
};

enum ovl_problem_code {
#define PR(code, cls, sev, flags, msg, fix) PR_##code,
#include "overlay/problem_codes.h"
#undef PR
	PR_COUNT
};

struct ovl_problem_def {
	const char *name;	/* "WH_ORPHAN" */
	enum ovl_problem_class cls;
	enum ovl_severity severity;
	unsigned flags;
	const char *message;
	const char *fix;	/* prompt word: "Remove", "" when PF_NOFIX */
};

const struct ovl_problem_def *ovl_problem_def(enum ovl_problem_code code);
const char *ovl_problem_class_name(enum ovl_problem_class cls);
const char *ovl_severity_name(enum ovl_severity sev);

enum ovl_mode {
	OVL_MODE_NO,		/* -n: report only, write nothing */
	OVL_MODE_YES,		/* -y */
	OVL_MODE_PREEN,		/* -p / -a */
	OVL_MODE_ASK,		/* interactive */
};

/* Where and what: the context of one problem. */
struct ovl_pctx {
	const char *layer;	/* "upper", "lower1", "index", "work", "stack" */
	const char *path;	/* path inside the layer, starting with '/' */
	size_t pathlen;		/* bytes of path, (size_t)-1 = strlen */
	const char *detail;	/* extra words, may be NULL */
	bool fixable;		/* the check has a fix to offer */
};

struct ovl_report {
	enum ovl_mode mode;
	FILE *out;
	FILE *in;		/* answers in OVL_MODE_ASK */
	bool verbose;
	bool silent;		/* print no problem lines (a JSON report holds them) */
	unsigned long seq;	/* problems reported so far: the id of the last */
	bool yes_to_all;	/* 'a' answered */
	bool cancelled;		/* 'q' answered: no more questions, exit 32 */
	bool preen_left;	/* -p met a problem it may not fix unasked */
	unsigned long copy_planned;	/* data copy-ups planned (or listed by -n) */
	unsigned long long copy_bytes;
	unsigned long copied;		/* ... and done */
	unsigned long copy_missed;	/* asked-for paths that could not be copied up */
	unsigned long count[PR_COUNT];
	unsigned long by_class[OVL_PC_COUNT];
	unsigned long errors;	/* ERROR + WARNING problems left */
	unsigned long fixed;
	unsigned long notes;
	bool operational;	/* a PF_OPER problem was seen */
	/* told of every problem as it is reported (a viewer collects them) */
	void (*seen)(void *arg, enum ovl_problem_code code, const struct ovl_pctx *pctx);
	void *seen_arg;
	/* when set, decides each offered fix instead of the mode (an
	 * interactive tool fixing one chosen problem) */
	bool (*decide)(void *arg, enum ovl_problem_code code, const struct ovl_pctx *pctx);
	void *decide_arg;
	/* -C: progress of the passes; its bar is cleared before each line */
	struct ovl_progress *progress;
	/* the undo journal the repair wrote ("" when none) */
	char journal[4096];
	/* told by repair of each problem (its seq) whose fix was applied in
	 * full, as it counts `fixed` */
	void (*applied)(void *arg, unsigned long seq);
	void *applied_arg;
};

/* Does this problem have a fix to offer (whatever the mode)? */
bool ovl_problem_fixable(enum ovl_problem_code code, const struct ovl_pctx *pctx);

void ovl_report_init(struct ovl_report *r, enum ovl_mode mode, FILE *out);

/*
 * Report one problem. Returns true when the caller should plan its fix:
 * never with -n, never for a problem without a fix (pctx->fixable false or
 * PF_NOFIX), with -p only for PF_PREEN rows, with -y always, and when
 * asking only on a yes. Prints one line:
 *   CODE layer:/path: message[: detail]
 * followed, when a fix is offered, by "  Fix? yes" / "  Fix? no" (the
 * row's prompt word in place of Fix).
 */
bool ovl_problem(struct ovl_report *r, enum ovl_problem_code code,
		 const struct ovl_pctx *pctx);

/* Print bytes escaped as problem lines print paths (no newline added). */
void ovl_print_escaped(FILE *out, const char *s, size_t len);

/* The fsck(8) exit code the counts call for: 0, 1, 4, 8, 32 or-ed. */
int ovl_report_exit(const struct ovl_report *r);
/* Print the closing summary lines. */
void ovl_report_summary(const struct ovl_report *r);

#endif
