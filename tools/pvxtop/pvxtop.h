/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvxtop: what the BPF side (pvxtop.bpf.c) and the tool (pvxtop.c) agree
 * on: the map keys and the counters of one row.
 */
#ifndef _PVXTOP_H
#define _PVXTOP_H

/*
 * Counters of one row: a vCPU of a VM on the host, a CPU in the guest.
 * Names for the table and --json are in pvxtop.c (pvxtop_ctr_names[]).
 */
enum pvxtop_ctr {
	/* host, pvx:hypercall: by call ... */
	PVXTOP_HC_PROBE,
	PVXTOP_HC_YIELD,
	PVXTOP_HC_OTHER,	/* in pvx's range, no feature of this ABI */
	/* ... and by result */
	PVXTOP_HR_OK,		/* >= 0 */
	PVXTOP_HR_ENOSYS,
	PVXTOP_HR_EINVAL,
	PVXTOP_HR_EOPNOTSUPP,
	PVXTOP_HR_ENOMEM,
	PVXTOP_HR_EOTHER,	/* any other negative result */
	/* host, pvx:yield: outcome */
	PVXTOP_Y_DONE,
	PVXTOP_Y_NOT_DONE,
	PVXTOP_Y_RUNNING,	/* target running */
	PVXTOP_Y_INVALID,
	PVXTOP_Y_EOTHER,
	/* host, KVM's own tracepoints */
	PVXTOP_KVM_EXITS,
	PVXTOP_KVM_HC,		/* kvm:kvm_hypercall, stock and pvx */
	PVXTOP_KVM_HC_PVX,	/* ... of those, numbers in pvx's range */
	/* host, pvx:numa_hint (pvx_numa): every call, and what it did */
	PVXTOP_NUMA_HINTS,
	PVXTOP_NUMA_MOVED,	/* mode act: the vCPU thread was moved */
	PVXTOP_NUMA_WOULD_MOVE,	/* mode observe: act would have moved it */
	PVXTOP_NUMA_FULL,	/* mode act: left in place, no room at home */
	/* host, pvx:fork_copy (pvx_fork_copy): calls, pages, errors */
	PVXTOP_FC_CALLS,
	PVXTOP_FC_PAGES,	/* pages copied, partial batches too */
	PVXTOP_FC_ERR,		/* answered < 0 (a partial batch too) */
	/* host, pvx:ksm_hint (pvx_ksm): calls, errors, pins */
	PVXTOP_KSM_HINTS,	/* hint and withdraw calls */
	PVXTOP_KSM_ERR,		/* answered < 0 */
	PVXTOP_KSM_PINNED,	/* never-merge pins taken */
	PVXTOP_KSM_UNPINNED,	/* pins given back by withdraws */
	/* guest, pvx:guest_hypercall */
	PVXTOP_G_HC_ISSUED,
	PVXTOP_G_HC_REFUSED,	/* not issued: the host lacks the feature */
	PVXTOP_G_HC_ERR,	/* issued, negative answer */
	/* guest, pvx:spin_yield: one per slow path that yielded */
	PVXTOP_G_SPIN_YIELD,
	PVXTOP_G_SPIN_PREEMPTED, /* holder seen preempted (else threshold) */
	PVXTOP_G_SPIN_NEXT,	/* yielded to the next waiter, not the holder */
	PVXTOP_G_SPIN_DONE,
	PVXTOP_G_SPIN_NOT_DONE,
	PVXTOP_G_SPIN_RUNNING,
	PVXTOP_G_SPIN_ERR,
	/* ... of the yields made on the spin threshold (not preempted): */
	PVXTOP_G_SPIN_THR_RUNNING, /* the host found the target running */
	PVXTOP_G_SPIN_THR_DONE,	/* the host found it preempted, and yielded */
	/* guest, pvx:spin_halt and pvx:spin_kick: halt-and-kick */
	PVXTOP_G_SPIN_HALT,	/* waiters halted, on the waiter's CPU */
	PVXTOP_G_SPIN_KICK,	/* KVM_HC_KICK_CPU made, on the unlocker's */
	PVXTOP_G_SPIN_KICK_MISS, /* flag seen, no halted waiter: no kick */
	/* guest, pvx:stimer_fire and pvx:stimer_rearm */
	PVXTOP_G_TIMER_FIRE,
	PVXTOP_G_TIMER_CAP,	/* fired on the cap, not on effective time */
	PVXTOP_G_TIMER_REARM,
	PVXTOP_NR
};

/* Host rows: VMM process and vCPU id. Guest rows: tgid 0 and the CPU. */
struct pvxtop_key {
	__u32 tgid;
	__s32 vcpu;
};

