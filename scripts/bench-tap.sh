# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by the benchmarks that run in L2 (bench-l2.sh, bench-numa-l2.sh):
# their environment (the repository, $PVX_BUILD/bench.env from bench.sh)
# and one TAP 13 stream: ok, not_ok, say (a "# " line), done_tap (the plan,
# and exit 0 only when nothing failed); bench_list and bench_batch, the
# tables' statistics (pvx_bench_stat); bench_nest, a benchmark driver in
# C as one subtest.
set -u
cd "${PVX_REPO:?}" || exit 1
# shellcheck disable=SC1091
[ -f "${PVX_BUILD:-}/bench.env" ] && . "$PVX_BUILD/bench.env"

n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $*"; }
say() { echo "# $*"; }
done_tap() { echo "1..$n"; [ "$fail" -eq 0 ]; exit $?; }

# bench_nest DESC FILE PROGRAM ARGS...: run a benchmark driver written in
# C (selftests/host/pvx_bench_*, its own TAP stream) with its output into
# FILE, and add that stream as one subtest of this one (ktap-nest.sh: its
# tests count one by one); failed when the program exits failed (1, or a
# crash: exit 0 passed, 4 all skipped)
bench_nest() {
	local desc=$1 file=$2 rc
	shift 2
	"$@" </dev/null >"$file" 2>&1
	rc=$?
	n=$((n + 1))
	scripts/ktap-nest.sh "$n" "$desc" "$file" "$rc"
	case "$rc" in
	0 | 4) ;;
	*) fail=$((fail + 1)) ;;
	esac
}

# bench_batch ANSWERS REQUESTS...: pvx_bench_stat's answer to each
# request (a command line of it) into the array ANSWERS, in order: one
# process for a whole table (each costs a good part of a second in L2)
bench_batch() {
	local -n bb_out=$1
	shift
	bb_out=()
	[ $# -gt 0 ] || return 0
	# shellcheck disable=SC2034 # the caller's array, by name
	mapfile -t bb_out < <(printf '%s\n' "$@" | "$PVX_SELFTESTS/pvx_bench_stat" batch)
	# an answer for every request, whatever happened to the tool
	while [ "${#bb_out[@]}" -lt $# ]; do bb_out+=(-); done
}

# bench_list VAR LINES PREFIX RUNS KEY: into VAR the KEY= value of the
# lines LINES[PREFIX1] .. LINES[PREFIX<RUNS>] (an associative array of
# the caller's), comma-separated, "-" for a run without one: a list for
# pvx_bench_stat, made without a process
bench_list() {
	local -n bl_out=$1 bl_lines=$2
	local bl_r bl_re="(^| )$5=([^ ]*)"
	bl_out=""
	for ((bl_r = 1; bl_r <= $4; bl_r++)); do
		if [[ "${bl_lines["$3$bl_r"]:-}" =~ $bl_re ]]; then
			bl_out+="${bl_out:+,}${BASH_REMATCH[2]}"
		else
			bl_out+="${bl_out:+,}-"
		fi
	done
}

echo "TAP version 13"
