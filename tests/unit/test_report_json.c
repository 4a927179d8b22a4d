/* The --json report: problems fed through a reporter come back, parsed
 * with json-c, with every member and type of fsck.overlay(8)'s schema,
 * "fixed" only where repair said so, and layer bytes escaped losslessly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "overlay/changes.h"
#include "overlay/report_json.h"
#include "overlay/util.h"
#include "unit.h"

/* A member that must exist with this type. */
static json_object *member(json_object *o, const char *key, json_type type)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no member %s", key);
	ck_assert_msg(json_object_is_type(v, type), "%s: type %s", key,
		      json_type_to_name(json_object_get_type(v)));
	return v;
}

static const char *member_str(json_object *o, const char *key)
{
	return json_object_get_string(member(o, key, json_type_string));
}

static long long member_int(json_object *o, const char *key)
{
	return (long long)json_object_get_int64(member(o, key, json_type_int));
}

static bool member_bool(json_object *o, const char *key)
{
	return json_object_get_boolean(member(o, key, json_type_boolean));
}

/* A stack as ovl_stack_open() leaves it, without opening anything. */
static void fake_stack(struct ovl_stack *s, struct ovl_layer layers[3])
{
	memset(s, 0, sizeof(*s));
	ovl_opts_init(&s->opts);
	memset(layers, 0, 3 * sizeof(*layers));
	layers[0] = (struct ovl_layer){ .idx = 0, .kind = OVL_LAYER_UPPER, .name = "upper",
					.path = "/s/up\xff", .fd = -1 };
	layers[1] = (struct ovl_layer){ .idx = 1, .kind = OVL_LAYER_LOWER, .name = "lower1",
					.path = "/s/low", .fd = -1 };
	layers[2] = (struct ovl_layer){ .idx = 2, .kind = OVL_LAYER_DATA, .name = "data1",
					.path = "/s/data", .fd = -1 };
	s->layers = layers;
	s->nlayers = 3;
	s->nlower = 1;
	s->ndata = 1;
	s->has_upper = true;
	s->has_work = true;
	s->workdir = "/s/work";
	s->workfd = s->workworkfd = -1;
	s->indexfd = 0;	/* "W/index was read": never used as an fd here */
	s->metacopy = true;
	s->index = true;
	s->redirect_follow = true;
	s->opts.redirect_dir = OVL_REDIRECT_FOLLOW;
	s->opts.xino = OVL_XINO_AUTO;
	s->ns = OVL_NS_USER;
	s->verity = OVL_VERITY_REQUIRE;
}

/* Write the document and parse it back; it is one line of valid JSON. */
static json_object *write_and_parse(struct ovl_json *j, int *exit_code)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	*exit_code = ovl_json_write(j, f);
	fclose(f);
	ck_assert_uint_gt(len, 1);
	ck_assert_int_eq(text[len - 1], '\n');
	ck_assert_ptr_null(memchr(text, '\n', len - 1));
	json_object *doc = json_tokener_parse(text);
	ck_assert_msg(doc != NULL, "not JSON: %s", text);
	free(text);
	return doc;
}

