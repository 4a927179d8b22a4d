/*
 * Copying every xattr of one layer entry to another, as a copy-up, a
 * merge or a deref must: with libattr's attr_copy_file, never opening
 * either entry (fifos, devices) and never following a symlink. Overlay
 * names (ours in either namespace, escaped and unknown ones) are not
 * copied: they tell where an entry sits in a stack, not what it holds,
 * as the kernel's copy-up leaves them too. A name the destination will
 * not take (a file capability, a security label, a name its filesystem
 * does not know) is never dropped in silence: it is named to the caller.
 */
#ifndef OVERLAY_XATTR_COPY_H
#define OVERLAY_XATTR_COPY_H

#include "overlay/xattr.h"

/* Called once per name not copied (NULL: the names could not be listed),
 * with the errno of the failure. */
typedef void (*ovl_xattr_fail_fn)(void *arg, const char *name, int err);

/*
 * Copy the xattrs of entry sname of dir sfd to entry dname of dir dfd
 * (names of one component; "" names the dir fd itself, which must then
 * be a dir). Returns 0 when every name was copied, else -1 with errno
 * (the first failure's) after calling fail (may be NULL) for each name
 * that is not on the destination as it is on the source.
 */
int ovl_xattr_copy(int sfd, const char *sname, int dfd, const char *dname, enum ovl_ns ns,
		   ovl_xattr_fail_fn fail, void *arg);

/*
 * The same between two open fds (not O_PATH: f*xattr calls), for an
 * entry that may have no name to reach it by, such as a regular file
 * opened by file handle whose dentry the kernel left disconnected.
 */
int ovl_xattr_copy_fd(int sfd, int dfd, enum ovl_ns ns, ovl_xattr_fail_fn fail, void *arg);

/* Do two entries hold the same xattrs but the overlay's? 0 the same,
 * 1 not (or one could not be listed). */
int ovl_xattr_compare(int afd, const char *aname, int bfd, const char *bname, enum ovl_ns ns);

/* Is this an xattr a copy takes along (not one of the overlay's)? */
bool ovl_xattr_copied(const char *name, enum ovl_ns ns);

#endif
