// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_fork: the guest half of batched fork-copy.
 *
 * PVX_IOC_FORK_COPY on /dev/pvx copies len bytes of the caller's own
 * memory from src to dst with PVX_HC_FORK_COPY: the host copies up to
 * PVX_COPY_MAX_PAIRS pages per hypercall, so a large private copy costs
 * one exit per 1020 KiB instead of a fault per page. libpvx's pvx_fork()
 * uses it in a freshly forked child: it copies each range into fresh
 * pages and mremap()s them over the range, so the child stops sharing
 * those pages copy-on-write with its parent (Documentation/fork_copy.rst).
 *
 * The call checks both ranges' mappings first: nothing is copied when
 * they are not what it takes. Then per batch, get_user_pages() takes the
 * destination pages for writing (a copy-on-write page is broken first,
 * so each is the caller's exclusive anonymous page) and the source pages
 * for reading, with a plain reference (FOLL_GET), not a pin: a read-only
 * FOLL_PIN of an anonymous page still shared copy-on-write makes GUP
 * unshare it, a copy in the guest, which is what the call is there to
 * avoid (gup_must_unshare()). The reference keeps the page; the page
 * cannot change under the host's copy, because every mapping of a page
 * shared copy-on-write is write-protected and a write there goes to a
 * new page.
 * The pages' guest-physical addresses go into one batch page and the
 * host copies; no lock is held across the hypercall.
 *
 * Who may: any user, since it reads and writes only memory the caller
 * could read and write itself. How much: PVX_FORK_COPY_MAX_LEN per call,
 * rescheduling between batches, all of it in the caller's own thread.
 * On a host without PVX_HC_FORK_COPY the module loads, says so once and
 * the ioctl answers EOPNOTSUPP; pvx_fork() then is a plain fork().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/page-flags.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "pvx_guest.h"

#define CREATE_TRACE_POINTS
#include "fork_trace.h"

enum pvx_fc_stat {
	PVX_FC_CALLS,		/* ioctl calls: done + errors + eopnotsupp */
	PVX_FC_DONE,		/* calls that copied everything they asked */
	PVX_FC_BATCHES,		/* PVX_HC_FORK_COPY hypercalls issued */
	PVX_FC_PAGES,		/* pages the host copied (also in failed calls) */
	PVX_FC_ERRORS,		/* calls refused or stopped, but EOPNOTSUPP */
	PVX_FC_EOPNOTSUPP,	/* calls refused: the host has no fork-copy */
	PVX_FC_RING_FULL,	/* batches the host stopped at its dirty ring */
	PVX_FC_NR
};

/*
 * Shared atomics, not per-CPU counters: a call costs at least one
 * hypercall and up to a GiB of copying, so the counters are never hot.
 */
static atomic64_t pvx_fc_stats[PVX_FC_NR];

static void pvx_fc_count(enum pvx_fc_stat s, u64 n)
{
	atomic64_add(n, &pvx_fc_stats[s]);
}

/* One batch: the hypercall's page and the pages it names. */
struct pvx_fc_batch {
	struct pvx_batch_hdr hdr;
	struct pvx_copy_pair pair[PVX_COPY_MAX_PAIRS];
};

struct pvx_fc_work {
	struct pvx_fc_batch *batch;	/* a page of its own: one GPA */
	struct page *src[PVX_COPY_MAX_PAIRS];
	struct page *dst[PVX_COPY_MAX_PAIRS];
	unsigned int batches;		/* hypercalls issued by this call */
};

/* ---- which memory a call may name ------------------------------------- */

/* A destination: the caller's own private anonymous pages, writable. */
static int pvx_fc_dst_vma(struct vm_area_struct *vma)
{
	if (!vma_is_anonymous(vma) ||
	    (vma->vm_flags & VM_SHARED))
		return -EINVAL;
	return (vma->vm_flags & VM_WRITE) ? 0 : -EFAULT;
}

/* A source: anything the caller can read that GUP can take. */
static int pvx_fc_src_vma(struct vm_area_struct *vma)
{
	if (!(vma->vm_flags & VM_READ) || (vma->vm_flags & (VM_IO | VM_PFNMAP)))
		return -EFAULT;
	return 0;
}

/*
 * Every mapping of [start, start + len) passes @ok, with no hole
 * (-EFAULT); the first failure answers. Caller holds the mmap lock.
 */
static int pvx_fc_walk(struct mm_struct *mm, unsigned long start,
		       unsigned long len,
		       int (*ok)(struct vm_area_struct *vma))
{
	unsigned long addr = start, end = start + len;
	struct vm_area_struct *vma;
	int ret;

	while (addr < end) {
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start > addr)
			return -EFAULT;
		ret = ok(vma);
		if (ret)
			return ret;
		addr = vma->vm_end;
	}
	return 0;
}

