#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# pvh-kernel.sh BZIMAGE OUT: write the kernel ELF that BZIMAGE carries
# compressed to OUT, for QEMU's -kernel to boot through its PVH entry.
#
# Why: the lab's L2 runs under TCG, where the bzImage's own decompressor
# is slow (6.1's image is xz: 3.5 s of a quiet L2 boot); QEMU loads an
# ELF with a PVH note (XEN_ELFNOTE_PHYS32_ENTRY; CONFIG_PVH is set in
# Debian's kernels) at native speed. The boot protocol's header says
# where the payload is (Documentation/arch/x86/boot.rst: setup_sects at
# 0x1f1, payload_offset at 0x248 from the end of the setup code,
# payload_length at 0x24c); the build appends the uncompressed size (4
# bytes) to an xz or zstd payload, which is cut off here. No KASLR on
# that path: the kernel runs where it was linked, as the lab's nokaslr
# L2 does anyway.
set -euo pipefail

die() { echo "pvh-kernel.sh: $*" >&2; exit 2; }
[ $# -eq 2 ] || die "usage: pvh-kernel.sh BZIMAGE OUT"
image=$1 out=$2
[ -r "$image" ] || die "cannot read $image"

# le32 OFFSET / u8 OFFSET: a little-endian field of the image
le32() { od -An -t u4 -j "$1" -N 4 "$image" | tr -d ' '; }
u8() { od -An -t u1 -j "$1" -N 1 "$image" | tr -d ' '; }

[ "$(od -An -c -j 514 -N 4 "$image" | tr -d ' ')" = HdrS ] ||
	die "$image is not a bzImage (no HdrS at 0x202)"
setup=$(u8 497)
[ "$setup" -eq 0 ] && setup=4
start=$(((setup + 1) * 512 + $(le32 584)))
len=$(le32 588)
[ "$len" -gt 4 ] || die "$image: empty payload"
magic=$(od -An -t x1 -j "$start" -N 4 "$image" | tr -d ' ')
case "$magic" in
fd377a58) unpack=(xz -dc) len=$((len - 4)) ;;
28b52ffd) unpack=(zstd -dcq) len=$((len - 4)) ;;
1f8b*) unpack=(gzip -dc) ;;
*) die "$image: payload of an unknown compression (magic $magic)" ;;
esac
command -v "${unpack[0]}" >/dev/null || die "${unpack[0]} missing (run: make deps)"
# a file of its own: two labs of one kernel may write OUT at once
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
dd if="$image" iflag=skip_bytes,count_bytes skip="$start" count="$len" bs=1M status=none |
	"${unpack[@]}" >"$tmp"
[ "$(od -An -c -N 4 "$tmp" | tr -d ' ')" = 177ELF ] || die "$image: its payload is not an ELF"
chmod 644 "$tmp"
mv "$tmp" "$out"
