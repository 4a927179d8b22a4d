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

# Its mounts in a mount namespace of its own: a container that another
# run starts meanwhile clones the namespace it starts in, and a copy of a
# scenario's overlay there keeps its upper dir in use after our umount
# (EBUSY at the next mount with index=on).
if [ -z "${KT_UNSHARED:-}" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null &&
   unshare -m --propagation private true 2>/dev/null; then
	export KT_UNSHARED=1 top_srcdir top_builddir
	exec unshare -m --propagation private sh "$0" "$@"
fi

. "$top_srcdir/tests/kernel/lib.sh"

kt_require_kernel

for _f in clean fidelity fs metacopy redirect whiteout index stack origin layer repair repair2 repair3 copyup browse scope fstab premount store_lib store engine content layers layers_merge containerd; do
	. "$top_srcdir/tests/kernel/$_f.sh"
done

[ -n "${KT_KEEP:-}" ] && diag "temp dir: $KT_ROOT"
kt_run_all
done_testing
tap_exit
