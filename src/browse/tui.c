/*
 * The screen: one list of the current dir's merged entries, a details
 * pane, a status line. The model comes from the library (mview); this
 * file only draws and reads keys.
 */
#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/edit.h"
#include "overlay/fh.h"
#include "overlay/mview.h"
#include "overlay/pscan.h"
#include "overlay/util.h"
#include "filter.h"
#include "pager.h"
#include "row.h"
#include "tui.h"

#define DETAILS_H 13	/* the rule and up to twelve lines */

struct view {
	struct ovl_stack *s;
	char path[4096];
	struct ovl_mdir dir;
	size_t sel, top;
	bool hidden;		/* '.': show hidden names: deleted, under an opaque dir */
	bool details;		/* 'i': the details pane */
	bool help;		/* '?' */
	bool changed;		/* 'd': only what the upper layer changes */
	int sort;		/* 's': 0 name, 1 size, 2 layer */
	char search[256];	/* '/': the last search */
	struct filter filter;	/* 'F' */
	struct ovl_pscan check;	/* the background check */
	bool checking;		/* it could be started */
	bool plist;		/* 'p': the problems list instead of the dir */
	size_t psel, ptop;
	bool color;
	bool write;		/* --write: c and f may change the layers */
	char msg[4400];
};

static const char *const sort_names[] = { "name", "size", "layer" };

static int cmp_size(const void *a, const void *b)
{
	const struct ovl_mentry *x = a, *y = b;
	return x->st.st_size < y->st.st_size ? 1 : x->st.st_size > y->st.st_size ? -1 :
	       strcmp(x->name, y->name);
}

static int cmp_layer(const void *a, const void *b)
{
	const struct ovl_mentry *x = a, *y = b;
	return x->layer != y->layer ? x->layer - y->layer : strcmp(x->name, y->name);
}

/* The merged path of entry `name` of the current dir. */
static void entry_path(const struct view *v, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s", v->path, strcmp(v->path, "/") ? "/" : "", name);
}

/* 'd' keeps what the upper layer adds, changes or deletes; 'F' what matches. */
static void keep_shown(struct view *v)
{
	struct ovl_mdir *d = &v->dir;
	size_t k = 0;
	char path[4400];

	for (size_t i = 0; i < d->n; i++) {
		bool keep = !v->changed || d->e[i].layer == 0;
		if (keep && v->filter.on) {
			entry_path(v, d->e[i].name, path, sizeof(path));
			keep = filter_match(&v->filter, d->e[i].name, path, &d->e[i].st);
		}
		if (keep) {
			d->e[k++] = d->e[i];
		} else {
			free(d->e[i].name);
			free(d->e[i].redirect);
		}
	}
	d->n = k;
}

static void load(struct view *v)
{
	ovl_mdir_free(&v->dir);
	if (ovl_mview_list(v->s, v->path, v->hidden || v->changed, &v->dir) < 0)
		snprintf(v->msg, sizeof(v->msg), "%s: %s", v->path, strerror(errno));
	if (v->changed || v->filter.on)
		keep_shown(v);
	if (v->sort && v->dir.n)
		qsort(v->dir.e, v->dir.n, sizeof(*v->dir.e), v->sort == 1 ? cmp_size : cmp_layer);
	if (v->sel >= v->dir.n)
		v->sel = v->dir.n ? v->dir.n - 1 : 0;
}

/* 1536 -> "1.5 KiB", as du -h and ncdu show sizes */
static void human(unsigned long long n, char *out, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)n;
	size_t u = 0;

	while (d >= 1024 && u + 1 < OVL_ARRAY_SIZE(unit)) {
		d /= 1024;
		u++;
	}
	if (u)
		snprintf(out, size, "%.1f %s", d, unit[u]);
	else
		snprintf(out, size, "%llu B", n);
}

static size_t entry_problems(const struct view *v, const struct ovl_mentry *e)
{
	char p[4400];

	if (!v->checking)
		return 0;
	entry_path(v, e->name, p, sizeof(p));
	return ovl_pscan_count(&v->check, p);
}

