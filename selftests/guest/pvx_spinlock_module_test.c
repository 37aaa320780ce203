// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_spinlock_module_test: the life of pvx_spinlock.ko inside an L3
 * guest with pvx_guest.ko loaded, and the pvx_lock_torture.ko test
 * module's runs on its lock. The sysfs and PVX_IOC_YIELD_TO tests are
 * pvx_yield_test's; init.sh runs the two in this order:
 *
 *   --load KO          loads KO (pvx_spinlock.ko, no parameters): its
 *                      dmesg lines as "# dmesg: " comments; dmesg says the
 *                      mode once, as sysfs does; pvx_guest cannot unload
 *                      while pvx_spinlock uses it. Leaves it loaded (a
 *                      failed load: one result, and the last pvx_ lines of
 *                      dmesg).
 *   --torture KO --free-budget-ms MS [PARAM...]
 *                      (not in steal boots: init.sh) loads KO
 *                      (pvx_lock_torture.ko) with PARAM... hang_timeout=150:
 *                      its torture runs in its init and leaves TAP results
 *                      in debugfs, relayed as this program's; the torture's
 *                      acquisitions counted in spinlock/acquisitions, its
 *                      contention in slow_paths, each slow path ended by
 *                      a steal or a priority grant, a grant for each
 *                      priority wait;
 *                      the spinlock counters as "# spinlock/NAME: N"
 *                      comments; pvx_spinlock cannot unload while the
 *                      torture module is loaded; the torture unloads. Then
 *                      the free phases, each in a load of its own with
 *                      budget_ms=MS PARAM... phases=free-try (free-lock)
 *                      hang_timeout=150, its results relayed after
 *                      "free-try: " ("free-lock: "): in free-try no unlock
 *                      looked for a halted waiter (kicks, kick_misses and
 *                      halts stay), free-lock's growth of them as a
 *                      comment; each unloads. Prints init.sh's step lines
 *                      "pvx_lock_torture done", "pvx_lock_torture
 *                      free-try" and "pvx_lock_torture free-lock" on
 *                      /dev/console as it comes to them, and each failed
 *                      result there at once, as init.sh's not_ok does. A
 *                      failed load is one failed result, with the last
 *                      pvx_, BUG and WARN lines of dmesg as comments; the
 *                      first one failed ends the runs. The runs are a
 *                      child process's, and the plan is set when it has
 *                      ended: the torture decides how many results it
 *                      gives (one more when the child was killed).
 *   --unload           pvx_spinlock, its lock unused, unloads, and its
 *                      sysfs directory goes with it.
 *   --reload KO        (pvx_spinlock not loaded) halt=maybe refused;
 *                      halt=0 loads with spinlock/halting 0 and unloads;
 *                      KO loads and unloads again.
 *
 * A topology boot (run-l3.sh --topology NAME puts pvx_topology=NAME on
 * the kernel command line) runs only one mode, after pvx_guest's load:
 *
 *   --topology NAME SPIN_KO TORTURE_KO
 *                      each CPU's APIC ID as a "# CPUs: " comment; loads
 *                      SPIN_KO as --load does (its dmesg lines), and
 *                      checks the mode the shape of the VM decides, in
 *                      sysfs and in its dmesg line: swapped-rt (CPU 3's
 *                      vCPU created before CPU 2's, KVM_HINTS_REALTIME)
 *                      mode spin (KVM_HINTS_REALTIME), then, after the
 *                      step line "pvx_lock_torture yield-map", TORTURE_KO
 *                      with index_differs=2-3 phases=yield-map
 *                      hang_timeout=150, its results relayed after
 *                      "pvx_lock_torture yield-map: " (run-l3.sh reads in
 *                      L2 which vCPU each yield reached), and its unload;
 *                      1cpu mode spin (one CPU); another NAME is one
 *                      failed result. Then pvx_spinlock unloads. All in a
 *                      child process, as --torture's runs, the plan set
 *                      when it has ended.
 *
 * Without arguments (run_kselftest.sh) it skips. TAP 13 on stdout; exit 0
 * all passed, 1 any failed, 4 skipped. Runs as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest.h"
#include "module_util.h"
#include "sysfs_util.h"
#include "l3_tap.h"

#define SPINDIR		"/sys/kernel/pvx/spinlock"
#define SPIN_MOD	"pvx_spinlock"
#define TORTURE_MOD	"pvx_lock_torture"
#define TORTURE_RESULTS	"/sys/kernel/debug/pvx_lock_torture/results"
/* a torture that never ends is reported as hung, and the module stays */
#define HANG_TIMEOUT	"hang_timeout=150"
/* the torture's count of what it did, among its results */
#define OPS_LINE	"# %31[0-9] thread acquisitions in all phases"
/* how many results each mode gives when its loads work */
#define LOAD_TESTS	3
#define UNLOAD_TESTS	2
#define RELOAD_TESTS	6

static const char *const failure_lines[] = { "pvx_", "BUG", "WARN", NULL };

/* A counter of pvx_spinlock's, 0 when unreadable (as init.sh read them). */
static long long spin_stat(const char *name)
{
	long long v = sysfs_read_counter(SPINDIR, name);

	return v < 0 ? 0 : v;
}

static void spin_str(const char *name, char *buf, size_t size)
{
	char path[sizeof(SPINDIR) + 256];

	snprintf(path, sizeof(path), SPINDIR "/%s", name);
	if (sysfs_read_str(path, buf, size))
		buf[0] = '\0';
}

/* A result whose failure says why after a '#', as init.sh's check did. */
static void result_err(int err, const char *desc)
{
	if (!err)
		ksft_test_result_pass("%s\n", desc);
	else
		ksft_test_result_fail("%s # %s\n", desc, strerror(-err));
}

/* ---- --load -------------------------------------------------------------- */

/*
 * The result of pvx_spinlock.ko's load, which ended with @err, and its
 * dmesg lines as comments (after a failed load the last pvx_ lines):
 * whether it loaded.
 */
static bool spin_loaded(int err)
{
	static const char *const pvx_lines[] = { "pvx_", NULL };
	static const char *const spin_lines[] = { "pvx_spinlock: ", NULL };

	if (err) {
		ksft_test_result_fail("insmod pvx_spinlock.ko # %s\n", strerror(-err));
		dmesg_print(pvx_lines, 5);
		return false;
	}
	ksft_test_result_pass("insmod pvx_spinlock.ko\n");
	dmesg_print(spin_lines, 0);
	return true;
}

static int load_test(const char *ko)
{
	static const char said_once[] = "dmesg says the spinlock mode once, as sysfs does";
	int err = module_load(ko, ""), said;
	char mode[32], needle[64];

	ksft_set_plan(err ? 1 : LOAD_TESTS);
	if (!spin_loaded(err))
		ksft_finished();
	said = dmesg_count("pvx_spinlock: mode ");
	spin_str("mode", mode, sizeof(mode));
	snprintf(needle, sizeof(needle), "pvx_spinlock: mode %s (", mode);
	if (said == 1 && dmesg_count(needle) > 0)
		ksft_test_result_pass("%s (%s)\n", said_once, mode);
	else
		ksft_test_result_fail("%s # %d lines, sysfs '%s'\n", said_once, said, mode);
	ksft_test_result(module_unload("pvx_guest") < 0,
			 "rmmod pvx_guest refused while pvx_spinlock uses it\n");
	ksft_finished();
}

/* ---- --torture ----------------------------------------------------------- */

struct torture {
	const char *ko;
	const char *free_budget_ms;
	char params[512];	/* the PARAM... words, joined */
};

/* The line after @line in a text, NULL at its end. */
static const char *next_line(const char *line)
{
	line = strchr(line, '\n');
	return line && line[1] ? line + 1 : NULL;
}

/* Load @t's torture module with "@head @t->params @tail": 0 or -errno. */
static int torture_load(const struct torture *t, const char *head, const char *tail)
{
	char all[1024];

	snprintf(all, sizeof(all), "%s%s%s%s%s", head, *head ? " " : "", t->params,
		 t->params[0] ? " " : "", tail);
	ksft_print_msg("insmod %s %s\n", t->ko, all);
	return module_load(t->ko, all);
}

/*
 * How many acquisitions the torture's results @text say it made, its
 * line "# N thread acquisitions in all phases", into @ops ("" when none).
 */
static void torture_ops(const char *text, char *ops, size_t size)
{
	const char *line;
	char num[32];
	int end;

	ops[0] = '\0';
	for (line = text; line; line = next_line(line)) {
		end = 0;
		if (sscanf(line, OPS_LINE "%n", num, &end) == 1 && end &&
		    (line[end] == '\n' || !line[end]))
			snprintf(ops, size, "%s", num);
	}
}

/*
 * The spinlock's counters over the torture: acquisitions (@ops, the
 * torture's count), contention, every slow path ended by a steal or a
 * priority grant, and a grant for each priority wait. @before holds
 * acquisitions, slow_paths, steals, priority_waits and priority_grants
 * from before the load.
 */
static void torture_counters(const char *ops, const long long before[5])
{
	static const char counted[] = "spinlock/acquisitions counted the torture's";
	static const char contended[] = "the torture contended: spinlock/slow_paths grew";
	long long acq = spin_stat("acquisitions") - before[0];
	long long slow = spin_stat("slow_paths"), st, pw, pg;

	if (ops[0] && acq >= atoll(ops))
		ksft_test_result_pass("%s %s (%lld)\n", counted, ops, acq);
	else
		ksft_test_result_fail("%s '%s' # grew by %lld\n", counted, ops, acq);
	if (slow > before[1])
		ksft_test_result_pass("%s (%lld)\n", contended, slow - before[1]);
	else
		ksft_test_result_fail("%s # still %lld\n", contended, slow);
	st = spin_stat("steals") - before[2];
	pw = spin_stat("priority_waits") - before[3];
	pg = spin_stat("priority_grants") - before[4];
	ksft_test_result(pw == pg && st + pg == slow - before[1],
			 "each slow path ended in a steal or a priority grant, a grant for each priority wait (slow_paths +%lld, steals +%lld, priority_waits +%lld, priority_grants +%lld)\n",
			 slow - before[1], st, pw, pg);
}

/*
 * The torture's phase @phase alone, in a load of its own with "@head
 * PARAM... phases=@phase hang_timeout=150", after its step line
 * "pvx_lock_torture @phase" on the console: its results relayed after
 * @prefix, or, when it did not load or left no results, one failed
 * result and the last pvx_, BUG and WARN lines of dmesg. Whether it ran
 * (and is still loaded).
 */
static bool phase_run(const struct torture *t, const char *phase, const char *head,
		      const char *prefix)
{
	char tail[64], what[64];
	char *text = NULL;
	int err;

	snprintf(what, sizeof(what), "pvx_lock_torture %s", phase);
	console_step(what);
	snprintf(tail, sizeof(tail), "phases=%s " HANG_TIMEOUT, phase);
	err = torture_load(t, head, tail);
	if (!err)
		text = read_text(TORTURE_RESULTS);
	if (!text) {
		ksft_test_result_fail("%s # %s\n", what,
				      err ? strerror(-err) : "no " TORTURE_RESULTS);
		dmesg_print(failure_lines, 10);
		return false;
	}
	relay_text(text, prefix);
	free(text);
	return true;
}

/*
 * A free phase, @phase, in a load of its own: the next holder frees the
 * lock, and nothing may touch it after its release.
 */
static void free_phase(const struct torture *t, const char *phase)
{
	static const char no_kick[] = "free-try: no unlock looked for a halted waiter";
	long long k0 = spin_stat("kicks"), m0 = spin_stat("kick_misses"), h0 = spin_stat("halts");
	long long dk, dm, dh;
	char budget[64], what[64], prefix[64];

	snprintf(budget, sizeof(budget), "budget_ms=%s", t->free_budget_ms);
	snprintf(prefix, sizeof(prefix), "%s: ", phase);
	if (!phase_run(t, phase, budget, prefix))
		return;
	dk = spin_stat("kicks") - k0;
	dm = spin_stat("kick_misses") - m0;
	dh = spin_stat("halts") - h0;
	if (!strcmp(phase, "free-try")) {
		/*
		 * no waiter ever halts: an unlock that looks for one read a
		 * lock that was freed (poisoned) under it
		 */
		if (!dk && !dm && !dh)
			ksft_test_result_pass("%s (kicks, kick_misses, halts +0)\n", no_kick);
		else
			ksft_test_result_fail("%s # kicks +%lld, kick_misses +%lld, halts +%lld\n",
					      no_kick, dk, dm, dh);
	} else {
		ksft_print_msg("%s: kicks +%lld, kick_misses +%lld, halts +%lld\n", phase, dk, dm,
			       dh);
	}
	snprintf(what, sizeof(what), "rmmod pvx_lock_torture (%s)", phase);
	result_err(module_unload(TORTURE_MOD), what);
}

/* The torture runs of the struct torture @arg, in child_test()'s child process. */
static void torture_runs(const void *arg)
{
	const struct torture *t = arg;
	long long before[5] = {
		spin_stat("acquisitions"), spin_stat("slow_paths"),
		spin_stat("steals"), spin_stat("priority_waits"),
		spin_stat("priority_grants"),
	};
	int err = torture_load(t, "", HANG_TIMEOUT);
	char *text, ops[32];

	if (err) {
		ksft_test_result_fail("insmod pvx_lock_torture.ko (runs the torture) # %s\n",
				      strerror(-err));
		dmesg_print(failure_lines, 10);
		return;
	}
	ksft_test_result_pass("insmod pvx_lock_torture.ko (runs the torture)\n");
	console_step("pvx_lock_torture done");
	text = read_text(TORTURE_RESULTS);
	torture_ops(text, ops, sizeof(ops));
	if (text)
		relay_text(text, "");
	else
		ksft_test_result_fail("pvx_lock_torture results # no " TORTURE_RESULTS "\n");
	free(text);
	torture_counters(ops, before);
	print_sysfs_dir(SPINDIR, "spinlock");
	ksft_test_result(module_unload(SPIN_MOD) < 0,
			 "rmmod pvx_spinlock refused while pvx_lock_torture uses it\n");
	result_err(module_unload(TORTURE_MOD), "rmmod pvx_lock_torture");
	/* the next holder frees the lock: nothing may touch it after release */
	free_phase(t, "free-try");
	free_phase(t, "free-lock");
}

/*
 * The output of a child process running @fn(@arg), whole (NULL when
 * there is none), and in *@status how it ended. A failure it reports goes
 * to the console at once, after "@label: " (run_test's label in init.sh),
 * as init.sh's not_ok does: run-l3.sh boots an L3 that reset itself again
 * only when nothing had failed before.
 */
static char *runs_in_child(void (*fn)(const void *arg), const void *arg, const char *label,
			   int *status)
{
	char *text = NULL, *line = NULL;
	size_t size = 0, len = 0;
	FILE *out, *all;
	pid_t pid = piped_child(fn, arg, &out);

	*status = -1;
	if (pid < 0)
		ksft_perror("fork");
	all = open_memstream(&text, &size);
	while (out && getline(&line, &len, out) > 0) {
		if (!strncmp(line, "not ok ", 7))
			console_printf("pvx-l3: FAILED: %s: %s", label, line);
		if (all)
			fputs(line, all);
	}
	free(line);
	if (out)
		fclose(out);
	if (all)
		fclose(all);
	if (pid > 0)
		waitpid(pid, status, 0);
	return text;
}

/* How many results the TAP @text has. */
static unsigned int count_results(const char *text)
{
	unsigned int n = 0;
	const char *line;

	for (line = text; line; line = next_line(line))
		n += !strncmp(line, "ok ", 3) || !strncmp(line, "not ok ", 7);
	return n;
}

/*
 * @fn(@arg)'s module loads and checks in a child process: an oops in a
 * module's init kills the task that loads it, and the results before it
 * stay. The plan is what the child gave, and one more result, "@runs
 * ended early", when it did not exit 0. @label: as runs_in_child()'s.
 */
static int child_test(void (*fn)(const void *arg), const void *arg, const char *label,
		      const char *runs)
{
	int status;
	char *text = runs_in_child(fn, arg, label, &status);
	bool ended = status != -1 && WIFEXITED(status) && !WEXITSTATUS(status);

	ksft_set_plan(count_results(text) + !ended);
	if (text)
		relay_text(text, "");
	free(text);
	if (!ended) {
		if (status == -1)
			ksft_test_result_fail("%s # no child process\n", runs);
		else
			ksft_test_result_fail("%s ended early # wait status %#x\n", runs, status);
		dmesg_print(failure_lines, 10);
	}
	ksft_finished();
}

/* ---- --topology ---------------------------------------------------------- */

struct topology {
	const char *name;
	const char *spin_ko;
	struct torture torture;
};

/* Each CPU's APIC ID, from /proc/cpuinfo, as a "# CPUs: " comment. */
static void cpus_diag(void)
{
	char line[256], list[1024] = "", cpu[16] = "?";
	size_t len = 0;
	unsigned int v;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "processor : %u", &v) == 1)
			snprintf(cpu, sizeof(cpu), "%u", v);
		else if (sscanf(line, "apicid : %u", &v) == 1 && len < sizeof(list))
			len += snprintf(list + len, sizeof(list) - len, "%s%s->APIC %u",
					len ? " " : "", cpu, v);
	}
	if (f)
		fclose(f);
	ksft_print_msg("CPUs: %s\n", list);
}

