#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# libpvx-check.sh WORKDIR: make check's libpvx section (TAP 13 on stdout).
# Builds libpvx (guest/libpvx) into WORKDIR, checks its ABI (exported
# symbols, soname, version script), installs it with DESTDIR, builds and
# runs a program against the installed copy through pkg-config (shared and
# static), uninstalls, then runs selftests/libpvx/libpvx_test natively:
# mutual exclusion and fairness with more threads than CPUs, robustness
# (a holder that exits, signals during the wait, fork while held) and the
# fallback (no /dev/pvx here). Exit 0 when nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
w=${1:?usage: libpvx-check.sh WORKDIR}
rm -rf "$w"
mkdir -p "$w"
w=$(cd "$w" && pwd)
lib=$w/build root=$w/root
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $*"; }
check() { # check DESCRIPTION COMMAND...: ok when COMMAND succeeds
	local d=$1
	shift
	if "$@" >>"$w/log" 2>&1; then ok "$d"; else not_ok "$d # see $w/log"; fi
}
echo "TAP version 13"

# the exported API: exactly what libpvx.map lists, all pvx_, each in the
# version node the map puts it in (LIBPVX_1.0, LIBPVX_1.1, ...)
ver=$(sed -n 's/^VERSION := //p' guest/libpvx/Makefile)
so=libpvx.so.$ver
api=$(awk '/^LIBPVX_[0-9.]+ *[{]/ { node = $1 }
	/^[[:space:]]*pvx_[a-z_]*;$/ { s = $1; sub(/;$/, "", s); print s "@@" node }' \
	guest/libpvx/libpvx.map | sort)
if ! make -s -C guest/libpvx OUT="$lib" >"$w/build.log" 2>&1; then
	not_ok "libpvx builds with -Wall -Wextra -Werror # see $w/build.log"
	echo "1..$n"
	exit 1
fi
ok "libpvx $ver builds with -Wall -Wextra -Werror (static and shared)"
dyn=$(nm -D --defined-only "$lib/$so" | awk '$2 == "T" { print $3 }' | sort)
if [ -n "$api" ] && [ "$dyn" = "$api" ]; then
	ok "libpvx.so exports exactly the $(wc -l <<<"$api") pvx_ functions of libpvx.map, each in its version node ($(cut -d@ -f3 <<<"$api" | sort -u | tr '\n' ' '| sed 's/ $//'))"
else
	not_ok "libpvx.so exports exactly the pvx_ functions of libpvx.map, each in its version node # exports: $(tr '\n' ' ' <<<"$dyn")"
fi
other=$(nm -D --defined-only "$lib/$so" | awk '$2 != "A" && $3 !~ /^pvx_/ { print $3 }')
sother=$(nm -g --defined-only "$lib/libpvx.a" | awk 'NF == 3 && $3 !~ /^pvx_/ { print $3 }')
if [ -z "$other$sother" ]; then
	ok "no symbol outside the pvx_ prefix in libpvx.so and libpvx.a"
else
	not_ok "no symbol outside the pvx_ prefix # $(tr "\n" " " <<<"$other $sother")"
fi
if [ "$(readelf -d "$lib/$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" = libpvx.so.1 ]; then
	ok "soname libpvx.so.1"
else
	not_ok "soname libpvx.so.1 # $(readelf -d "$lib/$so" | grep SONAME)"
fi
for h in pvx_lock.h pvx_fork.h; do
	check "$h compiles alone as C99 (-pedantic) and as C++" bash -c "
		printf '#include <$h>\nint main(void) { return 0; }\n' >'$w/h.c' &&
		cc -std=c99 -pedantic -Wall -Wextra -Werror -Iguest/libpvx -c -o '$w/h.o' '$w/h.c' &&
		{ ! command -v c++ >/dev/null || c++ -x c++ -Wall -Wextra -Werror -Iguest/libpvx -c -o '$w/hpp.o' '$w/h.c'; }"
done
check "pvx_lock.h and pvx_fork.h together, used from C99" bash -c "
	printf '#include <pvx_lock.h>\n#include <pvx_fork.h>\nint main(void) { pvx_lock_t l = PVX_LOCK_INITIALIZER; struct pvx_fork_range r = { &l, sizeof(l) }; (void)r; return pvx_lock_trylock(&l); }\n' >'$w/h.c' &&
	cc -std=c99 -pedantic -Wall -Wextra -Werror -Iguest/libpvx -c -o '$w/h.o' '$w/h.c'"

# installed with DESTDIR, used through pkg-config
if make -s -C guest/libpvx OUT="$lib" DESTDIR="$root" PREFIX=/usr install >"$w/install.log" 2>&1; then
	ok "make install with DESTDIR and PREFIX"
else
	not_ok "make install with DESTDIR and PREFIX # see $w/install.log"
fi
missing=
for f in usr/include/pvx_lock.h usr/include/pvx_fork.h usr/include/pvx.h usr/lib/libpvx.a usr/lib/$so usr/lib/libpvx.so.1 \
	usr/lib/libpvx.so usr/lib/pkgconfig/libpvx.pc usr/share/man/man3/libpvx.3; do
	[ -e "$root/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then
	ok "installed: headers, static and shared library with soname links, pkg-config file, man page"
else
	not_ok "installed: header, libraries, pkg-config file, man page # missing:$missing"
fi
# the installed uapi header alone: what a program that calls the ioctls
# itself (a crypto library protecting its keys) includes
check "the installed uapi header pvx.h compiles alone as C99 and names PVX_IOC_KSM_PROTECT" bash -c "
	printf '#include <pvx.h>\nint main(void) { struct pvx_ksm_protect_req r = { 0 }; (void)r; return (int)PVX_IOC_KSM_PROTECT == 0; }\n' >'$w/u.c' &&
	cc -std=c99 -pedantic -Wall -Wextra -Werror -I'$root/usr/include' -c -o '$w/u.o' '$w/u.c'"
pc() { PKG_CONFIG_PATH=$root/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root pkg-config "$@"; }
if [ "$(pc --modversion libpvx 2>&1)" = "$ver" ] && pc --exists libpvx; then
	ok "pkg-config finds libpvx $ver in the DESTDIR install"
else
	not_ok "pkg-config finds libpvx $ver # $(pc --modversion libpvx 2>&1)"
fi
cat >"$w/user.c" <<'PROG'
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pvx_fork.h>
#include <pvx_lock.h>

static pvx_lock_t lock = PVX_LOCK_INITIALIZER;

int main(void)
{
	struct pvx_fork_range r = { &lock, sizeof(lock) };
	int status;
	pid_t pid;

	if (pvx_lock_lock(&lock) || pvx_lock_unlock(&lock))
		return 1;
	pid = pvx_fork(&r, 1);
	if (pid == 0)
		_exit(7);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 7)
		return 1;
	printf("%s mode=%d\n", pvx_lib_version(), pvx_lib_mode());
	return 0;
}
PROG
# shellcheck disable=SC2046
check "a program builds with \$(pkg-config --cflags --libs libpvx) and runs on the installed libpvx.so.1" \
	bash -c "cc -Wall -Werror $(pc --cflags libpvx) -o '$w/user' '$w/user.c' $(pc --libs libpvx) &&
		LD_LIBRARY_PATH='$root/usr/lib' ldd '$w/user' | grep -q 'libpvx.so.1 => $root' &&
		LD_LIBRARY_PATH='$root/usr/lib' '$w/user' | grep -q '^libpvx $ver mode='"
check "a program links statically with \$(pkg-config --static --libs libpvx)" \
	bash -c "cc -static -Wall -Werror $(pc --cflags libpvx) -o '$w/user-static' '$w/user.c' $(pc --static --libs libpvx) &&
		'$w/user-static' | grep -q '^libpvx $ver mode='"
make -s -C guest/libpvx OUT="$lib" DESTDIR="$root" PREFIX=/usr uninstall >>"$w/log" 2>&1
left=$(find "$root" -type f -o -type l)
if [ -z "$left" ]; then
	ok "make uninstall removes every installed file"
else
	not_ok "make uninstall removes every installed file # left: $(tr "\n" " " <<<"$left")"
fi

# the lock itself (its TAP, renumbered into this stream)
# (kselftest.h: the selftests' one unpacking, selftests/ksft.mk)
if make -s -C selftests/libpvx OUT="$w" LIBOUT="$lib" KSFT_DIR="$PWD/build/selftests/ksft" \
	>"$w/test-build.log" 2>&1; then
	timeout -k 5 120 "$w/libpvx_test" >"$w/test.tap" 2>&1
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok "* | "not ok "*)
			n=$((n + 1))
			[ "${line#not }" != "$line" ] && fail=$((fail + 1))
			sed -E "s/^(not )?ok [0-9]+/\1ok $n libpvx_test:/" <<<"$line" ;;
		"#"*) [[ "$line" == "# Totals"* ]] || echo "$line" ;;
		esac
	done <"$w/test.tap"
	[ "$rc" = 0 ] || not_ok "libpvx_test exit status # $rc"
else
	not_ok "libpvx_test builds # see $w/test-build.log"
fi
echo "1..$n"
[ "$fail" = 0 ]
