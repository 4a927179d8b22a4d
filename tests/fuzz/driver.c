/*
 * Standalone driver for the fuzz targets when no libFuzzer is at hand
 * (gcc builds, `make check`). A target defines LLVMFuzzerTestOneInput()
 * and may define fuzz_seeds() returning NUL-terminated seed strings; a
 * seed starting with "hex:" is binary, given as hex after the prefix.
 *
 *   fuzz_x FILE|DIR...   run each file (each file of each dir) once
 *   fuzz_x               FUZZ_ITERATIONS (default 100000) inputs from a
 *                        xorshift generator seeded by FUZZ_SEED (default 1):
 *                        random bytes, mutated seeds, and for text targets
 *                        strings built from the seeds' tokens
 *
 * Deterministic: the same seed gives the same inputs, so a failure
 * printed with its iteration number can be replayed. Compiled out when
 * building with -fsanitize=fuzzer -DFUZZ_LIBFUZZER, where libFuzzer
 * brings its own main().
 */
#ifndef FUZZ_LIBFUZZER
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_seeds(size_t *n) __attribute__((weak));

#define FUZZ_MAX_LEN 512

struct fuzz_seed {
	uint8_t b[FUZZ_MAX_LEN];
	size_t len;
};

static int fuzz_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "hex:..." seeds are binary; the rest are text. */
static void fuzz_seed_decode(const char *s, struct fuzz_seed *out)
{
	size_t i;

	out->len = 0;
	if (!strncmp(s, "hex:", 4)) {
		for (i = 4; s[i] && s[i + 1] && out->len < FUZZ_MAX_LEN; i += 2) {
			int hi = fuzz_hex(s[i]), lo = fuzz_hex(s[i + 1]);

			if (hi < 0 || lo < 0)
				break;
			out->b[out->len++] = (uint8_t)(hi << 4 | lo);
		}
		return;
	}
	out->len = strlen(s);
	if (out->len > FUZZ_MAX_LEN)
		out->len = FUZZ_MAX_LEN;
	memcpy(out->b, s, out->len);
}

static uint64_t fuzz_state;

static uint64_t fuzz_rand(void)
{
	uint64_t x = fuzz_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return fuzz_state = x;
}

static size_t fuzz_below(size_t n)
{
	return n ? (size_t)(fuzz_rand() % n) : 0;
}

/* An exact-size copy, so sanitizers see reads past the input. */
static void fuzz_one(const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		abort();
	memcpy(copy, data, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
}

static int fuzz_run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f) {
		perror(path);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (!buf || (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len)) {
		fprintf(stderr, "%s: read failed\n", path);
		fclose(f);
		free(buf);
		return 1;
	}
	fclose(f);
	fuzz_one(buf, (size_t)(len > 0 ? len : 0));
	free(buf);
	return 0;
}

static int fuzz_run_path(const char *path)
{
	struct stat st;
	struct dirent *de;
	char sub[4096];
	DIR *d;
	int err = 0;

	if (stat(path, &st) < 0) {
		perror(path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return fuzz_run_file(path);
	d = opendir(path);
	if (!d) {
		perror(path);
		return 1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode))
			err |= fuzz_run_file(sub);
	}
	closedir(d);
	return err;
}

/* Bit flips, byte sets, inserts, deletes, truncation, splicing. */
static size_t fuzz_mutate(uint8_t *buf, size_t len, const struct fuzz_seed *seeds,
			  size_t nseeds)
{
	static const uint8_t interesting[] = { 0, 1, 0x7f, 0x80, 0xff, 0xfb, 21, 29,
					       '/', ':', ',', '\\', '=', '.', '+', '-', '\n' };
	int rounds = 1 + (int)fuzz_below(6);

	while (rounds--) {
		switch (fuzz_below(7)) {
		case 0:
			if (len)
				buf[fuzz_below(len)] ^= (uint8_t)(1u << fuzz_below(8));
			break;
		case 1:
			if (len)
				buf[fuzz_below(len)] = interesting[fuzz_below(sizeof(interesting))];
			break;
		case 2:
			if (len)
				buf[fuzz_below(len)] = (uint8_t)fuzz_rand();
			break;
		case 3:
			if (len < FUZZ_MAX_LEN) {
				size_t at = fuzz_below(len + 1);

				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = interesting[fuzz_below(sizeof(interesting))];
				len++;
			}
			break;
		case 4:
			if (len) {
				size_t at = fuzz_below(len);

				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
			}
			break;
		case 5:
			len = fuzz_below(len + 1);
			break;
		case 6:
			if (nseeds) {
				const struct fuzz_seed *sd = &seeds[fuzz_below(nseeds)];
				const uint8_t *o = sd->b;
				size_t olen = sd->len, at = fuzz_below(len + 1);
				size_t from = fuzz_below(olen + 1), n = olen - from;

				if (at + n > FUZZ_MAX_LEN)
					n = FUZZ_MAX_LEN - at;
				memcpy(buf + at, o + from, n);
				len = at + n;
			}
			break;
		}
	}
	return len;
}

