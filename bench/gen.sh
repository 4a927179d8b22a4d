#!/bin/sh
# Make the benchmark stacks with the real kernel (root, overlayfs):
#
#   DIR/s1: lower of N small files in dirs of 1000 entries; mounted with
#           metacopy=on,redirect_dir=on,index=on and every file chowned
#           through the merged dir (chown -R): N metacopy files in upper.
#   DIR/s6: the same upper made the same way, over a lower that holds
#           5N more files nobody touched (the lower grown 6x).
#
#   bench/gen.sh DIR [N]        N defaults to 200000
#   GEN6=0 bench/gen.sh ...     leave out DIR/s6
#   GEN_TOP=1 bench/gen.sh ...  an empty lower DIR/sX/top above the
#                               lower (lowerdir=top:lower)
#
# Each stack: DIR/sX/{lower,upper,work}. Existing stacks are replaced.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 DIR [N]" >&2; exit 2; }
DIR=$1
N=${2:-200000}
GEN6=${GEN6:-1}
PER=1000

[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (mount, chown)" >&2; exit 1; }

# fill LOWERDIR PREFIX FIRST COUNT SIZED: COUNT files named fI (I from FIRST)
# in dirs PREFIX0000, PREFIX0001... of PER entries; sizes 1..512 bytes when
# SIZED is 1, empty otherwise. awk makes the files: one process, fast.
fill() {
	_d=$1 _p=$2 _first=$3 _count=$4 _sized=$5
	[ "$_count" -gt 0 ] || return 0
	_ndirs=$(( (_count + PER - 1) / PER ))
	(cd "$_d" && seq -f "${_p}%04g" 0 $((_ndirs - 1)) | xargs mkdir -p)
	(cd "$_d" && awk -v first="$_first" -v count="$_count" -v per="$PER" \
		-v p="$_p" -v sized="$_sized" 'BEGIN {
		pad = sprintf("%512s", "")
		for (i = 0; i < count; i++) {
			f = sprintf("%s%04d/f%d", p, int(i / per), first + i)
			if (sized)
				printf "%s", substr(pad, 1, 1 + (first + i) % 512) > f
			else
				printf "" > f
			close(f)
		}
	}')
}

# stack S EXTRA: lower of N sized files (+ EXTRA empty ones), then the
# chown pass through a metacopy mount.
stack() {
	_s=$DIR/$1
	_extra=$2
	if [ -d "$_s/merged" ] && mountpoint -q "$_s/merged"; then
		umount "$_s/merged"
	fi
	rm -rf "$_s"
	mkdir -p "$_s/lower" "$_s/upper" "$_s/work" "$_s/merged"
	_lowers=$_s/lower
	if [ "${GEN_TOP:-0}" = 1 ]; then
		mkdir -p "$_s/top"
		_lowers=$_s/top:$_s/lower
	fi
	_t0=$(date +%s)
	fill "$_s/lower" d 0 "$N" 1
	fill "$_s/lower" x "$N" "$_extra" 0
	_t1=$(date +%s)
	mount -t overlay overlay \
		-o "lowerdir=$_lowers,upperdir=$_s/upper,workdir=$_s/work,metacopy=on,redirect_dir=on,index=on" \
		"$_s/merged"
	# only the N sized files (and their dirs, and the root): the extra
	# files of s6 stay untouched in the lower
	chown 1000:1000 "$_s/merged"
	(cd "$_s/merged" && chown -R 1000:1000 d[0-9]*)
	umount "$_s/merged"
	rmdir "$_s/merged"
	_t2=$(date +%s)
	echo "$_s: $(( N + _extra )) lower files in $((_t1 - _t0))s," \
		"$N metacopy copy-ups in $((_t2 - _t1))s"
}

mkdir -p "$DIR"
stack s1 0
[ "$GEN6" = 0 ] || stack s6 $((5 * N))

# a sanity check: the last file chowned is a metacopy file in upper
last=$(( (N - 1) / PER ))
f=$(printf '%s/s1/upper/d%04d/f%d' "$DIR" "$last" $((N - 1)))
getfattr -h -n trusted.overlay.metacopy "$f" >/dev/null 2>&1 ||
	{ echo "$0: $f is not a metacopy file" >&2; exit 1; }
echo "done: stacks under $DIR"
