#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitrd-bench.sh ABI OUT.gz: build the L3 bench guest's initramfs.
#
# Contents: /bin/busybox (busybox-static), /init (init.sh beside this
# script), /pvx/{pvx_guest,pvx_spinlock,pvx_lock_bench}.ko from
# REPO/build/ABI/guest/ (scripts/build.sh ABI) and /pvx/pvx_ulock_bench
# from $PVX_SELFTESTS (default REPO/build/selftests; make -C this
# directory). Builds nothing itself, so that it also runs inside L2.
set -euo pipefail

die() { echo "mkinitrd-bench.sh: $*" >&2; exit 2; }

[ $# -eq 2 ] || die "usage: mkinitrd-bench.sh ABI OUT.gz"
abi=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
kos=$repo/build/$abi/guest
ubench=${PVX_SELFTESTS:-$repo/build/selftests}/pvx_ulock_bench
busybox=/bin/busybox

for m in pvx_guest pvx_spinlock pvx_lock_bench; do
	[ -f "$kos/$m.ko" ] || die "no $kos/$m.ko (run: scripts/build.sh $abi)"
done
[ -x "$ubench" ] || die "no $ubench (run: make -C selftests/guest/bench)"
[ -x "$busybox" ] || die "no $busybox (install busybox-static)"
if file -L "$busybox" 2>/dev/null | grep -q 'dynamically linked'; then
	die "$busybox is not static (install busybox-static)"
fi
command -v cpio >/dev/null || die "cpio missing (install cpio)"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,pvx}
cp "$busybox" "$root/bin/busybox"
install -m 0755 "$here/init.sh" "$root/init"
for m in pvx_guest pvx_spinlock pvx_lock_bench; do
	cp "$kos/$m.ko" "$root/pvx/"
done
cp "$ubench" "$root/pvx/pvx_ulock_bench"
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
