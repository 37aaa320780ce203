/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every reach of pvx's host modules into KVM state that is not KVM's
 * exported API, in one place (Documentation/design.rst).
 *
 * KVM's own accessors of these fields (arch/x86/kvm/kvm_cache_regs.h,
 * arch/x86/kvm/x86.c) are private to kvm.ko; pvx reimplements the few it
 * needs here. What each accessor relies on about the layout of struct
 * kvm_vcpu and about KVM's function types is asserted at build time
 * below, so that a kernel in which it changed fails to build pvx instead
 * of running it against fields that mean something else. What cannot be
 * checked by the compiler (which registers KVM loads lazily, when it sets
 * vcpu->ready) is said at each accessor and must be re-read in KVM's
 * sources for every new kernel series.
 *
 * Kernel version differences do not go here but into compat.h.
 */
#ifndef _PVX_HOST_KVM_INTERNAL_H
#define _PVX_HOST_KVM_INTERNAL_H

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/kvm_host.h>
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched/task.h>
#include <linux/stddef.h>
#include <linux/types.h>

#include "compat.h"

typedef int (*pvx_kvm_hypercall_fn)(struct kvm_vcpu *vcpu);

/* The VM destruction that hook.c observes (argument 0 is the VM). */
static_assert(__same_type(&kvm_arch_destroy_vm, void (*)(struct kvm *kvm)),
	      "kvm_arch_destroy_vm() is no longer void (struct kvm *)");

typedef void (*pvx_kvm_mark_dirty_fn)(struct kvm *kvm,
				      const struct kvm_memory_slot *slot,
				      gfn_t gfn);
static_assert(__same_type(&mark_page_dirty_in_slot, pvx_kvm_mark_dirty_fn),
	      "mark_page_dirty_in_slot() changed its signature");

/* guest_mem.c; set by pvx_kvm_get() before any hypercall is hooked */
extern pvx_kvm_mark_dirty_fn pvx_kvm_mark_page_dirty_in_slot;

#if PVX_KVM_EXPORTS_VENDOR_ONLY
/*
 * 7.2: kvm_emulate_hypercall() and mark_page_dirty_in_slot() are exported
 * only to kvm-amd and kvm-intel (symbol_get() cannot take them), and
 * kvm_arch_post_init_vm(), the VM creation hook.c observes on 6.1 and
 * 6.12, is gone. Here pvx_host finds the two functions' addresses through
 * a kprobe registered on the name (Documentation/kernels.rst), pins
 * kvm.ko with symbol_get() of kvm_get_kvm (still exported to every
 * module), and hook.c observes a VM's creation at the successful return
 * of kvm_arch_init_vm() with a kretprobe.
 */
#include <linux/kprobes.h>
#include <linux/kallsyms.h>
#include <linux/printk.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/ibt.h>

#define PVX_KVM_CREATE_KRETPROBE	1
#define PVX_KVM_CAN_MARK_DIRTY		1

/*
 * kvm_emulate_hypercall() is not declared in 7.2's headers (only in
 * arch/x86/kvm/x86.h, private to KVM), so the compiler cannot check
 * pvx_kvm_hypercall_fn against it here. Its type, int (struct kvm_vcpu *),
 * was read in 7.2.13's x86.h and in the BTF of its kvm.ko
 * (Documentation/kernels.rst says how to re-read it for a new kernel).
 * kvm_arch_init_vm(), which hook.c observes there, is still declared:
 */
static_assert(__same_type(&kvm_arch_init_vm,
			  int (*)(struct kvm *kvm, unsigned long type)),
	      "kvm_arch_init_vm() is no longer int (struct kvm *, unsigned long)");