/* "CODE layer:/path: message: detail", escaped for the screen */
static void problem_line(const struct ovl_pitem *it, char *out, size_t size)
{
	const struct ovl_problem_def *d = ovl_problem_def(it->code);
	char path[1024], detail[512] = "";

	ovl_escape(it->path, strlen(it->path), path, sizeof(path));
	if (it->detail)
		ovl_escape(it->detail, strlen(it->detail), detail, sizeof(detail));
	bool fixable = d->fix[0] && !(d->flags & PF_NOFIX);
	snprintf(out, size, "%s %s:%s: %s%s%s%s%s%s", d->name, it->layer, path, d->message,
		 it->detail ? ": " : "", detail, fixable ? "  [fix: " : "",
		 fixable ? d->fix : "", fixable ? "]" : "");
}

static const char *check_state(const struct view *v, char *buf, size_t size)
{
	if (!v->checking)
		return "not checked";
	if (!v->check.done)
		snprintf(buf, size, "checking, %zu problem%s so far", v->check.n,
			 v->check.n == 1 ? "" : "s");
	else if (v->check.status)
		snprintf(buf, size, "check failed (%d), %zu problem%s", v->check.status,
			 v->check.n, v->check.n == 1 ? "" : "s");
	else if (v->check.n)
		snprintf(buf, size, "%zu problem%s: p lists them", v->check.n,
			 v->check.n == 1 ? "" : "s");
	else
		snprintf(buf, size, "checked: no problems");
	return buf;
}

static void draw_problems(struct view *v)
{
	int h, w;
	char line[2048], st[128];

	getmaxyx(stdscr, h, w);
	erase();
	attron(A_REVERSE);
	mvhline(0, 0, ' ', w);
	snprintf(line, sizeof(line), " problems  (%s)", check_state(v, st, sizeof(st)));
	mvaddnstr(0, 0, line, w);
	attroff(A_REVERSE);
	int list_h = h > 2 ? h - 2 : 1;
	if (v->psel < v->ptop)
		v->ptop = v->psel;
	if (v->psel >= v->ptop + (size_t)list_h)
		v->ptop = v->psel - (size_t)list_h + 1;
	for (int i = 0; i < list_h && v->ptop + (size_t)i < v->check.n; i++) {
		bool cur = v->ptop + (size_t)i == v->psel;
		problem_line(&v->check.item[v->ptop + (size_t)i], line, sizeof(line));
		if (cur)
			attron(A_REVERSE);
		mvaddnstr(1 + i, 0, line, w);
		if (cur) {
			for (int x = (int)strlen(line); x < w; x++)
				mvaddch(1 + i, x, ' ');
			attroff(A_REVERSE);
		}
	}
	attron(A_REVERSE);
	mvhline(h - 1, 0, ' ', w);
	mvaddnstr(h - 1, 0, v->msg[0] ? v->msg : " Enter go to the entry  f fix it  j/k move  p, q back", w);
	attroff(A_REVERSE);
	refresh();
}

static void draw_help(void)
{
	static const char *const lines[] = {
		"overlay-browse keys",
		"",
		"  Up/Down, j/k      move          PgUp/PgDn   a page",
		"  Home/End, g/G     first / last",
		"  Enter, Right, l   open a dir    Left, Backspace, h   up",
		"  .                 show / hide hidden names (deleted, under an opaque dir)",
		"  i                 details of the selected entry",
		"  v                 view a file's data (from the layer that holds it)",
		"  p                 the problems the background check found; Enter goes there",
		"  c                 copy up the data of a metacopy file     (--write only)",
		"  f                 fix the selected problem, journalled    (--write only)",
		"  /                 search names (Enter ends)   n/N  next / previous match",
		"  s                 sort by name, size, layer",
		"  d                 only what the upper layer changes",
		"  F                 filter: a name glob (a path glob with /), >SIZE, <SIZE",
		"  S                 upper data and shadowed lower data under a dir",
		"  ?                 this help     q  quit     r  check the whole stack again",
		"",
		"Columns: name, type, size, owner, mode, the layer it comes from,",
		"and its overlay marks (metacopy with the layer of its data,",
		"redirect, origin, opaque, merged, impure, hardlink, deleted, under-opaque);",
		"\"!N\" (red) counts the problems found at an entry.",
		"",
		"Any key returns.",
	};
	erase();
	for (size_t i = 0; i < OVL_ARRAY_SIZE(lines); i++)
		mvaddstr((int)i + 1, 2, lines[i]);
	refresh();
}

