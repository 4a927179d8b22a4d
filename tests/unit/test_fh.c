/* Unit tests: file handle parse/encode/hex and name_to_handle_at. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/fh.h"
#include "overlay/util.h"
#include "unit.h"

/* A real ext4 origin as seen on disk: 29 bytes, type 1, 8-byte fid. */
static const uint8_t seen[29] = {
	0x00, 0xfb, 0x1d, 0x00, 0x01,
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
	0x0c, 0x00, 0x00, 0x00, 0x9d, 0x3b, 0x7a, 0x5e,
};

static enum ovl_fh_err parse_mod(size_t size, int idx, uint8_t val)
{
	uint8_t b[64];
	struct ovl_fh fh;

	memcpy(b, seen, sizeof(seen));
	memset(b + sizeof(seen), 0, sizeof(b) - sizeof(seen));
	if (idx >= 0)
		b[idx] = val;
	return ovl_fh_parse(b, size, &fh);
}

START_TEST(test_parse_valid)
{
	struct ovl_fh fh;
	uint8_t out[OVL_FH_MAX_LEN];

	ck_assert_int_eq(ovl_fh_parse(seen, sizeof(seen), &fh), OVL_FH_OK);
	ck_assert_int_eq(fh.version, 0);
	ck_assert_int_eq(fh.magic, 0xfb);
	ck_assert_int_eq(fh.len, 29);
	ck_assert_int_eq(fh.flags, 0);
	ck_assert_int_eq(fh.type, 1);
	ck_assert_uint_eq(fh.fid_len, 8);
	ck_assert_mem_eq(fh.uuid, seen + 5, 16);
	ck_assert_mem_eq(fh.fid, seen + 21, 8);
	ck_assert(!ovl_fh_uuid_is_null(&fh));
	ck_assert_uint_eq(ovl_fh_encode(&fh, out, sizeof(out)), 29);
	ck_assert_mem_eq(out, seen, 29);
	ck_assert_uint_eq(ovl_fh_encode(&fh, out, 28), 0);
	ck_assert_uint_eq(ovl_fh_encode(&fh, out, 29), 29);
}
END_TEST

START_TEST(test_parse_errors)
{
	struct ovl_fh fh;

	ck_assert_int_eq(ovl_fh_parse(seen, 0, &fh), OVL_FH_EMPTY);
	ck_assert_int_eq(ovl_fh_parse(seen, 1, &fh), OVL_FH_SHORT);
	ck_assert_int_eq(ovl_fh_parse(seen, 20, &fh), OVL_FH_SHORT);
	/* len field larger than stored size */
	ck_assert_int_eq(parse_mod(28, -1, 0), OVL_FH_BAD_LEN);
	ck_assert_int_eq(parse_mod(29, 2, 30), OVL_FH_BAD_LEN);
	/* len field below the header: kernel-accepted but never decodable */
	ck_assert_int_eq(parse_mod(29, 2, 20), OVL_FH_BAD_LEN);
	ck_assert_int_eq(parse_mod(29, 2, 0), OVL_FH_BAD_LEN);
	ck_assert_int_eq(parse_mod(29, 1, 0xfa), OVL_FH_BAD_MAGIC);
	ck_assert_int_eq(parse_mod(29, 0, 1), OVL_FH_BAD_VERSION);
	ck_assert_int_eq(parse_mod(29, 0, 0xff), OVL_FH_BAD_VERSION);
	ck_assert_int_eq(parse_mod(29, 3, 0x08), OVL_FH_BAD_FLAGS);
	ck_assert_int_eq(parse_mod(29, 3, 0x80), OVL_FH_BAD_FLAGS);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	ck_assert_int_eq(parse_mod(29, 3, OVL_FH_FLAG_BIG_ENDIAN), OVL_FH_BAD_ENDIAN);
#endif
	/* kernel order: size and len checks before magic, magic before version */
	{
		uint8_t b[29];

		memcpy(b, seen, 29);
		b[1] = 0;
		b[0] = 7;
		ck_assert_int_eq(ovl_fh_parse(b, 29, &fh), OVL_FH_BAD_MAGIC);
		b[2] = 100;
		ck_assert_int_eq(ovl_fh_parse(b, 29, &fh), OVL_FH_BAD_LEN);
	}
	for (int e = OVL_FH_OK; e <= OVL_FH_BAD_HEX; e++)
		ck_assert_ptr_nonnull(ovl_fh_strerror(e));
}
END_TEST

