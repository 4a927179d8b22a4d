# Damage to directory redirects (redirect_dir=on): a renamed lower dir is
# an upper dir with redirect=<old name> plus a whiteout at the old name.

# rd_build [FEATURES]: lower dirs a (sub/x, y), b, c and a file; the
# container renames a to a2 (relative redirect "a") and b to n/b2
# (absolute redirect "/b").
rd_build() {
	OPTS=$(std_opts "${1:-$RDI}")
	setup '
		mkdir -p $L1/a/sub $L1/b $L1/c
		echo x > $L1/a/sub/x; echo y > $L1/a/y; echo z > $L1/b/z
		echo f > $L1/file
		ovl_mount "$OPTS"
		mv $M/a $M/a2; mkdir $M/n; mv $M/b $M/n/b2
		ovl_umount
		test "$(getfattr --only-values -n trusted.overlay.redirect $U/a2)" = a
	'
}

# A tool rewrote the redirect with a trailing slash.
scenario rd_invalid
sc_rd_invalid() {
	stack_new rd_invalid
	rd_build || return
	setfattr -n trusted.overlay.redirect -v "a/" "$U/a2"
	expect_problem "$SC" RD_INVALID upper:/a2
	expect_errno "$SC" lstat a2 EINVAL
	expect_kernel "$SC: kernel: the dir vanishes from readdir" '
		test "$(ls $M | tr "\n" " ")" = "c file n "
	'
}

# A redirect climbing out of the layer ("/../a").
scenario rd_escape
sc_rd_escape() {
	stack_new rd_escape
	rd_build || return
	setfattr -n trusted.overlay.redirect -v "/../a" "$U/a2"
	expect_problem "$SC" RD_ESCAPE upper:/a2
	expect_errno "$SC" lstat a2 EACCES
}

# The lower image dropped the dir the redirect points to.
scenario rd_target_missing
sc_rd_target_missing() {
	stack_new rd_target_missing
	rd_build || return
	rm -rf "$L1/a"
	expect_problem "$SC" RD_TARGET_MISSING upper:/a2
	expect_kernel "$SC: kernel: the dir shows empty, its lower content gone" '
		test -d $M/a2; test -z "$(ls $M/a2)"
	'
}

# The lower image replaced the dir by a file of the same name.
scenario rd_target_not_dir
sc_rd_target_not_dir() {
	stack_new rd_target_not_dir
	rd_build || return
	rm -rf "$L1/a"
	echo file > "$L1/a"
	expect_problem "$SC" RD_TARGET_NOT_DIR upper:/a2
	expect_kernel "$SC: kernel: the dir shows empty" '
		test -d $M/a2; test -z "$(ls $M/a2)"
	'
}

# Someone "cleaned" the 0/0 device at the old name of the renamed dir.
scenario rd_no_whiteout
sc_rd_no_whiteout() {
	stack_new rd_no_whiteout
	rd_build || return
	rm "$U/a"
	expect_problem "$SC" RD_NO_WHITEOUT "upper:/a2|upper:/a"
	expect_kernel "$SC: kernel: the old name shows again, the renamed dir ESTALE" '
		test "$(errno_of lstat $M/a)" = OK
		exec 3< $M/a	# held: nothing evicts it
		test "$(errno_of lstat $M/a2)" = ESTALE
	'
}

# A second dir got the same redirect (copied with its xattrs).
scenario rd_duplicate
sc_rd_duplicate() {
	stack_new rd_duplicate
	rd_build || return
	mkdir "$U/a3"
	setfattr -n trusted.overlay.redirect -v a "$U/a3"
	expect_problem "$SC" RD_DUPLICATE "upper:/a3|upper:/a2"
	expect_kernel "$SC: kernel: the second dir looked up gives ESTALE" '
		test "$(errno_of lstat $M/a2)" = OK
		exec 3< $M/a2	# held: nothing evicts it
		test "$(errno_of lstat $M/a3)" = ESTALE
	'
}

# The stack is mounted with redirect_dir=nofollow after dirs were renamed.
scenario rd_follow_off
sc_rd_follow_off() {
	stack_new rd_follow_off
	rd_build || return
	OPTS=$(std_opts "redirect_dir=nofollow,index=on")
	expect_problem "$SC" RD_FOLLOW_OFF upper:/a2
	expect_errno "$SC" lstat a2 EPERM
}

# A redirect on a plain (not metacopy, not linked) file.
scenario rd_not_dir
sc_rd_not_dir() {
	stack_new rd_not_dir
	rd_build || return
	echo q > "$U/q"
	setfattr -n trusted.overlay.redirect -v /file "$U/q"
	# The kernel's own data copy-up leaves redirects on plain files and
	# ignores them: not a problem.
	expect_clean "$SC"
	expect_kernel "$SC: kernel: the redirect is ignored" '
		test "$(cat $M/q)" = q
	'
}
