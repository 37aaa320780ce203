/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host tiny-VM test programs on the kernel's kselftest_harness.h:
 * what they share on top of it, and the one place that knows the
 * harness differs between linux-source 6.1 and 6.12. Only what both
 * versions have is used: TEST_F_TIMEOUT, SKIP, EXPECT_TRUE, TH_LOG,
 * ksft_print_msg() and the fixture list (6.1's test_harness_run() has
 * no -f to pick a fixture, and 6.1 still runs a test whose set-up
 * skipped: pvx_ready says whether it may run).
 *
 * A program's stages (run-l2.sh, numa-l2.sh: "absent", "abi", ...) are
 * its fixtures, one per module state or kind of tiny VM; each fixture's
 * tests are its behaviours. "PROG STAGE [ARGS]" runs one fixture's
 * tests, "PROG" all of them (run_kselftest.sh), where a fixture whose
 * state is not the host's skips with the reason.
 *
 * A test keeps the checks the program made before it moved to the
 * harness: each check is one line "# ok DESC" or "# not ok DESC" in the
 * test's output, a failed one fails the test (EXPECT_TRUE, logged), a
 * check that cannot be made ("# SKIP DESC: REASON") makes the test a
 * skip unless another check failed.
 */
#ifndef PVX_SELFTEST_HARNESS_H
#define PVX_SELFTEST_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"

/* per test: far beyond any test's run, as run-l2.sh's TINYVM_TIMEOUT */
#define PVX_TIMEOUT_S	900

/*
 * The running test, for the checks its helpers make: each test is a
 * process of its own, so one global per process is the test's.
 */
static struct __test_metadata *pvx_md;
static int pvx_nfail, pvx_nskip;
static char pvx_skip_why[800];
/* the stage given on the command line, NULL: every fixture runs */
static const char *pvx_stage;

/*
 * A fixture's READY() part for a module state: the host not in it is a
 * skip when every fixture runs, and left to the test's own check (a
 * failure) when the stage was asked for.
 */
static inline const char *pvx_state(bool in_state, const char *why)
{
	return in_state || pvx_stage ? NULL : why;
}

/* Whether the module @name is loaded. */
static inline bool module_loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

/* The fixtures' common READY() part: a KVM host with pvx_host; NULL if so. */
static inline const char *host_ready(void)
{
	if (access("/dev/kvm", R_OK | W_OK))
		return "no /dev/kvm: not a KVM host";
	if (!module_loaded("pvx_host"))
		return "pvx_host not loaded";
	return NULL;
}

/* One check of the running test; returns @pass. */
static inline __attribute__((format(printf, 2, 3)))
bool pvx_check(bool pass, const char *fmt, ...)
{
	struct __test_metadata *_metadata = pvx_md;
	char desc[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	ksft_print_msg("%s %s\n", pass ? "ok" : "not ok", desc);
	fflush(stdout);
	if (!pass)
		pvx_nfail++;
	EXPECT_TRUE(pass) TH_LOG("%s", desc);
	return pass;
}

/* A check that cannot be made here, and why. */
static inline __attribute__((format(printf, 2, 3)))
void pvx_skip(const char *reason, const char *fmt, ...)
{
	char desc[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	ksft_print_msg("SKIP %s: %s\n", desc, reason);
	fflush(stdout);
	if (!pvx_nskip++)
		snprintf(pvx_skip_why, sizeof(pvx_skip_why), "%s: %s", desc, reason);
}

/*
 * PVX_FIXTURE(NAME, READY_FN): a fixture whose set-up skips with the
 * reason READY_FN() gives (a const char *, NULL when the host is in the
 * fixture's state); PVX_TEST(NAME, TEST) { body } one of its tests,
 * the body's checks reported as one result.
 */
#define PVX_FIXTURE(name, ready_fn)					\
	FIXTURE(name) {							\
		bool ready;						\
	};								\
	FIXTURE_SETUP(name)						\
	{								\
		const char *why = ready_fn();				\
									\
		pvx_md = _metadata;					\
		if (why)						\
			SKIP(return, "%s", why);			\
		self->ready = true;					\
	}								\
	FIXTURE_TEARDOWN(name)						\
	{								\
	}

#define PVX_TEST(name, test)						\
	static void pvx_##name##_##test(struct __test_metadata *_metadata); \
	TEST_F_TIMEOUT(name, test, PVX_TIMEOUT_S)			\
	{								\
		if (!self->ready)					\
			return;						\
		pvx_##name##_##test(_metadata);				\
		if (!pvx_nfail && pvx_nskip)				\
			SKIP(return, "%s (%d checks skipped)",		\
			     pvx_skip_why, pvx_nskip);			\
	}								\
	static void pvx_##name##_##test(struct __test_metadata *_metadata)

/*
 * Keep only the fixture @stage names ('-' for '_': "rmmod-loop" is
 * rmmod_loop); -1 when there is none. The fixture list is the same in
 * both harness versions: next to the end, prev of the head the tail.
 */
static inline int pvx_harness_only(const char *stage)
{
	struct __fixture_metadata *f, *next, *head = NULL, *tail = NULL;
	char name[64];
	size_t i;

	snprintf(name, sizeof(name), "%s", stage);
	for (i = 0; name[i]; i++)
		if (name[i] == '-')
			name[i] = '_';
	for (f = __fixture_list; f; f = next) {
		next = f->next;
		if (strcmp(f->name, name))
			continue;
		f->next = NULL;
		f->prev = tail ? tail : f;
		if (tail)
			tail->next = f;
		else
			head = f;
		tail = f;
		head->prev = tail;
	}
	if (!head)
		return -1;
	__fixture_list = head;
	return 0;
}

/*
 * Run @stage's tests (all with NULL) under the harness, which gets no
 * option of its own: the programs' arguments are theirs. -1 when
 * @stage is no fixture, else the harness's exit status.
 */
static inline int pvx_harness_run(char *argv0, const char *stage)
{
	char *args[] = { argv0, NULL };

	pvx_stage = stage;
	if (stage && pvx_harness_only(stage))
		return -1;
	return test_harness_run(1, args);
}

#endif /* PVX_SELFTEST_HARNESS_H */
