// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_ksm_guest_test: runs inside an L3 guest with pvx_guest.ko and
 * pvx_ksm_guest.ko loaded; checks PVX_IOC_KSM_PROTECT on /dev/pvx and
 * /sys/kernel/pvx/ksm.
 *
 *   --expect-host      the L2 host runs pvx_ksm: protections are hinted,
 *                      held by their fd and released by its close, by
 *                      the process's exit and by an munmap() of their
 *                      range; RLIMIT_MEMLOCK and max_pages
 *                      bound them; the kernel image's candidates went out
 *   --expect-fallback  no PVX_HC_KSM_HINT: a valid request answers
 *                      EOPNOTSUPP and nothing is pinned or sent
 *
 * Both: each bad-input class of the ioctl (its errno, no fd, nothing
 * pinned, counted in its class). TAP 13; exit 0 all passed, 1 any failed.
 * Runs as root; drops to uid 65534 (nobody) in a child for the
 * RLIMIT_MEMLOCK checks.
 *
 *   --epoch PORT       (host boots with L2's control port PORT) a host
 *                      module reloaded under the guest: L2 loads pvx_yield
 *                      again when asked on PORT; a process's 8 protected
 *                      pages are sent again under the new epoch without a
 *                      reprobe, none pinned anew, dmesg says so once (or
 *                      twice), and nothing stays protected after the
 *                      process is killed
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"
#include "kselftest.h"
#include "sysfs_util.h"
#include "module_util.h"
#include "l2_ctl.h"
#include "l3_tap.h"

#define KSMDIR		"/sys/kernel/pvx/ksm"
#define MAX_PAGES	"/sys/module/pvx_ksm_guest/parameters/max_pages"
#define KERNEL_RESERVE	"/sys/module/pvx_ksm_guest/parameters/kernel_reserve"
#define PAGE		4096ul
#define NOBODY		65534

static int pvx_fd = -1;
static bool host;

static long long ks(const char *name)
{
	return sysfs_read_counter(KSMDIR, name);
}

static char *map_anon(size_t len, int prot)
{
	char *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap %zu: %s\n", len, strerror(errno));
	return p;
}

/* The ioctl: the fd (>= 0) or -errno; *out_fd = what it wrote in .fd. */
static int protect_req(uint64_t addr, uint64_t len, uint32_t flags,
		       uint64_t reserved, int *out_fd)
{
	struct pvx_ksm_protect_req r = {
		.addr = addr, .len = len, .flags = flags, .reserved = reserved,
		.fd = -12345,
	};
	int ret = ioctl(pvx_fd, PVX_IOC_KSM_PROTECT, &r);

	if (out_fd)
		*out_fd = r.fd;
	return ret < 0 ? -errno : ret;
}

static int protect(void *addr, size_t len)
{
	return protect_req((uintptr_t)addr, len, 0, 0, NULL);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static const char *err_str(int ret)
{
	return ret < 0 ? strerror(-ret) : "an fd";
}

/* ---- bad input --------------------------------------------------------- */

struct bad {
	const char *desc;
	uint64_t addr, len;
	uint32_t flags;
	uint64_t reserved;
	int want;		/* -errno with the host's KSM hints */
	bool before_host;	/* refused before the host check: also in fallback */
	const char *counter;	/* class counter that grows */
};

static void expect_bad(const struct bad *b)
{
	int want = (host || b->before_host) ? b->want : -EOPNOTSUPP;
	const char *counter = (host || b->before_host) ? b->counter : "eopnotsupp";
	long long c0 = ks(counter), p0 = ks("pinned_now"), h0 = ks("held_now");
	long long b0 = ks("batches"), k0 = ks("protect_calls");
	int fds = open_fds(), got, fd;

	got = protect_req(b->addr, b->len, b->flags, b->reserved, &fd);
	if (got >= 0)
		close(got);
	ksft_test_result(got == want && ks(counter) == c0 + 1 && ks("protect_calls") == k0 + 1 &&
			 ks("pinned_now") == p0 && ks("held_now") == h0 && ks("batches") == b0 &&
			 open_fds() == fds && fd == -12345,
			 "%s -> %s, no fd, nothing pinned or sent, counted in %s (got %s)\n",
			 b->desc, strerror(-want), counter, err_str(got));
}

static void bad_input(void)
{
	size_t len = 4 * PAGE;
	char *rw = map_anon(len, PROT_READ | PROT_WRITE);
	char *ro = map_anon(len, PROT_READ);
	char *none = map_anon(len, PROT_NONE);
	char *hole = map_anon(2 * len, PROT_READ | PROT_WRITE);
	uintptr_t a = (uintptr_t)rw;
	unsigned int i;

	munmap(hole + len, len);
	memset(rw, 1, len);
	{
		const struct bad c[] = {
			{ "flags 1", a, len, 1, 0, -EINVAL, true, "einval" },
			{ "flags 0x80000000", a, len, 0x80000000u, 0, -EINVAL, true, "einval" },
			{ "reserved field", a, len, 0, 1, -EINVAL, true, "einval" },
			{ "address not page aligned", a + 8, len, 0, 0, -EINVAL, true, "einval" },
			{ "length not page aligned", a, len - 8, 0, 0, -EINVAL, true, "einval" },
			{ "length 0", a, 0, 0, 0, -EINVAL, true, "einval" },
			{ "a range that wraps", -PAGE, 2 * PAGE, 0, 0, -EINVAL, true, "einval" },
			{ "longer than PVX_KSM_PROTECT_MAX_LEN", a, PVX_KSM_PROTECT_MAX_LEN + PAGE,
			  0, 0, -E2BIG, true, "e2big" },
			{ "kernel memory", 0xffff888000000000ull, len, 0, 0, -EFAULT, true,
			  "efault" },
			{ "read-only mapping", (uintptr_t)ro, len, 0, 0, -EFAULT, false, "efault" },
			{ "PROT_NONE mapping", (uintptr_t)none, len, 0, 0, -EFAULT, false,
			  "efault" },
			{ "a range running into an unmapped hole", (uintptr_t)hole, 2 * len, 0, 0,
			  -EFAULT, false, "efault" },
			{ "unmapped memory", (uintptr_t)hole + len, len, 0, 0, -EFAULT, false,
			  "efault" },
		};

		for (i = 0; i < ARRAY_SIZE(c); i++)
			expect_bad(&c[i]);
	}
	ksft_test_result(ioctl(pvx_fd, PVX_IOC_KSM_PROTECT, NULL) == -1 && errno == EFAULT,
			 "NULL argument -> EFAULT\n");
	munmap(rw, len);
	munmap(ro, len);
	munmap(none, len);
	munmap(hole, len);
}

/* ---- with the host: protect, hold, release ----------------------------- */

static bool pattern_ok(const char *p, size_t len, char c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

static void protect_and_close(void)
{
	size_t n = 16, len = n * PAGE;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE);
	long long p0 = ks("pinned_now"), d0 = ks("protected_now"), h0 = ks("hinted");
	long long w0 = ks("withdrawn"), pp0 = ks("protected_pages"), u0 = ks("unprotected_pages");
	int fd, reported = -1, flags;

	memset(buf, 0x5a, len);
	fd = protect_req((uintptr_t)buf, len, 0, 0, &reported);
	flags = fd >= 0 ? fcntl(fd, F_GETFD) : -1;
	ksft_test_result(fd >= 0 && reported == fd && flags >= 0 && (flags & FD_CLOEXEC),
			 "16 pages protected: an fd (%d, .fd %d), close-on-exec\n", fd, reported);
	ksft_test_result(ks("pinned_now") == p0 + (long long)n &&
			 ks("protected_now") == d0 + (long long)n &&
			 ks("hinted") == h0 + (long long)n &&
			 ks("protected_pages") == pp0 + (long long)n,
			 "pinned_now +%lld, protected_now +%lld, the host took %lld pages anew (want %zu)\n",
			 ks("pinned_now") - p0, ks("protected_now") - d0, ks("hinted") - h0, n);
	ksft_test_result(pattern_ok(buf, len, 0x5a) &&
			 (memset(buf, 0xa5, len), pattern_ok(buf, len, (char)0xa5)),
			 "the protected pages keep their bytes and stay writable\n");
	if (fd >= 0)
		close(fd);
	ksft_test_result(ks("pinned_now") == p0 && ks("protected_now") == d0 &&
			 ks("withdrawn") == w0 + (long long)n &&
			 ks("unprotected_pages") == u0 + (long long)n,
			 "close: pinned_now and protected_now back (%lld, %lld), the host let %lld go\n",
			 ks("pinned_now"), ks("protected_now"), ks("withdrawn") - w0);
	munmap(buf, len);
}

/* Two protections of the same pages: hinted once, withdrawn with the last. */
static void protect_twice(void)
{
	size_t n = 8, len = n * PAGE;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE);
	long long p0 = ks("pinned_now"), d0 = ks("protected_now"), h0 = ks("hinted");
	long long w0 = ks("withdrawn");
	int a, b;
	bool ok1, ok2;

	a = protect(buf, len);
	b = protect(buf + 4 * PAGE, len - 4 * PAGE);
	ksft_test_result(a >= 0 && b >= 0 && ks("pinned_now") == p0 + 12 &&
			 ks("protected_now") == d0 + 8 && ks("hinted") == h0 + 8,
			 "overlapping protections: 12 pins, 8 pages hinted once (%s, %s)\n",
			 err_str(a), err_str(b));
	if (a >= 0)
		close(a);
	ok1 = ks("pinned_now") == p0 + 4 && ks("protected_now") == d0 + 4 &&
	      ks("withdrawn") == w0 + 4;
	if (b >= 0)
		close(b);
	ok2 = ks("pinned_now") == p0 && ks("protected_now") == d0 && ks("withdrawn") == w0 + 8;
	ksft_test_result(ok1 && ok2,
			 "closing the first withdraws only the pages the second does not name; the second, the rest\n");
	munmap(buf, len);
}

/*
 * munmap() of part of the range ends the whole protection (the module's
 * MMU notifier queues the release), before the fd is closed; closing the
 * fd then releases nothing twice.
 */
static void protect_munmap(void)
{
	size_t n = 4, len = n * PAGE;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE);
	long long p0 = ks("pinned_now"), d0 = ks("protected_now"), w0 = ks("withdrawn");
	long long m0 = ks("unmapped"), u0 = ks("unprotected_pages");
	int fd = protect(buf, len), ms = 0;
	bool held = ks("pinned_now") == p0 + (long long)n;

	munmap(buf + PAGE, PAGE);
	/* a work item of the module releases it: soon, not at once */
	while (ms < 2000 && (ks("pinned_now") != p0 || ks("unmapped") != m0 + 1)) {
		usleep(20000);
		ms += 20;
	}
	ksft_test_result(fd >= 0 && held && ks("pinned_now") == p0 && ks("protected_now") == d0 &&
			 ks("withdrawn") == w0 + (long long)n && ks("unmapped") == m0 + 1,
			 "munmap of one page of 4 ends the protection of all 4 with the fd open (%d ms; unmapped +%lld)\n",
			 ms, ks("unmapped") - m0);
	if (fd >= 0)
		close(fd);
	ksft_test_result(ks("pinned_now") == p0 && ks("withdrawn") == w0 + (long long)n &&
			 ks("unprotected_pages") == u0 + (long long)n,
			 "closing that fd afterwards releases nothing twice\n");
	munmap(buf, len);
}

