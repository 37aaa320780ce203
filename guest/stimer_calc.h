/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The arithmetic of pvx_stimer (stimer.c): which requests are valid, how
 * many periods a late expiry of a periodic timer fd ended, and how a lazy
 * periodic timer catches up. Pure functions of their arguments, so that
 * selftests/unit/ builds this header in userspace and checks them with
 * exact values (Documentation/unit.rst).
 */
#ifndef _PVX_STIMER_CALC_H
#define _PVX_STIMER_CALC_H

#include <linux/errno.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/types.h>

#include "pvx.h"

/* 0 when @effective_ns and @cap_ns (0: default) make a valid request. */
static inline int pvx_stimer_check(u64 effective_ns, u64 cap_ns)
{
	if (!effective_ns || effective_ns > PVX_STIMER_MAX_NS)
		return -EINVAL;
	if (cap_ns && (cap_ns < effective_ns ||
		       cap_ns > effective_ns * PVX_STIMER_CAP_FACTOR_MAX))
		return -EINVAL;
	return 0;
}

/* 0 when @s is a valid arming (value_ns 0: disarmed, nothing else set). */
static inline int pvx_stimer_spec_check(const struct pvx_stimer_spec *s)
{
	if (!s->value_ns)
		return s->interval_ns || s->cap_ns ? -EINVAL : 0;
	if (pvx_stimer_check(s->value_ns, s->cap_ns))
		return -EINVAL;
	if (s->interval_ns &&
	    (s->interval_ns < PVX_STIMER_MIN_INTERVAL_NS ||
	     pvx_stimer_check(s->interval_ns, s->cap_ns)))
		return -EINVAL;
	return 0;
}

/*
 * Periods of a periodic timer fd that ended between an expiry's due point
 * and its callback: an expiry that runs late (its CPU had interrupts off,
 * or its vCPU did not run while the guest saw no steal) ends more than one
 * period, and timerfd counts those too (hrtimer_forward()). @request and
 * @cap are the expiry's, @wall and @steal what it measured; @interval is
 * the period and @period_cap its wall-clock cap. The due point is where
 * effective time reached the request or wall time the cap; with only the
 * totals at hand, steal is taken as spread evenly over the wait.
 */
static inline u64 pvx_stimer_late_periods(u64 request, u64 cap, u64 wall,
					  u64 steal, u64 interval,
					  u64 period_cap)
{
	u64 eff, due, over_wall, over_eff;

	steal = min(steal, wall);
	eff = wall - steal;
	if (!wall)
		return 0;
	/*
	 * due = min(request * wall / eff, cap), without a quotient that
	 * overflows (a divide error on x86): request * wall / cap <= wall
	 * as cap >= request, and when it is below eff, request * wall / eff
	 * is below cap.
	 */
	if (!eff || mul_u64_u64_div_u64(request, wall, cap) >= eff)
		due = cap;
	else
		due = mul_u64_u64_div_u64(request, wall, eff);
	if (wall <= due)
		return 0;
	over_wall = wall - due;
	over_eff = mul_u64_u64_div_u64(over_wall, eff, wall);
	return max(div64_u64(over_eff, interval),
		   div64_u64(over_wall, period_cap));
}

/*
 * A lazy periodic timer, @wall and @steal ns after the expiry that made it
 * lazy: the periods passed since (returned), and the next start's request
 * (*@req) and cap (*@req_cap: the arming's cap_ns on entry, 0 for the
 * default). A period ends at @interval of effective time or at @period_cap
 * of wall time, whichever comes first, so the periods passed are the larger
 * of the two quotients. When the effective bound is the one that counts,
 * the phase is kept (the rest of the period, with a proportional cap);
 * otherwise the next period starts now with the whole interval.
 */
static inline u64 pvx_stimer_catch_up(u64 interval, u64 period_cap, u64 wall,
				      u64 steal, u64 *req, u64 *req_cap)
{
	u64 eff = wall > steal ? wall - steal : 0;
	u64 n = div64_u64(eff, interval);
	u64 n_cap = div64_u64(wall, period_cap);

	*req = interval;
	if (n_cap > n)
		return n_cap;
	*req = interval - (eff - n * interval);
	if (*req_cap)
		*req_cap = mul_u64_u64_div_u64(*req, *req_cap, interval);
	return n;
}

#endif /* _PVX_STIMER_CALC_H */
