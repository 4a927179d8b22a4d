# Repair (-y, -p) against the real kernel.
#
#   xf_*     the cases of fstests overlay/045 (whiteouts), 046 (redirect
#            dirs) and 056 (impure), rebuilt: same layouts, same option
#            flags, same exit codes and layer state afterwards
#   fix_*    one fix each: the kernel makes the stack, the merged view is
#            listed, the layers are damaged, -y repairs (exit 1), -n then
#            exits 0, and the stack mounted with its own options shows the
#            merged view it showed before the damage (or, where the damage
#            destroyed something, what the man page promises instead)
#   crash_*  OVL_FAULT_WRITE kills -y at every change, before and after
#            it; the next -y must end in the layers of an uninterrupted run
#   undo_*   --undo restores the layers; a second --undo is refused
#   ro_*     a read-only lower layer: its fixes are left, the rest is fixed
#   mounted  a mounted stack is refused for -y and -p

# ---- small assertion helpers: each adds to $_bad (rp_bad, rp_done: lib.sh) ----

rp_rc() {
	[ "$FSCK_RC" -eq "$1" ] || rp_bad "exit $FSCK_RC, not $1"
}

rp_is_wh() {
	for _p in "$@"; do
		[ "$(stat -c '%F:%t,%T' "$_p" 2>/dev/null)" = "character special file:0,0" ] ||
			rp_bad "${_p#$S/} is not a whiteout"
	done
}

rp_absent() {
	for _p in "$@"; do
		if [ -e "$_p" ] || [ -L "$_p" ]; then
			rp_bad "${_p#$S/} still exists"
		fi
	done
}

rp_empty() {
	for _p in "$@"; do
		[ -d "$_p" ] && [ -z "$(ls -A "$_p")" ] ||
			rp_bad "${_p#$S/} is not an empty dir: $(ls -A "$_p" 2>&1 | tr '\n' ' ')"
	done
}

# rp_xattr NAME VALUE PATH: trusted.overlay.NAME of PATH is VALUE
rp_xattr() {
	_v=$(getfattr --only-values -h -n "trusted.overlay.$1" "$3" 2>/dev/null)
	[ "$_v" = "$2" ] || rp_bad "${3#$S/}: $1 is \"$_v\", not \"$2\""
}

rp_no_xattr() {
	if getfattr -h -n "trusted.overlay.$1" "$2" > /dev/null 2>&1; then
		rp_bad "${2#$S/} still has $1"
	fi
}

# ---- fstests overlay/045, 046, 056 ----

# xf_fsck WANT-RC LOWERDIRS ARGS...: fsck.overlay as the fstests helper
# calls it (-o lowerdir= -o upperdir= -o workdir= then the mode flag)
xf_fsck() {
	_want=$1 _lo=$2
	shift 2
	run_fsck -o "lowerdir=$_lo" -o "upperdir=$U" -o "workdir=$W" "$@"
	rp_rc "$_want"
}

# xf_recheck NAME LOWERDIRS: after a run that fixed, -n finds nothing.
xf_recheck() {
	run_fsck -n -o "lowerdir=$2" -o "upperdir=$U" -o "workdir=$W"
	_bad=
	rp_rc 0
	rp_done "$1: then -n exits 0"
}

mkwh() {
	for _p in "$@"; do
		mknod "$_p" c 0 0
	done
}

mkopaque() {
	mkdir -p "$1"
	setfattr -n trusted.overlay.opaque -v y "$1"
}

mkredirect() {
	mkdir -p "$1"
	setfattr -n trusted.overlay.redirect -v "$2" "$1"
}

mkimpure() {
	for _p in "$@"; do
		mkdir -p "$_p"
		setfattr -n trusted.overlay.impure -v y "$_p"
	done
}

# 045: orphan whiteouts in the lower and the upper layer go.
scenario xf045_orphan
sc_xf045_orphan() {
	stack_new "$SC"; _bad=
	mkwh "$L1/foo" "$U/foo" "$U/bar"
	xf_fsck 1 "$L1" -p
	rp_absent "$L1/foo" "$U/foo" "$U/bar"
	rp_empty "$L1" "$U"
	rp_done "$SC: -p removes orphan whiteouts in lower and upper, exit 1"
	xf_recheck "$SC" "$L1"
}

# 045: whiteouts that cover something stay.
scenario xf045_valid
sc_xf045_valid() {
	stack_new "$SC"; _bad=
	touch "$L2/foo" "$L2/bar"
	mkwh "$U/foo" "$L1/bar"
	xf_fsck 0 "$L1:$L2" -p
	rp_is_wh "$U/foo" "$L1/bar"
	rp_done "$SC: -p keeps whiteouts that cover lower entries, exit 0"
}

# 045: a whiteout in an opaque dir hides nothing.
scenario xf045_orphan2
sc_xf045_orphan2() {
	stack_new "$SC"; _bad=
	mkdir "$L1/testdir"; touch "$L1/testdir/foo"
	mkopaque "$U/testdir"
	mkwh "$U/testdir/foo"
	xf_fsck 1 "$L1" -p
	rp_empty "$U/testdir"
	rp_done "$SC: -p removes a whiteout inside an opaque dir, exit 1"
	xf_recheck "$SC" "$L1"
}

