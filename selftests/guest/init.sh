#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# /init of the L3 guest initramfs (built by mkinitrd.sh). Loads
# pvx_guest.ko, runs pvx_guest_test with the expectation named on the
# kernel command line (pvx_expect=host|fallback), then its --reload (rmmod
# and a second insmod) and, in host boots, its --host-switch (L2 takes
# pvx away from the guest and gives it back); pvxtop's counts over
# reprobes (pvxtop_guest_test --probes); then the pv spinlock:
# pvx_spinlock.ko, pvx_yield_test (sysfs and PVX_IOC_YIELD_TO), the
# pvx_lock_torture.ko test module, and unloading (pvx_spinlock_module_test
# loads and unloads them); then the steal-time timers: pvx_stimer.ko with
# the steal source it finds and with steal_source=none, pvx_stimer_test,
# the pvx_stimer_torture.ko test module, rmmod with an armed timer fd; then
# NUMA hints (pvx_locality.ko) and batched fork-copy (pvx_fork.ko,
# pvx_fork_guest_test with libpvx's pvx_fork()) and KSM hints
# (pvx_ksm_guest.ko, pvx_ksm_guest_test, pvx_ksm_module_test). Writes
# one TAP 13 stream, between the lines PVX-TAP-BEGIN and PVX-TAP-END, to
# the virtio-serial port org.pvx.results (run-l3.sh keeps it in a file of
# L2), then powers off. The console carries the steps as they start.
#
# Steal boots (run-l3.sh --steal PCT / --no-steal-time put pvx_steal=PCT /
# pvx_steal_time=off on the command line): first the steal-share check
# (pvx_steal_share: levels 0/25/50/75 asked from L2, or 0 and PCT without
# steal time, then back to PCT), and no lock torture (its phases are long
# and it is not about steal).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# the results port's driver, where it is a module (mkinitrd.sh)
while read -r ko; do insmod "/lib/pvx/$ko"; done </lib/pvx/load-order

KO=/pvx/pvx_guest.ko
TEST=/pvx/pvx_guest_test
SPIN_KO=/pvx/pvx_spinlock.ko
TORTURE_KO=/pvx/pvx_lock_torture.ko
YIELD_TEST=/pvx/pvx_yield_test
SPIN_MODULE_TEST=/pvx/pvx_spinlock_module_test
PVXTOP_TEST=/pvx/pvxtop_guest_test
STEAL_SHARE=/pvx/pvx_steal_share
STIMER_KO=/pvx/pvx_stimer.ko
LOCALITY_KO=/pvx/pvx_locality.ko
NUMA_TEST=/pvx/pvx_numa_guest_test
FORK_KO=/pvx/pvx_fork.ko
KSM_KO=/pvx/pvx_ksm_guest.ko
FORK_TEST=/pvx/pvx_fork_guest_test
STIMER_TEST=/pvx/pvx_stimer_test
STIMER_TORTURE_KO=/pvx/pvx_stimer_torture.ko
STIMER_TORTURE_RESULTS=/sys/kernel/debug/pvx_stimer_torture/results
# set by the lab's topology boots (run-l3.sh --topology): pvx_topology=NAME
TOPOLOGY=
# set by make demo's boot (run-l3.sh --demo): pvx_demo=1
DEMO=
# set by the lab's migrate suite (run-l3.sh --migrate DIRTY):
# pvx_migrate=bitmap|ring|mixed|unload|nohost; pvx_migrate_args=A,B,...
# for the checker
MIGRATE=
MIGRATE_ARGS=
MIGRATE_TEST=/pvx/pvx_migrate_guest
# set by the lab's steal-injection boots: pvx_steal=PCT, pvx_steal_time=off
STEAL_PCT=
STEAL_TIME=on
# pvx_lock_torture parameters: pvx_torture=a=1,b=2 on the kernel command line
TORTURE_ARGS=
# pvx_tune=full (run-l3.sh, PVX_L3_TUNE=full): the spin_threshold session
# with its comparison rounds (tuning.rst), 8 s rounds whatever the soak;
# the lab's suite runs its checks
TUNE=short
# pvx_soak=long (run-l3.sh, PVX_LAB_SOAK=long, make check-full's): the
# lock torture's free phases and tuning rounds run 10 s and 8 s of L3 time
# each; make check's short soak 4 s each: the same checks, which count
# what happened and not how long it ran, on fewer rounds
SOAK=short
FREE_BUDGET_MS=4000
TUNE_BUDGET_MS=4000
TORTURE_RESULTS=/sys/kernel/debug/pvx_lock_torture/results
TAP=/tmp/tap
n=0
: >"$TAP"

ok() { n=$((n + 1)); echo "ok $n $*" >>"$TAP"; }
# progress on the console: run-l3.sh names the last one when L3 times out
step() { echo "pvx-l3: $* (uptime $(cut -d' ' -f1 /proc/uptime) s)"; }
# where the loaded modules sit: an L3 that resets itself or goes quiet is
# reported with each vCPU's RIP (run-l3.sh), and module text has no fixed
# address
module_lines() { awk '{ print "pvx-l3: module " $1 " at " $6 }' /proc/modules; }
# a failure also goes to the console at once: run-l3.sh boots an L3 that
# reset itself again only when nothing had failed before the reset
not_ok() { n=$((n + 1)); echo "not ok $n $*" >>"$TAP"; echo "pvx-l3: FAILED: not ok $n $*"; }
diag() { echo "# $*" >>"$TAP"; }
# check DESCRIPTION COMMAND...: one test line from a command's status
check() {
	d=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then ok "$d"; else not_ok "$d # $(head -n1 /tmp/check.out)"; fi
}
loaded() { grep -q '^pvx_guest ' /proc/modules; }
unloaded() { ! loaded && [ ! -e /sys/kernel/pvx ] && [ ! -e /dev/pvx ]; }
host_lines() { dmesg | grep -c 'pvx_guest: host '; }

