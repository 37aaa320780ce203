# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Steal injection for L3 guests, sourced by run-l3.sh and called function
# by function (bash -c) by selftests/host/pvx_bench_timers inside the L2
# KVM host (Documentation/lab.rst).
#
# How: every vCPU thread of the L3 QEMU ("CPU n/KVM") goes into its own
# threaded cgroup v2 group with cpu.max = "(100-PCT)% of STEAL_PERIOD_US".
# A vCPU that always wants to run is then runnable but not running for
# PCT% of the time: CFS bandwidth throttling keeps the thread
# queued (its sched_info run_delay grows), and L2's KVM reports run_delay
# to the guest as KVM steal time.
#
# Levels can change while L3 runs: the guest writes "steal PCT" to its
# second serial port (/dev/ttyS1), which QEMU connects to the FIFOs
# DIR/ctl.in and DIR/ctl.out here; steal_controller applies the level and
# answers "ok PCT" (or "err WHY") on the same port. The same port serves
# "pvx SWITCH": this L3's pvx_host switch or mask (sysfs /sys/kernel/pvx_host/vms/
# vm<id>-<QEMU pid>/enabled, QEMU's pid in CTL_QEMU_PID), for the guest's
# test of what it does when the host stops serving pvx; answer
# "ok pvx SWITCH" (ctl_pvx).
#
#   steal_valid PCT          0..99, no sign, no leading zero
#   ctl_prepare DIR          the control port's FIFOs made
#   steal_prepare DIR        cgroup2 mounted, cpu controller on, FIFOs made
#   steal_qemu_args DIR      QEMU options of the control port
#   steal_attach PID PCT     put PID's vCPU threads in groups at PCT (waits
#                            for the threads to exist)
#   steal_controller DIR     serve the guest's requests until QEMU exits
#   steal_cleanup            remove the groups

# 100 ms: long against L2's 4 ms tick and CFS's 5 ms bandwidth slice (so
# the share is exact), short against the 3 s a measurement takes (30
# periods) and the 100+ ms deadlines of the timer benchmark.
STEAL_PERIOD_US=${PVX_STEAL_PERIOD_US:-100000}
STEAL_CG_ROOT=/sys/fs/cgroup
STEAL_CG=$STEAL_CG_ROOT/pvx-l3
STEAL_LOG=${STEAL_LOG:-/dev/null}

steal_valid() { [[ "$1" =~ ^(0|[1-9][0-9]?)$ ]]; }

steal_log() { echo "steal-l2: $*" >>"$STEAL_LOG"; }

ctl_prepare() {
	rm -f "$1/ctl.in" "$1/ctl.out"
	mkfifo "$1/ctl.in" "$1/ctl.out" || { echo "cannot make FIFOs in $1"; return 1; }
}

# cgroup v2 with the cpu controller available to children of the root.
steal_prepare() {
	local dir=$1
	if [ ! -e "$STEAL_CG_ROOT/cgroup.controllers" ]; then
		mkdir -p "$STEAL_CG_ROOT"
		mount -t cgroup2 none "$STEAL_CG_ROOT" || { echo "cannot mount cgroup2"; return 1; }
	fi
	grep -qw cpu "$STEAL_CG_ROOT/cgroup.controllers" ||
		{ echo "no cpu controller in cgroup2"; return 1; }
	echo +cpu >"$STEAL_CG_ROOT/cgroup.subtree_control" ||
		{ echo "cannot enable the cpu controller"; return 1; }
	steal_cleanup
	ctl_prepare "$dir"
}

# the control port, and thread names ("CPU n/KVM") to find the vCPUs by
steal_qemu_args() { echo "-serial pipe:$1/ctl -name pvx-l3,debug-threads=on"; }

# quota for PCT steal: "max" at 0, else (100-PCT)% of the period
steal_quota() {
	if [ "$1" = 0 ]; then echo "max $STEAL_PERIOD_US"; else
		echo "$((STEAL_PERIOD_US * (100 - $1) / 100)) $STEAL_PERIOD_US"
	fi
}

steal_set() {
	local pct=$1 g
	steal_valid "$pct" || { echo "bad level '$pct'"; return 1; }
	for g in "$STEAL_CG"/vcpu*; do
		[ -d "$g" ] || continue
		steal_quota "$pct" >"$g/cpu.max" || { echo "cannot write $g/cpu.max"; return 1; }
	done
	steal_log "level $pct% ($(steal_quota "$pct")) at L2 uptime $(cut -d' ' -f1 /proc/uptime)"
}

# steal_attach PID PCT: $STEAL_CG becomes a threaded domain holding the
# QEMU process, each vCPU thread in a threaded child group vcpuN.
steal_vcpu_threads() {
	local t comm
	for t in /proc/"$1"/task/*; do
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		[[ "$comm" =~ ^CPU\ ([0-9]+)/KVM$ ]] && echo "${t##*/} ${BASH_REMATCH[1]}"
	done
	return 0
}

