#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what pvx needs from Debian; quick when all is present.
#
#   deps.sh            install the packages below (apt-get), then put the
#                      lab's kernels and the headers of their -rt flavours
#                      (scripts/kernel.sh) and the lab's L2 QEMU 10
#                      (scripts/qemu.sh) into the project's cache, and
#                      the sid build root with the newest sid kernel's
#                      headers, image and modules (scripts/kernel.sh)
#   deps.sh packages   print the package list (for make check's test that
#                      it pulls in no kernel, bootloader or init system)
#
# Never installs or upgrades a kernel, a bootloader entry or the init
# system: kernel images and headers and QEMU 10 are unpacked into
# $PVX_CACHE (default /var/cache/pvx), not installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# gcc-12 and dwarves (pahole, for the modules' BTF on 6.12) are what the
# Debian headers packages would have pulled in; qemu-system-x86 is Debian
# 12's QEMU, which runs every L3 (inside L2, from L1's root) and brings
# the libraries the cache's QEMU 10 (L2's) links against; procps (pgrep,
# pkill) and file are not on a minimal Debian 12 (CI's debootstrap root
# showed it); pkg-config for libpvx's install test; dpkg-dev, debhelper
# and dh-dkms for make deb (dpkg-buildpackage of debian/), lintian for
# make check's test of its packages (dpkg-checkbuilddeps wants
# build-essential itself, not only gcc and make); debootstrap makes the sid build
# root for the newest kernel (scripts/kernel.sh); ovmf is the UEFI firmware
# of the lab's lockdown L2 boot, whose db (written by efitools'
# efi-updatevar) holds the key that signs pvx for it (openssl makes it).
PKGS="make build-essential gcc gcc-12 libc6-dev qemu-system-x86 busybox-static cpio kmod xz-utils
      zstd libelf-dev bc flex bison rsync dwarves libbpf-dev bpftool clang llvm
      sparse linux-perf linux-source-6.1 linux-source-6.12 socat procps file
      pkg-config dpkg-dev debhelper dh-dkms lintian debootstrap ovmf efitools openssl"

if [ "${1:-}" = packages ]; then
	echo $PKGS
	exit 0
fi
[ $# -eq 0 ] || { echo "deps.sh: unknown argument '$1' (usage: deps.sh [packages])" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "deps.sh: run as root (apt-get)" >&2; exit 2; }

PVX_CACHE=${PVX_CACHE:-/var/cache/pvx}
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
export DEBIAN_FRONTEND=noninteractive
stamp=$PVX_CACHE/apt-updated
mkdir -p "$PVX_CACHE"
# Refresh the package lists when something is missing or they are a day old:
# the archive drops old kernel ABIs.
if [ -n "$missing" ] || [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ]; then
	apt-get update -q
	touch "$stamp"
fi
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
for series in 6.1 6.12; do
	abi=$(scripts/kernel.sh fetch "$series")
	echo "deps: kernel $series -> $abi (image and headers unpacked in $PVX_CACHE/kernels)"
	# Only for make check's test that the modules refuse to build there.
	abi=$(scripts/kernel.sh fetch-rt "$series")
	echo "deps: kernel $series -rt headers -> $abi (unpacked in $PVX_CACHE/kernels)"
done
# The newest kernel (sid): a build root in the cache, never the machine's
# toolchain. A failure here (sid's archive moves daily) leaves 6.1 and 6.12
# set up; make check-sid then skips with the reason.
if abi=$(scripts/kernel.sh fetch sid); then
	echo "deps: kernel sid -> $abi (headers in the sid build root $PVX_CACHE/sid-root, image unpacked in $PVX_CACHE/kernels)"
else
	echo "deps: kernel sid not set up (see above); make check-sid will skip"
fi
echo "deps: the lab's QEMU 10 (L2) -> $(scripts/qemu.sh fetch)"
