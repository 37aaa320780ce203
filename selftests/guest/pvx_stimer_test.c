// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_stimer_test: runs inside an L3 guest with pvx_guest.ko loaded;
 * checks /sys/kernel/pvx/stimer, PVX_IOC_STEAL_QUERY and the
 * steal-corrected timer fds of PVX_IOC_STIMER_CREATE, and the life of
 * pvx_stimer.ko: its loads with parameters, its unloads.
 *
 *   --source auto   pvx_stimer loaded without steal_source: the source
 *                   must be kvm-steal-time exactly when CPUID announces
 *                   KVM_FEATURE_STEAL_TIME, else none
 *   --source none|kcpustat|kvm-steal-time   loaded with that steal_source
 *   --source ... --steal-time on|off   first checks what pvx_stimer said
 *                   at its load just before (init.sh's insmod, without
 *                   parameters): one dmesg line names the source sysfs
 *                   names, which is kvm-steal-time when the host offers
 *                   KVM steal time (on) and none, on wall time, when it
 *                   does not (off: pvx_steal_time=off on L3's command line)
 *   --module PATH --steal-time on|off   loads and unloads pvx_stimer
 *                   itself (PATH is its pvx_stimer.ko): starts with it
 *                   loaded, ends with it unloaded. In order: rmmod refused
 *                   while a child process holds an armed periodic timer
 *                   fd, done once that child exited; PATH loaded with
 *                   steal_source=none, the --source none tests in a child
 *                   process, rmmod; the load parameters: steal_source=
 *                   kcpustat taken, steal_source=bogus, cap_factor=0 and
 *                   65 refused, steal_source=kvm-steal-time refused
 *                   without steal time (off) and taken with it (on),
 *                   nothing left after them. Prints init.sh's step lines
 *                   "pvx_stimer_test steal_source=none" and "pvx_stimer
 *                   parameters" on /dev/console as it comes to them
 *   --torture KO ROUNDS  (pvx_stimer loaded) the test module KO,
 *                   pvx_stimer_torture.ko, loaded with race_rounds=ROUNDS
 *                   runs the kernel API tests (its results relayed); with
 *                   it loaded a periodic timer fd whose expiry comes late
 *                   must count the periods that ended meanwhile, as a
 *                   timerfd does; pvx_stimer's rmmod is refused while the
 *                   torture uses it; after the torture's rmmod every timer
 *                   started has fired or was cancelled
 *   --load SECONDS  a load for pvxtop --advise (init.sh): on every CPU a
 *                   thread busy-polls a 20 ms periodic timer fd with the
 *                   default cap (cap_factor) for that long; prints the
 *                   expirations it read
 *
 * Steal comes from the guest itself: L3's vCPU threads share L2's one CPU,
 * so a busy loop on every L3 CPU makes each vCPU wait for the other (vCPU
 * overcommit); the lab's pvx_steal=PCT boots add more from L2. With a
 * steal source the timer must then fire later than a timerfd, on
 * effective time, and an explicit cap equal to the request must fire
 * first; without one (none) it must behave as a wall-clock timer.
 * Tests never check a wall-clock number against a constant, only against
 * the request, the steal measured meanwhile and a timerfd in the same run.
 *
 * TAP 13 on stdout; exit 0 all passed, 1 any failed, 4 all skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"
#include "kselftest.h"
#include "module_util.h"
#include "l3_tap.h"

#define SYSDIR		"/sys/kernel/pvx/stimer"
#define DEVNODE		"/dev/pvx"
#define MS		1000000ull
/* Debian's kernels have HZ=250: one tick */
#define TICK_NS		(4 * MS)
#define KVM_FEATURE_STEAL_TIME	5
#define MANY_FDS	1000
#define NR_TESTS	55	/* --source's; --steal-time adds LOAD_TESTS() */
/* --steal-time's checks of the load: with steal time (on) 2, without 3 */
#define LOAD_TESTS(on)	((on) ? 2 : 3)
/* --module's: rmmod with an armed fd, steal_source=none, the parameters */
#define ARMED_TESTS	4
#define NONE_TESTS	(NR_TESTS + 3)
#define PARAM_TESTS	7
#define STIMER_MOD	"pvx_stimer"
/* pvx_stimer's dmesg line at a load without a steal source, for @why */
#define WALL_TIME_LINE(why)	"pvx_stimer: steal source none (" why "): timers run on wall time"
#define PARAMDIR	"/sys/module/pvx_stimer/parameters"
#define NOBODY		65534
#define DOS_INTERVAL_NS	100000ull	/* the shortest period allowed */

/*
 * Effective time of an expiry: wall time less steal, 0 when the steal the
 * guest saw over the wait exceeds it (KVM updates steal at the vCPU's next
 * entry, so steal from before the arming can land in the wait), as the
 * module takes it (stimer_calc.h).
 */
static uint64_t effective_ns(uint64_t wall, uint64_t steal)
{
	return wall > steal ? wall - steal : 0;
}

static int pvx_fd = -1;
static char source[32];		/* what sysfs says */
static bool has_steal;		/* source is not "none" */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
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

static long long stat_of(const char *name)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), SYSDIR "/%s", name);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	return atoll(buf);
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		ksft_print_msg("cannot pin to CPU %d: %s\n", cpu, strerror(errno));
}

/* KVM_FEATURE_STEAL_TIME in the KVM CPUID leaves, like the kernel finds it */
static bool cpuid_has_steal_time(void)
{
	unsigned int base, a, b, c, d;

	for (base = 0x40000000; base < 0x40010000; base += 0x100) {
		__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
				 : "a"(base), "c"(0));
		if (b == 0x4b4d564b && c == 0x564b4d56 && d == 0x4d) {
			__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
					 : "a"(base + 1), "c"(0));
			return a & (1u << KVM_FEATURE_STEAL_TIME);
		}
	}
	return false;
}

/* ---- helpers for the ioctls -------------------------------------------- */

static int steal_query(struct pvx_steal_query *q)
{
	return ioctl(pvx_fd, PVX_IOC_STEAL_QUERY, q) < 0 ? -errno : 0;
}

/* new timer fd (>= 0) or -errno */
static int stimer_create(uint32_t flags, uint64_t value, uint64_t interval,
			 uint64_t cap)
{
	struct pvx_stimer_create c = {
		.flags = flags, .fd = -1,
		.spec = { .value_ns = value, .interval_ns = interval, .cap_ns = cap },
	};
	int ret = ioctl(pvx_fd, PVX_IOC_STIMER_CREATE, &c);

	if (ret < 0)
		return -errno;
	if (ret != c.fd) {
		ksft_print_msg("CREATE returned %d but .fd is %d\n", ret, c.fd);
		close(ret);
		return -EPROTO;
	}
	return ret;
}

static int stimer_settime(int fd, uint64_t value, uint64_t interval,
			  uint64_t cap, struct pvx_stimer_spec *old)
{
	struct pvx_stimer_settime s = {
		.new_spec = { .value_ns = value, .interval_ns = interval,
			      .cap_ns = cap },
	};

	if (ioctl(fd, PVX_IOC_STIMER_SETTIME, &s) < 0)
		return -errno;
	if (old)
		*old = s.old_spec;
	return 0;
}

static int stimer_state(int fd, struct pvx_stimer_state *st)
{
	return ioctl(fd, PVX_IOC_STIMER_GETTIME, st) < 0 ? -errno : 0;
}

/* blocking read of the expiration count; 0 on error */
static uint64_t read_ticks(int fd)
{
	uint64_t t = 0;

	if (read(fd, &t, sizeof(t)) != sizeof(t))
		return 0;
	return t;
}

static void expect_errno(int got, int want, const char *desc)
{
	ksft_test_result(got == -want, "%s -> %s (got %s)\n", desc,
			 strerror(want), got ? strerror(-got) : "success");
}

/* ---- sysfs --------------------------------------------------------------- */

