#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitrd-bench.sh ABI OUT.gz: build the L3 bench guest's initramfs.
#
# Contents: /init (pvx_bench_guest, static: it runs the benchmark the
# kernel command line names), /pvx/{pvx_guest,pvx_spinlock,pvx_stimer,
# pvx_locality,pvx_fork,pvx_ksm_guest}.ko
# from REPO/build/ABI/guest/ and /pvx/{pvx_lock_bench,pvx_stimer_bench}.ko
# from REPO/build/ABI/selftests/guest/kmod/ (scripts/build.sh ABI), and
# /pvx/{pvx_ulock_bench,pvx_stimer_ubench,pvx_steal_share,pvx_numa_work,
# pvx_fork_bench,pvx_ksm_bench} from
# $PVX_SELFTESTS (default REPO/build/selftests; make -C this directory and
# its parent). Builds nothing itself, so that it also runs inside L2.
set -euo pipefail

die() { echo "mkinitrd-bench.sh: $*" >&2; exit 2; }

[ $# -eq 2 ] || die "usage: mkinitrd-bench.sh ABI OUT.gz"
abi=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
# where each module is: the product, or the test and bench modules
ko_path() {
	case "$1" in
	pvx_lock_bench|pvx_stimer_bench) echo "$repo/build/$abi/selftests/guest/kmod/$1.ko" ;;
	*) echo "$repo/build/$abi/guest/$1.ko" ;;
	esac
}
bins=${PVX_SELFTESTS:-$repo/build/selftests}
mods="pvx_guest pvx_spinlock pvx_lock_bench pvx_stimer pvx_stimer_bench pvx_locality pvx_fork pvx_ksm_guest"
progs="pvx_ulock_bench pvx_stimer_ubench pvx_steal_share pvx_numa_work pvx_fork_bench pvx_ksm_bench"

for m in $mods; do
	[ -f "$(ko_path "$m")" ] || die "no $(ko_path "$m") (run: scripts/build.sh $abi)"
done
for p in $progs; do
	[ -x "$bins/$p" ] || die "no $bins/$p (run: make -C selftests/guest/bench; make -C selftests/guest)"
done
[ -x "$bins/pvx_bench_guest" ] || die "no $bins/pvx_bench_guest (run: make -C selftests/guest/bench)"
command -v cpio >/dev/null || die "cpio missing (install cpio)"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{dev,proc,sys,tmp,pvx}
install -m 0755 "$bins/pvx_bench_guest" "$root/init"
for m in $mods; do
	cp "$(ko_path "$m")" "$root/pvx/"
done
for p in $progs; do
	cp "$bins/$p" "$root/pvx/$p"
done
# virtio_balloon (free page reporting, the fork-copy benchmark's unbacked
# case) and what it needs on 6.1, decompressed (finit_module), from the
# kernel's image directory when there is one ($PVX_KIMAGE in L2)
kimage=${PVX_KIMAGE:-$("$repo/scripts/kernel.sh" image "$abi" 2>/dev/null || true)}
mkdir -p "$root/pvx/virtio"
for m in virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_balloon; do
	f=$(find "$kimage/lib/modules/$abi/kernel/drivers/virtio" -name "$m.ko*" 2>/dev/null | head -n 1)
	case "$f" in
	"") ;;
	*.xz) xz -dc "$f" >"$root/pvx/virtio/$m.ko" ;;
	*) cp "$f" "$root/pvx/virtio/$m.ko" ;;
	esac
done
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
