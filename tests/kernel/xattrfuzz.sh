#!/bin/sh
# xattrfuzz: -y converges on randomly damaged overlay xattrs (rule 7).
#
# The kernel makes ONE stack (metacopy=on,index=on,redirect_dir=on): chown
# and chmod (metacopy copy-ups), an append (a full copy-up), ln of lower
# files with one and with several links (index entries), renamed dirs
# (redirects), rm (whiteouts), an indexed alias modified then removed (an
# index entry without an upper alias), an opaque dir.  Then, ROUNDS times,
# a copy of its upper and work dirs (the lower is shared and never
# damaged) gets 1-3 overlay xattrs of upper entries or W/index entries set
# to random, cut-short or hostile bytes, or removed, and:
#
#   fsck.overlay -y   no crash: exit <= 32, no sanitizer report on stderr;
#   exit 0 or 1       -n exits 0 next, the kernel mounts the stack with the
#                     same options, and every name readdir lists can be
#                     lstat'ed, every regular file read to its size without
#                     an error, every symlink read;
#   exit 4 (or 5)     what is left is what -y may not fix: a -n --json
#                     right after lists no problem marked fixable;
#   always            the lower layer is left as it was.
#
# One TAP line per round, then a tally of the failure classes.
#
#   ROUNDS=N   rounds (default 40, about 10 s; ROUNDS=300 for a long run)
#   SEED=S     the seed of the run (default 1); round I uses SEED and I
#   ONLY=I     run round I only (with the SEED of the failing run)
#   KEEP=1     keep each failing copy (before and after -y) in a printed dir
#   FSCK_ASAN=/path/fsck.overlay   check this binary instead of $FSCK
#   LEAN=1     leave out the ln of a lower file with one link and the
#              indexed alias removed after a change (for a build whose
#              index check does not yet follow the kernel's rules there:
#              the kernel indexes only lower files with nlink > 1 unless
#              nfs_export=on, and keeps an entry whose lower alias remains)
#
# Needs root, overlayfs, getfattr/setfattr and perl, else skipped.  A
# copy's W/index "upper" handle is set again to its upper root: that is the
# only place where a copy of the upper and work dirs differs from the
# kernel's stack.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
export LC_ALL=C
[ -n "${FSCK_ASAN:-}" ] && FSCK=$FSCK_ASAN
[ -n "${KEEP:-}" ] && KT_KEEP=1

. "$top_srcdir/tests/kernel/lib.sh"

kt_require_kernel
TT=${OVL_TESTTOOL:-$top_builddir/tests/ovl-testtool}
[ -x "$TT" ] || skip_all "OVL_TESTTOOL not set to an executable ovl-testtool"

ROUNDS=${ROUNDS:-40}
SEED=${SEED:-1}
ONLY=${ONLY:-}
LEAN=${LEAN:-}
XOPTS=metacopy=on,index=on,redirect_dir=on

# ---- the kernel-made stack ---------------------------------------------------

stack_new base
B=$S
BOPTS=$(std_opts "$XOPTS")

# lower: files, hard links of 2 and 3 names, a 100000-byte file, dirs
mkdir -p "$L1/a" "$L1/h" "$L1/h3" "$L1/d1/sub" "$L1/d2" "$L1/d3"
for _f in f1 f2 f3 f4; do echo "$_f" > "$L1/a/$_f"; done
perl -e 'print chr($_ % 251) for 0 .. 99999' > "$L1/big"
cp "$L1/big" "$L1/big2"
echo x > "$L1/h/x" && ln "$L1/h/x" "$L1/h/y"
echo p > "$L1/h/p" && ln "$L1/h/p" "$L1/h/q" && ln "$L1/h/p" "$L1/h/r"
echo m > "$L1/h3/m" && ln "$L1/h3/m" "$L1/h3/n"
echo s > "$L1/single"
echo deep > "$L1/d1/sub/deep"
echo e > "$L1/d1/e"
echo g > "$L1/d2/g"
echo k > "$L1/d3/k"
ln -s a/f1 "$L1/sym"

if ! setup '
	ovl_mount "$BOPTS"
	chown 1:1 "$M/a/f1"			# metacopy copy-ups
	chmod 600 "$M/a/f2"
	chown 2:2 "$M/big2"
	echo app >> "$M/big"			# a full copy-up
	chown 3:3 "$M/h/x"			# indexed metacopy (nlink 2)
	[ -n "$LEAN" ] || ln "$M/single" "$M/single.ln"	# lower nlink 1
	ln "$M/h/p" "$M/h/p.ln"			# lower nlink 3: indexed
	mv "$M/d1" "$M/d1moved"			# redirects
	mv "$M/d2" "$M/a/d2in"
	rm "$M/a/f3"				# whiteout
	if [ -z "$LEAN" ]; then
		chmod 640 "$M/h3/m"		# indexed alias modified ...
		echo more >> "$M/h3/m"
		rm "$M/h3/m"			# ... then its name removed
	fi
	rm -r "$M/d3" && mkdir "$M/d3" && echo z > "$M/d3/z"	# opaque
	mkdir "$M/new" && echo new > "$M/new/nf"
	ovl_umount
