// SPDX-License-Identifier: GPL-2.0
/*
 * tinyvm: VMs made straight through /dev/kvm. See tinyvm.h.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/const.h>

#include "tinyvm.h"
#include "sysfs_util.h"

/* Page-table and descriptor bits. */
#define PTE_P		_BITULL(0)
#define PTE_RW		_BITULL(1)
#define PTE_US		_BITULL(2)
#define PTE_PS		_BITULL(7)

#define CR0_PE		_BITULL(0)
#define CR0_MP		_BITULL(1)
#define CR0_ET		_BITULL(4)
#define CR0_NE		_BITULL(5)
#define CR0_WP		_BITULL(16)
#define CR0_PG		_BITULL(31)
#define CR4_PAE		_BITULL(5)
#define EFER_LME	_BITULL(8)
#define EFER_LMA	_BITULL(10)
#define RFLAGS_FIXED	_BITULL(1)
#define RFLAGS_IOPL3	(3ull << 12)

#define PML4_GPA	0x1000u
#define PDPT_GPA	0x2000u
#define PD_GPA		0x3000u
#define GDT_GPA		0x4000u
#define TSS_GPA		0x5000u

/* GDT selectors (see gdt_init). */
#define SEL_CODE0	0x08
#define SEL_DATA0	0x10
#define SEL_CODE3	0x18
#define SEL_DATA3	0x20
#define SEL_TSS		0x28
#define GDT_LIMIT	(0x38 - 1)
#define TSS_LIMIT	0x67

void tvm_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

bool tvm_cpu_is_amd(void)
{
	static int amd = -1;
	unsigned int a, b, c, d;
	const char *env;

	if (amd >= 0)
		return amd;
	env = getenv("TVM_HCALL");	/* debugging: force vmcall/vmmcall */
	if (env && (!strcmp(env, "vmcall") || !strcmp(env, "vmmcall"))) {
		amd = !strcmp(env, "vmmcall");
	} else {
		__cpuid(0, a, b, c, d);
		(void)a;
		/* "AuthenticAMD" and "HygonGenuine" use VMMCALL (SVM). */
		amd = (b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163) ||
		      (b == 0x6f677948 && d == 0x6e65476e && c == 0x656e6975);
	}
	return amd;
}

const char *tvm_mode_name(enum tvm_mode mode)
{
	switch (mode) {
	case TVM_REAL: return "real mode";
	case TVM_LONG: return "64-bit CPL0";
	case TVM_USER: return "64-bit CPL3";
	}
	return "?";
}

static uint64_t gdt_entry(uint32_t type, uint32_t dpl, bool code64)
{
	/* base 0, limit 0xfffff, G=1, S=1, P=1; L for 64-bit code, D/B for data. */
	uint64_t e = 0xffffull | (0xfull << 48);

	e |= (uint64_t)type << 40;
	e |= 1ull << 44;			/* S: code/data */
	e |= (uint64_t)dpl << 45;
	e |= 1ull << 47;			/* P */
	e |= code64 ? 1ull << 53 : 1ull << 54;	/* L or D/B */
	e |= 1ull << 55;			/* G */
	return e;
}

static void gdt_init(struct tvm *vm)
{
	uint64_t *gdt = (uint64_t *)(vm->mem + GDT_GPA);
	uint64_t tss = TSS_GPA;

	gdt[0] = 0;
	gdt[1] = gdt_entry(11, 0, true);	/* SEL_CODE0 */
	gdt[2] = gdt_entry(3, 0, false);	/* SEL_DATA0 */
	gdt[3] = gdt_entry(11, 3, true);	/* SEL_CODE3 */
	gdt[4] = gdt_entry(3, 3, false);	/* SEL_DATA3 */
	/* 64-bit busy TSS, 16 bytes. */
	gdt[5] = TSS_LIMIT | ((tss & 0xffffff) << 16) | (11ull << 40) |
		 _BITULL(47) | ((tss >> 24 & 0xff) << 56);
	gdt[6] = tss >> 32;
	/* TSS: no I/O bitmap (offset past the limit). */
	*(uint16_t *)(vm->mem + TSS_GPA + 0x66) = TSS_LIMIT + 1;
}

