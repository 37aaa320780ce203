#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The nested KVM lab: boot an L2 KVM host (QEMU TCG with emulated SVM:
# QEMU 10 from the project's cache, one TCG thread per L2 CPU, 2 CPUs by
# default; Debian 12's QEMU single-threaded for a 1-CPU L2; running the
# chosen Debian kernel with kvm_amd and pvx's host modules)
# and run test suites inside it: tiny VMs made straight through L2's
# /dev/kvm, the upstream KVM selftests, and L3 Linux guests
# (QEMU -enable-kvm inside L2) with pvx's guest modules. The TAP results
# come back through a writable 9p share and are printed here.
#
# Never uses this machine's /dev/kvm: it does not nest.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

usage() {
	cat <<EOF
usage: scripts/lab.sh [options]
  --kernel SERIES   kernel series to boot in L2 and L3: 6.1, 6.12 or sid
                    (Debian sid's newest, set up by make deps; default 6.12)
  --tests LIST      comma-separated suites: tinyvm, upstream, guest,
                    guest-core, guest-host, steal, topology, demo, bench, resets
                    (default: tinyvm,upstream,guest;
                    guest-core = guest without its steal and topology boots;
                    guest-host = guest-core without its fallback boot;
                    steal = only the steal-injected L3 boots of guest;
                    topology = only its short topology boots;
                    resets = the L3-reset experiment of lab.rst;
                    numa = the NUMA hint tests, in a second L2 boot
                    with two NUMA nodes; numabench = the NUMA hint
                    benchmark, in that L2 too; lockdown = the host
                    controls in an L2 booted with lockdown=integrity
                    under UEFI, its own boot (signed modules);
                    migrate = an L3 live-migrated between QEMUs of L2
                    while the host writes its pages, dirty bitmap,
                    dirty ring, onto L2 without pvx_fork_copy, and
                    onto L2 without pvx_host and with pvx off for it;
                    migrate-quick = its bitmap and ring boots, two
                    migrations each; migrate-bitmap, migrate-ring =
                    one of them, make check's)
  --l2-cpus N       vCPUs of the L2 host (default 2: QEMU 10 from the
                    cache, one TCG thread per vCPU; 1: Debian 12's QEMU,
                    single-threaded TCG, the old 1-CPU lab of lab.rst)
  --l2-mem MB       memory of the L2 host (default 2048)
  --l3-cpus N       vCPUs of L3 guests (default 2 x --l2-cpus, at least 2)
  --l3-mem MB       memory of L3 guests (default 256)
  --timeout S       kill L2 after S seconds (default 1500)
  --out DIR         where results go (default build/lab-ABI)
  --no-build        do not rebuild modules, selftests and initramfs images
  --build-only      build them for the suites named and stop (no L2 boot)
Exit code 0 only if every test of every suite passed.
EOF
}

die() { echo "lab.sh: $*" >&2; exit 2; }

is_uint() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }

series=6.12 tests=tinyvm,upstream,guest
l2_cpus=2 l2_mem=2048 l3_cpus="" l3_mem=256 timeout_s=1500 out="" build=1 build_only=0
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) series=${2:-}; shift ;;
	--tests) tests=${2:-}; shift ;;
	--l2-cpus) l2_cpus=${2:-}; shift ;;
	--l2-mem) l2_mem=${2:-}; shift ;;
	--l3-cpus) l3_cpus=${2:-}; shift ;;
	--l3-mem) l3_mem=${2:-}; shift ;;
	--timeout) timeout_s=${2:-}; shift ;;
	--out) out=${2:-}; shift ;;
	--no-build) build=0 ;;
	--build-only) build_only=1 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
	shift
done

case "$series" in
6.1|6.12|sid) ;;
*) die "unknown kernel series '$series' (supported: 6.1, 6.12, sid)" ;;
esac
is_uint "$l2_cpus" && [ -z "$l3_cpus" ] && l3_cpus=$((l2_cpus > 1 ? 2 * l2_cpus : 2))
for v in l2_cpus l2_mem l3_cpus l3_mem timeout_s; do
	is_uint "${!v}" || die "--${v//_/-} needs a positive integer, got '${!v}'"
done
[ "$l2_mem" -ge 512 ] || die "--l2-mem must be at least 512"
[ "$build" = 1 ] || [ "$build_only" = 0 ] || die "--build-only and --no-build exclude each other"
[ "$l3_mem" -ge 128 ] || die "--l3-mem must be at least 128"
[ "$l3_mem" -le $((l2_mem - 256)) ] || die "--l3-mem must leave L2 at least 256 MB"
IFS=, read -r -a suites <<<"$tests"
[ ${#suites[@]} -gt 0 ] || die "--tests is empty"
for s in "${suites[@]}"; do
	case "$s" in
	tinyvm|upstream|guest|guest-core|guest-host|steal|topology|demo|bench|resets|numa|numabench|lockdown|migrate|migrate-quick|migrate-bitmap|migrate-ring) ;;
	*) die "unknown suite '$s' (tinyvm, upstream, guest, guest-core, guest-host, steal, topology, demo, bench, resets, numa, numabench, lockdown, migrate, migrate-quick, migrate-bitmap, migrate-ring)" ;;
	esac
done
# the stall watchdog (watch_l2, boot_l2) and its test hook (l2-run.sh)
stall_s=${PVX_LAB_STALL_S:-120} stall_boot_s=${PVX_LAB_STALL_BOOT_S:-300}
nudge_s=${PVX_LAB_NUDGE_S:-60} attempts=${PVX_LAB_ATTEMPTS:-4}
for v in stall_s stall_boot_s nudge_s attempts; do
	is_uint "${!v}" || die "PVX_LAB_${v^^} needs a positive integer, got '${!v}'"
