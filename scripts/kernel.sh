#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Which Debian kernel each supported series uses, and where its pieces are.
#
#   kernel.sh abi SERIES       newest ABI of SERIES (6.1 or 6.12) for which the
#                              archive has both the unsigned image and headers
#   kernel.sh installed SERIES newest ABI of SERIES set up in the cache
#   kernel.sh fetch SERIES     set up that ABI in the cache (below)
#   kernel.sh fetch-rt SERIES  set up only the headers of the PREEMPT_RT
#                              flavour of that ABI (6.1.0-56-amd64 ->
#                              6.1.0-56-rt-amd64), for make check's test
#                              that the modules refuse to build there
#   kernel.sh installed-rt SERIES  the -rt headers' ABI set up in the cache
#   kernel.sh kdir ABI         headers (kernel build tree) of ABI
#   kernel.sh image ABI        directory holding boot/vmlinuz-ABI, lib/modules
#
# Nothing is installed: the unsigned image, the headers, their -common part
# and the kbuild tools are downloaded with apt-get download and unpacked
# with dpkg -x into $PVX_CACHE/kernels/ABI/ (default cache /var/cache/pvx).
# Installing linux-headers-* would pull in linux-image-* on 6.12, and with
# it a new kernel in /boot, a bootloader entry and an initramfs: what the
# user's machine boots next is not ours to change. The lab boots the image
# in QEMU; the modules build against the unpacked headers.
set -euo pipefail

PVX_CACHE=${PVX_CACHE:-/var/cache/pvx}
# Bumped when what fetch puts in a kernel's directory changes: an older
# directory is set up again.
LAYOUT=2

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
kdir_of() { echo "$(image_dir "$1")/usr/src/linux-headers-$1"; }
is_complete() { [ "$(cat "$(image_dir "$1")/.pvx-layout" 2>/dev/null)" = "$LAYOUT" ]; }

installed_abi() {
	local series=$1 d abi
	for d in $(ls -d "$PVX_CACHE"/kernels/*/ 2>/dev/null | sort -rV); do
		abi=$(basename "$d")
		echo "linux-image-$abi-unsigned" | grep -Eq "$(image_re "$series")" || continue
		is_complete "$abi" || continue
		echo "$abi"
		return 0
	done
	return 1
}

# The packages of one ABI: the unsigned image, the headers and what the
# headers need to build modules (their -common part and linux-kbuild-*,
# both named in the headers' Depends).
abi_packages() {
	local abi=$1
	echo "linux-image-$abi-unsigned linux-headers-$abi"
	apt-cache show "linux-headers-$abi" | sed -n 's/^Depends: //p' | head -n1 |
		tr ',|' '\n\n' | awk '{print $1}' | grep -E '^linux-(headers-.*-common|kbuild-)'
}

# unpack DIR ABI TMP: unpack the packages downloaded into TMP into DIR
# (through DIR.tmp, so that an interrupted run leaves no half directory),
# point the headers' Makefile, which includes the -common part by absolute
# path, into DIR, and remove TMP.
unpack() {
	local dir=$1 abi=$2 tmp=$3 common deb
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	for deb in "$tmp"/*.deb; do
		dpkg -x "$deb" "$dir.tmp"
	done
	rm -rf "$tmp"
	# Image packages only: the headers alone have no modules to index.
	if [ -f "$dir.tmp/lib/modules/$abi/modules.builtin" ]; then
		depmod -b "$dir.tmp" "$abi"
	fi
	common=$(sed -n 's|^include /usr/src/\(linux-headers-[^/]*\)/Makefile$|\1|p' \
		"$dir.tmp/usr/src/linux-headers-$abi/Makefile")
	[ -n "$common" ] && [ -d "$dir.tmp/usr/src/$common" ] ||
		{ rm -rf "$dir.tmp"; die "unexpected layout of linux-headers-$abi"; }
	echo "include $dir/usr/src/$common/Makefile" >"$dir.tmp/usr/src/linux-headers-$abi/Makefile"
	echo "$LAYOUT" >"$dir.tmp/.pvx-layout"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
}

# download DIR PACKAGE...: apt-get download into DIR (a temporary one).
download() {
	local dir=$1
	shift
	(cd "$dir" && apt-get download -q "$@" 2>&1 |
		grep -v 'Download is performed unsandboxed' >&2) || true
}

fetch() {
	local series=$1 abi dir tmp
	abi=$(archive_abi "$series")
	dir=$(image_dir "$abi")
	if ! is_complete "$abi"; then
		tmp=$(mktemp -d); chmod 755 "$tmp"
		# shellcheck disable=SC2046
		download "$tmp" $(abi_packages "$abi")
		ls "$tmp"/linux-image-*.deb "$tmp"/linux-headers-"$abi"_*.deb \
			"$tmp"/linux-kbuild-*.deb >/dev/null 2>&1 ||
			{ rm -rf "$tmp"; die "could not download the packages of $abi"; }
		unpack "$dir" "$abi" "$tmp"
	fi
	echo "$abi"
}

# The PREEMPT_RT flavour of a (non-rt) ABI: 6.1.0-56-amd64 -> 6.1.0-56-rt-amd64.
rt_of() { echo "${1%-amd64}-rt-amd64"; }

# Only the headers, their -common-rt part and linux-kbuild-*: the rt image
# is never booted (the modules refuse to build for it, README), and the
# headers package is downloaded, not installed, because it depends on it.
fetch_rt() {
	local series=$1 abi dir tmp
	abi=$(rt_of "$(archive_abi "$series")")
	dir=$(image_dir "$abi")
	if ! is_complete "$abi"; then
		apt-cache show "linux-headers-$abi" >/dev/null 2>&1 ||
			die "no linux-headers-$abi in the archive"
		tmp=$(mktemp -d); chmod 755 "$tmp"
		# shellcheck disable=SC2046
		download "$tmp" "linux-headers-$abi" $(abi_packages "$abi" | sed 1d)
		ls "$tmp"/linux-headers-"$abi"_*.deb "$tmp"/linux-headers-*-common-rt_*.deb \
			"$tmp"/linux-kbuild-*.deb >/dev/null 2>&1 ||
			{ rm -rf "$tmp"; die "could not download the headers of $abi"; }
		unpack "$dir" "$abi" "$tmp"
	fi
	echo "$abi"
}

installed_rt_abi() {
	local abi
	abi=$(installed_abi "$1") || return 1
	abi=$(rt_of "$abi")
	is_complete "$abi" || return 1
	echo "$abi"
}

[ $# -eq 2 ] || die "usage: kernel.sh abi|installed|installed-rt|fetch|fetch-rt SERIES | kdir|image ABI"
case "$1" in
abi) check_series "$2"; archive_abi "$2" ;;
installed) check_series "$2"; installed_abi "$2" || die "no $2 kernel set up (run: make deps)" ;;
fetch) check_series "$2"; fetch "$2" ;;
installed-rt) check_series "$2"; installed_rt_abi "$2" || die "no $2 -rt headers set up (run: make deps)" ;;
fetch-rt) check_series "$2"; fetch_rt "$2" ;;
kdir) kdir_of "$2" ;;
image) image_dir "$2" ;;
*) die "unknown command '$1'" ;;
esac