/* A process that exits with the fd open: its exit releases everything. */
static void protect_exit(void)
{
	size_t n = 8, len = n * PAGE;
	long long p0 = ks("pinned_now"), d0 = ks("protected_now"), w0 = ks("withdrawn");
	int status = -1, pfd[2];
	long long seen = -1;
	pid_t pid;

	if (pipe(pfd))
		ksft_exit_fail_msg("pipe: %s\n", strerror(errno));
	pid = fork();
	if (!pid) {
		char *buf = map_anon(len, PROT_READ | PROT_WRITE);
		int fd = protect(buf, len);

		seen = fd >= 0 ? ks("pinned_now") : -1;
		if (write(pfd[1], &seen, sizeof(seen)) != sizeof(seen))
			_exit(3);
		_exit(fd >= 0 ? 0 : 1);	/* the fd stays open */
	}
	if (pid < 0 || read(pfd[0], &seen, sizeof(seen)) != sizeof(seen))
		seen = -2;
	if (pid > 0)
		waitpid(pid, &status, 0);
	close(pfd[0]);
	close(pfd[1]);
	ksft_test_result(WIFEXITED(status) && !WEXITSTATUS(status) && seen == p0 + (long long)n &&
			 ks("pinned_now") == p0 && ks("protected_now") == d0 &&
			 ks("withdrawn") == w0 + (long long)n,
			 "a child protects 8 pages (pinned_now %lld in it) and exits with the fd open: all released (%lld)\n",
			 seen, ks("pinned_now"));
}

