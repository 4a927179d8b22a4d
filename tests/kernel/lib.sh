# Helpers for the real-kernel scenarios (sourced by run.sh, POSIX sh + a
# few bashisms avoided on purpose: Debian's sh is dash).
#
# A scenario is a shell function sc_NAME.  It calls stack_new to get fresh
# layer dirs, mounts the overlay with the kernel, does what a container
# does through the merged dir, unmounts, damages the layers offline, then
# asserts with expect_clean / expect_problem / expect_unchanged and
# expect_errno / expect_mount_fails.  Each expect_* prints one TAP line.
#
# Variables a scenario sees after stack_new NAME:
#   S  the scenario dir    L1 L2 D1  lower / data-only dirs
#   U W  upper and work    M  the mount point
#   OPTS the -o string of the last ovl_mount (reused by fsck and remount)

. "$top_srcdir/tests/tap.sh"

KT_ROOT=			# per-run temp dir
KT_LOOPS=			# loop devices to detach at exit
KT_ONLY=${KT_ONLY:-}		# run only scenarios matching this pattern
KT_VERBOSE=${KT_VERBOSE:-}	# print fsck output of every run
KT_EXIT_HOOKS=			# functions run first at exit (stop daemons)

kt_cleanup() {
	for _h in $KT_EXIT_HOOKS; do
		"$_h"
	done
	if [ -n "$KT_ROOT" ]; then
		awk -v r="$KT_ROOT/" 'index($2, r) == 1 { print $2 }' /proc/mounts |
			sort -r | while read -r _m; do umount "$_m" 2>/dev/null; done
	fi
	# a device loop_done gave back may be another suite's by now:
	# detach only those still backed by an image of this run
	for _l in $KT_LOOPS; do
		case $(losetup -n -O BACK-FILE "$_l" 2>/dev/null) in
		"$KT_ROOT"/*) losetup -d "$_l" 2>/dev/null ;;
		esac
	done
	[ -n "$KT_ROOT" ] && [ -z "${KT_KEEP:-}" ] && rm -rf "$KT_ROOT"
}

# The whole run is skipped (not failed) on a machine that cannot mount.
kt_require_kernel() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root to mount overlays"
	grep -qw overlay /proc/filesystems 2>/dev/null ||
		modprobe overlay 2>/dev/null
	grep -qw overlay /proc/filesystems 2>/dev/null ||
		skip_all "no overlay filesystem in this kernel"
	if [ -z "${FSCK:-}" ] || [ ! -x "$FSCK" ]; then
		skip_all "FSCK not set to an executable fsck.overlay"
	fi
	for _c in getfattr setfattr perl mountpoint; do
		command -v $_c >/dev/null || skip_all "$_c missing"
	done

	# The layer paths go unquoted through the scenario scripts: keep
	# them free of blanks (else fall back to /var/tmp).
	_base=${top_builddir:-.}
	case $(cd "$_base" && pwd) in
	*[[:space:]]*)	_base=/var/tmp ;;
	esac
	KT_ROOT=$(mktemp -d "$_base/kernel-tests.XXXXXX" 2>/dev/null ||
		  mktemp -d /var/tmp/kernel-tests.XXXXXX) ||
		skip_all "cannot make a temp dir"
	KT_ROOT=$(cd "$KT_ROOT" && pwd)
	trap kt_cleanup EXIT
	trap 'exit 130' INT TERM HUP

	mkdir -p "$KT_ROOT/probe/l" "$KT_ROOT/probe/u" "$KT_ROOT/probe/w" \
		 "$KT_ROOT/probe/m"
	if ! _err=$(mount -t overlay overlay -o "lowerdir=$KT_ROOT/probe/l,upperdir=$KT_ROOT/probe/u,workdir=$KT_ROOT/probe/w" "$KT_ROOT/probe/m" 2>&1); then
		skip_all "test overlay mount failed: $_err"
	fi
	umount "$KT_ROOT/probe/m"
}

# stack_new NAME: fresh dirs for one scenario.
stack_new() {
	S=$KT_ROOT/$1
	rm -rf "$S"
	mkdir -p "$S/l1" "$S/l2" "$S/d1" "$S/u" "$S/w" "$S/m"
	L1=$S/l1 L2=$S/l2 D1=$S/d1 U=$S/u W=$S/w M=$S/m
	OPTS=
}

# ovl_mount OPTS: mount the overlay on $M; OPTS is the -o string.
ovl_mount() {
	OPTS=$1
	mount -t overlay overlay -o "$OPTS" "$M"
}

ovl_umount() {
	umount "$M"
}

# std_opts FEATURES: "lowerdir=$L1,upperdir=$U,workdir=$W[,FEATURES]"
std_opts() {
	_o="lowerdir=$L1,upperdir=$U,workdir=$W"
	[ -n "${1:-}" ] && _o="$_o,$1"
	echo "$_o"
}

# errno_of OP PATH: prints OK or the errno name of one syscall through the
# overlay.  OP: lstat, open (read-only open), read (open + read 1 byte),
# ls (on success: the names of a dir, sorted, on one line).
errno_of() {
	perl -e '
		use Errno; use Fcntl;
		my ($op, $p) = @ARGV; my $ok;
		if ($op eq "lstat") { $ok = lstat($p); }
		elsif ($op eq "open") { $ok = sysopen(my $f, $p, O_RDONLY); }
		elsif ($op eq "read") {
			my ($b, $f);
			$ok = sysopen($f, $p, O_RDONLY) && defined(sysread($f, $b, 1));
		} elsif ($op eq "ls") {
			if (opendir(my $d, $p)) {
				print join(" ", sort grep { !/^\.\.?$/ } readdir($d)), "\n";
				exit 0;
			}
		}
		if ($ok) { print "OK\n"; exit 0; }
		my ($n) = grep { $!{$_} } keys %!;
		print(($n // "E?"), "\n");
	' "$1" "$2"
}

# snapshot FILE DIR...: every name, type, mode, owner, size, mtime, link
# count and xattr of the layers, to prove fsck -n wrote nothing.
snapshot() {
	_f=$1
	shift
	{
		find "$@" -printf '%p %y %m %U:%G %s %T@ %C@ %n %l\n' | LC_ALL=C sort
		getfattr -R -d -m - -e hex --absolute-names -h "$@" 2>&1
	} > "$_f"
}

# xattr_hex NAME PATH: value of trusted.overlay.NAME as 0x... hex.
xattr_hex() {
	getfattr -h -e hex -n "trusted.overlay.$1" "$2" 2>/dev/null |
		sed -n "s/^trusted\.overlay\.$1=//p"
}

# kt_layers: the layer dirs of the current scenario that exist (for the
# snapshots; a scenario may point L1 or U at another filesystem).
kt_layers() {
	for _d in "$L1" "$L2" "$D1" "$U" "$W"; do
		[ -d "$_d" ] && echo "$_d"
	done
}

# loop_fs TYPE DIR: makes a small TYPE (xfs, ext4) image in $S, mounts it
# on DIR through a loop device (detached at exit).  Fails when mkfs.TYPE
# or loop devices are missing.
loop_fs() {
	command -v "mkfs.$1" >/dev/null || return 1
	truncate -s 320M "$S/$1.img" || return 1
	case $1 in
	xfs)	mkfs.xfs -q -f "$S/$1.img" ;;
	*)	"mkfs.$1" -q -F "$S/$1.img" ;;
	esac > /dev/null 2>&1 || return 1
	_loop=$(losetup -f --show "$S/$1.img" 2>/dev/null) || return 1
	KT_LOOPS="$_loop $KT_LOOPS"
	mkdir -p "$2"
	mount "$_loop" "$2"
}

# run_fsck ARGS...: runs $FSCK, keeps stdout in $S/fsck.out, stderr in
# $S/fsck.err and the exit code in FSCK_RC.
run_fsck() {
	FSCK_RC=0
	# a hung check must not hang make check
	if command -v timeout >/dev/null; then
		timeout 60 "$FSCK" "$@" > "$S/fsck.out" 2> "$S/fsck.err" ||
			FSCK_RC=$?
	else
		"$FSCK" "$@" > "$S/fsck.out" 2> "$S/fsck.err" || FSCK_RC=$?
	fi
	if [ -n "$KT_VERBOSE" ]; then
		diag "$FSCK $* -> $FSCK_RC"
		diag "$(cat "$S/fsck.out" "$S/fsck.err")"
	fi
}

kt_show_fsck() {
	diag "fsck.overlay exit $FSCK_RC; stdout:"
	diag "$(sed -n 1,20p "$S/fsck.out")"
	[ -s "$S/fsck.err" ] && diag "stderr: $(sed -n 1,5p "$S/fsck.err")"
	return 0
}

# expect_clean NAME [FSCK-ARGS]: fsck -n on the unmounted stack exits 0.
# Default arguments: -n -o "$OPTS".
expect_clean() {
	_name=$1
	shift
	[ $# -eq 0 ] && set -- -n -o "$OPTS"
	snapshot "$S/snap.before" $(kt_layers)
	run_fsck "$@"
	snapshot "$S/snap.after" $(kt_layers)
	# NOTE rows are allowed: they do not change the exit code
	if [ "$FSCK_RC" -eq 0 ]; then
		if cmp -s "$S/snap.before" "$S/snap.after"; then
			ok "$_name: fsck -n exits 0 on the clean stack"
			return 0
		fi
		not_ok "$_name: fsck -n exits 0 but changed the layers"
		diag "$(diff "$S/snap.before" "$S/snap.after" | head -20)"
		return 1
	fi
	not_ok "$_name: fsck -n exits 0 on the clean stack"
	kt_show_fsck
	return 1
}

# expect_note NAME CODE LAYER:PATH: fsck -n prints the NOTE row and still
# exits 0 (NOTEs do not change the exit code), writing nothing.
expect_note() {
	_name=$1 _code=$2 _where=$3
	snapshot "$S/snap.before" $(kt_layers)
	run_fsck -n -o "$OPTS"
	snapshot "$S/snap.after" $(kt_layers)
	if [ "$FSCK_RC" -eq 0 ] && grep -qF "$_code $_where:" "$S/fsck.out" &&
	   cmp -s "$S/snap.before" "$S/snap.after"; then
		ok "$_name: fsck -n notes $_code $_where, exit 0, layers untouched"
		return 0
	fi
	not_ok "$_name: fsck -n notes $_code $_where, exit 0, layers untouched"
	kt_show_fsck
	return 1
}

# expect_problem NAME CODE LAYER:PATH [FSCK-ARGS]: fsck -n exits 4, prints
# "CODE LAYER:PATH: ..." and leaves every layer byte for byte as it was.
expect_problem() {
	_name=$1 _code=$2 _where=$3
	shift 3
	[ $# -eq 0 ] && set -- -n -o "$OPTS"
	snapshot "$S/snap.before" $(kt_layers)
	run_fsck "$@"
	snapshot "$S/snap.after" $(kt_layers)
	_bad=
	[ "$FSCK_RC" -eq 4 ] || _bad="exit $FSCK_RC, not 4"
	# WHERE may list alternatives a|b when the damage has two names
	# (e.g. which of two duplicate redirects is "the" duplicate)
	_found=
	_rest=$_where
	while [ -n "$_rest" ]; do
		_alt=${_rest%%|*}
		[ "$_alt" = "$_rest" ] && _rest= || _rest=${_rest#*|}
		grep -qF "$_code $_alt:" "$S/fsck.out" 2>/dev/null && _found=1
	done
	[ -n "$_found" ] || _bad="${_bad:+$_bad; }no line \"$_code $_where: ...\""
	if ! cmp -s "$S/snap.before" "$S/snap.after"; then
		_bad="${_bad:+$_bad; }-n changed the layers"
		diag "$(diff "$S/snap.before" "$S/snap.after" | head -20)"
	fi
	if [ -z "$_bad" ]; then
		ok "$_name: fsck -n reports $_code $_where, exit 4, layers untouched"
		return 0
	fi
	not_ok "$_name: fsck -n reports $_code $_where, exit 4, layers untouched"
	diag "$_bad"
	kt_show_fsck
	return 1
}

# setup SCRIPT: runs SCRIPT (shell text, evaluated with set -e in a
# subshell) to build and damage the stack; on failure one "not ok" line
# and a non-zero return, so the scenario stops.
setup() {
	if ( set -e; eval "$1" ) > "$S/setup.log" 2>&1; then
		return 0
	fi
	mountpoint -q "$M" && umount "$M"
	not_ok "$SC: setting up the stack with the kernel"
	diag "$(tail -5 "$S/setup.log")"
	return 1
}

# kt_errno_text ERRNO: what mount(8) prints for that errno (LC_ALL=C).
kt_errno_text() {
	case $1 in
	EINVAL)	echo "wrong fs type" ;;
	ESTALE)	echo "Stale file handle" ;;
	ENODATA) echo "No data available" ;;
	ENOTDIR) echo "Not a directory" ;;
	ELOOP)	echo "Too many levels of symbolic links" ;;
	EBUSY)	echo "already mounted" ;;
	ENOSPC)	echo "No space left on device" ;;
	*)	echo "$1" ;;
	esac
}

# expect_mount_fails NAME ERRNO [OPTS]: the kernel refuses the mount with
# ERRNO (read from mount(8)'s message).
expect_mount_fails() {
	_name=$1 _want=$2
	_o=${3:-$OPTS}
	if LC_ALL=C mount -t overlay overlay -o "$_o" "$M" > "$S/mount.err" 2>&1; then
		umount "$M"
		not_ok "$_name: kernel refuses the mount ($_want)"
		diag "mount succeeded"
		return 1
	fi
	if grep -q "$(kt_errno_text "$_want")" "$S/mount.err"; then
		ok "$_name: kernel refuses the mount ($_want)"
		return 0
	fi
	not_ok "$_name: kernel refuses the mount ($_want)"
	diag "$(cat "$S/mount.err")"
	return 1
}

# expect_errno NAME OP PATH ERRNO [OPTS]: mounts with OPTS (default $OPTS),
# checks that OP on $M/PATH gives ERRNO (or OK), unmounts.
expect_errno() {
	_name=$1 _op=$2 _p=$3 _want=$4
	_o=${5:-$OPTS}
	if ! LC_ALL=C mount -t overlay overlay -o "$_o" "$M" 2> "$S/mount.err"; then
		not_ok "$_name: kernel: $_op $_p gives $_want"
		diag "mount failed: $(cat "$S/mount.err")"
		return 1
	fi
	_got=$(errno_of "$_op" "$M/$_p")
	umount "$M"
	if [ "$_got" = "$_want" ]; then
		ok "$_name: kernel: $_op $_p gives $_want"
		return 0
	fi
	not_ok "$_name: kernel: $_op $_p gives $_want"
	diag "got $_got"
	return 1
}

# expect_kernel NAME SCRIPT [OPTS]: mounts with OPTS (default $OPTS), runs
# SCRIPT (shell text, set -e, $M mounted), unmounts; ok when SCRIPT
# succeeds.  The script's output goes to $S/kernel.log.
expect_kernel() {
	_name=$1 _script=$2
	_o=${3:-$OPTS}
	if ! LC_ALL=C mount -t overlay overlay -o "$_o" "$M" 2> "$S/mount.err"; then
		not_ok "$_name"
		diag "mount failed: $(cat "$S/mount.err")"
		return 1
	fi
	if ( set -e; eval "$_script" ) > "$S/kernel.log" 2>&1; then
		_r=0
	else
		_r=1
	fi
	umount "$M"
	if [ $_r -eq 0 ]; then
		ok "$_name"
		return 0
	fi
	not_ok "$_name"
	diag "$(tail -5 "$S/kernel.log")"
	return 1
}

# Scenario registry: run.sh calls every function listed, in order.
KT_SCENARIOS=
scenario() {
	KT_SCENARIOS="$KT_SCENARIOS $1"
}

kt_run_all() {
	for _sc in $KT_SCENARIOS; do
		case $_sc in
		*${KT_ONLY}*) ;;
		*) continue ;;
		esac
		SC=$_sc
		"sc_$_sc"
		# a scenario that stopped half-way must not leave its mount
		[ -n "${M:-}" ] && mountpoint -q "$M" && umount "$M"
	done
}

# Mount option sets the scenarios share.
MC="metacopy=on,redirect_dir=on"
MCI="metacopy=on,redirect_dir=on,index=on"
RDI="redirect_dir=on,index=on"

# ---- helpers of the repair scenarios (repair.sh) ----

# tree_list DIR [full]: one line per entry below DIR (relative path, type,
# mode, owner, size, symlink target, md5 of a regular file's content);
# "full" adds the device number of devices and the mtime of regular files
# and symlinks.  Entries that cannot be read print their errno instead,
# so a merged view that gives EIO or ESTALE shows up in a diff.
tree_list() {
	perl -MDigest::MD5 -e '
		use Fcntl ":mode";
		my ($root, $full) = @ARGV;
		my @out;
		sub walk {
			my ($rel) = @_;
			my $p = $rel eq "" ? $root : "$root/$rel";
			my $dh;
			unless (opendir($dh, $p)) {
				push @out, "$rel\tOPENDIR-ERROR " . ($!+0);
				return;
			}
			my @names = sort grep { !/^\.\.?$/ } readdir($dh);
			closedir($dh);
			for my $n (@names) {
				my $r = $rel eq "" ? $n : "$rel/$n";
				my @st = lstat("$root/$r");
				unless (@st) {
					push @out, "$r\tLSTAT-ERROR " . ($!+0);
					next;
				}
				my $m = $st[2];
				my $t = S_ISDIR($m) ? "d" : S_ISREG($m) ? "f" : S_ISLNK($m) ? "l" :
					S_ISCHR($m) ? "c" : S_ISBLK($m) ? "b" : S_ISFIFO($m) ? "p" : "s";
				my $line = sprintf("%s\t%s\t%04o\t%d:%d", $r, $t, $m & 07777,
						   $st[4], $st[5]);
				$line .= "\t" . ($t eq "d" ? "-" : $st[7]);
				if ($t eq "l") {
					$line .= "\t-> " . readlink("$root/$r");
				} elsif ($t eq "f") {
					my $fh;
					if (open($fh, "<", "$root/$r")) {
						binmode($fh);
						my $d = Digest::MD5->new;
						if (defined(eval { $d->addfile($fh); 1 })) {
							$line .= "\t" . $d->hexdigest;
						} else {
							$line .= "\tREAD-ERROR";
						}
						close($fh);
					} else {
						$line .= "\tOPEN-ERROR " . ($!+0);
					}
				}
				if ($full) {
					$line .= "\trdev=" . $st[6] if $t eq "c" || $t eq "b";
					$line .= "\tmtime=" . $st[9] if $t eq "f" || $t eq "l";
				}
				push @out, $line;
				walk($r) if $t eq "d";
			}
		}
		walk("");
		print "$_\n" for @out;
	' "$1" "${2:-}"
}

# mount_list FILE OPTS LISTER...: mounts the overlay with OPTS, runs
# LISTER... $M into FILE, unmounts.  Fails when the mount fails (the
# reason is in FILE).
mount_list() {
	_f=$1
	_o=$2
	shift 2
	if ! LC_ALL=C mount -t overlay overlay -o "$_o" "$M" > "$_f" 2>&1; then
		echo "MOUNT FAILED" >> "$_f"
		return 1
	fi
	"$@" "$M" > "$_f" 2>&1
	umount "$M"
}

# merged_snapshot FILE [OPTS]: the merged view with tree_list (reading
# every file) into FILE, mounted with OPTS (default $OPTS).
merged_snapshot() {
	mount_list "$1" "${2:-$OPTS}" tree_list
}

# layer_state FILE DIR...: what a repair may change in the layers, without
# times (a dir's mtime follows its entries): per layer, every entry as
# tree_list ... full prints it, and every xattr (hex), one per line, sorted.
# The repair's own files are left out: the undo journals, and the
# timestamp in the quarantine dir's name is replaced by TIME.
layer_state() {
	_f=$1
	shift
	for _d in "$@"; do
		_lab=$(basename "$_d")
		tree_list "$_d" full | sed "s#^#$_lab/#"
		( cd "$_d" && getfattr -R -d -m - -e hex -h . 2>&1 ) |
			awk -v l="$_lab" '/^# file: / { f = substr($0, 9); sub(/^\.\/?/, "", f); next }
					  NF { print l "/" f "\txattr " $0 }'
	done | grep -v 'overlay-fsck-undo\.' |
		sed -E 's#overlay-fsck\.quarantine/[0-9]{8}T[0-9]{6}Z#overlay-fsck.quarantine/TIME#' |
		LC_ALL=C sort -u > "$_f"
}

# journal_of: the undo journal path the last run printed.
journal_of() {
	sed -n 's/^undo journal: //p' "$S/fsck.out" | tail -1
}

# ---- one TAP line for many assertions: rp_bad adds to $_bad ----

rp_bad() {
	_bad="${_bad:+$_bad; }$*"
}

# rp_done NAME: one TAP line for what was asserted since _bad=
rp_done() {
	if [ -z "$_bad" ]; then
		ok "$1"
		return 0
	fi
	not_ok "$1"
	diag "$_bad"
	kt_show_fsck
	return 1
}
