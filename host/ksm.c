// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_ksm: PVX_HC_KSM_HINT, the host half of KSM hints.
 *
 * The guest knows which of its pages are worth merging (kernel text,
 * read-only library text, zeroed pages) and which must never be merged
 * (keys and other secrets: a merged page is slower to write, which tells
 * an attacker VM that it guessed the content). It tells the host in
 * batches of runs of guest pages, each run either PVX_KSM_MERGEABLE or
 * PVX_KSM_UNMERGEABLE; a batch with PVX_KSM_F_WITHDRAW in its header takes
 * the listed hints back.
 *
 * What stock KSM lets a module do with them (Documentation/ksm.rst):
 *   - never merge: the page behind an UNMERGEABLE run is pinned for write
 *     with FOLL_LONGTERM (pin_user_pages_remote()). The write pin breaks a
 *     merge that exists (copy on write), and KSM never merges a page with
 *     an extra pin (write_protect_page() compares the mapcount with the
 *     refcount). Pins are capped per VM (max_pins) and dropped on
 *     withdraw, when the VMM unmaps the memory (an MMU interval notifier),
 *     when the VM ends and on rmmod;
 *   - candidates: MERGEABLE runs are recorded per VM (capped,
 *     max_candidates) with their host addresses, and debugfs tells the
 *     host administrator how many of them KSM has merged, next to how
 *     many never-merge pages are merged (always 0);
 *   - merging on where the guest asks (merge_on_candidates=1): a VMM
 *     started with merging off (QEMU mem-merge=off) has its guest RAM
 *     made mergeable, one whole VMA at a time (ksm_madvise(), exported;
 *     a module cannot split a VMA), once a candidate arrives in it. KSM
 *     then scans the whole VMA, not only the hinted pages: stock KSM has
 *     no way to scan some pages of a VMA only.
 *
 * Every argument is checked before anything changes, in this order (the
 * first that fails answers; the class is counted):
 *   1. a1..a3 not 0, the batch GPA not 4 KiB aligned, header flags other
 *      than PVX_KSM_F_WITHDRAW, header reserved not 0, count 0: einval
 *   2. the batch page outside the memslots: efault
 *   3. count > PVX_KSM_MAX_HINTS: e2big
 *   4. each run in batch order: gpa not 4 KiB aligned, npages 0, flags
 *      not exactly one of MERGEABLE and UNMERGEABLE: einval; gpa + npages
 *      pages wraps, or the batch's runs add up to more than
 *      PVX_KSM_MAX_BATCH_PAGES: e2big; the run not inside one memslot of
 *      the VMM: efault
 *   5. a hint that would take the VM past max_candidates or max_pins
 *      (pages not yet in the set, counted run by run): enomem
 * Then the runs are applied in batch order (the pins first, then the
 * candidates of the runs the pins got past, which comes to the same). A
 * pin the host cannot take (the VMM's memory is not writable, or gone)
 * stops the call there with -PVX_EFAULT (class pin_failed); RBX = pages
 * applied before it, on every answer of this handler (pages added, or
 * withdrawn, that were not already so). RAX = 0 on success.
 *
 * What pins hold is accounted by folio (a pin of one page of a THP holds
 * all 2 MiB; further pins of the VM in that folio hold nothing more): to
 * the VMM's mm->pinned_vm (VmPin), against the calling thread's
 * RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK (as RDMA and io_uring
 * account long-term pins), and host-wide against max_pinned_mb. A pin
 * past either limit answers -PVX_ENOMEM (class pin_limit) and gives back
 * every pin the call took: RBX = 0, nothing applied.
 *
 * Counters: debugfs vm<id>-<pid>/ksm and pvx/ksm; tracepoint pvx:ksm_hint.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/ksm.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/capability.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "compat.h"
#include "pvx_host.h"

#define CREATE_TRACE_POINTS
#include "ksm_trace.h"

enum pvx_ksm_stat {
	PVX_KSM_STAT_CALLS,		/* calls that reached the handler */
	PVX_KSM_STAT_DONE,		/* calls applied in full */
	PVX_KSM_STAT_CANDIDATES,	/* candidate pages added */
	PVX_KSM_STAT_CAND_WITHDRAWN,	/* candidate pages withdrawn */
	PVX_KSM_STAT_PINNED,		/* never-merge pages pinned */
	PVX_KSM_STAT_UNPINNED,		/* pins the guest withdrew */
	PVX_KSM_STAT_UNMAPPED,		/* pins dropped: the VMM unmapped them */
	PVX_KSM_STAT_EINVAL,
	PVX_KSM_STAT_EFAULT,
	PVX_KSM_STAT_E2BIG,
	PVX_KSM_STAT_ENOMEM,		/* a per-VM cap, or no memory */
	PVX_KSM_STAT_PIN_FAILED,	/* the host could not pin a page */
	PVX_KSM_STAT_MADE_MERGEABLE,	/* VMAs merge_on_candidates turned on */
	PVX_KSM_STAT_PIN_LIMIT,		/* calls past RLIMIT_MEMLOCK or max_pinned_mb */
	PVX_KSM_STAT_NR
};

static const char * const pvx_ksm_stat_names[PVX_KSM_STAT_NR] = {
	[PVX_KSM_STAT_CALLS]		= "calls",
	[PVX_KSM_STAT_DONE]		= "done",
	[PVX_KSM_STAT_CANDIDATES]	= "candidates_added",
	[PVX_KSM_STAT_CAND_WITHDRAWN]	= "candidates_withdrawn",
	[PVX_KSM_STAT_PINNED]		= "pinned",
	[PVX_KSM_STAT_UNPINNED]		= "unpinned",
	[PVX_KSM_STAT_UNMAPPED]		= "unmapped",
	[PVX_KSM_STAT_EINVAL]		= "einval",
	[PVX_KSM_STAT_EFAULT]		= "efault",
	[PVX_KSM_STAT_E2BIG]		= "e2big",
	[PVX_KSM_STAT_ENOMEM]		= "enomem",
	[PVX_KSM_STAT_PIN_FAILED]	= "pin_failed",
	[PVX_KSM_STAT_MADE_MERGEABLE]	= "made_mergeable",
	[PVX_KSM_STAT_PIN_LIMIT]	= "pin_limit",
};

/* ---- parameters ---------------------------------------------------------- */

#define PVX_KSM_MAX_PINS_LIMIT		BIT(18)	/* 1 GiB pinned per VM */
#define PVX_KSM_MAX_CAND_LIMIT		BIT(24)	/* 64 GiB of hints */

static unsigned int max_pins = 4096;
PVX_PARAM_UINT_OPS(pvx_ksm_max_pins_ops, 0, PVX_KSM_MAX_PINS_LIMIT);

module_param_cb(max_pins, &pvx_ksm_max_pins_ops, &max_pins, 0644);
MODULE_PARM_DESC(max_pins, "never-merge pages pinned per VM at most (0..262144, default 4096 = 16 MiB of guest pages; each holds its whole folio, see max_pinned_mb)");

#define PVX_KSM_MAX_PINNED_MB_LIMIT	BIT(20)	/* 1 TiB */

/*
 * What the never-merge pins of all VMs may hold, host-wide, counted at
 * the size of the folios they hold (a pin of one page of a transparent
 * huge page holds 2 MiB), next to each VMM's RLIMIT_MEMLOCK.
 */
static unsigned int max_pinned_mb = 1024;
PVX_PARAM_UINT_OPS(pvx_ksm_max_pinned_ops, 0, PVX_KSM_MAX_PINNED_MB_LIMIT);

module_param_cb(max_pinned_mb, &pvx_ksm_max_pinned_ops, &max_pinned_mb, 0644);
MODULE_PARM_DESC(max_pinned_mb, "MiB the never-merge pins of all VMs may hold, counted at folio size (0..1048576, default 1024)");

static bool merge_on_candidates;
module_param(merge_on_candidates, bool, 0644);
MODULE_PARM_DESC(merge_on_candidates, "make the VMM's memory mergeable (a whole VMA) where its guest sends KSM candidates (default off: QEMU's mem-merge decides)");

static unsigned int max_candidates = 262144;
PVX_PARAM_UINT_OPS(pvx_ksm_max_cand_ops, 0, PVX_KSM_MAX_CAND_LIMIT);

module_param_cb(max_candidates, &pvx_ksm_max_cand_ops, &max_candidates, 0644);
MODULE_PARM_DESC(max_candidates, "candidate pages recorded per VM at most (0..16777216, default 262144 = 1 GiB)");

/* ---- per-VM state -------------------------------------------------------- */

/*
 * A never-merge page: the guest page and the host page pinned for it, the
 * folio that holds it (@pfn: its first page; @nr pages) and the call that
 * took it (@gen: a call that fails on a limit gives back its own pins).
 */
struct pvx_ksm_pin {
	gfn_t gfn;
	struct page *page;
	unsigned long pfn;
	unsigned long nr;
	u64 gen;
};

struct pvx_ksm_vm {
	struct mutex lock;		/* hints of this VM, candidates */
	struct mm_struct *mm;		/* the VMM's (mmgrab) */
	struct xarray cand;		/* gfn -> xa_mk_value(hva >> PAGE_SHIFT) */
	u64 nr_cand;
	/*
	 * hva >> PAGE_SHIFT -> struct pvx_ksm_pin, under the xarray's own
	 * lock (a spinlock), which the MMU notifier takes too.
	 */
	struct xarray pins;
	u64 nr_pins;
	/*
	 * The index of the pin being taken (xa_reserve()d in @pins), or
	 * PVX_KSM_NOT_PINNING; under xa_lock(&pins). Only an unmap that
	 * covers it moves the notifier's sequence (pvx_ksm_invalidate()).
	 */
	unsigned long pinning;
	/*
	 * Folios the pins hold: pfn of the first page -> xa_mk_value(pins of
	 * this VM in it), under its own lock, never taken with the pins'
	 * one. A folio is charged once, at its size, to the VMM's
	 * mm->pinned_vm, to pvx_ksm_held and to @held.
	 */
	struct xarray folios;
	atomic64_t held;		/* pages the pins hold */
	u64 gen;			/* calls that added hints, kv->lock */
	struct mmu_interval_notifier mni;
	bool mni_on;
	atomic64_t stats[PVX_KSM_STAT_NR];
	struct dentry *file;
};

#define PVX_KSM_NOT_PINNING	ULONG_MAX

static atomic64_t pvx_ksm_stats[PVX_KSM_STAT_NR];
static atomic64_t pvx_ksm_held;		/* pages all pins hold, host-wide */
static struct dentry *pvx_ksm_file;	/* /sys/kernel/debug/pvx/ksm */

static void pvx_ksm_count(struct pvx_ksm_vm *kv, enum pvx_ksm_stat s, u64 n)
{
	atomic64_add(n, &pvx_ksm_stats[s]);
	if (kv)
		atomic64_add(n, &kv->stats[s]);
}

/*
 * Pins are released in chunks: at most this many leave the set under one
 * hold of its lock, and their pages are unpinned after it, so that the
 * 262144 pins a VM may hold never keep the lock (which the MMU notifier
 * takes in every unmap of the VMM) or the CPU for long.
 */
#define PVX_KSM_CHUNK	64

/* Take pin @idx (present) out of the set. Caller holds xa_lock(&kv->pins). */
static void pvx_ksm_take_locked(struct pvx_ksm_vm *kv, unsigned long idx)
{
	__xa_erase(&kv->pins, idx);
	kv->nr_pins--;
}

/* What a VM's limits are during one call (pvx_ksm_limits()). */
struct pvx_ksm_limits {
	unsigned long memlock;		/* pages: RLIMIT_MEMLOCK */
	bool unlimited;			/* CAP_IPC_LOCK, or RLIM_INFINITY */
	u64 host;			/* pages: max_pinned_mb */
};

/* Charge @nr pages held to the VMM, the host and the VM, within limits. */
static bool pvx_ksm_charge_pages(struct pvx_ksm_vm *kv, unsigned long nr,
				 const struct pvx_ksm_limits *lim)
{
	if (atomic64_add_return(nr, &pvx_ksm_held) > lim->host) {
		atomic64_sub(nr, &pvx_ksm_held);
		return false;
	}
	if (atomic64_add_return(nr, &kv->mm->pinned_vm) > lim->memlock &&
	    !lim->unlimited) {
		atomic64_sub(nr, &kv->mm->pinned_vm);
		atomic64_sub(nr, &pvx_ksm_held);
		return false;
	}
	atomic64_add(nr, &kv->held);
	return true;
}

static void pvx_ksm_uncharge_pages(struct pvx_ksm_vm *kv, unsigned long nr)
{
	atomic64_sub(nr, &kv->mm->pinned_vm);
	atomic64_sub(nr, &pvx_ksm_held);
	atomic64_sub(nr, &kv->held);
}

/*
 * Account @pin (its page pinned) by the folio that holds it: the first
 * pin of this VM in a folio charges the whole folio, later ones nothing.
 * 0, or -PVX_ENOMEM past a limit (class pin_limit) or without memory.
 */
static int pvx_ksm_charge(struct pvx_ksm_vm *kv, struct pvx_ksm_pin *pin,
			  const struct pvx_ksm_limits *lim)
{
	struct folio *folio = page_folio(pin->page);
	void *entry;
	int ret = 0;

	pin->pfn = folio_pfn(folio);
	pin->nr = folio_nr_pages(folio);
	if (xa_reserve(&kv->folios, pin->pfn, GFP_KERNEL_ACCOUNT))
		return -PVX_ENOMEM;
	xa_lock(&kv->folios);
	entry = xa_load(&kv->folios, pin->pfn);
	if (!entry && !pvx_ksm_charge_pages(kv, pin->nr, lim)) {
		pvx_ksm_count(kv, PVX_KSM_STAT_PIN_LIMIT, 1);
		ret = -PVX_ENOMEM;
	} else if (xa_is_err(__xa_store(&kv->folios, pin->pfn,
				xa_mk_value((entry ? xa_to_value(entry) : 0) + 1),
				GFP_NOWAIT))) {
		/* the slot was reserved or held: only a race gets here */
		if (!entry)
			pvx_ksm_uncharge_pages(kv, pin->nr);
		ret = -PVX_ENOMEM;
	}
	xa_unlock(&kv->folios);
	if (ret)
		xa_release(&kv->folios, pin->pfn);
	return ret;
}

/* Undo pvx_ksm_charge(). Any context: spinlock only. */
static void pvx_ksm_uncharge(struct pvx_ksm_vm *kv, struct pvx_ksm_pin *pin)
{
	unsigned long n;
	void *entry;

	xa_lock(&kv->folios);
	entry = xa_load(&kv->folios, pin->pfn);
	n = entry ? xa_to_value(entry) : 0;
	if (n > 1) {
		/* an entry that is there: no allocation */
		__xa_store(&kv->folios, pin->pfn, xa_mk_value(n - 1), 0);
	} else if (n == 1) {
		__xa_erase(&kv->folios, pin->pfn);
		pvx_ksm_uncharge_pages(kv, pin->nr);
	}
	xa_unlock(&kv->folios);
}

/* Give back pins taken out of the set, outside its lock. */
static void pvx_ksm_release(struct pvx_ksm_vm *kv, struct pvx_ksm_pin **pins,
			    unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		pvx_ksm_uncharge(kv, pins[i]);
		unpin_user_page(pins[i]->page);
		kfree(pins[i]);
	}
}

