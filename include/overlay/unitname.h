/*
 * systemd unit names of paths, as `systemd-escape --path` makes them, and
 * values written into unit files. Pure string work: no file system access
 * except ovl_unit_path_canonical().
 */
#ifndef OVERLAY_UNITNAME_H
#define OVERLAY_UNITNAME_H

/* systemd refuses unit names of this length or more */
#define OVL_UNIT_NAME_MAX 256

/*
 * The escaped form of an absolute path, exactly as `systemd-escape --path`:
 * "//" and "." components and a trailing '/' dropped, "/" is "-", '/'
 * becomes '-', a leading '.' and every byte but [A-Za-z0-9:_.] becomes
 * \xHH. NULL for a relative path, a ".." component, a component longer
 * than NAME_MAX or a path of PATH_MAX or more (systemd refuses those).
 * The result is allocated.
 */
char *ovl_unit_path_escape(const char *path);

/*
 * "PREFIX@ESCAPED.SUFFIX" (prefix NULL: "ESCAPED.SUFFIX"), suffix without
 * the dot ("mount", "service"). NULL when the path cannot be escaped or
 * the name would be too long for systemd.
 */
char *ovl_unit_name_from_path(const char *prefix, const char *path, const char *suffix);

/*
 * The path systemd's fstab generator names a mount unit after: symlinks
 * of the part that exists resolved, the rest kept (the mount point may
 * not exist yet). Allocated; the simplified text when nothing resolves.
 */
char *ovl_unit_path_canonical(const char *path);

/*
 * A path as one word of a unit file setting that unquotes (ExecStart=,
 * RequiresMountsFor=): in double quotes, '"' and '\' escaped, '%' doubled
 * (specifiers) and, with dollar set, '$' doubled (ExecStart= expands
 * variables). NULL for a path with control bytes, which such settings
 * cannot hold. Allocated.
 */
char *ovl_unit_quote(const char *path, int dollar);

#endif