/* Both ranges of a call; caller holds the mmap lock. */
static int pvx_fc_check_vmas(struct mm_struct *mm, unsigned long src,
			     unsigned long dst, unsigned long len)
{
	int ret = pvx_fc_walk(mm, dst, len, pvx_fc_dst_vma);

	return ret ? ret : pvx_fc_walk(mm, src, len, pvx_fc_src_vma);
}

/* The arguments alone, in the order abi.rst documents. */
static int pvx_fc_check_args(const struct pvx_fork_copy_req *req)
{
	if (req->flags || req->reserved || !req->len ||
	    req->len > PVX_FORK_COPY_MAX_LEN || !PAGE_ALIGNED(req->src) ||
	    !PAGE_ALIGNED(req->dst) || !PAGE_ALIGNED(req->len) ||
	    req->src + req->len < req->src || req->dst + req->len < req->dst)
		return -EINVAL;
	/* The copies would read what earlier copies of the call wrote. */
	if (req->src < req->dst + req->len && req->dst < req->src + req->len)
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(req->src), req->len) ||
	    !access_ok(u64_to_user_ptr(req->dst), req->len))
		return -EFAULT;
	return 0;
}

/* ---- one batch ------------------------------------------------------- */

/* Drop the references to the @n source pages. */
static void pvx_fc_put(struct page **pages, long n)
{
	long i;

	for (i = 0; i < n; i++)
		put_page(pages[i]);
}

/* Unpin the @n destination pages, the first @dirty of them written. */
static void pvx_fc_unpin(struct page **pages, long n, long dirty)
{
	unpin_user_pages_dirty_lock(pages, dirty, true);
	unpin_user_pages(pages + dirty, n - dirty);
}

/*
 * Take the @n destination pages at @dst for writing and the source pages
 * at @src for reading: 0, or -errno with no page held. The destinations
 * are pinned (FOLL_PIN), not only referenced: the host writes them after
 * this, and a fork() by another thread of the caller meanwhile must give
 * its child a copy of a pinned anonymous page at once (as for any DMA
 * target) instead of sharing it copy-on-write, where the child would see
 * the host's later writes. GUP takes the mmap
 * lock itself (compat.h says why), so the mappings checked at the start
 * of the call may have changed meanwhile: GUP checks the permissions
 * again, and a destination page must still be anonymous, which a shared
 * or file page mapped there since would not be.
 */
static long pvx_fc_get_pages(struct pvx_fc_work *w, unsigned long src,
			     unsigned long dst, unsigned int n)
{
	long got_dst, got_src = 0, ret = 0;
	unsigned int i;

	got_dst = pin_user_pages_unlocked(dst, n, w->dst, FOLL_WRITE);
	if (got_dst == n)
		got_src = get_user_pages_unlocked(src, n, w->src, 0);
	if (got_dst < n)	/* short: the page after the last could not be had */
		ret = got_dst < 0 ? got_dst : -EFAULT;
	else if (got_src < n)
		ret = got_src < 0 ? got_src : -EFAULT;
	for (i = 0; !ret && i < n; i++)
		if (!PageAnon(w->dst[i]))
			ret = -EINVAL;
	if (ret) {
		pvx_fc_unpin(w->dst, max(got_dst, 0L), 0);
		pvx_fc_put(w->src, max(got_src, 0L));
	}
	return ret;
}

/* The host's answer to a batch as an errno (0: every pair copied). */
static long pvx_fc_errno(long hc)
{
	switch (hc) {
	case -PVX_ENOSYS:	/* the host stopped serving it meanwhile */
	case -PVX_EOPNOTSUPP:
		return -EOPNOTSUPP;
	case -PVX_ENOMEM:
		return -ENOMEM;
	default:
		/* the host refused a batch this module built, or faulted */
		pr_warn_ratelimited("host answered a fork-copy batch %ld\n", hc);
		return -EIO;
	}
}

/*
 * Copy the @n pages at @src to @dst with one hypercall. Returns 0 or
 * -errno; *@copied = the pages copied, which the host says also on a
 * copy that failed part way. 0 with *@copied < @n: the host stopped at
 * its dirty ring's soft limit (-PVX_EAGAIN) and the rest is to be sent
 * again.
 */
