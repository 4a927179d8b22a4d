# fsck.overlay --store on container-engine stores (store_lib.sh builds
# them).  For each layout, docker (overlay2) and podman (containers-
# storage, metacopy=on mounts):
#
#   store_L_clean      every container mounts as the engine mounts it, the
#                      layers compose as built; --store -n exits 0
#   store_L_DAMAGE     the damage users report, then first what the kernel
#                      (or the engine's own reading) does with it, then
#                      --store -n exits 4 with "SR_CODE store:/path: ...",
#                      writes nothing; -y exits 1, a second -n exits 0 and
#                      the containers mount with the merged view they had
#                      before the damage.  Unfixable damage: -y exits 4.
#   store_L_crash      -y killed at each change (OVL_FAULT_WRITE, before
#                      and after it): the next -y converges
#   store_L_undo       --undo JOURNAL --store puts the damage back
#   store_L_running    a container mounted: -y refused (8), -n checks
#   store_L_json       --json: the store's record and each unit's
#   store_L_names      a terminal escape in a container's name: escaped
#   store_L_preen      -p fixes the bookkeeping unasked; orphans only with
#                      --remove-orphans
#   store_L_jobs       -j 2 and -j 4 print what -j 1 prints (-n, --json,
#                      -y on identical copies of the store's filesystem,
#                      leaving the same store and journals); -C lines one
#                      unit after the other; a unit killed mid-repair
#   the clean ones also check that each layer is walked once


# st_new LAYOUT: a fresh store $ST (docker or podman) for scenario $SC
st_new() {
	stack_new "$SC"
	ST=$S/store
	DRV=$(if [ "$1" = docker ]; then echo overlay2; else echo overlay; fi)
	setup "${1}_store $ST"
}

# st_new_layer LAYOUT KEY: st_new, the views before the damage in
# $S/views.0, _id the dir name of image layer KEY, _n its short name
st_new_layer() {
	st_new "$1" || return 1
	st_views "$S/views.0"
	_id=$(store_id "$ST" "layer.$2")
	_n=$(st_link_of "$ST" "$_id")
}

# st_views FILE [DIR]: the merged views of both containers (tree_list),
# each mounted as the engine mounts it; fails when one does not mount
st_views() {
	_sd=${2:-$ST}
	: > "$1"
	for _c in web db; do
		echo "== $_c" >> "$1"
		if ! store_mount_container "$_sd" "$_c" "$M" >> "$1" 2>&1; then
			echo "MOUNT FAILED" >> "$1"
			return 1
		fi
		tree_list "$M" >> "$1" 2>&1
		store_umount "$M"
	done
}

st_errno_text() {
	case $1 in
	ENOENT)	echo "does not exist" ;;
	*)	kt_errno_text "$1" ;;
	esac
}

# st_mount_fails NAME CONTAINER ERRNO: the engine's mount of it fails
st_mount_fails() {
	if store_mount_container "$ST" "$2" "$M" > "$S/mount.err" 2>&1; then
		store_umount "$M"
		not_ok "$1: mounting $2 as the engine does fails ($3)"
		diag "it mounted: $ST_OPTS"
		return 1
	fi
	if grep -q "$(st_errno_text "$3")" "$S/mount.err"; then
		ok "$1: mounting $2 as the engine does fails ($3)"
		return 0
	fi
	not_ok "$1: mounting $2 as the engine does fails ($3)"
	diag "$(cat "$S/mount.err")"
	return 1
}

# st_same_views NAME WHAT: both containers mount and show $S/views.0
st_same_views() {
	if st_views "$S/views.1" && cmp -s "$S/views.0" "$S/views.1"; then
		ok "$1: both containers mount with the merged view of before $2"
		return 0
	fi
	not_ok "$1: both containers mount with the merged view of before $2"
	diag "$(diff "$S/views.0" "$S/views.1" | head -10)"
	return 1
}

# st_untouched ARGS...: fsck.overlay --store $ST ARGS, which must leave
# the store byte for byte as it was; starts a new _bad
st_untouched() {
	snapshot "$S/snap.before" "$ST"
	run_fsck --store "$ST" "$@"
	snapshot "$S/snap.after" "$ST"
	_bad=
	cmp -s "$S/snap.before" "$S/snap.after" || rp_bad "$* changed the store"
}

