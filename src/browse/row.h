/* One line of text for a merged-view entry: shared by the list output
 * and the screen, so both say the same. */
#ifndef OVL_BROWSE_ROW_H
#define OVL_BROWSE_ROW_H

#include <stddef.h>

#include "overlay/mview.h"
#include "overlay/stack.h"

/* "name  type  size  uid:gid  mode  layer  flags" into buf. */
void row_format(const struct ovl_stack *s, const struct ovl_mentry *e, char *buf, size_t size,
		int namewidth);
/* The flags column alone ("metacopy(lower1) redirect origin ..."). */
void row_flags(const struct ovl_stack *s, const struct ovl_mentry *e, char *buf, size_t size);

#endif