# 045: whiteouts under upper dirs that merge with nothing below.
scenario xf045_orphan3
sc_xf045_orphan3() {
	stack_new "$SC"; _bad=
	mkdir "$L2/testdir1" "$L2/testdir2" "$L2/testdir3"
	touch "$L2/testdir1/foo" "$L2/testdir2/foo" "$L2/testdir3/foo"
	mkdir "$U/testdir1" "$U/testdir2" "$U/testdir3" "$U/testdir4"
	touch "$L1/testdir1"
	mkwh "$L1/testdir2"
	mkopaque "$L1/testdir3"
	mkwh "$U/testdir1/foo" "$U/testdir2/foo" "$U/testdir3/foo" "$U/testdir4/foo"
	xf_fsck 1 "$L1:$L2" -p
	rp_empty "$U/testdir1" "$U/testdir2" "$U/testdir3" "$U/testdir4"
	rp_done "$SC: -p removes whiteouts under dirs that merge with nothing, exit 1"
	xf_recheck "$SC" "$L1:$L2"
}

# 045: a redirect dir merges with its target, not with its own name.
scenario xf045_orphan4
sc_xf045_orphan4() {
	stack_new "$SC"; _bad=
	mkdir "$L1/testdir" "$L1/origin"; touch "$L1/testdir/foo"
	mkredirect "$U/testdir" origin
	mkwh "$U/testdir/foo"
	xf_fsck 1 "$L1" -p
	rp_empty "$U/testdir"
	rp_done "$SC: -p removes a whiteout in a redirect dir whose target lacks the name, exit 1"
	xf_recheck "$SC" "$L1"
}

scenario xf045_valid2
sc_xf045_valid2() {
	stack_new "$SC"; _bad=
	mkdir "$L1/origin"; touch "$L1/origin/foo"
	mkimpure "$U"
	mkredirect "$U/testdir" origin
	mkwh "$U/origin" "$U/testdir/foo"
	xf_fsck 0 "$L1" -p
	rp_is_wh "$U/testdir/foo"
	rp_done "$SC: -p keeps a whiteout covering the redirect target's entry, exit 0"
}

# 045: the redirect is in the middle layer.
scenario xf045_valid3
sc_xf045_valid3() {
	stack_new "$SC"; _bad=
	mkdir -p "$L2/origin/subdir"; touch "$L2/origin/subdir/foo"
	mkredirect "$L1/testdir" origin
	mkdir -p "$U/testdir/subdir"
	mkwh "$L1/origin" "$U/testdir/subdir/foo"
	mkimpure "$U/testdir" "$U"
	xf_fsck 0 "$L1:$L2" -p
	rp_is_wh "$U/testdir/subdir/foo"
	rp_done "$SC: -p keeps a whiteout under a lower redirect dir, exit 0"
}

scenario xf045_orphan5
sc_xf045_orphan5() {
	stack_new "$SC"; _bad=
	mkdir -p "$L1/origin/subdir"; touch "$L1/origin/subdir/foo"
	mkredirect "$U/testdir" origin
	mkopaque "$U/testdir/subdir"
	mkwh "$U/testdir/subdir/foo"
	xf_fsck 1 "$L1" -p
	rp_empty "$U/testdir/subdir"
	rp_done "$SC: -p removes a whiteout in an opaque subdir of a redirect dir, exit 1"
	xf_recheck "$SC" "$L1"
}

scenario xf045_valid4
sc_xf045_valid4() {
	stack_new "$SC"; _bad=
	mkdir "$L1/origin"; touch "$L1/origin/foo"
	mkopaque "$U/testdir"
	mkredirect "$U/testdir/subdir" /origin
	mkwh "$U/origin" "$U/testdir/subdir/foo"
	mkimpure "$U/testdir"
	xf_fsck 0 "$L1" -p
	rp_is_wh "$U/testdir/subdir/foo"
	rp_done "$SC: -p keeps a whiteout in an absolute redirect dir inside an opaque dir, exit 0"
}

# 046: a redirect to nothing.
scenario xf046_invalid
sc_xf046_invalid() {
	stack_new "$SC"; _bad=
	mkredirect "$U/testdir" invalid
	xf_fsck 1 "$L1" -p
	rp_no_xattr redirect "$U/testdir"
	rp_done "$SC: -p removes a redirect to nothing, exit 1"
	xf_recheck "$SC" "$L1"
}

# 046: a redirect to a file.
scenario xf046_invalid2
sc_xf046_invalid2() {
	stack_new "$SC"; _bad=
	touch "$L1/origin"
	mkredirect "$U/testdir" origin
	xf_fsck 1 "$L1" -p
	rp_no_xattr redirect "$U/testdir"
	rp_done "$SC: -p removes a redirect to a file, exit 1"
	xf_recheck "$SC" "$L1"
}

scenario xf046_valid
sc_xf046_valid() {
	stack_new "$SC"; _bad=
	mkdir "$L1/origin"
	mkwh "$U/origin"
	mkredirect "$U/testdir" origin
	mkimpure "$U"
	xf_fsck 0 "$L1" -p
	rp_xattr redirect origin "$U/testdir"
	rp_done "$SC: -p keeps a valid relative redirect, exit 0"
}

scenario xf046_valid2
sc_xf046_valid2() {
	stack_new "$SC"; _bad=
	mkdir "$L1/origin"
	mkwh "$U/origin"
	mkredirect "$U/testdir1/testdir2" /origin
	mkimpure "$U/testdir1"
	xf_fsck 0 "$L1" -p
	rp_xattr redirect /origin "$U/testdir1/testdir2"
	rp_done "$SC: -p keeps a valid absolute redirect, exit 0"
}

scenario xf046_missing_whiteout
sc_xf046_missing_whiteout() {
	stack_new "$SC"; _bad=
	mkdir "$L1/origin"
	mkredirect "$U/testdir" origin
	xf_fsck 1 "$L1" -p
	rp_xattr redirect origin "$U/testdir"
	rp_is_wh "$U/origin"
	rp_done "$SC: -p creates the whiteout over a redirect's old name, exit 1"
	xf_recheck "$SC" "$L1"
}

