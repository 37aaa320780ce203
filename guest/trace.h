/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_GUEST_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_GUEST_TRACE_H

#include <linux/tracepoint.h>

/*
 * One event per pvx_hypercall() decision: @issued is false when the core
 * answered -PVX_ENOSYS itself because the host did not announce @nr.
 */
TRACE_EVENT(guest_hypercall,
	    TP_PROTO(u32 nr, unsigned long a0, long ret, bool issued),
	    TP_ARGS(nr, a0, ret, issued),
	    TP_STRUCT__entry(__field(u32, nr)
			     __field(bool, issued)
			     __field(unsigned long, a0)
			     __field(long, ret)),
	    TP_fast_assign(__entry->nr = nr;
			   __entry->issued = issued;
			   __entry->a0 = a0;
			   __entry->ret = ret;),
	    TP_printk("nr=0x%x a0=0x%lx ret=%ld %s", __entry->nr,
		      __entry->a0, __entry->ret,
		      __entry->issued ? "issued" : "refused")
);

#endif /* _PVX_GUEST_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
