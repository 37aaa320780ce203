/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx_host tracepoints, system "pvx". CREATE_TRACE_POINTS is defined in
 * core.c only.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_HOST_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_HOST_TRACE_H

#include <linux/tracepoint.h>

/*
 * pvx:hypercall - one pvx-range hypercall that pvx answered (or left at
 * -ENOSYS for want of a handler).
 * @vm_id: pvx VM id (debugfs vm<id>-<pid>), 0 if no state could be made
 * @vcpu_id: vcpu->vcpu_id of the caller
 * @nr: call number
 * @result: value given to the guest in RAX (before 32-bit truncation)
 * @duration_ns: time spent in the feature handler (0 if none ran)
 */
TRACE_EVENT(hypercall,
	    TP_PROTO(u64 vm_id, int vcpu_id, u32 nr, long result,
		     u64 duration_ns),
	    TP_ARGS(vm_id, vcpu_id, nr, result, duration_ns),

	    TP_STRUCT__entry(__field(u64, vm_id)
			     __field(int, vcpu_id)
			     __field(u32, nr)
			     __field(long, result)
			     __field(u64, duration_ns)),

	    TP_fast_assign(__entry->vm_id = vm_id;
			   __entry->vcpu_id = vcpu_id;
			   __entry->nr = nr;
			   __entry->result = result;
			   __entry->duration_ns = duration_ns;),

	    TP_printk("vm=%llu vcpu=%d nr=0x%x result=%ld duration_ns=%llu",
		      __entry->vm_id, __entry->vcpu_id, __entry->nr,
		      __entry->result, __entry->duration_ns)
);

#endif /* _PVX_HOST_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
