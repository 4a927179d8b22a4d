#!/bin/sh
# Build and test everything from a source tree, as CI does (.ci/run):
#   1. install the packages of deps.txt that are missing (apt-get, root)
#   2. ./autogen.sh
#   3. build/normal: configure --enable-werror, make, make check
#   4. build/asan:   the same with ASan + UBSan, make check
#   5. build/normal: make distcheck (the quick tests, in the tarball's own
#      build), then every file git tracks must be in the tarball
#   6. tests/deb.sh: the .deb built from build/normal's `make dist` tarball
#      with dpkg-buildpackage, its files checked, lintian without errors
# The last line is "N passed, N failed, N skipped", summed over every test
# of both builds (from their test-suite.log) and of step 6; exit 1 if
# anything failed or a step broke.
#
#   tests/run-all.sh              everything
#   tests/run-all.sh --deps-only  only step 1 (used by demo/demo.sh)
#
# Environment:
#   JOBS=N                 make -j (default: number of CPUs)
#   DISTCHECK_TESTS=LIST   tests run inside distcheck (default "quick": the
#                          unit tests, man.sh and cli.sh; "all": every test,
#                          as the builds above already ran them). Whatever
#                          it runs, every file git tracks (but .gitignore)
#                          must be in the tarball: one test point
#   SKIP_DISTCHECK=1       leave out step 5
#   SKIP_DEB=1             leave out step 6
#   NO_APT=1               never call apt-get (missing packages are an error)

set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
logs=$top/build/logs

passed=0
failed=0
skipped=0
broke=""

say() { printf '== %s\n' "$*"; }

# ---- 1. dependencies --------------------------------------------------------

install_deps() {
	pkgs=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$top/deps.txt")
	missing=""
	for p in $pkgs; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
		case $st in
		*" installed") ;;
		*) missing="$missing $p" ;;
		esac
	done
	[ -z "$missing" ] && return 0
	if [ -n "${NO_APT:-}" ] || [ "$(id -u)" -ne 0 ]; then
		echo "missing packages:$missing (install them as root)" >&2
		return 1
	fi
	say "installing:$missing"
	apt-get update -q >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "not a Debian system: install the packages of deps.txt by hand" >&2
	[ "${1:-}" = --deps-only ] && exit 1
elif ! install_deps; then
	echo "cannot install the build dependencies" >&2
	echo "0 passed, 0 failed, 0 skipped"
	exit 1
fi
[ "${1:-}" = --deps-only ] && exit 0

# ---- helpers ----------------------------------------------------------------

mkdir -p "$logs"

# step NAME CMD...: run CMD with its output in build/logs/NAME.log;
# on failure show the end of the log and remember the step.
step() {
	name=$1
	shift
	say "$name"
	if "$@" >"$logs/$name.log" 2>&1; then
		return 0
	fi
	echo "-- $name failed; last lines of build/logs/$name.log:"
	tail -n 60 "$logs/$name.log"
	broke="$broke $name"
	return 1
}

# count DIR: add the counts of DIR/test-suite.log to the totals.
count() {
	log=$1/test-suite.log
	if [ ! -f "$log" ]; then
		echo "-- no $log: its tests did not run"
		broke="$broke $(basename "$1")-check"
		return
	fi
	# "# PASS:  12" lines written by automake's test harness
	get() { sed -n "s/^# $1: *\([0-9][0-9]*\)\$/\1/p" "$log" | head -n 1; }
	p=$(get PASS); xf=$(get XFAIL); f=$(get FAIL); e=$(get ERROR)
	xp=$(get XPASS); s=$(get SKIP)
	passed=$((passed + ${p:-0} + ${xf:-0}))
	failed=$((failed + ${f:-0} + ${e:-0} + ${xp:-0}))
	skipped=$((skipped + ${s:-0}))
	say "$(basename "$1"): ${p:-0} passed, $((${f:-0} + ${e:-0} + ${xp:-0})) failed, ${s:-0} skipped"
}

# check DIR: make check in DIR, print the failing logs if any.
run_check() {
	dir=$1
	shift
	name=$(basename "$dir")-check
	say "$name"
	(cd "$dir" && make -j"$JOBS" check "$@") >"$logs/$name.log" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL|ERROR|XPASS|XFAIL|SKIP): ' "$logs/$name.log" |
		grep -v '^PASS: ' | sed 's/^/   /'
	if [ $rc -ne 0 ]; then
		if [ -f "$dir/test-suite.log" ]; then
			echo "-- $name failed; $dir/test-suite.log (failing tests):"
			cat "$dir/test-suite.log"
		else
			echo "-- $name failed before the tests ran:"
			tail -n 60 "$logs/$name.log"
		fi
		grep -q '^# \(FAIL\|ERROR\|XPASS\): *[1-9]' "$dir/test-suite.log" 2>/dev/null ||
			broke="$broke $name"
	fi
	count "$dir"
}

# ---- 2. autogen ---------------------------------------------------------------

step autogen ./autogen.sh || {
	echo "$passed passed, $failed failed, $skipped skipped"
	exit 1
}

# ---- 3. normal build -----------------------------------------------------------