# pvxtop in the guest (Documentation/pvxtop.rst): pvxtop_guest_test runs
# it (/pvx/pvxtop, the static build: make -C tools/pvxtop static) over 20
# reprobes (--probes) and around the lock tortures and pvx_stimer_test
# (--window) and checks its counts against the sysfs counters' growth;
# the --advise sessions below check its advice.
# pvxtop_missed EVENT FILE: the events of EVENT (e.g. pvx/stimer_fire)
# that pvxtop's program was skipped for, from the JSON end line in FILE:
# the kernel runs no tracing program on a CPU where BPF already runs
# (timer interrupts during pvxtop's own map reads, on a slow nested machine)
pvxtop_missed() {
	sed -n "s|.*\"type\":\"end\".*\"$1\":\([0-9]*\).*|\1|p" "$2" |
		tail -n 1 | grep . || echo 0
}
# counted_all WHAT COUNTED MISSED WANT: one check that pvxtop's COUNTED
# plus MISSED is WANT, the growth of the module's own counter
counted_all() {
	check "pvxtop: $1 $2 + $3 missed = $4" [ $(($2 + $3)) = "$4" ]
}
# cpus_settle: each CPU has run a process of ours since the caller's last
# reading of a counter. A timer's hard irq counts its fire and then
# traces it; L2 may stop the vCPU between the two (its steal injection
# does, for milliseconds), so a pvxtop stopped right after that reading
# would miss an event the counter has. A CPU that runs a process has
# finished the hard irq it was in.
cpus_settle() {
	local c=0 n
	n=$(grep -c '^processor' /proc/cpuinfo)
	while [ $c -lt "$n" ]; do
		taskset -c $c true
		c=$((c + 1))
	done
}

# pvxtop --advise (Documentation/tuning.rst). advise_num FILE KNOB KEY and
# advise_str FILE KNOB KEY: a number or string of that knob's advice line.
advise_num() {
	grep "\"knob\":\"$2\"" "$1" | sed -n "s/.*\"$3\":\([0-9.]*\).*/\1/p" | head -n 1
}
advise_str() {
	grep "\"knob\":\"$2\"" "$1" | sed -n "s/.*\"$3\":\"\([^\"]*\)\".*/\1/p" | head -n 1
}
# advise_got FILE KNOB: "VERDICT", or "change DIRECTION SUGGESTED"
advise_got() {
	local v
	v=$(advise_str "$1" "$2" verdict)
	[ "$v" = change ] && v="change $(advise_str "$1" "$2" direction) $(advise_num "$1" "$2" suggested)"
	echo "$v"
}
# advise_start FILE: pvxtop --advise --json -d 600 in the background (its
# window ends at advise_stop's SIGINT), its start line within 10 s; and
# the same as text into FILE.txt, for the eye (tuning.rst shows it)
advise_start() {
	local i
	ADVISE_PID='' ADVISE_TXT_PID=''
	[ -x /pvx/pvxtop ] || return 1
	/pvx/pvxtop --advise --json -d 600 >"$1" 2>"$1.err" &
	ADVISE_PID=$!
	/pvx/pvxtop --advise -d 600 >"$1.txt" 2>&1 &
	ADVISE_TXT_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		# the text run has no start line: it loads as fast, give it 1 s
		grep -q '"type":"start"' "$1" && sleep 1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	not_ok "pvxtop --advise --json: no start line in 10 s # $(head -n 1 "$1.err")"
	kill "$ADVISE_PID" "$ADVISE_TXT_PID" 2>/dev/null
	wait "$ADVISE_PID" "$ADVISE_TXT_PID"
	return 1
}
advise_stop() {	# advise_stop FILE WHAT: 0 when it advised and exited 0
	local rc
	kill -INT "$ADVISE_PID" "$ADVISE_TXT_PID"
	wait "$ADVISE_PID"
	rc=$?
	wait "$ADVISE_TXT_PID"
	check "pvxtop --advise --json over $2: exit 0 after SIGINT (exit $rc) $(head -c 200 "$1.err")" \
		[ "$rc" = 0 ]
	grep '"type":"advice"' "$1" | while read -r l; do diag "$l"; done
	while read -r l; do diag "$l"; done <"$1.txt"
	[ "$rc" = 0 ] && grep -q '"type":"end"' "$1"
}
# top_during SECONDS FILE: pvxtop's table for that long in the background
# (the first round of a session shows what pvxtop showed)
top_during() {
	/pvx/pvxtop -d "$1" >"$2" 2>&1 &
	TOP_PID=$!
}
top_done() {	# top_done FILE: wait for it, its screens as # lines
	wait "$TOP_PID"
	while read -r l; do diag "$l"; done <"$1"
}
# advise_idle KNOB: with nothing running, 2 s are too few events to judge
advise_idle() {
	local rc v
	/pvx/pvxtop --advise --json -d 2 >/tmp/advise-idle.json 2>/tmp/advise-idle.err
	rc=$?
	v=$(advise_str /tmp/advise-idle.json "$1" verdict)
	check "pvxtop --advise -d 2 with no load: $1 has too few events to judge (exit $rc, '$v')" \
		[ "$rc" = 0 -a "$v" = too_few ]
}
# the rules of tools/pvxtop/pvxtop.c, written again: what --advise must say
# spin_rule THRESHOLD_YIELDS TARGET_RUNNING SLOW_PATHS CURRENT
spin_rule() {
	awk -v t="$1" -v r="$2" -v p="$3" -v c="$4" 'BEGIN {
		if (t < 30) { print "too_few"; exit }
		if (r * 100 < t * 50 && t * 4 < p) { print "none"; exit }
		s = c * 4; if (s > 16777216) s = 16777216
		if (s == c) print "none"; else print "change raise " s }'
}
# follow_advice ROUND TAG VALUE: after "ROUND VALUE ..." set ADVISED, run
# ROUND at the value advised while a change is advised, at most 3 times;
# FOLLOWED is the last value run
follow_advice() {
	local i=0
	FOLLOWED=$3
	while [ $i -lt 3 ]; do
		case $ADVISED in change*) ;; *) return 0 ;; esac
		FOLLOWED=${ADVISED##* }
		i=$((i + 1))
		"$1" "$FOLLOWED" "$2$FOLLOWED" || return 1
	done
}
cap_rule() {	# cap_rule FIRES CAP CURRENT
	awk -v f="$1" -v k="$2" -v c="$3" 'BEGIN {
		if (f < 30) { print "too_few"; exit }
		if (k * 100 < f * 25) { print "none"; exit }
		s = c * 2; if (s > 64) s = 64
		if (s == c) print "none"; else print "change raise " s }'
}

