/*
 * fsck.overlay: argument parsing and wiring only. The checks live in the
 * library; this file turns the command line into a stack and a mode and
 * the result into an fsck(8) exit code.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/copyup.h"
#include "overlay/forkrun.h"
#include "overlay/fsck.h"
#include "overlay/fstab.h"
#include "overlay/opts.h"
#include "overlay/problem.h"
#include "overlay/repair.h"
#include "overlay/report_json.h"
#include "overlay/stack.h"
#include "overlay/store.h"
#include "overlay/store_verify.h"
#include "overlay/storefsck.h"
#include "overlay/util.h"

#define PROG "fsck.overlay"

enum {
	EXIT_CLEAN = 0,
	EXIT_UNCORRECTED = 4,
	EXIT_OPERATIONAL = 8,
	EXIT_USAGE = 16,
	EXIT_CANCELLED = 32,
};

/* --json: the report every stack is recorded into, or NULL */
static struct ovl_json *json;

static void usage(FILE *out)
{
	fputs("Usage:\n"
	      " " PROG " [options] -o lowerdir=L1[:L2...][::D1...],upperdir=U,workdir=W\n"
	      " " PROG " [options] [-w WORKDIR] UPPER LOWER [LOWER...]\n"
	      " " PROG " --undo JOURNAL [stack]\n"
	      " " PROG " --copy-up [-n|-y] -o OPTS [PATH...]\n"
	      " " PROG " [options] [--fstab FILE] MOUNTPOINT\n"
	      " " PROG " -A [options] [--fstab FILE]\n"
	      " " PROG " [options] --store DIR [--remove-orphans] [--verify-content]\n"
	      "\n"
	      "Check an unmounted overlayfs layer stack.\n"
	      "\n"
	      "Options:\n"
	      " -o OPTS             overlay mount options, may be repeated\n"
	      " -w, --workdir DIR   work dir for the positional form\n"
	      " -n                  check only, change nothing\n"
	      " -y                  fix every problem that has a fix\n"
	      " -p, -a              preen: fix unasked only what is safe\n"
	      "                     (without -n/-y/-p: ask on the terminal)\n"
	      " -z, --journal FILE  undo journal of the repair (default under\n"
	      "                     the work dir)\n"
	      "     --undo FILE     roll back the repair recorded in FILE\n"
	      "     --copy-up       copy the data of metacopy files up (all, or\n"
	      "                     the merged-view PATHs given); -n lists them\n"
	      "     --verify-data   with --copy-up: compare each copy with its source\n"
	      " -A                  check every overlay of the fstab with a pass\n"
	      "                     number, in pass order\n"
	      "     --fstab FILE    the fstab for MOUNTPOINT and -A (default\n"
	      "                     /etc/fstab)\n"
	      " -f                  force a full check (always done)\n"
	      " -v                  print each pass\n"
	      "     --store DIR     check a container engine's store: Docker's\n"
	      "                     /var/lib/docker, containers-storage's\n"
	      "                     /var/lib/containers/storage or containerd's\n"
	      "                     /var/lib/containerd, every layer\n"
	      "                     once, then every container\n"
	      "     --remove-orphans  with --store: the fix of SR_LAYER_ORPHAN\n"
	      "                     removes the layer dir\n"
	      "     --verify-content  with --store: also every image layer's files\n"
	      "                     against the engine's record (tar-split, diff\n"
	      "                     digest); reported only\n"
	      "     --json          print one JSON report on stdout instead of\n"
	      "                     the text (with -n, -p/-a or -y)\n"
	      " -j, --jobs N        threads reading the layers, and with --store\n"
	      "                     the units checked at a time (default: the\n"
	      "                     online CPUs; 1: one thread, one unit)\n"
	      " -C FD               progress: e2fsck's lines on FD (0: a bar on a\n"
	      "                     terminal)\n"
	      "     --upper-only    walk upper and the work dir only; reach lower\n"
	      "                     entries by lookup\n"
	      " -h, --help          display this help\n"
	      " -V, --version       display version\n"
	      "\n"
	      "Exit status: 0 clean, 1 problems fixed, 4 problems left,\n"
	      "8 operational error, 16 usage error, 32 cancelled (or-ed).\n", out);
}

