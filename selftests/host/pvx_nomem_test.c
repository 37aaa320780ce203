// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_nomem_test: a VM whose pvx state cannot be allocated (issue 26,
 * item 6). Run as root on the KVM host (L2 in the lab) without pvx_host
 * loaded; it loads and removes pvx_host itself:
 *
 *   pvx_nomem_test [HARNESS OPTIONS] [PVX_HOST_KO]
 *
 * PVX_HOST_KO (a path ending in .ko) is loaded with insmod; without it,
 * the installed module with modprobe (under run_kselftest.sh,
 * KSELFTEST_PVX_NOMEM_TEST_ARGS passes a path).
 *
 * Each test (kselftest_harness.h: its own process, its own timeout)
 * makes a tiny VM before pvx_host exists, so that pvx_host keeps no
 * state for it. The fixtures are pvx_host's states around that VM:
 *   absent   pvx_host not loaded: PROBE is stock KVM's -KVM_ENOSYS, and
 *            pvx_host loads with new_vms=none after the VM and unloads;
 *   cut_off  PROBE was -KVM_ENOSYS before pvx_host, which is then loaded
 *            with new_vms=none, and the test process is put into a
 *            cgroup v2 memory group whose memory.max is 0, where every
 *            allocation charged to it fails (pvx's per-VM state is
 *            __GFP_ACCOUNT). The process cannot be OOM-killed
 *            (oom_score_adj -1000, everything it needs already faulted
 *            in and locked), so the kernel's memcg OOM finds no victim
 *            and the allocation returns NULL. Its teardown gives the
 *            memory back and removes pvx_host (a failure fails the test).
 * With memory cut off:
 *   - new_vms=none: PROBE gets stock KVM's -KVM_ENOSYS, not
 *     -PVX_ENOMEM: a VM the admin keeps off never sees pvx;
 *   - new_vms=all: PROBE gets -PVX_ENOMEM, and pvx_host's enomem
 *     counter goes up by one;
 *   - memory.max back to max: PROBE answers 0, the state exists now.
 * Nothing is printed while memory is cut off: each test records what it
 * saw, gives the memory back, then checks. The kernel prints a memcg OOM
 * report (with a call trace) for each failed allocation: the fixture oom
 * checks that it did (the allocation was cut off), and the dmesg checks
 * (harness.h's fixture dmesg, run-l2.sh's whole run) leave these reports
 * out (module_util.h).
 *
 * Output is KTAP, one line per test; exit status 0 pass, 1 fail.
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
#include "tinyvm.h"

#include "kselftest_harness.h"
#include "harness.h"

#define CG_NAME		"pvx-nomem-test"
#define NEW_VMS		"/sys/module/pvx_host/parameters/new_vms"
#define COUNTERS	"/sys/kernel/debug/pvx/counters"
#define TIMEOUT_S	120

/* the module to insmod, NULL: modprobe the installed one (main()) */
static const char *pvx_host_ko;

/* Run @argv, wait for it; its exit status, or -1. */
static int run(const char *const argv[])
{
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, (char *const *)argv, environ))
		return -1;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static bool pvx_host_loaded(void)
{
	return !access("/sys/module/pvx_host", F_OK);
}

/* pvx_host with new_vms=none: the exit status of insmod or modprobe. */
static int pvx_host_load(void)
{
	const char *const insmod[] = { "insmod", pvx_host_ko, "new_vms=none", NULL };
	static const char *const modprobe[] = { "modprobe", "pvx_host", "new_vms=none", NULL };

	return run(pvx_host_ko ? insmod : modprobe);
}

static int pvx_host_unload(void)
{
	static const char *const rmmod[] = { "rmmod", "pvx_host", NULL };

	return run(rmmod);
}

/*
 * What every test needs, or a skip with the reason: root, /dev/kvm,
 * pvx_host not loaded (each test loads it itself, after its VM) and,
 * when @load, a module to load.
 */
static bool nomem_ready(struct __test_metadata *_metadata, bool load)
{
	static const char *const installed[] = { "modprobe", "-n", "-q", "pvx_host", NULL };
	const char *why;

	if (geteuid())
		SKIP(return false, "needs root (insmod, cgroup v2, debugfs)");
	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(return false, "no /dev/kvm: not a KVM host");
	/* each test loads it after its VM */
	why = module_ensure_absent("pvx_host");
	if (why)
		SKIP(return false, "%s", why);
	if (load && !pvx_host_ko && run(installed))
		SKIP(return false, "no PVX_HOST_KO argument and no installed pvx_host module");
	return true;
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
static __u64 probe(struct tvm *vm)
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
	r->rbx = 0;
	r->rcx = 0;
	r->rdx = 0;
	r->rsi = 0;
	v->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	if (tvm_run(v) < 0 || !tvm_exit_is_done(v))
		return ~0ull;
	return r->rax;
}

