// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_nomem_test: a VM whose pvx state cannot be allocated (issue 26,
 * item 6). Run on the KVM host (L2 in the lab) without pvx_host loaded:
 *
 *   pvx_nomem_test KO
 *
 * It makes a tiny VM before pvx_host exists, so that pvx_host keeps no
 * state for it, loads KO with new_vms=none, and then puts itself into a
 * cgroup v2 memory group whose memory.max is 0, where every allocation
 * charged to it fails (pvx's per-VM state is __GFP_ACCOUNT). This process
 * cannot be OOM-killed (oom_score_adj -1000, everything it needs already
 * faulted in and locked), so the kernel's memcg OOM finds no victim and
 * the allocation returns NULL. Then:
 *   - new_vms=none: PROBE gets stock KVM's -KVM_ENOSYS, not
 *     -PVX_ENOMEM: a VM the admin keeps off never sees pvx;
 *   - new_vms=all: PROBE gets -PVX_ENOMEM and pvx_host's enomem counter
 *     goes up by one;
 *   - memory.max back to max: PROBE answers 0, the state exists now.
 * Finally it removes pvx_host again. The kernel prints a memcg OOM report
 * (with a call trace) for each failed allocation: run-l2.sh leaves
 * reports of this group out of its dmesg checks.
 *
 * Output is TAP 13; exit status 0 pass, 1 fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pvx.h"
#include "sysfs_util.h"
#include "tap.h"
#include "tinyvm.h"

#define CG_NAME		"pvx-nomem-test"
#define NEW_VMS		"/sys/module/pvx_host/parameters/new_vms"
#define COUNTERS	"/sys/kernel/debug/pvx/counters"

#define X(v) ((unsigned long long)(v))

extern char **environ;

/* Run @argv, wait for it; its exit status, or -1. */
static int run(char *const argv[])
{
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ))
		return -1;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Write @val into an fd opened before memory was cut off. */
static int fd_write(int fd, const char *val)
{
	ssize_t n = pwrite(fd, val, strlen(val), 0);

	return n == (ssize_t)strlen(val) ? 0 : -errno;
}

/*
 * PROBE; the registers go through the run structure (KVM_CAP_SYNC_REGS),
 * not KVM_SET_REGS and KVM_GET_REGS, whose buffer 6.1's kvm_vcpu_ioctl()
 * allocates (GFP_KERNEL_ACCOUNT): the cut-off group refuses it. The first
 * call, before the cut, has KVM store the registers there at each exit.
 */
static uint64_t probe(struct tvm *vm)
{
	struct tvm_vcpu *v = &vm->vcpu[0];
	struct kvm_regs *r = &v->run->s.regs.regs;
	struct kvm_regs out;

	if (!(v->run->kvm_valid_regs & KVM_SYNC_X86_REGS)) {
		v->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
		if (tvm_hcall(v, PVX_HC_PROBE, 0, 0, 0, 0, &out) < 0)
			return ~0ull;
		return out.rax;
	}
	r->rip = TVM_CODE_GPA;
	r->rax = PVX_HC_PROBE;
	r->rbx = r->rcx = r->rdx = r->rsi = 0;
	v->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	if (tvm_run(v) < 0 || !tvm_exit_is_done(v))
		return ~0ull;
	return r->rax;
}

struct nomem {
	struct cg2 cg;
	int max_fd;		/* the group's memory.max */
	int new_vms_fd;		/* pvx_host's new_vms */
	int oom_fd;		/* /proc/self/oom_score_adj */
};

/* Everything the cut-off phase writes is opened here, beforehand. */
static bool nomem_open(struct nomem *nm)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/memory.max", nm->cg.dir);
	nm->max_fd = open(path, O_WRONLY);
	nm->new_vms_fd = open(NEW_VMS, O_WRONLY);
	nm->oom_fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (nm->max_fd < 0 || nm->new_vms_fd < 0 || nm->oom_fd < 0) {
		tvm_diag("open memory.max, new_vms or oom_score_adj: %s", strerror(errno));
		return false;
	}
	return true;
}

