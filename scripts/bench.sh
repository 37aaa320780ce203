#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: benchmarks compare pvx with the stock alternative side by side
# in one lab run and print ratios (Documentation/bench.rst).
#
#   scripts/bench.sh [lab.sh options]     SERIES=6.1|6.12 (default 6.12)
#                                         PVX_BENCH=hcall,locks,timers,numa
#                                         (default all four; also ulocks
#                                         forkcopy and ksm)
#
# Builds, on this machine, the modules, the userspace benchmarks, the
# tiny-VM programs of selftests/host and (for locks and timers) the L3
# bench initramfs (build/ABI/l3-bench-initrd.gz), then runs the lab with
# the bench suite: scripts/bench-l2.sh in L2 runs the hypercall
# microbenchmark (tiny VMs, with and without pvx_host,
# selftests/host/pvx_hcall_bench -B), the lock benchmark (an L3 guest with
# twice as many vCPUs as L2 has CPUs, selftests/host/pvx_bench_locks) and
# the retransmit-timeout benchmark (an L3 guest with injected steal,
# selftests/host/pvx_bench_timers) and prints
# their tables; the NUMA hint benchmark (numa) runs in the lab's second,
# two-node L2 (suite numabench, selftests/host/pvx_bench_numa.c). forkcopy (the
# fork-copy benchmark, selftests/host/pvx_bench_fork) reloads L2's kvm_amd
# with npt=1 and npt=0 and boots L3 guests with each. ksm (the KSM hint
# benchmark, selftests/host/pvx_bench_ksm) runs KSM in L2 over two L3 guests,
# blind, with pvx's hints, and with the hints and zero_free=1.
#
# hcall runs twice: in the main L2 (emulated time) and before it in an
# L2 of 1 CPU whose clock counts instructions (PVX_LAB_ICOUNT=0,
# results in build/lab-ABI-icount/).
#
# The PVX_BENCH_* knobs (Documentation/bench.rst) reach L2 through
# build/ABI/bench.env.
set -euo pipefail
cd "$(dirname "$0")/.."
series=${SERIES:-6.12}
PVX_BENCH=${PVX_BENCH:-hcall,locks,timers,numa}
IFS=, read -r -a benches <<<"$PVX_BENCH"
[ ${#benches[@]} -gt 0 ] || { echo "bench.sh: PVX_BENCH is empty (hcall, locks, ulocks, timers, numa, forkcopy, ksm)" >&2; exit 2; }
l3=0 main=0 numa=0 suites=""
for b in "${benches[@]}"; do
	case "$b" in
	hcall) main=1 ;;
	locks | ulocks | timers | forkcopy | ksm) l3=1 main=1 ;;
	numa) l3=1 numa=1 ;;
	*) echo "bench.sh: unknown benchmark '$b' in PVX_BENCH (hcall, locks, ulocks, timers, numa, forkcopy, ksm)" >&2; exit 2 ;;
	esac
done
# the lab's suites: bench in L2 'main', numabench in the two-node L2
[ "$main" = 1 ] && suites=bench
[ "$numa" = 1 ] && suites=${suites:+$suites,}numabench
export PVX_BENCH
# the knobs reach L2 as lines of a shell file (bench_env below): a value
# with other characters would be dropped there, so it is refused here
bad=$(env | grep -E '^PVX_BENCH(_[A-Z0-9_]*)?=' |
	grep -vE '^PVX_BENCH(_[A-Z0-9_]*)?=[0-9A-Za-z_./,-]*$' | head -n 1 | cut -d= -f1 || true)
if [ -n "$bad" ]; then
	echo "bench.sh: $bad may hold only letters, digits and _ . / , - (it reaches L2 in a shell file)" >&2; exit 2
fi
# PVX_BENCH_HCALL_MEASURE: both (default), time or instructions.
measure=${PVX_BENCH_HCALL_MEASURE:-both}
case "$measure" in
both | time | instructions) ;;
*) echo "bench.sh: PVX_BENCH_HCALL_MEASURE must be both, time or instructions, got '$measure'" >&2; exit 2 ;;
esac
# the lock benchmark's kernel rounds (pvx_bench_locks keeps 64 a run) and
# the ticket lock's rounds, run before them (unset: the guest's 5, or as
# many as the others when fewer, what the check below then sees)
rounds=${PVX_BENCH_ROUNDS:-18}
if ! [[ "$rounds" =~ ^[0-9]+$ ]] || [ "$rounds" -lt 1 ] || [ "$rounds" -gt 64 ]; then
	echo "bench.sh: PVX_BENCH_ROUNDS must be 1..64, got '$rounds'" >&2; exit 2
