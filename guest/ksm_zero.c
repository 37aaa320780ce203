// SPDX-License-Identifier: GPL-2.0
/*
 * KSM candidates from free memory (zero_free=1): free pages that still
 * hold what their last user wrote are zeroed and sent as candidates. The
 * host backs them (they were written), but their stale bytes are unique,
 * so KSM keeps one host page for each; zeroed, they all merge into one.
 *
 * Which pages are free comes from the kernel's free page reporting
 * (page_reporting_register(), exported; what virtio-balloon uses): it
 * hands its device blocks of free pages of at least pageblock order
 * (2 MiB; zero_order below, or the page_reporting.page_reporting_order
 * boot parameter), taken
 * off the free lists while the callback runs, and marks them "reported"
 * when they go back; a block is handed over again only after it was
 * allocated and freed. One device at a time: a guest whose virtio-balloon
 * reports free pages to its host (which then discards them, better than
 * merging) keeps it, and zero_free says so and does nothing; so it does
 * with page poisoning on (page_poison=1 without init_on_free), whose
 * check at allocation would find zeros where it wants its poison.
 *
 * Each page is read first and written only when it is not zero already:
 * a page the guest never touched reads as zero without the host backing
 * it, and it stays that way. Only the pages that were zeroed are sent:
 * a page that read as zero may be unbacked, and a hint for it would tell
 * the host nothing. This costs the guest one read of its free memory (at
 * load, then of what is freed) and one write of each stale page, which is
 * why it is off by default.
 *
 * A block stops being a candidate when it is allocated again. Nothing
 * tells this module that, so every interval_ms (ksm_cand.c's rounds) the
 * blocks sent are checked: one whose first page is no longer a reported
 * free block of at least its order is withdrawn (racy reads of the page's
 * flags: a hint may be stale for up to one interval, never wrong for
 * longer), and the others are sent again, as the kernel image's are.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/page-flags.h>
#include <linux/page_reporting.h>
#include <linux/pageblock-flags.h>
#include <linux/scatterlist.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/xarray.h>

#include "compat.h"
#include "pvx_guest.h"
#include "ksm_internal.h"

static bool zero_free;
module_param(zero_free, bool, 0444);
MODULE_PARM_DESC(zero_free, "zero free pages that hold stale data and send them as KSM candidates (load time; default off: it reads all free memory once and writes the stale pages)");

/*
 * The smallest free block reported, as a page order: 0 is page
 * reporting's default, pageblock order (2 MiB). Smaller blocks reach more
 * of a fragmented guest's free memory, at more reports; single pages are
 * never reported (the kernel takes 1 at least). 6.1 takes the device's
 * order at every registration; 6.12 only while its own
 * page_reporting.page_reporting_order is unset (not given at boot, no
 * device registered since): /sys/module/page_reporting/parameters/
 * page_reporting_order tells the order in force.
 */
static unsigned int zero_order;

PVX_KSM_PARAM_OPS_MAX(pvx_zero_order_ops, pageblock_order);
module_param_cb(zero_order, &pvx_zero_order_ops, &zero_order, 0444);
MODULE_PARM_DESC(zero_order, "zero_free: the smallest free block reported, as a page order (load time; 1..pageblock order, 0 = pageblock order, the default)");

/* head pfn -> xa_mk_value(order) of the blocks sent; under pvx_zero_lock */
static DEFINE_XARRAY(pvx_zero_blocks);
static DEFINE_MUTEX(pvx_zero_lock);
static bool pvx_zero_registered;

static unsigned long pvx_zero_pages_now;	/* pages of the blocks held */

/*
 * Zero the pages of one block that are not zero; the pages zeroed. The
 * block is off the free lists while the report callback runs: no one
 * else writes it.
 */
static unsigned long pvx_zero_clear(struct page *page, unsigned long n)
{
	unsigned long i, cleared = 0;
	void *p;

	for (i = 0; i < n; i++) {
		p = page_address(page + i);
		if (memchr_inv(p, 0, PAGE_SIZE)) {
			memset(p, 0, PAGE_SIZE);
			cleared++;
		}
		if (!((i + 1) % 512))
			cond_resched();
	}
	pvx_ksm_count(PVX_KSM_ZERO_CLEARED, cleared);
	pvx_ksm_count(PVX_KSM_ZERO_CLEAN, n - cleared);
	return cleared;
}

