// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_yield_test: runs inside an L3 guest with pvx_guest.ko and
 * pvx_spinlock.ko loaded; checks /sys/kernel/pvx/spinlock and
 * PVX_IOC_YIELD_TO on /dev/pvx.
 *
 *   --expect-host      the L2 host runs pvx_host: the mode must be
 *                      "pvx-yield" exactly when host_features has
 *                      PVX_F_YIELD, else "sched-yield" or "spin"
 *   --expect-fallback  stock KVM host: "sched-yield" or "spin"
 *   --expect-enotty    pvx_spinlock is not loaded: YIELD_TO is -ENOTTY
 *
 * TAP 13 on stdout; exit 0 all passed, 1 any failed, 4 all skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pvx.h"
#include "kselftest.h"
#include "sysfs_util.h"

#define SYSDIR	"/sys/kernel/pvx"
#define SPINDIR	SYSDIR "/spinlock"
#define DEVNODE	"/dev/pvx"

static int pvx_fd = -1;
static bool can_yield;		/* mode is not "spin" */
static char mode[32];

static pid_t gettid_(void)
{
	return syscall(SYS_gettid);
}

static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

/* YIELD_TO: its result (>= 0) or -errno */
static long yield_to(__u32 tid, __u32 flags)
{
	struct pvx_yield_to req = { .tid = tid, .flags = flags };
	int ret = ioctl(pvx_fd, PVX_IOC_YIELD_TO, &req);

	return ret < 0 ? -errno : ret;
}

static const char *res_str(long r)
{
	static char buf[64];

	if (r < 0)
		return strerror(-r);
	snprintf(buf, sizeof(buf), "result %ld", r);
	return buf;
}

static void expect(long got, long want, const char *desc)
{
	char w[64];

	snprintf(w, sizeof(w), "%s", res_str(want));
	ksft_test_result(got == want, "%s -> %s%s%s\n", desc, w,
			 got == want ? "" : " # got ",
			 got == want ? "" : res_str(got));
}

/* want when a directed yield is available, EOPNOTSUPP otherwise */
static long if_yield(long want)
{
	return can_yield ? want : -EOPNOTSUPP;
}

static void test_sysfs(bool expect_host)
{
	static const char *const counters[] = {
		"acquisitions", "slow_paths", "yields_issued", "yields_granted",
		"halts", "kicks",
	};
	unsigned long long features = 0;
	char buf[64], path[128];
	bool ok = true, want_pvx;
	unsigned int i;
	int ret;

	ret = read_file(SPINDIR "/mode", mode, sizeof(mode));
	if (!read_file(SYSDIR "/host_features", buf, sizeof(buf)))
		features = strtoull(buf, NULL, 0);
	want_pvx = expect_host && (features & PVX_F_YIELD);
	if (ret)
		ksft_test_result_fail("spinlock/mode # %s\n", strerror(-ret));
	else if (want_pvx)
		ksft_test_result(!strcmp(mode, "pvx-yield"),
				 "spinlock/mode is pvx-yield: host_features 0x%llx has PVX_F_YIELD # mode %s\n",
				 features, mode);
	else
		ksft_test_result(!strcmp(mode, "sched-yield") || !strcmp(mode, "spin"),
				 "spinlock/mode is sched-yield or spin: host_features 0x%llx, no PVX_F_YIELD # mode %s\n",
				 features, mode);
	can_yield = strcmp(mode, "spin") != 0;

	for (i = 0; i < ARRAY_SIZE(counters); i++) {
		snprintf(path, sizeof(path), SPINDIR "/%s", counters[i]);
		if (read_file(path, buf, sizeof(buf)))
			ok = false;
		else
			ksft_print_msg("spinlock/%s: %s\n", counters[i], buf);
	}
	ksft_test_result(ok, "spinlock counters readable\n");

	/* halt-and-kick needs a mode that yields (and PV_UNHALT) */
	ret = read_file(SPINDIR "/halting", buf, sizeof(buf));
	if (ret)
		ksft_test_result_fail("spinlock/halting # %s\n", strerror(-ret));
	else
		ksft_test_result(!strcmp(buf, "1") ? can_yield : !strcmp(buf, "0"),
				 "spinlock/halting is 0 or 1, and 0 in mode spin # %s in mode %s\n",
				 buf, mode);

	ret = read_file(SPINDIR "/spin_threshold", buf, sizeof(buf));
	ksft_test_result(!ret && atoi(buf) >= 64, "spinlock/spin_threshold %s\n",
			 ret ? strerror(-ret) : buf);
	expect(write_file(SPINDIR "/spin_threshold", "0"), -EINVAL,
	       "spin_threshold = 0");
	expect(write_file(SPINDIR "/spin_threshold", "1073741824"), -EINVAL,
	       "spin_threshold = 2^30");
	expect(write_file(SPINDIR "/spin_threshold", "many"), -EINVAL,
	       "spin_threshold = many");
	expect(write_file(SPINDIR "/spin_threshold", buf), 0,
	       "spin_threshold = its old value");
}

