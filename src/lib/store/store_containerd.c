/*
 * containerd's overlayfs snapshotter, read into the store model
 * (docs/stores.md): its bbolt metadata.db chains the snapshots (every
 * snapshot's id, which is its dir under snapshots/, kind and parent);
 * containerd's own meta.db names them (images through the labels of
 * their content, containers through their snapshot keys). Both are read
 * with bbolt.c, never written or locked.
 *
 * snapshotter metadata.db   v1/snapshots/<key>/{id: uvarint, kind: 1 byte
 *                           (1 view, 2 active, 3 committed), parent: key}
 *                           <key> = "<namespace>/<n>/<the client's key>"
 * meta.db                   v1/<ns>/images/<name>/target/digest
 *                           v1/<ns>/content/blob/<digest>/labels/
 *                             containerd.io/gc.ref.content.config|m.<i>
 *                             containerd.io/gc.ref.snapshot.overlayfs
 *                           v1/<ns>/snapshots/overlayfs/<key>/name
 *                           v1/<ns>/containers/<id>/{snapshotter,snapshotKey}
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/bbolt.h"
#include "overlay/lookup.h"
#include "overlay/util.h"
#include "store_internal.h"

/* a metadata database is read whole: bounded */
#define CD_DB_MAX	(1024ull * 1024 * 1024)
#define CD_SNAPSHOTTER_NAME	"overlayfs"
#define CD_LABEL_SNAPSHOT	"containerd.io/gc.ref.snapshot." CD_SNAPSHOTTER_NAME
#define KEY_MAX		4096	/* longer keys are damage here */
/* an index of manifests, each with its config: three blobs deep */
#define REF_DEPTH	3
#define REF_MANIFESTS	16	/* platforms of an index tried */
#define REF_VISITS	100000	/* blob lookups for all images: a bound for hostile labels */
#define BAD_SAID	10	/* damaged snapshot entries named; the rest counted */

enum { KIND_VIEW = 1, KIND_ACTIVE = 2, KIND_COMMITTED = 3 };

struct cd_snap {
	char *key;
	char *parent;
	long layer;
	int kind;
	bool named;		/* an image or container names it */
};

struct cd {
	struct ovl_store *st;
	char file[320];		/* the snapshotter's metadata.db, as reported */
	struct cd_snap *s;	/* sorted by key once read */
	size_t n;
	bool bad;		/* the snapshot list could not all be read */
	unsigned long nbad;	/* damaged entries */
};

/* An item's key or value as a C string, or NULL (a NUL inside, too long). */
static char *cd_str(const unsigned char *p, size_t n)
{
	if (n > KEY_MAX || memchr(p, '\0', n))
		return NULL;
	return ovl_xstrndup((const char *)p, n);
}

static int cd_snap_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cd_snap *)a)->key, ((const struct cd_snap *)b)->key);
}

static struct cd_snap *cd_find(const struct cd *c, const char *key)
{
	struct cd_snap k = { .key = (char *)key };

	return c->n ? bsearch(&k, c->s, c->n, sizeof(*c->s), cd_snap_cmp) : NULL;
}

/* ---- the snapshotter's metadata.db ---- */

