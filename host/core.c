// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_host core: policy (module parameters), the dispatch table of pvx
 * hypercalls, the built-in PROBE call and the API for feature modules.
 *
 * hook.c hands every hypercall that stock KVM answered with -KVM_ENOSYS
 * and whose number is in the pvx range to pvx_dispatch().
 */
#include "internal.h"

#include <linux/bitops.h>
#include <linux/kernel.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/srcu.h>
#include <linux/stringify.h>
#include <linux/timekeeping.h>

#include "compat.h"
#include "kvm_internal.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

bool pvx_enable = true;
module_param_named(enable, pvx_enable, bool, 0644);
MODULE_PARM_DESC(enable,
		 "Serve pvx hypercalls (default Y); N makes every pvx call answer KVM's stock -ENOSYS, PROBE included");

unsigned int pvx_features = PVX_F_ALL;

/*
 * @buf as one u32 (any base, one trailing newline) that @valid accepts,
 * into *@knob: 0, or -EINVAL or -ERANGE and *@knob keeps its value. The
 * features parameter and the per-VM sysfs files share it.
 */
int pvx_store_u32(u32 *knob, const char *buf, bool (*valid)(u32 v))
{
	unsigned int v;
	int ret;

	ret = kstrtouint(buf, 0, &v);
	if (ret)
		return ret;
	if (!valid(v))
		return -EINVAL;
	WRITE_ONCE(*knob, v);
	return 0;
}

static int pvx_features_set(const char *val, const struct kernel_param *kp)
{
	return pvx_store_u32(kp->arg, val, pvx_features_valid);
}

static int pvx_features_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "0x%x\n",
			 READ_ONCE(*(unsigned int *)kp->arg));
}

static const struct kernel_param_ops pvx_features_ops = {
	.set = pvx_features_set,
	.get = pvx_features_get,
};

module_param_cb(features, &pvx_features_ops, &pvx_features, 0644);
MODULE_PARM_DESC(features,
		 "PVX_F_* calls the host serves (default 0x1f = all); a cleared bit answers -EOPNOTSUPP and is hidden from PROBE; bit 0 (PROBE) cannot be cleared");

/*
 * The ABI version PROBE announces. A pool of hosts that live-migrate
 * guests between them and run different pvx versions announces the oldest
 * one's, as it masks CPUID features to the oldest CPU: a guest then never
 * learns a call's newer meaning on one host that the next one lacks.
 */
static unsigned int pvx_abi_version = PVX_ABI_VERSION;

static bool pvx_abi_version_valid(u32 v)
{
	return v >= 1 && v <= PVX_ABI_VERSION;
}

static int pvx_abi_version_set(const char *val, const struct kernel_param *kp)
{
	return pvx_store_u32(kp->arg, val, pvx_abi_version_valid);
}

static const struct kernel_param_ops pvx_abi_version_ops = {
	.set = pvx_abi_version_set,
	.get = param_get_uint,
};

module_param_cb(abi_version, &pvx_abi_version_ops, &pvx_abi_version, 0644);
MODULE_PARM_DESC(abi_version,
		 "ABI version PROBE announces, 1.." __stringify(PVX_ABI_VERSION)
		 " (default " __stringify(PVX_ABI_VERSION)
		 "); calls keep the meaning they had in it");

u32 pvx_abi_announced(void)
{
	return READ_ONCE(pvx_abi_version);
}
EXPORT_SYMBOL_GPL(pvx_abi_announced);

atomic64_t pvx_stats[PVX_STAT_NR];

/*
 * The dispatch table. Readers are vCPU threads in pvx_dispatch(), whose
 * handlers may sleep, hence SRCU; writers hold pvx_table_mutex.
 */
static struct pvx_handler __rcu *pvx_table[PVX_HC_RANGE];
static DEFINE_MUTEX(pvx_table_mutex);
static struct srcu_struct pvx_srcu;
/* OR of the features of all registered handlers; PROBE reports it. */
static u32 pvx_registered;
/* Handlers registered or removed since load: part of PROBE's epoch. */
static u32 pvx_registered_gen;

