// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_hcall_bench: what one hypercall round trip costs, seen from a
 * real-mode tiny VM on the KVM host (L2 in the lab). The hypercall
 * microbenchmark of `make bench` (PVX_BENCH=hcall, scripts/bench-l2.sh,
 * Documentation/bench.rst), which runs it without and with pvx_host.
 *
 *   pvx_hcall_bench [-l] [-n CALLS] [-r ROUNDS] CASE...
 *   pvx_hcall_bench -B
 *
 * -B: make bench's driver (bench_driver() below): runs this program on
 * the cases without and with pvx_host + pvx_yield, P passes, and prints
 * the table, ratios and floors; it leaves pvx_host and pvx_yield
 * loaded. Knobs: PVX_BENCH_HCALL_CALLS (N, 20000),
 * PVX_BENCH_HCALL_ROUNDS (R, 5), PVX_BENCH_HCALL_PASSES (P, 6),
 * PVX_BENCH_HCALL_TIMEOUT (s, 300, for each run and each insmod/rmmod),
 * PVX_BENCH_HCALL_ICOUNT=1 (an L2 whose clock counts instructions:
 * N 5000, R 3, P 2 by default); PVX_OUT, PVX_ABI, PVX_BUILD.
 *
 * -l: load the modules the cases need first (module_util.h, from
 * $PVX_BUILD; the tinyvm suite), else a case whose module is not
 * loaded skips (make bench runs it without and with pvx_host).
 *
 * CASE:
 *   stock        an unused number (STOCK_NR) that KVM answers -KVM_ENOSYS
 *   probe        PVX_HC_PROBE (needs pvx_host)
 *   yield        PVX_HC_YIELD to vCPU 1 of a 2-vCPU VM (in-kernel irqchip)
 *                whose vCPU 1 never runs: not "ready" (the state of a
 *                halted vCPU too), so NOT_DONE (needs pvx_yield)
 *   sched-yield  KVM_HC_SCHED_YIELD to the same vCPU (APIC ID 1), stock
 *                KVM's directed yield, which does not yield to a vCPU
 *                that is not ready either
 *
 * A round is CALLS hypercalls inside one KVM_RUN (the guest loops,
 * tvm_g16_hloop), timed with CLOCK_MONOTONIC around the ioctl. The cases
 * take turns round by round, so that the machine's speed drifting during
 * the run hits them alike; the best of ROUNDS rounds counts. One untimed
 * warm-up round of up to 100 calls per case goes first (pvx creates its
 * per-VM state on the first call).
 *
 * Output: TAP 13, one test per case (every round made all its calls and
 * got the expected answer; no time is asserted), and per case one line
 *
 *   # hcall case=CASE pvx_host=0|1 pvx_yield=0|1 calls=N rounds=R
 *     best_ns=NS ns_per_call=NS
 *
 * (on one line) that scripts/bench-l2.sh reads. Exit status 0 pass, 1
 * fail, 4 all skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"
#include "bench_stat.h"
#include "kselftest.h"
#include "module_util.h"
#include "tinyvm.h"

/* Not a KVM_HC_* (1..13 in 6.12) and not in the pvx range. */
#define STOCK_NR		0x7fu
#define KVM_HC_SCHED_YIELD	11
#define WARMUP_CALLS		100

#define X(v) ((unsigned long long)(v))

enum bench_case { C_STOCK, C_PROBE, C_YIELD, C_SCHED_YIELD, C_NR };

struct case_desc {
	const char *name;
	uint32_t nr;
	uint32_t a0;
	uint32_t want;		/* RAX of a real-mode caller */
	bool two_vcpus;		/* the VM with the halted vCPU 1 */
	const char *needs;	/* module that must be loaded, or NULL */
};

static const struct case_desc cases[C_NR] = {
	[C_STOCK] = { "stock", STOCK_NR, 0, (uint32_t)-PVX_ENOSYS, false, NULL },
	[C_PROBE] = { "probe", PVX_HC_PROBE, 0, 0, false, "pvx_host" },
	[C_YIELD] = { "yield", PVX_HC_YIELD, 1, PVX_YIELD_NOT_DONE, true, "pvx_yield" },
	[C_SCHED_YIELD] = { "sched-yield", KVM_HC_SCHED_YIELD, 1, 0, true, NULL },
};

