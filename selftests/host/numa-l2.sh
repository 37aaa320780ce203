#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NUMA suite of the host modules, run INSIDE an L2 KVM host with two NUMA
# nodes (lab.sh boots L2 'numa' for it: one CPU and half the memory per
# node). One TAP 13 stream on stdout; exit 0 pass, 1 fail, 4 all skipped.
#
#   absent     pvx_host loaded, pvx_numa not: PVX_HC_NUMA_HINT -ENOSYS
#   abi        every bad-input class, the RBX of good hints (-1 for
#              never-backed memory), rate limit, parameters, counters
#   placement  home nodes, observe/act, hysteresis, the administrator's
#              CPUs, restore on mode change, VM end and rmmod; the VMM's
#              own sched_setaffinity(), a cgroup v2 cpuset narrowed after
#              pvx's move, a second thread taking over the vCPU
#   advise     pvxtop --advise over a vCPU that flaps between the nodes
#              (pvx_numa_host_test flap): hysteresis_pct 0 must be advised
#              up, with the moves debugfs counted; at the value advised
#              it must say no change; with no hint, too few events;
#              and its room advice: none over flap, "no_room" with the
#              VM's full count over pvx_numa_host_test room (a vCPU left
#              in place at every hint), and the table's NFULL column
#   dmesg      no BUG/WARNING/Oops during the run
#
# Environment (scripts/lab.sh): PVX_BUILD, PVX_SELFTESTS, PVX_OUT.
set -u
BIN=$PVX_SELFTESTS/pvx_numa_host_test
PVXTOP=${PVXTOP:-${PVX_REPO:-$(pwd)}/build/pvxtop/pvxtop}
PARAM=/sys/module/pvx_numa/parameters
HKO=$PVX_BUILD/host/pvx_host.ko
NKO=$PVX_BUILD/host/pvx_numa.ko
LOG=$PVX_OUT/numa
mkdir -p "$LOG"
n=0 fail=0 pass=0 skipped=0

emit() {	# emit ok|not ok DESC
	n=$((n + 1))
	echo "$1 $n $2"
	case "$1 $2" in
	*"# SKIP"*) skipped=$((skipped + 1)) ;;
	"ok "*) pass=$((pass + 1)) ;;
	*) fail=$((fail + 1)) ;;
	esac
}

# run STAGE ARGS...: the program's TAP renumbered into this stream
run() {
	local stage=$1 out=$LOG/$1.tap line rc got=0
	shift
	timeout -k 5 600 "$BIN" "$stage" "$@" >"$out" 2>"$out.err"
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"1..0 # SKIP"*) emit ok "numa $stage # SKIP ${line#1..0 # SKIP }"; got=1 ;;
		"ok "*) emit ok "numa ${line#ok [0-9]* }"; got=1 ;;
		"not ok "*) emit "not ok" "numa ${line#not ok [0-9]* }"; got=1 ;;
		"#"*) echo "$line" ;;
		esac
	done <"$out"
	[ -s "$out.err" ] && sed 's/^/# stderr: /' "$out.err"
	case $rc in
	0|1|4) [ $got = 1 ] || emit "not ok" "numa $stage: no results (exit $rc)" ;;
	*) emit "not ok" "numa $stage: exit $rc" ;;
	esac
}

# --- pvxtop --advise: the hysteresis_pct rule (Documentation/tuning.rst) ---