static void pt_init(struct tvm *vm)
{
	uint64_t *pml4 = (uint64_t *)(vm->mem + PML4_GPA);
	uint64_t *pdpt = (uint64_t *)(vm->mem + PDPT_GPA);
	uint64_t *pd = (uint64_t *)(vm->mem + PD_GPA);
	uint64_t us = vm->mode == TVM_USER ? PTE_US : 0;
	size_t i;

	pml4[0] = PDPT_GPA | PTE_P | PTE_RW | us;
	pdpt[0] = PD_GPA | PTE_P | PTE_RW | us;
	for (i = 0; i < vm->mem_size >> 21; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS | us;
}

int tvm_create(struct tvm *vm, enum tvm_mode mode, struct tvm_prog prog)
{
	return tvm_create_flags(vm, mode, prog, 0);
}

int tvm_create_flags(struct tvm *vm, enum tvm_mode mode, struct tvm_prog prog,
		     unsigned int flags)
{
	struct kvm_userspace_memory_region region;
	size_t len = prog.end - prog.start;
	const uint64_t *site;
	int err;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = -1;
	vm->fd = -1;
	vm->mode = mode;
	if (len > TVM_CODE_MAX) {
		tvm_diag("tinyvm: program %s too long (%zu bytes)", prog.name, len);
		return -EINVAL;
	}
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		err = -errno;
		tvm_diag("tinyvm: open /dev/kvm: %s", strerror(errno));
		return err;
	}
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		err = -errno;
		tvm_diag("tinyvm: KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	vm->mem_size = TVM_MEM_SIZE;
	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		err = -errno;
		vm->mem = NULL;
		tvm_diag("tinyvm: mmap guest memory: %s", strerror(errno));
		goto fail;
	}
	/* before any page is touched; EINVAL: a kernel without THP */
	if ((flags & TVM_F_SMALL_PAGES) &&
	    madvise(vm->mem, vm->mem_size, MADV_NOHUGEPAGE) < 0 && errno != EINVAL) {
		err = -errno;
		tvm_diag("tinyvm: madvise MADV_NOHUGEPAGE: %s", strerror(errno));
		goto fail;
	}
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->mem_size,
		.userspace_addr = (uintptr_t)vm->mem,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		err = -errno;
		tvm_diag("tinyvm: KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		goto fail;
	}
	/* Real mode on VMX without unrestricted guest needs it; SVM ignores it. */
	if (!tvm_cpu_is_amd())
		ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);

	memcpy(vm->mem + TVM_CODE_GPA, prog.start, len);
	if (!tvm_cpu_is_amd()) {
		/* VMMCALL (0f 01 d9) -> VMCALL (0f 01 c1) at every HCALL site. */
		for (site = __start_tvm_hcall_sites; site < __stop_tvm_hcall_sites; site++) {
			const uint8_t *p = (const uint8_t *)(uintptr_t)*site;

			if (p >= prog.start && p + 3 <= prog.end)
				vm->mem[TVM_CODE_GPA + (p - prog.start) + 2] = 0xc1;
		}
	}
	if (mode != TVM_REAL) {
		pt_init(vm);
		gdt_init(vm);
	}
	return 0;
fail:
	tvm_destroy(vm);
	return err;
}

void tvm_destroy(struct tvm *vm)
{
	int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpu[i].run)
			munmap(vm->vcpu[i].run, vm->vcpu[i].run_size);
		if (vm->vcpu[i].fd >= 0)
			close(vm->vcpu[i].fd);
		if (vm->vcpu[i].stats_fd >= 0)
			close(vm->vcpu[i].stats_fd);
	}
	vm->nr_vcpus = 0;
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	vm->fd = -1;
	vm->kvm_fd = -1;
	vm->mem = NULL;
}

/* KVM_GET_SUPPORTED_CPUID, fetched once per process. */
static struct kvm_cpuid2 *supported_cpuid(int kvm_fd)
{
	static struct kvm_cpuid2 *cpuid;
	int n = 100;

	while (!cpuid) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			cpuid = c;
			break;
		}
		free(c);
		if (errno != E2BIG) {
			tvm_diag("tinyvm: KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
			return NULL;
		}
		n *= 2;
	}
	return cpuid;
}