/* max_pages: the module's cap on all protections together. */
static void module_cap(void)
{
	size_t len = 8 * PAGE;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE);
	long long c0 = ks("enospc"), p0 = ks("pinned_now");
	char old[32] = "", reserve[32];
	int fd, a, b, got = -1;

	fd = open(MAX_PAGES, O_RDONLY);
	if (fd >= 0) {
		got = read(fd, old, sizeof(old) - 1);
		close(fd);
	}
	snprintf(reserve, sizeof(reserve), "%lld",
		 sysfs_read_counter("/sys/module/pvx_ksm_guest/parameters", "kernel_reserve"));
	/* no part of 6 kept for the kernel API: all of it for this caller */
	if (got <= 0 || write_file(KERNEL_RESERVE, "0") || write_file(MAX_PAGES, "6")) {
		ksft_test_result_fail("max_pages: cannot set it to 6\n");
		return;
	}
	a = protect(buf, 4 * PAGE);
	b = protect(buf + 4 * PAGE, 4 * PAGE);
	ksft_test_result(a >= 0 && b == -ENOSPC && ks("enospc") == c0 + 1 &&
			 ks("pinned_now") == p0 + 4,
			 "max_pages 6: 4 pages protected, 4 more -> ENOSPC with nothing pinned (%s)\n",
			 err_str(b));
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	ksft_test_result(!write_file(MAX_PAGES, old) && !write_file(KERNEL_RESERVE, reserve) &&
			 write_file(MAX_PAGES, "262145") == -EINVAL &&
			 write_file(MAX_PAGES, "x") == -EINVAL &&
			 sysfs_read_counter("/sys/module/pvx_ksm_guest/parameters", "max_pages") ==
			 atoll(old),
			 "max_pages restored; 262145 and 'x' refused, the old value kept\n");
	munmap(buf, len);
}

