/*
 * A container engine's overlay store read as a whole (docs/stores.md has
 * the layouts and the engine sources they were read from).
 *
 * Everything below the store root is written by the engine and, through
 * the layers, by containers: every file is opened relative to the root
 * fd by ovl_open_beneath() (no symlink followed anywhere on the way), the
 * l/ entries are only read with readlinkat(), and every read is bounded.
 * A metadata file that cannot be used becomes an entry of st->errors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "overlay/lookup.h"
#include "overlay/store.h"
#include "overlay/util.h"
#include "store_internal.h"

/* Bounds of what is read: a link file holds 26 bytes, a lower file at
 * most 128 (Docker) or 500 (the kernel) short names; the JSON lists grow
 * with the store. */
#define LINK_MAX_BYTES	256
#define LOWER_MAX_BYTES	(64 * 1024)
#define NAME_MAX_BYTES	255

/* ---- small helpers ---- */

static void error_add(struct ovl_store_error **v, size_t *n, const char *file,
		      const char *fmt, va_list ap)
{
	char why[512];

	vsnprintf(why, sizeof(why), fmt, ap);
	*v = ovl_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].file = ovl_xstrdup(file);
	(*v)[*n].why = ovl_xstrdup(why);
	(*n)++;
}

void ovl_store_error(struct ovl_store *st, const char *file, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_add(&st->errors, &st->nerrors, file, fmt, ap);
	va_end(ap);
}

void ovl_store_name_error(struct ovl_store *st, const char *file, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_add(&st->name_errors, &st->nname_errors, file, fmt, ap);
	va_end(ap);
}

