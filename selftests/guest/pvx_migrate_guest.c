// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_migrate_guest: the guest half of the lab's migration suite
 * (selftests/host/pvx_migrate_host.c, Documentation/lab.rst "The migrate
 * suite"). Runs inside an L3 guest with pvx_guest.ko and pvx_fork.ko
 * loaded while L2 live-migrates that guest between QEMU processes.
 *
 * It has the host write guest pages all the time and checks that none of
 * those writes is lost on the way: the pages a broken dirty log (bitmap
 * or ring) would leave behind on the source.
 *
 *   - A region of --pages destination pages D, each holding a pattern
 *     that names the page and its generation. A round takes the next
 *     --batch pages of D (round robin), checks that each still holds its
 *     last generation, writes the next generation of each into a source
 *     buffer and has the host copy the buffer over them
 *     (PVX_IOC_FORK_COPY: the host writes the guest pages). Every page is
 *     checked before it is written again, so a lost write cannot hide
 *     behind a later one. Without the host's fork-copy (EOPNOTSUPP) the
 *     guest copies itself and counts it as a fallback.
 *   - Every --fork-every rounds, a child made by libpvx's pvx_fork() over
 *     a range of --fork-pages pages (the host copies them into the
 *     child's fresh pages) checks that it still sees the fork-time
 *     contents, then the next child is made.
 *   - With --ksm-protect N, N pages protected from KSM merging
 *     (PVX_IOC_KSM_PROTECT, pvx_ksm_guest.ko) for the whole run: each
 *     destination is another VM on the host, whose pins start empty, so
 *     after each landing the guest must see a new epoch and pin them
 *     again by itself (ksm/resends grows, ksm/protected_on_host is N).
 *   - pvx's other features run on through the migrations (the lock
 *     torture of --torture, pvx_locality's automatic map) and
 *     after each landing the guest checks them: with --spin, the pv
 *     spinlock's acquisitions grew since the last landing; with
 *     --locality, on a pvx host the map was sent again to the new host
 *     by itself (locality/auto_resent grows); with --timer-ms MS, a
 *     thread pinned to the last CPU re-arms a one-shot steal-corrected
 *     timer (PVX_IOC_STIMER_CREATE) of MS over and over, and none may
 *     expire early: on effective time, its wall time less its steal,
 *     >= MS, or by its cap on wall time >= MS, and its wall time within
 *     what the thread measured around it; some must expire while each
 *     migration runs (between L2's "migrating K" and "landed K"). No
 *     BUG, WARNING, lockup or RCU stall line may appear in dmesg.
 *   - With --torture KO, a child process loads KO (pvx_lock_torture.ko)
 *     with threads=4 budget_ms=3000 hang_timeout=150 (its mutex, irq and
 *     bh phases, 3 s each), reads its results and unloads it, run after
 *     run, from before the first round until the checker's run has ended
 *     (the run under way then finishes); a load that fails ends the
 *     loop. One result for all the runs, "pvx_lock_torture ran R times
 *     through the migrations, its K checks passed", or, when a run had a
 *     failed result, the first such run's TAP whole, its results after
 *     "pvx_lock_torture RUN: ".
 *   - L2 names what the guest lands on: "landed K" a pvx host, "landed K
 *     none" a host without pvx_host, "landed K off" a pvx host that
 *     disabled this VM. Within 15 s of L2's word, without a reprobe,
 *     /sys/kernel/pvx/host must read what it landed on; a loss of pvx
 *     must be said once in dmesg and a return once; on a pvx host the
 *     protected pages pinned again and the map resent (the time until
 *     then is reported: the features' return).
 *   - D and the buffer are MADV_DONTFORK: a child sharing them
 *     copy-on-write would make the guest's kernel copy a page before the
 *     host's next write to it, a guest write that dirty logging sees by
 *     itself, hiding the host's write.
 *   - Over the control port (--ctl, L2's end is pvx_migrate_host), one line
 *     each way: the guest says "mig ready" once it writes; L2 says
 *     "landed K" after the K-th migration ended on the destination, and
 *     the guest checks every page of D and the current child at once and
 *     answers "mig checked K pages P mismatches M ..." (M also counts
 *     what the checks before rewrites found since the last landing: the
 *     guest runs on between the landing and L2's word of it); L2 says
 *     "done" and the guest stops, checks everything once more and prints
 *     TAP. Before each migration L2 says "migrating K".
 *
 * With --modules DIR first (init.sh's migrate boot), the feature modules
 * are loaded from DIR (pvx_ksm_guest interval_ms=0, pvx_spinlock,
 * pvx_stimer, pvx_locality auto=1, pvx_fork: one result each), the
 * checker runs in a child process with the other options, its results
 * relayed; then the modules' counters (fork_copy, ksm resends and
 * protections, stats, locality auto_*, stimer fired_*, spinlock
 * acquisitions) as comments, and the modules unloaded, one result each.
 * Without pvx_fork no checker runs. Without arguments it skips.
 *
 * TAP 13 on stdout, with the kernel's kselftest.h (the plan at the end:
 * the landings decide how many results there are); exit 0 all passed, 1
 * any failed, 2 a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/const.h>

#include "pvx.h"
#include "pvx_fork.h"
#include "kselftest.h"
#include "module_util.h"
#include "l3_tap.h"

#define PAGE		4096ul
#define WORDS		(PAGE / sizeof(uint64_t))
#define MAX_LANDINGS	64
#define FORK_TAG	_BITULL(40)	/* the child range's pages: apart from D's */
#define MS		1000000ull
#define WAIT_MS		15000	/* the longest wait for what follows a landing */

/* What L2 says the guest landed on. */
enum host_kind { HOST_PVX, HOST_NONE, HOST_OFF };
static const char *const kind_name[] = { "pvx", "none", "off" };

struct landing {
	unsigned long long pages, bad, rewrite_bad, child_pages, child_bad, rounds, host_pages;
	double check_ms;
	/* --ksm-protect: the epoch before and after, the table sent again */
	unsigned long long epoch0, epoch, resends, on_host;
	double ksm_ms;
	/* what it landed on, and what the guest saw of it */
	enum host_kind kind, prev;
	char host[16];			/* /sys/kernel/pvx/host then */
	long long lost, back;		/* dmesg lines of a loss, of a return */
	unsigned long long spin, resent;	/* the growths since the last landing */
	unsigned long long timers, timers_early;
	long long splats;
};

static struct {
	const char *ctl_path;
	size_t pages, batch, fork_pages, fork_every, ksm_protect;
	unsigned int pause_ms, limit_s, timer_ms;
	bool spin, locality;
	const char *torture_ko;
} opt = {
	.ctl_path = "/dev/ttyS1", .pages = 4096, .batch = 255,
	.fork_pages = 256, .fork_every = 16, .pause_ms = 0, .limit_s = 1500,
};

static int pvx_fd = -1, ctl_fd = -1;
static uint64_t *dst, *src, *frange;
static uint32_t *gen;		/* the generation each page of D holds */

/* what the run counted */
static unsigned long long rounds, host_pages, fallback_pages, copy_errors;
static unsigned long long prewrite_pages, prewrite_bad, copy_bad;
static unsigned long long forks, fork_fallbacks, child_pages, child_bad, child_lost;
static int last_copy_errno, last_fork_errno;
static struct landing landing[MAX_LANDINGS];
static unsigned int landings;

/* first mismatches, for the diagnostics */
static char bad_note[4][160];
static unsigned int bad_notes;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Every word of every page says which page and which generation. */
static uint64_t pattern(uint64_t page, uint64_t g, size_t word)
{
	uint64_t x = (page << 20) ^ (g << 44) ^ word ^ 0x5851f42d4c957f2dull;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 29;
	return x | 1;	/* never 0: a page that went back to zero is wrong */
}

static void fill_page(uint64_t *p, uint64_t page, uint64_t g)
{
	size_t i;

	for (i = 0; i < WORDS; i++)
		p[i] = pattern(page, g, i);
}

static bool page_ok(const uint64_t *p, uint64_t page, uint64_t g)
{
	size_t i;

	for (i = 0; i < WORDS; i++)
		if (p[i] != pattern(page, g, i))
			return false;
	return true;
}

/* Which generation a wrong page of D holds (a few back), for the note. */
static void note_bad(const char *where, const uint64_t *p, uint64_t page, uint64_t g)
{
	long long found = -1;
	uint64_t k;

	if (bad_notes >= 4)
		return;
	for (k = 1; k <= 8 && k <= g; k++)
		if (page_ok(p, page, g - k)) {
			found = (long long)(g - k);
			break;
		}
	if (found >= 0)
		snprintf(bad_note[bad_notes++], sizeof(bad_note[0]),
			 "%s: page %llu holds generation %lld, expected %llu (a host write lost)",
			 where, (unsigned long long)page, found, (unsigned long long)g);
	else
		snprintf(bad_note[bad_notes++], sizeof(bad_note[0]),
			 "%s: page %llu holds none of generations %llu..%llu (word 0 %#llx)",
			 where, (unsigned long long)page, (unsigned long long)(g > 8 ? g - 8 : 0),
			 (unsigned long long)g, (unsigned long long)p[0]);
}

/* ---- the control port --------------------------------------------------- */

static char ctl_buf[256];
static size_t ctl_len;

static void ctl_say(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(ctl_fd, line, n) != n)
		fprintf(stderr, "pvx_migrate_guest: write to %s: %s\n", opt.ctl_path,
			strerror(errno));
}

/* The next line from L2 into @line (no CR/LF): true, or false when none came within @ms. */
static bool ctl_line(char *line, size_t size, int ms)
{
	struct pollfd pfd = { .fd = ctl_fd, .events = POLLIN };
	char *nl;
	ssize_t got;
	size_t n;

	for (;;) {
		nl = memchr(ctl_buf, '\n', ctl_len);
		if (nl) {
			n = nl - ctl_buf;
			if (n >= size)
				n = size - 1;
			memcpy(line, ctl_buf, n);
			line[n] = 0;
			if (n && line[n - 1] == '\r')
				line[n - 1] = 0;
			ctl_len -= nl + 1 - ctl_buf;
			memmove(ctl_buf, nl + 1, ctl_len);
			return true;
		}
		if (ctl_len == sizeof(ctl_buf))
			ctl_len = 0;	/* a line too long: dropped */
		if (poll(&pfd, 1, ms) <= 0)
			return false;
		got = read(ctl_fd, ctl_buf + ctl_len, sizeof(ctl_buf) - ctl_len);
		if (got <= 0)
			return false;
		ctl_len += got;
	}
}

static void ctl_open(void)
{
	struct termios t;

	ctl_fd = open(opt.ctl_path, O_RDWR | O_NOCTTY);
	if (ctl_fd < 0) {
		fprintf(stderr, "pvx_migrate_guest: open %s: %s\n", opt.ctl_path, strerror(errno));
		exit(1);
	}
	if (!tcgetattr(ctl_fd, &t)) {
		cfmakeraw(&t);
		tcsetattr(ctl_fd, TCSANOW, &t);
	}
	tcflush(ctl_fd, TCIOFLUSH);
}

/* ---- the host writes pages of D ------------------------------------------ */

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "pvx_migrate_guest: mmap %zu: %s\n", len, strerror(errno));
		exit(1);
	}
	return p;
}

/* Copy @n pages of src over D from page @first: by the host, or by the guest. */
static void copy_pages(size_t first, size_t n)
{
	struct pvx_fork_copy_req r = {
		.src = (uintptr_t)src, .dst = (uintptr_t)(dst + first * WORDS), .len = n * PAGE,
	};
	size_t done = 0;

	if (!ioctl(pvx_fd, PVX_IOC_FORK_COPY, &r)) {
		host_pages += n;
		return;
	}
	if (errno == EOPNOTSUPP) {
		fallback_pages += n;
	} else {
		copy_errors++;
		last_copy_errno = errno;
		done = r.copied / PAGE;
		host_pages += done;
		fallback_pages += n - done;
	}
	memcpy(dst + (first + done) * WORDS, src + done * WORDS, (n - done) * PAGE);
}

static size_t cursor;		/* the first page of D of the next round */

static void round_once(void)
{
	size_t first = cursor, n = opt.batch, i;

	if (first + n > opt.pages)
		n = opt.pages - first;
	for (i = 0; i < n; i++) {
		uint64_t *p = dst + (first + i) * WORDS;

		prewrite_pages++;
		if (!page_ok(p, first + i, gen[first + i])) {
			prewrite_bad++;
			note_bad("before a rewrite", p, first + i, gen[first + i]);
		}
		fill_page(src + i * WORDS, first + i, gen[first + i] + 1);
	}
	copy_pages(first, n);
	for (i = 0; i < n; i++) {
		gen[first + i]++;
		/* the copy itself, on this host */
		if (!page_ok(dst + (first + i) * WORDS, first + i, gen[first + i])) {
			copy_bad++;
			note_bad("right after the copy", dst + (first + i) * WORDS, first + i,
				 gen[first + i]);
		}
	}
	cursor = first + n == opt.pages ? 0 : first + n;
	rounds++;
}

/* Every page of D: the mismatches. */
static unsigned long long check_all(const char *where)
{
	unsigned long long bad = 0;
	size_t i;

	for (i = 0; i < opt.pages; i++)
		if (!page_ok(dst + i * WORDS, i, gen[i])) {
			bad++;
			note_bad(where, dst + i * WORDS, i, gen[i]);
		}
	return bad;
}

/* ---- pvx_fork() children ------------------------------------------------- */

static struct {
	pid_t pid;
	int go, res;
	uint64_t g;
} child = { .pid = -1 };

static void child_main(int go, int res, uint64_t g)
{
	uint64_t bad = 0;
	char c;
	size_t i;

	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	for (i = 0; i < opt.fork_pages; i++)
		if (!page_ok(frange + i * WORDS, FORK_TAG + i, g))
			bad++;
	if (write(res, &bad, sizeof(bad)) != sizeof(bad))
		_exit(2);
	_exit(0);
}

static void child_start(void)
{
	struct pvx_fork_range r = { frange, opt.fork_pages * PAGE };
	struct pvx_fork_stats st0, st1;
	int go[2], res[2];
	size_t i;

	if (!opt.fork_pages)
		return;
	child.g++;
	for (i = 0; i < opt.fork_pages; i++)
		fill_page(frange + i * WORDS, FORK_TAG + i, child.g);
	if (pipe(go) || pipe(res)) {
		fprintf(stderr, "pvx_migrate_guest: pipe: %s\n", strerror(errno));
		exit(1);
	}
	pvx_fork_stats(&st0);
	child.pid = pvx_fork(&r, 1);
	if (child.pid == 0) {
		close(go[1]);
		close(res[0]);
		child_main(go[0], res[1], child.g);
	}
	close(go[0]);
	close(res[1]);
	if (child.pid < 0) {
		fprintf(stderr, "pvx_migrate_guest: pvx_fork: %s\n", strerror(errno));
		close(go[1]);
		close(res[0]);
		return;
	}
	pvx_fork_stats(&st1);
	forks++;
	if (st1.ranges_fallback > st0.ranges_fallback) {
		fork_fallbacks++;
		last_fork_errno = st1.last_error;
	}
	child.go = go[1];
	child.res = res[0];
	/* the parent's writes after the fork must stay invisible to the child */
	for (i = 0; i < opt.fork_pages; i += 7)
		frange[i * WORDS] = 0;
}

/* Have the current child check its range: the pages it checked, *@bad. */
static unsigned long long child_check(unsigned long long *bad)
{
	uint64_t got = 0;
	int status;

	*bad = 0;
	if (child.pid <= 0)
		return 0;
	if (write(child.go, "c", 1) != 1 ||
	    read(child.res, &got, sizeof(got)) != sizeof(got)) {
		child_lost++;
		got = opt.fork_pages;	/* unknown: all of them */
	}
	close(child.go);
	close(child.res);
	waitpid(child.pid, &status, 0);
	child.pid = -1;
	*bad = got;
	child_pages += opt.fork_pages;
	child_bad += got;
	return opt.fork_pages;
}

/* ---- protections from merging that must follow the guest ----------------- */

/* A number from /sys/kernel/pvx/@name (hex with 0x), or ~0 when unreadable. */
static unsigned long long pvx_sys(const char *name)
{
	unsigned long long v = ~0ull;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/pvx/%s", name);
	f = fopen(path, "r");
	if (!f)
		return v;
	if (fscanf(f, "%lli", &v) != 1)
		v = ~0ull;
	fclose(f);
	return v;
}

static unsigned long long ksm_epoch, ksm_resends;

/* --ksm-protect N: N pages protected for the whole run; 0 or -errno. */
static int ksm_protect_start(void)
{
	struct pvx_ksm_protect_req r = { 0 };
	void *p = map_anon(opt.ksm_protect * PAGE);
	int fd;

	/* the children need not share them: only this process holds them */
	if (madvise(p, opt.ksm_protect * PAGE, MADV_DONTFORK))
		return -errno;
	memset(p, 0x5a, opt.ksm_protect * PAGE);
	r.addr = (uintptr_t)p;
	r.len = opt.ksm_protect * PAGE;
	fd = ioctl(pvx_fd, PVX_IOC_KSM_PROTECT, &r);
	if (fd < 0)
		return -errno;
	ksm_epoch = pvx_sys("host_epoch");
	ksm_resends = pvx_sys("ksm/resends");
	return 0;	/* the fd stays open: the protection lives with it */
}

/* /sys/kernel/pvx/@name's first word into @buf ("" when unreadable). */
static void pvx_sys_word(const char *name, char *buf, size_t size)
{
	char path[128], fmt[16];
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/sys/kernel/pvx/%s", name);
	snprintf(fmt, sizeof(fmt), "%%%zus", size - 1);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fscanf(f, fmt, buf) != 1)
		buf[0] = 0;
	fclose(f);
}

