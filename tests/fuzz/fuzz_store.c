/*
 * Fuzz target: the container-store readers (store.c) and the bookkeeping
 * checks on what they read (check/check_store.c).
 *
 * Once per process the small valid stores of tests/store_skel.h (Docker
 * with two images and a container, containers-storage with one image and
 * a container, as tests/unit/test_store.c uses them) are built in a temp
 * dir, with a storage.conf. The first input byte chooses one place of
 * those stores (targets[], made by place() below): a metadata file, a
 * layer's link or lower file, an l/ symlink, or a new name in a dir; the
 * rest of the input becomes that file's content (the symlink's target,
 * the new name). Then open, check with -n and with a -y plan (nothing
 * applied), the mount options of every stack and layer, close; then the
 * place gets its valid content back. Bit 7 of the first byte opens the
 * store by its driver dir instead of its root.
 *
 * Never crash, leak or hang; the model must stay consistent (indices in
 * range, labels set). FUZZ_SEED_DIR=DIR writes the seeds there as files
 * (a starting corpus for libFuzzer). The temp dir goes at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/opts.h"
#include "overlay/problem.h"
#include "overlay/repair.h"
#include "overlay/store.h"
#include "../../src/lib/check/check_store.h"
#include "../store_skel.h"
#define FUZZ_NAME "fuzz-store"
#include "store_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
const char *const *fuzz_seeds(size_t *n);

enum kind {
	K_NONE,		/* nothing there */
	K_FILE,		/* a regular file holding the bytes */
	K_LINK,		/* a symlink whose target is the bytes (up to a NUL) */
	K_LAYER,	/* rel is a dir: a new layer dir (with diff/) named by the bytes */
	K_SHORT,	/* rel is an l/ dir: a new link named by the bytes to layer 1 */
};

struct target {
	bool cs;		/* containers-storage, else Docker */
	enum kind valid;	/* what the valid store has at rel ... */
	enum kind fuzz;		/* ... and what the input puts there */
	char rel[256];		/* below the temp dir */
	char *content;		/* the valid content or symlink target */
};

#define MAX_TARGETS	40
static struct target targets[MAX_TARGETS];
static size_t ntargets;
/* ---- the skeleton stores ---- */

