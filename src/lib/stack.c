/*
 * The layer stack: open every layer root once, check the shape the kernel
 * insists on (so a stack it would refuse is reported before we read it),
 * and find out what the layers are: filesystems, uuids, handle support,
 * xattr namespace, features in use, and whether an overlay is mounted on
 * them right now.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <blkid.h>

#include "overlay/stack.h"
#include "overlay/util.h"
#include "overlay/xattr.h"

/* The kernel refuses more layers than this (OVL_MAX_STACK). */
#define OVL_STACK_MAX_LOWER	500

/* How far up we walk ".." looking for overlapping layers. */
#define OVL_STACK_MAX_DEPTH	4096

/* FS_IOC_GETFSUUID (Linux 6.5); older headers lack it. */
struct ovl_fsuuid2 {
	uint8_t len;
	uint8_t uuid[16];
};
#define OVL_FS_IOC_GETFSUUID _IOR(0x15, 0, struct ovl_fsuuid2)

struct ovl_devino {
	dev_t dev;
	ino_t ino;
};

static void ovl_stack_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ovl_stack_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- filesystem identity ---- */

static int ovl_uuid_parse(const char *s, uint8_t uuid[16])
{
	int n = 0;

	for (; *s && n < 32; s++) {
		int v;

		if (*s == '-')
			continue;
		if (!isxdigit((unsigned char)*s))
			return -1;
		v = isdigit((unsigned char)*s) ? *s - '0' :
			tolower((unsigned char)*s) - 'a' + 10;
		if (n & 1)
			uuid[n / 2] |= (uint8_t)v;
		else
			uuid[n / 2] = (uint8_t)(v << 4);
		n++;
	}
	return (n == 32 && !*s) ? 0 : -1;
}

static int ovl_fs_uuid_blkid(dev_t dev, uint8_t uuid[16])
{
	blkid_probe pr;
	const char *val;
	size_t len;
	char *devname;
	int ret = -1;

	devname = blkid_devno_to_devname(dev);
	if (!devname)
		return -1;
	pr = blkid_new_probe_from_filename(devname);
	free(devname);
	if (!pr)
		return -1;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_UUID |
					  BLKID_SUBLKS_UUIDRAW);
	if (blkid_do_safeprobe(pr) == 0) {
		/* only a 16-byte uuid can be the kernel's s_uuid: vfat's
		 * 4-byte serial and the like are not */
		if (blkid_probe_lookup_value(pr, "UUID_RAW", &val, &len) == 0 &&
		    len == 16) {
			memcpy(uuid, val, 16);
			ret = 0;
		} else if (blkid_probe_lookup_value(pr, "UUID", &val, &len) == 0 &&
			   ovl_uuid_parse(val, uuid) == 0) {
			ret = 0;
		}
	}
	blkid_free_probe(pr);
	return ret;
}

enum ovl_uuid_source ovl_fs_uuid(int fd, dev_t dev, uint8_t uuid[16])
{
	memset(uuid, 0, 16);
	if (fd >= 0) {
		struct ovl_fsuuid2 fu;
		int rfd, r;

		/* the ioctl needs a real open file, not an O_PATH one */
		rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		memset(&fu, 0, sizeof(fu));
		r = ioctl(rfd >= 0 ? rfd : fd, OVL_FS_IOC_GETFSUUID, &fu);
		if (rfd >= 0)
			close(rfd);
		if (r == 0 && fu.len > 0 && fu.len <= 16) {
			memcpy(uuid, fu.uuid, fu.len);
			return OVL_UUID_SRC_IOCTL;
		}
	}
	if (ovl_fs_uuid_blkid(dev, uuid) == 0)
		return OVL_UUID_SRC_BLKID;
	memset(uuid, 0, 16);
	return OVL_UUID_SRC_NONE;
}

static bool ovl_stack_can_handle(int fd)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	int mnt_id;

	h.fh.handle_bytes = MAX_HANDLE_SZ;
	return name_to_handle_at(fd, "", &h.fh, &mnt_id, AT_EMPTY_PATH) == 0;
}

/* ---- opening ---- */

