// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_stimer_ubench: the userspace half of the retransmit-timeout
 * benchmark (make bench, Documentation/bench.rst), in the L3 bench guest
 * with pvx_guest.ko and pvx_stimer.ko loaded.
 *
 * One thread pinned to a CPU runs a steady loop (1024 multiply/add steps,
 * then a non-blocking read() of the timer fd) while a timer with deadline D
 * is armed, for K timers, alternating between
 *
 *   timerfd  timerfd_create(CLOCK_MONOTONIC): wall-clock time;
 *   pvxfd    the timer fd of PVX_IOC_STIMER_CREATE: D of effective time,
 *            wall-clock cap cap_factor x D.
 *
 * At expiry the CPU the thread got since the arming is effective time =
 * wall - this CPU's steal meanwhile, from PVX_IOC_STEAL_QUERY with
 * PVX_STEAL_SINCE. Less than D is a spurious timeout. --arm measures the
 * cost of arming instead: loops x (arm for 1 s, disarm) per batch with
 * timerfd_settime() and PVX_IOC_STIMER_SETTIME, 5 batches each
 * interleaved, the fastest batch reported.
 *
 *   pvx_stimer_ubench [--label L] [--timers K] [--deadline-ms D]
 *                     [--cap-factor F] [--cpu C] [--arm] [--arm-loops N]
 *
 * Output: one line per kind,
 *   ustimer label=L kind=K cpu=C timers=K deadline_ns=D fired=N spurious=N
 *           capped=N missed=N eff_mean_ns=.. wall_mean_ns=.. steal_mean_ns=..
 *           err_mean_ppm=.. err_max_ppm=..
 *   uarm kind=K loops=N batches=5 ns_per_arm=..
 * Exit 0, 1 when something could not run (the reason on stderr), 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"

#define NSEC_PER_SEC	1000000000ull
#define ARM_BATCHES	5

enum kind { K_TIMERFD, K_PVXFD, K_NR };
static const char *const kind_names[K_NR] = { "timerfd", "pvxfd" };

static int dev_fd = -1;
static int fds[K_NR];
static volatile unsigned long sink;

struct sum {
	unsigned int fired, spurious, capped, missed;
	uint64_t eff, wall, steal, err_ppm_sum, err_ppm_max;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: pvx_stimer_ubench [--label L] [--timers K] [--deadline-ms D]\n"
		"                         [--cap-factor F] [--cpu C] [--arm] [--arm-loops N]\n");
	exit(2);
}

