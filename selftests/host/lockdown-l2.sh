#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lockdown suite of the pvx host module, run INSIDE the L2 KVM host (lab:
# chroot /host, kvm + kvm_amd loaded). The admin's controls must work on a
# host booted with lockdown=integrity (Secure Boot), where debugfs refuses
# writers. Such a host also refuses unsigned modules, and the lab's are
# unsigned, so this suite loads pvx_host first and then raises lockdown
# at run time through securityfs. Lockdown cannot be lowered again and
# nothing can be loaded afterwards: l2-run.sh runs this suite last.
# Prints one TAP 13 stream on stdout (plan at the end); exit 0 pass, 1
# fail. No SKIP: a lab suite that skips fails make check.
#
# Stages, in order:
#   insmod      load $PVX_BUILD/host/pvx_host.ko (lockdown still none)
#   raise       echo integrity > /sys/kernel/security/lockdown; it reads
#               [integrity]; loading another module is refused now (the
#               lockdown is real)
#   policy      pvx_hcall_test policy --lockdown: every control (module
#               parameters enable, features, new_vms, pid_policy; per-VM
#               sysfs enabled, features) works and refuses bad input;
#               opening a debugfs copy for writing is -EPERM; counters
#               stay readable
#   rmmod       pvx_host can still be removed; /sys/kernel/pvx_host gone
#   dmesg       no BUG/WARNING/Oops line during the run
#
# Environment (set by scripts/lab.sh): PVX_REPO, PVX_ABI, PVX_BUILD,
# PVX_SELFTESTS, PVX_OUT.
set -u

here=$(cd "$(dirname "$0")" && pwd)
PVX_REPO=${PVX_REPO:-$(cd "$here/../.." && pwd)}
PVX_SELFTESTS=${PVX_SELFTESTS:-$PVX_REPO/build/selftests}
PVX_OUT=${PVX_OUT:-/tmp}
PVX_ABI=${PVX_ABI:-$(uname -r)}
KO=${PVX_BUILD:-$PVX_REPO/build/$PVX_ABI}/host/pvx_host.ko
YKO=$(dirname "$KO")/pvx_yield.ko
BIN=$PVX_SELFTESTS/pvx_hcall_test
LOCKDOWN=/sys/kernel/security/lockdown
LOG=$PVX_OUT/lockdown
mkdir -p "$LOG"

n=0 nfail=0

result() {	# result ok|fail DESC...
	local st=$1
	shift
	n=$((n + 1))
	if [ "$st" = ok ]; then
		echo "ok $n $*"
	else
		nfail=$((nfail + 1))
		echo "not ok $n $*"
	fi
}

check() {	# check DESC CMD...: one result from CMD's status
	local desc=$1
	shift
	if "$@"; then result ok "$desc"; else result fail "$desc"; fi
}

diag() { echo "# $*"; }

# run_tap STAGE ARGS...: pvx_hcall_test ARGS, its TAP merged into ours
# (renumbered, prefixed with STAGE); a SKIP of it counts as a failure
run_tap() {
	local stage=$1 out=$LOG/$1.tap rc line desc got=0
	shift
	timeout -k 10 900 "$BIN" "$@" >"$out" 2>"$out.err"
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"TAP version"* | 1..[0-9]*) ;;
		"ok "* | "not ok "*)
			got=1
			desc=${line#not }
			desc=${desc#ok }
			desc=${desc#* }
			case "$line" in
			*"# SKIP"*) result fail "$stage: ${desc%% # SKIP*} (skipped: ${desc##*# SKIP })" ;;
			"ok "*) result ok "$stage: $desc" ;;
			*) result fail "$stage: $desc" ;;
			esac ;;
		*) echo "$line" ;;
		esac
	done <"$out"
	[ -s "$out.err" ] && sed 's/^/# stderr: /' "$out.err"
	[ $got = 1 ] || result fail "$stage: $(basename "$BIN") $* gave no results (exit $rc)"
	[ "$rc" = 0 ] || diag "$stage: $(basename "$BIN") $* exit $rc"
}

dmesg_mark() { dmesg | wc -l; }

lockdown_level() { sed -n 's/.*\[\([a-z]*\)\].*/\1/p' "$LOCKDOWN" 2>/dev/null; }

echo "TAP version 13"
diag "pvx lockdown suite: kernel $(uname -r), ABI $PVX_ABI, module $KO"
mark0=$(dmesg_mark)
hold_pid=""
# one idle VM throughout, as in the tiny-VM suite (pvx_hcall_test hold-vm)
if [ -c /dev/kvm ] && [ -x "$BIN" ]; then
	"$BIN" hold-vm &
	hold_pid=$!
fi
trap '[ -z "$hold_pid" ] || kill "$hold_pid" 2>/dev/null' EXIT

check "setup: /dev/kvm and $BIN present" test -c /dev/kvm -a -x "$BIN"
for m in pvx_ksm pvx_numa pvx_fork_copy pvx_yield pvx_host; do
	[ -d "/sys/module/$m" ] && { diag "$m was loaded at start; removing it"; rmmod "$m"; }
done
if [ ! -e "$LOCKDOWN" ]; then
	mount -t securityfs securityfs /sys/kernel/security 2>/dev/null ||
		diag "mount securityfs: failed"
fi
level=$(lockdown_level)
check "setup: $LOCKDOWN reads none before the suite ('$(cat "$LOCKDOWN" 2>/dev/null)')" \
	test "$level" = none

# --- insmod, before lockdown (unsigned modules load only now) -------------
if err=$(insmod "$KO" 2>&1); then
	result ok "insmod: pvx_host.ko"
else
	result fail "insmod: pvx_host.ko: $err"
fi

# --- raise lockdown --------------------------------------------------------
echo integrity >"$LOCKDOWN" 2>"$LOG/raise.err"
check "raise: echo integrity > $LOCKDOWN, reads '$(cat "$LOCKDOWN" 2>/dev/null)'" \
	test "$(lockdown_level)" = integrity
if [ "$(lockdown_level)" = integrity ]; then
	if err=$(insmod "$YKO" 2>&1); then
		result fail "raise: insmod of unsigned pvx_yield.ko must be refused under lockdown, it loaded"
		rmmod pvx_yield
	else
		result ok "raise: insmod of unsigned pvx_yield.ko refused ($err)"
	fi
fi

# --- every control under lockdown -----------------------------------------
if [ -d /sys/module/pvx_host ]; then
	run_tap policy policy --lockdown
	check "policy: debugfs pvx/counters readable under lockdown" \
		grep -q '^calls ' /sys/kernel/debug/pvx/counters
	writable=$(find /sys/kernel/debug/pvx -type f -perm /222 2>&1 | head -n 3)
	check "policy: no debugfs file of pvx has a write bit (${writable:-none})" \
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
check "rmmod: /sys/kernel/pvx_host and /sys/module/pvx_host gone" \
	test ! -e /sys/kernel/pvx_host -a ! -e /sys/module/pvx_host

# --- dmesg -----------------------------------------------------------------
bad=$(dmesg | tail -n +"$((mark0 + 1))" | grep -E 'BUG|WARNING|Oops|Call Trace|general protection' | head -n 5)
[ -z "$bad" ] || sed 's/^/# dmesg: /' <<<"$bad"
check "dmesg: no BUG/WARNING/Oops during the run" test -z "$bad"
dmesg | tail -n +"$((mark0 + 1))" | grep -i -E 'lockdown|pvx' | head -n 10 | sed 's/^/# dmesg: /'

echo "1..$n"
diag "lockdown: $n tests, $((n - nfail)) pass, $nfail fail"
[ $nfail -eq 0 ]
