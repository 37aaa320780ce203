// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_fork_copy_test: PVX_HC_FORK_COPY (pvx_fork_copy.ko) seen from tiny
 * VMs, run on the KVM host (L2 in the lab). Each stage (fixture) loads
 * pvx_host and pvx_fork_copy from $PVX_BUILD, or unloads pvx_fork_copy,
 * as it needs (harness.h).
 *
 *   pvx_fork_copy_test absent
 *	pvx_fork_copy not loaded (pvx_host loaded or not): PROBE has no
 *	PVX_F_FORK_COPY, a valid batch answers -ENOSYS, RBX is unchanged and
 *	no guest byte changes; no /sys/kernel/debug/pvx/fork_copy.
 *   pvx_fork_copy_test insmod
 *	pvx_fork_copy.ko loads (pvx_host loaded, pvx_fork_copy not).
 *   pvx_fork_copy_test abi
 *	every bad-input class (reserved bits, unaligned, outside the
 *	memslots, read-only destination, source = destination, overlapping
 *	and duplicate pairs, oversize count), each with the bad pair last so
 *	that "nothing copied" means the check ran before any copy; CPL3;
 *	real mode; full and empty batches with random contents; partial
 *	batches (the VMM's mapping of a source or destination revoked with
 *	mprotect) report how far they got; KVM_GET_DIRTY_LOG shows exactly
 *	the destinations; host policy; per-VM and host counters; tracepoint.
 *   pvx_fork_copy_test ring
 *	a guest that dirties 1, 8 or 64 pages of its own before each full
 *	batch, in a loop, with the dirty bitmap and with both dirty-ring
 *	flavours at 256 and 4096 entries, collected only when KVM asks:
 *	one ring entry per page copied (none overwritten), after a full
 *	collection every page the next call writes is collected again, and
 *	the host stops at the soft limit with -EAGAIN and RBX = the pairs
 *	copied.
 *   pvx_fork_copy_test rmmod
 *	remove pvx_fork_copy while a VM that used it is idle: its file goes,
 *	the same VM then gets -ENOSYS and PROBE without the bit.
 *   pvx_fork_copy_test rmmod-loop
 *	remove pvx_fork_copy while a vCPU copies full batches in a loop:
 *	every answer is a full copy until it is -ENOSYS, never anything
 *	else, and the destinations hold their sources' bytes.
 *
 * Output is KTAP from kselftest_harness.h, one result per test, each
 * check a "# ok" or "# not ok" line of it (harness.h); exit status 0
 * pass, 1 fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "pvx.h"
#include "tinyvm.h"

#include "harness.h"

#define DEBUGFS_PVX	"/sys/kernel/debug/pvx"
#define FC_TOTALS	DEBUGFS_PVX "/fork_copy"
#define PARAM_FEATURES	"/sys/module/pvx_host/parameters/features"
#define PAGE		4096ull

/*
 * Guest-physical layout on top of tinyvm's (tinyvm.h): batches in slot 0
 * below the test pages; test pages in slot 0 from 2 MiB up to its end
 * (4 MiB); extra slots far above it.
 */
#define BATCH_GPA	0x30000ull
#define POOL_GPA	0x200000ull		/* slot 0: 512 test pages */
#define POOL_PAGES	512u
#define RO_SLOT		1
#define RO_GPA		0x1000000ull		/* KVM_MEM_READONLY */
#define RO_PAGES	16u
#define LOG_SLOT	2
#define LOG_GPA		0x2000000ull		/* KVM_MEM_LOG_DIRTY_PAGES */
#define LOG_PAGES	256u
#define HOLE_GPA	0x400000ull		/* just past slot 0 */
#define FAR_GPA		0x40000000ull		/* no slot anywhere near */

#define X(v) ((unsigned long long)(v))

/* ---- counters ------------------------------------------------------ */

enum {
	C_CALLS, C_DONE, C_PAGES, C_BYTES, C_RESERVED, C_UNALIGNED, C_NO_SLOT,
	C_TOO_BIG, C_SAME_PAGE, C_READ_ONLY, C_OVERLAP, C_FAULT, C_NR
};

static const char *const c_names[C_NR] = {
	"calls", "done", "pages", "bytes", "reserved", "unaligned", "no_slot",
	"too_big", "same_page", "read_only", "overlap", "fault",
};

struct counts {
	long long v[C_NR];
};

/* "name value" lines of @path into @c; false when a name is missing. */
static bool read_counts(const char *path, struct counts *c)
{
	return tvm_read_counters(path, c_names, C_NR, c->v);
}

static void counts_str(const struct counts *c, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < C_NR && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s %lld", i ? " " : "",
				c_names[i], c->v[i]);
}

/* ---- the test VM --------------------------------------------------- */

struct fc_vm {
	struct tvm vm;
	uint8_t *ro, *log;	/* host views of the extra slots */
	struct counts seen;	/* what the handler should have counted */
};

static uint8_t *add_slot(struct tvm *vm, int slot, uint64_t gpa, unsigned int pages,
			 uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = pages * PAGE,
	};
	uint8_t *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		tvm_diag("mmap slot %d: %s", slot, strerror(errno));
		return NULL;
	}
	r.userspace_addr = (uintptr_t)p;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		tvm_diag("KVM_SET_USER_MEMORY_REGION slot %d flags 0x%x: %s", slot, flags,
			 strerror(errno));
		munmap(p, pages * PAGE);
		return NULL;
	}
	return p;
}

static void fc_vm_destroy(struct fc_vm *f)
{
	tvm_destroy(&f->vm);
	if (f->ro)
		munmap(f->ro, RO_PAGES * PAGE);
	if (f->log)
		munmap(f->log, LOG_PAGES * PAGE);
	f->ro = NULL;
	f->log = NULL;
}

/* A one-vCPU VM of @mode with the extra slots (not for real mode). */
static int fc_vm_create(struct fc_vm *f, enum tvm_mode mode)
{
	memset(f, 0, sizeof(*f));
	if (tvm_create(&f->vm, mode, mode == TVM_REAL ? TVM_PROG(tvm_g16_hcall) :
						       TVM_PROG(tvm_g64_hcall)))
		return -1;
	if (tvm_add_vcpu(&f->vm))
		goto fail;
	f->ro = add_slot(&f->vm, RO_SLOT, RO_GPA, RO_PAGES, KVM_MEM_READONLY);
	f->log = add_slot(&f->vm, LOG_SLOT, LOG_GPA, LOG_PAGES, KVM_MEM_LOG_DIRTY_PAGES);
	if (!f->ro || !f->log)
		goto fail;
	return 0;
fail:
	fc_vm_destroy(f);
	return -1;
}

/*
 * The bytes of every test page: live (pointers into the VM's memory) or a
 * copy taken before a call.
 */
struct mem {
	uint8_t *pool, *ro, *log;
};

static struct mem live(struct fc_vm *f)
{
	return (struct mem){ f->vm.mem + POOL_GPA, f->ro, f->log };
}

/* Page @gpa of @m, or NULL outside the test's pages. */
static uint8_t *page_of(const struct mem *m, uint64_t gpa)
{
	if (gpa >= POOL_GPA && gpa < POOL_GPA + POOL_PAGES * PAGE)
		return m->pool + (gpa - POOL_GPA);
	if (gpa >= RO_GPA && gpa < RO_GPA + RO_PAGES * PAGE)
		return m->ro + (gpa - RO_GPA);
	if (gpa >= LOG_GPA && gpa < LOG_GPA + LOG_PAGES * PAGE)
		return m->log + (gpa - LOG_GPA);
	return NULL;
}

