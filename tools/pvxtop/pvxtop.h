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
 * Tracepoint records as BPF programs of type tracepoint see them: the
 * TP_STRUCT__entry layouts of host/trace.h, host/yield_trace.h,
 * host/numa_trace.h, host/fork_copy_trace.h, host/ksm_trace.h,
 * guest/trace.h, guest/spinlock_trace.h, guest/stimer_trace.h and of
 * KVM's arch/x86/kvm/trace.h. They are the same on 6.1 and 6.12; pvxtop.c
 * checks the offset and size of every field used against the event's
 * format file before it loads the programs, so a kernel whose layout
 * differs gets an error, not wrong numbers.
 */
/* The 8-byte common header every trace event record starts with. */
struct trace_common {
	__u16 type;
	__u8 flags;
	__u8 preempt_count;
	__s32 pid;
};

struct tp_hypercall {		/* pvx:hypercall */
	struct trace_common common;
	__u64 vm_id;
	int vcpu_id;
	__u32 nr;
	long result;
	__u64 duration_ns;
};

struct tp_yield {		/* pvx:yield */
	struct trace_common common;
	__u64 vm_id;
	int from;
	int to;
	__u64 arg;
	__u64 flags;
	int outcome;
};

struct tp_numa_hint {		/* pvx:numa_hint */
	struct trace_common common;
	__u64 vm_id;
	int vcpu_id;
	__u32 ranges;
	__u64 node[4];
	__u64 node_other;
	__u64 unknown;
	int home;
	int action;		/* host/numa.c enum pvx_numa_action */
	long ret;
};

/* pvx:numa_hint's action (host/numa.c, numa_trace.h) */
#define PVXTOP_NUMA_ACT_MOVED		1
#define PVXTOP_NUMA_ACT_WOULD_MOVE	2

struct tp_fork_copy {		/* pvx:fork_copy */
	struct trace_common common;
	__u64 vm_id;
	int vcpu_id;
	__u64 batch_gpa;
	__u32 count;
	__u32 copied;
	long result;
	int why;
};

struct tp_ksm_hint {		/* pvx:ksm_hint */
	struct trace_common common;
	__u64 vm_id;
	int vcpu_id;
	__u32 flags;
	__u32 count;
	__u64 pages;
	__u64 candidates;
	__u64 pins;
	long result;
	__u64 pinned;
	__u64 unpinned;
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

struct tp_guest_hypercall {	/* pvx:guest_hypercall */
	struct trace_common common;
	__u32 nr;
	bool issued;
	unsigned long a0;
	long ret;
};

struct tp_spin_yield {		/* pvx:spin_yield */
	struct trace_common common;
	const void *lock;
	int target_cpu;
	int waiter_cpu;
	unsigned int spins;
	bool preempted;
	bool next;
	long result;
};

/* The lock's address only: at a kick its next holder may have freed it. */
struct tp_spin_halt {		/* pvx:spin_halt */
	struct trace_common common;
	const void *lock;
	int cpu;
	__u16 ticket;
};

struct tp_spin_kick {		/* pvx:spin_kick */
	struct trace_common common;
	const void *lock;
	int target_cpu;
	__u16 ticket;
	bool miss;
};

struct tp_stimer_fire {		/* pvx:stimer_fire */
	struct trace_common common;
	const void *timer;
	int cpu;
	__u64 request_ns;
	__u64 wall_ns;
	__u64 steal_ns;
	unsigned int rearms;
	bool cap;
};

struct tp_stimer_rearm {	/* pvx:stimer_rearm */
	struct trace_common common;
	const void *timer;
	int cpu;
	__u64 request_ns;
	__u64 wall_ns;
	__u64 steal_ns;
	__u64 next_ns;
};

#endif /* _PVXTOP_H */
