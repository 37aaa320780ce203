#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lab experiment (scripts/lab.sh --tests resets), inside the L2 KVM host:
# does an L3 guest that resets itself (lab.rst, "An L3 that resets
# itself") come from pvx_host or from the nested lab? Boots a stock L3
# (the lab's kernel, a busybox /init that loads every vCPU with forks and
# IPIs for PVX_RESETS_LOAD_S seconds, then powers off) PVX_RESETS_BOOTS
# times on an L2 with pvx_host and pvx_yield loaded and as many times
# without them, alternating, and counts the boots that ended in a reset
# (QEMU -no-reboot exits 0 without the guest's last line). With that
# load (PVX_RESETS_LOAD=forks, the default) nothing of pvx runs in L3:
# only the host's hook sees L3's stock hypercalls (PV IPIs, sched yield,
# kicks). PVX_RESETS_LOAD=modloop replaces the load:
# /init loads pvx_guest.ko and then loads and unloads pvx_spinlock.ko
# (halt=0, then the default) for the load's seconds, the module
# load/unload of the guest suite's spinlock checks, where two L3 resets
# of a CI run came (lab.rst).
#
# Environment (set by the lab): PVX_ABI, PVX_BUILD, PVX_KIMAGE, PVX_L3_CPUS,
# PVX_L3_MEM, PVX_OUT. TAP 13 on stdout: one test per boot.
set -u
boots=${PVX_RESETS_BOOTS:-6}
load_s=${PVX_RESETS_LOAD_S:-20}
load=${PVX_RESETS_LOAD:-forks}
[[ "$boots" =~ ^[1-9][0-9]?$ ]] || { echo "resets-l2.sh: PVX_RESETS_BOOTS needs 1..99" >&2; exit 2; }
[[ "$load_s" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "resets-l2.sh: PVX_RESETS_LOAD_S needs 1..999" >&2; exit 2; }
[[ "$load" =~ ^(forks|modloop)$ ]] || { echo "resets-l2.sh: PVX_RESETS_LOAD needs forks or modloop" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin" "$work/root/proc" "$work/root/dev"
cp /bin/busybox "$work/root/bin/busybox"
cat >"$work/root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
echo "pvx-resets: init, \$(grep -c ^processor /proc/cpuinfo) CPUs"
end=\$((\$(cut -d. -f1 /proc/uptime) + $load_s))
if [ "$load" = modloop ]; then
	insmod /pvx_guest.ko
	loops=0
	while [ "\$(cut -d. -f1 /proc/uptime)" -lt "\$end" ]; do
		insmod /pvx_spinlock.ko halt=0 && rmmod pvx_spinlock &&
			insmod /pvx_spinlock.ko && rmmod pvx_spinlock || echo "pvx-resets: load/unload failed"
		loops=\$((loops + 1))
	done
	rmmod pvx_guest
	echo "pvx-resets: \$loops rounds of pvx_spinlock halt=0 and default loaded and unloaded"
else
	for c in \$(seq 0 \$((\$(grep -c ^processor /proc/cpuinfo) - 1))); do
		(while [ "\$(cut -d. -f1 /proc/uptime)" -lt "\$end" ]; do
			taskset -c "\$c" true
		done) &
	done
	wait
fi
echo "pvx-resets: done at \$(cut -d' ' -f1 /proc/uptime) s"
poweroff -f
EOF
chmod +x "$work/root/init"
if [ "$load" = modloop ]; then
	cp "$PVX_BUILD/guest/pvx_guest.ko" "$PVX_BUILD/guest/pvx_spinlock.ko" "$work/root/"
fi
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

kernel=$PVX_KIMAGE/boot/vmlinuz-$PVX_ABI
n=0 resets_with=0 resets_without=0
echo "TAP version 13"
echo "# L3: $PVX_L3_CPUS vCPUs, $PVX_L3_MEM MB, load $load $load_s s; $boots boots with pvx_host, $boots without"
load_pvx() {
	insmod "$PVX_BUILD/host/pvx_host.ko" && insmod "$PVX_BUILD/host/pvx_yield.ko"
}
unload_pvx() {
	local m
	for m in pvx_ksm pvx_numa pvx_fork_copy pvx_yield pvx_host; do
		grep -q "^$m " /proc/modules && rmmod "$m"
	done
	return 0
}
for i in $(seq 1 "$boots"); do
	for mode in with without; do
		n=$((n + 1))
		if [ "$mode" = with ]; then
			load_pvx || { echo "not ok $n boot $i $mode pvx_host # insmod failed"; continue; }
		else
			unload_pvx
		fi
		log=$PVX_OUT/l3-resets-$i-$mode.log
		t0=$(date +%s)
		timeout -k 5 300 qemu-system-x86_64 -enable-kvm -cpu host \
			-m "$PVX_L3_MEM" -smp "$PVX_L3_CPUS" -nographic -no-reboot -nodefaults \
			-serial stdio -kernel "$kernel" -initrd "$work/initrd.gz" \
			-append "console=ttyS0 quiet panic=-1" </dev/null >"$log" 2>&1
		rc=$?
		secs=$(($(date +%s) - t0))
		if grep -q 'pvx-resets: done' "$log"; then
			echo "ok $n boot $i $mode pvx_host: ran to the end ($secs s)"
		else
			[ "$rc" = 0 ] && eval "resets_$mode=\$((resets_$mode + 1))"
			echo "not ok $n boot $i $mode pvx_host: qemu exit $rc after $secs s without the last line # last: $(tr -d '\r' <"$log" | grep -v '^$' | tail -n1 | cut -c1-100)"
		fi
	done
done
unload_pvx
echo "# resets (qemu exit 0, no last line): with pvx_host $resets_with of $boots, without $resets_without of $boots"
echo "1..$n"
