/*
 * Docker's overlay2 store: image/overlay2/layerdb (cache-id, parent,
 * diff, mounts/), imagedb configs, repositories.json and the containers'
 * config.v2.json, read into the store model (docs/stores.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "overlay/lookup.h"
#include "overlay/util.h"
#include "store_internal.h"

struct dk_layer {		/* one layerdb/sha256/<chain> entry */
	char chain[65];
	char parent[65];	/* "" for a base layer */
	char diff[65];
	long layer;
};

struct dk_db {
	struct dk_layer *e;
	size_t n;
};

/* A small file of layerdb, trimmed as the engine trims it (TrimSpace). */
static char *dk_small(struct ovl_store *st, const char *rel, bool *missing)
{
	char why[160], file[PATH_MAX + 2];
	size_t len;
	char *buf = ovl_store_read_bounded(st->rootfd, rel, SMALL_MAX_BYTES, &len, missing,
					   why, sizeof(why));

	if (!buf) {
		if (!*missing) {
			snprintf(file, sizeof(file), "/%s", rel);
			ovl_store_error(st, file, "%s", why);
		}
		return NULL;
	}
	while (len && strchr(" \t\r\n", buf[len - 1]))
		buf[--len] = '\0';
	return buf;
}

static const char *DK_DB = "image/overlay2/layerdb";

/* The names in a dir below the root, or NULL with errno (ENOENT: none). */
static char **dk_names(struct ovl_store *st, const char *rel, size_t *n)
{
	int fd = ovl_store_open_dir(st->rootfd, rel);
	char **names;

	*n = 0;
	if (fd < 0)
		return NULL;
	names = ovl_dir_names(fd, "", n);
	ovl_close_keep_errno(fd);
	return names;
}

/* What --verify-content checks a layer against: its tar-split record
 * in its layerdb dir, the diff id (the sha256 of the tar it was unpacked
 * from), and the size file (the bytes of its files: progress only). */
static void dk_content_record(struct ovl_store *st, struct ovl_store_layer *l,
			      const char *chain, const char *diff)
{
	char rel[PATH_MAX];
	bool miss;

	snprintf(rel, sizeof(rel), "%s/sha256/%s/tar-split.json.gz", DK_DB, chain);
	free(l->tarsplit);
	l->tarsplit = ovl_xstrdup(rel);
	free(l->diff_digest);
	l->diff_digest = diff[0] ? ovl_xstrdup(diff) : NULL;
	/* not bookkeeping the engine needs: a bad one is no SR_META_BAD */
	snprintf(rel, sizeof(rel), "%s/sha256/%s/size", DK_DB, chain);
	char why[64], *end;
	size_t len;
	char *size = ovl_store_read_bounded(st->rootfd, rel, 32, &len, &miss, why, sizeof(why));
	long long n = size ? strtoll(size, &end, 10) : -1;
	if (size && end != size && !*end && n >= 0)
		l->files_size = n;
	free(size);
}

static void dk_read_layerdb(struct ovl_store *st, struct dk_db *db)
{
	char rel[PATH_MAX], file[PATH_MAX + 2];
	size_t n = 0;
	char **names;

	snprintf(rel, sizeof(rel), "%s/sha256", DK_DB);
	names = dk_names(st, rel, &n);
	if (!names) {
		if (errno != ENOENT)
			ovl_store_error(st, "/image/overlay2/layerdb/sha256", "%s", strerror(errno));
		return;
	}
	for (size_t i = 0; names && i < n; i++) {
		char *cache, *parent, *diff;
		bool miss;

		if (!ovl_store_hex64_ok(names[i], strlen(names[i])))
			continue;	/* the engine skips what is not a digest */
		snprintf(file, sizeof(file), "/%s/sha256/%s/cache-id", DK_DB, names[i]);
		snprintf(rel, sizeof(rel), "%s/sha256/%s/cache-id", DK_DB, names[i]);
		cache = dk_small(st, rel, &miss);
		if (!cache) {
			if (miss)
				ovl_store_error(st, file, "missing");
			continue;
		}
		/* the cache-id names the driver dir: ^[a-f0-9]{64}(-init)?$ */
		if (!ovl_store_hex64_ok(cache, strlen(cache))) {
			ovl_store_error(st, file, "not a layer id");
			free(cache);
			continue;
		}
		snprintf(rel, sizeof(rel), "%s/sha256/%s/parent", DK_DB, names[i]);
		parent = dk_small(st, rel, &miss);
		snprintf(rel, sizeof(rel), "%s/sha256/%s/diff", DK_DB, names[i]);
		diff = dk_small(st, rel, &miss);

		struct dk_layer *e;
		db->e = ovl_xrealloc(db->e, (db->n + 1) * sizeof(*db->e));
		e = &db->e[db->n++];
		memset(e, 0, sizeof(*e));
		memcpy(e->chain, names[i], 64);
		if (parent && ovl_store_digest_hex(parent))
			memcpy(e->parent, ovl_store_digest_hex(parent), 64);
		else if (parent)
			ovl_store_error(st, file, "its parent file holds no digest");
		if (diff && ovl_store_digest_hex(diff))
			memcpy(e->diff, ovl_store_digest_hex(diff), 64);
		e->layer = ovl_store_layer_known(st, cache);
		dk_content_record(st, &st->layers[e->layer], names[i], e->diff);
		free(cache);
		free(parent);
		free(diff);
	}
	ovl_dir_names_free(names);
}

