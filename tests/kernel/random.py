#!/usr/bin/env python3
"""Randomized differential tester: the kernel is the judge (issue 11).

For each configuration (a set of overlay mount options and a way to build
the lower layers) and each seed, a random lower tree is written, the stack
is mounted, a seeded random sequence of operations is run through the
merged dir, the merged view is captured and the stack unmounted.  Then

  R1  fsck.overlay -n -o OPTS exits 0 (the kernel made this layout);
      seeds 4k+1 run it again cold (caches dropped): the same output (R1c);
  R2  fsck.overlay -y (or -p) changes nothing the merged view shows: the
      stack is mounted again and its view compared with the one captured
      before the unmount (paths that could not be read then are exempt);
      a second -n after -y exits 0.

Stacks built in stages (a pushed-down upper, rotated lowers, a data-only
layer, an inner overlay) are also checked with -n after each stage.

Output is TAP, one test point per sequence.  Every failure prints a
command that reproduces it and a shell script (repro.sh, in the kept
sequence dir) doing the same with plain commands.

Environment:
  FSCK      the fsck.overlay binary (required)
  SEEDS     sequences per configuration (default 10)
  SEED      first seed (default 1)
  OPS       operations per sequence (default 40)
  CONFIG    comma-separated configuration names (default: all)
  KEEP      1: keep every sequence dir (failures are kept unless
            RT_NOKEEP=1: long runs, the seed reproduces them)
  RT_DIR    where to make the temp dir (default $top_builddir or .)
  RT_RESULTS  append one JSON line per failure to this file
  RT_REPLAY   a JSON file of ops (from a kept sequence) to run instead
              of the random ones (used to shrink a failure)
  RT_NOFSCK=1 control run: remount without running -y (a view change
              then is the kernel's own, not the repair's)
  VERBOSE   1: print every fsck output
"""

import errno
import hashlib
import json
import os
import random
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time

FSCK = os.environ.get("FSCK", "")
NAMES = ["a", "b", "c", "d", "e", "f", "g", "h"]
XNAMES = ["user.k1", "user.k2", "user.k3"]

# name -> (mount feature options, layout)
CONFIGS = [
    ("default", "", "single"),
    ("redirect_on", "redirect_dir=on", "single"),
    ("redirect_follow", "redirect_dir=follow", "pushdown"),
    ("redirect_off", "redirect_dir=off", "single"),
    ("index", "index=on", "single"),
    ("metacopy", "metacopy=on", "single"),
    ("metacopy_index", "metacopy=on,index=on", "single"),
    ("nfs_export", "index=on,nfs_export=on", "single"),
    ("xino", "xino=on", "twofs"),
    ("userxattr", "userxattr", "single"),
    ("multi", "", "rotate"),
    ("multi_redirect", "redirect_dir=on", "rotate"),
    ("multi_metacopy", "metacopy=on", "rotate"),
    ("multi_index", "index=on", "rotate"),
    ("multi_metacopy_index", "metacopy=on,index=on", "rotate"),
    ("tmpfs_metacopy_index", "metacopy=on,index=on", "tmpfs"),
    ("tmpfs_nfs_export", "index=on,nfs_export=on", "tmpfs"),
    ("dataonly", "metacopy=on", "dataonly"),
    ("nested", "", "nested"),
    ("uuid_null_index", "index=on,uuid=null", "single"),
    ("uuid_off", "uuid=off", "single"),
    ("uuid_off_metacopy_index", "metacopy=on,index=on,uuid=off", "rotate"),
    ("xino_auto", "xino=auto", "twofs"),
    ("redirect_nofollow", "redirect_dir=nofollow", "single"),
    ("metacopy_verity", "metacopy=on,verity=on", "single"),
]


def ename(e):
    return errno.errorcode.get(e, str(e))


