/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_LOCMAP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_LOCMAP_TRACE_H

#include <linux/tracepoint.h>

#define PVX_LM_SENT		0	/* sent; @result is the host's answer */
#define PVX_LM_SAME		1	/* as the last map sent: not sent */
#define PVX_LM_BACKOFF		2	/* changed, but backing off (EAGAIN) */

/*
 * One event per CPU and round of pvx_locality's automatic map that found
 * a thread with resident memory there: the CPU, the thread, the map's
 * ranges and bytes, what was done with it and, when sent, the host's
 * answer (0 or -PVX_E*) and home node.
 */
TRACE_EVENT(locality_map,
	    TP_PROTO(int cpu, pid_t pid, unsigned int ranges, u64 bytes,
		     int action, long result, int home),
	    TP_ARGS(cpu, pid, ranges, bytes, action, result, home),
	    TP_STRUCT__entry(__field(int, cpu)
			     __field(pid_t, pid)
			     __field(unsigned int, ranges)
			     __field(u64, bytes)
			     __field(int, action)
			     __field(long, result)
			     __field(int, home)),
	    TP_fast_assign(__entry->cpu = cpu;
			   __entry->pid = pid;
			   __entry->ranges = ranges;
			   __entry->bytes = bytes;
			   __entry->action = action;
			   __entry->result = result;
			   __entry->home = home;),
	    TP_printk("cpu=%d pid=%d ranges=%u bytes=%llu %s result=%ld home=%d",
		      __entry->cpu, __entry->pid, __entry->ranges,
		      __entry->bytes,
		      __print_symbolic(__entry->action,
				       { PVX_LM_SENT, "sent" },
				       { PVX_LM_SAME, "unchanged" },
				       { PVX_LM_BACKOFF, "backoff" }),
		      __entry->result, __entry->home)
);

#endif /* _PVX_LOCMAP_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE locmap_trace
#include <trace/define_trace.h>