/* A damaged entry of the snapshotter's metadata: the first few said. */
static void cd_bad(struct cd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cd_bad(struct cd *c, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	c->bad = true;
	if (c->nbad++ >= BAD_SAID)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ovl_store_error(c->st, c->file, "%s", why);
}

struct snap_walk {
	struct cd *c;
	struct ovl_bolt *db;
};

static int snap_one(void *arg, const struct ovl_bolt_item *it)
{
	struct snap_walk *w = arg;
	struct cd *c = w->c;
	struct ovl_bolt_bucket b;
	struct ovl_bolt_item v;
	uint64_t id;
	char *key = cd_str(it->key, it->klen), ids[24];

	if (!key || !it->bucket || ovl_bolt_item_bucket(w->db, it, &b) < 0) {
		cd_bad(c, "a snapshot entry that is not a bucket with a key: %s",
		       w->db->err[0] ? w->db->err : "bad key");
		free(key);
		return 0;
	}
	if (ovl_bolt_get(w->db, &b, "id", 2, &v) != 1 ||
	    !ovl_bolt_uvarint(v.val, v.vlen, &id) || id == 0) {
		cd_bad(c, "snapshot %.200s has no valid id", key);
		free(key);
		return 0;
	}
	int kind = ovl_bolt_get(w->db, &b, "kind", 4, &v) == 1 && v.vlen == 1 ? v.val[0] : 0;
	if (kind < KIND_VIEW || kind > KIND_COMMITTED) {
		cd_bad(c, "snapshot %.200s has no valid kind", key);
		free(key);
		return 0;
	}
	char *parent = NULL;
	if (ovl_bolt_get(w->db, &b, "parent", 6, &v) == 1 && v.vlen &&
	    !(parent = cd_str(v.val, v.vlen)))
		cd_bad(c, "snapshot %.200s: its parent key is unreadable", key);
	/* the dir is named by the id in decimal (strconv.FormatUint) */
	snprintf(ids, sizeof(ids), "%" PRIu64, id);
	long li = ovl_store_layer_find(c->st, ids);
	if (li != OVL_STORE_NONE && c->st->layers[li].known) {
		cd_bad(c, "snapshots %.200s and %.200s have one id, %s",
		       c->st->layers[li].key, key, ids);
		free(key);
		free(parent);
		return 0;
	}
	li = ovl_store_layer_known(c->st, ids);
	struct ovl_store_layer *l = &c->st->layers[li];
	l->key = ovl_xstrdup(key);
	l->rw = kind == KIND_ACTIVE;
	l->committed = kind == KIND_COMMITTED;
	l->view = kind == KIND_VIEW;
	c->s = ovl_xrealloc(c->s, (c->n + 1) * sizeof(*c->s));
	c->s[c->n++] = (struct cd_snap){ .key = key, .parent = parent, .layer = li, .kind = kind };
	return 0;
}

/* Each snapshot's parent, by key: missing, or not a committed snapshot. */
static void cd_parents(struct cd *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct cd_snap *s = &c->s[i];
		struct ovl_store_layer *l = &c->st->layers[s->layer];
		const struct cd_snap *p;

		if (!s->parent)
			continue;
		l->parent_id = ovl_xstrdup(s->parent);
		p = cd_find(c, s->parent);
		if (!p) {
			l->parent_missing = true;
			continue;
		}
		if (p->kind != KIND_COMMITTED) {
			/* containerd makes snapshots on committed parents only */
			cd_bad(c, "snapshot %.200s: its parent %.200s is not committed",
			       s->key, p->key);
			continue;
		}
		l->parent = p->layer;
	}
}

static void cd_read_snapshots(struct cd *c, const char *rel)
{
	struct ovl_store *st = c->st;
	struct ovl_bolt db;
	struct ovl_bolt_bucket root, v1, snaps;
	bool any = false;
	int fd, rc;

	snprintf(c->file, sizeof(c->file), "/%s", rel);
	for (size_t i = 0; i < st->nlayers; i++)
		any |= st->layers[i].on_disk;
	fd = ovl_open_beneath(st->rootfd, rel, strlen(rel), O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		/* an empty snapshotter may not have made it yet */
		if (errno != ENOENT || any)
			ovl_store_error(st, c->file, "%s", errno == ENOENT ? "missing" :
					errno == ELOOP ? "a symlink (not followed)" : strerror(errno));
		c->bad = true;
		return;
	}
	if (ovl_bolt_open_fd(&db, fd, CD_DB_MAX) < 0) {
		ovl_store_error(st, c->file, "%s", db.err);
		c->bad = true;
		goto out;
	}
	ovl_bolt_root(&db, &root);
	/* the buckets are made with the first snapshot */
	rc = ovl_bolt_sub(&db, &root, "v1", &v1);
	if (rc == 1)
		rc = ovl_bolt_sub(&db, &v1, "snapshots", &snaps);
	if (rc == 1) {
		struct snap_walk w = { c, &db };
		rc = ovl_bolt_each(&db, &snaps, snap_one, &w);
	}
	if (rc < 0) {
		ovl_store_error(st, c->file, "%s", db.err);
		c->bad = true;
	}
out:
	ovl_bolt_close(&db);
	close(fd);
	if (c->n)
		qsort(c->s, c->n, sizeof(*c->s), cd_snap_cmp);
	cd_parents(c);
	if (c->nbad > BAD_SAID)
		ovl_store_error(st, c->file, "%lu more damaged snapshot entries",
				c->nbad - BAD_SAID);
}

/* ---- names: containerd's meta.db ---- */

struct names {
	struct cd *c;
	struct ovl_bolt *db;
	const char *ns;
	struct ovl_bolt_bucket nsb;
	bool has_content, has_snaps;
	struct ovl_bolt_bucket blobs;	/* content/blob */
	struct ovl_bolt_bucket snaps;	/* snapshots/overlayfs */
	unsigned long visits;		/* blob lookups so far */
};

/* A string value of bucket b, or NULL. */
static char *cd_get_str(struct ovl_bolt *db, const struct ovl_bolt_bucket *b, const char *key)
{
	struct ovl_bolt_item it;

	if (ovl_bolt_get(db, b, key, strlen(key), &it) != 1 || it.bucket)
		return NULL;
	return cd_str(it.val, it.vlen);
}

