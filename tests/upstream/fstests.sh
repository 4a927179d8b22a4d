#!/bin/sh
# fstests.sh XFSTESTS_DIR [TEST...]
#
# Runs the overlay tests of fstests (xfstests) with fsck.overlay as the
# checker, and without one, and compares: fstests checks the layers with
# `$FSCK_OVERLAY_PROG -n` after every test that used them, so a false
# alarm of fsck.overlay fails a test that the kernel passed.
#
# Not part of `make check`: it needs root, loop devices, a built fstests
# checkout and a long time (the whole overlay/auto group, twice).
#
#   XFSTESTS_DIR  a work tree of fstests (kdave/xfstests); built with
#                 `make` when its test programs are missing
#   TEST...       tests to run (overlay/042 ...); default: -g overlay/auto
#
# Environment:
#   FSCK=PATH             fsck.overlay to test (default: build/fsck.overlay
#                         of this source tree, else the one in PATH)
#   FSTESTS_MODE=both     both: a run without a checker, then one with
#                         fsck.overlay, and the comparison (exit 1 when a
#                         test passing without it fails with it);
#                         with | without: that run only (exit 1 on any
#                         failure)
#   FSTESTS_EXCLUDE=""    groups left out (check -x), e.g. "dangerous"
#   FSTESTS_SKIP="overlay/058"
#                         tests left out (check -e). overlay/058 is out by
#                         default: its `kill -13 $pids` hits the bash
#                         subshells of its background `open_by_handle -s`
#                         calls, not the programs, which sleep on with
#                         files open in the scratch overlay; every later
#                         test then fails with "target is busy" (seen with
#                         bash 5.2 and fstests 63a29724, with or without a
#                         checker). The run still kills what is left of
#                         such processes (any holding a file or cwd below
#                         the work dir) before unmounting.
#   FSTESTS_EVIDENCE=DIR  when fsck.overlay -n fails, copy the layers it
#                         was given (cp -a --preserve=all --parents), its
#                         command line and a sparse copy of the base fs
#                         image (same uuid and inode numbers, so the origin
#                         handles still resolve; fstrim first, so MBs) to
#                         DIR/NNN/callK/; kept only for the tests that fail
#                         with the checker. To reproduce, mount a copy of
#                         the image read-write (its log is replayed; add
#                         -o nouuid for xfs) and run cmdline's fsck on it
#   FSTESTS_WORK=DIR      where the images, mount points and results go
#                         (default: a new dir under /tmp); the results
#                         stay, the images are removed at exit
#   FSTESTS_BASE_FS=xfs   base filesystem of TEST_DEV/SCRATCH_DEV: xfs|ext4
#   FSTESTS_IMG_SIZE=20G  size of each sparse image (overlay/001 wants
#                         8G free on the scratch fs)
#   FSTESTS_TIMEOUT=5400  seconds one ./check run may take
#   FSTESTS_LOOP_FIRST=200  the loop devices are the first two free from
#                         /dev/loopN on (nodes made with mknod when
#                         missing): far from the low numbers `losetup -f`
#                         hands to other tests on the machine, one of
#                         which, detaching "its" stale number, can take
#                         ours mid-run. Each run ends by checking that
#                         both devices still show our images.
#   FSTESTS_NO_APT=1      do not install missing packages
#   UNIONMOUNT_TESTSUITE=DIR  a checkout of amir73il/unionmount-testsuite
#                         (its `run` script): overlay/100-117 run it, each
#                         a long series of renames, links, unlinks and
#                         copy-ups over the layers, checked by
#                         fsck.overlay after; without it they are not run
#
# Packages fstests needs to build and run its overlay tests (Debian 12),
# installed with apt-get when missing:
#   build: make gcc automake libtool-bin pkg-config uuid-dev xfslibs-dev
#          libacl1-dev libaio-dev liburing-dev libattr1-dev libgdbm-dev
#   run:   xfsprogs e2fsprogs attr acl quota gawk bc psmisc dmsetup
#          uuid-runtime libcap2-bin fio dbench python3 sqlite3
# It also makes the users fstests expects when missing: fsgqa (with its
# group), fsgqa2 and 123456-fsgqa. They are left on the machine.
#
# Exit: 0 all well, 1 a regression (or a failure with FSTESTS_MODE=with or
# without), 2 a usage or setup error, 77 not root / no overlayfs.

set -u

me=fstests.sh
die() { echo "$me: $*" >&2; exit 2; }
skip() { echo "$me: SKIP: $*" >&2; exit 77; }

