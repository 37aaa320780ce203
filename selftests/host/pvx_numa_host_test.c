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
 *	backed yet has no home and backs nothing; a table of good hints and
 *	the RBX each must answer (-1 for never-backed memory, also from a
 *	vCPU that has a home, which keeps it); the rate limit; bad module
 *	parameters; per-VM and host counters exact.
 *   pvx_numa_host_test placement KO
 *	needs two NUMA nodes with CPUs (SKIP otherwise): guest memory bound
 *	to node 0 and node 1 (mbind); hints pick the right home node; mode
 *	observe leaves the vCPU thread's CPUs alone; act moves it to the
 *	home node's CPUs; hysteresis; an administrator's narrower CPUs are
 *	never widened; someone else's change wins; the original CPUs come
 *	back when mode goes to observe, when the VM dies and when pvx_numa
 *	(module file KO) is removed, which this case loads again. Then a
 *	table of restores after the VMM called sched_setaffinity() itself
 *	(other CPUs, or exactly pvx's: 6.2+), each through observe, VM end
 *	and rmmod: its CPUs stay; a cgroup v2 cpuset narrowed after pvx's
 *	move, then a hint, observe, rmmod and VM end: the thread never gets
 *	a CPU outside it; and, after pvx moved the vCPU thread to node 0, a
 *	second thread that takes over the vCPU with CPUs of its own (node
 *	0's, exactly what pvx gave the first): a hint of node 1 leaves it
 *	there, and the first thread gets its own CPUs back. Room: two
 *	vCPUs each allowed one CPU of each node and homed on node 1: one
 *	moves there, the other stays (full in debugfs and pvx:numa_hint),
 *	and node 0, which has room, still takes it; a vCPU re-homed to a
 *	full node keeps the room it holds; a thread the VMM took back does
 *	not.
 *   pvx_numa_host_test flap MS
 *	a load for pvxtop --advise (numa-l2.sh): for MS milliseconds, mode
 *	act and no rate limit, the vCPU hints 136 pages on node 0 and 120 on
 *	node 1, then the other way round, every 20 ms; 136 / 120 is 13% more,
 *	so the vCPU moves at every hint while hysteresis_pct (left as it is)
 *	is below 13 and stays after its first placement above. Prints
 *	"# flap: hints N moves M" (M from the VM's debugfs counters).
 *   pvx_numa_host_test room MS
 *	a load for pvxtop --advise's room advice: two vCPUs allowed one CPU
 *	of each node; vCPU 0 goes to node 1, vCPU 1 hints node 1 every 20 ms
 *	for MS milliseconds and is left in place each time (full). Prints
 *	"# room: hints N full F".
 *
 * The tiny VM's vCPU runs in this thread (KVM_RUN from here), so "the
 * vCPU thread's CPUs" are sched_getaffinity(0). Output is KTAP from
 * kselftest_harness.h, one result per test, each check a "# ok" or
 * "# not ok" line of it (harness.h); exit status 0 pass, 1 fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/mempolicy.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"
#include "sysfs_util.h"
#include "tinyvm.h"

/* numa-l2.sh loads the modules and checks the kernel log itself */
#define PVX_HARNESS_NO_DMESG
#include "harness.h"

#define DEBUGFS_PVX	"/sys/kernel/debug/pvx"
#define NUMA_TOTALS	DEBUGFS_PVX "/numa"
#define PARAM_DIR	"/sys/module/pvx_numa/parameters/"
#define MB		0x100000u
#define PAGE		4096u

/* Guest memory the cases place: [2, 3) MiB on node 0, [3, 4) MiB on node 1. */
#define GPA_NODE0	(2 * MB)
#define GPA_NODE1	(3 * MB)
#define NODE_SPAN	MB

#define X(v) ((unsigned long long)(v))

static int set_param(const char *name, const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	return write_file(path, val);
}

/* ---- counters ------------------------------------------------------ */

enum {
	ST_CALLS, ST_OK, ST_INVALID, ST_EFAULT, ST_E2BIG, ST_EAGAIN, ST_MOVES,
	ST_NO_CPUS, ST_RESTORED, ST_FULL, ST_NR
};

static const char *const st_names[ST_NR] = {
	"calls", "ok", "invalid", "efault", "e2big", "eagain", "moves", "no_cpus",
	"restored", "full",
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
		pvx_check(ok, "absent: PROBE without PVX_F_NUMA_HINT (rdx=0x%llx)", X(r.rdx));
		put_batch(&vm, TVM_DATA_GPA, 0, 1, 0, &(struct range){ 0, PAGE }, 1);
		ok = !tvm_hcall(&vm.vcpu[0], PVX_HC_NUMA_HINT, TVM_DATA_GPA, 0, 0, 0, &r) &&
		     r.rax == TVM_NEG64(PVX_ENOSYS);
		pvx_check(ok, "absent: a valid NUMA_HINT -> -ENOSYS (rax=0x%llx)", X(r.rax));
		tvm_destroy(&vm);
	} else {
		pvx_check(false, "absent: tiny VM");
	}
	pvx_check(access(NUMA_TOTALS, F_OK) != 0, "absent: no " NUMA_TOTALS);
	return 0;
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

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		c = &bad_cases[i];
		put_batch(vm, TVM_DATA_GPA, c->flags, c->count, c->reserved, c->r, c->n);
		ok = !tvm_hcall(&vm->vcpu[0], PVX_HC_NUMA_HINT, c->a0 ? c->a0 : TVM_DATA_GPA,
				c->a1, 0, 0, &r) && r.rax == c->want;
		want->v[ST_CALLS]++;
		want->v[c->stat]++;
		pvx_check(ok, "abi: %s -> 0x%llx (rax=0x%llx)", c->desc, X(c->want), X(r.rax));
	}
}

/*
 * Good hints and the RBX each answers (abi.rst): the home node, or -1
 * when none of the hinted memory is backed, whether or not the vCPU has
 * a home (it keeps it). [GPA_NODE0, +NODE_SPAN) is backed by now,
 * [GPA_NODE1, +NODE_SPAN) never was. Backed memory is always hinted
 * whole: its pages may sit on both nodes (not bound here), and the
 * same pages give the same home.
 */
#define HOME	(-2)	/* want: the home node of the backed memory */
static const struct answer_case {
	const char *desc;
	struct range r[2];
	unsigned int n;
	int64_t want;
} answer_cases[] = {
	{ "never-backed memory, vCPU with a home -> home -1",
	  { { GPA_NODE1, NODE_SPAN } }, 1, -1 },
	{ "one never-backed page, vCPU with a home -> home -1",
	  { { GPA_NODE1 + 5 * PAGE, PAGE } }, 1, -1 },
	{ "two never-backed ranges -> home -1",
	  { { GPA_NODE1, PAGE }, { GPA_NODE1 + 16 * PAGE, 4 * PAGE } }, 2, -1 },
	{ "backed and never-backed ranges -> the home of the backed part",
	  { { GPA_NODE1, NODE_SPAN / 2 }, { GPA_NODE0, NODE_SPAN } }, 2, HOME },
	{ "backed again after never-backed hints -> the same home",
	  { { GPA_NODE0, NODE_SPAN } }, 1, HOME },
	{ "never-backed once more -> home -1",
	  { { GPA_NODE1 + NODE_SPAN / 2, NODE_SPAN / 2 } }, 1, -1 },
};

/* The vCPU's home in its VM's debugfs line, -3 if not found. */
static int debugfs_home(int vcpu)
{
	char path[256], line[512];
	int id, home = -3;
	FILE *f;

	if (!vm_numa_path(path, sizeof(path)))
		return -3;
	f = fopen(path, "r");
	if (!f)
		return -3;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "vcpu %d home %d", &id, &home) == 2 && id == vcpu)
			break;
		home = -3;
	}
	fclose(f);
	return home;
}

