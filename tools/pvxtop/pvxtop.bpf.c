// SPDX-License-Identifier: GPL-2.0
/*
 * pvxtop's BPF side: count pvx's and KVM's tracepoints into maps that
 * pvxtop.c reads once a second.
 *
 * pvx's events through raw tracepoint programs, KVM's through plain
 * tracepoint programs (pvxtop.h says why), not BTF-based ones (tp_btf,
 * fentry): those need the BTF of the module that owns the tracepoint, and
 * Debian's 6.1 has none for out-of-tree modules.
 */
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "pvx.h"
#include "pvxtop.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by pvxtop.c before load: -p PID, 0 for every VM. */
const volatile __u32 target_tgid;

#define MAX_ROWS	4096
#define MAX_EXIT_ROWS	16384

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ROWS);
	__type(key, struct pvxtop_key);
	__type(value, struct pvxtop_row);
} rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_EXIT_ROWS);
	__type(key, struct pvxtop_exit_key);
	__type(value, __u64);
} exits SEC(".maps");

/*
 * vCPU id of each vCPU thread, from its last kvm:kvm_exit: kvm_hypercall
 * does not carry it, and it fires in the same thread after that exit.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ROWS);
	__type(key, __u32);
	__type(value, __s32);
} thread_vcpu SEC(".maps");

/* Updates lost because a map was full; pvxtop.c warns when not 0. */
__u64 dropped;

static const struct pvxtop_row zero_row;
static const __u64 zero_count;

static __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/* -p PID: events of other processes are not counted at all. */
static bool filtered(__u32 tgid)
{
	return target_tgid && tgid != target_tgid;
}

static struct pvxtop_row *row_get(__u32 tgid, __s32 vcpu)
{
	struct pvxtop_key key = { .tgid = tgid, .vcpu = vcpu };
	struct pvxtop_row *row;

	row = bpf_map_lookup_elem(&rows, &key);
	if (row)
		return row;
	/* EEXIST from a racing CPU is fine: look up what it created. */
	if (!bpf_map_update_elem(&rows, &key, &zero_row, BPF_NOEXIST)) {
		row = bpf_map_lookup_elem(&rows, &key);
		if (row)
			bpf_get_current_comm(row->comm, sizeof(row->comm));
	}
	row = bpf_map_lookup_elem(&rows, &key);
	if (!row)
		__sync_fetch_and_add(&dropped, 1);
	return row;
}

static void row_add(struct pvxtop_row *row, enum pvxtop_ctr c, __u64 n)
{
	__sync_fetch_and_add(&row->c[c], n);
}

static void row_inc(struct pvxtop_row *row, enum pvxtop_ctr c)
{
	row_add(row, c, 1);
}

static enum pvxtop_ctr hc_call(__u32 nr)
{
	switch (nr) {
	case PVX_HC_PROBE:
		return PVXTOP_HC_PROBE;
	case PVX_HC_YIELD:
		return PVXTOP_HC_YIELD;
	}
	return PVXTOP_HC_OTHER;
}

/* The classes pvx_host's counters keep (host/core.c, pvx_account()). */
static enum pvxtop_ctr hc_result(long result)
{
	if (result >= 0)
		return PVXTOP_HR_OK;
	switch (result) {
	case -PVX_ENOSYS:
		return PVXTOP_HR_ENOSYS;
	case -PVX_EINVAL:
		return PVXTOP_HR_EINVAL;
	case -PVX_EOPNOTSUPP:
		return PVXTOP_HR_EOPNOTSUPP;
	case -PVX_ENOMEM:
		return PVXTOP_HR_ENOMEM;
	}
	return PVXTOP_HR_EOTHER;
}

/* The row of @vcpu of the calling VMM process, NULL when -p filters it. */
static struct pvxtop_row *vm_row(int vcpu, __u64 vm_id)
{
	__u32 tgid = current_tgid();
	struct pvxtop_row *row;

	if (filtered(tgid))
		return NULL;
	row = row_get(tgid, vcpu);
	if (row)
		row->vm_id = vm_id;
	return row;
}

SEC("raw_tp/hypercall")
int pvx_hypercall(struct bpf_raw_tracepoint_args *ctx)
{
	const struct args_hypercall *a = (const void *)ctx->args;
	struct pvxtop_row *row = vm_row((int)a->vcpu_id, a->vm_id);

	if (!row)
		return 0;
	row_inc(row, hc_call((__u32)a->nr));
	row_inc(row, hc_result((long)a->result));
	return 0;
}

