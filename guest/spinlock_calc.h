/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decisions of pvx_spinlock (spinlock.c) that depend only on the lock
 * word: whether a locker that is not queued may take it, the word an
 * acquisition leaves, the queue's tail encoding and which halted queue
 * head an unlock wakes. Pure functions of their arguments, so that
 * selftests/unit/ builds this header in userspace and checks them with
 * exact values (Documentation/unit.rst).
 *
 * The lock word (64 bits, changed only by atomic operations):
 *
 *   bit 0       PVX_SPIN_LOCKED: held
 *   bits 16-31  passes: acquisitions made ahead of the queue (by lockers
 *               that were not queued) since its head became head; 0
 *               while nobody is queued
 *   bits 32-47  the halted queue head: its CPU + 1, 0 when it runs; the
 *               unlock that clears the held bit clears it too and kicks
 *               that CPU, so the unlocker never reads the lock again
 *   bits 48-63  tail of the waiters' queue: (CPU + 1) << 2 | nesting
 *               level of its node, 0 when nobody is queued
 *
 * Waiters queue in order (an MCS queue of per-CPU nodes, as the kernel's
 * qspinlock): each waits on its own node until its predecessor took the
 * lock and made it head; only the head watches the word. A locker that
 * is not queued (the fast path, trylock) takes a free word out of turn
 * unless the head has been passed @pass_limit times since it became head
 * (@pass_limit 0: never while anyone is queued, a FIFO lock), so a head
 * whose vCPU the host preempted holds up only the queue, not every
 * locker, and a running head is passed at most @pass_limit times.
 */
#ifndef _PVX_SPINLOCK_CALC_H
#define _PVX_SPINLOCK_CALC_H

#include <linux/types.h>

#define PVX_SPIN_LOCKED		1ull
#define PVX_SPIN_PASSES_SHIFT	16
#define PVX_SPIN_PASSES_MASK	(0xffffull << PVX_SPIN_PASSES_SHIFT)
#define PVX_SPIN_HHEAD_SHIFT	32
#define PVX_SPIN_HHEAD_MASK	(0xffffull << PVX_SPIN_HHEAD_SHIFT)
#define PVX_SPIN_TAIL_SHIFT	48
#define PVX_SPIN_TAIL_MASK	(0xffffull << PVX_SPIN_TAIL_SHIFT)
/* queue nodes per CPU: task, softirq, hardirq, NMI */
#define PVX_SPIN_NEST_MAX	4
/* CPUs the tail and the halted head can name */
#define PVX_SPIN_CPUS_MAX	(0xffffu >> 2)

static inline u16 pvx_spin_passes(u64 v)
{
	return v >> PVX_SPIN_PASSES_SHIFT;
}

static inline u16 pvx_spin_tail(u64 v)
{
	return v >> PVX_SPIN_TAIL_SHIFT;
}

/* The halted queue head's CPU in @v, or -1. */
static inline int pvx_spin_halted_head(u64 v)
{
	return (int)(u16)(v >> PVX_SPIN_HHEAD_SHIFT) - 1;
}

/* The tail value naming node @idx of @cpu. */
static inline u16 pvx_spin_tail_of(int cpu, unsigned int idx)
{
	return (u16)((cpu + 1) << 2 | idx);
}

static inline int pvx_spin_tail_cpu(u16 tail)
{
	return (tail >> 2) - 1;
}

static inline unsigned int pvx_spin_tail_idx(u16 tail)
{
	return tail & 3;
}

/*
 * A locker that is not queued may take the word @v: not held, and either
 * nobody is queued or the head has been passed fewer than @pass_limit
 * times.
 */
static inline bool pvx_spin_may_steal(u64 v, unsigned int pass_limit)
{
	if (v & PVX_SPIN_LOCKED)
		return false;
	return !pvx_spin_tail(v) || pvx_spin_passes(v) < pass_limit;
}

/*
 * The word after a locker that is not queued takes @v: held, one more
 * pass of the queue's head when there is one (else the count stays 0).
 */
static inline u64 pvx_spin_stolen(u64 v)
{
	u64 passes = pvx_spin_tail(v) ? (u16)(pvx_spin_passes(v) + 1) : 0;

	return (v & ~PVX_SPIN_PASSES_MASK) | PVX_SPIN_LOCKED |
	       passes << PVX_SPIN_PASSES_SHIFT;
}

/*
 * The word after the queue head with tail value @mine takes @v: held, no
 * passes (its successor's count starts now), not halted, and the queue
 * empty when it was the last in it.
 */
static inline u64 pvx_spin_head_taken(u64 v, u16 mine)
{
	u64 tail = pvx_spin_tail(v) == mine ? 0 : v & PVX_SPIN_TAIL_MASK;

	return tail | PVX_SPIN_LOCKED;
}

/* The word @v with the queue head on @cpu marked halted. */
static inline u64 pvx_spin_head_halting(u64 v, int cpu)
{
	return (v & ~PVX_SPIN_HHEAD_MASK) |
	       (u64)(u16)(cpu + 1) << PVX_SPIN_HHEAD_SHIFT;
}

/*
 * The word an unlock leaves from @v: not held, nobody marked halted (the
 * unlocker kicks the one @v names).
 */
static inline u64 pvx_spin_released(u64 v)
{
	return v & ~(PVX_SPIN_LOCKED | PVX_SPIN_HHEAD_MASK);
}

#endif /* _PVX_SPINLOCK_CALC_H */
