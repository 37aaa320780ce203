// SPDX-License-Identifier: GPL-2.0
/*
 * pvx guest core: finds out whether the KVM host speaks pvx
 * (PVX_HC_PROBE) and is the one place that issues pvx hypercalls for the
 * guest feature modules. On a host without pvx it still loads, says so
 * once, and every feature reports "unsupported by host".
 *
 * PROBE runs at load and again when the administrator writes
 * /sys/kernel/pvx/reprobe. Between the two the host may stop serving
 * pvx: after a migration to a host without it, or when the host
 * administrator disables this VM. A call that PROBE announced answering
 * -PVX_ENOSYS is how that shows; the core then PROBEs once more, right
 * away, and either drops the lost calls or, when PROBE fails too, falls
 * back altogether (one dmesg line), so no further pvx call leaves the
 * guest.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cc_platform.h>
#include <linux/hardirq.h>
#include <linux/init.h>
#include <linux/irq_work.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <asm/kvm_para.h>
#include <asm/processor.h>

#include "compat.h"
#include "internal.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

struct pvx_host pvx_host;
/*
 * Serializes updates of pvx_host (load, reprobe, a lost call on any CPU).
 * Raw and irqsave: a lost call may be noticed in any context.
 */
static DEFINE_RAW_SPINLOCK(pvx_host_lock);
DEFINE_PER_CPU(struct pvx_stats, pvx_stats);

/* RAX = number in / result out; RBX, RCX, RDX, RSI = a0..a3 in / out. */
struct pvx_regs {
	unsigned long ax, bx, cx, dx, si;
};

/*
 * The stock kvm_hypercall*() helpers return RAX only; PROBE answers in
 * RBX..RDX too, so every register is an in/out operand here. KVM_HYPERCALL
 * is patched to VMCALL or VMMCALL by CPU vendor, as for the stock helpers.
 */
static __always_inline void pvx_vmcall(struct pvx_regs *r)
{
	asm volatile(KVM_HYPERCALL
		     : "+a" (r->ax), "+b" (r->bx), "+c" (r->cx), "+d" (r->dx),
		       "+S" (r->si)
		     :
		     : "memory");
}

static long pvx_issue(struct pvx_regs *r)
{
	u32 nr = r->ax;
	unsigned long a0 = r->bx;
	long ret;

	this_cpu_inc(pvx_stats.n[PVX_STAT_HYPERCALLS]);
	pvx_vmcall(r);
	ret = r->ax;
	if (ret < 0)
		this_cpu_inc(pvx_stats.n[PVX_STAT_ERRORS]);
	trace_guest_hypercall(nr, a0, ret, true);
	return ret;
}

bool pvx_host_has(u32 feature_bits)
{
	return READ_ONCE(pvx_host.host_pvx) && feature_bits &&
	       (READ_ONCE(pvx_host.features) & feature_bits) == feature_bits;
}
EXPORT_SYMBOL_GPL(pvx_host_has);

u32 pvx_host_features(void)
{
	return READ_ONCE(pvx_host.features);
}
EXPORT_SYMBOL_GPL(pvx_host_features);

u32 pvx_host_abi_version(void)
{
	return pvx_host.host_pvx ? pvx_host.abi_version : 0;
}
EXPORT_SYMBOL_GPL(pvx_host_abi_version);

/*
 * KVM's paravirt feature bits (CPUID 0x40000001 EAX at the KVM base):
 * kvm_para_has_feature() calls kvm_arch_para_features(), which the kernel
 * does not export, so read the leaf here, once for every feature module.
 */
u32 pvx_kvm_features(void)
{
	u32 base = cpuid_base_hypervisor(KVM_SIGNATURE, 0);

	return base ? cpuid_eax(base | KVM_CPUID_FEATURES) : 0;
}
EXPORT_SYMBOL_GPL(pvx_kvm_features);

/* A consistent copy of what the last PROBE found, for readers. */
void pvx_host_snapshot(struct pvx_host *out)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&pvx_host_lock, flags);
	*out = pvx_host;
	raw_spin_unlock_irqrestore(&pvx_host_lock, flags);
}

/*
 * Issue PROBE and check its answer. Returns 0 and fills @out, or the
 * reason it did not succeed (PROBE's error, or -PVX_EINVAL for an answer
 * without the magic); @out is then "no pvx".
 */
static long pvx_probe_host(struct pvx_host *out)
{
	struct pvx_regs r = { .ax = PVX_HC_PROBE };
	long ret;

	memset(out, 0, sizeof(*out));
	ret = pvx_issue(&r);
	if (ret)
		return ret;
	if (r.bx != PVX_MAGIC || !r.cx || r.cx > U32_MAX) {
		pr_info_ratelimited("host answered PROBE without pvx (magic 0x%lx, ABI %lu)\n",
				    r.bx, r.cx);
		return -PVX_EINVAL;
	}
	out->host_pvx = true;
	out->magic = PVX_MAGIC;
	out->abi_version = r.cx;
	out->features = r.dx;
	return 0;
}

/* Caller holds pvx_host_lock. */
static void pvx_host_set(const struct pvx_host *h)
{
	WRITE_ONCE(pvx_host.features, h->features);
	pvx_host.abi_version = h->abi_version;
	pvx_host.magic = h->magic;
	WRITE_ONCE(pvx_host.host_pvx, h->host_pvx);
}

/*
 * Call @nr, which the last PROBE announced, answered -PVX_ENOSYS: the host
 * stopped serving it (a migration to a host without pvx, this VM disabled
 * by the host's administrator, the host's feature module unloaded). PROBE
 * again, at once, and serve from now on only what it says. Any context
 * but NMI (pvx_host_lost_deferred()).
 */
