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
# Before them the room series (issue 29): layouts of 2, 1 and 3 L3 vCPUs, all
# homed on node 1 (whose CPUs are fewer than 2), each PVX_BENCH_NUMA_RUNS
# times (default 3) blind and act (hints, mode act), alternating: the
# workload's passes (the sum over its threads), share on the memory's
# node, pvx's full count, and the most vCPU threads pvx held on one node's
# CPUs at once (from the VM's debugfs, every 2 s). Medians with their
# spread and the floors: 1 vCPU (room): act >= 90 % on the memory's node;
# 2 and 3 vCPUs (no room for all): no node holds more vCPUs pvx placed
# than CPUs (a TAP result) and act's passes >= 1.0x blind's (printed
# met/missed: a number of this emulated machine, not a test).
# Measured in L2 while the workload runs: where each vCPU thread was when
# it was running (its last CPU in /proc/PID/task/TID/stat, sampled every
# 0.1 s while in state R): the share of samples on the node holding its
# memory, per vCPU thread and in all; the remote-page share of each vCPU's
# memory: the L3 thread pinned on vCPU N writes the guest-physical frames
# of its buffer on the console, pvx_numa_pages (selftests/host) reads the
# node of each of those pages in QEMU every second (move_pages(2), no
# target: nothing moves), and each 0.1 s sample of vCPU N running on a
# CPU of node X counts the share of its buffer's pages not on X (averaged
# over the samples taken once the pages were read); vCPU moves by
# pvx_numa; pages migrated (/proc/vmstat numa_pages_migrated); where
# QEMU's RAM ended (/proc/PID/numa_maps); in the hints case, what one
# PVX_IOC_NUMA_HINT costs in L3 against a bare exit (CPUID) and a bare
# /dev/pvx ioctl (PVX_IOC_GET_INFO), medians of 25 (pvx_numa_work). TCG
# does not model NUMA latency: placement is the metric, not the
# workload's speed (its passes are printed, not compared).
#
# Environment: PVX_ABI, PVX_BUILD, PVX_KIMAGE, PVX_OUT, PVX_SELFTESTS (lab); optional
# PVX_BENCH_NUMA_SECS (workload seconds, default 20), PVX_BENCH_NUMA_MB
# (MiB per L3 CPU, default 32), PVX_BENCH_L3_CPUS (default 2),
# PVX_BENCH_NUMA_RUNS (runs per layout and mode of the room series, default
# 3), PVX_BENCH_NUMA_ROOM_SECS (their workload seconds, default 10).
# shellcheck source=scripts/bench-tap.sh
. "$(dirname "$0")/bench-tap.sh"
secs=${PVX_BENCH_NUMA_SECS:-20}
mb=${PVX_BENCH_NUMA_MB:-32}
l3_cpus=${PVX_BENCH_L3_CPUS:-2}
runs=${PVX_BENCH_NUMA_RUNS:-3}
room_secs=${PVX_BENCH_NUMA_ROOM_SECS:-10}
kernel=$PVX_KIMAGE/boot/vmlinuz-$PVX_ABI
initrd=${PVX_BENCH_INITRD:-$PVX_BUILD/l3-bench-initrd.gz}
node1=$(cat /sys/devices/system/node/node1/cpulist 2>/dev/null)
if [ -z "$node1" ]; then
	echo "1..0 # SKIP the NUMA benchmark needs an L2 with two NUMA nodes (lab.sh --tests numabench)"
	exit 4
fi
[ -f "$initrd" ] || { not_ok "bench initramfs # no $initrd (scripts/bench.sh builds it)"; done_tap; }
pages_bin=$PVX_SELFTESTS/pvx_numa_pages
[ -x "$pages_bin" ] || { not_ok "no $pages_bin (make -C selftests/host)"; done_tap; }
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

