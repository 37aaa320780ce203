#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmarks, inside the L2 KVM host; started by scripts/l2-run.sh for
# `lab.sh --tests bench` (make bench). PVX_BENCH=hcall,locks,timers
# (default all three, in that order) selects them: the hypercall
# microbenchmark of issue 14 (selftests/host/pvx_hcall_bench -B: tiny
# VMs, run first, while no L3 guest loads L2), the lock benchmark of issue
# 3 (selftests/host/pvx_bench_locks; PVX_BENCH=ulocks: its userspace part
# alone) and the retransmit-timeout benchmark of issue 4
# (selftests/host/pvx_bench_timers); PVX_BENCH=forkcopy, the fork-copy
# benchmark of issue 10 (selftests/host/pvx_bench_fork: kvm_amd npt=1,
# then npt=0, L3 guests with each); PVX_BENCH=ksm, the KSM benchmark of
# issue 11 (selftests/host/pvx_bench_ksm: two L3 guests per case with
# KSM in L2, and the lever series).
#
# A benchmark in C ($PVX_SELFTESTS/pvx_bench_*) prints its own TAP, nested
# here as one subtest (scripts/ktap-nest.sh); one still in shell is
# sourced and prints its tests into this stream, after the setup they
# share (the environment, pvx_host and pvx_yield).
#
# Output: TAP 13; tables, floors and raw lines are "#" lines. Floors are
# reported, never asserted. Environment (set by the lab): PVX_REPO,
# PVX_ABI, PVX_BUILD, PVX_KIMAGE, PVX_L3_MEM, PVX_OUT, PVX_SELFTESTS;
# the PVX_BENCH_* knobs of each benchmark (listed in its program or
# script), which scripts/bench.sh passes through $PVX_BUILD/bench.env.
# shellcheck source=scripts/bench-tap.sh
. "$(dirname "$0")/bench-tap.sh"
# which benchmarks: scripts/bench.sh checks the value
benches=${PVX_BENCH:-hcall,locks,timers}

# program NAME PROGRAM ARGS...: $PVX_SELFTESTS/PROGRAM ARGS..., its TAP
# (also in $PVX_OUT/bench-NAME.tap) as the subtest NAME (bench_nest)
program() { bench_nest "$1" "$PVX_OUT/bench-$1.tap" "$PVX_SELFTESTS/$2" "${@:3}"; }

# --- the host set-up the L3 benchmarks share ---------------------------------
# (kernel, initrd and timeout_s for their command lines)
# shellcheck disable=SC2034
shell_setup() {
	local v m
	for v in PVX_ABI PVX_BUILD PVX_KIMAGE PVX_L3_MEM PVX_OUT; do
		if [ -z "${!v:-}" ]; then
			not_ok "bench environment # $v is not set"
			done_tap
		fi
	done
	timeout_s=${PVX_BENCH_TIMEOUT:-1800}
	kernel=$PVX_KIMAGE/boot/vmlinuz-$PVX_ABI
	initrd=${PVX_BENCH_INITRD:-$PVX_BUILD/l3-bench-initrd.gz}
	for m in pvx_host pvx_yield; do
		if [ "$m" = pvx_yield ] && [ ! -f "$PVX_BUILD/host/$m.ko" ]; then
			say "no $PVX_BUILD/host/$m.ko: the guest falls back (no PVX_HC_YIELD)"
		elif grep -q "^$m " /proc/modules || insmod "$PVX_BUILD/host/$m.ko" 2>/tmp/insmod.err; then
			ok "$m loaded"
		else
			not_ok "$m loaded # $(head -n1 /tmp/insmod.err)"
		fi
	done
}
shell_ready=0
# in_shell COMMAND...: a benchmark that wants the set-up above (once)
in_shell() {
	[ "$shell_ready" = 1 ] || shell_setup
	shell_ready=1
	"$@"
}

# The fork-copy benchmark (Documentation/fork_copy.rst): one C program,
# its TAP nested as one test
# shellcheck disable=SC2317 # (called through in_shell)
fork_bench() {
	bench_nest "fork bench (pvx_bench_fork)" "$PVX_OUT/bench-fork.tap" \
		"$PVX_SELFTESTS/pvx_bench_fork" "$kernel" "$initrd"
}

# The KSM benchmark (Documentation/ksm.rst): its paths expand after the
# set-up, inside the function
# shellcheck disable=SC2317 # (called through in_shell)
ksm_bench() { program ksm pvx_bench_ksm "$kernel" "$initrd"; }

for b in ${benches//,/ }; do
	case "$b" in
	hcall) program hcall pvx_hcall_bench -B ;;
	locks | ulocks) program "$b" pvx_bench_locks "$b" ;;
	timers) in_shell program timers pvx_bench_timers ;;
	forkcopy) in_shell fork_bench ;;
	ksm) in_shell ksm_bench ;;
	esac
done
done_tap