/* pvx_spinlock chose @mode, and its dmesg line says @why. */
static void spin_mode_is(const char *mode, const char *why)
{
	static const char *const mode_lines[] = { "pvx_spinlock: mode ", NULL };
	char m[32], needle[128], line[512] = "", *said;

	spin_str("mode", m, sizeof(m));
	snprintf(needle, sizeof(needle), "pvx_spinlock: mode %s (%s", mode, why);
	if (!strcmp(m, mode) && dmesg_count(needle) > 0) {
		ksft_test_result_pass("pvx_spinlock mode %s (%s)\n", mode, why);
		return;
	}
	dmesg_find_since(0, mode_lines, 0, line, sizeof(line));
	said = strstr(line, mode_lines[0]);
	if (!said)
		said = line;
	said[strcspn(said, "\n")] = '\0';
	ksft_test_result_fail("pvx_spinlock mode %s (%s) # sysfs '%s', dmesg: %s\n", mode, why, m,
			      said);
}

/*
 * The checks of a topology boot, in child_test()'s child process, on the
 * struct topology @arg: swapped-rt has CPU 3's vCPU created before CPU
 * 2's (their vCPU indexes swapped) and KVM_HINTS_REALTIME, 1cpu one vCPU.
 */
static void topology_checks(const void *arg)
{
	const struct topology *t = arg;

	cpus_diag();
	if (!spin_loaded(module_load(t->spin_ko, "")))
		return;
	if (!strcmp(t->name, "swapped-rt")) {
		/* dedicated CPUs: the lock must not yield or halt */
		spin_mode_is("spin", "KVM_HINTS_REALTIME");
		/*
		 * directed yields by APIC ID and by index at each CPU;
		 * run-l3.sh checks in L2 which vCPU each reached
		 */
		if (phase_run(&t->torture, "yield-map", "index_differs=2-3",
			      "pvx_lock_torture yield-map: "))
			result_err(module_unload(TORTURE_MOD), "rmmod pvx_lock_torture (yield-map)");
	} else if (!strcmp(t->name, "1cpu")) {
		/* nobody to yield to or kick */
		spin_mode_is("spin", "one CPU");
	} else {
		ksft_test_result_fail("pvx_topology=%s is a topology boot this /init knows\n",
				      t->name);
	}
	result_err(module_unload(SPIN_MOD), "rmmod pvx_spinlock");
}

