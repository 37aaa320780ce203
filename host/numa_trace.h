/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx:numa_hint - one PVX_HC_NUMA_HINT answered (host/numa.c).
 *
 * Bytes per node are estimates from the pages sampled (numa.c); nodes 0-3
 * have their own fields, higher nodes are added up in node_other. home
 * is the answer of an accepted hint (RBX: -1 when none of its memory is
 * backed, whatever the vCPU's home), else the vCPU's home. A
 * fixed layout keeps the event usable by tracepoint BPF programs and
 * perf without BTF.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_NUMA_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_NUMA_TRACE_H

#include <linux/tracepoint.h>

#include "../uapi/pvx.h"

#define PVX_NUMA_TRACE_NODES	4

TRACE_EVENT(numa_hint,
	    TP_PROTO(u64 vm_id, int vcpu_id, u32 ranges, const u64 *node_bytes,
		     u64 node_other, u64 unknown, int home, int action,
		     long ret),
	    TP_ARGS(vm_id, vcpu_id, ranges, node_bytes, node_other, unknown,
		    home, action, ret),

	    TP_STRUCT__entry(__field(u64, vm_id)
			     __field(int, vcpu_id)
			     __field(u32, ranges)
			     __array(u64, node, PVX_NUMA_TRACE_NODES)
			     __field(u64, node_other)
			     __field(u64, unknown)
			     __field(int, home)
			     __field(int, action)
			     __field(long, ret)),

	    TP_fast_assign(__entry->vm_id = vm_id;
			   __entry->vcpu_id = vcpu_id;
			   __entry->ranges = ranges;
			   memcpy(__entry->node, node_bytes,
				  sizeof(__entry->node));
			   __entry->node_other = node_other;
			   __entry->unknown = unknown;
			   __entry->home = home;
			   __entry->action = action;
			   __entry->ret = ret;),

	    TP_printk("vm=%llu vcpu=%d ranges=%u node0=%llu node1=%llu node2=%llu node3=%llu other=%llu unknown=%llu home=%d action=%s ret=%ld",
		      __entry->vm_id, __entry->vcpu_id, __entry->ranges,
		      __entry->node[0], __entry->node[1], __entry->node[2],
		      __entry->node[3], __entry->node_other, __entry->unknown,
		      __entry->home,
		      __print_symbolic(__entry->action,
				       { 0, "none" },
				       { 1, "moved" },
				       { 2, "would_move" },
				       { 3, "stay" },
				       { 4, "no_cpus" },
				       { 5, "full" }),
		      __entry->ret)
);

#endif /* _PVX_NUMA_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE numa_trace
#include <trace/define_trace.h>
