/* Unit tests: overlay mount option strings. */
#include <stdio.h>
#include <string.h>

#include "overlay/opts.h"
#include "unit.h"

static struct ovl_opts o;
static char err[256];

static void setup(void)
{
	ovl_opts_init(&o);
	err[0] = '\0';
}

static void teardown(void)
{
	ovl_opts_free(&o);
}

static int P(const char *s)
{
	return ovl_opts_parse(&o, s, err, sizeof(err));
}

START_TEST(test_init)
{
	ck_assert_uint_eq(o.nlower, 0);
	ck_assert_uint_eq(o.ndata, 0);
	ck_assert_ptr_null(o.upper);
	ck_assert_ptr_null(o.work);
	ck_assert_int_eq(o.metacopy, OVL_UNSET);
	ck_assert_int_eq(o.index, OVL_UNSET);
	ck_assert_int_eq(o.nfs_export, OVL_UNSET);
	ck_assert_int_eq(o.userxattr, OVL_UNSET);
	ck_assert_int_eq(o.redirect_dir, OVL_REDIRECT_UNSET);
	ck_assert_int_eq(o.xino, OVL_XINO_UNSET);
	ck_assert_int_eq(o.uuid, OVL_UUID_UNSET);
	ck_assert_int_eq(o.verity, OVL_VERITY_UNSET);
	ck_assert_int_eq(o.is_volatile, 0);
	ck_assert_int_eq(P(""), 0);
	ck_assert_int_eq(P(",,,"), 0);
}
END_TEST

START_TEST(test_layers)
{
	ck_assert_int_eq(P("lowerdir=/l1:/l2,upperdir=/u,workdir=/w"), 0);
	ck_assert_uint_eq(o.nlower, 2);
	ck_assert_str_eq(o.lower[0], "/l1");
	ck_assert_str_eq(o.lower[1], "/l2");
	ck_assert_uint_eq(o.ndata, 0);
	ck_assert_str_eq(o.upper, "/u");
	ck_assert_str_eq(o.work, "/w");
	/* later values override */
	ck_assert_int_eq(P("upperdir=/u2,,workdir=/w2"), 0);
	ck_assert_str_eq(o.upper, "/u2");
	ck_assert_str_eq(o.work, "/w2");
	/* lowerdir= replaces the whole list */
	ck_assert_int_eq(P("lowerdir=/x"), 0);
	ck_assert_uint_eq(o.nlower, 1);
	ck_assert_str_eq(o.lower[0], "/x");
}
END_TEST

