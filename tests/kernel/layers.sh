# overlay-layers: each command proved by the kernel. A scenario makes a
# stack with real mounts, lists the merged view (tests/kernel/view.py:
# path, type, mode, owner, size, data, target, nlink, xattrs, mtime),
# runs the command, and mounts again: the view must be the one from
# before. Kills at every journal step, --undo, and the refusals.

LAYERS=${LAYERS:-$top_builddir/overlay-layers}

# ly_view FILE [VIEW-OPTIONS]: the merged view of the stack into FILE.
ly_view() {
	_f=$1
	shift
	mount_list "$_f" "$OPTS" python3 "$top_srcdir/tests/kernel/view.py" "$@"
}

# ly_begin STACKFN [VIEW-OPTIONS]: a fresh scenario dir, the stack STACKFN
# makes, its merged view in $S/view.before; non-zero (with a TAP line when
# the view cannot be listed) when the scenario cannot go on.
ly_begin() {
	_mk=$1
	shift
	stack_new "$SC"
	"$_mk" || return 1
	ly_view "$S/view.before" "$@" && return 0
	not_ok "$SC: merged view before"
	return 1
}

# ly_same_view NAME: the stack mounts and shows $S/view.before.
ly_same_view() {
	_bad=
	ly_view "$S/view.after" || rp_bad "mount failed: $(tail -2 "$S/view.after")"
	cmp -s "$S/view.before" "$S/view.after" ||
		rp_bad "merged view differs: $(diff "$S/view.before" "$S/view.after" | head -10)"
	rp_done "$1"
}

# run_layers ARGS...: overlay-layers, its output in $S/layers.out and
# $S/layers.err, its exit code in LY_RC.
run_layers() {
	LY_RC=0
	timeout 120 "$LAYERS" "$@" > "$S/layers.out" 2> "$S/layers.err" || LY_RC=$?
	if [ -n "$KT_VERBOSE" ]; then
		diag "overlay-layers $* -> $LY_RC"
		diag "$(cat "$S/layers.out" "$S/layers.err")"
	fi
}

ly_rc() {
	[ "$LY_RC" -eq "$1" ] || rp_bad "exit $LY_RC, not $1: $(head -3 "$S/layers.err")"
}

# ---- vacuum ----

# ly_no_data FILE: FILE has no data segment (SEEK_DATA finds none).
ly_no_data() {
	python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.lseek(fd, 0, os.SEEK_DATA)
    sys.exit(1)
except OSError:
    sys.exit(0)' "$1"
}

# The kernel copies up without changing: chmod to the same mode (a full
# copy with metacopy off), chown to the same owner of a symlink, a dir
# whose only child is such a copy. What stays: data written back equal
# but with a new mtime, a new file, a deletion, an upper hard link, a
# copy with an xattr of its own, a dir with a new mode. (A whiteout over
# nothing is fsck.overlay's WH_ORPHAN: such a stack is refused.)
ly_vacuum_stack() {
	OPTS=$(std_opts "${1:-redirect_dir=on,index=on}")
	setup '
		mkdir -p $L1/d/sub $L1/e $L1/keep $L1/m
		echo one > $L1/a; echo two > $L1/d/sub/b; echo three > $L1/e/c
		ln -s a $L1/s; mkfifo $L1/p; echo hl > $L1/h
		setfattr -n user.x -v 1 $L1/a; echo k > $L1/keep/k; echo m > $L1/m/f
		touch -d @1500000000 $L1/e/c $L1/m/f
		ovl_mount "$OPTS"
		chmod 644 $M/a $M/d/sub/b $M/e/c; chown -h 0:0 $M/s $M/p
		cat $M/e/c > $M/e/c.tmp; cat $M/e/c.tmp > $M/e/c; rm $M/e/c.tmp
		echo new > $M/keep/new; rm $M/keep/k
		chmod 644 $M/h; ln $M/h $M/h2
		chmod 644 $M/m/f; setfattr -n user.mine -v 1 $M/m/f
		chmod 700 $M/d/sub
		ovl_umount
		test -f $U/a; test -d $U/d/sub; test -c $U/keep/k
	'
}