/*
 * The address of kvm.ko's function @name, to be called through a pointer
 * of its exact type, or 0. register_kprobe() looks the name up in
 * kallsyms and fills in kp.addr; the probe is removed at once, nothing
 * runs in it. At a function's entry kprobes moves the probe past the
 * ENDBR instruction (arch_adjust_kprobe_addr()); with IBT an indirect
 * call must land on that ENDBR, so the address is moved back onto it.
 * The result must then be @name+0 of module kvm (sprint_symbol()), and
 * under IBT begin with ENDBR: a function objtool sealed (address never
 * taken in KVM) would trap on the call, and is refused instead.
 */
static inline unsigned long pvx_kvm_lookup(const char *name)
{
	struct kprobe kp = { .symbol_name = name };
	char sym[KSYM_SYMBOL_LEN], want[64];
	unsigned long addr;
	int ret;

	ret = register_kprobe(&kp);
	if (ret) {
		pr_err("cannot find %s: register_kprobe() error %d\n", name, ret);
		return 0;
	}
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
#ifdef CONFIG_X86_KERNEL_IBT
	{
		u32 insn;

		if (get_kernel_nofault(insn, (u32 *)(addr - ENDBR_INSN_SIZE)) ||
		    !__is_endbr(insn)) {
			pr_err("%s does not begin with ENDBR: not callable under IBT\n",
			       name);
			return 0;
		}
		addr -= ENDBR_INSN_SIZE;
	}
#endif
	sprint_symbol(sym, addr);
	snprintf(want, sizeof(want), "%s+0x0/", name);
	if (strncmp(sym, want, strlen(want)) || !strstr(sym, " [kvm]")) {
		pr_err("%s resolved to %s, not to the start of a function of kvm\n",
		       name, sym);
		return 0;
	}
	return addr;
}

/*
 * Pin kvm.ko and find the two functions pvx_host calls in it. Returns
 * 0 and the hypercall handler in @hypercall; -ENOENT (nothing taken)
 * when kvm is not loaded; -EOPNOTSUPP when a function cannot be found
 * or called safely (said in the kernel log). kvm_get_kvm is taken with
 * symbol_get() only for the module reference it carries: it keeps
 * kvm.ko, whose text the addresses point into, loaded until
 * pvx_kvm_put().
 */
static inline int pvx_kvm_get(pvx_kvm_hypercall_fn *hypercall)
{
	void (*pin)(struct kvm *kvm) = symbol_get(kvm_get_kvm);
	unsigned long hc, dirty;

	if (!pin)
		return -ENOENT;
	hc = pvx_kvm_lookup("kvm_emulate_hypercall");
	dirty = pvx_kvm_lookup("mark_page_dirty_in_slot");
	if (!hc || !dirty) {
		symbol_put(kvm_get_kvm);
		return -EOPNOTSUPP;
	}
	pvx_kvm_mark_page_dirty_in_slot = (pvx_kvm_mark_dirty_fn)dirty;
	*hypercall = (pvx_kvm_hypercall_fn)hc;
	return 0;
}

static inline void pvx_kvm_put(void)
{
	symbol_put(kvm_get_kvm);
}

static inline void pvx_kvm_mark_dirty(struct kvm *kvm,
				      const struct kvm_memory_slot *slot,
				      gfn_t gfn)
{
	pvx_kvm_mark_page_dirty_in_slot(kvm, slot, gfn);
}
#else
#define PVX_KVM_CREATE_KRETPROBE	0
#define PVX_KVM_CAN_MARK_DIRTY		1

/* The hypercall exit handler that hook.c wraps, and its signature. */
static_assert(__same_type(&kvm_emulate_hypercall, pvx_kvm_hypercall_fn),
	      "kvm_emulate_hypercall() is no longer int (struct kvm_vcpu *)");
/* The VM creation that hook.c observes (argument 0 is the VM). */
static_assert(__same_type(&kvm_arch_post_init_vm, int (*)(struct kvm *kvm)),
	      "kvm_arch_post_init_vm() is no longer int (struct kvm *)");

