// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_hcall_test: the pvx hypercall ABI seen from tiny VMs, run on the KVM
 * host (L2 in the lab), with and without pvx_host loaded. Each stage
 * (fixture) loads pvx_host from $PVX_BUILD, or unloads it (and the
 * feature modules first), as it needs (harness.h).
 *
 *   pvx_hcall_test [--state=auto|loaded|absent] abi
 *	PROBE, unknown numbers, bad arguments, CPL3 callers, from 64-bit and
 *	real-mode guests. --state puts the host in that state first and
 *	leaves out the other state's cases; auto (default) takes the state
 *	from /sys/module and reports the other state's cases as SKIP.
 *   pvx_hcall_test [--state=...] stock record FILE | stock compare FILE
 *	stock KVM hypercalls: record the registers they return (and check
 *	them against what stock KVM answers), or compare with a recording.
 *   pvx_hcall_test insmod
 *	from pvx_host absent: pvx_host.ko loads, /sys/kernel/pvx_host there.
 *   pvx_hcall_test rmmod
 *	pvx_host unloads (its feature modules first): /sys/kernel/pvx_host gone.
 *   pvx_hcall_test dmesg
 *	only the test every run ends with (harness.h): no BUG/WARNING/Oops
 *	in the kernel log since line $PVX_DMESG_MARK.
 *   pvx_hcall_test rmmod-loop
 *	a vCPU issues PROBE in a loop while this test removes pvx_host;
 *	/sys/kernel/pvx_host goes with it, and a VM's control file held
 *	open across the removal answers -ENODEV.
 *   pvx_hcall_test cycles [N]
 *	N (1000) VMs created, PROBEd and destroyed; debugfs must show no VM
 *	left and the counters must have seen them all.
 *   pvx_hcall_test policy [--lockdown]
 *	module parameters enable, features, abi_version, new_vms and
 *	pid_policy, and the per-VM sysfs files enabled/features, seen by
 *	fresh VMs; bad input
 *	to each (garbage, out of range, too long, a writer that is not
 *	root); the debugfs copies read-only; a VM's sysfs directory gone
 *	with the VM, also while a thread reads and writes it. --lockdown:
 *	lockdown is at integrity or above (the lab boots that L2 with
 *	lockdown=integrity; not ok when it is not so);
 *	every control must work all the same, debugfs refuse writers.
 *   pvx_hcall_test hold-vm
 *	one idle VM with one vCPU until killed (below).
 *   pvx_hcall_test hcall-load N
 *	a known mix of hypercalls from a 2-vCPU VM for an observer
 *	(selftests/host/pvxtop_host_test.c): not TAP, a line protocol below.
 *
 * Output is KTAP from kselftest_harness.h, one result per test, each
 * check a "# ok" or "# not ok" line of it (harness.h); exit status 0
 * pass, 1 fail.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"
#include "sysfs_util.h"
#include "tinyvm.h"

#include "harness.h"

#define MODULE_NAME	"pvx_host"
#define SYS_MODULE	"/sys/module/" MODULE_NAME
#define PARAM_ENABLE	SYS_MODULE "/parameters/enable"
#define PARAM_FEATURES	SYS_MODULE "/parameters/features"
#define PARAM_ABI	SYS_MODULE "/parameters/abi_version"
#define PARAM_NEW_VMS	SYS_MODULE "/parameters/new_vms"
#define PARAM_PID_POLICY SYS_MODULE "/parameters/pid_policy"
#define DEBUGFS_PVX	"/sys/kernel/debug/pvx"
#define SYSFS_PVX	"/sys/kernel/pvx_host"
#define SYSFS_VMS	TVM_PVX_SYSFS_VMS
#define LOCKDOWN	"/sys/kernel/security/lockdown"

/* KVM's own numbers (include/uapi/linux/kvm_para.h). */
#define KVM_HC_VAPIC_POLL_IRQ		1
#define KVM_HC_KICK_CPU			5
#define KVM_HC_CLOCK_PAIRING		9
#define KVM_HC_SCHED_YIELD		11
#define KVM_HC_MAP_GPA_RANGE		12
#define KVM_FEATURE_PV_UNHALT		7
#define KVM_FEATURE_PV_SCHED_YIELD	13

/* Values the guest puts in argument registers to see that they survive. */
#define SENT_RCX	0x1c1c1c1c2c2c2c2cull
#define SENT_RDX	0x1d1d1d1d2d2d2d2dull
#define SENT_RSI	0x1515151525252525ull

#define X(v) ((unsigned long long)(v))

enum need { NEED_ANY, NEED_LOADED, NEED_ABSENT };

static bool pvx_loaded(void)
{
	return access(SYS_MODULE, F_OK) == 0;
}

static struct tvm_prog hcall_prog(enum tvm_mode mode)
{
	return mode == TVM_REAL ? TVM_PROG(tvm_g16_hcall) : TVM_PROG(tvm_g64_hcall);
}

/* One hypercall from vCPU 0 of a fresh VM of @mode. 0, or -1 (diag printed). */
static int hcall_fresh(enum tvm_mode mode, const struct tvm_pv *pv, uint64_t nr,
		       uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		       struct kvm_regs *r)
{
	struct tvm vm;
	int ret = -1;

	if (tvm_create(&vm, mode, hcall_prog(mode)) < 0)
		return -1;
	if (tvm_add_vcpu_pv(&vm, pv) == 0)
		ret = tvm_hcall(&vm.vcpu[0], nr, a0, a1, a2, a3, r);
	tvm_destroy(&vm);
	return ret;
}

static void diag_regs(const char *what, const struct kvm_regs *r)
{
	tvm_diag("%s: rax=0x%llx rbx=0x%llx rcx=0x%llx rdx=0x%llx rsi=0x%llx", what,
		 X(r->rax), X(r->rbx), X(r->rcx), X(r->rdx), X(r->rsi));
}

/* Compare a register as the caller's mode sees it. */
static bool reg_eq(enum tvm_mode mode, uint64_t got, uint64_t want)
{
	return mode == TVM_REAL ? (uint32_t)got == (uint32_t)want : got == want;
}

/*
 * The state this run is about: a case that needs the other state is a
 * SKIP (state auto) or left out (state given by the runner).
 */
static enum need run_state;	/* NEED_LOADED or NEED_ABSENT */
static bool state_given;

static bool want_case(enum need need, const char *desc)
{
	if (need == NEED_ANY || need == run_state)
		return true;
	if (!state_given)
		pvx_skip(need == NEED_LOADED ? MODULE_NAME " not loaded" :
			 MODULE_NAME " loaded (case is about a host without pvx)",
			 "%s", desc);
	return false;
}

/* RAX must be @want and RBX/RCX/RDX/RSI must be what the guest passed. */
static void case_result(enum need need, const char *desc, enum tvm_mode mode,
			uint64_t nr, uint64_t a0, uint64_t want)
{
	struct kvm_regs r;
	bool ok;

	if (!want_case(need, desc))
		return;
	if (hcall_fresh(mode, NULL, nr, a0, SENT_RCX, SENT_RDX, SENT_RSI, &r)) {
		pvx_check(false, "%s", desc);
		return;
	}
	/* RAX is compared in full: KVM writes a zero-extended u32 in real mode. */
	ok = r.rax == want && r.rbx == a0 && r.rcx == SENT_RCX &&
	     r.rdx == SENT_RDX && r.rsi == SENT_RSI;
	if (!ok) {
		tvm_diag("want rax=0x%llx, rbx..rsi unchanged", X(want));
		diag_regs("got", &r);
	}
	pvx_check(ok, "%s: rax=0x%llx", desc, X(r.rax));
}

/*
 * L2's paging mode from kvm_amd's npt or kvm_intel's ept parameter:
 * PVX_PROBE_PAGING_KNOWN, with PVX_PROBE_NESTED_PAGING when it is on.
 */
static uint32_t host_paging_facts(void)
{
	static const char *const param[] = {
		"/sys/module/kvm_amd/parameters/npt",
		"/sys/module/kvm_intel/parameters/ept",
	};
	char buf[16];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(param); i++) {
		FILE *f = fopen(param[i], "r");
		bool on;

		if (!f)
			continue;
		on = fgets(buf, sizeof(buf), f) && (buf[0] == 'Y' || buf[0] == '1');
		fclose(f);
		return PVX_PROBE_PAGING_KNOWN | (on ? PVX_PROBE_NESTED_PAGING : 0);
	}
	return 0;
}

/*
 * A successful PROBE: RAX 0, magic, ABI version, PROBE feature bit, no
 * bit outside the calls and the host facts; the facts: the paging mode of
 * the module parameter in 64-bit mode (paging on), none in real mode
 * (paging off: the host cannot tell the mode then).
 */
static bool probe_ok(enum tvm_mode mode, const struct kvm_regs *r)
{
	uint32_t facts = (uint32_t)r->rdx & PVX_PROBE_INFO_ALL;

	return r->rax == 0 && reg_eq(mode, r->rbx, PVX_MAGIC) &&
	       reg_eq(mode, r->rcx, PVX_ABI_VERSION) &&
	       (r->rdx & PVX_F_PROBE) &&
	       !((uint32_t)r->rdx & ~(PVX_F_ALL | PVX_PROBE_INFO_ALL)) &&
	       facts == (mode == TVM_REAL ? 0 : host_paging_facts());
}

