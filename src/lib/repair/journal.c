/*
 * The undo journal: writer, reader and --undo (format in journal.h).
 *
 * Before each change one record goes to the journal and is synced: what
 * the change is and what was there before. A crash between record and
 * change leaves a record without its "D" line; undo and the next check
 * both look at the layers themselves, so either state is fine. The
 * reader takes the file as hostile: a record names its place only as a
 * layer number and a path that cannot leave the layer ("." and ".."
 * components, empty ones and NUL bytes are refused), and undo checks
 * that every layer root is the one the journal was written for.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "overlay/util.h"
#include "journal.h"
#include "repair_internal.h"

static const char *const op_names[] = {
	[OVL_FIX_MK_WHITEOUT] = "mkwhiteout",
	[OVL_FIX_LINK_W] = "link",
	[OVL_FIX_SET_XATTR] = "setxattr",
	[OVL_FIX_RM_XATTR] = "rmxattr",
	[OVL_FIX_RM_WHITEOUT] = "rmwhiteout",
	[OVL_FIX_QUARANTINE] = "quarantine",
	[OVL_FIX_QUARANTINE_WH] = "quarantine-wh",
	[OVL_FIX_RENAME_W] = "rename",
	[OVL_FIX_TRUNCATE] = "truncate",
	[OVL_FIX_COPY_DATA] = "copydata",
	[OVL_FIX_COPY_COMMIT] = "copyup",
	[OVL_FIX_COPYUP_NEW] = "copyup-new",
	[OVL_FIX_SYMLINK] = "symlink",
	[OVL_FIX_WRITE_FILE] = "writefile",
	[OVL_FIX_RM_SYMLINK] = "rmsymlink",
	[OVL_FIX_MKDIR] = "mkdir",
	[OVL_FIX_RM_TREE] = "rmtree",
	[OVL_FIX_RM_COPY] = "rmcopy",
	[OVL_FIX_MG_BEGIN] = "mgbegin",
	[OVL_FIX_MG_MOVE] = "mgmove",
	[OVL_FIX_MG_LINK] = "mglink",
	[OVL_FIX_MG_ATTR] = "mgattr",
	[OVL_FIX_MG_XATTR] = "mgxattr",
	[OVL_FIX_MG_COMMIT] = "mgcommit",
};

const char *ovl_fix_op_name(enum ovl_fix_op op)
{
	if ((size_t)op >= OVL_ARRAY_SIZE(op_names) || !op_names[op])
		return "?";
	return op_names[op];
}

int ovl_fix_op_by_name(const char *name)
{
	for (size_t i = 0; i < OVL_ARRAY_SIZE(op_names); i++)
		if (op_names[i] && !strcmp(name, op_names[i]))
			return (int)i;
	return -1;
}

void ovl_repair_default_journal(char *buf, size_t size, const char *workdir)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(buf, size, "%s/overlay-fsck-undo.%s", workdir, stamp);
}

/* ---- writing ---- */

static void put_hex(FILE *f, const void *buf, size_t len, bool present)
{
	char hex[3];

	if (!present) {
		fputs(" -", f);
		return;
	}
	fputs(" x", f);		/* "x" alone: present and empty */
	for (size_t i = 0; i < len; i++) {
		ovl_hex_encode((const unsigned char *)buf + i, 1, hex);
		fputs(hex, f);
	}
}

static void put_line(FILE *out, unsigned long seq, enum ovl_fix_op op, int layer,
		     const char *path, const char *xname, const void *old, size_t oldlen,
		     bool has_old, const void *new, size_t newlen, bool has_new)
{
	fprintf(out, "R %lu %s %d", seq, ovl_fix_op_name(op), layer);
	put_hex(out, path, strlen(path), true);
	fprintf(out, " %s", xname ? xname : "-");
	put_hex(out, old, oldlen, has_old);
	put_hex(out, new, newlen, has_new);
	fputc('\n', out);
}

void ovl_journal_put(FILE *out, const struct record *rec)
{
	put_line(out, rec->seq, rec->op, rec->layer, rec->path, rec->xname, rec->old,
		 rec->oldlen, rec->has_old, rec->new, rec->newlen, rec->has_new);
}

/*
 * A journal is never appended to or overwritten: one file per run. A
 * taken default name gets a numbered suffix; a taken -z name is an error.
 */
static int journal_create(char *path, size_t size, bool numbered)
{
	size_t base = strlen(path);

	for (int i = 1; i < 1000; i++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC |
			  O_NOFOLLOW, 0600);
		if (fd >= 0 || errno != EEXIST || !numbered)
			return fd;
		snprintf(path + base, size - base, ".%d", i);
	}
	return -1;
}

