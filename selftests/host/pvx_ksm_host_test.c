// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_ksm_host_test: PVX_HC_KSM_HINT (pvx_ksm.ko) seen from tiny VMs, run
 * on the KVM host (L2 in the lab). Each stage (fixture) loads pvx_host
 * and pvx_ksm from $PVX_BUILD, or unloads pvx_ksm, as it needs
 * (harness.h).
 *
 *   pvx_ksm_host_test absent
 *	pvx_ksm not loaded: PROBE has no PVX_F_KSM_HINT and a valid batch
 *	answers -ENOSYS with RBX unchanged.
 *   pvx_ksm_host_test insmod
 *	pvx_ksm.ko loads (pvx_host loaded, pvx_ksm not).
 *   pvx_ksm_host_test abi
 *	every bad-input class, each with the bad run last so that "nothing
 *	changed" shows the checks ran before anything was applied; hints
 *	and withdrawals of candidates and never-merge pins (RBX, the VM's
 *	debugfs sets); the pin cap (-ENOMEM, nothing pinned); pins dropped
 *	when the VMM unmaps the memory, when the VM ends; the host's count
 *	of pinned pages (/proc/vmstat nr_foll_pin_*) back where it was.
 *   pvx_ksm_host_test merge
 *	with KSM running: two identical candidate pages merge (debugfs
 *	candidates_merged), a never-merge hint on one of them unshares it,
 *	and through two more full scans it stays unmerged (pins_merged 0).
 *   pvx_ksm_host_test policy
 *	merge_on_candidates: a bad value is refused; off, a candidate leaves
 *	the VMM's memory as it was; on, the VMA that holds a candidate is
 *	made mergeable (smaps "mg"), once (debugfs made_mergeable), and a
 *	never-merge hint makes nothing mergeable.
 *   pvx_ksm_host_test walk
 *	reading the VM's debugfs file over 65536 candidates: the VM's hints
 *	meanwhile wait less than a quarter of a read (issue 26, item 5).
 *   pvx_ksm_host_test race N
 *	N rounds of a VMM thread unmapping a memslot's memory while its 64
 *	pages are pinned: 0 or -EFAULT, no pin left after any (item 4).
 *   pvx_ksm_host_test churn N
 *	N batches of 64 one-page never-merge runs, each withdrawn, while a
 *	VMM thread maps and unmaps other memory: every page pinned (item 14).
 *   pvx_ksm_host_test account
 *	pins charged by folio to VmPin and pins_held; RLIMIT_MEMLOCK and
 *	max_pinned_mb refuse a batch whole; back to zero after withdraw,
 *	munmap and the VM's end (item 3).
 *   pvx_ksm_host_test rmmod [MODULE.ko]
 *	rmmod pvx_ksm while a VM holds pins: the pins go with it, and what
 *	they were charged to VmPin; insmod MODULE.ko (default
 *	$PVX_BUILD/host/pvx_ksm.ko) again.
 *
 * Output is KTAP from kselftest_harness.h, one result per test, each
 * check a "# ok" or "# not ok" line of it (harness.h); exit status 0
 * pass, 1 fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"
#include "sysfs_util.h"
#include "tinyvm.h"

#include "harness.h"

#define DEBUGFS_PVX	"/sys/kernel/debug/pvx"
#define KSM_TOTALS	DEBUGFS_PVX "/ksm"
#define PARAM_MAX_PINS	"/sys/module/pvx_ksm/parameters/max_pins"
#define PARAM_MERGE_ON	"/sys/module/pvx_ksm/parameters/merge_on_candidates"
#define PARAM_MAX_PINNED "/sys/module/pvx_ksm/parameters/max_pinned_mb"
#define KSM_SYSFS	"/sys/kernel/mm/ksm"
#define PAGE		4096ull

/* Guest-physical layout on top of tinyvm's (tinyvm.h). */
#define BATCH_GPA	0x30000ull
#define POOL_GPA	0x200000ull	/* slot 0: test pages up to 4 MiB */
#define POOL_PAGES	512u
#define EXTRA_SLOT	1
#define EXTRA_GPA	0x1000000ull	/* a slot the test unmaps */
#define EXTRA_PAGES	16u
#define HOLE_GPA	0x400000ull	/* just past slot 0 */

#define X(v) ((unsigned long long)(v))

/* ---- the VM's debugfs file and the host's pin count ------------------ */

enum {
	K_CALLS, K_DONE, K_EINVAL, K_EFAULT, K_E2BIG, K_ENOMEM,
	K_CAND, K_CAND_MERGED, K_PINS, K_PINS_MERGED, K_UNMAPPED, K_NR
};

static const char *const k_names[K_NR] = {
	"calls", "done", "einval", "efault", "e2big", "enomem",
	"candidates", "candidates_merged", "pins", "pins_merged", "unmapped",
};

static char vm_file[256];

static bool vm_counts(long long *v)
{
	return vm_file[0] && tvm_read_counters(vm_file, k_names, K_NR, v);
}

/* The VM's file: made by its first hint, in the newest VM directory. */
static bool find_vm_file(void)
{
	char dir[200];

	if (tvm_newest_vm_dir(dir, sizeof(dir)))
		return false;
	snprintf(vm_file, sizeof(vm_file), "%s/ksm", dir);
	return access(vm_file, R_OK) == 0;
}

/*
 * Pages pinned host-wide (FOLL_PIN): acquired - released. Node counters
 * are kept per CPU and folded now and then; vm/stat_refresh folds them
 * first, or a change of a few pages would not show.
 */
static long long host_pins(void)
{
	static const char *const n[] = { "nr_foll_pin_acquired", "nr_foll_pin_released" };
	long long v[2] = { 0, 0 };
	FILE *f = fopen("/proc/vmstat", "r");
	char key[64];
	long long val;
	int got = 0, i;

	if (!f)
		return -1;
	write_file("/proc/sys/vm/stat_refresh", "1");
	while (fscanf(f, "%63s %lld", key, &val) == 2)
		for (i = 0; i < 2; i++)
			if (!strcmp(key, n[i])) {
				v[i] = val;
				got |= 1 << i;
			}
	fclose(f);
	return got == 3 ? v[0] - v[1] : -1;
}

/*
 * The host's pinned pages once the count has held still for 50 ms (up to
 * 2 s): the baseline of a check. A baseline read while someone else's
 * pins are in flight is above what the count settles to, and the check
 * then waits in vain for a count that was never ours (seen in CI as
 * "-2 pinned above the start").
 */
static long long host_pins_settled(void)
{
	long long n = host_pins(), m;
	int i, same = 0;

	for (i = 0; i < 200 && same < 5; i++) {
		usleep(10000);
		m = host_pins();
		same = m == n ? same + 1 : 0;
		n = m;
	}
	return n;
}

/*
 * Wait up to 2 s for the host's pinned pages to be @want: a VM's end
 * releases its pins from a work item, and others pin pages for a moment
 * too (L2's 9p mounts pin the pages of their I/O), so a single read can be
 * off by a few in either direction while nothing of ours leaks.
 */
static bool host_pins_become(long long want)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (host_pins() == want)
			return true;
		usleep(10000);
	}
	return false;
}

/* ---- the test VM ------------------------------------------------------- */

struct kvm_t {
	struct tvm vm;
	uint8_t *extra;		/* the VMM's mapping of EXTRA_SLOT */
};

static uint8_t *add_slot(struct tvm *vm, int slot, uint64_t gpa, unsigned int pages)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = pages * PAGE,
	};
	uint8_t *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0x5a, pages * PAGE);
	r.userspace_addr = (uintptr_t)p;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		tvm_diag("KVM_SET_USER_MEMORY_REGION slot %d: %s", slot, strerror(errno));
		munmap(p, pages * PAGE);
		return NULL;
	}
	return p;
}