static int vcpu_set_cpuid(struct tvm_vcpu *v, const struct tvm_pv *pv)
{
	struct kvm_cpuid2 *sup = supported_cpuid(v->vm->kvm_fd), *c;
	size_t size;
	uint32_t i;
	int ret = 0;

	if (!sup)
		return -EIO;
	size = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	c = malloc(size);
	if (!c)
		return -ENOMEM;
	memcpy(c, sup, size);
	for (i = 0; i < c->nent; i++) {
		/* KVM_CPUID_FEATURES (0x40000001): the pv feature bits. */
		if (pv && pv->set && c->entries[i].function == 0x40000001)
			c->entries[i].eax = pv->features;
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0) {
		ret = -errno;
		tvm_diag("tinyvm: KVM_SET_CPUID2: %s", strerror(errno));
	}
	free(c);
	if (!ret && pv && pv->set && pv->enforce) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID,
			.args[0] = 1,
		};

		if (ioctl(v->fd, KVM_ENABLE_CAP, &cap) < 0) {
			ret = -errno;
			tvm_diag("tinyvm: KVM_CAP_ENFORCE_PV_FEATURE_CPUID: %s",
				 strerror(errno));
		}
	}
	return ret;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = sel & 3,
		.db = !code64,
		.s = 1,
		.l = code64,
		.g = 1,
	};
}

static int vcpu_init_state(struct tvm_vcpu *v)
{
	struct tvm *vm = v->vm;
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		tvm_diag("tinyvm: KVM_GET_SREGS: %s", strerror(errno));
		return -errno;
	}
	memset(&r, 0, sizeof(r));
	r.rflags = RFLAGS_FIXED;
	r.rip = TVM_CODE_GPA;
	/* by index, not vcpu_id: ids may be sparse (tvm_add_vcpu_id()) */
	r.rsp = TVM_STACK_GPA + (v - vm->vcpu + 1) * 0x1000;

	if (vm->mode == TVM_REAL) {
		/* Reset state is real mode; move CS from 0xf000:fff0 to 0:0. */
		s.cs.selector = 0;
		s.cs.base = 0;
		r.rsp = 0x7000 - (v - vm->vcpu) * 0x100;	/* SS.base 0, below the code */
	} else {
		bool user = vm->mode == TVM_USER;
		uint16_t cs = user ? SEL_CODE3 | 3 : SEL_CODE0;
		uint16_t ds = user ? SEL_DATA3 | 3 : SEL_DATA0;

		seg_flat(&s.cs, cs, 11, true);
		seg_flat(&s.ds, ds, 3, false);
		s.es = s.ds;
		s.fs = s.ds;
		s.gs = s.ds;
		s.ss = s.ds;
		s.tr = (struct kvm_segment){
			.base = TSS_GPA, .limit = TSS_LIMIT, .selector = SEL_TSS,
			.type = 11, .present = 1,
		};
		s.ldt = (struct kvm_segment){ .type = 2, .unusable = 1 };
		s.gdt.base = GDT_GPA;
		s.gdt.limit = GDT_LIMIT;
		s.idt.base = 0;		/* any exception: triple fault, SHUTDOWN */
		s.idt.limit = 0;
		s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		s.cr3 = PML4_GPA;
		s.cr4 = CR4_PAE;
		s.efer = EFER_LME | EFER_LMA;
		if (user)
			r.rflags |= RFLAGS_IOPL3;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0) {
		tvm_diag("tinyvm: KVM_SET_SREGS (%s): %s", tvm_mode_name(vm->mode),
			 strerror(errno));
		return -errno;
	}
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0) {
		tvm_diag("tinyvm: KVM_SET_REGS: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int add_vcpu(struct tvm *vm, int id, const struct tvm_pv *pv)
{
	struct tvm_vcpu *v;
	int size, err;

	if (vm->nr_vcpus >= TVM_MAX_VCPUS)
		return -ENOSPC;
	v = &vm->vcpu[vm->nr_vcpus];
	*v = (struct tvm_vcpu){ .vm = vm, .id = id, .fd = -1, .stats_fd = -1 };
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, v->id);
	if (v->fd < 0) {
		err = -errno;
		tvm_diag("tinyvm: KVM_CREATE_VCPU %d: %s", v->id, strerror(errno));
		return err;
	}
	vm->nr_vcpus++;		/* from here tvm_destroy() cleans up */
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0) {
		tvm_diag("tinyvm: KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -EIO;
	}
	v->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		err = -errno;
		v->run = NULL;
		tvm_diag("tinyvm: mmap kvm_run: %s", strerror(errno));
		return err;
	}
	v->run_size = size;
	err = vcpu_set_cpuid(v, pv);
	if (err)
		return err;
	return vcpu_init_state(v);
}