# 046: two dirs that swapped names.
scenario xf046_valid3
sc_xf046_valid3() {
	stack_new "$SC"; _bad=
	mkdir "$L1/testdir1" "$L1/testdir2"
	mkredirect "$U/testdir1" testdir2
	mkredirect "$U/testdir2" testdir1
	mkimpure "$U"
	xf_fsck 0 "$L1" -p
	rp_xattr redirect testdir2 "$U/testdir1"
	rp_xattr redirect testdir1 "$U/testdir2"
	rp_done "$SC: -p keeps redirects exchanged by a rename, exit 0"
}

# 046: a bad redirect on a dir with a lower dir of its own name: removed,
# and the dir made opaque so that it does not merge with that one.
scenario xf046_invalid3
sc_xf046_invalid3() {
	stack_new "$SC"; _bad=
	mkdir "$L1/testdir"
	mkredirect "$U/testdir" invalid
	xf_fsck 1 "$L1" -y
	rp_no_xattr redirect "$U/testdir"
	rp_xattr opaque y "$U/testdir"
	rp_done "$SC: -y removes the redirect and sets opaque, exit 1"
	xf_recheck "$SC" "$L1"
}

# 046: two lower dirs and an upper dir redirect to one target: -p must not
# decide which one goes (exit 4), -y removes all but one.
scenario xf046_duplicate
sc_xf046_duplicate() {
	stack_new "$SC"; _bad=
	mkdir "$L2/origin"
	mkredirect "$L1/testdir1" origin
	mkredirect "$L1/testdir2" origin
	mkredirect "$U/testdir3" origin
	xf_fsck 4 "$L1:$L2" -p
	rp_done "$SC: -p leaves a duplicate redirect, exit 4"
	_bad=
	xf_fsck 1 "$L1:$L2" -y
	_r1=$(getfattr --only-values -h -n trusted.overlay.redirect "$L1/testdir1" 2>/dev/null)
	_r2=$(getfattr --only-values -h -n trusted.overlay.redirect "$L1/testdir2" 2>/dev/null)
	[ "$_r1" != "$_r2" ] || rp_bad "lower1 testdir1 and testdir2 redirects both \"$_r1\""
	rp_no_xattr redirect "$U/testdir3"
	rp_done "$SC: -y removes the duplicates (lower and upper), exit 1"
	xf_recheck "$SC" "$L1:$L2"
}

# 046: a redirect whose target is also an upper merge dir of that name.
scenario xf046_duplicate2
sc_xf046_duplicate2() {
	stack_new "$SC"; _bad=
	mkdir "$L1/origin" "$U/origin"
	mkredirect "$U/testdir" origin
	xf_fsck 4 "$L1" -p
	rp_done "$SC: -p leaves a redirect duplicating a merge dir, exit 4"
	_bad=
	xf_fsck 1 "$L1" -y
	rp_no_xattr redirect "$U/testdir"
	rp_done "$SC: -y removes the redirect, exit 1"
	xf_recheck "$SC" "$L1"
}

scenario xf046_duplicate3
sc_xf046_duplicate3() {
	stack_new "$SC"; _bad=
	mkdir "$L1/origin" "$L1/testdir" "$U/origin"
	mkredirect "$U/testdir" invalid
	xf_fsck 1 "$L1" -y
	rp_no_xattr redirect "$U/testdir"
	rp_xattr opaque y "$U/testdir"
	rp_done "$SC: -y removes the redirect and sets opaque, exit 1"
	xf_recheck "$SC" "$L1"
}

# 056: the kernel marks dirs of copied-up entries impure; the mark lost.
scenario xf056_missing_impure
sc_xf056_missing_impure() {
	stack_new "$SC"; _bad=
	setup '
		mkdir $L1/testdir1 $L1/testdir2 $U/testdir1 $U/testdir2
		touch $L1/testdir1/foo; mkdir $L1/testdir2/subdir
		ovl_mount "lowerdir=$L1,upperdir=$U,workdir=$W"
		touch $M/testdir1/foo $M/testdir2/subdir
		ovl_umount
		setfattr -x trusted.overlay.impure $U/testdir1
		setfattr -x trusted.overlay.impure $U/testdir2
	' || return
	xf_fsck 1 "$L1" -p
	rp_xattr impure y "$U/testdir1"
	rp_xattr impure y "$U/testdir2"
	rp_done "$SC: -p sets impure on dirs holding copied-up entries, exit 1"
	xf_recheck "$SC" "$L1"
}

scenario xf056_missing_impure2
sc_xf056_missing_impure2() {
	stack_new "$SC"; _bad=
	mkdir "$L1/origin"
	mkredirect "$U/testdir/subdir" /origin
	xf_fsck 1 "$L1" -p
	rp_xattr impure y "$U/testdir"
	rp_done "$SC: -p sets impure on the parent of a redirect dir, exit 1"
	xf_recheck "$SC" "$L1"
}

scenario xf056_missing_impure3
sc_xf056_missing_impure3() {
	stack_new "$SC"; _bad=
	mkdir "$L1/testdir" "$U/testdir"
	xf_fsck 1 "$L1" -p
	rp_xattr impure y "$U"
	rp_done "$SC: -p sets impure on the parent of a merge dir, exit 1"
	xf_recheck "$SC" "$L1"
}

# ---- one fix at a time, through the kernel ----

