// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM state: created when KVM creates the VM (hook.c: the entry of
 * kvm_arch_post_init_vm(), or on 7.2 the successful return of
 * kvm_arch_init_vm()), so that host policy is decided before the
 * guest runs; for a VM that existed before pvx_host was loaded (or whose
 * state could not be allocated then), by its first pvx hypercall. Found
 * again by its struct kvm, destroyed when KVM destroys the VM.
 *
 * Lookups (every pvx hypercall) walk an RCU hash. Both hooks run in ftrace
 * callbacks (7.2's creation: a kretprobe handler) with preemption
 * disabled: creation allocates without sleeping and hashes the state
 * under a spinlock, destruction unhashes it; what
 * sleeps (debugfs, sysfs, the list of all states, destructors, kfree) is left to
 * work items on one ordered workqueue, so a VM's "add" work always runs
 * before its "free" work. pvx_vm_mutex guards the list of all states and
 * the destruction of private data.
 */
#include "internal.h"

#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>

#define PVX_VM_HASH_BITS	6

static DEFINE_HASHTABLE(pvx_vm_hash, PVX_VM_HASH_BITS);
static DEFINE_SPINLOCK(pvx_vm_hash_lock);
static LIST_HEAD(pvx_vm_list);
static DEFINE_MUTEX(pvx_vm_mutex);
static atomic64_t pvx_vm_next_id;
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
static void pvx_vm_add_work(struct work_struct *work);

/* A new state for @kvm, created by the current task (the VMM). */
static struct pvx_vm *pvx_vm_alloc(struct kvm *kvm, gfp_t gfp)
{
	/* Charged to the VMM's memory cgroup, like KVM's own VM state. */
	struct pvx_vm *vm = kzalloc(sizeof(*vm), gfp | __GFP_ACCOUNT);

	if (!vm)
		return NULL;
	vm->kvm = kvm;
	vm->id = atomic64_inc_return(&pvx_vm_next_id);
	vm->pid = task_tgid_nr(current);
	vm->enabled = pvx_policy_new_vm(&vm->features);
	vm->salt = get_random_u32();
	spin_lock_init(&vm->priv_lock);
	INIT_WORK(&vm->add_work, pvx_vm_add_work);
	INIT_WORK(&vm->free_work, pvx_vm_free_work);
	return vm;
}

/*
 * Make @vm visible to lookups, unless @kvm has a state already (then
 * that one is returned and @vm is not used). Any context.
 */
static struct pvx_vm *pvx_vm_insert(struct pvx_vm *vm)
{
	struct pvx_vm *cur;

	spin_lock(&pvx_vm_hash_lock);
	hash_for_each_possible(pvx_vm_hash, cur, hnode, (unsigned long)vm->kvm) {
		if (cur->kvm == vm->kvm) {
			spin_unlock(&pvx_vm_hash_lock);
			return cur;
		}
	}
	hash_add_rcu(pvx_vm_hash, &vm->hnode, (unsigned long)vm->kvm);
	spin_unlock(&pvx_vm_hash_lock);

	atomic64_inc(&pvx_nr_vms);
	pvx_stat_inc(PVX_STAT_VMS_CREATED);
	return vm;
}

/* The parts of a new state that sleep. Caller holds pvx_vm_mutex. */
static void pvx_vm_publish(struct pvx_vm *vm)
{
	lockdep_assert_held(&pvx_vm_mutex);
	pvx_debugfs_vm_add(vm);
	pvx_sysfs_vm_add(vm);
	list_add_tail(&vm->lnode, &pvx_vm_list);
}

static void pvx_vm_add_work(struct work_struct *work)
{
	struct pvx_vm *vm = container_of(work, struct pvx_vm, add_work);

	mutex_lock(&pvx_vm_mutex);
	pvx_vm_publish(vm);
	mutex_unlock(&pvx_vm_mutex);
}

/*
 * KVM is creating @kvm (ftrace callback or kretprobe handler, preemption
 * disabled, in the VMM that issued KVM_CREATE_VM). Every way out of
 * KVM's creation from here on goes through kvm_arch_destroy_vm(), so the
 * state cannot outlive the VM. When it cannot be allocated without sleeping, the VM's first pvx
 * call creates it (with the policy of that moment).
 */
void pvx_vm_created(struct kvm *kvm)
{
	struct pvx_vm *vm = pvx_vm_alloc(kvm, GFP_NOWAIT | __GFP_NOWARN);

	if (!vm)
		return;
	if (pvx_vm_insert(vm) != vm) {
		kfree(vm);	/* cannot happen: a new VM has no state yet */
		return;
	}
	queue_work(pvx_vm_wq, &vm->add_work);
}

/* The first pvx call of a VM that has no state yet. May sleep. */
static struct pvx_vm *pvx_vm_create(struct kvm *kvm)
{
	struct pvx_vm *vm, *cur;

	vm = pvx_vm_alloc(kvm, GFP_KERNEL);
	if (!vm)
		return ERR_PTR(-ENOMEM);

	mutex_lock(&pvx_vm_mutex);
	/* Another vCPU of the same VM may have been first. */
	cur = pvx_vm_insert(vm);
	if (cur == vm)
		pvx_vm_publish(vm);
	mutex_unlock(&pvx_vm_mutex);
	if (cur != vm)
		kfree(vm);
	return cur;
}

/*
 * The state of the calling vCPU's VM, created on first use if the VM
 * predates pvx_host; ERR_PTR(-ENOMEM) if it cannot be allocated. May
 * sleep.
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
 * directory. The sysfs and debugfs removals wait for readers and writers
 * in flight, so nothing uses @vm once this returns. Caller holds
 * pvx_vm_mutex and has taken @vm off the list.
 */
static void pvx_vm_release(struct pvx_vm *vm)
{
	unsigned int i;

	lockdep_assert_held(&pvx_vm_mutex);
	pvx_sysfs_vm_remove(vm);
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
 * of it can run any more, so nobody uses its state but debugfs readers
 * and sysfs readers and writers, whose removal waits for them.
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
	/* States still waiting for their add work are not on the list yet. */
	flush_workqueue(pvx_vm_wq);
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
	/*
	 * A VM made while pvx_host was loaded gets its directory from
	 * add_work; its first call may come before that ran, and a file
	 * made under a NULL directory lands in debugfs' root. add_work
	 * sleeps on nothing a handler holds.
	 */
	flush_work(&vm->add_work);
	return vm->dir;
}
EXPORT_SYMBOL_GPL(pvx_vm_debugfs_dir);

int pvx_vm_init(void)
{
	/* Ordered: a VM's add work runs before its free work. */
	pvx_vm_wq = alloc_ordered_workqueue("pvx_host", 0);
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

	/* Runs the add and free work already queued. */
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