static void test_sysfs(const char *want_source)
{
	static const char *const files[] = {
		"started", "fired_effective", "fired_cap", "cancelled",
		"rearms", "rejected", "stale", "timer_fds", "cap_factor",
	};
	bool cpuid = cpuid_has_steal_time();
	const char *want = want_source;
	bool ok = true;
	unsigned int i;

	if (read_file(SYSDIR "/steal_source", source, sizeof(source)))
		ksft_exit_fail_msg("no " SYSDIR "/steal_source\n");
	has_steal = strcmp(source, "none") != 0;
	if (!strcmp(want, "auto"))
		want = cpuid ? "kvm-steal-time" : "none";
	ksft_test_result(!strcmp(source, want),
			 "steal_source is %s (CPUID %s KVM_FEATURE_STEAL_TIME, loaded with %s; sysfs: %s)\n",
			 want, cpuid ? "has" : "lacks", want_source, source);

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		long long v = stat_of(files[i]);

		if (v < 0)
			ok = false;
		ksft_print_msg("stimer/%s: %lld\n", files[i], v);
	}
	ksft_test_result(ok, "stimer counters and cap_factor readable\n");

	ok = write_file(SYSDIR "/cap_factor", "0") == -EINVAL &&
	     write_file(SYSDIR "/cap_factor", "65") == -EINVAL &&
	     write_file(SYSDIR "/cap_factor", "four") == -EINVAL &&
	     !write_file(SYSDIR "/cap_factor", "4") && stat_of("cap_factor") == 4;
	ksft_test_result(ok, "cap_factor refuses 0, 65 and 'four' with EINVAL, takes 4\n");
}

/* ---- PVX_IOC_STEAL_QUERY -------------------------------------------------- */

static void test_steal_query(void)
{
	struct pvx_steal_query q = { 0 }, q2 = { 0 }, bad;
	uint64_t t0, t1;
	int ret;

	pin_to(0);
	t0 = now_ns();
	ret = steal_query(&q);
	t1 = now_ns();
	ksft_test_result(!ret && q.now.cpu == 0 && q.now.mono_ns >= t0 &&
			 q.now.mono_ns <= t1 && q.source == (has_steal ?
			 (strcmp(source, "kcpustat") ? PVX_STEAL_SRC_KVM :
			  PVX_STEAL_SRC_KCPUSTAT) : PVX_STEAL_SRC_NONE),
			 "STEAL_QUERY: cpu 0, CLOCK_MONOTONIC now, source %u (ret %d, steal %llu ns)\n",
			 q.source, ret, (unsigned long long)q.now.steal_ns);

	/* steal may exceed wall time here too (effective_ns()): 117 ms in 30 */
	usleep(20000);
	q2.flags = PVX_STEAL_SINCE;
	q2.since = q.now;
	ret = steal_query(&q2);
	ksft_test_result(!ret && q2.wall_ns >= 20 * MS &&
			 q2.wall_ns == q2.now.mono_ns - q.now.mono_ns &&
			 q2.steal_ns == q2.now.steal_ns - q.now.steal_ns &&
			 q2.effective_ns == effective_ns(q2.wall_ns, q2.steal_ns) &&
			 (has_steal || (!q2.steal_ns && !q2.now.steal_ns)),
			 "STEAL_QUERY since a snapshot 20 ms ago: wall %llu, steal %llu, effective %llu ns (0 when steal exceeds wall)\n",
			 (unsigned long long)q2.wall_ns,
			 (unsigned long long)q2.steal_ns,
			 (unsigned long long)q2.effective_ns);

	bad = q2;
	bad.flags = 0x80;
	expect_errno(steal_query(&bad), EINVAL, "STEAL_QUERY with an unknown flag");
	bad = q2;
	bad.since.reserved = 1;
	expect_errno(steal_query(&bad), EINVAL, "STEAL_QUERY with since.reserved set");
	bad = q2;
	bad.since.mono_ns = now_ns() + 3600000 * MS;
	expect_errno(steal_query(&bad), EINVAL, "STEAL_QUERY since a point in the future");
	bad = q2;
	bad.since.cpu = 1u << 20;
	expect_errno(steal_query(&bad), EINVAL, "STEAL_QUERY since a CPU that does not exist");
	bad = q2;
	bad.since.steal_ns = UINT64_MAX;
	expect_errno(steal_query(&bad), EINVAL, "STEAL_QUERY since more steal than the CPU has");
	ret = ioctl(pvx_fd, PVX_IOC_STEAL_QUERY, NULL) < 0 ? -errno : 0;
	expect_errno(ret, EFAULT, "STEAL_QUERY with a NULL pointer");
}

/* ---- creating timer fds --------------------------------------------------- */

static void test_create_bad(void)
{
	static const struct {
		const char *desc;
		uint32_t flags;
		uint64_t value, interval, cap;
		uint64_t reserved;
	} cases[] = {
		{ "CREATE with an unknown flag", 0x4, 10 * MS, 0, 0, 0 },
		{ "CREATE with reserved set", 0, 10 * MS, 0, 0, 1 },
		{ "CREATE longer than PVX_STIMER_MAX_NS", 0, PVX_STIMER_MAX_NS + 1, 0, 0, 0 },
		{ "CREATE with an interval but no value", 0, 0, 10 * MS, 0, 0 },
		{ "CREATE with a cap but no value", 0, 0, 0, 10 * MS, 0 },
		{ "CREATE with an interval under 100 us", 0, 10 * MS, 1000, 0, 0 },
		{ "CREATE with an interval over the maximum", 0, 10 * MS,
		  PVX_STIMER_MAX_NS + 1, 0, 0 },
		{ "CREATE with a cap below the value", 0, 10 * MS, 0, 9 * MS, 0 },
		{ "CREATE with a cap below the interval", 0, 10 * MS, 20 * MS, 15 * MS, 0 },
		{ "CREATE with a cap over 64 x the value", 0, 1 * MS, 0, 65 * MS, 0 },
	};
	long long rej0 = stat_of("rejected"), fds0 = stat_of("timer_fds");
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pvx_stimer_create c = {
			.flags = cases[i].flags,
			.spec = { cases[i].value, cases[i].interval, cases[i].cap },
			.reserved = cases[i].reserved,
		};

		ret = ioctl(pvx_fd, PVX_IOC_STIMER_CREATE, &c) < 0 ? -errno : 0;
		if (ret >= 0 && !ret)
			close(c.fd);
		expect_errno(ret, EINVAL, cases[i].desc);
	}
	ret = ioctl(pvx_fd, PVX_IOC_STIMER_CREATE, (void *)16) < 0 ? -errno : 0;
	expect_errno(ret, EFAULT, "CREATE with a bad pointer");
	ksft_test_result(stat_of("timer_fds") == fds0 && stat_of("rejected") == rej0,
			 "rejected CREATEs leave no fd and arm nothing\n");
}

/*
 * One-shot 10 ms timer, armed at create, read() blocking. Under injected
 * steal the vCPU can lose more than 3/4 of those 10 ms, and then the
 * default cap (cap_factor 4) rightly fires first: such a run must be a
 * consistent cap (effective time short of 10 ms, wall time past it), and
 * up to 3 runs are made for one that fires on effective time. Returns
 * the last run's timer fd (or its error), its state in @st.
 */
static int oneshot_effective(struct pvx_stimer_state *st, uint64_t *ticks,
			     uint64_t *t0, uint64_t *t1, unsigned int *runs,
			     bool *capped_ok)
{
	int fd = -1;

	*capped_ok = true;
	for (*runs = 1; *runs <= 3; ++*runs) {
		/* a failed GETTIME leaves no bound: the caller's check fails */
		memset(st, 0, sizeof(*st));
		*t0 = now_ns();
		fd = stimer_create(0, 10 * MS, 0, 0);
		*ticks = fd >= 0 ? read_ticks(fd) : 0;
		*t1 = now_ns();
		if (fd < 0 || stimer_state(fd, st))
			break;
		if (st->last_bound != PVX_STIMER_BOUND_CAP || *runs == 3)
			break;
		*capped_ok = *capped_ok && *ticks == 1 && st->fired_cap == 1 &&
			     !st->fired_effective && st->last_wall_ns >= 10 * MS &&
			     effective_ns(st->last_wall_ns, st->last_steal_ns) < 10 * MS;
		ksft_print_msg("one-shot 10 ms, run %u: the cap fired first (wall %llu, steal %llu ns)\n",
			       *runs, (unsigned long long)st->last_wall_ns,
			       (unsigned long long)st->last_steal_ns);
		close(fd);
	}
	return fd;
}

