// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_yield_host_test: PVX_HC_YIELD (pvx_yield.ko) seen from tiny VMs with two
 * or more vCPUs, run on the KVM host (L2 in the lab). Each stage (fixture)
 * loads pvx_host and pvx_yield from $PVX_BUILD, or unloads pvx_yield,
 * as it needs (harness.h).
 *
 *   pvx_yield_host_test absent
 *	pvx_yield not loaded: PROBE has no PVX_F_YIELD, the call is -ENOSYS
 *	whatever its arguments, no /sys/kernel/debug/pvx/yield.
 *   pvx_yield_host_test insmod
 *	pvx_yield.ko loads (pvx_host loaded, pvx_yield not).
 *   pvx_yield_host_test pinned
 *	pvx_host cannot be removed while pvx_yield uses it (EWOULDBLOCK).
 *   pvx_yield_host_test abi
 *	PROBE bit, invalid targets (index >= vCPUs, huge, 32-bit truncation
 *	of a real-mode caller), self, undefined flags, CPL3, a target that
 *	never ran; per-VM and host counters match what was issued.
 *   pvx_yield_host_test sched
 *	target running (caller and target vCPU threads on different CPUs:
 *	TARGET_RUNNING seen at least once in N tries), target preempted
 *	(both threads pinned to one CPU: DONE seen at least once, never
 *	TARGET_RUNNING), target halted in KVM_RUN (in-kernel irqchip, HLT
 *	with IF=0: always NOT_DONE, and it stays halted); counters exact.
 *   pvx_yield_host_test policy
 *	pvx_host's "features" parameter and the VM's sysfs "features"
 *	without PVX_F_YIELD: -EOPNOTSUPP, PROBE bit clear, counters still.
 *   pvx_yield_host_test rmmod-loop
 *	a vCPU yields in a loop while this test removes pvx_yield.
 *   pvx_yield_host_test no-host
 *	pvx_host not loaded: pvx_yield.ko does not load.
 *
 * Retries count hypercalls, never time. Output is TAP 13; exit status 0
 * pass, 1 fail, 4 skip.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "pvx.h"
#include "tinyvm.h"

#include "harness.h"

#define DEBUGFS_PVX	"/sys/kernel/debug/pvx"
#define YIELD_TOTALS	DEBUGFS_PVX "/yield"
#define PARAM_FEATURES	"/sys/module/pvx_host/parameters/features"
#define PARAM_ABI	"/sys/module/pvx_host/parameters/abi_version"

#define ROLE_CALLER	0
#define ROLE_SPIN	1
#define ROLE_HALT	2

/* Hypercalls a scheduling case may issue before it gives up. */
#define SCHED_TRIES	5000
/* ... and how many hits of the outcome it looks for end it early. */
#define SCHED_HITS	3

#define SENT_RDX	0x1d1d1d1d2d2d2d2dull
#define SENT_RSI	0x1515151525252525ull

#define X(v) ((unsigned long long)(v))

/* ---- counters ------------------------------------------------------ */

enum { ST_CALLS, ST_DONE, ST_NOT_DONE, ST_RUNNING, ST_INVALID, ST_NR };
static const char *const st_names[ST_NR] = {
	"calls", "done", "not_done", "target_running", "invalid",
};

struct counts {
	long long v[ST_NR];
};

/* "name value" lines of @path into @c; false when unreadable or incomplete. */
static bool read_counts(const char *path, struct counts *c)
{
	return tvm_read_counters(path, st_names, ST_NR, c->v);
}

static void counts_add(struct counts *c, uint64_t rax)
{
	c->v[ST_CALLS]++;
	if (rax == PVX_YIELD_DONE)
		c->v[ST_DONE]++;
	else if (rax == PVX_YIELD_NOT_DONE)
		c->v[ST_NOT_DONE]++;
	else if (rax == PVX_YIELD_TARGET_RUNNING)
		c->v[ST_RUNNING]++;
	else if ((uint32_t)rax == (uint32_t)-PVX_EINVAL)
		c->v[ST_INVALID]++;
}

static void counts_str(const struct counts *c, char *buf, size_t len)
{
	snprintf(buf, len, "calls %lld done %lld not_done %lld target_running %lld invalid %lld",
		 c->v[0], c->v[1], c->v[2], c->v[3], c->v[4]);
}

