/*
 * Who else uses a lower layer: a merge in place rewrites it, which would
 * change what every other stack over it shows. Three users are told
 * apart, each by the identity (st_dev, st_ino) of the dir, never by its
 * path's text:
 *  - an overlay mounted now (mountinfo: lowerdir, upperdir, datadir);
 *  - an fstab overlay entry over another upper (libmount);
 *  - a container store: a layer dir of the overlay driver of Docker or
 *    containers-storage (DIR/diff beside DIR/link, the short links in
 *    ../l), named by the first other layer whose `lower` file lists its
 *    short link; a snapshot of containerd's overlayfs snapshotter
 *    (snapshots/N/fs with metadata.db beside snapshots).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/fstab.h"
#include "overlay/layers.h"
#include "overlay/opts.h"
#include "overlay/util.h"

struct user {
	dev_t dev;
	ino_t ino;
	char *who;
	size_t wholen;
};

static bool is_dir_of(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	return path && stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static int mounted(void *arg, const char *mnt, dev_t dev, const char *key, const char *path)
{
	struct user *u = arg;

	(void)dev;
	if (!is_dir_of(path, u->dev, u->ino))
		return 0;
	snprintf(u->who, u->wholen, "the overlay mounted on %s (its %s)", mnt, key);
	return 1;
}

static int in_fstab(struct user *u, const struct ovl_stack *s)
{
	struct ovl_fstab t;
	char err[256];
	struct stat up;
	int found = 0;

	if (ovl_fstab_read(NULL, &t, err, sizeof(err)) < 0)
		return 0;	/* no fstab: no user there */
	if (fstat(s->layers[0].fd, &up) < 0)
		memset(&up, 0, sizeof(up));
	for (size_t i = 0; i < t.n && !found; i++) {
		struct ovl_opts o;
		ovl_opts_init(&o);
		if (ovl_opts_parse(&o, t.e[i].options, err, sizeof(err)) == 0 &&
		    !is_dir_of(o.upper, up.st_dev, up.st_ino)) {
			for (size_t k = 0; k < o.nlower && !found; k++)
				found = is_dir_of(o.lower[k], u->dev, u->ino);
			for (size_t k = 0; k < o.ndata && !found; k++)
				found = is_dir_of(o.data[k], u->dev, u->ino);
		}
		if (found)
			snprintf(u->who, u->wholen, "the fstab entry for %s", t.e[i].target);
		ovl_opts_free(&o);
	}
	ovl_fstab_free(&t);
	return found;
}

/* A small file's first line below dfd, never through a link. */
static bool read_line(int dfd, const char *name, char *buf, size_t size)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	ovl_close_keep_errno(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

static bool has(int dfd, const char *name, mode_t type)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == type;
}

/* Does another layer of the driver dir `drv` list l/ID in its lower file? */
static bool referenced(int drv, const char *self, const char *id, char *by, size_t bylen)
{
	DIR *d = fdopendir(openat(drv, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	struct dirent *de;
	char lower[8192], want[300];
	bool found = false;

	if (!d)
		return false;
	snprintf(want, sizeof(want), "l/%s", id);
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, self))
			continue;
		int lfd = openat(drv, de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (lfd >= 0 && read_line(lfd, "lower", lower, sizeof(lower))) {
			for (char *c = strtok(lower, ":"); c && !found; c = strtok(NULL, ":"))
				found = !strcmp(c, want);
			if (found)
				snprintf(by, bylen, "%s", de->d_name);
		}
		ovl_close_keep_errno(lfd);
	}
	closedir(d);
	return found;
}

static int in_store(struct user *u, const struct ovl_stack *s, int layer)
{
	const char *path = s->layers[layer].path;
	int fd = s->layers[layer].fd;
	int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int drv = up >= 0 ? openat(up, "..", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	char id[256], by[256], self[256];
	int found = 0;

	if (drv >= 0 && has(up, "link", S_IFREG) && has(drv, "l", S_IFDIR) &&
	    read_line(up, "link", id, sizeof(id))) {
		/* the layer dir's own name: the last component but one of path */
		const char *end = strrchr(path, '/'), *beg = end;
		while (beg > path && beg[-1] != '/')
			beg--;
		snprintf(self, sizeof(self), "%.*s", (int)(end ? end - beg : 0), beg);
		if (referenced(drv, self, id, by, sizeof(by)))
			snprintf(u->who, u->wholen, "the container store layer %s (layer %s lists it "
				 "as a lower)", path, by);
		else
			snprintf(u->who, u->wholen, "the container store layer %s (its engine's)", path);
		found = 1;
	} else if (drv >= 0) {
		int top = openat(drv, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (top >= 0 && has(top, "metadata.db", S_IFREG) && has(drv, "..", S_IFDIR)) {
			snprintf(u->who, u->wholen, "the containerd snapshot %s", path);
			found = 1;
		}
		ovl_close_keep_errno(top);
	}
	ovl_close_keep_errno(drv);
	ovl_close_keep_errno(up);
	return found;
}

int ovl_layers_lower_users(const struct ovl_stack *s, int layer, char *who, size_t wholen)
{
	struct user u = { s->layers[layer].dev, s->layers[layer].ino, who, wholen };

	if (ovl_mountinfo_overlays(mounted, &u) == 1)
		return 1;
	return in_fstab(&u, s) || in_store(&u, s, layer);
}
