#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: build for both kernel series (and, in the sid build root, for
# Debian sid's newest kernel), run the standalone tests here
# and the lab suites in the nested KVM lab on both kernels (the two labs run
# side by side: each L2 host has 2 CPUs, one TCG thread each). Prints every suite's TAP and ends with
# "N passed, N failed, N skipped". Fails on any failure, and when the lab
# could run but its tests were skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
RES=$REPO/build/check
rm -rf "$RES"
mkdir -p "$RES"
SERIES_LIST=${PVX_SERIES:-"6.1 6.12"}
# guest first: the upstream suite's tests build beside it (tinyvm runs
# last in its L2 boot whatever the order, l2-run.sh; numa and lockdown in
# L2 boots of their own, lab.sh). Each
# suite of check-full runs in make check on one kernel at least, and both
# kernels load every module and exercise every feature: both boot L3 on a
# pvx host (guest-host, which 6.1's guest-core holds with the fallback
# boot), run the host's tiny-VM tests (tinyvm: issue 26's regression tests
# on both kernels), a live migration there and back (issue 27: 6.12 with
# KVM's dirty bitmap, 6.1 with its dirty ring: the ring boot is the slower
# on 6.12, whose lab is the longer; check-full both modes on both
# kernels), numa and lockdown; the steal boots run on 6.12; the
# fallback and topology boots
# and the upstream KVM selftests on 6.1, so that the two labs, which share this
# machine's CPUs, take about as long (Documentation/lab.rst has the
# times). make check-full (PVX_CHECK_FULL=1) runs every suite on both,
# with the long soaks (PVX_LAB_SOAK=long: lock torture phases in L3,
# tinyvm's VM cycles); PVX_LAB_TESTS sets one list for both.
LAB_TESTS_FULL=guest,upstream,migrate-quick,tinyvm,numa,lockdown
declare -A LAB_TESTS=([6.12]=guest-host,steal,migrate-bitmap,tinyvm,numa,lockdown
		      [6.1]=guest-core,topology,upstream,migrate-ring,tinyvm,numa,lockdown)
if [ "${PVX_CHECK_FULL:-0}" = 1 ]; then
	LAB_TESTS[6.12]=$LAB_TESTS_FULL LAB_TESTS[6.1]=$LAB_TESTS_FULL
	export PVX_LAB_SOAK=long
fi
if [ -n "${PVX_LAB_TESTS:-}" ]; then
	LAB_TESTS[6.1]=$PVX_LAB_TESTS LAB_TESTS[6.12]=$PVX_LAB_TESTS
fi
lab_tests() { echo "${LAB_TESTS[$1]:-$LAB_TESTS_FULL}"; }
# L2 CPUs of the labs: 2 (QEMU 10 from the cache, lab.rst); 1 is the old
# 1-CPU lab on Debian 12's QEMU
L2_CPUS=${PVX_LAB_L2_CPUS:-2}
[[ "$L2_CPUS" =~ ^[1-9][0-9]?$ ]] || { echo "check.sh: PVX_LAB_L2_CPUS needs 1..99, got '$L2_CPUS'" >&2; exit 2; }

T0=$(date +%s)
tap_n=0
tap_begin() { tap_n=0; echo "TAP version 13" >"$RES/$1.tap"; cur=$RES/$1.tap; }
tap() { # tap ok|fail|skip DESCRIPTION [REASON]
	tap_n=$((tap_n + 1))
	case "$1" in
	ok) echo "ok $tap_n $2" ;;
	fail) echo "not ok $tap_n $2${3:+ # $3}" ;;
	skip) echo "ok $tap_n $2 # SKIP ${3:-}" ;;
	esac >>"$cur"
}

# --- build: modules for both kernels, W=1 warning-free, sparse-clean --------
tap_begin build
declare -A ABI
for s in $SERIES_LIST; do
	abi=$(scripts/kernel.sh installed "$s" 2>/dev/null) || {
		tap skip "build for $s" "kernel $s not set up (run: make deps)"
		continue
	}
	ABI[$s]=$abi
	log=$RES/build-$abi.log
	if scripts/build.sh "$abi" C=1 >"$log" 2>&1; then
		if grep -Eq 'warning:|error:' "$log"; then
			tap fail "build for $abi with W=1 C=1 is warning-free" "see $log"
		else
			tap ok "build for $abi with W=1 C=1 is warning-free"
		fi
	else
		tap fail "build for $abi" "see $log"
	fi
done
# --- standalone userspace tests ----------------------------------------------
tap_begin selftests-build
if make -s -j"$(nproc)" -C selftests OUT="$REPO/build/selftests" >"$RES/selftests-build.log" 2>&1; then
	tap ok "selftests build (uapi standalone C99, tiny-VM and guest tests)"
else
	tap fail "selftests build" "see $RES/selftests-build.log"
fi
# pvxtop before the L3 initramfs, which takes its static build (the labs
# run with --no-build)
if make -s -j"$(nproc)" -C tools/pvxtop OUT="$REPO/build/pvxtop" all static >"$RES/pvxtop-build.log" 2>&1; then
	tap ok "pvxtop build (clang BPF, bpftool skeleton, libbpf; static for L3)"
else
	tap fail "pvxtop build" "see $RES/pvxtop-build.log"
fi

