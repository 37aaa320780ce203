#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tap-count.sh FILE...: print "PASSED FAILED SKIPPED" for the top-level test
# lines of kselftest TAP streams. A skip is never a pass; "not ok ... # SKIP"
# counts as a skip as kselftest does, "# TODO" as a failure. A stream
# whose plan is "1..0" (a suite that skipped as a whole, kselftest's
# "1..0 # SKIP reason") is one skip: it ran nothing, and that is seen.
exec awk '
/^1\.\.0([^0-9]|$)/ { skip++; next }
/^ok [0-9]+/ {
	if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) skip++; else pass++
	next
}
/^not ok [0-9]+/ {
	if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) skip++; else fail++
	next
}
/^Bail out!/ { fail++ }
END { printf "%d %d %d\n", pass, fail, skip }
' "$@"
