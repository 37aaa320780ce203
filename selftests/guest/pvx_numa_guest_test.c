// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_numa_guest_test: runs inside an L3 guest with pvx_guest.ko and
 * pvx_locality.ko loaded; checks PVX_IOC_NUMA_HINT on /dev/pvx and
 * /sys/kernel/pvx/locality.
 *
 *   --expect-host      the L2 host runs pvx_numa: a hint of a resident
 *                      buffer is sent (ranges, pages, home node) and
 *                      counted; the host's rate limit answers EAGAIN
 *   --expect-fallback  no PVX_HC_NUMA_HINT: EOPNOTSUPP, nothing counted
 *   --auto             pvx_locality's automatic map (parameter auto on, the
 *                      host runs pvx_numa): a child pinned to the last CPU
 *                      writes its 8 MiB buffer; the map the module sent
 *                      for that CPU (debugfs pvx_locality/map) covers the
 *                      buffer's guest-physical pages (/proc/PID/pagemap);
 *                      an unchanged map is not sent again; a new buffer
 *                      is (accepted, or refused by the host's rate limit)
 *
 * Both: each bad-input class (flags, reserved, length 0, unaligned, too
 * long, wrapping, not the caller's memory, an unprivileged caller), a
 * buffer with nothing resident, the pages of a buffer not faulted in by
 * the hint (the hints from CPU 0: --auto uses the last CPU, whose vCPU
 * the host's rate limit has not seen yet). TAP 13; exit 0 all passed, 1
 * any failed, 4 all skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"
#include "kselftest.h"
#include "sysfs_util.h"

#define LOCDIR	"/sys/kernel/pvx/locality"
#define MAPFILE	"/sys/kernel/debug/pvx_locality/map"
#define PARAMS	"/sys/module/pvx_locality/parameters"
#define BUF_MB	8
#define PAGE	4096ul

static int pvx_fd = -1;

static long long loc_stat(const char *name)
{
	return sysfs_read_counter(LOCDIR, name);
}

/* The ioctl: 0 or -errno. */
static int hint(struct pvx_numa_hint_req *req)
{
	return ioctl(pvx_fd, PVX_IOC_NUMA_HINT, req) ? -errno : 0;
}

static void expect_err(const char *desc, struct pvx_numa_hint_req req, int want)
{
	int got = hint(&req);

	ksft_test_result(got == want, "%s -> %s (got %s)\n", desc, strerror(-want),
			 got ? strerror(-got) : "success");
}

static void bad_input(char *buf)
{
	unsigned long a = (unsigned long)buf;
	const struct {
		const char *desc;
		struct pvx_numa_hint_req req;
		int want;
	} c[] = {
		{ "flags 1", { .addr = a, .len = PAGE, .flags = 1 }, -EINVAL },
		{ "reserved field", { .addr = a, .len = PAGE, .reserved = 1 }, -EINVAL },
		{ "length 0", { .addr = a, .len = 0 }, -EINVAL },
		{ "address not page aligned", { .addr = a + 8, .len = PAGE }, -EINVAL },
		{ "length not page aligned", { .addr = a, .len = PAGE + 1 }, -EINVAL },
		{ "longer than PVX_NUMA_HINT_MAX_LEN",
		  { .addr = a, .len = PVX_NUMA_HINT_MAX_LEN + PAGE }, -EINVAL },
		{ "a range that wraps", { .addr = -PAGE, .len = 2 * PAGE }, -EINVAL },
		{ "kernel memory", { .addr = 0xffff888000000000ul, .len = PAGE }, -EFAULT },
	};
	unsigned int i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		expect_err(c[i].desc, c[i].req, c[i].want);
	ksft_test_result(ioctl(pvx_fd, PVX_IOC_NUMA_HINT, NULL) && errno == EFAULT,
			 "NULL argument -> EFAULT\n");
}

/* As nobody (no CAP_SYS_NICE): EPERM, whatever the host offers. */
static void as_nobody(char *buf)
{
	struct pvx_numa_hint_req r = { .addr = (unsigned long)buf, .len = PAGE };
	int status = -1;
	pid_t pid = fork();

	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(hint(&r) == -EPERM ? 0 : 1);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	ksft_test_result(pid > 0 && WIFEXITED(status) && !WEXITSTATUS(status),
			 "an unprivileged caller -> EPERM\n");
}

static int resident_pages(char *p, size_t len)
{
	unsigned char vec[BUF_MB * 256];
	size_t i, n = len / PAGE;
	int res = 0;

	if (n > sizeof(vec) || mincore(p, len, vec))
		return -1;
	for (i = 0; i < n; i++)
		res += vec[i] & 1;
	return res;
}

/* Nothing resident: nothing to send, and the hint faults nothing in. */
static void not_resident(bool host)
{
	size_t len = BUF_MB << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pvx_numa_hint_req r = { .addr = (unsigned long)p, .len = len };

	if (p == MAP_FAILED) {
		ksft_test_result_fail("untouched buffer # mmap: %s\n", strerror(errno));
		return;
	}
	expect_err("a buffer never touched", r, host ? -ENODATA : -EOPNOTSUPP);
	ksft_test_result(resident_pages(p, len) == 0,
			 "the hint faulted none of it in (%d pages resident)\n",
			 resident_pages(p, len));
	munmap(p, len);
}

static void send_resident(char *buf, size_t len)
{
	struct pvx_numa_hint_req r = { .addr = (unsigned long)buf, .len = len };
	long long h0 = loc_stat("hints"), b0 = loc_stat("bytes"), g0 = loc_stat("ranges");
	long long e0 = loc_stat("eagain");
	int ret = hint(&r);

	ksft_print_msg("hint of %zu MiB: %s, ranges %u, pages %llu, home %d\n", len >> 20,
		       ret ? strerror(-ret) : "sent", r.ranges, (unsigned long long)r.pages,
		       r.home);
	/* a buffer scattered over more ranges than a batch holds fills it */
	ksft_test_result(!ret && r.ranges >= 1 && r.ranges <= PVX_NUMA_MAX_RANGES &&
			 (r.pages == len / PAGE ||
			  (r.ranges == PVX_NUMA_MAX_RANGES && r.pages >= r.ranges &&
			   r.pages < len / PAGE)),
			 "a resident %zu MiB buffer is sent: every page in 1..%u ranges, or a full batch of %u ranges\n",
			 len >> 20, PVX_NUMA_MAX_RANGES, PVX_NUMA_MAX_RANGES);
	ksft_test_result(!ret && r.home >= 0,
			 "the host names a home node for backed memory (%d)\n", r.home);
	ksft_test_result(loc_stat("hints") == h0 + 1 && loc_stat("ranges") == g0 + r.ranges &&
			 loc_stat("bytes") == b0 + (long long)(r.pages * PAGE),
			 "locality/hints, ranges, bytes count it\n");
	ret = hint(&r);
	ksft_test_result(ret == -EAGAIN && loc_stat("eagain") == e0 + 1,
			 "a second hint at once -> EAGAIN (the host's rate limit), counted\n");
}

/* ---- --auto: the automatic map ---------------------------------------- */

struct range {
	unsigned long long gpa, len;
};

/* One CPU's line of the debugfs map. */
struct map_cpu {
	int pid, home;
	long long hints, tries, unchanged;
};

/* CPU @cpu's entry of the debugfs map: its ranges into @r; -1 when none. */
static int map_of(int cpu, struct map_cpu *m, struct range *r, int max)
{
	char line[256];
	int c, nr = 0, in = 0, found = -1;
	FILE *f = fopen(MAPFILE, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "cpu %d pid %d comm %*s hints %lld tries %lld unchanged %lld home %d",
			   &c, &m->pid, &m->hints, &m->tries, &m->unchanged, &m->home) == 6) {
			in = c == cpu;
			if (in)
				found = 0;
		} else if (in && nr < max &&
			   sscanf(line, "range %llx %llx", &r[nr].gpa, &r[nr].len) == 2) {
			nr++;
		}
	}
	fclose(f);
	return found < 0 ? -1 : nr;
}

/* Guest-physical address of each page of @pid's [addr, addr + len). */
static int buffer_pages(pid_t pid, unsigned long addr, size_t len, unsigned long long *pa)
{
	char path[64];
	size_t i, n = len / PAGE;
	unsigned long long e;
	int fd, got = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (pread(fd, &e, sizeof(e), (addr / PAGE + i) * sizeof(e)) != sizeof(e))
			break;
		/* bit 63 present, bits 0-54 the frame */
		pa[i] = (e >> 63) ? (e & ((1ull << 55) - 1)) * PAGE : 0;
		got += pa[i] != 0;
	}
	close(fd);
	return got;
}