/*
 * Take up to PVX_KSM_CHUNK pins with index in [*@first, @last] out of the
 * set into @out (*@n of them). Caller holds xa_lock(&kv->pins). True when
 * more may be left: the next chunk starts at *@first.
 */
static bool pvx_ksm_take_chunk_locked(struct pvx_ksm_vm *kv,
				      unsigned long *first, unsigned long last,
				      struct pvx_ksm_pin **out, unsigned int *n)
{
	struct pvx_ksm_pin *pin;
	unsigned long idx;

	*n = 0;
	xa_for_each_range(&kv->pins, idx, pin, *first, last) {
		pvx_ksm_take_locked(kv, idx);
		out[(*n)++] = pin;
		if (*n == PVX_KSM_CHUNK) {
			*first = idx + 1;
			return idx != last;
		}
	}
	return false;
}

/*
 * The VMM's memory changes. Pins go only with the mapping (munmap,
 * mremap, the process's exit): KSM's own attempt to merge a pinned page
 * invalidates it too (write_protect_page(), MMU_NOTIFY_CLEAR), and
 * dropping the pin there would let that very attempt merge it. Runs in
 * the context of the change, possibly not allowed to sleep: spinlock,
 * unpin and kfree only, and a reschedule between chunks where it may.
 */
static bool pvx_ksm_invalidate(struct mmu_interval_notifier *mni,
			       const struct mmu_notifier_range *range,
			       unsigned long cur_seq)
{
	struct pvx_ksm_vm *kv = container_of(mni, struct pvx_ksm_vm, mni);
	unsigned long first = range->start >> PAGE_SHIFT;
	unsigned long last = (range->end - 1) >> PAGE_SHIFT;
	struct pvx_ksm_pin *pins[PVX_KSM_CHUNK];
	unsigned int n;
	u64 total = 0;
	bool more;

	if (range->event != MMU_NOTIFY_UNMAP &&
	    range->event != MMU_NOTIFY_RELEASE)
		return true;
	do {
		xa_lock(&kv->pins);
		/*
		 * Only the page being pinned makes its pin retry: an unmap
		 * elsewhere in the VMM (a thread's stack, a malloc arena)
		 * must not fail it (pvx_ksm_pin_one()). An unmap that ran
		 * before the page was marked cannot hide a pin either:
		 * MMU_NOTIFY_UNMAP comes with the VMA gone or under the
		 * mmap_lock held for write, so the pin finds nothing to pin.
		 */
		if (kv->pinning >= range->start >> PAGE_SHIFT &&
		    kv->pinning <= last)
			mmu_interval_set_seq(mni, cur_seq);
		more = pvx_ksm_take_chunk_locked(kv, &first, last, pins, &n);
		xa_unlock(&kv->pins);
		pvx_ksm_release(kv, pins, n);
		total += n;
		if (more && mmu_notifier_range_blockable(range))
			cond_resched();
	} while (more);
	if (total)
		pvx_ksm_count(kv, PVX_KSM_STAT_UNMAPPED, total);
	return true;
}

