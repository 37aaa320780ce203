#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmarks, inside the L2 KVM host; started by scripts/l2-run.sh for
# `lab.sh --tests bench` (make bench). PVX_BENCH=hcall,locks,timers
# (default all three, in that order) selects them: the hypercall
# microbenchmark of issue 14 (scripts/bench-hcall-l2.sh: tiny VMs, run
# first, while no L3 guest loads L2), the lock benchmark of issue 3
# (below) and the retransmit-timeout benchmark of issue 4
# (scripts/bench-timers-l2.sh); PVX_BENCH=forkcopy, the fork-copy
# benchmark of issue 10 (scripts/bench-fork-l2.sh: kvm_amd npt=1, then
# npt=0, one L3 guest each); PVX_BENCH=ksm, the KSM benchmark of issue 11
# (selftests/host/pvx_bench_ksm, a C program: two L3 guests per case with
# KSM in L2, and the lever series; its TAP nested as one subtest, kept in
# $PVX_OUT/bench-ksm.tap).
#
# Lock benchmark: loads pvx_host and pvx_yield next to kvm_amd, boots one L3 guest with
# twice as many vCPUs as L2 has CPUs (2x overcommit) from the bench
# initramfs (selftests/guest/bench/), which runs pvx_lock_bench.ko (a plain
# ticket lock, the kernel's spinlock_t, struct pvx_spinlock) and pvx_ulock_bench
# (userspace: pthread mutex, ticket lock giving way with sched_yield() or
# with PVX_IOC_YIELD_TO, libpvx's lock; 2 x as many threads as vCPUs and
# as many), then prints the tables of ratios. PVX_BENCH=ulocks: the
# userspace part alone (issue 14's libpvx floors).
#
# Output: TAP 13; the table, the floors of issue 3 and the raw lines are
# "#" lines. A test fails only when a number is missing or a lock did not
# exclude; a round that hit max_ms is noted (its rate and latencies are
# still measured). Floors are reported, never asserted.
#
# Environment (set by the lab): PVX_REPO, PVX_ABI, PVX_BUILD, PVX_KIMAGE,
# PVX_L3_MEM, PVX_OUT; PVX_SELFTESTS (for building the initramfs here when
# scripts/bench.sh did not). Optional knobs: PVX_BENCH_INITRD (default
# $PVX_BUILD/l3-bench-initrd.gz), PVX_BENCH_L3_CPUS (default 2 x nproc),
# PVX_BENCH_ACQ, PVX_BENCH_UACQ, PVX_BENCH_THREADS, PVX_BENCH_CS,
# PVX_BENCH_THINK, PVX_BENCH_MAX_MS, PVX_BENCH_ROUNDS, PVX_BENCH_UTHREADS,
# PVX_BENCH_UMAX_MS, PVX_BENCH_UROUNDS
# (see selftests/guest/bench/init.sh),
# PVX_BENCH_TIMEOUT (s, default 1800: 5 kernel rounds and 10 userspace ones); scripts/bench.sh passes those set in
# its environment through $PVX_BUILD/bench.env.
# shellcheck source=scripts/bench-tap.sh
. "$(dirname "$0")/bench-tap.sh"
# which benchmarks: PVX_BENCH=hcall,locks,timers (default all three;
# scripts/bench.sh checks the value)
benches=${PVX_BENCH:-hcall,locks,timers}
for v in PVX_ABI PVX_BUILD PVX_KIMAGE PVX_L3_MEM PVX_OUT; do
	if [ -z "${!v:-}" ]; then
		not_ok "bench environment # $v is not set"
		done_tap
	fi
done

l2_cpus=$(nproc)
l3_cpus=${PVX_BENCH_L3_CPUS:-$((2 * l2_cpus))}
timeout_s=${PVX_BENCH_TIMEOUT:-1800}
log=$PVX_OUT/l3-bench.log
kernel=$PVX_KIMAGE/boot/vmlinuz-$PVX_ABI
initrd=${PVX_BENCH_INITRD:-$PVX_BUILD/l3-bench-initrd.gz}
yield_file=/sys/kernel/debug/pvx/yield
say "L2 KVM host: $(uname -r), $l2_cpus CPUs; L3 bench guest: $l3_cpus vCPUs, $PVX_L3_MEM MB" \
	"($((l3_cpus / l2_cpus))x overcommit)"