static void abi_answers(struct tvm *vm, struct counts *want, int64_t backed_home)
{
	const struct answer_case *c;
	int64_t home, expect;
	unsigned int i;
	int kept;
	bool ok;

	for (i = 0; i < ARRAY_SIZE(answer_cases); i++) {
		c = &answer_cases[i];
		expect = c->want == HOME ? backed_home : c->want;
		home = -5;
		ok = hint(vm, c->r, c->n, &home) == 0 && home == expect;
		want->v[ST_CALLS]++;
		want->v[ST_OK]++;
		kept = debugfs_home(0);
		ok = ok && kept == backed_home;
		pvx_check(ok, "abi: %s (RBX %lld, want %lld; debugfs home %d, want %lld)",
			  c->desc, (long long)home, (long long)expect, kept,
			  (long long)backed_home);
	}
	pvx_check(mincore_resident(vm->mem + GPA_NODE1, NODE_SPAN) == 0,
		  "abi: the table's hints backed none of the never-backed memory");
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

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		pvx_check(set_param(bad[i].name, bad[i].val) == -EINVAL,
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
		pvx_check(false, "abi: " NUMA_TOTALS " and a tiny VM");
		return 0;
	}
	ok = !tvm_hcall(&vm.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) && r.rax == 0 &&
	     (r.rdx & PVX_F_NUMA_HINT);
	pvx_check(ok, "abi: PROBE has PVX_F_NUMA_HINT (rdx=0x%llx)", X(r.rdx));

	abi_bad_input(&vm, &want);
	/*
	 * 4 KiB pages only: writing [2, 3) MiB must not back [3, 4) MiB
	 * with a transparent huge page (THP "always", and 6.7+ align a
	 * 4 MiB anonymous mapping to 2 MiB), which the table below hints
	 * as never backed.
	 */
	madvise(vm.mem, TVM_MEM_SIZE, MADV_NOHUGEPAGE);

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
	pvx_check(ok && !dropped,
		  "abi: a hint of memory never backed -> 0, home -1 (home %lld; resident before %d, %d after MADV_DONTNEED)",
		  (long long)home, before, dropped);
	after = mincore_resident(vm.mem + GPA_NODE0, 2 * NODE_SPAN);
	pvx_check(after == 0, "abi: the hint backed none of it (resident pages: %d)", after);

	/* Backed memory has a home: the node of this machine's page. */
	memset(vm.mem + GPA_NODE0, 0x5a, NODE_SPAN);
	ok = hint1(&vm, GPA_NODE0, NODE_SPAN, &home) == 0 && home >= 0;
	want.v[ST_CALLS]++;
	want.v[ST_OK]++;
	pvx_check(ok, "abi: a hint of backed memory -> 0 and a home node (%lld)", (long long)home);
	abi_answers(&vm, &want, home);

	/* The rate limit: a hint was just accepted, the next ones wait. */
	set_param("hint_interval_ms", "60000");
	ok = hint1(&vm, GPA_NODE0, PAGE, NULL) == TVM_NEG64(PVX_EAGAIN) &&
	     hint1(&vm, GPA_NODE0 + 8, PAGE, NULL) == TVM_NEG64(PVX_EAGAIN);
	want.v[ST_CALLS] += 2;
	want.v[ST_EAGAIN] += 2;
	pvx_check(ok, "abi: hint_interval_ms 60000: the hints after an accepted one, even a bad one, -> -EAGAIN");
	set_param("hint_interval_ms", "0");

	ok = vm_numa_path(path, sizeof(path)) && read_counts(path, &got) &&
	     counts_equal(&got, &want, "per-VM");
	pvx_check(ok, "abi: per-VM counters equal what was issued (%lld calls)", want.v[ST_CALLS]);
	tvm_destroy(&vm);
	ok = read_counts(NUMA_TOTALS, &tot1);
	for (int i = 0; i < ST_NR; i++)
		tot1.v[i] -= tot0.v[i];
	pvx_check(ok && counts_equal(&tot1, &want, "host"),
		  "abi: host counters grew by what was issued");

	if (!make_vm(&vm, TVM_USER)) {
		put_batch(&vm, TVM_DATA_GPA, 0, 1, 0, &(struct range){ GPA_NODE0, PAGE }, 1);
		ok = !tvm_hcall(&vm.vcpu[0], PVX_HC_NUMA_HINT, TVM_DATA_GPA, 0, 0, 0, &r) &&
		     r.rax == TVM_NEG64(PVX_EPERM);
		tvm_destroy(&vm);
	} else {
		ok = false;
	}
	pvx_check(ok, "abi: NUMA_HINT from CPL3 -> -KVM_EPERM (rax=0x%llx)", X(r.rax));
	abi_params();
	set_param("hint_interval_ms", "100");
	return 0;
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
	pvx_check(ok, "placement: node 1's memory -> home 1 (%lld)", (long long)home);
	pvx_check(cpus_are(&p->orig, "observe"), "placement: observe leaves the vCPU's CPUs");

	set_param("mode", "act");
	ok = hint1(vm, GPA_NODE1, NODE_SPAN, &home) == 0 && home == 1 &&
	     cpus_are(&p->node[1], "act, home 1");
	pvx_check(ok, "placement: act moves the vCPU thread to node 1's CPUs");
	ok = hint1(vm, GPA_NODE0, NODE_SPAN, &home) == 0 && home == 0 &&
	     cpus_are(&p->node[0], "act, home 0");
	pvx_check(ok, "placement: a hint of node 0's memory moves it to node 0's CPUs");
	ok = hint(vm, half, 2, &home) == 0 && home == 0 && cpus_are(&p->node[0], "50/50");
	pvx_check(ok, "placement: half on each node stays home (hysteresis 25%%, home %lld)",
		  (long long)home);
	ok = hint(vm, more1, 2, &home) == 0 && home == 1 && cpus_are(&p->node[1], "25/75");
	pvx_check(ok, "placement: 3 times more on node 1 moves it (home %lld)", (long long)home);
	pvx_check(vm_stat(ST_MOVES) == 3, "placement: 3 moves counted (%lld)", vm_stat(ST_MOVES));

	set_param("mode", "observe");
	pvx_check(cpus_are(&p->orig, "mode observe"),
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
	pvx_check(ok, "placement: vCPU limited to node 0, home 1: no CPU left, not moved");
	pvx_check(vm_stat(ST_NO_CPUS) >= 1, "placement: no_cpus counted (%lld)",
		  vm_stat(ST_NO_CPUS));
	sched_setaffinity(0, sizeof(p->orig), &p->orig);

	ok = hint1(vm, GPA_NODE0, NODE_SPAN, &home) == 0 &&
	     hint1(vm, GPA_NODE1, NODE_SPAN, &home) == 0 && cpus_are(&p->node[1], "home 1");
	sched_setaffinity(0, sizeof(p->node[0]), &p->node[0]);
	set_param("mode", "observe");
	ok = ok && cpus_are(&p->node[0], "admin's node 0 after observe");
	pvx_check(ok, "placement: CPUs someone else set after pvx moved it stay on restore");
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
	pvx_check(ok, "placement: the VM's end restores its vCPU thread's CPUs");

	ok = placed_vm(&vm) && hint1(&vm, GPA_NODE1, NODE_SPAN, &home) == 0 &&
	     cpus_are(&p->node[1], "before rmmod");
	ok = !system("rmmod pvx_numa") && ok && cpus_are(&p->orig, "after rmmod");
	pvx_check(ok, "placement: rmmod pvx_numa restores the vCPU thread's CPUs");
	tvm_destroy(&vm);
	snprintf(cmd, sizeof(cmd), "insmod %s", p->ko);
	pvx_check(!system(cmd), "placement: insmod pvx_numa again");
}

/* The calling thread's CPUs are within @allowed. */
static bool cpus_within(const cpu_set_t *allowed, const char *what)
{
	char a[64], b[64];
	cpu_set_t now, in;

	if (sched_getaffinity(0, sizeof(now), &now))
		return false;
	CPU_AND(&in, &now, allowed);
	if (CPU_EQUAL(&in, &now) && CPU_COUNT(&now))
		return true;
	cpus_str(&now, a, sizeof(a));
	cpus_str(allowed, b, sizeof(b));
	tvm_diag("%s: CPUs %s, not within %s", what, a, b);
	return false;
}

static bool reload(const char *ko)
{
	char cmd[320];

	snprintf(cmd, sizeof(cmd), "rmmod pvx_numa && insmod %s", ko);
	if (system(cmd))
		return false;
	set_param("hint_interval_ms", "0");	/* insmod's default is 100 */
	return true;
}

/*
 * The VMM calls sched_setaffinity() on its vCPU thread after pvx moved it
 * (to node 1): other CPUs (node 0's), or exactly pvx's (6.2+ kernels keep
 * the request; 6.1 cannot tell it from pvx's own). Whichever way pvx lets
 * go (mode observe, VM end, rmmod), the VMM's CPUs stay.
 */
enum release_how { BY_OBSERVE, BY_VM_END, BY_RMMOD };
static const struct vmm_case {
	const char *desc;
	int node;		/* the VMM's CPUs: node @node's */
	enum release_how how;
	bool needs_user_mask;	/* 6.2+ */
} vmm_cases[] = {
	{ "VMM sets node 0's CPUs, then mode observe", 0, BY_OBSERVE, false },
	{ "VMM sets node 0's CPUs, then VM end", 0, BY_VM_END, false },
	{ "VMM sets node 0's CPUs, then rmmod", 0, BY_RMMOD, false },
	{ "VMM sets exactly pvx's CPUs, then mode observe", 1, BY_OBSERVE, true },
	{ "VMM sets exactly pvx's CPUs, then VM end", 1, BY_VM_END, true },
	{ "VMM sets exactly pvx's CPUs, then rmmod", 1, BY_RMMOD, true },
};

static void placement_vmm(struct placement *p)
{
	const struct vmm_case *c;
	int64_t home;
	struct tvm vm;
	unsigned int i;
	bool ok, vm_up;

	set_param("hint_interval_ms", "0");	/* placement_restore's insmod: 100 */
	for (i = 0; i < ARRAY_SIZE(vmm_cases); i++) {
		c = &vmm_cases[i];
		if (c->needs_user_mask && !kernel_at_least(6, 2)) {
			/*
			 * Not a SKIP: the case does not exist before 6.2 (a lab
			 * SKIP fails make check); numa.rst states the limit.
			 */
			tvm_diag("placement: %s: not on this kernel (6.1 keeps no sched_setaffinity() request; numa.rst)",
				 c->desc);
			continue;
		}
		sched_setaffinity(0, sizeof(p->orig), &p->orig);
		set_param("mode", "act");
		vm_up = placed_vm(&vm);
		ok = vm_up && hint1(&vm, GPA_NODE1, NODE_SPAN, &home) == 0 && home == 1 &&
		     cpus_are(&p->node[1], "pvx moved it");
		ok = ok && !sched_setaffinity(0, sizeof(p->node[c->node]), &p->node[c->node]);
		switch (c->how) {
		case BY_OBSERVE:
			set_param("mode", "observe");
			break;
		case BY_VM_END:
			if (vm_up)
				tvm_destroy(&vm);
			vm_up = false;
			break;
		case BY_RMMOD:
			ok = reload(p->ko) && ok;
			break;
		}
		ok = ok && cpus_are(&p->node[c->node], c->desc);
		pvx_check(ok, "placement: %s: the VMM's CPUs stay", c->desc);
		if (vm_up)
			tvm_destroy(&vm);
	}
	set_param("mode", "observe");
	sched_setaffinity(0, sizeof(p->orig), &p->orig);
}

/* ---- cgroup v2 cpuset ---------------------------------------------- */

/* A cgroup v2 group with the cpuset controller; this process moved into it. */
static bool cg_setup(struct cg2 *cg)
{
	int err = cg2_create(cg, "pvx-numa-test", "+cpuset");

	if (err) {
		tvm_diag("cgroup v2 group with +cpuset: %s", strerror(-err));
		return false;
	}
	err = cg2_enter(cg, cg->dir);
	if (err)
		tvm_diag("move into %s: %s", cg->dir, strerror(-err));
	return !err;
}

/* The cpuset's CPUs: @set; false (said) when the kernel refused them. */
static bool cg_cpus(struct cg2 *cg, const cpu_set_t *set)
{
	char list[64], path[256];
	int err;

	cpus_str(set, list, sizeof(list));
	snprintf(path, sizeof(path), "%s/cpuset.cpus", cg->dir);
	err = write_file(path, list);
	if (err)
		tvm_diag("cpuset.cpus %s: %s", list, strerror(-err));
	return !err;
}

/*
 * A cpuset narrowed after pvx's move to exactly the CPUs pvx gave the
 * thread, then a hint of the other node, mode observe, rmmod and VM end:
 * the thread's CPUs stay within the cpuset every time.
 */
static void placement_cpuset(struct placement *p)
{
	int64_t home;
	struct tvm vm;
	struct cg2 cg;
	bool ok;

	set_param("hint_interval_ms", "0");	/* placement_restore's insmod: 100 */
	if (!cg_setup(&cg)) {
		pvx_check(false,
			  "placement: cpuset narrowed after the move: no cgroup v2 cpuset controller here");
		cg2_destroy(&cg);
		return;
	}
	sched_setaffinity(0, sizeof(p->orig), &p->orig);
	set_param("mode", "act");

	/* narrowed to pvx's node 1, then a hint of node 0, then observe */
	ok = cg_cpus(&cg, &p->orig) && placed_vm(&vm);
	ok = ok && hint1(&vm, GPA_NODE1, NODE_SPAN, &home) == 0 &&
	     cpus_are(&p->node[1], "pvx moved it to node 1");
	ok = ok && cg_cpus(&cg, &p->node[1]);
	ok = ok && hint1(&vm, GPA_NODE0, NODE_SPAN, &home) == 0 && home == 0 &&
	     cpus_within(&p->node[1], "cpuset node 1, hint of node 0");
	pvx_check(ok, "placement: cpuset narrowed to node 1 after the move: a hint of node 0 gives no CPU outside it");
	set_param("mode", "observe");
	pvx_check(ok && cpus_within(&p->node[1], "cpuset node 1, mode observe"),
		  "placement: cpuset narrowed after the move: mode observe restores within it");

	/* the same, then rmmod */
	set_param("mode", "act");
	ok = cg_cpus(&cg, &p->orig) && !sched_setaffinity(0, sizeof(p->orig), &p->orig) &&
	     hint1(&vm, GPA_NODE1, NODE_SPAN, &home) == 0 &&
	     cpus_are(&p->node[1], "pvx moved it to node 1 again");
	ok = ok && cg_cpus(&cg, &p->node[1]);
	ok = reload(p->ko) && ok && cpus_within(&p->node[1], "cpuset node 1, rmmod");
	pvx_check(ok, "placement: cpuset narrowed after the move: rmmod restores within it");
	tvm_destroy(&vm);

	/* the same to node 0, then VM end */
	set_param("mode", "act");
	ok = cg_cpus(&cg, &p->orig) && !sched_setaffinity(0, sizeof(p->orig), &p->orig) &&
	     placed_vm(&vm);
	ok = ok && hint1(&vm, GPA_NODE0, NODE_SPAN, &home) == 0 &&
	     cpus_are(&p->node[0], "pvx moved it to node 0");
	ok = ok && cg_cpus(&cg, &p->node[0]);
	if (ok)
		tvm_destroy(&vm);
	ok = ok && cpus_within(&p->node[0], "cpuset node 0, VM end");
	pvx_check(ok, "placement: cpuset narrowed after the move: VM end restores within it");

	set_param("mode", "observe");
	cg_cpus(&cg, &p->orig);
	cg2_destroy(&cg);
	sched_setaffinity(0, sizeof(p->orig), &p->orig);
}

/* ---- a second thread takes over the vCPU --------------------------- */

struct takeover {
	struct tvm *vm;
	const cpu_set_t *cpus;	/* the thread's own CPUs (its VMM's) */
	uint64_t rax;
	int64_t home;
	bool cpus_ok;
};

static void *takeover_thread(void *arg)
{
	struct takeover *t = arg;

	sched_setaffinity(0, sizeof(*t->cpus), t->cpus);
	t->rax = hint1(t->vm, GPA_NODE1, NODE_SPAN, &t->home);
	t->cpus_ok = cpus_are(t->cpus, "second thread after its hint of node 1");
	return NULL;
}

static void placement_takeover(struct placement *p)
{
	struct takeover t = { .cpus = &p->node[0], .home = -5 };
	int64_t home;
	pthread_t th;
	struct tvm vm;
	bool ok;

	set_param("hint_interval_ms", "0");	/* placement_restore's insmod: 100 */
	sched_setaffinity(0, sizeof(p->orig), &p->orig);
	set_param("mode", "act");
	ok = placed_vm(&vm);
	t.vm = &vm;
	ok = ok && hint1(&vm, GPA_NODE0, NODE_SPAN, &home) == 0 &&
	     cpus_are(&p->node[0], "first thread on node 0");
	ok = ok && !pthread_create(&th, NULL, takeover_thread, &t) && !pthread_join(th, NULL);
	pvx_check(ok && t.rax == 0 && t.home == 1 && t.cpus_ok,
		  "placement: a second thread with node 0's CPUs (those pvx gave the first) takes over the vCPU: a hint of node 1 (home %lld) leaves it on its own CPUs",
		  (long long)t.home);
	pvx_check(ok && cpus_are(&p->orig, "first thread after the takeover"),
		  "placement: the first thread got its own CPUs back at the takeover");
	if (ok)
		tvm_destroy(&vm);
	pvx_check(ok && cpus_are(&p->orig, "first thread after VM end"),
		  "placement: the first thread keeps its own CPUs at VM end");
	set_param("mode", "observe");
}

/* ---- room: no more placed vCPU threads on CPUs than CPUs ------------ */

/*
 * A vCPU whose thread is not this one: a worker thread runs vCPU @idx of
 * @vm and, for each request, hints @node's memory from it (or, @setcpus,
 * is given @cpus by "its VMM": sched_setaffinity() from another thread).
 */
struct room_worker {
	struct tvm *vm;
	int idx;
	pthread_t th;
	pid_t tid;
	int req[2], ack[2];	/* pipes: node to hint (-1: stop), then done */
	uint64_t rax;
	int64_t home;
	cpu_set_t now;		/* its CPUs after the hint */
};

static uint64_t hint_vcpu(struct tvm *vm, int idx, uint64_t gpa, uint64_t len, int64_t *home)
{
	struct range r = { gpa, len };
	struct kvm_regs out;

	put_batch(vm, TVM_DATA_GPA, 0, 1, 0, &r, 1);
	if (tvm_hcall(&vm->vcpu[idx], PVX_HC_NUMA_HINT, TVM_DATA_GPA, 0, 0, 0, &out))
		return ~0ull;
	*home = (int64_t)out.rbx;
	return out.rax;
}

static void *room_thread(void *arg)
{
	struct room_worker *w = arg;
	int node;
	char c = 0;

	w->tid = syscall(SYS_gettid);
	sched_setaffinity(0, sizeof(w->now), &w->now);	/* its VMM's CPUs */
	while (read(w->req[0], &node, sizeof(node)) == sizeof(node) && node >= 0) {
		w->home = -5;
		w->rax = hint_vcpu(w->vm, w->idx, node ? GPA_NODE1 : GPA_NODE0, NODE_SPAN,
				   &w->home);
		sched_getaffinity(0, sizeof(w->now), &w->now);
		if (write(w->ack[1], &c, 1) != 1)
			break;
	}
	return NULL;
}

static bool room_start(struct room_worker *w, struct tvm *vm, int idx, const cpu_set_t *cpus)
{
	*w = (struct room_worker){ .vm = vm, .idx = idx, .now = *cpus };
	if (pipe(w->req) || pipe(w->ack))
		return false;
	if (pthread_create(&w->th, NULL, room_thread, w))
		return false;
	return true;
}

/* The worker's vCPU hints @node: 0 and the home node, its CPUs in w->now. */
static bool room_hint(struct room_worker *w, int node)
{
	char c;

	if (write(w->req[1], &node, sizeof(node)) != sizeof(node) ||
	    read(w->ack[0], &c, 1) != 1)
		return false;
	if (w->rax || w->home != node)
		tvm_diag("vCPU %d: hint of node %d -> rax 0x%llx home %lld", w->idx, node,
			 X(w->rax), (long long)w->home);
	return !w->rax && w->home == node;
}

static void room_stop(struct room_worker *w)
{
	int stop = -1;

	if (write(w->req[1], &stop, sizeof(stop)) == sizeof(stop))
		pthread_join(w->th, NULL);
	close(w->req[0]);
	close(w->req[1]);
	close(w->ack[0]);
	close(w->ack[1]);
}

static bool same_cpus(const cpu_set_t *now, const cpu_set_t *want, const char *what)
{
	char a[64], b[64];

	if (CPU_EQUAL(now, want))
		return true;
	cpus_str(now, a, sizeof(a));
	cpus_str(want, b, sizeof(b));
	tvm_diag("%s: CPUs %s, want %s", what, a, b);
	return false;
}

/* vCPU @vcpu's "full N" in its VM's debugfs line, -1 if not found. */
static long long debugfs_full(int vcpu)
{
	char path[256], line[512], *f;
	long long full = -1;
	int id;
	FILE *fp;

	if (!vm_numa_path(path, sizeof(path)))
		return -1;
	fp = fopen(path, "r");
	while (fp && fgets(line, sizeof(line), fp)) {
		f = strstr(line, " full ");
		if (sscanf(line, "vcpu %d", &id) == 1 && id == vcpu && f)
			full = atoll(f + 6);
	}
	if (fp)
		fclose(fp);
	return full;
}

/*
 * No CPU holds more vCPU threads pvx placed than one: the "cpus" of the
 * VM's debugfs lines (those pvx holds a thread on) never name a CPU twice
 * (each node the test uses is one CPU of the thread's).
 */
static bool debugfs_no_overfull(void)
{
	char path[256], line[512], *c;
	int n[CPU_SETSIZE] = { 0 }, cpu;
	bool ok = true;
	FILE *fp;

	if (!vm_numa_path(path, sizeof(path)))
		return false;
	fp = fopen(path, "r");
	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp)) {
		c = strstr(line, " cpus ");
		if (strncmp(line, "vcpu ", 5) || !c || c[6] == '-')
			continue;
		cpu = atoi(c + 6);	/* one CPU each here */
		if (cpu >= 0 && cpu < CPU_SETSIZE && ++n[cpu] > 1) {
			tvm_diag("CPU %d holds %d placed vCPU threads: %s", cpu, n[cpu], line);
			ok = false;
		}
	}
	fclose(fp);
	return ok;
}