/*
 * The two functions pvx_host calls in kvm.ko, kvm_emulate_hypercall and
 * mark_page_dirty_in_slot, taken with symbol_get() so that loading
 * pvx_host without kvm gives pvx's one clear line instead of the
 * kernel's "Unknown symbol", and kvm.ko stays pinned while the hooks are
 * in place. Returns 0 and the hypercall handler in @hypercall, -ENOENT
 * (and nothing taken) when kvm is not loaded.
 */
static inline int pvx_kvm_get(pvx_kvm_hypercall_fn *hypercall)
{
	pvx_kvm_hypercall_fn hc = symbol_get(kvm_emulate_hypercall);
	pvx_kvm_mark_dirty_fn mark_dirty;

	if (!hc)
		return -ENOENT;
	mark_dirty = symbol_get(mark_page_dirty_in_slot);
	if (!mark_dirty) {
		symbol_put(kvm_emulate_hypercall);
		return -ENOENT;
	}
	pvx_kvm_mark_page_dirty_in_slot = mark_dirty;
	*hypercall = hc;
	return 0;
}

static inline void pvx_kvm_put(void)
{
	symbol_put(mark_page_dirty_in_slot);
	symbol_put(kvm_emulate_hypercall);
}

/*
 * Mark @gfn of @slot dirty in the slot's dirty bitmap or the vCPU's
 * dirty ring, as kvm_vcpu_write_guest_page() does after its copy. Called
 * in the vCPU thread (the ring is the running vCPU's) with kvm->srcu held.
 */
static inline void pvx_kvm_mark_dirty(struct kvm *kvm,
				      const struct kvm_memory_slot *slot,
				      gfn_t gfn)
{
	pvx_kvm_mark_page_dirty_in_slot(kvm, slot, gfn);
}
#endif

/*
 * The dirty ring (KVM_CAP_DIRTY_LOG_RING, _ACQ_REL): KVM checks a vCPU's
 * ring against its soft limit only before it enters the guest, and keeps
 * the entries past the soft limit (kvm_dirty_ring_get_rsvd_entries(): 64,
 * plus the PML buffer on Intel) for what one exit pushes after that check.
 * A handler that writes hundreds of pages in one exit must not use them:
 * a push into a full ring WARNs and overwrites an entry the VMM has not
 * collected, and that page is then never sent again (a migrated guest's
 * memory silently differs). kvm_dirty_ring_soft_full() is static in
 * dirty_ring.c on 6.12 and later, so its arithmetic is repeated here over
 * the fields of include/linux/kvm_dirty_ring.h (the same on 6.1, 6.12
 * and 7.2). Only the vCPU thread moves dirty_index; the VMM's
 * KVM_RESET_DIRTY_RINGS moves reset_index forward only, so a stale value
 * makes the ring look fuller, never emptier.
 */
static_assert(__same_type(typeof_member(struct kvm_vcpu, dirty_ring),
			  struct kvm_dirty_ring),
	      "vcpu->dirty_ring is no longer a struct kvm_dirty_ring");
static_assert(__same_type(typeof_member(struct kvm_dirty_ring, dirty_index),
			  u32) &&
	      __same_type(typeof_member(struct kvm_dirty_ring, reset_index),
			  u32) &&
	      __same_type(typeof_member(struct kvm_dirty_ring, soft_limit),
			  u32),
	      "struct kvm_dirty_ring's indexes are no longer u32");

/*
 * Writing a page of @slot would push an entry past the soft limit of the
 * running vCPU's dirty ring. False when the VM uses the dirty bitmap or
 * @slot is not dirty-logged (nothing is pushed). Called in the vCPU
 * thread, whose ring mark_page_dirty_in_slot() pushes to.
 */
static inline bool pvx_kvm_dirty_ring_soft_full(struct kvm_vcpu *vcpu,
						const struct kvm_memory_slot *slot)
{
	const struct kvm_dirty_ring *ring = &vcpu->dirty_ring;

	if (!vcpu->kvm->dirty_ring_size || !kvm_slot_dirty_track_enabled(slot))
		return false;
	return READ_ONCE(ring->dirty_index) - READ_ONCE(ring->reset_index) >=
	       ring->soft_limit;
}

