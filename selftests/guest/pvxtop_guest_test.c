// SPDX-License-Identifier: GPL-2.0
/*
 * pvxtop_guest_test: pvxtop in the L3 guest (Documentation/pvxtop.rst).
 * /pvx/pvxtop, the static build, counts pvx's tracepoints; its totals
 * must equal the growth of the modules' own sysfs counters over the same
 * window. init.sh runs it in three places:
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
#include "l3_tap.h"

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
 * pvxtop --json into TOP_JSON (stderr TOP_ERR) until top_stop(), once
 * its start line (printed when its programs are attached) is there:
 * true then. False when none came in 10 s: it is ended, and the first
 * line of its stderr is in @t->err for top_start_failed().
 */
static bool top_start(struct top *t)
{
	static char *const argv[] = { PVXTOP, "--json", NULL };
	int i;

	memset(t, 0, sizeof(*t));
	/*
	 * The last run's file has a start line: gone before the fork, so that
	 * only this pvxtop's can be found (the child truncates it later)
	 */
	unlink(TOP_JSON);
	unlink(TOP_ERR);
	t->pid = spawn(argv, TOP_JSON, TOP_ERR);
	for (i = 0; t->pid > 0 && i < 100; i++) {
		if (file_has(TOP_JSON, "\"type\":\"start\""))
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
	if (sysfs_read_str(TOP_ERR, t->err, sizeof(t->err)))
		t->err[0] = '\0';
	return false;
}

static void top_start_failed(const struct top *t)
{
	ksft_test_result_fail("pvxtop --json: no start line in 10 s # %s\n", t->err);
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
	file_head(TOP_ERR, 200, t->err, sizeof(t->err));
	t->json = read_text(TOP_JSON);
	return t->json && strstr(t->json, "\"type\":\"end\"");
}

/* The result of top_stop() on @t, a window over @what. */
static void top_stop_result(const struct top *t, const char *what)
{
	ksft_test_result(t->rc == 0, "pvxtop --json over %s: exit 0 after SIGINT (exit %d) %s\n",
			 what, t->rc, t->err);
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
		top_start_failed(&t);
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
	top_stop_result(&t, "20 PROBE calls in the guest");
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
	unsigned int results = 0, failed = 0;
	char *line = NULL;
	size_t len = 0;
	FILE *out;
	pid_t pid = piped_child(exec_program, argv, &out);
	int rc;

	while (out && getline(&line, &len, out) > 0) {
		failed += !strncmp(line, "not ok ", 7);
		relay_line(line, "", &results);
	}
	free(line);
	if (out)
		fclose(out);
	rc = wait_rc(pid);
	if (rc != 0 && rc != KSFT_SKIP && !failed)
		ksft_test_result_fail("%s exits %d\n", name, rc);
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
		top_start_failed(&t);
	for (i = 0; started && w->counters[i]; i++)
		before[i] = counter(w, w->counters[i]);
	run_relayed(argv);
	if (started) {
		for (i = 0; w->counters[i]; i++)
			growth[i] = counter(w, w->counters[i]) - before[i];
		cpus_settle();
		end = top_stop(&t);
		top_stop_result(&t, w->over);
		if (end)
			w->checks(&t, growth);
		free(t.json);
	}
	ksft_set_plan(ksft_test_num());
	ksft_finished();
}

/* ---- main ---------------------------------------------------------------- */

#define USAGE	"usage: pvxtop_guest_test --probes\n" \
	"       pvxtop_guest_test --window spin|stimer -- PROGRAM [ARG...]\n"

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
	/* run_kselftest.sh runs it without a mode: nothing to do there */
	if (argc == 1) {
		ksft_print_header();
		ksft_exit_skip("no mode: init.sh gives --probes or --window\n");
	}
	ksft_print_header();
	ksft_exit_fail_msg(USAGE);
}
