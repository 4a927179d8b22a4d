/* Unit tests: the undo journal's reader (journal.c). */
#include <stdio.h>
#include <string.h>

#include "../../src/lib/repair/journal.h"
#include "unit.h"

#define HEAD "overlay-fsck-journal 1\n"

static int parse(const char *text, struct journal_file *jf, char *err, size_t errlen)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	int rc = ovl_journal_parse(in, jf, err, errlen);

	fclose(in);
	return rc;
}

START_TEST(test_records)
{
	struct journal_file jf;
	char err[256];

	/* a whiteout made (done), an opaque set on /d (not done), W's root */
	ck_assert_int_eq(parse(HEAD "L 0 2049 12\nL -1 2049 13\n"
			       "R 1 mkwhiteout 0 x2f7768 - - -\nD 1\n"
			       "R 2 setxattr 0 x2f64 trusted.overlay.opaque - x79\n",
			       &jf, err, sizeof(err)), 0);
	ck_assert_uint_eq(jf.nroots, 2);
	ck_assert_int_eq(jf.roots[1].layer, -1);
	ck_assert_uint_eq(jf.roots[1].ino, 13);
	ck_assert_uint_eq(jf.n, 2);
	ck_assert_str_eq(jf.recs[0].path, "/wh");
	ck_assert(jf.recs[0].done);
	ck_assert(!jf.recs[0].has_old && !jf.recs[0].xname);
	ck_assert_int_eq(jf.recs[1].op, OVL_FIX_SET_XATTR);
	ck_assert_str_eq(jf.recs[1].xname, "trusted.overlay.opaque");
	ck_assert(!jf.recs[1].done && jf.recs[1].has_new && !jf.recs[1].has_old);
	ck_assert_str_eq((const char *)jf.recs[1].new, "y");
	/* "x" alone: present and empty */
	ovl_journal_file_free(&jf);
	ck_assert_int_eq(parse(HEAD "R 1 setxattr 0 x2f - x -\n", &jf, err, sizeof(err)), 0);
	ck_assert(jf.recs[0].has_old);
	ck_assert_uint_eq(jf.recs[0].oldlen, 0);
	ck_assert_str_eq(jf.recs[0].path, "/");
	ovl_journal_file_free(&jf);
	/* a merge's move: its source a place "LAYER:/path", checked alike */
	ck_assert_int_eq(parse(HEAD "R 1 mgmove -1 x2f6f7665726c61792d6c61796572732d6d657267652f6131 - x313a2f6574632f706173737764 x31\n", &jf, err, sizeof(err)), 0);
	ck_assert_int_eq(jf.recs[0].op, OVL_FIX_MG_MOVE);
	int layer;
	const char *path;
	ck_assert_int_eq(ovl_journal_place_parse(jf.recs[0].old, jf.recs[0].oldlen, &layer,
						 &path), 0);
	ck_assert_int_eq(layer, 1);
	ck_assert_str_eq(path, "/etc/passwd");
	ovl_journal_file_free(&jf);
}
END_TEST

START_TEST(test_cut_last_line)
{
	struct journal_file jf;
	char err[256];

	/* killed while the second record was written: its change never began */
	ck_assert_int_eq(parse(HEAD "R 1 mkwhiteout 0 x2f61 - - -\nD 1\nR 2 rmwhite",
			       &jf, err, sizeof(err)), 0);
	ck_assert_uint_eq(jf.n, 1);
	ovl_journal_file_free(&jf);
}
END_TEST

START_TEST(test_refused)
{
	static const char *const bad[] = {
		"overlay-fsck-journal 2\n",
		HEAD "R 1 mkwhiteout 0 x2f2e2e2f6574632f706173737764 - - -\n",	/* /../etc/passwd */
		HEAD "R 1 mkwhiteout 0 x2f612f2e - - -\n",		/* /a/. */
		HEAD "R 1 mkwhiteout 0 x2f2f61 - - -\n",		/* //a */
		HEAD "R 1 mkwhiteout 0 x2f6100 - - -\n",		/* a NUL in the path */
		HEAD "R 1 mkwhiteout 0 - - - -\n",			/* no path */
		HEAD "R 1 rename -1 x2f696e6465782f61 - - x2f2e2e\n",	/* into W's parent */
		HEAD "R 1 quarantine 0 x2f61 - - -\n",			/* no target */
		HEAD "R 1 mgmove 1 x2f61 - x313a2f2e2e2f657463 x31\n",	/* 1:/../etc: its source leaves */
		HEAD "R 1 mglink 1 x2f61 - x2f61 x31\n",	/* /a: no layer */
		HEAD "R 1 mgmove 1 x2f61 - - x31\n",			/* no source */
		HEAD "R 1 chmod 0 x2f61 - - -\n",			/* no such change */
		HEAD "R 1 mkwhiteout 70000 x2f61 - - -\n",		/* no such layer */
		HEAD "R 1 mkwhiteout -2 x2f61 - - -\n",
		HEAD "R 01 mkwhiteout 0 x2f61 - - -\n",
		HEAD "R 1 mkwhiteout 0 x2f61 - - - extra\n",
		HEAD "R 1 setxattr 0 x2f61 trusted.a\001b - x79\n",	/* a control byte */
		HEAD "R 1 setxattr 0 x2f61 - - x7\n",			/* odd hex */
		HEAD "L 0 2049\n",
		HEAD "D x\n",
		HEAD "\n",
		HEAD "# comment\n",
	};
	struct journal_file jf;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(parse(bad[i], &jf, err, sizeof(err)) == -1, "accepted: %s", bad[i]);
		ck_assert_msg(err[0] && !strchr(err, '\n'), "no reason for: %s", bad[i]);
	}
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("reader");

	tcase_add_test(tc, test_records);
	tcase_add_test(tc, test_cut_last_line);
	tcase_add_test(tc, test_refused);
	suite_add_tcase(s, tc);
	return s;
}