static bool counts_eq(const struct counts *a, const struct counts *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static void counts_sub(struct counts *r, const struct counts *a, const struct counts *b)
{
	int i;

	for (i = 0; i < ST_NR; i++)
		r->v[i] = a->v[i] - b->v[i];
}

/* The per-VM counters of this process's newest VM. */
static bool read_vm_counts(struct counts *c, char *dir, size_t len)
{
	char path[320];

	if (tvm_newest_vm_dir(dir, len))
		return false;
	snprintf(path, sizeof(path), "%s/yield", dir);
	return read_counts(path, c);
}

/*
 * Compare a VM's file (@vm_read, read while the VM lived, or read now when
 * NULL) and the host totals' growth with what the guest saw.
 */
static void check_counts_vm(const char *what, const struct counts *seen,
			    const struct counts *tot_before, const struct counts *vm_read)
{
	struct counts vmc, tot, delta;
	char a[160], b[160], dir[256] = "";
	bool ok;

	if (vm_read) {
		vmc = *vm_read;
		ok = true;
	} else {
		ok = read_vm_counts(&vmc, dir, sizeof(dir));
	}
	counts_str(seen, a, sizeof(a));
	counts_str(&vmc, b, sizeof(b));
	if (!ok || !counts_eq(&vmc, seen))
		tvm_diag("%s: guest saw: %s; %s/yield: %s", what, a, ok ? dir : "?", b);
	pvx_check(ok && counts_eq(&vmc, seen), "%s: per-VM counters match (%s)", what, b);

	ok = read_counts(YIELD_TOTALS, &tot);
	counts_sub(&delta, &tot, tot_before);
	counts_str(&delta, b, sizeof(b));
	if (!ok || !counts_eq(&delta, seen))
		tvm_diag("%s: guest saw: %s; " YIELD_TOTALS " grew by: %s", what, a, b);
	pvx_check(ok && counts_eq(&delta, seen), "%s: host totals grew by the same (%s)",
		  what, b);
}

static void check_counts(const char *what, const struct counts *seen,
			 const struct counts *tot_before)
{
	check_counts_vm(what, seen, tot_before, NULL);
}

/* ---- VMs ----------------------------------------------------------- */

/* A 64-bit VM running tvm_g64_roles with @n vCPUs (irqchip: in-kernel LAPIC). */
static int roles_vm(struct tvm *vm, int n, bool irqchip)
{
	int i;

	if (tvm_create(vm, TVM_LONG, TVM_PROG(tvm_g64_roles)))
		return -1;
	if (irqchip && tvm_create_irqchip(vm))
		goto fail;
	for (i = 0; i < n; i++) {
		if (tvm_add_vcpu(vm))
			goto fail;
		if (irqchip && i && tvm_set_runnable(&vm->vcpu[i]))
			goto fail;
	}
	return 0;
fail:
	tvm_destroy(vm);
	return -1;
}

/* Give vCPU @v role @role; a caller issues (nr, a0, a1) in a loop. */
static int set_role(struct tvm_vcpu *v, int role, uint64_t nr, uint64_t a0, uint64_t a1)
{
	struct kvm_regs r;

	if (tvm_get_regs(v, &r))
		return -1;
	r.rip = TVM_CODE_GPA;
	r.r11 = role;
	r.r8 = nr;
	r.r9 = a0;
	r.r12 = a1;
	r.r10 = 0;
	r.rdx = SENT_RDX;
	r.rsi = SENT_RSI;
	return tvm_set_regs(v, &r);
}

/* One iteration of a caller vCPU's loop: its RAX, or -1 (diag printed). */
static int caller_step(struct tvm_vcpu *v, uint64_t *rax)
{
	struct kvm_regs r;
	char buf[96];
	int ret = tvm_run(v);

	if (ret < 0 || !tvm_exit_is_done(v) || tvm_get_regs(v, &r)) {
		tvm_diag("caller vCPU %d: %s", v->id, ret < 0 ? strerror(-ret) :
			 tvm_exit_str(v, buf, sizeof(buf)));
		return -1;
	}
	*rax = r.rax;
	return 0;
}

/* One call from vCPU @v of a fresh-or-given VM: RAX, or ~0 on failure. */
static uint64_t call_once(struct tvm_vcpu *v, uint64_t nr, uint64_t a0, uint64_t a1)
{
	uint64_t rax;

	if (set_role(v, ROLE_CALLER, nr, a0, a1) || caller_step(v, &rax))
		return ~0ull;
	return rax;
}

/* ---- threads running other vCPUs ------------------------------------ */

struct runner {
	struct tvm_vcpu *v;
	int cpu;		/* pinned to this CPU, or -1 */
	volatile int stop;
	volatile int err;	/* -errno of KVM_RUN or an exit reason */
	volatile unsigned long runs;
	pthread_t th;
	bool started;
};

static void sig_nop(int sig)
{
	(void)sig;
}

static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* KVM_RUN until told to stop; a spinning or halted vCPU never exits by itself. */
static void *runner_fn(void *arg)
{
	struct runner *r = arg;
	int ret;

	if (r->cpu >= 0 && pin_self(r->cpu)) {
		r->err = -errno;
		return NULL;
	}
	while (!r->stop) {
		ret = ioctl(r->v->fd, KVM_RUN, 0);
		r->runs++;
		if (ret < 0 && errno == EINTR)
			continue;
		r->err = ret < 0 ? -errno : (int)r->v->run->exit_reason;
		break;
	}
	return NULL;
}

static int runner_start(struct runner *r, struct tvm_vcpu *v, int cpu)
{
	memset(r, 0, sizeof(*r));
	r->v = v;
	r->cpu = cpu;
	if (pthread_create(&r->th, NULL, runner_fn, r))
		return -1;
	r->started = true;
	return 0;
}

/* Stop the runner: immediate_exit makes a KVM_RUN entered later return too. */
static void runner_stop(struct runner *r)
{
	int i;

	if (!r->started)
		return;
	r->stop = 1;
	r->v->run->immediate_exit = 1;
	for (i = 0; i < 100000; i++) {
		pthread_kill(r->th, SIGUSR1);
		if (!pthread_tryjoin_np(r->th, NULL))
			break;
		usleep(1000);
	}
	r->v->run->immediate_exit = 0;
	r->started = false;
}

static int nr_cpus_allowed(cpu_set_t *orig, int *first, int *second)
{
	int cpu, n = 0;

	*first = *second = -1;
	if (sched_getaffinity(0, sizeof(*orig), orig))
		return 0;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, orig))
			continue;
		if (n == 0)
			*first = cpu;
		else if (n == 1)
			*second = cpu;
		n++;
	}
	return n;
}

/* ---- absent -------------------------------------------------------- */

static uint64_t probe_features(void)
{
	struct kvm_regs r;
	struct tvm vm;
	uint64_t feat = ~0ull;

	if (tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)))
		return feat;
	if (!tvm_add_vcpu(&vm) &&
	    !tvm_hcall(&vm.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) && r.rax == 0 &&
	    r.rbx == PVX_MAGIC)
		feat = r.rdx;
	tvm_destroy(&vm);
	return feat;
}

static int cmd_absent(void)
{
	static const struct { uint64_t a0, a1; const char *what; } c[] = {
		{ 1, 0, "valid target 1" },
		{ 0, 0, "self" },
		{ 2, 0, "target 2 of 2" },
		{ 1, 1, "flags 1" },
	};
	uint64_t feat, rax;
	struct tvm vm;
	size_t i;

	if (!pvx_check(module_loaded("pvx_host") && !module_loaded("pvx_yield"),
		       "absent: pvx_host loaded, pvx_yield not loaded"))
		return 0;
	feat = probe_features();
	pvx_check(feat != ~0ull && (feat & PVX_F_PROBE) && !(feat & PVX_F_YIELD),
		  "absent: PROBE succeeds without PVX_F_YIELD (rdx=0x%llx)", X(feat));
	if (roles_vm(&vm, 2, false)) {
		pvx_check(false, "absent: 2-vCPU VM set-up");
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		rax = call_once(&vm.vcpu[0], PVX_HC_YIELD, c[i].a0, c[i].a1);
		pvx_check(rax == TVM_NEG64(PVX_ENOSYS),
			  "absent: YIELD %s from vCPU 0 -> -ENOSYS (rax=0x%llx)",
			  c[i].what, X(rax));
	}
	tvm_destroy(&vm);
	pvx_check(access(YIELD_TOTALS, F_OK) != 0, "absent: no " YIELD_TOTALS);
	return 0;
}

