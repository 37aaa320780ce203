// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_numa_host_test: PVX_HC_NUMA_HINT (pvx_numa.ko) seen from tiny VMs,
 * run on the KVM host (L2 in the lab) with pvx_host loaded.
 *
 *   pvx_numa_host_test absent
 *	pvx_numa not loaded: no PVX_F_NUMA_HINT in PROBE, the call is
 *	-ENOSYS, no /sys/kernel/debug/pvx/numa.
 *   pvx_numa_host_test abi
 *	every bad-input class (batch address, flags, reserved, count,
 *	range alignment, empty, wrapping and outside-memslot ranges, a1..a3,
 *	CPL3) gets its error and changes nothing; a hint of memory nobody
 *	backed yet has no home and backs nothing; the rate limit; bad
 *	module parameters; per-VM and host counters exact.
 *   pvx_numa_host_test placement KO
 *	needs two NUMA nodes with CPUs (SKIP otherwise): guest memory bound
 *	to node 0 and node 1 (mbind); hints pick the right home node; mode
 *	observe leaves the vCPU thread's CPUs alone; act moves it to the
 *	home node's CPUs; hysteresis; an administrator's narrower CPUs are
 *	never widened; someone else's change wins; the original CPUs come
 *	back when mode goes to observe, when the VM dies and when pvx_numa
 *	(module file KO) is removed, which this case loads again.
 *   pvx_numa_host_test flap MS
 *	a load for pvxtop --advise (numa-l2.sh): for MS milliseconds, mode
 *	act and no rate limit, the vCPU hints 136 pages on node 0 and 120 on
 *	node 1, then the other way round, every 20 ms; 136 / 120 is 13% more,
 *	so the vCPU moves at every hint while hysteresis_pct (left as it is)
 *	is below 13 and stays after its first placement above. Prints
 *	"# flap: hints N moves M" (M from the VM's debugfs counters).
 *
 * The tiny VM's vCPU runs in this thread (KVM_RUN from here), so "the
 * vCPU thread's CPUs" are sched_getaffinity(0). Output is TAP 13; exit
 * status 0 pass, 1 fail, 4 skip.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/mempolicy.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"
#include "sysfs_util.h"
#include "tap.h"
#include "tinyvm.h"

#define DEBUGFS_PVX	"/sys/kernel/debug/pvx"
#define NUMA_TOTALS	DEBUGFS_PVX "/numa"
#define PARAM_DIR	"/sys/module/pvx_numa/parameters/"
#define MB		(1u << 20)
#define PAGE		4096u

/* Guest memory the cases place: [2, 3) MiB on node 0, [3, 4) MiB on node 1. */
#define GPA_NODE0	(2 * MB)
#define GPA_NODE1	(3 * MB)
#define NODE_SPAN	MB

#define X(v) ((unsigned long long)(v))

static bool module_loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

static int set_param(const char *name, const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	return write_file(path, val);
}

/* ---- counters ------------------------------------------------------ */

enum { ST_CALLS, ST_OK, ST_INVALID, ST_EFAULT, ST_E2BIG, ST_EAGAIN, ST_MOVES,
       ST_NO_CPUS, ST_RESTORED, ST_NR };
static const char *const st_names[ST_NR] = {
	"calls", "ok", "invalid", "efault", "e2big", "eagain", "moves", "no_cpus",
	"restored",
};

struct counts {
	long long v[ST_NR];
};

static bool read_counts(const char *path, struct counts *c)
{
	return tvm_read_counters(path, st_names, ST_NR, c->v);
}

/* The numa file of this process's newest VM. */
static bool vm_numa_path(char *buf, size_t len)
{
	if (tvm_newest_vm_dir(buf, len - 8))
		return false;
	strcat(buf, "/numa");
	return true;
}

/* Resident pages of [addr, addr + len) in this process, -1 on error. */
static int mincore_resident(void *addr, size_t len)
{
	unsigned char vec[1024];
	size_t i, n = len / PAGE;
	int res = 0;

	if (n > sizeof(vec) || mincore(addr, len, vec))
		return -1;
	for (i = 0; i < n; i++)
		res += vec[i] & 1;
	return res;
}

/* ---- batches ------------------------------------------------------- */

struct range {
	uint64_t gpa, len;
};

/* Write a batch at GPA @at of @vm: header, then @n ranges. */
static void put_batch(struct tvm *vm, uint64_t at, uint32_t flags, uint32_t count,
		      uint64_t reserved, const struct range *r, unsigned int n)
{
	struct pvx_batch_hdr hdr = { .flags = flags, .count = count, .reserved = reserved };
	unsigned int i;

	memcpy(vm->mem + at, &hdr, sizeof(hdr));
	for (i = 0; i < n; i++) {
		struct pvx_gpa_range e = { .gpa = r[i].gpa, .len = r[i].len };

		memcpy(vm->mem + at + sizeof(hdr) + i * sizeof(e), &e, sizeof(e));
	}
}

/* One hint of @n ranges from vCPU 0: RAX, and RBX into *home. */
static uint64_t hint(struct tvm *vm, const struct range *r, unsigned int n, int64_t *home)
{
	struct kvm_regs out;

	put_batch(vm, TVM_DATA_GPA, 0, n, 0, r, n);
	if (tvm_hcall(&vm->vcpu[0], PVX_HC_NUMA_HINT, TVM_DATA_GPA, 0, 0, 0, &out))
		return ~0ull;
	if (home)
		*home = (int64_t)out.rbx;
	return out.rax;
}

static uint64_t hint1(struct tvm *vm, uint64_t gpa, uint64_t len, int64_t *home)
{
	struct range r = { gpa, len };

	return hint(vm, &r, 1, home);
}

static int make_vm(struct tvm *vm, enum tvm_mode mode)
{
	if (tvm_create(vm, mode, TVM_PROG(tvm_g64_hcall)) || tvm_add_vcpu(vm)) {
		tvm_destroy(vm);
		return -1;
	}
	return 0;
}

/* ---- absent -------------------------------------------------------- */

static int cmd_absent(void)
{
	struct kvm_regs r;
	struct tvm vm;
	bool ok = false;

	if (!make_vm(&vm, TVM_LONG)) {
		ok = !tvm_hcall(&vm.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) &&
		     r.rax == 0 && !(r.rdx & PVX_F_NUMA_HINT);
		tap_result(ok, "absent: PROBE without PVX_F_NUMA_HINT (rdx=0x%llx)", X(r.rdx));
		put_batch(&vm, TVM_DATA_GPA, 0, 1, 0, &(struct range){ 0, PAGE }, 1);
		ok = !tvm_hcall(&vm.vcpu[0], PVX_HC_NUMA_HINT, TVM_DATA_GPA, 0, 0, 0, &r) &&
		     r.rax == TVM_NEG64(PVX_ENOSYS);
		tap_result(ok, "absent: a valid NUMA_HINT -> -ENOSYS (rax=0x%llx)", X(r.rax));
		tvm_destroy(&vm);
	} else {
		tap_result(false, "absent: tiny VM");
	}
	tap_result(access(NUMA_TOTALS, F_OK) != 0, "absent: no " NUMA_TOTALS);
	return tap_end();
}

/* ---- abi ----------------------------------------------------------- */

struct bad_case {
	const char *desc;
	uint64_t a0, a1;	/* a0 0: the batch at TVM_DATA_GPA */
	uint32_t flags, count;
	uint64_t reserved;
	struct range r[2];
	unsigned int n;
	uint64_t want;
	int stat;
};

static const struct bad_case bad_cases[] = {
	{ "batch not page aligned", TVM_DATA_GPA + 8, 0, 0, 1, 0,
	  { { 0, PAGE } }, 1, TVM_NEG64(PVX_EINVAL), ST_INVALID },
	{ "batch outside the memslots", 64 * MB, 0, 0, 1, 0,
	  { { 0, PAGE } }, 1, TVM_NEG64(PVX_EFAULT), ST_EFAULT },
	{ "a1 not 0", 0, 1, 0, 1, 0,
	  { { 0, PAGE } }, 1, TVM_NEG64(PVX_EINVAL), ST_INVALID },
	{ "undefined batch flag", 0, 0, 1, 1, 0,
	  { { 0, PAGE } }, 1, TVM_NEG64(PVX_EINVAL), ST_INVALID },
	{ "reserved header field", 0, 0, 0, 1, 1,
	  { { 0, PAGE } }, 1, TVM_NEG64(PVX_EINVAL), ST_INVALID },
	{ "no ranges", 0, 0, 0, 0, 0,
	  { { 0, PAGE } }, 0, TVM_NEG64(PVX_EINVAL), ST_INVALID },
	{ "more ranges than a page holds", 0, 0, 0, PVX_NUMA_MAX_RANGES + 1, 0,
	  { { 0, PAGE } }, 1, TVM_NEG64(PVX_E2BIG), ST_E2BIG },
	{ "range address not page aligned", 0, 0, 0, 1, 0,
	  { { GPA_NODE0 + 16, PAGE } }, 1, TVM_NEG64(PVX_EINVAL), ST_INVALID },
	{ "range length not page aligned", 0, 0, 0, 1, 0,
	  { { GPA_NODE0, PAGE + 1 } }, 1, TVM_NEG64(PVX_EINVAL), ST_INVALID },
	{ "empty range", 0, 0, 0, 1, 0,
	  { { GPA_NODE0, 0 } }, 1, TVM_NEG64(PVX_EINVAL), ST_INVALID },
	{ "range that wraps around", 0, 0, 0, 1, 0,
	  { { 0xfffffffffffff000ull, 2 * PAGE } }, 1, TVM_NEG64(PVX_E2BIG), ST_E2BIG },
	{ "range outside the memslots", 0, 0, 0, 1, 0,
	  { { TVM_MEM_SIZE, PAGE } }, 1, TVM_NEG64(PVX_EFAULT), ST_EFAULT },
	{ "range running past the memslot's end", 0, 0, 0, 1, 0,
	  { { TVM_MEM_SIZE - PAGE, 2 * PAGE } }, 1, TVM_NEG64(PVX_EFAULT), ST_EFAULT },
	{ "a good range, then a bad one", 0, 0, 0, 2, 0,
	  { { GPA_NODE0, PAGE }, { TVM_MEM_SIZE, PAGE } }, 2, TVM_NEG64(PVX_EFAULT),
	  ST_EFAULT },
};

static void abi_bad_input(struct tvm *vm, struct counts *want)
{
	const struct bad_case *c;
	struct kvm_regs r;
	unsigned int i;
	bool ok;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		c = &bad_cases[i];
		put_batch(vm, TVM_DATA_GPA, c->flags, c->count, c->reserved, c->r, c->n);
		ok = !tvm_hcall(&vm->vcpu[0], PVX_HC_NUMA_HINT, c->a0 ? c->a0 : TVM_DATA_GPA,
				c->a1, 0, 0, &r) && r.rax == c->want;
		want->v[ST_CALLS]++;
		want->v[c->stat]++;
		tap_result(ok, "abi: %s -> 0x%llx (rax=0x%llx)", c->desc, X(c->want), X(r.rax));
	}
}

