# Container-engine stores for the --store scenarios (sourced by run.sh
# after lib.sh; POSIX sh, Debian's sh is dash).
#
#   docker_store DIR    Docker's overlay2 store, DIR = /var/lib/docker
#   podman_store DIR [nometacopy]
#                       containers-storage (Podman, CRI-O), DIR =
#                       /var/lib/containers/storage; the container mounts
#                       use Fedora's storage.conf mountopt "nodev,metacopy=on"
#   store_mount_container DIR NAME MNT    mount container NAME as the engine
#                       would (its lower file, its options)
#   store_umount MNT
#   store_id DIR KEY    an id the builder recorded (see below)
#   st_* damage helpers, each named after what users report
#
# Both images ("base:1" = 2 layers, "app:1" = base:1 + 1 layer) and both
# containers ("web" from app:1, "db" from base:1) are made the way the
# engines make them (read from moby daemon/graphdriver/overlay2/overlay.go,
# layer/filestore.go, layer/layer.go; containers/storage
# drivers/overlay/overlay.go, layers.go, images.go, containers.go):
#  - each layer dir is created as the driver's create() does: modes, the
#    26-char short name in l/ (../ID/diff), the link file and the lower
#    file "l/A:l/B" (top first) without a newline, work/ (Docker: only
#    with a parent; containers-storage: always, with merged/ and, for a
#    base layer, empty/), Docker's "committed" in a layer that got a child;
#  - an image layer's diff is the upper of a real overlay mount over its
#    parents (what a build step's container wrote: files added, a parent's
#    file deleted (whiteout), a dir replaced (opaque), a file chowned);
#    then only what a commit keeps stays: the engines tar the diff and
#    untar it into the new layer, which keeps whiteouts and the opaque
#    xattr but no origin, impure or uuid xattr and leaves work/ empty;
#  - Docker's container gets its -init layer written through a mount of
#    it (dev/, proc/, .dockerenv, etc/hosts ... as initlayer.Setup does),
#    then each container's rw layer is used through a real mount with the
#    engine's options (Docker "index=off,lowerdir=...,upperdir=...,
#    workdir=...", containers-storage "lowerdir=...,upperdir=...,
#    workdir=...,nodev,metacopy=on"), unmounted, merged/ removed (Put).
# Ids: Docker chain ids (sha256 of "PARENT-CHAIN DIFF-ID"), image ids
# (sha256 of the config JSON) and containers-storage layer ids (c/image:
# the diff id's hex for a base layer, else sha256 of "PARENT+DIFFHEX")
# are computed as the engines compute them.  The diff ids themselves are
# sha256 of a GNU tar of the diff, not of the engine's own tar stream: an
# engine only verifies them when pulling or pushing, never offline.
# tar-split files are empty gzip streams (read only by save/push).
# Cache ids, container ids and short names are random, as the engines'.
#
# The builder records every id in DIR.ids (outside the store, so the store
# holds nothing an engine would not write), one "KEY VALUE" a line:
#   kind docker|podman   drv overlay2|overlay   mountopt OPTS
#   layer.base1 layer.base2 layer.app1   the image layers' dir names
#   rw.web rw.db   the containers' rw layers   init.web init.db (Docker)
#   ctr.web ctr.db   container ids   img.base img.app   image ids
#   chain.base1 chain.base2 chain.app1   Docker's layerdb chain ids

ST_TIME=2024-05-01T10:00:00Z

st_hex64() {
	head -c 32 /dev/urandom | od -An -tx1 -v | tr -d ' \n'
}

# the engines' short names: 26 chars of base32 from random bytes
st_lid() {
	head -c 20 /dev/urandom | base32 | tr -d '=\n' | cut -c1-26
}

st_sha() {
	sha256sum | cut -d' ' -f1
}

# st_put FILE MODE TEXT: a metadata file as the engines write it (no newline)
st_put() {
	printf '%s' "$3" > "$1"
	chmod "$2" "$1"
}

