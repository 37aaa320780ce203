/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_SPINLOCK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_SPINLOCK_TRACE_H

#include <linux/tracepoint.h>

/*
 * One event per directed yield a pv spinlock waiter issues: @lock, the
 * holder's CPU it yielded to, its own CPU, the cpu_relax() spins it had
 * done on this acquisition, why it yielded (@preempted: the holder's vCPU
 * was preempted; else the spin passed spin_threshold) and the result: a
 * PVX_YIELD_* value (>= 0) or -PVX_E* from PVX_HC_YIELD, or the stock
 * KVM_HC_SCHED_YIELD's return value in "sched-yield" mode.
 */
TRACE_EVENT(spin_yield,
	    TP_PROTO(const void *lock, int holder_cpu, int waiter_cpu,
		     unsigned int spins, bool preempted, long result),
	    TP_ARGS(lock, holder_cpu, waiter_cpu, spins, preempted, result),
	    TP_STRUCT__entry(__field(const void *, lock)
			     __field(int, holder_cpu)
			     __field(int, waiter_cpu)
			     __field(unsigned int, spins)
			     __field(bool, preempted)
			     __field(long, result)),
	    TP_fast_assign(__entry->lock = lock;
			   __entry->holder_cpu = holder_cpu;
			   __entry->waiter_cpu = waiter_cpu;
			   __entry->spins = spins;
			   __entry->preempted = preempted;
			   __entry->result = result;),
	    TP_printk("lock=%p holder_cpu=%d waiter_cpu=%d spins=%u %s result=%ld",
		      __entry->lock, __entry->holder_cpu, __entry->waiter_cpu,
		      __entry->spins,
		      __entry->preempted ? "preempted" : "threshold",
		      __entry->result)
);

#endif /* _PVX_SPINLOCK_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE spinlock_trace
#include <trace/define_trace.h>
