/*
 * The read-ahead pool. A dir is read in chunks of CHUNK entries; readers
 * take work from a stack of dirs, so that, as the walker descends, what it
 * needs next (the first subdir of the chunk just read) lies on top. The
 * walker takes entries in order: a chunk no reader has claimed it reads
 * itself, one being read it waits for. With no readers (-j 1) every chunk
 * is read by the walker as it comes to it.
 *
 * Cold, the reads wait on the disk one at a time per thread: when every
 * thread is busy reading and together they use less than half the CPUs
 * they could, more reads in flight are what helps, so readers are added
 * (up to GROW times the jobs asked for). Warm, the threads keep the CPUs
 * busy and none is added. The output never depends on how many read.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "overlay/lookup.h"
#include "overlay/util.h"
#include "ahead.h"

#define CHUNK 32
#define GROW 4			/* at most GROW * jobs threads, cold */
#define SAMPLE_NS 20000000L	/* how often the CPU use is looked at */

enum { ST_FREE, ST_RUNNING, ST_DONE };

struct rchunk {
	int state;
	bool counted;		/* read by a reader: its entries count as ahead */
	struct ovl_rentry *ents;
	struct ovl_rdir **children;	/* per entry: read-ahead of an opened dir */
};

struct ovl_rdir {
	struct ovl_ahead *a;
	int fd;
	const struct ovl_below *below;
	int depth;
	int refs;		/* the walker's + one per place on the stack */
	bool released;
	int list_state;
	int list_err;
	char **names;
	unsigned char *types;	/* d_type per name; NULL: unknown */
	size_t count;
	size_t nchunks;
	size_t next_claim;	/* chunks below it are claimed */
	size_t pos;		/* entries below it the walker has taken */
	size_t freed;		/* chunks below it are freed */
	struct rchunk *chunks;
};

struct ovl_ahead {
	const struct ovl_walk_env *e;
	pthread_mutex_t lock;
	pthread_cond_t work;	/* readers: a dir to read, or room ahead */
	pthread_cond_t done;	/* the walker: a listing or chunk finished */
	struct ovl_rdir **stack;
	size_t nstack, capstack;
	size_t ahead, max_ahead;	/* entries read by readers, not yet taken */
	bool stop;
	int nthreads, max_threads;
	int busy;		/* threads (the walker too) reading a task */
	int cpus;		/* that the threads could keep busy */
	long long wall0, cpu0;	/* the last sample of the clocks (ns) */
	pthread_t *threads;
};

static void rdir_unref(struct ovl_rdir *d);

static void push(struct ovl_ahead *a, struct ovl_rdir *d)
{
	if (!a->nthreads)
		return;
	if (a->nstack == a->capstack) {
		a->capstack = a->capstack ? 2 * a->capstack : 64;
		a->stack = ovl_xrealloc(a->stack, a->capstack * sizeof(*a->stack));
	}
	a->stack[a->nstack++] = d;
	d->refs++;
	pthread_cond_signal(&a->work);
}

static size_t chunk_len(const struct ovl_rdir *d, size_t k)
{
	size_t first = k * CHUNK;
	return d->count - first < CHUNK ? d->count - first : CHUNK;
}

static void set_names(struct ovl_rdir *d, char **names, unsigned char *types, size_t count,
		      int err)
{
	struct ovl_ahead *a = d->a;

	pthread_mutex_lock(&a->lock);
	d->names = names;
	d->types = types;
	d->count = count;
	d->list_err = err;
	d->nchunks = (count + CHUNK - 1) / CHUNK;
	d->chunks = d->nchunks ? ovl_xcalloc(d->nchunks, sizeof(*d->chunks)) : NULL;
	d->list_state = ST_DONE;
	if (d->nchunks)
		push(a, d);
	pthread_cond_broadcast(&a->done);
	pthread_mutex_unlock(&a->lock);
}

static void list_dir(struct ovl_rdir *d)
{
	size_t count = 0;
	unsigned char *types = NULL;
	char **names = ovl_dir_names_types(d->fd, "", &count, &types);

	set_names(d, names, types, count, names ? 0 : errno);
}

void ovl_rdir_set_names(struct ovl_rdir *d, char **names, size_t count, int err)
{
	d->list_state = ST_RUNNING;	/* nobody lists it now */
	set_names(d, names, NULL, count, err);
}

static void read_chunk(struct ovl_rdir *d, size_t k, bool reader)
{
	struct ovl_ahead *a = d->a;
	size_t first = k * CHUNK, n = chunk_len(d, k);
	struct ovl_rentry *ents = ovl_xcalloc(n, sizeof(*ents));
	struct ovl_rdir **children = NULL;

	for (size_t i = 0; i < n; i++) {
		struct ovl_rentry *r = &ents[i];
		if (a->e->read)
			a->e->read(a->e, d->fd, d->names[first + i], r);
		else
			ovl_rentry_read(a->e, d->fd, d->below, d->depth, d->names[first + i],
					d->types ? d->types[first + i] : DT_UNKNOWN, r);
		/* an opened dir: its own read-ahead, for the readers to go on with */
		if (reader && r->child_fd >= 0) {
			if (!children)
				children = ovl_xcalloc(n, sizeof(*children));
			children[i] = ovl_ahead_dir(a, r->child_fd, &r->below, d->depth + 1);
		}
	}
	pthread_mutex_lock(&a->lock);
	struct rchunk *c = &d->chunks[k];
	c->ents = ents;
	c->children = children;
	c->state = ST_DONE;
	/* the first subdir on top: the walker needs it first */
	if (children)
		for (size_t i = n; i-- > 0;)
			if (children[i])
				push(a, children[i]);
	pthread_cond_broadcast(&a->done);
	pthread_mutex_unlock(&a->lock);
}

