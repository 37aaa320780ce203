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
make -s -C "$kdir" M="$out" W=1 "$@" modules >&2
make -s -C "$kdir" M="$out/selftests/guest/kmod" KBUILD_EXTRA_SYMBOLS="$out/Module.symvers" \
	W=1 "$@" modules >&2
echo "$out"
