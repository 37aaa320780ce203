#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tap-count.sh FILE...: print "PASSED FAILED SKIPPED" for the tests of
# nested KTAP streams, as the kernel's run_kselftest.sh nests them: a
# subtest's lines are its parent's lines with "# " in front, and the
# parent's own result line follows them. Leaves are counted (each check
# once, however deep); a parent only when it failed and none of its
# subtests did, so that no failure is hidden. A skip is never a pass;
# "not ok ... # SKIP" is a skip as kselftest has it, "# TODO" a failure.
# A top-level plan "1..0" (a stream that skipped as a whole) is one skip.
exec awk '
function result(d, line,    skip, bad) {
	skip = line ~ /# *[Ss][Kk][Ii][Pp]/
	bad = !skip && line ~ /^not ok/
	if (n[d + 1] > 0) {		# a parent: its subtests were counted
		if (bad && nbad[d + 1] == 0)
			fail++
		bad = bad || nbad[d + 1] > 0
		n[d + 1] = 0
		nbad[d + 1] = 0
	} else if (skip) {
		skipped++
	} else if (bad) {
		fail++
	} else {
		pass++
	}
	n[d]++
	if (bad)
		nbad[d]++
}
{
	line = $0
	d = 0
	while (substr(line, 1, 2) == "# ") {
		line = substr(line, 3)
		d++
	}
}
d == 0 && /^1\.\.0([^0-9]|$)/ { skipped++; next }
line ~ /^(not )?ok [0-9]+( |$)/ { result(d, line); next }
line ~ /^Bail out!/ { fail++ }
END { printf "%d %d %d\n", pass, fail, skipped }
' "$@"