int tvm_add_vcpu_pv(struct tvm *vm, const struct tvm_pv *pv)
{
	return add_vcpu(vm, vm->nr_vcpus, pv);
}

int tvm_add_vcpu(struct tvm *vm)
{
	return add_vcpu(vm, vm->nr_vcpus, NULL);
}

int tvm_add_vcpu_id(struct tvm *vm, int id)
{
	return add_vcpu(vm, id, NULL);
}

int tvm_create_irqchip(struct tvm *vm)
{
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		tvm_diag("tinyvm: KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int tvm_set_runnable(struct tvm_vcpu *v)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0) {
		tvm_diag("tinyvm: KVM_SET_MP_STATE: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int tvm_vcpu_stat(struct tvm_vcpu *v, const char *name, uint64_t *val)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	size_t dsize;
	uint32_t i;
	char *descs;
	int ret = -ENOENT;

	if (v->stats_fd < 0) {
		v->stats_fd = ioctl(v->fd, KVM_GET_STATS_FD, NULL);
		if (v->stats_fd < 0) {
			v->stats_fd = -1;
			return -errno;
		}
	}
	if (pread(v->stats_fd, &h, sizeof(h), 0) != sizeof(h))
		return -EIO;
	dsize = sizeof(*d) + h.name_size;
	descs = calloc(h.num_desc, dsize);
	if (!descs)
		return -ENOMEM;
	if (pread(v->stats_fd, descs, h.num_desc * dsize, h.desc_offset) !=
	    (ssize_t)(h.num_desc * dsize)) {
		free(descs);
		return -EIO;
	}
	for (i = 0; i < h.num_desc; i++) {
		d = (struct kvm_stats_desc *)(descs + i * dsize);
		if (strncmp(d->name, name, h.name_size))
			continue;
		ret = pread(v->stats_fd, val, sizeof(*val), h.data_offset + d->offset) ==
		      sizeof(*val) ? 0 : -EIO;
		break;
	}
	free(descs);
	return ret;
}

int tvm_run(struct tvm_vcpu *v)
{
	int ret;

	do {
		ret = ioctl(v->fd, KVM_RUN, 0);
	} while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	if (ret < 0)
		return -errno;
	return v->run->exit_reason;
}

int tvm_get_regs(struct tvm_vcpu *v, struct kvm_regs *r)
{
	return ioctl(v->fd, KVM_GET_REGS, r) < 0 ? -errno : 0;
}

int tvm_set_regs(struct tvm_vcpu *v, const struct kvm_regs *r)
{
	return ioctl(v->fd, KVM_SET_REGS, r) < 0 ? -errno : 0;
}

bool tvm_exit_is_done(struct tvm_vcpu *v)
{
	struct kvm_run *run = v->run;

	return run->exit_reason == KVM_EXIT_IO &&
	       run->io.direction == KVM_EXIT_IO_OUT &&
	       run->io.port == TVM_PORT_DONE && run->io.size == 1;
}

const char *tvm_exit_str(struct tvm_vcpu *v, char *buf, size_t len)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf, len, "IO %s port 0x%x size %u", run->io.direction ?
			 "out" : "in", run->io.port, run->io.size);
		break;
	case KVM_EXIT_HLT:
		snprintf(buf, len, "HLT");
		break;
	case KVM_EXIT_SHUTDOWN:
		snprintf(buf, len, "SHUTDOWN (triple fault)");
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf, len, "MMIO at 0x%llx", (unsigned long long)run->mmio.phys_addr);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf, len, "FAIL_ENTRY reason 0x%llx", (unsigned long long)
			 run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf, len, "INTERNAL_ERROR suberror %u", run->internal.suberror);
		break;
	default:
		snprintf(buf, len, "exit reason %u", run->exit_reason);
	}
	return buf;
}

