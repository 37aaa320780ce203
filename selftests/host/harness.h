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
 * tests are its behaviours. A fixture's set-up puts the host in the
 * module state it needs (pvx_need_loaded(), pvx_need_absent(): loads
 * from $PVX_BUILD, unloads), so no runner's order makes a test right; a
 * fixture that cannot get its state skips with the reason. "PROG STAGE
 * [ARGS]" runs one fixture's tests, "PROG" all of them (run_kselftest.sh).
 * Either way the fixture "dmesg" runs last: no BUG, WARNING or Oops in
 * the kernel log since the program started (or since line
 * $PVX_DMESG_MARK of the log), the set-ups' loads and unloads included.
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
#include "module_util.h"

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

/* READY() of a fixture that needs no module state: none to get */
static inline const char *pvx_no_state(void)
{
	return NULL;
}

/* The fixtures' common READY() part: a KVM host; NULL if so. */
static inline const char *kvm_ready(void)
{
	return access("/dev/kvm", R_OK | W_OK) ? "no /dev/kvm: not a KVM host" : NULL;
}

/* READY() part: a KVM host with pvx_host loaded (by its runner: numa-l2.sh). */
static inline const char *host_ready(void)
{
	return kvm_ready() ?: module_loaded("pvx_host") ? NULL : "pvx_host not loaded";
}

/* READY() part: a KVM host with the module @name loaded (and pvx_host). */
static inline const char *pvx_need_loaded(const char *name)
{
	return kvm_ready() ?: module_ensure_loaded(name);
}

/* READY() part: a KVM host without the module @name (nor its users). */
static inline const char *pvx_need_absent(const char *name)
{
	return kvm_ready() ?: module_ensure_absent(name);
}

/* READY() part: pvx_host loaded, the feature module @name not: a load starts there */
static inline const char *pvx_need_loadable(const char *name)
{
	return pvx_need_loaded("pvx_host") ?: pvx_need_absent(name);
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
 * A test's own load of $PVX_BUILD/host/@name.ko (@what its check): 0 or
 * -errno of finit_module; 1 when there was no file to load (a skip or
 * a failed check made).
 */
static inline int pvx_insmod(const char *name, const char *what)
{
	char ko[512];

	if (!pvx_module_file(name, ko, sizeof(ko))) {
		pvx_skip("no PVX_BUILD to find the module in", "%s", what);
		return 1;
	}
	if (!pvx_check(!access(ko, R_OK), "%s: %s there", what, ko))
		return 1;
	return module_load(ko, "");
}

/* The test of a fixture "insmod": $PVX_BUILD/host/@name.ko loads. */
static inline void pvx_insmod_test(const char *name)
{
	char what[80];
	int err;

	snprintf(what, sizeof(what), "insmod %s.ko", name);
	err = pvx_insmod(name, what);
	if (err <= 0)
		pvx_check(!err && module_is_loaded(name), "%s: %s", what,
			  err ? strerror(-err) : "loaded");
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
		const char *why;					\
									\
		pvx_md = _metadata;					\
		why = ready_fn();					\
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

/* the kernel log's line the fixture dmesg checks from (pvx_harness_run()) */
static int pvx_dmesg_from;

#ifndef PVX_HARNESS_NO_DMESG
/* last in every run: the kernel log clean since the program started */
PVX_FIXTURE(dmesg, pvx_no_state);

PVX_TEST(dmesg, clean)
{
	char lines[800], *pos = lines, *line;
	int n = dmesg_splats_since(pvx_dmesg_from, lines, sizeof(lines));

	while (n > 0 && (line = dmesg_next_line(&pos)))
		ksft_print_msg("dmesg: %s\n", line);
	pvx_check(!n, "no BUG/WARNING/Oops in dmesg after its line %d (%d found)",
		  pvx_dmesg_from, n);
}
#endif

/* The mark of the fixture dmesg: $PVX_DMESG_MARK, else the log's end now. */
static inline void pvx_dmesg_mark(void)
{
	const char *mark = getenv("PVX_DMESG_MARK");

	pvx_dmesg_from = mark ? atoi(mark) : dmesg_lines();
}

/*
 * Take the fixture named @name ('-' for '_': "rmmod-loop" is rmmod_loop)
 * out of the harness's list; NULL when there is none. The list is the
 * same in both harness versions: next to the end, prev of the head the
 * tail.
 */
static inline struct __fixture_metadata *pvx_fixture_take(const char *name)
{
	struct __fixture_metadata *f, *head = __fixture_list;
	char want[64];
	size_t i;

	snprintf(want, sizeof(want), "%s", name);
	for (i = 0; want[i]; i++)
		if (want[i] == '-')
			want[i] = '_';
	for (f = head; f && strcmp(f->name, want); f = f->next)
		;
	if (!f)
		return NULL;
	if (f == head) {
		__fixture_list = f->next;
		if (f->next)
			f->next->prev = f->prev;
	} else {
		f->prev->next = f->next;
		if (f->next)
			f->next->prev = f->prev;
		else
			head->prev = f->prev;
	}
	f->next = NULL;
	f->prev = f;
	return f;
}

/* Put the fixture @f at the end of the harness's list. */
static inline void pvx_fixture_append(struct __fixture_metadata *f)
{
	struct __fixture_metadata *head = __fixture_list;

	if (!head) {
		__fixture_list = f;
		return;
	}
	f->prev = head->prev;
	head->prev->next = f;
	head->prev = f;
}

/*
 * The fixtures of a run: @stage's alone (all with NULL), then dmesg;
 * -1 when @stage is no fixture. For programs that run the harness
 * themselves (pvx_nomem_test) with @stage NULL.
 */
static inline int pvx_harness_order(const char *stage)
{
	struct __fixture_metadata *dmesg = pvx_fixture_take("dmesg"), *only;

	pvx_dmesg_mark();
	if (stage && strcmp(stage, "dmesg")) {
		only = pvx_fixture_take(stage);
		if (!only)
			return -1;
		__fixture_list = NULL;
		pvx_fixture_append(only);
	} else if (stage) {
		__fixture_list = NULL;
	}
	if (dmesg)
		pvx_fixture_append(dmesg);
	return 0;
}

/*
 * Run @stage's tests (all with NULL) under the harness, which gets no
 * option of its own: the programs' arguments are theirs. -1 when
 * @stage is no fixture, else the harness's exit status.
 */
static inline int pvx_harness_run(char *argv0, const char *stage)
{
	char *args[2] = { argv0, NULL };

	pvx_stage = stage;
	if (pvx_harness_order(stage))
		return -1;
	return test_harness_run(1, args);
}

#endif /* PVX_SELFTEST_HARNESS_H */