# results_port: the device of the virtio-serial port run-l3.sh names
# org.pvx.results. A virtio write returns once L2's QEMU has taken the
# bytes (into its file): nothing is lost to the poweroff that follows,
# and a reset after it leaves the whole TAP in L2.
results_port() {
	for i in 1 2 3 4 5; do
		for p in /sys/class/virtio-ports/*; do
			[ "$(cat "$p/name" 2>/dev/null)" = org.pvx.results ] &&
				[ -c "/dev/${p##*/}" ] && echo "/dev/${p##*/}" && return 0
		done
		sleep 1
	done
	return 1
}

finish() {
	# says, when the TAP does not come, whether /init got this far
	step "finish: $n results"
	module_lines
	if port=$(results_port); then
		{ echo "PVX-TAP-BEGIN"; echo "TAP version 13"; echo "1..$n"; cat "$TAP"
		  echo "PVX-TAP-END"; } >"$port"
	else
		echo "pvx-l3: no virtio-serial port org.pvx.results: the TAP stays here"
	fi
	sync
	poweroff -f
}

# run_test LABEL [PROGRAM [ARGS]]: a kselftest program's results (default
# pvx_guest_test --expect-MODE), renumbered into this stream
run_test() {
	label=$1
	shift
	[ $# -gt 0 ] || set -- "$TEST" "--expect-$mode"
	"$@" >/tmp/test.out 2>&1
	rc=$?
	add_tap "$label" /tmp/test.out
	case $rc in
	0) ok "$label exits 0" ;;
	4) ok "$label exits 4 # SKIP every test skipped" ;;
	*) not_ok "$label exits $rc # $(grep -v '^ok\|^not ok\|^#\|^1\.\.\|^TAP' /tmp/test.out | head -n1)" ;;
	esac
}

# add_tap LABEL FILE: the TAP lines of FILE, renumbered into this stream
add_tap() {
	label=$1
	while IFS= read -r line; do
		case "$line" in
		"ok "[0-9]* | "not ok "[0-9]*)
			res=${line%% [0-9]*}
			rest=${line#"$res" }
			rest=${rest#* }
			n=$((n + 1))
			echo "$res $n $label: $rest" >>"$TAP"
			[ "$res" = ok ] || echo "pvx-l3: FAILED: $res $n $label: $rest" ;;
		"#"*) echo "$line" >>"$TAP" ;;
		esac
	done <"$2"
}

no_splat() {
	splat='BUG:\|WARNING:\|Call Trace\|soft lockup\|hard LOCKUP\|rcu_.*stall'
	if dmesg | tail -n +$((boot_lines + 1)) | grep -q "$splat"; then
		not_ok "no kernel splat in dmesg since the first insmod # $(dmesg | tail -n +$((boot_lines + 1)) | grep -m1 "$splat")"
		# the first splat whole: its registers, modules and call trace
		dmesg | tail -n +$((boot_lines + 1)) | grep -A 40 -m1 "$splat" | sed 's/^/# splat: /' >>"$TAP"
	else
		ok "no kernel splat in dmesg since the first insmod"
	fi
}

# The topology boots (run-l3.sh --topology NAME) check what the shape of
# the VM decides, and nothing else:
#   swapped-rt  4 vCPUs, the VMM created CPU 3's before CPU 2's (their
#               vCPU indexes are 3 and 2 swapped), KVM_HINTS_REALTIME:
#               the spinlock must not yield or halt (mode spin), and
#               directed yields by APIC ID and by index are made at each
#               CPU (pvx_lock_torture phases=yield-map); run-l3.sh checks
#               in L2 which vCPU each reached
#   1cpu        one vCPU: mode spin (nobody to yield to or kick)
# pvx_spinlock_module_test --topology loads and unloads pvx_spinlock (and
# the torture) and checks them; it prints the step "pvx_lock_torture
# yield-map"
topology_boot() {
	step "topology $TOPOLOGY"
	run_test pvx_spinlock "$SPIN_MODULE_TEST" --topology "$TOPOLOGY" "$SPIN_KO" "$TORTURE_KO"
	check "rmmod pvx_guest" rmmod pvx_guest
	no_splat
	finish
}

# ---- the host stops serving pvx while the guest runs ----------------------
# run-l3.sh (host mode) serves "pvx off|on|mask-yield|unmask|abi1|abi2" on
# the second serial port: it switches this VM's pvx_host enabled file or
# features mask, or the ABI version pvx_host announces, in L2; off is what
# the guest sees after a migration to a host without pvx (every pvx call
# -ENOSYS). pvx_guest_test --host-switch asks for each and checks that the
# guest follows, its YIELDs made through pvx_call_once.ko.
CALL_KO=/pvx/pvx_call_once.ko
CTL=/dev/ttyS1

# ask_l2 REQUEST: 0 when L2 answered "ok pvx REQUEST" (a subshell: a
# failed redirection must not end /init)
ask_l2() (
	stty -F "$CTL" raw -echo 2>/dev/null
	exec 4<>"$CTL" || exit 1
	echo "pvx $1" >&4
	ans=""
	# shellcheck disable=SC3045 # busybox ash's read has -t
	while read -r -t 20 ans <&4; do
		ans=$(echo "$ans" | tr -d '\r')
		[ -n "$ans" ] && break
	done
	[ "$ans" = "ok pvx $1" ] || { echo "L2 answered '$ans'"; exit 1; }
)
reprobe() { (echo 1 >/sys/kernel/pvx/reprobe) 2>/dev/null; }
pvx_attr() { cat "/sys/kernel/pvx/$1" 2>/dev/null; }

