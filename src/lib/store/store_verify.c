/*
 * --verify-content over a whole store (overlay/store_verify.h): which
 * layers, their records, the threads, the progress and the report.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "overlay/content.h"
#include "overlay/lookup.h"
#include "overlay/progress.h"
#include "overlay/repair.h"
#include "overlay/store_verify.h"
#include "overlay/storefsck.h"
#include "overlay/util.h"

struct job {
	const struct ovl_store_unit *unit;
	const struct ovl_store_layer *layer;
	bool no_record;			/* the engine wrote none (ENOENT) */
	char why[256];			/* the record or dir cannot be opened */
	struct ovl_content_result res;
	bool done;
};

struct pool {
	const struct ovl_store *st;
	struct job *jobs;
	size_t n, next;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned long long progress;	/* tar bytes rebuilt over all layers */
};

static void verify_one(struct pool *p, struct job *j)
{
	const struct ovl_store *st = p->st;
	const struct ovl_store_layer *l = j->layer;
	int rfd = -1, dfd = -1;
	char diff[512];

	if (!l->tarsplit) {
		j->no_record = true;
		return;
	}
	rfd = ovl_open_beneath(st->rootfd, l->tarsplit, strlen(l->tarsplit),
			       O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (rfd < 0) {
		if (errno == ENOENT)
			j->no_record = true;
		else
			snprintf(j->why, sizeof(j->why), "the record cannot be opened: %s",
				 errno == ELOOP ? "a symlink (not followed)" : strerror(errno));
		return;
	}
	struct stat sb;
	if (fstat(rfd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(j->why, sizeof(j->why), "the record is not a regular file");
		close(rfd);
		return;
	}
	snprintf(diff, sizeof(diff), "%s/diff", l->id);
	dfd = ovl_open_beneath(st->driverfd, diff, strlen(diff), O_RDONLY | O_DIRECTORY);
	if (dfd < 0) {
		snprintf(j->why, sizeof(j->why), "the layer's diff dir cannot be opened: %s",
			 strerror(errno));
		close(rfd);
		return;
	}
	struct ovl_content_in in = {
		.recordfd = rfd, .difffd = dfd, .digest = l->diff_digest, .size = l->diff_size,
		.skip_owner = l->ids_mapped,
		.progress = &p->progress, .stop = &ovl_repair_interrupted,
	};
	ovl_content_verify(&in, &j->res);
	close(rfd);
	close(dfd);
}

static void *worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		size_t i = p->next++;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->n)
			return NULL;
		verify_one(p, &p->jobs[i]);
		pthread_mutex_lock(&p->mu);
		p->jobs[i].done = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* What the engine's client calls to get an image again: its images are
 * removed (and so their containers) and pulled anew. */
static char *remedy(const struct ovl_store *st, long layer)
{
	const char *cli = st->kind == OVL_STORE_DOCKER ? "docker" : "podman";
	char *out = NULL, *cont = NULL, *imgs = NULL;
	size_t len = 0, clen = 0, ilen = 0;
	FILE *f = open_memstream(&out, &len), *c = open_memstream(&cont, &clen),
	     *i = open_memstream(&imgs, &ilen);

	if (!f || !c || !i) {
		if (f)
			fclose(f);
		if (c)
			fclose(c);
		if (i)
			fclose(i);
		free(out);
		free(cont);
		free(imgs);
		return ovl_xstrdup("");
	}
	for (size_t s = 0; s < st->nstacks; s++) {
		const struct ovl_store_stack *sk = &st->stacks[s];
		for (size_t k = 0; k < sk->nchain; k++) {
			if (sk->chain[k] != layer)
				continue;
			fprintf(sk->container ? c : i, " %s", sk->name);
			break;
		}
	}
	fclose(c);
	fclose(i);
	fprintf(f, "nothing here can restore the bytes; get the image again:");
	if (clen)
		fprintf(f, " %s rm -f%s;", cli, cont);
	if (ilen)
		fprintf(f, " %s rmi -f%s; %s pull%s", cli, imgs, cli, imgs);
	fprintf(f, " (or import or build it again)");
	fclose(f);
	free(cont);
	free(imgs);
	return out ? out : ovl_xstrdup("");
}

static void report_one(const struct ovl_store *st, const struct ovl_verify_opts *o,
		       struct job *j, struct ovl_progress *progress, int *rc)
{
	const struct ovl_store_unit *u = j->unit;
	const struct ovl_store_layer *l = j->layer;
	FILE *out = o->json ? stderr : stdout;
	struct ovl_report report;
	char base[600], path[8192], detail[2048];

	ovl_report_init(&report, o->mode, out);
	report.in = stdin;
	report.progress = progress;
	if (o->json) {
		ovl_json_stack_begin(o->json, NULL);
		ovl_json_stack_unit(o->json, "content", u->name, u->id, u->used_by);
		ovl_json_attach(o->json, &report);
	} else {
		ovl_progress_clear(progress);
		fputs("content of layer ", out);
		ovl_print_escaped(out, u->name, strlen(u->name));
		fputs(" (", out);
		ovl_print_escaped(out, u->id, strlen(u->id));
		fputs("):\n", out);
		if (u->used_by && *u->used_by) {
			fputs("used by ", out);
			ovl_print_escaped(out, u->used_by, strlen(u->used_by));
			fputc('\n', out);
		}
	}
	const char *users = u->used_by && *u->used_by ? u->used_by : "nothing";
	snprintf(base, sizeof(base), "/%s/%s/%s", st->driver_rel, l->id, st->diff_rel);
	if (j->no_record || j->why[0]) {
		/* containerd keeps none at all: the layer's dir is named */
		if (l->tarsplit)
			snprintf(path, sizeof(path), "/%s", l->tarsplit);
		else
			snprintf(path, sizeof(path), "%s", base);
		snprintf(detail, sizeof(detail), "%s; used by %s",
			 !j->no_record ? j->why : st->kind == OVL_STORE_CONTAINERD ?
			 "containerd keeps no tar-split record of a layer" :
			 "the engine kept none (a layer pulled in chunks, or "
			 "unpacked by an older engine)", users);
		struct ovl_pctx pc = { .layer = "store", .path = path, .pathlen = (size_t)-1,
				       .detail = detail };
		ovl_problem(&report, j->no_record ? PR_CT_NO_RECORD : PR_CT_RECORD_BAD, &pc);
	}
	for (size_t k = 0; k < j->res.n; k++) {
		const struct ovl_content_finding *f = &j->res.f[k];
		bool record = f->code == PR_CT_RECORD_BAD;
		if (record)
			snprintf(path, sizeof(path), "/%s", l->tarsplit);
		else
			snprintf(path, sizeof(path), "%s%s", base,
				 strcmp(f->path, "/") ? f->path : "");
		snprintf(detail, sizeof(detail), "%s; used by %s", f->detail, users);
		struct ovl_pctx pc = { .layer = "store", .path = path, .pathlen = (size_t)-1,
				       .detail = detail };
		ovl_problem(&report, f->code, &pc);
	}
	int code = ovl_report_exit(&report);
	if (j->res.more)
		code |= 4;
	char *fix = report.errors || j->res.more ? remedy(st, u->layer) : NULL;
	if (o->json) {
		if (fix)
			ovl_json_stack_remedy(o->json, fix);
		ovl_json_stack_end(o->json, NULL, NULL, &report, NULL, code, NULL);
	} else {
		if (j->res.more)
			fprintf(out, "... and %lu more differences not listed\n", j->res.more);
		if (j->res.record_read)
			fprintf(out, "%llu members, %llu bytes rebuilt: %s\n", j->res.members,
				j->res.bytes, !j->res.digest_checked ? "no diff digest recorded" :
				j->res.digest_match ? "the diff digest matches" :
				"the diff digest does not match");
		ovl_report_summary(&report);
		if (fix) {
			ovl_print_escaped(out, fix, strlen(fix));
			fputc('\n', out);
		}
		fflush(out);
	}
	free(fix);
	*rc |= code;
}

/* The image layers, in the order of the store's units: a layer a
 * container uses is an image layer too; read-write layers have no record. */
static size_t pick_layers(const struct ovl_store *st, const struct ovl_store_unit *units,
			  size_t nunits, struct job **jobs)
{
	size_t n = 0;

	*jobs = ovl_xcalloc(nunits + 1, sizeof(**jobs));
	for (size_t i = 0; i < nunits; i++) {
		const struct ovl_store_layer *l = &st->layers[units[i].layer];
		if (units[i].stack || l->rw)
			continue;
		(*jobs)[n].unit = &units[i];
		(*jobs)[n].layer = l;
		n++;
	}
	return n;
}

static unsigned long long expected_bytes(const struct job *jobs, size_t n)
{
	unsigned long long sum = 0;

	for (size_t i = 0; i < n; i++) {
		const struct ovl_store_layer *l = jobs[i].layer;
		/* Docker records the files' bytes only: the headers add a little */
		if (l->diff_size > 0)
			sum += (unsigned long long)l->diff_size;
		else if (l->files_size > 0)
			sum += (unsigned long long)l->files_size;
	}
	return sum;
}

int ovl_store_verify_content(const struct ovl_store *st, const struct ovl_verify_opts *o)
{
	struct ovl_store_unit *units;
	size_t nunits = ovl_store_units(st, &units);
	struct pool p = { .st = st };
	int rc = 0;

	p.n = pick_layers(st, units, nunits, &p.jobs);
	if (!o->json)
		printf("verifying the content of %zu image layer%s\n", p.n, p.n == 1 ? "" : "s");
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);

	size_t nthreads = o->jobs < 1 ? 1 : (size_t)o->jobs;
	if (nthreads > p.n)
		nthreads = p.n;
	pthread_t *tids = ovl_xcalloc(nthreads + 1, sizeof(*tids));
	size_t started = 0;
	for (size_t t = 0; t < nthreads; t++)
		if (pthread_create(&tids[started], NULL, worker, &p) == 0)
			started++;
	if (!started && p.n)
		worker(&p);	/* no thread could start: this one does it all */

	struct ovl_progress progress;
	FILE *bar = o->progress_fd == 0 && isatty(STDOUT_FILENO) && !o->json ? stdout : NULL;
	ovl_progress_init(&progress, o->progress_fd, bar, "content");
	ovl_progress_pass(&progress, 5, "content");
	unsigned long long total = expected_bytes(p.jobs, p.n);

	for (size_t i = 0; i < p.n; i++) {
		pthread_mutex_lock(&p.mu);
		while (!p.jobs[i].done) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&p.cv, &p.mu, &ts);
			pthread_mutex_unlock(&p.mu);
			unsigned long long done = __atomic_load_n(&p.progress, __ATOMIC_RELAXED);
			ovl_progress_update(&progress, done, total > done ? total : done, NULL);
			pthread_mutex_lock(&p.mu);
		}
		pthread_mutex_unlock(&p.mu);
		report_one(st, o, &p.jobs[i], &progress, &rc);
		ovl_content_result_free(&p.jobs[i].res);
	}
	ovl_progress_end(&progress);
	for (size_t t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	if (ovl_repair_interrupted)
		rc |= 32;
	free(tids);
	free(p.jobs);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	ovl_store_units_free(units, nunits);
	return rc;
}