LY_VACUUM_PLAN='/a /d/sub/b /p /s'

scenario layers_vacuum
sc_layers_vacuum() {
	ly_begin ly_vacuum_stack || return
	_bad=
	snapshot "$S/snap.before" $(kt_layers)
	run_layers vacuum -n -o "$OPTS"
	snapshot "$S/snap.after" $(kt_layers)
	ly_rc 0
	_got=$(sed -n 's/^would remove upper:\([^:]*\): .*/\1/p' "$S/layers.out" | sort | tr '\n' ' ')
	[ "$_got" = "$LY_VACUUM_PLAN " ] || rp_bad "plan: $_got, not $LY_VACUUM_PLAN"
	grep -q '^would make 4 changes, [0-9]* bytes$' "$S/layers.out" || rp_bad "no total line"
	cmp -s "$S/snap.before" "$S/snap.after" || rp_bad "-n changed the layers"
	rp_done "$SC: -n plans the removal of $LY_VACUUM_PLAN, writes nothing"

	_bad=
	_du0=$(du -s --apparent-size -B1 "$U" | cut -f1)
	layer_state "$S/state.before" "$U" "$W"
	run_layers vacuum -y -o "$OPTS"
	ly_rc 0
	for _p in a d/sub/b p s; do
		[ -e "$U/$_p" ] || [ -L "$U/$_p" ] && rp_bad "upper $_p is still there"
	done
	for _p in d/sub e/c keep/new keep/k h h2 m/f; do
		[ -e "$U/$_p" ] || rp_bad "upper $_p is gone"
	done
	[ "$(du -s --apparent-size -B1 "$U" | cut -f1)" -lt "$_du0" ] || rp_bad "the upper did not shrink"
	rp_done "$SC: -y removes them, keeps the changes, the upper shrank"
	ly_same_view "$SC: merged view as before"
	_bad=
	run_fsck -n -o "$OPTS"
	rp_rc 0
	run_layers vacuum -n -o "$OPTS"
	grep -q '^would make 0 changes, 0 bytes$' "$S/layers.out" || rp_bad "a second plan is not empty"
	rp_done "$SC: then fsck -n exits 0, a second vacuum has nothing to do"

	_bad=
	_j=$(ls "$W"/overlay-fsck-undo.* | head -1)
	run_layers --undo "$_j" -o "$OPTS"
	ly_rc 0
	layer_state "$S/state.undone" "$U" "$W"
	cmp -s "$S/state.before" "$S/state.undone" ||
		rp_bad "layers after undo differ: $(diff "$S/state.before" "$S/state.undone" | head -8)"
	rp_done "$SC: --undo puts every removed entry back (data, owner, mode, times, xattrs)"
	ly_same_view "$SC: merged view after undo as before"
}

