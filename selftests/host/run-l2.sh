#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tiny-VM suite of the pvx host module, run INSIDE the L2 KVM host (lab:
# chroot /host, kvm + kvm_amd loaded, pvx_host not loaded). Prints one TAP 13
# stream on stdout (plan at the end); exit 0 pass, 1 fail, 4 all skipped.
#
# Stages, in order:
#   without     ABI cases on a host without pvx; record stock hypercalls
#   insmod      load $PVX_BUILD/host/pvx_host.ko
#   with        ABI cases with pvx; stock hypercalls same as recorded
#   rmmod-loop  rmmod pvx_host while a vCPU loops on PROBE; dmesg clean;
#               /sys/kernel/pvx_host gone, a VM's control open across it
#               answers -ENODEV
#   reinsmod    load it again
#   cycles      300 (check-full 1000) VM create/PROBE/destroy cycles; debugfs vms, counters
#   policy      module parameters enable, features, new_vms, pid_policy and
#               per-VM sysfs files (/sys/kernel/pvx_host/vms/); bad input to
#               each; the debugfs copies read-only; a VM's sysfs directory
#               gone with it (lockdown-l2.sh runs the same under lockdown)
#   yield-absent  PVX_HC_YIELD -ENOSYS while pvx_yield is not loaded
#   yield-insmod  load $PVX_BUILD/host/pvx_yield.ko (needs pvx_host);
#               pvx_host cannot be removed under it
#   yield       directed yield from 2-vCPU VMs: ABI, running/preempted/
#               halted targets, counters, host and per-VM policy
#   pvxtop      pvxtop_host_test loaded: pvxtop's counts over a known load
#               equal debugfs; --json, -p, -d, signals, errors; no BPF
#               program left
#   hcall-bench  pvx_hcall_bench once with 10 calls, 1 round, every case
#               (a smoke test of make bench's hypercall benchmark; no time
#               is asserted)
#   yield-rmmod-loop  rmmod pvx_yield while a VM yields in a loop; dmesg
#               clean; -ENOSYS again afterwards
#   fork-copy-absent  PVX_HC_FORK_COPY -ENOSYS, nothing copied, while
#               pvx_fork_copy is not loaded (also run without pvx_host)
#   ksm-absent  PVX_HC_KSM_HINT -ENOSYS, nothing pinned, while pvx_ksm is
#               not loaded (also run without pvx_host)
#   fork-copy-insmod, ksm-insmod  load $PVX_BUILD/host/pvx_fork_copy.ko
#               and pvx_ksm.ko
#   fork-copy   every bad-input class, contents, partial batches, dirty
#               log, counters, tracepoint, policy, CPL3, real mode
#   ksm         every bad-input class, candidates and never-merge pins
#               added and withdrawn, the pin cap, pins dropped on unmap and
#               at the VM's end
#   ksm-merge   KSM on: hinted identical pages merge; a never-merge hint
#               unshares one and it stays unmerged through two full scans
#   pvxtop-watch  one pvxtop (--json and the table) watched the fork-copy,
#               ksm and ksm-merge stages: its pvx:fork_copy calls, pages
#               and errors equal debugfs pvx/fork_copy's growth, its
#               pvx:ksm_hint calls, errors, pins taken and given back equal
#               debugfs pvx/ksm's growth, each from its own stage's test
#   fork-copy-rmmod  rmmod pvx_fork_copy with a VM idle; -ENOSYS after;
#               load it again and rmmod it while a VM copies in a loop
#   ksm-policy  merge_on_candidates: a bad value refused; off, nothing
#               changes; on, the VMA holding a candidate becomes mergeable
#               once, a never-merge hint makes nothing mergeable
#   ksm-walk    reading a VM's debugfs file over 65536 candidates holds up
#               its hints for a chunk of the walk, not the whole walk
#   ksm-race    a VMM thread unmaps memory while its pages are pinned:
#               0 or -EFAULT, no pin left after any round
#   ksm-churn   a VMM thread maps and unmaps other memory while batches of
#               64 one-page never-merge runs are pinned: every page pinned
#   ksm-account pins charged by folio (THP 2 MiB) to VmPin and pins_held;
#               RLIMIT_MEMLOCK and max_pinned_mb refuse a batch whole;
#               back to zero after withdraw, munmap and the VM's end
#   ksm-rmmod   rmmod pvx_ksm while a VM holds pins: they are released,
#               and VmPin with them
#   rmmod       unload (feature modules first if still there); ABI cases without
#               pvx; stock hypercalls as recorded; insmod pvx_yield.ko
#               without pvx_host fails; pvxtop says pvx is not loaded
#   no-kvm      rmmod kvm_amd kvm, insmod pvx_host must fail with a dmesg
#               line, then reload irqbypass, ccp, kvm, kvm-amd (not with
#               PVX_KEEP_KVM_UNLOADED=1: the lab's L2 ends after this suite)
#   dmesg       no BUG/WARNING/Oops line during the whole run
#
# Environment (set by scripts/lab.sh): PVX_REPO, PVX_ABI, PVX_BUILD,
# PVX_SELFTESTS, PVX_OUT; optional PVX_KIMAGE (unpacked kernel image),
# TINYVM_CYCLES (300, 1000 with PVX_LAB_SOAK=long), TINYVM_TIMEOUT (seconds per program, 900),
# PVX_KEEP_KVM_UNLOADED (1: no-kvm leaves kvm unloaded; l2-run.sh).
set -u