/*
 * RLIMIT_MEMLOCK as nobody (no CAP_IPC_LOCK): a child sets its limit to
 * @limit pages and protects @want pages; its exit status is 0 when it got
 * what @expect says (0: an fd, else that -errno).
 */
static bool memlock_child(bool drop, unsigned long limit, size_t want, int expect, int *got)
{
	int status = -1, pfd[2];
	pid_t pid;

	*got = 1;
	if (pipe(pfd))
		return false;
	pid = fork();
	if (!pid) {
		struct rlimit rl = { limit * PAGE, limit * PAGE };
		char *buf = map_anon(want * PAGE, PROT_READ | PROT_WRITE);
		int r;

		if ((drop && (setgid(NOBODY) || setuid(NOBODY))) || setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(2);
		r = protect(buf, want * PAGE);
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		_exit(expect ? r != expect : r < 0);
	}
	if (pid < 0 || read(pfd[0], got, sizeof(*got)) != sizeof(*got))
		*got = 1;
	if (pid > 0)
		waitpid(pid, &status, 0);
	close(pfd[0]);
	close(pfd[1]);
	return WIFEXITED(status) && !WEXITSTATUS(status);
}

static void memlock(void)
{
	long long p0 = ks("pinned_now"), e0 = ks("enomem"), o0 = ks("eopnotsupp");
	int got;
	bool ok;

	ok = memlock_child(true, 4, 8, host ? -ENOMEM : -EOPNOTSUPP, &got);
	ksft_test_result(ok && (host ? ks("enomem") == e0 + 1 : ks("eopnotsupp") == o0 + 1),
			 "as nobody with RLIMIT_MEMLOCK 4 pages: 8 pages -> %s (got %s)\n",
			 host ? "ENOMEM" : "EOPNOTSUPP", err_str(got));
	ok = memlock_child(true, 0, 1, host ? -ENOMEM : -EOPNOTSUPP, &got);
	ksft_test_result(ok, "as nobody with RLIMIT_MEMLOCK 0: 1 page -> %s (got %s)\n",
			 host ? "ENOMEM" : "EOPNOTSUPP", err_str(got));
	if (host) {
		ok = memlock_child(true, 4, 4, 0, &got);
		ksft_test_result(ok, "as nobody with RLIMIT_MEMLOCK 4 pages: 4 pages -> an fd (got %s)\n",
				 err_str(got));
		ok = memlock_child(false, 4, 8, 0, &got);
		ksft_test_result(ok, "as root (CAP_IPC_LOCK) with RLIMIT_MEMLOCK 4 pages: 8 pages -> an fd (got %s)\n",
				 err_str(got));
	}
	ksft_test_result(ks("pinned_now") == p0,
			 "the children's exits left nothing pinned (pinned_now %lld, was %lld)\n",
			 ks("pinned_now"), p0);
}

/* ---- shares of max_pages ------------------------------------------------ */

#define PARAMS		"/sys/module/pvx_ksm_guest/parameters"
#define KAPI_KO		"/pvx/pvx_ksm_kapi.ko"

/*
 * A process of user @uid holding a protection of @pages pages until it is
 * killed (a pipe's end of file would not do: each holder inherits the
 * write ends of those started before it).
 */
struct holder {
	pid_t pid;
	int result;		/* 0: it holds an fd; else -errno */
};

static void holder_start(struct holder *h, uid_t uid, size_t pages)
{
	int res[2];

	h->result = 1;
	h->pid = -1;
	if (pipe(res))
		return;
	h->pid = fork();
	if (!h->pid) {
		struct rlimit rl = { 64 * PAGE, 64 * PAGE };
		char *buf = map_anon(pages * PAGE, PROT_READ | PROT_WRITE);
		int r = -EPERM;

		if (!setrlimit(RLIMIT_MEMLOCK, &rl) && !setgid(uid) && !setuid(uid))
			r = protect(buf, pages * PAGE);
		if (r > 0)
			r = 0;	/* an fd: it holds the protection */
		if (write(res[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		for (;;)
			pause();
	}
	if (h->pid < 0 || read(res[0], &h->result, sizeof(h->result)) != sizeof(h->result))
		h->result = 1;
	close(res[0]);
	close(res[1]);
}

static void holder_end(struct holder *h)
{
	if (h->pid <= 0)
		return;
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
	h->pid = -1;
}

/* Load pvx_ksm_kapi protecting @pages pages: its result, or 1. */
static int kapi_load(unsigned int pages)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "insmod " KAPI_KO " pages=%u", pages);
	if (system(cmd))
		return 1;
	return (int)sysfs_read_counter("/sys/module/pvx_ksm_kapi/parameters", "result");
}

static void kapi_unload(void)
{
	if (system("rmmod pvx_ksm_kapi"))
		ksft_print_msg("rmmod pvx_ksm_kapi failed\n");
}

/*
 * max_pages 16, kernel_reserve 4, user_max_pages 4: two users take their
 * share (one more page of either is ENOSPC), a third user still gets 4,
 * a fourth gets nothing (users' part full) while the kernel API still
 * gets its 4. Everything is released with the holders.
 */
static void user_shares(void)
{
	static const char *const names[] = { "max_pages", "user_max_pages", "kernel_reserve" };
	static const char *const vals[] = { "16", "4", "4" };
	long long old[3], p0 = ks("pinned_now"), h0 = ks("held_now");
	struct holder a, a2, b, c, d;
	int k1;
	bool set = true;
	char path[128], v[32];
	unsigned int i;

	for (i = 0; i < 3; i++) {
		old[i] = sysfs_read_counter(PARAMS, names[i]);
		snprintf(path, sizeof(path), PARAMS "/%s", names[i]);
		set = set && old[i] >= 0 && !write_file(path, vals[i]);
	}
	ksft_test_result(set, "max_pages 16, user_max_pages 4, kernel_reserve 4 set\n");
	holder_start(&a, NOBODY, 4);
	holder_start(&a2, NOBODY, 1);
	holder_start(&b, NOBODY - 1, 4);
	holder_start(&c, NOBODY - 2, 4);
	holder_start(&d, NOBODY - 3, 1);
	ksft_test_result(!a.result && a2.result == -ENOSPC && !b.result,
			 "two users take their share of 4 pages each; one more page of the first -> ENOSPC (%s)\n",
			 err_str(a2.result));
	ksft_test_result(!c.result && ks("users_held_now") == 12,
			 "a third user still gets 4 pages (%s; users hold %lld)\n",
			 err_str(c.result), ks("users_held_now"));
	k1 = kapi_load(4);
	ksft_test_result(d.result == -ENOSPC && !k1,
			 "users' part full: a fourth user -> ENOSPC (%s), the kernel API still gets its reserve of 4 (%d)\n",
			 err_str(d.result), k1);
	if (!k1)
		kapi_unload();
	holder_end(&a);
	holder_end(&a2);
	holder_end(&b);
	holder_end(&c);
	holder_end(&d);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), PARAMS "/%s", names[i]);
		snprintf(v, sizeof(v), "%lld", old[i]);
		write_file(path, v);
	}
	ksft_test_result(ks("pinned_now") == p0 && ks("held_now") == h0 &&
			 ks("users_held_now") == 0,
			 "all released: pinned_now %lld, held_now %lld, users_held_now %lld\n",
			 ks("pinned_now"), ks("held_now"), ks("users_held_now"));
}