/* The tracefs root with events/pvx/numa_hint, enabled; NULL if none. */
static const char *numa_trace_on(void)
{
	const char *root = NULL;

	return tvm_trace_event_on("numa_hint", &root) ? NULL : root;
}

/* Whether the trace holds pvx:numa_hint of VM @vm, vCPU @vcpu, home @home, @action. */
static bool numa_traced(const char *root, unsigned long long vm, int vcpu, int home,
			const char *action)
{
	char path[128], line[512], vcpu_s[64], tail[64];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", root);
	snprintf(vcpu_s, sizeof(vcpu_s), " numa_hint: vm=%llu vcpu=%d ", vm, vcpu);
	snprintf(tail, sizeof(tail), " home=%d action=%s ret=0", home, action);
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, vcpu_s) && strstr(line, tail);
	if (f)
		fclose(f);
	return found;
}

static unsigned long long vm_id_now(void)
{
	unsigned long long id = 0;
	char dir[256], *b;
	int pid;

	if (!tvm_newest_vm_dir(dir, sizeof(dir))) {
		b = strrchr(dir, '/');
		if (!b || sscanf(b + 1, "vm%llu-%d", &id, &pid) != 2)
			id = 0;
	}
	return id;
}

/* The first CPU of @n0 and of @n1 into @on0, @on1, both into @two. */
static void one_per_node(const cpu_set_t *n0, const cpu_set_t *n1, cpu_set_t *on0,
			 cpu_set_t *on1, cpu_set_t *two)
{
	int c;

	CPU_ZERO(on0);
	CPU_ZERO(on1);
	for (c = 0; c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, n0) && !CPU_COUNT(on0))
			CPU_SET(c, on0);
		if (CPU_ISSET(c, n1) && !CPU_COUNT(on1))
			CPU_SET(c, on1);
	}
	CPU_OR(two, on0, on1);
}