# rp_base: the kernel makes a stack with redirect_dir=on,index=on: lower
# dirs a (sub/x, y), b (z), c (cc), g (gg), d (k, gone), e (f), files f1
# and a symlink; the container renames a to a2 and writes into it, moves
# b to n/b2, replaces c by g (rm -rf c; mv g c), deletes d/gone,
# re-creates e (opaque), writes a file and chowns f1 (a copy-up).
rp_base() {
	OPTS=$(std_opts "${1:-$RDI}")
	setup '
		mkdir -p $L1/a/sub $L1/b $L1/c $L1/g $L1/d $L1/e
		echo x > $L1/a/sub/x; echo y > $L1/a/y; chmod 640 $L1/a/y
		echo z > $L1/b/z; echo cc > $L1/c/cc; echo gg > $L1/g/gg
		echo k > $L1/d/k; echo gone > $L1/d/gone; echo f > $L1/e/f
		echo f1 > $L1/f1; chown 3:4 $L1/f1; ln -s f1 $L1/sym
		ovl_mount "$OPTS"
		mv $M/a $M/a2; echo new > $M/a2/new; chown 5 $M/a2/y
		mkdir $M/n; mv $M/b $M/n/b2
		rm -rf $M/c; mv $M/g $M/c
		rm $M/d/gone
		rm -rf $M/e; mkdir $M/e; echo ue > $M/e/ue
		echo up > $M/up; chown 6:7 $M/f1
		ovl_umount
		test -c $U/a; test -c $U/d/gone
		test "$(getfattr --only-values -n trusted.overlay.redirect $U/c)" = g
	'
}

# rp_two: two lower layers; lower1 was the upper of an earlier overlay
# over lower2, which deleted d/a and wrote d/data; the stack on top
# writes a file and chowns d/k.
rp_two() {
	OPTS="lowerdir=$L1:$L2,upperdir=$U,workdir=$W"
	setup '
		mkdir -p $L2/d $S/w0
		echo a > $L2/d/a; echo k > $L2/d/k; echo b > $L2/d/b
		mount -t overlay overlay -o "lowerdir=$L2,upperdir=$L1,workdir=$S/w0" $M
		rm $M/d/a; echo data > $M/d/data
		umount $M; rm -rf $S/w0
		test -c $L1/d/a
		ovl_mount "$OPTS"; echo up > $M/up; chown 7 $M/d/k; ovl_umount
	'
}

# rp_crash_loop N RESTORE LAYERS: for every change 1..N, killed before it
# and just after it (OVL_FAULT_WRITE, OVL_FAULT_AFTER): RESTORE puts the
# damaged stack back, the killed run must die, the next -y finish (exit 0
# or 1), -n exit 0, and LAYERS must list what it listed into
# $S/state.ref after an uninterrupted run. One TAP line per run.
rp_crash_loop() {
	_n=$1 _restore=$2 _layers=$3
	_k=1
	while [ "$_k" -le "$_n" ]; do
		for _after in "" 1; do
			"$_restore"
			_bad=
			_rc=0
			if [ -n "$_after" ]; then
				OVL_FAULT_WRITE=$_k OVL_FAULT_AFTER=1 timeout 60 "$FSCK" -y -o "$OPTS" \
					> "$S/fsck.out" 2> "$S/fsck.err" || _rc=$?
				_when="just after"
			else
				OVL_FAULT_WRITE=$_k timeout 60 "$FSCK" -y -o "$OPTS" \
					> "$S/fsck.out" 2> "$S/fsck.err" || _rc=$?
				_when="before"
			fi
			[ "$_rc" -eq 137 ] || rp_bad "the faulted run exited $_rc, not killed"
			run_fsck -y -o "$OPTS"
			case $FSCK_RC in
			0|1) ;;
			*) rp_bad "the next -y exits $FSCK_RC" ;;
			esac
			run_fsck -n -o "$OPTS"
			[ "$FSCK_RC" -eq 0 ] || rp_bad "then -n exits $FSCK_RC"
			"$_layers" "$S/state.got"
			cmp -s "$S/state.ref" "$S/state.got" ||
				rp_bad "layers differ from the reference: $(diff "$S/state.ref" "$S/state.got" | head -8)"
			rp_done "$SC: killed $_when change $_k of $_n, -y again: same layers"
		done
		_k=$((_k + 1))
	done
}

# rp_before: the merged view before the damage.
rp_before() {
	if merged_snapshot "$S/merged.before"; then
		return 0
	fi
	not_ok "$SC: listing the merged view before the damage"
	diag "$(tail -3 "$S/merged.before")"
	return 1
}

# rp_repair NAME CODE LAYER:PATH: -y fixes the problem (exit 1, the
# problem's line answered yes), then -n exits 0.  Two TAP lines.
rp_repair() {
	_name=$1 _code=$2 _where=$3
	_bad=
	run_fsck -y -o "$OPTS"
	rp_rc 1
	_line=$(grep -F "$_code $_where:" "$S/fsck.out" | head -1)
	if [ -z "$_line" ]; then
		rp_bad "no line \"$_code $_where: ...\""
	else
		case $_line in
		*\?\ yes) ;;
		*) rp_bad "not answered yes: $_line" ;;
		esac
	fi
	rp_done "$_name: -y fixes $_code $_where, exit 1"
	_bad=
	run_fsck -n -o "$OPTS"
	rp_rc 0
	rp_done "$_name: then -n exits 0"
}

# rp_merged NAME EXPECTED [EXCLUDE-ERE]: the stack mounts with $OPTS and
# its merged view equals EXPECTED (a merged_snapshot file), both without
# the lines matching EXCLUDE-ERE.
rp_merged() {
	_name=$1 _exp=$2 _ex=${3:-}
	_bad=
	merged_snapshot "$S/merged.after" || rp_bad "mount failed: $(tail -2 "$S/merged.after")"
	if [ -n "$_ex" ]; then
		grep -v -E "$_ex" "$_exp" > "$S/m.exp"
		grep -v -E "$_ex" "$S/merged.after" > "$S/m.got"
	else
		cp "$_exp" "$S/m.exp"
		cp "$S/merged.after" "$S/m.got"
	fi
	cmp -s "$S/m.exp" "$S/m.got" || rp_bad "merged view differs: $(diff "$S/m.exp" "$S/m.got" | head -12)"
	if [ -z "$_bad" ]; then
		ok "$_name"
	else
		not_ok "$_name"
		diag "$_bad"
	fi
}