static long pvx_probe(struct kvm_vcpu *vcpu, struct pvx_vm *vm,
		      const struct pvx_call *call);

static struct pvx_handler pvx_probe_handler = {
	.nr = PVX_HC_PROBE,
	.feature = PVX_F_PROBE,
	.fn = pvx_probe,
	.owner = THIS_MODULE,
};

/* Features that host and VM policy allow for @vm, before registration. */
static u32 pvx_policy_features(const struct pvx_vm *vm)
{
	return READ_ONCE(pvx_features) & READ_ONCE(vm->features);
}

/*
 * PROBE's epoch (RSI): changes whenever the host's state of this VM is new
 * and a guest must send again what it keeps there (never-merge pins, its
 * NUMA map): another VM (the destination of a live migration, a new VMM
 * process), pvx_host loaded again (new per-VM state), a feature module
 * loaded or removed. The generation times an odd constant is a bijection,
 * so each one gives this VM another value; never 0, which a guest reads as
 * "a host without epochs" (RSI is the guest's own 0 then).
 */
static u32 pvx_probe_epoch(const struct pvx_vm *vm)
{
	u32 e = vm->salt ^ (READ_ONCE(pvx_registered_gen) * 0x9e3779b9u);

	return e ?: 1;
}

/*
 * PROBE's host facts (PVX_PROBE_*), beside the feature bits: no policy
 * masks them, they describe the VM rather than offer a call.
 */
static u32 pvx_probe_facts(struct kvm_vcpu *vcpu)
{
	bool nested;

	if (!pvx_kvm_paging_mode(vcpu, &nested))
		return 0;
	return PVX_PROBE_PAGING_KNOWN | (nested ? PVX_PROBE_NESTED_PAGING : 0);
}

static long pvx_probe(struct kvm_vcpu *vcpu, struct pvx_vm *vm,
		      const struct pvx_call *call)
{
	if (call->a0)
		return -PVX_EINVAL;

	pvx_set_out_reg(vcpu, call, VCPU_REGS_RBX, PVX_MAGIC);
	pvx_set_out_reg(vcpu, call, VCPU_REGS_RCX, pvx_abi_announced());
	pvx_set_out_reg(vcpu, call, VCPU_REGS_RDX,
			(READ_ONCE(pvx_registered) & pvx_policy_features(vm)) |
			pvx_probe_facts(vcpu));
	pvx_set_out_reg(vcpu, call, VCPU_REGS_RSI, pvx_probe_epoch(vm));
	return 0;
}

static void pvx_account(struct pvx_vm *vm, long ret)
{
	if (ret >= 0)
		return;

	switch (ret) {
	case -PVX_ENOSYS:
		pvx_stat_inc(PVX_STAT_ENOSYS);
		if (vm)
			pvx_vm_stat_inc(vm, PVX_VM_STAT_ENOSYS);
		return;
	case -PVX_EINVAL:
		pvx_stat_inc(PVX_STAT_EINVAL);
		break;
	case -PVX_EOPNOTSUPP:
		pvx_stat_inc(PVX_STAT_EOPNOTSUPP);
		break;
	case -PVX_ENOMEM:
		pvx_stat_inc(PVX_STAT_ENOMEM);
		break;
	}
	pvx_stat_inc(PVX_STAT_ERRORS);
	if (vm)
		pvx_vm_stat_inc(vm, PVX_VM_STAT_ERRORS);
}

/* Store @ret as the guest's RAX, account and trace it. */
static void pvx_finish(struct kvm_vcpu *vcpu, struct pvx_vm *vm,
		       const struct pvx_call *call, long ret, bool handled,
		       u64 duration_ns)
{
	unsigned long rax = ret;

	pvx_account(vm, ret);
	/* Unhandled: leave KVM's own -KVM_ENOSYS, bit for bit. */
	if (handled) {
		if (!call->long_mode)
			rax = (u32)rax;
		pvx_kvm_reg_write(vcpu, VCPU_REGS_RAX, rax);
	}
	trace_hypercall(vm ? vm->id : 0, vcpu->vcpu_id, call->nr, ret,
			duration_ns);
}

