#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# /init of the L3 bench guest (built by mkinitrd-bench.sh, booted by
# scripts/bench-l2.sh). Loads pvx_guest and pvx_spinlock, runs the kernel
# lock benchmark (pvx_lock_bench.ko: ticket, native, pvx) and the userspace
# one (pvx_ulock_bench: mutex, yield, ioctl, libpvx, with 2 x as many
# threads as vCPUs and as many), and prints everything between the
# lines PVX-BENCH-BEGIN and PVX-BENCH-END on the console:
#
#   bench lock=... (one line per kernel lock)   ubench mode=... (per mode)
#   steal lock=NAME ticks=N                     (guest steal time, USER_HZ;
#                                                umode=all: userspace runs)
#   error WHAT                                  (something did not run)
#   # ...                                       (diagnostics)
#
# Parameters from the kernel command line (defaults in brackets):
# pvx_acq= [10000] kernel acquisitions per lock, pvx_uacq= [1000000]
# userspace acquisitions per mode and round, pvx_umax_ms= [5000] userspace
# time per mode and round (a round stops there: the fast locks and the
# slow ones run about as long, and the rates compare), pvx_threads= [0: 2 x CPUs], pvx_cs=
# [128] and pvx_think= [128] work steps, pvx_max_ms= [90000] per round,
# pvx_uthreshold= [1000] userspace spins before giving way, pvx_rounds= [5]
# kernel rounds, the locks interleaved in each, each round printed alone
# (bench-round) and the sums per lock,
# pvx_urounds= [5] userspace rounds likewise (each round also printed
# alone: make bench gives every ratio's median and spread over them),
# pvx_uthreads= [2xCPUs,CPUs; pvx_threads= if set] userspace thread counts.
#
# pvx_bench=ulocks runs only the userspace benchmark.
# pvx_bench=timers runs the retransmit-timeout benchmark instead
# (timers.sh; its parameters are listed there).
# pvx_bench=numa runs the NUMA workload instead (selftests/host/pvx_bench_numa.c):
# pvx_numa_work with pvx_numa_mb= [32] MiB per CPU for pvx_numa_secs= [20]
# s, hinting the host when pvx_numa_hint=1 [0] (pvx_locality.ko), or
# with pvx_locality's automatic map when pvx_numa_hint=2 (no explicit hint).
# pvx_bench=forkcopy runs the fork-copy workload instead
# (selftests/host/pvx_bench_fork in L2): pvx_fork_bench with pvx_fork_mb= [16,64]
# MiB buffers, pvx_fork_rounds= [3] rounds (pvx_fork.ko), the
# conditions pvx_fork_conds= [plain] (plain, dirtylog, unbacked; with
# unbacked, virtio_balloon from /pvx/virtio/ is loaded first: free page
# reporting), framed for L2 on the serial port pvx_fork_sync= [none, e.g.
# ttyS1], with transparent huge pages set to pvx_fork_thp= [the kernel's
# default] (always, madvise, never).
# pvx_bench=ksm runs the KSM workload instead (L2: pvx_bench_ksm):
# pvx_ksm_bench as pvx_ksm_role= [victim] (or attacker) with
# pvx_ksm_pages= [512] pages per set, pvx_ksm_rounds= [5] rounds,
# pvx_ksm_slow_ns= [20000], pvx_ksm_private_mb= [0] MiB of the guest's own
# data written first; pvx_ksm_hint=1 [0] loads pvx_ksm_guest first
# (2: with zero_free=1 and zero_order=pvx_ksm_zero_order= [0, the module's
# default])
# (its candidates; the victim protects its set P), framed for L2
# on pvx_ksm_sync= [ttyS1].
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# shellcheck source=selftests/guest/console-drain.sh
. /console-drain.sh

OUT=/tmp/out
: >"$OUT"
say() { echo "$*" >>"$OUT"; }
diag() { echo "# $*" >>"$OUT"; }

finish() {
	echo 1 >/proc/sys/kernel/printk	# keep kernel lines out of the results
	echo "PVX-BENCH-BEGIN"
	cat "$OUT"
	echo "PVX-BENCH-END"
	console_drain
	sync
	poweroff -f
}

