# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# The retransmit-timeout benchmark (issue 4), sourced by the bench guest's
# /init when the kernel command line says pvx_bench=timers. The L2 host
# (scripts/bench-l2.sh) injects steal into this guest's vCPUs and changes
# the level when asked on /dev/ttyS1 (pvx_steal_share --set).
#
# R runs, each: at level 0 the cost of arming each kind, then at each
# level of pvx_levels: pvx_steal_share --set LEVEL, K timers of deadline D
# of each kind in the kernel (pvx_stimer_bench.ko: hrtimer, pvx) and in
# userspace (pvx_stimer_ubench: timerfd, pvxfd), and the steal share the
# bench CPU saw meanwhile. Lines (into $OUT, see init.sh), each result
# line ending in run=N (1..R):
#
#   stimer ... / arm ...          pvx_stimer_bench.ko results
#   ustimer ... / uarm ...        pvx_stimer_ubench
#   share label=steal=L steal_pct=P wall_s=S   observed on the bench CPU
#   error WHAT
#
# Parameters (kernel command line): pvx_timers= [16] K, pvx_deadline_ms=
# [100] D, pvx_cap_factor= [16] the pvx timers' cap in D, pvx_levels=
# [0,25,50,75], pvx_arm_loops= [20000], pvx_timer_runs= [3] R.

TIMER_DIR=/sys/kernel/debug/pvx_stimer_bench
timers=16 deadline_ms=100 cap_factor=16 levels=0,25,50,75 arm_loops=20000 runs=3

# steal of cpu0 in USER_HZ ticks, and uptime in centiseconds
cpu0_steal() { awk '$1 == "cpu0" { print $9 }' /proc/stat; }
uptime_cs() { awk '{ split($1, a, "."); print a[1] * 100 + a[2] }' /proc/uptime; }

timer_bench() {
	for w in $cmdline; do
		case "$w" in
		pvx_timers=*) timers=${w#*=} ;;
		pvx_deadline_ms=*) deadline_ms=${w#*=} ;;
		pvx_cap_factor=*) cap_factor=${w#*=} ;;
		pvx_levels=*) levels=${w#*=} ;;
		pvx_arm_loops=*) arm_loops=${w#*=} ;;
		pvx_timer_runs=*) runs=${w#*=} ;;
		esac
	done
	for m in pvx_guest pvx_stimer; do
		if ! insmod "/pvx/$m.ko" >/tmp/insmod.out 2>&1; then
			say "error insmod $m.ko: $(head -n1 /tmp/insmod.out)"
			return
		fi
	done
	if ! insmod /pvx/pvx_stimer_bench.ko timers="$timers" deadline_ms="$deadline_ms" \
		cap_factor="$cap_factor" arm_loops="$arm_loops" >/tmp/insmod.out 2>&1; then
		say "error insmod pvx_stimer_bench.ko: $(head -n1 /tmp/insmod.out)"
		return
	fi
	dmesg | grep -E 'pvx_|steal' | sed 's/^/# dmesg: /' >>"$OUT"
	for f in /sys/kernel/pvx/stimer/*; do
		[ -f "$f" ] && diag "stimer/${f##*/}: $(cat "$f")"
	done

	r=1
	while [ "$r" -le "$runs" ]; do
		diag "run $r of $runs"
		timer_run "$r"
		r=$((r + 1))
	done
	/pvx/pvx_steal_share --set 0 2>/dev/null
	rmmod pvx_stimer_bench || say "error rmmod pvx_stimer_bench"
}

# tag_run KINDS: the lines of stdin of those kinds (an ERE alternation),
# each with " run=$run" appended, into $OUT
tag_run() {
	grep -E "^($1) " | sed "s/\$/ run=$run/" >>"$OUT"
}

# timer_run N: run N, the arming costs at level 0, then every level. The
# kernel module's results are taken and emptied at the end of the run
# (its buffer holds one run's lines, not R runs').
timer_run() {
	run=$1
	# arming cost, without injected steal
	if /pvx/pvx_steal_share --set 0 2>/tmp/set.out; then
		echo arm >"$TIMER_DIR/run" 2>/tmp/run.out || say "error arm (kernel): $(head -n1 /tmp/run.out)"
		/pvx/pvx_stimer_ubench --arm --arm-loops "$arm_loops" >/tmp/u.out 2>&1 ||
			say "error arm (userspace): $(head -n1 /tmp/u.out)"
		tag_run uarm </tmp/u.out
	else
		say "error steal level 0: $(head -n1 /tmp/set.out)"
	fi

	for l in $(echo "$levels" | tr , ' '); do
		if ! /pvx/pvx_steal_share --set "$l" 2>/tmp/set.out; then
			say "error steal level $l: $(head -n1 /tmp/set.out)"
			continue
		fi
		diag "run $run level $l% at uptime $(cut -d' ' -f1 /proc/uptime) s"
		s0=$(cpu0_steal)
		t0=$(uptime_cs)
		echo "steal=$l" >"$TIMER_DIR/run" 2>/tmp/run.out ||
			say "error run steal=$l (kernel): $(head -n1 /tmp/run.out)"
		/pvx/pvx_stimer_ubench --label "steal=$l" --timers "$timers" \
			--deadline-ms "$deadline_ms" --cap-factor "$cap_factor" >/tmp/u.out 2>&1 ||
			say "error run steal=$l (userspace): $(head -n1 /tmp/u.out)"
		tag_run ustimer </tmp/u.out
		s1=$(cpu0_steal)
		t1=$(uptime_cs)
		echo "share label=steal=$l steal_pct=$(((s1 - s0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1))) wall_s=$(((t1 - t0) / 100))" |
			tag_run share
	done
	tag_run 'stimer|arm' <"$TIMER_DIR/results"
	echo reset >"$TIMER_DIR/run"
}