/*
 * Room (issue 29): two vCPU threads of one VM, each allowed one CPU of
 * each node ({a0, a1}: the node's CPUs a thread may use number one, the
 * layout that lost in the benchmark: two vCPUs homed on a one-CPU node).
 * vCPU 0 (this thread) goes to node 1; vCPU 1 (a worker) hinting node 1
 * stays where it is (full, counted, traced); node 0 has room and takes
 * it. vCPU 0 re-homed to node 0 stays on a1 (full); while it holds a1,
 * node 1 is full for vCPU 1 too. Once the VMM gives vCPU 0's thread
 * other CPUs, pvx no longer holds it there: vCPU 1 moves to a1.
 */
static void placement_room(struct placement *p)
{
	cpu_set_t two, on0, on1;
	struct room_worker w;
	unsigned long long id;
	const char *troot;
	int64_t home = -5;
	long long full0;
	struct tvm vm;
	bool ok, up;

	one_per_node(&p->node[0], &p->node[1], &on0, &on1, &two);
	set_param("hint_interval_ms", "0");	/* placement_restore's insmod: 100 */
	set_param("mode", "act");
	troot = numa_trace_on();
	sched_setaffinity(0, sizeof(two), &two);
	up = make_vm(&vm, TVM_LONG) == 0;
	ok = up && !tvm_add_vcpu(&vm) && place(&vm, GPA_NODE0, NODE_SPAN, 0) &&
	     place(&vm, GPA_NODE1, NODE_SPAN, 1) && room_start(&w, &vm, 1, &two);
	if (!pvx_check(ok,
		       "placement: room: a VM of two vCPUs, each thread on one CPU of each node")) {
		if (up)
			tvm_destroy(&vm);
		sched_setaffinity(0, sizeof(p->orig), &p->orig);
		return;
	}
	ok = hint1(&vm, GPA_NODE1, NODE_SPAN, &home) == 0 && home == 1 &&
	     cpus_are(&on1, "room: vCPU 0, home 1");
	pvx_check(ok, "placement: room: vCPU 0 homed on node 1 moves to its CPU");
	/* The VM's numa file and its directory exist once it hinted. */
	id = vm_id_now();
	full0 = vm_stat(ST_FULL);
	pvx_check(full0 == 0, "placement: room: a new VM starts with full 0 (%lld)", full0);

	ok = room_hint(&w, 1) && same_cpus(&w.now, &two, "room: vCPU 1, home 1 (full)");
	pvx_check(ok, "placement: room: vCPU 1 homed on node 1 too stays where it is (node 1's CPU holds vCPU 0)");
	pvx_check(vm_stat(ST_FULL) == full0 + 1 && debugfs_full(1) == 1 && debugfs_full(0) == 0,
		  "placement: room: full counted once for the VM (%lld) and for vCPU 1 (%lld), not vCPU 0 (%lld)",
		  vm_stat(ST_FULL) - full0, debugfs_full(1), debugfs_full(0));
	pvx_check(debugfs_no_overfull(), "placement: room: no CPU holds two placed vCPU threads");
	pvx_check(troot && numa_traced(troot, id, 1, 1, "full") &&
		  numa_traced(troot, id, 0, 1, "moved"),
		  "placement: room: pvx:numa_hint shows vCPU 0 moved and vCPU 1 full (home 1) in %s",
		  troot ? troot : "no tracefs with events/pvx/numa_hint");

	ok = room_hint(&w, 0) && same_cpus(&w.now, &on0, "room: vCPU 1, home 0");
	pvx_check(ok, "placement: room: a home with room still moves (vCPU 1 to node 0's CPU)");

	ok = hint1(&vm, GPA_NODE0, NODE_SPAN, &home) == 0 && home == 0 &&
	     cpus_are(&on1, "room: vCPU 0 re-homed to node 0 (full)");
	pvx_check(ok && debugfs_full(0) == 1,
		  "placement: room: vCPU 0 re-homed to the full node 0 stays on node 1's CPU (full %lld)",
		  debugfs_full(0));
	ok = room_hint(&w, 1) && same_cpus(&w.now, &on0, "room: vCPU 1 back to home 1 (full)");
	pvx_check(ok && debugfs_full(1) == 2 && debugfs_no_overfull(),
		  "placement: room: node 1's CPU still holds the re-homed vCPU 0: vCPU 1 homed there stays on node 0 (full %lld)",
		  debugfs_full(1));

	/* The VMM takes vCPU 0's thread back: pvx holds it nowhere now. */
	ok = !sched_setaffinity(0, sizeof(two), &two) && room_hint(&w, 1) &&
	     same_cpus(&w.now, &on1, "room: vCPU 1 after vCPU 0 left");
	pvx_check(ok && debugfs_no_overfull(),
		  "placement: room: once the VMM gave vCPU 0's thread other CPUs, vCPU 1 moves to node 1's");
	pvx_check(vm_stat(ST_FULL) == full0 + 3 && vm_stat(ST_MOVES) == 3,
		  "placement: room: the VM counts 3 full and 3 moves (%lld, %lld)",
		  vm_stat(ST_FULL) - full0, vm_stat(ST_MOVES));

	room_stop(&w);
	tvm_destroy(&vm);
	if (troot) {
		char path[128];

		snprintf(path, sizeof(path), "%s/events/pvx/numa_hint/enable", troot);
		tvm_write_file(path, "0");
	}
	set_param("mode", "observe");
	sched_setaffinity(0, sizeof(p->orig), &p->orig);
}

