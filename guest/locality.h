/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the two files of pvx_locality.ko: locality.c (the ioctl, the
 * sysfs group, module init) and locmap.c (the automatic locality map).
 */
#ifndef _PVX_LOCALITY_H
#define _PVX_LOCALITY_H

#include <linux/types.h>

#include "pvx.h"

struct attribute;

/* A batch as the host reads it: header and ranges in one page. */
struct pvx_loc_batch {
	struct pvx_batch_hdr hdr;
	struct pvx_gpa_range r[PVX_NUMA_MAX_RANGES];
};

/* The automatic map's sysfs counters, NULL-terminated (locmap.c). */
extern struct attribute *pvx_locmap_attrs[];

/* Start the automatic map if asked at load; debugfs. 0 or -errno. */
int pvx_locmap_init(void);
/* Stop it for good: on return no round runs or is queued. */
void pvx_locmap_exit(void);

#endif /* _PVX_LOCALITY_H */
