#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything pvx needs from Debian; quick when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "deps.sh: run as root (apt-get)" >&2; exit 2; }

PKGS="make gcc libc6-dev qemu-system-x86 busybox-static cpio kmod xz-utils
      zstd libelf-dev bc flex bison rsync libbpf-dev bpftool clang llvm sparse
      linux-perf linux-source-6.1 linux-source-6.12 socat"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
export DEBIAN_FRONTEND=noninteractive
stamp=/var/cache/pvx/apt-updated
mkdir -p /var/cache/pvx
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
	echo "deps: kernel $series -> $abi (headers + unpacked image)"
done
