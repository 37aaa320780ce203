#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tiny-VM suite of the pvx host module, run INSIDE the L2 KVM host (lab:
# chroot /host, kvm + kvm_amd loaded). Prints one TAP 13 stream on stdout
# (plan at the end); exit 0 pass, 1 fail, 4 all skipped.
#
# Each "run_tap STAGE PROG ARGS" below runs one fixture of a test program
# (selftests/host/harness.h; their header comments say what each checks),
# its TAP merged into ours with STAGE before each description. The
# program puts the host in the fixture's module state itself (loads from
# $PVX_BUILD, unloads; a state it cannot get is a SKIP with the reason)
# and ends with its test dmesg.clean (no BUG/WARNING/Oops since it
# started, its loads and unloads included): the order below does not make
# a test right. It keeps loads and unloads few, and two things in turn:
#   - pvxtop-watch: one pvxtop (pvxtop_host_test watch-start) watches the
#     fork-copy and ksm stages up to watch-check, which compares its counts
#     with debugfs's growth; no stage in between removes a module
#     (pvxtop's programs hold a reference on it);
#   - stock: pvx_hcall_test stock record (without pvx), then compare.
# Besides them: one idle VM for the whole suite but no-kvm (pvx_hcall_test
# hold-vm); no-kvm: rmmod kvm_amd kvm, insmod pvx_host must fail with one
# dmesg line, then reload irqbypass, ccp, kvm, kvm-amd (not with
# PVX_KEEP_KVM_UNLOADED=1: the lab's L2 ends after this suite); "whole
# run": no BUG/WARNING/Oops in dmesg during the whole run.
#
# Environment (set by scripts/lab.sh): PVX_REPO, PVX_ABI, PVX_BUILD,
# PVX_SELFTESTS, PVX_OUT; optional PVX_KIMAGE (unpacked kernel image),
# TINYVM_CYCLES (300, 1000 with PVX_LAB_SOAK=long), TINYVM_TIMEOUT (seconds per program, 900),
# PVX_KEEP_KVM_UNLOADED (1: no-kvm leaves kvm unloaded; l2-run.sh).
set -u

here=$(cd "$(dirname "$0")" && pwd)
PVX_REPO=${PVX_REPO:-$(cd "$here/../.." && pwd)}
PVX_ABI=${PVX_ABI:-$(uname -r)}
export PVX_SELFTESTS=${PVX_SELFTESTS:-$PVX_REPO/build/selftests}
export PVX_OUT=${PVX_OUT:-/tmp}
export PVX_BUILD=${PVX_BUILD:-$PVX_REPO/build/$PVX_ABI}
PVX_KIMAGE=${PVX_KIMAGE:-/var/cache/pvx/kernels/$PVX_ABI}
KO=$PVX_BUILD/host/pvx_host.ko
# make check's short soak (PVX_LAB_SOAK, lab.sh) 300 cycles; check-full's 1000
if [ "${PVX_LAB_SOAK:-short}" = long ]; then CYCLES=${TINYVM_CYCLES:-1000}; else CYCLES=${TINYVM_CYCLES:-300}; fi
LOG=$PVX_OUT/tinyvm
mkdir -p "$LOG"

# shellcheck source=selftests/host/tap.sh
. "$here/tap.sh"

H=pvx_hcall_test Y=pvx_yield_host_test F=pvx_fork_copy_test K=pvx_ksm_host_test
T=pvxtop_host_test

# no-kvm: with kvm unloaded, insmod pvx_host must fail with one dmesg line
no_kvm() {
	local vendor_mod=kvm_amd m f err mark args line why="no-kvm: insmod pvx_host.ko without kvm"
	hold_vm_stop	# it holds kvm
	[ -d /sys/module/kvm_intel ] && vendor_mod=kvm_intel
	[ -f "$KO" ] || { skip "$KO missing" "$why"; return; }
	if [ ! -d "$PVX_KIMAGE/lib/modules/$PVX_ABI" ]; then
		skip "no modules at $PVX_KIMAGE to reload kvm" "$why"; return
	fi
	if ! err=$(rmmod "$vendor_mod" kvm 2>&1); then
		skip "rmmod $vendor_mod kvm: $err" "$why"; return
	fi
	mark=$(dmesg | wc -l)
	if err=$(insmod "$KO" 2>&1); then
		result fail "$why must fail, it loaded"
		rmmod pvx_host
	else
		result ok "$why fails ($err)"
		line=$(dmesg | tail -n +"$((mark + 1))" | grep -i pvx | head -n 3)
		diag "dmesg: ${line//$'\n'/ | }"
		# pvx_host's own line, not the kernel's "Unknown symbol": every
		# kvm.ko function it calls is taken with symbol_get()
		if [ "$(echo "$line" | grep -c .)" = 1 ] && [[ $line == *"pvx_host: kvm is not loaded"* ]]; then
			result ok "no-kvm: one dmesg line says why: pvx_host: ${line#*pvx_host: }"
		else
			result fail "no-kvm: one dmesg line 'pvx_host: kvm is not loaded' after the failed insmod, got: ${line//$'\n'/|}"
		fi
	fi
	# The lab's L2 ends after this suite (l2-run.sh runs it last)
	if [ "${PVX_KEEP_KVM_UNLOADED:-0}" = 1 ]; then
		diag "no-kvm: kvm and $vendor_mod left unloaded (PVX_KEEP_KVM_UNLOADED=1: nothing runs after this suite)"
		return
	fi
	# Reload in dependency order; modules still loaded are left alone.
	for m in irqbypass ccp kvm "${vendor_mod/_/-}"; do
		[ -d "/sys/module/${m//-/_}" ] && continue
		f=$(find "$PVX_KIMAGE/lib/modules/$PVX_ABI/kernel" -name "$m.ko*" 2>/dev/null | head -n 1)
		# The lab's kvm_amd parameters (vgif=0, see scripts/lab.sh).
		args=""
		[ "$m" = kvm-amd ] && args=${PVX_KVM_AMD_ARGS:-}
		# shellcheck disable=SC2086 # word splitting of the parameters
		if [ -z "$f" ] || ! err=$(insmod "$f" $args 2>&1); then
			diag "reload $m (${f:-not found}): $err"
		fi
	done
	if [ -d "/sys/module/$vendor_mod" ] && [ -c /dev/kvm ]; then
		result ok "no-kvm: kvm and $vendor_mod reloaded, /dev/kvm back"
		run_tap no-kvm $H --state=absent abi
	else
		result fail "no-kvm: reload of kvm/$vendor_mod failed: later suites have no KVM"
	fi
}

