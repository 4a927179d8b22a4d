/*
 * The browser's model: a merged dir listed as the kernel shows it, with
 * each entry's layer and overlay marks, on small hand-made stacks.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "overlay/edit.h"
#include "overlay/fh.h"
#include "overlay/mview.h"
#include "overlay/opts.h"
#include "overlay/pscan.h"
#include "overlay/stack.h"
#include "unit.h"

#define SUITE_TAG "mview"
#include "tmptree.h"

static struct ovl_stack st;
static bool st_open;

static void mkd(const char *rel)
{
	ck_assert_msg(mkdir(P("%s", rel), 0755) == 0 || errno == EEXIST, "mkdir %s", rel);
}

static void mkf(const char *rel, const char *data)
{
	int fd = open(P("%s", rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static void xset(const char *rel, const char *name, const char *val)
{
	ck_assert_int_eq(lsetxattr(P("%s", rel), name, val, strlen(val), 0), 0);
}

static void cleanup(void)
{
	char cmd[512];

	if (st_open)
		ovl_stack_close(&st);
	st_open = false;
	if (!base[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", base);
	base[0] = '\0';
}

/* Open the fixture's stack (l1:l2, u, w) with these feature options. */
static void open_stack(const char *features)
{
	struct ovl_opts o;
	char err[512], opt[2048];

	snprintf(opt, sizeof(opt), "lowerdir=%s:%s,upperdir=%s,workdir=%s,%s",
		 P("l1"), P("l2"), P("u"), P("w"), features);
	ovl_opts_init(&o);
	ck_assert_msg(ovl_opts_parse(&o, opt, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(ovl_stack_open(&st, &o, err, sizeof(err)) == OVL_STACK_OK, "%s", err);
	st_open = true;
	ovl_stack_detect(&st);
}

static void setup(void)
{
	static int registered;

	if (getuid() != 0)
		return;	/* the tests skip themselves */
	snprintf(base, sizeof(base), "%s/t-XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(base));
	if (!registered++)
		atexit(cleanup);
	mkd("u"); mkd("l1"); mkd("l2"); mkd("w");
	/* lower2: d/{a,b,c}; lower1 deletes d/b and adds d/e; upper keeps a
	 * metacopy of d/a, replaces d/c, makes d/opq opaque over l2's */
	mkd("l2/d"); mkf("l2/d/a", "lower a"); mkf("l2/d/b", "lower b"); mkf("l2/d/c", "lower c");
	mkd("l2/d/opq"); mkf("l2/d/opq/hidden", "x");
	mkd("l1/d");
	ck_assert_int_eq(mknod(P("l1/d/b"), S_IFCHR | 0, makedev(0, 0)), 0);
	mkf("l1/d/e", "e");
	mkd("u/d");
	mkf("u/d/a", "");
	ck_assert_int_eq(truncate(P("u/d/a"), 7), 0);
	xset("u/d/a", "trusted.overlay.metacopy", "");
	mkf("u/d/c", "upper c");
	mkd("u/d/opq");
	xset("u/d/opq", "trusted.overlay.opaque", "y");
	mkf("u/d/opq/mine", "m");
	open_stack("metacopy=on");
}

static void teardown(void)
{
	cleanup();
}

static const struct ovl_mentry *find(const struct ovl_mdir *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->e[i].name, name))
			return &d->e[i];
	return NULL;
}

START_TEST(test_merged_dir)
{
	struct ovl_mdir d;

	if (getuid() != 0)
		return;
	ck_assert_int_eq(ovl_mview_list(&st, "/d", false, &d), 0);
	/* a (upper metacopy, data in lower2), c (upper), e (lower1), opq */
	ck_assert_uint_eq(d.n, 4);
	const struct ovl_mentry *a = find(&d, "a"), *c = find(&d, "c"), *e = find(&d, "e");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->layer, 0);
	ck_assert(a->flags & OVL_ME_METACOPY);
	ck_assert_int_eq(a->data_layer, 2);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->layer, 0);
	ck_assert(!(c->flags & OVL_ME_METACOPY));
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->layer, 1);
	ck_assert_ptr_null(find(&d, "b"));	/* deleted by lower1's whiteout */
	const struct ovl_mentry *o = find(&d, "opq");
	ck_assert(o && (o->flags & OVL_ME_OPAQUE) && !(o->flags & OVL_ME_MERGED));
	/* sorted by name */
	for (size_t i = 1; i < d.n; i++)
		ck_assert_int_lt(strcmp(d.e[i - 1].name, d.e[i].name), 0);
	ovl_mdir_free(&d);

	ck_assert_int_eq(ovl_mview_list(&st, "/d", true, &d), 0);
	const struct ovl_mentry *b = find(&d, "b");
	ck_assert(b && b->hidden && (b->flags & OVL_ME_WHITEOUT) && b->layer == 1);
	ovl_mdir_free(&d);
}
END_TEST