static int cmd_placement(const char *ko)
{
	struct placement p = { .ko = ko };
	struct tvm vm;

	if (!node_cpus(0, &p.node[0]) || !node_cpus(1, &p.node[1])) {
		pvx_skip("needs two NUMA nodes with CPUs", "placement");
		return 0;
	}
	sched_getaffinity(0, sizeof(p.orig), &p.orig);
	CPU_AND(&p.node[0], &p.node[0], &p.orig);
	CPU_AND(&p.node[1], &p.node[1], &p.orig);
	set_param("hint_interval_ms", "0");
	set_param("hysteresis_pct", "25");
	if (!pvx_check(placed_vm(&vm), "placement: guest memory bound to node 0 and node 1"))
		return 0;
	placement_modes(&p, &vm);
	placement_admin(&p, &vm);
	tvm_destroy(&vm);
	placement_restore(&p);
	placement_vmm(&p);
	placement_cpuset(&p);
	placement_takeover(&p);
	placement_room(&p);
	set_param("mode", "observe");
	set_param("hint_interval_ms", "100");
	return 0;
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
		pvx_check(false, "flap: '%s' is a number of ms", ms_arg);
		return 0;
	}
	if (!node_cpus(0, &n0) || !node_cpus(1, &n1)) {
		pvx_skip("needs two NUMA nodes with CPUs", "flap");
		return 0;
	}
	set_param("mode", "act");
	set_param("hint_interval_ms", "0");
	if (!pvx_check(placed_vm(&vm), "flap: guest memory bound to node 0 and node 1"))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ms(&t0) < ms) {
		bad += hint(&vm, hints % 2 ? to1 : to0, 2, NULL) != 0;
		hints++;
		usleep(20000);
	}
	pvx_check(!bad, "flap: %lld hints, %d/%d pages by turns, %lld not answered 0",
		  hints, FLAP_MORE, FLAP_LESS, bad);
	printf("# flap: hints %lld moves %lld\n", hints, vm_stat(ST_MOVES));
	tvm_destroy(&vm);
	set_param("mode", "observe");
	set_param("hint_interval_ms", "100");
	return 0;
}

