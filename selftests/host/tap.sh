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
#   run_tap STAGE PROG ARGS  a test program's TAP merged into ours
#                            (PVX_SELFTESTS, LOG; TINYVM_TIMEOUT and
#                            TINYVM_ATTEMPTS below; once more
#                            after a tiny VM reset: tiny_vm_reset)
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

# run_hang_guarded STAGE BIN ARGS...: BIN ARGS >$out 2>$out.err within
# $TINYVM_TIMEOUT s (default 900); exit 124 when it had to be killed. With
# TINYVM_ATTEMPTS=2, a run that hung (and only that) is dumped (each
# thread's state, last CPU and kernel stack) and run once more: the lab's
# TCG now and then loses a wakeup of an L2 CPU, and a test that pins its
# threads to both CPUs (yield sched) then waits forever (lab.rst, "A
# suite that hangs with L2 idle"). A run that ended counts as it ended.
run_hang_guarded() {
	local stage=$1 bin=$2 pid t0 attempt=1 t d
	shift 2
	while :; do
		tap_now
		t0=$t_now
		"$bin" "$@" >"$out" 2>"$out.err" &
		pid=$!
		# polled every 0.1 s for 3 s (most programs take 1-3 s:
		# polling each second cost half a second per program), then
		# every second
		while kill -0 "$pid" 2>/dev/null; do
			tap_now
			d=$((t_now - t0))
			[ $d -lt $((${TINYVM_TIMEOUT:-900} * 100)) ] || break
			if [ $d -lt 300 ]; then sleep 0.1; else sleep 1; fi
		done
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			return
		fi
		diag "$stage: $(basename "$bin") $* still running after ${TINYVM_TIMEOUT:-900} s in attempt $attempt; its threads:"
		for t in /proc/"$pid"/task/*; do
			diag "  task ${t##*/} state $(cut -d' ' -f3 "$t/stat") cpu $(cut -d' ' -f39 "$t/stat")"
			sed 's/^/#     /' "$t/stack" 2>/dev/null
		done
		sed 's/^/#   output so far: /' "$out"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		[ "$attempt" -lt "${TINYVM_ATTEMPTS:-1}" ] || return 124
		attempt=$((attempt + 1))
		diag "$stage: running it again"
	done
}

# tiny_vm_reset OUT: the program whose output is OUT saw one of its tiny
# VMs triple-fault (KVM_EXIT_SHUTDOWN) and no check had failed before it.
# The tiny VMs are L3 guests, and TCG's nested SVM resets an L3 now and
# then with no pvx code involved (lab.rst, "An L3 that resets itself"):
# run_tap runs such a program once more, as run-l3.sh boots such an L3
# again. A fault pvx causes every time shows again and fails; so does any
# failure before the reset. The text is tinyvm.c's tvm_exit_str() for
# KVM_EXIT_SHUTDOWN.
tiny_vm_reset() {
	awk '/not ok/ && !r { f = 1 } /SHUTDOWN \(triple fault\)/ { r = 1 }
	     END { exit !(r && !f) }' "$1"
}

# run_tap STAGE PROG ARGS...: run $PVX_SELFTESTS/PROG ARGS and merge its
# TAP into ours, renumbered, each description prefixed with STAGE; its
# output kept in $LOG.
run_tap() {
	local stage=$1 prog=$2 out rc line desc got=0 t0 bin=$PVX_SELFTESTS/$2
	shift 2
	out=$LOG/$stage.$prog.$(echo "$*" | tr -c 'a-z0-9\n' _ | cut -c1-30).tap
	tick
	t0=$t_now
	run_hang_guarded "$stage" "$bin" "$@"
	rc=$?
	if tiny_vm_reset "$out"; then
		mv "$out" "$out.triple1"
		mv "$out.err" "$out.triple1.err"
		diag "$stage: $prog $*: a tiny VM reset itself (KVM_EXIT_SHUTDOWN) before any" \
			"check failed, exit $rc; its output is $(basename "$out").triple1; running it again"
		grep -m 3 'SHUTDOWN (triple fault)' "$out.triple1" | sed 's/^[# ]*/#   /'
		run_hang_guarded "$stage" "$bin" "$@"
		rc=$?
	fi
	tick_reset
	while IFS= read -r line; do
		case "$line" in
		"TAP version"*) ;;
		"1..0 # SKIP"*) skip "${line#1..0 # SKIP }" "$stage: $*"; got=1 ;;
		1..*) ;;
		"ok "*|"not ok "*)
			got=1
			desc=${line#not }
			desc=${desc#ok }
			desc=${desc#* }
			desc=${desc#"$stage: "}
			case "$line" in
			*"# SKIP"*) skip "${desc##*# SKIP }" "$stage: ${desc% # SKIP*}" ;;
			"ok "*) result ok "$stage: $desc" ;;
			*) result fail "$stage: $desc" ;;
			esac ;;
		*) echo "$line" ;;
		esac
	done <"$out"
	[ -s "$out.err" ] && sed 's/^/# stderr: /' "$out.err"
	tick_reset
	diag "$stage: $prog $* exit $rc, $(tap_secs $((t_now - t0))) s"
	case $rc in
	0|1|4) [ $got -eq 1 ] || result fail "$stage: $prog $* gave no results" ;;
	124|137) result fail "$stage: $prog $* timed out" ;;
	*) result fail "$stage: $prog $* exit $rc" ;;
	esac
}
