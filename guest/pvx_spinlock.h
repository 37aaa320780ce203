/* SPDX-License-Identifier: GPL-2.0 */
/*
 * struct pvx_spinlock: a spinlock for kernel code in KVM guests,
 * exported by pvx_spinlock.ko. Any running waiter may take the lock
 * while it is free (lock stealing), so a waiter whose vCPU the host
 * preempted holds nobody up; a waiter that has been passed by
 * PVX_SPIN_PASS_LIMIT acquisitions draws a priority ticket, and while
 * priority tickets are out only the waiter of the one served may take the
 * lock (so it is passed at most as many times more as there are other
 * waiters). Waiters spin and, when the holder's vCPU is preempted by the
 * host (KVM steal time) or the spin passes the spin_threshold module
 * parameter, issue a directed yield to the holder's vCPU: PVX_HC_YIELD on
 * a pvx host that announces PVX_F_YIELD, else the stock
 * KVM_HC_SCHED_YIELD, else plain spinning (the mode is chosen at load:
 * /sys/kernel/pvx/spinlock/mode).
 *
 * Same rules as spinlock_t: not recursive, preemption is disabled while
 * held, the holder must not sleep; a lock also taken in hard interrupt
 * context is taken with the _irqsave variants everywhere else, one taken
 * in softirq context with the _bh variants. Documentation/spinlock.rst.
 */
#ifndef _PVX_SPINLOCK_H
#define _PVX_SPINLOCK_H

#include <linux/atomic.h>
#include <linux/bottom_half.h>
#include <linux/compiler.h>
#include <linux/irqflags.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/smp.h>
#include <linux/typecheck.h>
#include <linux/types.h>

#include "spinlock_calc.h"

/* Acquisitions that may pass a running waiter before it gets priority. */
#define PVX_SPIN_PASS_LIMIT	256

struct pvx_spinlock {
	/*
	 * Held bit, halted waiters, acquisitions so far and the priority
	 * queue (guest/spinlock_calc.h); only changed atomically. The
	 * unlocker reads it in the atomic that releases the lock and never
	 * touches the lock after that.
	 */
	atomic64_t val;
	/* CPU of the holder, -1 while free: where waiters direct a yield. */
	int holder_cpu;
	/*
	 * Acquisitions granted while the holder waited and could act: since
	 * it began to wait (at most PVX_SPIN_PASS_LIMIT - 1), or since it
	 * drew its priority ticket (the tickets ahead of it); 0 on the fast
	 * path. Written by the holder; read by the holder (the torture
	 * test's fairness check).
	 */
	u16 queued;
	/*
	 * A waiter spins for the lock: a locker that finds it free does not
	 * take it at once but waits one backoff as waiters do, so that the
	 * one spinning gets it first (a hint, never needed for exclusion:
	 * set by spinning waiters, cleared by the next holder).
	 */
	bool wanted;
};

#define __PVX_SPIN_LOCK_UNLOCKED \
	{ .val = ATOMIC64_INIT(0), .holder_cpu = -1, .queued = 0, .wanted = false }
#define DEFINE_PVX_SPINLOCK(name) \
	struct pvx_spinlock name = __PVX_SPIN_LOCK_UNLOCKED

void pvx_spin_lock_init(struct pvx_spinlock *lock);
/* true when the lock was free and is now held; never waits. */
bool pvx_spin_trylock(struct pvx_spinlock *lock);

/* Acquisitions by the fast path on this CPU (in spinlock/acquisitions). */
DECLARE_PER_CPU(u64, pvx_spin_fast_acquired);

/* After the fast path failed, preemption off: wait for the lock, take it. */
void pvx_spin_lock_slow(struct pvx_spinlock *lock);
/* An unlock whose release returned @old counted halted waiters: wake one. */
void pvx_spin_kick(const struct pvx_spinlock *lock, u64 old);

/*
 * Take the lock when the word is free, with one compare-and-exchange that
 * sets the held bit and counts the acquisition. Returns whether it did.
 */
static __always_inline bool pvx_spin_take_free(struct pvx_spinlock *lock)
{
	s64 v = atomic64_read(&lock->val);

	return pvx_spin_free(v) &&
	       atomic64_try_cmpxchg_acquire(&lock->val, &v,
					    pvx_spin_taken(v, false));
}

/* The caller holds @lock now, passed @queued times while it waited. */
static __always_inline void pvx_spin_set_holder(struct pvx_spinlock *lock,
						u16 queued)
{
	WRITE_ONCE(lock->holder_cpu, smp_processor_id());
	lock->queued = queued;
}

/*
 * The fast paths of the lock and the unlock are inline in the caller: an
 * acquisition that does not wait, and a release with nobody halted, run
 * none of pvx_spinlock.ko's code, so they cost the caller its own code
 * and the lock's line (a call into the module's text, cold when the lock
 * is taken seldom, made pvx's lightly loaded lock wait longer than the
 * native one; bench.rst).
 *
 * Lock: a waiter spinning for the lock (wanted) comes first, no barging
 * past it. Preemption is off.
 */
static __always_inline bool pvx_spin_take_fast(struct pvx_spinlock *lock)
{
	if (READ_ONCE(lock->wanted) || !pvx_spin_take_free(lock))
		return false;
	pvx_spin_set_holder(lock, 0);
	this_cpu_inc(pvx_spin_fast_acquired);
	return true;
}

static __always_inline void __pvx_spin_lock(struct pvx_spinlock *lock)
{
	if (unlikely(!pvx_spin_take_fast(lock)))
		pvx_spin_lock_slow(lock);
}

/*
 * Unlock: one atomic subtraction releases the lock (a locked instruction:
 * the critical section before the release; pairs with the acquire of the
 * next taker's exchange) and returns the count of halted waiters: the
 * lock is not read after it, since the next holder may free it at once
 * (spinlock.c).
 */
static __always_inline void __pvx_spin_unlock(struct pvx_spinlock *lock)
{
	u64 old;

	WRITE_ONCE(lock->holder_cpu, -1);
	old = atomic64_fetch_sub_release(PVX_SPIN_LOCKED, &lock->val);
	if (unlikely(pvx_spin_halted(old)))
		pvx_spin_kick(lock, old);
}

static __always_inline void pvx_spin_lock(struct pvx_spinlock *lock)
{
	preempt_disable();
	__pvx_spin_lock(lock);
}

static __always_inline void pvx_spin_unlock(struct pvx_spinlock *lock)
{
	__pvx_spin_unlock(lock);
	preempt_enable();
}

static __always_inline void pvx_spin_lock_bh(struct pvx_spinlock *lock)
{
	local_bh_disable();	/* disables preemption too */
	__pvx_spin_lock(lock);
}

static __always_inline void pvx_spin_unlock_bh(struct pvx_spinlock *lock)
{
	__pvx_spin_unlock(lock);
	local_bh_enable();
}

static __always_inline unsigned long
_pvx_spin_lock_irqsave(struct pvx_spinlock *lock)
{
	unsigned long flags;

	local_irq_save(flags);
	preempt_disable();
	__pvx_spin_lock(lock);
	return flags;
}

static __always_inline void
pvx_spin_unlock_irqrestore(struct pvx_spinlock *lock, unsigned long flags)
{
	__pvx_spin_unlock(lock);
	local_irq_restore(flags);
	preempt_enable();
}

#define pvx_spin_lock_irqsave(lock, flags)			\
	do {							\
		typecheck(unsigned long, flags);		\
		flags = _pvx_spin_lock_irqsave(lock);		\
	} while (0)

#endif /* _PVX_SPINLOCK_H */