/* Text candidates: tokens cut from the seeds at separators, rejoined. */
static size_t fuzz_structured(uint8_t *buf, const struct fuzz_seed *seeds, size_t nseeds)
{
	static const char *const seps[] = { ",", ":", "::", "=", "/", "\\", "" };
	size_t len = 0, parts = 1 + fuzz_below(8);

	while (parts-- && len < FUZZ_MAX_LEN - 64) {
		const struct fuzz_seed *sd = &seeds[fuzz_below(nseeds)];
		const char *s = (const char *)sd->b;
		size_t slen = sd->len, from = fuzz_below(slen + 1), to, n;
		const char *sep = seps[fuzz_below(sizeof(seps) / sizeof(seps[0]))];

		to = from;
		while (to < slen && s[to] && !strchr(",:=/", s[to]))
			to++;
		n = to - from;
		if (n > 48)
			n = 48;
		memcpy(buf + len, s + from, n);
		len += n;
		n = strlen(sep);
		memcpy(buf + len, sep, n);
		len += n;
	}
	return len;
}

int main(int argc, char **argv)
{
	static uint8_t buf[FUZZ_MAX_LEN + 64];
	const char *const *raw = NULL;
	struct fuzz_seed *seeds = NULL;
	const char *env;
	unsigned long long iters = 100000, i;
	size_t nseeds = 0, len;
	int err = 0, a;

	if (argc > 1) {
		for (a = 1; a < argc; a++)
			err |= fuzz_run_path(argv[a]);
		return err;
	}
	env = getenv("FUZZ_ITERATIONS");
	if (env && *env)
		iters = strtoull(env, NULL, 0);
	env = getenv("FUZZ_SEED");
	fuzz_state = env && *env ? strtoull(env, NULL, 0) : 1;
	if (!fuzz_state)
		fuzz_state = 0x9e3779b97f4a7c15ULL;
	if (fuzz_seeds)
		raw = fuzz_seeds(&nseeds);
	seeds = calloc(nseeds ? nseeds : 1, sizeof(*seeds));
	if (!seeds)
		return 1;
	for (i = 0; i < nseeds; i++)
		fuzz_seed_decode(raw[i], &seeds[i]);

	/* every seed as is, then the empty input */
	for (i = 0; i < nseeds; i++) {
		fuzz_one(seeds[i].b, seeds[i].len);
	}
	fuzz_one(buf, 0);

	for (i = 0; i < iters; i++) {
		size_t kind = fuzz_below(nseeds ? 4 : 1);

		if (kind == 0) {
			len = fuzz_below(FUZZ_MAX_LEN / 4 + 1);
			for (size_t j = 0; j < len; j++)
				buf[j] = (uint8_t)fuzz_rand();
		} else if (kind == 3) {
			len = fuzz_structured(buf, seeds, nseeds);
		} else {
			const struct fuzz_seed *sd = &seeds[fuzz_below(nseeds)];

			len = sd->len;
			memcpy(buf, sd->b, len);
			len = fuzz_mutate(buf, len, seeds, nseeds);
		}
		fuzz_one(buf, len);
	}
	printf("%llu iterations, seed %s: ok\n", iters, env && *env ? env : "1");
	free(seeds);
	return 0;
}
#endif /* FUZZ_LIBFUZZER */
