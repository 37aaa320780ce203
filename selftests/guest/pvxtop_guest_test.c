// SPDX-License-Identifier: GPL-2.0
/*
 * pvxtop_guest_test: pvxtop in the L3 guest (Documentation/pvxtop.rst).
 * /pvx/pvxtop, the static build, counts pvx's tracepoints; its totals
 * must equal the growth of the modules' own sysfs counters over the same
 * window; and its advice (--advise) in the tuning sessions of
 * Documentation/tuning.rst. init.sh runs it in five places:
 *
 *   --probes           (pvx_guest loaded, /pvx/pvxtop there: init.sh
 *                      skips otherwise) reprobe_ms 0, so that no periodic
 *                      PROBE falls in the window; pvxtop --json started
 *                      (its start line within 10 s), 20 reprobes between
 *                      two readings of /sys/kernel/pvx/stats, pvxtop
 *                      stopped with SIGINT (exit 0); its hc_issued +
 *                      hc_error, hc_error and hc_refused totals equal the
 *                      growth of stats/hypercalls, errors and refused;
 *                      then reprobe_ms 1000 again. Its first two "total"
 *                      lines, and pvxtop -d 2's table over 10 reprobes, as
 *                      comments; pvxtop --advise with bad input (-d 0,
 *                      -d x, -i 1) exits 1 with one line.
 *   --window spin -- PROGRAM [ARG...]
 *                      (pvx_spinlock loaded; init.sh runs the lock
 *                      tortures, pvx_spinlock_module_test --torture, as
 *                      PROGRAM) pvxtop --json started, the counters of
 *                      /sys/kernel/pvx/spinlock read, PROGRAM run with
 *                      its results relayed as this program's, the
 *                      counters read again, every CPU settled, pvxtop
 *                      stopped with SIGINT (exit 0);
 *                      its spin_yields plus missed equal yields_issued's
 *                      growth (modes pvx-yield and sched-yield), its
 *                      spin_done yields_granted's (pvx-yield), its
 *                      spin_halts halts', spin_kicks + spin_kick_misses
 *                      kicks + kick_misses', spin_kicks kicks'; its totals
 *                      as a comment.
 *   --window stimer -- PROGRAM [ARG...]
 *                      (pvx_stimer loaded; PROGRAM is pvx_stimer_test
 *                      --source auto) as spin, over stimer/fired_effective,
 *                      fired_cap and rearms: timer_fires plus missed from
 *                      fired_effective + fired_cap's growth to a few more
 *                      (a timer of the steps before may fire in the
 *                      window), timer_cap fired_cap's, timer_rearms
 *                      rearms' (as timer_fires).
 *
 *   --tune spin TORTURE_KO BUDGET_MS short|full
 *                      (pvx_spinlock loaded, not in steal boots) in mode
 *                      pvx-yield: pvxtop --advise -d 2 with nothing
 *                      running judges too few events; then rounds of
 *                      TORTURE_KO's mutex phase for BUDGET_MS, each under
 *                      pvxtop --advise --json (and its text twin, for the
 *                      eye), from spin_threshold 64, turned as advised at
 *                      most 3 times (full: then 64 and the last value
 *                      again, and 16384). Each round: the torture's
 *                      results relayed, pvxtop's exit 0 after SIGINT, its
 *                      current value the one set, its yields (+ missed)
 *                      and slow paths the growth of yields_issued and
 *                      slow_paths, its verdict the rule's
 *                      (advise_rules.h) on those numbers; at 64 it must
 *                      judge. spin_threshold 16384 after. In another mode:
 *                      spin_threshold not judged.
 *   --tune cap STIMER_TEST
 *                      (pvx_stimer loaded; skips unless its source is
 *                      kvm-steal-time) as spin, on cap_factor from 1
 *                      under STIMER_TEST --load 4: fires and cap against
 *                      fired_effective + fired_cap and fired_cap, the
 *                      rule's verdict, a raise advised at 1; cap_factor 4
 *                      after. The rounds' plan is set at the end.
 *
 * In a window pvxtop sees from before the first reading of the counters
 * to after the last (its totals come from a snapshot begun after
 * SIGINT). Without /pvx/pvxtop a window is PROGRAM alone (exec'ed); when
 * pvxtop gives no start line in 10 s that is one failed result, and
 * PROGRAM runs without it. pvxtop --json writes /tmp/pvxtop.json and
 * /tmp/pvxtop.err. A window's plan is set at its end: PROGRAM decides how
 * many results it gives; one more when it exits neither 0 nor 4 without
 * a failed result.
 *
 * Without arguments (run_kselftest.sh) it skips. TAP 13 on stdout; exit 0
 * all passed, 1 any failed, 4 skipped. Runs as root.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "sysfs_util.h"
#include "module_util.h"
#include "l3_tap.h"
#include "advise_rules.h"

#define PVXTOP		"/pvx/pvxtop"
#define TOP_JSON	"/tmp/pvxtop.json"
#define TOP_ERR		"/tmp/pvxtop.err"
#define TOP_TXT		"/tmp/pvxtop.txt"
#define BAD_OUT		"/tmp/bad.out"
#define STATSDIR	"/sys/kernel/pvx/stats"
#define SPINDIR		"/sys/kernel/pvx/spinlock"
#define STIMERDIR	"/sys/kernel/pvx/stimer"
#define REPROBE		"/sys/kernel/pvx/reprobe"
#define REPROBE_MS	"/sys/module/pvx_guest/parameters/reprobe_ms"
/* --probes' results after a stop with an end line, and without one */
#define PROBES_TESTS	7
#define PROBES_NO_END	1

/* ---- pvxtop --json and its lines ----------------------------------------- */

/* pvxtop --json in the background, and what it left once stopped. */
struct top {
	pid_t pid;
	int rc;		/* its exit status as the shell's $? */
	char err[256];	/* the start of its stderr, on one line */
	char *json;	/* its stdout, whole (NULL when unreadable) */
	const char *out, *errf;	/* the files of its stdout and stderr */
};