/* Delete the extra slot, then unmap its memory (what a VMM does). */
static void drop_extra(struct kvm_t *k)
{
	struct kvm_userspace_memory_region r = {
		.slot = EXTRA_SLOT, .guest_phys_addr = EXTRA_GPA,
	};

	if (!k->extra)
		return;
	ioctl(k->vm.fd, KVM_SET_USER_MEMORY_REGION, &r);
	munmap(k->extra, EXTRA_PAGES * PAGE);
	k->extra = NULL;
}

static void k_destroy(struct kvm_t *k)
{
	tvm_destroy(&k->vm);
	if (k->extra)
		munmap(k->extra, EXTRA_PAGES * PAGE);
	k->extra = NULL;
}

static int k_create(struct kvm_t *k)
{
	memset(k, 0, sizeof(*k));
	if (tvm_create(&k->vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)))
		return -1;
	if (tvm_add_vcpu(&k->vm))
		goto fail;
	k->extra = add_slot(&k->vm, EXTRA_SLOT, EXTRA_GPA, EXTRA_PAGES);
	if (!k->extra)
		goto fail;
	return 0;
fail:
	k_destroy(k);
	return -1;
}

static uint64_t pool(unsigned int i)
{
	return POOL_GPA + i * PAGE;
}

/* Write a batch at BATCH_GPA: header, then @n hints, then garbage. */
static void put_batch(struct kvm_t *k, uint32_t flags, uint32_t count, uint64_t reserved,
		      const struct pvx_ksm_hint *h, unsigned int n)
{
	struct pvx_batch_hdr hdr = { .flags = flags, .count = count, .reserved = reserved };
	uint8_t *b = k->vm.mem + BATCH_GPA;

	memset(b, 0xa5, PAGE);
	memcpy(b, &hdr, sizeof(hdr));
	memcpy(b + sizeof(hdr), h, n * sizeof(*h));
}

static bool ksm_call(struct kvm_t *k, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		     struct kvm_regs *r)
{
	return !tvm_hcall(&k->vm.vcpu[0], PVX_HC_KSM_HINT, a0, a1, a2, a3, r);
}

/* One batch of @n hints with header flags @flags: RAX and RBX out. */
static bool hint(struct kvm_t *k, uint32_t flags, const struct pvx_ksm_hint *h,
		 unsigned int n, struct kvm_regs *r)
{
	put_batch(k, flags, n, 0, h, n);
	return ksm_call(k, BATCH_GPA, 0, 0, 0, r);
}

static struct pvx_ksm_hint run(uint64_t gpa, uint32_t npages, uint32_t flags)
{
	return (struct pvx_ksm_hint){ .gpa = gpa, .npages = npages, .flags = flags };
}

/* ---- bad input ------------------------------------------------------- */

#define GOOD_RUNS	4u

struct bad_case {
	const char *desc;
	int cls;			/* K_EINVAL, K_EFAULT, K_E2BIG */
	int err;			/* PVX_E* */
	uint64_t a0, a1, a2, a3;	/* a0 0: BATCH_GPA */
	uint32_t flags, count;		/* count 0: the runs written */
	uint64_t reserved;
	struct pvx_ksm_hint last;	/* after GOOD_RUNS valid runs */
	unsigned int repeat;		/* >0: the batch is @repeat copies of last */
};

static const struct bad_case bad_cases[] = {
	{ "a1 = 1", K_EINVAL, PVX_EINVAL, .a1 = 1 },
	{ "a2 = 1 << 40", K_EINVAL, PVX_EINVAL, .a2 = 1ull << 40 },
	{ "a3 = 1", K_EINVAL, PVX_EINVAL, .a3 = 1 },
	{ "batch not page aligned", K_EINVAL, PVX_EINVAL, .a0 = BATCH_GPA + 8 },
	{ "batch outside the memslots", K_EFAULT, PVX_EFAULT, .a0 = HOLE_GPA },
	{ "header flag 0x2", K_EINVAL, PVX_EINVAL, .flags = 0x2 },
	{ "header reserved 1", K_EINVAL, PVX_EINVAL, .reserved = 1 },
	{ "count 0", K_EINVAL, PVX_EINVAL, .count = ~0u },
	{ "count PVX_KSM_MAX_HINTS + 1", K_E2BIG, PVX_E2BIG, .count = PVX_KSM_MAX_HINTS + 1 },
	{ "run not page aligned", K_EINVAL, PVX_EINVAL,
	  .last = { POOL_GPA + 0x800, 1, PVX_KSM_MERGEABLE } },
	{ "run of 0 pages", K_EINVAL, PVX_EINVAL, .last = { POOL_GPA, 0, PVX_KSM_MERGEABLE } },
	{ "run flags 0", K_EINVAL, PVX_EINVAL, .last = { POOL_GPA, 1, 0 } },
	{ "run flags MERGEABLE | UNMERGEABLE", K_EINVAL, PVX_EINVAL,
	  .last = { POOL_GPA, 1, PVX_KSM_MERGEABLE | PVX_KSM_UNMERGEABLE } },
	{ "run flags 0x4", K_EINVAL, PVX_EINVAL, .last = { POOL_GPA, 1, 0x4 } },
	{ "run wrapping past 2^64", K_E2BIG, PVX_E2BIG,
	  .last = { 0xfffffffffffff000ull, 2, PVX_KSM_UNMERGEABLE } },
	{ "run outside the memslots", K_EFAULT, PVX_EFAULT,
	  .last = { HOLE_GPA, 1, PVX_KSM_UNMERGEABLE } },
	{ "run across the end of its memslot", K_EFAULT, PVX_EFAULT,
	  .last = { HOLE_GPA - PAGE, 2, PVX_KSM_MERGEABLE } },
	{ "runs adding up to more than PVX_KSM_MAX_BATCH_PAGES", K_E2BIG, PVX_E2BIG,
	  .last = { 0, TVM_MEM_SIZE / PAGE, PVX_KSM_MERGEABLE },
	  .repeat = PVX_KSM_MAX_BATCH_PAGES / (TVM_MEM_SIZE / PAGE) + 1 },
	/* the page sum comes before the memslot (issue 26, item 15a) */
	{ "a run past PVX_KSM_MAX_BATCH_PAGES that also leaves its memslot", K_E2BIG, PVX_E2BIG,
	  .last = { 0x41000, 0x10944, PVX_KSM_UNMERGEABLE } },
	{ "the fuzzer's withdrawal {flags 1, count 1}, run {0x41000, 0x10944, 2}", K_E2BIG,
	  PVX_E2BIG, .flags = PVX_KSM_F_WITHDRAW,
	  .last = { 0x41000, 0x10944, PVX_KSM_UNMERGEABLE }, .repeat = 1 },
	{ "a run past PVX_KSM_MAX_BATCH_PAGES starting outside the memslots", K_E2BIG,
	  PVX_E2BIG, .last = { HOLE_GPA, PVX_KSM_MAX_BATCH_PAGES + 1, PVX_KSM_MERGEABLE } },
};

static void bad_batch(const struct bad_case *c, struct pvx_ksm_hint *h, unsigned int *n)
{
	unsigned int i;

	if (c->repeat) {
		for (i = 0; i < c->repeat; i++)
			h[i] = c->last;
		*n = c->repeat;
		return;
	}
	/* valid runs of both kinds first: nothing of them may be applied */
	for (i = 0; i < GOOD_RUNS; i++)
		h[i] = run(pool(100 + 2 * i), 2, i % 2 ? PVX_KSM_UNMERGEABLE : PVX_KSM_MERGEABLE);
	*n = GOOD_RUNS;
	if (c->last.npages || c->last.flags || c->last.gpa)
		h[(*n)++] = c->last;
}

