# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# The fork-copy benchmark (issue 10 item 4), sourced by scripts/bench-l2.sh
# inside the L2 KVM host (it provides ok, not_ok, say, field, l3_results
# and the PVX_* environment); PVX_BENCH=forkcopy. Documentation/bench.rst.
#
# fork_bench reloads kvm_amd with npt=1 (nested paging), then npt=0
# (shadow paging), and for each boots L3 guests from the bench initramfs
# with pvx_bench=forkcopy (pvx_fork.ko and
# selftests/guest/bench/pvx_fork_bench: fork + copy-on-write, fork +
# MADV_POPULATE_WRITE, pvx_fork(), W MiB each, rounds interleaved): case
# backed (memory preallocated; conditions plain and dirtylog, a migration
# kept running) and case unbacked (free page reporting). Around every run
# it reads KVM's per-VM counters (fork_sync), and prints the tables:
# times, exits and faults per page, ratios to fork + copy-on-write
# (Documentation/fork_copy.rst). kvm_amd is reloaded with the lab's
# parameters afterwards. A test fails only when a number is missing; the
# issue's floors are reported, never asserted.
#
# Knobs: PVX_BENCH_FORK_MB (W list, MiB, default 16,64),
# PVX_BENCH_FORK_ROUNDS (3), PVX_BENCH_FORK_NPT (1,0),
# PVX_BENCH_FORK_CASES (backed,unbacked), PVX_BENCH_FORK_CONDS (of the
# backed case: plain,dirtylog), PVX_BENCH_FORK_SHADOW_CPUS (the L3 CPU
# models tried in turn with npt=0, /-separated: host/host,-la57/qemu64),
# PVX_BENCH_FORK_THP (the L3 guest's transparent huge pages: always,
# madvise, never; default the kernel's), PVX_BENCH_TIMEOUT (per L3
# guest, s).

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

# fork_tcg_hides_cr_reads: L2 runs on a QEMU whose TCG does not exit to
# L2 on the L3 guest's reads of CR3 and CR4 although KVM intercepts them
# with npt=0, so the guest reads KVM's shadow page table root as its CR3
# and dies in its decompressor (Documentation/fork_copy.rst, "Shadow
# paging"). Measured: QEMU 10.0.2 does, 7.2 does not; the versions
# between were not tried and are let through.
fork_tcg_hides_cr_reads() {
	local major=${PVX_L2_QEMU%%.*}
	[[ "$major" =~ ^[0-9]+$ ]] && [ "$major" -ge 10 ]
}

fork_pages_copied() {
	awk '$1 == "pages" { print $2 }' /sys/kernel/debug/pvx/fork_copy 2>/dev/null || echo 0
}

# fork_hmp SOCKET COMMAND: one command to the L3 QEMU's monitor, its answer
# without the prompt and terminal escapes
fork_hmp() {
	echo "$2" | socat -t 0.5 - "UNIX-CONNECT:$1" 2>/dev/null | tr -d '\r' |
		sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/^(qemu) *//' | grep -v '^QEMU .*monitor'
}

# fork_kvm_stats: KVM's counters of the one VM in L2 (debugfs sums the
# vCPUs'), and the resident memory of its QEMU (rss_kb), as key=value
fork_kvm_stats() {
	local d f pid out=""
	for d in /sys/kernel/debug/kvm/[0-9]*-[0-9]*; do
		break
	done
	[ -d "$d" ] || return 0
	for f in exits pf_taken pf_fixed pf_fast pf_spurious pf_emulate pf_guest \
		io_exits irq_exits halt_exits hypercalls tlb_flush pages_4k pages_2m; do
		[ -r "$d/$f" ] && out="$out $f=$(cat "$d/$f")"
	done
	pid=${d##*/}
	pid=${pid%%-*}
	echo "$out rss_kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null)"
}

# fork_kvm_delta BEFORE AFTER: AFTER - BEFORE per key (rss_kb: both)
fork_kvm_delta() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "="); va[kv[1]] = kv[2] }
		n = split(b, y, " ")
		for (i = 1; i <= n; i++) {
			split(y[i], kv, "=")
			if (kv[1] == "rss_kb") printf " rss_kb_before=%s rss_kb_after=%s", va[kv[1]], kv[2]
			else printf " %s=%d", kv[1], kv[2] - va[kv[1]]
		}
	}'
}