class Seq:
    """One sequence: its dir, its shell log (the reproducer), its ops."""

    def __init__(self, root, config, feats, layout, seed, nops, suffix=""):
        self.config, self.feats, self.layout = config, feats, layout
        self.seed, self.nops = seed, nops
        self.dir = os.path.join(root, "%s-%d%s" % (config, seed, suffix))
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.rng_tree = random.Random("tree:%s:%d" % (config, seed))
        self.rng_ops = random.Random("ops:%s:%d" % (config, seed))
        self.sh = []            # the reproducer, relative to $T
        self.ops = []           # ops done on the final stack (for replay)
        self.mounts = []        # mounted dirs, innermost last
        self.fails = []         # (kind, class key, text)
        self.out = []           # diag lines
        self.opts = None
        self.diffs = []
        self.n1codes = "?"
        self.tmpfs = []         # tmpfs mounts, unmounted by repro.sh's end
        self.mopts = {}         # mount point -> its options
        self.kdiffs = []        # view changes with layers untouched

    def p(self, rel):
        return os.path.join(self.dir, rel)

    def log(self, line):
        self.sh.append(line)

    # ---- mounting ----
    def mount(self, opts_rel, mnt):
        """opts_rel: options with layer dirs relative to the seq dir."""
        opts = self.abs_opts(opts_rel)
        self.log("mount -t overlay overlay -o \"%s\" %s" %
                 (opts_rel.replace("@", "$T/"), mnt))
        r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts,
                            self.p(mnt)], capture_output=True, text=True)
        if r.returncode:
            raise SetupError("mount %s: %s" % (opts_rel, r.stderr.strip()))
        self.mounts.append(self.p(mnt))
        self.mopts[mnt] = opts_rel

    def umount(self, mnt):
        self.log("umount %s" % mnt)
        for i in range(50):
            r = subprocess.run(["umount", self.p(mnt)], capture_output=True,
                               text=True)
            if r.returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise SetupError("umount %s: %s" % (mnt, r.stderr.strip()))
        self.mounts.remove(self.p(mnt))

    def abs_opts(self, opts_rel):
        return opts_rel.replace("@", self.dir + "/")

    def cleanup(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], capture_output=True)
        self.mounts = []

    # ---- fsck ----
    def fsck(self, mode, opts_rel, tag):
        opts = self.abs_opts(opts_rel)
        cmd = [FSCK, mode]
        if mode != "-n":
            cmd += ["-z", self.p("undo.%s" % tag)]
        cmd += ["-o", opts]
        self.log("$FSCK %s%s -o \"%s\"; echo \"fsck %s: $?\"" % (
            mode, " -z undo.%s" % tag if mode != "-n" else "",
            opts_rel.replace("@", "$T/"), tag))
        try:
            r = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=120)
            rc, out = r.returncode, r.stdout + r.stderr
        except subprocess.TimeoutExpired as e:
            rc, out = 124, "timeout\n%s" % (e.stdout or "")
        with open(self.p("fsck.%s.out" % tag), "w") as f:
            f.write("%s\nexit %d\n%s" % (" ".join(cmd), rc, out))
        if os.environ.get("VERBOSE"):
            self.out.append("fsck %s %s -> %d" % (mode, tag, rc))
            self.out += out.splitlines()
        return rc, out


class SetupError(Exception):
    pass


def codes_of(out):
    """The problem codes of fsck's lines 'CODE layer:/path: ...'."""
    cs = set()
    for l in out.splitlines():
        w = l.split(" ", 1)[0]
        if w.isupper() and "_" in w and len(l.split(" ", 1)) > 1 and \
                ":" in l.split(" ", 2)[1]:
            cs.add(w)
    return sorted(cs)


# ---- deterministic data, the same in python and in the shell ----

