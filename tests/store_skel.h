/*
 * Small valid container stores, as the engines write them (docs/stores.md):
 * the ones tests/unit/test_store.c damages and tests/fuzz/fuzz_store.c
 * fuzzes. The caller gives the three ways of making a thing, relative to
 * its temp dir; the stores go to "docker/" and "cs/".
 *
 * Docker: image alpine:latest = L1 < L2, image web:1 = L1 < L2 < L3,
 * container web on web:1 = M over M-init over L3. Cache ids hex('1')..,
 * chain ids hex('a').., diff ids hex('d').., image ids e/f, container c.
 *
 * containers-storage: image docker.io/library/alpine:latest = A < B,
 * container web = C over B; layer ids hex('a'), hex('b'), hex('c').
 */
#ifndef OVL_TESTS_STORE_SKEL_H
#define OVL_TESTS_STORE_SKEL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct skel_ops {
	void (*mkd)(const char *rel);				/* mkdir -p */
	void (*wr)(const char *rel, const char *text);		/* a file of exactly text */
	void (*ln)(const char *target, const char *rel);	/* a symlink */
};

/* 64 hex chars of one digit: ids that are easy to tell apart */
static const char *hex(char c)
{
	static char ring[16][65];
	static int next;
	char *h = ring[next++ % 16];

	memset(h, c, 64);
	h[64] = '\0';
	return h;
}

/* a short name: 26 characters of base32, as GenerateID makes them */
static const char *sn(char c)
{
	static char ring[16][27];
	static int next;
	char *s = ring[next++ % 16];

	memset(s, 'A', 26);
	s[25] = c;
	s[26] = '\0';
	return s;
}

/* One layer dir of a driver dir: diff, link, l/ link, and with parents
 * work and lower (top first) as both engines write them. */
static void skel_layer(const struct skel_ops *op, const char *drv, const char *id,
		       const char *name, const char *lower, bool cstorage)
{
	char rel[512], buf[512];

	snprintf(rel, sizeof(rel), "%s/%s/diff", drv, id);
	op->mkd(rel);
	snprintf(rel, sizeof(rel), "%s/%s/link", drv, id);
	op->wr(rel, name);
	snprintf(rel, sizeof(rel), "%s/l", drv);
	op->mkd(rel);
	snprintf(rel, sizeof(rel), "%s/l/%s", drv, name);
	snprintf(buf, sizeof(buf), "../%s/diff", id);
	op->ln(buf, rel);
	if (lower || cstorage) {
		snprintf(rel, sizeof(rel), "%s/%s/work", drv, id);
		op->mkd(rel);
	}
	if (cstorage) {
		snprintf(rel, sizeof(rel), "%s/%s/%s", drv, id, lower ? "merged" : "empty");
		op->mkd(rel);
	}
	if (lower) {
		snprintf(rel, sizeof(rel), "%s/%s/lower", drv, id);
		op->wr(rel, lower);
	}
}

#define SKEL_DB "docker/image/overlay2/layerdb"

static void skel_layerdb(const struct skel_ops *op, const char *chain, const char *cache,
			 const char *diff, const char *parent)
{
	char rel[512], buf[128];

	snprintf(rel, sizeof(rel), SKEL_DB "/sha256/%s", chain);
	op->mkd(rel);
	snprintf(rel, sizeof(rel), SKEL_DB "/sha256/%s/cache-id", chain);
	op->wr(rel, cache);
	snprintf(rel, sizeof(rel), SKEL_DB "/sha256/%s/diff", chain);
	snprintf(buf, sizeof(buf), "sha256:%s", diff);
	op->wr(rel, buf);
	snprintf(rel, sizeof(rel), SKEL_DB "/sha256/%s/size", chain);
	op->wr(rel, "0");
	if (parent) {
		snprintf(rel, sizeof(rel), SKEL_DB "/sha256/%s/parent", chain);
		snprintf(buf, sizeof(buf), "sha256:%s", parent);
		op->wr(rel, buf);
	}
}

