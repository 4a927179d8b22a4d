/*
 * The problem table, one row per inconsistency (X-macro, expanded by
 * problem.h and problem.c; the man page lists the same codes and a test
 * keeps the two in step).
 *
 * PR(CODE, class, severity, flags, message, fix-prompt)
 *
 * severity: ERROR   the kernel refuses the mount, returns EIO/ESTALE/EINVAL,
 *                   shows a deleted entry again, or will lose data
 *           WARNING stale or inconsistent, tolerated by the kernel today
 *           NOTE    worth knowing, not a problem: exit code unchanged
 *                   (unless its fix, when it has one, is asked for)
 * flags:    PF_PREEN  -p may apply the fix unasked
 *           PF_NOFIX  no automatic fix; reported only
 *           PF_OPER   an operational error (exit 8), not an inconsistency
 */
PR(STK_FEATURE_OFF, stack, ERROR, PF_NOFIX,
   "layers use xattrs of another namespace than the given options select", "")
PR(STK_UPPER_ORIGIN_BAD, stack, WARNING, PF_PREEN,
   "upper root origin cannot be parsed", "Remove")
PR(STK_UPPER_ORIGIN_STALE, stack, ERROR, 0,
   "upper root origin does not match the lower root (mount refused with index=on)", "Re-base")
PR(STK_INDEX_UPPER_STALE, stack, ERROR, 0,
   "W/index upper handle does not match the upper root (mount refused)", "Re-base")
PR(STK_INDEX_UPPER_BAD, stack, WARNING, 0,
   "W/index upper handle cannot be parsed (rewritten at mount)", "Remove")
PR(STK_VOLATILE_DIRTY, stack, ERROR, PF_PREEN,
   "W/work/incompat/volatile/dirty left by a volatile mount: every mount fails with EINVAL", "Clear")
PR(STK_WORK_LEFTOVER, stack, ERROR, PF_PREEN,
   "W/work holds leftovers the kernel cannot empty (the overlay would mount read-only, without index)", "Clear")
PR(STK_WORK_NOT_DIR, stack, ERROR, 0,
   "W/index is not a directory (mount refused)", "Move aside")
PR(STK_UUID_NONE, stack, NOTE, PF_NOFIX,
   "filesystem of this layer has no uuid: origins on it carry a null uuid", "")
PR(STK_UUID_XATTR_BAD, stack, WARNING, PF_PREEN,
   "upper root uuid xattr is not 16 bytes", "Remove")
PR(STK_NO_WORKDIR, stack, NOTE, PF_NOFIX,
   "no work dir given: checks of W/work and W/index skipped", "")
/* Will it mount? (check_mountable.c; the fix is the mount configuration) */
PR(STK_WORK_OTHER_MOUNT, stack, ERROR, PF_NOFIX,
   "work dir and upper dir are not on the same mount: mount refused (EINVAL)", "")
PR(STK_WORK_NESTED, stack, ERROR, PF_NOFIX,
   "work dir and upper dir are not separate subtrees: mount refused (EINVAL)", "")
PR(STK_LAYER_TWICE, stack, ERROR, PF_NOFIX,
   "layer dir is also another layer of this stack: mount refused (ELOOP)", "")
PR(STK_LAYER_NESTED, stack, ERROR, PF_NOFIX,
   "layer dir lies inside another layer of this stack: mount refused (ELOOP)", "")
PR(STK_UPPER_IN_LOWER, stack, WARNING, PF_NOFIX,
   "upper or work dir lies inside a lower dir: that path of the merged view gives ELOOP", "")
PR(STK_IN_USE_BUSY, stack, ERROR, PF_NOFIX,
   "layer dir is in use by a mounted overlay: mount refused with index=on (EBUSY)", "")
PR(STK_IN_USE, stack, WARNING, PF_NOFIX,
   "layer dir is in use by a mounted overlay: both would change it (undefined behaviour)", "")
PR(STK_TOO_DEEP, stack, ERROR, PF_NOFIX,
   "overlays stacked deeper than the kernel allows (2): mount refused (EINVAL)", "")
PR(STK_UPPER_ON_OVERLAY, stack, ERROR, PF_NOFIX,
   "upper dir is on an overlayfs, which is not supported as upper: mount refused (EINVAL)", "")
PR(STK_NO_DTYPE, stack, ERROR, PF_NOFIX,
   "filesystem does not report file types (d_type): whiteouts show in directory listings", "")
PR(STK_NO_XATTR, stack, ERROR, PF_NOFIX,
   "upper filesystem cannot store overlay xattrs: the kernel turns off features this stack uses", "")