# --- the nested lab on every kernel ---------------------------------------------
lab_can_run() {
	command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 missing"; return 1; }
	[ "$L2_CPUS" = 1 ] || scripts/qemu.sh path >/dev/null 2>&1 ||
		{ echo "the lab's QEMU 10 is not in the cache (make deps)"; return 1; }
	[ -x /bin/busybox ] || { echo "busybox-static missing"; return 1; }
	[ ${#ABI[@]} -gt 0 ] || { echo "no kernel set up"; return 1; }
	return 0
}
# The README's demo as a new user runs it: from a clone under /tmp
# (which L2 mounts its own tmpfs over) with a clean environment. Run as
# soon as the first lab ends, beside the other one: the labs of the two
# kernels seldom end together, and the demo then uses the freed CPU.
demo_series() {
	local s
	for s in $SERIES_LIST; do
		[ -n "${ABI[$s]:-}" ] && break
	done
	echo "$s"
}
# The clone is made and its build (what make demo builds first: lab.sh
# --build-only) runs as soon as the labs start, at a lower priority than
# theirs (nice 10), in the CPU time they leave; make demo then finds it
# built and mostly boots (its build, incremental, still runs)
CLONE="" CLONE_PID=""
# until_one_ends PID...: returns when one of the PIDs has ended, polling
# (the demo runs in a subshell, where wait cannot reach make check's
# children; bash reaps them at once, so a PID that ended is gone)
until_one_ends() {
	local p
	[ $# -gt 0 ] || return 0
	while :; do
		for p in "$@"; do
			kill -0 "$p" 2>/dev/null || return 0
		done
		sleep 2
	done
}
tmp_clone_prepare() {
	CLONE=$(mktemp -d /tmp/pvx-clone.XXXXXX)
	git ls-files -z | rsync -a --from0 --files-from=- ./ "$CLONE/"
	(cd "$CLONE" && exec nice -n 10 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$CLONE" \
		${PVX_CACHE:+PVX_CACHE="$PVX_CACHE"} \
		scripts/lab.sh --kernel "$(demo_series)" --tests demo --build-only) \
		>"$RES/tmp-clone-build.log" 2>&1 &
	CLONE_PID=$!
}
tmp_clone_demo() {
	local s clone=$CLONE rc f
	tap_begin lab-tmp-clone
	s=$(demo_series)
	# its build, a child of make check's shell
	[ -z "$CLONE_PID" ] || until_one_ends "$CLONE_PID"
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$clone" \
		${PVX_CACHE:+PVX_CACHE="$PVX_CACHE"} SERIES="$s" \
		make -C "$clone" -s demo >"$RES/tmp-clone-demo.log" 2>&1
	rc=$?
	if [ "$rc" = 0 ] && grep -q ': [1-9][0-9]* passed, 0 failed, 0 skipped' "$RES/tmp-clone-demo.log"; then
		tap ok "make demo ($s) from a clone under /tmp with a clean environment"
	else
		tap fail "make demo ($s) from a clone under /tmp with a clean environment" \
			"exit $rc: $(tail -n1 "$RES/tmp-clone-demo.log")"
		# what went wrong, in the report: the lab's own lines, the
		# demo's failures and the L3 guest's (the clone goes away)
		{ grep -E '^lab:|^not ok' "$RES/tmp-clone-demo.log" || true; } | sed 's/^/# demo: /' >>"$cur"
		for f in "$clone"/build/lab-*/demo-l3.tap; do
			[ -f "$f" ] || continue
			{ grep -E '^not ok' "$f" || true; } | sed 's/^/# demo L3: /' >>"$cur"
		done
		rm -rf "$RES/tmp-clone-lab"
		mkdir -p "$RES/tmp-clone-lab"
		cp -r "$clone"/build/lab-* "$RES/tmp-clone-lab/" 2>/dev/null
	fi
	rm -rf "$clone"
}
# The demo starts as soon as the first lab ends, in the background, at
# the labs' priority: the checks below (nice 10) may still be running
# then, and did outlast both labs (2026-11-29: the labs ended at 1065
# and 1081 s, the checks at 1169 s, and the demo waited for them); beside
# them it uses the CPU they leave.
DEMO_PID=""
tmp_clone_demo_after_first_lab() {
	until_one_ends "${LABPID[@]}"
	tmp_clone_demo
}
declare -A LABPID
lab_why="" UPSTREAM_PID=""
if lab_why=$(lab_can_run); then
	# Shared inputs once, then the two labs side by side, in the
	# background: the checks below need no lab and mostly one CPU, so
	# they run while the labs do (make check's time is the labs')
	for s in "${!ABI[@]}"; do
		selftests/guest/mkinitrd.sh "${ABI[$s]}" "$REPO/build/${ABI[$s]}/l3-initrd.gz" \
			>"$RES/mkinitrd-$s.log" 2>&1 || echo "mkinitrd for $s failed" >>"$RES/prep-errors"
	done
	# the upstream KVM selftests build beside the labs, for the kernels
	# whose list has them (unpacking a linux-source tree takes minutes
	# of CPU the labs would otherwise have): their suite runs after the
	# guest suite and waits for the build's mark to go (kvm-upstream.sh)
	upstream_series=$(for s in "${!ABI[@]}"; do
		[[ ",$(lab_tests "$s")," == *",upstream,"* ]] || continue
		echo "$s"
	done)
	if [ -n "$upstream_series" ]; then
		: >build/kvm-upstream.building
		{
			# shellcheck disable=SC2086 # one word per series
			selftests/host/kvm-upstream.sh build $upstream_series >"$RES/kvm-upstream-build.log" 2>&1 ||
				echo "upstream KVM selftests build failed" >>"$RES/prep-errors"
			rm -f build/kvm-upstream.building
		} &
		UPSTREAM_PID=$!
	fi
	for s in $SERIES_LIST; do
		[ -n "${ABI[$s]:-}" ] || continue
		# --timeout: L2 'main' ran 737-797 s in a quiet CI run, 1395
		# and over 1500 s (the default) with three more labs beside it,
		# and up to 1901 s in a slow CI run (the guest
		# suite's limit is 2400 s, l2-run.sh)
		mkdir -p "$REPO/build/lab-${ABI[$s]}"
		scripts/lab.sh --no-build --kernel "$s" --tests "$(lab_tests "$s")" --l2-cpus "$L2_CPUS" \
			--timeout 3300 \
			--out "$REPO/build/lab-${ABI[$s]}" >"$RES/lab-$s.log" 2>&1 &
		LABPID[$s]=$!
	done
	tmp_clone_prepare
	tmp_clone_demo_after_first_lab &
	DEMO_PID=$!
	# Everything below, until the labs' results, at nice 10: with the
	# checks beside them at the labs' priority the machine had no idle
	# CPU for those minutes, and 10-20 % idle in the labs' later minutes
	# (2026-11-28, /proc/stat every 5 s), where the checks fit
	renice -n 10 -p $$ >/dev/null 2>&1 || true
fi

# --- beside the labs: everything they do not need -----------------------------
# --- unit tier: the pure decision functions, in userspace ---------------------
# (Documentation/unit.rst) Seconds, no VM, beside the labs. Each program's
# TAP is a stream of its own.
tap_begin unit
t=$(date +%s)
if make -s -C selftests/unit OUT="$REPO/build/selftests" >"$RES/unit-build.log" 2>&1; then
	tap ok "unit tests build (selftests/unit, kselftest_harness.h)"
	for name in $(make -s --no-print-directory -C selftests/unit list); do
		"$REPO/build/selftests/unit/$name" >"$RES/unit-$name.tap" 2>&1
		rc=$?
		if [ "$rc" -eq 0 ]; then
			tap ok "unit $name exits 0"
		else
			tap fail "unit $name exits 0" "exit $rc"
		fi
	done
else
	tap fail "unit tests build" "see $RES/unit-build.log"
fi
echo "# unit tier: $(($(date +%s) - t)) s" >>"$cur"

# --- build: what the -rt flavours refuse, what dkms and the manifest list ------
tap_begin build-rt
# PREEMPT_RT: the modules refuse to build for the -rt flavour of each
# series (Documentation/usage.rst), through make and through build.sh alike, with one line
# naming the reason, and nothing gets compiled.
rt_refusal="pvx: PREEMPT_RT kernels are not supported"
for s in $SERIES_LIST; do
	rt=$(scripts/kernel.sh installed-rt "$s" 2>/dev/null) || {
		tap skip "build for $s -rt refuses" "-rt headers of $s not set up (run: make deps)"
		continue
	}
	log=$RES/build-$rt.log
	out=$(make -s --no-print-directory KDIR="$(scripts/kernel.sh kdir "$rt")" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ] &&
	   printf '%s' "$out" | grep -q -- "$rt_refusal"; then
		tap ok "make for $rt refuses with one line"
	else
		tap fail "make for $rt refuses with one line" \
			"exit $rc, said: $(printf '%s' "$out" | head -n3 | tr '\n' '|')"
	fi
	scripts/build.sh "$rt" C=1 >"$log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$(grep -c -- "$rt_refusal" "$log")" -eq 1 ] &&
	   ! grep -Eq 'warning:|error:' "$log" &&
	   [ -z "$(find "build/$rt" -name '*.o' -o -name '*.ko' 2>/dev/null)" ]; then
		tap ok "build.sh for $rt refuses: exit $rc, the one refusal line, nothing compiled"
	else
		tap fail "build.sh for $rt refuses: exit $rc, the one refusal line, nothing compiled" "see $log"
	fi
	# host/ and guest/ built on their own (make -C KDIR M=.../guest
	# reads only guest/Kbuild), from a copy so that nothing lands in
	# the tree
	for side in host guest; do
		sub=$RES/rt-$side-$rt
		rm -rf "$sub"
		mkdir -p "$sub"
		cp -r "$side" uapi "$sub/"
		make -s -C "$(scripts/kernel.sh kdir "$rt")" M="$sub/$side" modules >"$log.$side" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ] && [ "$(grep -c -- "$rt_refusal" "$log.$side")" -eq 1 ] &&
		   ! grep -Eq 'warning:|error:' "$log.$side" &&
		   [ -z "$(find "$sub" -name '*.o' -o -name '*.ko')" ]; then
			tap ok "make -C KDIR M=$side for $rt refuses: exit $rc, the one refusal line, nothing compiled"
		else
			tap fail "make -C KDIR M=$side for $rt refuses: exit $rc, the one refusal line, nothing compiled" "see $log.$side"
		fi
		rm -rf "$sub"
	done
done
tap_begin manifest
# dkms.conf installs what Kbuild builds: the same modules, each from its
# own directory, numbered 0..N-1 (dkms stops at the first gap)
kbuild_mods=$(for d in host guest; do
	sed -nE 's/^obj-m[[:space:]]*[+:]?=[[:space:]]*([a-z_0-9]+)\.o.*/'"$d"'\/\1/p' "$d/Kbuild"
done | sort)
dkms_mods=$(awk -F'"' '
	/^BUILT_MODULE_NAME\[/ { split($0, a, /[][]/); name[a[2]] = $2 }
	/^BUILT_MODULE_LOCATION\[/ { split($0, a, /[][]/); loc[a[2]] = $2 }
	END { for (i = 0; i in name; i++) { l = loc[i]; sub(/\/$/, "", l); print l "/" name[i] } }
' dkms.conf | sort)
if [ -n "$kbuild_mods" ] && [ "$kbuild_mods" = "$dkms_mods" ]; then
	tap ok "dkms.conf names the $(wc -l <<<"$kbuild_mods") modules Kbuild builds, numbered without gaps"
else
	tap fail "dkms.conf names the modules Kbuild builds, numbered without gaps" \
		"only in Kbuild: $(comm -23 <(echo "$kbuild_mods") <(echo "$dkms_mods") | tr '\n' ' ')only in dkms.conf: $(comm -13 <(echo "$kbuild_mods") <(echo "$dkms_mods") | tr '\n' ' ')"
fi
# ...and the manifest lists what each Kbuild builds: its host and guest
# modules, and the test and benchmark modules (mkinitrd.sh and the test
# programs' Makefiles read it, so those cannot differ)
kbuild_objs() { # kbuild_objs DIR: the modules DIR/Kbuild builds, sorted
	sed -nE 's/^obj-m[[:space:]]*[+:]?=[[:space:]]*([a-z_0-9]+)\.o.*/\1/p' "$1/Kbuild" | sort
}
for pair in "host:host" "guest:guest" "selftests/guest/kmod:kmod-l3 kmod-bench"; do
	d=${pair%%:*} kinds=${pair#*:}
	want=$(scripts/manifest.sh $kinds | sort)
	got=$(kbuild_objs "$d")
	if [ -n "$got" ] && [ "$got" = "$want" ]; then
		tap ok "manifest: $d/Kbuild builds its $(wc -l <<<"$got") modules ($kinds)"
	else
		tap fail "manifest: $d/Kbuild builds its modules ($kinds)" \
			"only in Kbuild: $(comm -23 <(echo "$got") <(echo "$want") | tr '\n' ' ')only in the manifest: $(comm -13 <(echo "$got") <(echo "$want") | tr '\n' ' ')"
	fi
done

tap_begin kselftest
# ...installed as a kselftest collection (make -C selftests install) and
# run with the kernel's run_kselftest.sh: --list names every test
# program of the manifest, each in its collection, and no tool-l2 helper
# (installed beside them); -c pvx_unit runs the unit programs, here
ksft=$RES/kselftest
if make -s -C selftests OUT="$REPO/build/selftests" install INSTALL_PATH="$ksft" \
	>"$RES/kselftest-install.log" 2>&1; then
	want=$(for c in pvx_unit:unit pvx_host:prog-l2 pvx_guest:prog-l3; do
		scripts/manifest.sh "${c#*:}" | sed "s/^/${c%%:*}:/"
	done | sort)
	got=$("$ksft/run_kselftest.sh" --list 2>&1 | sort)
	missing=$(for t in $(scripts/manifest.sh tool-l2); do
		[ -x "$ksft/pvx_host/$t" ] || echo "$t"
	done)
	if [ -n "$want" ] && [ "$want" = "$got" ] && [ -z "$missing" ]; then
		tap ok "make -C selftests install: run_kselftest.sh --list names the $(wc -l <<<"$want") test programs of the manifest, helpers installed unlisted"
	else
		tap fail "make -C selftests install: run_kselftest.sh --list names the test programs of the manifest" \
			"only listed: $(comm -13 <(echo "$want") <(echo "$got") | tr '\n' ' ')not listed: $(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')helpers missing: $missing"
	fi
	# appended: the runner writes the programs' output through
	# /dev/stdout, which a truncating redirection would overwrite
	: >"$RES/kselftest-unit.log"
	"$ksft/run_kselftest.sh" -c pvx_unit >>"$RES/kselftest-unit.log" 2>&1
	rc=$?
	# (the runner's top-level lines are the programs, their tests
	# nested below: tap-count.sh counts those)
	read -r p f k < <(scripts/tap-count.sh "$RES/kselftest-unit.log")
	n=$(scripts/manifest.sh unit | wc -l)
	top=$(grep -c '^ok [0-9]' "$RES/kselftest-unit.log")
	if [ "$rc" = 0 ] && [ "$top" = "$n" ] && [ "$p" -ge "$n" ] && [ "$f/$k" = 0/0 ] &&
	   grep -q "^1\.\.$n$" "$RES/kselftest-unit.log"; then
		tap ok "run_kselftest.sh -c pvx_unit: the $n unit programs ok ($p tests), nested KTAP"
	else
		tap fail "run_kselftest.sh -c pvx_unit: the $n unit programs ok" \
			"exit $rc, $top of $n programs ok, $p tests ok, $f not ok, $k skipped; see $RES/kselftest-unit.log"
	fi
else
	tap fail "make -C selftests install" "see $RES/kselftest-install.log"
fi
# ...and the lab runs each of them: every prog-l3 from the L3 guest's
# init, every prog-l2 from an L2 suite (selftests/host/*.sh)
unrun=$(for t in $(scripts/manifest.sh prog-l3); do
	grep -qw -- "$t" selftests/guest/init.sh || echo "$t"
done
for t in $(scripts/manifest.sh prog-l2); do
	grep -qw -- "$t" selftests/host/*.sh || echo "$t"
done)
if [ -z "$unrun" ]; then
	tap ok "the lab runs every prog-l3 (init.sh) and prog-l2 (selftests/host/*.sh) of the manifest"
else
	tap fail "the lab runs every test program of the manifest" "never run: $(tr '\n' ' ' <<<"$unrun")"
fi
if [ -x build/selftests/uapi_test ]; then
	build/selftests/uapi_test >"$RES/uapi.tap"
else
	printf 'TAP version 13\n1..1\nnot ok 1 uapi_test was not built\n' >"$RES/uapi.tap"
fi


# --- the newest kernel: Debian sid's (kernel.sh abi sid), whose
# headers build only in the sid build root make deps makes in the cache
# (scripts/kernel.sh, Documentation/kernels.rst). W=1 only: the root has
# no sparse. About 40 s. Its lab boot is not part of make check (Documentation/usage.rst).
tap_begin build-sid
if ! sid_abi=$(scripts/kernel.sh installed sid 2>/dev/null); then
	tap skip "build for sid's newest kernel in the sid build root" "sid build root not set up (run: make deps)"
elif [ "$(id -u)" -ne 0 ]; then
	tap skip "build for $sid_abi in the sid build root" "needs root (mount namespace, chroot)"
else
	log=$RES/build-$sid_abi.log
	want=$(find "build/${ABI[6.12]:-none}" -name '*.ko' -printf '%f\n' 2>/dev/null | sort | tr '\n' ' ')
	if scripts/build.sh "$sid_abi" >"$log" 2>&1; then
		got=$(find "build/$sid_abi" -name '*.ko' -printf '%f\n' | sort | tr '\n' ' ')
		if grep -Eiq 'warning:|error' "$log"; then
			tap fail "build for $sid_abi (sid build root) with W=1 is warning-free" "see $log"
		elif [ -n "$want" ] && [ "$got" != "$want" ]; then
			tap fail "build for $sid_abi (sid build root) with W=1 is warning-free" "modules: $got, 6.12 built: $want"
		else
			tap ok "build for $sid_abi (sid build root) with W=1 is warning-free: $(wc -w <<<"$got") modules"
		fi
	else
		tap fail "build for $sid_abi (sid build root)" "see $log"
	fi
fi
# ...and make's default KDIR never is the sid root's headers, which do not
# build outside it (gcc-16, a kbuild for sid's glibc)
kdir=$(echo 'pvx-print-kdir: ; @echo $(KDIR)' |
	make -s --no-print-directory -f Makefile -f - pvx-print-kdir 2>&1)
case "$kdir" in
*sid-root*) tap fail "make's default KDIR is not the sid build root's headers" "KDIR=$kdir" ;;
*) tap ok "make's default KDIR is not the sid build root's headers (KDIR=${kdir:-none})" ;;
esac

# --- style: checkpatch --strict on our C sources ------------------------------
# 6.12's (7.2's warns about allocation helpers 6.1 and 6.12 do not have)
cp=build/checkpatch/scripts/checkpatch.pl
if [ ! -f "$cp" ]; then
	mkdir -p build/checkpatch
	tar -xf /usr/src/linux-source-6.12.tar.xz -C build/checkpatch --strip-components=1 \
		--wildcards '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' 2>/dev/null
fi
tap_begin style
# Every C file: the kernel-side sources and the unit tier (kernel code on
# a shim) as the kernel's, and the userspace programs (selftests/, tools/)
# with one ignore list for what is right in userspace:
#   VOLATILE          sig_atomic_t flags, and flags, counters and sinks
#                     shared with threads, children or the compiler:
#                     userspace has no READ_ONCE/WRITE_ONCE
#   PREFER_DEFINED_ATTRIBUTE_MACRO  no __packed, __aligned in libc's headers
#   STRCPY            no strscpy in libc
#   PREFER_KERNEL_TYPES  uint64_t etc. are the userspace types
#   LONG_LINE_STRING  a message stays one string, as the kernel's rule
#                     wants, and checkpatch exempts only printk-like
#                     functions (by name), not printf, ksft_* or pvx_check
# Next, not held to it yet (other work is changing them):
# selftests/host/pvx_ksm_census.c, selftests/guest/bench/pvx_stimer_ubench.c.
style_next='^selftests/(host/pvx_ksm_census\.c|guest/bench/pvx_stimer_ubench\.c)$'
user_ignore=VOLATILE,PREFER_DEFINED_ATTRIBUTE_MACRO,STRCPY,PREFER_KERNEL_TYPES,LONG_LINE_STRING
# One checkpatch run per ignore list (perl's start and its word lists
# cost about 0.3 s of CPU per run, 133 files beside the labs); a file
# passes when no line of its run's output names it.
declare -A cp_files
for f in $(git ls-files '*.c' '*.h' | grep -E '^(host|guest|uapi|selftests|tools)/' | grep -Ev "$style_next"); do
	ignore=
	case "$f" in
	# libpvx is userspace with pthread conventions: positive errno
	# values and a pvx_lock_t typedef, like pthread_mutex_t
	guest/libpvx/*) ignore="--ignore USE_NEGATIVE_ERRNO,NEW_TYPEDEFS" ;;
	# the one place that may test the kernel version, where no macro
	# tells an API difference (guest/compat.h's rule)
	*/compat.h) ignore="--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON" ;;
	selftests/guest/kmod/* | selftests/unit/*) ;;
	# PVX_FIXTURE makes a fixture (a struct, its set-up and tear-down), as
	# kselftest_harness.h's FIXTURE does: declarations, and the set-up's
	# SKIP(return, ...)
	selftests/host/harness.h)
		ignore="--ignore $user_ignore,MULTISTATEMENT_MACRO_USE_DO_WHILE"
		ignore+=",MACRO_WITH_FLOW_CONTROL,MACRO_ARG_REUSE" ;;
	# macros whose arguments are names, with no side effects to repeat:
	# TVM_PROG's guest.S symbol, FIELD's struct member, PROG's program
	selftests/host/tinyvm.h | tools/pvxtop/pvxtop.c)
		ignore="--ignore $user_ignore,MACRO_ARG_REUSE" ;;
	# LAYOUT_CHECK is a static assertion in C99 (-std=c99 -pedantic, no
	# _Static_assert), and the checks compare the ABI's constants
	selftests/uapi/uapi_test.c)
		ignore="--ignore $user_ignore,NEW_TYPEDEFS,CONSTANT_COMPARISON" ;;
	# a program's argument vectors hold values read at run time
	# (the kernel command line's), so they cannot be static const
	selftests/guest/bench/pvx_bench_guest.c)
		ignore="--ignore $user_ignore,STATIC_CONST_CHAR_ARRAY" ;;
	selftests/* | tools/*) ignore="--ignore $user_ignore" ;;
	esac
	cp_files[${ignore:-none}]+="$f "
done
for ignore in "${!cp_files[@]}"; do
	files=${cp_files[$ignore]}
	[ "$ignore" != none ] || ignore=
	if [ ! -f "$cp" ]; then
		for f in $files; do
			tap skip "checkpatch $f" "checkpatch.pl not found (make deps)"
		done
		continue
	fi
	# shellcheck disable=SC2086 # the options and the files are words
	perl "$cp" --no-tree --strict --terse -q $ignore -f $files >"$RES/cp.out" 2>&1
	rc=$?
	named=0
	for f in $files; do
		said=$(awk -v f="$f:" 'index($0, f) == 1 { print; exit }' "$RES/cp.out")
		if [ -z "$said" ]; then
			tap ok "checkpatch --strict $f"
		else
			named=1
			tap fail "checkpatch --strict $f" "$said"
		fi
	done
	[ "$rc" = 0 ] || [ "$named" = 1 ] ||
		tap fail "checkpatch --strict ${ignore:-without an ignore list}: exit $rc naming no file" "$(head -n1 "$RES/cp.out")"
done

# --- bad input to the build and lab tools: one clear line, no partial state ---
tap_begin tools
expect_error() { # expect_error DESCRIPTION PATTERN COMMAND...
	local desc=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ] &&
	   printf '%s' "$out" | grep -q -- "$pat"; then
		tap ok "$desc"
	else
		tap fail "$desc" "exit $rc, said: $(printf '%s' "$out" | head -n3 | tr '\n' '|')"
	fi
}
expect_lines() { # expect_lines DESCRIPTION TEXT STRING...: each STRING in TEXT
	local desc=$1 text=$2 want
	shift 2
	for want in "$@"; do
		if ! grep -qF -- "$want" <<<"$text"; then
			tap fail "$desc" "missing: $want"
			return
		fi
	done
	tap ok "$desc"
}
# tap-count.sh on a nested KTAP stream (ktap-nest.sh's): every leaf once,
# at any depth; a parent only when it failed without a failed subtest
ktap_sample=$'TAP version 13\n1..4\n# 1..2\n# ok 1 a\n# # ok 1 b\n# not ok 2 c\nok 1 p\nnot ok 2 q\nok 3 r # SKIP s\n# ok 1 d\nnot ok 4 t'
if [ "$(scripts/tap-count.sh <<<"$ktap_sample")" = "3 3 1" ]; then
	tap ok "tap-count.sh counts nested KTAP: leaves at any depth, a failed parent without failed subtests"
else
	tap fail "tap-count.sh counts nested KTAP" "said $(scripts/tap-count.sh <<<"$ktap_sample"), want 3 3 1"
fi
labs_before=$(ls -d build/lab-* 2>/dev/null | wc -l)
expect_error "make with an unknown KDIR fails with one line" \
	"not a configured kernel build tree" make -s --no-print-directory KDIR=/nonexistent/kdir
expect_error "lab.sh with an unknown kernel series fails with one line" \
	"unknown kernel series '5.10'" scripts/lab.sh --kernel 5.10
expect_error "lab.sh with a bad vCPU count fails with one line" \
	"positive integer" scripts/lab.sh --l2-cpus zero
expect_error "lab.sh with --out under /proc fails with one line" \
	"must not be under /dev, /proc or /sys" scripts/lab.sh --out /proc/pvx
expect_error "lab.sh with an unknown suite fails with one line" \
	"unknown suite 'nope'" scripts/lab.sh --tests nope
expect_error "lab.sh with --build-only and --no-build fails with one line" \
	"exclude each other" scripts/lab.sh --build-only --no-build
expect_error "lab.sh with a non-numeric stall limit fails with one line" \
	"PVX_LAB_STALL_S needs a positive integer, got 'x'" env PVX_LAB_STALL_S=x scripts/lab.sh
expect_error "lab.sh with zero L2 boots fails with one line" \
	"PVX_LAB_ATTEMPTS needs a positive integer, got '0'" env PVX_LAB_ATTEMPTS=0 scripts/lab.sh
expect_error "lab.sh with a malformed fake stall fails with one line" \
	"PVX_LAB_FAKE_STALL must be SUITE.bootN" env PVX_LAB_FAKE_STALL=tinyvm scripts/lab.sh
expect_error "lab.sh with shell text in the kvm_amd parameters fails with one line" \
	"PVX_LAB_KVM_AMD_ARGS must be words like vgif=0" env "PVX_LAB_KVM_AMD_ARGS=vgif=0;reboot" scripts/lab.sh
expect_error "lab.sh with shell text in the L2 command line fails with one line" \
	"PVX_LAB_L2_APPEND must be words" env "PVX_LAB_L2_APPEND=quiet \$(reboot)" scripts/lab.sh
expect_error "lab.sh with a bad icount shift fails with one line" \
	"PVX_LAB_ICOUNT needs a shift 0..10, got '11'" env PVX_LAB_ICOUNT=11 scripts/lab.sh --l2-cpus 1
expect_error "lab.sh with icount on a 2-CPU L2 fails with one line" \
	"PVX_LAB_ICOUNT needs --l2-cpus 1" env PVX_LAB_ICOUNT=0 scripts/lab.sh
expect_error "bench.sh with an unknown hypercall measure fails with one line" \
	"PVX_BENCH_HCALL_MEASURE must be both, time or instructions, got 'x'" \
	env PVX_BENCH=hcall PVX_BENCH_HCALL_MEASURE=x scripts/bench.sh
expect_error "run-l3.sh with a steal level above 99 fails with one line" \
	"needs a level 0..99, got '100'" selftests/guest/run-l3.sh --steal 100 host
expect_error "run-l3.sh with a negative steal level fails with one line" \
	"needs a level 0..99, got '-5'" selftests/guest/run-l3.sh --steal -5 host
expect_error "bench.sh with an unknown benchmark fails with one line" \
	"unknown benchmark 'nope'" env PVX_BENCH=locks,nope scripts/bench.sh
expect_error "bench.sh with 65 lock rounds fails with one line" \
	"PVX_BENCH_ROUNDS must be 1..64, got '65'" env PVX_BENCH=locks PVX_BENCH_ROUNDS=65 scripts/bench.sh
expect_error "bench.sh with more ticket rounds than rounds fails with one line" \
	"PVX_BENCH_TICKET_ROUNDS must be 1..PVX_BENCH_ROUNDS (4), got '5'" \
	env PVX_BENCH=locks PVX_BENCH_ROUNDS=4 PVX_BENCH_TICKET_ROUNDS=5 scripts/bench.sh
expect_error "bench.sh with a lock rate above 10000000 fails with one line" \
	"PVX_BENCH_RATE must be 0..10000000 acquisitions a second per thread, got '10000001'" \
	env PVX_BENCH=locks PVX_BENCH_RATE=10000001 scripts/bench.sh
expect_error "bench.sh with a lock rate that is not a number fails with one line" \
	"PVX_BENCH_RATE must be 0..10000000 acquisitions a second per thread, got '1e5'" \
	env PVX_BENCH=locks PVX_BENCH_RATE=1e5 scripts/bench.sh
expect_error "bench.sh with shell text in a knob fails with one line" \
	"PVX_BENCH_KSM_CASES may hold only letters, digits and _ . / , -" \
	env PVX_BENCH=ksm "PVX_BENCH_KSM_CASES=a \$(reboot)" scripts/bench.sh
expect_error "kernel.sh with an unknown series fails with one line" \
	"unknown kernel series '7.0'" scripts/kernel.sh abi 7.0
expect_error "lab.sh with an unknown PVX_L3_TUNE fails with one line" \
	"PVX_L3_TUNE must be short or full, got 'long'" env PVX_L3_TUNE=long scripts/lab.sh
expect_error "lab.sh with an unknown PVX_RESETS_LOAD fails with one line" \
	"PVX_RESETS_LOAD must be forks or modloop, got 'x'" env PVX_RESETS_LOAD=x scripts/lab.sh
expect_error "run-l3.sh with an unknown PVX_L3_TUNE fails with one line" \
	"PVX_L3_TUNE needs short or full, got 'long'" env PVX_L3_TUNE=long selftests/guest/run-l3.sh host
expect_error "lab.sh with an unknown PVX_LAB_SOAK fails with one line" \
	"PVX_LAB_SOAK must be short or long, got 'full'" env PVX_LAB_SOAK=full scripts/lab.sh
expect_error "run-l3.sh with an unknown PVX_LAB_SOAK fails with one line" \
	"PVX_LAB_SOAK needs short or long, got 'full'" env PVX_LAB_SOAK=full selftests/guest/run-l3.sh host
# make check's two lists: every suite of check-full on one kernel at
# least (guest as its parts: the fallback boot is guest-core's;
# migrate-quick as its bitmap and ring boots), and on each kernel an L3
# boot on a pvx host, numa and lockdown (every module), tinyvm (issue 26's
# tests) and a live migration (issue 27's)
lists_cover() {
	local both=",${LAB_TESTS[6.1]},${LAB_TESTS[6.12]}," s k l
	for s in guest-core steal topology upstream migrate-bitmap migrate-ring tinyvm numa lockdown; do
		[[ "$both" == *",$s,"* ]] || { echo "$s in neither list"; return 1; }
	done
	for k in 6.1 6.12; do
		l=",${LAB_TESTS[$k]},"
		[[ "$l" =~ ,guest(-core|-host)?, ]] || { echo "$k boots no L3 on a pvx host"; return 1; }
		[[ "$l" =~ ,migrate(-quick|-bitmap|-ring)?, ]] || { echo "no live migration on $k"; return 1; }
		for s in numa lockdown tinyvm; do
			[[ "$l" == *",$s,"* ]] || { echo "$s not on $k"; return 1; }
		done
	done
}
if [ -z "${PVX_LAB_TESTS:-}" ] && [ "${PVX_CHECK_FULL:-0}" != 1 ]; then
	if why=$(lists_cover); then
		tap ok "make check's lab lists cover every suite of check-full, each kernel every module, tinyvm and a migration"
	else
		tap fail "make check's lab lists cover every suite of check-full, each kernel every module, tinyvm and a migration" "$why"
	fi
fi
expect_error "run-l3.sh with a bad PVX_L3_BOOTS fails with one line" \
	"PVX_L3_BOOTS needs 1..9, got 'x'" env PVX_L3_BOOTS=x selftests/guest/run-l3.sh host
# l3_zeros ABI NAME CPUS ENV...: run-l3.sh fallback under TCG with an
# initramfs of zeros (the kernel panics before any /init) and the extra
# environment ENV; its TAP in $out (also in $RES/l3-NAME/run.tap), $d.
l3_zeros() {
	local abi=$1 cpus=$3
	d=$RES/l3-$2
	shift 3
	mkdir -p "$d"
	head -c 4096 /dev/zero >"$d/zeros.img"
	out=$(env PVX_ABI="$abi" PVX_BUILD="$REPO/build/$abi" PVX_KIMAGE="$(scripts/kernel.sh image "$abi")" \
		PVX_L3_INITRD="$d/zeros.img" PVX_L3_CPUS="$cpus" PVX_L3_MEM=256 PVX_OUT="$d" "$@" \
		selftests/guest/run-l3.sh fallback 2>&1)
	l3_rc=$?
	printf '%s\n' "$out" >"$d/run.tap"
}
# An L3 that never reaches its /init is booted once more, and both boots
# are reported, the last with its panic (its console before the reset).
l3_boot_retry() {
	local out d l3_rc
	l3_zeros "$1" retry 1 PVX_L3_ACCEL="-accel tcg -cpu max" PVX_L3_TIMEOUT=120 PVX_L3_BOOTS=2
	[ "$l3_rc" = 1 ] &&
		[ "$(grep -c 'boot 1 of 2 never reached /init' <<<"$out")" = 1 ] &&
		! grep -q 'boot 2 of 2 never' <<<"$out" &&
		grep -q '^not ok 1 l3 fallback boot # .*qemu exit 0' <<<"$out" &&
		grep -q '^# l3 fallback: console before the reset: .*Kernel panic' <<<"$out" &&
		[ -s "$d/l3-fallback-attempt1.log" ] && [ -s "$d/l3-fallback.log" ]
}
first_abi=""
for s in $SERIES_LIST; do [ -n "${ABI[$s]:-}" ] && { first_abi=${ABI[$s]}; break; }; done
if ! command -v qemu-system-x86_64 >/dev/null || [ -z "$first_abi" ]; then
	tap skip "run-l3.sh boots L3 again when it never reaches /init" "no qemu or no kernel (make deps)"
elif l3_boot_retry "$first_abi"; then
	tap ok "run-l3.sh boots L3 again, once, when it never reaches /init, and reports both boots and the panic"
else
	tap fail "run-l3.sh boots L3 again, once, when it never reaches /init, and reports both boots and the panic" \
		"see $RES/l3-retry/run.tap"
fi
# An L3 whose console stays silent (here: QEMU started with its vCPUs
# stopped, -S) is stopped after PVX_L3_SILENCE s, with each vCPU's
# registers read from QEMU's monitor first and named in the TAP.
l3_stuck() {
	local out d l3_rc
	l3_zeros "$1" stuck 2 PVX_L3_ACCEL="-accel tcg -cpu max -S" PVX_L3_SILENCE=5 PVX_L3_BOOTS=1
	[ "$l3_rc" = 1 ] &&
		grep -q '^not ok 1 l3 fallback boot # stuck: no console output for 5 s' <<<"$out" &&
		grep -q '^# l3 fallback: stuck; vCPU 0 at RIP=' <<<"$out" &&
		grep -q '^# l3 fallback: stuck; vCPU 1 at RIP=' <<<"$out"
}
if ! command -v qemu-system-x86_64 >/dev/null || [ -z "$first_abi" ]; then
	tap skip "run-l3.sh stops a silent L3 and names its vCPUs' registers" "no qemu or no kernel (make deps)"
elif l3_stuck "$first_abi"; then
	tap ok "run-l3.sh stops a silent L3 and names its vCPUs' registers"
else
	tap fail "run-l3.sh stops a silent L3 and names its vCPUs' registers" "see $RES/l3-stuck/run.tap"
fi
expect_error "run-l3.sh with an unknown topology fails with one line" \
	"--topology needs swapped-rt or 1cpu, got 'ring'" selftests/guest/run-l3.sh --topology ring host
expect_error "run-l3.sh with a bad PVX_L3_SILENCE fails with one line" \
	"PVX_L3_SILENCE needs seconds, got '0'" env PVX_L3_SILENCE=0 selftests/guest/run-l3.sh host
# the lock benchmark's tables of a stored run (pvx_bench_locks --tables):
# two rounds whose ratios are known, the A/A floor and the p50 count
locks_sample=selftests/host/testdata/locks-results.txt
expect_lines "pvx_bench_locks --tables: the floors on the A/A pair and the rounds' p50 ratios of a stored run" \
	"$(build/selftests/pvx_bench_locks --tables "$locks_sample" 2>&1)" \
	"# floor A/A (b') p99 <= 1.0x (b): MISSED 2x (n=2 2-2)" \
	"# spread pvx       acq/s /(b) 2x (n=2 2-2), p99 /(b) 0.5x (n=2 0.5-0.5), p50 /(b) 2.5x (n=2 2-3), above (b) in 2 rounds" \
	"p50 /(b) 1.25x (n=2 0.5-2), above (b) in 1 rounds"
expect_error "pvx_bench_locks --tables without the file fails with one line" \
	"no-such-results.txt: No such file" build/selftests/pvx_bench_locks --tables "$RES/no-such-results.txt"
# three runs pooled: six paired rounds, each pvx p99 half of native's
expect_lines "pvx_bench_locks --tables of three runs: rounds pooled, sign tests on them" \
	"$(build/selftests/pvx_bench_locks --tables "$locks_sample" "$locks_sample" "$locks_sample" 2>&1)" \
	"# sign (c) p99 /(b): above in 0, below in 6, equal in 0 of 6 rounds: lower (p=0.016)" \
	"# sign A/A (b') p50 /(b): above in 3, below in 3, equal in 0 of 6 rounds: a tie (p=1)" \
	"p99 <= 1.0x (b): met 0.5x (n=6 0.5-0.5)"
# against both native runs: native-aa's p99 is twice native's in the
# sample, pvx's half native's, so a quarter of sqrt(2) of their mean
expect_lines "pvx_bench_locks --tables: item 1's floors against the geometric mean of both native runs" \
	"$(build/selftests/pvx_bench_locks --tables "$locks_sample" 2>&1)" \
	"# floor (c) p99 <= 1.0x (b''): met 0.354x (n=2 0.354-0.354), sign test: undecided p=0.25"
# the wait profile: the sample's pvx line has every percentile, native's
# only p50 and p99 (a run before the module printed the others)
expect_lines "pvx_bench_locks --tables: the wait profile per lock, empty where a line lacks a percentile" \
	"$(build/selftests/pvx_bench_locks --tables "$locks_sample" 2>&1)" \
	"# pvx              30        40       250       300       600       700       200       999" \
	"# native                              100                                     400       999"
# the handoffs of count_passes=1 (bench-round-cs lines with ho_*): pvx
# waited through a release in 800 of 1000 acquisitions a round, native
# in 500; a ticket line without ho_* (an older module) adds nothing
expect_lines "pvx_bench_locks --tables: how often each lock waited through a release, and its handoffs" \
	"$(build/selftests/pvx_bench_locks --tables "$locks_sample" 2>&1)" \
	"# handoff native    waited through a release % 50 (n=2 50-50), p50 ns 500 (n=2 500-500), p99 ns 1000 (n=2 1000-1000)" \
	"# spread pvx waited /(b) 1.6x (n=2 1.6-1.6), handoff p50 /(b) 1.1x (n=2 1-1.2), p99 /(b) 1.05x (n=2 1-1.1)" \
	"# sign (c) waited /(b): above in 2, below in 0, equal in 0 of 2 rounds: a tie (p=0.25)"
# and the holds (hold_p50, hold_p99, held_ns, held_pml): native held the
# lock 3 ms of a 10 ms round in 1000 holds, pvx 6 and 6.6 ms
expect_lines "pvx_bench_locks --tables: how much of each round each lock was held, and a hold's mean" \
	"$(build/selftests/pvx_bench_locks --tables "$locks_sample" 2>&1)" \
	"# held native    lock held % of the round 30 (n=2 30-30), hold ns mean 3000 (n=2 3000-3000), p50 2000 (n=2 2000-2000), p99 9000 (n=2 9000-9000)" \
	"# held pvx       lock held % of the round 63 (n=2 60-66), hold ns mean 6300 (n=2 6000-6600), p50 2100 (n=2 2000-2200), p99 8000 (n=2 8000-8000)" \
	"# spread pvx held /(b) 2.1x (n=2 2-2.2), hold mean /(b) 2.1x (n=2 2-2.2), p50 /(b) 1.05x (n=2 1-1.1), p99 /(b) 0.889x (n=2 0.889-0.889)"
# and the holds after a holder on another CPU (x_n, hold_x_*): native's
# 400 of 1000, pvx's 800
expect_lines "pvx_bench_locks --tables: the holds after another CPU's, their share and percentiles" \
	"$(build/selftests/pvx_bench_locks --tables "$locks_sample" 2>&1)" \
	"# crossed native    holds after another CPU's % 40 (n=2 40-40), their p50 ns 2000 (n=2 2000-2000), p99 ns 9000 (n=2 9000-9000)" \
	"# spread pvx crossed /(b) 2x (n=2 2-2), their hold p50 /(b) 1.05x (n=2 1-1.1), p99 /(b) 0.889x (n=2 0.889-0.889)"
if build/selftests/pvx_bench_locks --tables "$locks_sample" 2>&1 | grep -q '^# handoff ticket'; then
	tap fail "pvx_bench_locks --tables: no handoff row for a lock whose lines have none" "a ticket row"
else
	tap ok "pvx_bench_locks --tables: no handoff row for a lock whose lines have none"
fi
# the rounds an L3 that reset kept on its console (a stored console): a
# ticket round with its sum, kernel round 1; round 2 dropped (a kernel
# line cut into one of its lines), round 3 refused (after a dropped
# one), round 4 not ended; the same console again adds nothing
reset_console=selftests/host/testdata/l3-bench-console-reset.log
expect_lines "pvx_bench_locks --kept: the whole rounds in order, from ticket round 2 and round 2 on" \
	"$(build/selftests/pvx_bench_locks --kept "$reset_console" 2>&1)" \
	"kept: 1 ticket and 1 other rounds, the next boot from ticket round 2 and round 2" \
	"bench lock=ticket threads=8 cpus=4 rounds=1" \
	"bench-round lock=native-aa threads=8 round=1"
expect_lines "pvx_bench_locks --kept of a console twice: the repeated rounds add nothing" \
	"$(build/selftests/pvx_bench_locks --kept "$reset_console" "$reset_console" 2>&1)" \
	"kept: 1 ticket and 1 other rounds, the next boot from ticket round 2 and round 2"
expect_error "pvx_bench_locks --kept without the console fails with one line" \
	"no-such-console.log: No such file" build/selftests/pvx_bench_locks --kept "$RES/no-such-console.log"
mapfile -t locks_many < <(yes "$locks_sample" | head -n 33)
expect_error "pvx_bench_locks --tables past 64 rounds in all fails with one line" \
	"more than 64 rounds in all" build/selftests/pvx_bench_locks --tables "${locks_many[@]}"
# lab.sh's signature of L2's stack overflow into an L3 whose console
# lost the trace (a stored console, 6.1 guest-core): retried; not with a
# pvx frame in it, nor with a trace that does not run through the world
# switch
eval "$(sed -n '/^svm_run_overflow() {/,/^}/p' scripts/lab.sh)"
overflow_sample=selftests/host/testdata/l2-console-overflow-untraced.log
sed 's/error_entry+0xb\/0x130/& [pvx_host]/' "$overflow_sample" >"$RES/overflow-pvx.log"
sed 's/Kernel Offset: disabled/Call Trace:/' "$overflow_sample" >"$RES/overflow-traced.log"
if svm_run_overflow "$overflow_sample" && ! svm_run_overflow "$RES/overflow-pvx.log" &&
   ! svm_run_overflow "$RES/overflow-traced.log"; then
	tap ok "lab.sh retries L2's stack overflow in an L3 vCPU thread whose trace the console lost, not one with a pvx frame or another trace"
else
	tap fail "lab.sh retries L2's stack overflow in an L3 vCPU thread whose trace the console lost, not one with a pvx frame or another trace"
fi
if [ "$(ls -d build/lab-* 2>/dev/null | wc -l)" = "$labs_before" ]; then
	tap ok "rejected lab runs leave no results directory behind"
else
	tap fail "rejected lab runs leave no results directory behind"
fi

# --- a fresh machine: what the project needs, it installs or makes itself -----
tap_begin fresh
# machine_paths FILE...: absolute paths that exist only on some machine
# (homes, /work, /opt, /usr/local, /var/... but the project's cache, and
# /usr/src but the linux-source and linux-headers packages' own files and
# the pvx-dkms package's, /usr/src/pvx-VERSION).
machine_paths() {
	grep -nHoE '(^|[^A-Za-z0-9_.$}~-])/(work|root|home|opt|srv|mnt|media|snap|nix|usr/local|var|usr/src)(/[^[:space:]"'"'"'`);,:\\]*)?' "$@" |
		sed -E 's#^([^:]*:[0-9]+:)[^/]?#\1#' |
		grep -vE ':[0-9]+:/(var/cache/pvx|usr/src/linux-(source|headers)-|usr/src/pvx-VERSION|usr/src/?$)' || true
}
# every tracked file (this one names the forbidden roots as a pattern)
leaks=$(git ls-files -z | grep -zv -e '^LICENSE$' -e '^scripts/check.sh$' |
	xargs -0 bash -c "$(declare -f machine_paths); machine_paths \"\$@\"" _)
if [ -z "$leaks" ]; then
	tap ok "no tracked file names a path outside the clone, Debian's package paths and the project's cache"
else
	tap fail "no tracked file names a path outside the clone, Debian's package paths and the project's cache" \
		"$(head -n3 <<<"$leaks" | tr '\n' '|')"
fi
# ...and the check finds one (the KSFT_DIR default that broke fresh machines)
# (the root built here, so that this file does not name it itself)
printf 'KSFT_DIR ?= /%s/ksrc/linux-source-6.12/tools\nx=/var/cache/pvx/kernels\n' work >"$RES/leak.mk"
if [ "$(machine_paths "$RES/leak.mk" | wc -l)" = 1 ]; then
	tap ok "the path check finds a development machine's unpacked kernel tree"
else
	tap fail "the path check finds a development machine's unpacked kernel tree"
fi
# What make deps installs, as apt would resolve it on a machine that has
# nothing installed: no kernel, bootloader, initramfs or init system.
boot_pkgs='^(linux-image-|linux-headers-|linux-signed-|grub|systemd$|systemd-sysv$|udev$|initramfs-tools|dracut|sysvinit-core$|init$)'
closure() { # closure PKG...: what apt-get install would add to an empty system
	apt-get -s -o Dir::State::status=/dev/null install --no-install-recommends "$@" 2>&1 |
		awk '/^Inst / { print $2 }'
}
if ! command -v apt-get >/dev/null; then
	tap skip "make deps installs no kernel, bootloader or init system" "no apt-get"
else
	# shellcheck disable=SC2046
	pulled=$(closure $(scripts/deps.sh packages))
	bad=$(grep -E "$boot_pkgs" <<<"$pulled" | tr '\n' ' ')
	if [ -n "$pulled" ] && [ -z "$bad" ]; then
		tap ok "make deps installs no kernel, bootloader or init system ($(wc -l <<<"$pulled") packages from nothing)"
	else
		tap fail "make deps installs no kernel, bootloader or init system" "would install: ${bad:-nothing resolved}"
	fi
	# ...and the check sees one that would (the 6.12 headers package,
	# which make deps installed until kernel.sh unpacked it instead)
	if [ -n "${ABI[6.12]:-}" ] && grep -q '^linux-image-' <(closure "linux-headers-${ABI[6.12]}"); then
		tap ok "the install check sees linux-headers-${ABI[6.12]} pull in a kernel image"
	elif [ -n "${ABI[6.12]:-}" ]; then
		tap fail "the install check sees linux-headers-${ABI[6.12]} pull in a kernel image"
	else
		tap skip "the install check sees a headers package pull in a kernel image" "kernel 6.12 not set up"
	fi
fi
for s in "${!ABI[@]}"; do
	case "$(scripts/kernel.sh kdir "${ABI[$s]}")" in
	"${PVX_CACHE:-/var/cache/pvx}"/*) tap ok "the $s build uses headers unpacked in the project's cache" ;;
	*) tap fail "the $s build uses headers unpacked in the project's cache" ;;
	esac
done

# --- libpvx: the userspace lock, its tests and its ABI ------------------------
# (natively: here the lock is its fallback; L3 runs it with /dev/pvx)
scripts/libpvx-check.sh "$RES/libpvx" >"$RES/libpvx.tap" 2>"$RES/libpvx.err"
grep -Eq '^(not )?ok [0-9]+' "$RES/libpvx.tap" ||
	printf 'not ok 1 libpvx checks ran # see %s\n' "$RES/libpvx.err" >>"$RES/libpvx.tap"

# --- make deb: the Debian packages ----------------------------------------------
# debian/ built by dpkg-buildpackage (debhelper, dh-dkms): the packages'
# control fields and files, lintian, the packaged sources building every
# module the way DKMS builds them (6.12) and their dkms.conf excluding
# PREEMPT_RT kernels, the tools running from the package, and dh_dkms's
# maintainer scripts calling a stand-in dkms: nothing is installed.
tap_begin deb
deb_ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
# the one version: debian/changelog says dkms.conf's (debian/rules
# refuses to build otherwise)
ch_ver=$(dpkg-parsechangelog -S Version 2>/dev/null)
if [ -n "$deb_ver" ] && [ "$ch_ver" = "$deb_ver" ]; then
	tap ok "debian/changelog's version is dkms.conf's PACKAGE_VERSION, $deb_ver"
else
	tap fail "debian/changelog's version is dkms.conf's PACKAGE_VERSION" \
		"changelog: '$ch_ver', dkms.conf: '$deb_ver'"
fi
deb_arch=$(dpkg --print-architecture)
deb_dkms=build/deb/pvx-dkms_${deb_ver}_all.deb
deb_tools=build/deb/pvx-tools_${deb_ver}_$deb_arch.deb
dx=$RES/deb
mkdir -p "$dx"
expect_error "make deb without clang fails with one line" \
	"make deb: pvxtop: clang not found" env CLANG=no-clang make -s --no-print-directory deb
rm -f build/deb/*.deb
if make -s --no-print-directory deb >"$dx/make.log" 2>&1 &&
   debs=(build/deb/*.deb) && [ -f "$deb_dkms" ] && [ -f "$deb_tools" ] && [ ${#debs[@]} = 2 ]; then
	tap ok "make deb builds $(basename "$deb_dkms") and $(basename "$deb_tools"), no other package (version from dkms.conf)"
	deb_built=1
	# lintian (make deps installs it): no error or warning; the tags
	# pvx-tools keeps are overridden, each with its reason, in
	# debian/pvx-tools.lintian-overrides; info tags as comments
	if lintian -I "$deb_dkms" "$deb_tools" >"$dx/lintian.log" 2>&1; then
		bad=$(grep -E '^[EW]: ' "$dx/lintian.log")
		if [ -z "$bad" ]; then
			tap ok "lintian: no error or warning in either package"
		else
			tap fail "lintian: no error or warning in either package" "$(head -n3 <<<"$bad" | tr '\n' '|')"
		fi
		grep '^I: ' "$dx/lintian.log" | sed 's/^/# lintian: /' >>"$cur"
	elif command -v lintian >/dev/null; then
		tap fail "lintian: no error or warning in either package" "see $dx/lintian.log"
	else
		tap skip "lintian: no error or warning in either package" "lintian not installed (run: make deps)"
	fi
else
	tap fail "make deb builds pvx-dkms and pvx-tools $deb_ver" "see $dx/make.log"
	deb_built=
fi
# deb_unpack DEB DIR: files and DEBIAN/ (control, md5sums, scripts) in DIR
deb_unpack() { rm -rf "$2" && dpkg-deb -R "$1" "$2"; }
if [ -n "$deb_built" ] && deb_unpack "$deb_dkms" "$dx/dkms" && deb_unpack "$deb_tools" "$dx/tools"; then
	for p in "pvx-dkms all $deb_dkms dkms" "pvx-tools $deb_arch $deb_tools tools"; do
		read -r pkg arch f d <<<"$p"
		bad=
		for fld in "Package=$pkg" "Version=$deb_ver" "Architecture=$arch" Maintainer Depends Section \
			   Priority Description Installed-Size; do
			v=$(dpkg-deb -f "$f" "${fld%%=*}")
			if [ -z "$v" ] || { [[ "$fld" == *=* ]] && [ "$v" != "${fld#*=}" ]; }; then
				bad="$bad ${fld%%=*}='$v'"
			fi
		done
		if [ -z "$bad" ]; then
			tap ok "$pkg: Package, Version $deb_ver, Architecture $arch and the other control fields"
		else
			tap fail "$pkg: control fields" "wrong:$bad"
		fi
		# md5sums: every file of the package, each sum right
		nfiles=$(cd "$dx/$d" && find . -path ./DEBIAN -prune -o -type f -print | wc -l)
		if [ -s "$dx/$d/DEBIAN/md5sums" ] && [ "$(wc -l <"$dx/$d/DEBIAN/md5sums")" = "$nfiles" ] &&
		   (cd "$dx/$d" && md5sum -c --quiet DEBIAN/md5sums) >"$dx/$d.md5.log" 2>&1; then
			tap ok "$pkg: md5sums lists the $nfiles files with their sums"
		else
			tap fail "$pkg: md5sums lists every file with its sum" "see $dx/$d.md5.log"
		fi
	done
	# dh_dkms's dependency: a dkms that honours BUILD_EXCLUSIVE_CONFIG
	if [ "$(dpkg-deb -f "$deb_dkms" Depends)" = "dkms (>= 3.0.3-4~)" ]; then
		tap ok "pvx-dkms depends on a dkms that reads BUILD_EXCLUSIVE_CONFIG, dkms (>= 3.0.3-4~)"
	else
		tap fail "pvx-dkms depends on dkms (>= 3.0.3-4~)" "Depends: $(dpkg-deb -f "$deb_dkms" Depends)"
	fi
	# pvx-tools depends on the packages of the libraries its binaries
	# name (NEEDED), found here through ldconfig and dpkg -S
	need=$(for b in "$dx"/tools/usr/sbin/pvxtop "$dx"/tools/usr/lib/libpvx.so.*.*; do
		objdump -p "$b" | awk '$1 == "NEEDED" { print $2 }'
	done | sort -u | while read -r so; do
		lib=$(ldconfig -p | awk -v s="$so" '$1 == s && /x86-64/ { print $NF; exit }')
		real=$(readlink -f "$lib")
		{ dpkg -S "$real" || dpkg -S "${real#/usr}"; } 2>/dev/null | sed 's/:.*//' | head -n1
	done | sort -u | tr '\n' ' ' | sed 's/ $//')
	deps=$(dpkg-deb -f "$deb_tools" Depends | tr ',' '\n' | awk '{ print $1 }' | sort -u | tr '\n' ' ' | sed 's/ $//')
	if [ -n "$need" ] && [ "$need" = "$deps" ]; then
		tap ok "pvx-tools depends on exactly the packages of the libraries it links: $need"
	else
		tap fail "pvx-tools depends on exactly the packages of the libraries it links" \
			"linked: ${need:-?}, Depends: $deps"
	fi
	# pvx-dkms: the tracked kernel sources and what dkms.conf's MAKE
	# needs, nothing else (no build products, no libpvx)
	want=$(git ls-files | grep -E '^((host|guest|uapi)/.*|Kbuild|Makefile|dkms\.conf|LICENSE)$' |
		grep -v '^guest/libpvx/' | sed "s|^|usr/src/pvx-$deb_ver/|" | sort)
	got=$(dpkg-deb -c "$deb_dkms" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $NF); print $NF }' |
		grep '^usr/src/' | sort)
	if [ -n "$want" ] && [ "$want" = "$got" ]; then
		tap ok "pvx-dkms holds under usr/src/pvx-$deb_ver the $(wc -l <<<"$want") tracked files the modules build from, nothing else"
	else
		tap fail "pvx-dkms holds the tracked kernel sources under usr/src/pvx-$deb_ver" \
			"missing: $(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')extra: $(comm -13 <(echo "$want") <(echo "$got") | tr '\n' ' ')"
	fi
	# every other file of both packages: Debian's doc files, pvx-tools
	# what make tools_install and make lib_install install (no debug
	# files: no -dbgsym package, no dwz multifile)
	libv=$(sed -n 's/^VERSION := //p' guest/libpvx/Makefile)
	want=$(printf '%s\n' usr/share/doc/pvx-dkms/changelog.gz usr/share/doc/pvx-dkms/copyright \
		usr/include/pvx.h usr/include/pvx_fork.h usr/include/pvx_lock.h \
		usr/lib/libpvx.a usr/lib/libpvx.so "usr/lib/libpvx.so.${libv%%.*}" "usr/lib/libpvx.so.$libv" \
		usr/lib/pkgconfig/libpvx.pc usr/sbin/pvxtop usr/share/doc/pvx-tools/changelog.gz \
		usr/share/doc/pvx-tools/copyright usr/share/doc/pvx-tools/libpvx.rst.gz \
		usr/share/doc/pvx-tools/pvxtop.rst.gz usr/share/doc/pvx-tools/tuning.rst.gz \
		usr/share/lintian/overrides/pvx-tools usr/share/man/man3/libpvx.3.gz | sort)
	got=$(for f in "$deb_dkms" "$deb_tools"; do dpkg-deb -c "$f"; done |
		awk '$1 !~ /^d/ { p = $6; sub(/^\.\//, "", p); print p }' | grep -v '^usr/src/' | sort)
	if [ "$want" = "$got" ]; then
		tap ok "the $(wc -l <<<"$want") files outside usr/src: pvx-dkms's doc files, pvx-tools' installed files, nothing else"
	else
		tap fail "the files outside usr/src: pvx-dkms's doc files, pvx-tools' installed files, nothing else" \
			"missing: $(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')extra: $(comm -13 <(echo "$want") <(echo "$got") | tr '\n' ' ')"
	fi
	# the packaged sources build every module of dkms.conf the way dkms
	# builds them, and its CLEAN removes them again (one kernel: 6.12)
	src=$dx/dkms/usr/src/pvx-$deb_ver
	abi=${ABI[6.12]:-}
	if [ -z "$abi" ]; then
		tap skip "the packaged sources build every module of dkms.conf" "kernel 6.12 not set up (make deps)"
	else
		kdir=$(scripts/kernel.sh kdir "$abi")
		# dkms_run MODULES|MAKE|CLEAN: in the packaged sources, with
		# dkms.conf sourced as dkms sources it, the modules it names,
		# or its MAKE[0] or CLEAN run as dkms runs them (eval; make
		# given -j and KERNELRELEASE for the build)
		dkms_run() (
			# shellcheck disable=SC1091,SC2034 # dkms.conf reads kernel_source_dir
			cd "$src" && kernel_source_dir=$kdir && . ./dkms.conf || exit
			case $1 in
			MODULES)
				for i in "${!BUILT_MODULE_NAME[@]}"; do
					echo "${BUILT_MODULE_LOCATION[$i]}${BUILT_MODULE_NAME[$i]}.ko"
				done ;;
			MAKE) eval "${MAKE[0]/#make/make -j$(nproc) KERNELRELEASE=$abi}" ;;
			CLEAN) eval "$CLEAN" ;;
			EXCLUSIVE) echo "$BUILD_EXCLUSIVE_CONFIG" ;;
			esac
		)
		mods=$(dkms_run MODULES)
		t0=$(date +%s)
		missing=
		if dkms_run MAKE >"$dx/dkms-make.log" 2>&1; then
			for m in $mods; do [ -f "$src/$m" ] || missing="$missing $m"; done
		else
			missing="(make failed)"
		fi
		if [ -n "$mods" ] && [ -z "$missing" ]; then
			tap ok "the packaged sources build the $(wc -w <<<"$mods") modules of dkms.conf for $abi through its MAKE[0] ($(($(date +%s) - t0)) s)"
		else
			tap fail "the packaged sources build every module of dkms.conf for $abi through its MAKE[0]" \
				"missing:$missing; see $dx/dkms-make.log"
		fi
		if dkms_run CLEAN >"$dx/dkms-clean.log" 2>&1 && [ -z "$(find "$src" -name '*.ko')" ]; then
			tap ok "dkms.conf's CLEAN succeeds in the packaged sources and removes the modules"
		else
			tap fail "dkms.conf's CLEAN succeeds in the packaged sources and removes the modules" \
				"see $dx/dkms-clean.log"
		fi
	fi
	# PREEMPT_RT: the packaged dkms.conf's BUILD_EXCLUSIVE_CONFIG read
	# as dkms 3.0.10 reads it against a kernel tree's .config (a word
	# !CONFIG_X excludes the kernel when X=y or m, a word CONFIG_X when
	# X is not), for the -rt and the non-rt 6.12 headers: dkms skips the
	# -rt kernel (exit 77, its BUILD_EXCLUSIVE message) and builds the other
	rt=$(scripts/kernel.sh installed-rt 6.12 2>/dev/null)
	if [ -z "$abi" ] || [ -z "$rt" ]; then
		tap skip "the packaged dkms.conf excludes PREEMPT_RT kernels from dkms builds" "6.12 headers or its -rt headers not set up (make deps)"
	else
		excl=$(dkms_run EXCLUSIVE)
		# excluded KDIR: yes or no, as dkms's read_conf decides
		excluded() {
			local kconf x=no
			for kconf in $excl; do
				case $kconf in
				!*) grep -qE "^${kconf#!}=[ym]" "$1/.config" && x=yes ;;
				*) grep -qE "^$kconf=[ym]" "$1/.config" || x=yes ;;
				esac
			done
			echo $x
		}
		rt_x=$(excluded "$(scripts/kernel.sh kdir "$rt")")
		x=$(excluded "$kdir")
		if [ -n "$excl" ] && [ "$rt_x/$x" = yes/no ]; then
			tap ok "the packaged dkms.conf (BUILD_EXCLUSIVE_CONFIG=\"$excl\") excludes $rt from dkms builds, not $abi"
		else
			tap fail "the packaged dkms.conf excludes $rt from dkms builds, not $abi" \
				"BUILD_EXCLUSIVE_CONFIG='$excl': $rt excluded: $rt_x, $abi excluded: $x"
		fi
	fi
	# dh_dkms's maintainer scripts: valid sh, pvx and this version, run
	# with stand-ins that log their calls: dkms (dkms status knows pvx
	# when DKMS_KNOWN is set) and dkms's common.postinst, which postinst
	# hands pvx to (it adds, builds and installs; it comes with dkms, not
	# installed here)
	mkdir -p "$dx/fake-bin"
	cat >"$dx/fake-bin/dkms" <<-'EOF'
	#!/bin/sh
	echo "dkms $*" >>"$DKMS_LOG"
	[ "$1" != status ] || [ -z "$DKMS_KNOWN" ] || echo "pvx/known: added"
	EOF
	cat >"$dx/fake-bin/common.postinst" <<-'EOF'
	#!/bin/sh
	{ printf 'common.postinst'; printf ' [%s]' "$@"; echo; } >>"$DKMS_LOG"
	EOF
	chmod +x "$dx/fake-bin/dkms" "$dx/fake-bin/common.postinst"
	ctl=$dx/dkms/DEBIAN
	log=$dx/dkms-calls.log
	sed "s|/usr/lib/dkms/common.postinst|$dx/fake-bin/common.postinst|" "$ctl/postinst" >"$dx/postinst"
	rm -f "$log"
	# configure, as a first install (no previous version) and as an
	# upgrade from 0.9; prerm on removal, once known to dkms, once not
	# (no call but the status query)
	for a in "" 0.9; do
		DKMS_LOG=$log PATH=$dx/fake-bin:$PATH sh "$dx/postinst" configure $a >/dev/null 2>&1 ||
			echo "postinst configure $a: exit $?" >>"$log"
	done
	DKMS_LOG=$log DKMS_KNOWN=1 PATH=$dx/fake-bin:$PATH sh "$ctl/prerm" remove >/dev/null 2>&1 ||
		echo "prerm remove: exit $?" >>"$log"
	DKMS_LOG=$log DKMS_KNOWN='' PATH=$dx/fake-bin:$PATH sh "$ctl/prerm" remove >/dev/null 2>&1 ||
		echo "prerm remove: exit $?" >>"$log"
	want_calls="common.postinst [pvx] [$deb_ver] [/usr/share/pvx-dkms] []
