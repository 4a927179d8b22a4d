/*
 * Per-entry checks that need no more than the entry, its parent and the
 * first thing below it: names, overlay xattr sanity, whiteouts, opaque and
 * impure values, the impure mark of a dir.
 */
#include <string.h>
#include <unistd.h>

#include "walk/links.h"
#include "internal.h"

/* Control bytes, DEL, or bytes that are not valid UTF-8. */
bool ovl_name_is_hostile(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	while (*p) {
		unsigned char b = *p;
		int extra;

		if (b < 0x20 || b == 0x7f)
			return true;
		if (b < 0x80) {
			p++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf)
			extra = 1;
		else if (b >= 0xe0 && b <= 0xef)
			extra = 2;
		else if (b >= 0xf0 && b <= 0xf4)
			extra = 3;
		else
			return true;
		for (int i = 1; i <= extra; i++)
			if ((p[i] & 0xc0) != 0x80)
				return true;
		p += extra + 1;
	}
	return false;
}

static void check_xattr_sanity(struct ovl_ctx *c, struct ovl_node *n)
{
	for (int id = 0; id < OVL_XA_COUNT; id++) {
		/* A dir's unreadable redirect is a bad redirect: re-pointed by
		 * origin or dropped; any other huge value just goes. */
		if (n->xa.huge & (1u << id)) {
			if (id == OVL_XA_REDIRECT && S_ISDIR(n->st.st_mode))
				ovl_report_bad_redirect(c, n, PR_LY_XATTR_HUGE,
							ovl_xattr_short_name(id));
			else if (ovl_report_fix(c, PR_LY_XATTR_HUGE, ovl_xattr_short_name(id)))
				ovl_plan_here(c, OVL_FIX_RM_XATTR, id, NULL, 0);
		}
		if (n->xa.unreadable & (1u << id))
			ovl_report_here(c, PR_LY_XATTR_UNREADABLE, ovl_xattr_short_name(id));
		if (n->xa.other_ns & (1u << id))
			ovl_report_here(c, PR_LY_XATTR_OTHER_NS, ovl_xattr_short_name(id));
	}
	if (n->xa.unknown)
		ovl_report_here(c, PR_LY_XATTR_UNKNOWN, NULL);
}

/*
 * A whiteout is an orphan when nothing below it carries its name: no
 * layer below has an entry there that the whiteout would hide.
 */
static void check_whiteout(struct ovl_ctx *c, const struct ovl_node *n,
			   const struct ovl_lookup_res *res)
{
	if (c->layer->kind == OVL_LAYER_DATA)
		return;
	if (c->layer->kind == OVL_LAYER_UPPER)
		ovl_note_whiteout(c, res);
	if ((res->first == OVL_HIT_NONE || res->first == OVL_HIT_WHITEOUT) &&
	    ovl_report_fix(c, PR_WH_ORPHAN, NULL)) {
		/* An xattr whiteout goes as a whole: without the xattr it would
		 * show as an empty file. */
		ovl_plan_here(c, OVL_FIX_RM_WHITEOUT, OVL_XA_WHITEOUT, NULL, 0);
	}
}

static void check_xwhiteout(struct ovl_ctx *c, const struct ovl_node *n,
			    const struct ovl_lookup_res *res)
{
	if (!S_ISREG(n->st.st_mode) || n->st.st_size != 0) {
		if (ovl_report_fix(c, PR_WH_NOT_EMPTY, NULL))
			ovl_plan_here(c, OVL_FIX_RM_XATTR, OVL_XA_WHITEOUT, NULL, 0);
		return;
	}
	/* The kernel lists it but gives ENOENT: make it a real whiteout when
	 * it hides something below (one atomic rename into the quarantine
	 * that leaves a whiteout), else just move the empty file aside. */
	if (c->layer->kind == OVL_LAYER_UPPER) {
		if (!c->s->has_work) {
			ovl_report_here(c, PR_WH_XATTR_IN_UPPER, NULL);
		} else if (ovl_report_fix(c, PR_WH_XATTR_IN_UPPER, NULL)) {
			bool hides = res->first == OVL_HIT_DIR || res->first == OVL_HIT_FILE;
			ovl_plan_here(c, hides ? OVL_FIX_QUARANTINE_WH : OVL_FIX_QUARANTINE, 0,
				      NULL, 0);
		}
		return;
	}
	if (!n->parent || !n->parent->xwhiteouts) {
		/* Marking the parent opaque=x makes readdir hide it too. */
		if (!n->parent || n->parent->opaque)
			ovl_report_here(c, PR_WH_XATTR_NO_OPAQUE_X, NULL);
		else if (ovl_report_fix(c, PR_WH_XATTR_NO_OPAQUE_X, NULL))
			ovl_plan_at(c, OVL_FIX_SET_XATTR, c->layer->idx, c->path,
				    n->parent->pathlen, OVL_XA_OPAQUE, "x", 1);
	}
	check_whiteout(c, n, res);
}

