/*
 * The background check of a viewer. A child, not a thread: the passes
 * keep state in the stack that is not meant to be shared, and a child
 * that dies on a hostile layer cannot take the viewer with it.
 * Records on the pipe: "code\0layer\0path\0detail\0" (filenames hold no
 * NUL, so no escaping is needed), then the links of the stack, records of
 * four fields too (links.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "overlay/fsck.h"
#include "overlay/pscan.h"
#include "overlay/scope.h"
#include "overlay/util.h"
#include "walk/links.h"

struct sink {
	FILE *pipe;
};

static void send_problem(void *arg, enum ovl_problem_code code, const struct ovl_pctx *p)
{
	struct sink *k = arg;
	size_t plen = !p || !p->path ? 1 : p->pathlen == (size_t)-1 ? strlen(p->path) : p->pathlen;

	fprintf(k->pipe, "%d%c%s%c", (int)code, 0, p && p->layer ? p->layer : "stack", 0);
	fwrite(p && p->path ? p->path : "/", 1, plen, k->pipe);
	fputc(0, k->pipe);
	fputs(p && p->detail ? p->detail : "", k->pipe);
	fputc(0, k->pipe);
	fflush(k->pipe);
}

static void child(struct ovl_stack *s, int wfd)
{
	struct ovl_fsck_opts fo = { .links = ovl_links_new() };
	struct ovl_report r;
	struct ovl_fsck_stats st;
	struct sink k = { fdopen(wfd, "w") };
	FILE *null = fopen("/dev/null", "w");
	int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (!k.pipe || !null || nfd < 0)
		_exit(8);
	/* the terminal belongs to the viewer */
	dup2(nfd, STDIN_FILENO);
	dup2(nfd, STDOUT_FILENO);
	dup2(nfd, STDERR_FILENO);
	ovl_report_init(&r, OVL_MODE_NO, null);
	r.seen = send_problem;
	r.seen_arg = &k;
	int rc = ovl_fsck_run(s, &fo, &r, &st);
	ovl_links_write(fo.links, k.pipe);
	fflush(k.pipe);
	_exit(rc);
}

int ovl_pscan_start(struct ovl_pscan *ps, struct ovl_stack *s)
{
	int p[2];

	memset(ps, 0, sizeof(*ps));
	ps->fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	ps->links = ovl_links_new();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		ovl_close_keep_errno(p[0]);
		ovl_close_keep_errno(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		child(s, p[1]);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	ps->pid = pid;
	ps->fd = p[0];
	return 0;
}

static int item_order(const struct ovl_pitem *a, const struct ovl_pitem *b);

/* The item just read, moved back to its place in the walk's order: the
 * check reports some problems of the upper layer at the end of its walk
 * (those that wait for a lower inode's path), and a scoped check's
 * replacements are put in by that order too. Stable. */
static void place_last(struct ovl_pscan *ps)
{
	size_t at = ps->n - 1;
	struct ovl_pitem it = ps->item[at];

	while (at > 0 && item_order(&ps->item[at - 1], &it) > 0) {
		ps->item[at] = ps->item[at - 1];
		at--;
	}
	ps->item[at] = it;
}

void ovl_pitems_push(struct ovl_pitem **v, size_t *n, size_t *cap, enum ovl_problem_code code,
		     const char *layer, const char *path, size_t pathlen, const char *detail)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*v = ovl_xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = (struct ovl_pitem){
		.code = code,
		.layer = ovl_xstrdup(layer ? layer : "stack"),
		.path = path ? ovl_xstrndup(path, pathlen) : ovl_xstrdup("/"),
		.detail = detail && *detail ? ovl_xstrdup(detail) : NULL,
	};
}

static void pitem_free(struct ovl_pitem *it)
{
	free(it->layer);
	free(it->path);
	free(it->detail);
}

void ovl_pitems_free(struct ovl_pitem *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pitem_free(&v[i]);
	free(v);
}

/* Split complete records off the buffer. */
static size_t take_records(struct ovl_pscan *ps)
{
	size_t used = 0, added = 0;

	for (;;) {
		const char *f[4];
		size_t at = used;
		int nf = 0;
		while (nf < 4 && at < ps->blen) {
			char *z = memchr(ps->buf + at, 0, ps->blen - at);
			if (!z)
				break;
			f[nf++] = ps->buf + at;
			at = (size_t)(z - ps->buf) + 1;
		}
		if (nf < 4)
			break;
		used = at;
		if (f[0][0] == 'L') {
			ovl_links_read(ps->links, f);
			continue;
		}
		int code = atoi(f[0]);
		if (code < 0 || code >= PR_COUNT)
			continue;
		ovl_pitems_push(&ps->item, &ps->n, &ps->cap, (enum ovl_problem_code)code, f[1],
				f[2], strlen(f[2]), f[3]);
		place_last(ps);
		added++;
	}
	memmove(ps->buf, ps->buf + used, ps->blen - used);
	ps->blen -= used;
	return added;
}

