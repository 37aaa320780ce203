/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between the supported host kernels (6.1 LTS,
 * 6.12 LTS and Debian sid's newest, 7.2). pvx_host is written against the
 * 6.12 API where 7.2 does not differ, and against 7.2 where it does; this
 * file maps both back for older kernels. Nothing else in host/ may test
 * kernel versions.
 *
 * Where the API is a macro, its presence is tested directly instead of
 * LINUX_VERSION_CODE, so distribution backports are picked up too.
 *
 * Accessors of KVM's private state (vcpu->arch.regs[], vcpu->mode,
 * vcpu->ready) are not version shims: they live in kvm_internal.h, with
 * build-time checks of what they rely on.
 */
#ifndef _PVX_HOST_COMPAT_H
#define _PVX_HOST_COMPAT_H

#include <linux/ftrace.h>
#include <linux/kvm_host.h>

#ifndef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
#error "pvx_host needs an x86-64 kernel with CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS"
#endif

/*
 * Flags that let the hypercall ops change the traced function's resume
 * address (hook.c). With DYNAMIC_FTRACE_WITH_ARGS (x86-64 on 6.1 and
 * 6.12) the plain ftrace_caller trampoline (arch/x86/kernel/ftrace_64.S)
 * saves the argument registers and RIP in ftrace_regs and resumes at the
 * RIP the callback left there ("Handlers can change the RIP"), and
 * kernel/trace/ftrace.c checks an IPMODIFY ops only against other
 * IPMODIFY and DIRECT users, never for SAVE_REGS: IPMODIFY works without
 * a full pt_regs, as livepatch uses it (kernel/livepatch/patch.c). That
 * spares ftrace_regs_caller's full register frame and its PUSHF/POPF on
 * every call. Without WITH_ARGS only ftrace_regs_caller honours a changed
 * RIP, and SAVE_REGS is needed.
 */
#ifdef CONFIG_DYNAMIC_FTRACE_WITH_ARGS
#define PVX_FTRACE_OPS_FL_REDIRECT	FTRACE_OPS_FL_IPMODIFY
#else
#define PVX_FTRACE_OPS_FL_REDIRECT	(FTRACE_OPS_FL_IPMODIFY | \
					 FTRACE_OPS_FL_SAVE_REGS)
#endif

/*
 * 6.12 spells the setter of the traced function's resume
 * address ftrace_regs_set_instruction_pointer(); 6.1 calls it
 * ftrace_instruction_pointer_set(). Both write regs.ip of the frame that
 * the ftrace trampoline returns through.
 */
#ifndef ftrace_regs_set_instruction_pointer
#define ftrace_regs_set_instruction_pointer(fregs, ip) \
	ftrace_instruction_pointer_set(fregs, ip)
#endif

/*
 * 6.12 has ftrace_regs_get_argument(). On 6.1 x86-64,
 * struct ftrace_regs wraps a pt_regs whose argument registers the
 * trampoline always saves (WITH_ARGS), even without FL_SAVE_REGS.
 */
#ifndef ftrace_regs_get_argument
#define ftrace_regs_get_argument(fregs, n) \
	regs_get_kernel_argument(&(fregs)->regs, n)
#endif

/*
 * 6.8 added memslots backed by guest_memfd (KVM_MEM_GUEST_MEMFD): their
 * private pages are not in the slot's userspace mapping, so a copy
 * through that mapping (pvx_fork_copy) would read or write the wrong
 * bytes. 6.1 has no such slots.
 */
#ifdef KVM_MEM_GUEST_MEMFD
#define PVX_KVM_MEM_NO_HVA_COPY		KVM_MEM_GUEST_MEMFD
#else
#define PVX_KVM_MEM_NO_HVA_COPY		0
#endif

/*
 * 6.5 removed the vmas argument of the remote GUP calls (there is no
 * macro to test for it). Both are called with the mmap lock held and no
 * "locked" pointer: the lock is never dropped inside.
 */
