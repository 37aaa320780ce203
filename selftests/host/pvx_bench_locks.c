// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_bench_locks: the lock benchmark of make bench (issue 3; its
 * userspace part: issues 14 and 29), run in the L2 KVM host by
 * scripts/bench-l2.sh for PVX_BENCH=locks and PVX_BENCH=ulocks
 * (Documentation/bench.rst).
 *
 *   pvx_bench_locks [locks|ulocks]      (default locks)
 *   pvx_bench_locks --tables FILE...    the tables of a run's
 *                                       bench-results.txt, again; of
 *                                       several runs' rounds pooled
 *   pvx_bench_locks --kept CONSOLE...   the rounds that L3 consoles of
 *                                       boots that reset kept, as the
 *                                       next boot would resume them
 *
 * Loads pvx_host and pvx_yield next to kvm_amd, boots one L3 guest with
 * twice as many vCPUs as L2 has CPUs (2x overcommit) from the bench
 * initramfs (selftests/guest/bench/), which runs pvx_lock_bench.ko (a
 * plain ticket lock, the kernel's spinlock_t, struct pvx_spinlock, that
 * lock with skip=0, and a second spinlock_t, whose numbers against the
 * first say what a verdict on two runs of one lock is worth: A/A) and
 * pvx_ulock_bench (userspace: pthread mutex, a ticket lock giving way
 * with sched_yield() or with PVX_IOC_YIELD_TO, libpvx's lock; 2 x as
 * many threads as vCPUs and as many), then prints the tables of ratios.
 * ulocks: the userspace part alone.
 *
 * Output: TAP 13 (kselftest.h), the plan at the end; the tables, the
 * floors and the raw result lines are "#" lines. A test fails only when
 * a number is missing or a lock did not exclude; a round that hit max_ms
 * is noted (its rate and latencies are still measured). Floors are
 * reported (met/MISSED, on the median of the rounds' own ratios, with n
 * and min-max: bench_stat.h), never asserted; beside them, a sign test
 * says on which side of the native lock the rounds fall, or that they
 * fall as two runs of one lock do. Exit 0 when every test passed.
 *
 * Environment (set by the lab): PVX_REPO (the working directory),
 * PVX_ABI, PVX_BUILD, PVX_KIMAGE, PVX_L3_MEM, PVX_OUT. Knobs:
 * PVX_BENCH_INITRD (default $PVX_BUILD/l3-bench-initrd.gz; built here
 * when missing), PVX_BENCH_L3_CPUS (default 2 x L2's CPUs),
 * PVX_BENCH_L3_BOOTS (boots of an L3 guest that resets itself, 1..9,
 * default 4; a boot resumes after the rounds the ones before kept),
 * PVX_BENCH_TIMEOUT (s, default 1800: 18 kernel rounds and 10 userspace
 * ones), and, passed to the guest (selftests/guest/bench/pvx_bench_guest.c),
 * PVX_BENCH_ACQ, _UACQ, _THREADS, _CS, _THINK, _MAX_MS, _ROUNDS (1..64),
 * _TICKET_ROUNDS (1.._ROUNDS), _COUNT_PASSES, _RATE, _UROUNDS, _UTHREADS,
 * _UMAX_MS, _USAT_SLEEP, _FAKE_RESET (R: the first boot resets after
 * kernel round R, as the emulator does; a test of the resume).
 *
 * Files in $PVX_OUT: l3-bench.log (the L3 console; QEMU's stderr in
 * l3-bench.log.err), bench-results.txt (the guest's lines),
 * bench-table.txt (the tables).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest.h"
#include "bench_stat.h"
#include "l3_vm.h"
#include "module_util.h"
#include "sysfs_util.h"

#define YIELD_FILE	"/sys/kernel/debug/pvx/yield"
#define NKLOCKS		5	/* kernel locks */
#define NMODES		4	/* userspace modes */
#define NSLOTS		5	/* the more of the two */
#define MAX_ROUNDS	64
#define MAX_TCOUNTS	8	/* userspace thread counts */
#define MAX_STEALS	16
#define MAX_COUNTERS	16
#define HEARTBEAT_S	10
#define BOOTS_MAX	9	/* boots of an L3 that resets itself: at most */
#define L3_PATH		200	/* a file for l3_vm_start(), room for ".err" left */
#define TEXT		4096

/* the kernel locks: (a), (b), (c), (c) with skip=0, and (b) again (A/A) */
enum { TICKET, NATIVE, PVX, PVX_FIFO, NATIVE_AA };
static const char *const lock_name[NKLOCKS] = {
	"ticket", "native", "pvx", "pvx-fifo", "native-aa"
};

/* the userspace modes: (m), then three to compare with it */
enum { MUTEX, YIELD, IOCTL, LIBPVX };
static const char *const mode_name[NMODES] = { "mutex", "yield", "ioctl", "libpvx" };

/* Each round of one lock or mode alone: NAN where no round line came. */
struct rounds {
	double rate[MAX_ROUNDS];	/* acq_per_s */
	double p99[MAX_ROUNDS];
	double p50[MAX_ROUNDS];
	const char *max_ns[MAX_ROUNDS];	/* kernel locks: the round's longest wait */
	/*
	 * Kernel locks, count_passes 1 or 2 (bench-round-cs lines): the share of
	 * the round's acquisitions that waited through a release, and the
	 * p50 and p99 of their handoffs (from the release to the lock call's
	 * return).
	 */
	double acq[MAX_ROUNDS];
	double waited[MAX_ROUNDS];
	double ho_p50[MAX_ROUNDS];
	double ho_p99[MAX_ROUNDS];
	/*
	 * And (held_ns, held_pml) the share of the round the lock was held,
	 * in %, and the mean time from a lock call's return to its release.
	 */
	double busy[MAX_ROUNDS];
	double hold[MAX_ROUNDS];
	double hold_p50[MAX_ROUNDS];
	double hold_p99[MAX_ROUNDS];
	/* (x_n, hold_x_*) the holds after a holder on another CPU: %, p50, p99 */
	double crossed[MAX_ROUNDS];
	double hold_x_p50[MAX_ROUNDS];
	double hold_x_p99[MAX_ROUNDS];
};

/*
 * The kernel locks, or the userspace modes at one thread count: each
 * one's summed result line (NULL: none) and its rounds.
 */
struct group {
	const char *threads;	/* userspace: the thread count */
	bool summed;		/* userspace: a "ubench" line came */
	const char *line[NSLOTS];
	struct rounds r[NSLOTS];
	int nrounds;
};

struct named {
	char name[64];
	long long value;
};

/* What the L3 guest printed, split into lines, and the host's counters. */
static struct {
	char *text;
	char **lines;
	int nlines;
	struct group kernel;
	struct group user[MAX_TCOUNTS];
	int nuser;
	const char *steal_name[MAX_STEALS];	/* "steal lock=NAME ticks=N": NAME */
	const char *steal_ticks[MAX_STEALS];
	int nsteal;
	struct named y0[MAX_COUNTERS], y1[MAX_COUNTERS];
	int ny0, ny1;
} res;

static struct {
	const char *abi, *build, *kimage, *mem, *out, *which;
	int l2_cpus, l3_cpus, boots;
	double timeout_s;
	char kernel[512], initrd[512];
} cfg;

static FILE *table_file;

/* ---- small helpers --------------------------------------------------------- */

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

/*
 * The value of @key= in @line, "" when absent: a string from a small
 * ring of buffers, so that one printf may take several.
 */
static const char *kv(const char *line, const char *key)
{
	static char ring[32][64];
	static int next;
	char *buf = ring[next++ % 32];

	if (!line || !bstat_field(line, key, buf, sizeof(ring[0])))
		buf[0] = '\0';
	return buf;
}

/* As a number, 0 when absent (awk's "+ 0" of the table before). */
static double kv_num(const char *line, const char *key)
{
	return atof(kv(line, key));
}

/* "%.3g" of x / y, "-" without a y; from the ring of kv(). */
static const char *ratio_str(double x, double y)
{
	static char ring[16][32];
	static int next;
	char *buf = ring[next++ % 16];

	if (y > 0)
		snprintf(buf, sizeof(ring[0]), "%.3g", x / y);
	else
		snprintf(buf, sizeof(ring[0]), "-");
	return buf;
}

/* A line of the tables: "# " and @fmt on stdout and in bench-table.txt. */
static __printf(1, 2) void table(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	va_end(ap);
	if (!table_file)
		return;
	va_start(ap, fmt);
	fprintf(table_file, "# ");
	vfprintf(table_file, fmt, ap);
	va_end(ap);
}

/* "name value" lines of @path (a debugfs counters file) into @c. */
static int read_counters(const char *path, struct named *c, int max)
{
	char *text = read_text(path), *line, *save = NULL;
	int n = 0;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line && n < max;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%63s %lld", c[n].name, &c[n].value) == 2)
			n++;
	free(text);
	return n;
}

/*
 * Run @a to its end, its stdout into @out and its stderr into @out.err
 * (l3_vm.h's start and wait, no time limit), @a freed: its exit status,
 * or -errno when it did not start.
 */
static int run_to_files(struct l3_args *a, const char *out)
{
	struct l3_vm vm;
	int ret = l3_vm_start(&vm, a, out, NULL);

	l3_args_free(a);
	return ret ? ret : l3_vm_wait(&vm, 0);
}

/* ---- the host ---------------------------------------------------------------- */

static bool environment_ok(void)
{
	static const char *const need[] = { "PVX_ABI", "PVX_BUILD", "PVX_KIMAGE", "PVX_L3_MEM",
					    "PVX_OUT" };
	bool ok = true;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(need); i++) {
		if (getenv(need[i]))
			continue;
		ksft_test_result_fail("bench environment # %s is not set\n", need[i]);
		ok = false;
	}
	return ok;
}

static void load_module(const char *name)
{
	const char *why = module_ensure_loaded(name);

	if (why)
		ksft_test_result_fail("%s loaded # %s\n", name, why);
	else
		ksft_test_result_pass("%s loaded\n", name);
}

static void load_host_modules(void)
{
	char ko[512];

	load_module("pvx_host");
	snprintf(ko, sizeof(ko), "%s/host/pvx_yield.ko", cfg.build);
	if (path_exists(ko))
		load_module("pvx_yield");
	else
		ksft_print_msg("no %s: the guest falls back (no PVX_HC_YIELD)\n", ko);
}

/* The bench initramfs, built here when scripts/bench.sh did not: false if none. */
static bool bench_initrd(void)
{
	struct l3_args a = { 0 };
	char out[L3_PATH], err[L3_PATH + 8], why[600];

	if (path_exists(cfg.initrd))
		return true;
	ksft_print_msg("no %s (scripts/bench.sh builds it); building it in L2\n", cfg.initrd);
	snprintf(cfg.initrd, sizeof(cfg.initrd), "/tmp/l3-bench-initrd.gz");
	snprintf(out, sizeof(out), "%s/mkinitrd-bench.out", cfg.out);
	l3_arg(&a, "bash");
	l3_arg(&a, "selftests/guest/bench/mkinitrd-bench.sh");
	l3_arg(&a, "%s", cfg.abi);
	l3_arg(&a, "%s", cfg.initrd);
	if (!run_to_files(&a, out))
		return true;
	snprintf(err, sizeof(err), "%s.err", out);
	ksft_test_result_fail("bench initramfs # %s\n", file_head(err, 500, why, sizeof(why)));
	return false;
}

/* ---- the L3 guest ------------------------------------------------------------ */

static bool starts(const char *line, const char *word)
{
	return !strncmp(line, word, strlen(word));
}

/*
 * The rounds a boot of L3 kept on its console before the emulator reset
 * it (pvx_bench_guest's keep_round()): their lines, and how many of the
 * ticket lock's and of the others' rounds they hold; the next boot
 * resumes after them.
 */
static struct {
	char *text;		/* malloc'ed, NULL when none */
	int ticket_done, kernel_done;
	int kept_boots;		/* boots whose console gave rounds */
} salvage;

/* One kept round's lines from a console, checked and taken or dropped. */
struct keep_scan {
	char *pending;		/* the round's lines so far */
	size_t len;
	int lines;
	bool cut;		/* a line of it did not come whole */
};

/*
 * "PVX-BENCH-KEPT WHAT round=R lines=N" after N "PVX-BENCH-KEEP LINE"
 * lines: the round is taken when all N came whole (a kernel line can cut
 * into a console line; then it is dropped, and run again).
 */
static void keep_scan_end(struct keep_scan *k, const char *marker)
{
	char what[16];
	int r, n;
	size_t have = salvage.text ? strlen(salvage.text) : 0;

	if (sscanf(marker, "PVX-BENCH-KEPT %15s round=%d lines=%d", what, &r, &n) != 3 ||
	    n != k->lines || k->cut)
		goto drop;
	if (!strcmp(what, "ticket") && r == salvage.ticket_done + 1)
		salvage.ticket_done = r;
	else if (!strcmp(what, "kernel") && r == salvage.kernel_done + 1)
		salvage.kernel_done = r;
	else
		goto drop;
	salvage.text = realloc(salvage.text, have + k->len + 1);
	if (!salvage.text)
		ksft_exit_fail_msg("out of memory\n");
	memcpy(salvage.text + have, k->pending, k->len);
	salvage.text[have + k->len] = '\0';
drop:
	k->len = 0;
	k->lines = 0;
	k->cut = false;
}

/* A kept line: whole when it is a result line that ends in its last key. */
static bool keep_line_whole(const char *line)
{
	return (starts(line, "bench-round ") && strstr(line, " thr_max=")) ||
	       (starts(line, "bench-round-cs ") && strstr(line, " held_pml=")) ||
	       (starts(line, "bench ") && strstr(line, " priority="));
}

/* The rounds kept on the console @path of a boot that reset, into salvage. */
static void salvage_console(const char *path)
{
	char *log = read_text(path), *at = log, *line;
	struct keep_scan k = { .pending = NULL };
	int before = salvage.ticket_done + salvage.kernel_done;

	if (!log)
		return;
	k.pending = calloc(1, strlen(log) + 1);
	if (!k.pending)
		ksft_exit_fail_msg("out of memory\n");
	while ((line = l3_console_line(&at))) {
		if (starts(line, "PVX-BENCH-KEEP ")) {
			if (keep_line_whole(line + 15))
				k.len += sprintf(k.pending + k.len, "%s\n", line + 15);
			else
				k.cut = true;
			k.lines++;
		} else if (starts(line, "PVX-BENCH-KEPT ")) {
			keep_scan_end(&k, line);
		}
	}
	free(k.pending);
	free(log);
	if (salvage.ticket_done + salvage.kernel_done > before)
		salvage.kept_boots++;
}

static void guest_cmdline(char *buf, size_t size)
{
	static const char *const knob[][2] = {
		{ "acq", "ACQ" }, { "uacq", "UACQ" }, { "threads", "THREADS" }, { "cs", "CS" },
		{ "think", "THINK" }, { "max_ms", "MAX_MS" }, { "rounds", "ROUNDS" },
		{ "ticket_rounds", "TICKET_ROUNDS" }, { "count_passes", "COUNT_PASSES" },
		{ "rate", "RATE" },
		{ "urounds", "UROUNDS" }, { "uthreads", "UTHREADS" }, { "umax_ms", "UMAX_MS" },
		{ "usat_sleep", "USAT_SLEEP" }, { "fake_reset", "FAKE_RESET" },
	};
	const char *v;
	char var[64];
	size_t i, n;

	/* not quiet: the boot log tells a slow L3 boot from a hung one */
	n = snprintf(buf, size, "console=ttyS0 panic=-1 pvx_bench=%s", cfg.which);
	for (i = 0; i < ARRAY_SIZE(knob) && n < size; i++) {
		snprintf(var, sizeof(var), "PVX_BENCH_%s", knob[i][1]);
		v = env_or(var, NULL);
		if (v)
			n += snprintf(buf + n, size - n, " pvx_%s=%s", knob[i][0], v);
	}
	/* after a reset: the rounds after the kept ones */
	if (n < size && salvage.ticket_done + salvage.kernel_done)
		snprintf(buf + n, size - n, " pvx_first_ticket=%d pvx_first_round=%d",
			 salvage.ticket_done + 1, salvage.kernel_done + 1);
}

/* The last console line of @vm with "pvx-bench:", from there on. */
static void last_progress(const struct l3_vm *vm, char *buf, size_t size)
{
	char *log = read_text(vm->log), *hit = NULL, *p;

	buf[0] = '\0';
	for (p = log; p && (p = strstr(p, "pvx-bench:")); p++)
		hit = p;
	if (hit) {
		hit[strcspn(hit, "\r\n")] = '\0';
		snprintf(buf, size, "%s", hit);
	}
	free(log);
}

/*
 * Wait for the guest, with a heartbeat on L2's console (a file on the
 * development machine, unlike the L3 log, which reaches it only after
 * the suite): it tells a slow L3 from a stopped L2 while the bench runs.
 */
static int wait_with_heartbeat(struct l3_vm *vm)
{
	double next = HEARTBEAT_S;
	char last[256];
	FILE *console;

	while (l3_vm_running(vm) && l3_vm_elapsed_s(vm) < cfg.timeout_s) {
		sleep_ms(200);
		if (l3_vm_elapsed_s(vm) < next)
			continue;
		next += HEARTBEAT_S;
		last_progress(vm, last, sizeof(last));
		console = fopen("/dev/console", "w");
		if (!console)
			continue;
		fprintf(console, "PVX-L2: bench L3 at %d s: %s\n", (int)l3_vm_elapsed_s(vm), last);
		fclose(console);
	}
	return l3_vm_wait(vm, cfg.timeout_s);
}

/* Boot the guest to its end: QEMU's exit status (124: the time limit), -errno. */
static int run_guest(struct l3_vm *vm)
{
	struct l3_args a = { 0 };
	char cmdline[1024], log[L3_PATH];
	int ret;

	guest_cmdline(cmdline, sizeof(cmdline));
	l3_arg(&a, "qemu-system-x86_64");
	l3_arg(&a, "-enable-kvm");
	l3_arg(&a, "-cpu");
	l3_arg(&a, "host");
	l3_arg(&a, "-m");
	l3_arg(&a, "%s", cfg.mem);
	l3_arg(&a, "-smp");
	l3_arg(&a, "%d", cfg.l3_cpus);
	l3_args_console(&a);
	l3_args_boot(&a, cfg.kernel, cfg.initrd);
	l3_arg(&a, "-append");
	l3_arg(&a, "%s", cmdline);
	snprintf(log, sizeof(log), "%s/l3-bench.log", cfg.out);
	res.ny0 = read_counters(YIELD_FILE, res.y0, MAX_COUNTERS);
	ret = l3_vm_start(vm, &a, log, NULL);
	l3_args_free(&a);
	if (ret)
		return ret;
	ret = wait_with_heartbeat(vm);
	res.ny1 = read_counters(YIELD_FILE, res.y1, MAX_COUNTERS);
	ksft_print_msg("L3 ran %d s (emulated wall), qemu exit %d, console %s\n",
		       (int)l3_vm_elapsed_s(vm), ret, log);
	return ret;
}

/* ---- the guest's lines ------------------------------------------------------- */

static int index_of(const char *const *names, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

static void group_init(struct group *g, const char *threads)
{
	int i, k;

	memset(g, 0, sizeof(*g));
	g->threads = threads;
	for (i = 0; i < NSLOTS; i++)
		for (k = 0; k < MAX_ROUNDS; k++) {
			g->r[i].rate[k] = NAN;
			g->r[i].p99[k] = NAN;
			g->r[i].p50[k] = NAN;
			g->r[i].acq[k] = NAN;
			g->r[i].waited[k] = NAN;
			g->r[i].ho_p50[k] = NAN;
			g->r[i].ho_p99[k] = NAN;
			g->r[i].busy[k] = NAN;
			g->r[i].hold[k] = NAN;
			g->r[i].hold_p50[k] = NAN;
			g->r[i].hold_p99[k] = NAN;
			g->r[i].crossed[k] = NAN;
			g->r[i].hold_x_p50[k] = NAN;
			g->r[i].hold_x_p99[k] = NAN;
		}
}

/* The userspace group of @threads, added in the order they come. */
static struct group *user_group(const char *threads)
{
	int i;

	for (i = 0; i < res.nuser; i++)
		if (!strcmp(res.user[i].threads, threads))
			return &res.user[i];
	if (res.nuser == MAX_TCOUNTS)
		return NULL;
	group_init(&res.user[res.nuser], strdup(threads));
	return &res.user[res.nuser++];
}

/* --tables of several runs: the rounds of the runs read before this one */
static int rounds_before;
/* round lines past MAX_ROUNDS, left out */
static int rounds_lost;

/* The index into rounds of a round line's round=, -1 when none or too far. */
static int round_index(const char *line)
{
	int k = atoi(kv(line, "round")) - 1;

	if (k < 0)
		return -1;
	k += rounds_before;
	return k < MAX_ROUNDS ? k : -1;
}

/* A "bench-round" or "ubench-round" line into its group's rounds. */
static void add_round(struct group *g, int i, const char *line)
{
	int k = round_index(line);

	if (k < 0 && atoi(kv(line, "round")) > 0)
		rounds_lost++;
	if (!g || i < 0 || k < 0)
		return;
	g->r[i].acq[k] = kv_num(line, "acq");
	g->r[i].rate[k] = kv_num(line, "acq_per_s");
	g->r[i].p99[k] = kv_num(line, "p99_ns");
	g->r[i].p50[k] = kv_num(line, "p50_ns");
	g->r[i].max_ns[k] = strdup(kv(line, "max_ns"));
	if (k + 1 > g->nrounds)
		g->nrounds = k + 1;
}

/*
 * A "bench-round-cs" line (after its round's "bench-round" line) into the
 * kernel locks' rounds; one without ho_n (made before the handoff was
 * timed) adds nothing.
 */
static void add_round_cs(struct group *g, int i, const char *line)
{
	int k = round_index(line);
	double acq;

	if (i < 0 || k < 0 || !*kv(line, "ho_n"))
		return;
	acq = g->r[i].acq[k];
	g->r[i].waited[k] = acq > 0 ? kv_num(line, "ho_n") / acq : NAN;
	g->r[i].ho_p50[k] = kv_num(line, "ho_p50");
	g->r[i].ho_p99[k] = kv_num(line, "ho_p99");
	if (!*kv(line, "held_pml"))
		return;
	g->r[i].busy[k] = kv_num(line, "held_pml") / 10;
	g->r[i].hold[k] = acq > 0 ? kv_num(line, "held_ns") / acq : NAN;
	g->r[i].hold_p50[k] = kv_num(line, "hold_p50");
	g->r[i].hold_p99[k] = kv_num(line, "hold_p99");
	if (!*kv(line, "x_n"))
		return;
	g->r[i].crossed[k] = acq > 0 ? 100 * kv_num(line, "x_n") / acq : NAN;
	g->r[i].hold_x_p50[k] = kv_num(line, "hold_x_p50");
	g->r[i].hold_x_p99[k] = kv_num(line, "hold_x_p99");
}

/* A "bench" or "ubench" line: the first one of its lock or mode counts. */
static void add_summed(struct group *g, int i, const char *line)
{
	if (!g || i < 0)
		return;
	g->summed = true;
	if (!g->line[i])
		g->line[i] = line;
}

static void add_steal(const char *line)
{
	const char *eq = strchr(line + 6, '=');

	if (!eq || res.nsteal == MAX_STEALS)
		return;
	res.steal_name[res.nsteal] = strndup(eq + 1, strcspn(eq + 1, " "));
	res.steal_ticks[res.nsteal++] = strdup(kv(line, "ticks"));
}

/* The userspace mode of a "ubench" line, -1 when none. */
static int user_mode(const char *line)
{
	return index_of(mode_name, NMODES, kv(line, "mode"));
}

static void parse_line(const char *line)
{
	if (starts(line, "bench "))
		add_summed(&res.kernel, index_of(lock_name, NKLOCKS, kv(line, "lock")), line);
	else if (starts(line, "bench-round "))
		add_round(&res.kernel, index_of(lock_name, NKLOCKS, kv(line, "lock")), line);
	else if (starts(line, "bench-round-cs "))
		add_round_cs(&res.kernel, index_of(lock_name, NKLOCKS, kv(line, "lock")), line);
	else if (starts(line, "ubench "))
		add_summed(user_group(kv(line, "threads")), user_mode(line), line);
	else if (starts(line, "ubench-round "))
		add_round(user_group(kv(line, "threads")), user_mode(line), line);
	else if (starts(line, "steal "))
		add_steal(line);
}

/* "steal X=NAME ticks=N": N of @name, "" when none came. */
static const char *steal_of(const char *name)
{
	int i;

	for (i = 0; i < res.nsteal; i++)
		if (!strcmp(res.steal_name[i], name))
			return res.steal_ticks[i];
	return "";
}

/* The guest's lines in @text (kept: the lines point into it), parsed. */
static void parse_text(char *text)
{
	char *p;
	int i;

	res.text = text;
	res.nlines = 0;
	res.lines = calloc(strlen(text) + 1, sizeof(*res.lines));
	for (p = strtok(res.text, "\n"); p && res.lines; p = strtok(NULL, "\n"))
		res.lines[res.nlines++] = p;
	for (i = 0; i < res.nlines; i++)
		parse_line(res.lines[i]);
}

/*
 * The guest's lines between PVX-BENCH-BEGIN and PVX-BENCH-END into
 * bench-results.txt and res; one test that the guest got to the end; its
 * diagnostics and errors as "#" lines.
 */
static void load_results(const struct l3_vm *vm, int qrc)
{
	static const char ran[] = "L3 bench guest ran to the end";
	char path[600];
	struct l3_results r;
	FILE *f;
	int i;

	group_init(&res.kernel, "");
	if (l3_vm_results(vm, &r))
		ksft_exit_fail_msg("out of memory\n");
	if (salvage.text) {
		/* the rounds earlier boots kept, then this boot's lines */
		char *all = malloc(strlen(salvage.text) + strlen(r.text) + 1);

		if (!all)
			ksft_exit_fail_msg("out of memory\n");
		strcpy(all, salvage.text);
		strcat(all, r.text);
		free(r.text);
		r.text = all;
		ksft_print_msg("%d ticket and %d other rounds kept from %d boots that reset\n",
			       salvage.ticket_done, salvage.kernel_done, salvage.kept_boots);
	}
	snprintf(path, sizeof(path), "%s/bench-results.txt", cfg.out);
	f = fopen(path, "w");
	if (f) {
		fputs(r.text, f);
		fclose(f);
	}
	if (r.ended)
		ksft_test_result_pass("%s\n", ran);
	else
		ksft_test_result_fail("%s # qemu exit %d; last line: %s\n", ran, qrc, r.last);
	parse_text(r.text);
	for (i = 0; i < res.nlines; i++)
		if (res.lines[i][0] == '#')
			printf("%s\n", res.lines[i]);
	for (i = 0; i < res.nlines; i++)
		if (starts(res.lines[i], "error "))
			ksft_print_msg("%s\n", res.lines[i]);
}

/* ---- the checks -------------------------------------------------------------- */

/* One test that @line is there and its lock excluded. */
static void check_result_line(const char *what, const char *line)
{
	char note[160] = "";

	if (!line) {
		ksft_test_result_fail("%s: all numbers # no result line\n", what);
		return;
	}
	if (strcmp(kv(line, "exact"), "1")) {
		ksft_test_result_fail("%s: all numbers # %s\n", what,
				      "acquisitions counted under the lock do not add up");
		return;
	}
	/* a run that hit max_ms still measured a rate and latencies */
	if (strcmp(kv(line, "complete"), "1"))
		snprintf(note, sizeof(note), " (a round hit max_ms: %s acquisitions in %s ms)",
			 kv(line, "acq"), kv(line, "ms"));
	ksft_test_result_pass("%s: all numbers%s\n", what, note);
}

static void check_numbers(void)
{
	char what[128];
	int i, t, summed;

	for (i = 0; i < NKLOCKS && !strcmp(cfg.which, "locks"); i++) {
		snprintf(what, sizeof(what), "kernel lock=%s", lock_name[i]);
		check_result_line(what, res.kernel.line[i]);
	}
	for (t = 0, summed = 0; t < res.nuser; t++)
		summed += res.user[t].summed;
	if (!summed)
		ksft_test_result_fail("userspace locks: all numbers # no result line\n");
	for (t = 0; t < res.nuser; t++) {
		if (!res.user[t].summed)
			continue;
		for (i = 0; i < NMODES; i++) {
			snprintf(what, sizeof(what), "userspace mode=%s threads=%s", mode_name[i],
				 res.user[t].threads);
			check_result_line(what, res.user[t].line[i]);
		}
	}
}

/* ---- the tables -------------------------------------------------------------- */

/*
 * What a ratio compares: the rates, the p99s or the p50s of the waits;
 * the share of acquisitions that waited through a release, the p50s or
 * p99s of the handoffs, the share of the round the lock was held and the
 * mean hold (count_passes; rounds only, no summed key).
 */
enum metric {
	RATE, P99, P50, WAITED, HO_P50, HO_P99, BUSY, HOLD, HOLD_P50, HOLD_P99,
	CROSSED, HOLD_X_P50, HOLD_X_P99
};

static const char *const metric_key[] = { "acq_per_s", "p99_ns", "p50_ns", "-", "-", "-", "-",
					   "-", "-", "-", "-", "-", "-" };

static const double *metric_rounds(const struct rounds *r, enum metric m)
{
	const double *const of[] = { r->rate, r->p99, r->p50, r->waited,
				     r->ho_p50, r->ho_p99, r->busy, r->hold,
				     r->hold_p50, r->hold_p99, r->crossed, r->hold_x_p50,
				     r->hold_x_p99 };

	return of[m];
}

/*
 * The ratio of @mode to @base in group @g, of metric @m, as "0.95x (n=5
 * 0.80-1.10)", the median of the rounds' own ratios (round k of one
 * against round k of the other: they ran one after the other), into
 * @buf; or, without round lines, the ratio of the sums, "(n=1, rounds
 * summed)". Returns the median (or that ratio); *@above (when not NULL)
 * the rounds whose ratio is above 1 (0 without round lines).
 */
static double spread(const struct group *g, int mode, int base, enum metric m, char *buf,
		     size_t size, size_t *above)
{
	double r[MAX_ROUNDS], scratch[MAX_ROUNDS], summed, b;
	struct bstat_spread s;

	bstat_paired(metric_rounds(&g->r[mode], m), metric_rounds(&g->r[base], m), g->nrounds, r);
	if (above)
		*above = 0;
	if (!bstat_spread_of(r, g->nrounds, scratch, &s)) {
		snprintf(buf, size, "%.3gx (n=%zu %.3g-%.3g)", s.median, s.n, s.min, s.max);
		if (above)
			*above = s.n - bstat_runs_meeting(r, g->nrounds, BSTAT_LE, 1);
		return s.median;
	}
	b = kv_num(g->line[base], metric_key[m]);
	summed = kv_num(g->line[mode], metric_key[m]) / (b > 0 ? b : 1);
	snprintf(buf, size, "%.3gx (n=1, rounds summed)", summed);
	return summed;
}

/*
 * The sign test on the rounds' own ratios of @mode to @base, metric @m,
 * against a floor (@cmp @limit): the rounds on either side into *@s, the
 * side they fall on (1: missing it, -1: meeting it, 0: undecided) and its
 * p into *@p (bench_stat.h).
 */
static int rounds_sign(const struct group *g, int mode, int base, enum metric m,
		       enum bstat_cmp cmp, double limit, struct bstat_signs *s, double *p)
{
	double r[MAX_ROUNDS];

	bstat_paired(metric_rounds(&g->r[mode], m), metric_rounds(&g->r[base], m), g->nrounds, r);
	bstat_floor_signs(r, g->nrounds, cmp, limit, s);
	return bstat_sign_side(s, BSTAT_SIGN_ALPHA, p);
}

/*
 * "# floor DESC: met|MISSED SPREAD, sign test: meets|misses|undecided
 * p=P", the floor on the median of the rounds, and the sign test on the
 * rounds' own ratios against its limit (bstat_format_floor()'s).
 */
static void floor_line(const struct group *g, int mode, int base, enum metric m,
		       enum bstat_cmp cmp, double limit, const char *desc)
{
	char sp[128], sign[64] = "";
	double med = spread(g, mode, base, m, sp, sizeof(sp), NULL), p;
	struct bstat_signs s;
	int side = rounds_sign(g, mode, base, m, cmp, limit, &s, &p);

	bstat_cat_floor_sign(sign, sizeof(sign), side, p);
	table("floor %s: %s %s%s\n", desc, bstat_meets(med, cmp, limit) ? "met" : "MISSED", sp,
	      sign);
}

/*
 * "# sign DESC: above in A, below in B, equal in E of N rounds: VERDICT
 * (p=P)": the one-sided sign test on the rounds' own ratios of @mode to
 * @base against 1: "higher" or "lower" when that many rounds on one side
 * would come by chance less often than BSTAT_SIGN_ALPHA if the two were
 * one lock, else "a tie" (as two runs of one lock fall). Equal rounds (one
 * histogram bucket) count on neither side.
 */
static void sign_line(const struct group *g, int mode, int base, enum metric m,
		      const char *desc)
{
	static const char *const verdict[] = { "lower", "a tie", "higher" };
	struct bstat_signs s;
	double p;
	int side = rounds_sign(g, mode, base, m, BSTAT_LE, 1, &s, &p);

	table("sign %s: above in %zu, below in %zu, equal in %zu of %zu rounds: %s (p=%.2g)\n",
	      desc, s.above, s.below, s.equal, s.above + s.below + s.equal, verdict[side + 1], p);
}

/*
 * "# spread NAME acq/s /(BASE) ..., p99 /(BASE) ..., p50 /(BASE) ...,
 * above (BASE) in K rounds", NAME @width wide: whether a lock waits longer
 * at the median in most rounds, or in about half as two runs of one
 * lock do.
 */
static void spread_line(const struct group *g, const char *const *names, int mode, int base,
			int width, const char *tag)
{
	char a[128], p[128], m[128];
	size_t above;

	spread(g, mode, base, RATE, a, sizeof(a), NULL);
	spread(g, mode, base, P99, p, sizeof(p), NULL);
	spread(g, mode, base, P50, m, sizeof(m), &above);
	table("spread %-*s acq/s /%s %s, p99 /%s %s, p50 /%s %s, above %s in %zu rounds\n",
	      width, names[mode], tag, a, tag, p, tag, m, tag, above);
}

static void user_rows(const struct group *g)
{
	const char *m = g->line[MUTEX];
	double um = kv_num(m, "acq_per_s"), pm = kv_num(m, "p99_ns"), cm = kv_num(m, "csw");
	int i;

	table("%-7s %9s %6s %9s %10s %6s %9s %7s %8s %8s %8s\n", "mode", "acq/s", "/(m)", "p50_ns",
	      "p99_ns", "/(m)", "csw", "/(m)", "dyields", "done", "fwaits");
	for (i = 0; i < NMODES; i++) {
		const char *l = g->line[i];
		double t = kv_num(l, "acq_per_s"), p = kv_num(l, "p99_ns"), c = kv_num(l, "csw");

		if (!l) {
			table("%-7s (no result)\n", mode_name[i]);
			continue;
		}
		table("%-7s %9.0f %6s %9s %10.0f %6s %9.0f %7s %8s %8s %8s\n", mode_name[i], t,
		      ratio_str(t, um), kv(l, "p50_ns"), p, ratio_str(p, pm), c, ratio_str(c, cm),
		      kv(l, "dyields"), kv(l, "dyields_done"), kv(l, "futex_waits"));
	}
}

/*
 * The userspace locks at each thread count, ratios to pthread_mutex; the
 * floors of issue 14 (issue 29 item 5 on 6.12), on the median of the
 * ratios of the rounds.
 */
static void user_tables(void)
{
	char desc[128];
	int j, i;

	for (j = 0; j < res.nuser; j++) {
		const struct group *g = &res.user[j];
		const char *n = g->threads, *st = steal_of(n);

		if (!g->summed)
			continue;
		table("userspace locks, %s threads (steal %s): (m) pthread_mutex, %s\n", n,
		      *st ? st : steal_of("all"), "yield = ticket lock + sched_yield(),");
		table("  ioctl = ticket lock + PVX_IOC_YIELD_TO, libpvx = pvx_lock_t (%s)\n",
		      kv_num(g->line[LIBPVX], "dyields") > 0 ? "directed yields" :
		      "no directed yield made");
		user_rows(g);
		if (!g->line[LIBPVX] || !g->line[MUTEX] || !g->line[YIELD]) {
			table("floors (issue 14), %s threads: not evaluated, results missing\n", n);
			continue;
		}
		for (i = YIELD; i < NMODES; i++)
			if (g->line[i])
				spread_line(g, mode_name, i, MUTEX, 6, "(m)");
		snprintf(desc, sizeof(desc), "libpvx throughput >= 1.0x mutex, %s threads", n);
		floor_line(g, LIBPVX, MUTEX, RATE, BSTAT_GE, 1, desc);
		snprintf(desc, sizeof(desc), "libpvx p99 <= mutex p99, %s threads", n);
		floor_line(g, LIBPVX, MUTEX, P99, BSTAT_LE, 1, desc);
		snprintf(desc, sizeof(desc), "libpvx throughput >= 2x yield, %s threads", n);
		floor_line(g, LIBPVX, YIELD, RATE, BSTAT_GE, 2, desc);
	}
}

/*
 * The wait's distribution per lock, all rounds pooled (the summed lines;
 * empty columns for results made before the module printed them).
 */
static void wait_profile(const struct group *g)
{
	static const char *const pct[] = { "p10_ns", "p25_ns", "p50_ns", "p75_ns",
					   "p90_ns", "p95_ns", "p99_ns", "max_ns" };
	char row[256];
	size_t n;
	int i, j;

	table("wait profile, all rounds pooled (ns, each its histogram bucket's upper bound)\n");
	n = snprintf(row, sizeof(row), "%-9s", "lock");
	for (j = 0; j < (int)ARRAY_SIZE(pct); j++)
		n += snprintf(row + n, sizeof(row) - n, " %9.3s", pct[j]);
	table("%s\n", row);
	for (i = 0; i < NKLOCKS; i++) {
		if (!g->line[i])
			continue;
		n = snprintf(row, sizeof(row), "%-9s", lock_name[i]);
		for (j = 0; j < (int)ARRAY_SIZE(pct); j++)
			n += snprintf(row + n, sizeof(row) - n, " %9s", kv(g->line[i], pct[j]));
		table("%s\n", row);
	}
}

static void kernel_rows(const struct group *g)
{
	double ta = kv_num(g->line[TICKET], "acq_per_s"), tb = kv_num(g->line[NATIVE], "acq_per_s");
	double pa = kv_num(g->line[TICKET], "p99_ns"), pb = kv_num(g->line[NATIVE], "p99_ns");
	char thr[64];
	int i;

	table("%-9s %10s %6s %6s %9s %11s %6s %6s %11s %13s %8s %8s %7s %6s %7s\n", "lock", "acq/s",
	      "/(a)", "/(b)", "p50_ns", "p99_ns", "/(a)", "/(b)", "max_ns", "thr_acq", "yld_iss",
	      "yld_gr", "steals", "prio", "steal");
	for (i = 0; i < NKLOCKS; i++) {
		const char *l = g->line[i];
		double t = kv_num(l, "acq_per_s"), p = kv_num(l, "p99_ns");

		if (!l) {
			table("%-9s (no result)\n", lock_name[i]);
			continue;
		}
		snprintf(thr, sizeof(thr), "%s-%s", kv(l, "thr_min"), kv(l, "thr_max"));
		table("%-9s %10.0f %6s %6s %9s %11.0f %6s %6s %11s %13s %8s %8s %7s %6s %7s\n",
		      lock_name[i], t, ratio_str(t, ta), ratio_str(t, tb), kv(l, "p50_ns"), p,
		      ratio_str(p, pa), ratio_str(p, pb), kv(l, "max_ns"), thr,
		      kv(l, "yields_issued"), kv(l, "yields_granted"), kv(l, "steals"),
		      kv(l, "priority"), steal_of(lock_name[i]));
	}
	for (i = 0; i < NKLOCKS; i++)
		if (g->line[i] && i != NATIVE)
			spread_line(g, lock_name, i, NATIVE, 9, "(b)");
	wait_profile(g);
}

/* The host's pvx_yield counters over the run, in the file's order. */
static void host_yields(void)
{
	char text[TEXT] = "";
	size_t n = 0;
	long long before;
	int i, j;

	for (i = 0; i < res.ny1 && n < sizeof(text); i++) {
		for (before = 0, j = 0; j < res.ny0; j++)
			if (!strcmp(res.y0[j].name, res.y1[i].name))
				before = res.y0[j].value;
		n += snprintf(text + n, sizeof(text) - n, " %s=%lld", res.y1[i].name,
			      res.y1[i].value - before);
	}
	table("host pvx_yield during the run:%s\n", n ? text : " (no counters)");
}

/* Each round's longest wait of lock @i, space-separated ("-": none). */
static void rounds_max_ns(const struct group *g, int i, char *buf, size_t size)
{
	size_t n = 0;
	int k;

	buf[0] = '\0';
	for (k = 0; k < g->nrounds && n < size; k++)
		if (!isnan(g->r[i].rate[k]))
			n += snprintf(buf + n, size - n, "%s%s", n ? " " : "", g->r[i].max_ns[k]);
	if (!n)
		snprintf(buf, size, "-");
}

/*
 * @g with native's rounds replaced by each round's geometric mean of
 * native's and native-aa's: the base lock runs twice in every round, and
 * a ratio to both runs carries half the variance of the base that a
 * ratio to one run carries (the A/A pair's own lines show how much that
 * is). A round that lacks either has none.
 */
static void both_natives(const struct group *g, struct group *both)
{
	const struct rounds *a = &g->r[NATIVE], *b = &g->r[NATIVE_AA];
	struct rounds *o = &both->r[NATIVE];
	int k;

	*both = *g;
	for (k = 0; k < g->nrounds; k++) {
		o->rate[k] = sqrt(a->rate[k] * b->rate[k]);
		o->p99[k] = sqrt(a->p99[k] * b->p99[k]);
		o->p50[k] = sqrt(a->p50[k] * b->p50[k]);
	}
}

/* Item 1's floors against both runs of the native lock (both_natives()). */
static void both_natives_floors(const struct group *g)
{
	static struct group both;

	both_natives(g, &both);
	table("---- item 1's floors against both runs of (b) per round: %s\n",
	      "(b'') = the geometric mean of (b) and (b')");
	floor_line(&both, PVX, NATIVE, RATE, BSTAT_GE, 1, "(c) throughput >= 1.0x (b'')");
	floor_line(&both, PVX, NATIVE, P99, BSTAT_LE, 1, "(c) p99 <= 1.0x (b'')");
	sign_line(&both, PVX, NATIVE, P50, "(c) p50 /(b'')");
}

/* The median of lock @i's rounds of metric @m as "575 (n=30 543-607)". */
static void rounds_median(const struct group *g, int i, enum metric m, double scale,
			  char *buf, size_t size)
{
	double v[MAX_ROUNDS], scratch[MAX_ROUNDS];
	const double *r = metric_rounds(&g->r[i], m);
	struct bstat_spread s;
	int k;

	for (k = 0; k < g->nrounds; k++)
		v[k] = r[k] * scale;
	if (bstat_spread_of(v, g->nrounds, scratch, &s))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.4g (n=%zu %.4g-%.4g)", s.median, s.n, s.min, s.max);
}

/* Lock @i has metric @m in some round (count_passes). */
static bool has_rounds_of(const struct group *g, int i, enum metric m)
{
	const double *r = metric_rounds(&g->r[i], m);
	int k;

	for (k = 0; k < g->nrounds; k++)
		if (!isnan(r[k]))
			return true;
	return false;
}

/*
 * One row per lock of metrics @m (the medians of its rounds), the spread
 * of pvx's against native's and sign tests, for the count_passes tables.
 */
struct rows_spec {
	const char *tag;	/* the rows' first word */
	int n;
	enum metric m[4];
	double scale[4];
	const char *row[4];	/* before each median in a lock's row */
	const char *ratio[4];	/* before each ratio of the spread line */
	const char *sign[4];	/* pvx against native's sign test, NULL: none */
	const char *aa[4];	/* the A/A pair's, NULL: none */
};

static void metric_rows(const struct group *g, const struct rows_spec *r)
{
	char v[96], line[512], desc[96];
	size_t n;
	int i, j;

	if (!g->line[PVX] || !g->line[NATIVE] || !has_rounds_of(g, PVX, r->m[0]) ||
	    !has_rounds_of(g, NATIVE, r->m[0]))
		return;
	for (i = 0; i < NKLOCKS; i++) {
		if (!g->line[i] || !has_rounds_of(g, i, r->m[0]))
			continue;
		for (n = 0, j = 0; j < r->n; j++) {
			rounds_median(g, i, r->m[j], r->scale[j], v, sizeof(v));
			n += snprintf(line + n, sizeof(line) - n, "%s %s %s", j ? "," : "",
				      r->row[j], v);
		}
		table("%s %-9s%s\n", r->tag, lock_name[i], line);
	}
	for (n = 0, j = 0; j < r->n; j++) {
		spread(g, PVX, NATIVE, r->m[j], v, sizeof(v), NULL);
		n += snprintf(line + n, sizeof(line) - n, "%s %s /(b) %s", j ? "," : "",
			      r->ratio[j], v);
	}
	table("spread pvx%s\n", line);
	for (j = 0; j < r->n; j++) {
		if (!r->sign[j])
			continue;
		snprintf(desc, sizeof(desc), "(c) %s /(b)", r->sign[j]);
		sign_line(g, PVX, NATIVE, r->m[j], desc);
	}
	if (!g->line[NATIVE_AA] || !has_rounds_of(g, NATIVE_AA, r->m[0]))
		return;
	for (j = 0; j < r->n; j++) {
		if (!r->aa[j])
			continue;
		snprintf(desc, sizeof(desc), "A/A (b') %s /(b)", r->aa[j]);
		sign_line(g, NATIVE_AA, NATIVE, r->m[j], desc);
	}
}

/*
 * With count_passes: how often each lock's acquisitions waited through a
 * release, and what the handoff cost them. A lock's wait percentiles rise
 * with the first (a lock that keeps its holders running is held more often
 * when a thread comes back) as much as with the second, and only the
 * second is the lock's own handoff. Then the holds: how much of each round
 * the lock was held and how long a hold lasted (a longer hold is the
 * critical section itself running longer); and the holds that followed a
 * holder on another CPU, whose data was last written there, so that a
 * lock that hands over between CPUs more often runs more of its sections
 * on data that must come over first (bench.rst).
 */
static void handoff_table(const struct group *g)
{
	static const struct rows_spec handoffs = {
		"handoff", 3, { WAITED, HO_P50, HO_P99 }, { 100, 1, 1 },
		{ "waited through a release %", "p50 ns", "p99 ns" },
		{ "waited", "handoff p50", "p99" },
		{ "waited", "handoff p50", "handoff p99" },
		{ NULL, "handoff p50", "handoff p99" },
	};
	static const struct rows_spec holds = {
		"held", 4, { BUSY, HOLD, HOLD_P50, HOLD_P99 }, { 1, 1, 1, 1 },
		{ "lock held % of the round", "hold ns mean", "p50", "p99" },
		{ "held", "hold mean", "p50", "p99" },
		{ NULL, "hold mean", "hold p50", "hold p99" },
		{ NULL, "hold mean", "hold p50", "hold p99" },
	};
	static const struct rows_spec crossed = {
		"crossed", 3, { CROSSED, HOLD_X_P50, HOLD_X_P99 }, { 1, 1, 1 },
		{ "holds after another CPU's %", "their p50 ns", "p99 ns" },
		{ "crossed", "their hold p50", "p99" },
		{ "crossed", NULL, "crossed hold p99" },
		{ NULL, NULL, "crossed hold p99" },
	};

	if (!g->line[PVX] || !g->line[NATIVE] || !has_rounds_of(g, PVX, HO_P50) ||
	    !has_rounds_of(g, NATIVE, HO_P50))
		return;
	table("---- handoffs (count_passes): %s\n",
	      "a waiter's lock call returning after the release it waited through");
	metric_rows(g, &handoffs);
	metric_rows(g, &holds);
	metric_rows(g, &crossed);
}

/* The floors of issue 3 and of issue 29 item 1, fairness, stealing. */
static void kernel_floors(const struct group *g)
{
	char buf[TEXT], sp[128];
	int i;

	table("---- floors of issue 3 (reported, not asserted)\n");
	if (!g->line[PVX] || !g->line[TICKET] || !g->line[NATIVE]) {
		table("floors: not evaluated, results missing\n");
		return;
	}
	floor_line(g, PVX, TICKET, RATE, BSTAT_GE, 2, "(c) throughput >= 2x (a)");
	floor_line(g, PVX, TICKET, P99, BSTAT_LE, 0.5, "(c) p99 <= 0.5x (a)");
	floor_line(g, PVX, NATIVE, RATE, BSTAT_GE, 1, "(c) not slower than (b)");
	table("---- floors of issue 29 item 1 (%s)\n",
	      "reported, not asserted; median of the rounds, min-max");
	floor_line(g, PVX, NATIVE, RATE, BSTAT_GE, 1, "(c) throughput >= 1.0x (b)");
	floor_line(g, PVX, NATIVE, P99, BSTAT_LE, 1, "(c) p99 <= 1.0x (b)");
	floor_line(g, PVX, TICKET, RATE, BSTAT_GE, 2, "(c) throughput >= 2x (a)");
	if (g->line[NATIVE_AA]) {
		/* the same tests on two runs of one lock: what a verdict is worth */
		table("---- A/A: item 1's floors on native-aa (b'), the same lock as (b)\n");
		floor_line(g, NATIVE_AA, NATIVE, RATE, BSTAT_GE, 1, "A/A (b') throughput >= 1.0x (b)");
		floor_line(g, NATIVE_AA, NATIVE, P99, BSTAT_LE, 1, "A/A (b') p99 <= 1.0x (b)");
		if (g->nrounds)
			both_natives_floors(g);
	}
	table("---- sign tests (one-sided, %.0f %%): %s\n", BSTAT_SIGN_ALPHA * 100,
	      "which side of (b) or (b') the rounds fall on, or a tie");
	sign_line(g, PVX, NATIVE, RATE, "(c) acq/s /(b)");
	sign_line(g, PVX, NATIVE, P99, "(c) p99 /(b)");
	sign_line(g, PVX, NATIVE, P50, "(c) p50 /(b)");
	if (g->line[NATIVE_AA]) {
		/* the second run of the native lock: a second base */
		sign_line(g, PVX, NATIVE_AA, P99, "(c) p99 /(b')");
		sign_line(g, PVX, NATIVE_AA, P50, "(c) p50 /(b')");
		sign_line(g, NATIVE_AA, NATIVE, P99, "A/A (b') p99 /(b)");
		sign_line(g, NATIVE_AA, NATIVE, P50, "A/A (b') p50 /(b)");
	}
	for (i = 0; i < NKLOCKS; i++) {
		if (!g->line[i])
			continue;
		rounds_max_ns(g, i, buf, sizeof(buf));
		table("fairness %-9s max wait %s ns, acquisitions per thread %s-%s, %s %s\n",
		      lock_name[i], kv(g->line[i], "max_ns"), kv(g->line[i], "thr_min"),
		      kv(g->line[i], "thr_max"), "per round max wait", buf);
	}
	if (!g->line[PVX_FIFO])
		return;
	spread(g, PVX, PVX_FIFO, RATE, sp, sizeof(sp), NULL);
	table("stealing: (c) against pvx-fifo %s throughput, %s steals, %s priority tickets\n", sp,
	      kv(g->line[PVX], "steals"), kv(g->line[PVX], "priority"));
}

static void tables(void)
{
	const struct group *g = &res.kernel;
	char path[600], guests[128];

	if (cfg.out) {
		snprintf(path, sizeof(path), "%s/bench-table.txt", cfg.out);
		table_file = fopen(path, "w");
	}
	if (cfg.l2_cpus)
		snprintf(guests, sizeof(guests), "L3 %d vCPUs on L2 %d CPUs (%.0fx overcommit)",
			 cfg.l3_cpus, cfg.l2_cpus, (double)cfg.l3_cpus / cfg.l2_cpus);
	else
		snprintf(guests, sizeof(guests), "L3 %s vCPUs", kv(g->line[TICKET], "cpus"));
	if (!g->line[TICKET] && !g->line[NATIVE] && !g->line[PVX]) {
		table("---- userspace lock benchmark, kernel %s: %s\n", cfg.abi, guests);
		user_tables();
	} else {
		table("---- lock benchmark, kernel %s: %s, %s threads\n", cfg.abi, guests,
		      kv(g->line[TICKET], "threads"));
		table("%s (c) pvx = struct pvx_spinlock,\n",
		      "(a) ticket = plain fair ticket lock, (b) native = spinlock_t (pv qspinlock),");
		table("  pvx-fifo = (c) with skip=0, native-aa = (b') a second spinlock_t (A/A);\n");
		table("  fairness: %s\n",
		      "max_ns = the longest wait for the lock, thr_acq = the");
		table("  fewest-most acquisitions of one thread; %s\n",
		      "steals/prio = pvx slow paths that took a free lock / priority tickets");
		kernel_rows(g);
		user_tables();
		host_yields();
		kernel_floors(g);
		handoff_table(g);
	}
	if (table_file)
		fclose(table_file);
	table_file = NULL;
}

static void raw_lines(void)
{
	static const char *const raw[] = { "bench ", "bench-round ", "ubench ", "ubench-round ",
					   "steal " };
	size_t j;
	int i;

	ksft_print_msg("---- raw result lines\n");
	for (i = 0; i < res.nlines; i++)
		for (j = 0; j < ARRAY_SIZE(raw); j++)
			if (starts(res.lines[i], raw[j]))
				ksft_print_msg("  %s\n", res.lines[i]);
}

/* ---- main ---------------------------------------------------------------------- */

/*
 * Whether L3 reset itself: with -no-reboot QEMU ends with status 0, as
 * after the guest's poweroff, but the guest did not get to its end and
 * did not panic (panic=-1 reboots too, after "Kernel panic"). The
 * emulator does that at times (Documentation/lab.rst, "An L3 that resets
 * itself"), before any pvx code ran as well.
 */
static bool l3_reset_itself(const struct l3_vm *vm, int qrc)
{
	char line[64];

	return !qrc && l3_vm_console_find(vm, "PVX-BENCH-END", line, sizeof(line)) &&
	       l3_vm_console_find(vm, "Kernel panic", line, sizeof(line));
}

/*
 * The lock benchmark: one L3 guest with 2x overcommit, booted once more
 * when it reset itself (a pvx bug that resets it every time still fails).
 */
static void lock_bench(void)
{
	char kept[300];
	struct l3_vm vm;
	int qrc, boot;

	if (!bench_initrd())
		return;
	if (!path_exists(cfg.kernel)) {
		ksft_test_result_fail("L3 kernel # no %s\n", cfg.kernel);
		return;
	}
	if (!path_exists("/dev/kvm")) {
		ksft_test_result_fail("L3 bench guest # no /dev/kvm in L2\n");
		return;
	}
	for (boot = 1;; boot++) {
		qrc = run_guest(&vm);
		if (qrc < 0) {
			ksft_test_result_fail("L3 bench guest # QEMU not started: %s\n",
					      strerror(-qrc));
			return;
		}
		if (!l3_reset_itself(&vm, qrc))
			break;
		/* its finished rounds count, also when no boot is left */
		salvage_console(vm.log);
		if (boot >= cfg.boots)
			break;
		snprintf(kept, sizeof(kept), "%s.reset%d", vm.log, boot);
		rename(vm.log, kept);
		ksft_print_msg("L3 reset itself (%s; %s): %d ticket and %d other rounds kept so far; booted again\n",
			       "QEMU ended without PVX-BENCH-END or a panic", kept,
			       salvage.ticket_done, salvage.kernel_done);
	}
	load_results(&vm, qrc);
	check_numbers();
	tables();
	raw_lines();
}

static void configure(const char *which)
{
	cfg.which = which;
	cfg.abi = getenv("PVX_ABI");
	cfg.build = getenv("PVX_BUILD");
	cfg.kimage = getenv("PVX_KIMAGE");
	cfg.mem = getenv("PVX_L3_MEM");
	cfg.out = getenv("PVX_OUT");
	cfg.l2_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cfg.l3_cpus = atoi(env_or("PVX_BENCH_L3_CPUS", "0"));
	if (cfg.l3_cpus <= 0)
		cfg.l3_cpus = 2 * cfg.l2_cpus;
	cfg.timeout_s = atof(env_or("PVX_BENCH_TIMEOUT", "1800"));
	/* more when the emulator resets L3 often (lab.rst) */
	cfg.boots = atoi(env_or("PVX_BENCH_L3_BOOTS", "4"));
	if (cfg.boots < 1 || cfg.boots > BOOTS_MAX) {
		ksft_print_msg("PVX_BENCH_L3_BOOTS must be 1..%d: 4 boots\n", BOOTS_MAX);
		cfg.boots = 4;
	}
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s/boot/vmlinuz-%s", cfg.kimage, cfg.abi);
	if (env_or("PVX_BENCH_INITRD", NULL))
		snprintf(cfg.initrd, sizeof(cfg.initrd), "%s", env_or("PVX_BENCH_INITRD", NULL));
	else
		snprintf(cfg.initrd, sizeof(cfg.initrd), "%s/l3-bench-initrd.gz", cfg.build);
}

/* The most rounds of any group read so far. */
static int rounds_read(void)
{
	int i, n = res.kernel.nrounds;

	for (i = 0; i < res.nuser; i++)
		if (res.user[i].nrounds > n)
			n = res.user[i].nrounds;
	return n;
}

/*
 * --tables FILE...: the tables of a run's bench-results.txt again (with
 * this program's tables, e.g. after they changed), on stdout; no test is
 * run. Of several runs: their rounds pooled, numbered on after the
 * previous run's (so each run's rounds stay paired), the summed columns
 * the first run's.
 */
static int tables_of(char *const *files, int nfiles)
{
	static char heading[300];
	char *text;
	int i;

	group_init(&res.kernel, "");
	for (i = 0; i < nfiles; i++) {
		errno = 0;
		text = read_text(files[i]);
		if (!text) {
			fprintf(stderr, "pvx_bench_locks: %s: %s\n", files[i],
				errno ? strerror(errno) : "empty");
			return 1;
		}
		rounds_before = rounds_read();
		parse_text(text);
		if (rounds_lost) {
			fprintf(stderr, "pvx_bench_locks: %s: more than %d rounds in all\n",
				files[i], MAX_ROUNDS);
			return 1;
		}
	}
	if (nfiles == 1)
		snprintf(heading, sizeof(heading), "(tables of %s)", files[0]);
	else
		snprintf(heading, sizeof(heading), "(tables of %s and %d more, rounds pooled)",
			 files[0], nfiles - 1);
	cfg.which = res.kernel.line[TICKET] ? "locks" : "ulocks";
	cfg.abi = heading;
	tables();
	return 0;
}

/*
 * --kept CONSOLE...: what the consoles of boots that reset, in order,
 * kept: "kept: T ticket and K other rounds, the next boot from ticket
 * round T+1 and round K+1", then the kept lines.
 */
static int kept_of(char **paths, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (access(paths[i], R_OK)) {
			fprintf(stderr, "pvx_bench_locks: %s: %s\n", paths[i], strerror(errno));
			return 2;
		}
		salvage_console(paths[i]);
	}
	printf("kept: %d ticket and %d other rounds, the next boot from ticket round %d and round %d\n",
	       salvage.ticket_done, salvage.kernel_done, salvage.ticket_done + 1,
	       salvage.kernel_done + 1);
	fputs(salvage.text ?: "", stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "locks";
	const char *repo = getenv("PVX_REPO");
	struct utsname u;

	if (argc >= 3 && !strcmp(argv[1], "--tables"))
		return tables_of(argv + 2, argc - 2);
	if (argc >= 3 && !strcmp(argv[1], "--kept"))
		return kept_of(argv + 2, argc - 2);
	if (argc > 2 || (strcmp(which, "locks") && strcmp(which, "ulocks"))) {
		fprintf(stderr, "usage: pvx_bench_locks [locks|ulocks]\n%s\n%s\n",
			"       pvx_bench_locks --tables bench-results.txt...",
			"       pvx_bench_locks --kept l3-bench.log.resetN...");
		return 2;
	}
	ksft_print_header();
	/* QEMU's -serial stdio must not read L2's console */
	if (!freopen("/dev/null", "r", stdin) || (repo && chdir(repo)))
		ksft_print_msg("stdin or PVX_REPO: %s\n", strerror(errno));
	if (environment_ok()) {
		configure(which);
		uname(&u);
		ksft_print_msg("L2 KVM host: %s, %d CPUs; %s: %d vCPUs, %s MB (%dx overcommit)\n",
			       u.release, cfg.l2_cpus, "L3 bench guest", cfg.l3_cpus, cfg.mem,
			       cfg.l3_cpus / cfg.l2_cpus);
		load_host_modules();
		lock_bench();
	}
	ksft_set_plan(ksft_test_num());
	ksft_finished();
}