static bool mem_copy(struct mem *dst, const struct mem *src)
{
	dst->pool = malloc(POOL_PAGES * PAGE);
	dst->ro = malloc(RO_PAGES * PAGE);
	dst->log = malloc(LOG_PAGES * PAGE);
	if (!dst->pool || !dst->ro || !dst->log)
		return false;
	memcpy(dst->pool, src->pool, POOL_PAGES * PAGE);
	memcpy(dst->ro, src->ro, RO_PAGES * PAGE);
	memcpy(dst->log, src->log, LOG_PAGES * PAGE);
	return true;
}

static void mem_free(struct mem *m)
{
	free(m->pool);
	free(m->ro);
	free(m->log);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64: patterns reproducible from the seed printed at start */
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill_random(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t v = rng();

		memcpy(p + i, &v, 8);
	}
}

/* Random bytes in every test page (the read-only slot through its mapping). */
static void fill_all(struct fc_vm *f)
{
	fill_random(f->vm.mem + POOL_GPA, POOL_PAGES * PAGE);
	fill_random(f->ro, RO_PAGES * PAGE);
	fill_random(f->log, LOG_PAGES * PAGE);
}

/*
 * Every test page of @f is as in @before with the first @n pairs of @p
 * copied (sources as they were before: no destination is a source), and
 * nothing else changed.
 */
static bool mem_as_expected(struct fc_vm *f, const struct mem *before,
			    const struct pvx_copy_pair *p, unsigned int n)
{
	struct mem want = { 0 }, now = live(f);
	unsigned int i;
	bool ok = mem_copy(&want, before);

	for (i = 0; ok && i < n; i++) {
		uint8_t *d = page_of(&want, p[i].dst_gpa);
		const uint8_t *src = page_of(before, p[i].src_gpa);

		if (!d || !src) {
			tvm_diag("pair %u (0x%llx -> 0x%llx) outside the test pages", i,
				 X(p[i].src_gpa), X(p[i].dst_gpa));
			ok = false;
			break;
		}
		memcpy(d, src, PAGE);
	}
	for (i = 0; ok && i < POOL_PAGES + RO_PAGES + LOG_PAGES; i++) {
		uint64_t gpa = i < POOL_PAGES ? POOL_GPA + i * PAGE :
			       i < POOL_PAGES + RO_PAGES ? RO_GPA + (i - POOL_PAGES) * PAGE :
			       LOG_GPA + (i - POOL_PAGES - RO_PAGES) * PAGE;

		if (memcmp(page_of(&want, gpa), page_of(&now, gpa), PAGE)) {
			tvm_diag("page 0x%llx is not as expected", X(gpa));
			ok = false;
		}
	}
	mem_free(&want);
	return ok;
}

/* Pool page @i (slot 0). */
static uint64_t pool(unsigned int i)
{
	return POOL_GPA + i * PAGE;
}

/* Write a batch at @gpa of @vm: header, then @n pairs, then garbage. */
static void put_vm_batch(struct tvm *vm, uint64_t gpa, uint32_t flags, uint32_t count,
			 uint64_t reserved, const struct pvx_copy_pair *p, unsigned int n)
{
	struct pvx_batch_hdr h = { .flags = flags, .count = count, .reserved = reserved };
	uint8_t *b = vm->mem + gpa;

	memset(b, 0xa5, PAGE);	/* bytes past the pairs must not matter */
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), p, n * sizeof(*p));
}

static void put_batch(struct fc_vm *f, uint64_t gpa, uint32_t flags, uint32_t count,
		      uint64_t reserved, const struct pvx_copy_pair *p, unsigned int n)
{
	put_vm_batch(&f->vm, gpa, flags, count, reserved, p, n);
}

/* Tally what the handler should count for an answer of class @c. */
static void expect(struct fc_vm *f, int c, unsigned int pages)
{
	f->seen.v[C_CALLS]++;
	f->seen.v[c]++;
	f->seen.v[C_PAGES] += pages;
	f->seen.v[C_BYTES] += pages * PAGE;
}

/* One FORK_COPY from vCPU 0; false (with a diagnostic) when the VM failed. */
static bool fc_call(struct fc_vm *f, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		    struct kvm_regs *r)
{
	return !tvm_hcall(&f->vm.vcpu[0], PVX_HC_FORK_COPY, a0, a1, a2, a3, r);
}

static uint64_t neg(const struct fc_vm *f, int e)
{
	return f->vm.mode == TVM_REAL ? TVM_NEG32(e) : TVM_NEG64(e);
}

static uint64_t probe_features(struct fc_vm *f)
{
	struct kvm_regs r;

	if (tvm_hcall(&f->vm.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) || r.rax ||
	    (uint32_t)r.rbx != PVX_MAGIC)
		return 0;
	return r.rdx;
}

/* n pairs pool(first + i) -> pool(dst_first + i). */
static void pool_pairs(struct pvx_copy_pair *p, unsigned int n, unsigned int first,
		       unsigned int dst_first)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = (struct pvx_copy_pair){ pool(first + i), pool(dst_first + i) };
}

/* What a call should answer, and how many pairs it should have copied. */
struct answer {
	uint64_t rax, rbx;
	unsigned int copied;
};

/* Served by pvx_fork_copy: RBX = pairs copied. */
static struct answer ans(uint64_t rax, unsigned int n)
{
	return (struct answer){ rax, n, n };
}

/* Not served (no handler, CPL3, policy): RBX keeps a0, nothing copied. */
static struct answer ans_none(uint64_t rax)
{
	return (struct answer){ rax, BATCH_GPA, 0 };
}

/*
 * Issue the batch @p[0..n) (header fields as given) with arguments a0..a3
 * and check the answer against @want, and that memory is as if the first
 * want.copied pairs were copied and nothing else.
 */
static bool run_batch(struct fc_vm *f, const char *what, uint64_t a0, uint64_t a1,
		      uint64_t a2, uint64_t a3, uint32_t flags, uint32_t count,
		      uint64_t reserved, const struct pvx_copy_pair *p, unsigned int n,
		      struct answer want)
{
	struct mem before = { 0 }, now = live(f);
	struct kvm_regs r = { 0 };
	bool ok;

	fill_all(f);
	put_batch(f, BATCH_GPA, flags, count, reserved, p, n);
	ok = mem_copy(&before, &now) && fc_call(f, a0, a1, a2, a3, &r);
	ok = ok && r.rax == want.rax && r.rbx == want.rbx;
	if (!ok)
		tvm_diag("%s: rax 0x%llx (want 0x%llx) rbx 0x%llx (want 0x%llx)", what,
			 X(r.rax), X(want.rax), X(r.rbx), X(want.rbx));
	ok = mem_as_expected(f, &before, p, want.copied) && ok;
	mem_free(&before);
	return ok;
}

/* ---- bad input ------------------------------------------------------ */

/* Sentinels for bad_case.last: "pair 0's destination" and "source". */
#define DST_OF_0	1ull
#define SRC_OF_0	3ull
#define GOOD_PAIRS	8u

struct bad_case {
	const char *desc;
	int cls;
	int err;			/* PVX_E* */
	uint64_t a0, a1, a2, a3;	/* a0 0: BATCH_GPA */
	uint32_t flags, count;		/* count 0: the pairs written */
	uint64_t reserved;
	struct pvx_copy_pair last;	/* appended to GOOD_PAIRS valid pairs */
};

