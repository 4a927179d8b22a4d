/*
 * The links ledger: one record per entry that refers to another the way
 * the checks follow (kinds in links.h). It holds only such entries
 * (renamed dirs, hard links, whiteouts over hard links, nfs_export dirs,
 * index entries), so the scope's look-ups are scans of a short list.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/util.h"
#include "check/internal.h"
#include "links.h"

struct ovl_links *ovl_links_new(void)
{
	return ovl_xcalloc(1, sizeof(struct ovl_links));
}

static void link_free(struct ovl_link *k)
{
	free(k->path);
	free(k->key);
	free(k->aux);
}

void ovl_links_free(struct ovl_links *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		link_free(&l->v[i]);
	free(l->v);
	free(l);
}

size_t ovl_links_count(const struct ovl_links *l)
{
	return l ? l->n : 0;
}

static void add(struct ovl_links *l, char kind, int layer, const char *path, size_t pathlen,
		const char *key, const char *aux, unsigned long long ino)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 32;
		l->v = ovl_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct ovl_link){
		.kind = kind,
		.layer = layer,
		.path = ovl_xstrndup(path, pathlen),
		.key = ovl_xstrdup(key),
		.aux = ovl_xstrdup(aux ? aux : ""),
		.ino = ino,
	};
}

void ovl_links_add(struct ovl_links *l, const struct ovl_link *k)
{
	add(l, k->kind, k->layer, k->path, strlen(k->path), k->key, k->aux, k->ino);
}

void ovl_fid_key(const struct ovl_fh *fh, char key[OVL_FID_KEY_MAX])
{
	unsigned char b[1 + OVL_FH_FID_MAX];

	b[0] = fh->type;
	memcpy(b + 1, fh->fid, fh->fid_len);
	ovl_hex_encode(b, 1 + fh->fid_len, key);
}

static void note_here(struct ovl_ctx *c, char kind, const char *key, const char *aux,
		      unsigned long long ino)
{
	add(c->links, kind, c->layer ? c->layer->idx : -1, c->path, c->pathlen, key, aux, ino);
}

void ovl_links_note_redirect(struct ovl_ctx *c, const struct ovl_node *n, const char *target,
			     const struct ovl_lookup_res *res)
{
	char first[64] = "";

	if (!c->links)
		return;
	/* the dir it merges first: what two layers' redirects must not share */
	if (S_ISDIR(n->st.st_mode) && res->first == OVL_HIT_DIR)
		snprintf(first, sizeof(first), "%llx:%llx", (unsigned long long)res->first_st.st_dev,
			 (unsigned long long)res->first_st.st_ino);
	note_here(c, OVL_LINK_REDIRECT, target, first, 0);
}

void ovl_links_note_alias(struct ovl_ctx *c, const struct ovl_node *n, const struct ovl_fh *origin)
{
	char key[OVL_FID_KEY_MAX], hex[OVL_FH_HEX_MAX];

	if (!c->links)
		return;
	ovl_fid_key(origin, key);
	ovl_fh_to_hex(origin, hex);
	note_here(c, OVL_LINK_ALIAS, key, hex, (unsigned long long)n->st.st_ino);
}

void ovl_links_note_name(struct ovl_ctx *c, const struct ovl_node *n)
{
	if (c->links && c->layer->kind == OVL_LAYER_UPPER && !S_ISDIR(n->st.st_mode) &&
	    n->st.st_nlink > 1)
		note_here(c, OVL_LINK_NAME, "", NULL, (unsigned long long)n->st.st_ino);
}

void ovl_links_note_impure(struct ovl_ctx *c, const struct ovl_node *n)
{
	if (c->links && c->layer->kind == OVL_LAYER_UPPER && n->parent && !n->parent->impure &&
	    ovl_makes_parent_impure(n))
		note_here(c, OVL_LINK_IMPURE, "", NULL, 0);
}

void ovl_links_note_whiteout(struct ovl_ctx *c, const char *fid_key)
{
	if (c->links)
		note_here(c, OVL_LINK_WHITEOUT, fid_key, NULL, 0);
}

void ovl_links_note_copy(struct ovl_ctx *c, const char *fid_key)
{
	if (c->links)
		note_here(c, OVL_LINK_COPY, fid_key, NULL, 0);
}

void ovl_links_note_dir_origin(struct ovl_ctx *c, const char *index_name)
{
	if (c->links)
		note_here(c, OVL_LINK_DIR_ORIGIN, index_name, NULL, 0);
}

void ovl_links_note_index(struct ovl_ctx *c, const char *name, const struct stat *st,
			  const struct ovl_fh *fh)
{
	char key[OVL_FID_KEY_MAX], path[OVL_FH_HEX_MAX + 2];

	if (!c->links)
		return;
	ovl_fid_key(fh, key);
	snprintf(path, sizeof(path), "/%s", name);
	add(c->links, OVL_LINK_INDEX, -1, path, strlen(path), key, NULL,
	    (unsigned long long)st->st_ino);
}

void ovl_links_write(const struct ovl_links *l, FILE *out)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct ovl_link *k = &l->v[i];
		/* paths and targets hold any byte but NUL; the rest is ASCII */
		fprintf(out, "L%c%c%d %llu %s%c%s%c%s%c", k->kind, 0, k->layer, k->ino, k->aux, 0,
			k->path, 0, k->key, 0);
	}
}

bool ovl_links_read(struct ovl_links *l, const char *const f[4])
{
	int layer, used = 0;
	unsigned long long ino;

	if (f[0][0] != 'L' || !f[0][1] || f[0][2] || f[2][0] != '/' ||
	    sscanf(f[1], "%d %llu %n", &layer, &ino, &used) != 2 || !used)
		return false;
	add(l, f[0][1], layer, f[2], strlen(f[2]), f[3], f[1] + used, ino);
	return true;
}

void ovl_links_replace(struct ovl_links *l, const struct ovl_scope *sc, struct ovl_links *fresh)
{
	size_t kept = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct ovl_link *k = &l->v[i];
		bool held = ovl_scope_holds(sc, k->layer, k->path);
		if (!held && k->kind == OVL_LINK_IMPURE) {
			char *slash = strrchr(k->path, '/');
			char *dir = ovl_xstrndup(k->path, slash == k->path ? 1 : (size_t)(slash - k->path));
			held = ovl_scope_holds(sc, k->layer, dir);
			free(dir);
		}
		if (held)
			link_free(k);
		else
			l->v[kept++] = *k;
	}
	l->n = kept;
	for (size_t i = 0; i < fresh->n; i++) {
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 32;
			l->v = ovl_xrealloc(l->v, l->cap * sizeof(*l->v));
		}
		l->v[l->n++] = fresh->v[i];
	}
	fresh->n = 0;
}
