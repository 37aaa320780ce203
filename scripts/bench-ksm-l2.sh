# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# The KSM benchmark (issue 11 item 4), sourced by scripts/bench-l2.sh
# inside the L2 KVM host (it provides ok, not_ok, say, l3_results,
# kernel, initrd and the PVX_* environment); PVX_BENCH=ksm.
# Documentation/ksm.rst, "Benchmark".
#
# KSM runs in L2 (run=1, pages_to_scan, sleep_millisecs and, on 6.12,
# smart_scan set and recorded). Two cases, one after the other in one L2
# boot, each with TWO L3 guests booted from the same kernel and bench
# initramfs (a victim and an attacker, QEMU's default mem-merge=on):
#   (a) blind: no pvx_ksm_guest, nothing hinted, nothing protected;
#   (b) pvx: pvx_ksm_guest in both (kernel-image candidates sent), the
#       victim protects its set P with PVX_IOC_KSM_PROTECT;
#   (c) pvx with zero_free=1: as (b), and both guests zero their stale
#       free pages and send them as candidates too.
# pvx_ksm.ko is loaded for both (it only counts in (a): no hint comes).
#
# Phase 1 (sharing): both guests idle after boot; KSM is reset (run=2)
# and started, and sampled every second for PVX_BENCH_KSM_SECS: full
# scans, pages_scanned (6.12), pages_sharing, each QEMU's
# ksm_merging_pages. Then, per VM, its guest RAM's resident pages and
# (b) pvx_ksm's debugfs candidates and candidates_merged: the precision
# of the hints; and pvx_ksm_census's count of the merged pages that hold
# only zeros.
# Phase 2 (never-merge): pvx_ksm_bench fills three sets of
# PVX_BENCH_KSM_PAGES pages in each guest (U: both guests the same,
# P: both the same, the victim's protected in (b), X: each guest its
# own) and waits; L2 lets KSM run PVX_BENCH_KSM_SCANS full scans, reads
# the merged counts and pvx_ksm's pins_merged, and lets both guests time
# the first write to every page. PVX_BENCH_KSM_ROUNDS rounds.
#
# A test fails only when a number is missing; floors are reported, never
# asserted. Knobs: PVX_BENCH_KSM_MEM (MiB per L3 guest, 512),
# PVX_BENCH_KSM_CPUS (vCPUs per L3 guest, 1), PVX_BENCH_KSM_SECS (60),
# PVX_BENCH_KSM_PAGES (1024), PVX_BENCH_KSM_ROUNDS (5),
# PVX_BENCH_KSM_SCANS (4), PVX_BENCH_KSM_TO_SCAN (pages_to_scan, 1000),
# PVX_BENCH_KSM_SLEEP_MS (sleep_millisecs, 10), PVX_BENCH_KSM_SMART
# (smart_scan on 6.12, 0), PVX_BENCH_KSM_SLOW_NS (20000),
# PVX_BENCH_KSM_PRIVATE_MB (352: MiB of its own data each guest writes
# before phase 1, a working set KSM has no reason to merge),
# PVX_BENCH_KSM_KASLR (0: the guests boot with nokaslr), PVX_BENCH_KSM_FIRST
# (victim: which guest's QEMU starts first, and so is scanned first),
# PVX_BENCH_KSM_ZERO_ORDER (0: case (c)'s zero_order, the smallest free
# block page reporting hands over; 0 is pageblock order),
# PVX_BENCH_KSM_CASES (abl: which cases run; c adds (c), l is the lever
# series below, with knobs of its own),
# PVX_BENCH_KSM_BOOTS (3: tries to boot a case's two guests to their
# first mark), PVX_BENCH_KSM_TIMEOUT (per L3 guest, s, 1500). With the
# defaults the benchmark takes about 13 min of L2 on 6.12 without the
# lever series;
# scripts/bench.sh gives the lab 3600 s when ksm runs.

ksm_sys=/sys/kernel/mm/ksm

ksm_get() { cat "$ksm_sys/$1" 2>/dev/null || echo -1; }

ksm_now() { cut -d' ' -f1 /proc/uptime; }

# ksm_qpid ROLE: the L3 QEMU's PID
ksm_qpid() { cat "/tmp/pvx-ksm-$1.pid" 2>/dev/null; }

# ksm_merging PID: pages of the process that KSM merged now
ksm_merging() { cat "/proc/$1/ksm_merging_pages" 2>/dev/null || echo 0; }

# ksm_rmap PID: KSM's rmap items of the process (pages it tracks)
ksm_rmap() { awk '$1 == "ksm_rmap_items" { n = $2 } END { print n + 0 }' "/proc/$1/ksm_stat" 2>/dev/null || echo 0; }

# ksm_ram_rss PID MIB: resident pages of the guest RAM mapping (MIB MiB)
ksm_ram_rss() {
	awk -v sz=$(($2 * 1024)) '
		/^[0-9a-f]+-[0-9a-f]+ / { cur = 0; next }
		$1 == "Size:" { cur = ($2 == sz) }
		$1 == "Rss:" && cur { print $2 / 4; exit }' "/proc/$1/smaps" 2>/dev/null
}

# ksm_dbg PID KEY: pvx_ksm's debugfs value of the VM of QEMU PID
ksm_dbg() {
	local f
	for f in /sys/kernel/debug/pvx/vm*-"$1"/ksm; do
		awk -v k="$2" '$1 == k { print $2 }' "$f" 2>/dev/null
		return
	done
	echo 0
}

