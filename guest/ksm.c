// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_ksm_guest: the guest half of KSM hints (Documentation/ksm.rst).
 *
 * The guest knows which of its pages are worth merging with other VMs'
 * and which must never be merged; the host (pvx_ksm.ko there) takes both
 * as PVX_HC_KSM_HINT batches of runs of guest-physical pages. This module:
 *
 *   - sends the kernel image's read-only pages (text and read-only data,
 *     the same in every guest running this kernel) as PVX_KSM_MERGEABLE
 *     candidates at load and every interval_ms, and withdraws them at
 *     rmmod (ksm_cand.c);
 *   - with zero_free=1, zeroes free pages that hold stale data and sends
 *     them as candidates while they stay free (ksm_zero.c);
 *   - sends the page cache of programs and shared libraries (files mapped
 *     executable and read-only) as candidates, found anew every
 *     interval_ms, unless exec_files=0 (ksm_file.c);
 *   - protects pages from merging, PVX_KSM_UNMERGEABLE: for programs,
 *     PVX_IOC_KSM_PROTECT pins a range of the caller's memory and hands
 *     back an fd that holds the protection (ksm_fd.c); for modules, the
 *     kernel API of pvx_ksm.h (here).
 *
 * The host keeps one never-merge pin per guest page, not a count, so the
 * count is kept here: a table of the protected pages (pfn -> protections
 * naming it) under pvx_ksm_lock. A page is hinted when its first
 * protection comes and withdrawn when its last goes. The module's cap,
 * max_pages, bounds the pages of all protections together (what guest
 * callers can make the host pin, and what this table holds). So that one
 * user cannot take it all, each user's protection fds together hold at
 * most user_max_pages, and users together leave kernel_reserve of it to
 * the kernel API (whose callers are modules, not users).
 *
 * Every batch is built in one page (one GPA for the host) and sent under
 * pvx_ksm_lock; protect requests are rare and a batch holds up to 255
 * runs, so one lock is simple and enough.
 *
 * On a host without PVX_HC_KSM_HINT the module loads, says so once, sends
 * nothing, and every protect request is -EOPNOTSUPP.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kobject.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/uidgid.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>

#include "compat.h"
#include "pvx_guest.h"
#include "pvx_ksm.h"
#include "ksm_internal.h"

#define CREATE_TRACE_POINTS
#include "ksm_trace.h"

#define PVX_KSM_PROTECT_MAX_PAGES	(PVX_KSM_PROTECT_MAX_LEN >> PAGE_SHIFT)
/* The host's own bound on never-merge pins per VM (its max_pins). */
#define PVX_KSM_MAX_PAGES_LIMIT		BIT(18)

static atomic64_t pvx_ksm_stats[PVX_KSM_NR];

void pvx_ksm_count(enum pvx_ksm_stat s, u64 n)
{
	atomic64_add(n, &pvx_ksm_stats[s]);
}

void pvx_ksm_count_err(long err)
{
	enum pvx_ksm_stat s;

	switch (err) {
	case -EINVAL:
		s = PVX_KSM_EINVAL;
		break;
	case -E2BIG:
		s = PVX_KSM_E2BIG;
		break;
	case -EFAULT:
		s = PVX_KSM_EFAULT;
		break;
	case -ENOMEM:
		s = PVX_KSM_ENOMEM;
		break;
	case -ENOSPC:
		s = PVX_KSM_ENOSPC;
		break;
	case -EIO:
		s = PVX_KSM_EIO;
		break;
	case -EOPNOTSUPP:
		s = PVX_KSM_EOPNOTSUPP;
		break;
	default:
		s = PVX_KSM_OTHER;
		break;
	}
	pvx_ksm_count(s, 1);
}

/* ---- parameters ---------------------------------------------------------- */

static unsigned int max_pages = 4096;

PVX_KSM_PARAM_OPS_MAX(pvx_ksm_max_pages_ops, PVX_KSM_MAX_PAGES_LIMIT);
module_param_cb(max_pages, &pvx_ksm_max_pages_ops, &max_pages, 0644);
MODULE_PARM_DESC(max_pages, "pages all never-merge protections together may name (0..262144, default 4096 = 16 MiB)");

