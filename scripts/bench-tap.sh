# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by scripts/bench-l2.sh, which runs make bench's drivers in L2:
# their environment (the repository, $PVX_BUILD/bench.env from bench.sh)
# and one TAP 13 stream: ok, not_ok, say (a "# " line), done_tap (the plan,
# and exit 0 only when nothing failed); bench_nest, a benchmark driver in
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

echo "TAP version 13"
