#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-l3.sh [--steal PCT] [--no-steal-time] MODE: boot one L3 guest and
# report its TAP. Runs inside the L2 KVM host (chroot into L1's root),
# started by scripts/l2-run.sh.
#
#   MODE host      pvx_host.ko loaded in L2 (insmod'ed here if needed), and
#                  its feature modules that are built (host/pvx_yield.ko,
#                  host/pvx_fork_copy.ko, host/pvx_numa.ko, host/pvx_ksm.ko);
#                  the guest must find pvx (pvx_expect=host)
#   MODE fallback  pvx_host.ko and its feature modules not loaded
#                  (rmmod'ed here if needed); the guest must fall back
#                  (pvx_expect=fallback)
#   --steal PCT    inject PCT% steal (0..99) into every L3 vCPU from the
#                  start (steal-l2.sh: cgroup v2 cpu.max on the vCPU
#                  threads), serve the guest's level changes on its second
#                  serial port, and tell the guest: pvx_steal=PCT
#   --no-steal-time  no KVM steal time for the guest
#                  (-cpu host,kvm-steal-time=off): pvx_steal_time=off
#   --topology NAME  a short boot about the shape of the VM (init.sh,
#                  pvx_topology=NAME): swapped-rt = 4 vCPUs of which the
#                  last two were created in reverse order (-device), with
#                  KVM_HINTS_REALTIME (kvm-hint-dedicated); 1cpu = 1 vCPU
#   --demo         make demo's short boot (init.sh, pvx_demo=1): load
#                  pvx_guest, PROBE, pvx_guest_test, unload; no feature
#                  suites (the lab's guest suite runs those)
#   --migrate bitmap|ring|mixed|unload|nohost  the migrate suite's boot (host
#                  mode only): L2 live-migrates the guest between QEMU
#                  processes (pvx_migrate_host runs them in place of QEMU)
#                  while the guest's pvx_migrate_guest has the host write
#                  its pages and checks them after each landing (init.sh,
#                  pvx_migrate=DIRTY); QEMU tracks dirty pages with KVM's
#                  dirty bitmap or its dirty ring (dirty-ring-size=4096);
#                  mixed: the bitmap on the way there, the ring back;
#                  unload: the bitmap, and the last migration lands on
#                  L2 without pvx_fork_copy (removed before it, loaded
#                  again after); nohost: the bitmap, landing on L2
#                  without pvx_host, with it, with pvx disabled for the
#                  VM, with it (selftests/host/pvx_migrate_host.c)
#
# Host mode and steal boots give the guest a second serial port for
# requests to L2 (steal-l2.sh): "steal PCT", and "pvx on|off", which
# switches pvx_host's enabled file of this L3 VM while it runs (init.sh's
# migration fallback test).
#
# Environment (set by the lab): PVX_ABI, PVX_BUILD (host/pvx_host.ko),
# PVX_KIMAGE (boot/vmlinuz-$PVX_ABI), PVX_L3_INITRD (mkinitrd.sh output),
# PVX_L3_CPUS, PVX_L3_MEM (MB), PVX_OUT (writable), PVX_SELFTESTS
# (--migrate: pvx_migrate_host, make -C selftests). Optional:
# PVX_L3_TIMEOUT (s, default 1500: the longest a boot may take; the host
# boot took 1000 s in CI beside the other kernel's lab),
# PVX_L3_SILENCE (s, default 150: a console with nothing new for that long
# is a stuck L3; its vCPUs' registers are read and it is stopped),
# PVX_L3_ACCEL (default
# "-enable-kvm -cpu host"; "-accel tcg -cpu max" checks the plumbing on a
# machine without KVM, where the guest must refuse to load), PVX_L3_BOOTS
# (1..9, default 6: boots tried when L3 never reaches its /init or resets
# itself with no test failed; 6.1's fallback boot, no pvx module in L2,
# reset three times in a row in one make check), PVX_L3_TUNE (short, default: the guest's
# spin_threshold session checks --advise; full: with the comparison rounds
# Documentation/tuning.rst quotes), PVX_LAB_SOAK (short, default: make
# check's 4 s lock torture free phases and tuning rounds; long: make
# check-full's 10 s and 8 s).
#
# Output: TAP 13 on stdout: the guest's tests renumbered, then the host's
# view (its PROBE counter) in host mode. The guest writes its TAP to a
# virtio-serial port (org.pvx.results), which QEMU appends to
# $PVX_OUT/l3-TAG.results; the console log is kept in $PVX_OUT/l3-TAG.log,
# TAG = MODE[-stealPCT][-nosteal]. Exit 0 all passed, 1 any failed, 2
# usage error, 4 all skipped.
set -u
here=$(cd "$(dirname "$0")" && pwd)

usage() {
	echo "usage: run-l3.sh [--steal PCT] [--no-steal-time] [--topology swapped-rt|1cpu] [--demo] [--migrate bitmap|ring|mixed|unload|nohost] host|fallback" >&2
	exit 2
}
# shellcheck source=selftests/guest/steal-l2.sh
. "$here/steal-l2.sh"

steal="" steal_time=on mode="" topology="" demo=0 migrate=""
while [ $# -gt 0 ]; do
	case "$1" in
	--steal)
		steal=${2:-}
		steal_valid "$steal" || { echo "run-l3.sh: --steal needs a level 0..99, got '$steal'" >&2; exit 2; }
		shift ;;
	--no-steal-time) steal_time=off ;;
	--demo) demo=1 ;;
	--migrate)
		migrate=${2:-}
		case "$migrate" in
		bitmap | ring | mixed | unload | nohost) ;;
		*) echo "run-l3.sh: --migrate needs bitmap, ring, mixed, unload or nohost, got '$migrate'" >&2; exit 2 ;;
		esac
		shift ;;
	--topology)
		topology=${2:-}
		case "$topology" in
		swapped-rt | 1cpu) ;;
		*) echo "run-l3.sh: --topology needs swapped-rt or 1cpu, got '$topology'" >&2; exit 2 ;;
		esac
		shift ;;
	host | fallback) [ -z "$mode" ] || usage; mode=$1 ;;
	*) usage ;;
	esac
	shift
