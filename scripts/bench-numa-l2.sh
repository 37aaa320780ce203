#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NUMA hint benchmark (issue 9), run inside the lab's NUMA L2 (two nodes,
# one CPU each: scripts/lab.sh --tests numabench, scripts/bench.sh with
# PVX_BENCH=numa). One L3 guest per case, its RAM preallocated on node 1
# (QEMU started on node 1's CPUs with -mem-prealloc; afterwards every QEMU
# thread may run on every CPU), a memory-bound thread pinned on each L3
# vCPU (pvx_numa_work). Cases, side by side in one run:
#   blind     no hints, kernel.numa_balancing=0, pvx_numa mode observe
#   balance   no hints, kernel.numa_balancing=1
#   hints     the workload sends PVX_IOC_NUMA_HINT, pvx_numa mode act,
#             numa_balancing=0
#   auto      no explicit hints: pvx_locality's automatic map (auto=1,
#             default interval), pvx_numa mode act, numa_balancing=0
# Measured in L2 while the workload runs: where each vCPU thread was when
# it was running (its last CPU in /proc/PID/task/TID/stat, sampled every
# 0.1 s while in state R): the share of samples on the node holding its
# memory; vCPU moves by pvx_numa; pages migrated (/proc/vmstat
# numa_pages_migrated); where QEMU's RAM ended (/proc/PID/numa_maps). TCG
# does not model NUMA latency: placement is the metric, not the
# workload's speed (its passes are printed, not compared).
#
# Environment: PVX_ABI, PVX_BUILD, PVX_KIMAGE, PVX_OUT (lab); optional
# PVX_BENCH_NUMA_SECS (workload seconds, default 20), PVX_BENCH_NUMA_MB
# (MiB per L3 CPU, default 32), PVX_BENCH_L3_CPUS (default 2).
# shellcheck source=scripts/bench-tap.sh
. "$(dirname "$0")/bench-tap.sh"
secs=${PVX_BENCH_NUMA_SECS:-20}
mb=${PVX_BENCH_NUMA_MB:-32}
l3_cpus=${PVX_BENCH_L3_CPUS:-2}
kernel=$PVX_KIMAGE/boot/vmlinuz-$PVX_ABI
initrd=${PVX_BENCH_INITRD:-$PVX_BUILD/l3-bench-initrd.gz}
node1=$(cat /sys/devices/system/node/node1/cpulist 2>/dev/null)
if [ -z "$node1" ]; then
	echo "1..0 # SKIP the NUMA benchmark needs an L2 with two NUMA nodes (lab.sh --tests numabench)"
	exit 4
fi
[ -f "$initrd" ] || { not_ok "bench initramfs # no $initrd (scripts/bench.sh builds it)"; done_tap; }
[ -f /proc/sys/kernel/numa_balancing ] || say "no kernel.numa_balancing in this kernel"
say "L2: node0 CPUs $(cat /sys/devices/system/node/node0/cpulist), node1 CPUs $node1; L3: $l3_cpus vCPUs, ${mb} MiB per vCPU, ${secs} s"

for m in pvx_host pvx_numa; do
	grep -q "^$m " /proc/modules || insmod "$PVX_BUILD/host/$m.ko" ||
		{ not_ok "insmod $m.ko"; done_tap; }
done
params=/sys/module/pvx_numa/parameters
node1_list=",${node1//-/,},"
on_node1() { [[ "$node1_list" == *",$1,"* ]]; }

vcpu_threads() {	# vcpu_threads PID: "TID" per vCPU thread (bash builtins)
	local t c
	for t in /proc/"$1"/task/*; do
		read -r c <"$t/comm" 2>/dev/null || continue
		[[ "$c" =~ ^CPU\ [0-9]+/KVM$ ]] && echo "${t##*/}"
	done
}

# a sleep without a process: every fork in L2 is CPU taken from L3
nap_fifo=/tmp/bench-numa-nap.$$
mkfifo "$nap_fifo" && exec 9<>"$nap_fifo"
rm -f "$nap_fifo"
nap() { read -r -t "$1" -u 9 _ 2>/dev/null || true; }

# sample PID SECONDS: per vCPU thread, samples in state R (run) and those
# on node 1's CPUs (home), every 0.1 s; bash builtins only
sample() {
	local pid=$1 end=$((SECONDS + $2)) tid st rest state cpu tids r
	declare -gA run=() home=()
	tids=$(vcpu_threads "$pid")
	while [ $SECONDS -lt $end ] && [ -d "/proc/$pid" ]; do
		for tid in $tids; do
			read -r st <"/proc/$pid/task/$tid/stat" 2>/dev/null || continue
			rest=${st##*) }
			# shellcheck disable=SC2086
			set -- $rest
			state=$1 cpu=${37}
			[ "$state" = R ] || continue
			run[$tid]=$((${run[$tid]:-0} + 1))
			on_node1 "$cpu" && home[$tid]=$((${home[$tid]:-0} + 1))
		done
		# where QEMU's RAM is, every 2 s: the last reading before L3 ends
		# (not from a QEMU on its way out, whose numa_maps is empty)
		if [ $((SECONDS % 2)) = 0 ]; then
			r=$(ram_on_node1 "$pid")
			[ -n "$r" ] && ram_end=$r
		fi
		nap 0.1
	done
}

ram_on_node1() {	# ram_on_node1 PID: % of QEMU's anonymous RAM pages on node 1
	awk '/anon=/ { for (i = 1; i <= NF; i++) {
			if ($i ~ /^N0=/) n0 += substr($i, 4)
			if ($i ~ /^N1=/) n1 += substr($i, 4) } }
		END { if (n0 + n1) printf "%.0f", 100 * n1 / (n0 + n1) }' "/proc/$1/numa_maps" 2>/dev/null
}