# fork_sync NPT CASE FIFO MONITOR OUT: serve the guest's marks (pvx_fork_bench
# on ttyS1, a QEMU pipe chardev FIFO.in/FIFO.out) until QEMU exits. "B<c>
# SEQ" (before the fork): with c = d, a migration of the L3 VM to a sink
# at 100 bytes/s, which keeps KVM's dirty logging on for the run (QEMU
# enables it with the migration and write-protects all of the guest's
# memory when it sends the first page: every first write to a page after
# that is a write fault into L2's KVM), then KVM's counters; "E SEQ"
# (after the child was reaped): the counters again (a line "kvm ..." with
# the differences into OUT), and the migration is cancelled. Each mark is
# answered with one byte.
fork_sync() {
	local npt=$1 case=$2 fifo=$3 mon=$4 out=$5 line c=p before after mig
	while IFS= read -r line; do
		line=${line%$'\r'}
		case "$line" in
		B?\ *)
			c=${line:1:1} mig=
			echo 0 >"$fork_trc/tracing_on" 2>/dev/null
			if [ "$c" = d ]; then
				fork_hmp "$mon" "migrate_set_parameter max-bandwidth 100B" >/dev/null
				fork_hmp "$mon" "migrate -d exec:cat>/dev/null" >/dev/null
				for _ in $(seq 20); do
					fork_hmp "$mon" "info migrate" | grep -q '^transferred ram: [1-9]' && break
					sleep 0.1
				done
				sleep 0.2
			fi
			before=$(fork_kvm_stats)
			;;
		E\ *)
			after=$(fork_kvm_stats)
			if [ "$c" = d ]; then
				mig=$(fork_hmp "$mon" "info migrate" | sed -n 's/^Migration status: //p' | head -n 1)
				fork_hmp "$mon" migrate_cancel >/dev/null
				for _ in $(seq 50); do
					fork_hmp "$mon" "info migrate" | grep -q '^Migration status: active' || break
					sleep 0.1
				done
			fi
			echo "kvm npt=$npt case=$case seq=${line#* }$(fork_kvm_delta "$before" "$after") migration=${mig:-none}" >>"$out"
			;;
		*) continue ;;
		esac
		timeout 5 sh -c "printf g >'$fifo.in'"
	done <"$fifo.out"
}

# fork_watch_reset MONITOR LOG CONSOLE PID: while the L3 QEMU PID runs, if
# it paused at a shutdown (-action) before the guest's results were
# complete on CONSOLE (a reset, e.g. a triple fault), its registers into
# LOG; then quit. An empty or cut answer (L2 under load) is asked again.
fork_watch_reset() {
	local st
	while sleep 2 && kill -0 "$4" 2>/dev/null; do
		st=$(fork_hmp "$1" "info status")
		case "$st" in
		*"paused (shutdown)"*)
			tr -d '\r' <"$3" | grep -q '^PVX-BENCH-END$' ||
				fork_hmp "$1" "info registers -a" >"$2"
			fork_hmp "$1" quit >/dev/null
			return 0
			;;
		esac
	done
}

