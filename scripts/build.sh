#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build.sh ABI [make args...]: build all modules against the Debian headers
# of ABI in build/ABI/ (a copy of the sources, so that two kernels can be
# built from one checkout without mixing objects). W=1 by default. The
# product (host/, guest/) first, then the test and benchmark modules of
# selftests/guest/kmod/ against its Module.symvers; make args apply to
# both. Prints the directory that holds host/*.ko and guest/*.ko; the test
# modules are in its selftests/guest/kmod/.
#
# An ABI whose headers live in a build root (sid, scripts/kernel.sh) is
# built inside it: build/ABI is bind-mounted into the root in a private
# mount namespace (gone with the build) and make runs there with the
# root's toolchain. Only W=1 there: the root has no sparse, and C=... is
# refused with one line rather than silently dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
abi=${1:?usage: build.sh ABI}
shift
kdir=$(scripts/kernel.sh kdir "$abi")
[ -f "$kdir/Module.symvers" ] || { echo "build.sh: no headers for $abi at $kdir (make deps)" >&2; exit 2; }
out=$PWD/build/$abi
mkdir -p "$out/selftests/guest"
sync_src() { # sync_src DEST SRC...: the sources, without build products
	local dest=$1
	shift
	rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' \
		--exclude='.*.cmd' --exclude='Module.symvers' --exclude='modules.order' \
		"$@" "$dest"
}
sync_src "$out/" Kbuild host guest uapi
sync_src "$out/selftests/guest/" selftests/guest/kmod
root=$(scripts/kernel.sh root "$abi")
# every CPU: sparse (C=1) doubles the work of each file
jobs=-j$(nproc)
if [ -z "$root" ]; then
	make -s "$jobs" -C "$kdir" M="$out" W=1 "$@" modules >&2
	make -s "$jobs" -C "$kdir" M="$out/selftests/guest/kmod" KBUILD_EXTRA_SYMBOLS="$out/Module.symvers" \
		W=1 "$@" modules >&2
	echo "$out"
	exit 0
fi
for a in "$@"; do
	case "$a" in C=*) echo "build.sh: $abi builds in $root, which has no sparse: no $a" >&2; exit 2 ;; esac
done
[ "$(id -u)" -eq 0 ] || { echo "build.sh: building for $abi needs root (mounts and chroot into $root)" >&2; exit 2; }
# In the root: the headers at their Debian path, the copy at /pvx-build.
rkdir=${kdir#"$root"}
unshare --mount --propagation private bash -c '
	set -e
	root=$1 out=$2 kdir=$3 jobs=$4
	shift 4
	mkdir -p "$root/pvx-build"
	mount --bind "$out" "$root/pvx-build"
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 sh -c "
		make -s $jobs -C $kdir M=/pvx-build W=1 \"\$@\" modules &&
		make -s $jobs -C $kdir M=/pvx-build/selftests/guest/kmod \
			KBUILD_EXTRA_SYMBOLS=/pvx-build/Module.symvers W=1 \"\$@\" modules
	" build "$@"
' build.sh "$root" "$out" "$rkdir" "$jobs" "$@" >&2
echo "$out"