struct pvxtop_row {
	__u64 vm_id;		/* pvx_host's id (debugfs vm<id>-<pid>), 0 unknown */
	/* the thread's name at the first event: the VMM may be gone by the read */
	char comm[16];
	__u64 c[PVXTOP_NR];
};

/* KVM exits of one vCPU by reason. */
struct pvxtop_exit_key {
	__u32 tgid;
	__s32 vcpu;
	__u32 isa;		/* KVM_ISA_VMX 1, KVM_ISA_SVM 2 */
	__u32 reason;
};

/*
 * KVM's events are counted by plain tracepoint programs (their records
 * carry the vCPU id and exit reason, which the raw arguments, a struct
 * kvm_vcpu pointer, would need the kvm module's BTF to reach): the
 * TP_STRUCT__entry layouts of KVM's arch/x86/kvm/trace.h, the same on 6.1
 * and 6.12. pvxtop.c checks the offset and size of every field used
 * against the event's format file before it loads the programs, so a
 * kernel whose layout differs gets an error, not wrong numbers.
 */
/* The 8-byte common header every trace event record starts with. */
struct trace_common {
	__u16 type;
	__u8 flags;
	__u8 preempt_count;
	__s32 pid;
};

/*
 * pvx's own events are counted by raw tracepoint programs: the kernel
 * skips one only when the same program already runs on that CPU, and
 * counts each skip in the program's recursion_misses on every supported
 * kernel. A plain tracepoint program is also skipped while any BPF runs
 * on that CPU (another program, or a map read of this tool), and 6.1
 * counts those skips nowhere. Their context is the event's TP_PROTO
 * arguments, one __u64 slot each, in order (narrower ones zero-extended):
 * the structs below, whose order is host/trace.h's, host/yield_trace.h's,
 * host/numa_trace.h's, host/fork_copy_trace.h's, host/ksm_trace.h's,
 * guest/trace.h's, guest/spinlock_trace.h's and guest/stimer_trace.h's.
 * The kernel refuses to attach a program that reads past an event's
 * last argument.
 */
struct args_hypercall {		/* pvx:hypercall */
	__u64 vm_id, vcpu_id, nr, result, duration_ns;
};

struct args_yield {		/* pvx:yield */
	__u64 vm_id, from, to, arg, flags, outcome;
};

struct args_numa_hint {		/* pvx:numa_hint */
	__u64 vm_id, vcpu_id, ranges, node_bytes, node_other, unknown, home,
	      action, ret;
};

/* pvx:numa_hint's action (host/numa.c, numa_trace.h) */
#define PVXTOP_NUMA_ACT_MOVED		1
#define PVXTOP_NUMA_ACT_WOULD_MOVE	2
#define PVXTOP_NUMA_ACT_FULL		5

struct args_fork_copy {		/* pvx:fork_copy */
	__u64 vm_id, vcpu_id, batch_gpa, count, copied, result, why;
};

struct args_ksm_hint {		/* pvx:ksm_hint */
	__u64 vm_id, vcpu_id, flags, count, pages, candidates, pins, result,
	      pinned, unpinned;
};

struct tp_kvm_exit {		/* kvm:kvm_exit */
	struct trace_common common;
	unsigned int exit_reason;
	unsigned long guest_rip;
	__u32 isa;
	__u64 info1;
	__u64 info2;
	__u32 intr_info;
	__u32 error_code;
	unsigned int vcpu_id;
};

struct tp_kvm_hypercall {	/* kvm:kvm_hypercall */
	struct trace_common common;
	unsigned long nr;
	unsigned long a0, a1, a2, a3;
};

struct args_guest_hypercall {	/* pvx:guest_hypercall */
	__u64 nr, a0, ret, issued;
};

struct args_spin_yield {	/* pvx:spin_yield */
	__u64 lock, target_cpu, waiter_cpu, spins, preempted, next, result;
};

/* The lock's address only: at a kick its next holder may have freed it. */
struct args_spin_halt {		/* pvx:spin_halt */
	__u64 lock, cpu, ticket;
};

struct args_spin_kick {		/* pvx:spin_kick */
	__u64 lock, target_cpu, ticket, miss;
};

struct args_stimer_fire {	/* pvx:stimer_fire */
	__u64 timer, cpu, request_ns, wall_ns, steal_ns, rearms, cap;
};

struct args_stimer_rearm {	/* pvx:stimer_rearm */
	__u64 timer, cpu, request_ns, wall_ns, steal_ns, next_ns;
};

#endif /* _PVXTOP_H */