PR(STK_XATTR_FALLBACK, stack, WARNING, PF_NOFIX,
   "upper filesystem cannot store overlay xattrs: mounted without index, metacopy, redirects", "")
PR(STK_NO_INODES, stack, ERROR, PF_NOFIX,
   "upper filesystem has too few free inodes to set up the work dir: mount refused (ENOSPC)", "")
PR(STK_NO_SPACE, stack, WARNING, PF_NOFIX,
   "upper filesystem has no room for the copy-ups: they fail with ENOSPC", "")

PR(LY_UNREADABLE, layer, ERROR, PF_OPER | PF_NOFIX,
   "cannot read", "")
PR(LY_XATTR_UNREADABLE, layer, ERROR, PF_NOFIX,
   "overlay xattr cannot be read", "")
PR(LY_XATTR_HUGE, layer, ERROR, 0,
   "overlay xattr value is too large to be valid", "Remove")
PR(LY_XATTR_UNKNOWN, layer, NOTE, PF_NOFIX,
   "unknown overlay xattr", "")
PR(LY_XATTR_OTHER_NS, layer, WARNING, PF_NOFIX,
   "overlay xattr of the other namespace: ignored by this stack", "")
PR(LY_NAME_CONTROL, layer, NOTE, PF_NOFIX,
   "name holds control bytes or invalid UTF-8 (shown escaped)", "")

PR(WH_ORPHAN, whiteout, WARNING, PF_PREEN,
   "orphan whiteout: hides nothing in the layers below", "Remove")
PR(WH_NOT_EMPTY, whiteout, WARNING, 0,
   "whiteout xattr on an entry that is not an empty regular file: not a whiteout", "Remove xattr")
PR(WH_XATTR_NO_OPAQUE_X, whiteout, ERROR, PF_PREEN,
   "xattr whiteout whose parent lacks opaque=x: listed by readdir but gives ENOENT", "Mark parent")
PR(WH_XATTR_IN_UPPER, whiteout, ERROR, PF_PREEN,
   "xattr whiteout in the upper layer: listed by readdir but gives ENOENT", "Replace")

PR(OP_BAD_VALUE, opaque, WARNING, PF_PREEN,
   "opaque xattr value is neither 'y' nor 'x'", "Remove")
PR(OP_NOT_DIR, opaque, WARNING, PF_PREEN,
   "opaque xattr on a non-directory", "Remove")

PR(RD_INVALID, redirect, ERROR, PF_PREEN,
   "invalid redirect: the dir vanishes from the merged view (EINVAL)", "Re-point or remove")
PR(RD_ESCAPE, redirect, ERROR, PF_PREEN,
   "redirect with a '.' or '..' component: would climb out of the layer", "Re-point or remove")
PR(RD_TARGET_MISSING, redirect, WARNING, PF_PREEN,
   "redirect target not found in any layer below: the dir shows only its upper content", "Re-point or remove")
PR(RD_TARGET_NOT_DIR, redirect, WARNING, PF_PREEN,
   "redirect target in the layers below is not a directory: the dir shows only its upper content", "Re-point or remove")
PR(RD_DUPLICATE, redirect, ERROR, 0,
   "duplicate redirect: another dir in this layer redirects to the same target", "Remove")
PR(RD_NO_WHITEOUT, redirect, ERROR, PF_PREEN,
   "renamed dir: the old name is not covered by a whiteout, the lower dir shows twice", "Create whiteout")
PR(RD_LOOP, redirect, ERROR, 0,
   "redirect to an ancestor of the dir: the merged tree would loop", "Re-point or remove")
PR(RD_UNUSED, redirect, WARNING, PF_PREEN,
   "redirect on an opaque dir: never followed", "Remove")
PR(RD_FOLLOW_OFF, redirect, ERROR, PF_NOFIX,
   "redirect present while redirect_dir does not follow redirects (EPERM)", "")

PR(MC_TOO_SHORT, metacopy, ERROR, 0,
   "metacopy xattr of 1-3 bytes: the kernel returns EIO", "Rewrite")
PR(MC_BAD_HEADER, metacopy, WARNING, 0,
   "metacopy header with a digest is invalid (EIO once verity=on)", "Rewrite")
PR(MC_BAD_HEADER_VERITY, metacopy, ERROR, 0,
   "metacopy header invalid under verity=on/require: the kernel returns EIO", "Rewrite or quarantine")
PR(MC_NOT_REG, metacopy, WARNING, PF_PREEN,
   "metacopy xattr on a non-regular file", "Remove")