START_TEST(test_opaque_and_root)
{
	struct ovl_mdir d;

	if (getuid() != 0)
		return;
	/* an opaque dir shows only its own entries */
	ck_assert_int_eq(ovl_mview_list(&st, "/d/opq", false, &d), 0);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.e[0].name, "mine");
	ovl_mdir_free(&d);
	/* ... and, with hidden, the lower names it hides, marked so */
	ck_assert_int_eq(ovl_mview_list(&st, "/d/opq", true, &d), 0);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_str_eq(d.e[0].name, "hidden");
	ck_assert(d.e[0].hidden && (d.e[0].flags & OVL_ME_UNDER_OPAQUE) && d.e[0].layer == 2);
	ck_assert(!d.e[1].hidden);
	ovl_mdir_free(&d);
	/* a dir that is not opaque has nothing under-opaque */
	ck_assert_int_eq(ovl_mview_list(&st, "/d", true, &d), 0);
	for (size_t i = 0; i < d.n; i++)
		ck_assert(!(d.e[i].flags & OVL_ME_UNDER_OPAQUE));
	ovl_mdir_free(&d);
	ck_assert_int_eq(ovl_mview_list(&st, "/", false, &d), 0);
	ck_assert_uint_eq(d.n, 1);
	ck_assert(d.e[0].flags & OVL_ME_MERGED);
	ovl_mdir_free(&d);
	/* "d/" and "//d" are the same dir; a file or nothing is an error */
	ck_assert_int_eq(ovl_mview_list(&st, "//d/", false, &d), 0);
	ck_assert_uint_eq(d.n, 4);
	ovl_mdir_free(&d);
	ck_assert_int_eq(ovl_mview_list(&st, "/d/c", false, &d), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	ck_assert_int_eq(ovl_mview_list(&st, "/d/b", false, &d), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(ovl_mview_list(&st, "/nope", false, &d), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* never out of the layer roots, nor "." games */
	ck_assert_int_eq(ovl_mview_list(&st, "/..", false, &d), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ovl_mview_list(&st, "/d/../..", true, &d), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ovl_mview_open_data(&st, "/..", "u"), -1);
	ck_assert_int_eq(ovl_mview_open_data(&st, "/", ".."), -1);
	ck_assert_int_eq(errno, EINVAL);
	struct ovl_mwhere w;
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "../d", &w), -1);
	struct ovl_mcost c;
	ck_assert_int_eq(ovl_mview_cost(&st, "/d/./..", &c), -1);
}
END_TEST

static void expect_data(const char *dir, const char *name, const char *want)
{
	char buf[64] = "";
	int fd = ovl_mview_open_data(&st, dir, name);
	ck_assert_msg(fd >= 0, "open_data %s/%s: %s", dir, name, strerror(errno));
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
	close(fd);
}

