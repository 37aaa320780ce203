#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kmods.sh KIMAGE ABI DIR MODULE...: the module files of kernel ABI
# (unpacked under KIMAGE by kernel.sh) that MODULE... need, dependencies
# first, decompressed into DIR, their names appended in load order to
# DIR/load-order (an initramfs's /init insmods them in that order).
# Used for L2's initramfs (lab.sh) and L3's (mkinitrd.sh).
#
# sid's linux-modules-* package ships no modules.builtin (kernels.rst), so
# modprobe cannot tell a built-in module (virtio_pci on 7.2) from a
# missing one there: without that file, one it does not find is taken as
# built in, and said so on stderr.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: kmods.sh KIMAGE ABI DIR MODULE..." >&2; exit 2; }
kimage=$1 abi=$2 dir=$3
shift 3
mkdir -p "$dir"
touch "$dir/load-order"
for mod in "$@"; do
	if ! deps=$(modprobe -d "$kimage" -S "$abi" --show-depends "$mod" 2>&1); then
		if [ -f "$kimage/lib/modules/$abi/modules.builtin" ]; then
			echo "kmods.sh: $mod: $deps" >&2
			exit 1
		fi
		echo "kmods.sh: $mod is no module of $abi (no modules.builtin): taken as built in" >&2
		continue
	fi
	awk '$1 == "insmod" { print $2 }' <<<"$deps"
done | awk '!seen[$0]++' | while read -r ko; do
	name=$(basename "$ko")
	case "$ko" in
	*.xz) name=${name%.xz}; xz -dc "$ko" >"$dir/$name" ;;
	*.zst) name=${name%.zst}; zstd -qdc "$ko" >"$dir/$name" ;;
	*) cp "$ko" "$dir/$name" ;;
	esac
	grep -qx "$name" "$dir/load-order" || echo "$name" >>"$dir/load-order"
done
