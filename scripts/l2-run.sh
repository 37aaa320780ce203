#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the L2 KVM host (chroot into this machine's root over 9p),
# started by lab.sh's /init with the PVX_* environment. Each suite writes
# its TAP to $PVX_OUT/SUITE.tap; per-suite times go to $PVX_OUT/times-TAG.
set -u
cd "$PVX_REPO" || exit 1

# Suites write to a tmpfs and the results are copied to the 9p share after
# each suite: a QEMU serial console written character by character into a
# 9p file from inside TCG takes minutes for a page of TAP.
PVX_SHARE=$PVX_OUT
export PVX_OUT=/tmp/pvx-out
mkdir -p "$PVX_OUT"
sync_out() { cp -a "$PVX_OUT/." "$PVX_SHARE/"; }

uptime_s() { cut -d' ' -f1 /proc/uptime; }

run_suite() {
	local name=$1 t0 t1 rc
	shift
	t0=$(uptime_s)
	"$@" >"$PVX_OUT/$name.tap" 2>"$PVX_OUT/$name.log"
	rc=$?
	t1=$(uptime_s)
	awk -v n="$name" -v a="$t0" -v b="$t1" -v rc="$rc" \
		'BEGIN { printf "%s: %.1f s in L2 (exit %d)\n", n, b - a, rc }' >>"$PVX_OUT/times-$tag"
	echo "PVX-L2: suite $name exit $rc"
}

# The steal boots: one with 50% steal injected (the guest checks the
# levels 0/25/50/75 first, then runs its tests at 50%), one without KVM
# steal time while 50% is injected (the guest must see none: the
# fallback of the steal-corrected timers).
STEAL_BOOTS=("selftests/guest/run-l3.sh --steal 50 host"
	     "selftests/guest/run-l3.sh --no-steal-time --steal 50 host")

# run_l3s CMD...: run each command line, one TAP stream
run_l3s() {
	local rc=0 f
	for f in "$@"; do
		echo "# $f"
		# shellcheck disable=SC2086
		bash $f || rc=1
	done
	return $rc
}

# Run the L3 suites as one TAP stream: host-pvx guest, fallback guest, the
# steal boots, and the guest module refusing to load in L2 (which is not a
# KVM guest).
guest_suite() {
	run_l3s "selftests/guest/run-l3.sh host" "selftests/guest/run-l3.sh fallback" \
		"${STEAL_BOOTS[@]}" "selftests/guest/baremetal.sh"
}

tag=${PVX_L2_TAG:-all}
dmesg -c >"$PVX_OUT/dmesg-boot-$tag.log" 2>&1
sync_out
IFS=, read -r -a suites <<<"$PVX_TESTS"
for s in "${suites[@]}"; do
	case "$s" in
	tinyvm) run_suite tinyvm bash selftests/host/run-l2.sh ;;
	upstream) run_suite upstream bash selftests/host/kvm-upstream.sh run ;;
	guest) run_suite guest guest_suite ;;
	steal) run_suite steal run_l3s "${STEAL_BOOTS[@]}" ;;
	demo) run_suite demo bash scripts/demo-l2.sh ;;
	bench) run_suite bench bash scripts/bench-l2.sh ;;
	esac
	dmesg -c >>"$PVX_OUT/dmesg-$tag.log" 2>&1
	sync_out
done
# Feature modules first: they hold references on pvx_host.
for m in pvx_yield pvx_host; do
	grep -q "^$m " /proc/modules && rmmod "$m"
done
dmesg -c >>"$PVX_OUT/dmesg-$tag.log" 2>&1
sync_out
exit 0