# Metacopy: chown to the same owner copies the metadata only; vacuum
# removes those stubs whose metadata is the lower file's.
scenario layers_vacuum_metacopy
sc_layers_vacuum_metacopy() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d
		head -c 100000 /dev/urandom > $L1/big; echo f > $L1/d/f; echo g > $L1/g
		ovl_mount "$OPTS"
		chown 0:0 $M/big $M/d/f; chown 5 $M/g
		ovl_umount
		test -n "$(getfattr -n trusted.overlay.metacopy -e hex $U/big 2>/dev/null)"
	' || return
	ly_view "$S/view.before" || { not_ok "$SC: merged view before"; return; }
	layer_state "$S/state.before" "$U" "$W"
	_bad=
	run_layers vacuum -y -o "$OPTS"
	ly_rc 0
	[ -e "$U/big" ] && rp_bad "upper big is still there"
	[ -e "$U/d" ] && rp_bad "upper d is still there"
	[ -e "$U/g" ] || rp_bad "upper g (owner 5) is gone"
	rp_done "$SC: -y removes the metacopy stubs equal to the lower (and their dir), keeps g"
	ly_same_view "$SC: merged view as before"
	_bad=
	run_layers --undo "$(ls "$W"/overlay-fsck-undo.* | head -1)" -o "$OPTS"
	ly_rc 0
	[ -n "$(getfattr -n trusted.overlay.metacopy -e hex "$U/d/f" 2>/dev/null)" ] ||
		rp_bad "upper d/f is not a metacopy stub again"
	layer_state "$S/state.undone" "$U" "$W"
	cmp -s "$S/state.before" "$S/state.undone" ||
		rp_bad "layers after undo differ: $(diff "$S/state.before" "$S/state.undone" | head -6)"
	ly_no_data "$U/big" || rp_bad "upper big holds data"
	run_fsck -n -o "$OPTS"
	rp_rc 0
	rp_done "$SC: --undo makes the stubs and their dir again (no data), fsck -n exits 0"
	ly_same_view "$SC: merged view after undo as before"
}

# Every change killed before and just after it: the next -y finishes
# with the layers of an uninterrupted run, the view always as before.
# The layer roots stay (W/index names the upper root's inode): their
# contents are put back.
ly_vacuum_restore() {
	find "$U" "$W" -mindepth 1 -delete
	cp -a "$S/pristine/u/." "$U/"
	cp -a "$S/pristine/w/." "$W/"
}

ly_vacuum_layers() {
	layer_state "$1" "$U"
}

scenario layers_vacuum_crash
sc_layers_vacuum_crash() {
	ly_begin ly_vacuum_stack || return
	mkdir -p "$S/pristine"
	cp -a "$U" "$W" "$S/pristine/"
	run_layers vacuum -y -o "$OPTS"
	_n=$(sed -n 's/^made \([0-9]*\);.*/\1/p' "$S/layers.out")
	ly_vacuum_layers "$S/state.ref"
	_k=1
	while [ "$_k" -le "${_n:-0}" ]; do
		for _after in "" 1; do
			ly_vacuum_restore
			_bad=
			_rc=0
			env OVL_FAULT_WRITE=$_k ${_after:+OVL_FAULT_AFTER=1} timeout 60 "$LAYERS" \
				vacuum -y -o "$OPTS" > /dev/null 2>&1 || _rc=$?
			[ "$_rc" -eq 137 ] || rp_bad "the faulted run exited $_rc, not killed"
			ly_view "$S/view.mid"
			cmp -s "$S/view.before" "$S/view.mid" || rp_bad "the view after the kill differs"
			run_layers vacuum -y -o "$OPTS"
			ly_rc 0
			ly_vacuum_layers "$S/state.got"
			cmp -s "$S/state.ref" "$S/state.got" ||
				rp_bad "layers differ: $(diff "$S/state.ref" "$S/state.got" | head -6)"
			rp_done "$SC: killed $([ -n "$_after" ] && echo just after || echo before) change $_k of $_n: view intact, -y again: same layers"
		done
		_k=$((_k + 1))
	done
	# a run killed half-way is undone whole
	ly_vacuum_restore
	layer_state "$S/state.before" "$U" "$W"
	OVL_FAULT_WRITE=3 timeout 60 "$LAYERS" vacuum -y -o "$OPTS" > /dev/null 2>&1
	_bad=
	run_layers --undo "$(ls "$W"/overlay-fsck-undo.* | head -1)" -o "$OPTS"
	ly_rc 0
	layer_state "$S/state.undone" "$U" "$W"
	cmp -s "$S/state.before" "$S/state.undone" ||
		rp_bad "layers after undo differ: $(diff "$S/state.before" "$S/state.undone" | head -6)"
	rp_done "$SC: a run killed at change 3 is undone whole"
	ly_same_view "$SC: merged view as before"
}

