// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_fork_guest_test: runs inside an L3 guest with pvx_guest.ko loaded;
 * checks pvx_fork.ko's load and unload, and, with it loaded,
 * PVX_IOC_FORK_COPY on /dev/pvx, /sys/kernel/pvx/fork_copy and libpvx's
 * pvx_fork(). init.sh runs its three modes in this order:
 *
 *   --load KO --expect-host|--expect-fallback
 *                      loads KO (pvx_fork.ko, no parameters): its dmesg
 *                      lines as "# dmesg: " comments; dmesg has one
 *                      pvx_fork line, and it says that the host copies in
 *                      batches (host) or has no PVX_HC_FORK_COPY
 *                      (fallback). Leaves it loaded (a failed load: one
 *                      result, and the last pvx_ lines of dmesg).
 *   --expect-host|--expect-fallback
 *                      the tests below, pvx_fork.ko loaded.
 *   --unload           the fork_copy/ files as "# fork_copy/NAME: N"
 *                      comments (run-l3.sh compares pages with the host's
 *                      count); pvx_guest cannot unload while pvx_fork uses
 *                      it; pvx_fork unloads, and its sysfs directory goes
 *                      with it.
 *
 * The tests, with --expect-host the L2 host running pvx_fork_copy (the
 * ioctl copies, pvx_fork()'s child gets its own pages from the host),
 * with --expect-fallback no PVX_HC_FORK_COPY (the ioctl answers
 * EOPNOTSUPP, pvx_fork() is fork(), copy-on-write).
 * Both: each bad-input class of the ioctl (its errno, copied 0, the
 * destination unchanged), and pvx_fork()'s fork semantics over a buffer
 * of up to 64 MiB with a pattern per page while two parent threads write
 * to some of its pages during the fork: the child sees the fork-time
 * bytes, the parent's writes after the fork are invisible to the child
 * and the child's to the parent. Whether the child's pages are its own or
 * still shared with the parent is read from /proc/PID/pagemap (bit 56,
 * "exclusively mapped"). Also ranges pvx_fork() must leave copy-on-write
 * (a file mapping; the stack of the thread that forks), the partial pages
 * of an unaligned buffer, and pvx_fork(NULL, n). A sparse range (every
 * other page touched): after pvx_fork() the parent has as many resident
 * pages in it as before (libpvx pre-faults only resident pages writable),
 * with the host its first writes to them take no fault, and parent and
 * child stay independent. Ranges fork() wipes in the child (MADV_WIPEONFORK,
 * MAP_DROPPABLE) stay as fork() made them, also for the child's own
 * children; a sparse range does not become resident in the child; a
 * child that dies before its report does not hang pvx_fork() while
 * another process holds the report pipe. The rule that makes pvx_fork()
 * a plain fork() where the host copy loses (fork_rule()). TAP 13; exit 0
 * all passed, 1 any failed, 2 a usage error. Runs as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/const.h>
#include <linux/userfaultfd.h>
#include <unistd.h>

#include "pvx.h"
#include "pvx_fork.h"
#include "kselftest.h"
#include "module_util.h"
#include "sysfs_util.h"
#include "l3_tap.h"

#define FCDIR		"/sys/kernel/pvx/fork_copy"
#define FORK_MOD	"pvx_fork"
#define PAGE		4096ul
#define WORDS		(PAGE / sizeof(uint64_t))
#define MIB		_BITUL(20)
#define HOT_EVERY	64	/* every 64th page is written during the fork */
#define WRITERS		2

static int pvx_fd = -1;
static bool host;

static long long fc_stat(const char *name)
{
	return sysfs_read_counter(FCDIR, name);
}

/* ---- patterns: every word of every page says which page and which fill */

static uint64_t pattern(uint64_t seed, size_t page, size_t word)
{
	uint64_t x = seed ^ (page << 20) ^ word;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	return x ^ (x >> 29);
}

static void fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t *w = buf;
	size_t p, i;

	for (p = 0; p < len / PAGE; p++)
		for (i = 0; i < WORDS; i++)
			w[p * WORDS + i] = pattern(seed, p, i);
}

/* Pages that differ from the fill @seed (word 0 of every @skip-th skipped). */
static size_t mismatches(const void *buf, size_t len, uint64_t seed, size_t skip)
{
	const uint64_t *w = buf;
	size_t p, i, bad = 0;

	for (p = 0; p < len / PAGE; p++)
		for (i = (skip && p % skip == 0) ? 1 : 0; i < WORDS; i++)
			if (w[p * WORDS + i] != pattern(seed, p, i)) {
				bad++;
				break;
			}
	return bad;
}

static void *map_anon(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap %zu: %s\n", len, strerror(errno));
	return p;
}

/* The ioctl: 0 or -errno; *copied from the structure. */
static int fork_copy(uint64_t src, uint64_t dst, uint64_t len, uint32_t flags,
		     uint32_t reserved, uint64_t *copied)
{
	struct pvx_fork_copy_req r = {
		.src = src, .dst = dst, .len = len, .flags = flags,
		.reserved = reserved, .copied = 12345,
	};
	int ret = ioctl(pvx_fd, PVX_IOC_FORK_COPY, &r) ? -errno : 0;

	*copied = r.copied;
	return ret;
}

/* ---- the ioctl: behaviour ------------------------------------------- */

static void copy_behaviour(void)
{
	size_t len = 8 * MIB, pages = len / PAGE;
	char *src = map_anon(len, PROT_READ | PROT_WRITE);
	char *dst = map_anon(len, PROT_READ | PROT_WRITE);
	char *cold = map_anon(2 * MIB, PROT_READ | PROT_WRITE);
	long long c0 = fc_stat("calls"), d0 = fc_stat("done"), p0 = fc_stat("pages");
	long long b0 = fc_stat("bytes"), n0 = fc_stat("batches"), e0 = fc_stat("eopnotsupp");
	uint64_t copied;
	int ret;

	fill(src, len, 1);
	fill(dst, len, 2);
	ret = fork_copy((uintptr_t)src, (uintptr_t)dst, len, 0, 0, &copied);
	if (host) {
		ksft_test_result(!ret && copied == len && !mismatches(dst, len, 1, 0) &&
				 !mismatches(src, len, 1, 0),
				 "8 MiB copied: dst holds src's bytes, copied = len (%s, copied %llu)\n",
				 ret ? strerror(-ret) : "ok", (unsigned long long)copied);
		ksft_test_result(fc_stat("calls") == c0 + 1 && fc_stat("done") == d0 + 1 &&
				 fc_stat("pages") == p0 + (long long)pages &&
				 fc_stat("bytes") == b0 + (long long)len &&
				 fc_stat("batches") == n0 + (long long)(pages + 254) / 255,
				 "fork_copy/calls, done, pages, bytes, batches count it (%lld batches)\n",
				 fc_stat("batches") - n0);
		/* never-touched source pages read as zeros */
		memset(dst, 0x5a, 2 * MIB);
		ret = fork_copy((uintptr_t)cold, (uintptr_t)dst, 2 * MIB, 0, 0, &copied);
		ksft_test_result(!ret && copied == 2 * MIB && !memcmp(dst, cold, 2 * MIB) &&
				 dst[0] == 0 && dst[2 * MIB - 1] == 0,
				 "a source never touched copies as zeros\n");
	} else {
		ksft_test_result(ret == -EOPNOTSUPP && copied == 0 && !mismatches(dst, len, 2, 0),
				 "without the host's fork-copy: EOPNOTSUPP, copied 0, dst unchanged (%s)\n",
				 ret ? strerror(-ret) : "success");
		ksft_test_result(fc_stat("calls") == c0 + 1 && fc_stat("eopnotsupp") == e0 + 1 &&
				 fc_stat("pages") == p0 && fc_stat("batches") == n0,
				 "fork_copy/eopnotsupp counts it, no page, no batch\n");
	}
	munmap(src, len);
	munmap(dst, len);
	munmap(cold, 2 * MIB);
}

