/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_KSM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_KSM_TRACE_H

#include <linux/tracepoint.h>

#include "pvx.h"

/*
 * One event per PVX_HC_KSM_HINT batch the guest sends: its header flags
 * (@withdraw), the kind of its runs (@hint: PVX_KSM_MERGEABLE for the
 * kernel image's candidates, PVX_KSM_UNMERGEABLE for protected pages),
 * how many runs and pages it named, how many pages the host applied
 * anew (@done, its RBX) and its answer (@ret: >= 0 or -PVX_E*).
 */
TRACE_EVENT(guest_ksm_hint,
	    TP_PROTO(bool withdraw, u32 hint, u32 runs, u32 pages, u64 done,
		     long ret),
	    TP_ARGS(withdraw, hint, runs, pages, done, ret),
	    TP_STRUCT__entry(__field(bool, withdraw)
			     __field(u32, hint)
			     __field(u32, runs)
			     __field(u32, pages)
			     __field(u64, done)
			     __field(long, ret)),
	    TP_fast_assign(__entry->withdraw = withdraw;
			   __entry->hint = hint;
			   __entry->runs = runs;
			   __entry->pages = pages;
			   __entry->done = done;
			   __entry->ret = ret;),
	    TP_printk("%s %s runs=%u pages=%u done=%llu ret=%ld",
		      __entry->withdraw ? "withdraw" : "hint",
		      __entry->hint == PVX_KSM_MERGEABLE ? "mergeable" : "unmergeable",
		      __entry->runs, __entry->pages, __entry->done, __entry->ret)
);

#endif /* _PVX_KSM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE ksm_trace
#include <trace/define_trace.h>