fi
ticket_rounds=${PVX_BENCH_TICKET_ROUNDS:-$((rounds < 5 ? rounds : 5))}
if ! [[ "$ticket_rounds" =~ ^[0-9]+$ ]] || [ "$ticket_rounds" -lt 1 ] ||
	[ "$ticket_rounds" -gt "$rounds" ]; then
	echo "bench.sh: PVX_BENCH_TICKET_ROUNDS must be 1..PVX_BENCH_ROUNDS ($rounds), got '$ticket_rounds'" >&2; exit 2
fi
# pvx_lock_bench's rate (per thread and second; 0: closed loop), checked
# here: the module refuses a bad one only inside L3, after the boots
rate=${PVX_BENCH_RATE:-0}
if ! [[ "$rate" =~ ^[0-9]+$ ]] || [ "${#rate}" -gt 8 ] || [ "$rate" -gt 10000000 ]; then
	echo "bench.sh: PVX_BENCH_RATE must be 0..10000000 acquisitions a second per thread, got '$rate'" >&2; exit 2
fi
abi=$(scripts/kernel.sh installed "$series") || exit 2
echo "bench: building modules, the userspace benchmarks and the bench initramfs for $abi"
scripts/build.sh "$abi" >/dev/null
make -s -C selftests/host OUT="$PWD/build/selftests"
if [ "$l3" = 1 ]; then
	make -s -C selftests/guest OUT="$PWD/build/selftests"
	make -s -C selftests/guest/bench OUT="$PWD/build/selftests"
	selftests/guest/bench/mkinitrd-bench.sh "$abi" "build/$abi/l3-bench-initrd.gz" >/dev/null
fi
bench_env() { # the PVX_BENCH* variables L2 sees, then "$@" as NAME=VALUE
	{
		env | grep -E '^PVX_BENCH(_[A-Z0-9_]*)?=[0-9A-Za-z_./,-]*$' || true
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} | sed 's/^/export /' >"build/$abi/bench.env"
}
rc=0
# hcall also runs in an L2 of 1 CPU whose clock counts instructions
# (PVX_LAB_ICOUNT=0): its table gives instructions per call, the same in
# every run whatever else the machine does; the main L2's gives emulated
# time, where TCG's cost of the world switch dominates (bench.rst).
if [[ ",$PVX_BENCH," == *,hcall,* && "$measure" != time ]]; then
	bench_env PVX_BENCH=hcall PVX_BENCH_HCALL_ICOUNT=1
	echo "bench: hcall in an L2 that counts instructions (icount, 1 CPU)"
	PVX_LAB_ICOUNT=0 scripts/lab.sh --kernel "$series" --tests bench --no-build "$@" \
		--l2-cpus 1 --out "build/lab-$abi-icount" || rc=1
fi
# only hcall's instruction table asked for: no main L2
[ "$measure" = instructions ] && [ "$PVX_BENCH" = hcall ] && exit $rc
bench_env
# ksm boots two L3 guests of 512 MiB per case (13 min of L2 on 6.12, more
# when a boot is tried again), numa 22 L3 guests (its room series): past
# lab.sh's default limit of 1500 s per L2 boot; an option given to
# bench.sh comes later and wins
long_limit=()
# locks: 18 kernel rounds and the userspace ones, up to pvx_bench_locks's
# 1800 s for its L3 guest
[[ ",$PVX_BENCH," == *,locks,* ]] && long_limit=(--timeout 2400)
[[ ",$PVX_BENCH," == *,numa,* ]] && long_limit=(--timeout 3600)
# ksm's lever series boots four L3 guests per case, three cases: another
# 30 min
[[ ",$PVX_BENCH," == *,ksm,* ]] && long_limit=(--timeout 5400)
scripts/lab.sh --kernel "$series" --tests "$suites" --no-build "${long_limit[@]}" "$@" || rc=1
exit $rc