/* ---- without the host --------------------------------------------------- */

static void fallback(void)
{
	size_t len = 4 * PAGE;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE);
	long long e0 = ks("eopnotsupp"), p0 = ks("pinned_now");
	int fds = open_fds(), got;

	got = protect(buf, len);
	ksft_test_result(got == -EOPNOTSUPP && ks("eopnotsupp") == e0 + 1 &&
			 ks("pinned_now") == p0 && open_fds() == fds,
			 "without the host's KSM hints: EOPNOTSUPP, no fd, nothing pinned (got %s)\n",
			 err_str(got));
	ksft_test_result(ks("batches") == 0 && ks("candidate_rounds") == 0 &&
			 ks("protected_now") == 0,
			 "nothing was ever sent: batches %lld, candidate rounds %lld\n",
			 ks("batches"), ks("candidate_rounds"));
	munmap(buf, len);
}

/* ---- candidates --------------------------------------------------------- */

static void kernel_candidates(void)
{
	long long t = ks("candidate_text_pages"), r = ks("candidate_rodata_pages");

	ksft_print_msg("candidates: %lld text pages, %lld read-only data pages, %lld runs; rounds %lld, the host took %lld\n",
		       t, r, ks("candidate_runs"), ks("candidate_rounds"), ks("candidates_added"));
	/* a distribution kernel has megabytes of each */
	ksft_test_result(t >= 256 && r >= 128 && ks("candidate_pages") == t + r &&
			 ks("candidate_runs") >= 1,
			 "the kernel image's text (%lld pages) and read-only data (%lld) were found\n",
			 t, r);
	if (host)
		ksft_test_result(ks("candidate_rounds") >= 1 && ks("candidates_added") >= t + r &&
				 ks("host_errors") == 0,
				 "sent at load; the host took all %lld candidate pages, refused no batch\n",
				 ks("candidates_added"));
}