static void abi_bad(struct kvm_t *k)
{
	struct pvx_ksm_hint h[PVX_KSM_MAX_HINTS + 1];
	long long before[K_NR], after[K_NR];
	long long pins0 = host_pins_settled();
	unsigned int i, n;
	struct kvm_regs r;

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		uint32_t count;
		bool ok;

		bad_batch(c, h, &n);
		count = c->count == ~0u ? 0 : c->count ? c->count : n;
		put_batch(k, c->flags, count, c->reserved, h, n);
		ok = vm_counts(before) &&
		     ksm_call(k, c->a0 ? c->a0 : BATCH_GPA, c->a1, c->a2, c->a3, &r) &&
		     vm_counts(after);
		ok = ok && r.rax == TVM_NEG64(c->err) && r.rbx == 0 &&
		     after[c->cls] == before[c->cls] + 1 &&
		     after[K_CALLS] == before[K_CALLS] + 1 &&
		     after[K_CAND] == before[K_CAND] && after[K_PINS] == before[K_PINS];
		ok = ok && host_pins_become(pins0);
		pvx_check(ok,
			  "abi: %s -> -%d, RBX 0, nothing hinted, counted as %s (rax 0x%llx rbx %llu, %s %lld -> %lld, calls %lld -> %lld, candidates %lld pins %lld, %lld pinned above the start)",
			  c->desc, c->err, k_names[c->cls], X(r.rax), X(r.rbx),
			  k_names[c->cls], before[c->cls], after[c->cls], before[K_CALLS],
			  after[K_CALLS], after[K_CAND], after[K_PINS], host_pins() - pins0);
	}
}

/* ---- good input ------------------------------------------------------ */

static bool expect_sets(const char *what, struct kvm_regs *r, uint64_t rbx,
			long long cand, long long pins)
{
	long long v[K_NR] = { 0 };	/* printed even when unread */
	bool ok;

	ok = vm_counts(v);
	ok = ok && r->rax == 0 && r->rbx == rbx && v[K_CAND] == cand && v[K_PINS] == pins;
	return pvx_check(ok, "abi: %s: RAX 0, RBX %llu, candidates %lld, pins %lld (rax 0x%llx rbx %llu, got %lld, %lld)",
			 what, X(rbx), cand, pins, X(r->rax), X(r->rbx), v[K_CAND], v[K_PINS]);
}

static void abi_good(struct kvm_t *k, long long pins0)
{
	struct pvx_ksm_hint h[4];
	struct kvm_regs r = { 0 };
	long long v[K_NR], n;
	bool ok;

	h[0] = run(pool(0), 16, PVX_KSM_MERGEABLE);
	hint(k, 0, h, 1, &r);
	expect_sets("16 candidate pages", &r, 16, 16, 0);
	hint(k, 0, h, 1, &r);
	expect_sets("the same 16 again add nothing", &r, 0, 16, 0);

	h[0] = run(pool(16), 4, PVX_KSM_UNMERGEABLE);
	h[1] = run(pool(20), 4, PVX_KSM_UNMERGEABLE);
	h[2] = run(pool(24), 8, PVX_KSM_MERGEABLE);
	hint(k, 0, h, 3, &r);
	expect_sets("8 never-merge pages and 8 candidates in one batch", &r, 16, 24, 8);
	ok = host_pins_become(pins0 + 8);
	n = host_pins();
	pvx_check(ok, "abi: the host holds 8 more pinned pages (%lld -> %lld)", pins0, n);

	h[0] = run(pool(0), 8, PVX_KSM_MERGEABLE);
	h[1] = run(pool(16), 2, PVX_KSM_UNMERGEABLE);
	h[2] = run(pool(300), 2, PVX_KSM_UNMERGEABLE);	/* never hinted */
	hint(k, PVX_KSM_F_WITHDRAW, h, 3, &r);
	expect_sets("withdraw 8 candidates and 2 pins (and 2 pages never hinted)", &r, 10, 16, 6);
	ok = host_pins_become(pins0 + 6);
	n = host_pins();
	pvx_check(ok, "abi: withdrawn pins are released (%lld pinned above the start)", n - pins0);

	/* the cap: 6 pinned, max_pins 8, 3 more refused whole */
	tvm_write_file(PARAM_MAX_PINS, "8");
	h[0] = run(pool(40), 3, PVX_KSM_UNMERGEABLE);
	hint(k, 0, h, 1, &r);
	ok = vm_counts(v) && host_pins_become(pins0 + 6);
	n = host_pins();
	pvx_check(ok && r.rax == TVM_NEG64(PVX_ENOMEM) && r.rbx == 0 && v[K_PINS] == 6,
		  "abi: past max_pins (6 + 3 > 8) -> -ENOMEM, nothing pinned (rax 0x%llx, pins %lld, %lld pinned above the start)",
		  X(r.rax), v[K_PINS], n - pins0);
	h[0] = run(pool(40), 2, PVX_KSM_UNMERGEABLE);
	hint(k, 0, h, 1, &r);
	expect_sets("up to max_pins (6 + 2 = 8) is fine", &r, 2, 16, 8);
	tvm_write_file(PARAM_MAX_PINS, "4096");
	pvx_check(tvm_write_file(PARAM_MAX_PINS, "262145") < 0 &&
		  tvm_write_file(PARAM_MAX_PINS, "-1") < 0 &&
		  tvm_write_file(PARAM_MAX_PINS, "lots") < 0,
		  "abi: max_pins above 262144, negative or not a number refused");

	/* pins in memory the VMM unmaps go with it */
	h[0] = run(EXTRA_GPA, EXTRA_PAGES, PVX_KSM_UNMERGEABLE);
	hint(k, 0, h, 1, &r);
	expect_sets("16 never-merge pages in a second slot", &r, 16, 16, 24);
	drop_extra(k);
	ok = vm_counts(v) && host_pins_become(pins0 + 8);
	n = host_pins();
	pvx_check(ok && v[K_PINS] == 8 && v[K_UNMAPPED] == 16,
		  "abi: the VMM deletes the slot and unmaps it: its 16 pins go (pins %lld, unmapped %lld, %lld pinned above the start)",
		  v[K_PINS], v[K_UNMAPPED], n - pins0);
}

static int cmd_abi(void)
{
	struct kvm_t k;
	long long pins0 = host_pins_settled(), v[K_NR];
	struct pvx_ksm_hint h = run(pool(500), 1, PVX_KSM_MERGEABLE);
	struct kvm_regs r = { 0 };
	bool ok;

	if (pins0 < 0) {
		pvx_check(false, "abi: /proc/vmstat has nr_foll_pin_acquired and _released");
		return KSFT_FAIL;
	}
	if (k_create(&k)) {
		pvx_check(false, "abi: a tiny VM with two memslots");
		return KSFT_FAIL;
	}
	/* the VM's first call makes its state: a withdrawal of nothing */
	ok = hint(&k, PVX_KSM_F_WITHDRAW, &h, 1, &r) && find_vm_file();
	pvx_check(ok && r.rax == 0 && r.rbx == 0,
		  "abi: a first call (withdraw a page never hinted) answers 0, RBX 0, and makes %s (rax 0x%llx rbx %llu)",
		  vm_file, X(r.rax), X(r.rbx));
	abi_bad(&k);
	abi_good(&k, pins0);
	k_destroy(&k);
	ok = host_pins_become(pins0);
	pvx_check(ok, "abi: the VM's end releases its pins (%lld pinned above the start)",
		  host_pins() - pins0);
	ok = tvm_read_counters(KSM_TOTALS, k_names, 6, v);
	pvx_check(ok && v[K_CALLS] > 0, "abi: host totals in %s (calls %lld)", KSM_TOTALS,
		  v[K_CALLS]);
	return pvx_nfail ? KSFT_FAIL : KSFT_PASS;
}

static int cmd_absent(void)
{
	struct pvx_ksm_hint h = run(pool(0), 1, PVX_KSM_UNMERGEABLE);
	long long pins0 = host_pins_settled();
	struct kvm_regs r = { 0 };
	struct kvm_t k;
	bool ok;

	if (k_create(&k)) {
		pvx_check(false, "absent: a tiny VM");
		return KSFT_FAIL;
	}
	put_batch(&k, 0, 1, 0, &h, 1);
	ok = ksm_call(&k, BATCH_GPA, 0, 0, 0, &r);
	ok = ok && r.rax == TVM_NEG64(PVX_ENOSYS) && r.rbx == BATCH_GPA && host_pins_become(pins0);
	pvx_check(ok, "absent: KSM_HINT -> -ENOSYS, RBX unchanged, nothing pinned (rax 0x%llx rbx 0x%llx, %lld pinned above the start)",
		  X(r.rax), X(r.rbx), host_pins() - pins0);
	ok = tvm_hcall(&k.vm.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) == 0;
	pvx_check(ok && !(r.rax == 0 && (r.rdx & PVX_F_KSM_HINT)),
		  "absent: PROBE does not offer PVX_F_KSM_HINT (rdx 0x%llx)", X(r.rdx));
	k_destroy(&k);
	return pvx_nfail ? KSFT_FAIL : KSFT_PASS;
}