static bool counts_equal(const struct counts *a, const struct counts *b, const char *what)
{
	int i;

	for (i = 0; i < ST_NR; i++)
		if (a->v[i] != b->v[i]) {
			tvm_diag("%s: %s %lld, want %lld", what, st_names[i], a->v[i], b->v[i]);
			return false;
		}
	return true;
}

static void abi_params(void)
{
	static const struct { const char *name, *val; } bad[] = {
		{ "mode", "moveall" }, { "mode", "\n" }, { "hint_interval_ms", "60001" },
		{ "hint_interval_ms", "-1" }, { "hysteresis_pct", "1001" },
		{ "sample_pages", "0" }, { "sample_pages", "65537" },
		{ "sample_pages", "12abc" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		tap_result(set_param(bad[i].name, bad[i].val) == -EINVAL,
			   "abi: parameter %s='%s' refused with EINVAL", bad[i].name, bad[i].val);
}

static int cmd_abi(void)
{
	struct counts want = { 0 }, got, tot0, tot1;
	char path[256];
	struct kvm_regs r;
	int64_t home = 0;
	int before, dropped, after;
	struct tvm vm;
	bool ok;

	set_param("mode", "observe");
	set_param("hint_interval_ms", "0");
	if (!read_counts(NUMA_TOTALS, &tot0) || make_vm(&vm, TVM_LONG)) {
		tap_result(false, "abi: " NUMA_TOTALS " and a tiny VM");
		return tap_end();
	}
	ok = !tvm_hcall(&vm.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) && r.rax == 0 &&
	     (r.rdx & PVX_F_NUMA_HINT);
	tap_result(ok, "abi: PROBE has PVX_F_NUMA_HINT (rdx=0x%llx)", X(r.rdx));

	abi_bad_input(&vm, &want);

	/*
	 * Nothing in [2, 4) MiB is backed: no page, no home. Nothing of
	 * this test touches it, yet a 6.1 lab once found 32 of its pages
	 * resident here: drop whatever is there, and say so.
	 */
	before = mincore_resident(vm.mem + GPA_NODE0, 2 * NODE_SPAN);
	if (before)
		madvise(vm.mem + GPA_NODE0, 2 * NODE_SPAN, MADV_DONTNEED);
	dropped = mincore_resident(vm.mem + GPA_NODE0, 2 * NODE_SPAN);
	ok = hint1(&vm, GPA_NODE0, 2 * NODE_SPAN, &home) == 0 && home == -1;
	want.v[ST_CALLS]++;
	want.v[ST_OK]++;
	tap_result(ok && !dropped,
		   "abi: a hint of memory never backed -> 0, home -1 (home %lld; resident before %d, %d after MADV_DONTNEED)",
		   (long long)home, before, dropped);
	after = mincore_resident(vm.mem + GPA_NODE0, 2 * NODE_SPAN);
	tap_result(after == 0, "abi: the hint backed none of it (resident pages: %d)", after);

	/* Backed memory has a home: the node of this machine's page. */
	memset(vm.mem + GPA_NODE0, 0x5a, NODE_SPAN);
	ok = hint1(&vm, GPA_NODE0, NODE_SPAN, &home) == 0 && home >= 0;
	want.v[ST_CALLS]++;
	want.v[ST_OK]++;
	tap_result(ok, "abi: a hint of backed memory -> 0 and a home node (%lld)", (long long)home);

	/* The rate limit: a hint was just accepted, the next ones wait. */
	set_param("hint_interval_ms", "60000");
	ok = hint1(&vm, GPA_NODE0, PAGE, NULL) == TVM_NEG64(PVX_EAGAIN) &&
	     hint1(&vm, GPA_NODE0 + 8, PAGE, NULL) == TVM_NEG64(PVX_EAGAIN);
	want.v[ST_CALLS] += 2;
	want.v[ST_EAGAIN] += 2;
	tap_result(ok, "abi: hint_interval_ms 60000: the hints after an accepted one, even a bad one, -> -EAGAIN");
	set_param("hint_interval_ms", "0");

	ok = vm_numa_path(path, sizeof(path)) && read_counts(path, &got) &&
	     counts_equal(&got, &want, "per-VM");
	tap_result(ok, "abi: per-VM counters equal what was issued (%lld calls)", want.v[ST_CALLS]);
	tvm_destroy(&vm);
	ok = read_counts(NUMA_TOTALS, &tot1);
	for (int i = 0; i < ST_NR; i++)
		tot1.v[i] -= tot0.v[i];
	tap_result(ok && counts_equal(&tot1, &want, "host"),
		   "abi: host counters grew by what was issued");

	if (!make_vm(&vm, TVM_USER)) {
		put_batch(&vm, TVM_DATA_GPA, 0, 1, 0, &(struct range){ GPA_NODE0, PAGE }, 1);
		ok = !tvm_hcall(&vm.vcpu[0], PVX_HC_NUMA_HINT, TVM_DATA_GPA, 0, 0, 0, &r) &&
		     r.rax == TVM_NEG64(PVX_EPERM);
		tvm_destroy(&vm);
	} else {
		ok = false;
	}
	tap_result(ok, "abi: NUMA_HINT from CPL3 -> -KVM_EPERM (rax=0x%llx)", X(r.rax));
	abi_params();
	set_param("hint_interval_ms", "100");
	return tap_end();
}

/* ---- placement ----------------------------------------------------- */

/* The CPUs of node @n (its sysfs cpulist) into @set; false if none. */
static bool node_cpus(int n, cpu_set_t *set)
{
	char path[96], list[256], *p = list;
	int a, b, len;
	FILE *f;

	CPU_ZERO(set);
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", n);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(list, sizeof(list), f))
		list[0] = 0;
	fclose(f);
	while (sscanf(p, "%d%n", &a, &len) == 1) {
		p += len;
		b = a;
		if (*p == '-' && sscanf(p + 1, "%d%n", &b, &len) == 1)
			p += len + 1;
		for (; a <= b; a++)
			CPU_SET(a, set);
		if (*p != ',')
			break;
		p++;
	}
	return CPU_COUNT(set) > 0;
}

static void cpus_str(const cpu_set_t *set, char *buf, size_t len)
{
	size_t o = 0;
	int c;

	buf[0] = 0;
	for (c = 0; c < CPU_SETSIZE && o + 8 < len; c++)
		if (CPU_ISSET(c, set))
			o += snprintf(buf + o, len - o, "%s%d", o ? "," : "", c);
}

static bool cpus_are(const cpu_set_t *want, const char *what)
{
	char a[64], b[64];
	cpu_set_t now;

	if (sched_getaffinity(0, sizeof(now), &now))
		return false;
	if (CPU_EQUAL(&now, want))
		return true;
	cpus_str(&now, a, sizeof(a));
	cpus_str(want, b, sizeof(b));
	tvm_diag("%s: CPUs %s, want %s", what, a, b);
	return false;
}

/* Bind [gpa, gpa + len) of @vm's memory to @node and back it there. */
static bool place(struct tvm *vm, uint64_t gpa, uint64_t len, int node)
{
	unsigned long mask = 1ul << node;
	void *addr = vm->mem + gpa;
	int status[256], i, n = len / PAGE < 256 ? len / PAGE : 256;
	void *pages[256];

	if (syscall(SYS_mbind, addr, len, MPOL_BIND, &mask, sizeof(mask) * 8,
		    MPOL_MF_MOVE | MPOL_MF_STRICT)) {
		tvm_diag("mbind node %d: %s", node, strerror(errno));
		return false;
	}
	memset(addr, 0x11 * (node + 1), len);
	for (i = 0; i < n; i++)
		pages[i] = (char *)addr + (size_t)i * (len / n);
	if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0))
		return false;
	for (i = 0; i < n; i++)
		if (status[i] != node) {
			tvm_diag("page %d of node %d's range is on %d", i, node, status[i]);
			return false;
		}
	return true;
}

