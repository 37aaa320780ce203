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
 *
 * Both: each bad-input class (flags, reserved, length 0, unaligned, too
 * long, wrapping, not the caller's memory, an unprivileged caller), a
 * buffer with nothing resident, the pages of a buffer not faulted in by
 * the hint. TAP 13; exit 0 all passed, 1 any failed, 4 all skipped.
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
#include <unistd.h>

#include "pvx.h"
#include "kselftest.h"
#include "sysfs_util.h"

#define LOCDIR	"/sys/kernel/pvx/locality"
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
	ksft_test_result(!ret && r.pages == len / PAGE && r.ranges >= 1 &&
			 r.ranges <= PVX_NUMA_MAX_RANGES,
			 "a resident %zu MiB buffer is sent: every page, 1..%u ranges\n",
			 len >> 20, PVX_NUMA_MAX_RANGES);
	ksft_test_result(!ret && r.home >= 0,
			 "the host names a home node for backed memory (%d)\n", r.home);
	ksft_test_result(loc_stat("hints") == h0 + 1 && loc_stat("ranges") == g0 + r.ranges &&
			 loc_stat("bytes") == b0 + (long long)(r.pages * PAGE),
			 "locality/hints, ranges, bytes count it\n");
	ret = hint(&r);
	ksft_test_result(ret == -EAGAIN && loc_stat("eagain") == e0 + 1,
			 "a second hint at once -> EAGAIN (the host's rate limit), counted\n");
}

int main(int argc, char **argv)
{
	size_t len = BUF_MB << 20;
	bool host;
	char *buf;
	cpu_set_t one;

	if (argc != 2 ||
	    (strcmp(argv[1], "--expect-host") && strcmp(argv[1], "--expect-fallback"))) {
		fprintf(stderr, "usage: pvx_numa_guest_test --expect-host|--expect-fallback\n");
		return 2;
	}
	host = !strcmp(argv[1], "--expect-host");
	ksft_print_header();
	/* 9 bad inputs, unprivileged, 2 untouched, then 4 sent or 2 refused */
	ksft_set_plan(host ? 16 : 14);
	pvx_fd = open("/dev/pvx", O_RDONLY);
	if (pvx_fd < 0)
		ksft_exit_fail_msg("/dev/pvx: %s\n", strerror(errno));
	/* The hint is about the CPU the thread runs on: stay on one. */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
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