struct result {
	bool run;		/* asked for and not skipped */
	bool ok;
	uint64_t best_ns;
	char why[160];		/* first failure */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- the 2-vCPU VM --------------------------------------------------- */

/*
 * A real-mode VM with an in-kernel irqchip (so that KVM_HC_SCHED_YIELD
 * finds vCPU 1 in the APIC map): vCPU 0 runs the loop; vCPU 1 stays in
 * wait-for-SIPI and never enters KVM_RUN. KVM marks a vCPU "ready" only
 * when it is preempted while runnable or woken; a never-run vCPU is as
 * unready as one sleeping in HLT, and both yields take the same path they
 * take for a halted lock holder (pvx_yield_host_test "sched halted").
 * (A first version halted vCPU 1 in a thread; its set-up hung in the lab
 * now and then, after pvx_host had been removed.)
 */
static int two_vcpu_vm(struct tvm *vm)
{
	if (tvm_create(vm, TVM_REAL, TVM_PROG(tvm_g16_hloop)))
		return -1;
	if (tvm_create_irqchip(vm) || tvm_add_vcpu(vm) || tvm_add_vcpu(vm))
		return -1;
	return 0;
}

/* ---- one round -------------------------------------------------------- */

/*
 * @calls hypercalls of case @c from vCPU @v in one KVM_RUN. Returns 0 and
 * the time in @ns, or -1 with the reason in @why.
 */
static int run_round(struct tvm_vcpu *v, const struct case_desc *c, uint32_t calls,
		     uint64_t *ns, char *why, size_t len)
{
	struct kvm_regs r;
	uint64_t t0, t1;
	char buf[96];
	int ret;

	if (tvm_get_regs(v, &r)) {
		snprintf(why, len, "KVM_GET_REGS: %s", strerror(errno));
		return -1;
	}
	r.rip = TVM_CODE_GPA;
	r.rdi = calls;
	r.rbp = c->nr;
	r.rsp = c->a0;	/* tvm_g16_hloop's a0 */
	if (tvm_set_regs(v, &r)) {
		snprintf(why, len, "KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	t0 = now_ns();
	ret = tvm_run(v);
	t1 = now_ns();
	if (ret < 0) {
		snprintf(why, len, "KVM_RUN: %s", strerror(-ret));
		return -1;
	}
	if (!tvm_exit_is_done(v)) {
		snprintf(why, len, "unexpected exit %s", tvm_exit_str(v, buf, sizeof(buf)));
		return -1;
	}
	if (tvm_get_regs(v, &r)) {
		snprintf(why, len, "KVM_GET_REGS: %s", strerror(errno));
		return -1;
	}
	if ((uint32_t)r.rdi != 0) {
		snprintf(why, len, "the loop stopped with %llu calls left", X((uint32_t)r.rdi));
		return -1;
	}
	if ((uint32_t)r.rax != c->want ||
	    (c->nr == PVX_HC_PROBE && (uint32_t)r.rbx != PVX_MAGIC)) {
		snprintf(why, len, "answer rax=0x%llx rbx=0x%llx, want rax=0x%llx",
			 X(r.rax), X(r.rbx), X(c->want));
		return -1;
	}
	*ns = t1 - t0;
	return 0;
}

static void usage_exit(void)
{
	fprintf(stderr, "%s\n%s\n",
		"usage: pvx_hcall_bench [-l] [-n CALLS] [-r ROUNDS] stock|probe|yield|sched-yield...",
		"       pvx_hcall_bench -B");
	exit(2);
}

static unsigned long parse_count(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !v || v > 100000000ul)
		usage_exit();
	return v;
}

/* ---- make bench's driver (-B) ----------------------------------------- */

#define MAX_PASSES	64
#define STEP_LINE	512

/* the cases run without pvx (pvx_host=0) and with it (1) */
static const char *const state_cases[2] = { "stock sched-yield", "stock probe yield sched-yield" };

struct hcall_bench {
	unsigned int calls, rounds, passes, limit_s;
	bool icount;
	FILE *res;		/* the raw result lines */
	unsigned int pass;	/* the one running */
	double ns[C_NR][2][MAX_PASSES];	/* ns_per_call by case, pvx_host, pass */
	char first[STEP_LINE];	/* a step's first output line */
	bool stream;		/* a step's output as "# | " lines */
};

static const char *env_str(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

static unsigned int env_count(const char *name, unsigned int dflt)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return dflt;
	return (unsigned int)strtoul(v, NULL, 10);
}

/* one line of a step's output: streamed, its result line kept */
static void step_line(struct hcall_bench *hb, const char *line)
{
	int c, on;

	if (!hb->first[0])
		snprintf(hb->first, sizeof(hb->first), "%s", line);
	if (!hb->stream)
		return;
	printf("# | %s\n", line);
	if (strncmp(line, "# hcall ", 8))
		return;
	fprintf(hb->res, "hcall pass=%u %s\n", hb->pass, line + 8);
	fflush(hb->res);
	for (c = 0; c < C_NR; c++) {
		char name[32];

		if (!bstat_field(line, "case", name, sizeof(name)) || strcmp(name, cases[c].name))
			continue;
		on = bstat_field_num(line, "pvx_host") == 1;
		hb->ns[c][on][hb->pass - 1] = bstat_field_num(line, "ns_per_call");
	}
}

/*
 * The child @pid's output on @fd, line by line, until it ends or
 * @limit_s seconds passed. Its exit status, or 124 when it ran out of
 * time: killed and left behind (a task stuck in the kernel cannot be
 * reaped).
 */
static int step_wait(struct hcall_bench *hb, pid_t pid, int fd, unsigned int limit_s)
{
	char buf[4096], line[STEP_LINE];
	unsigned long long end = now_ns() + limit_s * 1000000000ull;
	bool reaped = false;
	size_t len = 0;
	ssize_t n;
	int st, i;

	hb->first[0] = '\0';
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n' && len + 1 < sizeof(line)) {
				line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			step_line(hb, line);
			len = 0;
		}
		reaped = reaped || waitpid(pid, &st, WNOHANG) == pid;
		if (reaped && n <= 0)
			break;
		if (now_ns() > end) {
			kill(pid, SIGKILL);
			close(fd);
			return 124;
		}
		if (n <= 0)
			usleep(100000);
	}
	close(fd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* a child with its stdout and stderr into the pipe *fd; -1 if none */
static pid_t step_fork(int *fd)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		return 0;
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

/* insmod $PVX_BUILD/host/@name.ko or rmmod @name, bounded: its status */
static int module_step(struct hcall_bench *hb, const char *name, bool load)
{
	char ko[512];
	pid_t pid;
	int fd, err;

	pid = step_fork(&fd);
	if (pid < 0)
		return 126;
	if (!pid) {
		if (load)
			err = pvx_module_file(name, ko, sizeof(ko)) ? module_load(ko, "") : -ENOENT;
		else
			err = module_unload(name);
		if (err)
			printf("%s %s: %s\n", load ? "insmod" : "rmmod", name, strerror(-err));
		fflush(stdout);
		_exit(!!err);
	}
	hb->stream = false;
	return step_wait(hb, pid, fd, hb->limit_s);
}

/*
 * The host without pvx (its feature modules removed too: a suite before
 * may have loaded them) or with pvx_host and pvx_yield; a step that
 * fails is a failed test and ends the bench (false).
 */
static bool modules_to(struct hcall_bench *hb, bool with)
{
	static const char *const without_mods[] = {
		"pvx_ksm", "pvx_numa", "pvx_fork_copy", "pvx_yield", "pvx_host", NULL
	};
	static const char *const with_mods[] = { "pvx_host", "pvx_yield", NULL };
	const char *const *m = with ? with_mods : without_mods;
	const char *verb = with ? "insmod" : "rmmod";
	int rc;

	for (; *m; m++) {
		if (module_is_loaded(*m) == with)
			continue;
		ksft_print_msg("hcall bench pass %u: %s %s\n", hb->pass, verb, *m);
		rc = module_step(hb, *m, with);
		if (!rc)
			continue;
		ksft_test_result_fail("hcall bench pass %u: %s %s # exit %d: %s\n",
				      hb->pass, verb, *m, rc, hb->first);
		dmesg_print((const char *const[]){ "", NULL }, 20);
		return false;
	}
	return true;
}

/* this program on the cases of one host state, bounded: false ends the bench */
static bool run_cases(struct hcall_bench *hb, bool with)
{
	char n[16], r[16], words[64], *save;
	char *argv[12] = { "pvx_hcall_bench", "-n", n, "-r", r };
	const char *state = with ? "with" : "without";
	int argc = 5, fd, rc;
	pid_t pid;

	snprintf(n, sizeof(n), "%u", hb->calls);
	snprintf(r, sizeof(r), "%u", hb->rounds);
	snprintf(words, sizeof(words), "%s", state_cases[with]);
	for (argv[argc] = strtok_r(words, " ", &save); argv[argc];
	     argv[argc] = strtok_r(NULL, " ", &save))
		argc++;
	ksft_print_msg("hcall bench pass %u: %s pvx: pvx_hcall_bench -n %u -r %u %s\n",
		       hb->pass, state, hb->calls, hb->rounds, state_cases[with]);
	pid = step_fork(&fd);
	if (pid < 0)
		return false;
	if (!pid) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	hb->stream = true;
	rc = step_wait(hb, pid, fd, hb->limit_s);
	if (!rc) {
		ksft_test_result_pass("hcall bench pass %u %s pvx: %s\n", hb->pass, state,
				      state_cases[with]);
		return true;
	}
	ksft_test_result_fail("hcall bench pass %u %s pvx: %s # exit %d\n", hb->pass, state,
			      state_cases[with], rc);
	dmesg_print((const char *const[]){ "", NULL }, 20);
	return rc != 124;
}

struct table_row {
	const char *what;
	enum bench_case a, b;
	bool a_on, b_on;
	const char *vs;		/* NULL: against itself */
};

static const struct table_row rows[] = {
	{ "stock 0x7f -ENOSYS (no pvx)", C_STOCK, C_STOCK, 0, 0, NULL },
	{ "stock 0x7f -ENOSYS (pvx)", C_STOCK, C_STOCK, 1, 0, "stock 0x7f, no pvx" },
	{ "PVX_HC_PROBE (pvx)", C_PROBE, C_STOCK, 1, 0, "stock 0x7f, no pvx" },
	{ "PVX_HC_PROBE (pvx)", C_PROBE, C_STOCK, 1, 1, "stock 0x7f, pvx" },
	{ "KVM_HC_SCHED_YIELD unready (no pvx)", C_SCHED_YIELD, C_SCHED_YIELD, 0, 0, NULL },
	{ "KVM_HC_SCHED_YIELD unready (pvx)", C_SCHED_YIELD, C_SCHED_YIELD, 1, 0,
	  "SCHED_YIELD, no pvx" },
	{ "PVX_HC_YIELD NOT_DONE (pvx)", C_YIELD, C_SCHED_YIELD, 1, 0, "SCHED_YIELD, no pvx" },
	{ "PVX_HC_YIELD NOT_DONE (pvx)", C_YIELD, C_SCHED_YIELD, 1, 1, "SCHED_YIELD, pvx" },
};

#define ROW_FMT "%-36s %10s %-30s %8s %-28s %s\n"

/* the smallest of the passes' numbers, NAN when none */
static double best_of(const double *v, unsigned int n)
{
	double scratch[MAX_PASSES];
	struct bstat_spread s;

	return bstat_spread_of(v, n, scratch, &s) ? NAN : s.min;
}

/* a ratio of two bests as the table prints it, "1.016x" or "-" */
static void format_ratio(char *buf, size_t size, double x, double y)
{
	static const struct bstat_style st = { "%.3f", 1, "x" };
	struct bstat_spread s = { 1, 0, bstat_ratio(x, y), 0, 0 };

	bstat_format(buf, size, &st, &s, isnan(s.median) ? -ENODATA : 0);
	buf[strcspn(buf, " ")] = '\0';
}

/*
 * The table: per case its best over the passes and their median; per
 * ratio the ratio of the bests and the median of the passes' own ratios
 * (both sides of a pass run a minute apart, so a drift of the machine's
 * load between passes cancels out of each pass's ratio); the floors of
 * issue 14 on the passes' ratios.
 */
static void hcall_table(const struct hcall_bench *hb, FILE *tee)
{
	static const struct bstat_style num = { "%.1f", 1, "" }, ratio = { "%.3f", 1, "x" };
	double scratch[MAX_PASSES], pr[MAX_PASSES], x, y;
	unsigned int p = hb->passes;
	char best[32], med[128], rb[32], rp[128];
	size_t i;

	bstat_say(tee,
		  "---- hypercall benchmark, kernel %s: real-mode tiny VM, %u calls per KVM_RUN, best of %u rounds in each of %u passes; %s\n",
		  env_str("PVX_ABI", "?"), hb->calls, hb->rounds, p, hb->icount ?
		  "instructions per call (icount: L2's clock counts instructions)" :
		  "ns/call in emulated time (only the ratios mean something)");
	bstat_say(tee,
		  "%s: the best of the passes, and their median (n=passes min..max); ratio: of the bests, and pass by pass: the median of the passes' own ratios (n min..max)\n",
		  hb->icount ? "insn/call" : "ns/call");
	bstat_say(tee, ROW_FMT, "call (host)", "best", "median of passes", "ratio", "pass by pass",
		  "against");
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct table_row *row = &rows[i];
		const double *a = hb->ns[row->a][row->a_on], *b = hb->ns[row->b][row->b_on];

		x = best_of(a, p);
		y = best_of(b, p);
		snprintf(best, sizeof(best), isnan(x) ? "-" : "%.1f", x);
		bstat_format_of(med, sizeof(med), &num, a, p, scratch);
		format_ratio(rb, sizeof(rb), x, y);
		bstat_paired(a, b, p, pr);
		if (row->vs)
			bstat_format_of(rp, sizeof(rp), &ratio, pr, p, scratch);
		else	/* a case against itself: no ratio to spread */
			snprintf(rp, sizeof(rp), "-");
		bstat_say(tee, ROW_FMT, row->what, best, med, rb, rp,
			  row->vs ? row->vs : "itself");
	}
	bstat_say(tee,
		  "---- floors of issue 14 (reported, not asserted; on the passes' own ratios)\n");
	bstat_paired(hb->ns[C_STOCK][1], hb->ns[C_STOCK][0], p, pr);
	bstat_format_floor(med, sizeof(med), &ratio, pr, p, scratch, BSTAT_LE, 1.02);
	bstat_say(tee, "floor stock number with pvx / without <= 1.02x: %s\n", med);
	bstat_paired(hb->ns[C_PROBE][1], hb->ns[C_STOCK][0], p, pr);
	bstat_format_floor(med, sizeof(med), &ratio, pr, p, scratch, BSTAT_LE, 1.10);
	bstat_say(tee, "floor PROBE / stock -ENOSYS without pvx <= 1.10x: %s\n", med);
}

/* one test per case and host state: a number in some pass */
static void hcall_checks(const struct hcall_bench *hb)
{
	static const struct { enum bench_case c; bool on; } want[] = {
		{ C_STOCK, 0 }, { C_STOCK, 1 }, { C_PROBE, 1 }, { C_YIELD, 1 },
		{ C_SCHED_YIELD, 0 }, { C_SCHED_YIELD, 1 },
	};
	unsigned int i, p;
	bool found;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		for (found = false, p = 0; p < hb->passes; p++)
			found |= !isnan(hb->ns[want[i].c][want[i].on][p]);
		if (found)
			ksft_test_result_pass("hcall bench: a number for %s with pvx_host=%d\n",
					      cases[want[i].c].name, want[i].on);
		else
			ksft_test_result_fail("hcall bench: a number for %s with pvx_host=%d %s\n",
					      cases[want[i].c].name, want[i].on, "# missing");
	}
}