done
# every suite's time limit in L2 seconds instead of l2-run.sh's own (a
# test hook for the hung-suite path)
# the resets experiment's boots per mode and load seconds (resets-l2.sh)
for v in PVX_RESETS_BOOTS PVX_RESETS_LOAD_S; do
	[ -z "${!v:-}" ] || is_uint "${!v}" || die "$v needs a positive integer, got '${!v}'"
done
[[ "${PVX_RESETS_LOAD:-forks}" =~ ^(forks|modloop)$ ]] ||
	die "PVX_RESETS_LOAD must be forks or modloop, got '$PVX_RESETS_LOAD'"
[ -z "${PVX_LAB_SUITE_LIMIT:-}" ] || is_uint "$PVX_LAB_SUITE_LIMIT" ||
	die "PVX_LAB_SUITE_LIMIT needs a positive integer, got '$PVX_LAB_SUITE_LIMIT'"
[[ "${PVX_L3_TUNE:-short}" =~ ^(short|full)$ ]] ||
	die "PVX_L3_TUNE must be short or full, got '$PVX_L3_TUNE'"
# the length of the soaks (lock torture phases in L3, tinyvm's VM cycles):
# short for make check, long for check-full
[[ "${PVX_LAB_SOAK:-short}" =~ ^(short|long)$ ]] ||
	die "PVX_LAB_SOAK must be short or long, got '$PVX_LAB_SOAK'"
[[ "${PVX_LAB_FAKE_STALL:-}" =~ ^((guest|guest-core|steal)\.boot[1-9])?$ ]] ||
	die "PVX_LAB_FAKE_STALL must be SUITE.bootN (guest, guest-core or steal, N 1..9), got '$PVX_LAB_FAKE_STALL'"
# extra L2 kernel command line words, for lab experiments
l2_append=${PVX_LAB_L2_APPEND:-}
[[ "$l2_append" =~ ^([a-z0-9_.]+(=[A-Za-z0-9_,.]+)?( |$))*$ ]] ||
	die "PVX_LAB_L2_APPEND must be words like nolapic_timer or a=b, got '$l2_append'"
# kvm_amd parameters in L2: default none (stock defaults); for lab
# experiments PVX_LAB_KVM_AMD_ARGS="vgif=0 ..."
kvm_amd_args=${PVX_LAB_KVM_AMD_ARGS:-}
[[ "$kvm_amd_args" =~ ^([a-z_]+=[A-Za-z0-9]+( |$))*$ ]] ||
	die "PVX_LAB_KVM_AMD_ARGS must be words like vgif=0, got '$kvm_amd_args'"
has_suite() { [[ ",$tests," == *",$1,"* ]]; }

# The SMP lab (2 or more L2 CPUs, the default) needs QEMU 10's
# multi-threaded TCG: QEMU 7.2's oopses L2 when kernel text is patched,
# and its single-threaded TCG loses interrupts of an L2 vCPU that runs a
# nested guest when L2 has two. A 1-CPU L2 runs on Debian 12's QEMU 7.2
# single-threaded. nohz=off: see lab.rst, "a suite that hangs with L2
# idle".
if [ "$l2_cpus" -gt 1 ]; then
	qemu=$(scripts/qemu.sh path 2>&1) || die "${qemu#qemu.sh: }"
	tcg=thread=multi smp_append=nohz=off
else
	qemu=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 missing (run: make deps)"
	tcg=thread=single smp_append=""
fi
# PVX_LAB_ICOUNT=SHIFT: L2's clocks count instructions, 2^SHIFT ns each
# (QEMU -icount shift=SHIFT,sleep=off), so a time measured in L2 is the
# number of instructions L2 and its guests executed, whatever load this
# machine carries (the hypercall benchmark's deterministic mode,
# bench.rst). icount needs single-threaded TCG: a 1-CPU L2 only.
icount=${PVX_LAB_ICOUNT:-} icount_args=""
if [ -n "$icount" ]; then
	[[ "$icount" =~ ^([0-9]|10)$ ]] || die "PVX_LAB_ICOUNT needs a shift 0..10, got '$icount'"
	[ "$l2_cpus" = 1 ] || die "PVX_LAB_ICOUNT needs --l2-cpus 1 (icount runs single-threaded TCG)"
	icount_args="-icount shift=$icount,sleep=off"