int tvm_hcall(struct tvm_vcpu *v, uint64_t nr, uint64_t a0, uint64_t a1,
	      uint64_t a2, uint64_t a3, struct kvm_regs *out)
{
	struct kvm_regs r;
	char buf[96];
	int ret;

	ret = tvm_get_regs(v, &r);
	if (ret)
		goto ioctl_err;
	r.rip = TVM_CODE_GPA;
	r.rax = nr;
	r.rbx = a0;
	r.rcx = a1;
	r.rdx = a2;
	r.rsi = a3;
	ret = tvm_set_regs(v, &r);
	if (ret)
		goto ioctl_err;
	ret = tvm_run(v);
	if (ret < 0) {
		tvm_diag("tinyvm: KVM_RUN (%s): %s", tvm_mode_name(v->vm->mode),
			 strerror(-ret));
		return -1;
	}
	if (!tvm_exit_is_done(v)) {
		tvm_get_regs(v, &r);
		tvm_diag("tinyvm: %s vCPU %d: unexpected exit %s at rip 0x%llx",
			 tvm_mode_name(v->vm->mode), v->id,
			 tvm_exit_str(v, buf, sizeof(buf)), (unsigned long long)r.rip);
		return -1;
	}
	ret = tvm_get_regs(v, out);
	if (ret)
		goto ioctl_err;
	return 0;
ioctl_err:
	tvm_diag("tinyvm: KVM_GET/SET_REGS: %s", strerror(-ret));
	return -1;
}

int tvm_write_file(const char *path, const char *val)
{
	int ret = write_file(path, val);

	if (ret)
		tvm_diag("write '%s' to %s: %s", val, path, strerror(-ret));
	return ret;
}

int tvm_trace_event_on(const char *event, const char **root)
{
	static const char *const roots[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing", NULL
	};
	char path[160];
	size_t i;
	int ret;

	for (i = 0; roots[i]; i++) {
		snprintf(path, sizeof(path), "%s/events/pvx/%s/enable", roots[i], event);
		if (access(path, W_OK))
			continue;
		*root = roots[i];
		ret = tvm_write_file(path, "1");
		if (ret)
			return ret;
		snprintf(path, sizeof(path), "%s/tracing_on", roots[i]);
		return tvm_write_file(path, "1");
	}
	return -ENOENT;
}

bool tvm_read_counters(const char *path, const char *const *names, int nr,
		       long long *vals)
{
	FILE *f = fopen(path, "r");
	char line[512], name[64];
	uint64_t seen = 0;
	long long val;
	int i;

	memset(vals, 0, nr * sizeof(*vals));
	if (!f || nr > 64) {
		if (f)
			fclose(f);
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", name, &val) != 2)
			continue;
		for (i = 0; i < nr; i++)
			if (!strcmp(name, names[i])) {
				vals[i] = val;
				seen |= 1ull << i;
			}
	}
	fclose(f);
	return seen == (nr == 64 ? ~0ull : (1ull << nr) - 1);
}

int tvm_newest_vm_dir(char *path, size_t len)
{
	unsigned long long id, best = 0;
	DIR *d = opendir("/sys/kernel/debug/pvx");
	struct dirent *de;
	int pid;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "vm%llu-%d", &id, &pid) == 2 &&
		    pid == getpid() && id > best)
			best = id;
	closedir(d);
	if (!best)
		return -1;
	snprintf(path, len, "/sys/kernel/debug/pvx/vm%llu-%d", best, (int)getpid());
	return 0;
}

void tvm_vm_sysfs_dir(const char *dir, char *path, size_t len)
{
	const char *name = strrchr(dir, '/');

	snprintf(path, len, "%s/%s", TVM_PVX_SYSFS_VMS, name ? name + 1 : dir);
}

void tvm_answers_add(struct tvm_answers *a, bool served, bool enosys)
{
	if (served) {
		if (a->enosys)
			a->back++;
		a->served++;
	} else if (enosys) {
		a->enosys++;
	} else {
		a->other++;
	}
}

bool tvm_answers_wait(struct tvm_answers *a, volatile unsigned long *c,
		      unsigned long min)
{
	int i;

	for (i = 0; i < 6000 && *c < min && !a->err; i++)
		usleep(10000);
	return *c >= min;
}