/* ---- KSM at work ------------------------------------------------------- */

static long long ksm_read(const char *name)
{
	return sysfs_read_counter(KSM_SYSFS, name);
}

/* Wait until KSM has done @scans more full scans (at most @secs s). */
static bool ksm_scans(int scans, int secs)
{
	long long s0 = ksm_read("full_scans");
	int i;

	for (i = 0; i < secs * 10; i++) {
		if (ksm_read("full_scans") >= s0 + scans)
			return true;
		usleep(100000);
	}
	return false;
}

static int cmd_merge(void)
{
	struct pvx_ksm_hint h[2];
	long long v[K_NR];
	struct kvm_regs r = { 0 };
	struct kvm_t k;
	bool merged = false, ok;
	int i;

	if (ksm_read("run") < 0) {
		pvx_check(false, "merge: %s exists (CONFIG_KSM)", KSM_SYSFS);
		return KSFT_FAIL;
	}
	if (k_create(&k)) {
		pvx_check(false, "merge: a tiny VM");
		return KSFT_FAIL;
	}
	/* every page of the pool distinct, but for pages 1 and 2 */
	for (i = 0; i < (int)(POOL_PAGES * PAGE / 4); i++)
		((uint32_t *)(k.vm.mem + POOL_GPA))[i] = 0x9e3779b9u * (i / 1024 + 1);
	memcpy(k.vm.mem + pool(2), k.vm.mem + pool(1), PAGE);
	pvx_check(!madvise(k.vm.mem + POOL_GPA, POOL_PAGES * PAGE, MADV_MERGEABLE),
		  "merge: the pool is MADV_MERGEABLE, as QEMU makes guest RAM");
	tvm_write_file(KSM_SYSFS "/pages_to_scan", "4096");
	tvm_write_file(KSM_SYSFS "/sleep_millisecs", "20");
	tvm_write_file(KSM_SYSFS "/run", "1");

	h[0] = run(pool(1), 2, PVX_KSM_MERGEABLE);
	hint(&k, 0, h, 1, &r);
	find_vm_file();
	for (i = 0; i < 300 && !merged; i++) {
		merged = vm_counts(v) && v[K_CAND_MERGED] == 2;
		if (!merged)
			usleep(100000);
	}
	pvx_check(merged, "merge: KSM merges the two identical candidates (candidates_merged %lld, after %d.%d s)",
		  v[K_CAND_MERGED], i / 10, i % 10);

	h[0] = run(pool(2), 1, PVX_KSM_UNMERGEABLE);
	hint(&k, 0, h, 1, &r);
	ok = vm_counts(v);
	pvx_check(ok && r.rax == 0 && v[K_PINS] == 1 && v[K_PINS_MERGED] == 0 &&
		  v[K_CAND_MERGED] == 1,
		  "merge: a never-merge hint on one of them unshares it (rax 0x%llx, pins %lld, pins_merged %lld, candidates_merged %lld)",
		  X(r.rax), v[K_PINS], v[K_PINS_MERGED], v[K_CAND_MERGED]);
	pvx_check(!memcmp(k.vm.mem + pool(1), k.vm.mem + pool(2), PAGE),
		  "merge: its bytes are unchanged");
	ok = ksm_scans(2, 60);
	ok = vm_counts(v) && ok;
	pvx_check(ok && v[K_PINS_MERGED] == 0 && v[K_PINS] == 1,
		  "merge: after two more full scans it is still not merged (pins %lld, pins_merged %lld)",
		  v[K_PINS], v[K_PINS_MERGED]);
	k_destroy(&k);
	tvm_write_file(KSM_SYSFS "/run", "2");	/* unmerge everything */
	tvm_write_file(KSM_SYSFS "/run", "0");
	return pvx_nfail ? KSFT_FAIL : KSFT_PASS;
}

/* ---- merge_on_candidates ------------------------------------------------- */

/* 1 when the mapping that holds @addr is mergeable (smaps "mg"), 0, -1. */
static int mergeable(const void *addr)
{
	unsigned long a = (unsigned long)addr, start, end;
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512], perms[5];
	bool in = false;
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* a mapping's first line: "start-end perms offset dev inode" */
		if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3) {
			in = a >= start && a < end;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			ret = !!strstr(line, " mg");
			break;
		}
	}
	fclose(f);
	return ret;
}

static long long made_mergeable(void)
{
	static const char *const name[] = { "made_mergeable" };
	long long v = -1;

	return vm_file[0] && tvm_read_counters(vm_file, name, 1, &v) ? v : -1;
}

static int cmd_policy(void)
{
	struct pvx_ksm_hint cand = run(pool(20), 4, PVX_KSM_MERGEABLE);
	struct pvx_ksm_hint pin = run(EXTRA_GPA, 1, PVX_KSM_UNMERGEABLE);
	long long pins0 = host_pins_settled();
	char was[16] = "";
	struct kvm_regs r = { 0 };
	struct kvm_t k;
	int err, m;
	bool ok;

	if (sysfs_read_str(PARAM_MERGE_ON, was, sizeof(was)) || strcmp(was, "N")) {
		pvx_check(false, "policy: %s reads N at load ('%s')", PARAM_MERGE_ON, was);
		return KSFT_FAIL;
	}
	err = write_file(PARAM_MERGE_ON, "2");
	sysfs_read_str(PARAM_MERGE_ON, was, sizeof(was));
	pvx_check(err == -EINVAL && !strcmp(was, "N"),
		  "policy: merge_on_candidates=2 refused with EINVAL, N kept (%d, '%s')", err, was);
	if (k_create(&k)) {
		pvx_check(false, "policy: a tiny VM with two memslots");
		return KSFT_FAIL;
	}
	m = mergeable(k.vm.mem);
	pvx_check(m == 0, "policy: the VM's memory is not mergeable to begin with (%d)", m);
	ok = hint(&k, 0, &cand, 1, &r) && r.rax == 0 && find_vm_file();
	m = mergeable(k.vm.mem);
	pvx_check(ok && m == 0 && made_mergeable() == 0,
		  "policy: off, 4 candidates leave it so (rax 0x%llx rbx %llu, mg %d, made_mergeable %lld)",
		  X(r.rax), X(r.rbx), m, made_mergeable());
	ok = hint(&k, PVX_KSM_F_WITHDRAW, &cand, 1, &r) && r.rax == 0;
	ok = ok && write_file(PARAM_MERGE_ON, "1") == 0;
	ok = ok && hint(&k, 0, &pin, 1, &r) && r.rax == 0;
	m = mergeable(k.extra);
	pvx_check(ok && m == 0 && made_mergeable() == 0,
		  "policy: on, a never-merge hint makes nothing mergeable (rax 0x%llx, mg %d, made_mergeable %lld)",
		  X(r.rax), m, made_mergeable());
	ok = hint(&k, 0, &cand, 1, &r) && r.rax == 0 && r.rbx == 4;
	m = mergeable(k.vm.mem);
	pvx_check(ok && m == 1 && made_mergeable() == 1,
		  "policy: on, 4 candidates make the VMA that holds them mergeable (rax 0x%llx rbx %llu, mg %d, made_mergeable %lld)",
		  X(r.rax), X(r.rbx), m, made_mergeable());
	ok = hint(&k, 0, &cand, 1, &r) && r.rax == 0;
	pvx_check(ok && mergeable(k.vm.mem) == 1 && made_mergeable() == 1,
		  "policy: the same candidates again change nothing (made_mergeable %lld)",
		  made_mergeable());
	pvx_check(mergeable(k.extra) == 0,
		  "policy: the other memslot's VMA stays as it was (mg %d)", mergeable(k.extra));
	write_file(PARAM_MERGE_ON, "0");
	k_destroy(&k);
	ok = host_pins_become(pins0);
	pvx_check(ok, "policy: the VM's end releases its pin (%lld above the start)",
		  host_pins() - pins0);
	return pvx_nfail ? KSFT_FAIL : KSFT_PASS;
}