static void case_probe(const char *desc, enum tvm_mode mode, uint64_t nr, uint64_t a0)
{
	struct kvm_regs r;
	bool ok;

	if (!want_case(NEED_LOADED, desc))
		return;
	if (hcall_fresh(mode, NULL, nr, a0, SENT_RCX, SENT_RDX, SENT_RSI, &r)) {
		pvx_check(false, "%s", desc);
		return;
	}
	ok = probe_ok(mode, &r);
	if (!ok) {
		tvm_diag("want rax=0 rbx=0x%x rcx=%u rdx has bit 0x%x, no bit outside 0x%x",
			 PVX_MAGIC, PVX_ABI_VERSION, PVX_F_PROBE, PVX_F_ALL);
		tvm_diag("and the paging facts 0x%x (0 in real mode)", host_paging_facts());
		diag_regs("got", &r);
	}
	pvx_check(ok, "%s: rax=0x%llx rbx=0x%llx rcx=%llu rdx=0x%llx", desc,
		  X(r.rax), X(r.rbx), X(r.rcx), X(r.rdx));
}

/*
 * PROBE from each vCPU of one VM: all succeed and name the same epoch
 * (RSI: 32 bits, not 0); a fresh VM's PROBE names another one.
 */
static void case_probe_vcpus(int n)
{
	const char *desc = "PROBE from every vCPU of a 4-vCPU 64-bit VM";
	uint64_t epoch = 0;
	struct kvm_regs r;
	struct tvm vm;
	int i, good = 0, same = 0;

	if (!want_case(NEED_LOADED, desc))
		return;
	if (tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)) == 0) {
		for (i = 0; i < n; i++)
			if (tvm_add_vcpu(&vm))
				break;
		for (i = 0; i < vm.nr_vcpus; i++) {
			if (tvm_hcall(&vm.vcpu[i], PVX_HC_PROBE, 0, 0, 0, 0, &r))
				continue;
			if (probe_ok(TVM_LONG, &r))
				good++;
			else
				diag_regs("vCPU answer", &r);
			if (!i)
				epoch = r.rsi;
			same += r.rsi == epoch;
		}
		tvm_destroy(&vm);
	}
	pvx_check(good == n, "%s: %d of %d succeeded", desc, good, n);
	pvx_check(same == n && epoch && epoch <= UINT32_MAX,
		  "%s: %d of %d name the same epoch 0x%llx (RSI, 32 bits, not 0)", desc,
		  same, n, X(epoch));
	if (hcall_fresh(TVM_LONG, NULL, PVX_HC_PROBE, 0, 0, 0, 0, &r) == 0)
		pvx_check(r.rax == 0 && r.rsi && r.rsi != epoch,
			  "PROBE of the next VM: another epoch (0x%llx, was 0x%llx)",
			  X(r.rsi), X(epoch));
	else
		pvx_check(false, "PROBE of the next VM: another epoch");
}

/* Feature calls whose PROBE bit is clear must be unknown: -ENOSYS. */
static void case_unserved_features(void)
{
	static const struct { uint32_t nr; const char *name; } calls[] = {
		{ PVX_HC_YIELD, "YIELD" },
		{ PVX_HC_NUMA_HINT, "NUMA_HINT" },
		{ PVX_HC_FORK_COPY, "FORK_COPY" },
		{ PVX_HC_KSM_HINT, "KSM_HINT" },
	};
	uint64_t feat = 0;
	struct kvm_regs r;
	char desc[128];
	size_t i;

	if (run_state == NEED_LOADED &&
	    hcall_fresh(TVM_LONG, NULL, PVX_HC_PROBE, 0, 0, 0, 0, &r) == 0 && r.rax == 0)
		feat = r.rdx;
	for (i = 0; i < ARRAY_SIZE(calls); i++) {
		snprintf(desc, sizeof(desc), "PVX_HC_%s (0x%x) not served -> -ENOSYS",
			 calls[i].name, calls[i].nr);
		if (feat & PVX_FEAT(calls[i].nr)) {
			pvx_skip("feature served: its module is loaded", "%s", desc);
			continue;
		}
		case_result(NEED_ANY, desc, TVM_LONG, calls[i].nr, 0, TVM_NEG64(PVX_ENOSYS));
	}
}

static int cmd_abi(void)
{
	bool loaded = pvx_loaded();
	bool in_state = (run_state == NEED_LOADED) == loaded;

	if (!state_given)
		run_state = loaded ? NEED_LOADED : NEED_ABSENT;
	tvm_diag("abi: " MODULE_NAME " %s, expected %s", loaded ? "loaded" : "not loaded",
		 state_given ? (run_state == NEED_LOADED ? "loaded" : "not loaded") : "any");
	if (state_given && !pvx_check(in_state, "host state: " MODULE_NAME " %s",
				      run_state == NEED_LOADED ? "loaded" : "not loaded"))
		return 0;

	/* (a) PROBE with pvx_host loaded. */
	case_probe("PROBE 64-bit", TVM_LONG, PVX_HC_PROBE, 0);
	case_probe("PROBE real mode (32-bit results)", TVM_REAL, PVX_HC_PROBE, 0);
	case_probe("PROBE real mode, RAX=0x1_5056_0000 (number truncated to 32 bits)",
		   TVM_REAL, 0x100000000ull | PVX_HC_PROBE, 0);
	case_probe("PROBE real mode, RBX=0x1_0000_0000 (a0 truncated to 0)",
		   TVM_REAL, PVX_HC_PROBE, 0x100000000ull);
	case_probe_vcpus(4);
	{
		struct kvm_regs r;
		struct tvm vm;
		const char *desc =
			"PROBE from a real-mode guest's own code (mov $nr,%eax; vmmcall)";

		if (want_case(NEED_LOADED, desc)) {
			bool ok = false;

			if (tvm_create(&vm, TVM_REAL, TVM_PROG(tvm_g16_probe)) == 0) {
				if (tvm_add_vcpu(&vm) == 0 && tvm_run(&vm.vcpu[0]) >= 0 &&
				    tvm_exit_is_done(&vm.vcpu[0]) &&
				    tvm_get_regs(&vm.vcpu[0], &r) == 0) {
					ok = probe_ok(TVM_REAL, &r);
					if (!ok)
						diag_regs("got", &r);
				}
				tvm_destroy(&vm);
			}
			pvx_check(ok, "%s", desc);
		}
	}

	/* (b) PROBE without pvx_host: -ENOSYS, registers untouched. */
	case_result(NEED_ABSENT, "PROBE 64-bit without " MODULE_NAME " -> -ENOSYS",
		    TVM_LONG, PVX_HC_PROBE, 0, TVM_NEG64(PVX_ENOSYS));
	case_result(NEED_ABSENT, "PROBE real mode without " MODULE_NAME " -> -ENOSYS (u32)",
		    TVM_REAL, PVX_HC_PROBE, 0, TVM_NEG32(PVX_ENOSYS));
	case_result(NEED_ABSENT, "PROBE real mode, RAX=0x1_5056_0000, without " MODULE_NAME,
		    TVM_REAL, 0x100000000ull | PVX_HC_PROBE, 0, TVM_NEG32(PVX_ENOSYS));

	/* (c) numbers pvx does not serve. */
	case_result(NEED_ANY, "unused pvx number PVX_HC_BASE+0xff -> -ENOSYS",
		    TVM_LONG, PVX_HC_BASE + 0xff, 0, TVM_NEG64(PVX_ENOSYS));
	case_result(NEED_ANY, "undefined pvx number PVX_HC_BASE+PVX_HC_NR_CALLS -> -ENOSYS",
		    TVM_LONG, PVX_HC_BASE + PVX_HC_NR_CALLS, 0, TVM_NEG64(PVX_ENOSYS));
	case_result(NEED_ANY, "unused pvx number PVX_HC_BASE+0xff real mode -> -ENOSYS",
		    TVM_REAL, PVX_HC_BASE + 0xff, 0, TVM_NEG32(PVX_ENOSYS));
	case_result(NEED_ANY, "first number past the pvx range -> -ENOSYS",
		    TVM_LONG, PVX_HC_BASE + PVX_HC_RANGE, 0, TVM_NEG64(PVX_ENOSYS));
	case_result(NEED_ANY, "0x1_5056_0000 from 64-bit (pvx only in low 32 bits) -> -ENOSYS",
		    TVM_LONG, 0x100000000ull | PVX_HC_PROBE, 0, TVM_NEG64(PVX_ENOSYS));
	case_unserved_features();

	/* (d) PROBE with a0 != 0. */
	case_result(NEED_LOADED, "PROBE 64-bit a0=1 -> -EINVAL",
		    TVM_LONG, PVX_HC_PROBE, 1, TVM_NEG64(PVX_EINVAL));
	case_result(NEED_LOADED, "PROBE 64-bit a0=0x1_0000_0000 -> -EINVAL",
		    TVM_LONG, PVX_HC_PROBE, 0x100000000ull, TVM_NEG64(PVX_EINVAL));
	case_result(NEED_LOADED, "PROBE real mode a0=1 -> -EINVAL (u32)",
		    TVM_REAL, PVX_HC_PROBE, 1, TVM_NEG32(PVX_EINVAL));

	/* (f) CPL3 callers get KVM's -KVM_EPERM and never reach pvx. */
	case_result(NEED_ANY, "PROBE from CPL3 -> -KVM_EPERM",
		    TVM_USER, PVX_HC_PROBE, 0, TVM_NEG64(PVX_EPERM));
	case_result(NEED_ANY, "PROBE a0=1 from CPL3 -> -KVM_EPERM",
		    TVM_USER, PVX_HC_PROBE, 1, TVM_NEG64(PVX_EPERM));
	return 0;
}

/* (e) Stock hypercalls: the same registers with and without pvx_host. */
struct stock_case {
	const char *name;
	enum tvm_mode mode;
	struct tvm_pv pv;
	uint64_t nr, a0, a1;
	uint64_t want;		/* RAX from stock KVM 6.1 and 6.12 */
};