static int read_str(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* ---- abi ----------------------------------------------------------- */

struct abi_case {
	const char *desc;
	int vcpu;		/* caller */
	uint64_t a0, a1;
	uint64_t want;
};

/* Real-mode caller: registers from tvm_g16_hcall, results as u32. */
static void abi_real_mode(struct counts *seen, struct counts *tot0)
{
	static const struct abi_case c[] = {
		{ "a0=0x1_0000_0000 is truncated to 0 = self -> -EINVAL", 0,
		  0x100000000ull, 0, TVM_NEG32(PVX_EINVAL) },
		{ "a0=0x1_0000_0001 is truncated to 1, never ran -> NOT_DONE", 0,
		  0x100000001ull, 0, PVX_YIELD_NOT_DONE },
		{ "a0=0xffffffff -> -EINVAL", 0, 0xffffffffull, 0, TVM_NEG32(PVX_EINVAL) },
		{ "a0=2 of 2 vCPUs -> -EINVAL", 1, 2, 0, TVM_NEG32(PVX_EINVAL) },
		{ "a1=0x1_0000_0000 is truncated to 0 -> NOT_DONE", 1, 0,
		  0x100000000ull, PVX_YIELD_NOT_DONE },
		{ "a1=0x80000000 -> -EINVAL", 1, 0, 0x80000000ull, TVM_NEG32(PVX_EINVAL) },
	};
	struct kvm_regs r = { 0 };
	struct tvm vm;
	size_t i;
	bool ok;

	if (!read_counts(YIELD_TOTALS, tot0) ||
	    tvm_create(&vm, TVM_REAL, TVM_PROG(tvm_g16_hcall)) ||
	    tvm_add_vcpu(&vm) || tvm_add_vcpu(&vm)) {
		pvx_check(false, "abi real mode: 2-vCPU VM set-up, " YIELD_TOTALS " readable");
		return;
	}
	memset(seen, 0, sizeof(*seen));
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		ok = !tvm_hcall(&vm.vcpu[c[i].vcpu], PVX_HC_YIELD, c[i].a0, c[i].a1,
				SENT_RDX, SENT_RSI, &r);
		if (ok)
			counts_add(seen, r.rax);
		ok = ok && r.rax == c[i].want && r.rdx == SENT_RDX && r.rsi == SENT_RSI;
		pvx_check(ok, "abi real mode vCPU %d: %s (rax=0x%llx)", c[i].vcpu, c[i].desc,
			  X(r.rax));
	}
	check_counts("abi real mode", seen, tot0);
	tvm_destroy(&vm);
}

/* pvx:yield through tracefs: events with the call's vm, from, to and outcome. */
static void abi_tracepoint(void)
{
	/* vCPUs by vcpu_id (4, 7 here), whichever way the guest named them */
	static const char *const want[] = {
		"from=7 to=-1 arg=0x1234567 flags=0x1 outcome=-22 (einval)",
		"from=7 to=4 arg=0x4 flags=0x1 outcome=0 (not_done)",
		"from=7 to=4 arg=0x0 flags=0x0 outcome=0 (not_done)",
	};
	const char *d = "abi: tracepoint pvx:yield";
	char path[128], line[512];
	bool found[3] = { false, false, false };
	const char *root = NULL;
	struct kvm_regs r;
	struct tvm vm;
	size_t i;
	FILE *f;
	int ret;

	ret = tvm_trace_event_on("yield", &root);
	if (ret == -ENOENT) {
		pvx_skip("no tracefs with events/pvx/yield", "%s", d);
		return;
	}
	snprintf(path, sizeof(path), "%s/events/pvx/yield/enable", root);
	if (ret) {
		pvx_check(false, "%s: enable %s and tracing", d, path);
		return;
	}
	if (!tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)) && !tvm_add_vcpu_id(&vm, 4) &&
	    !tvm_add_vcpu_id(&vm, 7)) {
		tvm_hcall(&vm.vcpu[1], PVX_HC_YIELD, 0x1234567, PVX_YIELD_F_APIC_ID, 0, 0, &r);
		tvm_hcall(&vm.vcpu[1], PVX_HC_YIELD, 4, PVX_YIELD_F_APIC_ID, 0, 0, &r);
		tvm_hcall(&vm.vcpu[1], PVX_HC_YIELD, 0, 0, 0, 0, &r);
	}
	tvm_destroy(&vm);
	tvm_write_file(path, "0");
	snprintf(path, sizeof(path), "%s/trace", root);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, " yield: vm="))
			continue;
		for (i = 0; i < 3; i++)
			found[i] |= !!strstr(line, want[i]);
	}
	if (f)
		fclose(f);
	for (i = 0; i < 3; i++)
		pvx_check(found[i], "%s: event \"%s\" in %s", d, want[i], path);
}

/*
 * A host that announces ABI v1 (pvx_host abi_version=1, a pool with an
 * older pvx) refuses v2's PVX_YIELD_F_APIC_ID as a v1 host does, and still
 * serves the target by index; abi_version is restored after.
 */
static void abi_v1_host(void)
{
	struct kvm_regs r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct tvm vm;
	bool ok = false;

	if (tvm_write_file(PARAM_ABI, "1")) {
		pvx_check(false, "abi v1: write 1 to " PARAM_ABI);
		return;
	}
	if (!tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)) && !tvm_add_vcpu(&vm) &&
	    !tvm_add_vcpu(&vm))
		ok = !tvm_hcall(&vm.vcpu[0], PVX_HC_YIELD, 1, PVX_YIELD_F_APIC_ID, 0, 0, &r1) &&
		     r1.rax == TVM_NEG64(PVX_EINVAL) &&
		     !tvm_hcall(&vm.vcpu[0], PVX_HC_YIELD, 1, 0, 0, 0, &r2) &&
		     r2.rax == PVX_YIELD_NOT_DONE;
	tvm_destroy(&vm);
	ok = !tvm_write_file(PARAM_ABI, "2") && ok;
	pvx_check(ok, "abi v1: by APIC ID -> -EINVAL (rax=0x%llx), by index -> NOT_DONE (rax=0x%llx); abi_version 2 again",
		  X(r1.rax), X(r2.rax));
	ok = false;
	if (!tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)) && !tvm_add_vcpu(&vm) &&
	    !tvm_add_vcpu(&vm))
		ok = !tvm_hcall(&vm.vcpu[0], PVX_HC_YIELD, 1, PVX_YIELD_F_APIC_ID, 0, 0, &r3) &&
		     r3.rax == PVX_YIELD_NOT_DONE;
	tvm_destroy(&vm);
	pvx_check(ok, "abi v2 again: by APIC ID 1 -> NOT_DONE (rax=0x%llx)", X(r3.rax));
}

