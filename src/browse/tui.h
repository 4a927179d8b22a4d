/* The interactive screen of overlay-browse (ncurses). */
#ifndef OVL_BROWSE_TUI_H
#define OVL_BROWSE_TUI_H

#include <stdbool.h>

#include "overlay/stack.h"

/* Run until q; returns the exit status (0, or 8 when no screen).
 * With `write`, c copies up and f fixes; else they say it is read-only. */
int tui_run(struct ovl_stack *s, bool write);

#endif
