/* The problem table and the reporter: the rows are well formed, the output
 * line has one shape, and the exit code follows fsck(8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/problem.h"
#include "unit.h"

START_TEST(table_rows_well_formed)
{
	for (int i = 0; i < PR_COUNT; i++) {
		const struct ovl_problem_def *d = ovl_problem_def(i);
		ck_assert_ptr_nonnull(d);
		ck_assert_ptr_nonnull(d->name);
		ck_assert_msg(strlen(d->message) > 0, "%s: empty message", d->name);
		/* A row either has a fix prompt or says it has none. */
		if (d->flags & PF_NOFIX)
			ck_assert_msg(d->fix[0] == '\0', "%s: NOFIX with a fix", d->name);
		else
			ck_assert_msg(d->fix[0] != '\0', "%s: no fix prompt", d->name);
		ck_assert_msg(!((d->flags & PF_PREEN) && (d->flags & PF_NOFIX)),
			      "%s: preen without a fix", d->name);
		/* Code prefixes group by class. */
		ck_assert_msg(strchr(d->name, '_') != NULL, "%s", d->name);
		ck_assert_str_ne(ovl_problem_class_name(d->cls), "?");
	}
	ck_assert_ptr_null(ovl_problem_def(PR_COUNT));
	ck_assert_ptr_null(ovl_problem_def(-1));
}
END_TEST

START_TEST(table_names_unique)
{
	for (int i = 0; i < PR_COUNT; i++)
		for (int j = i + 1; j < PR_COUNT; j++)
			ck_assert_str_ne(ovl_problem_def(i)->name, ovl_problem_def(j)->name);
}
END_TEST

static char *report_one(enum ovl_problem_code code, const struct ovl_pctx *p,
			struct ovl_report *r)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	ck_assert_ptr_nonnull(f);
	ovl_report_init(r, OVL_MODE_NO, f);
	ck_assert(!ovl_problem(r, code, p));	/* -n never fixes */
	fclose(f);
	return buf;
}

START_TEST(line_shape)
{
	struct ovl_report r;
	struct ovl_pctx p = { .layer = "upper", .path = "/a/b", .pathlen = (size_t)-1, .detail = NULL };
	char *out = report_one(PR_WH_ORPHAN, &p, &r);

	ck_assert_str_eq(out, "WH_ORPHAN upper:/a/b: orphan whiteout: hides nothing "
			      "in the layers below\n");
	ck_assert_int_eq(r.errors, 1);
	ck_assert_int_eq(r.count[PR_WH_ORPHAN], 1);
	ck_assert_int_eq(ovl_report_exit(&r), 4);

	p.detail = "\"/x\"";
	out = report_one(PR_RD_ESCAPE, &p, &r);
	ck_assert_str_eq(out, "RD_ESCAPE upper:/a/b: redirect with a '.' or '..' "
			      "component: would climb out of the layer: \"/x\"\n");
}
END_TEST

START_TEST(path_escaped)
{
	struct ovl_report r;
	struct ovl_pctx p = { .layer = "lower1", .path = "/new\nline\x01", .pathlen = (size_t)-1, .detail = NULL };
	char *out = report_one(PR_LY_NAME_CONTROL, &p, &r);

	ck_assert_ptr_null(strchr(out, '\x01'));
	ck_assert_ptr_nonnull(strstr(out, "lower1:/new\\nline\\x01: "));
	/* One line only, whatever the name holds. */
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
}
END_TEST

START_TEST(notes_do_not_change_exit)
{
	struct ovl_report r;
	struct ovl_pctx p = { .layer = "stack", .path = "/", .pathlen = (size_t)-1, .detail = NULL };

	report_one(PR_STK_NO_WORKDIR, &p, &r);
	ck_assert_int_eq(r.errors, 0);
	ck_assert_int_eq(r.notes, 1);
	ck_assert_int_eq(ovl_report_exit(&r), 0);
}
END_TEST

START_TEST(operational_exit)
{
	struct ovl_report r;
	struct ovl_pctx p = { .layer = "upper", .path = "/d", .pathlen = (size_t)-1, .detail = "Permission denied" };

	report_one(PR_LY_UNREADABLE, &p, &r);
	ck_assert_int_eq(ovl_report_exit(&r), 4 | 8);
}
END_TEST

START_TEST(summary_by_class)
{
	static char buf[1024];
	struct ovl_report r;
	struct ovl_pctx p = { .layer = "upper", .path = "/a", .pathlen = (size_t)-1, .detail = NULL };
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	ovl_report_init(&r, OVL_MODE_NO, f);
	ovl_report_summary(&r);
	ovl_problem(&r, PR_WH_ORPHAN, &p);
	ovl_problem(&r, PR_RD_INVALID, &p);
	ovl_problem(&r, PR_RD_DUPLICATE, &p);
	ovl_report_summary(&r);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "no problems found\n"));
	ck_assert_ptr_nonnull(strstr(buf, "3 problems (whiteout 1, redirect 2)\n"));
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("problem");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, table_rows_well_formed);
	tcase_add_test(tc, table_names_unique);
	tcase_add_test(tc, line_shape);
	tcase_add_test(tc, path_escaped);
	tcase_add_test(tc, notes_do_not_change_exit);
	tcase_add_test(tc, operational_exit);
	tcase_add_test(tc, summary_by_class);
	suite_add_tcase(s, tc);
	return s;
}