# ksm_wait_mark ROLE LINE SECS: wait until the guest ROLE sent LINE
ksm_wait_mark() {
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		grep -qx "$2" "/tmp/pvx-ksm-$1.lines" 2>/dev/null && return 0
		# the QEMU's timeout (the pidfile comes later)
		eval "kill -0 \$ksm_tpid_$1" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

ksm_answer() { timeout 5 sh -c "printf g >'/tmp/pvx-ksm-$1.in'"; }

# ksm_boot CASE HINT ROLE [KASLR [MERGE]]: start one L3 guest and its mark
# reader; KASLR 1 boots it with KASLR (default PVX_BENCH_KSM_KASLR), MERGE
# is QEMU's mem-merge (on or off; default QEMU's, on)
# shellcheck disable=SC2154
ksm_boot() {
	local c=$1 hint=$2 role=$3 f=/tmp/pvx-ksm-$3 kaslr=nokaslr mm=()
	[ "${4:-${PVX_BENCH_KSM_KASLR:-0}}" = 1 ] && kaslr=
	[ -n "${5:-}" ] && mm=(-machine "mem-merge=$5")
	rm -f "$f.in" "$f.out" "$f.lines" "$f.pid"
	mkfifo "$f.in" "$f.out"
	timeout -k 5 "${PVX_BENCH_KSM_TIMEOUT:-1500}" qemu-system-x86_64 -enable-kvm -cpu host \
		-m "$ksm_mem" -smp "${PVX_BENCH_KSM_CPUS:-1}" "${mm[@]}" \
		-nographic -no-reboot -nodefaults -serial stdio -pidfile "$f.pid" \
		-chardev "pipe,id=pvxsync,path=$f" -device isa-serial,chardev=pvxsync \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 $kaslr pvx_bench=ksm pvx_ksm_role=$role pvx_ksm_hint=$hint pvx_ksm_pages=$ksm_pages pvx_ksm_rounds=$ksm_rounds pvx_ksm_slow_ns=${PVX_BENCH_KSM_SLOW_NS:-20000} pvx_ksm_private_mb=$ksm_private_mb pvx_ksm_zero_order=${PVX_BENCH_KSM_ZERO_ORDER:-0}" \
		</dev/null >"$PVX_OUT/l3-bench-ksm-$c-$role.log" 2>&1 &
	eval "ksm_tpid_$role=\$!"
	cat "$f.out" >"$f.lines" &
	eval "ksm_cat_$role=\$!"
}

# ksm_restart SMART: unmerge everything, wait until nothing is merged, set
# the scan knobs (smart_scan SMART where the kernel has it); KSM stays off
ksm_restart() {
	local i
	echo 2 >"$ksm_sys/run"
	for ((i = 0; i < 300; i++)); do
		[ "$(ksm_get pages_shared)$(ksm_get pages_sharing)" = 00 ] && break
		sleep 0.2
	done
	echo "${PVX_BENCH_KSM_TO_SCAN:-1000}" >"$ksm_sys/pages_to_scan"
	echo "${PVX_BENCH_KSM_SLEEP_MS:-10}" >"$ksm_sys/sleep_millisecs"
	[ -w "$ksm_sys/smart_scan" ] && echo "$1" >"$ksm_sys/smart_scan"
	return 0
}

# ksm_kill_both: end both guests of a case now (the one that reached its
# mark waits for an answer that never comes), not at their timeout
ksm_kill_both() {
	local role r
	for role in victim attacker; do
		r=$(ksm_qpid "$role")
		[ -n "$r" ] && kill "$r" 2>/dev/null
	done
}

# ksm_boot_both CASE HINT ORDER: boot the victim and the attacker until
# both reach their first mark, at most PVX_BENCH_KSM_BOOTS (3) times.
# Under TCG an L3 guest now and then hangs or resets itself in early boot,
# before any pvx module (QEMU exits 0 under -no-reboot; ksm.rst): such a
# pair is ended, named in the TAP and booted again. Fails (not ok lines
# for the last try) when no try got both guests to their mark.
ksm_boot_both() {
	local c=$1 hint=$2 order=$3 try boots=${PVX_BENCH_KSM_BOOTS:-3} role bad
	for ((try = 1; ; try++)); do
		for role in ${order//,/ }; do
			ksm_boot "$c" "$hint" "$role"
			sleep 1
		done
		bad=""
		for role in victim attacker; do
			ksm_wait_mark "$role" I 600 || bad="$bad $role"
		done
		[ -z "$bad" ] && return 0
		ksm_kill_both
		for role in victim attacker; do
			eval "wait \$ksm_tpid_$role"
			eval "kill \$ksm_cat_$role" 2>/dev/null
			eval "wait \$ksm_cat_$role" 2>/dev/null
		done
		if [ "$try" -ge "$boots" ]; then
			for role in $bad; do
				not_ok "ksm bench ($c): the $role guest booted and reached its first mark (in $boots boots)"
			done
			return 1
		fi
		for role in $bad; do
			say "ksm bench ($c): boot $try of $boots: the $role guest did not reach its first mark, booting both again; last line: $(tr -d '\r' <"$PVX_OUT/l3-bench-ksm-$c-$role.log" | grep . | tail -n1)"
			cp "$PVX_OUT/l3-bench-ksm-$c-$role.log" "$PVX_OUT/l3-bench-ksm-$c-$role-boot$try.log"
		done
	done
}

# ksm_case CASE HINT RES: one case, its lines into RES
# shellcheck disable=SC2154
ksm_case() {
	local c=$1 hint=$2 res=$3 role t0 t fs0 ps0 r f0 i v a ok_r=1 qrc order=victim,attacker
	# the QEMU started first registers with KSM first and is scanned
	# first in every full scan
	[ "${PVX_BENCH_KSM_FIRST:-victim}" = attacker ] && order=attacker,victim
	ksm_boot_both "$c" "$hint" "$order" || ok_r=0
	if [ "$ok_r" = 1 ]; then
		ok "ksm bench ($c): both L3 guests booted and idle"
		v=$(ksm_qpid victim) a=$(ksm_qpid attacker)
		# phase 1: KSM from nothing over the two idle guests
		ksm_restart "${PVX_BENCH_KSM_SMART:-0}"
		fs0=$(ksm_get full_scans) ps0=$(ksm_get pages_scanned)
		t0=$(ksm_now)
		echo 1 >"$ksm_sys/run"
		echo "ksmconf case=$c first=${order%%,*} pages_to_scan=$(ksm_get pages_to_scan) sleep_millisecs=$(ksm_get sleep_millisecs) smart_scan=$(ksm_get smart_scan) use_zero_pages=$(ksm_get use_zero_pages) merge_across_nodes=$(ksm_get merge_across_nodes) mem=$ksm_mem private_mb=$ksm_private_mb" >>"$res"
		while :; do
			t=$(awk -v a="$(ksm_now)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
			echo "sample case=$c t=$t full_scans=$(($(ksm_get full_scans) - fs0)) pages_scanned=$([ "$ps0" = -1 ] && echo -1 || echo $(($(ksm_get pages_scanned) - ps0))) sharing=$(ksm_get pages_sharing) shared=$(ksm_get pages_shared) mv=$(ksm_merging "$v") ma=$(ksm_merging "$a") rmap=$(($(ksm_rmap "$v") + $(ksm_rmap "$a")))" >>"$res"
			awk -v t="$t" -v s="$ksm_secs" 'BEGIN { exit !(t >= s) }' && break
			sleep 1
		done
		for role in victim attacker; do
			r=$(ksm_qpid "$role")
			echo "vm case=$c role=$role rss=$(ksm_ram_rss "$r" "$ksm_mem") merging=$(ksm_merging "$r") candidates=$(ksm_dbg "$r" candidates) candidates_merged=$(ksm_dbg "$r" candidates_merged) candidates_zero=$(ksm_dbg "$r" candidates_zero) candidates_absent=$(ksm_dbg "$r" candidates_absent)" >>"$res"
			# what the merged pages hold (zeros or content)
			# and of which kinds of guest page (the map the guest
			# sent with its first mark)
			grep -a '^pfnmap ' "/tmp/pvx-ksm-$role.lines" >/tmp/pvx-ksm-pfnmap
			echo "pfnmap case=$c role=$role lines=$(wc -l </tmp/pvx-ksm-pfnmap)" >>"$res"
			if "$PVX_SELFTESTS/pvx_ksm_census" "$r" "$ksm_mem" /tmp/pvx-ksm-pfnmap >/tmp/pvx-ksm-census 2>&1; then
				sed "s/^census /census case=$c role=$role /; s/^censuskind /censuskind case=$c role=$role /" /tmp/pvx-ksm-census >>"$res"
			else
				not_ok "ksm bench ($c): census of the $role VM's pages # $(head -n1 /tmp/pvx-ksm-census)"
			fi
		done
		say "ksm bench ($c): phase 1 done, $(tail -n 3 "$res" | head -n 1)"
		ksm_answer victim
		ksm_answer attacker
		# phase 2: the never-merge rounds
		for ((r = 1; r <= ksm_rounds; r++)); do
			if ! ksm_wait_mark victim "F $r" 300 || ! ksm_wait_mark attacker "F $r" 300; then
				not_ok "ksm bench ($c): round $r reached by both guests"
				break
			fi
			f0=$(ksm_get full_scans)
			for ((i = 0; i < 3000; i++)); do
				[ $(($(ksm_get full_scans) - f0)) -ge "$ksm_scans" ] && break
				sleep 0.2
			done
			echo "round case=$c round=$r scans=$(($(ksm_get full_scans) - f0)) mv=$(ksm_merging "$v") ma=$(ksm_merging "$a") pins=$(ksm_dbg "$v" pins) pins_merged=$(ksm_dbg "$v" pins_merged)" >>"$res"
			ksm_answer victim
			ksm_answer attacker
		done
	fi
	for role in victim attacker; do
		eval "wait \$ksm_tpid_$role"
		qrc=$?
		eval "kill \$ksm_cat_$role" 2>/dev/null
		l3_results "ksm bench ($c): $role guest" "$PVX_OUT/l3-bench-ksm-$c-$role.log" "/tmp/pvx-ksm-$c-$role.txt" "$qrc"
		sed "s/^ksmw /ksmw case=$c /" "/tmp/pvx-ksm-$c-$role.txt" | grep '^ksmw ' >>"$res"
	done
	echo 2 >"$ksm_sys/run"
}

# ksm_p50_cells RES: per case, role and set the median of its rounds' p50
# write latency with n and min..max (pvx_bench_stat, one batch), one line
# each:
#   p50cell case=C role=R set=S cell=TEXT
ksm_p50_cells() {
	local line k re='^ksmw case=([a-z]) role=([a-z]+) .* set=([A-Z]) .* p50_ns=([0-9]+)'
	local -a keys req ans
	local -A P50
	while read -r line; do
		[[ "$line" =~ $re ]] || continue
		k="case=${BASH_REMATCH[1]} role=${BASH_REMATCH[2]} set=${BASH_REMATCH[3]}"
		[ -n "${P50[$k]:-}" ] || keys+=("$k")
		P50[$k]+="${P50[$k]:+,}${BASH_REMATCH[4]}"
	done <"$1"
	[ "${#keys[@]}" -gt 0 ] || return 0
	for k in "${keys[@]}"; do req+=("-f %.0f stat ${P50[$k]}"); done
	bench_batch ans "${req[@]}"
	for k in "${!keys[@]}"; do echo "p50cell ${keys[k]} cell=${ans[k]}"; done
}

# The tables (Documentation/ksm.rst)
ksm_bench_table() {
	{ ksm_p50_cells "$1"; cat "$1"; } | awk -v abi="$PVX_ABI" -v pages="$ksm_pages" -v scans="$ksm_scans" '
function f(line, k,   i, n, a) { n = split(line, a, " "); for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2); return "" }
function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
/^ksmconf / { conf[f($0, "case")] = $0 }
/^sample / {
	c = f($0, "case"); n = ++ns[c]; st[c, n] = f($0, "t"); sh[c, n] = f($0, "sharing"); last[c] = $0
	sn[c, n] = f($0, "pages_scanned") + 0; if (sn[c, n] < 0) sn[c, n] = f($0, "full_scans") * f($0, "rmap")
	mn[c, n] = f($0, "mv") + f($0, "ma"); fsn[c, n] = f($0, "full_scans")
}
/^vm / { c = f($0, "case"); rss[c] += f($0, "rss"); mg[c] += f($0, "merging"); cand[c] += f($0, "candidates"); cm[c] += f($0, "candidates_merged"); cz[c] += f($0, "candidates_zero"); ca[c] += f($0, "candidates_absent") }
/^census / { c = f($0, "case"); cres[c] += f($0, "resident"); cmg[c] += f($0, "merged"); cmz[c] += f($0, "merged_zero"); czp[c] += f($0, "zero_page"); crz[c] += f($0, "resident_zero"); hascensus[c] = 1 }
/^censuskind / {
	c = f($0, "case"); k = f($0, "kind"); kinds[k] = 1; hask[c] = 1
	kres[c, k] += f($0, "resident"); kmg[c, k] += f($0, "merged"); kmz[c, k] += f($0, "merged_zero"); krz[c, k] += f($0, "resident_zero"); kzp[c, k] += f($0, "zero_page")
}
/^round / { c = f($0, "case"); rs[c] += f($0, "scans"); nr[c]++; if (f($0, "pins_merged") + 0 > pm[c]) pm[c] = f($0, "pins_merged") + 0; pins[c] = f($0, "pins") }
/^ksmw / {
	k = f($0, "case") SUBSEP f($0, "role") SUBSEP f($0, "set")
	w[k] += f($0, "pages"); sl[k] += f($0, "slow")
	if (f($0, "max_ns") + 0 > mx[k]) mx[k] = f($0, "max_ns") + 0
}
/^p50cell / { p50[f($0, "case"), f($0, "role"), f($0, "set")] = substr($0, index($0, " cell=") + 6) }
function median(k) { return (k in p50) ? p50[k] : "-" }
function i90(c, target,   i) { for (i = 1; i <= ns[c]; i++) if (sh[c, i] + 0 >= target) return i; return 0 }
END {
	printf "# ---- KSM benchmark, kernel %s: L2 KSM %s\n", abi, conf["a"]
	printf "# (a) blind KSM over all guest RAM (QEMU mem-merge=on, no hints); (b) pvx: pvx_ksm_guest candidates, victim set P protected; (c) as (b) with zero_free=1\n"
	printf "# %-4s %6s %6s %9s %8s %8s %8s | %6s %6s %9s %8s\n", "case", "secs", "scans", "scanned", "sharing", "merged", "scan/mrg", "t90 s", "scans", "scanned", "scan/mrg"
	target = 0.9 * f(last["a"], "sharing")
	for (ci = 1; ci <= 3; ci++) {
		c = substr("abc", ci, 1)
		if (!(c in last)) { printf "# %-4s (no result)\n", c; continue }
		L = last[c]; sc = f(L, "pages_scanned") + 0; m = f(L, "mv") + f(L, "ma")
		est = ""
		if (sc < 0) { sc = f(L, "full_scans") * f(L, "rmap"); est = "~" }
		j = i90(c, target)
		if (j) { t9 = st[c, j]; s9 = sn[c, j]; fs9 = fsn[c, j]; r9 = r(sn[c, j], mn[c, j]) } else { t9 = "never"; fs9 = s9 = r9 = "-" }
		printf "# %-4s %6s %6s %9s %8s %8s %8s | %6s %6s %9s %8s\n", c, f(L, "t"), f(L, "full_scans"), est sc, f(L, "sharing"), m, est r(sc, m), t9, fs9, (j ? est : "") s9, (j ? est : "") r9
	}
	printf "# left: at the end of the phase; right: at t90, the first sample with pages_sharing >= 90%% of what (a) had at its end (%d)\n", target
	printf "#   merged = both VMs%s ksm_merging_pages; scanned: pages_scanned (6.12); ~ = full_scans x rmap items (6.1 has no pages_scanned)\n", "\047"
	printf "#   guest RAM resident in L2, both VMs: (a) %d pages, (b) %d pages, (c) %d pages\n", rss["a"], rss["b"], rss["c"]
	for (ci = 2; ci <= 3; ci++) {
		c = substr("abc", ci, 1)
		if (!(c in last)) continue
		# a hinted page never backed (absent) is neither; one on the
		# shared zero page (a THP split maps zero-filled pages to it)
		# costs no memory, like a merged one, and is not in Rss
		hb = cand[c] - ca[c]; hr = hb - cz[c]
		hs = hb > 0 ? (cm[c] + cz[c]) / hb : 0
		us = (rss[c] - hr) > 0 ? (mg[c] - cm[c]) / (rss[c] - hr) : 0
		printf "# ---- hint precision (%s), both VMs: hinted %d (never backed %d), hinted merged %d + on the zero page %d of %d (%.1f%%); unhinted resident %d, merged %d (%.1f%%)\n", c, cand[c], ca[c], cm[c], cz[c], hb, 100 * hs, rss[c] - hr, mg[c] - cm[c], 100 * us
		printf "# floor hinted pages merge >= 10x as often as unhinted (%s): %s (%sx)\n", c, (us > 0 && hs >= 10 * us ? "met" : (us == 0 && hs > 0 ? "met" : "MISSED")), r(hs, us)
	}
	for (ci = 1; ci <= 3; ci++) {
		c = substr("abc", ci, 1)
		if (!(c in hascensus)) continue
		printf "# ---- census (%s), both VMs (pvx_ksm_census): resident %d, merged %d of them %d zero-filled (%.1f%%), on the zero page %d; resident zero-filled, not merged %d\n", c, cres[c], cmg[c], cmz[c], (cmg[c] > 0 ? 100 * cmz[c] / cmg[c] : 0), czp[c], crz[c]
	}
	kname["f"] = "free"; kname["F"] = "free?"; kname["r"] = "reserved"; kname["s"] = "slab"; kname["t"] = "pagetable"
	kname["a"] = "anon"; kname["h"] = "shmem"; kname["x"] = "file,mapped"; kname["c"] = "file,cached"; kname["z"] = "flagless"
	kname["o"] = "other"; kname["-"] = "nopage"; kname["?"] = "unmapped"
	for (ci = 1; ci <= 3; ci++) {
		c = substr("abc", ci, 1)
		if (!(c in hask)) continue
		printf "# ---- census (%s) by the kind of guest page (pvx_ksm_bench pfnmap at the idle mark), both VMs\n", c
		printf "#      %-12s %8s %8s %8s %8s %8s\n", "kind", "resident", "merged", "m.zero", "%merged", "r.zero"
		for (k in kinds) if (kres[c, k] > 0)
			printf "#      %-12s %8d %8d %8d %7.1f%% %8d\n", (k in kname ? kname[k] : k), kres[c, k], kmg[c, k], kmz[c, k], 100 * kmg[c, k] / kres[c, k], krz[c, k]
	}
	printf "# ---- never-merge: first write to each page after %d full scans, %d pages per set; slow = writes > slow_ns\n", scans, pages
	printf "# U: both guests hold it; P: both hold it, victim protected in (b); X: only this guest holds it\n"
	printf "# %-4s %-8s %-3s %7s %-22s %10s %9s\n", "case", "role", "set", "writes", "p50 ns (rounds)", "max ns", "slow"
	for (ci = 1; ci <= 3; ci++) for (ri = 1; ri <= 2; ri++) for (si = 1; si <= 3; si++) {
		c = substr("abc", ci, 1); ro = ri == 1 ? "victim" : "attacker"; s = substr("UPX", si, 1)
		k = c SUBSEP ro SUBSEP s
		if (!(k in w)) continue
		printf "# %-4s %-8s %-3s %7d %-22s %10d %9d\n", c, ro, s, w[k], median(k), mx[k], sl[k]
	}
	# the never-merge floor from each case that protects P: (b) and (c)
	for (ci = 2; ci <= 3; ci++) {
		c = substr("abc", ci, 1)
		if (!(c in nr)) continue
		att = pages * (rs[c] - 2 * nr[c])
		printf "# (%s) attempts on protected pages: %d pages x (%d full scans - 2 per round, %d rounds) = %d; pins_merged max %d (pins %s)\n", c, pages, rs[c], nr[c], att, pm[c], pins[c]
		k = c SUBSEP "attacker" SUBSEP "P"
		printf "# floor never-merge pages merged 0 times in >= 10^4 attempts (%s): %s (%d attempts, pins_merged max %d)\n", c, (att >= 10000 && pm[c] == 0 ? "met" : "MISSED"), att, pm[c]
		x = c SUBSEP "attacker" SUBSEP "X"
		printf "# (%s) the attacker%ss first write to its copy of protected P against its unique X: p50 %s vs %s ns, slow %d vs %d of %d: %s\n", c, "\047", median(k), median(x), sl[k], sl[x], w[k], (w[k] && sl[k] <= 0.1 * w[k] ? "no spike (the guess is not told)" : "SPIKE (a right guess still shows)")
	}
}'
}

# ---- The lever series (issue 29 item 3, ksm.rst "The lever"): what
# merge_on_candidates buys a host whose VMM starts its guests with merging
# off. PVX_BENCH_KSM_LEVER_VMS (4) L3 guests of PVX_BENCH_KSM_LEVER_MEM
# MiB (256), each with PVX_BENCH_KSM_LEVER_PRIVATE_MB (128) MiB of data of
# its own; the first PVX_BENCH_KSM_LEVER_ASK (2) boot nokaslr with
# pvx_ksm_guest (the same kernel image, sent as candidates: the content
# worth sharing), the others with KASLR and no pvx module (their kernel
# laid out apart). The same guests and KSM settings in each case,
# PVX_BENCH_KSM_LEVER_RUNS (1) runs of each, by turns:
#   m  blind: every VM mergeable (QEMU mem-merge=on), merge_on_candidates=0;
#   n  pvx: QEMU mem-merge=off, merge_on_candidates=1: the VMs that ask;
#   s  as m with smart_scan=1 where the kernel has it (6.7 and later):
#      stock KSM's own lever, which skips pages that did not merge before.
# Once every guest is at its first mark KSM is reset and sampled for
# PVX_BENCH_KSM_LEVER_SECS (120) s, then the guests are ended. About 10
# min of L2 per case on 6.12 (booting four guests under TCG is most of it).

# ksm_ksmd_ticks: ksmd's CPU time (user + system), clock ticks
ksm_ksmd_ticks() { awk '{ print $14 + $15 }' "/proc/$(pgrep -x ksmd | head -n1)/stat" 2>/dev/null || echo 0; }

# ksm_lever_sum KEY: KEY of every lever guest's QEMU, summed by group
# (the ones that ask, the others): "ASK OTHER"
ksm_lever_sum() {
	local i a=0 o=0 v q
	for ((i = 1; i <= lever_vms; i++)); do
		q=$(ksm_qpid "g$i")
		case $1 in
		merging) v=$(ksm_merging "$q") ;;
		rmap) v=$(ksm_rmap "$q") ;;
		made) v=$(ksm_dbg "$q" made_mergeable) ;;
		esac
		if [ "$i" -le "$lever_ask" ]; then a=$((a + ${v:-0})); else o=$((o + ${v:-0})); fi
	done
	echo "$a $o"
}

