#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Which Debian kernel each supported series uses, and where its pieces are.
#
#   kernel.sh abi SERIES       newest ABI of SERIES (6.1 or 6.12) for which the
#                              archive has both the unsigned image and headers;
#                              for SERIES sid: the newest linux-headers-*-amd64
#                              of Debian unstable that also has its
#                              linux-binary-* and linux-modules-* (picked
#                              anew, never named here)
#   kernel.sh installed SERIES newest ABI of SERIES set up in the cache
#   kernel.sh fetch SERIES     set up that ABI in the cache (below)
#   kernel.sh fetch-rt SERIES  set up only the headers of the PREEMPT_RT
#                              flavour of that ABI (6.1.0-56-amd64 ->
#                              6.1.0-56-rt-amd64), for make check's test
#                              that the modules refuse to build there
#   kernel.sh installed-rt SERIES  the -rt headers' ABI set up in the cache
#   kernel.sh kdir ABI         headers (kernel build tree) of ABI
#   kernel.sh image ABI        directory holding boot/vmlinuz-ABI, lib/modules
#   kernel.sh root ABI         the build root ABI's headers need (sid), or
#                              nothing when they build on this machine
#
# Nothing is installed: the unsigned image, the headers, their -common part
# and the kbuild tools are downloaded with apt-get download and unpacked
# with dpkg -x into $PVX_CACHE/kernels/ABI/ (default cache /var/cache/pvx).
# Installing linux-headers-* would pull in linux-image-* on 6.12, and with
# it a new kernel in /boot, a bootloader entry and an initramfs: what the
# user's machine boots next is not ours to change. The lab boots the image
# in QEMU; the modules build against the unpacked headers.
#
# sid: its headers need sid's toolchain (gcc-16, a kbuild linked against a
# newer glibc than Debian 12's), so they are installed with apt-get inside
# a sid build root that debootstrap makes in $PVX_CACHE/sid-root (minbase
# plus the compiler and kbuild's tools), from the mirror this machine's apt
# uses for bookworm; build.sh builds inside it (Documentation/kernels.rst).
# The image and modules (linux-binary-*, linux-modules-*) are downloaded in
# that root and unpacked with dpkg -x into $PVX_CACHE/kernels/ABI/ like the
# others. Nothing of it touches the machine outside the cache. The headers
# of sid are not under $PVX_CACHE/kernels/*/usr/src, so the Makefile's
# default KDIR never picks them.
set -euo pipefail

PVX_CACHE=${PVX_CACHE:-/var/cache/pvx}
# Bumped when what fetch puts in a kernel's directory changes: an older
# directory is set up again.
LAYOUT=2

die() { echo "kernel.sh: $*" >&2; exit 2; }

check_series() {
	case "$1" in
	6.1|6.12|sid) ;;
	*) die "unknown kernel series '$1' (supported: 6.1, 6.12, sid)" ;;
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
SID_ROOT=$PVX_CACHE/sid-root
# The ABIs set up from sid carry this file; their headers live in SID_ROOT.
SID_MARK=.pvx-sid
kdir_of() {
	if [ -f "$(image_dir "$1")/$SID_MARK" ]; then
		echo "$SID_ROOT/usr/src/linux-headers-$1"
	else
		echo "$(image_dir "$1")/usr/src/linux-headers-$1"
	fi
}
is_complete() { [ "$(cat "$(image_dir "$1")/.pvx-layout" 2>/dev/null)" = "$LAYOUT" ]; }