/* ---- the ioctl: bad input ------------------------------------------- */

struct bad {
	const char *desc;
	uint64_t src, dst, len;
	uint32_t flags, reserved;
	int want;
};

static void expect_bad(const struct bad *b, char *guard, size_t guard_len)
{
	long long e0 = fc_stat("errors"), p0 = fc_stat("pages");
	uint64_t copied;
	int got = fork_copy(b->src, b->dst, b->len, b->flags, b->reserved, &copied);

	ksft_test_result(got == b->want && copied == 0 && !mismatches(guard, guard_len, 3, 0) &&
			 fc_stat("errors") == e0 + 1 && fc_stat("pages") == p0,
			 "%s -> %s, copied 0, destination unchanged, counted in errors (got %s)\n",
			 b->desc, strerror(-b->want), got ? strerror(-got) : "success");
}

static void bad_input(void)
{
	size_t len = 4 * PAGE;
	char *src = map_anon(len, PROT_READ | PROT_WRITE);
	char *dst = map_anon(2 * len, PROT_READ | PROT_WRITE);
	char *ro = map_anon(len, PROT_READ);
	char *none = map_anon(len, PROT_NONE);
	char *shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *hole = map_anon(2 * len, PROT_READ | PROT_WRITE);
	char *fpriv, *fshared;
	uintptr_t s = (uintptr_t)src, d = (uintptr_t)dst;
	int fd = open("/tmp/pvx_fork_test.file", O_RDWR | O_CREAT | O_TRUNC, 0600);
	unsigned int i;

	if (fd < 0 || ftruncate(fd, len) || shared == MAP_FAILED)
		ksft_exit_fail_msg("test file or shared mapping: %s\n", strerror(errno));
	fpriv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	fshared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fpriv == MAP_FAILED || fshared == MAP_FAILED)
		ksft_exit_fail_msg("file mappings: %s\n", strerror(errno));
	/* the second half of hole unmapped: a destination that runs into a hole */
	munmap(hole + len, len);
	fill(src, len, 1);
	{
		const struct bad c[] = {
			{ "flags 1", s, d, len, 1, 0, -EINVAL },
			{ "reserved field", s, d, len, 0, 1, -EINVAL },
			{ "source not page aligned", s + 8, d, len, 0, 0, -EINVAL },
			{ "destination not page aligned", s, d + 8, len, 0, 0, -EINVAL },
			{ "length not page aligned", s, d, len - 8, 0, 0, -EINVAL },
			{ "length 0", s, d, 0, 0, 0, -EINVAL },
			{ "longer than PVX_FORK_COPY_MAX_LEN", s, d,
			  PVX_FORK_COPY_MAX_LEN + PAGE, 0, 0, -EINVAL },
			{ "a source range that wraps", -PAGE, d, 2 * PAGE, 0, 0, -EINVAL },
			{ "a destination range that wraps", s, -PAGE, 2 * PAGE, 0, 0, -EINVAL },
			{ "overlapping ranges", d, d + PAGE, len, 0, 0, -EINVAL },
			{ "destination in a shared anonymous mapping", s, (uintptr_t)shared, len,
			  0, 0, -EINVAL },
			{ "destination in a private file mapping", s, (uintptr_t)fpriv, len, 0, 0,
			  -EINVAL },
			{ "destination in a shared file mapping", s, (uintptr_t)fshared, len, 0, 0,
			  -EINVAL },
			{ "destination read-only", s, (uintptr_t)ro, len, 0, 0, -EFAULT },
			{ "destination running into an unmapped hole", s, (uintptr_t)hole,
			  2 * len, 0, 0, -EFAULT },
			{ "source unmapped", (uintptr_t)hole + len, d, len, 0, 0, -EFAULT },
			{ "source PROT_NONE", (uintptr_t)none, d, len, 0, 0, -EFAULT },
			{ "source in kernel memory", 0xffff888000000000ull, d, len, 0, 0, -EFAULT },
		};

		for (i = 0; i < ARRAY_SIZE(c); i++) {
			fill(dst, 2 * len, 3);
			fill(shared, len, 3);
			fill(fshared, len, 3);
			fill(fpriv, len, 3);
			fill(hole, len, 3);
			/* the guard: the destination named, or dst when it is not mapped */
			if (c[i].dst == (uintptr_t)shared || c[i].dst == (uintptr_t)fpriv ||
			    c[i].dst == (uintptr_t)fshared || c[i].dst == (uintptr_t)hole)
				expect_bad(&c[i], (char *)(uintptr_t)c[i].dst, len);
			else
				expect_bad(&c[i], dst, 2 * len);
		}
	}
	ksft_test_result(ioctl(pvx_fd, PVX_IOC_FORK_COPY, NULL) && errno == EFAULT,
			 "NULL argument -> EFAULT\n");
	munmap(src, len);
	munmap(dst, 2 * len);
	munmap(ro, len);
	munmap(none, len);
	munmap(shared, len);
	munmap(hole, len);
	munmap(fpriv, len);
	munmap(fshared, len);
	close(fd);
	unlink("/tmp/pvx_fork_test.file");
}

/* ---- pvx_fork() ------------------------------------------------------ */

/* Pages of [buf, buf + len) that /proc/PID/pagemap says are mapped by this process only. */
static long exclusive_pages(pid_t pid, const char *buf, size_t len, size_t skip)
{
	size_t first = (uintptr_t)buf / PAGE, p;
	char path[64];
	uint64_t e;
	long n = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	for (p = 0; p < len / PAGE; p++) {
		if (skip && p % skip == 0)
			continue;
		if (pread(fd, &e, sizeof(e), (first + p) * sizeof(e)) != sizeof(e)) {
			n = -1;
			break;
		}
		n += (e >> 63) & (e >> 56) & 1;	/* present and exclusive */
	}
	close(fd);
	return n;
}

struct writer {
	pthread_t tid;
	uint64_t *buf;
	size_t pages;
	unsigned int first;	/* its hot pages: first, first + WRITERS * HOT_EVERY... */
	volatile uint64_t round;	/* rounds finished */
	volatile bool stop;
};

/* Word 0 of each of its hot pages = the round number, round after round. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t r;
	size_t p;

	for (r = 1; !w->stop; r++) {
		for (p = w->first * HOT_EVERY; p < w->pages; p += WRITERS * HOT_EVERY)
			__atomic_store_n(&w->buf[p * WORDS], r, __ATOMIC_RELAXED);
		__atomic_store_n(&w->round, r, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Hot pages whose word 0 is not a round between @lo and @hi. */
static size_t hot_out_of_range(const uint64_t *buf, size_t pages, const uint64_t *lo,
			       const uint64_t *hi)
{
	size_t p, bad = 0;
	unsigned int t;

	for (p = 0; p < pages; p += HOT_EVERY) {
		t = (p / HOT_EVERY) % WRITERS;
		if (buf[p * WORDS] < lo[t] || buf[p * WORDS] > hi[t])
			bad++;
	}
	return bad;
}

/* What the child found, sent to the parent. */
struct child_report {
	long exclusive;		/* its cold pages mapped only by it, right after pvx_fork() */
	size_t fork_mismatch;	/* pages not as at the fork */
	size_t hot_bad;		/* hot pages with a round outside the fork's window */
};