static const struct mmu_interval_notifier_ops pvx_ksm_mni_ops = {
	.invalidate = pvx_ksm_invalidate,
};

static void pvx_ksm_unpin_all(struct pvx_ksm_vm *kv)
{
	struct pvx_ksm_pin *pins[PVX_KSM_CHUNK];
	unsigned long first = 0;
	unsigned int n;
	bool more;

	do {
		xa_lock(&kv->pins);
		more = pvx_ksm_take_chunk_locked(kv, &first, ULONG_MAX, pins,
						 &n);
		xa_unlock(&kv->pins);
		pvx_ksm_release(kv, pins, n);
		cond_resched();
	} while (more);
}

/* ---- debugfs ------------------------------------------------------------- */

/* What the VMM has at a hinted address now, as debugfs counts it. */
enum pvx_ksm_page_state {
	PVX_KSM_PAGE_ABSENT,	/* nothing mapped: never backed, or reclaimed */
	PVX_KSM_PAGE_ZERO,	/* the shared zero page (a read, or a THP split) */
	PVX_KSM_PAGE_MERGED,	/* a KSM page */
	PVX_KSM_PAGE_OWN,	/* a page of its own */
};

/* The page mapped at @hva. Never faults. mmap_lock held. */
static enum pvx_ksm_page_state pvx_ksm_hva_state(struct mm_struct *mm,
						 unsigned long hva)
{
	enum pvx_ksm_page_state st;
	struct page *page;

	if (pvx_get_user_pages_remote(mm, hva, 1, FOLL_NOFAULT, &page) != 1)
		return PVX_KSM_PAGE_ABSENT;
	if (is_zero_pfn(page_to_pfn(page)))
		st = PVX_KSM_PAGE_ZERO;
	else if (folio_test_ksm(page_folio(page)))
		st = PVX_KSM_PAGE_MERGED;
	else
		st = PVX_KSM_PAGE_OWN;
	put_page(page);
	return st;
}