done
[ -n "$mode" ] || usage
[ -z "$migrate" ] || [ "$mode" = host ] || usage
tag=$mode${steal:+-steal$steal}
[ "$steal_time" = off ] && tag=$tag-nosteal
tag=$tag${topology:+-$topology}${migrate:+-migrate-$migrate}
boots=${PVX_L3_BOOTS:-6}
[[ "$boots" =~ ^[1-9]$ ]] || { echo "run-l3.sh: PVX_L3_BOOTS needs 1..9, got '$boots'" >&2; exit 2; }
timeout_s=${PVX_L3_TIMEOUT:-1500}
silence_s=${PVX_L3_SILENCE:-150}
tune=${PVX_L3_TUNE:-short}
[[ "$tune" =~ ^(short|full)$ ]] || { echo "run-l3.sh: PVX_L3_TUNE needs short or full, got '$tune'" >&2; exit 2; }
soak=${PVX_LAB_SOAK:-short}
[[ "$soak" =~ ^(short|long)$ ]] || { echo "run-l3.sh: PVX_LAB_SOAK needs short or long, got '$soak'" >&2; exit 2; }
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || { echo "run-l3.sh: PVX_L3_TIMEOUT needs seconds, got '$timeout_s'" >&2; exit 2; }
[[ "$silence_s" =~ ^[1-9][0-9]*$ ]] || { echo "run-l3.sh: PVX_L3_SILENCE needs seconds, got '$silence_s'" >&2; exit 2; }
for v in PVX_ABI PVX_BUILD PVX_KIMAGE PVX_L3_INITRD PVX_L3_CPUS PVX_L3_MEM PVX_OUT; do
	if [ -z "${!v:-}" ]; then
		echo "run-l3.sh: $v is not set" >&2
		exit 2
	fi
done
accel=${PVX_L3_ACCEL:--enable-kvm -cpu host}
log=$PVX_OUT/l3-$tag.log
results=$PVX_OUT/l3-$tag.results
resetlog=$PVX_OUT/l3-$tag-cpureset.log
stucklog=$PVX_OUT/l3-$tag-stuck-regs.log
# QEMU's own messages: apart from the console, whose bytes QEMU writes one
# at a time, so that a message cannot land inside a line of the TAP
qerr=$PVX_OUT/l3-$tag-qemu.err
# QEMU's monitor on two FIFOs (mon.in, mon.out), read by bash builtins;
# in /tmp, not $PVX_OUT (which may be a share without FIFOs)
monitor=/tmp/run-l3-monitor.$$
counters=/sys/kernel/debug/pvx/counters
kernel=$PVX_KIMAGE/boot/vmlinuz-$PVX_ABI

# Before the guest runs: one failed line and out.
bail() {
	echo "TAP version 13"
	echo "1..1"
	echo "not ok 1 l3 $tag boot # $*"
	exit 1
}

mod_loaded() { grep -q "^$1 " /proc/modules 2>/dev/null; }
# host feature modules, loaded after pvx_host when they are built
features="pvx_yield pvx_fork_copy pvx_numa pvx_ksm"

if [ "$mode" = host ]; then
	for m in pvx_host $features; do
		ko=$PVX_BUILD/host/$m.ko
		[ "$m" = pvx_host ] || [ -f "$ko" ] || continue
		if ! mod_loaded "$m"; then
			err=$(insmod "$ko" 2>&1) || bail "cannot insmod $ko: $err"
		fi
	done
else
	for m in $features pvx_host; do
		if mod_loaded "$m"; then
			err=$(rmmod "$m" 2>&1) || bail "cannot rmmod $m: $err"
		fi
	done
fi
# one accepted NUMA hint per vCPU per minute: pvx_numa_guest_test's
# second hint meets the rate limit however long L3 takes between the two
[ -w /sys/module/pvx_numa/parameters/hint_interval_ms ] &&
	echo 60000 >/sys/module/pvx_numa/parameters/hint_interval_ms
[ -f "$kernel" ] || bail "no kernel image $kernel"
[ -f "$PVX_L3_INITRD" ] || bail "no initramfs $PVX_L3_INITRD (selftests/guest/mkinitrd.sh)"
case "$accel" in
*-enable-kvm*) [ -c /dev/kvm ] || bail "no /dev/kvm in L2" ;;
esac

# Sum of the host's "probe N" lines (0 without the file).
# Sum of the host's "probe N" lines into $p (0 without the file). Bash
# builtins only: the loop below runs while L3 does, and every process it
# forks in L2 is CPU taken from the L3 vCPUs (steal in a steal boot).
probes() {
	local k v
	p=0
	[ -r "$counters" ] || return 0
	while read -r k v _; do
		[ "$k" = probe ] && p=$((p + v))
	done <"$counters"
}
# Pages the host's pvx_fork_copy copied (all VMs, since it loaded) into
# $fc; 0 without it. Compared with the guest's fork_copy/pages.
fc_file=/sys/kernel/debug/pvx/fork_copy
fc_pages() {
	local k v
	fc=0
	[ -r "$fc_file" ] || return 0
	while read -r k v _; do
		[ "$k" = pages ] && fc=$v
	done <"$fc_file"
}
# The host's pvx_ksm totals (all VMs, since it loaded): never-merge pages
# pinned and unpinned for guests, candidate pages added and withdrawn,
# into ksm_pin, ksm_unpin, ksm_cand, ksm_cand_wd; 0 without it. Compared
# with the guest's ksm/hinted and ksm/candidates_added.
ksm_file=/sys/kernel/debug/pvx/ksm
ksm_counts() {
	local k v
	ksm_pin=0 ksm_unpin=0 ksm_cand=0 ksm_cand_wd=0
	[ -r "$ksm_file" ] || return 0
	while read -r k v _; do
		case $k in
		pinned) ksm_pin=$v ;;
		unpinned) ksm_unpin=$v ;;
		candidates_added) ksm_cand=$v ;;
		candidates_withdrawn) ksm_cand_wd=$v ;;
		esac
	done <"$ksm_file"
}
# a sleep without a process: wait on a FIFO nobody writes
nap_fifo=/tmp/run-l3-nap.$$
mkfifo "$nap_fifo" && exec 9<>"$nap_fifo"
rm -f "$nap_fifo"
nap() { read -r -t "$1" -u 9 _ 2>/dev/null || true; }

