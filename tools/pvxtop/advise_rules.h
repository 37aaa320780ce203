/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvxtop --advise's rules on the guest's knobs, as pure functions of one
 * window's counts. pvxtop.c judges with them, and the lab's check of its
 * advice (selftests/guest/pvxtop_guest_test.c --tune) applies them to
 * the sysfs counters' growth: one copy of each rule. Each judges only on
 * a sample of at least its minimum: a share of a handful of events is
 * noise. Documentation/tuning.rst says why each threshold is where it is.
 */
#ifndef _PVXTOP_ADVISE_RULES_H
#define _PVXTOP_ADVISE_RULES_H

#include <stdbool.h>

#define SPIN_MIN_YIELDS		30	/* yields made on the spin threshold */
#define SPIN_SHARE_PCT		50	/* ... that found the holder running */
#define SPIN_SLOW_PER_YIELD	4	/* ... or one per this many slow paths */
#define SPIN_STEP		4	/* raise spin_threshold by this factor */
#define SPIN_THRESHOLD_MAX	16777216ull	/* guest/spinlock.c's bound */
#define CAP_MIN_FIRES		30	/* timer expiries */
#define CAP_SHARE_PCT		25	/* ... on the cap */
#define CAP_FACTOR_MAX		64ull	/* guest/stimer.c's bound */

/*
 * spin_threshold is raised when of @thr yields made on the threshold
 * the host found the holder running in @running for half or more, or
 * when there is one such yield for every SPIN_SLOW_PER_YIELD of
 * @slow_paths or more.
 */
static inline bool spin_rule_raises(unsigned long long thr, unsigned long long running,
				    unsigned long long slow_paths)
{
	return running * 100 >= thr * SPIN_SHARE_PCT || thr * SPIN_SLOW_PER_YIELD >= slow_paths;
}

/* The value a raise of spin_threshold from @cur goes to. */
static inline unsigned long long spin_rule_raise_to(unsigned long long cur)
{
	return cur * SPIN_STEP < SPIN_THRESHOLD_MAX ? cur * SPIN_STEP : SPIN_THRESHOLD_MAX;
}

/* cap_factor is raised when @cap of @fires expiries, a quarter or more, hit the cap. */
static inline bool cap_rule_raises(unsigned long long fires, unsigned long long cap)
{
	return cap * 100 >= fires * CAP_SHARE_PCT;
}

/* The value a raise of cap_factor from @cur goes to. */
static inline unsigned long long cap_rule_raise_to(unsigned long long cur)
{
	return cur * 2 < CAP_FACTOR_MAX ? cur * 2 : CAP_FACTOR_MAX;
}

#endif /* _PVXTOP_ADVISE_RULES_H */
