#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# /init of the L3 guest initramfs (mkinitrd.sh), PID 1 of the lab's L3
# boots: mounts, reads the boot's kind from the kernel command line
# (run-l3.sh puts it there), loads pvx_guest.ko and runs the kselftest
# programs of /pvx (selftests/guest/*.c) through run_test in the order
# that kind needs; writes their results as one TAP 13 stream, renumbered,
# between PVX-TAP-BEGIN and PVX-TAP-END, to the virtio-serial port
# org.pvx.results (run-l3.sh keeps it in L2) and powers off. The console
# carries the steps as they start.
#   pvx_expect=host|fallback  whether L2 serves pvx; the guest boot: each
#       feature's programs between a load and an unload of pvx_guest
#   pvx_steal=PCT, pvx_steal_time=off  a steal boot: the steal share
#       first; no lock torture, spin_threshold tuning, NUMA, fork-copy or
#       KSM tests (steal does not change them)
#   pvx_topology=NAME, pvx_migrate=DIRTY (pvx_migrate_args=A,B),
#       pvx_demo=1  a topology, migrate or make demo boot: short ones
#   pvx_torture=a=1,b=2  pvx_lock_torture's parameters
#   pvx_tune=full  the spin_threshold session's comparison rounds, 8 s
#   pvx_soak=long  make check-full's 10 s torture free phases and 8 s
#       tuning rounds (make check's 4 s: the same checks, fewer rounds)
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# the results port's driver, where it is a module (mkinitrd.sh)
while read -r ko; do insmod "/lib/pvx/$ko"; done </lib/pvx/load-order

P=/pvx
KO=$P/pvx_guest.ko
TEST=$P/pvx_guest_test
PVXTOP_TEST=$P/pvxtop_guest_test
SPIN_TEST=$P/pvx_spinlock_module_test
STIMER_TEST=$P/pvx_stimer_test
KSM_MODULE_TEST=$P/pvx_ksm_module_test
# L2's control port (run-l3.sh: host mode and steal boots)
CTL=/dev/ttyS1
mode='' TOPOLOGY='' DEMO='' MIGRATE='' MIGRATE_ARGS='' STEAL_PCT='' STEAL_TIME=on TORTURE_ARGS=''
TUNE=short SOAK=short FREE_BUDGET_MS=4000 TUNE_BUDGET_MS=4000
TAP=/tmp/tap
n=0
: >"$TAP"

ok() { n=$((n + 1)); echo "ok $n $*" >>"$TAP"; }
# progress on the console: run-l3.sh names the last one when L3 times out
step() { echo "pvx-l3: $* (uptime $(cut -d' ' -f1 /proc/uptime) s)"; }
# where module text sits, for the vCPUs' RIPs of a stuck L3 (run-l3.sh)
module_lines() { awk '{ print "pvx-l3: module " $1 " at " $6 }' /proc/modules; }
# a failure also goes to the console at once: run-l3.sh boots an L3 that
# reset itself again only when nothing had failed before the reset
not_ok() { n=$((n + 1)); echo "not ok $n $*" >>"$TAP"; echo "pvx-l3: FAILED: not ok $n $*"; }
diag() { echo "# $*" >>"$TAP"; }
# check DESCRIPTION COMMAND...: one test line from a command's status
check() {
	d=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then ok "$d"; else not_ok "$d # $(head -n1 /tmp/check.out)"; fi
}
loaded() { grep -q "^$1 " /proc/modules; }
unloaded() { ! loaded pvx_guest && [ ! -e /sys/kernel/pvx ] && [ ! -e /dev/pvx ]; }
# guest_load FOR / guest_unload AFTER WHAT: pvx_guest around a feature's tests
guest_load() { check "insmod pvx_guest.ko for $1" insmod "$KO"; }
guest_unload() {
	check "rmmod pvx_guest after $1" rmmod pvx_guest
	[ -z "$2" ] || check "clean after the $2 tests" unloaded
}
# load_ko KO [PARAM...]: the insmod as one check, the module's dmesg lines
load_ko() {
	m=${1##*/}
	m=${m%.ko}
	if insmod "$@" >/tmp/insmod.out 2>&1; then ok "insmod $m.ko"; r=0; else
		not_ok "insmod $m.ko # $(head -n1 /tmp/insmod.out)"
		r=1
	fi
	dmesg | grep "$m: " | sed 's/^/# dmesg: /' >>"$TAP"
	return $r
}
# a host boot with L2's control port: L2 switches pvx or reloads a module
l2_ctl_boot() { [ "$mode" = host ] && [ "$steal_boot" = 0 ] && [ -e "$CTL" ]; }

# results_port: the device of the port org.pvx.results. A virtio write
# returns once L2's QEMU has the bytes: nothing is lost to the poweroff
results_port() {
	for _ in 1 2 3 4 5; do
		for p in /sys/class/virtio-ports/*; do
			[ "$(cat "$p/name" 2>/dev/null)" = org.pvx.results ] &&
				[ -c "/dev/${p##*/}" ] && echo "/dev/${p##*/}" && return 0
		done
		sleep 1
	done
	return 1
}

finish() {
	# says, when the TAP does not come, whether /init got this far
	step "finish: $n results"
	module_lines
	if port=$(results_port); then
		{ echo "PVX-TAP-BEGIN"; echo "TAP version 13"; echo "1..$n"; cat "$TAP"
		  echo "PVX-TAP-END"; } >"$port"
	else
		echo "pvx-l3: no virtio-serial port org.pvx.results: the TAP stays here"
	fi
	sync
	poweroff -f
}

# run_test LABEL [PROGRAM [ARGS]]: a kselftest program's results (default
# pvx_guest_test --expect-MODE), renumbered into this stream
run_test() {
	label=$1
	shift
	[ $# -gt 0 ] || set -- "$TEST" "--expect-$mode"
	"$@" >/tmp/test.out 2>&1
	rc=$?
	add_tap "$label" /tmp/test.out
	case $rc in
	0) ok "$label exits 0" ;;
	4) ok "$label exits 4 # SKIP every test skipped" ;;
	*) not_ok "$label exits $rc # $(grep -v '^ok\|^not ok\|^#\|^1\.\.\|^TAP' /tmp/test.out | head -n1)" ;;
	esac
}