/* the result file of the run, "PVX_OUT/bench-hcall[-icount]-SUFFIX" */
static FILE *out_file(const struct hcall_bench *hb, const char *suffix, const char *mode)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/bench-hcall%s-%s", env_str("PVX_OUT", "/tmp"),
		 hb->icount ? "-icount" : "", suffix);
	return fopen(path, mode);
}

/*
 * make bench's hypercall microbenchmark (PVX_BENCH=hcall, run by
 * scripts/bench-l2.sh in L2): this program's cases alternately on a host
 * without pvx and with pvx_host and pvx_yield, P passes in ABBA order,
 * every step bounded; the table, the floors (reported, never asserted)
 * and the raw lines. It leaves pvx_host and pvx_yield loaded.
 */
static int bench_driver(void)
{
	static struct hcall_bench hb;
	unsigned int p, s, c, on;
	char line[STEP_LINE];
	FILE *tee;
	bool with;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	hb.icount = env_count("PVX_BENCH_HCALL_ICOUNT", 0) == 1;
	/* counted instructions repeat from run to run: fewer of everything */
	hb.calls = env_count("PVX_BENCH_HCALL_CALLS", hb.icount ? 5000 : 20000);
	hb.rounds = env_count("PVX_BENCH_HCALL_ROUNDS", hb.icount ? 3 : 5);
	hb.passes = env_count("PVX_BENCH_HCALL_PASSES", hb.icount ? 2 : 6);
	hb.limit_s = env_count("PVX_BENCH_HCALL_TIMEOUT", 300);
	if (!hb.calls || !hb.rounds || !hb.passes || hb.passes > MAX_PASSES)
		ksft_exit_fail_msg("PVX_BENCH_HCALL_CALLS, _ROUNDS, _PASSES (to %d): not numbers\n",
				   MAX_PASSES);
	for (c = 0; c < C_NR; c++)
		for (on = 0; on < 2; on++)
			for (p = 0; p < MAX_PASSES; p++)
				hb.ns[c][on][p] = NAN;
	if (access("/dev/kvm", R_OK | W_OK)) {
		ksft_test_result_fail("hcall bench # no /dev/kvm in L2\n");
		goto out;
	}
	hb.res = out_file(&hb, "results.txt", "w+");
	if (!hb.res)
		ksft_exit_fail_msg("the results file: %s\n", strerror(errno));
	ksft_print_msg("hcall bench: %u calls per KVM_RUN, best of %u rounds, %u passes %s\n",
		       hb.calls, hb.rounds, hb.passes, "without and with pvx_host + pvx_yield");
	for (p = 1; p <= hb.passes; p++) {
		hb.pass = p;
		/*
		 * ABBA: odd passes measure without pvx first, even passes
		 * with it first, so a load that grows or shrinks across a
		 * pass favours each side equally often
		 */
		for (s = 0; s < 2; s++) {
			with = p % 2 ? s : !s;
			if (!modules_to(&hb, with) || !run_cases(&hb, with))
				goto table;
		}
	}
	/*
	 * an even pass ends without pvx: the benchmarks after this one run
	 * with pvx_host and pvx_yield, as bench-l2.sh loaded them
	 */
	modules_to(&hb, true);
table:
	/*
	 * In an L2 whose clock counts instructions (PVX_LAB_ICOUNT=0, set
	 * by bench.sh as PVX_BENCH_HCALL_ICOUNT=1) a "ns" is one
	 * instruction of L2 or its tiny VM: the same count in every run,
	 * whatever the machine's load (bench.rst).
	 */
	tee = out_file(&hb, "table.txt", "w");
	hcall_table(&hb, tee);
	if (tee)
		fclose(tee);
	hcall_checks(&hb);
	ksft_print_msg("---- raw result lines\n");
	rewind(hb.res);
	while (fgets(line, sizeof(line), hb.res))
		printf("#   %s", line);
	fclose(hb.res);
out:
	ksft_set_plan(ksft_test_num());
	ksft_finished();
}

