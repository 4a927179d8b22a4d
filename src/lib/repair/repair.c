/*
 * Repair: the plan of fixes the checks queue, and its application, the
 * only code that writes to a layer (through the fix modules).
 *
 * Order keeps the stack mountable at every step: whiteouts are created
 * first, then xattrs are set, then removed, then entries are removed or
 * moved aside; a crash between two steps leaves a state the next run
 * finishes the same way. Copy-ups come last: the data of every copy, one
 * sync, then their commits. Every change is journalled first (journal.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/copyup.h"
#include "overlay/repair.h"
#include "overlay/util.h"
#include "repair_internal.h"

volatile int ovl_repair_interrupted;

static char fix_note[1024];

void ovl_fix_note(const char *fmt, ...)
{
	size_t used = strlen(fix_note);
	va_list ap;

	if (used && used + 2 < sizeof(fix_note)) {
		memcpy(fix_note + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(fix_note + used, sizeof(fix_note) - used, fmt, ap);
	va_end(ap);
}

void ovl_plan_init(struct ovl_plan *p)
{
	memset(p, 0, sizeof(*p));
}

void ovl_plan_free(struct ovl_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->fixes[i].path);
		free(p->fixes[i].val);
	}
	free(p->fixes);
	memset(p, 0, sizeof(*p));
}

void ovl_plan_add(struct ovl_plan *p, enum ovl_fix_op op, int layer, const char *path,
		  size_t pathlen, enum ovl_xattr_id xattr, const void *val, size_t len,
		  unsigned long problem)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->fixes = ovl_xrealloc(p->fixes, p->cap * sizeof(*p->fixes));
	}
	struct ovl_fix *f = &p->fixes[p->n++];
	f->op = op;
	f->layer = layer;
	f->path = ovl_xstrndup(path, pathlen);
	f->xattr = xattr;
	f->val = NULL;
	f->len = len;
	if (val) {
		f->val = ovl_xmalloc(len + 1);
		memcpy(f->val, val, len);
		f->val[len] = '\0';	/* path values are used as strings */
	}
	f->problem = problem;
	f->order = p->n - 1;
}

static int phase(enum ovl_fix_op op)
{
	switch (op) {
	case OVL_FIX_MK_WHITEOUT:
	case OVL_FIX_LINK_W:
	case OVL_FIX_SYMLINK:
	case OVL_FIX_WRITE_FILE:
	case OVL_FIX_MKDIR:
		return 0;
	case OVL_FIX_SET_XATTR:
	case OVL_FIX_TRUNCATE:
		return 1;	/* e.g. opaque before the redirect goes */
	case OVL_FIX_RM_XATTR:
		return 2;
	case OVL_FIX_COPY_DATA:
	case OVL_FIX_COPYUP_NEW:
		return 4;	/* once the stack is repaired, in plan order */
	case OVL_FIX_COPY_COMMIT:
		return 5;	/* once the copied data is on disk */
	default:
		return 3;
	}
}

static int cmp_phase(const void *a, const void *b)
{
	const struct ovl_fix *x = a, *y = b;
	int d = phase(x->op) - phase(y->op);

	if (d)
		return d;
	/* keep the walk's order within a phase */
	return x->order < y->order ? -1 : x->order > y->order;
}

int ovl_repair_apply(struct ovl_stack *s, struct ovl_plan *p, char *journal_path,
		     size_t journal_size, bool numbered, struct ovl_report *r)
{
	struct journal j = { 0 };
	unsigned char *failed;
	unsigned char *touched;
	int ret = 0;

	if (!p->n)
		return 0;
	if (ovl_journal_open(&j, journal_path, journal_size, numbered, s) < 0) {
		fprintf(r->out, "cannot write the undo journal %s: %s: no changes made\n",
			journal_path, strerror(errno));
		r->operational = true;
		return -1;
	}
	qsort(p->fixes, p->n, sizeof(*p->fixes), cmp_phase);
	failed = ovl_xcalloc(r->seq + 1, 1);
	touched = ovl_xcalloc(r->seq + 1, 1);
	unsigned char *done = ovl_xcalloc(p->n + 1, 1);	/* by plan order */
	bool synced = false, progress = false;
	for (size_t i = 0; i < p->n; i++) {
		struct ovl_fix *f = &p->fixes[i];
		if (f->problem <= r->seq)
			touched[f->problem] = 1;
		if (f->problem <= r->seq && failed[f->problem])
			continue;	/* the rest of a failed fix stays undone */
		if (ovl_repair_interrupted) {
			r->cancelled = true;
			if (f->problem <= r->seq)
				failed[f->problem] = 1;
			continue;
		}
		bool copy = f->op == OVL_FIX_COPY_DATA || f->op == OVL_FIX_COPYUP_NEW ||
			    f->op == OVL_FIX_COPY_COMMIT;
		/* The copies' data reaches the disk in one go before any of
		 * their metacopy xattrs goes, and the commits in one go after. */
		if (f->op == OVL_FIX_COPY_COMMIT && !synced) {
			synced = true;
			if (ovl_sync_upper(s) < 0 || ovl_copyup_prejournal(s, &j, p, i, done) < 0) {
				fprintf(r->out, "cannot sync the copied data: %s\n", strerror(errno));
				r->operational = true;
				break;
			}
		}
		if (f->op == OVL_FIX_COPY_COMMIT) {
			size_t data = 0;
			memcpy(&data, f->val, f->len < sizeof(data) ? f->len : sizeof(data));
			if (data >= p->n || !done[data])
				continue;	/* its data was not copied */
		}
		if (f->op == OVL_FIX_COPY_DATA && !progress) {
			progress = true;
			ovl_copyup_progress_start(r->progress, r->copy_planned, r->copy_bytes);
		}
		fix_note[0] = '\0';
		if (copy && ovl_fix_apply(s, &j, f) == 0) {
			done[f->order] = 1;
			if (f->op == OVL_FIX_COPY_DATA)
				ovl_copyup_progress_file();
			/* the parents of a copied-up path are not counted */
			if ((f->op == OVL_FIX_COPY_COMMIT || (f->op == OVL_FIX_COPYUP_NEW && f->xattr)) &&
			    f->problem == OVL_FIX_NO_PROBLEM)
				r->copied++;	/* --copy-up's, not a fix's */
			continue;
		}
		if (copy || ovl_fix_apply(s, &j, f) < 0) {
			const char *lname = f->layer == OVL_FIX_WORKDIR ? "work dir"
					    : s->layers[f->layer].name;
			int err = errno;
			fprintf(r->out, "%s:%s: cannot %s: %s\n", lname, f->path,
				ovl_fix_op_name(f->op), fix_note[0] ? fix_note : strerror(err));
			if (f->problem <= r->seq)
				failed[f->problem] = 1;
			if (err != EROFS)
				r->operational = true;
			ret = -1;
		}
	}
	for (unsigned long i = 0; i <= r->seq; i++)
		if (touched[i] && !failed[i]) {
			r->fixed++;
			if (r->applied)
				r->applied(r->applied_arg, i);
		}
	if (synced)
		ovl_sync_upper(s);
	if (progress)
		ovl_copyup_progress_end();
	free(done);
	free(failed);
	free(touched);
	ovl_journal_close(&j);
	return ret;
}