# add_tap LABEL FILE: the TAP lines of FILE, renumbered into this stream
add_tap() {
	label=$1
	while IFS= read -r line; do
		case "$line" in
		"ok "[0-9]* | "not ok "[0-9]*)
			res=${line%% [0-9]*}
			rest=${line#"$res" }
			rest=${rest#* }
			n=$((n + 1))
			echo "$res $n $label: $rest" >>"$TAP"
			[ "$res" = ok ] || echo "pvx-l3: FAILED: $res $n $label: $rest" ;;
		"#"*) echo "$line" >>"$TAP" ;;
		esac
	done <"$2"
}

no_splat() {
	splat='BUG:\|WARNING:\|Call Trace\|soft lockup\|hard LOCKUP\|rcu_.*stall'
	if dmesg | tail -n +$((boot_lines + 1)) | grep -q "$splat"; then
		not_ok "no kernel splat in dmesg since the first insmod # $(dmesg | tail -n +$((boot_lines + 1)) | grep -m1 "$splat")"
		# the first splat whole: its registers, modules and call trace
		dmesg | tail -n +$((boot_lines + 1)) | grep -A 40 -m1 "$splat" | sed 's/^/# splat: /' >>"$TAP"
	else
		ok "no kernel splat in dmesg since the first insmod"
	fi
}

# the end of every boot: pvx_guest unloaded, no splat, the TAP out
last_unload() {
	check "rmmod pvx_guest" rmmod pvx_guest
	no_splat
	finish
}

# The topology boots check what the shape of the VM decides (swapped-rt:
# vCPUs created out of order, KVM_HINTS_REALTIME; 1cpu), nothing else
topology_boot() {
	step "topology $TOPOLOGY"
	run_test pvx_spinlock "$SPIN_TEST" --topology "$TOPOLOGY" "$P/pvx_spinlock.ko" \
		"$P/pvx_lock_torture.ko"
	last_unload
}

# The migrate boot: L2 (pvx_migrate_host) live-migrates this guest while
# pvx_migrate_guest, pvx's feature modules loaded, has the host write its
# pages and checks them after each landing (lab.rst, "The migrate suite")
migrate_boot() {
	step "migrate ($MIGRATE)"
	# shellcheck disable=SC2086 # the checker's options, one word each
	run_test pvx_migrate_guest "$P/pvx_migrate_guest" --modules "$P" --ctl "$CTL" \
		--ksm-protect 8 --timer-ms 20 --spin --locality --torture "$P/pvx_lock_torture.ko" \
		$MIGRATE_ARGS
	last_unload
}

