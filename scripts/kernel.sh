#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Which Debian kernel each supported series uses, and where its pieces are.
#
#   kernel.sh abi SERIES      newest ABI of SERIES (6.1 or 6.12) for which the
#                             archive has both the unsigned image and headers
#   kernel.sh installed SERIES newest ABI of SERIES whose headers are installed
#                             and whose image is unpacked in the cache
#   kernel.sh fetch SERIES    install headers + unpack the image of that ABI
#   kernel.sh kdir ABI        headers directory of ABI
#   kernel.sh image ABI       directory holding boot/vmlinuz-ABI, lib/modules
#
# The image is unpacked (dpkg -x), never installed: the lab boots it in QEMU.
set -euo pipefail

PVX_CACHE=${PVX_CACHE:-/var/cache/pvx}

die() { echo "kernel.sh: $*" >&2; exit 2; }

check_series() {
	case "$1" in
	6.1|6.12) ;;
	*) die "unknown kernel series '$1' (supported: 6.1, 6.12)" ;;
	esac
}

# Package-name patterns of one series; ABI is what sits between the
# "linux-image-" prefix and the "-amd64-unsigned" suffix.
image_re() {
	case "$1" in
	6.1) echo '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
	6.12) echo '^linux-image-6\.12\.[0-9]+\+deb[0-9]+-amd64-unsigned$' ;;
	esac
}

abi_of_image() { sed -e 's/^linux-image-//' -e 's/-unsigned$//'; }

archive_abi() {
	local series=$1 abi
	for abi in $(apt-cache search --names-only "$(image_re "$series")" |
		     awk '{print $1}' | abi_of_image | sort -rV); do
		if apt-cache show "linux-headers-$abi" >/dev/null 2>&1; then
			echo "$abi"
			return 0
		fi
	done
	die "no $series ABI with both linux-image-*-unsigned and linux-headers-* in the archive (run apt-get update?)"
}

image_dir() { echo "$PVX_CACHE/kernels/$1"; }

installed_abi() {
	local series=$1 abi
	for d in $(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -rV); do
		abi=${d#/usr/src/linux-headers-}
		echo "linux-image-$abi-unsigned" | grep -Eq "$(image_re "$series")" || continue
		[ -e "$(image_dir "$abi")/boot/vmlinuz-$abi" ] || continue
		echo "$abi"
		return 0
	done
	return 1
}

fetch() {
	local series=$1 abi dir tmp
	abi=$(archive_abi "$series")
	dir=$(image_dir "$abi")
	if [ ! -e "/usr/src/linux-headers-$abi/Makefile" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "linux-headers-$abi" >&2
	fi
	if [ ! -e "$dir/boot/vmlinuz-$abi" ]; then
		tmp=$(mktemp -d); chmod 755 "$tmp"
		(cd "$tmp" && apt-get download -q "linux-image-$abi-unsigned" >&2)
		mkdir -p "$dir.tmp"
		dpkg -x "$tmp"/linux-image-"$abi"-unsigned_*.deb "$dir.tmp"
		depmod -b "$dir.tmp" "$abi"
		rm -rf "$tmp" "$dir"
		mv "$dir.tmp" "$dir"
	fi
	echo "$abi"
}

[ $# -eq 2 ] || die "usage: kernel.sh abi|installed|fetch SERIES | kdir|image ABI"
case "$1" in
abi) check_series "$2"; archive_abi "$2" ;;
installed) check_series "$2"; installed_abi "$2" || die "no $2 kernel set up (run: make deps)" ;;
fetch) check_series "$2"; fetch "$2" ;;
kdir) echo "/usr/src/linux-headers-$2" ;;
image) image_dir "$2" ;;
*) die "unknown command '$1'" ;;
esac
