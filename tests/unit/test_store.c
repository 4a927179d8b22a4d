/*
 * The store model (store.c) and its bookkeeping checks (check_store.c)
 * on small stores of both layouts made here by hand, as the engines write
 * them (docs/stores.md): plain dirs, symlinks, metadata files. No mount,
 * no root: it also runs in the package build.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/opts.h"
#include "overlay/problem.h"
#include "overlay/repair.h"
#include "overlay/store.h"
#include "overlay/storefsck.h"
#include "overlay/util.h"
#include "../../src/lib/check/check_store.h"

#define SUITE_TAG "store"
#include "tmptree.h"
#include "unit.h"
#include "../store_skel.h"

/* ---- building stores ---- */

static void mkd(const char *rel)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", P("%s", rel));
	ck_assert_int_eq(system(cmd), 0);
}

/* a file holding exactly text (no newline added: the engines add none) */
static void wr(const char *rel, const char *text)
{
	FILE *f = fopen(P("%s", rel), "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	ck_assert_int_eq(fclose(f), 0);
}

static void ln(const char *target, const char *rel)
{
	unlink(P("%s", rel));
	ck_assert_int_eq(symlink(target, P("%s", rel)), 0);
}

static void rm(const char *rel)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", P("%s", rel));
	ck_assert_int_eq(system(cmd), 0);
}

static void wrb(const char *rel, const void *data, size_t len)
{
	FILE *f = fopen(P("%s", rel), "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static const struct skel_ops ops = { mkd, wr, ln, wrb };

/* The stores of store_skel.h, with these names for their ids. */
#define L1 hex('1')
#define L2 hex('2')
#define L3 hex('3')
#define M hex('4')
static char minit[80];

static void build_docker(void)
{
	skel_docker(&ops, minit, sizeof(minit));
}

#define CA hex('a')
#define CB hex('b')
#define CC hex('c')

static void build_cs(void)
{
	skel_cs(&ops);
}

static void setup(void)
{
	snprintf(base, sizeof(base), "%s/t-XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(base));
}

/* ---- running the checks ---- */

static void open_store(struct ovl_store *st, const char *rel)
{
	char err[512];
	int ret = ovl_store_open(st, P("%s", rel), err, sizeof(err));
	ck_assert_msg(ret == 0, "%s", err);
}

static unsigned long sr_total(const struct ovl_report *r)
{
	return r->by_class[OVL_PC_store];
}

/* Run the checks with -n; the report text is returned (free it). */
static char *check_n(const struct ovl_store *st, struct ovl_report *r, bool remove)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	ovl_report_init(r, OVL_MODE_NO, out);
	ovl_check_store(st, r, NULL, remove);
	fclose(out);
	return text;
}

/* Exactly these codes, each once (a code listed twice: twice). */
static void expect_codes(const char *rel, bool remove, const enum ovl_problem_code *codes,
			 size_t n)
{
	struct ovl_store st;
	struct ovl_report r;
	unsigned long want[PR_COUNT] = { 0 };
	char *text;

	open_store(&st, rel);
	text = check_n(&st, &r, remove);
	for (size_t i = 0; i < n; i++)
		want[codes[i]]++;
	for (int c = 0; c < PR_COUNT; c++)
		ck_assert_msg(r.count[c] == want[c], "%s: %lu, expected %lu; report:\n%s",
			      ovl_problem_def(c)->name, r.count[c], want[c], text);
	free(text);
	ovl_store_close(&st);
}
#define EXPECT(rel, remove, ...) do { \
	const enum ovl_problem_code codes_[] = { __VA_ARGS__ }; \
	expect_codes(rel, remove, codes_, OVL_ARRAY_SIZE(codes_)); \
} while (0)

/* The plan -y makes. */
static void plan_y(const char *rel, bool remove, struct ovl_plan *p)
{
	struct ovl_store st;
	struct ovl_report r;
	FILE *out = fopen("/dev/null", "we");

	open_store(&st, rel);
	ovl_plan_init(p);
	ovl_report_init(&r, OVL_MODE_YES, out);
	ovl_check_store(&st, &r, p, remove);
	fclose(out);
	ovl_store_close(&st);
}

static const struct ovl_fix *find_fix(const struct ovl_plan *p, enum ovl_fix_op op,
				      const char *path)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->fixes[i].op == op && !strcmp(p->fixes[i].path, path)) {
			ck_assert_int_eq(p->fixes[i].layer, OVL_STORE_FIX_LAYER);
			return &p->fixes[i];
		}
	return NULL;
}

static void expect_fix(const struct ovl_plan *p, enum ovl_fix_op op, const char *path,
		       const char *val)
{
	const struct ovl_fix *f = find_fix(p, op, path);

	ck_assert_msg(f != NULL, "no fix %d at %s (plan of %zu)", op, path, p->n);
	if (val)
		ck_assert_str_eq((const char *)f->val, val);
	else
		ck_assert_ptr_null(f->val);
}

/* ---- the model ---- */