/* ---- the kernel log ------------------------------------------------------ */

static char *klog;
static int klog_size;

/* Lines of the kernel log holding @a (and @b when not NULL). */
static long long klog_count(const char *a, const char *b)
{
	long long n = 0;
	char *line, *nl;
	int len;

	if (!klog) {
		klog_size = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
		if (klog_size <= 0)
			return -1;
		klog = malloc(klog_size + 1);
		if (!klog)
			return -1;
	}
	len = klogctl(3, klog, klog_size);		/* SYSLOG_ACTION_READ_ALL */
	if (len < 0)
		return -1;
	klog[len] = 0;
	for (line = klog; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (strstr(line, a) && (!b || strstr(line, b)))
			n++;
	}
	return n;
}

/* What no_splat in init.sh looks for: a kernel that went wrong. */
static long long splats(void)
{
	static const char *const pat[] = {
		"BUG:", "WARNING:", "Call Trace", "soft lockup", "hard LOCKUP",
	};
	long long n = klog_count("rcu_", "stall"), c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pat) && n >= 0; i++) {
		c = klog_count(pat[i], NULL);
		n = c < 0 ? -1 : n + c;
	}
	return n;
}

static long long lost_lines(void)
{
	return klog_count("pvx_guest: host stopped serving pvx", NULL);
}

