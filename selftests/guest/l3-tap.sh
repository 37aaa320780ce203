# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# l3-tap.sh: an L3 guest's TAP off its console log. Sourced by run-l3.sh;
# scripts/check.sh tests it on made-up logs.
#
# init.sh's finish sends the TAP compressed: the line
# "PVX-TAP-GZ-BEGIN lines=N", N lines of base64 of its gzip, the line
# "PVX-TAP-GZ-END". Each byte on L3's UART is an exit to L2's QEMU, and
# gzip and base64 make a boot's 70 KB of TAP a quarter of that.

# tap_decode CONSOLE OUT: the TAP of the block in CONSOLE (no carriage
# returns) into OUT. Lines that are not base64 (a message on a line of
# its own) are left out; the block is good when gunzip, whose CRC covers
# every byte, takes what is left. Otherwise prints what arrived: how many
# lines of how many sent, the first foreign line, what gunzip said and how
# many TAP results came out before it stopped. Leaves OUT.b64 and OUT.err.
tap_decode() {
	local c=$1 out=$2 want got bad
	sed -n '/PVX-TAP-GZ-BEGIN/,/PVX-TAP-GZ-END$/p' "$c" | sed '1d;$d' >"$out.b64"
	grep -a '^[A-Za-z0-9+/=]*$' "$out.b64" | base64 -d 2>/dev/null |
		gunzip >"$out" 2>"$out.err" && return 0
	want=$(grep -a -o 'PVX-TAP-GZ-BEGIN lines=[0-9]*' "$c" | head -n1 | sed 's/.*=//')
	got=$(grep -ac '^[A-Za-z0-9+/=]*$' "$out.b64")
	bad=$(grep -a -n -v -m1 '^[A-Za-z0-9+/=]*$' "$out.b64" | tr -cd '[:print:]' | cut -c1-100)
	printf '%s base64 lines of %s sent' "$got" "${want:-?}"
	[ -n "$bad" ] && printf ', first foreign line %s' "$bad"
	printf ', gunzip: %s' "$(head -c 120 "$out.err" | tr '\n' ' ')"
	printf ', %s TAP results decoded before it stopped' "$(grep -ac '^ok \|^not ok ' "$out")"
	return 1
}

# tap_check LOG: succeeds when the console log LOG holds no compressed
# TAP block or one that decodes; otherwise prints why it does not
tap_check() {
	local c=$1.check rc=0
	tr -d '\r' <"$1" >"$c"
	if grep -aq 'PVX-TAP-GZ-END$' "$c" && ! tap_decode "$c" "$c.tap"; then
		rc=1
	fi
	rm -f "$c" "$c.tap" "$c.tap.b64" "$c.tap.err"
	return $rc
}

# tap_lost LOG: succeeds when the console log LOG holds no end of a TAP
# block (plain or compressed) and prints what it holds after its last
# step line. For a boot that ended by itself (QEMU exit 0, no reset): a
# 6.12 L3 powered off with nothing on its console after its last step
# (seen in CI), which run-l3.sh boots again like a block that was cut.
tap_lost() {
	local c=$1.lost after
	tr -d '\r' <"$1" >"$c"
	if grep -aq 'PVX-TAP-\(GZ-\)\?END$' "$c"; then
		rm -f "$c"
		return 1
	fi
	# shellcheck disable=SC2016 # sed, not shell, expressions
	after=$(sed -n '/^pvx-l3: /h;/^pvx-l3: /!H;${x;p}' "$c" | sed 1d | wc -c)
	printf 'no TAP block: it powered off with %s bytes of console after its last step [%s]' \
		"$after" "$(grep -a '^pvx-l3: ' "$c" | tail -n1 | tr -cd '[:print:]')"
	rm -f "$c"
	return 0
}

# console_text LOG KEEP: the console log LOG without carriage returns, its
# compressed TAP written out as the plain PVX-TAP-BEGIN ... PVX-TAP-END
# block. A block that does not decode stays out, so that the boot reports
# its TAP missing; its lines are kept in KEEP and why in tap_why (call it
# in the caller's shell, not in a pipeline).
console_text() {
	local c=$1.crlf
	tr -d '\r' <"$1" >"$c"
	if grep -aq 'PVX-TAP-GZ-END$' "$c"; then
		sed -n '/PVX-TAP-GZ-BEGIN/q;p' "$c"
		if tap_decode "$c" "$c.tap" >"$c.why"; then
			echo "PVX-TAP-BEGIN"
			cat "$c.tap"
			echo "PVX-TAP-END"
		else
			# shellcheck disable=SC2034 # read by the caller
			tap_why=$(cat "$c.why")
			cp "$c.tap.b64" "$2"
		fi
		sed '1,/PVX-TAP-GZ-END$/d' "$c"
	else
		cat "$c"
	fi
	rm -f "$c" "$c.tap" "$c.why" "$c.tap.b64" "$c.tap.err"
}
