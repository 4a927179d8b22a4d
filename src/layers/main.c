/*
 * overlay-layers: argument parsing and wiring only. The stack is opened
 * as fsck.overlay opens it, checked by the same passes (a stack with
 * problems is refused), then a command's plan from the library is
 * printed (-n) or applied (-y) through the undo journal.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/fsck.h"
#include "overlay/layers.h"
#include "overlay/opts.h"
#include "overlay/problem.h"
#include "overlay/repair.h"
#include "overlay/stack.h"
#include "overlay/util.h"

#define PROG "overlay-layers"

enum {
	EXIT_OK = 0,
	EXIT_PROBLEMS = 4,	/* the stack has problems: refused */
	EXIT_OPERATIONAL = 8,
	EXIT_USAGE = 16,
	EXIT_CANCELLED = 32,
};

static void usage(FILE *out)
{
	fputs("Usage:\n"
	      " " PROG " [options] vacuum -o lowerdir=L1[:L2...],upperdir=U,workdir=W\n"
	      " " PROG " [options] vacuum [-w WORKDIR] UPPER LOWER [LOWER...]\n"
	      " " PROG " [options] export [FILE|-] -o OPTS\n"
	      " " PROG " [options] export FILE|- [-w WORKDIR] UPPER LOWER [LOWER...]\n"
	      " " PROG " [options] deref DIR -o OPTS | [-w WORKDIR] UPPER LOWER...\n"
	      " " PROG " [options] merge [--force] -o OPTS | -w WORKDIR UPPER LOWER\n"
	      " " PROG " [options] merge --into DIR -o OPTS | [-w WORKDIR] UPPER LOWER...\n"
	      " " PROG " --undo JOURNAL -o OPTS | [-w WORKDIR] UPPER LOWER...\n"
	      "\n"
	      "Change an unmounted overlayfs layer stack as a whole, keeping what its\n"
	      "merged view shows. The stack is checked first (as fsck.overlay -n) and\n"
	      "refused when it has problems.\n"
	      "\n"
	      "Commands:\n"
	      " vacuum              remove the upper entries that change nothing: copies\n"
	      "                     equal to the lower, metacopy files with the lower's\n"
	      "                     metadata, dirs left empty\n"
	      " export              write the upper's changes as an OCI layer tar to FILE\n"
	      "                     (-: standard output, the default with -o)\n"
	      " deref DIR           make DIR a new upper without redirects or metacopy\n"
	      "                     that shows the same view over the same lowers\n"
	      " merge               fold the upper into the stack's top lower layer\n"
	      "                     (renames on one filesystem; upper and work emptied),\n"
	      "                     or with --into DIR into a new dir holding the view\n"
	      "\n"
	      "Options:\n"
	      " -o OPTS             overlay mount options, may be repeated\n"
	      " -w, --workdir DIR   work dir for the positional form\n"
	      " -n                  print the plan (each change, its bytes), change\n"
	      "                     nothing (the default)\n"
	      " -y                  make the changes\n"
	      " -z, --journal FILE  the undo journal (default: W/overlay-fsck-undo.TIME)\n"
	      "     --into DIR      merge: into a new dir DIR, the stack only read\n"
	      "     --force         merge: into a lower that another stack uses too\n"
	      "     --undo FILE     roll back the changes recorded in FILE\n"
	      "     --json          print one JSON document on stdout instead of the text\n"
	      " -C FD               progress: e2fsck's lines on FD (0: a bar on a terminal)\n"
	      " -h, --help          display this help\n"
	      " -V, --version       display version\n"
	      "\n"
	      "Exit status: 0 done (or planned), 4 refused (the stack has problems, its\n"
	      "lower is used elsewhere, or it cannot be merged in place),\n"
	      "8 operational error, 16 usage error, 32 interrupted.\n", out);
}

static void on_signal(int sig)
{
	(void)sig;
	ovl_repair_interrupted = 1;
}

static int fail_usage(const char *msg)
{
	fprintf(stderr, PROG ": %s\n", msg);
	return EXIT_USAGE;
}

/* The check fsck.overlay -n makes: 0 clean, else the problem lines on
 * stderr and the exit code. */
static int check_first(struct ovl_stack *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct ovl_report r;
	struct ovl_fsck_opts fo = { .jobs = 1 };
	struct ovl_fsck_stats stats;

	if (!out)
		return EXIT_OPERATIONAL;
	ovl_report_init(&r, OVL_MODE_NO, out);
	int rc = ovl_fsck_run(s, &fo, &r, &stats) | ovl_report_exit(&r);
	fclose(out);
	if (rc) {
		fprintf(stderr, PROG ": the stack has problems: refusing to change it; "
			"fsck.overlay -y repairs them first:\n");
		/* the problem lines, not the counts and summary */
		for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
			if (line[0] >= 'A' && line[0] <= 'Z' && strchr(line, ':') &&
			    strchr(line, ' ') < strchr(line, ':'))
				fprintf(stderr, "  %s\n", line);
	}
	free(text);
	return rc & EXIT_OPERATIONAL ? EXIT_OPERATIONAL : rc ? EXIT_PROBLEMS : EXIT_OK;
}

