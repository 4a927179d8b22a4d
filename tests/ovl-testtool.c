/*
 * ovl-testtool: builds and inspects the layer stacks of the fixture suite
 * (tests/fixtures, format in tests/fixtures/README).
 *
 *   ovl-testtool handle [-u] LAYERDIR RELPATH
 *	hex of the overlay file handle of that entry, as the kernel stores
 *	it in origin (-u: with the PATH_UPPER flag, as in W/index "upper")
 *   ovl-testtool build STACKFILE DESTDIR [HANDLEMAP]
 *	create the layers described by STACKFILE under DESTDIR (which must
 *	exist and be empty) and print the fsck.overlay layer arguments, one
 *	per line; HANDLEMAP gets "hex<TAB>spec" for every handle computed.
 *	"fs" lines mount filesystems on DESTDIR/fs1, fs2, ... (the caller
 *	unmounts them, also when the build fails); exit 77 when a mount
 *	or the "run-as" user is impossible here (the case is skipped)
 *   ovl-testtool snapshot [-b] DIR
 *	print every entry below DIR (sorted): path, type, mode, owner, size,
 *	nlink, device or link target, and every xattr in hex; used to prove that a
 *	-n run changed nothing. -b: the brief, readable listing of a fixture's
 *	expect.layers (type and permissions, owner/size/nlink only when
 *	unusual, xattr values as "text", empty, repeat:N:C or hex:...)
 *
 * Symlinks are never followed: entries are reached by O_PATH|O_NOFOLLOW
 * walks and xattrs through /proc/self/fd of an O_PATH descriptor.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "overlay/fh.h"
#include "overlay/stack.h"

#define MAX_LAYERS	16
#define MAX_TOK		16
#define VAL_MAX		65536
#define MAX_FS		4
#define EXIT_SKIP	77	/* automake's "skipped" status */

static const char *stack_file;
static int stack_line;

static void die(const char *fmt, ...)
{
	va_list ap;

	if (stack_file)
		fprintf(stderr, "ovl-testtool: %s:%d: ", stack_file, stack_line);
	else
		fputs("ovl-testtool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* The case cannot run on this machine (not an error in the stack). */
static void skip_exit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_SKIP);
}

/* ---- safe path walks ---- */

/*
 * Open the parent dir of relpath below rootfd (O_PATH, never following a
 * symlink) and return it; *leaf points at the last component. relpath
 * "/" or "" names the root itself: then the parent is rootfd's parent and
 * leaf is rootname.
 */
static int open_parent(int rootfd, const char *rootparent_path,
		       const char *rootname, const char *relpath,
		       const char **leaf, char *leafbuf, size_t leafsize)
{
	while (*relpath == '/')
		relpath++;
	if (!*relpath) {
		int fd = open(rootparent_path, O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0)
			die("open %s: %s", rootparent_path, strerror(errno));
		*leaf = rootname;
		return fd;
	}

	int fd = dup(rootfd);
	const char *p = relpath;

	if (fd < 0)
		die("dup: %s", strerror(errno));
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || n >= leafsize)
			die("bad path component in \"%s\"", relpath);
		memcpy(leafbuf, p, n);
		leafbuf[n] = '\0';
		if (!slash || !slash[1]) {
			*leaf = leafbuf;
			return fd;
		}
		int nfd = openat(fd, leafbuf, O_PATH | O_NOFOLLOW | O_DIRECTORY |
				 O_CLOEXEC);
		if (nfd < 0)
			die("open %s in \"%s\": %s", leafbuf, relpath,
			    strerror(errno));
		close(fd);
		fd = nfd;
		p = slash + 1;
	}
}

/* /proc/self/fd path of an O_PATH fd of entry name in dirfd (no follow). */
static int opath_of(int dirfd, const char *name, char *proc, size_t size)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	snprintf(proc, size, "/proc/self/fd/%d", fd);
	return fd;
}

/* ---- file handles ---- */