# migrate_test: pvx_guest_test --host-switch, in a host boot that has L2's
# control port
migrate_test() {
	if [ "$mode" != host ] || [ "$steal_boot" = 1 ] || [ ! -e "$CTL" ]; then
		diag "migration fallback not tested: needs a host boot with L2's control port $CTL"
		return
	fi
	step "migration fallback"
	run_test "pvx_guest_test --host-switch" "$TEST" --host-switch "$CTL" "$CALL_KO"
}

# ---- the migrate suite: no page the host wrote is lost -------------------
# L2 (selftests/guest/migrate-l2.sh) live-migrates this guest between QEMU
# processes while pvx_migrate_guest has the host write its pages
# (PVX_IOC_FORK_COPY, pvx_fork()) and checks them after each landing, and
# holds 8 pages protected from merging (PVX_IOC_KSM_PROTECT), which each
# destination must pin again; the two talk on the control port. pvx's
# other features run on meanwhile and the checker looks at them after each
# landing: the pv spinlock torture (again and again: the checker's
# --torture), a steal-corrected timer loop and pvx_locality's automatic
# map.
migrate_boot() {
	step "migrate ($MIGRATE)"
	check "insmod pvx_ksm_guest.ko interval_ms=0" insmod "$KSM_KO" interval_ms=0
	check "insmod pvx_spinlock.ko" insmod "$SPIN_KO"
	check "insmod pvx_stimer.ko" insmod "$STIMER_KO"
	check "insmod pvx_locality.ko auto=1" insmod "$LOCALITY_KO" auto=1
	if insmod "$FORK_KO" >/tmp/insmod.out 2>&1; then
		ok "insmod pvx_fork.ko"
		dmesg | grep 'pvx_fork: ' | sed 's/^/# dmesg: /' >>"$TAP"
		# shellcheck disable=SC2086 # the checker's options, one word each
		run_test pvx_migrate_guest "$MIGRATE_TEST" --ctl "$CTL" --ksm-protect 8 \
			--timer-ms 20 --spin --locality --torture "$TORTURE_KO" $MIGRATE_ARGS
		for f in /sys/kernel/pvx/fork_copy/* /sys/kernel/pvx/ksm/resen* \
			 /sys/kernel/pvx/ksm/protected_* /sys/kernel/pvx/stats/* \
			 /sys/kernel/pvx/locality/auto_* /sys/kernel/pvx/stimer/fired_* \
			 /sys/kernel/pvx/spinlock/acquisitions; do
			[ -f "$f" ] && diag "${f#/sys/kernel/pvx/}: $(cat "$f")"
		done
		check "rmmod pvx_fork" rmmod pvx_fork
	else
		not_ok "insmod pvx_fork.ko # $(head -n1 /tmp/insmod.out)"
	fi
	for m in pvx_ksm_guest pvx_locality pvx_stimer pvx_spinlock pvx_guest; do
		check "rmmod $m" rmmod $m
	done
	no_splat
	finish
}

# first console line of /init: run-l3.sh boots L3 again only when it is missing
step "init"
mode=
read -r cmdline </proc/cmdline
for w in $cmdline; do
	case "$w" in
	pvx_expect=*) mode=${w#pvx_expect=} ;;
	pvx_torture=*) TORTURE_ARGS=$(echo "${w#pvx_torture=}" | tr , ' ') ;;
	pvx_steal=*) STEAL_PCT=${w#pvx_steal=} ;;
	pvx_steal_time=*) STEAL_TIME=${w#pvx_steal_time=} ;;
	pvx_topology=*) TOPOLOGY=${w#pvx_topology=} ;;
	pvx_demo=1) DEMO=1 ;;
	pvx_migrate=*) MIGRATE=${w#pvx_migrate=} ;;
	pvx_migrate_args=*) MIGRATE_ARGS=$(echo "${w#pvx_migrate_args=}" | tr , ' ') ;;
	pvx_tune=full) TUNE=full ;;
	pvx_soak=long) SOAK=long FREE_BUDGET_MS=10000 TUNE_BUDGET_MS=8000 ;;
	esac
done
# the session tuning.rst quotes ran 8 s rounds
[ "$TUNE" = full ] && TUNE_BUDGET_MS=8000
case "$mode" in
host) want='pvx_guest: host pvx ABI ' ;;
fallback) want='pvx_guest: host has no pvx ' ;;
*)
	not_ok "kernel command line has pvx_expect=host or pvx_expect=fallback # got '$mode'"
	finish ;;
esac
diag "L3 guest: kernel $(uname -r), expecting $mode, soak $SOAK, uptime $(cut -d' ' -f1 /proc/uptime) s"
steal_boot=0
if [ -n "$STEAL_PCT" ] || [ "$STEAL_TIME" = off ]; then steal_boot=1; fi

# 0. steal injection: does this guest see the steal L2 injects?
if [ -n "$STEAL_PCT" ]; then
	step "steal share (injected $STEAL_PCT%, steal time $STEAL_TIME)"
	diag "dmesg: $(dmesg | grep -m1 -i 'steal' || echo 'no steal line')"
	if [ "$STEAL_TIME" = off ]; then
		run_test pvx_steal_share "$STEAL_SHARE" --expect-none --levels "0,$STEAL_PCT" \
			--restore "$STEAL_PCT"
	else
		run_test pvx_steal_share "$STEAL_SHARE" --levels 0,25,50,75 --restore "$STEAL_PCT"
	fi
fi

# 1. first load (kernel lines before it are the boot's, not ours)
boot_lines=$(dmesg | wc -l)
if ! insmod "$KO" >/tmp/insmod.out 2>&1; then
	not_ok "insmod pvx_guest.ko # $(head -n1 /tmp/insmod.out)"
	dmesg | grep pvx_guest | sed 's/^/# dmesg: /' >>"$TAP"
	finish
fi
ok "insmod pvx_guest.ko"
dmesg | grep pvx_guest | sed 's/^/# dmesg: /' >>"$TAP"
if cd /sys/kernel/pvx 2>/dev/null; then
	for f in * features/* stats/*; do
		[ "$f" = reprobe ] && continue	# write-only
		[ -f "$f" ] && diag "/sys/kernel/pvx/$f: $(cat "$f")"
	done
	cd /
fi
c=$(host_lines)
if [ "$c" = 1 ] && dmesg | grep -q "$want"; then
	ok "dmesg says once what the host offers ('$want')"
else
	not_ok "dmesg says once what the host offers ('$want') # $c 'pvx_guest: host' lines"
fi

[ -n "$TOPOLOGY" ] && topology_boot
[ -n "$MIGRATE" ] && migrate_boot

# 2. the behaviour tests
step "pvx_guest_test"
run_test pvx_guest_test
# make demo's boot (run-l3.sh --demo) ends here: the feature suites are
# the lab's guest suite's
if [ -n "$DEMO" ]; then
	check "rmmod pvx_guest" rmmod pvx_guest
	no_splat
	finish
fi

# 3. unload: refused while /dev/pvx is open, clean afterwards; 4. load
# again: probes again, says so again (pvx_guest_test --reload), works the
# same
run_test "pvx_guest_test --reload" "$TEST" --reload "$KO"
run_test "pvx_guest_test after reload"
migrate_test
step "pvxtop"
if [ -x /pvx/pvxtop ]; then
	run_test pvxtop "$PVXTOP_TEST" --probes
else
	ok "pvxtop in the guest # SKIP no /pvx/pvxtop in the initramfs (lab builds it with clang and bpftool)"
fi
check "rmmod pvx_guest again" rmmod pvx_guest
check "clean after second rmmod" unloaded

# 5. pv spinlock: load, sysfs and PVX_IOC_YIELD_TO, torture, unload.
# pvx_spinlock_module_test loads and unloads pvx_spinlock and runs the
# lock tortures (pvx_lock_torture.ko) on it; pvxtop watches them
# (pvxtop_guest_test --window spin).
step "pv spinlock tests"
spin_stat() { cat "/sys/kernel/pvx/spinlock/$1" 2>/dev/null || echo 0; }
check "insmod pvx_guest.ko for the spinlock" insmod "$KO"
# its dmesg lines, the mode said once, pvx_guest held
run_test pvx_spinlock "$SPIN_MODULE_TEST" --load "$SPIN_KO"
grep -q '^pvx_spinlock ' /proc/modules || finish
step "pvx_yield_test"
run_test pvx_yield_test "$YIELD_TEST" "--expect-$mode"

step "pvx_lock_torture starts"
module_lines
if [ "$steal_boot" = 1 ]; then
	diag "pvx_lock_torture not run in a steal boot (pvx_steal=$STEAL_PCT pvx_steal_time=$STEAL_TIME)"
else
	# the torture with TORTURE_ARGS, its counters, pvx_spinlock held, then
	# the free-try and free-lock phases; it prints the steps
	# "pvx_lock_torture done", "pvx_lock_torture free-try" and "... free-lock".
	# pvxtop watches it: its pvx:spin_yield, pvx:spin_halt and
	# pvx:spin_kick counts against sysfs (pvxtop_guest_test --window spin)
	# shellcheck disable=SC2086 # TORTURE_ARGS is a list of words
	run_test pvx_lock_torture "$PVXTOP_TEST" --window spin -- \
		"$SPIN_MODULE_TEST" --torture "$TORTURE_KO" \
		--free-budget-ms "$FREE_BUDGET_MS" $TORTURE_ARGS
fi
# pvxtop --advise on spin_threshold: a tuning session, written out in
# Documentation/tuning.rst. The workload is the torture's mutex phase
# (9 threads, TUNE_BUDGET_MS); spin_threshold starts at 64 and is turned
# as --advise says, at most 3 times; then 64 and the last value run once more each
# (interleaved: the lab's speed drifts). In every round --advise's yields
# must be sysfs's and its verdict the documented rule's (spin_rule).
# tune_round THRESHOLD TAG: one round; ADVISED is what --advise said
tune_round() {
	local f=/tmp/advise-$2.json y0 p0 t0 t1 y p acq thr run dn want
	ADVISED=
	echo "$1" >/sys/kernel/pvx/spinlock/spin_threshold
	advise_start "$f" || return 1
	y0=$(spin_stat yields_issued) p0=$(spin_stat slow_paths)
	t0=$(cut -d' ' -f1 /proc/uptime)
	step "pvx_lock_torture tune $2 (spin_threshold $1)"
	[ "$2" = from64 ] && top_during 4 /tmp/top-spin.txt
	if insmod "$TORTURE_KO" phases=mutex budget_ms=$TUNE_BUDGET_MS hang_timeout=150 \
		>/tmp/insmod.out 2>&1 && cat "$TORTURE_RESULTS" >/tmp/torture.out 2>/dev/null; then
		add_tap "pvx_lock_torture tune $2" /tmp/torture.out
	else
		not_ok "pvx_lock_torture tune $2 # $(head -n1 /tmp/insmod.out)"
		: >/tmp/torture.out
	fi
	rmmod pvx_lock_torture 2>/dev/null
	t1=$(cut -d' ' -f1 /proc/uptime)
	[ "$2" = from64 ] && top_done /tmp/top-spin.txt
	y=$(($(spin_stat yields_issued) - y0)) p=$(($(spin_stat slow_paths) - p0))
	advise_stop "$f" "the torture with spin_threshold $1" || return 1
	acq=$(sed -n 's/^# \([0-9]*\) thread acquisitions in all phases$/\1/p' /tmp/torture.out)
	diag "tune spin_threshold=$1 acquisitions=$acq seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') yields_issued=$y slow_paths=$p"
	check "pvxtop --advise: spin_threshold now '$(advise_str "$f" spin_threshold current)' = $1" \
		[ "$(advise_str "$f" spin_threshold current)" = "$1" ]
	counted_all "--advise yields, spinlock/yields_issued growth" \
		"$(advise_num "$f" spin_threshold yields)" "$(pvxtop_missed pvx/spin_yield "$f")" "$y"
	check "pvxtop --advise: slow paths $(advise_num "$f" spin_threshold slow_paths) = spinlock/slow_paths growth $p" \
		[ "$(advise_num "$f" spin_threshold slow_paths)" = "$p" ]
	thr=$(advise_num "$f" spin_threshold threshold_yields)
	run=$(advise_num "$f" spin_threshold target_running)
	dn=$(advise_num "$f" spin_threshold "done")
	ADVISED=$(advise_got "$f" spin_threshold)
	want=$(spin_rule "$thr" "$run" "$p" "$1")
	check "pvxtop --advise at spin_threshold $1: '$ADVISED', the rule on $thr threshold yields ($run running, $dn done) in $p slow paths: '$want'" \
		[ -n "$thr" -a "$ADVISED" = "$want" ]
}
tune_session() {
	local v
	advise_idle spin_threshold
	tune_round 64 from64 || return
	check "pvxtop --advise judged spin_threshold 64 on the torture (not too few yields): '$ADVISED'" \
		[ "$ADVISED" != too_few ]
	follow_advice tune_round step 64 || return
	v=$FOLLOWED
	# the comparison rounds check nothing the rounds before did not:
	# they give tuning.rst its throughput side by side
	[ "$TUNE" = full ] || return 0
	if [ "$v" != 64 ]; then
		tune_round 64 again64 || return
		tune_round "$v" "again$v" || return
	fi
	tune_round 16384 default
}
if [ "$steal_boot" != 1 ] && [ -x /pvx/pvxtop ] &&
   [ "$(cat /sys/kernel/pvx/spinlock/mode)" = pvx-yield ]; then
	tune_session
	echo 16384 >/sys/kernel/pvx/spinlock/spin_threshold
elif [ "$steal_boot" != 1 ] && [ -x /pvx/pvxtop ]; then
	/pvx/pvxtop --advise --json -d 1 >/tmp/advise-mode.json 2>&1
	check "pvxtop --advise in mode $(cat /sys/kernel/pvx/spinlock/mode): spin_threshold not judged ($(advise_str /tmp/advise-mode.json spin_threshold why))" \
		[ "$(advise_str /tmp/advise-mode.json spin_threshold verdict)" = not_judged ]
fi
# rmmod while the lock is unused, sysfs gone
run_test pvx_spinlock "$SPIN_MODULE_TEST" --unload
run_test "pvx_yield_test without pvx_spinlock" "$YIELD_TEST" --expect-enotty
# halt=maybe refused, halt=0 (halting 0), a load again
run_test pvx_spinlock "$SPIN_MODULE_TEST" --reload "$SPIN_KO"
check "rmmod pvx_guest after pvx_spinlock" rmmod pvx_guest
check "clean after the spinlock tests" unloaded
# 6. steal-time timers. Steal comes from the guest itself (pvx_stimer_test
# keeps every vCPU busy: L3's 4 vCPUs share L2's 2 CPUs) and, in the lab's
# pvx_steal=PCT boots, from L2's throttling too. In the pvx_steal_time=off
# boot the host offers no steal time: the module must fall back.
step "steal-time timer tests"
diag "steal injection: pvx_steal=${STEAL_PCT:-none}, pvx_steal_time=$STEAL_TIME"
stimer_src() { cat /sys/kernel/pvx/stimer/steal_source 2>/dev/null; }
stimer_stat() { cat "/sys/kernel/pvx/stimer/$1" 2>/dev/null; }
stimer_diag() {
	for f in /sys/kernel/pvx/stimer/*; do
		[ -f "$f" ] && diag "stimer/${f##*/}: $(cat "$f")"
	done
}
# cap_round FACTOR TAG: one round of the cap_factor session; ADVISED is
# what --advise said
cap_round() {
	local f=/tmp/advise-$2.json fe0 fc0 fe fc want
	ADVISED=
	echo "$1" >/sys/kernel/pvx/stimer/cap_factor
	advise_start "$f" || return 1
	fe0=$(stimer_stat fired_effective) fc0=$(stimer_stat fired_cap)
	step "pvx_stimer_test --load 4 (cap_factor $1)"
	[ "$2" = cap1 ] && top_during 3 /tmp/top-cap.txt
	"$STIMER_TEST" --load 4 >/tmp/load.out 2>&1 ||
		not_ok "pvx_stimer_test --load 4 (cap_factor $1) # $(tail -n 1 /tmp/load.out)"
	[ "$2" = cap1 ] && top_done /tmp/top-cap.txt
	fe=$(($(stimer_stat fired_effective) - fe0)) fc=$(($(stimer_stat fired_cap) - fc0))
	cpus_settle
	advise_stop "$f" "a timer load with cap_factor $1" || return 1
	diag "tune cap_factor=$1 fires=$((fe + fc)) cap=$fc rearms=$(advise_num "$f" cap_factor rearms) ($(tail -n 1 /tmp/load.out))"
	check "pvxtop --advise: cap_factor now '$(advise_str "$f" cap_factor current)' = $1" \
		[ "$(advise_str "$f" cap_factor current)" = "$1" ]
	mi=$(pvxtop_missed pvx/stimer_fire "$f") tc=$(advise_num "$f" cap_factor cap)
	counted_all "--advise fires, fired_effective + fired_cap growth" \
		"$(advise_num "$f" cap_factor fires)" "$mi" $((fe + fc))
	check "pvxtop --advise: on the cap $tc (+ up to $mi missed) = fired_cap growth $fc" \
		[ "$tc" -le "$fc" -a "$fc" -le $((tc + mi)) ]
	ADVISED=$(advise_got "$f" cap_factor)
	want=$(cap_rule $((fe + fc)) "$fc" "$1")
	check "pvxtop --advise at cap_factor $1: '$ADVISED', the rule on $((fe + fc)) expiries ($fc on the cap): '$want'" \
		[ "$ADVISED" = "$want" ]
}
cap_session() {
	advise_idle cap_factor
	cap_round 1 cap1 || return
	check "cap_factor 1 under a busy load: a raise advised ('$ADVISED')" \
		[ "${ADVISED% *}" = "change raise" ]
	follow_advice cap_round cap 1
}
check "insmod pvx_guest.ko for the timers" insmod "$KO"
if insmod "$STIMER_KO" >/tmp/insmod.out 2>&1; then
	ok "insmod pvx_stimer.ko"
	dmesg | grep 'pvx_stimer: ' | sed 's/^/# dmesg: /' >>"$TAP"
	src=$(stimer_src)
	step "pvx_stimer_test"
	# first what pvx_stimer said at this load: the source, once, and the
	# one pvx_steal_time leads to. pvxtop watches it: its
	# pvx:stimer_fire and pvx:stimer_rearm counts against sysfs
	# (pvxtop_guest_test --window stimer)
	run_test pvx_stimer_test "$PVXTOP_TEST" --window stimer -- \
		"$STIMER_TEST" --source auto --steal-time "$STEAL_TIME"
	# pvxtop --advise on cap_factor: 20 ms timer fds on every CPU, all
	# busy (pvx_stimer_test --load 4), from cap_factor 1 turned as --advise
	# says; its numbers must be sysfs's, its verdict the rule's (cap_rule)
	if [ "$src" = kvm-steal-time ] && [ -x /pvx/pvxtop ]; then
		cap_session
		echo 4 >/sys/kernel/pvx/stimer/cap_factor
	fi
	step "pvx_stimer_torture"
	# fewer cross-CPU rounds when L2 throttles the guest: each waits for it
	rounds=500
	[ -n "$STEAL_PCT" ] && rounds=200
	if insmod "$STIMER_TORTURE_KO" race_rounds=$rounds >/tmp/insmod.out 2>&1; then
		ok "insmod pvx_stimer_torture.ko (runs the kernel API tests)"
		if cat "$STIMER_TORTURE_RESULTS" >/tmp/stimer_torture.out 2>/dev/null; then
			add_tap pvx_stimer_torture /tmp/stimer_torture.out
		else
			not_ok "pvx_stimer_torture results # no $STIMER_TORTURE_RESULTS"
		fi
		# a late expiry counts the periods meanwhile (irqs_off_us)
		run_test "pvx_stimer_test --late" "$STIMER_TEST" --late
		check "rmmod pvx_stimer refused while pvx_stimer_torture uses it" sh -c '! rmmod pvx_stimer'
		check "rmmod pvx_stimer_torture" rmmod pvx_stimer_torture
		# nothing is armed now: every start fired or was cancelled
		s=$(stimer_stat started) e=$(stimer_stat fired_effective)
		c=$(stimer_stat fired_cap) x=$(stimer_stat cancelled)
		if [ -n "$s" ] && [ "$s" = $((e + c + x)) ]; then
			ok "after the torture: started $s = $e effective + $c cap + $x cancelled (stale $(stimer_stat stale))"
		else
			not_ok "after the torture: started = fired + cancelled # started $s, effective $e, cap $c, cancelled $x"
		fi
	else
		not_ok "insmod pvx_stimer_torture.ko # $(head -n1 /tmp/insmod.out)"
	fi
	stimer_diag

	# pvx_stimer_test unloads pvx_stimer (refused while a timer fd is
	# armed), loads it with steal_source=none for its tests again, and
	# with good and bad parameters; it prints the steps "pvx_stimer_test
	# steal_source=none" and "pvx_stimer parameters"
	run_test "pvx_stimer_test --module" "$STIMER_TEST" --module "$STIMER_KO" \
		--steal-time "$STEAL_TIME"