/* ---- races with the VMM's own unmaps (issue 26, items 4 and 14) --------- */

#define RACE_SLOT	2
#define RACE_GPA	0x2000000ull
#define RACE_PAGES	64u
#define WALK_SLOT	3
#define WALK_GPA	0x40000000ull
#define WALK_PAGES	PVX_KSM_MAX_BATCH_PAGES	/* 256 MiB, never touched */
#define WALK_READS	5
#define WALK_CALLS	1000

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Make @p (@pages pages of the VMM) memslot @slot at @gpa; 0 or -1. */
static int set_slot(struct kvm_t *k, int slot, uint64_t gpa, void *p, unsigned int pages)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = pages * PAGE,
		.userspace_addr = (uintptr_t)p,
	};

	if (ioctl(k->vm.fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		tvm_diag("KVM_SET_USER_MEMORY_REGION slot %d: %s", slot, strerror(errno));
		return -1;
	}
	return 0;
}

static void del_slot(struct kvm_t *k, int slot)
{
	set_slot(k, slot, 0, NULL, 0);
}

/* @n one-page runs of @flags: pages @gpa, @gpa + @stride, ... */
static bool one_page_runs(struct kvm_t *k, uint32_t hflags, uint64_t gpa, uint64_t stride,
			  unsigned int n, uint32_t flags, struct kvm_regs *r)
{
	struct pvx_ksm_hint h[PVX_KSM_MAX_HINTS];
	unsigned int i;

	for (i = 0; i < n; i++)
		h[i] = run(gpa + i * stride, 1, flags);
	return hint(k, hflags, h, n, r);
}

/* A thread of the VMM that unmaps @p after a delay, each time told to. */
struct unmapper {
	pthread_t t;
	atomic_int gen, done;
	atomic_bool stop;
	void *p;
	unsigned long spins;
};

static void *unmapper_fn(void *arg)
{
	struct unmapper *u = arg;
	volatile unsigned long i;
	int seen = 0, g;

	while (!atomic_load(&u->stop)) {
		g = atomic_load(&u->gen);
		if (g == seen) {
			sched_yield();
			continue;
		}
		seen = g;
		for (i = 0; i < u->spins; i++)
			;
		munmap(u->p, RACE_PAGES * PAGE);
		atomic_store(&u->done, g);
	}
	return NULL;
}

/* A fresh mapping of RACE_PAGES pages, written, as memslot RACE_SLOT. */
static void *race_map(struct kvm_t *k)
{
	void *p = mmap(NULL, RACE_PAGES * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0x3c, RACE_PAGES * PAGE);
	if (set_slot(k, RACE_SLOT, RACE_GPA, p, RACE_PAGES)) {
		munmap(p, RACE_PAGES * PAGE);
		return NULL;
	}
	return p;
}

/*
 * Item 4: another thread of the VMM unmaps a memslot's memory while its
 * pages are being pinned, at a delay that sweeps the batch. Whatever the
 * answer, no pin of the unmapped memory may stay.
 */
static int cmd_race(int iters)
{
	long long pins0 = host_pins_settled(), v0[K_NR], v[K_NR];
	int it, answered = 0, efault = 0, partial = 0, bad = 0, stuck = 0;
	struct unmapper u = { 0 };
	struct kvm_regs r = { 0 };
	double t0, t_batch;
	struct kvm_t k;
	void *p;
	bool ok;

	if (k_create(&k)) {
		pvx_check(false, "race: a tiny VM");
		return KSFT_FAIL;
	}
	/* the time of one batch of RACE_PAGES pins, and its withdrawal */
	p = race_map(&k);
	t0 = now_ms();
	ok = p && one_page_runs(&k, 0, RACE_GPA, PAGE, RACE_PAGES, PVX_KSM_UNMERGEABLE, &r) &&
	     r.rax == 0 && r.rbx == RACE_PAGES;
	t_batch = now_ms() - t0;
	ok = ok && one_page_runs(&k, PVX_KSM_F_WITHDRAW, RACE_GPA, PAGE, RACE_PAGES,
				 PVX_KSM_UNMERGEABLE, &r) && r.rax == 0 && r.rbx == RACE_PAGES;
	ok = ok && find_vm_file() && vm_counts(v0);
	pvx_check(ok, "race: %u pins in a batch of %u runs, withdrawn (%.2f ms)",
		  RACE_PAGES, RACE_PAGES, t_batch);
	if (p)
		munmap(p, RACE_PAGES * PAGE);
	del_slot(&k, RACE_SLOT);
	if (!ok) {
		k_destroy(&k);
		return KSFT_FAIL;
	}
	if (pthread_create(&u.t, NULL, unmapper_fn, &u)) {
		pvx_check(false, "race: an unmapping thread");
		k_destroy(&k);
		return KSFT_FAIL;
	}
	for (it = 1; it <= iters; it++) {
		p = race_map(&k);
		if (!p) {
			bad++;
			break;
		}
		u.p = p;
		/* 0 .. about the batch's own time of spinning, in 32 steps */
		u.spins = (unsigned long)(it % 32) * (unsigned long)(t_batch * 1000) / 32 * 50;
		atomic_store(&u.gen, it);
		ok = one_page_runs(&k, 0, RACE_GPA, PAGE, RACE_PAGES, PVX_KSM_UNMERGEABLE, &r);
		while (atomic_load(&u.done) != it)
			;
		if (!ok || (r.rax != 0 && r.rax != TVM_NEG64(PVX_EFAULT)) || r.rbx > RACE_PAGES) {
			bad++;
		} else if (r.rax == 0) {
			answered++;
		} else {
			efault++;
			partial += r.rbx > 0;
		}
		del_slot(&k, RACE_SLOT);
		/* the memory is gone: so must be every pin of it */
		if (!vm_counts(v) || v[K_PINS] != 0)
			stuck++;
	}
	atomic_store(&u.stop, true);
	pthread_join(u.t, NULL);
	pvx_check(!bad && !stuck,
		  "race: %d unmaps racing batches of %u pins: answers 0 or -EFAULT only, no pin left after any (0: %d, -EFAULT: %d of which %d partial, other %d, iterations with pins left %d)",
		  iters, RACE_PAGES, answered, efault, partial, bad, stuck);
	ok = vm_counts(v);
	pvx_check(ok && v[K_PINS] == 0,
		  "race: the VM's pins 0 at the end (pins %lld, unmapped %lld)",
		  v[K_PINS], v[K_UNMAPPED] - v0[K_UNMAPPED]);
	ok = host_pins_become(pins0);
	pvx_check(ok, "race: the host's pinned pages back where they were (%lld above the start)",
		  host_pins() - pins0);
	k_destroy(&k);
	ok = host_pins_become(pins0);
	pvx_check(ok, "race: and after the VM's end (%lld above the start)", host_pins() - pins0);
	return pvx_nfail ? KSFT_FAIL : KSFT_PASS;
}

/* A thread of the VMM that maps, writes and unmaps other memory in a loop. */
struct churn {
	pthread_t t;
	atomic_bool stop;
	atomic_ulong unmaps;
};

static void *churn_fn(void *arg)
{
	struct churn *c = arg;
	char *p;

	while (!atomic_load(&c->stop)) {
		p = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (p == MAP_FAILED)
			continue;
		p[0] = 1;
		p[8 * PAGE] = 1;
		munmap(p, 16 * PAGE);
		atomic_fetch_add(&c->unmaps, 1);
	}
	return NULL;
}

/*
 * Item 14: a thread of the VMM maps and unmaps unrelated memory all the
 * time (thread stacks, malloc arenas) while the vCPU pins batches of 64
 * one-page runs and withdraws them: every page pinned, every time.
 */
