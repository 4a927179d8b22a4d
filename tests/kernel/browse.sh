# overlay-browse --diff / --json on a stack the kernel changed: every kind
# of change once, in name order, parents first; the JSON parses.

scenario browse_diff
sc_browse_diff() {
	stack_new "$SC"
	[ -x "${BROWSE:-}" ] || { skip "$SC: overlay-browse not built"; return; }
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/etc $L1/var/cache $L1/old $L1/keep
		echo a > $L1/etc/a; echo b > $L1/etc/b; echo c > $L1/etc/c
		echo x > $L1/var/cache/x; echo o > $L1/old/o; echo k > $L1/keep/k
		ovl_mount "$OPTS"
		echo new > $M/etc/new; rm $M/etc/b; echo more >> $M/etc/c
		chown 5 $M/etc/a; mv $M/old $M/renamed
		rm -rf $M/var/cache; mkdir $M/var/cache; chmod 700 $M/keep
		printf z > "$M/etc/new
line"
		ovl_umount
	' || return
	snapshot "$S/snap.before" $(kt_layers)
	_rc=0
	"$BROWSE" --diff -o "$OPTS" > "$S/diff" 2> "$S/diff.err" || _rc=$?
	cat > "$S/want" <<'WANT'
metadata /etc/a
deleted /etc/b
modified /etc/c
added /etc/new
added /etc/new\nline
metadata /keep
renamed /renamed from /old
opaque /var/cache
WANT
	_bad=
	[ "$_rc" -eq 0 ] || _bad="exit $_rc"
	cmp -s "$S/want" "$S/diff" || _bad="${_bad:+$_bad; }$(diff "$S/want" "$S/diff" | head -12)"
	if [ -z "$_bad" ]; then
		ok "$SC: --diff lists every change, in order"
	else
		not_ok "$SC: --diff lists every change, in order"
		diag "$_bad"
	fi
	_rc=0
	"$BROWSE" --json -o "$OPTS" > "$S/json" 2>&1 || _rc=$?
	if [ "$_rc" -eq 0 ] && perl -MJSON::PP -e '
		local $/; my $a = JSON::PP->new->decode(<STDIN>);
		my %c = map { ($_->{path} => $_) } @$a;
		exit 1 unless @$a == 8;
		exit 1 unless $c{"/renamed"}{from} eq "/old" && $c{"/renamed"}{type} eq "dir";
		exit 1 if exists $c{"/old"};
		exit 1 unless $c{"/etc/new\nline"}{change} eq "added";
		exit 1 unless $c{"/etc/b"}{change} eq "deleted" && $c{"/etc/b"}{type} eq "file";
	' < "$S/json"; then
		ok "$SC: --json parses and says the same"
	else
		not_ok "$SC: --json parses and says the same"
		diag "$(head -12 "$S/json")"
	fi
	snapshot "$S/snap.after" $(kt_layers)
	if cmp -s "$S/snap.before" "$S/snap.after"; then
		ok "$SC: the layers are only read"
	else
		not_ok "$SC: the layers are only read"
	fi
}

# A rename leaves a whiteout at the old name: bookkeeping for the move,
# not a deletion. The merged view (asked of the kernel) has no /d and the
# old /d at /e: "renamed /e from /d" is the whole truth, also after a new
# /d was made and removed again (the kernel whiteouts it once more), and
# for a metacopy file moved. A real delete beside them is still listed.
scenario browse_diff_rename
sc_browse_diff_rename() {
	stack_new "$SC"
	[ -x "${BROWSE:-}" ] || { skip "$SC: overlay-browse not built"; return; }
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d $L1/p $L1/gone; echo 1 > $L1/d/f1; echo 2 > $L1/d/f2
		echo q > $L1/p/q; echo f > $L1/file; echo g > $L1/gone/g
		ovl_mount "$OPTS"
		mv $M/d $M/e; mv $M/p $M/r; mkdir $M/p; rm -r $M/p
		chown 5 $M/file; mv $M/file $M/moved; rm -r $M/gone
		ls $M > $S/merged.ls
		ovl_umount
	' || return
	_rc=0
	"$BROWSE" --diff -o "$OPTS" > "$S/diff" 2> "$S/diff.err" || _rc=$?
	cat > "$S/want" <<'WANT'
renamed /e from /d
deleted /gone
renamed /moved from /file
renamed /r from /p
WANT
	_bad=
	[ "$(tr '\n' ' ' < "$S/merged.ls")" = "e moved r " ] ||
		_bad="the kernel shows: $(cat "$S/merged.ls")"
	[ "$_rc" -eq 0 ] || _bad="$_bad; exit $_rc"
	cmp -s "$S/want" "$S/diff" || _bad="$_bad; $(diff "$S/want" "$S/diff" | head -12)"
	"$BROWSE" --json -o "$OPTS" > "$S/json" 2>&1
	perl -MJSON::PP -e '
		local $/; my $a = JSON::PP->new->decode(<STDIN>);
		exit 1 unless @$a == 4;
		exit 1 if grep { $_->{change} eq "deleted" && $_->{path} ne "/gone" } @$a;
	' < "$S/json" || _bad="$_bad; --json: $(cat "$S/json")"
	if [ -z "$_bad" ]; then
		ok "$SC: a rename's whiteout is not listed as a deletion (--diff, --json)"
	else
		not_ok "$SC: a rename's whiteout is not listed as a deletion (--diff, --json)"
		diag "$_bad"
	fi
}