START_TEST(problems_fixed_and_escaped)
{
	struct ovl_json *j = ovl_json_new(OVL_MODE_YES);
	struct ovl_stack s;
	struct ovl_layer layers[3];
	struct ovl_report r;
	struct ovl_fsck_opts fo = { 0 };
	struct ovl_fsck_stats stats = { .entries = { 7, 3, 99 }, .index_entries = 2 };
	char *lines = NULL;
	size_t lineslen = 0;
	FILE *out = open_memstream(&lines, &lineslen);

	fake_stack(&s, layers);
	ovl_json_stack_begin(j, "/mnt/a b");
	ovl_json_stack_layers(j, &s);
	ovl_json_stack_features(j, &s);
	ovl_report_init(&r, OVL_MODE_YES, out);
	ovl_json_attach(j, &r);
	ck_assert(r.silent);

	/* 1: a non-UTF-8 byte, a control byte and a backslash in the path */
	static const char bad[] = "/d/x\xff\x01y\\z\n";
	struct ovl_pctx p1 = { .layer = "upper", .path = bad, .pathlen = sizeof(bad) - 1,
			       .detail = "d\xc3\xa9tail\x7f", .fixable = true };
	ck_assert(ovl_problem(&r, PR_WH_ORPHAN, &p1));
	/* 2: offered and accepted, but its fix will fail */
	struct ovl_pctx p2 = { .layer = "lower1", .path = "/o", .pathlen = (size_t)-1,
			       .fixable = true };
	ck_assert(ovl_problem(&r, PR_RD_ESCAPE, &p2));
	/* 3: a code without a fix (PF_NOFIX); 4: a note without a path */
	struct ovl_pctx p3 = { .layer = "upper", .path = "/r", .pathlen = (size_t)-1,
			       .fixable = true };
	ck_assert(!ovl_problem(&r, PR_STK_FEATURE_OFF, &p3));
	ovl_problem(&r, PR_STK_NO_WORKDIR, NULL);
	/* repair applied problem 1 only, as ovl_repair_apply() tells it */
	r.fixed++;
	r.applied(r.applied_arg, 1);
	ovl_json_stack_end(j, &s, &fo, &r, &stats, ovl_report_exit(&r), NULL);

	/* a second stack that could not be checked */
	ovl_json_stack_begin(j, NULL);
	ovl_json_stack_end(j, NULL, NULL, NULL, NULL, 8, "upper dir /x: gone");

	fclose(out);
	ck_assert_uint_eq(lineslen, 0);	/* silent: no problem lines */
	free(lines);

	int rc;
	json_object *doc = write_and_parse(j, &rc);
	ovl_json_free(j);

	ck_assert_int_eq(rc, 4 | 1 | 8);
	ck_assert_int_eq(member_int(doc, "schema_version"), OVL_JSON_SCHEMA_VERSION);
	ck_assert_int_eq(OVL_JSON_SCHEMA_VERSION, 1);
	ck_assert_str_eq(member_str(doc, "program"), "fsck.overlay");
	ck_assert_str_eq(member_str(doc, "version"), PACKAGE_VERSION);
	ck_assert_str_eq(member_str(doc, "mode"), "yes");
	ck_assert_int_eq(member_int(doc, "exit_code"), rc);
	json_object *stacks = member(doc, "stacks", json_type_array);
	ck_assert_uint_eq(json_object_array_length(stacks), 2);

	json_object *st = json_object_array_get_idx(stacks, 0);
	ck_assert_str_eq(member_str(st, "mountpoint"), "/mnt/a b");
	member(st, "mounted", json_type_null);
	member(st, "error", json_type_null);
	ck_assert_int_eq(member_int(st, "exit_code"), 4 | 1);

	json_object *ls = member(st, "layers", json_type_array);
	ck_assert_uint_eq(json_object_array_length(ls), 4);
	static const char *const want[4][3] = {
		{ "upper", "upper", "/s/up\\xff" }, { "lower", "lower1", "/s/low" },
		{ "data", "data1", "/s/data" }, { "work", "work", "/s/work" },
	};
	for (size_t i = 0; i < 4; i++) {
		json_object *l = json_object_array_get_idx(ls, i);
		ck_assert_str_eq(member_str(l, "role"), want[i][0]);
		ck_assert_str_eq(member_str(l, "name"), want[i][1]);
		ck_assert_str_eq(member_str(l, "path"), want[i][2]);
	}

	json_object *f = member(st, "features", json_type_object);
	ck_assert_str_eq(member_str(f, "metacopy"), "on");
	ck_assert_str_eq(member_str(f, "redirect_dir"), "follow");
	ck_assert(member_bool(f, "redirect_follow"));
	ck_assert_str_eq(member_str(f, "index"), "on");
	ck_assert_str_eq(member_str(f, "nfs_export"), "off");
	ck_assert_str_eq(member_str(f, "xino"), "auto");
	member(f, "uuid", json_type_null);
	ck_assert_str_eq(member_str(f, "verity"), "require");
	ck_assert(member_bool(f, "userxattr"));
	ck_assert(!member_bool(f, "volatile"));

	json_object *ps = member(st, "problems", json_type_array);
	ck_assert_uint_eq(json_object_array_length(ps), 4);
	json_object *p = json_object_array_get_idx(ps, 0);
	ck_assert_int_eq(member_int(p, "id"), 1);
	ck_assert_str_eq(member_str(p, "code"), "WH_ORPHAN");
	ck_assert_str_eq(member_str(p, "class"), "whiteout");
	ck_assert_str_eq(member_str(p, "severity"), "warning");
	ck_assert_str_eq(member_str(p, "layer"), "upper");
	/* ovl_escape()'s rule: the bytes come back from the text */
	ck_assert_str_eq(member_str(p, "path"), "/d/x\\xff\\x01y\\\\z\\n");
	ck_assert_str_eq(member_str(p, "message"), ovl_problem_def(PR_WH_ORPHAN)->message);
	ck_assert_str_eq(member_str(p, "detail"), "d\xc3\xa9tail\\x7f");	/* é kept */
	ck_assert(member_bool(p, "fixable"));
	ck_assert(member_bool(p, "fixed"));

	p = json_object_array_get_idx(ps, 1);
	ck_assert_int_eq(member_int(p, "id"), 2);
	ck_assert_str_eq(member_str(p, "severity"), "error");
	ck_assert_str_eq(member_str(p, "layer"), "lower1");
	member(p, "detail", json_type_null);
	ck_assert(member_bool(p, "fixable"));
	ck_assert(!member_bool(p, "fixed"));	/* accepted is not fixed */

	p = json_object_array_get_idx(ps, 2);
	ck_assert_str_eq(member_str(p, "code"), "STK_FEATURE_OFF");
	ck_assert_str_eq(member_str(p, "class"), "stack");
	ck_assert(!member_bool(p, "fixable"));
	ck_assert(!member_bool(p, "fixed"));

	p = json_object_array_get_idx(ps, 3);
	ck_assert_int_eq(member_int(p, "id"), 4);
	ck_assert_str_eq(member_str(p, "severity"), "note");
	ck_assert_str_eq(member_str(p, "layer"), "stack");
	ck_assert_str_eq(member_str(p, "path"), "/");
	ck_assert(!member_bool(p, "fixable"));

	json_object *sum = member(st, "summary", json_type_object);
	ck_assert_int_eq(member_int(sum, "problems"), 4);
	ck_assert_int_eq(member_int(sum, "errors"), 2);
	ck_assert_int_eq(member_int(sum, "warnings"), 1);
	ck_assert_int_eq(member_int(sum, "notes"), 1);
	ck_assert_int_eq(member_int(sum, "fixed"), 1);
	ck_assert_int_eq(member_int(sum, "left"), 2);
	json_object *bc = member(sum, "by_class", json_type_object);
	ck_assert_int_eq(member_int(bc, "whiteout"), 1);
	ck_assert_int_eq(member_int(bc, "redirect"), 1);
	ck_assert_int_eq(member_int(bc, "stack"), 1);	/* the note is not counted */
	ck_assert_int_eq(member_int(bc, "origin"), 0);
	json_object *en = member(sum, "entries", json_type_object);
	ck_assert_uint_eq(json_object_object_length(en), 4);	/* no data layer */
	ck_assert_int_eq(member_int(en, "upper"), 7);
	ck_assert_int_eq(member_int(en, "lower1"), 3);
	ck_assert_int_eq(member_int(en, "index"), 2);
	ck_assert_int_eq(member_int(en, "work"), 0);

	st = json_object_array_get_idx(stacks, 1);
	member(st, "mountpoint", json_type_null);
	ck_assert_uint_eq(json_object_array_length(member(st, "layers", json_type_array)), 0);
	member(st, "features", json_type_null);
	ck_assert_uint_eq(json_object_array_length(member(st, "problems", json_type_array)), 0);
	member(st, "summary", json_type_null);
	ck_assert_int_eq(member_int(st, "exit_code"), 8);
	ck_assert_str_eq(member_str(st, "error"), "upper dir /x: gone");
	json_object_put(doc);
}
END_TEST