static int cmd_churn(int iters)
{
	long long pins0 = host_pins_settled(), v0[K_NR], v[K_NR], pf0, pf;
	static const char *const pf_name[] = { "pin_failed" };
	int it, fails = 0, first_fail = -1;
	unsigned long long rax = 0, rbx = 0;
	struct kvm_regs r = { 0 };
	struct churn c = { 0 };
	double t0;
	struct kvm_t k;
	bool ok;

	if (k_create(&k)) {
		pvx_check(false, "churn: a tiny VM");
		return KSFT_FAIL;
	}
	ok = one_page_runs(&k, PVX_KSM_F_WITHDRAW, pool(0), PAGE, 1, PVX_KSM_UNMERGEABLE, &r) &&
	     find_vm_file() && vm_counts(v0) && tvm_read_counters(vm_file, pf_name, 1, &pf0);
	if (!ok || pthread_create(&c.t, NULL, churn_fn, &c)) {
		pvx_check(false, "churn: the VM's debugfs file and a thread that maps and unmaps");
		k_destroy(&k);
		return KSFT_FAIL;
	}
	t0 = now_ms();
	/* at most 150 s: the lab's L2 is emulated */
	for (it = 0; it < iters && now_ms() - t0 < 150e3; it++) {
		/* every other page: 64 runs of one page */
		ok = one_page_runs(&k, 0, pool(2 * (it % 4)), 8 * PAGE, 64,
				   PVX_KSM_UNMERGEABLE, &r) &&
		     r.rax == 0 && r.rbx == 64;
		if (!ok && first_fail < 0) {
			first_fail = it;
			rax = r.rax;
			rbx = r.rbx;
		}
		fails += !ok;
		ok = one_page_runs(&k, PVX_KSM_F_WITHDRAW, pool(2 * (it % 4)), 8 * PAGE, 64,
				   PVX_KSM_UNMERGEABLE, &r) && r.rax == 0;
		fails += !ok;
	}
	atomic_store(&c.stop, true);
	pthread_join(c.t, NULL);
	pvx_check(fails == 0 && it >= 1000 && atomic_load(&c.unmaps) >= 100,
		  "churn: %d batches (of %d, at least 1000) of 64 one-page never-merge runs while another thread unmapped %lu times: every page pinned (%d failed, the first #%d: rax 0x%llx rbx 0x%llx; %.1f s)",
		  it, iters, atomic_load(&c.unmaps), fails, first_fail, rax, rbx,
		  (now_ms() - t0) / 1e3);
	ok = vm_counts(v) && tvm_read_counters(vm_file, pf_name, 1, &pf);
	pvx_check(ok && v[K_EFAULT] == v0[K_EFAULT] && pf == pf0 && v[K_PINS] == 0,
		  "churn: no efault, no pin_failed, nothing left pinned (efault +%lld, pin_failed +%lld, pins %lld)",
		  v[K_EFAULT] - v0[K_EFAULT], pf - pf0, v[K_PINS]);
	k_destroy(&k);
	ok = host_pins_become(pins0);
	pvx_check(ok, "churn: the host's pinned pages back where they were (%lld above the start)",
		  host_pins() - pins0);
	return pvx_nfail ? KSFT_FAIL : KSFT_PASS;
}

/* ---- bounded critical sections (issue 26, item 5) ------------------------ */

struct reader {
	pthread_t t;
	atomic_bool reading, stop;
	int reads;
	double longest;		/* ms */
	long bytes;
};

static void *reader_fn(void *arg)
{
	struct reader *rd = arg;
	char buf[4096];
	double t0, t;
	ssize_t n;
	int fd;

	while (!atomic_load(&rd->stop) && rd->reads < WALK_READS) {
		fd = open(vm_file, O_RDONLY);
		if (fd < 0)
			break;
		atomic_store(&rd->reading, true);
		t0 = now_ms();
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			rd->bytes += n;
		t = now_ms() - t0;
		atomic_store(&rd->reading, false);
		close(fd);
		rd->reads++;
		if (t > rd->longest)
			rd->longest = t;
		usleep(20000);
	}
	atomic_store(&rd->stop, true);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Item 5: reading the VM's debugfs file walks 65536 candidates; the VM's
 * hints meanwhile wait at most for a chunk of it, not for the walk. Held
 * up by the walk, a hint sent during a read would wait for its end: about
 * one call per read, each a good part of a read long.
 */
static int cmd_walk(void)
{
	struct pvx_ksm_hint h = run(WALK_GPA, WALK_PAGES, PVX_KSM_MERGEABLE);
	struct pvx_ksm_hint one = run(pool(7), 1, PVX_KSM_MERGEABLE);
	static double lat[WALK_CALLS];
	double t0, p90;
	struct reader rd = { 0 };
	struct kvm_regs r = { 0 };
	int calls = 0, fails = 0;
	long long v[K_NR];
	struct kvm_t k;
	void *big;
	bool ok;

	if (k_create(&k)) {
		pvx_check(false, "walk: a tiny VM");
		return KSFT_FAIL;
	}
	big = mmap(NULL, (size_t)WALK_PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ok = big != MAP_FAILED && !set_slot(&k, WALK_SLOT, WALK_GPA, big, WALK_PAGES);
	ok = ok && hint(&k, 0, &h, 1, &r) && r.rax == 0 && r.rbx == WALK_PAGES && find_vm_file();
	pvx_check(ok, "walk: %u candidates in a 256 MiB memslot (rax 0x%llx rbx %llu)",
		  WALK_PAGES, X(r.rax), X(r.rbx));
	if (!ok || pthread_create(&rd.t, NULL, reader_fn, &rd)) {
		k_destroy(&k);
		return KSFT_FAIL;
	}
	while (!atomic_load(&rd.stop) && calls < WALK_CALLS) {
		if (!atomic_load(&rd.reading))
			continue;
		t0 = now_ms();
		ok = hint(&k, calls % 2 ? PVX_KSM_F_WITHDRAW : 0, &one, 1, &r) && r.rax == 0;
		lat[calls++] = now_ms() - t0;
		fails += !ok;
	}
	atomic_store(&rd.stop, true);
	pthread_join(rd.t, NULL);
	ok = vm_counts(v);
	pvx_check(ok && rd.reads >= 1 && v[K_CAND] >= WALK_PAGES,
		  "walk: the VM's file read %d times (longest %.1f ms, %ld bytes, candidates %lld)",
		  rd.reads, rd.longest, rd.bytes, v[K_CAND]);
	qsort(lat, calls, sizeof(lat[0]), cmp_double);
	p90 = calls ? lat[calls * 9 / 10] : 0;
	pvx_check(calls >= 3 * rd.reads && !fails && p90 * 4 < rd.longest,
		  "walk: %d hints during %d reads (at least 3 a read), 90%% of them within a quarter of a read (90th percentile %.2f ms, worst %.2f ms, read %.1f ms, %d failed)",
		  calls, rd.reads, p90, calls ? lat[calls - 1] : 0, rd.longest, fails);
	k_destroy(&k);
	if (big != MAP_FAILED)
		munmap(big, (size_t)WALK_PAGES * PAGE);
	return pvx_nfail ? KSFT_FAIL : KSFT_PASS;
}

/* ---- what pins hold, and who pays for it (issue 26, item 3) -------------- */

#define THP_SLOT	4
#define THP_GPA		0x4000000ull	/* two 2 MiB folios */
#define THP_PAGES	1024u
#define SMALL_SLOT	5
#define SMALL_GPA	0x5000000ull	/* 4 KiB pages */
#define SMALL_PAGES	16u
#define HUGE_SZ		(2ull << 20)

/* This process's VmPin (kB: its mm->pinned_vm), or -1. */
static long long vm_pin_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	long long v = -1;
	char line[256];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %lld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* "pins_held" of a pvx_ksm debugfs file (4 KiB pages), or -1. */
static long long pins_held(const char *file)
{
	static const char *const name[] = { "pins_held" };
	long long v = -1;

	return file[0] && tvm_read_counters(file, name, 1, &v) ? v : -1;
}

static long long pin_limit(void)
{
	static const char *const name[] = { "pin_limit" };
	long long v = -1;

	return vm_file[0] && tvm_read_counters(vm_file, name, 1, &v) ? v : -1;
}

/* kB of @field ("AnonHugePages:") in the smaps of the mapping holding @addr. */
static long long smaps_kb(const void *addr, const char *field)
{
	unsigned long a = (unsigned long)addr, start, end;
	FILE *f = fopen("/proc/self/smaps", "r");
	size_t len = strlen(field);
	char line[512], perms[5];
	long long ret = -1;
	bool in = false;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3) {
			in = a >= start && a < end;
			continue;
		}
		if (in && !strncmp(line, field, len)) {
			ret = atoll(line + len);
			break;
		}
	}
	fclose(f);
	return ret;
}