static unsigned int user_max_pages = 1024;
module_param_cb(user_max_pages, &pvx_ksm_max_pages_ops, &user_max_pages, 0644);
MODULE_PARM_DESC(user_max_pages, "pages one user's protection fds together may name (0..262144, default 1024 = 4 MiB)");

static unsigned int kernel_reserve = 1024;
module_param_cb(kernel_reserve, &pvx_ksm_max_pages_ops, &kernel_reserve, 0644);
MODULE_PARM_DESC(kernel_reserve, "pages of max_pages only the kernel API may use (0..262144, default 1024 = 4 MiB)");

/* ---- batches ------------------------------------------------------------- */

/* A batch as the host reads it: header and runs in one page. */
struct pvx_ksm_batch {
	struct pvx_batch_hdr hdr;
	struct pvx_ksm_hint h[PVX_KSM_MAX_HINTS];
};

/* the batch page and the table of protected pages (ksm_internal.h) */
DEFINE_MUTEX(pvx_ksm_lock);
static struct pvx_ksm_batch *pvx_ksm_batch;

void pvx_ksm_send_start(struct pvx_ksm_sender *s, bool withdraw, u32 hint,
			bool stop)
{
	lockdep_assert_held(&pvx_ksm_lock);
	memset(s, 0, sizeof(*s));
	s->withdraw = withdraw;
	s->hint = hint;
	s->stop = stop;
	pvx_ksm_batch->hdr.count = 0;
}

/* Send the batch being filled, if it names anything. */
static void pvx_ksm_flush(struct pvx_ksm_sender *s)
{
	struct pvx_ksm_batch *b = pvx_ksm_batch;
	unsigned long rbx = 0;
	u64 done = 0;
	long hc;

	if (!b->hdr.count)
		return;
	b->hdr.flags = s->withdraw ? PVX_KSM_F_WITHDRAW : 0;
	b->hdr.reserved = 0;
	hc = pvx_hypercall_rbx(PVX_HC_KSM_HINT, __pa(b), 0, 0, 0, &rbx);
	/*
	 * The handler sets RBX on each of its answers; a host that did not
	 * run it (the call lost, or refused by the host's core) left it as
	 * it was. Never trust more than the batch named.
	 */
	if (hc != -PVX_ENOSYS && hc != -PVX_EOPNOTSUPP)
		done = min_t(u64, rbx, s->pages);
	trace_guest_ksm_hint(s->withdraw, s->hint, b->hdr.count, s->pages,
			     done, hc);
	pvx_ksm_count(PVX_KSM_BATCHES, 1);
	if (hc < 0) {
		pvx_ksm_count(PVX_KSM_HOST_ERRORS, 1);
		if (!s->hc)
			s->hc = hc;
	}
	s->done += done;
	b->hdr.count = 0;
	s->pages = 0;
}

/*
 * Add the @n guest pages from @pfn to the batch, merged with the last run
 * when they follow it; a full batch (PVX_KSM_MAX_HINTS runs, or
 * PVX_KSM_MAX_BATCH_PAGES pages) goes to the host first.
 */
void pvx_ksm_send_run(struct pvx_ksm_sender *s, unsigned long pfn,
		      unsigned long n)
{
	struct pvx_ksm_batch *b = pvx_ksm_batch;
	struct pvx_ksm_hint *last;
	u32 take;

	while (n && !(s->stop && s->hc)) {
		if (s->pages == PVX_KSM_MAX_BATCH_PAGES)
			pvx_ksm_flush(s);
		take = min_t(unsigned long, n, PVX_KSM_MAX_BATCH_PAGES - s->pages);
		last = b->hdr.count ? &b->h[b->hdr.count - 1] : NULL;
		if (last && last->gpa + ((u64)last->npages << PAGE_SHIFT) ==
		    PFN_PHYS(pfn)) {
			last->npages += take;
		} else if (b->hdr.count == PVX_KSM_MAX_HINTS) {
			pvx_ksm_flush(s);
			continue;
		} else {
			b->h[b->hdr.count].gpa = PFN_PHYS(pfn);
			b->h[b->hdr.count].npages = take;
			b->h[b->hdr.count].flags = s->hint;
			b->hdr.count++;
		}
		s->pages += take;
		pfn += take;
		n -= take;
	}
}