'; then
	done_testing
	tap_exit
fi
OPTS=$BOPTS
expect_clean "the kernel-made stack"

# The lower is shared by every copy: what it must stay.
snapshot "$B/lower.snap" "$L1"

# ---- the damage: a perl script, deterministic for (seed, round) ----------------

cat > "$KT_ROOT/damage.pl" <<'EOF'
# damage.pl SEED ROUND U W: sets or removes 1-3 overlay xattrs of upper and
# W/index entries; prints one line per change: WHERE NAME KIND VALUE-HEX.
use strict; use warnings;
my ($seed, $round, $U, $W) = @ARGV;
srand($seed * 1000003 + $round);
my @names = qw(origin metacopy redirect nlink upper impure opaque);

# every entry, and the overlay xattrs they have (hex), from one getfattr
my (%xa, @ents);
for my $top ($U, "$W/index") {
	open(my $g, "-|", "getfattr", "-R", "-h", "-d", "-m", '^trusted\.overlay\.',
	     "-e", "hex", "--absolute-names", $top) or die;
	my $f;
	while (<$g>) {
		chomp;
		if (/^# file: (.*)/) { $f = $1; next; }
		$xa{$f}{$1} = $2 // "" if /^trusted\.overlay\.(\w+)=?(?:0x)?(.*)$/;
	}
	close($g);
	open(my $fd, "-|", "find", $top, "-mindepth", ($top eq $U ? 0 : 1)) or die;
	push @ents, map { chomp; $_ } <$fd>;
	close($fd);
}
@ents = sort @ents;
die "no entries\n" unless @ents;

sub rbytes { my $n = shift; join "", map { chr(int(rand(256))) } 1 .. $n }
sub pick { $_[int(rand(@_))] }
# a valid value of NAME somewhere in the stack (bytes), or undef
sub sample {
	my $name = shift;
	my @v = sort grep { defined } map { $xa{$_}{$name} } sort keys %xa;
	return undef unless @v;
	return pack("H*", pick(@v));
}
sub fh_hostile {
	my $v = sample("origin") // ("\x00\xfb\x1d\x00\x01" . rbytes(16) . rbytes(8));
	my @fix = (
		sub { substr($v, 0, 1) = "\x01" },			# version
		sub { substr($v, 1, 1) = "\xfc" },			# magic
		sub { substr($v, 2, 1) = chr(int(rand(256))) },		# len
		sub { substr($v, 3, 1) = chr(int(rand(256))) },		# flags
		sub { substr($v, 4, 1) = chr(int(rand(256))) },		# fid type
		sub { substr($v, 5, 16) = rbytes(16) if length($v) >= 21 },	# uuid
		sub { substr($v, -1, 1) = chr(ord(substr($v, -1)) ^ 1) },	# stale
		sub { $v .= rbytes(1 + int(rand(8))) },			# trailing
		sub { $v = substr($v, 0, 5) },				# no uuid
		sub { $v = "\x00\xfb\xff\x00\x01" . rbytes(250) },	# huge len
		sub { $v = substr($v, 0, 21) . rbytes(3000) },		# huge
		sub { $v = sample("upper") // $v },			# other kind
	);
	pick(@fix)->();
	return $v;
}
my %hostile = (
	origin => \&fh_hostile,
	upper => \&fh_hostile,
	metacopy => sub { pick(
		"\x00\x24\x00\x01" . rbytes(32),	# valid header, bad digest
		"\x00\x24\x00\x02" . rbytes(32),
		"\x00\xff\x00\x01" . rbytes(32),	# len wrong
		"\x01\x04\x00\x00",			# version
		"\x00\x04\x00\x00",			# header, no digest
		"", rbytes(1 + int(rand(3))),		# empty; cut
		rbytes(3000)) },
	redirect => sub { pick("../..", "/../../etc", "/etc/passwd", "a/../b", "",
		"\0", "a\0b", "/d1", "d1", "/a", "/", "//a", "..", ".", "x" x 300,
		"/" . ("x/" x 1000), "/d1moved", "/h/x", "/a/f1", "/nonexistent") },
	nlink => sub { pick("U+0", "U+999999", "L-1", "L+2", "U-5", "X+1", "U+",
		"", "\0", "U+1\0", "U+99999999999999999999", "L-99999999", "L+0") },
	impure => sub { pick("y", "x", "n", "", "yy", "\0", "\xff") },
	opaque => sub { pick("y", "x", "n", "", "yy", "\0", "\xff") },
);

my $k = 1 + int(rand(3));
for (1 .. $k) {
	my $e = pick(@ents);
	my $name = pick(@names);
	my $cur = exists $xa{$e}{$name} ? pack("H*", $xa{$e}{$name}) : undef;
	my $r = rand();
	my ($kind, $v);
	if ($r < 0.25) {
		($kind, $v) = ("random", rbytes(int(rand(49))));
	} elsif ($r < 0.45) {
		my $src = $cur // sample($name);
		if (defined $src && length($src) > 0) {
			($kind, $v) = ("cut", substr($src, 0, int(rand(length($src)))));
		} else {
			($kind, $v) = ("random", rbytes(int(rand(49))));
		}
	} elsif ($r < 0.8 || !defined $cur) {
		($kind, $v) = ("hostile", $hostile{$name}->());
	} else {
		$kind = "remove";
	}
	(my $where = $e) =~ s{^\Q$U\E}{upper:};
	$where =~ s{^\Q$W\E/index}{index:};
	$where =~ s{:$}{:/};
	my @cmd = ("setfattr", "-h");
	if ($kind eq "remove") {
		push @cmd, "-x", "trusted.overlay.$name", $e;
	} else {
		push @cmd, "-n", "trusted.overlay.$name", "-v",
		     (length($v) ? "0x" . unpack("H*", $v) : ""), $e;
	}
	my $rc = system(@cmd) == 0 ? "" : " (setfattr failed)";
	$xa{$e}{$name} = unpack("H*", $v) if $kind ne "remove" && !$rc;
	printf "%s %s %s %s%s\n", $where, $name, $kind,
	       ($kind eq "remove" ? "-" : "0x" . unpack("H*", $v // "")), $rc;
}
EOF

# ---- the merged view read whole -------------------------------------------------

cat > "$KT_ROOT/walk.pl" <<'EOF'
# walk.pl DIR: lstat every name readdir lists, read every regular file to
# its size, readlink every symlink; prints one line per failure.
use strict; use warnings; use Fcntl ":mode";
my $bad = 0;
sub walk {
	my $d = shift;
	my $dh;
	unless (opendir($dh, $d)) { print "opendir $d: $!\n"; $bad++; return; }
	my @n = sort grep { !/^\.\.?$/ } readdir($dh);
	closedir($dh);
	for my $n (@n) {
		my $p = "$d/$n";
		my @st = lstat($p);
		unless (@st) { print "lstat $p: $!\n"; $bad++; next; }
		if (S_ISDIR($st[2])) {
			walk($p);
		} elsif (S_ISLNK($st[2])) {
			defined(readlink($p)) or do { print "readlink $p: $!\n"; $bad++ };
		} elsif (S_ISREG($st[2])) {
			my $fh;
			unless (sysopen($fh, $p, 0)) { print "open $p: $!\n"; $bad++; next; }
			my ($got, $buf, $r) = (0);
			$got += $r while ($r = sysread($fh, $buf, 65536));
			if (!defined $r) { print "read $p: $!\n"; $bad++; }
			elsif ($got != $st[7]) {
				print "read $p: $got bytes of $st[7]\n"; $bad++;
			}
			close($fh);
		}
	}
}
walk($ARGV[0]);
exit($bad ? 1 : 0);
EOF

# ---- one round ----------------------------------------------------------------------

CLASSES=$KT_ROOT/classes
: > "$CLASSES"
: > "$KT_ROOT/rcs"

# codes FILE: the problem codes of an fsck output, sorted, on one line
codes() {
	sed -n 's/^\([A-Z][A-Z0-9]*_[A-Z0-9_]*\) .*/\1/p' "$1" | sort -u | tr '\n' ' '
}

# sanitizer FILE: true when FILE holds a sanitizer report
sanitizer() {
	grep -q 'AddressSanitizer\|LeakSanitizer\|UndefinedBehaviorSanitizer\|runtime error:' "$1"
}

# copy_stack DEST: DEST/u and DEST/w as copies of the base upper and work
# dirs (hard links between them kept), W/index's "upper" set to DEST/u.
copy_stack() {
	mkdir -p "$1/m"
	# --sparse=always: a metacopy stub stays without data blocks
	cp -a --sparse=always "$2/u" "$2/w" "$1/" &&
	_h=$("$TT" handle -u "$1/u" /) &&
	setfattr -n trusted.overlay.upper -v "0x$_h" "$1/w/index"
}

# fail_class LABEL [DETAIL]: one more failure of this round; LABEL (no
# paths, no values) is what the tally at the end counts.
fail_class() {
	_class="${_class:+$_class; }$1${2:+: $2}"
	echo "$1" >> "$CLASSES"
}

round() {
	_i=$1
	R=$KT_ROOT/round
	rm -rf "$R"
	mkdir -p "$R"
	S=$R M=$R/m U=$R/u W=$R/w
	OPTS="lowerdir=$L1,upperdir=$U,workdir=$W,$XOPTS"
	if ! copy_stack "$R" "$B"; then
		not_ok "round $_i: copying the stack"
		return
	fi
	perl "$KT_ROOT/damage.pl" "$SEED" "$_i" "$U" "$W" > "$R/changes" 2>&1
	[ -n "${KEEP:-}" ] && copy_stack "$R/before" "$R"

	_class=
	run_fsck -y -o "$OPTS" < /dev/null
	cp "$R/fsck.out" "$R/y.out"
	cp "$R/fsck.err" "$R/y.err"
	_rc1=$FSCK_RC
	echo "$_rc1" >> "$KT_ROOT/rcs"
	if [ "$_rc1" -gt 32 ]; then
		fail_class "crash" "-y exit $_rc1"
	elif sanitizer "$R/y.err"; then
		fail_class "sanitizer report in -y"
	elif [ "$_rc1" -eq 8 ] || [ "$_rc1" -eq 16 ]; then
		fail_class "-y exit $_rc1" "$(sed -n 1p "$R/y.err")"
	fi

	if [ -z "$_class" ] && [ "$_rc1" -le 1 ]; then
		run_fsck -n -o "$OPTS" < /dev/null
		if [ "$FSCK_RC" -ne 0 ] || sanitizer "$R/fsck.err"; then
			fail_class "-n after -y: exit $FSCK_RC: $(codes "$R/fsck.out")"
		fi
		if ! LC_ALL=C mount -t overlay overlay -o "$OPTS" "$M" 2> "$R/mount.err"; then
			fail_class "mount refused" "$(sed -n 's/.*failed: //p' "$R/mount.err" | sed 1q)"
		else
			if ! perl "$KT_ROOT/walk.pl" "$M" > "$R/walk.out" 2>&1; then
				fail_class "merged view: $(sed -e 's/^\([a-z]*\) .*: /\1 /' -e 's/[0-9]* bytes of [0-9]*/short/' -e 1q "$R/walk.out")" \
					"$(sed -e "s#$M##" -e 1q "$R/walk.out")"
			fi
			umount "$M"
		fi
	elif [ -z "$_class" ] && [ $((_rc1 & 4)) -ne 0 ]; then
		# what -y left must be what it may not fix
		run_fsck -n --json -o "$OPTS" < /dev/null
		_left=$(perl -MJSON::PP -e '
			local $/; my $j = decode_json(<STDIN>);
			for my $s (@{$j->{stacks} // [$j]}) {
				for my $p (@{$s->{problems} // []}) {
					print "$p->{code} " if $p->{fixable};
				}
			}' < "$R/fsck.out" 2>&1)
		[ -n "$_left" ] && fail_class "-y exit 4 left fixable: $_left"
	fi

	snapshot "$R/lower.snap" "$L1"
	cmp -s "$B/lower.snap" "$R/lower.snap" || fail_class "the lower changed"

	if [ -z "$_class" ]; then
		ok "round $_i: -y exit $_rc1, converged"
		return
	fi
	not_ok "round $_i: $_class"
	diag "reproduce: SEED=$SEED ONLY=$_i sh tests/kernel/xattrfuzz.sh"
	diag "changes:"
	diag "$(cat "$R/changes")"
	diag "fsck.overlay -y (exit $_rc1):"
	diag "$(cat "$R/y.out" "$R/y.err")"
	diag "then fsck.overlay -n (exit $FSCK_RC):"
	diag "$(sed -n 1,30p "$R/fsck.out"; sed -n 1,30p "$R/fsck.err")"
	[ -s "$R/walk.out" ] && diag "$(sed -n 1,10p "$R/walk.out")"
	if [ -n "${KEEP:-}" ]; then
		mv "$R" "$KT_ROOT/fail-$_i"
		diag "kept: $KT_ROOT/fail-$_i (before/: the damaged copy; lower: $L1)"
	fi
}

if [ -n "$ONLY" ]; then
	round "$ONLY"
else
	_i=1
	while [ "$_i" -le "$ROUNDS" ]; do
		round "$_i"
		_i=$((_i + 1))
	done
fi

diag "-y exit codes (count, code): $(sort -n "$KT_ROOT/rcs" | uniq -c | tr -s ' \n' ' ')"
if [ -s "$CLASSES" ]; then
	diag "failures by class:"
	diag "$(sort "$CLASSES" | uniq -c | sort -rn)"
fi
[ -n "${KT_KEEP:-}" ] && diag "temp dir: $KT_ROOT"
done_testing
tap_exit