# Lower hard links with index=on: a chmod of f1 copies the inode up
# (metacopy) into W/index, and the kernel shows f1link, by the lower's
# handle, as that copy too; a write to o1 copies it up whole. --ls shows
# each link as stat through the overlay did (mode, size, link count
# through the nlink xattr, not printed: the flag), --diff and --json name
# the links too, --du counts the copied inode once.
scenario browse_index_hardlink
sc_browse_index_hardlink() {
	stack_new "$SC"
	[ -x "${BROWSE:-}" ] || { skip "$SC: overlay-browse not built"; return; }
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d; echo hello > $L1/d/f1; ln $L1/d/f1 $L1/d/f1link
		echo x > $L1/d/o1; ln $L1/d/o1 $L1/d/o1link; echo s > $L1/d/single
		ovl_mount "$OPTS"
		chmod 600 $M/d/f1; echo more >> $M/d/o1
		stat -c "%n %a %s %h" $M/d/f1 $M/d/f1link $M/d/o1 $M/d/o1link $M/d/single |
			sed "s|^$M/d/||" > $S/kernel.stat
		cat $M/d/o1link > $S/kernel.o1link
		ovl_umount
	' || return
	"$BROWSE" --ls /d -o "$OPTS" > "$S/ls" 2>&1
	# name, mode, size as the browser lists them
	awk '{ printf "%s %d %s\n", $1, $5, $3 }' "$S/ls" > "$S/browse.stat"
	awk '{ printf "%s %d %s\n", $1, $2, $3 }' "$S/kernel.stat" > "$S/kernel.cmp"
	_bad=
	cmp -s "$S/kernel.cmp" "$S/browse.stat" ||
		_bad="--ls and stat through the overlay differ: $(diff "$S/kernel.cmp" "$S/browse.stat")"
	grep -Eq '^f1link +- +6 .* 0600 upper +metacopy\(data:lower1\) origin indexed hardlink$' "$S/ls" &&
		grep -Eq '^o1link +- +7 .* upper +origin indexed hardlink$' "$S/ls" &&
		grep -Eq '^single +- .* lower1 *$' "$S/ls" ||
		_bad="$_bad; the links are not shown indexed from the upper: $(cat "$S/ls")"
	# the link count the kernel gives (2 here) makes the hardlink mark
	[ "$(awk '$1 == "f1link" { print $4 }' "$S/kernel.stat")" -gt 1 ] ||
		_bad="$_bad; the kernel's f1link has one link"
	"$BROWSE" --diff -o "$OPTS" > "$S/diff" 2>&1
	printf '%s\n' 'metadata /d/f1' 'metadata /d/f1link' 'modified /d/o1' 'modified /d/o1link' |
		cmp -s - "$S/diff" || _bad="$_bad; --diff: $(cat "$S/diff")"
	"$BROWSE" --json -o "$OPTS" > "$S/json" 2>&1
	perl -MJSON::PP -e '
		local $/; my $a = JSON::PP->new->decode(<STDIN>);
		my %c = map { ($_->{path} => $_->{change}) } @$a;
		exit 1 unless @$a == 4 && $c{"/d/f1link"} eq "metadata" &&
			$c{"/d/o1link"} eq "modified";
	' < "$S/json" || _bad="$_bad; --json: $(cat "$S/json")"
	# the upper holds o1 once (7 bytes), shadowing the 2 lower bytes once
	"$BROWSE" --du /d -o "$OPTS" > "$S/du" 2>&1
	printf 'upper data: 7 bytes in 1 files\nshadowed lower data: 2 bytes in 1 files\n' |
		cmp -s - "$S/du" || _bad="$_bad; --du: $(cat "$S/du")"
	if [ -z "$_bad" ]; then
		ok "$SC: lower hard links copied up through the index: --ls as the kernel, --diff, --json, --du"
	else
		not_ok "$SC: lower hard links copied up through the index: --ls as the kernel, --diff, --json, --du"
		diag "$_bad"
		diag "$(cat "$S/kernel.stat")"
	fi
}