static long long vm_stat(int st)
{
	struct counts c;
	char path[256];

	if (!vm_numa_path(path, sizeof(path)) || !read_counts(path, &c))
		return -1;
	return c.v[st];
}

struct placement {
	cpu_set_t orig, node[2];
	const char *ko;
};

static bool placed_vm(struct tvm *vm)
{
	if (make_vm(vm, TVM_LONG))
		return false;
	if (place(vm, GPA_NODE0, NODE_SPAN, 0) && place(vm, GPA_NODE1, NODE_SPAN, 1))
		return true;
	tvm_destroy(vm);
	return false;
}

/* observe computes; act moves; hysteresis; back to observe restores. */
static void placement_modes(struct placement *p, struct tvm *vm)
{
	struct range half[2] = { { GPA_NODE0 + NODE_SPAN / 2, NODE_SPAN / 2 },
				 { GPA_NODE1, NODE_SPAN / 2 } };
	struct range more1[2] = { { GPA_NODE0 + 3 * NODE_SPAN / 4, NODE_SPAN / 4 },
				  { GPA_NODE1, 3 * NODE_SPAN / 4 } };
	int64_t home = -2;
	bool ok;

	set_param("mode", "observe");
	ok = hint1(vm, GPA_NODE1, NODE_SPAN, &home) == 0 && home == 1;
	tap_result(ok, "placement: node 1's memory -> home 1 (%lld)", (long long)home);
	tap_result(cpus_are(&p->orig, "observe"), "placement: observe leaves the vCPU's CPUs");

	set_param("mode", "act");
	ok = hint1(vm, GPA_NODE1, NODE_SPAN, &home) == 0 && home == 1 &&
	     cpus_are(&p->node[1], "act, home 1");
	tap_result(ok, "placement: act moves the vCPU thread to node 1's CPUs");
	ok = hint1(vm, GPA_NODE0, NODE_SPAN, &home) == 0 && home == 0 &&
	     cpus_are(&p->node[0], "act, home 0");
	tap_result(ok, "placement: a hint of node 0's memory moves it to node 0's CPUs");
	ok = hint(vm, half, 2, &home) == 0 && home == 0 && cpus_are(&p->node[0], "50/50");
	tap_result(ok, "placement: half on each node stays home (hysteresis 25%%, home %lld)",
		   (long long)home);
	ok = hint(vm, more1, 2, &home) == 0 && home == 1 && cpus_are(&p->node[1], "25/75");
	tap_result(ok, "placement: 3 times more on node 1 moves it (home %lld)", (long long)home);
	tap_result(vm_stat(ST_MOVES) == 3, "placement: 3 moves counted (%lld)", vm_stat(ST_MOVES));

	set_param("mode", "observe");
	tap_result(cpus_are(&p->orig, "mode observe"),
		   "placement: mode back to observe restores the vCPU's CPUs");
}

