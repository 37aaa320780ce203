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
#include <linux/stddef.h>
#include <linux/types.h>

/* The hypercall exit handler that hook.c wraps, and its signature. */
static_assert(__same_type(&kvm_emulate_hypercall,
			  int (*)(struct kvm_vcpu *vcpu)),
	      "kvm_emulate_hypercall() is no longer int (struct kvm_vcpu *)");
/* The VM creation that hook.c observes (argument 0 is the VM). */
static_assert(__same_type(&kvm_arch_post_init_vm, int (*)(struct kvm *kvm)),
	      "kvm_arch_post_init_vm() is no longer int (struct kvm *)");
/* The VM destruction that hook.c observes (argument 0 is the VM). */
static_assert(__same_type(&kvm_arch_destroy_vm, void (*)(struct kvm *kvm)),
	      "kvm_arch_destroy_vm() is no longer void (struct kvm *)");

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
static_assert(__same_type(typeof_member(struct kvm_vcpu, arch.regs_avail),
			  u32) &&
	      __same_type(typeof_member(struct kvm_vcpu, arch.regs_dirty),
			  u32),
	      "vcpu->arch.regs_avail/regs_dirty are no longer u32 bitmaps");
static_assert(BIT_ULL(VCPU_REGS_RSI) <= U32_MAX,
	      "RSI's bit does not fit regs_avail/regs_dirty");
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
	vcpu->arch.regs_avail |= BIT(reg);
	vcpu->arch.regs_dirty |= BIT(reg);
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

#endif /* _PVX_HOST_KVM_INTERNAL_H */