static long pvx_call_handler(struct kvm_vcpu *vcpu, struct pvx_vm *vm,
			     const struct pvx_handler *h,
			     const struct pvx_call *call, u64 *duration_ns)
{
	u64 start;
	long ret;

	if (!trace_hypercall_enabled())
		return h->fn(vcpu, vm, call);

	start = ktime_get_ns();
	ret = h->fn(vcpu, vm, call);
	*duration_ns = ktime_get_ns() - start;
	return ret;
}

/*
 * Serve one pvx-range hypercall that stock KVM answered with -KVM_ENOSYS.
 * Runs in the vCPU thread with preemption enabled (may sleep).
 */
void pvx_dispatch(struct kvm_vcpu *vcpu, const struct pvx_call *call)
{
	const struct pvx_handler *h;
	struct pvx_vm *vm;
	u64 duration_ns = 0;
	long ret;
	int idx;

	if (!READ_ONCE(pvx_enable))
		return;

	vm = pvx_vm_get(vcpu->kvm);
	if (IS_ERR(vm)) {
		/*
		 * No state to say whether this VM gets pvx: the policy of the
		 * moment decides, as it would have for the state (vm.c). A
		 * VM the admin keeps off sees stock KVM, PROBE included.
		 */
		if (!pvx_policy_new_vm(NULL))
			return;
		pvx_stat_inc(PVX_STAT_CALLS);
		pvx_finish(vcpu, NULL, call, -PVX_ENOMEM, true, 0);
		return;
	}
	if (!READ_ONCE(vm->enabled))
		return;

	pvx_stat_inc(PVX_STAT_CALLS);
	pvx_vm_stat_inc(vm, PVX_VM_STAT_CALLS);
	if (call->nr == PVX_HC_PROBE) {
		pvx_stat_inc(PVX_STAT_PROBE);
		pvx_vm_stat_inc(vm, PVX_VM_STAT_PROBE);
	}

	idx = srcu_read_lock(&pvx_srcu);
	h = srcu_dereference(pvx_table[PVX_HC_INDEX(call->nr)], &pvx_srcu);
	if (!h) {
		srcu_read_unlock(&pvx_srcu, idx);
		pvx_finish(vcpu, vm, call, -PVX_ENOSYS, false, 0);
		return;
	}
	if (pvx_policy_features(vm) & h->feature)
		ret = pvx_call_handler(vcpu, vm, h, call, &duration_ns);
	else
		ret = -PVX_EOPNOTSUPP;
	srcu_read_unlock(&pvx_srcu, idx);

	pvx_finish(vcpu, vm, call, ret, true, duration_ns);
}

void pvx_set_out_reg(struct kvm_vcpu *vcpu, const struct pvx_call *call,
		     int reg, unsigned long val)
{
	switch (reg) {
	case VCPU_REGS_RBX:
	case VCPU_REGS_RCX:
	case VCPU_REGS_RDX:
	case VCPU_REGS_RSI:
		break;
	default:
		return;
	}
	if (!call->long_mode)
		val = (u32)val;
	pvx_kvm_reg_write(vcpu, reg, val);
}
EXPORT_SYMBOL_GPL(pvx_set_out_reg);

bool pvx_vm_feature_enabled(struct pvx_vm *vm, u32 feature)
{
	if (!feature || !READ_ONCE(pvx_enable) || !READ_ONCE(vm->enabled))
		return false;
	return (pvx_policy_features(vm) & feature) == feature;
}
EXPORT_SYMBOL_GPL(pvx_vm_feature_enabled);

static bool pvx_nr_valid(u32 nr)
{
	return nr - PVX_HC_BASE < PVX_HC_RANGE;
}

