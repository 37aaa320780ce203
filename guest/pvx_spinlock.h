/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx_spinlock_t: a fair (FIFO ticket) spinlock for kernel code in KVM
 * guests, exported by pvx_spinlock.ko. Waiters spin with backoff and, when
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
			 * never touches the lock after that add.
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

/*
 * The lock type, spelled like spinlock_t. A macro rather than a typedef
 * (checkpatch: no new typedefs); use it wherever a type name goes.
 */
#define pvx_spinlock_t struct pvx_spinlock

#define __PVX_SPIN_LOCK_UNLOCKED \
	{ .val = ATOMIC_INIT(0), .holder_cpu = -1, .queued = 0 }
#define DEFINE_PVX_SPINLOCK(name) \
	pvx_spinlock_t name = __PVX_SPIN_LOCK_UNLOCKED

void pvx_spin_lock_init(pvx_spinlock_t *lock);
void pvx_spin_lock(pvx_spinlock_t *lock);
void pvx_spin_unlock(pvx_spinlock_t *lock);
/* true when the lock was free and is now held; never waits. */
bool pvx_spin_trylock(pvx_spinlock_t *lock);
void pvx_spin_lock_bh(pvx_spinlock_t *lock);
void pvx_spin_unlock_bh(pvx_spinlock_t *lock);
unsigned long _pvx_spin_lock_irqsave(pvx_spinlock_t *lock);
void pvx_spin_unlock_irqrestore(pvx_spinlock_t *lock, unsigned long flags);

#define pvx_spin_lock_irqsave(lock, flags)			\
	do {							\
		typecheck(unsigned long, flags);		\
		flags = _pvx_spin_lock_irqsave(lock);		\
	} while (0)

#endif /* _PVX_SPINLOCK_H */