/* pvx_host's enomem counter, or -1 */
static long long enomem_count(void)
{
	static const char *const name[] = { "enomem" };
	long long v;

	return tvm_read_counters(COUNTERS, name, 1, &v) ? v : -1;
}

static int vm_create(struct tvm *vm)
{
	if (tvm_create(vm, TVM_LONG, TVM_PROG(tvm_g64_hcall)) < 0)
		return -1;
	if (tvm_add_vcpu(vm) < 0) {
		tvm_destroy(vm);
		return -1;
	}
	return 0;
}

/* ---- absent: pvx_host not loaded ------------------------------------- */

FIXTURE(absent) {
	struct tvm vm;
	bool vm_made, loaded;
};

FIXTURE_SETUP(absent)
{
	if (!nomem_ready(_metadata, false))
		return;
	ASSERT_EQ(0, vm_create(&self->vm)) TH_LOG("VM set-up");
	self->vm_made = true;
}

FIXTURE_TEARDOWN(absent)
{
	if (self->vm_made)
		tvm_destroy(&self->vm);
	if (self->loaded && pvx_host_loaded())
		EXPECT_EQ(0, pvx_host_unload()) TH_LOG("rmmod pvx_host");
}

TEST_F_TIMEOUT(absent, probe_is_stock_enosys, TIMEOUT_S)
{
	EXPECT_EQ(TVM_NEG64(PVX_ENOSYS), probe(&self->vm));
}

TEST_F_TIMEOUT(absent, load_after_the_vm_and_unload, TIMEOUT_S)
{
	if (!nomem_ready(_metadata, true))
		return;
	ASSERT_EQ(0, pvx_host_load())
		TH_LOG("insmod pvx_host.ko new_vms=none after the VM was made");
	self->loaded = true;
	EXPECT_EQ(0, pvx_host_unload()) TH_LOG("rmmod pvx_host");
	self->loaded = pvx_host_loaded();
}

/* ---- cut_off: pvx_host loaded, no memory for this process ------------- */

struct nomem {
	struct tvm vm;
	struct cg2 cg;
	int max_fd;		/* the group's memory.max */
	int new_vms_fd;		/* pvx_host's new_vms */
	int oom_fd;		/* /proc/self/oom_score_adj */
	long long enomem0;	/* the enomem counter before the cut */
	bool vm_made, loaded, locked, cut;
};

FIXTURE(cut_off) {
	struct nomem nm;
};

/* Memory back, this process out of the group: idempotent. */
static void memory_back(struct nomem *nm)
{
	if (!nm->cut)
		return;
	fd_write(nm->max_fd, "max");
	cg2_enter(&nm->cg, nm->cg.root);
	fd_write(nm->oom_fd, "0");
	nm->cut = false;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Undo what the set-up did, as far as it got; 0 or rmmod's exit status. */
static int nomem_undo(struct nomem *nm)
{
	int rc = 0;

	memory_back(nm);
	if (nm->locked)
		munlockall();
	nm->locked = false;
	if (nm->vm_made)
		tvm_destroy(&nm->vm);
	nm->vm_made = false;
	if (nm->loaded && pvx_host_loaded())
		rc = pvx_host_unload();
	nm->loaded = false;
	cg2_destroy(&nm->cg);
	close_fd(&nm->max_fd);
	close_fd(&nm->new_vms_fd);
	close_fd(&nm->oom_fd);
	return rc;
}

/* The files of the cut-off phase opened, everything locked: 0 or -errno. */
static int nomem_prepare(struct nomem *nm)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/memory.max", nm->cg.dir);
	nm->max_fd = open(path, O_WRONLY);
	if (nm->max_fd < 0)
		return -errno;
	nm->new_vms_fd = open(NEW_VMS, O_WRONLY);
	if (nm->new_vms_fd < 0)
		return -errno;
	nm->oom_fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (nm->oom_fd < 0)
		return -errno;
	if (mlockall(MCL_CURRENT))
		return -errno;
	nm->locked = true;
	return 0;
}

/* Unkillable, memory.max 0, and into the group: 0 or -errno. */
static int nomem_cut(struct nomem *nm)
{
	int err = fd_write(nm->oom_fd, "-1000");

	nm->cut = true;
	if (!err)
		err = fd_write(nm->max_fd, "0");
	if (!err)
		err = cg2_enter(&nm->cg, nm->cg.dir);
	return err;
}