ksm_role=victim ksm_pages=512 ksm_rounds=5 ksm_slow_ns=20000 ksm_hint=0 ksm_sync=ttyS1
ksm_private_mb=0 ksm_zero_order=0
numa_mb=32 numa_secs=20 numa_hint=0 fork_mb=16,64 fork_rounds=3 fork_conds=plain fork_sync= fork_thp=
acq=10000 uacq=1000000 umax_ms=5000 threads=0 cs=128 think=128 max_ms=90000 uthreshold=1000 rounds=5 urounds=5
uthreads=
bench=locks
read -r cmdline </proc/cmdline
for w in $cmdline; do
	case "$w" in
	pvx_bench=*) bench=${w#*=} ;;
	pvx_acq=*) acq=${w#*=} ;;
	pvx_uacq=*) uacq=${w#*=} ;;
	pvx_umax_ms=*) umax_ms=${w#*=} ;;
	pvx_threads=*) threads=${w#*=} ;;
	pvx_cs=*) cs=${w#*=} ;;
	pvx_think=*) think=${w#*=} ;;
	pvx_max_ms=*) max_ms=${w#*=} ;;
	pvx_uthreshold=*) uthreshold=${w#*=} ;;
	pvx_rounds=*) rounds=${w#*=} ;;
	pvx_urounds=*) urounds=${w#*=} ;;
	pvx_uthreads=*) uthreads=${w#*=} ;;
	pvx_numa_mb=*) numa_mb=${w#*=} ;;
	pvx_numa_secs=*) numa_secs=${w#*=} ;;
	pvx_numa_hint=*) numa_hint=${w#*=} ;;
	pvx_fork_mb=*) fork_mb=${w#*=} ;;
	pvx_fork_rounds=*) fork_rounds=${w#*=} ;;
	pvx_fork_conds=*) fork_conds=${w#*=} ;;
	pvx_fork_sync=*) fork_sync=${w#*=} ;;
	pvx_fork_thp=*) fork_thp=${w#*=} ;;
	pvx_ksm_role=*) ksm_role=${w#*=} ;;
	pvx_ksm_pages=*) ksm_pages=${w#*=} ;;
	pvx_ksm_rounds=*) ksm_rounds=${w#*=} ;;
	pvx_ksm_slow_ns=*) ksm_slow_ns=${w#*=} ;;
	pvx_ksm_hint=*) ksm_hint=${w#*=} ;;
	pvx_ksm_sync=*) ksm_sync=${w#*=} ;;
	pvx_ksm_private_mb=*) ksm_private_mb=${w#*=} ;;
	pvx_ksm_zero_order=*) ksm_zero_order=${w#*=} ;;
	esac
done

# steal ticks of all CPUs (/proc/stat "cpu" line, 8th value)
steal() { awk '$1 == "cpu" { print $9 }' /proc/stat; }

diag "L3 guest: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) vCPUs, uptime $(cut -d' ' -f1 /proc/uptime) s"
if [ "$bench" = timers ]; then
	# shellcheck source=selftests/guest/bench/timers.sh
	. /timers.sh
	timer_bench
	dmesg | grep -E 'BUG|WARNING|soft lockup|stall' | head -n 5 | sed 's/^/# dmesg: /' >>"$OUT"
	finish
fi
# workload NAME MODULES DIR COMMAND...: load MODULES (each NAME or
# NAME:PARAM=VALUE), run COMMAND into the results between two console
# lines (NAME start, NAME end: the L2 scripts wait for them), then the
# counters of /sys/kernel/pvx/DIR
workload() {
	wname=$1 wmods=$2 wdir=$3
	shift 3
	for m in $wmods; do
		mname=${m%%:*} margs=
		# NAME:ARG,ARG...
		[ "$mname" = "$m" ] || margs=$(echo "${m#*:}" | tr ',' ' ')
		# shellcheck disable=SC2086
		insmod "/pvx/$mname.ko" $margs >/tmp/insmod.out 2>&1 ||
			say "error insmod $mname.ko: $(head -n1 /tmp/insmod.out)"
	done
	echo "pvx-bench: $wname start (uptime $(cut -d' ' -f1 /proc/uptime) s)"
	"$@" >>"$OUT" 2>&1 || say "error ${1##*/}"
	echo "pvx-bench: $wname end (uptime $(cut -d' ' -f1 /proc/uptime) s)"
	for f in /sys/kernel/pvx/"$wdir"/*; do
		[ -f "$f" ] && diag "$wdir/${f##*/}: $(cat "$f")"
	done
	finish
}
if [ "$bench" = forkcopy ]; then
	case ",$fork_conds," in
	*,unbacked,*)
		# virtio and virtio_pci are built in on 6.12, modules on 6.1
		for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
			virtio_pci virtio_balloon; do
			[ -f "/pvx/virtio/$m.ko" ] || continue
			insmod "/pvx/virtio/$m.ko" >/tmp/insmod.out 2>&1 ||
				diag "insmod $m.ko: $(head -n1 /tmp/insmod.out)"
		done
		if [ -d /sys/bus/virtio/drivers/virtio_balloon ]; then
			diag "virtio_balloon loaded: free page reporting"
		else
			say "error unbacked: no virtio_balloon driver (free page reporting)"
		fi
		;;
	esac
	# transparent huge pages: the kernel's default unless pvx_fork_thp=
	# (always, madvise, never) says otherwise; printed either way
	thp=/sys/kernel/mm/transparent_hugepage/enabled
	if [ -n "$fork_thp" ]; then
		echo "$fork_thp" >"$thp" 2>/dev/null || say "error pvx_fork_thp=$fork_thp: not accepted by $thp"
	fi
	diag "transparent_hugepage/enabled: $(cat "$thp" 2>/dev/null || echo none)"
	set -- /pvx/pvx_fork_bench "$fork_mb" "$fork_rounds" "$fork_conds"
	[ -n "$fork_sync" ] && set -- "$@" "/dev/$fork_sync"
	workload fork-copy "pvx_guest pvx_fork" fork_copy "$@"