/* The next piece of work for a reader, claimed; NULL when none may start. */
static struct ovl_rdir *pick(struct ovl_ahead *a, size_t *chunk)
{
	while (a->nstack) {
		struct ovl_rdir *d = a->stack[a->nstack - 1];
		if (!d->released && d->list_state == ST_FREE) {
			d->list_state = ST_RUNNING;
			*chunk = (size_t)-1;
			return d;
		}
		if (!d->released && d->list_state == ST_DONE && d->next_claim < d->nchunks) {
			size_t k = d->next_claim;
			if (a->ahead + chunk_len(d, k) > a->max_ahead)
				return NULL;	/* far enough ahead: wait for the walker */
			d->next_claim++;
			d->chunks[k].state = ST_RUNNING;
			d->chunks[k].counted = true;
			a->ahead += chunk_len(d, k);
			*chunk = k;
			d->refs++;	/* held while it is read */
			return d;
		}
		a->nstack--;
		rdir_unref(d);
	}
	return NULL;
}

static void *reader(void *arg);

static long long clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A task was claimed with every reader busy: are they waiting on the
 * disk (the process used less than half the CPUs its busy threads could
 * since the last look)? Then one more reader. Under the lock. */
static void maybe_grow(struct ovl_ahead *a)
{
	if (a->nthreads >= a->max_threads || a->busy < a->nthreads)
		return;
	long long wall = clock_ns(CLOCK_MONOTONIC);
	if (wall - a->wall0 < SAMPLE_NS)
		return;
	long long cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	int could = a->busy < a->cpus ? a->busy : a->cpus;
	bool waiting = 2 * (cpu - a->cpu0) < (wall - a->wall0) * could;
	a->wall0 = wall;
	a->cpu0 = cpu;
	if (waiting && pthread_create(&a->threads[a->nthreads], NULL, reader, a) == 0)
		a->nthreads++;
}

/* Run what pick() claimed, the lock dropped meanwhile. */
static void run_task(struct ovl_ahead *a, struct ovl_rdir *d, size_t k)
{
	a->busy++;
	maybe_grow(a);
	pthread_mutex_unlock(&a->lock);
	if (k == (size_t)-1) {
		list_dir(d);
		pthread_mutex_lock(&a->lock);
	} else {
		read_chunk(d, k, true);
		pthread_mutex_lock(&a->lock);
		rdir_unref(d);
	}
	a->busy--;
}

static void *reader(void *arg)
{
	struct ovl_ahead *a = arg;

	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		size_t k;
		struct ovl_rdir *d = pick(a, &k);
		if (!d) {
			pthread_cond_wait(&a->work, &a->lock);
			continue;
		}
		run_task(a, d, k);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* The walker, waiting for a reader: reads what is next on the stack
 * meanwhile (with one reader the two then read side by side), else
 * sleeps until a reader is done. Under the lock. */
static void help_or_wait(struct ovl_ahead *a)
{
	size_t k;
	struct ovl_rdir *d = a->nthreads ? pick(a, &k) : NULL;

	if (d)
		run_task(a, d, k);
	else
		pthread_cond_wait(&a->done, &a->lock);
}

struct ovl_ahead *ovl_ahead_start(const struct ovl_walk_env *e, int jobs, size_t max_ahead)
{
	struct ovl_ahead *a = ovl_xcalloc(1, sizeof(*a));

	a->e = e;
	a->max_ahead = max_ahead < CHUNK ? CHUNK : max_ahead;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->work, NULL);
	pthread_cond_init(&a->done, NULL);
	if (jobs > 1) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		a->cpus = cpus > 0 && cpus < jobs ? (int)cpus : jobs;
		a->max_threads = GROW * jobs - 1;
		a->threads = ovl_xcalloc((size_t)a->max_threads, sizeof(*a->threads));
		a->wall0 = clock_ns(CLOCK_MONOTONIC);
		a->cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
		for (int i = 0; i < jobs - 1; i++) {
			if (pthread_create(&a->threads[a->nthreads], NULL, reader, a) != 0)
				break;	/* fewer readers: the walker reads the rest */
			a->nthreads++;
		}
	}
	return a;
}

int ovl_ahead_readers(struct ovl_ahead *a)
{
	pthread_mutex_lock(&a->lock);
	int n = a->nthreads;
	pthread_mutex_unlock(&a->lock);
	return n;
}