here=$(cd "$(dirname "$0")" && pwd)
PVX_REPO=${PVX_REPO:-$(cd "$here/../.." && pwd)}
PVX_SELFTESTS=${PVX_SELFTESTS:-$PVX_REPO/build/selftests}
PVX_OUT=${PVX_OUT:-/tmp}
PVX_ABI=${PVX_ABI:-$(uname -r)}
PVX_KIMAGE=${PVX_KIMAGE:-/var/cache/pvx/kernels/$PVX_ABI}
KO=${PVX_BUILD:-$PVX_REPO/build/$PVX_ABI}/host/pvx_host.ko
YKO=$(dirname "$KO")/pvx_yield.ko
BIN=$PVX_SELFTESTS/pvx_hcall_test
YBIN=$PVX_SELFTESTS/pvx_yield_host_test
FKO=$(dirname "$KO")/pvx_fork_copy.ko
FBIN=$PVX_SELFTESTS/pvx_fork_copy_test
KKO=$(dirname "$KO")/pvx_ksm.ko
KBIN=$PVX_SELFTESTS/pvx_ksm_host_test
NBIN=$PVX_SELFTESTS/pvx_nomem_test
# pvxtop's checks (PVX_REPO, PVX_SELFTESTS, PVX_OUT from the environment)
TBIN=$PVX_SELFTESTS/pvxtop_host_test
HBIN=$PVX_SELFTESTS/pvx_hcall_bench
# make check's short soak (PVX_LAB_SOAK, lab.sh) 300 cycles; check-full's 1000
if [ "${PVX_LAB_SOAK:-short}" = long ]; then CYCLES=${TINYVM_CYCLES:-1000}; else CYCLES=${TINYVM_CYCLES:-300}; fi
LOG=$PVX_OUT/tinyvm
mkdir -p "$LOG"

# shellcheck source=selftests/host/tap.sh
. "$here/tap.sh"

# run_hang_guarded STAGE BIN ARGS...: BIN ARGS >$out 2>$out.err within
# $TINYVM_TIMEOUT s (default 900); exit 124 when it had to be killed. With
# TINYVM_ATTEMPTS=2, a run that hung (and only that) is dumped (each
# thread's state, last CPU and kernel stack) and run once more: the lab's
# TCG now and then loses a wakeup of an L2 CPU, and a test that pins its
# threads to both CPUs (yield sched) then waits forever (lab.rst, "A
# suite that hangs with L2 idle"). A run that ended counts as it ended.
run_hang_guarded() {
	local stage=$1 bin=$2 pid t0 attempt=1 t d
	shift 2
	while :; do
		tap_now
		t0=$t_now
		"$bin" "$@" >"$out" 2>"$out.err" &
		pid=$!
		# polled every 0.1 s for 3 s (most programs take 1-3 s:
		# polling each second cost half a second per program), then
		# every second
		while kill -0 "$pid" 2>/dev/null; do
			tap_now
			d=$((t_now - t0))
			[ $d -lt $((${TINYVM_TIMEOUT:-900} * 100)) ] || break
			if [ $d -lt 300 ]; then sleep 0.1; else sleep 1; fi
		done
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			return
		fi
		diag "$stage: $(basename "$bin") $* still running after ${TINYVM_TIMEOUT:-900} s in attempt $attempt; its threads:"
		for t in /proc/"$pid"/task/*; do
			diag "  task ${t##*/} state $(cut -d' ' -f3 "$t/stat") cpu $(cut -d' ' -f39 "$t/stat")"
			sed 's/^/#     /' "$t/stack" 2>/dev/null
		done
		sed 's/^/#   output so far: /' "$out"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		[ "$attempt" -lt "${TINYVM_ATTEMPTS:-1}" ] || return 124
		attempt=$((attempt + 1))
		diag "$stage: running it again"
	done
}