/* ---- a host module reloaded under the guest ------------------------------ */

#define EPOCH_TESTS	6
#define HOST_EPOCH	"/sys/kernel/pvx/host_epoch"

/* The kernel log's lines on a change of the host's state (-2: unreadable). */
static int host_change_lines(void)
{
	return dmesg_count("pvx_guest: host state of this VM is new") +
	       dmesg_count("pvx_guest: host stopped or started serving calls");
}

/* Wait up to @ms for the counter @name to leave @from (or, @to >= 0, to reach @to). */
static long long ks_wait(const char *name, long long from, long long to, int ms)
{
	long long v = ks(name);

	for (; ms > 0 && (to >= 0 ? v != to : v == from); ms -= 100) {
		sleep_ms(100);
		v = ks(name);
	}
	return v;
}

/*
 * --epoch PORT: a host feature module loaded again under the guest (L2
 * reloads pvx_yield when asked on its control port PORT): PROBE names a
 * new epoch, and the guest sends its protected pages again by itself,
 * saying so in its counters; this host still holds them, so none is
 * pinned anew. A destination of a live migration, whose pins start
 * empty, is the migrate suite's.
 */
static int epoch_test(const char *port)
{
	char e0[32] = "", e1[32] = "", why[160];
	long long r0, p0, r1, waited;
	struct holder h;
	int c0, c;

	ksft_set_plan(EPOCH_TESTS);
	console_step("a host module reloaded under the guest");
	/* the holder protects through it */
	pvx_fd = open("/dev/pvx", O_RDONLY);
	if (pvx_fd < 0)
		ksft_exit_fail_msg("/dev/pvx: %s\n", strerror(errno));
	holder_start(&h, 0, 8);
	ksft_test_result(!h.result && ks("protected_on_host") == 8,
			 "a process protects 8 pages (%s), the host pins them all (protected_on_host %lld)\n",
			 h.result ? err_str(h.result) : "held 8", ks("protected_on_host"));
	sysfs_read_str(HOST_EPOCH, e0, sizeof(e0));
	r0 = ks("resends");
	p0 = ks("resent_pages");
	c0 = host_change_lines();
	if (l2_ask(port, "pvx yield-reload", "ok pvx yield-reload", why, sizeof(why))) {
		ksft_test_result_fail("L2 loads pvx_yield again # %s\n", why);
		holder_end(&h);
		for (c = 2; c < EPOCH_TESTS; c++)
			ksft_test_result_skip("L2 did not load pvx_yield again\n");
		ksft_finished();
	}
	ksft_test_result_pass("L2 loads pvx_yield again\n");
	waited = l2_ctl_now_ms();
	r1 = ks_wait("resends", r0, -1, 30000);
	waited = l2_ctl_now_ms() - waited;
	sysfs_read_str(HOST_EPOCH, e1, sizeof(e1));
	ksft_test_result(strcmp(e0, e1) && r1 > r0,
			 "PROBE names a new epoch (%s -> %s) and the guest sends its table again without a reprobe (resends %lld -> %lld, after %lld ms)\n",
			 e0, e1, r0, r1, waited);
	/* the sysfs reads race the resend's last stores on another CPU */
	ks_wait("protected_on_host", -1, 8, 2000);
	ksft_test_result(ks("resent_pages") == p0 && ks("protected_on_host") == 8,
			 "the host, which kept its pins, took none anew (resent_pages %lld -> %lld); protected_on_host %lld\n",
			 p0, ks("resent_pages"), ks("protected_on_host"));
	/* one line, or two when a PROBE fell between L2's rmmod and insmod */
	c = host_change_lines() - c0;
	ksft_test_result(c >= 1 && c <= 2, "dmesg says what changed (%d lines)\n", c);
	holder_end(&h);
	ks_wait("protected_now", -1, 0, 5000);
	ksft_test_result(!ks("protected_now") && !ks("protected_on_host"),
			 "the holder killed: nothing protected (protected_now %lld, on host %lld)\n",
			 ks("protected_now"), ks("protected_on_host"));
	ksft_finished();
}