/* Send or withdraw the pages of the blocks in pvx_zero_blocks. */
static void pvx_zero_send_held(bool withdraw)
{
	struct pvx_ksm_sender s;
	unsigned long pfn;
	void *e;

	lockdep_assert_held(&pvx_zero_lock);
	mutex_lock(&pvx_ksm_lock);
	pvx_ksm_send_start(&s, withdraw, PVX_KSM_MERGEABLE, false);
	xa_for_each(&pvx_zero_blocks, pfn, e)
		pvx_ksm_send_run(&s, pfn, 1UL << xa_to_value(e));
	pvx_ksm_send_end(&s);
	pvx_ksm_count(withdraw ? PVX_KSM_CAND_WITHDRAWN : PVX_KSM_CAND_ADDED,
		      s.done);
	mutex_unlock(&pvx_ksm_lock);
}

/* Withdraw @n pages from @pfn, which no block held covers any more. */
static void pvx_zero_withdraw(unsigned long pfn, unsigned long n)
{
	struct pvx_ksm_sender s;

	mutex_lock(&pvx_ksm_lock);
	pvx_ksm_send_start(&s, true, PVX_KSM_MERGEABLE, false);
	pvx_ksm_send_run(&s, pfn, n);
	pvx_ksm_send_end(&s);
	pvx_ksm_count(PVX_KSM_CAND_WITHDRAWN, s.done);
	mutex_unlock(&pvx_ksm_lock);
}

/*
 * Remember the block of 2^@order pages at @pfn, about to be sent to the
 * host, so that the blocks held never overlap. Buddy blocks are
 * aligned to their size, so a block held either holds the new one or lies
 * inside it. One held at the same head with a higher order was allocated
 * in part and freed again before a round saw it: its pages past the new
 * block may be in use, and are withdrawn (else the host would keep them
 * as candidates for good: the store below forgets them). Blocks held
 * inside the new one are forgotten: the new block sends their pages. A
 * held block that holds the new one at another head is the round's:
 * its head is no longer a free block of its order. False when the
 * xarray could not take it (then it is not sent).
 */
static bool pvx_zero_hold(unsigned long pfn, unsigned int order)
{
	unsigned long n = 1UL << order, p;
	void *old, *e;

	/* first: when it fails, the blocks held stay as they were */
	old = xa_store(&pvx_zero_blocks, pfn, xa_mk_value(order), GFP_KERNEL);
	if (xa_is_err(old))
		return false;
	xa_for_each_range(&pvx_zero_blocks, p, e, pfn + 1, pfn + n - 1) {
		xa_erase(&pvx_zero_blocks, p);
		pvx_zero_pages_now -= 1UL << xa_to_value(e);
	}
	if (old) {
		pvx_zero_pages_now -= 1UL << xa_to_value(old);
		if (xa_to_value(old) > order)
			pvx_zero_withdraw(pfn + n, (1UL << xa_to_value(old)) - n);
	}
	pvx_zero_pages_now += n;
	return true;
}

/*
 * Page reporting's callback: zero each block and remember the ones that
 * had stale pages (without pvx_ksm_lock: a protect request need not wait
 * for the writes), then send those. Always 0: a block is "reported" once
 * zeroed, whatever the host answered (a host that did not take it gets it
 * in the next round).
 */
static int pvx_zero_report(struct page_reporting_dev_info *prdev,
			   struct scatterlist *sgl, unsigned int nents)
{
	struct pvx_ksm_sender s;
	struct scatterlist *sg;
	unsigned long pfn;
	unsigned int i;
	void *e;

	mutex_lock(&pvx_zero_lock);
	for_each_sg(sgl, sg, nents, i) {
		pvx_ksm_count(PVX_KSM_ZERO_REPORTED, 1);
		if (pvx_zero_clear(sg_page(sg), sg->length >> PAGE_SHIFT))
			pvx_zero_hold(page_to_pfn(sg_page(sg)),
				      get_order(sg->length));
	}
	mutex_lock(&pvx_ksm_lock);
	pvx_ksm_send_start(&s, false, PVX_KSM_MERGEABLE, false);
	for_each_sg(sgl, sg, nents, i) {
		/*
		 * Only a block held at this size: one with no stale page is
		 * not held anew, and an entry of another size left at its
		 * head from before would have the host take pages no block
		 * held covers, never to be withdrawn (CI once saw 8 pages)
		 */
		pfn = page_to_pfn(sg_page(sg));
		e = xa_load(&pvx_zero_blocks, pfn);
		if (e && xa_to_value(e) == get_order(sg->length))
			pvx_ksm_send_run(&s, pfn, sg->length >> PAGE_SHIFT);
	}
	pvx_ksm_send_end(&s);
	pvx_ksm_count(PVX_KSM_CAND_ADDED, s.done);
	mutex_unlock(&pvx_ksm_lock);
	mutex_unlock(&pvx_zero_lock);
	return 0;
}

static struct page_reporting_dev_info pvx_zero_prdev = {
	.report = pvx_zero_report,
};

