/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx guest core API, for the pvx guest feature modules (pv spinlock,
 * steal-time timers, KSM hints). Exported by pvx_guest.ko.
 *
 * The core probes the host when it loads and again whenever the host may
 * have changed (core.c). A feature module asks pvx_host_has(PVX_F_x) and
 * falls back when it is false; it issues its calls with pvx_hypercall(),
 * which never traps to the host for a call the host did not announce. A
 * module that keeps state on the host (pins, maps) registers a notifier
 * to send it again when the host's state of this VM is new. All functions may be called from any
 * context (they take no locks and do not sleep), except the sysfs helpers,
 * which may sleep.
 */
#ifndef _PVX_GUEST_H
#define _PVX_GUEST_H

#include <linux/types.h>

#include "pvx.h"

struct attribute_group;
struct file;
struct module;

/* True when PROBE succeeded and the host serves every call in @feature_bits. */
bool pvx_host_has(u32 feature_bits);

/* PVX_F_* bitmap from PROBE; 0 when the host has no pvx. */
u32 pvx_host_features(void);

/* The host's PVX_ABI_VERSION from PROBE; 0 when the host has no pvx. */
u32 pvx_host_abi_version(void);

/* PROBE's epoch (RSI), 0 without pvx or on a host without epochs. */
u32 pvx_host_epoch(void);

/* KVM_FEATURE_* bits the host offers (CPUID leaf 0x40000001 EAX), or 0. */
u32 pvx_kvm_features(void);

/*
 * Called, in process context, after what the guest uses of the host
 * changed: the host's epoch (PROBE's RSI: a live migration landed, a host
 * module was loaded again), its features, or pvx itself came or went.
 * @action is the features the guest uses now (0: no pvx). State the
 * guest keeps on the host may be gone: send it again when the feature is
 * there. Blocking notifiers; unregister before the module unloads.
 */
struct notifier_block;
int pvx_host_register_notifier(struct notifier_block *nb);
void pvx_host_unregister_notifier(struct notifier_block *nb);

/*
 * Issue pvx call @nr (PVX_HC_*) with arguments a0..a3 (RBX, RCX, RDX, RSI).
 * Returns the host's RAX: >= 0 on success, -PVX_E* on error. Returns
 * -PVX_ENOSYS without a VM exit when the host has no pvx or did not
 * announce the feature bit of @nr.
 */
long pvx_hypercall(u32 nr, unsigned long a0, unsigned long a1,
		   unsigned long a2, unsigned long a3);

/* pvx_hypercall() that also returns the host's RBX in *@rbx (may be NULL). */
long pvx_hypercall_rbx(u32 nr, unsigned long a0, unsigned long a1,
		       unsigned long a2, unsigned long a3, unsigned long *rbx);

/*
 * Publish a feature module's state as /sys/kernel/pvx/<grp->name>/.
 * @grp->name is required; remove the group before the module unloads.
 */
int pvx_sysfs_add_group(const struct attribute_group *grp);
void pvx_sysfs_remove_group(const struct attribute_group *grp);

/*
 * /dev/pvx ioctls served by feature modules. @fn runs in process context
 * (it may sleep) with a reference on @owner held, so the feature module
 * cannot unload while one of its ioctls runs. @cmd must be in the pvx
 * ioctl range (PVX_IOC_MAGIC) and not one the core serves itself
 * (PVX_IOC_GET_INFO); registering a @cmd twice is -EBUSY. A @cmd nobody
 * registered is -ENOTTY. Register last in module init (userspace can
 * call in at once). Unregister in module exit, or when a later init step
 * fails: on return no call of @fn is running or will start. Both may
 * sleep.
 */
typedef long (*pvx_ioctl_fn)(struct file *file, unsigned int cmd,
			     unsigned long arg);

int __pvx_register_ioctl(unsigned int cmd, pvx_ioctl_fn fn,
			 struct module *owner);
#define pvx_register_ioctl(cmd, fn) __pvx_register_ioctl(cmd, fn, THIS_MODULE)
void pvx_unregister_ioctl(unsigned int cmd);

#endif /* _PVX_GUEST_H */
