#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# manifest.sh KIND...: the names of the manifest's entries of those kinds
# (the file "manifest" at the top of the repository), one per line, in
# the manifest's order.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: manifest.sh KIND..." >&2; exit 2; }
awk -v kinds=" $* " '!/^#/ && NF == 3 && index(kinds, " " $2 " ") { print $1 }' \
	"$(dirname "$0")/../manifest"