static void test_fd_basics(void)
{
	struct pvx_stimer_state st;
	struct pollfd pfd;
	uint64_t t0, t1, ticks;
	unsigned int runs;
	bool capped_ok;
	char small[4];
	int fd, ret;

	fd = stimer_create(PVX_STIMER_CLOEXEC | PVX_STIMER_NONBLOCK, 0, 0, 0);
	ksft_test_result(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC) &&
			 (fcntl(fd, F_GETFL) & O_NONBLOCK),
			 "CREATE with CLOEXEC|NONBLOCK: fd %d is close-on-exec and non-blocking\n",
			 fd);
	if (fd < 0)
		return;
	ret = read(fd, small, sizeof(small)) < 0 ? -errno : 0;
	expect_errno(ret, EINVAL, "read() into a 4-byte buffer");
	ret = read(fd, &ticks, sizeof(ticks)) < 0 ? -errno : 0;
	expect_errno(ret, EAGAIN, "non-blocking read() of a disarmed timer");
	ret = ioctl(fd, _IO(PVX_IOC_MAGIC, 0x7f)) < 0 ? -errno : 0;
	expect_errno(ret, ENOTTY, "unknown ioctl on a timer fd");
	ret = ioctl(fd, PVX_IOC_STIMER_GETTIME, NULL) < 0 ? -errno : 0;
	expect_errno(ret, EFAULT, "GETTIME with a NULL pointer");
	close(fd);

	fd = oneshot_effective(&st, &ticks, &t0, &t1, &runs, &capped_ok);
	ret = fd >= 0 ? 0 : fd;
	ksft_test_result(!ret && ticks == 1 && t1 - t0 >= 10 * MS &&
			 st.last_bound == PVX_STIMER_BOUND_EFFECTIVE &&
			 st.fired_effective == 1 && !st.fired_cap &&
			 !st.spec.value_ns &&
			 effective_ns(st.last_wall_ns, st.last_steal_ns) >= 10 * MS && capped_ok,
			 "one-shot 10 ms: read() blocks, returns 1, effective bound (wall %llu, steal %llu ns; run %u of 3, earlier runs capped consistently: %s)\n",
			 (unsigned long long)st.last_wall_ns,
			 (unsigned long long)st.last_steal_ns, runs,
			 capped_ok ? "yes" : "no");

	/*
	 * poll: armed far ahead first, so that a vCPU the lab's host
	 * deschedules between the two calls cannot make it due.
	 */
	ret = stimer_settime(fd, 60000 * MS, 0, 0, NULL);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	ksft_test_result(!ret && poll(&pfd, 1, 0) == 0,
			 "poll() of an armed timer that has not expired: nothing\n");
	ret = stimer_settime(fd, 30 * MS, 0, 0, NULL);
	ret = ret ? ret : poll(&pfd, 1, 10000);
	ksft_test_result(ret == 1 && (pfd.revents & POLLIN) && read_ticks(fd) == 1,
			 "poll() reports POLLIN at expiry; read() returns 1\n");

	/* periodic, then disarm */
	t0 = now_ns();
	ret = stimer_settime(fd, 5 * MS, 5 * MS, 0, NULL);
	if (!ret)
		ret = stimer_state(fd, &st);
	ksft_test_result(!ret && st.spec.interval_ns == 5 * MS &&
			 st.spec.value_ns > 0 && st.spec.value_ns <= 5 * MS &&
			 !st.spec.cap_ns,
			 "GETTIME of a 5 ms periodic timer: interval 5 ms, %llu ns left\n",
			 (unsigned long long)st.spec.value_ns);
	usleep(60000);
	ticks = read_ticks(fd);
	/* no more periods than wall time allows (effective <= wall) */
	t1 = (now_ns() - t0) / (5 * MS);
	ksft_test_result(ticks >= 2 && ticks <= t1,
			 "periodic 5 ms: read() after 60 ms returns %llu expirations (2..%llu)\n",
			 (unsigned long long)ticks, (unsigned long long)t1);
	{
		struct pvx_stimer_spec old = { 0 };

		ret = stimer_settime(fd, 0, 0, 0, &old);
		usleep(20000);
		pfd.revents = 0;
		ksft_test_result(!ret && old.interval_ns == 5 * MS &&
				 old.value_ns > 0 && poll(&pfd, 1, 0) == 0 &&
				 !stimer_state(fd, &st) && !st.spec.value_ns,
				 "SETTIME 0 disarms: returns the old arming, no expiry afterwards\n");
	}

	/* bad SETTIME keeps the arming */
	{
		struct pvx_stimer_settime s = { .new_spec = { 10 * MS, 0, 0 } };

		s.flags = 1;
		ret = ioctl(fd, PVX_IOC_STIMER_SETTIME, &s) < 0 ? -errno : 0;
		expect_errno(ret, EINVAL, "SETTIME with flags set");
		s.flags = 0;
		s.reserved = 1;
		ret = ioctl(fd, PVX_IOC_STIMER_SETTIME, &s) < 0 ? -errno : 0;
		expect_errno(ret, EINVAL, "SETTIME with reserved set");
		stimer_settime(fd, 10000 * MS, 0, 0, NULL);
		ret = stimer_settime(fd, 10 * MS, 0, 5 * MS, NULL);
		expect_errno(ret, EINVAL, "SETTIME with a cap below the value");
		ksft_test_result(!stimer_state(fd, &st) && st.spec.value_ns > 5000 * MS,
				 "a refused SETTIME leaves the previous arming (%llu ns left)\n",
				 (unsigned long long)st.spec.value_ns);
		ret = ioctl(fd, PVX_IOC_STIMER_SETTIME, NULL) < 0 ? -errno : 0;
		expect_errno(ret, EFAULT, "SETTIME with a NULL pointer");
	}
	{
		long long fds = stat_of("timer_fds");

		close(fd);	/* armed for 10 s: close must disarm and free */
		ksft_test_result(stat_of("timer_fds") == fds - 1,
				 "close() of an armed timer frees it (timer_fds %lld -> %lld)\n",
				 fds, stat_of("timer_fds"));
	}
}

static void test_epoll_many(void)
{
	static int fds[MANY_FDS];
	struct rlimit rl = { MANY_FDS + 64, MANY_FDS + 64 };
	struct epoll_event ev, evs[64];
	long long fds0 = stat_of("timer_fds");
	int ep, i, n, made = 0, got = 0;
	uint64_t deadline;
	bool ok = true;

	setrlimit(RLIMIT_NOFILE, &rl);
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (i = 0; i < MANY_FDS; i++) {
		/* 20..50 ms, spread */
		fds[i] = stimer_create(PVX_STIMER_NONBLOCK | PVX_STIMER_CLOEXEC,
				       (20 + i % 31) * MS, 0, 0);
		if (fds[i] < 0)
			break;
		made++;
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev))
			ok = false;
	}
	ksft_test_result(made == MANY_FDS && ok && stat_of("timer_fds") == fds0 + MANY_FDS,
			 "%d armed timer fds in one epoll set (timer_fds %lld)\n",
			 made, stat_of("timer_fds"));
	deadline = now_ns() + 60000 * MS;
	while (got < made && now_ns() < deadline) {
		n = epoll_wait(ep, evs, 64, 1000);
		for (i = 0; i < n; i++) {
			if (read_ticks(fds[evs[i].data.u32]) == 1)
				got++;
			else
				ok = false;
		}
	}
	ksft_test_result(ok && got == made,
			 "epoll_wait() saw each of the %d timers expire once (%d)\n",
			 made, got);
	for (i = 0; i < made; i++)
		close(fds[i]);
	close(ep);
	ksft_test_result(stat_of("timer_fds") == fds0,
			 "closing them frees all (timer_fds back to %lld)\n", fds0);
}

/* ---- an unprivileged user's timer fds ------------------------------------ */

struct dos_result {
	int setup_err;		/* errno of setuid/open, 0 when it ran */
	int made;		/* timer fds created */
	int err;		/* errno of the first refused CREATE */
	long long fired, rearms;	/* counter growth over the window */
	uint64_t window_ns;
	uint64_t ticks;		/* first read() of the first fd */
	uint64_t wall_ns, eff_ns;	/* since before its CREATE */
};

static long long expiries(void)
{
	return stat_of("fired_effective") + stat_of("fired_cap");
}

/* In a child that dropped to nobody: as many 100 us periodic fds as it may */
static void dos_child(int limit, struct dos_result *r)
{
	static int fds[4096];
	struct pvx_steal_query q0 = { 0 }, q1 = { .flags = PVX_STEAL_SINCE };
	long long f0, r0;
	uint64_t t0;
	int i;

	pin_to(0);
	if (setgid(NOBODY) || setuid(NOBODY)) {
		r->setup_err = errno;
		return;
	}
	close(pvx_fd);
	pvx_fd = open(DEVNODE, O_RDONLY);
	if (pvx_fd < 0) {
		r->setup_err = errno;
		return;
	}
	steal_query(&q0);
	for (i = 0; i <= limit && i < 4096; i++) {
		fds[i] = stimer_create(PVX_STIMER_NONBLOCK, DOS_INTERVAL_NS,
				       DOS_INTERVAL_NS, 0);
		if (fds[i] < 0) {
			r->err = -fds[i];
			break;
		}
		r->made++;
	}
	/* each has expired once by now; from here on nobody reads them */
	usleep(100000);
	f0 = expiries();
	r0 = stat_of("rearms");
	t0 = now_ns();
	usleep(1000000);
	r->fired = expiries() - f0;
	r->rearms = stat_of("rearms") - r0;
	r->window_ns = now_ns() - t0;
	if (r->made)
		r->ticks = read_ticks(fds[0]);
	q1.since = q0.now;
	steal_query(&q1);
	r->wall_ns = q1.wall_ns;
	r->eff_ns = q1.effective_ns;
}