common.postinst [pvx] [$deb_ver] [/usr/share/pvx-dkms] [] [0.9]
dkms status -m pvx -v $deb_ver
dkms remove -m pvx -v $deb_ver --all
dkms status -m pvx -v $deb_ver"
	if sh -n "$ctl/postinst" && sh -n "$ctl/prerm" &&
	   grep -q "^# Automatically added by dh_dkms/" "$ctl/postinst" &&
	   ! cmp -s "$ctl/postinst" "$dx/postinst" &&
	   [ "$(cat "$log" 2>/dev/null)" = "$want_calls" ]; then
		tap ok "pvx-dkms postinst and prerm (dh_dkms): valid sh, pvx $deb_ver to dkms's common.postinst on configure, dkms remove on removal"
	else
		tap fail "pvx-dkms postinst and prerm (dh_dkms): valid sh, pvx $deb_ver to common.postinst, dkms remove" \
			"calls: $(tr '\n' '|' <"$log" 2>/dev/null)"
	fi
	# pvx-tools: pvxtop runs from the package, libpvx is where pkg-config
	# and the dynamic linker look for it under /usr
	t=$dx/tools
	if out=$("$t/usr/sbin/pvxtop" --help 2>&1) && grep -q '^usage: pvxtop' <<<"$out"; then
		tap ok "pvx-tools: usr/sbin/pvxtop --help runs"
	else
		tap fail "pvx-tools: usr/sbin/pvxtop --help runs" "$(head -n1 <<<"$out")"
	fi
	so=$(cd "$t/usr/lib" && ls libpvx.so.*.* 2>/dev/null)
	soname=$(readelf -d "$t/usr/lib/$so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	if grep -qx 'prefix=/usr' "$t/usr/lib/pkgconfig/libpvx.pc" 2>/dev/null &&
	   [ -n "$soname" ] && [ "$(readlink "$t/usr/lib/$soname")" = "$so" ] &&
	   [ "$(readlink "$t/usr/lib/libpvx.so")" = "$soname" ] &&
	   [ -f "$t/usr/lib/libpvx.a" ] && [ -f "$t/usr/include/pvx_lock.h" ] &&
	   [ -f "$t/usr/share/man/man3/libpvx.3.gz" ] &&
	   grep -qx "${soname%%.so.*} ${soname##*.so.} pvx-tools (>= $deb_ver)" "$t/DEBIAN/shlibs"; then
		tap ok "pvx-tools: libpvx.pc prefix=/usr, $so with its soname link $soname, libpvx.so, .a, header, man page, shlibs"
	else
		tap fail "pvx-tools: libpvx.pc prefix=/usr, the soname link, .a, header, man page, shlibs" \
			"$(ls -l "$t/usr/lib" | tr '\n' '|')"
	fi
elif [ -n "$deb_built" ]; then
	tap fail "dpkg-deb -R unpacks both packages" "into $dx"
fi

# --- the labs' results ------------------------------------------------------------
if [ ${#LABPID[@]} -gt 0 ]; then
	for s in "${!LABPID[@]}"; do
		wait "${LABPID[$s]}"
	done
	[ -z "$DEMO_PID" ] || wait "$DEMO_PID"
	[ -z "$UPSTREAM_PID" ] || wait "$UPSTREAM_PID"
	for s in $SERIES_LIST; do
		[ -n "${ABI[$s]:-}" ] || continue
		tap_begin "lab-$s"
		grep -E '^lab:' "$RES/lab-$s.log" | sed 's/^/# /' >>"$cur"
		if [ -f "build/lab-${ABI[$s]}/all.tap" ]; then
			grep -v '^TAP version' "build/lab-${ABI[$s]}/all.tap" >>"$cur"
		else
			echo "not ok 1 lab on ${ABI[$s]} produced no results # see $RES/lab-$s.log" >>"$cur"
		fi
	done
	[ -f "$RES/prep-errors" ] && sed 's/^/# /' "$RES/prep-errors"
else
	tap_begin lab
	tap skip "nested lab suites" "lab cannot run here: $lab_why"
fi
# --- report ------------------------------------------------------------------------
# one nested KTAP stream: each stream above as the subtest of one line
streams=("$RES"/*.tap)
{
	echo "TAP version 13"
	echo "1..${#streams[@]}"
	i=0
	for f in "${streams[@]}"; do
		i=$((i + 1))
		scripts/ktap-nest.sh "$i" "$(basename "$f" .tap)" "$f"
	done
} >"$RES/check.ktap"
cat "$RES/check.ktap"
read -r P F K < <(scripts/tap-count.sh "$RES/check.ktap")
read -r _ _ LK < <(cat /dev/null "$RES"/lab-*.tap 2>/dev/null | scripts/tap-count.sh)
rc=0
[ "$F" -eq 0 ] || rc=1
if [ -n "${LK:-}" ] && [ "$LK" -gt 0 ]; then
	echo "# $LK lab tests were skipped although the lab ran: failing"
	rc=1
fi
[ "$P" -gt 0 ] || rc=1
echo "# make check took $(($(date +%s) - T0)) s"
echo "$P passed, $F failed, $K skipped"
exit $rc