static long long back_lines(void)
{
	return klog_count("pvx_guest: host serves pvx again", NULL);
}

/* ---- a steal-corrected timer through the migrations ---------------------- */

static struct {
	pthread_t thread;
	bool started;
	int stop, migrating;	/* set by the main thread */
	/* under lock */
	unsigned long long fired, capped, early, in_migration, steal_errors;
	int err;		/* an ioctl's errno that stopped the loop */
	char note[200];
} tmr;
static pthread_mutex_t tmr_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t effective_ns(uint64_t wall, uint64_t steal)
{
	return wall > steal ? wall - steal : 0;	/* as stimer_calc.h */
}

/*
 * Did the expiry in @st come early for a request of @req ns? On effective
 * time it must have seen @req of it, by the cap @req of wall time at
 * least; and its wall time lies inside the @outer ns the thread measured
 * from before the arming to after the read (0: not measured).
 */
static bool timer_early(const struct pvx_stimer_state *st, uint64_t req, uint64_t outer)
{
	if (outer && st->last_wall_ns > outer)
		return true;
	if (st->last_bound == PVX_STIMER_BOUND_EFFECTIVE)
		return effective_ns(st->last_wall_ns, st->last_steal_ns) < req;
	if (st->last_bound == PVX_STIMER_BOUND_CAP)
		return st->last_wall_ns < req;
	return true;
}

