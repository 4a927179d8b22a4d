/*
 * Progress of a long run, the way e2fsck -C reports it: either lines
 * "PASS CURRENT MAX NAME" written to a file descriptor for a program to
 * read (fsck(8), a boot splash), or a bar redrawn on a terminal. The
 * passes are the ones -v names; each has its own CURRENT/MAX scale.
 * A NULL progress is allowed everywhere and does nothing.
 */
#ifndef OVERLAY_PROGRESS_H
#define OVERLAY_PROGRESS_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

struct ovl_progress {
	int fd;			/* > 0: e2fsck lines on this fd */
	FILE *bar;		/* or a bar on this terminal stream */
	const char *name;	/* the stack's name in the lines */
	int pass;		/* current pass, 0 before the first */
	char label[64];		/* what the current pass checks */
	unsigned long long last_cur, last_max;	/* last line written */
	unsigned last_permille;	/* last bar drawn */
	long long last_draw_ms;
	bool bar_shown;		/* the bar is on the screen now */
	bool stopped;		/* SIGUSR2: no progress until a SIGUSR1 */
};

/*
 * As e2fsck: SIGUSR1 starts the progress (a bar on standard output when
 * nothing else was asked for), SIGUSR2 stops it. The program's handlers
 * set this (1 or 2); the next update acts on it.
 */
extern volatile sig_atomic_t ovl_progress_signal;

/* Nothing shown until ovl_progress_pass(). fd > 0 or bar (not both). */
void ovl_progress_init(struct ovl_progress *p, int fd, FILE *bar, const char *name);

/* A new pass begins: ends the previous one's bar. */
void ovl_progress_pass(struct ovl_progress *p, int pass, const char *label);

/* CUR of MAX done in the current pass. A line is written when the done
 * fraction moved by a tenth of a percent (or MAX changed), a bar at most
 * ten times a second; detail (may be NULL) is added after the bar. */
void ovl_progress_update(struct ovl_progress *p, unsigned long long cur,
			 unsigned long long max, const char *detail);

/* Take the bar off the screen before other output (the next update
 * draws it again). */
void ovl_progress_clear(struct ovl_progress *p);

/* The run ends: the last line at 100%, the bar cleared. */
void ovl_progress_end(struct ovl_progress *p);

/*
 * A walk's done fraction, estimated without counting ahead: each dir
 * splits its parent's share evenly among its entries. Entering entry I
 * of N narrows the share; leaving restores it.
 */
struct ovl_progress_share {
	double base, span;
};

static inline struct ovl_progress_share
ovl_progress_enter(struct ovl_progress_share *s, size_t i, size_t n)
{
	struct ovl_progress_share saved = *s;

	s->span /= (double)n;
	s->base += s->span * (double)i;
	return saved;
}

/* Report the share's base as done, out of 1000 (cheap when unchanged). */
void ovl_progress_at(struct ovl_progress *p, const struct ovl_progress_share *s);

#endif