/*
 * Run @argv in the background with stdout into @out and stderr into @err
 * (NULL: into @out too): its pid, or -1.
 */
static pid_t spawn(char *const argv[], const char *out, const char *err)
{
	pid_t pid;
	int o, e;

	fflush(stdout);
	pid = fork();
	if (pid)
		return pid;
	o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	e = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644) : o;
	if (o < 0 || e < 0)
		_exit(127);
	dup2(o, STDOUT_FILENO);
	dup2(e, STDERR_FILENO);
	execv(argv[0], argv);
	_exit(127);
}

/* Whether the file @path has @needle. */
static bool file_has(const char *path, const char *needle)
{
	char *text = read_text(path);
	bool found = text && strstr(text, needle);

	free(text);
	return found;
}

/*
 * pvxtop with @argv (--json among them), stdout into @out and stderr
 * into @err, until top_stop(), once its start line (printed when its
 * programs are attached) is there: true then. False when none came in
 * 10 s: it is ended, and the first line of its stderr is in @t->err for
 * top_start_failed().
 */
static bool top_start_as(struct top *t, char *const argv[], const char *out, const char *err)
{
	int i;

	memset(t, 0, sizeof(*t));
	t->out = out;
	t->errf = err;
	/*
	 * The last run's file has a start line: gone before the fork, so that
	 * only this pvxtop's can be found (the child truncates it later)
	 */
	unlink(out);
	unlink(err);
	t->pid = spawn(argv, out, err);
	for (i = 0; t->pid > 0 && i < 100; i++) {
		if (file_has(out, "\"type\":\"start\""))
			return true;
		/* gone: no start line will come */
		if (waitpid(t->pid, NULL, WNOHANG) == t->pid) {
			t->pid = 0;
			break;
		}
		sleep_ms(100);
	}
	if (t->pid > 0) {
		kill(t->pid, SIGTERM);
		wait_rc(t->pid);
		t->pid = 0;
	}
	if (sysfs_read_str(err, t->err, sizeof(t->err)))
		t->err[0] = '\0';
	return false;
}

/* pvxtop --json into TOP_JSON (stderr TOP_ERR), as top_start_as(). */
static bool top_start(struct top *t)
{
	static char *const argv[] = { PVXTOP, "--json", NULL };

	return top_start_as(t, argv, TOP_JSON, TOP_ERR);
}

/* @cmd ("pvxtop --json") gave no start line: one failed result. */
static void top_start_failed(const struct top *t, const char *cmd)
{
	ksft_test_result_fail("%s: no start line in 10 s # %s\n", cmd, t->err);
}

/*
 * Stop pvxtop --json with SIGINT (it prints its totals then): its exit
 * status, the start of its stderr and its output into @t. Whether it
 * printed its end line (its totals before it).
 */
static bool top_stop(struct top *t)
{
	if (t->pid > 0)
		kill(t->pid, SIGINT);
	t->rc = wait_rc(t->pid);
	t->pid = 0;
	file_head(t->errf, 200, t->err, sizeof(t->err));
	t->json = read_text(t->out);
	return t->json && strstr(t->json, "\"type\":\"end\"");
}

/* The result of top_stop() on @t, @cmd ("pvxtop --json") over @what. */
static void top_stop_result(const struct top *t, const char *cmd, const char *what)
{
	ksft_test_result(t->rc == 0, "%s over %s: exit 0 after SIGINT (exit %d) %s\n",
			 cmd, what, t->rc, t->err);
}

/*
 * Call @fn on each line of @text, cut at its newline for the call, until
 * it returns false.
 */
static void each_line(char *text, bool (*fn)(char *line, void *arg), void *arg)
{
	char *line = text, *end;
	bool more = true;

	while (line && *line && more) {
		end = strchr(line, '\n');
		if (end)
			*end = '\0';
		more = fn(line, arg);
		if (end)
			*end = '\n';
		line = end ? end + 1 : NULL;
	}
}

/* The number at @s (digits only, as pvxtop prints them), 0 when none. */
static long long number_at(const char *s)
{
	return isdigit((unsigned char)*s) ? strtoll(s, NULL, 10) : 0;
}

/* What top_value() looks for in pvxtop's lines, and what it found. */
struct key_scan {
	const char *type;	/* "type":"TYPE" of the lines to read */
	char key[64];		/* "NAME": */
	bool sum;		/* the sum over those lines, else the last one's */
	long long value;
};

static bool scan_line(char *line, void *arg)
{
	struct key_scan *k = arg;
	/* pvxtop names a key once a line */
	char *v = strstr(line, k->type) ? strstr(line, k->key) : NULL;

	if (v)
		k->value = (k->sum ? k->value : 0) + number_at(v + strlen(k->key));
	return true;
}

/*
 * The number after "@key": in pvxtop's lines of type @type: the sum over
 * them when @sum, else the last one's; 0 when none has it.
 */
static long long top_value(const struct top *t, const char *type, const char *key, bool sum)
{
	struct key_scan k = { .type = type, .sum = sum };

	snprintf(k.key, sizeof(k.key), "\"%s\":", key);
	each_line(t->json, scan_line, &k);
	return k.value;
}

/* The sum of the counter @key over pvxtop's "total" lines (one per CPU). */
static long long top_sum(const struct top *t, const char *key)
{
	return top_value(t, "\"type\":\"total\"", key, true);
}

/*
 * The events of @event (e.g. pvx/stimer_fire) that pvxtop's program was
 * skipped for, from its last end line (0 when it names none): the kernel
 * runs no tracing program on a CPU where BPF already runs (timer
 * interrupts during pvxtop's own map reads, on a slow nested machine).
 */
static long long top_missed(const struct top *t, const char *event)
{
	return top_value(t, "\"type\":\"end\"", event, false);
}

/* pvxtop's "total" lines as comments, as many as the int @arg says. */
static bool print_total(char *line, void *arg)
{
	int *left = arg;

	if (strstr(line, "\"type\":\"total\"")) {
		ksft_print_msg("%s\n", line);
		--*left;
	}
	return *left > 0;
}