#include <linux/mm.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
#define pvx_pin_user_pages_remote(mm, start, nr, flags, pages) \
	pin_user_pages_remote(mm, start, nr, flags, pages, NULL, NULL)
#define pvx_get_user_pages_remote(mm, start, nr, flags, pages) \
	get_user_pages_remote(mm, start, nr, flags, pages, NULL, NULL)
#else
#define pvx_pin_user_pages_remote(mm, start, nr, flags, pages) \
	pin_user_pages_remote(mm, start, nr, flags, pages, NULL)
#define pvx_get_user_pages_remote(mm, start, nr, flags, pages) \
	get_user_pages_remote(mm, start, nr, flags, pages, NULL)
#endif

/*
 * 6.4 moved a module's memory layout into mod->mem[], MOD_TEXT being its
 * core text; 6.1 has core_layout, whose first text_size bytes are text.
 * within_module() checks every kind of the module's memory, init kinds
 * first, which on 6.12 costs the hypercall hook's second trampoline trip
 * about 170 instructions (bench.rst); the caller it looks for is always
 * core text.
 */
#include <linux/module.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
static inline bool pvx_within_module_text(unsigned long addr,
					  const struct module *mod)
{
	return addr - (unsigned long)mod->mem[MOD_TEXT].base <
	       mod->mem[MOD_TEXT].size;
}
#else
static inline bool pvx_within_module_text(unsigned long addr,
					  const struct module *mod)
{
	return addr - (unsigned long)mod->core_layout.base <
	       mod->core_layout.text_size;
}
#endif

/*
 * From 6.18 on, KVM exports most of its x86 helpers only to kvm-amd and
 * kvm-intel (EXPORT_SYMBOL_FOR_KVM_INTERNAL, linux/kvm_types.h): among
 * them kvm_emulate_hypercall(), which is then no longer declared in
 * kvm_host.h, and mark_page_dirty_in_slot(). kvm_internal.h decides from
 * this what pvx can reach (Documentation/kernels.rst).
 */
#ifdef EXPORT_SYMBOL_FOR_KVM_INTERNAL
#define PVX_KVM_EXPORTS_VENDOR_ONLY	1
#else
#define PVX_KVM_EXPORTS_VENDOR_ONLY	0
#endif

/*
 * vcpu->arch.regs_avail and regs_dirty: u32 on 6.1 and 6.12, bitmaps
 * (DECLARE_BITMAP) on 7.2. kvm_internal.h asserts which one it got.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
#define PVX_KVM_REGS_BITMAP		1
static inline void pvx_kvm_regs_mark(struct kvm_vcpu *vcpu, int reg)
{
	__set_bit(reg, vcpu->arch.regs_avail);
	__set_bit(reg, vcpu->arch.regs_dirty);
}
#else
#define PVX_KVM_REGS_BITMAP		0
static inline void pvx_kvm_regs_mark(struct kvm_vcpu *vcpu, int reg)
{
	vcpu->arch.regs_avail |= BIT(reg);
	vcpu->arch.regs_dirty |= BIT(reg);
}
#endif

/*
 * 6.13 guards vcpu->pid (the task that last ran the vCPU) with
 * vcpu->pid_lock, an rwlock, instead of RCU. pvx_kvm_vcpu_task()
 * (kvm_internal.h) takes it as KVM's kvm_vcpu_yield_to() does.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define PVX_KVM_VCPU_PID_LOCK		1
#else
#define PVX_KVM_VCPU_PID_LOCK		0
#endif

/*
 * A VMA's flags became read-only fields in 6.3: vm_flags_reset() sets
 * them, after vma_start_write() (per-VMA locks). Before, a plain store.
 * Both with the mm's mmap_lock held for write.
 */
#include <linux/mm.h>

static inline void pvx_vma_flags_reset(struct vm_area_struct *vma,
				       unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vma_start_write(vma);
	vm_flags_reset(vma, flags);
#else
	vma->vm_flags = flags;
#endif
}

#endif /* _PVX_HOST_COMPAT_H */
