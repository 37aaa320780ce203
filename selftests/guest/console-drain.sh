# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# console-drain.sh: sourced by the L3 bench guest's /init
# (bench/init.sh), installed as /console-drain.sh by mkinitrd-bench.sh.
#
# console_drain: wait until ttyS0 has sent what was written to the
# console. A write to the console returns once its bytes are in the serial
# driver's buffer (up to 4 KB), which the emulated UART sends at about
# 0.6 ms a byte in the lab, and poweroff -f does not wait for it: the end
# of an L3's TAP was lost that way, with the kernel's "reboot: Power down"
# in the middle of its last line (7.2). The port's tx count
# (/proc/tty/driver/serial) grows while it sends and stands still once
# the buffer is empty; it must stand still for 1 s (an L3 vCPU can stall
# for tens of ms under TCG). At most 30 s; 3 s when there is no count.
console_drain() {
	local prev="" cur still=0 i=0

	while [ "$i" -lt 60 ]; do
		cur=$(sed -n 's/^0: .* tx:\([0-9]*\) .*/\1/p' /proc/tty/driver/serial 2>/dev/null)
		if [ -z "$cur" ]; then
			sleep 3
			return
		fi
		if [ "$cur" = "$prev" ]; then
			still=$((still + 1))
			[ "$still" -ge 2 ] && return
		else
			still=0
		fi
		prev=$cur
		sleep 0.5
		i=$((i + 1))
	done
}