/*
 * A load for pvxtop --advise's room advice (numa-l2.sh): mode act, no
 * rate limit, two vCPUs each allowed one CPU of each node; vCPU 0 goes to
 * node 1, then for MS milliseconds vCPU 1 hints node 1 every 20 ms and
 * stays where it is each time (full). Prints "# room: hints N full F"
 * (N of vCPU 1, F from the VM's debugfs counters).
 */
static int cmd_room(const char *ms_arg)
{
	long long ms = atoll(ms_arg), hints = 0, bad = 0, full = -1;
	cpu_set_t n0, n1, on0, on1, two, orig;
	struct room_worker w;
	struct timespec t0;
	int64_t home = -5;
	struct tvm vm;
	bool ok;

	if (ms <= 0) {
		pvx_check(false, "room: '%s' is a number of ms", ms_arg);
		return 0;
	}
	if (!node_cpus(0, &n0) || !node_cpus(1, &n1)) {
		pvx_skip("needs two NUMA nodes with CPUs", "room");
		return 0;
	}
	sched_getaffinity(0, sizeof(orig), &orig);
	CPU_AND(&n0, &n0, &orig);
	CPU_AND(&n1, &n1, &orig);
	one_per_node(&n0, &n1, &on0, &on1, &two);
	set_param("mode", "act");
	set_param("hint_interval_ms", "0");
	sched_setaffinity(0, sizeof(two), &two);
	ok = !make_vm(&vm, TVM_LONG);
	if (ok && (tvm_add_vcpu(&vm) || !place(&vm, GPA_NODE0, NODE_SPAN, 0) ||
		   !place(&vm, GPA_NODE1, NODE_SPAN, 1) || !room_start(&w, &vm, 1, &two))) {
		tvm_destroy(&vm);
		ok = false;
	}
	if (!pvx_check(ok, "room: a VM of two vCPUs, each thread on one CPU of each node"))
		return 0;
	ok = hint1(&vm, GPA_NODE1, NODE_SPAN, &home) == 0 && cpus_are(&on1, "room: vCPU 0");
	pvx_check(ok, "room: vCPU 0 homed on node 1 moved there");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ms(&t0) < ms) {
		bad += !room_hint(&w, 1) || !CPU_EQUAL(&w.now, &two);
		hints++;
		usleep(20000);
	}
	full = vm_stat(ST_FULL);
	pvx_check(!bad && full == hints,
		  "room: vCPU 1 hinted node 1 %lld times and stayed each time (full %lld, %lld not)",
		  hints, full, bad);
	printf("# room: hints %lld full %lld\n", hints, full);
	room_stop(&w);
	tvm_destroy(&vm);
	set_param("mode", "observe");
	set_param("hint_interval_ms", "100");
	return 0;
}

