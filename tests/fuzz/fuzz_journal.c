/*
 * Fuzz target: the undo journal's reader (src/lib/repair/journal.c) and --undo.
 *
 * Every input is parsed. A journal read back must hold only what the
 * reader promises (known ops, layers -1..65535, paths that cannot leave a
 * layer, printable xattr names), and writing its records again must give
 * a journal that reads back the same.
 *
 * A journal the reader accepts is then rolled back for real on a small
 * stack made once in a temp dir (upper, lower, work with a quarantine,
 * a whiteout, an opaque dir, a symlink pointing out of the stack), its
 * own root lines put in place of the input's: undo may change the
 * layers, never what lies beside them (a file, a dir, the temp dir's
 * names). A stack that undo changed is filled again before the next one.
 * Undo parses what some records hold (overlay-layers' description of a
 * removed entry, layers/entry.c): that parser is fuzzed here too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "overlay/opts.h"
#include "overlay/repair.h"
#include "overlay/stack.h"
#include "../../src/lib/repair/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_seeds(size_t *n);

/* Seeds: the ops on the stack below, some right, some aimed outside.
 * Paths in hex: 2f "/", 61 "a", 7768 "wh", 64 "d", 6c696e6b "link", 2e2e "..". */
static const char *const seeds[] = {
	"overlay-fsck-journal 1\nL 0 2049 2\nL -1 2049 3\n"
	"R 1 mkwhiteout 0 x2f7768 - - -\nD 1\n",
	"overlay-fsck-journal 1\nR 1 setxattr 0 x2f64 trusted.overlay.opaque - x79\nD 1\n",
	"overlay-fsck-journal 1\nR 1 rmxattr 0 x2f64 trusted.overlay.opaque x79 -\nD 1\n",
	"overlay-fsck-journal 1\nR 1 quarantine 0 x2f71 - - "
	"x2f6f7665726c61792d6673636b2e71756172616e74696e652f542f7570706572257100\nD 1\n",
	"overlay-fsck-journal 1\nR 1 quarantine 0 x2f71 - - "
	"x2f6f7665726c61792d6673636b2e71756172616e74696e652f542f75707065722571\nD 1\n",
	"overlay-fsck-journal 1\nR 1 truncate 0 x2f6c696e6b - x35 x30\nD 1\n",
	"overlay-fsck-journal 1\nR 1 copyup-new 0 x2f6e - - x2f6e\nD 1\n",
	"overlay-fsck-journal 1\nR 1 rmwhiteout 0 x2f61 - x6320302030203020 -\nD 1\n",
	"overlay-fsck-journal 1\nR 1 mkwhiteout 0 x2f2e2e2f6f757473696465 - - -\nD 1\n",
	"overlay-fsck-journal 1\nR 1 rename -1 x2f696e6465782f61 - - x2f2e2e\nD 1\n",
	"overlay-fsck-journal 1\nR 1 setxattr 0 x2f6c696e6b2f78 trusted.overlay.opaque - x79\n",
	"overlay-fsck-journal 1\nR 1 mkdir 1 x2f64 - - -\nR 2 rmtree 1 x2f64 - - -\nD 2\nD 1\n",
	"overlay-fsck-journal 1\nR 1 symlink 0 x2f6c696e6b - x2e2e2f2e2e2f6f757473696465 x61\nD 1\n",
	"overlay-fsck-journal 1\nR 1 writefile -1 x2f66 - - x6869\nD 1\nR 2 link 0 x2f61 - - x2f62",
	/* overlay-layers' removal of d/c, made again from the lower d/c */
	"overlay-fsck-journal 1\nR 1 rmcopy 0 x2f642f63 - "
	"x6620363434203020302032203020312030203120302031203020312030203120326636343266363320"
	"747275737465642e6f7665726c61792e6f726967696e3d30306662 -\nD 1\n",
	"overlay-fsck-journal 1\nR 1 rmcopy 0 x2f64 - "
	"x64203735352030203020343039362030203120302031203020312030203120302031203266363420"
	"747275737465642e6f7665726c61792e6f70617175653d3739 -\nD 1\n",
	/* merge in place: the attic, moves, links, metadata, a commit */
	"overlay-fsck-journal 1\nR 1 mgbegin -1 x2f6f7665726c61792d6c61796572732d6d65726765 - - x2f6a\nD 1\nR 2 mgmove -1 x2f6f7665726c61792d6c61796572732d6d657267652f6131 - x313a2f61 x3220302030203020302030203020302030\nD 2\n",
	"overlay-fsck-journal 1\nR 1 mgmove 1 x2f62 - x303a2f6c696e6b x3520312030203120302031203020312030\nD 1\n",
	"overlay-fsck-journal 1\nR 1 mglink 0 x2f78 - x313a2f61 x3520312030203120302031203020312030\nD 1\n",
	"overlay-fsck-journal 1\nR 1 mgattr 1 x2f61 - x302030203634342031203020312030 x37203820343735352031203020312030\nD 1\n",
	"overlay-fsck-journal 1\nR 1 mgxattr 1 x2f61 user.x - x61\nD 1\n",
	"overlay-fsck-journal 1\nR 1 mgcommit -1 x2f6f7665726c61792d6c61796572732d6d65726765 - - -\n",
};

