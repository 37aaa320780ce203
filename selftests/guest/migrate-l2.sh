#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# migrate-l2.sh CTL_DIR QEMU ARGS...: run an L3 guest in QEMU (QEMU ARGS...,
# as run-l3.sh --migrate builds them) and live-migrate it to a second QEMU
# process on this L2 and back, PVX_MIGRATIONS times, then let it finish.
# run-l3.sh starts it in place of QEMU: its stdout is the L3 console
# (every QEMU of the run writes to it), its exit status the last QEMU's.
# Runs inside the L2 KVM host (chroot into L1's root).
#
# Each QEMU gets a QMP monitor on two FIFOs (CTL_DIR/mig/qmpK.in, .out,
# read and written by bash builtins); QEMU K > 0 starts with
# -incoming unix:CTL_DIR/mig/migK.sock, QEMU K-1 is told to "migrate"
# there, query-migrate is polled until it completes, QEMU K-1 quits. The
# guest's control port (its second serial port, the FIFOs CTL_DIR/ctl.in
# and ctl.out, which every QEMU of the run opens) carries
# pvx_migrate_guest's lines: "mig ready" once the host writes its pages,
# then for each landing L2's "landed K" and its "mig checked K pages P
# mismatches M ...", at the end L2's "done". L2 writes to the port only
# while one QEMU runs.
#
# Results as TAP lines without numbers ("ok DESC", "not ok DESC",
# "# diag") in PVX_MIGRATE_TAP, which run-l3.sh adds to the boot's TAP.
# Never writes to stdout (the console).
#
# Before each migration L2 says "migrating K"; "landed K" names what the
# guest landed on (pvx_migrate_guest checks that it follows): nothing more
# for a pvx host, "none" for L2 without pvx_host, "off" for pvx disabled
# for this VM. After a landing on a pvx host, L2's pvx_numa must have a
# home for a vCPU of the guest from the map the guest resent by itself.
#
# Environment: PVX_MIGRATE_TAP (required), PVX_MIGRATE_DIRTY (bitmap or
# ring: how every QEMU tracks dirty pages, KVM's dirty bitmap or its dirty
# ring (this script turns QEMU ARGS' -enable-kvm into -accel
# kvm,dirty-ring-size=4096); mixed: QEMU K uses the ring for an odd K,
# the bitmap for an even one, so that migration 1 is logged with the
# bitmap and migration 2 with the ring (the source logs); checked before
# each migration on the source; unload: the bitmap, and L2
# removes pvx_fork_copy before the last migration, so that the guest
# lands on a host without it: it must copy its pages itself from then on,
# none lost; loaded again at the end; nohost: the bitmap, and the guest
# lands on none, pvx, off, pvx: for none QEMU K starts paused (-S), and
# once QEMU K-1 quit L2 removes pvx_host and its feature modules before
# QEMU K runs (pvx_host can go while VMs exist, but then the source would
# lose pvx before the migration); pvx_host comes back before QEMU K+1
# starts, with the running VM kept off by its pid_policy (it is adopted
# at its next pvx call); for off, QEMU K's vms/.../enabled is 0 before the
# migration), PVX_MIGRATIONS (default 4, 2 for unload, 4 for nohost),
# PVX_MIGRATE_READY_S (default 600: the longest wait for "mig ready"),
# PVX_MIGRATE_S (default 300: the longest one migration may take).
set -u

dir=$1
shift
qemu=("$@")
tap=${PVX_MIGRATE_TAP:?}
dirty=${PVX_MIGRATE_DIRTY:-bitmap}
# four migrations; two for unload (one onto L2 with pvx_fork_copy, one without)
count=${PVX_MIGRATIONS:-$([ "$dirty" = unload ] && echo 2 || echo 4)}
ready_s=${PVX_MIGRATE_READY_S:-600}
mig_s=${PVX_MIGRATE_S:-300}
work=$dir/mig
fc_file=/sys/kernel/debug/pvx/fork_copy
# what each landing K is on (kinds[K]); 0 is the boot
kinds=(pvx)
for ((k = 1; k <= count; k++)); do kinds[k]=pvx; done
[ "$dirty" = nohost ] && kinds=(pvx none pvx off pvx)
: >"$tap"
# the console is for the QEMUs: nothing of this script goes there
exec {console}>&1 >/dev/null