/* One arming of @fd, waited for and judged; 0 or an errno. */
static int timer_once(int fd)
{
	struct pvx_stimer_settime s = { .new_spec.value_ns = opt.timer_ms * MS };
	struct pvx_steal_query q0 = { 0 }, q1 = { .flags = PVX_STEAL_SINCE };
	struct pvx_stimer_state st;
	uint64_t n, req = s.new_spec.value_ns;
	bool outer, early;

	outer = !ioctl(pvx_fd, PVX_IOC_STEAL_QUERY, &q0);
	if (ioctl(fd, PVX_IOC_STIMER_SETTIME, &s))
		return errno;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return errno;
	q1.since = q0.now;
	/* a steal count that went back (a landing) is refused: counted */
	outer = outer && !ioctl(pvx_fd, PVX_IOC_STEAL_QUERY, &q1);
	if (ioctl(fd, PVX_IOC_STIMER_GETTIME, &st))
		return errno;
	early = timer_early(&st, req, outer ? q1.wall_ns : 0);
	pthread_mutex_lock(&tmr_lock);
	tmr.fired++;
	tmr.capped += st.last_bound == PVX_STIMER_BOUND_CAP;
	tmr.in_migration += __atomic_load_n(&tmr.migrating, __ATOMIC_RELAXED);
	tmr.steal_errors += !outer;
	if (early && !tmr.early++)
		snprintf(tmr.note, sizeof(tmr.note),
			 "bound %u, wall %llu ns, steal %llu ns, measured around it %llu ns, request %llu ns",
			 st.last_bound, (unsigned long long)st.last_wall_ns,
			 (unsigned long long)st.last_steal_ns,
			 outer ? (unsigned long long)q1.wall_ns : 0ull, (unsigned long long)req);
	pthread_mutex_unlock(&tmr_lock);
	return 0;
}

/* The timer thread, on the last CPU (its steal is the timer's). */
static void *timer_main(void *unused)
{
	struct pvx_stimer_create c = { 0 };
	cpu_set_t set;
	int fd, err = 0;

	(void)unused;
	CPU_ZERO(&set);
	CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) - 1, &set);
	sched_setaffinity(0, sizeof(set), &set);
	fd = ioctl(pvx_fd, PVX_IOC_STIMER_CREATE, &c);
	if (fd < 0)
		err = errno;
	while (!err && !__atomic_load_n(&tmr.stop, __ATOMIC_RELAXED))
		err = timer_once(fd);
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&tmr_lock);
	tmr.err = err;
	pthread_mutex_unlock(&tmr_lock);
	return NULL;
}

static void timer_start(void)
{
	if (opt.timer_ms && !pthread_create(&tmr.thread, NULL, timer_main, NULL))
		tmr.started = true;
}

static void timer_stop(void)
{
	__atomic_store_n(&tmr.stop, 1, __ATOMIC_RELAXED);
	if (tmr.started)
		pthread_join(tmr.thread, NULL);
}

/* The timers and early ones since the last call. */
static void timer_take(unsigned long long *in_migration, unsigned long long *early)
{
	static unsigned long long early0;

	pthread_mutex_lock(&tmr_lock);
	*in_migration = tmr.in_migration;
	*early = tmr.early - early0;
	tmr.in_migration = 0;
	early0 = tmr.early;
	pthread_mutex_unlock(&tmr_lock);
}

/* ---- after a landing: what the guest sees of its new host ---------------- */

static unsigned long long spin0, resent0;
static long long lost0, back0, splat0;

/* The counter's growth since *@last (and *@last moved on), 0 when unreadable. */
static unsigned long long grown(const char *name, unsigned long long *last)
{
	unsigned long long v = pvx_sys(name), d;

	if (v == ~0ull)
		return 0;
	d = v > *last ? v - *last : 0;
	*last = v;
	return d;
}

/*
 * A count of kernel log lines against the last one (*@last moved on): its
 * growth, -1 when the log could not be read. A log that wrapped around
 * since counts less than before: no line said then, as far as it shows.
 */
static long long klog_grown(long long now, long long *last)
{
	long long d;

	if (now < 0)
		return -1;
	d = now > *last ? now - *last : 0;
	*last = now;
	return d;
}