START_TEST(check_mode_no_stack)
{
	struct ovl_json *j = ovl_json_new(OVL_MODE_NO);
	int rc;
	json_object *doc = write_and_parse(j, &rc);

	ovl_json_free(j);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(member_str(doc, "mode"), "check");
	ck_assert_int_eq(member_int(doc, "exit_code"), 0);
	ck_assert_uint_eq(json_object_array_length(member(doc, "stacks", json_type_array)), 0);
	json_object_put(doc);

	j = ovl_json_new(OVL_MODE_PREEN);
	doc = write_and_parse(j, &rc);
	ovl_json_free(j);
	ck_assert_str_eq(member_str(doc, "mode"), "preen");
	json_object_put(doc);
}
END_TEST

START_TEST(bytes_rule)
{
	/* every byte value survives: the escaped text decodes to the input */
	char in[256];
	for (int i = 0; i < 256; i++)
		in[i] = (char)i;
	json_object *o = ovl_json_bytes(in, sizeof(in));
	const char *t = json_object_get_string(o);
	char back[256];
	size_t n = 0;
	for (const char *c = t; *c && n < sizeof(back); n++) {
		if (c[0] != '\\') {
			back[n] = *c++;
		} else if (c[1] == 'x') {
			ck_assert(ovl_hex_decode(c + 2, 2, &back[n], 1) == 1);
			c += 4;
		} else {
			back[n] = c[1] == 'n' ? '\n' : c[1] == 't' ? '\t' : c[1];
			ck_assert(c[1] == 'n' || c[1] == 't' || c[1] == '\\');
			c += 2;
		}
	}
	ck_assert_uint_eq(n, sizeof(in));
	ck_assert_mem_eq(back, in, sizeof(in));
	json_object_put(o);

	/* longer than the small buffer */
	char big[2000];
	memset(big, 0xfe, sizeof(big));
	o = ovl_json_bytes(big, sizeof(big));
	ck_assert_uint_eq(strlen(json_object_get_string(o)), 4 * sizeof(big));
	json_object_put(o);
}
END_TEST

