// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_fork_copy: PVX_HC_FORK_COPY, a batch of guest page copies done by the
 * host in one exit.
 *
 * After fork() a guest pays one copy-on-write fault per page it writes; in
 * a VM each of those may add exits of its own (shadow paging, memory the
 * host never backed, dirty logging). With this call the guest hands the
 * host up to PVX_COPY_MAX_PAIRS (source, destination) pairs of 4 KiB guest
 * pages in one page-aligned batch page, and the host copies them inside
 * the calling VM, in the calling vCPU's thread (Documentation/fork_copy.rst
 * says where that wins and where it cannot).
 *
 * Every address is checked before anything is copied: a batch that fails
 * a check changes no guest memory. The checks, in order (the first that
 * fails answers, and the counter of its class counts the call):
 *   1. a1..a3 not 0: reserved (-PVX_EINVAL)
 *   2. the batch GPA not 4 KiB aligned: unaligned (-PVX_EINVAL)
 *   3. the batch page outside the caller's memslots: no_slot (-PVX_EFAULT)
 *      ("memslots": of the vCPU's address space, created by the VMM, not
 *      being deleted; KVM's internal slots do not count)
 *   4. the header's flags or reserved field not 0: reserved (-PVX_EINVAL)
 *   5. count > PVX_COPY_MAX_PAIRS: too_big (-PVX_E2BIG)
 *   6. each pair in batch order: source or destination not 4 KiB aligned:
 *      unaligned; source = destination: same_page (-PVX_EINVAL); source
 *      or destination outside the memslots: no_slot; destination in a
 *      KVM_MEM_READONLY slot: read_only (-PVX_EFAULT)
 *   7. two pairs with one destination, or a destination that is the source
 *      of some pair (the result would depend on the order of the copies):
 *      overlap (-PVX_EINVAL)
 * The host reads the batch once into its own memory (a page it cannot
 * read is "fault", -PVX_EFAULT), so the guest cannot change it between
 * the checks and the copies.
 *
 * Copies go through pvx_read_guest() and pvx_write_guest_page() (pvx_host,
 * guest_mem.c) with a bounce page: the same memslot lookup
 * KVM's own emulation uses, and the write marks the destination dirty in
 * the slot's dirty bitmap or ring, so dirty logging and migration see
 * every page this call wrote. On a kernel where pvx cannot mark pages
 * dirty (Documentation/kernels.rst), a batch with a destination in a
 * dirty-logged slot is refused before anything is copied ("dirty_log",
 * -PVX_EOPNOTSUPP; the guest copies itself). kvm->srcu is held (pvx_host.h), so no
 * memslot goes away meanwhile; what can still fail is the host's access
 * to the VMM's mapping (munmap, mprotect, a poisoned page): the call then
 * stops there with -PVX_EFAULT ("fault") and RBX says how many pairs
 * (the first RBX, in batch order) were copied.
 *
 * With the dirty ring (KVM_CAP_DIRTY_LOG_RING, what QEMU uses with
 * dirty-ring-size=N) every destination write pushes one entry onto the
 * calling vCPU's ring, and KVM checks the ring's soft limit only before
 * the guest runs again: a full batch could push up to 255 entries into a
 * reserve of 64 and overwrite entries the VMM has not collected, whose
 * pages a migration would then never send again. So the copy stops before
 * the write that would pass the soft limit and answers -PVX_EAGAIN
 * ("ring_full") with RBX = the pairs copied; KVM then makes the VMM
 * collect the ring before the vCPU runs, and the guest sends the rest
 * again (Documentation/fork_copy.rst).
 *
 * RBX = pairs copied, on every answer of this handler (0 when a check
 * failed); RAX = the same number on success. Counters: debugfs
 * vm<id>-<pid>/fork_copy and pvx/fork_copy; tracepoint pvx:fork_copy.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bsearch.h>
#include <linux/build_bug.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "compat.h"
#include "fork_copy_calc.h"
#include "pvx_host.h"

#define CREATE_TRACE_POINTS
#include "fork_copy_trace.h"

static const char * const pvx_fc_stat_names[PVX_FC_STAT_NR] = {
	[PVX_FC_STAT_CALLS]	= "calls",
	[PVX_FC_STAT_DONE]	= "done",
	[PVX_FC_STAT_PAGES]	= "pages",
	[PVX_FC_STAT_BYTES]	= "bytes",
	[PVX_FC_STAT_RESERVED]	= "reserved",
	[PVX_FC_STAT_UNALIGNED]	= "unaligned",
	[PVX_FC_STAT_NO_SLOT]	= "no_slot",
	[PVX_FC_STAT_TOO_BIG]	= "too_big",
	[PVX_FC_STAT_SAME_PAGE]	= "same_page",
	[PVX_FC_STAT_READ_ONLY]	= "read_only",
	[PVX_FC_STAT_OVERLAP]	= "overlap",
	[PVX_FC_STAT_FAULT]	= "fault",
	[PVX_FC_STAT_DIRTY_LOG]	= "dirty_log",
	[PVX_FC_STAT_RING_FULL]	= "ring_full",
	[PVX_FC_STAT_ENOMEM]	= "enomem",
};

/* The guest's answer for each outcome (RAX); done answers the count. */
static const long pvx_fc_errno[PVX_FC_STAT_NR] = {
	[PVX_FC_STAT_RESERVED]	= -PVX_EINVAL,
	[PVX_FC_STAT_UNALIGNED]	= -PVX_EINVAL,
	[PVX_FC_STAT_NO_SLOT]	= -PVX_EFAULT,
	[PVX_FC_STAT_TOO_BIG]	= -PVX_E2BIG,
	[PVX_FC_STAT_SAME_PAGE]	= -PVX_EINVAL,
	[PVX_FC_STAT_READ_ONLY]	= -PVX_EFAULT,
	[PVX_FC_STAT_OVERLAP]	= -PVX_EINVAL,
	[PVX_FC_STAT_FAULT]	= -PVX_EFAULT,
	[PVX_FC_STAT_DIRTY_LOG]	= -PVX_EOPNOTSUPP,
	[PVX_FC_STAT_RING_FULL]	= -PVX_EAGAIN,
	[PVX_FC_STAT_ENOMEM]	= -PVX_ENOMEM,
};

/* The batch as the guest laid it out in its page. */
struct pvx_fc_batch {
	struct pvx_batch_hdr hdr;
	struct pvx_copy_pair pairs[PVX_COPY_MAX_PAIRS];
};

static_assert(sizeof(struct pvx_batch_hdr) == PVX_BATCH_HDR_SIZE);
static_assert(sizeof(struct pvx_copy_pair) == PVX_COPY_PAIR_SIZE);
static_assert(sizeof(struct pvx_fc_batch) <= PVX_BATCH_BYTES);
/* A pair copies one 4 KiB page, which is one host page here. */
static_assert(PAGE_SIZE == 4096);
/* pvx_fc_overlap() sorts the destinations in the bounce page. */
static_assert(PVX_COPY_MAX_PAIRS * sizeof(u64) <= PAGE_SIZE);

static atomic64_t pvx_fc_stats[PVX_FC_STAT_NR];

/* Per-VM counters: all but enomem. */
static struct pvx_feature_counters pvx_fc_counters = {
	.name = "fork_copy",
	.names = pvx_fc_stat_names,
	.nr = PVX_FC_STAT_NR,
	.vm_nr = PVX_FC_STAT_ENOMEM,
	.feature = PVX_F_FORK_COPY,
	.totals = pvx_fc_stats,
};

/*
 * @gpa is ordinary guest RAM of the calling vCPU's address space: in a
 * memslot the VMM created (not one of KVM's internal slots) that is not
 * being deleted and is reachable through its userspace mapping.
 */
static struct kvm_memory_slot *pvx_fc_slot(struct kvm_vcpu *vcpu, u64 gpa)
{
	return pvx_guest_slot(vcpu, gpa_to_gfn(gpa));
}

static enum pvx_fc_stat pvx_fc_check_pair(struct kvm_vcpu *vcpu,
					  const struct pvx_copy_pair *p)
{
	enum pvx_fc_stat s = pvx_fc_pair_shape(p);
	struct kvm_memory_slot *dst;

	if (s != PVX_FC_STAT_DONE)
		return s;
	dst = pvx_fc_slot(vcpu, p->dst_gpa);
	if (!dst || !pvx_fc_slot(vcpu, p->src_gpa))
		return PVX_FC_STAT_NO_SLOT;
	if (dst->flags & KVM_MEM_READONLY)
		return PVX_FC_STAT_READ_ONLY;
	/* Dirty-logged, and this kernel does not let pvx mark it dirty. */
	if (!pvx_guest_slot_writable(dst))
		return PVX_FC_STAT_DIRTY_LOG;
	return PVX_FC_STAT_DONE;
}

/* Read and check the batch at @batch_gpa into @b; nothing is written. */
static enum pvx_fc_stat pvx_fc_load(struct kvm_vcpu *vcpu, u64 batch_gpa,
				    struct pvx_fc_batch *b, void *scratch)
{
	enum pvx_fc_stat s;
	u32 i;

	b->hdr.count = 0;	/* what the trace shows when it is not read */
	if (!PAGE_ALIGNED(batch_gpa))
		return PVX_FC_STAT_UNALIGNED;
	if (!pvx_fc_slot(vcpu, batch_gpa))
		return PVX_FC_STAT_NO_SLOT;
	if (pvx_read_guest(vcpu, batch_gpa, &b->hdr, sizeof(b->hdr)))
		return PVX_FC_STAT_FAULT;
	s = pvx_fc_hdr_check(&b->hdr);
	if (s != PVX_FC_STAT_DONE)
		return s;
	if (pvx_read_guest(vcpu, batch_gpa + sizeof(b->hdr), b->pairs,
			   b->hdr.count * sizeof(b->pairs[0])))
		return PVX_FC_STAT_FAULT;

	for (i = 0; i < b->hdr.count; i++) {
		s = pvx_fc_check_pair(vcpu, &b->pairs[i]);
		if (s != PVX_FC_STAT_DONE)
			return s;
	}
	if (pvx_fc_overlap(b->pairs, b->hdr.count, scratch))
		return PVX_FC_STAT_OVERLAP;
	return PVX_FC_STAT_DONE;
}

/* Copy one checked pair through @bounce; the stat that answers. */
static enum pvx_fc_stat pvx_fc_copy_pair(struct kvm_vcpu *vcpu,
					 const struct pvx_copy_pair *p,
					 void *bounce)
{
	int ret;

	if (pvx_read_guest(vcpu, p->src_gpa, bounce, PAGE_SIZE))
		return PVX_FC_STAT_FAULT;
	ret = pvx_write_guest_page(vcpu, gpa_to_gfn(p->dst_gpa), bounce, 0,
				   PAGE_SIZE);
	if (ret == -EAGAIN)
		return PVX_FC_STAT_RING_FULL;
	return ret ? PVX_FC_STAT_FAULT : PVX_FC_STAT_DONE;
}

/*
 * Copy the checked batch in order through @bounce; *@copied = the number
 * of pairs copied. Returns done, or why the copy stopped early: fault (the
 * host could not access a page), ring_full (the next write would pass the
 * dirty ring's soft limit). Each write marks its destination dirty where
 * the slot is dirty-logged (pvx_write_guest_page(); pvx_fc_check_pair()
 * refused the batch where that is not possible).
 */
static enum pvx_fc_stat pvx_fc_copy(struct kvm_vcpu *vcpu,
				    const struct pvx_fc_batch *b, void *bounce,
				    u32 *copied)
{
	enum pvx_fc_stat s = PVX_FC_STAT_DONE;
	u32 i;

	for (i = 0; i < b->hdr.count; i++) {
		s = pvx_fc_copy_pair(vcpu, &b->pairs[i], bounce);
		if (s != PVX_FC_STAT_DONE)
			break;
		/* Up to 255 pages in one exit: let the host run others. */
		cond_resched();
	}
	*copied = i;
	return s;
}

/* Buffers of one call: the batch and a bounce page. */
struct pvx_fc_bufs {
	struct pvx_fc_batch *batch;
	void *bounce;
};

static bool pvx_fc_bufs_alloc(struct pvx_fc_bufs *bufs)
{
	bufs->batch = kmalloc(sizeof(*bufs->batch), GFP_KERNEL_ACCOUNT);
	bufs->bounce = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	return bufs->batch && bufs->bounce;
}

static void pvx_fc_bufs_free(struct pvx_fc_bufs *bufs)
{
	kfree(bufs->bounce);
	kfree(bufs->batch);
}

static long pvx_fork_copy(struct kvm_vcpu *vcpu, struct pvx_vm *vm,
			  const struct pvx_call *call)
{
	struct pvx_feature_vm_counters *vc;
	struct pvx_fc_bufs bufs = {};
	enum pvx_fc_stat s;
	u32 count = 0, copied = 0;
	long ret;

	vc = pvx_feature_counters_vm(vm, &pvx_fc_counters);
	if (!vc || !pvx_fc_bufs_alloc(&bufs)) {
		s = PVX_FC_STAT_ENOMEM;
		goto out;
	}
	/* Every bit of the unused arguments is reserved. */
	if (call->a1 || call->a2 || call->a3) {
		s = PVX_FC_STAT_RESERVED;
		goto out;
	}
	s = pvx_fc_load(vcpu, call->a0, bufs.batch, bufs.bounce);
	count = bufs.batch->hdr.count;
	if (s != PVX_FC_STAT_DONE)
		goto out;

	s = pvx_fc_copy(vcpu, bufs.batch, bufs.bounce, &copied);
	pvx_feature_counters_add(&pvx_fc_counters, vc, PVX_FC_STAT_PAGES,
				 copied);
	pvx_feature_counters_add(&pvx_fc_counters, vc, PVX_FC_STAT_BYTES,
				 (u64)copied * PAGE_SIZE);
out:
	pvx_fc_bufs_free(&bufs);
	pvx_feature_counters_add(&pvx_fc_counters, vc, PVX_FC_STAT_CALLS, 1);
	pvx_feature_counters_add(&pvx_fc_counters, vc, s, 1);
	ret = s == PVX_FC_STAT_DONE ? copied : pvx_fc_errno[s];
	pvx_set_out_reg(vcpu, call, VCPU_REGS_RBX, copied);
	trace_fork_copy(pvx_vm_id(vm), vcpu->vcpu_id, call->a0, count, copied,
			ret, s);
	return ret;
}

static struct pvx_handler pvx_fc_handler = {
	.nr = PVX_HC_FORK_COPY,
	.feature = PVX_F_FORK_COPY,
	.fn = pvx_fork_copy,
	.owner = THIS_MODULE,
};

static int __init pvx_fc_init(void)
{
	int ret;

	pvx_feature_counters_init(&pvx_fc_counters);
	ret = pvx_register_handler(&pvx_fc_handler);
	if (ret) {
		pr_err("cannot register PVX_HC_FORK_COPY: %d\n", ret);
		pvx_feature_counters_exit(&pvx_fc_counters);
		return ret;
	}
	pr_info("serving PVX_HC_FORK_COPY (0x%x)\n", PVX_HC_FORK_COPY);
	return 0;
}

static void __exit pvx_fc_exit(void)
{
	/* Waits for calls in flight and destroys every VM's state. */
	pvx_unregister_handler(&pvx_fc_handler);
	pvx_feature_counters_exit(&pvx_fc_counters);
}

module_init(pvx_fc_init);
module_exit(pvx_fc_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvx: batched fork-copy hypercall (PVX_HC_FORK_COPY)");