START_TEST(test_open_data)
{
	if (getuid() != 0)
		return;
	/* a metacopy upper file reads from its lower data, not its empty body */
	expect_data("/d", "a", "lower a");
	expect_data("/d", "c", "upper c");
	expect_data("/d", "e", "e");
	/* deleted, a dir, nothing: errors the browser can say */
	ck_assert_int_eq(ovl_mview_open_data(&st, "/d", "b"), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ovl_mview_open_data(&st, "/d", "opq"), -1);
	ck_assert_int_eq(errno, EISDIR);
	ck_assert_int_eq(ovl_mview_open_data(&st, "/d", "nope"), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* metacopy whose lower data went away: EIO, as the kernel */
	ck_assert_int_eq(unlink(P("l2/d/a")), 0);
	ck_assert_int_eq(ovl_mview_open_data(&st, "/d", "a"), -1);
	ck_assert_int_eq(errno, EIO);
}
END_TEST

START_TEST(test_background_check)
{
	struct ovl_pscan ps;

	if (getuid() != 0)
		return;
	/* the metacopy d/a loses its data: the check must say so, at /d/a */
	ck_assert_int_eq(unlink(P("l2/d/a")), 0);
	ck_assert_int_eq(ovl_pscan_start(&ps, &st), 0);
	for (int i = 0; i < 500 && !ps.done; i++) {
		ovl_pscan_poll(&ps);
		if (!ps.done)
			usleep(10000);
	}
	ck_assert(ps.done);
	ck_assert_int_eq(ps.status, 0);
	ck_assert_uint_ge(ovl_pscan_count(&ps, "/d/a"), 1);
	ck_assert_uint_eq(ovl_pscan_count(&ps, "/d/c"), 0);
	bool found = false;
	for (size_t i = 0; i < ps.n; i++)
		if (!strcmp(ps.item[i].path, "/d/a") && !strcmp(ps.item[i].layer, "upper") &&
		    ovl_problem_def(ps.item[i].code)->cls == OVL_PC_metacopy)
			found = true;
	ck_assert(found);
	ovl_pscan_free(&ps);
	/* the check wrote nothing: the upper file is still a metacopy */
	ck_assert_int_ge(lgetxattr(P("u/d/a"), "trusted.overlay.metacopy", NULL, 0), 0);
}
END_TEST

static void set_origin_of(const char *upper, const char *lowerdir, const char *lowername)
{
	struct ovl_fh fh;
	unsigned char buf[OVL_FH_MAX_LEN];
	int dfd = open(P("%s", lowerdir), O_RDONLY | O_DIRECTORY);

	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(ovl_fh_of_at(dfd, lowername, st.layers[2].uuid, &fh), 0);
	close(dfd);
	size_t len = ovl_fh_encode(&fh, buf, sizeof(buf));
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(lsetxattr(P("%s", upper), "trusted.overlay.origin", buf, len, 0), 0);
}

START_TEST(test_where)
{
	struct ovl_mwhere w;

	if (getuid() != 0)
		return;
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "b", &w), 0);
	ck_assert_int_eq(w.nlayers, 3);
	ck_assert_int_eq(w.kind[0], '-');
	ck_assert_int_eq(w.kind[1], 'w');
	ck_assert_int_eq(w.kind[2], 'f');
	ck_assert_int_eq(w.origin, OVL_WO_NONE);
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "opq", &w), 0);
	ck_assert_int_eq(w.kind[0], 'd');
	ck_assert_int_eq(w.kind[2], 'd');
	/* inside the opaque dir nothing below the upper layer is merged */
	ck_assert_int_eq(ovl_mview_where(&st, "/d/opq", "hidden", &w), 0);
	ck_assert_int_eq(w.kind[2], '-');
	/* the upper xattrs, decoded: metacopy (empty here), nlink */
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "a", &w), 0);
	ck_assert(w.has_metacopy && w.metacopy_err == 0 && w.metacopy.empty);
	ck_assert_str_eq(w.nlink, "");
	xset("u/d/a", "trusted.overlay.nlink", "U+1");
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "a", &w), 0);
	ck_assert_str_eq(w.nlink, "U+1");
	ck_assert(w.nlink_ok);
	xset("u/d/a", "trusted.overlay.nlink", "1");
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "a", &w), 0);
	ck_assert(!w.nlink_ok);
	ck_assert_int_eq(w.redirect_layer, 0);
	xset("u/d/a", "trusted.overlay.redirect", "/d/e");
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "a", &w), 0);
	ck_assert_int_eq(w.redirect_layer, 1);
	xset("u/d/a", "trusted.overlay.redirect", "/nothing");
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "a", &w), 0);
	ck_assert_int_eq(w.redirect_layer, -1);
	xset("u/d/a", "trusted.overlay.metacopy", "xy");
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "a", &w), 0);
	ck_assert(w.has_metacopy && w.metacopy_err == OVL_MC_TOO_SHORT);

	int dfd = open(P("l2/d"), O_RDONLY | O_DIRECTORY);
	struct ovl_fh probe;
	bool handles = ovl_fh_of_at(dfd, "c", st.layers[2].uuid, &probe) == 0;
	close(dfd);
	if (!handles)
		return;	/* this filesystem cannot export handles */
	set_origin_of("u/d/c", "l2/d", "c");
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "c", &w), 0);
	ck_assert_int_eq(w.origin, OVL_WO_SAME);
	struct ovl_mdir d0;
	ck_assert_int_eq(ovl_mview_list(&st, "/d", false, &d0), 0);
	ck_assert_int_eq(find(&d0, "c")->origin, OVL_WO_SAME);
	ovl_mdir_free(&d0);
	ck_assert_int_eq(w.origin_layer, 2);
	ck_assert_uint_eq(strlen(w.uuid), 36);
	/* an origin naming another inode: renamed or stale */
	set_origin_of("u/d/c", "l2/d", "a");
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "c", &w), 0);
	ck_assert_int_eq(w.origin, OVL_WO_OTHER);
	/* decoded: the inode is lower2's d/a */
	ck_assert_str_eq(w.origin_path, "/d/a");
	ck_assert_int_eq(w.origin_layer, 2);
	ck_assert(w.origin_alive);
	/* of two names, the first in the walk's order, whatever the
	 * kernel's cache would name */
	ck_assert_int_eq(link(P("l2/d/a"), P("l2/b_first")), 0);
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "c", &w), 0);
	ck_assert_str_eq(w.origin_path, "/b_first");
	ck_assert_int_eq(unlink(P("l2/b_first")), 0);
	/* gone: the inode of lower2's d/gone no longer exists */
	mkf("l2/d/gone", "g");
	set_origin_of("u/d/c", "l2/d", "gone");
	ck_assert_int_eq(unlink(P("l2/d/gone")), 0);
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "c", &w), 0);
	ck_assert_int_eq(w.origin, OVL_WO_OTHER);
	ck_assert_str_eq(w.origin_path, "");
	ck_assert(!w.origin_alive);
	/* alive, but on the filesystem outside every lower layer */
	mkf("outside", "o");
	set_origin_of("u/d/c", ".", "outside");
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "c", &w), 0);
	ck_assert_str_eq(w.origin_path, "");
	ck_assert(w.origin_alive);
	set_origin_of("u/d/c", "l2/d", "a");
	/* the listing says the same of each upper entry */
	struct ovl_mdir d;
	ck_assert_int_eq(ovl_mview_list(&st, "/d", false, &d), 0);
	const struct ovl_mentry *c = find(&d, "c");
	ck_assert(c && (c->flags & OVL_ME_ORIGIN) && c->origin == OVL_WO_OTHER);
	ovl_mdir_free(&d);
	xset("u/d/c", "trusted.overlay.origin", "junk");
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "c", &w), 0);
	ck_assert_int_eq(w.origin, OVL_WO_BAD);
}
END_TEST