#define PV(enf, f)	{ .set = true, .enforce = enf, .features = f }
#define PV_YIELD	_BITUL(KVM_FEATURE_PV_SCHED_YIELD)

static const struct stock_case stock_cases[] = {
	{ "sched_yield_pv_cpuid", TVM_LONG, PV(true, PV_YIELD),
	  KVM_HC_SCHED_YIELD, 0, 0, 0 },
	{ "sched_yield_no_pv_cpuid", TVM_LONG, PV(true, 0),
	  KVM_HC_SCHED_YIELD, 0, 0, TVM_NEG64(PVX_ENOSYS) },
	{ "sched_yield_not_enforced", TVM_LONG, {0},
	  KVM_HC_SCHED_YIELD, 0, 0, 0 },
	{ "sched_yield_real_mode", TVM_REAL, PV(true, PV_YIELD),
	  KVM_HC_SCHED_YIELD, 0, 0, 0 },
	{ "sched_yield_real_mode_no_pv_cpuid", TVM_REAL, PV(true, 0),
	  KVM_HC_SCHED_YIELD, 0, 0, TVM_NEG32(PVX_ENOSYS) },
	{ "sched_yield_hi32_64bit", TVM_LONG, PV(true, PV_YIELD),
	  0x100000000ull | KVM_HC_SCHED_YIELD, 0, 0, TVM_NEG64(PVX_ENOSYS) },
	{ "sched_yield_hi32_real_mode", TVM_REAL, PV(true, PV_YIELD),
	  0x100000000ull | KVM_HC_SCHED_YIELD, 0, 0, 0 },
	{ "unknown_0x77", TVM_LONG, {0}, 0x77, 0, 0, TVM_NEG64(PVX_ENOSYS) },
	{ "unknown_0x77_real_mode", TVM_REAL, {0}, 0x77, 0, 0, TVM_NEG32(PVX_ENOSYS) },
	{ "vapic_poll_irq", TVM_LONG, {0}, KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0 },
	{ "vapic_poll_irq_real_mode", TVM_REAL, {0}, KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0 },
	{ "kick_cpu_no_pv_cpuid", TVM_LONG, PV(true, 0),
	  KVM_HC_KICK_CPU, 0, 0, TVM_NEG64(PVX_ENOSYS) },
	{ "clock_pairing_bad_type", TVM_LONG, {0},
	  KVM_HC_CLOCK_PAIRING, TVM_DATA_GPA, 0x99, TVM_NEG64(PVX_EOPNOTSUPP) },
	{ "map_gpa_range_not_enabled", TVM_LONG, {0},
	  KVM_HC_MAP_GPA_RANGE, TVM_DATA_GPA, 1, TVM_NEG64(PVX_ENOSYS) },
	{ "unknown_0x77_cpl3", TVM_USER, {0}, 0x77, 0, 0, TVM_NEG64(PVX_EPERM) },
	{ "vapic_poll_irq_cpl3", TVM_USER, {0}, KVM_HC_VAPIC_POLL_IRQ, 0, 0,
	  TVM_NEG64(PVX_EPERM) },
	{ "pvx_probe_cpl3", TVM_USER, {0}, PVX_HC_PROBE, 0, 0, TVM_NEG64(PVX_EPERM) },
};

#define NR_STOCK (ARRAY_SIZE(stock_cases))

static int cmd_stock(bool record, const char *file)
{
	FILE *f = fopen(file, record ? "w" : "r");
	char line[256], name[64];
	unsigned long long rec[4];
	struct kvm_regs r;
	size_t i;

	tvm_diag("stock %s %s: " MODULE_NAME " %s", record ? "record" : "compare", file,
		 pvx_loaded() ? "loaded" : "not loaded");
	if (!f) {
		pvx_check(false, "stock: open %s: %s", file, strerror(errno));
		return 0;
	}
	for (i = 0; i < NR_STOCK; i++) {
		const struct stock_case *c = &stock_cases[i];
		bool found = false, ok;

		if (hcall_fresh(c->mode, &c->pv, c->nr, c->a0, c->a1, SENT_RDX, SENT_RSI, &r)) {
			pvx_check(false, "stock %s (%s)", c->name, tvm_mode_name(c->mode));
			continue;
		}
		if (record) {
			fprintf(f, "%s %llx %llx %llx %llx\n", c->name, X(r.rax), X(r.rbx),
				X(r.rcx), X(r.rdx));
			ok = r.rax == c->want;
			pvx_check(ok, "stock %s (%s): rax=0x%llx, stock KVM answers 0x%llx",
				  c->name, tvm_mode_name(c->mode), X(r.rax), X(c->want));
			continue;
		}
		rewind(f);
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%63s %llx %llx %llx %llx", name, &rec[0], &rec[1],
				   &rec[2], &rec[3]) == 5 && !strcmp(name, c->name)) {
				found = true;
				break;
			}
		if (!found) {
			pvx_check(false, "stock %s: not in %s", c->name, file);
			continue;
		}
		ok = r.rax == rec[0] && r.rbx == rec[1] && r.rcx == rec[2] && r.rdx == rec[3];
		if (!ok) {
			tvm_diag("recorded: rax=0x%llx rbx=0x%llx rcx=0x%llx rdx=0x%llx",
				 rec[0], rec[1], rec[2], rec[3]);
			diag_regs("now", &r);
		}
		pvx_check(ok, "stock %s (%s) same as recorded: rax=0x%llx (recorded 0x%llx)",
			  c->name, tvm_mode_name(c->mode), X(r.rax), rec[0]);
	}
	fclose(f);
	return 0;
}

/* (g) rmmod pvx_host while a vCPU loops on PROBE. */
struct loop_state {
	struct tvm_vcpu *v;
	volatile int stop;
	volatile unsigned long n_ok, n_enosys, n_other, n_back; /* back: 0 after -ENOSYS */
	volatile int run_err;		/* -errno of KVM_RUN, or exit reason */
	char why[128];
};

static void *loop_vcpu(void *arg)
{
	struct loop_state *s = arg;
	struct kvm_regs r;
	int ret;

	while (!s->stop) {
		ret = tvm_run(s->v);
		if (ret < 0 || !tvm_exit_is_done(s->v) || tvm_get_regs(s->v, &r)) {
			s->run_err = ret < 0 ? ret : 1;
			if (ret < 0)
				snprintf(s->why, sizeof(s->why), "KVM_RUN: %s", strerror(-ret));
			else
				tvm_exit_str(s->v, s->why, sizeof(s->why));
			break;
		}
		if (r.rax == 0 && r.rbx == PVX_MAGIC) {
			if (s->n_enosys)
				s->n_back++;
			s->n_ok++;
		} else if (r.rax == TVM_NEG64(PVX_ENOSYS)) {
			s->n_enosys++;
		} else {
			s->n_other++;
		}
	}
	return NULL;
}

/* Wait until *@counter reaches @min or the vCPU failed; a hang guard, not a timing test. */
static bool wait_count(struct loop_state *s, volatile unsigned long *counter, unsigned long min)
{
	int i;

	for (i = 0; i < 6000 && *counter < min && !s->run_err; i++)
		usleep(10000);
	return *counter >= min;
}

/*
 * @fd, a sysfs control opened before its object went: a read and a write
 * both answer -ENODEV (kernfs refuses them; no pvx code runs). Closes it.
 */
static void stale_control_enodev(int fd, const char *what)
{
	char buf[16];
	int rd = 0, wr = 0;

	if (fd >= 0) {
		rd = pread(fd, buf, sizeof(buf), 0) < 0 ? errno : 0;
		wr = write(fd, "1", 1) < 0 ? errno : 0;
		close(fd);
	}
	pvx_check(fd >= 0 && rd == ENODEV && wr == ENODEV,
		  "%s: read and write -ENODEV (%s, %s)", what,
		  fd < 0 ? "not opened" : strerror(rd), strerror(wr));
}

/* The newest VM's sysfs enabled file of this process, opened: fd or -1. */
static int open_vm_control(void)
{
	char dir[256], path[300];

	if (tvm_newest_vm_dir(dir, sizeof(dir)))
		return -1;
	tvm_vm_sysfs_dir(dir, path, sizeof(path));
	strncat(path, "/enabled", sizeof(path) - strlen(path) - 1);
	return open(path, O_RDWR);
}

/*
 * After the module's removal: SYSFS_PVX is gone, and @fd, a VM's control
 * opened before, answers -ENODEV instead of running the module's code.
 */
static void rmmod_control_gone(const char *d, int fd)
{
	pvx_check(access(SYSFS_PVX, F_OK) && errno == ENOENT, "%s: " SYSFS_PVX " gone", d);
	stale_control_enodev(fd, "rmmod-loop: the VM's sysfs enabled held open across rmmod");
}

