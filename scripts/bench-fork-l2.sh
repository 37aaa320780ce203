# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# The fork-copy benchmark (issue 10 item 4), sourced by scripts/bench-l2.sh
# inside the L2 KVM host (it provides ok, not_ok, say, field, l3_results
# and the PVX_* environment); PVX_BENCH=forkcopy. Documentation/bench.rst.
#
# fork_bench reloads kvm_amd with npt=1 (nested paging), boots one L3
# guest from the bench initramfs with pvx_bench=forkcopy (pvx_fork.ko and
# selftests/guest/bench/pvx_fork_bench: fork + copy-on-write, fork +
# MADV_POPULATE_WRITE, pvx_fork(), W MiB each, rounds interleaved), then
# the same with npt=0 (shadow paging), and prints the table: per paging
# mode and W the median time to the child's and to the parent's first full
# pass of writes, and the ratios of the stock variants to pvx_fork() (> 1:
# pvx_fork() was faster). kvm_amd is reloaded with the lab's parameters
# afterwards. A test fails only when a number is missing; the issue's
# floor (npt=1: pvx_fork() not slower than 1.1x fork + COW) is reported,
# never asserted.
#
# Knobs: PVX_BENCH_FORK_MB (W list, MiB, default 16,64),
# PVX_BENCH_FORK_ROUNDS (3), PVX_BENCH_FORK_NPT (1,0), PVX_BENCH_TIMEOUT.

# kvm_ko NAME: the module file of the booted kernel
fork_kvm_ko() {
	find "$PVX_KIMAGE/lib/modules/$PVX_ABI/kernel" -name "$1.ko*" 2>/dev/null | head -n 1
}