size_t ovl_pscan_poll(struct ovl_pscan *ps)
{
	size_t added = 0;

	while (ps->fd >= 0) {
		if (ps->bcap - ps->blen < 4096) {
			size_t c = ps->bcap ? ps->bcap * 2 : 16384;
			char *b = realloc(ps->buf, c);
			if (!b)
				break;
			ps->buf = b;
			ps->bcap = c;
		}
		ssize_t r = read(ps->fd, ps->buf + ps->blen, ps->bcap - ps->blen);
		if (r > 0) {
			ps->blen += (size_t)r;
			added += take_records(ps);
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		/* end of the records: the child has ended */
		close(ps->fd);
		ps->fd = -1;
		int st = 0;
		if (ps->pid > 0 && waitpid(ps->pid, &st, 0) == ps->pid)
			ps->status = WIFEXITED(st) ? WEXITSTATUS(st) : 8;
		else
			ps->status = 8;
		ps->pid = 0;
		ps->done = true;
	}
	return added;
}

bool ovl_pitem_in_view(const struct ovl_pitem *it)
{
	return !strcmp(it->layer, "upper") || !strncmp(it->layer, "lower", 5);
}

bool ovl_pitem_at(const struct ovl_pitem *it, const char *path)
{
	return ovl_pitem_in_view(it) && !strcmp(it->path, path);
}

size_t ovl_pscan_count(const struct ovl_pscan *ps, const char *path)
{
	size_t n = 0;

	for (size_t i = 0; i < ps->n; i++)
		n += ovl_pitem_at(&ps->item[i], path);
	return n;
}

void ovl_pscan_free(struct ovl_pscan *ps)
{
	if (ps->pid > 0) {
		kill(ps->pid, SIGKILL);
		waitpid(ps->pid, NULL, 0);
	}
	if (ps->fd >= 0)
		close(ps->fd);
	ovl_pitems_free(ps->item, ps->n);
	ovl_links_free(ps->links);
	free(ps->buf);
	memset(ps, 0, sizeof(*ps));
	ps->fd = -1;
}

/* Where a layer's problems come in a full check: the stack, upper, the
 * lowers in order, the data layers, W/index, W/work. */
static int layer_rank(const char *layer)
{
	if (!strcmp(layer, "stack"))
		return 0;
	if (!strcmp(layer, "upper"))
		return 1;
	if (!strncmp(layer, "lower", 5))
		return 2 + atoi(layer + 5);
	if (!strncmp(layer, "data", 4))
		return 1000 + atoi(layer + 4);
	if (!strcmp(layer, "index"))
		return 3000;
	return !strcmp(layer, "work") ? 3001 : 3002;
}

/* The walk's order of two paths: a dir before what is below it, names
 * bytewise. */
static int path_order(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	if (*a == *b)
		return 0;
	if (!*a)
		return -1;	/* a dir before what is below it */
	if (!*b)
		return 1;
	if (*a == '/')
		return -1;	/* "d" before "d-e" */
	if (*b == '/')
		return 1;
	return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
}

static int item_order(const struct ovl_pitem *a, const struct ovl_pitem *b)
{
	int ra = layer_rank(a->layer), rb = layer_rank(b->layer);

	return ra != rb ? (ra < rb ? -1 : 1) : path_order(a->path, b->path);
}

void ovl_pscan_replace(struct ovl_pscan *ps, const struct ovl_scope *sc,
		       struct ovl_pitem *items, size_t n)
{
	size_t kept = 0;

	for (size_t i = 0; i < ps->n; i++) {
		struct ovl_pitem *it = &ps->item[i];
		if (ovl_scope_has(sc, it->layer, it->path))
			pitem_free(it);
		else
			ps->item[kept++] = *it;
	}
	ps->n = kept;
	for (size_t k = 0; k < n; k++) {
		size_t at = 0;
		while (at < ps->n && item_order(&ps->item[at], &items[k]) <= 0)
			at++;
		if (ps->n == ps->cap) {
			ps->cap = ps->cap ? 2 * ps->cap : 64;
			ps->item = ovl_xrealloc(ps->item, ps->cap * sizeof(*ps->item));
		}
		memmove(ps->item + at + 1, ps->item + at, (ps->n - at) * sizeof(*ps->item));
		ps->item[at] = items[k];
		ps->n++;
	}
	free(items);
}
