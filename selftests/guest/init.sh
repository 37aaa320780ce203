#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# /init of the L3 guest initramfs (built by mkinitrd.sh). Loads
# pvx_guest.ko, runs pvx_guest_test with the expectation named on the
# kernel command line (pvx_expect=host|fallback), then checks rmmod and a
# second insmod. Prints one TAP 13 stream between the lines PVX-TAP-BEGIN
# and PVX-TAP-END on the console, then powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp

KO=/pvx/pvx_guest.ko
TEST=/pvx/pvx_guest_test
TAP=/tmp/tap
n=0
: >"$TAP"

ok() { n=$((n + 1)); echo "ok $n $*" >>"$TAP"; }
not_ok() { n=$((n + 1)); echo "not ok $n $*" >>"$TAP"; }
diag() { echo "# $*" >>"$TAP"; }
# check DESCRIPTION COMMAND...: one test line from a command's status
check() {
	d=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then ok "$d"; else not_ok "$d # $(head -n1 /tmp/check.out)"; fi
}
loaded() { grep -q '^pvx_guest ' /proc/modules; }
unloaded() { ! loaded && [ ! -e /sys/kernel/pvx ] && [ ! -e /dev/pvx ]; }
host_lines() { dmesg | grep -c 'pvx_guest: host '; }

finish() {
	echo 1 >/proc/sys/kernel/printk	# keep kernel lines out of the TAP
	echo "PVX-TAP-BEGIN"
	echo "TAP version 13"
	echo "1..$n"
	cat "$TAP"
	echo "PVX-TAP-END"
	sync
	poweroff -f
}

# run_test LABEL: pvx_guest_test's results, renumbered into this stream
run_test() {
	label=$1
	"$TEST" "--expect-$mode" >/tmp/test.out 2>&1
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok "[0-9]* | "not ok "[0-9]*)
			res=${line%% [0-9]*}
			rest=${line#"$res" }
			rest=${rest#* }
			n=$((n + 1))
			echo "$res $n $label: $rest" >>"$TAP" ;;
		"#"*) echo "$line" >>"$TAP" ;;
		esac
	done </tmp/test.out
	case $rc in
	0) ok "$label exits 0" ;;
	4) ok "$label exits 4 # SKIP every test skipped" ;;
	*) not_ok "$label exits $rc # $(grep -v '^ok\|^not ok\|^#\|^1\.\.\|^TAP' /tmp/test.out | head -n1)" ;;
	esac
}

mode=
read -r cmdline </proc/cmdline
for w in $cmdline; do
	case "$w" in pvx_expect=*) mode=${w#pvx_expect=} ;; esac
done
case "$mode" in
host) want='pvx_guest: host pvx ABI ' ;;
fallback) want='pvx_guest: host has no pvx ' ;;
*)
	not_ok "kernel command line has pvx_expect=host or pvx_expect=fallback # got '$mode'"
	finish ;;
esac
diag "L3 guest: kernel $(uname -r), expecting $mode, uptime $(cut -d' ' -f1 /proc/uptime) s"

# 1. first load
if ! insmod "$KO" >/tmp/insmod.out 2>&1; then
	not_ok "insmod pvx_guest.ko # $(head -n1 /tmp/insmod.out)"
	dmesg | grep pvx_guest | sed 's/^/# dmesg: /' >>"$TAP"
	finish
fi
ok "insmod pvx_guest.ko"
dmesg | grep pvx_guest | sed 's/^/# dmesg: /' >>"$TAP"
if cd /sys/kernel/pvx 2>/dev/null; then
	for f in * features/* stats/*; do
		[ -f "$f" ] && diag "/sys/kernel/pvx/$f: $(cat "$f")"
	done
	cd /
fi
c=$(host_lines)
if [ "$c" = 1 ] && dmesg | grep -q "$want"; then
	ok "dmesg says once what the host offers ('$want')"
else
	not_ok "dmesg says once what the host offers ('$want') # $c 'pvx_guest: host' lines"
fi

# 2. the behaviour tests
run_test pvx_guest_test

# 3. unload: refused while /dev/pvx is open, clean afterwards
# (a subshell: a failed redirection must not end /init)
if (exec 3</dev/pvx && ! rmmod pvx_guest) >/dev/null 2>&1; then
	ok "rmmod refused while /dev/pvx is open"
else
	not_ok "rmmod refused while /dev/pvx is open"
fi
check "rmmod pvx_guest" rmmod pvx_guest
check "/sys/kernel/pvx and /dev/pvx gone after rmmod" unloaded

# 4. load again: probes again, says so again, works the same
check "insmod pvx_guest.ko again" insmod "$KO"
c=$(host_lines)
if [ "$c" = 2 ]; then
	ok "second load says it once more"
else
	not_ok "second load says it once more # $c 'pvx_guest: host' lines in total"
fi
run_test "pvx_guest_test after reload"
check "rmmod pvx_guest again" rmmod pvx_guest
check "clean after second rmmod" unloaded

finish