struct handle_opts {
	bool path_upper;
	bool set_uuid;
	uint8_t uuid[16];
	int fid_delta;		/* added to the last fid byte: a stale handle */
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t parse_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (*s) {
		if (*s == ' ' || *s == '_') {
			s++;
			continue;
		}
		int hi = hexval(s[0]), lo = s[1] ? hexval(s[1]) : -1;

		if (hi < 0 || lo < 0 || n >= max)
			die("bad hex \"%s\"", s);
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return n;
}

/* Handle of entry relpath in the layer at layerpath; stored bytes. */
static size_t layer_handle(const char *layerpath, const char *relpath,
			   const struct handle_opts *ho, uint8_t *out,
			   size_t size)
{
	char parent[PATH_MAX], base[NAME_MAX + 1], leafbuf[NAME_MAX + 1];
	const char *leaf;
	struct stat st;
	uint8_t uuid[16];
	struct ovl_fh fh;

	/* the root's handle is taken from its parent dir */
	snprintf(parent, sizeof(parent), "%s", layerpath);
	size_t l = strlen(parent);
	while (l > 1 && parent[l - 1] == '/')
		parent[--l] = '\0';
	char *sl = strrchr(parent, '/');
	if (!sl)
		die("layer path must contain a '/': %s", layerpath);
	snprintf(base, sizeof(base), "%s", sl + 1);
	if (sl == parent)
		sl[1] = '\0';
	else
		*sl = '\0';

	int rootfd = open(layerpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 || fstat(rootfd, &st) < 0)
		die("open %s: %s", layerpath, strerror(errno));
	if (ho->set_uuid)
		memcpy(uuid, ho->uuid, 16);
	else
		ovl_fs_uuid(rootfd, st.st_dev, uuid);

	int dfd = open_parent(rootfd, parent, base, relpath, &leaf, leafbuf,
			      sizeof(leafbuf));
	if (ovl_fh_of_at(dfd, leaf, uuid, &fh) < 0)
		die("handle of %s in %s: %s", relpath, layerpath,
		    strerror(errno));
	close(dfd);
	close(rootfd);
	if (ho->path_upper)
		fh.flags |= OVL_FH_FLAG_PATH_UPPER;
	if (ho->fid_delta && fh.fid_len)
		fh.fid[fh.fid_len - 1] += (uint8_t)ho->fid_delta;
	size_t n = ovl_fh_encode(&fh, out, size);
	if (!n)
		die("handle does not fit");
	return n;
}

static void hex_out(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int cmd_handle(int argc, char **argv)
{
	struct handle_opts ho = { 0 };
	uint8_t buf[OVL_FH_MAX_LEN];
	char hex[OVL_FH_HEX_MAX];

	if (argc > 1 && !strcmp(argv[1], "-u")) {
		ho.path_upper = true;
		argc--;
		argv++;
	}
	if (argc != 3) {
		fputs("usage: ovl-testtool handle [-u] LAYERDIR RELPATH\n", stderr);
		return 2;
	}
	size_t n = layer_handle(argv[1], argv[2], &ho, buf, sizeof(buf));
	hex_out(buf, n, hex);
	puts(hex);
	return 0;
}

/* ---- the stack description ---- */

struct layer {
	char name[16];		/* upper, lowerN, dataN, work */
	char path[PATH_MAX + 32];
	int fd;
};

static struct layer layers[MAX_LAYERS];
static int nlayers;
static char destdir[PATH_MAX];
static bool userxattr;
static char options[1024];
static bool positional;
static FILE *handle_map;	/* "hex<TAB>spec" of every handle computed */

/* "fs TYPE L...": layer L lives in DESTDIR/fsN/L, on a fresh mount */
static struct {
	char name[16];
	int fs;			/* N of DESTDIR/fsN */
} fs_layer[MAX_LAYERS];
static int nfs_layer, nfs;

/* "run-as USER": the layers are handed to USER after the build */
static bool run_as;
static uid_t run_uid;
static gid_t run_gid;

struct tok {
	char *s;		/* NUL-terminated (may hold no NUL inside) */
	size_t len;
	bool quoted;
};

/*
 * Split a line into tokens: runs of non-blank bytes; a "..." segment may
 * hold blanks and the escapes \n \t \\ \" \xHH. '#' outside quotes starts
 * a comment.
 */
static int tokenize(char *line, struct tok *t, int max)
{
	int n = 0;
	char *r = line;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')
			r++;
		if (!*r || *r == '#')
			return n;
		if (n == max)
			die("too many words");
		char *w = r, *start = r;
		bool inq = false, quoted = false;

		while (*r && (inq || (*r != ' ' && *r != '\t' && *r != '\n' &&
				      *r != '\r'))) {
			if (*r == '"') {
				inq = !inq;
				quoted = true;
				r++;
				continue;
			}
			if (inq && *r == '\\') {
				r++;
				switch (*r) {
				case 'n': *w++ = '\n'; r++; break;
				case 't': *w++ = '\t'; r++; break;
				case 'x': {
					int hi = hexval(r[1]), lo = hexval(r[2]);

					if (hi < 0 || lo < 0 || (hi | lo) == 0)
						die("bad \\x escape");
					*w++ = (char)(hi << 4 | lo);
					r += 3;
					break;
				}
				case '\0':
					die("unterminated escape");
					break;
				default: *w++ = *r++; break;
				}
				continue;
			}
			*w++ = *r++;
		}
		if (inq)
			die("unterminated quote");
		bool end = !*r;
		*w = '\0';
		t[n].s = start;
		t[n].len = (size_t)(w - start);
		t[n].quoted = quoted;
		n++;
		if (end)
			return n;
		r++;
	}
}

static struct layer *find_layer(const char *name)
{
	for (int i = 0; i < nlayers; i++)
		if (!strcmp(layers[i].name, name))
			return &layers[i];
	die("no layer \"%s\" (declare it with \"layers\")", name);
	return NULL;
}

static void parse_handle_spec(const char *spec, uint8_t *out, size_t *len);

/*
 * Expand a path: a component starting with '@' is a value spec (e.g.
 * "@handle:lower1:/a/f") that runs to the end of the path and is replaced
 * by the hex of its bytes (an index entry name).
 */
static void expand_path(const char *in, char *out, size_t size)
{
	const char *at = strstr(in, "/@");

	if (!at) {
		if (strlen(in) >= size)
			die("path too long");
		strcpy(out, in);
		return;
	}
	uint8_t buf[OVL_FH_MAX_LEN];
	char hex[OVL_FH_HEX_MAX];
	size_t n;

	parse_handle_spec(at + 2, buf, &n);
	hex_out(buf, n, hex);
	snprintf(out, size, "%.*s/%s", (int)(at - in), in, hex);
}

/* handle[,upper][,uuid=HEX][,nulluuid][,stale]:LAYER:PATH */
static void parse_handle_spec(const char *spec, uint8_t *out, size_t *len)
{
	struct handle_opts ho = { 0 };
	char opts[256];
	const char *colon = strchr(spec, ':');

	if (strncmp(spec, "handle", 6) || !colon ||
	    (size_t)(colon - spec) >= sizeof(opts))
		die("bad handle spec \"%s\"", spec);
	memcpy(opts, spec, (size_t)(colon - spec));
	opts[colon - spec] = '\0';
	for (char *o = strtok(opts + 6, ","); o; o = strtok(NULL, ",")) {
		if (!strcmp(o, "upper")) {
			ho.path_upper = true;
		} else if (!strcmp(o, "nulluuid")) {
			ho.set_uuid = true;
			memset(ho.uuid, 0, 16);
		} else if (!strncmp(o, "uuid=", 5)) {
			ho.set_uuid = true;
			if (parse_hex(o + 5, ho.uuid, 16) != 16)
				die("uuid must be 16 bytes");
		} else if (!strcmp(o, "stale")) {
			ho.fid_delta = 0x55;
		} else {
			die("unknown handle option \"%s\"", o);
		}
	}
	const char *lname = colon + 1;
	const char *colon2 = strchr(lname, ':');
	char ln[16];

	if (!colon2 || (size_t)(colon2 - lname) >= sizeof(ln))
		die("bad handle spec \"%s\"", spec);
	memcpy(ln, lname, (size_t)(colon2 - lname));
	ln[colon2 - lname] = '\0';
	struct layer *L = find_layer(ln);
	*len = layer_handle(L->path, colon2 + 1, &ho, out, OVL_FH_MAX_LEN);
	/* inode numbers differ on every build: the runner maps them back */
	if (handle_map) {
		char hex[OVL_FH_HEX_MAX];

		hex_out(out, *len, hex);
		fprintf(handle_map, "%s\t%s\n", hex, spec);
	}
}

/* An xattr value: empty | hex:.. | handle..:L:P | "literal" | word */
static size_t parse_value(const struct tok *t, uint8_t *out, size_t size)
{
	if (t->quoted) {
		if (t->len > size)
			die("value too long");
		memcpy(out, t->s, t->len);
		return t->len;
	}
	if (!strcmp(t->s, "empty"))
		return 0;
	if (!strncmp(t->s, "hex:", 4))
		return parse_hex(t->s + 4, out, size);
	if (!strncmp(t->s, "repeat:", 7)) {
		/* repeat:N:C  N copies of byte C (huge values) */
		char *end;
		unsigned long n = strtoul(t->s + 7, &end, 10);

		if (*end != ':' || !end[1] || n > size)
			die("bad repeat value");
		memset(out, end[1], n);
		return n;
	}
	if (!strncmp(t->s, "handle", 6) && strchr(t->s, ':')) {
		size_t n;

		parse_handle_spec(t->s, out, &n);
		return n;
	}
	if (t->len > size)
		die("value too long");
	memcpy(out, t->s, t->len);
	return t->len;
}

static unsigned long parse_num(const char *s, int base)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, base);
	if (errno || *end || end == s)
		die("bad number \"%s\"", s);
	return v;
}