/* ---- the fixtures: pvx_numa's states, the loads; the tests ---------- */

/* placement's KO, flap's and room's MS */
static const char *stage_arg;

static const char *numa_absent(void)
{
	return host_ready() ?: pvx_state(!module_loaded("pvx_numa"), "pvx_numa loaded");
}

/* pvx_numa not loaded is a skip, as it was before the harness */
static const char *numa_loaded(void)
{
	return host_ready() ?: module_loaded("pvx_numa") ? NULL : "pvx_numa not loaded";
}

static const char *numa_loaded_arg(void)
{
	return numa_loaded() ?: stage_arg ? NULL : "no argument (placement KO, flap MS, room MS)";
}

PVX_FIXTURE(absent, numa_absent);

PVX_TEST(absent, no_hint_feature)
{
	cmd_absent();
}

PVX_FIXTURE(abi, numa_loaded);

PVX_TEST(abi, arguments_and_counters)
{
	cmd_abi();
}

PVX_FIXTURE(placement, numa_loaded_arg);

PVX_TEST(placement, two_nodes)
{
	cmd_placement(stage_arg);
}

PVX_FIXTURE(flap, numa_loaded_arg);

PVX_TEST(flap, hints_between_nodes)
{
	cmd_flap(stage_arg);
}

PVX_FIXTURE(room, numa_loaded_arg);

PVX_TEST(room, full_node)
{
	cmd_room(stage_arg);
}

static void print_usage(void)
{
	fprintf(stderr, "usage: pvx_numa_host_test [absent|abi|placement KO|flap MS|room MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct utsname u;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 3)
		print_usage();
	stage_arg = argc == 3 ? argv[2] : NULL;
	uname(&u);
	tvm_diag("pvx_numa_host_test %s on %s", argc > 1 ? argv[1] : "(all)", u.release);
	pvx_harness_run(argv[0], argc > 1 ? argv[1] : NULL);
	print_usage();
	return 2;
}
