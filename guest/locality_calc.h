/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decisions of pvx_locality (locality.c, locmap.c) that depend only
 * on numbers: how a page joins a hint batch, how long a thread ran since
 * the last round of the automatic map, how sampled pages become a map of
 * at most max ranges, and whether a map differs enough from the last one
 * sent. Pure functions of their arguments, so that selftests/unit/ builds
 * this header in userspace and checks them with exact values
 * (Documentation/unit.rst).
 */
#ifndef _PVX_LOCALITY_CALC_H
#define _PVX_LOCALITY_CALC_H

#include <linux/bsearch.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/types.h>

#include "locality.h"

/* Re-send when more than 1/8 of the bytes differ from the last map sent. */
#define PVX_LOC_CHANGE_SHIFT	3

/* Add the page at guest-physical @pa to @b; false when the batch is full. */
static inline bool pvx_loc_add(struct pvx_loc_batch *b, u64 pa)
{
	struct pvx_gpa_range *last = b->hdr.count ? &b->r[b->hdr.count - 1] : NULL;

	if (last && last->gpa + last->len == pa) {
		last->len += PAGE_SIZE;
		return true;
	}
	if (b->hdr.count == PVX_NUMA_MAX_RANGES)
		return false;
	b->r[b->hdr.count].gpa = pa;
	b->r[b->hdr.count].len = PAGE_SIZE;
	b->hdr.count++;
	return true;
}

/* A user thread as one round saw it; sorted by (pid, start) for the next. */
struct pvx_lm_seen {
	pid_t pid;
	u64 start;	/* task->start_time: a recycled pid is another thread */
	u64 runtime;	/* se.sum_exec_runtime */
};

static inline int pvx_lm_seen_cmp(const void *a, const void *b)
{
	const struct pvx_lm_seen *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

/*
 * How long @e ran since the last round: the growth of its runtime since
 * its entry in @prev (@nprev entries, sorted by pvx_lm_seen_cmp()), or,
 * for a thread born since the last round at @last_round, all its runtime.
 * 0 when that is not known (the first round, a thread seen for the first
 * time that is older than the last round).
 */
static inline u64 pvx_lm_runtime_delta(const struct pvx_lm_seen *e,
				       const struct pvx_lm_seen *prev,
				       unsigned int nprev, u64 last_round)
{
	const struct pvx_lm_seen *p;

	p = bsearch(e, prev, nprev, sizeof(*p), pvx_lm_seen_cmp);
	if (p)
		return e->runtime > p->runtime ? e->runtime - p->runtime : 0;
	if (last_round && e->start >= last_round)
		return e->runtime;
	return 0;
}

static inline int pvx_lm_u64_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static inline int pvx_lm_len_cmp(const void *a, const void *b)
{
	const struct pvx_gpa_range *x = a, *y = b;

	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;	/* longest first */
	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

static inline int pvx_lm_gpa_cmp(const void *a, const void *b)
{
	const struct pvx_gpa_range *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/*
 * @n sampled pfns (sorted here) into ranges in @r (room for @n), merged
 * where contiguous, then the @max longest kept in address order into @b.
 * Returns the bytes in @b.
 */
static inline u64 pvx_lm_build(u64 *pfn, unsigned long n,
			       struct pvx_gpa_range *r, struct pvx_loc_batch *b,
			       unsigned int max)
{
	unsigned long i, nr = 0;
	u64 bytes = 0;

	sort(pfn, n, sizeof(*pfn), pvx_lm_u64_cmp, NULL);
	for (i = 0; i < n; i++) {
		u64 pa = pfn[i] << PAGE_SHIFT;

		if (nr && r[nr - 1].gpa + r[nr - 1].len == pa)
			r[nr - 1].len += PAGE_SIZE;
		else if (!nr || r[nr - 1].gpa + r[nr - 1].len < pa)
			r[nr++] = (struct pvx_gpa_range){ .gpa = pa, .len = PAGE_SIZE };
		/* else the same page twice (a THP's pages are distinct): skip */
	}
	if (nr > max) {
		sort(r, nr, sizeof(*r), pvx_lm_len_cmp, NULL);
		nr = max;
		sort(r, nr, sizeof(*r), pvx_lm_gpa_cmp, NULL);
	}
	memset(b, 0, sizeof(b->hdr));
	b->hdr.count = nr;
	for (i = 0; i < nr; i++) {
		b->r[i] = r[i];
		bytes += r[i].len;
	}
	return bytes;
}

/* Bytes in both maps (each sorted by address, ranges disjoint). */
static inline u64 pvx_lm_common(const struct pvx_loc_batch *a,
				const struct pvx_loc_batch *b)
{
	unsigned int i = 0, j = 0;
	u64 both = 0;

	while (i < a->hdr.count && j < b->hdr.count) {
		u64 a0 = a->r[i].gpa, a1 = a0 + a->r[i].len;
		u64 b0 = b->r[j].gpa, b1 = b0 + b->r[j].len;

		if (min(a1, b1) > max(a0, b0))
			both += min(a1, b1) - max(a0, b0);
		if (a1 < b1)
			i++;
		else
			j++;
	}
	return both;
}

/*
 * True when the map @b of @bytes differs from @sent of @sent_bytes by more
 * than 1/8 of the larger: re-sending a map the host already has costs an
 * exit and changes nothing.
 */
static inline bool pvx_lm_differs(const struct pvx_loc_batch *sent,
				  u64 sent_bytes,
				  const struct pvx_loc_batch *b, u64 bytes)
{
	u64 diff = sent_bytes + bytes - 2 * pvx_lm_common(sent, b);

	return diff > (max(sent_bytes, bytes) >> PVX_LOC_CHANGE_SHIFT);
}

#endif /* _PVX_LOCALITY_CALC_H */
