/*
 * The tar-split reader (tarsplit.c), the tar headers it carries
 * (tarhdr.c) and one layer verified against its record (content.c), on
 * records made in memory (tests/tarsplit_make.h) and dirs made here.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/content.h"
#include "overlay/tarhdr.h"
#include "overlay/tarsplit.h"

#define SUITE_TAG "tarsplit"
#include "tmptree.h"
#include "unit.h"
#include "../tarsplit_make.h"

/* Go's crc64.Checksum("123456789", crc64.MakeTable(crc64.ISO)) */
START_TEST(crc64_iso_is_gos)
{
	ck_assert_uint_eq(crc64_iso_refl(0, (const unsigned char *)"123456789", 9),
			  0xb90956c775a41001ULL);
	/* chained in pieces: the same */
	uint64_t c = crc64_iso_refl(0, (const unsigned char *)"1234", 4);
	ck_assert_uint_eq(crc64_iso_refl(c, (const unsigned char *)"56789", 5),
			  0xb90956c775a41001ULL);
}
END_TEST

/* Read every entry of gz; returns the count or -1 (why). */
static int read_all(const void *gz, size_t len, char *why, struct ovl_ts_entry *last_file)
{
	struct ovl_ts_reader *r = ovl_ts_open_mem(gz, len);
	struct ovl_ts_entry e;
	int n = 0, rc;

	while ((rc = ovl_ts_next(r, &e, why, 256)) == 1) {
		n++;
		if (e.type == OVL_TS_FILE && last_file)
			*last_file = e;
	}
	ovl_ts_close(r);
	return rc < 0 ? -1 : n;
}

START_TEST(reader_entries)
{
	struct tm m = { 0 };
	const char *lines =
		"{\"type\":2,\"payload\":\"aGVsbG8=\",\"position\":0}\n"
		"\n"
		"{\"type\":1,\"name\":\"./a/b\",\"size\":5,\"payload\":\"AAECAwQFBgc=\",\"position\":1}\n"
		"{\"type\":1,\"name_raw\":\"/w==\",\"size\":0,\"payload\":null,\"position\":2}";
	size_t gzlen;
	unsigned char *gz = tm_gzip(lines, strlen(lines), &gzlen);
	struct ovl_ts_reader *r = ovl_ts_open_mem(gz, gzlen);
	struct ovl_ts_entry e;
	char why[256];

	ck_assert_int_eq(ovl_ts_next(r, &e, why, sizeof(why)), 1);
	ck_assert_int_eq(e.type, OVL_TS_SEGMENT);
	ck_assert_uint_eq(e.len, 5);
	ck_assert_mem_eq(e.payload, "hello", 5);
	ck_assert_int_eq(ovl_ts_next(r, &e, why, sizeof(why)), 1);	/* the blank line skipped */
	ck_assert_int_eq(e.type, OVL_TS_FILE);
	ck_assert_uint_eq(e.namelen, 5);
	ck_assert_mem_eq(e.name, "./a/b", 5);
	ck_assert_int_eq(e.size, 5);
	ck_assert(e.has_crc);
	ck_assert_uint_eq(e.crc, 0x0001020304050607ULL);	/* big-endian */
	ck_assert_int_eq(ovl_ts_next(r, &e, why, sizeof(why)), 1);	/* no '\n' at the end */
	ck_assert_uint_eq(e.namelen, 1);
	ck_assert_uint_eq((unsigned char)e.name[0], 0xff);	/* name_raw: not UTF-8 */
	ck_assert(!e.has_crc);
	ck_assert_int_eq(ovl_ts_next(r, &e, why, sizeof(why)), 0);
	ovl_ts_close(r);
	free(gz);
	tm_free(&m);
}
END_TEST

static void expect_bad(const char *lines, const char *want)
{
	size_t gzlen;
	unsigned char *gz = tm_gzip(lines, strlen(lines), &gzlen);
	char why[256] = "";

	ck_assert_int_eq(read_all(gz, gzlen, why, NULL), -1);
	ck_assert_msg(strstr(why, want), "\"%s\" does not say \"%s\"", why, want);
	free(gz);
}

