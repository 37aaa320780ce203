/* SPDX-License-Identifier: GPL-2.0 */
/* State shared by the files of pvx_guest.ko; not for feature modules. */
#ifndef _PVX_GUEST_INTERNAL_H
#define _PVX_GUEST_INTERNAL_H

#include <linux/percpu.h>
#include <linux/types.h>

#include "pvx_guest.h"

/*
 * What the last PROBE found: written under a lock at load, on reprobe and
 * when a call is lost (core.c); pvx_host_has() reads it without the lock,
 * other readers take a pvx_host_snapshot().
 */
struct pvx_host {
	bool host_pvx;		/* PROBE succeeded with the pvx magic */
	u32 abi_version;	/* host ABI version, 0 without pvx */
	u32 magic;		/* PVX_MAGIC, or 0 */
	u32 features;		/* PVX_F_* from PROBE, 0 without pvx */
	u32 epoch;		/* PROBE's RSI: the host's state of this VM */
};

extern struct pvx_host pvx_host;

enum pvx_stat {
	PVX_STAT_HYPERCALLS,	/* VM exits issued, PROBE included */
	PVX_STAT_ERRORS,	/* ... of which the host answered < 0 */
	PVX_STAT_REFUSED,	/* calls answered -PVX_ENOSYS without an exit */
	PVX_STAT_PERIODIC_PROBES, /* PROBEs of the reprobe_ms timer */
	PVX_STAT_HOST_CHANGES,	/* times what the guest uses of the host changed */
	PVX_STAT_NR
};

/* What made the guest PROBE again (pvx:guest_host_change's why). */
enum pvx_host_why {
	PVX_HOST_WHY_REPROBE,	/* load, or /sys/kernel/pvx/reprobe */
	PVX_HOST_WHY_LOST,	/* an announced call answered -PVX_ENOSYS */
	PVX_HOST_WHY_PERIODIC,	/* the reprobe_ms timer */
};

struct pvx_stats {
	u64 n[PVX_STAT_NR];
};

DECLARE_PER_CPU(struct pvx_stats, pvx_stats);

void pvx_host_snapshot(struct pvx_host *out);
int pvx_reprobe(void);
int pvx_sysfs_init(void);
void pvx_sysfs_exit(void);
int pvx_dev_init(void);
void pvx_dev_exit(void);

#endif /* _PVX_GUEST_INTERNAL_H */
