// SPDX-License-Identifier: GPL-2.0
/*
 * pvx guest core: finds out whether the KVM host speaks pvx
 * (PVX_HC_PROBE) and is the one place that issues pvx hypercalls for the
 * guest feature modules. On a host without pvx it still loads, says so
 * once, and every feature reports "unsupported by host".
 *
 * The host a guest runs on changes under it: a live migration lands it on
 * a host with another pvx, with none, or with pvx disabled for this VM,
 * and the host's administrator may disable or mask features at any time.
 * So PROBE runs at load, every reprobe_ms (a deferrable timer: an idle
 * guest is not woken for it), when the administrator writes
 * /sys/kernel/pvx/reprobe, and at once when a call that PROBE announced
 * answers -PVX_ENOSYS. A call lost that way stays out until the host's
 * answer to PROBE changes (a host that announces a call it does not serve
 * is not asked again every period). Each change of what the guest uses is
 * one dmesg line, the host_changes counter and the pvx:guest_host_change
 * event; no pvx call leaves the guest for a feature it does not use.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cc_platform.h>
#include <linux/hardirq.h>
#include <linux/init.h>
#include <linux/irq_work.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/notifier.h>
#include <linux/percpu.h>
#include <linux/stringify.h>
#include <linux/workqueue.h>
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
/* The host's last answer to PROBE, and the calls lost since (BIT(index)). */
static struct pvx_host pvx_answer;
static u32 pvx_lost_calls;

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

u32 pvx_host_epoch(void)
{
	return READ_ONCE(pvx_host.host_pvx) ? READ_ONCE(pvx_host.epoch) : 0;
}
EXPORT_SYMBOL_GPL(pvx_host_epoch);

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
	/* RSI 0 in: a host without epochs leaves it so */
	struct pvx_regs r = { .ax = PVX_HC_PROBE, .si = 0 };
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
	out->epoch = r.si;
	return 0;
}

/*
 * The calls of @h's host this guest can use. The guest names YIELD's
 * target by APIC ID, which ABI v1 lacks.
 */
static u32 pvx_usable_features(const struct pvx_host *h)
{
	u32 f = h->features;

	if (h->abi_version < 2)
		f &= ~PVX_F_YIELD;
	return f;
}

static bool pvx_host_equal(const struct pvx_host *a, const struct pvx_host *b)
{
	return a->host_pvx == b->host_pvx && a->abi_version == b->abi_version &&
	       a->magic == b->magic && a->features == b->features &&
	       a->epoch == b->epoch;
}

/*
 * PROBE answered @ret and @answer: serve from now on what it announced,
 * less the calls lost since the answer last changed. Returns whether what
 * the guest uses changed; @was gets what it used before. Caller holds
 * pvx_host_lock.
 */
static bool pvx_host_update(const struct pvx_host *answer, u32 lost,
			    struct pvx_host *was)
{
	struct pvx_host now = *answer;

	if (!pvx_host_equal(answer, &pvx_answer))
		pvx_lost_calls = 0;
	pvx_answer = *answer;
	pvx_lost_calls |= lost;
	now.features = pvx_usable_features(answer) & ~pvx_lost_calls;

	*was = pvx_host;
	WRITE_ONCE(pvx_host.features, now.features);
	pvx_host.abi_version = now.abi_version;
	pvx_host.magic = now.magic;
	WRITE_ONCE(pvx_host.epoch, now.epoch);
	WRITE_ONCE(pvx_host.host_pvx, now.host_pvx);
	return !pvx_host_equal(was, &pvx_host);
}

/* The feature modules that keep state on the host, told from a work item. */
static BLOCKING_NOTIFIER_HEAD(pvx_host_chain);

int pvx_host_register_notifier(struct notifier_block *nb)
{
	return blocking_notifier_chain_register(&pvx_host_chain, nb);
}
EXPORT_SYMBOL_GPL(pvx_host_register_notifier);

void pvx_host_unregister_notifier(struct notifier_block *nb)
{
	blocking_notifier_chain_unregister(&pvx_host_chain, nb);
}
EXPORT_SYMBOL_GPL(pvx_host_unregister_notifier);

static void pvx_host_notify_fn(struct work_struct *work)
{
	blocking_notifier_call_chain(&pvx_host_chain, pvx_host_features(), NULL);
}

static DECLARE_WORK(pvx_host_notify_work, pvx_host_notify_fn);

