/*
 * The --json report: a json-c tree grown from the reporter's hooks (one
 * object per problem, so memory follows the number of problems), written
 * once at the end. Strings that hold layer bytes go through ovl_escape(),
 * the rule of the text output, so they are valid UTF-8 and lossless.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "overlay/report_json.h"
#include "overlay/util.h"

struct ovl_json {
	enum ovl_mode mode;
	json_object *stacks;		/* the "stacks" array */
	json_object *cur;		/* the stack being recorded, or NULL */
	json_object *problems;		/* ... and its "problems" */
	const struct ovl_report *report;	/* the reporter attached to it */
	unsigned long severities[3];	/* its problems by enum ovl_severity */
	int exit_code;			/* or-ed over the stacks ended */
};

struct ovl_json *ovl_json_new(enum ovl_mode mode)
{
	struct ovl_json *j = ovl_xcalloc(1, sizeof(*j));

	j->mode = mode;
	j->stacks = json_object_new_array();
	return j;
}

void ovl_json_free(struct ovl_json *j)
{
	if (!j)
		return;
	json_object_put(j->cur);
	json_object_put(j->stacks);
	free(j);
}

/* json-c allocation failing is out of memory, as for ovl_xmalloc() */
static json_object *must(json_object *o)
{
	if (!o) {
		fputs("fsck.overlay: out of memory\n", stderr);
		exit(8);
	}
	return o;
}

static void add(json_object *obj, const char *key, json_object *val)
{
	if (json_object_object_add(obj, key, val) < 0) {
		fputs("fsck.overlay: out of memory\n", stderr);
		exit(8);
	}
}

static json_object *str(const char *s)
{
	return s ? must(json_object_new_string(s)) : NULL;
}

static json_object *count(unsigned long n)
{
	return must(json_object_new_uint64(n));
}

json_object *ovl_json_bytes(const char *s, size_t len)
{
	char small[512];
	size_t need = ovl_escape(s, len, small, sizeof(small));

	if (need < sizeof(small))
		return must(json_object_new_string_len(small, (int)need));
	char *big = ovl_xmalloc(need + 1);
	ovl_escape(s, len, big, need + 1);
	json_object *o = must(json_object_new_string_len(big, (int)need));
	free(big);
	return o;
}

static json_object *cstr_bytes(const char *s)
{
	return s ? ovl_json_bytes(s, strlen(s)) : NULL;
}

void ovl_json_stack_begin(struct ovl_json *j, const char *mountpoint)
{
	json_object_put(j->cur);	/* an unended stack is dropped */
	j->cur = must(json_object_new_object());
	j->problems = must(json_object_new_array());
	j->report = NULL;
	memset(j->severities, 0, sizeof(j->severities));
	add(j->cur, "mountpoint", cstr_bytes(mountpoint));
	add(j->cur, "mounted", NULL);
	add(j->cur, "layers", must(json_object_new_array()));
	add(j->cur, "features", NULL);
	add(j->cur, "problems", j->problems);
	add(j->cur, "summary", NULL);
	add(j->cur, "exit_code", must(json_object_new_int(0)));
	add(j->cur, "error", NULL);
	add(j->cur, "journal", NULL);
}

void ovl_json_stack_unit(struct ovl_json *j, const char *kind, const char *name,
			 const char *id, const char *used_by)
{
	add(j->cur, "kind", str(kind));
	add(j->cur, "name", cstr_bytes(name));
	add(j->cur, "id", cstr_bytes(id));
	add(j->cur, "used_by", cstr_bytes(used_by));
}

void ovl_json_stack_remedy(struct ovl_json *j, const char *remedy)
{
	add(j->cur, "remedy", cstr_bytes(remedy));
}

static json_object *layer(const char *role, const char *name, const char *path)
{
	json_object *l = must(json_object_new_object());

	add(l, "role", str(role));
	add(l, "name", str(name));
	add(l, "path", cstr_bytes(path));
	return l;
}

void ovl_json_stack_layers(struct ovl_json *j, const struct ovl_stack *s)
{
	static const char *const roles[] = {
		[OVL_LAYER_UPPER] = "upper", [OVL_LAYER_LOWER] = "lower",
		[OVL_LAYER_DATA] = "data",
	};
	json_object *a = must(json_object_new_array());

	for (int i = 0; s->layers && i < s->nlayers; i++) {
		const struct ovl_layer *l = &s->layers[i];
		if (!l->path)
			continue;	/* no upper */
		json_object_array_add(a, layer(roles[l->kind], l->name, l->path));
	}
	if (s->layers && s->workdir)
		json_object_array_add(a, layer("work", "work", s->workdir));
	add(j->cur, "layers", a);
}