static void draw_details(struct view *v, int y0, int h, int w)
{
	const struct ovl_mentry *e = &v->dir.e[v->sel];
	char name[1024], flags[256], line[1200];
	int y = y0;

	mvhline(y++, 0, ACS_HLINE, w);
	ovl_escape(e->name, strlen(e->name), name, sizeof(name));
	row_flags(v->s, e, flags, sizeof(flags));
#define LINE(...) do { if (y < y0 + h) { snprintf(line, sizeof(line), __VA_ARGS__); \
			mvaddnstr(y++, 1, line, w - 2); } } while (0)
	LINE("name:     %s", name);
	LINE("from:     %s (%s)", e->layer >= 0 ? v->s->layers[e->layer].name : "-",
	     e->layer >= 0 && v->s->layers[e->layer].path ? v->s->layers[e->layer].path : "");
	LINE("inode:    %llu, %lu link(s), %lld bytes, %lld blocks",
	     (unsigned long long)e->st.st_ino, (unsigned long)e->st.st_nlink,
	     (long long)e->st.st_size, (long long)e->st.st_blocks);
	LINE("marks:    %s", flags[0] ? flags : "none");
	struct ovl_mwhere wh;
	bool have_wh = !e->hidden && ovl_mview_where(v->s, v->path, e->name, &wh) == 0;
	if (e->redirect) {
		ovl_escape(e->redirect, strlen(e->redirect), name, sizeof(name));
		char to[64] = "";
		if (have_wh && wh.redirect_layer > 0)
			snprintf(to, sizeof(to), "  (leads to %s)", v->s->layers[wh.redirect_layer].name);
		else if (have_wh && wh.redirect_layer < 0)
			snprintf(to, sizeof(to), "  (leads nowhere)");
		LINE("redirect: %s%s", name, to);
	}
	if (e->flags & OVL_ME_METACOPY)
		LINE("data:     %s", e->data_layer > 0 ? v->s->layers[e->data_layer].name
						  : "missing (the kernel returns EIO)");
	if (have_wh) {
		static const struct { char k; const char *word; } kinds[] = {
			{ 'f', "file" }, { 'd', "dir" }, { 'l', "symlink" },
			{ 'w', "whiteout" }, { 'o', "special" },
		};
		char in[600] = "";
		size_t len = 0;
		for (int l = 0; l < wh.nlayers && len + 40 < sizeof(in); l++)
			for (size_t k = 0; k < OVL_ARRAY_SIZE(kinds); k++)
				if (wh.kind[l] == kinds[k].k)
					len += (size_t)snprintf(in + len, sizeof(in) - len, "%s%s (%s)",
								len ? ", " : "", v->s->layers[l].name,
								kinds[k].word);
		LINE("in:       %s", in);
		if (wh.index_name[0])
			LINE("index:    W/index/%s (copied up through another link)", wh.index_name);
		switch (wh.origin) {
		case OVL_WO_NONE:
			break;
		case OVL_WO_BAD:
			LINE("origin:   unreadable: %s", ovl_fh_strerror(wh.origin_err));
			break;
		case OVL_WO_SAME:
			LINE("origin:   the %s inode at this name; fid type %#x, %zu bytes; uuid %s",
			     v->s->layers[wh.origin_layer].name, wh.origin_fid_type,
			     wh.origin_fid_len, wh.uuid);
			break;
		case OVL_WO_OTHER:
			if (wh.origin_path[0]) {
				ovl_escape(wh.origin_path, strlen(wh.origin_path), name, sizeof(name));
				LINE("origin:   %s:%s (not at this name); fid type %#x; uuid %s",
				     v->s->layers[wh.origin_layer].name, name, wh.origin_fid_type,
				     wh.uuid);
			} else if (wh.origin_alive) {
				LINE("origin:   an inode of %s's filesystem outside every lower "
				     "layer; fid type %#x; uuid %s",
				     v->s->layers[wh.origin_layer].name, wh.origin_fid_type, wh.uuid);
			} else {
				LINE("origin:   gone: no inode of %s's filesystem has it (stale); "
				     "fid type %#x; uuid %s", v->s->layers[wh.origin_layer].name,
				     wh.origin_fid_type, wh.uuid);
			}
			break;
		case OVL_WO_NO_LAYER:
			LINE("origin:   no layer has its filesystem (uuid %s)", wh.uuid);
			break;
		case OVL_WO_UNCHECKED:
			LINE("origin:   on the filesystem of %s, which gives no handles to compare "
			     "(uuid %s)", v->s->layers[wh.origin_layer].name, wh.uuid);
			break;
		}
	}
	if (have_wh && wh.has_metacopy) {
		const struct ovl_metacopy *mc = &wh.metacopy;
		char hex[2 * OVL_METACOPY_DIGEST_MAX + 1] = "";
		if (wh.metacopy_err)
			LINE("metacopy: unreadable: %s", ovl_metacopy_strerror(wh.metacopy_err));
		else if (mc->empty)
			LINE("metacopy: empty (no header, no digest)");
		else {
			ovl_hex_encode(mc->digest, mc->digest_len, hex);
			LINE("metacopy: version %u, flags %#x, %s%s", mc->version, mc->flags,
			     mc->digest_len ? (mc->digest_algo == OVL_VERITY_ALG_SHA256 ? "sha256:"
						: "sha512:") : "no digest", hex);
		}
	}
	if (have_wh && wh.nlink[0])
		LINE("nlink:    %s%s", wh.nlink, wh.nlink_ok ? "" : " (invalid: the kernel ignores it)");
	char path[4400];
	entry_path(v, e->name, path, sizeof(path));
	for (size_t i = 0; v->checking && i < v->check.n; i++) {
		const struct ovl_pitem *it = &v->check.item[i];
		if (!ovl_pitem_at(it, path))
			continue;
		char pline[1000];
		problem_line(it, pline, sizeof(pline));
		LINE("problem:  %s", pline);
	}