# rp_upper_only NAME DIR: in the merged view DIR lists exactly the
# entries of the upper dir (whiteouts left out): its lower content is
# gone, as the man page says of a removed redirect.
rp_upper_only() {
	_want=$(cd "$U/$2" && for _e in $(ls -A); do
		[ "$(stat -c %F:%t,%T "$_e")" = "character special file:0,0" ] || echo "$_e"
	done | tr '\n' ' ')
	expect_kernel "$1: kernel: $2 shows only its upper content ($_want)" "
		test \"\$(ls -A \$M/$2 | tr '\n' ' ')\" = '$_want'
	"
}

scenario fix_wh_orphan_upper
sc_fix_wh_orphan_upper() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	rm "$L1/d/gone"		# an image update removed the deleted file
	rp_repair "$SC" WH_ORPHAN upper:/d/gone
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

scenario fix_wh_orphan_lower
sc_fix_wh_orphan_lower() {
	stack_new "$SC"
	rp_two || return
	rp_before || return
	rm "$L2/d/a"
	rp_repair "$SC" WH_ORPHAN lower1:/d/a
	_bad=; rp_absent "$L1/d/a"
	rp_done "$SC: the whiteout in lower1 is gone"
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

scenario fix_wh_not_empty
sc_fix_wh_not_empty() {
	stack_new "$SC"
	rp_two || return
	rp_before || return
	setfattr -n trusted.overlay.whiteout "$L1/d/data"
	setfattr -n trusted.overlay.opaque -v x "$L1/d"
	rp_repair "$SC" WH_NOT_EMPTY lower1:/d/data
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

# lower1 holds an xattr whiteout (as composefs images do) for d/b; a copy
# lost the opaque=x of its parent.
scenario fix_wh_xattr_no_opaque_x
sc_fix_wh_xattr_no_opaque_x() {
	stack_new "$SC"
	rp_two || return
	touch "$L1/d/b"
	setfattr -n trusted.overlay.whiteout "$L1/d/b"
	setfattr -n trusted.overlay.opaque -v x "$L1/d"
	rp_before || return
	setfattr -x trusted.overlay.opaque "$L1/d"
	rp_repair "$SC" WH_XATTR_NO_OPAQUE_X lower1:/d/b
	_bad=; rp_xattr opaque x "$L1/d"
	rp_done "$SC: lower1 /d is opaque=x again"
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

# A bad opaque value: the kernel shows the lower content again; the fix
# (removing the value) keeps what the kernel shows now.
scenario fix_op_bad_value
sc_fix_op_bad_value() {
	stack_new "$SC"
	rp_base || return
	setfattr -n trusted.overlay.opaque -v z "$U/e"
	merged_snapshot "$S/merged.damaged" || { not_ok "$SC: mount after the damage"; return; }
	rp_repair "$SC" OP_BAD_VALUE upper:/e
	rp_merged "$SC: merged view as after the damage (e merges with lower)" "$S/merged.damaged"
}

scenario fix_op_not_dir
sc_fix_op_not_dir() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	setfattr -n trusted.overlay.opaque -v y "$U/up"
	rp_repair "$SC" OP_NOT_DIR upper:/up
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

scenario fix_im_bad_value
sc_fix_im_bad_value() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	setfattr -n trusted.overlay.impure -v n "$U"
	rp_repair "$SC" IM_BAD_VALUE upper:/
	_bad=; rp_xattr impure y "$U"
	rp_done "$SC: the upper root is impure=y"
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

# The same on a dir below the root (a2 holds the copied-up y).
scenario fix_im_bad_value_dir
sc_fix_im_bad_value_dir() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	setfattr -n trusted.overlay.impure -v n "$U/a2"
	rp_repair "$SC" IM_BAD_VALUE upper:/a2
	_bad=; rp_xattr impure y "$U/a2"
	rp_done "$SC: a2 is impure=y"
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

scenario fix_im_not_dir
sc_fix_im_not_dir() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	setfattr -n trusted.overlay.impure -v y "$U/up"
	rp_repair "$SC" IM_NOT_DIR upper:/up
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

# The root holds merge dirs, renamed dirs and copied-up files.
scenario fix_im_missing
sc_fix_im_missing() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	setfattr -x trusted.overlay.impure "$U"
	rp_repair "$SC" IM_MISSING upper:/
	_bad=; rp_xattr impure y "$U"
	rp_done "$SC: the upper root is impure=y"
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

scenario fix_mc_not_reg
sc_fix_mc_not_reg() {
	stack_new "$SC"
	rp_base "$MCI" || return
	rp_before || return
	setfattr -n trusted.overlay.metacopy "$U/e"
	rp_repair "$SC" MC_NOT_REG upper:/e
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

scenario fix_or_bad
sc_fix_or_bad() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	setfattr -n trusted.overlay.origin -v 0x00fb07 "$U/f1"
	rp_repair "$SC" OR_BAD upper:/f1
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

# Redirect damage.  Where the dir's origin still leads to the lower dir it
# was copied from, the redirect is recomputed from it and the merged view
# is as before ("full"); where the origin leads nowhere the redirect is
# removed and the dir shows only its upper entries ("upper"), everything
# else as before.
rp_redirect_case() {
	_code=$1 _where=$2 _dir=$3 _how=$4
	rp_repair "$SC" "$_code" "$_where"
	if [ "$_how" = full ]; then
		rp_merged "$SC: merged view as before the damage (redirect recomputed)" \
			"$S/merged.before"
		return
	fi
	rp_merged "$SC: merged view as before the damage, but for $_dir/" "$S/merged.before" \
		"^$_dir/"
	rp_upper_only "$SC" "$_dir"
}

scenario fix_rd_invalid
sc_fix_rd_invalid() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	setfattr -n trusted.overlay.redirect -v "a/" "$U/a2"
	rp_redirect_case RD_INVALID upper:/a2 a2 full
}

scenario fix_rd_escape
sc_fix_rd_escape() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	setfattr -n trusted.overlay.redirect -v "/../a" "$U/a2"
	rp_redirect_case RD_ESCAPE upper:/a2 a2 full
}

scenario fix_rd_target_missing
sc_fix_rd_target_missing() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	rm -rf "$L1/b"		# an image update removed b (renamed to n/b2)
	rp_redirect_case RD_TARGET_MISSING upper:/n/b2 n/b2 upper
}

scenario fix_rd_target_not_dir
sc_fix_rd_target_not_dir() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	rm -rf "$L1/b"; echo file > "$L1/b"
	rp_redirect_case RD_TARGET_NOT_DIR upper:/n/b2 n/b2 upper
}