static const char *ovl_layer_what(const struct ovl_layer *l)
{
	switch (l->kind) {
	case OVL_LAYER_UPPER:
		return "upper";
	case OVL_LAYER_LOWER:
		return "lower";
	default:
		return "data";
	}
}

/*
 * Open one dir the user named. The path comes from the administrator, so
 * symlinks in it are followed (the kernel does the same at mount); only
 * what lies below the root is untrusted.
 */
static int ovl_stack_open_dir(const char *what, const char *path,
			      struct stat *st, char *err, size_t errlen)
{
	int fd, rfd;

	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ovl_stack_err(err, errlen, "%s dir %s: %s", what, path,
			      strerror(errno));
		return -1;
	}
	/* O_PATH needs no permission on the dir itself: find out now
	 * whether we can read it, not halfway through the walk */
	rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0 || fstat(fd, st) < 0) {
		ovl_stack_err(err, errlen, "%s dir %s: %s", what, path,
			      strerror(errno));
		if (rfd >= 0)
			close(rfd);
		close(fd);
		return -1;
	}
	close(rfd);
	return fd;
}

/*
 * dev/ino of dir fd and every ancestor up to "/" (".." of "/" is "/").
 * ".." of a mount root leads to the dir it is mounted on, as in a path.
 */
static size_t ovl_stack_ancestors(int fd, struct ovl_devino **out)
{
	struct ovl_devino *v = NULL;
	size_t n = 0, cap = 0;
	struct stat st;
	int cur = fd, up;

	if (fstat(fd, &st) < 0)
		goto done;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = ovl_xrealloc(v, cap * sizeof(*v));
		}
		v[n].dev = st.st_dev;
		v[n].ino = st.st_ino;
		n++;
		if (n >= OVL_STACK_MAX_DEPTH)
			break;
		up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cur != fd)
			close(cur);
		cur = up;
		if (cur < 0 || fstat(cur, &st) < 0)
			break;
		if (st.st_dev == v[n - 1].dev && st.st_ino == v[n - 1].ino)
			break;	/* reached "/" */
	}
	if (cur >= 0 && cur != fd)
		close(cur);
done:
	*out = v;
	return n;
}

struct ovl_stack_dir {
	const char *what;	/* "upper", "work", "lower", "data" */
	const char *path;
	struct ovl_devino *anc;
	size_t nanc;
};

static bool ovl_stack_is_below(const struct ovl_stack_dir *inner,
			       const struct ovl_stack_dir *outer)
{
	size_t i;

	for (i = 1; i < inner->nanc; i++)
		if (inner->anc[i].dev == outer->anc[0].dev &&
		    inner->anc[i].ino == outer->anc[0].ino)
			return true;
	return false;
}

/*
 * The kernel refuses (or fails every lookup in) a stack where a layer
 * dir is another one, or lies inside another: upper and work must be
 * separate subtrees, a lower must not be the upper, the work dir or
 * another lower, nor be nested with any of them.
 */
static int ovl_stack_check_overlap(struct ovl_stack_dir *d, size_t n,
				   char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			struct ovl_stack_dir *a = &d[i], *b = &d[j];

			if (!a->nanc || !b->nanc)
				continue;
			if (a->anc[0].dev == b->anc[0].dev &&
			    a->anc[0].ino == b->anc[0].ino) {
				if (!strcmp(a->what, b->what))
					ovl_stack_err(err, errlen,
						"%s dir %s and %s dir %s are the same directory",
						a->what, a->path, b->what, b->path);
				else
					ovl_stack_err(err, errlen,
						"%s dir %s is the %s dir %s",
						b->what, b->path, a->what, a->path);
				return -1;
			}
			if (ovl_stack_is_below(b, a)) {
				ovl_stack_err(err, errlen,
					      "%s dir %s is inside %s dir %s",
					      b->what, b->path, a->what, a->path);
				return -1;
			}
			if (ovl_stack_is_below(a, b)) {
				ovl_stack_err(err, errlen,
					      "%s dir %s is inside %s dir %s",
					      a->what, a->path, b->what, b->path);
				return -1;
			}
		}
	}
	return 0;
}