/* A mount option's value by its enum (-1: not given, null). */
static json_object *option(int v, const char *const *names, size_t n)
{
	return v >= 0 && (size_t)v < n ? str(names[v]) : NULL;
}

void ovl_json_stack_features(struct ovl_json *j, const struct ovl_stack *s)
{
	static const char *const redirect[] = {
		[OVL_REDIRECT_OFF] = "off", [OVL_REDIRECT_FOLLOW] = "follow",
		[OVL_REDIRECT_NOFOLLOW] = "nofollow", [OVL_REDIRECT_ON] = "on",
	};
	static const char *const xino[] = {
		[OVL_XINO_OFF] = "off", [OVL_XINO_AUTO] = "auto", [OVL_XINO_ON] = "on",
	};
	static const char *const uuid[] = {
		[OVL_UUID_NULL] = "null", [OVL_UUID_OFF] = "off",
		[OVL_UUID_AUTO] = "auto", [OVL_UUID_ON] = "on",
	};
	static const char *const verity[] = {
		[OVL_VERITY_OFF] = "off", [OVL_VERITY_ON] = "on",
		[OVL_VERITY_REQUIRE] = "require",
	};
	json_object *f = must(json_object_new_object());

	add(f, "metacopy", str(s->metacopy ? "on" : "off"));
	add(f, "redirect_dir", option(s->opts.redirect_dir, redirect, OVL_ARRAY_SIZE(redirect)));
	add(f, "redirect_follow", must(json_object_new_boolean(s->redirect_follow)));
	add(f, "index", str(s->index ? "on" : "off"));
	add(f, "nfs_export", str(s->nfs_export ? "on" : "off"));
	add(f, "xino", option(s->opts.xino, xino, OVL_ARRAY_SIZE(xino)));
	add(f, "uuid", option(s->opts.uuid, uuid, OVL_ARRAY_SIZE(uuid)));
	add(f, "verity", option(s->verity, verity, OVL_ARRAY_SIZE(verity)));
	add(f, "userxattr", must(json_object_new_boolean(s->ns == OVL_NS_USER)));
	add(f, "volatile", must(json_object_new_boolean(s->opts.is_volatile > 0)));
	add(j->cur, "features", f);
}

void ovl_json_stack_mounted(struct ovl_json *j, const char *mnt)
{
	add(j->cur, "mounted", cstr_bytes(mnt));
}

static void on_seen(void *arg, enum ovl_problem_code code, const struct ovl_pctx *pctx)
{
	struct ovl_json *j = arg;
	const struct ovl_problem_def *def = ovl_problem_def(code);
	json_object *p = must(json_object_new_object());

	if ((unsigned)def->severity < OVL_ARRAY_SIZE(j->severities))
		j->severities[def->severity]++;
	add(p, "id", count(j->report->seq));
	add(p, "code", str(def->name));
	add(p, "class", str(ovl_problem_class_name(def->cls)));
	add(p, "severity", str(ovl_severity_name(def->severity)));
	add(p, "layer", str(pctx && pctx->layer ? pctx->layer : "stack"));
	if (pctx && pctx->path)
		add(p, "path", ovl_json_bytes(pctx->path, pctx->pathlen == (size_t)-1 ?
					      strlen(pctx->path) : pctx->pathlen));
	else
		add(p, "path", str("/"));
	add(p, "message", str(def->message));
	add(p, "detail", pctx ? cstr_bytes(pctx->detail) : NULL);
	add(p, "fixable", must(json_object_new_boolean(ovl_problem_fixable(code, pctx))));
	add(p, "fixed", must(json_object_new_boolean(0)));
	json_object_array_add(j->problems, p);
}

static unsigned long problem_id(json_object *p)
{
	return (unsigned long)json_object_get_uint64(json_object_object_get(p, "id"));
}

