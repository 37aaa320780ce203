/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_SPINLOCK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_SPINLOCK_TRACE_H

#include <linux/tracepoint.h>

/*
 * One event per directed yield a pv spinlock waiter issues: @lock, the
 * CPU it yielded to (@next false: the holder's; @next true: the lock was
 * free and this is the CPU of the waiter whose turn it is), its own CPU,
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
 * halting CPU and the @ticket it waits for. A waiter that found its turn
 * had come after it set the halted flag does not halt and is not traced.
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
 * One event per unlock that found the halted flag set, where
 * PVX_SPIN_KICKS or PVX_SPIN_KICK_MISSES counts it: @lock, the CPU of the
 * waiter of @ticket (-1 when none is published), and @miss (no halted
 * waiter: no KVM_HC_KICK_CPU was made). The lock may already be freed by
 * its next holder: @lock is its address only, never to be read through.
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
 * One event per skip, where PVX_SPIN_SKIPS counts it: the waiter on
 * @waiter_cpu took the turn of @ticket, whose waiter on @target_cpu was
 * off its CPU (@halted: halted, else preempted by the host) while the
 * lock sat free; that waiter draws a new ticket when it runs again.
 */
TRACE_EVENT(spin_skip,
	    TP_PROTO(const void *lock, int target_cpu, int waiter_cpu,
		     u16 ticket, bool halted),
	    TP_ARGS(lock, target_cpu, waiter_cpu, ticket, halted),
	    TP_STRUCT__entry(__field(const void *, lock)
			     __field(int, target_cpu)
			     __field(int, waiter_cpu)
			     __field(u16, ticket)
			     __field(bool, halted)),
	    TP_fast_assign(__entry->lock = lock;
			   __entry->target_cpu = target_cpu;
			   __entry->waiter_cpu = waiter_cpu;
			   __entry->ticket = ticket;
			   __entry->halted = halted;),
	    TP_printk("lock=%p target_cpu=%d waiter_cpu=%d ticket=%u %s",
		      __entry->lock, __entry->target_cpu, __entry->waiter_cpu,
		      __entry->ticket, __entry->halted ? "halted" : "preempted")
);

#endif /* _PVX_SPINLOCK_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE spinlock_trace
#include <trace/define_trace.h>
