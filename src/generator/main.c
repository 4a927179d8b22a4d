/*
 * overlay-fsck-generator: systemd runs it early at boot with its three
 * generator dirs. Arguments and environment only; the work is
 * ovl_generate() in the library.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/cmdline.h"
#include "overlay/generator.h"

#define PROG "overlay-fsck-generator"

int main(int argc, char **argv)
{
	struct ovl_gen_opts o = { .fsck = SBINDIR "/fsck.overlay" };
	char warn[256], err[512];

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "Usage: " PROG " NORMAL-DIR [EARLY-DIR LATE-DIR]\n");
		return 1;
	}
	/* the initrd's fstab is not the one the checks are for */
	if (ovl_in_initrd())
		return 0;
	char *cmdline = ovl_cmdline_read();
	if (cmdline) {
		if (ovl_cmdline_fsck(cmdline, &o.boot, warn, sizeof(warn)))
			fprintf(stderr, PROG ": kernel command line: %s\n", warn);
		free(cmdline);
	} else {
		fprintf(stderr, PROG ": /proc/cmdline: %s\n", strerror(errno));
	}
	o.fstab = getenv("SYSTEMD_FSTAB");
	if (o.fstab && !*o.fstab)
		o.fstab = NULL;
	if (ovl_generate(argv[1], &o, stderr, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	return 0;
}
