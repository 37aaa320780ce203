// SPDX-License-Identifier: GPL-2.0
/*
 * How pvx_host gets at hypercalls of a stock KVM: two ftrace hooks.
 *
 * 1. kvm_emulate_hypercall(), exported by kvm.ko and the VMCALL/VMMCALL
 *    exit handler of both kvm_intel and kvm_amd, is wrapped with an
 *    FTRACE_OPS_FL_IPMODIFY ops (the livepatch mechanism): for a number
 *    in the pvx range its callback resumes the traced call in
 *    pvx_hypercall_wrapper() instead, unless the caller is the wrapper
 *    itself, which calls the original. The wrapper lets stock KVM answer
 *    first and only steps in when KVM said -KVM_ENOSYS to a number in the
 *    pvx range. Every other number goes on into KVM's handler right from
 *    the callback: a stock hypercall pays one trip through the ftrace
 *    trampoline and a compare, nothing more (Documentation/bench.rst).
 *
 * 2. kvm_arch_post_init_vm() and kvm_arch_destroy_vm() (not exported,
 *    but traceable) get observe-only ops that tell vm.c a VM is being
 *    created (in the VMM's KVM_CREATE_VM, before any vCPU exists) or is
 *    gone. kvm_arch_post_init_vm() is the last step of kvm_create_vm()
 *    that can fail, and every failure from it on (and any later one of
 *    KVM_CREATE_VM) goes through kvm_arch_destroy_vm(), on 6.1 and 6.12:
 *    a state created there always sees its destruction.
 *
 * kvm_emulate_hypercall and mark_page_dirty_in_slot are taken from kvm.ko
 * through symbol_get() (kvm_internal.h), so that loading pvx_host
 * without kvm gives one clear error instead of "Unknown symbol", and
 * kvm.ko stays pinned while the hooks are in place. On a kernel that
 * exports them only to kvm-amd and kvm-intel (7.2) kvm_internal.h finds
 * their addresses through a kprobe and pins kvm.ko through kvm_get_kvm,
 * and, kvm_arch_post_init_vm() being gone there, VM creation is seen at
 * the successful return of kvm_arch_init_vm() by a kretprobe
 * (PVX_KVM_CREATE_KRETPROBE; Documentation/kernels.rst).
 */
#include "internal.h"

#include <linux/kprobes.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/rcupdate_wait.h>
#include <linux/delay.h>

#include "compat.h"
#include "kvm_internal.h"

static int (*pvx_orig_hypercall)(struct kvm_vcpu *vcpu);

/*
 * vCPUs between the first and the last instruction of the wrapper body.
 * Per CPU so that stock hypercalls do not bounce one cache line between
 * all vCPUs; a vCPU may increment on one CPU and decrement on another, so
 * only the sum means anything (see pvx_inflight_drain()).
 */
static DEFINE_PER_CPU(long, pvx_inflight);

/*
 * Decide from what stock KVM did whether pvx should serve the call.
 *
 * KVM writes -KVM_ENOSYS to RAX for a number it does not know, truncated
 * to 32 bits when the caller is not in 64-bit mode: (u64)-1000 tells a
 * 64-bit caller, 0xfffffc18 any other; in the latter case KVM compared
 * only the low 32 bits of the number, and so does pvx. Xen and Hyper-V
 * hypercalls (handled before that switch when enabled for the VM) never
 * write that value, and a CPL>0 caller gets -KVM_EPERM.
 */
static bool pvx_decode(struct kvm_vcpu *vcpu, struct pvx_call *call,
		       const unsigned long *in)
{
	unsigned long rax = pvx_kvm_reg_read(vcpu, VCPU_REGS_RAX);
	unsigned long nr = in[0];

	if (rax == (unsigned long)-KVM_ENOSYS) {
		call->long_mode = true;
	} else if (rax == (u32)-KVM_ENOSYS) {
		call->long_mode = false;
		nr = (u32)nr;
	} else {
		return false;
	}
	if (nr - PVX_HC_BASE >= PVX_HC_RANGE)
		return false;

	call->nr = nr;
	call->a0 = in[1];
	call->a1 = in[2];
	call->a2 = in[3];
	call->a3 = in[4];
	if (!call->long_mode) {
		call->a0 = (u32)call->a0;
		call->a1 = (u32)call->a1;
		call->a2 = (u32)call->a2;
		call->a3 = (u32)call->a3;
	}
	return true;
}

