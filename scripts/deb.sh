#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb: Debian 12 packages of pvx in build/deb/, without debhelper.
#
#   deb.sh           build/deb/pvx-dkms_VERSION_all.deb: the module sources
#                    for DKMS, which builds and installs the modules for the
#                    running kernel and again for every kernel installed later;
#                    build/deb/pvx-tools_VERSION_ARCH.deb: pvxtop and libpvx
#                    (what make tools_install and make lib_install install)
#   deb.sh missing   print one line naming the first tool make deb lacks,
#                    or nothing (the Makefile turns it into its error)
#
# VERSION is dkms.conf's PACKAGE_VERSION, the one version of pvx. Only
# build/deb/ is written; its stage/debian/PACKAGE/ keeps the trees the
# packages hold (debhelper's layout, which dpkg-shlibdeps expects).
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "deb.sh: $*" >&2; exit 2; }

# The first thing missing, as one line; pvxtop's Makefile words its own.
missing() {
	local why
	why=$(make -s --no-print-directory -C tools/pvxtop check-tools 2>/dev/null) ||
		{ echo "${why:-pvxtop cannot be built}"; return; }
	command -v dpkg-shlibdeps >/dev/null ||
		{ echo "dpkg-shlibdeps not found (dpkg-dev; make deps installs it)"; return; }
	# the package holds the tracked sources, never build products
	git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
		{ echo "not a git checkout (the package takes git's tracked files)"; return; }
}
if [ "${1:-}" = missing ]; then
	missing
	exit 0