# ksm_lever_run CASE RUN RES: boot the guests, sample KSM, end them
# shellcheck disable=SC2154
ksm_lever_run() {
	local c=$1 run=$2 res=$3 i merge=on mo=0 smart=0 bad="" t t0 fs0 ps0 k0 m r q
	case $c in n) merge=off mo=1 ;; s) smart=1 ;; esac
	echo "$mo" >/sys/module/pvx_ksm/parameters/merge_on_candidates
	for ((i = 1; i <= lever_vms; i++)); do
		if [ "$i" -le "$lever_ask" ]; then
			ksm_boot "l$c$run" 1 "g$i" 0 "$merge"
		else
			ksm_boot "l$c$run" 0 "g$i" 1 "$merge"
		fi
		sleep 1
	done
	for ((i = 1; i <= lever_vms; i++)); do
		ksm_wait_mark "g$i" I 900 || bad="$bad g$i"
	done
	if [ -n "$bad" ]; then
		not_ok "ksm lever ($c, run $run): all $lever_vms guests booted to their first mark # not:$bad"
	else
		ok "ksm lever ($c, run $run): all $lever_vms guests booted to their first mark"
		ksm_restart "$smart"
		fs0=$(ksm_get full_scans) ps0=$(ksm_get pages_scanned) k0=$(ksm_ksmd_ticks)
		t0=$(ksm_now)
		echo 1 >"$ksm_sys/run"
		while :; do
			t=$(awk -v a="$(ksm_now)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
			r=$(ksm_lever_sum rmap)
			echo "lsample case=$c run=$run t=$t full_scans=$(($(ksm_get full_scans) - fs0)) pages_scanned=$([ "$ps0" = -1 ] && echo -1 || echo $(($(ksm_get pages_scanned) - ps0))) sharing=$(ksm_get pages_sharing) rmap=$((${r% *} + ${r#* })) ksmd_ticks=$(($(ksm_ksmd_ticks) - k0))" >>"$res"
			awk -v t="$t" -v s="$lever_secs" 'BEGIN { exit !(t >= s) }' && break
			sleep 1
		done
		# KSM's own counters first: ksmd goes on while the per-VM
		# ones are read, seconds of L2 under emulation
		t="t=$t full_scans=$(($(ksm_get full_scans) - fs0)) pages_scanned=$([ "$ps0" = -1 ] && echo -1 || echo $(($(ksm_get pages_scanned) - ps0))) sharing=$(ksm_get pages_sharing) shared=$(ksm_get pages_shared) ksmd_ticks=$(($(ksm_ksmd_ticks) - k0))"
		m=$(ksm_lever_sum merging) r=$(ksm_lever_sum rmap) q=$(ksm_lever_sum made)
		echo "lever case=$c run=$run $t smart_scan=$(ksm_get smart_scan) mask=${m% *} mother=${m#* } rmap=$((${r% *} + ${r#* })) hz=$(getconf CLK_TCK) made=$((${q% *} + ${q#* }))" >>"$res"
		say "ksm lever ($c, run $run): $(tail -n1 "$res")"
		echo 2 >"$ksm_sys/run"
	fi
	for ((i = 1; i <= lever_vms; i++)); do
		q=$(ksm_qpid "g$i")
		[ -n "$q" ] && kill "$q" 2>/dev/null
	done
	for ((i = 1; i <= lever_vms; i++)); do
		eval "wait \$ksm_tpid_g$i"
		eval "kill \$ksm_cat_g$i" 2>/dev/null
		eval "wait \$ksm_cat_g$i" 2>/dev/null
	done
	[ -z "$bad" ]
}

