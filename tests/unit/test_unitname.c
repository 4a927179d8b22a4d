/*
 * Unit names of paths: a table of tricky paths with the names
 * `systemd-escape --path` (systemd 252) gives them, checked against the
 * systemd-escape of this machine too when there is one; unit names, the
 * quoting of unit file values, mount points through symlinks.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "overlay/unitname.h"
#include "unit.h"

static const struct {
	const char *path;
	const char *esc;	/* NULL: systemd refuses it */
} cases[] = {
	{ "/", "-" },
	{ "//", "-" },
	{ "/.", "-" },
	{ "/a", "a" },
	{ "/a/", "a" },
	{ "//a//b//", "a-b" },
	{ "/a/./b/.", "a-b" },
	{ "/srv/ovl a", "srv-ovl\\x20a" },
	{ "/-a-", "\\x2da\\x2d" },
	{ "/a-b/c--d", "a\\x2db-c\\x2d\\x2dd" },
	{ "/.a", "\\x2ea" },
	{ "/a/.b", "a-.b" },
	{ "/./.a", "\\x2ea" },
	{ "/a..b", "a..b" },
	{ "/a.", "a." },
	{ "/...", "\\x2e.." },
	{ "/\xc3\xa4\xff", "\\xc3\\xa4\\xff" },
	{ "/a\\b", "a\\x5cb" },
	{ "/a:b_c.d", "a:b_c.d" },
	{ "/a%b$c~d@e", "a\\x25b\\x24c\\x7ed\\x40e" },
	{ "/a\tb\nc", "a\\x09b\\x0ac" },
	{ "/A/Z/0/9", "A-Z-0-9" },
	{ "/a/b c/\"q'", "a-b\\x20c-\\x22q\\x27" },
	{ "/a/../b", NULL },
	{ "/..", NULL },
	{ "/a/..", NULL },
	{ "a/b", NULL },
	{ "", NULL },
	{ "./a", NULL },
};

START_TEST(test_escape_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *e = ovl_unit_path_escape(cases[i].path);
		if (cases[i].esc) {
			ck_assert_msg(e && !strcmp(e, cases[i].esc), "%s: got %s, want %s",
				      cases[i].path, e ? e : "(null)", cases[i].esc);
		} else {
			ck_assert_msg(!e, "%s: got %s, want a refusal", cases[i].path, e);
		}
		free(e);
	}
}
END_TEST

