#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo, inside the L2 KVM host: load pvx_host next to kvm_amd, boot an
# L3 Linux guest that loads pvx_guest and PROBEs, then show both sides'
# view: the guest's /sys/kernel/pvx and the host's debugfs counters.
# Output is TAP so that the lab can tell whether the demo worked.
set -u
cd "$PVX_REPO" || exit 1

n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $*"; }
say() { echo "# $*"; }
counter() { awk -v k="$1" '$1 == k { print $2 }' /sys/kernel/debug/pvx/counters 2>/dev/null; }

echo "TAP version 13"
say "L2 KVM host: $(uname -r), $(nproc) vCPUs, kvm_amd $(grep -q '^kvm_amd ' /proc/modules && echo loaded || echo MISSING)"

say "--- host: insmod pvx_host.ko"
if grep -q '^pvx_host ' /proc/modules || insmod "$PVX_BUILD/host/pvx_host.ko"; then
	ok "pvx_host loaded next to kvm_amd"
else
	not_ok "pvx_host loaded next to kvm_amd"
fi
dmesg | grep -i pvx | sed 's/^/#   dmesg: /'
say "  parameters: enable=$(cat /sys/module/pvx_host/parameters/enable 2>/dev/null)" \
	"features=$(cat /sys/module/pvx_host/parameters/features 2>/dev/null)"
probes0=$(counter probe)

say "--- guest: boot an L3 Linux guest (QEMU -enable-kvm in L2) with pvx_guest"
bash selftests/guest/run-l3.sh --demo host >"$PVX_OUT/demo-l3.tap" 2>"$PVX_OUT/demo-l3.err"
l3rc=$?
grep -E '^# (dmesg: .*pvx_guest|/sys/kernel/pvx/)' "$PVX_OUT/demo-l3.tap" | head -n 20 |
	sed 's/^# /#   guest /'
if grep -q '^# /sys/kernel/pvx/host: pvx$' "$PVX_OUT/demo-l3.tap"; then
	ok "guest PROBE found pvx: $(grep -m1 -o 'pvx_guest: host pvx ABI.*' "$PVX_OUT/demo-l3.tap")"
else
	not_ok "guest PROBE found pvx (see $PVX_OUT/l3-host.log)"
fi
read -r gp gf gs < <(scripts/tap-count.sh "$PVX_OUT/demo-l3.tap")
if [ "$l3rc" = 0 ]; then
	ok "guest-side checks: $gp passed, $gf failed, $gs skipped"
else
	not_ok "guest-side checks: $gp passed, $gf failed, $gs skipped (exit $l3rc)"
fi

say "--- host: what pvx_host saw"
sed 's/^/#   counters: /' /sys/kernel/debug/pvx/counters 2>/dev/null
say "  live per-VM states: $(cat /sys/kernel/debug/pvx/vms 2>/dev/null) (the L3 VM has exited)"
probes1=$(counter probe)
if [ -n "$probes0" ] && [ -n "$probes1" ] && [ "$probes1" -gt "$probes0" ]; then
	ok "host answered $((probes1 - probes0)) PROBE calls from the guest"
else
	not_ok "host answered the guest's PROBE calls (probe counter ${probes0:-?} -> ${probes1:-?})"
fi

echo "1..$n"
[ "$fail" -eq 0 ]
