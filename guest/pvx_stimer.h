/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx_stimer: steal-time-corrected timers for kernel code in KVM guests,
 * exported by pvx_stimer.ko (Documentation/stimer.rst).
 *
 * A timer started for @effective_ns expires once the effective time since
 * its start, wall time (CLOCK_MONOTONIC) minus the steal time of its owner
 * CPU meanwhile, reaches @effective_ns; or, at the latest, once the wall
 * time since its start reaches its cap (default: the cap_factor module
 * parameter times @effective_ns), so that it fires even in a vCPU the host
 * starves forever. The callback is told which bound fired.
 *
 * The owner CPU is the CPU pvx_stimer_start() runs on; the timer is
 * pinned there and counts that CPU's steal, also when the caller migrates
 * afterwards. Without a steal source (/sys/kernel/pvx/stimer/steal_source
 * is "none") it is a plain wall-clock timer.
 *
 * Rules as for an hrtimer: pvx_stimer_start() and pvx_stimer_cancel()
 * may be called from any CPU, concurrently with each other and with the
 * callback (a per-timer lock orders them; the last one wins). The
 * callback runs in hard interrupt context and may call pvx_stimer_start()
 * on its own timer to re-arm it. An expiry whose start was replaced by a
 * newer one meanwhile is dropped (counter "stale"), never delivered nor
 * re-armed. After pvx_stimer_cancel() returns, the callback is not
 * running and will not run until the next start.
 */
#ifndef _PVX_STIMER_H
#define _PVX_STIMER_H

#include <linux/hrtimer.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>

#include "pvx.h"

enum pvx_stimer_bound {
	PVX_STIMER_EFFECTIVE = PVX_STIMER_BOUND_EFFECTIVE,
	PVX_STIMER_CAP = PVX_STIMER_BOUND_CAP,
};

struct pvx_stimer;

/*
 * Runs once per start (not for a start replaced meanwhile), in hard
 * interrupt context, normally on the owner CPU.
 */
typedef void (*pvx_stimer_fn)(struct pvx_stimer *timer,
			      enum pvx_stimer_bound bound);

struct pvx_stimer {
	struct hrtimer hrt;
	/* orders start, cancel and expiry; protects the fields below */
	raw_spinlock_t lock;
	bool armed;		/* started, not yet fired nor cancelled */
	pvx_stimer_fn fn;
	u64 start_ns;		/* CLOCK_MONOTONIC at start */
	u64 start_steal;	/* owner CPU's cumulative steal at start */
	u64 request_ns;		/* effective ns to reach */
	u64 cap_ns;		/* wall ns from start at which it fires anyway */
	int cpu;		/* CPU whose steal counts: the starting one */
	unsigned int rearms;	/* expiries too early, re-armed, this start */
	/* set before the callback runs: wall and steal ns since start */
	u64 wall_ns;
	u64 steal_ns;
};

/* Once, before the first start. */
void pvx_stimer_init(struct pvx_stimer *timer);

/*
 * Arm @timer on this CPU for @effective_ns (1..PVX_STIMER_MAX_NS) with a
 * wall-clock cap of @cap_ns (0: cap_factor x @effective_ns; else
 * @effective_ns..PVX_STIMER_CAP_FACTOR_MAX x @effective_ns); @fn runs at
 * expiry. An armed timer is re-armed. Returns 0 or -EINVAL (nothing armed
 * then). Any context, any CPU. A start that meets the callback running on
 * another CPU leaves the hrtimer on that CPU (hrtimer's rule); the steal
 * counted is still this CPU's.
 */
int pvx_stimer_start(struct pvx_stimer *timer, u64 effective_ns, u64 cap_ns,
		     pvx_stimer_fn fn);

/*
 * Disarm: true when it was armed. On return the callback is neither
 * running nor pending. May wait for a running callback: not from the
 * callback itself, nor with a lock the callback takes.
 */
bool pvx_stimer_cancel(struct pvx_stimer *timer);

/* True while armed (also while its callback runs). */
bool pvx_stimer_active(const struct pvx_stimer *timer);

/*
 * Effective ns still to go (0 when disarmed or due), as of now, with
 * the owner CPU's steal so far.
 */
u64 pvx_stimer_left(struct pvx_stimer *timer);

/* Cumulative steal ns of @cpu from the steal source; 0 without one. */
u64 pvx_steal_ns(int cpu);

/* PVX_STEAL_SRC_* in use, chosen at load. */
u32 pvx_steal_source(void);

#endif /* _PVX_STIMER_H */