PR(MC_NO_DATA, metacopy, ERROR, 0,
   "metacopy file without lower data: dropped from readdir, EIO on lookup", "Re-point, copy up or quarantine")
PR(MC_DATA_NOT_REG, metacopy, ERROR, 0,
   "lower data of a metacopy file is not a regular file: EIO on lookup", "Re-point, copy up or quarantine")
PR(MC_DATA_ONLY_MISSING, metacopy, ERROR, 0,
   "data object in the data-only layers missing: open gives ENOENT", "Quarantine")
PR(MC_SIZE_MISMATCH, metacopy, WARNING, 0,
   "size of the metacopy file differs from its lower data", "Set size")
PR(MC_OWN_DATA, metacopy, ERROR, 0,
   "metacopy xattr on a file that holds its own data: the kernel hides it (EIO or the lower data)", "Remove")
PR(MC_DIGEST_MISSING, metacopy, ERROR, 0,
   "verity=require and the metacopy xattr carries no digest: EIO", "Add digest or quarantine")
PR(MC_DIGEST_MISMATCH, metacopy, ERROR, 0,
   "fs-verity digest of the lower data differs from the metacopy digest", "Quarantine")
PR(MC_DIGEST_UNCHECKED, metacopy, WARNING, PF_NOFIX,
   "fs-verity digest differs from the lower data; verity=off serves the data unchecked (EIO once verity=on)", "")
PR(MC_VERITY_MISSING, metacopy, ERROR, 0,
   "metacopy digest set, verity=on, lower data has no fs-verity: EIO", "Drop digest or quarantine")
PR(MC_PARTIAL_DATA, metacopy, NOTE, PF_NOFIX,
   "metacopy file holds data blocks: an interrupted data copy-up", "")
PR(MC_FOLLOW_OFF, metacopy, ERROR, PF_NOFIX,
   "metacopy file while metacopy=off (EPERM on lookup)", "")

PR(OR_BAD, origin, WARNING, PF_PREEN,
   "origin file handle cannot be parsed (ignored by the kernel with a warning)", "Remove")
PR(OR_UUID_UNKNOWN, origin, WARNING, 0,
   "origin uuid matches no lower layer's filesystem", "Re-base")
PR(OR_STALE, origin, WARNING, 0,
   "origin does not match the lower inode at this path", "Re-base")
PR(OR_STALE_VERIFY, origin, ERROR, 0,
   "origin does not match the lower inode at this path (ESTALE with index=on)", "Re-base")
PR(OR_MOVED, origin, WARNING, 0,
   "origin resolves to a lower inode at another path", "Re-point")
PR(OR_DIR_MOVED, origin, NOTE, PF_NOFIX,
   "dir origin resolves to a lower dir at another path, none at this one: the kernel shows the upper dir alone", "")
PR(OR_ALIASED, origin, ERROR, 0,
   "origin names a lower file the merged view shows at another path too (ESTALE on the second looked up)", "Remove")
PR(OR_GONE, origin, WARNING, 0,
   "origin resolves to no inode of the lower filesystem", "Remove")
PR(OR_TYPE, origin, ERROR, 0,
   "origin resolves to an inode of another file type", "Re-base or remove")

PR(IM_MISSING, impure, WARNING, PF_PREEN,
   "dir holds merge dirs or entries with origin or redirect but is not marked impure", "Set impure")
PR(IM_BAD_VALUE, impure, WARNING, PF_PREEN,
   "impure xattr value is not 'y'", "Rewrite")
PR(IM_NOT_DIR, impure, WARNING, PF_PREEN,
   "impure xattr on a non-directory", "Remove")

PR(IX_BAD_NAME, index, ERROR, 0,
   "index entry name is not the hex of a file handle: mount refused (EINVAL)", "Move aside")
PR(IX_NO_ORIGIN, index, ERROR, 0,
   "index entry has no origin xattr: mount refused (ENODATA)", "Rewrite origin")
PR(IX_ORIGIN_MISMATCH, index, ERROR, 0,
   "index entry origin differs from its name", "Repair")
PR(IX_STALE, index, WARNING, 0,
   "index entry for a lower inode that no longer exists", "Re-name or quarantine")
PR(IX_ORPHAN, index, NOTE, PF_PREEN,
   "index entry that no name uses (union nlink 0): the kernel deletes it at mount", "Quarantine")
PR(IX_NLINK_BAD, index, NOTE, PF_NOFIX,
   "nlink xattr missing or unusable on an indexed hard link: st_nlink shows the upper inode's count", "")
PR(IX_NLINK_WRONG, index, NOTE, PF_NOFIX,
   "nlink xattr disagrees with the link counts seen: st_nlink shows it", "")