/* Has the guest followed its new host (what @l landed on) yet? */
static bool followed(struct landing *l)
{
	pvx_sys_word("host", l->host, sizeof(l->host));
	if (l->kind != HOST_PVX)
		return !strcmp(l->host, "no-pvx");
	if (strcmp(l->host, "pvx"))
		return false;
	if (opt.ksm_protect) {
		l->resends = pvx_sys("ksm/resends");
		l->on_host = pvx_sys("ksm/protected_on_host");
		if (l->resends == ~0ull || l->resends <= ksm_resends ||
		    l->on_host != opt.ksm_protect)
			return false;
	}
	return !opt.locality || pvx_sys("locality/auto_resent") > resent0;
}

/*
 * Within 15 s the guest's periodic PROBE sees the new host: the new epoch
 * on a pvx host, where the protected table is sent again (resends grows)
 * and pinned whole and the locality map resent; no-pvx elsewhere (a
 * longer silence would look like a stuck guest to the lab). The rounds go
 * on meanwhile: the automatic map is made of the threads that ran, and
 * this one is its only candidate.
 */
static void after_landing(struct landing *l)
{
	double t0 = now_ms();
	unsigned long long tm;

	l->epoch0 = ksm_epoch;
	while (!followed(l) && now_ms() - t0 < WAIT_MS)
		round_once();
	l->ksm_ms = now_ms() - t0;
	l->epoch = pvx_sys("host_epoch");
	ksm_epoch = l->epoch;
	if (l->kind == HOST_PVX && opt.ksm_protect)
		ksm_resends = l->resends;
	l->lost = klog_grown(lost_lines(), &lost0);
	l->back = klog_grown(back_lines(), &back0);
	l->splats = klog_grown(splats(), &splat0);
	l->spin = grown("spinlock/acquisitions", &spin0);
	l->resent = grown("locality/auto_resent", &resent0);
	timer_take(&tm, &l->timers_early);
	l->timers = tm;
}

/* The loss and return of pvx that @l must have seen after landing @prev. */
static bool host_ok(const struct landing *l, enum host_kind prev)
{
	if (l->kind != HOST_PVX)
		return !strcmp(l->host, "no-pvx") && l->lost == (prev == HOST_PVX) && !l->back;
	return !strcmp(l->host, "pvx") && !l->lost && l->back == (prev != HOST_PVX);
}

/* The features that follow the guest, on a pvx host: pinned, resent. */
static bool features_ok(const struct landing *l)
{
	if (l->kind != HOST_PVX)
		return true;
	return (!opt.ksm_protect || (l->epoch != l->epoch0 && l->on_host == opt.ksm_protect)) &&
	       (!opt.locality || l->resent > 0);
}

static bool load_ok(const struct landing *l)
{
	return !l->splats && (!opt.spin || l->spin > 0) &&
	       (!opt.timer_ms || (l->timers > 0 && !l->timers_early));
}

/* ---- the lock torture beside the checker (--torture) -------------------- */

#define TORTURE_MOD	"pvx_lock_torture"
#define TORTURE_RESULTS	"/sys/kernel/debug/pvx_lock_torture/results"
/* runs of a few seconds: 4 threads, the mutex, irq and bh phases 3 s each */
#define TORTURE_PARAMS	"threads=4 budget_ms=3000 hang_timeout=150"

static struct {
	pid_t pid;
	FILE *out;	/* the child's report, NULL when there is none */
	int stop[2];	/* a byte written into [1]: no run after the one under way */
} torture = { .pid = -1, .stop = { -1, -1 } };

/* Whether torture_result() asked the loop to stop, or the checker is gone. */
static bool torture_stop_asked(void)
{
	struct pollfd p = { .fd = torture.stop[0], .events = POLLIN };

	return poll(&p, 1, 0) != 0;
}

/* The line after @line in a text, NULL at its end. */
static char *next_line(char *line)
{
	line = strchr(line, '\n');
	return line && line[1] ? line + 1 : NULL;
}

/*
 * The torture's loop, in a child process: KO (@arg) loaded and unloaded,
 * run after run, its results read in between, until torture_result()
 * asks it to stop. Then on stdout "runs R oks K failed F": R the runs
 * whose results have a plan line, K their passed results, F the first
 * run with a failed result (0 none), whose results follow whole. A load
 * that fails ends the loop, its run's results one failed result.
 */
static void torture_loop(const void *arg)
{
	unsigned int run = 0, runs = 0, oks = 0, failed = 0;
	char *text, *line, *bad = NULL;
	int err;

	close(torture.stop[1]);
	close(ctl_fd);
	close(pvx_fd);
	while (!torture_stop_asked()) {
		run++;
		err = module_load(arg, TORTURE_PARAMS);
		if (err) {
			if (!failed && asprintf(&bad, "not ok 1 insmod pvx_lock_torture # %s\n",
						strerror(-err)) >= 0)
				failed = run;
			break;
		}
		text = read_text(TORTURE_RESULTS);
		module_unload(TORTURE_MOD);
		for (line = text; line; line = next_line(line)) {
			runs += !strncmp(line, "1..", 3);
			oks += !strncmp(line, "ok ", 3);
			if (!failed && !strncmp(line, "not ok ", 7))
				failed = run;
		}
		if (failed == run)
			bad = text;
		else
			free(text);
	}
	printf("runs %u oks %u failed %u\n%s", runs, oks, failed, bad ? bad : "");
	free(bad);
}

/* The torture's loop started in a child process, before the first round. */
static void torture_start(void)
{
	if (pipe(torture.stop))
		ksft_exit_fail_msg("pipe: %s\n", strerror(errno));
	torture.pid = piped_child(torture_loop, opt.torture_ko, &torture.out);
	if (torture.pid < 0)
		ksft_print_msg("fork for the lock torture: %s\n", strerror(errno));
}

/*
 * The checker's run has ended: the torture's loop stops after the run
 * under way, and its report becomes one result for all the runs, or the
 * first failed run's results whole, after "pvx_lock_torture RUN: ".
 */
