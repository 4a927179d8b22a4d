/*
 * A small less(1): the browser shows a file's data from the layer that
 * really holds it (a metacopy file's lower data), so that "where does this
 * content come from" can be answered by looking. Read-only; the file is
 * read once, at most PAGER_MAX bytes, so a huge or endless file (a FIFO
 * is never opened: the caller only opens regular files) cannot hang it.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/util.h"
#include "pager.h"

struct text {
	char *buf;		/* the escaped text, lines split by '\0' */
	size_t len;
	size_t *line;		/* offsets of line starts */
	size_t nlines;
	bool cut;		/* the file is longer than PAGER_MAX */
};

static int add_line(struct text *t, size_t off, size_t *cap)
{
	if (t->nlines == *cap) {
		size_t n = *cap ? *cap * 2 : 256;
		size_t *p = realloc(t->line, n * sizeof(*p));
		if (!p)
			return -1;
		t->line = p;
		*cap = n;
	}
	t->line[t->nlines++] = off;
	return 0;
}

/* Escape raw bytes so that no control byte reaches the terminal. */
static int escape(struct text *t, const unsigned char *raw, size_t n)
{
	size_t cap = 0;

	t->buf = malloc(n * 4 + 1);
	if (!t->buf || add_line(t, 0, &cap) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = raw[i];
		if (c == '\n') {
			t->buf[t->len++] = '\0';
			if (i + 1 < n && add_line(t, t->len, &cap) < 0)
				return -1;
		} else if (c == '\t') {
			t->buf[t->len++] = ' ';
		} else if (c < 32 || c == 127 || (c > 127 && !ovl_escape_utf8)) {
			t->len += (size_t)sprintf(t->buf + t->len, "\\x%02x", c);
		} else {
			t->buf[t->len++] = (char)c;	/* UTF-8 passes through when drawable */
		}
	}
	t->buf[t->len] = '\0';
	return 0;
}

static int load_text(int fd, struct text *t)
{
	unsigned char *raw = malloc(PAGER_MAX + 1);
	size_t n = 0;

	if (!raw)
		return -1;
	while (n <= PAGER_MAX) {
		ssize_t r = read(fd, raw + n, PAGER_MAX + 1 - n);
		if (r < 0) {
			free(raw);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	t->cut = n > PAGER_MAX;
	if (t->cut)
		n = PAGER_MAX;
	int rc = escape(t, raw, n);
	free(raw);
	return rc;
}

static void draw(const struct text *t, size_t top, const char *title)
{
	int h, w;

	getmaxyx(stdscr, h, w);
	erase();
	attron(A_REVERSE);
	mvhline(0, 0, ' ', w);
	mvprintw(0, 0, " %s", title);
	attroff(A_REVERSE);
	for (int y = 1; y < h - 1 && top + (size_t)(y - 1) < t->nlines; y++)
		mvaddnstr(y, 0, t->buf + t->line[top + (size_t)(y - 1)], w);
	attron(A_REVERSE);
	mvhline(h - 1, 0, ' ', w);
	mvprintw(h - 1, 0, " line %zu of %zu%s   j/k PgUp/PgDn g/G move, q back",
		 t->nlines ? top + 1 : 0, t->nlines, t->cut ? " (first 1 MiB)" : "");
	attroff(A_REVERSE);
	refresh();
}

void pager_run(int fd, const char *title)
{
	struct text t = { 0 };
	size_t top = 0;

	if (load_text(fd, &t) < 0) {
		close(fd);
		free(t.buf);
		free(t.line);
		return;
	}
	close(fd);
	for (;;) {
		int h, w;
		getmaxyx(stdscr, h, w);
		(void)w;
		size_t page = h > 3 ? (size_t)h - 2 : 1;
		size_t last = t.nlines > page ? t.nlines - page : 0;
		draw(&t, top, title);
		int k = getch();
		if (k == 'q' || k == 27 || k == KEY_LEFT || k == 'h')
			break;
		if ((k == 'j' || k == KEY_DOWN || k == '\n') && top < last)
			top++;
		else if ((k == 'k' || k == KEY_UP) && top)
			top--;
		else if (k == KEY_NPAGE || k == ' ')
			top = top + page < last ? top + page : last;
		else if (k == KEY_PPAGE || k == 'b')
			top = top > page ? top - page : 0;
		else if (k == 'g' || k == KEY_HOME)
			top = 0;
		else if (k == 'G' || k == KEY_END)
			top = last;
	}
	free(t.buf);
	free(t.line);
}
