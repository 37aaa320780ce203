// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_locality: the guest half of NUMA locality hints.
 *
 * PVX_IOC_NUMA_HINT on /dev/pvx: a thread pinned to a CPU names the
 * buffer it works on; this module turns the buffer's resident pages into
 * guest-physical ranges (contiguous pages merged, at most one batch of
 * PVX_NUMA_MAX_RANGES) and sends them with PVX_HC_NUMA_HINT from the
 * caller's vCPU. The host (pvx_numa.ko) finds the node holding most of
 * that memory and may run the vCPU there (Documentation/numa.rst).
 *
 * Pages are looked up with get_user_pages_fast_only(): a page that is not
 * resident is skipped, never faulted in, so a hint costs at most one
 * lookup per page of the buffer (PVX_NUMA_HINT_MAX_LEN bounds it) and
 * allocates nothing but one batch page. Who may: CAP_SYS_NICE, because
 * the hint moves a vCPU that other users' tasks run on, as
 * sched_setaffinity() on another user's task needs it. How often: the
 * host's rate limit per vCPU (EAGAIN).
 *
 * On a host without PVX_HC_NUMA_HINT the module loads, says so once and
 * the ioctl answers EOPNOTSUPP.
 *
 * With parameter auto the module also builds the map by itself, from the
 * threads that run longest on each CPU (locmap.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/io.h>
#include <linux/gfp.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/sched/signal.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

#include "pvx_guest.h"
#include "locality.h"
#include "locality_calc.h"

/* Pages looked up per get_user_pages_fast_only() call. */
#define PVX_LOC_CHUNK	64

enum pvx_loc_stat {
	PVX_LOC_HINTS,		/* hints the host accepted */
	PVX_LOC_RANGES,		/* ranges in them */
	PVX_LOC_BYTES,		/* resident bytes in them */
	PVX_LOC_EAGAIN,		/* the host's rate limit */
	PVX_LOC_ERRORS,		/* any other refusal, ours or the host's */
	PVX_LOC_NR
};

static DEFINE_PER_CPU(u64 [PVX_LOC_NR], pvx_loc_stats);

static void pvx_loc_count(enum pvx_loc_stat s, u64 n)
{
	this_cpu_add(pvx_loc_stats[s], n);
}

/*
 * The resident pages of [addr, addr + len) into @b, in address order,
 * until the batch is full; their number, or -EINTR.
 */
static long pvx_loc_collect(unsigned long addr, unsigned long len,
			    struct pvx_loc_batch *b)
{
	struct page *pages[PVX_LOC_CHUNK];
	unsigned long end = addr + len, n;
	long resident = 0;
	int got, i;
	bool room = true;

	while (addr < end && room) {
		n = min_t(unsigned long, PVX_LOC_CHUNK, (end - addr) >> PAGE_SHIFT);
		got = get_user_pages_fast_only(addr, n, 0, pages);
		if (got < 0)
			got = 0;
		for (i = 0; i < got; i++) {
			if (room)
				room = pvx_loc_add(b, page_to_phys(pages[i]));
			if (room)
				resident++;
			put_page(pages[i]);
		}
		/* Stopped short: the page after the last one is not there. */
		addr += ((unsigned long)got + (got < n)) << PAGE_SHIFT;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return resident;
}

static long pvx_loc_errno(long hc)
{
	switch (hc) {
	case -PVX_EAGAIN:
		return -EAGAIN;
	case -PVX_ENOSYS:
	case -PVX_EOPNOTSUPP:
		return -EOPNOTSUPP;
	case -PVX_ENOMEM:
		return -ENOMEM;
	default:
		return -EIO;	/* the host refused a batch this module built */
	}
}

static long pvx_loc_send(struct pvx_numa_hint_req *req)
{
	struct pvx_loc_batch *b;
	unsigned long home;
	long resident, hc;

	BUILD_BUG_ON(sizeof(*b) > PAGE_SIZE);
	b = (struct pvx_loc_batch *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!b)
		return -ENOMEM;
	resident = pvx_loc_collect(req->addr, req->len, b);
	if (resident <= 0) {
		free_page((unsigned long)b);
		return resident ? resident : -ENODATA;
	}
	hc = pvx_hypercall_rbx(PVX_HC_NUMA_HINT, __pa(b), 0, 0, 0, &home);
	req->ranges = b->hdr.count;
	free_page((unsigned long)b);
	if (hc < 0)
		return pvx_loc_errno(hc);
	req->home = (s32)home;
	req->pages = resident;
	pvx_loc_count(PVX_LOC_HINTS, 1);
	pvx_loc_count(PVX_LOC_RANGES, req->ranges);
	pvx_loc_count(PVX_LOC_BYTES, (u64)resident << PAGE_SHIFT);
	return 0;
}

static long pvx_loc_check(const struct pvx_numa_hint_req *req)
{
	if (req->flags || req->reserved || !req->len ||
	    req->len > PVX_NUMA_HINT_MAX_LEN || !PAGE_ALIGNED(req->addr) ||
	    !PAGE_ALIGNED(req->len) || req->addr + req->len < req->addr)
		return -EINVAL;
	if (!access_ok((void __user *)(unsigned long)req->addr, req->len))
		return -EFAULT;
	if (!capable(CAP_SYS_NICE))
		return -EPERM;
	if (!pvx_host_has(PVX_F_NUMA_HINT))
		return -EOPNOTSUPP;
	return 0;
}

static long pvx_loc_ioc_hint(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct pvx_numa_hint_req req;
	long ret;

	BUILD_BUG_ON(sizeof(req) != PVX_NUMA_HINT_REQ_SIZE);
	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	ret = pvx_loc_check(&req);
	if (!ret)
		ret = pvx_loc_send(&req);
	if (ret) {
		pvx_loc_count(ret == -EAGAIN ? PVX_LOC_EAGAIN : PVX_LOC_ERRORS, 1);
		return ret;
	}
	if (copy_to_user((void __user *)arg, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

/* ---- /sys/kernel/pvx/locality ------------------------------------------ */

static const char * const pvx_loc_stat_names[PVX_LOC_NR] = {
	"hints", "ranges", "bytes", "eagain", "errors",
};

static ssize_t pvx_loc_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	u64 sum = 0;
	int s, cpu;

	for (s = 0; s < PVX_LOC_NR; s++)
		if (!strcmp(attr->attr.name, pvx_loc_stat_names[s]))
			break;
	if (s == PVX_LOC_NR)
		return -EINVAL;
	for_each_possible_cpu(cpu)
		sum += per_cpu(pvx_loc_stats, cpu)[s];
	return sysfs_emit(buf, "%llu\n", sum);
}

static struct kobj_attribute pvx_loc_attrs[PVX_LOC_NR] = {
	__ATTR(hints, 0444, pvx_loc_show, NULL),
	__ATTR(ranges, 0444, pvx_loc_show, NULL),
	__ATTR(bytes, 0444, pvx_loc_show, NULL),
	__ATTR(eagain, 0444, pvx_loc_show, NULL),
	__ATTR(errors, 0444, pvx_loc_show, NULL),
};

/* The ioctl's counters, then the automatic map's (filled at init). */
static struct attribute *pvx_loc_attr_list[PVX_LOC_NR + 16];

static const struct attribute_group pvx_loc_group = {
	.name = "locality",
	.attrs = pvx_loc_attr_list,
};

static int __init pvx_loc_init(void)
{
	unsigned int i, n = 0;
	int ret;

	for (i = 0; i < PVX_LOC_NR; i++)
		pvx_loc_attr_list[n++] = &pvx_loc_attrs[i].attr;
	for (i = 0; pvx_locmap_attrs[i]; i++) {
		if (WARN_ON(n + 1 >= ARRAY_SIZE(pvx_loc_attr_list)))
			return -EINVAL;
		pvx_loc_attr_list[n++] = pvx_locmap_attrs[i];
	}
	ret = pvx_sysfs_add_group(&pvx_loc_group);
	if (ret)
		return ret;
	ret = pvx_register_ioctl(PVX_IOC_NUMA_HINT, pvx_loc_ioc_hint);
	if (ret)
		goto out_sysfs;
	if (pvx_host_has(PVX_F_NUMA_HINT))
		pr_info("host takes NUMA hints: PVX_IOC_NUMA_HINT sends them\n");
	else
		pr_info("host has no PVX_HC_NUMA_HINT: PVX_IOC_NUMA_HINT answers EOPNOTSUPP\n");
	ret = pvx_locmap_init();
	if (ret)
		goto out_ioctl;
	return 0;

out_ioctl:
	pvx_unregister_ioctl(PVX_IOC_NUMA_HINT);
out_sysfs:
	pvx_sysfs_remove_group(&pvx_loc_group);
	return ret;
}

static void __exit pvx_loc_exit(void)
{
	pvx_locmap_exit();
	pvx_unregister_ioctl(PVX_IOC_NUMA_HINT);
	pvx_sysfs_remove_group(&pvx_loc_group);
}

module_init(pvx_loc_init);
module_exit(pvx_loc_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvx: NUMA locality hints from the guest (PVX_IOC_NUMA_HINT, automatic map)");