/* Resolve LAYER PATH to (parent fd, leaf); the caller closes the fd. */
static int resolve(const char *lname, const char *path, const char **leaf,
		   char *leafbuf, char *expanded)
{
	struct layer *L = find_layer(lname);
	char parent[PATH_MAX];

	expand_path(path, expanded, PATH_MAX);
	if (expanded[0] != '/')
		die("path must start with '/': %s", path);
	/* DESTDIR, or DESTDIR/fsN for a layer of an "fs" line */
	snprintf(parent, sizeof(parent), "%.*s",
		 (int)(strrchr(L->path, '/') - L->path), L->path);
	return open_parent(L->fd, parent, L->name, expanded, leaf, leafbuf,
			   NAME_MAX + 1);
}

static void set_xattr(int dfd, const char *leaf, const char *name,
		      const uint8_t *val, size_t len)
{
	char proc[64];
	int fd = opath_of(dfd, leaf, proc, sizeof(proc));

	if (fd < 0)
		die("open %s: %s", leaf, strerror(errno));
	if (setxattr(proc, name, val, len, 0) < 0)
		die("setxattr %s on %s: %s", name, leaf, strerror(errno));
	close(fd);
}

static void make_layer(const char *name)
{
	struct layer *L;
	int n;

	if (nlayers == MAX_LAYERS)
		die("too many layers");
	/* "outside": a dir on the same fs that is no layer of the stack */
	if (strcmp(name, "upper") && strcmp(name, "work") &&
	    strcmp(name, "outside") &&
	    !(sscanf(name, "lower%d", &n) == 1 && n > 0) &&
	    !(sscanf(name, "data%d", &n) == 1 && n > 0))
		die("layer names: upper, lowerN, dataN, work, outside");
	L = &layers[nlayers++];
	snprintf(L->name, sizeof(L->name), "%s", name);
	snprintf(L->path, sizeof(L->path), "%s/%s", destdir, name);
	for (int i = 0; i < nfs_layer; i++)
		if (!strcmp(fs_layer[i].name, name))
			snprintf(L->path, sizeof(L->path), "%s/fs%d/%s", destdir,
				 fs_layer[i].fs, name);
	if (mkdir(L->path, 0755) < 0)
		die("mkdir %s: %s", L->path, strerror(errno));
	L->fd = open(L->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (L->fd < 0)
		die("open %s: %s", L->path, strerror(errno));
	if (!strcmp(name, "work")) {
		if (mkdirat(L->fd, "work", 0700) < 0 ||
		    mkdirat(L->fd, "index", 0700) < 0)
			die("mkdir in %s: %s", L->path, strerror(errno));
	}
}

/* Apply key=value attributes of file/dir lines. */
struct fattr {
	mode_t mode;
	bool has_mode;
	off_t size;
	bool has_size;
	uint8_t *data;
	size_t datalen;
};

static void parse_fattrs(struct tok *t, int n, struct fattr *fa)
{
	static uint8_t databuf[VAL_MAX];

	for (int i = 0; i < n; i++) {
		char *eq = strchr(t[i].s, '=');

		if (!eq)
			die("expected key=value, got \"%s\"", t[i].s);
		*eq = '\0';
		if (!strcmp(t[i].s, "mode")) {
			fa->mode = (mode_t)parse_num(eq + 1, 8);
			fa->has_mode = true;
		} else if (!strcmp(t[i].s, "size")) {
			fa->size = (off_t)parse_num(eq + 1, 10);
			fa->has_size = true;
		} else if (!strcmp(t[i].s, "data")) {
			struct tok v = { eq + 1, t[i].len - (size_t)(eq + 1 - t[i].s),
					 t[i].quoted };
			fa->datalen = parse_value(&v, databuf, sizeof(databuf));
			fa->data = databuf;
		} else {
			die("unknown attribute \"%s\"", t[i].s);
		}
	}
}

/* Which "fs" line holds layer name: 0 for the temp dir's own fs. */
static int fs_of(const char *name)
{
	for (int i = 0; i < nfs_layer; i++)
		if (!strcmp(fs_layer[i].name, name))
			return fs_layer[i].fs;
	return 0;
}

/*
 * "fs TYPE L...": mount a fresh TYPE on DESTDIR/fsN for layers L. Only
 * in-memory types: they need no device and start empty.
 */
static void mount_fs(struct tok *t, int n)
{
	char mp[PATH_MAX + 32];

	if (nlayers)
		die("\"fs\" lines come before \"layers\"");
	if (n < 3)
		die("fs TYPE LAYER...");
	if (strcmp(t[1].s, "tmpfs") && strcmp(t[1].s, "ramfs"))
		die("fs types: tmpfs, ramfs");
	if (nfs == MAX_FS)
		die("too many fs lines");
	for (int i = 2; i < n; i++) {
		if (fs_of(t[i].s))
			die("layer %s is in two fs lines", t[i].s);
		if (nfs_layer == MAX_LAYERS || strlen(t[i].s) >= sizeof(fs_layer[0].name))
			die("bad fs layer \"%s\"", t[i].s);
		snprintf(fs_layer[nfs_layer].name, sizeof(fs_layer[0].name), "%s",
			 t[i].s);
		fs_layer[nfs_layer++].fs = nfs + 1;
	}
	nfs++;
	snprintf(mp, sizeof(mp), "%s/fs%d", destdir, nfs);
	if (mkdir(mp, 0755) < 0)
		die("mkdir %s: %s", mp, strerror(errno));
	if (mount(t[1].s, mp, t[1].s, 0, "mode=0755") < 0)
		skip_exit("cannot mount %s: %s", t[1].s, strerror(errno));
}

/*
 * Give every entry below dfd/name to the run-as user, as an unprivileged
 * engine owns the stacks it made (W/work and W/index are 0700).
 */
static void chown_tree(int dfd, const char *name, const char *rel)
{
	struct stat st;

	if (fchownat(dfd, name, run_uid, run_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		die("chown %s: %s", rel, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return;
	int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = sub < 0 ? NULL : fdopendir(sub);
	struct dirent *de;

	if (!d)
		die("opendir %s: %s", rel, strerror(errno));
	while ((de = readdir(d))) {
		char crel[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(crel, sizeof(crel), "%s/%s", rel, de->d_name);
		chown_tree(dirfd(d), de->d_name, crel);
	}
	closedir(d);
}

static void build_line(struct tok *t, int n)
{
	const char *cmd = t[0].s;
	char leafbuf[NAME_MAX + 1], expanded[PATH_MAX];
	const char *leaf;
	static uint8_t val[VAL_MAX];
	int dfd;

	if (!strcmp(cmd, "fs")) {
		mount_fs(t, n);
		return;
	}
	if (!strcmp(cmd, "run-as")) {
		struct passwd *pw;

		if (n != 2)
			die("run-as takes one user name");
		pw = getpwnam(t[1].s);
		if (!pw)
			skip_exit("no user %s", t[1].s);
		run_as = true;
		run_uid = pw->pw_uid;
		run_gid = pw->pw_gid;
		return;
	}
	if (!strcmp(cmd, "layers")) {
		if (nlayers)
			die("\"layers\" given twice");
		for (int i = 1; i < n; i++)
			make_layer(t[i].s);
		return;
	}
	if (!strcmp(cmd, "options")) {
		if (n != 2)
			die("options takes one word");
		snprintf(options, sizeof(options), "%s", t[1].s);
		return;
	}
	if (!strcmp(cmd, "userxattr")) {
		userxattr = true;
		return;
	}
	if (!strcmp(cmd, "form")) {
		if (n != 2 || (strcmp(t[1].s, "positional") &&
			       strcmp(t[1].s, "options")))
			die("form positional|options");
		positional = !strcmp(t[1].s, "positional");
		return;
	}
	if (n < 3)
		die("%s: LAYER PATH expected", cmd);
	dfd = resolve(t[1].s, t[2].s, &leaf, leafbuf, expanded);

	if (!strcmp(cmd, "dir") || !strcmp(cmd, "file")) {
		struct fattr fa = { 0 };
		bool isdir = cmd[0] == 'd';

		parse_fattrs(t + 3, n - 3, &fa);
		if (isdir) {
			if (mkdirat(dfd, leaf, fa.has_mode ? fa.mode : 0755) < 0)
				die("mkdir %s: %s", expanded, strerror(errno));
		} else {
			int fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL |
					O_NOFOLLOW | O_CLOEXEC,
					fa.has_mode ? fa.mode : 0644);
			if (fd < 0)
				die("create %s: %s", expanded, strerror(errno));
			if (fa.datalen && write(fd, fa.data, fa.datalen) !=
			    (ssize_t)fa.datalen)
				die("write %s: %s", expanded, strerror(errno));
			/* size= without data: a sparse file, no blocks */
			if (fa.has_size && ftruncate(fd, fa.size) < 0)
				die("truncate %s: %s", expanded, strerror(errno));
			close(fd);
		}
		if (fa.has_mode && fchmodat(dfd, leaf, fa.mode, 0) < 0)
			die("chmod %s: %s", expanded, strerror(errno));
	} else if (!strcmp(cmd, "whiteout") || !strcmp(cmd, "fifo") ||
		   !strcmp(cmd, "chardev")) {
		mode_t m = cmd[0] == 'f' ? S_IFIFO | 0644 : S_IFCHR | 0;
		dev_t dev = 0;

		if (cmd[0] == 'c') {
			if (n != 5)
				die("chardev LAYER PATH MAJOR MINOR");
			dev = makedev(parse_num(t[3].s, 10), parse_num(t[4].s, 10));
			m = S_IFCHR | 0644;
		}
		if (mknodat(dfd, leaf, m, dev) < 0)
			die("mknod %s: %s", expanded, strerror(errno));
	} else if (!strcmp(cmd, "symlink")) {
		if (n != 4)
			die("symlink LAYER PATH TARGET");
		if (symlinkat(t[3].s, dfd, leaf) < 0)
			die("symlink %s: %s", expanded, strerror(errno));
	} else if (!strcmp(cmd, "link")) {
		char leaf2buf[NAME_MAX + 1], exp2[PATH_MAX];
		const char *leaf2;

		/* link LAYER EXISTING [LAYER2] NEW: W and upper share a fs */
		if (n != 4 && n != 5)
			die("link LAYER EXISTING [LAYER2] NEW");
		int dfd2 = n == 4 ? resolve(t[1].s, t[3].s, &leaf2, leaf2buf, exp2)
				  : resolve(t[3].s, t[4].s, &leaf2, leaf2buf, exp2);
		if (linkat(dfd, leaf, dfd2, leaf2, 0) < 0)
			die("link %s %s: %s", expanded, exp2, strerror(errno));
		close(dfd2);
	} else if (!strcmp(cmd, "rm")) {
		if (unlinkat(dfd, leaf, 0) < 0 &&
		    (errno != EISDIR || unlinkat(dfd, leaf, AT_REMOVEDIR) < 0))
			die("rm %s: %s", expanded, strerror(errno));
	} else if (!strcmp(cmd, "xattr") || !strcmp(cmd, "rawxattr")) {
		char name[XATTR_NAME_MAX + 1];

		if (n != 5)
			die("%s LAYER PATH NAME VALUE", cmd);
		if (cmd[0] == 'x')
			snprintf(name, sizeof(name), "%s.overlay.%s",
				 userxattr ? "user" : "trusted", t[3].s);
		else
			snprintf(name, sizeof(name), "%s", t[3].s);
		size_t len = parse_value(&t[4], val, sizeof(val));
		set_xattr(dfd, leaf, name, val, len);
	} else {
		die("unknown line \"%s\"", cmd);
	}
	close(dfd);
}

/* Print the fsck.overlay arguments naming the layers, one per line. */
static void print_args(void)
{
	struct layer *upper = NULL, *work = NULL;
	char lower[8192] = "";
	size_t ll = 0;

	for (int i = 0; i < nlayers; i++) {
		if (!strcmp(layers[i].name, "upper"))
			upper = &layers[i];
		else if (!strcmp(layers[i].name, "work"))
			work = &layers[i];
	}
	/* lowerN in number order, then dataN after "::" */
	for (int pass = 0; pass < 2; pass++) {
		const char *pfx = pass ? "data" : "lower";

		for (int k = 1; k < MAX_LAYERS; k++) {
			char want[32];

			snprintf(want, sizeof(want), "%s%d", pfx, k);
			for (int i = 0; i < nlayers; i++) {
				if (strcmp(layers[i].name, want))
					continue;
				if (positional) {
					if (pass)
						die("no data layers in the positional form");
					continue;
				}
				ll += (size_t)snprintf(lower + ll, sizeof(lower) - ll,
						       "%s%s", ll ? (pass ? "::" : ":") : "",
						       layers[i].path);
			}
		}
	}
	if (positional) {
		if (!upper)
			die("the positional form needs an upper layer");
		if (work)
			printf("-w\n%s\n", work->path);
		if (options[0])
			printf("-o\n%s\n", options);
		printf("%s\n", upper->path);
		for (int k = 1; k < MAX_LAYERS; k++) {
			char want[32];

			snprintf(want, sizeof(want), "lower%d", k);
			for (int i = 0; i < nlayers; i++)
				if (!strcmp(layers[i].name, want))
					printf("%s\n", layers[i].path);
		}
		return;
	}
	printf("-o\nlowerdir=%s", lower);
	if (upper)
		printf(",upperdir=%s", upper->path);
	if (work)
		printf(",workdir=%s", work->path);
	if (options[0])
		printf(",%s", options);
	putchar('\n');
}

static int cmd_build(int argc, char **argv)
{
	char line[8192];
	struct tok t[MAX_TOK];

	if (argc != 3 && argc != 4) {
		fputs("usage: ovl-testtool build STACKFILE DESTDIR [HANDLEMAP]\n",
		      stderr);
		return 2;
	}
	if (argc == 4 && !(handle_map = fopen(argv[3], "w")))
		die("open %s: %s", argv[3], strerror(errno));
	FILE *f = fopen(argv[1], "r");
	if (!f)
		die("open %s: %s", argv[1], strerror(errno));
	if (!realpath(argv[2], destdir))
		die("%s: %s", argv[2], strerror(errno));
	stack_file = argv[1];
	umask(0);
	while (fgets(line, sizeof(line), f)) {
		stack_line++;
		int n = tokenize(line, t, MAX_TOK);
		if (n)
			build_line(t, n);
	}
	fclose(f);
	if (!nlayers)
		die("no \"layers\" line");
	for (int i = 0; i < nfs_layer; i++) {
		bool found = false;

		for (int k = 0; k < nlayers; k++)
			found |= !strcmp(layers[k].name, fs_layer[i].name);
		if (!found)
			die("fs layer %s is not in \"layers\"", fs_layer[i].name);
	}
	/* the kernel wants them on one fs; index links join them too */
	if (fs_of("upper") != fs_of("work"))
		die("upper and work must be in the same fs");
	stack_file = NULL;
	if (run_as) {
		DIR *d = opendir(destdir);
		struct dirent *de;

		if (!d)
			die("opendir %s: %s", destdir, strerror(errno));
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				chown_tree(dirfd(d), de->d_name, de->d_name);
		closedir(d);
		/* the user must reach the layers: mktemp made DESTDIR 0700 */
		if (chmod(destdir, 0755) < 0)
			die("chmod %s: %s", destdir, strerror(errno));
	}
	if (handle_map && fclose(handle_map) != 0)
		die("write %s: %s", argv[3], strerror(errno));
	print_args();
	return 0;
}

/* ---- snapshot ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_path(const char *p)
{
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c >= 0x7f || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

/*
 * "snapshot -b": the listing a fixture's expect.layers holds. Only what a
 * reader needs to see a fix: type, permissions, and the rest only when it
 * is not the usual (owner 0:0, size 0, one link); xattr values as the
 * stack language writes them.
 */
static bool snap_brief;

static void brief_stat(const struct stat *st)
{
	const char *type = "?";

	switch (st->st_mode & S_IFMT) {
	case S_IFDIR: type = "dir"; break;
	case S_IFREG: type = "file"; break;
	case S_IFLNK: type = "symlink"; break;
	case S_IFIFO: type = "fifo"; break;
	case S_IFSOCK: type = "socket"; break;
	case S_IFBLK: type = "blockdev"; break;
	case S_IFCHR:
		type = st->st_rdev == makedev(0, 0) ? "whiteout" : "chardev";
		break;
	}
	printf(" %s", type);
	if (!S_ISLNK(st->st_mode))
		printf(" %03o", (unsigned)(st->st_mode & 07777));
	if (S_ISREG(st->st_mode) && st->st_size)
		printf(" size=%lld", (long long)st->st_size);
	if (!S_ISDIR(st->st_mode) && st->st_nlink != 1)
		printf(" nlink=%lu", (unsigned long)st->st_nlink);
	if ((S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) && st->st_rdev != makedev(0, 0))
		printf(" %u %u", major(st->st_rdev), minor(st->st_rdev));
	if (st->st_uid || st->st_gid)
		printf(" owner=%u:%u", (unsigned)st->st_uid, (unsigned)st->st_gid);
}

/* empty, "text", repeat:N:C or hex:... (a handle's hex the runner maps). */
static void brief_value(const uint8_t *v, size_t n)
{
	static char hex[2 * VAL_MAX + 1];
	bool text = true, same = n > 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i] < 0x20 || v[i] > 0x7e)
			text = false;
		if (v[i] != v[0])
			same = false;
	}
	if (!n) {
		fputs("empty", stdout);
	} else if (text && same && n > 16 && v[0] != '"' && v[0] != '\\' &&
		   v[0] != ' ') {
		printf("repeat:%zu:%c", n, v[0]);
	} else if (text) {
		putchar('"');
		for (size_t i = 0; i < n; i++) {
			if (v[i] == '"' || v[i] == '\\')
				putchar('\\');
			putchar(v[i]);
		}
		putchar('"');
	} else {
		hex_out(v, n, hex);
		printf("hex:%s", hex);
	}
}

static void snap_entry(int dfd, const char *name, const char *rel)
{
	struct stat st;
	char proc[64];
	static char list[VAL_MAX];
	static uint8_t val[VAL_MAX];
	static char hex[2 * VAL_MAX + 1];

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		die("stat %s: %s", rel, strerror(errno));
	print_path(rel);
	if (snap_brief)
		brief_stat(&st);
	else
		printf(" mode=%o owner=%u:%u size=%lld nlink=%lu", (unsigned)st.st_mode,
		       (unsigned)st.st_uid, (unsigned)st.st_gid,
		       (long long)(S_ISDIR(st.st_mode) ? 0 : st.st_size),
		       S_ISDIR(st.st_mode) ? 0ul : (unsigned long)st.st_nlink);
	if (!snap_brief && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
		printf(" rdev=%u:%u", major(st.st_rdev), minor(st.st_rdev));
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);

		if (n < 0)
			die("readlink %s: %s", rel, strerror(errno));
		target[n] = '\0';
		fputs(" -> ", stdout);
		print_path(target);
	}
	putchar('\n');

	int fd = opath_of(dfd, name, proc, sizeof(proc));
	if (fd < 0)
		die("open %s: %s", rel, strerror(errno));
	ssize_t ln = listxattr(proc, list, sizeof(list));
	if (ln < 0 && errno != ENOTSUP)
		die("listxattr %s: %s", rel, strerror(errno));
	char *names[1024];
	int nn = 0;
	for (ssize_t i = 0; i < ln && nn < 1024; i += (ssize_t)strlen(list + i) + 1)
		names[nn++] = list + i;
	if (nn > 0)
		qsort(names, (size_t)nn, sizeof(names[0]), cmp_names);
	for (int i = 0; i < nn; i++) {
		ssize_t vn = getxattr(proc, names[i], val, sizeof(val));

		if (vn < 0)
			die("getxattr %s %s: %s", rel, names[i], strerror(errno));
		if (snap_brief) {
			printf("  %s=", names[i]);
			brief_value(val, (size_t)vn);
			putchar('\n');
			continue;
		}
		hex_out(val, (size_t)vn, hex);
		printf("  %s=%s\n", names[i], hex);
	}
	close(fd);

	if (!S_ISDIR(st.st_mode))
		return;
	int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		die("opendir %s: %s", rel, strerror(errno));
	DIR *d = fdopendir(sub);
	if (!d)
		die("fdopendir %s: %s", rel, strerror(errno));
	char **kids = NULL;
	size_t nk = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (nk == cap) {
			cap = cap ? 2 * cap : 16;
			kids = realloc(kids, cap * sizeof(*kids));
			if (!kids)
				die("out of memory");
		}
		kids[nk++] = strdup(de->d_name);
	}
	if (nk)		/* qsort(NULL, 0) is undefined */
		qsort(kids, nk, sizeof(*kids), cmp_names);
	for (size_t i = 0; i < nk; i++) {
		char crel[PATH_MAX];

		snprintf(crel, sizeof(crel), "%s/%s", strcmp(rel, "/") ? rel : "",
			 kids[i]);
		snap_entry(dirfd(d), kids[i], crel);
		free(kids[i]);
	}
	free(kids);
	closedir(d);
}

static int cmd_snapshot(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "-b")) {
		snap_brief = true;
		argc--;
		argv++;
	}
	if (argc != 2) {
		fputs("usage: ovl-testtool snapshot [-b] DIR\n", stderr);
		return 2;
	}
	int fd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", argv[1], strerror(errno));
	snap_entry(fd, ".", "/");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "handle"))
		return cmd_handle(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "build"))
		return cmd_build(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "snapshot"))
		return cmd_snapshot(argc - 1, argv + 1);
	fputs("usage: ovl-testtool handle [-u] LAYERDIR RELPATH\n"
	      "       ovl-testtool build STACKFILE DESTDIR [HANDLEMAP]\n"
	      "       ovl-testtool snapshot [-b] DIR\n", stderr);
	return 2;
}
