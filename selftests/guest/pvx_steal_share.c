// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_steal_share: runs inside an L3 guest whose L2 host injects steal
 * (selftests/guest/steal-l2.sh). Asks L2 for each steal level through the
 * control port (the guest's second serial port), keeps one vCPU busy for a
 * few seconds and checks that the share of steal time the guest observed
 * on that vCPU matches the injected one.
 *
 *   pvx_steal_share [options]          measure, TAP 13 on stdout
 *     --levels L,L,...   injected levels in percent (default 0,25,50,75)
 *     --seconds S        busy time per level (default 3)
 *     --tolerance PP     allowed |observed - injected|, percentage points
 *                        (default 10)
 *     --cpu N            the vCPU to keep busy (default 0)
 *     --restore PCT      level to ask for at the end (default: none)
 *     --expect-none      the guest has no KVM steal time
 *                        (-cpu ...,kvm-steal-time=off): it must observe
 *                        no steal at any level
 *     --port DEV         control port (default /dev/ttyS1)
 *   pvx_steal_share --set PCT [--port DEV]
 *                      only ask for a level; exit 0 once L2 applied it
 *
 * The lab has steal of its own (L3's 4 vCPUs share L2's 2 CPUs with the
 * other labs' work: 13.7% with nothing injected in a CI run): the 0% level
 * measures it (it must stay under 50%, or the levels cannot be told
 * apart), and each injected level L must be observed within
 * [L - tolerance, L + own steal + tolerance] (throttling and the lab's
 * own steal overlap, so they do not simply add).
 *
 * Observed share = delta of the vCPU's steal (/proc/stat, USER_HZ) over
 * the delta of CLOCK_MONOTONIC. Independently of steal time, the busy
 * loop's iterations per second relative to the 0% level show how much
 * CPU the vCPU really got (a diagnostic: it is a speed, never asserted).
 *
 * Exit 0 all passed, 1 any failed (2 usage error), 4 all skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "l2_ctl.h"

#define MAX_LEVELS	16

static const char *port = "/dev/ttyS1";

static void print_usage(void)
{
	fprintf(stderr,
		"usage: pvx_steal_share [--levels L,L,..] [--seconds S] [--tolerance PP]\n"
		"                       [--cpu N] [--restore PCT] [--expect-none] [--port DEV]\n"
		"       pvx_steal_share --set PCT [--port DEV]\n");
	exit(2);
}

/* a whole decimal number in [min, max], else usage error */
static long parse_num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "pvx_steal_share: %s must be %ld..%ld, got '%s'\n",
			what, min, max, s);
		print_usage();
	}
	return v;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ask L2 for a steal level; 0 once applied, else -errno with why[] set */
static int request_level(int pct, char *why, size_t len)
{
	char request[32], want[32];

	snprintf(request, sizeof(request), "steal %d", pct);
	snprintf(want, sizeof(want), "ok %d", pct);
	return l2_ask(port, request, want, why, len);
}

/* steal of one CPU in USER_HZ ticks from /proc/stat, or -1 */
static long long cpu_steal(int cpu)
{
	unsigned long long v[8];
	char name[16], want[16], line[512];
	long long ret = -1;
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "cpu%d", cpu);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %llu %llu %llu %llu %llu %llu %llu %llu", name,
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 9 &&
		    !strcmp(name, want)) {
			ret = v[7];
			break;
		}
	}
	fclose(f);
	return ret;
}

static volatile unsigned long sink;

