// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM state: created by the first pvx hypercall of a VM, found again by
 * its struct kvm, destroyed when KVM destroys the VM.
 *
 * Lookups (every pvx hypercall) walk an RCU hash. Creation is serialized
 * by pvx_vm_mutex, which also guards the list of all states and the
 * destruction of private data. The destruction hook (hook.c) runs in an
 * ftrace callback with preemption disabled: it only unhashes the state
 * under a spinlock and leaves debugfs removal, destructors and kfree to a
 * work item.
 */
#include "internal.h"

#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>

#define PVX_VM_HASH_BITS	6

static DEFINE_HASHTABLE(pvx_vm_hash, PVX_VM_HASH_BITS);
static DEFINE_SPINLOCK(pvx_vm_hash_lock);
static LIST_HEAD(pvx_vm_list);
static DEFINE_MUTEX(pvx_vm_mutex);
static u64 pvx_vm_next_id;		/* under pvx_vm_mutex */
static struct workqueue_struct *pvx_vm_wq;

atomic64_t pvx_nr_vms;

static struct pvx_vm *pvx_vm_lookup(struct kvm *kvm)
{
	struct pvx_vm *vm, *found = NULL;

	rcu_read_lock();
	hash_for_each_possible_rcu(pvx_vm_hash, vm, hnode, (unsigned long)kvm) {
		if (vm->kvm == kvm) {
			found = vm;
			break;
		}
	}
	rcu_read_unlock();
	/*
	 * Safe to use after the unlock: only the destruction of this very
	 * VM removes it, and that cannot run while one of its vCPUs (the
	 * caller) is inside a hypercall.
	 */
	return found;
}

static void pvx_vm_free_work(struct work_struct *work);

static struct pvx_vm *pvx_vm_create(struct kvm *kvm)
{
	struct pvx_vm *vm;

	mutex_lock(&pvx_vm_mutex);
	/* Another vCPU of the same VM may have been first. */
	vm = pvx_vm_lookup(kvm);
	if (vm)
		goto out;

	/* Charged to the VMM's memory cgroup, like KVM's own VM state. */
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm) {
		vm = ERR_PTR(-ENOMEM);
		goto out;
	}
	vm->kvm = kvm;
	vm->id = ++pvx_vm_next_id;
	vm->pid = task_tgid_nr(current);
	vm->enabled = 1;
	vm->features = PVX_F_ALL;
	spin_lock_init(&vm->priv_lock);
	INIT_WORK(&vm->free_work, pvx_vm_free_work);
	pvx_debugfs_vm_add(vm);
	list_add_tail(&vm->lnode, &pvx_vm_list);

	spin_lock(&pvx_vm_hash_lock);
	hash_add_rcu(pvx_vm_hash, &vm->hnode, (unsigned long)kvm);
	spin_unlock(&pvx_vm_hash_lock);

	atomic64_inc(&pvx_nr_vms);
	pvx_stat_inc(PVX_STAT_VMS_CREATED);
out:
	mutex_unlock(&pvx_vm_mutex);
	return vm;
}

/*
 * The state of the calling vCPU's VM, created on first use; ERR_PTR
 * (-ENOMEM) if it cannot be allocated. May sleep.
 */
struct pvx_vm *pvx_vm_get(struct kvm *kvm)
{
	struct pvx_vm *vm = pvx_vm_lookup(kvm);

	if (likely(vm))
		return vm;
	return pvx_vm_create(kvm);
}

/* Take slot @i out of @vm and run its destructor. */
static void pvx_vm_priv_destroy(struct pvx_vm *vm, unsigned int i)
{
	struct pvx_vm_priv p;

	spin_lock(&vm->priv_lock);
	p = vm->priv[i];
	WRITE_ONCE(vm->priv[i].data, NULL);
	vm->priv[i].dtor = NULL;
	spin_unlock(&vm->priv_lock);

	if (p.data && p.dtor)
		p.dtor(vm, p.data);
}

/*
 * Destructors first: they remove the files features put into the VM's
 * directory. Caller holds pvx_vm_mutex and has taken @vm off the list.
 */
static void pvx_vm_release(struct pvx_vm *vm)
{
	unsigned int i;

	lockdep_assert_held(&pvx_vm_mutex);
	for (i = 0; i < ARRAY_SIZE(vm->priv); i++)
		pvx_vm_priv_destroy(vm, i);
	pvx_debugfs_vm_remove(vm);
}