static const struct bad_case bad_cases[] = {
	{ "a1 = 1", C_RESERVED, PVX_EINVAL, .a1 = 1 },
	{ "a2 = 1 << 31", C_RESERVED, PVX_EINVAL, .a2 = 1ull << 31 },
	{ "a3 = 1", C_RESERVED, PVX_EINVAL, .a3 = 1 },
	{ "header flags 0x1", C_RESERVED, PVX_EINVAL, .flags = 1 },
	{ "header flags 0x80000000", C_RESERVED, PVX_EINVAL, .flags = 0x80000000u },
	{ "header reserved 1 << 40", C_RESERVED, PVX_EINVAL, .reserved = 1ull << 40 },
	{ "batch GPA + 8", C_UNALIGNED, PVX_EINVAL, .a0 = BATCH_GPA + 8 },
	{ "batch GPA + 0x800", C_UNALIGNED, PVX_EINVAL, .a0 = BATCH_GPA + 0x800 },
	{ "batch outside the memslots (1 GiB)", C_NO_SLOT, PVX_EFAULT, .a0 = FAR_GPA },
	{ "batch just past slot 0", C_NO_SLOT, PVX_EFAULT, .a0 = HOLE_GPA },
	{ "batch at ~0 & ~0xfff", C_NO_SLOT, PVX_EFAULT, .a0 = ~0xfffull },
	{ "count 256", C_TOO_BIG, PVX_E2BIG, .count = 256 },
	{ "count 0xffffffff", C_TOO_BIG, PVX_E2BIG, .count = 0xffffffffu },
	{ "source + 0x800", C_UNALIGNED, PVX_EINVAL,
	  .last = { POOL_GPA + 20 * PAGE + 0x800, POOL_GPA + 120 * PAGE } },
	{ "destination + 1", C_UNALIGNED, PVX_EINVAL,
	  .last = { POOL_GPA + 20 * PAGE, POOL_GPA + 120 * PAGE + 1 } },
	{ "source outside the memslots", C_NO_SLOT, PVX_EFAULT,
	  .last = { FAR_GPA, POOL_GPA + 120 * PAGE } },
	{ "destination just past slot 0", C_NO_SLOT, PVX_EFAULT,
	  .last = { POOL_GPA + 20 * PAGE, HOLE_GPA } },
	{ "destination ~0 & ~0xfff", C_NO_SLOT, PVX_EFAULT,
	  .last = { POOL_GPA + 20 * PAGE, ~0xfffull } },
	{ "source = destination", C_SAME_PAGE, PVX_EINVAL,
	  .last = { POOL_GPA + 20 * PAGE, POOL_GPA + 20 * PAGE } },
	{ "destination in a KVM_MEM_READONLY slot", C_READ_ONLY, PVX_EFAULT,
	  .last = { POOL_GPA + 20 * PAGE, RO_GPA + PAGE } },
	{ "duplicate destination (pair 0's)", C_OVERLAP, PVX_EINVAL,
	  .last = { POOL_GPA + 20 * PAGE, DST_OF_0 } },
	{ "destination = pair 0's source", C_OVERLAP, PVX_EINVAL,
	  .last = { POOL_GPA + 20 * PAGE, SRC_OF_0 } },
	{ "source = pair 0's destination (a chain)", C_OVERLAP, PVX_EINVAL,
	  .last = { DST_OF_0, POOL_GPA + 120 * PAGE } },
};

static uint64_t resolve(uint64_t gpa, const struct pvx_copy_pair *p0)
{
	if (gpa == DST_OF_0)
		return p0->dst_gpa;
	if (gpa == SRC_OF_0)
		return p0->src_gpa;
	return gpa;
}

static void abi_bad(struct fc_vm *f, const char *mode)
{
	struct pvx_copy_pair p[GOOD_PAIRS + 1];
	const struct bad_case *c;
	unsigned int n;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		c = &bad_cases[i];
		pool_pairs(p, GOOD_PAIRS, 0, 100);
		n = GOOD_PAIRS;
		if (c->last.src_gpa || c->last.dst_gpa) {
			p[n].src_gpa = resolve(c->last.src_gpa, &p[0]);
			p[n].dst_gpa = resolve(c->last.dst_gpa, &p[0]);
			n++;
		}
		pvx_check(run_batch(f, c->desc, c->a0 ? c->a0 : BATCH_GPA, c->a1, c->a2,
				    c->a3, c->flags, c->count ? c->count : n, c->reserved, p,
				    n, ans(neg(f, c->err), 0)),
			  "abi %s: %s (the bad pair last) -> -%d, RBX 0, nothing copied",
			  mode, c->desc, c->err);
		expect(f, c->cls, 0);
	}
}

/* A full batch whose last pair is bad: all 254 others are checked first. */
static void abi_bad_full(struct fc_vm *f)
{
	struct pvx_copy_pair p[PVX_COPY_MAX_PAIRS];

	pool_pairs(p, PVX_COPY_MAX_PAIRS, 0, 256);
	p[PVX_COPY_MAX_PAIRS - 1].dst_gpa = p[PVX_COPY_MAX_PAIRS - 1].src_gpa;
	pvx_check(run_batch(f, "full batch", BATCH_GPA, 0, 0, 0, 0, PVX_COPY_MAX_PAIRS, 0, p,
			    PVX_COPY_MAX_PAIRS, ans(neg(f, PVX_EINVAL), 0)),
		  "abi: %u pairs, pair %u source = destination -> -EINVAL, nothing copied",
		  PVX_COPY_MAX_PAIRS, PVX_COPY_MAX_PAIRS - 1);
	expect(f, C_SAME_PAGE, 0);
}

/* ---- good batches --------------------------------------------------- */

