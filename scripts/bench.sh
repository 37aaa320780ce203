#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: benchmarks compare pvx with the stock alternative side by side
# in one lab run and print ratios. Features bring their benchmarks with them.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f scripts/bench-l2.sh ]; then
	echo "no benchmarks yet: the foundation has no feature to compare (see Documentation/pvx/bench.rst)"
	exit 0
fi
exec scripts/lab.sh --kernel "${SERIES:-6.12}" --tests bench
