// SPDX-License-Identifier: GPL-2.0
/*
 * PVX_IOC_KSM_PROTECT: a program keeps the host's KSM off a range of its
 * own memory (uapi/pvx.h has the contract, Documentation/ksm.rst the
 * rest).
 *
 * The host is told guest-physical addresses, so the pages must stay
 * where they are for as long as the protection lasts: they are pinned
 * for write, long term (pin_user_pages_fast() with FOLL_WRITE |
 * FOLL_LONGTERM: a copy-on-write page is broken first, a page in a
 * movable zone is migrated out first, and no migration, compaction or
 * swap moves it afterwards). Pinned memory is locked memory: it is
 * charged to the caller's RLIMIT_MEMLOCK with account_locked_vm(), which
 * CAP_IPC_LOCK lifts, the rule of mlock() and of VFIO's pins.
 *
 * The protection lives in a new anonymous-inode file: its release (the
 * last close, which the process's exit does too) withdraws the hint,
 * unpins the pages and uncharges them from the mm that was charged
 * (held with mmgrab(), so it can be uncharged after its process is gone).
 * The mapping going away ends it too, earlier: an MMU interval notifier
 * over the range sees munmap() and mremap() of any part of it
 * (MMU_NOTIFY_UNMAP) and the address space's end (MMU_NOTIFY_RELEASE:
 * a copy of the fd may outlive the process), and a work item releases
 * the protection (the notifier may be called where it cannot sleep, and
 * the hypercall and the unpinning may). It acts on nothing else:
 * MADV_DONTNEED and the guest's own KSM looking at the page
 * (MMU_NOTIFY_CLEAR) leave the protection on the pinned page; the fd
 * then still holds it.
 *
 * Who may: any user, for the caller's own memory, within RLIMIT_MEMLOCK,
 * the user's share (user_max_pages, all the user's fds together) and what
 * max_pages leaves past the kernel API's reserve (ksm.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "pvx_guest.h"
#include "ksm_internal.h"

atomic_long_t pvx_ksm_pinned_now = ATOMIC_LONG_INIT(0);

/* One protection: the pages pinned and the mm they are charged to. */
struct pvx_ksm_prot {
	struct mm_struct *mm;	/* mmgrab()bed */
	kuid_t owner;		/* whose share of max_pages it counts against */
	unsigned long npages;
	struct page **pages;
	struct mutex lock;	/* released: the fd's release or the unmap */
	bool released;		/* pages withdrawn, unpinned, uncharged */
	struct mmu_interval_notifier mni;	/* over the range */
	struct work_struct unmapped;		/* queued by the notifier */
};

/* Give back what pvx_ksm_pin() took. */
static void pvx_ksm_unpin(struct pvx_ksm_prot *p)
{
	unpin_user_pages_dirty_lock(p->pages, p->npages, true);
	atomic_long_sub(p->npages, &pvx_ksm_pinned_now);
	account_locked_vm(p->mm, p->npages, false);
}

/*
 * Charge and pin the caller's @p->npages pages at @addr: 0, -ENOMEM
 * (RLIMIT_MEMLOCK), -EFAULT or GUP's error, with nothing held.
 */
static int pvx_ksm_pin(struct pvx_ksm_prot *p, unsigned long addr)
{
	int got, ret;

	ret = account_locked_vm(p->mm, p->npages, true);
	if (ret)
		return ret;
	got = pin_user_pages_fast(addr, p->npages, FOLL_WRITE | FOLL_LONGTERM,
				  p->pages);
	if (got == p->npages) {
		atomic_long_add(p->npages, &pvx_ksm_pinned_now);
		return 0;
	}
	/* short: the page after the last one could not be had */
	if (got > 0)
		unpin_user_pages(p->pages, got);
	account_locked_vm(p->mm, p->npages, false);
	return got < 0 ? got : -EFAULT;
}

static void pvx_ksm_prot_free(struct pvx_ksm_prot *p)
{
	mmdrop(p->mm);
	kvfree(p->pages);
	kfree(p);
}

/*
 * End the protection once, whoever comes first: the unmap's work item
 * (@unmapped) or the fd's release. The unmap is counted first, so that a
 * reader who sees the pages unpinned sees it counted too.
 */
static void pvx_ksm_prot_end(struct pvx_ksm_prot *p, bool unmapped)
{
	mutex_lock(&p->lock);
	if (!p->released) {
		if (unmapped)
			pvx_ksm_count(PVX_KSM_UNMAPPED, 1);
		/* withdraw before the pages can go to anyone else */
		__pvx_ksm_unprotect(p->pages, p->npages, p->owner);
		pvx_ksm_unpin(p);
		p->released = true;
	}
	mutex_unlock(&p->lock);
}

static void pvx_ksm_unmapped_fn(struct work_struct *work)
{
	pvx_ksm_prot_end(container_of(work, struct pvx_ksm_prot, unmapped),
			 true);
}

/*
 * Part of the range is unmapped, or the address space ends. Only a work
 * item is queued here (this may be a context that cannot sleep); p lives
 * until the fd's release, which removes this notifier (waiting for a
 * call in progress) before it flushes the work.
 */
static bool pvx_ksm_invalidate(struct mmu_interval_notifier *mni,
			       const struct mmu_notifier_range *range,
			       unsigned long cur_seq)
{
	struct pvx_ksm_prot *p = container_of(mni, struct pvx_ksm_prot, mni);

	mmu_interval_set_seq(mni, cur_seq);
	if (range->event == MMU_NOTIFY_UNMAP ||
	    range->event == MMU_NOTIFY_RELEASE)
		schedule_work(&p->unmapped);
	return true;
}