static struct dk_layer *dk_by_chain(struct dk_db *db, const char *chain)
{
	for (size_t i = 0; i < db->n; i++)
		if (!strcmp(db->e[i].chain, chain))
			return &db->e[i];
	return NULL;
}

static void dk_parents(struct ovl_store *st, struct dk_db *db)
{
	for (size_t i = 0; i < db->n; i++) {
		struct ovl_store_layer *l = &st->layers[db->e[i].layer];
		struct dk_layer *p;

		if (!db->e[i].parent[0])
			continue;
		p = dk_by_chain(db, db->e[i].parent);
		free(l->parent_id);
		if (p) {
			l->parent = p->layer;
			l->parent_id = ovl_xstrdup(st->layers[p->layer].id);
		} else {
			char buf[80];
			snprintf(buf, sizeof(buf), "sha256:%s", db->e[i].parent);
			l->parent_id = ovl_xstrdup(buf);
			l->parent_missing = true;
		}
	}
}

/* image id (hex) -> its first name in repositories.json (tags before digests) */
static char *dk_image_name(struct json_object *repos, const char *hex)
{
	struct json_object *all;
	const char *best = NULL;

	if (!repos || !json_object_object_get_ex(repos, "Repositories", &all) ||
	    !json_object_is_type(all, json_type_object))
		return NULL;
	json_object_object_foreach(all, repo, refs) {
		(void)repo;
		if (!json_object_is_type(refs, json_type_object))
			continue;
		json_object_object_foreach(refs, ref, idv) {
			const char *h = json_object_is_type(idv, json_type_string) ?
					ovl_store_digest_hex(json_object_get_string(idv)) : NULL;
			if (!h || strcmp(h, hex))
				continue;
			bool tag = !strchr(ref, '@'), btag = best && !strchr(best, '@');
			if (!best || (tag && !btag) || (tag == btag && strcmp(ref, best) < 0))
				best = ref;
		}
	}
	return best ? ovl_xstrdup(best) : NULL;
}

/* An image's top layer: its rootfs diff_ids walked from the base by parent. */
static long dk_image_top(struct ovl_store *st, struct dk_db *db, struct json_object *img,
			 const char *file, bool *broken)
{
	struct json_object *rootfs, *ids;
	const char *parent = "";
	long top = OVL_STORE_NONE;

	*broken = false;
	if (!json_object_object_get_ex(img, "rootfs", &rootfs) ||
	    !json_object_object_get_ex(rootfs, "diff_ids", &ids) ||
	    !json_object_is_type(ids, json_type_array))
		return OVL_STORE_NONE;	/* no layers */
	size_t n = json_object_array_length(ids);
	for (size_t k = 0; k < n; k++) {
		struct json_object *d = json_object_array_get_idx(ids, k);
		const char *hex = json_object_is_type(d, json_type_string) ?
				  ovl_store_digest_hex(json_object_get_string(d)) : NULL;
		struct dk_layer *found = NULL;

		for (size_t i = 0; hex && i < db->n && !found; i++)
			if (!strcmp(db->e[i].parent, parent) && !strcmp(db->e[i].diff, hex))
				found = &db->e[i];
		if (!found) {
			ovl_store_error(st, file, "layer %zu/%zu (%s%.12s) has no entry in the layer "
					"database", k + 1, n, hex ? "sha256:" : "bad diff id ",
					hex ? hex : "");
			*broken = true;
			return top;
		}
		top = found->layer;
		parent = found->chain;
	}
	return top;
}

static void dk_images(struct ovl_store *st, struct dk_db *db)
{
	const char *dir = "image/overlay2/imagedb/content/sha256";
	struct json_object *repos = ovl_store_read_json(st, "image/overlay2/repositories.json", false);
	char rel[PATH_MAX], file[PATH_MAX + 2];
	size_t n = 0;
	char **names;

	names = dk_names(st, dir, &n);
	for (size_t i = 0; names && i < n; i++) {
		struct json_object *img;
		bool broken;

		if (!ovl_store_hex64_ok(names[i], strlen(names[i])))
			continue;
		snprintf(rel, sizeof(rel), "%s/%s", dir, names[i]);
		snprintf(file, sizeof(file), "/%s", rel);
		img = ovl_store_read_json(st, rel, true);
		if (!img)
			continue;
		long top = dk_image_top(st, db, img, file, &broken);
		json_object_put(img);
		if (top == OVL_STORE_NONE && !broken)
			continue;	/* an image of no layer mounts nothing */
		char *name = dk_image_name(repos, names[i]);
		struct ovl_store_stack *sk = ovl_store_stack_add(st, false, names[i], name, top);
		sk->broken = broken;
		free(name);
	}
	ovl_dir_names_free(names);
	json_object_put(repos);
}