static enum pvxtop_ctr yield_outcome(int outcome)
{
	switch (outcome) {
	case PVX_YIELD_DONE:
		return PVXTOP_Y_DONE;
	case PVX_YIELD_NOT_DONE:
		return PVXTOP_Y_NOT_DONE;
	case PVX_YIELD_TARGET_RUNNING:
		return PVXTOP_Y_RUNNING;
	case -PVX_EINVAL:
		return PVXTOP_Y_INVALID;
	}
	return PVXTOP_Y_EOTHER;
}

SEC("raw_tp/yield")
int pvx_yield(struct bpf_raw_tracepoint_args *ctx)
{
	const struct args_yield *a = (const void *)ctx->args;
	__u32 tgid = current_tgid();
	struct pvxtop_row *row;

	if (filtered(tgid))
		return 0;
	row = row_get(tgid, (int)a->from);
	if (row)
		row_inc(row, yield_outcome((int)a->outcome));
	return 0;
}

SEC("raw_tp/numa_hint")
int pvx_numa_hint(struct bpf_raw_tracepoint_args *ctx)
{
	const struct args_numa_hint *a = (const void *)ctx->args;
	struct pvxtop_row *row = vm_row((int)a->vcpu_id, a->vm_id);

	if (!row)
		return 0;
	row_inc(row, PVXTOP_NUMA_HINTS);
	if ((int)a->action == PVXTOP_NUMA_ACT_MOVED)
		row_inc(row, PVXTOP_NUMA_MOVED);
	else if ((int)a->action == PVXTOP_NUMA_ACT_WOULD_MOVE)
		row_inc(row, PVXTOP_NUMA_WOULD_MOVE);
	else if ((int)a->action == PVXTOP_NUMA_ACT_FULL)
		row_inc(row, PVXTOP_NUMA_FULL);
	return 0;
}

/* Pages count on partial batches too: debugfs "pages" does. */
SEC("raw_tp/fork_copy")
int pvx_fork_copy(struct bpf_raw_tracepoint_args *ctx)
{
	const struct args_fork_copy *a = (const void *)ctx->args;
	struct pvxtop_row *row = vm_row((int)a->vcpu_id, a->vm_id);

	if (!row)
		return 0;
	row_inc(row, PVXTOP_FC_CALLS);
	row_add(row, PVXTOP_FC_PAGES, (__u32)a->copied);
	if ((long)a->result < 0)
		row_inc(row, PVXTOP_FC_ERR);
	return 0;
}

SEC("raw_tp/ksm_hint")
int pvx_ksm_hint(struct bpf_raw_tracepoint_args *ctx)
{
	const struct args_ksm_hint *a = (const void *)ctx->args;
	struct pvxtop_row *row = vm_row((int)a->vcpu_id, a->vm_id);

	if (!row)
		return 0;
	row_inc(row, PVXTOP_KSM_HINTS);
	if ((long)a->result < 0)
		row_inc(row, PVXTOP_KSM_ERR);
	row_add(row, PVXTOP_KSM_PINNED, a->pinned);
	row_add(row, PVXTOP_KSM_UNPINNED, a->unpinned);
	return 0;
}

static void exit_inc(const struct pvxtop_exit_key *ekey)
{
	__u64 *n = bpf_map_lookup_elem(&exits, ekey);

	if (!n) {
		bpf_map_update_elem(&exits, ekey, &zero_count, BPF_NOEXIST);
		n = bpf_map_lookup_elem(&exits, ekey);
	}
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		__sync_fetch_and_add(&dropped, 1);
}

SEC("tracepoint/kvm/kvm_exit")
int kvm_exit(struct tp_kvm_exit *ctx)
{
	__u32 tgid = current_tgid();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pvxtop_exit_key ekey = {};
	__s32 vcpu = ctx->vcpu_id;
	struct pvxtop_row *row;

	if (filtered(tgid))
		return 0;
	bpf_map_update_elem(&thread_vcpu, &tid, &vcpu, BPF_ANY);
	row = row_get(tgid, vcpu);
	if (row)
		row_inc(row, PVXTOP_KVM_EXITS);

	ekey.tgid = tgid;
	ekey.vcpu = vcpu;
	ekey.isa = ctx->isa;
	ekey.reason = ctx->exit_reason;
	exit_inc(&ekey);
	return 0;
}

