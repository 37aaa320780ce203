#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ktap-nest.sh N DESCRIPTION FILE [STATUS]: FILE's TAP stream as subtest N
# of the stream around it, the way the kernel's run_kselftest.sh nests a
# program's output: each line with "# " in front, then the subtest's own
# result line. Its result is STATUS's when given (an exit status: 0 ok,
# 4 skipped, anything else failed), else what FILE's tests add up to
# (tap-count.sh): failed if any failed or none ran, skipped if all skipped.
set -u
n=$1 desc=$2 file=$3
here=$(dirname "$0")
sed 's/^/# /' "$file"
if [ $# -ge 4 ]; then
	case "$4" in
	0) echo "ok $n $desc" ;;
	4) echo "ok $n $desc # SKIP all its tests skipped" ;;
	*) echo "not ok $n $desc # exit $4" ;;
	esac
	exit 0
fi
counts=$("$here/tap-count.sh" "$file")	# (L2's chroot has no /dev/fd)
read -r pass fail skip <<<"$counts"
if [ "$fail" -gt 0 ]; then
	echo "not ok $n $desc # $fail failed"
elif [ "$pass" -eq 0 ] && [ "$skip" -gt 0 ]; then
	echo "ok $n $desc # SKIP all $skip skipped"
elif [ "$pass" -eq 0 ]; then
	echo "not ok $n $desc # no test ran"
else
	echo "ok $n $desc"
fi