/* Send what is left; the host's first refusal, or 0. */
long pvx_ksm_send_end(struct pvx_ksm_sender *s)
{
	if (!(s->stop && s->hc))
		pvx_ksm_flush(s);
	return s->hc;
}

/* ---- the table of protected pages ---------------------------------------- */

/* pfn -> xa_mk_value(protections naming it), under pvx_ksm_lock */
static DEFINE_XARRAY(pvx_ksm_refs);
static unsigned long pvx_ksm_distinct;	/* entries of pvx_ksm_refs */
static unsigned long pvx_ksm_held;	/* pages of all protections */

/* One protection more of @pfn: 1 when it is the first, 0, or -ENOMEM. */
static int pvx_ksm_ref_get(unsigned long pfn)
{
	void *e = xa_load(&pvx_ksm_refs, pfn);
	unsigned long n = e ? xa_to_value(e) : 0;

	if (xa_is_err(xa_store(&pvx_ksm_refs, pfn, xa_mk_value(n + 1),
			       GFP_KERNEL)))
		return -ENOMEM;
	pvx_ksm_distinct += !n;
	return !n;
}

/* One protection less of @pfn: true when it was the last. */
static bool pvx_ksm_ref_put(unsigned long pfn)
{
	void *e = xa_load(&pvx_ksm_refs, pfn);
	unsigned long n = e ? xa_to_value(e) : 0;

	if (WARN_ON_ONCE(!n))
		return false;
	if (n > 1) {
		/* replaces an entry: allocates nothing, cannot fail */
		xa_store(&pvx_ksm_refs, pfn, xa_mk_value(n - 1), GFP_KERNEL);
		return false;
	}
	xa_erase(&pvx_ksm_refs, pfn);
	pvx_ksm_distinct--;
	return true;
}

/*
 * Drop one protection of each of @pages; the pages nobody protects any
 * more are withdrawn. A withdrawal the host refuses (it stopped serving
 * the call) leaves nothing to undo here. Caller holds pvx_ksm_lock.
 */
static void pvx_ksm_put_pages(struct page **pages, unsigned long nr)
{
	struct pvx_ksm_sender s;
	unsigned long i, pfn;

	pvx_ksm_send_start(&s, true, PVX_KSM_UNMERGEABLE, false);
	for (i = 0; i < nr; i++) {
		pfn = page_to_pfn(pages[i]);
		if (pvx_ksm_ref_put(pfn))
			pvx_ksm_send_run(&s, pfn, 1);
	}
	pvx_ksm_send_end(&s);
	pvx_ksm_count(PVX_KSM_WITHDRAWN, s.done);
}

/* The host's refusal of a never-merge batch as an errno. */
static int pvx_ksm_host_errno(long hc)
{
	switch (hc) {
	case -PVX_ENOSYS:	/* the host stopped serving it meanwhile */
	case -PVX_EOPNOTSUPP:
		return -EOPNOTSUPP;
	case -PVX_ENOMEM:	/* the host's max_pins for this VM */
		return -ENOSPC;
	case -PVX_EFAULT:	/* the host could not pin its page */
		return -EIO;
	default:
		/* the host refused a batch this module built */
		pr_warn_ratelimited("host answered a never-merge batch %ld\n", hc);
		return -EIO;
	}
}

/* ---- a host whose state of this VM is new -------------------------------- */

/*
 * The host epoch (PROBE's RSI) the whole table was last sent to: the pages
 * are protected on the host only while it is the host's epoch now. After a
 * live migration or a reload of the host's pvx_ksm the new state holds no
 * pin; protected_on_host reads 0 until the table was sent again, so no page
 * is reported protected that the host does not protect. Under pvx_ksm_lock.
 */
static u32 pvx_ksm_sent_epoch;

static unsigned long pvx_ksm_on_host(void)
{
	if (!pvx_host_has(PVX_F_KSM_HINT) ||
	    READ_ONCE(pvx_ksm_sent_epoch) != pvx_host_epoch())
		return 0;
	return READ_ONCE(pvx_ksm_distinct);
}