static int ovl_stack_check_options(const struct ovl_opts *o,
				   char *err, size_t errlen)
{
	if (!o->nlower) {
		if (o->ndata)
			ovl_stack_err(err, errlen,
				      "data-only lower dirs need at least one regular lower dir");
		else
			ovl_stack_err(err, errlen, "no lower dir given");
		return -1;
	}
	if (o->work && !o->upper) {
		ovl_stack_err(err, errlen, "work dir %s given without an upper dir",
			      o->work);
		return -1;
	}
	if (o->nlower + o->ndata > OVL_STACK_MAX_LOWER) {
		ovl_stack_err(err, errlen,
			      "too many lower dirs: %zu (the kernel allows %d)",
			      o->nlower + o->ndata, OVL_STACK_MAX_LOWER);
		return -1;
	}
	return 0;
}

static void ovl_stack_reset(struct ovl_stack *s)
{
	memset(s, 0, sizeof(*s));
	ovl_opts_init(&s->opts);
	s->workfd = -1;
	s->workworkfd = -1;
	s->indexfd = -1;
}

int ovl_stack_open(struct ovl_stack *s, struct ovl_opts *opts,
		   char *err, size_t errlen)
{
	struct ovl_stack_dir *dirs = NULL;
	size_t ndirs = 0, i;
	int ret = OVL_STACK_ERROR;
	int li;

	ovl_stack_reset(s);
	/* the stack owns the option strings from here on */
	s->opts = *opts;
	ovl_opts_init(opts);
	if (err && errlen)
		err[0] = '\0';

	if (ovl_stack_check_options(&s->opts, err, errlen) < 0)
		return OVL_STACK_USAGE;

	s->nlower = (int)s->opts.nlower;
	s->ndata = (int)s->opts.ndata;
	s->nlayers = 1 + s->nlower + s->ndata;
	s->layers = ovl_xcalloc((size_t)s->nlayers, sizeof(*s->layers));
	s->has_upper = s->opts.upper != NULL;
	s->has_work = s->opts.work != NULL;
	s->workdir = s->opts.work;

	for (li = 0; li < s->nlayers; li++) {
		struct ovl_layer *l = &s->layers[li];

		l->idx = li;
		l->fd = -1;
		if (li == 0) {
			l->kind = OVL_LAYER_UPPER;
			l->path = s->opts.upper;
			snprintf(l->name, sizeof(l->name), "upper");
		} else if (li <= s->nlower) {
			l->kind = OVL_LAYER_LOWER;
			l->path = s->opts.lower[li - 1];
			/* li <= OVL_STACK_MAX_LOWER: the cast only tells
			 * the compiler the name fits */
			snprintf(l->name, sizeof(l->name), "lower%hu",
				 (unsigned short)li);
		} else {
			l->kind = OVL_LAYER_DATA;
			l->path = s->opts.data[li - 1 - s->nlower];
			snprintf(l->name, sizeof(l->name), "data%hu",
				 (unsigned short)(li - s->nlower));
		}
	}

	/* open everything: upper, work, lowers, data, in the order a user
	 * reads the command line */
	dirs = ovl_xcalloc((size_t)s->nlayers + 1, sizeof(*dirs));
	for (li = 0; li < s->nlayers; li++) {
		struct ovl_layer *l = &s->layers[li];
		struct stat st;

		if (!l->path)
			continue;
		l->fd = ovl_stack_open_dir(ovl_layer_what(l), l->path, &st,
					   err, errlen);
		if (l->fd < 0)
			goto out;
		l->dev = st.st_dev;
		l->ino = st.st_ino;
		if (li == 0 && s->has_work) {
			struct stat wst;

			s->workfd = ovl_stack_open_dir("work", s->workdir, &wst,
						       err, errlen);
			if (s->workfd < 0)
				goto out;
			if (wst.st_dev != st.st_dev) {
				ovl_stack_err(err, errlen,
					      "work dir %s and upper dir %s are on different filesystems",
					      s->workdir, l->path);
				goto out;
			}
		}
	}

	/* overlapping dirs */
	for (li = 0; li < s->nlayers; li++) {
		struct ovl_layer *l = &s->layers[li];

		if (l->fd < 0)
			continue;
		dirs[ndirs].what = ovl_layer_what(l);
		dirs[ndirs].path = l->path;
		dirs[ndirs].nanc = ovl_stack_ancestors(l->fd, &dirs[ndirs].anc);
		ndirs++;
		if (li == 0 && s->workfd >= 0) {
			dirs[ndirs].what = "work";
			dirs[ndirs].path = s->workdir;
			dirs[ndirs].nanc = ovl_stack_ancestors(s->workfd,
							       &dirs[ndirs].anc);
			ndirs++;
		}
	}
	if (ovl_stack_check_overlap(dirs, ndirs, err, errlen) < 0)
		goto out;

	/* W/work and W/index: a non-dir there is a check's business */
	if (s->workfd >= 0) {
		s->workworkfd = openat(s->workfd, "work", O_PATH | O_DIRECTORY |
				       O_NOFOLLOW | O_CLOEXEC);
		s->indexfd = openat(s->workfd, "index", O_PATH | O_DIRECTORY |
				    O_NOFOLLOW | O_CLOEXEC);
	}

	/* filesystem identity, once per filesystem */
	for (li = 0; li < s->nlayers; li++) {
		struct ovl_layer *l = &s->layers[li];
		int j;

		if (l->fd < 0)
			continue;
		for (j = 0; j < li; j++)
			if (s->layers[j].fd >= 0 && s->layers[j].dev == l->dev)
				break;
		l->fs = j;
		if (j < li) {
			memcpy(l->uuid, s->layers[j].uuid, 16);
			l->uuid_src = s->layers[j].uuid_src;
			l->can_handle = s->layers[j].can_handle;
		} else {
			l->uuid_src = ovl_fs_uuid(l->fd, l->dev, l->uuid);
			l->can_handle = ovl_stack_can_handle(l->fd);
		}
	}
	ret = OVL_STACK_OK;

out:
	for (i = 0; i < ndirs; i++)
		free(dirs[i].anc);
	free(dirs);
	return ret;
}