/* layerdb/mounts/<container>: mount-id (rw layer), init-id, parent (image top). */
static void dk_containers(struct ovl_store *st, struct dk_db *db)
{
	char rel[PATH_MAX], file[PATH_MAX + 2];
	size_t n = 0;
	char **names;

	snprintf(rel, sizeof(rel), "%s/mounts", DK_DB);
	names = dk_names(st, rel, &n);
	for (size_t i = 0; names && i < n; i++) {
		char *mount, *init, *parent, *name = NULL;
		bool miss;

		if (!ovl_store_hex64_ok(names[i], strlen(names[i])))
			continue;
		snprintf(rel, sizeof(rel), "%s/mounts/%s/mount-id", DK_DB, names[i]);
		snprintf(file, sizeof(file), "/%s", rel);
		mount = dk_small(st, rel, &miss);
		if (!mount || !ovl_store_hex64_ok(mount, strlen(mount))) {
			ovl_store_error(st, file, "%s", mount ? "not a layer id" : "missing");
			free(mount);
			continue;
		}
		snprintf(rel, sizeof(rel), "%s/mounts/%s/init-id", DK_DB, names[i]);
		init = dk_small(st, rel, &miss);
		snprintf(rel, sizeof(rel), "%s/mounts/%s/parent", DK_DB, names[i]);
		parent = dk_small(st, rel, &miss);

		long top = ovl_store_layer_known(st, mount), below = OVL_STORE_NONE;
		bool parent_missing = false;
		st->layers[top].rw = true;
		if (parent && *parent) {
			const char *hex = ovl_store_digest_hex(parent);
			struct dk_layer *p = hex ? dk_by_chain(db, hex) : NULL;
			if (p)
				below = p->layer;
			else
				parent_missing = true;
		}
		/* the init layer: "<mount-id>-init", between the image and the rw layer */
		if (init && *init) {
			size_t il = strlen(init);
			if (il == 69 && ovl_store_hex64_ok(init, 64) && !strcmp(init + 64, "-init")) {
				long li = ovl_store_layer_known(st, init);
				st->layers[li].rw = true;
				st->layers[li].parent = below;
				st->layers[li].parent_missing = parent_missing;
				/* another container's, or a layer's of the layerdb */
				free(st->layers[li].parent_id);
				st->layers[li].parent_id = NULL;
				if (below != OVL_STORE_NONE)
					st->layers[li].parent_id = ovl_xstrdup(st->layers[below].id);
				else if (parent_missing)
					st->layers[li].parent_id = ovl_xstrdup(parent);
				below = li;
				parent_missing = false;
			} else {
				snprintf(file, sizeof(file), "/%s/mounts/%s/init-id", DK_DB,
					 names[i]);
				ovl_store_error(st, file, "not a layer id");
			}
		}
		st->layers[top].parent = below;
		st->layers[top].parent_missing = parent_missing;
		/* a mount-id may name a layer the layerdb gave a parent */
		free(st->layers[top].parent_id);
		st->layers[top].parent_id = NULL;
		if (below != OVL_STORE_NONE)
			st->layers[top].parent_id = ovl_xstrdup(st->layers[below].id);
		else if (parent_missing)
			st->layers[top].parent_id = ovl_xstrdup(parent);

		/* the name users gave: containers/<id>/config.v2.json "Name": "/web" */
		snprintf(rel, sizeof(rel), "containers/%s/config.v2.json", names[i]);
		struct json_object *cfg = ovl_store_read_json(st, rel, false);
		const char *nm = ovl_store_jstr(cfg, "Name");
		if (nm) {
			name = ovl_xstrdup(nm[0] == '/' ? nm + 1 : nm);
		}
		json_object_put(cfg);
		ovl_store_stack_add(st, true, names[i], name, top);
		free(name);
		free(mount);
		free(init);
		free(parent);
	}
	ovl_dir_names_free(names);
}

int ovl_store_read_docker(struct ovl_store *st)
{
	struct dk_db db = { 0 };
	bool any = false;
	int fd;
	const char *base = strrchr(st->root, '/');
	unsigned uid, gid;
	char end;

	for (size_t i = 0; i < st->nlayers; i++)
		any |= st->layers[i].on_disk;
	fd = ovl_store_open_dir(st->rootfd, DK_DB);
	if (fd < 0) {
		if (any)
			ovl_store_error(st, "/image/overlay2/layerdb", "%s",
					errno == ENOENT ? "missing" : strerror(errno));
		return 0;
	}
	close(fd);
	dk_read_layerdb(st, &db);
	/* a daemon with userns-remap keeps its store in <root uid>.<root gid>
	 * and unpacks every layer with shifted owners; its records are not */
	if (base && sscanf(base + 1, "%u.%u%c", &uid, &gid, &end) == 2)
		for (size_t i = 0; i < st->nlayers; i++)
			st->layers[i].ids_mapped = true;
	dk_parents(st, &db);
	dk_images(st, &db);
	dk_containers(st, &db);
	free(db.e);
	return 0;
}