# --- host modules ----------------------------------------------------------
loaded() { grep -q "^$1 " /proc/modules; }
if loaded pvx_host || insmod "$PVX_BUILD/host/pvx_host.ko" 2>/tmp/insmod.err; then
	ok "pvx_host loaded"
else
	not_ok "pvx_host loaded # $(head -n1 /tmp/insmod.err)"
fi
if [ -f "$PVX_BUILD/host/pvx_yield.ko" ]; then
	if loaded pvx_yield || insmod "$PVX_BUILD/host/pvx_yield.ko" 2>/tmp/insmod.err; then
		ok "pvx_yield loaded"
	else
		not_ok "pvx_yield loaded # $(head -n1 /tmp/insmod.err)"
	fi
else
	say "no $PVX_BUILD/host/pvx_yield.ko: the guest falls back (no PVX_HC_YIELD)"
fi

# field LINE KEY: value of KEY=value in LINE
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }

# l3_results WHAT LOG RES QRC: the lines between PVX-BENCH-BEGIN and
# PVX-BENCH-END of an L3 console LOG into RES, one test that the guest got
# to the end, its diagnostics and errors as "#" lines.
l3_results() {
	# (SeaBIOS leaves terminal escapes in front of the first line L3 prints)
	tr -d '\r' <"$2" | sed -n '/PVX-BENCH-BEGIN$/,/^PVX-BENCH-END$/p' |
		sed '1d;$d' >"$3"
	if tr -d '\r' <"$2" | grep -q '^PVX-BENCH-END$'; then
		ok "$1 ran to the end"
	else
		not_ok "$1 ran to the end # qemu exit $4; last line: $(tr -d '\r' <"$2" | tail -n1)"
	fi
	grep '^#' "$3"
	grep '^error ' "$3" | sed 's/^/# /'
}