# L3 keeps 5-level paging (L2's -cpu host offers L1's LA57): the one 7.2
# run with no5lvl here too had an L3 reset and L2 panicking on it
# (lab.rst); L2 alone runs with no5lvl (scripts/lab.sh)
args="console=ttyS0 quiet panic=-1 pvx_expect=$mode"
extra=""
if [ "$steal_time" = off ]; then
	case "$accel" in
	*"-cpu "*) accel="$accel,kvm-steal-time=off" ;;
	*) bail "--no-steal-time needs a '-cpu MODEL' in '$accel'" ;;
	esac
	args="$args pvx_steal_time=off"
fi
if [ "$demo" = 1 ]; then
	args="$args pvx_demo=1"
fi
# the VMM: QEMU, or for a migrate boot pvx_migrate_host running QEMUs
vmm=(qemu-system-x86_64)
if [ -n "$migrate" ]; then
	# nokaslr: L3 runs L2's kernel, which boots nokaslr, so a kernel RIP
	# that pvx_migrate_host reads names its function in lab.sh's l2-kallsyms
	args="$args pvx_migrate=$migrate nokaslr"
	export PVX_MIGRATE_TAP=$PVX_OUT/l3-$tag-migrate.tap PVX_MIGRATE_DIRTY=$migrate
fi
[ "$tune" = full ] && args="$args pvx_tune=full"
[ "$soak" = long ] && args="$args pvx_soak=long"
smp=$PVX_L3_CPUS
if [ -n "$topology" ]; then
	# the model of -cpu MODEL names the type of a -device CPU
	model=$(sed -n 's/.*-cpu \([^ ,]*\).*/\1/p' <<<"$accel")
	[ -n "$model" ] || bail "--topology needs a '-cpu MODEL' in '$accel'"
	args="$args pvx_topology=$topology"
	case "$topology" in
	swapped-rt)
		# QEMU numbers the CPUs' APIC IDs by socket/core/thread, Linux
		# numbers CPUs in APIC ID order, KVM numbers vCPUs in creation
		# order: cores 3 then 2 make CPU 2 vCPU index 3 and CPU 3 index
		# 2. No cpuidle: KVM_HINTS_REALTIME turns on haltpoll, whose
		# idle vCPUs would stay in guest mode.
		smp="2,sockets=1,cores=4,threads=1,maxcpus=4"
		extra="$extra -device $model-x86_64-cpu,socket-id=0,core-id=3,thread-id=0"
		extra="$extra -device $model-x86_64-cpu,socket-id=0,core-id=2,thread-id=0"
		accel="$accel,kvm-hint-dedicated=on"
		args="$args cpuidle.off=1" ;;
	1cpu) smp=1 ;;
	esac
fi
ctl_dir=""
if [ -n "$steal" ] || [ "$mode" = host ]; then
	ctl_dir=/tmp/pvx-ctl-$tag
	mkdir -p "$ctl_dir"
	STEAL_LOG=$PVX_OUT/ctl-$tag.log
	extra="$extra $(steal_qemu_args "$ctl_dir")"
fi
# pvx_migrate_host talks to the guest on its control port
if [ -n "$migrate" ]; then
	vmm=("${PVX_SELFTESTS:-}/pvx_migrate_host" "$ctl_dir" qemu-system-x86_64)
	[ -x "${vmm[0]}" ] || bail "no ${vmm[0]} (PVX_SELFTESTS, make -C selftests)"
fi
if [ -n "$steal" ]; then
	STEAL_LOG=$PVX_OUT/steal-$tag.log
	args="$args pvx_steal=$steal"
fi
[ -n "$ctl_dir" ] && : >"$STEAL_LOG"
# the results port; append: a migrate boot's QEMUs share the file
extra="$extra -device virtio-serial-pci,id=pvxvs -chardev file,id=pvxres,path=$results,append=on"
extra="$extra -device virtserialport,bus=pvxvs.0,chardev=pvxres,name=org.pvx.results"

# watch_console: the console lines since the last look, read on from fd 7
# with bash builtins only (in a 1-CPU L2 a grep every second is steal that
# the L3 vCPUs see, 20 % of it): counts the firmware banners (a second
# one: L3 reset itself), keeps the longest soft lockup L3's watchdog
# reported (lockup_max, s), and when, after QEMU started (t_qemu), L3's
# firmware, its /init and its finish first printed (t_bios, t_init,
# t_finish; EPOCHREALTIME).
watch_console() {
	local line
	while :; do
		if IFS= read -r -u 7 line; then
			heard=$SECONDS
			line=$partial$line
			partial=""
			[ -n "$t_bios" ] || t_bios=$EPOCHREALTIME
			[[ -z $t_init && $line == *"pvx-l3: init"* ]] && t_init=$EPOCHREALTIME
			[[ -z $t_finish && $line == *"pvx-l3: finish"* ]] && t_finish=$EPOCHREALTIME
			if [[ $line =~ soft\ lockup\ -\ CPU#[0-9]+\ stuck\ for\ ([0-9]+)s ]] &&
			   [ "${BASH_REMATCH[1]}" -gt "$lockup_max" ]; then
				lockup_max=${BASH_REMATCH[1]}
			fi
			[[ $line == *"SeaBIOS (version"* ]] && banners=$((banners + 1))
		else
			[ -n "$line" ] && heard=$SECONDS
			partial=$partial$line	# a line not ended yet
			return
		fi
	done
}

# stuck_regs: each vCPU's registers from QEMU's monitor, into $stucklog
# (QEMU opens both FIFOs read-write, so neither side blocks on open).
stuck_regs() {
	local line
	: >"$stucklog"
	exec 6<>"$monitor.out"
	while IFS= read -r -t 0.5 -u 6 line; do :; done	# the banner
	# read-write opens: a QEMU that is gone cannot block them
	exec 5<>"$monitor.in"
	echo "info registers -a" >&5
	exec 5>&-
	while IFS= read -r -t 3 -u 6 line; do
		printf '%s\n' "$line" >>"$stucklog"
	done
	exec 6<&-
}

# The swapped-rt boot's yield-map phase yields at each other CPU of L3 by
# APIC ID (ABI v2) and by vCPU index (ABI v1). Whether its target was in
# guest mode is scheduling, not identity (an L2 CPU shared with anything
# makes a busy target "preempted"): which vCPU each yield reached is read
# here, from the pvx:yield events of L2. QEMU creates vCPUs with their
# APIC ID as KVM vcpu_id, in the order of -smp then -device: index 0 and
# 1 are APIC IDs 0 and 1, index 2 is core 3 and index 3 is core 2.
yield_events=/sys/kernel/tracing/events/pvx/yield
swapped_index_to_id() { case "$1" in 2) echo 3 ;; 3) echo 2 ;; *) echo "$1" ;; esac; }