static size_t covered(const unsigned long long *pa, size_t n, const struct range *r, int nr)
{
	size_t i, c = 0;
	int j;

	for (i = 0; i < n; i++)
		for (j = 0; j < nr; j++)
			if (pa[i] && pa[i] >= r[j].gpa && pa[i] < r[j].gpa + r[j].len) {
				c++;
				break;
			}
	return c;
}

static int write_param(const char *name, const char *val)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), PARAMS "/%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ret = fputs(val, f) < 0;
	ret |= fclose(f) != 0;
	return ret ? -1 : 0;
}

/*
 * The child: pinned to @cpu, writes one byte per cache line of its buffer
 * forever; on SIGUSR1 it maps a new buffer (before it frees the old one,
 * so that the pages differ), and reports its address through @shared.
 */
static volatile sig_atomic_t swap_req;

static void on_usr1(int sig)
{
	(void)sig;
	swap_req = 1;
}

static void child_loop(int cpu, volatile unsigned long *shared, size_t len)
{
	cpu_set_t one;
	char *p, *q;
	size_t i;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		_exit(3);
	signal(SIGUSR1, on_usr1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(3);
	memset(p, 1, len);
	shared[0] = (unsigned long)p;
	for (;;) {
		if (swap_req) {
			swap_req = 0;
			q = mmap(NULL, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (q == MAP_FAILED)
				_exit(3);
			memset(q, 2, len);
			munmap(p, len);
			p = q;
			shared[0] = (unsigned long)p;
			shared[1]++;
		}
		for (i = 0; i < len; i += 64)
			p[i]++;
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* Wait for @k more rounds of the automatic map, at most 30 s: 0 or -1. */
static int wait_rounds(long long k)
{
	long long end = now_ms() + 30000, r0 = loc_stat("auto_rounds");

	while (r0 >= 0 && loc_stat("auto_rounds") < r0 + k) {
		if (now_ms() > end)
			return -1;
		usleep(100 * 1000);
	}
	return r0 < 0 ? -1 : 0;
}

/* Wait up to @ms for CPU @cpu's map to come from @pid. */
static int wait_map(int cpu, pid_t pid, long long ms, struct range *r, int *nr,
		    struct map_cpu *m)
{
	long long end = now_ms() + ms;

	do {
		*nr = map_of(cpu, m, r, PVX_NUMA_MAX_RANGES);
		if (*nr > 0 && m->pid == pid && m->hints > 0)
			return 0;
		usleep(100 * 1000);
	} while (now_ms() < end);
	return -1;
}

static int auto_test(void)
{
	size_t len = BUF_MB << 20, n = len / PAGE, cov;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	volatile unsigned long *shared;
	struct range r[PVX_NUMA_MAX_RANGES];
	struct map_cpu m = { .home = -1 }, m2 = { .home = -1 };
	long long h0 = loc_stat("hints"), ns, rounds;
	unsigned long long *pa = calloc(n, sizeof(*pa));
	int cpu = ncpu - 1, nr, got, status;
	pid_t pid;

	ksft_print_header();
	ksft_set_plan(6);
	if (ncpu < 2)
		ksft_exit_skip("the automatic map test needs 2 CPUs (%ld)\n", ncpu);
	shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!pa || shared == MAP_FAILED)
		ksft_exit_fail_msg("no memory\n");
	/* the buffer resident before the module looks (a map taken halfway is another) */
	pid = fork();
	if (!pid)
		child_loop(cpu, shared, len);
	for (got = 0; !shared[0] && got < 3000; got++)
		usleep(10 * 1000);
	if (!shared[0]) {
		kill(pid, SIGKILL);
		ksft_exit_fail_msg("the child did not fill its buffer in 30 s\n");
	}
	ksft_test_result(!write_param("auto_interval_ms", "200") && !write_param("auto", "1"),
			 "auto on, auto_interval_ms 200\n");

	/* 1. the first map of that CPU: the child's, covering its buffer */
	if (wait_map(cpu, pid, 30000, r, &nr, &m))
		nr = 0;
	got = buffer_pages(pid, shared[0], len, pa);
	cov = nr > 0 ? covered(pa, n, r, nr) : 0;
	ksft_print_msg("cpu %d: map of pid %d, %d ranges, home %d, %zu of %d buffer pages in it\n",
		       cpu, pid, nr, m.home, cov, got);
	ksft_test_result(nr > 0 && got == (int)n && cov * 10 >= n * 9,
			 "the automatic map of CPU %d covers >= 90%% of its thread's buffer\n", cpu);
	ksft_test_result(nr > 0 && m.home >= 0, "the host named a home node for it (%d)\n",
			 m.home);
	ksft_test_result(loc_stat("hints") == h0 && loc_stat("auto_hints") >= 1 &&
			 loc_stat("auto_bytes") >= (long long)len,
			 "auto_hints, auto_bytes count it; the ioctl's hints do not\n");

	/* 2. unchanged: 4 more rounds, no send tried for that CPU */
	map_of(cpu, &m, r, PVX_NUMA_MAX_RANGES);
	got = wait_rounds(4);
	map_of(cpu, &m2, r, PVX_NUMA_MAX_RANGES);
	ksft_test_result(!got && m2.unchanged >= m.unchanged + 3 && m2.tries == m.tries,
			 "CPU %d's unchanged map is not sent again (unchanged +%lld, sent +%lld in 4 rounds)\n",
			 cpu, m2.unchanged - m.unchanged, m2.tries - m.tries);

	/* 3. a new buffer: sent again (the host may rate-limit it) */
	kill(pid, SIGUSR1);
	for (got = 0; shared[1] < 1 && got < 3000; got++)
		usleep(10 * 1000);
	got = shared[1] < 1 ? -1 : wait_rounds(3);
	map_of(cpu, &m, r, PVX_NUMA_MAX_RANGES);
	ksft_print_msg("after the new buffer: cpu %d hints %lld tries %lld; auto_hints %lld, auto_eagain %lld, auto_errors %lld\n",
		       cpu, m.hints, m.tries, loc_stat("auto_hints"), loc_stat("auto_eagain"),
		       loc_stat("auto_errors"));
	ksft_test_result(!got && m.tries > m2.tries && loc_stat("auto_errors") == 0,
			 "CPU %d's changed map is sent again (accepted or EAGAIN), no errors\n", cpu);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	write_param("auto", "0");
	ns = loc_stat("auto_ns");
	rounds = loc_stat("auto_rounds");
	ksft_print_msg("rounds %lld, %lld ns in rounds (%lld us per round), %lld pages looked up\n",
		       rounds, ns, rounds > 0 ? ns / rounds / 1000 : 0, loc_stat("auto_pages"));
	ksft_finished();
}

int main(int argc, char **argv)
{
	size_t len = BUF_MB << 20;
	bool host;
	char *buf;
	cpu_set_t one;

	if (argc != 2 || (strcmp(argv[1], "--expect-host") &&
			  strcmp(argv[1], "--expect-fallback") && strcmp(argv[1], "--auto"))) {
		fprintf(stderr, "usage: pvx_numa_guest_test --expect-host|--expect-fallback|--auto\n");
		return 2;
	}
	if (!strcmp(argv[1], "--auto"))
		return auto_test();
	host = !strcmp(argv[1], "--expect-host");
	ksft_print_header();
	/* 9 bad inputs, unprivileged, 2 untouched, then 4 sent or 2 refused */
	ksft_set_plan(host ? 16 : 14);
	pvx_fd = open("/dev/pvx", O_RDONLY);
	if (pvx_fd < 0)
		ksft_exit_fail_msg("/dev/pvx: %s\n", strerror(errno));
	/* The hint is about the CPU the thread runs on: stay on CPU 0. */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
	buf = aligned_alloc(PAGE, len);
	if (!buf)
		ksft_exit_fail_msg("no buffer\n");
	memset(buf, 0x5a, len);

	bad_input(buf);
	as_nobody(buf);
	not_resident(host);
	if (host) {
		send_resident(buf, len);
	} else {
		struct pvx_numa_hint_req r = { .addr = (unsigned long)buf, .len = len };
		long long e0 = loc_stat("errors");

		expect_err("a resident buffer without the host's NUMA_HINT", r, -EOPNOTSUPP);
		ksft_test_result(loc_stat("hints") == 0 && loc_stat("errors") == e0 + 1,
				 "nothing counted as sent; the refusal counted in errors\n");
	}
	ksft_finished();
}
