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
 *   bit 1       PVX_SPIN_HALTED: the queue's head halted until the unlock
 *               kicks it; the unlock that clears the held bit turns it
 *               into PVX_SPIN_WAKING in the same exchange, so the
 *               unlocker never reads the lock again, and one halt gets
 *               one kick
 *   bit 2       PVX_SPIN_WAKING: the head was kicked and has not run yet;
 *               it clears the bit when it runs
 *   bits 16-31  passes: acquisitions made ahead of the queue (by lockers
 *               that were not queued) since its head became head; 0
 *               while nobody is queued
 *   bits 32-47  the queue's head: its CPU + 1, 0 before the head named
 *               itself
 *   bits 48-63  tail of the waiters' queue: (CPU + 1) << 2 | nesting
 *               level of its node, 0 when nobody is queued
 *
 * Waiters queue in order (an MCS queue of per-CPU nodes, as the kernel's
 * qspinlock): each waits on its own node until its predecessor took the
 * lock and made it head; only the head watches the word. A locker that
 * is not queued (the fast path, trylock) takes a free word while nobody
 * is queued; while waiters are, only when the head is not spinning for
 * it (its vCPU preempted by the host, halted, or not named yet), and at
 * most @pass_limit times per head (@pass_limit 0: never, a FIFO lock).
 * So running waiters are served in order, and a head whose vCPU is off
 * its CPU holds up only the queue, not every locker.
 */
#ifndef _PVX_SPINLOCK_CALC_H
#define _PVX_SPINLOCK_CALC_H

#include <linux/types.h>

#define PVX_SPIN_LOCKED		1ull
#define PVX_SPIN_HALTED		2ull
#define PVX_SPIN_WAKING		4ull
#define PVX_SPIN_PASSES_SHIFT	16
#define PVX_SPIN_PASSES_MASK	(0xffffull << PVX_SPIN_PASSES_SHIFT)
#define PVX_SPIN_HEAD_SHIFT	32
#define PVX_SPIN_HEAD_MASK	(0xffffull << PVX_SPIN_HEAD_SHIFT)
#define PVX_SPIN_TAIL_SHIFT	48
#define PVX_SPIN_TAIL_MASK	(0xffffull << PVX_SPIN_TAIL_SHIFT)
/* queue nodes per CPU: task, softirq, hardirq, NMI */
#define PVX_SPIN_NEST_MAX	4
/* CPUs the tail and the head field can name */
#define PVX_SPIN_CPUS_MAX	(0xffffu >> 2)

static inline u16 pvx_spin_passes(u64 v)
{
	return v >> PVX_SPIN_PASSES_SHIFT;
}

static inline u16 pvx_spin_tail(u64 v)
{
	return v >> PVX_SPIN_TAIL_SHIFT;
}

/* The queue head's CPU in @v, or -1 before it named itself. */
static inline int pvx_spin_head_cpu(u64 v)
{
	return (int)(u16)(v >> PVX_SPIN_HEAD_SHIFT) - 1;
}

/*
 * The head spins for the lock in @v: named, not halted, not waking up
 * from a halt (whether the host preempted its vCPU, the word cannot say).
 */
static inline bool pvx_spin_head_spinning(u64 v)
{
	return pvx_spin_head_cpu(v) >= 0 &&
	       !(v & (PVX_SPIN_HALTED | PVX_SPIN_WAKING));
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
 * nobody is queued, or the head has been passed fewer than @pass_limit
 * times and does not spin for the lock on a running vCPU
 * (@head_preempted: the host preempted the vCPU of the head @v names).
 */
static inline bool pvx_spin_may_steal(u64 v, unsigned int pass_limit,
				      bool head_preempted)
{
	if (v & PVX_SPIN_LOCKED)
		return false;
	if (!pvx_spin_tail(v))
		return true;
	if (pvx_spin_passes(v) >= pass_limit)
		return false;
	return !pvx_spin_head_spinning(v) || head_preempted;
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

/* The word @v with the queue's head named: on @cpu. */
static inline u64 pvx_spin_head_named(u64 v, int cpu)
{
	return (v & ~PVX_SPIN_HEAD_MASK) |
	       (u64)(u16)(cpu + 1) << PVX_SPIN_HEAD_SHIFT;
}

/*
 * The word after the queue head with tail value @mine takes @v: held, no
 * passes, no head named, neither halted nor waking (its successor starts
 * afresh), and
 * the queue empty when it was the last in it.
 */
static inline u64 pvx_spin_head_taken(u64 v, u16 mine)
{
	u64 tail = pvx_spin_tail(v) == mine ? 0 : v & PVX_SPIN_TAIL_MASK;

	return tail | PVX_SPIN_LOCKED;
}

/*
 * The word an unlock leaves from @v: not held; a head marked halted is
 * marked waking instead (the unlocker kicks it).
 */
static inline u64 pvx_spin_released(u64 v)
{
	u64 waking = v & PVX_SPIN_HALTED ? PVX_SPIN_WAKING : 0;

	return (v & ~(PVX_SPIN_LOCKED | PVX_SPIN_HALTED)) | waking;
}

#endif /* _PVX_SPINLOCK_CALC_H */