[ $# -ge 1 ] || die "usage: $me XFSTESTS_DIR [TEST...]"
XFS_DIR=$1
shift
[ -x "$XFS_DIR/check" ] || die "$XFS_DIR: no fstests check script there"
XFS_DIR=$(cd "$XFS_DIR" && pwd) || die "$XFS_DIR: cannot enter"

[ "$(id -u)" -eq 0 ] || skip "needs root (loop devices, mounts)"
if ! grep -qw overlay /proc/filesystems; then
	modprobe overlay 2>/dev/null
	grep -qw overlay /proc/filesystems || skip "no overlayfs in this kernel"
fi

MODE=${FSTESTS_MODE:-both}
case $MODE in both|with|without) ;; *) die "FSTESTS_MODE=$MODE: not both, with or without" ;; esac
BASE_FS=${FSTESTS_BASE_FS:-xfs}
case $BASE_FS in xfs|ext4) ;; *) die "FSTESTS_BASE_FS=$BASE_FS: not xfs or ext4" ;; esac
IMG_SIZE=${FSTESTS_IMG_SIZE:-20G}
TIMEOUT=${FSTESTS_TIMEOUT:-5400}
EXCLUDE=${FSTESTS_EXCLUDE:-}
SKIP=${FSTESTS_SKIP-overlay/058}
EVIDENCE=${FSTESTS_EVIDENCE:-}

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
if [ -n "${FSCK:-}" ]; then
	:
elif [ -x "$srcdir/build/fsck.overlay" ]; then
	FSCK=$srcdir/build/fsck.overlay
else
	FSCK=$(command -v fsck.overlay) || FSCK=
fi
if [ "$MODE" != without ]; then
	[ -n "$FSCK" ] && [ -x "$FSCK" ] || die "no fsck.overlay: build it or set FSCK=PATH"
	FSCK=$(cd "$(dirname "$FSCK")" && pwd)/$(basename "$FSCK")
fi

# --- packages, users, the fstests build ---------------------------------

PKGS="make gcc automake libtool-bin pkg-config uuid-dev xfslibs-dev
libacl1-dev libaio-dev liburing-dev libattr1-dev libgdbm-dev xfsprogs
e2fsprogs attr acl quota gawk bc psmisc dmsetup uuid-runtime libcap2-bin
fio dbench python3 sqlite3"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ -z "${FSTESTS_NO_APT:-}" ] || die "missing packages:$missing"
	echo "$me: installing$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null ||
		{ apt-get update -q >/dev/null &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null; } ||
		die "apt-get install$missing failed"
fi

getent group fsgqa >/dev/null || groupadd fsgqa || die "groupadd fsgqa failed"
getent passwd fsgqa >/dev/null || useradd -m -g fsgqa fsgqa || die "useradd fsgqa failed"
for u in fsgqa2 123456-fsgqa; do
	getent passwd "$u" >/dev/null || useradd -m "$u" || die "useradd $u failed"
done

if [ ! -x "$XFS_DIR/ltp/fsstress" ] || [ ! -x "$XFS_DIR/src/open_by_handle" ]; then
	echo "$me: building fstests in $XFS_DIR"
	make -C "$XFS_DIR" -j"$(nproc)" >"${TMPDIR:-/tmp}/fstests-build.log" 2>&1 ||
		die "building fstests failed: see ${TMPDIR:-/tmp}/fstests-build.log"
fi

# --- work dir, loop devices, cleanup ------------------------------------

if [ -n "${FSTESTS_WORK:-}" ]; then
	WORK=$FSTESTS_WORK
	mkdir -p "$WORK" || die "cannot make $WORK"
	WORK=$(cd "$WORK" && pwd)
else
	WORK=$(mktemp -d /tmp/fstests.XXXXXX) || die "mktemp failed"
fi
TEST_LOOP=
SCRATCH_LOOP=
CHECK_PID=
MADE_NODES=

# attach_loop IMAGE: attach IMAGE to the first free /dev/loopN from
# $FSTESTS_LOOP_FIRST on, print the device
attach_loop() {
	n=${FSTESTS_LOOP_FIRST:-200}
	while [ "$n" -lt $((${FSTESTS_LOOP_FIRST:-200} + 100)) ]; do
		dev=/dev/loop$n
		if [ ! -e "$dev" ]; then
			mknod "$dev" b 7 "$n" 2>/dev/null || return 1
			MADE_NODES="$MADE_NODES $dev"
		fi
		if [ -z "$(losetup -n -O BACK-FILE "$dev" 2>/dev/null)" ] &&
		   losetup "$dev" "$1" 2>/dev/null; then
			echo "$dev"
			return 0
		fi
		n=$((n + 1))
	done
	return 1
}