START_TEST(test_docker_model)
{
	struct ovl_store st;
	struct ovl_report r;
	struct ovl_opts o;
	char err[256], want[PATH_MAX];
	long l1, l2, l3, m, mi;

	build_docker();
	open_store(&st, "docker");
	ck_assert_int_eq(st.kind, OVL_STORE_DOCKER);
	ck_assert_str_eq(st.driver_rel, "overlay2");
	ck_assert_str_eq(st.driver, P("docker/overlay2"));
	ck_assert_uint_eq(st.nerrors, 0);
	ck_assert_uint_eq(st.nlayers, 5);
	ck_assert_uint_eq(st.nlinks, 5);
	l1 = ovl_store_layer_find(&st, L1);
	l2 = ovl_store_layer_find(&st, L2);
	l3 = ovl_store_layer_find(&st, L3);
	m = ovl_store_layer_find(&st, M);
	mi = ovl_store_layer_find(&st, minit);
	ck_assert(l1 >= 0 && l2 >= 0 && l3 >= 0 && m >= 0 && mi >= 0);
	/* --verify-content's record: in the layerdb dir of the chain, the diff id */
	snprintf(want, sizeof(want), "image/overlay2/layerdb/sha256/%s/tar-split.json.gz", hex('a'));
	ck_assert_str_eq(st.layers[l1].tarsplit, want);
	ck_assert_str_eq(st.layers[l1].diff_digest, hex('d'));
	ck_assert_int_eq(st.layers[l1].diff_size, -1);
	ck_assert_int_eq(st.layers[l1].files_size, 0);
	ck_assert_ptr_null(st.layers[m].tarsplit);	/* a container's rw layer */
	ck_assert_int_eq(ovl_store_layer_find(&st, hex('0')), OVL_STORE_NONE);
	for (size_t i = 0; i < st.nlayers; i++) {
		ck_assert(st.layers[i].known && st.layers[i].on_disk && st.layers[i].has_diff);
		ck_assert(st.layers[i].link_file && st.layers[i].link);
	}
	ck_assert_int_eq(st.layers[l1].parent, OVL_STORE_NONE);
	ck_assert(!st.layers[l1].lower_file && !st.layers[l1].has_work);
	ck_assert_int_eq(st.layers[l2].parent, l1);
	ck_assert_str_eq(st.layers[l2].parent_id, L1);
	ck_assert_int_eq(st.layers[l3].parent, l2);
	ck_assert_int_eq(st.layers[mi].parent, l3);
	ck_assert_int_eq(st.layers[m].parent, mi);
	ck_assert(st.layers[m].rw && st.layers[mi].rw && !st.layers[l3].rw);
	ck_assert_uint_eq(st.layers[m].nlower, 4);
	ck_assert_str_eq(st.layers[m].lower[0], sn('I'));
	ck_assert_str_eq(st.layers[l3].link, sn('3'));
	long k = ovl_store_link_find(&st, sn('2'));
	ck_assert_int_ge(k, 0);
	ck_assert_int_eq(st.links[k].layer, l2);
	snprintf(want, sizeof(want), "../%s/diff", L2);
	ck_assert_str_eq(st.links[k].target, want);

	/* images by name (tags before digests), then containers */
	ck_assert_uint_eq(st.nstacks, 3);
	ck_assert_str_eq(st.stacks[0].name, "alpine:latest");
	ck_assert(!st.stacks[0].container && !st.stacks[0].broken);
	ck_assert_str_eq(st.stacks[0].id, hex('e'));
	ck_assert_uint_eq(st.stacks[0].nchain, 2);
	ck_assert_int_eq(st.stacks[0].chain[0], l2);
	ck_assert_int_eq(st.stacks[0].chain[1], l1);
	ck_assert_str_eq(st.stacks[1].name, "web:1");
	ck_assert_int_eq(st.stacks[1].top, l3);
	ck_assert_str_eq(st.stacks[2].name, "web");
	ck_assert(st.stacks[2].container && !st.stacks[2].broken);
	ck_assert_uint_eq(st.stacks[2].nchain, 5);
	ck_assert_int_eq(st.stacks[2].chain[0], m);
	ck_assert_int_eq(st.stacks[2].chain[1], mi);
	ck_assert_int_eq(st.stacks[2].chain[4], l1);

	/* a shared layer is named after the first image by name */
	ck_assert_str_eq(st.layers[l1].label, "alpine:latest layer 1/2");
	ck_assert_str_eq(st.layers[l2].label, "alpine:latest layer 2/2");
	ck_assert_str_eq(st.layers[l3].label, "web:1 layer 3/3");
	ck_assert_str_eq(st.layers[m].label, "container web");
	ck_assert_str_eq(st.layers[mi].label, "container web (init layer)");

	if (access("/sys/module/overlay/parameters/index", F_OK) == 0)
		ck_assert_str_eq(st.mount_options, "index=off");
	else
		ck_assert_str_eq(st.mount_options, "");

	/* the container: upper and work of M, lowers by the metadata's chain */
	ovl_opts_init(&o);
	ck_assert_msg(ovl_store_stack_opts(&st, &st.stacks[2], &o, err, sizeof(err)) == 0,
		      "%s", err);
	snprintf(want, sizeof(want), "%s/%s/diff", st.driver, M);
	ck_assert_str_eq(o.upper, want);
	snprintf(want, sizeof(want), "%s/%s/work", st.driver, M);
	ck_assert_str_eq(o.work, want);
	ck_assert_uint_eq(o.nlower, 4);
	snprintf(want, sizeof(want), "%s/%s/diff", st.driver, minit);
	ck_assert_str_eq(o.lower[0], want);
	snprintf(want, sizeof(want), "%s/%s/diff", st.driver, L1);
	ck_assert_str_eq(o.lower[3], want);
	if (*st.mount_options)
		ck_assert_int_eq(o.index, OVL_OFF);
	ovl_opts_free(&o);
	/* an image: read only */
	ovl_opts_init(&o);
	ck_assert_int_eq(ovl_store_stack_opts(&st, &st.stacks[0], &o, err, sizeof(err)), 0);
	ck_assert_ptr_null(o.upper);
	ck_assert_uint_eq(o.nlower, 2);
	ovl_opts_free(&o);
	/* one shared layer over its parents */
	ovl_opts_init(&o);
	ck_assert_int_eq(ovl_store_layer_opts(&st, l2, &o, err, sizeof(err)), 0);
	ck_assert_uint_eq(o.nlower, 2);
	snprintf(want, sizeof(want), "%s/%s/diff", st.driver, L2);
	ck_assert_str_eq(o.lower[0], want);
	ck_assert_ptr_null(o.upper);
	ovl_opts_free(&o);

	char *text = check_n(&st, &r, false);
	ck_assert_msg(sr_total(&r) == 0, "%s", text);
	free(text);
	ovl_store_close(&st);

	/* the driver dir given in place of the engine root */
	open_store(&st, "docker/overlay2");
	ck_assert_int_eq(st.kind, OVL_STORE_DOCKER);
	ck_assert_str_eq(st.root, P("docker"));
	ck_assert_uint_eq(st.nstacks, 3);
	ovl_store_close(&st);
}
END_TEST