fi
if [ "$bench" = ksm ]; then
	kmods=pvx_guest
	[ "$ksm_hint" = 1 ] && kmods="pvx_guest pvx_ksm_guest"
	[ "$ksm_hint" = 2 ] && kmods="pvx_guest pvx_ksm_guest:zero_free=1,zero_order=$ksm_zero_order"
	workload "ksm $ksm_role" "$kmods" ksm /pvx/pvx_ksm_bench "$ksm_role" "$ksm_pages" \
		"$ksm_rounds" "$ksm_hint" "/dev/$ksm_sync" "$ksm_slow_ns" "$ksm_private_mb"
fi
if [ "$bench" = numa ]; then
	hint=nohint locality=pvx_locality
	[ "$numa_hint" = 1 ] && hint=hint
	[ "$numa_hint" = 2 ] && locality=pvx_locality:auto=1
	workload "numa workload" "pvx_guest $locality" locality \
		/pvx/pvx_numa_work "$numa_mb" "$numa_secs" "$hint"
fi
for m in pvx_guest pvx_spinlock; do
	if ! insmod "/pvx/$m.ko" >/tmp/insmod.out 2>&1; then
		say "error insmod $m.ko: $(head -n1 /tmp/insmod.out)"
		dmesg | grep pvx | sed 's/^/# dmesg: /' >>"$OUT"
		finish
	fi
done
dmesg | grep -E 'pvx_guest|pvx_spinlock|kvm-guest|steal' | sed 's/^/# dmesg: /' >>"$OUT"
diag "host: $(cat /sys/kernel/pvx/host) features $(cat /sys/kernel/pvx/host_features)"
diag "spinlock mode: $(cat /sys/kernel/pvx/spinlock/mode) spin_threshold: $(cat /sys/kernel/pvx/spinlock/spin_threshold)"