/*
 * The counter and event for a change of what the guest uses, the feature
 * modules told (later: the change may be seen in atomic context), and its
 * dmesg line when @say (reprobe says the outcome itself).
 */
static void pvx_host_changed(const struct pvx_host *was, long ret,
			     enum pvx_host_why why, bool say)
{
	const char *why_str;
	struct pvx_host now;

	pvx_host_snapshot(&now);
	this_cpu_inc(pvx_stats.n[PVX_STAT_HOST_CHANGES]);
	trace_guest_host_change(was->features, now.features, now.abi_version,
				ret, why);
	schedule_work(&pvx_host_notify_work);
	if (!say)
		return;
	why_str = why == PVX_HOST_WHY_LOST ? "a call answered -ENOSYS" :
		  "periodic PROBE";
	if (was->host_pvx && !now.host_pvx)
		pr_info("host stopped serving pvx (%s, PROBE %ld); all features fall back until PROBE succeeds again\n",
			why_str, ret);
	else if (!was->host_pvx && now.host_pvx)
		pr_info("host serves pvx again (%s): ABI %u, features 0x%x\n",
			why_str, now.abi_version, now.features);
	else if (was->features == now.features &&
		 was->abi_version == now.abi_version)
		pr_info("host state of this VM is new (%s: epoch 0x%x -> 0x%x, a migration or a host module loaded again); state kept on the host is sent again\n",
			why_str, was->epoch, now.epoch);
	else
		pr_info("host stopped or started serving calls (%s): features 0x%x -> 0x%x, ABI %u -> %u\n",
			why_str, was->features, now.features, was->abi_version,
			now.abi_version);
}

/*
 * Call @nr, which the last PROBE announced, answered -PVX_ENOSYS: the host
 * stopped serving it (a migration to a host without pvx, this VM disabled
 * by the host's administrator, the host's feature module unloaded). PROBE
 * again, at once, and serve from now on only what it says, without @nr.
 * Any context but NMI (pvx_host_lost_deferred()).
 */
static void pvx_host_lost(u32 nr)
{
	struct pvx_host answer, was;
	unsigned long flags;
	bool changed;
	long ret;

	raw_spin_lock_irqsave(&pvx_host_lock, flags);
	/* Another CPU noticed first. */
	if (!pvx_host.host_pvx || !(pvx_host.features & BIT(nr - PVX_HC_BASE))) {
		raw_spin_unlock_irqrestore(&pvx_host_lock, flags);
		return;
	}
	ret = pvx_probe_host(&answer);
	changed = pvx_host_update(&answer, BIT(nr - PVX_HC_BASE), &was);
	raw_spin_unlock_irqrestore(&pvx_host_lock, flags);

	if (changed)
		pvx_host_changed(&was, ret, PVX_HOST_WHY_LOST, true);
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
 * PROBE the host and serve what it answers. Returns PROBE's result; what
 * changed is said once (pvx_host_changed()). Process context.
 */
static long pvx_host_refresh(bool forget_lost, enum pvx_host_why why,
			     bool say)
{
	struct pvx_host answer, was;
	unsigned long flags;
	bool changed;
	long ret;

	raw_spin_lock_irqsave(&pvx_host_lock, flags);
	ret = pvx_probe_host(&answer);
	if (forget_lost)
		pvx_lost_calls = 0;
	changed = pvx_host_update(&answer, 0, &was);
	raw_spin_unlock_irqrestore(&pvx_host_lock, flags);

	if (changed)
		pvx_host_changed(&was, ret, why, say);
	return ret;
}

/*
 * At load and from /sys/kernel/pvx/reprobe: PROBE, serve every call it
 * announces (also those lost before), and say the outcome in one dmesg
 * line. 0, or -EOPNOTSUPP in a confidential guest.
 */
int pvx_reprobe(void)
{
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

	ret = pvx_host_refresh(true, PVX_HOST_WHY_REPROBE, false);
	if (ret)
		pr_info("host has no pvx (PROBE returned %ld); all features unsupported by host\n",
			ret);
	else
		pr_info("host pvx ABI %u, features 0x%x\n",
			pvx_host_abi_version(), pvx_host_features());
	return 0;
}

/*
 * The periodic PROBE. Deferrable: it runs when its CPU is awake anyway, so
 * an idle guest makes no exits for it; a guest that lands on a new host
 * uses what that host serves within about reprobe_ms of running there.
 */
#define PVX_REPROBE_MIN_MS	100
#define PVX_REPROBE_MAX_MS	3600000
static unsigned int reprobe_ms = 1000;
static DEFINE_MUTEX(pvx_reprobe_sched_lock);
static bool pvx_reprobe_running;	/* from init to exit */

static void pvx_reprobe_workfn(struct work_struct *work);
static DECLARE_DEFERRABLE_WORK(pvx_reprobe_work, pvx_reprobe_workfn);

static void pvx_reprobe_workfn(struct work_struct *work)
{
	this_cpu_inc(pvx_stats.n[PVX_STAT_PERIODIC_PROBES]);
	pvx_host_refresh(false, PVX_HOST_WHY_PERIODIC, true);
	/* under the lock: a reprobe_ms of 0 written meanwhile stops it */
	mutex_lock(&pvx_reprobe_sched_lock);
	if (pvx_reprobe_running && reprobe_ms)
		queue_delayed_work(system_unbound_wq, &pvx_reprobe_work,
				   msecs_to_jiffies(reprobe_ms));
	mutex_unlock(&pvx_reprobe_sched_lock);
}

static int pvx_reprobe_ms_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret = kstrtouint(val, 0, &v);

	if (ret)
		return ret;
	if (v && (v < PVX_REPROBE_MIN_MS || v > PVX_REPROBE_MAX_MS))
		return -EINVAL;
	mutex_lock(&pvx_reprobe_sched_lock);
	WRITE_ONCE(reprobe_ms, v);
	if (pvx_reprobe_running && v)
		mod_delayed_work(system_unbound_wq, &pvx_reprobe_work,
				 msecs_to_jiffies(v));
	else if (pvx_reprobe_running)
		cancel_delayed_work(&pvx_reprobe_work);
	mutex_unlock(&pvx_reprobe_sched_lock);
	return 0;
}