SEC("tracepoint/kvm/kvm_hypercall")
int kvm_hypercall(struct tp_kvm_hypercall *ctx)
{
	__u32 tgid = current_tgid();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pvxtop_row *row;
	__s32 *vcpu;

	if (filtered(tgid))
		return 0;
	vcpu = bpf_map_lookup_elem(&thread_vcpu, &tid);
	row = row_get(tgid, vcpu ? *vcpu : -1);
	if (!row)
		return 0;
	row_inc(row, PVXTOP_KVM_HC);
	if (ctx->nr - PVX_HC_BASE < PVX_HC_RANGE)
		row_inc(row, PVXTOP_KVM_HC_PVX);
	return 0;
}

/* Guest programs: rows are CPUs, tgid 0; -p does not apply. */

SEC("raw_tp/guest_hypercall")
int pvx_guest_hypercall(struct bpf_raw_tracepoint_args *ctx)
{
	const struct args_guest_hypercall *a = (const void *)ctx->args;
	struct pvxtop_row *row = row_get(0, bpf_get_smp_processor_id());

	if (!row)
		return 0;
	if (!(bool)a->issued)
		row_inc(row, PVXTOP_G_HC_REFUSED);
	else
		row_inc(row, (long)a->ret < 0 ? PVXTOP_G_HC_ERR :
					    PVXTOP_G_HC_ISSUED);
	return 0;
}

static enum pvxtop_ctr spin_result(long result)
{
	switch (result) {
	case PVX_YIELD_DONE:
		return PVXTOP_G_SPIN_DONE;
	case PVX_YIELD_NOT_DONE:
		return PVXTOP_G_SPIN_NOT_DONE;
	case PVX_YIELD_TARGET_RUNNING:
		return PVXTOP_G_SPIN_RUNNING;
	}
	return PVXTOP_G_SPIN_ERR;
}

SEC("raw_tp/spin_yield")
int pvx_spin_yield(struct bpf_raw_tracepoint_args *ctx)
{
	const struct args_spin_yield *a = (const void *)ctx->args;
	struct pvxtop_row *row = row_get(0, (int)a->waiter_cpu);

	if (!row)
		return 0;
	row_inc(row, PVXTOP_G_SPIN_YIELD);
	if ((bool)a->preempted)
		row_inc(row, PVXTOP_G_SPIN_PREEMPTED);
	if ((bool)a->next)
		row_inc(row, PVXTOP_G_SPIN_NEXT);
	row_inc(row, spin_result((long)a->result));
	/* pvxtop --advise judges spin_threshold on these */
	if (!(bool)a->preempted && (long)a->result == PVX_YIELD_TARGET_RUNNING)
		row_inc(row, PVXTOP_G_SPIN_THR_RUNNING);
	else if (!(bool)a->preempted && (long)a->result == PVX_YIELD_DONE)
		row_inc(row, PVXTOP_G_SPIN_THR_DONE);
	return 0;
}

SEC("raw_tp/spin_halt")
int pvx_spin_halt(struct bpf_raw_tracepoint_args *ctx)
{
	const struct args_spin_halt *a = (const void *)ctx->args;
	struct pvxtop_row *row = row_get(0, (int)a->cpu);

	if (row)
		row_inc(row, PVXTOP_G_SPIN_HALT);
	return 0;
}

/* Counted on the unlocker's CPU: the one that paid for the kick. */
SEC("raw_tp/spin_kick")
int pvx_spin_kick(struct bpf_raw_tracepoint_args *ctx)
{
	const struct args_spin_kick *a = (const void *)ctx->args;
	struct pvxtop_row *row = row_get(0, bpf_get_smp_processor_id());

	if (row)
		row_inc(row, (bool)a->miss ? PVXTOP_G_SPIN_KICK_MISS :
					 PVXTOP_G_SPIN_KICK);
	return 0;
}

SEC("raw_tp/stimer_fire")
int pvx_stimer_fire(struct bpf_raw_tracepoint_args *ctx)
{
	const struct args_stimer_fire *a = (const void *)ctx->args;
	struct pvxtop_row *row = row_get(0, (int)a->cpu);

	if (!row)
		return 0;
	row_inc(row, PVXTOP_G_TIMER_FIRE);
	if ((bool)a->cap)
		row_inc(row, PVXTOP_G_TIMER_CAP);
	return 0;
}

SEC("raw_tp/stimer_rearm")
int pvx_stimer_rearm(struct bpf_raw_tracepoint_args *ctx)
{
	const struct args_stimer_rearm *a = (const void *)ctx->args;
	struct pvxtop_row *row = row_get(0, (int)a->cpu);

	if (row)
		row_inc(row, PVXTOP_G_TIMER_REARM);
	return 0;
}
