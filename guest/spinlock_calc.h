/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decisions of pvx_spinlock (spinlock.c) that depend only on the lock
 * word and a waiter's own marks: whether the lock is free, what a waiter
 * does with the .head it read, and whether it may skip the waiter ahead.
 * Pure functions of their arguments, so that selftests/unit/ builds this
 * header in userspace and checks them with exact values
 * (Documentation/unit.rst).
 */
#ifndef _PVX_SPINLOCK_CALC_H
#define _PVX_SPINLOCK_CALC_H

#include <linux/types.h>

/* Tickets advance by 4; bits 0 and 1 of .head are flags (spinlock.c). */
#define PVX_TICKET_STEP		4u
#define PVX_SPIN_HALTED		1u
#define PVX_SPIN_CLAIMED	2u
#define PVX_SPIN_FLAGS		(PVX_SPIN_HALTED | PVX_SPIN_CLAIMED)
/* Adding this to .val draws the next ticket (the tail half). */
#define PVX_TICKET_INC		(PVX_TICKET_STEP << 16)

/* The lock word @val is free: nothing queued, nothing held. */
static inline bool pvx_spin_free(u32 val)
{
	return !((u16)val & PVX_SPIN_CLAIMED) &&
	       ((u16)val & ~PVX_SPIN_FLAGS) == (u16)(val >> 16);
}

enum pvx_spin_step {
	PVX_SPIN_STEP_WAIT,	/* not our turn yet */
	PVX_SPIN_STEP_CLAIM,	/* our turn, unclaimed: claim it */
	PVX_SPIN_STEP_REQUEUE,	/* a skip took our turn: draw again */
};

/*
 * What the waiter of @ticket does with .head read as @raw, @passed its
 * slot's mark. The mark comes first: once our turn was taken, .head
 * showing @ticket again is the same number a lap of the ticket space
 * later, the turn of whoever drew it then, and claiming it would leave
 * that waiter to wait a whole lap more.
 */
static inline enum pvx_spin_step pvx_spin_step(bool passed, u16 raw,
					       u16 ticket)
{
	if (passed)
		return PVX_SPIN_STEP_REQUEUE;
	if ((u16)(raw & ~PVX_SPIN_FLAGS) != ticket || (raw & PVX_SPIN_CLAIMED))
		return PVX_SPIN_STEP_WAIT;
	return PVX_SPIN_STEP_CLAIM;
}

/*
 * Whether the waiter of @ticket may take the turn that @raw (.head as
 * read) serves, before looking at whose it is: it is the ticket right
 * before @ticket and nobody claimed it.
 */
static inline bool pvx_spin_skippable(u16 raw, u16 ticket)
{
	return !(raw & PVX_SPIN_CLAIMED) &&
	       (u16)(raw & ~PVX_SPIN_FLAGS) == (u16)(ticket - PVX_TICKET_STEP);
}

#endif /* _PVX_SPINLOCK_CALC_H */
