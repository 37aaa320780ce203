// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_call_once: test module for the L3 selftests (selftests/guest/init.sh).
 * Not for production use.
 *
 * At load it issues one pvx call through pvx_guest's pvx_hypercall(),
 * (nr, a0) from its parameters, with a1..a3 = 0, and publishes the answer
 * in its read-only parameter "result"; writing 1 to its parameter "call"
 * issues the same call again and publishes its answer. pvx_guest_test
 * --host-switch uses it to make the guest issue a call on demand (loaded
 * once for a series of calls: under TCG's nested SVM each module load and
 * unload in L3 is seconds and a chance of an emulator reset): a directed
 * yield to a vCPU that does not exist is -PVX_EINVAL from a host with pvx,
 * -PVX_ENOSYS from one without (the guest then falls back), and
 * -PVX_ENOSYS without an exit once the guest has fallen back.
 *
 * While loaded it also serves one ioctl of its own on /dev/pvx,
 * PVX_CALL_ONCE_IOC (it answers 0): pvx_fork_guest_test loads and removes
 * it while another feature's ioctl sleeps, to show that registering and
 * unregistering an ioctl does not wait for other modules' calls.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "pvx_guest.h"

static unsigned int nr = PVX_HC_YIELD;
module_param(nr, uint, 0444);
MODULE_PARM_DESC(nr, "pvx call number (default PVX_HC_YIELD)");

static unsigned long a0 = ULONG_MAX;
module_param(a0, ulong, 0444);
MODULE_PARM_DESC(a0, "first argument (default ~0: no such vCPU)");

static long result;
module_param(result, long, 0444);
MODULE_PARM_DESC(result, "what pvx_hypercall() answered at load");

/* Writing 1 issues the call again; anything else is refused. */
static int pvx_call_once_call_set(const char *val, const struct kernel_param *kp)
{
	bool call;
	int ret = kstrtobool(val, &call);

	if (ret)
		return ret;
	if (!call)
		return -EINVAL;
	result = pvx_hypercall(nr, a0, 0, 0, 0);
	return 0;
}

static const struct kernel_param_ops pvx_call_once_call_ops = {
	.set = pvx_call_once_call_set,
};
module_param_cb(call, &pvx_call_once_call_ops, NULL, 0200);
MODULE_PARM_DESC(call, "write 1: issue the call again, its answer in result");

/* A command no product module uses. */
#define PVX_CALL_ONCE_IOC	_IO(PVX_IOC_MAGIC, 0x7f)

static long pvx_call_once_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	return 0;
}

static int __init pvx_call_once_init(void)
{
	int ret = pvx_register_ioctl(PVX_CALL_ONCE_IOC, pvx_call_once_ioctl);

	if (ret)
		return ret;
	result = pvx_hypercall(nr, a0, 0, 0, 0);
	pr_info("call 0x%x (a0 0x%lx) answered %ld\n", nr, a0, result);
	return 0;
}

static void __exit pvx_call_once_exit(void)
{
	pvx_unregister_ioctl(PVX_CALL_ONCE_IOC);
}

module_init(pvx_call_once_init);
module_exit(pvx_call_once_exit);

MODULE_DESCRIPTION("pvx test: issue one pvx hypercall at load");
MODULE_LICENSE("GPL");