START_TEST(reader_refuses)
{
	char why[256] = "";
	size_t gzlen;
	const char *ok = "{\"type\":2,\"payload\":\"aGVsbG8=\"}\n";
	unsigned char *gz = tm_gzip(ok, strlen(ok), &gzlen);

	ck_assert_int_eq(read_all("plain text", 10, why, NULL), -1);
	ck_assert_str_eq(why, "not gzip");
	ck_assert_int_eq(read_all(gz, gzlen - 5, why, NULL), -1);	/* no trailer */
	ck_assert_str_eq(why, "gzip stream cut short");
	gz[gzlen / 2] ^= 0x55;						/* CRC32 or data */
	ck_assert_int_eq(read_all(gz, gzlen, why, NULL), -1);
	ck_assert_int_eq(read_all("", 0, why, NULL), -1);
	ck_assert_str_eq(why, "empty");
	free(gz);

	expect_bad("{\"type\":2,\"payload\":\"aGVsbG8=\"", "not one JSON object");
	expect_bad("{\"type\":2} {\"type\":2}", "bytes after it");
	expect_bad("[1,2]", "without a type");
	expect_bad("{\"type\":3}", "unknown type 3");
	expect_bad("{\"type\":2,\"payload\":\"a!b=\"}", "not base64");
	expect_bad("{\"type\":1,\"name\":\"a\",\"size\":-1}", "bad size");
	expect_bad("{\"type\":1,\"name\":\"a\",\"size\":1,\"payload\":\"AAE=\"}", "not 8 bytes");
	expect_bad("{\"type\":1,\"size\":1}", "without a name");

	/* one line over the bound: refused, not grown without end */
	size_t big = OVL_TS_LINE_MAX + 10;
	char *line = malloc(big + 1);
	memset(line, ' ', big);
	line[big] = '\0';
	expect_bad(line, "longer than");
	free(line);
}
END_TEST

/* Feed a segment, take the member. */
static const struct ovl_tar_member *one(struct ovl_tarhdr *t, const void *b, size_t n)
{
	char why[256];

	ck_assert_int_eq(ovl_tarhdr_feed(t, b, n, why, sizeof(why)), 0);
	return ovl_tarhdr_member(t, why, sizeof(why));
}

START_TEST(tarhdr_members)
{
	struct ovl_tarhdr *t = ovl_tarhdr_new();
	unsigned char blk[1536], zero[1024] = { 0 };
	const struct ovl_tar_member *m;
	char why[256];

	tm_header(blk, "etc/passwd", '0', 04755, 1000, 100, 700, NULL);
	m = one(t, blk, 512);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->type, '0');
	ck_assert_uint_eq(m->mode, 04755);
	ck_assert_uint_eq(m->uid, 1000);
	ck_assert_uint_eq(m->gid, 100);
	ck_assert_int_eq(m->size, 700);
	ck_assert_uint_eq(m->namelen, 10);
	ck_assert_mem_eq(m->name, "etc/passwd", 10);
	/* its padding (324 bytes), fed in two pieces, then a symlink */
	ck_assert_int_eq(ovl_tarhdr_feed(t, zero, 300, why, sizeof(why)), 0);
	tm_header(blk, "bin/sh", '2', 0777, 0, 0, 0, "busybox");
	memcpy(blk + 512, blk, 512);
	memset(blk, 0, 24);
	ck_assert_int_eq(ovl_tarhdr_feed(t, blk, 24, why, sizeof(why)), 0);
	m = one(t, blk + 512, 512);
	ck_assert_int_eq(m->type, '2');
	ck_assert_uint_eq(m->linklen, 7);
	ck_assert_mem_eq(m->linkname, "busybox", 7);
	ck_assert_int_eq(ovl_tar_data_size(m), 0);

	/* ustar prefix joined to the name */
	tm_header(blk, "file", '0', 0644, 0, 0, 0, NULL);
	memcpy(blk + 345, "a/long/dir", 10);
	unsigned sum = 0;
	memset(blk + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += blk[i];
	snprintf((char *)blk + 148, 8, "%06o", sum);
	m = one(t, blk, 512);
	ck_assert_uint_eq(m->namelen, 15);
	ck_assert_mem_eq(m->name, "a/long/dir/file", 15);

	/* a PAX header: path, size and uid win over the header's */
	const char *pax = "29 path=a/very/long/pax/name\n" "13 size=1234\n" "12 uid=4242\n";
	size_t plen = strlen(pax);
	tm_header(blk, "PaxHeaders/x", 'x', 0644, 0, 0, (long long)plen, NULL);
	memset(blk + 512, 0, 512);
	memcpy(blk + 512, pax, plen);
	tm_header(blk + 1024, "short", '0', 0600, 0, 0, 1, NULL);
	m = one(t, blk, 1536);
	ck_assert_mem_eq(m->name, "a/very/long/pax/name", 20);
	ck_assert_int_eq(m->size, 1234);
	ck_assert_uint_eq(m->uid, 4242);
	/* its padding follows the PAX size (302 bytes), not the header's 1 */
	ck_assert_int_eq(ovl_tarhdr_feed(t, zero, 512 - 1234 % 512, why, sizeof(why)), 0);
	tm_header(blk, "next", '5', 0755, 0, 0, 0, NULL);
	m = one(t, blk, 512);
	ck_assert_ptr_nonnull(m);
	ck_assert_mem_eq(m->name, "next", 4);
	ck_assert_uint_eq(m->uid, 0);	/* a PAX uid is for one member only */
	ovl_tarhdr_free(t);

	/* a GNU long name, and a v7 '\0' member ending in '/' is a dir */
	t = ovl_tarhdr_new();
	tm_header(blk, "././@LongLink", 'L', 0, 0, 0, 5, NULL);
	memset(blk + 512, 0, 512);
	memcpy(blk + 512, "gnu/", 5);	/* with its NUL */
	tm_header(blk + 1024, "cut", '\0', 0755, 0, 0, 0, NULL);
	m = one(t, blk, 1536);
	ck_assert_uint_eq(m->namelen, 4);
	ck_assert_mem_eq(m->name, "gnu/", 4);
	ck_assert_int_eq(m->type, '5');
	ck_assert_int_eq(ovl_tarhdr_feed(t, zero, 1024, why, sizeof(why)), 0);
	ck_assert(ovl_tarhdr_complete(t));
	ck_assert_int_eq(ovl_tarhdr_feed(t, (const unsigned char *)"tail", 4, why, sizeof(why)), 0);
	ovl_tarhdr_free(t);
}
END_TEST

