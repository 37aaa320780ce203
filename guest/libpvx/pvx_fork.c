// SPDX-License-Identifier: GPL-2.0
/*
 * libpvx: pvx_fork() of pvx_fork.h.
 *
 * fork(); in the child, for each range R (its whole pages), in chunks of
 * PVX_FORK_CHUNK: map fresh anonymous memory N, have the host copy R
 * into N (PVX_IOC_FORK_COPY: one exit per 255 pages) and mremap() N over
 * R. The child's pages of R then are its own; the pages it shared
 * copy-on-write with the parent are dropped, so the parent's next write
 * to one finds it no longer shared and reuses it without a copy. The
 * parent waits for the child's report on a pipe before it returns.
 * When every range was copied, the parent then faults its own pages of
 * the ranges that a write would reuse in writable (pvx_fork_prefault()).
 *
 * What the child copies is its own view of R at the time of the copy:
 * the fork-time snapshot (a parent write after the fork went to a new
 * page of the parent's) plus whatever the child's own atfork handlers
 * wrote. The child runs only async-signal-safe calls before it returns.
 *
 * Only private anonymous read-write memory is moved (mremap() carries no
 * file and no other protection over, and the stack cannot move), not the
 * stack the child runs on, and with signals blocked: between a copy and
 * its mremap() the child must not write to the range. Anything else, and
 * every failure, leaves that range copy-on-write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pvx.h"
#include "pvx_fork.h"

#define PVX_API		__attribute__((visibility("default")))

/* Fresh pages the child maps at a time: bounds its extra memory. */
#define PVX_FORK_CHUNK	(16ul << 20)

/* /proc/self/pagemap entries the parent reads at a time (4 KiB). */
#define PVX_FORK_PAGEMAP_PAGES	512
/* pagemap: present (bit 63) and mapped by this process only (bit 56) */
#define PVX_PM_REUSABLE		((1ull << 63) | (1ull << 56))

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23	/* Linux 5.14 */
#endif

static struct pvx_fork_stats pvx_fork_totals;	/* __atomic builtins */

/* What the child tells the parent. */
struct pvx_fork_report {
	unsigned long long ranges_copied;
	unsigned long long bytes_copied;
	unsigned long long ranges_fallback;
	int last_error;
};

/* ---- the child: is a range private anonymous read-write memory? ---- */

/* /proc/self/maps, read line by line without malloc (after fork). */
struct pvx_maps {
	int fd;
	size_t len, pos;
	char buf[4096];
};

/* The next line, NUL-terminated (a longer one is cut), or NULL. */
static char *pvx_maps_line(struct pvx_maps *m)
{
	char *nl, *line;
	ssize_t got;

	for (;;) {
		nl = memchr(m->buf + m->pos, '\n', m->len - m->pos);
		if (nl) {
			line = m->buf + m->pos;
			*nl = 0;
			m->pos = nl + 1 - m->buf;
			return line;
		}
		memmove(m->buf, m->buf + m->pos, m->len - m->pos);
		m->len -= m->pos;
		m->pos = 0;
		if (m->len == sizeof(m->buf) - 1) {	/* cut: keep the start */
			m->buf[m->len] = '\n';
			m->len++;
			continue;
		}
		do
			got = read(m->fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len);
		while (got < 0 && errno == EINTR);
		if (got <= 0)
			return NULL;
		m->len += got;
	}
}

/*
 * "lo-hi perms offset dev inode [name]": the mapping's bounds, and whether
 * it is one mremap() may replace: private, read-write, no file ([heap]
 * and named anonymous memory are anonymous; the stack grows down).
 */
static bool pvx_maps_parse(char *line, uintptr_t *lo, uintptr_t *hi, bool *anon_rw)
{
	char *p = line, *name;
	int field;

	*lo = strtoul(p, &p, 16);
	if (*p++ != '-')
		return false;
	*hi = strtoul(p, &p, 16);
	if (*p++ != ' ')
		return false;
	*anon_rw = !strncmp(p, "rw-p ", 5);
	for (field = 0, name = p; field < 4 && name; field++) {
		name = strchr(name, ' ');
		if (name)
			name++;
	}
	while (name && *name == ' ')
		name++;
	if (name && *name && strcmp(name, "[heap]") && strncmp(name, "[anon:", 6))
		*anon_rw = false;
	return true;
}

/*
 * 0 when [start, end) is all private anonymous read-write memory and not
 * in the mapping of the stack this code runs on (a thread's stack is
 * anonymous too): what the child pushes there between the copy and the
 * mremap() would be lost.
 */