else
	not_ok "insmod pvx_stimer.ko # $(head -n1 /tmp/insmod.out)"
	dmesg | grep 'pvx_' | tail -n 5 | sed 's/^/# dmesg: /' >>"$TAP"
fi
step "steal-time timer tests done"
check "rmmod pvx_guest after pvx_stimer" rmmod pvx_guest
check "clean after the timer tests" unloaded

# 8. NUMA locality hints: pvx_locality.ko and PVX_IOC_NUMA_HINT (the lab
# sets L2's pvx_numa hint_interval_ms to 60000, so the test's second hint
# meets the rate limit whatever the time between the two), its parameters;
# with the host's NUMA_HINT the automatic map of a pinned thread (--auto),
# CPUs offline and online during its rounds (--hotplug), and rmmod while
# they run; without, auto runs no round and the module says so once
# (--expect-fallback)
locality_tests() {
	step "pvx_locality"
	check "insmod pvx_guest.ko for pvx_locality" insmod "$KO"
	if insmod "$LOCALITY_KO" >/tmp/insmod.out 2>&1; then
		ok "insmod pvx_locality.ko"
		dmesg | grep 'pvx_locality: ' | tail -n 1 | sed 's/^/# dmesg: /' >>"$TAP"
		run_test pvx_numa_guest_test "$NUMA_TEST" "--expect-$mode"
		if [ "$mode" = host ]; then
			run_test pvx_numa_auto "$NUMA_TEST" --auto
			run_test pvx_numa_hotplug "$NUMA_TEST" --hotplug
		fi
		check "rmmod pvx_locality" rmmod pvx_locality
	else
		not_ok "insmod pvx_locality.ko # $(head -n1 /tmp/insmod.out)"
	fi
	check "rmmod pvx_guest after pvx_locality" rmmod pvx_guest
	check "clean after the locality tests" sh -c '[ ! -e /sys/kernel/pvx ] && [ ! -e /dev/pvx ]'
}

