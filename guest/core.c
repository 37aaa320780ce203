// SPDX-License-Identifier: GPL-2.0
/*
 * pvx guest core: finds out, once, whether the KVM host speaks pvx
 * (PVX_HC_PROBE) and is the one place that issues pvx hypercalls for the
 * guest feature modules. On a host without pvx it still loads, says so
 * once, and every feature reports "unsupported by host".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cc_platform.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <asm/kvm_para.h>
#include <asm/processor.h>

#include "compat.h"
#include "internal.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

struct pvx_host pvx_host __ro_after_init;
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
	return pvx_host.host_pvx && feature_bits &&
	       (pvx_host.features & feature_bits) == feature_bits;
}
EXPORT_SYMBOL_GPL(pvx_host_has);

u32 pvx_host_features(void)
{
	return pvx_host.features;
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
	u32 base = hypervisor_cpuid_base(KVM_SIGNATURE, 0);

	return base ? cpuid_eax(base | KVM_CPUID_FEATURES) : 0;
}
EXPORT_SYMBOL_GPL(pvx_kvm_features);

long pvx_hypercall(u32 nr, unsigned long a0, unsigned long a1,
		   unsigned long a2, unsigned long a3)
{
	struct pvx_regs r = { .ax = nr, .bx = a0, .cx = a1, .dx = a2, .si = a3 };
	u32 idx = nr - PVX_HC_BASE;

	if (idx >= 32 || !pvx_host_has(BIT(idx))) {
		this_cpu_inc(pvx_stats.n[PVX_STAT_REFUSED]);
		trace_guest_hypercall(nr, a0, -PVX_ENOSYS, false);
		return -PVX_ENOSYS;
	}
	return pvx_issue(&r);
}
EXPORT_SYMBOL_GPL(pvx_hypercall);

static void __init pvx_probe(void)
{
	struct pvx_regs r = { .ax = PVX_HC_PROBE };
	long ret;

	/*
	 * Encrypted guests (SEV, SEV-ES/SNP, TDX): the host cannot read the
	 * batches in guest memory, and with encrypted state the #VC/#VE
	 * handlers hand back RAX only, so PROBE could not be read anyway.
	 */
	if (cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT)) {
		pr_info("host pvx not used in a confidential guest; all features unsupported by host\n");
		return;
	}

	ret = pvx_issue(&r);
	if (ret) {
		pr_info("host has no pvx (PROBE returned %ld); all features unsupported by host\n",
			ret);
		return;
	}
	if (r.bx != PVX_MAGIC || !r.cx || r.cx > U32_MAX) {
		pr_info("host answered PROBE without pvx (magic 0x%lx, ABI %lu); all features unsupported by host\n",
			r.bx, r.cx);
		return;
	}

	pvx_host.host_pvx = true;
	pvx_host.magic = PVX_MAGIC;
	pvx_host.abi_version = r.cx;
	pvx_host.features = r.dx;
	pr_info("host pvx ABI %u, features 0x%x\n", pvx_host.abi_version,
		pvx_host.features);
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

	pvx_probe();

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
}

module_init(pvx_guest_init);
module_exit(pvx_guest_exit);

MODULE_DESCRIPTION("pvx guest core: paravirtual extensions for KVM guests");
MODULE_LICENSE("GPL");