static int pvx_fork_check_range(uintptr_t start, uintptr_t end)
{
	struct pvx_maps m = { .len = 0, .pos = 0 };
	uintptr_t covered = start, sp = (uintptr_t)&m, lo, hi;
	bool anon_rw;
	char *line;
	int ret = 0;

	m.fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (m.fd < 0)
		return errno;
	while (covered < end && !ret && (line = pvx_maps_line(&m))) {
		if (!pvx_maps_parse(line, &lo, &hi, &anon_rw))
			ret = EIO;
		else if (hi <= covered)
			continue;
		else if (lo > covered)
			ret = EFAULT;		/* a hole */
		else if (!anon_rw || (lo <= sp && sp < hi))
			ret = EINVAL;
		else
			covered = hi;
	}
	close(m.fd);
	if (!ret && covered < end)
		ret = EFAULT;
	return ret;
}

/* ---- the child: copy a range ---------------------------------------- */

/* Copy [addr, addr + len) into fresh pages and move them over it: 0 or errno. */
static int pvx_fork_copy_chunk(int fd, uintptr_t addr, size_t len)
{
	struct pvx_fork_copy_req req = { .src = addr, .len = len };
	void *fresh = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err;

	if (fresh == MAP_FAILED)
		return errno;
	req.dst = (uintptr_t)fresh;
	if (ioctl(fd, PVX_IOC_FORK_COPY, &req) == 0 &&
	    mremap(fresh, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
		   (void *)addr) != MAP_FAILED)
		return 0;
	err = errno;
	munmap(fresh, len);
	return err;
}

/* A range's whole pages, chunk by chunk: 0 or errno (then the rest stays COW). */
static int pvx_fork_copy_range(int fd, const struct pvx_fork_range *r,
			       struct pvx_fork_report *rep)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)r->addr + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)r->addr + r->len) & ~(page - 1);
	size_t len;
	int err;

	if (!r->len || (uintptr_t)r->addr + r->len < (uintptr_t)r->addr)
		return EINVAL;
	if (end <= start)
		return EINVAL;	/* no whole page: it all stays copy-on-write */
	err = pvx_fork_check_range(start, end);
	while (!err && start < end) {
		len = end - start < PVX_FORK_CHUNK ? end - start : PVX_FORK_CHUNK;
		err = pvx_fork_copy_chunk(fd, start, len);
		if (!err)
			rep->bytes_copied += len;
		start += len;
	}
	return err;
}

static void pvx_fork_child(const struct pvx_fork_range *ranges, unsigned int n,
			   int report_fd)
{
	struct pvx_fork_report rep = { .last_error = 0 };
	int fd = open("/dev/pvx", O_RDONLY | O_CLOEXEC);
	int err = fd < 0 ? errno : 0;
	unsigned int i;
	ssize_t w;

	for (i = 0; i < n; i++) {
		/* no /dev/pvx, no ioctl, no host support: the same for every range */
		if (err != ENOENT && err != ENOTTY && err != EOPNOTSUPP && fd >= 0)
			err = pvx_fork_copy_range(fd, &ranges[i], &rep);
		if (err) {
			rep.ranges_fallback++;
			rep.last_error = err;
		} else {
			rep.ranges_copied++;
		}
	}
	if (fd >= 0)
		close(fd);
	do
		w = write(report_fd, &rep, sizeof(rep));
	while (w < 0 && errno == EINTR);
	close(report_fd);
}

/* ---- the parent ------------------------------------------------------ */

static void pvx_fork_account(const struct pvx_fork_report *rep)
{
	__atomic_fetch_add(&pvx_fork_totals.forks, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&pvx_fork_totals.ranges_copied, rep->ranges_copied,
			   __ATOMIC_RELAXED);
	__atomic_fetch_add(&pvx_fork_totals.bytes_copied, rep->bytes_copied,
			   __ATOMIC_RELAXED);
	__atomic_fetch_add(&pvx_fork_totals.ranges_fallback, rep->ranges_fallback,
			   __ATOMIC_RELAXED);
	if (rep->ranges_fallback)
		__atomic_store_n(&pvx_fork_totals.last_error, rep->last_error,
				 __ATOMIC_RELAXED);
}