void ovl_check_entry(struct ovl_ctx *c, struct ovl_node *n,
		     const struct ovl_lookup_res *res)
{
	bool is_dir = S_ISDIR(n->st.st_mode);

	ovl_links_note_name(c, n);
	ovl_links_note_impure(c, n);
	if (ovl_name_is_hostile(n->name))
		ovl_report_here(c, PR_LY_NAME_CONTROL, NULL);
	check_xattr_sanity(c, n);

	if (n->whiteout)
		check_whiteout(c, n, res);
	else if (n->xwhiteout)
		check_xwhiteout(c, n, res);

	const char *op = ovl_node_xattr(n, OVL_XA_OPAQUE);
	if (op) {
		/* Removing an invalid value keeps what the kernel shows now. */
		bool bad = is_dir && (n->xa.len[OVL_XA_OPAQUE] != 1 || (op[0] != 'y' && op[0] != 'x'));
		if ((!is_dir && ovl_report_fix(c, PR_OP_NOT_DIR, NULL)) ||
		    (bad && ovl_report_fix(c, PR_OP_BAD_VALUE, op)))
			ovl_plan_here(c, OVL_FIX_RM_XATTR, OVL_XA_OPAQUE, NULL, 0);
	}

	const char *im = ovl_node_xattr(n, OVL_XA_IMPURE);
	if (im && c->layer->kind == OVL_LAYER_UPPER) {
		if (!is_dir) {
			if (ovl_report_fix(c, PR_IM_NOT_DIR, NULL))
				ovl_plan_here(c, OVL_FIX_RM_XATTR, OVL_XA_IMPURE, NULL, 0);
		} else if ((n->xa.len[OVL_XA_IMPURE] != 1 || im[0] != 'y') &&
			   ovl_report_fix(c, PR_IM_BAD_VALUE, im)) {
			ovl_plan_here(c, OVL_FIX_SET_XATTR, OVL_XA_IMPURE, "y", 1);
		}
	}
}

/* The reasons the walker's visit() marks a parent's impure_needed. */
bool ovl_makes_parent_impure(const struct ovl_node *n)
{
	bool is_dir = S_ISDIR(n->st.st_mode);

	return (ovl_xattrs_has(&n->xa, OVL_XA_ORIGIN) && n->xa.len[OVL_XA_ORIGIN] > 0) ||
	       (is_dir && ovl_xattrs_has(&n->xa, OVL_XA_REDIRECT)) ||
	       (is_dir && n->frame && n->frame->below.n > 0);
}

/*
 * The kernel fixes inode numbers in readdir only of dirs marked impure:
 * an upper dir with a child that has origin or redirect must be marked.
 */
void ovl_check_dir_end(struct ovl_ctx *c, struct ovl_node *n)
{
	struct ovl_frame *f = n->frame;

	if (c->layer->kind != OVL_LAYER_UPPER || !f)
		return;
	if (f->impure_needed && !f->impure && ovl_report_fix(c, PR_IM_MISSING, NULL))
		ovl_plan_here(c, OVL_FIX_SET_XATTR, OVL_XA_IMPURE, "y", 1);
}