# first console line of /init: run-l3.sh boots L3 again only when it is missing
step "init"
read -r cmdline </proc/cmdline
for w in $cmdline; do
	case "$w" in
	pvx_expect=*) mode=${w#pvx_expect=} ;;
	pvx_torture=*) TORTURE_ARGS=$(echo "${w#pvx_torture=}" | tr , ' ') ;;
	pvx_steal=*) STEAL_PCT=${w#pvx_steal=} ;;
	pvx_steal_time=*) STEAL_TIME=${w#pvx_steal_time=} ;;
	pvx_topology=*) TOPOLOGY=${w#pvx_topology=} ;;
	pvx_demo=1) DEMO=1 ;;
	pvx_migrate=*) MIGRATE=${w#pvx_migrate=} ;;
	pvx_migrate_args=*) MIGRATE_ARGS=$(echo "${w#pvx_migrate_args=}" | tr , ' ') ;;
	pvx_tune=full) TUNE=full TUNE_BUDGET_MS=8000 ;;
	pvx_soak=long) SOAK=long FREE_BUDGET_MS=10000 TUNE_BUDGET_MS=8000 ;;
	esac
done
case "$mode" in
host | fallback) ;;
*)
	not_ok "kernel command line has pvx_expect=host or pvx_expect=fallback # got '$mode'"
	finish ;;
esac
diag "L3 guest: kernel $(uname -r), expecting $mode, soak $SOAK, uptime $(cut -d' ' -f1 /proc/uptime) s"
steal_boot=0
if [ -n "$STEAL_PCT" ] || [ "$STEAL_TIME" = off ]; then steal_boot=1; fi

# 0. steal injection: does this guest see the steal L2 injects? (levels
# asked from L2, or 0 and PCT without steal time, then back to PCT)
if [ -n "$STEAL_PCT" ]; then
	step "steal share (injected $STEAL_PCT%, steal time $STEAL_TIME)"
	diag "dmesg: $(dmesg | grep -m1 -i 'steal' || echo 'no steal line')"
	levels="--levels 0,25,50,75"
	[ "$STEAL_TIME" = off ] && levels="--expect-none --levels 0,$STEAL_PCT"
	# shellcheck disable=SC2086 # the options, one word each
	run_test pvx_steal_share "$P/pvx_steal_share" $levels --restore "$STEAL_PCT"
fi

# 1. first load, its lines and what the host offers said once (kernel
# lines before it are the boot's, not ours)
boot_lines=$(dmesg | wc -l)
run_test pvx_guest "$TEST" --load "$KO" "--expect-$mode"
loaded pvx_guest || finish
[ -n "$TOPOLOGY" ] && topology_boot
[ -n "$MIGRATE" ] && migrate_boot

# 2. pvx_guest's behaviour (make demo's boot ends here), unload and load
# again, the host taking pvx away and back, pvxtop's counts over reprobes
step "pvx_guest_test"
run_test pvx_guest_test
[ -n "$DEMO" ] && last_unload
run_test "pvx_guest_test --reload" "$TEST" --reload "$KO"
run_test "pvx_guest_test after reload"
if l2_ctl_boot; then
	step "migration fallback"
	run_test "pvx_guest_test --host-switch" "$TEST" --host-switch "$CTL" "$P/pvx_call_once.ko"
else
	diag "migration fallback not tested: needs a host boot with L2's control port $CTL"
fi
step "pvxtop"
run_test pvxtop "$PVXTOP_TEST" --probes
check "rmmod pvx_guest again" rmmod pvx_guest
check "clean after second rmmod" unloaded

# 4. pv spinlock: pvx_spinlock_module_test loads it, runs the lock
# tortures under pvxtop (--window spin) and unloads it; the
# spin_threshold session (pvxtop_guest_test --tune spin, tuning.rst)
step "pv spinlock tests"
guest_load "the spinlock"
run_test pvx_spinlock "$SPIN_TEST" --load "$P/pvx_spinlock.ko"
loaded pvx_spinlock || finish
step "pvx_yield_test"
run_test pvx_yield_test "$P/pvx_yield_test" "--expect-$mode"
step "pvx_lock_torture starts"
module_lines
if [ "$steal_boot" = 1 ]; then
	diag "pvx_lock_torture not run in a steal boot (pvx_steal=$STEAL_PCT pvx_steal_time=$STEAL_TIME)"
else
	# shellcheck disable=SC2086 # TORTURE_ARGS is a list of words
	run_test pvx_lock_torture "$PVXTOP_TEST" --window spin -- "$SPIN_TEST" \
		--torture "$P/pvx_lock_torture.ko" --free-budget-ms "$FREE_BUDGET_MS" $TORTURE_ARGS
	run_test "tune spin_threshold" "$PVXTOP_TEST" --tune spin "$P/pvx_lock_torture.ko" \
		"$TUNE_BUDGET_MS" "$TUNE"
fi
run_test pvx_spinlock "$SPIN_TEST" --unload
run_test "pvx_yield_test without pvx_spinlock" "$P/pvx_yield_test" --expect-enotty
run_test pvx_spinlock "$SPIN_TEST" --reload "$P/pvx_spinlock.ko"
guest_unload pvx_spinlock spinlock