START_TEST(test_parse_flags_ok)
{
	struct ovl_fh fh;

	ck_assert_int_eq(parse_mod(29, 3, OVL_FH_FLAG_ANY_ENDIAN), OVL_FH_OK);
	ck_assert_int_eq(parse_mod(29, 3, OVL_FH_FLAG_ANY_ENDIAN | OVL_FH_FLAG_BIG_ENDIAN),
			 OVL_FH_OK);
	ck_assert_int_eq(parse_mod(29, 3, OVL_FH_FLAG_PATH_UPPER), OVL_FH_OK);
	/* stored value longer than len: kernel uses len bytes */
	ck_assert_int_eq(parse_mod(40, -1, 0), OVL_FH_OK);
	{
		uint8_t b[40] = { 0 };

		memcpy(b, seen, 29);
		ck_assert_int_eq(ovl_fh_parse(b, 40, &fh), OVL_FH_OK);
		ck_assert_int_eq(fh.len, 29);
		ck_assert_uint_eq(fh.fid_len, 8);
	}
	/* header only, empty fid */
	ck_assert_int_eq(parse_mod(21, 2, 21), OVL_FH_OK);
}
END_TEST

START_TEST(test_parse_lengths)
{
	uint8_t b[300];
	struct ovl_fh fh;
	uint8_t out[OVL_FH_MAX_LEN];
	size_t fid;

	memset(b, 0x5a, sizeof(b));
	memcpy(b, seen, 21);
	for (fid = 0; fid <= 234; fid++) {
		b[2] = (uint8_t)(21 + fid);
		if (fid <= OVL_FH_FID_MAX) {
			ck_assert_int_eq(ovl_fh_parse(b, 21 + fid, &fh), OVL_FH_OK);
			ck_assert_uint_eq(fh.fid_len, fid);
			ck_assert_uint_eq(ovl_fh_encode(&fh, out, sizeof(out)), 21 + fid);
			ck_assert_mem_eq(out, b, 21 + fid);
		} else {
			ck_assert_int_eq(ovl_fh_parse(b, 21 + fid, &fh), OVL_FH_TOO_LONG);
		}
	}
}
END_TEST

START_TEST(test_init_same_fid)
{
	uint8_t uuid[16] = { 1, 2, 3 }, null[16] = { 0 }, out[64];
	struct ovl_fh a, b, c;

	ovl_fh_init(&a, 1, seen + 21, 8, uuid, false);
	ck_assert_int_eq(a.len, 29);
	ck_assert_int_eq(a.magic, OVL_FH_MAGIC);
	ck_assert_int_eq(a.version, 0);
	ck_assert_int_eq(a.flags & ~OVL_FH_FLAG_BIG_ENDIAN, 0);
	ovl_fh_init(&b, 1, seen + 21, 8, null, true);
	ck_assert(b.flags & OVL_FH_FLAG_PATH_UPPER);
	ck_assert(ovl_fh_uuid_is_null(&b));
	ck_assert(ovl_fh_same_fid(&a, &b));
	ovl_fh_init(&c, 2, seen + 21, 8, uuid, false);
	ck_assert(!ovl_fh_same_fid(&a, &c));
	ovl_fh_init(&c, 1, seen + 21, 7, uuid, false);
	ck_assert(!ovl_fh_same_fid(&a, &c));
	ovl_fh_init(&c, 1, seen + 20, 8, uuid, false);
	ck_assert(!ovl_fh_same_fid(&a, &c));
	/* init -> encode -> parse round trip */
	ck_assert_uint_eq(ovl_fh_encode(&b, out, sizeof(out)), 29);
	ck_assert_int_eq(ovl_fh_parse(out, 29, &c), OVL_FH_OK);
	ck_assert(ovl_fh_same_fid(&b, &c));
	ck_assert_int_eq(c.flags, b.flags);
}
END_TEST

