/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx_host: the API that pvx feature modules (yield, NUMA hints, fork-copy,
 * KSM hints) use to serve their hypercalls through pvx_host.ko.
 *
 * A feature module fills a struct pvx_handler and registers it from its
 * module_init; pvx_host then calls ->fn for every hypercall with that
 * number that host and VM policy allow. Handlers run in the vCPU thread,
 * in process context with preemption enabled and kvm->srcu held for read
 * (the context of kvm_emulate_hypercall()), so they may sleep and fault in
 * guest memory. Guest memory goes through pvx_read_guest() and
 * pvx_write_guest_page() below, not KVM's accessors (newer kernels export
 * those only to kvm-amd and kvm-intel, guest_mem.c).
 */
#ifndef _PVX_HOST_H
#define _PVX_HOST_H

#include <linux/atomic.h>
#include <linux/kvm_types.h>
#include <linux/moduleparam.h>
#include <linux/types.h>

#include "../uapi/pvx.h"

struct dentry;
struct kvm_memory_slot;
struct kvm_vcpu;
struct module;
struct pvx_vm;

/**
 * struct pvx_call - one pvx hypercall as the guest issued it
 * @nr: call number (PVX_HC_*), always within the pvx range
 * @long_mode: the caller was in 64-bit mode; when false the arguments are
 *	already truncated to 32 bits and pvx_host truncates the results
 * @a0: first argument (RBX)
 * @a1: second argument (RCX)
 * @a2: third argument (RDX)
 * @a3: fourth argument (RSI)
 */
struct pvx_call {
	u32 nr;
	bool long_mode;
	unsigned long a0;
	unsigned long a1;
	unsigned long a2;
	unsigned long a3;
};

/**
 * struct pvx_handler - a hypercall served by a feature module
 * @nr: call number (PVX_HC_*, not PVX_HC_PROBE, which pvx_host serves)
 * @feature: the one PVX_F_* bit that gates this call; host and VM policy
 *	switch calls on and off by this bit, and PROBE reports it
 * @fn: the handler. It returns the value for the guest's RAX: 0 or a
 *	positive value on success, -PVX_E* on error. Every argument is
 *	guest controlled and must be validated.
 * @owner: THIS_MODULE of the module that provides @fn
 *
 * The structure belongs to the caller and must stay in place until
 * pvx_unregister_handler() has returned.
 */
struct pvx_handler {
	u32 nr;
	u32 feature;
	long (*fn)(struct kvm_vcpu *vcpu, struct pvx_vm *vm,
		   const struct pvx_call *call);
	struct module *owner;
};

/*
 * Register @h. Returns 0, -EINVAL for a number outside the pvx range, the
 * PROBE number, a feature that is not exactly one bit of PVX_F_ALL or a
 * missing ->fn, and -EBUSY if the number already has a handler.
 */
int pvx_register_handler(struct pvx_handler *h);

/*
 * Unregister @h and wait until no vCPU runs ->fn any more. When @h was the
 * last handler of its feature, the per-VM private data of that feature is
 * destroyed in every VM (its destructor runs) before this returns, so a
 * feature module may unload right after. Sleeps.
 */
void pvx_unregister_handler(struct pvx_handler *h);

/* A number that identifies the VM in debugfs (vm<id>-<pid>) and traces. */
u64 pvx_vm_id(const struct pvx_vm *vm);

/*
 * The VM's debugfs directory, /sys/kernel/debug/pvx/vm<id>-<pid>/ (may be
 * an ERR_PTR when debugfs is unavailable; debugfs_create_*() accept that).
 * Waits for it to be made when the VM is new: process context only.
 * Files a feature creates here must be removed by the destructor of its
 * private data (pvx_vm_set_priv()), which runs before the directory goes.
 */
struct dentry *pvx_vm_debugfs_dir(struct pvx_vm *vm);

/*
 * True when host policy (module parameters "enable" and "features") and
 * this VM's policy (sysfs vms/vm<id>-<pid>/enabled and features) allow
 * @feature.
 */
bool pvx_vm_feature_enabled(struct pvx_vm *vm, u32 feature);

/* The ABI version PROBE announces (module parameter abi_version). */
u32 pvx_abi_announced(void);

