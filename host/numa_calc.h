/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decisions of pvx_numa (numa.c) that depend only on numbers: whether
 * a hint's batch header and ranges are well formed, how sparsely a batch
 * is sampled, and which node becomes a vCPU's home. Pure functions of
 * their arguments, so that selftests/unit/ builds this header in
 * userspace and checks them with exact values (Documentation/unit.rst).
 */
#ifndef _PVX_NUMA_CALC_H
#define _PVX_NUMA_CALC_H

#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/numa.h>
#include <linux/types.h>

#include "../uapi/pvx.h"

/* A hint's header: 0, or the answer that refuses the batch. */
static inline long pvx_numa_hdr_check(const struct pvx_batch_hdr *hdr)
{
	if (hdr->flags & ~PVX_NUMA_F_ALL || hdr->reserved || !hdr->count)
		return -PVX_EINVAL;
	if (hdr->count > PVX_NUMA_MAX_RANGES)
		return -PVX_E2BIG;
	return 0;
}

/* A range's shape (its memslots are checked apart): 0 or the answer. */
static inline long pvx_numa_range_check(const struct pvx_gpa_range *r)
{
	if (!r->len || !PAGE_ALIGNED(r->gpa) || !PAGE_ALIGNED(r->len))
		return -PVX_EINVAL;
	if (r->gpa + r->len < r->gpa)
		return -PVX_E2BIG;
	return 0;
}

/*
 * Pages between two lookups when a batch of @pages pages is sampled with
 * at most @sample lookups: each looked-up page stands for that many.
 */
static inline u64 pvx_numa_stride(u64 pages, unsigned int sample)
{
	return div64_u64(pages + sample - 1, sample);
}

/*
 * The node with the most of @node_bytes (@nr nodes; the first of equals),
 * NUMA_NO_NODE when none has any. A vCPU whose @home is a node keeps it
 * unless the best node holds more than (100 + @hysteresis_pct)% of the
 * home's bytes: a small difference does not move a vCPU back and forth.
 */
static inline int pvx_numa_pick(const u64 *node_bytes, int nr, int home,
				unsigned int hysteresis_pct)
{
	int n, best = NUMA_NO_NODE;
	u64 most = 0;

	for (n = 0; n < nr; n++)
		if (node_bytes[n] > most) {
			most = node_bytes[n];
			best = n;
		}
	if (best == NUMA_NO_NODE || home == NUMA_NO_NODE || best == home)
		return best;
	/* most > home * (100 + h) / 100, without the division */
	if (div_u64(most, 100 + hysteresis_pct) * 100 <= node_bytes[home])
		return home;
	return best;
}

/*
 * Whether act mode may place one more vCPU thread of a VM on the @cpus
 * CPUs of its home node that the thread may use, when pvx already holds
 * @placed vCPU threads of that VM on them. Those CPUs hold no more of
 * them than there are CPUs: two vCPUs never time-share one CPU of a full
 * node while another node's CPU idles (a vCPU left where it is runs there
 * at remote-memory speed, which costs less than waiting for a CPU).
 */
static inline bool pvx_numa_has_room(unsigned int placed, unsigned int cpus)
{
	return placed < cpus;
}

#endif /* _PVX_NUMA_CALC_H */