static const struct mmu_interval_notifier_ops pvx_ksm_mni_ops = {
	.invalidate = pvx_ksm_invalidate,
};

static int pvx_ksm_fd_release(struct inode *inode, struct file *file)
{
	struct pvx_ksm_prot *p = file->private_data;

	/* no call of the notifier runs or comes after these two */
	mmu_interval_notifier_remove(&p->mni);
	cancel_work_sync(&p->unmapped);
	pvx_ksm_prot_end(p, false);
	pvx_ksm_prot_free(p);
	return 0;
}

/* .owner: every protection fd holds a reference on this module */
static const struct file_operations pvx_ksm_fops = {
	.owner = THIS_MODULE,
	.release = pvx_ksm_fd_release,
	.llseek = noop_llseek,
};

/* The arguments alone, in uapi/pvx.h's order. */
static int pvx_ksm_check_req(const struct pvx_ksm_protect_req *req)
{
	if (req->flags || req->reserved || !req->len ||
	    !PAGE_ALIGNED(req->addr) || !PAGE_ALIGNED(req->len) ||
	    req->addr + req->len < req->addr)
		return -EINVAL;
	if (req->len > PVX_KSM_PROTECT_MAX_LEN)
		return -E2BIG;
	if (!access_ok(u64_to_user_ptr(req->addr), req->len))
		return -EFAULT;
	return 0;
}

/*
 * Pin, protect and wrap in a file: the file, or ERR_PTR with nothing held.
 * The host check comes before the pin: without the host there is nothing
 * to pin for. (The core checks it again, under its lock.)
 */
static struct file *pvx_ksm_protect_file(const struct pvx_ksm_protect_req *req)
{
	struct pvx_ksm_prot *p;
	struct file *f;
	int ret;

	if (!pvx_host_has(PVX_F_KSM_HINT))
		return ERR_PTR(-EOPNOTSUPP);
	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return ERR_PTR(-ENOMEM);
	p->npages = req->len >> PAGE_SHIFT;
	p->pages = kvmalloc_array(p->npages, sizeof(*p->pages),
				  GFP_KERNEL_ACCOUNT);
	p->mm = current->mm;
	p->owner = current_uid();
	mmgrab(p->mm);
	mutex_init(&p->lock);
	INIT_WORK(&p->unmapped, pvx_ksm_unmapped_fn);
	ret = p->pages ? pvx_ksm_pin(p, req->addr) : -ENOMEM;
	if (ret)
		goto err_free;
	ret = __pvx_ksm_protect(p->pages, p->npages, p->owner);
	if (ret)
		goto err_unpin;
	/*
	 * After the pins: an unmap between the two is not seen, and the
	 * protection then lasts until the fd is closed, as it would without
	 * the notifier.
	 */
	ret = mmu_interval_notifier_insert(&p->mni, p->mm, req->addr, req->len,
					   &pvx_ksm_mni_ops);
	if (ret)
		goto err_unprotect;
	f = anon_inode_getfile("[pvx_ksm]", &pvx_ksm_fops, p, O_RDWR);
	if (!IS_ERR(f))
		return f;	/* from here on, release frees p */
	ret = PTR_ERR(f);
	mmu_interval_notifier_remove(&p->mni);
	cancel_work_sync(&p->unmapped);
	if (p->released)	/* the work ended it meanwhile */
		goto err_free;
err_unprotect:
	__pvx_ksm_unprotect(p->pages, p->npages, p->owner);
err_unpin:
	pvx_ksm_unpin(p);
err_free:
	pvx_ksm_prot_free(p);
	return ERR_PTR(ret);
}

static long pvx_ksm_ioc_protect(struct pvx_ksm_protect_req __user *ureq)
{
	struct pvx_ksm_protect_req req;
	struct file *f;
	int fd, ret;

	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	ret = pvx_ksm_check_req(&req);
	if (ret)
		return ret;
	/* the new fd is close-on-exec: a program it runs did not ask for it */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	f = pvx_ksm_protect_file(&req);
	if (IS_ERR(f)) {
		put_unused_fd(fd);
		return PTR_ERR(f);
	}
	if (put_user(fd, &ureq->fd)) {
		put_unused_fd(fd);
		fput(f);	/* releases the protection */
		return -EFAULT;
	}
	fd_install(fd, f);
	return fd;
}

static long pvx_ksm_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	long ret;

	BUILD_BUG_ON(sizeof(struct pvx_ksm_protect_req) != PVX_KSM_PROTECT_REQ_SIZE);
	pvx_ksm_count(PVX_KSM_PROTECT_CALLS, 1);
	ret = pvx_ksm_ioc_protect((struct pvx_ksm_protect_req __user *)arg);
	if (ret < 0)
		pvx_ksm_count_err(ret);
	return ret;
}

int pvx_ksm_fd_init(void)
{
	int ret = pvx_register_ioctl(PVX_IOC_KSM_PROTECT, pvx_ksm_ioctl);

	if (ret)
		pr_err("cannot register PVX_IOC_KSM_PROTECT: %d\n", ret);
	return ret;
}

void pvx_ksm_fd_exit(void)
{
	pvx_unregister_ioctl(PVX_IOC_KSM_PROTECT);
}
