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
 *
 * containerd (skel_containerd): snapshots 1 < 2 committed (image
 * docker.io/library/app:1 through its manifest and config labels), 3
 * active over 2 (container web), 4 a view of 2, 5 active over 1 (no
 * container: "bare"), 6 committed over 1 (no image); dirs snapshots/N
 * with fs, work for all but the view. SKEL_CD_* flags damage the
 * metadata as it is written.
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
	void (*wrb)(const char *rel, const void *data, size_t len);	/* bytes */
};

/* 64 hex chars of one digit: ids that are easy to tell apart */
static inline const char *hex(char c)
{
	static char ring[16][65];
	static int next;
	char *h = ring[next++ % 16];

	memset(h, c, 64);
	h[64] = '\0';
	return h;
}

/* a short name: 26 characters of base32, as GenerateID makes them */
static inline const char *sn(char c)
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
static inline void skel_layer(const struct skel_ops *op, const char *drv, const char *id,
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

static inline void skel_layerdb(const struct skel_ops *op, const char *chain, const char *cache,
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
static inline void skel_docker(const struct skel_ops *op, char *minit, size_t size)
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

static inline void skel_cs(const struct skel_ops *op)
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

/* ---- containerd ---- */

#include "bolt_make.h"

#define SKEL_CD_ROOT	"cd"
#define SKEL_CD_SNAPS	SKEL_CD_ROOT "/io.containerd.snapshotter.v1.overlayfs"
#define SKEL_CD_META	SKEL_CD_ROOT "/io.containerd.metadata.v1.bolt/meta.db"
#define SKEL_CD_SNAPDB	SKEL_CD_SNAPS "/metadata.db"
/* the snapshotter's keys of the image's layers */
#define SKEL_CD_BASE	"default/2/sha256:aaaa"
#define SKEL_CD_TOP	"default/4/sha256:bbbb"

enum {
	SKEL_CD_PARENT_GONE = 1,	/* web's parent key names nothing */
	SKEL_CD_DUP_ID = 2,		/* bare has web's id */
	SKEL_CD_BAD_KIND = 4,		/* bare's kind is 9 */
	SKEL_CD_PARENT_ACTIVE = 8,	/* the committed 6 is over the active web */
	SKEL_CD_GONE = 16,		/* meta.db: container gone, its snapshot unknown */
	SKEL_CD_NS = 32,		/* meta.db: only the image, in namespace k8s.io */
};

static inline void skel_cd_snap(struct bm_bucket *snaps, const char *key, unsigned char id,
			 unsigned char kind, const char *parent)
{
	struct bm_bucket *b = bm_sub(snaps, key);

	bm_put(b, "id", 2, &id, 1);
	bm_put(b, "kind", 4, &kind, 1);
	if (parent)
		bm_puts(b, "parent", parent);
}

static inline void skel_cd_write(const struct skel_ops *op, const char *rel, struct bm_bucket *root)
{
	struct bm_opts o = { .page_size = 4096 };
	size_t len;
	unsigned char *db = bm_write(root, &o, &len);

	op->wrb(rel, db, len);
	free(db);
	bm_free(root);
}

/* meta.db's namespace ns: the image, its content labels, the snapshot
 * keys, the container */
static inline void skel_cd_ns(struct bm_bucket *v1, const char *ns, int flags, bool image_only)
{
	struct bm_bucket *n = bm_sub(v1, ns), *b;
	struct bm_bucket *blobs = bm_sub(bm_sub(n, "content"), "blob");
	struct bm_bucket *ms = bm_sub(bm_sub(n, "snapshots"), "overlayfs");

	b = bm_sub(bm_sub(bm_sub(n, "images"), "docker.io/library/app:1"), "target");
	bm_puts(b, "digest", "sha256:1111");
	bm_puts(b, "mediatype", "application/vnd.oci.image.manifest.v1+json");
	bm_puts(bm_sub(bm_sub(blobs, "sha256:1111"), "labels"),
		"containerd.io/gc.ref.content.config", "sha256:2222");
	bm_puts(bm_sub(bm_sub(blobs, "sha256:2222"), "labels"),
		"containerd.io/gc.ref.snapshot.overlayfs", "sha256:bbbb");
	bm_puts(bm_sub(ms, "sha256:aaaa"), "name", SKEL_CD_BASE);
	bm_puts(bm_sub(ms, "sha256:bbbb"), "name", SKEL_CD_TOP);
	if (image_only)
		return;
	bm_puts(bm_sub(ms, "web"), "name", "default/5/web");
	struct bm_bucket *cs = bm_sub(n, "containers");
	b = bm_sub(cs, "web");
	bm_puts(b, "snapshotter", "overlayfs");
	bm_puts(b, "snapshotKey", "web");
	bm_puts(b, "image", "docker.io/library/app:1");
	if (flags & SKEL_CD_GONE) {
		b = bm_sub(cs, "gone");
		bm_puts(b, "snapshotter", "overlayfs");
		bm_puts(b, "snapshotKey", "gone");
	}
}

static inline void skel_containerd(const struct skel_ops *op, int flags)
{
	struct bm_bucket *root = bm_new(), *v1 = bm_sub(root, "v1");
	struct bm_bucket *snaps = bm_sub(v1, "snapshots");
	char rel[256];

	bm_sub(v1, "parents");	/* backlinks: not read */
	skel_cd_snap(snaps, SKEL_CD_BASE, 1, 3, NULL);
	skel_cd_snap(snaps, SKEL_CD_TOP, 2, 3, SKEL_CD_BASE);
	skel_cd_snap(snaps, "default/5/web", 3, 2,
		     flags & SKEL_CD_PARENT_GONE ? "default/9/sha256:9999" : SKEL_CD_TOP);
	skel_cd_snap(snaps, "default/6/v", 4, 1, SKEL_CD_TOP);
	skel_cd_snap(snaps, "default/7/bare", flags & SKEL_CD_DUP_ID ? 3 : 5,
		     flags & SKEL_CD_BAD_KIND ? 9 : 2, SKEL_CD_BASE);
	skel_cd_snap(snaps, "default/8/sha256:cccc", 6, 3,
		     flags & SKEL_CD_PARENT_ACTIVE ? "default/5/web" : SKEL_CD_BASE);
	for (int i = 1; i <= 6; i++) {
		snprintf(rel, sizeof(rel), SKEL_CD_SNAPS "/snapshots/%d/fs", i);
		op->mkd(rel);
		if (i == 4)
			continue;
		snprintf(rel, sizeof(rel), SKEL_CD_SNAPS "/snapshots/%d/work", i);
		op->mkd(rel);
	}
	skel_cd_write(op, SKEL_CD_SNAPDB, root);
	root = bm_new();
	v1 = bm_sub(root, "v1");
	if (flags & SKEL_CD_NS)
		skel_cd_ns(v1, "k8s.io", flags, true);
	else
		skel_cd_ns(v1, "default", flags, false);
	bm_puts(v1, "version", "\x06");
	op->mkd(SKEL_CD_ROOT "/io.containerd.metadata.v1.bolt");
	skel_cd_write(op, SKEL_CD_META, root);
}

#endif