def data_of(tok, n):
    unit = (tok + "\n").encode()
    return (unit * (n // len(unit) + 1))[:n]


def sh_data(tok, n):
    return "yes %s | head -c %d" % (tok, n)


def rand_size(rng):
    return rng.choice([0, 1, 7, 100, 511, 4096, 4097, 10000, 70000])


# ---- the random lower tree ----

def make_tree(seq, rel, rng, prefix="l"):
    """A random tree in seq dir 'rel': dirs, files, hard links with
    nlink>1, symlinks (dangling and self loops), fifos, xattrs, owners."""
    base = seq.p(rel)
    os.makedirs(base, exist_ok=True)
    dirs = [""]
    files = []
    for i in range(rng.randint(2, 8)):
        parent = rng.choice(dirs)
        d = os.path.join(parent, rng.choice(NAMES) + "d")
        if d in dirs:
            continue
        os.makedirs(os.path.join(base, d), exist_ok=True)
        seq.log("mkdir -p %s/%s" % (rel, d))
        dirs.append(d)
    for i in range(rng.randint(4, 14)):
        f = os.path.join(rng.choice(dirs), rng.choice(NAMES))
        if f in files or f in dirs:
            continue
        n = rand_size(rng)
        tok = "%s%d" % (prefix, i)
        with open(os.path.join(base, f), "wb") as fh:
            fh.write(data_of(tok, n))
        seq.log("%s > %s/%s" % (sh_data(tok, n), rel, f))
        files.append(f)
        if rng.random() < 0.3:
            m = rng.choice([0o600, 0o644, 0o755, 0o4755, 0o444])
            os.chmod(os.path.join(base, f), m)
            seq.log("chmod %o %s/%s" % (m, rel, f))
        if rng.random() < 0.2:
            u = rng.choice([0, 1, 1000])
            os.lchown(os.path.join(base, f), u, u)
            seq.log("chown %d:%d %s/%s" % (u, u, rel, f))
        if rng.random() < 0.25:
            os.setxattr(os.path.join(base, f), "user.lx", tok.encode())
            seq.log("setfattr -n user.lx -v %s %s/%s" % (tok, rel, f))
    for i in range(rng.randint(0, 3)):
        if not files:
            break
        src = rng.choice(files)
        for j in range(rng.randint(1, 2)):
            dst = os.path.join(rng.choice(dirs), rng.choice(NAMES) + "h%d" % j)
            if os.path.lexists(os.path.join(base, dst)):
                continue
            os.link(os.path.join(base, src), os.path.join(base, dst))
            seq.log("ln %s/%s %s/%s" % (rel, src, rel, dst))
    for i in range(rng.randint(0, 3)):
        d = rng.choice(dirs)
        nm = rng.choice(NAMES) + "s"
        p = os.path.join(d, nm)
        if os.path.lexists(os.path.join(base, p)):
            continue
        tgt = rng.choice([nm, "nowhere", "../" + nm,
                          os.path.basename(rng.choice(files)) if files else nm])
        os.symlink(tgt, os.path.join(base, p))
        seq.log("ln -s %s %s/%s" % (shlex.quote(tgt), rel, p))
    if rng.random() < 0.3:
        p = os.path.join(rng.choice(dirs), "fifo")
        if not os.path.lexists(os.path.join(base, p)):
            os.mkfifo(os.path.join(base, p))
            seq.log("mkfifo %s/%s" % (rel, p))
    if rng.random() < 0.3 and len(dirs) > 1:
        d = rng.choice(dirs[1:])
        os.setxattr(os.path.join(base, d), "user.dx", b"dir")
        seq.log("setfattr -n user.dx -v dir %s/%s" % (rel, d))


# ---- the merged view ----

def list_tree(top):
    """(dirs, nondirs by type) of a mounted tree, relative paths."""
    dirs, files, others = [""], [], []
    stack = [""]
    while stack:
        d = stack.pop()
        try:
            ents = sorted(os.listdir(os.path.join(top, d)))
        except OSError:
            continue
        for n in ents:
            rp = os.path.join(d, n)
            try:
                st = os.lstat(os.path.join(top, rp))
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                dirs.append(rp)
                stack.append(rp)
            elif stat.S_ISREG(st.st_mode):
                files.append(rp)
            else:
                others.append(rp)
    return dirs, files, others


def capture(top):
    """path -> dict of what the merged view shows; errors as ERR strings."""
    view = {}
    inodes = {}
    stack = [""]
    while stack:
        d = stack.pop()
        try:
            ents = sorted(os.listdir(os.path.join(top, d) if d else top))
        except OSError as e:
            view.setdefault(d or "/", {})["readdir"] = "ERR:" + ename(e.errno)
            continue
        for n in ents:
            rp = os.path.join(d, n)
            ap = os.path.join(top, rp)
            v = {}
            view[rp] = v
            try:
                st = os.lstat(ap)
            except OSError as e:
                v["lstat"] = "ERR:" + ename(e.errno)
                continue
            v["type"] = stat.S_IFMT(st.st_mode)
            v["mode"] = "%o" % stat.S_IMODE(st.st_mode)
            v["owner"] = "%d:%d" % (st.st_uid, st.st_gid)
            v["nlink"] = st.st_nlink
            if stat.S_ISDIR(st.st_mode):
                stack.append(rp)
            else:
                v["size"] = st.st_size
                inodes.setdefault((st.st_dev, st.st_ino), []).append(rp)
            if stat.S_ISREG(st.st_mode):
                try:
                    with open(ap, "rb") as f:
                        v["data"] = hashlib.sha1(f.read()).hexdigest()[:16]
                except OSError as e:
                    v["data"] = "ERR:" + ename(e.errno)
            elif stat.S_ISLNK(st.st_mode):
                try:
                    v["target"] = os.readlink(ap)
                except OSError as e:
                    v["target"] = "ERR:" + ename(e.errno)
            try:
                xs = {}
                for x in os.listxattr(ap, follow_symlinks=False):
                    if x.startswith("user.") or x.startswith("security."):
                        xs[x] = os.getxattr(ap, x, follow_symlinks=False).hex()
                v["xattrs"] = json.dumps(xs, sort_keys=True)
            except OSError as e:
                v["xattrs"] = "ERR:" + ename(e.errno)
    for grp in inodes.values():
        if len(grp) > 1:
            for rp in grp:
                view[rp]["links"] = ",".join(sorted(grp))
    return view


def failed(v):
    return any(isinstance(x, str) and x.startswith("ERR:") for x in v.values())


def compare(before, after):
    diffs = []
    for rp in sorted(set(before) | set(after)):
        b, a = before.get(rp), after.get(rp)
        if b is not None and failed(b):
            continue
        # a path under a dir that could not be listed is exempt too
        if any(before.get(pp, {}).get("readdir") for pp in parents(rp)):
            continue
        if b is None:
            diffs.append("%s: appeared %s" % (rp, short(a)))
        elif a is None:
            diffs.append("%s: vanished (was %s)" % (rp, short(b)))
        else:
            for k in sorted(set(a) | set(b)):
                if a.get(k) != b.get(k):
                    diffs.append("%s: %s %s -> %s" % (rp, k, b.get(k), a.get(k)))
    return diffs


def parents(rp):
    out = ["/"]
    while "/" in rp:
        rp = rp.rsplit("/", 1)[0]
        out.append(rp)
    return out


def short(v):
    return " ".join("%s=%s" % (k, v[k]) for k in sorted(v) if k != "xattrs")


# ---- random operations through the merged dir ----

OPW = [("create", 10), ("write", 8), ("append", 6), ("truncate", 5),
       ("chown", 8), ("chmod", 8), ("setxattr", 6), ("rmxattr", 2),
       ("symlink", 4), ("mkfifo", 2), ("link", 8), ("unlink", 8),
       ("rmdir", 3), ("rmtree", 2), ("rename", 12), ("renamedir", 12),
       ("copyup", 6), ("mkdir", 6), ("remount", 2)]


def gen_op(rng, top, i):
    """One op as a list [name, args...], from what the merged dir holds."""
    dirs, files, others = list_tree(top)
    nondirs = files + others
    names = [o for o, w in OPW for _ in range(w)]
    op = rng.choice(names)

    def newpath():
        # the lower's dir names end in d, its hard links in h0/h1: some
        # new names reuse them (a dir made where one was moved away)
        return os.path.join(rng.choice(dirs), rng.choice(NAMES) +
                            rng.choice(["", "", "", "d", "h0"]))

    def anypath():
        return rng.choice(dirs[1:] + nondirs) if len(dirs) > 1 or nondirs \
            else newpath()
    tok = "o%d" % i
    if op == "create":
        return ["create", newpath(), tok, rand_size(rng)]
    if op in ("write", "append", "truncate", "copyup") and files:
        f = rng.choice(files)
        if op == "write":
            return ["write", f, tok, rng.randint(1, 6000), rng.randint(0, 9000)]
        if op == "append":
            return ["append", f, tok, rng.randint(1, 5000)]
        if op == "truncate":
            return ["truncate", f, rand_size(rng)]
        return ["copyup", f]
    if op == "chown":
        u = rng.choice([0, 1, 2, 1000])
        return ["chown", anypath(), u, rng.choice([0, u])]
    if op == "chmod":
        return ["chmod", rng.choice(dirs[1:] + files) if len(dirs) > 1 or files
                else "", rng.choice([0o600, 0o644, 0o755, 0o700, 0o2755])]
    if op == "setxattr":
        return ["setxattr", rng.choice(dirs + files), rng.choice(XNAMES), tok]
    if op == "rmxattr":
        return ["rmxattr", rng.choice(dirs + files),
                rng.choice(XNAMES + ["user.lx", "user.dx"])]
    if op == "symlink":
        p = newpath()
        tgt = rng.choice([os.path.basename(p), "x", rng.choice(NAMES),
                          "../" + os.path.basename(p)])
        return ["symlink", tgt, p]
    if op == "mkfifo":
        return ["mkfifo", newpath()]
    if op == "link" and files:
        return ["link", rng.choice(files), newpath() + "l"]
    if op == "unlink" and nondirs:
        return ["unlink", rng.choice(nondirs)]
    if op in ("rmdir", "rmtree", "renamedir") and len(dirs) > 1:
        d = rng.choice(dirs[1:])
        if op == "renamedir":
            dst = rng.choice([newpath(), newpath(), rng.choice(dirs[1:])])
            return ["rename", d, dst]
        return [op, d]
    if op == "rename" and nondirs:
        return ["rename", rng.choice(nondirs),
                rng.choice([newpath(), rng.choice(nondirs)])]
    if op == "mkdir":
        return ["mkdir", newpath() + rng.choice(["n", "", ""])]
    if op == "remount":
        # every overlay inode evicted: what the kernel kept on disk (nlink
        # xattrs, index entries) is read back, as after memory pressure
        return ["remount"]
    return ["mkdir", newpath()]


def sh_op(op, m):
    """The op as a shell line, paths relative to $T."""
    q = lambda rp: shlex.quote(os.path.join(m, rp) if rp else m)
    o = op[0]
    if o == "create":
        return "%s > %s" % (sh_data(op[2], op[3]), q(op[1]))
    if o == "write":
        return ("%s | dd of=%s seek=%d oflag=seek_bytes conv=notrunc "
                "status=none" % (sh_data(op[2], op[3]), q(op[1]), op[4]))
    if o == "append":
        return "%s >> %s" % (sh_data(op[2], op[3]), q(op[1]))
    if o == "truncate":
        return "truncate -s %d %s" % (op[2], q(op[1]))
    if o == "copyup":
        return ": >> %s" % q(op[1])
    if o == "chown":
        return "chown -h %d:%d %s" % (op[2], op[3], q(op[1]))
    if o == "chmod":
        return "chmod %o %s" % (op[2], q(op[1]))
    if o == "setxattr":
        return "setfattr -h -n %s -v %s %s" % (op[2], op[3], q(op[1]))
    if o == "rmxattr":
        return "setfattr -h -x %s %s" % (op[2], q(op[1]))
    if o == "symlink":
        return "ln -s %s %s" % (shlex.quote(op[1]), q(op[2]))
    if o == "mkfifo":
        return "mkfifo %s" % q(op[1])
    if o == "link":
        return "ln %s %s" % (q(op[1]), q(op[2]))
    if o == "unlink":
        return "rm %s" % q(op[1])
    if o == "rmdir":
        return "rmdir %s" % q(op[1])
    if o == "rmtree":
        return "rm -rf %s" % q(op[1])
    if o == "rename":
        return "rn %s %s" % (q(op[1]), q(op[2]))
    if o == "mkdir":
        return "mkdir %s" % q(op[1])
    raise ValueError(o)


def do_op(op, top):
    P = lambda rp: os.path.join(top, rp) if rp else top
    o = op[0]
    # never block on a fifo, never write through a symlink
    NB = os.O_NONBLOCK | os.O_NOFOLLOW
    if o in ("create", "write", "append", "copyup"):
        fl = {"create": os.O_CREAT | os.O_TRUNC, "write": 0,
              "append": os.O_APPEND, "copyup": os.O_APPEND}[o]
        fd = os.open(P(op[1]), os.O_WRONLY | NB | fl, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a file")
            if o == "write":
                os.pwrite(fd, data_of(op[2], op[3]), op[4])
            elif o != "copyup":
                os.write(fd, data_of(op[2], op[3]))
        finally:
            os.close(fd)
    elif o == "truncate":
        os.truncate(P(op[1]), op[2])
    elif o == "chown":
        os.lchown(P(op[1]), op[2], op[3])
    elif o == "chmod":
        os.chmod(P(op[1]), op[2])
    elif o == "setxattr":
        os.setxattr(P(op[1]), op[2], op[3].encode(), follow_symlinks=False)
    elif o == "rmxattr":
        os.removexattr(P(op[1]), op[2], follow_symlinks=False)
    elif o == "symlink":
        os.symlink(op[1], P(op[2]))
    elif o == "mkfifo":
        os.mkfifo(P(op[1]))
    elif o == "link":
        os.link(P(op[1]), P(op[2]))
    elif o == "unlink":
        os.unlink(P(op[1]))
    elif o == "rmdir":
        os.rmdir(P(op[1]))
    elif o == "rmtree":
        shutil.rmtree(P(op[1]))
    elif o == "rename":
        os.rename(P(op[1]), P(op[2]))
    elif o == "mkdir":
        os.mkdir(P(op[1]))


def run_ops(seq, mnt, nops, rng, record, replay=None):
    top = seq.p(mnt)
    ops = replay if replay is not None else None
    n = len(ops) if ops is not None else nops
    for i in range(n):
        op = ops[i] if ops is not None else gen_op(rng, top, i)
        if record:
            seq.ops.append(op)
        if op[0] == "remount":
            seq.umount(mnt)
            seq.mount(seq.mopts[mnt], mnt)
            continue
        line = sh_op(op, mnt)
        try:
            do_op(op, top)
            seq.log(line)
        except OSError as e:
            if op[0] == "rmtree":   # may have removed a part
                seq.log("%s 2>/dev/null  # %s" % (line, ename(e.errno)))
            else:
                seq.log("# failed (%s): %s" % (ename(e.errno), line))


# ---- building the stack of one configuration ----

def layer_dirs(opts):
    """The layer dirs of an absolute option string."""
    out = []
    for o in opts.split(","):
        k, _, v = o.partition("=")
        if k == "lowerdir":
            out += [d for d in v.replace("::", ":").split(":") if d]
        elif k in ("upperdir", "workdir"):
            out.append(v)
    return out


def snap(dirs):
    """Every entry of the layers with its inode, metadata and xattrs (all
    namespaces): to tell whether a fsck run wrote anything."""
    res = {}
    for top in dirs:
        if os.path.ismount(top):
            continue        # the inner overlay of "nested"
        for d, subdirs, files in os.walk(top):
            for n in [""] + subdirs + files:
                p = os.path.join(d, n) if n else d
                if n == "" and d != top:
                    continue
                try:
                    st = os.lstat(p)
                    xs = sorted((x, os.getxattr(p, x, follow_symlinks=False))
                                for x in os.listxattr(p, follow_symlinks=False))
                    lk = os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
                except OSError as e:
                    res[p] = ename(e.errno)
                    continue
                isdir = stat.S_ISDIR(st.st_mode)
                res[p] = (st.st_ino, st.st_mode, st.st_uid, st.st_gid,
                          None if isdir else st.st_size, st.st_nlink,
                          None if isdir else st.st_mtime_ns, xs, lk)
    return res


def opts_of(lowers, feats, upper="u", work="w", data=()):
    o = "lowerdir=" + ":".join("@" + l for l in lowers)
    if data:
        o += "::" + "::".join("@" + d for d in data)
    if upper:
        o += ",upperdir=@%s,workdir=@%s" % (upper, work)
    if feats:
        o += "," + feats
    return o


def check_stage(seq, opts, tag):
    rc, out = seq.fsck("-n", opts, tag)
    if rc != 0:
        seq.fails.append(("R1-" + tag, "R1 %s rc=%d %s" % (
            tag.split(".")[0], rc, " ".join(codes_of(out)) or "?"),
            "fsck -n (%s) exit %d:\n%s" % (tag, rc, out)))


def stage(seq, lowers, upper, work, feats, nops, rng, data=()):
    """Mount lowers + fresh upper, run random ops, unmount, check -n."""
    for d in (upper, work):
        os.makedirs(seq.p(d), exist_ok=True)
        seq.log("mkdir -p %s" % d)
    opts = opts_of(lowers, feats, upper, work, data)
    seq.mount(opts, "m")
    run_ops(seq, "m", nops, rng, record=False)
    seq.umount("m")
    check_stage(seq, opts, "stage-" + upper)


def mount_tmpfs(seq, d):
    os.makedirs(seq.p(d))
    seq.log("mkdir %s; mount -t tmpfs tmpfs %s" % (d, d))
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs",
                        seq.p(d)], capture_output=True, text=True)
    if r.returncode:
        raise SetupError("tmpfs: " + r.stderr)
    seq.mounts.insert(0, seq.p(d))
    seq.tmpfs.append(d)


def build(seq):
    """Lays out the lower layers; returns (opts, fs note).  The final
    stack always has upper 'u', work 'w' and is mounted on 'm'."""
    rng, lay, feats = seq.rng_tree, seq.layout, seq.feats
    os.makedirs(seq.p("m"))
    seq.log("mkdir -p m u w")
    if lay == "single":
        make_tree(seq, "l0", rng)
        return opts_of(["l0"], feats)
    if lay == "tmpfs":
        # every layer on one tmpfs of its own (other file handles, a
        # random uuid per mount)
        mount_tmpfs(seq, "fst")
        make_tree(seq, "fst/l0", rng)
        for d in ("fst/u", "fst/w"):
            os.makedirs(seq.p(d))
            seq.log("mkdir -p %s" % d)
        return opts_of(["fst/l0"], feats, "fst/u", "fst/w")
    if lay == "twofs":
        # lower on its own tmpfs, upper and work on the test dir's fs
        mount_tmpfs(seq, "fsb")
        make_tree(seq, "fsb/l0", rng)
        return opts_of(["fsb/l0"], feats)
    if lay == "pushdown":
        # l0 + u0 made by a redirect_dir=on mount, then u0 pushed down
        make_tree(seq, "l0", rng)
        stage(seq, ["l0"], "u0", "w0", "redirect_dir=on",
              max(4, seq.nops // 2), rng)
        return opts_of(["u0", "l0"], feats)
    if lay == "rotate":
        make_tree(seq, "l0", rng)
        lowers = ["l0"]
        for k in range(1, rng.randint(2, 3)):
            stage(seq, lowers, "u%d" % k, "w%d" % k, feats,
                  max(4, seq.nops // 2), rng)
            lowers = ["u%d" % k] + lowers
        return opts_of(lowers, feats)
    if lay == "dataonly":
        # composefs-like: a metacopy layer whose files redirect into a
        # data-only layer.  The kernel writes it: chown (metacopy up) and
        # mv into a new dir (absolute redirect); the rest of that upper
        # is dropped, as the meta layer of an image holds only its tree.
        make_tree(seq, "d0", rng, prefix="d")
        for d in ("mu", "mw"):
            os.makedirs(seq.p(d))
        seq.log("mkdir -p mu mw")
        seq.mount(opts_of(["d0"], "metacopy=on,redirect_dir=on", "mu", "mw"),
                  "m")
        top = seq.p("m")
        os.mkdir(os.path.join(top, "img"))
        seq.log("mkdir m/img")
        dirs, files, _ = list_tree(top)
        for f in files:
            if f.startswith("img"):
                continue
            dst = "img/" + f.replace("/", "_")
            g = rng.choice([0, 1])
            os.lchown(os.path.join(top, f), 0, g)
            os.rename(os.path.join(top, f), os.path.join(top, dst))
            seq.log("chown -h 0:%d m/%s; rn m/%s m/%s" % (g, f, f, dst))
        seq.umount("m")
        for n in os.listdir(seq.p("mu")):
            if n != "img":
                if os.path.isdir(seq.p("mu/" + n)) and \
                        not os.path.islink(seq.p("mu/" + n)):
                    shutil.rmtree(seq.p("mu/" + n))
                else:
                    os.unlink(seq.p("mu/" + n))
                seq.log("rm -rf mu/%s" % n)
        return opts_of(["mu"], feats, data=["d0"])
    if lay == "nested":
        # the lower is a mounted overlay (itself with random ops done)
        make_tree(seq, "l0", rng)
        for d in ("iu", "iw", "im"):
            os.makedirs(seq.p(d))
        seq.log("mkdir -p iu iw im")
        seq.inner = opts_of(["l0"], "", "iu", "iw")
        seq.mount(seq.inner, "im")
        run_ops(seq, "im", max(4, seq.nops // 2), rng, record=False)
        return opts_of(["im"], feats)
    raise ValueError(lay)


def run_seq(root, config, feats, layout, seed, nops, replay=None,
            nofsck=False, suffix="", spoil=False):
    seq = Seq(root, config, feats, layout, seed, nops, suffix)
    mode = mode_of(seed)
    try:
        opts = build(seq)
        seq.opts = opts
        for d in ("u", "w"):
            os.makedirs(seq.p(d), exist_ok=True)
        seq.mount(opts, "m")
        run_ops(seq, "m", nops, seq.rng_ops, record=True, replay=replay)
        evict_if_indexed(seq)
        before = capture(seq.p("m"))
        seq.log("view > view.before")
        seq.umount("m")
        seq.log("# the final stack is unmounted: R1, then %s (R2)" % mode)
        ldirs = layer_dirs(seq.abs_opts(opts))
        s0 = snap(ldirs)
        rc, out = seq.fsck("-n", opts, "n1")
        s1 = snap(ldirs)
        if s0 != s1:
            seq.fails.append(("R0", "R0 -n wrote", "fsck -n changed %s" % (
                ", ".join(sorted(p for p in set(s0) | set(s1)
                                 if s0.get(p) != s1.get(p))[:10]))))
        s2 = s1
        if seed % 4 == 1:
            # cold, as a boot finds it: what the kernel names of an inode
            # opened by its handle depends on its cache, -n must not
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("2\n")
            seq.log("echo 2 > /proc/sys/vm/drop_caches")
            rcc, outc = seq.fsck("-n", opts, "n1cold")
            if (rcc, outc) != (rc, out):
                seq.fails.append(("R1c", "R1c cold rc=%d %s" % (
                    rcc, " ".join(codes_of(outc)) or "?"),
                    "fsck -n warm exit %d:\n%s\ncold exit %d:\n%s" % (
                        rc, out, rcc, outc)))
        seq.n1codes = " ".join(codes_of(out)) or "nothing"
        if rc != 0:
            seq.fails.append(("R1", "R1 rc=%d %s" % (
                rc, " ".join(codes_of(out)) or "?"),
                "fsck -n exit %d:\n%s" % (rc, out)))
        if not nofsck:
            rc2, out2 = seq.fsck(mode, opts, "fix")
            if rc2 not in (0, 1) and not (rc2 == 4 and mode == "-p"):
                seq.fails.append(("FIX", "FIX %s rc=%d %s" % (
                    mode, rc2, " ".join(codes_of(out2)) or "?"),
                    "fsck %s exit %d:\n%s" % (mode, rc2, out2)))
            if spoil:
                spoil_nlink(seq)
            s2 = snap(ldirs)
            rc3, out3 = seq.fsck("-n", opts, "n2")
            if rc3 != 0 and (mode == "-y" or rc == 0):
                seq.fails.append(("R1b", "R1b after %s rc=%d %s" % (
                    mode, rc3, " ".join(codes_of(out3)) or "?"),
                    "fsck -n after %s exit %d:\n%s" % (mode, rc3, out3)))
        try:
            seq.mount(opts, "m")
        except SetupError as e:
            seq.fails.append(("MOUNT", "MOUNT after %s" % mode, str(e)))
        else:
            after = capture(seq.p("m"))
            seq.log("view > view.after; diff view.before view.after")
            seq.umount("m")
            diffs = compare(before, after)
            if diffs and s2 == s1 and not nofsck:
                # the repair wrote nothing: the view changed by the
                # kernel's own remount (nfs_export nlink, inode numbers)
                seq.kdiffs, diffs = diffs, []
            seq.diffs = diffs
            if diffs:
                seq.fails.append(("R2", r2_key("remount" if nofsck else mode,
                                               diffs, seq.n1codes),
                    "view after %s differs:\n%s" % (
                        "remount" if nofsck else mode,
                        "\n".join(diffs[:40]))))
        if layout == "nested":
            seq.umount("im")
            check_stage(seq, seq.inner, "inner")
    except SetupError as e:
        seq.fails.append(("SETUP", "SETUP", str(e)))
    finally:
        seq.cleanup()
    return seq


def evict_if_indexed(seq):
    """With index=on the nlink the kernel shows of an indexed inode is
    its in-memory count while the overlay inode stays cached, and what
    ovl_get_nlink() makes of the layers once it was evicted: the nlink
    xattr applied to the upper or lower count, but the upper count alone
    (the index entry's link included) when the lower has one link.  The
    two differ, so a live view depends on whether memory pressure evicted
    the inode during the ops; the views after a remount never do.  The
    live view is taken from evicted inodes too, so that the control
    (a plain remount) and the repair compare against the same view."""
    if "index=on" not in seq.feats:
        return
    seq.log("echo 2 > /proc/sys/vm/drop_caches")
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2")


def spoil_nlink(seq):
    """RT_SPOIL_NLINK=1, to show the oracle catches an nlink change made
    by a repair: one more link of an upper file in W (beside work/, which
    the kernel empties at mount), as a fix that forgot its temporary link
    would leave.  A file made in the upper (no origin): the kernel shows
    its upper link count as it is."""
    for d, subdirs, files in os.walk(seq.p("u")):
        subdirs.sort()
        for n in sorted(files):
            src = os.path.join(d, n)
            if not stat.S_ISREG(os.lstat(src).st_mode) or any(
                    x.endswith("overlay.origin")
                    for x in os.listxattr(src, follow_symlinks=False)):
                continue
            os.link(src, seq.p("w/spoil"))
            seq.log("ln %s w/spoil" % shlex.quote(
                os.path.relpath(src, seq.dir)))
            return


def judge_r2(seq, root, name, feats, layout, seed, nops, replay):
    """Sorts seq's R2 view changes: those a control run of the same
    sequence, remounted without any fsck run, shows too are the kernel's
    (returned); the rest stay seq's R2 failure."""
    if not any(f[0] == "R2" for f in seq.fails):
        return seq.kdiffs
    ctl = run_seq(root, name, feats, layout, seed, nops, replay, True,
                  ".control")
    shutil.rmtree(ctl.dir, ignore_errors=True)
    own = [d for d in seq.diffs if d not in ctl.diffs]
    seq.fails = [f for f in seq.fails if f[0] != "R2"]
    if own:
        seq.fails.append(("R2", r2_key(mode_of(seed), own, seq.n1codes),
                          "view after %s differs:\n%s" % (
                              mode_of(seed), "\n".join(own[:40]))))
    return [d for d in seq.diffs if d in ctl.diffs]


def oracle_catches_nlink(root, nops):
    """The R2 oracle's own test: a sequence whose repair is spoiled with
    one more link of an upper file must fail R2 on that st_nlink (with
    nfs_export=on, where the kernel's own nlink view once hid such
    changes).  Returns the TAP text after "ok N - "/"not ok N - "."""
    name, feats, layout = [c for c in CONFIGS if c[0] == "nfs_export"][0]
    seq = run_seq(root, name, feats, layout, 4, nops, spoil=True)
    judge_r2(seq, root, name, feats, layout, 4, nops, None)
    shutil.rmtree(seq.dir, ignore_errors=True)
    caught = [d for f in seq.fails if f[0] == "R2"
              for d in f[2].splitlines() if ": nlink " in d]
    what = "R2 reports a spoiled repair's nlink change (nfs_export seed 4)"
    if caught:
        return True, "%s: %s" % (what, caught[0])
    return False, "%s: not reported; fails: %s" % (
        what, "; ".join(k for _, k, _ in seq.fails) or "none")


def r2_key(mode, diffs, codes):
    what = sorted(set(d.split(": ", 1)[1].split(" ")[0] for d in diffs))
    return "R2 %s changed: %s (fsck -n said %s)" % (mode, ",".join(what),
                                                    codes)


def mode_of(seed):
    return "-p" if seed % 3 == 2 else "-y"


def write_repro(seq):
    hdr = [
        "#!/bin/sh",
        "# reproducer: config %s seed %d (%s)" % (seq.config, seq.seed,
                                                 seq.feats or "defaults"),
        "# run as root in an empty dir; FSCK=path/to/fsck.overlay",
        ": ${FSCK:=fsck.overlay}",
        "T=$PWD",
        "view() { (cd m && find . -printf '%p %y %m %U:%G %s %n %l\\n' | sort &&"
        " find . -type f -exec md5sum {} + | sort -k2) 2>&1; }",
        "rn() { perl -e 'rename($ARGV[0], $ARGV[1]) or die \"$!\\n\"' \"$1\" \"$2\"; }",
    ]
    with open(seq.p("repro.sh"), "w") as f:
        f.write("\n".join(hdr + seq.sh + ["umount %s" % d
                                           for d in seq.tmpfs]) + "\n")
    with open(seq.p("ops.json"), "w") as f:
        json.dump(seq.ops, f)


def main():
    if not FSCK or not os.access(FSCK, os.X_OK):
        print("1..0 # SKIP FSCK not set to an executable fsck.overlay")
        return 0
    seeds = int(os.environ.get("SEEDS", "10"))
    seed0 = int(os.environ.get("SEED", "1"))
    nops = int(os.environ.get("OPS", "40"))
    want = [c for c in os.environ.get("CONFIG", "").split(",") if c]
    keep = bool(os.environ.get("KEEP"))
    results = os.environ.get("RT_RESULTS")
    replay = None
    nofsck = bool(os.environ.get("RT_NOFSCK"))
    spoil = bool(os.environ.get("RT_SPOIL_NLINK"))
    if os.environ.get("RT_REPLAY"):
        with open(os.environ["RT_REPLAY"]) as f:
            replay = json.load(f)
    known = [c[0] for c in CONFIGS]
    for c in want:
        if c not in known:
            print("unknown CONFIG %s (known: %s)" % (c, " ".join(known)),
                  file=sys.stderr)
            return 2
    base = os.environ.get("RT_DIR") or os.environ.get("top_builddir") or "."
    root = tempfile.mkdtemp(prefix="random-tests.", dir=base)
    root = os.path.realpath(root)
    n = 0
    nfail = 0
    kept = 0
    t0 = time.time()
    if not (nofsck or spoil or replay) and (not want or "nfs_export" in want):
        n += 1
        good, text = oracle_catches_nlink(root, nops)
        print("%s %d - %s" % ("ok" if good else "not ok", n, text))
        nfail += 0 if good else 1
    for name, feats, layout in CONFIGS:
        if want and name not in want:
            continue
        for seed in range(seed0, seed0 + seeds):
            n += 1
            seq = run_seq(root, name, feats, layout, seed, nops, replay,
                          nofsck, spoil=spoil)
            kdiffs = seq.kdiffs if nofsck else judge_r2(
                seq, root, name, feats, layout, seed, nops, replay)
            rep = "SEED=%d SEEDS=1 OPS=%d CONFIG=%s FSCK=%s %s" % (
                seed, nops, name, FSCK, os.path.join(
                    os.path.dirname(os.path.abspath(__file__)), "random.sh"))
            for l in seq.out:
                print("# " + l)
            if kdiffs:
                print("# %s seed %d: %d view changes after a plain remount "
                      "too (the kernel's, not fsck's), e.g. %s" % (
                          name, seed, len(kdiffs), kdiffs[0]))
            if not seq.fails:
                print("ok %d - %s seed %d" % (n, name, seed))
                if keep:
                    write_repro(seq)
                else:
                    shutil.rmtree(seq.dir, ignore_errors=True)
            else:
                nfail += 1
                write_repro(seq)
                if os.environ.get("RT_NOKEEP"):
                    shutil.rmtree(seq.dir, ignore_errors=True)
                print("not ok %d - %s seed %d: %s" % (
                    n, name, seed, "; ".join(k for _, k, _ in seq.fails)))
                for kind, key, text in seq.fails:
                    for l in text.splitlines()[:30]:
                        print("#   " + l)
                print("#   reproduce: %s" % rep)
                if not os.environ.get("RT_NOKEEP"):
                    print("#   layers, fsck outputs, repro.sh: %s" % seq.dir)
                if results:
                    with open(results, "a") as f:
                        for kind, key, text in seq.fails:
                            f.write(json.dumps({
                                "config": name, "seed": seed, "ops": nops,
                                "kind": kind, "key": key, "text": text,
                                "dir": seq.dir}) + "\n")
            sys.stdout.flush()
    print("1..%d" % n)
    print("# %d sequences, %d failed, %.1f s" % (n, nfail, time.time() - t0))
    if (nfail == 0 or os.environ.get("RT_NOKEEP")) and not keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print("# kept: %s" % root)
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