/* Send the whole table to a host whose epoch is @epoch. Under pvx_ksm_lock. */
static void pvx_ksm_resend(u32 epoch)
{
	struct pvx_ksm_sender s;
	unsigned long pfn;
	void *e;
	long hc;

	pvx_ksm_send_start(&s, false, PVX_KSM_UNMERGEABLE, false);
	xa_for_each(&pvx_ksm_refs, pfn, e)
		pvx_ksm_send_run(&s, pfn, 1);
	hc = pvx_ksm_send_end(&s);
	if (!hc)
		WRITE_ONCE(pvx_ksm_sent_epoch, epoch);
	else
		pr_warn_ratelimited("protections sent again: host refused (%ld), %llu of %lu pages protected there\n",
				    hc, s.done, pvx_ksm_distinct);
	/* counted last: who sees resends grow reads protected_on_host anew */
	pvx_ksm_count(PVX_KSM_RESENT, s.done);
	pvx_ksm_count(PVX_KSM_HINTED, s.done);
	pvx_ksm_count(PVX_KSM_RESENDS, 1);
}

static int pvx_ksm_host_changed(struct notifier_block *nb,
				unsigned long features, void *data)
{
	u32 epoch = pvx_host_epoch();

	if (!(features & PVX_F_KSM_HINT))
		return NOTIFY_DONE;
	mutex_lock(&pvx_ksm_lock);
	if (epoch != pvx_ksm_sent_epoch) {
		if (pvx_ksm_distinct)
			pvx_ksm_resend(epoch);
		else
			WRITE_ONCE(pvx_ksm_sent_epoch, epoch);
	}
	mutex_unlock(&pvx_ksm_lock);
	pvx_ksm_cand_now();
	return NOTIFY_OK;
}

static struct notifier_block pvx_ksm_host_nb = {
	.notifier_call = pvx_ksm_host_changed,
};

/* ---- shares of max_pages ------------------------------------------------- */

/* Pages of all users' protections, and per user (uid -> xa value). */
static unsigned long pvx_ksm_users_held;
static DEFINE_XARRAY(pvx_ksm_user_held);

/* The pages @owner's protections hold. Caller holds pvx_ksm_lock. */
static unsigned long pvx_ksm_user_pages(kuid_t owner)
{
	void *v = xa_load(&pvx_ksm_user_held, from_kuid(&init_user_ns, owner));

	return v ? xa_to_value(v) : 0;
}

/*
 * Whether @nr more pages fit @owner's share: the cap of all protections,
 * for a user also the user's own share and what the users leave to the
 * kernel API. Caller holds pvx_ksm_lock.
 */
static bool pvx_ksm_fits(kuid_t owner, unsigned long nr)
{
	unsigned long max = READ_ONCE(max_pages);
	unsigned long users_max = max - min_t(unsigned long, max, READ_ONCE(kernel_reserve));

	if (pvx_ksm_held + nr > max)
		return false;
	if (!uid_valid(owner))
		return true;
	return pvx_ksm_users_held + nr <= users_max &&
	       pvx_ksm_user_pages(owner) + nr <= READ_ONCE(user_max_pages);
}

/*
 * Count @nr pages more (@add) or fewer against @owner's share: 0, or
 * -ENOMEM when a user's first entry cannot be stored (nothing counted).
 * Caller holds pvx_ksm_lock.
 */
static int pvx_ksm_charge(kuid_t owner, unsigned long nr, bool add)
{
	unsigned long uid = from_kuid(&init_user_ns, owner), now;

	if (!uid_valid(owner))
		return 0;
	now = pvx_ksm_user_pages(owner);
	if (!add && WARN_ON_ONCE(now < nr))
		nr = now;
	now = add ? now + nr : now - nr;
	if (!now)
		xa_erase(&pvx_ksm_user_held, uid);
	else if (xa_err(xa_store(&pvx_ksm_user_held, uid, xa_mk_value(now), GFP_KERNEL)))
		return -ENOMEM;
	pvx_ksm_users_held = add ? pvx_ksm_users_held + nr : pvx_ksm_users_held - nr;
	return 0;
}

/*
 * Protect @nr pages, which the caller keeps where they are, on @owner's
 * share: hint the ones nobody protected yet. 0 or -errno with nothing
 * changed.
 */