#undef LINE
}

static void draw(struct view *v)
{
	int h, w;

	getmaxyx(stdscr, h, w);
	erase();
	if (v->help) {
		draw_help();
		return;
	}
	char title[4700];
	if (v->plist) {
		draw_problems(v);
		return;
	}
	char st[128];
	snprintf(title, sizeof(title), " %s  (%zu entries%s%s%s%s, by %s)  [%s]", v->path, v->dir.n,
		 v->hidden ? ", hidden names shown" : "", v->changed ? ", changed only" : "",
		 v->filter.on ? ", filter " : "", v->filter.text,
		 sort_names[v->sort], check_state(v, st, sizeof(st)));
	attron(A_REVERSE);
	mvhline(0, 0, ' ', w);
	mvaddnstr(0, 0, title, w);
	attroff(A_REVERSE);

	int list_h = h - 2 - (v->details ? DETAILS_H : 0);
	if (list_h < 1)
		list_h = 1;
	if (v->sel < v->top)
		v->top = v->sel;
	if (v->sel >= v->top + (size_t)list_h)
		v->top = v->sel - (size_t)list_h + 1;
	char line[2048];
	for (int i = 0; i < list_h && v->top + (size_t)i < v->dir.n; i++) {
		const struct ovl_mentry *e = &v->dir.e[v->top + (size_t)i];
		row_format(v->s, e, line, sizeof(line), w > 100 ? 32 : w > 80 ? 20 : 12);
		size_t np = entry_problems(v, e);
		if (np) {
			size_t len = strlen(line);
			snprintf(line + len, sizeof(line) - len, " !%zu", np);
		}
		bool cur = v->top + (size_t)i == v->sel;
		int attr = (cur ? A_REVERSE : 0) | (e->hidden ? A_DIM : 0) |
			   ((e->flags & OVL_ME_METACOPY) && e->data_layer <= 0 ? A_BOLD : 0) |
			   (np && v->color ? COLOR_PAIR(1) : 0);
		attron(attr);
		mvaddnstr(1 + i, 0, line, w);
		if (cur)
			for (int x = (int)strlen(line); x < w; x++)
				mvaddch(1 + i, x, ' ');
		attroff(attr);
	}
	if (v->details && v->dir.n)
		draw_details(v, 1 + list_h, DETAILS_H, w);
	attron(A_REVERSE);
	mvhline(h - 1, 0, ' ', w);
	mvaddnstr(h - 1, 0, v->msg[0] ? v->msg :
		  " q quit  ? help  Enter open  h up  / search  s sort  d changed  . deleted  i details  v view  p problems",
		  w);
	attroff(A_REVERSE);
	refresh();
}

