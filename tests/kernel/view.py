#!/usr/bin/env python3
"""The merged view of a mounted overlay (or any tree), one line per entry,
for overlay-layers' scenarios to compare: path, type, mode, owner, size,
data digest, link target, device number, mtime, link count (of non-dirs:
a merged dir's count is the kernel's 1), hard-link group, and every xattr
in hex. An entry that cannot be read shows its errno instead.

  view.py [--no-mtime] [--no-dir-mtime] ROOT
"""
import hashlib
import os
import stat
import sys


def xattrs(p):
    try:
        names = sorted(os.listxattr(p, follow_symlinks=False))
    except OSError as e:
        return ["xattrs-error=%d" % e.errno]
    out = []
    for n in names:
        try:
            out.append("%s=%s" % (n, os.getxattr(p, n, follow_symlinks=False).hex()))
        except OSError as e:
            out.append("%s=error%d" % (n, e.errno))
    return out


def main():
    root = [a for a in sys.argv[1:] if not a.startswith("--")][0]
    mtime = "--no-mtime" not in sys.argv
    dir_mtime = mtime and "--no-dir-mtime" not in sys.argv
    groups = {}
    lines = []
    for top, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(top, name)
            rel = os.path.relpath(p, root)
            try:
                st = os.lstat(p)
            except OSError as e:
                lines.append("%s\tLSTAT-ERROR %d" % (rel, e.errno))
                continue
            m = st.st_mode
            kind = "d" if stat.S_ISDIR(m) else "f" if stat.S_ISREG(m) else \
                "l" if stat.S_ISLNK(m) else "c" if stat.S_ISCHR(m) else \
                "b" if stat.S_ISBLK(m) else "p" if stat.S_ISFIFO(m) else "s"
            f = [rel, kind, "%04o" % stat.S_IMODE(m), "%d:%d" % (st.st_uid, st.st_gid)]
            if kind != "d":
                f.append("size=%d" % st.st_size)
                f.append("nlink=%d" % st.st_nlink)
                if st.st_nlink > 1:
                    key = (st.st_dev, st.st_ino)
                    f.append("group=%s" % groups.setdefault(key, rel))
            if kind == "f":
                try:
                    with open(p, "rb") as fh:
                        f.append(hashlib.md5(fh.read()).hexdigest())
                except OSError as e:
                    f.append("READ-ERROR %d" % e.errno)
            elif kind == "l":
                f.append("-> " + os.readlink(p))
            elif kind in "cb":
                f.append("rdev=%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
            if mtime and (kind != "d" or dir_mtime):
                f.append("mtime=%d" % st.st_mtime_ns)
            f.extend(xattrs(p))
            lines.append("\t".join(f))
    sys.stdout.write("".join(l + "\n" for l in lines))


main()
