/*
 * The upper layer's changes against the lowers. The check walker visits
 * every upper entry with its merged-view lookup; a hook classifies it.
 * Problems found on the way are not printed here (fsck.overlay says
 * them); a change list of a damaged stack is what the kernel would show.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "overlay/changes.h"
#include "overlay/fsck.h"
#include "overlay/mview.h"
#include "overlay/redirect.h"
#include "overlay/util.h"
#include "check/internal.h"
#include "core/strset.h"
#include "walk/walk.h"

static const char *const kind_names[] = {
	[OVL_CH_ADDED] = "added",
	[OVL_CH_DELETED] = "deleted",
	[OVL_CH_MODIFIED] = "modified",
	[OVL_CH_METADATA] = "metadata",
	[OVL_CH_RENAMED] = "renamed",
	[OVL_CH_OPAQUE] = "opaque",
};

const char *ovl_change_name(enum ovl_change_kind kind)
{
	return (unsigned)kind < OVL_ARRAY_SIZE(kind_names) ? kind_names[kind] : "?";
}

/*
 * The changes are held until the walk ends: a rename leaves a whiteout at
 * the old name, and whether a whiteout is that bookkeeping or a deletion
 * is known only once every redirect of the upper has been seen (the new
 * name may come after the old one, or in another dir).
 */
struct walk_arg {
	struct ovl_change *v;	/* held in walk order; path and from owned */
	size_t n, cap;
	struct ovl_strset *moved_from;	/* the lower paths renamed entries show */
};

static void hold(struct walk_arg *w, const struct ovl_change *ch)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 64;
		w->v = ovl_xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	struct ovl_change *h = &w->v[w->n++];
	*h = *ch;
	char *path = ovl_xmalloc(ch->pathlen + 1);
	memcpy(path, ch->path, ch->pathlen);
	path[ch->pathlen] = '\0';
	h->path = path;
	h->from = ch->from ? ovl_xstrdup(ch->from) : NULL;
	if (ch->from)
		ovl_strset_add(w->moved_from, ch->from, strlen(ch->from));
}

/* An absolute redirect as is; a relative one beside the entry. */
static char *redirect_path(const struct ovl_ctx *c, const struct ovl_node *n, const char *rd)
{
	if (rd[0] == '/')
		return ovl_xstrdup(rd);
	size_t plen = n->parent ? n->parent->pathlen : 1;
	char *p = ovl_xmalloc(plen + strlen(rd) + 2);
	memcpy(p, c->path, plen);
	p[plen] = '\0';
	if (plen > 1)
		strcat(p, "/");
	strcat(p, rd);
	return p;
}

static void hook(struct ovl_ctx *c, struct ovl_node *n, const struct ovl_lookup_res *res)
{
	struct walk_arg *w = c->hook_arg;
	struct ovl_change ch = {
		.path = c->path,
		.pathlen = c->pathlen,
		.type = n->st.st_mode & S_IFMT,
	};
	bool below = res->first == OVL_HIT_DIR || res->first == OVL_HIT_FILE;
	const char *rd = ovl_node_xattr(n, OVL_XA_REDIRECT);
	bool absolute;
	bool rd_ok = rd && ovl_redirect_parse(rd, n->xa.len[OVL_XA_REDIRECT], &absolute) == OVL_RD_OK;
	bool metacopy = S_ISREG(n->st.st_mode) && ovl_xattrs_has(&n->xa, OVL_XA_METACOPY);
	char *from = NULL;

	if (n->whiteout || n->xwhiteout) {
		if (!below)
			return;		/* hides nothing: no change */
		ch.kind = OVL_CH_DELETED;
		ch.type = res->first_st.st_mode & S_IFMT;
	} else if (rd_ok && (S_ISDIR(n->st.st_mode) || metacopy) && res->via_redirect &&
		   (below || res->data_status == OVL_DATA_OK)) {
		ch.kind = OVL_CH_RENAMED;
		from = redirect_path(c, n, rd);
		ch.from = from;
	} else if (S_ISDIR(n->st.st_mode)) {
		if (n->frame && n->frame->opaque == 'y')
			ch.kind = below ? OVL_CH_OPAQUE : OVL_CH_ADDED;
		else if (!below)
			ch.kind = OVL_CH_ADDED;
		else if (res->first == OVL_HIT_FILE)
			ch.kind = OVL_CH_MODIFIED;	/* a dir where a file was */
		else if (n->st.st_mode != res->first_st.st_mode ||
			 n->st.st_uid != res->first_st.st_uid ||
			 n->st.st_gid != res->first_st.st_gid)
			ch.kind = OVL_CH_METADATA;
		else
			return;		/* a merge dir: its content says the rest */
	} else if (metacopy) {
		ch.kind = OVL_CH_METADATA;
	} else {
		ch.kind = below ? OVL_CH_MODIFIED : OVL_CH_ADDED;
	}
	hold(w, &ch);
	free(from);
}

/* A lower hard link the index says was copied up through another name:
 * the kernel shows the copy at this name too. */