static void torture_result(void)
{
	static const char *const failure_lines[] = { "pvx_", "BUG", "WARN", NULL };
	static const char ran[] = "pvx_lock_torture ran";
	unsigned int runs = 0, oks = 0, failed = 0, relayed = 0;
	char *line = NULL, prefix[64] = "";
	bool said = false;
	size_t len = 0;
	int status = -1;

	if (write(torture.stop[1], "s", 1) != 1)
		ksft_print_msg("stopping the lock torture: %s\n", strerror(errno));
	while (torture.out && getline(&line, &len, torture.out) > 0) {
		if (said) {
			relay_line(line, prefix, &relayed);
		} else if (sscanf(line, "runs %u oks %u failed %u", &runs, &oks, &failed) == 3) {
			said = true;
			snprintf(prefix, sizeof(prefix), "pvx_lock_torture %u: ", failed);
		}
	}
	free(line);
	if (torture.out)
		fclose(torture.out);
	if (torture.pid > 0)
		waitpid(torture.pid, &status, 0);
	if (!said) {
		/* an oops in the module's init kills the task that loads it */
		ksft_test_result(false,
				 "%s through the migrations # its loop ended early (wait status %#x)\n",
				 ran, status);
		dmesg_print(failure_lines, 10);
	} else if (failed && !relayed) {
		ksft_test_result(false, "pvx_lock_torture %u # no results\n", failed);
	} else if (!failed && runs > 0 && oks > 0) {
		ksft_test_result(true, "%s %u times through the migrations, its %u checks passed\n",
				 ran, runs, oks);
	} else if (!failed) {
		ksft_test_result(false, "%s through the migrations # %u runs, %u checks passed\n",
				 ran, runs, oks);
	}
}

/* ---- the run -------------------------------------------------------------- */

static void on_landed(unsigned int k, enum host_kind kind)
{
	static unsigned long long rewrite_bad0;
	static enum host_kind prev = HOST_PVX;	/* booted on a pvx host */
	static struct landing spare;	/* past MAX_LANDINGS: said, not kept */
	struct landing *l = landings < MAX_LANDINGS ? &landing[landings] : &spare;
	char where[32];
	double t0 = now_ms();

	/* the expiries from here on are not the migration's */
	__atomic_store_n(&tmr.migrating, 0, __ATOMIC_RELAXED);
	memset(l, 0, sizeof(*l));
	snprintf(where, sizeof(where), "landing %u", k);
	l->bad = check_all(where);
	/*
	 * The guest runs on between the landing and L2's word of it: a page
	 * lost in the migration that it rewrote meanwhile was found by the
	 * check before that rewrite. Those count for this landing.
	 */
	l->rewrite_bad = prewrite_bad - rewrite_bad0;
	rewrite_bad0 = prewrite_bad;
	l->child_pages = child_check(&l->child_bad);
	l->pages = opt.pages;
	l->rounds = rounds;
	l->host_pages = host_pages;
	l->check_ms = now_ms() - t0;
	l->kind = kind;
	after_landing(l);
	landings++;
	ctl_say("mig checked %u pages %zu mismatches %llu child %llu/%llu rounds %llu host %llu fallback %llu rewrites %llu on %s sees %s lost %lld back %lld resent %llu spin %llu timers %llu early %llu splats %lld follow_ms %.0f pinned %llu ok %d",
		k, opt.pages, l->bad + l->rewrite_bad + l->child_bad, l->child_bad, l->child_pages,
		rounds, host_pages, fallback_pages, l->rewrite_bad, kind_name[kind], l->host,
		l->lost, l->back, l->resent, l->spin, l->timers, l->timers_early, l->splats,
		l->ksm_ms, l->kind == HOST_PVX ? l->on_host : 0,
		host_ok(l, prev) && features_ok(l) && load_ok(l));
	l->prev = prev;
	prev = kind;
	child_start();
}

/* Landing @i's tests of what followed the guest (@l). */
static void landing_results(size_t i, const struct landing *l)
{
	bool host = host_ok(l, l->prev), feat = features_ok(l), load = load_ok(l);

	ksft_test_result(host,
			 "landing %zu on %s (after %s): host reads %s within %u s, no reprobe; dmesg said the loss of pvx %lld times, its return %lld (%.0f ms after L2's word)\n",
			 i, kind_name[l->kind], kind_name[l->prev], l->host, WAIT_MS / 1000,
			 l->lost, l->back, l->ksm_ms);
	if (l->kind == HOST_PVX && (opt.ksm_protect || opt.locality))
		ksft_test_result(feat,
				 "landing %zu: a new host epoch (0x%llx -> 0x%llx); the guest itself pinned its %zu protected pages again (resends %llu, protected_on_host %llu) and resent its locality map (auto_resent +%llu) within %.0f ms of L2's word\n",
				 i, l->epoch0, l->epoch, opt.ksm_protect, l->resends, l->on_host,
				 l->resent, l->ksm_ms);
	if (opt.spin || opt.timer_ms)
		ksft_test_result(load,
				 "landing %zu: no kernel splat (%lld), the pv spinlock torture went on (acquisitions +%llu), %llu steal-corrected timers expired while it migrated, %llu early\n",
				 i, l->splats, l->spin, l->timers, l->timers_early);
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: pvx_migrate_guest [--ctl TTY] [--pages N] [--batch N] [--pause-ms MS]\n"
		"                         [--fork-pages N] [--fork-every ROUNDS] [--limit S]\n"
		"                         [--ksm-protect N] [--timer-ms MS] [--spin] [--locality]\n"
		"                         [--torture KO]\n"
		"       pvx_migrate_guest --modules DIR [OPTION...]\n");
	exit(2);
}

static size_t num_arg(const char *s, size_t lo, size_t hi)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		print_usage();
	return v;
}

