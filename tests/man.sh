#!/bin/sh
# The man page against the code: mandoc lint, the problem codes of
# include/overlay/problem_codes.h (both ways, with class, severity and
# preen flag), and the options `fsck.overlay --help` prints.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-.}
FSCK=${FSCK:-$top_builddir/fsck.overlay}
. "$top_srcdir/tests/tap.sh"

MAN=$top_srcdir/man/fsck.overlay.8
CODES_H=$top_srcdir/include/overlay/problem_codes.h
[ -r "$MAN" ] || skip_all "no $MAN"
[ -r "$CODES_H" ] || skip_all "no $CODES_H"

T=$(mktemp -d "${TMPDIR:-/tmp}/man-test.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT

plan 15

# 1. mandoc -Tlint: no message, exit 0. The only lines dropped are the
# "outdated mandoc.db lacks X(8) entry" notices mandoc prints for every
# .Xr when the machine has no mandoc.db (Debian uses man-db): they are
# about the machine, not the page; so are references to this project's
# own pages, not installed yet.
if command -v mandoc >/dev/null 2>&1; then
	mandoc -Tlint "$MAN" >"$T/lint" 2>&1
	rc=$?
	grep -v -e '^mandoc: outdated mandoc.db lacks ' \
		-e 'referenced manual not found: Xr overlay-fsck' "$T/lint" >"$T/lint2"
	# exit 1 is a STYLE notice, and every notice left is in lint2
	if [ "$rc" -le 1 ] && [ ! -s "$T/lint2" ]; then
		ok "mandoc -Tlint is clean"
	else
		diag "mandoc -Tlint exit $rc:"
		diag "$(cat "$T/lint2")"
		not_ok "mandoc -Tlint is clean"
	fi
else
	skip "mandoc -Tlint is clean" "mandoc not installed"
fi

# The table: "CODE class SEVERITY flags" per row.
sed -n 's/^PR(\([A-Z0-9_]*\), *\([a-z]*\), *\([A-Z]*\), *\([^,]*\),.*/\1 \2 \3 \4/p' \
	"$CODES_H" >"$T/table"
# The man page: "CODE class severity preen|-" per ".It Sy CODE" entry of
# the PROBLEM CODES section; class from the enclosing .Ss, severity from
# the entry's first line ("Error." / "Warning." / "Note." / "Error, ...").
awk '
	/^\.Sh / { insec = ($0 == ".Sh PROBLEM CODES"); next }
	!insec { next }
	function flush() { if (code != "") print code, cls, sev, preen; code = "" }
	/^\.Ss / { flush(); cls = tolower($2); next }
	/^\.It Sy [A-Z][A-Z0-9]*_[A-Z0-9_]*$/ {
		flush(); code = $3; sev = ""; preen = "-"; want_sev = 1; next
	}
	/^\.(It|El)/ { flush(); next }
	code != "" && want_sev {
		s = $1; sub(/[.,]$/, "", s); sev = toupper(s); want_sev = 0; next
	}
	code != "" && /^\.Pq preen/ { preen = "preen" }
	END { flush() }
' "$MAN" >"$T/man"

nrows=$(wc -l <"$T/table")
if [ "$nrows" -gt 0 ]; then
	ok "problem_codes.h has $nrows codes"
else
	not_ok "problem_codes.h has codes"
fi

# 3. every code of the table has its own entry in the man page
cut -d' ' -f1 "$T/table" | sort >"$T/codes_h"
cut -d' ' -f1 "$T/man" | sort >"$T/codes_man"
missing=$(comm -23 "$T/codes_h" "$T/codes_man")
if [ -z "$missing" ]; then
	ok "every problem code has an entry in the man page"
else
	diag "no man page entry for:" "$missing"
	not_ok "every problem code has an entry in the man page"
fi

# 4. no stale code anywhere in the man page: every CODE-looking word
# with a class prefix must be in the table.
grep -oE '\b(STK|LY|WH|OP|RD|MC|OR|IM|IX)_[A-Z0-9_]+\b' "$MAN" | sort -u >"$T/words_man"
stale=$(comm -13 "$T/codes_h" "$T/words_man")
dup=$(uniq -d "$T/codes_man")
if [ -z "$stale" ] && [ -z "$dup" ]; then
	ok "no stale or duplicate problem codes in the man page"
else
	diag "stale: $stale" "duplicate: $dup"
	not_ok "no stale or duplicate problem codes in the man page"
fi

# 5. class, severity and preen flag agree
bad=$(awk '
	NR == FNR { cls[$1] = $2; sev[$1] = $3; preen[$1] = ($4 ~ /PF_PREEN/) ? "preen" : "-"; next }
	($1 in cls) && (cls[$1] != $2 || sev[$1] != $3 || preen[$1] != $4) {
		print $1 ": table " cls[$1] " " sev[$1] " " preen[$1] ", man page " $2 " " $3 " " $4
	}
' "$T/table" "$T/man")
if [ -z "$bad" ]; then
	ok "class, severity and preen flag of every code match the table"
else
	diag "$bad"
	not_ok "class, severity and preen flag of every code match the table"
fi

# 6-9. the options --help prints
"$FSCK" --help >"$T/help" 2>"$T/help.err"
rc=$?
if [ "$rc" -eq 0 ] && [ -s "$T/help" ]; then
	ok "fsck.overlay --help prints a usage"
else
	diag "exit $rc, stderr: $(cat "$T/help.err")"
	not_ok "fsck.overlay --help prints a usage"
fi

# short options: "-x" not followed by a letter or digit
grep -oE '(^|[^A-Za-z0-9-])-[A-Za-z]([^A-Za-z0-9-]|$)' "$T/help" |
	sed 's/^[^-]*-\([A-Za-z]\).*/\1/' | sort -u >"$T/short"
grep -oE '(^|[^A-Za-z0-9-])--[a-z][a-z0-9-]*' "$T/help" |
	sed 's/^[^-]*--/-/' | sort -u >"$T/long"
nopt=$(cat "$T/short" "$T/long" | wc -l)
missing=
for o in $(cat "$T/short" "$T/long"); do
	grep -Eq "(^|[ ])Fl $o( |$)" "$MAN" || missing="$missing -$o"
done
if [ "$nopt" -ge 8 ] && [ -z "$missing" ]; then
	ok "every option of --help ($nopt) is in the man page"
else
	diag "options found in --help: $nopt; missing from the man page:$missing"
	not_ok "every option of --help is in the man page"
fi

# -o keywords ("lowerdir=", "datadir+=", ...) of --help
grep -oE '\b[a-z_]+\+?=' "$T/help" | sort -u >"$T/kw"
missing=
for k in $(cat "$T/kw"); do
	kre=$(printf '%s' "$k" | sed 's/+/\\+/g')
	grep -Eq "Cm $kre( |$)" "$MAN" || missing="$missing $k"
done
if [ -z "$missing" ]; then
	ok "every -o option of --help ($(wc -l <"$T/kw")) is in the man page"
else
	diag "missing from the man page:$missing"
	not_ok "every -o option of --help is in the man page"
fi

# every -o option of the contract is documented (cli.md lists them)
missing=
for k in lowerdir= lowerdir+= datadir+= upperdir= workdir= metacopy= index= \
	redirect_dir= nfs_export= userxattr xino= uuid= verity= volatile; do
	kre=$(printf '%s' "$k" | sed 's/+/\\+/g')
	grep -Eq "^\.It Cm $kre( |$)" "$MAN" || missing="$missing $k"
done
if [ -z "$missing" ]; then
	ok "every -o option has an entry in the man page"
else
	diag "no entry for:$missing"
	not_ok "every -o option has an entry in the man page"
fi

# lint_page PAGE IGNORE: one test point, mandoc -Tlint of PAGE clean but
# for the mandoc.db notices and lines matching IGNORE (cross references
# to pages not installed on this machine)
lint_page() {
	name=$(basename "$1")
	if ! command -v mandoc >/dev/null 2>&1; then
		skip "$name: mandoc -Tlint is clean" "mandoc not installed"
		return
	fi
	mandoc -Tlint "$1" >"$T/plint" 2>&1
	grep -v -e '^mandoc: outdated mandoc.db lacks ' -e "$2" "$T/plint" >"$T/plint2"
	if [ ! -s "$T/plint2" ]; then
		ok "$name: mandoc -Tlint is clean"
	else
		diag "$(cat "$T/plint2")"
		not_ok "$name: mandoc -Tlint is clean"
	fi
}

# help_in_page NAME BIN PAGE: one test point, every option --help of BIN
# prints (and every command of its "Commands:" list) has its entry in PAGE
help_in_page() {
	if [ -z "$2" ] || ! "$2" --help >"$T/help.$1" 2>&1; then
		skip "$1: every option and command of --help is in its man page" "not built"
		return
	fi
	missing=
	for o in $(grep -oE -- '(^| )--?[a-zA-Z][a-z-]*' "$T/help.$1" | tr -d ' ' | sort -u); do
		name=${o#-}; name=${name#-}
		grep -Eq "Fl -?$name( |$)" "$3" || missing="$missing $o"
	done
	for c in $(sed -n '/^Commands:/,/^$/s/^ \([a-z][a-z]*\) .*/\1/p' "$T/help.$1"); do
		grep -q "^\.It Cm $c\( \|\$\)" "$3" || missing="$missing $c"
	done
	if [ -z "$missing" ]; then
		ok "$1: every option and command of --help is in its man page"
	else
		diag "missing:$missing"
		not_ok "$1: every option and command of --help is in its man page"
	fi
}

# overlay-browse(1): lint (its cross reference to fsck.overlay(8), a page
# of this project not installed yet, is fine) and every --help option
BMAN=$top_srcdir/man/overlay-browse.1
lint_page "$BMAN" 'referenced manual not found: Xr fsck.overlay 8'
help_in_page overlay-browse "${BROWSE:-}" "$BMAN"

# overlay-layers(1): lint (cross references to this project's pages not
# installed yet are fine) and every --help option and command
LMAN=$top_srcdir/man/overlay-layers.1
lint_page "$LMAN" 'STYLE: referenced manual not found: Xr \(fsck.overlay 8\|overlay-browse 1\)'
help_in_page overlay-layers "${LAYERS:-}" "$LMAN"

# overlay-fsck@.service(8), also overlay-fsck-generator(8): lint (cross
# references to pages this machine lacks are about the machine), and every
# environment variable the generator reads and every value of the kernel
# command line switches it takes has its entry.
SMAN=$top_srcdir/man/overlay-fsck@.service.8
lint_page "$SMAN" 'STYLE: referenced manual not found'
missing=
vars=$(cat "$top_srcdir/src/generator/main.c" "$top_srcdir/src/lib/boot/generator.c" \
	"$top_srcdir/src/lib/boot/cmdline.c" | grep -o 'getenv("[A-Z_]*")' | sed 's/getenv("\(.*\)")/\1/' | sort -u)
for v in $vars; do
	grep -q "^\.It Ev $v\$" "$SMAN" || missing="$missing $v"
done
values=$(sed -n 's/^static const char \*const \(mode\|repair\)_names\[\] = { \(.*\) };$/\1 \2/p' \
	"$top_srcdir/src/lib/boot/cmdline.c" | tr -d '",')
nval=0
while read -r sw v1 v2 v3; do
	[ "$sw" = repair ] || sw=mode
	nval=$((nval + 1))
	grep -q "^\.It Cm fsck\.$sw= Ns Cm $v1 | $v2 | $v3\$" "$SMAN" || missing="$missing fsck.$sw=$v1|$v2|$v3"
done <<EOF2
$values
EOF2
if [ -z "$missing" ] && [ "$nval" -eq 2 ] && [ -n "$vars" ]; then
	ok "overlay-fsck@.service.8: every environment variable ($(echo $vars)) and fsck.mode=/fsck.repair= value"
else
	diag "missing or not found in the source ($nval switches):$missing"
	not_ok "overlay-fsck@.service.8: every environment variable and fsck.mode=/fsck.repair= value"
fi

tap_exit