# ---- the frame every command shares ----

scenario layers_refuse
sc_layers_refuse() {
	stack_new "$SC"
	ly_vacuum_stack || return
	_bad=
	ovl_mount "$OPTS"
	run_layers vacuum -n -o "$OPTS"
	ovl_umount
	ly_rc 8
	grep -q "mounted on $M" "$S/layers.err" || rp_bad "no word of the mount"
	rp_done "$SC: a mounted stack is refused, exit 8"
	_bad=
	setfattr -n trusted.overlay.redirect -v "" "$U/d"
	snapshot "$S/snap.before" $(kt_layers)
	run_layers vacuum -y -o "$OPTS"
	snapshot "$S/snap.after" $(kt_layers)
	ly_rc 4
	grep -q "fsck.overlay -y" "$S/layers.err" || rp_bad "no pointer at fsck.overlay -y"
	grep -q "^  RD_INVALID upper:/d: " "$S/layers.err" || rp_bad "the problem is not named"
	cmp -s "$S/snap.before" "$S/snap.after" || rp_bad "the refused run changed the layers"
	rp_done "$SC: a stack with problems is refused, exit 4, the problem named, nothing written"
	_bad=
	run_layers vacuum -o "$OPTS" --json
	ly_rc 4
	jq -e '.exit == 4 and .command == "vacuum" and (.error | test("problems"))' \
		"$S/layers.out" > /dev/null || rp_bad "JSON: $(head -c 300 "$S/layers.out")"
	rp_done "$SC: --json says the refusal"
	_bad=
	run_layers frobnicate -o "$OPTS"
	ly_rc 16
	run_layers vacuum -n -y -o "$OPTS"
	ly_rc 16
	run_layers vacuum
	ly_rc 16
	rp_done "$SC: usage errors exit 16"
}

scenario layers_json_progress
sc_layers_json_progress() {
	stack_new "$SC"
	ly_vacuum_stack || return
	_bad=
	run_layers vacuum -n --json -o "$OPTS"
	ly_rc 0
	jq -e '.dry_run and .exit == 0 and (.changes | length) == 4 and
	       ([.changes[].path] | sort) == ["/a", "/d/sub/b", "/p", "/s"] and
	       .bytes == ([.changes[].bytes] | add) and ([.changes[].done] | any | not)' \
		"$S/layers.out" > /dev/null || rp_bad "JSON: $(head -c 400 "$S/layers.out")"
	rp_done "$SC: -n --json holds the plan, each change's bytes and the total"
	_bad=
	run_layers vacuum -y --json -C 3 -o "$OPTS" 3> "$S/progress"
	ly_rc 0
	jq -e '(.dry_run | not) and ([.changes[].done] | all) and (.journal | test("overlay-fsck-undo"))' \
		"$S/layers.out" > /dev/null || rp_bad "JSON: $(head -c 400 "$S/layers.out")"
	tail -1 "$S/progress" | grep -q '^1 4 4 ' || rp_bad "progress: $(tail -2 "$S/progress")"
	rp_done "$SC: -y --json -C 3: every change done, the journal named, progress lines on fd 3"
}

# ---- export ----

