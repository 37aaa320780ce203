// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_numa_work: the L3 workload of the NUMA benchmark
 * (scripts/bench-numa-l2.sh). One thread per online CPU, pinned there,
 * each with its own buffer that it fills, then optionally names to the
 * host (PVX_IOC_NUMA_HINT, pvx_locality.ko), then reads and writes for
 * SECS seconds.
 *
 *   pvx_numa_work MB SECS hint|nohint
 *
 * Prints per thread "work cpu=N hint=RESULT home=H passes=P" (RESULT: ok,
 * off, or the errno name); exit 0 when every thread ran.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"

#define PAGE	4096ul
#define MAX_CPUS 64

struct worker {
	pthread_t t;
	int cpu;
	size_t len;
	double secs;
	int hint;		/* ask the host */
	char result[32];
	int home;
	unsigned long passes;
};

static int pvx_fd = -1;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void send_hint(struct worker *w, char *buf)
{
	struct pvx_numa_hint_req r = { .addr = (unsigned long)buf, .len = w->len };

	if (!w->hint) {
		snprintf(w->result, sizeof(w->result), "off");
		return;
	}
	if (ioctl(pvx_fd, PVX_IOC_NUMA_HINT, &r)) {
		snprintf(w->result, sizeof(w->result), "%s", strerror(errno));
		return;
	}
	snprintf(w->result, sizeof(w->result), "ok");
	w->home = r.home;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	cpu_set_t one;
	double end;
	char *buf;
	size_t i;

	CPU_ZERO(&one);
	CPU_SET(w->cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return NULL;
	buf = aligned_alloc(PAGE, w->len);
	if (!buf)
		return NULL;
	memset(buf, w->cpu + 1, w->len);
	send_hint(w, buf);
	end = now() + w->secs;
	while (now() < end) {
		/* one write per cache line: every line of the buffer is used */
		for (i = 0; i < w->len; i += 64)
			buf[i]++;
		w->passes++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker w[MAX_CPUS];
	int n = 0, cpu, ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (argc != 4 || (strcmp(argv[3], "hint") && strcmp(argv[3], "nohint"))) {
		fprintf(stderr, "usage: pvx_numa_work MB SECS hint|nohint\n");
		return 2;
	}
	pvx_fd = open("/dev/pvx", O_RDONLY);
	for (cpu = 0; cpu < ncpu && n < MAX_CPUS; cpu++, n++) {
		memset(&w[n], 0, sizeof(w[n]));
		w[n].cpu = cpu;
		w[n].len = strtoul(argv[1], NULL, 0) << 20;
		w[n].secs = atof(argv[2]);
		w[n].hint = !strcmp(argv[3], "hint");
		w[n].home = -1;
		if (pthread_create(&w[n].t, NULL, work, &w[n]))
			return 1;
	}
	for (cpu = 0; cpu < n; cpu++) {
		pthread_join(w[cpu].t, NULL);
		printf("work cpu=%d hint=%s home=%d passes=%lu\n", w[cpu].cpu,
		       w[cpu].result[0] ? w[cpu].result : "none", w[cpu].home,
		       w[cpu].passes);
	}
	return 0;
}
