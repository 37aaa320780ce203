#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lockdown suite of the pvx host module, run INSIDE the L2 KVM host (lab:
# chroot /host, kvm + kvm_amd loaded) that lab.sh booted with
# lockdown=integrity under UEFI (OVMF). The admin's controls must work on
# such a host, where debugfs refuses writers and only signed modules load.
# lab.sh signed copies of the host modules ($PVX_BUILD/signed/) with a key
# whose certificate is in the firmware's db, from which Debian's kernels
# fill their platform keyring (module signatures are checked against it
# when the builtin keys do not match). Prints one TAP 13 stream on stdout
# (plan at the end; tap.sh); exit 0 pass, 1 fail. A SKIP fails make check.
#
# Stages, in order:
#   boot        /sys/kernel/security/lockdown reads [integrity]; the lab's
#               key is in the kernel's keys (from db)
#   refuse      the unsigned pvx_host.ko of the build and one signed with
#               a key that no keyring holds are refused
#   insmod      the signed pvx_host and pvx_yield load (pvx_yield is
#               removed again: the policy stage runs on pvx_host alone)
#   policy      pvx_hcall_test policy --lockdown (and its dmesg.clean,
#               harness.h): every control (module
#               parameters enable, features, new_vms, pid_policy; per-VM
#               sysfs enabled, features) works and refuses bad input;
#               opening a debugfs copy for writing is -EPERM; counters
#               stay readable
#   rmmod       pvx_host can still be removed; /sys/kernel/pvx_host gone
#   dmesg       pvx_hcall_test dmesg: no BUG/WARNING/Oops line during the run
#
# lockdown-l2.sh enrol: run by lab.sh's boot that writes the key's
# certificate into db (OVMF in Setup Mode, no lockdown): efi-updatevar,
# then db must hold it.
#
# Environment (set by scripts/lab.sh): PVX_REPO, PVX_ABI, PVX_BUILD,
# PVX_SELFTESTS, PVX_OUT, PVX_CACHE, PVX_KIMAGE.
set -u

here=$(cd "$(dirname "$0")" && pwd)
PVX_REPO=${PVX_REPO:-$(cd "$here/../.." && pwd)}
PVX_SELFTESTS=${PVX_SELFTESTS:-$PVX_REPO/build/selftests}
PVX_OUT=${PVX_OUT:-/tmp}
PVX_ABI=${PVX_ABI:-$(uname -r)}
BUILD=${PVX_BUILD:-$PVX_REPO/build/$PVX_ABI}
KO=$BUILD/signed/pvx_host.ko
CERT=${PVX_CACHE:-/var/cache/pvx}/lockdown/cert.pem
CN="pvx lab module signing key"
H=pvx_hcall_test BIN=$PVX_SELFTESTS/pvx_hcall_test
LOCKDOWN=/sys/kernel/security/lockdown
LOG=$PVX_OUT/lockdown
mkdir -p "$LOG"

# shellcheck source=selftests/host/tap.sh
. "$here/tap.sh"

# holds DESC CMD...: one result from CMD's status
holds() {
	local desc=$1
	shift
	"$@"
	check $? "$desc"
}

dmesg_mark() { dmesg | wc -l; }

lockdown_level() { sed -n 's/.*\[\([a-z]*\)\].*/\1/p' "$LOCKDOWN" 2>/dev/null; }

# insmod_refused NAME KO: loading KO (a pvx_host) is refused with EPERM,
# lockdown's answer to a module whose signature no key verifies (the
# signed copy of the same module loads below), and pvx_host is not loaded
insmod_refused() {
	local err
	if err=$(insmod "$2" 2>&1); then
		result fail "refuse: $1 loaded under lockdown"
		rmmod pvx_host
	else
		holds "refuse: $1 refused ($err)" \
			test ! -d /sys/module/pvx_host -a -z "${err##*Operation not permitted*}"
	fi
}

# insmod_ok NAME: the signed copy of module NAME loads
insmod_ok() {
	local err
	if err=$(insmod "$BUILD/signed/$1.ko" 2>&1); then
		result ok "insmod: signed $1.ko"
	else
		result fail "insmod: signed $1.ko: $err"
	fi
}