steal_attach() {
	local pid=$1 pct=$2 tries=0 tid id g list
	while list=$(steal_vcpu_threads "$pid") && [ -z "$list" ] && [ $tries -lt 100 ]; do
		tries=$((tries + 1))
		sleep 0.1
	done
	[ -n "$list" ] || { echo "no vCPU threads ('CPU n/KVM') in process $pid"; return 1; }
	# all vCPU threads are made together at machine init: take them all
	sleep 0.5
	list=$(steal_vcpu_threads "$pid")
	mkdir -p "$STEAL_CG" || { echo "cannot create $STEAL_CG"; return 1; }
	# threaded children first: then the parent may hold the process and
	# enable the (threaded) cpu controller for them
	while read -r tid id; do
		g=$STEAL_CG/vcpu$id
		if ! mkdir -p "$g" || ! echo threaded >"$g/cgroup.type"; then
			echo "cannot make threaded group $g"
			return 1
		fi
	done <<<"$list"
	echo +cpu >"$STEAL_CG/cgroup.subtree_control" ||
		{ echo "cannot enable cpu in $STEAL_CG"; return 1; }
	echo "$pid" >"$STEAL_CG/cgroup.procs" || { echo "cannot move $pid to $STEAL_CG"; return 1; }
	while read -r tid id; do
		g=$STEAL_CG/vcpu$id
		echo "$tid" >"$g/cgroup.threads" || { echo "cannot move thread $tid to $g"; return 1; }
		steal_log "vCPU $id: thread $tid in $g"
	done <<<"$list"
	steal_set "$pct"
}

# pvx on|off|mask-yield|unmask|abi1|abi2: pvx_host's switch or features
# mask of the VM of QEMU $CTL_QEMU_PID, or the ABI version pvx_host
# announces (what a destination host with that policy or an older pvx
# shows the guest)
ctl_pvx() {
	local v f file=enabled
	case "$1" in
	on) v=1 ;;
	off) v=0 ;;
	mask-yield) v=0x1d file=features ;;
	unmask) v=0x1f file=features ;;
	abi1|abi2)
		f=/sys/module/pvx_host/parameters/abi_version
		echo "${1#abi}" >"$f" || { echo "cannot write $f"; return 1; }
		steal_log "pvx $1 at L2 uptime $(cut -d' ' -f1 /proc/uptime)"
		return 0 ;;
	yield-reload) ctl_yield_reload; return ;;
	*) echo "bad pvx switch '$1'"; return 1 ;;
	esac
	for f in /sys/kernel/pvx_host/vms/vm*-"${CTL_QEMU_PID:-none}"/"$file"; do
		[ -f "$f" ] || { echo "no pvx state of QEMU ${CTL_QEMU_PID:-none}"; return 1; }
		echo "$v" >"$f" || { echo "cannot write $f"; return 1; }
		steal_log "pvx $1 ($f) at L2 uptime $(cut -d' ' -f1 /proc/uptime)"
	done
}

# pvx_yield removed and loaded again: PROBE's epoch changes for every VM
# (a feature module came and went), so the guest must send again what it
# keeps on the host. pvx_yield: cheap to reload, and no later test of the
# boot uses it (pvx_ksm's unload drops the guest's candidates, minutes
# under TCG on 6.1).
ctl_yield_reload() {
	local err ko=$PVX_BUILD/host/pvx_yield.ko
	err=$(rmmod pvx_yield 2>&1) || { echo "rmmod pvx_yield: $err"; return 1; }
	err=$(insmod "$ko" 2>&1) || { echo "insmod $ko: $err"; return 1; }
	steal_log "pvx_yield reloaded at L2 uptime $(cut -d' ' -f1 /proc/uptime)"
}

# ctl_reply OK COMMAND...: run COMMAND, answer OK or "err WHY" on the port
ctl_reply() {
	local ok=$1 err
	shift
	if err=$("$@" 2>&1); then
		echo "$ok" >&4
	else
		echo "err $err" >&4
	fi
}

# The guest's requests, one line each: "steal PCT" or "pvx SWITCH" (ctl_pvx).
steal_controller() {
	local dir=$1 cmd arg
	exec 3<>"$dir/ctl.out" 4<>"$dir/ctl.in"
	while read -r cmd arg <&3; do
		cmd=${cmd//$'\r'/} arg=${arg//$'\r'/}
		case "$cmd" in
		steal) ctl_reply "ok $arg" steal_set "$arg" ;;
		pvx) ctl_reply "ok pvx $arg" ctl_pvx "$arg" ;;
		"") ;;
		*) echo "err unknown request '$cmd'" >&4 ;;
		esac
	done
}

steal_cleanup() {
	local g
	[ -d "$STEAL_CG" ] || return 0
	for g in "$STEAL_CG"/vcpu*; do
		[ -d "$g" ] && rmdir "$g" 2>/dev/null
	done
	rmdir "$STEAL_CG" 2>/dev/null || true
}