yield_trace_start() {
	[ -d "$yield_events" ] || return 0
	echo 0 >"$yield_events/enable"
	: >/sys/kernel/tracing/trace
	echo 1 >"$yield_events/enable"
}

# yield_trace_check: TAP lines (for the awk below, in $topo_tap) on the
# pvx:yield events since yield_trace_start.
yield_trace_check() {
	local line flags arg to key n bad_apic="" bad_index="" apic_n=0 index_n=0 seen=""
	local -A per=()
	if [ ! -d "$yield_events" ]; then
		topo_tap="ok l3 $tag: yields reach the vCPU they name # SKIP no $yield_events in L2"
		return
	fi
	echo 0 >"$yield_events/enable"
	# parsed from the copy: bash's read seeks back after each line, and
	# the trace file renders anew on a seek (one line of 384 came out
	# garbled in every run)
	cp /sys/kernel/tracing/trace "$PVX_OUT/l3-$tag-yield.trace"
	while IFS= read -r line; do
		[[ $line =~ \ yield:\ .*\ to=(-?[0-9]+)\ arg=0x([0-9a-f]+)\ flags=0x([0-9a-f]+) ]] || continue
		to=${BASH_REMATCH[1]} arg=$((16#${BASH_REMATCH[2]})) flags=$((16#${BASH_REMATCH[3]}))
		key="$flags:$arg"
		[[ " $seen " == *" $key "* ]] || seen="$seen $key"
		key="$key->$to"
		per[$key]=$((${per[$key]:-0} + 1))
		if [ "$flags" = 1 ]; then
			apic_n=$((apic_n + 1))
			[ "$to" = "$arg" ] || bad_apic="$bad_apic APIC ID $arg->vCPU $to"
		else
			index_n=$((index_n + 1))
			n=$(swapped_index_to_id "$arg")
			[ "$to" = "$n" ] || bad_index="$bad_index index $arg->vCPU $to (want $n)"
		fi
	done <"$PVX_OUT/l3-$tag-yield.trace"
	n=$(wc -w <<<"$seen")
	topo_diag="# l3 $tag: pvx:yield events (flags:arg->vCPU count):"
	for key in "${!per[@]}"; do
		topo_diag="$topo_diag $key ${per[$key]}"
	done
	if [ "$apic_n" -gt 0 ] && [ -z "$bad_apic" ]; then
		topo_tap="ok l3 $tag: all $apic_n yields by APIC ID reached the vCPU with that ID (L2's pvx:yield)"
	else
		topo_tap="not ok l3 $tag: yields by APIC ID reach the vCPU with that ID # $apic_n seen;$bad_apic"
	fi
	if [ "$index_n" -gt 0 ] && [ -z "$bad_index" ]; then
		topo_tap="$topo_tap
ok l3 $tag: all $index_n yields by index (ABI v1) reached the vCPU created in that place: 2->3, 3->2 (L2's pvx:yield)"
	else
		topo_tap="$topo_tap
not ok l3 $tag: yields by index (ABI v1) reach the vCPU created in that place # $index_n seen;$bad_index"
	fi
	if [ "$n" -ge 6 ]; then
		topo_tap="$topo_tap
ok l3 $tag: yields at 3 CPUs, both ways of naming them ($n targets)"
	else
		topo_tap="$topo_tap
not ok l3 $tag: yields at 3 CPUs, both ways of naming them # $n targets:$seen"
	fi
}

# a soft lockup that L3's watchdog reports this long (s) is a stuck L3
export lockup_s=${PVX_L3_LOCKUP_S:-100}

# boot_l3: one boot of L3 to its end; sets qrc, stuck, lockup, steal_err and seen
# (the highest PROBE count sampled while the VM ran).
boot_l3() {
	local qpid cpid="" qemu=""
	steal_err=""
	: >"$resetlog"
	: >"$log"	# for fd 7 before QEMU writes
	: >"$results"
	rm -f "$monitor.in" "$monitor.out"
	mkfifo "$monitor.in" "$monitor.out"
	# No -no-reboot: a guest that resets itself (a triple fault leaves no
	# panic text) is reset by QEMU, whose -d cpu_reset log then holds each
	# vCPU's registers as they were; the loop below stops it at its second
	# firmware banner.
	# shellcheck disable=SC2086
	timeout -k 5 "$timeout_s" "${vmm[@]}" $accel \
		-m "$PVX_L3_MEM" -smp "$smp" \
		-nographic -nodefaults -serial stdio $extra -d cpu_reset -D "$resetlog" \
		-monitor "pipe:$monitor" \
		-kernel "$kernel" -initrd "$PVX_L3_INITRD" \
		-append "$args" \
		</dev/null >"$log" 2>"$qerr" &
	qpid=$!
	if [ -n "$ctl_dir" ] && [ -z "$migrate" ]; then
		# $qpid is timeout(1); QEMU is its child
		for _ in $(seq 50); do
			qemu=$(pgrep -P "$qpid" | head -n1)
			[ -n "$qemu" ] && break
			sleep 0.1
		done
		CTL_QEMU_PID=$qemu
		if [ -z "$qemu" ]; then
			steal_err="QEMU did not start"
		elif [ -n "$steal" ] && ! steal_err=$(steal_attach "$qemu" "$steal" 2>&1); then
			kill "$qpid" 2>/dev/null
		else
			steal_err=""
			steal_controller "$ctl_dir" >>"$STEAL_LOG" 2>&1 &
			cpid=$!
		fi
	fi
	# Per-VM counters may go away with the VM: sample while it runs.
	reset=0 stuck=0 lockup=0 lockup_max=0 banners=0 partial="" heard=$SECONDS
	t_qemu=$EPOCHREALTIME t_bios="" t_init="" t_finish=""
	exec 7<"$log"
	while kill -0 "$qpid" 2>/dev/null; do
		watch_console
		if [ "$reset" = 0 ] && [ "$banners" -ge 2 ]; then
			reset=1
			# QEMU ends cleanly (exit 0) on SIGTERM
			pkill -TERM -P "$qpid" 2>/dev/null
		fi
		# Slow is not stuck: a loaded lab machine stretches a boot
		# (100-220 s seen) but L3 prints each step as it starts.
		if [ "$stuck" = 0 ] && [ $((SECONDS - heard)) -ge "$silence_s" ]; then
			stuck=1
			stuck_regs
			pkill -TERM -P "$qpid" 2>/dev/null
		fi
		# A soft lockup keeps the console busy (L3's watchdog reports it
		# every ~28 s), so no silence comes: once a CPU has not
		# scheduled for lockup_s, read the vCPUs' registers and stop
		if [ "$stuck" = 0 ] && [ "$lockup_max" -ge "$lockup_s" ]; then
			stuck=1 lockup=1
			stuck_regs
			pkill -TERM -P "$qpid" 2>/dev/null
		fi
		probes
		[ "$p" -gt "$seen" ] && seen=$p
		nap 1
	done
	wait "$qpid"
	qrc=$?
	t_gone=$EPOCHREALTIME
	watch_console	# the lines since the loop's last look
	exec 7<&-
	rm -f "$monitor.in" "$monitor.out"
	if [ -n "$cpid" ]; then
		kill "$cpid" 2>/dev/null
		wait "$cpid" 2>/dev/null
	fi
	[ -n "$steal" ] && steal_cleanup
	probes
	[ "$p" -gt "$seen" ] && seen=$p
}

# reset_regs: after L3 reset itself, each vCPU's RIP, RSP, CR2, CR3 and
# CPL as QEMU logged them at that reset (the dumps after the boot's first
# ones, which are all zeros).
reset_regs() {
	local regs
	regs=$(awk -v tag="$tag" '
	function flush() {
		if (rip != "" && rip !~ /^0*$/)
			printf "# l3 %s: L3 reset itself; vCPU %s was at RIP=%s RSP=%s CR2=%s CR3=%s CPL=%s\n", tag, cpu, rip, rsp, cr2, cr3, cpl
		rip = ""
	}
	/^CPU Reset \(CPU [0-9]+\)/ { flush(); cpu = $4; sub(/\)/, "", cpu) }
	{
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^RIP=/) rip = substr($i, 5)
			if ($i ~ /^RSP=/) rsp = substr($i, 5)
			if ($i ~ /^CR2=/) cr2 = substr($i, 5)
			if ($i ~ /^CR3=/) cr3 = substr($i, 5)
			if ($i ~ /^CPL=/) cpl = substr($i, 5)
		}
	}
	END { flush() }' "$resetlog" | head -n 8)
	echo "${regs:-# l3 $tag: L3 reset itself; no registers in $resetlog}"
}

# stuck_regs_summary: one line per vCPU of $stucklog (QEMU's "info
# registers -a": a "CPU#N" line, then RIP= (EIP= outside long mode), CPL=
# and HLT= among others; the monitor's echo of the command is dropped).
stuck_regs_summary() {
	tr -d '\r' <"$stucklog" | awk -v tag="$tag" '
	function flush() {
		if (cpu != "")
			printf "# l3 %s: stuck; vCPU %s at RIP=%s RSP=%s CPL=%s HLT=%s\n", tag, cpu, rip, rsp, cpl, hlt
		cpu = ""
	}
	/^CPU#[0-9]+/ { flush(); cpu = substr($1, 5) }
	cpu != "" {
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^[RE]IP=/) rip = substr($i, 5)
			if ($i ~ /^[RE]SP=/) rsp = substr($i, 5)
			if ($i ~ /^CPL=/) cpl = substr($i, 5)
			if ($i ~ /^HLT=/) hlt = substr($i, 5)
		}
	}
	END { flush() }' | head -n 8
}