static size_t buffer_size(void)
{
	long avail_kb = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");
	size_t len;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &avail_kb) == 1)
			break;
	if (f)
		fclose(f);
	/* the parent's copy, the child's and a chunk of fresh pages, with room */
	len = ((size_t)avail_kb * 1024 / 3) & ~(MIB - 1);
	return len > 64 * MIB ? 64 * MIB : len < 8 * MIB ? 8 * MIB : len;
}

static bool read_all(int fd, void *buf, size_t len)
{
	return read(fd, buf, len) == (ssize_t)len;
}

static void fork_semantics(void)
{
	size_t len = buffer_size(), pages = len / PAGE;
	size_t cold = pages - (pages + HOT_EVERY - 1) / HOT_EVERY;
	uint64_t *buf = map_anon(len, PROT_READ | PROT_WRITE), lo[WRITERS], hi[WRITERS];
	struct writer w[WRITERS];
	struct pvx_fork_range r = { buf, len };
	struct pvx_fork_stats s0, s1;
	struct child_report rep = { .exclusive = -2 };
	long long p0 = fc_stat("pages");
	int to_child[2], to_parent[2], status = -1;
	long parent_excl;
	unsigned int t;
	pid_t pid;

	ksft_print_msg("pvx_fork over %zu MiB (%zu pages, every %dth written by %d threads during the fork)\n",
		       len / MIB, pages, HOT_EVERY, WRITERS);
	fill(buf, len, 10);
	if (pipe(to_child) || pipe(to_parent))
		ksft_exit_fail_msg("pipe: %s\n", strerror(errno));
	for (t = 0; t < WRITERS; t++) {
		w[t] = (struct writer){ .buf = buf, .pages = pages, .first = t };
		pthread_create(&w[t].tid, NULL, writer_main, &w[t]);
	}
	for (t = 0; t < WRITERS; t++) {
		while (!__atomic_load_n(&w[t].round, __ATOMIC_ACQUIRE))
			sched_yield();
		lo[t] = __atomic_load_n(&w[t].round, __ATOMIC_ACQUIRE);
	}
	pvx_fork_stats(&s0);
	pid = pvx_fork(&r, 1);
	if (pid == 0) {
		rep.exclusive = exclusive_pages(getpid(), (char *)buf, len, HOT_EVERY);
		/* the parent has stopped its writers and rewritten everything */
		if (!read_all(to_child[0], hi, sizeof(hi)))
			_exit(3);
		rep.fork_mismatch = mismatches(buf, len, 10, HOT_EVERY);
		rep.hot_bad = hot_out_of_range(buf, pages, lo, hi);
		fill(buf, len, 30);	/* must not reach the parent */
		if (write(to_parent[1], &rep, sizeof(rep)) != sizeof(rep))
			_exit(4);
		_exit(0);
	}
	for (t = 0; t < WRITERS; t++) {
		/* a round under way at the fork may be the child's: + 1 */
		hi[t] = __atomic_load_n(&w[t].round, __ATOMIC_ACQUIRE) + 1;
		w[t].stop = true;
		pthread_join(w[t].tid, NULL);
	}
	pvx_fork_stats(&s1);
	if (pid < 0)
		ksft_exit_fail_msg("pvx_fork: %s\n", strerror(errno));
	parent_excl = exclusive_pages(getpid(), (char *)buf, len, HOT_EVERY);
	fill(buf, len, 20);	/* must not reach the child */
	if (write(to_child[1], hi, sizeof(hi)) != sizeof(hi) ||
	    !read_all(to_parent[0], &rep, sizeof(rep)))
		rep.exclusive = -3;
	waitpid(pid, &status, 0);
	ksft_print_msg("child: %ld of %zu cold pages its own, %zu pages not as at the fork, %zu hot pages outside rounds; parent: %ld cold pages its own\n",
		       rep.exclusive, cold, rep.fork_mismatch, rep.hot_bad, parent_excl);
	ksft_print_msg("pvx_fork_stats: forks +%llu, ranges copied +%llu, bytes +%llu, fallback +%llu, last error %s; fork_copy/pages +%lld\n",
		       s1.forks - s0.forks, s1.ranges_copied - s0.ranges_copied,
		       s1.bytes_copied - s0.bytes_copied, s1.ranges_fallback - s0.ranges_fallback,
		       s1.last_error ? strerror(s1.last_error) : "none", fc_stat("pages") - p0);
	ksft_test_result(WIFEXITED(status) && !WEXITSTATUS(status) && !rep.fork_mismatch &&
			 !rep.hot_bad,
			 "pvx_fork: the child sees the parent's bytes at the fork (writers running), not the parent's later writes\n");
	ksft_test_result(!mismatches(buf, len, 20, 0),
			 "pvx_fork: the child's writes are invisible to the parent\n");
	if (host) {
		ksft_test_result(s1.forks == s0.forks + 1 &&
				 s1.ranges_copied == s0.ranges_copied + 1 &&
				 s1.bytes_copied == s0.bytes_copied + len &&
				 s1.ranges_fallback == s0.ranges_fallback,
				 "pvx_fork_stats: one fork, its range copied by the host (%zu bytes)\n",
				 len);
		ksft_test_result(fc_stat("pages") >= p0 + (long long)pages,
				 "fork_copy/pages grew by the range's %zu pages\n", pages);
		ksft_test_result(rep.exclusive == (long)cold && parent_excl == (long)cold,
				 "after pvx_fork: the child's pages are its own, and so are the parent's (no page shared)\n");
	} else {
		ksft_test_result(s1.forks == s0.forks + 1 && s1.ranges_copied == s0.ranges_copied &&
				 s1.ranges_fallback == s0.ranges_fallback + 1 &&
				 s1.last_error == EOPNOTSUPP,
				 "pvx_fork_stats: one fork, its range left copy-on-write (EOPNOTSUPP)\n");
		ksft_test_result(fc_stat("pages") == p0, "fork_copy/pages did not grow\n");
		ksft_test_result(rep.exclusive == 0 && parent_excl == 0,
				 "after pvx_fork: every page still shared copy-on-write, as after fork()\n");
	}
	munmap(buf, len);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

/* Pages of [buf, buf + len) mincore() calls resident, or -1. */
static long resident_pages(void *buf, size_t len)
{
	unsigned char vec[256];
	size_t p;
	long n = 0;

	if (len / PAGE > sizeof(vec) || mincore(buf, len, vec))
		return -1;
	for (p = 0; p < len / PAGE; p++)
		n += vec[p] & 1;
	return n;
}

/* Minor faults of the calling thread so far. */
static long minor_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) ? -1 : ru.ru_minflt;
}

/* Even pages: the fill @seed; odd pages: zeros. Pages that differ. */
static size_t sparse_mismatches(const uint64_t *buf, size_t pages, uint64_t seed)
{
	size_t p, i, bad = 0;

	for (p = 0; p < pages; p++)
		for (i = 0; i < WORDS; i++)
			if (buf[p * WORDS + i] != (p % 2 ? 0 : pattern(seed, p, i))) {
				bad++;
				break;
			}
	return bad;
}

static void sparse_write(uint64_t *buf, size_t pages, uint64_t seed)
{
	size_t p, i;

	for (p = 0; p < pages; p += 2)
		for (i = 0; i < WORDS; i++)
			buf[p * WORDS + i] = pattern(seed, p, i);
}

/*
 * A range of 256 pages, every other one touched: pvx_fork() must not make
 * the parent's untouched pages resident (with the host, libpvx pre-faults
 * the parent's copied ranges writable, resident pages only), the parent's
 * first writes take no fault with the host and one per page without, and
 * neither side sees the other's writes after the fork.
 */
