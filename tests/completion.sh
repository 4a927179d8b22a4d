#!/bin/bash
# The bash completion: options, -o items and their dirs, fstab mount
# points, in sync with --help (so a new option cannot be forgotten).
set -u
top_srcdir=${top_srcdir:-.}
FSCK=${FSCK:-./fsck.overlay}
BROWSE=${BROWSE:-./overlay-browse}
LAYERS=${LAYERS:-./overlay-layers}
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; echo "# got: ${COMPREPLY[*]-}"; fi; }

. "$top_srcdir/completion/fsck.overlay"
# complete WORDS...: set COMP_WORDS/COMP_CWORD (the last word is the
# one completed) and run the program's function
complete_line() {
	local fn=$1; shift
	COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
	$fn 2>/dev/null
}
has() { local w; for w in "${COMPREPLY[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lower1" "$tmp/upper"
printf '%s\n' '# test' "overlay $tmp/m\\040one overlay lowerdir=/l 0 2" \
	"UUID=1 / ext4 defaults 0 1" "overlay $tmp/two overlay lowerdir=/l 0 0" > "$tmp/fstab"

# every option --help lists is completed, and no other
for prog in fsck.overlay overlay-browse overlay-layers; do
	bin=$FSCK fn=_fsck_overlay
	[ $prog = overlay-browse ] && bin=$BROWSE fn=_overlay_browse
	[ $prog = overlay-layers ] && bin=$LAYERS fn=_overlay_layers
	want=$("$bin" --help | grep -o -- '--[a-z-]*\| -[A-Za-z]\b' | tr -d ' ' | sort -u)
	complete_line $fn $prog -
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort -u)
	check "$prog: the options are those of --help" '[ "$want" = "$got" ]'
done

complete_line _fsck_overlay fsck.overlay -o "metacopy=on,redi"
check "-o completes the last item" 'has metacopy=on,redirect_dir=on && has metacopy=on,redirect_dir=follow'
complete_line _fsck_overlay fsck.overlay -o "lowerdir=$tmp/low"
check "-o lowerdir= completes a dir" "has 'lowerdir=$tmp/lower1/'"
complete_line _fsck_overlay fsck.overlay -o "lowerdir=/x:$tmp/up"
check "-o lowerdir= completes after a colon" "has 'lowerdir=/x:$tmp/upper/'"
complete_line _fsck_overlay fsck.overlay --fstab "$tmp/fstab" "$tmp/"
check "a mount point comes from the fstab's overlay entries" \
	"has '$tmp/m one' && has '$tmp/two' && [ \${#COMPREPLY[@]} -eq 2 ]"
complete_line _overlay_browse overlay-browse --ls ""
check "overlay-browse --ls starts at /" 'has /'
cmds=$("$LAYERS" --help | sed -n '/^Commands:/,/^$/s/^ \([a-z][a-z]*\) .*/\1/p' | sort)
complete_line _overlay_layers overlay-layers -y ""
check "overlay-layers: its first word is one of the commands of --help" \
	'[ "$(printf "%s\n" "${COMPREPLY[@]}" | sort)" = "$cmds" ] && [ -n "$cmds" ]'
complete_line _overlay_layers overlay-layers vacuum -o "upperdir=$tmp/up"
check "overlay-layers -o completes a dir" "has 'upperdir=$tmp/upper/'"

echo "1..$n"
exit $fail