scenario fix_rd_loop
sc_fix_rd_loop() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	setfattr -n trusted.overlay.redirect -v /n "$U/n/b2"
	# /n is a new upper dir: nothing below has that path, so the kernel
	# finds no target (not a loop); same fix, same view
	rp_redirect_case RD_TARGET_MISSING upper:/n/b2 n/b2 full
}

# A dir redirected to its merged parent: /d/sub would show lower /d.
scenario fix_rd_loop_merged
sc_fix_rd_loop_merged() {
	stack_new "$SC"
	rp_base || return
	mkdir "$U/d/sub"
	rp_before || return
	setfattr -n trusted.overlay.redirect -v /d "$U/d/sub"
	rp_redirect_case RD_LOOP upper:/d/sub d/sub full
}

# A copy of the renamed dir, with its xattrs: the second one loses the
# redirect and shows its upper content; the first is untouched.
scenario fix_rd_duplicate
sc_fix_rd_duplicate() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	cp -a "$U/a2" "$U/a3"
	rp_repair "$SC" RD_DUPLICATE upper:/a3
	rp_merged "$SC: merged view as before the damage, but for a3" "$S/merged.before" \
		"^a3(/|	)"
	rp_upper_only "$SC" a3
	_bad=; rp_xattr redirect a "$U/a2"; rp_no_xattr redirect "$U/a3"
	rp_done "$SC: a2 keeps its redirect, a3 lost it"
}

# c was replaced by g (redirect "g"); the image update removed g: the
# redirect goes and c, which would then merge with the lower c it
# replaced, is made opaque.
scenario fix_rd_opaque
sc_fix_rd_opaque() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	rm -rf "$L1/g"
	rp_redirect_case RD_TARGET_MISSING upper:/c c upper
	_bad=; rp_no_xattr redirect "$U/c"; rp_xattr opaque y "$U/c"
	rp_done "$SC: c is opaque=y without redirect"
}

scenario fix_rd_no_whiteout
sc_fix_rd_no_whiteout() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	rm "$U/a"
	rp_repair "$SC" RD_NO_WHITEOUT upper:/a2
	_bad=; rp_is_wh "$U/a"
	rp_done "$SC: the whiteout over a is back"
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

# opaque=y set beside the redirect: the kernel shows only the upper
# content; removing the unused redirect keeps that view.
scenario fix_rd_unused
sc_fix_rd_unused() {
	stack_new "$SC"
	rp_base || return
	setfattr -n trusted.overlay.opaque -v y "$U/a2"
	merged_snapshot "$S/merged.damaged" || { not_ok "$SC: mount after the damage"; return; }
	rp_repair "$SC" RD_UNUSED upper:/a2
	rp_merged "$SC: merged view as after the damage" "$S/merged.damaged"
}

scenario fix_upper_origin_bad
sc_fix_upper_origin_bad() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	setfattr -n trusted.overlay.origin -v 0x00fb07 "$U"
	rp_repair "$SC" STK_UPPER_ORIGIN_BAD upper:/
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

scenario fix_uuid_xattr_bad
sc_fix_uuid_xattr_bad() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	setfattr -n trusted.overlay.uuid -v 0x0102 "$U"
	rp_repair "$SC" STK_UUID_XATTR_BAD upper:/
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

scenario fix_index_upper_bad
sc_fix_index_upper_bad() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	setfattr -n trusted.overlay.upper -v 0x00fb07 "$W/index"
	rp_repair "$SC" STK_INDEX_UPPER_BAD index:/
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
	_bad=
	getfattr -h -n trusted.overlay.upper "$W/index" > /dev/null 2>&1 ||
		rp_bad "the kernel did not write W/index upper again"
	rp_done "$SC: the kernel wrote the W/index upper handle again"
}

# The view is listed while the volatile mount is still up.
scenario fix_volatile_dirty
sc_fix_volatile_dirty() {
	stack_new "$SC"
	OPTS=$(std_opts volatile)
	setup '
		mkdir $L1/d; echo f > $L1/d/f
		ovl_mount "$OPTS"; echo x > $M/x; chmod 600 $M/d/f
		tree_list $M > $S/merged.before
		ovl_umount
		test -e $W/work/incompat/volatile/dirty
	' || return
	rp_repair "$SC" STK_VOLATILE_DIRTY work:/incompat/volatile
	_bad=
	[ -n "$(find "$W/overlay-fsck.quarantine" -path '*incompat/volatile/dirty' 2>/dev/null)" ] ||
		rp_bad "the marker is not in the quarantine dir"
	rp_done "$SC: the marker was moved into W/overlay-fsck.quarantine"
	rp_merged "$SC: mounts volatile again, merged view as before" "$S/merged.before"
}