# Kernel locks (not with pvx_bench=ulocks): $rounds rounds, the three locks interleaved in each (the
# lab's speed drifts with the load of the machine under it); each round's
# own line (bench-round) and the module's sums per lock. Steal time is
# summed per lock around its runs.
if [ "$bench" = ulocks ]; then
	diag "kernel locks: not run (pvx_bench=ulocks)"
elif insmod /pvx/pvx_lock_bench.ko autorun=0 threads="$threads" acquisitions="$acq" \
	cs_iters="$cs" think_iters="$think" max_ms="$max_ms" >/tmp/insmod.out 2>&1; then
	st_ticket=0 st_native=0 st_pvx=0 st_pvx_fifo=0 r=0
	skip=/sys/module/pvx_spinlock/parameters/skip
	while [ "$r" -lt "$rounds" ]; do
		r=$((r + 1))
		for lock in ticket native pvx pvx-fifo; do
			# progress on the console: L2 relays the last line (bench-l2.sh)
			echo "pvx-bench: round $r lock=$lock (uptime $(cut -d' ' -f1 /proc/uptime) s)"
			# pvx-fifo: the same lock with skips off
			[ "$lock" = pvx-fifo ] && echo 0 >"$skip"
			s0=$(steal)
			echo "$lock" >/sys/kernel/debug/pvx_lock_bench/run 2>/tmp/run.out ||
				say "error run lock=$lock round $r: $(head -n1 /tmp/run.out)"
			# this round alone, for the spread (the sums come last)
			grep '^bench-round ' /sys/kernel/debug/pvx_lock_bench/results >>"$OUT"
			v=st_$(echo "$lock" | tr - _)
			eval "$v=\$(($v + $(steal) - s0))"
			echo 1 >"$skip"
		done
		diag "kernel round $r done at uptime $(cut -d' ' -f1 /proc/uptime) s"
	done
	grep '^bench ' /sys/kernel/debug/pvx_lock_bench/results >>"$OUT"
	for lock in ticket native pvx pvx-fifo; do
		eval "say \"steal lock=$lock ticks=\$st_$(echo "$lock" | tr - _)\""
	done
	rmmod pvx_lock_bench || say "error rmmod pvx_lock_bench"
else
	say "error insmod pvx_lock_bench.ko: $(head -n1 /tmp/insmod.out)"
	dmesg | grep pvx_lock_bench | sed 's/^/# dmesg: /' >>"$OUT"
fi

# Userspace locks: pthread mutex, ticket lock with sched_yield or
# PVX_IOC_YIELD_TO, libpvx; interleaved likewise, for each thread count.
if [ -z "$uthreads" ]; then
	ncpu=$(grep -c ^processor /proc/cpuinfo)
	uthreads="$((2 * ncpu)),$ncpu"
	[ "$threads" != 0 ] && uthreads=$threads
fi
for t in $(echo "$uthreads" | tr ',' ' '); do
	s0=$(steal)
	echo "pvx-bench: userspace, $t threads (uptime $(cut -d' ' -f1 /proc/uptime) s)"
	if ! /pvx/pvx_ulock_bench --acquisitions "$uacq" --max-ms "$umax_ms" --cs-iters "$cs" \
		--think-iters "$think" --spin-threshold "$uthreshold" --rounds "$urounds" \
		--threads "$t" >/tmp/u.out 2>&1; then
		say "error pvx_ulock_bench --threads $t: $(grep -v '^ubench' /tmp/u.out | head -n1)"
	fi
	grep -E '^(ubench|#)' /tmp/u.out >>"$OUT"
	say "steal umode=$t ticks=$(($(steal) - s0))"
done

diag "pvx_spinlock totals: acquisitions $(cat /sys/kernel/pvx/spinlock/acquisitions)" \
	"slow_paths $(cat /sys/kernel/pvx/spinlock/slow_paths)" \
	"yields_issued $(cat /sys/kernel/pvx/spinlock/yields_issued)" \
	"yields_granted $(cat /sys/kernel/pvx/spinlock/yields_granted)"
dmesg | grep -E 'BUG|WARNING|soft lockup|stall' | head -n 5 | sed 's/^/# dmesg: /' >>"$OUT"
finish
