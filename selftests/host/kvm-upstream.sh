#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Upstream KVM selftests as a regression suite for "stock KVM behaves the
# same with pvx_host loaded".
#
#   kvm-upstream.sh build [SERIES...]
#                           on the development machine, per kernel series
#                           (default: 6.12 and 6.1; 7.2 for sid's, whose
#                           source tarball make deps puts beside its image
#                           in the cache, scripts/kernel.sh): unpack
#                           /usr/src/linux-source-SERIES.tar.xz into
#                           the cache, $PVX_CACHE/linux-src/ (once), make
#                           headers, build the x86 KVM selftests listed below
#                           and install them into $PVX_REPO/build/kvm-selftests
#                           (6.12) or build/kvm-selftests-SERIES. Tests a series
#                           does not have are reported and left out.
#   kvm-upstream.sh run     inside the L2 KVM host (chroot /host): run the list
#                           built for the booted kernel's series once without
#                           pvx_host and once with it loaded; one TAP line per
#                           test, "ok" when both exit statuses are the same
#                           ("# SKIP" when the test skipped itself both times).
#                           Leaves pvx_host unloaded as it found it.
#
# Environment: PVX_REPO (default: this checkout), PVX_BUILD (dir holding
# host/pvx_host.ko, run only), PVX_SERIES (6.1, 6.12 or 7.2; default from
# uname -r), PVX_OUT (writable dir for logs, default /tmp),
# KVM_UPSTREAM_TESTS (override the list), KVM_UPSTREAM_TIMEOUT (seconds per
# test and run, default 120).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
PVX_REPO=${PVX_REPO:-$(cd "$here/../.." && pwd)}

# set_series SERIES: where its sources and binaries live.
set_series() {
	SERIES=$1
	SRC_TAR=/usr/src/linux-source-$SERIES.tar.xz
	case "$SERIES" in
	6.12) DEST=$PVX_REPO/build/kvm-selftests ;;
	*) DEST=$PVX_REPO/build/kvm-selftests-$SERIES ;;
	esac
	TESTS=$(series_tests)
}

# Tests that exercise KVM's hypercall and register paths (Documentation/lab.rst). Left out:
# debug_regs, which fails under QEMU TCG with or without pvx loaded.
DEFAULT_TESTS="x86_64/kvm_pv_test x86_64/fix_hypercall_test
	x86_64/xen_vmcall_test x86_64/hyperv_features x86_64/kvm_clock_test
	x86_64/svm_vmcall_test steal_time x86_64/cpuid_test x86_64/set_sregs_test
	x86_64/sync_regs_test x86_64/userspace_io_test x86_64/platform_info_test
	x86_64/tsc_msrs_test x86_64/hyperv_extended_hypercalls x86_64/hyperv_cpuid
	kvm_create_max_vcpus kvm_binary_stats_test"
# Left out on 6.1, whose sources and KVM lack them: steal_time does not
# build from linux-source-6.1 against its own uapi headers
# (__DECLARE_FLEX_ARRAY), hyperv_extended_hypercalls does not exist there,
# and xen_vmcall_test needs KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL, which
# Debian's 6.1 KVM does not offer (the test skips itself with or without
# pvx, so it would assert nothing).
EXCLUDE_6_1="steal_time x86_64/hyperv_extended_hypercalls x86_64/xen_vmcall_test"

series_tests() {
	local t
	if [ -n "${KVM_UPSTREAM_TESTS:-}" ]; then
		echo "$KVM_UPSTREAM_TESTS"
		return
	fi
	for t in $DEFAULT_TESTS; do
		[ "$SERIES" = 6.1 ] && [[ " $EXCLUDE_6_1 " == *" $t "* ]] && continue
		echo "$t"
	done
}

die() { echo "kvm-upstream.sh: $*" >&2; exit 2; }

# sid_source_tar: where scripts/kernel.sh put the source of the sid kernel
# set up in the cache
sid_source_tar() {
	local abi
	abi=$("$PVX_REPO/scripts/kernel.sh" installed sid 2>/dev/null) || { echo "(no sid kernel set up)"; return; }
	echo "$("$PVX_REPO/scripts/kernel.sh" image "$abi")/usr/src/linux-source-$SERIES.tar.xz"
}