# run_tap STAGE ARGS...: run pvx_hcall_test (or $TAPBIN) ARGS and merge its
# TAP into ours, renumbered, each description prefixed with STAGE.
run_tap() {
	local stage=$1 out rc line desc got=0 t0 bin=${TAPBIN:-$BIN} prog
	shift
	prog=$(basename "$bin")
	out=$LOG/$stage.$(echo "$*" | tr -c 'a-z0-9\n' _ | cut -c1-30).tap
	tick
	t0=$t_now
	run_hang_guarded "$stage" "$bin" "$@"
	rc=$?
	tick_reset
	while IFS= read -r line; do
		case "$line" in
		"TAP version"*) ;;
		"1..0 # SKIP"*) skip "${line#1..0 # SKIP }" "$stage: $*"; got=1 ;;
		1..*) ;;
		"ok "*|"not ok "*)
			got=1
			desc=${line#not }
			desc=${desc#ok }
			desc=${desc#* }
			desc=${desc#"$stage: "}
			case "$line" in
			*"# SKIP"*) skip "${desc##*# SKIP }" "$stage: ${desc% # SKIP*}" ;;
			"ok "*) result ok "$stage: $desc" ;;
			*) result fail "$stage: $desc" ;;
			esac ;;
		*) echo "$line" ;;
		esac
	done <"$out"
	[ -s "$out.err" ] && sed 's/^/# stderr: /' "$out.err"
	tick_reset
	diag "$stage: $prog $* exit $rc, $(tap_secs $((t_now - t0))) s"
	case $rc in
	0|1|4) [ $got -eq 1 ] || result fail "$stage: $prog $* gave no results" ;;
	124|137) result fail "$stage: $prog $* timed out" ;;
	*) result fail "$stage: $prog $* exit $rc" ;;
	esac
}

loaded() { [ -d /sys/module/pvx_host ]; }
yield_loaded() { [ -d /sys/module/pvx_yield ]; }
run_yield() { TAPBIN=$YBIN run_tap "$@"; }
fc_loaded() { [ -d /sys/module/pvx_fork_copy ]; }
run_fc() { TAPBIN=$FBIN run_tap "$@"; }
ksm_loaded() { [ -d /sys/module/pvx_ksm ]; }
run_ksm() { TAPBIN=$KBIN run_tap "$@"; }
# pvxtop watches the stages run between these two (pvxtop_host_test
# watch-start/watch-check STAGE); never around a stage that removes a
# module: pvxtop's programs hold a reference on it
top_watch_start() { TAPBIN=$TBIN run_tap "$1" watch-start "$LOG/$1"; }
top_watch_check() { TAPBIN=$TBIN run_tap "$1" watch-check "$LOG/$1"; }

do_insmod() {	# do_insmod STAGE
	local err
	if [ ! -f "$KO" ]; then
		result fail "$1: insmod pvx_host.ko: $KO missing"
		return 1
	fi
	if err=$(insmod "$KO" 2>&1); then
		result ok "$1: insmod pvx_host.ko"
		return 0
	fi
	result fail "$1: insmod pvx_host.ko: $err"
	return 1
}

# dmesg lines since a mark (a line count taken with dmesg_mark).
dmesg_mark() { dmesg | wc -l; }
dmesg_since() { dmesg | tail -n +"$(($1 + 1))"; }

# without_nomem_oom: dmesg on stdin without the memcg OOM reports that
# pvx_nomem_test provokes on purpose (each from "pvx_nomem_test invoked
# oom-killer" to "Out of memory and no killable processes": its call
# trace is the allocation failing as the test wants)
without_nomem_oom() {
	awk '/pvx_nomem_test invoked oom-killer/ { skip = 1 }
	     !skip { print }
	     skip && /Out of memory and no killable processes/ { skip = 0 }'
}