# What a container does that a layer tar must carry: new, changed and
# deleted files, a dir replaced (opaque), a dir renamed (a redirect: no
# tar form, written whole), metacopy files (chown: the data is the
# lower's), a renamed metacopy file, upper hard links, xattrs, a symlink,
# a fifo, a device.
ly_export_stack() {
	OPTS=$(std_opts "$MC")
	setup '
		mkdir -p $L1/etc $L1/old/sub $L1/gone/in $L1/keep
		echo conf > $L1/etc/conf; echo pw > $L1/etc/passwd
		echo x > $L1/old/sub/x; echo y > $L1/old/y; echo in > $L1/gone/in/f
		head -c 70000 /dev/urandom > $L1/big; echo k > $L1/keep/k; echo mv > $L1/mvf
		setfattr -n user.low -v l $L1/etc/conf
		# whole seconds: umoci packs the lower with second mtimes
		find $L1 -exec touch -h -d @1700000000 {} +
		ovl_mount "$OPTS"
		echo changed >> $M/etc/conf; rm $M/etc/passwd
		mv $M/old $M/new; echo n > $M/new/added
		rm -rf $M/gone; mkdir $M/gone; echo again > $M/gone/again
		chown 7:8 $M/big; mv $M/mvf $M/keep/mvf2
		echo h > $M/h; ln $M/h $M/h2; setfattr -n user.mine -v m $M/h
		ln -s ../etc/conf $M/keep/link; mkfifo $M/keep/fifo; mknod $M/keep/null c 1 3
		ovl_umount
		test -n "$(getfattr -n trusted.overlay.redirect $U/new 2>/dev/null)"
		test -n "$(getfattr -n trusted.overlay.metacopy $U/big 2>/dev/null)"
	'
}

scenario layers_export
sc_layers_export() {
	ly_begin ly_export_stack --no-dir-mtime || return
	_bad=
	snapshot "$S/snap.before" $(kt_layers)
	run_layers export -n "$S/t1.tar" -o "$OPTS"
	ly_rc 0
	[ -e "$S/t1.tar" ] && rp_bad "-n wrote the tar"
	grep -q '^would add upper:/etc/passwd: 0 bytes (whiteout)$' "$S/layers.out" ||
		rp_bad "no whiteout line"
	grep -q '^would add upper:/big: 70000 bytes (file)$' "$S/layers.out" ||
		rp_bad "no line for the metacopy file with its lower data"
	run_layers export -y "$S/t1.tar" -o "$OPTS"
	ly_rc 0
	run_layers export -y - -o "$OPTS"
	cp "$S/layers.out" "$S/t2.tar"
	snapshot "$S/snap.after" $(kt_layers)
	cmp -s "$S/snap.before" "$S/snap.after" || rp_bad "export changed the layers"
	cmp -s "$S/t1.tar" "$S/t2.tar" || rp_bad "the second tar differs"
	rp_done "$SC: -n writes nothing; -y FILE and -y - give byte-identical tars; the layers untouched"
	_bad=
	tar -tf "$S/t1.tar" > "$S/names" 2>/dev/null
	for _n in etc/.wh.passwd gone/ gone/.wh..wh..opq new/ new/.wh..wh..opq new/sub/x \
		new/added .wh.old .wh.mvf keep/mvf2 big h h2; do
		grep -qx "$_n" "$S/names" || rp_bad "no $_n in the tar"
	done
	grep -q '^new/.wh..wh..opq$' "$S/names" || rp_bad "the renamed dir is not opaque"
	tar -tvf "$S/t1.tar" 2>/dev/null | grep -q '^hrw.* h2 link to h$' ||
		rp_bad "h2 is not a hard link to h: $(tar -tvf "$S/t1.tar" 2>/dev/null | grep h2)"
	rp_done "$SC: the tar holds OCI whiteouts, opaque markers, the renamed dir whole, hard links"
	if ! command -v umoci > /dev/null; then
		skip "$SC: umoci applies the tar over the lower: the merged view" "no umoci"
		return
	fi
	_bad=
	_img=$S/oci
	( cd "$S" && umoci init --layout oci && umoci new --image oci:base &&
	  umoci insert --image oci:base "$L1" / &&
	  umoci raw add-layer --image oci:base "$S/t1.tar" --tag top &&
	  umoci unpack --image oci:top bundle ) > "$S/umoci.log" 2>&1 ||
		rp_bad "umoci: $(tail -3 "$S/umoci.log")"
	python3 "$top_srcdir/tests/kernel/view.py" "$S/bundle/rootfs" --no-dir-mtime > "$S/view.umoci"
	cmp -s "$S/view.before" "$S/view.umoci" ||
		rp_bad "umoci's rootfs differs: $(diff "$S/view.before" "$S/view.umoci" | head -10)"
	rp_done "$SC: umoci applies the tar over the lower layer: the merged view, file for file"
}