fi
[ $# -eq 0 ] || die "unknown argument '$1' (usage: deb.sh [missing])"
why=$(missing)
[ -z "$why" ] || die "$why"

conf() { sed -n "s/^$1=\"\\(.*\\)\"\$/\\1/p" dkms.conf; }
name=$(conf PACKAGE_NAME)
version=$(conf PACKAGE_VERSION)
[ "$name" = pvx ] || die "dkms.conf: PACKAGE_NAME is '$name', not pvx"
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || die "dkms.conf: PACKAGE_VERSION '$version' is not a Debian version"
arch=$(dpkg --print-architecture)
out=$PWD/build/deb
stage=$out/stage
rm -rf "$stage" "$out"/*.deb
mkdir -p "$stage/debian"
# modes in the packages do not depend on the caller's umask
umask 022
# dates from the commit, so that two builds of one commit are alike
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
export SOURCE_DATE_EPOCH
# Debian's Maintainer convention (DEBFULLNAME, DEBEMAIL), else whoever
# last set the version in dkms.conf
if [ -n "${DEBFULLNAME:-}" ] && [ -n "${DEBEMAIL:-}" ]; then
	maintainer="$DEBFULLNAME <$DEBEMAIL>"
else
	maintainer=$(git log -1 --format='%an <%ae>' -- dkms.conf)
fi

# doc_files PKG ROOT: what Debian policy wants in every package's doc
# directory: the copyright file and a changelog (changelog.gz: a version
# without a Debian revision is a native package's)
first=$(git log --reverse --format=%cd --date=format:%Y | sed -n 1p)
last=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
years=$first
[ "$last" = "$first" ] || years=$first-$last
doc_files() {
	local doc=$2/usr/share/doc/$1
	mkdir -p "$doc"
	cat >"$doc/copyright" <<-EOF
	Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
	Upstream-Name: pvx

	Files: *
	Copyright: $years the pvx authors
	License: GPL-2
	 The uapi header is GPL-2.0 WITH Linux-syscall-note.
	 .
	 On Debian systems the full text of the GNU General Public License
	 version 2 is in /usr/share/common-licenses/GPL-2.
	EOF
	{
		printf '%s (%s) unstable; urgency=medium\n\n' "$name" "$version"
		printf '  * Built by make deb from git %s.\n\n' "$(git describe --always --dirty)"
		printf ' -- %s  %s\n' "$maintainer" "$(date -R -d "@$SOURCE_DATE_EPOCH")"
	} | gzip -9n >"$doc/changelog.gz"
}

# build_deb PKG ARCH ROOT CONTROL-FIELDS: DEBIAN/control (the fields every
# package has, then CONTROL-FIELDS), DEBIAN/md5sums, then the .deb
build_deb() {
	local pkg=$1 pkg_arch=$2 root=$3 fields=$4 size
	mkdir -p "$root/DEBIAN"
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	{
		printf 'Package: %s\nSource: %s\nVersion: %s\nArchitecture: %s\n' \
			"$pkg" "$name" "$version" "$pkg_arch"
		printf 'Maintainer: %s\nInstalled-Size: %s\n%s\n' "$maintainer" "$size" "$fields"
	} >"$root/DEBIAN/control"
	(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
		LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
	dpkg-deb --root-owner-group --build "$root" \
		"$out/${pkg}_${version}_$pkg_arch.deb" >/dev/null
}

# --- pvx-dkms: the sources dkms.conf's MAKE builds, nothing else ----------------
root=$stage/debian/pvx-dkms
src=$root/usr/src/$name-$version
mkdir -p "$src"
git ls-files -z -- Kbuild Makefile dkms.conf LICENSE host guest uapi ':(exclude)guest/libpvx' |
	xargs -0 cp --parents -t "$src"
doc_files pvx-dkms "$root"
# The maintainer scripts do what dh_dkms's do through dkms's
# common.postinst, reduced to what pvx needs: add the sources, build and
# install for the running kernel and the newest installed one (a kernel
# installed but not yet booted); later kernels get the modules from
# dkms's own kernel hooks (AUTOINSTALL in dkms.conf).
mkdir -p "$root/DEBIAN"
script_head() { printf '#!/bin/sh\n# pvx-dkms %s (scripts/deb.sh)\nset -e\nNAME=%s\nVERSION=%s\n' "$1" "$name" "$version"; }
# (the scripts' bodies stand at the left margin: a here-document keeps
# their tabs)
{
	script_head postinst
	cat <<'EOF'
case "$1" in
configure)
	# a reinstall of this version starts from the newly unpacked sources
	if [ -n "$(dkms status -m "$NAME" -v "$VERSION")" ]; then
		dkms remove -m "$NAME" -v "$VERSION" --all
	fi
	dkms add -m "$NAME" -v "$VERSION"
	running=$(uname -r)
	newest=$(ls -v /lib/modules 2>/dev/null | tail -n 1)
	for kernel in $(printf '%s\n' "$running" "$newest" | sort -u); do
		if [ -e "/lib/modules/$kernel/build/include" ]; then
			# fails, and with it the package, where the modules
			# refuse to build (PREEMPT_RT); dkms names the log
			dkms build -m "$NAME" -v "$VERSION" -k "$kernel"
			dkms install -m "$NAME" -v "$VERSION" -k "$kernel"
		else
			echo "pvx-dkms: no headers for kernel $kernel (linux-headers-$kernel); DKMS builds pvx when they are installed"
		fi
	done
	;;
esac
exit 0
EOF
} >"$root/DEBIAN/postinst"
{
	script_head prerm
	cat <<'EOF'
case "$1" in
remove|upgrade|deconfigure)
	if [ -n "$(dkms status -m "$NAME" -v "$VERSION")" ]; then
		dkms remove -m "$NAME" -v "$VERSION" --all
	fi
	;;
esac
exit 0
EOF
} >"$root/DEBIAN/prerm"
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
build_deb pvx-dkms all "$root" "Depends: dkms
Suggests: pvx-tools
Section: kernel
Priority: optional
Description: pvx: paravirtual extensions for KVM as loadable modules (DKMS)
 Kernel modules that add paravirtual cooperation between a KVM host and its
 Linux guests on stock distribution kernels: directed yield, NUMA locality
 hints, batched fork-copy and KSM candidate hints on the host (pvx_host and
 its feature modules), pv spinlocks, steal-time-corrected timers and the
 matching hints in the guest (pvx_guest and its feature modules).
 .
 This package holds the sources; DKMS builds the modules for every
 installed kernel whose headers are installed. PREEMPT_RT kernels are not
 supported."

# --- pvx-tools: make tools_install and make lib_install into a staging root -----
root=$stage/debian/pvx-tools
# Built afresh in stage/ (not build/pvxtop, build/libpvx): libpvx.pc holds
# the PREFIX of its build, and the package's is /usr. Debian's hardening
# flags, as a package built with dpkg-buildpackage would have them.
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
LDFLAGS=$(dpkg-buildflags --get LDFLAGS) \
	make -s --no-print-directory lib_install tools_install DESTDIR="$root" PREFIX=/usr \
	LIBPVX_OUT="$stage/libpvx" PVXTOP_OUT="$stage/pvxtop"
so=$(basename "$(ls "$root"/usr/lib/libpvx.so.*.*)")
# what dh_strip does: the debug information goes (Debian ships it in
# -dbgsym packages; make tools keeps it in build/pvxtop)
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$root/usr/sbin/pvxtop" "$root/usr/lib/$so"
strip --strip-debug --enable-deterministic-archives "$root/usr/lib/libpvx.a"
# and what dh_fixperms does: a shared library is not a program
chmod 0644 "$root/usr/lib/$so"
gzip -9n "$root/usr/share/man/man3/libpvx.3"
doc_files pvx-tools "$root"
for f in pvxtop libpvx tuning; do
	gzip -9n <"Documentation/$f.rst" >"$root/usr/share/doc/pvx-tools/$f.rst.gz"
done
# Depends: the packages of the libraries pvxtop and libpvx.so are linked
# against (their NEEDED entries; libbpf1 brings libelf1 and zlib1g).
# dpkg-shlibdeps wants a debian/control to read, and the binaries in a
# tree with a DEBIAN directory.
mkdir -p "$root/DEBIAN"
printf 'Source: %s\n\nPackage: pvx-tools\nArchitecture: any\n' "$name" >"$stage/debian/control"
depends=$(cd "$stage" &&
	dpkg-shlibdeps -O -edebian/pvx-tools/usr/sbin/pvxtop -e"debian/pvx-tools/usr/lib/$so" 2>"$stage/shlibdeps.log" |
	sed -n 's/^shlibs:Depends=//p') || true
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies: $(grep -m1 error "$stage/shlibdeps.log")"
# libpvx.so.1 for other packages' dpkg-shlibdeps, and ld.so.cache updated
# on install and removal (what dh_makeshlibs adds)
soname=$(readelf -d "$root/usr/lib/$so" | sed -n 's/.*(SONAME).*\[\(.*\)\.so\.\([0-9]*\)\]/\1 \2/p')
echo "$soname pvx-tools (>= $version)" >"$root/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$root/DEBIAN/triggers"
build_deb pvx-tools "$arch" "$root" "Depends: $depends
Suggests: pvx-dkms
Section: admin
Priority: optional
Description: pvx: paravirtual extensions for KVM, pvxtop and libpvx
 pvxtop, a libbpf tool, shows live what the pvx modules decide, per VM and
 vCPU on a host, per CPU in a guest, and with --advise which knob to turn.
 .
 libpvx, for programs in a pvx guest: a futex mutex whose waiters direct a
 yield at a preempted holder's vCPU, and pvx_fork(), whose child's memory
 the host copies in batches. Header, shared and static library,
 pkg-config file and man page."

for f in "$out"/*.deb; do
	echo "${f#"$PWD"/}"
done
