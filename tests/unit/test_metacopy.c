/* Unit tests: metacopy xattr parse/encode. */
#include <string.h>

#include "overlay/metacopy.h"
#include "unit.h"

static enum ovl_metacopy_err mk(size_t size, uint8_t ver, uint8_t len, uint8_t flags,
				uint8_t algo, struct ovl_metacopy *mc)
{
	uint8_t b[128];
	size_t i;

	b[0] = ver;
	b[1] = len;
	b[2] = flags;
	b[3] = algo;
	for (i = 4; i < sizeof(b); i++)
		b[i] = (uint8_t)i;
	return ovl_metacopy_parse(b, size, mc);
}

START_TEST(test_empty)
{
	struct ovl_metacopy mc;
	uint8_t out[8];

	ck_assert_int_eq(ovl_metacopy_parse("", 0, &mc), OVL_MC_OK);
	ck_assert(mc.empty);
	ck_assert_uint_eq(ovl_metacopy_encode(&mc, out, sizeof(out)), 0);
}
END_TEST

START_TEST(test_valid)
{
	struct ovl_metacopy mc;
	uint8_t out[OVL_METACOPY_MAX_LEN], in[OVL_METACOPY_MAX_LEN];
	size_t i;

	ck_assert_int_eq(mk(4, 0, 4, 0, 0, &mc), OVL_MC_OK);
	ck_assert(!mc.empty);
	ck_assert_uint_eq(mc.digest_len, 0);
	ck_assert_int_eq(mk(36, 0, 36, 0, 1, &mc), OVL_MC_OK);
	ck_assert_uint_eq(mc.digest_len, 32);
	ck_assert_int_eq(mc.digest_algo, 1);
	ck_assert_int_eq(mc.digest[0], 4);
	ck_assert_int_eq(mk(68, 0, 68, 0, 2, &mc), OVL_MC_OK);
	ck_assert_uint_eq(mc.digest_len, 64);
	/* flags are ignored by the kernel */
	ck_assert_int_eq(mk(36, 0, 36, 0xff, 1, &mc), OVL_MC_OK);
	/* algo 0 = no digest, bytes after it ignored (kept for encode) */
	ck_assert_int_eq(mk(20, 0, 20, 0, 0, &mc), OVL_MC_OK);
	ck_assert_uint_eq(mc.digest_len, 16);
	/* a 4-byte header with an algorithm but no digest is never validated */
	ck_assert_int_eq(mk(4, 0, 4, 0, 1, &mc), OVL_MC_OK);

	/* round trip */
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7);
	in[0] = 0;
	in[1] = 68;
	in[2] = 0;
	in[3] = 2;
	ck_assert_int_eq(ovl_metacopy_parse(in, 68, &mc), OVL_MC_OK);
	ck_assert_uint_eq(ovl_metacopy_encode(&mc, out, sizeof(out)), 68);
	ck_assert_mem_eq(in, out, 68);
	ck_assert_uint_eq(ovl_metacopy_encode(&mc, out, 67), 0);
}
END_TEST

START_TEST(test_errors)
{
	struct ovl_metacopy mc;

	ck_assert_int_eq(mk(1, 0, 1, 0, 0, &mc), OVL_MC_TOO_SHORT);
	ck_assert_int_eq(mk(2, 0, 2, 0, 0, &mc), OVL_MC_TOO_SHORT);
	ck_assert_int_eq(mk(3, 0, 3, 0, 0, &mc), OVL_MC_TOO_SHORT);
	ck_assert_int_eq(mk(69, 0, 69, 0, 2, &mc), OVL_MC_TOO_LONG);
	ck_assert_int_eq(mk(100, 0, 100, 0, 2, &mc), OVL_MC_TOO_LONG);
	ck_assert_int_eq(mk(36, 1, 36, 0, 1, &mc), OVL_MC_BAD_VERSION);
	ck_assert_int_eq(mk(36, 0, 35, 0, 1, &mc), OVL_MC_BAD_LEN);
	ck_assert_int_eq(mk(4, 0, 0, 0, 0, &mc), OVL_MC_BAD_LEN);
	ck_assert_int_eq(mk(36, 0, 36, 0, 3, &mc), OVL_MC_BAD_ALGO);
	ck_assert_int_eq(mk(36, 0, 36, 0, 0xff, &mc), OVL_MC_BAD_ALGO);
	ck_assert_int_eq(mk(36, 0, 36, 0, 2, &mc), OVL_MC_BAD_DIGEST_LEN);
	ck_assert_int_eq(mk(68, 0, 68, 0, 1, &mc), OVL_MC_BAD_DIGEST_LEN);
	ck_assert_int_eq(mk(5, 0, 5, 0, 1, &mc), OVL_MC_BAD_DIGEST_LEN);
	/* version checked before len */
	ck_assert_int_eq(mk(36, 1, 0, 0, 1, &mc), OVL_MC_BAD_VERSION);
	for (int e = OVL_MC_OK; e <= OVL_MC_BAD_DIGEST_LEN; e++)
		ck_assert_ptr_nonnull(ovl_metacopy_strerror(e));
}
END_TEST

START_TEST(test_digest_size)
{
	ck_assert_uint_eq(ovl_verity_digest_size(OVL_VERITY_ALG_SHA256), 32);
	ck_assert_uint_eq(ovl_verity_digest_size(OVL_VERITY_ALG_SHA512), 64);
	ck_assert_uint_eq(ovl_verity_digest_size(0), 0);
	ck_assert_uint_eq(ovl_verity_digest_size(3), 0);
}
END_TEST

START_TEST(test_encode_built)
{
	struct ovl_metacopy mc, back;
	uint8_t out[OVL_METACOPY_MAX_LEN];

	memset(&mc, 0, sizeof(mc));
	mc.digest_algo = OVL_VERITY_ALG_SHA256;
	mc.digest_len = 32;
	memset(mc.digest, 0xab, 32);
	ck_assert_uint_eq(ovl_metacopy_encode(&mc, out, sizeof(out)), 36);
	ck_assert_int_eq(out[1], 36);
	ck_assert_int_eq(ovl_metacopy_parse(out, 36, &back), OVL_MC_OK);
	ck_assert_mem_eq(back.digest, mc.digest, 32);
	mc.digest_len = 65;
	ck_assert_uint_eq(ovl_metacopy_encode(&mc, out, sizeof(out)), 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("metacopy");
	TCase *tc = tcase_create("metacopy");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_digest_size);
	tcase_add_test(tc, test_encode_built);
	suite_add_tcase(s, tc);
	return s;
}