res() { echo "$*" >>"$tap"; }
diag() { echo "# $*" >>"$tap"; }
uptime_s() { local u _; read -r u _ </proc/uptime; echo "$u"; }

rm -rf "$work"
mkdir -p "$work" || { res "not ok migrate: cannot make $work"; exit 1; }
declare -a pids qin qout
cur=""		# the QEMU that runs the guest now
start_err=""	# why start failed

# fc_restore: pvx_fork_copy loaded again in L2 if the unload boot removed
# it, at the end and when this script is stopped (run-l3.sh stops it at
# an L3 reset and boots again, and the retried unload boot must start on
# an L2 with the module)
fc_restore() {
	local err
	if [ "$dirty" = unload ] && ! grep -q '^pvx_fork_copy ' /proc/modules; then
		err=$(insmod "${PVX_BUILD:-}/host/pvx_fork_copy.ko" 2>&1) ||
			diag "migrate unload: cannot load pvx_fork_copy again: $err"
	fi
}

host_mods="pvx_ksm pvx_numa pvx_fork_copy pvx_yield pvx_host"
# host_unload: pvx_host and its feature modules out of L2; why not on
# stdout. A few tries each: run-l3.sh reading pvx's debugfs counters at
# that moment holds the module (EBUSY).
host_unload() {
	local m i
	for m in $host_mods; do
		for i in 1 2 3 4 5; do
			grep -q "^$m " /proc/modules || continue 2
			rmmod "$m" 2>/dev/null && continue 2
			nap 0.5
		done
		rmmod "$m" 2>&1 || return 1
	done
}

# host_load [PID]: pvx_host and its feature modules as run-l3.sh loads
# them; the VMs of QEMU PID (which has one already) stay without pvx
host_load() {
	local m
	grep -q '^pvx_host ' /proc/modules && return 0
	insmod "${PVX_BUILD:-}/host/pvx_host.ko" new_vms=none 2>&1 || return 1
	[ -z "${1:-}" ] || echo "$1 off" >/sys/module/pvx_host/parameters/pid_policy || return 1
	echo all >/sys/module/pvx_host/parameters/new_vms || return 1
	for m in pvx_yield pvx_fork_copy pvx_numa pvx_ksm; do
		[ -f "${PVX_BUILD:-}/host/$m.ko" ] || continue
		insmod "${PVX_BUILD:-}/host/$m.ko" 2>&1 || return 1
	done
	echo 60000 >/sys/module/pvx_numa/parameters/hint_interval_ms
}

cleanup() {
	local p
	for p in "${pids[@]}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	fc_restore
	[ "$dirty" = nohost ] && host_load >/dev/null
	exit 1
}
trap cleanup TERM INT

# a sleep without a process: wait on a FIFO nobody writes
mkfifo "$work/nap" && exec {nap_fd}<>"$work/nap"
nap() { read -r -t "$1" -u "$nap_fd" _ 2>/dev/null || true; }

# The host's pages copied by pvx_fork_copy (all VMs, since it loaded).
fc_pages() {
	fc=$(awk '$1 == "pages" { print $2 }' "$fc_file" 2>/dev/null)
	fc=${fc:-0}
}

# qmp K JSON [S]: send a command to QEMU K; its reply line in $reply
# (events before it are skipped); 1 when none came within S s (60) or
# QEMU K is gone (the FIFOs are open read-write here: no end of file
# tells that, so it is looked at every 5 s)
qmp() {
	local k=$1 line end=$((SECONDS + ${3:-60}))
	reply=""
	echo "$2" >&"${qin[$k]}" || return 1
	while [ "$SECONDS" -lt "$end" ]; do
		if IFS= read -r -t 5 -u "${qout[$k]}" line; then
			case "$line" in
			*'"return"'* | *'"error"'*) reply=$line; return 0 ;;
			esac
		elif ! kill -0 "${pids[$k]}" 2>/dev/null; then
			return 1
		fi
	done
	return 1
}