# st_fsck_reports NAME CODE WHERE [ARGS]: --store -n exits 4, prints
# "CODE store:WHERE: ..." and leaves the store byte for byte as it was
st_fsck_reports() {
	_name=$1 _code=$2 _where=$3
	st_untouched -n
	[ "$FSCK_RC" -eq 4 ] || rp_bad "exit $FSCK_RC, not 4"
	grep -qF "$_code store:$_where:" "$S/fsck.out" ||
		rp_bad "no line \"$_code store:$_where: ...\""
	rp_done "$_name: --store -n reports $_code store:$_where, exit 4, store untouched"
}

# st_fsck_rc NAME RC ARGS...: fsck.overlay --store $ST ARGS exits RC
st_fsck_rc() {
	_name=$1 _want=$2
	shift 2
	run_fsck --store "$ST" "$@"
	_bad=
	[ "$FSCK_RC" -eq "$_want" ] || rp_bad "exit $FSCK_RC, not $_want"
	rp_done "$_name: --store $* exits $_want"
}

# st_fsck_fixes NAME CODE WHERE: reported, -y fixes (1), -n then 0
st_fsck_fixes() {
	st_fsck_reports "$1" "$2" "$3"
	st_fsck_rc "$1" 1 -y
	st_fsck_rc "$1" 0 -n
}

# st_fsck_rewrites NAME CODE FILE TEXT: st_fsck_fixes on the driver dir's
# FILE, which -y must leave holding exactly TEXT (as the engine wrote it);
# then both containers show their old views
st_fsck_rewrites() {
	st_fsck_fixes "$1" "$2" "/$DRV/$3"
	_bad=
	_got=$(cat "$ST/$DRV/$3" 2>&1)
	[ "$_got" = "$4" ] || rp_bad "$3 holds \"$_got\", not \"$4\""
	rp_done "$1: -y wrote $3 as the engine writes it"
	st_same_views "$1" "the damage"
}

# ---- the scenarios, each run on both layouts ----