check_dmesg() {	# check_dmesg STAGE MARK
	local bad
	bad=$(dmesg_since "$2" | without_nomem_oom |
	      grep -E 'BUG|WARNING|Oops|Call Trace|general protection' | head -n 5)
	if [ -z "$bad" ]; then
		result ok "$1: no BUG/WARNING/Oops in dmesg"
	else
		echo "$bad" | sed 's/^/# dmesg: /'
		result fail "$1: dmesg has BUG/WARNING/Oops lines"
	fi
}

skip_loaded_stage() {	# skip_loaded_stage STAGE: pvx_host could not be loaded
	skip "pvx_host not loaded" "$1"
}

echo "TAP version 13"
diag "pvx tinyvm suite: kernel $(uname -r), ABI $PVX_ABI, module $KO"
if [ ! -c /dev/kvm ]; then
	echo "1..0 # SKIP no /dev/kvm"
	exit 4
fi
if [ ! -x "$BIN" ]; then
	echo "not ok 1 $BIN missing (make -C selftests)"
	echo "1..1"
	exit 1
fi
mark0=$(dmesg_mark)
# One idle VM for the whole suite but its no-kvm stage: it keeps KVM's
# preempt-notifier static key on, so the suite's thousands of VM
# creations and destructions do not patch kernel text each time
# (pvx_hcall_test hold-vm says why).
hold_pid=""
hold_vm_stop() {
	[ -n "$hold_pid" ] || return 0
	kill "$hold_pid" 2>/dev/null
	wait "$hold_pid" 2>/dev/null
	hold_pid=""
}
trap hold_vm_stop EXIT
"$BIN" hold-vm &
hold_pid=$!
# unload WHEN MODULE...: rmmod those loaded, feature modules before
# pvx_host (the guest suite's host boots load pvx_ksm: run-l3.sh)
unload() {
	local when=$1 m
	shift
	for m; do
		[ -d "/sys/module/$m" ] || continue
		diag "$m $when; removing it"
		rmmod "$m" || diag "rmmod $m failed"
	done
}
unload "was loaded at start" pvx_numa pvx_yield pvx_fork_copy pvx_ksm pvx_host

# insmod_feature STAGE KO: load a feature module (after pvx_host); the
# result is one test; returns 1 when it failed.
insmod_feature() {
	local stage=$1 ko=$2 err
	if [ ! -f "$ko" ]; then
		result fail "$stage: insmod $(basename "$ko"): $ko missing"
		return 1
	fi
	if ! err=$(insmod "$ko" 2>&1); then
		result fail "$stage: insmod $(basename "$ko"): $err"
		return 1
	fi
	result ok "$stage: insmod $(basename "$ko")"
}

# The directed-yield stages, with pvx_host loaded and pvx_yield not.
yield_stages() {
	local err mark
	run_yield yield-absent absent
	insmod_feature yield-insmod "$YKO" || return
	if err=$(rmmod pvx_host 2>&1); then
		result fail "yield-insmod: rmmod pvx_host under pvx_yield must fail, it worked"
		return
	fi
	result ok "yield-insmod: rmmod pvx_host refused while pvx_yield uses it ($err)"
	mark=$(dmesg_mark)
	run_yield yield abi
	# "Target running" needs caller and target in guest mode at once on
	# two L2 CPUs (the lab's default); a 1-CPU L2 skips it, and make
	# check fails on a skip.
	if [ "$(nproc)" -ge 2 ]; then
		TINYVM_TIMEOUT=120 TINYVM_ATTEMPTS=2 run_yield yield sched
	else
		skip "L2 has one CPU, pvx_yield_host_test sched needs two" \
			"yield sched: target running in guest mode on another CPU"
	fi
	run_yield yield policy
	TAPBIN=$TBIN run_tap pvxtop loaded
	TAPBIN=$HBIN run_tap hcall-bench -n 10 -r 1 stock probe yield sched-yield
	run_yield yield-rmmod-loop rmmod-loop
	check_dmesg yield "$mark"
	dmesg_since "$mark" | grep -i pvx | sed 's/^/# dmesg: /' | head -n 10
	if yield_loaded; then
		result fail "yield-rmmod-loop: pvx_yield still loaded"
		rmmod pvx_yield
	fi
	run_yield yield-after-rmmod absent
}

