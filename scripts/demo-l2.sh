#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# (placeholder while the demo is written)
echo "TAP version 13"
echo "1..2"
[ -e /dev/kvm ] && echo "ok 1 L2 has /dev/kvm" || echo "not ok 1 L2 has /dev/kvm"
grep -q '^kvm_amd ' /proc/modules && echo "ok 2 kvm_amd loaded in L2" || echo "not ok 2 kvm_amd loaded"
uname -a | sed 's/^/# /'
ls /sys/kernel/debug | head -5 | sed 's/^/# /'
