/*
 * Fuzz target: the tar-split reader (tarsplit.c), the tar headers in its
 * segments (tarhdr.c) and a layer verified against a record
 * (content.c). The input is used three ways:
 *   - as the gzip record itself (the gzip and line layers);
 *   - gzip-compressed by the target, as the record's JSON lines;
 *   - as raw tar bytes fed to the header reader in two pieces;
 * and, the second way, verified against a small layer dir made once in
 * $TMPDIR (hostile names, whiteouts, links): never a crash, a hang or a
 * leak, findings bounded, nothing outside the dir read.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/content.h"
#include "overlay/tarhdr.h"
#include "overlay/tarsplit.h"
#include "../tarsplit_make.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_seeds(size_t *n);

static const char *const seeds[] = {
	"{\"type\":2,\"payload\":\"aGVsbG8=\",\"position\":0}\n",
	"{\"type\":1,\"name\":\"./etc/passwd\",\"size\":3,\"payload\":\"AAECAwQFBgc=\",\"position\":1}\n",
	"{\"type\":1,\"name\":\"../../etc/shadow\",\"size\":0,\"payload\":null}\n",
	"{\"type\":1,\"name_raw\":\"/w==\",\"size\":0}\n{\"type\":2}\n",
	"{\"type\":1,\"name\":\"a/.wh..wh..opq\",\"size\":0}\n",
	"{\"type\":1,\"name\":\"link/x\",\"size\":5,\"payload\":\"AAAAAAAAAAA=\"}\n",
};

const char *const *fuzz_seeds(size_t *n)
{
	*n = sizeof(seeds) / sizeof(seeds[0]);
	return seeds;
}

static char layer[256];

static void rm_layer(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", layer);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", layer);
}

/* A layer dir with a file, a dir, a symlink out of it and a whiteout's
 * name as a plain file. */
static int layer_fd(void)
{
	static int fd = -1;
	char p[300];
	const char *tmp = getenv("TMPDIR");

	if (fd >= 0)
		return fd;
	snprintf(layer, sizeof(layer), "%s/fuzz-tarsplit-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(layer))
		abort();
	atexit(rm_layer);
	snprintf(p, sizeof(p), "%s/etc", layer);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc/passwd", layer);
	FILE *f = fopen(p, "we");
	if (!f)
		abort();
	fputs("abc", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/link", layer);
	if (symlink("/etc", p) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/.wh.x", layer);
	f = fopen(p, "we");
	if (f)
		fclose(f);
	fd = open(layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		abort();
	return fd;
}

static void read_record(const void *gz, size_t len)
{
	struct ovl_ts_reader *r = ovl_ts_open_mem(gz, len);
	struct ovl_tarhdr *t = ovl_tarhdr_new();
	struct ovl_ts_entry e;
	char why[256];
	int rc;

	while ((rc = ovl_ts_next(r, &e, why, sizeof(why))) == 1) {
		if (e.type == OVL_TS_SEGMENT) {
			if (ovl_tarhdr_feed(t, e.payload, e.len, why, sizeof(why)) < 0)
				break;
		} else {
			if (e.namelen == 0 || e.size < 0)
				abort();
			const struct ovl_tar_member *m = ovl_tarhdr_member(t, why, sizeof(why));
			if (m && (m->mode > 07777 || ovl_tar_data_size(m) < 0))
				abort();
		}
	}
	if (rc < 0 && !memchr(why, '\0', sizeof(why)))
		abort();
	ovl_tarhdr_free(t);
	ovl_ts_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];

	/* 1: the bytes as the gzip file */
	read_record(data, size);

	/* 2: the bytes as the record's lines, and a layer checked by them */
	size_t gzlen;
	unsigned char *gz = tm_gzip(data, size, &gzlen);
	read_record(gz, gzlen);
	int rfd = memfd_create("record", MFD_CLOEXEC);
	if (rfd < 0 || write(rfd, gz, gzlen) != (ssize_t)gzlen || lseek(rfd, 0, SEEK_SET) != 0)
		abort();
	struct ovl_content_in in = { .recordfd = rfd, .difffd = layer_fd(),
				     .digest = "00", .size = -1 };
	struct ovl_content_result res;
	ovl_content_verify(&in, &res);
	if (res.n > OVL_CONTENT_FINDINGS_MAX || (res.record_read && strlen(res.sha256) != 64))
		abort();
	for (size_t i = 0; i < res.n; i++)
		if (res.f[i].path[0] != '/' || !res.f[i].detail)
			abort();
	ovl_content_result_free(&res);
	close(rfd);
	free(gz);

	/* 3: the bytes as raw tar, cut in two */
	struct ovl_tarhdr *t = ovl_tarhdr_new();
	size_t half = size / 2;
	if (ovl_tarhdr_feed(t, data, half, why, sizeof(why)) == 0 &&
	    ovl_tarhdr_feed(t, data + half, size - half, why, sizeof(why)) == 0)
		(void)ovl_tarhdr_complete(t);
	ovl_tarhdr_free(t);
	return 0;
}