/* vcpu->arch.regs[]: the guest's GPRs, one unsigned long each. */
static_assert(__same_type(typeof_member(struct kvm_vcpu, arch.regs[0]),
			  unsigned long),
	      "vcpu->arch.regs[] is no longer an array of unsigned long");
static_assert(sizeof_field(struct kvm_vcpu, arch.regs) >=
	      (VCPU_REGS_RSI + 1) * sizeof(unsigned long),
	      "vcpu->arch.regs[] does not hold RAX..RSI");
static_assert(VCPU_REGS_RAX == 0 && VCPU_REGS_RCX == 1 &&
	      VCPU_REGS_RDX == 2 && VCPU_REGS_RBX == 3 && VCPU_REGS_RSI == 6,
	      "KVM's register numbering changed");
/* regs_avail/regs_dirty: bitmaps indexed by register number. */
#if PVX_KVM_REGS_BITMAP
static_assert(__same_type(typeof_member(struct kvm_vcpu, arch.regs_avail),
			  unsigned long[BITS_TO_LONGS(NR_VCPU_TOTAL_REGS)]) &&
	      __same_type(typeof_member(struct kvm_vcpu, arch.regs_dirty),
			  unsigned long[BITS_TO_LONGS(NR_VCPU_TOTAL_REGS)]),
	      "vcpu->arch.regs_avail/regs_dirty are no longer DECLARE_BITMAPs");
static_assert(VCPU_REGS_RSI < NR_VCPU_TOTAL_REGS,
	      "RSI's bit does not fit regs_avail/regs_dirty");
#else
static_assert(__same_type(typeof_member(struct kvm_vcpu, arch.regs_avail),
			  u32) &&
	      __same_type(typeof_member(struct kvm_vcpu, arch.regs_dirty),
			  u32),
	      "vcpu->arch.regs_avail/regs_dirty are no longer u32 bitmaps");
static_assert(BIT_ULL(VCPU_REGS_RSI) <= U32_MAX,
	      "RSI's bit does not fit regs_avail/regs_dirty");
#endif
/* vcpu->mode: one of KVM's enum of guest modes, in an int. */
static_assert(__same_type(typeof_member(struct kvm_vcpu, mode), int),
	      "vcpu->mode is no longer an int");
static_assert(OUTSIDE_GUEST_MODE == 0 && IN_GUEST_MODE == 1 &&
	      EXITING_GUEST_MODE == 2,
	      "KVM's guest modes changed");
/* vcpu->ready: set by kvm_sched_out() for a vCPU preempted while runnable. */
static_assert(__same_type(typeof_member(struct kvm_vcpu, ready), bool),
	      "vcpu->ready is no longer a bool");

/*
 * The equivalent of KVM's private kvm_register_write_raw()
 * (arch/x86/kvm/kvm_cache_regs.h, identical on 6.1 and 6.12): store into
 * vcpu->arch.regs[] and mark the register available and dirty. GPRs are
 * always loaded from regs[] on VM entry (VMX: __vmx_vcpu_run, SVM: RAX
 * via vmcb->save.rax in svm_vcpu_run, the rest by __svm_vcpu_run; SEV-ES:
 * copied to the GHCB), so this is all kvm_rax_write() does.
 */
static inline void pvx_kvm_reg_write(struct kvm_vcpu *vcpu, int reg,
				     unsigned long val)
{
	vcpu->arch.regs[reg] = val;
	pvx_kvm_regs_mark(vcpu, reg);
}

static inline unsigned long pvx_kvm_reg_read(struct kvm_vcpu *vcpu, int reg)
{
	/*
	 * RAX..RSI are never lazily loaded (not in VMX_REGS_LAZY_LOAD_SET
	 * nor SVM_REGS_LAZY_LOAD_SET), so regs[] is what kvm_rax_read()
	 * and friends would return.
	 */
	return vcpu->arch.regs[reg];
}