static void fork_sparse(void)
{
	size_t pages = 256, len = pages * PAGE;
	uint64_t *buf = map_anon(len, PROT_READ | PROT_WRITE);
	struct pvx_fork_range r = { buf, len };
	struct pvx_fork_stats s0, s1;
	long before, after, faults;
	int to_child[2], to_parent[2], status = -1;
	size_t child_bad = (size_t)-1, parent_bad;
	char c;
	pid_t pid;

	/* no huge page: every page on its own */
	madvise(buf, len, MADV_NOHUGEPAGE);
	sparse_write(buf, pages, 40);
	before = resident_pages(buf, len);
	if (pipe(to_child) || pipe(to_parent))
		ksft_exit_fail_msg("pipe: %s\n", strerror(errno));
	pvx_fork_stats(&s0);
	pid = pvx_fork(&r, 1);
	if (pid == 0) {
		if (read(to_child[0], &c, 1) != 1)
			_exit(3);
		child_bad = sparse_mismatches(buf, pages, 40);
		sparse_write(buf, pages, 50);	/* must not reach the parent */
		memset((char *)buf + PAGE, 0x77, PAGE);
		if (write(to_parent[1], &child_bad, sizeof(child_bad)) != sizeof(child_bad))
			_exit(4);
		_exit(0);
	}
	if (pid < 0)
		ksft_exit_fail_msg("pvx_fork: %s\n", strerror(errno));
	after = resident_pages(buf, len);
	pvx_fork_stats(&s1);
	faults = minor_faults();
	sparse_write(buf, pages, 60);		/* must not reach the child */
	faults = minor_faults() - faults;
	if (write(to_child[1], "x", 1) != 1 ||
	    !read_all(to_parent[0], &child_bad, sizeof(child_bad)))
		child_bad = (size_t)-1;
	waitpid(pid, &status, 0);
	parent_bad = sparse_mismatches(buf, pages, 60);
	ksft_print_msg("sparse range: %ld of %zu pages resident before pvx_fork, %ld after; %ld faults for the parent's first writes to %zu pages; ranges copied +%llu, fallback +%llu\n",
		       before, pages, after, faults, pages / 2,
		       s1.ranges_copied - s0.ranges_copied,
		       s1.ranges_fallback - s0.ranges_fallback);
	ksft_test_result(before == (long)pages / 2 && after == before &&
			 (host ? s1.ranges_copied == s0.ranges_copied + 1 :
				 s1.ranges_fallback == s0.ranges_fallback + 1),
			 "pvx_fork of a sparse range (%s): the parent's resident pages in it unchanged (%ld -> %ld)\n",
			 host ? "copied" : "copy-on-write", before, after);
	if (host)
		ksft_test_result(faults >= 0 && faults < (long)pages / 16,
				 "the parent's first writes to its copied pages take no fault (%ld)\n",
				 faults);
	else
		ksft_test_result(faults >= (long)pages / 2,
				 "the parent's first writes to its shared pages fault copy-on-write (%ld)\n",
				 faults);
	ksft_test_result(WIFEXITED(status) && !WEXITSTATUS(status) && child_bad == 0 &&
			 parent_bad == 0,
			 "sparse range: the child sees the fork-time bytes and zeros, the parent its own writes, neither the other's (%zu, %zu pages off)\n",
			 child_bad, parent_bad);
	munmap(buf, len);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

/* pvx_fork() of ranges it does not copy: fork semantics all the same. */
static void fork_other_ranges(void)
{
	size_t len = 1 * MIB;
	char *heap = malloc(len + 100);	/* not page aligned: whole pages copied */
	int fd = open("/tmp/pvx_fork_test.file2", O_RDWR | O_CREAT | O_TRUNC, 0600);
	char *file = MAP_FAILED;
	struct pvx_fork_stats s0, s1;
	struct pvx_fork_range r[2];
	int status = -1, p[2];
	pid_t pid;

	if (fd >= 0 && !ftruncate(fd, len))
		file = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (!heap || file == MAP_FAILED || pipe(p))
		ksft_exit_fail_msg("buffers: %s\n", strerror(errno));
	memset(heap, 0x11, len + 100);
	memset(file, 0x22, len);
	r[0] = (struct pvx_fork_range){ heap, len + 100 };
	r[1] = (struct pvx_fork_range){ file, len };
	pvx_fork_stats(&s0);
	pid = pvx_fork(r, 2);
	if (pid == 0) {
		char c;
		size_t i;
		int bad = 0;

		if (read(p[0], &c, 1) != 1)
			_exit(3);
		for (i = 0; i < len + 100; i++)
			bad |= heap[i] != 0x11;
		for (i = 0; i < len; i++)
			bad |= file[i] != 0x22;
		_exit(bad);
	}
	pvx_fork_stats(&s1);
	memset(heap, 0x33, len + 100);
	memset(file, 0x44, len);
	if (write(p[1], "x", 1) != 1)
		ksft_print_msg("cannot wake the child\n");
	waitpid(pid, &status, 0);
	ksft_test_result(pid > 0 && WIFEXITED(status) && !WEXITSTATUS(status),
			 "pvx_fork of an unaligned malloc() buffer and a private file mapping: fork semantics\n");
	ksft_test_result(s1.ranges_fallback == s0.ranges_fallback + (host ? 1 : 2) &&
			 s1.ranges_copied == s0.ranges_copied + (host ? 1 : 0) &&
			 (host ? s1.last_error == EINVAL : s1.last_error == EOPNOTSUPP),
			 "the file mapping stays copy-on-write (%s)%s\n", strerror(s1.last_error),
			 host ? ", the heap buffer's whole pages are copied" : "");
	free(heap);
	munmap(file, len);
	close(fd);
	close(p[0]);
	close(p[1]);
	unlink("/tmp/pvx_fork_test.file2");
}

/* A thread that names its own stack: that range must stay copy-on-write. */
static void *own_stack_thread(void *arg)
{
	struct pvx_fork_range *r = arg;
	int status = -1;
	pid_t pid = pvx_fork(r, 1);

	if (pid == 0)
		_exit(7);	/* got here: the stack it returned on was intact */
	if (pid > 0)
		waitpid(pid, &status, 0);
	return (void *)(intptr_t)(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 7);
}

static void fork_own_stack(void)
{
	size_t len = 256 * 1024;
	void *stack = map_anon(len, PROT_READ | PROT_WRITE), *ret = NULL;
	struct pvx_fork_range r = { stack, len };
	struct pvx_fork_stats s0, s1;
	pthread_attr_t attr;
	pthread_t t;

	pvx_fork_stats(&s0);
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, len);
	if (pthread_create(&t, &attr, own_stack_thread, &r) || pthread_join(t, &ret))
		ret = NULL;
	pvx_fork_stats(&s1);
	ksft_test_result(ret,
			 "pvx_fork from a thread that names its own stack: the child runs on\n");
	ksft_test_result(s1.ranges_fallback == s0.ranges_fallback + 1 &&
			 s1.ranges_copied == s0.ranges_copied && s1.last_error == EINVAL,
			 "the stack it runs on stays copy-on-write (%s)\n",
			 strerror(s1.last_error));
	pthread_attr_destroy(&attr);
	munmap(stack, len);
}

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE	0x08	/* Linux 6.11 */
#endif

