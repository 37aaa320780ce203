/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx guest core API, for the pvx guest feature modules (pv spinlock,
 * steal-time timers, KSM hints). Exported by pvx_guest.ko.
 *
 * The core probes the host once, when it loads. A feature module asks
 * pvx_host_has(PVX_F_x) in its init and falls back when it is false; it
 * issues its calls with pvx_hypercall(), which never traps to the host for
 * a call the host did not announce. All functions may be called from any
 * context (they take no locks and do not sleep), except the sysfs helpers,
 * which may sleep.
 */
#ifndef _PVX_GUEST_H
#define _PVX_GUEST_H

#include <linux/types.h>

#include "pvx.h"

struct attribute_group;

/* True when PROBE succeeded and the host serves every call in @feature_bits. */
bool pvx_host_has(u32 feature_bits);

/* PVX_F_* bitmap from PROBE; 0 when the host has no pvx. */
u32 pvx_host_features(void);

/*
 * Issue pvx call @nr (PVX_HC_*) with arguments a0..a3 (RBX, RCX, RDX, RSI).
 * Returns the host's RAX: >= 0 on success, -PVX_E* on error. Returns
 * -PVX_ENOSYS without a VM exit when the host has no pvx or did not
 * announce the feature bit of @nr.
 */
long pvx_hypercall(u32 nr, unsigned long a0, unsigned long a1,
		   unsigned long a2, unsigned long a3);

/*
 * Publish a feature module's state as /sys/kernel/pvx/<grp->name>/.
 * @grp->name is required; remove the group before the module unloads.
 */
int pvx_sysfs_add_group(const struct attribute_group *grp);
void pvx_sysfs_remove_group(const struct attribute_group *grp);

#endif /* _PVX_GUEST_H */