/* An administrator's CPUs are never widened; their later change wins. */
static void placement_admin(struct placement *p, struct tvm *vm)
{
	int64_t home = -2;
	bool ok;

	set_param("mode", "act");
	sched_setaffinity(0, sizeof(p->node[0]), &p->node[0]);
	ok = hint1(vm, GPA_NODE1, NODE_SPAN, &home) == 0 && home == 1 &&
	     cpus_are(&p->node[0], "admin node 0, home 1");
	tap_result(ok, "placement: vCPU limited to node 0, home 1: no CPU left, not moved");
	tap_result(vm_stat(ST_NO_CPUS) >= 1, "placement: no_cpus counted (%lld)",
		   vm_stat(ST_NO_CPUS));
	sched_setaffinity(0, sizeof(p->orig), &p->orig);

	ok = hint1(vm, GPA_NODE0, NODE_SPAN, &home) == 0 &&
	     hint1(vm, GPA_NODE1, NODE_SPAN, &home) == 0 && cpus_are(&p->node[1], "home 1");
	sched_setaffinity(0, sizeof(p->node[0]), &p->node[0]);
	set_param("mode", "observe");
	ok = ok && cpus_are(&p->node[0], "admin's node 0 after observe");
	tap_result(ok, "placement: CPUs someone else set after pvx moved it stay on restore");
	sched_setaffinity(0, sizeof(p->orig), &p->orig);
}