# track K: how QEMU K tracks dirty pages, bitmap or ring
track() {
	case "$dirty" in
	ring) echo ring ;;
	mixed) [ $(($1 % 2)) = 1 ] && echo ring || echo bitmap ;;
	*) echo bitmap ;;
	esac
}

# start K [paused]: QEMU K with its QMP FIFOs, in the background, and
# QMP's capabilities negotiated; its -D log is ARG.K for K > 0; K > 0
# waits for the incoming migration, and with "paused" stays paused after
start() {
	local k=$1 a=() i line how
	how=$(track "$k")
	for ((i = 0; i < ${#qemu[@]}; i++)); do
		if [ "${qemu[i]}" = -enable-kvm ] && [ "$how" = ring ]; then
			a+=(-accel "kvm,dirty-ring-size=4096")
			continue
		fi
		a+=("${qemu[i]}")
		if [ "${qemu[i]}" = -D ] && [ "$k" -gt 0 ] && [ $((i + 1)) -lt ${#qemu[@]} ]; then
			i=$((i + 1))
			a+=("${qemu[i]}.$k")
		fi
	done
	rm -f "$work/qmp$k.in" "$work/qmp$k.out"
	mkfifo "$work/qmp$k.in" "$work/qmp$k.out" || { start_err="cannot make its QMP FIFOs"; return 1; }
	a+=(-qmp "pipe:$work/qmp$k")
	[ "${2:-}" = paused ] && a+=(-S)
	[ "$k" -gt 0 ] && a+=(-incoming "unix:$work/mig$k.sock")
	rm -f "$work/mig$k.sock"
	# stderr also in a file of its own: start_again reads why it died
	"${a[@]}" 1>&"$console" 2> >(tee "$work/qemu$k.err" >&2) &
	pids[k]=$!
	exec {i}<>"$work/qmp$k.in"
	qin[k]=$i
	exec {i}<>"$work/qmp$k.out"
	qout[k]=$i
	# the greeting (QEMU starts slowly under TCG: up to 300 s, while it
	# runs), then capabilities; why not in $start_err
	local end=$((SECONDS + 300)) t0=$SECONDS
	until IFS= read -r -t 5 -u "${qout[$k]}" line; do
		if ! kill -0 "${pids[$k]}" 2>/dev/null; then
			wait "${pids[$k]}"
			start_err="QEMU $k exited with status $? after $((SECONDS - t0)) s, before its QMP greeting (its stderr: the boot's qemu.err)"
			echo "migrate-l2.sh: $start_err" >&2
			return 1
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			start_err="no QMP greeting from QEMU $k within 300 s"
			return 1
		fi
	done
	local greet=$((SECONDS - t0)) t=$((end - SECONDS))
	# its main loop answers once the machine is made, which can take
	# as long under TCG: the rest of the 300 s, at least 60
	[ "$t" -ge 60 ] || t=60
	if ! qmp "$k" '{"execute": "qmp_capabilities"}' "$t"; then
		start_err="QEMU $k greeted on QMP after $greet s but did not answer qmp_capabilities within $t s"
		if ! kill -0 "${pids[$k]}" 2>/dev/null; then
			wait "${pids[$k]}"
			start_err="QEMU $k greeted on QMP after $greet s, then exited with status $? after $((SECONDS - t0)) s: $(tail -n 1 "$work/qemu$k.err")"
		fi
		return 1
	fi
	[ $((SECONDS - t0)) -lt 30 ] ||
		diag "migrate $dirty: QEMU $k took $greet s to greet on QMP, $((SECONDS - t0)) s to answer"
}

# start_again K [paused]: start, and once more (twice at most) when QEMU K
# died of QEMU's own race between its dirty-ring reaper thread and vCPU
# creation (the assertion in kvm_dirty_ring_reap_one: the reaper ran
# over a vCPU whose ring was not mapped yet; TCG's slowness widens the
# window; no pvx code runs in QEMU)
start_again() {
	local try fd
	for try in 1 2 3; do
		start "$@" && return 0
		nap 1	# tee may still be writing its last line
		[ "$try" -lt 3 ] && ! kill -0 "${pids[$1]}" 2>/dev/null &&
			grep -q 'kvm_dirty_ring_reap_one: Assertion' "$work/qemu$1.err" 2>/dev/null || return 1
		diag "migrate $dirty: QEMU $1 died of QEMU's dirty-ring reaper race at vCPU creation ($(grep -m1 'kvm_dirty_ring_reap_one' "$work/qemu$1.err")): started again"
		for fd in "${qin[$1]}" "${qout[$1]}"; do
			exec {fd}>&-
		done
	done
	return 1
}

stop_qemu() {	# stop_qemu K: quit, and its status in $qrc
	local k=$1 fi=${qin[$1]} fo=${qout[$1]}
	qmp "$k" '{"execute": "quit"}' || kill "${pids[$k]}" 2>/dev/null
	wait "${pids[$k]}"
	qrc=$?
	exec {fi}>&- {fo}<&-
	pids[k]=""
}

# The guest's control port: L2 writes ctl.in, reads ctl.out.
exec {ctl_in}<>"$dir/ctl.in" {ctl_out}<>"$dir/ctl.out"

# guest_line PREFIX SECONDS: the next line of the guest that starts with
# PREFIX into $gline; 1 when none came in time
guest_line() {
	local end=$((SECONDS + $2)) line
	gline=""
	while [ "$SECONDS" -lt "$end" ]; do
		if IFS= read -r -t $((end - SECONDS)) -u "$ctl_out" line; then
			line=${line//$'\r'/}
			case "$line" in
			"$1"*) gline=$line; return 0 ;;
			*) diag "migrate $dirty: control port: $line" ;;
			esac
		else
			[ $? -gt 128 ] || return 1	# not a timeout: EOF
		fi
	done
	return 1
}

# field JSON NAME: the number after "NAME": in JSON (the first), or ""
field() {
	[[ $1 =~ \"$2\":\ *\"?([0-9a-z-]+) ]] && echo "${BASH_REMATCH[1]}"
}

# the dirty tracking QEMU uses: with the dirty ring it runs a thread
# named kvm-reaper (QEMU's kvm_dirty_ring_reaper_thread; -name
# ...,debug-threads=on names threads)
reaper() {
	local t
	for t in /proc/"$1"/task/*/comm; do
		[ "$(cat "$t" 2>/dev/null)" = kvm-reaper ] && return 0
	done
	return 1
}

# vcpu_threads: L2's view of QEMU $cur's vCPU threads ("CPU N/KVM"),
# one diag line each: its state, the CPU time it took in 2 s (guest: in
# L3), and the kernel frames it is in (a vCPU held inside L2's KVM, in a
# pvx hypercall say, shows there; one that L2 never runs again shows no
# time; one halted waits in kvm_vcpu_halt)
vcpu_threads() {
	local t f hz i n=0
	local -a task u0 g0
	hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
	for t in /proc/"${pids[$cur]}"/task/*; do
		[[ $(cat "$t/comm" 2>/dev/null) == CPU* ]] || continue
		read -r -a f <<<"$(sed 's/.*) //' "$t/stat" 2>/dev/null)"
		task[n]=$t u0[n]=$((${f[11]:-0} + ${f[12]:-0})) g0[n]=${f[40]:-0}
		n=$((n + 1))
	done
	nap 2
	for ((i = 0; i < n; i++)); do
		t=${task[i]}
		read -r -a f <<<"$(sed 's/.*) //' "$t/stat" 2>/dev/null)"
		diag "migrate $dirty: L2: QEMU $cur's $(cat "$t/comm" 2>/dev/null) (${t##*/}): state ${f[0]:-?}, in 2 s $(((${f[11]:-0} + ${f[12]:-0} - u0[i]) * 100 / hz))% CPU, $(((${f[40]:-0} - g0[i]) * 100 / hz))% in L3; kernel: $(sed 's/^\[<[0-9a-f]*>\] //; s/\/0x[0-9a-f]*$//' "$t/stack" 2>/dev/null | head -n 4 | paste -sd ' ')"
	done
}

# vcpu_rips: where QEMU $cur's vCPUs are, for a guest that stopped
# answering: L2's view of their threads (vcpu_threads), then their RIPs
# and halted flags (QMP's human-monitor-command "info registers -a",
# which waits for every vCPU to leave KVM_RUN; L3 boots nokaslr, so a
# kernel RIP names its function in lab.sh's l2-kallsyms)
vcpu_rips() {
	local rips
	vcpu_threads
	qmp "$cur" '{"execute": "human-monitor-command", "arguments": {"command-line": "info registers -a"}}'
	rips=$(grep -o 'RIP=[0-9a-f]*\|HLT=[01]' <<<"$reply" | paste -sd ' ')
	diag "migrate $dirty: the guest does not answer; QEMU $cur's vCPUs: ${rips:-no registers: QMP did not answer within 60 s}"
}

finish() {	# tell the guest "done", wait for QEMU
	echo "done" >&"$ctl_in"
	if guest_line "mig finished" 120; then
		diag "migrate $dirty: guest: $gline"
	else
		res "not ok migrate $dirty: the guest ends its run when L2 says done # no 'mig finished' within 120 s"
		# a guest that does not answer is not waited for until
		# run-l3.sh's timeout
		vcpu_rips
		kill "${pids[$cur]}" 2>/dev/null
	fi
	wait "${pids[$cur]}"
	qrc=$?
	exit "$qrc"
}

t_start=$(uptime_s)
if ! start_again 0; then
	res "not ok migrate $dirty: QEMU 0 starts with a QMP monitor # $start_err"
	cleanup
fi
cur=0
if ! guest_line "mig ready" "$ready_s"; then
	res "not ok migrate $dirty: the guest's checker says it is ready # nothing within $ready_s s"
	kill "${pids[0]}" 2>/dev/null
	wait "${pids[0]}"
	exit 1
fi
res "ok migrate $dirty: the guest's checker runs: the host has written each of its pages once ($gline)"

# vm_off K: pvx disabled for QEMU K's VM (its directory comes from a work
# item after KVM_CREATE_VM: waited for up to 5 s)
vm_off() {
	local d
	for _ in $(seq 50); do
		for d in /sys/kernel/pvx_host/vms/vm*-"${pids[$1]}"; do
			[ -w "$d/enabled" ] && echo 0 >"$d/enabled" && return 0
		done
		nap 0.1
	done
	return 1
}

# numa_homes: the vCPUs of QEMU $cur's VM that L2's pvx_numa gave a home
# (a hint taken, a home node >= 0) into $homes; 1 without its file
numa_homes() {
	local f line
	homes=0
	for f in /sys/kernel/debug/pvx/vm*-"${pids[$cur]}"/numa; do
		[ -r "$f" ] || return 1
		while read -r line; do
			[[ $line =~ ^vcpu\ [0-9]+\ home\ [0-9]+\ hints\ [1-9] ]] && homes=$((homes + 1))
		done <"$f"
	done
	[ -n "${f:-}" ] && [ -r "$f" ]
}

# numa_homes_wait: numa_homes until it finds a home, for at most 10 s: a
# VM's debugfs directory appears from a work item after its first
# hypercall (host/vm.c), which a loaded L2 may run after the guest has
# already reported its landing (seen once on 6.12: no vm*-PID directory)
numa_homes_wait() {
	local i
	for ((i = 0; i < 100; i++)); do
		numa_homes && [ "$homes" -gt 0 ] && return 0
		nap 0.1
	done
	return 1
}

# gnum NAME: the number after NAME in the guest's $gline (0 if none)
gnum() {
	[[ $gline =~ \ $1\ (-?[0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo 0
}

done_n=0 checked=0 bad=0 srcs="" resent_t=0 homes_t=0 lost_t=0 pinned_t=0 back_ms=""
for ((k = 1; k <= count; k++)); do
	src=$cur
	kind=${kinds[k]}
	how=$(track "$src")
	# the lines of a mixed boot name the source's mode: it logs the pages
	lbl=$dirty
	[ "$dirty" = mixed ] && lbl="mixed $how"
	# while QEMU $src alone has the control port open
	echo "migrating $k" >&"$ctl_in"
	if [ "$kind" = pvx ] && [ "${kinds[k - 1]}" = none ]; then
		if err=$(host_load "${pids[$src]}"); then
			res "ok migrate $lbl $k: pvx_host and its modules loaded again, QEMU $src's VM kept without pvx (pid_policy off)"
		else
			res "not ok migrate $lbl $k: pvx_host and its modules loaded again # $err"
		fi
	fi
	if ! start_again "$k" "$([ "$kind" = none ] && echo paused)"; then
		res "not ok migrate $lbl $k: destination QEMU $k starts with -incoming # $start_err"
		break
	fi
	if [ "$kind" = off ]; then
		if vm_off "$k"; then
			res "ok migrate $lbl $k: pvx disabled for QEMU $k's VM before the migration (vms/.../enabled 0)"
		else
			res "not ok migrate $lbl $k: pvx disabled for QEMU $k's VM # no vms/vm*-${pids[$k]}/enabled within 5 s"
		fi
	fi
	for _ in $(seq 50); do
		[ -S "$work/mig$k.sock" ] && break
		nap 0.1
	done
	# QEMU 7.2's default bandwidth limit is 128 MiB/s: none here
	qmp "$src" '{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 10737418240}}'
	unloaded=0
	if [ "$dirty" = unload ] && [ "$k" = "$count" ]; then
		if err=$(rmmod pvx_fork_copy 2>&1); then
			res "ok migrate unload $k: pvx_fork_copy removed from L2 while the guest runs, before the migration"
			unloaded=1
		else
			res "not ok migrate unload $k: pvx_fork_copy removed from L2 before the migration # $err"
		fi
	fi
	if reaper "${pids[$src]}"; then got=ring; else got=bitmap; fi
	if [ "$got" = "$how" ]; then
		res "ok migrate $lbl $k: the source QEMU $src tracks dirty pages with KVM's dirty $how (kvm-reaper thread: $([ "$got" = ring ] && echo runs || echo none))"
	else
		res "not ok migrate $lbl $k: the source QEMU $src tracks dirty pages with KVM's dirty $how # it uses the $got (kvm-reaper thread)"
	fi
	srcs="$srcs $how"
	fc_pages
	fc0=$fc
	t0=$SECONDS
	qmp "$src" "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:$work/mig$k.sock\"}}"
	if [[ $reply == *'"error"'* ]]; then
		res "not ok migrate $lbl $k: QEMU $src accepts migrate # $reply"
		stop_qemu "$k"
		break
	fi
	status="" info=""
	while [ $((SECONDS - t0)) -lt "$mig_s" ]; do
		nap 0.5
		qmp "$src" '{"execute": "query-migrate"}' || continue
		info=$reply
		status=$(field "$info" status)
		case "$status" in
		completed | failed | cancelled) break ;;
		esac
	done
	fc_pages
	# QEMU 7.2 says "completed" a moment before it computes the total
	# time and downtime (0 until then: seen with the dirty ring on 6.12)
	if [ "$status" = completed ] && [ "$(field "$info" total-time)" = 0 ]; then
		nap 1
		qmp "$src" '{"execute": "query-migrate"}' && info=$reply
	fi
	if [ "$status" != completed ]; then
		res "not ok migrate $lbl $k: QEMU $src -> QEMU $k completes # status '$status' after $((SECONDS - t0)) s: ${info:0:300}"
		qmp "$src" '{"execute": "migrate_cancel"}'
		stop_qemu "$k"
		break
	fi
	stop_qemu "$src"
	cur=$k
	if [ "$kind" = none ]; then
		# only the paused destination has a VM of this run now
		if err=$(host_unload); then
			res "ok migrate $lbl $k: pvx_host and its modules removed from L2 while QEMU $k waits paused"
		else
			res "not ok migrate $lbl $k: pvx_host and its modules removed from L2 # $err"
		fi
		qmp "$k" '{"execute": "cont"}'
	fi
	qmp "$k" '{"execute": "query-status"}'
	run=$(field "$reply" status)
	down=$(field "$info" downtime) total=$(field "$info" total-time)
	setup=$(field "$info" setup-time) syncs=$(field "$info" dirty-sync-count)
	sent=$(field "$info" transferred)
	if [ "$run" = running ]; then
		res "ok migrate $lbl $k: QEMU $src -> QEMU $k completed, the guest runs on QEMU $k"
	else
		res "not ok migrate $lbl $k: QEMU $src -> QEMU $k completed, the guest runs on QEMU $k # status '$run'"
	fi
	diag "migrate $lbl $k: downtime ${down:-?} ms, total ${total:-?} ms, setup ${setup:-?} ms, ${syncs:-?} dirty syncs, $((${sent:-0} / 1048576)) MiB sent; the host copied $((fc - fc0)) guest pages while it ran"
	# still 0: the whole answer
	[ "${total:-0}" != 0 ] || diag "migrate $lbl $k: query-migrate said: ${info:0:600}"
	if [ "$unloaded" = 1 ] || [ "${kinds[k - 1]}" != pvx ]; then
		:	# the guest's fallback is checked after the landing
	elif [ $((fc - fc0)) -gt 0 ]; then
		res "ok migrate $lbl $k: the host wrote guest pages while the migration ran ($((fc - fc0)))"
	else
		res "not ok migrate $lbl $k: the host wrote guest pages while the migration ran # none"
	fi
	if [ "$kind" = pvx ]; then echo "landed $k"; else echo "landed $k $kind"; fi >&"$ctl_in"
	if ! guest_line "mig checked $k " 180; then
		res "not ok migrate $lbl $k: the guest checks its pages on the destination # no answer within 180 s"
		vcpu_rips
		break
	fi
	# mig checked K pages P mismatches M child C/N rounds R host H fallback F
	read -r _ _ _ _ p _ m _ _ _ _ _ _ _ fb _ <<<"$gline"
	if [ "$unloaded" = 1 ]; then
		if [ "${fb:-0}" -gt "${fb0:-0}" ]; then
			res "ok migrate unload $k: without pvx_fork_copy the guest copies its pages itself (fallback pages ${fb0:-0} -> $fb)"
		else
			res "not ok migrate unload $k: without pvx_fork_copy the guest copies its pages itself # fallback pages ${fb0:-0} -> ${fb:-?}"
		fi
	fi
	fb0=${fb:-0}
	checked=$((checked + p)) bad=$((bad + m))
	if [ "$m" = 0 ]; then
		res "ok migrate $lbl $k: all $p pages the host wrote hold their last contents on the destination"
	else
		res "not ok migrate $lbl $k: all $p pages the host wrote hold their last contents on the destination # $m mismatches"
	fi
	diag "migrate $lbl $k: guest: $gline"
	resent_t=$((resent_t + $(gnum resent))) lost_t=$((lost_t + $(gnum lost)))
	if [ "$kind" = pvx ]; then
		pinned_t=$((pinned_t + $(gnum pinned)))
		[ "${kinds[k - 1]}" = pvx ] || back_ms="$back_ms $(gnum follow_ms)"
		if numa_homes_wait; then
			homes_t=$((homes_t + 1))
			res "ok migrate $lbl $k: L2's pvx_numa has a home for $homes vCPU(s) of the guest again, from the map the guest resent by itself"
		else
			res "not ok migrate $lbl $k: L2's pvx_numa has a home for a vCPU of the guest again # $homes vCPUs with a hint and a home: $(cat /sys/kernel/debug/pvx/vm*-"${pids[$cur]}"/numa 2>&1 | paste -sd ' ' | cut -c1-300)"
		fi
	fi
	done_n=$k
done
if [ "$done_n" = "$count" ]; then
	res "ok migrate $dirty: $done_n migrations (dirty tracking of their sources:$srcs), $checked pages checked after landings, $bad mismatches"
else
	res "not ok migrate $dirty: $count migrations # $done_n done, $checked pages checked, $bad mismatches"
fi
diag "migrate $dirty: totals: $done_n migrations, $checked pages checked, $bad mismatches, $pinned_t protected pages pinned again, $lost_t losses of pvx said (fallbacks), $resent_t locality maps resent, $homes_t NUMA homes re-established, features back in${back_ms:- -} ms after L2's word"
fc_restore
[ "$dirty" = nohost ] && host_load >/dev/null
t_end=$(uptime_s)
diag "migrate $dirty: $done_n migrations in $(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.0f", b - a }') s of L2 time since QEMU 0 started"
if [ -r "$fc_file" ]; then
	diag "migrate $dirty: L2's pvx/fork_copy: $(tr '\n' ' ' <"$fc_file")"
fi
finish