/* The checker: main() without --modules. */
static int checker(int argc, char **argv)
{
	unsigned long long final_bad, final_cbad = 0, final_cpages, landed_bad = 0;
	bool done = false, ready_said = false;
	size_t i;
	int k;
	char line[128];
	double t0, said;

	for (k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--spin")) {
			opt.spin = true;
			continue;
		}
		if (!strcmp(argv[k], "--locality")) {
			opt.locality = true;
			continue;
		}
		if (k + 1 >= argc)
			print_usage();
		if (!strcmp(argv[k], "--ctl"))
			opt.ctl_path = argv[++k];
		else if (!strcmp(argv[k], "--pages"))
			opt.pages = num_arg(argv[++k], 1, 1 << 20);
		else if (!strcmp(argv[k], "--batch"))
			opt.batch = num_arg(argv[++k], 1, 4096);
		else if (!strcmp(argv[k], "--pause-ms"))
			opt.pause_ms = num_arg(argv[++k], 0, 10000);
		else if (!strcmp(argv[k], "--fork-pages"))
			opt.fork_pages = num_arg(argv[++k], 0, 1 << 18);
		else if (!strcmp(argv[k], "--fork-every"))
			opt.fork_every = num_arg(argv[++k], 1, 1 << 20);
		else if (!strcmp(argv[k], "--limit"))
			opt.limit_s = num_arg(argv[++k], 1, 86400);
		else if (!strcmp(argv[k], "--ksm-protect"))
			opt.ksm_protect = num_arg(argv[++k], 1, 256);
		else if (!strcmp(argv[k], "--timer-ms"))
			opt.timer_ms = num_arg(argv[++k], 1, 10000);
		else if (!strcmp(argv[k], "--torture"))
			opt.torture_ko = argv[++k];
		else
			print_usage();
	}
	ksft_print_header();
	pvx_fd = open("/dev/pvx", O_RDONLY);
	if (pvx_fd < 0) {
		ksft_test_result(false, "open /dev/pvx # %s\n", strerror(errno));
		ksft_set_plan(1);
		ksft_exit_fail();
	}
	ctl_open();
	dst = map_anon(opt.pages * PAGE);
	src = map_anon(opt.batch * PAGE);
	/*
	 * The children must not share D and the buffer copy-on-write: the
	 * next write of a shared page would be the guest kernel's copy of it
	 * into a new page, a guest write that dirty logging sees by itself,
	 * and the host's write that follows would hide in an already dirty
	 * page. Without children in them every page of D is written by the
	 * host alone.
	 */
	if (madvise(dst, opt.pages * PAGE, MADV_DONTFORK) ||
	    madvise(src, opt.batch * PAGE, MADV_DONTFORK)) {
		ksft_test_result(false, "madvise(MADV_DONTFORK) # %s\n", strerror(errno));
		ksft_set_plan(1);
		ksft_exit_fail();
	}
	if (opt.fork_pages)
		frange = map_anon(opt.fork_pages * PAGE);
	gen = calloc(opt.pages, sizeof(*gen));
	if (!gen)
		ksft_exit_fail_msg("calloc: %s\n", strerror(errno));
	for (i = 0; i < opt.pages; i++)
		fill_page(dst + i * WORDS, i, 0);
	/* before the protected pages: their fd stays this process's */
	if (opt.torture_ko)
		torture_start();
	if (opt.ksm_protect) {
		int err = ksm_protect_start();

		ksft_test_result(!err,
				 "%zu pages protected from merging (PVX_IOC_KSM_PROTECT%s%s), protected_on_host %llu\n",
				 opt.ksm_protect, err ? ": " : "", err ? strerror(-err) : "",
				 pvx_sys("ksm/protected_on_host"));
	}
	child_start();
	spin0 = pvx_sys("spinlock/acquisitions");
	resent0 = pvx_sys("locality/auto_resent");
	lost0 = lost_lines();
	back0 = back_lines();
	splat0 = splats();
	timer_start();

	t0 = now_ms();
	said = t0;
	while (!done) {
		if (now_ms() - t0 > opt.limit_s * 1e3)
			break;
		round_once();
		if (now_ms() - said > 20e3) {
			/* the lab takes a silent console for a stuck guest */
			console_printf("pvx-migrate: %llu rounds, %llu pages copied by the host, %u landings\n",
				       rounds, host_pages, landings);
			said = now_ms();
		}
		if (!ready_said && rounds >= (opt.pages + opt.batch - 1) / opt.batch) {
			/* every page written by the host once */
			ctl_say("mig ready pages %zu batch %zu", opt.pages, opt.batch);
			ready_said = true;
		}
		if (opt.fork_pages && rounds % opt.fork_every == 0) {
			unsigned long long b;

			child_check(&b);
			child_start();
		}
		while (ctl_line(line, sizeof(line), opt.pause_ms)) {
			unsigned int m;
			char on[8] = "pvx";

			if (sscanf(line, "landed %u %7s", &m, on) >= 1)
				on_landed(m, !strcmp(on, "none") ? HOST_NONE :
					     !strcmp(on, "off") ? HOST_OFF : HOST_PVX);
			else if (sscanf(line, "migrating %u", &m) == 1)
				__atomic_store_n(&tmr.migrating, 1, __ATOMIC_RELAXED);
			else if (!strcmp(line, "done"))
				done = true;
		}
	}

	timer_stop();
	final_bad = check_all("the final check");
	final_cpages = child_check(&final_cbad);
	ctl_say("mig finished landings %u", landings);

	ksft_test_result(done, "L2 ended the run (\"done\" on the control port) within %u s\n",
			 opt.limit_s);
	for (i = 0; i < landings && i < MAX_LANDINGS; i++) {
		struct landing *l = &landing[i];

		landed_bad += l->bad + l->rewrite_bad + l->child_bad;
		ksft_test_result(!l->bad && !l->rewrite_bad && !l->child_bad,
				 "landing %zu: all %llu pages the host wrote hold their last contents, and the pvx_fork() child its %llu (mismatches %llu, %llu more found by rewrites since the last landing, child %llu)\n",
				 i + 1, l->pages, l->child_pages, l->bad, l->rewrite_bad,
				 l->child_bad);
		printf("# landing %zu: after %llu rounds, %llu pages copied by the host so far, checked in %.0f ms\n",
		       i + 1, l->rounds, l->host_pages, l->check_ms);
		landing_results(i + 1, l);
	}
	ksft_test_result(landings > 0, "the guest was told of %u landings\n", landings);
	ksft_test_result(!prewrite_bad,
			 "each of %llu page rewrites found the page's last contents (mismatches %llu)\n",
			 prewrite_pages, prewrite_bad);
	ksft_test_result(!copy_bad,
			 "each copy held the new contents right after it (mismatches %llu)\n",
			 copy_bad);
	ksft_test_result(!final_bad && !final_cbad,
			 "final check: all %zu pages and the child's %llu hold their last contents (mismatches %llu, child %llu)\n",
			 opt.pages, final_cpages, final_bad, final_cbad);
	ksft_test_result(!child_bad && !child_lost,
			 "%llu pvx_fork() children checked %llu pages: the fork-time contents (mismatches %llu, no report %llu)\n",
			 forks, child_pages, child_bad, child_lost);
	ksft_test_result(host_pages > 0,
			 "the host copied %llu pages (PVX_IOC_FORK_COPY), the guest %llu itself\n",
			 host_pages, fallback_pages);
	ksft_test_result(!copy_errors,
			 "PVX_IOC_FORK_COPY failed only with EOPNOTSUPP (%llu other errors%s%s)\n",
			 copy_errors, copy_errors ? ", last " : "",
			 copy_errors ? strerror(last_copy_errno) : "");
	printf("# totals: %llu rounds, %llu pages copied by the host, %llu by the guest (fallback), %llu pages checked in %u landings, %llu before rewrites, %llu by children\n",
	       rounds, host_pages, fallback_pages, (unsigned long long)landings * opt.pages,
	       landings, prewrite_pages, child_pages);
	printf("# pvx_fork(): %llu forks, %llu left copy-on-write%s%s\n", forks, fork_fallbacks,
	       fork_fallbacks ? ", last error " : "", fork_fallbacks ? strerror(last_fork_errno) : "");
	if (opt.timer_ms) {
		pthread_mutex_lock(&tmr_lock);
		ksft_test_result(!tmr.err && tmr.fired && !tmr.early,
				 "%llu steal-corrected timers of %u ms expired (%llu by the cap), none early (%llu)%s%s\n",
				 tmr.fired, opt.timer_ms, tmr.capped, tmr.early,
				 tmr.err ? ", the loop stopped: " : "",
				 tmr.err ? strerror(tmr.err) : "");
		if (tmr.early)
			printf("# the first early timer: %s\n", tmr.note);
		printf("# timers: steal queries around an expiry refused %llu times\n",
		       tmr.steal_errors);
		pthread_mutex_unlock(&tmr_lock);
	}
	if (opt.torture_ko)
		torture_result();
	printf("# mig-totals rounds=%llu host_pages=%llu fallback_pages=%llu landings=%u landed_mismatches=%llu prewrite_mismatches=%llu\n",
	       rounds, host_pages, fallback_pages, landings, landed_bad, prewrite_bad);
	for (i = 0; i < bad_notes; i++)
		printf("# mismatch: %s\n", bad_note[i]);
	ksft_set_plan(ksft_test_num());
	ksft_finished();
}