static int cmd_abi(void)
{
	static const struct abi_case c[] = {
		{ "target 2 of 2 vCPUs -> -EINVAL", 0, 2, 0, TVM_NEG64(PVX_EINVAL) },
		{ "target 15 -> -EINVAL", 0, 15, 0, TVM_NEG64(PVX_EINVAL) },
		{ "target 0x7fffffff -> -EINVAL", 0, 0x7fffffffull, 0, TVM_NEG64(PVX_EINVAL) },
		{ "target 0x80000000 (negative as int) -> -EINVAL", 0, 0x80000000ull, 0,
		  TVM_NEG64(PVX_EINVAL) },
		{ "target 0x1_0000_0001 (not truncated in 64-bit mode) -> -EINVAL", 0,
		  0x100000001ull, 0, TVM_NEG64(PVX_EINVAL) },
		{ "target ~0 -> -EINVAL", 0, ~0ull, 0, TVM_NEG64(PVX_EINVAL) },
		{ "self (vCPU 0 -> 0) -> -EINVAL", 0, 0, 0, TVM_NEG64(PVX_EINVAL) },
		{ "self (vCPU 1 -> 1) -> -EINVAL", 1, 1, 0, TVM_NEG64(PVX_EINVAL) },
		{ "flags 0x2 (first undefined) -> -EINVAL", 0, 1, 2, TVM_NEG64(PVX_EINVAL) },
		{ "by APIC ID 1 (never ran) -> NOT_DONE", 0, 1, PVX_YIELD_F_APIC_ID,
		  PVX_YIELD_NOT_DONE },
		{ "by APIC ID 0 (self) -> -EINVAL", 0, 0, PVX_YIELD_F_APIC_ID,
		  TVM_NEG64(PVX_EINVAL) },
		{ "by APIC ID 2 (no such vCPU) -> -EINVAL", 0, 2, PVX_YIELD_F_APIC_ID,
		  TVM_NEG64(PVX_EINVAL) },
		{ "by APIC ID 0x7fffffff -> -EINVAL", 0, 0x7fffffffull, PVX_YIELD_F_APIC_ID,
		  TVM_NEG64(PVX_EINVAL) },
		{ "by APIC ID 0x1_0000_0001 (not truncated) -> -EINVAL", 0, 0x100000001ull,
		  PVX_YIELD_F_APIC_ID, TVM_NEG64(PVX_EINVAL) },
		{ "by APIC ID ~0 -> -EINVAL", 0, ~0ull, PVX_YIELD_F_APIC_ID,
		  TVM_NEG64(PVX_EINVAL) },
		{ "flags 0x80000000 -> -EINVAL", 0, 1, 0x80000000ull, TVM_NEG64(PVX_EINVAL) },
		{ "flags 0x1_0000_0000 (upper half) -> -EINVAL", 0, 1, 0x100000000ull,
		  TVM_NEG64(PVX_EINVAL) },
		{ "flags ~0 with a bad target -> -EINVAL", 0, 7, ~0ull, TVM_NEG64(PVX_EINVAL) },
		{ "target 1 never ran (no task) -> NOT_DONE", 0, 1, 0, PVX_YIELD_NOT_DONE },
		{ "target 0 idle outside KVM_RUN -> NOT_DONE", 1, 0, 0, PVX_YIELD_NOT_DONE },
	};
	struct counts seen, tot0;
	struct kvm_regs r = { 0 };
	uint64_t feat;
	struct tvm vm;
	size_t i;
	bool ok;

	if (!pvx_check(module_loaded("pvx_host") && module_loaded("pvx_yield"),
		       "abi: pvx_host and pvx_yield loaded"))
		return 0;
	feat = probe_features();
	pvx_check(feat != ~0ull && (feat & PVX_F_YIELD),
		  "abi: PROBE reports PVX_F_YIELD (rdx=0x%llx)", X(feat));

	if (!read_counts(YIELD_TOTALS, &tot0) ||
	    tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)) ||
	    tvm_add_vcpu(&vm) || tvm_add_vcpu(&vm)) {
		pvx_check(false, "abi: 2-vCPU VM set-up, " YIELD_TOTALS " readable");
		return 0;
	}
	memset(&seen, 0, sizeof(seen));
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		ok = !tvm_hcall(&vm.vcpu[c[i].vcpu], PVX_HC_YIELD, c[i].a0, c[i].a1,
				SENT_RDX, SENT_RSI, &r);
		if (ok)
			counts_add(&seen, r.rax);
		/* RAX only: RBX..RSI come back as the guest passed them. */
		ok = ok && r.rax == c[i].want && r.rbx == c[i].a0 && r.rcx == c[i].a1 &&
		     r.rdx == SENT_RDX && r.rsi == SENT_RSI;
		pvx_check(ok, "abi 64-bit vCPU %d: %s (rax=0x%llx)", c[i].vcpu, c[i].desc,
			  X(r.rax));
	}
	check_counts("abi 64-bit", &seen, &tot0);
	tvm_destroy(&vm);

	/* One vCPU: no valid target at all. */
	ok = false;
	if (!tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)) && !tvm_add_vcpu(&vm)) {
		ok = !tvm_hcall(&vm.vcpu[0], PVX_HC_YIELD, 0, 0, 0, 0, &r) &&
		     r.rax == TVM_NEG64(PVX_EINVAL) &&
		     !tvm_hcall(&vm.vcpu[0], PVX_HC_YIELD, 1, 0, 0, 0, &r) &&
		     r.rax == TVM_NEG64(PVX_EINVAL);
	}
	tvm_destroy(&vm);
	pvx_check(ok, "abi: 1-vCPU VM, targets 0 (self) and 1 -> -EINVAL");

	/* CPL3 never reaches pvx: KVM's -KVM_EPERM. */
	ok = false;
	if (!tvm_create(&vm, TVM_USER, TVM_PROG(tvm_g64_hcall)) && !tvm_add_vcpu(&vm) &&
	    !tvm_add_vcpu(&vm))
		ok = !tvm_hcall(&vm.vcpu[0], PVX_HC_YIELD, 1, 0, 0, 0, &r) &&
		     r.rax == TVM_NEG64(PVX_EPERM);
	tvm_destroy(&vm);
	pvx_check(ok, "abi: YIELD from CPL3 -> -KVM_EPERM (rax=0x%llx)", X(r.rax));

	abi_real_mode(&seen, &tot0);
	abi_v1_host();
	return 0;
}

/* ---- sched --------------------------------------------------------- */

/*
 * vCPU 0 calls YIELD(1) in a loop on @caller_cpu while vCPU 1, in a thread
 * on @target_cpu, spins in guest mode; stop after SCHED_TRIES calls or
 * SCHED_HITS answers @stop_on. The guest's view goes to @seen.
 */
