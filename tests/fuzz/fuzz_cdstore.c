/*
 * Fuzz target: containerd's store as store_containerd.c reads it from
 * the two bbolt files, and the checks and units on that model.
 *
 * Once per process the valid containerd store of tests/store_skel.h
 * (skel_containerd: an image of two committed snapshots, a container, a
 * view, a bare active snapshot, a committed snapshot of no image) is made
 * in a temp dir. The first input byte picks the file (bit 0: the
 * snapshotter's metadata.db, or containerd's meta.db) and how the store
 * is opened (bit 1: by its snapshotter dir); the rest are patches of that
 * file (bm_patch: offset, count, bytes). Then open, the model's promises,
 * the checks with -n and a -y plan (nothing applied), the units and
 * their mount options, close, and the valid file back.
 *
 * Never crash, leak or hang; the model stays consistent (indices in
 * range, labels set, errors said). The temp dir goes at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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
#include "overlay/storefsck.h"
#include "../../src/lib/check/check_store.h"
#include "../store_skel.h"
#define FUZZ_NAME "fuzz-cdstore"
#include "store_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_seeds(size_t *n);

static const char *const files[2] = { SKEL_CD_SNAPDB, SKEL_CD_META };
static unsigned char *valid[2];
static size_t valid_len[2];

static void wrb(const char *rel, const void *bytes, size_t len)
{
	int fd = openat(tmpfd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		die("create", rel);
	if (len && write(fd, bytes, len) != (ssize_t)len)
		die("write", rel);
	close(fd);
}

static void wr(const char *rel, const char *text)
{
	wrb(rel, text, strlen(text));
}

static void ln(const char *target, const char *rel)
{
	if (symlinkat(target, tmpfd, rel) < 0)
		die("symlink", rel);
}

static const struct skel_ops ops = { mkp, wr, ln, wrb };

/* The valid file's bytes, as the skeleton wrote them. */
static void keep(int i)
{
	struct stat sb;
	int fd = openat(tmpfd, files[i], O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) < 0)
		die("open", files[i]);
	valid_len[i] = (size_t)sb.st_size;
	valid[i] = malloc(valid_len[i]);
	if (!valid[i] || read(fd, valid[i], valid_len[i]) != (ssize_t)valid_len[i])
		die("read", files[i]);
	close(fd);
}

static void free_valid(void)
{
	free(valid[0]);
	free(valid[1]);
}

static void init(void)
{
	tmp_open(free_valid);
	skel_containerd(&ops, 0);
	keep(0);
	keep(1);
}

static bool in_range(const struct ovl_store *st, long i)
{
	return i == OVL_STORE_NONE || (i >= 0 && (size_t)i < st->nlayers);
}

/* The model's own promises, whatever the bytes. */
static void check_model(const struct ovl_store *st)
{
	if (st->kind != OVL_STORE_CONTAINERD || !st->driver || !st->mount_options ||
	    st->nlinks)
		abort();
	for (size_t i = 0; i < st->nlayers; i++) {
		const struct ovl_store_layer *l = &st->layers[i];
		if (!l->id || !l->label || !in_range(st, l->parent) ||
		    (l->known && !l->key) || (l->parent != OVL_STORE_NONE && l->parent_missing) ||
		    l->rw + l->committed + l->view > 1)
			abort();
	}
	for (size_t i = 0; i < st->nstacks; i++) {
		const struct ovl_store_stack *sk = &st->stacks[i];
		if (!sk->id || !sk->name || !in_range(st, sk->top) || sk->nchain > st->nlayers ||
		    (sk->ref && sk->top != OVL_STORE_NONE))
			abort();
		for (size_t k = 0; k < sk->nchain; k++)
			if (sk->chain[k] < 0 || !in_range(st, sk->chain[k]))
				abort();
	}
	for (size_t i = 0; i < st->nerrors + st->nname_errors; i++) {
		const struct ovl_store_error *e = i < st->nerrors ? &st->errors[i] :
						  &st->name_errors[i - st->nerrors];
		if (!e->file || e->file[0] != '/' || !e->why || !e->why[0])
			abort();
	}
}

static void run(const char *dir)
{
	struct ovl_store st;
	struct ovl_store_unit *u;
	char err[512];
	size_t n;

	store_open_or_die(&st, dir);
	check_model(&st);
	check_book(&st);
	n = ovl_store_units(&st, &u);
	if (n && st.nerrors)
		abort();	/* nothing is checked over a guess */
	for (size_t i = 0; i < n; i++) {
		struct ovl_opts o;
		struct ovl_fsck_opts fo = { 0 };
		ovl_opts_init(&o);
		err[0] = '\0';
		int ret = ovl_store_unit_opts(&st, &u[i], &o, &fo, err, sizeof(err));
		if (ret == 0 && (!o.nlower || (u[i].stack && (!o.upper || !o.work))))
			abort();
		if (ret != 0 && !err[0])
			abort();
		ovl_opts_free(&o);
	}
	ovl_store_units_free(u, n);
	ovl_store_close(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[PATH_MAX + 64];
	unsigned char *db;
	int f;

	if (tmpfd < 0)
		init();
	if (size < 1)
		return 0;
	f = data[0] & 1;
	db = malloc(valid_len[f]);
	if (!db)
		abort();
	memcpy(db, valid[f], valid_len[f]);
	bm_patch(db, valid_len[f], data + 1, size - 1);
	wrb(files[f], db, valid_len[f]);
	free(db);
	snprintf(dir, sizeof(dir), "%s/%s", tmp, data[0] & 2 ? SKEL_CD_SNAPS : SKEL_CD_ROOT);
	run(dir);
	wrb(files[f], valid[f], valid_len[f]);
	return 0;
}

const char *const *fuzz_seeds(size_t *n)
{
	/* no patch; a snapshot's id, kind or parent byte; a meta.db label;
	 * the root page id of the snapshotter's metadata */
	static const char *const seeds[] = {
		"hex:00", "hex:01", "hex:02",
		"hex:00" "4006" "01" "09",
		"hex:00" "8006" "04" "ffffffff",
		"hex:01" "4006" "02" "0000",
		"hex:00" "0300" "08" "0100000000000000",
	};

	*n = sizeof(seeds) / sizeof(seeds[0]);
	return seeds;
}
