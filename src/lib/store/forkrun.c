/*
 * Tasks run by a pool of forked workers, their output replayed in task
 * order (see overlay/forkrun.h).
 *
 * A worker is forked once and runs one task after another: it reads the
 * task's number on its command pipe and answers on its output pipe in
 * chunks of one tag byte, a 32-bit length and the bytes. Its standard
 * output and error are streams over that pipe (fopencookie), so what a
 * task printed keeps its order whatever the buffering; the chunk "ask"
 * is a task wanting leave to write, answered by one byte on the command
 * pipe; "end" closes a task with its exit code. A fork costs about as
 * much as checking a small container: one per task would double the time
 * of a store of many. A worker killed (its task thrown away, or dead of
 * itself) is replaced.
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
#include <time.h>
#include <unistd.h>

#include "overlay/forkrun.h"
#include "overlay/progress.h"
#include "overlay/repair.h"
#include "overlay/util.h"

enum { TAG_OUT = 'o', TAG_ERR = 'e', TAG_REPORT = 'r', TAG_ASK = 'w', TAG_END = 'z' };
#define CHUNK_HEAD 5
#define CHUNK_MAX (1u << 20)
#define NONE ((size_t)-1)

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
	T_ENDED,	/* output complete, not yet replayed */
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
	bool doomed;	/* its worker is killed: its output and status do not count */
	size_t worker;
	struct buf held;	/* output chunks held until the task is the oldest */
	struct buf report;
	struct buf lines;	/* its progress, held while not the oldest */
	int status;
	struct dep *deps;	/* the earlier tasks it depends on */
	size_t ndeps;
	size_t *spec;		/* READS deps not ended when this attempt started */
	size_t nspec;
};

struct worker {
	pid_t pid;		/* 0: a free slot */
	int out, cmd, prog;	/* the parent's ends, -1 when closed */
	struct buf in;		/* bytes of the output pipe not yet a whole chunk */
	size_t task;		/* the task it runs, or NONE */
};

struct run {
	const struct ovl_forkrun *fr;
	struct task *t;
	struct worker *w;
	size_t nw;		/* worker slots */
	size_t head;		/* the oldest task not replayed */
	size_t next;		/* the next task never started */
	size_t running;		/* tasks running */
	size_t busy;		/* ... and not waiting for leave */
	size_t finished;	/* tasks handed to done() */
	bool no_fork;		/* a fork failed: the workers there are do it all */
	int progress_fd;	/* fr->progress_fd when it is open, else -1 */
	bool tty;		/* fr->out is a terminal: tasks line-buffer it */
	size_t blksize;		/* else they buffer it as stdio would */
};

/* ---- the worker's side ---- */

static int child_out = -1;	/* a worker's output pipe */
static int child_cmd = -1;	/* ... and its command pipe */

