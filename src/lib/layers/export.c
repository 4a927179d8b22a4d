/*
 * export: the upper's changes (delta.c) as an OCI image layer, a tar
 * written with libarchive in pax format: a whiteout is DIR/.wh.NAME, an
 * opaque dir's marker DIR/.wh..wh..opq, hard links are tar hard links,
 * xattrs (but the overlay's) are pax records, mtimes keep their
 * nanoseconds. Reproducible: the entries in delta's order, no atime,
 * ctime, user or group names, nothing of the machine or the time of the
 * run, the last block unpadded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "overlay/util.h"
#include "overlay/xattr_copy.h"
#include "repair/repair_internal.h"
#include "internal.h"

static int plan_of(struct ovl_stack *s, struct ovl_layers_plan *p,
		   int (*collect)(struct ovl_stack *, struct ovl_ldelta *))
{
	struct ovl_ldelta x;

	if (!s->has_upper)
		return 0;
	if (collect(s, &x) < 0)
		return -1;
	for (size_t i = 0; i < x.n; i++) {
		const struct ovl_lentry *e = &x.v[i];
		unsigned long long bytes = e->kind == OVL_LK_FILE && !e->hardlink
					   ? (unsigned long long)e->st.st_size : 0;
		ovl_layers_plan_add(p, OVL_LSTEP_ADD, 0, e->path, NULL, 0, bytes,
				    e->hardlink ? "hard link" : ovl_lkind_names[e->kind]);
	}
	p->partial = x.partial;
	ovl_ldelta_free(&x);
	return 0;
}

int ovl_layers_delta_plan(struct ovl_stack *s, struct ovl_layers_plan *p)
{
	return plan_of(s, p, ovl_ldelta_collect);
}

int ovl_layers_view_plan(struct ovl_stack *s, struct ovl_layers_plan *p)
{
	return plan_of(s, p, ovl_ldelta_collect_view);
}

/* ---- the tar ---- */

/* The tar name of an entry: no leading '/'; a whiteout's or opaque
 * marker's OCI name. */
static char *tar_name(const struct ovl_lentry *e)
{
	const char *p = e->path + 1;
	const char *slash = strrchr(e->path, '/');
	size_t dl = (size_t)(slash - e->path);	/* "/a" in "/a/b" */
	char *out = ovl_xmalloc(strlen(e->path) + 16);

	if (e->kind == OVL_LK_WHITEOUT)
		sprintf(out, "%.*s%s.wh.%s", (int)(dl ? dl - 1 : 0), p, dl ? "/" : "", slash + 1);
	else if (e->kind == OVL_LK_OPAQUE)
		sprintf(out, "%s%s.wh..wh..opq", p, *p ? "/" : "");
	else
		strcpy(out, p);
	return out;
}

static int put_xattrs(struct ovl_stack *s, const struct ovl_lentry *e, struct archive_entry *ae)
{
	const char *leaf;
	char list[65536];
	int dfd = ovl_lentry_meta_dir(s, e, &leaf);

	if (dfd < 0)
		return -1;
	ssize_t n = ovl_xattr_list_at(dfd, leaf, list, sizeof(list));
	/* names sorted: the pax records in one order on every run */
	size_t cnt = 0;
	const char *names[1024];
	for (ssize_t i = 0; n > 0 && i < n && cnt < 1024; i += (ssize_t)strlen(list + i) + 1)
		if (ovl_xattr_copied(list + i, s->ns))
			names[cnt++] = list + i;
	for (size_t i = 1; i < cnt; i++)
		for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
			const char *t = names[k];
			names[k] = names[k - 1];
			names[k - 1] = t;
		}
	for (size_t i = 0; i < cnt; i++) {
		static unsigned char val[65536];
		ssize_t v = ovl_xattr_get_at(dfd, leaf, names[i], val, sizeof(val));
		if (v >= 0)
			archive_entry_xattr_add_entry(ae, names[i], val, (size_t)v);
	}
	close(dfd);
	return 0;
}

static int write_data(struct archive *a, int fd, off_t size)
{
	static char buf[1 << 16];
	off_t done = 0;

	while (done < size) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = n < 0 ? errno : EIO;	/* it shrank while read */
			return -1;
		}
		if (n > size - done)
			n = (ssize_t)(size - done);
		if (archive_write_data(a, buf, (size_t)n) != n) {
			errno = EIO;
			return -1;
		}
		done += n;
	}
	return 0;
}