/*
 * One check that pvxtop's @counted plus @missed is @want, the growth of
 * the module's own counter over the window.
 */
static void counted_all(const char *what, long long counted, long long missed, long long want)
{
	ksft_test_result(counted + missed == want, "pvxtop: %s %lld + %lld missed = %lld\n",
			 what, counted, missed, want);
}

/*
 * As counted_all(), for events that also come from outside the workload
 * (a timer of the steps before): pvxtop attaches before the first
 * reading of the counter and detaches after the last, so it sees at
 * least @want, and at most a few more.
 */
static void counted_window(const char *what, long long counted, long long missed,
			   long long want)
{
	long long got = counted + missed, most = want + 2 + want / 100;

	ksft_test_result(got >= want && got <= most,
			 "pvxtop: %s %lld + %lld missed = %lld, from %lld to %lld\n",
			 what, counted, missed, got, want, most);
}

/*
 * Each CPU has run this process since the caller's last reading of a
 * counter. A timer's hard irq counts its fire and then traces it; L2 may
 * stop the vCPU between the two (its steal injection does, for
 * milliseconds), so a pvxtop stopped right after that reading would miss
 * an event the counter has. A CPU that runs a process has finished the
 * hard irq it was in; sched_setaffinity() to one CPU returns on it.
 */
static void cpus_settle(void)
{
	long cpu, ncpus = sysconf(_SC_NPROCESSORS_CONF);
	cpu_set_t all, one;

	if (sched_getaffinity(0, sizeof(all), &all))
		return;
	for (cpu = 0; cpu < ncpus && cpu < CPU_SETSIZE; cpu++) {
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		sched_setaffinity(0, sizeof(one), &one);	/* offline: not there */
	}
	sched_setaffinity(0, sizeof(all), &all);
}

/* ---- --probes ------------------------------------------------------------ */

static long long pvx_stat(const char *name)
{
	return sysfs_read_counter(STATSDIR, name);
}

/* @times PROBE calls (reprobe; an error changes nothing here) */
static void reprobe(int times)
{
	while (times-- > 0)
		write_file(REPROBE, "1");
}

/*
 * @path's lines as comments, each without the blanks at its ends (as
 * init.sh's "while read -r l; do diag "$l"; done" printed them).
 */
static void print_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *s, *e;
	size_t len = 0;

	while (f && getline(&line, &len, f) > 0) {
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		ksft_print_msg("%s\n", s);
	}
	free(line);
	if (f)
		fclose(f);
}

/* pvxtop's table (-d 2) over 10 reprobes, as comments. */
static void table_diag(void)
{
	static char *const argv[] = { PVXTOP, "-d", "2", NULL };
	pid_t pid = spawn(argv, TOP_TXT, NULL);

	sleep(1);
	reprobe(10);
	wait_rc(pid);
	print_lines(TOP_TXT);
}

/* pvxtop --advise with the bad input @args: one line (on stderr), exit 1. */
static void bad_advise(const char *args)
{
	char words[16], first[256], *argv[5] = { PVXTOP, "--advise" }, *text;
	const char *nl;
	int rc, lines = 0;

	/* one or two words */
	snprintf(words, sizeof(words), "%s", args);
	argv[2] = strtok(words, " ");
	argv[3] = argv[2] ? strtok(NULL, " ") : NULL;
	rc = wait_rc(spawn(argv, BAD_OUT, NULL));
	text = read_text(BAD_OUT);
	for (nl = text; nl && (nl = strchr(nl, '\n')); nl++)
		lines++;
	snprintf(first, sizeof(first), "%s", text ? text : "");
	first[strcspn(first, "\n")] = '\0';
	free(text);
	ksft_test_result(rc == 1 && lines == 1,
			 "pvxtop --advise %s: exit 1 with one line (exit %d: %s)\n", args, rc,
			 first);
}

static int probes_test(void)
{
	long long h0, e0, r0, h, e, r, issued, error, refused;
	int totals = 2;
	struct top t;
	bool end;

	if (access(PVXTOP, X_OK))
		ksft_exit_skip("no %s in the initramfs\n", PVXTOP);
	/*
	 * stopped after the last PROBE, not at a fixed -d: on a loaded lab
	 * the 20 PROBEs took over 6 s (CI saw 19 of 20); no periodic PROBE
	 * in the window: pvxtop sees from before the first reading to after
	 * the last, the counters only between them
	 */
	write_file(REPROBE_MS, "0");
	if (!top_start(&t)) {
		ksft_set_plan(1);
		top_start_failed(&t, "pvxtop --json");
		write_file(REPROBE_MS, "1000");
		ksft_finished();
	}
	h0 = pvx_stat("hypercalls");
	e0 = pvx_stat("errors");
	r0 = pvx_stat("refused");
	reprobe(20);
	h = pvx_stat("hypercalls") - h0;
	e = pvx_stat("errors") - e0;
	r = pvx_stat("refused") - r0;
	end = top_stop(&t);
	write_file(REPROBE_MS, "1000");
	ksft_set_plan(end ? PROBES_TESTS : PROBES_NO_END);
	top_stop_result(&t, "pvxtop --json", "20 PROBE calls in the guest");
	if (!end) {
		free(t.json);
		ksft_finished();
	}
	issued = top_sum(&t, "hc_issued") + top_sum(&t, "hc_error");
	error = top_sum(&t, "hc_error");
	refused = top_sum(&t, "hc_refused");
	/* init.sh's run_test puts "pvxtop: " before these */
	ksft_test_result(issued == h && h >= 20,
			 "guest hypercalls issued %lld = stats/hypercalls growth %lld (>= 20)\n",
			 issued, h);
	ksft_test_result(error == e,
			 "guest hypercalls answered < 0 %lld = stats/errors growth %lld\n",
			 error, e);
	ksft_test_result(refused == r,
			 "guest hypercalls refused %lld = stats/refused growth %lld\n",
			 refused, r);
	each_line(t.json, print_total, &totals);
	free(t.json);
	table_diag();
	bad_advise("-d 0");
	bad_advise("-d x");
	bad_advise("-i 1");
	ksft_finished();
}

