/* Unit tests: the places of a scoped check, what links tie to them, what
 * a plan's changes add, the links on the pipe, the problems list update. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/pscan.h"
#include "overlay/repair.h"
#include "overlay/scope.h"
#include "overlay/util.h"
#include "../../src/lib/walk/links.h"
#include "unit.h"

/* A record as the pipe carries it: "L<kind>", "layer ino aux", path, key. */
static void rec(struct ovl_links *l, const char *kind, const char *meta, const char *path,
		const char *key)
{
	const char *f[4] = { kind, meta, path, key };

	ck_assert(ovl_links_read(l, f));
}

START_TEST(test_places)
{
	struct ovl_scope *sc = ovl_scope_new();

	ovl_scope_add(sc, "upper", "/a/b");
	ovl_scope_add(sc, "index", "/00fb");
	ovl_scope_add_subtree(sc, "/t");
	/* an entry, its chain of parents, in every layer */
	ck_assert(ovl_scope_has(sc, "upper", "/"));
	ck_assert(ovl_scope_has(sc, "upper", "/a"));
	ck_assert(ovl_scope_has(sc, "lower2", "/a/b"));
	ck_assert(!ovl_scope_has(sc, "upper", "/a/c"));
	ck_assert(!ovl_scope_has(sc, "upper", "/a/b/c"));
	ck_assert(!ovl_scope_has(sc, "upper", "/ab"));
	/* a subtree: all below */
	ck_assert(ovl_scope_has(sc, "lower1", "/t/x/y"));
	ck_assert(!ovl_scope_has(sc, "lower1", "/tt"));
	/* W/index entries by name; the fixed places always */
	ck_assert(ovl_scope_has(sc, "index", "/00fb"));
	ck_assert(!ovl_scope_has(sc, "index", "/00fc"));
	ck_assert(ovl_scope_has(sc, "index", "/"));
	ck_assert(ovl_scope_has(sc, "stack", "/"));
	ck_assert(ovl_scope_has(sc, "work", "/incompat/volatile"));
	ck_assert_uint_eq(ovl_scope_count(sc), 3);
	ovl_scope_free(sc);

	/* only a W/index entry: no layer is walked, no layer place held */
	sc = ovl_scope_new();
	ovl_scope_add(sc, "index", "/00fb");
	ovl_scope_add(sc, "stack", "/");
	ovl_scope_add(sc, "upper", "/../x");	/* not a place */
	ck_assert(!ovl_scope_walks(sc));
	ck_assert(!ovl_scope_has(sc, "upper", "/"));
	ovl_scope_free(sc);
}
END_TEST

START_TEST(test_plan)
{
	struct ovl_scope *sc = ovl_scope_new();
	struct ovl_plan p;

	ovl_plan_init(&p);
	/* how /d merges changes: all below it; a file's metacopy mark: itself */
	ovl_plan_add(&p, OVL_FIX_SET_XATTR, 0, "/d", 2, OVL_XA_OPAQUE, "y", 1, 1);
	ovl_plan_add(&p, OVL_FIX_RM_XATTR, 0, "/f", 2, OVL_XA_METACOPY, NULL, 0, 2);
	ovl_plan_add(&p, OVL_FIX_QUARANTINE_WH, 1, "/q", 2, 0, NULL, 0, 3);
	ovl_plan_add(&p, OVL_FIX_RENAME_W, OVL_FIX_WORKDIR, "/index/aa", 9, 0, "/index/bb", 9, 4);
	ovl_plan_add(&p, OVL_FIX_MKDIR, OVL_FIX_WORKDIR, "/overlay-fsck.quarantine", 24, 0,
		     NULL, 0, 5);
	ovl_scope_note_plan(sc, &p);
	ck_assert(ovl_scope_has(sc, "lower1", "/d/x/y"));
	ck_assert(ovl_scope_has(sc, "upper", "/f"));
	ck_assert(!ovl_scope_has(sc, "upper", "/f/x"));
	ck_assert(ovl_scope_has(sc, "upper", "/q/x"));
	ck_assert(ovl_scope_has(sc, "index", "/aa"));
	ck_assert(ovl_scope_has(sc, "index", "/bb"));
	ck_assert_uint_eq(ovl_scope_count(sc), 5);
	ovl_plan_free(&p);
	ovl_scope_free(sc);
}
END_TEST

