/* Text of a merged-view entry. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "overlay/util.h"
#include "row.h"

static char type_char(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR: return 'd';
	case S_IFLNK: return 'l';
	case S_IFCHR: return 'c';
	case S_IFBLK: return 'b';
	case S_IFIFO: return 'p';
	case S_IFSOCK: return 's';
	}
	return '-';
}

void row_flags(const struct ovl_stack *s, const struct ovl_mentry *e, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
#define ADD(...) do { if (n < size) n += (size_t)snprintf(buf + n, size - n, __VA_ARGS__); } while (0)
	if (e->flags & OVL_ME_WHITEOUT)
		ADD("deleted ");
	if (e->flags & OVL_ME_UNDER_OPAQUE)
		ADD("under-opaque ");
	if (e->flags & OVL_ME_METACOPY) {
		if (e->data_layer > 0)
			ADD("metacopy(data:%s) ", s->layers[e->data_layer].name);
		else
			ADD("metacopy(NO DATA) ");
	}
	if (e->flags & OVL_ME_REDIRECT)
		ADD("redirect ");
	/* a renamed entry's origin names another inode by design */
	if (e->flags & OVL_ME_ORIGIN)
		ADD("%s ", e->origin == OVL_WO_BAD ? "origin(BAD)" :
			   e->origin == OVL_WO_NO_LAYER ? "origin(no-layer)" :
			   e->origin == OVL_WO_OTHER && !(e->flags & OVL_ME_REDIRECT) ? "origin(stale)" :
			   "origin");
	if (e->flags & OVL_ME_OPAQUE)
		ADD("opaque ");
	if (e->flags & OVL_ME_MERGED)
		ADD("merged ");
	if (e->flags & OVL_ME_IMPURE)
		ADD("impure ");
	if (e->flags & OVL_ME_INDEXED)
		ADD("indexed ");
	if (e->flags & OVL_ME_HARDLINK)
		ADD("hardlink ");
#undef ADD
	if (n && n <= size && buf[n - 1] == ' ')
		buf[n - 1] = '\0';
}

void row_format(const struct ovl_stack *s, const struct ovl_mentry *e, char *buf, size_t size,
		int namewidth)
{
	char name[1024], flags[256];

	ovl_escape(e->name, strlen(e->name), name, sizeof(name));
	row_flags(s, e, flags, sizeof(flags));
	snprintf(buf, size, "%-*s %c %10lld %5u:%-5u %04o %-7s %s", namewidth, name,
		 type_char(e->st.st_mode), (long long)e->st.st_size, (unsigned)e->st.st_uid,
		 (unsigned)e->st.st_gid, (unsigned)(e->st.st_mode & 07777),
		 e->layer >= 0 ? s->layers[e->layer].name : "-", flags);
}