fi
# L2's TSC frequency, given instead of measured: TCG's TSC is this
# machine's, and L2's boot calibrates it against the emulated PIT, which
# on a loaded machine once said 509 MHz for a 2596 MHz TSC (6.1 took it:
# L2's clocks ran five times too fast, its watchdogs fired early). In a
# VM, /proc/cpuinfo's "cpu MHz" is the TSC's; elsewhere, or with icount
# (a TSC of counted instructions), L2 measures it.
tsc_early=""
if [ -z "$icount" ]; then
	tsc_early=$(awk '/^flags/ && / hypervisor / { vm = 1 } /^cpu MHz/ && !mhz { mhz = $4 }
		END { if (vm && mhz > 0) printf "tsc_early_khz=%d", mhz * 1000 }' /proc/cpuinfo)
fi
[ -x /bin/busybox ] || die "busybox missing (run: make deps)"
# L2's QEMU version, for L2 scripts whose results depend on its TCG's SVM
# emulation (pvx_bench_fork, the fork-copy benchmark: shadow paging needs
# QEMU 7.2)
l2_qemu_version=$("$qemu" --version 2>/dev/null | sed -n '1s/.*version \([0-9][0-9.]*\).*/\1/p')
abi=$(scripts/kernel.sh installed "$series") || exit 2
kimage=$(scripts/kernel.sh image "$abi")
out=${out:-$REPO/build/lab-$abi}
out=$(realpath -m "$out")
cache=$(realpath -m "${PVX_CACHE:-/var/cache/pvx}")
# L2 sees this machine's root read-only and mounts its own /tmp and /run
# over it; the checkout, the cache and --out are shared with L2 on their
# own and mounted at their paths on top, wherever they are. Only /dev,
# /proc and /sys are L2's own through and through.
case "$out/" in
/dev/*|/proc/*|/sys/*) die "--out must not be under /dev, /proc or /sys (L2 mounts its own there)" ;;
esac
mkdir -p "$out"
rm -f "$out"/*.tap "$out"/*.rc "$out"/*.log "$out"/times-* "$out/l2-kallsyms" "$out/fake-stall-done"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --- build what L2 and L3 run (on this machine, where it is fast) -------
t0=$(now)
if [ "$build" = 1 ]; then
	echo "lab: building modules and selftests for $abi"
	scripts/build.sh "$abi" >/dev/null ||
		echo "lab: module build failed; suites needing pvx modules will fail" >&2
	make -s -C selftests OUT="$REPO/build/selftests" ||
		echo "lab: selftests build failed" >&2
	make -s -C tools/pvxtop OUT="$REPO/build/pvxtop" all static ||
		echo "lab: pvxtop build failed; its tests will fail" >&2
	if has_suite guest || has_suite guest-core || has_suite guest-host || has_suite steal || has_suite topology || has_suite demo || has_suite bench ||
	   has_suite migrate || has_suite migrate-quick || has_suite migrate-bitmap || has_suite migrate-ring; then
		selftests/guest/mkinitrd.sh "$abi" "$REPO/build/$abi/l3-initrd.gz" ||
			echo "lab: L3 initramfs build failed; L3 suites will fail" >&2
	fi
	if has_suite upstream; then
		# the tests of the booted kernel's version (7.2: sid's source)
		selftests/host/kvm-upstream.sh build "$(echo "$abi" | cut -d. -f1,2)" ||
			echo "lab: upstream KVM selftests build failed; that suite will fail" >&2
	fi
fi
# L2's kernel: the image's own ELF, booted through its PVH entry (no
# decompression under TCG: scripts/pvh-kernel.sh); the UEFI boots
# (lockdown) take the image itself, through its EFI stub
l2_kernel=$kimage/boot/vmlinuz-$abi
pvh=$REPO/build/$abi/vmlinux-pvh
mkdir -p "$REPO/build/$abi"
if [ "$pvh" -nt "$l2_kernel" ] || scripts/pvh-kernel.sh "$l2_kernel" "$pvh"; then
	l2_kernel=$pvh
else
	echo "lab: L2 boots the compressed image (no PVH kernel)" >&2
fi
if [ "$build_only" = 1 ]; then
	echo "lab: built in $(elapsed "$t0" "$(now)") s (--build-only: no L2 boot)"
	exit 0
fi

# --- the L2 initramfs: busybox, the modules for kvm_amd and 9p, /init ----
l2root=$(mktemp -d)
trap 'rm -rf "$l2root" "$l2root.monitor"' EXIT
mkdir -p "$l2root"/{bin,dev,proc,sys,host,lib/pvx}
cp /bin/busybox "$l2root/bin/busybox"
scripts/kmods.sh "$kimage" "$abi" "$l2root/lib/pvx" kvm-amd virtio_pci 9pnet_virtio 9p ||
	die "cannot gather L2's modules of $abi"
# Parameters for kvm_amd in L2 ($kvm_amd_args, checked above). The
# tiny-VM suite reloads kvm_amd with the same ones.
echo "$kvm_amd_args" >"$l2root/lib/pvx/kvm-amd.ko.args"
cat >"$l2root/env" <<EOF
export PVX_REPO='$REPO'
export PVX_ABI='$abi'
export PVX_SERIES='$series'
export PVX_BUILD='$REPO/build/$abi'
export PVX_SELFTESTS='$REPO/build/selftests'
export PVX_KIMAGE='$kimage'
export PVX_L3_INITRD='$REPO/build/$abi/l3-initrd.gz'
export PVX_L3_CPUS='$l3_cpus'
export PVX_L3_MEM='$l3_mem'
export PVX_OUT='$out'
export PVX_CACHE='$cache'
export PVX_KVM_AMD_ARGS='$kvm_amd_args'
export PVX_L2_QEMU='$l2_qemu_version'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
EOF
cat >"$l2root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "PVX-L2-INIT uptime=$(cut -d' ' -f1 /proc/uptime)"
for m in $(cat /lib/pvx/load-order); do
	insmod "/lib/pvx/$m" $(cat "/lib/pvx/$m.args" 2>/dev/null) ||
		echo "PVX-L2: insmod $m failed"
done
. /env
opts=trans=virtio,version=9p2000.L,msize=262144
# L1's root and the cache read-only with cache=loose: every L3 boot
# starts a QEMU (binary and libraries) and reads L3's kernel, which with
# 9p's default (no cache) came over 9p each time: 3-5 s of an L3 boot
# before its firmware, 7-19 s beside the other lab. Nothing L2 reads
# there changes while L2 runs. The checkout stays uncached: make check
# builds into it beside the labs and kvm-upstream.sh waits there for a
# mark to go, which a cached lookup would never see.
mount -t 9p -o "$opts,ro,cache=loose" hostroot /host || echo "PVX-L2: cannot mount hostroot"
mount -t devtmpfs dev /host/dev
ln -sf /proc/self/fd /host/dev/fd
mkdir -p /host/dev/shm /host/dev/pts
mount -t tmpfs tmpfs /host/dev/shm
mount -t devpts devpts /host/dev/pts
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t debugfs debugfs /host/sys/kernel/debug
mount -t tracefs tracefs /host/sys/kernel/tracing 2>/dev/null
mount -t tmpfs tmpfs /host/tmp
mount -t tmpfs tmpfs /host/run
# the checkout, the cache and the results at their paths, over L2's own
# /tmp and /run when they live there
share() {
	mkdir -p "/host$2" 2>/dev/null
	mount -t 9p -o "$opts,$3" "$1" "/host$2" || echo "PVX-L2: cannot mount $1 at $2"
}
share pvxcache "$PVX_CACHE" ro,cache=loose
share pvxrepo "$PVX_REPO" ro
share pvxout "$PVX_OUT" rw
[ -e /dev/kvm ] || echo "PVX-L2: no /dev/kvm (kvm_amd did not load)"
# L2's text symbols (nokaslr: the same for every boot of this kernel)
# for lab.sh's report of where a stalled L2 was
[ -s "/host$PVX_OUT/l2-kallsyms" ] ||
	grep -i ' t ' /proc/kallsyms >"/host$PVX_OUT/l2-kallsyms" 2>/dev/null
. /env-boot
# heartbeat for lab.sh's watchdog: stops when L2 itself stops. It carries
# the last line of the newest TAP being written, so that the console shows
# where a suite was when it hung.
# Shell builtins but sleep: every process L2 forks is CPU taken from the
# L3 vCPUs, which they see as steal.
(while :; do
	newest="" last=""
	for t in /host/tmp/pvx-out/*.tap; do
		[ -z "$newest" ] || [ "$t" -nt "$newest" ] && newest=$t
	done
	[ -f "$newest" ] && while read -r l; do last=$l; done <"$newest"
	# and the last line of the newest L3 console (what L3 was doing)
	l3="" l3last=""
	for t in /host/tmp/pvx-out/l3-*.log; do
		[ -z "$l3" ] || [ "$t" -nt "$l3" ] && l3=$t
	done
	[ -f "$l3" ] && l3last=$(tail -n 1 "$l3" | tr -cd '[:print:]')
	read -r up _ </proc/uptime
	echo "PVX-L2-HB $up ${newest##*/}: ${last:0:100}${l3last:+ | ${l3##*/}: ${l3last:0:100}}"
	sleep 10
done) &
chroot /host /bin/bash "$PVX_REPO/scripts/l2-run.sh"
echo "PVX-L2-DONE rc=$? uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
EOF
chmod +x "$l2root/init"
mkdir -p "$REPO/build/$abi"
t1=$(now)
echo "lab: prepared in $(elapsed "$t0" "$t1") s"

# l2_paused MONITOR: L2's QEMU pauses at any shutdown, reset or panic
# (-action, below) so that the registers of a triple fault can still be
# read: then they go to $out/l2-triple-regs.log, QEMU is told to quit,
# and the answer is 0. Otherwise 1.
l2_paused() {
	echo "info status" | socat -t 2 - "UNIX-CONNECT:$1" 2>/dev/null |
		grep -q 'VM status: paused (shutdown)' || return 1
	if grep -aq 'Triple fault' "$out/l2-qemu-$tag.log" 2>/dev/null; then
		echo "info registers -a" | socat -t 3 - "UNIX-CONNECT:$1" \
			>"$out/l2-triple-regs.log" 2>&1
	fi
	echo quit | socat -t 2 - "UNIX-CONNECT:$1" >/dev/null 2>&1
	return 0
}

# l2_triple CONSOLE: L2 triple-faulted before it finished (l2_paused
# found it in QEMU's log and kept the registers).
l2_triple() {
	[ -s "$out/l2-triple-regs.log" ] && ! grep -aq PVX-L2-DONE "$1"
}

# watch_l2 PID CONSOLE MONITOR: wait for the L2 QEMU PID. When L2's
# heartbeat (PVX-L2-HB, every 10 s of L2 time) stops for $nudge_s s, send
# L2 an NMI through the QEMU monitor socket MONITOR: it makes a vCPU stuck
# in a nested guest exit to L2, and wakes an idle L2 whose timer interrupt
# was lost, so that L2 re-arms its timer. When the heartbeat stays away for
# $stall_s s (or never starts within $stall_boot_s s), kill QEMU. Returns 0
# when L2 ended by itself (QEMU's status in $qrc), 1 when it was killed.
watch_l2() {
	local pid=$1 console=$2 monitor=$3 hb last=0 since limit nudged=0 quiet
	since=$(date +%s)
	limit=$stall_boot_s
	while kill -0 "$pid" 2>/dev/null; do
		# L2's end (QEMU paused at its shutdown) is looked for every
		# second, the heartbeat every 5: a 5 s poll cost each L2 boot
		# 2.5 s on average after L2 had powered off
		for _ in 1 2 3 4 5; do
			sleep 1
			kill -0 "$pid" 2>/dev/null || break
			l2_paused "$monitor" && break 2
		done
		hb=$(grep -a -c 'PVX-L2-HB' "$console" 2>/dev/null)
		quiet=$(($(date +%s) - since))
		if [ "${hb:-0}" != "$last" ]; then
			[ "$nudged" = 1 ] &&
				echo "L2 heartbeat stopped for $quiet s and came back after an NMI" >>"$out/stalls"
			last=${hb:-0}
			since=$(date +%s)
			limit=$stall_s
			nudged=0
		elif [ "$quiet" -ge "$limit" ]; then
			# where L2's vCPU is stuck (lab.rst, "L2 stops while an
			# L3 guest runs")
			: >"$out/l2-stall-regs.log"
			for _ in 1 2 3; do
				echo "info registers" | socat -t 3 - "UNIX-CONNECT:$monitor" \
					>>"$out/l2-stall-regs.log" 2>&1
				sleep 1
			done
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 1
		elif [ "$last" != 0 ] && [ "$nudged" = 0 ] && [ "$quiet" -ge "$nudge_s" ]; then
			echo "lab: no L2 heartbeat for $quiet s; sending L2 an NMI"
			echo nmi | socat - "UNIX-CONNECT:$monitor" >/dev/null 2>&1 ||
				echo "lab: cannot reach the QEMU monitor $monitor"
			nudged=1
		fi
	done
	wait "$pid"
	qrc=$?
	return 0
}

# stall_where REGS: where the stalled L2 vCPU was, one line for each of
# the monitor's "info registers" dumps (three, 1 s apart): RIP with its L2
# kernel symbol (from L2's /proc/kallsyms, saved at its first boot; L2
# boots with nokaslr so that it stays true), RCX (the MSR of a stuck
# RDMSR/WRMSR), CPL and the halted flag.
stall_where() {
	if ! grep -q '^RIP=' "$1" 2>/dev/null; then
		echo "no registers from the QEMU monitor"
		return 0
	fi
	awk -v syms="$out/l2-kallsyms" '
	function hex(h,  i, v) {
		v = 0
		for (i = 1; i <= length(h); i++)
			v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
		return v
	}
	# kernel text is in ffffffffXXXXXXXX: the low 32 bits are exact in awk
	function where(rip,  hi, r, a, best, name, line, f) {
		hi = substr(rip, 1, 8)
		r = hex(substr(rip, 9))
		best = -1
		while ((getline line < syms) > 0) {
			split(line, f, " ")
			if (substr(f[1], 1, 8) != hi)
				continue
			a = hex(substr(f[1], 9))
			if (a <= r && a > best) { best = a; name = f[3] }
		}
		close(syms)
		if (best >= 0 && r - best < 65536)
			return sprintf("%s+0x%x", name, r - best)
		return "not in L2 kernel or module text (L3 or user space)"
	}
	/^RAX=/ { rcx = $3 }
	/^RIP=/ {
		rip = substr($1, 5)
		st = $0
		sub(/.*CPL=/, "CPL=", st)
		printf "L2 vCPU at RIP %s = %s; %s; %s\n", rip, where(rip), rcx, st
	}' "$1"
}

# int3_race CONSOLE: L2 died of "Oops: int3" where the byte before the
# trapping address is no longer an int3 (0xcc) in the oops' Code: line: the
# breakpoint that text_poke_bp() puts in while it patches kernel text (a
# static key, an ftrace site) was hit by one vCPU and already replaced by
# the other, which multi-threaded TCG lets happen (lab.rst) and hardware
# does not. An int3 still in the code is not this and is not retried.
int3_race() {
	grep -aq 'Oops: int3' "$1" || return 1
	grep -a -m1 ' Code: ' "$1" | grep -Eq ' [0-9a-f]{2} <[0-9a-f]{2}>' || return 1
	! grep -a -m1 ' Code: ' "$1" | grep -q ' cc <'
}

# l3_reset_panic CONSOLE: L2 panicked (a direct panic(), not an oops:
# the panic's own message comes right before its Call Trace) in an L3 vCPU
# thread that was handling the L3's reset, shutdown_interception() in
# kvm_amd, with no pvx frame in that trace. The world switch of an L3 that
# leaves guest mode for a shutdown is where TCG's nested SVM has written
# to L2's stack before ("corrupted stack end detected inside scheduler",
# lab.rst; seen in CI on 6.12, deep into the guest suite). A panic
# anywhere else, or through pvx code, is not this and is not retried.
l3_reset_panic() {
	awk '
		/Kernel panic - not syncing/ { inpanic = 1; trace = "" }
		inpanic && / Code: / { inpanic = 0 }
		inpanic { trace = trace "\n" $0 }
		END {
			if (trace == "" || trace !~ /shutdown_interception/ ||
			    trace ~ /\[pvx_/)
				exit 1
		}' "$1"
}

# panic_without_pvx CONSOLE: L2 panicked while no pvx module was loaded
# (the oops' "Modules linked in:" names none; "[last unloaded: ...]" is
# history, not code in the kernel) and no trace has a pvx frame: stock
# kvm_amd under TCG's nested SVM, e.g. "BUG: TASK stack guard page was
# hit" in error_entry during an L3's KVM_RUN after pvx_host was removed
# (CI, 6.1, the fallback boot of the guest suite). Retried like the
# faults above; the retry runs the same suites, so a fault pvx left
# behind shows again.
panic_without_pvx() {
	grep -aq 'Kernel panic - not syncing' "$1" || return 1
	grep -aq '\[pvx_' "$1" && return 1
	grep -a 'Modules linked in:' "$1" | tail -n 1 | sed 's/\[last unloaded:.*//' |
		grep -q 'Modules linked in:' || return 1
	! grep -a 'Modules linked in:' "$1" | tail -n 1 | sed 's/\[last unloaded:.*//' |
		grep -q 'pvx'
}

# svm_run_overflow CONSOLE: L2's kernel stack overflowed ("stack guard
# page was hit") in a trace through __svm_vcpu_run, the world switch into
# an L3 that TCG's nested SVM emulates, with no pvx frame in it: the
# emulator's fault of the same kind as the two above (seen on 6.12 in
# migrate-quick, with pvx's host modules loaded but not in the trace).
# Also when the console lost the trace (no "Call Trace" line at all) of
# such an overflow at error_entry in an L3 vCPU thread ("CPU N/KVM"): the
# storm of exception frames of the same fault, its trace never printed
# (seen on 6.1 in guest-core, the panic "corrupted stack end detected
# inside scheduler" 120 s later). The retry runs the same suites, so a
# fault of pvx's shows again.
svm_run_overflow() {
	grep -aq 'Kernel panic - not syncing' "$1" || return 1
	grep -aq 'stack guard page was hit' "$1" || return 1
	grep -aq '\[pvx_' "$1" && return 1
	grep -aq '__svm_vcpu_run' "$1" && return 0
	! grep -aq 'Call Trace' "$1" &&
		grep -aq 'Comm: CPU [0-9]*/KVM' "$1" &&
		grep -aq 'RIP: 0010:error_entry' "$1"
}

# boot_l2 TAG CPUS SUITES: one L2 boot that runs SUITES (comma list).
# TCG sometimes stops delivering interrupts to L2 while an L3 guest runs,
# and L2 stops for good, or lets a vCPU trap on an int3 that kernel text
# patching has already removed, and L2 oopses, or L2 triple-faults with
# nothing on its console (lab.rst; its registers are kept), or panics in
# the reset of an L3 (l3_reset_panic), or panics with no pvx module
# loaded (panic_without_pvx): such a boot is killed by the watchdog (or has ended) and made again for the suites
# that had not ended, at most $attempts boots in all; a last stall or
# oops is reported as a failure.
boot_l2() {
	local tag=$1 cpus=$2 list=$3 initrd="$REPO/build/$abi/l2-initrd-$1.gz" qrc t2 t3 l2_boot tf
	local attempt=1 console="$out/l2-console-$1.log" s left what
	while :; do
		cat >"$l2root/env-boot" <<EOT
export PVX_TESTS='$list'
export PVX_L2_TAG='$tag'
export PVX_LAB_FAKE_STALL='${PVX_LAB_FAKE_STALL:-}'
export PVX_LAB_SUITE_LIMIT='${PVX_LAB_SUITE_LIMIT:-}'
export PVX_RESETS_BOOTS='${PVX_RESETS_BOOTS:-6}'
export PVX_RESETS_LOAD_S='${PVX_RESETS_LOAD_S:-20}'
export PVX_RESETS_LOAD='${PVX_RESETS_LOAD:-forks}'
export PVX_L3_TUNE='${PVX_L3_TUNE:-short}'
export PVX_LAB_SOAK='${PVX_LAB_SOAK:-short}'
EOT
		(cd "$l2root" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd"
		echo "lab: booting L2 '$tag' ($abi, $cpus vCPUs, $l2_mem MB, suites: $list)"
		# tsc=reliable: TCG's TSC is the host's, the same on every L2
		# CPU, but L2's boot-time sync check, run on a loaded machine,
		# now and then calls it unsynchronized and L2 falls back to
		# hpet; then a VM's TSC can differ between L2 CPUs (the
		# upstream tsc_msrs_test read 0 after writing 2^32) and
		# kvm_clock_test skips itself (seen in CI). no5lvl: L2 on
		# 4-level paging, although -cpu max offers LA57; it costs
		# nothing, but L2 triple-faults after a VMRUN on 4- and 5-level
		# paging alike (Documentation/lab.rst): the retries below are
		# the remedy.
		t2=$(now)
		timeout -k 10 "$timeout_s" "$qemu" \
			-accel "tcg,$tcg" $icount_args -cpu max -m "$l2_mem" -smp "$cpus" $l2_args \
			-nographic -nodefaults -serial stdio \
			-kernel "$l2_kernel" -initrd "$initrd" \
			-append "console=ttyS0 quiet panic=-1 oops=panic nokaslr sysrq_always_enabled tsc=reliable $tsc_early no5lvl $smp_append $l2_append $l2_boot_append" \
			-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
			-virtfs "local,path=$cache,mount_tag=pvxcache,security_model=none,readonly=on,multidevs=remap" \
			-virtfs "local,path=$REPO,mount_tag=pvxrepo,security_model=none,readonly=on,multidevs=remap" \
			-virtfs "local,path=$out,mount_tag=pvxout,security_model=none" \
			-monitor "unix:$l2root.monitor,server=on,wait=off" \
			-action reboot=shutdown,shutdown=pause \
			-d cpu_reset,guest_errors -D "$out/l2-qemu-$tag.log" \
			</dev/null >"$console" 2>&1 &
		if watch_l2 $! "$console" "$l2root.monitor"; then
			t3=$(now)
			if int3_race "$console"; then
				what=int3
				echo "lab: L2 '$tag' oopsed on an int3 that kernel text patching had already removed (TCG's text-patching race, lab.rst) after $(elapsed "$t2" "$t3") s wall:"
				grep -a -m1 -A1 'Oops: int3' "$console" | sed 's/^/lab:   /'
				grep -a -m1 '^\[ *[0-9.]*\] RIP: ' "$console" | sed 's/^/lab:   /'
			elif l3_reset_panic "$console"; then
				what=panic
				echo "lab: L2 '$tag' panicked in an L3 vCPU thread handling the L3's reset, no pvx code in the trace (TCG's nested world switch, lab.rst) after $(elapsed "$t2" "$t3") s wall:"
				grep -a -m1 'Kernel panic - not syncing' "$console" | sed 's/^/lab:   /'
				grep -a 'PVX-L2-HB' "$console" | tail -n 1 | sed 's/^/lab:   last heartbeat: /'
			elif panic_without_pvx "$console"; then
				what=nopvx-panic
				echo "lab: L2 '$tag' panicked with no pvx module loaded and no pvx frame in its traces (stock KVM under TCG's nested SVM, lab.rst) after $(elapsed "$t2" "$t3") s wall:"
				grep -a -m1 -E 'BUG: |Kernel panic - not syncing' "$console" | sed 's/^/lab:   /'
				grep -a 'Modules linked in:' "$console" | tail -n 1 | sed 's/^/lab:   /'
				grep -a 'PVX-L2-HB' "$console" | tail -n 1 | sed 's/^/lab:   last heartbeat: /'
			elif svm_run_overflow "$console"; then
				what=svm-overflow
				echo "lab: L2 '$tag' overflowed its stack in the world switch into an L3, no pvx frame in the trace (TCG's nested SVM, lab.rst) after $(elapsed "$t2" "$t3") s wall:"
				grep -a -m1 'stack guard page was hit' "$console" | sed 's/^/lab:   /'
				grep -a 'PVX-L2-HB' "$console" | tail -n 1 | sed 's/^/lab:   last heartbeat: /'
			elif l2_triple "$console"; then
				what=triple
				echo "lab: L2 '$tag' triple-faulted (lab.rst) after $(elapsed "$t2" "$t3") s wall; its vCPUs then (l2-regs-$tag-triple$attempt.log):"
				grep -a -E '^(CPU#|RIP=|CR0=|GDT=|IDT=|TR )' "$out/l2-triple-regs.log" | sed 's/^/lab:   /'
				stall_where "$out/l2-triple-regs.log" | sed 's/^/lab:   /'
				grep -a 'PVX-L2-HB' "$console" | tail -n 1 | sed 's/^/lab:   last heartbeat: /'
				mv "$out/l2-triple-regs.log" "$out/l2-regs-$tag-triple$attempt.log"
				mv "$out/l2-qemu-$tag.log" "$out/l2-qemu-$tag-triple$attempt.log"
			else
				break
			fi
		else
			t3=$(now)
			what=stalled
			echo "lab: L2 '$tag' stopped (no heartbeat for $stall_s s) after $(elapsed "$t2" "$t3") s wall; last console lines:"
			grep -av 'PVX-L2-HB' "$console" | tail -n 5 | sed 's/^/lab:   /'
			stall_where "$out/l2-stall-regs.log" | sed 's/^/lab:   /'
			mv "$out/l2-stall-regs.log" "$out/l2-regs-$tag-stalled$attempt.log" 2>/dev/null
		fi
		mv "$console" "$out/l2-console-$tag-$what$attempt.log"
		# suites that ended before the stall have their TAP in $out
		left=""
		for s in ${list//,/ }; do
			[ -s "$out/$s.tap" ] || left="$left,$s"
		done
		echo "L2 $what in attempt $attempt (console: l2-console-$tag-$what$attempt.log); suites left: ${left#,}" >>"$out/stalls"
		if [ "$attempt" -ge "$attempts" ]; then
			echo "lab: L2 '$tag' stalled or oopsed $attempt times; giving up"
			return
		fi
		if [ -z "$left" ]; then
			qrc=0	# every suite had ended: the stall came afterwards
			break
		fi
		list=${left#,}
		attempt=$((attempt + 1))
	done
	t3=$(now)
	l2_boot=$(sed -n 's/.*PVX-L2-INIT uptime=\([0-9.]*\).*/\1/p' "$console" | head -n1)
	echo "lab: L2 '$tag' ran $(elapsed "$t2" "$t3") s wall (kernel uptime at /init: ${l2_boot:-?} s)"
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		echo "lab: L2 '$tag' timed out after $timeout_s s"
	fi
	if ! grep -q PVX-L2-DONE "$console"; then
		tf=$(grep -a -c 'Triple fault' "$out/l2-qemu-$tag.log" 2>/dev/null || true)
		echo "lab: L2 '$tag' did not finish (QEMU exit status ${qrc:-?}, ${tf:-0} triple fault(s) in QEMU's log)"
		echo "lab: L2 '$tag' last console lines:"
		grep -av 'PVX-L2-HB' "$console" | tail -n 30 | sed 's/^/lab:   /'
		grep -a 'PVX-L2-HB' "$console" | tail -n 1 | sed 's/^/lab: last heartbeat: /'
	fi
	grep -E 'PVX-L2:|BUG|WARNING|Oops|Call Trace' "$console" |
		head -n 20 | sed 's/^/lab: console: /' || true
}

# lockdown_sign DIR BUILD: the lockdown boot's module signing key and
# certificate in DIR (key.pem, cert.pem; made once, under a lock: the two
# labs of make check share the cache), and BUILD/signed/: the host
# modules signed with it, and pvx_host signed with a throwaway key that no
# keyring holds (lockdown-l2.sh: it must be refused)
lockdown_sign() {
	local d=$1 sf ko
	sf=$(echo "$kimage"/usr/lib/linux-kbuild-*/scripts/sign-file)
	if [ ! -x "$sf" ] || [ ! -f /usr/share/OVMF/OVMF_CODE_4M.fd ]; then
		die "no sign-file of $abi or no OVMF (run: make deps)"
	fi
	mkdir -p "$d" "$2/signed"
	(flock 9
	 [ -s "$d/cert.pem" ] || { lockdown_key "$d/key.pem.tmp" "$d/cert.pem.tmp" "pvx lab module signing key" &&
		mv "$d/key.pem.tmp" "$d/key.pem" && mv "$d/cert.pem.tmp" "$d/cert.pem"; }) 9>"$d/lock"
	for ko in "$2"/host/*.ko; do
		"$sf" sha256 "$d/key.pem" "$d/cert.pem" "$ko" "$2/signed/${ko##*/}"
	done
	lockdown_key "$2/signed/other.pem" "$2/signed/other.crt" "pvx lab throwaway key"
	"$sf" sha256 "$2/signed/other.pem" "$2/signed/other.crt" "$2/host/pvx_host.ko" "$2/signed/pvx_host-other-key.ko"
}

# lockdown_key KEY CERT CN: a new RSA key and its self-signed certificate,
# with what the kernel's own module signing key has (x509.genkey)
lockdown_key() {
	openssl req -new -x509 -newkey rsa:3072 -nodes -days 36500 -sha256 -subj "/CN=$3/" \
		-addext basicConstraints=critical,CA:FALSE -addext keyUsage=digitalSignature \
		-keyout "$1" -out "$2" 2>/dev/null
}

# Two L2 vCPUs by default (QEMU 10, one TCG thread each): two L3 vCPUs
# really run at once, and a 4-vCPU L3 is a 2x overcommit of real
# parallelism, not time-sharing of one CPU.
rm -f "$out/stalls"
# numa and numabench run in the NUMA L2 (below), lockdown in its own, the
# others in L2 'main'
main_tests=$(tr , '\n' <<<"$tests" | { grep -vxF -e numa -e numabench -e lockdown || true; } | paste -sd, -)
numa_tests=$(tr , '\n' <<<"$tests" | { grep -xF -e numa -e numabench || true; } | paste -sd, -)
l2_args="" l2_boot_append=""
[ -n "$main_tests" ] && boot_l2 main "$l2_cpus" "$main_tests"
# The NUMA suite's L2: two nodes, each with half the CPUs and half the
# memory (QEMU models the topology under TCG; there is no NUMA latency).
if [ -n "$numa_tests" ]; then
	half=$((l2_mem / 2))
	l2_args="-object memory-backend-ram,id=mem0,size=${half}M"
	l2_args="$l2_args -object memory-backend-ram,id=mem1,size=$((l2_mem - half))M"
	l2_args="$l2_args -numa node,nodeid=0,cpus=0-$((l2_cpus / 2 - 1)),memdev=mem0"
	l2_args="$l2_args -numa node,nodeid=1,cpus=$((l2_cpus / 2))-$((l2_cpus - 1)),memdev=mem1"
	if [ "$l2_cpus" -lt 2 ]; then
		echo "lab: the numa suite needs 2 L2 CPUs; it runs on one node" >&2
		l2_args=""
	fi
	boot_l2 numa "$l2_cpus" "$numa_tests"
fi
# The lockdown suite's L2: booted with lockdown=integrity under UEFI
# (Debian's OVMF). Debian's kernels take a module signed by a key of the
# firmware's db (their platform keyring), with or without Secure Boot: a
# key of the cache signs copies of the host modules (build/ABI/signed/),
# and its certificate is written into db once, by an L2 boot in OVMF's
# Setup Mode (no PK) that runs the suite 'enrol' (efi-updatevar); that
# vars file is kept in the cache per certificate and copied for each boot.
if has_suite lockdown; then
	ld=$cache/lockdown
	lockdown_sign "$ld" "$REPO/build/$abi"
	vars=$ld/vars-$(openssl x509 -in "$ld/cert.pem" -outform DER | sha256sum | cut -c1-16).fd
	l2_kernel=$kimage/boot/vmlinuz-$abi
	l2_args="-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"
	l2_args="$l2_args -drive if=pflash,format=raw,unit=1,file=$out/l2-vars.fd"
	if [ ! -s "$vars" ]; then
		cp /usr/share/OVMF/OVMF_VARS_4M.fd "$out/l2-vars.fd"
		boot_l2 enrol "$l2_cpus" enrol
		if grep -q '^ok' "$out/enrol.tap" && ! grep -q '^not ok' "$out/enrol.tap"; then
			cp "$out/l2-vars.fd" "$vars.tmp$$" && mv "$vars.tmp$$" "$vars"
		else
			echo "lab: the key did not go into OVMF's db (enrol.tap):"
			cat "$out/enrol.tap" 2>/dev/null || true
		fi
	fi
	[ ! -s "$vars" ] || cp "$vars" "$out/l2-vars.fd"
	l2_boot_append=lockdown=integrity
	boot_l2 lockdown "$l2_cpus" lockdown
fi
cat "$out"/times-* 2>/dev/null | sed 's/^/lab: time: /' || true

# --- report --------------------------------------------------------------
# one nested KTAP stream: each suite's TAP as the subtest of one line
rc=0
{
	echo "TAP version 13"
	echo "1..${#suites[@]}"
	[ -f "$out/stalls" ] && sed 's/^/# lab: /' "$out/stalls"
	i=0
	for s in "${suites[@]}"; do
		i=$((i + 1))
		echo "# suite $s (kernel $abi)"
		if [ -s "$out/$s.tap" ]; then
			scripts/ktap-nest.sh "$i" "$s (kernel $abi)" "$out/$s.tap"
		else
			echo "not ok $i $s (kernel $abi) # suite produced no TAP (see $out/l2-console-*.log)"
		fi
	done
} | tee "$out/all.tap"
read -r p f k < <(scripts/tap-count.sh "$out/all.tap")
echo "lab: kernel $abi: $p passed, $f failed, $k skipped"
[ "$f" -eq 0 ] && [ "$p" -gt 0 ] || rc=1
exit $rc