int ovl_journal_open(struct journal *j, char *path, size_t size, bool numbered,
		     const struct ovl_stack *s)
{
	int fd = journal_create(path, size, numbered);
	struct stat st;

	memset(j, 0, sizeof(*j));
	j->path = path;
	j->f = fd >= 0 ? fdopen(fd, "a") : NULL;
	if (!j->f) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fputs(OVL_JOURNAL_MAGIC "\n", j->f);
	for (int i = 0; i < s->nlayers; i++)
		if (s->layers[i].fd >= 0)
			fprintf(j->f, "L %d %llu %llu\n", i, (unsigned long long)s->layers[i].dev,
				(unsigned long long)s->layers[i].ino);
	if (s->workfd >= 0 && fstat(s->workfd, &st) == 0)
		fprintf(j->f, "L -1 %llu %llu\n", (unsigned long long)st.st_dev,
			(unsigned long long)st.st_ino);
	if (fflush(j->f) != 0 || fsync(fileno(j->f)) != 0)
		return -1;
	return 0;
}

int ovl_journal_close(struct journal *j)
{
	int ret = j->f ? fclose(j->f) : 0;

	free(j->preseq);
	memset(j, 0, sizeof(*j));
	return ret;
}

int ovl_journal_record(struct journal *j, const struct ovl_fix *f, const char *xname,
		       const void *old, size_t oldlen, bool had_old,
		       const void *new, size_t newlen, bool has_new)
{
	j->seq++;
	put_line(j->f, j->seq, f->op, f->layer, f->path, xname, old, oldlen, had_old, new,
		 newlen, has_new);
	if (fflush(j->f) != 0 || (!j->batch && fdatasync(fileno(j->f)) != 0))
		return -1;
	return 0;
}

int ovl_journal_sync(struct journal *j)
{
	return fflush(j->f) == 0 && fdatasync(fileno(j->f)) == 0 ? 0 : -1;
}

void ovl_journal_done_seq(struct journal *j, unsigned long seq)
{
	fprintf(j->f, "D %lu\n", seq);
	fflush(j->f);
}

void ovl_journal_done(struct journal *j)
{
	ovl_journal_done_seq(j, j->seq);
}

int ovl_journal_step(struct journal *j, const struct ovl_fix *f, const char *xname,
		     const void *old, size_t oldlen, bool had_old,
		     const void *new, size_t newlen, bool has_new)
{
	ovl_fault_point(true);
	ovl_journal_done(j);
	if (ovl_journal_record(j, f, xname, old, oldlen, had_old, new, newlen, has_new) < 0)
		return -1;
	ovl_fault_point(false);
	return 0;
}

/* Fault injection for the crash tests. */
void ovl_fault_point(bool after)
{
	static long count = -1, target;
	static bool kill_after;

	if (count < 0) {
		const char *v = getenv("OVL_FAULT_WRITE");
		target = v ? atol(v) : 0;
		kill_after = getenv("OVL_FAULT_AFTER") != NULL;
		count = 0;
	}
	if (!target)
		return;
	if (!after)
		count++;
	if (count == target && after == kill_after) {
		/* OVL_FAULT_SIGNAL=INT: the user's ^C instead of a crash;
		 * STOP: a pause the test ends with SIGCONT, to change what
		 * the kernel caches between the check and the changes */
		const char *sig = getenv("OVL_FAULT_SIGNAL");
		kill(getpid(), !sig ? SIGKILL : !strcmp(sig, "INT") ? SIGINT :
			       !strcmp(sig, "STOP") ? SIGSTOP : SIGKILL);
	}
}

/* ---- reading ---- */

/* " -" absent, " x<hex>" present; the bytes NUL-terminated. */
static bool get_hex(char **cur, unsigned char **out, size_t *len, bool *present)
{
	char *tok = strsep(cur, " ");

	*out = NULL;
	*len = 0;
	*present = false;
	if (!tok)
		return false;
	if (!strcmp(tok, "-"))
		return true;
	if (tok[0] != 'x')
		return false;
	size_t hl = strlen(tok + 1);
	if (hl % 2)
		return false;
	*out = ovl_xmalloc(hl / 2 + 1);
	long n = ovl_hex_decode(tok + 1, hl, *out, hl / 2 + 1);
	if (n < 0)
		return false;
	(*out)[n] = 0;
	*len = (size_t)n;
	*present = true;
	return true;
}