int __pvx_ksm_protect(struct page **pages, unsigned long nr, kuid_t owner)
{
	struct pvx_ksm_sender s;
	unsigned long i, pfn;
	int ret = 0;
	long hc;

	if (!nr)
		return -EINVAL;
	if (nr > PVX_KSM_PROTECT_MAX_PAGES)
		return -E2BIG;
	if (!pvx_host_has(PVX_F_KSM_HINT))
		return -EOPNOTSUPP;
	mutex_lock(&pvx_ksm_lock);
	if (!pvx_ksm_fits(owner, nr)) {
		ret = -ENOSPC;
		goto out;
	}
	/* first: the one step here that can fail without the host */
	ret = pvx_ksm_charge(owner, nr, true);
	if (ret)
		goto out;
	pvx_ksm_send_start(&s, false, PVX_KSM_UNMERGEABLE, true);
	for (i = 0; i < nr && !s.hc; i++) {
		pfn = page_to_pfn(pages[i]);
		ret = pvx_ksm_ref_get(pfn);
		if (ret < 0)
			break;
		if (ret)
			pvx_ksm_send_run(&s, pfn, 1);
		ret = 0;
	}
	hc = pvx_ksm_send_end(&s);
	pvx_ksm_count(PVX_KSM_HINTED, s.done);
	if (!ret && hc)
		ret = pvx_ksm_host_errno(hc);
	if (ret) {
		/* the @i pages counted, hinted or not: withdrawn */
		pvx_ksm_put_pages(pages, i);
		pvx_ksm_charge(owner, nr, false);
		goto out;
	}
	pvx_ksm_held += nr;
	pvx_ksm_count(PVX_KSM_PROTECTED, nr);
out:
	mutex_unlock(&pvx_ksm_lock);
	return ret;
}

void __pvx_ksm_unprotect(struct page **pages, unsigned long nr, kuid_t owner)
{
	mutex_lock(&pvx_ksm_lock);
	pvx_ksm_put_pages(pages, nr);
	pvx_ksm_charge(owner, nr, false);
	pvx_ksm_held -= nr;
	pvx_ksm_count(PVX_KSM_UNPROTECTED, nr);
	mutex_unlock(&pvx_ksm_lock);
}

/* ---- kernel API (pvx_ksm.h) ---------------------------------------------- */

int pvx_ksm_protect_pages(struct page **pages, unsigned long nr)
{
	int ret;

	pvx_ksm_count(PVX_KSM_PROTECT_CALLS, 1);
	ret = __pvx_ksm_protect(pages, nr, INVALID_UID);
	if (ret)
		pvx_ksm_count_err(ret);
	return ret;
}
EXPORT_SYMBOL_GPL(pvx_ksm_protect_pages);

void pvx_ksm_unprotect_pages(struct page **pages, unsigned long nr)
{
	__pvx_ksm_unprotect(pages, nr, INVALID_UID);
}
EXPORT_SYMBOL_GPL(pvx_ksm_unprotect_pages);

/*
 * The pages of the kernel range [@addr, @addr + @len) into a new array;
 * *@nr = their number. ERR_PTR(-EINVAL, -E2BIG, -ENOMEM).
 */
static struct page **pvx_ksm_range_pages(const void *addr, size_t len,
					 unsigned long *nr)
{
	unsigned long i, n = len >> PAGE_SHIFT;
	const void *p;
	struct page **pages;
	bool vm = is_vmalloc_addr(addr);

	if (!len || !PAGE_ALIGNED(addr) || !PAGE_ALIGNED(len))
		return ERR_PTR(-EINVAL);
	if (n > PVX_KSM_PROTECT_MAX_PAGES)
		return ERR_PTR(-E2BIG);
	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < n; i++) {
		p = addr + (i << PAGE_SHIFT);
		if (vm ? !is_vmalloc_addr(p) : !virt_addr_valid(p))
			break;
		pages[i] = vm ? vmalloc_to_page(p) : virt_to_page(p);
		if (!pages[i])
			break;
	}
	if (i < n) {
		kvfree(pages);
		return ERR_PTR(-EINVAL);
	}
	*nr = n;
	return pages;
}