void ovl_stack_close(struct ovl_stack *s)
{
	int i;

	for (i = 0; s->layers && i < s->nlayers; i++)
		if (s->layers[i].fd >= 0)
			close(s->layers[i].fd);
	free(s->layers);
	if (s->workfd >= 0)
		close(s->workfd);
	if (s->workworkfd >= 0)
		close(s->workworkfd);
	if (s->indexfd >= 0)
		close(s->indexfd);
	ovl_opts_free(&s->opts);
	ovl_stack_reset(s);
}

/* ---- namespace and features ---- */

#define OVL_NSF_TRUSTED		0x1
#define OVL_NSF_USER		0x2
#define OVL_NSF_TRUSTED_UPPER	0x4
#define OVL_NSF_USER_UPPER	0x8

/* Which overlay xattrs does dir fd itself carry? */
static unsigned ovl_stack_ns_flags(int fd)
{
	static const char tp[] = "trusted.overlay.";
	static const char up[] = "user.overlay.";
	char *buf;
	ssize_t n;
	size_t off;
	unsigned f = 0;
	int tries, rfd;

	if (fd < 0)
		return 0;
	/* listxattrat() refuses an O_PATH fd with an empty name (EBADF):
	 * these are dirs, so a real open is harmless */
	rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return 0;
	/* the list may grow between the two calls: retry a few times */
	for (tries = 0;; tries++) {
		n = ovl_xattr_list_at(rfd, "", NULL, 0);
		if (n <= 0)
			goto out;
		buf = ovl_xmalloc((size_t)n + 257);
		n = ovl_xattr_list_at(rfd, "", buf, (size_t)n + 256);
		if (n > 0)
			break;
		free(buf);
		if (n == 0 || errno != ERANGE || tries == 3)
			goto out;
	}
	buf[n] = '\0';
	for (off = 0; off < (size_t)n; off += strlen(buf + off) + 1) {
		const char *name = buf + off;

		if (!strncmp(name, tp, sizeof(tp) - 1)) {
			f |= OVL_NSF_TRUSTED;
			if (!strcmp(name + sizeof(tp) - 1, "upper"))
				f |= OVL_NSF_TRUSTED_UPPER;
		} else if (!strncmp(name, up, sizeof(up) - 1)) {
			f |= OVL_NSF_USER;
			if (!strcmp(name + sizeof(up) - 1, "upper"))
				f |= OVL_NSF_USER_UPPER;
		}
	}
	free(buf);
out:
	close(rfd);
	return f;
}

