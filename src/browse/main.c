/*
 * overlay-browse: the merged view of an unmounted stack and what the upper
 * layer changes in it. This file parses arguments and prints; the model
 * is the library's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/changes.h"
#include "overlay/mview.h"
#include "overlay/opts.h"
#include "overlay/stack.h"
#include "row.h"
#include "tui.h"

#define PROG "overlay-browse"

static void usage(FILE *out)
{
	fputs("Usage:\n"
	      " " PROG " --diff -o lowerdir=L1[:L2...],upperdir=U[,workdir=W]\n"
	      " " PROG " --json -o OPTS\n"
	      " " PROG " [options] UPPER LOWER [LOWER...]\n"
	      "\n"
	      "Show what the upper layer of an unmounted overlayfs stack changes.\n"
	      "\n"
	      "Options:\n"
	      " -o OPTS         overlay mount options, may be repeated\n"
	      "     --diff      one line per change: added, deleted, modified,\n"
	      "                 metadata, renamed PATH from OLD, opaque\n"
	      "     --json      the same as a JSON array\n"
	      "     --ls PATH   list the merged dir PATH (--all: with deleted names)\n"
	      "     --all       with --ls, also hidden names (deleted, under-opaque)\n"
	      "     --du PATH   bytes the upper holds under PATH, and lower bytes it hides\n"
	      "     --write     let the browser copy up (c) and fix (f), journalled;\n"
	      "                 refused on a mounted stack\n"
	      " -h, --help      display this help\n"
	      " -V, --version   display version\n"
	      "\n"
	      "Without --diff, --json or --ls: the interactive browser (? for its keys).\n",
	      out);
}

struct out {
	FILE *f;
	int json;
	int n;
};

static void print(const struct ovl_change *ch, void *arg)
{
	struct out *o = arg;

	if (o->json)
		ovl_change_print_json(ch, o->f, o->n == 0);
	else
		ovl_change_print_line(ch, o->f);
	o->n++;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "diff", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "ls", required_argument, NULL, 'l' },
		{ "du", required_argument, NULL, 'u' },
		{ "all", no_argument, NULL, 'a' },
		{ "write", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct ovl_opts opts;
	int mode = 0, c;
	const char *lspath = NULL;
	bool all = false, write = false;
	char err[512];

	ovl_opts_init(&opts);
	while ((c = getopt_long(argc, argv, "hVo:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			ovl_opts_free(&opts);
			return 0;
		case 'V':
			printf(PROG " (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			ovl_opts_free(&opts);
			return 0;
		case 'o':
			if (ovl_opts_parse(&opts, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, PROG ": %s\n", err);
				ovl_opts_free(&opts);
				return 16;
			}
			break;
		case 'd':
		case 'j':
			mode = c;
			break;
		case 'l':
		case 'u':
			mode = c;
			lspath = optarg;
			break;
		case 'a':
			all = true;
			break;
		case 'w':
			write = true;
			break;
		default:
			usage(stderr);
			ovl_opts_free(&opts);
			return 16;
		}
	}
	if (optind < argc) {
		if (argc - optind < 2 || opts.upper || opts.nlower) {
			fputs(PROG ": give the layers either with -o or as UPPER LOWER...\n", stderr);
			ovl_opts_free(&opts);
			return 16;
		}
		opts.upper = strdup(argv[optind++]);
		while (optind < argc)
			ovl_opts_add_lower(&opts, argv[optind++]);
	}

	struct ovl_stack stack;
	int rc = ovl_stack_open(&stack, &opts, err, sizeof(err));
	if (rc) {
		fprintf(stderr, PROG ": %s\n", err);
		ovl_stack_close(&stack);
		return rc;
	}
	ovl_stack_detect(&stack);
	if (write && mode) {
		fputs(PROG ": --write is for the interactive browser only\n", stderr);
		ovl_stack_close(&stack);
		return 16;
	}
	if (write) {
		char mnt[4096], why[4200] = "";
		if (ovl_stack_mounted(&stack, mnt, sizeof(mnt)) == 1)
			snprintf(why, sizeof(why), "the stack is mounted on %s", mnt);
		else if (!stack.has_upper)
			snprintf(why, sizeof(why), "there is no upper layer to write");
		else if (!stack.has_work)
			snprintf(why, sizeof(why), "it needs the work dir (workdir=) for its undo journal");
		if (why[0]) {
			fprintf(stderr, PROG ": refusing --write: %s\n", why);
			ovl_stack_close(&stack);
			return 8;
		}
	}
	if (mode == 'u') {
		struct ovl_mcost cost;
		rc = 0;
		if (ovl_mview_cost(&stack, lspath, &cost) < 0) {
			fprintf(stderr, PROG ": %s: %s\n", lspath, strerror(errno));
			rc = 8;
		} else {
			printf("upper data: %llu bytes in %llu files\n"
			       "shadowed lower data: %llu bytes in %llu files\n",
			       cost.upper_bytes, cost.upper_files, cost.shadowed_bytes,
			       cost.shadowed_files);
		}
		ovl_stack_close(&stack);
		return rc;
	}
	if (mode == 'l' || !mode) {
		if (mode == 'l') {
			struct ovl_mdir d;
			char line[2048];
			if (ovl_mview_list(&stack, lspath, all, &d) < 0) {
				fprintf(stderr, PROG ": %s: %s\n", lspath, strerror(errno));
				ovl_stack_close(&stack);
				return 8;
			}
			for (size_t i = 0; i < d.n; i++) {
				row_format(&stack, &d.e[i], line, sizeof(line), 24);
				puts(line);
			}
			ovl_mdir_free(&d);
			rc = 0;
		} else {
			rc = tui_run(&stack, write);
		}
		ovl_stack_close(&stack);
		return rc;
	}
	if (!stack.has_upper) {
		fputs(PROG ": no upper layer: nothing changes\n", stderr);
		ovl_stack_close(&stack);
		return 16;
	}

	struct out o = { stdout, mode == 'j', 0 };
	if (o.json)
		fputc('[', stdout);
	rc = ovl_changes(&stack, print, &o);
	if (o.json)
		fputs(o.n ? "\n]\n" : "]\n", stdout);
	ovl_stack_close(&stack);
	return rc;
}