# loops_ours: both loop devices still show our images
loops_ours() {
	[ "$(losetup -n -O BACK-FILE "$TEST_LOOP" 2>/dev/null)" = "$WORK/test.img" ] &&
	[ "$(losetup -n -O BACK-FILE "$SCRATCH_LOOP" 2>/dev/null)" = "$WORK/scratch.img" ]
}

# kill the processes a test left behind: those with a cwd, root or open
# file at or below $WORK (by pid, never this script or its parents)
kill_work_users() {
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" != $$ ] || continue
		for f in "$p/cwd" "$p/root" "$p"/fd/*; do
			case $(readlink "$f" 2>/dev/null) in
			"$WORK"/*)
				echo "$me: killing $pid ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)), left using $WORK" >&2
				kill -9 "$pid" 2>/dev/null
				break ;;
			esac
		done
	done
}

# unmount everything mounted at or below $WORK, deepest first
unmount_work() {
	kill_work_users
	awk -v w="$WORK/" 'index($5, w) == 1 { print length($5), $5 }' /proc/self/mountinfo |
		sort -rn | cut -d' ' -f2- | while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
				echo "$me: cannot unmount $m" >&2
		done
}

cleanup() {
	trap - EXIT INT TERM HUP
	[ -z "$CHECK_PID" ] || kill "$CHECK_PID" 2>/dev/null
	unmount_work
	for l in $TEST_LOOP $SCRATCH_LOOP; do
		losetup -d "$l" 2>/dev/null || echo "$me: cannot detach $l" >&2
	done
	for n in $MADE_NODES; do
		[ -n "$(losetup -n -O BACK-FILE "$n" 2>/dev/null)" ] || rm -f "$n"
	done
	rm -f "$WORK/test.img" "$WORK/scratch.img"
	rmdir "$WORK/test" "$WORK/scratch" 2>/dev/null
}
trap cleanup EXIT
trap 'echo "$me: interrupted" >&2; exit 2' INT TERM HUP

truncate -s "$IMG_SIZE" "$WORK/test.img" "$WORK/scratch.img" || die "cannot make the images in $WORK"
# (not in $(...): the nodes made must be known to cleanup)
attach_loop "$WORK/test.img" >"$WORK/loops" || die "cannot attach a loop device (no loop support?)"
attach_loop "$WORK/scratch.img" >>"$WORK/loops" || die "cannot attach a loop device (no loop support?)"
TEST_LOOP=$(sed -n 1p "$WORK/loops")
SCRATCH_LOOP=$(sed -n 2p "$WORK/loops")
echo "$me: TEST_DEV=$TEST_LOOP SCRATCH_DEV=$SCRATCH_LOOP ($BASE_FS, $IMG_SIZE sparse, in $WORK)"
mkdir -p "$WORK/test" "$WORK/scratch" || die "cannot make the mount points"

# --- the fsck.overlay fstests calls: a wrapper that logs and keeps evidence

# Each call is logged (test, command line, exit code) to $WORK/fsck-calls.log.
# A failing -n call copies the layers it named, and the image of the base
# fs they lie on (synced first, copied sparse), to $EVIDENCE/NNN/callK/.
# The wrapper passes arguments, output and exit code through unchanged.
write_wrapper() {
	cat >"$WORK/fsck.overlay" <<EOF
#!/bin/sh
# written by overlay-fsck's tests/upstream/fstests.sh
real='$FSCK'
log='$WORK/fsck-calls.log'
evidence='$EVIDENCE'
work='$WORK'
EOF
	cat >>"$WORK/fsck.overlay" <<'EOF'
t=${seqnum:-unknown}
"$real" "$@"
rc=$?
printf '%s\t%s\t%s %s\n' "$t" "$rc" "$real" "$*" >>"$log"
[ "$rc" -ne 0 ] && [ -n "$evidence" ] || exit "$rc"
case " $* " in *" -n "*) ;; *) exit "$rc" ;; esac
d=$evidence/$(basename "$t")
k=1
while [ -e "$d/call$k" ]; do k=$((k + 1)); done
d=$d/call$k
mkdir -p "$d/layers" || exit "$rc"
printf '%s %s\n' "$real" "$*" >"$d/cmdline"
echo "$rc" >"$d/rc"
prev=
for a in "$@"; do
	if [ "$prev" = -o ]; then
		oldifs=$IFS; IFS=,
		for kv in $a; do
			case $kv in
			lowerdir=*|upperdir=*|workdir=*)
				IFS=:
				for dir in ${kv#*=}; do
					[ -n "$dir" ] && [ -d "$dir" ] || continue
					# cp --parents wants a cwd of / for absolute paths
					(cd / && cp -a --preserve=all --parents "$dir" "$d/layers/") 2>>"$d/cp.err"
					case $dir in
					"$work"/test/*) img=test ;;
					"$work"/scratch/*) img=scratch ;;
					*) img= ;;
					esac
					if [ -n "$img" ] && [ ! -e "$d/$img.img" ]; then
						# the freed blocks of earlier tests are holes
						# after fstrim: a copy of MBs, not GBs
						fstrim "$work/$img" 2>/dev/null
						sync -f "$dir"
						cp --sparse=always "$work/$img.img" "$d/$img.img" 2>>"$d/cp.err"
					fi
				done
				IFS=, ;;
			esac
		done
		IFS=$oldifs
	fi
	prev=$a
done
exit "$rc"
EOF
	chmod 755 "$WORK/fsck.overlay"
}

# --- one ./check run ----------------------------------------------------

# run_check NAME PROG: mkfs both devices, write the config, run ./check;
# results in $WORK/results-NAME, its check output in $WORK/NAME.out
run_check() {
	name=$1
	prog=$2
	res=$WORK/results-$name
	unmount_work
	rm -rf "$res"
	case $BASE_FS in
	xfs)  mkfs.xfs -f -q "$TEST_LOOP" && mkfs.xfs -f -q "$SCRATCH_LOOP" ;;
	ext4) mkfs.ext4 -F -q "$TEST_LOOP" && mkfs.ext4 -F -q "$SCRATCH_LOOP" ;;
	esac || die "mkfs.$BASE_FS failed"
	cat >"$WORK/local.config-$name" <<EOF
# written by overlay-fsck's tests/upstream/fstests.sh
export FSTYP=$BASE_FS
export TEST_DEV=$TEST_LOOP
export TEST_DIR=$WORK/test
export SCRATCH_DEV=$SCRATCH_LOOP
export SCRATCH_MNT=$WORK/scratch
export FSCK_OVERLAY_PROG=$prog
EOF
	[ -z "${UNIONMOUNT_TESTSUITE:-}" ] ||
		echo "export UNIONMOUNT_TESTSUITE=$UNIONMOUNT_TESTSUITE" >>"$WORK/local.config-$name"
	if [ $# -gt 2 ]; then
		shift 2
		set -- "$@"
	else
		set -- -g overlay/auto
	fi
	for g in $EXCLUDE; do set -- -x "$g" "$@"; done
	[ -z "$SKIP" ] || set -- -e "$SKIP" "$@"
	# the checker is found through FSCK_OVERLAY_PROG (common/config sets it
	# to `type -P fsck.overlay`, the config overrides it); keep PATH free
	# of other fsck.overlay copies for the run without one
	path=$PATH
	if [ -z "$prog" ]; then
		path=
		oldifs=$IFS; IFS=:
		for p in $PATH; do
			[ -x "$p/fsck.overlay" ] || path=${path:+$path:}$p
		done
		IFS=$oldifs
	fi
	echo "$me: run '$name': ./check -overlay $* (FSCK_OVERLAY_PROG=${prog:-none})"
	[ -z "$SKIP" ] || echo "$me: left out: $SKIP (see FSTESTS_SKIP in $me)"
	start=$(date +%s)
	(cd "$XFS_DIR" && HOST_OPTIONS="$WORK/local.config-$name" RESULT_BASE="$res" \
		PATH=$path exec timeout -k 60 "$TIMEOUT" ./check -overlay "$@") \
		>"$WORK/$name.out" 2>&1 &
	CHECK_PID=$!
	wait "$CHECK_PID"
	crc=$?
	CHECK_PID=
	end=$(date +%s)
	echo "$me: run '$name' took $((end - start)) s (check exit $crc); output: $WORK/$name.out"
	[ "$crc" -ne 124 ] || echo "$me: run '$name' timed out after $TIMEOUT s" >&2
	unmount_work
	if ! loops_ours; then
		echo "$me: run '$name' is void: $TEST_LOOP or $SCRATCH_LOOP no longer shows our image (detached by someone else?)" >&2
		return 1
	fi
	# per-test status from check's summary: NAME.status has "TEST STATUS"
	log=$res/check.log
	if [ ! -f "$log" ] || ! grep -q '^Ran:' "$log"; then
		echo "$me: run '$name' left no summary in $log" >&2
		tail -20 "$WORK/$name.out" >&2
		return 1
	fi
	ran=$(grep '^Ran:' "$log" | tail -1 | sed 's/^Ran://')
	notrun=$(grep '^Not run:' "$log" | tail -1 | sed 's/^Not run://')
	failed=$(grep '^Failures:' "$log" | tail -1 | sed 's/^Failures://')
	for t in $ran; do
		s=pass
		case " $notrun " in *" $t "*) s=notrun ;; esac
		case " $failed " in *" $t "*) s=fail ;; esac
		echo "$t $s"
	done >"$WORK/$name.status"
	printf '%s: %s pass, %s fail, %s notrun\n' "$name" \
		"$(grep -c ' pass$' "$WORK/$name.status")" \
		"$(grep -c ' fail$' "$WORK/$name.status")" \
		"$(grep -c ' notrun$' "$WORK/$name.status")"
	[ -z "$failed" ] || echo "$name failures:$failed"
	return 0
}

status_of() { awk -v t="$2" '$1 == t { print $2 }' "$WORK/$1.status"; }

# show_failure TEST: what fsck.overlay said about the layers TEST left
show_failure() {
	t=$1
	echo "--- $t: fsck.overlay calls that failed (test, exit code, command line):"
	awk -F '\t' -v t="$t" '$1 == t && $2 != 0' "$WORK/fsck-calls.log" 2>/dev/null
	full=$WORK/results-with/$t.full
	echo "--- $t: fsck.overlay output (from $full):"
	sed -n '/^\*\*\* fsck.overlay output \*\*\*/,/^\*\*\* end fsck.overlay output/p' "$full" 2>/dev/null
	if [ -n "$EVIDENCE" ] && [ -d "$EVIDENCE/$(basename "$t")" ]; then
		echo "--- $t: layers copied to $EVIDENCE/$(basename "$t")"
	fi
}

