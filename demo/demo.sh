#!/bin/sh
# A first look at fsck.overlay, from the source tree, as root on Debian 12:
# installs the missing build packages (deps.txt), builds into build/demo,
# makes a small clean overlay stack and a damaged copy under a temp dir and
# runs `fsck.overlay -n` on both: exit 0, then exit 4 with the problems.
#
# The stacks are made by the kernel (a metacopy=on mount: a chown, a
# chmod, a rename, a rm) when overlayfs can be mounted, else by hand with
# setfattr and mknod, the way the kernel lays them out.
#
#   demo/demo.sh            KEEP=1 keeps the temp dir, BY_HAND=1 skips the mount
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)

say() { printf '\n== %s\n' "$*"; }

say "build dependencies (deps.txt)"
tests/run-all.sh --deps-only || exit 1

say "building fsck.overlay in build/demo"
if [ ! -x configure ] || [ ! -f build-aux/tap-driver.sh ]; then
	./autogen.sh >/dev/null 2>&1 || { echo "autogen.sh failed" >&2; exit 1; }
fi
mkdir -p build/demo
(cd build/demo && { [ -f Makefile ] || "$top/configure" >/dev/null; } &&
	make -j"$(nproc)" fsck.overlay >/dev/null) ||
	{ echo "build failed (see build/demo)" >&2; exit 1; }
FSCK=$top/build/demo/fsck.overlay

[ "$(id -u)" -eq 0 ] || { echo "the demo stacks need root (trusted.* xattrs, mknod)" >&2; exit 1; }

T=$(mktemp -d /tmp/ovl-demo.XXXXXX) || exit 1
if [ -z "${KEEP:-}" ]; then
	trap 'mountpoint -q "$T/m" 2>/dev/null && umount "$T/m"; rm -rf "$T"' EXIT
fi

# The lower layer: an image with a config file, a tool, some data.
mklower() {
	mkdir -p "$1/etc" "$1/bin" "$1/data" "$1/tmp"
	printf 'color=blue\n' >"$1/etc/app.conf"
	head -c 100000 /dev/zero >"$1/bin/tool"
	printf 'old name\n' >"$1/data/old.txt"
	printf 'junk\n' >"$1/tmp/junk"
}

# A stack made by the kernel.
kernel_stack() {
	d=$1
	mklower "$d/lower"
	mkdir -p "$d/upper" "$d/work" "$T/m"
	mount -t overlay overlay -o \
		"lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work,metacopy=on,redirect_dir=on,index=on" \
		"$T/m" || return 1
	chown 1000:1000 "$T/m/etc/app.conf"	# metadata-only copy-up
	chmod 700 "$T/m/bin/tool"		# metadata-only copy-up
	mv "$T/m/data/old.txt" "$T/m/data/new.txt"	# metacopy + redirect + whiteout
	rm "$T/m/tmp/junk"			# a whiteout
	umount "$T/m"
}

# The same layout by hand (no overlayfs here): what the kernel would write,
# without the origin file handles and the index.
hand_stack() {
	d=$1
	x=trusted.overlay
	mklower "$d/lower"
	mkdir -p "$d/upper/etc" "$d/upper/bin" "$d/upper/data" "$d/upper/tmp" "$d/work/work"
	truncate -s 11 "$d/upper/etc/app.conf"
	chown 1000:1000 "$d/upper/etc/app.conf"
	setfattr -n $x.metacopy "$d/upper/etc/app.conf"
	truncate -s 100000 "$d/upper/bin/tool"
	chmod 700 "$d/upper/bin/tool"
	setfattr -n $x.metacopy "$d/upper/bin/tool"
	truncate -s 9 "$d/upper/data/new.txt"
	setfattr -n $x.metacopy "$d/upper/data/new.txt"
	setfattr -n $x.redirect -v old.txt "$d/upper/data/new.txt"
	setfattr -n $x.impure -v y "$d/upper/data"
	mknod "$d/upper/data/old.txt" c 0 0
	mknod "$d/upper/tmp/junk" c 0 0
}

# What life does to a stack: lower data deleted under a metacopy file, a
# whiteout for a name that never existed, a metacopy xattr cut short.
damage() {
	d=$1
	rm "$d/lower/etc/app.conf"
	mknod "$d/upper/ghost" c 0 0
	setfattr -n trusted.overlay.metacopy -v 0x0001 "$d/upper/bin/tool"
}

how="by a metacopy=on overlay mount"
modprobe overlay 2>/dev/null
if [ -n "${BY_HAND:-}" ] || ! kernel_stack "$T/clean" 2>/dev/null ||
	! kernel_stack "$T/damaged" 2>/dev/null; then
	how="by hand (setfattr, mknod)"
	rm -rf "$T/clean" "$T/damaged"
	hand_stack "$T/clean" && hand_stack "$T/damaged" || exit 1
fi
damage "$T/damaged"

show() {
	opts="lowerdir=$1/lower,upperdir=$1/upper,workdir=$1/work"
	printf '$ fsck.overlay -n -o %s\n' "$opts"
	"$FSCK" -n -o "$opts"
	echo "exit status $?"
}

say "a clean stack, made $how: $T/clean"
show "$T/clean"
say "the damaged copy: lower /etc/app.conf deleted, orphan whiteout /ghost, metacopy xattr of /bin/tool cut to 2 bytes"
show "$T/damaged"
[ -n "${KEEP:-}" ] && say "stacks kept in $T"
exit 0
