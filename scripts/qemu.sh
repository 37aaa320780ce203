#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The QEMU that runs the lab's L2 host: QEMU 10 from Debian's
# bookworm-backports, unpacked into the project's cache (the system's QEMU
# is left alone). QEMU 7.2 (Debian 12) oopses L2 under multi-threaded TCG
# and loses nested interrupts with 2 L2 CPUs under single-threaded TCG
# (Documentation/lab.rst); QEMU 10 runs a 2-CPU L2 with one TCG thread per
# vCPU.
#
#   qemu.sh fetch   download qemu-system-x86, -common, -data and seabios
#                   (the newest 10.x in bookworm-backports) with apt-get
#                   download and unpack them with dpkg -x into
#                   $PVX_CACHE/qemu/; prints the program to run
#   qemu.sh path    the program to run (fails when not fetched)
#
# The program is a two-line wrapper in the cache that adds -L for the
# unpacked firmware. The libraries QEMU 10 links against are Debian 12's
# own, installed by make deps with the system's qemu-system-x86.
set -euo pipefail

PVX_CACHE=${PVX_CACHE:-/var/cache/pvx}
QDIR=$PVX_CACHE/qemu
SERIES_RE='^1:10\.'

die() { echo "qemu.sh: $*" >&2; exit 2; }

wrapper() { echo "$QDIR/qemu-system-x86_64"; }

# The Debian mirror this machine's apt sources name for bookworm.
mirror() {
	apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
		awk '$2 == "bookworm" { print $1; exit }'
}

fetch() {
	local t m ver o tgt
	if [ -x "$(wrapper)" ] && "$(wrapper)" --version >/dev/null 2>&1; then
		wrapper
		return 0
	fi
	m=$(mirror)
	[ -n "$m" ] || die "no bookworm entry in this machine's apt sources"
	t=$(mktemp -d)
	chmod 755 "$t"
	mkdir -p "$t/lists/partial"
	echo "deb ${m%/} bookworm-backports main" >"$t/sources.list"
	o=(-o "Dir::Etc::sourcelist=$t/sources.list" -o Dir::Etc::sourceparts=-
	   -o "Dir::State::Lists=$t/lists" -o APT::Get::List-Cleanup=0)
	apt-get "${o[@]}" update -q >"$t/update.log" 2>&1 ||
		{ cat "$t/update.log" >&2; rm -rf "$t"; die "cannot read bookworm-backports from $m"; }
	ver=$(apt-cache "${o[@]}" madison qemu-system-x86 | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
	      grep -E "$SERIES_RE" | sort -rV | head -n1)
	[ -n "$ver" ] || { rm -rf "$t"; die "no qemu-system-x86 10.x in bookworm-backports"; }
	(cd "$t" && apt-get "${o[@]}" download -q "qemu-system-x86=$ver" \
		"qemu-system-common=$ver" "qemu-system-data=$ver" seabios/bookworm-backports 2>&1 |
		grep -v 'Download is performed unsandboxed' >&2) || true
	[ "$(ls "$t"/*.deb 2>/dev/null | wc -l)" = 4 ] ||
		{ rm -rf "$t"; die "could not download QEMU $ver from bookworm-backports"; }
	tgt=$QDIR.tmp
	rm -rf "$tgt"
	mkdir -p "$tgt"
	for d in "$t"/*.deb; do
		dpkg -x "$d" "$tgt/root"
	done
	rm -rf "$t"
	cat >"$tgt/qemu-system-x86_64" <<EOF
#!/bin/sh
exec $QDIR/root/usr/bin/qemu-system-x86_64 -L $QDIR/root/usr/share/seabios -L $QDIR/root/usr/share/qemu "\$@"
EOF
	chmod 755 "$tgt/qemu-system-x86_64"
	rm -rf "$QDIR"
	mv "$tgt" "$QDIR"
	"$(wrapper)" --version >/dev/null 2>&1 ||
		die "the unpacked QEMU does not run (missing libraries? ldd $QDIR/root/usr/bin/qemu-system-x86_64)"
	wrapper
}

[ $# -eq 1 ] || die "usage: qemu.sh fetch|path"
case "$1" in
fetch) fetch ;;
path)
	[ -x "$(wrapper)" ] || die "QEMU 10 is not in $QDIR (run: make deps)"
	wrapper ;;
*) die "unknown command '$1'" ;;
esac