START_TEST(tarhdr_refuses)
{
	struct ovl_tarhdr *t = ovl_tarhdr_new();
	unsigned char blk[512];
	char why[256];

	tm_header(blk, "a", '0', 0644, 0, 0, 3, NULL);
	blk[0] = 'b';	/* the checksum no longer matches */
	ck_assert_int_eq(ovl_tarhdr_feed(t, blk, 512, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "checksum"));
	ovl_tarhdr_free(t);

	/* a member's data must come from its file entry, not a segment */
	t = ovl_tarhdr_new();
	tm_header(blk, "a", '0', 0644, 0, 0, 3, NULL);
	ck_assert_int_eq(ovl_tarhdr_feed(t, blk, 512, why, sizeof(why)), 0);
	ck_assert_int_eq(ovl_tarhdr_feed(t, (const unsigned char *)"abc", 3, why, sizeof(why)), -1);
	ovl_tarhdr_free(t);

	/* a file entry with no header before it */
	t = ovl_tarhdr_new();
	ck_assert_ptr_null(ovl_tarhdr_member(t, why, sizeof(why)));
	ovl_tarhdr_free(t);

	/* GNU sparse: tar-split cannot rebuild it */
	t = ovl_tarhdr_new();
	tm_header(blk, "s", 'S', 0644, 0, 0, 3, NULL);
	ck_assert_int_eq(ovl_tarhdr_feed(t, blk, 512, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "sparse"));
	ovl_tarhdr_free(t);

	/* base-256 numbers parse, bad octal does not */
	t = ovl_tarhdr_new();
	tm_header(blk, "n", '0', 0644, 0, 0, 0, NULL);
	memset(blk + 108, 0, 8);
	blk[108] = 0x80;
	blk[115] = 0x2a;	/* uid 42 in base 256 */
	unsigned sum = 0;
	memset(blk + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += blk[i];
	snprintf((char *)blk + 148, 8, "%06o", sum);
	const struct ovl_tar_member *m = one(t, blk, 512);
	ck_assert_uint_eq(m->uid, 42);
	ovl_tarhdr_free(t);
}
END_TEST

/* ---- a layer against its record ---- */

static void wr(const char *rel, const char *text, mode_t mode)
{
	FILE *f = fopen(P("%s", rel), "we");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(P("%s", rel), mode), 0);
}