# The lock benchmark (issue 3; userspace: issue 14): one L3 guest with 2x
# overcommit. $1: locks (kernel and userspace locks) or ulocks (userspace).
lock_bench() {
	local which=$1
	# --- the L3 bench guest -----------------------------------------------------
	if [ ! -f "$initrd" ]; then
		say "no $initrd (scripts/bench.sh builds it); building it in L2"
		initrd=/tmp/l3-bench-initrd.gz
		if ! err=$(bash selftests/guest/bench/mkinitrd-bench.sh "$PVX_ABI" "$initrd" 2>&1 >/dev/null); then
			not_ok "bench initramfs # $err"
			return
		fi
	fi
	[ -f "$kernel" ] || { not_ok "L3 kernel # no $kernel"; return; }
	[ -c /dev/kvm ] || { not_ok "L3 bench guest # no /dev/kvm in L2"; return; }

	# not quiet: the boot log tells a slow L3 boot from a hung one
	args="console=ttyS0 panic=-1 pvx_bench=$which"
	for kv in acq:ACQ uacq:UACQ threads:THREADS cs:CS think:THINK max_ms:MAX_MS rounds:ROUNDS \
		urounds:UROUNDS uthreads:UTHREADS umax_ms:UMAX_MS; do
		v=PVX_BENCH_${kv#*:}
		[ -n "${!v:-}" ] && args="$args pvx_${kv%%:*}=${!v}"
	done

	ystats() { cat "$yield_file" 2>/dev/null; }
	y0=$(ystats)
	t0=$(date +%s)
	timeout -k 5 "$timeout_s" qemu-system-x86_64 -enable-kvm -cpu host \
		-m "$PVX_L3_MEM" -smp "$l3_cpus" \
		-nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$kernel" -initrd "$initrd" -append "$args" \
		</dev/null >"$log" 2>&1 &
	qpid=$!
	# A heartbeat on L2's console (a file on the development machine,
	# unlike $log, which reaches it only after the suite): tells a slow
	# L3 from a stopped L2 while the bench runs.
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 10
		echo "PVX-L2: bench L3 at $(($(date +%s) - t0)) s: $(grep -a 'pvx-bench:' "$log" | tail -n1 | tr -d '\r')" \
			>/dev/console 2>/dev/null
	done
	wait "$qpid"
	qrc=$?
	t1=$(date +%s)
	y1=$(ystats)
	say "L3 ran $((t1 - t0)) s (emulated wall), qemu exit $qrc, console $log"

	res=$PVX_OUT/bench-results.txt
	l3_results "L3 bench guest" "$log" "$res" "$qrc"

	# --- the numbers -------------------------------------------------------------
	# A run that hit max_ms still measured a rate and latencies: say so.
	partial() {
		[ "$(field "$1" complete)" = 1 ] ||
			echo " (a round hit max_ms: $(field "$1" acq) acquisitions in $(field "$1" ms) ms)"
	}

	# numbers WHAT LINE: one test that LINE is there and its lock excluded
	numbers() {
		if [ -z "$2" ]; then
			not_ok "$1: all numbers # no result line"
		elif [ "$(field "$2" exact)" != 1 ]; then
			not_ok "$1: all numbers # acquisitions counted under the lock do not add up"
		else
			ok "$1: all numbers$(partial "$2")"
		fi
	}
	for lock in ticket native pvx pvx-fifo; do
		[ "$which" = locks ] || break
		numbers "kernel lock=$lock" "$(grep "^bench lock=$lock " "$res" | head -n1)"
	done
	uthreads=$(sed -n 's/^ubench .* threads=\([0-9]*\) .*/\1/p' "$res" | awk '!seen[$0]++')
	[ -n "$uthreads" ] || not_ok "userspace locks: all numbers # no result line"
	for t in $uthreads; do
		for mode in mutex yield ioctl libpvx; do
			numbers "userspace mode=$mode threads=$t" \
				"$(grep "^ubench mode=$mode threads=$t " "$res" | head -n1)"
		done
	done

	# The table: ratios to (a) ticket and (b) native, side by side in one run.
	{
		echo "$y0" | sed 's/^/y0 /'
		echo "$y1" | sed 's/^/y1 /'
		cat "$res"
	} | awk -v abi="$PVX_ABI" -v l2="$l2_cpus" -v l3="$l3_cpus" '
	function kv(line, key,    i, n, f, a) {
		n = split(line, f, " ")
		for (i = 1; i <= n; i++) {
			split(f[i], a, "=")
			if (a[1] == key)
				return substr(f[i], length(key) + 2)
		}
		return ""
	}
	function r(x, y) { return y > 0 ? sprintf("%.3g", x / y) : "-" }
	$1 == "y0" { if (NF >= 3) h0[$2] = $3; next }
	$1 == "y1" { if (NF >= 3) h1[$2] = $3; next }
	$1 == "bench" { k = kv($0, "lock"); K[k] = $0; next }
	$1 == "ubench" {
		t = kv($0, "threads"); U[kv($0, "mode"), t] = $0
		if (!(t in seen)) { seen[t] = 1; T[++nt] = t }
		next
	}
	$1 == "ubench-round" {
		t = kv($0, "threads"); k = kv($0, "round")
		RA[kv($0, "mode"), t, k] = kv($0, "acq_per_s") + 0
		RP[kv($0, "mode"), t, k] = kv($0, "p99_ns") + 0
		if (k + 0 > NR_[t] + 0) NR_[t] = k + 0
		next
	}
	$1 == "bench-round" {
		k = kv($0, "round")
		RA[kv($0, "lock"), "k", k] = kv($0, "acq_per_s") + 0
		RP[kv($0, "lock"), "k", k] = kv($0, "p99_ns") + 0
		RM[kv($0, "lock"), k] = kv($0, "max_ns")
		if (k + 0 > NR_["k"] + 0) NR_["k"] = k + 0
		next
	}
	$1 == "steal" { split($2, a, "="); S[a[2]] = kv($0, "ticks"); next }
	END {
		if (K["ticket"] == "" && K["native"] == "" && K["pvx"] == "") {
			printf "# ---- userspace lock benchmark, kernel %s: L3 %d vCPUs on L2 %d CPUs (%.0fx overcommit)\n", \
				abi, l3, l2, l3 / l2
			utable()
			exit
		}
		printf "# ---- lock benchmark, kernel %s: L3 %d vCPUs on L2 %d CPUs (%.0fx overcommit), %s threads\n", \
			abi, l3, l2, l3 / l2, kv(K["ticket"], "threads")
		printf "# (a) ticket = plain fair ticket lock, (b) native = spinlock_t (pv qspinlock), (c) pvx = struct pvx_spinlock,\n"
		printf "#   pvx-fifo = (c) with skip=0; fairness: max_ns = the longest wait for the lock, thr_acq = the\n"
		printf "#   fewest-most acquisitions of one thread; steals/prio = pvx slow paths that took a free lock / priority tickets\n"
		printf "# %-8s %10s %6s %6s %9s %11s %6s %6s %11s %13s %8s %8s %7s %6s %7s\n", "lock", "acq/s", "/(a)", "/(b)", \
			"p50_ns", "p99_ns", "/(a)", "/(b)", "max_ns", "thr_acq", "yld_iss", "yld_gr", "steals", "prio", "steal"
		split("ticket native pvx pvx-fifo", L, " ")
		ta = kv(K["ticket"], "acq_per_s") + 0; tb = kv(K["native"], "acq_per_s") + 0
		pa = kv(K["ticket"], "p99_ns") + 0; pb = kv(K["native"], "p99_ns") + 0
		for (i = 1; i <= 4; i++) {
			l = K[L[i]]
			if (l == "") { printf "# %-8s (no result)\n", L[i]; continue }
			t = kv(l, "acq_per_s") + 0; p = kv(l, "p99_ns") + 0
			printf "# %-8s %10s %6s %6s %9s %11s %6s %6s %11s %13s %8s %8s %7s %6s %7s\n", L[i], t, r(t, ta), \
				r(t, tb), kv(l, "p50_ns"), p, r(p, pa), r(p, pb), kv(l, "max_ns"), \
				kv(l, "thr_min") "-" kv(l, "thr_max"), kv(l, "yields_issued"), \
				kv(l, "yields_granted"), kv(l, "steals"), kv(l, "priority"), S[L[i]]
		}
		for (i = 1; i <= 4; i++) {
			if (K[L[i]] == "" || L[i] == "native")
				continue
			l = sp(L[i], "native", "k", "a", kv(K[L[i]], "acq_per_s") / (tb > 0 ? tb : 1))
			printf "# spread %-8s acq/s /(b) %s, p99 /(b) %s\n", L[i], l, \
				sp(L[i], "native", "k", "p", kv(K[L[i]], "p99_ns") / (pb > 0 ? pb : 1))
		}
		utable()
		s = ""
		for (k in h1)
			s = s " " k "=" (h1[k] - h0[k])
		printf "# host pvx_yield during the run:%s\n", (s == "" ? " (no counters)" : s)

		printf "# ---- floors of issue 3 (reported, not asserted)\n"
		if (K["pvx"] == "" || K["ticket"] == "" || K["native"] == "") {
			printf "# floors: not evaluated, results missing\n"
			exit
		}
		tc = kv(K["pvx"], "acq_per_s") + 0; pc = kv(K["pvx"], "p99_ns") + 0
		# each floor on the median of the ratios of the rounds, with their spread
		l = sp("pvx", "ticket", "k", "a", tc / (ta > 0 ? ta : 1))
		printf "# floor (c) throughput >= 2x (a): %s %s\n", (MED >= 2 ? "met" : "MISSED"), l
		l = sp("pvx", "ticket", "k", "p", pc / (pa > 0 ? pa : 1))
		printf "# floor (c) p99 <= 0.5x (a): %s %s\n", (MED <= 0.5 ? "met" : "MISSED"), l
		l = sp("pvx", "native", "k", "a", tc / (tb > 0 ? tb : 1))
		printf "# floor (c) not slower than (b): %s %s\n", (MED >= 1 ? "met" : "MISSED"), l
		printf "# ---- floors of issue 29 item 1 (reported, not asserted; median of the rounds, min-max)\n"
		l = sp("pvx", "native", "k", "a", tc / (tb > 0 ? tb : 1))
		printf "# floor (c) throughput >= 1.0x (b): %s %s\n", (MED >= 1 ? "met" : "MISSED"), l
		l = sp("pvx", "native", "k", "p", pc / (pb > 0 ? pb : 1))
		printf "# floor (c) p99 <= 1.0x (b): %s %s\n", (MED <= 1 ? "met" : "MISSED"), l
		l = sp("pvx", "ticket", "k", "a", tc / (ta > 0 ? ta : 1))
		printf "# floor (c) throughput >= 2x (a): %s %s\n", (MED >= 2 ? "met" : "MISSED"), l
		for (i = 1; i <= 4; i++)
			if (K[L[i]] != "")
				printf "# fairness %-8s max wait %s ns, acquisitions per thread %s-%s, per round max wait %s\n", \
					L[i], kv(K[L[i]], "max_ns"), kv(K[L[i]], "thr_min"), kv(K[L[i]], "thr_max"), \
					rounds_of(L[i], "m")
		if (K["pvx-fifo"] != "") {
			tf = kv(K["pvx-fifo"], "acq_per_s") + 0
			printf "# stealing: (c) against pvx-fifo %s throughput, %s steals, %s priority tickets\n", \
				sp("pvx", "pvx-fifo", "k", "a", tc / (tf > 0 ? tf : 1)), kv(K["pvx"], "steals"), \
				kv(K["pvx"], "priority")
		}
	}
	# The ratio of @mode to @base over the rounds of @n threads (a: rate,
	# p: p99), each round on its own: sets MED (the median), SN (rounds),
	# SLO and SHI (min and max); SN 0 when no round line.
	function spread(mode, base, n, what,    k, x, y, c, i, j, v, R) {
		c = 0
		for (k = 1; k <= NR_[n]; k++) {
			x = (what == "a" ? RA[mode, n, k] : RP[mode, n, k])
			y = (what == "a" ? RA[base, n, k] : RP[base, n, k])
			if (y > 0 && ((mode SUBSEP n SUBSEP k) in RA))
				R[++c] = x / y
		}
		for (i = 2; i <= c; i++)
			for (j = i; j > 1 && R[j - 1] > R[j]; j--) {
				v = R[j]; R[j] = R[j - 1]; R[j - 1] = v
			}
		SN = c; SLO = R[1]; SHI = R[c]
		MED = c % 2 ? R[(c + 1) / 2] : (R[c / 2] + R[c / 2 + 1]) / 2
	}
	# the per-round values of @lock (m: max_ns), space-separated
	function rounds_of(lock, what,    k, s) {
		s = ""
		for (k = 1; k <= NR_["k"]; k++)
			if ((lock SUBSEP k) in RM)
				s = s (s == "" ? "" : " ") RM[lock, k]
		return s == "" ? "-" : s
	}
	# "0.95x (n=5 0.80-1.10)", the median of the per-round ratios, or the
	# ratio of the sums when the rounds were not printed (n=1).
	function sp(mode, base, n, what, sum) {
		spread(mode, base, n, what)
		if (!SN) { MED = sum; return sprintf("%.3gx (n=1, rounds summed)", sum) }
		return sprintf("%.3gx (n=%d %.3g-%.3g)", MED, SN, SLO, SHI)
	}
	# Userspace locks per thread count, ratios to pthread_mutex; the
	# floors of issue 14 (reported, not asserted), on the median of the
	# ratios of the rounds.
	function utable(    i, j, n, t, l, m, um, pm, cm, tp, pp, M) {
		for (j = 1; j <= nt; j++) {
			n = T[j]
			printf "# userspace locks, %s threads (steal %s): (m) pthread_mutex, yield = ticket lock + sched_yield(),\n", \
				n, S[n] == "" ? S["all"] : S[n]
			printf "#   ioctl = ticket lock + PVX_IOC_YIELD_TO, libpvx = pvx_lock_t (%s)\n", \
				(kv(U["libpvx", n], "dyields") + 0 > 0 ? "directed yields" : "no directed yield made")
			printf "# %-7s %9s %6s %9s %10s %6s %9s %7s %8s %8s %8s\n", "mode", "acq/s", "/(m)", \
				"p50_ns", "p99_ns", "/(m)", "csw", "/(m)", "dyields", "done", "fwaits"
			um = kv(U["mutex", n], "acq_per_s") + 0; pm = kv(U["mutex", n], "p99_ns") + 0
			cm = kv(U["mutex", n], "csw") + 0
			split("mutex yield ioctl libpvx", M, " ")
			for (i = 1; i <= 4; i++) {
				l = U[M[i], n]
				if (l == "") { printf "# %-7s (no result)\n", M[i]; continue }
				t = kv(l, "acq_per_s") + 0; p = kv(l, "p99_ns") + 0; c = kv(l, "csw") + 0
				printf "# %-7s %9s %6s %9s %10s %6s %9s %7s %8s %8s %8s\n", M[i], t, r(t, um), \
					kv(l, "p50_ns"), p, r(p, pm), c, r(c, cm), kv(l, "dyields"), \
					kv(l, "dyields_done"), kv(l, "futex_waits")
			}
			if (U["libpvx", n] == "" || U["mutex", n] == "" || U["yield", n] == "") {
				printf "# floors (issue 14), %s threads: not evaluated, results missing\n", n
				continue
			}
			tp = kv(U["libpvx", n], "acq_per_s") + 0; pp = kv(U["libpvx", n], "p99_ns") + 0
			t = kv(U["yield", n], "acq_per_s") + 0
			for (i = 2; i <= 4; i++) {
				if (U[M[i], n] == "")
					continue
				l = sp(M[i], "mutex", n, "a", kv(U[M[i], n], "acq_per_s") / (um > 0 ? um : 1))
				printf "# spread %-6s acq/s /(m) %s, p99 /(m) %s\n", M[i], l, \
					sp(M[i], "mutex", n, "p", kv(U[M[i], n], "p99_ns") / (pm > 0 ? pm : 1))
			}
			l = sp("libpvx", "mutex", n, "a", tp / (um > 0 ? um : 1))
			printf "# floor libpvx throughput >= 1.0x mutex, %s threads: %s %s\n", n, \
				(MED >= 1 ? "met" : "MISSED"), l
			l = sp("libpvx", "mutex", n, "p", pp / (pm > 0 ? pm : 1))
			printf "# floor libpvx p99 <= mutex p99, %s threads: %s %s\n", n, \
				(MED <= 1 ? "met" : "MISSED"), l
			l = sp("libpvx", "yield", n, "a", tp / (t > 0 ? t : 1))
			printf "# floor libpvx throughput >= 2x yield, %s threads: %s %s\n", n, \
				(MED >= 2 ? "met" : "MISSED"), l
		}
	}' | tee "$PVX_OUT/bench-table.txt"

	say "---- raw result lines"
	grep -E '^(bench|bench-round|ubench|ubench-round|steal) ' "$res" | sed 's/^/#   /'
}

# shellcheck source=scripts/bench-timers-l2.sh
. scripts/bench-timers-l2.sh
# shellcheck source=scripts/bench-hcall-l2.sh
. scripts/bench-hcall-l2.sh
# shellcheck source=scripts/bench-fork-l2.sh
. scripts/bench-fork-l2.sh

for b in ${benches//,/ }; do
	case "$b" in
	hcall) hcall_bench ;;
	locks) lock_bench locks ;;
	ulocks) lock_bench ulocks ;;
	timers) timer_bench ;;
	forkcopy) fork_bench ;;
	ksm) bench_nest "ksm bench (pvx_bench_ksm)" "$PVX_OUT/bench-ksm.tap" \
		"$PVX_SELFTESTS/pvx_bench_ksm" "$kernel" "$initrd" ;;
	esac
done
done_tap
