# Real container engines (issue 7): Podman and dockerd, from Debian's
# packages, make a store with their own code; fsck.overlay --store checks
# it, the store is damaged the way users report it, the engine is shown
# failing, fsck.overlay -y repairs it and the engine runs the container
# again.  The damaged store's report is the same with -j 1, 2 and 4.  Everything is offline: the image is a busybox-static rootfs
# imported with "import", the containers have no network.
#   engine_podman   podman (containers-storage, overlay driver, runc)
#   engine_docker   dockerd (overlay2), a private daemon on its own socket
#
# Each engine is private to the scenario: its root and config live under
# $S, its sockets, run and exec dirs in a short /tmp dir, and
# whatever it leaves mounted there is unmounted at the end and at exit.
# A scenario whose engine is missing or cannot run a container here
# prints one "# SKIP" line with the reason.
#
# What the engines do with this damage (podman 4.3.1, docker.io 20.10.24):
#   - a missing l/ link alone: podman puts it back by itself when it
#     mounts; dockerd refuses to start the container: "readlink
#     .../l/NAME: no such file or directory"
#   - an empty lower file of the container's layer: podman mounts the
#     layer over its "empty" dir, which a container layer does not have:
#     "creating overlay mount to .../merged ...: no such file or
#     directory"; dockerd: "readlink .../overlay2: invalid argument"
#   so both damages together stop both engines, and podman does not mend
#   the l/ link while the lower file names nothing.

ENG_IMAGE=fsck-bb:1
ENG_NAME=fsckc

# What the container does.  First start: a new file and dir, a lower file
# and a lower dir removed (whiteouts), a lower file chowned (copy-up).
# Every later start prints what it sees instead.
ENG_SCRIPT='if [ -e /data/new ]; then
echo "new=$(cat /data/new) keep=$(stat -c %u:%g /data/keep) del=$(ls /data/del 2>/dev/null || echo gone) olddir=$(ls /data/olddir 2>/dev/null || echo gone) made=$(cat /data/made/f)"
else
echo written > /data/new && rm /data/del && rm -r /data/olddir &&
chown 1000:1000 /data/keep && mkdir /data/made && echo x > /data/made/f &&
echo first
fi'
ENG_SEES='new=written keep=1000:1000 del=gone olddir=gone made=x'

# eng_busybox: prints the path of a statically linked busybox, or fails
# (the container has no libc).
eng_busybox() {
	for _b in /bin/busybox /usr/bin/busybox; do
		[ -x "$_b" ] || continue
		LC_ALL=C ldd "$_b" 2>&1 | grep -q 'not a dynamic' || continue
		echo "$_b"
		return 0
	done
	return 1
}

# eng_rootfs BUSYBOX: $S/rootfs.tar, a root with busybox and /data.
eng_rootfs() {
	_r=$S/rootfs
	mkdir -p "$_r/bin" "$_r/etc" "$_r/tmp" "$_r/data/olddir" &&
	cp "$1" "$_r/bin/busybox" || return 1
	for _a in sh cat ls rm chown stat mkdir; do
		ln -s busybox "$_r/bin/$_a" || return 1
	done
	echo 'root:x:0:0:root:/:/bin/sh' > "$_r/etc/passwd"
	echo base > "$_r/data/keep"
	echo gone > "$_r/data/del"
	echo old > "$_r/data/olddir/f"
	tar -C "$_r" -cf "$S/rootfs.tar" .
}

# eng_prepare COMMAND...: a fresh scenario dir and the image's rootfs;
# fails after one SKIP line when a COMMAND or busybox-static is missing.
eng_prepare() {
	stack_new "$SC"
	for _c in "$@"; do
		command -v "$_c" > /dev/null && continue
		skip "$SC" "$_c not installed"
		return 1
	done
	if ! _bb=$(eng_busybox); then
		skip "$SC" "no statically linked busybox (busybox-static)"
		return 1
	fi
	eng_rootfs "$_bb" && return 0
	not_ok "$SC: making the image's rootfs"
	return 1
}