/*
 * /dev/pvx is world-readable and STIMER_CREATE is open to every user:
 * what one unprivileged user can make the guest do with it must be
 * bounded. It gets max_timer_fds_per_user fds, the next CREATE is
 * EMFILE; those fds, periodic at the shortest interval and never read,
 * cost one expiry each (timerfd's model: re-armed by the reader), not
 * one per period; a late read() returns the periods that passed.
 */
static void test_unprivileged(void)
{
	struct dos_result r = { 0 };
	char buf[32];
	int limit, p[2], status;
	uint64_t lo, hi;
	pid_t pid;

	if (read_file(PARAMDIR "/max_timer_fds_per_user", buf, sizeof(buf))) {
		ksft_test_result_fail("unprivileged: no " PARAMDIR "/max_timer_fds_per_user\n");
		ksft_test_result_fail("unprivileged: bounded expiries\n");
		ksft_test_result_fail("unprivileged: overruns\n");
		return;
	}
	limit = atoi(buf);
	if (pipe(p))
		ksft_exit_fail_msg("pipe: %s\n", strerror(errno));
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		dos_child(limit, &r);
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &r, sizeof(r)) != sizeof(r))
		r.setup_err = pid < 0 ? errno : EPIPE;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (r.setup_err)
		ksft_print_msg("unprivileged child: %s\n", strerror(r.setup_err));
	ksft_test_result(!r.setup_err && r.made == limit && r.err == EMFILE,
			 "uid %d gets max_timer_fds_per_user = %d timer fds, the next CREATE is EMFILE (%d made, then %s)\n",
			 NOBODY, limit, r.made, r.err ? strerror(r.err) : "none refused");
	ksft_test_result(!r.setup_err && r.made > 0 &&
			 r.fired + r.rearms <= r.made,
			 "%d unread 100 us periodic fds: %lld expiries and %lld re-arms in %llu ms, at most one per fd\n",
			 r.made, r.fired, r.rearms,
			 (unsigned long long)(r.window_ns / MS));
	/*
	 * A period ends at 100 us of effective time or at its cap (4 x) of
	 * wall time: at least the effective periods, less the first one and
	 * rounding, and never more than the wall-clock ones.
	 */
	lo = r.eff_ns / DOS_INTERVAL_NS / 2;
	hi = r.wall_ns / DOS_INTERVAL_NS + 2;
	ksft_test_result(!r.setup_err && r.ticks > 1 && r.ticks >= lo &&
			 r.ticks <= hi,
			 "a read() after %llu ms (%llu ms effective) returns the overruns: %llu expirations (%llu..%llu)\n",
			 (unsigned long long)(r.wall_ns / MS),
			 (unsigned long long)(r.eff_ns / MS),
			 (unsigned long long)r.ticks, (unsigned long long)lo,
			 (unsigned long long)hi);
}

/* ---- cancel racing with expiry -------------------------------------------- */

struct race_arg {
	int fd;
	int cpus;
	volatile bool stop;
	unsigned long reads, disarms;
};

static void *race_disarmer(void *p)
{
	struct race_arg *a = p;

	pin_to(a->cpus - 1);
	while (!a->stop) {
		if (!stimer_settime(a->fd, 0, 0, 0, NULL))
			a->disarms++;
		usleep(50);
	}
	return NULL;
}

static void *race_reader(void *p)
{
	struct race_arg *a = p;
	struct pollfd pfd = { .fd = a->fd, .events = POLLIN };
	uint64_t t;

	while (!a->stop) {
		if (poll(&pfd, 1, 1) == 1 && read(a->fd, &t, sizeof(t)) == sizeof(t))
			a->reads++;
	}
	return NULL;
}

static void test_cancel_race(void)
{
	long long s0 = stat_of("started"), e0 = stat_of("fired_effective");
	long long c0 = stat_of("fired_cap"), x0 = stat_of("cancelled");
	long long ds, de, dc, dx;
	struct race_arg ra = { .cpus = sysconf(_SC_NPROCESSORS_ONLN) };
	struct pollfd pfd;
	pthread_t thr, dis;
	int fd, i, late = 0;
	uint64_t t;

	fd = stimer_create(PVX_STIMER_NONBLOCK, 0, 0, 0);
	if (fd < 0) {
		ksft_test_result_fail("cancel racing with expiry # CREATE: %s\n",
				      strerror(-fd));
		ksft_test_result_fail("cancel racing with a reader and re-arming\n");
		ksft_test_result_fail("started = fired + cancelled\n");
		return;
	}
	/* arm for 1..64 us and disarm at once: cancel meets expiry */
	for (i = 0; i < 3000; i++) {
		stimer_settime(fd, 1000 + (i % 64) * 1000, 0, 0, NULL);
		if (i & 1)
			sched_yield();
		stimer_settime(fd, 0, 0, 0, NULL);
		/* SETTIME clears the count; nothing may expire after it */
		if (read(fd, &t, sizeof(t)) == sizeof(t))
			late++;
	}
	usleep(5000);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	ksft_test_result(!late && poll(&pfd, 1, 0) == 0,
			 "3000 x arm 1..64 us then disarm: no expiry after a disarm (%d late)\n",
			 late);

	/*
	 * periodic 100 us armed on CPU 0 (this thread) and disarmed from the
	 * last CPU (another thread), a third thread reading meanwhile
	 */
	ra.fd = fd;
	pthread_create(&thr, NULL, race_reader, &ra);
	pthread_create(&dis, NULL, race_disarmer, &ra);
	pin_to(0);
	for (i = 0; i < 500; i++) {
		stimer_settime(fd, 100000, 100000, 0, NULL);
		if (i % 8 == 0)
			usleep(300);
	}
	ra.stop = true;
	pthread_join(dis, NULL);
	pthread_join(thr, NULL);
	stimer_settime(fd, 0, 0, 0, NULL);
	usleep(5000);
	read(fd, &t, sizeof(t));	/* what expired before the last disarm */
	usleep(5000);
	ksft_test_result(poll(&pfd, 1, 0) == 0,
			 "500 x periodic 100 us armed on CPU 0, disarmed from CPU %d, read by a third thread (%lu reads, %lu disarms): quiet after the last disarm\n",
			 ra.cpus - 1, ra.reads, ra.disarms);
	close(fd);
	ds = stat_of("started") - s0;
	de = stat_of("fired_effective") - e0;
	dc = stat_of("fired_cap") - c0;
	dx = stat_of("cancelled") - x0;
	ksft_test_result(ds == de + dc + dx && ds > 0,
			 "every start fired or was cancelled: started %lld = %lld effective + %lld cap + %lld cancelled\n",
			 ds, de, dc, dx);
}

/* ---- timing against a timerfd --------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* effective ns (wall minus this CPU's steal) since @since */
static uint64_t effective_since(const struct pvx_steal_query *since)
{
	struct pvx_steal_query q = { .flags = PVX_STEAL_SINCE, .since = since->now };

	return steal_query(&q) ? 0 : q.effective_ns;
}

/* wall ns a timerfd of @req ns takes, arm to read */
static uint64_t timerfd_wall(uint64_t req)
{
	struct itimerspec its = { .it_value = { req / 1000000000ull,
						req % 1000000000ull } };
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	uint64_t t, t0 = now_ns();

	timerfd_settime(fd, 0, &its, NULL);
	if (read(fd, &t, sizeof(t)) != sizeof(t))
		t = 0;
	t = now_ns() - t0;
	close(fd);
	return t;
}

/*
 * Little steal (the other CPUs idle): a pvx timer must fire within one
 * tick of a timerfd with the same request, and never early: the pvx
 * timer in effective time, the timerfd in wall time, both measured from
 * userspace (the same when there is no steal; when a busy lab host does
 * steal, the timerfd still fires by the wall clock and the pvx timer by
 * effective time, so each is compared on its own clock). Alternating
 * runs, the best of each compared: a busy lab host delays single runs by
 * tens of ms that no steal accounts for (with steal_source=none, all of
 * it), and such a delay only ever adds, so the fastest run of each timer
 * is its own cost. Typical runs are printed; their precision is the timer
 * benchmark's business.
 */
