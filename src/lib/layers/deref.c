/*
 * deref: a new upper dir that shows the same merged view over the same
 * lower layers, for a kernel or a tool that follows no redirect and
 * knows no metacopy: the upper's changes (delta.c) made real. A
 * metacopy file gets its lower data, a renamed dir is written whole and
 * opaque, a whiteout is a whiteout, an opaque dir keeps its mark; no
 * redirect, origin, impure, nlink or metacopy xattr is written. Hard
 * links stay one inode, the index's lower aliases included.
 *
 * merge --into is the same writer over every entry of the merged view:
 * a plain tree holding all the stack shows.
 *
 * The stack is only read. The new dir is made as DIR.overlay-layers-tmp
 * and renamed to DIR once whole: a kill leaves DIR absent, and the next
 * run removes what the killed one left.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "overlay/copyup.h"
#include "overlay/lookup.h"
#include "overlay/mview.h"
#include "overlay/util.h"
#include "overlay/xattr_copy.h"
#include "repair/repair_internal.h"
#include "internal.h"

#define TMP_SUFFIX ".overlay-layers-tmp"

/* Owner, mode, xattrs but the overlay's, times: of the entry the view shows. */
static int put_meta(struct ovl_stack *s, const struct ovl_lentry *e, int pfd, const char *name)
{
	const char *leaf;
	int mfd = ovl_lentry_meta_dir(s, e, &leaf);
	struct timespec t[2] = { e->st.st_atim, e->st.st_mtim };
	int ret = -1;

	if (mfd < 0)
		return -1;
	/* owner first: it drops set-id bits and a file capability */
	if (fchownat(pfd, name, e->st.st_uid, e->st.st_gid, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (S_ISLNK(e->st.st_mode) || fchmodat(pfd, name, e->st.st_mode & 07777, 0) == 0) &&
	    ovl_xattr_copy(mfd, leaf, pfd, name, s->ns, NULL, NULL) == 0 &&
	    (S_ISDIR(e->st.st_mode) || utimensat(pfd, name, t, AT_SYMLINK_NOFOLLOW) == 0))
		ret = 0;
	ovl_close_keep_errno(mfd);
	return ret;
}

static int make_file(struct ovl_ldelta *x, const struct ovl_lentry *e, int pfd, const char *name)
{
	int in = ovl_lentry_data(x, e);
	int out = in >= 0 ? openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				   O_CLOEXEC, 0600) : -1;
	int ret = out >= 0 && ovl_copyup_data(in, out, e->st.st_size, NULL) == 0 ? 0 : -1;

	ovl_close_keep_errno(in);
	ovl_close_keep_errno(out);
	return ret;
}

static int make_entry(struct ovl_ldelta *x, const struct ovl_lentry *e, int root, int pfd,
		      const char *name)
{
	struct ovl_stack *s = x->s;

	switch (e->kind) {
	case OVL_LK_OPAQUE:
		return ovl_xattr_set_at(pfd, name, ovl_xattr_name(s->ns, OVL_XA_OPAQUE), "y", 1);
	case OVL_LK_WHITEOUT:
		if (mknodat(pfd, name, S_IFCHR, makedev(0, 0)) < 0)
			return -1;
		return fchownat(pfd, name, e->st.st_uid, e->st.st_gid, AT_SYMLINK_NOFOLLOW);
	default:
		break;
	}
	if (e->hardlink) {
		const char *tleaf;
		int tfd = ovl_fix_open_parent(root, e->hardlink, &tleaf);
		int ret = tfd >= 0 ? linkat(tfd, tleaf, pfd, name, 0) : -1;
		ovl_close_keep_errno(tfd);
		return ret;
	}
	int made;
	switch (e->kind) {
	case OVL_LK_DIR:
		made = mkdirat(pfd, name, 0700);
		break;
	case OVL_LK_FILE:
		made = make_file(x, e, pfd, name);
		break;
	case OVL_LK_LINK: {
		char t[4096];
		const char *leaf;
		int mfd = e->target ? -1 : ovl_lentry_meta_dir(s, e, &leaf);
		ssize_t tl = mfd >= 0 ? readlinkat(mfd, leaf, t, sizeof(t) - 1) : -1;
		ovl_close_keep_errno(mfd);
		if (!e->target && tl >= 0)
			t[tl] = '\0';
		made = e->target || tl >= 0 ? symlinkat(e->target ? e->target : t, pfd, name) : -1;
		break;
	}
	default:
		made = mknodat(pfd, name, e->st.st_mode & S_IFMT, e->st.st_rdev);
		break;
	}
	return made < 0 ? -1 : put_meta(s, e, pfd, name);
}

/* The parent dir of path in the new tree; a parent the delta does not
 * hold (the dir of an index alias) is made like the lower dir it is. */