static int yield_against_spinner(int caller_cpu, int target_cpu, uint64_t stop_on,
				 struct counts *seen, struct counts *tot0, struct counts *vmc)
{
	struct runner run = { 0 };
	char dir[256];
	struct tvm vm;
	uint64_t rax;
	long hits = 0;
	int i, ret = -1;

	memset(seen, 0, sizeof(*seen));
	memset(vmc, 0, sizeof(*vmc));
	if (!read_counts(YIELD_TOTALS, tot0) || roles_vm(&vm, 2, false))
		return -1;
	if (set_role(&vm.vcpu[0], ROLE_CALLER, PVX_HC_YIELD, 1, 0) ||
	    set_role(&vm.vcpu[1], ROLE_SPIN, 0, 0, 0) || pin_self(caller_cpu) ||
	    runner_start(&run, &vm.vcpu[1], target_cpu))
		goto out;
	for (i = 0; i < SCHED_TRIES && hits < SCHED_HITS && !run.err; i++) {
		if (caller_step(&vm.vcpu[0], &rax))
			break;
		counts_add(seen, rax);
		hits += rax == stop_on;
	}
	runner_stop(&run);
	if (run.err)
		tvm_diag("target vCPU thread: KVM_RUN ended with %d", run.err);
	else if (seen->v[ST_CALLS] == i)
		ret = 0;
	/* The VM's directory goes with the VM: read it now. */
	if (!read_vm_counts(vmc, dir, sizeof(dir)))
		memset(vmc, 0xff, sizeof(*vmc));
out:
	runner_stop(&run);
	tvm_destroy(&vm);
	return ret;
}

static void sched_running(cpu_set_t *orig, int cpu0, int cpu1)
{
	const char *d = "sched running";
	struct counts seen, tot0, vmc;
	char buf[160];
	int ret;

	if (cpu1 < 0) {
		pvx_skip("one CPU: caller and target cannot run at once",
			 "%s: target in guest mode on another CPU -> TARGET_RUNNING", d);
		return;
	}
	ret = yield_against_spinner(cpu0, cpu1, PVX_YIELD_TARGET_RUNNING, &seen, &tot0, &vmc);
	sched_setaffinity(0, sizeof(*orig), orig);
	counts_str(&seen, buf, sizeof(buf));
	tvm_diag("%s: caller on CPU %d, spinning target on CPU %d: %s", d, cpu0, cpu1, buf);
	pvx_check(!ret && seen.v[ST_RUNNING] >= 1,
		  "%s: target spinning in guest mode on another CPU -> TARGET_RUNNING seen (%lld of %lld calls)",
		  d, seen.v[ST_RUNNING], seen.v[ST_CALLS]);
	pvx_check(!ret && seen.v[ST_INVALID] == 0 &&
		  seen.v[ST_CALLS] == seen.v[ST_DONE] + seen.v[ST_NOT_DONE] + seen.v[ST_RUNNING],
		  "%s: every answer DONE, NOT_DONE or TARGET_RUNNING", d);
	if (!ret)
		check_counts_vm(d, &seen, &tot0, &vmc);
}

static void sched_preempted(cpu_set_t *orig, int cpu0)
{
	const char *d = "sched preempted";
	struct counts seen, tot0, vmc;
	char buf[160];
	int ret;

	ret = yield_against_spinner(cpu0, cpu0, PVX_YIELD_DONE, &seen, &tot0, &vmc);
	sched_setaffinity(0, sizeof(*orig), orig);
	counts_str(&seen, buf, sizeof(buf));
	tvm_diag("%s: caller and spinning target both on CPU %d: %s", d, cpu0, buf);
	pvx_check(!ret && seen.v[ST_DONE] >= 1,
		  "%s: target runnable on the caller's CPU -> DONE seen (%lld of %lld calls)",
		  d, seen.v[ST_DONE], seen.v[ST_CALLS]);
	/* Only one of the two threads is on the CPU: the target is never in guest mode. */
	pvx_check(!ret && seen.v[ST_RUNNING] == 0 && seen.v[ST_INVALID] == 0,
		  "%s: never TARGET_RUNNING while the caller holds the only CPU (%lld)",
		  d, seen.v[ST_RUNNING]);
	if (!ret)
		check_counts_vm(d, &seen, &tot0, &vmc);
}

static void sched_halted(void)
{
	const char *d = "sched halted";
	struct counts seen, tot0;
	uint64_t blocking = 0, rax, wakeups0 = 0, wakeups = 0;
	struct runner run = { 0 };
	struct tvm vm;
	int i, err = 0;
	bool ok;

	memset(&seen, 0, sizeof(seen));
	if (!read_counts(YIELD_TOTALS, &tot0) || roles_vm(&vm, 2, true)) {
		pvx_check(false, "%s: 2-vCPU VM with in-kernel irqchip", d);
		return;
	}
	/*
	 * The stats fd first: KVM_GET_STATS_FD takes the vCPU's mutex, which
	 * the halted vCPU's KVM_RUN holds until runner_stop(). Opened after
	 * the runner entered KVM_RUN, it waited for good (it did in the lab:
	 * this thread in D state in kvm_vcpu_ioctl, the runner halted).
	 */
	if (set_role(&vm.vcpu[0], ROLE_CALLER, PVX_HC_YIELD, 1, 0) ||
	    set_role(&vm.vcpu[1], ROLE_HALT, 0, 0, 0) ||
	    tvm_vcpu_stat(&vm.vcpu[1], "blocking", &blocking) ||
	    tvm_vcpu_stat(&vm.vcpu[1], "halt_wakeup", &wakeups0) ||
	    runner_start(&run, &vm.vcpu[1], -1)) {
		pvx_check(false, "%s: start the halting vCPU", d);
		goto out;
	}
	/* A hang guard, not a timing test: wait for KVM's "blocking" stat. */
	for (i = 0; i < 30000 && !run.err; i++) {
		err = tvm_vcpu_stat(&vm.vcpu[1], "blocking", &blocking);
		if (err || blocking)
			break;
		usleep(1000);
	}
	if (!pvx_check(!err && blocking == 1 && !run.err,
		       "%s: vCPU 1 executed HLT with IF=0 and sleeps in KVM_RUN (blocking=%llu%s%s)",
		       d, X(blocking), err ? ", stat: " : "", err ? strerror(-err) : ""))
		goto out;
	/*
	 * Something else may wake the halted vCPU meanwhile (KVM counts it
	 * in halt_wakeup: once here on 7.2, never on 6.1 and 6.12): woken,
	 * it is runnable and ready until it runs and halts again, and DONE
	 * is then the right answer. So a DONE must come with a wake-up the
	 * yield did not make (it never wakes: KVM_RUN returned 0 times),
	 * counted since before the vCPU ran.
	 */
	ok = true;
	for (i = 0; ok && i < 20; i++) {
		if (caller_step(&vm.vcpu[0], &rax)) {
			ok = false;
			break;
		}
		counts_add(&seen, rax);
		ok = rax == PVX_YIELD_NOT_DONE || rax == PVX_YIELD_DONE;
	}
	err = tvm_vcpu_stat(&vm.vcpu[1], "halt_wakeup", &wakeups);
	ok = ok && !err && seen.v[ST_DONE] <= (long long)(wakeups - wakeups0);
	pvx_check(ok,
		  "%s: YIELD to the halted vCPU -> NOT_DONE 20 of 20 times, DONE only after a wake-up by another (done %lld, target_running %lld, halt_wakeup +%llu%s%s)",
		  d, seen.v[ST_DONE], seen.v[ST_RUNNING], X(wakeups - wakeups0),
		  err ? ", stat: " : "", err ? strerror(-err) : "");
	err = tvm_vcpu_stat(&vm.vcpu[1], "blocking", &blocking);
	pvx_check(!err && blocking == 1 && run.runs == 0,
		  "%s: the yield does not wake it (blocking=%llu, KVM_RUN returned %lu times)",
		  d, X(blocking), run.runs);
	runner_stop(&run);
	check_counts(d, &seen, &tot0);
out:
	runner_stop(&run);
	tvm_destroy(&vm);
}

