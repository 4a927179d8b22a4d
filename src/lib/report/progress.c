/*
 * Progress lines and bars (see overlay/progress.h). Writes are rate
 * limited so that a 200k-entry walk costs a few hundred writes at most.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "overlay/progress.h"

volatile sig_atomic_t ovl_progress_signal;

#define BAR_WIDTH 30
#define SCREEN_WIDTH 79

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ovl_progress_init(struct ovl_progress *p, int fd, FILE *bar, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd > 0 ? fd : -1;
	p->bar = p->fd < 0 ? bar : NULL;
	p->name = name ? name : "overlay";
	p->last_permille = ~0u;
}

/* Write a whole line to the fd: a reader must never see half of one. */
static void write_line(struct ovl_progress *p, unsigned long long cur, unsigned long long max)
{
	char line[4200];
	int n = snprintf(line, sizeof(line), "%d %llu %llu %s\n", p->pass, cur, max, p->name);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* A reader that went away must not stop the check. */
	if (write(p->fd, line, (size_t)n) < 0)
		p->fd = -1;
	p->last_cur = cur;
	p->last_max = max;
}

/* A SIGUSR1 or SIGUSR2 since the last update. */
static void take_signal(struct ovl_progress *p)
{
	int sig = ovl_progress_signal;

	ovl_progress_signal = 0;
	if (sig == 2) {
		ovl_progress_clear(p);
		p->stopped = true;
	} else if (sig == 1) {
		p->stopped = false;
		if (p->fd < 0 && !p->bar)
			p->bar = stdout;
		p->last_permille = ~0u;
	}
}

void ovl_progress_clear(struct ovl_progress *p)
{
	if (!p || !p->bar || !p->bar_shown)
		return;
	fprintf(p->bar, "\r%*s\r", SCREEN_WIDTH, "");
	fflush(p->bar);
	p->bar_shown = false;
	p->last_permille = ~0u;
}

static void draw_bar(struct ovl_progress *p, unsigned permille, const char *detail)
{
	char bar[BAR_WIDTH + 1];
	unsigned full = permille * BAR_WIDTH / 1000;

	memset(bar, '=', full);
	memset(bar + full, ' ', BAR_WIDTH - full);
	bar[BAR_WIDTH] = '\0';
	int n = fprintf(p->bar, "\rPass %d: %.20s [%s] %3u.%u%%%s%s", p->pass, p->label, bar,
			permille / 10, permille % 10, detail ? " " : "", detail ? detail : "");
	if (n > 0 && n - 1 < SCREEN_WIDTH)	/* wipe what a longer bar left */
		fprintf(p->bar, "%*s", SCREEN_WIDTH - (n - 1), "");
	fflush(p->bar);
	p->bar_shown = true;
	p->last_permille = permille;
}

void ovl_progress_update(struct ovl_progress *p, unsigned long long cur,
			 unsigned long long max, const char *detail)
{
	if (!p || p->pass == 0)
		return;
	if (ovl_progress_signal)
		take_signal(p);
	if (p->stopped)
		return;
	if (cur > max)
		cur = max;
	unsigned permille = max ? (unsigned)(cur * 1000 / max) : 1000;

	if (p->fd >= 0) {
		unsigned last = p->last_max ? (unsigned)(p->last_cur * 1000 / p->last_max) : ~0u;
		if (max != p->last_max || permille != last ||
		    (cur == max && p->last_cur != max))
			write_line(p, cur, max);
		return;
	}
	if (!p->bar || permille == p->last_permille)
		return;
	long long now = now_ms();
	if (p->bar_shown && permille != 1000 && now - p->last_draw_ms < 100)
		return;
	p->last_draw_ms = now;
	draw_bar(p, permille, detail);
}

/* The pass ends: its last line says it is complete. */
static void finish_pass(struct ovl_progress *p)
{
	if (p->pass == 0 || p->stopped)
		return;
	if (p->fd >= 0 && (p->last_max == 0 || p->last_cur != p->last_max))
		write_line(p, p->last_max ? p->last_max : 1000, p->last_max ? p->last_max : 1000);
	ovl_progress_clear(p);
}

void ovl_progress_pass(struct ovl_progress *p, int pass, const char *label)
{
	if (!p)
		return;
	finish_pass(p);
	p->pass = pass;
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->last_cur = p->last_max = 0;
	p->last_permille = ~0u;
	ovl_progress_update(p, 0, 1000, NULL);
}

void ovl_progress_end(struct ovl_progress *p)
{
	if (!p)
		return;
	finish_pass(p);
	p->pass = 0;
}

void ovl_progress_at(struct ovl_progress *p, const struct ovl_progress_share *s)
{
	if (!p || ((p->fd < 0 && !p->bar) && !ovl_progress_signal))
		return;
	double done = s->base * 1000.0;
	unsigned long long cur = done >= 1000.0 ? 1000 : (unsigned long long)done;

	ovl_progress_update(p, cur, 1000, NULL);
}