/* All @len bytes at @p are @c. */
static bool all_bytes(const char *p, size_t len, char c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

/*
 * The child of pvx_fork() over @buf: 0 when it sees @buf zeroed (as fork()
 * leaves a MADV_WIPEONFORK or MAP_DROPPABLE range) and, after writing to
 * it, so does a child of its own (the range is still wiped on fork).
 */
static int wiped_child(char *buf, size_t len)
{
	int status = -1;
	pid_t g;

	if (!all_bytes(buf, len, 0))
		return 1;
	memset(buf, 0x6b, len);
	g = fork();
	if (g == 0)
		_exit(all_bytes(buf, len, 0) ? 0 : 2);
	if (g < 0 || waitpid(g, &status, 0) != g)
		return 3;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}

/*
 * pvx_fork() of a range fork() wipes in the child (@type: the mapping
 * type, MAP_DROPPABLE; MAP_PRIVATE with MADV_WIPEONFORK after the mmap):
 * the range stays as fork() made it, in the child and in its children,
 * and counts as a fallback.
 */
static void fork_wiped(const char *what, int type)
{
	size_t len = 1 * MIB;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, type | MAP_ANONYMOUS, -1, 0);
	bool wipe = type == MAP_PRIVATE;
	struct pvx_fork_range r = { buf, len };
	struct pvx_fork_stats s0, s1;
	int status = -1;
	pid_t pid;

	if (buf == MAP_FAILED) {
		/* a kernel before 6.11 does not know MAP_DROPPABLE */
		ksft_test_result(!wipe && errno == EINVAL && !kernel_at_least(6, 11),
				 "%s: mmap refused (%s) by a kernel before 6.11: nothing to fork\n",
				 what, strerror(errno));
		return;
	}
	if (wipe && madvise(buf, len, MADV_WIPEONFORK))
		ksft_exit_fail_msg("MADV_WIPEONFORK: %s\n", strerror(errno));
	memset(buf, 0x5a, len);
	pvx_fork_stats(&s0);
	pid = pvx_fork(&r, 1);
	if (pid == 0)
		_exit(wiped_child(buf, len));
	pvx_fork_stats(&s1);
	if (pid > 0)
		waitpid(pid, &status, 0);
	ksft_test_result(pid > 0 && WIFEXITED(status) && !WEXITSTATUS(status) &&
			 all_bytes(buf, len, 0x5a) &&
			 s1.ranges_fallback == s0.ranges_fallback + 1 &&
			 s1.ranges_copied == s0.ranges_copied,
			 "pvx_fork of a %s range: zero in the child and in the child's child, the parent's bytes kept, left to fork() (status 0x%x, %s)\n",
			 what, status, strerror(s1.last_error));
	munmap(buf, len);
}

/*
 * A range of 256 pages of which 16 were touched: the child of pvx_fork()
 * has 16 resident pages in it, as after fork(), not 256 (pages without
 * content are not copied).
 */
static void fork_sparse_child(void)
{
	size_t pages = 256, len = pages * PAGE, p;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE);
	struct pvx_fork_range r = { buf, len };
	int status = -1;
	pid_t pid;

	madvise(buf, len, MADV_NOHUGEPAGE);
	for (p = 0; p < pages; p += 16)
		buf[p * PAGE] = 1;
	pid = pvx_fork(&r, 1);
	if (pid == 0)
		_exit(resident_pages(buf, len) == (long)pages / 16 ? 0 :
		      (int)(resident_pages(buf, len) & 0x7f) | 0x80);
	if (pid > 0)
		waitpid(pid, &status, 0);
	ksft_test_result(pid > 0 && WIFEXITED(status) && !WEXITSTATUS(status),
			 "pvx_fork of a range with %zu of %zu pages touched: the child has %zu resident (exit 0x%x)\n",
			 pages / 16, pages, pages / 16,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	munmap(buf, len);
}

/* The no-hang test's atfork handler, armed for one pvx_fork(). */
static volatile pid_t *holder_pid;

/*
 * In the child of pvx_fork(), before it copies: leave behind a process
 * that holds the report pipe's write end (as one forked by another parent
 * thread at that moment would) and die without a report.
 */
static void die_in_child(void)
{
	volatile pid_t *h = holder_pid;
	pid_t g;

	if (!h)
		return;
	/* disarmed first: the fork below runs this handler in its child */
	holder_pid = NULL;
	g = fork();
	if (g == 0) {
		sleep(60);
		_exit(0);
	}
	*h = g;
	_exit(9);
}

/*
 * A pvx_fork() child that dies before its report while another process
 * holds the pipe's write end: pvx_fork() returns once the child is gone,
 * not when that process ends.
 */
static void fork_child_dies(void)
{
	volatile pid_t *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	size_t len = 64 * PAGE;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE);
	struct pvx_fork_range r = { buf, len };
	int status = -1;
	bool alive;
	pid_t pid;

	if (shared == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	*shared = 0;
	memset(buf, 1, len);
	holder_pid = shared;
	pid = pvx_fork(&r, 1);
	if (pid == 0)
		_exit(8);	/* the handler did not run */
	holder_pid = NULL;
	alive = *shared > 0 && kill(*shared, 0) == 0;
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (*shared > 0) {
		kill(*shared, SIGKILL);
		waitpid(*shared, NULL, 0);
	}
	ksft_test_result(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 9 && alive,
			 "pvx_fork returns when its child dies before reporting, while another process holds the pipe (holder alive: %s)\n",
			 alive ? "yes" : "no");
	munmap((void *)shared, PAGE);
	munmap(buf, len);
}

/* ---- fork() while the host writes a destination ----------------------- */

#define RACE_PAGES	16
#define RACE_FORKS	64

struct copier {
	char *src[2], *dst;
	volatile int stop;
	unsigned long calls, bad;
};

/* Copy the two sources into the destination in turn until told to stop. */
static void *copier_main(void *arg)
{
	struct copier *c = arg;
	uint64_t copied;
	int i = 0;

	while (!c->stop) {
		if (fork_copy((uintptr_t)c->src[i], (uintptr_t)c->dst, RACE_PAGES * PAGE, 0, 0,
			      &copied))
			c->bad++;
		c->calls++;
		i ^= 1;
	}
	return NULL;
}

/*
 * One thread copies into a destination with PVX_IOC_FORK_COPY in a loop
 * while another forks: each child's copy of the destination must not
 * change after its fork (the host writes only the parent's pages: the
 * destinations are pinned, so fork() copies them for the child instead
 * of sharing the pages the host is writing).
 */
static void fork_during_copy(void)
{
	struct copier c = { .stop = 0 };
	unsigned int i, changed = 0, failed = 0;
	int status;
	pthread_t t;
	pid_t pid;

	c.src[0] = map_anon(RACE_PAGES * PAGE, PROT_READ | PROT_WRITE);
	c.src[1] = map_anon(RACE_PAGES * PAGE, PROT_READ | PROT_WRITE);
	c.dst = map_anon(RACE_PAGES * PAGE, PROT_READ | PROT_WRITE);
	memset(c.src[0], 0x11, RACE_PAGES * PAGE);
	memset(c.src[1], 0x22, RACE_PAGES * PAGE);
	memset(c.dst, 0x11, RACE_PAGES * PAGE);
	if (pthread_create(&t, NULL, copier_main, &c))
		ksft_exit_fail_msg("pthread_create failed\n");
	for (i = 0; i < RACE_FORKS; i++) {
		pid = fork();
		if (pid == 0) {
			static char snap[RACE_PAGES * PAGE];

			memcpy(snap, c.dst, sizeof(snap));
			usleep(20000);	/* the parent's copier runs on */
			_exit(memcmp(snap, c.dst, sizeof(snap)) ? 1 : 0);
		}
		status = -1;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
			failed++;
		else if (WEXITSTATUS(status))
			changed++;
	}
	c.stop = 1;
	pthread_join(t, NULL);
	ksft_test_result(!changed && !failed && !c.bad && c.calls >= RACE_FORKS,
			 "%u forks while another thread fork-copies into a buffer (%lu calls, %lu refused): no child saw its copy change (%u did, %u failed)\n",
			 RACE_FORKS, c.calls, c.bad, changed, failed);
	munmap(c.src[0], RACE_PAGES * PAGE);
	munmap(c.src[1], RACE_PAGES * PAGE);
	munmap(c.dst, RACE_PAGES * PAGE);
}

