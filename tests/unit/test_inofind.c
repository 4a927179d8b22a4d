/*
 * inofind: inodes placed by number in the lower layers, the first path in
 * the walk's order (names sorted, a dir's entries right after it), from
 * the first layer given that holds them; what is in no layer's tree, or
 * below max_depth, not found.
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/stack.h"
#include "core/inofind.h"
#include "unit.h"

#define SUITE_TAG "inofind"
#include "tmptree.h"

static void mk(const char *rel)
{
	FILE *f = fopen(P("%s", rel), "w");

	ck_assert_ptr_nonnull(f);
	fclose(f);
}

static void mkd(const char *rel)
{
	ck_assert_int_eq(mkdir(P("%s", rel), 0755), 0);
}

static void ln(const char *from, const char *to)
{
	ck_assert_int_eq(link(P("%s", from), P("%s", to)), 0);
}

static struct stat st_of(const char *rel)
{
	struct stat st;

	ck_assert_int_eq(lstat(P("%s", rel), &st), 0);
	return st;
}

/* Two lower layers: base/l1 and base/l2, one filesystem. */
static struct ovl_layer layers[3];
static struct ovl_stack stack;

static void make_stack(void)
{
	snprintf(base, sizeof(base), "%s/t-XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(base));
	mkd("l1");
	mkd("l2");
	mkd("l1/a");
	mkd("l1/a/deep");
	mk("l1/a/deep/x");
	mk("l1/b");
	mk("l1/z");
	ln("l1/z", "l1/a/zz");		/* two names: /a/zz comes first */
	mk("l2/only2");
	mk("outside");
	memset(&stack, 0, sizeof(stack));
	stack.layers = layers;
	stack.nlayers = 3;
	stack.nlower = 2;
	for (int i = 1; i <= 2; i++) {
		struct stat st;
		layers[i].idx = i;
		layers[i].fd = open(P("l%d", i), O_PATH | O_DIRECTORY | O_CLOEXEC);
		ck_assert_int_ge(layers[i].fd, 0);
		ck_assert_int_eq(fstat(layers[i].fd, &st), 0);
		layers[i].dev = st.st_dev;
	}
	layers[0].fd = -1;
}

static size_t want(struct ovl_inofind *f, int from, const char *rel)
{
	struct stat st = st_of(rel);

	return ovl_inofind_want(f, from, st.st_dev, st.st_ino);
}

static void expect(struct ovl_inofind *f, size_t id, int layer, const char *path)
{
	const char *got = NULL;

	ck_assert_int_eq(ovl_inofind_result(f, id, &got), layer);
	if (layer > 0)
		ck_assert_str_eq(got, path);
}

START_TEST(places_by_number)
{
	make_stack();
	struct ovl_inofind *f = ovl_inofind_new();
	size_t x = want(f, 1, "l1/a/deep/x");
	size_t b = want(f, 1, "l1/b");
	size_t b2 = want(f, 1, "l1/b");		/* two waits for one inode */
	size_t z = want(f, 1, "l1/z");
	size_t only2 = want(f, 1, "l2/only2");
	size_t from2 = want(f, 2, "l1/b");	/* l1 not looked in */
	size_t out = want(f, 1, "outside");
	ovl_inofind_run(f, &stack, 64);
	expect(f, x, 1, "/a/deep/x");
	expect(f, b, 1, "/b");
	expect(f, b2, 1, "/b");
	expect(f, z, 1, "/a/zz");
	expect(f, only2, 2, "/only2");
	expect(f, from2, -1, NULL);
	expect(f, out, -1, NULL);
	ovl_inofind_free(f);
}
END_TEST

START_TEST(max_depth)
{
	make_stack();
	struct ovl_inofind *f = ovl_inofind_new();
	size_t x = want(f, 1, "l1/a/deep/x");
	size_t zz = want(f, 1, "l1/z");
	/* /a is entered (depth 1), /a/deep is not */
	ovl_inofind_run(f, &stack, 1);
	expect(f, x, -1, NULL);
	expect(f, zz, 1, "/a/zz");
	ovl_inofind_free(f);
}
END_TEST

START_TEST(nothing_wanted)
{
	make_stack();
	struct ovl_inofind *f = ovl_inofind_new();
	const char *p;
	ovl_inofind_run(f, &stack, 64);
	ck_assert_int_eq(ovl_inofind_result(f, 0, &p), -1);
	ovl_inofind_free(f);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("inofind");
	TCase *tc = tcase_create("inofind");

	tcase_add_unchecked_fixture(tc, top_setup, top_teardown);
	tcase_add_test(tc, places_by_number);
	tcase_add_test(tc, max_depth);
	tcase_add_test(tc, nothing_wanted);
	suite_add_tcase(s, tc);
	return s;
}
