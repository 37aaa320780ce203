/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_STIMER_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_STIMER_TRACE_H

#include <linux/tracepoint.h>

/*
 * The two decisions a pvx timer takes when its hrtimer expires, with the
 * numbers it took them on: @request_ns of effective time was asked for,
 * @wall_ns passed since the start and the owner CPU @cpu had @steal_ns of
 * steal meanwhile.
 *
 * stimer_fire: the callback runs now; @bound says why: "effective" (wall
 * minus steal reached the request) or "cap" (the wall-clock cap did);
 * @rearms is how often the timer had expired too early before.
 */
TRACE_EVENT(stimer_fire,
	    TP_PROTO(const void *timer, int cpu, u64 request_ns, u64 wall_ns,
		     u64 steal_ns, unsigned int rearms, bool cap),
	    TP_ARGS(timer, cpu, request_ns, wall_ns, steal_ns, rearms, cap),
	    TP_STRUCT__entry(__field(const void *, timer)
			     __field(int, cpu)
			     __field(u64, request_ns)
			     __field(u64, wall_ns)
			     __field(u64, steal_ns)
			     __field(unsigned int, rearms)
			     __field(bool, cap)),
	    TP_fast_assign(__entry->timer = timer;
			   __entry->cpu = cpu;
			   __entry->request_ns = request_ns;
			   __entry->wall_ns = wall_ns;
			   __entry->steal_ns = steal_ns;
			   __entry->rearms = rearms;
			   __entry->cap = cap;),
	    TP_printk("timer=%p cpu=%d request_ns=%llu wall_ns=%llu steal_ns=%llu rearms=%u bound=%s",
		      __entry->timer, __entry->cpu, __entry->request_ns,
		      __entry->wall_ns, __entry->steal_ns, __entry->rearms,
		      __entry->cap ? "cap" : "effective")
);

/*
 * stimer_rearm: the steal meanwhile kept the effective time short of the
 * request and the cap is not reached: the hrtimer is re-armed to expire
 * again in @next_ns (the shortfall, or less when the cap comes first).
 */
TRACE_EVENT(stimer_rearm,
	    TP_PROTO(const void *timer, int cpu, u64 request_ns, u64 wall_ns,
		     u64 steal_ns, u64 next_ns),
	    TP_ARGS(timer, cpu, request_ns, wall_ns, steal_ns, next_ns),
	    TP_STRUCT__entry(__field(const void *, timer)
			     __field(int, cpu)
			     __field(u64, request_ns)
			     __field(u64, wall_ns)
			     __field(u64, steal_ns)
			     __field(u64, next_ns)),
	    TP_fast_assign(__entry->timer = timer;
			   __entry->cpu = cpu;
			   __entry->request_ns = request_ns;
			   __entry->wall_ns = wall_ns;
			   __entry->steal_ns = steal_ns;
			   __entry->next_ns = next_ns;),
	    TP_printk("timer=%p cpu=%d request_ns=%llu wall_ns=%llu steal_ns=%llu next_ns=%llu",
		      __entry->timer, __entry->cpu, __entry->request_ns,
		      __entry->wall_ns, __entry->steal_ns, __entry->next_ns)
);

#endif /* _PVX_STIMER_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE stimer_trace
#include <trace/define_trace.h>