# unpack_source: SRC, the tarball unpacked with its headers made, kept in
# the project's cache (a fresh clone would otherwise spend minutes of CPU
# on it beside the labs). Named by the tarball's size and time, so a new
# linux-source package gets a tree of its own; made under a temporary
# name and renamed when complete, so two clones never see half a tree.
unpack_source() {
	local tmp
	[ -f "$SRC_TAR" ] || die "$SRC_TAR missing (make deps sets it up)"
	SRC=${PVX_CACHE:-/var/cache/pvx}/linux-src/$(basename "$SRC_TAR" .tar.xz)-$(stat -c %s-%Y "$SRC_TAR")
	[ -d "$SRC/usr/include/linux" ] && return 0
	echo "unpacking $SRC_TAR into $SRC" >&2
	mkdir -p "$(dirname "$SRC")" && tmp=$(mktemp -d "$SRC.XXXXXX") || die "cannot make a directory beside $SRC"
	# a half-made tree does not stay in the cache
	tar -xJf "$SRC_TAR" -C "$tmp" --strip-components=1 || { rm -rf "$tmp"; die "unpack failed"; }
	make -s -C "$tmp" headers >&2 || { rm -rf "$tmp"; die "make headers failed"; }
	# another clone may have finished first: keep its tree
	mv -T "$tmp" "$SRC" 2>/dev/null || rm -rf "$tmp"
}

build() {
	local t out=$PVX_REPO/build/kvm-selftests-$SERIES.obj
	# sid's source: in the kernel's directory in the cache (kernel.sh)
	case "$SERIES" in 6.1|6.12) ;; *) SRC_TAR=$(sid_source_tar) ;; esac
	unpack_source || return 1
	# Command-line TEST_GEN_PROGS_x86_64 replaces the Makefile's list, so
	# only what we run gets built. -k: one test that does not build must
	# not hide the others. Since 6.13 the x86 tests live in x86/, not
	# x86_64/, and the list is TEST_GEN_PROGS_x86 (7.2).
	local arch=x86_64
	if [ -d "$SRC/tools/testing/selftests/kvm/x86" ]; then
		arch=x86
		TESTS=${TESTS//x86_64\//x86/}
	fi
	mkdir -p "$out" "$DEST"
	# shellcheck disable=SC2086,SC2116 # the list on one line
	make -k -s -C "$SRC/tools/testing/selftests/kvm" OUTPUT="$out" \
		"TEST_GEN_PROGS_$arch=$(echo $TESTS)" "TEST_GEN_PROGS_EXTENDED_$arch=" \
		-j"$(nproc)" >&2
	local built=0 missing=""
	for t in $TESTS; do
		if [ -x "$out/$t" ]; then
			install -m 755 "$out/$t" "$DEST/$(basename "$t")"
			built=$((built + 1))
		else
			missing="$missing $t"
		fi
	done
	echo "kvm-upstream $SERIES: $built tests installed in $DEST${missing:+; not built:$missing}" >&2
	[ "$built" -gt 0 ]
}

# run_all TAG: run every test, write "name status" lines to $PVX_OUT/kvm-up.TAG
run_all() {
	local tag=$1 t name rc t0
	: > "$PVX_OUT/kvm-up.$tag"
	for t in $TESTS; do
		name=$(basename "$t")
		if [ ! -x "$DEST/$name" ]; then
			echo "$name missing" >> "$PVX_OUT/kvm-up.$tag"
			continue
		fi
		t0=$(date +%s)
		timeout "${KVM_UPSTREAM_TIMEOUT:-120}" "$DEST/$name" \
			> "$PVX_OUT/kvm-up.$tag.$name.log" 2>&1
		rc=$?
		echo "$name $rc" >> "$PVX_OUT/kvm-up.$tag"
		echo "# $tag $name: exit $rc ($(( $(date +%s) - t0 )) s)"
	done
}

pvx_loaded() { [ -d /sys/module/pvx_host ]; }

# rerun_one NAME: run one test once more without pvx; prints its exit status
rerun_one() {
	timeout "${KVM_UPSTREAM_TIMEOUT:-120}" "$DEST/$1" \
		>"$PVX_OUT/kvm-up.without.$1.rerun.log" 2>&1
	echo $?
}

# make check builds the tests while the labs boot (BUILDING names the
# build in progress, removed when it ends): wait for it, at most 450 s of
# the suite's 600 (a mark older than 30 min was left by a killed run)
BUILDING=$PVX_REPO/build/kvm-upstream.building
wait_for_build() {
	local waited=0
	while [ -n "$(find "$BUILDING" -mmin -30 2>/dev/null)" ] && [ $waited -lt 450 ]; do
		sleep 5
		waited=$((waited + 5))
	done
	[ $waited = 0 ] || echo "# kvm-upstream: waited $waited s for the build ($BUILDING)"
}