const char *const *fuzz_seeds(size_t *n)
{
	*n = sizeof(seeds) / sizeof(seeds[0]);
	return seeds;
}

/* ---- what the reader promises ---- */

/* Said another way than the reader says it: framed by slashes, the path
 * holds no "//", "/./" or "/../" (the root alone excepted). */
static bool path_ok(const char *p)
{
	char framed[8192];

	if (!strcmp(p, "") || !strcmp(p, "/"))
		return true;
	snprintf(framed, sizeof(framed), "%s%s/", *p == '/' ? "" : "/", p);
	return !strstr(framed, "//") && !strstr(framed, "/./") && !strstr(framed, "/../");
}

static void check_record(const struct record *r)
{
	if (!strcmp(ovl_fix_op_name(r->op), "?") || r->layer < OVL_FIX_WORKDIR ||
	    r->layer > 65535 || !r->path || !path_ok(r->path) || !r->seq)
		abort();
	if (r->xname && (!*r->xname || strlen(r->xname) > 255 || strchr(r->xname, ' ')))
		abort();
	if (r->has_old != (r->old != NULL) || r->has_new != (r->new != NULL))
		abort();
	if ((r->old && r->old[r->oldlen]) || (r->new && r->new[r->newlen]))
		abort();	/* values are NUL-terminated copies */
	/* a merge's move or link: its source a place inside a layer too */
	const char *src;
	if ((r->op == OVL_FIX_MG_MOVE || r->op == OVL_FIX_MG_LINK) &&
	    (!r->old || ovl_journal_place_parse(r->old, r->oldlen, NULL, &src) < 0 ||
	     !path_ok(src)))
		abort();
}

static bool same_bytes(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
	return al == bl && (!al || !memcmp(a, b, al));
}

/* Written again, the journal reads back the same. */
static void round_trip(const struct journal_file *jf)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct journal_file back;
	char err[256];

	if (!out)
		abort();
	fputs(OVL_JOURNAL_MAGIC "\n", out);
	for (size_t i = 0; i < jf->nroots; i++)
		fprintf(out, "L %d %llu %llu\n", jf->roots[i].layer, jf->roots[i].dev,
			jf->roots[i].ino);
	for (size_t i = 0; i < jf->n; i++) {
		ovl_journal_put(out, &jf->recs[i]);
		if (jf->recs[i].done)
			fprintf(out, "D %lu\n", jf->recs[i].seq);
	}
	fclose(out);
	FILE *in = fmemopen(buf, len, "r");
	if (!in || ovl_journal_parse(in, &back, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_journal: written again, not read: %s\n%s", err, buf);
		abort();
	}
	fclose(in);
	if (back.n != jf->n || back.nroots != jf->nroots)
		abort();
	for (size_t i = 0; i < jf->n; i++) {
		const struct record *a = &jf->recs[i], *b = &back.recs[i];
		/* a seq given twice is done when either was: both read back done */
		if (a->seq != b->seq || a->op != b->op || a->layer != b->layer ||
		    strcmp(a->path, b->path) || !a->xname != !b->xname ||
		    (a->xname && strcmp(a->xname, b->xname)) || a->done != b->done ||
		    a->has_old != b->has_old || a->has_new != b->has_new ||
		    !same_bytes(a->old, a->oldlen, b->old, b->oldlen) ||
		    !same_bytes(a->new, a->newlen, b->new, b->newlen))
			abort();
	}
	ovl_journal_file_free(&back);
	free(buf);
}

/* ---- the stack undo works on ---- */

static char tmp[256];
static bool have_stack;
static struct ovl_stack stack;

static void put_file(const char *rel, const char *content)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	FILE *f = fopen(p, "w");
	if (!f)
		abort();
	fputs(content, f);
	fclose(f);
}

/* A shell command in the temp dir. */
static void in_tmp(const char *what)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", tmp, what);
	if (system(cmd) != 0)
		abort();
}