int pvx_ksm_protect_range(const void *addr, size_t len)
{
	struct page **pages;
	unsigned long nr;
	int ret;

	pvx_ksm_count(PVX_KSM_PROTECT_CALLS, 1);
	pages = pvx_ksm_range_pages(addr, len, &nr);
	if (IS_ERR(pages)) {
		ret = PTR_ERR(pages);
	} else {
		ret = __pvx_ksm_protect(pages, nr, INVALID_UID);
		kvfree(pages);
	}
	if (ret)
		pvx_ksm_count_err(ret);
	return ret;
}
EXPORT_SYMBOL_GPL(pvx_ksm_protect_range);

void pvx_ksm_unprotect_range(const void *addr, size_t len)
{
	struct page **pages;
	unsigned long nr;

	pages = pvx_ksm_range_pages(addr, len, &nr);
	/* what was protected has its array; a range that had none was not */
	if (WARN_ON_ONCE(IS_ERR(pages)))
		return;
	__pvx_ksm_unprotect(pages, nr, INVALID_UID);
	kvfree(pages);
}
EXPORT_SYMBOL_GPL(pvx_ksm_unprotect_range);

/* ---- /sys/kernel/pvx/ksm ------------------------------------------------- */

struct pvx_ksm_attr {
	struct kobj_attribute kattr;
	enum pvx_ksm_stat stat;
};

static ssize_t pvx_ksm_stat_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	struct pvx_ksm_attr *ka = container_of(attr, struct pvx_ksm_attr, kattr);

	return sysfs_emit(buf, "%lld\n", atomic64_read(&pvx_ksm_stats[ka->stat]));
}

#define PVX_KSM_ATTR(_name, _stat)					\
	static struct pvx_ksm_attr pvx_ksm_attr_##_name = {		\
		.kattr = __ATTR(_name, 0444, pvx_ksm_stat_show, NULL),	\
		.stat = (_stat),					\
	}

PVX_KSM_ATTR(batches, PVX_KSM_BATCHES);
PVX_KSM_ATTR(host_errors, PVX_KSM_HOST_ERRORS);
PVX_KSM_ATTR(candidate_rounds, PVX_KSM_CAND_ROUNDS);
PVX_KSM_ATTR(candidates_added, PVX_KSM_CAND_ADDED);
PVX_KSM_ATTR(candidates_withdrawn, PVX_KSM_CAND_WITHDRAWN);
PVX_KSM_ATTR(protect_calls, PVX_KSM_PROTECT_CALLS);
PVX_KSM_ATTR(protected_pages, PVX_KSM_PROTECTED);
PVX_KSM_ATTR(unprotected_pages, PVX_KSM_UNPROTECTED);
PVX_KSM_ATTR(hinted, PVX_KSM_HINTED);
PVX_KSM_ATTR(withdrawn, PVX_KSM_WITHDRAWN);
PVX_KSM_ATTR(unmapped, PVX_KSM_UNMAPPED);
PVX_KSM_ATTR(einval, PVX_KSM_EINVAL);
PVX_KSM_ATTR(e2big, PVX_KSM_E2BIG);
PVX_KSM_ATTR(efault, PVX_KSM_EFAULT);
PVX_KSM_ATTR(enomem, PVX_KSM_ENOMEM);
PVX_KSM_ATTR(enospc, PVX_KSM_ENOSPC);
PVX_KSM_ATTR(eio, PVX_KSM_EIO);
PVX_KSM_ATTR(eopnotsupp, PVX_KSM_EOPNOTSUPP);
PVX_KSM_ATTR(other_errors, PVX_KSM_OTHER);
PVX_KSM_ATTR(zero_blocks_reported, PVX_KSM_ZERO_REPORTED);
PVX_KSM_ATTR(zero_pages_cleared, PVX_KSM_ZERO_CLEARED);
PVX_KSM_ATTR(zero_pages_clean, PVX_KSM_ZERO_CLEAN);
PVX_KSM_ATTR(zero_blocks_stale, PVX_KSM_ZERO_STALE);
PVX_KSM_ATTR(resends, PVX_KSM_RESENDS);
PVX_KSM_ATTR(resent_pages, PVX_KSM_RESENT);

