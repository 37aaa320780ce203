// SPDX-License-Identifier: GPL-2.0
/* /dev/pvx: PVX_IOC_GET_INFO tells userspace what PROBE found. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "internal.h"

static long pvx_ioc_get_info(struct pvx_info __user *uinfo)
{
	struct pvx_info info;
	u32 size;

	if (get_user(size, &uinfo->size))
		return -EFAULT;
	if (size < PVX_INFO_SIZE_V1)
		return -EINVAL;

	memset(&info, 0, sizeof(info));
	info.size = min_t(u32, size, sizeof(info));
	info.flags = PVX_INFO_KVM | (pvx_host.host_pvx ? PVX_INFO_HOST_PVX : 0);
	info.guest_abi_version = PVX_ABI_VERSION;
	info.host_abi_version = pvx_host.abi_version;
	info.host_magic = pvx_host.magic;
	info.host_features = pvx_host.features;

	if (copy_to_user(uinfo, &info, info.size))
		return -EFAULT;
	return 0;
}

static long pvx_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case PVX_IOC_GET_INFO:
		return pvx_ioc_get_info((struct pvx_info __user *)arg);
	default:
		return -ENOTTY;
	}
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
