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

/*
 * What the guest uses of the host changed (a migration, the host's policy,
 * a lost call, a reprobe): the features before and after, the host's ABI
 * and PROBE's answer now, and what noticed it.
 */
TRACE_EVENT(guest_host_change,
	    TP_PROTO(u32 old_features, u32 new_features, u32 abi, long ret,
		     int why),
	    TP_ARGS(old_features, new_features, abi, ret, why),
	    TP_STRUCT__entry(__field(u32, old_features)
			     __field(u32, new_features)
			     __field(u32, abi)
			     __field(long, ret)
			     __field(int, why)),
	    TP_fast_assign(__entry->old_features = old_features;
			   __entry->new_features = new_features;
			   __entry->abi = abi;
			   __entry->ret = ret;
			   __entry->why = why;),
	    TP_printk("features=0x%x->0x%x abi=%u probe=%ld why=%s",
		      __entry->old_features, __entry->new_features,
		      __entry->abi, __entry->ret,
		      __print_symbolic(__entry->why,
				       { PVX_HOST_WHY_REPROBE, "reprobe" },
				       { PVX_HOST_WHY_LOST, "lost-call" },
				       { PVX_HOST_WHY_PERIODIC, "periodic" }))
);

#endif /* _PVX_GUEST_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