/* ---- --window ------------------------------------------------------------ */

#define MAX_COUNTERS	5

/* The counters a window reads, and pvxtop's checks on them. */
struct window {
	const char *name;	/* --window NAME */
	const char *over;	/* "pvxtop --json over ..." */
	const char *dir;
	const char *counters[MAX_COUNTERS + 1];
	void (*checks)(const struct top *t, const long long *growth);
};

/* A counter of @w's, 0 when unreadable (as init.sh read them). */
static long long counter(const struct window *w, const char *name)
{
	long long v = sysfs_read_counter(w->dir, name);

	return v < 0 ? 0 : v;
}

/*
 * The lock tortures: @growth has yields_issued, yields_granted, halts,
 * kicks and kick_misses'. The events fire where those count; a mode
 * without yields (spin, halt-only) issues none.
 */
static void spin_checks(const struct top *t, const long long *growth)
{
	long long y = growth[0], g = growth[1], th = growth[2], tk = growth[3], tm = growth[4];
	long long c = top_sum(t, "spin_yields"), d = top_sum(t, "spin_done");
	long long mi = top_missed(t, "pvx/spin_yield"), kk, km;
	const char *end = strstr(t->json, "\"type\":\"end\""), *h;
	static const char over[] = "pvxtop over the lock tortures";
	/* the comment's names of pvxtop's yield counters */
	static const char *const yield_keys[][2] = {
		{ "spin_yields", "spin_yields" }, { "done", "spin_done" },
		{ "not_done", "spin_not_done" }, { "target_running", "spin_target_running" },
		{ "error", "spin_error" }, { "holder preempted", "spin_preempted" },
		{ "to the next waiter", "spin_next" },
	};
	char m[32], counts[512], sysfs[96];
	bool attached = false;
	size_t i, len = 0;

	if (sysfs_read_str(SPINDIR "/mode", m, sizeof(m)))
		m[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(yield_keys); i++)
		len += snprintf(counts + len, sizeof(counts) - len, "%s%s %lld", i ? ", " : "",
				yield_keys[i][0], top_sum(t, yield_keys[i][1]));
	ksft_print_msg("%s (mode %s): %s\n", over, m, counts);
	if (!strcmp(m, "pvx-yield") || !strcmp(m, "sched-yield"))
		counted_all("pvx:spin_yield, spinlock/yields_issued growth", c, mi, y);
	else
		ksft_test_result_code(KSFT_SKIP, "pvxtop: pvx:spin_yield vs yields_issued",
				      "mode %s issues no yield", m);
	if (!strcmp(m, "pvx-yield"))
		ksft_test_result(d <= g && g <= d + mi,
				 "pvxtop: spin_yield answered done %lld (+ up to %lld missed) = spinlock/yields_granted growth %lld\n",
				 d, mi, g);
	/* an end line naming the two events, halt then kick */
	for (h = end; h && !attached && (h = strstr(h, "\"pvx/spin_halt\":")); h++) {
		h += strlen("\"pvx/spin_halt\":");
		h += strspn(h, "0123456789");
		attached = !strncmp(h, ",\"pvx/spin_kick\":", 17) && isdigit((unsigned char)h[17]);
	}
	ksft_test_result(attached,
			 "pvxtop attached to pvx:spin_halt and pvx:spin_kick (end line)\n");
	counted_all("pvx:spin_halt, spinlock/halts growth", top_sum(t, "spin_halts"),
		    top_missed(t, "pvx/spin_halt"), th);
	kk = top_sum(t, "spin_kicks");
	km = top_sum(t, "spin_kick_misses");
	mi = top_missed(t, "pvx/spin_kick");
	counted_all("pvx:spin_kick, spinlock/kicks + kick_misses growth", kk + km, mi, tk + tm);
	ksft_test_result(kk <= tk && tk <= kk + mi,
			 "pvxtop: spin_kick kicks %lld (+ up to %lld missed) = spinlock/kicks growth %lld\n",
			 kk, mi, tk);
	snprintf(sysfs, sizeof(sysfs), "(sysfs +%lld, +%lld, +%lld)", th, tk, tm);
	ksft_print_msg("%s: halts %lld, kicks %lld, kick misses %lld %s\n", over,
		       top_sum(t, "spin_halts"), kk, km, sysfs);
}

/*
 * pvx_stimer_test: @growth has fired_effective, fired_cap and rearms'. A
 * timer armed before the window may fire in it, on the cap too.
 */
static void stimer_checks(const struct top *t, const long long *growth)
{
	long long fe = growth[0], fc = growth[1], r = growth[2];
	long long mi = top_missed(t, "pvx/stimer_fire"), tc = top_sum(t, "timer_cap");

	counted_window("stimer_fire, fired_effective + fired_cap growth",
		       top_sum(t, "timer_fires"), mi, fe + fc);
	ksft_test_result(tc <= fc + 2 && fc <= tc + mi,
			 "pvxtop: stimer_fire on the cap %lld (+ up to %lld missed) = fired_cap growth %lld (+ up to 2 from outside)\n",
			 tc, mi, fc);
	counted_window("stimer_rearm, rearms growth", top_sum(t, "timer_rearms"),
		       top_missed(t, "pvx/stimer_rearm"), r);
}

static const struct window windows[] = {
	{
		.name = "spin", .over = "the lock tortures", .dir = SPINDIR,
		.counters = { "yields_issued", "yields_granted", "halts", "kicks",
			      "kick_misses" },
		.checks = spin_checks,
	},
	{
		.name = "stimer", .over = "pvx_stimer_test", .dir = STIMERDIR,
		.counters = { "fired_effective", "fired_cap", "rearms" },
		.checks = stimer_checks,
	},
};