run() {
	local n=0 fail=0 skip=0 name a a1 b note t0 loaded_by_us=0
	PVX_OUT=${PVX_OUT:-/tmp}
	mkdir -p "$PVX_OUT"
	local ko=${PVX_BUILD:-}/host/pvx_host.ko
	t0=$(date +%s)
	echo "TAP version 13"
	echo "# kvm-upstream: kernel $(uname -r), selftests of linux-source-$SERIES in $DEST"
	[ -c /dev/kvm ] || { echo "1..0 # SKIP no /dev/kvm"; exit 4; }
	wait_for_build
	[ -d "$DEST" ] || { echo "1..0 # SKIP $DEST missing (run: kvm-upstream.sh build)"; exit 4; }
	if pvx_loaded; then
		for m in pvx_ksm pvx_numa pvx_fork_copy pvx_yield; do
			grep -q "^$m " /proc/modules && rmmod "$m"
		done
		rmmod pvx_host || { echo "1..0 # SKIP pvx_host loaded and cannot be removed"; exit 4; }
	fi
	run_all without
	local have_pvx=0
	if [ -f "$ko" ] && insmod "$ko"; then
		have_pvx=1
		loaded_by_us=1
		run_all with
	fi
	# shellcheck disable=SC2013 # one word per line
	for name in $(awk '{print $1}' "$PVX_OUT/kvm-up.without"); do
		n=$((n + 1))
		a=$(awk -v t="$name" '$1 == t {print $2}' "$PVX_OUT/kvm-up.without")
		if [ "$a" = missing ]; then
			echo "not ok $n kvm_upstream $name was not built (kvm-upstream.sh build)"
			fail=$((fail + 1))
		elif [ "$a" = 4 ] && [ $have_pvx -eq 1 ] &&
		     [ "$(awk -v t="$name" '$1 == t {print $2}' "$PVX_OUT/kvm-up.with")" = 4 ]; then
			echo "ok $n kvm_upstream $name # SKIP skipped itself in both runs:" \
				"$(grep -m1 -o 'SKIP.*' "$PVX_OUT/kvm-up.without.$name.log" | cut -c1-100)"
			skip=$((skip + 1))
		elif [ $have_pvx -eq 0 ]; then
			echo "not ok $n kvm_upstream $name: pvx_host.ko not loadable (${ko})"
			fail=$((fail + 1))
		else
			b=$(awk -v t="$name" '$1 == t {print $2}' "$PVX_OUT/kvm-up.with")
			a1=$a
			# passed with pvx, failed without it: stock KVM's failure
			# (tsc_msrs_test read TSC 0 after writing 2^32 once, on
			# 6.1), which says nothing about pvx; the stock run
			# is made again, once, and must then agree
			if [ "$a" != "$b" ] && [ "$b" = 0 ] && rmmod pvx_host; then
				a=$(rerun_one "$name")
				insmod "$ko" || echo "# insmod $ko again failed"
				echo "# without $name: exit $a1 first, $a when run again"
			fi
			note=""
			[ "$a1" = "$a" ] || note=" (first run without: $a1)"
			if [ "$a" = "$b" ]; then
				echo "ok $n kvm_upstream $name same exit status: without=$a with=$b$note"
			else
				echo "not ok $n kvm_upstream $name exit status differs: without=$a with=$b$note"
				echo "# logs: $PVX_OUT/kvm-up.without.$name.log $PVX_OUT/kvm-up.with.$name.log"
				fail=$((fail + 1))
			fi
		fi
	done
	[ $loaded_by_us -eq 1 ] && rmmod pvx_host
	echo "1..$n"
	echo "# kvm-upstream: $n tests, $fail failed, $skip skipped, $(( $(date +%s) - t0 )) s"
	[ $fail -gt 0 ] && exit 1
	[ $n -gt 0 ] && [ $skip -eq $n ] && exit 4
	exit 0
}

case "${1:-}" in
build)
	shift
	[ $# -gt 0 ] || set -- 6.12 6.1
	rc=0
	for series in "$@"; do
		set_series "$series"
		build || rc=1
	done
	exit $rc ;;
run)
	series=${PVX_SERIES:-$(uname -r | cut -d. -f1,2)}
	[ "$series" = sid ] && series=$(uname -r | cut -d. -f1,2)
	# 6.1 and 6.12 (a newer 6.x point release runs 6.12's); sid's newest
	# (7.2) its own, built from its source (kvm-upstream.sh build 7.2)
	case "$series" in 6.1|6.12) ;; 6.*) series=6.12 ;; esac
	set_series "$series"
	run ;;
*) die "usage: kvm-upstream.sh build|run" ;;
esac