static int cmd_rmmod_loop(void)
{
	const char *d = "rmmod-loop";
	struct loop_state s = { 0 };
	unsigned long before;
	struct kvm_regs r;
	pthread_t th;
	struct tvm vm;
	int ret, err = 0, ctl_fd;
	bool ok;

	if (!pvx_loaded()) {
		pvx_skip(MODULE_NAME " not loaded", "%s: rmmod while a VM issues PROBE", d);
		return 0;
	}
	if (tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_loop)) || tvm_add_vcpu(&vm) ||
	    tvm_get_regs(&vm.vcpu[0], &r)) {
		pvx_check(false, "%s: VM set-up", d);
		return 0;
	}
	r.r8 = PVX_HC_PROBE;
	r.r9 = 0;
	tvm_set_regs(&vm.vcpu[0], &r);
	s.v = &vm.vcpu[0];
	if (pthread_create(&th, NULL, loop_vcpu, &s)) {
		pvx_check(false, "%s: pthread_create", d);
		return 0;
	}
	ok = wait_count(&s, &s.n_ok, 20);
	pvx_check(ok, "%s: vCPU loop gets PROBE = 0 before rmmod (%lu calls so far)", d, s.n_ok);
	ctl_fd = open_vm_control();
	ret = syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK);
	if (ret)
		err = errno;
	before = s.n_ok;
	pvx_check(!ret, "%s: delete_module(" MODULE_NAME ") while the VM runs%s%s", d,
		  ret ? ": " : "", ret ? strerror(err) : "");
	pvx_check(!pvx_loaded(), "%s: " MODULE_NAME " gone from /sys/module", d);
	rmmod_control_gone(d, ctl_fd);
	if (!ret)
		wait_count(&s, &s.n_enosys, 20);
	s.stop = 1;
	pthread_join(th, NULL);
	tvm_diag("%s: PROBE results: %lu x 0, %lu x -ENOSYS, %lu other, %lu x 0 after -ENOSYS (%lu x 0 when delete_module returned)",
		 d, s.n_ok, s.n_enosys, s.n_other, s.n_back, before);
	pvx_check(!s.run_err, "%s: guest kept running, no KVM_RUN error or odd exit%s%s", d,
		  s.run_err ? ": " : "", s.why);
	pvx_check(!ret && s.n_enosys >= 20 && !s.n_other && !s.n_back,
		  "%s: results switched once from 0 to -ENOSYS (%lu then %lu, %lu other)",
		  d, s.n_ok, s.n_enosys, s.n_other);
	/* The VM still works after the hook is gone. */
	tvm_destroy(&vm);
	ret = hcall_fresh(TVM_LONG, NULL, PVX_HC_PROBE, 0, 0, 0, 0, &r);
	pvx_check(!ret && r.rax == TVM_NEG64(PVX_ENOSYS),
		  "%s: a new VM after rmmod gets PROBE -ENOSYS", d);
	return 0;
}

/* debugfs counters: "name value" lines. -1 when missing. */
static long long read_counter(const char *name)
{
	FILE *f = fopen(DEBUGFS_PVX "/counters", "r");
	char line[256], n[128];
	long long v, ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %lld", n, &v) == 2 && !strcmp(n, name))
			ret = v;
	fclose(f);
	return ret;
}

/* debugfs vms: a number, or one line per live VM. -1 when unreadable. */
static long read_vms(char *text, size_t len)
{
	FILE *f = fopen(DEBUGFS_PVX "/vms", "r");
	size_t n;
	char *end;
	long v, lines = 0;

	if (!f)
		return -1;
	n = fread(text, 1, len - 1, f);
	fclose(f);
	text[n] = 0;
	v = strtol(text, &end, 0);
	while (*end == ' ' || *end == '\n' || *end == '\t')
		end++;
	if (end != text && !*end)
		return v;
	for (end = text; *end; end++)
		lines += *end == '\n';
	return lines + (n && text[n - 1] != '\n');
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * One cycle: a VM with one vCPU, one PROBE from it, the VM destroyed; the
 * milliseconds of each step added to @ms (create, vCPU, PROBE, destroy).
 * The VM's memory is in small pages: it touches seven of them, and a huge
 * page zeroed per VM was a fifth of a cycle (perf, 6.12 L2).
 */
static int cycle_once(struct kvm_regs *r, double ms[4])
{
	struct tvm vm;
	double t0 = now_ms(), t1, t2;
	int ret = -1;

	if (tvm_create_flags(&vm, TVM_LONG, hcall_prog(TVM_LONG), TVM_F_SMALL_PAGES) < 0)
		return -1;
	t1 = now_ms();
	ms[0] += t1 - t0;
	if (tvm_add_vcpu(&vm) == 0) {
		t2 = now_ms();
		ms[1] += t2 - t1;
		ret = tvm_hcall(&vm.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, r);
		t1 = now_ms();
		ms[2] += t1 - t2;
	}
	tvm_destroy(&vm);
	ms[3] += now_ms() - t1;
	return ret;
}

static int cmd_cycles(int n)
{
	static const char *const names[] = { "vms_created", "vms_destroyed", "probe" };
	long long before[3], after[3];
	double ms[4] = { 0 }, t0;
	char text[512] = "";
	struct kvm_regs r;
	int i, bad = 0, j;
	long vms = -1;

	if (!pvx_loaded()) {
		pvx_skip(MODULE_NAME " not loaded", "cycles: %d VM create/PROBE/destroy", n);
		return 0;
	}
	for (j = 0; j < 3; j++)
		before[j] = read_counter(names[j]);
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		if (cycle_once(&r, ms) || r.rax) {
			if (++bad <= 3)
				tvm_diag("cycle %d: PROBE failed, rax=0x%llx", i, X(r.rax));
		}
	}
	if (n > 0)
		tvm_diag("cycles: %.1f ms per cycle: create %.1f, vCPU %.1f, PROBE %.1f, destroy %.1f",
			 (now_ms() - t0) / n, ms[0] / n, ms[1] / n, ms[2] / n, ms[3] / n);
	pvx_check(!bad, "cycles: %d VMs created, PROBEd and destroyed (%d failed)", n, bad);
	/* VM teardown may finish a little after close(); bounded wait. */
	for (i = 0; i < 100; i++) {
		vms = read_vms(text, sizeof(text));
		if (vms <= 0)
			break;
		usleep(50000);
	}
	if (vms)
		tvm_diag("%s/vms: %s", DEBUGFS_PVX, vms < 0 ? strerror(errno) : text);
	pvx_check(vms == 0, "cycles: %s/vms reads 0 after all VMs are gone (%ld)",
		  DEBUGFS_PVX, vms);
	for (j = 0; j < 3; j++) {
		after[j] = read_counter(names[j]);
		pvx_check(before[j] >= 0 && after[j] - before[j] >= n,
			  "cycles: counter %s grew by >= %d (%lld -> %lld)", names[j], n,
			  before[j], after[j]);
	}
	return 0;
}

static int read_param(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* A write that must fail with @err and leave @path reading @want. */
static bool bad_write(const char *path, const char *val, int err, const char *want)
{
	char now[256];
	int ret = tvm_write_file(path, val);

	if (read_param(path, now, sizeof(now)))
		return false;
	if (ret != -err || strcmp(now, want))
		tvm_diag("write '%s' to %s: %s (want %s), reads '%s' (want '%s')", val, path,
			 strerror(-ret), strerror(err), now, want);
	return ret == -err && !strcmp(now, want);
}

/*
 * The VMs of this process whose directories a lookup may find: ids above
 * this one. A VM destroyed just before keeps its directories a moment
 * (they go from a work item), and the next VM's come from a work item
 * too: a lookup right after the next KVM_CREATE_VM could find the old
 * one alone. new_vm() raises the floor past every directory there.
 */
static unsigned long long vm_dir_floor;

/* The highest VM id of this process under @base, 0 when none. */
static unsigned long long newest_vm_id(const char *base)
{
	unsigned long long id, best = 0;
	struct dirent *de;
	DIR *d = opendir(base);
	int pid;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "vm%llu-%d", &id, &pid) == 2 && pid == getpid() &&
		    id > best)
			best = id;
	closedir(d);
	return best;
}

/* A 64-bit VM of the hcall program, the only one find_vm_dir() finds. */
static int new_vm(struct tvm *vm)
{
	unsigned long long a = newest_vm_id(SYSFS_VMS), b = newest_vm_id(DEBUGFS_PVX);

	vm_dir_floor = a > b ? a : b;
	return tvm_create(vm, TVM_LONG, TVM_PROG(tvm_g64_hcall));
}

/* The directory under @base of this process's only VM above the floor. */
static int find_vm_dir_once(const char *base, char *path, size_t len)
{
	unsigned long long id, found_id = 0;
	struct dirent *de;
	DIR *d = opendir(base);
	int found = 0, pid;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "vm%llu-%d", &id, &pid) == 2 && pid == getpid() &&
		    id > vm_dir_floor) {
			found++;
			found_id = id;
		}
	}
	closedir(d);
	if (found == 1)
		snprintf(path, len, "%s/vm%llu-%d", base, found_id, (int)getpid());
	return found == 1 ? 0 : -1;
}

/*
 * pvx creates a VM's directories from a work item right after
 * KVM_CREATE_VM: wait for the one under @base (up to 2 s).
 */
static int find_vm_dir_in(const char *base, char *path, size_t len)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (!find_vm_dir_once(base, path, len))
			return 0;
		usleep(10000);
	}
	return -1;
}

/* The VM's controls: SYSFS_VMS/vm<id>-<pid>. */
static int find_vm_dir(char *path, size_t len)
{
	return find_vm_dir_in(SYSFS_VMS, path, len);
}

/* Lockdown as /sys/kernel/security/lockdown says: true at integrity or above. */
static bool locked_down(void)
{
	char buf[128];

	return !read_param(LOCKDOWN, buf, sizeof(buf)) && !strstr(buf, "[none]") &&
	       strchr(buf, '[');
}

/*
 * The debugfs copy of a control is read-only: opening it for writing is
 * refused, with -EPERM under lockdown (debugfs' own check), else the
 * write has no handler (-EINVAL); it keeps reading @want.
 */
static bool debugfs_refuses(const char *path, const char *want)
{
	return bad_write(path, "1", locked_down() ? EPERM : EINVAL, want);
}

/*
 * Per-VM policy: SYSFS_VMS/vm<id>-<pid>/{enabled,features}, and their
 * read-only copies in DEBUGFS_PVX/vm<id>-<pid>/.
 */