START_TEST(test_edit_one)
{
	struct ovl_edit_result res;
	char buf[16] = "";

	if (getuid() != 0)
		return;
	/* c: the metacopy d/a gets its data, nothing else changes */
	ck_assert_int_eq(mknod(P("u/d/ghost"), S_IFCHR | 0, makedev(0, 0)), 0);
	ck_assert_int_eq(mknod(P("u/d/ghost2"), S_IFCHR | 0, makedev(0, 0)), 0);
	ck_assert_msg(ovl_edit_copy_up(&st, NULL, "/d/a", &res) == 0, "%s", res.msg);
	ck_assert_uint_eq(res.done, 1);
	ck_assert_int_lt(lgetxattr(P("u/d/a"), "trusted.overlay.metacopy", NULL, 0), 0);
	int fd = open(P("u/d/a"), O_RDONLY);
	ck_assert_int_eq(read(fd, buf, sizeof(buf) - 1), 7);
	close(fd);
	ck_assert_str_eq(buf, "lower a");
	ck_assert_int_eq(access(P("u/d/ghost"), F_OK), 0);
	/* nothing left to copy: said, not done */
	ck_assert_int_eq(ovl_edit_copy_up(&st, NULL, "/d/a", &res), -1);
	ck_assert_ptr_nonnull(strstr(res.msg, "no data to copy up"));

	/* f: one orphan whiteout goes, the other stays */
	ck_assert_msg(ovl_edit_fix(&st, NULL, PR_WH_ORPHAN, "upper", "/d/ghost", &res) == 0, "%s",
		      res.msg);
	ck_assert_int_eq(access(P("u/d/ghost"), F_OK), -1);
	ck_assert_int_eq(access(P("u/d/ghost2"), F_OK), 0);
	ck_assert_int_eq(ovl_edit_fix(&st, NULL, PR_WH_ORPHAN, "upper", "/d/ghost", &res), -1);
	ck_assert_ptr_nonnull(strstr(res.msg, "no longer reported"));
}
END_TEST

