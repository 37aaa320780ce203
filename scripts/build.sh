#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build.sh ABI [make args...]: build all modules against the Debian headers
# of ABI in build/ABI/ (a copy of the sources, so that two kernels can be
# built from one checkout without mixing objects). W=1 by default.
# Prints the directory that holds host/*.ko and guest/*.ko.
set -euo pipefail
cd "$(dirname "$0")/.."
abi=${1:?usage: build.sh ABI}
shift
kdir=$(scripts/kernel.sh kdir "$abi")
[ -f "$kdir/Module.symvers" ] || { echo "build.sh: no headers for $abi at $kdir (make deps)" >&2; exit 2; }
out=build/$abi
mkdir -p "$out"
rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' \
	--exclude='.*.cmd' --exclude='Module.symvers' --exclude='modules.order' \
	Kbuild host guest uapi "$out/"
make -s -C "$kdir" M="$PWD/$out" W=1 "$@" modules >&2
echo "$PWD/$out"