/* "c1", or "c1 (namespace k8s.io)": what users call a thing of a namespace */
static char *cd_name(const char *ns, const char *name)
{
	size_t n = strlen(name) + strlen(ns) + 16;
	char *out = ovl_xmalloc(n);

	if (!strcmp(ns, "default"))
		snprintf(out, n, "%s", name);
	else
		snprintf(out, n, "%s (namespace %s)", name, ns);
	return out;
}

/* The snapshot a key of the metadata's snapshots/overlayfs stands for:
 * its "name" is the snapshotter's key. NULL with *known false when the
 * metadata has no such key. */
static struct cd_snap *cd_meta_snap(struct names *nm, const char *key, char **backend,
				    bool *known)
{
	struct ovl_bolt_bucket b;

	*known = false;
	*backend = NULL;
	if (!nm->has_snaps || ovl_bolt_sub(nm->db, &nm->snaps, key, &b) != 1)
		return NULL;
	*known = true;
	*backend = cd_get_str(nm->db, &b, "name");
	return *backend ? cd_find(nm->c, *backend) : NULL;
}

/* The chain key an image's content names for this snapshotter: the
 * config's snapshot label, through the manifest (and index) labels. */
static char *cd_image_chain(struct names *nm, const char *digest, int depth)
{
	struct ovl_bolt_bucket blob, labels;
	char *snap;

	if (depth >= REF_DEPTH || !nm->has_content || ++nm->visits > REF_VISITS ||
	    ovl_bolt_sub(nm->db, &nm->blobs, digest, &blob) != 1 ||
	    ovl_bolt_sub(nm->db, &blob, "labels", &labels) != 1)
		return NULL;
	snap = cd_get_str(nm->db, &labels, CD_LABEL_SNAPSHOT);
	if (snap)
		return snap;
	char *cfg = cd_get_str(nm->db, &labels, "containerd.io/gc.ref.content.config");
	if (cfg) {
		snap = cd_image_chain(nm, cfg, depth + 1);
		free(cfg);
		return snap;
	}
	/* an index: the first of its manifests unpacked here */
	for (int i = 0; i < REF_MANIFESTS && !snap; i++) {
		char key[64];
		snprintf(key, sizeof(key), "containerd.io/gc.ref.content.m.%d", i);
		char *m = cd_get_str(nm->db, &labels, key);
		if (!m)
			break;
		snap = cd_image_chain(nm, m, depth + 1);
		free(m);
	}
	return snap;
}

/* A stack whose top the snapshotter does not have: reported, never checked. */
static void cd_missing(struct names *nm, bool container, const char *id, const char *name,
		       const char *key)
{
	struct ovl_store_stack *sk = ovl_store_stack_add(nm->c->st, container, id, name,
							 OVL_STORE_NONE);
	sk->ref = ovl_xstrdup(key);
}

static int image_one(void *arg, const struct ovl_bolt_item *it)
{
	struct names *nm = arg;
	struct ovl_bolt_bucket b, target;
	char *img = cd_str(it->key, it->klen), *digest = NULL, *chain = NULL, *backend = NULL;
	bool known;

	if (!img || !it->bucket || ovl_bolt_item_bucket(nm->db, it, &b) < 0 ||
	    ovl_bolt_sub(nm->db, &b, "target", &target) != 1 ||
	    !(digest = cd_get_str(nm->db, &target, "digest")))
		goto out;
	chain = cd_image_chain(nm, digest, 0);
	if (!chain)
		goto out;	/* not unpacked for this snapshotter */
	char *name = cd_name(nm->ns, img);
	struct cd_snap *s = cd_meta_snap(nm, chain, &backend, &known);
	if (s) {
		s->named = true;
		ovl_store_stack_add(nm->c->st, false, digest, name, s->layer);
	} else if (known) {
		cd_missing(nm, false, digest, name, backend ? backend : chain);
	}
	free(name);
out:
	free(img);
	free(digest);
	free(chain);
	free(backend);
	return 0;
}

static int container_one(void *arg, const struct ovl_bolt_item *it)
{
	struct names *nm = arg;
	struct ovl_bolt_bucket b;
	char *id = cd_str(it->key, it->klen), *snapshotter = NULL, *key = NULL, *backend = NULL;
	bool known;

	if (!id || !it->bucket || ovl_bolt_item_bucket(nm->db, it, &b) < 0)
		goto out;
	snapshotter = cd_get_str(nm->db, &b, "snapshotter");
	key = cd_get_str(nm->db, &b, "snapshotKey");
	if (!snapshotter || strcmp(snapshotter, CD_SNAPSHOTTER_NAME) || !key || !*key)
		goto out;	/* another snapshotter's, or no rootfs of its own */
	char *name = cd_name(nm->ns, id);
	struct cd_snap *s = cd_meta_snap(nm, key, &backend, &known);
	if (s && s->kind == KIND_ACTIVE) {
		s->named = true;
		ovl_store_stack_add(nm->c->st, true, id, name, s->layer);
	} else if (!s) {
		/* containerd cannot mount its rootfs: "snapshot does not exist" */
		cd_missing(nm, true, id, name, backend ? backend : key);
	}
	free(name);
out:
	free(id);
	free(snapshotter);
	free(key);
	free(backend);
	return 0;
}