/* CAP_IPC_LOCK in this thread's effective set (the vCPU's thread): 0 or -1. */
static int ipc_lock(bool on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &hdr, d))
		return -1;
	if (on)
		d[0].effective |= 1u << CAP_IPC_LOCK;
	else
		d[0].effective &= ~(1u << CAP_IPC_LOCK);
	return syscall(SYS_capset, &hdr, d) ? -1 : 0;
}

static uint64_t thp(unsigned int i)
{
	return THP_GPA + i * PAGE;
}

static uint64_t small(unsigned int i)
{
	return SMALL_GPA + i * PAGE;
}

/* One batch of never-merge pages, one-page runs at @gpa[0..@n). */
static bool pin_pages(struct kvm_t *k, uint32_t hflags, const uint64_t *gpa, unsigned int n,
		      struct kvm_regs *r)
{
	struct pvx_ksm_hint h[8];
	unsigned int i;

	for (i = 0; i < n; i++)
		h[i] = run(gpa[i], 1, PVX_KSM_UNMERGEABLE);
	return hint(k, hflags, h, n, r);
}

/* VmPin, the VM's and the host's pins_held are @kb above their start. */
static bool held_is(const char *what, long long vp0, long long h0, long long kb,
		    struct kvm_regs *r, uint64_t rax, uint64_t rbx)
{
	long long vp = vm_pin_kb(), hv = pins_held(vm_file), ht = pins_held(KSM_TOTALS);

	return pvx_check(r->rax == rax && r->rbx == rbx && vp == vp0 + kb && hv * 4 == kb &&
			 ht == h0 + hv,
			 "account: %s: RAX 0x%llx RBX %llu, VmPin +%lld kB, pins_held %lld (got rax 0x%llx rbx %llu, VmPin +%lld kB, VM pins_held %lld, host +%lld)",
			 what, X(rax), X(rbx), kb, kb / 4, X(r->rax), X(r->rbx), vp - vp0, hv,
			 ht - h0);
}

/*
 * Item 3: pins are charged to the VMM (mm->pinned_vm, VmPin) and to the
 * host, at the size of the folio they hold; RLIMIT_MEMLOCK (without
 * CAP_IPC_LOCK) and max_pinned_mb refuse a batch whole; the accounting
 * goes back to zero after withdraw, munmap and the VM's end.
 */