# The fork-copy and KSM stages, with pvx_host loaded and neither feature
# module: each one's absent case, both loaded, then one pvxtop watching
# the fork-copy and KSM stages together (each pvxtop start loads and
# verifies its BPF programs, slow under TCG), then each module's removal
# stages, which pvxtop must not be around.
feature_stages() {
	local mark fc=0 ksm=0
	run_fc fork-copy-absent absent
	run_ksm ksm-absent absent
	insmod_feature fork-copy-insmod "$FKO" && fc=1
	insmod_feature ksm-insmod "$KKO" && ksm=1
	[ $fc = 1 ] || [ $ksm = 1 ] || return
	mark=$(dmesg_mark)
	top_watch_start pvxtop-watch
	if [ $fc = 1 ]; then
		run_fc fork-copy abi
		run_fc fork-copy-ring ring
	fi
	if [ $ksm = 1 ]; then
		run_ksm ksm abi
		run_ksm ksm-merge merge
	fi
	top_watch_check pvxtop-watch
	if [ $fc = 1 ]; then
		run_fc fork-copy-rmmod rmmod
		if ! fc_loaded && insmod_feature fork-copy-reinsmod "$FKO"; then
			run_fc fork-copy-rmmod-loop rmmod-loop
		fi
		check_dmesg fork-copy "$mark"
		if fc_loaded; then
			result fail "fork-copy-rmmod: pvx_fork_copy still loaded"
			rmmod pvx_fork_copy
		fi
		run_fc fork-copy-after-rmmod absent
	fi
	if [ $ksm = 1 ]; then
		run_ksm ksm-policy policy
		# issue 26: thousands of calls each, outside pvxtop's watch
		run_ksm ksm-walk walk
		run_ksm ksm-race race 300
		run_ksm ksm-churn churn 2000
		run_ksm ksm-account account
		run_ksm ksm-rmmod rmmod "$KKO"
		check_dmesg ksm "$mark"
		if ksm_loaded; then
			rmmod pvx_ksm || diag "rmmod pvx_ksm failed"
		fi
		run_ksm ksm-after-rmmod absent
	fi
}

# --- without pvx ---------------------------------------------------------
run_tap without --state=absent abi
run_tap without stock record "$LOG/stock.rec"
run_fc without absent
run_ksm without absent

# --- a VM whose pvx state cannot be allocated (issue 26, item 6): it
# loads and removes pvx_host itself, around a VM made before it
mark=$(dmesg_mark)
TAPBIN=$NBIN run_tap nomem "$KO"
if [ "$(dmesg_since "$mark" | grep -c 'pvx_nomem_test invoked oom-killer')" -gt 0 ]; then
	result ok "nomem: the kernel reported the memcg OOM of pvx_nomem_test's group (no victim)"
else
	result fail "nomem: no memcg OOM report of pvx_nomem_test: the allocation was not cut off"
fi
check_dmesg nomem "$mark"
loaded && rmmod pvx_host

# --- with pvx --------------------------------------------------------------
if do_insmod insmod; then
	mark=$(dmesg_mark)
	run_tap with --state=loaded abi
	run_tap with stock compare "$LOG/stock.rec"

	# --- rmmod while a VM issues hypercalls --------------------------------
	mark=$(dmesg_mark)
	run_tap rmmod-loop rmmod-loop
	check_dmesg rmmod-loop "$mark"
	dmesg_since "$mark" | sed 's/^/# dmesg: /' | head -n 20
	loaded && rmmod pvx_host
else
	skip_loaded_stage "with"
	skip_loaded_stage "rmmod-loop"
fi

if do_insmod reinsmod; then
	run_tap cycles cycles "$CYCLES"
	run_tap policy policy
	yield_stages
	feature_stages
	unload "still loaded, before pvx_host" pvx_yield pvx_fork_copy pvx_ksm
	if rmmod pvx_host 2>"$LOG/rmmod.err"; then
		result ok "rmmod: rmmod pvx_host"
		if [ -e /sys/kernel/pvx_host ]; then
			result fail "rmmod: /sys/kernel/pvx_host still there"
		else
			result ok "rmmod: /sys/kernel/pvx_host gone"
		fi
	else
		result fail "rmmod: rmmod pvx_host: $(cat "$LOG/rmmod.err")"
	fi
else
	skip_loaded_stage "cycles"
	skip_loaded_stage "policy"
	skip_loaded_stage "yield"
	skip_loaded_stage "fork-copy"
fi

