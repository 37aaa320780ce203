# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# TAP 13 helpers of the L2 host suites (sourced by run-l2.sh and the
# other L2 scripts; pvxtop_host_test prints the same time lines in C).
# Builtins only in what runs per result: every process started in L2
# costs time under TCG, and a suite prints hundreds.
#
#   result ok|fail DESC...   one test
#   check STATUS DESC...     ok when STATUS is 0
#   skip REASON DESC...      a skipped test (the lab fails on any)
#   diag TEXT...             a "# " line
#   lap WHAT                 "# took S s: WHAT", L2 seconds since the last lap
#   finish                   the plan (and a summary line when TAP_NAME
#                            is set); exit 0 pass, 1 fail, 4 nothing passed
#
# Before a result, a "# (+S s)" line when over a second of L2 time went
# since the last one (tick; tick_reset only restarts the count): the time
# of insmod, rmmod and waits that no program's own line shows.

n=0 npass=0 nfail=0 nskip=0

tap_now() {	# L2 uptime in centiseconds in $t_now
	local up
	read -r up _ </proc/uptime
	up=${up/./}
	t_now=$((10#$up))
}
tap_now
t_start=$t_now t_tick=$t_now t_lap=$t_now

tap_secs() {	# tap_secs CENTISECONDS: "S.CC"
	printf '%d.%02d' $(($1 / 100)) $(($1 % 100))
}
tick_reset() { tap_now; t_tick=$t_now; }
tick() {
	local d
	tap_now
	d=$((t_now - t_tick))
	[ $d -ge 100 ] && echo "# (+$(tap_secs $d) s)"
	t_tick=$t_now
}
lap() {
	tap_now
	echo "# took $(tap_secs $((t_now - t_lap))) s: $*"
	t_lap=$t_now
}

result() {
	local st=$1
	shift
	tick
	n=$((n + 1))
	if [ "$st" = ok ]; then
		npass=$((npass + 1))
		echo "ok $n $*"
	else
		nfail=$((nfail + 1))
		echo "not ok $n $*"
	fi
}
check() {
	local st=$1
	shift
	if [ "$st" = 0 ]; then result ok "$@"; else result fail "$@"; fi
}
skip() {
	local reason=$1
	shift
	tick
	n=$((n + 1))
	nskip=$((nskip + 1))
	echo "ok $n $* # SKIP $reason"
}
diag() { echo "# $*"; }

finish() {
	echo "1..$n"
	if [ -n "${TAP_NAME:-}" ]; then
		tap_now
		diag "$TAP_NAME: $n tests, $npass pass, $nfail fail, $nskip skip," \
			"$(tap_secs $((t_now - t_start))) s"
	fi
	[ $nfail -gt 0 ] && exit 1
	[ $npass -eq 0 ] && exit 4
	exit 0
}