START_TEST(test_expand)
{
	struct ovl_links *l = ovl_links_new();
	struct ovl_scope *sc = ovl_scope_new();

	/* two dirs leading to /old, one elsewhere; a dir leading below /a/b */
	rec(l, "Lr", "0 0 ", "/n1", "/old");
	rec(l, "Lr", "0 0 ", "/n2", "/old");
	rec(l, "Lr", "0 0 ", "/x", "/other");
	rec(l, "Lr", "0 0 ", "/y", "/a/b/c");
	ovl_scope_add(sc, "upper", "/n2");
	ck_assert(ovl_scope_expand(sc, l));
	ck_assert(ovl_scope_has(sc, "upper", "/n1"));
	ck_assert(!ovl_scope_has(sc, "upper", "/x"));
	ck_assert(!ovl_scope_expand(sc, l));
	/* the root as an entry is its own marks: no redirect depends on it */
	ovl_scope_add(sc, "upper", "/");
	ck_assert(!ovl_scope_expand(sc, l));
	ovl_scope_add(sc, "upper", "/a/b");
	ck_assert(ovl_scope_expand(sc, l));
	ck_assert(ovl_scope_has(sc, "upper", "/y"));
	ovl_scope_free(sc);

	/* a hard link: its index entry, its other names, the whiteouts over
	 * its lower aliases; an nfs_export dir by its origin's index name */
	rec(l, "La", "0 5 00fbKK", "/h/f", "01aa");
	rec(l, "Ln", "0 5 ", "/h/g", "");
	rec(l, "Lw", "0 0 ", "/w", "01aa");
	rec(l, "Li", "-1 5 ", "/00fbKK", "01aa");
	rec(l, "Ln", "0 6 ", "/other", "");
	rec(l, "Ld", "0 0 ", "/dir", "00fbDD");
	sc = ovl_scope_new();
	ovl_scope_add(sc, "upper", "/h/g");
	ck_assert(ovl_scope_expand(sc, l));
	ck_assert(ovl_scope_has(sc, "upper", "/h/f"));
	ck_assert(ovl_scope_has(sc, "upper", "/w"));
	ck_assert(ovl_scope_has(sc, "index", "/00fbKK"));
	ck_assert(!ovl_scope_has(sc, "upper", "/other"));
	ck_assert(!ovl_scope_has(sc, "upper", "/dir"));
	ovl_scope_free(sc);
	sc = ovl_scope_new();
	ovl_scope_add(sc, "index", "/00fbDD");
	ck_assert(ovl_scope_expand(sc, l));
	ck_assert(ovl_scope_has(sc, "upper", "/dir"));
	ovl_scope_free(sc);
	ovl_links_free(l);
}
END_TEST

START_TEST(test_transport)
{
	struct ovl_links *l = ovl_links_new(), *back = ovl_links_new();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *bad[4] = { "Lr", "zero", "/p", "/t" };

	rec(l, "Lr", "0 0 801:2a", "/a dir/with\nnewline", "/old name\t");
	rec(l, "La", "0 123456789012 00fb", "/h", "01ff");
	ovl_links_write(l, f);
	fclose(f);
	for (size_t at = 0; at < len;) {
		const char *fld[4];
		for (int i = 0; i < 4; i++) {
			fld[i] = buf + at;
			at += strlen(buf + at) + 1;
		}
		ck_assert(ovl_links_read(back, fld));
	}
	ck_assert_uint_eq(ovl_links_count(back), 2);
	ck_assert_str_eq(back->v[0].path, "/a dir/with\nnewline");
	ck_assert_str_eq(back->v[0].key, "/old name\t");
	ck_assert_str_eq(back->v[0].aux, "801:2a");
	ck_assert_int_eq(back->v[1].kind, 'a');
	ck_assert_uint_eq(back->v[1].ino, 123456789012ULL);
	ck_assert(!ovl_links_read(back, bad));
	free(buf);
	ovl_links_free(l);
	ovl_links_free(back);
}
END_TEST

static void push(struct ovl_pitem **v, size_t *n, size_t *cap, const char *layer,
		 const char *path)
{
	ovl_pitems_push(v, n, cap, PR_WH_ORPHAN, layer, path, strlen(path), NULL);
}