/* The layers' contents (their roots stay: the journal names them). */
static void fill(void)
{
	char p[512];

	in_tmp("rm -rf u/* u/.[!.]* l/* w/* && mkdir -p l/d w/work w/index "
	       "w/overlay-fsck.quarantine/T u/d");
	put_file("l/a", "lower\n");
	put_file("l/d/c", "c\n");
	put_file("u/a", "upper\n");
	put_file("u/n", "new\n");
	put_file("u/q", "12345");
	put_file("w/overlay-fsck.quarantine/T/upper%q", "quarantined\n");
	put_file("w/index/a", "");
	snprintf(p, sizeof(p), "%s/u/link", tmp);
	if (symlink("../../outside", p) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/u/wh", tmp);
	mknod(p, S_IFCHR, makedev(0, 0));	/* only as root: then also xattrs */
	snprintf(p, sizeof(p), "%s/u/d", tmp);
	setxattr(p, "trusted.overlay.opaque", "y", 1, 0);
}

static void cleanup(void)
{
	if (have_stack)
		ovl_stack_close(&stack);
	if (tmp[0])
		in_tmp("cd / && rm -rf \"$OLDPWD\"");
}

static bool make_stack(void)
{
	const char *dir = getenv("TMPDIR");
	struct ovl_opts o;
	char err[256], opt[1024];

	snprintf(tmp, sizeof(tmp), "%s/fuzz-journal-XXXXXX", dir && *dir ? dir : "/tmp");
	if (!mkdtemp(tmp))
		return false;
	atexit(cleanup);
	in_tmp("mkdir u l w outside.d && echo keep >outside && echo keep >outside.d/f");
	fill();
	ovl_opts_init(&o);
	snprintf(opt, sizeof(opt), "lowerdir=%s/l,upperdir=%s/u,workdir=%s/w", tmp, tmp, tmp);
	if (ovl_opts_parse(&o, opt, err, sizeof(err)) < 0 ||
	    ovl_stack_open(&stack, &o, err, sizeof(err)) != OVL_STACK_OK) {
		fprintf(stderr, "fuzz_journal: %s\n", err);
		abort();
	}
	ovl_stack_detect(&stack);
	have_stack = true;
	return true;
}

/* Beside the layers: the same names, the same bytes. */
static void check_outside(void)
{
	static const char *const names[] = { "journal", "l", "outside", "outside.d", "u", "w" };
	char p[512], buf[16];
	DIR *d = opendir(tmp);
	struct dirent *de;

	if (!d)
		abort();
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		bool known = false;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			known |= !strcmp(de->d_name, names[i]);
		if (!known) {
			fprintf(stderr, "fuzz_journal: undo made %s beside the stack\n", de->d_name);
			abort();
		}
	}
	closedir(d);
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", tmp, i ? "outside.d/f" : "outside");
		FILE *f = fopen(p, "r");
		size_t got = f ? fread(buf, 1, sizeof(buf), f) : 0;
		if (f)
			fclose(f);
		if (got != 5 || memcmp(buf, "keep\n", 5)) {
			fprintf(stderr, "fuzz_journal: undo changed %s\n", p);
			abort();
		}
	}
}

static void undo_on_stack(const uint8_t *data, size_t size, size_t nrecords)
{
	char path[512], err[512];
	struct stat st;

	if (!have_stack && !make_stack())
		return;
	snprintf(path, sizeof(path), "%s/journal", tmp);
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	/* this stack's roots, then the input's lines but its roots */
	fputs(OVL_JOURNAL_MAGIC "\n", f);
	for (int i = 0; i < stack.nlayers; i++)
		fprintf(f, "L %d %llu %llu\n", i, (unsigned long long)stack.layers[i].dev,
			(unsigned long long)stack.layers[i].ino);
	if (fstat(stack.workfd, &st) == 0)
		fprintf(f, "L -1 %llu %llu\n", (unsigned long long)st.st_dev,
			(unsigned long long)st.st_ino);
	const uint8_t *p = memchr(data, '\n', size);
	p = p ? p + 1 : data + size;
	while (p < data + size) {
		const uint8_t *e = memchr(p, '\n', (size_t)(data + size - p));
		size_t n = e ? (size_t)(e - p) + 1 : (size_t)(data + size - p);
		if (*p != 'L')
			fwrite(p, 1, n, f);
		p += n;
	}
	fclose(f);
	int rc = ovl_repair_undo(&stack, path, err, sizeof(err));
	if (rc != 0 && rc != 4 && rc != 8)
		abort();
	check_outside();
	unlink(path);
	if (rc == 0 && nrecords)
		fill();	/* something may have been rolled back */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal_file jf;
	char err[256];
	FILE *in = fmemopen((void *)data, size, "r");

	if (!size || !in) {
		if (in)
			fclose(in);
		return 0;
	}
	int rc = ovl_journal_parse(in, &jf, err, sizeof(err));
	fclose(in);
	if (rc < 0) {
		if (!err[0] || strchr(err, '\n'))
			abort();	/* one line saying why */
		return 0;
	}
	for (size_t i = 0; i < jf.n; i++)
		check_record(&jf.recs[i]);
	round_trip(&jf);
	size_t n = jf.n;
	ovl_journal_file_free(&jf);
	undo_on_stack(data, size, n);
	return 0;
}