static void policy_per_vm(void)
{
	char dir[256], dbg[256], path[300], dpath[300], val[32];
	struct tvm a, b;
	struct kvm_regs r;
	bool ok;

	if (new_vm(&a) || tvm_add_vcpu(&a)) {
		pvx_check(false, "policy per VM: VM set-up");
		return;
	}
	ok = !tvm_hcall(&a.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) && r.rax == 0;
	if (!pvx_check(ok && !find_vm_dir(dir, sizeof(dir)) &&
		       !find_vm_dir_in(DEBUGFS_PVX, dbg, sizeof(dbg)) &&
		       !strcmp(strrchr(dir, '/'), strrchr(dbg, '/')),
		       "policy per VM: " SYSFS_VMS "/vm<id>-%d and its debugfs twin exist",
		       (int)getpid()))
		goto out;
	snprintf(path, sizeof(path), "%s/enabled", dir);
	snprintf(dpath, sizeof(dpath), "%s/enabled", dbg);
	ok = !tvm_write_file(path, "0") &&
	     !tvm_hcall(&a.vcpu[0], PVX_HC_PROBE, 0, SENT_RCX, 0, 0, &r) &&
	     r.rax == TVM_NEG64(PVX_ENOSYS) && r.rcx == SENT_RCX;
	pvx_check(ok, "policy per VM: enabled=0 -> PROBE -ENOSYS in that VM (rax=0x%llx)",
		  X(r.rax));
	ok = !read_param(dpath, val, sizeof(val)) && !strcmp(val, "0");
	pvx_check(ok, "policy per VM: debugfs enabled reads 0 too ('%s')", val);
	ok = debugfs_refuses(dpath, "0");
	pvx_check(ok, "policy per VM: debugfs enabled refuses a writer (%s), still 0",
		  locked_down() ? "-EPERM, lockdown" : "-EINVAL");
	ok = false;
	if (!tvm_create(&b, TVM_LONG, TVM_PROG(tvm_g64_hcall))) {
		ok = !tvm_add_vcpu(&b) && !tvm_hcall(&b.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) &&
		     probe_ok(TVM_LONG, &r);
		tvm_destroy(&b);
	}
	pvx_check(ok, "policy per VM: another VM still gets PROBE = 0");
	ok = !tvm_write_file(path, "1") &&
	     !tvm_hcall(&a.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) && probe_ok(TVM_LONG, &r);
	pvx_check(ok, "policy per VM: enabled=1 -> PROBE works again");
	snprintf(path, sizeof(path), "%s/features", dir);
	snprintf(dpath, sizeof(dpath), "%s/features", dbg);
	ok = !tvm_write_file(path, "0x1") &&
	     !tvm_hcall(&a.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) && r.rax == 0 &&
	     (r.rdx & PVX_F_ALL) == 1;
	pvx_check(ok, "policy per VM: features=0x1 -> PROBE calls 0x1 (rdx=0x%llx)", X(r.rdx));
	ok = !read_param(dpath, val, sizeof(val)) && !strcmp(val, "0x1") &&
	     debugfs_refuses(dpath, "0x1");
	pvx_check(ok, "policy per VM: debugfs features reads 0x1 ('%s') and refuses a writer",
		  val);
out:
	tvm_destroy(&a);
}

/* A string of @n copies of @c (n < 8192), for writes longer than a page. */
static const char *long_str(char c, size_t n)
{
	static char buf[8192];

	memset(buf, c, n);
	buf[n] = 0;
	return buf;
}

/*
 * Write @val to @path as user and group 65534 (nobody): -errno of open or
 * write (the files are root's, mode 0644: -EACCES), or 0.
 */
static int write_as_nobody(const char *path, const char *val)
{
	int fds[2], st, ret = -EIO;
	pid_t pid;

	if (pipe(fds))
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		ret = -EPERM;
		if (!setgroups(0, NULL) && !setresgid(65534, 65534, 65534) &&
		    !setresuid(65534, 65534, 65534))
			ret = write_file(path, val);
		if (write(fds[1], &ret, sizeof(ret)) != sizeof(ret))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (pid > 0 && read(fds[0], &ret, sizeof(ret)) != sizeof(ret))
		ret = -EIO;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	return ret;
}

/* A write by user nobody: refused with -EACCES, @path keeps @want. */
static bool nobody_refused(const char *path, const char *val, const char *want)
{
	char now[256];
	int ret = write_as_nobody(path, val);

	if (read_param(path, now, sizeof(now)))
		return false;
	if (ret != -EACCES || strcmp(now, want))
		tvm_diag("write '%s' to %s as nobody: %s (want %s), reads '%s' (want '%s')",
			 val, path, strerror(-ret), strerror(EACCES), now, want);
	return ret == -EACCES && !strcmp(now, want);
}

/* PROBE from vCPU 0 of a fresh VM, with sentinels in RCX and RDX. */
static int probe_fresh(struct kvm_regs *r)
{
	return hcall_fresh(TVM_LONG, NULL, PVX_HC_PROBE, 0, SENT_RCX, SENT_RDX, 0, r);
}

static bool probe_enosys(const struct kvm_regs *r)
{
	return r->rax == TVM_NEG64(PVX_ENOSYS) && r->rcx == SENT_RCX && r->rdx == SENT_RDX;
}

/* Every pvx call in a VM (with @vm_features, if given) answers as PROBE said. */
static void policy_calls_match_probe(const char *what, const char *vm_features)
{
	char dir[256], path[300];
	uint64_t feat = 0, nr;
	struct kvm_regs r;
	struct tvm vm;
	int bad = 0, n = 0;

	if (new_vm(&vm) || tvm_add_vcpu(&vm)) {
		pvx_check(false, "%s: VM set-up", what);
		return;
	}
	if (vm_features) {
		if (find_vm_dir(dir, sizeof(dir)) ||
		    (snprintf(path, sizeof(path), "%s/features", dir),
		     tvm_write_file(path, vm_features))) {
			pvx_check(false, "%s: features=%s before the first call", what,
				  vm_features);
			goto out;
		}
	}
	if (tvm_hcall(&vm.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) || r.rax) {
		pvx_check(false, "%s: PROBE (rax=0x%llx)", what, X(r.rax));
		goto out;
	}
	feat = r.rdx;
	/* Arguments every handler rejects or ignores; no call may sleep long. */
	for (nr = PVX_HC_PROBE + 1; nr < PVX_HC_BASE + PVX_HC_NR_CALLS; nr++) {
		bool served = feat & PVX_FEAT(nr), ok;

		if (tvm_hcall(&vm.vcpu[0], nr, ~0ull, ~0ull, 0, 0, &r)) {
			bad++;
			continue;
		}
		n++;
		if (served)
			ok = r.rax != TVM_NEG64(PVX_ENOSYS) && r.rax != TVM_NEG64(PVX_EOPNOTSUPP);
		else
			ok = r.rax == TVM_NEG64(PVX_ENOSYS) || r.rax == TVM_NEG64(PVX_EOPNOTSUPP);
		if (!ok) {
			tvm_diag("%s: call 0x%llx %s in PROBE (0x%llx) but answered 0x%llx", what,
				 X(nr), served ? "set" : "clear", X(feat), X(r.rax));
			bad++;
		}
	}
	pvx_check(!bad && n == PVX_HC_NR_CALLS - 1 && (feat & PVX_F_PROBE),
		  "%s: PROBE rdx=0x%llx has bit 0, and each call is served iff its bit is set",
		  what, X(feat));
out:
	tvm_destroy(&vm);
}

/*
 * abi_version: what PROBE announces in RCX. Values outside 1..ABI are
 * refused and the parameter keeps its value; 1 is announced to fresh VMs
 * (a pool of mixed pvx versions announces the oldest); 2 again after.
 */
static void policy_abi_version(void)
{
	char was[32];
	struct kvm_regs r;
	bool ok;

	if (read_param(PARAM_ABI, was, sizeof(was))) {
		pvx_check(false, "policy: %s readable", PARAM_ABI);
		return;
	}
	ok = !strcmp(was, "2") &&
	     bad_write(PARAM_ABI, "0", EINVAL, was) &&
	     bad_write(PARAM_ABI, "3", EINVAL, was) &&
	     bad_write(PARAM_ABI, "4294967298", ERANGE, was) &&
	     bad_write(PARAM_ABI, "v1", EINVAL, was);
	pvx_check(ok, "policy: abi_version reads 2 ('%s'); 0, 3, 2^32+2, 'v1' refused, it stays",
		  was);
	ok = !tvm_write_file(PARAM_ABI, "1") && !probe_fresh(&r) && r.rax == 0 &&
	     r.rcx == 1 && r.rbx == PVX_MAGIC;
	pvx_check(ok, "policy: abi_version=1 -> PROBE announces ABI 1 (rax=0x%llx rcx=0x%llx)",
		  X(r.rax), X(r.rcx));
	ok = !tvm_write_file(PARAM_ABI, was) && !probe_fresh(&r) && r.rax == 0 &&
	     r.rcx == PVX_ABI_VERSION;
	pvx_check(ok, "policy: abi_version=%s again -> PROBE announces ABI %d (rcx=0x%llx)",
		  was, PVX_ABI_VERSION, X(r.rcx));
}

