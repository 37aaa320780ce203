# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# The retransmit-timeout benchmark (issue 4), sourced by
# scripts/bench-l2.sh inside the L2 KVM host (it provides ok, not_ok, say,
# field, l3_results and the PVX_* environment). Documentation/bench.rst.
#
# timer_bench boots one L3 guest (PVX_L3_CPUS vCPUs, default 2) from the
# bench initramfs with pvx_bench=timers, injects steal into its vCPUs
# (selftests/guest/steal-l2.sh, starting at 0%) and serves the guest's
# level changes; the guest (selftests/guest/bench/timers.sh) runs, at each
# level, K timers of deadline D of each kind: wall-clock hrtimer vs
# pvx_stimer in the kernel (pvx_stimer_bench.ko), timerfd vs the pvx timer
# fd in userspace (pvx_stimer_ubench), and the arming cost at level 0.
# Prints TAP and the table of ratios as "#" lines; the floors of issue 4
# are reported (met/MISSED), never asserted. A test fails only when a
# number is missing or a timer never fired.
#
# Knobs: PVX_BENCH_TIMERS (K, 16), PVX_BENCH_DEADLINE_MS (D, 100),
# PVX_BENCH_CAP_FACTOR (16), PVX_BENCH_LEVELS (0,25,50,75),
# PVX_BENCH_ARM_LOOPS (20000), PVX_BENCH_TIMEOUT (s, 600).

# shellcheck source=selftests/guest/steal-l2.sh
. selftests/guest/steal-l2.sh

