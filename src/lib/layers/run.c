/*
 * A plan of overlay-layers: built by a command's planner, printed, or
 * applied in its own order (not the fixes' phases: the planner orders
 * it), every change journalled by the fix code fsck.overlay uses, so
 * that --undo of either program rolls it back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "overlay/report_json.h"
#include "overlay/util.h"
#include "repair/repair_internal.h"
#include "internal.h"

void ovl_layers_plan_init(struct ovl_layers_plan *p, const char *command)
{
	memset(p, 0, sizeof(*p));
	p->command = command;
	ovl_plan_init(&p->fixes);
}

void ovl_layers_plan_free(struct ovl_layers_plan *p)
{
	ovl_plan_free(&p->fixes);
	free(p->bytes);
	free(p->why);
	memset(p, 0, sizeof(*p));
}

void ovl_layers_plan_add(struct ovl_layers_plan *p, enum ovl_fix_op op, int layer,
			 const char *path, const void *val, size_t len,
			 unsigned long long bytes, const char *why)
{
	if (p->fixes.n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->bytes = ovl_xrealloc(p->bytes, p->cap * sizeof(*p->bytes));
		p->why = ovl_xrealloc(p->why, p->cap * sizeof(*p->why));
	}
	p->bytes[p->fixes.n] = bytes;
	p->why[p->fixes.n] = why;
	p->total += bytes;
	ovl_plan_add(&p->fixes, op, layer, path, strlen(path), 0, val, len, OVL_FIX_NO_PROBLEM);
}

static const char *verb(enum ovl_fix_op op)
{
	switch (op) {
	case OVL_FIX_RM_COPY:
		return "remove";
	case OVL_FIX_MG_BEGIN:
		return "make";
	case OVL_FIX_MG_MOVE:
		return "move";
	case OVL_FIX_MG_LINK:
		return "link";
	case OVL_FIX_MG_ATTR:
		return "set owner, mode and times of";
	case OVL_FIX_MG_XATTR:
		return "set an xattr of";
	case OVL_FIX_MG_COMMIT:
		return "remove";
	default:
		return op == OVL_LSTEP_ADD ? "add" : ovl_fix_op_name(op);
	}
}

static const char *layer_name(const struct ovl_stack *s, int layer)
{
	return layer == OVL_FIX_WORKDIR ? "work" : s->layers[layer].name;
}

/* A move's or link's source, "lower1:/a -> " (its value "LAYER:/path"). */
static void print_source(const struct ovl_stack *s, const struct ovl_fix *f, FILE *out)
{
	char *colon = f->val ? memchr(f->val, ':', f->len) : NULL;

	if ((f->op != OVL_FIX_MG_MOVE && f->op != OVL_FIX_MG_LINK) || !colon)
		return;
	int layer = atoi((const char *)f->val);
	if (layer != OVL_FIX_WORKDIR && (layer < 0 || layer >= s->nlayers))
		return;
	fprintf(out, "%s:", layer_name(s, layer));
	ovl_print_escaped(out, colon + 1, f->len - (size_t)(colon + 1 - (char *)f->val));
	fputs(" -> ", out);
}

void ovl_layers_plan_print(const struct ovl_stack *s, const struct ovl_layers_plan *p,
			   bool dry_run, FILE *out)
{
	for (size_t i = 0; i < p->fixes.n; i++) {
		const struct ovl_fix *f = &p->fixes.fixes[i];
		fprintf(out, "%s%s ", dry_run ? "would " : "", verb(f->op));
		print_source(s, f, out);
		fprintf(out, "%s:", layer_name(s, f->layer));
		ovl_print_escaped(out, f->path, strlen(f->path));
		fprintf(out, ": %llu bytes (%s)\n", p->bytes[i], p->why[i]);
	}
}