/* With the links of a finished background check: the edit checks again
 * only what it touched and hands back the problems found there. */
START_TEST(test_edit_scoped)
{
	struct ovl_edit_result res;
	struct ovl_pscan ps;
	size_t before;

	if (getuid() != 0)
		return;
	ck_assert_int_eq(mknod(P("u/d/ghost"), S_IFCHR | 0, makedev(0, 0)), 0);
	ck_assert_int_eq(mknod(P("u/d/ghost2"), S_IFCHR | 0, makedev(0, 0)), 0);
	/* a problem line that says "cannot": not the edit's failure */
	mkd("w/work"); mkd("w/work/x"); mkd("w/work/x/y"); mkd("w/work/x/y/z");
	ovl_stack_close(&st);
	open_stack("metacopy=on");
	ck_assert_int_eq(ovl_pscan_start(&ps, &st), 0);
	for (int i = 0; i < 500 && !ps.done; i++) {
		ovl_pscan_poll(&ps);
		if (!ps.done)
			usleep(10000);
	}
	ck_assert(ps.done && ps.status == 0);
	ck_assert_uint_eq(ovl_pscan_count(&ps, "/d/ghost"), 1);
	before = ps.n;

	ck_assert_msg(ovl_edit_fix(&st, ps.links, PR_WH_ORPHAN, "upper", "/d/ghost", &res) == 0,
		      "%s", res.msg);
	ck_assert_msg(strstr(res.msg, "Remove, done"), "%s", res.msg);
	ck_assert_ptr_nonnull(res.scope);
	ck_assert(ovl_scope_has(res.scope, "upper", "/d/ghost"));
	ck_assert(!ovl_scope_has(res.scope, "upper", "/d/ghost2"));
	for (size_t i = 0; i < res.n; i++)
		ck_assert(ovl_scope_has(res.scope, res.item[i].layer, res.item[i].path));
	ovl_pscan_replace(&ps, res.scope, res.item, res.n);
	res.item = NULL;
	res.n = 0;
	ovl_edit_result_free(&res);
	ck_assert_uint_eq(ps.n, before - 1);
	ck_assert_uint_eq(ovl_pscan_count(&ps, "/d/ghost"), 0);
	ck_assert_uint_eq(ovl_pscan_count(&ps, "/d/ghost2"), 1);

	/* c: the metacopy file copied up, the list as it was */
	ck_assert_msg(ovl_edit_copy_up(&st, ps.links, "/d/a", &res) == 0, "%s", res.msg);
	ck_assert(res.scope && ovl_scope_has(res.scope, "upper", "/d/a"));
	ovl_pscan_replace(&ps, res.scope, res.item, res.n);
	res.item = NULL;
	res.n = 0;
	ovl_edit_result_free(&res);
	ck_assert_uint_eq(ps.n, before - 1);
	ck_assert_int_lt(lgetxattr(P("u/d/a"), "trusted.overlay.metacopy", NULL, 0), 0);
	ovl_pscan_free(&ps);
}
END_TEST