/* ---- --unload, --reload -------------------------------------------------- */

static int unload_test(void)
{
	ksft_set_plan(UNLOAD_TESTS);
	result_err(module_unload(SPIN_MOD), "rmmod pvx_spinlock while its lock is unused");
	ksft_test_result(!module_is_loaded(SPIN_MOD) && !path_exists(SPINDIR),
			 "/sys/kernel/pvx/spinlock gone after rmmod\n");
	ksft_finished();
}

static int reload_test(const char *ko)
{
	int err = module_load(ko, "halt=maybe");
	char halting[16];

	ksft_set_plan(RELOAD_TESTS);
	/* taken, it stays loaded, as with insmod: the load after it fails */
	ksft_test_result(err < 0, "insmod pvx_spinlock.ko halt=maybe refused\n");
	result_err(module_load(ko, "halt=0"), "insmod pvx_spinlock.ko halt=0");
	spin_str("halting", halting, sizeof(halting));
	ksft_test_result(!strcmp(halting, "0"), "halt=0: spinlock/halting is 0\n");
	result_err(module_unload(SPIN_MOD), "rmmod pvx_spinlock (halt=0)");
	result_err(module_load(ko, ""), "insmod pvx_spinlock.ko again");
	result_err(module_unload(SPIN_MOD), "rmmod pvx_spinlock again");
	ksft_finished();
}

