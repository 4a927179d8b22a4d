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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkid.h>

#include "overlay/stack.h"
#include "overlay/util.h"
#include "overlay/xattr.h"

/* The kernel refuses more layers than this (OVL_MAX_STACK). */
#define OVL_STACK_MAX_LOWER	500

/* FS_IOC_GETFSUUID (Linux 6.5); older headers lack it. */
struct ovl_fsuuid2 {
	uint8_t len;
	uint8_t uuid[16];
};
#define OVL_FS_IOC_GETFSUUID _IOR(0x15, 0, struct ovl_fsuuid2)

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
	 * reads the command line; how they lie to each other (the same dir
	 * twice, nested, work on another mount) is the mountable check's */
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
		}
	}

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

/*
 * One overlay's super options, raw from mountinfo (commas inside paths
 * are octal-escaped there, so a raw ',' separates options; libmount
 * would undo those escapes and leave the commas ambiguous): fn for
 * every layer dir they name.
 */
static int ovl_mnt_opts_layers(char *opts, const char *mnt, dev_t dev,
			       ovl_mnt_layer_fn fn, void *arg)
{
	char *opt, *save = NULL;
	int r;

	for (opt = strtok_r(opts, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save)) {
		static const char *const keys[] = {
			"upperdir=", "workdir=", "lowerdir+=", "datadir+=",
		};
		bool done = false;

		ovl_mountinfo_unescape(opt);
		for (size_t k = 0; k < OVL_ARRAY_SIZE(keys) && !done; k++) {
			size_t kl = strlen(keys[k]);

			if (strncmp(opt, keys[k], kl))
				continue;
			done = true;
			ovl_opt_unescape(opt + kl);
			/* "lowerdir+" -> "lowerdir" */
			opt[kl - 1 - (keys[k][kl - 2] == '+')] = '\0';
			r = fn(arg, mnt, dev, opt, opt + kl);
			if (r)
				return r;
		}
		if (done || strncmp(opt, "lowerdir=", 9))
			continue;
		/* split on unescaped ':'; after "::" come the data layers */
		char *p = opt + 9, *start = p;
		bool data = false, end;

		for (;; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				continue;
			}
			if (*p != ':' && *p != '\0')
				continue;
			end = *p == '\0';
			*p = '\0';
			if (*start) {
				ovl_opt_unescape(start);
				r = fn(arg, mnt, dev, data ? "datadir" : "lowerdir", start);
				if (r)
					return r;
			} else {
				data = true;
			}
			if (end)
				break;
			start = p + 1;
		}
	}
	return 0;
}

int ovl_mountinfo_overlays(ovl_mnt_layer_fn fn, void *arg)
{
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	while (!ret && getline(&line, &cap, f) > 0) {
		char *field[64], *save = NULL, *tok;
		int nf = 0, sep = -1, i;
		unsigned maj, min;

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
		if (sscanf(field[2], "%u:%u", &maj, &min) != 2)
			continue;
		ovl_mountinfo_unescape(field[4]);
		ret = ovl_mnt_opts_layers(field[sep + 3], field[4], makedev(maj, min),
					  fn, arg);
	}
	free(line);
	fclose(f);
	return ret;
}

static bool ovl_devino_eq(const struct stat *st, const struct ovl_layer *l)
{
	return l->fd >= 0 && st->st_dev == l->dev && st->st_ino == l->ino;
}

struct ovl_mounted_arg {
	const struct ovl_stack *s;
	char *mnt;
	size_t mntlen;
};

/*
 * Does a layer dir of a mounted overlay name one of our dirs: its upper
 * or work dir our upper or work dir, or, without an upper, its lower our
 * first lower? A relative path is taken from our cwd: the kernel keeps
 * the string as given.
 */
static int ovl_mounted_layer(void *arg, const char *mnt, dev_t dev,
			     const char *key, const char *path)
{
	struct ovl_mounted_arg *a = arg;
	const struct ovl_stack *s = a->s;
	struct stat st, wst;
	bool hit;

	(void)dev;
	if (s->has_upper != (!strcmp(key, "upperdir") || !strcmp(key, "workdir")))
		return 0;
	if (!*path || stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (!s->has_upper)
		hit = s->nlayers > 1 && ovl_devino_eq(&st, &s->layers[1]);
	else
		hit = ovl_devino_eq(&st, &s->layers[0]) ||
		      (s->workfd >= 0 && fstat(s->workfd, &wst) == 0 &&
		       wst.st_dev == st.st_dev && wst.st_ino == st.st_ino);
	if (hit && a->mnt && a->mntlen)
		snprintf(a->mnt, a->mntlen, "%s", mnt);
	return hit;
}

int ovl_stack_mounted(const struct ovl_stack *s, char *mnt, size_t mntlen)
{
	struct ovl_mounted_arg a = { s, mnt, mntlen };

	return ovl_mountinfo_overlays(ovl_mounted_layer, &a);
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
