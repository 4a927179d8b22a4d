/*
 * Pass 1, the stack's fixed places: the filesystems of the layers, the
 * upper root's origin (handle of the first lower's root) and uuid, and
 * W/index's upper handle (handle of the upper root). A mismatch in either
 * handle makes the kernel refuse the mount with index=on.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "overlay/fh.h"
#include "internal.h"

/* Compare a stored root handle with the handle of a layer root; the
 * actual handle, with the stored one's uuid and flags, goes to *now. */
static int root_handle_matches(const struct ovl_layer *L, const struct ovl_fh *fh,
			       unsigned char *now, size_t *nowlen)
{
	struct ovl_fh actual;

	if (ovl_fh_of_at(L->fd, "", L->uuid, &actual) < 0)
		return -1;	/* cannot tell */
	/* A null uuid stays null (uuid=null/off); else it is the uuid of the
	 * filesystem the root is on now, as the kernel verifies it. */
	bool null = ovl_fh_uuid_is_null(fh);
	bool unknown = L->uuid_src == OVL_UUID_SRC_NONE;	/* cannot judge the uuid */
	if (null || unknown)
		memcpy(actual.uuid, fh->uuid, sizeof(actual.uuid));
	actual.flags = fh->flags;
	*nowlen = ovl_fh_encode(&actual, now, OVL_FH_MAX_LEN);
	return ovl_fh_same_fid(fh, &actual) &&
	       memcmp(fh->uuid, actual.uuid, sizeof(fh->uuid)) == 0;
}

static void check_upper_root(struct ovl_ctx *c)
{
	struct ovl_xattrs xa;
	struct ovl_fh fh;
	unsigned char now[OVL_FH_MAX_LEN];
	size_t nowlen = 0;

	int fd = ovl_ctx_mountfd(c, 0);

	if (fd < 0 || ovl_xattrs_read(fd, "", c->s->ns, &xa) < 0) {
		ovl_report_at(c, "upper", "/", PR_LY_XATTR_UNREADABLE, NULL);
		return;
	}
	if (ovl_xattrs_has(&xa, OVL_XA_ORIGIN) && xa.val[OVL_XA_ORIGIN] && c->s->nlower > 0) {
		enum ovl_fh_err err = ovl_fh_parse(xa.val[OVL_XA_ORIGIN],
						   xa.len[OVL_XA_ORIGIN], &fh);
		/* The kernel writes it again at the next mount. */
		if (err != OVL_FH_OK && err != OVL_FH_EMPTY &&
		    ovl_report_fix_at(c, "upper", "/", PR_STK_UPPER_ORIGIN_BAD,
				      ovl_fh_strerror(err)))
			ovl_plan_at(c, OVL_FIX_RM_XATTR, 0, "/", 1, OVL_XA_ORIGIN, NULL, 0);
		else if (err == OVL_FH_OK && c->s->index &&
			 root_handle_matches(&c->s->layers[1], &fh, now, &nowlen) == 0 &&
			 ovl_report_fix_at(c, "upper", "/", PR_STK_UPPER_ORIGIN_STALE, NULL) &&
			 nowlen)
			ovl_plan_at(c, OVL_FIX_SET_XATTR, 0, "/", 1, OVL_XA_ORIGIN, now, nowlen);
	}
	/* userxattr given (or detected) while the stack was made with trusted.*,
	 * or the other way round: the kernel would see none of it. */
	if (xa.other_ns && !ovl_xattrs_has(&xa, OVL_XA_ORIGIN) && !ovl_xattrs_has(&xa, OVL_XA_IMPURE))
		ovl_report_at(c, "upper", "/", PR_STK_FEATURE_OFF,
			      c->s->ns == OVL_NS_USER ? "userxattr selects user.overlay., "
			      "layers hold trusted.overlay." : "layers hold user.overlay., "
			      "the options select trusted.overlay. (add userxattr)");
	if (ovl_xattrs_has(&xa, OVL_XA_UUID) && xa.len[OVL_XA_UUID] != 16 &&
	    ovl_report_fix_at(c, "upper", "/", PR_STK_UUID_XATTR_BAD, NULL))
		ovl_plan_at(c, OVL_FIX_RM_XATTR, 0, "/", 1, OVL_XA_UUID, NULL, 0);
	ovl_xattrs_free(&xa);
}

static void check_index_root(struct ovl_ctx *c)
{
	struct ovl_xattrs xa;
	struct ovl_fh fh;
	unsigned char now[OVL_FH_MAX_LEN];
	size_t nowlen = 0;

	int fd = openat(c->s->indexfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = fd < 0 ? -1 : ovl_xattrs_read(fd, "", c->s->ns, &xa);

	if (fd >= 0)
		close(fd);
	if (ret < 0) {
		ovl_report_at(c, "index", "/", PR_LY_XATTR_UNREADABLE, NULL);
		return;
	}
	if (ovl_xattrs_has(&xa, OVL_XA_UPPER) && xa.val[OVL_XA_UPPER]) {
		enum ovl_fh_err err = ovl_fh_parse(xa.val[OVL_XA_UPPER],
						   xa.len[OVL_XA_UPPER], &fh);
		if (err != OVL_FH_OK) {
			if (ovl_report_fix_at(c, "index", "/", PR_STK_INDEX_UPPER_BAD,
					      ovl_fh_strerror(err)))
				ovl_plan_at(c, OVL_FIX_RM_XATTR, OVL_FIX_WORKDIR, "/index", 6,
					    OVL_XA_UPPER, NULL, 0);
		}
		else if (c->s->has_upper &&
			 root_handle_matches(&c->s->layers[0], &fh, now, &nowlen) == 0 &&
			 ovl_report_fix_at(c, "index", "/", PR_STK_INDEX_UPPER_STALE, NULL) &&
			 nowlen)
			ovl_plan_at(c, OVL_FIX_SET_XATTR, OVL_FIX_WORKDIR, "/index", 6,
				    OVL_XA_UPPER, now, nowlen);
	}
	ovl_xattrs_free(&xa);
}

void ovl_check_stack_roots(struct ovl_ctx *c)
{
	struct ovl_stack *s = c->s;

	for (int i = 0; i < s->nlayers; i++) {
		struct ovl_layer *L = &s->layers[i];
		if (L->fd < 0 || L->fs != i)
			continue;	/* one note per filesystem */
		if (L->uuid_src == OVL_UUID_SRC_NONE && s->nlower > 0)
			ovl_report_at(c, L->name, "/", PR_STK_UUID_NONE, NULL);
	}
	if (s->has_upper)
		check_upper_root(c);
	if (s->has_upper && !s->has_work)
		ovl_report_at(c, "stack", "/", PR_STK_NO_WORKDIR, NULL);
	if (s->indexfd >= 0)
		check_index_root(c);
}