static int cmd_account(void)
{
	long long pins0 = host_pins_settled(), vp0, h0, lim0, n, thp_kb, v[K_NR];
	uint64_t g[8];
	struct rlimit rl0, rl;
	struct kvm_regs r = { 0 };
	uint8_t *raw, *big, *sm;
	char val[32];
	struct kvm_t k;
	bool ok;

	if (k_create(&k)) {
		pvx_check(false, "account: a tiny VM");
		return KSFT_FAIL;
	}
	raw = mmap(NULL, THP_PAGES * PAGE + HUGE_SZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sm = mmap(NULL, SMALL_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	if (raw == MAP_FAILED || sm == MAP_FAILED) {
		pvx_check(false, "account: guest memory");
		return KSFT_FAIL;
	}
	big = (uint8_t *)(((uintptr_t)raw + HUGE_SZ - 1) & ~(uintptr_t)(HUGE_SZ - 1));
	madvise(big, THP_PAGES * PAGE, MADV_HUGEPAGE);
	madvise(sm, SMALL_PAGES * PAGE, MADV_NOHUGEPAGE);
	memset(big, 0x11, THP_PAGES * PAGE);
	memset(sm, 0x22, SMALL_PAGES * PAGE);
	thp_kb = smaps_kb(big, "AnonHugePages:");
	ok = !set_slot(&k, THP_SLOT, THP_GPA, big, THP_PAGES) &&
	     !set_slot(&k, SMALL_SLOT, SMALL_GPA, sm, SMALL_PAGES);
	pvx_check(ok && thp_kb >= 4096,
		  "account: a memslot of two transparent huge pages (AnonHugePages %lld kB) and one of 4 KiB pages",
		  thp_kb);
	/* the VM's state and debugfs file: a withdrawal of nothing */
	g[0] = small(15);
	ok = pin_pages(&k, PVX_KSM_F_WITHDRAW, g, 1, &r) && find_vm_file();
	vp0 = vm_pin_kb();
	h0 = pins_held(KSM_TOTALS);
	pvx_check(ok && vp0 >= 0 && h0 >= 0 && pins_held(vm_file) == 0,
		  "account: VmPin %lld kB, host pins_held %lld, the VM's 0 to begin with", vp0, h0);

	g[0] = thp(5);
	pin_pages(&k, 0, g, 1, &r);
	held_is("one page of a THP holds all 2 MiB", vp0, h0, 2048, &r, 0, 1);
	g[0] = thp(6);
	g[1] = thp(300);
	pin_pages(&k, 0, g, 2, &r);
	held_is("two more pages of the same THP hold nothing more", vp0, h0, 2048, &r, 0, 2);
	g[0] = thp(600);
	g[1] = small(0);
	pin_pages(&k, 0, g, 2, &r);
	held_is("a page of the other THP and a 4 KiB page", vp0, h0, 4096 + 4, &r, 0, 2);
	g[0] = thp(5);
	g[1] = thp(6);
	g[2] = thp(300);
	pin_pages(&k, PVX_KSM_F_WITHDRAW, g, 1, &r);
	held_is("withdrawing one of three pins of a THP keeps it held", vp0, h0, 4096 + 4, &r,
		0, 1);
	g[0] = thp(6);
	g[1] = thp(300);
	g[2] = thp(600);
	g[3] = small(0);
	pin_pages(&k, PVX_KSM_F_WITHDRAW, g, 4, &r);
	held_is("withdrawing the rest: nothing held", vp0, h0, 0, &r, 0, 4);
	ok = host_pins_become(pins0);
	pvx_check(ok, "account: the host's pinned pages back where they were (%lld above)",
		  host_pins() - pins0);

	/* RLIMIT_MEMLOCK without CAP_IPC_LOCK: room for 3 MiB more */
	getrlimit(RLIMIT_MEMLOCK, &rl0);
	rl = rl0;
	rl.rlim_cur = vp0 * 1024 + 3 * 1024 * 1024;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
		rl.rlim_max = rl.rlim_cur;	/* root may raise it */
	ok = !setrlimit(RLIMIT_MEMLOCK, &rl) && !ipc_lock(false);
	pvx_check(ok, "account: RLIMIT_MEMLOCK VmPin + 3 MiB, CAP_IPC_LOCK dropped");
	g[0] = small(1);
	g[1] = thp(5);
	pin_pages(&k, 0, g, 2, &r);
	held_is("within RLIMIT_MEMLOCK: a 4 KiB page and a THP", vp0, h0, 2048 + 4, &r, 0, 2);
	lim0 = pin_limit();
	g[0] = small(2);
	g[1] = small(3);
	g[2] = thp(600);
	pin_pages(&k, 0, g, 3, &r);
	held_is("past RLIMIT_MEMLOCK (2 4 KiB pages, then the other THP) -> -ENOMEM, nothing pinned",
		vp0, h0, 2048 + 4, &r, TVM_NEG64(PVX_ENOMEM), 0);
	n = pin_limit();
	ok = vm_counts(v) && host_pins_become(pins0 + 2);
	pvx_check(ok && v[K_PINS] == 2 && n == lim0 + 1,
		  "account: the pins the refused call took are given back (pins %lld, pin_limit +%lld, %lld pinned above the start)",
		  v[K_PINS], n - lim0, host_pins() - pins0);
	ipc_lock(true);
	g[0] = small(2);
	g[1] = small(3);
	g[2] = thp(600);
	pin_pages(&k, 0, g, 3, &r);
	held_is("with CAP_IPC_LOCK, RLIMIT_MEMLOCK does not apply", vp0, h0, 4096 + 12, &r, 0, 3);
	setrlimit(RLIMIT_MEMLOCK, &rl0);
	pin_pages(&k, PVX_KSM_F_WITHDRAW, g, 3, &r);
	held_is("withdrawn again", vp0, h0, 2048 + 4, &r, 0, 3);

	/* the host-wide cap: what all VMs hold, now 2 MiB + 4 KiB + h0 */
	snprintf(val, sizeof(val), "%lld", (h0 * 4096 + (2048 + 4) * 1024) / (1 << 20) + 1);
	ok = !tvm_write_file(PARAM_MAX_PINNED, val);
	pin_pages(&k, 0, g, 3, &r);
	pvx_check(ok, "account: max_pinned_mb=%s", val);
	held_is("past max_pinned_mb -> -ENOMEM, nothing pinned", vp0, h0, 2048 + 4, &r,
		TVM_NEG64(PVX_ENOMEM), 0);
	tvm_write_file(PARAM_MAX_PINNED, "1024");
	pin_pages(&k, 0, g, 3, &r);
	held_is("max_pinned_mb=1024: the same batch is pinned", vp0, h0, 4096 + 12, &r, 0, 3);
	pvx_check(tvm_write_file(PARAM_MAX_PINNED, "1048577") < 0 &&
		  tvm_write_file(PARAM_MAX_PINNED, "-1") < 0,
		  "account: max_pinned_mb above 1048576 or negative refused");

	/* the VMM unmaps the THPs: their pins and what they held go */
	del_slot(&k, THP_SLOT);
	munmap(raw, THP_PAGES * PAGE + HUGE_SZ);
	n = vm_pin_kb();
	ok = vm_counts(v);
	pvx_check(ok && n == vp0 + 12 && pins_held(vm_file) == 3 && v[K_PINS] == 3,
		  "account: the VMM unmaps the THP memslot: its 2 pins and 4 MiB go, 3 pins of 4 KiB stay (VmPin +%lld kB, pins_held %lld, pins %lld)",
		  n - vp0, pins_held(vm_file), v[K_PINS]);
	k_destroy(&k);
	munmap(sm, SMALL_PAGES * PAGE);
	ok = host_pins_become(pins0);
	n = vm_pin_kb();
	pvx_check(ok && n == vp0 && pins_held(KSM_TOTALS) == h0,
		  "account: the VM's end: VmPin %lld kB, host pins_held %lld, pinned pages %lld above the start",
		  n, pins_held(KSM_TOTALS), host_pins() - pins0);
	return pvx_nfail ? KSFT_FAIL : KSFT_PASS;
}

/* ---- rmmod --------------------------------------------------------------- */

static int cmd_rmmod(const char *ko)
{
	struct pvx_ksm_hint h = run(pool(10), 8, PVX_KSM_UNMERGEABLE);
	long long pins0 = host_pins_settled(), n, vp0, vp1;
	struct kvm_regs r = { 0 };
	struct kvm_t k;
	bool ok;

	if (k_create(&k)) {
		pvx_check(false, "rmmod: a tiny VM");
		return KSFT_FAIL;
	}
	vp0 = vm_pin_kb();
	ok = hint(&k, 0, &h, 1, &r) && host_pins_become(pins0 + 8);
	vp1 = vm_pin_kb();
	n = host_pins();
	pvx_check(ok && r.rax == 0, "rmmod: a VM pins 8 pages (%lld above the start)", n - pins0);
	ok = system("rmmod pvx_ksm") == 0 && host_pins_become(pins0);
	n = host_pins();
	pvx_check(ok, "rmmod: rmmod pvx_ksm releases them (%lld above the start)", n - pins0);
	n = vm_pin_kb();
	pvx_check(n == vp0 && vp1 > vp0,
		  "rmmod: and gives back what they were charged to the VMM (VmPin %lld -> %lld -> %lld kB)",
		  vp0, vp1, n);
	ok = ksm_call(&k, BATCH_GPA, 0, 0, 0, &r);
	pvx_check(ok && r.rax == TVM_NEG64(PVX_ENOSYS),
		  "rmmod: the same VM then gets -ENOSYS (rax 0x%llx)", X(r.rax));
	pvx_check(!module_load(ko, ""), "rmmod: insmod pvx_ksm again");
	k_destroy(&k);
	return pvx_nfail ? KSFT_FAIL : KSFT_PASS;
}

/* ---- the fixtures: pvx_ksm's states; the tests ---------------------- */

/* race's and churn's rounds, rmmod's KO */
static const char *stage_arg;

static const char *ksm_absent(void)
{
	return pvx_need_absent("pvx_ksm");
}

static const char *ksm_ready(void)
{
	return pvx_need_loaded("pvx_ksm");
}

static const char *ksm_loadable(void)
{
	return pvx_need_loadable("pvx_ksm");
}

/* rmmod's module to load again: the one given, else $PVX_BUILD's */
static char ksm_ko[512];

static const char *ksm_ready_ko(void)
{
	if (stage_arg)
		snprintf(ksm_ko, sizeof(ksm_ko), "%s", stage_arg);
	else if (!pvx_module_file("pvx_ksm", ksm_ko, sizeof(ksm_ko)))
		return "no pvx_ksm.ko argument nor PVX_BUILD to load it again";
	return ksm_ready();
}

/* the number of rounds given, else @dflt (run-l2.sh's) */
static int rounds(int dflt)
{
	return stage_arg ? atoi(stage_arg) : dflt;
}

PVX_FIXTURE(absent, ksm_absent);

PVX_TEST(absent, enosys_nothing_pinned)
{
	cmd_absent();
}

PVX_FIXTURE(insmod, ksm_loadable);

PVX_TEST(insmod, load)
{
	pvx_insmod_test("pvx_ksm");
}

PVX_FIXTURE(abi, ksm_ready);

PVX_TEST(abi, bad_input_and_pins)
{
	cmd_abi();
}

PVX_FIXTURE(merge, ksm_ready);

PVX_TEST(merge, hinted_pages_merge)
{
	cmd_merge();
}

PVX_FIXTURE(policy, ksm_ready);

PVX_TEST(policy, merge_on_candidates)
{
	cmd_policy();
}

PVX_FIXTURE(walk, ksm_ready);

PVX_TEST(walk, debugfs_holds_hints_briefly)
{
	cmd_walk();
}

PVX_FIXTURE(account, ksm_ready);

PVX_TEST(account, pins_charged_and_capped)
{
	cmd_account();
}

PVX_FIXTURE(race, ksm_ready);

PVX_TEST(race, unmap_while_pinned)
{
	cmd_race(rounds(300));
}

PVX_FIXTURE(churn, ksm_ready);

PVX_TEST(churn, map_unmap_while_pinning)
{
	cmd_churn(rounds(2000));
}

PVX_FIXTURE(rmmod, ksm_ready_ko);

PVX_TEST(rmmod, pins_released)
{
	cmd_rmmod(ksm_ko);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc <= 3) {
		stage_arg = argc == 3 ? argv[2] : NULL;
		pvx_harness_run(argv[0], argc > 1 ? argv[1] : NULL);
	}
	fprintf(stderr, "usage: %s [absent|insmod|abi|merge|policy|walk|account|race N|churn N|\n"
		"       rmmod MODULE.ko]\n", argv[0]);
	return 2;
}