/* systemd-escape --path PATH: its output line, NULL when it refuses. */
static char *systemd_escape(const char *path)
{
	int pfd[2];
	static char buf[8192];

	ck_assert_int_eq(pipe(pfd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		execlp("systemd-escape", "systemd-escape", "--path", "--", path, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	size_t len = 0;
	ssize_t r;
	while ((r = read(pfd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	close(pfd[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 127, "cannot run systemd-escape");
	if (WEXITSTATUS(st))
		return NULL;
	buf[len] = '\0';
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return buf;
}

/* Only absolute paths: systemd-escape escapes relative ones with a warning. */
START_TEST(test_escape_like_systemd)
{
	char longc[300];
	memset(longc, 'x', sizeof(longc) - 1);
	longc[0] = '/';
	longc[sizeof(longc) - 1] = '\0';
	const char *extra[] = { longc, "/a/b/c/", "/a b/-c/.d", "/\x01\x7f\x80" };
	int n = 0;

	if (system("command -v systemd-escape >/dev/null 2>&1")) {
		fprintf(stderr, "# no systemd-escape: compared with the table only\n");
		return;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) + 4; i++) {
		const char *p = i < sizeof(cases) / sizeof(cases[0]) ?
			cases[i].path : extra[i - sizeof(cases) / sizeof(cases[0])];
		if (p[0] != '/')
			continue;
		char *mine = ovl_unit_path_escape(p);
		char *theirs = systemd_escape(p);
		ck_assert_msg((!mine && !theirs) || (mine && theirs && !strcmp(mine, theirs)),
			      "%s: ours %s, systemd-escape %s", p, mine ? mine : "(refused)",
			      theirs ? theirs : "(refused)");
		free(mine);
		n++;
	}
	ck_assert_int_ge(n, 25);
}
END_TEST

START_TEST(test_unit_names)
{
	char *n = ovl_unit_name_from_path(NULL, "/srv/b-c/", "mount");
	ck_assert_str_eq(n, "srv-b\\x2dc.mount");
	free(n);
	n = ovl_unit_name_from_path("overlay-fsck", "/srv/a b", "service");
	ck_assert_str_eq(n, "overlay-fsck@srv-a\\x20b.service");
	free(n);
	n = ovl_unit_name_from_path(NULL, "/", "mount");
	ck_assert_str_eq(n, "-.mount");
	free(n);
	ck_assert_ptr_null(ovl_unit_name_from_path(NULL, "/a/../b", "mount"));

	/* systemd refuses names of 256 bytes or more */
	char p[300];
	memset(p, 'x', sizeof(p));
	p[0] = '/';
	p[250] = '\0';			/* 249 x + ".mount" = 255 */
	n = ovl_unit_name_from_path(NULL, p, "mount");
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(strlen(n), 255);
	free(n);
	p[250] = 'x';
	p[251] = '\0';
	ck_assert_ptr_null(ovl_unit_name_from_path(NULL, p, "mount"));
	/* a component longer than NAME_MAX is no valid path */
	memset(p, 'x', sizeof(p));
	p[0] = '/';
	p[NAME_MAX + 2] = '\0';
	ck_assert_ptr_null(ovl_unit_path_escape(p));
}
END_TEST

START_TEST(test_quote)
{
	char *q = ovl_unit_quote("/a b/\"c\"\\d%e$f", 0);
	ck_assert_str_eq(q, "\"/a b/\\\"c\\\"\\\\d%%e$f\"");
	free(q);
	q = ovl_unit_quote("/x$y%", 1);
	ck_assert_str_eq(q, "\"/x$$y%%\"");
	free(q);
	ck_assert_ptr_null(ovl_unit_quote("/a\nb", 0));
	ck_assert_ptr_null(ovl_unit_quote("/a\x7f", 1));
	q = ovl_unit_quote("/\xc3\xa4", 0);
	ck_assert_str_eq(q, "\"/\xc3\xa4\"");
	free(q);
}
END_TEST

/* As systemd-fstab-generator: symlinks of the existing part resolved. */
START_TEST(test_canonical)
{
	char dir[] = "/tmp/ovl-unitname-XXXXXX", real[PATH_MAX], buf[PATH_MAX + 64];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_ptr_nonnull(realpath(dir, real));
	snprintf(buf, sizeof(buf), "%s/real", dir);
	ck_assert_int_eq(mkdir(buf, 0755), 0);
	snprintf(buf, sizeof(buf), "%s/link", dir);
	ck_assert_int_eq(symlink("real", buf), 0);

	snprintf(buf, sizeof(buf), "%s//link/not/there/", dir);
	char *c = ovl_unit_path_canonical(buf);
	snprintf(buf, sizeof(buf), "%s/real/not/there", real);
	ck_assert_str_eq(c, buf);
	free(c);
	snprintf(buf, sizeof(buf), "%s/link", dir);
	c = ovl_unit_path_canonical(buf);
	snprintf(buf, sizeof(buf), "%s/real", real);
	ck_assert_str_eq(c, buf);
	free(c);
	c = ovl_unit_path_canonical("/nonexistent-ovl//x/./y/");
	ck_assert_str_eq(c, "/nonexistent-ovl/x/y");
	free(c);
	c = ovl_unit_path_canonical("/");
	ck_assert_str_eq(c, "/");
	free(c);
	ck_assert_ptr_null(ovl_unit_path_canonical("/a/../b"));

	snprintf(buf, sizeof(buf), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(buf), 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("unitname");
	TCase *tc = tcase_create("unitname");

	tcase_add_test(tc, test_escape_table);
	tcase_add_test(tc, test_escape_like_systemd);
	tcase_add_test(tc, test_unit_names);
	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_canonical);
	suite_add_tcase(s, tc);
	return s;
}
