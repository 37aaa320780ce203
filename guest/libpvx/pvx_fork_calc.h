/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libpvx: whether pvx_fork() should copy through the host or be a plain
 * fork(), decided per call from what the guest can know (issue 29 item
 * 4). Pure functions, no I/O: pvx_fork.c gathers the facts, and
 * selftests/unit/pvx_fork_calc_test.c checks the rule with exact values.
 *
 * The benchmark (Documentation/fork_copy.rst, "Benchmark") says where
 * the host copy wins and where it loses against fork() + copy-on-write:
 *
 * - shadow paging: every copy-on-write fault costs several VM exits,
 *   pvx_fork() one exit per 255 pages; it won every cell measured
 *   (4.6x to 12x faster, THP on or off, backed or not);
 * - nested paging (NPT/EPT): a copy-on-write fault costs no exit, so the
 *   host copy only saves the guest's split of a shared huge page (the
 *   copy-on-write of a huge page is 4 KiB pieces, the host's copy lands
 *   in fresh huge pages): it won with THP on over huge-page backed
 *   ranges of 64 MiB and more (0.73x to 0.96x) and lost with 4 KiB
 *   pages (THP never: 1.45x to 1.52x; memory without huge pages: 1.08x)
 *   and at 16 MiB (1.01x to 1.25x), where the fixed costs (mmap, GUP of
 *   both ranges, mremap) weigh more;
 * - a host that does not say its paging mode (one older than the paging
 *   bits of PROBE): the copy, as before the rule, since it is the side
 *   that can win by an order of magnitude.
 */
#ifndef PVX_FORK_CALC_H
#define PVX_FORK_CALC_H

#include <stdbool.h>
#include <stdint.h>

#include "pvx.h"

/* The smallest range total nested paging copies: 64 MiB (measured). */
#define PVX_FORK_NESTED_MIN_BYTES	(64ull << 20)

/* The host's paging mode for this VM, from PROBE's RDX. */
enum pvx_fork_paging {
	PVX_FORK_PAGING_UNKNOWN,	/* an older host, or a bad answer */
	PVX_FORK_PAGING_SHADOW,
	PVX_FORK_PAGING_NESTED,
};

/* The guest's transparent huge page policy (.../transparent_hugepage/enabled). */
enum pvx_fork_thp {
	PVX_FORK_THP_UNKNOWN,		/* no THP in the kernel, unreadable */
	PVX_FORK_THP_ALWAYS,
	PVX_FORK_THP_MADVISE,
	PVX_FORK_THP_NEVER,
};

/* How the caller asked for the path (LIBPVX_FORK_PATH). */
enum pvx_fork_force {
	PVX_FORK_FORCE_AUTO,		/* the rule decides */
	PVX_FORK_FORCE_COPY,		/* always the host copy */
	PVX_FORK_FORCE_PLAIN,		/* always plain fork() */
	PVX_FORK_FORCE_BAD,		/* not a valid value: the rule decides */
};

/* What the rule looks at, summed over the call's ranges. */
struct pvx_fork_facts {
	enum pvx_fork_paging paging;
	enum pvx_fork_thp thp;
	bool advised_huge;	/* a mapping of the ranges has MADV_HUGEPAGE */
	bool advised_nohuge;	/* a mapping of the ranges has MADV_NOHUGEPAGE */
	unsigned long long bytes;		/* whole pages of the ranges */
	unsigned long long resident;	/* smaps Rss of their mappings */
	unsigned long long huge;		/* smaps AnonHugePages of their mappings */
};

/* The decision, and why: pvx_fork_stats() and libpvx(3) name them. */
enum pvx_fork_why {
	PVX_FORK_WHY_FORCED_COPY,
	PVX_FORK_WHY_FORCED_PLAIN,
	PVX_FORK_WHY_UNKNOWN_PAGING,	/* copy */
	PVX_FORK_WHY_SHADOW,		/* copy */
	PVX_FORK_WHY_NESTED_HUGE,	/* copy */
	PVX_FORK_WHY_NESTED_SMALL,	/* plain: under PVX_FORK_NESTED_MIN_BYTES */
	PVX_FORK_WHY_NESTED_NO_THP,	/* plain: the fresh copy gets no huge pages */
	PVX_FORK_WHY_NESTED_4K,		/* plain: the source is mostly 4 KiB pages */
};

/*
 * PROBE's paging bits: shadow or nested only when the host says it
 * reports them; PVX_PROBE_NESTED_PAGING alone is no valid answer.
 */