/* Caller holds pvx_table_mutex. */
static void pvx_update_registered(void)
{
	const struct pvx_handler *h;
	u32 features = 0;
	unsigned int i;

	for (i = 0; i < PVX_HC_RANGE; i++) {
		h = rcu_dereference_protected(pvx_table[i],
					      lockdep_is_held(&pvx_table_mutex));
		if (h)
			features |= h->feature;
	}
	WRITE_ONCE(pvx_registered, features);
	WRITE_ONCE(pvx_registered_gen, pvx_registered_gen + 1);
}

static int pvx_install(struct pvx_handler *h)
{
	u32 i = PVX_HC_INDEX(h->nr);
	int ret = 0;

	mutex_lock(&pvx_table_mutex);
	if (rcu_access_pointer(pvx_table[i])) {
		ret = -EBUSY;
	} else {
		rcu_assign_pointer(pvx_table[i], h);
		pvx_update_registered();
	}
	mutex_unlock(&pvx_table_mutex);
	return ret;
}

int pvx_register_handler(struct pvx_handler *h)
{
	if (!h || !h->fn || !pvx_nr_valid(h->nr) || h->nr == PVX_HC_PROBE ||
	    hweight32(h->feature) != 1 || (h->feature & ~PVX_F_ALL))
		return -EINVAL;

	return pvx_install(h);
}
EXPORT_SYMBOL_GPL(pvx_register_handler);

void pvx_unregister_handler(struct pvx_handler *h)
{
	u32 i;

	if (!h || !pvx_nr_valid(h->nr))
		return;
	i = PVX_HC_INDEX(h->nr);

	/*
	 * The mutex is held across the grace period and the per-VM
	 * cleanup so that a new handler of the same feature cannot install
	 * private data that this cleanup would then destroy.
	 */
	mutex_lock(&pvx_table_mutex);
	if (rcu_access_pointer(pvx_table[i]) != h) {
		mutex_unlock(&pvx_table_mutex);
		pr_warn("unregister of call 0x%x that this handler does not own\n",
			h->nr);
		return;
	}
	RCU_INIT_POINTER(pvx_table[i], NULL);
	pvx_update_registered();
	/* Wait for vCPUs still inside h->fn. */
	synchronize_srcu(&pvx_srcu);
	if (!(pvx_registered & h->feature))
		pvx_vm_drop_priv(h->feature);
	mutex_unlock(&pvx_table_mutex);
}
EXPORT_SYMBOL_GPL(pvx_unregister_handler);

static int __init pvx_host_init(void)
{
	int ret;

	ret = pvx_hook_init();
	if (ret)
		return ret;

	ret = init_srcu_struct(&pvx_srcu);
	if (ret)
		goto err_hook;

	ret = pvx_install(&pvx_probe_handler);
	if (ret)
		goto err_srcu;

	ret = pvx_sysfs_init();
	if (ret)
		goto err_srcu;

	ret = pvx_vm_init();
	if (ret)
		goto err_sysfs;

	pvx_debugfs_init();

	ret = pvx_hook_start();
	if (ret)
		goto err_vm;

	pr_info("serving hypercalls 0x%x-0x%x, ABI %u\n", PVX_HC_BASE,
		PVX_HC_BASE + PVX_HC_RANGE - 1, PVX_ABI_VERSION);
	return 0;

err_vm:
	pvx_vm_exit();
	pvx_debugfs_exit();
err_sysfs:
	pvx_sysfs_exit();
err_srcu:
	cleanup_srcu_struct(&pvx_srcu);
err_hook:
	pvx_hook_exit();
	pvx_policy_exit();
	return ret;
}

static void __exit pvx_host_exit(void)
{
	/* No vCPU reaches pvx any more once this returns. */
	pvx_hook_stop();
	pvx_vm_exit();
	pvx_debugfs_exit();
	pvx_sysfs_exit();
	cleanup_srcu_struct(&pvx_srcu);
	pvx_policy_exit();
	pvx_hook_exit();
}

module_init(pvx_host_init);
module_exit(pvx_host_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvx: paravirtual hypercalls for a stock KVM host (core)");