bool ovl_journal_path_ok(const char *p, size_t len)
{
	if (strlen(p) != len)
		return false;
	if (p[0] == '/')
		p++;
	if (!*p)
		return true;
	for (;;) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (!n || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!*e)
			return true;
		p = e + 1;
	}
}

/* The ops whose new value is a place in W (an index entry, the quarantine)
 * or the record's own path (an entry made by a copy-up). */
static bool new_is_path(enum ovl_fix_op op)
{
	return op == OVL_FIX_RENAME_W || op == OVL_FIX_LINK_W || op == OVL_FIX_QUARANTINE ||
	       op == OVL_FIX_QUARANTINE_WH || op == OVL_FIX_COPYUP_NEW;
}

bool ovl_journal_xname_ok(const char *x)
{
	size_t n = strlen(x);

	if (!n || n > 255)
		return false;
	for (const unsigned char *p = (const unsigned char *)x; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return false;
	return true;
}

static void record_free(struct record *rec)
{
	free(rec->path);
	free(rec->xname);
	free(rec->old);
	free(rec->new);
}

static bool get_number(char **cur, long long min, long long max, long long *out)
{
	return ovl_parse_ll(strsep(cur, " "), min, max, out);
}

static const char *parse_record(char *line, struct record *rec)
{
	char *cur = line + 2, *tok;
	unsigned char *path;
	size_t plen;
	bool present;
	long long v;
	int op;

	memset(rec, 0, sizeof(*rec));
	if (!get_number(&cur, 1, LLONG_MAX, &v))
		return "a bad sequence number";
	rec->seq = (unsigned long)v;
	if (!(tok = strsep(&cur, " ")) || (op = ovl_fix_op_by_name(tok)) < 0)
		return "an unknown change";
	rec->op = (enum ovl_fix_op)op;
	if (!get_number(&cur, OVL_FIX_WORKDIR, 65535, &v))
		return "a bad layer number";
	rec->layer = (int)v;
	if (!get_hex(&cur, &path, &plen, &present) || !present) {
		free(path);
		return "a bad path";
	}
	rec->path = (char *)path;
	if (!ovl_journal_path_ok(rec->path, plen))
		return "a path that leaves its layer";
	if (!(tok = strsep(&cur, " ")))
		return "no xattr field";
	if (strcmp(tok, "-")) {
		if (!ovl_journal_xname_ok(tok))
			return "a bad xattr name";
		rec->xname = ovl_xstrdup(tok);
	}
	if (!get_hex(&cur, &rec->old, &rec->oldlen, &rec->has_old) ||
	    !get_hex(&cur, &rec->new, &rec->newlen, &rec->has_new) || cur)
		return "bad values";
	if (new_is_path(rec->op) &&
	    (!rec->has_new || !ovl_journal_path_ok((const char *)rec->new, rec->newlen)))
		return "a target path that leaves its layer";
	/* a move's or link's source: a place in a layer, checked alike */
	if ((rec->op == OVL_FIX_MG_MOVE || rec->op == OVL_FIX_MG_LINK) &&
	    (!rec->has_old || ovl_journal_place_parse(rec->old, rec->oldlen, NULL, NULL) < 0))
		return "a source path that leaves its layer";
	return NULL;
}

int ovl_journal_place_parse(const unsigned char *v, size_t len, int *layer, const char **path)
{
	const char *colon = memchr(v, ':', len);
	long long l;
	char num[16];

	if (!colon || colon == (const char *)v || (size_t)(colon - (const char *)v) >= sizeof(num))
		return -1;
	memcpy(num, v, (size_t)(colon - (const char *)v));
	num[colon - (const char *)v] = '\0';
	size_t plen = len - (size_t)(colon + 1 - (const char *)v);
	if (!ovl_parse_ll(num, OVL_FIX_WORKDIR, 65535, &l) || colon[1] != '/' ||
	    !ovl_journal_path_ok(colon + 1, plen))
		return -1;
	if (layer)
		*layer = (int)l;
	if (path)
		*path = colon + 1;
	return 0;
}

void ovl_journal_file_free(struct journal_file *jf)
{
	for (size_t i = 0; i < jf->n; i++)
		record_free(&jf->recs[i]);
	free(jf->recs);
	free(jf->roots);
	memset(jf, 0, sizeof(*jf));
}

int ovl_journal_parse(FILE *in, struct journal_file *out, char *err, size_t errlen)
{
	size_t cap = 0, rcap = 0, lineno = 1;
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if ((len = getline(&line, &linecap, in)) < 0 ||
	    strcmp(line, OVL_JOURNAL_MAGIC "\n") != 0) {
		snprintf(err, errlen, "not an overlay-fsck journal");
		goto done;
	}
	while ((len = getline(&line, &linecap, in)) > 0) {
		lineno++;
		if (line[len - 1] != '\n')
			break;	/* cut while written: its change never began */
		line[--len] = '\0';
		if (strlen(line) != (size_t)len) {
			snprintf(err, errlen, "line %zu: a NUL byte", lineno);
			goto done;
		}
		if (line[0] == 'L' && line[1] == ' ') {
			char *cur = line + 2;
			long long layer, dev, ino;
			if (!get_number(&cur, OVL_FIX_WORKDIR, 65535, &layer) ||
			    !get_number(&cur, 0, LLONG_MAX, &dev) ||
			    !get_number(&cur, 0, LLONG_MAX, &ino) || cur) {
				snprintf(err, errlen, "line %zu: a damaged layer line", lineno);
				goto done;
			}
			if (out->nroots == rcap) {
				rcap = rcap ? 2 * rcap : 8;
				out->roots = ovl_xrealloc(out->roots, rcap * sizeof(*out->roots));
			}
			out->roots[out->nroots++] = (struct journal_root){
				(int)layer, (unsigned long long)dev, (unsigned long long)ino };
		} else if (line[0] == 'R' && line[1] == ' ') {
			if (out->n == cap) {
				cap = cap ? 2 * cap : 16;
				out->recs = ovl_xrealloc(out->recs, cap * sizeof(*out->recs));
			}
			const char *why = parse_record(line, &out->recs[out->n]);
			if (why) {
				record_free(&out->recs[out->n]);
				snprintf(err, errlen, "line %zu: a damaged record: %s", lineno, why);
				goto done;
			}
			out->n++;
		} else if (line[0] == 'D' && line[1] == ' ') {
			char *cur = line + 2;
			long long seq;
			if (!get_number(&cur, 1, LLONG_MAX, &seq) || cur) {
				snprintf(err, errlen, "line %zu: a damaged done line", lineno);
				goto done;
			}
			for (size_t i = 0; i < out->n; i++)
				if (out->recs[i].seq == (unsigned long)seq)
					out->recs[i].done = true;
		} else {
			snprintf(err, errlen, "line %zu: not a journal line", lineno);
			goto done;
		}
	}
	ret = 0;
done:
	free(line);
	if (ret < 0)
		ovl_journal_file_free(out);
	return ret;
}

/* ---- undo ---- */

int ovl_repair_undo(struct ovl_stack *s, const char *journal_path, char *err, size_t errlen)
{
	FILE *f = fopen(journal_path, "re");
	struct journal_file jf;
	char why[256];
	int ret = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", journal_path, strerror(errno));
		return 8;
	}
	if (ovl_journal_parse(f, &jf, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", journal_path, why);
		fclose(f);
		return 8;
	}
	fclose(f);
	for (size_t i = 0; i < jf.nroots; i++) {
		const struct journal_root *r = &jf.roots[i];
		struct stat st;
		int root = ovl_fix_root(s, r->layer);
		if (root < 0 || fstat(root, &st) < 0 || st.st_dev != r->dev || st.st_ino != r->ino) {
			snprintf(err, errlen, "%s: written for another stack (layer %d differs)",
				 journal_path, r->layer);
			ret = 8;
			goto out;
		}
	}
	/* the replaced entries of a committed merge are gone */
	for (size_t i = 0; i < jf.n; i++)
		if (jf.recs[i].op == OVL_FIX_MG_COMMIT) {
			snprintf(err, errlen, "%s: the merge it records was committed (the entries "
				 "it replaced are removed): nothing rolled back", journal_path);
			ret = 4;
			goto out;
		}
	/* Check everything before touching anything. */
	for (size_t i = jf.n; i-- > 0;) {
		struct record *rec = &jf.recs[i];
		int st = ovl_fix_state(s, rec);
		if (st < 0 || (st == 0 && rec->done)) {
			snprintf(err, errlen, "the layers changed since the repair (%s %s): "
				 "nothing rolled back", ovl_fix_op_name(rec->op), rec->path);
			ret = 4;
			goto out;
		}
		rec->done = st == 1;
	}
	for (size_t i = jf.n; i-- > 0;) {
		struct record *rec = &jf.recs[i];
		if (rec->done && ovl_fix_revert(s, rec) < 0) {
			snprintf(err, errlen, "cannot roll back %s %s: %s", ovl_fix_op_name(rec->op),
				 rec->path, strerror(errno));
			ret = 8;
			goto out;
		}
	}
out:
	ovl_journal_file_free(&jf);
	return ret;
}
