#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the L2 KVM host (chroot into this machine's root over 9p),
# started by lab.sh's /init with the PVX_* environment. Each suite writes
# its TAP to $PVX_OUT/SUITE.tap; per-suite times go to $PVX_OUT/times-TAG.
set -u
cd "$PVX_REPO" || exit 1

# Suites write to a tmpfs and the results are copied to the 9p share after
# each suite: a QEMU serial console written character by character into a
# 9p file from inside TCG takes minutes for a page of TAP.
# (exported: a long benchmark copies its partial results there as it
# goes, so that they outlive an L2 that is stopped before the suite ends)
export PVX_SHARE=$PVX_OUT
export PVX_OUT=/tmp/pvx-out
mkdir -p "$PVX_OUT"
# sync_out [FILE...]: those files of $PVX_OUT (default all) to the share
sync_out() { cp -a "${@:-$PVX_OUT/.}" "$PVX_SHARE/" 2>/dev/null; }

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# Longest a suite may take, in L2 seconds (0: no limit): about 4x what it
# takes. A suite past it is a hang: the kernel's view of every blocked task
# and CPU goes to the console (sysrq w and l), and the suite is killed and
# fails, instead of holding L2 until the lab's own timeout.
suite_limit() {
	if [ -n "${PVX_LAB_SUITE_LIMIT:-}" ]; then	# lab.sh's test hook
		echo "$PVX_LAB_SUITE_LIMIT"
		return
	fi
	case "$1" in
	tinyvm) echo 1200 ;;
	upstream|lockdown) echo 600 ;;
	enrol) echo 300 ;;
	guest|guest-core|guest-host) echo 2400 ;;
	steal|topology) echo 1500 ;;
	numa) echo 900 ;;
	numabench) echo 3000 ;;
	migrate) echo 2400 ;;
	migrate-quick) echo 1200 ;;
	migrate-bitmap|migrate-ring) echo 700 ;;
	*) echo 0 ;;
	esac
}

