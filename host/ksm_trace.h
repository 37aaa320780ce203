/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx_ksm tracepoint, system "pvx" (next to pvx_host's pvx:hypercall).
 * CREATE_TRACE_POINTS is defined in ksm.c only.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_KSM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_KSM_TRACE_H

#include <linux/tracepoint.h>

/*
 * pvx:ksm_hint - one PVX_HC_KSM_HINT that reached pvx_ksm (calls that host
 * or VM policy switched off are traced as pvx:hypercall only).
 * @vm_id: pvx VM id (debugfs vm<id>-<pid>)
 * @vcpu_id: vcpu_id of the caller
 * @flags: the batch header's flags (PVX_KSM_F_WITHDRAW), 0 when not read
 * @count: entries in the batch (0 when the header was not read)
 * @pages: pages the call added or withdrew (RBX)
 * @candidates: the VM's mergeable candidates after the call
 * @pins: the VM's never-merge pins after the call
 * @result: the answer in RAX: 0 or -PVX_E*
 * @pinned: never-merge pins this call took (debugfs "pinned")
 * @unpinned: pins this call gave back, a withdraw (debugfs "unpinned");
 *	pins dropped because the VMM unmapped the memory are not a call's
 */
TRACE_EVENT(ksm_hint,
	    TP_PROTO(u64 vm_id, int vcpu_id, u32 flags, u32 count, u64 pages,
		     u64 candidates, u64 pins, long result, u64 pinned,
		     u64 unpinned),
	    TP_ARGS(vm_id, vcpu_id, flags, count, pages, candidates, pins,
		    result, pinned, unpinned),

	    TP_STRUCT__entry(__field(u64, vm_id)
			     __field(int, vcpu_id)
			     __field(u32, flags)
			     __field(u32, count)
			     __field(u64, pages)
			     __field(u64, candidates)
			     __field(u64, pins)
			     __field(long, result)
			     __field(u64, pinned)
			     __field(u64, unpinned)),

	    TP_fast_assign(__entry->vm_id = vm_id;
			   __entry->vcpu_id = vcpu_id;
			   __entry->flags = flags;
			   __entry->count = count;
			   __entry->pages = pages;
			   __entry->candidates = candidates;
			   __entry->pins = pins;
			   __entry->result = result;
			   __entry->pinned = pinned;
			   __entry->unpinned = unpinned;),

	    TP_printk("vm=%llu vcpu=%d %s count=%u pages=%llu candidates=%llu pins=%llu result=%ld pinned=%llu unpinned=%llu",
		      __entry->vm_id, __entry->vcpu_id,
		      __entry->flags ? "withdraw" : "hint", __entry->count,
		      __entry->pages, __entry->candidates, __entry->pins,
		      __entry->result, __entry->pinned, __entry->unpinned)
);

#endif /* _PVX_KSM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE ksm_trace
#include <trace/define_trace.h>
