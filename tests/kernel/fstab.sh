# Stacks named by their fstab entry: fsck.overlay MOUNTPOINT and -A, on a
# temporary fstab (--fstab) that mount(8) itself then mounts from.
#   fstab_*   by mount point (clean, damaged, \040 escapes, no entry),
#             -A in pass order skipping pass 0, -A -p then clean

# fstab_stack NAME: layers under $S/NAME with one file made by the kernel;
# prints its overlay options
fstab_stack() {
	mkdir -p "$S/$1/l" "$S/$1/u" "$S/$1/w" "$S/$1/m"
	echo data > "$S/$1/l/f"
	_o="lowerdir=$S/$1/l,upperdir=$S/$1/u,workdir=$S/$1/w"
	LC_ALL=C mount -t overlay overlay -o "$_o" "$S/$1/m" && chown 5 "$S/$1/m/f" &&
		umount "$S/$1/m" && echo "$_o"
}

scenario fstab_by_mountpoint
sc_fstab_by_mountpoint() {
	stack_new "$SC"
	_a=$(fstab_stack a) && _b=$(fstab_stack b) && _c=$(fstab_stack c) || {
		not_ok "$SC: setting up three stacks"; return; }
	# b and c get an orphan whiteout; c has pass 0 (never checked by -A)
	mknod "$S/b/u/ghost" c 0 0; mknod "$S/c/u/ghost" c 0 0
	mkdir -p "$S/mnt a" "$S/mnt_b" "$S/mnt_c"
	cat > "$S/fstab" <<FSTAB
# overlays of this test; a space in a mount point is \\040
overlay $S/mnt\\040a overlay $_a,noauto,x-systemd.requires=x.mount 0 2
overlay $S/mnt_b overlay $_b 0 1
overlay $S/mnt_c overlay $_c 0 0
FSTAB
	_bad=
	run_fsck -n --fstab "$S/fstab" "$S/mnt a"
	[ "$FSCK_RC" -eq 0 ] || _bad="clean a by mount point: exit $FSCK_RC"
	run_fsck -n --fstab "$S/fstab" "$S/mnt_b/"
	[ "$FSCK_RC" -eq 4 ] && grep -q '^WH_ORPHAN upper:/ghost:' "$S/fsck.out" ||
		_bad="$_bad; damaged b by mount point: exit $FSCK_RC"
	run_fsck -n --fstab "$S/fstab" "$S/nowhere"
	[ "$FSCK_RC" -eq 8 ] && grep -q 'nowhere: no overlay entry in' "$S/fsck.err" ||
		_bad="$_bad; no entry: exit $FSCK_RC, $(cat "$S/fsck.err")"
	run_fsck -n --fstab "$S/fstab" -o metacopy=on "$S/mnt_b"
	[ "$FSCK_RC" -eq 16 ] || _bad="$_bad; -o with a mount point: exit $FSCK_RC"
	rp_done "$SC: a stack named by its mount point, \\040 and all"

	# -A: pass 1 (b) before pass 2 (a), c (pass 0) not at all
	run_fsck -A -n --fstab "$S/fstab"
	_order=$(grep ':$' "$S/fsck.out" | tr '\n' ' ')
	if [ "$FSCK_RC" -eq 4 ] && [ "$_order" = "$S/mnt_b: $S/mnt a: " ]; then
		ok "$SC: -A checks pass 1, then pass 2, skips pass 0 (exit 4)"
	else
		not_ok "$SC: -A checks pass 1, then pass 2, skips pass 0 (exit 4)"
		diag "exit $FSCK_RC, order: $_order"
	fi

	# -A -p repairs b (exit 1), then every checked stack is clean and
	# mount(8) mounts b from the same fstab
	run_fsck -A -p --fstab "$S/fstab"
	_rc1=$FSCK_RC
	run_fsck -A -n --fstab "$S/fstab"
	_rc2=$FSCK_RC
	_bad=
	[ "$_rc1" -eq 1 ] && [ "$_rc2" -eq 0 ] || _bad="-A -p exit $_rc1, then -A -n exit $_rc2"
	[ -e "$S/c/u/ghost" ] || _bad="$_bad; pass 0 stack c was changed"
	if LC_ALL=C mount --fstab "$S/fstab" "$S/mnt_b" 2> "$S/mount.err"; then
		[ "$(stat -c %u "$S/mnt_b/f")" = 5 ] && [ "$(ls "$S/mnt_b")" = f ] ||
			_bad="$_bad; the merged view of b is not f owned by 5"
		umount "$S/mnt_b"
	else
		_bad="$_bad; mount --fstab: $(cat "$S/mount.err")"
	fi
	rp_done "$SC: -A -p repairs (exit 1), then clean; mount(8) mounts the entry"
}

