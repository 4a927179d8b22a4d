/*
 * Tasks in forked children, their output replayed in task order (see
 * overlay/forkrun.h).
 *
 * A child's output pipe carries chunks: one tag byte, a 32-bit length,
 * the bytes. Standard output and error are streams over it (fopencookie),
 * so what the task printed keeps its order whatever the buffering; a
 * chunk "ask" is the task wanting leave to write, answered by one byte
 * on its gate pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "overlay/forkrun.h"
#include "overlay/progress.h"
#include "overlay/repair.h"
#include "overlay/util.h"

enum { TAG_OUT = 'o', TAG_ERR = 'e', TAG_REPORT = 'r', TAG_ASK = 'w' };
#define CHUNK_HEAD 5
#define CHUNK_MAX (1u << 20)

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = b->len + n > 2 * b->cap ? b->len + n : 2 * b->cap;
		b->p = ovl_xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void buf_drop(struct buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

enum state {
	T_WAITING,	/* not started, or its attempt was thrown away */
	T_RUNNING,
	T_ENDED,	/* its child exited: output complete, not yet replayed */
	T_DONE,		/* replayed and handed to done() */
};

struct dep {
	size_t task;
	enum ovl_forkrun_dep kind;
};

struct task {
	enum state state;
	bool rerun;	/* an attempt was thrown away: the next starts after every dep */
	bool asked;	/* waits for leave to write */
	bool wrote;	/* was let write */
	bool doomed;	/* killed by us: its output and status do not count */
	pid_t pid;
	int out, prog, gate;	/* the parent's ends, -1 when closed */
	struct buf in;		/* bytes of the output pipe not yet a whole chunk */
	struct buf held;	/* output chunks held until the task is the oldest */
	struct buf report;
	struct buf lines;	/* its progress, held while not the oldest */
	int status;
	struct dep *deps;	/* the earlier tasks it depends on */
	size_t ndeps;
	size_t *spec;		/* READS deps not ended when this attempt started */
	size_t nspec;
};

struct run {
	const struct ovl_forkrun *fr;
	struct task *t;
	size_t head;		/* the oldest task not replayed */
	size_t next;		/* the next task never started */
	size_t active;		/* running and not waiting for leave */
	size_t running;
	size_t finished;	/* tasks handed to done() */
	int progress_fd;	/* fr->progress_fd when it is open, else -1 */
	bool tty;		/* fr->out is a terminal: tasks line-buffer it */
	size_t blksize;		/* else they buffer it as stdio would */
};

/* ---- the child's side ---- */

static int child_out = -1;	/* a forked task's output pipe */
static int child_gate = -1;

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int send_chunk(int tag, const char *p, size_t n)
{
	do {
		uint32_t len = n > CHUNK_MAX ? CHUNK_MAX : (uint32_t)n;
		unsigned char head[CHUNK_HEAD] = { (unsigned char)tag };
		memcpy(head + 1, &len, sizeof(len));
		if (write_all(child_out, head, sizeof(head)) < 0 ||
		    write_all(child_out, p, len) < 0)
			return -1;
		p += len;
		n -= len;
	} while (n);
	return 0;
}

static ssize_t chan_write(void *cookie, const char *p, size_t n)
{
	return send_chunk((int)(intptr_t)cookie, p, n) < 0 ? -1 : (ssize_t)n;
}

static FILE *chan_open(int tag)
{
	cookie_io_functions_t io = { .write = chan_write };
	FILE *f = fopencookie((void *)(intptr_t)tag, "w", io);

	if (!f)
		_exit(8);
	return f;
}