/* The layer "l" of the test: what its record (built alongside) says. */
static void make_layer(struct tm *m, const char *name)
{
	umask(022);
	snprintf(base, sizeof(base), "%s/%s", top, name);
	ck_assert_int_eq(mkdir(base, 0755), 0);
	mkdir(P("l"), 0755);
	mkdir(P("l/etc"), 0755);
	wr("l/etc/passwd", "root:x:0:0::/:/bin/sh\n", 0644);
	wr("l/etc/big", "", 0600);
	ck_assert_int_eq(symlink("passwd", P("l/etc/link")), 0);
	ck_assert_int_eq(link(P("l/etc/passwd"), P("l/etc/hard")), 0);
	ck_assert_int_eq(mkfifo(P("l/etc/fifo"), 0640), 0);

	unsigned char big[3000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 13);
	FILE *f = fopen(P("l/etc/big"), "we");
	ck_assert_uint_eq(fwrite(big, 1, sizeof(big), f), sizeof(big));
	fclose(f);

	tm_member(m, "./", '5', 0755, NULL, 0, NULL);
	tm_member(m, "./etc/", '5', 0755, NULL, 0, NULL);
	tm_member(m, "./etc/passwd", '0', 0644, "root:x:0:0::/:/bin/sh\n", 22, NULL);
	tm_member(m, "./etc/big", '0', 0600, big, sizeof(big), NULL);
	tm_member(m, "./etc/link", '2', 0777, NULL, 0, "passwd");
	tm_member(m, "./etc/hard", '1', 0644, NULL, 0, "./etc/passwd");
	tm_member(m, "./etc/fifo", '6', 0640, NULL, 0, NULL);
	tm_end(m);
}

/* Verify the layer "l" against the record (owners mapped or not). */
static void verify_mapped(struct tm *m, const char *digest, bool skip_owner,
			  struct ovl_content_result *res)
{
	size_t gzlen;
	unsigned char *gz = tm_gzip(m->json.b, m->json.len, &gzlen);
	int rfd = memfd_create("record", 0);
	int dfd = open(P("l"), O_RDONLY | O_DIRECTORY);

	ck_assert_int_ge(rfd, 0);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(write(rfd, gz, gzlen), (ssize_t)gzlen);
	lseek(rfd, 0, SEEK_SET);
	struct ovl_content_in in = { .recordfd = rfd, .difffd = dfd, .digest = digest,
				     .size = (long long)m->tar.len, .skip_owner = skip_owner };
	ovl_content_verify(&in, res);
	close(rfd);
	close(dfd);
	free(gz);
}

static void verify(struct tm *m, const char *digest, struct ovl_content_result *res)
{
	verify_mapped(m, digest, false, res);
}

static bool has(const struct ovl_content_result *r, enum ovl_problem_code code,
		const char *path)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->f[i].code == code && !strcmp(r->f[i].path, path))
			return true;
	return false;
}

START_TEST(layer_clean)
{
	struct tm m = { 0 };
	struct ovl_content_result res;
	char digest[65];

	make_layer(&m, "clean");
	tm_digest(&m, digest);
	verify(&m, digest, &res);
	for (size_t i = 0; i < res.n; i++)
		ck_abort_msg("finding %s: %s", res.f[i].path, res.f[i].detail);
	ck_assert(res.record_read);
	ck_assert(res.digest_checked && res.digest_match);
	ck_assert_uint_eq(res.members, 7);
	ck_assert_uint_eq(res.bytes, m.tar.len);
	ck_assert_str_eq(res.sha256, digest);
	ovl_content_result_free(&res);
	tm_free(&m);
}
END_TEST

START_TEST(layer_damaged)
{
	struct tm m = { 0 };
	struct ovl_content_result res;
	char digest[65];

	make_layer(&m, "damaged");
	tm_digest(&m, digest);
	/* one byte of big flipped, passwd cut, the fifo gone, a file added,
	 * the link re-pointed, a mode changed */
	int fd = open(P("l/etc/big"), O_WRONLY);
	ck_assert_int_eq(pwrite(fd, "X", 1, 2000), 1);
	close(fd);
	ck_assert_int_eq(truncate(P("l/etc/passwd"), 4), 0);
	unlink(P("l/etc/fifo"));
	wr("l/etc/added", "x", 0644);
	unlink(P("l/etc/link"));
	ck_assert_int_eq(symlink("shadow", P("l/etc/link")), 0);
	ck_assert_int_eq(chmod(P("l/etc"), 0700), 0);
	verify(&m, digest, &res);
	ck_assert(has(&res, PR_CT_DATA, "/etc/big"));
	ck_assert(has(&res, PR_CT_SIZE, "/etc/passwd"));
	ck_assert(has(&res, PR_CT_MISSING, "/etc/fifo"));
	ck_assert(has(&res, PR_CT_EXTRA, "/etc/added"));
	ck_assert(has(&res, PR_CT_LINK, "/etc/link"));
	ck_assert(has(&res, PR_CT_MODE, "/etc"));
	ck_assert(has(&res, PR_CT_DIGEST, "/"));
	ck_assert_uint_eq(res.n, 7);
	ck_assert(res.digest_checked && !res.digest_match);
	ovl_content_result_free(&res);
	tm_free(&m);
}
END_TEST