# fork_kvm_users: the L2 processes that hold KVM open (l2-run.sh's idle VM,
# pvx_hcall_test hold-vm), by their /proc fds
fork_kvm_users() {
	local p f l
	for p in /proc/[0-9]*; do
		for f in "$p"/fd/*; do
			l=$(readlink "$f" 2>/dev/null) || continue
			if [ "$l" = /dev/kvm ] || [ "$l" = anon_inode:kvm-vm ]; then
				echo "${p#/proc/}"
				break
			fi
		done
	done
}

# fork_reload_kvm NPT: kvm_amd with npt=NPT (empty: the lab's parameters
# only) and pvx_host with pvx_fork_copy on it; 0 when all loaded. The
# idle VM that keeps kvm_amd in use is ended first (not restarted: the
# benchmark runs last in its L2 boot).
fork_reload_kvm() {
	local npt=$1 m err p
	for p in $(fork_kvm_users); do
		say "ending PID $p, which holds KVM open ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))"
		kill "$p" 2>/dev/null
	done
	for _ in $(seq 50); do
		[ -z "$(fork_kvm_users)" ] && break
		sleep 0.2
	done
	for m in pvx_fork_copy pvx_yield pvx_numa pvx_host kvm_amd; do
		grep -q "^$m " /proc/modules || continue
		err=$(rmmod "$m" 2>&1) || { say "rmmod $m: $err"; return 1; }
	done
	# shellcheck disable=SC2086 # the lab's parameters are words
	err=$(insmod "$(fork_kvm_ko kvm-amd)" ${PVX_KVM_AMD_ARGS:-} ${npt:+npt=$npt} 2>&1) ||
		{ say "insmod kvm-amd npt=$npt: $err"; return 1; }
	for m in pvx_host pvx_fork_copy; do
		err=$(insmod "$PVX_BUILD/host/$m.ko" 2>&1) || { say "insmod $m: $err"; return 1; }
	done
}

fork_pages_copied() {
	awk '$1 == "pages" { print $2 }' /sys/kernel/debug/pvx/fork_copy 2>/dev/null || echo 0
}

# fork_bench_run NPT RES: one L3 guest with kvm_amd npt=NPT, its result
# lines (with npt=NPT added) appended to RES (initrd, kernel and
# timeout_s are bench-l2.sh's)
# shellcheck disable=SC2154
fork_bench_run() {
	local npt=$1 res=$2 log=$PVX_OUT/l3-bench-fork-npt$1.log one=/tmp/bench-fork-npt$1.txt
	local mb=${PVX_BENCH_FORK_MB:-16,64} rounds=${PVX_BENCH_FORK_ROUNDS:-3} mem max p0 t0 qrc
	if ! fork_reload_kvm "$npt"; then
		not_ok "fork bench npt=$npt: kvm_amd npt=$npt with pvx_host and pvx_fork_copy"
		return
	fi
	ok "fork bench npt=$npt: kvm_amd reloaded (npt $(cat /sys/module/kvm_amd/parameters/npt)), pvx_host and pvx_fork_copy loaded"
	# the parent's buffer, the child's copy and a chunk of fresh pages
	max=$(echo "${mb//,/ }" | tr ' ' '\n' | sort -n | tail -n1)
	mem=$((2 * max + 32 + 192))
	p0=$(fork_pages_copied)
	t0=$(date +%s)
	timeout -k 5 "$timeout_s" qemu-system-x86_64 -enable-kvm -cpu host \
		-m "$mem" -smp "${PVX_L3_CPUS:-2}" \
		-nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 pvx_bench=forkcopy pvx_fork_mb=$mb pvx_fork_rounds=$rounds" \
		</dev/null >"$log" 2>&1
	qrc=$?
	say "fork bench npt=$npt: L3 ($mem MB, ${PVX_L3_CPUS:-2} vCPUs) ran $(($(date +%s) - t0)) s, qemu exit $qrc, host copied $(($(fork_pages_copied) - p0)) pages, console $log"
	l3_results "fork bench npt=$npt: L3 guest" "$log" "$one" "$qrc"
	if grep -q '^fork .*variant=pvx .*copied=[1-9]' "$one"; then
		ok "fork bench npt=$npt: pvx_fork() was served by the host (copied > 0)"
	else
		not_ok "fork bench npt=$npt: pvx_fork() was served by the host # no pvx line with copied > 0"
	fi
	sed "s/^fork /fork npt=$npt /" "$one" | grep '^fork ' >>"$res"
}

# The table: medians per (npt, W, variant), ratios to pvx
fork_bench_table() {
	awk '
function f(line, k,   i, n, a) { n = split(line, a, " "); for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2); return "" }
function median(s,   n, a, i, j, t) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n ? (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) : 0
}
/^fork / {
	n = f($0, "npt"); m = f($0, "mb"); v = f($0, "variant")
	if (!((n, m) in seen)) { seen[n, m] = 1; order[++nk] = sprintf("%d %08d %s %s", 1 - n, m, n, m) }
	c[n, m, v] = c[n, m, v] " " f($0, "child_ms")
	p[n, m, v] = p[n, m, v] " " f($0, "parent_ms")
}
END {
	for (i = 2; i <= nk; i++) for (j = i; j > 1 && order[j - 1] > order[j]; j--) { t = order[j]; order[j] = order[j - 1]; order[j - 1] = t }
	printf "# ---- fork-copy: median ms from the fork to the first full pass of writes (child | parent); x = variant / pvx_fork (> 1: pvx_fork faster)\n"
	printf "# %-4s %5s %9s %9s %9s %7s %7s | %9s %9s %9s %7s %7s\n", "npt", "MiB", "cow", "populate", "pvx", "x cow", "x pop", "cow", "populate", "pvx", "x cow", "x pop"
	for (i = 1; i <= nk; i++) {
		split(order[i], kk, " "); n = kk[3]; m = kk[4]
		cc = median(c[n, m, "cow"]); cp = median(c[n, m, "populate"]); cx = median(c[n, m, "pvx"])
		pc = median(p[n, m, "cow"]); pp = median(p[n, m, "populate"]); px = median(p[n, m, "pvx"])
		printf "# %-4s %5s %9.1f %9.1f %9.1f %7.2f %7.2f | %9.1f %9.1f %9.1f %7.2f %7.2f\n", n, m, cc, cp, cx, cx ? cc / cx : 0, cx ? cp / cx : 0, pc, pp, px, px ? pc / px : 0, px ? pp / px : 0
	}
	for (i = 1; i <= nk; i++) {
		split(order[i], kk, " "); n = kk[3]; m = kk[4]
		if (n != 1) continue
		cc = median(c[n, m, "cow"]); cx = median(c[n, m, "pvx"])
		printf "# floor npt=1, %s MiB: the child with pvx_fork not slower than 1.1x fork + COW: %s (%.2fx)\n", m, (cx <= 1.1 * cc ? "met" : "MISSED"), cc ? cx / cc : 0
	}
}' "$1"
}

# shellcheck disable=SC2154
fork_bench() {
	local res=$PVX_OUT/bench-fork-results.txt npt
	PVX_BENCH_FORK_NPT=${PVX_BENCH_FORK_NPT:-1,0}
	[ -f "$initrd" ] || { not_ok "fork bench: initramfs # no $initrd"; return; }
	[ -f "$kernel" ] || { not_ok "fork bench: L3 kernel # no $kernel"; return; }
	: >"$res"
	for npt in ${PVX_BENCH_FORK_NPT//,/ }; do
		fork_bench_run "$npt" "$res"
	done
	if fork_reload_kvm "" && grep -q '^pvx_fork_copy ' /proc/modules; then
		ok "fork bench: kvm_amd back with the lab's parameters"
	else
		not_ok "fork bench: kvm_amd back with the lab's parameters"
	fi
	fork_bench_table "$res" | tee "$PVX_OUT/bench-fork-table.txt"
	say "---- raw result lines (fork)"
	sed 's/^/#   /' "$res"
}
