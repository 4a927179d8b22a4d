#!/bin/sh
# Runs every fuzz target with the standalone driver: bounded pseudo-random
# and mutated inputs (deterministic, FUZZ_SEED), invariants checked with
# abort(). TAP output; "ok" when a target exits 0.
top_builddir=${top_builddir:-.}
iters=${FUZZ_ITERATIONS:-200000}
targets="fuzz_fh fuzz_metacopy fuzz_redirect fuzz_nlink fuzz_opts fuzz_store fuzz_tarsplit fuzz_links fuzz_journal fuzz_bbolt fuzz_cdstore"

set -- $targets
echo "1..$#"
n=0
for t in $targets; do
	n=$((n + 1))
	bin="$top_builddir/tests/fuzz/$t"
	if [ ! -x "$bin" ]; then
		echo "not ok $n - $t (not built: $bin)"
		continue
	fi
	n_iters=$iters
	# each fuzz_store input opens and checks a whole store on disk, each
	# fuzz_tarsplit input verifies a layer dir
	case $t in fuzz_store|fuzz_tarsplit) n_iters=$((iters / 10)) ;; esac
	# each fuzz_cdstore input writes a database and opens a whole store
	[ "$t" = fuzz_cdstore ] && n_iters=$((iters / 20))
	if out=$(FUZZ_ITERATIONS=$n_iters "$bin" 2>&1); then
		echo "ok $n - $t: $out"
	else
		echo "not ok $n - $t"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
done