/*
 * One measurement of test_vs_hrtimer(): the best of @runs alternating
 * runs of each timer, in *@pvx (effective ns) and *@wall (timerfd, wall
 * ns); true when the pvx timer was within one tick and never early.
 */
static bool vs_hrtimer_once(int fd, uint64_t req, uint64_t *pvx, uint64_t *wall)
{
	enum { RUNS = 7 };
	uint64_t tf[RUNS], sf[RUNS];
	struct pvx_steal_query q0;
	int64_t d;
	int i;

	for (i = 0; i < RUNS; i++) {
		tf[i] = timerfd_wall(req);
		memset(&q0, 0, sizeof(q0));
		steal_query(&q0);
		stimer_settime(fd, req, 0, 0, NULL);
		read_ticks(fd);
		sf[i] = effective_since(&q0);
	}
	qsort(tf, RUNS, sizeof(tf[0]), cmp_u64);
	qsort(sf, RUNS, sizeof(sf[0]), cmp_u64);
	ksft_print_msg("little steal: 20 ms timers, medians pvx %llu ns effective, timerfd %llu ns wall\n",
		       (unsigned long long)sf[RUNS / 2],
		       (unsigned long long)tf[RUNS / 2]);
	*pvx = sf[0];
	*wall = tf[0];
	d = (int64_t)(sf[0] - tf[0]);
	return sf[0] >= req && d <= (int64_t)TICK_NS && d >= -(int64_t)TICK_NS;
}

/*
 * A busy lab host can delay a whole series of runs (CI beside other
 * labs: best pvx run 26.2 ms against 21.1 ms); such a burst passes, a
 * pvx timer that is late or early every time does not: up to three
 * measurements, the test fails only when all three do.
 */
static void test_vs_hrtimer(void)
{
	enum { TRIES = 3 };
	uint64_t req = 20 * MS, pvx = 0, wall = 0;
	bool ok = false;
	int fd, t;

	pin_to(0);
	fd = stimer_create(0, 0, 0, 0);
	for (t = 0; t < TRIES && !ok; t++)
		ok = vs_hrtimer_once(fd, req, &pvx, &wall);
	close(fd);
	ksft_test_result(ok,
			 "little steal: a 20 ms pvx timer fires within one tick of a timerfd, never early (best of 7, measurement %d of up to %d: %llu ns effective vs %llu ns wall)\n",
			 t, TRIES, (unsigned long long)pvx,
			 (unsigned long long)wall);
}

/* ---- under vCPU overcommit -------------------------------------------------- */

static pid_t hogs[64];
static int nr_hogs;

static void hogs_start(void)
{
	int cpus = sysconf(_SC_NPROCESSORS_ONLN), i;

	for (i = 0; i < cpus && i < 64; i++) {
		pid_t p = fork();

		if (p == 0) {
			/* not left spinning when the tests end early */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			pin_to(i);
			for (;;)
				__asm__ volatile("" ::: "memory");
		}
		if (p > 0)
			hogs[nr_hogs++] = p;
	}
	usleep(50000);
}

static void hogs_stop(void)
{
	int i;

	for (i = 0; i < nr_hogs; i++)
		kill(hogs[i], SIGKILL);
	for (i = 0; i < nr_hogs; i++)
		waitpid(hogs[i], NULL, 0);
	nr_hogs = 0;
}

/* one expiry of a @req pvx timer (cap 0: default) with a timerfd beside it */
struct race_result {
	struct pvx_stimer_state st;
	uint64_t tfd_wall, stimer_wall;
	bool ok;
};

static struct race_result race_timerfd(uint64_t req, uint64_t cap)
{
	struct itimerspec its = { .it_value = { req / 1000000000ull,
						req % 1000000000ull } };
	struct race_result r = { .ok = false };
	struct pollfd pfd[2];
	uint64_t t0, t;
	int done = 0, n, i;

	pfd[0] = (struct pollfd){ .fd = timerfd_create(CLOCK_MONOTONIC, 0), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = stimer_create(0, 0, 0, 0), .events = POLLIN };
	if (pfd[0].fd < 0 || pfd[1].fd < 0)
		goto out;
	t0 = now_ns();
	timerfd_settime(pfd[0].fd, 0, &its, NULL);
	if (stimer_settime(pfd[1].fd, req, 0, cap, NULL))
		goto out;
	while (done != 3) {
		n = poll(pfd, 2, 30000);
		if (n <= 0)
			goto out;
		for (i = 0; i < 2; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			if (read(pfd[i].fd, &t, sizeof(t)) != sizeof(t))
				goto out;
			if (i)
				r.stimer_wall = now_ns() - t0;
			else
				r.tfd_wall = now_ns() - t0;
			done |= 1 << i;
			pfd[i].events = 0;
		}
	}
	r.ok = !stimer_state(pfd[1].fd, &r.st);
out:
	close(pfd[0].fd);
	close(pfd[1].fd);
	return r;
}

static void report(const char *what, struct race_result *r)
{
	ksft_print_msg("%s: pvx timer wall %llu ns, steal %llu ns, bound %u; timerfd %llu ns\n",
		       what, (unsigned long long)r->st.last_wall_ns,
		       (unsigned long long)r->st.last_steal_ns, r->st.last_bound,
		       (unsigned long long)r->tfd_wall);
}

/*
 * A timer's bound is consistent with what it measured: the cap only while
 * effective time is short of the request, the effective bound once it
 * has reached it (the documented rule when both are reached at the same
 * expiry, which is what a late interrupt makes of a 100 ms cap).
 */
static bool bound_consistent(const struct race_result *r, uint64_t req)
{
	uint64_t eff = effective_ns(r->st.last_wall_ns, r->st.last_steal_ns);

	if (r->st.last_bound == PVX_STIMER_BOUND_CAP)
		return eff < req && r->st.last_wall_ns >= req;
	return r->st.last_bound == PVX_STIMER_BOUND_EFFECTIVE && eff >= req;
}

/*
 * Under steal a cap equal to the request (@cap, or 0 with cap_factor 1
 * for the default cap) comes before effective time reaches the request,
 * so the cap fires. An expiry whose interrupt arrives after both (the
 * vCPU was descheduled across the cap) fires on the effective bound by
 * the tie rule: such a run is consistent but proves nothing, so up to 3
 * runs are made for one that fires in time; every run must be consistent.
 */
static void cap_fires_first(uint64_t req, uint64_t cap, const char *what)
{
	struct race_result r;
	bool consistent = true, capped = false;
	unsigned int runs = 0;

	while (runs < 3 && !capped) {
		r = race_timerfd(req, cap);
		runs++;
		report(what, &r);
		consistent = consistent && r.ok && bound_consistent(&r, req);
		capped = r.ok && r.st.last_bound == PVX_STIMER_BOUND_CAP;
	}
	ksft_test_result(consistent && capped,
			 "overcommit: %s fires first (bound %u, effective %llu ns, run %u of 3, every run's bound consistent: %s)\n",
			 what, r.st.last_bound,
			 (unsigned long long)(effective_ns(r.st.last_wall_ns, r.st.last_steal_ns)),
			 runs, consistent ? "yes" : "no");
}

/* |effective - requested| of a race's pvx timer */
static uint64_t race_error(const struct race_result *r, uint64_t req)
{
	uint64_t eff = effective_ns(r->st.last_wall_ns, r->st.last_steal_ns);

	return eff > req ? eff - req : req - eff;
}

/* No later than the timerfd beside it, + 5% + one tick (both on wall time) */
static bool fired_with_timerfd(const struct race_result *r, uint64_t req)
{
	return r->ok && r->st.last_wall_ns >= req && r->tfd_wall >= req &&
	       r->st.last_wall_ns - req <= req / 20 + TICK_NS + (r->tfd_wall - req);
}