START_TEST(test_cost)
{
	struct ovl_mcost c;

	if (getuid() != 0)
		return;
	/* upper data: d/c (7) and d/opq/mine (1); the metacopy d/a holds none.
	 * shadowed: lower2's d/c (7) under the copy, d/opq/hidden (1) under
	 * the opaque dir; lower1's whiteout of d/b is not the upper's doing */
	ck_assert_int_eq(ovl_mview_cost(&st, "/", &c), 0);
	ck_assert_uint_eq(c.upper_bytes, 8);
	ck_assert_uint_eq(c.upper_files, 2);
	ck_assert_uint_eq(c.shadowed_bytes, 8);
	ck_assert_uint_eq(c.shadowed_files, 2);
	/* an upper whiteout over a lower dir hides its whole tree */
	mkd("l2/gone"); mkf("l2/gone/x", "12345"); mkd("l2/gone/s"); mkf("l2/gone/s/y", "123");
	ck_assert_int_eq(mknod(P("u/gone"), S_IFCHR | 0, makedev(0, 0)), 0);
	ck_assert_int_eq(ovl_mview_cost(&st, "/", &c), 0);
	ck_assert_uint_eq(c.shadowed_bytes, 16);
	ck_assert_uint_eq(c.shadowed_files, 4);
	ck_assert_int_eq(ovl_mview_cost(&st, "/d/opq", &c), 0);
	ck_assert_uint_eq(c.upper_bytes, 1);
	ck_assert_uint_eq(c.shadowed_bytes, 1);
	ck_assert_int_eq(ovl_mview_cost(&st, "/nope", &c), -1);
}
END_TEST

/* The stack again, with index=on (the fixture opened it without W/index). */
static void reopen_indexed(void)
{
	ovl_stack_close(&st);
	st_open = false;
	open_stack("metacopy=on,index=on");
}

/* W/index/<hex of the handle of l1/d/NAME, with this uuid> */
static const char *index_path(const char *name, const uint8_t uuid[16])
{
	static char path[OVL_FH_HEX_MAX + 16];
	char hex[OVL_FH_HEX_MAX];
	struct ovl_fh fh;
	int dfd = open(P("l1/d"), O_RDONLY | O_DIRECTORY);

	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(ovl_fh_of_at(dfd, name, uuid, &fh), 0);
	close(dfd);
	ovl_fh_to_hex(&fh, hex);
	snprintf(path, sizeof(path), "w/index/%s", hex);
	return path;
}

/*
 * Lower hard links h1, h2 in lower1; h1 copied up whole through the index
 * (as the kernel does with index=on: W/index/<handle hex>, linked at u/d/h1)
 * and m1, m2 copied up as metacopy with mode 0600 under a null uuid. The
 * lower-only h2 and m2 are then the index entries, as the kernel shows them.
 */