echo "TAP version 13"
if [ "${1:-}" = enrol ]; then
	diag "pvx lockdown suite, enrol: $CERT into db"
	vars=/sys/firmware/efi/efivars
	modprobe -d "$PVX_KIMAGE" efivarfs 2>&1 | sed 's/^/# /'
	mountpoint -q "$vars" || mount -t efivarfs efivarfs "$vars"
	holds "enrol: OVMF in Setup Mode (no PK): SetupMode reads 1" \
		test "$(od -An -tu1 -j4 "$vars/SetupMode-8be4df61-93ca-11d2-aa0d-00e098032b8c" 2>/dev/null | tr -d ' ')" = 1
	holds "enrol: efi-updatevar -c $CERT db" efi-updatevar -c "$CERT" db
	holds "enrol: db holds '$CN'" grep -q "CN=$CN" <(efi-readvar -v db 2>&1)
	finish
fi
diag "pvx lockdown suite: kernel $(uname -r), ABI $PVX_ABI, module $KO"
mark0=$(dmesg_mark)
hold_pid=""
# one idle VM throughout, as in the tiny-VM suite (pvx_hcall_test hold-vm)
if [ -c /dev/kvm ] && [ -x "$BIN" ]; then
	"$BIN" hold-vm &
	hold_pid=$!
fi
trap '[ -z "$hold_pid" ] || kill "$hold_pid" 2>/dev/null' EXIT

holds "setup: /dev/kvm and $BIN present" test -c /dev/kvm -a -x "$BIN"
if [ ! -e "$LOCKDOWN" ]; then
	mount -t securityfs securityfs /sys/kernel/security 2>/dev/null ||
		diag "mount securityfs: failed"
fi

# --- the boot: lockdown from the command line, the key from db ------------
holds "boot: $LOCKDOWN reads integrity ('$(cat "$LOCKDOWN" 2>/dev/null)', cmdline: $(cat /proc/cmdline))" \
	test "$(lockdown_level)" = integrity
holds "boot: '$CN' among the kernel's keys (platform keyring, from db)" \
	grep -q "$CN: " /proc/keys
grep -h -i -E 'x509|platform keyring|secure ?boot|lockdown' "$PVX_OUT"/dmesg-boot-*.log 2>/dev/null |
	head -n 10 | sed 's/^/# boot: /'

# --- refused: unsigned, and signed with a key no keyring holds ------------
insmod_refused "unsigned pvx_host.ko of the build" "$BUILD/host/pvx_host.ko"
insmod_refused "pvx_host.ko signed with a throwaway key" "$BUILD/signed/pvx_host-other-key.ko"

# --- the signed modules load ----------------------------------------------
insmod_ok pvx_host
if [ -d /sys/module/pvx_host ]; then
	insmod_ok pvx_yield
	holds "insmod: signed pvx_yield removed again" rmmod pvx_yield
fi

# --- every control under lockdown -----------------------------------------
if [ -d /sys/module/pvx_host ]; then
	run_tap policy $H policy --lockdown
	holds "policy: debugfs pvx/counters readable under lockdown" \
		grep -q '^calls ' /sys/kernel/debug/pvx/counters
	writable=$(find /sys/kernel/debug/pvx -type f -perm /222 2>&1 | head -n 3)
	holds "policy: no debugfs file of pvx has a write bit (${writable:-none})" \
		test -z "$writable"
else
	result fail "policy: pvx_host not loaded"
fi

# --- rmmod under lockdown --------------------------------------------------
if err=$(rmmod pvx_host 2>&1); then
	result ok "rmmod: pvx_host removed under lockdown"
else
	result fail "rmmod: pvx_host: $err"
fi
holds "rmmod: /sys/kernel/pvx_host and /sys/module/pvx_host gone" \
	test ! -e /sys/kernel/pvx_host -a ! -e /sys/module/pvx_host

# --- dmesg -----------------------------------------------------------------
PVX_DMESG_MARK=$mark0 run_tap dmesg $H dmesg
dmesg | tail -n +"$((mark0 + 1))" | grep -i -E 'lockdown|pvx' | head -n 10 | sed 's/^/# dmesg: /'

TAP_NAME=lockdown finish