# --- after rmmod: a host without pvx again ---------------------------------
if ! loaded; then
	run_tap after-rmmod --state=absent abi
	run_tap after-rmmod stock compare "$LOG/stock.rec"
	TAPBIN=$TBIN run_tap after-rmmod absent
	if [ ! -f "$YKO" ]; then
		result fail "after-rmmod: $YKO missing"
	elif err=$(insmod "$YKO" 2>&1); then
		result fail "after-rmmod: insmod pvx_yield.ko without pvx_host must fail, it loaded"
		rmmod pvx_yield
	else
		result ok "after-rmmod: insmod pvx_yield.ko without pvx_host fails ($err)"
	fi
else
	skip "pvx_host still loaded" "after-rmmod"
fi

# --- insmod without kvm: must fail with a clear dmesg line ---------------
kvm_ko() {	# kvm_ko NAME: the module file of the booted kernel
	find "$PVX_KIMAGE/lib/modules/$PVX_ABI/kernel" -name "$1.ko*" 2>/dev/null | head -n 1
}

no_kvm() {
	local vendor_mod=kvm_amd m f err mark args
	hold_vm_stop	# it holds kvm
	[ -d /sys/module/kvm_intel ] && vendor_mod=kvm_intel
	if [ ! -f "$KO" ]; then
		skip "$KO missing" "no-kvm: insmod pvx_host.ko without kvm fails"
		return
	fi
	if [ ! -d "$PVX_KIMAGE/lib/modules/$PVX_ABI" ]; then
		skip "no modules at $PVX_KIMAGE to reload kvm" "no-kvm: insmod pvx_host.ko without kvm"
		return
	fi
	if ! err=$(rmmod "$vendor_mod" kvm 2>&1); then
		skip "rmmod $vendor_mod kvm: $err" "no-kvm: insmod pvx_host.ko without kvm"
		return
	fi
	mark=$(dmesg_mark)
	if err=$(insmod "$KO" 2>&1); then
		result fail "no-kvm: insmod pvx_host.ko without kvm must fail, it loaded"
		rmmod pvx_host
	else
		result ok "no-kvm: insmod pvx_host.ko without kvm fails ($err)"
		line=$(dmesg_since "$mark" | grep -i pvx | head -n 3)
		echo "$line" | sed 's/^/# dmesg: /'
		# pvx_host's own line, not the kernel's "Unknown symbol": every
		# kvm.ko function it calls is taken with symbol_get()
		if [ "$(echo "$line" | grep -c .)" = 1 ] &&
		   echo "$line" | grep -q 'pvx_host: kvm is not loaded'; then
			result ok "no-kvm: one dmesg line says why: $(echo "$line" | sed 's/^\[[^]]*\] *//')"
		else
			result fail "no-kvm: one dmesg line 'pvx_host: kvm is not loaded' after the failed insmod, got: $(echo "$line" | tr '\n' '|')"
		fi
	fi
	# The lab's L2 ends after this suite (l2-run.sh runs it last): no one
	# needs kvm again there
	if [ "${PVX_KEEP_KVM_UNLOADED:-0}" = 1 ]; then
		diag "no-kvm: kvm and $vendor_mod left unloaded (PVX_KEEP_KVM_UNLOADED=1: nothing runs after this suite)"
		return
	fi
	# Reload in dependency order; modules still loaded are left alone.
	for m in irqbypass ccp kvm "${vendor_mod/_/-}"; do
		[ -d "/sys/module/${m//-/_}" ] && continue
		f=$(kvm_ko "$m")
		args=""
		# The lab's kvm_amd parameters (vgif=0, see scripts/lab.sh).
		[ "$m" = kvm-amd ] && args=${PVX_KVM_AMD_ARGS:-}
		# shellcheck disable=SC2086 # word splitting of the parameters
		if [ -z "$f" ] || ! err=$(insmod "$f" $args 2>&1); then
			diag "reload $m (${f:-not found}): $err"
		fi
	done
	if [ -d "/sys/module/$vendor_mod" ] && [ -c /dev/kvm ]; then
		result ok "no-kvm: kvm and $vendor_mod reloaded, /dev/kvm back"
		run_tap no-kvm --state=absent abi
	else
		result fail "no-kvm: reload of kvm/$vendor_mod failed: later suites have no KVM"
	fi
}
no_kvm

check_dmesg "whole run" "$mark0"

TAP_NAME=tinyvm finish