# eng ARGS...: the engine's client ($ENG, set by the scenario) with a
# time limit; output in $S/eng.out, exit code in ENG_RC.
eng() {
	ENG_RC=0
	timeout 60 $ENG "$@" > "$S/eng.out" 2>&1 || ENG_RC=$?
}

# eng_mounted: the overlays mounted under the engine root.
eng_mounted() {
	awk -v r="$ENG_ROOT/" '$3 == "overlay" && index($2, r) == 1 { print $2 }' /proc/mounts
}

# eng_wait_unmounted: after a container stopped, the engine (podman's
# cleanup process, dockerd) unmounts its layer; wait for it (10 s).
eng_wait_unmounted() {
	for _i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -z "$(eng_mounted)" ] && return 0
		sleep 0.5
	done
	return 1
}

# ---- run-time dirs outside $S ----

ENG_RUNDIR=

# eng_rundir_new: ENG_RUNDIR, a short dir in /tmp for the engine's
# sockets, run and exec dirs: podman refuses a run root of more than 50
# characters, a unix socket path has at most 107, and $S may be deep (in
# a distcheck tree).  Removed at the end of the scenario and at exit.
eng_rundir_new() {
	ENG_RUNDIR=$(mktemp -d /tmp/ovl-engine.XXXXXX) && return 0
	not_ok "$SC: a temp dir in /tmp"
	return 1
}

# eng_rundir_rm: unmounts what the engine left in ENG_RUNDIR, removes it.
eng_rundir_rm() {
	[ -n "$ENG_RUNDIR" ] || return 0
	awk -v r="$ENG_RUNDIR/" 'index($2, r) == 1 { print $2 }' /proc/mounts |
		sort -r | while read -r _m; do umount "$_m"; done
	rm -rf "$ENG_RUNDIR"
	ENG_RUNDIR=
}

# ---- daemons: dockerd here, containerd in containerd.sh ----

# eng_daemon_up PID SOCK LOG: waits (20 s) until the daemon PID answers
# `eng version` on SOCK; else the end of LOG goes to eng.out and it fails.
eng_daemon_up() {
	for _i in $(seq 1 40); do
		[ -S "$2" ] && eng version && [ "$ENG_RC" -eq 0 ] && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.5
	done
	tail -3 "$3" > "$S/eng.out"
	return 1
}

# eng_daemon_kill PID: SIGTERM, SIGKILL after 20 s, reaped.
eng_daemon_kill() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
	kill "$1" 2>/dev/null
	for _i in $(seq 1 40); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.5
	done
	kill -0 "$1" 2>/dev/null && kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# ---- dockerd: a private daemon ----

ENG_DOCKERD_PID=
ENG_CONTAINERD_PIDFILE=

# eng_dockerd_start: starts dockerd in the background on
# $ENG_RUNDIR/docker.sock with its data root $ENG_ROOT; fails (reason in $S/eng.out) when it does
# not answer within 20 s.
eng_dockerd_start() {
	dockerd --config-file "$S/daemon.json" --data-root "$ENG_ROOT" \
		--exec-root "$ENG_RUNDIR/exec" --pidfile "$ENG_RUNDIR/dockerd.pid" \
		-H "unix://$ENG_RUNDIR/docker.sock" --iptables=false --ip6tables=false \
		--bridge=none --storage-driver overlay2 \
		--exec-opt native.cgroupdriver=cgroupfs \
		>> "$S/dockerd.log" 2>&1 &
	ENG_DOCKERD_PID=$!
	# dockerd starts its own containerd; its pid file is the handle to
	# it should dockerd die without stopping it
	ENG_CONTAINERD_PIDFILE=$ENG_RUNDIR/exec/containerd/containerd.pid
	eng_daemon_up "$ENG_DOCKERD_PID" "$ENG_RUNDIR/docker.sock" "$S/dockerd.log" &&
		return 0
	eng_dockerd_stop
	return 1
}

