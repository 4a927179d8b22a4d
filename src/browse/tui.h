/* The interactive screen of overlay-browse (ncurses). */
#ifndef OVL_BROWSE_TUI_H
#define OVL_BROWSE_TUI_H

#include "overlay/stack.h"

/* Run until q; returns the exit status (0, or 8 when no screen). */
int tui_run(struct ovl_stack *s);

#endif
