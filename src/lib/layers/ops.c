/*
 * The change overlay-layers adds to the fixes: RM_COPY, the removal of
 * an upper entry that equals what lies below. Its journal record keeps
 * the entry's description (layers/entry.c); undo makes it again from the
 * lower entry it equalled, with its own overlay xattrs, in W/work first
 * and renamed into place. Each removal and each re-creation puts its
 * dir's times back: the merged dir shows the upper dir's mtime. The ops
 * of merge in place are fold_ops.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/lookup.h"
#include "overlay/util.h"
#include "repair/repair_internal.h"
#include "internal.h"

/* The times of the dir dfd, to be put back after a change inside it. */
static int dir_times(int dfd, struct timespec t[2])
{
	struct stat st;

	if (fstat(dfd, &st) < 0)
		return -1;
	t[0] = st.st_atim;
	t[1] = st.st_mtim;
	return 0;
}

/* O_PATH dir fds take no utimensat(""): a real fd of the same dir. */
static int put_dir_times(int dfd, const struct timespec t[2])
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = fd >= 0 ? futimens(fd, t) : -1;

	ovl_close_keep_errno(fd);
	return ret;
}

static int rm_copy(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f, int dfd,
		   const char *leaf)
{
	struct stat st;
	struct timespec pt[2];

	if (ovl_stat_at(dfd, leaf, &st) < 0)
		return errno == ENOENT ? 0 : -1;	/* removed by an earlier run */
	if (f->len < 2 || f->val[0] == 0 || f->val[0] >= s->nlayers || dir_times(dfd, pt) < 0) {
		errno = EINVAL;
		return -1;
	}
	size_t len;
	char *rec = ovl_lgone_format(dfd, leaf, &st, dfd, s->ns, f->val[0],
				     (const char *)f->val + 1, &len);
	if (!rec)
		return -1;
	int ret = ovl_journal_record(j, f, NULL, rec, len, true, NULL, 0, false);
	free(rec);
	if (ret < 0)
		return -1;
	ovl_fault_point(false);
	if (unlinkat(dfd, leaf, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		return -1;
	return put_dir_times(dfd, pt);
}

int ovl_layers_fix_apply(struct ovl_stack *s, struct journal *j, const struct ovl_fix *f,
			 int dfd, const char *leaf)
{
	if (f->op == OVL_FIX_RM_COPY)
		return rm_copy(s, j, f, dfd, leaf);
	if (f->op >= OVL_FIX_MG_BEGIN)
		return ovl_fold_fix_apply(s, j, f, dfd, leaf);
	errno = EINVAL;
	return -1;
}

int ovl_layers_fix_state(struct ovl_stack *s, const struct record *rec, int dfd,
			 const char *leaf)
{
	struct ovl_lgone g;
	struct stat st;
	int state = -1;

	if (rec->op >= OVL_FIX_MG_BEGIN)
		return ovl_fold_fix_state(s, rec, dfd, leaf);
	if (rec->op != OVL_FIX_RM_COPY || !rec->has_old ||
	    ovl_lgone_parse(rec->old, rec->oldlen, &g) < 0)
		return -1;
	if (ovl_stat_at(dfd, leaf, &st) < 0)
		state = errno == ENOENT ? 1 : -1;
	else if (st.st_mode == g.st.st_mode && st.st_uid == g.st.st_uid &&
		 st.st_gid == g.st.st_gid && (S_ISDIR(st.st_mode) || st.st_size == g.st.st_size))
		state = 0;	/* still there: never removed */
	ovl_lgone_free(&g);
	return state;
}

/* Make it again: the lower entry's copy (a metacopy file without its data),
 * the record's metadata and overlay xattrs, renamed into place. */
int ovl_layers_fix_revert(struct ovl_stack *s, const struct record *rec, int dfd,
			  const char *leaf)
{
	struct ovl_lgone g;
	struct stat lst;
	const char *sleaf;
	char tmp[64];
	int sdir = -1, work, ret = -1;

	if (rec->op >= OVL_FIX_MG_BEGIN)
		return ovl_fold_fix_revert(s, rec, dfd, leaf);
	if (rec->op != OVL_FIX_RM_COPY || !rec->has_old ||
	    ovl_lgone_parse(rec->old, rec->oldlen, &g) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (g.src_layer >= s->nlayers || (work = ovl_work_dir(s)) < 0) {
		errno = EINVAL;
		goto out;
	}
	sdir = ovl_fix_open_parent(s->layers[g.src_layer].fd, g.src_path, &sleaf);
	if (sdir < 0 || ovl_stat_at(sdir, sleaf, &lst) < 0)
		goto out;
	/* the lower entry must still be the one it equalled */
	if (lst.st_mode != g.st.st_mode || lst.st_uid != g.st.st_uid ||
	    lst.st_gid != g.st.st_gid || (!S_ISDIR(lst.st_mode) && lst.st_size != g.st.st_size)) {
		errno = ESTALE;
		goto out;
	}
	bool metacopy = false;
	for (size_t i = 0; i < g.nxattrs; i++) {
		enum ovl_xattr_id id;
		if (ovl_xattr_classify(g.xname[i], s->ns, &id) == OVL_XC_OVERLAY &&
		    id == OVL_XA_METACOPY)
			metacopy = true;
	}
	snprintf(tmp, sizeof(tmp), "#overlay-layers-undo.%d", (int)getpid());
	unlinkat(work, tmp, S_ISDIR(lst.st_mode) ? AT_REMOVEDIR : 0);
	if (ovl_layers_copy_entry(sdir, sleaf, &lst, work, tmp, s->ns, !metacopy) < 0)
		goto out;
	/* its own overlay xattrs: only names of the overlay's, a journal
	 * cannot set another xattr through undo; its own times (owner and
	 * mode are the lower's: a second chown would drop a capability) */
	struct timespec times[2] = { g.st.st_atim, g.st.st_mtim };
	for (size_t i = 0; i < g.nxattrs; i++)
		if (ovl_xattr_classify(g.xname[i], s->ns, NULL) != OVL_XC_OTHER &&
		    ovl_xattr_set_at(work, tmp, g.xname[i], g.xval[i], g.xlen[i]) < 0)
			goto fail;
	if (utimensat(work, tmp, times, AT_SYMLINK_NOFOLLOW) < 0 ||
	    renameat2(work, tmp, dfd, leaf, RENAME_NOREPLACE) < 0)
		goto fail;
	ret = put_dir_times(dfd, g.parent_times);
	goto out;
fail:;
	int e = errno;
	unlinkat(work, tmp, S_ISDIR(lst.st_mode) ? AT_REMOVEDIR : 0);
	errno = e;
out:
	ovl_close_keep_errno(sdir);
	ovl_lgone_free(&g);
	return ret;
}