# fork_bench_run NPT CASE RES [CPU]: one L3 guest with kvm_amd npt=NPT,
# CASE backed (L3 memory preallocated in L2; conditions plain and
# dirtylog) or unbacked (not preallocated, virtio-balloon with free page
# reporting: what the guest frees, QEMU discards in L2), its result lines
# (with npt=NPT case=CASE added) and KVM counter lines appended to RES
# (initrd, kernel and timeout_s are bench-l2.sh's). Answers 1 when the
# guest did not get to the end.
# shellcheck disable=SC2154
fork_bench_run() {
	local npt=$1 case=$2 res=$3 cpu=${4:-host} tag log one mem max p0 t0 qrc conds extra d a e
	local fifo=/tmp/pvx-fork-sync mon=/tmp/pvx-fork-mon.sock spid wpid=0 trc action=
	local mb=${PVX_BENCH_FORK_MB:-16,64} rounds=${PVX_BENCH_FORK_ROUNDS:-3}
	tag=npt$npt-$case${4:+-${cpu//[^a-z0-9]/_}}
	log=$PVX_OUT/l3-bench-fork-$tag.log one=/tmp/bench-fork-$tag.txt
	if [ "$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null)" != "$([ "$npt" = 1 ] && echo Y || echo N)" ] ||
		! grep -q '^pvx_fork_copy ' /proc/modules; then
		if ! fork_reload_kvm "$npt"; then
			not_ok "fork bench npt=$npt: kvm_amd npt=$npt with pvx_host and pvx_fork_copy"
			return 1
		fi
		ok "fork bench npt=$npt: kvm_amd reloaded (npt $(cat /sys/module/kvm_amd/parameters/npt)), pvx_host and pvx_fork_copy loaded"
	fi
	# the parent's buffer, the child's copy and a chunk of fresh pages
	max=$(echo "${mb//,/ }" | tr ' ' '\n' | sort -n | tail -n1)
	mem=$((2 * max + 32 + 192))
	if [ "$case" = backed ]; then
		conds=${PVX_BENCH_FORK_CONDS:-plain,dirtylog}
		extra="-mem-prealloc"
	else
		conds=unbacked
		extra="-device virtio-balloon-pci,free-page-reporting=on"
	fi
	rm -f "$fifo.in" "$fifo.out" "$mon"
	mkfifo "$fifo.in" "$fifo.out"
	p0=$(fork_pages_copied)
	trc=/sys/kernel/tracing
	[ -d "$trc/events/kvm" ] || trc=/sys/kernel/debug/tracing
	fork_trc=$trc
	if [ "$npt" = 0 ] && [ -d "$trc/events/kvm" ]; then
		# the last exits, injected exceptions and page faults before
		# a reset (tracing stops at the guest's first mark)
		echo 0 >"$trc/tracing_on"
		echo 4096 >"$trc/buffer_size_kb"
		: >"$trc/trace"
		for e in kvm_exit kvm_inj_exception kvm_page_fault kvm_cr kvm_emulate_insn kvm_entry; do
			echo 1 >"$trc/events/kvm/$e/enable" 2>/dev/null
		done
		echo 1 >"$trc/tracing_on"
	fi
	: >"$one.kvm"
	# shadow paging: a reset pauses QEMU, to read the registers
	[ "$npt" = 0 ] && action="-action reboot=shutdown,shutdown=pause"
	t0=$(date +%s)
	# shellcheck disable=SC2086 # extra is words
	timeout -k 5 "$timeout_s" qemu-system-x86_64 -enable-kvm -cpu "$cpu" \
		-m "$mem" -smp "${PVX_L3_CPUS:-2}" $extra \
		-nographic -no-reboot -nodefaults -serial stdio \
		-chardev "pipe,id=pvxsync,path=$fifo" -device isa-serial,chardev=pvxsync \
		-monitor "unix:$mon,server=on,wait=off" $action \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 pvx_bench=forkcopy pvx_fork_mb=$mb pvx_fork_rounds=$rounds pvx_fork_conds=$conds pvx_fork_sync=ttyS1${PVX_BENCH_FORK_THP:+ pvx_fork_thp=$PVX_BENCH_FORK_THP}" \
		</dev/null >"$log" 2>&1 &
	qpid=$!
	fork_sync "$npt" "$case" "$fifo" "$mon" "$one.kvm" &
	spid=$!
	if [ "$npt" = 0 ]; then
		sleep 2
		fork_watch_reset "$mon" "$PVX_OUT/l3-bench-fork-$tag-regs.log" "$log" "$qpid" &
		wpid=$!
	fi
	wait "$qpid"
	qrc=$?
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	if [ "$wpid" != 0 ]; then
		kill "$wpid" 2>/dev/null
		wait "$wpid" 2>/dev/null
	fi
	say "fork bench npt=$npt $case (-cpu $cpu): L3 ($mem MB, ${PVX_L3_CPUS:-2} vCPUs) ran $(($(date +%s) - t0)) s, qemu exit $qrc, host copied $(($(fork_pages_copied) - p0)) pages, console $log"
	if [ "$npt" = 0 ] && [ -d "$trc/events/kvm" ]; then
		echo 0 >"$trc/tracing_on"
		echo 0 >"$trc/events/kvm/enable" 2>/dev/null
		if [ ! -s "$one.kvm" ]; then
			tail -n 400 "$trc/trace" >"$PVX_OUT/l3-bench-fork-$tag-trace.txt"
			say "npt=0 reset: the last KVM events in L2 in l3-bench-fork-$tag-trace.txt, registers in l3-bench-fork-$tag-regs.log"
			grep -E 'RIP=|CR0=|CR3=|EFER=|^EAX|^RAX' "$PVX_OUT/l3-bench-fork-$tag-regs.log" 2>/dev/null | head -n 12 | sed 's/^/#   /'
			grep -E 'kvm_inj_exception|kvm_page_fault|kvm_cr' "$PVX_OUT/l3-bench-fork-$tag-trace.txt" | tail -n 12 | sed 's/^/#   /'
			tail -n 8 "$PVX_OUT/l3-bench-fork-$tag-trace.txt" | sed 's/^/#   /'
		fi
		: >"$trc/trace"
	fi
	l3_results "fork bench npt=$npt $case: L3 guest" "$log" "$one" "$qrc"
	# each pvx_fork() either copied through the host or was a plain
	# fork() by libpvx's rule (plain=1: the host copy would lose there)
	a=$(grep -c '^fork .*variant=pvx ' "$one")
	d=$(grep -cE '^fork .*variant=pvx .*(copied=[1-9]|plain=1)' "$one")
	if [ "$a" -gt 0 ] && [ "$a" = "$d" ]; then
		ok "fork bench npt=$npt $case: every pvx_fork() copied through the host or was plain fork() by the rule ($(grep -c '^fork .*variant=pvx .*plain=1' "$one") of $a plain)"
	else
		not_ok "fork bench npt=$npt $case: every pvx_fork() copied through the host or was plain fork() by the rule # $d of $a"
	fi
	if grep -q '^fork ' "$one"; then
		if [ "$(grep -c '^fork ' "$one")" = "$(grep -c '^kvm ' "$one.kvm")" ]; then
			ok "fork bench npt=$npt $case: KVM's counters read around every run"
		else
			not_ok "fork bench npt=$npt $case: KVM's counters read around every run # $(grep -c '^kvm ' "$one.kvm") of $(grep -c '^fork ' "$one")"
		fi
	fi
	d=$(grep -c '^fork .*cond=dirtylog' "$one")
	if [ "$d" -gt 0 ]; then
		a=$(grep -c '^kvm .*migration=active' "$one.kvm")
		if [ "$a" = "$d" ]; then
			ok "fork bench npt=$npt $case: dirty logging (a migration) active to the end of all $d dirtylog runs"
		else
			not_ok "fork bench npt=$npt $case: dirty logging (a migration) active to the end of all $d dirtylog runs # $a"
		fi
	fi
	sed "s/^fork /fork npt=$npt case=$case /" "$one" | grep '^fork ' >>"$res"
	cat "$one.kvm" >>"$res"
	# the results so far to the lab's share (l2-run.sh), in case L2 is
	# stopped before the tables are printed
	[ -n "${PVX_SHARE:-}" ] &&
		cp "$res" "$log" "$PVX_OUT/l3-bench-fork-$tag"-* "$PVX_SHARE/" 2>/dev/null
	grep -q '^fork ' "$one"
}

# fork_runs RES: one line per run, KVM's counters (by npt, case and seq)
# taken per page of W and L2's resident growth in MiB:
#   NPT COND MIB VARIANT ROUND CHILD_MS EXITS_PP PF_PP RSS_MIB THP_MIB PLAIN COPIED
# ("-" for a number the run lacks)
fork_runs() {
	awk '
function f(line, k,   i, n, a) { n = split(line, a, " "); for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2); return "" }
/^kvm / { k = f($0, "npt") SUBSEP f($0, "case") SUBSEP f($0, "seq"); ex[k] = f($0, "exits"); pf[k] = f($0, "pf_taken"); rss[k] = (f($0, "rss_kb_after") - f($0, "rss_kb_before")) / 1024; next }
/^fork / { line[++nl] = $0 }
END {
	for (l = 1; l <= nl; l++) {
		$0 = line[l]; m = f($0, "mb"); cd = f($0, "cond"); thp = f($0, "child_thp_kb")
		k = f($0, "npt") SUBSEP f($0, "case") SUBSEP f($0, "seq")
		print f($0, "npt"), (cd == "" ? "plain" : cd), m, f($0, "variant"), f($0, "round"), f($0, "child_ms"),
			(k in ex ? ex[k] / (m * 256) : "-"), (k in ex ? pf[k] / (m * 256) : "-"), (k in ex ? rss[k] : "-"),
			(thp != "" && thp >= 0 ? thp / 1024 : "-"), f($0, "plain") + 0, f($0, "copied") + 0
	}
}' "$1"
}

# fork_col VAR G V COL: into VAR column COL (1 child_ms, 2 exits/page, 3
# pf/page, 4 rss MiB, 5 THP MiB, 6 plain, 7 copied) of variant V's rounds
# of group G (N:COND:MIB), comma-separated, "-" for a round without it
# (RUN and NR are fork_bench_table's: bash's dynamic scope)
fork_col() {
	local -n fc_out=$1
	local fc_f fc_i
	fc_out=""
	for ((fc_i = 1; fc_i <= ${NR["${2//:/ }"]}; fc_i++)); do
		read -r -a fc_f <<<"${RUN["${2//:/ } $3 $fc_i"]:-}"
		fc_out+="${fc_out:+,}${fc_f[$4 - 1]:--}"
	done
}

# The tables: per (npt, condition, W) and variant the medians of the
# rounds of the time to the child's first full pass of writes (ms and ns
# per page of W), of KVM's exits and page faults in L2 per page of W
# (counted from just before the fork to the child reaped: the parent's
# pass of writes is in the window too) and of L2's resident memory growth
# (MiB); the ratios to cow (fork + copy-on-write, the issue's (a)) round
# by round with n and min..max; the floors on them. The rounds' numbers
# collected in bash, the statistics in two pvx_bench_stat batches
# (bench_batch): 26 answers per group.
fork_bench_table() {
	local n cd m v r rest g groups="" p c i k copy plain anythp=0 pages a b x
	local f1='%-4s %-8s %4s %8s %8s %8s %-24s %-24s | %7s %7s %7s'
	local f2='%-4s %-8s %4s %7s %7s %7s %-24s %-24s | %6s %6s %6s | %6s %6s %6s'
	local f3='%-4s %-8s %4s %7s %7s %7s'
	local -a req ans
	local -A RUN NR NSPP
	[ -x "$PVX_SELFTESTS/pvx_bench_stat" ] || { say "fork bench table: no $PVX_SELFTESTS/pvx_bench_stat"; return; }
	while read -r n cd m v r rest; do
		[ -n "$rest" ] || continue
		RUN["$n $cd $m $v $r"]=$rest
		[ "${NR["$n $cd $m"]:-0}" -lt "$r" ] && NR["$n $cd $m"]=$r
		[[ "$rest" =~ ^[^\ ]+\ [^\ ]+\ [^\ ]+\ [^\ ]+\ [0-9] ]] && anythp=1
	done < <(fork_runs "$1")
	# npt=1 first, then plain, unbacked, dirtylog, W ascending
	for n in 1 0; do
		for cd in plain unbacked dirtylog; do
			for m in $(for g in "${!NR[@]}"; do echo "$g"; done | sed -n "s/^$n $cd //p" | sort -n); do
				groups+="$n:$cd:$m "
			done
		done
	done
	# stage 1: each round's time per page of W (ms / pages)
	for g in $groups; do
		pages=""
		for ((i = 1; i <= ${NR["${g//:/ }"]}; i++)); do pages+="${pages:+,}$((${g##*:} * 256))"; done
		for v in cow populate pvx; do
			fork_col a "$g" "$v" 1
			req+=("-l pratio $a $pages")
		done
	done
	bench_batch ans "${req[@]}"
	i=0
	for g in $groups; do
		for v in cow populate pvx; do NSPP[$g/$v]=${ans[i++]:--}; done
	done
	# stage 2: per group 26 answers, in the order the tables read them
	req=()
	for g in $groups; do
		IFS=: read -r n cd m <<<"$g"
		for k in 1 2; do
			for v in cow populate pvx; do
				fork_col a "$g" "$v" "$k"
				req+=("-f %.$((k == 1 ? 1 : 2))f stat $a")
			done
			fork_col a "$g" populate "$k"
			fork_col b "$g" cow "$k"
			fork_col x "$g" pvx "$k"
			req+=("-f %.2f pratio $a $b" "-f %.2f pratio $x $b")
		done
		for v in cow populate pvx; do req+=("-s 1000000 -f %.0f stat ${NSPP[$g/$v]}"); done
		for k in 3 4; do
			for v in cow populate pvx; do
				fork_col a "$g" "$v" "$k"
				req+=("-f %.2f stat $a")
			done
		done
		for v in cow populate pvx; do
			fork_col a "$g" "$v" 5
			req+=("-f %.1f stat $a")
		done
		fork_col a "$g" pvx 1
		fork_col b "$g" cow 1
		fork_col x "$g" cow 2
		fork_col c "$g" pvx 2
		req+=("-f %.2f floor le 1.1 $a $b" "-f %.2f floor ge 10 $x $c" "-f %.2f floor ge 2 $b $a"
			"-f %.2f floor le 1.05 $a $b")
	done
	bench_batch ans "${req[@]}"

	say "---- fork-copy: time from the fork to the child's full pass of writes (median ms of the rounds; ns per page of W);" \
		"ratio = variant / cow round by round, median (n min..max) (< 1: faster than fork + COW)"
	# shellcheck disable=SC2059 # one format per table
	say "$(printf "$f1" npt cond MiB "cow ms" "pop ms" "pvx ms" pop/cow pvx/cow "ns/p cow" pop pvx)"
	i=0
	for g in $groups; do
		IFS=: read -r n cd m <<<"$g"
		# shellcheck disable=SC2059
		say "$(printf "$f1" "$n" "$cd" "$m" "${ans[i]%% *}" "${ans[i + 1]%% *}" "${ans[i + 2]%% *}" \
			"${ans[i + 3]}" "${ans[i + 4]}" "${ans[i + 10]%% *}" "${ans[i + 11]%% *}" "${ans[i + 12]%% *}")"
		i=$((i + 26))
	done
	say "---- fork-copy: KVM in L2, per page of W, from before the fork to the child reaped (median of the rounds):" \
		"exits, page faults taken (pf_taken); L2 resident growth of the L3 QEMU (MiB); ratios round by round"
	# shellcheck disable=SC2059
	say "$(printf "$f2" npt cond MiB "ex cow" "ex pop" "ex pvx" pop/cow pvx/cow "pf cow" pop pvx "rss cow" pop pvx)"
	i=0
	for g in $groups; do
		IFS=: read -r n cd m <<<"$g"
		# shellcheck disable=SC2059
		say "$(printf "$f2" "$n" "$cd" "$m" "${ans[i + 5]%% *}" "${ans[i + 6]%% *}" "${ans[i + 7]%% *}" \
			"${ans[i + 8]}" "${ans[i + 9]}" "${ans[i + 13]%% *}" "${ans[i + 14]%% *}" "${ans[i + 15]%% *}" \
			"${ans[i + 16]%% *}" "${ans[i + 17]%% *}" "${ans[i + 18]%% *}")"
		i=$((i + 26))
	done
	if [ "$anythp" = 1 ]; then
		say "---- fork-copy: the child's memory in transparent huge pages after its pass (median MiB of the rounds;" \
			"copy-on-write splits them, a fresh copy need not)"
		# shellcheck disable=SC2059
		say "$(printf "$f3" npt cond MiB cow pop pvx)"
		i=0
		for g in $groups; do
			IFS=: read -r n cd m <<<"$g"
			# shellcheck disable=SC2059
			say "$(printf "$f3" "$n" "$cd" "$m" "${ans[i + 19]%% *}" "${ans[i + 20]%% *}" "${ans[i + 21]%% *}")"
			i=$((i + 26))
		done
	fi
	say "---- floors (reported, not asserted): on the median of the rounds' own ratios, with the rounds that met them"
	i=0
	for g in $groups; do
		IFS=: read -r n cd m <<<"$g"
		if [ "$cd" = plain ] && [ "$n" = 1 ]; then
			say "floor npt=1, $m MiB: the child with pvx_fork not slower than 1.1x fork + COW: ${ans[i + 22]}"
		elif [ "$cd" = plain ] && [ "$m" = 64 ]; then
			say "floor npt=0, 64 MiB: pvx >= 10x fewer exits than fork + COW: ${ans[i + 23]}"
			say "floor npt=0, 64 MiB: pvx >= 2x faster than fork + COW: ${ans[i + 24]}"
		fi
		i=$((i + 26))
	done
	# issue 29 item 4: pvx_fork() never slower than fork() + COW, per cell
	i=0
	for g in $groups; do
		IFS=: read -r n cd m <<<"$g"
		# the pvx rounds that copied through the host, and the plain
		# fork()s by libpvx's rule
		fork_col a "$g" pvx 6
		fork_col b "$g" pvx 7
		IFS=, read -r -a p <<<"$a"
		IFS=, read -r -a c <<<"$b"
		copy=0 plain=0
		for k in "${!p[@]}"; do
			if [ "${p[k]}" = 1 ]; then
				plain=$((plain + 1))
			elif [ "${c[k]:-0}" != - ] && [ "${c[k]:-0}" -gt 0 ]; then
				copy=$((copy + 1))
			fi
		done
		say "floor pvx_fork <= 1.05x fork, cell npt=$n $cd $m MiB: ${ans[i + 25]}; pvx path: $copy copy, $plain plain"
		i=$((i + 26))
	done
	[[ " $groups" == *" 0:plain:64 "* ]] || say "floor npt=0, 64 MiB: not measured (no npt=0 result)"
}

# shellcheck disable=SC2154
fork_bench() {
	local res=$PVX_OUT/bench-fork-results.txt npt cpus cpu case
	PVX_BENCH_FORK_NPT=${PVX_BENCH_FORK_NPT:-1,0}
	PVX_BENCH_FORK_CASES=${PVX_BENCH_FORK_CASES:-backed,unbacked}
	[ -f "$initrd" ] || { not_ok "fork bench: initramfs # no $initrd"; return; }
	[ -f "$kernel" ] || { not_ok "fork bench: L3 kernel # no $kernel"; return; }
	: >"$res"
	for npt in ${PVX_BENCH_FORK_NPT//,/ }; do
		if [ "$npt" = 0 ] && fork_tcg_hides_cr_reads; then
			ok "fork bench npt=0 # SKIP L2's QEMU $PVX_L2_QEMU (TCG) does not deliver the CR3/CR4 read intercepts shadow paging needs, so no L3 guest boots (Documentation/fork_copy.rst); run the lab with --l2-cpus 1 (Debian 12's QEMU 7.2)"
			continue
		fi
		cpus=host
		# shadow paging: the L3 guest reset in early boot with -cpu
		# host (Documentation/fork_copy.rst); the next CPU models are
		# tried until one boots
		[ "$npt" = 0 ] && cpus=${PVX_BENCH_FORK_SHADOW_CPUS:-host/host,-la57/qemu64}
		for case in ${PVX_BENCH_FORK_CASES//,/ }; do
			for cpu in ${cpus//\// }; do
				if fork_bench_run "$npt" "$case" "$res" "$cpu"; then
					cpus=$cpu
					break
				fi
			done
		done
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
