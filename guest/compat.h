/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences for the pvx guest modules, and only here.
 *
 * The guest code is written against the newest API (Debian sid's 7.2). A
 * difference gets one block here that maps the newer interface onto the
 * older kernels, one "#if LINUX_VERSION_CODE < KERNEL_VERSION(...)" per
 * difference, so that no other file needs to know which kernel it is
 * built for. Supported: 6.1, 6.12 and 7.2; the versions named below are
 * where the interface changed upstream, the shims are built on those
 * three only.
 *
 * The interfaces the guest modules and their test modules rely on are
 * checked below at build time (type of each function, field and per-CPU
 * variable, presence of each macro, the steal-time ABI), so that a kernel
 * in which one of them changed fails to build with a message naming it,
 * instead of building something that misbehaves. Differences that need
 * no shim: x86_cpu_to_apicid is u16 in 6.1 and u32 in 6.12, and
 * task_struct::on_cpu is an int up to 6.12 and a u8 in 7.2; both are read
 * by value.
 * kthread_complete_and_exit() is __noreturn, which __same_type() cannot
 * compare; the test modules' calls of it check it.
 */
#ifndef _PVX_GUEST_COMPAT_H
#define _PVX_GUEST_COMPAT_H

#ifndef CONFIG_X86_64
#error "pvx guest modules are x86-64 only"
#endif

#ifndef CONFIG_KVM_GUEST
#error "pvx guest modules need CONFIG_KVM_GUEST"
#endif

#include <linux/anon_inodes.h>
#include <linux/build_bug.h>
#include <linux/cc_platform.h>
#include <linux/compiler.h>
#include <linux/cpumask.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/ioport.h>
#include <linux/kthread.h>
#include <linux/kvm_para.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <linux/sort.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/timer.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <asm/msr.h>
#include <asm/pgtable_types.h>
#include <asm/processor.h>
#include <asm/smp.h>
#include <linux/version.h>

/*
 * 7.1 renamed linux/pagevec.h to linux/folio_batch.h (struct folio_batch
 * and its helpers, unchanged; 7.2 has only the new name).
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 1, 0)
#include <linux/pagevec.h>
#else
#include <linux/folio_batch.h>
#endif

/*
 * 6.13: hrtimer_setup() sets the callback with the rest, and 6.15 removed
 * hrtimer_init(); the same for the on-stack variant.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
static inline void
hrtimer_setup(struct hrtimer *timer,
	      enum hrtimer_restart (*function)(struct hrtimer *),
	      clockid_t clock_id, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock_id, mode);
	timer->function = function;
}

static inline void
hrtimer_setup_on_stack(struct hrtimer *timer,
		       enum hrtimer_restart (*function)(struct hrtimer *),
		       clockid_t clock_id, enum hrtimer_mode mode)
{
	hrtimer_init_on_stack(timer, clock_id, mode);
	timer->function = function;
}
#endif

/* 6.16 renamed rdmsrl_safe() to rdmsrq_safe() (u64 MSR accessors). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 16, 0)
#define rdmsrq_safe(msr, p)	rdmsrl_safe(msr, p)
#endif

/*
 * 6.16 renamed hypervisor_cpuid_base() to cpuid_base_hypervisor() and
 * moved it and cpuid_eax() to <asm/cpuid/api.h>.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 16, 0)
#define cpuid_base_hypervisor(sig, leaves)	hypervisor_cpuid_base(sig, leaves)
#else
#include <asm/cpuid/api.h>
#endif

/*
 * 6.19 hid inode::i_state behind accessors; inode_state_read() is the
 * read under inode->i_lock.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 19, 0)
static inline unsigned long inode_state_read(struct inode *inode)
{
	lockdep_assert_held(&inode->i_lock);
	return inode->i_state;
}
#endif

/* Macros: present, whatever their expansion. */
#ifndef KVM_HYPERCALL
#error "pvx: KVM_HYPERCALL is gone from <asm/kvm_para.h>"
#endif
#ifndef MSR_KVM_STEAL_TIME
#error "pvx: MSR_KVM_STEAL_TIME is gone"
#endif
#ifndef module_param_cb
#error "pvx: module_param_cb() is gone"
#endif
#ifndef sysfs_match_string
#error "pvx: sysfs_match_string() is gone"
#endif
#ifndef wait_event_interruptible_locked_irq
#error "pvx: wait_event_interruptible_locked_irq() is gone"
#endif
#ifndef wake_up_locked_poll
#error "pvx: wake_up_locked_poll() is gone"
#endif

#define PVX_CHECK_FN(fn, type) \
	static_assert(__same_type(&(fn), type), #fn "() changed its type")

/* pvx_guest: detection, PROBE, sysfs, /dev/pvx */
PVX_CHECK_FN(kvm_para_available, bool (*)(void));
PVX_CHECK_FN(kvm_hypercall1, long (*)(unsigned int, unsigned long));
PVX_CHECK_FN(cc_platform_has, bool (*)(enum cc_attr));
PVX_CHECK_FN(sysfs_emit, int (*)(char *, const char *, ...));
PVX_CHECK_FN(compat_ptr_ioctl,
	     long (*)(struct file *, unsigned int, unsigned long));
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 16, 0)
PVX_CHECK_FN(hypervisor_cpuid_base, u32 (*)(const char *, u32));
PVX_CHECK_FN(rdmsrl_safe, int (*)(unsigned int, unsigned long long *));
#else
PVX_CHECK_FN(cpuid_base_hypervisor, u32 (*)(const char *, u32));
PVX_CHECK_FN(rdmsrq_safe, int (*)(u32, u64 *));
#endif

/* pvx_spinlock, pvx_lock_torture, pvx_lock_bench */
PVX_CHECK_FN(vcpu_is_preempted, bool (*)(long));
PVX_CHECK_FN(find_vpid, struct pid *(*)(int));
PVX_CHECK_FN(pid_task, struct task_struct *(*)(struct pid *, enum pid_type));
PVX_CHECK_FN(cpumask_nth, unsigned int (*)(unsigned int,
					   const struct cpumask *));
PVX_CHECK_FN(timer_delete_sync, int (*)(struct timer_list *));
static_assert(__same_type(typeof_member(struct task_struct, on_cpu), int) ||
	      __same_type(typeof_member(struct task_struct, on_cpu), u8),
	      "task_struct::on_cpu is no longer an int or a u8");
/* An APIC ID read by value: any unsigned type of at least 16 bits. */
static_assert(sizeof(x86_cpu_to_apicid) >= sizeof(u16) &&
	      (typeof(x86_cpu_to_apicid))-1 > 0,
	      "x86_cpu_to_apicid is no longer an unsigned integer");

/* pvx_stimer, pvx_stimer_torture, pvx_stimer_bench */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
PVX_CHECK_FN(hrtimer_setup,
	     void (*)(struct hrtimer *, enum hrtimer_restart (*)(struct hrtimer *),
		      clockid_t, enum hrtimer_mode));
#else
PVX_CHECK_FN(hrtimer_init, void (*)(struct hrtimer *, clockid_t,
				    enum hrtimer_mode));
#endif
PVX_CHECK_FN(hrtimer_is_queued, bool (*)(struct hrtimer *));
static_assert(HRTIMER_MODE_ABS_PINNED_HARD ==
	      (HRTIMER_MODE_ABS | HRTIMER_MODE_PINNED | HRTIMER_MODE_HARD),
	      "HRTIMER_MODE_ABS_PINNED_HARD changed");
PVX_CHECK_FN(anon_inode_getfile,
	     struct file *(*)(const char *, const struct file_operations *,
			      void *, int));
PVX_CHECK_FN(get_unused_fd_flags, int (*)(unsigned int));
PVX_CHECK_FN(fd_install, void (*)(unsigned int, struct file *));
PVX_CHECK_FN(get_random_u32_below, u32 (*)(u32));
/* struct kvm_steal_time is guest/host ABI (Documentation/virt/kvm). */
static_assert(sizeof(struct kvm_steal_time) == 64 &&
	      offsetof(struct kvm_steal_time, steal) == 0 &&
	      offsetof(struct kvm_steal_time, version) == 8 &&
	      offsetof(struct kvm_steal_time, preempted) == 16,
	      "struct kvm_steal_time changed");

/* pvx_locality's automatic map */
PVX_CHECK_FN(kthread_use_mm, void (*)(struct mm_struct *));
PVX_CHECK_FN(kthread_unuse_mm, void (*)(struct mm_struct *));
PVX_CHECK_FN(get_task_mm, struct mm_struct *(*)(struct task_struct *));
PVX_CHECK_FN(mmput, void (*)(struct mm_struct *));
PVX_CHECK_FN(get_user_pages_fast_only,
	     int (*)(unsigned long, int, unsigned int, struct page **));
PVX_CHECK_FN(smp_call_function_single,
	     int (*)(int, smp_call_func_t, void *, int));
PVX_CHECK_FN(sort, void (*)(void *, size_t, size_t, cmp_func_t, swap_func_t));
static_assert(__same_type(typeof_member(struct task_struct, start_time), u64) &&
	      __same_type(typeof_member(struct task_struct, se.sum_exec_runtime), u64),
	      "task_struct::start_time or se.sum_exec_runtime is no longer a u64");
#ifndef for_each_vma
#error "pvx: for_each_vma() is gone"
#endif
#ifndef for_each_process_thread
#error "pvx: for_each_process_thread() is gone"
#endif

/*
 * pvx_fork. get_user_pages() lost its vmas argument in 6.5 (and
 * get_user_pages_remote() and pin_user_pages() theirs); the _unlocked
 * forms have one type on both kernels, so pvx_fork uses them and checks
 * the pages it got instead of holding the mmap lock across the call.
 */
PVX_CHECK_FN(get_user_pages_unlocked,
	     long (*)(unsigned long, unsigned long, struct page **,
		      unsigned int));
PVX_CHECK_FN(find_vma,
	     struct vm_area_struct *(*)(struct mm_struct *, unsigned long));
PVX_CHECK_FN(vma_is_anonymous, bool (*)(struct vm_area_struct *));
PVX_CHECK_FN(mmap_read_lock_killable, int (*)(struct mm_struct *));
PVX_CHECK_FN(pin_user_pages_unlocked,
	     long (*)(unsigned long, unsigned long, struct page **,
		      unsigned int));
PVX_CHECK_FN(unpin_user_pages_dirty_lock,
	     void (*)(struct page **, unsigned long, bool));
PVX_CHECK_FN(unpin_user_pages, void (*)(struct page **, unsigned long));
PVX_CHECK_FN(put_page, void (*)(struct page *));

/*
 * pvx_ksm_guest. Pins for the never-merge fds, charged as mlock() is;
 * the kernel image's read-only mappings from the kernel's page tables
 * (ksm_cand.c says why not from the resource tree).
 */
PVX_CHECK_FN(pin_user_pages_fast,
	     int (*)(unsigned long, int, unsigned int, struct page **));
PVX_CHECK_FN(unpin_user_pages, void (*)(struct page **, unsigned long));
PVX_CHECK_FN(unpin_user_pages_dirty_lock,
	     void (*)(struct page **, unsigned long, bool));
PVX_CHECK_FN(account_locked_vm,
	     int (*)(struct mm_struct *, unsigned long, bool));
PVX_CHECK_FN(lookup_address, pte_t *(*)(unsigned long, unsigned int *));
PVX_CHECK_FN(slow_virt_to_phys, phys_addr_t (*)(void *));
PVX_CHECK_FN(region_intersects,
	     int (*)(resource_size_t, size_t, unsigned long, unsigned long));
PVX_CHECK_FN(vmalloc_to_page, struct page *(*)(const void *));
PVX_CHECK_FN(mmu_interval_notifier_insert,
	     int (*)(struct mmu_interval_notifier *, struct mm_struct *,
		     unsigned long, unsigned long,
		     const struct mmu_interval_notifier_ops *));
PVX_CHECK_FN(mmu_interval_notifier_remove,
	     void (*)(struct mmu_interval_notifier *));
static_assert(PG_LEVEL_4K == 1 && PG_LEVEL_2M == 2 && PG_LEVEL_1G == 3,
	      "enum pg_level changed");
#ifndef KERNEL_IMAGE_SIZE
#error "pvx: KERNEL_IMAGE_SIZE is gone"
#endif

#undef PVX_CHECK_FN

#endif /* _PVX_GUEST_COMPAT_H */
