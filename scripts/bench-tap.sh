# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by the benchmarks that run in L2 (bench-l2.sh, bench-numa-l2.sh):
# their environment (the repository, $PVX_BUILD/bench.env from bench.sh)
# and one TAP 13 stream: ok, not_ok, say (a "# " line), done_tap (the plan,
# and exit 0 only when nothing failed).
set -u
cd "${PVX_REPO:?}" || exit 1
# shellcheck disable=SC1091
[ -f "${PVX_BUILD:-}/bench.env" ] && . "$PVX_BUILD/bench.env"

n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $*"; }
say() { echo "# $*"; }
done_tap() { echo "1..$n"; [ "$fail" -eq 0 ]; exit $?; }

echo "TAP version 13"