/* Stop between two changes: the journal stays consistent. */
static void on_signal(int sig)
{
	(void)sig;
	ovl_repair_interrupted = 1;
}

/* e2fsck's progress switches: SIGUSR1 starts it, SIGUSR2 stops it. */
static void on_progress_signal(int sig)
{
	ovl_progress_signal = sig == SIGUSR1 ? 1 : 2;
}

static void progress_signals(void)
{
	sigset_t set;

	signal(SIGUSR1, on_progress_signal);
	signal(SIGUSR2, on_progress_signal);
	/* a parent may have blocked them: one sent early waits for us */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* "a/b/", "/a//b" -> "/a/b"; NULL for "." or ".." components. */
static char *normalize_path(const char *in)
{
	size_t len = strlen(in);
	char *out = malloc(len + 2), *o = out;

	if (!out)
		return NULL;
	*o++ = '/';
	for (const char *p = in; *p;) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (!n)
			break;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			free(out);
			return NULL;
		}
		if (o > out + 1)
			*o++ = '/';
		memcpy(o, p, n);
		o += n;
		p = e;
	}
	*o = '\0';
	return out;
}

static int fail_usage(const char *msg)
{
	fprintf(stderr, PROG ": %s\n", msg);
	return EXIT_USAGE;
}

/* The end of one stack's check that failed: one line on stderr, and the
 * stack's record with --json. */
static int stack_failed(const struct ovl_stack *s, int rc, const char *msg)
{
	fprintf(stderr, PROG ": %s\n", msg);
	if (json)
		ovl_json_stack_end(json, s, NULL, NULL, NULL, rc, msg);
	return rc;
}

/* Check (or repair, undo, copy up) one stack; its fsck exit code. */
static int check_one(struct ovl_opts *opts, struct ovl_fsck_opts *fo, int mode,
		     const char *undo, int progress_fd, const char *name)
{
	struct ovl_stack stack;
	char err[512];
	int rc = ovl_stack_open(&stack, opts, err, sizeof(err));
	if (json)
		ovl_json_stack_layers(json, &stack);
	if (rc != OVL_STACK_OK) {
		stack_failed(&stack, rc, err);
		ovl_stack_close(&stack);
		return rc;
	}
	ovl_stack_detect(&stack);
	if (json)
		ovl_json_stack_features(json, &stack);

	char mnt[4096];
	if (ovl_stack_mounted(&stack, mnt, sizeof(mnt)) == 1) {
		if (json)
			ovl_json_stack_mounted(json, mnt);
		if (mode != OVL_MODE_NO || undo) {
			char why[sizeof(mnt) + 64];
			snprintf(why, sizeof(why), "the stack is mounted on %s: "
				 "refusing to change it", mnt);
			stack_failed(&stack, EXIT_OPERATIONAL, why);
			ovl_stack_close(&stack);
			return EXIT_OPERATIONAL;
		}
		fprintf(stderr, PROG ": warning: the stack is mounted on %s: "
			"results may be inconsistent\n", mnt);
	}
	if (undo) {
		rc = ovl_repair_undo(&stack, undo, err, sizeof(err));
		if (rc)
			fprintf(stderr, PROG ": %s\n", err);
		else
			printf("rolled back the changes recorded in %s\n", undo);
		ovl_stack_close(&stack);
		return rc;
	}
	if (mode != OVL_MODE_NO && !fo->journal && !fo->journal_dir && !stack.has_work) {
		stack_failed(&stack, EXIT_USAGE, "a repair needs the work dir (-w or workdir=) "
			     "for its undo journal, or -z FILE");
		ovl_stack_close(&stack);
		return EXIT_USAGE;
	}

	struct ovl_report report;
	struct ovl_fsck_stats stats;
	/* with --json the lines other than problems (-v passes, the undo
	 * journal, a failed change) go to stderr */
	ovl_report_init(&report, mode, json ? stderr : stdout);
	if (json)
		ovl_json_attach(json, &report);
	report.in = stdin;
	report.verbose = fo->verbose;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* -C fd: e2fsck's progress lines on fd; -C 0: a bar when stdout is
	 * a terminal. A --copy-up on a terminal gets a bar on stderr. */
	struct ovl_progress progress;
	FILE *bar = NULL;
	if (progress_fd == 0 && isatty(STDOUT_FILENO))
		bar = stdout;
	else if (progress_fd < 0 && fo->copy_up && isatty(STDERR_FILENO))
		bar = stderr;
	if (!name)
		name = stack.has_upper ? stack.layers[0].path : stack.layers[1].path;
	ovl_progress_init(&progress, progress_fd, bar, name);
	/* without -C too: a SIGUSR1 may ask for a bar (not into a JSON
	 * document) */
	if (progress_fd > 0 || bar || !json)
		report.progress = &progress;
	rc = ovl_fsck_run(&stack, fo, &report, &stats);
	rc |= ovl_report_exit(&report);
	if (json) {
		ovl_json_stack_end(json, &stack, fo, &report, &stats, rc, NULL);
	} else {
		ovl_fsck_print_stats(&stack, fo, &stats, stdout);
		ovl_report_summary(&report);
	}
	ovl_stack_close(&stack);
	return rc;
}