/*
 * Tally the state of the pages at @hva[0..@n). Takes the mmap_lock for
 * this chunk only; false when a fatal signal stopped it.
 */
static bool pvx_ksm_tally(struct mm_struct *mm, const unsigned long *hva,
			  unsigned int n, u64 *st)
{
	unsigned int i;

	if (mmap_read_lock_killable(mm))
		return false;
	for (i = 0; i < n; i++)
		st[pvx_ksm_hva_state(mm, hva[i])]++;
	mmap_read_unlock(mm);
	cond_resched();
	return true;
}

/*
 * The pages of one set (@pins: the pins' set, whose keys are their host
 * addresses; else the candidates', whose values are) by state, chunk by
 * chunk: the set is read under RCU (xa_for_each), without kv->lock, and
 * only the addresses are kept, so a hint of the VM and the VMM's
 * mmap_lock writers wait at most for one chunk.
 */
static bool pvx_ksm_tally_set(struct pvx_ksm_vm *kv, bool pins, u64 *st)
{
	struct xarray *xa = pins ? &kv->pins : &kv->cand;
	unsigned long hva[PVX_KSM_CHUNK], first = 0, idx;
	unsigned int n;
	void *entry;

	do {
		n = 0;
		xa_for_each_range(xa, idx, entry, first, ULONG_MAX) {
			hva[n++] = (pins ? idx : xa_to_value(entry)) << PAGE_SHIFT;
			if (n == PVX_KSM_CHUNK)
				break;
		}
		if (!pvx_ksm_tally(kv->mm, hva, n, st))
			return false;
		first = idx + 1;
	} while (n == PVX_KSM_CHUNK && idx != ULONG_MAX);
	return true;
}

/* The candidates by state, and the pins merged; 0 or -EINTR. */
static int pvx_ksm_count_merged(struct pvx_ksm_vm *kv,
				u64 cand[PVX_KSM_PAGE_OWN + 1], u64 *pins)
{
	u64 pin_st[PVX_KSM_PAGE_OWN + 1] = { 0 };
	struct mm_struct *mm = kv->mm;
	int ret = 0;

	memset(cand, 0, sizeof(u64) * (PVX_KSM_PAGE_OWN + 1));
	*pins = 0;
	if (!mmget_not_zero(mm))
		return 0;
	if (!pvx_ksm_tally_set(kv, false, cand) ||
	    !pvx_ksm_tally_set(kv, true, pin_st))
		ret = -EINTR;
	mmput(mm);
	*pins = pin_st[PVX_KSM_PAGE_MERGED];
	return ret;
}

static void pvx_ksm_show_stats(struct seq_file *m, const atomic64_t *stats)
{
	unsigned int i;

	for (i = 0; i < PVX_KSM_STAT_NR; i++)
		seq_printf(m, "%s %lld\n", pvx_ksm_stat_names[i],
			   atomic64_read(&stats[i]));
}

/* The VM's counters, its sets now, and how much of them KSM merged. */
static int pvx_ksm_vm_show(struct seq_file *m, void *unused)
{
	struct pvx_ksm_vm *kv = m->private;
	u64 cand[PVX_KSM_PAGE_OWN + 1], pins_merged;

	if (pvx_ksm_count_merged(kv, cand, &pins_merged))
		return -EINTR;
	pvx_ksm_show_stats(m, kv->stats);
	seq_printf(m, "candidates %llu\ncandidates_merged %llu\n",
		   READ_ONCE(kv->nr_cand), cand[PVX_KSM_PAGE_MERGED]);
	seq_printf(m, "candidates_zero %llu\ncandidates_absent %llu\n",
		   cand[PVX_KSM_PAGE_ZERO], cand[PVX_KSM_PAGE_ABSENT]);
	seq_printf(m, "pins %llu\npins_merged %llu\npins_held %lld\n",
		   READ_ONCE(kv->nr_pins), pins_merged,
		   atomic64_read(&kv->held));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvx_ksm_vm);