char *ovl_store_read_bounded(int dirfd, const char *relpath, size_t max, size_t *len,
			     bool *missing, char *why, size_t whylen)
{
	struct stat sb;
	char *buf;
	size_t got = 0, cap;
	int fd;

	*missing = false;
	fd = ovl_open_beneath(dirfd, relpath, strlen(relpath),
			      O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		*missing = errno == ENOENT;
		snprintf(why, whylen, "%s", errno == ELOOP ? "a symlink (not followed)"
			 : strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		close(fd);
		return NULL;
	}
	if ((unsigned long long)sb.st_size > max) {
		snprintf(why, whylen, "too large (%lld bytes, at most %zu read)",
			 (long long)sb.st_size, max);
		close(fd);
		return NULL;
	}
	/* sized by the file, not by the bound: a 64 MiB buffer for every
	 * small JSON file makes a store of many containers slow */
	cap = (size_t)sb.st_size + 1;
	buf = ovl_xmalloc(cap + 1);
	for (;;) {
		if (got == cap) {	/* grew since the fstat */
			cap = cap > max / 2 ? max + 1 : 2 * cap;
			buf = ovl_xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "%s", strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {	/* grew since the fstat */
			snprintf(why, whylen, "too large (more than %zu bytes)", max);
			free(buf);
			close(fd);
			return NULL;
		}
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* A layer id as a path component: no '/', not hidden, not . or .., printable. */
bool ovl_store_id_ok(const char *s, size_t len)
{
	if (len == 0 || len > NAME_MAX_BYTES || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* A short name as the engines make them: base32 letters and digits. */
static bool short_ok(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

bool ovl_store_hex64_ok(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* "sha256:<64 hex>" (a digest as the engines write it) -> the hex. */
const char *ovl_store_digest_hex(const char *s)
{
	if (!s || strncmp(s, "sha256:", 7) || !ovl_store_hex64_ok(s + 7, strlen(s + 7)))
		return NULL;
	return s + 7;
}

static bool is_dir_at(int dirfd, const char *name)
{
	struct stat sb;
	return ovl_stat_at(dirfd, name, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int ovl_store_open_dir(int dirfd, const char *rel)
{
	return ovl_open_beneath(dirfd, rel, strlen(rel), O_RDONLY | O_DIRECTORY);
}

/* ---- layers ---- */

static long layer_add(struct ovl_store *st, const char *id)
{
	struct ovl_store_layer *l;

	st->layers = ovl_xrealloc(st->layers, (st->nlayers + 1) * sizeof(*st->layers));
	l = &st->layers[st->nlayers];
	memset(l, 0, sizeof(*l));
	l->id = ovl_xstrdup(id);
	l->parent = OVL_STORE_NONE;
	l->diff_size = l->files_size = -1;
	return (long)st->nlayers++;
}

long ovl_store_layer_find(const struct ovl_store *st, const char *id)
{
	for (size_t i = 0; i < st->nlayers; i++)
		if (!strcmp(st->layers[i].id, id))
			return (long)i;
	return OVL_STORE_NONE;
}

long ovl_store_link_find(const struct ovl_store *st, const char *name)
{
	for (size_t i = 0; i < st->nlinks; i++)
		if (!strcmp(st->links[i].name, name))
			return (long)i;
	return OVL_STORE_NONE;
}

/* The layer the metadata names, made (not on disk) when the driver dir lacks it. */
long ovl_store_layer_known(struct ovl_store *st, const char *id)
{
	long i = ovl_store_layer_find(st, id);

	if (i == OVL_STORE_NONE)
		i = layer_add(st, id);
	st->layers[i].known = true;
	return i;
}

/* The link and lower files of one layer dir. */
static void layer_read_files(const struct ovl_store *st, struct ovl_store_layer *l, int lfd)
{
	char why[128], *buf;
	size_t len;
	bool missing;

	l->has_diff = is_dir_at(lfd, st->diff_rel);
	l->has_work = is_dir_at(lfd, "work");
	if (st->kind == OVL_STORE_CONTAINERD)
		return;	/* no short names: its metadata chains the snapshots */

	buf = ovl_store_read_bounded(lfd, "link", LINK_MAX_BYTES, &len, &missing, why, sizeof(why));
	l->link_file = buf || !missing;
	if (buf && short_ok(buf, len))
		l->link = ovl_xstrndup(buf, len);
	free(buf);

	buf = ovl_store_read_bounded(lfd, "lower", LOWER_MAX_BYTES, &len, &missing, why, sizeof(why));
	l->lower_file = buf || !missing;
	if (!buf) {
		l->lower_bad = l->lower_file;
		return;
	}
	if (len == 0) {
		free(buf);
		return;
	}
	/* "l/A:l/B", top first, no trailing newline: what the engines write */
	if (memchr(buf, '\0', len))
		l->lower_bad = true;
	for (char *p = buf; !l->lower_bad;) {
		char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n < 3 || strncmp(p, "l/", 2) || !short_ok(p + 2, n - 2)) {
			l->lower_bad = true;
			break;
		}
		l->lower = ovl_xrealloc(l->lower, (l->nlower + 1) * sizeof(*l->lower));
		l->lower[l->nlower++] = ovl_xstrndup(p + 2, n - 2);
		if (!end)
			break;
		p = end + 1;
	}
	free(buf);
}

/* Names in the driver dir that are the engine's own, not layers. */
static bool driver_skip(const struct ovl_store *st, const char *name)
{
	/* containerd: every dir its metadata lacks is its own cleanup's to
	 * remove (getCleanupDirectories), "new-*" of a cut prepare too */
	if (st->kind == OVL_STORE_CONTAINERD)
		return false;
	if (!strcmp(name, "l") || name[0] == '.')
		return true;
	/* containers-storage: staging dirs of partial pulls, deferred
	 * removals, the feature test's scratch dirs */
	return st->kind == OVL_STORE_CSTORAGE &&
	       (!strcmp(name, "staging") || !strcmp(name, "tempdirs") ||
		!strncmp(name, "compat", 6));
}

static int read_driver_dir(struct ovl_store *st, char *err, size_t errlen)
{
	size_t n = 0;
	char **names = ovl_dir_names(st->driverfd, "", &n);

	if (!names) {
		snprintf(err, errlen, "%s: %s", st->driver, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct ovl_store_layer *l;
		int lfd;

		if (driver_skip(st, names[i]) || !ovl_store_id_ok(names[i], strlen(names[i])) ||
		    !is_dir_at(st->driverfd, names[i]))
			continue;
		lfd = ovl_open_dir_at(st->driverfd, names[i]);
		long li = layer_add(st, names[i]);	/* may move the array */
		l = &st->layers[li];
		l->on_disk = true;
		if (lfd >= 0) {
			layer_read_files(st, l, lfd);
			close(lfd);
		}
	}
	ovl_dir_names_free(names);
	return 0;
}

/* "../<id>/diff" -> the layer, as the engines write the l/ symlinks. */
static long link_target_layer(const struct ovl_store *st, const char *t)
{
	size_t n;

	if (strncmp(t, "../", 3))
		return OVL_STORE_NONE;
	t += 3;
	n = strcspn(t, "/");
	if (strcmp(t + n, "/diff") || !ovl_store_id_ok(t, n))
		return OVL_STORE_NONE;
	for (size_t i = 0; i < st->nlayers; i++)
		if (strlen(st->layers[i].id) == n && !memcmp(st->layers[i].id, t, n))
			return (long)i;
	return OVL_STORE_NONE;
}

static void read_links(struct ovl_store *st)
{
	size_t n = 0;
	char **names;

	st->linkfd = ovl_open_beneath(st->driverfd, "l", 1, O_PATH | O_DIRECTORY);
	if (st->linkfd < 0)
		return;
	names = ovl_dir_names(st->linkfd, "", &n);
	for (size_t i = 0; names && i < n; i++) {
		struct ovl_store_link *k;
		struct stat sb;

		st->links = ovl_xrealloc(st->links, (st->nlinks + 1) * sizeof(*st->links));
		k = &st->links[st->nlinks++];
		k->name = ovl_xstrdup(names[i]);
		k->target = NULL;
		k->layer = OVL_STORE_NONE;
		if (ovl_stat_at(st->linkfd, names[i], &sb) == 0 && S_ISLNK(sb.st_mode)) {
			char buf[PATH_MAX];
			ssize_t len = readlinkat(st->linkfd, names[i], buf, sizeof(buf) - 1);
			if (len >= 0) {
				buf[len] = '\0';
				k->target = ovl_xstrdup(buf);
				k->layer = link_target_layer(st, k->target);
			}
		}
	}
	ovl_dir_names_free(names);
}

/* ---- stacks ---- */

struct ovl_store_stack *ovl_store_stack_add(struct ovl_store *st, bool container,
					    const char *id, const char *name, long top)
{
	struct ovl_store_stack *sk;

	st->stacks = ovl_xrealloc(st->stacks, (st->nstacks + 1) * sizeof(*st->stacks));
	sk = &st->stacks[st->nstacks++];
	memset(sk, 0, sizeof(*sk));
	sk->container = container;
	sk->id = ovl_xstrdup(id);
	sk->name = ovl_xstrdup(name && *name ? name : id);
	sk->top = top;
	return sk;
}

/* Follow the metadata's parents from the top; a loop ends the chain. */
static void stack_chain(struct ovl_store *st, struct ovl_store_stack *sk)
{
	for (long i = sk->top; i != OVL_STORE_NONE; i = st->layers[i].parent) {
		struct ovl_store_layer *l = &st->layers[i];

		for (size_t k = 0; k < sk->nchain; k++)
			if (sk->chain[k] == i) {
				sk->broken = true;
				return;
			}
		sk->chain = ovl_xrealloc(sk->chain, (sk->nchain + 1) * sizeof(*sk->chain));
		sk->chain[sk->nchain++] = i;
		if (!l->on_disk || !l->known || !l->has_diff || l->parent_missing)
			sk->broken = true;
	}
	if (sk->top == OVL_STORE_NONE)
		sk->broken = true;
}

static int stack_cmp(const void *a, const void *b)
{
	const struct ovl_store_stack *x = a, *y = b;

	if (x->container != y->container)
		return x->container ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Name every layer: the first image by name that uses it, else its container. */
static void label_layers(struct ovl_store *st)
{
	char buf[600];

	for (size_t s = 0; s < st->nstacks; s++) {
		struct ovl_store_stack *sk = &st->stacks[s];
		size_t first = 0;

		if (sk->container) {
			for (size_t k = 0; k < sk->nchain; k++) {
				struct ovl_store_layer *l = &st->layers[sk->chain[k]];
				if (!l->rw)
					continue;
				first = k + 1;
				if (l->label)
					continue;
				snprintf(buf, sizeof(buf), "container %s%s", sk->name,
					 k ? " (init layer)" : "");
				l->label = ovl_xstrdup(buf);
			}
			/* containerd: the snapshots below are named by an image
			 * or by their own keys */
			if (st->kind == OVL_STORE_CONTAINERD)
				continue;
		}
		size_t n = sk->nchain - first;
		for (size_t k = first; k < sk->nchain; k++) {
			struct ovl_store_layer *l = &st->layers[sk->chain[k]];
			if (l->label)
				continue;
			/* numbered from the base, as `docker history` lists them upwards */
			snprintf(buf, sizeof(buf), "%s%s layer %zu/%zu",
				 sk->container ? "container " : "", sk->name, sk->nchain - k, n);
			l->label = ovl_xstrdup(buf);
		}
	}
	for (size_t i = 0; i < st->nlayers; i++) {
		struct ovl_store_layer *l = &st->layers[i];
		if (l->label)
			continue;
		if (l->key) {	/* containerd: views, and snapshots of no image */
			char *name = ovl_store_cd_key_name(l->key);
			snprintf(buf, sizeof(buf), "%s %s%s", l->view ? "view" : "snapshot", name,
				 l->committed ? " (no image uses it)" : "");
			free(name);
		} else if (l->known)
			snprintf(buf, sizeof(buf), "layer %.12s (no image uses it)", l->id);
		else
			snprintf(buf, sizeof(buf), "orphan");
		l->label = ovl_xstrdup(buf);
	}
}

/* ---- JSON ---- */

struct json_object *ovl_store_read_json(struct ovl_store *st, const char *rel, bool must)
{
	char why[160];
	size_t len;
	bool missing;
	char *buf = ovl_store_read_bounded(st->rootfd, rel, JSON_MAX_BYTES, &len, &missing,
					   why, sizeof(why));
	struct json_tokener *tok;
	struct json_object *obj;
	char file[PATH_MAX + 2];

	snprintf(file, sizeof(file), "/%s", rel);
	if (!buf) {
		if (!missing || must)
			ovl_store_error(st, file, "%s", missing ? "missing" : why);
		return NULL;
	}
	tok = json_tokener_new();
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)len) {
		/* trailing bytes after a complete value are damage too */
		bool trailing = obj && json_tokener_get_error(tok) == json_tokener_success;
		while (trailing && tok->char_offset < (int)len &&
		       strchr(" \t\r\n", buf[tok->char_offset]))
			tok->char_offset++;
		if (!trailing || tok->char_offset != (int)len) {
			ovl_store_error(st, file, "not valid JSON: %s",
					obj ? "bytes after the value" :
					json_tokener_get_error(tok) == json_tokener_continue ?
					"cut short" :
					json_tokener_error_desc(json_tokener_get_error(tok)));
			json_object_put(obj);
			obj = NULL;
		}
	}
	json_tokener_free(tok);
	free(buf);
	return obj;
}

const char *ovl_store_jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The first string of an array field ("names"), or NULL. */
const char *ovl_store_jfirst(struct json_object *o, const char *key)
{
	struct json_object *v, *e;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
		return NULL;
	e = json_object_array_get_idx(v, 0);
	return json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
}

/* ---- mount options ---- */

/* Keep the overlay feature options of an engine's option list. */
static void add_features(char *out, size_t outlen, const char *list)
{
	static const char *const keep[] = {
		"index=", "metacopy=", "redirect_dir=", "xino=", "nfs_export=",
		"uuid=", "verity=", "userxattr", "volatile",
	};
	char *copy = ovl_xstrdup(list), *save = NULL;

	for (char *it = strtok_r(copy, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		while (*it == ' ')
			it++;
		for (size_t k = 0; k < OVL_ARRAY_SIZE(keep); k++) {
			size_t kl = strlen(keep[k]);
			bool eq = keep[k][kl - 1] == '=';
			if (eq ? !strncmp(it, keep[k], kl) : !strcmp(it, keep[k])) {
				size_t used = strlen(out);
				snprintf(out + used, outlen - used, "%s%s", used ? "," : "", it);
				break;
			}
		}
	}
	free(copy);
}

/*
 * containers-storage: `mountopt` of storage.conf, [storage.options.overlay]
 * (or the older [storage.options]). Only the lines this needs are parsed:
 * a section header, then `mountopt = "..."`.
 */
static void cs_conf_mountopt(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "re");
	char line[4096], best[1024] = "", old[1024] = "";
	int section = 0;	/* 1: storage.options, 2: storage.options.overlay */

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *q;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '[') {
			section = !strncmp(p, "[storage.options.overlay]", 25) ? 2 :
				  !strncmp(p, "[storage.options]", 17) ? 1 : 0;
			continue;
		}
		if (!section || strncmp(p, "mountopt", 8))
			continue;
		p += 8;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p++ != '=')
			continue;
		p = strchr(p, '"');
		q = p ? strchr(p + 1, '"') : NULL;
		if (!q)
			continue;
		*q = '\0';
		snprintf(section == 2 ? best : old, sizeof(best), "%s", p + 1);
	}
	fclose(f);
	add_features(out, outlen, best[0] ? best : old);
}

static void mount_options(struct ovl_store *st)
{
	char opts[1024] = "";
	struct stat sb;

	if (st->kind == OVL_STORE_DOCKER || st->kind == OVL_STORE_CONTAINERD) {
		/* overlay2 and containerd's snapshotter add index=off when the
		 * kernel knows the option */
		if (stat("/sys/module/overlay/parameters/index", &sb) == 0)
			add_features(opts, sizeof(opts), "index=off");
	} else {
		const char *conf = getenv("OVL_STORAGE_CONF");
		/* the system's storage.conf describes the default root only */
		if (!conf && !strcmp(st->root, "/var/lib/containers/storage"))
			conf = "/etc/containers/storage.conf";
		if (conf)
			cs_conf_mountopt(conf, opts, sizeof(opts));
	}
	st->mount_options = ovl_xstrdup(opts);
}

/* ---- sizes of orphans ---- */

static unsigned long long tree_size(int dirfd, dev_t dev, int depth)
{
	unsigned long long sum = 0;
	DIR *d;
	struct dirent *de;
	int fd = dup(dirfd);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		struct stat sb;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		sum += (unsigned long long)sb.st_blocks * 512;
		/* no crossing into other mounts; very deep trees are cut */
		if (S_ISDIR(sb.st_mode) && sb.st_dev == dev && depth < 256) {
			int sub = ovl_open_dir_at(dirfd, de->d_name);
			if (sub >= 0) {
				sum += tree_size(sub, dev, depth + 1);
				close(sub);
			}
		}
	}
	closedir(d);
	return sum;
}

static void orphan_sizes(struct ovl_store *st)
{
	for (size_t i = 0; i < st->nlayers; i++) {
		struct ovl_store_layer *l = &st->layers[i];
		struct stat sb;
		int fd;

		if (!l->on_disk || l->known)
			continue;
		fd = ovl_open_dir_at(st->driverfd, l->id);
		if (fd < 0)
			continue;
		if (fstat(fd, &sb) == 0)
			l->size = (unsigned long long)sb.st_blocks * 512 +
				  tree_size(fd, sb.st_dev, 0);
		close(fd);
	}
}

/* ---- open / close ---- */

/*
 * containerd: dir is its root (it holds the snapshotter dir), the
 * snapshotter dir itself (its parent the root), or a snapshotter dir of
 * another name (a root_path of its own: no root, so no names).
 */
static bool detect_containerd(struct ovl_store *st, int fd, const char *abs, const char *base)
{
	int snap = ovl_open_dir_at(fd, OVL_CD_SNAPSHOTTER);

	if (snap >= 0) {
		bool ok = is_dir_at(snap, "snapshots");
		close(snap);
		if (!ok)
			return false;
		st->root = ovl_xstrdup(abs);
		st->rootfd = fd;
		st->driver_rel = OVL_CD_SNAPSHOTTER "/snapshots";
		return true;
	}
	if (!is_dir_at(fd, "snapshots") || faccessat(fd, "metadata.db", F_OK,
						      AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	if (!strcmp(base, OVL_CD_SNAPSHOTTER)) {
		int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up >= 0) {
			st->root = ovl_xstrndup(abs, (size_t)(base - abs > 1 ? base - abs - 1 : 1));
			st->rootfd = up;
			st->driver_rel = OVL_CD_SNAPSHOTTER "/snapshots";
			close(fd);
			return true;
		}
	}
	st->root = ovl_xstrdup(abs);
	st->rootfd = fd;
	st->driver_rel = "snapshots";
	return true;
}

/*
 * Which layout, and where its root is: dir is the engine root (it holds
 * the driver dir and the metadata) or the driver dir itself (its parent
 * holds the metadata).
 */
static int detect(struct ovl_store *st, const char *abs, char *err, size_t errlen)
{
	static const struct {
		enum ovl_store_kind kind;
		const char *driver, *meta;
	} lay[] = {
		{ OVL_STORE_DOCKER, "overlay2", "image" },
		{ OVL_STORE_CSTORAGE, "overlay", "overlay-layers" },
	};
	int fd = open(abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	const char *base = strrchr(abs, '/');

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", abs, strerror(errno));
		return -1;
	}
	base = base ? base + 1 : abs;
	st->diff_rel = "diff";
	for (size_t k = 0; k < OVL_ARRAY_SIZE(lay); k++) {
		if (is_dir_at(fd, lay[k].driver) && is_dir_at(fd, lay[k].meta)) {
			st->kind = lay[k].kind;
			st->root = ovl_xstrdup(abs);
			st->rootfd = fd;
			st->driver_rel = lay[k].driver;
			return 0;
		}
	}
	for (size_t k = 0; k < OVL_ARRAY_SIZE(lay); k++) {
		int up;
		if (strcmp(base, lay[k].driver))
			continue;
		up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up >= 0 && is_dir_at(up, lay[k].meta)) {
			st->kind = lay[k].kind;
			st->root = ovl_xstrndup(abs, (size_t)(base - abs > 1 ? base - abs - 1 : 1));
			st->rootfd = up;
			st->driver_rel = lay[k].driver;
			close(fd);
			return 0;
		}
		if (up >= 0)
			close(up);
	}
	if (detect_containerd(st, fd, abs, base)) {
		st->kind = OVL_STORE_CONTAINERD;
		st->diff_rel = "fs";
		return 0;
	}
	close(fd);
	snprintf(err, errlen, "%s: not a Docker overlay2, containers-storage overlay or "
		 "containerd overlayfs store (no overlay2/ with image/, overlay/ with "
		 "overlay-layers/, nor " OVL_CD_SNAPSHOTTER "/snapshots/)", abs);
	return -1;
}

int ovl_store_open(struct ovl_store *st, const char *dir, char *err, size_t errlen)
{
	char abs[PATH_MAX];
	char *p;

	memset(st, 0, sizeof(*st));
	st->rootfd = st->driverfd = st->linkfd = -1;
	if (!realpath(dir, abs)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (detect(st, abs, err, errlen) < 0)
		return -1;
	st->driverfd = ovl_open_beneath(st->rootfd, st->driver_rel, strlen(st->driver_rel),
					O_RDONLY | O_DIRECTORY);
	if (st->driverfd < 0) {
		snprintf(err, errlen, "%s/%s: %s", st->root, st->driver_rel, strerror(errno));
		return -1;
	}
	p = ovl_xmalloc(strlen(st->root) + strlen(st->driver_rel) + 2);
	sprintf(p, "%s%s%s", st->root, strcmp(st->root, "/") ? "/" : "", st->driver_rel);
	st->driver = p;

	if (read_driver_dir(st, err, errlen) < 0)
		return -1;
	if (st->kind == OVL_STORE_DOCKER)
		ovl_store_read_docker(st);
	else if (st->kind == OVL_STORE_CSTORAGE)
		ovl_store_read_cstorage(st);
	else
		ovl_store_read_containerd(st);
	/* after the metadata: links may name layers only the metadata knows */
	if (st->kind != OVL_STORE_CONTAINERD)
		read_links(st);

	if (st->nstacks)	/* qsort's array may not be NULL, even empty */
		qsort(st->stacks, st->nstacks, sizeof(*st->stacks), stack_cmp);
	for (size_t i = 0; i < st->nstacks; i++)
		stack_chain(st, &st->stacks[i]);
	label_layers(st);
	orphan_sizes(st);
	mount_options(st);
	return 0;
}

void ovl_store_close(struct ovl_store *st)
{
	for (size_t i = 0; i < st->nlayers; i++) {
		struct ovl_store_layer *l = &st->layers[i];
		free(l->id);
		free(l->link);
		for (size_t k = 0; k < l->nlower; k++)
			free(l->lower[k]);
		free(l->lower);
		free(l->parent_id);
		free(l->label);
		free(l->tarsplit);
		free(l->diff_digest);
		free(l->key);
	}
	free(st->layers);
	for (size_t i = 0; i < st->nlinks; i++) {
		free(st->links[i].name);
		free(st->links[i].target);
	}
	free(st->links);
	for (size_t i = 0; i < st->nstacks; i++) {
		free(st->stacks[i].id);
		free(st->stacks[i].name);
		free(st->stacks[i].chain);
		free(st->stacks[i].ref);
	}
	free(st->stacks);
	for (size_t i = 0; i < st->nerrors; i++) {
		free(st->errors[i].file);
		free(st->errors[i].why);
	}
	free(st->errors);
	for (size_t i = 0; i < st->nname_errors; i++) {
		free(st->name_errors[i].file);
		free(st->name_errors[i].why);
	}
	free(st->name_errors);
	free(st->root);
	free(st->driver);
	free(st->mount_options);
	if (st->rootfd >= 0)
		close(st->rootfd);
	if (st->driverfd >= 0)
		close(st->driverfd);
	if (st->linkfd >= 0)
		close(st->linkfd);
	memset(st, 0, sizeof(*st));
	st->rootfd = st->driverfd = st->linkfd = -1;
}

/* ---- the options a stack is mounted with ---- */

static char *diff_path(const struct ovl_store *st, long i, const char *sub)
{
	char *p = ovl_xmalloc(strlen(st->driver) + strlen(st->layers[i].id) + strlen(sub) + 3);

	sprintf(p, "%s/%s/%s", st->driver, st->layers[i].id, sub);
	return p;
}

/* Every layer from chain[from] down must be there to be mounted. */
static int chain_usable(const struct ovl_store *st, const long *chain, size_t n,
			char *err, size_t errlen)
{
	for (size_t k = 0; k < n; k++) {
		const struct ovl_store_layer *l = &st->layers[chain[k]];
		if (!l->on_disk || !l->has_diff) {
			snprintf(err, errlen, "%s: layer %s has no %s", l->label ? l->label : l->id,
				 l->id, !l->on_disk ? "dir" : st->kind == OVL_STORE_CONTAINERD ?
				 "fs dir" : "diff dir");
			return -1;
		}
		if (l->parent_missing) {
			snprintf(err, errlen, "%s: its parent layer %s does not exist",
				 l->label ? l->label : l->id, l->parent_id ? l->parent_id : "?");
			return -1;
		}
	}
	return 0;
}

static int opts_finish(const struct ovl_store *st, struct ovl_opts *o, char *err,
		       size_t errlen)
{
	if (st->mount_options && *st->mount_options &&
	    ovl_opts_parse(o, st->mount_options, err, errlen) < 0)
		return -1;
	return 0;
}

int ovl_store_stack_opts(const struct ovl_store *st, const struct ovl_store_stack *sk,
			 struct ovl_opts *o, char *err, size_t errlen)
{
	size_t first = sk->container ? 1 : 0;

	if (sk->nchain && chain_usable(st, sk->chain, sk->nchain, err, errlen) < 0)
		return -1;
	if (sk->nchain == 0 || sk->broken) {
		/* e.g. an image whose layer database lacks one of its layers */
		snprintf(err, errlen, "%s: its chain of layers is incomplete", sk->name);
		return -1;
	}
	if (sk->nchain <= first) {
		/* Docker mounts nothing then; containers-storage its empty dir;
		 * containerd bind-mounts the snapshot's fs dir */
		if (st->kind != OVL_STORE_CSTORAGE) {
			snprintf(err, errlen, "%s: a single layer, not mounted as an overlay",
				 sk->name);
			return -1;
		}
		char *e = diff_path(st, sk->top, "empty");
		ovl_opts_add_lower(o, e);
		free(e);
	}
	if (sk->container) {
		o->upper = diff_path(st, sk->top, st->diff_rel);
		o->work = diff_path(st, sk->top, "work");
	}
	for (size_t k = first; k < sk->nchain; k++) {
		char *d = diff_path(st, sk->chain[k], st->diff_rel);
		ovl_opts_add_lower(o, d);
		free(d);
	}
	return opts_finish(st, o, err, errlen);
}

int ovl_store_layer_opts(const struct ovl_store *st, long layer, struct ovl_opts *o,
			 char *err, size_t errlen)
{
	long chain[512];
	size_t n = 0;

	if (layer < 0 || (size_t)layer >= st->nlayers) {
		snprintf(err, errlen, "no such layer");
		return -1;
	}
	for (long i = layer; i != OVL_STORE_NONE; i = st->layers[i].parent) {
		for (size_t k = 0; k < n; k++)
			if (chain[k] == i) {
				snprintf(err, errlen, "%s: its parents make a loop",
					 st->layers[layer].label);
				return -1;
			}
		if (n == OVL_ARRAY_SIZE(chain)) {
			snprintf(err, errlen, "%s: more than %zu layers",
				 st->layers[layer].label, OVL_ARRAY_SIZE(chain));
			return -1;
		}
		chain[n++] = i;
	}
	if (chain_usable(st, chain, n, err, errlen) < 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		char *d = diff_path(st, chain[k], st->diff_rel);
		ovl_opts_add_lower(o, d);
		free(d);
	}
	return opts_finish(st, o, err, errlen);
}