# ksm_lever_load RES: the lever series' lines by case and run, bash only
# (no process per line): KL["m 1"] the line at the end of the window,
# KS["m 1"] its samples, one per line (the caller's arrays)
ksm_lever_load() {
	local line re='^(lever|lsample) case=([a-z]) run=([0-9]+) '
	while read -r line; do
		[[ "$line" =~ $re ]] || continue
		if [ "${BASH_REMATCH[1]}" = lever ]; then
			KL["${BASH_REMATCH[2]} ${BASH_REMATCH[3]}"]=$line
		else
			KS["${BASH_REMATCH[2]} ${BASH_REMATCH[3]}"]+="$line"$'\n'
		fi
	done <"$1"
}

# ksm_lever_of VAR CASE KEY: into VAR KEY of the lever line of each run of
# CASE, comma-separated (bench_list)
ksm_lever_of() { bench_list "$1" KL "$2 " "$lever_runs" "$3"; }

# ksm_lever_t90 VAR CASE RUN: into VAR "T SCANNED SHARING KSMD_TICKS" of
# the first sample of the run with pages_sharing >= 90 % of what blind
# (m) had at the end of the same run; "- - - -" when none reached it
ksm_lever_t90() {
	local -n klt_out=$1
	local end line re='^lsample .* t=([^ ]+) full_scans=([0-9]+) pages_scanned=(-?[0-9]+) sharing=([0-9]+) rmap=([0-9]+) ksmd_ticks=([0-9]+)'
	klt_out="- - - -"
	[[ "${KL["m $3"]:-}" =~ \ sharing=([0-9]+) ]] || return 0
	end=${BASH_REMATCH[1]}
	[ "$end" -gt 0 ] || return 0
	while read -r line; do
		[[ "$line" =~ $re ]] || continue
		if ((BASH_REMATCH[4] * 10 >= end * 9)); then
			# 6.1: no pages_scanned (-1), full scans x rmap items
			if [ "${BASH_REMATCH[3]}" = -1 ]; then
				klt_out="${BASH_REMATCH[1]} $((BASH_REMATCH[2] * BASH_REMATCH[5]))"
			else
				klt_out="${BASH_REMATCH[1]} ${BASH_REMATCH[3]}"
			fi
			klt_out+=" ${BASH_REMATCH[4]} ${BASH_REMATCH[6]}"
			return 0
		fi
	done <<<"${KS["$2 $3"]:-}"
}