# The boot script example of the docs, on a temporary fstab: a clean
# stack and one -p fixes are mounted, one -p must leave alone is not, and
# the script says so and fails.
scenario fstab_boot_example
sc_fstab_boot_example() {
	stack_new "$SC"
	_a=$(fstab_stack a) && _b=$(fstab_stack b) && _c=$(fstab_stack c) || {
		not_ok "$SC: setting up three stacks"; return; }
	mknod "$S/b/u/ghost" c 0 0		# orphan whiteout: -p removes it
	rm "$S/c/l/f"				# origin leads nowhere: -p may not
	mkdir -p "$S/mnt a" "$S/mnt_b" "$S/mnt_c"
	cat > "$S/fstab" <<FSTAB
overlay $S/mnt\\040a overlay $_a 0 2
overlay $S/mnt_b overlay $_b 0 2
overlay $S/mnt_c overlay $_c 0 1
FSTAB
	_rc=0
	FSTAB="$S/fstab" FSCK="$FSCK" sh "$top_srcdir/docs/examples/overlay-preen.sh" \
		> "$S/boot.out" 2> "$S/boot.err" || _rc=$?
	_bad=
	[ "$_rc" -eq 1 ] || _bad="exit $_rc"
	mountpoint -q "$S/mnt a" && mountpoint -q "$S/mnt_b" ||
		_bad="$_bad; the clean and the preened stacks are not both mounted"
	mountpoint -q "$S/mnt_c" && _bad="$_bad; the stack -p could not fix was mounted"
	grep -q "mnt_c: fsck.overlay exit 4: not mounted" "$S/boot.err" &&
		grep -q "mnt_b: problems fixed" "$S/boot.err" ||
		_bad="$_bad; messages: $(cat "$S/boot.err")"
	[ "$(stat -c %u "$S/mnt_b/f" 2>/dev/null)" = 5 ] || _bad="$_bad; b's merged view is wrong"
	for _m in "$S/mnt a" "$S/mnt_b" "$S/mnt_c"; do
		mountpoint -q "$_m" && umount "$_m"
	done
	rp_done "$SC: the boot script mounts what is clean or preened, not what needs a person"
}

# -C 3 with -A -v: e2fsck's progress lines "PASS CUR MAX NAME" on fd 3,
# named by mount point, one run of lines for each pass -v prints, in the
# same order; within a pass CUR never goes back and the last line is
# complete (CUR = MAX).
scenario fstab_progress
sc_fstab_progress() {
	stack_new "$SC"
	_a=$(fstab_stack a) && _b=$(fstab_stack b) || {
		not_ok "$SC: setting up two stacks"; return; }
	for _i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		mkdir "$S/a/u/d$_i" && : > "$S/a/u/d$_i/f"
	done
	mknod "$S/b/u/ghost" c 0 0		# -y removes it: a fix pass too
	mkdir -p "$S/mnt_a" "$S/mnt_b"
	cat > "$S/fstab" <<FSTAB
overlay $S/mnt_a overlay $_a 0 2
overlay $S/mnt_b overlay $_b 0 1
FSTAB
	FSCK_RC=0
	timeout 60 "$FSCK" -A -y -v -C 3 --fstab "$S/fstab" 3> "$S/progress" \
		> "$S/fsck.out" 2> "$S/fsck.err" || FSCK_RC=$?
	# the passes -v announced, as "MOUNTPOINT PASS" lines
	awk '/:$/ { name = substr($0, 1, length($0) - 1) }
	     /^Pass [0-9]+:/ { sub(":", "", $2); print name, $2 }' "$S/fsck.out" > "$S/passes.v"
	awk '
		NF != 4 || $1 !~ /^[0-9]+$/ || $2 !~ /^[0-9]+$/ || $3 !~ /^[0-9]+$/ ||
		    $2 + 0 > $3 + 0 { print "malformed: " $0 > "/dev/stderr"; bad = 1; exit }
		$4 " " $1 != cur {
			if (cur != "" && last != lmax) {
				print cur " ended at " last " of " lmax > "/dev/stderr"; bad = 1
			}
			cur = $4 " " $1; print cur; last = -1
		}
		$3 == lmax && $2 + 0 < last + 0 {
			print "went back: " $0 > "/dev/stderr"; bad = 1
		}
		{ last = $2; lmax = $3 }
		END {
			if (last != lmax) { print cur " ended at " last > "/dev/stderr"; bad = 1 }
			exit bad
		}' "$S/progress" > "$S/passes.C" 2> "$S/progress.err"
	_awk=$?
	_bad=
	[ "$FSCK_RC" -eq 1 ] || _bad="exit $FSCK_RC, not 1"
	[ "$_awk" -eq 0 ] || _bad="$_bad; $(cat "$S/progress.err")"
	cmp -s "$S/passes.v" "$S/passes.C" ||
		_bad="$_bad; passes of -v: $(tr '\n' ',' < "$S/passes.v") but of -C: $(tr '\n' ',' < "$S/passes.C")"
	head -n 1 "$S/passes.v" | grep -q "^$S/mnt_b 1\$" || _bad="$_bad; b (pass 1) is not first"
	[ "$(grep -c "^$S/mnt_a " "$S/passes.C")" -ge 4 ] || _bad="$_bad; too few passes for a"
	_walk=$(awk -v a="$S/mnt_a" '$4 == a && $1 == 2' "$S/progress" | wc -l)
	[ "$_walk" -ge 4 ] || _bad="$_bad; a's upper walk gave $_walk lines"
	rp_done "$SC: -C 3 gives e2fsck lines for every pass of every stack, by mount point"
}