static int parent_of(struct ovl_stack *s, int root, const char *path, const char **leaf)
{
	int pfd = ovl_fix_open_parent(root, path, leaf);

	if (pfd >= 0 || errno != ENOENT)
		return pfd;
	char *dir = ovl_xstrdup(path);
	*strrchr(dir, '/') = '\0';
	struct ovl_lentry d = { .path = dir, .kind = OVL_LK_DIR };
	const char *dleaf;
	int mfd = ovl_lentry_meta_dir(s, &d, &dleaf);
	int gfd = mfd >= 0 && fstatat(mfd, dleaf, &d.st, AT_SYMLINK_NOFOLLOW) == 0
		  ? parent_of(s, root, dir, &dleaf) : -1;
	ovl_close_keep_errno(mfd);
	if (gfd >= 0 && (mkdirat(gfd, dleaf, 0700) < 0 || put_meta(s, &d, gfd, dleaf) < 0)) {
		close(gfd);
		gfd = -1;
	}
	ovl_close_keep_errno(gfd);
	free(dir);
	return gfd >= 0 ? ovl_fix_open_parent(root, path, leaf) : -1;
}

/* The entries x collects, made as the new dir `dir`. */
static int write_tree(struct ovl_stack *s, int (*collect)(struct ovl_stack *, struct ovl_ldelta *),
		      const char *dir, struct ovl_progress *progress, FILE *err,
		      unsigned long *written)
{
	struct ovl_ldelta x;
	char tmp[4096];
	struct stat st, ust;
	int root = -1, ret = -1;

	*written = 0;
	if (snprintf(tmp, sizeof(tmp), "%s" TMP_SUFFIX, dir) >= (int)sizeof(tmp))
		return -1;
	if (lstat(dir, &st) == 0) {
		fprintf(err, "%s exists: deref makes a new dir\n", dir);
		return -1;
	}
	/* what a killed run left: ours by its name, removed by fd */
	if (lstat(tmp, &st) == 0 && S_ISDIR(st.st_mode) &&
	    ovl_rm_tree(AT_FDCWD, tmp, st.st_dev, 0) < 0) {
		fprintf(err, "%s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if (collect(s, &x) < 0)
		return -1;
	if (fstat(s->layers[0].fd, &ust) < 0 || mkdir(tmp, 0700) < 0 ||
	    (root = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		fprintf(err, "%s: %s\n", tmp, strerror(errno));
		goto out;
	}
	ovl_progress_pass(progress, 1, collect == ovl_ldelta_collect ? "deref" : "merge");
	for (size_t i = 0; i < x.n && !ovl_repair_interrupted; i++) {
		const struct ovl_lentry *e = &x.v[i];
		const char *leaf;
		ovl_progress_update(progress, i, x.n, NULL);
		ovl_fault_point(false);	/* the crash tests' kill, by entry */
		int pfd = parent_of(s, root, e->path, &leaf);
		if (pfd < 0 || make_entry(&x, e, root, pfd, leaf) < 0) {
			fprintf(err, "%s: cannot make it: %s\n", e->path, strerror(errno));
			ovl_close_keep_errno(pfd);
			goto out;
		}
		close(pfd);
		(*written)++;
	}
	if (ovl_repair_interrupted)
		goto out;
	/* dirs last, deepest first: making their entries moved their times */
	for (size_t i = x.n; i-- > 0;) {
		const struct ovl_lentry *e = &x.v[i];
		const char *leaf;
		struct timespec t[2] = { e->st.st_atim, e->st.st_mtim };
		if (e->kind != OVL_LK_DIR || e->hardlink)
			continue;
		int pfd = ovl_fix_open_parent(root, e->path, &leaf);
		if (pfd < 0 || utimensat(pfd, leaf, t, AT_SYMLINK_NOFOLLOW) < 0) {
			fprintf(err, "%s: %s\n", e->path, strerror(errno));
			ovl_close_keep_errno(pfd);
			goto out;
		}
		close(pfd);
	}
	/* the root as the upper root: owner, mode, xattrs but the overlay's */
	struct timespec rt[2] = { ust.st_atim, ust.st_mtim };
	int upfd = openat(s->layers[0].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (upfd < 0 || fchown(root, ust.st_uid, ust.st_gid) < 0 ||
	    fchmod(root, ust.st_mode & 07777) < 0 ||
	    ovl_xattr_copy(upfd, "", root, "", s->ns, NULL, NULL) < 0 || futimens(root, rt) < 0 ||
	    syncfs(root) < 0 || rename(tmp, dir) < 0) {
		fprintf(err, "%s: %s\n", dir, strerror(errno));
		ovl_close_keep_errno(upfd);
		goto out;
	}
	close(upfd);
	ret = 0;
out:
	ovl_close_keep_errno(root);
	ovl_ldelta_free(&x);
	return ret;
}

int ovl_layers_deref_write(struct ovl_stack *s, const char *dir, struct ovl_progress *progress,
			   FILE *err, unsigned long *written)
{
	return write_tree(s, ovl_ldelta_collect, dir, progress, err, written);
}

int ovl_layers_merge_into(struct ovl_stack *s, const char *dir, struct ovl_progress *progress,
			  FILE *err, unsigned long *written)
{
	return write_tree(s, ovl_ldelta_collect_view, dir, progress, err, written);
}