static void test_overcommit(void)
{
	const uint64_t req = 100 * MS;
	struct pvx_steal_query q0 = { 0 }, q1 = { .flags = PVX_STEAL_SINCE };
	struct race_result r, best;
	int r_run, best_run;
	long long rearms0 = stat_of("rearms");
	unsigned int runs;
	uint64_t eff;
	int i;

	pin_to(0);
	hogs_start();
	steal_query(&q0);
	usleep(200000);
	q1.since = q0.now;
	steal_query(&q1);
	ksft_print_msg("busy on all %d CPUs for %llu ms: CPU 0 steal %llu ms (%llu%%)\n",
		       nr_hogs, (unsigned long long)(q1.wall_ns / MS),
		       (unsigned long long)(q1.steal_ns / MS),
		       (unsigned long long)(q1.wall_ns ? 100 * q1.steal_ns / q1.wall_ns : 0));

	if (has_steal) {
		ksft_test_result(q1.steal_ns >= q1.wall_ns / 10,
				 "overcommit: CPU 0 sees steal (%llu of %llu ns, want >= 10%%)\n",
				 (unsigned long long)q1.steal_ns,
				 (unsigned long long)q1.wall_ns);

		/*
		 * Three runs: the one with the most steal shows the delay; the
		 * one closest to the request shows the precision. TCG delivers
		 * L3's timer interrupts late now and then (tens of ms when the
		 * machine is loaded), which makes any one run's expiry late for
		 * every kind of timer; the bench measures the precision.
		 */
		memset(&r, 0, sizeof(r));
		memset(&best, 0, sizeof(best));
		r_run = -1;
		best_run = -1;
		for (i = 0; i < 3; i++) {
			/* the largest cap: heavy lab steal must not reach it */
			struct race_result x = race_timerfd(req, req * PVX_STIMER_CAP_FACTOR_MAX);

			if (!x.ok)
				continue;
			if (!r.ok || x.st.last_steal_ns > r.st.last_steal_ns) {
				r = x;
				r_run = i;
			}
			if (!best.ok || race_error(&x, req) < race_error(&best, req)) {
				best = x;
				best_run = i;
			}
		}
		report("100 ms, cap 6.4 s", &r);
		if (best_run != r_run)
			report("100 ms, cap 6.4 s, closest run", &best);
		eff = effective_ns(best.st.last_wall_ns, best.st.last_steal_ns);
		ksft_test_result(r.ok && r.st.last_bound == PVX_STIMER_BOUND_EFFECTIVE &&
				 r.st.last_steal_ns >= req / 10 &&
				 r.stimer_wall > r.tfd_wall,
				 "overcommit: the pvx timer fires on effective time, after the timerfd (steal %llu ns)\n",
				 (unsigned long long)r.st.last_steal_ns);
		/*
		 * Never early on effective time, and on it rather than on the
		 * cap; how close to the request is the benchmark's to say
		 * (bench.rst): L3's timer interrupt comes late whenever TCG
		 * runs L2 late, which L3 cannot see as steal, and the
		 * arithmetic is checked exactly in selftests/unit.
		 */
		ksft_test_result(best.ok && eff >= req && eff - req <= req / 2,
				 "overcommit: effective time at expiry %llu ns, from 100 ms to 150 ms\n",
				 (unsigned long long)eff);

		cap_fires_first(req, req, "an explicit cap of 100 ms");

		write_file(SYSDIR "/cap_factor", "1");
		cap_fires_first(req, 0, "the default cap with cap_factor=1");
		write_file(SYSDIR "/cap_factor", "4");
	} else {
		ksft_test_result(!q1.steal_ns && !q1.now.steal_ns,
				 "no steal source: STEAL_QUERY reports no steal\n");
		r = race_timerfd(req, 0);
		report("100 ms, default cap", &r);
		ksft_test_result(r.ok && r.st.last_bound == PVX_STIMER_BOUND_EFFECTIVE &&
				 !r.st.last_steal_ns && r.st.last_wall_ns >= req,
				 "no steal source: the pvx timer fires on wall time, steal 0\n");
		ksft_test_result(stat_of("rearms") == rearms0,
				 "no steal source: never re-armed (rearms %lld -> %lld)\n",
				 rearms0, stat_of("rearms"));
		/*
		 * With no steal source a late expiry is the vCPU's time away,
		 * which this guest cannot see: TCG delivers L3's interrupts
		 * tens of ms late now and then (114.8 ms against the
		 * timerfd's 101.1 ms, once). Up to 3 runs for one in time.
		 */
		for (runs = 1; !fired_with_timerfd(&r, req) && runs < 3; runs++) {
			r = race_timerfd(req, 0);
			report("100 ms, default cap, again", &r);
		}
		ksft_test_result(fired_with_timerfd(&r, req),
				 "no steal source: it fires no later than the timerfd + 5%% + one tick (run %u of 3)\n",
				 runs);
		r = race_timerfd(req, req);
		report("100 ms, cap 100 ms", &r);
		ksft_test_result(r.ok && r.st.last_bound == PVX_STIMER_BOUND_EFFECTIVE,
				 "no steal source: with cap = request, effective time is reached first\n");
	}
	hogs_stop();
}

/*
 * --torture's late expiry: a 1 ms periodic timer fd and a timerfd armed
 * together on CPU 0, then CPU 0 kept busy with interrupts off for
 * LATE_US (the torture module's irqs_off_us), so both first expiries
 * come ~50 periods late with no steal to see. A timerfd counts the periods that ended meanwhile
 * (hrtimer_forward()); the pvx timer must too, not just the one expiry.
 */
#define LATE_US		50000
#define IRQS_OFF	"/sys/kernel/debug/pvx_stimer_torture/irqs_off_us"

static void late_tests(void)
{
	struct itimerspec its = { .it_value = { 0, MS }, .it_interval = { 0, MS } };
	uint64_t t_arm, t0, wall, wall_pre, eff_pre, lo, tf_ticks = 0, px_ticks;
	struct pvx_steal_query q0 = { 0 };
	struct pvx_stimer_state st;
	char val[16];
	int fd, tfd, ret;

	pin_to(0);
	tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	/*
	 * A vCPU of a busy lab can stall for ms between two lines, so each
	 * bound has its own clocks: the most the timer can count runs from
	 * before its arming (t_arm) to after the read, the least it must
	 * count from after its arming (q0, t0) to before the read. In CI,
	 * clocks read after the read (54 counted, 90 ms) or
	 * started before the arming (75 counted, 77 wanted) expected
	 * periods the timer never had (6.12); started after it, they
	 * allowed 94 of the 101 it had (6.1).
	 */
	t_arm = now_ns();
	fd = stimer_create(0, MS, MS, 0);
	steal_query(&q0);
	t0 = now_ns();
	if (fd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, NULL))
		ksft_exit_fail_msg("a timer fd and a timerfd: %s\n", strerror(errno));
	snprintf(val, sizeof(val), "%d", LATE_US);
	ret = write_file(IRQS_OFF, val);
	ksft_test_result(!ret, "CPU 0 busy for %d us with interrupts off (%s)\n", LATE_US,
			 ret ? strerror(-ret) : IRQS_OFF);
	wall_pre = now_ns() - t0;
	eff_pre = effective_since(&q0);
	px_ticks = read_ticks(fd);
	wall = now_ns() - t_arm;
	if (read(tfd, &tf_ticks, sizeof(tf_ticks)) != sizeof(tf_ticks))
		tf_ticks = 0;
	/* what the timer saw at its expiries, for a count that is off */
	if (!stimer_state(fd, &st))
		ksft_print_msg("pvx timer: %llu effective and %llu cap expiries, the last %llu us after its start with %llu us steal, on CPU %u\n",
			       (unsigned long long)st.fired_effective,
			       (unsigned long long)st.fired_cap,
			       (unsigned long long)st.last_wall_ns / 1000,
			       (unsigned long long)st.last_steal_ns / 1000, st.cpu);
	/*
	 * A period ends at 1 ms of effective time or 4 ms (its cap) of wall
	 * time: the periods that ended before the read began, less slack
	 * for the ends (a lab boot that injects steal stretches them); both
	 * clocks start after the arming, so they never run ahead of it. When
	 * the timerfd, a wall-time count over nearly the same stretch,
	 * counted fewer, its count less the same slack will do. At most the
	 * periods from before the arming until after the read.
	 */
	lo = (eff_pre / MS > wall_pre / (4 * MS) ? eff_pre / MS : wall_pre / (4 * MS)) * 4 / 5;
	if (tf_ticks * 4 / 5 < lo)
		lo = tf_ticks * 4 / 5;
	ksft_test_result(!ret && px_ticks >= lo && px_ticks > 1 && px_ticks <= wall / MS + 2,
			 "an expiry %d ms late counts the periods meanwhile: %llu expirations, the read begun %llu ms (%llu ms effective) after the arming and ended %llu ms after the call to arm: %llu..%llu wanted; timerfd %llu\n",
			 LATE_US / 1000, (unsigned long long)px_ticks,
			 (unsigned long long)(wall_pre / MS), (unsigned long long)(eff_pre / MS),
			 (unsigned long long)(wall / MS), (unsigned long long)lo,
			 (unsigned long long)(wall / MS + 2), (unsigned long long)tf_ticks);
	close(fd);
	close(tfd);
}