st_rec() {
	echo "$2 $3" >> "$1.ids"
}

# store_id DIR KEY
store_id() {
	awk -v k="$2" '$1 == k { print $2; exit }' "$1.ids"
}

st_drv() {
	echo "$1/$(store_id "$1" drv)"
}

# st_layer_create DIR ID PARENT: the driver's create(id, parent).
st_layer_create() {
	_drv=$(st_drv "$1")
	_d=$_drv/$2
	if [ "$(store_id "$1" kind)" = docker ]; then
		mkdir -m 0710 "$_d"
		mkdir -m 0755 "$_d/diff"
	else
		mkdir -m 0700 "$_d"
		# a child's diff takes the mode of its parent's diff
		_m=0555
		[ -n "$3" ] && _m=$(stat -c %a "$_drv/$3/diff")
		mkdir -m "$_m" "$_d/diff"
	fi
	# the parent's link is read before anything of the child links
	# (a missing link file fails the create, as in the engines)
	_plink=
	if [ -n "$3" ]; then
		_plink=$(cat "$_drv/$3/link") || { rm -rf "$_d"; return 1; }
	fi
	_lid=$(st_lid)
	ln -s "../$2/diff" "$_drv/l/$_lid"
	st_put "$_d/link" 0644 "$_lid"
	if [ "$(store_id "$1" kind)" = docker ]; then
		[ -z "$3" ] && return 0
		mkdir -m 0700 "$_d/work"
		st_put "$_drv/$3/committed" 0600 ""
	else
		mkdir -m 0700 "$_d/work" "$_d/merged"
		if [ -z "$3" ]; then
			mkdir -m 0700 "$_d/empty"
			return 0
		fi
	fi
	_lower=l/$_plink
	[ -f "$_drv/$3/lower" ] && _lower="$_lower:$(cat "$_drv/$3/lower")"
	st_put "$_d/lower" 0644 "$_lower"
}