static int pipefd[2];

static void *sleeper(void *arg)
{
	char c;

	*(volatile pid_t *)arg = gettid_();
	if (read(pipefd[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

static volatile int spinner_stop;

static void *spinner(void *arg)
{
	*(volatile pid_t *)arg = gettid_();
	while (!spinner_stop)
		;
	return NULL;
}

/* state letter of a thread of this process from /proc */
static char thread_state(pid_t tid)
{
	char path[64], buf[256], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if (read_file(path, buf, sizeof(buf)))
		return '?';
	p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : '?';
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void test_threads(void)
{
	volatile pid_t tid = 0;
	pthread_t th;
	long r = -EAGAIN;
	int i, ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	/* a thread blocked in read(): not on a CPU */
	if (pipe(pipefd) || pthread_create(&th, NULL, sleeper, (void *)&tid)) {
		ksft_test_result_skip("sleeping thread # cannot create it\n");
	} else {
		for (i = 0; i < 2000 && (!tid || thread_state(tid) != 'S'); i++)
			usleep(1000);
		/*
		 * State S is set before the switch away ends: a vCPU the host
		 * preempts in between still has the thread on its CPU, and the
		 * yield to it is rightly served. Once off its CPU, EAGAIN.
		 */
		for (i = 0; i < 100; i++) {
			r = yield_to(tid, 0);
			if (r == if_yield(-EAGAIN))
				break;
			usleep(1000);
		}
		expect(r, if_yield(-EAGAIN), "tid of a thread blocked in read()");
		if (write(pipefd[1], "x", 1) != 1)
			ksft_print_msg("cannot wake the sleeper\n");
		pthread_join(th, NULL);
	}

	/* a thread spinning on another CPU: on a CPU, any PVX_YIELD_* */
	if (ncpu < 2) {
		ksft_test_result_skip("tid of a thread running on another CPU # 1 CPU\n");
		return;
	}
	tid = 0;
	spinner_stop = 0;
	pin_self(0);
	if (pthread_create(&th, NULL, spinner, (void *)&tid)) {
		ksft_test_result_skip("tid of a thread running on another CPU # cannot create it\n");
		return;
	}
	while (!tid)
		usleep(100);
	{
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(1, &set);
		sched_setaffinity(tid, sizeof(set), &set);
	}
	for (i = 0; i < 1000; i++) {
		r = yield_to(tid, 0);
		if (r != -EAGAIN)
			break;
		usleep(1000);
	}
	spinner_stop = 1;
	pthread_join(th, NULL);
	if (can_yield)
		ksft_test_result(r == PVX_YIELD_DONE || r == PVX_YIELD_NOT_DONE ||
				 r == PVX_YIELD_TARGET_RUNNING,
				 "tid of a thread running on another CPU -> a PVX_YIELD_* result # %s after %d tries\n",
				 res_str(r), i + 1);
	else
		expect(r, -EOPNOTSUPP, "tid of a thread running on another CPU");
}

/* a pid namespace below ours: our tid is not visible there */
static void test_pidns(void)
{
	pid_t me = gettid_(), child;
	int status;

	child = fork();
	if (child == 0) {
		pid_t gc;

		if (unshare(CLONE_NEWPID))
			_exit(100);
		gc = fork();
		if (gc == 0) {
			/* pid 1 of the new namespace */
			long a = yield_to(me, 0), b = yield_to(gettid_(), 0);

			_exit(a == if_yield(-ESRCH) &&
			      b == if_yield(PVX_YIELD_TARGET_RUNNING) ? 0 : 1);
		}
		if (gc < 0 || waitpid(gc, &status, 0) != gc)
			_exit(101);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 102);
	}
	if (child < 0 || waitpid(child, &status, 0) != child) {
		ksft_test_result_fail("other pid namespace # fork failed\n");
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 100)
		ksft_test_result_skip("other pid namespace # unshare(CLONE_NEWPID) failed\n");
	else
		ksft_test_result(WIFEXITED(status) && !WEXITSTATUS(status),
				 "from a child pid namespace: our tid -> %s, its own tid -> %s # status 0x%x\n",
				 res_str(if_yield(-ESRCH)),
				 res_str(if_yield(PVX_YIELD_TARGET_RUNNING)), status);
}

/*
 * Another user's thread: a directed yield boosts its vCPU, which takes
 * CAP_SYS_NICE, as renicing it would. As nobody: init (root) -> EPERM,
 * its own tid still works.
 */
static void test_other_user(void)
{
	pid_t child;
	int status;

	child = fork();
	if (child == 0) {
		long a, b;

		if (setgid(65534) || setuid(65534))
			_exit(100);
		close(pvx_fd);
		pvx_fd = open(DEVNODE, O_RDONLY);
		if (pvx_fd < 0)
			_exit(101);
		a = yield_to(1, 0);
		b = yield_to(gettid_(), 0);
		_exit(a == if_yield(-EPERM) &&
		      b == if_yield(PVX_YIELD_TARGET_RUNNING) ? 0 : 1);
	}
	if (child < 0 || waitpid(child, &status, 0) != child) {
		ksft_test_result_fail("as another user # fork failed\n");
		return;
	}
	ksft_test_result(WIFEXITED(status) && !WEXITSTATUS(status),
			 "as uid 65534: tid 1 (root's) -> %s, its own tid -> %s # status 0x%x\n",
			 res_str(if_yield(-EPERM)),
			 res_str(if_yield(PVX_YIELD_TARGET_RUNNING)), status);
}

static void test_ioctl(void)
{
	struct pvx_yield_to *ro;
	pid_t gone;
	char *map;
	long page = sysconf(_SC_PAGESIZE);

	expect(yield_to(gettid_(), 1), -EINVAL, "flags 1");
	expect(yield_to(gettid_(), 0x80000000u), -EINVAL, "flags 0x80000000");
	expect(ioctl(pvx_fd, PVX_IOC_YIELD_TO, NULL) < 0 ? -errno : 0, -EFAULT,
	       "NULL pointer");
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mprotect(map + page, page, PROT_NONE)) {
		ksft_test_result_skip("struct running into an unmapped page # mmap\n");
	} else {
		/* tid readable, flags not */
		ro = (struct pvx_yield_to *)(map + page - 4);
		ro->tid = gettid_();
		expect(ioctl(pvx_fd, PVX_IOC_YIELD_TO, ro) < 0 ? -errno : 0,
		       -EFAULT, "struct running into an unmapped page");
	}
	if (map != MAP_FAILED)
		munmap(map, 2 * page);

	expect(yield_to(gettid_(), 0), if_yield(PVX_YIELD_TARGET_RUNNING),
	       "own tid");
	expect(yield_to(0, 0), if_yield(-ESRCH), "tid 0");
	expect(yield_to(0x7fffffff, 0), if_yield(-ESRCH), "tid 0x7fffffff");
	expect(yield_to(0xffffffffu, 0), if_yield(-ESRCH), "tid 0xffffffff");
	gone = fork();
	if (gone == 0)
		_exit(0);
	if (gone < 0 || waitpid(gone, NULL, 0) != gone)
		ksft_test_result_skip("tid of an exited process # fork failed\n");
	else
		expect(yield_to(gone, 0), if_yield(-ESRCH),
		       "tid of an exited and reaped process");
	expect(yield_to(1, 0), if_yield(-EAGAIN), "tid 1 (init, waiting for us)");
	test_threads();
	test_pidns();
	test_other_user();
}

int main(int argc, char **argv)
{
	bool expect_host = false, enotty = false;
	int fails, nr;

	/* run_kselftest.sh runs it without arguments: a skip, not a failure */
	if (argc == 1)
		ksft_exit_skip("no mode: the lab's init.sh gives %s\n",
			       "--expect-host, --expect-fallback or --expect-enotty");

	if (argc == 2 && !strcmp(argv[1], "--expect-host")) {
		expect_host = true;
	} else if (argc == 2 && !strcmp(argv[1], "--expect-enotty")) {
		enotty = true;
	} else if (argc != 2 || strcmp(argv[1], "--expect-fallback")) {
		fprintf(stderr, "usage: %s --expect-host|--expect-fallback|--expect-enotty\n",
			argv[0]);
		return KSFT_FAIL;
	}

	ksft_print_header();
	/* sysfs 8, ioctl 10, threads 2, pidns 1, other user 1 */
	nr = enotty ? 2 : 22;
	ksft_set_plan(nr);
	pvx_fd = open(DEVNODE, O_RDONLY);
	if (pvx_fd < 0)
		ksft_exit_fail_msg("cannot open " DEVNODE ": %s\n", strerror(errno));

	if (enotty) {
		struct pvx_info info = { .size = sizeof(info) };

		expect(yield_to(gettid_(), 0), -ENOTTY,
		       "YIELD_TO without pvx_spinlock loaded");
		expect(ioctl(pvx_fd, PVX_IOC_GET_INFO, &info) < 0 ? -errno : 0, 0,
		       "GET_INFO still works");
	} else {
		test_sysfs(expect_host);
		test_ioctl();
	}
	close(pvx_fd);

	ksft_print_cnts();
	fails = ksft_get_fail_cnt() + ksft_get_error_cnt();
	if (fails || ksft_test_num() != (unsigned int)nr)
		return KSFT_FAIL;
	if (!ksft_get_pass_cnt() && ksft_get_xskip_cnt())
		return KSFT_SKIP;
	return KSFT_PASS;
}