/*
 * Whether @vcpu's VM runs with nested paging (AMD NPT, Intel EPT) or with
 * shadow paging, for PROBE (PVX_PROBE_*). KVM's tdp_enabled is not
 * exported; the vCPU's own MMU (root_mmu, not a nested guest's) tells it:
 * with nested paging its root_role is direct always (init_kvm_tdp_mmu()),
 * with shadow paging only while the guest's paging is off (the shadow
 * root follows the CPU role, whose base.direct is !CR0.PG). So the mode
 * is known exactly while the guest's paging is on. kvm_init_mmu() updates
 * both roles in the vCPU's thread, where a hypercall runs too. Returns
 * false when it cannot tell; else true and *@nested.
 */
static inline bool pvx_kvm_paging_mode(struct kvm_vcpu *vcpu, bool *nested)
{
	const struct kvm_mmu *mmu = &vcpu->arch.root_mmu;

	if (mmu->cpu_role.base.direct)
		return false;
	*nested = mmu->root_role.direct;
	return true;
}

/*
 * @vcpu executes guest code now: vcpu_enter_guest() sets IN_GUEST_MODE
 * with interrupts and preemption disabled right before VMRUN/VMLAUNCH and
 * resets OUTSIDE_GUEST_MODE after the exit, before either is enabled
 * again; EXITING_GUEST_MODE is IN_GUEST_MODE with a kick on its way. A
 * sampled value.
 */
static inline bool pvx_kvm_vcpu_in_guest(struct kvm_vcpu *vcpu)
{
	int mode = READ_ONCE(vcpu->mode);

	return mode == IN_GUEST_MODE || mode == EXITING_GUEST_MODE;
}

/*
 * @vcpu was preempted while runnable inside KVM_RUN: kvm_sched_out() sets
 * vcpu->ready only then, kvm_sched_in() clears it (what
 * kvm_vcpu_on_spin() and KVM_HC_SCHED_YIELD test). A sampled value.
 */
static inline bool pvx_kvm_vcpu_ready(struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->ready);
}

/* vcpu->pid: the task that last ran the vCPU (KVM_RUN), or NULL. */
#if PVX_KVM_VCPU_PID_LOCK
static_assert(__same_type(typeof_member(struct kvm_vcpu, pid), struct pid *) &&
	      __same_type(typeof_member(struct kvm_vcpu, pid_lock), rwlock_t),
	      "vcpu->pid is no longer a struct pid * under vcpu->pid_lock");
#else
static_assert(__same_type(typeof_member(struct kvm_vcpu, pid),
			  struct pid __rcu *),
	      "vcpu->pid is no longer an RCU-protected struct pid *");
#endif

/*
 * A reference to the task that last ran @vcpu, or NULL: what KVM's
 * kvm_vcpu_yield_to() (virt/kvm/kvm_main.c) looks up before it calls the
 * scheduler's yield_to(). With the rwlock (6.13 on) only a trylock, as
 * KVM does: a vCPU whose pid is being changed right now is no target.
 * The caller puts the reference (put_task_struct()).
 */
static inline struct task_struct *pvx_kvm_vcpu_task(struct kvm_vcpu *vcpu)
{
	struct task_struct *task = NULL;

#if PVX_KVM_VCPU_PID_LOCK
	if (!read_trylock(&vcpu->pid_lock))
		return NULL;
	if (vcpu->pid)
		task = get_pid_task(vcpu->pid, PIDTYPE_PID);
	read_unlock(&vcpu->pid_lock);
#else
	struct pid *pid;

	rcu_read_lock();
	pid = rcu_dereference(vcpu->pid);
	if (pid)
		task = get_pid_task(pid, PIDTYPE_PID);
	rcu_read_unlock();
#endif
	return task;
}

#endif /* _PVX_HOST_KVM_INTERNAL_H */