/* In piped_child()'s child: the program of the argv @arg. */
static void exec_program(const void *arg)
{
	char *const *argv = arg;

	execv(argv[0], argv);
	fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Run @argv with its TAP relayed as this program's results (its stderr
 * is this program's). A program that exits neither 0 nor 4 without a
 * failed result (killed, or a bail-out) is one failed result more.
 */
static void run_relayed(char *const argv[])
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	run_child_relayed(exec_program, argv, name);
}

static int window_test(const struct window *w, char *const argv[])
{
	long long before[MAX_COUNTERS], growth[MAX_COUNTERS];
	bool started, end;
	struct top t;
	int i;

	/* no pvxtop: the program alone, as if it were run itself */
	if (access(PVXTOP, X_OK)) {
		execv(argv[0], argv);
		ksft_exit_fail_msg("%s: %s\n", argv[0], strerror(errno));
	}
	ksft_print_header();
	started = top_start(&t);
	if (!started)
		top_start_failed(&t, "pvxtop --json");
	for (i = 0; started && w->counters[i]; i++)
		before[i] = counter(w, w->counters[i]);
	run_relayed(argv);
	if (started) {
		for (i = 0; w->counters[i]; i++)
			growth[i] = counter(w, w->counters[i]) - before[i];
		cpus_settle();
		end = top_stop(&t);
		top_stop_result(&t, "pvxtop --json", w->over);
		if (end)
			w->checks(&t, growth);
		free(t.json);
	}
	ksft_set_plan(ksft_test_num());
	ksft_finished();
}

#define USAGE	"usage: pvxtop_guest_test --probes\n" \
	"       pvxtop_guest_test --window spin|stimer -- PROGRAM [ARG...]\n" \
	"       pvxtop_guest_test --tune spin TORTURE_KO BUDGET_MS short|full\n" \
	"       pvxtop_guest_test --tune cap STIMER_TEST\n"

/* ---- --tune -------------------------------------------------------------- */

/*
 * A tuning session of Documentation/tuning.rst: rounds of a workload,
 * each watched by pvxtop --advise, the knob turned as it advises. In
 * every round its numbers must be the sysfs counters' growth and its
 * verdict the rule's (advise_rules.h) on that growth.
 */
#define ADVISE_IDLE	"/tmp/advise-idle.json"
#define ADVISE_ERR	"/tmp/advise-idle.err"
#define TORTURE_MOD	"pvx_lock_torture"
#define TORTURE_RESULTS	"/sys/kernel/debug/pvx_lock_torture/results"
#define LOAD_OUT	"/tmp/load.out"
#define MAX_TURNS	3	/* rounds at advised values, at most */
#define ACQ_LINE	"# %31[0-9] thread acquisitions in all phases"

/* pvxtop --advise --json and its text twin over one round. */
struct advise {
	struct top json;
	pid_t txt_pid;
	char json_path[64], err_path[64], txt_path[64];
};

/* what a round advised: "VERDICT" or "change DIRECTION SUGGESTED" */
#define ADVISED_LEN	64

/*
 * The text after "@key": in the first line of @json that names the knob
 * @knob, into @buf: a string's characters or a number's; "" when none.
 */
static char *advice_field(const char *json, const char *knob, const char *key, char *buf,
			  size_t size)
{
	char want[64], name[64];
	const char *line = json, *end, *v;
	size_t n;

	buf[0] = '\0';
	snprintf(want, sizeof(want), "\"knob\":\"%s\"", knob);
	snprintf(name, sizeof(name), "\"%s\":", key);
	for (; line && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		v = strstr(line, want);
		if (!v || (end && v > end))
			continue;
		v = strstr(line, name);
		if (!v || (end && v > end))
			return buf;
		v += strlen(name);
		n = *v == '"' ? strcspn(++v, "\"\n") : strspn(v, "0123456789.");
		snprintf(buf, size, "%.*s", (int)n, v);
		return buf;
	}
	return buf;
}

static long long advice_num(const char *json, const char *knob, const char *key)
{
	char v[32];

	return atoll(advice_field(json, knob, key, v, sizeof(v)));
}

/* What pvxtop advised on @knob: "VERDICT", or "change DIRECTION SUGGESTED". */
static void advice_got(const char *json, const char *knob, char *buf, size_t size)
{
	char v[32], dir[32], to[32];

	advice_field(json, knob, "verdict", v, sizeof(v));
	if (strcmp(v, "change"))
		snprintf(buf, size, "%s", v);
	else
		snprintf(buf, size, "change %s %s", advice_field(json, knob, "direction", dir,
								 sizeof(dir)),
			 advice_field(json, knob, "suggested", to, sizeof(to)));
}

/*
 * What the rule says on a window: too few events (@enough false), no
 * change (@raises false, or @cur already where a raise goes), or a raise
 * from @cur to @to; in advice_got()'s words.
 */
static void rule_verdict(bool enough, bool raises, unsigned long long cur,
			 unsigned long long to, char *buf, size_t size)
{
	if (!enough)
		snprintf(buf, size, "too_few");
	else if (!raises || to == cur)
		snprintf(buf, size, "none");
	else
		snprintf(buf, size, "change raise %llu", to);
}

static bool print_advice(char *line, void *arg)
{
	(void)arg;
	if (strstr(line, "\"type\":\"advice\""))
		ksft_print_msg("%s\n", line);
	return true;
}

/*
 * pvxtop --advise --json -d 600 (its window ends at advise_stop()'s
 * SIGINT), its start line within 10 s, and the same as text, for the eye
 * (tuning.rst shows it), into /tmp/advise-@tag.json and .txt: true then.
 */