/*
 * vCPU ids that are not creation indexes, as a VMM that numbers vCPUs by
 * APIC ID makes them: index 0 = id 5 (caller), index 1 = id 2 (spins in
 * guest mode on another CPU), index 2 = id 1 (never runs). By APIC ID, 2
 * is the spinner and 1 the idle one; by index (ABI v1) the other way
 * round. A host that looked an APIC ID up as an index would swap them.
 */
static void sched_ids(cpu_set_t *orig, int cpu0, int cpu1)
{
	static const struct {
		uint64_t a0, flags;
		bool spinner;	/* names the spinning vCPU */
		const char *how;
	} c[] = {
		{ 2, PVX_YIELD_F_APIC_ID, true, "by APIC ID 2 (index 1)" },
		{ 1, PVX_YIELD_F_APIC_ID, false, "by APIC ID 1 (index 2)" },
		{ 1, 0, true, "by index 1 (APIC ID 2)" },
		{ 2, 0, false, "by index 2 (APIC ID 1)" },
	};
	const char *d = "sched ids";
	struct runner run = { 0 };
	struct counts seen;
	char buf[160];
	uint64_t rax;
	struct tvm vm;
	size_t k;
	int i, err = 0;

	if (cpu1 < 0) {
		pvx_skip("one CPU: caller and target cannot run at once",
			 "%s: vCPU ids 5, 2, 1: yields by APIC ID and by index land apart", d);
		return;
	}
	if (tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_roles)) ||
	    tvm_add_vcpu_id(&vm, 5) || tvm_add_vcpu_id(&vm, 2) || tvm_add_vcpu_id(&vm, 1) ||
	    set_role(&vm.vcpu[1], ROLE_SPIN, 0, 0, 0) || pin_self(cpu0) ||
	    runner_start(&run, &vm.vcpu[1], cpu1)) {
		pvx_check(false, "%s: VM with vCPU ids 5, 2, 1, id 2 spinning", d);
		goto out;
	}
	for (k = 0; k < ARRAY_SIZE(c); k++) {
		memset(&seen, 0, sizeof(seen));
		/* until the spinner is seen running; 200 calls at the idle one */
		for (i = 0; i < (c[k].spinner ? SCHED_TRIES : 200) && !run.err; i++) {
			if (set_role(&vm.vcpu[0], ROLE_CALLER, PVX_HC_YIELD, c[k].a0, c[k].flags) ||
			    caller_step(&vm.vcpu[0], &rax)) {
				err = -1;
				break;
			}
			counts_add(&seen, rax);
			if (c[k].spinner && rax == PVX_YIELD_TARGET_RUNNING)
				break;
		}
		counts_str(&seen, buf, sizeof(buf));
		if (c[k].spinner)
			pvx_check(!err && !run.err && seen.v[ST_RUNNING] == 1 &&
				  seen.v[ST_INVALID] == 0,
				  "%s: %s reaches the spinning vCPU: TARGET_RUNNING (%s)",
				  d, c[k].how, buf);
		else
			pvx_check(!err && !run.err && seen.v[ST_NOT_DONE] == seen.v[ST_CALLS] &&
				  seen.v[ST_CALLS] > 0,
				  "%s: %s reaches the vCPU that never ran: NOT_DONE only (%s)",
				  d, c[k].how, buf);
	}
	for (i = 0; i < 2; i++) {
		/* self by APIC ID, and an id that is only an index */
		uint64_t a0 = i ? 0 : 5;

		rax = ~0ull;
		err = set_role(&vm.vcpu[0], ROLE_CALLER, PVX_HC_YIELD, a0, PVX_YIELD_F_APIC_ID) ||
		      caller_step(&vm.vcpu[0], &rax);
		pvx_check(!err && rax == TVM_NEG64(PVX_EINVAL),
			  "%s: by APIC ID %llu (%s) -> -EINVAL (rax=0x%llx)", d, X(a0),
			  i ? "no vCPU has id 0, index 0 has id 5" : "self", X(rax));
	}
out:
	runner_stop(&run);
	sched_setaffinity(0, sizeof(*orig), orig);
	tvm_destroy(&vm);
}

/* What every sched case needs: SIGUSR1 without SA_RESTART, the CPUs. */
static bool sched_prepare(cpu_set_t *orig, int *cpu0, int *cpu1)
{
	struct sigaction sa = { .sa_handler = sig_nop };
	int n;

	if (!pvx_check(module_loaded("pvx_host") && module_loaded("pvx_yield"),
		       "sched: pvx_host and pvx_yield loaded"))
		return false;
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: KVM_RUN returns EINTR */
	n = nr_cpus_allowed(orig, cpu0, cpu1);
	tvm_diag("sched: %d CPUs allowed (first %d, second %d)", n, *cpu0, *cpu1);
	return pvx_check(n >= 1, "sched: sched_getaffinity");
}

/* ---- policy -------------------------------------------------------- */

static uint64_t vm_probe(struct tvm_vcpu *v)
{
	struct kvm_regs r;

	/* tvm_g64_roles: PROBE through the caller role; RDX is the bitmap. */
	if (set_role(v, ROLE_CALLER, PVX_HC_PROBE, 0, 0) || tvm_run(v) < 0 ||
	    !tvm_exit_is_done(v) || tvm_get_regs(v, &r) || r.rax)
		return ~0ull;
	return r.rdx;
}