/* minit: the container's init layer id, "<M>-init" (at least 70 bytes) */
static void skel_docker(const struct skel_ops *op, char *minit, size_t size)
{
	char buf[1024], rel[512];
	const char *d = "docker/overlay2", *img = "docker/image/overlay2/imagedb/content/sha256";

	snprintf(minit, size, "%s-init", hex('4'));
	op->mkd(img);
	skel_layer(op, d, hex('1'), sn('1'), NULL, false);
	snprintf(buf, sizeof(buf), "l/%s", sn('1'));
	skel_layer(op, d, hex('2'), sn('2'), buf, false);
	snprintf(buf, sizeof(buf), "l/%s:l/%s", sn('2'), sn('1'));
	skel_layer(op, d, hex('3'), sn('3'), buf, false);
	snprintf(buf, sizeof(buf), "l/%s:l/%s:l/%s", sn('3'), sn('2'), sn('1'));
	skel_layer(op, d, minit, sn('I'), buf, false);
	snprintf(buf, sizeof(buf), "l/%s:l/%s:l/%s:l/%s", sn('I'), sn('3'), sn('2'), sn('1'));
	skel_layer(op, d, hex('4'), sn('4'), buf, false);

	skel_layerdb(op, hex('a'), hex('1'), hex('d'), NULL);
	skel_layerdb(op, hex('b'), hex('2'), hex('e'), hex('a'));
	skel_layerdb(op, hex('c'), hex('3'), hex('f'), hex('b'));

	snprintf(rel, sizeof(rel), "%s/%s", img, hex('e'));
	snprintf(buf, sizeof(buf), "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":"
		 "{\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\",\"sha256:%s\"]}}",
		 hex('d'), hex('e'));
	op->wr(rel, buf);
	snprintf(rel, sizeof(rel), "%s/%s", img, hex('f'));
	snprintf(buf, sizeof(buf), "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
		 "[\"sha256:%s\",\"sha256:%s\",\"sha256:%s\"]}}", hex('d'), hex('e'), hex('f'));
	op->wr(rel, buf);
	snprintf(buf, sizeof(buf), "{\"Repositories\":{\"alpine\":{\"alpine:latest\":"
		 "\"sha256:%s\",\"alpine@sha256:%s\":\"sha256:%s\"},\"web\":{\"web:1\":"
		 "\"sha256:%s\"}}}", hex('e'), hex('9'), hex('e'), hex('f'));
	op->wr("docker/image/overlay2/repositories.json", buf);

	snprintf(rel, sizeof(rel), SKEL_DB "/mounts/%s", hex('c'));
	op->mkd(rel);
	snprintf(rel, sizeof(rel), SKEL_DB "/mounts/%s/mount-id", hex('c'));
	op->wr(rel, hex('4'));
	snprintf(rel, sizeof(rel), SKEL_DB "/mounts/%s/init-id", hex('c'));
	op->wr(rel, minit);
	snprintf(rel, sizeof(rel), SKEL_DB "/mounts/%s/parent", hex('c'));
	snprintf(buf, sizeof(buf), "sha256:%s", hex('c'));
	op->wr(rel, buf);
	snprintf(rel, sizeof(rel), "docker/containers/%s", hex('c'));
	op->mkd(rel);
	snprintf(rel, sizeof(rel), "docker/containers/%s/config.v2.json", hex('c'));
	snprintf(buf, sizeof(buf), "{\"ID\":\"%s\",\"Name\":\"/web\",\"Image\":\"sha256:%s\","
		 "\"Driver\":\"overlay2\"}", hex('c'), hex('f'));
	op->wr(rel, buf);
}

static void skel_cs(const struct skel_ops *op)
{
	char buf[2048];
	const char *d = "cs/overlay";

	op->mkd("cs/overlay-layers");
	op->mkd("cs/overlay-images");
	op->mkd("cs/overlay-containers");
	skel_layer(op, d, hex('a'), sn('A'), NULL, true);
	snprintf(buf, sizeof(buf), "l/%s", sn('A'));
	skel_layer(op, d, hex('b'), sn('B'), buf, true);
	snprintf(buf, sizeof(buf), "l/%s:l/%s", sn('B'), sn('A'));
	skel_layer(op, d, hex('c'), sn('C'), buf, true);
	snprintf(buf, sizeof(buf),
		 "[{\"id\":\"%s\",\"created\":\"2024-05-01T10:00:00Z\",\"compressed-diff-digest\":"
		 "\"sha256:%s\",\"diff-digest\":\"sha256:%s\",\"diff-size\":8}, "
		 "{\"id\":\"%s\",\"parent\":\"%s\",\"created\":\"2024-05-01T10:00:01Z\"}]",
		 hex('a'), hex('7'), hex('8'), hex('b'), hex('a'));
	op->wr("cs/overlay-layers/layers.json", buf);
	snprintf(buf, sizeof(buf), "[{\"id\":\"%s\",\"parent\":\"%s\",\"names\":[\"%s\"],"
		 "\"created\":\"2024-05-01T10:00:02Z\"}]", hex('c'), hex('b'), "web-rw");
	op->wr("cs/overlay-layers/volatile-layers.json", buf);
	snprintf(buf, sizeof(buf), "[{\"id\":\"%s\",\"digest\":\"sha256:%s\",\"names\":"
		 "[\"docker.io/library/alpine:latest\"],\"layer\":\"%s\",\"metadata\":\"{}\"}]",
		 hex('e'), hex('f'), hex('b'));
	op->wr("cs/overlay-images/images.json", buf);
	snprintf(buf, sizeof(buf), "[{\"id\":\"%s\",\"names\":[\"web\"],\"image\":\"%s\","
		 "\"layer\":\"%s\",\"metadata\":\"{\\\"image-name\\\":\\\"alpine\\\"}\"}]",
		 hex('9'), hex('e'), hex('c'));
	op->wr("cs/overlay-containers/containers.json", buf);
}

#endif
