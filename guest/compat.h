/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences for the pvx guest modules, and only here.
 *
 * The guest code is written against the 6.12 API. A difference gets one
 * block here that maps the newer interface onto the older kernel, one
 * "#if LINUX_VERSION_CODE < KERNEL_VERSION(...)" per difference (include
 * <linux/version.h> then), so that no other file needs to know which
 * kernel it is built for. Supported: 6.1 and 6.12.
 *
 * Checked for the interfaces the guest core uses (kvm_para_available,
 * KVM_HYPERCALL, cc_platform_has, kobject/sysfs attribute groups,
 * sysfs_emit, miscdevice, compat_ptr_ioctl, percpu counters, TRACE_EVENT
 * without strings) and pvx_spinlock / pvx_lock_torture use
 * (vcpu_is_preempted via pv_ops, kvm_hypercall1, per_cpu
 * x86_cpu_to_apicid: u16 in 6.1, u32 in 6.12, read by value either way,
 * hypervisor_cpuid_base, find_vpid/pid_task, task_struct::on_cpu,
 * module_param_cb, hrtimer_init, timer_setup, timer_delete_sync,
 * kthread_complete_and_exit, cpumask_nth) and pvx_stimer /
 * pvx_stimer_torture use (hrtimer_init with *_PINNED_HARD modes,
 * hrtimer_is_queued, rdmsrl_safe, MSR_KVM_STEAL_TIME and struct
 * kvm_steal_time, kcpustat_cpu, cpuhp_setup_state, anon_inode_getfile,
 * get_unused_fd_flags/fd_install, wait_event_interruptible_locked_irq,
 * wake_up_locked_poll, sysfs_match_string, get_random_u32_below, which
 * Debian's 6.1 has): 6.1 and 6.12 agree, so there is no shim yet.
 */
#ifndef _PVX_GUEST_COMPAT_H
#define _PVX_GUEST_COMPAT_H

#ifndef CONFIG_X86_64
#error "pvx guest modules are x86-64 only"
#endif

#ifndef CONFIG_KVM_GUEST
#error "pvx guest modules need CONFIG_KVM_GUEST"
#endif

#endif /* _PVX_GUEST_COMPAT_H */