# The lever table: per case the medians of the runs (n min..max) at the
# end of the window and at t90, every ratio run by run; the floors. The
# runs' numbers collected in bash, the statistics in two pvx_bench_stat
# batches (bench_batch).
ksm_lever_table() {
	local c r x fs ps rm hz sc t9 sc9 sh9 k9 hzl t sh kt est="" i=0 a b
	local -a req ans
	local -A KL KS SH SC NEVER SPM KSMD SPM90 KSMD90 T90
	[ -x "$PVX_SELFTESTS/pvx_bench_stat" ] || { say "ksm lever table: no $PVX_SELFTESTS/pvx_bench_stat"; return; }
	ksm_lever_load "$1"
	# stage 1: per run, pages scanned, t90's sample; the runs' own
	# scanned per merged page and ksmd seconds, at the end and at t90
	for c in m n s; do
		ksm_lever_of a "$c" sharing
		[[ "$a" =~ [0-9] ]] || continue
		SH[$c]=$a
		ksm_lever_of fs "$c" full_scans
		ksm_lever_of ps "$c" pages_scanned
		ksm_lever_of rm "$c" rmap
		ksm_lever_of hz "$c" hz
		IFS=, read -r -a fs <<<"$fs"
		IFS=, read -r -a ps <<<"$ps"
		IFS=, read -r -a rm <<<"$rm"
		IFS=, read -r -a hz <<<"$hz"
		sc="" t9="" sc9="" sh9="" k9="" hzl="" NEVER[$c]=0
		for ((r = 1; r <= lever_runs; r++)); do
			x=-
			[ "${ps[r - 1]:--}" = -1 ] && est="~"
			if [ "${fs[r - 1]:--}" != - ]; then
				x=${ps[r - 1]}
				[ "$x" = -1 ] && x=$((fs[r - 1] * rm[r - 1]))
			fi
			sc+="${sc:+,}$x"
			hzl+="${hzl:+,}${hz[r - 1]:-100}"
			ksm_lever_t90 x "$c" "$r"
			[ "$x" = "- - - -" ] && NEVER[$c]=$((NEVER[$c] + 1))
			read -r t a sh kt <<<"$x"
			t9+="${t9:+,}$t" sc9+="${sc9:+,}$a" sh9+="${sh9:+,}$sh" k9+="${k9:+,}$kt"
		done
		SC[$c]=$sc T90[$c]=$t9
		ksm_lever_of a "$c" ksmd_ticks
		req+=("-l pratio $sc ${SH[$c]}" "-l pratio $a $hzl" "-l pratio $sc9 $sh9" "-l pratio $k9 $hzl")
	done
	bench_batch ans "${req[@]}"
	for c in m n s; do
		[ -n "${SH[$c]:-}" ] || continue
		SPM[$c]=${ans[i]} KSMD[$c]=${ans[i + 1]} SPM90[$c]=${ans[i + 2]} KSMD90[$c]=${ans[i + 3]}
		i=$((i + 4))
	done
	# stage 2: 11 cells per case, then the floors and ratios
	req=()
	for c in m n s; do
		[ -n "${SH[$c]:-}" ] || continue
		req+=("-f %.0f stat ${SH[$c]}" "-f %.0f stat ${SC[$c]}" "-f %.1f stat ${SPM[$c]}"
			"-f %.1f stat ${KSMD[$c]}")
		for x in mask mother full_scans made; do
			ksm_lever_of a "$c" "$x"
			req+=("-f %.0f stat $a")
		done
		req+=("-f %.1f stat ${T90[$c]}" "-f %.2f stat ${SPM90[$c]}" "-f %.1f stat ${KSMD90[$c]}")
	done
	a=${SH[m]:--} b=${SH[n]:--}
	req+=("floor ge 0.95 $b $a" "floor le 1.05 $b $a"
		"-f %.2f floor ge 2 ${SPM90[m]:--} ${SPM90[n]:--}"
		"-f %.2f pratio ${KSMD90[n]:--} ${KSMD90[m]:--}" "-f %.2f pratio ${KSMD[n]:--} ${KSMD[m]:--}"
		"pratio ${SH[s]:--} $a" "-f %.2f pratio ${SPM90[m]:--} ${SPM90[s]:--}"
		"-f %.2f pratio ${KSMD90[s]:--} ${KSMD90[m]:--}" "pratio $b ${SH[s]:--}"
		"-f %.2f pratio ${SPM90[s]:--} ${SPM90[n]:--}")
	bench_batch ans "${req[@]}"

	say "---- KSM lever series, kernel $PVX_ABI: $lever_vms guests of $lever_mem MiB, $lever_ask ask" \
		"(nokaslr, pvx_ksm_guest), $((lever_vms - lever_ask)) do not (KASLR)"
	say "m: blind, every VM mergeable; n: pvx, mem-merge=off + merge_on_candidates=1; s: blind + smart_scan=1"
	say "medians of the runs (n min..max), ratios run by run; scanned: pages_scanned (6.12)," \
		"~ = full_scans x rmap items (6.1)"
	i=0
	for c in m n s; do
		if [ -z "${SH[$c]:-}" ]; then
			say "$c  (no run)"
			continue
		fi
		say "$c  at the end: sharing ${ans[i]}  scanned $est${ans[i + 1]}  scan/merged ${ans[i + 2]}" \
			" ksmd s ${ans[i + 3]}  merged: asking VMs ${ans[i + 4]}, others ${ans[i + 5]}" \
			" full scans ${ans[i + 6]}  VMAs made mergeable ${ans[i + 7]}"
		if [ "${NEVER[$c]}" -lt "$lever_runs" ]; then
			say "$c  at t90 (reached in $((lever_runs - NEVER[$c])) of $lever_runs runs): t90 s ${ans[i + 8]}" \
				" scan/merged $est${ans[i + 9]}  ksmd s ${ans[i + 10]}"
		else
			say "$c  at t90: never reached ($lever_runs runs)"
		fi
		i=$((i + 11))
	done
	say "t90: the first sample with pages_sharing >= 90 % of what (m) had at the end of the same run"
	if [ -z "${SH[m]:-}" ] || [ -z "${SH[n]:-}" ]; then
		say "floors (lever): not evaluated, results missing"
		return
	fi
	say "floor lever sharing (n) within 5% of blind (m), >= 0.95x: ${ans[i]}"
	say "floor lever sharing (n) within 5% of blind (m), <= 1.05x: ${ans[i + 1]}"
	# pages scanned per merged page to t90: over a fixed window ksmd
	# scans at its set rate whatever it finds, so the end of the window
	# says little; what the lever saves is the scanning to get there
	if [ "${NEVER[n]}" = "$lever_runs" ]; then
		say "floor lever scanned per merged page to t90 (n) >= 2x fewer than blind (m):" \
			"MISSED (n never reached t90 in $lever_runs runs)"
	else
		say "floor lever scanned per merged page to t90 (n) >= 2x fewer than blind (m): ${ans[i + 2]}"
	fi
	say "ksmd CPU time to t90 (n) / blind (m): ${ans[i + 3]}; whole window ${ans[i + 4]} (reported, no floor)"
	[ -n "${SH[s]:-}" ] || return 0
	say "stock lever smart_scan (s) against blind (m): sharing ${ans[i + 5]}," \
		"scanned per merged to t90 ${ans[i + 6]} fewer, ksmd to t90 ${ans[i + 7]};" \
		"pvx (n) against (s): sharing ${ans[i + 8]}, scanned per merged to t90 ${ans[i + 9]} fewer"
}

