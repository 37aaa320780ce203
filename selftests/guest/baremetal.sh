#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# baremetal.sh: pvx_guest.ko must refuse to load on a machine that is not a
# KVM guest. Runs in the L2 host (QEMU TCG: no KVM signature in CPUID), in
# the chroot into L1's root, started by scripts/l2-run.sh.
#
# Environment: PVX_BUILD (guest/pvx_guest.ko), default REPO/build/$(uname -r).
# Output: TAP 13 on stdout; exit 0 all passed, 1 any failed, 4 all skipped.
set -u

here=$(cd "$(dirname "$0")" && pwd)
build=${PVX_BUILD:-$(cd "$here/../.." && pwd)/build/$(uname -r)}
ko=$build/guest/pvx_guest.ko
refusal='pvx_guest: not running on KVM; refusing to load'

n=0 pass=0 fail=0 skip=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $*"; }
skip() { n=$((n + 1)); skip=$((skip + 1)); echo "ok $n $1 # SKIP $2"; }
result() { if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2${3:+ # $3}"; fi; }
loaded() { grep -q '^pvx_guest ' /proc/modules; }

echo "TAP version 13"
echo "1..6"
# pvx_guest lines in the kernel log, without the tainting notices
pvx_lines() { dmesg | grep 'pvx_guest: ' | grep -v 'taints kernel\|tainting kernel' | sed 's/^\[[^]]*\] //'; }

# kvm-clock registers only on KVM; the boot log may have been cleared
if grep -qw kvm-clock /sys/devices/system/clocksource/clocksource0/available_clocksource 2>/dev/null ||
   dmesg | grep -q 'Hypervisor detected: KVM'; then
	for d in "not a KVM guest" "insmod pvx_guest.ko fails with ENODEV" \
		 "one refusal line in dmesg" "/sys/kernel/pvx absent" \
		 "/dev/pvx absent" "pvx_guest not in /proc/modules"; do
		skip "$d" "this machine is a KVM guest"
	done
	exit 4
fi
ok "not a KVM guest (no kvm-clock)"

if [ ! -f "$ko" ] || loaded; then
	why="no $ko"
	loaded && why="pvx_guest is already loaded"
	not_ok "insmod pvx_guest.ko fails with ENODEV # $why"
	not_ok "one refusal line in dmesg # not tried"
else
	before=$(pvx_lines | wc -l)
	out=$(insmod "$ko" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q 'No such device'; then
		ok "insmod pvx_guest.ko fails with ENODEV"
	else
		not_ok "insmod pvx_guest.ko fails with ENODEV # exit $rc: $out"
		loaded && rmmod pvx_guest
	fi
	new=$(pvx_lines | tail -n +"$((before + 1))")
	[ -n "$new" ] && printf '%s\n' "$new" | sed 's/^/# dmesg: /'
	# busybox insmod retries with init_module(): one line per attempt
	others=$(printf '%s\n' "$new" | grep -vxF "$refusal" | grep -c .)
	count=$(printf '%s\n' "$new" | grep -cxF "$refusal")
	if [ "$count" -ge 1 ] && [ "$others" -eq 0 ]; then
		ok "one refusal line in dmesg ('$refusal')"
	else
		not_ok "one refusal line in dmesg # $count refusal lines, $others other pvx_guest lines"
	fi
fi
[ ! -e /sys/kernel/pvx ]
result $? "/sys/kernel/pvx absent"
[ ! -e /dev/pvx ]
result $? "/dev/pvx absent"
! loaded
result $? "pvx_guest not in /proc/modules"

[ "$fail" -gt 0 ] && exit 1
[ "$pass" -eq 0 ] && exit 4
exit 0