/*
 * Per-VM, per-feature private data: one pointer per feature bit.
 *
 * pvx_vm_get_priv() returns the data installed for @feature, or NULL.
 *
 * pvx_vm_set_priv() installs @data with its destructor if the slot is
 * empty and returns @data; if another vCPU installed data first, it leaves
 * that in place and returns it, so the caller frees its own copy:
 *
 *	p = pvx_vm_get_priv(vm, PVX_F_X);
 *	if (!p) {
 *		new = alloc...;
 *		p = pvx_vm_set_priv(vm, PVX_F_X, new, x_dtor);
 *		if (p != new)
 *			free(new);
 *	}
 *
 * @dtor (may be NULL) runs in process context when the VM is destroyed,
 * when pvx_host unloads, or when the last handler of @feature is
 * unregistered. It must not call pvx_register_handler() or
 * pvx_unregister_handler(), and must not use the struct kvm any more (the
 * VM may already be gone).
 *
 * Both return NULL for a @feature that is not one bit of PVX_F_ALL.
 */
void *pvx_vm_get_priv(struct pvx_vm *vm, u32 feature);
void *pvx_vm_set_priv(struct pvx_vm *vm, u32 feature, void *data,
		      void (*dtor)(struct pvx_vm *vm, void *data));

/*
 * Write an extra output register (VCPU_REGS_RBX, _RCX, _RDX or _RSI) of
 * the current call, truncated to 32 bits for a caller not in 64-bit mode.
 * Only valid inside ->fn, for the vCPU it was called with. Any other
 * register is ignored (RAX is the handler's return value).
 */
void pvx_set_out_reg(struct kvm_vcpu *vcpu, const struct pvx_call *call,
		     int reg, unsigned long val);

/**
 * struct pvx_feature_counters - a feature's counters in debugfs
 * @name: the file name: /sys/kernel/debug/pvx/<name> holds the host
 *	totals, vm<id>-<pid>/<name> the VM's own
 * @names: the name of each counter, @nr of them, printed as "name value"
 * @nr: number of counters in the host totals
 * @vm_nr: the first @vm_nr counters are also kept per VM (the others,
 *	e.g. "the VM's counters could not be allocated", only in the totals)
 * @feature: the PVX_F_* bit whose per-VM private data (pvx_vm_set_priv())
 *	holds each VM's counters; the feature has no other per-VM data
 * @totals: @nr host-wide counters, owned by the caller
 * @file: set by pvx_feature_counters_init()
 *
 * pvx_feature_counters_init() creates the host file (from module_init,
 * after pvx_host is loaded); pvx_feature_counters_exit() removes it (after
 * pvx_unregister_handler(), which removes every VM's file).
 * pvx_feature_counters_vm() returns the calling VM's counters, created
 * with their file on first use, or NULL when they cannot be allocated.
 * pvx_feature_counters_add() adds @n to counter @i of the totals and, when
 * @vc is not NULL and @i < @vm_nr, of the VM.
 */
struct pvx_feature_counters {
	const char *name;
	const char * const *names;
	unsigned int nr;
	unsigned int vm_nr;
	u32 feature;
	atomic64_t *totals;
	struct dentry *file;
};

struct pvx_feature_vm_counters;

void pvx_feature_counters_init(struct pvx_feature_counters *fc);
void pvx_feature_counters_exit(struct pvx_feature_counters *fc);
struct pvx_feature_vm_counters *
pvx_feature_counters_vm(struct pvx_vm *vm,
			const struct pvx_feature_counters *fc);
void pvx_feature_counters_add(const struct pvx_feature_counters *fc,
			      struct pvx_feature_vm_counters *vc,
			      unsigned int i, u64 n);

/* Guest memory of the calling vCPU (guest_mem.c, kernel-doc there). */
struct kvm_memory_slot *pvx_guest_slot(struct kvm_vcpu *vcpu, gfn_t gfn);
bool pvx_guest_slot_writable(const struct kvm_memory_slot *slot);
int pvx_read_guest(struct kvm_vcpu *vcpu, gpa_t gpa, void *data,
		   unsigned long len);
int pvx_write_guest_page(struct kvm_vcpu *vcpu, gfn_t gfn, const void *data,
			 unsigned int offset, unsigned int len);

/*
 * kernel_param_ops @ops for an unsigned int module parameter of
 * @min..@max: anything else is refused with -EINVAL and the value kept
 * (the kernel's param_set_uint_minmax()).
 */
#define PVX_PARAM_UINT_OPS(ops, min, max)				\
	static int ops##_set(const char *val, const struct kernel_param *kp) \
	{								\
		return param_set_uint_minmax(val, kp, (min), (max));	\
	}								\
	static const struct kernel_param_ops ops = {			\
		.set = ops##_set,					\
		.get = param_get_uint,					\
	}

#endif /* _PVX_HOST_H */