/* The table's sizes now: pages of all protections, distinct pages. */
static ssize_t held_now_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(pvx_ksm_held));
}

/* Pages of all users' protection fds (the rest of held_now: the kernel's). */
static ssize_t users_held_now_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(pvx_ksm_users_held));
}

static ssize_t protected_now_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(pvx_ksm_distinct));
}

/* Of protected_now, the pages the host this guest runs on protects. */
static ssize_t protected_on_host_show(struct kobject *kobj,
				      struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", pvx_ksm_on_host());
}

static ssize_t pinned_now_show(struct kobject *kobj, struct kobj_attribute *attr,
			       char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&pvx_ksm_pinned_now));
}

static struct kobj_attribute pvx_ksm_held_attr = __ATTR_RO(held_now);
static struct kobj_attribute pvx_ksm_users_held_attr = __ATTR_RO(users_held_now);
static struct kobj_attribute pvx_ksm_protected_now_attr = __ATTR_RO(protected_now);
static struct kobj_attribute pvx_ksm_pinned_attr = __ATTR_RO(pinned_now);
static struct kobj_attribute pvx_ksm_on_host_attr = __ATTR_RO(protected_on_host);

static struct attribute *pvx_ksm_own_attrs[] = {
	&pvx_ksm_attr_batches.kattr.attr,
	&pvx_ksm_attr_host_errors.kattr.attr,
	&pvx_ksm_attr_candidate_rounds.kattr.attr,
	&pvx_ksm_attr_candidates_added.kattr.attr,
	&pvx_ksm_attr_candidates_withdrawn.kattr.attr,
	&pvx_ksm_attr_protect_calls.kattr.attr,
	&pvx_ksm_attr_protected_pages.kattr.attr,
	&pvx_ksm_attr_unprotected_pages.kattr.attr,
	&pvx_ksm_attr_hinted.kattr.attr,
	&pvx_ksm_attr_withdrawn.kattr.attr,
	&pvx_ksm_attr_unmapped.kattr.attr,
	&pvx_ksm_attr_einval.kattr.attr,
	&pvx_ksm_attr_e2big.kattr.attr,
	&pvx_ksm_attr_efault.kattr.attr,
	&pvx_ksm_attr_enomem.kattr.attr,
	&pvx_ksm_attr_enospc.kattr.attr,
	&pvx_ksm_attr_eio.kattr.attr,
	&pvx_ksm_attr_eopnotsupp.kattr.attr,
	&pvx_ksm_attr_other_errors.kattr.attr,
	&pvx_ksm_attr_zero_blocks_reported.kattr.attr,
	&pvx_ksm_attr_zero_pages_cleared.kattr.attr,
	&pvx_ksm_attr_zero_pages_clean.kattr.attr,
	&pvx_ksm_attr_zero_blocks_stale.kattr.attr,
	&pvx_ksm_attr_resends.kattr.attr,
	&pvx_ksm_attr_resent_pages.kattr.attr,
	&pvx_ksm_held_attr.attr,
	&pvx_ksm_users_held_attr.attr,
	&pvx_ksm_protected_now_attr.attr,
	&pvx_ksm_pinned_attr.attr,
	&pvx_ksm_on_host_attr.attr,
	NULL
};

/* Ours, then the candidates' and the zeroed free pages' (filled at init). */
static struct attribute *pvx_ksm_attr_list[ARRAY_SIZE(pvx_ksm_own_attrs) + 16];

static const struct attribute_group pvx_ksm_group = {
	.name = "ksm",
	.attrs = pvx_ksm_attr_list,
};

/* Append the NULL-terminated @attrs at *@n; -EINVAL when they do not fit. */
static int pvx_ksm_add_attrs(struct attribute **attrs, unsigned int *n)
{
	unsigned int i;

	for (i = 0; attrs[i]; i++) {
		if (WARN_ON(*n + 1 >= ARRAY_SIZE(pvx_ksm_attr_list)))
			return -EINVAL;
		pvx_ksm_attr_list[(*n)++] = attrs[i];
	}
	return 0;
}