/* The next entry from `from` (exclusive) whose name holds the search. */
static void find_next(struct view *v, int dir)
{
	if (!v->search[0] || !v->dir.n)
		return;
	for (size_t k = 1; k <= v->dir.n; k++) {
		size_t i = (v->sel + (dir > 0 ? k : v->dir.n - k)) % v->dir.n;
		if (strstr(v->dir.e[i].name, v->search)) {
			v->sel = i;
			return;
		}
	}
	snprintf(v->msg, sizeof(v->msg), " no name holds \"%s\"", v->search);
}

/* Read a line in the status line after `prompt`; false on Esc. */
static bool read_line(const char *prompt, char *buf, size_t size)
{
	int h, w;
	size_t n = 0;

	getmaxyx(stdscr, h, w);
	buf[0] = '\0';
	timeout(-1);
	for (;;) {
		attron(A_REVERSE);
		mvhline(h - 1, 0, ' ', w);
		mvprintw(h - 1, 0, "%s%s", prompt, buf);
		attroff(A_REVERSE);
		refresh();
		int k = getch();
		if (k == '\n' || k == KEY_ENTER)
			return true;
		if (k == 27) {
			buf[0] = '\0';
			return false;
		}
		if ((k == KEY_BACKSPACE || k == 127 || k == 8) && n)
			buf[--n] = '\0';
		else if (k >= 32 && k < 256 && n + 1 < size) {
			buf[n++] = (char)k;
			buf[n] = '\0';
		}
	}
}

/* '/': read a search in the status line, then jump to the first match. */
static void search(struct view *v)
{
	if (!read_line("/", v->search, sizeof(v->search)))
		return;
	size_t keep = v->sel;
	v->sel = v->dir.n ? v->dir.n - 1 : 0;	/* so that the first entry is tried first */
	find_next(v, 1);
	if (v->msg[0])
		v->sel = keep;
}

static void go_up(struct view *v)
{
	char *slash = strrchr(v->path, '/');
	char child[256];

	if (!slash || !strcmp(v->path, "/"))
		return;
	snprintf(child, sizeof(child), "%s", slash + 1);
	if (slash == v->path)
		slash[1] = '\0';
	else
		*slash = '\0';
	v->sel = v->top = 0;
	load(v);
	for (size_t i = 0; i < v->dir.n; i++)	/* keep the cursor on where we were */
		if (!strcmp(v->dir.e[i].name, child))
			v->sel = i;
}

static void go_into(struct view *v)
{
	if (!v->dir.n)
		return;
	const struct ovl_mentry *e = &v->dir.e[v->sel];
	if (!S_ISDIR(e->st.st_mode) || e->hidden)
		return;
	size_t len = strlen(v->path);
	if (len + strlen(e->name) + 2 >= sizeof(v->path))
		return;
	if (len > 1)
		strcat(v->path, "/");
	strcat(v->path, e->name);
	v->sel = v->top = 0;
	load(v);
}