/* Bit 0 (PROBE) cannot be cleared: the parameter and the VM file refuse. */
static void policy_probe_bit(const char *features)
{
	char dir[256], path[300], want[32];
	struct kvm_regs r;
	struct tvm vm;
	bool ok;

	ok = bad_write(PARAM_FEATURES, "0x1e", EINVAL, features) &&
	     bad_write(PARAM_FEATURES, "0", EINVAL, features) &&
	     bad_write(PARAM_FEATURES, "0x20", EINVAL, features) &&
	     bad_write(PARAM_FEATURES, "yield", EINVAL, features);
	pvx_check(ok, "policy: features 0x1e, 0, 0x20, 'yield' -> -EINVAL, parameter stays %s",
		  features);
	ok = probe_fresh(&r) == 0 && r.rax == 0 && (r.rdx & PVX_F_PROBE);
	pvx_check(ok, "policy: PROBE still answers with bit 0 (rax=0x%llx rdx=0x%llx)",
		  X(r.rax), X(r.rdx));

	if (new_vm(&vm) || tvm_add_vcpu(&vm) || find_vm_dir(dir, sizeof(dir))) {
		pvx_check(false, "policy per VM: VM set-up, directory at creation");
		tvm_destroy(&vm);
		return;
	}
	snprintf(path, sizeof(path), "%s/features", dir);
	snprintf(want, sizeof(want), "0x%x", PVX_F_ALL);
	ok = bad_write(path, "0x1e", EINVAL, want) && bad_write(path, "0x0", EINVAL, want) &&
	     bad_write(path, "0x3f", EINVAL, want) && bad_write(path, "x", EINVAL, want) &&
	     bad_write(path, "\n", EINVAL, want) && bad_write(path, "0x100000000", ERANGE, want);
	snprintf(path, sizeof(path), "%s/enabled", dir);
	ok = ok && bad_write(path, "2", EINVAL, "1") && bad_write(path, "on", EINVAL, "1") &&
	     bad_write(path, "-1", EINVAL, "1") && bad_write(path, "1 1", EINVAL, "1");
	pvx_check(ok,
		  "policy per VM: features 0x1e, 0x0, 0x3f, 'x', '\\n', 2^32 and enabled 2, 'on', -1, '1 1' -> -EINVAL/-ERANGE, nothing changed");
	/* Longer than the page sysfs hands over: a number too big, or junk. */
	ok = bad_write(path, long_str('1', 5000), ERANGE, "1") &&
	     bad_write(path, long_str(' ', 5000), EINVAL, "1");
	snprintf(path, sizeof(path), "%s/features", dir);
	ok = ok && bad_write(path, long_str('1', 5000), ERANGE, want) &&
	     bad_write(path, long_str('x', 5000), EINVAL, want);
	pvx_check(ok,
		  "policy per VM: 5000-byte writes to enabled and features -> -ERANGE/-EINVAL, nothing changed");
	ok = nobody_refused(path, "0x1", want);
	snprintf(path, sizeof(path), "%s/enabled", dir);
	ok = ok && nobody_refused(path, "0", "1");
	pvx_check(ok, "policy per VM: user nobody cannot write enabled or features (-EACCES)");
	ok = !tvm_hcall(&vm.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) && r.rax == 0 &&
	     (r.rdx & PVX_F_PROBE);
	pvx_check(ok,
		  "policy per VM: PROBE answers with bit 0 after the refused writes (rax=0x%llx)",
		  X(r.rax));
	tvm_destroy(&vm);
}

/* new_vms=none, then this VM enabled through its file before its first call. */
static void policy_new_vms(void)
{
	char dir[256], path[300];
	struct kvm_regs r;
	struct tvm vm;
	bool ok;

	ok = bad_write(PARAM_NEW_VMS, "some", EINVAL, "all") &&
	     bad_write(PARAM_NEW_VMS, "\n", EINVAL, "all") &&
	     bad_write(PARAM_NEW_VMS, "allx", EINVAL, "all") &&
	     bad_write(PARAM_NEW_VMS, "1", EINVAL, "all");
	pvx_check(ok, "policy: new_vms 'some', '\\n', 'allx', '1' -> -EINVAL, stays all");

	if (tvm_write_file(PARAM_NEW_VMS, "none")) {
		pvx_check(false, "policy: new_vms=none written");
		return;
	}
	ok = !probe_fresh(&r) && probe_enosys(&r);
	pvx_check(ok, "policy: new_vms=none -> a new VM's PROBE -ENOSYS, registers kept (rax=0x%llx)",
		  X(r.rax));
	ok = !hcall_fresh(TVM_LONG, NULL, PVX_HC_YIELD, 1, 0, 0, 0, &r) &&
	     r.rax == TVM_NEG64(PVX_ENOSYS);
	pvx_check(ok, "policy: new_vms=none -> a new VM's YIELD -ENOSYS (rax=0x%llx)", X(r.rax));

	ok = false;
	if (!new_vm(&vm) && !tvm_add_vcpu(&vm) && !find_vm_dir(dir, sizeof(dir))) {
		char en[8] = "";

		snprintf(path, sizeof(path), "%s/enabled", dir);
		ok = !read_param(path, en, sizeof(en)) && !strcmp(en, "0");
		pvx_check(ok,
			  "policy: new_vms=none -> %s/enabled reads 0 before the first call ('%s')",
			  dir, en);
		ok = !tvm_write_file(path, "1") &&
		     !tvm_hcall(&vm.vcpu[0], PVX_HC_PROBE, 0, 0, 0, 0, &r) &&
		     probe_ok(TVM_LONG, &r);
		pvx_check(ok,
			  "policy: new_vms=none, enabled=1 before the first call -> PROBE works (rax=0x%llx)",
			  X(r.rax));
	} else {
		pvx_check(false, "policy: new_vms=none, VM set-up and directory at creation");
	}
	tvm_destroy(&vm);
	ok = !tvm_write_file(PARAM_NEW_VMS, "all") && !probe_fresh(&r) && probe_ok(TVM_LONG, &r);
	pvx_check(ok, "policy: new_vms=all -> a new VM's PROBE works again");
}

#define PID_POLICY	PARAM_PID_POLICY

/* PROBE in a fresh VM of a child process: its rax, or ~0 on failure. */
static uint64_t probe_in_child(void)
{
	int fds[2], st;
	uint64_t rax = ~0ull;
	pid_t pid;

	if (pipe(fds))
		return rax;
	pid = fork();
	if (pid == 0) {
		struct kvm_regs r;

		close(fds[0]);
		if (!probe_fresh(&r))
			rax = r.rax;
		if (write(fds[1], &rax, sizeof(rax)) != sizeof(rax))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (pid > 0 && read(fds[0], &rax, sizeof(rax)) != sizeof(rax))
		rax = ~0ull;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	return rax;
}

/* A new VM of this process: its sysfs file @file reads @want. */
static bool policy_pid_vm_reads(const char *file, const char *want)
{
	char dir[256], path[300], val[32] = "";
	struct tvm vm;
	bool ok = false;

	if (!new_vm(&vm) && !find_vm_dir(dir, sizeof(dir))) {
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		ok = !read_param(path, val, sizeof(val)) && !strcmp(val, want);
		if (!ok)
			tvm_diag("%s reads '%s', want '%s'", path, val, want);
	}
	tvm_destroy(&vm);
	return ok;
}

/*
 * "PID on MASK": the VMs that process creates get that features mask
 * before their first call (a migration destination given its source's
 * mask); a bad mask, or one with "off"/"default", is -EINVAL.
 */
static void policy_pid_features(int me)
{
	static const char * const bad[] = {
		"on 0x2", "on 0x20", "on 0x100000001", "on x3", "off 0x3", "default 0x3",
		"on 0x3 0x3",
	};
	char val[64], want[64];
	struct kvm_regs r, all = { 0 };
	unsigned int i;
	bool ok;

	/* what a VM of every feature is served: the modules loaded decide */
	snprintf(val, sizeof(val), "%d on", me);
	if (tvm_write_file(PID_POLICY, val) || probe_fresh(&all) || !probe_ok(TVM_LONG, &all)) {
		pvx_check(false, "policy: pid_policy '%s' -> PROBE answers (rax=0x%llx)", val,
			  X(all.rax));
		return;
	}
	snprintf(val, sizeof(val), "%d on 0x3", me);
	snprintf(want, sizeof(want), "%d on 0x3", me);
	ok = !tvm_write_file(PID_POLICY, val) && policy_pid_vm_reads("features", "0x3") &&
	     !probe_fresh(&r) && probe_ok(TVM_LONG, &r) &&
	     ((uint32_t)r.rdx & PVX_F_ALL) == ((uint32_t)all.rdx & 0x3);
	pvx_check(ok,
		  "policy: pid_policy '%s' -> the new VM's features read 0x3 before its first call, PROBE rdx=0x%llx (every feature: 0x%llx)",
		  val, X(r.rdx), X(all.rdx));
	ok = !read_param(PID_POLICY, val, sizeof(val)) && !strcmp(val, want);
	pvx_check(ok, "policy: pid_policy reads '%s' ('%s')", want, val);
	ok = true;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(val, sizeof(val), "%d %s", me, bad[i]);
		ok = bad_write(PID_POLICY, val, EINVAL, want) && ok;
	}
	pvx_check(ok,
		  "policy: pid_policy masks without PROBE, beyond 0x1f or 32 bits, not a number, with off/default, two masks -> -EINVAL, entry kept");
	snprintf(val, sizeof(val), "%d on", me);
	snprintf(want, sizeof(want), "%d on", me);
	ok = !tvm_write_file(PID_POLICY, val) && !read_param(PID_POLICY, val, sizeof(val)) &&
	     !strcmp(val, want) && policy_pid_vm_reads("features", "0x1f");
	pvx_check(ok, "policy: pid_policy '%s' again -> every feature for the next VM (reads '%s')",
		  want, val);
}

