/*
 * W/work: the kernel empties it at every mount, one level deep. Deeper
 * leftovers make that fail (the overlay then mounts read-only, without
 * index), and the volatile marker makes every mount fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "overlay/lookup.h"
#include "internal.h"

/* Does dir `name` in parentfd hold a non-empty dir? */
static bool has_deep_leftover(int parentfd, const char *name)
{
	int fd = ovl_open_dir_at(parentfd, name);
	size_t n = 0;
	char **names = fd >= 0 ? ovl_dir_names(fd, "", &n) : NULL;
	bool deep = false;

	for (size_t i = 0; i < n && !deep; i++) {
		struct stat st;
		deep = ovl_stat_at(fd, names[i], &st) == 0 && S_ISDIR(st.st_mode) &&
		       !ovl_dir_is_empty(fd, names[i]);
	}
	ovl_dir_names_free(names);
	if (fd >= 0)
		close(fd);
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
		if (ovl_report_fix_at(c, "index", "/", PR_STK_WORK_NOT_DIR, NULL))
			ovl_plan_at(c, OVL_FIX_QUARANTINE, OVL_FIX_WORKDIR, "/index", 6, 0, NULL, 0);
	if (s->workworkfd < 0)
		return;

	size_t n = 0;
	char **names = ovl_dir_names(s->workworkfd, "", &n);
	if (!names) {
		ovl_report_at(c, "work", "/", PR_LY_UNREADABLE, strerror(errno));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];

		c->stats->work_entries++;
		if (ovl_stat_at(s->workworkfd, name, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		snprintf(path, sizeof(path), "/%s", name);
		if (!strcmp(name, "incompat")) {
			int ifd = ovl_open_dir_at(s->workworkfd, "incompat");
			if (ifd >= 0) {
				if (ovl_stat_at(ifd, "volatile", &st) == 0 &&
				    ovl_report_fix_at(c, "work", "/incompat/volatile",
						      PR_STK_VOLATILE_DIRTY, NULL))
					ovl_plan_at(c, OVL_FIX_QUARANTINE, OVL_FIX_WORKDIR,
						    "/work/incompat", 14, 0, NULL, 0);
				close(ifd);
			}
			continue;
		}
		if (has_deep_leftover(s->workworkfd, name) &&
		    ovl_report_fix_at(c, "work", path, PR_STK_WORK_LEFTOVER, NULL)) {
			char wpath[330];
			snprintf(wpath, sizeof(wpath), "/work%s", path);
			ovl_plan_at(c, OVL_FIX_QUARANTINE, OVL_FIX_WORKDIR, wpath, strlen(wpath),
				    0, NULL, 0);
		}
	}
	ovl_dir_names_free(names);
}