static int pvx_ksm_total_show(struct seq_file *m, void *unused)
{
	pvx_ksm_show_stats(m, pvx_ksm_stats);
	seq_printf(m, "pins_held %lld\n", atomic64_read(&pvx_ksm_held));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvx_ksm_total);

/* ---- per-VM life --------------------------------------------------------- */

/* Runs when the VM dies, pvx_host unloads or this module unregisters. */
static void pvx_ksm_vm_dtor(struct pvx_vm *vm, void *data)
{
	struct pvx_ksm_vm *kv = data;

	debugfs_remove(kv->file);
	/* waits for a notifier call in progress; none comes after */
	if (kv->mni_on)
		mmu_interval_notifier_remove(&kv->mni);
	pvx_ksm_unpin_all(kv);
	WARN_ON_ONCE(atomic64_read(&kv->held));
	xa_destroy(&kv->folios);
	xa_destroy(&kv->pins);
	xa_destroy(&kv->cand);
	mmdrop(kv->mm);
	kfree(kv);
}

/* The VM's state, made by its first hint (in a vCPU thread of the VMM). */
static struct pvx_ksm_vm *pvx_ksm_vm_get(struct pvx_vm *vm, struct kvm *kvm)
{
	struct pvx_ksm_vm *kv, *new;

	kv = pvx_vm_get_priv(vm, PVX_F_KSM_HINT);
	if (likely(kv))
		return kv;

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return NULL;
	mutex_init(&new->lock);
	xa_init(&new->cand);
	xa_init(&new->pins);
	new->pinning = PVX_KSM_NOT_PINNING;
	xa_init(&new->folios);
	new->mm = kvm->mm;
	mmgrab(new->mm);
	kv = pvx_vm_set_priv(vm, PVX_F_KSM_HINT, new, pvx_ksm_vm_dtor);
	if (kv != new) {
		/* Another vCPU of the VM installed its state first. */
		mmdrop(new->mm);
		kfree(new);
		return kv;
	}
	kv->file = debugfs_create_file("ksm", 0444, pvx_vm_debugfs_dir(vm),
				       kv, &pvx_ksm_vm_fops);
	return kv;
}

/*
 * Watch the whole of the VMM's address space once the VM has a pin: the
 * notifier then sees every unmap there (pvx_ksm_invalidate()). Caller
 * holds kv->lock, not the mmap lock.
 */
static int pvx_ksm_watch(struct pvx_ksm_vm *kv)
{
	int ret;

	if (kv->mni_on)
		return 0;
	ret = mmu_interval_notifier_insert(&kv->mni, kv->mm, 0, TASK_SIZE_MAX,
					   &pvx_ksm_mni_ops);
	kv->mni_on = !ret;
	return ret;
}

/* ---- the batch ----------------------------------------------------------- */

/* A checked run: its first page, its length, its host address. */
struct pvx_ksm_run {
	gfn_t gfn;
	u32 npages;
	u32 flags;
	unsigned long hva;
};

struct pvx_ksm_batch {
	u32 flags;
	u32 count;
	struct pvx_ksm_hint h[PVX_KSM_MAX_HINTS];
	struct pvx_ksm_run r[PVX_KSM_MAX_HINTS];
};

static_assert(sizeof(struct pvx_ksm_hint) == PVX_KSM_HINT_SIZE);
static_assert(PVX_BATCH_HDR_SIZE + PVX_KSM_MAX_HINTS * PVX_KSM_HINT_SIZE <=
	      PVX_BATCH_BYTES);
static_assert(PAGE_SIZE == 4096);

/* @h is well formed: a page-aligned run of pages that does not wrap. */
static long pvx_ksm_check_hint(const struct pvx_ksm_hint *h)
{
	if (!PAGE_ALIGNED(h->gpa) || !h->npages ||
	    (h->flags != PVX_KSM_MERGEABLE && h->flags != PVX_KSM_UNMERGEABLE))
		return -PVX_EINVAL;
	if (h->gpa + ((u64)h->npages << PAGE_SHIFT) < h->gpa)
		return -PVX_E2BIG;
	return 0;
}

/* @h (checked) is one run of guest pages inside one memslot of the VMM. */
static long pvx_ksm_find_run(struct kvm_vcpu *vcpu,
			     const struct pvx_ksm_hint *h,
			     struct pvx_ksm_run *r)
{
	struct kvm_memory_slot *slot;

	r->gfn = gpa_to_gfn(h->gpa);
	r->npages = h->npages;
	r->flags = h->flags;
	slot = __gfn_to_memslot(kvm_vcpu_memslots(vcpu), r->gfn);
	if (!kvm_is_visible_memslot(slot) ||
	    (slot->flags & PVX_KVM_MEM_NO_HVA_COPY) ||
	    r->gfn + r->npages > slot->base_gfn + slot->npages)
		return -PVX_EFAULT;
	r->hva = __gfn_to_hva_memslot(slot, r->gfn);
	return 0;
}

/*
 * Read and check the batch at @gpa into @b; nothing changes here. Each
 * run in the order of the comment at the top: its form (einval, e2big
 * for a wrap), the batch's page sum so far (e2big), then its memslot
 * (efault).
 */
static long pvx_ksm_read_batch(struct kvm_vcpu *vcpu, unsigned long gpa,
			       struct pvx_ksm_batch *b)
{
	struct pvx_batch_hdr hdr;
	u64 pages = 0;
	long ret;
	u32 i;