# 9. batched fork-copy: pvx_fork.ko, PVX_IOC_FORK_COPY and libpvx's
# pvx_fork() (the host half, pvx_fork_copy.ko, is loaded in host boots).
# pvx_fork_guest_test loads pvx_fork (--load: its dmesg line), tests it,
# and unloads it (--unload: its counters, pvx_guest held, sysfs gone).
fork_tests() {
	step "pvx_fork"
	check "insmod pvx_guest.ko for pvx_fork" insmod "$KO"
	run_test pvx_fork "$FORK_TEST" --load "$FORK_KO" "--expect-$mode"
	if grep -q '^pvx_fork ' /proc/modules; then
		run_test pvx_fork_guest_test "$FORK_TEST" "--expect-$mode"
		run_test pvx_fork "$FORK_TEST" --unload
	fi
	check "rmmod pvx_guest after pvx_fork" rmmod pvx_guest
	check "clean after the fork-copy tests" sh -c '[ ! -e /sys/kernel/pvx ] && [ ! -e /dev/pvx ]'
}

# 10. KSM hints: pvx_ksm_guest.ko (the kernel image's candidates,
# PVX_IOC_KSM_PROTECT); the host half, pvx_ksm.ko, is loaded in host boots.
# pvx_ksm_module_test loads it with interval_ms=0, so that no periodic
# round runs beside pvx_ksm_guest_test's counter checks, then tries its
# parameters and rounds, and unloads it after ksm_epoch_test.
# (KSM_KO is set above: the migrate boot loads it too.)
KSM_TEST=/pvx/pvx_ksm_guest_test
KSM_MODULE_TEST=/pvx/pvx_ksm_module_test
ksm_stat() { cat "/sys/kernel/pvx/ksm/$1" 2>/dev/null; }
ksm_tests() {
	step "pvx_ksm_guest"
	check "insmod pvx_guest.ko for pvx_ksm_guest" insmod "$KO"
	run_test pvx_ksm_guest "$KSM_MODULE_TEST" --load "$KSM_KO" "--expect-$mode"
	if grep -q '^pvx_ksm_guest ' /proc/modules; then
		step "pvx_ksm_guest_test"
		run_test pvx_ksm_guest_test "$KSM_TEST" "--expect-$mode"
		run_test pvx_ksm_guest "$KSM_MODULE_TEST" --params "--expect-$mode"
		ksm_epoch_test
		run_test pvx_ksm_guest "$KSM_MODULE_TEST" --unload
	fi
	check "rmmod pvx_guest after pvx_ksm_guest" rmmod pvx_guest
	check "clean after the KSM tests" sh -c '[ ! -e /sys/kernel/pvx ] && [ ! -e /dev/pvx ]'
	step "pvx_ksm_guest done"
}