static int cmd_policy(void)
{
	char saved[32], val[32], dir[256], ctl[300], path[350];
	struct counts tot0, tot, vmc0, vmc;
	uint64_t rax, rax2 = 0, feat;
	struct tvm a, b;
	bool ok;

	if (!pvx_check(module_loaded("pvx_host") && module_loaded("pvx_yield"),
		       "policy: pvx_host and pvx_yield loaded"))
		return 0;
	if (read_str(PARAM_FEATURES, saved, sizeof(saved)) || roles_vm(&a, 2, false)) {
		pvx_check(false, "policy: read " PARAM_FEATURES ", VM set-up");
		return 0;
	}
	/* Host policy: the parameter without PVX_F_YIELD. */
	read_counts(YIELD_TOTALS, &tot0);
	snprintf(val, sizeof(val), "0x%x", PVX_F_ALL & ~PVX_F_YIELD);
	ok = !tvm_write_file(PARAM_FEATURES, val);
	feat = vm_probe(&a.vcpu[0]);
	rax = call_once(&a.vcpu[0], PVX_HC_YIELD, 1, 0);
	rax2 = call_once(&a.vcpu[0], PVX_HC_YIELD, 9, 1);
	pvx_check(ok && feat != ~0ull && (feat & PVX_F_PROBE) && !(feat & PVX_F_YIELD),
		  "policy: features=%s -> PROBE without PVX_F_YIELD (rdx=0x%llx)", val, X(feat));
	pvx_check(rax == TVM_NEG64(PVX_EOPNOTSUPP) && rax2 == TVM_NEG64(PVX_EOPNOTSUPP),
		  "policy: features=%s -> YIELD valid and invalid -EOPNOTSUPP (0x%llx, 0x%llx)",
		  val, X(rax), X(rax2));
	read_counts(YIELD_TOTALS, &tot);
	pvx_check(counts_eq(&tot, &tot0), "policy: handler did not run (host totals unchanged)");
	ok = !tvm_write_file(PARAM_FEATURES, saved);
	feat = vm_probe(&a.vcpu[0]);
	rax = call_once(&a.vcpu[0], PVX_HC_YIELD, 1, 0);
	pvx_check(ok && feat != ~0ull && (feat & PVX_F_YIELD) && rax == PVX_YIELD_NOT_DONE,
		  "policy: features=%s restored -> PROBE has PVX_F_YIELD, YIELD NOT_DONE (rdx=0x%llx rax=0x%llx)",
		  saved, X(feat), X(rax));

	/* VM policy: sysfs vms/vm<id>-<pid>/features without PVX_F_YIELD. */
	if (!pvx_check(read_vm_counts(&vmc0, dir, sizeof(dir)),
		       "policy per VM: %s/yield exists after the VM's first YIELD", dir))
		goto out;
	tvm_vm_sysfs_dir(dir, ctl, sizeof(ctl));
	snprintf(path, sizeof(path), "%s/features", ctl);
	ok = !tvm_write_file(path, val);
	feat = vm_probe(&a.vcpu[0]);
	rax = call_once(&a.vcpu[0], PVX_HC_YIELD, 1, 0);
	pvx_check(ok && feat != ~0ull && !(feat & PVX_F_YIELD) &&
		  rax == TVM_NEG64(PVX_EOPNOTSUPP),
		  "policy per VM: features=%s -> PROBE without PVX_F_YIELD, YIELD -EOPNOTSUPP (rdx=0x%llx rax=0x%llx)",
		  val, X(feat), X(rax));
	ok = false;
	if (!roles_vm(&b, 2, false)) {
		rax2 = call_once(&b.vcpu[0], PVX_HC_YIELD, 1, 0);
		ok = rax2 == PVX_YIELD_NOT_DONE && (vm_probe(&b.vcpu[0]) & PVX_F_YIELD);
		tvm_destroy(&b);
	}
	pvx_check(ok, "policy per VM: another VM still has YIELD (rax=0x%llx)", X(rax2));
	snprintf(path, sizeof(path), "%s/yield", dir);
	pvx_check(read_counts(path, &vmc) && counts_eq(&vmc, &vmc0),
		  "policy per VM: the disabled VM's counters did not move");
	snprintf(path, sizeof(path), "%s/features", ctl);
	ok = !tvm_write_file(path, saved);
	rax = call_once(&a.vcpu[0], PVX_HC_YIELD, 1, 0);
	pvx_check(ok && rax == PVX_YIELD_NOT_DONE,
		  "policy per VM: features=%s -> YIELD NOT_DONE again (rax=0x%llx)", saved,
		  X(rax));
out:
	tvm_write_file(PARAM_FEATURES, saved);
	tvm_destroy(&a);
	return 0;
}

/* ---- rmmod-loop ---------------------------------------------------- */

struct loop_state {
	struct tvm_vcpu *v;
	int cpu;
	struct tvm_answers a;
};

static void *loop_fn(void *arg)
{
	struct loop_state *s = arg;
	uint64_t rax;

	if (s->cpu >= 0)
		pin_self(s->cpu);
	while (!s->a.stop) {
		if (caller_step(s->v, &rax)) {
			s->a.err = 1;
			break;
		}
		tvm_answers_add(&s->a, rax <= PVX_YIELD_TARGET_RUNNING,
				rax == TVM_NEG64(PVX_ENOSYS));
	}
	return NULL;
}