static void on_applied(void *arg, unsigned long seq)
{
	struct ovl_json *j = arg;
	size_t n = json_object_array_length(j->problems);
	json_object *p = NULL;

	/* ids are seqs in report order: problem seq sits at seq - 1 */
	if (seq >= 1 && seq <= n && problem_id(json_object_array_get_idx(j->problems, seq - 1)) == seq)
		p = json_object_array_get_idx(j->problems, seq - 1);
	for (size_t i = 0; !p && i < n; i++)
		if (problem_id(json_object_array_get_idx(j->problems, i)) == seq)
			p = json_object_array_get_idx(j->problems, i);
	if (p)
		json_object_set_boolean(json_object_object_get(p, "fixed"), 1);
}

void ovl_json_attach(struct ovl_json *j, struct ovl_report *r)
{
	j->report = r;
	r->seen = on_seen;
	r->seen_arg = j;
	r->applied = on_applied;
	r->applied_arg = j;
	r->silent = true;
}

static void add_entries(void *arg, const char *name, unsigned long n)
{
	add(arg, name, count(n));
}

static json_object *summary(const struct ovl_json *j, const struct ovl_stack *s,
			    const struct ovl_fsck_opts *o, const struct ovl_report *r,
			    const struct ovl_fsck_stats *stats)
{
	json_object *sum = must(json_object_new_object());
	json_object *classes = must(json_object_new_object());
	json_object *entries = must(json_object_new_object());

	add(sum, "problems", count(json_object_array_length(j->problems)));
	add(sum, "errors", count(j->severities[ERROR]));
	add(sum, "warnings", count(j->severities[WARNING]));
	add(sum, "notes", count(j->severities[NOTE]));
	add(sum, "fixed", count(r->fixed));
	add(sum, "left", count(r->errors > r->fixed ? r->errors - r->fixed : 0));
	for (int c = 0; c < OVL_PC_COUNT; c++)
		add(classes, ovl_problem_class_name(c), count(r->by_class[c]));
	add(sum, "by_class", classes);
	if (s && o && stats)
		ovl_fsck_stats_each(s, o, stats, add_entries, entries);
	add(sum, "entries", entries);
	return sum;
}

void ovl_json_stack_end(struct ovl_json *j, const struct ovl_stack *s,
			const struct ovl_fsck_opts *o, const struct ovl_report *r,
			const struct ovl_fsck_stats *stats, int exit_code, const char *error)
{
	if (!j->cur)
		return;
	if (r)
		add(j->cur, "summary", summary(j, s, o, r, stats));
	add(j->cur, "exit_code", must(json_object_new_int(exit_code)));
	add(j->cur, "error", cstr_bytes(error));
	add(j->cur, "journal", r && r->journal[0] ? cstr_bytes(r->journal) : NULL);
	json_object_array_add(j->stacks, j->cur);
	j->exit_code |= exit_code;
	j->cur = NULL;
	j->problems = NULL;
	j->report = NULL;
}

int ovl_json_add_document(struct ovl_json *j, const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *doc, *stacks;

	if (!tok || len > INT32_MAX) {
		json_tokener_free(tok);
		return -1;
	}
	doc = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	if (!json_object_object_get_ex(doc, "stacks", &stacks) ||
	    !json_object_is_type(stacks, json_type_array)) {
		json_object_put(doc);
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i), *code;
		json_object_array_add(j->stacks, json_object_get(s));
		if (json_object_object_get_ex(s, "exit_code", &code))
			j->exit_code |= json_object_get_int(code);
	}
	json_object_put(doc);
	return 0;
}

int ovl_json_write(struct ovl_json *j, FILE *out)
{
	static const char *const modes[] = {
		[OVL_MODE_NO] = "check", [OVL_MODE_YES] = "yes",
		[OVL_MODE_PREEN] = "preen", [OVL_MODE_ASK] = "ask",
	};
	json_object *doc = must(json_object_new_object());

	add(doc, "schema_version", must(json_object_new_int(OVL_JSON_SCHEMA_VERSION)));
	add(doc, "program", str("fsck.overlay"));
	add(doc, "version", str(PACKAGE_VERSION));
	add(doc, "mode", str(modes[j->mode]));
	add(doc, "exit_code", must(json_object_new_int(j->exit_code)));
	add(doc, "stacks", json_object_get(j->stacks));
	const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE);
	int ok = text && fputs(text, out) >= 0 && fputc('\n', out) != EOF && fflush(out) == 0;
	json_object_put(doc);
	return ok ? j->exit_code : -1;
}