# ---- deref ----

# ly_deref_check NAME NEWUPPER: the new upper over the same lower, with
# redirect_dir and metacopy off, shows the view of before; it holds no
# redirect, origin or metacopy xattr.
ly_deref_check() {
	_bad=
	# before a mount: the kernel writes its own marks into an upper
	getfattr -R -h -d -m 'trusted\.overlay\.(redirect|origin|metacopy|impure|nlink)' \
		"$2" 2>/dev/null | grep -q . &&
		rp_bad "overlay xattrs made: $(getfattr -R -h -d -m - "$2" 2>/dev/null | head -6)"
	mkdir -p "$S/w2"
	rm -rf "$S/w2/"*
	_o="lowerdir=$L1,upperdir=$2,workdir=$S/w2,redirect_dir=off,metacopy=off,index=off"
	mount_list "$S/view.deref" "$_o" python3 "$top_srcdir/tests/kernel/view.py" --no-dir-mtime ||
		rp_bad "mount failed: $(tail -2 "$S/view.deref")"
	cmp -s "$S/view.before" "$S/view.deref" ||
		rp_bad "the view differs: $(diff "$S/view.before" "$S/view.deref" | head -10)"
	rp_done "$1"
}

scenario layers_deref
sc_layers_deref() {
	ly_begin ly_export_stack --no-dir-mtime || return
	_bad=
	snapshot "$S/snap.before" $(kt_layers)
	run_layers deref -n "$S/nu" -o "$OPTS"
	ly_rc 0
	[ -e "$S/nu" ] && rp_bad "-n made the dir"
	run_layers deref -y "$S/nu" -o "$OPTS"
	ly_rc 0
	snapshot "$S/snap.after" $(kt_layers)
	cmp -s "$S/snap.before" "$S/snap.after" || rp_bad "deref changed the layers"
	[ -e "$S/nu.overlay-layers-tmp" ] && rp_bad "the temp dir is left"
	[ "$(stat -c %i "$S/nu/h")" = "$(stat -c %i "$S/nu/h2")" ] || rp_bad "h and h2 are not one inode"
	run_layers deref -y "$S/nu" -o "$OPTS"
	ly_rc 8
	rp_done "$SC: -n makes nothing; -y makes the new upper, the stack untouched; an existing DIR is refused"
	ly_deref_check "$SC: the new upper with redirect_dir=off,metacopy=off shows the view of before" "$S/nu"
	# killed half-way: DIR absent; the next run makes it whole
	_bad=
	rm -rf "$S/nu"
	_rc=0
	OVL_FAULT_WRITE=5 timeout 60 "$LAYERS" deref -y "$S/nu" -o "$OPTS" > /dev/null 2>&1 || _rc=$?
	[ "$_rc" -eq 137 ] || rp_bad "the faulted run exited $_rc, not killed"
	[ -e "$S/nu" ] && rp_bad "a killed run left DIR"
	[ -d "$S/nu.overlay-layers-tmp" ] || rp_bad "the killed run left no temp dir"
	run_layers deref -y "$S/nu" -o "$OPTS"
	ly_rc 0
	[ -e "$S/nu.overlay-layers-tmp" ] && rp_bad "the temp dir is left"
	rp_done "$SC: killed at the 5th entry: no DIR; the next run removes its temp dir and makes DIR"
	ly_deref_check "$SC: and it shows the view of before" "$S/nu"
}

