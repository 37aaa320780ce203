# SPDX-License-Identifier: GPL-2.0
#
# pvx: paravirtual extensions for KVM as loadable modules.
#
#   make                build host/ and guest/ modules against KDIR, and
#                       pvxtop when clang, bpftool and libbpf-dev are there
#   make deps           install everything the project needs (apt-get)
#   make check          build for 6.1 and 6.12, run the tests: every lab
#                       suite on 6.12, every module and feature on 6.1
#   make check-full     make check with every lab suite on both kernels
#   make check-newest   the lab suites tinyvm and upstream on Debian
#                       sid's newest kernel (7.2); .ci/run runs it after
#                       check
#   make demo           boot the nested lab, show host and guest talking
#   make bench          run the benchmarks in the nested lab
#   make install        install the modules for KDIR (modules_install),
#                       libpvx (lib_install) and pvxtop (tools_install)
#   make lib            build libpvx, the userspace lock (build/libpvx/)
#   make lib_install    install libpvx: header, .a, .so, libpvx.pc, man page
#                       under $(DESTDIR)$(PREFIX) (PREFIX default /usr)
#   make tools          build pvxtop, the libbpf tool (build/pvxtop/); fails
#                       with one line when clang, bpftool or libbpf-dev
#                       is missing (make deps installs them)
#   make tools_install  install pvxtop under $(DESTDIR)$(PREFIX)/sbin
#   make deb            Debian packages in build/deb/, from debian/
#                       (debhelper, dh-dkms): pvx-dkms (the module
#                       sources; DKMS builds and installs them for every
#                       kernel) and pvx-tools (pvxtop, libpvx); fails with
#                       one line when a tool it needs is missing
#   make clean

# Default KDIR: the running kernel's build tree, else the newest Debian
# headers installed under /usr/src, else the newest kernel make deps put
# into the project's cache. Headers of -rt flavours are never a default
# (pvx refuses to build for PREEMPT_RT, README), nor are those of Debian
# sid's newest kernel: they live in the sid build root
# ($(PVX_CACHE)/sid-root, not matched here) and build only inside it
# (scripts/build.sh ABI, Documentation/kernels.rst).
PVX_CACHE ?= /var/cache/pvx
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	  $(filter-out %-rt-amd64,$(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -rV)) \
	  $(filter-out %-rt-amd64,$(shell ls -d $(PVX_CACHE)/kernels/*/usr/src/linux-headers-*-amd64 2>/dev/null | sort -rV)))

SERIES ?= 6.12

.PHONY: all modules kdir-check deps check check-full check-newest demo bench install modules_install \
	lib lib_install lib_uninstall tools tools_install tools_uninstall \
	tools-if-possible deb selftests clean

# pvxtop after the modules, so a refusal of KDIR stays the only output
all: modules
	@$(MAKE) -s --no-print-directory tools-if-possible

# $(error) in a recipe stops make with exactly one line, and only for the
# targets that need headers (make deps must work before they exist).
kdir-check:
	$(if $(KDIR),,$(error pvx: no kernel headers found; run 'make deps' or pass KDIR=/path/to/headers))
	$(if $(wildcard $(KDIR)/Makefile),$(if $(wildcard $(KDIR)/Module.symvers),,$(error pvx: KDIR=$(KDIR) is not a configured kernel build tree (no Module.symvers))),$(error pvx: KDIR=$(KDIR) is not a configured kernel build tree (no Makefile)))
	$(if $(shell grep -sx CONFIG_PREEMPT_RT=y $(KDIR)/include/config/auto.conf),$(error pvx: PREEMPT_RT kernels are not supported (KDIR=$(KDIR)); build for the non-rt flavour))

modules: kdir-check
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

install: modules_install lib_install tools_install

modules_install: kdir-check
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

# libpvx (guest/libpvx/, Documentation/libpvx.rst); DESTDIR and PREFIX
# are passed on from the command line or the environment; LIBPVX_OUT and
# PVXTOP_OUT are where they are built (make deb builds its own copies)
LIBPVX_OUT ?= $(CURDIR)/build/libpvx
LIBPVX_MAKE = $(MAKE) -C guest/libpvx OUT=$(LIBPVX_OUT)

lib:
	$(LIBPVX_MAKE)

lib_install:
	$(LIBPVX_MAKE) install

lib_uninstall:
	$(LIBPVX_MAKE) uninstall

# pvxtop (tools/pvxtop/, Documentation/pvxtop.rst)
PVXTOP_OUT ?= $(CURDIR)/build/pvxtop
PVXTOP_MAKE = $(MAKE) -C tools/pvxtop OUT=$(PVXTOP_OUT)

tools:
	$(PVXTOP_MAKE)

# make: a machine without the BPF toolchain still builds the modules
tools-if-possible:
	@if $(PVXTOP_MAKE) -s --no-print-directory check-tools >/dev/null 2>&1; then $(PVXTOP_MAKE); \
	else echo "pvxtop: not built ($$($(PVXTOP_MAKE) -s --no-print-directory check-tools 2>/dev/null))"; fi

tools_install:
	$(PVXTOP_MAKE) install

tools_uninstall:
	$(PVXTOP_MAKE) uninstall

# Debian packages: debian/ (debhelper, dh-dkms), built by dpkg-buildpackage
# in a copy of git's tracked files, build/deb/src/pvx (it writes the .debs
# to the tree's parent; only build/ is written), its log in build/deb/.
# A missing tool stops make with one line, as kdir-check does: pvxtop's
# own (check-tools), then dpkg-dev, then debian/control's Build-Depends.
DEB_MISSING = $(or $(shell $(PVXTOP_MAKE) -s --no-print-directory check-tools 2>/dev/null),\
	$(if $(shell command -v dpkg-buildpackage),,dpkg-buildpackage not found (dpkg-dev; make deps installs it)),\
	$(shell dpkg-checkbuilddeps 2>&1 | sed -n 's/^dpkg-checkbuilddeps: error: \(.*\)/\1 (make deps installs them)/p'),\
	$(if $(shell git rev-parse --is-inside-work-tree 2>/dev/null),,not a git checkout (the package takes git's tracked files)))

deb:
	$(if $(DEB_MISSING),$(error pvx: make deb: $(DEB_MISSING)))
	@rm -rf build/deb && mkdir -p build/deb/src/pvx
	@umask 022 && git ls-files -z | tar --null -T - -cf - | tar -xf - -C build/deb/src/pvx && \
		(cd build/deb/src/pvx && dpkg-buildpackage -b -us -uc) >build/deb/build.log 2>&1 || \
		{ tail -n 5 build/deb/build.log; echo "pvx: make deb: failed, see build/deb/build.log"; exit 1; }
	@mv build/deb/src/*.deb build/deb/
	@ls build/deb/*.deb

deps:
	@scripts/deps.sh

selftests:
	$(MAKE) -C selftests

check:
	@scripts/check.sh

check-full:
	@PVX_CHECK_FULL=1 scripts/check.sh

check-newest:
	@scripts/check-newest.sh

demo:
	@scripts/lab.sh --kernel $(SERIES) --tests demo

bench:
	@scripts/bench.sh

# dkms.conf's CLEAN runs this in the DKMS sources, which have no
# selftests/ (make deb)
clean:
	@if [ -n "$(KDIR)" ] && [ -f "$(KDIR)/Makefile" ]; then \
		$(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	@if [ -d selftests ]; then $(MAKE) -C selftests clean; fi
	rm -rf build