static void pvx_vm_free_work(struct work_struct *work)
{
	struct pvx_vm *vm = container_of(work, struct pvx_vm, free_work);

	mutex_lock(&pvx_vm_mutex);
	list_del(&vm->lnode);
	pvx_vm_release(vm);
	mutex_unlock(&pvx_vm_mutex);
	/* A lookup of another VM may still walk past our hash node. */
	kfree_rcu(vm, rcu);
}

/*
 * KVM is destroying @kvm (ftrace callback, preemption disabled). No vCPU
 * of it can run any more, so nobody uses its state but debugfs readers,
 * which debugfs removal waits for.
 */
void pvx_vm_destroyed(struct kvm *kvm)
{
	struct pvx_vm *vm, *found = NULL;

	spin_lock(&pvx_vm_hash_lock);
	hash_for_each_possible(pvx_vm_hash, vm, hnode, (unsigned long)kvm) {
		if (vm->kvm == kvm) {
			found = vm;
			hash_del_rcu(&vm->hnode);
			break;
		}
	}
	spin_unlock(&pvx_vm_hash_lock);
	if (!found)
		return;

	atomic64_dec(&pvx_nr_vms);
	pvx_stat_inc(PVX_STAT_VMS_DESTROYED);
	queue_work(pvx_vm_wq, &found->free_work);
}

static int pvx_feature_slot(u32 feature)
{
	if (hweight32(feature) != 1 || (feature & ~PVX_F_ALL))
		return -1;
	return __ffs(feature);
}

/* The last handler of @feature is gone: destroy its data in every VM. */
void pvx_vm_drop_priv(u32 feature)
{
	int i = pvx_feature_slot(feature);
	struct pvx_vm *vm;

	if (i < 0)
		return;
	mutex_lock(&pvx_vm_mutex);
	list_for_each_entry(vm, &pvx_vm_list, lnode)
		pvx_vm_priv_destroy(vm, i);
	mutex_unlock(&pvx_vm_mutex);
}

void *pvx_vm_get_priv(struct pvx_vm *vm, u32 feature)
{
	int i = pvx_feature_slot(feature);

	if (i < 0)
		return NULL;
	/* Pairs with the release in pvx_vm_set_priv(). */
	return smp_load_acquire(&vm->priv[i].data);
}
EXPORT_SYMBOL_GPL(pvx_vm_get_priv);

void *pvx_vm_set_priv(struct pvx_vm *vm, u32 feature, void *data,
		      void (*dtor)(struct pvx_vm *vm, void *data))
{
	int i = pvx_feature_slot(feature);
	void *cur;

	if (i < 0 || !data)
		return NULL;

	spin_lock(&vm->priv_lock);
	cur = vm->priv[i].data;
	if (!cur) {
		vm->priv[i].dtor = dtor;
		/* Publish the data only once it is initialized. */
		smp_store_release(&vm->priv[i].data, data);
		cur = data;
	}
	spin_unlock(&vm->priv_lock);
	return cur;
}
EXPORT_SYMBOL_GPL(pvx_vm_set_priv);

u64 pvx_vm_id(const struct pvx_vm *vm)
{
	return vm->id;
}
EXPORT_SYMBOL_GPL(pvx_vm_id);

struct dentry *pvx_vm_debugfs_dir(struct pvx_vm *vm)
{
	return vm->dir;
}
EXPORT_SYMBOL_GPL(pvx_vm_debugfs_dir);

int pvx_vm_init(void)
{
	pvx_vm_wq = alloc_workqueue("pvx_host", 0, 0);
	return pvx_vm_wq ? 0 : -ENOMEM;
}

/*
 * Module exit, after both hooks are off: no hypercall uses a state and no
 * destruction is reported any more. Free what is left (VMs still running
 * go back to stock KVM behaviour).
 */
void pvx_vm_exit(void)
{
	struct pvx_vm *vm, *tmp;

	/* Runs the free work already queued. */
	destroy_workqueue(pvx_vm_wq);

	mutex_lock(&pvx_vm_mutex);
	list_for_each_entry_safe(vm, tmp, &pvx_vm_list, lnode) {
		spin_lock(&pvx_vm_hash_lock);
		hash_del_rcu(&vm->hnode);
		spin_unlock(&pvx_vm_hash_lock);
		atomic64_dec(&pvx_nr_vms);
		list_del(&vm->lnode);
		pvx_vm_release(vm);
		kfree_rcu(vm, rcu);
	}
	mutex_unlock(&pvx_vm_mutex);
}