# The model behind the screen: --ls of a merged dir says where each entry
# comes from and its marks; --all adds hidden names: deleted, under an opaque dir.
scenario browse_ls
sc_browse_ls() {
	stack_new "$SC"
	[ -x "${BROWSE:-}" ] || { skip "$SC: overlay-browse not built"; return; }
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d; echo a > $L1/d/a; echo b > $L1/d/b; echo c > $L1/d/c
		ovl_mount "$OPTS"; chown 5 $M/d/a; rm $M/d/b; echo n > $M/d/n; ovl_umount
		rm $L1/d/c; echo c > $L1/d/c
		echo e > $L1/d/e; ovl_mount "$OPTS"; chown 5 $M/d/e; ovl_umount
		rm $L1/d/e; echo e > $L1/d/e
		mkdir -p $L1/o; echo old > $L1/o/old
		ovl_mount "$OPTS"; rm -r $M/o; mkdir $M/o; echo new > $M/o/new; ovl_umount
	' || return
	"$BROWSE" --ls /d -o "$OPTS" > "$S/ls" 2>&1
	"$BROWSE" --ls /d --all -o "$OPTS" > "$S/lsall" 2>&1
	"$BROWSE" --ls /o --all -o "$OPTS" > "$S/lsopq" 2>&1
	"$BROWSE" --du / -o "$OPTS" > "$S/du" 2>&1
	_rc=0; "$BROWSE" --ls /d/../.. -o "$OPTS" > "$S/dotdot" 2>&1 || _rc=$?
	_bad=
	grep -Eq '^a +- +2 +5:0 +0644 upper +metacopy\(data:lower1\) origin$' "$S/ls" ||
		_bad="a: not a metacopy upper file with its data in lower1"
	grep -Eq '^c +- +2 +0:0 +0644 lower1 *$' "$S/ls" || _bad="$_bad; c: not from lower1"
	grep -Eq '^n +- .* upper ' "$S/ls" || _bad="$_bad; n: not from upper"
	# e's lower inode was replaced offline: its origin names the old one
	grep -Eq '^e +- .* upper +metacopy\(data:lower1\) origin\(stale\)$' "$S/ls" ||
		_bad="$_bad; e: origin not shown stale"
	grep -q '^b ' "$S/ls" && _bad="$_bad; the deleted b is listed"
	grep -Eq '^b +c .* upper +deleted' "$S/lsall" || _bad="$_bad; --all does not show b deleted"
	# the kernel made /o opaque: --all shows the lower name it hides
	grep -Eq '^old +- .* lower1 +under-opaque' "$S/lsopq" && grep -Eq '^new .* upper' "$S/lsopq" ||
		_bad="$_bad; --all on the opaque /o does not show old under-opaque"
	# upper data: d/n and o/new; hidden: d/b (whiteout), o/old (opaque);
	# the metacopy a and e hold no data
	printf 'upper data: 6 bytes in 2 files\nshadowed lower data: 6 bytes in 2 files\n' |
		cmp -s - "$S/du" || _bad="$_bad; --du: $(cat "$S/du")"
	# ".." never leads out of the layer roots
	[ "$_rc" -eq 8 ] && [ "$(cat "$S/dotdot")" = "overlay-browse: /d/../..: Invalid argument" ] ||
		_bad="$_bad; --ls /d/../..: exit $_rc, $(head -2 "$S/dotdot")"
	if [ -z "$_bad" ]; then
		ok "$SC: --ls shows each entry's layer and marks, --all the hidden names, --du the cost"
	else
		not_ok "$SC: --ls shows each entry's layer and marks, --all the hidden names, --du the cost"
		diag "$_bad"
		diag "$(cat "$S/ls" "$S/lsall" "$S/lsopq" "$S/du")"
	fi
}