/* overlay-browse --json (changes.c) escapes its strings with json-c too:
 * the bytes it always wrote for valid text, the same values otherwise. */
static char *change_json(const char *path, const char *from, int first)
{
	static char buf[512];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	struct ovl_change ch = { .kind = from ? OVL_CH_RENAMED : OVL_CH_ADDED, .path = path,
				 .pathlen = strlen(path), .from = from, .type = S_IFREG };

	ck_assert_ptr_nonnull(f);
	ovl_change_print_json(&ch, f, first);
	fclose(f);
	return buf;
}

START_TEST(browse_change_json)
{
	ck_assert_str_eq(change_json("/a\"b\\c/\xc3\xbc/d", NULL, 1),
			 "\n  {\"change\": \"added\", \"path\": \"/a\\\"b\\\\c/\xc3\xbc/d\", "
			 "\"type\": \"file\"}");
	ck_assert_str_eq(change_json("/new", "/old", 0),
			 ",\n  {\"change\": \"renamed\", \"path\": \"/new\", \"type\": \"file\", "
			 "\"from\": \"/old\"}");

	/* a control byte and bytes that are not UTF-8: U+00XX, as \u00XX was */
	char doc[600];
	snprintf(doc, sizeof(doc), "[%s]", change_json("/x\x01\n\xff\xe2\x82", NULL, 1));
	json_object *a = json_tokener_parse(doc);
	ck_assert_msg(a != NULL, "not JSON: %s", doc);
	ck_assert_str_eq(member_str(json_object_array_get_idx(a, 0), "path"),
			 "/x\x01\n\xc3\xbf\xc3\xa2\xc2\x82");
	json_object_put(a);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("report_json");
	TCase *tc = tcase_create("report_json");

	tcase_add_test(tc, problems_fixed_and_escaped);
	tcase_add_test(tc, check_mode_no_stack);
	tcase_add_test(tc, bytes_rule);
	tcase_add_test(tc, browse_change_json);
	suite_add_tcase(s, tc);
	return s;
}