/*
 * -A: every overlay of the fstab with a pass number, in pass order, as
 * fsck -A does for block devices; the exit codes are or-ed.
 */
static int check_fstab_all(const char *fstab, struct ovl_fsck_opts *fo, int mode, int progress_fd)
{
	struct ovl_fstab t;
	char err[512];
	int rc = EXIT_CLEAN;

	if (ovl_fstab_read(fstab, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		ovl_json_free(json);	/* no stack known: no document */
		json = NULL;
		return EXIT_OPERATIONAL;
	}
	const struct ovl_fstab_entry **order = ovl_xcalloc(t.n + 1, sizeof(*order));
	size_t n = ovl_fstab_pass_order(&t, order);
	for (size_t i = 0; i < n && !ovl_repair_interrupted; i++) {
		struct ovl_opts opts;
		ovl_opts_init(&opts);
		if (json) {
			ovl_json_stack_begin(json, order[i]->target);
		} else {
			printf("%s:\n", order[i]->target);
			fflush(stdout);
		}
		if (ovl_opts_parse(&opts, order[i]->options, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s: %s\n", order[i]->target, err);
			if (json)
				ovl_json_stack_end(json, NULL, NULL, NULL, NULL, EXIT_USAGE, err);
			rc |= EXIT_USAGE;
		} else {
			rc |= check_one(&opts, fo, mode, NULL, progress_fd, order[i]->target);
		}
		ovl_opts_free(&opts);
	}
	free(order);
	ovl_fstab_free(&t);
	return rc;
}

/* A store's journal and --undo: the stack its own fixes are made on. */
static int undo_store(const struct ovl_store *st, const char *undo)
{
	struct ovl_stack s;
	char err[512];
	int rc = ovl_store_book_stack(st, &s, err, sizeof(err));

	if (rc == OVL_STACK_OK)
		rc = ovl_repair_undo(&s, undo, err, sizeof(err));
	if (rc)
		fprintf(stderr, PROG ": %s\n", err);
	else
		printf("rolled back the changes recorded in %s\n", undo);
	ovl_stack_close(&s);
	return rc;
}

/* One unit of a store under its "KIND NAME (ID):" line; its exit code.
 * Its journal goes to the store's root. */
static int check_unit(const struct ovl_store *st, const struct ovl_store_unit *u,
		      const struct ovl_fsck_opts *fo0, int mode, int progress_fd)
{
	struct ovl_fsck_opts fo = *fo0;
	struct ovl_opts opts;
	char err[512];
	int rc;

	fo.journal = NULL;
	fo.journal_dir = st->root;
	ovl_opts_init(&opts);
	if (json) {
		ovl_json_stack_begin(json, NULL);
		ovl_json_stack_unit(json, u->kind, u->name, u->id, u->used_by);
	} else {
		/* names come from the engine's metadata: escaped as paths are */
		printf("%s ", u->kind);
		ovl_print_escaped(stdout, u->name, strlen(u->name));
		fputs(" (", stdout);
		ovl_print_escaped(stdout, u->id, strlen(u->id));
		fputs("):\n", stdout);
		if (u->used_by) {
			fputs("used by ", stdout);
			ovl_print_escaped(stdout, u->used_by, strlen(u->used_by));
			fputc('\n', stdout);
		}
		fflush(stdout);
	}
	if (ovl_store_unit_opts(st, u, &opts, &fo, err, sizeof(err)) < 0) {
		char safe[sizeof(err) * 4];	/* it may quote the metadata */
		ovl_escape(err, strlen(err), safe, sizeof(safe));
		rc = stack_failed(NULL, EXIT_OPERATIONAL, safe);
	} else {
		rc = check_one(&opts, &fo, mode, NULL, progress_fd, u->name);
	}
	ovl_opts_free(&opts);
	return rc;
}

/* The units of a store run side by side (forkrun.h): what each needs. */
struct store_run {
	const struct ovl_store *st;
	const struct ovl_store_unit *units;
	const struct ovl_fsck_opts *fo;
	int mode, progress_fd;
	struct ovl_json *doc;	/* the run's --json document, or NULL */
	int rc;
};

/* In a worker: the unit's record in a document of its own, sent back. */
static int unit_run(void *arg, size_t i, FILE *report)
{
	struct store_run *r = arg;
	int rc;

	if (r->doc)
		json = ovl_json_new(r->mode);
	rc = check_unit(r->st, &r->units[i], r->fo, r->mode, r->progress_fd);
	if (r->doc) {
		ovl_json_write(json, report);
		ovl_json_free(json);
		json = r->doc;
	}
	return rc;
}

static void unit_done(void *arg, size_t i, int status, const char *report, size_t len)
{
	struct store_run *r = arg;
	const struct ovl_store_unit *u = &r->units[i];
	char msg[1024], safe[4 * sizeof(msg)];

	if (status >= 0 && (!json || ovl_json_add_document(json, report, len) == 0)) {
		r->rc |= status;
		return;
	}
	/* the check of the unit died: it says so, as a unit that failed */
	if (status < 0)
		snprintf(msg, sizeof(msg), "%s %s (%s): the check was ended by signal %d",
			 u->kind, u->name, u->id, -status);
	else
		snprintf(msg, sizeof(msg), "%s %s (%s): the check sent no report",
			 u->kind, u->name, u->id);
	ovl_escape(msg, strlen(msg), safe, sizeof(safe));
	if (json) {
		ovl_json_stack_begin(json, NULL);
		ovl_json_stack_unit(json, u->kind, u->name, u->id, u->used_by);
	}
	r->rc |= stack_failed(NULL, EXIT_OPERATIONAL, safe) | (status > 0 ? status : 0);
}

static enum ovl_forkrun_dep unit_dep(void *arg, size_t a, size_t b)
{
	struct store_run *r = arg;

	return ovl_store_unit_dep(r->st, &r->units[a], &r->units[b]);
}

/*
 * -j N: up to N units at once, each the unchanged check of one unit, in
 * worker processes, printed in unit order. Their threads share the N.
 */
static int check_units_side_by_side(const struct ovl_store *st,
				    const struct ovl_store_unit *units, size_t nunits,
				    const struct ovl_fsck_opts *fo0, int mode, int progress_fd)
{
	struct ovl_fsck_opts fo = *fo0;
	size_t workers = (size_t)fo0->jobs < nunits ? (size_t)fo0->jobs : nunits;
	struct store_run r = { .st = st, .units = units, .fo = &fo, .mode = mode,
			       .progress_fd = progress_fd, .doc = json };
	struct ovl_forkrun fr = {
		.ntasks = nunits, .jobs = fo0->jobs, .out = stdout, .err = stderr,
		.progress_fd = progress_fd, .run = unit_run, .done = unit_done, .arg = &r,
		/* -n writes nothing: no unit waits for another */
		.dep = mode == OVL_MODE_NO ? NULL : unit_dep,
	};

	fo.jobs = fo0->jobs / (int)workers > 1 ? fo0->jobs / (int)workers : 1;
	fo.before_write = ovl_forkrun_before_write;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ovl_forkrun(&fr);
	return r.rc;
}

/*
 * --store: the engine's bookkeeping, then every layer once and every
 * container, each under a "KIND NAME (ID):" line; exit codes or-ed.
 */
static int check_store(const char *dir, const struct ovl_fsck_opts *fo0, int mode,
		       const char *undo, int progress_fd, bool remove_orphans,
		       bool verify_content)
{
	struct ovl_store st;
	char err[512], mnt[4096];
	int rc;

	if (ovl_store_open(&st, dir, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		ovl_store_close(&st);
		ovl_json_free(json);	/* no stack known: no document */
		json = NULL;
		return EXIT_OPERATIONAL;
	}
	if ((mode != OVL_MODE_NO || undo) && ovl_store_mounted(&st, mnt, sizeof(mnt)) == 1) {
		fprintf(stderr, PROG ": %s: an overlay of the store is mounted on %s (the engine "
			"is running?): refusing to change it\n", st.root, mnt);
		ovl_store_close(&st);
		ovl_json_free(json);
		json = NULL;
		return EXIT_OPERATIONAL;
	}
	if (undo) {
		rc = undo_store(&st, undo);
		ovl_store_close(&st);
		return rc;
	}

	size_t nimages = 0, ncontainers = 0;
	for (size_t i = 0; i < st.nstacks; i++)
		st.stacks[i].container ? ncontainers++ : nimages++;
	if (!json)
		printf("store %s (%s): %zu layers, %zu images, %zu containers\n", st.root,
		       st.kind == OVL_STORE_DOCKER ? "Docker overlay2" :
		       st.kind == OVL_STORE_CSTORAGE ? "containers-storage" : "containerd overlayfs",
		       st.nlayers, nimages, ncontainers);

	/* the bookkeeping, a stack of its own in the report */
	struct ovl_report report;
	char journal[4096];
	ovl_report_init(&report, mode, json ? stderr : stdout);
	report.in = stdin;
	if (json) {
		ovl_json_stack_begin(json, NULL);
		ovl_json_stack_unit(json, "store", st.root, NULL, NULL);
		ovl_json_attach(json, &report);
	}
	if (fo0->journal)
		snprintf(journal, sizeof(journal), "%s", fo0->journal);
	rc = ovl_store_fsck_book(&st, &report, remove_orphans, journal, sizeof(journal),
				 !fo0->journal);
	rc |= ovl_report_exit(&report);
	if (json)
		ovl_json_stack_end(json, NULL, NULL, &report, NULL, rc, NULL);
	else
		ovl_report_summary(&report);

	/* the stacks as the fixes left them (a work dir made, a lower file
	 * rewritten) */
	if (report.fixed) {
		ovl_store_close(&st);
		if (ovl_store_open(&st, dir, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			ovl_store_close(&st);
			return rc | EXIT_OPERATIONAL;
		}
	}
	/* each layer and container; their journals go to the store's root */
	struct ovl_store_unit *units;
	size_t nunits = ovl_store_units(&st, &units);
	if (st.nerrors && !json)
		printf("the layers and containers are not checked: without all of the "
		       "engine's metadata their parents are not known for sure\n");
	if (ovl_repair_interrupted || report.cancelled)
		nunits = 0;
	/* side by side unless questions are asked: one terminal, one unit */
	if (fo0->jobs > 1 && nunits > 1 && mode != OVL_MODE_ASK) {
		rc |= check_units_side_by_side(&st, units, nunits, fo0, mode, progress_fd);
	} else {
		for (size_t i = 0; i < nunits && !ovl_repair_interrupted; i++)
			rc |= check_unit(&st, &units[i], fo0, mode, progress_fd);
	}
	ovl_store_units_free(units, nunits);
	if (verify_content && !ovl_repair_interrupted && !report.cancelled) {
		struct ovl_verify_opts vo = { .jobs = fo0->jobs, .mode = mode,
					      .progress_fd = progress_fd, .json = json };
		rc |= ovl_store_verify_content(&st, &vo);
	}
	ovl_store_close(&st);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "upper-only", no_argument, NULL, 'U' },
		{ "journal", required_argument, NULL, 'z' },
		{ "undo", required_argument, NULL, 'X' },
		{ "copy-up", no_argument, NULL, 'K' },
		{ "verify-data", no_argument, NULL, 'D' },
		{ "fstab", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'J' },
		{ "store", required_argument, NULL, 'S' },
		{ "remove-orphans", no_argument, NULL, 'R' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "verify-content", no_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	struct ovl_opts opts;
	struct ovl_fsck_opts fo = { 0 };
	const char *workdir = NULL;
	const char *undo = NULL;
	const char *fstab = NULL;	/* NULL: /etc/fstab */
	char *mountpoint = NULL;	/* the stack's fstab entry, by its mount point */
	const char *store = NULL;	/* --store DIR */
	bool all = false, have_o = false, want_json = false, remove_orphans = false;
	bool verify_content = false;	/* --verify-content */
	int mode = -1;
	char err[512];
	int c;

	progress_signals();
	ovl_opts_init(&opts);
	int progress_fd = -1;
	while ((c = getopt_long(argc, argv, "AnyapfvVho:w:z:C:j:", longopts, NULL)) != -1) {
		int m = -1;
		switch (c) {
		case 'n':
			m = OVL_MODE_NO;
			break;
		case 'y':
			m = OVL_MODE_YES;
			break;
		case 'a':
		case 'p':
			m = OVL_MODE_PREEN;
			break;
		case 'z':
			fo.journal = optarg;
			break;
		case 'A':
			all = true;
			break;
		case 'T':
			fstab = optarg;
			break;
		case 'J':
			want_json = true;
			break;
		case 'S':
			store = optarg;
			break;
		case 'R':
			remove_orphans = true;
			break;
		case 'G':
			verify_content = true;
			break;
		case 'X':
			undo = optarg;
			break;
		case 'K':
			fo.copy_up = true;
			break;
		case 'D':
			fo.verify_data = true;
			break;
		case 'C': {
			char *end;
			long fd = strtol(optarg, &end, 10);
			if (*end || fd < 0 || fd > 1023) {
				ovl_opts_free(&opts);
				return fail_usage("-C takes a file descriptor number");
			}
			progress_fd = (int)fd;
			break;
		}
		case 'j': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || end == optarg || n < 1 || n > 1024) {
				ovl_opts_free(&opts);
				return fail_usage("-j takes a number of threads from 1 to 1024");
			}
			fo.jobs = (int)n;
			break;
		}
		case 'f':
			fo.force = true;
			break;
		case 'v':
			fo.verbose = true;
			break;
		case 'o':
			have_o = true;
			if (ovl_opts_parse(&opts, optarg, err, sizeof(err)) < 0) {
				ovl_opts_free(&opts);
				return fail_usage(err);
			}
			break;
		case 'w':
			workdir = optarg;
			break;
		case 'U':
			fo.upper_only = true;
			break;
		case 'V':
			printf(PROG " (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			ovl_opts_free(&opts);
			return EXIT_CLEAN;
		case 'h':
			usage(stdout);
			ovl_opts_free(&opts);
			return EXIT_CLEAN;
		default:
			usage(stderr);
			ovl_opts_free(&opts);
			return EXIT_USAGE;
		}
		if (m >= 0) {
			if (mode >= 0 && mode != m) {
				ovl_opts_free(&opts);
				return fail_usage("only one of -n, -y and -p/-a may be given");
			}
			mode = m;
		}
	}
	if (!fo.jobs)
		fo.jobs = ovl_jobs_default();
	/* A report for scripts: it cannot ask, and records checks only. */
	if (want_json && mode < 0) {
		ovl_opts_free(&opts);
		return fail_usage("--json needs -n, -p/-a or -y: it cannot ask questions");
	}
	if (want_json && (undo || fo.copy_up)) {
		ovl_opts_free(&opts);
		return fail_usage("--json does not go with --undo or --copy-up");
	}
	if (want_json && (progress_fd == 0 || progress_fd == 1)) {
		ovl_opts_free(&opts);
		return fail_usage("--json holds standard output: give -C another fd");
	}
	/* No mode: ask, when there is a terminal to ask on. */
	if (mode < 0) {
		mode = isatty(STDIN_FILENO) ? OVL_MODE_ASK : OVL_MODE_NO;
	}

	/* With --copy-up the arguments are merged-view paths. */
	if (fo.copy_up && optind < argc) {
		fo.copy_paths = calloc((size_t)(argc - optind), sizeof(char *));
		while (optind < argc) {
			char *p = normalize_path(argv[optind++]);
			if (!p) {
				ovl_opts_free(&opts);
				return fail_usage("a copy-up path may not hold '.' or '..' "
						  "components");
			}
			fo.copy_paths[fo.ncopy_paths++] = p;
		}
	}
	if (all && (optind < argc || opts.upper || opts.nlower || undo || fo.copy_up)) {
		ovl_opts_free(&opts);
		return fail_usage("-A takes the stacks from the fstab only");
	}
	if (remove_orphans && !store) {
		ovl_opts_free(&opts);
		return fail_usage("--remove-orphans goes with --store");
	}
	if (verify_content && (!store || undo)) {
		ovl_opts_free(&opts);
		return fail_usage("--verify-content goes with --store (and not --undo)");
	}
	if (store && (all || optind < argc || have_o || fo.copy_up || fstab)) {
		ovl_opts_free(&opts);
		return fail_usage("--store takes the stacks from the engine's store only");
	}
	/* One argument: a mount point, its stack from the fstab. */
	if (!fo.copy_up && argc - optind == 1 && !opts.upper && !opts.nlower && !opts.ndata) {
		struct ovl_fstab t;
		if (have_o) {
			ovl_opts_free(&opts);
			return fail_usage("a mount point takes its options from the fstab: no -o");
		}
		if (ovl_fstab_read(fstab, &t, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			ovl_opts_free(&opts);
			return EXIT_OPERATIONAL;
		}
		const struct ovl_fstab_entry *e = ovl_fstab_find(&t, argv[optind]);
		if (!e) {
			fprintf(stderr, PROG ": %s: no overlay entry in %s\n", argv[optind],
				fstab ? fstab : "/etc/fstab");
			ovl_fstab_free(&t);
			ovl_opts_free(&opts);
			return EXIT_OPERATIONAL;
		}
		struct ovl_opts from;
		ovl_opts_init(&from);
		if (ovl_opts_parse(&from, e->options, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s: %s\n", e->target, err);
			ovl_fstab_free(&t);
			ovl_opts_free(&from);
			ovl_opts_free(&opts);
			return EXIT_USAGE;
		}
		mountpoint = strdup(e->target);
		ovl_fstab_free(&t);
		ovl_opts_free(&opts);
		opts = from;
		optind++;
	}
	if (optind < argc) {
		if (opts.upper || opts.nlower || opts.ndata) {
			ovl_opts_free(&opts);
			return fail_usage("layers given both with -o and as arguments");
		}
		if (argc - optind < 2) {
			ovl_opts_free(&opts);
			return fail_usage("need an upper dir and at least one lower dir");
		}
		free(opts.upper);
		opts.upper = strdup(argv[optind++]);
		while (optind < argc)
			ovl_opts_add_lower(&opts, argv[optind++]);
	}
	if (workdir) {
		free(opts.work);
		opts.work = strdup(workdir);
	}

	int rc;
	if (want_json)
		json = ovl_json_new(mode);
	if (store) {
		rc = check_store(store, &fo, mode, undo, progress_fd, remove_orphans,
				 verify_content);
	} else if (all) {
		rc = check_fstab_all(fstab, &fo, mode, progress_fd);
	} else {
		if (json)
			ovl_json_stack_begin(json, mountpoint);
		rc = check_one(&opts, &fo, mode, undo, progress_fd, mountpoint);
	}
	if (json && ovl_json_write(json, stdout) < 0) {
		fprintf(stderr, PROG ": cannot write the JSON report: %m\n");
		rc |= EXIT_OPERATIONAL;
	}
	ovl_json_free(json);
	free(mountpoint);
	ovl_opts_free(&opts);
	for (size_t i = 0; i < fo.ncopy_paths; i++)
		free(fo.copy_paths[i]);
	free(fo.copy_paths);
	return rc;
}
