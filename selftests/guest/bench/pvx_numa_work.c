// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_numa_work: the L3 workload of the NUMA benchmark
 * (selftests/host/pvx_bench_numa.c). One thread per online CPU, pinned there,
 * each with its own buffer that it fills, then optionally names to the
 * host (PVX_IOC_NUMA_HINT, pvx_locality.ko), then reads and writes for
 * SECS seconds.
 *
 *   pvx_numa_work MB SECS hint|nohint
 *
 * Prints per thread "work cpu=N hint=RESULT home=H passes=P" (RESULT: ok,
 * off, or the errno name); exit 0 when every thread ran.
 *
 * Where its buffer is: once filled, each thread reads the guest-physical
 * frames of its buffer from /proc/self/pagemap (root) and writes them on
 * the console (/dev/console, so that L2 reads them while the workload
 * runs), contiguous frames merged, hexadecimal:
 *   gpa cpu=N PFN+COUNT PFN+COUNT ...     (several lines)
 *   gpa cpu=N end pages=P missing=M       (M: not resident, not listed)
 * Bytes 8..63 of every page keep the value the fill wrote (cpu + 1): the
 * loop writes byte 0 of each cache line only, so L2 can check that it
 * found the right page (pvx_bench_numa's page reader).
 *
 * With hint, the cost of a hint: after the first hint, COST_ROUNDS rounds
 * of, each timed alone, one CPUID (a bare exit that the host's KVM
 * handles: the stock round trip), one PVX_IOC_GET_INFO (a /dev/pvx ioctl
 * without an exit), one PVX_IOC_NUMA_HINT of the buffer's first page and
 * one of the whole buffer (the host's hint_interval_ms must be 0), medians:
 *   cost cpu=N rounds=R cpuid_ns=C getinfo_ns=G hint1_ns=H1 hint_ns=H
 *        hint_pages=P hint_ranges=Q errors=E
 */
#define _GNU_SOURCE
#include <cpuid.h>
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
#include <stdint.h>

#include "pvx.h"

#define PAGE	4096ul
#define MAX_CPUS 64
#define COST_ROUNDS 25
#define GPA_PER_LINE 16

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
static int console_fd = 2;
static pthread_mutex_t console_lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* one line on the console in one write(), lines of threads not mixed */
static void console_line(const char *line)
{
	size_t len = strlen(line);

	pthread_mutex_lock(&console_lock);
	if (write(console_fd, line, len) != (ssize_t)len)
		fprintf(stderr, "error writing to the console\n");
	pthread_mutex_unlock(&console_lock);
}

/* the buffer's guest-physical frames on the console (see the top) */
static void report_pages(struct worker *w, const char *buf)
{
	size_t npages = w->len / PAGE, i, pages = 0, missing = 0;
	uint64_t *pm, start = 0, count = 0, pfn;
	char line[GPA_PER_LINE * 40 + 64];
	int fd, nline = 0, off;

	pm = calloc(npages, sizeof(*pm));
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (!pm || fd < 0 ||
	    pread(fd, pm, npages * sizeof(*pm),
		  (uintptr_t)buf / PAGE * sizeof(*pm)) != (ssize_t)(npages * sizeof(*pm))) {
		snprintf(line, sizeof(line), "gpa cpu=%d error pagemap\n", w->cpu);
		console_line(line);
		goto out;
	}
	off = snprintf(line, sizeof(line), "gpa cpu=%d", w->cpu);
	for (i = 0; i <= npages; i++) {
		/* bit 63: present, bits 0-54: the frame (0 without CAP_SYS_ADMIN) */
		pfn = i < npages ? pm[i] & ((1ull << 55) - 1) : 0;
		if (i < npages && (!(pm[i] >> 63) || !pfn)) {
			missing++;
			continue;
		}
		if (i < npages && count && pfn == start + count) {
			count++;
			continue;
		}
		if (count) {
			off += snprintf(line + off, sizeof(line) - off, " %llx+%llx",
					(unsigned long long)start, (unsigned long long)count);
			pages += count;
			if (++nline == GPA_PER_LINE) {
				snprintf(line + off, sizeof(line) - off, "\n");
				console_line(line);
				off = snprintf(line, sizeof(line), "gpa cpu=%d", w->cpu);
				nline = 0;
			}
		}
		start = pfn;
		count = 1;
	}
	if (nline) {
		snprintf(line + off, sizeof(line) - off, "\n");
		console_line(line);
	}
	snprintf(line, sizeof(line), "gpa cpu=%d end pages=%zu missing=%zu\n",
		 w->cpu, pages, missing);
	console_line(line);
out:
	if (fd >= 0)
		close(fd);
	free(pm);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/* what one hint costs against a bare exit and a bare ioctl (see the top) */
static void measure_cost(struct worker *w, char *buf)
{
	uint64_t cpuid[COST_ROUNDS], info[COST_ROUNDS], hint1[COST_ROUNDS];
	uint64_t hint[COST_ROUNDS], t;
	struct pvx_numa_hint_req r;
	struct pvx_info pi;
	unsigned int a, b, c, d;
	int i, errors = 0;
	uint64_t pages = 0, ranges = 0;

	for (i = 0; i < COST_ROUNDS; i++) {
		t = now_ns();
		__cpuid(0, a, b, c, d);
		cpuid[i] = now_ns() - t;
		(void)a; (void)b; (void)c; (void)d;

		memset(&pi, 0, sizeof(pi));
		pi.size = sizeof(pi);
		t = now_ns();
		errors += !!ioctl(pvx_fd, PVX_IOC_GET_INFO, &pi);
		info[i] = now_ns() - t;

		memset(&r, 0, sizeof(r));
		r.addr = (unsigned long)buf;
		r.len = PAGE;
		t = now_ns();
		errors += !!ioctl(pvx_fd, PVX_IOC_NUMA_HINT, &r);
		hint1[i] = now_ns() - t;

		memset(&r, 0, sizeof(r));
		r.addr = (unsigned long)buf;
		r.len = w->len;
		t = now_ns();
		errors += !!ioctl(pvx_fd, PVX_IOC_NUMA_HINT, &r);
		hint[i] = now_ns() - t;
		pages = r.pages;
		ranges = r.ranges;
	}
	/* one printf: the threads' lines are not mixed */
	printf("cost cpu=%d rounds=%d cpuid_ns=%llu getinfo_ns=%llu hint1_ns=%llu hint_ns=%llu %s=%llu %s=%llu errors=%d\n",
	       w->cpu, COST_ROUNDS,
	       (unsigned long long)median(cpuid, COST_ROUNDS),
	       (unsigned long long)median(info, COST_ROUNDS),
	       (unsigned long long)median(hint1, COST_ROUNDS),
	       (unsigned long long)median(hint, COST_ROUNDS),
	       "hint_pages", (unsigned long long)pages,
	       "hint_ranges", (unsigned long long)ranges, errors);
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
	report_pages(w, buf);
	if (w->hint && !strcmp(w->result, "ok"))
		measure_cost(w, buf);
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
	console_fd = open("/dev/console", O_WRONLY | O_NOCTTY);
	if (console_fd < 0)
		console_fd = 2;
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
