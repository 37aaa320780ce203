// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_yield: PVX_HC_YIELD, directed yield to a vCPU of the caller's VM.
 *
 * A guest vCPU that spins on a lock names the vCPU that holds it; when
 * that vCPU is preempted on the host, the caller gives its CPU time to it
 * with kvm_vcpu_yield_to(), as KVM's own PLE handler (kvm_vcpu_on_spin())
 * and KVM_HC_SCHED_YIELD do, but aimed by the guest.
 *
 * The target: with PVX_YIELD_F_APIC_ID (ABI v2) a0 is its APIC ID, which
 * the guest knows (x86_cpu_to_apicid) and the host finds as the KVM
 * vcpu_id: x86 VMMs create each vCPU with its APIC ID as vcpu_id, and
 * KVM_HC_KICK_CPU relies on the same. Without the flag (ABI v1) a0 is the
 * vCPU index, the KVM_CREATE_VCPU order: kept for v1 guests, but nothing
 * makes it the guest's CPU number (sparse APIC IDs, a VMM that creates
 * vCPUs in another order, hotplug). Tracepoint and counters name vCPUs by
 * vcpu_id only, like pvx:hypercall.
 *
 * Answers (RAX):
 *   -PVX_EINVAL               flags other than PVX_YIELD_F_ALL, a target
 *                             that is not a vCPU of this VM (no such APIC
 *                             ID, or an index past the online vCPUs), or
 *                             the caller itself
 *   PVX_YIELD_TARGET_RUNNING  the target executes guest code right now
 *                             (vcpu->mode IN_GUEST_MODE or
 *                             EXITING_GUEST_MODE): no yield
 *   PVX_YIELD_DONE            the target was preempted while runnable
 *                             (vcpu->ready) and the scheduler accepted the
 *                             yield: the target is its CPU's next task and
 *                             the caller gave up its CPU
 *   PVX_YIELD_NOT_DONE        anything else: the target is halted/blocked,
 *                             never ran, is outside KVM_RUN, runs host code
 *                             of its own, or the scheduler declined
 *
 * Halted or blocked targets: a vCPU that executed HLT (or waits for SIPI)
 * sleeps in kvm_vcpu_block(), not runnable; kvm_sched_out() marks a vCPU
 * "ready" only when it is scheduled out while runnable, and kvm_sched_in()
 * clears it, so a sleeping target is never ready and the answer is
 * PVX_YIELD_NOT_DONE without touching the scheduler (yield_to() would
 * refuse a task that is not TASK_RUNNING anyway). The target is not woken:
 * a lock holder does not halt, and waking it is the job of the guest's
 * kick (KVM_HC_KICK_CPU). A halted vCPU that is halt-polling runs on a
 * CPU outside guest mode and gets the same answer.
 *
 * Per-VM counters live in the VM's debugfs directory (file "yield"), host
 * totals in /sys/kernel/debug/pvx/yield; every answer is a pvx:yield
 * event. Host policy (pvx_host's "features" parameter) and VM policy
 * (vm<id>-<pid>/features) switch the call off through PVX_F_YIELD: pvx_host
 * answers -PVX_EOPNOTSUPP then and this handler does not run.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/dcache.h>
#include <linux/debugfs.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "kvm_internal.h"
#include "pvx_host.h"

#define CREATE_TRACE_POINTS
#include "yield_trace.h"

enum pvx_yield_stat {
	PVX_YIELD_STAT_CALLS,		/* calls that reached the handler */
	PVX_YIELD_STAT_DONE,
	PVX_YIELD_STAT_NOT_DONE,
	PVX_YIELD_STAT_TARGET_RUNNING,
	PVX_YIELD_STAT_INVALID,		/* -PVX_EINVAL: target or flags */
	PVX_YIELD_STAT_ENOMEM,		/* no per-VM state (host totals only) */
	PVX_YIELD_STAT_NR
};

/* Per-VM counters; the file shows all but enomem. */
#define PVX_YIELD_VM_STAT_NR	PVX_YIELD_STAT_ENOMEM

static const char * const pvx_yield_stat_names[PVX_YIELD_STAT_NR] = {
	[PVX_YIELD_STAT_CALLS]		= "calls",
	[PVX_YIELD_STAT_DONE]		= "done",
	[PVX_YIELD_STAT_NOT_DONE]	= "not_done",
	[PVX_YIELD_STAT_TARGET_RUNNING]	= "target_running",
	[PVX_YIELD_STAT_INVALID]	= "invalid",
	[PVX_YIELD_STAT_ENOMEM]		= "enomem",
};

/* Per-VM state, created by the VM's first call (pvx_vm_set_priv()). */
struct pvx_yield_vm {
	atomic64_t stats[PVX_YIELD_VM_STAT_NR];
	struct dentry *file;		/* vm<id>-<pid>/yield */
};

static atomic64_t pvx_yield_stats[PVX_YIELD_STAT_NR];
static struct dentry *pvx_yield_file;	/* /sys/kernel/debug/pvx/yield */

static void pvx_yield_show_stats(struct seq_file *m, const atomic64_t *stats,
				 unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		seq_printf(m, "%s %lld\n", pvx_yield_stat_names[i],
			   atomic64_read(&stats[i]));
}

static int pvx_yield_vm_show(struct seq_file *m, void *v)
{
	struct pvx_yield_vm *yv = m->private;

	pvx_yield_show_stats(m, yv->stats, PVX_YIELD_VM_STAT_NR);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvx_yield_vm);

static int pvx_yield_total_show(struct seq_file *m, void *v)
{
	pvx_yield_show_stats(m, pvx_yield_stats, PVX_YIELD_STAT_NR);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvx_yield_total);

/*
 * Runs when the VM dies, when pvx_host unloads or when this module
 * unregisters its handler; never while a handler of the VM runs.
 * debugfs_remove() waits for readers of the file in flight.
 */
static void pvx_yield_vm_dtor(struct pvx_vm *vm, void *data)
{
	struct pvx_yield_vm *yv = data;

	debugfs_remove(yv->file);
	kfree(yv);
}

static struct pvx_yield_vm *pvx_yield_vm_get(struct pvx_vm *vm)
{
	struct pvx_yield_vm *yv, *new;

	yv = pvx_vm_get_priv(vm, PVX_F_YIELD);
	if (likely(yv))
		return yv;

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return NULL;
	yv = pvx_vm_set_priv(vm, PVX_F_YIELD, new, pvx_yield_vm_dtor);
	if (yv != new) {
		/* Another vCPU of the VM installed its state first. */
		kfree(new);
		return yv;
	}
	/*
	 * Only the vCPU that installed the state creates the file; the
	 * destructor cannot run before this handler returns.
	 */
	yv->file = debugfs_create_file("yield", 0444, pvx_vm_debugfs_dir(vm),
				       yv, &pvx_yield_vm_fops);
	return yv;
}

static long pvx_yield_to(struct kvm_vcpu *target)
{
	/*
	 * In guest mode the target's task is on a CPU and cannot be
	 * preempted, so yield_to() could not help (it refuses a task on a
	 * CPU). The guest sees TARGET_RUNNING of a moment ago.
	 */
	if (pvx_kvm_vcpu_in_guest(target))
		return PVX_YIELD_TARGET_RUNNING;

	/*
	 * Like KVM_HC_SCHED_YIELD and kvm_vcpu_on_spin(): only a target
	 * that was preempted while runnable inside KVM_RUN is worth a
	 * yield. Halted (blocked), never run and idle-in-userspace vCPUs
	 * are not "ready" and get NOT_DONE without a trip through the
	 * scheduler's run-queue locks.
	 */
	if (!pvx_kvm_vcpu_ready(target))
		return PVX_YIELD_NOT_DONE;

	/*
	 * > 0: the target is its run queue's next buddy and this task gave
	 * up its CPU (schedule() ran). 0: the target runs or sleeps by now,
	 * or is in another scheduling class. < 0 (-ESRCH): both run queues
	 * have a single task, nobody to yield to.
	 */
	return kvm_vcpu_yield_to(target) > 0 ? PVX_YIELD_DONE :
					       PVX_YIELD_NOT_DONE;
}

/*
 * The vCPU the guest named, by APIC ID (PVX_YIELD_F_APIC_ID) or by index,
 * or NULL when it is not a valid target. Both lookups take an int: the
 * whole guest value is checked first.
 */
static struct kvm_vcpu *pvx_yield_target(struct kvm_vcpu *vcpu,
					 unsigned long a0, unsigned long flags)
{
	struct kvm_vcpu *target;

	if (flags & PVX_YIELD_F_APIC_ID) {
		if (a0 >= KVM_MAX_VCPU_IDS)
			return NULL;
		target = kvm_get_vcpu_by_id(vcpu->kvm, a0);
	} else {
		if (a0 >= (unsigned int)atomic_read(&vcpu->kvm->online_vcpus))
			return NULL;
		target = kvm_get_vcpu(vcpu->kvm, a0);
	}
	if (!target || target == vcpu)
		return NULL;
	return target;
}

static void pvx_yield_count(struct pvx_yield_vm *yv, enum pvx_yield_stat s)
{
	atomic64_inc(&pvx_yield_stats[PVX_YIELD_STAT_CALLS]);
	atomic64_inc(&pvx_yield_stats[s]);
	if (yv) {
		atomic64_inc(&yv->stats[PVX_YIELD_STAT_CALLS]);
		atomic64_inc(&yv->stats[s]);
	}
}

static long pvx_yield(struct kvm_vcpu *vcpu, struct pvx_vm *vm,
		      const struct pvx_call *call)
{
	struct pvx_yield_vm *yv = pvx_yield_vm_get(vm);
	struct kvm_vcpu *target = NULL;
	enum pvx_yield_stat s;
	long ret;

	if (!yv) {
		ret = -PVX_ENOMEM;
		s = PVX_YIELD_STAT_ENOMEM;
		goto out;
	}

	/* Every bit is checked, also above the 32 of PVX_YIELD_F_ALL. */
	if (!(call->a1 & ~(unsigned long)PVX_YIELD_F_ALL))
		target = pvx_yield_target(vcpu, call->a0, call->a1);
	if (!target) {
		ret = -PVX_EINVAL;
		s = PVX_YIELD_STAT_INVALID;
		goto out;
	}

	ret = pvx_yield_to(target);
	switch (ret) {
	case PVX_YIELD_DONE:
		s = PVX_YIELD_STAT_DONE;
		break;
	case PVX_YIELD_TARGET_RUNNING:
		s = PVX_YIELD_STAT_TARGET_RUNNING;
		break;
	default:
		s = PVX_YIELD_STAT_NOT_DONE;
		break;
	}
out:
	pvx_yield_count(yv, s);
	trace_yield(pvx_vm_id(vm), vcpu->vcpu_id, target ? target->vcpu_id : -1,
		    call->a0, call->a1, ret);
	return ret;
}

static struct pvx_handler pvx_yield_handler = {
	.nr = PVX_HC_YIELD,
	.feature = PVX_F_YIELD,
	.fn = pvx_yield,
	.owner = THIS_MODULE,
};

static int __init pvx_yield_init(void)
{
	struct dentry *root;
	int ret;

	/* pvx_host's directory; without debugfs there are no counters. */
	root = debugfs_lookup("pvx", NULL);
	if (!IS_ERR_OR_NULL(root)) {
		pvx_yield_file = debugfs_create_file("yield", 0444, root, NULL,
						     &pvx_yield_total_fops);
		dput(root);
	}

	ret = pvx_register_handler(&pvx_yield_handler);
	if (ret) {
		pr_err("cannot register PVX_HC_YIELD: %d\n", ret);
		debugfs_remove(pvx_yield_file);
		return ret;
	}
	pr_info("serving PVX_HC_YIELD (0x%x)\n", PVX_HC_YIELD);
	return 0;
}

static void __exit pvx_yield_exit(void)
{
	/* Waits for calls in flight and destroys every VM's state. */
	pvx_unregister_handler(&pvx_yield_handler);
	debugfs_remove(pvx_yield_file);
}

module_init(pvx_yield_init);
module_exit(pvx_yield_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvx: directed yield hypercall (PVX_HC_YIELD)");
