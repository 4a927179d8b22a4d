/*
 * The data copy-up engine. Only the bytes move: the upper inode keeps its
 * identity, metadata and xattrs; its times are put back after the write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include "overlay/copyup.h"

bool ovl_copyup_verify;

static struct {
	struct ovl_progress *to;
	unsigned long files, files_done;
	unsigned long long bytes, bytes_done;
} prog;

static void progress_draw(void)
{
	char detail[80];

	if (!prog.to)
		return;
	snprintf(detail, sizeof(detail), "%lu/%lu files, %llu/%llu MiB", prog.files_done,
		 prog.files, prog.bytes_done >> 20, prog.bytes >> 20);
	ovl_progress_update(prog.to, prog.bytes_done >> 10, prog.bytes >> 10, detail);
}

void ovl_copyup_progress_start(struct ovl_progress *p, unsigned long files,
			       unsigned long long bytes)
{
	memset(&prog, 0, sizeof(prog));
	prog.to = p;
	prog.files = files;
	prog.bytes = bytes;
	progress_draw();
}

void ovl_copyup_progress_file(void)
{
	prog.files_done++;
	progress_draw();
}

void ovl_copyup_progress_end(void)
{
	prog.bytes_done = prog.bytes;
	progress_draw();
	prog.to = NULL;
}

static const char *forced(void)
{
	const char *v = getenv("OVL_COPYUP_FORCE");
	return v ? v : "";
}

/* Copy [off, off+len) with copy_file_range, else read/write. */
static int copy_range(int src, int dst, off_t off, off_t len, bool use_cfr)
{
	static char buf[1 << 20];

	while (len > 0) {
		ssize_t n = -1;
		if (use_cfr) {
			loff_t in = off, out = off;
			n = copy_file_range(src, &in, dst, &out, (size_t)len, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP ||
				      errno == ENOSYS)) {
				use_cfr = false;	/* another filesystem: plain copy */
				continue;
			}
		} else {
			size_t want = len < (off_t)sizeof(buf) ? (size_t)len : sizeof(buf);
			n = pread(src, buf, want, off);
			if (n > 0) {
				ssize_t done = 0;
				while (done < n) {
					ssize_t w = pwrite(dst, buf + done, (size_t)(n - done),
							   off + done);
					if (w < 0) {
						if (errno == EINTR)
							continue;
						return -1;
					}
					done += w;
				}
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;		/* the source is shorter: the rest reads as zero */
		off += n;
		len -= n;
	}
	return 0;
}

int ovl_copyup_punch(int dst, off_t off, off_t len)
{
	if (len <= 0)
		return 0;
	if (fallocate(dst, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -1;
	/* No hole punching here: zeros read the same. */
	static const char zero[65536];
	while (len > 0) {
		size_t n = len < (off_t)sizeof(zero) ? (size_t)len : sizeof(zero);
		ssize_t w = pwrite(dst, zero, n, off);
		if (w < 0)
			return -1;
		off += w;
		len -= w;
	}
	return 0;
}

int ovl_copyup_data(int src, int dst, off_t size, struct ovl_copyup_stats *st)
{
	struct stat sst, dst_st;
	bool use_cfr = strcmp(forced(), "rw") != 0;

	if (fstat(src, &sst) < 0 || fstat(dst, &dst_st) < 0)
		return -1;
	if (!S_ISREG(sst.st_mode) || !S_ISREG(dst_st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	/*
	 * The size never changes on the way: while the metacopy xattr is set
	 * the kernel takes the size from this file and the data from the
	 * lower one, so a kill at any point leaves a file that reads right.
	 * A clone replaces the data at once when the sizes agree.
	 */
	if (!*forced() && sst.st_size == size &&
	    (dst_st.st_size == size || dst_st.st_size == 0) && ioctl(dst, FICLONE, src) == 0) {
		if (st)
			st->cloned++;
	} else {
		off_t end = sst.st_size < size ? sst.st_size : size;
		off_t off = 0;
		while (off < size) {
			off_t data = off < end ? lseek(src, off, SEEK_DATA) : -1;
			if (data < 0 && off < end && errno != ENXIO)
				data = off;		/* no SEEK_DATA: all data */
			if (data < 0 || data > end)
				data = end;
			/* a hole up to the next data (or to the end) */
			if (ovl_copyup_punch(dst, off, (data < size ? data : size) - off) < 0)
				return -1;
			if (data >= end) {
				if (ovl_copyup_punch(dst, end, size - end) < 0)
					return -1;
				break;
			}
			off_t hole = lseek(src, data, SEEK_HOLE);
			if (hole < 0 || hole > end)
				hole = end;
			if (copy_range(src, dst, data, hole - data, use_cfr) < 0)
				return -1;
			if (st)
				st->bytes += (unsigned long long)(hole - data);
			prog.bytes_done += (unsigned long long)(hole - data);
			progress_draw();
			off = hole;
		}
		if (dst_st.st_size != size && ftruncate(dst, size) < 0)
			return -1;
	}
	/* No sync here: the caller syncs (one syncfs for many copies). */
	if (st)
		st->files++;
	return 0;
}

int ovl_copyup_compare(int a, int b, off_t size)
{
	static char ba[1 << 16], bb[1 << 16];
	off_t off = 0;

	while (off < size) {
		size_t want = size - off < (off_t)sizeof(ba) ? (size_t)(size - off) : sizeof(ba);
		ssize_t na = pread(a, ba, want, off), nb = pread(b, bb, want, off);
		if (na < 0 || nb < 0)
			return -1;
		/* past the end of either: zeros, as a metacopy read gives */
		if ((size_t)na < want)
			memset(ba + na, 0, want - (size_t)na);
		if ((size_t)nb < want)
			memset(bb + nb, 0, want - (size_t)nb);
		if (memcmp(ba, bb, want) != 0)
			return 1;
		off += (off_t)want;
	}
	return 0;
}