static const struct kernel_param_ops pvx_reprobe_ms_ops = {
	.set = pvx_reprobe_ms_set,
	.get = param_get_uint,
};

module_param_cb(reprobe_ms, &pvx_reprobe_ms_ops, &reprobe_ms, 0644);
MODULE_PARM_DESC(reprobe_ms,
		 "PROBE the host again every so many ms, so that features follow a live migration or the host's policy (0: only at load, on reprobe and after a lost call; else "
		 __stringify(PVX_REPROBE_MIN_MS) ".."
		 __stringify(PVX_REPROBE_MAX_MS) ", default 1000)");

static void pvx_reprobe_start(void)
{
	mutex_lock(&pvx_reprobe_sched_lock);
	pvx_reprobe_running = true;
	if (reprobe_ms)
		queue_delayed_work(system_unbound_wq, &pvx_reprobe_work,
				   msecs_to_jiffies(reprobe_ms));
	mutex_unlock(&pvx_reprobe_sched_lock);
}

static void pvx_reprobe_stop(void)
{
	mutex_lock(&pvx_reprobe_sched_lock);
	pvx_reprobe_running = false;
	mutex_unlock(&pvx_reprobe_sched_lock);
	cancel_delayed_work_sync(&pvx_reprobe_work);
}

static int __init pvx_guest_init(void)
{
	int ret, probe_ret;

	BUILD_BUG_ON(sizeof(struct pvx_info) != PVX_INFO_SIZE_V1);
	BUILD_BUG_ON(PVX_HC_NR_CALLS > 32);

	if (!kvm_para_available()) {
		pr_err("not running on KVM; refusing to load\n");
		return -ENODEV;
	}

	probe_ret = pvx_reprobe();

	ret = pvx_sysfs_init();
	if (ret)
		return ret;
	ret = pvx_dev_init();
	if (ret) {
		pvx_sysfs_exit();
		return ret;
	}
	/* a confidential guest never PROBEs */
	if (!probe_ret)
		pvx_reprobe_start();
	return 0;
}

static void __exit pvx_guest_exit(void)
{
	pvx_reprobe_stop();
	pvx_dev_exit();
	pvx_sysfs_exit();
	/* no feature module is left to call; a lost call's work may be */
	irq_work_sync(&pvx_lost_work);
	/* ... and the telling of the change it found: nobody to tell now */
	cancel_work_sync(&pvx_host_notify_work);
}

module_init(pvx_guest_init);
module_exit(pvx_guest_exit);

MODULE_DESCRIPTION("pvx guest core: paravirtual extensions for KVM guests");
MODULE_LICENSE("GPL");
