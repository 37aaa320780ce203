#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: benchmarks compare pvx with the stock alternative side by side
# in one lab run and print ratios (Documentation/bench.rst).
#
#   scripts/bench.sh [lab.sh options]     SERIES=6.1|6.12 (default 6.12)
#
# Builds, on this machine, the modules, the userspace lock benchmark and
# the L3 bench initramfs (build/ABI/l3-bench-initrd.gz), then runs the lab
# with the bench suite: scripts/bench-l2.sh in L2 boots an L3 guest with
# twice as many vCPUs as L2 has CPUs and prints the table.
#
# PVX_BENCH_* variables (scripts/bench-l2.sh lists them) reach L2 through
# build/ABI/bench.env.
set -euo pipefail
cd "$(dirname "$0")/.."
series=${SERIES:-6.12}
abi=$(scripts/kernel.sh installed "$series") || exit 2
echo "bench: building modules, pvx_ulock_bench and the bench initramfs for $abi"
scripts/build.sh "$abi" >/dev/null
make -s -C selftests/guest/bench OUT="$PWD/build/selftests"
selftests/guest/bench/mkinitrd-bench.sh "$abi" "build/$abi/l3-bench-initrd.gz" >/dev/null
env | grep '^PVX_BENCH_[A-Z_]*=[0-9A-Za-z_./,-]*$' | sed 's/^/export /' >"build/$abi/bench.env" || true
exec scripts/lab.sh --kernel "$series" --tests bench --no-build "$@"