/* spin for secs of wall time; loop iterations done */
static unsigned long long busy(double secs)
{
	double end = now_s() + secs;
	unsigned long long iters = 0;
	unsigned long x = 1;
	int i;

	while (now_s() < end) {
		for (i = 0; i < 1000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
		iters++;
	}
	sink = x;
	return iters;
}

struct result {
	int level;
	int err;		/* 0, or -errno of the request */
	char why[160];
	double share;		/* observed steal / wall, percent */
	double rate;		/* loop iterations per second */
};

static void measure(struct result *r, double secs, int cpu, long hz)
{
	long long s0, s1;
	double t0, t1;
	unsigned long long iters;

	r->err = request_level(r->level, r->why, sizeof(r->why));
	if (r->err)
		return;
	busy(0.5);		/* let a throttled period pass before counting */
	s0 = cpu_steal(cpu);
	t0 = now_s();
	iters = busy(secs);
	t1 = now_s();
	s1 = cpu_steal(cpu);
	if (s0 < 0 || s1 < 0) {
		r->err = -ENOENT;
		snprintf(r->why, sizeof(r->why), "no cpu%d line in /proc/stat", cpu);
		return;
	}
	r->share = 100.0 * (double)(s1 - s0) / hz / (t1 - t0);
	r->rate = iters / (t1 - t0);
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int main(int argc, char **argv)
{
	struct result res[MAX_LEVELS];
	int nlev = 0, cpu = 0, restore = -1, set = -1, i;
	double secs = 3, tol = 10, rate0 = 0, own = 0;
	bool expect_none = false;
	char levels[256] = "0,25,50,75", why[160], *tok, *save;
	long hz = sysconf(_SC_CLK_TCK);

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--expect-none")) {
			expect_none = true;
			continue;
		}
		if (!v)
			print_usage();
		i++;
		if (!strcmp(a, "--levels"))
			snprintf(levels, sizeof(levels), "%s", v);
		else if (!strcmp(a, "--seconds"))
			secs = parse_num(v, 1, 60, "--seconds");
		else if (!strcmp(a, "--tolerance"))
			tol = parse_num(v, 0, 100, "--tolerance");
		else if (!strcmp(a, "--cpu"))
			cpu = parse_num(v, 0, CPU_SETSIZE - 1, "--cpu");
		else if (!strcmp(a, "--restore"))
			restore = parse_num(v, 0, 99, "--restore");
		else if (!strcmp(a, "--set"))
			set = parse_num(v, 0, 99, "--set");
		else if (!strcmp(a, "--port"))
			port = v;
		else
			print_usage();
	}

	if (set >= 0) {
		if (request_level(set, why, sizeof(why))) {
			fprintf(stderr, "pvx_steal_share: steal %d%%: %s\n", set, why);
			return 1;
		}
		return 0;
	}

	for (tok = strtok_r(levels, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (nlev == MAX_LEVELS)
			print_usage();
		res[nlev++].level = parse_num(tok, 0, 99, "a level");
	}
	if (!nlev || hz <= 0)
		print_usage();

	ksft_print_header();
	ksft_set_plan(nlev + 1);
	ksft_print_msg("busy loop on cpu%d, %.0f s per level, tolerance %.0f points%s\n",
		       cpu, secs, tol, expect_none ? ", no steal time expected" : "");
	i = pin(cpu);
	ksft_test_result(i == 0, "pin the busy loop to cpu%d%s%s\n", cpu,
			 i ? ": " : "", i ? strerror(-i) : "");
	for (i = 0; i < nlev; i++) {
		struct result *r = &res[i];

		measure(r, secs, cpu, hz);
		if (r->err) {
			ksft_test_result_fail("steal %d%% injected: %s\n", r->level, r->why);
			continue;
		}
		if (r->level == 0 && rate0 == 0)
			rate0 = r->rate;
		if (rate0 > 0)
			ksft_print_msg("level %d%%: observed steal %.1f%%, %.0f loops/s = %.2f of the 0%% level\n",
				       r->level, r->share, r->rate, r->rate / rate0);
		else
			ksft_print_msg("level %d%%: observed steal %.1f%%, %.0f loops/s\n",
				       r->level, r->share, r->rate);
		if (expect_none) {
			ksft_test_result(r->share == 0,
					 "steal %d%% injected, no steal time: guest observes %.1f%% (must be 0)\n",
					 r->level, r->share);
		} else if (r->level == 0) {
			own = r->share;
			ksft_test_result(own < 50,
					 "steal 0%% injected: the lab's own steal %.1f%% is under 50%%\n",
					 own);
		} else {
			ksft_test_result(r->share >= r->level - tol &&
					 r->share <= r->level + own + tol,
					 "steal %d%% injected: guest observes %.1f%% (within %d - %.0f .. %d + own %.1f + %.0f)\n",
					 r->level, r->share, r->level, tol, r->level,
					 own, tol);
		}
	}
	if (restore >= 0 && request_level(restore, why, sizeof(why)))
		ksft_print_msg("restoring steal %d%%: %s\n", restore, why);
	ksft_finished();
}