START_TEST(test_hex)
{
	char hex[OVL_FH_HEX_MAX], name[OVL_FH_HEX_MAX + 8];
	struct ovl_fh fh, fh2;

	ck_assert_int_eq(ovl_fh_parse(seen, sizeof(seen), &fh), OVL_FH_OK);
	ovl_fh_to_hex(&fh, hex);
	ck_assert_str_eq(hex, "00fb1d0001112233445566778899aabbccddeeff000c0000009d3b7a5e");
	ck_assert_uint_eq(strlen(hex), 2 * fh.len);
	ck_assert_int_eq(ovl_fh_from_hex(hex, &fh2), OVL_FH_OK);
	ck_assert_mem_eq(&fh, &fh2, sizeof(fh));
	/* uppercase accepted (hex2bin), odd trailing char ignored like the kernel */
	ck_assert_int_eq(ovl_fh_from_hex("00FB1D0001112233445566778899AABBCCDDEEFF000C0000009D3B7A5E",
					 &fh2), OVL_FH_OK);
	snprintf(name, sizeof(name), "%sz", hex);
	ck_assert_int_eq(ovl_fh_from_hex(name, &fh2), OVL_FH_OK);
	/* errors */
	ck_assert_int_eq(ovl_fh_from_hex("", &fh2), OVL_FH_SHORT);
	ck_assert_int_eq(ovl_fh_from_hex("00fb1d00", &fh2), OVL_FH_SHORT);
	ck_assert_int_eq(ovl_fh_from_hex("#1234", &fh2), OVL_FH_SHORT);
	strcpy(name, hex);
	name[10] = 'g';
	ck_assert_int_eq(ovl_fh_from_hex(name, &fh2), OVL_FH_BAD_HEX);
	strcpy(name, hex);
	name[3] = 'a';	/* magic 0xfa */
	ck_assert_int_eq(ovl_fh_from_hex(name, &fh2), OVL_FH_BAD_MAGIC);
	/* name shorter than its len field */
	name[3] = 'b';
	name[56] = '\0';
	ck_assert_int_eq(ovl_fh_from_hex(name, &fh2), OVL_FH_BAD_LEN);
}
END_TEST

START_TEST(test_fh_of_at)
{
	char tmpl[] = "/tmp/ovl-fh-XXXXXX", path[64];
	uint8_t uuid[16] = { 9, 8, 7 }, buf[OVL_FH_MAX_LEN];
	struct ovl_fh fh, fh2, fhd, parsed;
	struct {
		struct file_handle h;
		char space[128];
	} u;
	int dfd, fd, mnt;
	size_t n;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	dfd = open(tmpl, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	fd = openat(dfd, "f", O_CREAT | O_WRONLY, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(symlinkat("/nonexistent", dfd, "l"), 0);

	ck_assert_int_eq(ovl_fh_of_at(dfd, "f", uuid, &fh), 0);
	ck_assert_mem_eq(fh.uuid, uuid, 16);
	/* same as name_to_handle_at by path */
	snprintf(path, sizeof(path), "%s/f", tmpl);
	u.h.handle_bytes = 128;
	ck_assert_int_eq(name_to_handle_at(AT_FDCWD, path, &u.h, &mnt, 0), 0);
	ck_assert_int_eq(fh.type, u.h.handle_type);
	ck_assert_uint_eq(fh.fid_len, u.h.handle_bytes);
	ck_assert_mem_eq(fh.fid, u.h.f_handle, fh.fid_len);
	/* stored bytes parse back to the same handle */
	n = ovl_fh_encode(&fh, buf, sizeof(buf));
	ck_assert_uint_eq(n, fh.len);
	ck_assert_int_eq(ovl_fh_parse(buf, n, &parsed), OVL_FH_OK);
	ck_assert(ovl_fh_same_fid(&fh, &parsed));
	ck_assert_mem_eq(parsed.uuid, uuid, 16);

	/* a dangling symlink has its own handle (not followed) */
	ck_assert_int_eq(ovl_fh_of_at(dfd, "l", uuid, &fh2), 0);
	ck_assert(!ovl_fh_same_fid(&fh, &fh2));
	/* "" is the dirfd itself */
	ck_assert_int_eq(ovl_fh_of_at(dfd, "", NULL, &fhd), 0);
	ck_assert(ovl_fh_uuid_is_null(&fhd));
	ck_assert(!ovl_fh_same_fid(&fh, &fhd));
	ck_assert_int_eq(ovl_fh_of_at(dfd, "missing", uuid, &fh2), -1);
	ck_assert_int_eq(errno, ENOENT);

	unlinkat(dfd, "f", 0);
	unlinkat(dfd, "l", 0);
	close(dfd);
	rmdir(tmpl);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("fh");
	TCase *tc = tcase_create("fh");

	tcase_add_test(tc, test_parse_valid);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_parse_flags_ok);
	tcase_add_test(tc, test_parse_lengths);
	tcase_add_test(tc, test_init_same_fid);
	tcase_add_test(tc, test_hex);
	tcase_add_test(tc, test_fh_of_at);
	suite_add_tcase(s, tc);
	return s;
}
