/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_SPINLOCK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_SPINLOCK_TRACE_H

#include <linux/tracepoint.h>

/*
 * One event per directed yield a pv spinlock waiter issues: @lock, the
 * CPU it yielded to (@next false: the holder's; @next true: the lock was
 * free but reserved and this is the CPU of the waiter whose priority
 * ticket is served), its own CPU,
 * the cpu_relax() spins it had done on this acquisition, why it yielded
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
 * halting CPU and, in @ticket, the lock's acquisition count (mod 2^16)
 * when it began to wait. A waiter that found the lock its own after it
 * counted itself halted does not halt and is not traced.
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
 * One event per unlock that found waiters counted halted, where
 * PVX_SPIN_KICKS or PVX_SPIN_KICK_MISSES counts it: @lock, the CPU of the
 * waiter it kicked (-1 when it found no halted waiter published), in
 * @ticket that waiter's acquisition count when it began to wait (a
 * miss: the count at the release), and @miss (no KVM_HC_KICK_CPU made).
 * The lock may already be freed by its next holder: @lock is its address
 * only, never to be read through.
 */
TRACE_EVENT(spin_kick,
	    TP_PROTO(const void *lock, int target_cpu, u16 ticket, bool miss),
	    TP_ARGS(lock, target_cpu, ticket, miss),
	    TP_STRUCT__entry(__field(const void *, lock)
			     __field(int, target_cpu)
			     __field(u16, ticket)
			     __field(bool, miss)),
	    TP_fast_assign(__entry->lock = lock;
			   __entry->target_cpu = target_cpu;
			   __entry->ticket = ticket;
			   __entry->miss = miss;),
	    TP_printk("lock=%p target_cpu=%d ticket=%u %s", __entry->lock,
		      __entry->target_cpu, __entry->ticket,
		      __entry->miss ? "miss" : "kicked")
);

/*
 * One event per priority ticket drawn, where PVX_SPIN_PRIORITY_WAITS
 * counts it: the waiter on @waiter_cpu of @lock had been passed by
 * @passes acquisitions (PVX_SPIN_PASS_LIMIT or more; any number with the
 * skip parameter 0) and drew @ticket, with @ahead tickets before it.
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