migrated() { awk '$1 == "numa_pages_migrated" { print $2 }' /proc/vmstat; }
moves() { awk '$1 == "moves" { print $2 }' /sys/kernel/debug/pvx/numa 2>/dev/null || echo 0; }

# run_case NAME BALANCING MODE HINT
run_case() {
	local name=$1 bal=$2 mode=$3 hint=$4 log=$PVX_OUT/bench-numa-$1.log qpid qemu="" tid
	local m0 v0 t0 share total=0 inhome=0 ram ram_end=- w
	echo "$bal" >/proc/sys/kernel/numa_balancing 2>/dev/null
	echo "$mode" >"$params/mode"
	m0=$(migrated) v0=$(moves)
	t0=$SECONDS
	# RAM preallocated by QEMU's main thread on node 1's CPUs
	taskset -c "$node1" timeout -k 5 900 qemu-system-x86_64 -enable-kvm -cpu host \
		-m $((l3_cpus * mb + 160)) -mem-prealloc -smp "$l3_cpus" \
		-name "numa-$name,process=pvxnb-$name,debug-threads=on" \
		-nographic -no-reboot -nodefaults -serial stdio -kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 pvx_bench=numa pvx_numa_mb=$mb pvx_numa_secs=$secs pvx_numa_hint=$hint" \
		</dev/null >"$log" 2>&1 &
	qpid=$!
	for _ in $(seq 100); do
		qemu=$(pgrep -x "pvxnb-$name" | head -n1)
		[ -n "$qemu" ] && break
		sleep 0.1
	done
	[ -n "$qemu" ] || { not_ok "$name: QEMU did not start"; return; }
	# RAM is preallocated before QEMU makes its vCPU threads: from then on
	# every thread may run anywhere (before the workload can send a hint:
	# pvx_numa takes a later change of CPUs for the administrator's)
	while kill -0 "$qpid" 2>/dev/null && [ -z "$(vcpu_threads "$qemu")" ]; do
		nap 0.2
	done
	for tid in /proc/"$qemu"/task/*; do
		taskset -p -c 0-$(($(nproc) - 1)) "${tid##*/}" >/dev/null 2>&1
	done
	ram=$(ram_on_node1 "$qemu")
	while kill -0 "$qpid" 2>/dev/null && ! grep -aq 'numa workload start' "$log"; do
		nap 1
	done
	say "$name: QEMU $qemu, vCPU threads $(vcpu_threads "$qemu" | tr '\n' ' ')"
	sample "$qemu" "$secs"
	wait "$qpid"
	for tid in "${!run[@]}"; do
		total=$((total + run[$tid]))
		inhome=$((inhome + ${home[$tid]:-0}))
	done
	share=$(awk -v a="$inhome" -v b="$total" 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }')
	w=$(grep -a '^work ' "$log" | tr -d '\r' | tr '\n' ';')
	say "$name: L3 ran $((SECONDS - t0)) s; $w"
	grep -a '^error\|^# locality' "$log" | tr -d '\r' | sed "s/^/# $name: /"
	if [ "$total" -gt 0 ] && grep -aq '^work ' "$log"; then
		ok "$name: vCPU threads on the memory's node $share% of $total running samples"
	else
		not_ok "$name: no samples or no workload result (see $log)"
	fi
	# the automatic map: the host must have found the memory's node from
	# the guest's own map and moved the vCPU threads there
	if [ "$hint" = 2 ]; then
		if [ "$(($(moves) - v0))" -ge 1 ] && grep -aq 'locality/auto_hints: [1-9]' "$log"; then
			ok "$name: the guest's automatic map reached the host, which moved $(($(moves) - v0)) vCPU thread(s) to the memory's node"
		else
			not_ok "$name: the automatic map moved no vCPU thread # moves $(($(moves) - v0)), $(grep -a 'locality/auto_' "$log" | tr -d '\r' | tr '\n' ' ')"
		fi
	fi
	echo "numa case=$name home_share=$share samples=$total moves=$(($(moves) - v0)) migrated=$(($(migrated) - m0)) ram_node1_at_start=$ram ram_node1_at_end=$ram_end" >>"$PVX_OUT/bench-numa.txt"
}

: >"$PVX_OUT/bench-numa.txt"
echo 0 >"$params/hint_interval_ms"
run_case blind 0 observe 0
run_case balance 1 observe 0
run_case hints 0 act 1
run_case auto 0 act 2
echo 0 >/proc/sys/kernel/numa_balancing 2>/dev/null
echo observe >"$params/mode"
echo 100 >"$params/hint_interval_ms"

awk '
function f(line, k,   i, n, a) { n = split(line, a, " "); for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2); return "" }
{ c = f($0, "case"); share[c] = f($0, "home_share"); mv[c] = f($0, "moves"); mig[c] = f($0, "migrated"); ram[c] = f($0, "ram_node1_at_start") "->" f($0, "ram_node1_at_end") }
END {
	printf "# ---- NUMA hints: share of running time on the memory'"'"'s node (L2 samples), vCPU moves by pvx, pages migrated by the kernel\n"
	printf "# %-8s %10s %8s %10s %10s %14s\n", "case", "on-node %", "x blind", "pvx moves", "migrated", "RAM on node 1 %"
	for (i = 1; i <= 4; i++) {
		c = (i == 1) ? "blind" : (i == 2) ? "balance" : (i == 3) ? "hints" : "auto"
		r = (share["blind"] > 0) ? sprintf("%.2f", share[c] / share["blind"]) : "-"
		printf "# %-8s %10s %8s %10s %10s %14s\n", c, share[c], r, mv[c], mig[c], ram[c]
	}
}' "$PVX_OUT/bench-numa.txt"
done_tap
