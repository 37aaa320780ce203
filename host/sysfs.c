// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/pvx_host/: the administrator's per-VM controls.
 *
 *   vms/vm<id>-<pid>/enabled   0 or 1: pvx serves this VM at all
 *   vms/vm<id>-<pid>/features  PVX_F_* mask (0x..) allowed for this VM;
 *                              bit 0 (PROBE) must stay set
 *
 * <id> and <pid> are those of the VM's debugfs directory (the VM's pvx id
 * and the VMM's process). They live in sysfs, not debugfs, because
 * lockdown=integrity (Secure Boot) refuses to open debugfs files for
 * writing, and the admin must keep control of the VMs there too; debugfs
 * keeps read-only copies next to the VM's counters.
 *
 * Each VM's directory is a kobject of its own that points at the VM's
 * state. Removing it (kobject_del()) waits for the show() and store()
 * calls in flight and makes later ones fail with -ENODEV, so the state
 * may be freed right after; an open file that outlives the VM reaches no
 * pvx code. Nothing else takes a reference on these kobjects, so the
 * last kobject_put() frees them before pvx_host can unload.
 */
#include "internal.h"

#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

static struct kobject *pvx_sysfs_root;	/* /sys/kernel/pvx_host */
static struct kobject *pvx_sysfs_vms;	/* /sys/kernel/pvx_host/vms */

struct pvx_vm_kobj {
	struct kobject kobj;
	/* Valid while the kobject is in sysfs: removal waits for users. */
	struct pvx_vm *vm;
};

static struct pvx_vm *pvx_kobj_vm(struct kobject *kobj)
{
	return container_of(kobj, struct pvx_vm_kobj, kobj)->vm;
}

/*
 * A u32 knob written as one number (pvx_store_u32()). Only root may open
 * the files for writing (mode 0644).
 */
static ssize_t pvx_knob_store(u32 *knob, const char *buf, size_t count,
			      bool (*valid)(u32 v))
{
	int ret = pvx_store_u32(knob, buf, valid);

	return ret ? ret : count;
}

static bool pvx_enabled_valid(u32 v)
{
	return v <= 1;
}

static ssize_t enabled_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(pvx_kobj_vm(kobj)->enabled));
}

static ssize_t enabled_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	return pvx_knob_store(&pvx_kobj_vm(kobj)->enabled, buf, count,
			      pvx_enabled_valid);
}

static struct kobj_attribute pvx_vm_enabled_attr = __ATTR_RW(enabled);

static ssize_t features_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "0x%x\n", READ_ONCE(pvx_kobj_vm(kobj)->features));
}

static ssize_t features_store(struct kobject *kobj,
			      struct kobj_attribute *attr, const char *buf,
			      size_t count)
{
	return pvx_knob_store(&pvx_kobj_vm(kobj)->features, buf, count,
			      pvx_features_valid);
}

static struct kobj_attribute pvx_vm_features_attr = __ATTR_RW(features);

static struct attribute *pvx_vm_attrs[] = {
	&pvx_vm_enabled_attr.attr,
	&pvx_vm_features_attr.attr,
	NULL
};
ATTRIBUTE_GROUPS(pvx_vm);

static void pvx_vm_kobj_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct pvx_vm_kobj, kobj));
}

static const struct kobj_type pvx_vm_ktype = {
	.release = pvx_vm_kobj_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = pvx_vm_groups,
};

/*
 * Process context. A VM whose directory cannot be made keeps the policy
 * it was created with (the allocator or the warning says why).
 */
void pvx_sysfs_vm_add(struct pvx_vm *vm)
{
	struct pvx_vm_kobj *vk;
	int ret;

	vk = kzalloc(sizeof(*vk), GFP_KERNEL);
	if (!vk)
		return;
	vk->vm = vm;
	ret = kobject_init_and_add(&vk->kobj, &pvx_vm_ktype, pvx_sysfs_vms,
				   "vm%llu-%d", vm->id, vm->pid);
	if (ret) {
		pr_warn_ratelimited("vm%llu-%d: no sysfs directory (%d)\n",
				    vm->id, vm->pid, ret);
		kobject_put(&vk->kobj);	/* frees vk */
		return;
	}
	vm->kobj = &vk->kobj;
}

/* Process context; returns once no show() or store() of the VM runs. */
void pvx_sysfs_vm_remove(struct pvx_vm *vm)
{
	if (!vm->kobj)
		return;
	kobject_del(vm->kobj);
	kobject_put(vm->kobj);
	vm->kobj = NULL;
}

/* Without its controls the admin could not switch VMs: loading fails. */
int pvx_sysfs_init(void)
{
	pvx_sysfs_root = kobject_create_and_add("pvx_host", kernel_kobj);
	if (!pvx_sysfs_root)
		return -ENOMEM;
	pvx_sysfs_vms = kobject_create_and_add("vms", pvx_sysfs_root);
	if (!pvx_sysfs_vms) {
		kobject_put(pvx_sysfs_root);
		pvx_sysfs_root = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* After pvx_vm_exit(): every VM's directory is gone already. */
void pvx_sysfs_exit(void)
{
	kobject_put(pvx_sysfs_vms);
	kobject_put(pvx_sysfs_root);
	pvx_sysfs_vms = NULL;
	pvx_sysfs_root = NULL;
}