/* The PROBEs with memory cut off and after it is back. */
static long long enomem_count(void)
{
	static const char *const name[] = { "enomem" };
	long long v;

	return tvm_read_counters(COUNTERS, name, 1, &v) ? v : -1;
}

static void nomem_probes(struct tvm *vm, struct nomem *nm)
{
	long long enomem0 = enomem_count(), enomem1;
	uint64_t off, on, back;
	int err;

	err = fd_write(nm->oom_fd, "-1000");
	if (!err)
		err = fd_write(nm->max_fd, "0");
	if (!err)
		err = cg2_enter(&nm->cg, nm->cg.dir);
	if (err) {
		tap_result(false, "nomem: memory.max 0, oom_score_adj -1000 and into %s: %s",
			   nm->cg.dir, strerror(-err));
		return;
	}
	off = probe(vm);
	err = fd_write(nm->new_vms_fd, "all");
	on = err ? ~0ull : probe(vm);
	fd_write(nm->max_fd, "max");
	back = probe(vm);
	cg2_enter(&nm->cg, nm->cg.root);
	fd_write(nm->oom_fd, "0");
	enomem1 = enomem_count();

	tap_result(off == TVM_NEG64(PVX_ENOSYS),
		   "nomem: new_vms=none, no state, no memory: PROBE is stock -KVM_ENOSYS, not -PVX_ENOMEM (rax 0x%llx)",
		   X(off));
	tap_result(!err && on == TVM_NEG64(PVX_ENOMEM),
		   "nomem: new_vms=all, no state, no memory: PROBE -PVX_ENOMEM (rax 0x%llx%s)",
		   X(on), err ? ", new_vms not written" : "");
	tap_result(enomem1 == enomem0 + 1,
		   "nomem: pvx_host's enomem counter went up by one (%lld -> %lld)", enomem0, enomem1);
	tap_result(back == 0, "nomem: memory.max back to max: PROBE answers 0 (rax 0x%llx)", X(back));
}

int main(int argc, char **argv)
{
	char *insmod[] = { "insmod", argc > 1 ? argv[1] : "", "new_vms=none", NULL };
	char *rmmod[] = { "rmmod", "pvx_host", NULL };
	struct nomem nm = { .max_fd = -1, .new_vms_fd = -1, .oom_fd = -1 };
	struct tvm vm;
	uint64_t rax;
	int err;

	tap_begin();
	if (argc != 2 || access(argv[1], R_OK)) {
		tap_result(false, "nomem: usage: pvx_nomem_test PVX_HOST_KO");
		return tap_end();
	}
	err = cg2_create(&nm.cg, CG_NAME, "+memory");
	if (err) {
		tap_result(false, "nomem: cgroup v2 group with the memory controller: %s",
			   strerror(-err));
		return tap_end();
	}
	if (tvm_create(&vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)) < 0 || tvm_add_vcpu(&vm) < 0) {
		tap_result(false, "nomem: VM set-up");
		cg2_destroy(&nm.cg);
		return tap_end();
	}
	rax = probe(&vm);
	tap_result(rax == TVM_NEG64(PVX_ENOSYS),
		   "nomem: before pvx_host: PROBE -KVM_ENOSYS (rax 0x%llx)", X(rax));
	err = run(insmod);
	tap_result(err == 0, "nomem: insmod pvx_host.ko new_vms=none after the VM was made (exit %d)",
		   err);
	/* nothing may fault in or allocate for this process from here on */
	if (!err && mlockall(MCL_CURRENT) == 0 && nomem_open(&nm))
		nomem_probes(&vm, &nm);
	else if (!err)
		tap_result(false, "nomem: mlockall and the files of the cut-off phase: %s",
			   strerror(errno));
	munlockall();
	tvm_destroy(&vm);
	if (!err) {
		err = run(rmmod);
		tap_result(err == 0, "nomem: rmmod pvx_host (exit %d)", err);
	}
	cg2_destroy(&nm.cg);
	return tap_end();
}