static void policy_pid(void)
{
	char val[64], want[64];
	struct kvm_regs r;
	int me = getpid();
	bool ok;

	if (access(PID_POLICY, F_OK)) {
		pvx_check(false, "policy: %s exists", PID_POLICY);
		return;
	}
	snprintf(val, sizeof(val), "%d off", me);
	ok = !tvm_write_file(PID_POLICY, val) && !probe_fresh(&r) && probe_enosys(&r);
	pvx_check(ok, "policy: pid_policy '%s' -> this process's new VM: PROBE -ENOSYS (rax=0x%llx)",
		  val, X(r.rax));
	ok = policy_pid_vm_reads("enabled", "0");
	pvx_check(ok,
		  "policy: pid_policy '%d off' -> the new VM's sysfs enabled reads 0 before its first call",
		  me);
	snprintf(want, sizeof(want), "%d off", me);
	ok = !read_param(PID_POLICY, val, sizeof(val)) && !strcmp(val, want);
	pvx_check(ok, "policy: pid_policy reads '%s' ('%s')", want, val);
	ok = probe_in_child() == 0;
	pvx_check(ok, "policy: pid_policy of this process does not apply to a child's VM");

	/* Bad input: the entry stays as it is. */
	ok = bad_write(PID_POLICY, "abc on", EINVAL, want) &&
	     bad_write(PID_POLICY, "on", EINVAL, want) &&
	     (snprintf(val, sizeof(val), "%d", me), bad_write(PID_POLICY, val, EINVAL, want)) &&
	     (snprintf(val, sizeof(val), "%d maybe", me),
	      bad_write(PID_POLICY, val, EINVAL, want)) &&
	     (snprintf(val, sizeof(val), "%d on off", me),
	      bad_write(PID_POLICY, val, EINVAL, want)) &&
	     bad_write(PID_POLICY, "0 on", EINVAL, want) &&
	     bad_write(PID_POLICY, "-1 on", EINVAL, want) &&
	     bad_write(PID_POLICY, "99999999999 on", ERANGE, want) &&
	     bad_write(PID_POLICY, "1234567 on 1234567 on 1234567 on", EINVAL, want) &&
	     bad_write(PID_POLICY, "4194305 on", ESRCH, want) &&
	     bad_write(PID_POLICY, long_str('1', 5000), EINVAL, want) &&
	     bad_write(PID_POLICY, "\n", EINVAL, want);
	pvx_check(ok,
		  "policy: pid_policy bad lines (no PID, no word, bad word, extra word, PID 0/-1/too big/absent, too long, 5000 bytes, empty) -> -EINVAL/-ERANGE/-ESRCH, entry kept");
	snprintf(val, sizeof(val), "%d on", me);
	ok = nobody_refused(PID_POLICY, val, want) && nobody_refused(PARAM_NEW_VMS, "none", "all");
	pvx_check(ok, "policy: user nobody cannot write pid_policy or new_vms (-EACCES)");

	snprintf(val, sizeof(val), "%d default", me);
	ok = !tvm_write_file(PID_POLICY, val) && !probe_fresh(&r) && probe_ok(TVM_LONG, &r) &&
	     !read_param(PID_POLICY, want, sizeof(want)) && !want[0];
	pvx_check(ok, "policy: pid_policy '%s' -> entry gone, PROBE works (rax=0x%llx)", val,
		  X(r.rax));

	ok = !tvm_write_file(PARAM_NEW_VMS, "none") &&
	     (snprintf(val, sizeof(val), "%d on", me), !tvm_write_file(PID_POLICY, val)) &&
	     !probe_fresh(&r) && probe_ok(TVM_LONG, &r) &&
	     probe_in_child() == TVM_NEG64(PVX_ENOSYS);
	pvx_check(ok,
		  "policy: new_vms=none with pid_policy '%d on' -> PROBE works in this process's VM, -ENOSYS in a child's",
		  me);
	tvm_write_file(PARAM_NEW_VMS, "all");
	policy_pid_features(me);
	snprintf(val, sizeof(val), "%d default", me);
	tvm_write_file(PID_POLICY, val);
}

/*
 * A VM's sysfs directory goes with the VM; a control file held open
 * across the VM's end answers -ENODEV (pvx_host's code is not reached).
 */
static void policy_vm_end(void)
{
	char dir[256], path[300];
	struct tvm vm;
	int fd, i;
	bool ok;

	if (new_vm(&vm) || find_vm_dir(dir, sizeof(dir))) {
		pvx_check(false, "policy VM end: VM set-up, sysfs directory");
		tvm_destroy(&vm);
		return;
	}
	snprintf(path, sizeof(path), "%s/enabled", dir);
	fd = open(path, O_RDWR);
	tvm_destroy(&vm);
	/* The directory goes from a work item after the VM's end. */
	for (i = 0; i < 200 && !access(dir, F_OK); i++)
		usleep(10000);
	ok = access(dir, F_OK) && errno == ENOENT;
	pvx_check(ok, "policy VM end: %s gone after the VM's end", dir);
	stale_control_enodev(fd, "policy VM end: enabled held open across the VM's end");
}

struct race {
	volatile int stop;
	unsigned long done, gone, other;
};

/* One control file of a VM that may be going: open, read, write. */
static void race_file(struct race *rc, const char *path, const char *val)
{
	char buf[16];
	int fd = open(path, O_RDWR), err = 0;

	if (fd < 0) {
		err = errno;
	} else {
		if (pread(fd, buf, sizeof(buf), 0) < 0 || write(fd, val, strlen(val)) < 0)
			err = errno;
		close(fd);
	}
	if (!err)
		rc->done++;
	else if (err == ENOENT || err == ENODEV)
		rc->gone++;
	else if (!rc->other++)
		tvm_diag("policy race: %s: %s", path, strerror(err));
}

/* Reads and writes the controls of every VM of this process until stopped. */
static void *race_thread(void *arg)
{
	struct race *rc = arg;
	char pattern[32], path[300];
	struct dirent *de;
	size_t l, pl;
	DIR *d;

	snprintf(pattern, sizeof(pattern), "-%d", (int)getpid());
	pl = strlen(pattern);
	while (!rc->stop) {
		d = opendir(SYSFS_VMS);
		if (!d) {
			rc->other++;
			return NULL;
		}
		while ((de = readdir(d))) {
			l = strlen(de->d_name);
			if (strncmp(de->d_name, "vm", 2) || l <= pl ||
			    strcmp(de->d_name + l - pl, pattern))
				continue;
			snprintf(path, sizeof(path), SYSFS_VMS "/%s/enabled", de->d_name);
			race_file(rc, path, "1");
			snprintf(path, sizeof(path), SYSFS_VMS "/%s/features", de->d_name);
			race_file(rc, path, "0x1f");
		}
		closedir(d);
	}
	return NULL;
}

/* VMs come and go while a thread reads and writes their sysfs files. */
static void policy_race(int n)
{
	struct race rc = { 0 };
	pthread_t th;
	struct tvm vm;
	int i, bad = 0;

	if (pthread_create(&th, NULL, race_thread, &rc)) {
		pvx_check(false, "policy race: pthread_create");
		return;
	}
	for (i = 0; i < n; i++) {
		if (tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)))
			bad++;
		usleep(2000);
		tvm_destroy(&vm);
	}
	rc.stop = 1;
	pthread_join(th, NULL);
	pvx_check(!bad && rc.done && !rc.other,
		  "policy race: %d VMs created and destroyed while a thread read and wrote their enabled/features: %lu served, %lu gone (-ENOENT/-ENODEV), %lu other",
		  n, rc.done, rc.gone, rc.other);
}

static int cmd_policy(bool lockdown)
{
	char enable[32], features[32], ld[128] = "";
	struct kvm_regs r;
	uint64_t all_feat;
	int ret;

	read_param(LOCKDOWN, ld, sizeof(ld));
	tvm_diag("policy: %s: '%s'", LOCKDOWN, ld);
	if (lockdown &&
	    !pvx_check(locked_down(), "policy: lockdown at integrity or above ('%s')", ld))
		return 0;
	if (!pvx_loaded()) {
		pvx_skip(MODULE_NAME " not loaded", "policy: module parameters enable, features");
		return 0;
	}
	if (read_param(PARAM_ENABLE, enable, sizeof(enable)) ||
	    read_param(PARAM_FEATURES, features, sizeof(features))) {
		pvx_check(false, "policy: read %s and %s", PARAM_ENABLE, PARAM_FEATURES);
		return 0;
	}
	tvm_diag("policy: enable=%s features=%s", enable, features);
	ret = hcall_fresh(TVM_LONG, NULL, PVX_HC_PROBE, 0, 0, 0, 0, &r);
	all_feat = r.rdx;
	pvx_check(!ret && r.rax == 0, "policy: PROBE works as loaded (rdx=0x%llx)", X(r.rdx));

	ret = tvm_write_file(PARAM_ENABLE, "N");
	if (!ret)
		ret = hcall_fresh(TVM_LONG, NULL, PVX_HC_PROBE, 0, SENT_RCX, SENT_RDX, 0, &r);
	pvx_check(!ret && r.rax == TVM_NEG64(PVX_ENOSYS) && r.rcx == SENT_RCX &&
		  r.rdx == SENT_RDX, "policy: enable=N -> PROBE -ENOSYS (rax=0x%llx)", X(r.rax));
	ret = tvm_write_file(PARAM_ENABLE, "Y");
	if (!ret)
		ret = hcall_fresh(TVM_LONG, NULL, PVX_HC_PROBE, 0, 0, 0, 0, &r);
	pvx_check(!ret && probe_ok(TVM_LONG, &r), "policy: enable=Y -> PROBE works again");

	ret = tvm_write_file(PARAM_FEATURES, "0x1");
	if (!ret)
		ret = hcall_fresh(TVM_LONG, NULL, PVX_HC_PROBE, 0, 0, 0, 0, &r);
	pvx_check(!ret && r.rax == 0 && (r.rdx & PVX_F_ALL) == 0x1 &&
		  (r.rdx & PVX_PROBE_INFO_ALL) == host_paging_facts(),
		  "policy: features=0x1 -> PROBE calls 0x1, the paging facts unmasked (rdx=0x%llx)",
		  X(r.rdx));
	if (!ret && (all_feat & PVX_F_ALL & ~1ull)) {
		/* A call masked off must be unknown again. */
		uint64_t nr = PVX_HC_BASE + __builtin_ctzll(all_feat & PVX_F_ALL & ~1ull);

		ret = hcall_fresh(TVM_LONG, NULL, nr, 0, 0, 0, 0, &r);
		pvx_check(!ret && r.rax == TVM_NEG64(PVX_EOPNOTSUPP),
			  "policy: features=0x1 -> masked call 0x%llx -EOPNOTSUPP (rax=0x%llx)",
			  X(nr), X(r.rax));
	}

	/* Restore what the module had. */
	ret = tvm_write_file(PARAM_FEATURES, features) | tvm_write_file(PARAM_ENABLE, enable);
	if (!ret)
		ret = hcall_fresh(TVM_LONG, NULL, PVX_HC_PROBE, 0, 0, 0, 0, &r);
	pvx_check(!ret && r.rax == 0 && r.rdx == all_feat,
		  "policy: parameters restored (enable=%s features=%s), PROBE rdx=0x%llx",
		  enable, features, X(r.rdx));
	policy_per_vm();
	policy_probe_bit(features);
	policy_abi_version();
	policy_calls_match_probe("policy: default VM", NULL);
	policy_calls_match_probe("policy: VM with features=0x1", "0x1");
	policy_new_vms();
	policy_pid();
	policy_vm_end();
	policy_race(100);
	return 0;
}