struct args {
	const char *command;
	const char *output;	/* export's FILE, "-" for standard output */
	const char *newdir;	/* deref's DIR */
	int mode;		/* OVL_MODE_NO or OVL_MODE_YES */
	const char *journal, *undo;
	bool json;
	bool force;		/* merge into a lower another stack uses */
	int progress_fd;
};

static bool in_place(const struct args *a)
{
	return a->command && !strcmp(a->command, "merge") && !a->newdir;
}

static int plan_command(struct ovl_stack *s, const struct args *a, struct ovl_layers_plan *p,
			char *why, size_t whylen)
{
	if (in_place(a))
		return ovl_layers_fold_plan(s, p, why, whylen);
	if (!strcmp(a->command, "vacuum"))
		return ovl_layers_vacuum_plan(s, p);
	if (!strcmp(a->command, "export") || !strcmp(a->command, "deref"))
		return ovl_layers_delta_plan(s, p);
	if (!strcmp(a->command, "merge"))
		return ovl_layers_view_plan(s, p);
	errno = EINVAL;
	return -1;
}

/* export -y: the tar into a new file beside FILE, renamed over it once
 * whole (a kill leaves FILE as it was), or onto standard output. */
static int export_tar(struct ovl_stack *s, const struct args *a, struct ovl_layers_result *res)
{
	bool to_stdout = !strcmp(a->output, "-");
	char tmp[4096];
	unsigned long n;
	int fd = STDOUT_FILENO;

	if (!to_stdout) {
		snprintf(tmp, sizeof(tmp), "%s.overlay-layers-tmp", a->output);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, PROG ": %s: %s\n", tmp, strerror(errno));
			return EXIT_OPERATIONAL;
		}
	}
	struct ovl_progress progress;
	ovl_progress_init(&progress, a->progress_fd > 0 ? a->progress_fd : -1,
			  a->progress_fd == 0 && !to_stdout && isatty(STDOUT_FILENO) ? stdout : NULL,
			  s->layers[0].path);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	int ret = ovl_layers_export_write(s, fd, &progress, stderr, &n);
	res->done = (long)n;
	if (!to_stdout) {
		if (ret == 0 && (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, a->output) < 0)) {
			fprintf(stderr, PROG ": %s: %s\n", a->output, strerror(errno));
			ret = -1;
		} else if (ret < 0) {
			close(fd);
		}
		if (ret < 0)
			unlink(tmp);
	}
	if (ret == 0)
		return EXIT_OK;
	res->error = ovl_repair_interrupted ? "interrupted" : "the tar could not be written";
	return ovl_repair_interrupted ? EXIT_CANCELLED : EXIT_OPERATIONAL;
}

/* deref -y, merge --into -y: the new dir, made beside DIR and renamed
 * once whole. */
static int deref_dir(struct ovl_stack *s, const struct args *a, struct ovl_layers_result *res)
{
	struct ovl_progress progress;
	unsigned long n;

	ovl_progress_init(&progress, a->progress_fd > 0 ? a->progress_fd : -1,
			  a->progress_fd == 0 && !a->json && isatty(STDOUT_FILENO) ? stdout : NULL,
			  s->layers[0].path);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	int ret = !strcmp(a->command, "merge")
		  ? ovl_layers_merge_into(s, a->newdir, &progress, stderr, &n)
		  : ovl_layers_deref_write(s, a->newdir, &progress, stderr, &n);
	res->done = (long)n;
	if (ret == 0)
		return EXIT_OK;
	res->error = ovl_repair_interrupted ? "interrupted" : "the new upper could not be made";
	return ovl_repair_interrupted ? EXIT_CANCELLED : EXIT_OPERATIONAL;
}