void ovl_ahead_stop(struct ovl_ahead *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_broadcast(&a->work);
	pthread_mutex_unlock(&a->lock);
	for (int i = 0; i < a->nthreads; i++)
		pthread_join(a->threads[i], NULL);
	while (a->nstack)
		rdir_unref(a->stack[--a->nstack]);
	free(a->stack);
	free(a->threads);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->work);
	pthread_cond_destroy(&a->done);
	free(a);
}

/* Under the lock, or from a reader before the dir is shared. */
struct ovl_rdir *ovl_ahead_dir(struct ovl_ahead *a, int fd, const struct ovl_below *below,
			       int depth)
{
	struct ovl_rdir *d = ovl_xcalloc(1, sizeof(*d));

	d->a = a;
	d->fd = fd;
	d->below = below;
	d->depth = depth;
	d->refs = 1;
	return d;
}

/* Free entry i, which the walker did not take. Under the lock. */
static void untaken_free(struct ovl_rdir *d, size_t i)
{
	struct ovl_ahead *a = d->a;
	struct rchunk *c = &d->chunks[i / CHUNK];

	while (c->state == ST_RUNNING)
		pthread_cond_wait(&a->done, &a->lock);
	if (c->state != ST_DONE)
		return;
	if (c->counted)
		a->ahead--;
	struct ovl_rdir *child = c->children ? c->children[i % CHUNK] : NULL;
	pthread_mutex_unlock(&a->lock);
	if (child)
		ovl_rdir_release(child);
	ovl_rentry_free(a->e, &c->ents[i % CHUNK]);
	pthread_mutex_lock(&a->lock);
}

/* Free the chunks below `upto`, whose entries are all taken or freed. */
static void chunks_free(struct ovl_rdir *d, size_t upto)
{
	for (; d->freed < upto; d->freed++) {
		struct rchunk *c = &d->chunks[d->freed];
		free(c->ents);
		free(c->children);
		c->ents = NULL;
		c->children = NULL;
	}
}

static void rdir_unref(struct ovl_rdir *d)
{
	if (--d->refs > 0)
		return;
	ovl_dir_names_free(d->names);
	free(d->types);
	free(d->chunks);
	free(d);
}

char **ovl_rdir_names(struct ovl_rdir *d, size_t *count, int *err)
{
	struct ovl_ahead *a = d->a;

	pthread_mutex_lock(&a->lock);
	if (d->list_state == ST_FREE) {
		d->list_state = ST_RUNNING;
		pthread_mutex_unlock(&a->lock);
		list_dir(d);
		pthread_mutex_lock(&a->lock);
	}
	while (d->list_state != ST_DONE)
		help_or_wait(a);
	pthread_mutex_unlock(&a->lock);
	*count = d->count;
	*err = d->list_err;
	return d->names;
}

struct ovl_rentry *ovl_rdir_entry(struct ovl_rdir *d, size_t i)
{
	struct ovl_ahead *a = d->a;
	size_t k = i / CHUNK;

	pthread_mutex_lock(&a->lock);
	chunks_free(d, k);	/* the walker has left them */
	d->pos = i + 1;
	struct rchunk *c = &d->chunks[k];
	if (c->state == ST_FREE) {
		/* not claimed: read it here (k is the next to claim, as the
		 * walker goes in order and readers claim in order) */
		d->next_claim = k + 1;
		c->state = ST_RUNNING;
		pthread_mutex_unlock(&a->lock);
		read_chunk(d, k, false);
		pthread_mutex_lock(&a->lock);
	}
	while (c->state != ST_DONE)
		help_or_wait(a);
	if (c->counted) {
		a->ahead--;
		if (a->ahead + CHUNK == a->max_ahead)
			pthread_cond_broadcast(&a->work);
	}
	pthread_mutex_unlock(&a->lock);
	return &c->ents[i % CHUNK];
}

struct ovl_rdir *ovl_rdir_child(struct ovl_rdir *d, size_t i)
{
	struct rchunk *c = &d->chunks[i / CHUNK];
	struct ovl_rentry *r = &c->ents[i % CHUNK];
	struct ovl_ahead *a = d->a;

	pthread_mutex_lock(&a->lock);
	if (!c->children)
		c->children = ovl_xcalloc(CHUNK, sizeof(*c->children));
	if (!c->children[i % CHUNK]) {
		struct ovl_rdir *child = ovl_ahead_dir(a, r->child_fd, &r->below, d->depth + 1);
		c->children[i % CHUNK] = child;
		push(a, child);
	}
	struct ovl_rdir *child = c->children[i % CHUNK];
	pthread_mutex_unlock(&a->lock);
	return child;
}

void ovl_rdir_release(struct ovl_rdir *d)
{
	struct ovl_ahead *a = d->a;

	pthread_mutex_lock(&a->lock);
	while (d->list_state == ST_RUNNING)
		pthread_cond_wait(&a->done, &a->lock);
	d->released = true;	/* nothing more starts on it */
	for (size_t i = d->pos; i < d->count; i++)
		untaken_free(d, i);
	chunks_free(d, d->nchunks);
	pthread_cond_broadcast(&a->work);
	rdir_unref(d);
	pthread_mutex_unlock(&a->lock);
}
