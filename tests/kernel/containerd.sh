# containerd's overlayfs snapshotter as a store (issue 14): a private
# containerd (Debian's 1.6) with its own root, state dir and socket
# imports a two-layer OCI image made here offline (engine.sh's busybox
# rootfs, and a layer over it), runs a container that writes
# (engine.sh's script), makes a view and a bare prepared snapshot; then
# fsck.overlay --store ROOT: clean, refused while containerd runs, and
# each damage -- the container snapshot's work dir removed (fixed by -y,
# containerd runs the container again), an orphan snapshot dir (removed
# with --remove-orphans), a parent missing in the snapshotter's metadata
# and a snapshot dir removed (reported only; containerd is shown failing).
# --verify-content has nothing to compare: containerd keeps no tar-split.
# Uses engine.sh's helpers (eng_prepare, eng_fsck, eng_rundir_*); without
# containerd and ctr, or when containerd cannot run a container here: one
# "# SKIP" line.

CD_IMAGE=docker.io/library/fsck-cd:1
CD_PID=

# cd_oci OUT LAYERDIR...: an OCI image archive of uncompressed layers,
# named $CD_IMAGE (annotation io.containerd.image.name).
cd_oci() {
	_out=$1
	shift
	_w=$S/oci
	rm -rf "$_w"
	mkdir -p "$_w/blobs/sha256"
	_diffs= _layers=
	for _d in "$@"; do
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
			-C "$_d" -cf "$_w/l.tar" . || return 1
		_h=$(sha256sum "$_w/l.tar" | cut -d' ' -f1)
		_s=$(stat -c %s "$_w/l.tar")
		mv "$_w/l.tar" "$_w/blobs/sha256/$_h"
		_diffs="$_diffs${_diffs:+,}\"sha256:$_h\""
		_layers="$_layers${_layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$_h\",\"size\":$_s}"
	done
	cd_blob() {	# cd_blob FILE: moved into blobs/, "sha256:H",SIZE in _blob
		_h=$(sha256sum "$1" | cut -d' ' -f1)
		_blob="\"digest\":\"sha256:$_h\",\"size\":$(stat -c %s "$1")"
		mv "$1" "$_w/blobs/sha256/$_h"
	}
	printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$CD_ARCH" "$_diffs" > "$_w/c"
	cd_blob "$_w/c"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json",%s},"layers":[%s]}' \
		"$_blob" "$_layers" > "$_w/m"
	cd_blob "$_w/m"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",%s,"annotations":{"io.containerd.image.name":"%s"}}]}' \
		"$_blob" "$CD_IMAGE" > "$_w/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' > "$_w/oci-layout"
	tar -C "$_w" -cf "$_out" oci-layout index.json blobs
}

# cd_start: containerd on $ENG_RUNDIR/c.sock; fails (log in eng.out)
# when it does not answer within 20 s.
cd_start() {
	containerd --config "$S/config.toml" >> "$S/containerd.log" 2>&1 &
	CD_PID=$!
	eng_daemon_up "$CD_PID" "$ENG_RUNDIR/c.sock" "$S/containerd.log" && return 0
	cd_stop
	return 1
}

# cd_stop: SIGTERM, SIGKILL after 20 s (the exit hook calls it too).
cd_stop() {
	eng_daemon_kill "$CD_PID"
	CD_PID=
}
# before engine.sh's eng_rundir_rm: containerd first, then its dirs
KT_EXIT_HOOKS="cd_stop $KT_EXIT_HOOKS"

# cd_runs NAME: one TAP line: containerd starts the container again and it
# sees its files as it left them; containerd stopped after.
cd_runs() {
	if cd_start; then
		eng task start "$ENG_NAME"
		cd_stop
	else
		ENG_RC=99
	fi
	if [ "$ENG_RC" -eq 0 ] && [ "$(tail -1 "$S/eng.out")" = "$ENG_SEES" ]; then
		ok "$SC: $1"
		return 0
	fi
	not_ok "$SC: $1"
	diag "exit $ENG_RC: $(tail -3 "$S/eng.out")"
	return 1
}

# cd_fails NAME: one TAP line: containerd cannot start the container
# (its message as a comment).
cd_fails() {
	if cd_start; then
		eng task start "$ENG_NAME"
		cd_stop
	fi
	eng_refused "$1"
}

# cd_expect CODE PATTERN: in the last fsck output, a CODE line matching PATTERN
cd_expect() {
	grep -q "^$1 store:$2" "$S/fsck.out" || rp_bad "no $1 line matching $2"
}