long ovl_layers_apply(struct ovl_stack *s, struct ovl_layers_plan *p, char *journal_path,
		      size_t journal_size, bool numbered, struct ovl_progress *progress,
		      FILE *err_out)
{
	struct journal j;
	long done = 0;

	if (!p->fixes.n)
		return 0;
	if (ovl_journal_open(&j, journal_path, journal_size, numbered, s) < 0) {
		fprintf(err_out, "cannot write the undo journal %s: %s: no changes made\n",
			journal_path, strerror(errno));
		return -1;
	}
	ovl_progress_pass(progress, 1, p->command);
	for (size_t i = 0; i < p->fixes.n && !ovl_repair_interrupted; i++) {
		const struct ovl_fix *f = &p->fixes.fixes[i];
		ovl_progress_update(progress, i, p->fixes.n, NULL);
		if (ovl_fix_apply(s, &j, f) < 0) {
			int err = errno;
			fprintf(err_out, "%s:", layer_name(s, f->layer));
			ovl_print_escaped(err_out, f->path, strlen(f->path));
			fprintf(err_out, ": cannot %s: %s\n", verb(f->op), strerror(err));
			break;
		}
		done++;
	}
	ovl_progress_update(progress, (unsigned long long)done, p->fixes.n, NULL);
	ovl_progress_end(progress);
	ovl_journal_close(&j);
	return done;
}

/* json-c failing to allocate is out of memory, as for ovl_xmalloc() */
static json_object *must(json_object *o)
{
	if (!o) {
		fputs("overlay-layers: out of memory\n", stderr);
		exit(8);
	}
	return o;
}

static void put(json_object *obj, const char *key, json_object *val)
{
	if (json_object_object_add(obj, key, val) < 0) {
		fputs("overlay-layers: out of memory\n", stderr);
		exit(8);
	}
}

static json_object *bytes_of(const char *s)
{
	return ovl_json_bytes(s, strlen(s));
}

int ovl_layers_json_write(const struct ovl_stack *s, const struct ovl_layers_plan *p,
			  const struct ovl_layers_result *res, FILE *out)
{
	json_object *doc = must(json_object_new_object());
	json_object *layers = must(json_object_new_array());
	json_object *changes = must(json_object_new_array());

	put(doc, "command", must(json_object_new_string(p->command)));
	put(doc, "dry_run", must(json_object_new_boolean(res->dry_run)));
	for (int i = 0; s && i < s->nlayers; i++) {
		json_object *l = must(json_object_new_object());
		put(l, "name", must(json_object_new_string(s->layers[i].name)));
		put(l, "path", bytes_of(s->layers[i].path ? s->layers[i].path : ""));
		json_object_array_add(layers, l);
	}
	put(doc, "layers", layers);
	for (size_t i = 0; i < p->fixes.n; i++) {
		const struct ovl_fix *f = &p->fixes.fixes[i];
		json_object *c = must(json_object_new_object());
		put(c, "change", must(json_object_new_string(verb(f->op))));
		put(c, "layer", must(json_object_new_string(s ? layer_name(s, f->layer) : "?")));
		put(c, "path", bytes_of(f->path));
		put(c, "bytes", must(json_object_new_uint64(p->bytes[i])));
		put(c, "why", must(json_object_new_string(p->why[i])));
		put(c, "done", must(json_object_new_boolean((long)i < res->done)));
		json_object_array_add(changes, c);
	}
	put(doc, "changes", changes);
	put(doc, "bytes", must(json_object_new_uint64(p->total)));
	put(doc, "partial", must(json_object_new_boolean(p->partial)));
	if (res->journal && *res->journal)
		put(doc, "journal", bytes_of(res->journal));
	if (res->error)
		put(doc, "error", bytes_of(res->error));
	put(doc, "exit", must(json_object_new_int(res->exit_code)));
	int ret = fprintf(out, "%s\n", json_object_to_json_string_ext(doc,
			  JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0 ? -1 : 0;
	json_object_put(doc);
	return ret;
}