# before_reset: the console's last lines before L3's second firmware
# banner, as TAP comments, after its first panic, BUG or Oops line if it
# has one (panic=-1 reboots); a triple fault leaves the line it cut
before_reset() {
	tr -d '\r' <"$log" | awk -v tag="$tag" '
	function clean(l) {	# no terminal escapes, printable only
		gsub(/\033c|\033\[[0-9;?]*[A-Za-z]/, "", l)
		gsub(/[^[:print:]]/, "", l)
		return l
	}
	function say(l) {
		if (l != "")
			printf "# l3 %s: console before the reset: %s\n", tag, substr(l, 1, 160)
	}
	/SeaBIOS \(version/ {
		if (++banners == 2) {
			sub(/\033c.*/, "")
			keep[n++ % 4] = $0
			say(panic)
			for (i = n > 4 ? n - 4 : 0; i < n; i++)
				say(clean(keep[i % 4]))
			exit
		}
		next
	}
	banners == 1 && panic == "" && /Kernel panic|BUG:|Oops|double fault/ { panic = clean($0) }
	banners == 1 && /[^[:space:]]/ { keep[n++ % 4] = $0 }'
}

# complete: the guest's TAP arrived whole on the results port. It is
# written after the last test, so a reset or a stall after it (in the
# poweroff) costs nothing.
complete() { grep -q '^PVX-TAP-END$' "$results"; }
# The guest's /init prints "pvx-l3: init" before it runs anything of pvx.
# Nested KVM on the TCG-emulated SVM of the lab resets or loses an L3 now
# and then, with and without pvx code in it (Documentation/lab.rst, "An
# L3 that resets itself"): a boot that never got to its /init, or reset
# itself with no test failed so far (init.sh prints each failure on the
# console at once), or ran to its finish without its TAP arriving, is
# tried again within PVX_L3_BOOTS; the TAP names every such attempt, with
# where its vCPUs were and its last step. A stall or lockup before the
# finish, a timeout and a failed test are not retried, but for one case of
# a migrate boot, once: a vCPU that stands at the reset vector with the
# registers of INIT (RIP=fff0, RSP=0) while another runs kernel code,
# which the others then wait for in an IPI. No code of pvx's touches a
# vCPU's registers or sends INIT; the lab saw it once on each kernel after
# a migration completed (Documentation/lab.rst, "An L3 that resets
# itself"), so it is named and the boot tried again, and a second time
# in the same run fails.
reached_init() { grep -q 'pvx-l3: init' "$log"; }
# init_vcpus: the vCPUs of $stucklog at the reset vector with RSP 0, when
# at least one other vCPU was somewhere else; nothing otherwise
init_vcpus() {
	tr -d '\r' <"$stucklog" | awk '
	/^CPU#[0-9]+/ { cpu = substr($1, 5); n++ }
	cpu != "" {
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^RIP=/) rip[cpu] = substr($i, 5)
			if ($i ~ /^RSP=/) rsp[cpu] = substr($i, 5)
		}
	}
	END {
		for (c in rip)
			if (rip[c] ~ /^0*fff0$/ && rsp[c] ~ /^0+$/)
				lost = lost (lost == "" ? "" : " ") c
			else
				alive++
		if (lost != "" && alive > 0)
			print lost
	}'
}
lost_retries=0
last_step() { tr -d '\r' <"$log" | grep -a 'pvx-l3: ' | grep -av 'pvx-l3: module ' | tail -n1 | tr -cd '[:print:]'; }
retry_why() {
	complete && return 1
	grep -aq 'pvx-l3: FAILED' "$log" && return 1
	if ! reached_init; then
		echo "never reached /init (qemu exit $qrc, $(wc -c <"$log") bytes of console)"
	elif [ "$reset" = 1 ]; then
		echo "reset itself after /init with no test failed, last step [$(last_step)]"
	elif last_step | grep -q '^pvx-l3: finish: '; then
		echo "ran to its finish with no test failed, but no TAP arrived (qemu exit $qrc, stalled $stuck)"
	elif [ -n "$migrate" ] && [ "$stuck" = 1 ] && [ "$lost_retries" = 0 ] &&
		lost=$(init_vcpus) && [ -n "$lost" ]; then
		echo "stuck with vCPU $lost at the reset vector (RIP=fff0, RSP=0: the registers of INIT) while the others ran, no test failed, last step [$(last_step)]"
	else
		return 1
	fi
}
retry_diag=""
t0=$(date +%s)
attempt=1
while :; do
	# the host's counters from before this attempt: a boot tried again
	# runs every test again
	probes
	base=$p
	seen=$base
	fc_pages
	fc_base=$fc
	ksm_counts
	ksm_base="$ksm_pin $ksm_unpin $ksm_cand $ksm_cand_wd"
	if [ -n "$steal" ]; then
		err=$(steal_prepare "$ctl_dir") || bail "steal injection: $err"
	elif [ -n "$ctl_dir" ]; then
		err=$(ctl_prepare "$ctl_dir") || bail "control port: $err"
	fi
	[ "$topology" = swapped-rt ] && yield_trace_start
	boot_l3
	if [ -n "$steal_err" ] || [ "$attempt" -ge "$boots" ] || ! why=$(retry_why); then
		break
	fi
	# retry_why runs in a subshell: the one retry of this kind counts here
	[[ $why != *"at the reset vector"* ]] || lost_retries=1
	keep=$PVX_OUT/l3-$tag-attempt$attempt
	cp "$log" "$keep.log"
	retry_diag="$retry_diag# l3 $tag: boot $attempt of $boots $why, log $keep.log: booting again