/* ---- main ---------------------------------------------------------------- */

/* SPIN_KO: pvx_spinlock.ko's path, TORTURE_KO: pvx_lock_torture.ko's */
#define USAGE	"usage: pvx_spinlock_module_test --load SPIN_KO\n" \
	"       pvx_spinlock_module_test --torture TORTURE_KO --free-budget-ms MS [PARAM...]\n" \
	"       pvx_spinlock_module_test --unload\n" \
	"       pvx_spinlock_module_test --reload SPIN_KO\n" \
	"       pvx_spinlock_module_test --topology NAME SPIN_KO TORTURE_KO\n"

/* --torture's arguments after the mode into @t: false when they do not fit. */
static bool parse_torture(int argc, char **argv, struct torture *t)
{
	size_t len = 0;
	int i;

	if (argc < 5 || strcmp(argv[3], "--free-budget-ms") || !*argv[4])
		return false;
	t->ko = argv[2];
	t->free_budget_ms = argv[4];
	t->params[0] = '\0';
	for (i = 5; i < argc; i++) {
		len += snprintf(t->params + len, sizeof(t->params) - len, "%s%s",
				len ? " " : "", argv[i]);
		if (len >= sizeof(t->params))
			return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct torture t;

	if (argc == 2 && !strcmp(argv[1], "--unload")) {
		ksft_print_header();
		return unload_test();
	}
	if (argc == 3 && !strcmp(argv[1], "--load")) {
		ksft_print_header();
		return load_test(argv[2]);
	}
	if (argc == 3 && !strcmp(argv[1], "--reload")) {
		ksft_print_header();
		return reload_test(argv[2]);
	}
	if (argc >= 2 && !strcmp(argv[1], "--torture") && parse_torture(argc, argv, &t)) {
		ksft_print_header();
		return child_test(torture_runs, &t, TORTURE_MOD, "the lock torture runs");
	}
	if (argc == 5 && !strcmp(argv[1], "--topology")) {
		struct topology topo = {
			.name = argv[2], .spin_ko = argv[3], .torture.ko = argv[4],
		};

		ksft_print_header();
		return child_test(topology_checks, &topo, SPIN_MOD, "the topology checks");
	}
	/* run_kselftest.sh runs it without a mode: nothing to do there */
	if (argc == 1)
		ksft_exit_skip("no mode: init.sh gives --load, --torture, --unload, --reload %s\n",
			       "or --topology");
	ksft_exit_fail_msg(USAGE);
}