# 5. steal-time timers: pvx_stimer_test under pvxtop (--window stimer),
# the cap_factor session (--tune cap), the torture module, pvx_stimer's
# unloads and parameters (--module)
step "steal-time timer tests"
diag "steal injection: pvx_steal=${STEAL_PCT:-none}, pvx_steal_time=$STEAL_TIME"
guest_load "the timers"
if load_ko "$P/pvx_stimer.ko"; then
	step "pvx_stimer_test"
	run_test pvx_stimer_test "$PVXTOP_TEST" --window stimer -- \
		"$STIMER_TEST" --source auto --steal-time "$STEAL_TIME"
	# the session tunes the steal correction: without KVM steal time
	# there is none to tune (pvx_stimer_test checks that fallback)
	if [ "$STEAL_TIME" = off ]; then
		diag "tune cap_factor: not run without KVM steal time"
	else
		run_test "tune cap_factor" "$PVXTOP_TEST" --tune cap "$STIMER_TEST"
	fi
	# fewer cross-CPU rounds when L2 throttles the guest: each waits for it
	rounds=500
	[ -n "$STEAL_PCT" ] && rounds=200
	run_test pvx_stimer_torture "$STIMER_TEST" --torture "$P/pvx_stimer_torture.ko" "$rounds"
	run_test "pvx_stimer_test --module" "$STIMER_TEST" --module "$P/pvx_stimer.ko" \
		--steal-time "$STEAL_TIME"
fi
step "steal-time timer tests done"
guest_unload pvx_stimer timer

# the locality, fork-copy and KSM tests: steal does not change them
if [ "$steal_boot" = 1 ]; then
	diag "pvx_locality, pvx_fork and pvx_ksm_guest not run in a steal boot (pvx_steal=$STEAL_PCT pvx_steal_time=$STEAL_TIME)"
	no_splat
	finish
fi

# 6. NUMA locality hints (pvx_numa_guest_test; with the host's NUMA_HINT
# the automatic map, --auto, and CPU hotplug, --hotplug)
step "pvx_locality"
guest_load pvx_locality
if load_ko "$P/pvx_locality.ko"; then
	run_test pvx_numa_guest_test "$P/pvx_numa_guest_test" "--expect-$mode"
	if [ "$mode" = host ]; then
		run_test pvx_numa_auto "$P/pvx_numa_guest_test" --auto
		run_test pvx_numa_hotplug "$P/pvx_numa_guest_test" --hotplug
	fi
	check "rmmod pvx_locality" rmmod pvx_locality
fi
guest_unload pvx_locality locality

# 7. batched fork-copy: pvx_fork_guest_test loads, tests, unloads pvx_fork
step "pvx_fork"
guest_load pvx_fork
run_test pvx_fork "$P/pvx_fork_guest_test" --load "$P/pvx_fork.ko" "--expect-$mode"
if loaded pvx_fork; then
	run_test pvx_fork_guest_test "$P/pvx_fork_guest_test" "--expect-$mode"
	run_test pvx_fork "$P/pvx_fork_guest_test" --unload
fi
guest_unload pvx_fork fork-copy

# 8. KSM hints: pvx_ksm_module_test loads pvx_ksm_guest (no periodic
# round beside pvx_ksm_guest_test's counter checks), its parameters and
# rounds; a host module reloaded under the guest (--epoch); zero_free=1
step "pvx_ksm_guest"
guest_load pvx_ksm_guest
run_test pvx_ksm_guest "$KSM_MODULE_TEST" --load "$P/pvx_ksm_guest.ko" "--expect-$mode"
if loaded pvx_ksm_guest; then
	step "pvx_ksm_guest_test"
	run_test pvx_ksm_guest_test "$P/pvx_ksm_guest_test" "--expect-$mode"
	run_test pvx_ksm_guest "$KSM_MODULE_TEST" --params "--expect-$mode"
	if l2_ctl_boot; then
		run_test "pvx_ksm_guest_test --epoch" "$P/pvx_ksm_guest_test" --epoch "$CTL"
	else
		diag "pins made again not tested: needs a host boot with L2's control port $CTL"
	fi
	run_test pvx_ksm_guest "$KSM_MODULE_TEST" --unload
fi
guest_unload pvx_ksm_guest KSM
step "pvx_ksm_guest zero_free"
guest_load zero_free
run_test "pvx_ksm_guest zero_free" "$KSM_MODULE_TEST" --zero "$P/pvx_ksm_guest.ko" "--expect-$mode"
guest_unload zero_free
step "pvx_ksm_guest zero_free done"
no_splat
finish