/* Populate [start, end) writable; a failure is ignored (an optimisation). */
static void pvx_fork_populate(uintptr_t start, uintptr_t end)
{
	madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

/*
 * The parent's PTEs of a copied range are still write-protected since the
 * fork, although its pages are no longer shared: the child's were replaced
 * by the host's copies. Each first write of the parent to one of them is a
 * guest page fault, which under shadow paging (kvm_amd npt=0) is a VM exit
 * of its own: about one exit per page, nearly half of what pvx_fork() cost.
 * MADV_POPULATE_WRITE takes those faults in one system call instead, the
 * kernel reusing each page.
 *
 * Only runs of pages that /proc/self/pagemap calls present and exclusively
 * mapped are populated: exactly those a write would reuse without a copy.
 * A page never touched stays unbacked, the shared zero page behind a page
 * only read stays shared, and a page still shared copy-on-write with an
 * earlier child is not copied ahead of a write that may never come. The
 * flags need no privilege (only the frame numbers do). Every failure
 * leaves the rest to the ordinary faults.
 */
static void pvx_fork_prefault(int pagemap, const struct pvx_fork_range *r)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)r->addr + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)r->addr + r->len) & ~(page - 1);
	unsigned long long ent[PVX_FORK_PAGEMAP_PAGES];
	uintptr_t addr, run, len;
	size_t i, n;

	if ((uintptr_t)r->addr + r->len < (uintptr_t)r->addr)
		return;
	for (addr = start, run = 0; addr < end; addr += len) {
		n = (end - addr) / page;
		if (n > PVX_FORK_PAGEMAP_PAGES)
			n = PVX_FORK_PAGEMAP_PAGES;
		len = n * page;
		if (pread(pagemap, ent, n * sizeof(ent[0]),
			  (off_t)(addr / page * sizeof(ent[0]))) !=
		    (ssize_t)(n * sizeof(ent[0])))
			break;
		for (i = 0; i < n; i++) {
			if ((ent[i] & PVX_PM_REUSABLE) == PVX_PM_REUSABLE) {
				if (!run)
					run = addr + i * page;
			} else if (run) {
				pvx_fork_populate(run, addr + i * page);
				run = 0;
			}
		}
	}
	if (run)
		pvx_fork_populate(run, addr);
}

/* Wait for the child's report; a child that died before it sends none. */
static void pvx_fork_wait(int report_fd, const struct pvx_fork_range *ranges,
			  unsigned int n)
{
	struct pvx_fork_report rep = { .last_error = 0 };
	ssize_t got;

	do
		got = read(report_fd, &rep, sizeof(rep));
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof(rep))
		memset(&rep, 0, sizeof(rep));
	pvx_fork_account(&rep);
	if (rep.ranges_copied == n && !rep.ranges_fallback) {
		int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

		if (pagemap < 0)
			return;
		while (n--)
			pvx_fork_prefault(pagemap, &ranges[n]);
		close(pagemap);
	}
}

static bool pvx_fork_disabled(void)
{
	const char *env = getenv("LIBPVX_FALLBACK");

	return env && *env && strcmp(env, "0");
}

/*
 * Signals are blocked from before the fork until the child has copied: a
 * handler that ran in the child between a copy and its mremap() would
 * write to pages about to be replaced, and its writes would be lost.
 */
PVX_API pid_t pvx_fork(const struct pvx_fork_range *ranges, unsigned int n)
{
	sigset_t all, old;
	int p[2], saved;
	pid_t pid;

	if (!ranges && n) {
		errno = EINVAL;
		return -1;
	}
	if (!n || pvx_fork_disabled() || pipe2(p, O_CLOEXEC))
		return fork();
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		pvx_fork_child(ranges, n, p[1]);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 0;
	}
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid > 0)
		pvx_fork_wait(p[0], ranges, n);
	close(p[0]);
	errno = saved;
	return pid;
}

PVX_API void pvx_fork_stats(struct pvx_fork_stats *stats)
{
	stats->forks = __atomic_load_n(&pvx_fork_totals.forks, __ATOMIC_RELAXED);
	stats->ranges_copied = __atomic_load_n(&pvx_fork_totals.ranges_copied,
					       __ATOMIC_RELAXED);
	stats->bytes_copied = __atomic_load_n(&pvx_fork_totals.bytes_copied,
					      __ATOMIC_RELAXED);
	stats->ranges_fallback = __atomic_load_n(&pvx_fork_totals.ranges_fallback,
						 __ATOMIC_RELAXED);
	stats->last_error = __atomic_load_n(&pvx_fork_totals.last_error,
					    __ATOMIC_RELAXED);
	stats->reserved = 0;
}
