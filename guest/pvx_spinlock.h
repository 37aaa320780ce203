/* SPDX-License-Identifier: GPL-2.0 */
/*
 * struct pvx_spinlock: a fair (FIFO ticket) spinlock for kernel code in KVM
 * guests, exported by pvx_spinlock.ko; a waiter whose vCPU is off its CPU
 * when its turn comes may lose that turn to the next waiter and queue
 * again, once per acquisition. Waiters spin with backoff and, when
 * the holder's vCPU is preempted by the host (KVM steal time) or the spin
 * passes the spin_threshold module parameter, issue a directed yield to the
 * holder's vCPU: PVX_HC_YIELD on a pvx host that announces PVX_F_YIELD,
 * else the stock KVM_HC_SCHED_YIELD, else plain spinning (the mode is
 * chosen at load: /sys/kernel/pvx/spinlock/mode).
 *
 * Same rules as spinlock_t: not recursive, preemption is disabled while
 * held, the holder must not sleep; a lock also taken in hard interrupt
 * context is taken with the _irqsave variants everywhere else, one taken
 * in softirq context with the _bh variants. Documentation/spinlock.rst.
 */
#ifndef _PVX_SPINLOCK_H
#define _PVX_SPINLOCK_H

#include <linux/atomic.h>
#include <linux/typecheck.h>
#include <linux/types.h>

struct pvx_spinlock {
	union {
		atomic_t val;		/* both halves, updated atomically */
		struct {
			/*
			 * Ticket being served; bit 0 (PVX_SPIN_HALTED) set
			 * while a waiter may be halted: the unlocker reads it
			 * in the same atomic add that releases the lock, and
			 * never touches the lock after that add; bit 1
			 * (PVX_SPIN_CLAIMED) set once that ticket's waiter,
			 * or the next one skipping it, took the lock.
			 */
			u16 head;
			u16 tail;	/* next ticket to hand out */
		};
	};
	/* CPU of the holder, -1 while free: where waiters direct a yield. */
	int holder_cpu;
	/*
	 * Tickets that were ahead of the holder's when it drew it, i.e. the
	 * number of acquisitions granted while it waited (0 on the fast
	 * path). Written by the holder; read by the holder (the torture
	 * test's fairness check).
	 */
	u16 queued;
};

#define __PVX_SPIN_LOCK_UNLOCKED \
	{ .val = ATOMIC_INIT(0), .holder_cpu = -1, .queued = 0 }
#define DEFINE_PVX_SPINLOCK(name) \
	struct pvx_spinlock name = __PVX_SPIN_LOCK_UNLOCKED

void pvx_spin_lock_init(struct pvx_spinlock *lock);
void pvx_spin_lock(struct pvx_spinlock *lock);
void pvx_spin_unlock(struct pvx_spinlock *lock);
/* true when the lock was free and is now held; never waits. */
bool pvx_spin_trylock(struct pvx_spinlock *lock);
void pvx_spin_lock_bh(struct pvx_spinlock *lock);
void pvx_spin_unlock_bh(struct pvx_spinlock *lock);
unsigned long _pvx_spin_lock_irqsave(struct pvx_spinlock *lock);
void pvx_spin_unlock_irqrestore(struct pvx_spinlock *lock, unsigned long flags);

#define pvx_spin_lock_irqsave(lock, flags)			\
	do {							\
		typecheck(unsigned long, flags);		\
		flags = _pvx_spin_lock_irqsave(lock);		\
	} while (0)

#endif /* _PVX_SPINLOCK_H */