/* 'v': page through the selected file's data, wherever the view takes it from. */
static void view_data(struct view *v)
{
	if (!v->dir.n)
		return;
	const struct ovl_mentry *e = &v->dir.e[v->sel];
	if (!S_ISREG(e->st.st_mode) || e->hidden) {
		snprintf(v->msg, sizeof(v->msg), " v shows regular files only");
		return;
	}
	int fd = ovl_mview_open_data(v->s, v->path, e->name);
	if (fd < 0) {
		snprintf(v->msg, sizeof(v->msg), " cannot read %s: %s%s", e->name, strerror(errno),
			 errno == EIO ? " (its lower data is missing)" : "");
		return;
	}
	int from = e->flags & OVL_ME_METACOPY ? e->data_layer : e->layer;
	char name[1024], title[5300];
	ovl_escape(e->name, strlen(e->name), name, sizeof(name));
	snprintf(title, sizeof(title), "%s%s%s  (data from %s)", v->path,
		 strcmp(v->path, "/") ? "/" : "", name,
		 from >= 0 ? v->s->layers[from].name : "?");
	pager_run(fd, title);
}

/* Enter in the problems list: the entry the problem is about. */
static void go_to_problem(struct view *v)
{
	if (v->psel >= v->check.n)
		return;
	const struct ovl_pitem *it = &v->check.item[v->psel];
	if (!ovl_pitem_in_view(it)) {
		snprintf(v->msg, sizeof(v->msg), " %s is not in the merged view", it->layer);
		return;
	}
	char dir[4096], name[256] = "";
	snprintf(dir, sizeof(dir), "%s", it->path);
	char *slash = strrchr(dir, '/');
	if (slash && slash[1]) {
		snprintf(name, sizeof(name), "%s", slash + 1);
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	char keep[4096];
	snprintf(keep, sizeof(keep), "%s", v->path);
	snprintf(v->path, sizeof(v->path), "%s", dir[0] ? dir : "/");
	v->hidden = true;	/* a problem may sit on a name the view hides */
	v->changed = false;
	v->sel = v->top = 0;
	load(v);
	if (v->msg[0]) {	/* that dir is not in the merged view */
		snprintf(v->path, sizeof(v->path), "%s", keep);
		char why[4400];
		snprintf(why, sizeof(why), "%s", v->msg);
		load(v);
		snprintf(v->msg, sizeof(v->msg), " cannot go there: %.4300s", why);
	}
	for (size_t i = 0; i < v->dir.n; i++)
		if (!strcmp(v->dir.e[i].name, name))
			v->sel = i;
	v->plist = false;
}

/* The links of a background check that ended well: an edit then checks
 * only what it touches. */
static struct ovl_links *links_of(struct view *v)
{
	return v->checking && v->check.done && !v->check.status ? v->check.links : NULL;
}

/* The whole stack checked again in the background (at the start, 'r'). */
static void check_all(struct view *v)
{
	if (v->checking)
		ovl_pscan_free(&v->check);
	v->checking = ovl_pscan_start(&v->check, v->s) == 0;
	v->psel = v->ptop = 0;
	if (!v->checking)
		snprintf(v->msg, sizeof(v->msg), " no background check: %s", strerror(errno));
}

/* After a change: its message, the dir, and the problems at what it
 * touched (a scoped check's), or all of them again from a new background
 * check. */
static void after_edit(struct view *v, struct ovl_edit_result *res)
{
	snprintf(v->msg, sizeof(v->msg), " %s", res->msg);
	if (res->scope) {
		size_t len = strlen(v->msg), n = ovl_scope_count(res->scope);
		snprintf(v->msg + len, sizeof(v->msg) - len, " (re-checked %zu place%s)", n,
			 n == 1 ? "" : "s");
	}
	load(v);
	if (res->scope) {
		ovl_pscan_replace(&v->check, res->scope, res->item, res->n);
		res->item = NULL;
		res->n = 0;
		if (v->psel >= v->check.n)
			v->psel = v->check.n ? v->check.n - 1 : 0;
	} else {
		check_all(v);
	}
	ovl_edit_result_free(res);
}

static bool may_write(struct view *v)
{
	if (!v->write)
		snprintf(v->msg, sizeof(v->msg),
			 " read-only: start overlay-browse with --write to copy up or fix");
	return v->write;
}

static void busy(const char *what)
{
	int h, w;

	getmaxyx(stdscr, h, w);
	attron(A_REVERSE);
	mvhline(h - 1, 0, ' ', w);
	mvaddnstr(h - 1, 0, what, w);
	attroff(A_REVERSE);
	refresh();
}

/* 'c': copy up the data of the selected metacopy file. */
static void copy_up(struct view *v)
{
	if (!may_write(v) || !v->dir.n)
		return;
	const struct ovl_mentry *e = &v->dir.e[v->sel];
	if (!(e->flags & OVL_ME_METACOPY) || e->hidden) {
		snprintf(v->msg, sizeof(v->msg), " c copies up metacopy files only");
		return;
	}
	char path[4400], name[256];
	struct ovl_edit_result res;
	entry_path(v, e->name, path, sizeof(path));
	snprintf(name, sizeof(name), "%s", e->name);
	busy(" copying up ...");
	ovl_edit_copy_up(v->s, links_of(v), path, &res);
	after_edit(v, &res);
	for (size_t i = 0; i < v->dir.n; i++)
		if (!strcmp(v->dir.e[i].name, name))
			v->sel = i;
}

/* 'f': apply the fix of the selected problem (the first of the entry). */
static void fix(struct view *v)
{
	const struct ovl_pitem *it = NULL;

	if (!may_write(v))
		return;
	if (v->plist) {
		if (v->psel < v->check.n)
			it = &v->check.item[v->psel];
	} else if (v->dir.n && v->checking) {
		char path[4400];
		entry_path(v, v->dir.e[v->sel].name, path, sizeof(path));
		for (size_t i = 0; i < v->check.n && !it; i++)
			if (ovl_pitem_at(&v->check.item[i], path))
				it = &v->check.item[i];
	}
	if (!it) {
		snprintf(v->msg, sizeof(v->msg), " no problem here to fix");
		return;
	}
	if (!v->check.done) {
		snprintf(v->msg, sizeof(v->msg), " wait for the check to end");
		return;
	}
	enum ovl_problem_code code = it->code;
	char layer[32], path[4096];
	struct ovl_edit_result res;
	snprintf(layer, sizeof(layer), "%s", it->layer);
	snprintf(path, sizeof(path), "%s", it->path);
	busy(" fixing ...");
	ovl_edit_fix(v->s, links_of(v), code, layer, path, &res);
	after_edit(v, &res);
}

/* 'S': what the upper holds and hides under the selected dir (or here). */
static void measure(struct view *v)
{
	char path[4400];
	struct ovl_mcost c;

	if (v->dir.n && S_ISDIR(v->dir.e[v->sel].st.st_mode) && !v->dir.e[v->sel].hidden)
		entry_path(v, v->dir.e[v->sel].name, path, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s", v->path);
	busy(" measuring ...");
	if (ovl_mview_cost(v->s, path, &c) < 0) {
		snprintf(v->msg, sizeof(v->msg), " %.4000s: %s", path, strerror(errno));
		return;
	}
	char up[32], sh[32];
	human(c.upper_bytes, up, sizeof(up));
	human(c.shadowed_bytes, sh, sizeof(sh));
	snprintf(v->msg, sizeof(v->msg),
		 " %.4000s: upper data %s in %llu files, shadowed lower data %s in %llu files",
		 path, up, c.upper_files, sh, c.shadowed_files);
}

/* Keys of the problems list; false when the key is not one of them. */
static bool problems_key(struct view *v, int k, size_t page)
{
	switch (k) {
	case 'q': case 'p': case 27: case KEY_LEFT: case 'h':
		v->plist = false;
		return true;
	case KEY_UP: case 'k':
		if (v->psel)
			v->psel--;
		return true;
	case KEY_DOWN: case 'j':
		if (v->psel + 1 < v->check.n)
			v->psel++;
		return true;
	case KEY_PPAGE:
		v->psel = v->psel > page ? v->psel - page : 0;
		return true;
	case KEY_NPAGE:
		v->psel = v->check.n ? (v->psel + page < v->check.n ? v->psel + page : v->check.n - 1) : 0;
		return true;
	case '\n': case KEY_ENTER: case KEY_RIGHT: case 'l':
		go_to_problem(v);
		return true;
	case 'f':
		fix(v);
		return true;
	case 'r':
		check_all(v);
		return true;
	}
	return false;
}

/* 'F': read and apply a filter; an empty one shows everything again. */
static void ask_filter(struct view *v)
{
	char text[256], err[128];
	struct filter f;

	if (!read_line("filter (glob, >SIZE, <SIZE; empty: all): ", text, sizeof(text)))
		return;
	if (filter_parse(text, &f, err, sizeof(err)) < 0) {
		snprintf(v->msg, sizeof(v->msg), " filter: %s", err);
		return;
	}
	v->filter = f;
	v->sel = v->top = 0;
	load(v);
}

int tui_run(struct ovl_stack *s, bool write)
{
	struct view v = { .s = s, .path = "/", .write = write };
	int h, w;

	setlocale(LC_ALL, "");
	/* ncursesw draws UTF-8 as blanks in another locale: escape it then */
	ovl_escape_utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	if (!newterm(NULL, stdout, stdin)) {
		fputs("overlay-browse: no terminal for the browser; use --diff, --json or --ls\n",
		      stderr);
		return 8;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (has_colors() && start_color() == OK) {
		use_default_colors();
		init_pair(1, COLOR_RED, -1);
		v.color = true;
	}
	load(&v);
	check_all(&v);
	for (;;) {
		if (v.checking && !v.check.done)
			timeout(200);	/* redraw as problems come in */
		else
			timeout(-1);
		draw(&v);
		int k = getch();
		if (k == ERR) {
			if (v.checking)
				ovl_pscan_poll(&v.check);
			continue;
		}
		if (v.checking)
			ovl_pscan_poll(&v.check);
		getmaxyx(stdscr, h, w);
		(void)w;
		size_t page = h > 4 ? (size_t)h - 4 : 1;
		v.msg[0] = '\0';
		if (v.help) {
			v.help = false;
			continue;
		}
		if (v.plist && (problems_key(&v, k, page) || (k != '?' && k != KEY_RESIZE)))
			continue;
		switch (k) {
		case 'q':
			ovl_mdir_free(&v.dir);
			if (v.checking)
				ovl_pscan_free(&v.check);
			endwin();
			return 0;
		case 'p':
			v.plist = true;
			break;
		case 'F':
			ask_filter(&v);
			break;
		case 'c':
			copy_up(&v);
			break;
		case 'S':
			measure(&v);
			break;
		case 'r':
			load(&v);
			check_all(&v);
			break;
		case 'f':
			fix(&v);
			break;
		case KEY_UP: case 'k':
			if (v.sel)
				v.sel--;
			break;
		case KEY_DOWN: case 'j':
			if (v.sel + 1 < v.dir.n)
				v.sel++;
			break;
		case KEY_PPAGE:
			v.sel = v.sel > page ? v.sel - page : 0;
			break;
		case KEY_NPAGE:
			v.sel = v.dir.n ? (v.sel + page < v.dir.n ? v.sel + page : v.dir.n - 1) : 0;
			break;
		case KEY_HOME: case 'g':
			v.sel = 0;
			break;
		case KEY_END: case 'G':
			v.sel = v.dir.n ? v.dir.n - 1 : 0;
			break;
		case '\n': case KEY_ENTER: case KEY_RIGHT: case 'l':
			go_into(&v);
			break;
		case KEY_LEFT: case KEY_BACKSPACE: case 127: case 'h':
			go_up(&v);
			break;
		case '.':
			v.hidden = !v.hidden;
			load(&v);
			break;
		case 'i':
			v.details = !v.details;
			break;
		case 'v':
			view_data(&v);
			break;
		case '?':
			v.help = true;
			break;
		case '/':
			search(&v);
			break;
		case 'n':
			find_next(&v, 1);
			break;
		case 'N':
			find_next(&v, -1);
			break;
		case 's':
			v.sort = (v.sort + 1) % 3;
			load(&v);
			break;
		case 'd':
			v.changed = !v.changed;
			v.sel = v.top = 0;
			load(&v);
			break;
		case KEY_RESIZE:
			break;
		default:
			snprintf(v.msg, sizeof(v.msg), " unknown key: ? lists the keys");
		}
	}
}
