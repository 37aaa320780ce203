/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tinyvm: VMs made straight through /dev/kvm with a few bytes of guest code,
 * for exact hypercall ABI tests.
 *
 *	struct tvm vm;
 *	struct kvm_regs r;
 *
 *	if (tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)) < 0) ...
 *	tvm_add_vcpu(&vm);
 *	tvm_hcall(&vm.vcpu[0], nr, a0, a1, a2, a3, &r);   (r.rax = result)
 *	tvm_destroy(&vm);
 *
 * Guest physical memory (TVM_MEM_SIZE at GPA 0, host view at vm.mem):
 *	0x1000	PML4, 0x2000 PDPT, 0x3000 PD (2 MiB pages, identity map)
 *	0x4000	GDT, 0x5000 TSS
 *	0x8000	guest code (TVM_CODE_GPA)
 *	0x20000	data page shared with the host (TVM_DATA_GPA)
 *	0x100000 + (i + 1) * 0x1000: top of vCPU i's stack
 * Mode TVM_USER maps every page user-accessible and runs at CPL3 with
 * RFLAGS.IOPL = 3.
 */
#ifndef PVX_SELFTEST_TINYVM_H
#define PVX_SELFTEST_TINYVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/const.h>
#include <linux/kvm.h>

#define TVM_MEM_SIZE	(4u << 20)
#define TVM_CODE_GPA	0x8000u
#define TVM_CODE_MAX	0x7000u
#define TVM_DATA_GPA	0x20000u
#define TVM_STACK_GPA	0x100000u
#define TVM_PORT_DONE	0x10	/* guest: out %al, $TVM_PORT_DONE */
#define TVM_MAX_VCPUS	16

/* Result of a 64-bit hypercall error code as the guest sees it. */
#define TVM_NEG64(e)	((uint64_t)-(int64_t)(e))
/* ... and as a real-mode (32-bit operand) guest sees it. */
#define TVM_NEG32(e)	((uint64_t)(uint32_t)-(int32_t)(e))

enum tvm_mode {
	TVM_REAL,	/* 16-bit real mode, CS.base 0 */
	TVM_LONG,	/* 64-bit long mode, CPL0 */
	TVM_USER,	/* 64-bit long mode, CPL3, IOPL 3 */
};

/* A guest program: bytes between two labels of guest.S. */
struct tvm_prog {
	const char *name;
	const uint8_t *start, *end;
};

#define TVM_PROG(sym) ({						\
	extern const uint8_t sym[], sym##_end[];			\
	(struct tvm_prog){ #sym, sym, sym##_end };			\
})

struct tvm;

struct tvm_vcpu {
	struct tvm *vm;
	int id;			/* KVM vcpu_id (the APIC ID); vm->vcpu[] index: creation order */
	int fd;
	struct kvm_run *run;
	size_t run_size;
	int stats_fd;		/* KVM_GET_STATS_FD, opened on first use */
};

struct tvm {
	int kvm_fd;
	int fd;
	enum tvm_mode mode;
	uint8_t *mem;		/* guest memory at GPA 0 */
	size_t mem_size;
	int nr_vcpus;
	struct tvm_vcpu vcpu[TVM_MAX_VCPUS];
};

/* The vCPU's KVM pv features (CPUID 0x40000001.EAX) and enforcement. */
struct tvm_pv {
	bool set;		/* false: leave KVM's defaults */
	bool enforce;		/* KVM_CAP_ENFORCE_PV_FEATURE_CPUID */
	uint32_t features;	/* 1 << KVM_FEATURE_* */
};

/* True when the host CPU is AMD/Hygon (VMMCALL), false for Intel (VMCALL). */
bool tvm_cpu_is_amd(void);
const char *tvm_mode_name(enum tvm_mode mode);

/* Create a VM with guest code @prog at TVM_CODE_GPA; 0 or -errno. */
int tvm_create(struct tvm *vm, enum tvm_mode mode, struct tvm_prog prog);
/*
 * Guest memory in 4 KiB pages only (MADV_NOHUGEPAGE): where transparent
 * huge pages are on, the few pages a tiny VM touches otherwise fault in a
 * 2 MiB page, which the kernel zeroes for each VM.
 */
#define TVM_F_SMALL_PAGES	_BITUL(0)
/* As tvm_create, with TVM_F_* @flags. */
int tvm_create_flags(struct tvm *vm, enum tvm_mode mode, struct tvm_prog prog,
		     unsigned int flags);
/* Add a vCPU (index = creation order) started at TVM_CODE_GPA. */
int tvm_add_vcpu(struct tvm *vm);
/* As tvm_add_vcpu, with explicit pv features in the guest CPUID. */
int tvm_add_vcpu_pv(struct tvm *vm, const struct tvm_pv *pv);
/* As tvm_add_vcpu, with KVM vcpu_id (APIC ID) @id instead of the index. */
int tvm_add_vcpu_id(struct tvm *vm, int id);
void tvm_destroy(struct tvm *vm);