/* --load: one CPU's thread; its expirations go to *arg. */
struct load_arg {
	int cpu;
	uint64_t until_ns;
	uint64_t ticks;
};

static void *load_cpu(void *p)
{
	struct load_arg *la = p;
	struct pollfd pfd = { .events = POLLIN };

	pin_to(la->cpu);
	/* created on this CPU: its steal is what the timer corrects for */
	/* 20 ms: longer than the host's time slices, so most periods see steal */
	pfd.fd = stimer_create(PVX_STIMER_NONBLOCK, 20 * MS, 20 * MS, 0);
	if (pfd.fd < 0)
		return NULL;
	/* busy, never blocked: the vCPU stays runnable, its waits are steal */
	while (now_ns() < la->until_ns)
		if (poll(&pfd, 1, 0) == 1)
			la->ticks += read_ticks(pfd.fd);
	close(pfd.fd);
	return NULL;
}

static int timer_load(const char *secs)
{
	int cpus = sysconf(_SC_NPROCESSORS_ONLN), i;
	uint64_t until = now_ns() + atoi(secs) * 1000 * MS;
	struct load_arg la[64];
	pthread_t thr[64];
	uint64_t ticks = 0;

	if (atoi(secs) <= 0 || cpus <= 0)
		ksft_exit_fail_msg("--load: '%s' is not a number of seconds\n", secs);
	if (cpus > 64)
		cpus = 64;
	for (i = 0; i < cpus; i++) {
		la[i] = (struct load_arg){ .cpu = i, .until_ns = until };
		pthread_create(&thr[i], NULL, load_cpu, &la[i]);
	}
	for (i = 0; i < cpus; i++) {
		pthread_join(thr[i], NULL);
		ticks += la[i].ticks;
	}
	printf("timer load: %d CPUs, %llu expirations read\n", cpus, (unsigned long long)ticks);
	return ticks ? KSFT_PASS : KSFT_FAIL;
}

/* ---- pvx_stimer's loads and unloads --------------------------------------- */

/* The exit status of a run of @plan tests: 0 all passed, 1 any failed, 4 all skipped */
static int tests_done(unsigned int plan)
{
	ksft_print_cnts();
	if (ksft_get_fail_cnt() || ksft_get_error_cnt() || ksft_test_num() != plan)
		return KSFT_FAIL;
	if (!ksft_get_pass_cnt() && ksft_get_xskip_cnt())
		return KSFT_SKIP;
	return KSFT_PASS;
}

/* A result whose failure says why after a '#', as init.sh's check does. */
static void result_why(bool ok, const char *why, const char *desc)
{
	if (ok)
		ksft_test_result_pass("%s\n", desc);
	else
		ksft_test_result_fail("%s # %s\n", desc, why);
}

static void rmmod_result(int err, const char *desc)
{
	result_why(!err, strerror(-err), desc);
}

/* pvx_stimer is not loaded and left nothing in sysfs. */
static bool stimer_gone(void)
{
	return !module_is_loaded(STIMER_MOD) && !path_exists(SYSDIR);
}

/*
 * --steal-time: what pvx_stimer said at its load (init.sh loaded it just
 * before, without parameters). The one dmesg line naming the source is
 * searched in the whole log: only a later load would write another.
 */
static void test_load_lines(bool steal_time)
{
	char src[32] = "", needle[64];

	read_file(SYSDIR "/steal_source", src, sizeof(src));
	snprintf(needle, sizeof(needle), "pvx_stimer: steal source %s (", src);
	ksft_test_result(dmesg_count(needle) == 1,
			 "dmesg says the steal source once, as sysfs does (%s)\n", src);
	if (steal_time) {
		ksft_test_result(!strcmp(src, "kvm-steal-time"),
				 "the host offers steal time: steal_source kvm-steal-time (%s)\n",
				 src);
		return;
	}
	ksft_test_result(!strcmp(src, "none"),
			 "pvx_steal_time=off: no KVM steal time, steal_source none (%s)\n", src);
	ksft_test_result(dmesg_count(WALL_TIME_LINE("host offers no KVM_FEATURE_STEAL_TIME")) > 0,
			 "pvx_steal_time=off: dmesg says the timers run on wall time\n");
}

/*
 * The child of test_rmmod_armed(): an armed periodic timer fd, said on
 * its stdout, until killed.
 */
static __noreturn void hold_armed_fd(const void *unused)
{
	int fd = stimer_create(0, 10 * MS, 10 * MS, 0);

	(void)unused;
	if (fd < 0 || write(STDOUT_FILENO, "armed", 5) != 5)
		_exit(KSFT_FAIL);
	for (;;)
		pause();
}

/*
 * A child that holds an armed timer fd: its pid, and in *@armed whether
 * it said so within 20 s (it has not when it could not create one).
 */
static pid_t start_holder(bool *armed)
{
	struct pollfd pfd = { .events = POLLIN };
	char buf[8];
	FILE *out;
	pid_t pid = piped_child(hold_armed_fd, NULL, &out);

	pfd.fd = out ? fileno(out) : -1;
	*armed = pid > 0 && out && poll(&pfd, 1, 20000) == 1 &&
		 read(pfd.fd, buf, sizeof(buf)) > 0;
	if (out)
		fclose(out);
	return pid;
}

/*
 * An armed timer fd holds pvx_stimer: rmmod refused while another
 * process has one open, done once that process exited, and the module's
 * sysfs directory gone with it.
 */
static void test_rmmod_armed(void)
{
	bool armed;
	pid_t pid = start_holder(&armed);
	int err;

	ksft_test_result(armed, "a process holds an armed periodic timer fd\n");
	ksft_test_result(module_unload(STIMER_MOD) != 0,
			 "rmmod pvx_stimer refused while a timer fd is armed\n");
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	err = module_unload(STIMER_MOD);
	rmmod_result(err, "rmmod pvx_stimer once the fd is closed");
	ksft_test_result(stimer_gone(), "/sys/kernel/pvx/stimer gone after rmmod\n");
}

/* The --source tests, in the order they build on each other. */
static void run_suite(const char *want)
{
	test_sysfs(want);
	test_steal_query();
	test_create_bad();
	test_fd_basics();
	test_epoll_many();
	test_unprivileged();
	test_cancel_race();
	test_vs_hrtimer();
	test_overcommit();
}

/* The --source tests of @want, for piped_child(). */
static void suite_child(const void *want)
{
	run_suite(want);
}

/*
 * The --source @want tests in a child process, as init.sh ran them: the
 * timer fds they leave close when it exits, before the rmmod after them,
 * and tests that give up (ksft_exit_fail_msg()) do not end the ones after
 * them. Its results are relayed; returns how many it gave.
 */
static unsigned int suite_in_child(const char *want)
{
	unsigned int results = 0;
	char *line = NULL;
	size_t size = 0;
	int status;
	FILE *out;
	pid_t pid = piped_child(suite_child, want, &out);

	if (pid < 0)
		ksft_print_msg("fork for the --source %s tests: %s\n", want, strerror(errno));
	while (out && getline(&line, &size, out) > 0)
		relay_line(line, "", &results);
	free(line);
	if (out)
		fclose(out);
	if (pid > 0 && waitpid(pid, &status, 0) == pid &&
	    (!WIFEXITED(status) || WEXITSTATUS(status)))
		ksft_print_msg("the --source %s tests ended early: wait status %#x\n", want,
			       status);
	return results;
}

/*
 * The wall-clock fallback, forced: what a host without steal time gets.
 * On a failed load its other NONE_TESTS - 1 results are skips.
 */
static void test_steal_source_none(const char *ko)
{
	int err = module_load(ko, "steal_source=none"), i;
	char src[32] = "";

	if (err) {
		ksft_test_result_fail("insmod pvx_stimer.ko steal_source=none # %s\n",
				      strerror(-err));
		for (i = 1; i < NONE_TESTS; i++)
			ksft_test_result_skip("steal_source=none: test %d of %d, not loaded\n",
					      i, NONE_TESTS - 1);
		return;
	}
	ksft_test_result_pass("insmod pvx_stimer.ko steal_source=none\n");
	read_file(SYSDIR "/steal_source", src, sizeof(src));
	ksft_test_result(!strcmp(src, "none") &&
			 dmesg_count(WALL_TIME_LINE("steal_source=none")) > 0,
			 "steal_source=none: sysfs and dmesg say none, wall time\n");
	for (i = suite_in_child("none"); i < NR_TESTS; i++)
		ksft_test_result_fail("steal_source=none: test %d of %d gave no result\n",
				      i + 1, NR_TESTS);
	rmmod_result(module_unload(STIMER_MOD), "rmmod pvx_stimer (steal_source=none)");
}

