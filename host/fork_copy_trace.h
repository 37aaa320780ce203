/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx_fork_copy tracepoint, system "pvx" (next to pvx_host's
 * pvx:hypercall). CREATE_TRACE_POINTS is defined in fork_copy.c only.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_FORK_COPY_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_FORK_COPY_TRACE_H

#include <linux/tracepoint.h>

#include "../uapi/pvx.h"

/*
 * pvx:fork_copy - one PVX_HC_FORK_COPY that reached pvx_fork_copy (calls
 * that host or VM policy switched off are traced as pvx:hypercall only).
 * @vm_id: pvx VM id (debugfs vm<id>-<pid>)
 * @vcpu_id: vcpu_id of the caller
 * @batch_gpa: a0 as the guest passed it
 * @count: pairs in the batch header (0 when the header was not read)
 * @copied: pairs copied before the call ended (RBX)
 * @result: the answer in RAX: pairs copied, or -PVX_E*
 * @why: the counter the call went to (enum pvx_fc_stat of fork_copy.c,
 *	the only file that includes this header), printed with the names of
 *	the debugfs files
 */
TRACE_EVENT(fork_copy,
	    TP_PROTO(u64 vm_id, int vcpu_id, u64 batch_gpa, u32 count,
		     u32 copied, long result, int why),
	    TP_ARGS(vm_id, vcpu_id, batch_gpa, count, copied, result, why),

	    TP_STRUCT__entry(__field(u64, vm_id)
			     __field(int, vcpu_id)
			     __field(u64, batch_gpa)
			     __field(u32, count)
			     __field(u32, copied)
			     __field(long, result)
			     __field(int, why)),

	    TP_fast_assign(__entry->vm_id = vm_id;
			   __entry->vcpu_id = vcpu_id;
			   __entry->batch_gpa = batch_gpa;
			   __entry->count = count;
			   __entry->copied = copied;
			   __entry->result = result;
			   __entry->why = why;),

	    TP_printk("vm=%llu vcpu=%d batch=0x%llx count=%u copied=%u result=%ld (%s)",
		      __entry->vm_id, __entry->vcpu_id, __entry->batch_gpa,
		      __entry->count, __entry->copied, __entry->result,
		      __print_symbolic(__entry->why,
				       { PVX_FC_STAT_DONE, "done" },
				       { PVX_FC_STAT_RESERVED, "reserved" },
				       { PVX_FC_STAT_UNALIGNED, "unaligned" },
				       { PVX_FC_STAT_NO_SLOT, "no_slot" },
				       { PVX_FC_STAT_READ_ONLY, "read_only" },
				       { PVX_FC_STAT_TOO_BIG, "too_big" },
				       { PVX_FC_STAT_SAME_PAGE, "same_page" },
				       { PVX_FC_STAT_OVERLAP, "overlap" },
				       { PVX_FC_STAT_FAULT, "fault" },
				       { PVX_FC_STAT_DIRTY_LOG, "dirty_log" },
				       { PVX_FC_STAT_RING_FULL, "ring_full" },
				       { PVX_FC_STAT_ENOMEM, "enomem" }))
);

#endif /* _PVX_FORK_COPY_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE fork_copy_trace
#include <trace/define_trace.h>
