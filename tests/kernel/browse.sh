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
deleted /old
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
		exit 1 unless @$a == 9;
		exit 1 unless $c{"/renamed"}{from} eq "/old" && $c{"/renamed"}{type} eq "dir";
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
