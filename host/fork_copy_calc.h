/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The checks of a fork-copy batch (fork_copy.c) that depend only on its
 * numbers: the header, each pair's shape, and whether pairs overlap. The
 * memslot checks stay in fork_copy.c. Pure functions of their arguments,
 * so that selftests/unit/ builds this header in userspace and checks them
 * with exact values (Documentation/unit.rst).
 */
#ifndef _PVX_FORK_COPY_CALC_H
#define _PVX_FORK_COPY_CALC_H

#include <linux/bsearch.h>
#include <linux/mm.h>
#include <linux/sort.h>
#include <linux/types.h>

#include "../uapi/pvx.h"

/*
 * Counters: calls, full batches, what was copied, then one class per
 * check of fork_copy.c (and enomem). calls = done + every class after
 * bytes. A check answers done when the batch passes it.
 */
enum pvx_fc_stat {
	PVX_FC_STAT_CALLS,		/* calls that reached the handler */
	PVX_FC_STAT_DONE,		/* batches copied in full */
	PVX_FC_STAT_PAGES,		/* pages copied (also by partial calls) */
	PVX_FC_STAT_BYTES,
	PVX_FC_STAT_RESERVED,
	PVX_FC_STAT_UNALIGNED,
	PVX_FC_STAT_NO_SLOT,
	PVX_FC_STAT_TOO_BIG,
	PVX_FC_STAT_SAME_PAGE,
	PVX_FC_STAT_READ_ONLY,
	PVX_FC_STAT_OVERLAP,
	PVX_FC_STAT_FAULT,		/* a copy failed: partial batch */
	PVX_FC_STAT_DIRTY_LOG,		/* dirty-logged destination, no marking */
	PVX_FC_STAT_RING_FULL,		/* stopped at the dirty ring's soft limit */
	PVX_FC_STAT_ENOMEM,		/* no per-VM state (host totals only) */
	PVX_FC_STAT_NR
};

/* The batch header: flags and reserved field 0, at most a page of pairs. */
static inline enum pvx_fc_stat pvx_fc_hdr_check(const struct pvx_batch_hdr *hdr)
{
	if ((hdr->flags & ~PVX_COPY_F_ALL) || hdr->reserved)
		return PVX_FC_STAT_RESERVED;
	if (hdr->count > PVX_COPY_MAX_PAIRS)
		return PVX_FC_STAT_TOO_BIG;
	return PVX_FC_STAT_DONE;
}

/* A pair's shape: both pages 4 KiB aligned, and not one page. */
static inline enum pvx_fc_stat pvx_fc_pair_shape(const struct pvx_copy_pair *p)
{
	if (!PAGE_ALIGNED(p->src_gpa) || !PAGE_ALIGNED(p->dst_gpa))
		return PVX_FC_STAT_UNALIGNED;
	if (p->src_gpa == p->dst_gpa)
		return PVX_FC_STAT_SAME_PAGE;
	return PVX_FC_STAT_DONE;
}

static inline int pvx_fc_cmp_gpa(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Two of the @n @pairs write one page, or one pair reads a page that
 * another writes: the result would depend on the order of the copies.
 * All addresses are page aligned by now, so pages overlap only when their
 * addresses are equal. @scratch holds @n addresses.
 */
static inline bool pvx_fc_overlap(const struct pvx_copy_pair *pairs, u32 n,
				  u64 *scratch)
{
	u32 i;

	for (i = 0; i < n; i++)
		scratch[i] = pairs[i].dst_gpa;
	sort(scratch, n, sizeof(*scratch), pvx_fc_cmp_gpa, NULL);
	for (i = 1; i < n; i++)
		if (scratch[i] == scratch[i - 1])
			return true;
	for (i = 0; i < n; i++)
		if (bsearch(&pairs[i].src_gpa, scratch, n, sizeof(*scratch),
			    pvx_fc_cmp_gpa))
			return true;
	return false;
}

#endif /* _PVX_FORK_COPY_CALC_H */
