/*
 * fsck.overlay: argument parsing and wiring only. The checks live in the
 * library; this file turns the command line into a stack and a mode and
 * the result into an fsck(8) exit code.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/fsck.h"
#include "overlay/opts.h"
#include "overlay/problem.h"
#include "overlay/stack.h"

#define PROG "fsck.overlay"

enum {
	EXIT_CLEAN = 0,
	EXIT_UNCORRECTED = 4,
	EXIT_OPERATIONAL = 8,
	EXIT_USAGE = 16,
};

static void usage(FILE *out)
{
	fputs("Usage:\n"
	      " " PROG " [options] -o lowerdir=L1[:L2...][::D1...],upperdir=U,workdir=W\n"
	      " " PROG " [options] [-w WORKDIR] UPPER LOWER [LOWER...]\n"
	      "\n"
	      "Check an unmounted overlayfs layer stack.\n"
	      "\n"
	      "Options:\n"
	      " -o OPTS             overlay mount options, may be repeated\n"
	      " -w, --workdir DIR   work dir for the positional form\n"
	      " -n                  check only, change nothing\n"
	      " -y                  repair everything (not implemented yet)\n"
	      " -p, -a              repair what is safe unasked (not implemented yet)\n"
	      " -f                  force a full check (always done)\n"
	      " -v                  print each pass\n"
	      "     --upper-only    walk upper and the work dir only; reach lower\n"
	      "                     entries by lookup\n"
	      " -h, --help          display this help\n"
	      " -V, --version       display version\n"
	      "\n"
	      "Exit status: 0 clean, 4 problems left, 8 operational error,\n"
	      "16 usage error (or-ed).\n", out);
}

static int fail_usage(const char *msg)
{
	fprintf(stderr, PROG ": %s\n", msg);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "upper-only", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	struct ovl_opts opts;
	struct ovl_fsck_opts fo = { 0 };
	const char *workdir = NULL;
	bool repair = false;
	char err[512];
	int c;

	ovl_opts_init(&opts);
	while ((c = getopt_long(argc, argv, "nyapfvVho:w:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			break;
		case 'y':
		case 'a':
		case 'p':
			repair = true;
			break;
		case 'f':
			fo.force = true;
			break;
		case 'v':
			fo.verbose = true;
			break;
		case 'o':
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
	}
	if (repair) {
		ovl_opts_free(&opts);
		fputs(PROG ": repair (-y, -p, -a) is not implemented yet; use -n\n", stderr);
		return EXIT_USAGE;
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

	struct ovl_stack stack;
	int rc = ovl_stack_open(&stack, &opts, err, sizeof(err));
	if (rc != OVL_STACK_OK) {
		fprintf(stderr, PROG ": %s\n", err);
		ovl_stack_close(&stack);
		return rc;
	}
	ovl_stack_detect(&stack);

	char mnt[4096];
	if (ovl_stack_mounted(&stack, mnt, sizeof(mnt)) == 1)
		fprintf(stderr, PROG ": warning: the stack is mounted on %s: "
			"results may be inconsistent\n", mnt);

	struct ovl_report report;
	struct ovl_fsck_stats stats;
	ovl_report_init(&report, OVL_MODE_NO, stdout);
	report.verbose = fo.verbose;
	rc = ovl_fsck_run(&stack, &fo, &report, &stats);
	ovl_fsck_print_stats(&stack, &fo, &stats, stdout);
	ovl_report_summary(&report);
	ovl_stack_close(&stack);
	return rc | ovl_report_exit(&report);
}