int main(int argc, char **argv)
{
	/* run_kselftest.sh runs it without arguments: a skip, not a failure */
	if (argc == 1)
		ksft_exit_skip("no mode: the lab's init.sh gives %s\n",
			       "--expect-host, --expect-fallback or --epoch");

	if (argc == 3 && !strcmp(argv[1], "--epoch")) {
		ksft_print_header();
		return epoch_test(argv[2]);
	}
	if (argc != 2 ||
	    (strcmp(argv[1], "--expect-host") && strcmp(argv[1], "--expect-fallback"))) {
		fprintf(stderr, "usage: pvx_ksm_guest_test --expect-host|--expect-fallback | --epoch PORT\n");
		return 2;
	}
	host = !strcmp(argv[1], "--expect-host");
	ksft_print_header();
	/*
	 * candidates 2|1, 13 bad inputs + NULL, memlock 5|3; host 4+2+2+1+2,
	 * shares 5, fallback 2
	 */
	ksft_set_plan(host ? 2 + 14 + 5 + 11 + 5 : 1 + 14 + 3 + 2);
	pvx_fd = open("/dev/pvx", O_RDONLY);
	if (pvx_fd < 0)
		ksft_exit_fail_msg("/dev/pvx: %s\n", strerror(errno));
	kernel_candidates();
	bad_input();
	if (host) {
		protect_and_close();
		protect_twice();
		protect_munmap();
		protect_exit();
		module_cap();
		user_shares();
	} else {
		fallback();
	}
	memlock();
	ksft_finished();
}