# The index's hard links: lower a = b; writing a copies it up indexed,
# and the view shows the change at b too. The new upper holds both names
# as one inode, and shows it without the index.
scenario layers_deref_index
sc_layers_deref_index() {
	stack_new "$SC"
	OPTS=$(std_opts "redirect_dir=on,index=on")
	setup '
		mkdir -p $L1/d; echo hl > $L1/d/a; ln $L1/d/a $L1/b
		ovl_mount "$OPTS"; echo more >> $M/d/a; ovl_umount
		test "$(ls $W/index | wc -l)" -ge 1
	' || return
	ly_view "$S/view.before" --no-dir-mtime || { not_ok "$SC: merged view before"; return; }
	_bad=
	run_layers deref -y "$S/nu" -o "$OPTS"
	ly_rc 0
	[ "$(stat -c %i "$S/nu/d/a")" = "$(stat -c %i "$S/nu/b" 2>/dev/null)" ] ||
		rp_bad "b is not a link of d/a in the new upper"
	rp_done "$SC: the index's lower alias b is a hard link of d/a in the new upper"
	ly_deref_check "$SC: the new upper without index shows the view of before" "$S/nu"
	_bad=
	run_layers export -y "$S/t.tar" -o "$OPTS"
	ly_rc 0
	tar -tvf "$S/t.tar" 2>/dev/null | grep -Eq '^h.* (b link to d/a|d/a link to b)$' ||
		rp_bad "b and d/a are not tar hard links: $(tar -tvf "$S/t.tar" 2>&1 | head -5)"
	rp_done "$SC: export writes b and d/a as hard links of one another"
}

# ---- merge ----

# merge --into DIR: a plain tree that holds the whole merged view: DIR
# alone, read as a dir, equals the view (dir mtimes too), hard links one
# inode; the stack only read; a killed run leaves no DIR.
scenario layers_merge_into
sc_layers_merge_into() {
	ly_begin ly_export_stack || return
	_bad=
	snapshot "$S/snap.before" $(kt_layers)
	run_layers merge -n --into "$S/all" -o "$OPTS"
	ly_rc 0
	[ -e "$S/all" ] && rp_bad "-n made the dir"
	grep -q '^would add upper:/old/y: 2 bytes (file)$' "$S/layers.out" && rp_bad "the old name is listed"
	grep -q '^would add upper:/new/y: 2 bytes (file)$' "$S/layers.out" || rp_bad "no line for new/y"
	run_layers merge -y --into "$S/all" -o "$OPTS"
	ly_rc 0
	snapshot "$S/snap.after" $(kt_layers)
	cmp -s "$S/snap.before" "$S/snap.after" || rp_bad "merge --into changed the layers"
	python3 "$top_srcdir/tests/kernel/view.py" "$S/all" > "$S/view.into"
	cmp -s "$S/view.before" "$S/view.into" ||
		rp_bad "DIR differs from the view: $(diff "$S/view.before" "$S/view.into" | head -10)"
	[ "$(stat -c %i "$S/all/h")" = "$(stat -c %i "$S/all/h2")" ] || rp_bad "h and h2 are two inodes"
	getfattr -R -h -d -m 'trusted\.overlay\.' "$S/all" 2>/dev/null | grep -q . &&
		rp_bad "overlay xattrs in DIR"
	rp_done "$SC: -y --into DIR: DIR alone equals the merged view (dir mtimes too), hard links one inode, the stack untouched"
	_bad=
	rm -rf "$S/all"
	_rc=0
	OVL_FAULT_WRITE=7 timeout 60 "$LAYERS" merge -y --into "$S/all" -o "$OPTS" > /dev/null 2>&1 || _rc=$?
	[ "$_rc" -eq 137 ] || rp_bad "the faulted run exited $_rc, not killed"
	[ -e "$S/all" ] && rp_bad "a killed run left DIR"
	run_layers merge -y --into "$S/all" -o "$OPTS"
	ly_rc 0
	python3 "$top_srcdir/tests/kernel/view.py" "$S/all" > "$S/view.into"
	cmp -s "$S/view.before" "$S/view.into" || rp_bad "DIR differs from the view after a rerun"
	rp_done "$SC: killed at the 7th entry: no DIR; the next run makes it whole"
}