vcpu_index() {	# vcpu_index PID TID: N of QEMU's thread "CPU N/KVM"
	local c
	read -r c <"/proc/$1/task/$2/comm" 2>/dev/null || return
	c=${c#CPU }
	echo "${c%/KVM}"
}

# a sleep without a process: every fork in L2 is CPU taken from L3
nap_fifo=/tmp/bench-numa-nap.$$
mkfifo "$nap_fifo" && exec 9<>"$nap_fifo"
rm -f "$nap_fifo"
nap() { read -r -t "$1" -u 9 _ 2>/dev/null || true; }

# sample PID SECONDS PAGES: per vCPU thread, samples in state R (run),
# those on node 1's CPUs (home), and, once PAGES (pvx_numa_pages' file)
# exists, those with a reading (pseen) and the sum of the share of the
# vCPU's buffer pages not on the node of the CPU it was on, in 1/10000
# (remote), every 0.1 s; bash builtins only
sample() {
	local pid=$1 end=$((SECONDS + $2)) pages=$3 tid st rest state cpu tids r
	local c a b n0 n1
	declare -gA run=() home=() remote=() pseen=()
	declare -A p0=() p1=()
	tids=$(vcpu_threads "$pid")
	while [ $SECONDS -lt $end ] && [ -d "/proc/$pid" ]; do
		if [ -f "$pages" ]; then
			# "cpu N node0 P0 node1 P1 other PO"
			while read -r _ c _ a _ b _; do
				p0[$c]=$a p1[$c]=$b
			done <"$pages"
		fi
		for tid in $tids; do
			read -r st <"/proc/$pid/task/$tid/stat" 2>/dev/null || continue
			rest=${st##*) }
			# shellcheck disable=SC2086
			set -- $rest
			state=$1 cpu=${37}
			[ "$state" = R ] || continue
			run[$tid]=$((${run[$tid]:-0} + 1))
			on_node1 "$cpu" && home[$tid]=$((${home[$tid]:-0} + 1))
			c=${vidx[$tid]:-}
			[ -n "$c" ] || continue
			n0=${p0[$c]:-0} n1=${p1[$c]:-0}
			[ $((n0 + n1)) -gt 0 ] || continue
			pseen[$tid]=$((${pseen[$tid]:-0} + 1))
			if on_node1 "$cpu"; then
				remote[$tid]=$((${remote[$tid]:-0} + 10000 * n0 / (n0 + n1)))
			else
				remote[$tid]=$((${remote[$tid]:-0} + 10000 * n1 / (n0 + n1)))
			fi
		done
		# where QEMU's RAM is, every 2 s: the last reading before L3 ends
		# (not from a QEMU on its way out, whose numa_maps is empty);
		# the vCPU threads pvx holds on each node's CPUs
		if [ $((SECONDS % 2)) = 0 ]; then
			r=$(ram_on_node1 "$pid")
			[ -n "$r" ] && ram_end=$r
			placed_max "$pid"
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

# placed_max PID: the most vCPU threads of QEMU PID's VM that pvx held on
# node 0's and node 1's CPUs in one reading so far (placed0, placed1): the
# "cpus" of its debugfs vCPU lines, "-" when pvx holds none
placed_max() {
	local f line c n0=0 n1=0
	for f in /sys/kernel/debug/pvx/vm*-"$1"/numa; do
		[ -r "$f" ] || continue
		while read -r line; do
			[[ "$line" == vcpu\ * ]] || continue
			c=${line##* cpus }
			c=${c%% *}
			c=${c%%[,-]*}
			[ "$c" = "" ] && continue
			if on_node1 "$c"; then n1=$((n1 + 1)); else n0=$((n0 + 1)); fi
		done <"$f"
	done
	[ "$n0" -gt "$placed0" ] && placed0=$n0
	[ "$n1" -gt "$placed1" ] && placed1=$n1
}

migrated() { awk '$1 == "numa_pages_migrated" { print $2 }' /proc/vmstat; }
moves() { awk '$1 == "moves" { print $2 }' /sys/kernel/debug/pvx/numa 2>/dev/null || echo 0; }
fulls() { awk '$1 == "full" { print $2 }' /sys/kernel/debug/pvx/numa 2>/dev/null || echo 0; }

# run_case NAME BALANCING MODE HINT [L3_CPUS SECS]
run_case() {
	local name=$1 bal=$2 mode=$3 hint=$4 log=$PVX_OUT/bench-numa-$1.log qpid qemu="" tid
	local l3_cpus=${5:-$l3_cpus} secs=${6:-$secs} placed0=0 placed1=0 f0 passes
	local m0 v0 t0 share total=0 inhome=0 ram ram_end=- w
	local pages=$PVX_OUT/bench-numa-$1.pages ppid per="" rsum=0 rseen=0 v cost
	echo "$bal" >/proc/sys/kernel/numa_balancing 2>/dev/null
	echo "$mode" >"$params/mode"
	m0=$(migrated) v0=$(moves) f0=$(fulls)
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
	declare -gA vidx=()
	for tid in $(vcpu_threads "$qemu"); do
		vidx[$tid]=$(vcpu_index "$qemu" "$tid")
	done
	rm -f "$pages"
	"$pages_bin" "$qemu" "$log" "$l3_cpus" "$pages" "$((secs + 30))" >"$pages.log" 2>&1 &
	ppid=$!
	sample "$qemu" "$secs" "$pages"
	wait "$qpid"
	wait "$ppid" || not_ok "$name: pvx_numa_pages # $(grep -v '^pages ' "$pages.log" | head -n 2 | tr '\n' ' ')"
	sed "s/^/# $name: /" "$pages.log"
	for tid in "${!run[@]}"; do
		total=$((total + run[$tid]))
		inhome=$((inhome + ${home[$tid]:-0}))
		rsum=$((rsum + ${remote[$tid]:-0}))
		rseen=$((rseen + ${pseen[$tid]:-0}))
	done
	# per vCPU: vN=ON_NODE%/REMOTE_PAGES%/SAMPLES
	for tid in $(for t in "${!run[@]}"; do echo "${vidx[$t]} $t"; done | sort -n | cut -d' ' -f2); do
		v=$(awk -v a="${home[$tid]:-0}" -v b="${run[$tid]}" -v r="${remote[$tid]:-0}" -v s="${pseen[$tid]:-0}" \
			'BEGIN { printf "%.1f/%s/%d", 100 * a / b, s ? sprintf("%.1f", r / s / 100) : "-", b }')
		per="$per v${vidx[$tid]}=$v"
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
	if [ "$rseen" -gt 0 ]; then
		ok "$name: remote-page share of the vCPUs' buffers $(awk -v r="$rsum" -v s="$rseen" 'BEGIN { printf "%.1f", r / s / 100 }')% over $rseen samples"
	elif [[ "$name" == @(one|two|thr)-* ]]; then
		# the room series' 10 s windows: with more vCPUs than L2 has
		# CPUs, pvx_numa_pages' first reading may come after the
		# window, and the series' floors do not use it
		say "$name: no reading of where the buffers' pages are in its window (see $pages.log)"
	else
		not_ok "$name: no reading of where the buffers' pages are (see $pages.log)"
	fi
	cost=$(grep -a '^cost ' "$log" | tr -d '\r' | tr '\n' ';')
	[ -n "$cost" ] && say "$name: $cost"
	passes=$(grep -a '^work ' "$log" | tr -d '\r' | sed -n 's/.* passes=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	echo "numa case=$name home_share=$share samples=$total remote=$(awk -v r="$rsum" -v s="$rseen" 'BEGIN { printf "%s", s ? sprintf("%.1f", r / s / 100) : "-" }') moves=$(($(moves) - v0)) migrated=$(($(migrated) - m0)) ram_node1_at_start=$ram ram_node1_at_end=$ram_end vcpus=$l3_cpus passes=$passes full=$(($(fulls) - f0)) placed0=$placed0 placed1=$placed1$per" >>"$PVX_OUT/bench-numa.txt"
	grep -a '^cost ' "$log" | tr -d '\r' | sed "s/^/numacost case=$name /" >>"$PVX_OUT/bench-numa.txt"
}

: >"$PVX_OUT/bench-numa.txt"
echo 0 >"$params/hint_interval_ms"
# The room series: layout LABEL with N vCPUs, blind and act by turns
ncpus() {	# ncpus N: how many CPUs node N has (its cpulist)
	awk -F, '{ for (i = 1; i <= NF; i++) { n = split($i, a, "-"); c += n == 2 ? a[2] - a[1] + 1 : 1 } }
		END { print c }' "/sys/devices/system/node/node$1/cpulist"
}
ncpu0=$(ncpus 0) ncpu1=$(ncpus 1)
say "room series: node 1 has $ncpu1 CPU(s), node 0 $ncpu0; $runs runs of blind and act per layout, ${room_secs} s each"
for lay in two:2 one:1 thr:3; do
	for r in $(seq 1 "$runs"); do
		run_case "${lay%:*}-b$r" 0 observe 0 "${lay#*:}" "$room_secs"
		run_case "${lay%:*}-a$r" 0 act 1 "${lay#*:}" "$room_secs"
	done
done
run_case blind 0 observe 0
run_case balance 1 observe 0
run_case hints 0 act 1
run_case auto 0 act 2

# pvx never held more vCPU threads on a node's CPUs than it has CPUs, and
# with more vCPUs homed on node 1 than its CPUs, it left some in place
while read -r c v p0 p1 full; do
	d="room $c: $v vCPU(s) homed on node 1: pvx held at most $p0 vCPU thread(s) on node 0's $ncpu0 CPU(s), $p1 on node 1's $ncpu1; full $full"
	if [ "$p0" -le "$ncpu0" ] && [ "$p1" -le "$ncpu1" ] &&
		{ [ "$v" -le "$ncpu1" ] || [ "$full" -ge 1 ]; }; then
		ok "$d"
	else
		not_ok "$d"
	fi
done < <(awk '$1 == "numa" && $2 ~ /^case=(one|two|thr)-a/ {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print v["case"], v["vcpus"], v["placed0"], v["placed1"], v["full"] }' \
	"$PVX_OUT/bench-numa.txt")
echo 0 >/proc/sys/kernel/numa_balancing 2>/dev/null
echo observe >"$params/mode"
echo 100 >"$params/hint_interval_ms"

awk '
function f(line, k,   i, n, a) { n = split(line, a, " "); for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2); return "" }
$1 == "numa" { c = f($0, "case"); share[c] = f($0, "home_share"); rem[c] = f($0, "remote"); mv[c] = f($0, "moves"); mig[c] = f($0, "migrated"); ram[c] = f($0, "ram_node1_at_start") "->" f($0, "ram_node1_at_end")
	for (v = 0; v < 64; v++) if ((x = f($0, "v" v)) != "") { per[c, v] = x; nv[c] = v + 1 } }
$1 == "numacost" { k = ncost++; cc[k] = f($0, "case") " cpu " f($0, "cpu"); ci[k] = f($0, "cpuid_ns"); gi[k] = f($0, "getinfo_ns"); h1[k] = f($0, "hint1_ns"); h[k] = f($0, "hint_ns"); hp[k] = f($0, "hint_pages"); hr[k] = f($0, "hint_ranges"); he[k] = f($0, "errors") }
END {
	printf "# ---- NUMA hints: share of running time on the memory'"'"'s node (L2 samples), remote-page share of the vCPUs'"'"' buffers, vCPU moves by pvx, pages migrated by the kernel\n"
	printf "# %-8s %10s %8s %10s %10s %10s %14s\n", "case", "on-node %", "x blind", "remote %", "pvx moves", "migrated", "RAM on node 1 %"
	for (i = 1; i <= 4; i++) {
		c = (i == 1) ? "blind" : (i == 2) ? "balance" : (i == 3) ? "hints" : "auto"
		r = (share["blind"] > 0) ? sprintf("%.2f", share[c] / share["blind"]) : "-"
		printf "# %-8s %10s %8s %10s %10s %10s %14s\n", c, share[c], r, rem[c], mv[c], mig[c], ram[c]
	}
	printf "# ---- per vCPU thread: on the memory'"'"'s node %% / remote pages of its buffer %% / running samples\n"
	printf "# %-8s %6s %10s %10s %8s\n", "case", "vCPU", "on-node %", "remote %", "samples"
	for (i = 1; i <= 4; i++) {
		c = (i == 1) ? "blind" : (i == 2) ? "balance" : (i == 3) ? "hints" : "auto"
		for (v = 0; v < nv[c]; v++) {
			split(per[c, v], a, "/")
			printf "# %-8s %6d %10s %10s %8s\n", c, v, a[1], a[2], a[3]
		}
	}
	printf "# ---- cost of one PVX_IOC_NUMA_HINT in L3 (medians, ns of this emulated guest; ratios to one CPUID exit)\n"
	printf "# %-12s %9s %9s %9s %11s %7s %7s %8s %8s %8s %8s\n", "", "CPUID", "GET_INFO", "hint 1pg", "hint buffer", "pages", "ranges", "1pg/exit", "buf/exit", "page/exit", "errors"
	for (k = 0; k < ncost; k++) {
		pp = (hp[k] > 1 && ci[k] > 0) ? sprintf("%.3f", (h[k] - h1[k]) / (hp[k] - 1) / ci[k]) : "-"
		printf "# %-12s %9s %9s %9s %11s %7s %7s %8.2f %8.2f %8s %8s\n", cc[k], ci[k], gi[k], h1[k], h[k], hp[k], hr[k], ci[k] ? h1[k] / ci[k] : 0, ci[k] ? h[k] / ci[k] : 0, pp, he[k]
	}
}' "$PVX_OUT/bench-numa.txt"

# numa_room_of VAR LAY MODE KEY: into VAR KEY of each run 1..runs of the
# room case LAY-MODE (b: blind, a: act), comma-separated (bench_list; RL
# holds the lines)
numa_room_of() { bench_list "$1" RL "$2-$3" "$runs" "$4"; }

# numa_room_table: per layout the medians of the runs with n and
# min..max, act's passes over blind's (the ratio of the medians, its
# range min(act)/max(blind)..max(act)/min(blind)); the floors, act
# against blind run by run (each act run after its blind run). The
# statistics in two pvx_bench_stat batches (bench_batch).
numa_room_table() {
	local lay line b a s f held over i i2 verdict x
	local -a p0 p1 req ans lays
	local -A RL VC HELD OVER XB
	[ -x "$PVX_SELFTESTS/pvx_bench_stat" ] || { say "room series: no $PVX_SELFTESTS/pvx_bench_stat"; return; }
	# shellcheck disable=SC2034 # RL: read by bench_list, by name
	while read -r line; do
		[[ "$line" =~ ^numa\ case=((one|two|thr)-[ab][0-9]+)\  ]] && RL[${BASH_REMATCH[1]}]=$line
	done <"$PVX_OUT/bench-numa.txt"
	# stage 1: act's passes over blind's, the ratio of the medians (raw)
	for lay in one two thr; do
		numa_room_of a "$lay" a passes
		numa_room_of b "$lay" b passes
		[[ "$a" =~ [0-9] && "$b" =~ [0-9] ]] || continue
		lays+=("$lay")
		req+=("-r ratio $a $b")
	done
	bench_batch ans "${req[@]}"
	req=()
	i=0
	for lay in "${lays[@]}"; do
		read -r _ x _ <<<"${ans[i++]}"
		XB[$lay]=$x
		# the most vCPU threads pvx held on one node in any act run, and
		# whether a node ever held more than its CPUs
		held=0 over=0
		numa_room_of x "$lay" a placed0
		IFS=, read -r -a p0 <<<"$x"
		numa_room_of x "$lay" a placed1
		IFS=, read -r -a p1 <<<"$x"
		for i2 in "${!p0[@]}"; do
			for x in "${p0[i2]}" "${p1[i2]:-}"; do
				[[ "$x" =~ ^[0-9]+$ ]] && [ "$x" -gt "$held" ] && held=$x
			done
			{ [[ "${p0[i2]}" =~ ^[0-9]+$ ]] && [ "${p0[i2]}" -gt "$ncpu0" ]; } && over=1
			{ [[ "${p1[i2]:-}" =~ ^[0-9]+$ ]] && [ "${p1[i2]}" -gt "$ncpu1" ]; } && over=1
		done
		HELD[$lay]=$held OVER[$lay]=$over
		numa_room_of x "$lay" a vcpus
		VC[$lay]=${x%%,*}
		numa_room_of a "$lay" a passes
		numa_room_of b "$lay" b passes
		numa_room_of s "$lay" a home_share
		numa_room_of f "$lay" a full
		# stage 2, 9 per layout; within 5 % of blind (the ratio of the
		# medians) a tie
		req+=("-f %.0f stat $b" "-f %.0f stat $a" "-f %.2f ratio $a $b" "-f %.1f stat $s"
			"-f %.0f stat $f" "-f %.1f -u % floor ge 90 $s" "-f %.2f floor ge 1.0 $a $b"
			"floor ge 1.05 ${XB[$lay]}" "floor le 0.95 ${XB[$lay]}")
	done
	bench_batch ans "${req[@]}"
	say "---- room series: passes of the workload (sum over its threads), medians of the runs (n min..max)," \
		"on the memory's node, pvx full, most vCPUs pvx held on one node"
	say "$(printf '%-4s %5s %-24s %-24s %-22s %-24s %6s %6s' lay vCPUs "blind passes" "act passes" \
		"x blind" "act on-node %" full held)"
	i=0
	for lay in "${lays[@]}"; do
		say "$(printf '%-4s %5s %-24s %-24s %-22s %-24s %6s %6s' "$lay" "${VC[$lay]}" "${ans[i]}" \
			"${ans[i + 1]}" "${ans[i + 2]}" "${ans[i + 3]}" "${ans[i + 4]%% *}" "${HELD[$lay]}")"
		if [[ "${ans[i + 7]}" == met* ]]; then
			verdict=wins
		elif [[ "${ans[i + 8]}" == met* ]]; then
			verdict=loses
		elif [[ "${ans[i + 7]}" == MISSED* ]]; then
			verdict=ties
		else
			verdict="not evaluated"
		fi
		if [ "$lay" = one ]; then
			say "floor one (room): act on the memory's node >= 90 %: ${ans[i + 5]}; throughput $verdict (${ans[i + 2]%% *})"
		else
			say "floor $lay: no node holds more pvx-placed vCPUs than CPUs:" \
				"$([ "${OVER[$lay]}" = 1 ] && echo missed || echo met); throughput $verdict (${ans[i + 2]%% *})"
			say "floor $lay: act >= 1.0x blind, run by run: ${ans[i + 6]}"
		fi
		i=$((i + 9))
	done
}
numa_room_table
done_tap