static bool advise_start(struct advise *a, const char *tag)
{
	static char *const json[] = { PVXTOP, "--advise", "--json", "-d", "600", NULL };
	static char *const txt[] = { PVXTOP, "--advise", "-d", "600", NULL };

	snprintf(a->json_path, sizeof(a->json_path), "/tmp/advise-%s.json", tag);
	snprintf(a->err_path, sizeof(a->err_path), "/tmp/advise-%s.err", tag);
	snprintf(a->txt_path, sizeof(a->txt_path), "/tmp/advise-%s.txt", tag);
	a->txt_pid = spawn(txt, a->txt_path, NULL);
	if (!top_start_as(&a->json, json, a->json_path, a->err_path)) {
		top_start_failed(&a->json, "pvxtop --advise --json");
		kill(a->txt_pid, SIGTERM);
		wait_rc(a->txt_pid);
		return false;
	}
	/* the text run has no start line: it loads as fast, give it 1 s */
	sleep(1);
	return true;
}

/*
 * Both stopped with SIGINT: the exit check of the JSON run over @what,
 * its advice lines and the text run's lines as comments. Whether it
 * exited 0 with its end line.
 */
static bool advise_stop(struct advise *a, const char *what)
{
	bool end;

	kill(a->txt_pid, SIGINT);
	end = top_stop(&a->json);
	wait_rc(a->txt_pid);
	top_stop_result(&a->json, "pvxtop --advise --json", what);
	each_line(a->json.json, print_advice, NULL);
	print_lines(a->txt_path);
	return a->json.rc == 0 && end;
}

/* pvxtop's table for @secs in the background into @path (a session's first round). */
static pid_t top_during(const char *secs, const char *path)
{
	char *const argv[] = { PVXTOP, "-d", (char *)secs, NULL };

	return spawn(argv, path, NULL);
}

/* ... waited for, its screens as comments. */
static void top_done(pid_t pid, const char *path)
{
	wait_rc(pid);
	print_lines(path);
}

/* With nothing running, 2 s are too few events to judge @knob. */
static void advise_idle(const char *knob)
{
	static char *const argv[] = { PVXTOP, "--advise", "--json", "-d", "2", NULL };
	int rc = wait_rc(spawn(argv, ADVISE_IDLE, ADVISE_ERR));
	char *json = read_text(ADVISE_IDLE), v[32];

	advice_field(json, knob, "verdict", v, sizeof(v));
	ksft_test_result(rc == 0 && !strcmp(v, "too_few"),
			 "pvxtop --advise -d 2 with no load: %s has too few events to judge (exit %d, '%s')\n",
			 knob, rc, v);
	free(json);
}

/* The knob @path set to @value (a number). */
static void knob_set(const char *path, unsigned long long value)
{
	char v[32];

	snprintf(v, sizeof(v), "%llu", value);
	write_file(path, v);
}

