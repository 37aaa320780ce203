# SPDX-License-Identifier: GPL-2.0
#
# The kernel's kselftest files, taken from the linux-source-6.12 package
# (make deps) into $(KSFT_DIR) the first time anything needs them, one
# unpacking of the tarball for all (never copied into the repository):
# kselftest.h and kselftest_harness.h for the test programs,
# run_kselftest.sh and its kselftest/ helpers for make install.
# Included by the test programs' Makefiles after they set OUT.
KSFT_TAR ?= /usr/src/linux-source-6.12.tar.xz
KSFT_DIR ?= $(OUT)/ksft
KSFT_RUNNER := run_kselftest.sh kselftest/runner.sh kselftest/prefix.pl \
	       kselftest/module.sh kselftest/ktap_helpers.sh kselftest/ksft.py
KSFT_FILES := kselftest.h kselftest_harness.h $(KSFT_RUNNER)
KSFT_STAMP := $(KSFT_DIR)/.unpacked
# the includer's first target stays its default goal
ksft_goal := $(.DEFAULT_GOAL)

$(addprefix $(KSFT_DIR)/,$(KSFT_FILES)): $(KSFT_STAMP)

$(KSFT_STAMP):
	@if [ ! -f $(KSFT_TAR) ]; then \
		echo "selftests: no $(KSFT_TAR) for the kernel's kselftest files (run: make deps)" >&2; \
		exit 2; fi
	@mkdir -p $(KSFT_DIR)
	tar -xf $(KSFT_TAR) -C $(KSFT_DIR) --strip-components=4 --wildcards \
		$(foreach f,$(KSFT_FILES),'*/tools/testing/selftests/$(f)')
	@touch $@

.DEFAULT_GOAL := $(ksft_goal)