installed_abi() {
	local series=$1 d abi
	if [ "$series" = sid ]; then
		for d in $(ls -d "$PVX_CACHE"/kernels/*/"$SID_MARK" 2>/dev/null | sort -rV); do
			abi=$(basename "$(dirname "$d")")
			is_complete "$abi" && [ -f "$(kdir_of "$abi")/Module.symvers" ] || continue
			echo "$abi"
			return 0
		done
		return 1
	fi
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
# is never booted (the modules refuse to build for it, Documentation/usage.rst), and the
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

# --- sid -------------------------------------------------------------------

# The mirror this machine's apt uses for bookworm (as .ci/run finds it).
host_mirror() {
	apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
		awk '$2 == "bookworm" { print $1; exit }'
}

# in_root CMD...: run CMD in the sid root with a clean environment, /proc
# and /dev mounted in a private mount namespace (they go away with it).
in_root() {
	unshare --mount --propagation private sh -c '
		r=$1; shift
		mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" &&
		exec chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"
	' in_root "$SID_ROOT" "$@"
}

# The sid build root: made once (through SID_ROOT.tmp, so that an
# interrupted run leaves no half root), then quick. Its package lists are
# refreshed once a day: sid drops old kernel ABIs within days.
sid_root() {
	local mirror log=$PVX_CACHE/sid-root.log
	if [ ! -f "$SID_ROOT/.pvx-root" ]; then
		command -v debootstrap >/dev/null || die "debootstrap is missing (make deps installs it)"
		mirror=$(host_mirror)
		[ -n "$mirror" ] || die "no bookworm entry in this machine's apt sources (run apt-get update?)"
		rm -rf --one-file-system "$SID_ROOT.tmp"
		mkdir -p "$PVX_CACHE"
		echo "kernel.sh: debootstrap sid (minbase + gcc-16) into $SID_ROOT" >&2
		debootstrap --variant=minbase \
			--include=gcc-16,make,libc6-dev,kmod,xz-utils,bc,flex,bison,libelf-dev,pahole \
			sid "$SID_ROOT.tmp" "$mirror" >"$log" 2>&1 ||
			{ tail -n 20 "$log" >&2; rm -rf --one-file-system "$SID_ROOT.tmp"; die "debootstrap sid failed (log: $log)"; }
		echo "deb $mirror sid main" >"$SID_ROOT.tmp/etc/apt/sources.list"
		# The signature is checked, its expiry date not (as debootstrap
		# does): a mirror that lags behind this machine's clock would
		# otherwise leave the root without package lists.
		echo 'Acquire::Check-Valid-Until "false";' >"$SID_ROOT.tmp/etc/apt/apt.conf.d/99pvx-valid-until"
		touch "$SID_ROOT.tmp/.pvx-root"
		rm -rf --one-file-system "$SID_ROOT"
		mv "$SID_ROOT.tmp" "$SID_ROOT"
	fi
	cp /etc/resolv.conf "$SID_ROOT/etc/resolv.conf" 2>/dev/null || true
	if [ -z "$(find "$SID_ROOT/.pvx-apt-updated" -mmin -1440 2>/dev/null)" ]; then
		in_root apt-get update -q >"$log" 2>&1 ||
			{ tail -n 20 "$log" >&2; die "apt-get update in the sid root failed (log: $log)"; }
		touch "$SID_ROOT/.pvx-apt-updated"
	fi
}

# Newest sid ABI whose headers, image and modules are all in the archive.
sid_archive_abi() {
	local abi
	for abi in $(in_root apt-cache search --names-only '^linux-headers-[0-9][^ ]*-amd64$' |
		     awk '{print $1}' | sed 's/^linux-headers-//' | grep -v -- '-rt-amd64$' |
		     grep -v -- '-cloud-amd64$' | sort -rV); do
		if in_root apt-cache show "linux-binary-$abi" >/dev/null 2>&1 &&
		   in_root apt-cache show "linux-modules-$abi" >/dev/null 2>&1; then
			echo "$abi"
			return 0
		fi
	done
	die "no sid ABI with linux-headers-*, linux-binary-* and linux-modules-* in the archive"
}

# Headers installed in the sid root (apt-get: they pull in gcc-16 and
# kbuild, which is what the root is for); image and modules unpacked into
# $PVX_CACHE/kernels/ABI/ as for the other series, with boot/vmlinuz-ABI
# where the lab looks for it and lib -> usr/lib for depmod and modprobe -d.
fetch_sid() {
	local abi dir log=$PVX_CACHE/sid-root.log deb
	sid_root
	abi=$(sid_archive_abi)
	dir=$(image_dir "$abi")
	if ! is_complete "$abi" || [ ! -f "$(kdir_of "$abi")/Module.symvers" ]; then
		in_root apt-get install -y -q --no-install-recommends "linux-headers-$abi" >"$log" 2>&1 ||
			{ tail -n 20 "$log" >&2; die "installing linux-headers-$abi in the sid root failed (log: $log)"; }
		rm -rf "$SID_ROOT/tmp/pvx-debs"
		mkdir -p "$SID_ROOT/tmp/pvx-debs"
		in_root sh -c "cd /tmp/pvx-debs && apt-get download -q linux-binary-$abi linux-modules-$abi" >"$log" 2>&1 ||
			{ tail -n 20 "$log" >&2; die "downloading the image of $abi failed (log: $log)"; }
		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp"
		for deb in "$SID_ROOT"/tmp/pvx-debs/*.deb; do
			dpkg -x "$deb" "$dir.tmp"
		done
		rm -rf "$SID_ROOT/tmp/pvx-debs"
		[ -e "$dir.tmp/lib" ] || ln -s usr/lib "$dir.tmp/lib"
		[ -f "$dir.tmp/lib/modules/$abi/vmlinuz" ] ||
			{ rm -rf "$dir.tmp"; die "unexpected layout of linux-binary-$abi (no vmlinuz)"; }
		mkdir -p "$dir.tmp/boot"
		ln -sf "../lib/modules/$abi/vmlinuz" "$dir.tmp/boot/vmlinuz-$abi"
		depmod -b "$dir.tmp" "$abi"
		touch "$dir.tmp/$SID_MARK"
		echo "$LAYOUT" >"$dir.tmp/.pvx-layout"
		rm -rf "$dir"
		mv "$dir.tmp" "$dir"
	fi
	sid_source "$abi"
	echo "$abi"
}

# sid_source ABI: the kernel source of ABI's version (linux-source-X.Y of
# sid, 164 MB for 7.2) with its tarball in $PVX_CACHE/kernels/ABI/usr/src,
# where dpkg -x puts it: the upstream KVM selftests of that version build
# from it (selftests/host/kvm-upstream.sh). Fetched once; a sid that no
# longer has it leaves only that suite without its tests (a warning here,
# a failure there).
sid_source() {
	local abi=$1 dir ver log=$PVX_CACHE/sid-root.log deb
	dir=$(image_dir "$abi")
	ver=$(echo "$abi" | cut -d. -f1,2)
	[ -f "$dir/usr/src/linux-source-$ver.tar.xz" ] && return 0
	rm -rf "$SID_ROOT/tmp/pvx-src" "$dir/src.tmp"
	mkdir -p "$SID_ROOT/tmp/pvx-src"
	if ! in_root sh -c "cd /tmp/pvx-src && apt-get download -q linux-source-$ver" >"$log" 2>&1; then
		echo "kernel.sh: warning: linux-source-$ver not downloaded from sid (log: $log); the upstream KVM selftests of $abi cannot be built" >&2
		rm -rf "$SID_ROOT/tmp/pvx-src"
		return 0
	fi
	for deb in "$SID_ROOT"/tmp/pvx-src/*.deb; do
		dpkg -x "$deb" "$dir/src.tmp"
	done
	rm -rf "$SID_ROOT/tmp/pvx-src"
	mkdir -p "$dir/usr/src"
	mv "$dir/src.tmp/usr/src/linux-source-$ver.tar.xz" "$dir/usr/src/" ||
		echo "kernel.sh: warning: linux-source-$ver holds no usr/src/linux-source-$ver.tar.xz" >&2
	rm -rf "$dir/src.tmp"
}

# root ABI: the build root whose headers ABI needs, or nothing (for the
# others, which build on this machine).
root_of() {
	if [ -f "$(image_dir "$1")/$SID_MARK" ]; then echo "$SID_ROOT"; fi
}

[ $# -eq 2 ] || die "usage: kernel.sh abi|installed|installed-rt|fetch|fetch-rt SERIES | kdir|image|root ABI"
case "$1" in
abi) check_series "$2"
	if [ "$2" = sid ]; then sid_root; sid_archive_abi; else archive_abi "$2"; fi ;;
installed) check_series "$2"; installed_abi "$2" || die "no $2 kernel set up (run: make deps)" ;;
fetch) check_series "$2"; if [ "$2" = sid ]; then fetch_sid; else fetch "$2"; fi ;;
installed-rt|fetch-rt) [ "$2" != sid ] || die "no -rt headers are set up for sid" ;;&
installed-rt) check_series "$2"; installed_rt_abi "$2" || die "no $2 -rt headers set up (run: make deps)" ;;
fetch-rt) check_series "$2"; fetch_rt "$2" ;;
kdir) kdir_of "$2" ;;
image) image_dir "$2" ;;
root) root_of "$2" ;;
*) die "unknown command '$1'" ;;
esac