scenario engine_containerd
sc_engine_containerd() {
	eng_prepare containerd ctr runc || return 0
	case $(uname -m) in
	x86_64) CD_ARCH=amd64 ;;
	aarch64) CD_ARCH=arm64 ;;
	*) skip "$SC" "no image architecture for $(uname -m)"; return 0 ;;
	esac
	ENG_ROOT=$S/croot
	eng_rundir_new || return 0
	_snaps=$ENG_ROOT/io.containerd.snapshotter.v1.overlayfs/snapshots
	_sdb=$ENG_ROOT/io.containerd.snapshotter.v1.overlayfs/metadata.db
	# private and offline: no CRI (it wants CNI), nothing of the host's;
	# the garbage collector put off for an hour: `ctr snapshots view`
	# labels no gc root, and the collection that the end of `ctr run` (its
	# lease deleted) schedules would remove the view before it is checked
	cat > "$S/config.toml" <<-EOF
	version = 2
	root = "$ENG_ROOT"
	state = "$ENG_RUNDIR/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri"]
	[plugins."io.containerd.gc.v1.scheduler"]
	  schedule_delay = "1h"
	  startup_delay = "1h"
	[grpc]
	  address = "$ENG_RUNDIR/c.sock"
	[ttrpc]
	  address = "$ENG_RUNDIR/c.sock.ttrpc"
	[debug]
	  address = "$ENG_RUNDIR/debug.sock"
	EOF
	ENG="ctr --address $ENG_RUNDIR/c.sock"
	mkdir -p "$S/layer2/data"
	echo two > "$S/layer2/data/two"
	if ! cd_oci "$S/image.tar" "$S/rootfs" "$S/layer2"; then
		not_ok "$SC: making the OCI image"
		eng_rundir_rm
		return 0
	fi
	if ! cd_start; then
		skip "$SC" "containerd cannot run here: $(tail -1 "$S/eng.out")"
		eng_rundir_rm
		return 0
	fi
	cd_flow
	cd_stop
	eng_rundir_rm
	return 0
}

