#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitrd.sh ABI OUT.gz: build the L3 guest initramfs for kernel ABI.
#
# Contents: /bin/busybox (busybox-static; applets installed by /init),
# /init (init.sh beside this script), in /lib/pvx the kernel's modules for
# the results port (virtio_console over virtio_pci, with their load-order;
# none where they are built in), and in /pvx: the manifest's guest
# modules from REPO/build/ABI/guest/, its kmod-l3 test modules from
# REPO/build/ABI/selftests/guest/kmod/ (scripts/build.sh ABI), its prog-l3
# test programs from REPO/build/selftests/ (built here if missing), and
# pvxtop from REPO/build/pvxtop/pvxtop-static when the lab built it. The
# guest reads pvx_expect=host|fallback from its kernel command line; see
# init.sh.
set -euo pipefail

die() { echo "mkinitrd.sh: $*" >&2; exit 2; }

[ $# -eq 2 ] || die "usage: mkinitrd.sh ABI OUT.gz"
abi=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
selftests=${PVX_SELFTESTS:-$repo/build/selftests}
busybox=/bin/busybox

kos=""
for m in $("$repo/scripts/manifest.sh" guest); do
	kos="$kos $repo/build/$abi/guest/$m.ko"
done
for m in $("$repo/scripts/manifest.sh" kmod-l3); do
	kos="$kos $repo/build/$abi/selftests/guest/kmod/$m.ko"
done
for k in $kos; do
	[ -f "$k" ] || die "no $k (run: scripts/build.sh $abi)"
done
if file -L "$busybox" 2>/dev/null | grep -q 'dynamically linked'; then
	die "$busybox is not static (install busybox-static)"
fi
[ -x "$busybox" ] || die "no $busybox (install busybox-static)"
make -s -C "$here" OUT="$selftests" >&2 || die "cannot build the guest selftests"
command -v cpio >/dev/null || die "cpio missing (install cpio)"

root=$(mktemp -d)
chmod 0755 "$root"	# the image's /: tests drop to uid 65534 (nobody)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,pvx,lib/pvx}
cp "$busybox" "$root/bin/busybox"
install -m 0755 "$here/init.sh" "$root/init"
kimage=$("$repo/scripts/kernel.sh" image "$abi")
[ -d "$kimage/lib/modules/$abi" ] || die "no unpacked kernel $abi in $kimage (make deps)"
"$repo/scripts/kmods.sh" "$kimage" "$abi" "$root/lib/pvx" virtio_pci virtio_console ||
	die "cannot gather the results port's modules of $abi"
for k in $kos; do
	cp "$k" "$root/pvx/"
done
for t in $("$repo/scripts/manifest.sh" prog-l3); do
	cp "$selftests/$t" "$root/pvx/$t"
done
# optional: init.sh skips its pvxtop tests without it
if [ -x "$repo/build/pvxtop/pvxtop-static" ]; then
	cp "$repo/build/pvxtop/pvxtop-static" "$root/pvx/pvxtop"
fi
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -9) >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