	b->flags = 0;
	b->count = 0;
	if (!PAGE_ALIGNED(gpa))
		return -PVX_EINVAL;
	if (pvx_read_guest(vcpu, gpa, &hdr, sizeof(hdr)))
		return -PVX_EFAULT;
	b->flags = hdr.flags;
	b->count = hdr.count;
	if ((hdr.flags & ~PVX_KSM_F_ALL) || hdr.reserved || !hdr.count)
		return -PVX_EINVAL;
	if (hdr.count > PVX_KSM_MAX_HINTS)
		return -PVX_E2BIG;
	if (pvx_read_guest(vcpu, gpa + sizeof(hdr), b->h,
			   hdr.count * sizeof(b->h[0])))
		return -PVX_EFAULT;
	for (i = 0; i < b->count; i++) {
		ret = pvx_ksm_check_hint(&b->h[i]);
		if (ret)
			return ret;
		pages += b->h[i].npages;
		if (pages > PVX_KSM_MAX_BATCH_PAGES)
			return -PVX_E2BIG;
		ret = pvx_ksm_find_run(vcpu, &b->h[i], &b->r[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- applying it --------------------------------------------------------- */

static unsigned long pvx_ksm_page_hva(const struct pvx_ksm_run *r, u32 i)
{
	return r->hva + ((unsigned long)i << PAGE_SHIFT);
}

/*
 * Pages a hint batch adds to each set: the caps are checked against these
 * before anything changes. Caller holds kv->lock.
 */
static void pvx_ksm_count_new(struct pvx_ksm_vm *kv,
			      const struct pvx_ksm_batch *b,
			      u64 *cand, u64 *pins)
{
	const struct pvx_ksm_run *r;
	u32 i, j;

	*cand = 0;
	*pins = 0;
	for (i = 0; i < b->count; i++) {
		r = &b->r[i];
		for (j = 0; j < r->npages; j++) {
			if (r->flags == PVX_KSM_MERGEABLE)
				*cand += !xa_load(&kv->cand, r->gfn + j);
			else
				*pins += !xa_load(&kv->pins,
						  pvx_ksm_page_hva(r, j) >> PAGE_SHIFT);
		}
	}
}

/* Pin the page at @hva of the VMM for write, long term; NULL if it can't. */
static struct page *pvx_ksm_pin_page(struct mm_struct *mm, unsigned long hva)
{
	struct page *page;
	long n;

	mmap_read_lock(mm);
	n = pvx_pin_user_pages_remote(mm, hva, 1, FOLL_WRITE | FOLL_LONGTERM,
				      &page);
	mmap_read_unlock(mm);
	return n == 1 ? page : NULL;
}

/*
 * Pin guest page @gfn at @hva unless it is pinned: 1 new, 0 was, <0 error.
 * An unmap between the pin and its insertion would leave a pin nobody
 * drops before the VM ends: the notifier's sequence tells (it moves only
 * for unmaps of the page being pinned, pvx_ksm_invalidate()), and the
 * check and the insertion are one critical section under the lock the
 * sequence is set under: the slot is reserved before, so the insertion
 * never allocates (nor drops the lock to). The pin is then given back
 * (-PVX_EFAULT: the memory went).
 */
static int pvx_ksm_pin_one(struct pvx_ksm_vm *kv, gfn_t gfn, unsigned long hva,
			   const struct pvx_ksm_limits *lim)
{
	unsigned long idx = hva >> PAGE_SHIFT, seq;
	struct pvx_ksm_pin *pin;
	int ret, charged;

	if (xa_load(&kv->pins, idx))
		return 0;
	pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin)
		return -PVX_ENOMEM;
	if (xa_reserve(&kv->pins, idx, GFP_KERNEL_ACCOUNT)) {
		kfree(pin);
		return -PVX_ENOMEM;
	}
	pin->gfn = gfn;
	pin->gen = kv->gen;
	xa_lock(&kv->pins);
	kv->pinning = idx;
	xa_unlock(&kv->pins);
	seq = mmu_interval_read_begin(&kv->mni);
	pin->page = pvx_ksm_pin_page(kv->mm, hva);
	charged = pin->page ? pvx_ksm_charge(kv, pin, lim) : -PVX_EFAULT;
	xa_lock(&kv->pins);
	kv->pinning = PVX_KSM_NOT_PINNING;
	if (charged)
		ret = charged;
	else if (mmu_interval_read_retry(&kv->mni, seq))
		ret = -PVX_EFAULT;
	else	/* into the reserved slot: no allocation; NULL when stored */
		ret = __xa_cmpxchg(&kv->pins, idx, XA_ZERO_ENTRY, pin,
				   GFP_NOWAIT) ? -PVX_ENOMEM : 1;
	if (ret > 0)
		kv->nr_pins++;
	xa_unlock(&kv->pins);
	if (ret < 0) {
		xa_release(&kv->pins, idx);
		if (!charged)
			pvx_ksm_uncharge(kv, pin);
		if (pin->page)
			unpin_user_page(pin->page);
		kfree(pin);
	}
	return ret;
}

/* Record guest page @gfn as a candidate: 1 new, 0 was, <0 error. */
static int pvx_ksm_add_candidate(struct pvx_ksm_vm *kv, gfn_t gfn,
				 unsigned long hva)
{
	int ret;

	if (xa_load(&kv->cand, gfn))
		return 0;
	ret = xa_err(xa_store(&kv->cand, gfn, xa_mk_value(hva >> PAGE_SHIFT),
			      GFP_KERNEL_ACCOUNT));
	if (ret)
		return -PVX_ENOMEM;
	kv->nr_cand++;
	return 1;
}

/*
 * Give back the pins this call (kv->gen) took in the runs of @b before
 * run @i0, page @j0. Caller holds kv->lock.
 */
static void pvx_ksm_unpin_call(struct pvx_ksm_vm *kv,
			       const struct pvx_ksm_batch *b, u32 i0, u32 j0)
{
	const struct pvx_ksm_run *r;
	struct pvx_ksm_pin *pin;
	unsigned long idx;
	u32 i, j, end;

	for (i = 0; i <= i0 && i < b->count; i++) {
		r = &b->r[i];
		if (r->flags != PVX_KSM_UNMERGEABLE)
			continue;
		end = i < i0 ? r->npages : j0;
		for (j = 0; j < end; j++) {
			idx = pvx_ksm_page_hva(r, j) >> PAGE_SHIFT;
			xa_lock(&kv->pins);
			pin = xa_load(&kv->pins, idx);
			if (pin && pin->gen == kv->gen)
				pvx_ksm_take_locked(kv, idx);
			else
				pin = NULL;
			xa_unlock(&kv->pins);
			if (pin)
				pvx_ksm_release(kv, &pin, 1);
			if (!((j + 1) % 512))
				cond_resched();
		}
	}
}

/*
 * Apply the hints; *@done = pages added. The pins first, in batch order:
 * a pin past a limit (or without memory) gives back every pin this call
 * took, -PVX_ENOMEM with nothing applied; a page the host cannot pin
 * stops there (-PVX_EFAULT), and the candidates of the runs before it
 * are recorded, which is what applying the batch in order up to that
 * page gives. Then the candidates. Caller holds kv->lock.
 */
static long pvx_ksm_add(struct pvx_ksm_vm *kv, const struct pvx_ksm_batch *b,
			const struct pvx_ksm_limits *lim, u64 *done)
{
	const struct pvx_ksm_run *r;
	u64 pinned = 0, added = 0;
	int ret, err = 0;
	u32 i, j = 0, stop;

	kv->gen++;
	for (i = 0; i < b->count; i++) {
		r = &b->r[i];
		if (r->flags != PVX_KSM_UNMERGEABLE)
			continue;
		for (j = 0; j < r->npages; j++) {
			ret = pvx_ksm_pin_one(kv, r->gfn + j,
					      pvx_ksm_page_hva(r, j), lim);
			if (ret < 0) {
				err = ret;
				goto pinned;
			}
			pinned += ret;
			/* a run may be 65536 pages: let the host run others */
			if (!((j + 1) % 512))
				cond_resched();
		}
		cond_resched();
	}
pinned:
	if (err == -PVX_ENOMEM) {
		pvx_ksm_unpin_call(kv, b, i, j);
		return err;
	}
	pvx_ksm_count(kv, PVX_KSM_STAT_PINNED, pinned);
	*done = pinned;
	stop = err ? i : b->count;
	for (i = 0; i < stop; i++) {
		r = &b->r[i];
		if (r->flags != PVX_KSM_MERGEABLE)
			continue;
		for (j = 0; j < r->npages; j++) {
			ret = pvx_ksm_add_candidate(kv, r->gfn + j,
						    pvx_ksm_page_hva(r, j));
			if (ret < 0) {
				err = ret;
				goto out;
			}
			added += ret;
			if (!((j + 1) % 512))
				cond_resched();
		}
		cond_resched();
	}
out:
	pvx_ksm_count(kv, PVX_KSM_STAT_CANDIDATES, added);
	*done += added;
	return err;
}

/* Take back the hints in @b; *@done = pages withdrawn. kv->lock held. */
static void pvx_ksm_withdraw(struct pvx_ksm_vm *kv,
			     const struct pvx_ksm_batch *b, u64 *done)
{
	const struct pvx_ksm_run *r;
	struct pvx_ksm_pin *pin;
	unsigned long idx;
	u32 i, j;

	for (i = 0; i < b->count; i++) {
		r = &b->r[i];
		for (j = 0; j < r->npages; j++) {
			if (r->flags == PVX_KSM_MERGEABLE) {
				if (!xa_erase(&kv->cand, r->gfn + j))
					continue;
				kv->nr_cand--;
				pvx_ksm_count(kv, PVX_KSM_STAT_CAND_WITHDRAWN, 1);
				(*done)++;
				continue;
			}
			idx = pvx_ksm_page_hva(r, j) >> PAGE_SHIFT;
			xa_lock(&kv->pins);
			pin = xa_load(&kv->pins, idx);
			if (pin && pin->gfn == r->gfn + j)
				pvx_ksm_take_locked(kv, idx);
			else
				pin = NULL;
			xa_unlock(&kv->pins);
			if (pin) {
				pvx_ksm_release(kv, &pin, 1);
				pvx_ksm_count(kv, PVX_KSM_STAT_UNPINNED, 1);
				(*done)++;
			}
			if (!((j + 1) % 512))
				cond_resched();
		}
		cond_resched();
	}
}

/*
 * The calling VMM's limits for what its pins hold: its RLIMIT_MEMLOCK
 * (lifted by CAP_IPC_LOCK, as for mlock(), VFIO and RDMA) and the host's
 * max_pinned_mb. Called in the vCPU thread, once per call that pins.
 */
static void pvx_ksm_limits(struct pvx_ksm_limits *lim)
{
	unsigned long memlock = rlimit(RLIMIT_MEMLOCK);

	lim->unlimited = memlock == RLIM_INFINITY || capable(CAP_IPC_LOCK);
	lim->memlock = memlock >> PAGE_SHIFT;
	lim->host = (u64)READ_ONCE(max_pinned_mb) << (20 - PAGE_SHIFT);
}

/* Check the caps, then add the hints. Caller holds kv->lock. */
static long pvx_ksm_hint_locked(struct pvx_ksm_vm *kv,
				const struct pvx_ksm_batch *b, u64 *done)
{
	struct pvx_ksm_limits lim = { 0 };
	u64 cand, pins;
	long ret;

	if (b->flags & PVX_KSM_F_WITHDRAW) {
		pvx_ksm_withdraw(kv, b, done);
		return 0;
	}
	pvx_ksm_count_new(kv, b, &cand, &pins);
	if (kv->nr_cand + cand > READ_ONCE(max_candidates) ||
	    kv->nr_pins + pins > READ_ONCE(max_pins))
		return -PVX_ENOMEM;
	if (pins && pvx_ksm_watch(kv))
		return -PVX_ENOMEM;
	if (pins)
		pvx_ksm_limits(&lim);
	ret = pvx_ksm_add(kv, b, &lim, done);
	if (ret == -PVX_EFAULT)
		pvx_ksm_count(kv, PVX_KSM_STAT_PIN_FAILED, 1);
	return ret;
}

static enum pvx_ksm_stat pvx_ksm_err_stat(long ret)
{
	switch (ret) {
	case 0:
		return PVX_KSM_STAT_DONE;
	case -PVX_EFAULT:
		return PVX_KSM_STAT_EFAULT;
	case -PVX_E2BIG:
		return PVX_KSM_STAT_E2BIG;
	case -PVX_ENOMEM:
		return PVX_KSM_STAT_ENOMEM;
	default:
		return PVX_KSM_STAT_EINVAL;
	}
}

/*
 * The VM's pinned and unpinned counts now, for pvx:ksm_hint: they move
 * only in pvx_ksm_add() and pvx_ksm_withdraw(), under kv->lock, so with
 * the lock held across a call their growth is exactly that call's.
 */
static void pvx_ksm_pin_counts(struct pvx_ksm_vm *kv, u64 *pinned,
			       u64 *unpinned)
{
	lockdep_assert_held(&kv->lock);
	*pinned = atomic64_read(&kv->stats[PVX_KSM_STAT_PINNED]);
	*unpinned = atomic64_read(&kv->stats[PVX_KSM_STAT_UNPINNED]);
}

/*
 * Make the VMA of the VMM's @mm at @hva mergeable, if it is not: 1 when
 * this call did. The check under the read lock keeps the write lock for
 * the first candidate of a VMA.
 */
static int pvx_ksm_vma_merge_on(struct mm_struct *mm, unsigned long hva)
{
	struct vm_area_struct *vma;
	unsigned long flags;
	bool off;
	int ret = 0;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, hva);
	off = vma && !(vma->vm_flags & VM_MERGEABLE);
	mmap_read_unlock(mm);
	if (!off || mmap_write_lock_killable(mm))
		return 0;
	vma = vma_lookup(mm, hva);
	if (vma && !(vma->vm_flags & VM_MERGEABLE)) {
		flags = vma->vm_flags;
		/* unchanged for memory KSM cannot take (shared, VM_PFNMAP...) */
		if (!ksm_madvise(vma, vma->vm_start, vma->vm_end,
				 MADV_MERGEABLE, &flags) &&
		    flags != vma->vm_flags) {
			pvx_vma_flags_reset(vma, flags);
			ret = 1;
		}
	}
	mmap_write_unlock(mm);
	return ret;
}

/* merge_on_candidates: the VMAs that hold the candidates of @b. */
static void pvx_ksm_merge_on(struct pvx_ksm_vm *kv,
			     const struct pvx_ksm_batch *b)
{
	u64 n = 0;
	u32 i;

	if (!mmget_not_zero(kv->mm))
		return;
	for (i = 0; i < b->count; i++) {
		if (b->r[i].flags == PVX_KSM_MERGEABLE)
			n += pvx_ksm_vma_merge_on(kv->mm, b->r[i].hva);
	}
	mmput(kv->mm);
	if (n)
		pvx_ksm_count(kv, PVX_KSM_STAT_MADE_MERGEABLE, n);
}

static long pvx_ksm_hint(struct kvm_vcpu *vcpu, struct pvx_vm *vm,
			 const struct pvx_call *call)
{
	u64 done = 0, pinned = 0, unpinned = 0, pinned0, unpinned0;
	struct pvx_ksm_batch *b = NULL;
	struct pvx_ksm_vm *kv;
	long ret;

	kv = pvx_ksm_vm_get(vm, vcpu->kvm);
	b = kmalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!kv || !b) {
		ret = -PVX_ENOMEM;
		goto out;
	}
	/* Every bit of the unused arguments is reserved. */
	if (call->a1 || call->a2 || call->a3) {
		ret = -PVX_EINVAL;
		goto out;
	}
	ret = pvx_ksm_read_batch(vcpu, call->a0, b);
	if (ret)
		goto out;
	mutex_lock(&kv->lock);
	pvx_ksm_pin_counts(kv, &pinned0, &unpinned0);
	ret = pvx_ksm_hint_locked(kv, b, &done);
	pvx_ksm_pin_counts(kv, &pinned, &unpinned);
	mutex_unlock(&kv->lock);
	pinned -= pinned0;
	unpinned -= unpinned0;
	/* after kv->lock: pvx_ksm_add() takes mmap_lock under it */
	if (!ret && !(b->flags & PVX_KSM_F_WITHDRAW) &&
	    READ_ONCE(merge_on_candidates))
		pvx_ksm_merge_on(kv, b);
out:
	pvx_ksm_count(kv, PVX_KSM_STAT_CALLS, 1);
	pvx_ksm_count(kv, pvx_ksm_err_stat(ret), 1);
	pvx_set_out_reg(vcpu, call, VCPU_REGS_RBX, done);
	trace_ksm_hint(pvx_vm_id(vm), vcpu->vcpu_id, b ? b->flags : 0,
		       b ? b->count : 0, done, kv ? kv->nr_cand : 0,
		       kv ? READ_ONCE(kv->nr_pins) : 0, ret, pinned, unpinned);
	kfree(b);
	return ret;
}

static struct pvx_handler pvx_ksm_handler = {
	.nr = PVX_HC_KSM_HINT,
	.feature = PVX_F_KSM_HINT,
	.fn = pvx_ksm_hint,
	.owner = THIS_MODULE,
};

static int __init pvx_ksm_init(void)
{
	struct dentry *root;
	int ret;

	root = debugfs_lookup("pvx", NULL);
	if (!IS_ERR_OR_NULL(root)) {
		pvx_ksm_file = debugfs_create_file("ksm", 0444, root, NULL,
						   &pvx_ksm_total_fops);
		dput(root);
	}
	ret = pvx_register_handler(&pvx_ksm_handler);
	if (ret) {
		pr_err("cannot register PVX_HC_KSM_HINT: %d\n", ret);
		debugfs_remove(pvx_ksm_file);
		return ret;
	}
	pr_info("serving PVX_HC_KSM_HINT (0x%x)\n", PVX_HC_KSM_HINT);
	return 0;
}

static void __exit pvx_ksm_exit(void)
{
	/* Waits for calls in flight and destroys every VM's state. */
	pvx_unregister_handler(&pvx_ksm_handler);
	debugfs_remove(pvx_ksm_file);
}

module_init(pvx_ksm_init);
module_exit(pvx_ksm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvx: KSM hints (PVX_HC_KSM_HINT)");