/* pvxtop --advise says the knob's value now is @value. */
static void advice_current(const struct advise *a, const char *knob, unsigned long long value)
{
	char cur[32];

	advice_field(a->json.json, knob, "current", cur, sizeof(cur));
	ksft_test_result(strtoull(cur, NULL, 10) == value && cur[0],
			 "pvxtop --advise: %s now '%s' = %llu\n", knob, cur, value);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A session's rounds and their workload. */
struct session {
	/* one round at @value, tagged @tag: false ends the session */
	bool (*round)(const struct session *s, unsigned long long value, const char *tag,
		      char *advised);
	const char *torture_ko;		/* spin: pvx_lock_torture.ko */
	const char *budget_ms;		/* spin: each round's */
	const char *load_prog;		/* cap: pvx_stimer_test */
};

/*
 * After a round that advised @advised, run rounds at the value advised
 * while a change is advised, at most MAX_TURNS, tagged @tag and the
 * value: the last value run (@from when none), 0 when a round ended the
 * session.
 */
static unsigned long long follow_advice(const struct session *s, const char *tag,
					unsigned long long from, char *advised)
{
	unsigned long long v = from;
	char t[48];
	int i;

	for (i = 0; i < MAX_TURNS && !strncmp(advised, "change ", 7); i++) {
		v = strtoull(strrchr(advised, ' ') + 1, NULL, 10);
		snprintf(t, sizeof(t), "%s%llu", tag, v);
		if (!s->round(s, v, t, advised))
			return 0;
	}
	return v;
}

/* The torture's "# N thread acquisitions in all phases" ("" when none). */
static void torture_acquisitions(const char *text, char buf[32])
{
	const char *line;
	int end;

	buf[0] = '\0';
	for (line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		end = 0;
		if (sscanf(line, ACQ_LINE "%n", buf, &end) == 1 && end)
			return;
		buf[0] = '\0';
	}
}

/*
 * pvx_lock_torture's mutex phase for the session's budget, in a load of
 * its own, its results relayed after "pvx_lock_torture tune @tag: ";
 * its acquisitions into @acq. The budget alone ends the round (mutex_ops
 * at its largest): with the lock's fast path inline, the default million
 * acquisitions took 0.5 s of a 4 s round once, too few yields to judge.
 */
static void torture_round(const struct session *s, const char *tag, char acq[32])
{
	char params[128], prefix[64];
	char *text = NULL;
	int err;

	snprintf(params, sizeof(params),
		 "phases=mutex mutex_ops=4294967295 budget_ms=%s hang_timeout=150",
		 s->budget_ms);
	snprintf(prefix, sizeof(prefix), "pvx_lock_torture tune %s", tag);
	err = module_load(s->torture_ko, params);
	if (!err)
		text = read_text(TORTURE_RESULTS);
	if (text) {
		torture_acquisitions(text, acq);
		strcat(prefix, ": ");
		relay_text(text, prefix);
	} else {
		acq[0] = '\0';
		ksft_test_result_fail("%s # %s\n", prefix,
				      err ? strerror(-err) : "no " TORTURE_RESULTS);
	}
	free(text);
	module_unload(TORTURE_MOD);
}

static long long spin_counter(const char *name)
{
	long long v = sysfs_read_counter(SPINDIR, name);

	return v < 0 ? 0 : v;
}

/*
 * One round of the spin_threshold session at @thr: the torture's mutex
 * phase under pvxtop --advise, whose yields and slow paths must be the
 * growth of yields_issued and slow_paths, its verdict the rule's.
 */
static bool spin_round(const struct session *s, unsigned long long thr, const char *tag,
		       char *advised)
{
	long long y0, p0, y, p;
	char what[96], acq[32], thy[32], run[32], dn[32], want[64], sp[32];
	struct advise a;
	pid_t top = 0;
	double t0;
	const char *json;

	knob_set(SPINDIR "/spin_threshold", thr);
	if (!advise_start(&a, tag))
		return false;
	y0 = spin_counter("yields_issued");
	p0 = spin_counter("slow_paths");
	t0 = now_s();
	snprintf(what, sizeof(what), "pvx_lock_torture tune %s (spin_threshold %llu)", tag, thr);
	console_step(what);
	if (!strcmp(tag, "from64"))
		top = top_during("4", "/tmp/top-spin.txt");
	torture_round(s, tag, acq);
	t0 = now_s() - t0;
	if (top)
		top_done(top, "/tmp/top-spin.txt");
	y = spin_counter("yields_issued") - y0;
	p = spin_counter("slow_paths") - p0;
	snprintf(what, sizeof(what), "the torture with spin_threshold %llu", thr);
	if (!advise_stop(&a, what)) {
		free(a.json.json);
		return false;
	}
	json = a.json.json;
	ksft_print_msg("tune spin_threshold=%llu acquisitions=%s seconds=%.1f %s=%lld %s=%lld\n",
		       thr, acq, t0, "yields_issued", y, "slow_paths", p);
	advice_current(&a, "spin_threshold", thr);
	counted_all("--advise yields, spinlock/yields_issued growth",
		    advice_num(json, "spin_threshold", "yields"),
		    top_missed(&a.json, "pvx/spin_yield"), y);
	advice_field(json, "spin_threshold", "slow_paths", sp, sizeof(sp));
	ksft_test_result(sp[0] && atoll(sp) == p,
			 "pvxtop --advise: slow paths %s = spinlock/slow_paths growth %lld\n",
			 sp, p);
	advice_field(json, "spin_threshold", "threshold_yields", thy, sizeof(thy));
	advice_field(json, "spin_threshold", "target_running", run, sizeof(run));
	advice_field(json, "spin_threshold", "done", dn, sizeof(dn));
	advice_got(json, "spin_threshold", advised, ADVISED_LEN);
	rule_verdict(atoll(thy) >= SPIN_MIN_YIELDS,
		     spin_rule_raises(atoll(thy), atoll(run), p), thr, spin_rule_raise_to(thr),
		     want, sizeof(want));
	ksft_test_result(thy[0] && !strcmp(advised, want),
			 "pvxtop --advise at spin_threshold %llu: '%s', the rule on %s threshold yields (%s running, %s done) in %lld slow paths: '%s'\n",
			 thr, advised, thy, run, dn, p, want);
	free(a.json.json);
	return true;
}

static long long stimer_counter(const char *name)
{
	long long v = sysfs_read_counter(STIMERDIR, name);

	return v < 0 ? 0 : v;
}

/*
 * pvx_stimer_test --load 4 (20 ms timer fds busy-polled on every CPU):
 * false, with one failed result, when it did not exit 0.
 */
static bool timer_load(const struct session *s, unsigned long long cap, char *last,
		       size_t size)
{
	char *const argv[] = { (char *)s->load_prog, "--load", "4", NULL };
	int rc = wait_rc(spawn(argv, LOAD_OUT, NULL));
	char *text = read_text(LOAD_OUT), *l;

	/* its last line */
	l = text ? text + strlen(text) : NULL;
	while (l && l > text && l[-1] == '\n')
		*--l = '\0';
	l = l ? strrchr(text, '\n') : NULL;
	snprintf(last, size, "%s", l ? l + 1 : text ? text : "");
	free(text);
	if (rc)
		ksft_test_result_fail("pvx_stimer_test --load 4 (cap_factor %llu) # %s\n",
				      cap, last);
	return !rc;
}

/*
 * One round of the cap_factor session at @cap: the timer load under
 * pvxtop --advise, whose fires and cap must be the growth of
 * fired_effective + fired_cap and fired_cap, its verdict the rule's.
 */
static bool cap_round(const struct session *s, unsigned long long cap, const char *tag,
		      char *advised)
{
	long long fe0, fc0, fe, fc, mi, tc;
	char what[96], last[160], want[64], rearms[32];
	struct advise a;
	pid_t top = 0;
	const char *json;

	knob_set(STIMERDIR "/cap_factor", cap);
	if (!advise_start(&a, tag))
		return false;
	fe0 = stimer_counter("fired_effective");
	fc0 = stimer_counter("fired_cap");
	snprintf(what, sizeof(what), "pvx_stimer_test --load 4 (cap_factor %llu)", cap);
	console_step(what);
	if (!strcmp(tag, "cap1"))
		top = top_during("3", "/tmp/top-cap.txt");
	timer_load(s, cap, last, sizeof(last));
	if (top)
		top_done(top, "/tmp/top-cap.txt");
	fe = stimer_counter("fired_effective") - fe0;
	fc = stimer_counter("fired_cap") - fc0;
	cpus_settle();
	snprintf(what, sizeof(what), "a timer load with cap_factor %llu", cap);
	if (!advise_stop(&a, what)) {
		free(a.json.json);
		return false;
	}
	json = a.json.json;
	ksft_print_msg("tune cap_factor=%llu fires=%lld cap=%lld rearms=%s (%s)\n", cap, fe + fc,
		       fc, advice_field(json, "cap_factor", "rearms", rearms, sizeof(rearms)),
		       last);
	advice_current(&a, "cap_factor", cap);
	mi = top_missed(&a.json, "pvx/stimer_fire");
	tc = advice_num(json, "cap_factor", "cap");
	counted_all("--advise fires, fired_effective + fired_cap growth",
		    advice_num(json, "cap_factor", "fires"), mi, fe + fc);
	ksft_test_result(tc <= fc && fc <= tc + mi,
			 "pvxtop --advise: on the cap %lld (+ up to %lld missed) = fired_cap growth %lld\n",
			 tc, mi, fc);
	advice_got(json, "cap_factor", advised, ADVISED_LEN);
	rule_verdict(fe + fc >= CAP_MIN_FIRES, cap_rule_raises(fe + fc, fc), cap,
		     cap_rule_raise_to(cap), want, sizeof(want));
	ksft_test_result(!strcmp(advised, want),
			 "pvxtop --advise at cap_factor %llu: '%s', the rule on %lld expiries (%lld on the cap): '%s'\n",
			 cap, advised, fe + fc, fc, want);
	free(a.json.json);
	return true;
}

/*
 * The rounds tuning.rst compares, after the session stopped at @v: 64 and
 * @v once more each (the lab's speed drifts), then the default 16384.
 */
static void comparison_rounds(const struct session *s, unsigned long long v, char *advised)
{
	char tag[32];

	if (v != 64) {
		snprintf(tag, sizeof(tag), "again%llu", v);
		if (!spin_round(s, 64, "again64", advised) || !spin_round(s, v, tag, advised))
			return;
	}
	spin_round(s, 16384, "default", advised);
}

/*
 * --tune spin: in mode pvx-yield, from spin_threshold 64 on the torture,
 * turned as advised; with @full the comparison rounds tuning.rst quotes
 * (64 and the last value again, the default 16384), which check nothing
 * the rounds before did not. spin_threshold is the default again after.
 * In another mode pvxtop must not judge spin_threshold.
 */
static void spin_session(const struct session *s, bool full)
{
	static char *const argv[] = { PVXTOP, "--advise", "--json", "-d", "1", NULL };
	char mode[32] = "", advised[ADVISED_LEN], why[256], *json;
	unsigned long long v;

	sysfs_read_str(SPINDIR "/mode", mode, sizeof(mode));
	if (strcmp(mode, "pvx-yield")) {
		wait_rc(spawn(argv, "/tmp/advise-mode.json", NULL));
		json = read_text("/tmp/advise-mode.json");
		advice_field(json, "spin_threshold", "verdict", advised, sizeof(advised));
		ksft_test_result(!strcmp(advised, "not_judged"),
				 "pvxtop --advise in mode %s: spin_threshold not judged (%s)\n",
				 mode,
				 advice_field(json, "spin_threshold", "why", why, sizeof(why)));
		free(json);
		return;
	}
	advise_idle("spin_threshold");
	if (spin_round(s, 64, "from64", advised)) {
		ksft_test_result(strcmp(advised, "too_few"),
				 "pvxtop --advise judged spin_threshold 64 on the torture (not too few yields): '%s'\n",
				 advised);
		v = follow_advice(s, "step", 64, advised);
		if (v && full)
			comparison_rounds(s, v, advised);
	}
	knob_set(SPINDIR "/spin_threshold", 16384);
}

/*
 * --tune cap (pvx_stimer with the kvm-steal-time source): from cap_factor
 * 1 under the timer load, where a raise must be advised, turned as
 * advised; cap_factor is the default 4 again after.
 */
static void cap_session(const struct session *s)
{
	char advised[ADVISED_LEN];

	advise_idle("cap_factor");
	if (cap_round(s, 1, "cap1", advised)) {
		ksft_test_result(!strncmp(advised, "change raise ", 13),
				 "cap_factor 1 under a busy load: a raise advised ('%s')\n",
				 advised);
		follow_advice(s, "cap", 1, advised);
	}
	knob_set(STIMERDIR "/cap_factor", 4);
}

/*
 * A spin round's budget in ms: it alone ends the round (torture_round),
 * so 0 (the torture's "no limit") or more than a minute is refused.
 */
static bool budget_ok(const char *ms)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(ms, &end, 10);
	return !errno && end != ms && !*end && v >= 1 && v <= 60000;
}