static inline enum pvx_fork_paging pvx_fork_paging_of(unsigned long long host_features)
{
	if (!(host_features & PVX_PROBE_PAGING_KNOWN))
		return PVX_FORK_PAGING_UNKNOWN;
	return (host_features & PVX_PROBE_NESTED_PAGING) ? PVX_FORK_PAGING_NESTED :
							  PVX_FORK_PAGING_SHADOW;
}

/* Past @word at the start of @s, or NULL when @s does not start with it. */
static inline const char *pvx_fork_skip(const char *s, const char *word)
{
	while (*word && *s == *word) {
		s++;
		word++;
	}
	return *word ? NULL : s;
}

/* ".../enabled": "always [madvise] never", the bracketed word is the policy. */
static inline enum pvx_fork_thp pvx_fork_thp_of(const char *s)
{
	static const struct { const char *word; enum pvx_fork_thp thp; } w[] = {
		{ "[always]", PVX_FORK_THP_ALWAYS },
		{ "[madvise]", PVX_FORK_THP_MADVISE },
		{ "[never]", PVX_FORK_THP_NEVER },
		{ NULL, PVX_FORK_THP_UNKNOWN },
	};
	unsigned int i, j;

	for (i = 0; s && s[i]; i++) {
		for (j = 0; w[j].word; j++)
			if (pvx_fork_skip(s + i, w[j].word))
				return w[j].thp;
	}
	return PVX_FORK_THP_UNKNOWN;
}

/* LIBPVX_FORK_PATH: unset or "" is auto; "auto", "copy", "fork"; else bad. */
static inline enum pvx_fork_force pvx_fork_force_of(const char *env)
{
	static const struct { const char *word; enum pvx_fork_force f; } w[] = {
		{ "auto", PVX_FORK_FORCE_AUTO },
		{ "copy", PVX_FORK_FORCE_COPY },
		{ "fork", PVX_FORK_FORCE_PLAIN },
		{ NULL, PVX_FORK_FORCE_BAD },
	};
	unsigned int j;

	if (!env || !*env)
		return PVX_FORK_FORCE_AUTO;
	for (j = 0; w[j].word; j++) {
		const char *end = pvx_fork_skip(env, w[j].word);

		if (end && !*end)
			return w[j].f;
	}
	return PVX_FORK_FORCE_BAD;
}

/* Whether fresh anonymous memory with the ranges' advice gets huge pages. */
static inline bool pvx_fork_thp_fresh(const struct pvx_fork_facts *f)
{
	if (f->advised_nohuge)
		return false;
	return f->thp == PVX_FORK_THP_ALWAYS ||
	       (f->thp == PVX_FORK_THP_MADVISE && f->advised_huge);
}

/* The rule under nested paging: copy only where the host copy won. */
static inline enum pvx_fork_why pvx_fork_nested_why(const struct pvx_fork_facts *f)
{
	if (f->bytes < PVX_FORK_NESTED_MIN_BYTES)
		return PVX_FORK_WHY_NESTED_SMALL;
	if (!pvx_fork_thp_fresh(f))
		return PVX_FORK_WHY_NESTED_NO_THP;
	/* at least half of what is resident in huge pages (smaps: huge <= Rss) */
	if (!f->resident || f->huge > f->resident || f->huge < f->resident - f->huge)
		return PVX_FORK_WHY_NESTED_4K;
	return PVX_FORK_WHY_NESTED_HUGE;
}

static inline enum pvx_fork_why pvx_fork_decide(const struct pvx_fork_facts *f,
						enum pvx_fork_force force)
{
	if (force == PVX_FORK_FORCE_COPY)
		return PVX_FORK_WHY_FORCED_COPY;
	if (force == PVX_FORK_FORCE_PLAIN)
		return PVX_FORK_WHY_FORCED_PLAIN;
	switch (f->paging) {
	case PVX_FORK_PAGING_SHADOW:
		return PVX_FORK_WHY_SHADOW;
	case PVX_FORK_PAGING_NESTED:
		return pvx_fork_nested_why(f);
	default:
		return PVX_FORK_WHY_UNKNOWN_PAGING;
	}
}

/* Whether @why means the host copy (else plain fork()). */
static inline bool pvx_fork_why_copies(enum pvx_fork_why why)
{
	return why == PVX_FORK_WHY_FORCED_COPY || why == PVX_FORK_WHY_UNKNOWN_PAGING ||
	       why == PVX_FORK_WHY_SHADOW || why == PVX_FORK_WHY_NESTED_HUGE;
}

#endif /* PVX_FORK_CALC_H */