# eng_dockerd_stop: SIGTERM (dockerd stops its containerd and unmounts
# its data root), SIGKILL after 20 s; then the containerd it left, if any.
eng_dockerd_stop() {
	# ENG_DOCKERD_PID is cleared only once it is gone: the exit hook
	# must still find a daemon whose stop was interrupted
	eng_daemon_kill "$ENG_DOCKERD_PID"
	ENG_DOCKERD_PID=
	if [ -n "$ENG_CONTAINERD_PIDFILE" ] && [ -s "$ENG_CONTAINERD_PIDFILE" ]; then
		# only if that pid is still our containerd (its socket is ours)
		_p=$(cat "$ENG_CONTAINERD_PIDFILE")
		grep -aqF "$ENG_RUNDIR/" "/proc/$_p/cmdline" 2>/dev/null &&
			kill -9 "$_p" 2>/dev/null
	fi
	return 0
}
# at exit: the daemon first, then the dirs it used
KT_EXIT_HOOKS="$KT_EXIT_HOOKS eng_dockerd_stop eng_rundir_rm"

# ---- the steps both engines share ----

# eng_layers: after the container was created, CL = its rw layer dir, IL =
# the dir of its image's base layer (the last lower), ILINK = that
# layer's short name; all from the engine's inspect.
eng_layers() {
	eng inspect -f '{{.GraphDriver.Data.UpperDir}} {{.GraphDriver.Data.LowerDir}}' "$ENG_NAME" &&
	[ "$ENG_RC" -eq 0 ] || return 1
	read -r _up _low < "$S/eng.out"
	CL=${_up%/diff}
	IL=${_low##*:}
	IL=${IL%/diff}
	case $CL:$IL in
	"$ENG_DRIVER"/*:"$ENG_DRIVER"/*) ;;
	*) return 1 ;;
	esac
	ILINK=$(cat "$IL/link") && [ -n "$ILINK" ] && [ -L "$ENG_DRIVER/l/$ILINK" ]
}

# eng_start_sees NAME: one TAP line: the container starts and sees its
# files as it left them.
eng_start_sees() {
	eng start -a "$ENG_NAME"
	if [ "$ENG_RC" -eq 0 ] && [ "$(tail -1 "$S/eng.out")" = "$ENG_SEES" ] &&
	   eng_wait_unmounted; then
		ok "$SC: $1"
		return 0
	fi
	not_ok "$SC: $1"
	diag "exit $ENG_RC: $(tail -3 "$S/eng.out")"
	diag "still mounted: $(eng_mounted)"
	return 1
}

# eng_refused NAME: one TAP line: the last eng call (a start) failed and
# the container did not see its files; the engine's message as a comment.
eng_refused() {
	if [ "$ENG_RC" -ne 0 ] && ! grep -qF "$ENG_SEES" "$S/eng.out"; then
		ok "$SC: $1"
		diag "$(LC_ALL=C sed -n '$p' "$S/eng.out")"
	else
		not_ok "$SC: $1"
		diag "exit $ENG_RC: $(tail -3 "$S/eng.out")"
	fi
}

# eng_snapshot FILE: metadata and xattrs of every entry of the store
# (lib.sh's snapshot) and the sha256 of every regular file.
eng_snapshot() {
	snapshot "$1" "$ENG_ROOT"
	find "$ENG_ROOT" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum >> "$1"
}

# eng_fsck NAME WANT ARGS...: one TAP line: fsck.overlay --store ROOT
# ARGS exits WANT and leaves the store byte for byte as it was.  Extra
# conditions may be added to $_bad before the call.
eng_fsck() {
	_n=$1
	_want=$2
	shift 2
	eng_snapshot "$S/snap.before"
	run_fsck --store "$ENG_ROOT" "$@"
	eng_snapshot "$S/snap.after"
	[ "$FSCK_RC" -eq "$_want" ] || rp_bad "exit $FSCK_RC, not $_want"
	if ! cmp -s "$S/snap.before" "$S/snap.after"; then
		rp_bad "$* changed the store"
		diag "$(diff "$S/snap.before" "$S/snap.after" | head -10)"
	fi
	rp_done "$SC: $_n"
}

# eng_fsck_n NAME WANT: the same with -n.
eng_fsck_n() {
	eng_fsck "$1" "$2" -n
}

# eng_run_flow: the scenario once the engine runs ($ENG, $ENG_ROOT,
# $ENG_DRIVER set; for dockerd ENG_DOCKER=1: the daemon is stopped while
# fsck.overlay runs, as a user would).
eng_run_flow() {
	# 1. an image made offline, a container that writes
	eng import "$S/rootfs.tar" "$ENG_IMAGE"
	if [ "$ENG_RC" -ne 0 ]; then
		skip "$SC" "the engine cannot import an image: $(tail -1 "$S/eng.out")"
		return
	fi
	eng create --name "$ENG_NAME" --network none $ENG_CREATE_OPTS \
		"$ENG_IMAGE" /bin/sh -c "$ENG_SCRIPT"
	[ "$ENG_RC" -eq 0 ] && eng start -a "$ENG_NAME"
	if [ "$ENG_RC" -ne 0 ] || [ "$(tail -1 "$S/eng.out")" != first ]; then
		skip "$SC" "the engine cannot run a container here: $(tail -1 "$S/eng.out")"
		return
	fi
	_bad=
	eng_wait_unmounted || rp_bad "the container's layer is still mounted: $(eng_mounted)"
	eng_layers || rp_bad "no layer dirs from inspect: $(cat "$S/eng.out")"
	rp_done "$SC: the engine imports an image and runs a container that writes" || return
	# its rw layer holds what a container's does: whiteouts, copy-ups
	_bad=
	for _w in data/del data/olddir; do
		[ -c "$CL/diff/$_w" ] &&
			[ "$(stat -c %t:%T "$CL/diff/$_w")" = 0:0 ] ||
			rp_bad "$_w is no whiteout in the rw layer"
	done
	[ -f "$CL/diff/data/keep" ] &&
		[ "$(stat -c %u:%g "$CL/diff/data/keep")" = 1000:1000 ] ||
		rp_bad "data/keep was not copied up with its new owner"
	[ -f "$CL/diff/data/new" ] && [ -f "$CL/diff/data/made/f" ] ||
		rp_bad "the new files are not in the rw layer"
	[ -s "$CL/lower" ] || rp_bad "the rw layer has no lower file"
	rp_done "$SC: the rw layer has whiteouts and copy-ups"
	eng_start_sees "restarted, the container sees its files" || return

	[ -n "${ENG_DOCKER:-}" ] && eng_dockerd_stop
	# 2. the store as the engine left it is clean
	_bad=
	eng_fsck_n "fsck.overlay --store -n exits 0 on the engine's store, writes nothing" 0

	# 3. damage: the image layer's l/ link gone, the container's lower
	# file emptied; the engine cannot start the container any more
	rm "$ENG_DRIVER/l/$ILINK"
	: > "$CL/lower"
	if [ -n "${ENG_DOCKER:-}" ] && ! eng_dockerd_start; then
		not_ok "$SC: dockerd starts again on the damaged store"
		diag "$(cat "$S/eng.out")"
		return
	fi
	eng start -a "$ENG_NAME"
	eng_refused "damaged (l/$ILINK removed, lower emptied), the engine cannot start the container"
	eng_wait_unmounted
	[ -n "${ENG_DOCKER:-}" ] && eng_dockerd_stop

	# 4. fsck.overlay names the damage, repairs it, and is clean after
	_bad=
	_cid=${CL##*/}
	_iid=${IL##*/}
	eng_fsck_n "fsck.overlay --store -n reports the damage, exit 4, writes nothing" 4
	_bad=
	grep -q "^SR_LINK_MISSING store:.*\($ILINK\|$_iid\)" "$S/fsck.out" ||
		rp_bad "no SR_LINK_MISSING line for l/$ILINK"
	grep -q "^SR_LOWER_BAD store:.*$_cid" "$S/fsck.out" ||
		rp_bad "no SR_LOWER_BAD line for $_cid"
	rp_done "$SC: the report names SR_LINK_MISSING and SR_LOWER_BAD"
	_bad=
	st_jobs_n_same "$ENG_ROOT"
	rp_done "$SC: --store -n and -n --json with -j 2 and -j 4 print what -j 1 prints"
	_bad=
	run_fsck --store "$ENG_ROOT" -y
	[ "$FSCK_RC" -eq 1 ] || rp_bad "-y: exit $FSCK_RC, not 1"
	[ -L "$ENG_DRIVER/l/$ILINK" ] || rp_bad "l/$ILINK not rebuilt"
	[ -s "$CL/lower" ] || rp_bad "lower still empty"
	rp_done "$SC: fsck.overlay --store -y repairs, exit 1" &&
		eng_fsck_n "fsck.overlay --store -n exits 0 after the repair" 0

	# 5. the engine runs the container again, on its own files
	if [ -n "${ENG_DOCKER:-}" ] && ! eng_dockerd_start; then
		not_ok "$SC: dockerd starts again on the repaired store"
		diag "$(cat "$S/eng.out")"
		return
	fi
	eng_start_sees "the repaired container starts and sees its files"
}

scenario engine_podman
sc_engine_podman() {
	eng_prepare podman runc || return 0
	ENG_ROOT=$S/store
	ENG_DRIVER=$ENG_ROOT/overlay
	eng_rundir_new || return 0
	mkdir -p "$ENG_RUNDIR/run" "$ENG_RUNDIR/tmp" "$S/net"
	# Private and hermetic: no storage.conf of the host, no dir of the
	# host's (but its blob info cache in /var/lib/containers).  runc, not crun: crun 1.8 refuses a hybrid cgroup hierarchy
	# ("cgroups in hybrid mode not supported").  Rlimits the container
	# may not raise without CAP_SYS_RESOURCE are lowered ("setrlimit
	# RLIMIT_NOFILE: Operation not permitted" otherwise).
	printf '[storage]\ndriver = "overlay"\nrunroot = "%s"\ngraphroot = "%s"\n' \
		"$ENG_RUNDIR/run" "$ENG_ROOT" > "$S/storage.conf"
	ENG="env CONTAINERS_STORAGE_CONF=$S/storage.conf podman --root $ENG_ROOT
		--runroot $ENG_RUNDIR/run --tmpdir $ENG_RUNDIR/tmp --network-config-dir $S/net
		--storage-driver overlay --runtime runc --cgroup-manager cgroupfs
		--events-backend file"
	ENG_CREATE_OPTS="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
	ENG_DOCKER=
	eng_run_flow
	eng_wait_unmounted
	# podman leaves its driver dir bind-mounted on itself; kt_cleanup
	# unmounts it at the end, do it now
	mountpoint -q "$ENG_DRIVER" && umount "$ENG_DRIVER"
	eng_rundir_rm
	return 0
}

scenario engine_docker
sc_engine_docker() {
	eng_prepare dockerd docker || return 0
	# the client of the same package as the daemon, else any
	_cli=/usr/bin/docker
	[ -x "$_cli" ] || _cli=$(command -v docker)
	ENG_ROOT=$S/data
	ENG_DRIVER=$ENG_ROOT/overlay2
	eng_rundir_new || return 0
	mkdir -p "$ENG_RUNDIR/exec" "$S/cli"
	echo '{}' > "$S/daemon.json"
	ENG="env DOCKER_HOST=unix://$ENG_RUNDIR/docker.sock DOCKER_CONFIG=$S/cli $_cli"
	ENG_CREATE_OPTS=
	ENG_DOCKER=1
	if ! eng_dockerd_start; then
		skip "$SC" "dockerd cannot run here: $(tail -1 "$S/eng.out")"
		eng_rundir_rm
		return
	fi
	eng_run_flow
	eng_dockerd_stop
	eng_rundir_rm
	return 0
}