START_TEST(test_indexed_hardlink)
{
	static const uint8_t null_uuid[16];
	struct ovl_mdir d;
	struct ovl_mwhere w;
	struct ovl_mcost c;

	if (getuid() != 0)
		return;
	mkf("l1/d/h1", "lower h");
	ck_assert_int_eq(link(P("l1/d/h1"), P("l1/d/h2")), 0);
	mkf("l1/d/m1", "lower m");
	ck_assert_int_eq(link(P("l1/d/m1"), P("l1/d/m2")), 0);
	mkf("l1/d/single", "s");
	mkd("w/index");
	mkf("u/d/h1", "upper h!");
	xset("u/d/h1", "trusted.overlay.nlink", "U+0");
	ck_assert_int_eq(link(P("u/d/h1"), P("%s", index_path("h1", st.layers[1].uuid))), 0);
	mkf("u/d/m1", "");
	ck_assert_int_eq(truncate(P("u/d/m1"), 7), 0);
	ck_assert_int_eq(chmod(P("u/d/m1"), 0600), 0);
	xset("u/d/m1", "trusted.overlay.metacopy", "");
	ck_assert_int_eq(link(P("u/d/m1"), P("%s", index_path("m1", null_uuid))), 0);
	reopen_indexed();

	ck_assert_int_eq(ovl_mview_list(&st, "/d", false, &d), 0);
	const struct ovl_mentry *h2 = find(&d, "h2"), *m2 = find(&d, "m2");
	const struct ovl_mentry *single = find(&d, "single");
	ck_assert_ptr_nonnull(h2);
	ck_assert_int_eq(h2->layer, 0);
	ck_assert(h2->flags & OVL_ME_INDEXED);
	ck_assert(!(h2->flags & OVL_ME_METACOPY));
	ck_assert_int_eq(h2->st.st_size, 8);
	ck_assert_uint_eq(h2->st.st_nlink, 2);	/* U+0: the upper inode's count */
	ck_assert_ptr_nonnull(m2);
	ck_assert_int_eq(m2->layer, 0);
	ck_assert(m2->flags & OVL_ME_INDEXED);
	ck_assert(m2->flags & OVL_ME_METACOPY);
	ck_assert_int_eq(m2->data_layer, 1);
	ck_assert_uint_eq(m2->st.st_mode & 07777, 0600);
	ck_assert_ptr_nonnull(single);
	ck_assert_int_eq(single->layer, 1);
	ck_assert(!(single->flags & OVL_ME_INDEXED));
	ovl_mdir_free(&d);

	/* the data: the index entry's for a whole copy, the lower's for metacopy */
	expect_data("/d", "h2", "upper h!");
	expect_data("/d", "m2", "lower m");
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "h2", &w), 0);
	ck_assert_str_eq(w.index_name, index_path("h1", st.layers[1].uuid) + strlen("w/index/"));
	ck_assert_str_eq(w.nlink, "U+0");
	ck_assert_int_eq(w.kind[0], '-');
	ck_assert_int_eq(ovl_mview_where(&st, "/d", "single", &w), 0);
	ck_assert_str_eq(w.index_name, "");
	/* h2 counted once, through u/d/h1 */
	ck_assert_int_eq(ovl_mview_cost(&st, "/d", &c), 0);
	ck_assert_uint_eq(c.upper_files, 3);	/* c, h1 and opq/mine */
	ck_assert_uint_eq(c.upper_bytes, 7 + 8 + 1);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("mview");
	TCase *tc = tcase_create("mview");

	tcase_add_unchecked_fixture(tc, top_setup, top_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_merged_dir);
	tcase_add_test(tc, test_opaque_and_root);
	tcase_add_test(tc, test_open_data);
	tcase_add_test(tc, test_background_check);
	tcase_add_test(tc, test_where);
	tcase_add_test(tc, test_edit_one);
	tcase_add_test(tc, test_edit_scoped);
	tcase_add_test(tc, test_cost);
	tcase_add_test(tc, test_indexed_hardlink);
	suite_add_tcase(s, tc);
	return s;
}
