/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx_yield tracepoint, system "pvx" (next to pvx_host's pvx:hypercall,
 * which lives in trace.h of the core module). CREATE_TRACE_POINTS is
 * defined in yield.c only.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_YIELD_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_YIELD_TRACE_H

#include <linux/tracepoint.h>

#include "../uapi/pvx.h"

/*
 * pvx:yield - one PVX_HC_YIELD that reached pvx_yield (calls that host or
 * VM policy switched off are answered by the core and traced as
 * pvx:hypercall only).
 * vCPUs are named by vcpu_id (the APIC ID on x86 VMMs), as in
 * pvx:hypercall and KVM's own kvm:kvm_hypercall users.
 * @vm_id: pvx VM id (debugfs vm<id>-<pid>)
 * @from: vcpu_id of the caller
 * @to: vcpu_id of the target, -1 when the guest named no valid target
 * @arg: a0 as the guest passed it (an APIC ID or, ABI v1, an index)
 * @flags: a1 as the guest passed it
 * @outcome: the answer: PVX_YIELD_DONE, _NOT_DONE, _TARGET_RUNNING or
 *	-PVX_EINVAL / -PVX_ENOMEM
 */
TRACE_EVENT(yield,
	    TP_PROTO(u64 vm_id, int from, int to, u64 arg, u64 flags,
		     int outcome),
	    TP_ARGS(vm_id, from, to, arg, flags, outcome),

	    TP_STRUCT__entry(__field(u64, vm_id)
			     __field(int, from)
			     __field(int, to)
			     __field(u64, arg)
			     __field(u64, flags)
			     __field(int, outcome)),

	    TP_fast_assign(__entry->vm_id = vm_id;
			   __entry->from = from;
			   __entry->to = to;
			   __entry->arg = arg;
			   __entry->flags = flags;
			   __entry->outcome = outcome;),

	    TP_printk("vm=%llu from=%d to=%d arg=0x%llx flags=0x%llx outcome=%d (%s)",
		      __entry->vm_id, __entry->from, __entry->to,
		      __entry->arg, __entry->flags, __entry->outcome,
		      __print_symbolic(__entry->outcome,
				       { PVX_YIELD_DONE, "done" },
				       { PVX_YIELD_NOT_DONE, "not_done" },
				       { PVX_YIELD_TARGET_RUNNING,
					 "target_running" },
				       { -PVX_EINVAL, "einval" },
				       { -PVX_ENOMEM, "enomem" }))
);

#endif /* _PVX_YIELD_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE yield_trace
#include <trace/define_trace.h>
