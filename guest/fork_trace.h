/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvx

#if !defined(_PVX_FORK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PVX_FORK_TRACE_H

#include <linux/tracepoint.h>

/*
 * One event per PVX_IOC_FORK_COPY call: what the caller asked (@src,
 * @dst, @len), how many bytes the host copied in how many hypercalls
 * (@copied, @batches) and the ioctl's answer (@ret: 0 or -errno). Each
 * batch is also a pvx:guest_hypercall event of the core.
 */
TRACE_EVENT(guest_fork_copy,
	    TP_PROTO(u64 src, u64 dst, u64 len, u64 copied,
		     unsigned int batches, long ret),
	    TP_ARGS(src, dst, len, copied, batches, ret),
	    TP_STRUCT__entry(__field(u64, src)
			     __field(u64, dst)
			     __field(u64, len)
			     __field(u64, copied)
			     __field(unsigned int, batches)
			     __field(long, ret)),
	    TP_fast_assign(__entry->src = src;
			   __entry->dst = dst;
			   __entry->len = len;
			   __entry->copied = copied;
			   __entry->batches = batches;
			   __entry->ret = ret;),
	    TP_printk("src=0x%llx dst=0x%llx len=%llu copied=%llu batches=%u ret=%ld",
		      __entry->src, __entry->dst, __entry->len,
		      __entry->copied, __entry->batches, __entry->ret)
);

#endif /* _PVX_FORK_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE fork_trace
#include <trace/define_trace.h>