# The screen scenarios drive overlay-browse in tmux. tui_need: skip
# without the program or tmux; tui_start SESSION WIDTH [FLAGS]: run it on $OPTS
# (prints EXIT=rc when it ends); tui_screen: the text after a moment;
# tui_wait REGEX: until the screen shows it (5 s at most).
tui_need() {
	[ -x "${BROWSE:-}" ] || { skip "$SC: overlay-browse not built"; return 1; }
	command -v tmux >/dev/null || { skip "$SC: tmux not installed"; return 1; }
}
# each scenario its own tmux server (-L): a server still exiting after
# the last scenario's kill-session must not take the new session with it
tx() { tmux -L "$_t" "$@"; }
tui_start() {
	_t=$1
	tx kill-session -t "$_t" 2>/dev/null
	for _try in 1 2 3; do
		tx -u new-session -d -s "$_t" -x "$2" -y 24 \
			"LC_ALL=${TUI_LOCALE:-C.UTF-8} $BROWSE ${3:-} -o '$OPTS'; echo EXIT=\$?; sleep 5" &&
			tx has-session -t "$_t" 2>/dev/null && return 0
		sleep 0.3
	done
	diag "$SC: tmux would not start a session"
}
tui_screen() { sleep 0.4; tx capture-pane -p -t "$_t"; }
# tui_keys FILE KEY...: press the keys, keep the screen in $S/FILE
tui_keys() {
	_f=$1; shift
	tx send-keys -t "$_t" "$@"
	tui_screen > "$S/$_f"
}
tui_wait() {
	_i=0
	until tx capture-pane -p -t "$_t" | grep -q "$1"; do
		_i=$((_i + 1)); [ "$_i" -lt 50 ] || break; sleep 0.1
	done
}

# The screen, driven in a real 80x24 terminal (tmux): the list, opening a dir,
# paging a metacopy file's lower data, c refused without --write, the
# details pane, the deleted names, the help, quitting with exit 0.
scenario browse_tui
sc_browse_tui() {
	stack_new "$SC"
	tui_need || return
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d; echo a > $L1/d/a; echo b > $L1/d/b
		ovl_mount "$OPTS"; chown 5 $M/d/a; rm $M/d/b; ovl_umount
	' || return
	tui_start ovlb$$ 80
	_bad=
	tui_wait '^ / '
	tui_screen > "$S/s1"
	grep -q '^ / ' "$S/s1" && grep -Eq '^d +d .* upper ' "$S/s1" ||
		_bad="first screen: no / title or no d row"
	tui_keys s2 Enter
	grep -q '^ /d ' "$S/s2" && grep -Eq '^a .*metacopy\(data:lower1\) origin$' "$S/s2" ||
		_bad="$_bad; Enter did not open /d with a as metacopy"
	grep -q '^b ' "$S/s2" && _bad="$_bad; the deleted b is shown"
	# v on the metacopy a pages its data, read from lower1
	tui_keys sv v
	grep -q '/d/a  (data from lower1)' "$S/sv" && [ "$(sed -n 2p "$S/sv")" = a ] &&
		grep -q 'line 1 of 1' "$S/sv" ||
		_bad="$_bad; v did not show a's lower data"
	tx send-keys -t "$_t" q
	tui_keys sr c
	grep -q 'read-only: start overlay-browse with --write' "$S/sr" &&
		grep -Eq '^a .*metacopy' "$S/sr" || _bad="$_bad; c without --write is not refused"
	tui_keys s3 .
	grep -Eq '^b .*deleted' "$S/s3" || _bad="$_bad; . does not show the deleted b"
	tui_keys s4 g i
	grep -q 'data: *lower1' "$S/s4" || _bad="$_bad; i shows no data layer for a"
	grep -q 'in: *upper (file), lower1 (file)$' "$S/s4" &&
		grep -q 'origin: *the lower1 inode at this name; fid type 0x' "$S/s4" &&
		grep -Eq 'metacopy: (empty|version)' "$S/s4" ||
		_bad="$_bad; i does not say a is in upper and lower1, its origin the lower1 inode"
	tui_keys s5 '?'
	grep -q 'overlay-browse keys' "$S/s5" || _bad="$_bad; ? shows no help"
	tui_keys s6 x h q
	grep -q 'EXIT=0' "$S/s6" || _bad="$_bad; q did not exit 0"
	tx kill-session -t "$_t" 2>/dev/null
	if [ -z "$_bad" ]; then
		ok "$SC: list, open, view data, deleted names, details, help and quit in a real terminal"
	else
		not_ok "$SC: list, open, view data, deleted names, details, help and quit in a real terminal"
		diag "$_bad"
		for _f in s1 s2 sv s3 s4 s5 s6; do diag "== $_f"; diag "$(head -8 "$S/$_f")"; done
	fi
}