/*
 * In-kernel irqchip (KVM_CREATE_IRQCHIP): call before tvm_add_vcpu(). HLT
 * then sleeps inside KVM_RUN instead of exiting to userspace, and vCPUs
 * other than 0 start in wait-for-SIPI until tvm_set_runnable().
 */
int tvm_create_irqchip(struct tvm *vm);
/* KVM_SET_MP_STATE RUNNABLE (an AP that needs no INIT/SIPI). */
int tvm_set_runnable(struct tvm_vcpu *v);
/*
 * A vCPU statistic by name from KVM's binary stats (KVM_GET_STATS_FD),
 * e.g. "blocking" (1 while the vCPU sleeps in kvm_vcpu_block()), read by
 * any thread while the vCPU runs. 0 or -errno.
 */
int tvm_vcpu_stat(struct tvm_vcpu *v, const char *name, uint64_t *val);

/* KVM_RUN once: the exit reason, or -errno when the ioctl failed. */
int tvm_run(struct tvm_vcpu *v);
int tvm_get_regs(struct tvm_vcpu *v, struct kvm_regs *r);
int tvm_set_regs(struct tvm_vcpu *v, const struct kvm_regs *r);
/* True when the last exit was the guest's "out %al, $TVM_PORT_DONE". */
bool tvm_exit_is_done(struct tvm_vcpu *v);
/* Describe the last exit for a diagnostic line. */
const char *tvm_exit_str(struct tvm_vcpu *v, char *buf, size_t len);

/*
 * One hypercall through a *_hcall program: loads RIP = TVM_CODE_GPA and
 * RAX = nr, RBX..RSI = a0..a3 (other registers keep their values), runs
 * until the guest's OUT and stores the registers in @out.
 * 0, or -1 after a "# ..." diagnostic line (unexpected exit, ioctl error).
 */
int tvm_hcall(struct tvm_vcpu *v, uint64_t nr, uint64_t a0, uint64_t a1,
	      uint64_t a2, uint64_t a3, struct kvm_regs *out);

/*
 * A counters file of pvx's debugfs ("name value" lines): @vals[i] gets the
 * value of @names[i] (0 when missing). True when the file was readable and
 * had every name. At most 64 names.
 */
bool tvm_read_counters(const char *path, const char *const *names, int nr,
		       long long *vals);
/*
 * /sys/kernel/debug/pvx/vm<id>-<pid> of this process's newest VM with pvx
 * state (the highest id: older VMs' directories may linger a moment after
 * their VM is gone). 0, or -1 when there is none.
 */
int tvm_newest_vm_dir(char *path, size_t len);

/* Where pvx_host keeps each VM's controls (enabled, features). */
#define TVM_PVX_SYSFS_VMS	"/sys/kernel/pvx_host/vms"

/*
 * The sysfs directory of the VM whose debugfs directory is @dir (the same
 * name, vm<id>-<pid>, under TVM_PVX_SYSFS_VMS) into @path.
 */
void tvm_vm_sysfs_dir(const char *dir, char *path, size_t len);

/*
 * The answers of a vCPU that issues one call in a loop while the test
 * removes the module that serves it: served answers, then -ENOSYS, never
 * anything else, and nothing served again after an -ENOSYS ("back").
 */
struct tvm_answers {
	volatile int stop;	/* set by the test: end the loop */
	volatile int err;	/* the loop ended on a KVM_RUN failure */
	volatile unsigned long served, enosys, other, back;
};

/* Count one answer of the loop. */
void tvm_answers_add(struct tvm_answers *a, bool served, bool enosys);
/* Wait up to 60 s for *@c >= @min (less when the loop failed). */
bool tvm_answers_wait(struct tvm_answers *a, volatile unsigned long *c,
		      unsigned long min);

/* write_file() (sysfs_util.h) with a "# ..." line when it fails. */
int tvm_write_file(const char *path, const char *val);

/*
 * Enable events/pvx/@event in tracefs (/sys/kernel/tracing, else
 * /sys/kernel/debug/tracing; its root into *@root) and turn tracing on:
 * an oops anywhere in the kernel before turns tracing off (oops_enter()),
 * and the emulator's faults oops L2 now and then (lab.rst). 0, -ENOENT
 * when no tracefs has the event, or write_file()'s error (with a "# ..."
 * line).
 */
int tvm_trace_event_on(const char *event, const char **root);

/* "# ..." diagnostic line on stdout (part of the TAP stream). */
/* The guest's vendor-neutral hypercall sites, filled in by guest.S. */
extern const uint64_t __start_tvm_hcall_sites[], __stop_tvm_hcall_sites[];

void tvm_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* PVX_SELFTEST_TINYVM_H */