cd_flow() {
	# 1. import, a container that writes, a view, a bare prepared snapshot
	eng images import "$S/image.tar"
	if [ "$ENG_RC" -ne 0 ]; then
		skip "$SC" "containerd cannot import the image: $(tail -1 "$S/eng.out")"
		return
	fi
	eng run "$CD_IMAGE" "$ENG_NAME" /bin/sh -c "$ENG_SCRIPT"
	if [ "$ENG_RC" -ne 0 ] || [ "$(tail -1 "$S/eng.out")" != first ]; then
		skip "$SC" "containerd cannot run a container here: $(tail -1 "$S/eng.out")"
		return
	fi
	eng snapshots ls
	_top=$(awk 'NF == 3 && $3 == "Committed" { print $1 }' "$S/eng.out")
	_base=$(awk 'NF == 2 && $2 == "Committed" { print $1 }' "$S/eng.out")
	_bad=
	[ -n "$_top" ] && [ -n "$_base" ] || rp_bad "no two committed snapshots: $(cat "$S/eng.out")"
	eng snapshots view fsck-view "$_top"
	[ "$ENG_RC" -eq 0 ] || rp_bad "ctr snapshots view: $(tail -1 "$S/eng.out")"
	eng snapshots prepare fsck-bare "$_base"
	[ "$ENG_RC" -eq 0 ] || rp_bad "ctr snapshots prepare: $(tail -1 "$S/eng.out")"
	eng snapshots ls
	grep -q '^fsck-view .* View' "$S/eng.out" && grep -q '^fsck-bare .* Active' "$S/eng.out" ||
		rp_bad "no view and prepared snapshot: $(cat "$S/eng.out")"
	rp_done "$SC: containerd imports a 2-layer image, runs a container that writes, makes a view and a snapshot" || return
	eng task start "$ENG_NAME"
	_bad=
	[ "$ENG_RC" -eq 0 ] && [ "$(tail -1 "$S/eng.out")" = "$ENG_SEES" ] ||
		rp_bad "restarted: $(tail -2 "$S/eng.out")"
	rp_done "$SC: restarted, the container sees its files" || return

	# 2. refused while containerd runs (nothing mounted: its lock tells)
	_bad=
	eng_fsck "-y while containerd runs: refused, exit 8, nothing changed" 8 -y
	_bad=
	grep -q "locked by containerd" "$S/fsck.err" || rp_bad "no word of containerd's lock"
	rp_done "$SC: the refusal names containerd's lock"
	cd_stop

	# 3. clean, every snapshot of a kind checked its way
	_bad=
	eng_fsck "-n exits 0 on containerd's store, writes nothing" 0 -n
	_bad=
	for _l in "^store .* (containerd overlayfs): 5 layers, 1 images, 2 containers" \
		"^layer $CD_IMAGE layer 1/2 " "^layer $CD_IMAGE layer 2/2 " \
		"^used by image $CD_IMAGE, container $ENG_NAME" \
		"^container $ENG_NAME ($ENG_NAME):" "^container snapshot fsck-bare "; do
		grep -q "$_l" "$S/fsck.out" || rp_bad "no line '$_l'"
	done
	[ "$(grep -c '^layer ' "$S/fsck.out")" -eq 2 ] || rp_bad "not each layer once"
	rp_done "$SC: each layer once, the container and the bare snapshot, by their names"
	_bad=
	eng_fsck "--verify-content: nothing to compare, exit 0, writes nothing" 0 -n --verify-content
	_bad=
	[ "$(grep -c '^CT_NO_RECORD store:/.*/fs: .*containerd keeps no tar-split' "$S/fsck.out")" -eq 2 ] ||
		rp_bad "not one CT_NO_RECORD per layer saying containerd keeps none"
	rp_done "$SC: --verify-content says, per layer, that containerd keeps no record"
	_cdir=$(ls -d "$_snaps"/*/work | while read -r _d; do
		_d=${_d%/work}; [ -e "$_d/fs/data/new" ] && echo "$_d"; done)
	_bdir=$(ls -d "$_snaps"/* | while read -r _d; do
		[ -x "$_d/fs/bin/busybox" ] && echo "$_d"; done)
	[ -n "$_cdir" ] && [ -n "$_bdir" ] || { not_ok "$SC: finding the snapshot dirs"; return; }

	# 4. the container snapshot's work dir removed: containerd fails; -y
	# makes it again and containerd runs the container
	rm -rf "$_cdir/work"
	cd_fails "work dir removed: containerd cannot start the container"
	_bad=
	eng_fsck "work dir removed: -n exit 4, writes nothing" 4 -n
	_bad=
	cd_expect SR_WORK_MISSING ".*/snapshots/${_cdir##*/}/work: .*container $ENG_NAME"
	rp_done "$SC: -n names SR_WORK_MISSING of container $ENG_NAME"
	_bad=
	run_fsck --store "$ENG_ROOT" -y
	[ "$FSCK_RC" -eq 1 ] || rp_bad "-y: exit $FSCK_RC, not 1"
	[ -d "$_cdir/work" ] || rp_bad "work dir not made"
	rp_done "$SC: -y makes the work dir, exit 1" &&
		eng_fsck "-n exits 0 after the repair" 0 -n
	cd_runs "repaired: containerd starts the container, it sees its files"

	# 5. an orphan snapshot dir: a NOTE with its size; removed on request
	mkdir -p "$_snaps/77/fs/data" "$_snaps/77/work"
	head -c 100000 /dev/zero > "$_snaps/77/fs/data/big"
	_bad=
	eng_fsck "orphan dir: -n exit 0 (a note), writes nothing" 0 -n
	_bad=
	cd_expect SR_LAYER_ORPHAN ".*/snapshots/77: .*(1[0-9][0-9][0-9][0-9][0-9] bytes)"
	rp_done "$SC: -n names the orphan with its size"
	_bad=
	run_fsck --store "$ENG_ROOT" -y --remove-orphans
	[ "$FSCK_RC" -le 1 ] || rp_bad "-y --remove-orphans: exit $FSCK_RC"
	[ ! -e "$_snaps/77" ] || rp_bad "the orphan is still there"
	rp_done "$SC: -y --remove-orphans removes it"

	# 6. a parent missing in the snapshotter's metadata (the container's
	# parent key cut by one byte, as a bad restore leaves it): reported only
	cp "$_sdb" "$S/metadata.db.keep"
	_k=${_top#sha256:}
	perl -0777 -pi -e 's{(parent[a-z0-9.-]+/\d+/sha256:'"$_k"')}{substr($1, 0, -1) . (substr($1, -1) eq "0" ? "1" : "0")}ge' "$_sdb"
	cd_fails "parent key damaged: containerd cannot start the container"
	_bad=
	eng_fsck "parent missing: -n exit 4, writes nothing" 4 -n
	_bad=
	cd_expect SR_PARENT_MISSING ".*/snapshots/${_cdir##*/}: .*: container $ENG_NAME: parent "
	grep -q "^container $ENG_NAME (" "$S/fsck.out" && rp_bad "the container was checked over no parent"
	rp_done "$SC: -n names SR_PARENT_MISSING, the container is not checked"
	_bad=
	eng_fsck "parent missing: -y changes nothing, exit 4" 4 -y
	cp "$S/metadata.db.keep" "$_sdb"

	# 7. the base layer's dir removed: reported only, with who uses it
	mv "$_bdir" "$S/base.keep"
	cd_fails "base snapshot dir removed: containerd cannot start the container"
	_bad=
	eng_fsck "snapshot dir removed: -n exit 4, writes nothing" 4 -n
	_bad=
	cd_expect SR_LAYER_MISSING ".*/snapshots/${_bdir##*/}: .*image $CD_IMAGE, container $ENG_NAME"
	rp_done "$SC: -n names SR_LAYER_MISSING with the image and the container"
	mv "$S/base.keep" "$_bdir"
	eng_fsck "restored: -n exits 0" 0 -n
	cd_runs "restored: containerd starts the container again"
}