static void placement_restore(struct placement *p)
{
	char cmd[320];
	int64_t home;
	struct tvm vm;
	bool ok;

	set_param("mode", "act");
	ok = placed_vm(&vm) && hint1(&vm, GPA_NODE1, NODE_SPAN, &home) == 0 &&
	     cpus_are(&p->node[1], "before VM exit");
	tvm_destroy(&vm);
	ok = ok && cpus_are(&p->orig, "after VM exit");
	tap_result(ok, "placement: the VM's end restores its vCPU thread's CPUs");

	ok = placed_vm(&vm) && hint1(&vm, GPA_NODE1, NODE_SPAN, &home) == 0 &&
	     cpus_are(&p->node[1], "before rmmod");
	ok = !system("rmmod pvx_numa") && ok && cpus_are(&p->orig, "after rmmod");
	tap_result(ok, "placement: rmmod pvx_numa restores the vCPU thread's CPUs");
	tvm_destroy(&vm);
	snprintf(cmd, sizeof(cmd), "insmod %s", p->ko);
	tap_result(!system(cmd), "placement: insmod pvx_numa again");
}

static int cmd_placement(const char *ko)
{
	struct placement p = { .ko = ko };
	struct tvm vm;

	if (!node_cpus(0, &p.node[0]) || !node_cpus(1, &p.node[1])) {
		printf("1..0 # SKIP placement needs two NUMA nodes with CPUs\n");
		return KSFT_SKIP;
	}
	sched_getaffinity(0, sizeof(p.orig), &p.orig);
	CPU_AND(&p.node[0], &p.node[0], &p.orig);
	CPU_AND(&p.node[1], &p.node[1], &p.orig);
	set_param("hint_interval_ms", "0");
	set_param("hysteresis_pct", "25");
	if (!tap_result(placed_vm(&vm), "placement: guest memory bound to node 0 and node 1"))
		return tap_end();
	placement_modes(&p, &vm);
	placement_admin(&p, &vm);
	tvm_destroy(&vm);
	placement_restore(&p);
	set_param("mode", "observe");
	set_param("hint_interval_ms", "100");
	return tap_end();
}