static void indexed(const char *path, const struct ovl_mentry *e, void *arg)
{
	struct ovl_change ch = {
		.kind = e->flags & OVL_ME_METACOPY ? OVL_CH_METADATA : OVL_CH_MODIFIED,
		.path = path,
		.pathlen = strlen(path),
		.type = e->st.st_mode & S_IFMT,
	};
	hold(arg, &ch);
}

/* Walk order: parents before children, names in strcmp order; as bytes,
 * with '/' below every byte a name can hold. */
static int cmp_paths(const void *a, const void *b)
{
	const struct ovl_change *x = a, *y = b;
	size_t n = x->pathlen < y->pathlen ? x->pathlen : y->pathlen;

	for (size_t i = 0; i < n; i++) {
		unsigned char p = (unsigned char)x->path[i], q = (unsigned char)y->path[i];
		if (p != q)
			return p == '/' ? -1 : q == '/' ? 1 : p - q;
	}
	return x->pathlen < y->pathlen ? -1 : x->pathlen > y->pathlen;
}

int ovl_changes(struct ovl_stack *s, ovl_change_fn fn, void *arg)
{
	struct ovl_report r;
	struct ovl_fsck_opts o = { .upper_only = true };
	struct ovl_fsck_stats stats;
	struct ovl_ctx c;
	struct walk_arg w = { .moved_from = ovl_strset_new() };
	FILE *null = fopen("/dev/null", "w");

	if (!null || !s->has_upper) {
		if (null)
			fclose(null);
		ovl_strset_free(w.moved_from);
		return s->has_upper ? 8 : 0;
	}
	ovl_report_init(&r, OVL_MODE_NO, null);
	ovl_ctx_init(&c, s, &r, &o, &stats);
	c.hook = hook;
	c.hook_arg = &w;
	ovl_walk_layer(&c, 0);
	ovl_ctx_free(&c);
	fclose(null);
	size_t walked = w.n;
	ovl_mview_indexed(s, indexed, &w);
	if (w.n > walked)
		qsort(w.v, w.n, sizeof(*w.v), cmp_paths);
	for (size_t i = 0; i < w.n; i++) {
		struct ovl_change *ch = &w.v[i];
		/* The lower entry at a renamed entry's old name is shown at the
		 * new one: the whiteout there only keeps it from showing twice. */
		bool rename_bookkeeping = ch->kind == OVL_CH_DELETED &&
			ovl_strset_has(w.moved_from, ch->path, ch->pathlen);
		if (!rename_bookkeeping)
			fn(ch, arg);
		free((char *)ch->path);
		free((char *)ch->from);
	}
	free(w.v);
	ovl_strset_free(w.moved_from);
	return r.operational ? 8 : 0;
}

static const char *type_name(mode_t t)
{
	switch (t) {
	case S_IFREG: return "file";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "symlink";
	case S_IFCHR: return "chardev";
	case S_IFBLK: return "blockdev";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	}
	return "unknown";
}

void ovl_change_print_line(const struct ovl_change *ch, FILE *out)
{
	fprintf(out, "%s ", ovl_change_name(ch->kind));
	ovl_print_escaped(out, ch->path, ch->pathlen);
	if (ch->from) {
		fputs(" from ", out);
		ovl_print_escaped(out, ch->from, strlen(ch->from));
	}
	fputc('\n', out);
}

/*
 * A JSON string, escaped by json-c. json-c copies bytes as they are, so a
 * byte that is not UTF-8 is first made the code point of its value
 * (U+0080..U+00FF): the string means what the \u00XX this output always
 * gave such bytes meant, and the document stays valid UTF-8.
 */
static void json_str(FILE *out, const char *s, size_t len)
{
	char *u = ovl_xmalloc(2 * len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char)s[i];
		int extra = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 :
			    b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
		bool valid = extra >= 0 && i + (size_t)extra < len;
		for (int k = 1; valid && k <= extra; k++)
			valid = ((unsigned char)s[i + (size_t)k] & 0xc0) == 0x80;
		if (valid) {
			memcpy(u + n, s + i, (size_t)extra + 1);
			n += (size_t)extra + 1;
			i += (size_t)extra;
		} else {
			u[n++] = (char)(0xc0 | b >> 6);
			u[n++] = (char)(0x80 | (b & 0x3f));
		}
	}
	json_object *o = json_object_new_string_len(u, (int)n);
	if (!o) {
		fputs("overlay-browse: out of memory\n", stderr);
		exit(8);
	}
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE), out);
	json_object_put(o);
	free(u);
}

void ovl_change_print_json(const struct ovl_change *ch, FILE *out, int first)
{
	fputs(first ? "\n  {" : ",\n  {", out);
	fprintf(out, "\"change\": \"%s\", \"path\": ", ovl_change_name(ch->kind));
	json_str(out, ch->path, ch->pathlen);
	fprintf(out, ", \"type\": \"%s\"", type_name(ch->type));
	if (ch->from) {
		fputs(", \"from\": ", out);
		json_str(out, ch->from, strlen(ch->from));
	}
	fputc('}', out);
}