/* Shuffle @v[0..n) (Fisher-Yates with rng()). */
static void shuffle(unsigned int *v, unsigned int n)
{
	unsigned int i, j, t;

	for (i = n - 1; i > 0; i--) {
		j = rng() % (i + 1);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

static void abi_good(struct fc_vm *f, const char *mode)
{
	struct pvx_copy_pair p[PVX_COPY_MAX_PAIRS];
	unsigned int idx[POOL_PAGES], i;

	pvx_check(run_batch(f, "empty", BATCH_GPA, 0, 0, 0, 0, 0, 0, p, 0, ans(0, 0)),
		  "abi %s: count 0 -> 0, RBX 0, nothing changes", mode);
	expect(f, C_DONE, 0);

	pool_pairs(p, GOOD_PAIRS, 0, 100);
	pvx_check(run_batch(f, "8 pairs", BATCH_GPA, 0, 0, 0, 0, GOOD_PAIRS, 0, p,
			    GOOD_PAIRS, ans(GOOD_PAIRS, GOOD_PAIRS)),
		  "abi %s: 8 pairs of random pages -> 8, RBX 8, exactly the destinations hold their sources' bytes",
		  mode);
	expect(f, C_DONE, GOOD_PAIRS);

	/* 255 distinct random pages to 255 others, in random order. */
	for (i = 0; i < POOL_PAGES; i++)
		idx[i] = i;
	shuffle(idx, POOL_PAGES);
	for (i = 0; i < PVX_COPY_MAX_PAIRS; i++)
		p[i] = (struct pvx_copy_pair){ pool(idx[i]), pool(idx[i + 256]) };
	pvx_check(run_batch(f, "255 pairs", BATCH_GPA, 0, 0, 0, 0, PVX_COPY_MAX_PAIRS, 0, p,
			    PVX_COPY_MAX_PAIRS, ans(PVX_COPY_MAX_PAIRS, PVX_COPY_MAX_PAIRS)),
		  "abi %s: %u pairs (the most) scattered over 2 MiB -> %u, contents exact",
		  mode, PVX_COPY_MAX_PAIRS, PVX_COPY_MAX_PAIRS);
	expect(f, C_DONE, PVX_COPY_MAX_PAIRS);

	/* Sources may be read-only and may repeat. */
	p[0] = (struct pvx_copy_pair){ RO_GPA, pool(10) };
	p[1] = (struct pvx_copy_pair){ RO_GPA + 5 * PAGE, pool(11) };
	p[2] = (struct pvx_copy_pair){ pool(1), pool(12) };
	p[3] = (struct pvx_copy_pair){ pool(1), LOG_GPA + 3 * PAGE };
	pvx_check(run_batch(f, "read-only and repeated sources", BATCH_GPA, 0, 0, 0, 0, 4, 0,
			    p, 4, ans(4, 4)),
		  "abi %s: sources in the read-only slot, one source twice -> 4", mode);
	expect(f, C_DONE, 4);
}

/* ---- partial batches ------------------------------------------------ */

/*
 * Pair @bad's source (or destination) page loses its VMM mapping's read
 * (write) permission: the checks pass (the memslot is there), the copy
 * fails at that pair, and the answer says how many went before it.
 */
static void abi_partial(struct fc_vm *f, unsigned int bad, bool dst)
{
	struct mem before = { 0 }, now = live(f);
	struct pvx_copy_pair p[GOOD_PAIRS];
	struct kvm_regs r = { 0 };
	uint8_t *page;
	bool ok;

	pool_pairs(p, GOOD_PAIRS, 300, 400);
	page = page_of(&now, dst ? p[bad].dst_gpa : p[bad].src_gpa);
	fill_all(f);
	put_batch(f, BATCH_GPA, 0, GOOD_PAIRS, 0, p, GOOD_PAIRS);
	ok = mem_copy(&before, &now);
	if (ok && mprotect(page, PAGE, dst ? PROT_READ : PROT_NONE)) {
		tvm_diag("mprotect: %s", strerror(errno));
		ok = false;
	}
	ok = ok && fc_call(f, BATCH_GPA, 0, 0, 0, &r);
	mprotect(page, PAGE, PROT_READ | PROT_WRITE);
	ok = ok && r.rax == neg(f, PVX_EFAULT) && r.rbx == bad;
	if (!ok)
		tvm_diag("partial: rax 0x%llx rbx 0x%llx", X(r.rax), X(r.rbx));
	ok = mem_as_expected(f, &before, p, bad) && ok;
	mem_free(&before);
	pvx_check(ok,
		  "abi: %s of pair %u unreachable through the VMM's mapping -> -EFAULT, RBX %u, exactly pairs 0..%u copied",
		  dst ? "destination" : "source", bad, bad, bad - 1);
	expect(f, C_FAULT, bad);
}

/* ---- dirty log ------------------------------------------------------ */

static int dirty_log(struct fc_vm *f, uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = LOG_SLOT, .dirty_bitmap = bitmap };

	memset(bitmap, 0, LOG_PAGES / 8);
	if (ioctl(f->vm.fd, KVM_GET_DIRTY_LOG, &log) < 0) {
		tvm_diag("KVM_GET_DIRTY_LOG: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void abi_dirty_log(struct fc_vm *f)
{
	uint64_t got[LOG_PAGES / 64], want[LOG_PAGES / 64] = { 0 };
	struct pvx_copy_pair p[64];
	unsigned int idx[LOG_PAGES], i, n = 64, extra = 0;
	bool ok;

	/* 64 random log-slot destinations; sources in slot 0 and the log slot. */
	for (i = 0; i < LOG_PAGES; i++)
		idx[i] = i;
	shuffle(idx, LOG_PAGES);
	for (i = 0; i < n; i++) {
		uint64_t src = i % 2 ? pool(i) : LOG_GPA + idx[n + i] * PAGE;

		p[i] = (struct pvx_copy_pair){ src, LOG_GPA + idx[i] * PAGE };
		want[idx[i] / 64] |= 1ull << (idx[i] % 64);
	}
	ok = !dirty_log(f, got);	/* clears what the set-up dirtied */
	ok = ok && run_batch(f, "dirty log", BATCH_GPA, 0, 0, 0, 0, n, 0, p, n, ans(n, n));
	expect(f, C_DONE, n);
	ok = ok && !dirty_log(f, got);
	for (i = 0; ok && i < LOG_PAGES; i++)
		if (!!(got[i / 64] & (1ull << (i % 64))) != !!(want[i / 64] & (1ull << (i % 64)))) {
			tvm_diag("dirty log: page %u is %s", i,
				 got[i / 64] & (1ull << (i % 64)) ? "dirty, not a destination" :
				 "a destination, not dirty");
			extra++;
		}
	pvx_check(ok && !extra,
		  "abi: KVM_GET_DIRTY_LOG after 64 copies into a logged slot shows exactly the 64 destinations (no source)");

	/* A batch that fails its checks dirties nothing. */
	p[n - 1].dst_gpa = p[n - 1].src_gpa;
	ok = run_batch(f, "dirty log, bad", BATCH_GPA, 0, 0, 0, 0, n, 0, p, n,
		       ans(neg(f, PVX_EINVAL), 0));
	expect(f, C_SAME_PAGE, 0);
	ok = ok && !dirty_log(f, got);
	for (i = 0; ok && i < LOG_PAGES / 64; i++)
		ok = !got[i];
	pvx_check(ok, "abi: a batch that fails its checks leaves the dirty log empty");
}

/* ---- counters, tracepoint, policy ----------------------------------- */

static void check_counts(struct fc_vm *f, const char *what, const struct counts *tot0)
{
	struct counts vmc = { 0 }, tot;
	char dir[256], path[320], a[400], b[400];
	bool ok;
	int i;

	ok = !tvm_newest_vm_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/fork_copy", dir);
	ok = ok && read_counts(path, &vmc) && !memcmp(&vmc, &f->seen, sizeof(vmc));
	counts_str(&f->seen, a, sizeof(a));
	counts_str(&vmc, b, sizeof(b));
	if (!ok)
		tvm_diag("%s: expected %s; %s: %s", what, a, path, b);
	pvx_check(ok, "%s: per-VM counters are what the calls did (%s)", what, b);

	ok = read_counts(FC_TOTALS, &tot);
	for (i = 0; i < C_NR; i++)
		tot.v[i] -= tot0->v[i];
	counts_str(&tot, b, sizeof(b));
	ok = ok && !memcmp(&tot, &f->seen, sizeof(tot));
	pvx_check(ok, "%s: host totals grew by the same (%s)", what, b);
}

static void abi_tracepoint(struct fc_vm *f)
{
	const char *want[2] = {
		"count=8 copied=8 result=8 (done)",
		"count=9 copied=0 result=-22 (same_page)",
	};
	struct pvx_copy_pair p[GOOD_PAIRS + 1];
	bool found[2] = { false, false };
	char path[128], line[512];
	const char *root = NULL;
	size_t i;
	FILE *t;
	int ret;

	ret = tvm_trace_event_on("fork_copy", &root);
	if (ret == -ENOENT) {
		pvx_skip("no tracefs with events/pvx/fork_copy", "abi: tracepoint pvx:fork_copy");
		return;
	}
	snprintf(path, sizeof(path), "%s/events/pvx/fork_copy/enable", root);
	if (ret) {
		pvx_check(false, "abi: tracepoint: enable %s and tracing", path);
		return;
	}
	pool_pairs(p, GOOD_PAIRS + 1, 0, 100);
	run_batch(f, "trace", BATCH_GPA, 0, 0, 0, 0, GOOD_PAIRS, 0, p, GOOD_PAIRS,
		  ans(GOOD_PAIRS, GOOD_PAIRS));
	expect(f, C_DONE, GOOD_PAIRS);
	p[GOOD_PAIRS].dst_gpa = p[GOOD_PAIRS].src_gpa;
	run_batch(f, "trace", BATCH_GPA, 0, 0, 0, 0, GOOD_PAIRS + 1, 0, p, GOOD_PAIRS + 1,
		  ans(neg(f, PVX_EINVAL), 0));
	expect(f, C_SAME_PAGE, 0);
	tvm_write_file(path, "0");
	snprintf(path, sizeof(path), "%s/trace", root);
	t = fopen(path, "r");
	while (t && fgets(line, sizeof(line), t)) {
		if (!strstr(line, " fork_copy: vm="))
			continue;
		for (i = 0; i < 2; i++)
			found[i] |= !!strstr(line, want[i]);
	}
	if (t)
		fclose(t);
	for (i = 0; i < 2; i++)
		pvx_check(found[i], "abi: tracepoint pvx:fork_copy: \"%s\" in %s", want[i], path);
}

/* pvx_host's features without PVX_F_FORK_COPY: -EOPNOTSUPP, handler not run. */
static void abi_policy(struct fc_vm *f)
{
	struct pvx_copy_pair p[GOOD_PAIRS];
	char all[16], without[16];
	uint64_t feat;
	bool ok;

	snprintf(all, sizeof(all), "0x%x", PVX_F_ALL);
	snprintf(without, sizeof(without), "0x%x", PVX_F_ALL & ~PVX_F_FORK_COPY);
	pool_pairs(p, GOOD_PAIRS, 0, 100);
	if (tvm_write_file(PARAM_FEATURES, without)) {
		pvx_check(false, "abi: policy: write " PARAM_FEATURES);
		return;
	}
	feat = probe_features(f);
	ok = run_batch(f, "policy", BATCH_GPA, 0, 0, 0, 0, GOOD_PAIRS, 0, p, GOOD_PAIRS,
		       ans_none(neg(f, PVX_EOPNOTSUPP)));
	tvm_write_file(PARAM_FEATURES, all);
	pvx_check(ok && !(feat & PVX_F_FORK_COPY),
		  "abi: host features without 0x%x: PROBE without the bit (0x%llx), -EOPNOTSUPP, nothing copied",
		  PVX_F_FORK_COPY, X(feat));
	feat = probe_features(f);
	pvx_check(feat & PVX_F_FORK_COPY, "abi: features restored: PROBE has 0x%x (0x%llx)",
		  PVX_F_FORK_COPY, X(feat));
}

/* ---- commands ------------------------------------------------------- */

static int cmd_abi(void)
{
	struct pvx_copy_pair p[GOOD_PAIRS];
	struct counts tot0;
	struct fc_vm f;
	uint64_t feat;

	if (!pvx_check(module_loaded("pvx_fork_copy"), "abi: pvx_fork_copy loaded") ||
	    !pvx_check(read_counts(FC_TOTALS, &tot0), "abi: " FC_TOTALS " readable") ||
	    !pvx_check(!fc_vm_create(&f, TVM_LONG),
		       "abi: 64-bit VM with a read-only and a dirty-logged slot"))
		return 0;
	feat = probe_features(&f);
	pvx_check(feat & PVX_F_FORK_COPY, "abi: PROBE has PVX_F_FORK_COPY (0x%llx)", X(feat));
	abi_good(&f, "64-bit");
	abi_bad(&f, "64-bit");
	abi_bad_full(&f);
	abi_partial(&f, 5, false);
	abi_partial(&f, 2, true);
	abi_partial(&f, 0, false);
	abi_dirty_log(&f);
	abi_tracepoint(&f);
	abi_policy(&f);
	check_counts(&f, "abi 64-bit", &tot0);
	fc_vm_destroy(&f);

	/* Real mode: 32-bit registers; a0 above 4 GiB is truncated. */
	if (!read_counts(FC_TOTALS, &tot0) || fc_vm_create(&f, TVM_REAL)) {
		pvx_check(false, "abi: real-mode VM");
		return 0;
	}
	pool_pairs(p, GOOD_PAIRS, 0, 100);
	pvx_check(run_batch(&f, "real mode", (1ull << 32) | BATCH_GPA, 0, 0, 0, 0,
			    GOOD_PAIRS, 0, p, GOOD_PAIRS, ans(GOOD_PAIRS, GOOD_PAIRS)),
		  "abi real mode: a0 = 1 << 32 | batch is truncated to the batch -> 8");
	expect(&f, C_DONE, GOOD_PAIRS);
	abi_bad(&f, "real mode");
	check_counts(&f, "abi real mode", &tot0);
	fc_vm_destroy(&f);

	/* CPL3: KVM answers -KVM_EPERM before pvx sees the call. */
	if (!read_counts(FC_TOTALS, &tot0) || fc_vm_create(&f, TVM_USER)) {
		pvx_check(false, "abi: CPL3 VM");
		return 0;
	}
	pvx_check(run_batch(&f, "cpl3", BATCH_GPA, 0, 0, 0, 0, GOOD_PAIRS, 0, p, GOOD_PAIRS,
			    ans_none(TVM_NEG64(PVX_EPERM))),
		  "abi CPL3: -KVM_EPERM, RBX unchanged, nothing copied");
	{
		struct counts tot;

		read_counts(FC_TOTALS, &tot);
		pvx_check(!memcmp(&tot, &tot0, sizeof(tot)),
			  "abi CPL3: the handler did not run (host totals still)");
	}
	fc_vm_destroy(&f);
	return 0;
}

/* pvx_fork_copy not loaded: KVM's or pvx_host's -ENOSYS, nothing copied. */
static int cmd_absent(void)
{
	struct pvx_copy_pair p[GOOD_PAIRS];
	enum tvm_mode modes[2] = { TVM_LONG, TVM_REAL };
	bool host = module_loaded("pvx_host");
	struct kvm_regs r;
	struct fc_vm f;
	int i;

	if (!pvx_check(!module_loaded("pvx_fork_copy"),
		       "absent: pvx_fork_copy not loaded (pvx_host %s)",
		       host ? "loaded" : "not loaded"))
		return 0;
	pool_pairs(p, GOOD_PAIRS, 0, 100);
	for (i = 0; i < 2; i++) {
		const char *m = tvm_mode_name(modes[i]);

		if (fc_vm_create(&f, modes[i])) {
			pvx_check(false, "absent %s: VM set-up", m);
			continue;
		}
		memset(&r, 0xff, sizeof(r));
		tvm_hcall(&f.vm.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r);
		if (host)
			pvx_check(r.rax == 0 && !(r.rdx & PVX_F_FORK_COPY),
				  "absent %s: PROBE without PVX_F_FORK_COPY (0x%llx)", m,
				  X(r.rdx));
		else
			pvx_check(r.rax == neg(&f, PVX_ENOSYS),
				  "absent %s: PROBE -ENOSYS (no pvx)", m);
		pvx_check(run_batch(&f, "absent", BATCH_GPA, 0, 0, 0, 0, GOOD_PAIRS, 0, p,
				    GOOD_PAIRS, ans_none(neg(&f, PVX_ENOSYS))),
			  "absent %s: a valid batch -> -ENOSYS, RBX unchanged, nothing copied", m);
		fc_vm_destroy(&f);
	}
	pvx_check(access(FC_TOTALS, F_OK) != 0, "absent: no " FC_TOTALS);
	return 0;
}

/* Remove pvx_fork_copy while a VM that used it sits idle. */
static int cmd_rmmod(void)
{
	struct pvx_copy_pair p[GOOD_PAIRS];
	char dir[256], path[320];
	struct fc_vm f;
	uint64_t feat;
	int ret, err = 0;

	if (!pvx_check(module_loaded("pvx_fork_copy"), "rmmod: pvx_fork_copy loaded") ||
	    !pvx_check(!fc_vm_create(&f, TVM_LONG), "rmmod: VM set-up"))
		return 0;
	pool_pairs(p, GOOD_PAIRS, 0, 100);
	pvx_check(run_batch(&f, "before rmmod", BATCH_GPA, 0, 0, 0, 0, GOOD_PAIRS, 0, p,
			    GOOD_PAIRS, ans(GOOD_PAIRS, GOOD_PAIRS)), "rmmod: a batch copies first");
	ret = tvm_newest_vm_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/fork_copy", dir);
	pvx_check(!ret && !access(path, F_OK), "rmmod: %s exists", path);
	ret = syscall(SYS_delete_module, "pvx_fork_copy", O_NONBLOCK);
	if (ret)
		err = errno;
	pvx_check(!ret, "rmmod: delete_module(pvx_fork_copy) with the VM idle%s%s",
		  ret ? ": " : "", ret ? strerror(err) : "");
	pvx_check(!module_loaded("pvx_fork_copy") && module_loaded("pvx_host"),
		  "rmmod: pvx_fork_copy gone, pvx_host still loaded");
	pvx_check(access(path, F_OK) != 0 && access(dir, F_OK) == 0,
		  "rmmod: the VM's fork_copy file is gone, its directory stays");
	pvx_check(access(FC_TOTALS, F_OK) != 0, "rmmod: " FC_TOTALS " is gone");
	feat = probe_features(&f);
	pvx_check(feat && !(feat & PVX_F_FORK_COPY),
		  "rmmod: same VM: PROBE without PVX_F_FORK_COPY (0x%llx)", X(feat));
	pvx_check(run_batch(&f, "after rmmod", BATCH_GPA, 0, 0, 0, 0, GOOD_PAIRS, 0, p,
			    GOOD_PAIRS, ans_none(TVM_NEG64(PVX_ENOSYS))),
		  "rmmod: same VM: the batch -> -ENOSYS, nothing copied");
	fc_vm_destroy(&f);
	return 0;
}

struct loop_state {
	struct fc_vm *f;
	struct tvm_answers a;
};

/* Full batches until told to stop; classify each answer. */
static void *loop_fn(void *arg)
{
	struct loop_state *s = arg;
	struct kvm_regs r;

	while (!s->a.stop) {
		if (!fc_call(s->f, BATCH_GPA, 0, 0, 0, &r)) {
			s->a.err = 1;
			break;
		}
		tvm_answers_add(&s->a, r.rax == PVX_COPY_MAX_PAIRS &&
				r.rbx == PVX_COPY_MAX_PAIRS,
				r.rax == TVM_NEG64(PVX_ENOSYS) && r.rbx == BATCH_GPA);
	}
	return NULL;
}

/* Remove pvx_fork_copy while a vCPU copies 255 pages per call in a loop. */
static int cmd_rmmod_loop(void)
{
	struct pvx_copy_pair p[PVX_COPY_MAX_PAIRS];
	struct loop_state s = { 0 };
	struct mem before = { 0 }, now;
	unsigned int idx[POOL_PAGES], i;
	const char *d = "rmmod-loop";
	struct fc_vm f;
	int ret, err = 0;
	pthread_t th;
	bool ok;

	if (!pvx_check(module_loaded("pvx_fork_copy"), "%s: pvx_fork_copy loaded", d) ||
	    !pvx_check(!fc_vm_create(&f, TVM_LONG), "%s: VM set-up", d))
		return 0;
	for (i = 0; i < POOL_PAGES; i++)
		idx[i] = i;
	shuffle(idx, POOL_PAGES);
	for (i = 0; i < PVX_COPY_MAX_PAIRS; i++)
		p[i] = (struct pvx_copy_pair){ pool(idx[i]), pool(idx[i + 256]) };
	fill_all(&f);
	put_batch(&f, BATCH_GPA, 0, PVX_COPY_MAX_PAIRS, 0, p, PVX_COPY_MAX_PAIRS);
	now = live(&f);
	s.f = &f;
	if (!mem_copy(&before, &now) || pthread_create(&th, NULL, loop_fn, &s)) {
		pvx_check(false, "%s: snapshot and loop thread", d);
		fc_vm_destroy(&f);
		return 0;
	}
	ok = tvm_answers_wait(&s.a, &s.a.served, 3);
	pvx_check(ok, "%s: the vCPU copies %u pages per call in a loop (%lu calls so far)", d,
		  PVX_COPY_MAX_PAIRS, s.a.served);
	ret = syscall(SYS_delete_module, "pvx_fork_copy", O_NONBLOCK);
	if (ret)
		err = errno;
	pvx_check(!ret, "%s: delete_module(pvx_fork_copy) while the VM copies%s%s", d,
		  ret ? ": " : "", ret ? strerror(err) : "");
	pvx_check(!module_loaded("pvx_fork_copy") && module_loaded("pvx_host"),
		  "%s: pvx_fork_copy gone, pvx_host still loaded", d);
	if (!ret)
		tvm_answers_wait(&s.a, &s.a.enosys, 3);
	s.a.stop = 1;
	pthread_join(th, NULL);
	tvm_diag("%s: answers: %lu full, %lu x -ENOSYS, %lu other, %lu full after -ENOSYS", d,
		 s.a.served, s.a.enosys, s.a.other, s.a.back);
	pvx_check(!s.a.err, "%s: the vCPU kept running, no KVM_RUN error", d);
	pvx_check(!ret && s.a.enosys >= 3 && !s.a.other && !s.a.back,
		  "%s: answers switched once from full copies to -ENOSYS (%lu then %lu)", d,
		  s.a.served, s.a.enosys);
	ok = mem_as_expected(&f, &before, p, PVX_COPY_MAX_PAIRS);
	pvx_check(ok, "%s: every destination holds its source's bytes, nothing else changed",
		  d);
	mem_free(&before);
	fc_vm_destroy(&f);
	return 0;
}

/* ---- dirty ring and bitmap under full batches ---------------------- */

/*
 * A logged slot of its own, mapped by one 2 MiB guest page: destinations
 * in pages 0..254, the pages the guest dirties itself from OWN_FIRST.
 */
#define RING_SLOT	3
#define RING_GPA	0x2200000ull
#define RING_PAGES	512u
#define OWN_FIRST	256u
#define RING_ITERS	64u
#define PTE_P_RW_PS	0x83ull

struct ring_vm {
	struct tvm vm;
	uint8_t *slot;			/* host view of RING_SLOT */
	struct kvm_dirty_gfn *gfns;	/* the vCPU's ring; NULL: bitmap */
	uint32_t entries, fetch;
	size_t bytes;
};

static void ring_vm_destroy(struct ring_vm *r)
{
	if (r->gfns)
		munmap(r->gfns, r->bytes);
	tvm_destroy(&r->vm);
	if (r->slot)
		munmap(r->slot, RING_PAGES * PAGE);
	memset(r, 0, sizeof(*r));
}

/*
 * A one-vCPU VM running tvm_g64_dirty_loop with RING_SLOT logged through
 * a dirty ring of @bytes enabled with @cap, or the bitmap when @cap is 0.
 */
static int ring_vm_create(struct ring_vm *r, uint32_t cap, size_t bytes)
{
	struct kvm_enable_cap ec = { .cap = cap, .args = { bytes } };
	uint64_t *pd;

	memset(r, 0, sizeof(*r));
	if (tvm_create(&r->vm, TVM_LONG, TVM_PROG(tvm_g64_dirty_loop)))
		return -1;
	if (cap && ioctl(r->vm.fd, KVM_ENABLE_CAP, &ec) < 0) {
		tvm_diag("KVM_ENABLE_CAP %u, %zu bytes: %s", cap, bytes, strerror(errno));
		goto fail;
	}
	if (tvm_add_vcpu(&r->vm))
		goto fail;
	r->slot = add_slot(&r->vm, RING_SLOT, RING_GPA, RING_PAGES, KVM_MEM_LOG_DIRTY_PAGES);
	if (!r->slot)
		goto fail;
	pd = (uint64_t *)(r->vm.mem + 0x3000);	/* tinyvm's PD: identity map */
	pd[RING_GPA >> 21] = RING_GPA | PTE_P_RW_PS;
	if (cap) {
		r->bytes = bytes;
		r->entries = bytes / sizeof(struct kvm_dirty_gfn);
		r->gfns = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, r->vm.vcpu[0].fd,
			       KVM_DIRTY_LOG_PAGE_OFFSET * PAGE);
		if (r->gfns == MAP_FAILED) {
			r->gfns = NULL;
			tvm_diag("mmap of the dirty ring: %s", strerror(errno));
			goto fail;
		}
	}
	return 0;
fail:
	ring_vm_destroy(r);
	return -1;
}

/*
 * Collect the ring as a VMM does: every entry marked dirty, in order,
 * counted per page of RING_SLOT into @seen, then reset. Returns the
 * entries collected; *@foreign counts entries of other slots.
 */
static long ring_collect(struct ring_vm *r, unsigned long *seen, unsigned long *foreign)
{
	long n = 0;

	for (;;) {
		struct kvm_dirty_gfn *e = &r->gfns[r->fetch & (r->entries - 1)];

		if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & KVM_DIRTY_GFN_F_DIRTY))
			break;
		if (e->slot == RING_SLOT && e->offset < RING_PAGES)
			seen[e->offset]++;
		else
			++*foreign;
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
		r->fetch++;
		n++;
	}
	if (n && ioctl(r->vm.fd, KVM_RESET_DIRTY_RINGS, 0) < 0) {
		tvm_diag("KVM_RESET_DIRTY_RINGS: %s", strerror(errno));
		return -1;
	}
	return n;
}

/* Collect the bitmap (KVM_GET_DIRTY_LOG) into @seen the same way. */
static long bitmap_collect(struct ring_vm *r, unsigned long *seen)
{
	uint64_t bits[RING_PAGES / 64] = { 0 };
	struct kvm_dirty_log log = { .slot = RING_SLOT, .dirty_bitmap = bits };
	long n = 0;
	unsigned int i;

	if (ioctl(r->vm.fd, KVM_GET_DIRTY_LOG, &log) < 0) {
		tvm_diag("KVM_GET_DIRTY_LOG: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < RING_PAGES; i++)
		if (bits[i / 64] & (1ull << (i % 64))) {
			seen[i]++;
			n++;
		}
	return n;
}

static long log_collect(struct ring_vm *r, unsigned long *seen, unsigned long *foreign)
{
	return r->gfns ? ring_collect(r, seen, foreign) : bitmap_collect(r, seen);
}

/* What one configuration saw. */
struct ring_run {
	unsigned long calls, full, partial, copied, bad, mismatch, ring_exits, foreign;
	unsigned long dst_entries;	/* ring entries of destination pages */
	unsigned long missed;		/* pages written but not collected */
	long entries;
	unsigned int last_copied;	/* pairs the last call copied */
};

/*
 * Run the guest until its next report (its own writes, then one call),
 * collecting the log whenever KVM stops the vCPU for it
 * (KVM_EXIT_DIRTY_RING_FULL), as a VMM whose collector is slow does.
 * Classify the answer and check the copied destinations.
 */
static bool ring_call(struct ring_vm *r, unsigned long *seen, struct ring_run *out)
{
	struct tvm_vcpu *v = &r->vm.vcpu[0];
	struct kvm_regs regs;
	unsigned int k;
	char buf[128];
	long got;
	int ret;

	for (;;) {
		ret = tvm_run(v);
		if (ret != KVM_EXIT_DIRTY_RING_FULL || !r->gfns)
			break;
		out->ring_exits++;
		got = ring_collect(r, seen, &out->foreign);
		if (got < 0)
			return false;
		out->entries += got;
	}
	if (ret < 0 || !tvm_exit_is_done(v)) {
		tvm_diag("unexpected exit %s (%d)", tvm_exit_str(v, buf, sizeof(buf)), ret);
		return false;
	}
	if (tvm_get_regs(v, &regs))
		return false;
	out->calls++;
	if (regs.rax == PVX_COPY_MAX_PAIRS && regs.rbx == PVX_COPY_MAX_PAIRS)
		out->full++;
	else if (regs.rax == TVM_NEG64(PVX_EAGAIN) && regs.rbx < PVX_COPY_MAX_PAIRS)
		out->partial++;
	else if (out->bad++ < 3)
		tvm_diag("call %lu: rax 0x%llx rbx 0x%llx", out->calls, X(regs.rax), X(regs.rbx));
	for (k = 0; k < regs.rbx && k < PVX_COPY_MAX_PAIRS; k++)
		if (memcmp(r->slot + k * PAGE, r->vm.mem + pool(k), PAGE))
			out->mismatch++;
	out->copied += k;
	out->last_copied = k;
	return true;
}

/*
 * Pages written by the last call (its @own pages, its copied
 * destinations) that the collection after it did not report: with the
 * log collected and reset just before that call, each of them must be
 * reported again. A page whose ring entry KVM overwrote earlier was never
 * reset, so the guest's write to it is not logged again: it shows here.
 */
static unsigned long ring_missed(const struct ring_run *out, const unsigned long *seen,
				 unsigned int own)
{
	unsigned long missed = 0;
	unsigned int k;

	for (k = 0; k < own; k++)
		missed += !seen[OWN_FIRST + k];
	for (k = 0; k < out->last_copied; k++)
		missed += !seen[k];
	return missed;
}

/* Collect everything left, and count the destinations' entries seen. */
static bool ring_settle(struct ring_vm *r, unsigned long *seen, struct ring_run *out)
{
	long got = log_collect(r, seen, &out->foreign);
	unsigned int i;

	if (got < 0)
		return false;
	out->entries += got;
	for (i = 0; i < PVX_COPY_MAX_PAIRS; i++)
		out->dst_entries += seen[i];
	return true;
}

/*
 * The guest dirties @own pages of its own, then sends a full batch, in a
 * loop of RING_ITERS calls; the log is collected when KVM asks (ring) or
 * after each call (bitmap). Then everything is collected, the guest makes
 * one more call, and every page it wrote must be collected after it.
 * With the ring, every destination write is one entry (KVM pushes one per
 * mark_page_dirty_in_slot()), so the destinations' entries must add up
 * to the pages copied: an overwritten entry shows as fewer.
 */
static bool ring_loop(struct ring_vm *r, unsigned int own, struct ring_run *out)
{
	struct tvm_vcpu *v = &r->vm.vcpu[0];
	struct pvx_copy_pair p[PVX_COPY_MAX_PAIRS];
	unsigned long seen[RING_PAGES] = { 0 };
	struct kvm_regs regs;
	unsigned int i;

	for (i = 0; i < PVX_COPY_MAX_PAIRS; i++)
		p[i] = (struct pvx_copy_pair){ pool(i), RING_GPA + i * PAGE };
	fill_random(r->vm.mem + POOL_GPA, PVX_COPY_MAX_PAIRS * PAGE);
	put_vm_batch(&r->vm, BATCH_GPA, 0, PVX_COPY_MAX_PAIRS, 0, p, PVX_COPY_MAX_PAIRS);
	if (tvm_get_regs(v, &regs))
		return false;
	regs.rip = TVM_CODE_GPA;
	regs.r8 = PVX_HC_FORK_COPY;
	regs.r9 = BATCH_GPA;
	regs.r10 = 1;
	regs.r12 = own;
	regs.r13 = RING_GPA + OWN_FIRST * PAGE;
	if (tvm_set_regs(v, &regs))
		return false;
	memset(out, 0, sizeof(*out));
	while (out->calls < RING_ITERS) {
		if (!ring_call(r, seen, out))
			return false;
		if (!r->gfns && bitmap_collect(r, seen) < 0)
			return false;
	}
	if (!ring_settle(r, seen, out))
		return false;
	memset(seen, 0, sizeof(seen));
	if (!ring_call(r, seen, out) || !ring_settle(r, seen, out))
		return false;
	out->missed = ring_missed(out, seen, own);
	return true;
}

struct ring_cfg {
	const char *name;
	uint32_t cap;		/* 0: the dirty bitmap */
	size_t entries;
};

static int cmd_ring(void)
{
	static const struct ring_cfg cfgs[] = {
		{ "bitmap", 0, 0 },
		{ "ring 256", KVM_CAP_DIRTY_LOG_RING, 256 },
		{ "ring 4096", KVM_CAP_DIRTY_LOG_RING, 4096 },
		{ "ring_acq_rel 256", KVM_CAP_DIRTY_LOG_RING_ACQ_REL, 256 },
		{ "ring_acq_rel 4096", KVM_CAP_DIRTY_LOG_RING_ACQ_REL, 4096 },
	};
	static const unsigned int owns[] = { 1, 8, 64 };
	unsigned int c, o;
	struct ring_run run;
	struct ring_vm r;
	char name[64];
	int kvm, max;
	bool ok;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	for (c = 0; c < ARRAY_SIZE(cfgs); c++) {
		const struct ring_cfg *cfg = &cfgs[c];
		size_t bytes = cfg->entries * sizeof(struct kvm_dirty_gfn);

		max = cfg->cap ? ioctl(kvm, KVM_CHECK_EXTENSION, cfg->cap) : 1;
		for (o = 0; o < ARRAY_SIZE(owns); o++) {
			snprintf(name, sizeof(name), "ring: %s, %u own page%s", cfg->name, owns[o],
				 owns[o] > 1 ? "s" : "");
			/* x86 KVM has both flavours up to 64 Ki entries on 6.1+ */
			if (!pvx_check(max > 0 && (!cfg->cap || (size_t)max >= bytes),
				       "%s: KVM offers it (%d)", name, max))
				continue;
			if (!pvx_check(!ring_vm_create(&r, cfg->cap, bytes), "%s: VM set-up", name))
				continue;
			ok = ring_loop(&r, owns[o], &run);
			tvm_diag("%s: %lu calls (%lu full, %lu stopped at the ring), %lu pages copied, %lu ring-full exits, %ld entries (%lu of destinations), %lu foreign",
				 name, run.calls, run.full, run.partial, run.copied,
				 run.ring_exits, run.entries, run.dst_entries, run.foreign);
			pvx_check(ok && !run.bad && run.copied >= RING_ITERS,
				  "%s: every answer a full copy or -EAGAIN with RBX < 255, and copies progress",
				  name);
			pvx_check(ok && !run.mismatch,
				  "%s: each copied destination holds its source", name);
			pvx_check(ok && !run.missed,
				  "%s: after a full collection, every page the next call wrote is collected again (%lu not)",
				  name, run.missed);
			if (cfg->cap)
				pvx_check(ok && run.dst_entries == run.copied && !run.foreign,
					  "%s: one ring entry per page copied, none overwritten (%lu of %lu)",
					  name, run.dst_entries, run.copied);
			if (cfg->cap && cfg->entries == 256)
				pvx_check(ok && run.partial && run.ring_exits,
					  "%s: the host stopped at the soft limit and KVM had the ring collected (%lu, %lu)",
					  name, run.partial, run.ring_exits);
			ring_vm_destroy(&r);
		}
	}
	if (kvm >= 0)
		close(kvm);
	return 0;
}

/* ---- the fixtures: pvx_fork_copy's states; the tests ---------------- */

static const char *fc_absent(void)
{
	return pvx_need_absent("pvx_fork_copy");
}

static const char *fc_loaded(void)
{
	return pvx_need_loaded("pvx_fork_copy");
}

static const char *fc_loadable(void)
{
	return pvx_need_loadable("pvx_fork_copy");
}

PVX_FIXTURE(absent, fc_absent);

PVX_TEST(absent, enosys_nothing_copied)
{
	cmd_absent();
}

PVX_FIXTURE(insmod, fc_loadable);

PVX_TEST(insmod, load)
{
	pvx_insmod_test("pvx_fork_copy");
}

PVX_FIXTURE(abi, fc_loaded);

PVX_TEST(abi, arguments_contents_counters)
{
	cmd_abi();
}

PVX_FIXTURE(ring, fc_loaded);

PVX_TEST(ring, batches)
{
	cmd_ring();
}

PVX_FIXTURE(rmmod, fc_loaded);

PVX_TEST(rmmod, vm_idle)
{
	cmd_rmmod();
}

PVX_FIXTURE(rmmod_loop, fc_loaded);

PVX_TEST(rmmod_loop, vm_copying)
{
	cmd_rmmod_loop();
}

static void print_usage(void)
{
	fprintf(stderr, "usage: %s [absent|insmod|abi|ring|rmmod|rmmod-loop [seed]]\n",
		"pvx_fork_copy_test");
	exit(2);
}

int main(int argc, char **argv)
{
	struct utsname u;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 3)
		print_usage();
	rng_state = argc == 3 ? strtoull(argv[2], NULL, 0) : (uint64_t)getpid() * 2654435761u;
	if (!rng_state)
		rng_state = 1;
	uname(&u);
	tvm_diag("pvx_fork_copy_test %s on %s, %s CPU, seed 0x%llx",
		 argc > 1 ? argv[1] : "(all)", u.release,
		 tvm_cpu_is_amd() ? "AMD" : "Intel", X(rng_state));
	pvx_harness_run(argv[0], argc > 1 ? argv[1] : NULL);
	print_usage();
	return 2;
}