/*
 * Runs instead of kvm_emulate_hypercall() for every VMCALL/VMMCALL exit
 * whose number (low 32 bits) is in the pvx range, in the vCPU thread with
 * preemption enabled and kvm->srcu held.
 */
static int pvx_hypercall_wrapper(struct kvm_vcpu *vcpu)
{
	unsigned long in[5];
	struct pvx_call call;
	int ret;

	this_cpu_inc(pvx_inflight);

	/* KVM overwrites RAX with its answer: save the call first. */
	in[0] = pvx_kvm_reg_read(vcpu, VCPU_REGS_RAX);
	in[1] = pvx_kvm_reg_read(vcpu, VCPU_REGS_RBX);
	in[2] = pvx_kvm_reg_read(vcpu, VCPU_REGS_RCX);
	in[3] = pvx_kvm_reg_read(vcpu, VCPU_REGS_RDX);
	in[4] = pvx_kvm_reg_read(vcpu, VCPU_REGS_RSI);

	ret = pvx_orig_hypercall(vcpu);

	/*
	 * ret < 0 is an error KVM passes up. ret == 0 normally means an
	 * exit to userspace without an answer in RAX, which pvx_decode()
	 * rejects; the one exception is a userspace single-step exit after
	 * KVM completed the call (RAX written, RIP advanced), and serving
	 * the call then is right: the guest sees the same as without it.
	 */
	if (ret >= 0 && pvx_decode(vcpu, &call, in))
		pvx_dispatch(vcpu, &call);

	this_cpu_dec(pvx_inflight);
	return ret;
}

static long pvx_inflight_sum(void)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(pvx_inflight, cpu);
	return sum;
}

/*
 * Wait until no vCPU executes pvx_hypercall_wrapper(). Called after the
 * hypercall ops is unregistered, so no task gets newly redirected.
 *
 * 1. A task that the ftrace callback redirected but that has not reached
 *    this_cpu_inc() yet would be missed by the counter. Between the
 *    callback and the increment there is no voluntary context switch, so
 *    synchronize_rcu_tasks() waits for such a task to pass the increment.
 * 2. Every increment now happened before the sum is read, and counters
 *    only go down, so a sum of 0 means every such task has decremented.
 *    (Handlers may sleep for long, so this polls rather than spins.)
 * 3. The remaining window: a task that decremented but has not executed
 *    the wrapper's final RET yet still runs module text. It cannot pass
 *    a voluntary context switch before leaving the wrapper either, so a
 *    second synchronize_rcu_tasks() closes it before the text is freed.
 */
static void pvx_inflight_drain(void)
{
	synchronize_rcu_tasks();
	while (pvx_inflight_sum())
		msleep(20);
	synchronize_rcu_tasks();
}

/*
 * Runs on every entry to kvm_emulate_hypercall(struct kvm_vcpu *vcpu),
 * with preemption enabled (see pvx_hypercall_ops). It reads RAX as KVM is
 * about to (kvm_rax_read()); only the low 32 bits, which is all KVM looks
 * at for a caller that is not in 64-bit mode. A 64-bit caller with upper
 * bits set gets through here and is turned down by pvx_decode().
 */
static void notrace pvx_hypercall_ftrace(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *op,
					 struct ftrace_regs *fregs)
{
	struct kvm_vcpu *vcpu;
	u32 nr;

	vcpu = (struct kvm_vcpu *)ftrace_regs_get_argument(fregs, 0);
	nr = pvx_kvm_reg_read(vcpu, VCPU_REGS_RAX);
	/* Stock numbers: KVM's handler runs as if pvx were not there. */
	if (nr - PVX_HC_BASE >= PVX_HC_RANGE)
		return;
	/* The wrapper's own call of the original must reach the original. */
	if (pvx_within_module_text(parent_ip, THIS_MODULE))
		return;
	ftrace_regs_set_instruction_pointer(fregs,
					    (unsigned long)pvx_hypercall_wrapper);
}