"
	if [ "$reset" = 1 ]; then
		retry_diag="$retry_diag$(reset_regs)
$(before_reset)
"
		cp "$resetlog" "$keep-cpureset.log"
	fi
	if [ "$stuck" = 1 ]; then
		cp "$stucklog" "$keep-stuck-regs.log"
		retry_diag="$retry_diag$(stuck_regs_summary)
"
	fi
	if ! reached_init; then
		# what QEMU (or pvx_migrate_host) said, but for the warnings every
		# boot has
		cp "$qerr" "$keep-qemu.err" 2>/dev/null
		said=$(grep -v 'warning: Number of\|terminating on signal' "$qerr" 2>/dev/null | tail -n 3 |
			tr -cd '[:print:]\n' | sed "s/^/# l3 $tag: boot $attempt: qemu said: /")
		[ -z "$said" ] || retry_diag="$retry_diag$said
"
		retry_diag="$retry_diag$(dmesg | tail -n 5 | sed "s/^/# l3 $tag: host dmesg after boot $attempt: /")
"
	fi
	attempt=$((attempt + 1))
done
t1=$(date +%s)
fc_pages
ksm_counts
read -r ksm_pin0 ksm_unpin0 ksm_cand0 ksm_cand_wd0 <<<"$ksm_base"