# A host feature module loaded again under the guest (L2 reloads pvx_yield
# on the control port): PROBE names a new epoch, and the guest sends its
# protected pages again by itself, saying so in its counters; this host
# still holds them, so none is pinned anew. A destination of a live
# migration, whose pins start empty, is the migrate suite's (issue 27
# item 4).
ksm_epoch_test() {
	if [ "$mode" != host ] || [ "$steal_boot" = 1 ] || [ ! -e "$CTL" ]; then
		diag "pins made again not tested: needs a host boot with L2's control port $CTL"
		return
	fi
	step "a host module reloaded under the guest"
	"$KSM_TEST" --hold 8 >/tmp/hold.out 2>&1 &
	hp=$!
	i=0
	while ! grep -q . /tmp/hold.out && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	check "a process protects 8 pages ($(head -n1 /tmp/hold.out)), the host pins them all (protected_on_host $(ksm_stat protected_on_host))" \
		test "$(head -n1 /tmp/hold.out)" = "held 8" -a "$(ksm_stat protected_on_host)" = 8
	e0=$(pvx_attr host_epoch) r0=$(ksm_stat resends) p0=$(ksm_stat resent_pages)
	c0=$(dmesg | grep -c 'pvx_guest: host state of this VM is new\|pvx_guest: host stopped or started serving calls')
	if ! ask_l2 yield-reload >/tmp/ask.out 2>&1; then
		not_ok "L2 loads pvx_yield again # $(head -n1 /tmp/ask.out)"
		kill "$hp"; wait "$hp" 2>/dev/null
		return
	fi
	ok "L2 loads pvx_yield again"
	t0=$(cut -d' ' -f1 /proc/uptime)
	i=0
	while [ "$(ksm_stat resends)" = "$r0" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	w=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%d", (b - a) * 1000 }')
	check "PROBE names a new epoch ($e0 -> $(pvx_attr host_epoch)) and the guest sends its table again without a reprobe (resends $r0 -> $(ksm_stat resends), after $w ms)" \
		test "$(pvx_attr host_epoch)" != "$e0" -a "$(ksm_stat resends)" -gt "$r0"
	check "the host, which kept its pins, took none anew (resent_pages $p0 -> $(ksm_stat resent_pages)); protected_on_host $(ksm_stat protected_on_host)" \
		test "$(ksm_stat resent_pages)" = "$p0" -a "$(ksm_stat protected_on_host)" = 8
	# one line, or two when a PROBE fell between L2's rmmod and insmod
	c=$(dmesg | grep -c 'pvx_guest: host state of this VM is new\|pvx_guest: host stopped or started serving calls')
	check "dmesg says what changed ($((c - c0)) lines)" test $((c - c0)) -ge 1 -a $((c - c0)) -le 2
	kill "$hp"
	wait "$hp" 2>/dev/null
	i=0
	while [ "$(ksm_stat protected_now)" != 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	check "the holder killed: nothing protected (protected_now $(ksm_stat protected_now), on host $(ksm_stat protected_on_host))" \
		test "$(ksm_stat protected_now)" = 0 -a "$(ksm_stat protected_on_host)" = 0
}

# zero_free=1: with the host's hints, stale free pages are zeroed and sent
# as candidates, and all of them withdrawn at rmmod (run-l3.sh compares
# the host's counts with the sum of the guest's over both loads); without
# them, nothing is read or written
ksm_zero_tests() {
	step "pvx_ksm_guest zero_free"
	check "insmod pvx_guest.ko for zero_free" insmod "$KO"
	run_test "pvx_ksm_guest zero_free" "$KSM_MODULE_TEST" --zero "$KSM_KO" "--expect-$mode"
	check "rmmod pvx_guest after zero_free" rmmod pvx_guest
	step "pvx_ksm_guest zero_free done"
}

# a steal boot checks what steal changes: the locality, fork-copy and KSM
# tests, which it does not change, run in the host and fallback boots
if [ "$steal_boot" = 1 ]; then
	diag "pvx_locality, pvx_fork and pvx_ksm_guest not run in a steal boot (pvx_steal=$STEAL_PCT pvx_steal_time=$STEAL_TIME)"
else
	locality_tests
	fork_tests
	ksm_tests
	ksm_zero_tests
fi
no_splat
finish
