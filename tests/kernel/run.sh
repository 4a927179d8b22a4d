#!/bin/sh
# Real-kernel scenarios: the kernel builds an overlay stack, an offline
# change damages it the way life does, and each scenario asserts what
# fsck.overlay -n reports and what the kernel then does with the damage.
# See tests/kernel/README.  Needs root and overlayfs, else skipped.
#
#   KT_ONLY=substring   run only the scenarios whose name contains it
#   KT_KEEP=1           keep the temp dir (printed) for inspection
#   KT_VERBOSE=1        show every fsck.overlay output as TAP comments

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
export LC_ALL=C

. "$top_srcdir/tests/kernel/lib.sh"

kt_require_kernel

for _f in clean fidelity fs metacopy redirect whiteout index stack origin layer repair repair2 repair3 copyup browse scope fstab premount store_lib store engine content layers layers_merge containerd; do
	. "$top_srcdir/tests/kernel/$_f.sh"
done

[ -n "${KT_KEEP:-}" ] && diag "temp dir: $KT_ROOT"
kt_run_all
done_testing
tap_exit
