# --verify-content against the engines' own records (issue 14): podman
# and a private dockerd import an image offline (engine.sh's busybox
# rootfs) and create a container from it; their stores then hold the
# image layer's tar-split record and diff digest as the engines wrote
# them.  A clean store verifies clean; then, one at a time, a byte
# flipped in a layer file, a file truncated, a file zero-filled at its
# size, a file removed and a file added: each found by -n and by -y with
# its code, the file, the image and the container, exit 4, and the store
# byte for byte as it was (-y changes nothing: the bytes cannot be
# restored from the store).  Uses engine.sh's helpers (eng_fsck: the exit
# code and the store byte for byte); an engine missing or unable to
# import: one "# SKIP" line.

# ct_damage NAME CODE FILE CMD: CMD damages FILE of the image layer (a
# path below its diff dir); -n and -y must each report CODE on it, naming
# the image and the container, with the engine's pull command; then the
# layer is restored from the copy made before.
ct_damage() {
	_name=$1 _code=$2 _file=$3 _cmd=$4
	rm -rf "$S/ct.keep"
	cp -a "$IL/diff" "$S/ct.keep"
	( cd "$IL/diff" && eval "$_cmd" )
	for _mode in -n -y; do
		_bad=
		eng_fsck "$_name: $_code with $_mode, exit 4, the store unchanged" 4 \
			--verify-content "$_mode"
		_bad=
		grep -q "^$_code store:/$ENG_DRIVER_REL/$_iid/diff/$_file: .*used by image $CT_IMAGE, container $ENG_NAME" \
			"$S/fsck.out" || rp_bad "no $_code line for $_file naming the image and container"
		grep -q "^CT_DIGEST store:/$ENG_DRIVER_REL/$_iid/diff: " "$S/fsck.out" ||
			[ "$_code" = CT_EXTRA ] || rp_bad "no CT_DIGEST line"
		grep -q "$CT_CLI pull $CT_IMAGE" "$S/fsck.out" || rp_bad "no '$CT_CLI pull' advice"
		rp_done "$SC: $_name: $_mode names $_file, its image and container"
	done
	rm -rf "$IL/diff"
	mv "$S/ct.keep" "$IL/diff"
}