/* ---- --modules: the migrate boot's modules ------------------------------ */

/* the feature modules the checker runs with, loaded in this order */
static const char *const feature_kos[][2] = {
	{ "pvx_ksm_guest", "interval_ms=0" },	/* no periodic round beside the checks */
	{ "pvx_spinlock", "" },
	{ "pvx_stimer", "" },
	{ "pvx_locality", "auto=1" },
	{ "pvx_fork", "" },
};

/* The sysfs files of pvx, as comments, that tell what the run did. */
static const char *const run_counters[][2] = {
	{ "fork_copy", "" }, { "ksm", "resen" }, { "ksm", "protected_" }, { "stats", "" },
	{ "locality", "auto_" }, { "stimer", "fired_" }, { "spinlock", "acquisitions" },
};

/* Load each of feature_kos from @dir, one result each: whether pvx_fork loaded. */
static bool modules_load(const char *dir)
{
	static const char *const fork_lines[] = { "pvx_fork: ", NULL };
	char path[256], what[128];
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(feature_kos); i++) {
		snprintf(path, sizeof(path), "%s/%s.ko", dir, feature_kos[i][0]);
		snprintf(what, sizeof(what), "insmod %s.ko%s%s", feature_kos[i][0],
			 feature_kos[i][1][0] ? " " : "", feature_kos[i][1]);
		err = module_load(path, feature_kos[i][1]);
		if (err)
			ksft_test_result_fail("%s # %s\n", what, strerror(-err));
		else
			ksft_test_result_pass("%s\n", what);
	}
	if (!err)
		dmesg_print(fork_lines, 0);
	return !err;
}

/* The counters of run_counters as comments, then the feature modules unloaded. */
static void modules_unload(bool fork_loaded)
{
	char dir[128];
	size_t i;
	int err;

	for (i = 0; i < ARRAY_SIZE(run_counters); i++) {
		snprintf(dir, sizeof(dir), "/sys/kernel/pvx/%s", run_counters[i][0]);
		print_sysfs_matching(dir, run_counters[i][0], run_counters[i][1]);
	}
	for (i = ARRAY_SIZE(feature_kos); i-- > 0;) {
		if (!fork_loaded && !strcmp(feature_kos[i][0], "pvx_fork"))
			continue;
		err = module_unload(feature_kos[i][0]);
		ksft_test_result(!err, "rmmod %s%s%s\n", feature_kos[i][0], err ? " # " : "",
				 err ? strerror(-err) : "");
	}
}

/* In piped_child()'s child: the checker, with main()'s arguments. */
static void checker_child(const void *arg)
{
	char *const *argv = arg;
	int argc = 0;

	while (argv[argc])
		argc++;
	exit(checker(argc, (char **)argv));
}

/*
 * --modules DIR ARG...: the feature modules loaded from DIR, the checker
 * run with ARG... in a child process, its results relayed as this
 * program's, its counters as comments, the modules unloaded (pvx_guest
 * stays). Without pvx_fork no checker runs.
 */
static int with_modules(const char *dir, char **argv)
{
	bool fork_loaded;

	ksft_print_header();
	fork_loaded = modules_load(dir);
	if (fork_loaded)
		run_child_relayed(checker_child, argv, "the checker");
	modules_unload(fork_loaded);
	ksft_set_plan(ksft_test_num());
	ksft_finished();
}

int main(int argc, char **argv)
{
	/* run_kselftest.sh runs it without arguments: a skip, not a failure */
	if (argc == 1)
		ksft_exit_skip("no mode: the lab's migrate boot (init.sh) gives %s\n",
			       "--modules DIR --ctl TTY ...");
	if (argc >= 3 && !strcmp(argv[1], "--modules"))
		return with_modules(argv[2], argv + 2);
	return checker(argc, argv);
}