static void pvx_host_lost(u32 nr)
{
	struct pvx_host was, now;
	unsigned long flags;
	long ret;

	raw_spin_lock_irqsave(&pvx_host_lock, flags);
	was = pvx_host;
	/* Another CPU noticed first. */
	if (!was.host_pvx || !(was.features & BIT(nr - PVX_HC_BASE))) {
		raw_spin_unlock_irqrestore(&pvx_host_lock, flags);
		return;
	}
	ret = pvx_probe_host(&now);
	/* PROBE announced it again: keep the bit out anyway, it answered ENOSYS. */
	now.features &= ~BIT(nr - PVX_HC_BASE);
	pvx_host_set(&now);
	raw_spin_unlock_irqrestore(&pvx_host_lock, flags);

	if (ret)
		pr_info("host stopped serving pvx (call 0x%x answered -ENOSYS, PROBE %ld); all features fall back; write 1 to /sys/kernel/pvx/reprobe to probe again\n",
			nr, ret);
	else
		pr_info("host stopped serving call 0x%x (features 0x%x -> 0x%x)\n",
			nr, was.features, now.features);
}

/*
 * A call lost in NMI context (a pv spinlock's directed yield from an NMI
 * handler): pvx_host_lost() must not take pvx_host_lock there, the NMI
 * may have interrupted this CPU's snapshot or reprobe holding it. Note
 * the call and let an irq_work, right after the NMI, do it.
 */
static atomic_t pvx_lost_in_nmi = ATOMIC_INIT(0);	/* BIT(nr - PVX_HC_BASE) */

static void pvx_host_lost_deferred(struct irq_work *work)
{
	unsigned long lost = (unsigned int)atomic_xchg(&pvx_lost_in_nmi, 0);
	unsigned int idx;

	for_each_set_bit(idx, &lost, 32)
		pvx_host_lost(PVX_HC_BASE + idx);
}

static DEFINE_IRQ_WORK(pvx_lost_work, pvx_host_lost_deferred);

long pvx_hypercall_rbx(u32 nr, unsigned long a0, unsigned long a1,
		       unsigned long a2, unsigned long a3, unsigned long *rbx)
{
	struct pvx_regs r = { .ax = nr, .bx = a0, .cx = a1, .dx = a2, .si = a3 };
	u32 idx = nr - PVX_HC_BASE;
	long ret;

	if (idx >= 32 || !pvx_host_has(BIT(idx))) {
		this_cpu_inc(pvx_stats.n[PVX_STAT_REFUSED]);
		trace_guest_hypercall(nr, a0, -PVX_ENOSYS, false);
		return -PVX_ENOSYS;
	}
	ret = pvx_issue(&r);
	if (unlikely(ret == -PVX_ENOSYS)) {
		if (in_nmi()) {
			atomic_or(BIT(idx), &pvx_lost_in_nmi);
			irq_work_queue(&pvx_lost_work);
		} else {
			pvx_host_lost(nr);
		}
	}
	if (rbx)
		*rbx = r.bx;
	return ret;
}
EXPORT_SYMBOL_GPL(pvx_hypercall_rbx);

long pvx_hypercall(u32 nr, unsigned long a0, unsigned long a1,
		   unsigned long a2, unsigned long a3)
{
	return pvx_hypercall_rbx(nr, a0, a1, a2, a3, NULL);
}
EXPORT_SYMBOL_GPL(pvx_hypercall);

/*
 * PROBE the host and serve what it answers from now on; one dmesg line
 * with the outcome. At load and from /sys/kernel/pvx/reprobe (a guest
 * that landed on a host with pvx after a migration). 0, or -EOPNOTSUPP
 * in a confidential guest.
 */
int pvx_reprobe(void)
{
	struct pvx_host now;
	unsigned long flags;
	long ret;

	/*
	 * Encrypted guests (SEV, SEV-ES/SNP, TDX): the host cannot read the
	 * batches in guest memory, and with encrypted state the #VC/#VE
	 * handlers hand back RAX only, so PROBE could not be read anyway.
	 */
	if (cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT)) {
		pr_info("host pvx not used in a confidential guest; all features unsupported by host\n");
		return -EOPNOTSUPP;
	}

	raw_spin_lock_irqsave(&pvx_host_lock, flags);
	ret = pvx_probe_host(&now);
	pvx_host_set(&now);
	raw_spin_unlock_irqrestore(&pvx_host_lock, flags);

	if (ret)
		pr_info("host has no pvx (PROBE returned %ld); all features unsupported by host\n",
			ret);
	else
		pr_info("host pvx ABI %u, features 0x%x\n", now.abi_version,
			now.features);
	return 0;
}

static int __init pvx_guest_init(void)
{
	int ret;

	BUILD_BUG_ON(sizeof(struct pvx_info) != PVX_INFO_SIZE_V1);
	BUILD_BUG_ON(PVX_HC_NR_CALLS > 32);

	if (!kvm_para_available()) {
		pr_err("not running on KVM; refusing to load\n");
		return -ENODEV;
	}

	pvx_reprobe();

	ret = pvx_sysfs_init();
	if (ret)
		return ret;
	ret = pvx_dev_init();
	if (ret) {
		pvx_sysfs_exit();
		return ret;
	}
	return 0;
}

static void __exit pvx_guest_exit(void)
{
	pvx_dev_exit();
	pvx_sysfs_exit();
	/* no feature module is left to call; a lost call's work may be */
	irq_work_sync(&pvx_lost_work);
}

module_init(pvx_guest_init);
module_exit(pvx_guest_exit);

MODULE_DESCRIPTION("pvx guest core: paravirtual extensions for KVM guests");
MODULE_LICENSE("GPL");