static void put(enum kind k, const char *rel, const char *bytes, size_t len)
{
	int fd;

	if (k == K_LINK) {
		char t[PATH_MAX];
		size_t n = strnlen(bytes, len);

		/* an empty or too long target leaves nothing there: a case too */
		if (n >= sizeof(t))
			return;
		memcpy(t, bytes, n);
		t[n] = '\0';
		if (symlinkat(t, tmpfd, rel) < 0 && errno != ENOENT)
			die("symlink", rel);
		return;
	}
	fd = openat(tmpfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		die("create", rel);
	if (len && write(fd, bytes, len) != (ssize_t)len)
		die("write", rel);
	close(fd);
}

/* A place the input may take, with its valid state as it is on disk now. */
static void place(bool cs, enum kind fuzz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void place(bool cs, enum kind fuzz, const char *fmt, ...)
{
	struct target *t = &targets[ntargets++];
	char buf[PATH_MAX];
	struct stat sb;
	va_list ap;
	ssize_t n;
	int fd;

	if (ntargets > MAX_TARGETS)
		abort();
	va_start(ap, fmt);
	vsnprintf(t->rel, sizeof(t->rel), fmt, ap);
	va_end(ap);
	t->cs = cs;
	t->fuzz = fuzz;
	t->valid = K_NONE;
	t->content = strdup("");
	if (fuzz == K_LAYER || fuzz == K_SHORT || fstatat(tmpfd, t->rel, &sb,
							  AT_SYMLINK_NOFOLLOW) < 0)
		return;
	free(t->content);
	if (S_ISLNK(sb.st_mode)) {
		n = readlinkat(tmpfd, t->rel, buf, sizeof(buf) - 1);
		if (n < 0)
			die("readlink", t->rel);
		t->valid = K_LINK;
	} else {
		fd = openat(tmpfd, t->rel, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) < 0)
			die("read", t->rel);
		close(fd);
		t->valid = K_FILE;
	}
	buf[n] = '\0';
	t->content = strdup(buf);
}

static void wr(const char *rel, const char *text)
{
	put(K_FILE, rel, text, strlen(text));
}

static void ln(const char *target, const char *rel)
{
	put(K_LINK, rel, target, strlen(target));
}

static const struct skel_ops ops = { mkp, wr, ln, NULL };	/* no containerd store */

#define DB SKEL_DB

static void build_docker(void)
{
	const char *d = "docker/overlay2", *img = "docker/image/overlay2/imagedb/content/sha256";
	char minit[80];

	skel_docker(&ops, minit, sizeof(minit));
	place(false, K_FILE, "%s/%s/link", d, hex('2'));
	place(false, K_FILE, "%s/%s/lower", d, hex('2'));
	place(false, K_FILE, "%s/%s/lower", d, hex('3'));
	place(false, K_FILE, "%s/%s/lower", d, hex('4'));
	place(false, K_FILE, "%s/%s/link", d, minit);
	place(false, K_LINK, "%s/l/%s", d, sn('2'));
	place(false, K_FILE, "%s/l/%s", d, sn('3'));
	place(false, K_LAYER, "%s", d);
	place(false, K_SHORT, "%s/l", d);
	place(false, K_FILE, DB "/sha256/%s/cache-id", hex('a'));
	place(false, K_FILE, DB "/sha256/%s/cache-id", hex('b'));
	place(false, K_FILE, DB "/sha256/%s/parent", hex('b'));
	place(false, K_FILE, DB "/sha256/%s/diff", hex('b'));
	place(false, K_FILE, DB "/sha256/%s/parent", hex('c'));
	/* a base layer: no parent file but the input's */
	place(false, K_FILE, DB "/sha256/%s/parent", hex('a'));
	place(false, K_FILE, DB "/mounts/%s/mount-id", hex('c'));
	place(false, K_FILE, DB "/mounts/%s/init-id", hex('c'));
	place(false, K_FILE, DB "/mounts/%s/parent", hex('c'));
	place(false, K_FILE, "%s/%s", img, hex('e'));
	place(false, K_FILE, "%s/%s", img, hex('f'));
	place(false, K_FILE, "docker/image/overlay2/repositories.json");
	place(false, K_FILE, "docker/containers/%s/config.v2.json", hex('c'));
}

static void build_cs(void)
{
	const char *d = "cs/overlay";

	skel_cs(&ops);
	/* read by store.c through OVL_STORAGE_CONF */
	wr("storage.conf", "[storage]\ndriver = \"overlay\"\n[storage.options.overlay]\n"
	   "mountopt = \"nodev,metacopy=on\"\n");
	place(true, K_FILE, "%s/%s/link", d, hex('b'));
	place(true, K_FILE, "%s/%s/lower", d, hex('b'));
	place(true, K_FILE, "%s/%s/lower", d, hex('c'));
	place(true, K_LINK, "%s/l/%s", d, sn('B'));
	place(true, K_FILE, "%s/l/%s", d, sn('A'));
	place(true, K_LAYER, "%s", d);
	place(true, K_SHORT, "%s/l", d);
	place(true, K_FILE, "cs/overlay-layers/layers.json");
	place(true, K_FILE, "cs/overlay-layers/volatile-layers.json");
	place(true, K_FILE, "cs/overlay-images/images.json");
	place(true, K_FILE, "cs/overlay-containers/containers.json");
	/* none in the valid store */
	place(true, K_FILE, "cs/overlay-containers/volatile-containers.json");
	place(true, K_FILE, "storage.conf");
}

static void free_targets(void)
{
	for (size_t i = 0; i < ntargets; i++)
		free(targets[i].content);
}

static void init(void)
{
	char conf[PATH_MAX + 16];

	tmp_open(free_targets);
	build_docker();
	build_cs();
	snprintf(conf, sizeof(conf), "%s/storage.conf", tmp);
	setenv("OVL_STORAGE_CONF", conf, 1);
}

/* ---- one input ---- */

/* What the input put at a place: removed, and the valid state back. */
static void restore(const struct target *t, const char *name)
{
	char rel[PATH_MAX];

	if (t->fuzz == K_LAYER || t->fuzz == K_SHORT) {
		if (!name)
			return;
		snprintf(rel, sizeof(rel), "%s/%s", t->rel, name);
		if (t->fuzz == K_LAYER) {
			char sub[PATH_MAX + 8];
			snprintf(sub, sizeof(sub), "%s/diff", rel);
			if (unlinkat(tmpfd, sub, AT_REMOVEDIR) < 0 ||
			    unlinkat(tmpfd, rel, AT_REMOVEDIR) < 0)
				die("rmdir", rel);
		} else if (unlinkat(tmpfd, rel, 0) < 0) {
			die("unlink", rel);
		}
		return;
	}
	if (unlinkat(tmpfd, t->rel, 0) < 0 && errno != ENOENT)
		die("unlink", t->rel);
	if (t->valid != K_NONE)
		put(t->valid, t->rel, t->content, strlen(t->content));
}

/* A new name in a dir: a component, not there yet. Returns it, or NULL. */
static char *add_name(const struct target *t, const uint8_t *data, size_t size)
{
	char rel[PATH_MAX], target[128];
	char *name;
	int ret;

	if (!size || size > NAME_MAX || memchr(data, '/', size) || memchr(data, '\0', size) ||
	    (size == 1 && data[0] == '.') || (size == 2 && !memcmp(data, "..", 2)))
		return NULL;
	name = strndup((const char *)data, size);
	snprintf(rel, sizeof(rel), "%s/%s", t->rel, name);
	if (t->fuzz == K_LAYER) {
		ret = mkdirat(tmpfd, rel, 0755);
		if (ret == 0) {
			char sub[PATH_MAX + 8];
			snprintf(sub, sizeof(sub), "%s/diff", rel);
			if (mkdirat(tmpfd, sub, 0755) < 0)
				die("mkdir", sub);
		}
	} else {
		snprintf(target, sizeof(target), "../%s/diff", hex(t->cs ? 'a' : '1'));
		ret = symlinkat(target, tmpfd, rel);
	}
	if (ret < 0) {
		if (errno != EEXIST)
			die("create", rel);
		free(name);
		return NULL;
	}
	return name;
}

static bool in_range(const struct ovl_store *st, long i)
{
	return i == OVL_STORE_NONE || (i >= 0 && (size_t)i < st->nlayers);
}

/* The model's own promises, whatever the bytes. */
static void check_model(const struct ovl_store *st, bool cs)
{
	if (st->kind != (cs ? OVL_STORE_CSTORAGE : OVL_STORE_DOCKER) || !st->driver ||
	    !st->mount_options)
		abort();
	for (size_t i = 0; i < st->nlayers; i++) {
		const struct ovl_store_layer *l = &st->layers[i];
		if (!l->id || !l->label || !in_range(st, l->parent) ||
		    (l->nlower && !l->lower) || (l->link && !l->link_file))
			abort();
		for (size_t k = 0; k < l->nlower; k++)
			if (!l->lower[k] || !l->lower[k][0])
				abort();
	}
	for (size_t i = 0; i < st->nlinks; i++)
		if (!st->links[i].name || !in_range(st, st->links[i].layer))
			abort();
	for (size_t i = 0; i < st->nstacks; i++) {
		const struct ovl_store_stack *sk = &st->stacks[i];
		if (!sk->id || !sk->name || !in_range(st, sk->top) || sk->nchain > st->nlayers)
			abort();
		for (size_t k = 0; k < sk->nchain; k++)
			if (sk->chain[k] < 0 || !in_range(st, sk->chain[k]))
				abort();
	}
	for (size_t i = 0; i < st->nerrors; i++)
		if (!st->errors[i].file || st->errors[i].file[0] != '/' || !st->errors[i].why ||
		    !st->errors[i].why[0])
			abort();
}

static void check_opts(int ret, const struct ovl_opts *o, const char *err, bool container)
{
	if (ret == 0 && (!o->nlower || (container && (!o->upper || !o->work))))
		abort();
	if (ret != 0 && (ret != -1 || !err[0]))
		abort();
}

static void run(const char *dir, bool cs)
{
	struct ovl_store st;
	struct ovl_opts o;
	char err[512];
	int ret;

	store_open_or_die(&st, dir);
	check_model(&st, cs);
	check_book(&st);

	for (size_t i = 0; i < st.nstacks; i++) {
		ovl_opts_init(&o);
		err[0] = '\0';
		ret = ovl_store_stack_opts(&st, &st.stacks[i], &o, err, sizeof(err));
		check_opts(ret, &o, err, st.stacks[i].container);
		ovl_opts_free(&o);
	}
	for (size_t i = 0; i < st.nlayers; i++) {
		ovl_opts_init(&o);
		err[0] = '\0';
		ret = ovl_store_layer_opts(&st, (long)i, &o, err, sizeof(err));
		check_opts(ret, &o, err, false);
		ovl_opts_free(&o);
	}
	ovl_store_close(&st);
}

/* ---- seeds ---- */

struct seed {
	char *b;
	size_t len;
};
static struct seed *seedv;
static size_t nseedv;
static const char **seed_strs;

/* The selector byte of a target: never NUL, so text seeds stay strings. */
static char sel(size_t t)
{
	return (char)(t + ntargets);
}

static void seed(size_t t, const char *bytes, size_t len)
{
	struct seed *s;

	seedv = realloc(seedv, (nseedv + 1) * sizeof(*seedv));
	if (!seedv)
		abort();
	s = &seedv[nseedv++];
	s->b = malloc(len + 1);
	if (!s->b)
		abort();
	s->b[0] = sel(t);
	memcpy(s->b + 1, bytes, len);
	s->len = len + 1;
}

static void seedf(size_t t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seedf(size_t t, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	seed(t, buf, strlen(buf));
}

/* The target whose rel ends with suffix, of one layout. */
static size_t tg(bool cs, const char *suffix)
{
	size_t sl = strlen(suffix);

	for (size_t i = 0; i < ntargets; i++) {
		size_t rl = strlen(targets[i].rel);
		if (targets[i].cs == cs && rl >= sl && !strcmp(targets[i].rel + rl - sl, suffix))
			return i;
	}
	fprintf(stderr, "fuzz_store: no target %s\n", suffix);
	abort();
}

static void nasty_seeds(void)
{
	char deep[512], rel[128];
	size_t t;

	/* deep nesting, in each kind of JSON file */
	memset(deep, '[', 200);
	memset(deep + 200, ']', 200);
	t = tg(true, "/layers.json");
	seed(t, deep, 400);
	seed(t, deep, 150);			/* cut short */
	/* {"a":{"a":...1}}: 60 levels (past json-c's depth), and 30 */
	for (int i = 0; i < 60; i++)
		memcpy(deep + 5 * i, "{\"a\":", 5);
	deep[300] = '1';
	memset(deep + 301, '}', 60);
	seed(tg(false, "/repositories.json"), deep, 361);
	seed(tg(false, hex('f')), deep + 150, 361 - 180);

	/* ids with '/' and '..', loops, huge numbers */
	seedf(t, "[{\"id\":\"../../etc\",\"parent\":\"..\"},{\"id\":\"%s\",\"parent\":\"%s/x\"}]",
	      hex('a'), hex('b'));
	seedf(t, "[{\"id\":\"%s\",\"parent\":\"%s\"},{\"id\":\"%s\",\"parent\":\"%s\"}]",
	      hex('a'), hex('b'), hex('b'), hex('a'));
	seedf(t, "[{\"id\":\".\"},{\"id\":\"l\"},{\"id\":\"staging\",\"parent\":\"l\"},"
	      "{\"id\":1e999999,\"size\":-99999999999999999999999}]");
	seedf(t, "{\"id\":\"%s\"}", hex('a'));
	seedf(t, "[{\"id\":\"%s\",\"parent\":\"%s\"},1,null,[],\"x\"]", hex('a'), hex('a'));
	seedf(tg(true, "/images.json"), "[{\"id\":\"x\",\"names\":[7,\"n\"],\"layer\":\"../%s\"},"
	      "{\"id\":\"\",\"layer\":\"%s\"},{\"id\":\"y\",\"names\":\"n\",\"layer\":\"%s\"}]",
	      hex('b'), hex('b'), hex('a'));
	seedf(tg(true, "/containers.json"), "[{\"id\":\"w\",\"names\":[\"web\\nx\\u0000\"],"
	      "\"layer\":\"%s\"},{\"id\":\"v\",\"layer\":\"%s\"}]", hex('a'), hex('c'));
	seedf(tg(true, "/volatile-containers.json"), "[{\"id\":\"v\",\"layer\":\"%s\"},"
	      "{\"id\":\"w\",\"layer\":\"nope\"}]", hex('b'));
	t = tg(false, hex('f'));
	seedf(t, "{\"rootfs\":{\"diff_ids\":[\"sha256:%s\",1e400,-9223372036854775809,"
	      "\"sha256:%s/..\"]}}", hex('d'), hex('e'));
	seedf(t, "{\"rootfs\":{\"diff_ids\":\"sha256:%s\"}}", hex('d'));
	seedf(t, "{\"rootfs\":[1]}");
	seedf(tg(false, "/repositories.json"), "{\"Repositories\":{\"a\":{\"a@b\":\"sha256:%s\","
	      "\"\":\"sha256:%s\",\"z\":5},\"b\":[]}}", hex('e'), hex('e'));
	snprintf(rel, sizeof(rel), "/sha256/%s/cache-id", hex('b'));
	seedf(tg(false, rel), "../../../%s", hex('2'));
	seedf(tg(false, rel), "%s-init", hex('4'));
	seedf(tg(false, rel), "%s \n\t", hex('1'));
	snprintf(rel, sizeof(rel), "/sha256/%s/parent", hex('b'));
	seedf(tg(false, rel), "sha256:%s", hex('b'));		/* its own parent */
	seedf(tg(false, rel), "sha256:%s", hex('c'));		/* a loop */
	seedf(tg(false, rel), "sha256:../%s", hex('a'));
	seedf(tg(false, "/mount-id"), "%s", hex('2'));		/* a layer of an image */
	seedf(tg(false, "/mount-id"), "%s", hex('1'));
	seedf(tg(false, "/mount-id"), "../%s", hex('4'));
	seedf(tg(false, "/init-id"), "%s-init", hex('3'));
	seedf(tg(false, "/init-id"), "%s", hex('4'));
	snprintf(rel, sizeof(rel), "/mounts/%s/parent", hex('c'));
	seedf(tg(false, rel), "sha256:%s", hex('a'));
	seedf(tg(false, rel), "sha256:%s", hex('7'));
	seedf(tg(false, "/config.v2.json"), "{\"Name\":\"/\"}");
	seedf(tg(false, "/config.v2.json"), "{\"Name\":\"//\\u001b[31m\"} ");

	/* link, lower and l/ files */
	snprintf(rel, sizeof(rel), "%s/lower", hex('2'));
	t = tg(false, rel);
	seedf(t, "l/../../%s", sn('1'));
	seedf(t, "l/%s:", sn('1'));
	seedf(t, ":l/%s", sn('1'));
	seedf(t, "l/%s:l/%s", sn('2'), sn('2'));
	seed(t, "l/AAAAA\0:l/B", 12);
	snprintf(rel, sizeof(rel), "%s/link", hex('2'));
	seed(tg(false, rel), "AAAA\0AAAA", 9);
	seedf(tg(false, rel), "%s\n", sn('2'));
	seedf(tg(false, rel), "%s", sn('3'));			/* another layer's name */
	snprintf(rel, sizeof(rel), "/l/%s", sn('2'));
	t = tg(false, rel);
	seedf(t, "../%s/diff/../../%s/diff", hex('1'), hex('2'));
	seedf(t, "/%s/diff", hex('2'));
	seedf(t, "../%s/diff", hex('9'));
	seedf(t, "../../../../../../../etc/diff");
	seedf(tg(false, "/overlay2"), "%s", hex('9'));		/* an orphan */
	seedf(tg(false, "/overlay2"), "%s", sn('Q'));
	seedf(tg(false, "/overlay2/l"), "%s", sn('Q'));
	seedf(tg(true, "/overlay/l"), "%s", sn('B'));
	seedf(tg(true, "storage.conf"), "[storage.options]\nmountopt = \"index=on,"
	      "lowerdir=/x,metacopy=on,redirect_dir=nope\"\n");
	seedf(tg(true, "storage.conf"), "[storage.options.overlay]\nmountopt = \"xino=");
	seedf(tg(true, "storage.conf"), "[storage.options.overlay]\nmountopt=\"volatile,"
	      "userxattr,uuid=,verity=x\"");
}

static void make_seeds(void)
{
	const char *dir = getenv("FUZZ_SEED_DIR");

	for (size_t t = 0; t < ntargets; t++)
		if (targets[t].valid != K_NONE)
			seed(t, targets[t].content, strlen(targets[t].content));
	nasty_seeds();

	seed_strs = calloc(nseedv + 1, sizeof(*seed_strs));
	for (size_t i = 0; i < nseedv; i++) {
		struct seed *s = &seedv[i];
		char *str;

		if (!memchr(s->b, '\0', s->len)) {
			str = strndup(s->b, s->len);
		} else {
			str = malloc(4 + 2 * s->len + 1);
			strcpy(str, "hex:");
			for (size_t k = 0; k < s->len; k++)
				sprintf(str + 4 + 2 * k, "%02x", (unsigned char)s->b[k]);
		}
		seed_strs[i] = str;
		if (dir && *dir) {
			char path[PATH_MAX];
			FILE *f;

			snprintf(path, sizeof(path), "%s/seed-%03zu", dir, i);
			f = fopen(path, "we");
			if (!f || fwrite(s->b, 1, s->len, f) != s->len || fclose(f))
				die("write", path);
		}
	}
}

static void once(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	init();
	make_seeds();
}

/* libFuzzer: before it reads its corpus dirs, so FUZZ_SEED_DIR can be one */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	once();
	return 0;
}

const char *const *fuzz_seeds(size_t *n)
{
	once();
	*n = nseedv;
	return seed_strs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct target *t;
	char dir[PATH_MAX + 32], *name = NULL;
	bool driver;

	once();
	if (size == 0)
		return 0;
	t = &targets[(data[0] & 0x7f) % ntargets];
	driver = data[0] & 0x80;
	data++;
	size--;
	if (t->fuzz == K_LAYER || t->fuzz == K_SHORT) {
		name = add_name(t, data, size);
	} else {
		if (unlinkat(tmpfd, t->rel, 0) < 0 && errno != ENOENT)
			die("unlink", t->rel);
		put(t->fuzz, t->rel, (const char *)data, size);
	}
	snprintf(dir, sizeof(dir), "%s/%s%s", tmp, t->cs ? "cs" : "docker",
		 driver ? (t->cs ? "/overlay" : "/overlay2") : "");
	run(dir, t->cs);
	restore(t, name);
	free(name);
	return 0;
}
