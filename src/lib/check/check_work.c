/*
 * W/work: the kernel empties it at every mount, one level deep. Deeper
 * leftovers make that fail (the overlay then mounts read-only, without
 * index), and the volatile marker makes every mount fail.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "overlay/lookup.h"
#include "internal.h"

static bool dir_is_empty(int parentfd, const char *name)
{
	int fd = ovl_open_dir_at(parentfd, name);
	if (fd < 0)
		return true;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return true;
	}
	struct dirent *de;
	bool empty = true;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return empty;
}

/* Does dir `name` in dirfd hold a non-empty dir? */
static bool has_deep_leftover(int parentfd, const char *name)
{
	int fd = ovl_open_dir_at(parentfd, name);
	if (fd < 0)
		return false;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	struct dirent *de;
	bool deep = false;
	while (!deep && (de = readdir(d))) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (ovl_stat_at(dirfd(d), de->d_name, &st) == 0 && S_ISDIR(st.st_mode) &&
		    !dir_is_empty(dirfd(d), de->d_name))
			deep = true;
	}
	closedir(d);
	return deep;
}

void ovl_check_work(struct ovl_ctx *c)
{
	struct ovl_stack *s = c->s;
	struct stat st;
	char path[320];

	if (!s->has_work)
		return;
	/* A non-dir W/work is replaced by the kernel; W/index is not. */
	if (ovl_stat_at(s->workfd, "index", &st) == 0 && !S_ISDIR(st.st_mode))
		ovl_report_at(c, "index", "/", PR_STK_WORK_NOT_DIR, NULL);
	if (s->workworkfd < 0)
		return;

	int fd = openat(s->workworkfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		ovl_report_at(c, "work", "/", PR_LY_UNREADABLE, strerror(errno));
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		c->stats->work_entries++;
		if (ovl_stat_at(dirfd(d), de->d_name, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		snprintf(path, sizeof(path), "/%s", de->d_name);
		if (!strcmp(de->d_name, "incompat")) {
			int ifd = ovl_open_dir_at(dirfd(d), "incompat");
			if (ifd >= 0) {
				if (ovl_stat_at(ifd, "volatile", &st) == 0)
					ovl_report_at(c, "work", "/incompat/volatile",
						      PR_STK_VOLATILE_DIRTY, NULL);
				close(ifd);
			}
			continue;
		}
		if (has_deep_leftover(dirfd(d), de->d_name))
			ovl_report_at(c, "work", path, PR_STK_WORK_LEFTOVER, NULL);
	}
	closedir(d);
}