# --- main ---------------------------------------------------------------

[ -z "$EVIDENCE" ] || { mkdir -p "$EVIDENCE" && EVIDENCE=$(cd "$EVIDENCE" && pwd); } ||
	die "cannot make $EVIDENCE"
rc=0
if [ "$MODE" != with ]; then
	run_check without "" "$@" || exit 2
fi
if [ "$MODE" != without ]; then
	write_wrapper
	: >"$WORK/fsck-calls.log"
	run_check with "$WORK/fsck.overlay" "$@" || exit 2
	echo "$me: fsck.overlay was called $(wc -l <"$WORK/fsck-calls.log") times" \
		"($(awk -F '\t' '$2 != 0' "$WORK/fsck-calls.log" | wc -l) non-zero exits)"
	# keep evidence only for the tests that failed with the checker
	if [ -n "$EVIDENCE" ]; then
		for d in "$EVIDENCE"/*; do
			[ -d "$d" ] || continue
			[ "$(status_of with "overlay/$(basename "$d")")" = fail ] || rm -rf "$d"
		done
	fi
fi

case $MODE in
both)
	echo
	printf '%-14s %-8s %-8s\n' TEST without with
	regress=
	while read -r t s0; do
		s1=$(status_of with "$t")
		printf '%-14s %-8s %-8s\n' "$t" "$s0" "${s1:-missing}"
		[ "$s0" = pass ] && [ "$s1" != pass ] && regress="$regress $t"
	done <"$WORK/without.status"
	echo
	if [ -n "$regress" ]; then
		echo "REGRESSION: passing without a checker, not with fsck.overlay:$regress"
		for t in $regress; do show_failure "$t"; done
		rc=1
	else
		echo "every test passing without a checker passes with fsck.overlay"
	fi
	;;
with)
	for t in $(awk '$2 == "fail" { print $1 }' "$WORK/with.status"); do
		show_failure "$t"
		rc=1
	done
	;;
without)
	grep -q ' fail$' "$WORK/without.status" && rc=1
	;;
esac
echo "$me: results: $WORK/results-*, summaries: $WORK/*.status"
exit $rc