static int tune_test(int argc, char **argv)
{
	struct session s = { 0 };
	char src[32] = "";

	if (access(PVXTOP, X_OK))
		ksft_exit_skip("no %s in the initramfs\n", PVXTOP);
	if (argc == 6 && !strcmp(argv[2], "spin")) {
		if (!budget_ok(argv[4]))
			ksft_exit_fail_msg("budget '%s': 1..60000 ms\n", argv[4]);
		s = (struct session){ .round = spin_round,
				      .torture_ko = argv[3], .budget_ms = argv[4] };
		spin_session(&s, !strcmp(argv[5], "full"));
	} else if (argc == 4 && !strcmp(argv[2], "cap")) {
		sysfs_read_str(STIMERDIR "/steal_source", src, sizeof(src));
		if (strcmp(src, "kvm-steal-time"))
			ksft_exit_skip("steal source '%s': the cap_factor session needs %s\n",
				       src, "kvm-steal-time");
		s = (struct session){ .round = cap_round,
				      .load_prog = argv[3] };
		cap_session(&s);
	} else {
		ksft_exit_fail_msg(USAGE);
	}
	ksft_set_plan(ksft_test_num());
	ksft_finished();
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
	unsigned int i;

	if (argc == 2 && !strcmp(argv[1], "--probes")) {
		ksft_print_header();
		return probes_test();
	}
	if (argc >= 5 && !strcmp(argv[1], "--window") && !strcmp(argv[3], "--")) {
		for (i = 0; i < ARRAY_SIZE(windows); i++)
			if (!strcmp(argv[2], windows[i].name))
				return window_test(&windows[i], argv + 4);
	}
	if (argc >= 3 && !strcmp(argv[1], "--tune")) {
		ksft_print_header();
		return tune_test(argc, argv);
	}
	/* run_kselftest.sh runs it without a mode: nothing to do there */
	if (argc == 1) {
		ksft_print_header();
		ksft_exit_skip("no mode: init.sh gives --probes, --window or --tune\n");
	}
	ksft_print_header();
	ksft_exit_fail_msg(USAGE);
}