scenario fix_work_leftover
sc_fix_work_leftover() {
	stack_new "$SC"
	rp_base || return
	rp_before || return
	mkdir -p "$W/work/work/x/y"; echo junk > "$W/work/work/x/y/z"
	rp_repair "$SC" STK_WORK_LEFTOVER work:/work
	_bad=
	_z=$(find "$W/overlay-fsck.quarantine" -path '*/x/y/z' 2>/dev/null)
	[ -n "$_z" ] && [ "$(cat "$_z")" = junk ] ||
		rp_bad "the leftover is not in the quarantine dir"
	rp_done "$SC: the leftover was moved into W/overlay-fsck.quarantine"
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
	expect_kernel "$SC: kernel: mounted read-write" '
		awk -v m="$M" "\$2 == m { print \$4 }" /proc/mounts | grep -q "^rw,"
	'
}

# tmpfs stores an xattr no real redirect can have.
scenario fix_xattr_huge
sc_fix_xattr_huge() {
	stack_new "$SC"
	mkdir "$S/t"
	mount -t tmpfs tmpfs "$S/t" || { skip "$SC: cannot mount tmpfs"; return; }
	U=$S/t/u W=$S/t/w
	mkdir "$U" "$W"
	OPTS=$(std_opts "$MC")
	setup '
		mkdir $L1/d; echo lower > $L1/d/f
		ovl_mount "$OPTS"; echo u > $M/d/u; ovl_umount
	' || return
	rp_before || return
	setfattr -n trusted.overlay.redirect -v "/$(head -c 4999 /dev/zero | tr '\0' a)" "$U/d"
	rp_repair "$SC" LY_XATTR_HUGE upper:/d
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

# ---- a stack with one fix of every kind ----

# rp_multi: rp_base, then damage fixed by every op: mkwhiteout (a), setxattr
# (impure of /, opaque of h), rmxattr (bad opaque of e, redirect of h),
# rmwhiteout (d/gone), quarantine (W/work leftover, volatile marker).
# h is a dir a tool made with a redirect to nowhere, over a lower h: its
# redirect goes and it is made opaque (no origin: the kernel did not
# make it).
rp_multi() {
	rp_base "$@" || return
	rm "$U/a"
	setfattr -x trusted.overlay.impure "$U"
	setfattr -n trusted.overlay.opaque -v z "$U/e"
	rm "$L1/d/gone"
	mkdir "$L1/h" "$U/h"; echo hh > "$L1/h/hh"
	setfattr -n trusted.overlay.redirect -v nowhere "$U/h"
	mkdir -p "$W/work/junk/a/b"; echo junk > "$W/work/junk/a/b/f"
	mkdir -p "$W/work/incompat/volatile/dirty"
}

rp_layers() {
	layer_state "$1" "$L1" "$U" "$W"
}

# rp_restore: the damaged upper and work dirs again, from $S/pristine.
# The lower layer is never copied (a copy has new inodes and every origin
# would go stale) nor changed (every fix of rp_multi is in U or W); for
# the same reason the stack has no index (W/index names the upper root).
rp_restore() {
	rm -rf "$U" "$W"
	cp -a "$S/pristine/u" "$S/pristine/w" "$S/"
}

scenario crash
sc_crash() {
	stack_new "$SC"
	rp_multi redirect_dir=on || return
	mkdir "$S/pristine"
	cp -a "$U" "$W" "$S/pristine/"
	rp_layers "$S/state.pristine"
	# the reference: one uninterrupted run
	run_fsck -y -o "$OPTS"
	_bad=
	rp_rc 1
	_j=$(journal_of)
	_n=$(grep -c '^R ' "$_j" 2>/dev/null)
	for _op in mkwhiteout setxattr rmxattr rmwhiteout quarantine; do
		grep -q "^R [0-9]* $_op " "$_j" 2>/dev/null || rp_bad "no $_op in the journal"
	done
	rp_done "$SC: reference -y: exit 1, $_n changes of every kind"
	[ -n "$_n" ] && [ "$_n" -gt 0 ] || return
	run_fsck -n -o "$OPTS"
	_bad=; rp_rc 0
	rp_done "$SC: reference -y: then -n exits 0"
	rp_layers "$S/state.ref"
	rp_crash_loop "$_n" rp_restore rp_layers
}

# --undo of a -y run restores every layer; the empty quarantine dirs the
# run made are all that is left of it (and its journal).
rp_undo_case() {
	_name=$1
	rp_layers "$S/state.before"
	run_fsck -y -o "$OPTS"
	_bad=; rp_rc 1
	rp_done "$_name: -y exit 1"
	_j=$(journal_of)
	rp_layers "$S/state.fixed"
	run_fsck --undo "$_j" -o "$OPTS"
	_bad=; rp_rc 0
	rp_layers "$S/state.undone"
	grep -v -E '^w/overlay-fsck\.quarantine(/TIME)?	d' "$S/state.undone" > "$S/state.undone.f"
	cmp -s "$S/state.before" "$S/state.undone.f" ||
		rp_bad "layers differ: $(diff "$S/state.before" "$S/state.undone.f" | head -8)"
	rp_done "$_name: --undo exits 0 and restores the layers"
	run_fsck --undo "$_j" -o "$OPTS"
	_bad=; rp_rc 4
	rp_layers "$S/state.again"
	cmp -s "$S/state.undone" "$S/state.again" || rp_bad "the refused undo changed the layers"
	rp_done "$_name: a second --undo is refused (exit 4), layers untouched"
}

scenario undo_multi
sc_undo_multi() {
	stack_new "$SC"
	rp_multi || return
	rp_undo_case "$SC"
}

# Fixes inside a lower layer, and a lower duplicate redirect (-y).
scenario undo_lower
sc_undo_lower() {
	stack_new "$SC"
	rp_two || return
	rm "$L2/d/a"
	mkredirect "$L1/r1" /d; mkredirect "$L1/r2" /d
	setfattr -n trusted.overlay.opaque -v y "$U/up"
	rp_layers() { layer_state "$1" "$L1" "$L2" "$U" "$W"; }
	rp_undo_case "$SC"
	rp_layers() { layer_state "$1" "$L1" "$U" "$W"; }
}

# ---- a read-only lower layer ----

# The lower fixes fail with EROFS and are left (exit 4); the upper fix is
# made (exit 1): 5 in all.  Then -n reports just the lower problem.
scenario ro_lower
sc_ro_lower() {
	stack_new "$SC"
	rp_two || return
	rm "$L2/d/a"
	setfattr -n trusted.overlay.opaque -v y "$U/up"
	mkdir "$S/l1ro"
	mount --bind "$L1" "$S/l1ro" && mount -o remount,ro,bind "$S/l1ro" ||
		{ skip "$SC: cannot make a read-only bind mount"; return; }
	OPTS="lowerdir=$S/l1ro:$L2,upperdir=$U,workdir=$W"
	for _mode in -y -p; do
		_bad=
		run_fsck $_mode -o "$OPTS"
		rp_rc 5
		grep -qF "WH_ORPHAN lower1:/d/a:" "$S/fsck.out" || rp_bad "WH_ORPHAN lower1:/d/a not reported"
		grep -q "Read-only file system" "$S/fsck.out" "$S/fsck.err" ||
			rp_bad "no message that the lower fix is not possible"
		grep -qF "1 fixed, 1 left" "$S/fsck.out" || rp_bad "summary is not \"1 fixed, 1 left\""
		rp_is_wh "$L1/d/a"
		rp_no_xattr opaque "$U/up"
		rp_done "$SC: $_mode: the lower fix is left, the upper one made, exit 5"
		setfattr -n trusted.overlay.opaque -v y "$U/up"
	done
	setfattr -x trusted.overlay.opaque "$U/up"
	_bad=
	run_fsck -n -o "$OPTS"
	rp_rc 4
	[ "$(grep -c '^[A-Z][A-Z_]* [a-z0-9]*:/' "$S/fsck.out")" -eq 1 ] ||
		rp_bad "more than the lower problem is left"
	rp_done "$SC: -n then reports only WH_ORPHAN lower1:/d/a, exit 4"
	umount "$S/l1ro"
}

# ---- a mounted stack ----

scenario mounted
sc_mounted() {
	stack_new "$SC"
	rp_base || return
	setfattr -n trusted.overlay.opaque -v y "$U/up"
	ovl_mount "$OPTS" || { not_ok "$SC: mount"; return; }
	rp_layers "$S/state.before"
	for _mode in -y -p; do
		_bad=
		run_fsck $_mode -o "$OPTS"
		rp_rc 8
		grep -q "mounted on $M" "$S/fsck.err" || rp_bad "no message naming the mount"
		rp_layers "$S/state.after"
		cmp -s "$S/state.before" "$S/state.after" || rp_bad "the layers changed"
		rp_done "$SC: $_mode on the mounted stack is refused, exit 8"
	done
	_bad=
	run_fsck -n -o "$OPTS"
	rp_rc 4
	grep -q "warning: the stack is mounted on $M" "$S/fsck.err" || rp_bad "no warning"
	rp_done "$SC: -n on the mounted stack warns and checks, exit 4"
	ovl_umount
}

# A metacopy xattr cut to two bytes (EIO) over lower data that is still
# there: rewritten as the empty form, the file reads its data again.
scenario fix_mc_too_short
sc_fix_mc_too_short() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup 'echo data > $L1/f; echo other > $L1/g
	       ovl_mount "$OPTS"; chown 5 $M/f $M/g; ovl_umount
	       test -n "$(xattr_hex metacopy $U/f)" || getfattr -n trusted.overlay.metacopy $U/f' ||
		return
	rp_before || return
	setfattr -n trusted.overlay.metacopy -v 0x0001 "$U/f"
	expect_errno "$SC" read f EIO
	rp_repair "$SC" MC_TOO_SHORT upper:/f
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

# ^C during a repair: the change under way is finished, no further one is
# started, the exit status says cancelled (32) with what was done and
# left, and the next -y finishes the rest.
scenario sigint
sc_sigint() {
	stack_new "$SC"
	OPTS=$(std_opts "$RDI")
	setup 'for i in 1 2 3 4; do mknod $U/o$i c 0 0; done
	       setfattr -n trusted.overlay.impure -v y $U' || return
	FSCK_RC=0
	OVL_FAULT_WRITE=2 OVL_FAULT_SIGNAL=INT "$FSCK" -y -o "$OPTS" \
		> "$S/fsck.out" 2> "$S/fsck.err" || FSCK_RC=$?
	_left=$(ls "$U" | grep -c '^o')
	if [ "$FSCK_RC" -eq 37 ] && [ "$_left" -eq 2 ] &&
	   grep -q "^2 fixed, 2 left" "$S/fsck.out"; then
		ok "$SC: interrupted at change 2: exit 32|4|1, two changes made, two left"
	else
		not_ok "$SC: interrupted at change 2: exit 32|4|1, two changes made, two left"
		diag "exit $FSCK_RC, $_left whiteouts left"
		kt_show_fsck
	fi
	run_fsck -y -o "$OPTS"
	run_fsck -n -o "$OPTS"
	if [ "$FSCK_RC" -eq 0 ] && [ -z "$(ls "$U" | grep '^o')" ]; then
		ok "$SC: the next -y finishes, -n exits 0"
	else
		not_ok "$SC: the next -y finishes, -n exits 0"
		kt_show_fsck
	fi
}