FIXTURE_SETUP(cut_off)
{
	struct nomem *nm = &self->nm;
	int err;

	nm->max_fd = -1;
	nm->new_vms_fd = -1;
	nm->oom_fd = -1;
	if (!nomem_ready(_metadata, true))
		return;
	err = cg2_create(&nm->cg, CG_NAME, "+memory");
	ASSERT_EQ(0, err) {
		nomem_undo(nm);
		TH_LOG("cgroup v2 group with the memory controller: %s", strerror(-err));
	}
	ASSERT_EQ(0, vm_create(&nm->vm)) {
		nomem_undo(nm);
		TH_LOG("VM set-up");
	}
	nm->vm_made = true;
	ASSERT_EQ(TVM_NEG64(PVX_ENOSYS), probe(&nm->vm)) {
		nomem_undo(nm);
		TH_LOG("before pvx_host: PROBE -KVM_ENOSYS");
	}
	err = pvx_host_load();
	nm->loaded = pvx_host_loaded();
	ASSERT_EQ(0, err) {
		nomem_undo(nm);
		TH_LOG("insmod pvx_host.ko new_vms=none after the VM was made");
	}
	nm->enomem0 = enomem_count();
	/* nothing may fault in or allocate for this process from here on */
	err = nomem_prepare(nm);
	ASSERT_EQ(0, err) {
		nomem_undo(nm);
		TH_LOG("memory.max, new_vms, oom_score_adj and mlockall: %s", strerror(-err));
	}
	err = nomem_cut(nm);
	ASSERT_EQ(0, err) {
		nomem_undo(nm);
		TH_LOG("oom_score_adj -1000, memory.max 0 and into %s: %s",
		       nm->cg.dir, strerror(-err));
	}
}

FIXTURE_TEARDOWN(cut_off)
{
	EXPECT_EQ(0, nomem_undo(&self->nm)) TH_LOG("rmmod pvx_host");
}

TEST_F_TIMEOUT(cut_off, new_vms_none_probe_is_stock_enosys, TIMEOUT_S)
{
	__u64 off = probe(&self->nm.vm);

	memory_back(&self->nm);
	EXPECT_EQ(TVM_NEG64(PVX_ENOSYS), off)
		TH_LOG("new_vms=none, no state, no memory: stock -KVM_ENOSYS, not -PVX_ENOMEM");
}

TEST_F_TIMEOUT(cut_off, new_vms_all_probe_enomem, TIMEOUT_S)
{
	struct nomem *nm = &self->nm;
	int err = fd_write(nm->new_vms_fd, "all");
	__u64 on = err ? ~0ull : probe(&nm->vm);

	memory_back(nm);
	ASSERT_EQ(0, err) TH_LOG("new_vms=all: %s", strerror(-err));
	EXPECT_EQ(TVM_NEG64(PVX_ENOMEM), on)
		TH_LOG("new_vms=all, no state, no memory: PROBE -PVX_ENOMEM");
}

TEST_F_TIMEOUT(cut_off, enomem_counted_once, TIMEOUT_S)
{
	struct nomem *nm = &self->nm;
	int err = fd_write(nm->new_vms_fd, "all");

	if (!err)
		probe(&nm->vm);
	memory_back(nm);
	ASSERT_EQ(0, err) TH_LOG("new_vms=all: %s", strerror(-err));
	ASSERT_LE(0, nm->enomem0) TH_LOG("no enomem counter in %s", COUNTERS);
	EXPECT_EQ(nm->enomem0 + 1, enomem_count())
		TH_LOG("pvx_host's enomem counter goes up by one");
}

TEST_F_TIMEOUT(cut_off, memory_back_probe_answers, TIMEOUT_S)
{
	struct nomem *nm = &self->nm;
	int err = fd_write(nm->new_vms_fd, "all");
	__u64 on = err ? ~0ull : probe(&nm->vm), back;

	fd_write(nm->max_fd, "max");
	back = probe(&nm->vm);
	memory_back(nm);
	ASSERT_EQ(0, err) TH_LOG("new_vms=all: %s", strerror(-err));
	EXPECT_EQ(TVM_NEG64(PVX_ENOMEM), on) TH_LOG("no memory: PROBE -PVX_ENOMEM");
	EXPECT_EQ(0ull, back) TH_LOG("memory.max back to max: PROBE answers 0");
}

/* after cut_off: the kernel reported its OOMs */
PVX_FIXTURE(oom, pvx_no_state);

PVX_TEST(oom, memcg_reported_no_victim)
{
	int n = dmesg_count_since(pvx_dmesg_from, "pvx_nomem_test invoked oom-killer");

	/* none: the allocation was not cut off */
	pvx_check(n > 0, "the kernel reported the memcg OOM of %s's group (no victim): %d reports",
		  "pvx_nomem_test", n);
}

int main(int argc, char **argv)
{
	size_t len;
	int i;

	/* the one argument that is no option of the harness's */
	for (i = 1; i < argc; i++) {
		len = strlen(argv[i]);
		if (len > 3 && !strcmp(argv[i] + len - 3, ".ko"))
			pvx_host_ko = argv[i];
	}
	pvx_harness_order(NULL);
	return test_harness_run(argc, argv);
}