#if PVX_KVM_CREATE_KRETPROBE
/*
 * 7.2 has no kvm_arch_post_init_vm(). kvm_arch_init_vm(kvm, type) is the
 * step of kvm_create_vm() before which no VM state exists and after whose
 * success every way out goes through kvm_arch_destroy_vm(); when it fails
 * itself, it does not. So the state is created at its return, and only
 * when it returned 0: a kretprobe, whose entry handler keeps the VM.
 * A VM whose instance the kretprobe missed (more than maxactive creations
 * at once) gets its state at its first pvx call, as one older than
 * pvx_host does.
 */
static int pvx_init_vm_entry(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	/* int kvm_arch_init_vm(struct kvm *kvm, unsigned long type) */
	*(struct kvm **)ri->data =
		(struct kvm *)regs_get_kernel_argument(regs, 0);
	return 0;
}

static int pvx_init_vm_return(struct kretprobe_instance *ri,
			      struct pt_regs *regs)
{
	if (regs_return_value(regs) == 0)
		pvx_vm_created(*(struct kvm **)ri->data);
	return 0;
}

static struct kretprobe pvx_create_vm_krp = {
	.kp.symbol_name = "kvm_arch_init_vm",
	.entry_handler = pvx_init_vm_entry,
	.handler = pvx_init_vm_return,
	.data_size = sizeof(struct kvm *),
};

static int pvx_hook_create_vm(void)
{
	int ret = register_kretprobe(&pvx_create_vm_krp);

	if (ret)
		pr_err("cannot hook kvm_arch_init_vm: error %d\n", ret);
	return ret;
}

static void pvx_unhook_create_vm(void)
{
	unregister_kretprobe(&pvx_create_vm_krp);
	if (pvx_create_vm_krp.nmissed)
		pr_info("%d VM creations not seen (their state came with their first call)\n",
			pvx_create_vm_krp.nmissed);
}
#else
static void notrace pvx_create_vm_ftrace(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *op,
					 struct ftrace_regs *fregs)
{
	/* int kvm_arch_post_init_vm(struct kvm *kvm) */
	pvx_vm_created((struct kvm *)ftrace_regs_get_argument(fregs, 0));
}
#endif

static void notrace pvx_destroy_vm_ftrace(unsigned long ip,
					  unsigned long parent_ip,
					  struct ftrace_ops *op,
					  struct ftrace_regs *fregs)
{
	/* void kvm_arch_destroy_vm(struct kvm *kvm) */
	pvx_vm_destroyed((struct kvm *)ftrace_regs_get_argument(fregs, 0));
}

/*
 * PERMANENT: sysctl kernel.ftrace_enabled=0 must not silently unhook us;
 * missing a VM destruction would hand a stale state to the next VM
 * allocated at the same address.
 *
 * The hypercall ops is on the path of every hypercall, so it asks for the
 * cheapest trampoline that may change the resume address
 * (PVX_FTRACE_OPS_FL_REDIRECT: no SAVE_REGS where the kernel has
 * DYNAMIC_FTRACE_WITH_ARGS) and for no RECURSION guard: with it, ftrace
 * would call the callback through ftrace_ops_assist_func() (recursion
 * bits and preemption off and on again); without, the ops' own
 * trampoline calls it directly. The callback calls no function that
 * could be traced (all it uses is inline, and the kernel's inline implies
 * notrace), so it cannot recurse.
 * It may be preempted; a task preempted in it or in the trampoline is
 * waited for by synchronize_rcu_tasks(), in ftrace_shutdown() for a
 * module's (dynamic) ops and again in pvx_inflight_drain().
 *
 * The creation and destruction ops call into vm.c (locks, allocations)
 * and keep the guard; one VM creation or destruction is not a hot path.
 */
static struct ftrace_ops pvx_hypercall_ops = {
	.func = pvx_hypercall_ftrace,
	.flags = PVX_FTRACE_OPS_FL_REDIRECT | FTRACE_OPS_FL_PERMANENT,
};