# st_lowerdirs DIR ID: the lowerdir= value the engine builds from the
# layer's lower file.  Docker joins every entry to the driver dir (an
# empty file gives the driver dir itself); containers-storage skips empty
# entries and mounts the layer's empty/ when none is left.
st_lowerdirs() {
	_drv=$(st_drv "$1")
	_lw=$(cat "$_drv/$2/lower" 2>/dev/null) || _lw=
	_out=
	_rest=$_lw
	while :; do
		_e=${_rest%%:*}
		if [ -n "$_e" ]; then
			_out="${_out:+$_out:}$_drv/$_e"
		elif [ "$(store_id "$1" kind)" = docker ]; then
			_out="${_out:+$_out:}$_drv"
		fi
		[ "$_e" = "$_rest" ] && break
		_rest=${_rest#*:}
	done
	[ -z "$_out" ] && _out=$_drv/$2/empty
	echo "$_out"
}

# st_mount_opts DIR ID [build]: the -o string the engine mounts a rw
# layer with ("build": an image build step's container, no metacopy, as
# the layer it commits is a tar of it)
st_mount_opts() {
	_drv=$(st_drv "$1")
	_o="lowerdir=$(st_lowerdirs "$1" "$2"),upperdir=$_drv/$2/diff,workdir=$_drv/$2/work"
	if [ "$(store_id "$1" kind)" = docker ]; then
		# the driver adds index=off whenever the kernel knows it
		echo "index=off,$_o"
	elif [ "${3:-}" = build ]; then
		echo "$_o,nodev"
	else
		echo "$_o,$(store_id "$1" mountopt)"
	fi
}

# store_mount_container DIR NAME MNT: mounts container NAME's stack as
# the engine would; ST_OPTS is the -o string, mount(8)'s message on stderr.
store_mount_container() {
	_rw=$(store_id "$1" "rw.$2")
	[ -n "$_rw" ] || { echo "no container $2 in $1" >&2; return 1; }
	ST_OPTS=$(st_mount_opts "$1" "$_rw")
	mkdir -p "$3"
	LC_ALL=C mount -t overlay overlay -o "$ST_OPTS" "$3"
}

store_umount() {
	umount "$1"
}

# st_strip_build_xattrs DIR: what a commit (tar + untar) drops: every
# overlay xattr but opaque
st_strip_build_xattrs() {
	getfattr -R -h --absolute-names -m '^trusted\.overlay\.' "$1" 2>/dev/null |
		awk '/^# file: / { f = substr($0, 9); next }
		     NF && $0 != "trusted.overlay.opaque" { print f "\t" $0 }' |
		while IFS='	' read -r _f _x; do
			setfattr -h -x "$_x" "$_f"
		done
}

# st_run_in DIR ID SCRIPT [build]: mounts layer ID read-write over its
# lowers with the engine's options, runs SCRIPT (set -e) in the merged
# dir, unmounts, and removes merged/ as the engines' Put does.
st_run_in() {
	_drv=$(st_drv "$1")
	_m=$_drv/$2/merged
	mkdir -p -m 0700 "$_m"
	LC_ALL=C mount -t overlay overlay -o "$(st_mount_opts "$1" "$2" "${4:-}")" "$_m" || return 1
	if ( cd "$_m" && set -e && eval "$3" ); then _r=0; else _r=1; fi
	umount "$_m"
	rmdir "$_m"
	return $_r
}

# st_image_layer DIR KEY PARENT-KEY SCRIPT: one image layer; a base layer
# is written straight into its diff (an untar), the others through a
# build mount, then committed.
st_image_layer() {
	_par=
	[ -n "$3" ] && _par=$(store_id "$1" "layer.$3")
	if [ "$(store_id "$1" kind)" = docker ]; then
		_id=$(st_hex64)
	else
		_id=pending.$2
	fi
	st_layer_create "$1" "$_id" "$_par"
	_drv=$(st_drv "$1")
	if [ -z "$_par" ]; then
		( cd "$_drv/$_id/diff" && set -e && eval "$4" )
	else
		st_run_in "$1" "$_id" "$4" build
		st_strip_build_xattrs "$_drv/$_id/diff"
		rm -rf "$_drv/$_id/work/work" "$_drv/$_id/work/index"
		# containers-storage keeps merged/ of a layer it never mounted
		[ "$(store_id "$1" kind)" = docker ] || mkdir -m 0700 "$_drv/$_id/merged"
	fi
	_diff=sha256:$(tar --sort=name --numeric-owner -C "$_drv/$_id/diff" -cf - . | st_sha)
	_size=$(find "$_drv/$_id/diff" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
	if [ "$(store_id "$1" kind)" != docker ]; then
		# c/image: the layer id follows from the parent and the diff id
		if [ -z "$_par" ]; then
			_nid=${_diff#sha256:}
		else
			_nid=$(printf '%s' "$_par+${_diff#sha256:}" | st_sha)
		fi
		mv "$_drv/$_id" "$_drv/$_nid"
		_l=$(cat "$_drv/$_nid/link")
		ln -sfn "../$_nid/diff" "$_drv/l/$_l"
		_id=$_nid
	fi
	st_rec "$1" "layer.$2" "$_id"
	st_rec "$1" "diff.$2" "$_diff"
	st_rec "$1" "size.$2" "$_size"
}

# The image contents: base layer 1, base layer 2 (whiteout, opaque dir,
# chown, append), app layer (whiteout of a base file, opaque /usr/lib).
ST_BASE1='
mkdir -p etc usr/bin usr/lib usr/share/doc var/cache/app opt tmp
chmod 1777 tmp
printf "NAME=fixture\nVERSION_ID=1\n" > etc/os-release
printf "root:x:0:0:root:/root:/bin/sh\n" > etc/passwd
echo "welcome" > etc/motd
echo "mode=base" > etc/app.conf
printf "#!/bin/sh\necho tool\n" > usr/bin/tool
chmod 0755 usr/bin/tool
echo lib > usr/lib/libx.so.1
ln -s libx.so.1 usr/lib/libx.so
echo "read me" > usr/share/doc/readme
echo a > var/cache/app/a
echo b > var/cache/app/b
head -c 65536 /dev/urandom > opt/data.bin
ln -s usr/lib lib
'
ST_BASE2='
echo "base 2" > etc/base-release
rm usr/share/doc/readme
rm -rf var/cache/app
mkdir var/cache/app
echo c > var/cache/app/c
chown 100:100 usr/bin/tool
echo "daemon:x:1:1::/:/bin/false" >> etc/passwd
'
ST_APP1='
mkdir -p app/static
printf "#!/bin/sh\nexec httpd\n" > app/server.sh
chmod 0755 app/server.sh
echo "<h1>app</h1>" > app/static/index.html
rm etc/base-release
rm -rf usr/lib
mkdir usr/lib
echo app > usr/lib/libapp.so
chown 0:33 etc/app.conf
'
# what the containers did while running
ST_WEB='
mkdir -p srv
echo hello > srv/new.txt
echo "mode=web" >> etc/app.conf
rm etc/motd
rm -rf var/cache/app
mkdir var/cache/app
echo fresh > var/cache/app/fresh
chown 1000:1000 usr/bin/tool
chmod 0600 opt/data.bin
'
ST_DB='
mkdir -p var/lib/db
echo rows > var/lib/db/data
rm etc/motd
chown 999:999 opt/data.bin
touch -d @1700000000 etc/os-release
'
# Docker's initlayer.Setup
ST_INIT='
mkdir -p dev/pts dev/shm proc sys etc
for f in .dockerenv etc/resolv.conf etc/hosts etc/hostname dev/console; do
	: > "$f"
	chmod 0755 "$f"
done
ln -s /proc/mounts etc/mtab
'

st_images() {
	st_image_layer "$1" base1 "" "$ST_BASE1" &&
	st_image_layer "$1" base2 base1 "$ST_BASE2" &&
	st_image_layer "$1" app1 base2 "$ST_APP1"
}

# st_image_config DIFF-ID...: an image config as the engines store it
st_image_config() {
	_ids=
	for _d in "$@"; do
		_ids="${_ids:+$_ids,}\"$_d\""
	done
	printf '{"architecture":"amd64","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"]},"created":"%s","history":[{"created":"%s","created_by":"fixture"}],"os":"linux","rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$ST_TIME" "$ST_TIME" "$_ids"
}

# ---- Docker overlay2 ----

# st_docker_layerdb DIR KEY PARENT-CHAIN: layerdb/sha256/<chain>/
st_docker_layerdb() {
	_diff=$(store_id "$1" "diff.$2")
	if [ -z "$3" ]; then
		_chain=$_diff
	else
		_chain=sha256:$(printf '%s' "$3 $_diff" | st_sha)
	fi
	_ld=$1/image/overlay2/layerdb/sha256/${_chain#sha256:}
	mkdir -p -m 0755 "$_ld"
	st_put "$_ld/cache-id" 0644 "$(store_id "$1" "layer.$2")"
	st_put "$_ld/diff" 0644 "$_diff"
	st_put "$_ld/size" 0644 "$(store_id "$1" "size.$2")"
	[ -n "$3" ] && st_put "$_ld/parent" 0644 "$3"
	printf '' | gzip -n > "$_ld/tar-split.json.gz"
	chmod 0644 "$_ld/tar-split.json.gz"
	st_rec "$1" "chain.$2" "$_chain"
}

st_docker_image() {
	_dir=$1
	shift
	_cfg=$(st_image_config "$@")
	_iid=$(printf '%s' "$_cfg" | st_sha)
	st_put "$_dir/image/overlay2/imagedb/content/sha256/$_iid" 0600 "$_cfg"
	echo "$_iid"
}

# st_docker_container DIR NAME IMAGE-KEY TOP-KEY SCRIPT
st_docker_container() {
	_cid=$(st_hex64)
	_mid=$(st_hex64)
	st_rec "$1" "ctr.$2" "$_cid"
	st_rec "$1" "init.$2" "$_mid-init"
	st_rec "$1" "rw.$2" "$_mid"
	st_layer_create "$1" "$_mid-init" "$(store_id "$1" "layer.$4")" &&
	st_run_in "$1" "$_mid-init" "$ST_INIT" &&
	st_layer_create "$1" "$_mid" "$_mid-init" &&
	st_run_in "$1" "$_mid" "$5" || return 1
	_md=$1/image/overlay2/layerdb/mounts/$_cid
	mkdir -p -m 0755 "$_md"
	st_put "$_md/mount-id" 0644 "$_mid"
	st_put "$_md/init-id" 0644 "$_mid-init"
	st_put "$_md/parent" 0644 "$(store_id "$1" "chain.$4")"
	_iid=$(store_id "$1" "img.$3")
	mkdir -p -m 0710 "$1/containers/$_cid"
	st_put "$1/containers/$_cid/config.v2.json" 0600 \
		"$(printf '{"StreamConfig":{},"State":{"Running":false,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":0,"ExitCode":0,"Error":"","StartedAt":"%s","FinishedAt":"%s"},"ID":"%s","Created":"%s","Managed":false,"Path":"/bin/sh","Args":[],"Config":{"Hostname":"%s","Image":"%s:1","Cmd":["/bin/sh"]},"Image":"sha256:%s","NetworkSettings":{},"LogPath":"","Name":"/%s","Driver":"overlay2","OS":"linux","RestartCount":0,"MountLabel":"","ProcessLabel":"","AppArmorProfile":"","MountPoints":{}}' \
			"$ST_TIME" "$ST_TIME" "$_cid" "$ST_TIME" "$(echo "$_cid" | cut -c1-12)" "$3" "$_iid" "$2")"
	st_put "$1/containers/$_cid/hostconfig.json" 0600 '{"Binds":null,"NetworkMode":"bridge","RestartPolicy":{"Name":"no","MaximumRetryCount":0}}'
}

docker_store() {
	rm -rf "$1" "$1.ids"
	mkdir -p -m 0710 "$1" "$1/overlay2"
	mkdir -m 0700 "$1/overlay2/l"
	mkdir -p -m 0700 "$1/containers" "$1/image/overlay2/layerdb/tmp" \
		"$1/image/overlay2/imagedb/content/sha256" "$1/image/overlay2/imagedb/metadata/sha256"
	mkdir -p -m 0755 "$1/image/overlay2/layerdb/sha256" "$1/image/overlay2/layerdb/mounts"
	st_rec "$1" kind docker
	st_rec "$1" drv overlay2
	st_rec "$1" mountopt index=off
	st_images "$1" || return 1
	st_docker_layerdb "$1" base1 ""
	st_docker_layerdb "$1" base2 "$(store_id "$1" chain.base1)"
	st_docker_layerdb "$1" app1 "$(store_id "$1" chain.base2)"
	_b=$(st_docker_image "$1" "$(store_id "$1" diff.base1)" "$(store_id "$1" diff.base2)")
	_a=$(st_docker_image "$1" "$(store_id "$1" diff.base1)" "$(store_id "$1" diff.base2)" \
		"$(store_id "$1" diff.app1)")
	st_rec "$1" img.base "$_b"
	st_rec "$1" img.app "$_a"
	st_put "$1/image/overlay2/repositories.json" 0600 \
		"{\"Repositories\":{\"app\":{\"app:1\":\"sha256:$_a\"},\"base\":{\"base:1\":\"sha256:$_b\"}}}"
	st_docker_container "$1" web app app1 "$ST_WEB" &&
	st_docker_container "$1" db base base2 "$ST_DB"
}

# ---- containers-storage ----

st_podman_container() {
	_cid=$(st_hex64)
	_rwid=$(st_hex64)
	st_rec "$1" "ctr.$2" "$_cid"
	st_rec "$1" "rw.$2" "$_rwid"
	st_layer_create "$1" "$_rwid" "$(store_id "$1" "layer.$4")" &&
	st_run_in "$1" "$_rwid" "$5" || return 1
	mkdir -p -m 0700 "$1/overlay-containers/$_cid/userdata"
}

podman_store() {
	rm -rf "$1" "$1.ids"
	mkdir -p -m 0700 "$1" "$1/overlay" "$1/overlay-layers" "$1/overlay-images" \
		"$1/overlay-containers"
	mkdir -m 0755 "$1/overlay/l"
	st_rec "$1" kind podman
	st_rec "$1" drv overlay
	if [ "${2:-}" = nometacopy ]; then
		st_rec "$1" mountopt nodev
	else
		st_rec "$1" mountopt nodev,metacopy=on
	fi
	st_images "$1" || return 1
	_lj=
	_par=
	for _k in base1 base2 app1; do
		_id=$(store_id "$1" "layer.$_k")
		_sz=$(store_id "$1" "size.$_k")
		_lj="${_lj:+$_lj,}{\"id\":\"$_id\",${_par:+\"parent\":\"$_par\",}\"created\":\"$ST_TIME\",\"compressed-diff-digest\":\"sha256:$(printf '%s' "$_id" | st_sha)\",\"compressed-size\":$_sz,\"diff-digest\":\"$(store_id "$1" "diff.$_k")\",\"diff-size\":$_sz,\"compression\":2,\"uidset\":[0],\"gidset\":[0]}"
		printf '' | gzip -n > "$1/overlay-layers/$_id.tar-split.gz"
		_par=$_id
	done
	_ij=
	for _i in base:base2:"$(store_id "$1" diff.base1) $(store_id "$1" diff.base2)" \
		  app:app1:"$(store_id "$1" diff.base1) $(store_id "$1" diff.base2) $(store_id "$1" diff.app1)"; do
		_n=${_i%%:*}
		_r=${_i#*:}
		_top=${_r%%:*}
		# shellcheck disable=SC2086
		_cfg=$(st_image_config ${_r#*:})
		_iid=$(printf '%s' "$_cfg" | st_sha)
		st_rec "$1" "img.$_n" "$_iid"
		mkdir -m 0700 "$1/overlay-images/$_iid"
		# a big-data key with ':' is stored as '=' + base64(key)
		st_put "$1/overlay-images/$_iid/=$(printf 'sha256:%s' "$_iid" | base64 -w0)" 0600 "$_cfg"
		_ij="${_ij:+$_ij,}{\"id\":\"$_iid\",\"digest\":\"sha256:$_iid\",\"names\":[\"localhost/$_n:1\"],\"layer\":\"$(store_id "$1" "layer.$_top")\",\"metadata\":\"{}\",\"big-data-names\":[\"sha256:$_iid\"],\"big-data-sizes\":{\"sha256:$_iid\":${#_cfg}},\"big-data-digests\":{\"sha256:$_iid\":\"sha256:$_iid\"},\"created\":\"$ST_TIME\"}"
	done
	st_podman_container "$1" web app app1 "$ST_WEB" &&
	st_podman_container "$1" db base base2 "$ST_DB" || return 1
	_cj=
	for _n in web db; do
		_im=app
		[ $_n = db ] && _im=base
		_cid=$(store_id "$1" "ctr.$_n")
		_rw=$(store_id "$1" "rw.$_n")
		_lj="$_lj,{\"id\":\"$_rw\",\"parent\":\"$(store_id "$1" "layer.$([ $_n = db ] && echo base2 || echo app1)")\",\"created\":\"$ST_TIME\"}"
		_cj="${_cj:+$_cj,}{\"id\":\"$_cid\",\"names\":[\"$_n\"],\"image\":\"$(store_id "$1" "img.$_im")\",\"layer\":\"$_rw\",\"metadata\":\"{\\\"image-name\\\":\\\"localhost/$_im:1\\\",\\\"image-id\\\":\\\"$(store_id "$1" "img.$_im")\\\",\\\"name\\\":\\\"$_n\\\",\\\"created-at\\\":1714557600,\\\"mountlabel\\\":\\\"\\\"}\",\"created\":\"$ST_TIME\"}"
	done
	# json.Marshal output, 0600, no newline; the lock files beside them
	st_put "$1/overlay-layers/layers.json" 0600 "[$_lj]"
	st_put "$1/overlay-images/images.json" 0600 "[$_ij]"
	st_put "$1/overlay-containers/containers.json" 0600 "[$_cj]"
	st_put "$1/overlay-layers/layers.lock" 0644 ""
	st_put "$1/overlay-images/images.lock" 0644 ""
	st_put "$1/overlay-containers/containers.lock" 0644 ""
}

# ---- damage, the way users report it ----

# st_link_of DIR ID: the layer's short name (from its link file)
st_link_of() {
	cat "$(st_drv "$1")/$2/link"
}

# a crash lost the l/ symlink of a layer
st_rm_link() {
	rm "$(st_drv "$1")/l/$(st_link_of "$1" "$2")"
}

# st_swap_link DIR ID OTHER: l/ link of ID re-pointed at OTHER's diff
st_swap_link() {
	ln -sfn "../$3/diff" "$(st_drv "$1")/l/$(st_link_of "$1" "$2")"
}

# a symlink a half-removed layer left behind; prints its name
st_add_dangling() {
	_n=$(st_lid)
	ln -s "../$(st_hex64)/diff" "$(st_drv "$1")/l/$_n"
	echo "$_n"
}

st_empty_lower() {
	: > "$(st_drv "$1")/$2/lower"
}

st_rm_linkfile() {
	rm "$(st_drv "$1")/$2/link"
}

st_rm_layer() {
	rm -rf "$(st_drv "$1")/$2"
}

# a pull that crashed after writing a layer and before recording it;
# prints its id
st_add_orphan() {
	_id=$(st_hex64)
	_drv=$(st_drv "$1")
	if [ "$(store_id "$1" kind)" = docker ]; then
		mkdir -m 0710 "$_drv/$_id"
		mkdir -m 0755 "$_drv/$_id/diff"
	else
		mkdir -m 0700 "$_drv/$_id" "$_drv/$_id/work" "$_drv/$_id/merged" "$_drv/$_id/empty"
		mkdir -m 0555 "$_drv/$_id/diff"
	fi
	mkdir -p "$_drv/$_id/diff/usr/share/big"
	head -c 102400 /dev/urandom > "$_drv/$_id/diff/usr/share/big/blob"
	_l=$(st_lid)
	ln -s "../$_id/diff" "$_drv/l/$_l"
	st_put "$_drv/$_id/link" 0644 "$_l"
	echo "$_id"
}

st_rm_work() {
	rm -rf "$(st_drv "$1")/$2/work"
}

# the metadata a full disk cut: containers-storage's layers.json, or the
# cache-id of Docker's layerdb entry of KEY; prints its store path
st_truncate_meta() {
	if [ "$(store_id "$1" kind)" = docker ]; then
		_f=image/overlay2/layerdb/sha256/$(store_id "$1" "chain.$2" | sed 's/^sha256://')/cache-id
	else
		_f=overlay-layers/layers.json
	fi
	: > "$1/$_f"
	echo "/$_f"
}

# st_restore DIR NEW: the store restored from a backup to another place
# and the old one gone (a dead disk): new inode numbers everywhere, so the
# origins the kernel recorded at copy-up (also under index=off) no longer
# decode.  cp -a also fills the holes of small metacopy files.
st_restore() {
	rm -rf "$2" "$2.ids"
	cp -a "$1" "$2"
	cp "$1.ids" "$2.ids"
	rm -rf "$1" "$1.ids"
}