# Search, sort, changed-only, the filter, S and a resize in the screen.
scenario browse_tui_keys
sc_browse_tui_keys() {
	stack_new "$SC"
	tui_need || return
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d; echo a > $L1/d/alpha; echo bb > $L1/d/beta
		head -c 5000 /dev/zero > $L1/d/gamma; echo x > $L1/d/zeta
		ovl_mount "$OPTS"; chown 5 $M/d/zeta; rm $M/d/beta; ovl_umount
	' || return
	tui_start ovlk$$ 100
	# the selected row is drawn reversed (ESC[7m); dash has no $'...'
	_esc=$(printf '\033')
	_sel() {
		tx capture-pane -p -e -t "$_t" | grep -a "${_esc}\[7m" |
			sed "s/${_esc}\[[0-9;]*m//g"
	}
	_bad=
	tui_wait '^ / '
	tx send-keys -t "$_t" Enter
	sleep 0.4
	tx send-keys -t "$_t" / g a m Enter
	sleep 0.4
	_sel > "$S/sel"
	grep -q '^gamma ' "$S/sel" || _bad="/gam did not select gamma: $(cat "$S/sel")"
	tui_keys s1 s
	grep -q 'by size' "$S/s1" && [ "$(sed -n 2p "$S/s1" | cut -c1-5)" = gamma ] ||
		_bad="$_bad; s did not sort by size (gamma first)"
	tui_keys s2 d
	grep -q 'changed only' "$S/s2" && grep -Eq '^zeta .*metacopy' "$S/s2" &&
		grep -Eq '^beta .*deleted' "$S/s2" && ! grep -q '^alpha ' "$S/s2" ||
		_bad="$_bad; d did not show only zeta (metadata) and beta (deleted)"
	# F: a glob and a size bound keep gamma only; an empty filter all again
	tx send-keys -t "$_t" d F
	tx send-keys -t "$_t" -l '*a >100'
	tui_keys s4 Enter
	grep -q 'filter \*a >100' "$S/s4" && grep -q '^gamma ' "$S/s4" &&
		! grep -Eq '^(alpha|zeta) ' "$S/s4" ||
		_bad="$_bad; F '*a >100' did not keep gamma alone"
	tui_keys s5 F Enter
	grep -q '^alpha ' "$S/s5" && ! grep -q 'filter' "$S/s5" ||
		_bad="$_bad; an empty F did not show all again"
	# S on a file measures the dir: beta's 3 lower bytes are deleted
	tui_keys s6 g S
	grep -q '/d: upper data 0 B in 0 files, shadowed lower data 3 B in 1 files' "$S/s6" ||
		_bad="$_bad; S did not measure /d"
	# a smaller terminal (KEY_RESIZE): redrawn to fit, still working
	tx resize-window -t "$_t" -x 60 -y 12
	tui_keys s7 j
	[ "$(wc -l < "$S/s7")" -eq 12 ] && grep -q '^ /d ' "$S/s7" &&
		[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$S/s7")" -le 60 ] &&
		grep -q '^ q quit' "$S/s7" || _bad="$_bad; not redrawn for 60x12"
	tui_keys s3 q
	grep -q 'EXIT=0' "$S/s3" || _bad="$_bad; q did not exit 0"
	tx kill-session -t "$_t" 2>/dev/null
	if [ -z "$_bad" ]; then
		ok "$SC: search, sort by size, changed-only, filter, S and resize in a real terminal"
	else
		not_ok "$SC: search, sort by size, changed-only, filter, S and resize in a real terminal"
		diag "$_bad"
		diag "$(head -6 "$S/s1" 2>/dev/null)"
		diag "$(head -6 "$S/s2" 2>/dev/null)"
	fi
}

