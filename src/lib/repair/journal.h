/*
 * The undo journal: one text file per run, one record per change, each
 * synced before its change is made. The writer, the reader (bytes from a
 * file an admin names: parsed as hostile input) and --undo, which checks
 * every record against the layers before it rolls anything back. What
 * each kind of change does forward and backward is the fix modules'
 * (ovl_fix_state, ovl_fix_revert).
 *
 * Format (text, one record a line, bytes as hex):
 *   overlay-fsck-journal 1
 *   L <layer> <dev> <ino>          each layer root, W as layer -1
 *   R <seq> <op> <layer> x<path> <xattr> <old> <new>    (old/new: '-' absent,
 *                                                        'x' + hex present)
 *   D <seq>                        the change was made
 */
#ifndef OVL_JOURNAL_H
#define OVL_JOURNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "overlay/repair.h"
#include "overlay/stack.h"

#define OVL_JOURNAL_MAGIC	"overlay-fsck-journal 1"

/* The journal of a run being written. */
struct journal {
	FILE *f;
	const char *path;	/* where it is written (the caller's buffer) */
	unsigned long seq;
	bool batch;		/* records are synced together by ovl_journal_sync */
	unsigned long *preseq;	/* by plan order: a record written ahead, or 0 */
};

/* One record read back. */
struct record {
	unsigned long seq;
	enum ovl_fix_op op;
	int layer;
	char *path;		/* "/a/b": absolute, no "."/".." or empty component */
	char *xname;		/* an xattr name, or NULL */
	unsigned char *old, *new;	/* NUL-terminated copies, NULL when absent */
	size_t oldlen, newlen;
	bool has_old, has_new, done;
};

/* The identity of a layer root when the journal was written. */
struct journal_root {
	int layer;		/* OVL_FIX_WORKDIR for W */
	unsigned long long dev, ino;
};

/* A whole journal read back. */
struct journal_file {
	struct journal_root *roots;
	size_t nroots;
	struct record *recs;
	size_t n;
};

/* The name of an op in the journal, and back (-1: unknown). */
const char *ovl_fix_op_name(enum ovl_fix_op op);
int ovl_fix_op_by_name(const char *name);

/*
 * Create a new journal at path (never an existing file: with `numbered`
 * a taken name gets a ".N" suffix written back into path) and write the
 * header and the identity of every layer root of s, synced.
 */
int ovl_journal_open(struct journal *j, char *path, size_t size, bool numbered,
		     const struct ovl_stack *s);
int ovl_journal_close(struct journal *j);

/* Append (and, unless batched, sync) the record of a change about to be made. */
int ovl_journal_record(struct journal *j, const struct ovl_fix *f, const char *xname,
		       const void *old, size_t oldlen, bool had_old,
		       const void *new, size_t newlen, bool has_new);
/* The change of record seq (of the last record) was made. */
void ovl_journal_done_seq(struct journal *j, unsigned long seq);
void ovl_journal_done(struct journal *j);
int ovl_journal_sync(struct journal *j);
/* Close the step before and journal the next step of the same fix; each
 * step gets its own kill points in the crash tests. */
int ovl_journal_step(struct journal *j, const struct ovl_fix *f, const char *xname,
		     const void *old, size_t oldlen, bool had_old,
		     const void *new, size_t newlen, bool has_new);

/* One "R" line of a record (what ovl_journal_record writes). */
void ovl_journal_put(FILE *out, const struct record *rec);

/*
 * Read a journal: the header, the roots, the records (with their "D"
 * lines). A last line without its newline is a record cut while it was
 * written: its change was never begun, it is left out. Returns 0, or -1
 * with a one-line reason in err (no such op, a bad path or xattr name, a
 * line that is none of the above).
 */
int ovl_journal_parse(FILE *in, struct journal_file *out, char *err, size_t errlen);
void ovl_journal_file_free(struct journal_file *jf);

/* A path inside a layer: "/" or "" for its root, else components that
 * are neither empty, ".", ".." nor hold a NUL (len: its bytes). */
bool ovl_journal_path_ok(const char *p, size_t len);
/* An xattr name as setxattr takes it and a record can hold: printable,
 * no blank, at most 255 bytes. */
bool ovl_journal_xname_ok(const char *x);
/* A place "LAYER:/path" (a move's source): 0 with *layer and *path (into
 * v, NUL-terminated by the reader), or -1. */
int ovl_journal_place_parse(const unsigned char *v, size_t len, int *layer, const char **path);

/* The crash tests' kill points (OVL_FAULT_WRITE): before and after a change. */
void ovl_fault_point(bool after);

#endif
