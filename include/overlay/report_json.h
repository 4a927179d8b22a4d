/*
 * The machine-readable report of fsck.overlay --json: one JSON document
 * for a whole run (one or more stacks), built with json-c from what the
 * reporter is told (its `seen` and `applied` hooks), never from the
 * printed lines. The schema is fsck.overlay(8)'s JSON OUTPUT section;
 * OVL_JSON_SCHEMA_VERSION changes only when a member changes meaning or
 * goes away (members are only added within a version).
 */
#ifndef OVERLAY_REPORT_JSON_H
#define OVERLAY_REPORT_JSON_H

#include <stdio.h>

#include "overlay/fsck.h"
#include "overlay/problem.h"
#include "overlay/stack.h"

#define OVL_JSON_SCHEMA_VERSION 1

struct ovl_json;
struct json_object;

/* A document for a run in this mode (OVL_MODE_NO, _YES or _PREEN). */
struct ovl_json *ovl_json_new(enum ovl_mode mode);
void ovl_json_free(struct ovl_json *j);

/*
 * Start the record of the next stack; mountpoint is its fstab target, or
 * NULL when the layers came from the command line. Every begin is closed
 * by one ovl_json_stack_end().
 */
void ovl_json_stack_begin(struct ovl_json *j, const char *mountpoint);

/* The layers of the current stack (what ovl_stack_open() got to know, on
 * an error too) and, once ovl_stack_detect() ran, its features. */
void ovl_json_stack_layers(struct ovl_json *j, const struct ovl_stack *s);
void ovl_json_stack_features(struct ovl_json *j, const struct ovl_stack *s);

/* With --store: what the current record is, kind "store" (the engine's
 * bookkeeping), "layer" or "container", with its name and id (NULL), and
 * for a layer who uses it ("image app:1, container web", else NULL). */
void ovl_json_stack_unit(struct ovl_json *j, const char *kind, const char *name,
			 const char *id, const char *used_by);

/* With --verify-content: how to get back a layer whose content differs
 * from its record (the engine's commands). */
void ovl_json_stack_remedy(struct ovl_json *j, const char *remedy);

/* The current stack is mounted on mnt (a -n check of a mounted stack). */
void ovl_json_stack_mounted(struct ovl_json *j, const char *mnt);

/*
 * Record every problem reported into r for the current stack: takes r's
 * `seen` and `applied` hooks and sets r->silent (no problem lines).
 */
void ovl_json_attach(struct ovl_json *j, struct ovl_report *r);

/*
 * Close the current stack with its fsck(8) exit code. A checked stack
 * gives r, s, o and stats (its summary); one that could not be checked
 * gives NULL for r and a one-line error.
 */
void ovl_json_stack_end(struct ovl_json *j, const struct ovl_stack *s,
			const struct ovl_fsck_opts *o, const struct ovl_report *r,
			const struct ovl_fsck_stats *stats, int exit_code, const char *error);

/*
 * Append the stacks of a document ovl_json_write() made (a --store unit
 * checked in a child process), their exit codes or-ed into this one's.
 * Returns 0, or -1 when the text is not such a document.
 */
int ovl_json_add_document(struct ovl_json *j, const char *text, size_t len);

/*
 * Write the document on one line. Returns the exit code or-ed over the
 * stacks, or -1 when out could not be written.
 */
int ovl_json_write(struct ovl_json *j, FILE *out);

/* The byte-lossless string rule of the report: ovl_escape()'s (valid
 * UTF-8 kept, other bytes \xHH, '\\' doubled). A new json-c string. */
struct json_object *ovl_json_bytes(const char *s, size_t len);

#endif