# The background check in the screen: a metacopy file whose lower data
# was deleted offline is counted in the title, marked in its row, listed
# by p, and Enter on the problem goes to it; a UTF-8 name shows as it is,
# a control byte escaped (and reported).
scenario browse_tui_problems
sc_browse_tui_problems() {
	stack_new "$SC"
	tui_need || return
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d; echo a > $L1/d/a; echo b > $L1/d/b
		ovl_mount "$OPTS"; chown 5 $M/d/a; ovl_umount
		rm $L1/d/a
		echo u > "$L1/d/naïve"; echo c > "$L1/d/$(printf "ctl\001")"
	' || return
	snapshot "$S/snap.before" $(kt_layers)
	tui_start ovlp$$ 120
	_bad=
	tui_wait '\[2 problems: p lists them\]'
	tui_screen > "$S/s1"
	grep -q '^ / .*\[2 problems: p lists them\]' "$S/s1" ||
		_bad="the title does not count 2 problems (no data, a control byte)"
	tui_keys s2 p
	grep -q '^ problems ' "$S/s2" && grep -q '^MC_NO_DATA upper:/d/a: ' "$S/s2" ||
		_bad="$_bad; p does not list MC_NO_DATA at upper:/d/a"
	tui_keys s3 Enter
	grep -q '^ /d ' "$S/s3" && grep -Eq '^a .* !1$' "$S/s3" ||
		_bad="$_bad; Enter did not go to /d with a marked !1"
	# a UTF-8 name as it is, a control byte escaped
	grep -q '^naïve ' "$S/s3" && grep -q '^ctl\\x01 ' "$S/s3" ||
		_bad="$_bad; names: UTF-8 not shown as is or a control byte not escaped"
	# in the C locale ncursesw cannot draw UTF-8: escaped bytes instead
	TUI_LOCALE=C
	tui_start ovlc$$ 120
	TUI_LOCALE=
	tui_wait '^ / '
	tui_keys c1 Enter
	tui_keys c2 Down
	grep -q '^na\\xc3\\xafve ' "$S/c2" ||
		_bad="$_bad; in the C locale a UTF-8 name is not escaped: $(grep -a 've ' "$S/c2")"
	tx kill-server 2>/dev/null
	_t=ovlp$$
	tui_keys s4 i
	grep -q 'problem: *MC_NO_DATA upper:/d/a' "$S/s4" ||
		_bad="$_bad; i does not show the problem of a"
	tui_keys s5 q
	grep -q 'EXIT=0' "$S/s5" || _bad="$_bad; q did not exit 0"
	tx kill-session -t "$_t" 2>/dev/null
	snapshot "$S/snap.after" $(kt_layers)
	cmp -s "$S/snap.before" "$S/snap.after" || _bad="$_bad; the layers changed"
	if [ -z "$_bad" ]; then
		ok "$SC: the background check counts, marks, lists and jumps to a problem"
	else
		not_ok "$SC: the background check counts, marks, lists and jumps to a problem"
		diag "$_bad"
		for _f in s1 s2 s3 s4; do diag "== $_f"; diag "$(head -7 "$S/$_f" 2>/dev/null)"; done
	fi
}

