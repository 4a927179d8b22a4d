/*
 * The layer stack: layer roots opened once (O_PATH dirfds, every later
 * lookup is relative to them), their filesystems and uuids, the work and
 * index dirs, the xattr namespace and the features in use.
 */
#ifndef OVERLAY_STACK_H
#define OVERLAY_STACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "overlay/opts.h"
#include "overlay/xattr.h"

enum ovl_layer_kind {
	OVL_LAYER_UPPER,
	OVL_LAYER_LOWER,
	OVL_LAYER_DATA,		/* data-only lower: reachable by redirect only */
};

enum ovl_uuid_source {
	OVL_UUID_SRC_NONE,	/* the filesystem has no uuid we could read */
	OVL_UUID_SRC_IOCTL,	/* FS_IOC_GETFSUUID */
	OVL_UUID_SRC_BLKID,	/* libblkid on the device of st_dev */
};

struct ovl_layer {
	int idx;		/* 0 upper, 1..nlower lowers, then data layers */
	enum ovl_layer_kind kind;
	char name[16];		/* "upper", "lower1", "data1": used in output */
	char *path;		/* as given, for messages */
	int fd;			/* O_PATH|O_DIRECTORY root, -1 if absent */
	dev_t dev;
	ino_t ino;
	uint8_t uuid[16];
	enum ovl_uuid_source uuid_src;
	int fs;			/* index of the first layer on the same st_dev */
	bool can_handle;	/* name_to_handle_at works on this filesystem */
};

struct ovl_stack {
	struct ovl_opts opts;	/* as given; features left OVL_UNSET were not */
	struct ovl_layer *layers;	/* [0] is upper (fd -1 without one) */
	int nlayers;		/* 1 + nlower + ndata */
	int nlower;
	int ndata;
	bool has_upper;
	bool has_work;
	char *workdir;
	int workfd;		/* W, -1 without a work dir */
	int workworkfd;		/* W/work, -1 if absent */
	int indexfd;		/* W/index, -1 if absent */
	enum ovl_ns ns;		/* detected or from userxattr */
	bool ns_detected;	/* ns came from the layers, not an option */

	/* effective features: from options, else detected on disk */
	bool metacopy;
	bool index;
	bool redirect_follow;	/* redirects are followed (on/follow) */
	bool nfs_export;
	int verity;		/* enum ovl_verity_mode, OFF when unset */
};

static inline struct ovl_layer *ovl_stack_upper(struct ovl_stack *s)
{
	return s->has_upper ? &s->layers[0] : NULL;
}

/* Exit classes for stack-level failures, fsck(8) values. */
#define OVL_STACK_OK		0
#define OVL_STACK_ERROR		8	/* missing dir, unreadable, other fs */
#define OVL_STACK_USAGE		16	/* inconsistent options */

/*
 * Open every layer of opts (which the stack takes over): every dir must
 * exist and be readable. Fills in filesystem identities. How the dirs
 * lie to each other (the same dir twice, nested, work on another mount)
 * is not refused here: the check reports it (check_mountable.c).
 * Returns OVL_STACK_OK or an exit class with a one-line reason in err.
 * Call ovl_stack_close() afterwards in every case, after an error too.
 */
int ovl_stack_open(struct ovl_stack *s, struct ovl_opts *opts,
		   char *err, size_t errlen);
void ovl_stack_close(struct ovl_stack *s);

/*
 * Decide the xattr namespace and the effective features: options win,
 * otherwise look at the upper root, W/index and the first entries found.
 */
void ovl_stack_detect(struct ovl_stack *s);

/*
 * Is an overlay mounted on this stack right now? Compares dev/ino of the
 * upper and work dirs (and, with no upper, the lowers) with those named
 * by every overlay in /proc/self/mountinfo. Returns 1 and the mount point
 * in mnt, 0 if not, -1 if mountinfo cannot be read.
 */
int ovl_stack_mounted(const struct ovl_stack *s, char *mnt, size_t mntlen);

/*
 * Every overlay mounted in our mount namespace (/proc/self/mountinfo):
 * fn once per layer dir its options name, with the mount point, the
 * overlay's own st_dev, the key ("upperdir", "workdir", "lowerdir",
 * "datadir") and the path unescaped, as the mount was given it. A
 * non-zero return of fn stops the scan and is returned; 0 when all were
 * seen, -1 if mountinfo cannot be read.
 */
typedef int (*ovl_mnt_layer_fn)(void *arg, const char *mnt, dev_t dev,
				const char *key, const char *path);
int ovl_mountinfo_overlays(ovl_mnt_layer_fn fn, void *arg);

/*
 * The uuid the kernel puts in origin handles for the filesystem of fd
 * (its s_uuid): FS_IOC_GETFSUUID, else libblkid on the device of dev,
 * else all zero with OVL_UUID_SRC_NONE.
 */
enum ovl_uuid_source ovl_fs_uuid(int fd, dev_t dev, uint8_t uuid[16]);

/* The layer whose filesystem has this uuid (first match), or NULL. */
struct ovl_layer *ovl_stack_layer_by_uuid(struct ovl_stack *s,
					  const uint8_t uuid[16],
					  int first, int last);

#endif
