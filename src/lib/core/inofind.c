/*
 * Inodes placed by number: see inofind.h. The wanted inodes of a layer are
 * sorted by number and each dirent's d_ino looked up among them, so a walk
 * costs getdents and one compare per entry, plus a fstatat for a match.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>

#include "overlay/lookup.h"
#include "overlay/stack.h"
#include "overlay/util.h"
#include "inofind.h"

struct wanted {
	int from;
	dev_t dev;
	ino_t ino;
	int layer;		/* found in, or -1 */
	char *path;
};

struct ovl_inofind {
	struct wanted *v;
	size_t n, cap;
};

/* One layer's walk: the ids it looks for, sorted by inode number. */
struct look {
	const struct ovl_inofind *f;
	size_t *ids;
	size_t n;
	size_t left;		/* not found yet */
	int layer;
	dev_t dev;
	int max_depth;
	char path[PATH_MAX];
};

struct ovl_inofind *ovl_inofind_new(void)
{
	return ovl_xcalloc(1, sizeof(struct ovl_inofind));
}

void ovl_inofind_free(struct ovl_inofind *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].path);
	free(f->v);
	free(f);
}

size_t ovl_inofind_want(struct ovl_inofind *f, int from, dev_t dev, ino_t ino)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 8;
		f->v = ovl_xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	f->v[f->n] = (struct wanted){ .from = from, .dev = dev, .ino = ino, .layer = -1 };
	return f->n++;
}

int ovl_inofind_result(const struct ovl_inofind *f, size_t id, const char **path)
{
	if (id >= f->n || f->v[id].layer < 0)
		return -1;
	*path = f->v[id].path;
	return f->v[id].layer;
}

static int cmp_ino(const void *a, const void *b, void *arg)
{
	const struct ovl_inofind *f = arg;
	ino_t x = f->v[*(const size_t *)a].ino, y = f->v[*(const size_t *)b].ino;

	return x < y ? -1 : x > y;
}

/* The first of the sorted ids wanting ino, or l->n. */
static size_t first_wanting(const struct look *l, ino_t ino)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->f->v[l->ids[mid]].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->n && l->f->v[l->ids[lo]].ino == ino ? lo : l->n;
}

static void found(struct look *l, size_t at, ino_t ino, size_t pathlen)
{
	for (; at < l->n && l->f->v[l->ids[at]].ino == ino; at++) {
		struct wanted *w = &l->f->v[l->ids[at]];
		if (w->layer >= 0)
			continue;	/* an earlier name of it */
		w->layer = l->layer;
		w->path = ovl_xstrndup(l->path, pathlen);
		l->left--;
	}
}

static void look_dir(struct look *l, int dirfd, size_t pathlen, int depth)
{
	size_t n;
	struct ovl_dirent *ents = ovl_dir_entries(dirfd, ".", &n);

	for (size_t i = 0; ents && i < n && l->left; i++) {
		const char *name = ents[i].name;
		size_t len = strlen(name);
		struct stat st;
		bool stated = false;

		if (pathlen + 1 + len >= sizeof(l->path))
			continue;	/* no path of it fits: not a place */
		l->path[pathlen] = '/';
		memcpy(l->path + pathlen + 1, name, len + 1);
		size_t at = first_wanting(l, ents[i].ino);
		if (at < l->n) {
			/* d_ino proposes, the inode decides */
			stated = ovl_stat_at(dirfd, name, &st) == 0;
			if (stated && st.st_dev == l->dev && st.st_ino == ents[i].ino)
				found(l, at, ents[i].ino, pathlen + 1 + len);
		}
		if (ents[i].type == DT_UNKNOWN && !stated)
			stated = ovl_stat_at(dirfd, name, &st) == 0;
		bool dir = ents[i].type == DT_DIR ||
			   (ents[i].type == DT_UNKNOWN && stated && S_ISDIR(st.st_mode));
		if (!dir || depth + 1 > l->max_depth)
			continue;
		int sub = ovl_open_dir_at(dirfd, name);
		struct stat sst;
		/* a mount inside the layer is not part of it */
		if (sub >= 0 && fstat(sub, &sst) == 0 && sst.st_dev == l->dev)
			look_dir(l, sub, pathlen + 1 + len, depth + 1);
		if (sub >= 0)
			close(sub);
	}
	ovl_dir_entries_free(ents, n);
}

void ovl_inofind_run(struct ovl_inofind *f, const struct ovl_stack *s, int max_depth)
{
	struct look l = { .f = f, .max_depth = max_depth };

	l.ids = ovl_xmalloc((f->n ? f->n : 1) * sizeof(*l.ids));
	for (int i = 1; i <= s->nlower; i++) {
		const struct ovl_layer *L = &s->layers[i];
		l.n = 0;
		for (size_t k = 0; k < f->n; k++)
			if (f->v[k].layer < 0 && f->v[k].from <= i && f->v[k].dev == L->dev)
				l.ids[l.n++] = k;
		if (!l.n || L->fd < 0)
			continue;
		qsort_r(l.ids, l.n, sizeof(*l.ids), cmp_ino, f);
		l.left = l.n;
		l.layer = i;
		l.dev = L->dev;
		int root = openat(L->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (root >= 0) {
			look_dir(&l, root, 0, 0);
			close(root);
		}
	}
	free(l.ids);
}