static int cmd_rmmod_loop(void)
{
	const char *d = "rmmod-loop";
	struct sigaction sa = { .sa_handler = sig_nop };
	struct loop_state s = { 0 };
	struct runner run = { 0 };
	char dir[256], path[300];
	struct counts vmc;
	cpu_set_t orig;
	int cpu0, cpu1, ret, err = 0;
	pthread_t th;
	struct tvm vm;
	uint64_t feat, rax;
	bool ok;

	if (!pvx_check(module_loaded("pvx_host") && module_loaded("pvx_yield"),
		       "%s: pvx_host and pvx_yield loaded", d))
		return 0;
	sigaction(SIGUSR1, &sa, NULL);
	nr_cpus_allowed(&orig, &cpu0, &cpu1);
	if (roles_vm(&vm, 2, false) || set_role(&vm.vcpu[0], ROLE_CALLER, PVX_HC_YIELD, 1, 0) ||
	    set_role(&vm.vcpu[1], ROLE_SPIN, 0, 0, 0)) {
		pvx_check(false, "%s: VM set-up", d);
		return 0;
	}
	/* The target spins (on its own CPU when there are two), so yields do work. */
	s.v = &vm.vcpu[0];
	s.cpu = cpu0;
	if (runner_start(&run, &vm.vcpu[1], cpu1) || pthread_create(&th, NULL, loop_fn, &s)) {
		pvx_check(false, "%s: threads", d);
		runner_stop(&run);
		tvm_destroy(&vm);
		return 0;
	}
	ok = tvm_answers_wait(&s.a, &s.a.served, 20);
	pvx_check(ok, "%s: vCPU 0 yields to spinning vCPU 1 in a loop (%lu answers so far)",
		  d, s.a.served);
	pvx_check(!tvm_newest_vm_dir(dir, sizeof(dir)) && read_vm_counts(&vmc, dir, sizeof(dir)),
		  "%s: %s/yield exists", d, dir);
	ret = syscall(SYS_delete_module, "pvx_yield", O_NONBLOCK);
	if (ret)
		err = errno;
	pvx_check(!ret, "%s: delete_module(pvx_yield) while the VM yields%s%s", d,
		  ret ? ": " : "", ret ? strerror(err) : "");
	pvx_check(!module_loaded("pvx_yield") && module_loaded("pvx_host"),
		  "%s: pvx_yield gone, pvx_host still loaded", d);
	if (!ret)
		tvm_answers_wait(&s.a, &s.a.enosys, 20);
	snprintf(path, sizeof(path), "%s/yield", dir);
	pvx_check(access(path, F_OK) != 0 && access(dir, F_OK) == 0,
		  "%s: the running VM's yield file is gone, its directory stays", d);
	pvx_check(access(YIELD_TOTALS, F_OK) != 0, "%s: " YIELD_TOTALS " is gone", d);
	s.a.stop = 1;
	pthread_join(th, NULL);
	runner_stop(&run);
	sched_setaffinity(0, sizeof(orig), &orig);
	tvm_diag("%s: answers: %lu valid, %lu x -ENOSYS, %lu other, %lu valid after -ENOSYS",
		 d, s.a.served, s.a.enosys, s.a.other, s.a.back);
	pvx_check(!s.a.err && !run.err, "%s: both vCPUs kept running, no KVM_RUN error", d);
	pvx_check(!ret && s.a.enosys >= 20 && !s.a.other && !s.a.back,
		  "%s: answers switched once from YIELD outcomes to -ENOSYS (%lu then %lu)",
		  d, s.a.served, s.a.enosys);
	feat = vm_probe(&vm.vcpu[0]);
	rax = call_once(&vm.vcpu[0], PVX_HC_YIELD, 1, 0);
	pvx_check(feat != ~0ull && !(feat & PVX_F_YIELD) && rax == TVM_NEG64(PVX_ENOSYS),
		  "%s: same VM after rmmod: PROBE without PVX_F_YIELD, YIELD -ENOSYS (rdx=0x%llx rax=0x%llx)",
		  d, X(feat), X(rax));
	tvm_destroy(&vm);
	return 0;
}

/* ---- the fixtures: pvx_yield's states; the tests ------------------- */

static const char *yield_absent(void)
{
	return pvx_need_loadable("pvx_yield");
}

static const char *yield_loaded(void)
{
	return pvx_need_loaded("pvx_yield");
}

static const char *host_absent(void)
{
	return pvx_need_absent("pvx_host");
}

PVX_FIXTURE(absent, yield_absent);

PVX_TEST(absent, enosys)
{
	cmd_absent();
}

PVX_FIXTURE(insmod, yield_absent);

PVX_TEST(insmod, load)
{
	pvx_insmod_test("pvx_yield");
}

PVX_FIXTURE(pinned, yield_loaded);

PVX_TEST(pinned, rmmod_pvx_host_refused)
{
	int err = module_unload("pvx_host");

	pvx_check(err == -EWOULDBLOCK && module_is_loaded("pvx_host"),
		  "rmmod pvx_host refused while pvx_yield uses it (%s)",
		  err ? strerror(-err) : "it was removed");
}

PVX_FIXTURE(abi, yield_loaded);

PVX_TEST(abi, arguments_and_counters)
{
	cmd_abi();
}

PVX_TEST(abi, trace_event)
{
	abi_tracepoint();
}

PVX_FIXTURE(sched, yield_loaded);

PVX_TEST(sched, target_running)
{
	cpu_set_t orig;
	int cpu0, cpu1;

	if (sched_prepare(&orig, &cpu0, &cpu1))
		sched_running(&orig, cpu0, cpu1);
}

PVX_TEST(sched, target_preempted)
{
	cpu_set_t orig;
	int cpu0, cpu1;

	if (sched_prepare(&orig, &cpu0, &cpu1))
		sched_preempted(&orig, cpu0);
}

PVX_TEST(sched, vcpu_ids_apart)
{
	cpu_set_t orig;
	int cpu0, cpu1;

	if (sched_prepare(&orig, &cpu0, &cpu1))
		sched_ids(&orig, cpu0, cpu1);
}

PVX_TEST(sched, target_halted)
{
	cpu_set_t orig;
	int cpu0, cpu1;

	if (sched_prepare(&orig, &cpu0, &cpu1))
		sched_halted();
}

PVX_FIXTURE(policy, yield_loaded);

PVX_TEST(policy, features_off)
{
	cmd_policy();
}

PVX_FIXTURE(rmmod_loop, yield_loaded);

PVX_TEST(rmmod_loop, rmmod_while_yielding)
{
	cmd_rmmod_loop();
}

/* last when every fixture runs: it removes pvx_host */
PVX_FIXTURE(no_host, host_absent);

PVX_TEST(no_host, insmod_fails)
{
	int err = pvx_insmod("pvx_yield", "insmod pvx_yield.ko without pvx_host");

	if (err <= 0)
		pvx_check(err, "insmod pvx_yield.ko without pvx_host fails (%s)",
			  err ? strerror(-err) : "it loaded");
	if (!err)
		module_unload("pvx_yield");
}

static void print_usage(void)
{
	fprintf(stderr, "usage: %s [absent|insmod|pinned|abi|sched|policy|rmmod-loop|no-host]\n",
		"pvx_yield_host_test");
	exit(2);
}

int main(int argc, char **argv)
{
	struct utsname u;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2)
		print_usage();
	uname(&u);
	tvm_diag("pvx_yield_host_test %s on %s, %s CPU", argc > 1 ? argv[1] : "(all)",
		 u.release, tvm_cpu_is_amd() ? "AMD" : "Intel");
	pvx_harness_run(argv[0], argc > 1 ? argv[1] : NULL);
	print_usage();
	return 2;
}