static bool ovl_stack_dir_has_entries(int fd)
{
	struct dirent *de;
	bool found = false;
	DIR *d;
	int rfd;

	rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return false;
	d = fdopendir(rfd);
	if (!d) {
		close(rfd);
		return false;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			found = true;
			break;
		}
	}
	closedir(d);
	return found;
}

void ovl_stack_detect(struct ovl_stack *s)
{
	unsigned f, fidx;
	int i;

	/* upper root and W/index say most: they are written by this
	 * overlay; lower roots only if those are silent (a lower may be
	 * the old upper of some other overlay) */
	fidx = ovl_stack_ns_flags(s->indexfd);
	f = fidx;
	if (s->has_upper)
		f |= ovl_stack_ns_flags(s->layers[0].fd);
	for (i = 1; !(f & (OVL_NSF_TRUSTED | OVL_NSF_USER)) && i < s->nlayers; i++)
		f |= ovl_stack_ns_flags(s->layers[i].fd);

	if (s->opts.userxattr == OVL_ON) {
		s->ns = OVL_NS_USER;
		s->ns_detected = false;
	} else if (f & OVL_NSF_TRUSTED) {
		s->ns = OVL_NS_TRUSTED;
		s->ns_detected = true;
	} else if (f & OVL_NSF_USER) {
		s->ns = OVL_NS_USER;
		s->ns_detected = true;
	} else {
		s->ns = OVL_NS_TRUSTED;
		s->ns_detected = false;
	}

	/* we cannot know how the stack will be mounted next: accept
	 * metacopy files unless told otherwise */
	s->metacopy = s->opts.metacopy != OVL_UNSET ?
		      s->opts.metacopy == OVL_ON : true;

	if (s->opts.index != OVL_UNSET) {
		s->index = s->opts.index == OVL_ON;
	} else if (s->indexfd >= 0) {
		unsigned upper = s->ns == OVL_NS_USER ? OVL_NSF_USER_UPPER :
							OVL_NSF_TRUSTED_UPPER;

		s->index = (fidx & upper) ||
			   ovl_stack_dir_has_entries(s->indexfd);
	} else {
		s->index = false;
	}

	/* redirect_dir=off still follows redirects (the module's
	 * redirect_always_follow defaults to on); only nofollow refuses. */
	s->redirect_follow = s->opts.redirect_dir != OVL_REDIRECT_NOFOLLOW;
	s->nfs_export = s->opts.nfs_export == OVL_ON;
	s->verity = s->opts.verity != OVL_VERITY_UNSET ? s->opts.verity :
							OVL_VERITY_OFF;
}

/* ---- is it mounted? ---- */

/* Undo mountinfo's octal escapes (\040 space, \011, \012, \134, \054). */
static void ovl_mountinfo_unescape(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) |
				      (s[3] - '0'));
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

/* Undo overlay's own '\' escapes of ',' ':' '\' in one path. */
static void ovl_opt_unescape(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1])
			s++;
		*w++ = *s++;
	}
	*w = '\0';
}

static bool ovl_devino_eq(const struct stat *st, const struct ovl_layer *l)
{
	return l->fd >= 0 && st->st_dev == l->dev && st->st_ino == l->ino;
}

/*
 * Does path (unescaped, as the mount was given it) name one of our dirs:
 * the upper or work dir, or without an upper the first lower? A relative
 * path is taken from our cwd: the kernel keeps the string as given.
 */
