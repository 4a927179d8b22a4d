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
	if [ -z "$_bad" ]; then
		ok "$SC: a stack named by its mount point, \\040 and all"
	else
		not_ok "$SC: a stack named by its mount point, \\040 and all"
		diag "$_bad"
	fi

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
	if [ -z "$_bad" ]; then
		ok "$SC: -A -p repairs (exit 1), then clean; mount(8) mounts the entry"
	else
		not_ok "$SC: -A -p repairs (exit 1), then clean; mount(8) mounts the entry"
		diag "$_bad"
	fi
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
	if [ -z "$_bad" ]; then
		ok "$SC: the boot script mounts what is clean or preened, not what needs a person"
	else
		not_ok "$SC: the boot script mounts what is clean or preened, not what needs a person"
		diag "$_bad"
	fi
}