# (initrd, kernel and timeout_s are bench-l2.sh's)
# shellcheck disable=SC2154
timer_bench() {
	local log=$PVX_OUT/l3-bench-timers.log res=$PVX_OUT/bench-timers-results.txt
	local dir=/tmp/pvx-steal-bench args kv v qpid qemu="" cpid="" err qrc t0 t1

	[ -f "$initrd" ] || { not_ok "timer bench: initramfs # no $initrd"; return; }
	[ -f "$kernel" ] || { not_ok "timer bench: L3 kernel # no $kernel"; return; }
	[ -c /dev/kvm ] || { not_ok "timer bench: L3 guest # no /dev/kvm in L2"; return; }
	mkdir -p "$dir"
	STEAL_LOG=$PVX_OUT/steal-bench-timers.log
	: >"$STEAL_LOG"
	if ! err=$(steal_prepare "$dir"); then
		not_ok "timer bench: steal injection # $err"
		return
	fi
	args="console=ttyS0 panic=-1 pvx_bench=timers"
	for kv in timers:TIMERS deadline_ms:DEADLINE_MS cap_factor:CAP_FACTOR \
		levels:LEVELS arm_loops:ARM_LOOPS; do
		v=PVX_BENCH_${kv#*:}
		[ -n "${!v:-}" ] && args="$args pvx_${kv%%:*}=${!v}"
	done
	say "timer bench: L3 guest with ${PVX_L3_CPUS:-2} vCPUs, steal injected by cgroup cpu.max" \
		"(period $((STEAL_PERIOD_US / 1000)) ms), kernel command line: $args"
	t0=$(date +%s)
	# shellcheck disable=SC2046 # the control port's options are words
	timeout -k 5 "$timeout_s" qemu-system-x86_64 -enable-kvm -cpu host \
		-m "$PVX_L3_MEM" -smp "${PVX_L3_CPUS:-2}" \
		-nographic -no-reboot -nodefaults -serial stdio $(steal_qemu_args "$dir") \
		-kernel "$kernel" -initrd "$initrd" -append "$args" \
		</dev/null >"$log" 2>&1 &
	qpid=$!
	for _ in $(seq 50); do
		qemu=$(pgrep -P "$qpid" | head -n1)
		[ -n "$qemu" ] && break
		sleep 0.1
	done
	if [ -n "$qemu" ] && err=$(steal_attach "$qemu" 0 2>&1); then
		ok "timer bench: steal injection set up (vCPU threads of QEMU $qemu)"
		steal_controller "$dir" >>"$STEAL_LOG" 2>&1 &
		cpid=$!
	else
		not_ok "timer bench: steal injection set up # ${err:-QEMU did not start}"
		kill "$qpid" 2>/dev/null
	fi
	wait "$qpid"
	qrc=$?
	[ -n "$cpid" ] && { kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null; }
	steal_cleanup
	t1=$(date +%s)
	say "timer bench: L3 ran $((t1 - t0)) s, qemu exit $qrc, console $log"

	l3_results "timer bench: L3 guest" "$log" "$res" "$qrc"
	timer_bench_checks "$res"
	timer_bench_table "$res" | tee "$PVX_OUT/bench-timers-table.txt"
	say "---- raw result lines (timers)"
	grep -E '^(stimer|ustimer|arm|uarm|share) ' "$res" | sed 's/^/#   /'
}

# One test per level and kind: the line exists and every timer fired.
timer_bench_checks() {
	local res=$1 levels=${PVX_BENCH_LEVELS:-0,25,50,75} l k line pre
	for l in ${levels//,/ }; do
		for k in stimer:hrtimer stimer:pvx ustimer:timerfd ustimer:pvxfd; do
			pre=${k%%:*}
			line=$(grep "^$pre label=steal=$l kind=${k#*:} " "$res" | head -n1)
			if [ -z "$line" ]; then
				not_ok "timer bench: steal $l% ${k#*:}: all numbers # no result line"
			elif [ "$(field "$line" missed)" != 0 ]; then
				not_ok "timer bench: steal $l% ${k#*:}: every timer fired # $(field "$line" missed) never fired"
			else
				ok "timer bench: steal $l% ${k#*:}: every timer fired, all numbers"
			fi
		done
	done
	for k in arm:hrtimer arm:pvx uarm:timerfd uarm:pvxfd; do
		if grep -q "^${k%%:*} kind=${k#*:} " "$res"; then
			ok "timer bench: arming cost of ${k#*:} measured"
		else
			not_ok "timer bench: arming cost of ${k#*:} measured # no result line"
		fi
	done
}

# The table: per level, spurious-timeout rate and effective-time error of
# each kind, the wall/pvx ratios; the arming costs; the floors.
timer_bench_table() {
	awk -v abi="$PVX_ABI" '
# (a string: add 0 before comparing numbers)
function kv(line, key,    i, n, f) {
	n = split(line, f, " ")
	for (i = 1; i <= n; i++)
		if (index(f[i], key "=") == 1)
			return substr(f[i], length(key) + 2)
	return ""
}
function rate(l) { return kv(l, "fired") + 0 > 0 ? kv(l, "spurious") / kv(l, "fired") : 0 }
function pct(x) { return sprintf("%.1f%%", 100 * x) }
function ratio(a, b) { return b > 0 ? sprintf("%.3g", a / b) : (a > 0 ? "inf" : "-") }
$1 == "stimer" || $1 == "ustimer" {
	l = kv($0, "label"); sub(/^steal=/, "", l)
	if (!(l in seen)) { seen[l] = 1; lv[++nl] = l }
	R[l, kv($0, "kind")] = $0
	d = kv($0, "deadline_ns"); if (kv($0, "tick_ns") != "") tick = kv($0, "tick_ns")
	k = kv($0, "timers")
	next
}
$1 == "arm" || $1 == "uarm" { A[kv($0, "kind")] = kv($0, "ns_per_arm") + 0; next }
$1 == "share" { l = kv($0, "label"); sub(/^steal=/, "", l); S[l] = kv($0, "steal_pct"); next }
END {
	split("hrtimer pvx timerfd pvxfd", K, " ")
	printf "# ---- timer benchmark, kernel %s: K=%s timers per kind and level, D=%d ms, tick %.0f ms\n", \
		abi, k, d / 1e6, tick / 1e6
	printf "# spurious = fired with effective time (wall - steal) < D; err = |effective - D| / D (mean, max)\n"
	printf "# wall_ms = mean wall time to expiry; wall/pvx = spurious rate of the wall-clock kind over the pvx one\n"
	printf "# %-5s %-5s %-8s %6s %9s %9s %9s %8s %7s %9s\n", "steal", "seen", "kind", "fired", "spurious", \
		"err_mean", "err_max", "wall_ms", "capped", "wall/pvx"
	for (i = 1; i <= nl; i++) {
		l = lv[i]
		for (j = 1; j <= 4; j++) {
			line = R[l, K[j]]
			if (line == "") { printf "# %-5s %-5s %-8s (no result)\n", l "%", S[l] "%", K[j]; continue }
			rr = "-"
			if (K[j] == "pvx") rr = ratio(rate(R[l, "hrtimer"]), rate(line))
			if (K[j] == "pvxfd") rr = ratio(rate(R[l, "timerfd"]), rate(line))
			printf "# %-5s %-5s %-8s %6s %9s %9s %9s %8.1f %7s %9s\n", l "%", S[l] "%", K[j], kv(line, "fired"), \
				pct(rate(line)), pct(kv(line, "err_mean_ppm") / 1e6), \
				pct(kv(line, "err_max_ppm") / 1e6), kv(line, "wall_mean_ns") / 1e6, \
				kv(line, "capped"), rr
		}
	}
	printf "# arming cost (arm + cancel, ns): hrtimer %s, pvx %s (%sx); timerfd %s, pvxfd %s (%sx)\n", \
		A["hrtimer"], A["pvx"], ratio(A["pvx"], A["hrtimer"]), A["timerfd"], A["pvxfd"], \
		ratio(A["pvxfd"], A["timerfd"])

	printf "# ---- floors of issue 4 (reported, not asserted)\n"
	for (j = 2; j <= 4; j += 2) {
		w = (j == 2) ? "hrtimer" : "timerfd"
		if (R[50, K[j]] == "" || R[50, w] == "") {
			printf "# floor %s: >= 10x fewer spurious than %s at 50%%: not evaluated, no result\n", K[j], w
			continue
		}
		sw = kv(R[50, w], "spurious") + 0; sp = kv(R[50, K[j]], "spurious") + 0
		printf "# floor %s: >= 10x fewer spurious than %s at 50%% steal: %s (%d vs %d of %s)\n", K[j], w, \
			(sw > 0 && sw >= 10 * sp) ? "met" : "MISSED", sp, sw, kv(R[50, K[j]], "fired")
	}
	lim = 0.05 + tick / d
	for (j = 2; j <= 4; j += 2) {
		worst = -1; wl = ""
		for (i = 1; i <= nl; i++) {
			line = R[lv[i], K[j]]
			if (line == "") continue
			e = kv(line, "err_mean_ppm") / 1e6
			if (e > worst) { worst = e; wl = lv[i] }
		}
		if (worst < 0) { printf "# floor %s: error <= 5%% + one tick: not evaluated\n", K[j]; continue }
		printf "# floor %s: mean effective-time error <= 5%% + one tick (%s) at every level: %s (worst %s at %s%%)\n", \
			K[j], pct(lim), worst <= lim ? "met" : "MISSED", pct(worst), wl
	}
	if (A["hrtimer"] > 0 && A["pvx"] > 0)
		printf "# floor pvx: arming <= 2x an hrtimer: %s (%sx)\n", \
			A["pvx"] <= 2 * A["hrtimer"] ? "met" : "MISSED", ratio(A["pvx"], A["hrtimer"])
	else
		printf "# floor pvx: arming <= 2x an hrtimer: not evaluated, no result\n"
}' "$1"
}