void ovl_forkrun_before_write(void)
{
	char answer = 0;

	if (child_out < 0)
		return;
	fflush(stdout);
	fflush(stderr);
	if (send_chunk(TAG_ASK, "", 0) < 0)
		_exit(8);
	while (read(child_gate, &answer, 1) < 0 && errno == EINTR)
		;
	/* no leave comes: the parent throws this attempt away (or died) */
	if (answer != 'y')
		_exit(8);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void child_main(struct run *r, size_t i, const int out[2], const int prog[2],
		       const int gate[2])
{
	const struct ovl_forkrun *fr = r->fr;

	/* none of the parent's ends: a gate write end left open here would
	 * keep this child or a sibling waiting after the parent died */
	for (size_t k = 0; k < fr->ntasks; k++) {
		close_fd(&r->t[k].out);
		close_fd(&r->t[k].prog);
		close_fd(&r->t[k].gate);
	}
	close(out[0]);
	close(gate[1]);
	child_out = out[1];
	child_gate = gate[0];
	if (prog[1] >= 0) {
		close(prog[0]);
		dup2(prog[1], fr->progress_fd);
		close(prog[1]);
	}
	FILE *o = chan_open(TAG_OUT), *e = chan_open(TAG_ERR), *rep = chan_open(TAG_REPORT);
	setvbuf(o, NULL, r->tty ? _IOLBF : _IOFBF, r->blksize);
	setvbuf(e, NULL, _IONBF, 0);
	stdout = o;
	stderr = e;
	int rc = fr->run(fr->arg, i, rep);
	fflush(o);
	fflush(e);
	fclose(rep);
	exit(rc & 0x7f);
}

/* ---- the parent's side ---- */

static bool ended(const struct task *t)
{
	return t->state == T_ENDED || t->state == T_DONE;
}

/* May task j start now? Never before an earlier task whose reads it may
 * write; a rerun only once every task it depends on ended; a first
 * attempt not against a task already let write (it would be thrown
 * away). */
static bool can_start(const struct run *r, size_t j)
{
	const struct task *t = &r->t[j];

	for (size_t k = 0; k < t->ndeps; k++) {
		const struct task *d = &r->t[t->deps[k].task];
		if (ended(d))
			continue;
		if (t->deps[k].kind == OVL_FORKRUN_WRITES || t->rerun || d->wrote)
			return false;
	}
	return true;
}

static void nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static bool start(struct run *r, size_t i)
{
	struct task *t = &r->t[i];
	int out[2], gate[2], prog[2] = { -1, -1 };

	if (pipe2(out, O_CLOEXEC) < 0)
		return false;
	if (pipe2(gate, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return false;
	}
	if (r->progress_fd > 0 && pipe2(prog, O_CLOEXEC) < 0)
		prog[0] = prog[1] = -1;		/* this task shows no progress */
	fflush(NULL);	/* nothing buffered here may be written twice */
	pid_t pid = fork();
	if (pid == 0)
		child_main(r, i, out, prog, gate);
	close(out[1]);
	close(gate[0]);
	if (prog[1] >= 0)
		close(prog[1]);
	if (pid < 0) {
		close(out[0]);
		close(gate[1]);
		if (prog[0] >= 0)
			close(prog[0]);
		return false;
	}
	t->pid = pid;
	t->out = out[0];
	t->gate = gate[1];
	t->prog = prog[0];
	nonblocking(t->out);
	if (t->prog >= 0)
		nonblocking(t->prog);
	t->state = T_RUNNING;
	t->asked = t->wrote = t->doomed = false;
	t->nspec = 0;
	for (size_t k = 0; k < t->ndeps; k++)
		if (t->deps[k].kind == OVL_FORKRUN_READS && !ended(&r->t[t->deps[k].task])) {
			t->spec = ovl_xrealloc(t->spec, (t->nspec + 1) * sizeof(*t->spec));
			t->spec[t->nspec++] = t->deps[k].task;
		}
	r->running++;
	r->active++;
	return true;
}

/* The lowest task that may start: a thrown-away one, else the next. */
static size_t pick(const struct run *r)
{
	for (size_t i = r->head; i < r->next; i++)
		if (r->t[i].state == T_WAITING && can_start(r, i))
			return i;
	if (r->next < r->fr->ntasks && can_start(r, r->next))
		return r->next;
	return r->fr->ntasks;
}

static void put(FILE *f, const char *p, size_t n)
{
	fwrite(p, 1, n, f);
	fflush(f);
}

/* A reader that went away must not stop the check: errors are let be. */
static void put_progress(struct run *r, const char *p, size_t n)
{
	if (n && r->progress_fd > 0 && write_all(r->progress_fd, p, n) < 0)
		r->progress_fd = -1;
}

/* One whole chunk of task i's output. */
static void take_chunk(struct run *r, size_t i, int tag, const char *p, size_t n)
{
	struct task *t = &r->t[i];

	switch (tag) {
	case TAG_ASK:
		t->asked = true;
		r->active--;
		break;
	case TAG_REPORT:
		buf_add(&t->report, p, n);
		break;
	case TAG_OUT:
	case TAG_ERR:
		if (i == r->head) {
			put(tag == TAG_OUT ? r->fr->out : r->fr->err, p, n);
			break;
		}
		unsigned char head[CHUNK_HEAD] = { (unsigned char)tag };
		uint32_t len = (uint32_t)n;
		memcpy(head + 1, &len, sizeof(len));
		buf_add(&t->held, head, sizeof(head));
		buf_add(&t->held, p, n);
		break;
	}
}

static void replay_held(struct run *r, struct task *t)
{
	size_t at = 0;

	while (at + CHUNK_HEAD <= t->held.len) {
		uint32_t len;
		memcpy(&len, t->held.p + at + 1, sizeof(len));
		put(t->held.p[at] == TAG_OUT ? r->fr->out : r->fr->err,
		    t->held.p + at + CHUNK_HEAD, len);
		at += CHUNK_HEAD + len;
	}
	buf_free(&t->held);
	put_progress(r, t->lines.p, t->lines.len);
	buf_free(&t->lines);
}

static void read_output(struct run *r, size_t i)
{
	struct task *t = &r->t[i];
	char b[65536];
	ssize_t n;

	while ((n = read(t->out, b, sizeof(b))) > 0) {
		if (t->doomed)
			continue;
		buf_add(&t->in, b, (size_t)n);
		size_t at = 0;
		while (at + CHUNK_HEAD <= t->in.len) {
			uint32_t len;
			memcpy(&len, t->in.p + at + 1, sizeof(len));
			if (at + CHUNK_HEAD + len > t->in.len)
				break;
			take_chunk(r, i, t->in.p[at], t->in.p + at + CHUNK_HEAD, len);
			at += CHUNK_HEAD + len;
		}
		buf_drop(&t->in, at);
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		close_fd(&t->out);	/* the child is gone */
}

/* Progress lines pass for the oldest task; a later one keeps only its
 * last line (and any line begun), shown when its turn comes. */
static void read_progress(struct run *r, size_t i)
{
	struct task *t = &r->t[i];
	char b[8192];
	ssize_t n;

	while ((n = read(t->prog, b, sizeof(b))) > 0) {
		if (t->doomed)
			continue;
		if (i == r->head) {
			put_progress(r, b, (size_t)n);
			continue;
		}
		buf_add(&t->lines, b, (size_t)n);
		size_t keep = 0, end = t->lines.len;
		while (end && t->lines.p[end - 1] != '\n')
			end--;	/* the line begun */
		if (end) {
			keep = end - 1;
			while (keep && t->lines.p[keep - 1] != '\n')
				keep--;	/* the last whole line */
		}
		buf_drop(&t->lines, keep);
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		close_fd(&t->prog);
}

static void reset(struct task *t)
{
	buf_free(&t->in);
	buf_free(&t->held);
	buf_free(&t->report);
	buf_free(&t->lines);
	t->nspec = 0;
	t->state = T_WAITING;
	t->rerun = true;
}

/* Its child exited: reap it. */
static void end_task(struct run *r, size_t i)
{
	struct task *t = &r->t[i];
	int st;

	if (t->prog >= 0)
		read_progress(r, i);
	close_fd(&t->prog);
	close_fd(&t->gate);
	while (waitpid(t->pid, &st, 0) < 0 && errno == EINTR)
		;
	r->running--;
	if (!t->asked || t->wrote)
		r->active--;
	if (t->doomed) {
		reset(t);
		return;
	}
	t->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? -WTERMSIG(st) : -1;
	t->state = T_ENDED;
}

/* Task d writes: every later task that read it meanwhile starts again. */
static void doom_readers(struct run *r, size_t d)
{
	for (size_t j = d + 1; j < r->fr->ntasks; j++) {
		struct task *t = &r->t[j];
		for (size_t k = 0; k < t->nspec; k++) {
			if (t->spec[k] != d)
				continue;
			if (t->state == T_RUNNING && !t->doomed) {
				kill(t->pid, SIGKILL);
				t->doomed = true;
			} else if (t->state == T_ENDED) {
				reset(t);
			}
			break;
		}
	}
}

static bool spec_ended(const struct run *r, const struct task *t)
{
	for (size_t k = 0; k < t->nspec; k++)
		if (!ended(&r->t[t->spec[k]]))
			return false;
	return true;
}

/* Leave to write, once what the task read can no longer change. */
static void answer_asks(struct run *r)
{
	for (size_t i = r->head; i < r->fr->ntasks; i++) {
		struct task *t = &r->t[i];
		if (t->state != T_RUNNING || t->doomed || !t->asked || t->wrote ||
		    !spec_ended(r, t))
			continue;
		t->wrote = true;
		r->active++;
		doom_readers(r, i);
		if (write_all(t->gate, "y", 1) < 0)
			close_fd(&t->gate);
	}
}

static void finish(struct run *r, size_t i)
{
	struct task *t = &r->t[i];

	replay_held(r, t);
	r->fr->done(r->fr->arg, i, t->status, t->report.p, t->report.len);
	buf_free(&t->report);
	buf_free(&t->in);
	t->state = T_DONE;
	r->finished++;
}

/* Replay in task order: every ended task from the oldest on, then what
 * the running oldest one has printed so far. */
static void emit(struct run *r)
{
	while (r->head < r->fr->ntasks) {
		struct task *t = &r->t[r->head];
		if (t->state == T_RUNNING) {
			replay_held(r, t);
			return;
		}
		if (t->state != T_ENDED)
			return;
		finish(r, r->head++);
	}
}

/* No child can be made: the oldest task runs here, alone. */
static void run_here(struct run *r)
{
	size_t i = r->head;
	struct task *t = &r->t[i];
	char *rep = NULL;
	size_t len = 0;

	fflush(NULL);
	FILE *f = open_memstream(&rep, &len);
	t->status = r->fr->run(r->fr->arg, i, f);
	if (f)
		fclose(f);
	t->state = T_ENDED;
	t->wrote = true;	/* it was not asked: what read it reads again */
	doom_readers(r, i);
	buf_add(&t->report, rep ? rep : "", rep ? len : 0);
	free(rep);
	finish(r, r->head++);
}

static void signal_running(struct run *r, int sig)
{
	for (size_t i = r->head; i < r->fr->ntasks; i++)
		if (r->t[i].state == T_RUNNING && !r->t[i].doomed)
			kill(r->t[i].pid, sig);
}

/* Interrupted: a task still reading what an earlier one may write can
 * no longer be told its result stands; it goes. */
static void doom_speculative(struct run *r)
{
	for (size_t i = r->head; i < r->fr->ntasks; i++) {
		struct task *t = &r->t[i];
		if (t->state == T_RUNNING && !t->doomed && !spec_ended(r, t)) {
			kill(t->pid, SIGKILL);
			t->doomed = true;
		}
	}
}

static void wait_events(struct run *r)
{
	struct pollfd *p = ovl_xcalloc(2 * r->running + 1, sizeof(*p));
	size_t *who = ovl_xcalloc(2 * r->running + 1, sizeof(*who));
	size_t n = 0;

	for (size_t i = r->head; i < r->fr->ntasks; i++) {
		struct task *t = &r->t[i];
		if (t->state != T_RUNNING)
			continue;
		if (t->out >= 0) {
			p[n] = (struct pollfd){ .fd = t->out, .events = POLLIN };
			who[n++] = i;
		}
		if (t->prog >= 0) {
			p[n] = (struct pollfd){ .fd = t->prog, .events = POLLIN };
			who[n++] = i;
		}
	}
	/* a timeout: a signal between the checks and poll() is not lost */
	if (poll(p, n, 250) > 0) {
		for (size_t k = 0; k < n; k++) {
			if (!p[k].revents)
				continue;
			struct task *t = &r->t[who[k]];
			if (t->state != T_RUNNING)
				continue;	/* ended by its other fd */
			if (p[k].fd == t->out)
				read_output(r, who[k]);
			else if (p[k].fd == t->prog)
				read_progress(r, who[k]);
			if (t->out < 0)
				end_task(r, who[k]);
		}
	}
	free(p);
	free(who);
}

static void deps_init(struct run *r)
{
	const struct ovl_forkrun *fr = r->fr;

	for (size_t j = 0; fr->dep && j < fr->ntasks; j++) {
		struct task *t = &r->t[j];
		for (size_t i = 0; i < j; i++) {
			enum ovl_forkrun_dep kind = fr->dep(fr->arg, i, j);
			if (kind == OVL_FORKRUN_NONE)
				continue;
			t->deps = ovl_xrealloc(t->deps, (t->ndeps + 1) * sizeof(*t->deps));
			t->deps[t->ndeps++] = (struct dep){ i, kind };
		}
	}
}

size_t ovl_forkrun(const struct ovl_forkrun *fr)
{
	struct run r = { .fr = fr };
	struct stat st;
	bool stop = false, noforks = false;

	r.t = ovl_xcalloc(fr->ntasks, sizeof(*r.t));
	for (size_t i = 0; i < fr->ntasks; i++)
		r.t[i].out = r.t[i].prog = r.t[i].gate = -1;
	deps_init(&r);
	/* a closed fd number would be reused by our pipes */
	r.progress_fd = fr->progress_fd > 0 && fcntl(fr->progress_fd, F_GETFD) >= 0 ?
			fr->progress_fd : -1;
	r.tty = isatty(fileno(fr->out));
	r.blksize = fstat(fileno(fr->out), &st) == 0 && st.st_blksize > 0 ?
		    (size_t)st.st_blksize : BUFSIZ;
	while (r.head < fr->ntasks) {
		if (ovl_repair_interrupted && !stop) {
			stop = true;
			doom_speculative(&r);
			signal_running(&r, SIGTERM);
		}
		if (ovl_progress_signal) {
			/* -C switched on or off: for every task */
			signal_running(&r, ovl_progress_signal == 1 ? SIGUSR1 : SIGUSR2);
			ovl_progress_signal = 0;
		}
		/* a task waiting for leave to write takes no slot: it needs
		 * an earlier one to end, which may need the slot */
		while (!stop && !noforks && r.active < (size_t)(fr->jobs > 0 ? fr->jobs : 1)) {
			size_t i = pick(&r);
			if (i == fr->ntasks)
				break;
			if (!start(&r, i)) {
				noforks = true;
				break;
			}
			if (i == r.next)
				r.next++;
		}
		answer_asks(&r);
		emit(&r);
		if (r.head == fr->ntasks)
			break;
		if (r.running == 0) {
			if (stop)
				break;
			if (noforks)
				run_here(&r);
			continue;
		}
		wait_events(&r);
	}
	/* interrupted: what ended is still replayed, in order; tasks left
	 * out (and results still hanging on them) are not */
	for (size_t i = r.head; i < fr->ntasks; i++)
		if (r.t[i].state == T_ENDED && spec_ended(&r, &r.t[i]))
			finish(&r, i);
	for (size_t i = 0; i < fr->ntasks; i++) {
		reset(&r.t[i]);
		free(r.t[i].deps);
		free(r.t[i].spec);
	}
	free(r.t);
	return r.finished;
}
