#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-newest: pvx on Debian sid's newest kernel (7.2 now,
# kernel.sh abi sid), which make check only builds for. Runs the lab suites of
# PVX_NEWEST_TESTS (default tinyvm,upstream: the host modules against a
# stock KVM through tiny VMs and the upstream KVM selftests of 7.2 with
# and without pvx_host; guest and numa add L3 Linux guests booting 7.2
# with pvx's guest modules and pvx_numa in an L2 of two NUMA nodes) in
# an L2 that boots sid's kernel, with its own results in
# build/check-newest/ and its own last line, "N passed, N failed, N
# skipped". Kept out of make check, which is at its time budget; .ci/run
# runs it after make check (Documentation/usage.rst, kernels.rst).
#
# Fails when a test fails, and when sid's kernel is not set up (make deps
# could not fetch it: sid's archive moves daily) or nothing passed: then
# 7.2 was not tested, and CI must say so rather than pass.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
RES=$REPO/build/check-newest
rm -rf "$RES"
mkdir -p "$RES"
# the guest and numa suites on request only: L2 triple-faults now and
# then on TCG's nested world switch (Documentation/lab.rst), often enough
# in the guest suite's L3 boots that the emulator, not pvx, would decide
# the result
TESTS=${PVX_NEWEST_TESTS:-tinyvm,upstream}
[[ "$TESTS" =~ ^[a-z]+(,[a-z]+)*$ ]] ||
	{ echo "check-newest.sh: PVX_NEWEST_TESTS must be a comma list of suites, got '$TESTS'" >&2; exit 2; }
T0=$(date +%s)

if ! abi=$(scripts/kernel.sh installed sid 2>&1); then
	{
		echo "TAP version 13"
		echo "1..1"
		echo "ok 1 lab suites $TESTS on sid's newest kernel # SKIP ${abi#kernel.sh: }"
	} | tee "$RES/all.tap"
	echo "check-newest: 0 passed, 0 failed, 1 skipped (sid's kernel not set up: 7.2 not tested)"
	exit 1
fi
echo "check-newest: lab suites $TESTS on $abi"
# --timeout: with other labs beside it, tinyvm took 371 s
# of L2 time on 7.2 and the guest suite's first L3 boot alone 505 s; the
# default 1500 s is too tight for both in one L2
scripts/lab.sh --kernel sid --tests "$TESTS" --timeout 2700 --out "$RES/lab" >"$RES/lab.log" 2>&1
lab_rc=$?
grep -E '^lab: (kernel|L2|time)' "$RES/lab.log" || true
cp "$RES/lab/all.tap" "$RES/all.tap" 2>/dev/null || : >"$RES/all.tap"
cat "$RES/all.tap"
read -r p f k < <(scripts/tap-count.sh "$RES/all.tap")
echo "check-newest: kernel $abi, $(($(date +%s) - T0)) s: $p passed, $f failed, $k skipped"
[ "$lab_rc" -eq 0 ] && [ "$f" -eq 0 ] && [ "$p" -gt 0 ]