# jnum FILE KEY [KNOB]: the number after "KEY": on the advice line of KNOB
# (hysteresis_pct unless said)
jnum() {
	grep "\"knob\":\"${3:-hysteresis_pct}\"" "$1" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" | head -n1
}
# jstr FILE KEY [KNOB]: the string after "KEY": on that line
jstr() {
	grep "\"knob\":\"${3:-hysteresis_pct}\"" "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" | head -n1
}
# wait_start FILE: pvxtop's start line within 60 s
wait_start() {
	local _
	for _ in $(seq 1 60); do
		grep -q '"type":"start"' "$1" && return 0
		sleep 1
	done
	return 1
}
# advise_load TAG LOAD MS: pvxtop --advise (JSON and text) and pvxtop's
# table over pvx_numa_host_test LOAD MS; results in $LOG/advise-TAG.*,
# $LOG/top-TAG.txt and $LOG/LOAD-TAG.tap
advise_load() {
	local tag=$1 load=$2 ms=$3 j=$LOG/advise-$1.json t=$LOG/advise-$1.txt tb=$LOG/top-$1.txt jp tp bp rc
	"$PVXTOP" --advise --json -d 600 >"$j" 2>"$j.err" &
	jp=$!
	"$PVXTOP" --advise -d 600 >"$t" 2>"$t.err" &
	tp=$!
	if ! wait_start "$j"; then
		emit "not ok" "numa advise: pvxtop --advise --json started # $(head -n1 "$j.err")"
		kill "$jp" "$tp" 2>/dev/null
		wait "$jp" "$tp"
		return 1
	fi
	sleep 2	# the text run has no start line: give it the time the JSON one took
	"$PVXTOP" -d 3 >"$tb" 2>&1 &
	bp=$!
	timeout -k 5 120 "$BIN" "$load" "$ms" >"$LOG/$load-$tag.tap" 2>&1
	wait "$bp"
	kill -INT "$jp" "$tp"
	wait "$jp"
	rc=$?
	wait "$tp"
	grep -E '^(ok|not ok|#)' "$LOG/$load-$tag.tap" | sed "s/^/# $load: /"
	[ "$rc" = 0 ] || { emit "not ok" "numa advise: pvxtop --advise --json exit $rc # $(head -n1 "$j.err")"; return 1; }
	emit ok "numa advise: pvxtop --advise --json over $load ($tag): exit 0 after SIGINT"
	sed 's/^/# /' "$t"
	sed 's/^/# /' "$tb"
	grep '"type":"advice"' "$j" | sed 's/^/# /'
	return 0
}
# advise_flap H: hysteresis_pct H, then advise_load over flap 3000
advise_flap() {
	echo "$1" >"$PARAM/hysteresis_pct"
	advise_load "$1" flap 3000
}
# flap_num H KEY: hints or moves from flap's "# flap: hints N moves M"
flap_num() { sed -n "s/^# flap: hints \([0-9]*\) moves \([0-9]*\)$/\1 \2/p" "$LOG/flap-$1.tap" |
	awk -v k="$2" '{ print (k == "hints" ? $1 : $2) }'; }
advise_test() {
	local j=$LOG/advise-0.json cur sug h m fh fm v rc
	if [ ! -x "$PVXTOP" ]; then
		emit ok "numa advise # SKIP no $PVXTOP (lab.sh builds it)"
		return
	fi
	"$PVXTOP" --advise --json -d 2 >"$LOG/advise-idle.json" 2>"$LOG/advise-idle.err"
	rc=$?
	v=$(jstr "$LOG/advise-idle.json" verdict)
	if [ "$rc" = 0 ] && [ "$v" = too_few ]; then
		emit ok "numa advise: no hint in 2 s: too few events to judge ($(jnum "$LOG/advise-idle.json" hints) hints)"
	else
		emit "not ok" "numa advise: no hint in 2 s: too few events # exit $rc, verdict '$v' $(head -c 200 "$LOG/advise-idle.err")"
	fi
	v=$(jstr "$LOG/advise-idle.json" verdict mode)
	if [ "$v" = too_few ]; then
		emit ok "numa advise: no hint in 2 s: the room advice has too few events too"
	else
		emit "not ok" "numa advise: no hint in 2 s: room advice too few # verdict '$v'"
	fi
	advise_flap 0 || return
	v=$(jstr "$j" verdict mode)
	if [ "$v" = none ] && [ "$(jnum "$j" full mode)" = 0 ]; then
		emit ok "numa advise: a vCPU that moves at every hint was never left in place: no room advice"
	else
		emit "not ok" "numa advise: flap: no room advice # verdict '$v', full '$(jnum "$j" full mode)'"
	fi
	h=$(jnum "$j" hints) m=$(jnum "$j" moves) fh=$(flap_num 0 hints) fm=$(flap_num 0 moves)
	cur=$(jstr "$j" current) v=$(jstr "$j" verdict) sug=$(jnum "$j" suggested)
	if [ "$v" = change ] && [ "$(jstr "$j" direction)" = raise ] && [ "$cur" = 0 ] && [ "$sug" = 25 ]; then
		emit ok "numa advise: hysteresis_pct 0 with a flapping vCPU: raise to $sug"
	else
		emit "not ok" "numa advise: hysteresis_pct 0 with a flapping vCPU: raise to 25 # current '$cur' verdict '$v' suggested '$sug'"
	fi
	if [ -n "$fm" ] && [ "$m" = "$fm" ] && [ "$h" = "$fh" ] && [ "$fm" -ge 3 ]; then
		emit ok "numa advise: its numbers are the VM's: $h hints = flap's $fh, $m moves = debugfs $fm"
	else
		emit "not ok" "numa advise: its numbers are the VM's # pvxtop $h hints $m moves, flap $fh hints, debugfs $fm moves"
	fi
	[ -n "$sug" ] || sug=25
	advise_flap "$sug" || return
	j=$LOG/advise-$sug.json
	h=$(jnum "$j" hints) m=$(jnum "$j" moves) fh=$(flap_num "$sug" hints) fm=$(flap_num "$sug" moves)
	v=$(jstr "$j" verdict)
	if [ "$v" = none ] && [ "$m" = "$fm" ] && [ "$h" = "$fh" ] && [ -n "$fm" ] && [ "$fm" -le 1 ]; then
		emit ok "numa advise: at the advised $sug: no change advised, $m move (the first placement) in $h hints"
	else
		emit "not ok" "numa advise: at the advised $sug: no change # verdict '$v', pvxtop $h hints $m moves, flap $fh hints, debugfs $fm moves"
	fi
	echo 25 >"$PARAM/hysteresis_pct"
}