START_TEST(test_data_layers)
{
	ck_assert_int_eq(P("lowerdir=/l1:/l2::/d1::/d2"), 0);
	ck_assert_uint_eq(o.nlower, 2);
	ck_assert_uint_eq(o.ndata, 2);
	ck_assert_str_eq(o.lower[1], "/l2");
	ck_assert_str_eq(o.data[0], "/d1");
	ck_assert_str_eq(o.data[1], "/d2");
	/* a regular layer after a data layer */
	ck_assert_int_eq(P("lowerdir=/l1::/d1:/l2"), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot follow data"));
	/* failed parse leaves the previous lists */
	ck_assert_uint_eq(o.nlower, 2);
	ck_assert_uint_eq(o.ndata, 2);
	/* "lowerdir=" empties both lists */
	ck_assert_int_eq(P("lowerdir="), 0);
	ck_assert_uint_eq(o.nlower, 0);
	ck_assert_uint_eq(o.ndata, 0);
	/* appends */
	ck_assert_int_eq(P("lowerdir+=/a,lowerdir+=/b,datadir+=/c,datadir+=/d"), 0);
	ck_assert_uint_eq(o.nlower, 2);
	ck_assert_uint_eq(o.ndata, 2);
	ck_assert_str_eq(o.lower[1], "/b");
	ck_assert_str_eq(o.data[1], "/d");
	ck_assert_int_eq(P("lowerdir+=/e"), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot follow data"));
	/* lowerdir+= is one layer, taken literally: no ':' split */
	ck_assert_int_eq(P("lowerdir=,lowerdir+=/a:b"), 0);
	ck_assert_uint_eq(o.nlower, 1);
	ck_assert_str_eq(o.lower[0], "/a:b");
	/* lowerdir= after appends replaces them */
	ck_assert_int_eq(P("lowerdir=/z"), 0);
	ck_assert_uint_eq(o.nlower, 1);
	ck_assert_uint_eq(o.ndata, 0);
	ck_assert_str_eq(o.lower[0], "/z");
}
END_TEST

START_TEST(test_escapes)
{
	ck_assert_int_eq(P("lowerdir=/a\\:b:/c\\,d:/e\\\\f,upperdir=/u\\,v"), 0);
	ck_assert_uint_eq(o.nlower, 3);
	ck_assert_str_eq(o.lower[0], "/a:b");
	ck_assert_str_eq(o.lower[1], "/c,d");
	ck_assert_str_eq(o.lower[2], "/e\\f");
	ck_assert_str_eq(o.upper, "/u,v");
	/* "\:" next to "::" */
	ck_assert_int_eq(P("lowerdir=/a\\:::/d"), 0);
	ck_assert_uint_eq(o.nlower, 1);
	ck_assert_str_eq(o.lower[0], "/a:");
	ck_assert_uint_eq(o.ndata, 1);
	/* trailing lone backslash dropped */
	ck_assert_int_eq(P("workdir=/w\\"), 0);
	ck_assert_str_eq(o.work, "/w");
	/* lowerdir+= keeps backslashes (kernel: no unescape), comma still escaped */
	ck_assert_int_eq(P("lowerdir=,lowerdir+=/p\\,q"), 0);
	ck_assert_str_eq(o.lower[0], "/p\\,q");
}
END_TEST

START_TEST(test_lowerdir_errors)
{
	ck_assert_int_eq(P("lowerdir=:/a"), -1);
	ck_assert_ptr_nonnull(strstr(err, "lowerdir"));
	ck_assert_int_eq(P("lowerdir=/a:"), -1);
	ck_assert_int_eq(P("lowerdir=/a::"), -1);
	ck_assert_int_eq(P("lowerdir=/a:::/b"), -1);
	ck_assert_int_eq(P("lowerdir=/a::::/b"), -1);
	ck_assert_int_eq(P("lowerdir=\\"), -1);
	ck_assert_int_eq(P("lowerdir"), -1);
	ck_assert_ptr_nonnull(strstr(err, "needs a value"));
	ck_assert_int_eq(P("lowerdir+="), -1);
	ck_assert_int_eq(P("datadir+="), -1);
	ck_assert_int_eq(P("upperdir="), -1);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	ck_assert_int_eq(P("workdir"), -1);
	ck_assert_uint_eq(o.nlower, 0);
}
END_TEST

START_TEST(test_features)
{
	ck_assert_int_eq(P("metacopy=on,index=on,nfs_export=off,redirect_dir=follow,"
			   "xino=auto,uuid=null,verity=require,userxattr,volatile"), 0);
	ck_assert_int_eq(o.metacopy, OVL_ON);
	ck_assert_int_eq(o.index, OVL_ON);
	ck_assert_int_eq(o.nfs_export, OVL_OFF);
	ck_assert_int_eq(o.redirect_dir, OVL_REDIRECT_FOLLOW);
	ck_assert_int_eq(o.xino, OVL_XINO_AUTO);
	ck_assert_int_eq(o.uuid, OVL_UUID_NULL);
	ck_assert_int_eq(o.verity, OVL_VERITY_REQUIRE);
	ck_assert_int_eq(o.userxattr, OVL_ON);
	ck_assert_int_eq(o.is_volatile, 1);
	ck_assert_int_eq(P("metacopy=off,index=off,redirect_dir=nofollow,xino=off,"
			   "uuid=off,verity=off"), 0);
	ck_assert_int_eq(o.metacopy, OVL_OFF);
	ck_assert_int_eq(o.index, OVL_OFF);
	ck_assert_int_eq(o.redirect_dir, OVL_REDIRECT_NOFOLLOW);
	ck_assert_int_eq(o.xino, OVL_XINO_OFF);
	ck_assert_int_eq(o.uuid, OVL_UUID_OFF);
	ck_assert_int_eq(o.verity, OVL_VERITY_OFF);
	ck_assert_int_eq(P("redirect_dir=on,redirect_dir=off,xino=on,uuid=auto,uuid=on,verity=on"), 0);
	ck_assert_int_eq(o.redirect_dir, OVL_REDIRECT_OFF);
	ck_assert_int_eq(o.xino, OVL_XINO_ON);
	ck_assert_int_eq(o.uuid, OVL_UUID_ON);
	ck_assert_int_eq(o.verity, OVL_VERITY_ON);
	ck_assert_int_eq(P("index=on"), 0);
	ck_assert_int_eq(o.index, OVL_ON);
}
END_TEST

START_TEST(test_errors)
{
	ck_assert_int_eq(P("foo"), -1);
	ck_assert_str_eq(err, "unknown option 'foo'");
	ck_assert_int_eq(P("index=maybe"), -1);
	ck_assert_str_eq(err, "bad value for index: 'maybe'");
	ck_assert_int_eq(P("metacopy=yes"), -1);
	ck_assert_int_eq(P("metacopy=ON"), -1);
	ck_assert_int_eq(P("redirect_dir=1"), -1);
	ck_assert_int_eq(P("xino=maybe"), -1);
	ck_assert_int_eq(P("uuid=x"), -1);
	ck_assert_int_eq(P("verity=strict"), -1);
	ck_assert_int_eq(P("index"), -1);
	ck_assert_str_eq(err, "option 'index' needs a value");
	ck_assert_int_eq(P("userxattr=on"), -1);
	ck_assert_str_eq(err, "option 'userxattr' takes no value");
	ck_assert_int_eq(P("ro=1"), -1);
	/* control bytes in the reason are escaped: one line */
	ck_assert_int_eq(P("index=a\nb"), -1);
	ck_assert_ptr_null(strchr(err, '\n'));
	ck_assert_int_eq(P("bad\nkey"), -1);
	ck_assert_ptr_null(strchr(err, '\n'));
	/* errors stop the string: later items not applied */
	ck_assert_int_eq(P("foo,index=on"), -1);
	ck_assert_int_eq(o.index, OVL_UNSET);
	/* NULL err buffer is fine */
	ck_assert_int_eq(ovl_opts_parse(&o, "foo", NULL, 0), -1);
}
END_TEST

START_TEST(test_generic)
{
	ck_assert_int_eq(P("ro,rw,noatime,relatime,nodev,nosuid,noexec,default_permissions,"
			   "context=system_u:object_r:container_file_t:s0,x-systemd.requires=a,"
			   "defaults,nofail,_netdev,lazytime,sync,dirsync,comment=x"), 0);
	ck_assert_uint_eq(o.nlower, 0);
	ck_assert_int_eq(o.index, OVL_UNSET);
	/* a context value with escaped commas */
	ck_assert_int_eq(P("context=\"a\\,b\",index=off"), 0);
	ck_assert_int_eq(o.index, OVL_OFF);
}
END_TEST

START_TEST(test_add_api)
{
	char path[40];

	ovl_opts_add_lower(&o, "/a:b");
	ovl_opts_add_data(&o, "/d");
	ck_assert_uint_eq(o.nlower, 1);
	ck_assert_str_eq(o.lower[0], "/a:b");
	ck_assert_str_eq(o.data[0], "/d");
	/* the stack limit */
	ck_assert_int_eq(P("lowerdir="), 0);
	for (int i = 0; i < 500; i++) {
		snprintf(path, sizeof(path), "lowerdir+=/l%d", i);
		ck_assert_int_eq(P(path), 0);
	}
	ck_assert_int_eq(P("lowerdir+=/one-too-many"), -1);
	ck_assert_ptr_nonnull(strstr(err, "too many"));
	ck_assert_uint_eq(o.nlower, 500);
	ck_assert_str_eq(o.lower[499], "/l499");
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("opts");
	TCase *tc = tcase_create("opts");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_layers);
	tcase_add_test(tc, test_data_layers);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_lowerdir_errors);
	tcase_add_test(tc, test_features);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_generic);
	tcase_add_test(tc, test_add_api);
	suite_add_tcase(s, tc);
	return s;
}