static int ns_one(void *arg, const struct ovl_bolt_item *it)
{
	struct names *nm = arg;
	struct ovl_bolt_bucket sub, content;
	char *ns = cd_str(it->key, it->klen);

	if (!ns || !it->bucket || ovl_bolt_item_bucket(nm->db, it, &nm->nsb) < 0) {
		free(ns);
		return 0;	/* "version" and the like */
	}
	nm->ns = ns;
	nm->has_content = ovl_bolt_sub(nm->db, &nm->nsb, "content", &content) == 1 &&
			  ovl_bolt_sub(nm->db, &content, "blob", &nm->blobs) == 1;
	nm->has_snaps = ovl_bolt_sub(nm->db, &nm->nsb, "snapshots", &sub) == 1 &&
			ovl_bolt_sub(nm->db, &sub, CD_SNAPSHOTTER_NAME, &nm->snaps) == 1;
	if (ovl_bolt_sub(nm->db, &nm->nsb, "images", &sub) == 1)
		ovl_bolt_each(nm->db, &sub, image_one, nm);
	if (ovl_bolt_sub(nm->db, &nm->nsb, "containers", &sub) == 1)
		ovl_bolt_each(nm->db, &sub, container_one, nm);
	free(ns);
	nm->ns = NULL;
	return 0;
}

static void cd_read_names(struct cd *c)
{
	struct ovl_store *st = c->st;
	struct ovl_bolt db;
	struct ovl_bolt_bucket root, v1;
	int fd = ovl_open_beneath(st->rootfd, OVL_CD_META_DB, strlen(OVL_CD_META_DB),
				  O_RDONLY | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		if (errno != ENOENT)
			ovl_store_name_error(st, "/" OVL_CD_META_DB, "%s", errno == ELOOP ?
					     "a symlink (not followed)" : strerror(errno));
		return;
	}
	if (ovl_bolt_open_fd(&db, fd, CD_DB_MAX) == 0) {
		ovl_bolt_root(&db, &root);
		if (ovl_bolt_sub(&db, &root, "v1", &v1) == 1) {
			struct names nm = { .c = c, .db = &db };
			ovl_bolt_each(&db, &v1, ns_one, &nm);
		}
	}
	if (db.err[0])
		ovl_store_name_error(st, "/" OVL_CD_META_DB, "%s", db.err);
	ovl_bolt_close(&db);
	close(fd);
}

/* "default/5/c1" -> "c1", "k8s.io/9/x" -> "x (namespace k8s.io)" */
char *ovl_store_cd_key_name(const char *key)
{
	const char *a = strchr(key, '/'), *b = a ? strchr(a + 1, '/') : NULL;
	char *ns, *out;

	if (!b)
		return ovl_xstrdup(key);
	ns = ovl_xstrndup(key, (size_t)(a - key));
	out = cd_name(ns, b + 1);
	free(ns);
	return out;
}

/* Active snapshots no container names (`ctr snapshots prepare`, an
 * unpack cut short) are mounted as containers are: stacks of their own. */
static void cd_bare_actives(struct cd *c)
{
	char buf[600];

	for (size_t i = 0; i < c->n; i++) {
		struct cd_snap *s = &c->s[i];
		if (s->kind != KIND_ACTIVE || s->named)
			continue;
		char *name = ovl_store_cd_key_name(s->key);
		snprintf(buf, sizeof(buf), "snapshot %s", name);
		ovl_store_stack_add(c->st, true, s->key, buf, s->layer);
		/* its label before label_layers() makes it "container ..." */
		snprintf(buf, sizeof(buf), "active snapshot %s (no container)", name);
		c->st->layers[s->layer].label = ovl_xstrdup(buf);
		free(name);
	}
}

int ovl_store_read_containerd(struct ovl_store *st)
{
	struct cd c = { .st = st };
	/* the snapshotter dir holds metadata.db beside snapshots/ */
	size_t dl = strlen(st->driver_rel) - strlen("snapshots");
	char rel[300];

	snprintf(rel, sizeof(rel), "%.*smetadata.db", (int)dl, st->driver_rel);
	cd_read_snapshots(&c, rel);
	/* names only where the snapshotter is the one below containerd's root */
	if (!c.bad && dl)
		cd_read_names(&c);
	cd_bare_actives(&c);
	for (size_t i = 0; i < c.n; i++) {
		free(c.s[i].key);
		free(c.s[i].parent);
	}
	free(c.s);
	return 0;
}