# ct_flow: the engine runs ($ENG, $ENG_ROOT, $ENG_DRIVER set).
ct_flow() {
	eng import "$S/rootfs.tar" "$ENG_IMAGE"
	if [ "$ENG_RC" -ne 0 ]; then
		skip "$SC" "the engine cannot import an image: $(tail -1 "$S/eng.out")"
		return 1
	fi
	eng create --name "$ENG_NAME" --network none $ENG_CREATE_OPTS \
		"$ENG_IMAGE" /bin/sh -c true
	if [ "$ENG_RC" -ne 0 ] || ! eng_layers; then
		not_ok "$SC: the engine creates a container: $(tail -1 "$S/eng.out")"
		return 1
	fi
	_iid=${IL##*/}
	return 0
}

# ct_checks: the store as the engine left it (engine stopped), then each damage.
ct_checks() {
	_bad=
	eng_fsck "a clean store verifies clean with -n, exit 0" 0 --verify-content -n
	_bad=
	grep -q "^content of layer .*($_iid):" "$S/fsck.out" || rp_bad "no content line for $_iid"
	grep -q "bytes rebuilt: the diff digest matches" "$S/fsck.out" ||
		rp_bad "the digest is not said to match"
	grep -q "^CT_" "$S/fsck.out" && rp_bad "a CT_ line on a clean store"
	rp_done "$SC: the image layer's record read, its digest matches"

	ct_damage "one byte flipped" CT_DATA bin/busybox \
		"printf 'X' | dd of=bin/busybox bs=1 seek=4097 conv=notrunc 2>/dev/null"
	ct_damage "a file truncated" CT_SIZE data/keep "truncate -s 2 data/keep"
	ct_damage "a file zero-filled at its size" CT_DATA data/keep \
		"dd if=/dev/zero of=data/keep bs=\$(stat -c %s data/keep) count=1 conv=notrunc 2>/dev/null"
	ct_damage "a file removed" CT_MISSING data/del "rm data/del"
	ct_damage "a file added" CT_EXTRA data/added "echo x > data/added"

	# --json carries the problems, the users and the advice
	cp -a "$IL/diff/data/keep" "$S/ct.keep1"
	echo changed > "$IL/diff/data/keep"
	_bad=
	eng_fsck "--json -n on a damaged layer, exit 4, the store unchanged" 4 --verify-content -n --json
	_bad=
	jq -e --arg img "$CT_IMAGE" --arg c "$ENG_NAME" --arg cli "$CT_CLI" '
		[.stacks[] | select(.kind == "content")] | length == 1 and
		(.[0].used_by | contains("image " + $img) and contains("container " + $c)) and
		(.[0].remedy | contains($cli + " pull " + $img)) and
		any(.[0].problems[]; .code == "CT_SIZE" and (.path | endswith("/diff/data/keep")))' \
		"$S/fsck.out" > /dev/null || rp_bad "the JSON report lacks the CT_SIZE problem or its users"
	rp_done "$SC: --json: the content record with its problem, users and remedy"
	cp -a "$S/ct.keep1" "$IL/diff/data/keep"
	_bad=
	eng_fsck "restored, the store verifies clean again" 0 --verify-content -n
}

scenario content_podman
sc_content_podman() {
	eng_prepare podman runc || return 0
	ENG_ROOT=$S/store
	ENG_DRIVER=$ENG_ROOT/overlay
	ENG_DRIVER_REL=overlay
	eng_rundir_new || return 0
	mkdir -p "$ENG_RUNDIR/run" "$ENG_RUNDIR/tmp" "$S/net"
	printf '[storage]\ndriver = "overlay"\nrunroot = "%s"\ngraphroot = "%s"\n' \
		"$ENG_RUNDIR/run" "$ENG_ROOT" > "$S/storage.conf"
	ENG="env CONTAINERS_STORAGE_CONF=$S/storage.conf podman --root $ENG_ROOT
		--runroot $ENG_RUNDIR/run --tmpdir $ENG_RUNDIR/tmp --network-config-dir $S/net
		--storage-driver overlay --runtime runc --cgroup-manager cgroupfs
		--events-backend file"
	ENG_CREATE_OPTS=
	CT_CLI=podman
	CT_IMAGE=localhost/$ENG_IMAGE	# podman names an imported image so
	if ct_flow; then
		mountpoint -q "$ENG_DRIVER" && umount "$ENG_DRIVER"
		ct_checks
	fi
	mountpoint -q "$ENG_DRIVER" && umount "$ENG_DRIVER"
	eng_rundir_rm
	return 0
}

scenario content_docker
sc_content_docker() {
	eng_prepare dockerd docker || return 0
	_cli=/usr/bin/docker
	[ -x "$_cli" ] || _cli=$(command -v docker)
	ENG_ROOT=$S/data
	ENG_DRIVER=$ENG_ROOT/overlay2
	ENG_DRIVER_REL=overlay2
	eng_rundir_new || return 0
	mkdir -p "$ENG_RUNDIR/exec" "$S/cli"
	echo '{}' > "$S/daemon.json"
	ENG="env DOCKER_HOST=unix://$ENG_RUNDIR/docker.sock DOCKER_CONFIG=$S/cli $_cli"
	ENG_CREATE_OPTS=
	CT_CLI=docker
	CT_IMAGE=$ENG_IMAGE
	if ! eng_dockerd_start; then
		skip "$SC" "dockerd cannot run here: $(tail -1 "$S/eng.out")"
		eng_rundir_rm
		return 0
	fi
	if ct_flow; then
		eng_dockerd_stop
		ct_checks
	fi
	eng_dockerd_stop
	eng_rundir_rm
	return 0
}