# ksm_lever RES: the series' runs, by turns, and its table
# shellcheck disable=SC2034
ksm_lever() {
	local res=$1 run c cases=mn mem0=$ksm_mem priv0=$ksm_private_mb
	lever_vms=${PVX_BENCH_KSM_LEVER_VMS:-4} lever_ask=${PVX_BENCH_KSM_LEVER_ASK:-2}
	lever_mem=${PVX_BENCH_KSM_LEVER_MEM:-256} lever_secs=${PVX_BENCH_KSM_LEVER_SECS:-120}
	lever_runs=${PVX_BENCH_KSM_LEVER_RUNS:-1}
	ksm_mem=$lever_mem ksm_private_mb=${PVX_BENCH_KSM_LEVER_PRIVATE_MB:-128}
	[ -w "$ksm_sys/smart_scan" ] && cases=mns
	for ((run = 1; run <= lever_runs; run++)); do
		for c in $(echo "$cases" | fold -w1); do
			ksm_lever_run "$c" "$run" "$res"
		done
	done
	echo 0 >/sys/module/pvx_ksm/parameters/merge_on_candidates
	ksm_mem=$mem0 ksm_private_mb=$priv0
	ksm_lever_table "$res" | tee "$PVX_OUT/bench-ksm-lever-table.txt"
	if grep -q '^# floor lever scanned' "$PVX_OUT/bench-ksm-lever-table.txt"; then
		ok "ksm lever: the table was made"
	else
		not_ok "ksm lever: the table was made # $(head -c 200 "$PVX_OUT/bench-ksm-lever-table.txt")"
	fi
}