START_TEST(test_replace)
{
	struct ovl_pscan ps;
	struct ovl_pitem *items = NULL;
	size_t n = 0, cap = 0;
	struct ovl_scope *sc = ovl_scope_new();

	memset(&ps, 0, sizeof(ps));
	push(&ps.item, &ps.n, &ps.cap, "upper", "/a");
	push(&ps.item, &ps.n, &ps.cap, "upper", "/d/x");
	push(&ps.item, &ps.n, &ps.cap, "upper", "/d-e");
	push(&ps.item, &ps.n, &ps.cap, "lower1", "/d/x");
	push(&ps.item, &ps.n, &ps.cap, "index", "/00fb");
	/* /d/x is checked again: its two problems go, one comes back in
	 * upper, and a new one at its parent comes before it */
	ovl_scope_add(sc, "upper", "/d/x");
	push(&items, &n, &cap, "upper", "/d/x");
	push(&items, &n, &cap, "upper", "/d");
	ovl_pscan_replace(&ps, sc, items, n);
	static const char *const want[][2] = {
		{ "upper", "/a" }, { "upper", "/d" }, { "upper", "/d/x" },
		{ "upper", "/d-e" }, { "index", "/00fb" },
	};
	ck_assert_uint_eq(ps.n, OVL_ARRAY_SIZE(want));
	for (size_t i = 0; i < ps.n; i++) {
		ck_assert_str_eq(ps.item[i].layer, want[i][0]);
		ck_assert_str_eq(ps.item[i].path, want[i][1]);
	}
	ovl_scope_free(sc);
	ovl_pitems_free(ps.item, ps.n);
}
END_TEST

/* One record on the wire: code, layer, path, detail, each NUL-ended. */
static void wire(int fd, int code, const char *layer, const char *path)
{
	char rec[256];
	int len = snprintf(rec, sizeof(rec), "%d%c%s%c%s%c%c", code, 0, layer, 0, path, 0, 0);

	ck_assert_int_eq(write(fd, rec, (size_t)len), len);
}

/* Problems the check reports at the end of its upper walk (placed
 * origins) take their place in the walk's order as they arrive, as a
 * scoped check's replacements do. */
START_TEST(test_stream_order)
{
	struct ovl_pscan ps;
	int p[2];

	memset(&ps, 0, sizeof(ps));
	ck_assert_int_eq(pipe(p), 0);
	ps.fd = p[0];
	wire(p[1], PR_WH_ORPHAN, "upper", "/a");
	wire(p[1], PR_WH_ORPHAN, "upper", "/d/x");
	wire(p[1], PR_WH_ORPHAN, "upper", "/z");
	wire(p[1], PR_OR_ALIASED, "upper", "/d");	/* at the end of the walk */
	wire(p[1], PR_OR_ALIASED, "upper", "/d/x");	/* after the one before it */
	wire(p[1], PR_WH_ORPHAN, "lower1", "/b");
	wire(p[1], PR_WH_ORPHAN, "index", "/00fb");
	close(p[1]);
	ovl_pscan_poll(&ps);
	static const char *const want[][3] = {
		{ "upper", "/a", "WH_ORPHAN" }, { "upper", "/d", "OR_ALIASED" },
		{ "upper", "/d/x", "WH_ORPHAN" }, { "upper", "/d/x", "OR_ALIASED" },
		{ "upper", "/z", "WH_ORPHAN" }, { "lower1", "/b", "WH_ORPHAN" },
		{ "index", "/00fb", "WH_ORPHAN" },
	};
	ck_assert(ps.done);
	ck_assert_uint_eq(ps.n, OVL_ARRAY_SIZE(want));
	for (size_t i = 0; i < ps.n; i++) {
		ck_assert_str_eq(ps.item[i].layer, want[i][0]);
		ck_assert_str_eq(ps.item[i].path, want[i][1]);
		ck_assert_int_eq(ps.item[i].code,
				 !strcmp(want[i][2], "WH_ORPHAN") ? PR_WH_ORPHAN : PR_OR_ALIASED);
	}
	ovl_pitems_free(ps.item, ps.n);
	free(ps.buf);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("scope");
	TCase *tc = tcase_create("scope");

	tcase_add_test(tc, test_places);
	tcase_add_test(tc, test_plan);
	tcase_add_test(tc, test_expand);
	tcase_add_test(tc, test_transport);
	tcase_add_test(tc, test_stream_order);
	tcase_add_test(tc, test_replace);
	suite_add_tcase(s, tc);
	return s;
}