START_TEST(layer_whiteouts_and_bad_names)
{
	struct tm m = { 0 };
	struct ovl_content_result res;

	umask(022);
	snprintf(base, sizeof(base), "%s/%s", top, "wh");
	ck_assert_int_eq(mkdir(base, 0755), 0);
	mkdir(P("l"), 0755);
	tm_member(&m, "gone/", '5', 0755, NULL, 0, NULL);
	tm_member(&m, "gone/.wh..wh..opq", '0', 0644, NULL, 0, NULL);
	tm_member(&m, ".wh.old", '0', 0644, NULL, 0, NULL);
	tm_member(&m, "../escape", '0', 0644, "x", 1, NULL);
	tm_end(&m);
	mkdir(P("l/gone"), 0755);
	/* no whiteout for old, gone is not opaque, and old is a regular file */
	wr("l/old", "", 0644);
	verify(&m, NULL, &res);
	ck_assert(has(&res, PR_CT_TYPE, "/old"));
	ck_assert(has(&res, PR_CT_MISSING, "/gone"));
	ck_assert(has(&res, PR_CT_RECORD_BAD, "/"));
	ck_assert(!res.digest_checked);
	ovl_content_result_free(&res);

	/* a record cut inside the tar (Go's reader takes an end at a block
	 * boundary, not inside a header) */
	struct tm cut = { 0 };
	unsigned char blk[512];
	tm_member(&cut, "a", '5', 0755, NULL, 0, NULL);
	tm_header(blk, "b", '5', 0755, 0, 0, 0, NULL);
	tm_segment(&cut, blk, 100);
	verify(&cut, NULL, &res);
	ck_assert(has(&res, PR_CT_RECORD_BAD, "/"));
	ck_assert(!res.record_read);
	ovl_content_result_free(&res);
	tm_free(&cut);
	tm_free(&m);
}
END_TEST

/* Owners as recorded, unless the layer was unpacked with an ID mapping. */
START_TEST(layer_owner_mapped)
{
	struct tm m = { 0 };
	struct ovl_content_result res;
	unsigned char blk[512], zero[1024] = { 0 };

	umask(022);
	snprintf(base, sizeof(base), "%s/%s", top, "owner");
	ck_assert_int_eq(mkdir(base, 0755), 0);
	ck_assert_int_eq(mkdir(P("l"), 0755), 0);
	ck_assert_int_eq(mkdir(P("l/d"), 0755), 0);
	tm_header(blk, "d/", '5', 0755, getuid() + 100000, getgid() + 100000, 0, NULL);
	tm_segment(&m, blk, 512);
	tm_file(&m, "d/", NULL, 0);
	tm_segment(&m, zero, sizeof(zero));
	verify(&m, NULL, &res);
	ck_assert(has(&res, PR_CT_OWNER, "/d"));
	ck_assert_uint_eq(res.n, 1);
	ovl_content_result_free(&res);

	verify_mapped(&m, NULL, true, &res);
	ck_assert_uint_eq(res.n, 0);
	ovl_content_result_free(&res);
	tm_free(&m);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("tarsplit");
	TCase *tc = tcase_create("tarsplit");

	tcase_add_unchecked_fixture(tc, top_setup, top_teardown);
	tcase_add_test(tc, crc64_iso_is_gos);
	tcase_add_test(tc, reader_entries);
	tcase_add_test(tc, reader_refuses);
	tcase_add_test(tc, tarhdr_members);
	tcase_add_test(tc, tarhdr_refuses);
	tcase_add_test(tc, layer_clean);
	tcase_add_test(tc, layer_damaged);
	tcase_add_test(tc, layer_whiteouts_and_bad_names);
	tcase_add_test(tc, layer_owner_mapped);
	suite_add_tcase(s, tc);
	return s;
}
