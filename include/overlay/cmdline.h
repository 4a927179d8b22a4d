/*
 * The kernel command line switches of systemd-fsck(8) that a boot check
 * of overlays honours the same way: fsck.mode= and fsck.repair=.
 */
#ifndef OVERLAY_CMDLINE_H
#define OVERLAY_CMDLINE_H

#include <stddef.h>

enum ovl_fsck_boot_mode { OVL_BOOT_AUTO, OVL_BOOT_FORCE, OVL_BOOT_SKIP };
enum ovl_fsck_boot_repair { OVL_REPAIR_PREEN, OVL_REPAIR_YES, OVL_REPAIR_NO };

struct ovl_fsck_boot {
	int mode;	/* enum ovl_fsck_boot_mode, default auto */
	int repair;	/* enum ovl_fsck_boot_repair, default preen */
};

/*
 * Parse a kernel command line as systemd does: words split at whitespace
 * outside quotes, ' and " removed, the last valid value wins, "rd."
 * switches ignored (they are for the initrd), an unknown or missing value
 * ignored. Returns how many values were ignored; the first reason is in
 * warn (one line), "" when none.
 */
int ovl_cmdline_fsck(const char *cmdline, struct ovl_fsck_boot *out, char *warn, size_t warnlen);

/*
 * The kernel command line: $SYSTEMD_PROC_CMDLINE when set (systemd's
 * own override for tests), else /proc/cmdline. Allocated; NULL with
 * errno set when it cannot be read.
 */
char *ovl_cmdline_read(void);

#endif