static bool ovl_mnt_path_matches(const struct ovl_stack *s, const char *path)
{
	struct stat st, wst;

	if (!*path || stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return false;
	if (!s->has_upper)
		return s->nlayers > 1 && ovl_devino_eq(&st, &s->layers[1]);
	if (ovl_devino_eq(&st, &s->layers[0]))
		return true;
	return s->workfd >= 0 && fstat(s->workfd, &wst) == 0 &&
	       wst.st_dev == st.st_dev && wst.st_ino == st.st_ino;
}

/*
 * One overlay's super options, raw from mountinfo (commas inside paths
 * are octal-escaped there, so a raw ',' separates options).
 */
static bool ovl_mnt_opts_match(const struct ovl_stack *s, char *opts)
{
	char *opt, *save = NULL;

	for (opt = strtok_r(opts, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save)) {
		char *val;

		ovl_mountinfo_unescape(opt);
		if (!strncmp(opt, "upperdir=", 9) ||
		    !strncmp(opt, "workdir=", 8)) {
			if (s->has_upper) {
				val = strchr(opt, '=') + 1;
				ovl_opt_unescape(val);
				if (ovl_mnt_path_matches(s, val))
					return true;
			}
		} else if (!strncmp(opt, "lowerdir+=", 10) ||
			   !strncmp(opt, "datadir+=", 9)) {
			if (!s->has_upper) {
				val = strchr(opt, '=') + 1;
				ovl_opt_unescape(val);
				if (ovl_mnt_path_matches(s, val))
					return true;
			}
		} else if (!strncmp(opt, "lowerdir=", 9) && !s->has_upper) {
			/* split on unescaped ':' ("::" before data layers) */
			char *p = opt + 9, *start = p;
			bool end;

			for (;; p++) {
				if (*p == '\\' && p[1]) {
					p++;
					continue;
				}
				if (*p != ':' && *p != '\0')
					continue;
				end = *p == '\0';
				*p = '\0';
				ovl_opt_unescape(start);
				if (ovl_mnt_path_matches(s, start))
					return true;
				if (end)
					break;
				start = p + 1;
			}
		}
	}
	return false;
}

int ovl_stack_mounted(const struct ovl_stack *s, char *mnt, size_t mntlen)
{
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		char *field[64], *save = NULL, *tok;
		int nf = 0, sep = -1, i;

		line[strcspn(line, "\n")] = '\0';
		for (tok = strtok_r(line, " ", &save); tok && nf < 64;
		     tok = strtok_r(NULL, " ", &save))
			field[nf++] = tok;
		/* id parent maj:min root mountpoint opts [optional...] -
		 * fstype source superopts */
		for (i = 6; i < nf; i++) {
			if (!strcmp(field[i], "-")) {
				sep = i;
				break;
			}
		}
		if (sep < 0 || sep + 3 >= nf || nf < 5)
			continue;
		if (strcmp(field[sep + 1], "overlay"))
			continue;
		if (ovl_mnt_opts_match(s, field[sep + 3])) {
			if (mnt && mntlen) {
				ovl_mountinfo_unescape(field[4]);
				snprintf(mnt, mntlen, "%s", field[4]);
			}
			ret = 1;
			break;
		}
	}
	free(line);
	fclose(f);
	return ret;
}

/* ---- uuid -> layer ---- */

struct ovl_layer *ovl_stack_layer_by_uuid(struct ovl_stack *s,
					  const uint8_t uuid[16],
					  int first, int last)
{
	static const uint8_t null_uuid[16];
	bool is_null = !memcmp(uuid, null_uuid, 16);
	int i;

	if (first < 0)
		first = 0;
	if (last >= s->nlayers)
		last = s->nlayers - 1;
	for (i = first; i <= last; i++) {
		struct ovl_layer *l = &s->layers[i];

		if (l->fd < 0)
			continue;
		/* an unknown uuid is kept as zeros: only null matches it */
		if (!memcmp(l->uuid, uuid, 16))
			return l;
	}
	/* uuid=off (all layers on one fs) writes null uuids in handles */
	if (is_null && s->opts.uuid == OVL_UUID_OFF) {
		for (i = first; i <= last; i++)
			if (s->layers[i].fd >= 0)
				return &s->layers[i];
	}
	return NULL;
}
