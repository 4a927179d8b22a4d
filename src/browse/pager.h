/* 'v': a read-only pager over a file's data, inside the browser's screen. */
#ifndef OVL_BROWSE_PAGER_H
#define OVL_BROWSE_PAGER_H

/*
 * Show what `fd` holds (up to PAGER_MAX bytes; bytes that are not
 * printable are shown as \xNN) under the title `title`, until q.
 * Closes fd.
 */
#define PAGER_MAX (1u << 20)
void pager_run(int fd, const char *title);

#endif