static int write_entry(struct ovl_ldelta *x, struct archive *a, const struct ovl_lentry *e,
		       FILE *err)
{
	struct ovl_stack *s = x->s;
	struct archive_entry *ae = archive_entry_new();
	char *name = tar_name(e);
	int fd = -1, ret = -1;

	archive_entry_set_pathname(ae, name);
	archive_entry_set_uid(ae, e->st.st_uid);
	archive_entry_set_gid(ae, e->st.st_gid);
	archive_entry_set_mtime(ae, e->st.st_mtim.tv_sec, e->st.st_mtim.tv_nsec);
	if (e->kind == OVL_LK_WHITEOUT || e->kind == OVL_LK_OPAQUE) {
		/* OCI: the marker's own metadata means nothing; fixed */
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, 0);
		archive_entry_set_uid(ae, 0);
		archive_entry_set_gid(ae, 0);
		archive_entry_set_mtime(ae, 0, 0);
	} else if (e->hardlink) {
		archive_entry_set_filetype(ae, e->st.st_mode & S_IFMT);
		archive_entry_set_perm(ae, e->st.st_mode & 07777);
		archive_entry_set_hardlink(ae, e->hardlink + 1);
		archive_entry_set_size(ae, 0);
	} else {
		archive_entry_set_filetype(ae, e->st.st_mode & S_IFMT);
		archive_entry_set_perm(ae, e->st.st_mode & 07777);
		archive_entry_set_size(ae, e->kind == OVL_LK_FILE ? e->st.st_size : 0);
		if (e->kind == OVL_LK_LINK) {
			if (!e->target) {
				const char *leaf;
				char t[4096];
				int dfd = ovl_lentry_meta_dir(s, e, &leaf);
				ssize_t tl = dfd >= 0 ? readlinkat(dfd, leaf, t, sizeof(t) - 1) : -1;
				ovl_close_keep_errno(dfd);
				if (tl < 0)
					goto out;
				t[tl] = '\0';
				archive_entry_set_symlink(ae, t);
			} else {
				archive_entry_set_symlink(ae, e->target);
			}
		}
		if (e->kind == OVL_LK_SPECIAL)
			archive_entry_set_rdev(ae, e->st.st_rdev);
		if (put_xattrs(s, e, ae) < 0)
			goto out;
		if (e->kind == OVL_LK_FILE && (fd = ovl_lentry_data(x, e)) < 0)
			goto out;
	}
	if (archive_write_header(a, ae) != ARCHIVE_OK) {
		errno = EIO;
		fprintf(err, "%s: %s\n", name, archive_error_string(a));
		goto out;
	}
	ret = fd >= 0 ? write_data(a, fd, e->st.st_size) : 0;
out:
	if (ret < 0 && errno)
		fprintf(err, "%s: %s\n", name, strerror(errno));
	ovl_close_keep_errno(fd);
	free(name);
	archive_entry_free(ae);
	return ret;
}

int ovl_layers_export_write(struct ovl_stack *s, int out_fd, struct ovl_progress *progress,
			    FILE *err, unsigned long *written)
{
	struct ovl_ldelta x;
	int ret = 0;

	*written = 0;
	if (!s->has_upper || ovl_ldelta_collect(s, &x) < 0)
		return -1;
	struct archive *a = archive_write_new();
	/* full pax: every entry's mtime to the nanosecond; the last block not
	 * padded, whatever the output is (a file, a pipe) */
	if (!a || archive_write_set_format_pax(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, out_fd) != ARCHIVE_OK) {
		fprintf(err, "cannot start the tar: %s\n", a ? archive_error_string(a) : "no memory");
		if (a)
			archive_write_free(a);
		ovl_ldelta_free(&x);
		return -1;
	}
	ovl_progress_pass(progress, 1, "export");
	for (size_t i = 0; i < x.n && !ovl_repair_interrupted; i++) {
		ovl_progress_update(progress, i, x.n, NULL);
		if (write_entry(&x, a, &x.v[i], err) < 0) {
			ret = -1;
			break;
		}
		(*written)++;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		fprintf(err, "cannot end the tar: %s\n", archive_error_string(a));
		ret = -1;
	}
	archive_write_free(a);
	ovl_progress_end(progress);
	ovl_ldelta_free(&x);
	return ovl_repair_interrupted ? -1 : ret;
}