# suite_tasks PGID: each thread of the suite's process group, its state,
# the CPU it last ran on and its kernel stack (a runnable task on an idle
# CPU is a lost wakeup; a sleeping one says what it waits for)
suite_tasks() {
	local pg=$1 t st f
	for t in /proc/[0-9]*/task/[0-9]*; do
		st=$(cat "$t/stat" 2>/dev/null) || continue
		st=${st##*) }	# the fields after "(comm) "
		read -r -a f <<<"$st"
		# f[0] state, f[2] process group, f[36] CPU it last ran on
		[ "${f[2]:-}" = "$pg" ] || continue
		echo "PVX-L2: task ${t#/proc/} $(cat "$t/comm") state ${f[0]} cpu ${f[36]}"
		sed 's/^/PVX-L2:   /' "$t/stack" 2>/dev/null
	done
}

# hung_report: what the kernel's hung-task check saw (its report's first
# lines from the log: L2 boots quiet, the stack is not on the console) and
# every task in D state with its kernel stack, once, when it first warns.
hung_report() {
	local t st
	echo "PVX-L2: the kernel reported a hung task: its report and every task in D state follow"
	dmesg | sed -n '/blocked for more than/,$p' | head -n 60 | sed 's/^/PVX-L2:   /'
	for t in /proc/[0-9]*/task/[0-9]*; do
		st=$(cat "$t/stat" 2>/dev/null) || continue
		st=${st##*) }
		[ "${st%% *}" = D ] || continue
		echo "PVX-L2: D task ${t#/proc/} $(cat "$t/comm" 2>/dev/null)"
		sed 's/^/PVX-L2:   /' "$t/stack" 2>/dev/null
	done
}

run_suite() {
	local name=$1 t0 t1 rc pid limit now hw hw0
	shift
	read -r hw0 </proc/sys/kernel/hung_task_warnings 2>/dev/null
	t0=$(uptime_s)
	limit=$(suite_limit "$name")
	# its own process group (job control), so that a hung suite can be
	# killed with everything it started
	set -m
	"$@" >"$PVX_OUT/$name.tap" 2>"$PVX_OUT/$name.log" &
	pid=$!
	set +m
	while kill -0 "$pid" 2>/dev/null; do
		read -r now _ </proc/uptime	# builtins: L3's vCPUs share L2's CPUs
		read -r hw </proc/sys/kernel/hung_task_warnings 2>/dev/null
		if [ -n "$hw0" ] && [ "${hw:-$hw0}" != "$hw0" ]; then
			hung_report >/dev/console 2>&1
			hw0=""
		fi
		if [ "$limit" -gt 0 ] && [ $((${now%.*} - ${t0%.*})) -ge "$limit" ]; then
			echo "PVX-L2: suite $name still running after $limit s: its tasks, blocked tasks and CPUs follow" >/dev/console
			suite_tasks "$pid" >/dev/console 2>&1
			echo w >/proc/sysrq-trigger
			echo l >/proc/sysrq-trigger
			sleep 2
			kill -TERM -- "-$pid" 2>/dev/null
			sleep 5
			kill -KILL -- "-$pid" 2>/dev/null
			echo "not ok 999 $name: still running after $limit s in L2, killed (sysrq w/l in the L2 console)" >>"$PVX_OUT/$name.tap"
			break
		fi
		sleep 10
	done
	wait "$pid"
	rc=$?
	t1=$(uptime_s)
	awk -v n="$name" -v a="$t0" -v b="$t1" -v rc="$rc" \
		'BEGIN { printf "%s: %.1f s in L2 (exit %d)\n", n, b - a, rc }' >>"$PVX_OUT/times-$tag"
	echo "PVX-L2: suite $name exit $rc"
}

# The steal boots: one with 50% steal injected (the guest checks the
# levels 0/25/50/75 first, then runs its tests at 50%), one without KVM
# steal time while 50% is injected (the guest must see none: the
# fallback of the steal-corrected timers).
STEAL_BOOTS=("selftests/guest/run-l3.sh --steal 50 host"
	     "selftests/guest/run-l3.sh --no-steal-time --steal 50 host")
TOPOLOGY_BOOTS=("selftests/guest/run-l3.sh --topology swapped-rt host"
		"selftests/guest/run-l3.sh --topology 1cpu host")

# fake_stall: for testing lab.sh's watchdog and run_l3s resuming after it
# (PVX_LAB_FAKE_STALL=SUITE.bootN, e.g. guest.boot1): after that boot, in
# the first L2 boot of the lab run only, stop L2's heartbeat and wait, as a
# stalled L2 looks from outside.
fake_stall() {
	local p
	[ -e "$PVX_SHARE/fake-stall-done" ] && return 0
	: >"$PVX_SHARE/fake-stall-done"
	echo "PVX-L2: faking a stall (PVX_LAB_FAKE_STALL=$PVX_LAB_FAKE_STALL)" >/dev/console
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = 1 ] && continue
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q '^/bin/busybox sh /init\|^/bin/sh /init' &&
			kill -STOP "${p#/proc/}"
	done
	sleep 100000
}

# run_l3s NAME CMD...: run each command line, one nested KTAP stream: a
# boot's TAP as the subtest of one line (scripts/ktap-nest.sh). Each boot's
# TAP and status go to the share as soon as it ends (NAME.bootN.tap,
# .rc): when L2 stalls and lab.sh boots it again for this suite, the boots
# that had ended are taken from there instead of being run again.
run_l3s() {
	local name=$1 rc=0 f i=0 part brc
	shift
	echo "TAP version 13"
	echo "1..$#"
	for f in "$@"; do
		i=$((i + 1))
		part=$name.boot$i
		echo "# boot $i: $f"
		if [ -s "$PVX_SHARE/$part.tap" ] && [ -s "$PVX_SHARE/$part.rc" ]; then
			echo "# (ended in an earlier L2 boot of this lab run)"
			cp "$PVX_SHARE/$part.tap" "$PVX_OUT/$part.tap"
			brc=$(cat "$PVX_SHARE/$part.rc")
		else
			# shellcheck disable=SC2086
			bash $f >"$PVX_OUT/$part.tap"
			brc=$?
			echo "$brc" >"$PVX_OUT/$part.rc"
			# not sync_out: the suite's own TAP is not complete yet
			sync_out "$PVX_OUT"/l3-* "$PVX_OUT"/steal-*
			sync_out "$PVX_OUT/$part.tap" "$PVX_OUT/$part.rc"
			[ "${PVX_LAB_FAKE_STALL:-}" = "$part" ] && fake_stall
		fi
		scripts/ktap-nest.sh "$i" "${f#selftests/guest/}" "$PVX_OUT/$part.tap" "$brc"
		[ "$brc" = 0 ] || rc=1
	done
	return $rc
}

# Run the L3 suites as one TAP stream: host-pvx guest, fallback guest, the
# steal boots, the short topology boots (vCPUs created out of order with
# KVM_HINTS_REALTIME; one vCPU), and the guest module refusing to load in
# L2 (which is not a KVM guest).
CORE_BOOTS=("selftests/guest/run-l3.sh host" "selftests/guest/run-l3.sh fallback")
guest_suite() {
	run_l3s guest "${CORE_BOOTS[@]}" "${STEAL_BOOTS[@]}" "${TOPOLOGY_BOOTS[@]}" \
		"selftests/guest/baremetal.sh"
}

# migrate: an L3 live-migrated between two QEMU processes of this L2 and
# back while the host writes its pages, with the dirty bitmap and with the
# dirty ring, once onto L2 without pvx_fork_copy, and onto L2 without
# pvx_host, with it, with pvx off for the VM, with it (nohost)
# (selftests/host/pvx_migrate_host.c, Documentation/lab.rst)
MIGRATE_BOOTS=("selftests/guest/run-l3.sh --migrate bitmap host"
	       "selftests/guest/run-l3.sh --migrate ring host"
	       "selftests/guest/run-l3.sh --migrate unload host"
	       "selftests/guest/run-l3.sh --migrate nohost host")
# migrate-quick (make check's): the bitmap and ring boots, two
# migrations each (PVX_MIGRATIONS, pvx_migrate_host): there and back. The
# one-boot form (--migrate mixed: there logged with the bitmap, back
# with the ring) is not make check's yet (Documentation/lab.rst)
MIGRATE_QUICK_BOOTS=("${MIGRATE_BOOTS[@]:0:2}")
# migrate-bitmap, migrate-ring: one of those two boots each; make check
# migrates with one mode per kernel (scripts/check.sh)

# guest-core: every guest module and feature, on a pvx host and on one
# without pvx, and the refusal in L2; not the steal and topology boots
# (make check runs it on its second kernel, Documentation/lab.rst)
guest_core_suite() {
	run_l3s guest-core "${CORE_BOOTS[@]}" "selftests/guest/baremetal.sh"
}
# guest-host: guest-core without the fallback boot: every guest module and
# feature on a pvx host, and the refusal in L2 (make check's second kernel,
# whose fallback boot runs in check-full; Documentation/lab.rst)
guest_host_suite() {
	run_l3s guest-host "${CORE_BOOTS[0]}" "selftests/guest/baremetal.sh"
}

# unload_pvx: the host modules, feature modules first (they hold
# references on pvx_host)
unload_pvx() {
	local m
	for m in pvx_ksm pvx_numa pvx_fork_copy pvx_yield pvx_host; do
		grep -q "^$m " /proc/modules && rmmod "$m"
	done
}

# with_bench_env CMD...: CMD with make bench's knobs, the PVX_BENCH*
# variables scripts/bench.sh wrote to $PVX_BUILD/bench.env
with_bench_env() {
	(
		# shellcheck disable=SC1091
		[ -f "$PVX_BUILD/bench.env" ] && . "$PVX_BUILD/bench.env"
		exec "$@"
	)
}

tag=${PVX_L2_TAG:-all}
dmesg -c >"$PVX_OUT/dmesg-boot-$tag.log" 2>&1
sync_out
IFS=, read -r -a suites <<<"$PVX_TESTS"
# tinyvm last: its no-kvm stage unloads kvm, and loading kvm and kvm_amd
# again costs 35-50 s of L2 time under TCG (ftrace patches each of their
# functions); this L2 ends after its last suite, so it need not.
order=()
for s in "${suites[@]}"; do [ "$s" = tinyvm ] || order+=("$s"); done
for s in "${suites[@]}"; do [ "$s" = tinyvm ] && order+=("$s"); done
suites=("${order[@]}")
# One idle VM beside every suite but tinyvm (which runs its own, as it
# unloads kvm at its end): it keeps KVM's preempt-notifier static key on,
# so that VMs coming and going do not patch L2's kernel text each time
# (pvx_hcall_test hold-vm, lab.rst).
hold_pid=""
for s in "${suites[@]}"; do
	if [ "$s" != tinyvm ] && [ -z "$hold_pid" ] && [ -c /dev/kvm ]; then
		"$PVX_SELFTESTS/pvx_hcall_test" hold-vm &
		hold_pid=$!
	elif [ "$s" = tinyvm ] && [ -n "$hold_pid" ]; then
		kill "$hold_pid"; wait "$hold_pid" 2>/dev/null; hold_pid=""
	fi
	case "$s" in
	tinyvm)
		# it starts without pvx (an L3 boot of the guest suite leaves
		# the host modules loaded)
		unload_pvx
		PVX_KEEP_KVM_UNLOADED=1 run_suite tinyvm bash selftests/host/run-l2.sh ;;
	lockdown) run_suite lockdown bash selftests/host/lockdown-l2.sh ;;
	enrol) run_suite enrol bash selftests/host/lockdown-l2.sh enrol ;;
	upstream) run_suite upstream bash selftests/host/kvm-upstream.sh run ;;
	guest) run_suite guest guest_suite ;;
	guest-core) run_suite guest-core guest_core_suite ;;
	guest-host) run_suite guest-host guest_host_suite ;;
	steal) run_suite steal run_l3s steal "${STEAL_BOOTS[@]}" ;;
	topology) run_suite topology run_l3s topology "${TOPOLOGY_BOOTS[@]}" ;;
	demo) run_suite demo bash scripts/demo-l2.sh ;;
	bench) run_suite bench bash scripts/bench-l2.sh ;;
	resets) run_suite resets bash selftests/guest/resets-l2.sh ;;
	numa) run_suite numa bash selftests/host/numa-l2.sh ;;
	numabench) run_suite numabench with_bench_env "$PVX_SELFTESTS/pvx_bench_numa" ;;
	migrate) run_suite migrate run_l3s migrate "${MIGRATE_BOOTS[@]}" ;;
	migrate-quick)
		PVX_MIGRATIONS=2 run_suite migrate-quick run_l3s migrate-quick "${MIGRATE_QUICK_BOOTS[@]}" ;;
	migrate-bitmap)
		PVX_MIGRATIONS=2 run_suite migrate-bitmap run_l3s migrate-bitmap "${MIGRATE_BOOTS[0]}" ;;
	migrate-ring)
		PVX_MIGRATIONS=2 run_suite migrate-ring run_l3s migrate-ring "${MIGRATE_BOOTS[1]}" ;;
	esac
	dmesg -c >>"$PVX_OUT/dmesg-$tag.log" 2>&1
	sync_out
done
if [ -n "$hold_pid" ]; then
	kill "$hold_pid"; wait "$hold_pid" 2>/dev/null
fi
unload_pvx
dmesg -c >>"$PVX_OUT/dmesg-$tag.log" 2>&1
sync_out
exit 0
