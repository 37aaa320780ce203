// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/pvx: PVX_IOC_GET_INFO tells userspace what PROBE found; feature
 * modules add their own ioctls with pvx_register_ioctl().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/miscdevice.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "internal.h"

/*
 * .size versions struct pvx_info, not the number: the size bits of the
 * command are not looked at, so a program built against a later, larger
 * struct (whose _IOWR() number differs in those bits) is served too.
 */
#define PVX_IOC_SIZE_BITS	(_IOC_SIZEMASK << _IOC_SIZESHIFT)

static bool pvx_is_get_info(unsigned int cmd)
{
	return (cmd & ~PVX_IOC_SIZE_BITS) ==
	       (PVX_IOC_GET_INFO & ~PVX_IOC_SIZE_BITS);
}

static long pvx_ioc_get_info(struct pvx_info __user *uinfo)
{
	struct pvx_info info;
	struct pvx_host h;
	u32 size;

	if (get_user(size, &uinfo->size))
		return -EFAULT;
	if (size < PVX_INFO_SIZE_V1)
		return -EINVAL;

	memset(&info, 0, sizeof(info));
	info.size = min_t(u32, size, sizeof(info));
	pvx_host_snapshot(&h);
	info.flags = PVX_INFO_KVM | (h.host_pvx ? PVX_INFO_HOST_PVX : 0);
	info.guest_abi_version = PVX_ABI_VERSION;
	info.host_abi_version = h.abi_version;
	info.host_magic = h.magic;
	info.host_features = h.features;

	if (copy_to_user(uinfo, &info, info.size))
		return -EFAULT;
	return 0;
}

/*
 * Ioctls of feature modules: a small table. A caller looks its command up
 * in an SRCU read section and takes a reference on the slot and on its
 * owner there; it runs the function (which may sleep, in GUP on a FUSE
 * mapping for as long as the server likes) outside the section, holding
 * only those. So an owner that is unloading (try_module_get() fails) is
 * never entered, and pvx_unregister_ioctl() waits for the lookups in
 * flight (synchronize_srcu(), short) and then for the calls of that one
 * slot only: a feature module whose init fails after one of its ioctls
 * was registered (module init does not wait for module references) is
 * not freed under a running call, and no module's unregistering waits for
 * another module's calls.
 */
#define PVX_IOCTL_SLOTS	8

struct pvx_ioctl_slot {
	unsigned int cmd;
	pvx_ioctl_fn fn;
	struct module *owner;
	refcount_t users;	/* the table's, and one per call in flight */
	struct completion idle;	/* users reached 0: unregistered and idle */
};

static void pvx_ioctl_slot_put(struct pvx_ioctl_slot *s)
{
	/* the last: pvx_unregister_ioctl() frees @s once this completes */
	if (refcount_dec_and_test(&s->users))
		complete(&s->idle);
}

static struct pvx_ioctl_slot __rcu *pvx_ioctls[PVX_IOCTL_SLOTS];
static DEFINE_MUTEX(pvx_ioctls_lock);
DEFINE_STATIC_SRCU(pvx_ioctls_srcu);

int __pvx_register_ioctl(unsigned int cmd, pvx_ioctl_fn fn,
			 struct module *owner)
{
	struct pvx_ioctl_slot *slot, *s;
	int i, free = -1, ret = 0;

	if (!fn || _IOC_TYPE(cmd) != PVX_IOC_MAGIC || pvx_is_get_info(cmd))
		return -EINVAL;
	slot = kzalloc(sizeof(*slot), GFP_KERNEL);
	if (!slot)
		return -ENOMEM;
	slot->cmd = cmd;
	slot->fn = fn;
	slot->owner = owner;
	refcount_set(&slot->users, 1);
	init_completion(&slot->idle);

	mutex_lock(&pvx_ioctls_lock);
	for (i = 0; i < PVX_IOCTL_SLOTS; i++) {
		s = rcu_dereference_protected(pvx_ioctls[i],
					      lockdep_is_held(&pvx_ioctls_lock));
		if (!s) {
			if (free < 0)
				free = i;
		} else if (s->cmd == cmd) {
			ret = -EBUSY;
		}
	}
	if (!ret && free < 0)
		ret = -ENOSPC;
	if (!ret)
		rcu_assign_pointer(pvx_ioctls[free], slot);
	mutex_unlock(&pvx_ioctls_lock);
	if (ret)
		kfree(slot);
	return ret;
}
EXPORT_SYMBOL_GPL(__pvx_register_ioctl);

void pvx_unregister_ioctl(unsigned int cmd)
{
	struct pvx_ioctl_slot *s, *found = NULL;
	int i;

	mutex_lock(&pvx_ioctls_lock);
	for (i = 0; i < PVX_IOCTL_SLOTS; i++) {
		s = rcu_dereference_protected(pvx_ioctls[i],
					      lockdep_is_held(&pvx_ioctls_lock));
		if (s && s->cmd == cmd) {
			RCU_INIT_POINTER(pvx_ioctls[i], NULL);
			found = s;
			break;
		}
	}
	mutex_unlock(&pvx_ioctls_lock);
	if (found) {
		/* no lookup takes a reference after this */
		synchronize_srcu(&pvx_ioctls_srcu);
		pvx_ioctl_slot_put(found);
		wait_for_completion(&found->idle);
		kfree(found);
	}
}
EXPORT_SYMBOL_GPL(pvx_unregister_ioctl);

static long pvx_ioctl_feature(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct pvx_ioctl_slot *s, *found = NULL;
	long ret;
	int i, idx;

	idx = srcu_read_lock(&pvx_ioctls_srcu);
	for (i = 0; i < PVX_IOCTL_SLOTS; i++) {
		s = srcu_dereference(pvx_ioctls[i], &pvx_ioctls_srcu);
		if (s && s->cmd == cmd) {
			if (refcount_inc_not_zero(&s->users)) {
				if (try_module_get(s->owner))
					found = s;
				else
					pvx_ioctl_slot_put(s);
			}
			break;
		}
	}
	srcu_read_unlock(&pvx_ioctls_srcu, idx);
	if (!found)
		return -ENOTTY;
	ret = found->fn(file, cmd, arg);
	module_put(found->owner);
	pvx_ioctl_slot_put(found);
	return ret;
}

static long pvx_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (pvx_is_get_info(cmd))
		return pvx_ioc_get_info((struct pvx_info __user *)arg);
	return pvx_ioctl_feature(file, cmd, arg);
}

static const struct file_operations pvx_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = pvx_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice pvx_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pvx",
	.fops = &pvx_fops,
	.mode = 0444,
};

int pvx_dev_init(void)
{
	int ret = misc_register(&pvx_miscdev);

	if (ret)
		pr_err("cannot register /dev/pvx: %d\n", ret);
	return ret;
}

void pvx_dev_exit(void)
{
	misc_deregister(&pvx_miscdev);
}
