/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decisions of pvx_spinlock (spinlock.c) that depend only on the lock
 * word and a waiter's own state: whether the lock is free, what a waiter
 * does with the word it read, whom it directs a yield at, and which
 * halted waiter an unlock wakes. Pure functions of their arguments, so
 * that selftests/unit/ builds this header in userspace and checks them
 * with exact values (Documentation/unit.rst).
 *
 * The lock word (64 bits, changed only by atomic operations):
 *
 *   bit 0       PVX_SPIN_LOCKED: held
 *   bits 1-15   waiters that may be halted (each adds PVX_SPIN_HALT_ONE
 *               before it halts and takes it back after), so that the
 *               atomic that releases the lock also tells the unlocker
 *               whether to kick: it never reads the lock after that
 *   bits 16-31  gen: acquisitions so far (mod 2^16); a waiter counts the
 *               acquisitions that passed it from its value
 *   bits 32-47  head of the priority queue: the priority ticket served
 *   bits 48-63  tail of the priority queue: the next priority ticket
 *
 * Any waiter may take the lock while it is free and the priority queue
 * is empty (lock stealing, as the kernel's pv qspinlock lets a running
 * waiter do), so a waiter whose vCPU the host preempted holds nobody up.
 * A waiter that has been passed by @pass_limit acquisitions draws a
 * priority ticket; while priority tickets are out, only the waiter of the
 * ticket served may take the lock, so it is passed at most as many times
 * more as there were tickets ahead of its own.
 */
#ifndef _PVX_SPINLOCK_CALC_H
#define _PVX_SPINLOCK_CALC_H

#include <linux/types.h>

#define PVX_SPIN_LOCKED		1ull
#define PVX_SPIN_HALT_ONE	2ull
#define PVX_SPIN_HALT_MASK	0xfffeull
#define PVX_SPIN_GEN_SHIFT	16
#define PVX_SPIN_GEN_ONE	0x10000ull
#define PVX_SPIN_PHEAD_SHIFT	32
#define PVX_SPIN_PHEAD_ONE	0x100000000ull
#define PVX_SPIN_PTAIL_SHIFT	48
#define PVX_SPIN_PTAIL_ONE	0x1000000000000ull
/* waiters that may halt at once, and priority tickets out at once */
#define PVX_SPIN_WAITERS_MAX	(PVX_SPIN_HALT_MASK / PVX_SPIN_HALT_ONE)

static inline u16 pvx_spin_gen(u64 v)
{
	return v >> PVX_SPIN_GEN_SHIFT;
}

static inline u16 pvx_spin_phead(u64 v)
{
	return v >> PVX_SPIN_PHEAD_SHIFT;
}

static inline u16 pvx_spin_ptail(u64 v)
{
	return v >> PVX_SPIN_PTAIL_SHIFT;
}

/* Waiters counted as (maybe) halted in @v. */
static inline unsigned int pvx_spin_halted(u64 v)
{
	return (v & PVX_SPIN_HALT_MASK) / PVX_SPIN_HALT_ONE;
}

/* Priority tickets are out: the lock is reserved for the one served. */
static inline bool pvx_spin_reserved(u64 v)
{
	return pvx_spin_phead(v) != pvx_spin_ptail(v);
}

/* The lock word @v is free for any locker: not held, not reserved. */
static inline bool pvx_spin_free(u64 v)
{
	return !(v & PVX_SPIN_LOCKED) && !pvx_spin_reserved(v);
}

/* A waiter with priority ticket @ticket (when @prio) is served in @v. */
static inline bool pvx_spin_served(u64 v, bool prio, u16 ticket)
{
	return prio && pvx_spin_reserved(v) && pvx_spin_phead(v) == ticket;
}

/* Acquisitions granted since gen was @since. */
static inline u16 pvx_spin_passes(u64 v, u16 since)
{
	return (u16)(pvx_spin_gen(v) - since);
}

/*
 * The word after taking @v: held, one more acquisition and, for a
 * priority waiter (@prio), the next ticket served. Field by field: gen and
 * the head wrap within their 16 bits.
 */
static inline u64 pvx_spin_taken(u64 v, bool prio)
{
	u64 gen = (u16)(pvx_spin_gen(v) + 1);
	u64 head = (u16)(pvx_spin_phead(v) + prio);

	return (v & ~(0xffffull << PVX_SPIN_GEN_SHIFT |
		      0xffffull << PVX_SPIN_PHEAD_SHIFT)) |
	       PVX_SPIN_LOCKED | gen << PVX_SPIN_GEN_SHIFT |
	       head << PVX_SPIN_PHEAD_SHIFT;
}

enum pvx_spin_step {
	PVX_SPIN_STEP_WAIT,	/* held, or reserved for a ticket before ours */
	PVX_SPIN_STEP_TAKE,	/* ours to take: compare-and-exchange */
	PVX_SPIN_STEP_PRIORITY,	/* passed @pass_limit times: draw a ticket */
};

/*
 * What a waiter that read @v does. Without a priority ticket (@prio
 * false) it has waited since gen was @since; with one, @ticket is it. A
 * waiter passed @pass_limit times draws a ticket even when the lock is
 * free (@pass_limit 0: every waiter at once, a FIFO lock).
 */
static inline enum pvx_spin_step pvx_spin_step(u64 v, u16 since,
					       unsigned int pass_limit,
					       bool prio, u16 ticket)
{
	if (prio)
		return !(v & PVX_SPIN_LOCKED) && pvx_spin_phead(v) == ticket ?
		       PVX_SPIN_STEP_TAKE : PVX_SPIN_STEP_WAIT;
	if (pvx_spin_passes(v, since) >= pass_limit)
		return PVX_SPIN_STEP_PRIORITY;
	return pvx_spin_free(v) ? PVX_SPIN_STEP_TAKE : PVX_SPIN_STEP_WAIT;
}

enum pvx_spin_target {
	PVX_SPIN_TARGET_NONE,	/* the lock can be ours: nobody to yield to */
	PVX_SPIN_TARGET_HOLDER,	/* held: the holder's vCPU */
	PVX_SPIN_TARGET_PHEAD,	/* free, reserved: the served ticket's waiter */
};

/*
 * Whose vCPU a waiter (with priority ticket @ticket when @prio) that read
 * @v and must wait directs a yield at.
 */
static inline enum pvx_spin_target pvx_spin_target(u64 v, bool prio,
						   u16 ticket)
{
	if (v & PVX_SPIN_LOCKED)
		return PVX_SPIN_TARGET_HOLDER;
	if (pvx_spin_reserved(v) && !pvx_spin_served(v, prio, ticket))
		return PVX_SPIN_TARGET_PHEAD;
	return PVX_SPIN_TARGET_NONE;
}

/* gen @a came before gen @b (within half the gen space). */
static inline bool pvx_spin_older(u16 a, u16 b)
{
	return (u16)(b - a) != 0 && (u16)(b - a) < 0x8000;
}

/*
 * Which halted waiter an unlock wakes: the one whose priority ticket its
 * release left served (nobody else may take the lock), else the one
 * waiting longest. A halted waiter found in the slots, waiting since gen
 * @since and served (@head) or not, against the best so far (@have one:
 * @best_head, @best_since): whether it is better.
 */
static inline bool pvx_spin_kick_better(bool head, u16 since, bool have,
					bool best_head, u16 best_since)
{
	if (!have)
		return true;
	if (best_head)
		return false;
	return head || pvx_spin_older(since, best_since);
}

#endif /* _PVX_SPINLOCK_CALC_H */
