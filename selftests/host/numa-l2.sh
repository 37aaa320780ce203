#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NUMA suite of the host modules, run INSIDE an L2 KVM host with two NUMA
# nodes (lab.sh boots L2 'numa' for it: one CPU and half the memory per
# node). One TAP 13 stream on stdout; exit 0 pass, 1 fail, 4 all skipped.
#
#   absent     pvx_host loaded, pvx_numa not: PVX_HC_NUMA_HINT -ENOSYS
#   abi        every bad-input class, rate limit, parameters, counters
#   placement  home nodes, observe/act, hysteresis, the administrator's
#              CPUs, restore on mode change, VM end and rmmod
#   dmesg      no BUG/WARNING/Oops during the run
#
# Environment (scripts/lab.sh): PVX_BUILD, PVX_SELFTESTS, PVX_OUT.
set -u
BIN=$PVX_SELFTESTS/pvx_numa_host_test
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