static int pvx_ksm_fill_attrs(void)
{
	unsigned int n = 0;

	return pvx_ksm_add_attrs(pvx_ksm_own_attrs, &n) ?:
	       pvx_ksm_add_attrs(pvx_ksm_cand_attrs, &n) ?:
	       pvx_ksm_add_attrs(pvx_ksm_zero_attrs, &n) ?:
	       pvx_ksm_add_attrs(pvx_ksm_file_attrs, &n);
}

/* ---- module -------------------------------------------------------------- */

static int __init pvx_ksm_init(void)
{
	int ret;

	BUILD_BUG_ON(sizeof(struct pvx_ksm_batch) > PAGE_SIZE);
	BUILD_BUG_ON(PVX_KSM_PROTECT_MAX_PAGES > PVX_KSM_MAX_BATCH_PAGES);
	ret = pvx_ksm_fill_attrs();
	if (ret)
		return ret;
	pvx_ksm_batch = (struct pvx_ksm_batch *)get_zeroed_page(GFP_KERNEL);
	if (!pvx_ksm_batch)
		return -ENOMEM;
	ret = pvx_sysfs_add_group(&pvx_ksm_group);
	if (ret)
		goto err_page;
	if (pvx_host_has(PVX_F_KSM_HINT))
		pr_info("host takes KSM hints: kernel text and read-only data sent as candidates, PVX_IOC_KSM_PROTECT protects pages from merging\n");
	else
		pr_info("host has no PVX_HC_KSM_HINT: KSM hints unsupported by host, no candidates sent, PVX_IOC_KSM_PROTECT answers EOPNOTSUPP\n");
	/* the table is empty: it is all on this host */
	pvx_ksm_sent_epoch = pvx_host_epoch();
	ret = pvx_ksm_cand_init();
	if (ret)
		goto err_sysfs;
	pvx_ksm_zero_init();
	pvx_host_register_notifier(&pvx_ksm_host_nb);
	/* last: userspace can call in from here on */
	ret = pvx_ksm_fd_init();
	if (ret)
		goto err_cand;
	return 0;

err_cand:
	pvx_host_unregister_notifier(&pvx_ksm_host_nb);
	pvx_ksm_cand_exit();
	pvx_ksm_zero_exit();
err_sysfs:
	pvx_sysfs_remove_group(&pvx_ksm_group);
err_page:
	free_page((unsigned long)pvx_ksm_batch);
	return ret;
}

/*
 * Protection fds hold a reference on this module and kernel API users
 * link to it: none is left when this runs, unless a module unloaded
 * without unprotecting. Its pages are withdrawn all the same.
 */
static void __exit pvx_ksm_exit(void)
{
	unsigned long pfn;
	void *e;

	pvx_ksm_fd_exit();
	/* it starts candidate rounds and sends the table */
	pvx_host_unregister_notifier(&pvx_ksm_host_nb);
	/* first: the candidate rounds call into it */
	pvx_ksm_cand_exit();
	pvx_ksm_zero_exit();
	mutex_lock(&pvx_ksm_lock);
	if (WARN_ON_ONCE(pvx_ksm_distinct)) {
		struct pvx_ksm_sender s;

		pvx_ksm_send_start(&s, true, PVX_KSM_UNMERGEABLE, false);
		xa_for_each(&pvx_ksm_refs, pfn, e)
			pvx_ksm_send_run(&s, pfn, 1);
		pvx_ksm_send_end(&s);
	}
	xa_destroy(&pvx_ksm_refs);
	WARN_ON_ONCE(pvx_ksm_users_held);	/* every fd held a reference */
	xa_destroy(&pvx_ksm_user_held);
	mutex_unlock(&pvx_ksm_lock);
	pvx_sysfs_remove_group(&pvx_ksm_group);
	free_page((unsigned long)pvx_ksm_batch);
	/* the final count: candidates may arrive until the reporting stops */
	pr_info("unloaded: the host took %lld candidate pages and let go of %lld\n",
		atomic64_read(&pvx_ksm_stats[PVX_KSM_CAND_ADDED]),
		atomic64_read(&pvx_ksm_stats[PVX_KSM_CAND_WITHDRAWN]));
}

module_init(pvx_ksm_init);
module_exit(pvx_ksm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvx: KSM hints from the guest (candidates, PVX_IOC_KSM_PROTECT, never-merge kernel API)");
