// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_yield: PVX_HC_YIELD, directed yield to a vCPU of the caller's VM.
 *
 * A guest vCPU that spins on a lock names the vCPU that holds it; when
 * that vCPU is preempted on the host, the caller gives its CPU time to it
 * with the scheduler's yield_to() on the target's task, as KVM's own PLE
 * handler (kvm_vcpu_on_spin(), through kvm_vcpu_yield_to()) and
 * KVM_HC_SCHED_YIELD do, but aimed by the guest.
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
 *   -PVX_EINVAL               flags other than PVX_YIELD_F_ALL (none when
 *                             the host announces ABI v1), a target
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
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/task.h>

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

static const char * const pvx_yield_stat_names[PVX_YIELD_STAT_NR] = {
	[PVX_YIELD_STAT_CALLS]		= "calls",
	[PVX_YIELD_STAT_DONE]		= "done",
	[PVX_YIELD_STAT_NOT_DONE]	= "not_done",
	[PVX_YIELD_STAT_TARGET_RUNNING]	= "target_running",
	[PVX_YIELD_STAT_INVALID]	= "invalid",
	[PVX_YIELD_STAT_ENOMEM]		= "enomem",
};

static atomic64_t pvx_yield_stats[PVX_YIELD_STAT_NR];

/* Per-VM counters: all but enomem. */
static struct pvx_feature_counters pvx_yield_counters = {
	.name = "yield",
	.names = pvx_yield_stat_names,
	.nr = PVX_YIELD_STAT_NR,
	.vm_nr = PVX_YIELD_STAT_ENOMEM,
	.feature = PVX_F_YIELD,
	.totals = pvx_yield_stats,
};

static long pvx_yield_to(struct kvm_vcpu *target)
{
	struct task_struct *task;
	int ret;

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
	 * What kvm_vcpu_yield_to() does, which newer kernels export only
	 * to kvm-amd and kvm-intel: the scheduler's yield_to() on the task
	 * that last ran the target (Documentation/kernels.rst).
	 * > 0: the target is its run queue's next buddy and this task gave
	 * up its CPU (schedule() ran). 0: the target runs or sleeps by now,
	 * or is in another scheduling class. < 0 (-ESRCH): both run queues
	 * have a single task, nobody to yield to.
	 */
	task = pvx_kvm_vcpu_task(target);
	if (!task)
		return PVX_YIELD_NOT_DONE;
	ret = yield_to(task, true);
	put_task_struct(task);
	return ret > 0 ? PVX_YIELD_DONE : PVX_YIELD_NOT_DONE;
}

/* The flags of the ABI version the host announces. */
static u32 pvx_yield_flags(void)
{
	return pvx_abi_announced() >= 2 ? PVX_YIELD_F_ALL : 0;
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

static void pvx_yield_count(struct pvx_feature_vm_counters *vc,
			    enum pvx_yield_stat s)
{
	pvx_feature_counters_add(&pvx_yield_counters, vc, PVX_YIELD_STAT_CALLS, 1);
	pvx_feature_counters_add(&pvx_yield_counters, vc, s, 1);
}

static long pvx_yield(struct kvm_vcpu *vcpu, struct pvx_vm *vm,
		      const struct pvx_call *call)
{
	struct pvx_feature_vm_counters *vc;
	struct kvm_vcpu *target = NULL;
	enum pvx_yield_stat s;
	long ret;

	vc = pvx_feature_counters_vm(vm, &pvx_yield_counters);
	if (!vc) {
		ret = -PVX_ENOMEM;
		s = PVX_YIELD_STAT_ENOMEM;
		goto out;
	}

	/*
	 * Every bit is checked, also above the 32 of PVX_YIELD_F_ALL. A host
	 * announcing ABI v1 refuses v2's flag, as a v1 host does.
	 */
	if (!(call->a1 & ~(unsigned long)pvx_yield_flags()))
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
	pvx_yield_count(vc, s);
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
	int ret;

	pvx_feature_counters_init(&pvx_yield_counters);
	ret = pvx_register_handler(&pvx_yield_handler);
	if (ret) {
		pr_err("cannot register PVX_HC_YIELD: %d\n", ret);
		pvx_feature_counters_exit(&pvx_yield_counters);
		return ret;
	}
	pr_info("serving PVX_HC_YIELD (0x%x)\n", PVX_HC_YIELD);
	return 0;
}

static void __exit pvx_yield_exit(void)
{
	/* Waits for calls in flight and destroys every VM's state. */
	pvx_unregister_handler(&pvx_yield_handler);
	pvx_feature_counters_exit(&pvx_yield_counters);
}

module_init(pvx_yield_init);
module_exit(pvx_yield_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvx: directed yield hypercall (PVX_HC_YIELD)");