export retry_diag
reset_diag=""
[ "$reset" = 1 ] && ! complete && reset_diag="$(reset_regs)
$(before_reset)"
export reset_diag
stuck_diag=""
if [ "$stuck" = 1 ] && ! complete; then
	step=$(last_step)
	stuck_diag="# l3 $tag: no console output for $silence_s s; last step [$step]; registers in $stucklog
$(stuck_regs_summary)"
	[ "$lockup" = 1 ] &&
		stuck_diag="# l3 $tag: soft lockup of $lockup_max s (L3's watchdog), stopped; last step [$step]; registers in $stucklog
$(stuck_regs_summary)"
fi
export lockup
export stuck_diag
# where the boot's time went: each step's length by L3's uptime, longest
# first (what to trim when make check grows), then every step in order
# (lab.rst, "Where make check's time goes")
steps_diag=$(tr -d '\r' <"$log" | awk -v tag="$tag" '
match($0, /pvx-l3: .* \(uptime [0-9.]+ s\)/) {
	s = substr($0, RSTART + 8, RLENGTH - 8)
	t = s; sub(/.*\(uptime /, "", t); sub(/ s\)$/, "", t)
	sub(/ \(uptime [0-9.]+ s\)$/, "", s)
	if (n) d[name[n]] += t - last
	name[++n] = s; last = t
}
END {
	if (n < 2) exit
	all = ""
	for (k = 1; k < n; k++)
		all = all sprintf("%s%s %.0f s", k == 1 ? "" : ", ", name[k], d[name[k]])
	line = ""
	for (k = 0; k < 6; k++) {
		best = ""
		for (x in d) if (best == "" || d[x] > d[best]) best = x
		if (best == "") break
		line = line sprintf("%s%s %.0f s", line == "" ? "" : ", ", best, d[best])
		delete d[best]
	}
	printf "# l3 %s: longest steps: %s\n", tag, line
	printf "# l3 %s: steps in order, to %.0f s of uptime: %s\n", tag, last, all
}')
export steps_diag
# where the last boot's wall time went, outside L3's own steps: QEMU's
# start to the firmware's first line, to /init, finish to QEMU gone
phases_diag=$(awk -v tag="$tag" -v q="$t_qemu" -v b="$t_bios" -v i="$t_init" -v f="$t_finish" \
	-v g="$t_gone" -v now="$EPOCHREALTIME" 'BEGIN {
	s = sprintf("# l3 %s: last boot: firmware after %s, /init after %s, finish to QEMU gone %s, QEMU gone to this report %.1f s", tag,
		(b == "" ? "-" : sprintf("%.1f s", b - q)), (i == "" ? "-" : sprintf("%.1f s", i - q)),
		(f == "" ? "-" : sprintf("%.1f s", (g > f ? g - f : 0))), now - g)
	print s
}')
export phases_diag
topo_tap="" topo_diag=""
[ "$topology" = swapped-rt ] && complete && yield_trace_check
# a migrate boot: pvx_migrate_host's results go where the topology's do
if [ -n "$migrate" ]; then
	topo_tap=$(grep -a '^ok \|^not ok ' "$PVX_MIGRATE_TAP" 2>/dev/null)
	[ -n "$topo_tap" ] || topo_tap="not ok l3 $tag: pvx_migrate_host reports its migrations # nothing in $PVX_MIGRATE_TAP"
	topo_diag=$(grep -a '^#' "$PVX_MIGRATE_TAP" 2>/dev/null)
fi
export topo_tap topo_diag
# the console, then the TAP (only when whole: a cut one reports missing)
{ tr -d '\r' <"$log"; complete && cat "$results"; } >"$PVX_OUT/l3-$tag.console"
qemu_err=$(grep -v 'terminating on signal' "$qerr" 2>/dev/null | head -n 5 | sed "s/^/# l3 $tag: qemu said: /")
export qemu_err
awk -v mode="$mode" -v tag="$tag" -v qrc="$qrc" -v secs="$((t1 - t0))" \
	-v steal_err="$steal_err" \
	-v want_probes="$([ -n "$topology$migrate" ] && echo 1 || echo 2)" -v migrate="$migrate" \
	-v tmo="$timeout_s" -v silence="$silence_s" -v probes="$((seen - base))" -v cnt="$counters" \
	-v have_cnt="$([ -e "$counters" ] && echo 1 || echo 0)" -v logf="$log" \
	-v fc_grew="$((fc - fc_base))" -v have_fc="$([ -r "$fc_file" ] && echo 1 || echo 0)" \
	-v ksm_pin="$((ksm_pin - ksm_pin0))" -v ksm_unpin="$((ksm_unpin - ksm_unpin0))" \
	-v ksm_cand="$((ksm_cand - ksm_cand0))" -v ksm_cand_wd="$((ksm_cand_wd - ksm_cand_wd0))" \
	-v have_ksm="$([ -r "$ksm_file" ] && echo 1 || echo 0)" '
function emit(res, desc) { n++; out[n] = res " " n " " desc }
# SeaBIOS leaves terminal escapes in front of the first line L3 prints.
/PVX-TAP-BEGIN$/ { in_tap = 1; begun = 1; next }
/PVX-TAP-END$/ { in_tap = 0; ended = 1; next }
in_tap && /^(ok|not ok) [0-9]+/ {
	res = ($1 == "ok") ? "ok" : "not ok"
	line = $0
	sub(/^(ok|not ok) [0-9]+ ?/, "", line)
	emit(res, line)
	next
}
# what the guest counted as copied by the host for it (pvx_fork)
in_tap && /^# fork_copy\/pages: [0-9]+$/ { guest_fc = $3 }
# what the guest counted as taken by the host (pvx_ksm_guest)
# (summed: init.sh loads pvx_ksm_guest twice, the second time with
# zero_free=1, and prints the counters of each load)
in_tap && /^# ksm\/hinted: [0-9]+$/ { guest_ksm_pin += $3 }
in_tap && /^# ksm\/candidates_added: [0-9]+$/ { guest_ksm_cand += $3 }
in_tap && /^#/ { n_d++; diag[n] = diag[n] $0 "\n"; next }
# the last line L3 printed, not the one of QEMU ("terminating on signal")
!/^qemu-system-/ && /[^[:space:]]/ { last = $0; gsub(/[^[:print:]]/, "", last) }
END {
	if (steal_err != "")
		emit("not ok", "l3 " tag ": steal injection # " steal_err)
	if (!begun || !ended) {
		if (ENVIRON["stuck_diag"] != "" && ENVIRON["lockup"] == "1")
			why = "stuck: a soft lockup in L3 (watchdog), stopped after " ENVIRON["lockup_s"] " s"
		else if (ENVIRON["stuck_diag"] != "")
			why = "stuck: no console output for " silence " s"
		else if (qrc == 124 || qrc == 137)
			why = "timed out after " tmo " s"
		else if (ENVIRON["reset_diag"] != "")
			why = "L3 reset itself (a triple fault or a reboot), qemu exit " qrc
		else
			why = "qemu exit " qrc
		emit("not ok", "l3 " tag " boot # " why ", no complete TAP; last console line: " last " (" logf ")")
	}
	nt = split(ENVIRON["topo_tap"], tl, "\n")
	for (i = 1; i <= nt; i++) {
		res = (tl[i] ~ /^ok /) ? "ok" : "not ok"
		sub(/^(ok|not ok) /, "", tl[i])
		emit(res, tl[i])
	}
	# (the nohost migrate boot reloads pvx_host: its counters start again)
	if (mode == "host" && begun && migrate != "nohost") {
		if (!have_cnt)
			emit("ok", "l3 host: host counted the guest PROBE calls # SKIP no " cnt)
		else if (probes >= want_probes)
			emit("ok", "l3 host: host counted the guest PROBE calls (" probes ")")
		else
			emit("not ok", "l3 host: host counted the guest PROBE calls # " probes " counted, " want_probes " expected")
	}
	# only boots that ran the pvx_fork tests (not the short topology
	# boots) have a guest count to compare: the others say nothing; nor
	# does the migrate boot that reloads pvx_fork_copy (its counters
	# start again; pvx_migrate_host checks that boot)
	if (mode == "host" && begun && guest_fc != "" && migrate != "unload" && migrate != "nohost") {
		if (!have_fc)
			emit("ok", "l3 host: the host copied the pages the guest counted # SKIP no /sys/kernel/debug/pvx/fork_copy in L2")
		else if (guest_fc > 0 && fc_grew >= guest_fc)
			emit("ok", "l3 host: the host'"'"'s pvx_fork_copy copied " fc_grew " pages, the guest counted " guest_fc)
		else
			emit("not ok", "l3 host: the host copied the pages the guest counted # host " fc_grew ", guest " guest_fc)
	}
	# the boots that ran the pvx_ksm_guest tests: what the guest pinned
	# and hinted arrived, and the guest took all of it back before the end
	if (mode == "host" && begun && guest_ksm_pin != "") {
		if (!have_ksm) {
			emit("ok", "l3 host: the host pinned and unpinned what the guest protected # SKIP no /sys/kernel/debug/pvx/ksm in L2")
		} else {
			if (guest_ksm_pin > 0 && ksm_pin == guest_ksm_pin && ksm_unpin == ksm_pin)
				emit("ok", "l3 host: the host'"'"'s pvx_ksm pinned " ksm_pin " never-merge pages, the guest counted " guest_ksm_pin ", and all were unpinned at the guest'"'"'s request (" ksm_unpin ")")
			else
				emit("not ok", "l3 host: the host pinned what the guest protected and unpinned it by the end # host pinned " ksm_pin ", unpinned " ksm_unpin ", guest counted " guest_ksm_pin)
			if (guest_ksm_cand > 0 && ksm_cand == guest_ksm_cand && ksm_cand_wd == ksm_cand)
				emit("ok", "l3 host: " ksm_cand " candidate pages of the guest (its kernel image, zeroed free pages, executables'"'"' page cache) arrived, as the guest counted, and were withdrawn at its rmmod")
			else
				emit("not ok", "l3 host: the guest'"'"'s candidates arrived and were withdrawn # host added " ksm_cand ", withdrawn " ksm_cand_wd ", guest counted " guest_ksm_cand)
		}
	}
	print "TAP version 13"
	print "1.." n
	printf "# l3 %s: %s s wall, qemu exit %s, log %s\n", tag, secs, qrc, logf
	printf "%s", ENVIRON["retry_diag"]
	if (ENVIRON["qemu_err"] != "")
		print ENVIRON["qemu_err"]
	if (ENVIRON["reset_diag"] != "")
		print ENVIRON["reset_diag"]
	if (ENVIRON["stuck_diag"] != "")
		print ENVIRON["stuck_diag"]
	print ENVIRON["phases_diag"]
	if (ENVIRON["steps_diag"] != "")
		print ENVIRON["steps_diag"]
	if (ENVIRON["topo_diag"] != "")
		print ENVIRON["topo_diag"]
	printf "%s", diag[0]
	for (i = 1; i <= n; i++) { print out[i]; printf "%s", diag[i] }
}' "$PVX_OUT/l3-$tag.console" >"$PVX_OUT/l3-$tag.tap"
rm -f "$PVX_OUT/l3-$tag.console"
cat "$PVX_OUT/l3-$tag.tap"

# (no process substitution: L2's chroot has no /dev/fd)
counts=$(awk '
/^ok [0-9]+/ { if ($0 ~ /# *SKIP/) s++; else p++ }
/^not ok [0-9]+/ { if ($0 ~ /# *SKIP/) s++; else f++ }
END { print p + 0, f + 0, s + 0 }' "$PVX_OUT/l3-$tag.tap")
read -r pass fail skip <<<"$counts"
[ "$fail" -gt 0 ] && exit 1
[ "$pass" -eq 0 ] && [ "$skip" -gt 0 ] && exit 4
[ "$pass" -eq 0 ] && exit 1
exit 0