# --write: c copies up a metacopy file's data and f fixes a problem, both
# journalled like fsck.overlay; the kernel then shows the same merged
# view, fsck.overlay finds the stack clean, and --write is refused on a
# mounted stack.
scenario browse_tui_write
sc_browse_tui_write() {
	stack_new "$SC"
	tui_need || return
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d; echo data-of-a > $L1/d/a
		ovl_mount "$OPTS"; chown 5 $M/d/a; ovl_umount
		mknod $U/d/ghost c 0 0
	' || return
	tui_start ovlw$$ 120 --write
	_bad=
	tui_wait 'problem: p lists them'
	tui_keys s1 Enter
	tui_keys s2 c
	grep -q 'copied up /d/a' "$S/s2" && ! grep -Eq '^a .*metacopy' "$S/s2" ||
		_bad="c did not copy up /d/a"
	tx send-keys -t "$_t" p
	tui_wait 'checked\|problem'
	tui_keys s3 ''
	grep -q '^WH_ORPHAN upper:/d/ghost: .*\[fix: Remove\]' "$S/s3" ||
		_bad="$_bad; p does not list the orphan whiteout with its fix"
	tui_keys s4 f
	tui_wait 'checked: no problems'
	tui_keys s4 ''
	grep -q 'WH_ORPHAN at upper:/d/ghost: Remove, done' "$S/s4" ||
		grep -q 'checked: no problems' "$S/s4" ||
		_bad="$_bad; f did not fix the orphan whiteout"
	tui_keys s5 q q
	grep -q 'EXIT=0' "$S/s5" || _bad="$_bad; q did not exit 0"
	tx kill-session -t "$_t" 2>/dev/null
	# the layers after: a real copy, no metacopy xattr, no ghost, clean
	[ ! -e "$U/d/ghost" ] || _bad="$_bad; the orphan whiteout is still there"
	getfattr -n trusted.overlay.metacopy "$U/d/a" >/dev/null 2>&1 &&
		_bad="$_bad; upper a is still a metacopy file"
	[ "$(cat "$U/d/a")" = data-of-a ] || _bad="$_bad; upper a does not hold the data"
	# both changes are journalled like fsck.overlay's
	[ "$(ls "$W" | grep -c '^overlay-fsck-undo\.')" -ge 2 ] ||
		_bad="$_bad; no undo journals in the work dir: $(ls "$W" | tr '\n' ' ')"
	run_fsck -n -o "$OPTS"
	[ "$FSCK_RC" -eq 0 ] || _bad="$_bad; fsck -n after: exit $FSCK_RC"
	ovl_mount "$OPTS"
	[ "$(cat "$M/d/a" 2>&1)" = data-of-a ] && [ "$(stat -c %u "$M/d/a")" = 5 ] &&
		[ "$(ls "$M/d")" = a ] || _bad="$_bad; the merged view after is not d/a owned by 5"
	_rc=0
	"$BROWSE" --write -o "$OPTS" > "$S/mounted.out" 2>&1 || _rc=$?
	ovl_umount
	[ "$_rc" -eq 8 ] && grep -q 'refusing --write: the stack is mounted on' "$S/mounted.out" ||
		_bad="$_bad; --write on a mounted stack: exit $_rc, $(cat "$S/mounted.out")"
	if [ -z "$_bad" ]; then
		ok "$SC: c copies up, f fixes, the kernel agrees, refused when mounted"
	else
		not_ok "$SC: c copies up, f fixes, the kernel agrees, refused when mounted"
		diag "$_bad"
		for _f in s2 s3 s4; do diag "== $_f"; diag "$(head -6 "$S/$_f" 2>/dev/null)"; done
	fi
}