/* ---- flap ---------------------------------------------------------- */

#define FLAP_MORE	136	/* pages on the node a hint favours ... */
#define FLAP_LESS	120	/* ... and on the other: 13% more */

static long long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000ll + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int cmd_flap(const char *ms_arg)
{
	struct range to0[2] = { { GPA_NODE0, FLAP_MORE * PAGE }, { GPA_NODE1, FLAP_LESS * PAGE } };
	struct range to1[2] = { { GPA_NODE0, FLAP_LESS * PAGE }, { GPA_NODE1, FLAP_MORE * PAGE } };
	long long ms = atoll(ms_arg), hints = 0, bad = 0;
	cpu_set_t n0, n1;
	struct timespec t0;
	struct tvm vm;

	if (ms <= 0) {
		fprintf(stderr, "pvx_numa_host_test flap: '%s' is not a number of ms\n", ms_arg);
		return 2;
	}
	if (!node_cpus(0, &n0) || !node_cpus(1, &n1)) {
		printf("1..0 # SKIP flap needs two NUMA nodes with CPUs\n");
		return KSFT_SKIP;
	}
	set_param("mode", "act");
	set_param("hint_interval_ms", "0");
	if (!tap_result(placed_vm(&vm), "flap: guest memory bound to node 0 and node 1"))
		return tap_end();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ms(&t0) < ms) {
		bad += hint(&vm, hints % 2 ? to1 : to0, 2, NULL) != 0;
		hints++;
		usleep(20000);
	}
	tap_result(!bad, "flap: %lld hints, %d/%d pages by turns, %lld not answered 0",
		   hints, FLAP_MORE, FLAP_LESS, bad);
	printf("# flap: hints %lld moves %lld\n", hints, vm_stat(ST_MOVES));
	tvm_destroy(&vm);
	set_param("mode", "observe");
	set_param("hint_interval_ms", "100");
	return tap_end();
}

static void usage(void)
{
	fprintf(stderr, "usage: pvx_numa_host_test absent|abi|placement KO|flap MS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct utsname u;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	tap_begin();
	uname(&u);
	tvm_diag("pvx_numa_host_test %s on %s", argv[1], u.release);
	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("1..0 # SKIP /dev/kvm: %s\n", strerror(errno));
		return KSFT_SKIP;
	}
	if (!module_loaded("pvx_host")) {
		printf("1..0 # SKIP pvx_host not loaded\n");
		return KSFT_SKIP;
	}
	if (!strcmp(argv[1], "absent"))
		return cmd_absent();
	if (!module_loaded("pvx_numa")) {
		printf("1..0 # SKIP pvx_numa not loaded\n");
		return KSFT_SKIP;
	}
	if (!strcmp(argv[1], "abi"))
		return cmd_abi();
	if (!strcmp(argv[1], "placement") && argc == 3)
		return cmd_placement(argv[2]);
	if (!strcmp(argv[1], "flap") && argc == 3)
		return cmd_flap(argv[2]);
	usage();
	return 2;
}