/* Is the block at @pfn still free, reported and whole? Racy by design. */
static bool pvx_zero_still_free(unsigned long pfn, unsigned int order)
{
	struct page *page = pfn_to_page(pfn);

	/* PageBuddy first: a free block's head is never compound */
	return PageBuddy(page) && PageReported(page) &&
	       READ_ONCE(page->private) >= order;
}

/*
 * A round (every interval_ms, from ksm_cand.c): withdraw the blocks that
 * were allocated again, send the others again.
 */
void pvx_ksm_zero_round(void)
{
	struct pvx_ksm_sender s;
	unsigned long pfn, n;
	unsigned int order;
	void *e;

	mutex_lock(&pvx_zero_lock);
	if (!pvx_zero_registered) {
		mutex_unlock(&pvx_zero_lock);
		return;
	}
	mutex_lock(&pvx_ksm_lock);
	pvx_ksm_send_start(&s, true, PVX_KSM_MERGEABLE, false);
	xa_for_each(&pvx_zero_blocks, pfn, e) {
		order = xa_to_value(e);
		if (pvx_zero_still_free(pfn, order))
			continue;
		n = 1UL << order;
		pvx_ksm_send_run(&s, pfn, n);
		xa_erase(&pvx_zero_blocks, pfn);
		pvx_zero_pages_now -= n;
		pvx_ksm_count(PVX_KSM_ZERO_STALE, 1);
	}
	pvx_ksm_send_end(&s);
	pvx_ksm_count(PVX_KSM_CAND_WITHDRAWN, s.done);
	mutex_unlock(&pvx_ksm_lock);
	pvx_zero_send_held(false);
	mutex_unlock(&pvx_zero_lock);
}

/* ---- sysfs (its counters are ksm.c's, zero_*) ---------------------------- */

static ssize_t zero_free_show(struct kobject *kobj, struct kobj_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%s\n", READ_ONCE(pvx_zero_registered) ? "on" :
			  zero_free ? "off (not registered)" : "off");
}

static ssize_t zero_pages_now_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(pvx_zero_pages_now));
}

static struct kobj_attribute pvx_zero_free_attr = __ATTR_RO(zero_free);
static struct kobj_attribute pvx_zero_now_attr = __ATTR_RO(zero_pages_now);

struct attribute *pvx_ksm_zero_attrs[] = {
	&pvx_zero_free_attr.attr,
	&pvx_zero_now_attr.attr,
	NULL
};

/* ---- load and unload ----------------------------------------------------- */

/* Registers only when asked and the host takes hints; never fails the load. */
void pvx_ksm_zero_init(void)
{
	int ret;

	if (!zero_free)
		return;
	if (!pvx_host_has(PVX_F_KSM_HINT)) {
		pr_info("zero_free: the host takes no KSM hints, free pages not zeroed\n");
		return;
	}
	/*
	 * Page poisoning checks at allocation that a free page still holds
	 * its poison; zeros are what it expects only with init_on_free
	 * (virtio-balloon's rule for reporting, virtballoon_validate())
	 */
	if (page_poisoning_enabled_static() && !want_init_on_free()) {
		pr_info("zero_free: page poisoning is on, free pages not zeroed\n");
		return;
	}
	/*
	 * debug_pagealloc takes free pages out of the direct map: reading
	 * one through page_address() faults (a kernel built with
	 * CONFIG_DEBUG_PAGEALLOC and booted with debug_pagealloc=on)
	 */
	if (debug_pagealloc_enabled_static()) {
		pr_info("zero_free: debug_pagealloc is on, free pages not zeroed\n");
		return;
	}
	mutex_lock(&pvx_zero_lock);
	pvx_zero_prdev.order = zero_order;
	ret = page_reporting_register(&pvx_zero_prdev);
	WRITE_ONCE(pvx_zero_registered, !ret);
	mutex_unlock(&pvx_zero_lock);
	if (ret == -EBUSY)
		pr_info("zero_free: free page reporting is taken (virtio-balloon?), free pages not zeroed\n");
	else if (ret)
		pr_warn("zero_free: page_reporting_register: %d, free pages not zeroed\n", ret);
	else
		pr_info("zero_free: stale free pages are zeroed and sent as candidates\n");
}

/* On return no report runs and the host holds none of these candidates. */
void pvx_ksm_zero_exit(void)
{
	if (!pvx_zero_registered)
		return;
	/* waits for a report in progress; none comes after */
	page_reporting_unregister(&pvx_zero_prdev);
	mutex_lock(&pvx_zero_lock);
	WRITE_ONCE(pvx_zero_registered, false);
	pvx_zero_send_held(true);
	xa_destroy(&pvx_zero_blocks);
	pvx_zero_pages_now = 0;
	mutex_unlock(&pvx_zero_lock);
}