# shellcheck disable=SC2154
ksm_bench() {
	local res=$PVX_OUT/bench-ksm-results.txt err
	# The defaults are guests that use their memory (512 MiB each, 352
	# MiB of it their own data): where the floors of issue 11 are
	# measured (ksm.rst, "A guest whose own data is most of its memory")
	ksm_mem=${PVX_BENCH_KSM_MEM:-512} ksm_secs=${PVX_BENCH_KSM_SECS:-60}
	ksm_private_mb=${PVX_BENCH_KSM_PRIVATE_MB:-352} ksm_cases=${PVX_BENCH_KSM_CASES:-abl}
	ksm_pages=${PVX_BENCH_KSM_PAGES:-1024} ksm_rounds=${PVX_BENCH_KSM_ROUNDS:-5}
	ksm_scans=${PVX_BENCH_KSM_SCANS:-4}
	[ -f "$initrd" ] || { not_ok "ksm bench: initramfs # no $initrd"; return; }
	[ -f "$kernel" ] || { not_ok "ksm bench: L3 kernel # no $kernel"; return; }
	[ -d "$ksm_sys" ] || { not_ok "ksm bench: KSM in L2 # no $ksm_sys"; return; }
	if grep -q '^pvx_ksm ' /proc/modules || err=$(insmod "$PVX_BUILD/host/pvx_ksm.ko" 2>&1); then
		ok "ksm bench: pvx_ksm loaded"
	else
		not_ok "ksm bench: pvx_ksm loaded # $err"
		return
	fi
	: >"$res"
	case "$ksm_cases" in *a*) ksm_case a 0 "$res" ;; esac
	case "$ksm_cases" in *b*) ksm_case b 1 "$res" ;; esac
	case "$ksm_cases" in *c*) ksm_case c 2 "$res" ;; esac
	case "$ksm_cases" in *l*) ksm_lever "$PVX_OUT/bench-ksm-lever-results.txt" ;; esac
	[[ "$ksm_cases" == *[abc]* ]] || return 0
	if grep -q '^ksmw case=[bc] role=attacker .*set=P' "$res" && grep -q '^ksmw case=a role=attacker .*set=P' "$res"; then
		ok "ksm bench: write latencies of both cases"
	else
		not_ok "ksm bench: write latencies of both cases (a and b or c)"
	fi
	ksm_bench_table "$res" | tee "$PVX_OUT/bench-ksm-table.txt"
	# an awk error leaves the table empty, and the run would say nothing
	if grep -q '^# floor never-merge' "$PVX_OUT/bench-ksm-table.txt"; then
		ok "ksm bench: the table was made"
	else
		not_ok "ksm bench: the table was made # $(head -c 200 "$PVX_OUT/bench-ksm-table.txt")"
	fi
	say "---- raw result lines (ksm; samples every 10th)"
	awk '!/^sample / || (++n % 10 == 1)' "$res" | sed 's/^/#   /'
}