#if !PVX_KVM_CREATE_KRETPROBE
static struct ftrace_ops pvx_create_vm_ops = {
	.func = pvx_create_vm_ftrace,
	.flags = FTRACE_OPS_FL_RECURSION | FTRACE_OPS_FL_PERMANENT,
};
#endif

static struct ftrace_ops pvx_destroy_vm_ops = {
	.func = pvx_destroy_vm_ftrace,
	.flags = FTRACE_OPS_FL_RECURSION | FTRACE_OPS_FL_PERMANENT,
};

int pvx_hook_init(void)
{
	int ret = pvx_kvm_get(&pvx_orig_hypercall);

	if (ret == -ENOENT)
		pr_err("kvm is not loaded; load kvm and kvm_amd/kvm_intel first\n");
	return ret;
}

void pvx_hook_exit(void)
{
	pvx_kvm_put();
}

/* Attach observe-only @ops to KVM's function @name. */
static int pvx_hook_kvm_func(struct ftrace_ops *ops, const char *name)
{
	/* ftrace_set_filter() parses (and may modify) its buffer. */
	char func[32];
	int ret;

	if (strscpy(func, name, sizeof(func)) < 0)
		return -E2BIG;
	ret = ftrace_set_filter(ops, func, strlen(func), 1);
	if (ret) {
		pr_err("cannot trace %s: error %d\n", name, ret);
		return ret;
	}
	ret = register_ftrace_function(ops);
	if (ret) {
		pr_err("cannot hook %s: error %d\n", name, ret);
		ftrace_free_filter(ops);
	}
	return ret;
}

static void pvx_unhook_kvm_func(struct ftrace_ops *ops)
{
	unregister_ftrace_function(ops);
	ftrace_free_filter(ops);
}

#if !PVX_KVM_CREATE_KRETPROBE
static int pvx_hook_create_vm(void)
{
	return pvx_hook_kvm_func(&pvx_create_vm_ops, "kvm_arch_post_init_vm");
}

static void pvx_unhook_create_vm(void)
{
	pvx_unhook_kvm_func(&pvx_create_vm_ops);
}
#endif

static int pvx_hook_hypercall(void)
{
	unsigned long ip = (unsigned long)pvx_orig_hypercall;
	int ret;

	ret = ftrace_set_filter_ip(&pvx_hypercall_ops, ip, 0, 0);
	if (ret) {
		pr_err("cannot trace kvm_emulate_hypercall: error %d\n", ret);
		return ret;
	}
	ret = register_ftrace_function(&pvx_hypercall_ops);
	if (ret) {
		/* -EBUSY: another IPMODIFY user (livepatch?) owns it. */
		pr_err("cannot hook kvm_emulate_hypercall: error %d\n", ret);
		ftrace_free_filter(&pvx_hypercall_ops);
	}
	return ret;
}

static void pvx_unhook_hypercall(void)
{
	unregister_ftrace_function(&pvx_hypercall_ops);
	ftrace_free_filter(&pvx_hypercall_ops);
	pvx_inflight_drain();
}

/*
 * The destruction hook goes in first and comes off last, so that every
 * VM state pvx creates is seen to its end; the creation hook goes in
 * before the hypercall hook, so that VMs created from then on get their
 * policy before their first call.
 */
int pvx_hook_start(void)
{
	int ret;

	ret = pvx_hook_kvm_func(&pvx_destroy_vm_ops, "kvm_arch_destroy_vm");
	if (ret)
		return ret;
	ret = pvx_hook_create_vm();
	if (ret)
		goto err_destroy;
	ret = pvx_hook_hypercall();
	if (ret)
		goto err_create;
	return 0;

err_create:
	pvx_unhook_create_vm();
err_destroy:
	pvx_unhook_kvm_func(&pvx_destroy_vm_ops);
	return ret;
}

void pvx_hook_stop(void)
{
	pvx_unhook_hypercall();
	pvx_unhook_create_vm();
	pvx_unhook_kvm_func(&pvx_destroy_vm_ops);
}