/* ---- a sleeping ioctl and other modules' (un)registering ------------- */

#define CALL_ONCE_KO	"/pvx/pvx_call_once.ko"

struct sleeper {
	uint64_t src, dst, copied;
	int ret;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *z = arg;

	z->ret = fork_copy(z->src, z->dst, PAGE, 0, 0, &z->copied);
	return NULL;
}

/* Run @cmd in a child; true when it exited 0 within @secs seconds. */
static bool run_within(const char *cmd, unsigned int secs)
{
	int status = -1;
	unsigned int waited;
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		return false;
	for (waited = 0; waited < secs * 10; waited++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) && !WEXITSTATUS(status);
		usleep(100000);
	}
	return false;	/* reaped by the caller's wait after the sleeper ends */
}

/*
 * A PVX_IOC_FORK_COPY whose source page is missing in a userfaultfd range
 * sleeps in GUP until the page arrives (as on a FUSE mapping whose server
 * is slow). Meanwhile another module registers and removes an ioctl of
 * its own (insmod and rmmod of pvx_call_once): both finish without
 * waiting for the sleeping call. Then the page arrives and the call
 * copies it.
 */
static void ioctl_isolation(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	char *src = map_anon(PAGE, PROT_READ | PROT_WRITE);
	char *dst = map_anon(PAGE, PROT_READ | PROT_WRITE);
	char *page = map_anon(PAGE, PROT_READ | PROT_WRITE);
	struct sleeper z = { (uintptr_t)src, (uintptr_t)dst, 0, 1 };
	struct uffdio_copy cp = { (uintptr_t)src, (uintptr_t)page, PAGE, 0, 0 };
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;
	bool quick, copied, fault;
	pthread_t t;

	reg.range.start = (uintptr_t)src;
	reg.range.len = PAGE;
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		ksft_test_result_fail("userfaultfd: %s\n", strerror(errno));
		return;
	}
	memset(page, 0x3c, PAGE);
	if (pthread_create(&t, NULL, sleeper_main, &z))
		ksft_exit_fail_msg("pthread_create failed\n");
	/* the fault message: the sleeper is in GUP, waiting for the page */
	fault = poll(&pfd, 1, 30000) == 1 && read(uffd, &msg, sizeof(msg)) == sizeof(msg) &&
		msg.event == UFFD_EVENT_PAGEFAULT;
	quick = fault && run_within("insmod " CALL_ONCE_KO " nr=0x50560000 a0=0 && rmmod pvx_call_once",
			   30);
	if (ioctl(uffd, UFFDIO_COPY, &cp))
		ksft_print_msg("UFFDIO_COPY: %s\n", strerror(errno));
	pthread_join(t, NULL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	copied = !z.ret && z.copied == PAGE && all_bytes(dst, PAGE, 0x3c);
	ksft_test_result(quick && copied,
			 "insmod and rmmod of another pvx module finish while a fork-copy sleeps in GUP (%s%s), which then copies (%s)\n",
			 quick ? "yes" : "no", fault ? "" : ", no fault seen",
			 z.ret ? strerror(-z.ret) : "done");
	close(uffd);
	munmap(src, PAGE);
	munmap(dst, PAGE);
	munmap(page, PAGE);
}

static void fork_edge_cases(void)
{
	int status = -1;
	pid_t pid;

	errno = 0;
	ksft_test_result(pvx_fork(NULL, 1) == -1 && errno == EINVAL,
			 "pvx_fork(NULL, 1) -> -1 EINVAL, no child\n");
	pid = pvx_fork(NULL, 0);
	if (pid == 0)
		_exit(42);
	waitpid(pid, &status, 0);
	ksft_test_result(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 42,
			 "pvx_fork(NULL, 0) is fork()\n");
}

/* ---- the rule: copy where the host copy wins, plain fork() elsewhere */

#define RULE_RANGE	(64 * MIB)	/* PVX_FORK_NESTED_MIN_BYTES */
#define RULE_TOUCHED	(8 * MIB)	/* 4 huge pages, resident */
#define HUGE_PAGE	(2 * MIB)

/* /sys/kernel/pvx/host_features: PROBE's RDX as this guest keeps it. */
#define HOST_FEATURES	"/sys/kernel/pvx/host_features"

static unsigned long long read_host_features(void)
{
	unsigned long long v = 0;
	char buf[32];
	FILE *f = fopen(HOST_FEATURES, "r");

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			v = strtoull(buf, NULL, 0);
		fclose(f);
	}
	return v;
}

