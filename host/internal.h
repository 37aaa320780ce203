/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx_host internals shared by core.c, hook.c, vm.c, policy.c, debugfs.c
 * and sysfs.c.
 * Include this first in every file of the module (it sets pr_fmt).
 */
#ifndef _PVX_HOST_INTERNAL_H
#define _PVX_HOST_INTERNAL_H

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "pvx_host.h"

struct kobject;
struct kvm;
struct kvm_vcpu;

/* Host-wide counters, /sys/kernel/debug/pvx/counters. */
enum pvx_stat {
	PVX_STAT_CALLS,		/* pvx-range calls that reached pvx */
	PVX_STAT_PROBE,
	PVX_STAT_ENOSYS,	/* in range, no handler */
	PVX_STAT_EINVAL,
	PVX_STAT_EOPNOTSUPP,	/* switched off by host or VM policy */
	PVX_STAT_ENOMEM,
	PVX_STAT_ERRORS,	/* every negative result but ENOSYS */
	PVX_STAT_VMS_CREATED,
	PVX_STAT_VMS_DESTROYED,
	PVX_STAT_NR
};

/* Per-VM counters, /sys/kernel/debug/pvx/vm<id>-<pid>/counters. */
enum pvx_vm_stat {
	PVX_VM_STAT_CALLS,
	PVX_VM_STAT_PROBE,
	PVX_VM_STAT_ENOSYS,
	PVX_VM_STAT_ERRORS,
	PVX_VM_STAT_NR
};

struct pvx_vm_priv {
	void *data;
	void (*dtor)(struct pvx_vm *vm, void *data);
};

/*
 * pvx's state of one VM.
 *
 * Lifetime: created when KVM creates the VM (pvx_vm_created(), see
 * hook.c) or, for a VM older than pvx_host, by its first pvx hypercall
 * (pvx_vm_get()); put on pvx_vm_list, into debugfs and sysfs by a work item
 * (add_work) or by that first call; unlinked from the lookup hash when KVM destroys the VM
 * (kvm_arch_destroy_vm(), see hook.c) and freed from a work item. While a
 * vCPU of the VM is inside a hypercall the VM cannot be destroyed (the
 * vCPU file holds a reference on the struct kvm), so handlers use it
 * without taking a reference.
 */
struct pvx_vm {
	struct hlist_node hnode;	/* pvx_vm_hash, under pvx_vm_hash_lock */
	struct list_head lnode;		/* pvx_vm_list, under pvx_vm_mutex */
	/*
	 * Lookup key only: valid to dereference in handlers; after the VM
	 * is destroyed the address may belong to a new VM.
	 */
	struct kvm *kvm;
	u64 id;
	pid_t pid;
	/*
	 * 0 or 1, from policy.c at creation, then sysfs.c's "enabled";
	 * READ_ONCE/WRITE_ONCE
	 */
	u32 enabled;
	u32 features;			/* READ_ONCE/WRITE_ONCE */
	u32 salt;			/* random, for PROBE's epoch */
	atomic64_t stats[PVX_VM_STAT_NR];
	struct dentry *dir;
	struct kobject *kobj;		/* sysfs.c, under pvx_vm_mutex */
	spinlock_t priv_lock;		/* serializes writers of priv[] */
	struct pvx_vm_priv priv[PVX_HC_NR_CALLS];
	struct work_struct add_work;
	struct work_struct free_work;
	struct rcu_head rcu;
};

/* core.c */
extern bool pvx_enable;
extern unsigned int pvx_features;
extern atomic64_t pvx_stats[PVX_STAT_NR];

void pvx_dispatch(struct kvm_vcpu *vcpu, const struct pvx_call *call);

/*
 * A features mask (module parameter or per-VM file) the admin may set:
 * bits of PVX_F_ALL only, and PVX_F_PROBE always set. PROBE is how a guest
 * learns what it is served; switching it off is done with "enable" or the
 * VM's "enabled", which make the host look like one without pvx.
 */
static inline bool pvx_features_valid(u32 v)
{
	return !(v & ~PVX_F_ALL) && (v & PVX_F_PROBE);
}

static inline void pvx_stat_inc(enum pvx_stat s)
{
	atomic64_inc(&pvx_stats[s]);
}

static inline void pvx_vm_stat_inc(struct pvx_vm *vm, enum pvx_vm_stat s)
{
	atomic64_inc(&vm->stats[s]);
}

/* hook.c */
int pvx_hook_init(void);
int pvx_hook_start(void);
void pvx_hook_stop(void);
void pvx_hook_exit(void);

/* vm.c */
extern atomic64_t pvx_nr_vms;
int pvx_vm_init(void);
void pvx_vm_exit(void);
struct pvx_vm *pvx_vm_get(struct kvm *kvm);
void pvx_vm_created(struct kvm *kvm);
void pvx_vm_destroyed(struct kvm *kvm);
void pvx_vm_drop_priv(u32 feature);

/* policy.c */
bool pvx_policy_new_vm(u32 *features);
void pvx_policy_exit(void);

/* debugfs.c */
void pvx_debugfs_init(void);
void pvx_debugfs_exit(void);
void pvx_debugfs_vm_add(struct pvx_vm *vm);
void pvx_debugfs_vm_remove(struct pvx_vm *vm);

/* sysfs.c */
int pvx_store_u32(u32 *knob, const char *buf, bool (*valid)(u32 v));
int pvx_sysfs_init(void);
void pvx_sysfs_exit(void);
void pvx_sysfs_vm_add(struct pvx_vm *vm);
void pvx_sysfs_vm_remove(struct pvx_vm *vm);

#endif /* _PVX_HOST_INTERNAL_H */
