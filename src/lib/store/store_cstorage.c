/*
 * containers-storage (Podman, CRI-O, Buildah): overlay-layers/layers.json,
 * overlay-images/images.json, overlay-containers/containers.json and
 * their volatile twins, read into the store model (docs/stores.md).
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

/* A JSON list file: the array, or NULL (missing, or recorded as an error). */
static struct json_object *read_json_array(struct ovl_store *st, const char *rel, bool must,
					   char *file, size_t size)
{
	struct json_object *arr = ovl_store_read_json(st, rel, must);

	snprintf(file, size, "/%s", rel);
	if (arr && !json_object_is_type(arr, json_type_array)) {
		ovl_store_error(st, file, "not a JSON array");
		json_object_put(arr);
		arr = NULL;
	}
	return arr;
}

/* What --verify-content checks a layer against: its tar-split record
 * beside the list, the digest and size of the tar it was unpacked from
 * (layers.go: "diff-digest", "diff-size"). */
static void cs_content_record(struct ovl_store_layer *l, struct json_object *o)
{
	const char *digest = ovl_store_digest_hex(ovl_store_jstr(o, "diff-digest"));
	struct json_object *v;
	char rel[300];

	snprintf(rel, sizeof(rel), "overlay-layers/%s.tar-split.gz", l->id);
	free(l->tarsplit);
	l->tarsplit = ovl_xstrdup(rel);
	free(l->diff_digest);
	l->diff_digest = digest ? ovl_xstrdup(digest) : NULL;
	if (json_object_object_get_ex(o, "diff-size", &v) && json_object_is_type(v, json_type_int))
		l->diff_size = json_object_get_int64(v);
	/* a layer copied for a container with ID mappings (when the kernel
	 * has no idmapped mounts) holds shifted owners; its record does not */
	l->ids_mapped = (json_object_object_get_ex(o, "uidmap", &v) &&
			 json_object_is_type(v, json_type_array) && json_object_array_length(v)) ||
			(json_object_object_get_ex(o, "gidmap", &v) &&
			 json_object_is_type(v, json_type_array) && json_object_array_length(v));
}

static void cs_layers(struct ovl_store *st, const char *rel, bool must)
{
	char file[PATH_MAX + 2];
	struct json_object *arr = read_json_array(st, rel, must, file, sizeof(file));

	if (!arr)
		return;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		const char *id = ovl_store_jstr(o, "id"), *parent = ovl_store_jstr(o, "parent");

		if (!id || !ovl_store_id_ok(id, strlen(id))) {
			ovl_store_error(st, file, "layer %zu has no valid \"id\"", i);
			continue;
		}
		long li = ovl_store_layer_known(st, id);
		if (parent && *parent) {
			free(st->layers[li].parent_id);
			st->layers[li].parent_id = ovl_xstrdup(parent);
		}
		cs_content_record(&st->layers[li], o);
	}
	json_object_put(arr);
}

static void cs_parents(struct ovl_store *st)
{
	for (size_t i = 0; i < st->nlayers; i++) {
		struct ovl_store_layer *l = &st->layers[i];
		if (!l->parent_id)
			continue;
		l->parent = ovl_store_id_ok(l->parent_id, strlen(l->parent_id)) ?
			    ovl_store_layer_find(st, l->parent_id) : OVL_STORE_NONE;
		if (l->parent != OVL_STORE_NONE && !st->layers[l->parent].known)
			l->parent = OVL_STORE_NONE;
		l->parent_missing = l->parent == OVL_STORE_NONE;
	}
}

/* A layer id the images or containers file names: known, or a broken stack. */
static long cs_layer_ref(struct ovl_store *st, const char *id)
{
	long i;

	if (!id || !ovl_store_id_ok(id, strlen(id)))
		return OVL_STORE_NONE;
	/* named by an image or container: known, even when the layer list
	 * lacks it (it then has no parent) */
	i = ovl_store_layer_known(st, id);
	return i;
}

static void cs_stacks(struct ovl_store *st, const char *rel, bool container)
{
	char file[PATH_MAX + 2];
	struct json_object *arr = read_json_array(st, rel, false, file, sizeof(file));

	if (!arr)
		return;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		const char *id = ovl_store_jstr(o, "id"), *layer = ovl_store_jstr(o, "layer");
		long top;

		if (!id || !*id) {
			ovl_store_error(st, file, "entry %zu has no \"id\"", i);
			continue;
		}
		if (!layer || !*layer) {
			/* an image of no layer (scratch) mounts nothing */
			if (container)
				ovl_store_error(st, file, "container %s has no \"layer\"", id);
			continue;
		}
		top = cs_layer_ref(st, layer);
		if (top == OVL_STORE_NONE) {
			ovl_store_error(st, file, "entry %zu names an invalid layer id", i);
			continue;
		}
		if (container)
			st->layers[top].rw = true;
		ovl_store_stack_add(st, container, id, ovl_store_jfirst(o, "names"), top);
	}
	json_object_put(arr);
}

int ovl_store_read_cstorage(struct ovl_store *st)
{
	bool any = false;

	for (size_t i = 0; i < st->nlayers; i++)
		any |= st->layers[i].on_disk;
	/* an empty store may not have written its list yet */
	cs_layers(st, "overlay-layers/layers.json", any);
	cs_layers(st, "overlay-layers/volatile-layers.json", false);
	cs_stacks(st, "overlay-images/images.json", false);
	cs_stacks(st, "overlay-containers/containers.json", true);
	cs_stacks(st, "overlay-containers/volatile-containers.json", true);
	/* last: a parent may be known from the images only (a damaged list) */
	cs_parents(st);
	return 0;
}