static long pvx_fc_one_batch(struct pvx_fc_work *w, unsigned long src,
			     unsigned long dst, unsigned int n,
			     unsigned long *copied)
{
	unsigned long rbx = 0;
	unsigned int i;
	long ret, hc;

	*copied = 0;
	ret = pvx_fc_get_pages(w, src, dst, n);
	if (ret)
		return ret;
	w->batch->hdr.flags = 0;
	w->batch->hdr.count = n;
	w->batch->hdr.reserved = 0;
	for (i = 0; i < n; i++) {
		w->batch->pair[i].src_gpa = page_to_phys(w->src[i]);
		w->batch->pair[i].dst_gpa = page_to_phys(w->dst[i]);
	}
	hc = pvx_hypercall_rbx(PVX_HC_FORK_COPY, __pa(w->batch), 0, 0, 0, &rbx);
	w->batches++;
	pvx_fc_count(PVX_FC_BATCHES, 1);
	if (hc >= 0)
		*copied = n;
	else if (hc == -PVX_EFAULT || hc == -PVX_EAGAIN)
		*copied = min_t(unsigned long, rbx, n);	/* RBX counts pairs */
	pvx_fc_unpin(w->dst, n, *copied);
	pvx_fc_put(w->src, n);
	pvx_fc_count(PVX_FC_PAGES, *copied);
	if (hc == -PVX_EAGAIN) {	/* stopped at the dirty ring: not an error */
		pvx_fc_count(PVX_FC_RING_FULL, 1);
		return 0;
	}
	return hc < 0 ? pvx_fc_errno(hc) : 0;
}

/* ---- the ioctl ------------------------------------------------------- */

/*
 * A host that stops at its dirty ring copies at least one page per batch
 * (KVM does not enter the guest with a soft-full ring); one that keeps
 * answering -PVX_EAGAIN without progress is refused after this many.
 */
#define PVX_FC_MAX_STALLS	16

/*
 * Copy the whole request, batch by batch; req->copied says how far. A
 * batch the host stopped at its dirty ring's soft limit is not an error:
 * KVM has the VMM collect the ring before this vCPU runs again, so the
 * next batch starts after the last page copied.
 */
static long pvx_fc_copy(struct pvx_fork_copy_req *req, struct pvx_fc_work *w)
{
	unsigned long off = 0, pages;
	unsigned int n, stalls = 0;
	long ret = 0;

	while (off < req->len) {
		n = min_t(u64, PVX_COPY_MAX_PAIRS, (req->len - off) >> PAGE_SHIFT);
		ret = pvx_fc_one_batch(w, req->src + off, req->dst + off, n,
				       &pages);
		req->copied += pages << PAGE_SHIFT;
		off += pages << PAGE_SHIFT;
		stalls = pages ? 0 : stalls + 1;
		if (!ret && stalls > PVX_FC_MAX_STALLS) {
			pr_warn_ratelimited("host copied nothing in %u fork-copy batches\n",
					    stalls);
			ret = -EIO;
		}
		/* GUP answers a fatal signal -EINTR or -EAGAIN: one errno */
		if ((ret || off < req->len) && fatal_signal_pending(current))
			ret = -EINTR;
		if (ret)
			break;
		cond_resched();
	}
	return ret;
}

static long pvx_fc_run(struct pvx_fork_copy_req *req, struct pvx_fc_work *w)
{
	struct mm_struct *mm = current->mm;
	long ret = pvx_fc_check_args(req);

	if (ret)
		return ret;
	/* All of both ranges before the first copy: refused means untouched. */
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	ret = pvx_fc_check_vmas(mm, req->src, req->dst, req->len);
	mmap_read_unlock(mm);
	if (ret)
		return ret;
	if (!pvx_host_has(PVX_F_FORK_COPY))
		return -EOPNOTSUPP;
	w->batch = (struct pvx_fc_batch *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!w->batch)
		return -ENOMEM;
	ret = pvx_fc_copy(req, w);
	free_page((unsigned long)w->batch);
	return ret;
}

static void pvx_fc_account(long ret)
{
	pvx_fc_count(PVX_FC_CALLS, 1);
	if (!ret)
		pvx_fc_count(PVX_FC_DONE, 1);
	else if (ret == -EOPNOTSUPP)
		pvx_fc_count(PVX_FC_EOPNOTSUPP, 1);
	else
		pvx_fc_count(PVX_FC_ERRORS, 1);
}