/*
 * hold-vm: keep one VM with one vCPU that never runs until killed (the
 * lab runs it beside its suites). KVM turns the preempt-notifier static
 * key on with the first VM and off with the last, and each flip patches
 * finish_task_switch() and the other users of the key; multi-threaded TCG
 * lets the other L2 CPU trap on the int3 of that patch after it is gone
 * (lab.rst). One VM that lives throughout keeps the key on. Its vCPU,
 * made without an in-kernel irqchip like the tiny VMs' vCPUs, does the
 * same for kvm_has_noapic_vcpu, which KVM turns on and off with the
 * first and last such vCPU: every tiny VM patched kernel text twice,
 * over half of the CPU time of a create/PROBE/destroy cycle (perf, 6.12
 * L2). The lab creates it before loading pvx_host and it makes no
 * hypercall, so pvx keeps no state for it.
 */
static int cmd_hold_vm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);

	if (vm < 0 || ioctl(vm, KVM_CREATE_VCPU, 0) < 0) {
		perror("pvx_hcall_test hold-vm");
		return 1;
	}
	for (;;)
		pause();
}

/*
 * hcall-load N: a 2-vCPU VM; prints "vm PID" and waits for a line on
 * stdin, then issues from vCPU 0 N PROBEs and N/4 PROBEs with a0 != 0
 * (-EINVAL), from vCPU 1 N/2 PROBEs and N/4 calls of an unassigned pvx
 * number (-ENOSYS), and from vCPU 0 N/4 directed yields to vCPU 1 and N/8
 * with an undefined flag (-EINVAL; -ENOSYS when pvx_yield is not loaded);
 * prints "done" and keeps the VM (and its debugfs directory) until stdin
 * ends, so the observer can read the VM's counters. Exit 0 when every
 * call ran (whatever it answered).
 */
static int cmd_hcall_load(int n)
{
	static const struct {
		int vcpu;
		uint64_t nr, a0, a1;
		int div;	/* calls: n / div */
	} mix[] = {
		{ 0, PVX_HC_PROBE, 0, 0, 1 },
		{ 0, PVX_HC_PROBE, 1, 0, 4 },
		{ 1, PVX_HC_PROBE, 0, 0, 2 },
		{ 1, PVX_HC_BASE + 0x80, 0, 0, 4 },
		{ 0, PVX_HC_YIELD, 1, 0, 4 },
		{ 0, PVX_HC_YIELD, 1, 0x80, 8 },
	};
	struct kvm_regs r;
	struct tvm vm;
	char line[16];
	unsigned int i;
	int k, bad = 0;

	if (tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)) || tvm_add_vcpu(&vm) ||
	    tvm_add_vcpu(&vm)) {
		fprintf(stderr, "hcall-load: VM set-up failed\n");
		return 1;
	}
	printf("vm %d\n", getpid());
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (i = 0; i < ARRAY_SIZE(mix); i++)
		for (k = 0; k < n / mix[i].div; k++)
			bad += !!tvm_hcall(&vm.vcpu[mix[i].vcpu], mix[i].nr, mix[i].a0,
					   mix[i].a1, 0, 0, &r);
	printf("done %d failed\n", bad);
	while (fgets(line, sizeof(line), stdin))
		;
	tvm_destroy(&vm);
	return bad ? 1 : 0;
}

/* ---- the fixtures: pvx_host's states, the stages; the tests --------- */

/* stock's record|compare and FILE, cycles' N, policy's --lockdown */
static const char *stage_arg, *stage_arg2;

/* --state=loaded|absent: pvx_host put in that state; auto: the host's */
static const char *state_ready(void)
{
	if (!state_given)
		return kvm_ready();
	return run_state == NEED_LOADED ? pvx_need_loaded(MODULE_NAME) :
	       pvx_need_absent(MODULE_NAME);
}

static const char *stock_ready(void)
{
	return state_ready() ?: stage_arg2 ? NULL : "no 'record FILE' or 'compare FILE'";
}

static const char *host_loaded(void)
{
	return pvx_need_loaded(MODULE_NAME);
}

static const char *host_absent(void)
{
	return pvx_need_absent(MODULE_NAME);
}

/* first when every fixture runs: a load from absent */
PVX_FIXTURE(insmod, host_absent);

PVX_TEST(insmod, load)
{
	int err = pvx_insmod(MODULE_NAME, "insmod " MODULE_NAME ".ko");

	if (err > 0)
		return;
	pvx_check(!err && pvx_loaded(), "insmod " MODULE_NAME ".ko: %s",
		  err ? strerror(-err) : "loaded");
	pvx_check(path_exists(SYSFS_PVX), SYSFS_PVX " there");
}

/* abi's state is its own: --state, or the host's (its cases say) */
PVX_FIXTURE(abi, state_ready);

PVX_TEST(abi, probe_and_bad_input)
{
	cmd_abi();
}

PVX_FIXTURE(stock, stock_ready);

PVX_TEST(stock, kvm_hypercalls_unchanged)
{
	cmd_stock(!strcmp(stage_arg, "record"), stage_arg2);
}

PVX_FIXTURE(cycles, host_loaded);

PVX_TEST(cycles, create_probe_destroy)
{
	cmd_cycles(stage_arg ? atoi(stage_arg) : 1000);
}

PVX_FIXTURE(policy, host_loaded);

PVX_TEST(policy, parameters_and_sysfs)
{
	cmd_policy(stage_arg && !strcmp(stage_arg, "--lockdown"));
}

PVX_FIXTURE(rmmod_loop, host_loaded);

PVX_TEST(rmmod_loop, rmmod_while_probing)
{
	cmd_rmmod_loop();
}

/* last when every fixture runs: it leaves pvx_host removed */
PVX_FIXTURE(rmmod, host_loaded);

PVX_TEST(rmmod, feature_modules_first)
{
	const char *why = module_ensure_absent(MODULE_NAME);

	pvx_check(!why, "rmmod " MODULE_NAME " (its feature modules first): %s",
		  why ?: "removed");
	pvx_check(!path_exists(SYSFS_PVX), SYSFS_PVX " gone");
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: pvx_hcall_test [--state=auto|loaded|absent] abi\n"
		"       pvx_hcall_test [--state=auto|loaded|absent] stock record|compare FILE\n"
		"       pvx_hcall_test insmod|rmmod-loop|rmmod|dmesg\n"
		"       pvx_hcall_test cycles [N]\n"
		"       pvx_hcall_test policy [--lockdown]\n"
		"       pvx_hcall_test hold-vm\n"
		"       pvx_hcall_test hcall-load N\n"
		"       pvx_hcall_test (every stage but stock; run_kselftest.sh)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct utsname u;
	int i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (i < argc && !strncmp(argv[i], "--state=", 8)) {
		const char *st = argv[i++] + 8;

		state_given = strcmp(st, "auto") != 0;
		if (!strcmp(st, "loaded"))
			run_state = NEED_LOADED;
		else if (!strcmp(st, "absent"))
			run_state = NEED_ABSENT;
		else if (state_given)
			print_usage();
	}
	if (i < argc && !strcmp(argv[i], "hold-vm"))
		return cmd_hold_vm();
	if (i < argc && !strcmp(argv[i], "hcall-load") && i + 1 < argc)
		return cmd_hcall_load(atoi(argv[i + 1]));
	if (argc > i + 3)
		print_usage();
	stage_arg = i + 1 < argc ? argv[i + 1] : NULL;
	stage_arg2 = i + 2 < argc ? argv[i + 2] : NULL;
	if (stage_arg2 && strcmp(stage_arg, "record") && strcmp(stage_arg, "compare"))
		print_usage();
	uname(&u);
	tvm_diag("pvx_hcall_test %s on %s, %s CPU (%s)", i < argc ? argv[i] : "(all)", u.release,
		 tvm_cpu_is_amd() ? "AMD" : "Intel", tvm_cpu_is_amd() ? "vmmcall" : "vmcall");
	pvx_harness_run(argv[0], i < argc ? argv[i] : NULL);
	print_usage();
	return 2;
}
