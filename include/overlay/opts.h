/*
 * Overlay mount option strings, as given to -o (possibly many times):
 * lowerdir=L1:L2::D1, lowerdir+=, datadir+=, upperdir=, workdir=, and the
 * feature options that shape the on-disk format. '\' escapes ':' ',' '\'.
 * Pure parsing: no file system access.
 */
#ifndef OVERLAY_OPTS_H
#define OVERLAY_OPTS_H

#include <stddef.h>

enum ovl_tristate { OVL_UNSET = -1, OVL_OFF = 0, OVL_ON = 1 };

enum ovl_redirect_mode {
	OVL_REDIRECT_UNSET = -1,
	OVL_REDIRECT_OFF,
	OVL_REDIRECT_FOLLOW,
	OVL_REDIRECT_NOFOLLOW,
	OVL_REDIRECT_ON,
};

enum ovl_xino_mode { OVL_XINO_UNSET = -1, OVL_XINO_OFF, OVL_XINO_AUTO, OVL_XINO_ON };
enum ovl_uuid_mode { OVL_UUID_UNSET = -1, OVL_UUID_NULL, OVL_UUID_OFF, OVL_UUID_AUTO, OVL_UUID_ON };
enum ovl_verity_mode { OVL_VERITY_UNSET = -1, OVL_VERITY_OFF, OVL_VERITY_ON, OVL_VERITY_REQUIRE };

struct ovl_opts {
	char **lower;		/* regular lower layers, top first */
	size_t nlower;
	char **data;		/* data-only lower layers */
	size_t ndata;
	char *upper;
	char *work;
	int metacopy;		/* enum ovl_tristate */
	int index;
	int nfs_export;
	int userxattr;
	int redirect_dir;	/* enum ovl_redirect_mode */
	int xino;		/* enum ovl_xino_mode */
	int uuid;		/* enum ovl_uuid_mode */
	int verity;		/* enum ovl_verity_mode */
	int is_volatile;
};

void ovl_opts_init(struct ovl_opts *o);
void ovl_opts_free(struct ovl_opts *o);

/*
 * Parse one option string and merge it into o (later options override
 * earlier ones, "lowerdir=" replaces the lower and data lists).
 * Returns 0, or -1 with a one-line reason in err.
 */
int ovl_opts_parse(struct ovl_opts *o, const char *s, char *err, size_t errlen);

/* Append one layer path (already unescaped) as -o lowerdir+= would. */
void ovl_opts_add_lower(struct ovl_opts *o, const char *path);
void ovl_opts_add_data(struct ovl_opts *o, const char *path);

#endif