static int run(struct ovl_opts *opts, const struct args *a)
{
	struct ovl_stack stack;
	struct ovl_layers_plan plan;
	struct ovl_layers_result res = { .dry_run = a->mode == OVL_MODE_NO };
	char err[512], mnt[4096], journal[4096] = "", why[4400];
	int rc = ovl_stack_open(&stack, opts, err, sizeof(err));

	ovl_layers_plan_init(&plan, a->command ? a->command : "undo");
	if (rc != OVL_STACK_OK) {
		res.error = err;
		goto out;
	}
	ovl_stack_detect(&stack);
	if (ovl_stack_mounted(&stack, mnt, sizeof(mnt)) == 1) {
		snprintf(why, sizeof(why), "the stack is mounted on %s: refusing it", mnt);
		res.error = why;
		rc = EXIT_OPERATIONAL;
		goto out;
	}
	if (a->undo) {
		rc = ovl_repair_undo(&stack, a->undo, err, sizeof(err));
		if (rc)
			res.error = err;
		else if (!a->json)
			printf("rolled back the changes recorded in %s\n", a->undo);
		goto out;
	}
	/* a merge in place killed before: rolled back, then made again */
	if (in_place(a) && a->mode == OVL_MODE_NO && ovl_layers_fold_pending(&stack))
		fprintf(stderr, PROG ": a merge stopped before its end left W/overlay-layers-merge: "
			"merge -y rolls it back and merges again\n");
	if (in_place(a) && a->mode == OVL_MODE_YES) {
		rc = ovl_layers_fold_resume(&stack, why, sizeof(why));
		if (rc == 1 && !a->json)
			fprintf(stderr, PROG ": %s\n", why);
		if (rc > 1) {
			res.error = why;
			goto out;
		}
	}
	if ((rc = check_first(&stack)) != EXIT_OK) {
		res.error = "the stack has problems (fsck.overlay -n lists them)";
		goto out;
	}
	if (in_place(a) && !a->force && stack.nlower > 0 &&
	    ovl_layers_lower_users(&stack, 1, mnt, sizeof(mnt)) == 1) {
		snprintf(why, sizeof(why), "the lower layer %s is used by %s too: refusing to "
			 "merge into it (--force merges anyway)", stack.layers[1].path, mnt);
		res.error = why;
		rc = EXIT_PROBLEMS;
		goto out;
	}
	int planned = plan_command(&stack, a, &plan, why, sizeof(why));
	if (planned == 1) {
		res.error = why;
		rc = EXIT_PROBLEMS;
		goto out;
	}
	if (planned < 0) {
		snprintf(why, sizeof(why), "cannot plan %s: %s", a->command, strerror(errno));
		res.error = why;
		rc = EXIT_OPERATIONAL;
		goto out;
	}
	/* a tar on standard output: the text goes to stderr */
	FILE *text = a->output && !strcmp(a->output, "-") ? stderr : stdout;
	if (!a->json)
		ovl_layers_plan_print(&stack, &plan, res.dry_run, text);
	if (!res.dry_run && a->output) {
		rc = export_tar(&stack, a, &res);
	} else if (!res.dry_run && a->newdir) {
		rc = deref_dir(&stack, a, &res);
	} else if (!res.dry_run && plan.fixes.n) {
		if (!a->journal && !stack.has_work) {
			res.error = "changes need the work dir (-w or workdir=) for their undo "
				    "journal, or -z FILE";
			rc = EXIT_USAGE;
			goto out;
		}
		if (a->journal)
			snprintf(journal, sizeof(journal), "%s", a->journal);
		else
			ovl_repair_default_journal(journal, sizeof(journal), stack.workdir);
		struct ovl_progress progress;
		FILE *bar = a->progress_fd == 0 && isatty(STDOUT_FILENO) && !a->json ? stdout : NULL;
		ovl_progress_init(&progress, a->progress_fd > 0 ? a->progress_fd : -1, bar,
				  stack.layers[0].path);
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		res.done = ovl_layers_apply(&stack, &plan, journal, sizeof(journal), !a->journal,
					    &progress, stderr);
		res.journal = journal;
		if (res.done < 0) {
			res.done = 0;
			res.journal = NULL;
			rc = EXIT_OPERATIONAL;
		} else if ((size_t)res.done < plan.fixes.n) {
			rc = ovl_repair_interrupted ? EXIT_CANCELLED : EXIT_OPERATIONAL;
			res.error = ovl_repair_interrupted ? "interrupted" : "a change failed";
		}
	}
	if (!a->json) {
		fprintf(text, "%s%zu %s%s, %llu bytes%s\n", res.dry_run ? "would make " : "",
			plan.fixes.n, a->output || a->newdir ? "entr" : "change",
			a->output || a->newdir ? (plan.fixes.n == 1 ? "y" : "ies")
					       : (plan.fixes.n == 1 ? "" : "s"),
			plan.total,
			plan.partial ? " (some entries could not be read: left out)" : "");
		if (res.journal && res.done > 0)
			fprintf(text, "made %ld; undo journal: %s\n", res.done, res.journal);
		if (in_place(a) && res.journal && res.done > 0 && (size_t)res.done < plan.fixes.n)
			fprintf(stderr, PROG ": the merge stopped before its commit: merge -y again "
				"rolls it back and merges again, --undo %s rolls it back\n", res.journal);
	}
out:
	res.exit_code = rc;
	if (res.error && !(a->json && rc == EXIT_PROBLEMS))
		fprintf(stderr, PROG ": %s\n", res.error);
	if (a->json && ovl_layers_json_write(rc == OVL_STACK_OK || stack.nlayers ? &stack : NULL,
					     &plan, &res, stdout) < 0)
		rc |= EXIT_OPERATIONAL;
	ovl_layers_plan_free(&plan);
	ovl_stack_close(&stack);
	return rc;
}

