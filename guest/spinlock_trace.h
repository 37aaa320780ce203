/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_SPINLOCK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_SPINLOCK_TRACE_H

#include <linux/tracepoint.h>

/*
 * One event per directed yield a pv spinlock waiter issues: @lock, the
 * CPU it yielded to (@next false: the holder's; @next true: a queued
 * waiter's, the queue's head while the lock is free, or its own
 * predecessor in the queue, which the host preempted), its own
 * CPU, the cpu_relax() spins it had done on this acquisition, why it yielded
 * (@preempted: the target's vCPU was preempted; else the spin passed
 * spin_threshold) and the result: a
 * PVX_YIELD_* value (>= 0) or -PVX_E* from PVX_HC_YIELD, or the stock
 * KVM_HC_SCHED_YIELD's return value in "sched-yield" mode.
 */
TRACE_EVENT(spin_yield,
	    TP_PROTO(const void *lock, int target_cpu, int waiter_cpu,
		     unsigned int spins, bool preempted, bool next, long result),
	    TP_ARGS(lock, target_cpu, waiter_cpu, spins, preempted, next,
		    result),
	    TP_STRUCT__entry(__field(const void *, lock)
			     __field(int, target_cpu)
			     __field(int, waiter_cpu)
			     __field(unsigned int, spins)
			     __field(bool, preempted)
			     __field(bool, next)
			     __field(long, result)),
	    TP_fast_assign(__entry->lock = lock;
			   __entry->target_cpu = target_cpu;
			   __entry->waiter_cpu = waiter_cpu;
			   __entry->spins = spins;
			   __entry->preempted = preempted;
			   __entry->next = next;
			   __entry->result = result;),
	    TP_printk("lock=%p target_cpu=%d (%s) waiter_cpu=%d spins=%u %s result=%ld",
		      __entry->lock, __entry->target_cpu,
		      __entry->next ? "next" : "holder", __entry->waiter_cpu,
		      __entry->spins,
		      __entry->preempted ? "preempted" : "threshold",
		      __entry->result)
);

/*
 * One event per halt of a pv spinlock waiter (the moment PVX_SPIN_HALTS
 * counts it, with interrupts off, just before the halt): @lock, the
 * halting CPU and, in @ticket, the waiter's queue tail value ((CPU + 1)
 * << 2 | nesting level). A waiter that found itself woken (made head, or
 * its halted mark cleared by the unlock) before it halted does not halt
 * and is not traced.
 */
TRACE_EVENT(spin_halt,
	    TP_PROTO(const void *lock, int cpu, u16 ticket),
	    TP_ARGS(lock, cpu, ticket),
	    TP_STRUCT__entry(__field(const void *, lock)
			     __field(int, cpu)
			     __field(u16, ticket)),
	    TP_fast_assign(__entry->lock = lock;
			   __entry->cpu = cpu;
			   __entry->ticket = ticket;),
	    TP_printk("lock=%p cpu=%d ticket=%u", __entry->lock, __entry->cpu,
		      __entry->ticket)
);

/*
 * One event per KVM_HC_KICK_CPU of the lock, where PVX_SPIN_KICKS counts
 * it: @lock, the CPU of the halted waiter it woke and, in @ticket, the
 * tail value the unlock's word held (an unlock that woke the halted queue
 * head) or 0 (a waiter that made its halted successor head). The lock may
 * already be freed by its next holder: @lock is its address only, never
 * to be read through.
 */
TRACE_EVENT(spin_kick,
	    TP_PROTO(const void *lock, int target_cpu, u16 ticket),
	    TP_ARGS(lock, target_cpu, ticket),
	    TP_STRUCT__entry(__field(const void *, lock)
			     __field(int, target_cpu)
			     __field(u16, ticket)),
	    TP_fast_assign(__entry->lock = lock;
			   __entry->target_cpu = target_cpu;
			   __entry->ticket = ticket;),
	    TP_printk("lock=%p target_cpu=%d ticket=%u", __entry->lock,
		      __entry->target_cpu, __entry->ticket)
);

/*
 * One event per queue head that found the lock reserved for it, where
 * PVX_SPIN_PRIORITY_WAITS counts it: the head on @waiter_cpu of @lock had
 * been passed @passes times (PVX_SPIN_PASS_LIMIT; any number with the
 * skip parameter 0), so no locker may take the lock ahead of it any more;
 * @ticket is its queue tail value, @ahead 0 (nobody is ahead of a head).
 */
TRACE_EVENT(spin_priority,
	    TP_PROTO(const void *lock, int waiter_cpu, u16 passes, u16 ticket,
		     u16 ahead),
	    TP_ARGS(lock, waiter_cpu, passes, ticket, ahead),
	    TP_STRUCT__entry(__field(const void *, lock)
			     __field(int, waiter_cpu)
			     __field(u16, passes)
			     __field(u16, ticket)
			     __field(u16, ahead)),
	    TP_fast_assign(__entry->lock = lock;
			   __entry->waiter_cpu = waiter_cpu;
			   __entry->passes = passes;
			   __entry->ticket = ticket;
			   __entry->ahead = ahead;),
	    TP_printk("lock=%p waiter_cpu=%d passes=%u ticket=%u ahead=%u",
		      __entry->lock, __entry->waiter_cpu, __entry->passes,
		      __entry->ticket, __entry->ahead)
);

#endif /* _PVX_SPINLOCK_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE spinlock_trace
#include <trace/define_trace.h>