PR(IX_MISSING, index, NOTE, PF_NOFIX,
   "upper copy of a lower hard link has no index entry: its lower aliases show the lower file", "")
PR(IX_DIR_NO_UPPER, index, ERROR, 0,
   "directory index entry without an upper handle", "Quarantine")
PR(IX_DIR_UPPER_STALE, index, ERROR, 0,
   "directory index entry's upper handle resolves to nothing: the dir gives EIO", "Rewrite")
PR(IX_EMPTY_DIR, index, NOTE, PF_NOFIX,
   "empty directory in W/index (tolerated)", "")

/* ---- a container engine's store (--store): its own bookkeeping ---- */
PR(SR_META_BAD, store, ERROR, PF_NOFIX,
   "the engine's metadata cannot be read: its images and containers are unknown", "")
PR(SR_LAYER_MISSING, store, ERROR, PF_NOFIX,
   "a layer the metadata names has no dir: what uses it cannot be mounted", "")
PR(SR_PARENT_MISSING, store, ERROR, PF_NOFIX,
   "the metadata names a parent layer that does not exist", "")
PR(SR_DIFF_MISSING, store, ERROR, PF_NOFIX,
   "layer dir without its diff dir: what uses it cannot be mounted", "")
PR(SR_WORK_MISSING, store, ERROR, PF_PREEN,
   "container layer without its work dir: the engine cannot mount it", "Create")
PR(SR_LAYER_ORPHAN, store, NOTE, PF_PREEN,
   "layer dir no image, container or metadata knows (orphan)", "Remove")
PR(SR_LINK_MISSING, store, ERROR, PF_PREEN,
   "the layer's short name has no link in l/: the lower files naming it fail", "Create")
PR(SR_LINK_WRONG, store, ERROR, PF_PREEN,
   "l/ link does not lead to its layer's diff dir", "Re-point")
PR(SR_LINK_DANGLING, store, WARNING, PF_PREEN,
   "l/ link names no layer", "Remove")
PR(SR_LINK_NOT_SYMLINK, store, ERROR, PF_NOFIX,
   "l/ entry is not a symlink", "")
PR(SR_LINKFILE_MISSING, store, ERROR, PF_PREEN,
   "layer dir without its link file", "Create")
PR(SR_LINKFILE_BAD, store, ERROR, PF_PREEN,
   "the layer's link file does not hold a valid short name", "Rewrite")
PR(SR_LOWER_MISSING, store, ERROR, PF_PREEN,
   "layer with a parent has no lower file: the engine cannot mount it", "Create")
PR(SR_LOWER_BAD, store, ERROR, PF_PREEN,
   "the layer's lower file does not name its parents in order", "Rewrite")
PR(SR_SNAPSHOT_MISSING, store, ERROR, PF_NOFIX,
   "an image or container names a snapshot the snapshotter does not have: it cannot be mounted", "")
PR(SR_NAMES_BAD, store, ERROR, PF_NOFIX,
   "containerd's metadata (meta.db) cannot be read: images and containers unknown, snapshots named by their keys", "")

/* ---- --verify-content: image layers against the engine's own record ----
 * Nothing here can restore the bytes: reported only, with how to get the
 * image again. */
PR(CT_NO_RECORD, content, NOTE, PF_NOFIX,
   "image layer without a tar-split record: its content cannot be verified", "")
PR(CT_RECORD_BAD, content, ERROR, PF_NOFIX,
   "the layer's tar-split record cannot be read: its content cannot be verified", "")
PR(CT_MISSING, content, ERROR, PF_NOFIX,
   "a file of the image layer is missing", "")
PR(CT_EXTRA, content, ERROR, PF_NOFIX,
   "the image layer holds a file its record does not have", "")
PR(CT_TYPE, content, ERROR, PF_NOFIX,
   "file type differs from the layer's record", "")
PR(CT_SIZE, content, ERROR, PF_NOFIX,
   "file size differs from the layer's record", "")
PR(CT_DATA, content, ERROR, PF_NOFIX,
   "file data differs from the layer's record", "")
PR(CT_MODE, content, ERROR, PF_NOFIX,
   "file mode differs from the layer's record", "")
PR(CT_OWNER, content, ERROR, PF_NOFIX,
   "file owner differs from the layer's record", "")
PR(CT_LINK, content, ERROR, PF_NOFIX,
   "link target differs from the layer's record", "")
PR(CT_DIGEST, content, ERROR, PF_NOFIX,
   "the layer rebuilt from its record does not match its diff digest", "")
