/*
 * Private to the store model: what store.c (the driver dir, links,
 * labels, options) shares with the readers of each engine's metadata,
 * store_docker.c and store_cstorage.c.
 */
#ifndef OVL_STORE_INTERNAL_H
#define OVL_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "overlay/store.h"

struct json_object;

#define SMALL_MAX_BYTES	4096			/* Docker's layerdb files */
#define JSON_MAX_BYTES	(64 * 1024 * 1024)	/* the JSON lists grow with the store */

/* A metadata file that cannot be used: an entry of st->errors (or of
 * st->name_errors, for metadata that only names things). */
void ovl_store_error(struct ovl_store *st, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ovl_store_name_error(struct ovl_store *st, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Read the regular file relpath below dirfd, at most max bytes, never
 * following a symlink and never opening anything else (a fifo would
 * block). Returns a NUL-terminated buffer (length in *len) or NULL with
 * a reason in why; *missing tells ENOENT apart.
 */
char *ovl_store_read_bounded(int dirfd, const char *relpath, size_t max, size_t *len,
			     bool *missing, char *why, size_t whylen);
/* A JSON file below the root; NULL and an error entry when it is not
 * (a missing file only when must). */
struct json_object *ovl_store_read_json(struct ovl_store *st, const char *rel, bool must);
/* A string member, or the first string of an array member ("names"). */
const char *ovl_store_jstr(struct json_object *o, const char *key);
const char *ovl_store_jfirst(struct json_object *o, const char *key);

/* A layer id usable as a path component. */
bool ovl_store_id_ok(const char *s, size_t len);
/* 64 lowercase hex digits; "sha256:<them>" -> them, else NULL. */
bool ovl_store_hex64_ok(const char *s, size_t len);
const char *ovl_store_digest_hex(const char *s);
/* A dir below dirfd, O_RDONLY, never through a symlink. */
int ovl_store_open_dir(int dirfd, const char *rel);

/* The layer the metadata names (added, not on disk, when the driver dir
 * lacks it), marked known. */
long ovl_store_layer_known(struct ovl_store *st, const char *id);
/* A new image or container stack (its chain is filled in later). */
struct ovl_store_stack *ovl_store_stack_add(struct ovl_store *st, bool container,
					    const char *id, const char *name, long top);

/* Each engine's metadata into layers (known, parents) and stacks. */
int ovl_store_read_docker(struct ovl_store *st);
int ovl_store_read_cstorage(struct ovl_store *st);
int ovl_store_read_containerd(struct ovl_store *st);

/* What users call a containerd snapshot of this key: "default/5/c1" ->
 * "c1", "k8s.io/9/x" -> "x (namespace k8s.io)" (malloc'ed). */
char *ovl_store_cd_key_name(const char *key);

#endif