st_sc_clean() {
	st_new "$1" || return
	_bad=
	st_views "$S/views.0" || rp_bad "a container does not mount: $(tail -3 "$S/views.0")"
	# the layers compose as built: the app layer's files, the whiteouts
	# and opaque dirs of every layer, the containers' own changes
	for _f in "app/server.sh	f" "etc/base-release	-" "usr/share/doc/readme	-" \
		  "usr/lib/libapp.so	f" "usr/lib/libx.so.1	-" "etc/motd	-" \
		  "var/cache/app/fresh	f" "var/cache/app/c	-" "srv/new.txt	f" \
		  "etc/os-release	f"; do
		_p=${_f%	*} _t=${_f#*	}
		_l=$(sed -n '/^== web/,/^== db/p' "$S/views.0" | awk -F'\t' -v p="$_p" '$1 == p { print $2 }')
		[ "${_l:--}" = "$_t" ] || rp_bad "web: $_p is \"${_l:--}\", not \"$_t\""
	done
	grep -q "^usr/bin/tool	f	0755	1000:1000	" "$S/views.0" || rp_bad "web: tool not chowned"
	sed -n '/^== db/,$p' "$S/views.0" | grep -q "^usr/share/doc/readme	" &&
		rp_bad "db: the base layer 2 whiteout does not hide readme"
	sed -n '/^== db/,$p' "$S/views.0" | grep -q "^var/lib/db/data	f" ||
		rp_bad "db: its own file is missing"
	rp_done "$SC: both containers mount as the engine mounts them, layers composed as built"
	_bad=
	if [ "$1" = podman ]; then
		getfattr -R -h --absolute-names -m trusted.overlay.metacopy \
			"$ST/overlay/$(store_id "$ST" rw.web)/diff" 2>/dev/null | grep -q 'usr/bin/tool$' ||
			rp_bad "the chown under metacopy=on made no metacopy file"
		rp_done "$SC: web's rw layer has kernel-made metacopy files"
	fi
	st_untouched -n
	[ "$FSCK_RC" -eq 0 ] || rp_bad "exit $FSCK_RC, not 0"
	rp_done "$SC: --store -n exits 0 on the clean store"
	# every layer walked once, though both images and both containers
	# share the base layers: one "layer" unit per layer under the
	# containers' own (after its parents), then one per container
	_bad=
	_want=$(for _k in base1 base2 app1; do store_id "$ST" "layer.$_k"; done)
	[ "$1" = docker ] && _want="$_want
$(store_id "$ST" init.web)
$(store_id "$ST" init.db)"
	sed -n 's/^layer .* (\([^)]*\)):$/\1/p' "$S/fsck.out" > "$S/units"
	[ "$(sort "$S/units")" = "$(echo "$_want" | sort)" ] ||
		rp_bad "layer units: $(tr '\n' ' ' < "$S/units"), not each of $(echo "$_want" | tr '\n' ' ') once"
	[ "$(sed -n 1p "$S/units")" = "$(store_id "$ST" layer.base1)" ] ||
		rp_bad "the base layer is not checked first"
	[ "$(grep -c '^container ' "$S/fsck.out")" -eq 2 ] || rp_bad "not two container units"
	# who is hurt by a problem of the shared base layer: everything
	grep -A1 "^layer .*($(store_id "$ST" layer.base1)):\$" "$S/fsck.out" | tail -n 1 |
		grep -q '^used by image .*app:1, image .*base:1, container db, container web$' ||
		rp_bad "the base layer's users: $(grep -A1 "($(store_id "$ST" layer.base1))" "$S/fsck.out" | tail -n 1)"
	[ "$(grep -c '^lower1: ' "$S/fsck.out")" -eq "$(wc -l < "$S/units")" ] ||
		rp_bad "a layer unit walks more than its own layer"
	rp_done "$SC: each layer walked once under its own line, then each container"
}

# A crash lost the l/ link of base layer 2 (both images use it).  (The
# containers-storage library recreates links at its next mount itself;
# Docker and the kernel do not.)
st_sc_link_missing() {
	st_new_layer "$1" base2 || return
	st_rm_link "$ST" "$_id"
	st_mount_fails "$SC" web ENOENT
	st_mount_fails "$SC" db ENOENT
	st_fsck_fixes "$SC" SR_LINK_MISSING "/$DRV/l/$_n"
	st_same_views "$SC" "the damage"
}

# The l/ link of base layer 1 leads to the app layer's diff: web has the
# app layer twice (the kernel refuses), db mounts the wrong files.
st_sc_link_wrong() {
	st_new_layer "$1" base1 || return
	st_swap_link "$ST" "$_id" "$(store_id "$ST" layer.app1)"
	st_mount_fails "$SC" web ELOOP
	_bad=
	if store_mount_container "$ST" db "$M" 2> "$S/mount.err"; then
		[ -e "$M/app/server.sh" ] || rp_bad "db does not show the app layer"
		[ -L "$M/lib" ] && rp_bad "db still shows base layer 1 (lib)"
		store_umount "$M"
	else
		rp_bad "db does not mount: $(cat "$S/mount.err")"
	fi
	rp_done "$SC: db mounts the app layer instead of base layer 1"
	st_fsck_fixes "$SC" SR_LINK_WRONG "/$DRV/l/$_n"
	st_same_views "$SC" "the damage"
}

# A dangling link in l/ (a layer removal that stopped half-way): the
# kernel never sees it.
st_sc_link_dangling() {
	st_new "$1" || return
	st_views "$S/views.0"
	_n=$(st_add_dangling "$ST")
	st_same_views "$SC" "(the kernel ignores it)"
	st_fsck_fixes "$SC" SR_LINK_DANGLING "/$DRV/l/$_n"
	_bad=
	rp_absent "$ST/$DRV/l/$_n"
	rp_done "$SC: -y removed the dangling link"
}

# The lower file of web's rw layer is empty (a full disk).  Docker then
# mounts the driver dir itself as the lower; containers-storage mounts the
# layer's empty/, which only base layers have.
st_sc_lower_empty() {
	st_new "$1" || return
	st_views "$S/views.0"
	_id=$(store_id "$ST" rw.web)
	_lw=$(cat "$ST/$DRV/$_id/lower")
	st_empty_lower "$ST" "$_id"
	if [ "$1" = docker ]; then
		_bad=
		if store_mount_container "$ST" web "$M" 2> "$S/mount.err"; then
			[ -d "$M/l" ] && [ -d "$M/$_id" ] || rp_bad "web does not show the driver dir"
			[ -e "$M/app/server.sh" ] && rp_bad "web still shows the image"
			store_umount "$M"
		else
			rp_bad "web does not mount: $(cat "$S/mount.err")"
		fi
		rp_done "$SC: web mounts the driver dir instead of its image"
	else
		st_mount_fails "$SC" web ENOENT
	fi
	st_fsck_rewrites "$SC" SR_LOWER_BAD "$_id/lower" "$_lw"
}

# The app layer lost its link file: the kernel mounts as before (lower
# files hold the names), but the engine cannot create a layer over it
# (its create() reads the parent's link), so no new container of app:1.
st_sc_linkfile_missing() {
	st_new_layer "$1" app1 || return
	st_rm_linkfile "$ST" "$_id"
	st_same_views "$SC" "(the kernel does not read link files)"
	_bad=
	_new=$(st_hex64)
	if st_layer_create "$ST" "$_new" "$_id" 2> "$S/create.err"; then
		rp_bad "a layer over app:1 was created"
	fi
	rp_absent "$ST/$DRV/$_new"
	rp_done "$SC: the engine's create of a container layer over app:1 fails"
	st_fsck_rewrites "$SC" SR_LINKFILE_MISSING "$_id/link" "$_n"
}

# Base layer 1 was removed by hand: nothing using it mounts, and nothing
# can bring it back but the engine (pull, rebuild).
st_sc_layer_missing() {
	st_new "$1" || return
	_id=$(store_id "$ST" layer.base1)
	st_rm_layer "$ST" "$_id"
	st_mount_fails "$SC" web ENOENT
	st_mount_fails "$SC" db ENOENT
	st_fsck_reports "$SC" SR_LAYER_MISSING "/$DRV/$_id"
	st_fsck_rc "$SC" 4 -y
}

# A pull that crashed left a layer dir no metadata knows: reported (with
# its size) and kept, removed only with --remove-orphans.
st_sc_orphan() {
	st_new "$1" || return
	st_views "$S/views.0"
	_id=$(st_add_orphan "$ST")
	st_same_views "$SC" "(the kernel never sees the orphan)"
	# a note: space lost, nothing broken, the exit status unchanged
	st_untouched -n
	[ "$FSCK_RC" -eq 0 ] || rp_bad "exit $FSCK_RC, not 0"
	grep -qF "SR_LAYER_ORPHAN store:/$DRV/$_id:" "$S/fsck.out" || rp_bad "no SR_LAYER_ORPHAN line"
	rp_done "$SC: --store -n notes SR_LAYER_ORPHAN store:/$DRV/$_id with its size, exit 0"
	st_fsck_rc "$SC" 0 -y
	_bad=
	[ -d "$ST/$DRV/$_id/diff/usr/share/big" ] || rp_bad "-y removed the orphan"
	rp_done "$SC: -y without --remove-orphans keeps the orphan"
	st_fsck_rc "$SC" 1 --remove-orphans -y
	_bad=
	rp_absent "$ST/$DRV/$_id"
	rp_done "$SC: --remove-orphans -y removed it"
	st_fsck_rc "$SC" 0 -n
	st_same_views "$SC" "the orphan"
}

# web's rw layer lost its work dir: the kernel refuses the upper.
st_sc_work_missing() {
	st_new "$1" || return
	st_views "$S/views.0"
	_id=$(store_id "$ST" rw.web)
	st_rm_work "$ST" "$_id"
	st_mount_fails "$SC" web ENOENT
	st_fsck_fixes "$SC" SR_WORK_MISSING "/$DRV/$_id/work"
	st_same_views "$SC" "the damage"
}

# A full disk cut the engine's metadata: Docker's layerdb cache-id of base
# layer 2 (the engine's regex refuses it: "layer does not exist"), or
# containers-storage's layers.json (no longer JSON).  The layers are
# intact: the kernel still mounts them.
st_sc_meta_bad() {
	st_new "$1" || return
	st_views "$S/views.0"
	_f=$(st_truncate_meta "$ST" base2)
	_bad=
	if [ "$1" = docker ]; then
		grep -Eq '^[a-f0-9]{64}(-init)?$' "$ST$_f" && rp_bad "cache-id still valid"
	else
		perl -MJSON::PP -e 'local $/; open(my $f, "<", $ARGV[0]) or exit 0;
			exit(eval { decode_json(<$f>); 1 } ? 1 : 0)' "$ST$_f" ||
			rp_bad "layers.json still parses"
	fi
	rp_done "$SC: the engine can no longer read $_f"
	st_same_views "$SC" "(the layers are intact)"
	st_fsck_reports "$SC" SR_META_BAD "$_f"
	st_fsck_rc "$SC" 4 -y
}

# The store restored from a backup to another disk: every origin the
# kernel recorded at copy-up is stale.  The engines mount with index=off,
# so the kernel ignores them and shows the same view; the check re-bases
# them as for any stack.
st_sc_restored() {
	st_new "$1" || return
	st_views "$S/views.0"
	st_restore "$ST" "$S/restored"
	ST=$S/restored
	st_same_views "$SC" "the restore (index=off ignores stale origins)"
	run_fsck --store "$ST" -n
	_bad=
	[ "$FSCK_RC" -eq 4 ] || rp_bad "exit $FSCK_RC, not 4"
	grep -q '^OR_STALE ' "$S/fsck.out" || rp_bad "no OR_STALE line"
	rp_done "$SC: --store -n reports the stale origins, exit 4"
	st_fsck_rc "$SC" 1 -y
	st_fsck_rc "$SC" 0 -n
	st_same_views "$SC" "the repair"
}

# ---- the store as a whole: crash, undo, a running engine, --json ----

# st_damage_many: three fixes of three kinds (a link, a link file, a lower
# file) so that a repair makes several changes
st_damage_many() {
	_b2=$(store_id "$ST" layer.base2)
	_rw=$(store_id "$ST" rw.web)
	st_rm_link "$ST" "$_b2"
	st_rm_linkfile "$ST" "$(store_id "$ST" layer.app1)"
	st_empty_lower "$ST" "$_rw"
}

# A repair killed at every change, before and after it: the next -y
# finishes, -n is then clean and both containers show their old views.
st_sc_crash() {
	st_new "$1" || return
	st_views "$S/views.0"
	st_damage_many
	_bad=
	_k=1
	while [ $_k -le 5 ]; do
		for _after in "" 1; do
			FSCK_RC=0
			OVL_FAULT_WRITE=$_k OVL_FAULT_AFTER=$_after timeout 60 "$FSCK" --store "$ST" \
				-y > "$S/crash.out" 2>&1 || FSCK_RC=$?
			# the store's 3 changes are each killed (SIGKILL: 137)
			[ $_k -gt 3 ] || [ "$FSCK_RC" -eq 137 ] ||
				rp_bad "a kill at change $_k${_after:+ (after)} did not happen: exit $FSCK_RC"
			run_fsck --store "$ST" -y
			[ "$FSCK_RC" -le 1 ] || rp_bad "after a kill at change $_k${_after:+ (after)}: -y exits $FSCK_RC"
			run_fsck --store "$ST" -n
			[ "$FSCK_RC" -eq 0 ] || rp_bad "after a kill at change $_k${_after:+ (after)}: -n exits $FSCK_RC"
			st_damage_many		# again, for the next kill point
		done
		_k=$((_k + 1))
	done
	rp_done "$SC: -y killed at each of its changes, before and after: the next -y converges"
	run_fsck --store "$ST" -y
	st_same_views "$SC" "the damage"
}

# st_book FILE: the store's bookkeeping as it stands: every entry's name,
# type, mode, size and link target, and the link and lower files' text
# (not the times: undoing is a change too)
st_book() {
	(cd "$ST" && find . -printf '%p %y %m %s %l\n' | sort &&
		find "$DRV" -maxdepth 2 \( -name link -o -name lower \) -type f -print \
			-exec cat {} \; -exec echo \;) > "$1"
}

# -p: the store's fixes are all safe unasked (the orphans' is not).
st_sc_preen() {
	st_new "$1" || return
	st_views "$S/views.0"
	st_damage_many
	st_add_orphan "$ST" > /dev/null
	run_fsck --store "$ST" -p
	_bad=
	[ "$FSCK_RC" -eq 1 ] || rp_bad "-p exits $FSCK_RC, not 1"
	grep -q "^SR_LAYER_ORPHAN " "$S/fsck.out" || rp_bad "-p does not note the orphan"
	run_fsck --store "$ST" -n
	[ "$FSCK_RC" -eq 0 ] && [ "$(grep -c '^SR_' "$S/fsck.out")" -eq 1 ] ||
		rp_bad "after -p: exit $FSCK_RC, $(grep '^SR_' "$S/fsck.out" | cut -d' ' -f1 | tr '\n' ' ')"
	rp_done "$SC: -p fixes links, link and lower files unasked; the orphan stays a note"
	_bad=
	run_fsck --store "$ST" -p --remove-orphans
	[ "$FSCK_RC" -eq 1 ] || rp_bad "-p --remove-orphans exits $FSCK_RC, not 1"
	run_fsck --store "$ST" -n
	[ "$FSCK_RC" -eq 0 ] && ! grep -q '^SR_' "$S/fsck.out" ||
		rp_bad "-p --remove-orphans left: $(grep '^SR_' "$S/fsck.out")"
	rp_done "$SC: -p --remove-orphans removes the orphan unasked"
	st_same_views "$SC" "the damage"
}

# A name in the metadata with a terminal escape in it: the header lines
# show it escaped, as problem lines show paths.
st_sc_names() {
	st_new "$1" || return
	_c=$(store_id "$ST" ctr.db)
	if [ "$1" = docker ]; then
		sed -i 's|"Name":"/db"|"Name":"/d\\u001b[31mb"|' "$ST/containers/$_c/config.v2.json"
	else
		sed -i 's|"names":\["db"\]|"names":["d\\u001b[31mb"]|' \
			"$ST/overlay-containers/containers.json"
	fi
	run_fsck --store "$ST" -n
	_bad=
	[ "$FSCK_RC" -eq 0 ] || rp_bad "exit $FSCK_RC"
	grep -qF 'container d\x1b[31mb (' "$S/fsck.out" || rp_bad "no escaped header line"
	grep -q "$(printf '\033')" "$S/fsck.out" && rp_bad "a raw escape byte reached the output"
	rp_done "$SC: names from the metadata are escaped in the header lines"
}

# --undo JOURNAL --store DIR puts back exactly the damaged store.
st_sc_undo() {
	st_new "$1" || return
	st_damage_many
	st_book "$S/book.damaged"
	run_fsck --store "$ST" -y
	_j=$(sed -n 's/^undo journal: //p' "$S/fsck.out" | head -n 1)
	_bad=
	[ "$FSCK_RC" -eq 1 ] || rp_bad "-y exits $FSCK_RC"
	[ -f "$_j" ] || rp_bad "no undo journal named"
	run_fsck --undo "$_j" --store "$ST"
	[ "$FSCK_RC" -eq 0 ] || rp_bad "--undo exits $FSCK_RC: $(cat "$S/fsck.err")"
	rm -f "$ST"/overlay-fsck-undo.*
	st_book "$S/book.undone"
	cmp -s "$S/book.damaged" "$S/book.undone" ||
		rp_bad "the store after --undo is not the damaged one: $(diff "$S/book.damaged" "$S/book.undone" | head -4)"
	rp_done "$SC: --undo JOURNAL --store rolls the store's fixes back"
}

# While a container of the store is mounted (the engine runs), nothing is
# written: -y exits 8 and names the mount; -n still checks.
st_sc_running() {
	st_new "$1" || return
	store_mount_container "$ST" db "$M" > "$S/mount.err" 2>&1 ||
		{ not_ok "$SC: mounting db"; diag "$(cat "$S/mount.err")"; return; }
	st_damage_many
	st_untouched -y
	[ "$FSCK_RC" -eq 8 ] || rp_bad "-y exits $FSCK_RC, not 8"
	grep -q "mounted on $M.*refusing" "$S/fsck.err" || rp_bad "no refusal naming $M"
	run_fsck --store "$ST" -n
	[ "$FSCK_RC" -eq 4 ] && grep -q "^SR_LINK_MISSING " "$S/fsck.out" ||
		rp_bad "-n while mounted: exit $FSCK_RC"
	store_umount "$M"
	rp_done "$SC: nothing is written while a container is mounted; -n still checks"
}

# --json: one document, the bookkeeping and every unit a record with its
# kind, name and id; the damage with fixed false, then true with -y.
st_sc_json() {
	st_new "$1" || return
	st_damage_many
	_bad=
	FSCK_RC=0
	"$FSCK" --store "$ST" -n --json > "$S/n.json" 2> "$S/fsck.err" || FSCK_RC=$?
	[ "$FSCK_RC" -eq 4 ] || rp_bad "-n --json exits $FSCK_RC"
	jq -e '.exit_code == 4 and .stacks[0].kind == "store" and
	       ([.stacks[0].problems[].code] | sort) ==
	       ["SR_LINKFILE_MISSING", "SR_LINK_MISSING", "SR_LOWER_BAD"] and
	       ([.stacks[0].problems[].fixed] | all | not) and
	       ([.stacks[] | select(.kind == "container") | .name] | sort) == ["db", "web"] and
	       ([.stacks[] | select(.kind == "layer")] | length) >= 3' "$S/n.json" > /dev/null ||
		rp_bad "-n --json: $(head -c 400 "$S/n.json")"
	FSCK_RC=0
	"$FSCK" --store "$ST" -y --json > "$S/y.json" 2> "$S/fsck.err" || FSCK_RC=$?
	jq -e '.exit_code == 1 and ([.stacks[0].problems[].fixed] | all)' "$S/y.json" > /dev/null ||
		rp_bad "-y --json (exit $FSCK_RC): $(head -c 400 "$S/y.json")"
	rp_done "$SC: --json gives the store's problems and each unit by kind and name"
}

# ---- -j N: the units side by side ----

st_notime() {
	sed 's/[0-9]\{8\}T[0-9]\{6\}Z/TIME/g'
}

# st_jobs_run PREFIX ARGS...: fsck.overlay --store $ST ARGS; stdout,
# stderr and the exit code in PREFIX.out, .err, .rc (journal and
# quarantine times as TIME: they are the clock's, not the order's)
st_jobs_run() {
	_p=$1
	shift
	_rc=0
	timeout 60 "$FSCK" --store "$ST" "$@" > "$_p.raw" 2> "$_p.rawerr" || _rc=$?
	st_notime < "$_p.raw" > "$_p.out"
	st_notime < "$_p.rawerr" > "$_p.err"
	echo "$_rc" > "$_p.rc"
}

# st_jobs_same A B WHAT: the runs A and B printed the same, byte for byte
st_jobs_same() {
	for _x in out err rc; do
		cmp -s "$1.$_x" "$2.$_x" && continue
		rp_bad "$3: its std$_x differs from -j 1's"
		diag "$(diff "$1.$_x" "$2.$_x" | head -6)"
	done
}

# st_jobs_n_same DIR: --store DIR -n and -n --json with -j 2 and -j 4
# print what -j 1 prints, three runs each; _bad says where not
st_jobs_n_same() {
	_sst=$ST
	ST=$1
	for _f in "" --json; do
		st_jobs_run "$S/n1$_f" -n -j 1 $_f
		for _r in 1 2 3; do
			for _j in 2 4; do
				st_jobs_run "$S/n$_j$_f" -n -j $_j $_f
				st_jobs_same "$S/n1$_f" "$S/n$_j$_f" "-n -j $_j $_f (run $_r)"
			done
		done
	done
	ST=$_sst
}

# st_fs_mount IMG: a copy of the store's filesystem on $S/fs
st_fs_mount() {
	_lo=$(losetup -f --show "$1") || return 1
	KT_LOOPS="$_lo $KT_LOOPS"
	mount "$_lo" "$S/fs"
}

st_fs_umount() {
	_lo=$(findmnt -n -o SOURCE "$S/fs")
	if ! umount "$S/fs" 2> "$S/umount.err"; then
		rp_bad "umount $S/fs: $(cat "$S/umount.err"; fuser -vm "$S/fs" 2>&1 | tail -3)"
		return 1
	fi
	losetup -d "$_lo"
}

# st_state FILE: the store as a repair left it: every entry (no times)
# and xattr, every journal's records (not its L lines: another loop
# device is another st_dev)
st_state() {
	(cd "$ST" && {
		find . ! -name 'overlay-fsck-undo.*' -printf '%p %y %m %U:%G %s %l\n'
		getfattr -R -d -m - -e hex -h . 2>/dev/null
		for _jn in overlay-fsck-undo.*; do
			[ -f "$_jn" ] && grep -v '^L ' "$_jn" | sed "s|^|$_jn |"
		done
	}) | st_notime | LC_ALL=C sort > "$1"
}

# st_jobs_y IMG PREFIX ARGS...: on a copy of the filesystem, --store -y
# ARGS; the store's state after in PREFIX.state; -n after must exit 0
st_jobs_y() {
	_img=$1 _pre=$2
	shift 2
	st_fs_mount "$_img" || { rp_bad "cannot mount $_img"; return 1; }
	st_jobs_run "$_pre" -y "$@"
	st_state "$_pre.state"
	run_fsck --store "$ST" -n
	[ "$FSCK_RC" -eq 0 ] || rp_bad "-n after -y $* exits $FSCK_RC"
	st_fs_umount
}

# -j N: units side by side print what -j 1 prints, byte for byte (text,
# --json, stderr, exit code), run after run; -C lines come one unit after
# the other; -y on identical copies of the store's filesystem (the same
# inodes: the same handles) makes the same fixes and journals, though a
# fixed base layer makes the units over it check again; a unit killed
# mid-repair is told, the others finish, and the next -y converges.
st_sc_jobs() {
	stack_new "$SC"
	DRV=$(if [ "$1" = docker ]; then echo overlay2; else echo overlay; fi)
	if ! loop_fs ext4 "$S/fs"; then
		skip "$SC" "needs mkfs.ext4 and a loop device"
		return
	fi
	ST=$S/fs/store
	setup "${1}_store $ST" || return
	# fixes at every level: the bookkeeping, a base layer every other
	# unit stands on, each container
	st_damage_many
	mknod "$ST/$DRV/$(store_id "$ST" layer.base2)/diff/ghost" c 0 0
	for _c in web db; do
		mknod "$ST/$DRV/$(store_id "$ST" "rw.$_c")/diff/ghost-$_c" c 0 0
	done
	_bad=
	st_jobs_n_same "$ST"
	[ "$(cat "$S/n1.rc")" -eq 4 ] || rp_bad "-n -j 1 exits $(cat "$S/n1.rc"), not 4"
	[ "$(grep -c '^WH_ORPHAN ' "$S/n1.out")" -eq 3 ] || rp_bad "not 3 WH_ORPHAN lines"
	rp_done "$SC: -n and -n --json with -j 2 and -j 4 print what -j 1 prints, run after run"

	# -C: one line stream, each unit's passes after the previous unit's
	_bad=
	sed -n 's/^\(layer\|container\) \(.*\) ([^)]*):$/\2/p' "$S/n1.out" > "$S/units"
	for _j in 1 4; do
		"$FSCK" --store "$ST" -n -j $_j -C 3 3> "$S/prog$_j" > /dev/null 2>&1
		grep -Ev '^[0-9]+ [0-9]+ [0-9]+ .' "$S/prog$_j" | head -n 1 | grep -q . &&
			rp_bad "-j $_j: a progress line is not \"PASS CUR MAX NAME\""
		cut -d' ' -f4- "$S/prog$_j" | uniq > "$S/prog$_j.units"
		cmp -s "$S/units" "$S/prog$_j.units" ||
			rp_bad "-j $_j: the progress lines' units: $(tr '\n' '|' < "$S/prog$_j.units")"
	done
	rp_done "$SC: -C 3 with -j 4: one stream of lines, the units one after the other"

	# -y on copies of the filesystem: -j 1, -j 4 twice
	_bad=
	st_fs_umount
	# on the disk first: cp finds the image's data by SEEK_DATA
	sync "$S/ext4.img"
	for _c in b c d; do
		cp --sparse=always "$S/ext4.img" "$S/$_c.img"
	done
	st_jobs_y "$S/ext4.img" "$S/y1" -j 1
	[ "$(cat "$S/y1.rc")" -eq 1 ] || rp_bad "-y -j 1 exits $(cat "$S/y1.rc"), not 1"
	[ "$(grep -c '^undo journal: ' "$S/y1.out")" -eq 4 ] ||
		rp_bad "not 4 journals (the store, base layer 2, web, db)"
	for _c in b c; do
		st_jobs_y "$S/$_c.img" "$S/y4$_c" -j 4
		st_jobs_same "$S/y1" "$S/y4$_c" "-y -j 4 (copy $_c)"
		cmp -s "$S/y1.state" "$S/y4$_c.state" ||
			rp_bad "-y -j 4 (copy $_c) left another store: $(diff "$S/y1.state" "$S/y4$_c.state" | head -4)"
	done
	rp_done "$SC: -y -j 4 on copies prints what -y -j 1 prints and leaves the same store and journals"

	# a unit killed at its first change: told as such, exit 8, and
	# the next -y converges
	_bad=
	st_fs_mount "$S/d.img" || rp_bad "cannot mount d.img"
	# the store's own 3 changes come first, in this process: the 4th
	# is each writing unit's first
	_rc=0
	OVL_FAULT_WRITE=4 timeout 60 "$FSCK" --store "$ST" -y -j 4 > "$S/kill.out" \
		2> "$S/kill.err" || _rc=$?
	[ $((_rc & 8)) -eq 8 ] || rp_bad "a killed unit: exit $_rc"
	[ "$(grep -c 'the check was ended by signal 9$' "$S/kill.err")" -eq 3 ] ||
		rp_bad "not 3 units told killed: $(cat "$S/kill.err")"
	run_fsck --store "$ST" -y -j 4
	[ "$FSCK_RC" -le 1 ] || rp_bad "-y after the kills exits $FSCK_RC"
	run_fsck --store "$ST" -n -j 4
	[ "$FSCK_RC" -eq 0 ] || rp_bad "-n after that exits $FSCK_RC"
	st_fs_umount
	rp_done "$SC: with -j 4, units killed at their first change are told (exit 8); the next -y converges"
}

for _l in docker podman; do
	for _d in crash undo running json preen names jobs; do
		scenario "store_${_l}_$_d"
		eval "sc_store_${_l}_$_d() { st_sc_$_d $_l; }"
	done
done

for _l in docker podman; do
	for _d in clean link_missing link_wrong link_dangling lower_empty \
		  linkfile_missing layer_missing orphan work_missing meta_bad restored; do
		scenario "store_${_l}_$_d"
		eval "sc_store_${_l}_$_d() { st_sc_$_d $_l; }"
	done
done