# --write after the background check: f and c check again only what the
# change touched and update the problems list in place. A renamed dir
# copied offline (its metacopy file reads through the copied redirect)
# and two orphan whiteouts: f on one whiteout removes that problem and
# keeps the others; f on the duplicate redirect removes it and shows the
# problem the change made (the copied file has no data without it); c
# changes nothing in the list; r (after a change made offline) checks the
# whole stack again. The list is then the one fsck.overlay -n prints.
scenario browse_tui_write_scoped
sc_browse_tui_write_scoped() {
	stack_new "$SC"
	tui_need || return
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d $L1/old; echo data-of-a > $L1/d/a; echo f > $L1/old/f
		ovl_mount "$OPTS"; chown 5 $M/d/a; mv $M/old $M/n1; chown 5 $M/n1/f; ovl_umount
		mkdir $U/n2; touch $U/n2/f
		truncate -s "$(stat -c %s $U/n1/f)" $U/n2/f; chown 5 $U/n2/f
		getfattr -d -m trusted.overlay -e hex $U/n1 $U/n1/f |
			sed "s|^# file: .*/n1|# file: $U/n2|" | setfattr --restore=-
		mknod $U/d/ghost c 0 0; mknod $U/d/ghost2 c 0 0
	' || return
	tui_start ovls$$ 150 --write
	_bad=
	tui_wait '3 problems: p lists them'
	tui_keys s1 p
	grep -q '^WH_ORPHAN upper:/d/ghost: ' "$S/s1" && grep -q '^WH_ORPHAN upper:/d/ghost2: ' "$S/s1" &&
		grep -q '^RD_DUPLICATE upper:/n2: ' "$S/s1" ||
		_bad="p does not list the two orphan whiteouts and the duplicate"
	# f on the first: gone, the others kept, checked again in place
	tui_keys s2 f
	grep -q 'WH_ORPHAN at upper:/d/ghost: Remove, done (re-checked' "$S/s2" &&
		! grep -q '^WH_ORPHAN upper:/d/ghost: ' "$S/s2" &&
		grep -q '^WH_ORPHAN upper:/d/ghost2: ' "$S/s2" && grep -q '^RD_DUPLICATE upper:/n2: ' "$S/s2" &&
		grep -q '(2 problems: p lists them)' "$S/s2" ||
		_bad="$_bad; f did not take the fixed whiteout alone off the list"
	# f on the duplicate: gone, and the copied file's new problem shown
	tui_keys s3 j f
	grep -q 'RD_DUPLICATE at upper:/n2: Remove, done (re-checked' "$S/s3" &&
		! grep -q '^RD_DUPLICATE ' "$S/s3" && grep -q '^MC_NO_DATA upper:/n2/f: ' "$S/s3" &&
		grep -q '^WH_ORPHAN upper:/d/ghost2: ' "$S/s3" ||
		_bad="$_bad; f on the duplicate did not show what the change made"
	# c on /d/a: copied up, the list as it was
	tui_keys s4 q g Enter
	tui_keys s5 g c
	grep -q 'copied up /d/a (re-checked' "$S/s5" || _bad="$_bad; c did not copy up /d/a in place"
	tui_keys s6 p
	grep -q '(2 problems: p lists them)' "$S/s6" && grep -q '^MC_NO_DATA upper:/n2/f: ' "$S/s6" &&
		grep -q '^WH_ORPHAN upper:/d/ghost2: ' "$S/s6" ||
		_bad="$_bad; after c the list changed"
	# a change made elsewhere: r checks the whole stack again
	mknod "$U/d/ghost3" c 0 0
	tui_keys s8 r
	tui_wait '3 problems: p lists them'
	tui_keys s8 ''
	grep -q '^WH_ORPHAN upper:/d/ghost3: ' "$S/s8" || _bad="$_bad; r did not check again"
	grep -E '^[A-Z_]+ (upper|lower[0-9]+|index|work|stack):/' "$S/s8" |
		sed 's/  \[fix: .*//' | sort > "$S/tui.list"
	tui_keys s7 q q
	grep -q 'EXIT=0' "$S/s7" || _bad="$_bad; q did not exit 0"
	tx kill-session -t "$_t" 2>/dev/null
	run_fsck -n -o "$OPTS"
	grep -E '^[A-Z_]+ (upper|lower[0-9]+|index|work|stack):/' "$S/fsck.out" | sort > "$S/fsck.list"
	cmp -s "$S/fsck.list" "$S/tui.list" ||
		_bad="$_bad; the list is not fsck -n's: $(diff "$S/fsck.list" "$S/tui.list" | head -6)"
	[ "$(ls "$W" | grep -c '^overlay-fsck-undo\.')" -ge 3 ] ||
		_bad="$_bad; not every change left its undo journal"
	ovl_mount "$OPTS"
	[ "$(cat "$M/d/a" 2>&1)" = data-of-a ] && [ "$(cat "$M/n1/f" 2>&1)" = f ] ||
		_bad="$_bad; the merged view after does not read d/a and n1/f"
	ovl_umount
	if [ -z "$_bad" ]; then
		ok "$SC: f and c update the problems list in place: fixed gone, others kept, new shown; r checks all"
	else
		not_ok "$SC: f and c update the problems list in place: fixed gone, others kept, new shown; r checks all"
		diag "$_bad"
		for _f in s1 s2 s3 s5 s6; do diag "== $_f"; diag "$(head -6 "$S/$_f" 2>/dev/null; tail -1 "$S/$_f" 2>/dev/null)"; done
	fi
}