int main(int argc, char **argv)
{
	struct result res[C_NR] = { 0 };
	struct tvm one, two;
	bool need_two = false, have_one = false, have_two = false;
	uint32_t calls = 20000, rounds = 5, r, n;
	struct tvm_vcpu *v;
	struct utsname u;
	uint64_t ns;
	unsigned int nrun = 0;
	bool load = false;
	const char *why;
	int opt, i, c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "Bln:r:")) != -1) {
		switch (opt) {
		case 'B':
			return bench_driver();
		case 'l':
			load = true;
			break;
		case 'n':
			calls = parse_count(optarg);
			break;
		case 'r':
			rounds = parse_count(optarg);
			break;
		default:
			usage_exit();
		}
	}
	if (optind >= argc)
		usage_exit();
	for (i = optind; i < argc; i++) {
		for (c = 0; c < C_NR && strcmp(argv[i], cases[c].name); c++)
			;
		if (c == C_NR)
			usage_exit();
		res[c].run = true;
		if (!load || !cases[c].needs)
			continue;
		why = module_ensure_loaded(cases[c].needs);
		if (why)	/* the case skips, saying its module is not loaded */
			fprintf(stderr, "%s\n", why);
	}

	ksft_print_header();
	for (c = 0; c < C_NR; c++)
		nrun += res[c].run;
	ksft_set_plan(nrun);
	uname(&u);
	tvm_diag("pvx_hcall_bench on %s, %s CPU: %u calls per round, best of %u rounds, pvx_host %s, pvx_yield %s",
		 u.release, tvm_cpu_is_amd() ? "AMD" : "Intel",
		 calls, rounds, module_is_loaded("pvx_host") ? "loaded" : "not loaded",
		 module_is_loaded("pvx_yield") ? "loaded" : "not loaded");
	if (access("/dev/kvm", R_OK | W_OK))
		ksft_exit_skip("/dev/kvm: %s\n", strerror(errno));

	for (c = 0; c < C_NR; c++) {
		if (!res[c].run)
			continue;
		if (cases[c].needs && !module_is_loaded(cases[c].needs)) {
			ksft_test_result_skip("%s: %s not loaded\n", cases[c].name, cases[c].needs);
			res[c].run = false;
			continue;
		}
		res[c].ok = true;
		res[c].best_ns = UINT64_MAX;
		need_two |= cases[c].two_vcpus;
	}
	have_one = !tvm_create(&one, TVM_REAL, TVM_PROG(tvm_g16_hloop)) && !tvm_add_vcpu(&one);
	tvm_diag("1-vCPU VM %s", have_one ? "ready" : "failed");
	if (need_two) {
		have_two = !two_vcpu_vm(&two);
		tvm_diag("2-vCPU VM %s", have_two ? "ready" : "failed");
	}

	/* Warm-up, then the timed rounds, the cases taking turns. */
	for (r = 0; r <= rounds; r++) {
		if (r)
			tvm_diag("round %u of %u", r, rounds);
		/* the warm-up round: up to WARMUP_CALLS */
		n = r || calls < WARMUP_CALLS ? calls : WARMUP_CALLS;
		for (c = 0; c < C_NR; c++) {
			const struct case_desc *cd = &cases[c];
			struct result *p = &res[c];

			if (!p->run || !p->ok)
				continue;
			if (cd->two_vcpus ? !have_two : !have_one) {
				snprintf(p->why, sizeof(p->why), "VM set-up failed");
				p->ok = false;
				continue;
			}
			v = cd->two_vcpus ? &two.vcpu[0] : &one.vcpu[0];
			if (run_round(v, cd, n, &ns, p->why, sizeof(p->why))) {
				p->ok = false;
				continue;
			}
			if (r && ns < p->best_ns)
				p->best_ns = ns;
		}
	}
	for (c = 0; c < C_NR; c++) {
		const struct result *p = &res[c];

		if (!p->run)
			continue;
		if (p->ok)
			tvm_diag("hcall case=%s pvx_host=%d pvx_yield=%d calls=%u rounds=%u best_ns=%llu ns_per_call=%.2f",
				 cases[c].name,
				 module_is_loaded("pvx_host"), module_is_loaded("pvx_yield"), calls,
				 rounds, X(p->best_ns), (double)p->best_ns / calls);
		if (p->ok)
			ksft_test_result_pass("%s: %u x %u calls of 0x%x (a0=%u) answered 0x%x\n",
					      cases[c].name, rounds, calls, cases[c].nr,
					      cases[c].a0, cases[c].want);
		else
			ksft_test_result_fail("%s: %u x %u calls of 0x%x (a0=%u) answered 0x%x: %s\n",
					      cases[c].name, rounds, calls, cases[c].nr,
					      cases[c].a0, cases[c].want, p->why);
	}
	if (need_two)
		tvm_destroy(&two);
	tvm_destroy(&one);
	/* a case skipped (its module not loaded) is not a failure */
	ksft_print_cnts();
	if (ksft_get_fail_cnt())
		return KSFT_FAIL;
	return ksft_get_pass_cnt() ? KSFT_PASS : KSFT_SKIP;
}
