// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_ulock_bench: userspace lock contention benchmark for the L3 guest.
 *
 * N threads (default: twice the online CPUs) contend on one userspace
 * lock for a fixed total number of acquisitions:
 *
 *   mode=mutex   pthread_mutex_t (default type): the baseline;
 *   mode=yield   a ticket spinlock whose holder publishes its thread id;
 *                a waiter that has spun --spin-threshold times without
 *                getting its turn gives its time away with sched_yield(),
 *                the stock thing a userspace spinlock does;
 *   mode=ioctl   the same ticket lock, giving way with ioctl(/dev/pvx,
 *                PVX_IOC_YIELD_TO, holder's tid): the guest kernel directs
 *                a yield at the holder's vCPU when the host preempted it.
 *                When the holder is not on a CPU at all (EAGAIN:
 *                preempted by this guest's own scheduler), the waiter
 *                falls back to sched_yield(), as mode=yield does;
 *   mode=libpvx  libpvx's pvx_lock_t (Documentation/libpvx.rst): spin,
 *                directed yield when the host preempted the holder, futex
 *                sleep when the guest descheduled it, wake one.
 *
 * Critical section and think time are work steps over a shared / private
 * 512-byte buffer, as in pvx_lock_bench.ko. Per mode one line:
 *
 *   ubench mode=ioctl threads=8 cpus=4 acq=... acq_per_s=... p50_ns=...
 *          p99_ns=... ioctl_calls=... ioctl_done=... ...
 *
 * with the acquire latency percentiles from a log-linear histogram (8
 * sub-buckets per power of two, upper bound of the bucket), the context
 * switches of the process (getrusage: voluntary + involuntary), the
 * directed yields asked for (dyields: PVX_IOC_YIELD_TO calls of mode=ioctl
 * and of libpvx; dyields_done: the host ran the holder's vCPU), libpvx's
 * futex waits, and the change of /sys/kernel/pvx/spinlock/yields_{issued,
 * granted} over the run.
 * With --rounds R the modes run interleaved R times (in a balanced
 * order: mode_at()) and each line sums a mode's rounds; before them, one
 * "ubench-round mode=... round=N" line per mode and round (acq_per_s,
 * p50_ns, p99_ns of that round alone) gives make bench the spread of each
 * ratio. Exit 0 when every mode ran and its lock excluded, 1 on a
 * failure, 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"
#include "pvx_lock.h"

#define CS_WORDS	64
#define CACHELINE	64	/* padding keeps the groups below apart */
#define HIST_SUB_BITS	3
#define HIST_SUB	8u	/* 1 << HIST_SUB_BITS */
#define HIST_BUCKETS	((64 - HIST_SUB_BITS + 1) * HIST_SUB)

enum mode { MODE_MUTEX, MODE_YIELD, MODE_IOCTL, MODE_LIBPVX, MODE_NR };
static const char *const mode_names[MODE_NR] = { "mutex", "yield", "ioctl", "libpvx" };

struct opts {
	unsigned int threads;
	unsigned long acquisitions;
	unsigned int cs_iters, think_iters, spin_threshold, max_ms;
	unsigned int modes;		/* bit per enum mode */
	unsigned int rounds;
};

/* accessed with the __atomic builtins */
struct ulock {
	unsigned int next;
	unsigned int owner;
	int holder_tid;
};

struct shared {
	struct ulock lock;
	pthread_mutex_t mutex;
	pvx_lock_t plock;
	enum mode mode;
	int pvx_fd;
	const struct opts *o;
	char pad0[CACHELINE];
	/* protected by the lock */
	__u64 data[CS_WORDS];
	unsigned long count;
	/* outside the lock */
	char pad1[CACHELINE];
	bool timed_out;	/* __atomic builtins */
	__u64 deadline;
	pthread_barrier_t start;
};

struct counters {
	unsigned long ioctl_calls, ioctl_done, ioctl_not_done, ioctl_running,
		      ioctl_eagain, ioctl_other, sched_yields;
};

/* One mode's results, summed over its rounds. */
struct result {
	unsigned int rounds;
	unsigned long acq, counted;
	bool complete;
	__u64 ns;
	unsigned long long issued, granted, csw;
	struct pvx_lock_stats lib;
	struct counters c;
	__u64 hist[HIST_BUCKETS];
};

struct thread {
	struct shared *sh;
	pthread_t th;
	unsigned long counted;
	struct counters c;
	__u64 local[CS_WORDS];
	__u64 hist[HIST_BUCKETS];
};

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static unsigned int hist_index(__u64 v)
{
	unsigned int msb;

	if (v < HIST_SUB)
		return v;
	msb = 63 - __builtin_clzll(v);
	return (msb - HIST_SUB_BITS + 1) * HIST_SUB +
	       ((v >> (msb - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

static __u64 hist_upper(unsigned int i)
{
	unsigned int msb, sub;

	if (i < HIST_SUB)
		return i;
	msb = i / HIST_SUB + HIST_SUB_BITS - 1;
	sub = i % HIST_SUB;
	if (msb >= 63 && sub == HIST_SUB - 1)
		return ((__u64)~0ull);
	return ((__u64)(HIST_SUB + sub + 1) << (msb - HIST_SUB_BITS)) - 1;
}

static __u64 hist_percentile(const __u64 *h, __u64 total, unsigned int pct)
{
	__u64 want = (total * pct + 99) / 100, sum = 0;
	unsigned int i;

	if (!total)
		return 0;
	for (i = 0; i < HIST_BUCKETS; i++) {
		sum += h[i];
		if (sum >= want)
			return hist_upper(i);
	}
	return ((__u64)~0ull);
}

static __u64 hist_max(const __u64 *h)
{
	int i;

	for (i = HIST_BUCKETS - 1; i >= 0; i--)
		if (h[i])
			return hist_upper(i);
	return 0;
}

static void work(__u64 *buf, unsigned int iters, __u64 seed)
{
	__u64 x = seed;
	unsigned int i;

	for (i = 0; i < iters; i++) {
		__u64 *w = &buf[i % CS_WORDS];

		x = (*w ^ x) * 0x9e3779b97f4a7c15ull + i;
		*w = x ^ (x >> 29);
	}
}

/* The waiter's turn to give its time away: what the mode says. */
static void give_way(struct shared *sh, struct counters *c)
{
	struct pvx_yield_to req = { 0 };
	int ret;

	if (sh->mode == MODE_IOCTL) {
		req.tid = __atomic_load_n(&sh->lock.holder_tid, __ATOMIC_RELAXED);
		if (req.tid) {
			c->ioctl_calls++;
			ret = ioctl(sh->pvx_fd, PVX_IOC_YIELD_TO, &req);
			if (ret == PVX_YIELD_DONE) {
				c->ioctl_done++;
				return;
			}
			if (ret == PVX_YIELD_TARGET_RUNNING) {
				c->ioctl_running++;
				return;
			}
			if (ret >= 0)
				c->ioctl_not_done++;
			else if (errno == EAGAIN)
				c->ioctl_eagain++;
			else
				c->ioctl_other++;
		}
	}
	c->sched_yields++;
	sched_yield();
}

static void ulock_lock(struct shared *sh, struct counters *c, int tid)
{
	unsigned int me = __atomic_fetch_add(&sh->lock.next, 1, __ATOMIC_RELAXED);
	unsigned int spins = 0;

	while (__atomic_load_n(&sh->lock.owner, __ATOMIC_ACQUIRE) != me) {
		__builtin_ia32_pause();
		if (++spins >= sh->o->spin_threshold) {
			spins = 0;
			give_way(sh, c);
		}
	}
	__atomic_store_n(&sh->lock.holder_tid, tid, __ATOMIC_RELAXED);
}

static void ulock_unlock(struct shared *sh)
{
	unsigned int o = __atomic_load_n(&sh->lock.owner, __ATOMIC_RELAXED);

	__atomic_store_n(&sh->lock.holder_tid, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->lock.owner, o + 1, __ATOMIC_RELEASE);
}

static void lock_mode(struct shared *sh, struct counters *c, int tid)
{
	switch (sh->mode) {
	case MODE_MUTEX:
		pthread_mutex_lock(&sh->mutex);
		break;
	case MODE_LIBPVX:
		pvx_lock_lock(&sh->plock);
		break;
	default:
		ulock_lock(sh, c, tid);
	}
}

static void unlock_mode(struct shared *sh)
{
	switch (sh->mode) {
	case MODE_MUTEX:
		pthread_mutex_unlock(&sh->mutex);
		break;
	case MODE_LIBPVX:
		pvx_lock_unlock(&sh->plock);
		break;
	default:
		ulock_unlock(sh);
	}
}

static unsigned long long csw_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (unsigned long long)ru.ru_nvcsw + ru.ru_nivcsw;
}

static void *thread_fn(void *arg)
{
	struct thread *t = arg;
	struct shared *sh = t->sh;
	int tid = (int)syscall(SYS_gettid);
	unsigned long n = 0;

	pthread_barrier_wait(&sh->start);
	for (;;) {
		__u64 t0, t1;
		bool stop = false;

		t0 = now_ns();
		lock_mode(sh, &t->c, tid);
		t1 = now_ns();
		if (sh->count >= sh->o->acquisitions ||
		    __atomic_load_n(&sh->timed_out, __ATOMIC_RELAXED)) {
			stop = true;
		} else {
			sh->count++;
			work(sh->data, sh->o->cs_iters, t1);
		}
		unlock_mode(sh);
		if (stop)
			break;
		t->hist[hist_index(t1 - t0)]++;
		t->counted++;
		work(t->local, sh->o->think_iters, n);
		if ((++n & 63) == 0 && t1 > sh->deadline)
			__atomic_store_n(&sh->timed_out, true, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* /sys/kernel/pvx/spinlock/NAME, or 0. */
static unsigned long long pvx_counter(const char *name)
{
	unsigned long long v = 0;
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/pvx/spinlock/%s", name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static void add_counters(struct counters *a, const struct counters *b)
{
	a->ioctl_calls += b->ioctl_calls;
	a->ioctl_done += b->ioctl_done;
	a->ioctl_not_done += b->ioctl_not_done;
	a->ioctl_running += b->ioctl_running;
	a->ioctl_eagain += b->ioctl_eagain;
	a->ioctl_other += b->ioctl_other;
	a->sched_yields += b->sched_yields;
}

/*
 * One round's rate and latencies: the ratios of make bench come with their
 * spread over the rounds (the modes of a round ran side by side).
 */
static void print_round(const struct opts *o, enum mode m, unsigned int round,
			unsigned long acq, __u64 ns, const __u64 *hist, unsigned long counted)
{
	printf("ubench-round mode=%s threads=%u round=%u acq=%lu ms=%llu acq_per_s=%.0f",
	       mode_names[m], o->threads, round, acq, (unsigned long long)(ns / 1000000),
	       ns ? (double)acq * 1e9 / (double)ns : 0);
	printf(" p50_ns=%llu p99_ns=%llu\n",
	       (unsigned long long)hist_percentile(hist, counted, 50),
	       (unsigned long long)hist_percentile(hist, counted, 99));
}

/*
 * The mode that runs in place @pos of round @r (from 0): in cycles of
 * three rounds whose twelve runs in a row put each mode right after each
 * other mode exactly once, so no pair compared (libpvx and mutex, whose
 * ratios have floors) differs in what ran before it (the kernel locks'
 * order, pvx_bench_guest.c's kernel_lock_at(); bench.rst).
 */
static enum mode mode_at(unsigned int r, unsigned int pos)
{
	static const enum mode cycle[3][MODE_NR] = {
		{ MODE_MUTEX, MODE_YIELD, MODE_IOCTL, MODE_LIBPVX },
		{ MODE_MUTEX, MODE_IOCTL, MODE_YIELD, MODE_LIBPVX },
		{ MODE_YIELD, MODE_MUTEX, MODE_LIBPVX, MODE_IOCTL },
	};

	return cycle[r % 3][pos];
}

/* One round of @mode, added to @res. */
static int run_round(const struct opts *o, enum mode m, int pvx_fd, struct result *res)
{
	unsigned long long issued0, granted0, csw0;
	static __u64 round_hist[HIST_BUCKETS];
	struct pvx_lock_stats lib0, lib1;
	unsigned long counted = 0;
	__u64 t_start, t_end;
	struct thread *t;
	struct shared *sh;
	unsigned int i, j;
	int ret;

	sh = aligned_alloc(CACHELINE, (sizeof(*sh) + CACHELINE - 1) & ~(CACHELINE - 1ul));
	t = calloc(o->threads, sizeof(*t));
	if (!sh || !t) {
		fprintf(stderr, "pvx_ulock_bench: out of memory\n");
		return 1;
	}
	memset(sh, 0, sizeof(*sh));
	sh->mode = m;
	sh->pvx_fd = pvx_fd;
	sh->o = o;
	pthread_mutex_init(&sh->mutex, NULL);
	pvx_lock_init(&sh->plock, 0);
	pthread_barrier_init(&sh->start, NULL, o->threads + 1);

	for (i = 0; i < o->threads; i++) {
		t[i].sh = sh;
		ret = pthread_create(&t[i].th, NULL, thread_fn, &t[i]);
		if (ret) {
			fprintf(stderr, "pvx_ulock_bench: pthread_create: %s\n", strerror(ret));
			exit(1);	/* the others wait at the barrier forever */
		}
	}
	issued0 = pvx_counter("yields_issued");
	granted0 = pvx_counter("yields_granted");
	pvx_lock_stats(&lib0);
	csw0 = csw_now();
	t_start = now_ns();
	sh->deadline = t_start + (__u64)o->max_ms * 1000000ull;
	pthread_barrier_wait(&sh->start);
	for (i = 0; i < o->threads; i++)
		pthread_join(t[i].th, NULL);
	t_end = now_ns();
	res->csw += csw_now() - csw0;
	pvx_lock_stats(&lib1);
	res->lib.yield_calls += lib1.yield_calls - lib0.yield_calls;
	res->lib.yields_done += lib1.yields_done - lib0.yields_done;
	res->lib.holder_running += lib1.holder_running - lib0.holder_running;
	res->lib.holder_off_cpu += lib1.holder_off_cpu - lib0.holder_off_cpu;
	res->lib.futex_waits += lib1.futex_waits - lib0.futex_waits;
	res->lib.futex_wakes += lib1.futex_wakes - lib0.futex_wakes;
	res->lib.slow_paths += lib1.slow_paths - lib0.slow_paths;
	res->issued += pvx_counter("yields_issued") - issued0;
	res->granted += pvx_counter("yields_granted") - granted0;

	res->rounds++;
	res->acq += sh->count;
	res->ns += t_end - t_start;
	if (__atomic_load_n(&sh->timed_out, __ATOMIC_RELAXED))
		res->complete = false;
	memset(round_hist, 0, sizeof(round_hist));
	for (i = 0; i < o->threads; i++) {
		res->counted += t[i].counted;
		counted += t[i].counted;
		for (j = 0; j < HIST_BUCKETS; j++)
			round_hist[j] += t[i].hist[j];
		add_counters(&res->c, &t[i].c);
	}
	for (j = 0; j < HIST_BUCKETS; j++)
		res->hist[j] += round_hist[j];
	print_round(o, m, res->rounds, sh->count, t_end - t_start, round_hist, counted);
	pthread_barrier_destroy(&sh->start);
	pthread_mutex_destroy(&sh->mutex);
	free(t);
	free(sh);
	return 0;
}

static void print_result(const struct opts *o, enum mode m, const struct result *r)
{
	double acq_per_s = r->ns ? (double)r->acq * 1e9 / (double)r->ns : 0;

	printf("ubench mode=%s threads=%u cpus=%ld rounds=%u acq=%lu complete=%d exact=%d",
	       mode_names[m], o->threads, sysconf(_SC_NPROCESSORS_ONLN), r->rounds,
	       r->acq, r->complete, r->acq == r->counted);
	printf(" cs_iters=%u think_iters=%u spin_threshold=%u ms=%llu acq_per_s=%.0f",
	       o->cs_iters, o->think_iters, o->spin_threshold,
	       (unsigned long long)(r->ns / 1000000), acq_per_s);
	printf(" p50_ns=%llu p99_ns=%llu max_ns=%llu",
	       (unsigned long long)hist_percentile(r->hist, r->counted, 50),
	       (unsigned long long)hist_percentile(r->hist, r->counted, 99),
	       (unsigned long long)hist_max(r->hist));
	printf(" ioctl_calls=%lu ioctl_done=%lu ioctl_not_done=%lu ioctl_running=%lu",
	       r->c.ioctl_calls, r->c.ioctl_done, r->c.ioctl_not_done, r->c.ioctl_running);
	printf(" ioctl_eagain=%lu ioctl_other=%lu sched_yields=%lu",
	       r->c.ioctl_eagain, r->c.ioctl_other, r->c.sched_yields);
	printf(" csw=%llu dyields=%llu dyields_done=%llu lib_running=%llu lib_off_cpu=%llu",
	       r->csw, m == MODE_LIBPVX ? r->lib.yield_calls : r->c.ioctl_calls,
	       m == MODE_LIBPVX ? r->lib.yields_done : r->c.ioctl_done,
	       r->lib.holder_running, r->lib.holder_off_cpu);
	printf(" futex_waits=%llu futex_wakes=%llu lib_slow=%llu yields_issued=%llu yields_granted=%llu\n",
	       r->lib.futex_waits, r->lib.futex_wakes, r->lib.slow_paths, r->issued, r->granted);
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: pvx_ulock_bench [options]\n"
		"  --threads N          contending threads, 1..1024 (default 2 x online CPUs)\n"
		"  --acquisitions N     total acquisitions per mode, 1000..1000000000 (default 100000)\n"
		"  --cs-iters N         work steps in the critical section, 1..100000 (default 128)\n"
		"  --think-iters N      work steps between acquisitions, 0..100000 (default 128)\n"
		"  --spin-threshold N   spins before a waiter gives way, 1..100000000 (default 1000)\n"
		"  --max-ms N           stop a mode after N ms (complete=0), 100..3600000 (default 120000)\n"
		"  --modes LIST         mutex,yield,ioctl,libpvx (default all four)\n"
		"  --rounds N           rounds, the modes interleaved, results summed, 1..100 (default 1)\n");
}

static bool parse_num(const char *s, unsigned long lo, unsigned long hi, unsigned long *v)
{
	char *end;

	errno = 0;
	if (!s || *s < '0' || *s > '9')
		return false;
	*v = strtoul(s, &end, 10);
	return !errno && !*end && *v >= lo && *v <= hi;
}

static bool parse_modes(const char *s, unsigned int *modes)
{
	char buf[64], *p, *tok, *save = NULL;
	unsigned int m;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return false;
	*modes = 0;
	for (p = buf; (tok = strtok_r(p, ",", &save)); p = NULL) {
		for (m = 0; m < MODE_NR; m++)
			if (!strcmp(tok, mode_names[m]))
				break;
		if (m == MODE_NR)
			return false;
		*modes |= 1u << m;
	}
	return *modes != 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "acquisitions", required_argument, NULL, 'a' },
		{ "cs-iters", required_argument, NULL, 'c' },
		{ "think-iters", required_argument, NULL, 'k' },
		{ "spin-threshold", required_argument, NULL, 's' },
		{ "max-ms", required_argument, NULL, 'm' },
		{ "modes", required_argument, NULL, 'M' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = {
		.acquisitions = 100000, .cs_iters = 128, .think_iters = 128,
		.spin_threshold = 1000, .max_ms = 120000,
		.modes = (1u << MODE_NR) - 1, .rounds = 1,
	};
	static struct result res[MODE_NR];
	unsigned int r, pos;
	unsigned long v;
	int opt, fd = -1, rc = 0;
	unsigned int m;
	bool ok;

	int idx = 0;

	while ((opt = getopt_long(argc, argv, "h", lopts, &idx)) != -1) {
		switch (opt) {
		case 't':
			ok = parse_num(optarg, 1, 1024, &v);
			o.threads = v;
			break;
		case 'a':
			ok = parse_num(optarg, 1000, 1000000000, &v);
			o.acquisitions = v;
			break;
		case 'c':
			ok = parse_num(optarg, 1, 100000, &v);
			o.cs_iters = v;
			break;
		case 'k':
			ok = parse_num(optarg, 0, 100000, &v);
			o.think_iters = v;
			break;
		case 's':
			ok = parse_num(optarg, 1, 100000000, &v);
			o.spin_threshold = v;
			break;
		case 'm':
			ok = parse_num(optarg, 100, 3600000, &v);
			o.max_ms = v;
			break;
		case 'M':
			ok = parse_modes(optarg, &o.modes);
			break;
		case 'r':
			ok = parse_num(optarg, 1, 100, &v);
			o.rounds = v;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 2;
		}
		if (!ok) {
			for (idx = 0; lopts[idx].val != opt; idx++)
				;
			fprintf(stderr, "pvx_ulock_bench: bad value '%s' for --%s\n",
				optarg, lopts[idx].name);
			return 2;
		}
	}
	if (optind != argc) {
		print_usage(stderr);
		return 2;
	}
	if (!o.threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		o.threads = n > 0 && n <= 512 ? 2 * n : 2;
	}
	if (o.modes & (1u << MODE_LIBPVX))
		printf("# %s: %s\n", pvx_lib_version(),
		       pvx_lib_mode() == PVX_LIB_PVX ? "directed yields through /dev/pvx" :
		       "fallback (a plain futex mutex)");
	if (o.modes & (1u << MODE_IOCTL)) {
		fd = open("/dev/pvx", O_RDONLY);
		if (fd < 0)
			printf("# /dev/pvx: %s: mode=ioctl gives way with sched_yield only\n",
			       strerror(errno));
	}
	for (m = 0; m < MODE_NR; m++)
		res[m].complete = true;
	for (r = 0; r < o.rounds; r++)
		for (pos = 0; pos < MODE_NR; pos++) {
			m = mode_at(r, pos);
			if (o.modes & (1u << m))
				rc |= run_round(&o, m, fd, &res[m]);
		}
	for (m = 0; m < MODE_NR; m++) {
		if (!(o.modes & (1u << m)))
			continue;
		print_result(&o, m, &res[m]);
		if (res[m].acq != res[m].counted)
			rc = 1;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}