START_TEST(test_cstorage_model)
{
	struct ovl_store st;
	struct ovl_report r;
	struct ovl_opts o;
	char err[256], want[PATH_MAX];

	build_cs();
	open_store(&st, "cs");
	ck_assert_int_eq(st.kind, OVL_STORE_CSTORAGE);
	ck_assert_str_eq(st.driver_rel, "overlay");
	ck_assert_uint_eq(st.nerrors, 0);
	ck_assert_uint_eq(st.nlayers, 3);
	long a = ovl_store_layer_find(&st, CA), b = ovl_store_layer_find(&st, CB);
	long c = ovl_store_layer_find(&st, CC);
	ck_assert(a >= 0 && b >= 0 && c >= 0);
	ck_assert_int_eq(st.layers[b].parent, a);
	ck_assert_int_eq(st.layers[c].parent, b);	/* from volatile-layers.json */
	/* --verify-content's record: beside the list, digest and size from it */
	char rec[128];
	snprintf(rec, sizeof(rec), "overlay-layers/%s.tar-split.gz", CA);
	ck_assert_str_eq(st.layers[a].tarsplit, rec);
	ck_assert_str_eq(st.layers[a].diff_digest, hex('8'));
	ck_assert_int_eq(st.layers[a].diff_size, 8);
	ck_assert_ptr_null(st.layers[b].diff_digest);
	ck_assert_int_eq(st.layers[b].diff_size, -1);
	ck_assert(!st.layers[a].ids_mapped);
	ck_assert(st.layers[c].rw && !st.layers[b].rw);
	ck_assert_uint_eq(st.nstacks, 2);
	ck_assert_str_eq(st.stacks[0].name, "docker.io/library/alpine:latest");
	ck_assert_uint_eq(st.stacks[0].nchain, 2);
	ck_assert_str_eq(st.stacks[1].name, "web");
	ck_assert(st.stacks[1].container);
	ck_assert_uint_eq(st.stacks[1].nchain, 3);
	ck_assert_str_eq(st.layers[a].label, "docker.io/library/alpine:latest layer 1/2");
	ck_assert_str_eq(st.layers[c].label, "container web");
	/* no storage.conf read for a store off the default root */
	ck_assert_str_eq(st.mount_options, "");

	ovl_opts_init(&o);
	ck_assert_int_eq(ovl_store_stack_opts(&st, &st.stacks[1], &o, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/%s/diff", st.driver, CC);
	ck_assert_str_eq(o.upper, want);
	ck_assert_uint_eq(o.nlower, 2);
	snprintf(want, sizeof(want), "%s/%s/diff", st.driver, CB);
	ck_assert_str_eq(o.lower[0], want);
	ovl_opts_free(&o);

	char *text = check_n(&st, &r, false);
	ck_assert_msg(sr_total(&r) == 0, "%s", text);
	free(text);
	ovl_store_close(&st);

	/* storage.conf's mountopt: its overlay features only */
	wr("storage.conf", "[storage]\ndriver = \"overlay\"\n[storage.options]\n"
	   "mountopt = \"nodev\"\n[storage.options.overlay]\n"
	   "mountopt = \"nodev,metacopy=on\"\n");
	setenv("OVL_STORAGE_CONF", P("storage.conf"), 1);
	open_store(&st, "cs/overlay");
	unsetenv("OVL_STORAGE_CONF");
	ck_assert_str_eq(st.mount_options, "metacopy=on");
	ovl_opts_init(&o);
	ck_assert_int_eq(ovl_store_stack_opts(&st, &st.stacks[0], &o, err, sizeof(err)), 0);
	ck_assert_int_eq(o.metacopy, OVL_ON);
	ovl_opts_free(&o);
	ovl_store_close(&st);
}
END_TEST

START_TEST(test_not_a_store)
{
	struct ovl_store st;
	char err[512];

	mkd("plain/overlay2");
	ck_assert_int_eq(ovl_store_open(&st, P("plain"), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a Docker overlay2"));
	ovl_store_close(&st);
	ck_assert_int_eq(ovl_store_open(&st, P("nope"), err, sizeof(err)), -1);
	ovl_store_close(&st);
}
END_TEST

/* ---- damage, the ways users report it ---- */

START_TEST(test_link_missing)
{
	struct ovl_plan p;
	char path[128], target[128];

	build_docker();
	char rel[256];
	snprintf(rel, sizeof(rel), "docker/overlay2/l/%s", sn('1'));
	rm(rel);
	EXPECT("docker", false, PR_SR_LINK_MISSING);
	plan_y("docker", false, &p);
	ck_assert_uint_eq(p.n, 1);
	snprintf(path, sizeof(path), "/l/%s", sn('1'));
	snprintf(target, sizeof(target), "../%s/diff", L1);
	expect_fix(&p, OVL_FIX_SYMLINK, path, target);
	ovl_plan_free(&p);
}
END_TEST

START_TEST(test_link_wrong_and_dangling)
{
	struct ovl_plan p;
	char rel[256], target[128], path[128];

	build_docker();
	/* l/<L2's name> leads to L1's diff; a stray link leads nowhere */
	snprintf(rel, sizeof(rel), "docker/overlay2/l/%s", sn('2'));
	snprintf(target, sizeof(target), "../%s/diff", L1);
	ln(target, rel);
	snprintf(rel, sizeof(rel), "docker/overlay2/l/%s", sn('Z'));
	snprintf(target, sizeof(target), "../%s/diff", hex('0'));
	ln(target, rel);
	EXPECT("docker", false, PR_SR_LINK_WRONG, PR_SR_LINK_DANGLING);
	plan_y("docker", false, &p);
	ck_assert_uint_eq(p.n, 2);
	snprintf(path, sizeof(path), "/l/%s", sn('2'));
	snprintf(target, sizeof(target), "../%s/diff", L2);
	expect_fix(&p, OVL_FIX_SYMLINK, path, target);
	snprintf(path, sizeof(path), "/l/%s", sn('Z'));
	expect_fix(&p, OVL_FIX_RM_SYMLINK, path, NULL);
	ovl_plan_free(&p);
}
END_TEST

START_TEST(test_lower_bad)
{
	struct ovl_plan p;
	char rel[256], val[256], buf[256];

	build_docker();
	/* an empty lower file (a crash before the write reached the disk) */
	snprintf(rel, sizeof(rel), "docker/overlay2/%s/lower", L3);
	wr(rel, "");
	/* a lower naming a short name no layer has */
	snprintf(rel, sizeof(rel), "docker/overlay2/%s/lower", M);
	snprintf(buf, sizeof(buf), "l/%s:l/%s:l/%s:l/%s", sn('I'), sn('Q'), sn('2'), sn('1'));
	wr(rel, buf);
	/* a lower file missing */
	snprintf(rel, sizeof(rel), "docker/overlay2/%s/lower", L2);
	unlink(P("%s", rel));
	EXPECT("docker", false, PR_SR_LOWER_BAD, PR_SR_LOWER_BAD, PR_SR_LOWER_MISSING);
	plan_y("docker", false, &p);
	ck_assert_uint_eq(p.n, 3);
	snprintf(rel, sizeof(rel), "/%s/lower", L3);
	snprintf(val, sizeof(val), "l/%s:l/%s", sn('2'), sn('1'));
	expect_fix(&p, OVL_FIX_WRITE_FILE, rel, val);
	snprintf(rel, sizeof(rel), "/%s/lower", M);
	snprintf(val, sizeof(val), "l/%s:l/%s:l/%s:l/%s", sn('I'), sn('3'), sn('2'), sn('1'));
	expect_fix(&p, OVL_FIX_WRITE_FILE, rel, val);
	snprintf(rel, sizeof(rel), "/%s/lower", L2);
	snprintf(val, sizeof(val), "l/%s", sn('1'));
	expect_fix(&p, OVL_FIX_WRITE_FILE, rel, val);
	ovl_plan_free(&p);
}
END_TEST

START_TEST(test_linkfile_missing)
{
	struct ovl_plan p;
	char rel[256], path[128];

	/* the link file gone, its l/ link still there: written from the link */
	build_docker();
	snprintf(rel, sizeof(rel), "docker/overlay2/%s/link", L2);
	unlink(P("%s", rel));
	EXPECT("docker", false, PR_SR_LINKFILE_MISSING);
	plan_y("docker", false, &p);
	ck_assert_uint_eq(p.n, 1);
	snprintf(path, sizeof(path), "/%s/link", L2);
	expect_fix(&p, OVL_FIX_WRITE_FILE, path, sn('2'));
	ovl_plan_free(&p);

	/* both gone: a new name, its link, and the lower files naming the old
	 * one rewritten with it */
	snprintf(rel, sizeof(rel), "docker/overlay2/l/%s", sn('2'));
	unlink(P("%s", rel));
	EXPECT("docker", false, PR_SR_LINKFILE_MISSING, PR_SR_LOWER_BAD, PR_SR_LOWER_BAD,
	       PR_SR_LOWER_BAD);
	plan_y("docker", false, &p);
	ck_assert_uint_eq(p.n, 5);
	snprintf(path, sizeof(path), "/%s/link", L2);
	const struct ovl_fix *f = find_fix(&p, OVL_FIX_WRITE_FILE, path);
	ck_assert_ptr_nonnull(f);
	const char *name = (const char *)f->val;
	ck_assert_uint_eq(strlen(name), 26);
	ck_assert_uint_eq(strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 26);
	char target[128], val[256];
	snprintf(path, sizeof(path), "/l/%s", name);
	snprintf(target, sizeof(target), "../%s/diff", L2);
	expect_fix(&p, OVL_FIX_SYMLINK, path, target);
	snprintf(path, sizeof(path), "/%s/lower", L3);
	snprintf(val, sizeof(val), "l/%s:l/%s", name, sn('1'));
	expect_fix(&p, OVL_FIX_WRITE_FILE, path, val);
	ovl_plan_free(&p);

	/* a link file of garbage */
	snprintf(rel, sizeof(rel), "docker/overlay2/%s/link", L1);
	wr(rel, "../../etc\n");
	EXPECT("docker", false, PR_SR_LINKFILE_MISSING, PR_SR_LINKFILE_BAD, PR_SR_LOWER_BAD,
	       PR_SR_LOWER_BAD, PR_SR_LOWER_BAD);
}
END_TEST

START_TEST(test_layer_removed)
{
	struct ovl_store st;
	struct ovl_report r;
	char rel[256];

	build_docker();
	snprintf(rel, sizeof(rel), "docker/overlay2/%s", L3);
	rm(rel);
	/* its l/ link stays: the metadata still names the layer */
	EXPECT("docker", false, PR_SR_LAYER_MISSING);
	open_store(&st, "docker");
	char *text = check_n(&st, &r, false);
	/* who is hurt: the image and the container using it */
	ck_assert_msg(strstr(text, "image web:1, container web") != NULL, "%s", text);
	free(text);
	ck_assert(st.stacks[1].broken && st.stacks[2].broken && !st.stacks[0].broken);
	struct ovl_opts o;
	char err[256];
	ovl_opts_init(&o);
	ck_assert_int_eq(ovl_store_stack_opts(&st, &st.stacks[2], &o, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "has no dir"));
	ovl_opts_free(&o);
	ovl_store_close(&st);
}
END_TEST

START_TEST(test_orphan)
{
	struct ovl_store st;
	struct ovl_report r;
	struct ovl_plan p;
	char path[128];

	build_docker();
	skel_layer(&ops, "docker/overlay2", hex('5'), sn('5'), NULL, false);
	char rel[256];
	snprintf(rel, sizeof(rel), "docker/overlay2/%s/diff/data", hex('5'));
	wr(rel, "some bytes a crashed pull left");
	EXPECT("docker", false, PR_SR_LAYER_ORPHAN);
	open_store(&st, "docker");
	long o = ovl_store_layer_find(&st, hex('5'));
	ck_assert_int_ge(o, 0);
	ck_assert(!st.layers[o].known && st.layers[o].on_disk);
	ck_assert_str_eq(st.layers[o].label, "orphan");
	ck_assert_uint_gt(st.layers[o].size, 0);
	char *text = check_n(&st, &r, false);
	ck_assert_msg(strstr(text, "bytes") != NULL, "%s", text);
	free(text);
	ovl_store_close(&st);
	/* reported only, unless --remove-orphans */
	plan_y("docker", false, &p);
	ck_assert_uint_eq(p.n, 0);
	ovl_plan_free(&p);
	plan_y("docker", true, &p);
	ck_assert_uint_eq(p.n, 2);
	snprintf(path, sizeof(path), "/%s", hex('5'));
	expect_fix(&p, OVL_FIX_RM_TREE, path, NULL);
	snprintf(path, sizeof(path), "/l/%s", sn('5'));
	expect_fix(&p, OVL_FIX_RM_SYMLINK, path, NULL);
	ovl_plan_free(&p);
}
END_TEST

START_TEST(test_work_and_diff_missing)
{
	struct ovl_plan p;
	char rel[256];

	build_cs();
	snprintf(rel, sizeof(rel), "cs/overlay/%s/work", CC);
	rm(rel);
	snprintf(rel, sizeof(rel), "cs/overlay/%s/diff", CA);
	rm(rel);
	EXPECT("cs", false, PR_SR_WORK_MISSING, PR_SR_DIFF_MISSING);
	plan_y("cs", false, &p);
	ck_assert_uint_eq(p.n, 1);
	snprintf(rel, sizeof(rel), "/%s/work", CC);
	expect_fix(&p, OVL_FIX_MKDIR, rel, NULL);
	ovl_plan_free(&p);
}
END_TEST

START_TEST(test_broken_layers_json)
{
	struct ovl_store st;
	struct ovl_plan p;

	build_cs();
	wr("cs/overlay-layers/layers.json", "[{\"id\":\"aaaa\", \"parent\": ");
	/* the layers only it knows become orphans; never removed on its word */
	EXPECT("cs", false, PR_SR_META_BAD, PR_SR_LAYER_ORPHAN);
	plan_y("cs", true, &p);
	ck_assert_uint_eq(p.n, 0);
	ovl_plan_free(&p);
	open_store(&st, "cs");
	ck_assert_uint_eq(st.nerrors, 1);
	ck_assert_str_eq(st.errors[0].file, "/overlay-layers/layers.json");
	ck_assert_ptr_nonnull(strstr(st.errors[0].why, "cut short"));
	ovl_store_close(&st);
}
END_TEST

/* ---- hostile input ---- */

START_TEST(test_bad_input)
{
	struct ovl_store st;
	char rel[256], *big;

	build_cs();
	/* binary garbage */
	wr("cs/overlay-images/images.json", "\x7f" "ELF\x01\x02\x03");
	/* a metadata file that is a symlink: never followed */
	wr("elsewhere.json", "[]");
	ln(P("elsewhere.json"), "cs/overlay-containers/containers.json");
	/* a lower file of 1 MiB */
	big = malloc(1 << 20);
	ck_assert_ptr_nonnull(big);
	memset(big, 'A', 1 << 20);
	memcpy(big, "l/", 2);
	big[(1 << 20) - 1] = '\0';
	snprintf(rel, sizeof(rel), "cs/overlay/%s/lower", CB);
	wr(rel, big);
	free(big);

	open_store(&st, "cs");
	ck_assert_uint_eq(st.nerrors, 2);
	ck_assert_str_eq(st.errors[0].file, "/overlay-images/images.json");
	ck_assert_str_eq(st.errors[1].file, "/overlay-containers/containers.json");
	ck_assert_ptr_nonnull(strstr(st.errors[1].why, "symlink"));
	long b = ovl_store_layer_find(&st, CB);
	ck_assert(st.layers[b].lower_file && st.layers[b].lower_bad);
	ck_assert_uint_eq(st.layers[b].nlower, 0);
	ck_assert_uint_eq(st.nstacks, 0);
	ovl_store_close(&st);
	EXPECT("cs", false, PR_SR_META_BAD, PR_SR_META_BAD, PR_SR_LOWER_BAD);

	/* a JSON value of the wrong shape, and a layer id that climbs out */
	wr("cs/overlay-images/images.json", "{\"id\":1}");
	wr("cs/overlay-layers/volatile-layers.json", "[{\"id\":\"../../etc\"}, 7]");
	open_store(&st, "cs");
	ck_assert_int_eq(ovl_store_layer_find(&st, "../../etc"), OVL_STORE_NONE);
	ck_assert_uint_ge(st.nerrors, 4);
	ovl_store_close(&st);
}
END_TEST

/*
 * A mount-id or init-id naming a layer that already has a parent (an
 * image's layer, another container's init layer): the container's parent
 * replaces it, without leaking the first (found by tests/fuzz/fuzz_store
 * under ASan), and the loop it makes breaks the stack, nothing else.
 */
START_TEST(test_mount_id_of_image_layer)
{
	struct ovl_store st;
	struct ovl_report r;
	char rel[256];
	long l2, mi;

	build_docker();
	snprintf(rel, sizeof(rel), "docker/image/overlay2/layerdb/mounts/%s/mount-id", hex('c'));
	wr(rel, L2);
	open_store(&st, "docker");
	l2 = ovl_store_layer_find(&st, L2);
	mi = ovl_store_layer_find(&st, minit);
	ck_assert(l2 >= 0 && mi >= 0);
	ck_assert_int_eq(st.layers[l2].parent, mi);
	ck_assert_str_eq(st.layers[l2].parent_id, minit);
	ck_assert(st.layers[l2].rw);
	for (size_t i = 0; i < st.nstacks; i++)
		if (st.stacks[i].container)
			ck_assert(st.stacks[i].broken);
	free(check_n(&st, &r, false));
	ovl_store_close(&st);

	/* a second container sharing the first one's init layer */
	snprintf(rel, sizeof(rel), "docker/image/overlay2/layerdb/mounts/%s", hex('d'));
	mkd(rel);
	snprintf(rel, sizeof(rel), "docker/image/overlay2/layerdb/mounts/%s/mount-id", hex('d'));
	wr(rel, hex('5'));
	snprintf(rel, sizeof(rel), "docker/image/overlay2/layerdb/mounts/%s/init-id", hex('d'));
	wr(rel, minit);
	snprintf(rel, sizeof(rel), "docker/image/overlay2/layerdb/mounts/%s/parent", hex('d'));
	wr(rel, "sha256:0000000000000000000000000000000000000000000000000000000000000000");
	open_store(&st, "docker");
	mi = ovl_store_layer_find(&st, minit);
	ck_assert(mi >= 0);
	ck_assert(st.layers[mi].parent_missing);
	ck_assert_str_eq(st.layers[mi].parent_id, "sha256:"
			 "0000000000000000000000000000000000000000000000000000000000000000");
	free(check_n(&st, &r, false));
	ovl_store_close(&st);
}
END_TEST

/* The unit of the store whose id is `id` (of `kind`), as an index. */
static size_t unit_of(const struct ovl_store_unit *u, size_t n, const char *kind, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(u[i].kind, kind) && !strcmp(u[i].id, id))
			return i;
	ck_abort_msg("no %s unit %s", kind, id);
	return n;
}

/*
 * -j with fixes: a unit over a layer another unit may fix reads it
 * (READS); two containers naming one read-write layer, or a container
 * whose read-write layer is an image's, may write what the other reads
 * (WRITES); each unit's journal is named after its layer dir.
 */
START_TEST(test_unit_deps)
{
	struct ovl_store st;
	struct ovl_store_unit *u;
	char buf[1024];

	build_cs();
	snprintf(buf, sizeof(buf), "[{\"id\":\"%s\",\"names\":[\"web\"],\"image\":\"%s\","
		 "\"layer\":\"%s\"},{\"id\":\"%s\",\"names\":[\"db\"],\"image\":\"%s\","
		 "\"layer\":\"%s\"},{\"id\":\"%s\",\"names\":[\"odd\"],\"image\":\"%s\","
		 "\"layer\":\"%s\"}]", hex('9'), hex('e'), CC, hex('8'), hex('e'), CC,
		 hex('7'), hex('e'), CB);
	wr("cs/overlay-containers/containers.json", buf);
	open_store(&st, "cs");
	size_t n = ovl_store_units(&st, &u);
	ck_assert_uint_eq(n, 5);
	size_t a = unit_of(u, n, "layer", CA), b = unit_of(u, n, "layer", CB);
	size_t web = unit_of(u, n, "container", hex('9')), db = unit_of(u, n, "container", hex('8'));
	size_t odd = unit_of(u, n, "container", hex('7'));
	ck_assert(a < b && b < web && b < db && b < odd);
	ck_assert_int_eq(ovl_store_unit_dep(&st, &u[a], &u[b]), OVL_FORKRUN_READS);
	ck_assert_int_eq(ovl_store_unit_dep(&st, &u[a], &u[web]), OVL_FORKRUN_READS);
	ck_assert_int_eq(ovl_store_unit_dep(&st, &u[b], &u[web]), OVL_FORKRUN_READS);
	size_t first = web < db ? web : db, second = web < db ? db : web;
	ck_assert_int_eq(ovl_store_unit_dep(&st, &u[first], &u[second]), OVL_FORKRUN_WRITES);
	ck_assert_int_eq(ovl_store_unit_dep(&st, &u[b], &u[odd]), OVL_FORKRUN_WRITES);
	ck_assert_str_eq(u[a].journal_tag, CA);
	ck_assert_str_eq(u[web].journal_tag, CC);
	ovl_store_units_free(u, n);
	ovl_store_close(&st);

	/* the store as the engine wrote it: only READS, up the chain */
	build_cs();
	open_store(&st, "cs");
	n = ovl_store_units(&st, &u);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(ovl_store_unit_dep(&st, &u[0], &u[1]), OVL_FORKRUN_READS);
	ck_assert_int_eq(ovl_store_unit_dep(&st, &u[1], &u[2]), OVL_FORKRUN_READS);
	ovl_store_units_free(u, n);
	ovl_store_close(&st);
}
END_TEST

/* ---- containerd ---- */

static long cd_layer(const struct ovl_store *st, int id)
{
	char ids[8];
	long l;

	snprintf(ids, sizeof(ids), "%d", id);
	l = ovl_store_layer_find(st, ids);
	ck_assert_int_ge(l, 0);
	return l;
}

/* The containerd skeleton's store, open, and its units. */
static size_t cd_units(struct ovl_store *st, struct ovl_store_unit **u)
{
	open_store(st, SKEL_CD_ROOT);
	return ovl_store_units(st, u);
}

START_TEST(test_containerd_model)
{
	struct ovl_store st;
	struct ovl_store_unit *u;
	struct ovl_opts o;
	struct ovl_fsck_opts fo = { 0 };
	char err[256];
	size_t n;

	skel_containerd(&ops, 0);
	open_store(&st, SKEL_CD_ROOT);
	ck_assert_int_eq(st.kind, OVL_STORE_CONTAINERD);
	ck_assert_str_eq(st.driver_rel, "io.containerd.snapshotter.v1.overlayfs/snapshots");
	ck_assert_str_eq(st.diff_rel, "fs");
	ck_assert_uint_eq(st.nerrors, 0);
	ck_assert_uint_eq(st.nname_errors, 0);
	ck_assert_uint_eq(st.nlayers, 6);
	ck_assert_uint_eq(st.nlinks, 0);
	long l1 = cd_layer(&st, 1), l2 = cd_layer(&st, 2), web = cd_layer(&st, 3);
	long view = cd_layer(&st, 4), bare = cd_layer(&st, 5), l6 = cd_layer(&st, 6);
	ck_assert(st.layers[l1].committed && st.layers[l2].committed && st.layers[l6].committed);
	ck_assert(st.layers[web].rw && st.layers[bare].rw && st.layers[view].view);
	ck_assert(!st.layers[view].rw && !st.layers[view].committed && !st.layers[view].has_work);
	ck_assert_int_eq(st.layers[l2].parent, l1);
	ck_assert_int_eq(st.layers[web].parent, l2);
	ck_assert_int_eq(st.layers[l6].parent, l1);
	ck_assert_str_eq(st.layers[web].key, "default/5/web");
	ck_assert_str_eq(st.layers[web].parent_id, SKEL_CD_TOP);
	/* the image from meta.db, the container and the bare active snapshot */
	ck_assert_uint_eq(st.nstacks, 3);
	ck_assert_str_eq(st.stacks[0].name, "docker.io/library/app:1");
	ck_assert_str_eq(st.stacks[0].id, "sha256:1111");
	ck_assert(!st.stacks[0].container && !st.stacks[0].broken);
	ck_assert_uint_eq(st.stacks[0].nchain, 2);
	ck_assert_int_eq(st.stacks[0].chain[0], l2);
	ck_assert_str_eq(st.stacks[1].name, "snapshot bare");
	ck_assert(st.stacks[1].container);
	ck_assert_str_eq(st.stacks[2].name, "web");
	ck_assert_uint_eq(st.stacks[2].nchain, 3);
	ck_assert_str_eq(st.layers[l1].label, "docker.io/library/app:1 layer 1/2");
	ck_assert_str_eq(st.layers[l2].label, "docker.io/library/app:1 layer 2/2");
	ck_assert_str_eq(st.layers[web].label, "container web");
	ck_assert_str_eq(st.layers[bare].label, "active snapshot bare (no container)");
	ck_assert_str_eq(st.layers[view].label, "view v");
	ck_assert_str_eq(st.layers[l6].label, "snapshot sha256:cccc (no image uses it)");
	EXPECT(SKEL_CD_ROOT, false);

	/* units: the image's layers, the one no image names after its parent,
	 * then the containers by name; the view is none */
	n = ovl_store_units(&st, &u);
	ck_assert_uint_eq(n, 5);
	ck_assert(u[0].layer == l1 && u[1].layer == l2 && u[2].layer == l6);
	ck_assert_str_eq(u[0].used_by, "image docker.io/library/app:1, container snapshot bare, "
			 "container web");
	ck_assert_ptr_null(u[2].used_by);
	ck_assert_str_eq(u[3].kind, "container");
	ck_assert_int_eq(u[3].layer, bare);
	ck_assert_int_eq(u[4].layer, web);
	/* web as containerd mounts it: fs over the parents' fs, its work dir */
	ovl_opts_init(&o);
	ck_assert_int_eq(ovl_store_unit_opts(&st, &u[4], &o, &fo, err, sizeof(err)), 0);
	ck_assert(fo.upper_only);
	ck_assert_str_eq(o.upper, P(SKEL_CD_SNAPS "/snapshots/3/fs"));
	ck_assert_str_eq(o.work, P(SKEL_CD_SNAPS "/snapshots/3/work"));
	ck_assert_uint_eq(o.nlower, 2);
	ck_assert_str_eq(o.lower[0], P(SKEL_CD_SNAPS "/snapshots/2/fs"));
	ck_assert_str_eq(o.lower[1], P(SKEL_CD_SNAPS "/snapshots/1/fs"));
	ovl_opts_free(&o);
	ovl_opts_init(&o);
	ck_assert_int_eq(ovl_store_unit_opts(&st, &u[2], &o, &fo, err, sizeof(err)), 0);
	ck_assert(fo.top_lower_only && !o.upper);
	ck_assert_str_eq(o.lower[0], P(SKEL_CD_SNAPS "/snapshots/6/fs"));
	ovl_opts_free(&o);
	ovl_store_units_free(u, n);
	ovl_store_close(&st);

	/* the snapshotter dir names the same store */
	open_store(&st, SKEL_CD_SNAPS);
	ck_assert_str_eq(st.root, P(SKEL_CD_ROOT));
	ck_assert_uint_eq(st.nstacks, 3);
	ovl_store_close(&st);
}
END_TEST

/* What damage the bookkeeping finds, and what -y plans. */
START_TEST(test_containerd_damage)
{
	struct ovl_plan p;

	skel_containerd(&ops, 0);
	rm(SKEL_CD_SNAPS "/snapshots/3/work");
	rm(SKEL_CD_SNAPS "/snapshots/4/fs");	/* a view's own fs: not read */
	mkd(SKEL_CD_SNAPS "/snapshots/new-123/fs");
	EXPECT(SKEL_CD_ROOT, false, PR_SR_WORK_MISSING, PR_SR_LAYER_ORPHAN);
	plan_y(SKEL_CD_ROOT, true, &p);
	expect_fix(&p, OVL_FIX_MKDIR, "/3/work", NULL);
	expect_fix(&p, OVL_FIX_RM_TREE, "/new-123", NULL);
	ck_assert_uint_eq(p.n, 2);
	ovl_plan_free(&p);
	/* a snapshot dir gone, one without fs */
	rm(SKEL_CD_SNAPS "/snapshots/1");
	rm(SKEL_CD_SNAPS "/snapshots/2/fs");
	EXPECT(SKEL_CD_ROOT, false, PR_SR_WORK_MISSING, PR_SR_LAYER_ORPHAN,
	       PR_SR_LAYER_MISSING, PR_SR_DIFF_MISSING);
}
END_TEST

/* A parent the snapshotter does not have: reported, nothing over it checked. */
START_TEST(test_containerd_parent_missing)
{
	struct ovl_store st;
	struct ovl_store_unit *u;
	size_t n;

	skel_containerd(&ops, SKEL_CD_PARENT_GONE);
	EXPECT(SKEL_CD_ROOT, false, PR_SR_PARENT_MISSING);
	n = cd_units(&st, &u);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_ne(u[i].id, "web");
	ck_assert_uint_eq(n, 4);
	ovl_store_units_free(u, n);
	ovl_store_close(&st);
}
END_TEST

/* The snapshotter's metadata damaged: nothing is checked over a guess. */
START_TEST(test_containerd_meta_bad)
{
	static const int flags[] = { SKEL_CD_DUP_ID, SKEL_CD_BAD_KIND, SKEL_CD_PARENT_ACTIVE };
	struct ovl_store st;
	struct ovl_store_unit *u;
	struct ovl_plan p;

	for (size_t i = 0; i < OVL_ARRAY_SIZE(flags); i++) {
		rm(SKEL_CD_ROOT);
		skel_containerd(&ops, flags[i]);
		if (flags[i] != SKEL_CD_PARENT_ACTIVE)	/* no snapshot has id 5 then */
			rm(SKEL_CD_SNAPS "/snapshots/5");
		mkd(SKEL_CD_SNAPS "/snapshots/77/fs");
		EXPECT(SKEL_CD_ROOT, false, PR_SR_META_BAD, PR_SR_LAYER_ORPHAN);
		ck_assert_uint_eq(cd_units(&st, &u), 0);
		ovl_store_units_free(u, 0);
		ovl_store_close(&st);
		/* an orphan is then never removed */
		plan_y(SKEL_CD_ROOT, true, &p);
		ck_assert_uint_eq(p.n, 0);
		ovl_plan_free(&p);
	}
	/* not a database; missing while snapshot dirs exist */
	wr(SKEL_CD_SNAPDB, "not bbolt");
	EXPECT(SKEL_CD_ROOT, false, PR_SR_META_BAD, PR_SR_LAYER_ORPHAN, PR_SR_LAYER_ORPHAN,
	       PR_SR_LAYER_ORPHAN, PR_SR_LAYER_ORPHAN, PR_SR_LAYER_ORPHAN, PR_SR_LAYER_ORPHAN,
	       PR_SR_LAYER_ORPHAN);
	rm(SKEL_CD_SNAPDB);
	EXPECT(SKEL_CD_ROOT, false, PR_SR_META_BAD, PR_SR_LAYER_ORPHAN, PR_SR_LAYER_ORPHAN,
	       PR_SR_LAYER_ORPHAN, PR_SR_LAYER_ORPHAN, PR_SR_LAYER_ORPHAN, PR_SR_LAYER_ORPHAN,
	       PR_SR_LAYER_ORPHAN);
	/* a symlink is not followed */
	ln("/etc/passwd", SKEL_CD_SNAPDB);
	EXPECT(SKEL_CD_ROOT, false, PR_SR_META_BAD, PR_SR_LAYER_ORPHAN, PR_SR_LAYER_ORPHAN,
	       PR_SR_LAYER_ORPHAN, PR_SR_LAYER_ORPHAN, PR_SR_LAYER_ORPHAN, PR_SR_LAYER_ORPHAN,
	       PR_SR_LAYER_ORPHAN);
}
END_TEST

/* Many damaged entries: the first ten said, the rest counted in one line. */
START_TEST(test_containerd_many_bad)
{
	struct bm_bucket *root = bm_new();
	struct bm_bucket *snaps = bm_sub(bm_sub(root, "v1"), "snapshots");
	char key[32];

	skel_containerd(&ops, 0);
	for (int i = 0; i < 15; i++) {
		snprintf(key, sizeof(key), "default/%d/noid", i);
		bm_puts(bm_sub(snaps, key), "kind", "\x03");
	}
	skel_cd_write(&ops, SKEL_CD_SNAPDB, root);
	rm(SKEL_CD_SNAPS "/snapshots");
	mkd(SKEL_CD_SNAPS "/snapshots");
	EXPECT(SKEL_CD_ROOT, false, PR_SR_META_BAD, PR_SR_META_BAD, PR_SR_META_BAD,
	       PR_SR_META_BAD, PR_SR_META_BAD, PR_SR_META_BAD, PR_SR_META_BAD, PR_SR_META_BAD,
	       PR_SR_META_BAD, PR_SR_META_BAD, PR_SR_META_BAD);
}
END_TEST

/* containerd's own metadata: unreadable, or naming what is gone. */
START_TEST(test_containerd_names)
{
	struct ovl_store st;
	struct ovl_store_unit *u;
	size_t n;

	skel_containerd(&ops, SKEL_CD_GONE);
	EXPECT(SKEL_CD_ROOT, false, PR_SR_SNAPSHOT_MISSING);
	rm(SKEL_CD_ROOT);
	skel_containerd(&ops, SKEL_CD_NS);
	open_store(&st, SKEL_CD_ROOT);
	ck_assert_str_eq(st.stacks[0].name, "docker.io/library/app:1 (namespace k8s.io)");
	ovl_store_close(&st);
	/* meta.db damaged: a note of it, every snapshot still checked */
	wr(SKEL_CD_META, "garbage");
	EXPECT(SKEL_CD_ROOT, false, PR_SR_NAMES_BAD);
	n = cd_units(&st, &u);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(u[0].name, "snapshot sha256:aaaa (no image uses it)");
	ck_assert_str_eq(u[3].name, "snapshot bare");
	ck_assert_str_eq(u[4].name, "snapshot web");
	ovl_store_units_free(u, n);
	ovl_store_close(&st);
	/* no meta.db at all: no note (a snapshotter of its own) */
	rm(SKEL_CD_META);
	EXPECT(SKEL_CD_ROOT, false);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_unchecked_fixture(tc, top_setup, top_teardown);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_docker_model);
	tcase_add_test(tc, test_cstorage_model);
	tcase_add_test(tc, test_not_a_store);
	tcase_add_test(tc, test_link_missing);
	tcase_add_test(tc, test_link_wrong_and_dangling);
	tcase_add_test(tc, test_lower_bad);
	tcase_add_test(tc, test_linkfile_missing);
	tcase_add_test(tc, test_layer_removed);
	tcase_add_test(tc, test_orphan);
	tcase_add_test(tc, test_work_and_diff_missing);
	tcase_add_test(tc, test_broken_layers_json);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_mount_id_of_image_layer);
	tcase_add_test(tc, test_unit_deps);
	tcase_add_test(tc, test_containerd_model);
	tcase_add_test(tc, test_containerd_damage);
	tcase_add_test(tc, test_containerd_parent_missing);
	tcase_add_test(tc, test_containerd_meta_bad);
	tcase_add_test(tc, test_containerd_names);
	tcase_add_test(tc, test_containerd_many_bad);
	suite_add_tcase(s, tc);
	return s;
}