/* smaps' AnonHugePages of the mapping at @addr, in bytes; -1 unknown. */
static long long anon_huge(const void *addr)
{
	char line[256];
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long lo, hi;
	bool in = false;
	long long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = lo <= (unsigned long)addr && (unsigned long)addr < hi;
		else if (in && sscanf(line, "AnonHugePages: %lld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb < 0 ? -1 : kb << 10;
}

/*
 * A range of RULE_RANGE bytes, huge-page aligned, with @advice, whose
 * first RULE_TOUCHED bytes are written with @seed.
 */
static char *rule_range(int advice, uint64_t seed)
{
	char *raw = map_anon(RULE_RANGE + HUGE_PAGE, PROT_READ | PROT_WRITE);
	char *r = (char *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));

	/* one mapping of exactly the range: its smaps counts are the range's */
	if (r > raw)
		munmap(raw, r - raw);
	if (raw + HUGE_PAGE > r)
		munmap(r + RULE_RANGE, raw + HUGE_PAGE - r);
	if (madvise(r, RULE_RANGE, advice))
		ksft_exit_fail_msg("madvise %d: %s\n", advice, strerror(errno));
	fill(r, RULE_TOUCHED, seed);
	return r;
}

/*
 * pvx_fork() of @r with LIBPVX_FORK_PATH @path (NULL: unset): the child
 * checks the fork-time bytes; the stats and fork_copy/pages before and
 * after. True when the child saw them.
 */
static bool rule_fork(char *r, uint64_t seed, const char *path,
		      struct pvx_fork_stats *s0, struct pvx_fork_stats *s1, long long *pages)
{
	struct pvx_fork_range range = { r, RULE_RANGE };
	long long p0 = fc_stat("pages");
	int status = -1;
	pid_t pid;

	/* written again: a fork before left the range write-protected */
	fill(r, RULE_TOUCHED, seed);
	if (path)
		setenv("LIBPVX_FORK_PATH", path, 1);
	else
		unsetenv("LIBPVX_FORK_PATH");
	pvx_fork_stats(s0);
	pid = pvx_fork(&range, 1);
	if (pid == 0)
		_exit(mismatches(r, RULE_TOUCHED, seed, 0) ? 1 : 0);
	pvx_fork_stats(s1);
	setenv("LIBPVX_FORK_PATH", "copy", 1);
	waitpid(pid, &status, 0);
	*pages = fc_stat("pages") - p0;
	return pid > 0 && WIFEXITED(status) && !WEXITSTATUS(status);
}

/* One fork of @s0 -> @s1 made plain by the rule, none copied. */
static bool went_plain(const struct pvx_fork_stats *s0, const struct pvx_fork_stats *s1,
		       long long pages)
{
	return s1->plain_forks == s0->plain_forks + 1 &&
	       s1->ranges_fallback == s0->ranges_fallback + 1 &&
	       s1->ranges_copied == s0->ranges_copied && s1->last_error == ECANCELED &&
	       s1->forks == s0->forks + 1 && pages == 0;
}

/* One fork of @s0 -> @s1 whose range went the copy path. */
static bool went_copy(const struct pvx_fork_stats *s0, const struct pvx_fork_stats *s1,
		      long long pages)
{
	if (s1->plain_forks != s0->plain_forks || s1->forks != s0->forks + 1)
		return false;
	if (!host)	/* the child tried: no host fork-copy */
		return s1->ranges_fallback == s0->ranges_fallback + 1 &&
		       s1->last_error == EOPNOTSUPP && pages == 0;
	/* the range's length is "copied"; the host copies what is resident */
	return s1->ranges_copied == s0->ranges_copied + 1 &&
	       s1->bytes_copied == s0->bytes_copied + RULE_RANGE &&
	       pages == (long long)(RULE_TOUCHED / PAGE);
}

static void rule_diag(const char *what, const struct pvx_fork_stats *s0,
		      const struct pvx_fork_stats *s1, long long pages)
{
	ksft_print_msg("%s: forks +%llu, plain +%u, copied +%llu (%llu bytes), fallback +%llu, last error %s; fork_copy/pages +%lld\n",
		       what, s1->forks - s0->forks, s1->plain_forks - s0->plain_forks,
		       s1->ranges_copied - s0->ranges_copied, s1->bytes_copied - s0->bytes_copied,
		       s1->ranges_fallback - s0->ranges_fallback,
		       s1->last_error ? strerror(s1->last_error) : "none", pages);
}

#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"
#define THP_DEFRAG	"/sys/kernel/mm/transparent_hugepage/defrag"

/*
 * The bracketed word of a THP sysfs file into @word ("" unknown): a
 * kernel with under 512 MiB of RAM boots with THP "never" (the lab's L3
 * has 256 MiB), where MADV_HUGEPAGE gets no huge page.
 */
static void thp_mode(const char *path, char *word, size_t size)
{
	char buf[128], *a, *b;

	word[0] = '\0';
	if (sysfs_read_str(path, buf, sizeof(buf)))
		return;
	a = strchr(buf, '[');
	b = a ? strchr(a, ']') : NULL;
	if (a && b && (size_t)(b - a - 1) < size)
		snprintf(word, size, "%.*s", (int)(b - a - 1), a + 1);
}

/* @path's mode "never" becomes "madvise"; @was keeps the mode to restore. */
static void thp_allow_madvise(const char *path, char *was, size_t size)
{
	int err;

	thp_mode(path, was, size);
	err = strcmp(was, "never") ? 0 : write_file(path, "madvise");
	if (err)
		ksft_print_msg("%s: could not write madvise: %s\n", path, strerror(-err));
}

static void thp_restore(const char *path, const char *was)
{
	if (!strcmp(was, "never"))
		write_file(path, was);
}

/* Whether descriptor @fd names @path. */
static bool fd_is(int fd, const char *path)
{
	char link[64], target[256];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, path);
}

/* The lowest descriptor of this process that names @path, or -1. */
static int fd_naming(const char *path)
{
	int fd;

	for (fd = 0; fd < 1024; fd++)
		if (fd_is(fd, path))
			return fd;
	return -1;
}

/*
 * The rule's files stay open between calls (libpvx's pvx_fork.c: a
 * close() on 6.1 queues an RCU callback whose grace period ran during the
 * fork() right after), and a descriptor of theirs that the program closed
 * and whose number came back as another file is left alone: the rule
 * opens its file again and decides as before. THP's policy is read only
 * when the host reports nested paging (the rule stops earlier otherwise).
 */
static void fork_rule_files(char *small, bool nested)
{
	bool thp_read = host && nested;
	int feat_fd, thp_fd, feat_again, thp_again, null_fd, feat_new;
	struct pvx_fork_stats s0, s1;
	long long pages;
	bool ok, as_before;

	feat_fd = fd_naming(HOST_FEATURES);
	thp_fd = fd_naming(THP_ENABLED);
	ok = rule_fork(small, 71, NULL, &s0, &s1, &pages);
	feat_again = fd_naming(HOST_FEATURES);
	thp_again = fd_naming(THP_ENABLED);
	ksft_test_result(ok && feat_fd >= 0 && feat_again == feat_fd &&
			 (thp_read ? thp_fd >= 0 && thp_again == thp_fd : thp_fd < 0),
			 "the rule's files stay open between calls: %s fd %d -> %d, %s fd %d -> %d%s\n",
			 HOST_FEATURES, feat_fd, feat_again, THP_ENABLED, thp_fd, thp_again,
			 thp_read ? "" : " (not read: no nested paging reported)");
	/* the program closes them and the numbers come back as /dev/null */
	null_fd = open("/dev/null", O_RDONLY);
	if (null_fd < 0 || (feat_fd >= 0 && dup2(null_fd, feat_fd) < 0) ||
	    (thp_fd >= 0 && dup2(null_fd, thp_fd) < 0))
		ksft_exit_fail_msg("/dev/null over the rule's descriptors: %s\n", strerror(errno));
	ok = rule_fork(small, 71, NULL, &s0, &s1, &pages);
	rule_diag("64 MiB, MADV_NOHUGEPAGE, its descriptors taken", &s0, &s1, pages);
	as_before = host && nested ? went_plain(&s0, &s1, pages) : went_copy(&s0, &s1, pages);
	feat_new = fd_naming(HOST_FEATURES);
	ksft_test_result(ok && as_before && feat_new >= 0 && feat_new != feat_fd,
			 "their numbers reused by the program: the rule decides as before from a new descriptor (%d)\n",
			 feat_new);
	ksft_test_result((feat_fd < 0 || fd_is(feat_fd, "/dev/null")) &&
			 (thp_fd < 0 || fd_is(thp_fd, "/dev/null")),
			 "and leaves the program's descriptors %d and %d alone (still /dev/null)\n",
			 feat_fd, thp_fd);
	if (feat_fd >= 0)
		close(feat_fd);
	if (thp_fd >= 0)
		close(thp_fd);
	close(null_fd);
}

/*
 * PROBE's paging facts and the rule of pvx_fork_calc.h, end to end: with
 * nested paging a 64 MiB range without huge pages (MADV_NOHUGEPAGE) goes
 * plain fork() (the host copy loses there), one in huge pages
 * (MADV_HUGEPAGE, 8 MiB of it resident) the copy path; with shadow paging
 * both copy. Without pvx on the host (the fallback boot: an old host
 * looks the same, no paging facts) the rule copies, as before it, and the
 * child falls back with EOPNOTSUPP. LIBPVX_FORK_PATH=fork forces plain
 * fork(), a bad value is auto.
 */