static long pvx_fc_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct pvx_fork_copy_req __user *ureq = (void __user *)arg;
	struct pvx_fork_copy_req req;
	struct pvx_fc_work *w;
	long ret;

	BUILD_BUG_ON(sizeof(req) != PVX_FORK_COPY_REQ_SIZE);
	BUILD_BUG_ON(sizeof(struct pvx_fc_batch) > PAGE_SIZE);
	if (copy_from_user(&req, ureq, sizeof(req))) {
		pvx_fc_account(-EFAULT);
		return -EFAULT;
	}
	req.copied = 0;
	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	ret = w ? pvx_fc_run(&req, w) : -ENOMEM;
	trace_guest_fork_copy(req.src, req.dst, req.len, req.copied,
			      w ? w->batches : 0, ret);
	kfree(w);
	pvx_fc_account(ret);
	if (put_user(req.copied, &ureq->copied) && !ret)
		ret = -EFAULT;
	return ret;
}

/* ---- /sys/kernel/pvx/fork_copy --------------------------------------- */

struct pvx_fc_attr {
	struct kobj_attribute kattr;
	enum pvx_fc_stat stat;
	unsigned int shift;	/* bytes: pages << PAGE_SHIFT */
};

static ssize_t pvx_fc_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	struct pvx_fc_attr *fa = container_of(attr, struct pvx_fc_attr, kattr);

	return sysfs_emit(buf, "%llu\n",
			  (u64)atomic64_read(&pvx_fc_stats[fa->stat]) << fa->shift);
}

#define PVX_FC_ATTR(_name, _stat, _shift)				\
	static struct pvx_fc_attr pvx_fc_attr_##_name = {		\
		.kattr = __ATTR(_name, 0444, pvx_fc_show, NULL),	\
		.stat = (_stat),					\
		.shift = (_shift),					\
	}

PVX_FC_ATTR(calls, PVX_FC_CALLS, 0);
PVX_FC_ATTR(done, PVX_FC_DONE, 0);
PVX_FC_ATTR(batches, PVX_FC_BATCHES, 0);
PVX_FC_ATTR(pages, PVX_FC_PAGES, 0);
PVX_FC_ATTR(bytes, PVX_FC_PAGES, PAGE_SHIFT);
PVX_FC_ATTR(errors, PVX_FC_ERRORS, 0);
PVX_FC_ATTR(eopnotsupp, PVX_FC_EOPNOTSUPP, 0);
PVX_FC_ATTR(ring_full, PVX_FC_RING_FULL, 0);

static struct attribute *pvx_fc_attrs[] = {
	&pvx_fc_attr_calls.kattr.attr,
	&pvx_fc_attr_done.kattr.attr,
	&pvx_fc_attr_batches.kattr.attr,
	&pvx_fc_attr_pages.kattr.attr,
	&pvx_fc_attr_bytes.kattr.attr,
	&pvx_fc_attr_errors.kattr.attr,
	&pvx_fc_attr_eopnotsupp.kattr.attr,
	&pvx_fc_attr_ring_full.kattr.attr,
	NULL
};

static const struct attribute_group pvx_fc_group = {
	.name = "fork_copy",
	.attrs = pvx_fc_attrs,
};

static int __init pvx_fc_init(void)
{
	int ret;

	ret = pvx_sysfs_add_group(&pvx_fc_group);
	if (ret)
		return ret;
	ret = pvx_register_ioctl(PVX_IOC_FORK_COPY, pvx_fc_ioctl);
	if (ret) {
		pvx_sysfs_remove_group(&pvx_fc_group);
		return ret;
	}
	if (pvx_host_has(PVX_F_FORK_COPY))
		pr_info("host copies pages in batches: PVX_IOC_FORK_COPY uses PVX_HC_FORK_COPY\n");
	else
		pr_info("host has no PVX_HC_FORK_COPY: PVX_IOC_FORK_COPY answers EOPNOTSUPP, pvx_fork() is fork()\n");
	return 0;
}

static void __exit pvx_fc_exit(void)
{
	pvx_unregister_ioctl(PVX_IOC_FORK_COPY);
	pvx_sysfs_remove_group(&pvx_fc_group);
}

module_init(pvx_fc_init);
module_exit(pvx_fc_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvx: batched fork-copy from the guest (PVX_IOC_FORK_COPY)");