static long num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "pvx_stimer_ubench: %s must be %ld..%ld, got '%s'\n",
			what, min, max, s);
		usage();
	}
	return v;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int die(const char *what)
{
	fprintf(stderr, "pvx_stimer_ubench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void steal_now(struct pvx_steal_snapshot *snap)
{
	struct pvx_steal_query q = { 0 };

	if (ioctl(dev_fd, PVX_IOC_STEAL_QUERY, &q) < 0)
		die("PVX_IOC_STEAL_QUERY");
	*snap = q.now;
}

static void steal_since(const struct pvx_steal_snapshot *since, uint64_t *wall,
			uint64_t *steal)
{
	struct pvx_steal_query q = { .flags = PVX_STEAL_SINCE, .since = *since };

	if (ioctl(dev_fd, PVX_IOC_STEAL_QUERY, &q) < 0)
		die("PVX_IOC_STEAL_QUERY since");
	*wall = q.wall_ns;
	*steal = q.steal_ns;
}

/* arm (value_ns > 0) or disarm (0) a timer of kind k */
static void arm(enum kind k, uint64_t value_ns, uint64_t cap_ns)
{
	if (k == K_TIMERFD) {
		struct itimerspec its = {
			.it_value = { value_ns / NSEC_PER_SEC, value_ns % NSEC_PER_SEC },
		};

		if (timerfd_settime(fds[k], 0, &its, NULL) < 0)
			die("timerfd_settime");
	} else {
		struct pvx_stimer_settime st = {
			.new_spec = { .value_ns = value_ns, .cap_ns = value_ns ? cap_ns : 0 },
		};

		if (ioctl(fds[k], PVX_IOC_STIMER_SETTIME, &st) < 0)
			die("PVX_IOC_STIMER_SETTIME");
	}
}

/* was the last expiry of the pvx fd the cap? */
static bool capped(enum kind k)
{
	struct pvx_stimer_state s;

	if (k != K_PVXFD)
		return false;
	if (ioctl(fds[k], PVX_IOC_STIMER_GETTIME, &s) < 0)
		die("PVX_IOC_STIMER_GETTIME");
	return s.last_bound == PVX_STIMER_BOUND_CAP;
}

/* the steady loop until the fd reads an expiry or give_up passes */
static bool loop_until_fired(enum kind k, uint64_t give_up)
{
	unsigned long x = 1;
	uint64_t count;
	int i;

	for (;;) {
		for (i = 0; i < 1024; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
		sink = x;
		if (read(fds[k], &count, sizeof(count)) == sizeof(count))
			return true;
		if (errno != EAGAIN)
			die("read of the timer fd");
		if (now_ns() > give_up)
			return false;
	}
}

static void one_timer(enum kind k, uint64_t d_ns, unsigned int cap_factor, struct sum *s)
{
	struct pvx_steal_snapshot start;
	uint64_t wall, steal, eff, err;
	bool fired;

	steal_now(&start);
	arm(k, d_ns, cap_factor * d_ns);
	fired = loop_until_fired(k, start.mono_ns + (cap_factor + 4) * d_ns);
	steal_since(&start, &wall, &steal);
	if (!fired) {
		arm(k, 0, 0);
		s->missed++;
		return;
	}
	eff = wall > steal ? wall - steal : 0;
	err = (eff > d_ns ? eff - d_ns : d_ns - eff) * 1000000 / d_ns;
	s->fired++;
	s->spurious += eff < d_ns;
	s->capped += capped(k);
	s->eff += eff;
	s->wall += wall;
	s->steal += steal;
	s->err_ppm_sum += err;
	if (err > s->err_ppm_max)
		s->err_ppm_max = err;
}

static void run_timers(const char *label, int cpu, unsigned int timers, uint64_t d_ns,
		       unsigned int cap_factor)
{
	struct sum sums[K_NR] = { 0 };
	unsigned int i;
	int k;

	for (i = 0; i < timers; i++)
		for (k = 0; k < K_NR; k++)
			one_timer(k, d_ns, cap_factor, &sums[k]);
	for (k = 0; k < K_NR; k++) {
		struct sum *s = &sums[k];
		unsigned int n = s->fired ? s->fired : 1;

		printf("ustimer label=%s kind=%s cpu=%d timers=%u deadline_ns=%llu fired=%u spurious=%u capped=%u missed=%u eff_mean_ns=%llu wall_mean_ns=%llu steal_mean_ns=%llu err_mean_ppm=%llu err_max_ppm=%llu\n",
		       label, kind_names[k], cpu, timers, (unsigned long long)d_ns, s->fired,
		       s->spurious, s->capped, s->missed,
		       (unsigned long long)(s->eff / n), (unsigned long long)(s->wall / n),
		       (unsigned long long)(s->steal / n),
		       (unsigned long long)(s->err_ppm_sum / n),
		       (unsigned long long)s->err_ppm_max);
	}
}

static void run_arm(unsigned int loops)
{
	uint64_t best[K_NR] = { UINT64_MAX, UINT64_MAX };
	unsigned int b, i;
	int k;

	for (b = 0; b < ARM_BATCHES; b++) {
		for (k = 0; k < K_NR; k++) {
			uint64_t t0 = now_ns(), t;

			for (i = 0; i < loops; i++) {
				arm(k, NSEC_PER_SEC, 2 * NSEC_PER_SEC);
				arm(k, 0, 0);
			}
			t = now_ns() - t0;
			if (t < best[k])
				best[k] = t;
		}
	}
	for (k = 0; k < K_NR; k++)
		printf("uarm kind=%s loops=%u batches=%d ns_per_arm=%llu\n", kind_names[k],
		       loops, ARM_BATCHES, (unsigned long long)(best[k] / loops));
}

int main(int argc, char **argv)
{
	const char *label = "none";
	unsigned int timers = 16, deadline_ms = 100, cap_factor = 16, arm_loops = 20000;
	struct pvx_stimer_create c = { .flags = PVX_STIMER_NONBLOCK | PVX_STIMER_CLOEXEC };
	bool arm_only = false;
	cpu_set_t set;
	int cpu = 0, i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--arm")) {
			arm_only = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--label"))
			label = v;
		else if (!strcmp(a, "--timers"))
			timers = num(v, 1, 10000, "--timers");
		else if (!strcmp(a, "--deadline-ms"))
			deadline_ms = num(v, 1, 60000, "--deadline-ms");
		else if (!strcmp(a, "--cap-factor"))
			cap_factor = num(v, 1, PVX_STIMER_CAP_FACTOR_MAX, "--cap-factor");
		else if (!strcmp(a, "--cpu"))
			cpu = num(v, 0, CPU_SETSIZE - 1, "--cpu");
		else if (!strcmp(a, "--arm-loops"))
			arm_loops = num(v, 100, 10000000, "--arm-loops");
		else
			usage();
	}

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
	dev_fd = open("/dev/pvx", O_RDWR | O_CLOEXEC);
	if (dev_fd < 0)
		die("open /dev/pvx");
	fds[K_TIMERFD] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fds[K_TIMERFD] < 0)
		die("timerfd_create");
	fds[K_PVXFD] = ioctl(dev_fd, PVX_IOC_STIMER_CREATE, &c);
	if (fds[K_PVXFD] < 0)
		die("PVX_IOC_STIMER_CREATE");

	if (arm_only)
		run_arm(arm_loops);
	else
		run_timers(label, cpu, timers, (uint64_t)deadline_ms * 1000000, cap_factor);
	return 0;
}