/* All n bytes moved, through EINTR and short counts; -1 at EOF too. */
static int move_all(int fd, char *p, size_t n, bool out)
{
	while (n) {
		ssize_t k = out ? write(fd, p, n) : read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	return move_all(fd, (char *)p, n, true);
}

static int read_all(int fd, void *p, size_t n)
{
	return move_all(fd, p, n, false);
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
	/* no leave comes: the parent throws this attempt away (or died) */
	if (read_all(child_cmd, &answer, 1) < 0 || answer != 'y')
		_exit(8);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void worker_main(struct run *r, const int out[2], const int cmd[2], const int prog[2])
{
	const struct ovl_forkrun *fr = r->fr;
	size_t i;

	/* none of the parent's ends: another worker's command pipe held
	 * open here would never tell it the run is over */
	for (size_t k = 0; k < r->nw; k++) {
		close_fd(&r->w[k].out);
		close_fd(&r->w[k].cmd);
		close_fd(&r->w[k].prog);
	}
	close(out[0]);
	close(cmd[1]);
	child_out = out[1];
	child_cmd = cmd[0];
	if (prog[1] >= 0) {
		close(prog[0]);
		dup2(prog[1], fr->progress_fd);
		close(prog[1]);
	}
	stdout = chan_open(TAG_OUT);
	stderr = chan_open(TAG_ERR);
	setvbuf(stdout, NULL, r->tty ? _IOLBF : _IOFBF, r->blksize);
	setvbuf(stderr, NULL, _IONBF, 0);
	while (read_all(child_cmd, &i, sizeof(i)) == 0) {
		FILE *rep = chan_open(TAG_REPORT);
		int32_t rc = fr->run(fr->arg, i, rep) & 0x7f;
		fflush(stdout);
		fflush(stderr);
		fclose(rep);
		if (send_chunk(TAG_END, (const char *)&rc, sizeof(rc)) < 0)
			break;
	}
	exit(0);	/* the command pipe closed: no more tasks */
}

/* ---- the parent's side ---- */

static void nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static size_t spawn(struct run *r)
{
	int out[2], cmd[2], prog[2] = { -1, -1 };
	size_t k;

	for (k = 0; k < r->nw && r->w[k].pid; k++)
		;
	if (k == r->nw) {
		r->w = ovl_xrealloc(r->w, (r->nw + 1) * sizeof(*r->w));
		r->w[r->nw++] = (struct worker){ .out = -1, .cmd = -1, .prog = -1 };
	}
	if (pipe2(out, O_CLOEXEC) < 0)
		return NONE;
	if (pipe2(cmd, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return NONE;
	}
	if (r->progress_fd > 0 && pipe2(prog, O_CLOEXEC) < 0)
		prog[0] = prog[1] = -1;		/* its tasks show no progress */
	fflush(NULL);	/* nothing buffered here may be written twice */
	pid_t pid = fork();
	if (pid == 0)
		worker_main(r, out, cmd, prog);
	close(out[1]);
	close(cmd[0]);
	if (prog[1] >= 0)
		close(prog[1]);
	if (pid < 0) {
		close(out[0]);
		close(cmd[1]);
		if (prog[0] >= 0)
			close(prog[0]);
		return NONE;
	}
	r->w[k] = (struct worker){ .pid = pid, .out = out[0], .cmd = cmd[1], .prog = prog[0],
				   .task = NONE };
	nonblocking(out[0]);
	if (prog[0] >= 0)
		nonblocking(prog[0]);
	return k;
}

/* To a worker, which may have died: EPIPE, not SIGPIPE (that would end
 * this process: the serial run would not have stopped here). */
static int tell_worker(struct worker *w, const void *p, size_t n)
{
	static const struct timespec now;
	sigset_t pipe_sig, old;
	int rc;

	sigemptyset(&pipe_sig);
	sigaddset(&pipe_sig, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_sig, &old);
	rc = write_all(w->cmd, p, n);
	if (rc < 0 && errno == EPIPE)
		sigtimedwait(&pipe_sig, NULL, &now);	/* the one this write raised */
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

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

/* The lowest task that may start: a thrown-away one, else the next. */
static size_t pick(const struct run *r)
{
	for (size_t i = r->head; i < r->next; i++)
		if (r->t[i].state == T_WAITING && can_start(r, i))
			return i;
	if (r->next < r->fr->ntasks && can_start(r, r->next))
		return r->next;
	return NONE;
}

/* Task i to an idle worker, or a new one. False when none can be had. */
static bool start(struct run *r, size_t i)
{
	struct task *t = &r->t[i];
	size_t k;

	for (k = 0; k < r->nw && !(r->w[k].pid && r->w[k].task == NONE); k++)
		;
	if (k == r->nw && (r->no_fork || (k = spawn(r)) == NONE)) {
		r->no_fork = true;
		return false;
	}
	if (tell_worker(&r->w[k], &i, sizeof(i)) < 0) {
		/* it died: its end comes by its output pipe */
		kill(r->w[k].pid, SIGKILL);
		return false;
	}
	r->w[k].task = i;
	t->worker = k;
	t->state = T_RUNNING;
	t->asked = t->wrote = t->doomed = false;
	t->nspec = 0;
	for (size_t d = 0; d < t->ndeps; d++)
		if (t->deps[d].kind == OVL_FORKRUN_READS && !ended(&r->t[t->deps[d].task])) {
			t->spec = ovl_xrealloc(t->spec, (t->nspec + 1) * sizeof(*t->spec));
			t->spec[t->nspec++] = t->deps[d].task;
		}
	r->running++;
	r->busy++;
	if (i == r->next)
		r->next++;
	return true;
}

static void put(FILE *f, const char *p, size_t n)
{
	fwrite(p, 1, n, f);
	fflush(f);
}

/* A reader that went away must not stop the check: its errors end it. */
static void put_progress(struct run *r, const char *p, size_t n)
{
	if (n && r->progress_fd > 0 && write_all(r->progress_fd, p, n) < 0)
		r->progress_fd = -1;
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

static void reset(struct task *t)
{
	buf_free(&t->held);
	buf_free(&t->report);
	buf_free(&t->lines);
	t->nspec = 0;
	t->state = T_WAITING;
	t->rerun = true;
}

/* Progress lines pass for the oldest task; a later one keeps only its
 * last line (and any line begun), shown when its turn comes. */
static void read_progress(struct run *r, struct worker *w)
{
	char b[8192];
	ssize_t n;

	while ((n = read(w->prog, b, sizeof(b))) > 0) {
		struct task *t = w->task == NONE ? NULL : &r->t[w->task];
		if (!t || t->doomed)
			continue;
		if (w->task == r->head) {
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
		close_fd(&w->prog);
}

/* The task leaves its worker: ended with status, or thrown away. */
static void task_off(struct run *r, struct worker *w, int status)
{
	struct task *t = &r->t[w->task];

	if (w->prog >= 0)
		read_progress(r, w);	/* its lines were written before its end */
	r->running--;
	if (!t->asked || t->wrote)
		r->busy--;
	w->task = NONE;
	if (t->doomed) {
		reset(t);
		return;
	}
	t->status = status;
	t->state = T_ENDED;
}

/* One whole chunk from worker w. */
static void take_chunk(struct run *r, struct worker *w, int tag, const char *p, size_t n)
{
	struct task *t = &r->t[w->task];

	switch (tag) {
	case TAG_ASK:
		t->asked = true;
		r->busy--;
		break;
	case TAG_END: {
		int32_t rc = 0;
		memcpy(&rc, p, n < sizeof(rc) ? n : sizeof(rc));
		task_off(r, w, rc);
		break;
	}
	case TAG_REPORT:
		buf_add(&t->report, p, n);
		break;
	case TAG_OUT:
	case TAG_ERR:
		if (w->task == r->head) {
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

/* Worker w's output pipe closed: it exited, or was killed. */
static void worker_gone(struct run *r, struct worker *w)
{
	int st;

	close_fd(&w->out);
	while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
		;
	if (w->task != NONE)
		task_off(r, w, WIFEXITED(st) ? WEXITSTATUS(st) :
			       WIFSIGNALED(st) ? -WTERMSIG(st) : -1);
	close_fd(&w->prog);
	close_fd(&w->cmd);
	buf_free(&w->in);
	w->pid = 0;
}

static void read_output(struct run *r, struct worker *w)
{
	char b[65536];
	ssize_t n;

	while ((n = read(w->out, b, sizeof(b))) > 0) {
		buf_add(&w->in, b, (size_t)n);
		size_t at = 0;
		while (at + CHUNK_HEAD <= w->in.len) {
			uint32_t len;
			memcpy(&len, w->in.p + at + 1, sizeof(len));
			if (at + CHUNK_HEAD + len > w->in.len)
				break;
			/* a thrown-away task's chunks are dropped */
			if (w->task != NONE && !r->t[w->task].doomed)
				take_chunk(r, w, w->in.p[at], w->in.p + at + CHUNK_HEAD, len);
			at += CHUNK_HEAD + len;
		}
		buf_drop(&w->in, at);
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		worker_gone(r, w);
}

/* Thrown away while it runs: its worker goes, and what it printed. */
static void kill_task(struct run *r, struct task *t)
{
	kill(r->w[t->worker].pid, SIGKILL);
	t->doomed = true;
	buf_free(&t->held);
	buf_free(&t->report);
	buf_free(&t->lines);
}

/* Task d writes: every later task that read it meanwhile starts again. */
static void doom_readers(struct run *r, size_t d)
{
	for (size_t j = d + 1; j < r->fr->ntasks; j++) {
		struct task *t = &r->t[j];
		for (size_t k = 0; k < t->nspec; k++) {
			if (t->spec[k] != d)
				continue;
			if (t->state == T_RUNNING && !t->doomed)
				kill_task(r, t);
			else if (t->state == T_ENDED)
				reset(t);
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
		r->busy++;
		doom_readers(r, i);
		/* a worker that died tells by its output pipe */
		tell_worker(&r->w[t->worker], "y", 1);
	}
}

static void finish(struct run *r, size_t i)
{
	struct task *t = &r->t[i];

	replay_held(r, t);
	r->fr->done(r->fr->arg, i, t->status, t->report.p, t->report.len);
	buf_free(&t->report);
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
			/* (thrown away: it runs again once its worker is gone) */
			if (!t->doomed)
				replay_held(r, t);
			return;
		}
		if (t->state != T_ENDED)
			return;
		finish(r, r->head++);
	}
}

/* No worker can be had: the oldest task runs here, alone. */
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
	if (i == r->next)
		r->next++;
	finish(r, r->head++);
}

static void signal_running(struct run *r, int sig)
{
	for (size_t k = 0; k < r->nw; k++)
		if (r->w[k].pid && r->w[k].task != NONE && !r->t[r->w[k].task].doomed)
			kill(r->w[k].pid, sig);
}

/* Interrupted: a task still reading what an earlier one may write can
 * no longer be told its result stands; it goes. */
static void doom_speculative(struct run *r)
{
	for (size_t i = r->head; i < r->fr->ntasks; i++) {
		struct task *t = &r->t[i];
		if (t->state == T_RUNNING && !t->doomed && !spec_ended(r, t))
			kill_task(r, t);
	}
}

static void wait_events(struct run *r)
{
	struct pollfd *p = ovl_xcalloc(2 * r->nw + 1, sizeof(*p));
	size_t *who = ovl_xcalloc(2 * r->nw + 1, sizeof(*who));
	size_t n = 0;

	for (size_t k = 0; k < r->nw; k++) {
		if (!r->w[k].pid)
			continue;
		p[n] = (struct pollfd){ .fd = r->w[k].out, .events = POLLIN };
		who[n++] = k;
		if (r->w[k].prog >= 0) {
			p[n] = (struct pollfd){ .fd = r->w[k].prog, .events = POLLIN };
			who[n++] = k;
		}
	}
	/* a timeout: a signal between the checks and poll() is not lost */
	if (poll(p, n, 250) > 0) {
		for (size_t k = 0; k < n; k++) {
			struct worker *w = &r->w[who[k]];
			if (!p[k].revents || !w->pid)
				continue;	/* or gone by its other fd */
			if (p[k].fd == w->out)
				read_output(r, w);
			else if (p[k].fd == w->prog)
				read_progress(r, w);
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

static size_t live_workers(const struct run *r)
{
	size_t n = 0;

	for (size_t k = 0; k < r->nw; k++)
		n += r->w[k].pid != 0;
	return n;
}

/* The command pipes closed, every worker exits. */
static void stop_workers(struct run *r)
{
	for (size_t k = 0; k < r->nw; k++) {
		struct worker *w = &r->w[k];
		if (!w->pid)
			continue;
		close_fd(&w->cmd);
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
		close_fd(&w->out);
		close_fd(&w->prog);
		buf_free(&w->in);
	}
	free(r->w);
}

size_t ovl_forkrun(const struct ovl_forkrun *fr)
{
	struct run r = { .fr = fr };
	size_t jobs = fr->jobs > 0 ? (size_t)fr->jobs : 1;
	bool stop = false;
	struct stat st;

	r.t = ovl_xcalloc(fr->ntasks, sizeof(*r.t));
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
		while (!stop && r.busy < jobs) {
			size_t i = pick(&r);
			if (i == NONE)
				break;
			if (!start(&r, i))
				break;
		}
		answer_asks(&r);
		emit(&r);
		if (r.head == fr->ntasks)
			break;
		if (r.running == 0 && stop)
			break;
		if (r.running == 0 && r.no_fork && !live_workers(&r))
			run_here(&r);
		else
			wait_events(&r);
	}
	/* interrupted: what ended is still replayed, in order; tasks left
	 * out (and results still hanging on them) are not */
	for (size_t i = r.head; i < fr->ntasks; i++)
		if (r.t[i].state == T_ENDED && spec_ended(&r, &r.t[i]))
			finish(&r, i);
	stop_workers(&r);
	for (size_t i = 0; i < fr->ntasks; i++) {
		reset(&r.t[i]);
		free(r.t[i].deps);
		free(r.t[i].spec);
	}
	free(r.t);
	return r.finished;
}
