// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_hcall_bench: what one hypercall round trip costs, seen from a
 * real-mode tiny VM on the KVM host (L2 in the lab). The hypercall
 * microbenchmark of `make bench` (PVX_BENCH=hcall, scripts/bench-l2.sh,
 * Documentation/bench.rst), which runs it without and with pvx_host.
 *
 *   pvx_hcall_bench [-l] [-n CALLS] [-r ROUNDS] CASE...
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"
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

static void usage(void)
{
	fprintf(stderr, "usage: pvx_hcall_bench [-l] [-n CALLS] [-r ROUNDS] "
		"stock|probe|yield|sched-yield...\n");
	exit(2);
}

static unsigned long parse_count(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !v || v > 100000000ul)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	struct result res[C_NR] = { 0 };
	struct tvm one, two;
	bool need_two = false, have_one = false, have_two = false;
	uint32_t calls = 20000, rounds = 5, r;
	struct tvm_vcpu *v;
	struct utsname u;
	uint64_t ns;
	unsigned int nrun = 0;
	bool load = false;
	const char *why;
	int opt, i, c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "ln:r:")) != -1) {
		switch (opt) {
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
			usage();
		}
	}
	if (optind >= argc)
		usage();
	for (i = optind; i < argc; i++) {
		for (c = 0; c < C_NR && strcmp(argv[i], cases[c].name); c++)
			;
		if (c == C_NR)
			usage();
		res[c].run = true;
		why = load && cases[c].needs ? module_ensure_loaded(cases[c].needs) : NULL;
		if (why)	/* the case skips, saying its module is not loaded */
			fprintf(stderr, "%s\n", why);
	}

	ksft_print_header();
	for (c = 0; c < C_NR; c++)
		nrun += res[c].run;
	ksft_set_plan(nrun);
	uname(&u);
	tvm_diag("pvx_hcall_bench on %s, %s CPU: %u calls per round, best of %u rounds, "
		 "pvx_host %s, pvx_yield %s", u.release, tvm_cpu_is_amd() ? "AMD" : "Intel",
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
		for (c = 0; c < C_NR; c++) {
			struct result *p = &res[c];

			if (!p->run || !p->ok)
				continue;
			if (!(cases[c].two_vcpus ? have_two : have_one)) {
				snprintf(p->why, sizeof(p->why), "VM set-up failed");
				p->ok = false;
				continue;
			}
			v = cases[c].two_vcpus ? &two.vcpu[0] : &one.vcpu[0];
			if (run_round(v, &cases[c], r ? calls : (calls < WARMUP_CALLS ?
					calls : WARMUP_CALLS), &ns, p->why, sizeof(p->why))) {
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
			tvm_diag("hcall case=%s pvx_host=%d pvx_yield=%d calls=%u rounds=%u "
				 "best_ns=%llu ns_per_call=%.2f", cases[c].name,
				 module_is_loaded("pvx_host"), module_is_loaded("pvx_yield"), calls,
				 rounds, X(p->best_ns), (double)p->best_ns / calls);
		ksft_test_result(p->ok, "%s: %u x %u calls of 0x%x (a0=%u) answered 0x%x%s%s\n",
				 cases[c].name, rounds, calls, cases[c].nr, cases[c].a0,
				 cases[c].want, p->ok ? "" : ": ", p->ok ? "" : p->why);
	}
	if (need_two)
		tvm_destroy(&two);
	tvm_destroy(&one);
	/* a case skipped (its module not loaded) is not a failure */
	ksft_print_cnts();
	return ksft_get_fail_cnt() ? KSFT_FAIL : ksft_get_pass_cnt() ? KSFT_PASS : KSFT_SKIP;
}