# --- pvxtop --advise and the table: vCPUs left in place for lack of room ---
room_test() {
	local j=$LOG/advise-full.json t=$LOG/advise-full.txt tb=$LOG/top-full.txt f h v col
	[ -x "$PVXTOP" ] || return	# advise_test said so
	advise_load full room 3000 || return
	read -r h f < <(sed -n 's/^# room: hints \([0-9]*\) full \([0-9]*\)$/\1 \2/p' "$LOG/room-full.tap")
	v=$(jstr "$j" verdict mode)
	if [ "$v" = no_room ] && [ -n "$f" ] && [ "$f" -ge 1 ] && [ "$(jnum "$j" full mode)" = "$f" ] &&
		[ "$(jnum "$j" vcpus_full mode)" = 1 ] && [ "$(jnum "$j" max_vcpu_full mode)" = "$f" ]; then
		emit ok "numa advise: room: one vCPU left in place $f times (debugfs), pvxtop --advise --json says no_room with those numbers"
	else
		emit "not ok" "numa advise: room: no_room with the VM's numbers # verdict '$v', pvxtop full '$(jnum "$j" full mode)' vcpus '$(jnum "$j" vcpus_full mode)', room hints '$h' full '$f'"
	fi
	if grep -q '^advice: pvx_numa mode [a-z]*: vCPUs left in place for lack of room: 1 vCPU(s) .*give the VM.s vCPU threads more CPUs of that node' "$t"; then
		emit ok "numa advise: room: the text advice says a vCPU was left in place and what the administrator can do"
	else
		emit "not ok" "numa advise: room: text advice # $(grep 'pvx_numa mode' "$t" | head -c 300)"
	fi
	col=$(awk '$1 == "PID" { for (i = 1; i <= NF; i++) if ($i == "NFULL") { print i; exit } }' "$tb")
	if [ -n "$col" ] && awk -v n="$col" '$2 == "pvx_numa_host_t" && $4 == "all" && $n + 0 > 0 { f = 1 } END { exit !f }' "$tb"; then
		emit ok "numa advise: room: pvxtop's table shows the VM's NFULL above 0 (column $col)"
	else
		emit "not ok" "numa advise: room: pvxtop's table NFULL # column '$col'"
	fi
}

echo "TAP version 13"
echo "# numa suite: kernel $(uname -r), nodes: $(ls -d /sys/devices/system/node/node* 2>/dev/null | wc -l)"
for nd in /sys/devices/system/node/node*; do
	echo "# $(basename "$nd"): CPUs $(cat "$nd/cpulist"), $(awk '/MemTotal/ { print $4 " kB" }' "$nd/meminfo")"
done
if [ ! -c /dev/kvm ]; then
	echo "1..0 # SKIP no /dev/kvm"
	exit 4
fi
mark=$(dmesg | wc -l)
grep -q '^pvx_numa ' /proc/modules && rmmod pvx_numa
if grep -q '^pvx_host ' /proc/modules || insmod "$HKO"; then
	emit ok "numa: pvx_host loaded"
else
	emit "not ok" "numa: insmod $HKO"
fi
run absent
if insmod "$NKO" 2>"$LOG/insmod.err"; then
	emit ok "numa: insmod pvx_numa.ko"
	dmesg | grep 'pvx_numa: ' | tail -n 1 | sed 's/^/# dmesg: /'
else
	emit "not ok" "numa: insmod pvx_numa.ko: $(head -n1 "$LOG/insmod.err")"
fi
run abi
run placement "$NKO"
advise_test
room_test
if rmmod pvx_numa 2>"$LOG/rmmod.err"; then
	emit ok "numa: rmmod pvx_numa"
else
	emit "not ok" "numa: rmmod pvx_numa: $(head -n1 "$LOG/rmmod.err")"
fi
bad=$(dmesg | tail -n +"$((mark + 1))" | grep -E 'BUG|WARNING|Oops|Call Trace|general protection' | head -n 5)
if [ -z "$bad" ]; then
	emit ok "numa: no BUG/WARNING/Oops in dmesg"
else
	echo "$bad" | sed 's/^/# dmesg: /'
	emit "not ok" "numa: dmesg has BUG/WARNING/Oops lines"
fi
echo "1..$n"
[ "$fail" -gt 0 ] && exit 1
[ "$pass" -eq 0 ] && exit 4
exit 0