static void fork_rule(void)
{
	unsigned long long feat = read_host_features();
	unsigned long long unknown = feat & ~(unsigned long long)(PVX_F_ALL | PVX_PROBE_INFO_ALL);
	bool known = feat & PVX_PROBE_PAGING_KNOWN, nested = feat & PVX_PROBE_NESTED_PAGING;
	char enabled[16], defrag[16], *small, *huge;
	struct pvx_fork_stats s0, s1;
	long long huge_bytes, pages;
	bool ok;

	thp_allow_madvise(THP_ENABLED, enabled, sizeof(enabled));
	thp_allow_madvise(THP_DEFRAG, defrag, sizeof(defrag));
	small = rule_range(MADV_NOHUGEPAGE, 71);
	huge = rule_range(MADV_HUGEPAGE, 72);
	huge_bytes = anon_huge(huge);

	ksft_print_msg("host_features 0x%llx: paging %s; THP enabled '%s', defrag '%s' (madvise for this test if never); the MADV_HUGEPAGE range has %lld KiB in huge pages\n",
		       feat, !known ? "not reported" : nested ? "nested" : "shadow",
		       enabled, defrag, huge_bytes >> 10);
	ksft_test_result(host ? known && !unknown : feat == 0,
			 "host_features 0x%llx: %s\n", feat,
			 host ? "the host reports its paging mode (PVX_PROBE_PAGING_KNOWN), no unknown bit"
			      : "no pvx, no paging facts");
	ok = rule_fork(small, 71, NULL, &s0, &s1, &pages);
	rule_diag("64 MiB, MADV_NOHUGEPAGE", &s0, &s1, pages);
	ksft_test_result(ok && (host && nested ? went_plain(&s0, &s1, pages) :
				went_copy(&s0, &s1, pages)),
			 "rule: 64 MiB in 4 KiB pages -> %s, the child sees the fork-time bytes\n",
			 host && nested
			 ? "plain fork() (nested paging: the copy loses), counted in plain_forks with ECANCELED"
			 : host ? "the host copy (shadow paging)"
			 : "the copy path, EOPNOTSUPP (no paging facts)");
	ksft_test_result(huge_bytes >= (long long)RULE_TOUCHED / 2,
			 "the MADV_HUGEPAGE range is mostly in huge pages (%lld of %lu KiB)\n",
			 huge_bytes >> 10, RULE_TOUCHED >> 10);
	ok = rule_fork(huge, 72, NULL, &s0, &s1, &pages);
	rule_diag("64 MiB, MADV_HUGEPAGE", &s0, &s1, pages);
	ksft_test_result(ok && went_copy(&s0, &s1, pages),
			 "rule: 64 MiB in huge pages -> the copy path%s, the child sees the fork-time bytes\n",
			 host ? " (the host copied its 8 MiB)" : " (EOPNOTSUPP)");
	ok = rule_fork(huge, 72, "fork", &s0, &s1, &pages);
	rule_diag("LIBPVX_FORK_PATH=fork", &s0, &s1, pages);
	ksft_test_result(ok && went_plain(&s0, &s1, pages),
			 "LIBPVX_FORK_PATH=fork -> plain fork(), counted in plain_forks\n");
	ok = rule_fork(huge, 72, "bogus", &s0, &s1, &pages);
	rule_diag("LIBPVX_FORK_PATH=bogus", &s0, &s1, pages);
	ksft_test_result(ok && went_copy(&s0, &s1, pages),
			 "LIBPVX_FORK_PATH=bogus is auto: the copy path as without it\n");
	ok = rule_fork(small, 71, "copy", &s0, &s1, &pages);
	rule_diag("LIBPVX_FORK_PATH=copy", &s0, &s1, pages);
	ksft_test_result(ok && went_copy(&s0, &s1, pages),
			 "LIBPVX_FORK_PATH=copy -> the copy path also for 4 KiB pages\n");
	fork_rule_files(small, nested);
	munmap(small, RULE_RANGE);
	munmap(huge, RULE_RANGE);
	thp_restore(THP_DEFRAG, defrag);
	thp_restore(THP_ENABLED, enabled);
}

/* ---- --load, --unload ----------------------------------------------- */

/* dmesg has one pvx_fork line, and it says @text. */
static bool fork_says(const char *text)
{
	char needle[128];

	snprintf(needle, sizeof(needle), FORK_MOD ": %s", text);
	return dmesg_count(FORK_MOD ": ") == 1 && dmesg_count(needle) > 0;
}

static int load_test(const char *ko)
{
	static const char *const pvx_lines[] = { "pvx_", NULL };
	static const char *const fork_lines[] = { FORK_MOD ": ", NULL };
	int err = module_load(ko, "");

	ksft_set_plan(err ? 1 : 2);
	if (err) {
		ksft_test_result_fail("insmod pvx_fork.ko # %s\n", strerror(-err));
		dmesg_print(pvx_lines, 5);
		ksft_finished();
	}
	ksft_test_result_pass("insmod pvx_fork.ko\n");
	dmesg_print(fork_lines, 0);
	if (host)
		ksft_test_result(fork_says("host copies pages in batches"),
				 "dmesg says once that the host copies in batches\n");
	else
		ksft_test_result(fork_says("host has no PVX_HC_FORK_COPY"),
				 "dmesg says once that the host has no fork-copy\n");
	ksft_finished();
}

static int unload_test(void)
{
	int err;

	ksft_set_plan(3);
	print_sysfs_dir(FCDIR, "fork_copy");
	ksft_test_result(module_unload("pvx_guest") < 0,
			 "rmmod pvx_guest refused while pvx_fork uses it\n");
	err = module_unload(FORK_MOD);
	if (err)
		ksft_test_result_fail("rmmod pvx_fork # %s\n", strerror(-err));
	else
		ksft_test_result_pass("rmmod pvx_fork\n");
	ksft_test_result(!path_exists(FCDIR), "/sys/kernel/pvx/fork_copy gone after rmmod\n");
	ksft_finished();
}

int main(int argc, char **argv)
{
	/* run_kselftest.sh runs it without arguments: a skip, not a failure */
	if (argc == 1)
		ksft_exit_skip("no mode: the lab's init.sh gives %s\n",
			       "--load, --expect-host, --expect-fallback or --unload");

	if (argc == 2 && !strcmp(argv[1], "--unload")) {
		ksft_print_header();
		return unload_test();
	}
	if (argc == 4 && !strcmp(argv[1], "--load") && parse_expect(argv[3], &host)) {
		ksft_print_header();
		return load_test(argv[2]);
	}
	if (argc != 2 || !parse_expect(argv[1], &host)) {
		fprintf(stderr,
			"usage: pvx_fork_guest_test --load KO --expect-host|--expect-fallback\n"
			"       pvx_fork_guest_test --expect-host|--expect-fallback\n"
			"       pvx_fork_guest_test --unload\n");
		return 2;
	}
	ksft_print_header();
	/*
	 * behaviour 3 or 2, 18 bad inputs + NULL, fork 5, sparse 3, other ranges 2,
	 * own stack 2, edges 2, wiped 2, sparse child 1, child dies 1, rule 7,
	 * the rule's files 3;
	 * host: ioctl isolation 1, fork during copy 1
	 */
	ksft_set_plan((host ? 3 + 2 : 2) + 19 + 5 + 3 + 2 + 2 + 2 + 2 + 1 + 1 + 7 + 3);
	pvx_fd = open("/dev/pvx", O_RDONLY);
	if (pvx_fd < 0)
		ksft_exit_fail_msg("/dev/pvx: %s\n", strerror(errno));
	/* the tests of pvx_fork()'s copy path take it whatever the rule says */
	setenv("LIBPVX_FORK_PATH", "copy", 1);
	copy_behaviour();
	bad_input();
	fork_semantics();
	fork_sparse();
	fork_other_ranges();
	fork_own_stack();
	fork_edge_cases();
	fork_rule();
	fork_wiped("MADV_WIPEONFORK", MAP_PRIVATE);
	fork_wiped("MAP_DROPPABLE", MAP_DROPPABLE);
	fork_sparse_child();
	if (pthread_atfork(NULL, NULL, die_in_child))
		ksft_exit_fail_msg("pthread_atfork failed\n");
	fork_child_dies();
	if (host) {
		ioctl_isolation();
		fork_during_copy();
	}
	ksft_finished();
}