echo "TAP version 13"
diag "pvx tinyvm suite: kernel $(uname -r), ABI $PVX_ABI, modules $PVX_BUILD/host"
if [ ! -c /dev/kvm ]; then
	echo "1..0 # SKIP no /dev/kvm"
	exit 4
fi
if [ ! -x "$PVX_SELFTESTS/$H" ]; then
	echo "not ok 1 $PVX_SELFTESTS/$H missing (make -C selftests)"
	echo "1..1"
	exit 1
fi
mark0=$(dmesg | wc -l)
# One idle VM: it keeps KVM's preempt-notifier static key on, so the
# suite's thousands of VM creations and destructions do not patch kernel
# text each time (pvx_hcall_test hold-vm says why).
hold_pid=""
hold_vm_stop() {
	[ -n "$hold_pid" ] || return 0
	kill "$hold_pid" 2>/dev/null
	wait "$hold_pid" 2>/dev/null
	hold_pid=""
}
trap hold_vm_stop EXIT
"$PVX_SELFTESTS/$H" hold-vm &
hold_pid=$!

run_tap without $H --state=absent abi
run_tap without $H --state=absent stock record "$LOG/stock.rec"
run_tap without $F absent
run_tap without $K absent
# a VM whose pvx state cannot be allocated: it loads pvx_host itself
run_tap nomem pvx_nomem_test "$KO"
run_tap insmod $H insmod
run_tap with $H --state=loaded abi
run_tap with $H --state=loaded stock compare "$LOG/stock.rec"
run_tap rmmod-loop $H rmmod-loop
run_tap reinsmod $H insmod
run_tap cycles $H cycles "$CYCLES"
run_tap policy $H policy

run_tap yield-absent $Y absent
run_tap yield-insmod $Y insmod
run_tap yield-insmod $Y pinned
run_tap yield $Y abi
# "Target running" needs caller and target in guest mode at once on two
# L2 CPUs (the lab's default); a 1-CPU L2 skips it, and make check fails
# on a skip.
if [ "$(nproc)" -ge 2 ]; then
	TINYVM_TIMEOUT=120 TINYVM_ATTEMPTS=2 run_tap yield $Y sched
else
	skip "L2 has one CPU, pvx_yield_host_test sched needs two" \
		"yield sched: target running in guest mode on another CPU"
fi
run_tap yield $Y policy
run_tap pvxtop $T loaded
run_tap hcall-bench pvx_hcall_bench -l -n 10 -r 1 stock probe yield sched-yield
run_tap yield-rmmod-loop $Y rmmod-loop
run_tap yield-after-rmmod $Y absent

run_tap fork-copy-absent $F absent
run_tap ksm-absent $K absent
run_tap fork-copy-insmod $F insmod
run_tap ksm-insmod $K insmod
# one pvxtop (each start loads and verifies its BPF programs, slow under
# TCG) watches these four
run_tap pvxtop-watch $T watch-start "$LOG/pvxtop-watch"
run_tap fork-copy $F abi
run_tap fork-copy-ring $F ring
run_tap ksm $K abi
run_tap ksm-merge $K merge
run_tap pvxtop-watch $T watch-check "$LOG/pvxtop-watch"
run_tap fork-copy-rmmod $F rmmod
run_tap fork-copy-reinsmod $F insmod
run_tap fork-copy-rmmod-loop $F rmmod-loop
run_tap fork-copy-after-rmmod $F absent
run_tap ksm-policy $K policy
# issue 26: thousands of calls each, outside pvxtop's watch
run_tap ksm-walk $K walk
run_tap ksm-race $K race 300
run_tap ksm-churn $K churn 2000
run_tap ksm-account $K account
run_tap ksm-rmmod $K rmmod
run_tap ksm-after-rmmod $K absent

run_tap rmmod $H rmmod
run_tap after-rmmod $H --state=absent abi
run_tap after-rmmod $H --state=absent stock compare "$LOG/stock.rec"
run_tap after-rmmod $T absent
run_tap after-rmmod $Y no-host

no_kvm

PVX_DMESG_MARK=$mark0 run_tap "whole run" $H dmesg

TAP_NAME=tinyvm finish
