/*
 * The systemd generator of boot checks (overlay-fsck-generator(8)): for
 * every overlay entry of the fstab with a pass number, drop-ins that make
 * its mount unit require overlay-fsck@.service for that mount point, and
 * that service require the mounts holding the layers, as
 * systemd-fstab-generator does with systemd-fsck@.service for block
 * devices. Reads the fstab only: it never touches the layers.
 */
#ifndef OVERLAY_GENERATOR_H
#define OVERLAY_GENERATOR_H

#include <stdio.h>

#include "overlay/cmdline.h"

#define OVL_GEN_DROPIN "50-overlay-fsck.conf"

struct ovl_gen_opts {
	const char *fstab;		/* NULL: /etc/fstab */
	const char *fsck;		/* fsck.overlay for ExecStart= overrides */
	struct ovl_fsck_boot boot;	/* from the kernel command line */
};

/*
 * Write the drop-ins into dir (the generator's normal dir). An entry that
 * cannot be expressed in unit files gets one line on warn and is left
 * out; a missing fstab is no error. Returns the number of entries given
 * a check, or -1 with a reason in err when the fstab cannot be read or a
 * file cannot be written.
 */
int ovl_generate(const char *dir, const struct ovl_gen_opts *o, FILE *warn,
		 char *err, size_t errlen);

/* systemd's test: $SYSTEMD_IN_INITRD when set, else /etc/initrd-release. */
int ovl_in_initrd(void);

#endif