/* The command line into a, opts and workdir: -1 to go on, else the exit
 * code (help, version, a usage error). */
static int parse_args(int argc, char **argv, struct args *a, struct ovl_opts *opts)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "journal", required_argument, NULL, 'z' },
		{ "undo", required_argument, NULL, 'X' },
		{ "json", no_argument, NULL, 'J' },
		{ "into", required_argument, NULL, 'I' },
		{ "force", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	const char *workdir = NULL;
	char err[512];
	long long fd;
	int c;

	while ((c = getopt_long(argc, argv, "nyhVo:w:z:C:", longopts, NULL)) != -1) {
		int m = c == 'n' ? OVL_MODE_NO : c == 'y' ? OVL_MODE_YES : -1;
		if (m >= 0 && a->mode >= 0 && a->mode != m)
			return fail_usage("only one of -n and -y may be given");
		if (m >= 0)
			a->mode = m;
		switch (c) {
		case 'n':
		case 'y':
			break;
		case 'o':
			if (ovl_opts_parse(opts, optarg, err, sizeof(err)) < 0)
				return fail_usage(err);
			break;
		case 'w':
			workdir = optarg;
			break;
		case 'z':
			a->journal = optarg;
			break;
		case 'X':
			a->undo = optarg;
			break;
		case 'J':
			a->json = true;
			break;
		case 'I':
			a->newdir = optarg;
			break;
		case 'F':
			a->force = true;
			break;
		case 'C':
			if (!ovl_parse_ll(optarg, 0, 1023, &fd))
				return fail_usage("-C takes a file descriptor number");
			a->progress_fd = (int)fd;
			break;
		case 'V':
			printf(PROG " (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (a->mode < 0)
		a->mode = OVL_MODE_NO;
	if (!a->undo) {
		if (optind >= argc) {
			usage(stderr);
			return EXIT_USAGE;
		}
		a->command = argv[optind++];
		if (strcmp(a->command, "vacuum") && strcmp(a->command, "export") &&
		    strcmp(a->command, "deref") && strcmp(a->command, "merge")) {
			fprintf(stderr, PROG ": no such command: %s\n", a->command);
			return EXIT_USAGE;
		}
		/* export FILE comes first; with -o it may be left out */
		if (!strcmp(a->command, "export")) {
			bool from_o = opts->upper || opts->nlower;
			if (optind < argc && (!from_o || argc - optind == 1))
				a->output = argv[optind++];
			else if (from_o)
				a->output = "-";
			else
				return fail_usage("export needs FILE (or -) before the layers");
			if (!strcmp(a->output, "-") && a->json)
				return fail_usage("--json and a tar cannot both be on standard output");
		}
		if (!strcmp(a->command, "deref")) {
			if (optind >= argc || a->newdir)
				return fail_usage("deref needs the new upper DIR (and no --into)");
			a->newdir = argv[optind++];
		}
	}
	if (a->newdir && (!a->command || (strcmp(a->command, "merge") &&
					  strcmp(a->command, "deref")))) {
		return fail_usage("--into goes with merge");
	}
	if (a->force && !in_place(a))
		return fail_usage("--force goes with merge (in place)");
	if (a->json && (a->progress_fd == 0 || a->progress_fd == 1))
		return fail_usage("--json holds standard output: give -C another fd");
	if (optind < argc) {
		if (opts->upper || opts->nlower || opts->ndata)
			return fail_usage("layers given both with -o and as arguments");
		if (argc - optind < 2)
			return fail_usage("need an upper dir and at least one lower dir");
		opts->upper = ovl_xstrdup(argv[optind++]);
		while (optind < argc)
			ovl_opts_add_lower(opts, argv[optind++]);
	}
	if (workdir) {
		free(opts->work);
		opts->work = ovl_xstrdup(workdir);
	}
	if (!opts->upper && !a->undo)
		return fail_usage("no upper dir: every command works on the upper layer");
	return -1;
}

int main(int argc, char **argv)
{
	struct args a = { .mode = -1, .progress_fd = -1 };
	struct ovl_opts opts;

	ovl_opts_init(&opts);
	int rc = parse_args(argc, argv, &a, &opts);
	if (rc < 0)
		rc = run(&opts, &a);
	ovl_opts_free(&opts);
	return rc;
}