N=$top/build/normal
rm -rf "$N"
mkdir -p "$N"
if step normal-configure sh -c "cd '$N' && '$top/configure' --enable-werror" &&
	step normal-make make -C "$N" -j"$JOBS"; then
	run_check "$N"
fi

# ---- 4. sanitizer build --------------------------------------------------------

A=$top/build/asan
rm -rf "$A"
mkdir -p "$A"
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if step asan-configure sh -c "cd '$A' && '$top/configure' \
	CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer' \
	LDFLAGS='-fsanitize=address,undefined'" &&
	step asan-make make -C "$A" -j"$JOBS"; then
	run_check "$A"
fi
unset ASAN_OPTIONS UBSAN_OPTIONS

# ThreadSanitizer: the suites that run the walker's read-ahead threads
# (every -n run twice, with -j 1 and -j 4, by tests/jobs-same.sh). A race
# stops the process with exit 66, which no test expects. The random
# tester is left to the normal and ASan builds: it drives the same walker
# over kernel-made layouts the kernel suites already cover here, and cost
# a tenth of the whole run under TSan.
Z=$top/build/tsan
rm -rf "$Z"
mkdir -p "$Z"
# allocator_may_return_null: a failed allocation comes back as NULL, as in
# a plain build, so that test_util sees ovl_xmalloc's own exit 8
export TSAN_OPTIONS=halt_on_error=1:exitcode=66:allocator_may_return_null=1
if [ -z "${SKIP_TSAN:-}" ] &&
	step tsan-configure sh -c "cd '$Z' && '$top/configure' \
	CFLAGS='-O1 -g -fsanitize=thread -fno-omit-frame-pointer' \
	LDFLAGS='-fsanitize=thread'" &&
	step tsan-make make -C "$Z" -j"$JOBS"; then
	tsan_tests=$(cd "$Z" && make -s -f Makefile -f - print-tests <<'EOF'
print-tests:
	@echo $(UNIT_TESTS) tests/fixtures/run.sh tests/kernel/run.sh
EOF
)
	run_check "$Z" TESTS="$tsan_tests"
fi
unset TSAN_OPTIONS

# ---- 5. distcheck ---------------------------------------------------------------

if [ -z "${SKIP_DISTCHECK:-}" ] && [ -f "$N/Makefile" ]; then
	tests=${DISTCHECK_TESTS:-quick}
	[ "$tests" = all ] && tests=
	if [ "$tests" = quick ]; then
		tests=$(cd "$N" && make -s -f Makefile -f - print-tests <<'EOF'
print-tests:
	@echo $(UNIT_TESTS) tests/man.sh tests/cli.sh
EOF
)
	fi
	if [ -n "$tests" ]; then
		say "distcheck runs only: $tests"
		set -- TESTS="$tests"
	else
		set --
	fi
	if ! step distcheck make -C "$N" -j"$JOBS" distcheck \
		DISTCHECK_CONFIGURE_FLAGS=--enable-werror "$@"; then
		for log in "$N"/overlay-fsck-*/_build/sub/test-suite.log; do
			[ -f "$log" ] || continue
			echo "-- distcheck: $log (failing tests):"
			cat "$log"
		done
	fi
	# A file the tests or the build need and EXTRA_DIST lacks is found
	# here, whichever tests distcheck ran.
	tarball=$(ls "$N"/overlay-fsck-*.tar.gz 2>/dev/null | head -n 1)
	if [ -n "$tarball" ] && command -v git >/dev/null &&
	   git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		say dist-files
		git -C "$top" ls-files | grep -vx '.gitignore' | sort >"$logs/dist-git.lst"
		tar tzf "$tarball" | sed 's|^[^/]*/||' | sort >"$logs/dist-tar.lst"
		comm -23 "$logs/dist-git.lst" "$logs/dist-tar.lst" >"$logs/dist-missing.lst"
		if [ -s "$logs/dist-missing.lst" ]; then
			echo "-- tracked files missing from $(basename "$tarball"):"
			sed 's/^/   /' "$logs/dist-missing.lst"
			failed=$((failed + 1))
		else
			passed=$((passed + 1))
		fi
	fi
fi

# ---- 6. Debian package ----------------------------------------------------------

if [ -z "${SKIP_DEB:-}" ] && [ -f "$N/Makefile" ]; then
	say deb
	t0=$(date +%s)
	JOBS=$JOBS sh "$top/tests/deb.sh" "$N" >"$logs/deb.log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$logs/deb.log")
	f=$(grep -c '^not ok ' "$logs/deb.log")
	passed=$((passed + p))
	failed=$((failed + f))
	grep '^# lintian: [EW]: ' "$logs/deb.log" | sed 's/^/   /'
	if [ $rc -ne 0 ]; then
		echo "-- deb failed; last lines of build/logs/deb.log:"
		tail -n 60 "$logs/deb.log"
		[ "$f" -eq 0 ] && broke="$broke deb"
	fi
	say "deb: $p passed, $f failed ($(($(date +%s) - t0)) s)"
fi

# ---- summary ---------------------------------------------------------------------

[ -n "$broke" ] && echo "-- broken steps:$broke"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ -z "$broke" ]