/* steal_source=kcpustat is taken; a failed load skips its rmmod. */
static void test_kcpustat(const char *ko)
{
	int err = module_load(ko, "steal_source=kcpustat");
	char src[32] = "";

	if (err) {
		ksft_test_result_fail("insmod pvx_stimer.ko steal_source=kcpustat # %s\n",
				      strerror(-err));
		ksft_test_result_skip("rmmod pvx_stimer (steal_source=kcpustat): not loaded\n");
		return;
	}
	read_file(SYSDIR "/steal_source", src, sizeof(src));
	ksft_test_result(!strcmp(src, "kcpustat"), "steal_source=kcpustat: sysfs says kcpustat\n");
	rmmod_result(module_unload(STIMER_MOD), "rmmod pvx_stimer (steal_source=kcpustat)");
}

/*
 * A load with @params that must be refused: whether it was. One that is
 * not stays loaded, as with insmod: the check after them sees it.
 */
static bool load_refused(const char *ko, const char *params)
{
	int err = module_load(ko, params);

	ksft_print_msg("insmod pvx_stimer.ko %s: %s\n", params, err ? strerror(-err) : "loaded");
	return err != 0;
}

/*
 * The load parameters: kcpustat is taken; bad values are refused, and so
 * is kvm-steal-time without KVM steal time (@steal_time false), taken
 * with it; the refused loads leave nothing behind.
 */
static void test_load_params(const char *ko, bool steal_time)
{
	int err;

	test_kcpustat(ko);
	ksft_test_result(load_refused(ko, "steal_source=bogus"),
			 "insmod steal_source=bogus refused\n");
	ksft_test_result(load_refused(ko, "cap_factor=0"), "insmod cap_factor=0 refused\n");
	ksft_test_result(load_refused(ko, "cap_factor=65"), "insmod cap_factor=65 refused\n");
	if (steal_time) {
		err = module_load(ko, "steal_source=kvm-steal-time");
		err = err ? err : module_unload(STIMER_MOD);
		result_why(!err, strerror(-err),
			   "insmod steal_source=kvm-steal-time with KVM steal time");
	} else {
		ksft_test_result(load_refused(ko, "steal_source=kvm-steal-time"),
				 "insmod steal_source=kvm-steal-time refused without KVM steal time\n");
	}
	ksft_test_result(stimer_gone(), "nothing left of pvx_stimer after the refused loads\n");
}

/* --module: pvx_stimer loaded at the start, unloaded at the end. */
static int module_tests(const char *ko, bool steal_time)
{
	const unsigned int plan = ARMED_TESTS + NONE_TESTS + PARAM_TESTS;

	ksft_print_header();
	ksft_set_plan(plan);
	test_rmmod_armed();
	console_step("pvx_stimer_test steal_source=none");
	test_steal_source_none(ko);
	console_step("pvx_stimer parameters");
	test_load_params(ko, steal_time);
	close(pvx_fd);
	return tests_done(plan);
}

/* --source, after --steal-time's checks of the load when asked (@steal_time >= 0) */
static int source_tests(const char *want, int steal_time)
{
	const unsigned int plan = NR_TESTS + (steal_time < 0 ? 0 : LOAD_TESTS(steal_time));

	ksft_print_header();
	/*
	 * NR_TESTS: sysfs 3, query 8, create 12, fd 17, epoll 3,
	 * unprivileged 3, race 3, timing 1, steal 5
	 */
	ksft_set_plan(plan);
	if (steal_time >= 0)
		test_load_lines(steal_time);
	run_suite(want);
	close(pvx_fd);
	return tests_done(plan);
}

/* ---- --torture: pvx_stimer_torture.ko ----------------------------------- */

#define TORTURE_MOD	"pvx_stimer_torture"
#define TORTURE_RESULTS	"/sys/kernel/debug/pvx_stimer_torture/results"

/*
 * --torture KO ROUNDS: the test module KO loaded with race_rounds=ROUNDS
 * runs the kernel API tests, its results relayed; with it loaded, a late
 * expiry (its irqs_off_us); pvx_stimer's rmmod refused while the torture
 * uses it; after the torture's rmmod every timer started fired or was
 * cancelled. Then pvx_stimer's sysfs files as comments.
 */
static int torture_tests(const char *ko, const char *rounds)
{
	long long s, e, c, x;
	char params[64], *text;
	int err;

	ksft_print_header();
	console_step("pvx_stimer_torture");
	snprintf(params, sizeof(params), "race_rounds=%s", rounds);
	err = module_load(ko, params);
	result_why(!err, strerror(-err),
		   "insmod pvx_stimer_torture.ko (runs the kernel API tests)");
	if (!err) {
		text = read_text(TORTURE_RESULTS);
		if (text)
			relay_text(text, "");
		else
			ksft_test_result_fail("pvx_stimer_torture results # no %s\n",
					      TORTURE_RESULTS);
		free(text);
		late_tests();
		ksft_test_result(module_unload(STIMER_MOD),
				 "rmmod pvx_stimer refused while pvx_stimer_torture uses it\n");
		rmmod_result(module_unload(TORTURE_MOD), "rmmod pvx_stimer_torture");
		s = sysfs_read_counter(SYSDIR, "started");
		e = sysfs_read_counter(SYSDIR, "fired_effective");
		c = sysfs_read_counter(SYSDIR, "fired_cap");
		x = sysfs_read_counter(SYSDIR, "cancelled");
		ksft_test_result(s >= 0 && s == e + c + x,
				 "after the torture: started %lld = %lld effective + %lld cap + %lld cancelled (stale %lld)\n",
				 s, e, c, x, sysfs_read_counter(SYSDIR, "stale"));
	}
	print_sysfs_dir(SYSDIR, "stimer");
	ksft_set_plan(ksft_test_num());
	return tests_done(ksft_test_num());
}

/* ---- options ----------------------------------------------------------------- */

struct options {
	const char *source;	/* --source: what steal_source pvx_stimer has */
	const char *module;	/* --module: the pvx_stimer.ko to load */
	const char *load;	/* --load: seconds */
	const char *torture;	/* --torture: pvx_stimer_torture.ko, then rounds */
	const char *rounds;
	int steal_time;		/* --steal-time on 1, off 0, not given -1 */
};

static __noreturn void bad_options(const char *prog)
{
	ksft_exit_fail_msg("usage: %s --source SOURCE [--steal-time on|off]\n"
			   "       %s --module PATH_TO_pvx_stimer.ko --steal-time on|off\n"
			   "       %s --torture KO ROUNDS | --load SECONDS\n"
			   "SOURCE: auto, none, kcpustat or kvm-steal-time\n", prog, prog, prog);
}

static void torture_args(struct options *o, const char *ko, const char *rounds)
{
	o->torture = ko;
	o->rounds = rounds;
}

/* The options, one mode of them; --steal-time with --source or --module only. */
static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "module", required_argument, NULL, 'm' },
		{ "load", required_argument, NULL, 'l' },
		{ "torture", required_argument, NULL, 'T' },
		{ "steal-time", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){ .steal_time = -1 };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 's')
			o->source = optarg;
		else if (c == 'm')
			o->module = optarg;
		else if (c == 'l')
			o->load = optarg;
		else if (c == 'T' && optind < argc)
			torture_args(o, optarg, argv[optind++]);
		else if (c == 't' && (!strcmp(optarg, "on") || !strcmp(optarg, "off")))
			o->steal_time = !strcmp(optarg, "on");
		else
			bad_options(argv[0]);
	}
	if (optind != argc || !!o->source + !!o->module + !!o->load + !!o->torture != 1 ||
	    (o->module && o->steal_time < 0) ||
	    ((o->load || o->torture) && o->steal_time >= 0))
		bad_options(argv[0]);
}

int main(int argc, char **argv)
{
	struct options o;

	/* run_kselftest.sh runs it without arguments: a skip, not a failure */
	if (argc == 1)
		ksft_exit_skip("no mode: the lab's init.sh gives %s\n",
			       "--source, --torture, --module or --load");

	parse_options(argc, argv, &o);
	pvx_fd = open(DEVNODE, O_RDONLY);
	if (pvx_fd < 0)
		ksft_exit_fail_msg("cannot open " DEVNODE ": %s\n", strerror(errno));
	if (o.load)
		return timer_load(o.load);
	if (o.torture)
		return torture_tests(o.torture, o.rounds);
	if (o.module)
		return module_tests(o.module, o.steal_time);
	return source_tests(o.source, o.steal_time);
}
