// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_lock_bench.ko: lock contention benchmark for the L3 guest.
 *
 * N kernel threads (default: twice the online CPUs, spread over them)
 * contend on one lock for a fixed total number of acquisitions. The
 * critical section is a small walk over a shared 512-byte buffer
 * (cs_iters multiply/xor steps, a few hundred ns on real hardware); between
 * acquisitions each thread does think_iters steps of the same work on its
 * own buffer. The same run is made, one after the other, for
 *
 *   ticket  a plain fair ticket lock without any pv (defined here)
 *   native  the kernel's spinlock_t (pv qspinlock on KVM)
 *   native-aa  a second spinlock_t, the same lock as native: run as one
 *           more lock of the round, its numbers against native's say
 *           how far two runs of one lock differ in this lab (an A/A
 *           comparison: the floors compare pvx with native)
 *   pvx     struct pvx_spinlock (pvx_spinlock.ko)
 *   pvx-fifo  the same lock, run while whoever runs the benchmark has set
 *           pvx_spinlock's skip parameter to 0 (strict FIFO: every waiter
 *           draws a priority ticket at once, nobody takes a free lock
 *           out of turn)
 *
 * With rate=R each thread starts an acquisition at most R times a second,
 * on a schedule of its own (the threads' spread over one period), after
 * its think work: every lock then meets the same offered load, where
 * without it a faster lock is also a busier one (its threads come back
 * sooner). The wait still counts from the lock call.
 *
 * Each run reports acquisitions per second (from the start signal to the
 * last thread's exit), the p50/p99/max time spent acquiring the lock
 * (ktime_get_ns() around the acquisition, log-linear histogram with 32
 * sub-buckets per power of two, so a percentile is exact to 3.1 %; the
 * upper bound of its bucket is reported; max_ns is the longest wait), the
 * fewest and most acquisitions of one thread (thr_min, thr_max: how
 * evenly the lock served its threads), and the change of pvx_spinlock's
 * counters (/sys/kernel/pvx/spinlock/) over the run. The critical section
 * also counts acquisitions in a plain variable: "exact=1" says that the
 * sum over the threads matched, i.e. the lock excluded.
 *
 * One machine-readable line per lock, in dmesg and in
 * /sys/kernel/debug/pvx_lock_bench/results:
 *
 *   bench lock=ticket threads=8 cpus=4 acq=100000 ... acq_per_s=... \
 *         p50_ns=... p99_ns=... max_ns=... thr_min=... thr_max=... \
 *         yields_issued=... yields_granted=... p10_ns=... p25_ns=... \
 *         p75_ns=... p90_ns=... p95_ns=...
 *
 * (the last five: more of the wait's distribution, where two locks whose
 * p50 and p99 differ can be seen to differ all along or in one part).
 *
 * The benchmark runs once at load (autorun=Y); writing "all", a lock name
 * or a list to /sys/kernel/debug/pvx_lock_bench/run runs `rounds` more
 * rounds of those locks with the same parameters (the write returns when
 * they are done). Results are summed per lock over all rounds since load
 * or since "reset" was written there, so that rounds of the three locks
 * can be interleaved (the lab's speed drifts with the load of the machine
 * under it). Parameters are checked at load; a bad value fails insmod with
 * -EINVAL.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/seq_buf.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>

#include "compat.h"
#include "pvx_spinlock.h"

static unsigned int threads;
module_param(threads, uint, 0444);
MODULE_PARM_DESC(threads, "contending kernel threads, 1..1024 (0 = 2 x online CPUs)");

static unsigned long acquisitions = 100000;
module_param(acquisitions, ulong, 0444);
MODULE_PARM_DESC(acquisitions, "total acquisitions per lock and round, 1000..1000000000");

static unsigned int cs_iters = 128;
module_param(cs_iters, uint, 0444);
MODULE_PARM_DESC(cs_iters, "work steps inside the critical section, 1..100000");

static unsigned int think_iters = 128;
module_param(think_iters, uint, 0444);
MODULE_PARM_DESC(think_iters, "work steps between acquisitions, 0..100000");

static unsigned int rate;
module_param(rate, uint, 0444);
MODULE_PARM_DESC(rate,
		 "acquisitions per second each thread starts at most, on a fixed schedule (an open loop: every lock meets the same load; the wait counts from the lock call), 0..10000000 (0 = as fast as the lock allows)");

static unsigned int rounds = 1;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "rounds of each lock per run, results summed per lock, 1..100");

static unsigned int max_ms = 120000;
module_param(max_ms, uint, 0444);
MODULE_PARM_DESC(max_ms, "stop one lock's round after this many ms (complete=0), 100..3600000");

static char *locks = "ticket,native,pvx";
module_param(locks, charp, 0444);
MODULE_PARM_DESC(locks, "comma-separated locks to run: ticket, native, pvx, pvx-fifo, native-aa");

static bool autorun = true;
module_param(autorun, bool, 0444);
MODULE_PARM_DESC(autorun, "run the benchmark at load");

/* count_passes: what a round also reports */
enum { COUNT_SECTIONS = 1, COUNT_TIMES = 2 };

/*
 * Off by default: a read of the shared count before every acquisition
 * moves its cache line to the waiter, which every holder then pays for
 * (COUNT_SECTIONS only: COUNT_TIMES leaves that read out, so that the
 * holds it times are the locks' own), and the release's time stamp
 * lengthens every critical section.
 *
 * The handoff (ho_*) separates what a lock's handoff costs from how often
 * its acquisitions find it held: in a closed loop a lock that keeps its
 * holders running (more acquisitions a second) also makes more of them
 * wait for a holder, which moves its wait percentiles up however fast
 * its handoff is (bench.rst). The holds (hold_*, held_*) tell whether a
 * lock's critical sections themselves run longer, and how much of the
 * round the lock was held.
 */
static unsigned int count_passes;
module_param(count_passes, uint, 0444);
MODULE_PARM_DESC(count_passes,
		 "1: count per acquisition the critical sections that began after it arrived and before it got the lock (cs_p50, cs_p99, cs_max), time the handoff: from a release to the lock call's return in a waiter that waited through it (ho_n of them, ho_p10..ho_p99), and time the holds: from the lock call's return to the release (hold_p50, hold_p99; of the x_n holds that followed a holder on another CPU: hold_x_p50, hold_x_p99; summed: held_ns, and per mille of the round: held_pml) (bench-round-cs lines); 2: the handoffs and holds only, without the count's read before each acquisition; default 0");

/* ---- (a) a plain fair ticket lock, no pv ------------------------------ */

struct bench_ticket_lock {
	atomic_t next;		/* next ticket to hand out */
	int owner;		/* ticket being served */
};

static void bench_ticket_lock(struct bench_ticket_lock *l)
	__acquires(l)
{
	int me;

	preempt_disable();
	me = atomic_fetch_inc_relaxed(&l->next);
	/* pairs with the release in unlock: see the last holder's writes */
	while (smp_load_acquire(&l->owner) != me)
		cpu_relax();
	__acquire(l);
}

static void bench_ticket_unlock(struct bench_ticket_lock *l)
	__releases(l)
{
	/* our critical section's writes before the next ticket's turn */
	smp_store_release(&l->owner, l->owner + 1);
	preempt_enable();
	__release(l);
}

/* ---- the benchmark ------------------------------------------------------- */

enum bench_lock_kind {
	BENCH_TICKET, BENCH_NATIVE, BENCH_PVX, BENCH_PVX_FIFO, BENCH_NATIVE_AA,
	BENCH_NR_LOCKS
};

static const char * const bench_lock_names[BENCH_NR_LOCKS] = {
	[BENCH_TICKET] = "ticket",
	[BENCH_NATIVE] = "native",
	[BENCH_PVX] = "pvx",
	[BENCH_PVX_FIFO] = "pvx-fifo",
	[BENCH_NATIVE_AA] = "native-aa",
};

/*
 * Log-linear histogram: values 0..31 exact, then 32 buckets per power of
 * 2. Not 8: the floor "p99 <= 1.0x native" compares two p99s, and with
 * 12.5 % buckets a difference of one bucket decided it.
 */
#define HIST_SUB_BITS	5
#define HIST_SUB	BIT(HIST_SUB_BITS)
#define HIST_BUCKETS	((64 - HIST_SUB_BITS + 1) * HIST_SUB)

static unsigned int hist_index(u64 v)
{
	unsigned int msb;

	if (v < HIST_SUB)
		return v;
	msb = fls64(v) - 1;
	return (msb - HIST_SUB_BITS + 1) * HIST_SUB +
	       ((v >> (msb - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Largest value that falls into bucket @i. */
static u64 hist_upper(unsigned int i)
{
	unsigned int msb, sub;

	if (i < HIST_SUB)
		return i;
	msb = i / HIST_SUB + HIST_SUB_BITS - 1;
	sub = i % HIST_SUB;
	if (msb >= 63 && sub == HIST_SUB - 1)
		return U64_MAX;
	return (((u64)(HIST_SUB + sub + 1)) << (msb - HIST_SUB_BITS)) - 1;
}

#define CS_WORDS	64	/* 512 bytes: 8 cache lines */

struct bench_shared {
	/* the locks; only .kind's is used in a run, and it protects .data */
	struct bench_ticket_lock ticket;
	spinlock_t native;	/* guards .data and .count when kind is native */
	spinlock_t native_aa;	/* the same, when kind is native-aa */
	struct pvx_spinlock pvx;
	enum bench_lock_kind kind;
	unsigned int nthreads;

	/* protected by the lock under test */
	u64 data[CS_WORDS] ____cacheline_aligned_in_smp;
	unsigned long count;
	u64 t_rel;		/* count_passes: when the last holder released */
	int last_cpu;		/* count_passes: the last holder's CPU */

	/* start and end of a run */
	wait_queue_head_t start_wq ____cacheline_aligned_in_smp;
	bool go;
	atomic_t running;
	struct completion done;
	u64 t_start;
	u64 t_end;
	u64 deadline;
	bool timed_out;
};

struct bench_thread {
	struct bench_shared *sh;
	struct task_struct *task;
	unsigned int index;		/* of the threads, 0.. */
	unsigned long counted;		/* acquisitions this thread counted */
	u64 local[CS_WORDS];
	u64 hist[HIST_BUCKETS];
	u64 cs_hist[HIST_BUCKETS];	/* count_passes: sections waited through */
	u64 ho_hist[HIST_BUCKETS];	/* count_passes: handoffs it waited for */
	u64 ho_n;
	u64 held_ns;	/* count_passes: its lock call's returns to its releases */
	u64 hold_hist[HIST_BUCKETS];	/* count_passes: those holds */
	u64 hold_x_hist[HIST_BUCKETS];	/* the holds after another CPU's */
	u64 x_n;
};

struct bench_result {
	unsigned long acq;		/* acquisitions counted */
	unsigned long counted_sum;	/* per-thread counts summed */
	u64 ns;				/* wall time of the runs */
	bool complete;
	u64 yields_issued, yields_granted, slow_paths, steals, priority;
	/* acquisitions per thread (by index: the same CPU every round) */
	unsigned long *per_thread;
	u64 hist[HIST_BUCKETS];
	u64 cs_hist[HIST_BUCKETS];
	u64 ho_hist[HIST_BUCKETS];	/* count_passes: handoffs */
	u64 ho_n;
	u64 held_ns;			/* count_passes: the lock held, summed */
	u64 hold_hist[HIST_BUCKETS];	/* count_passes: the holds */
	u64 hold_x_hist[HIST_BUCKETS];	/* the holds after another CPU's */
	u64 x_n;
};

static void bench_work(u64 *buf, unsigned int iters, u64 seed)
{
	unsigned int i;
	u64 x = seed;

	for (i = 0; i < iters; i++) {
		u64 *w = &buf[i % CS_WORDS];

		x = (*w ^ x) * 0x9e3779b97f4a7c15ULL + i;
		*w = x ^ (x >> 29);
	}
}

/* Sparse: each branch takes one lock, which all count as "the lock". */
static void bench_lock(struct bench_shared *sh)
	__acquires(sh)
{
	switch (sh->kind) {
	case BENCH_TICKET:
		bench_ticket_lock(&sh->ticket);
		break;
	case BENCH_NATIVE:
		spin_lock(&sh->native);
		break;
	case BENCH_NATIVE_AA:
		spin_lock(&sh->native_aa);
		break;
	default:
		pvx_spin_lock(&sh->pvx);
		__acquire(&sh->pvx);
		break;
	}
}

static void bench_unlock(struct bench_shared *sh)
	__releases(sh)
{
	switch (sh->kind) {
	case BENCH_TICKET:
		bench_ticket_unlock(&sh->ticket);
		break;
	case BENCH_NATIVE:
		spin_unlock(&sh->native);
		break;
	case BENCH_NATIVE_AA:
		spin_unlock(&sh->native_aa);
		break;
	default:
		pvx_spin_unlock(&sh->pvx);
		__release(&sh->pvx);
		break;
	}
}

/*
 * With rate: wait for the thread's next start time *@next, or the round's
 * @deadline if that comes first (busy, without cpu_relax(): under the
 * lab's emulator a pause leaves the translated code; with cond_resched():
 * a period may be up to a second, and another thread may share the CPU)
 * and set the one after it. A thread that is a period or more behind (its
 * vCPU preempted, a long wait) starts again from now instead of catching
 * up in a burst.
 */
static void bench_pace(u64 *next, u64 period, u64 deadline)
{
	u64 now = ktime_get_ns();

	while (now < *next && now < deadline) {
		cond_resched();
		now = ktime_get_ns();
	}
	*next = (now - *next < period ? *next : now) + period;
}

static int bench_thread_fn(void *arg)
{
	struct bench_thread *t = arg;
	struct bench_shared *sh = t->sh;
	u64 period = rate ? div_u64(NSEC_PER_SEC, rate) : 0, next;
	unsigned long n = 0;
	bool stop = false;

	wait_event(sh->start_wq, READ_ONCE(sh->go));
	/* the threads' schedules spread over one period */
	next = sh->t_start + div_u64(period * t->index, sh->nthreads);

	while (!stop) {
		unsigned long before = 0, passed = 0;
		u64 t0, t1, rel = 0, released = 0;
		bool crossed = false;

		if (period)
			bench_pace(&next, period, sh->deadline);
		/* a racy read: the holder may be about to add one */
		if (count_passes == COUNT_SECTIONS)
			before = READ_ONCE(sh->count);
		t0 = ktime_get_ns();
		bench_lock(sh);
		t1 = ktime_get_ns();
		if (count_passes) {
			int cpu = raw_smp_processor_id();

			passed = count_passes == COUNT_SECTIONS ? sh->count - before : 0;
			rel = sh->t_rel;
			/* the data the section works on was last written there */
			crossed = sh->last_cpu != cpu;
			sh->last_cpu = cpu;
		}
		if (sh->count >= acquisitions || READ_ONCE(sh->timed_out)) {
			stop = true;
		} else {
			sh->count++;
			bench_work(sh->data, cs_iters, t1);
		}
		if (count_passes) {
			released = ktime_get_ns();
			sh->t_rel = released;
		}
		bench_unlock(sh);
		if (stop)
			break;

		t->hist[hist_index(t1 - t0)]++;
		t->cs_hist[hist_index(passed)]++;
		/* it waited through the last release: a handoff */
		if (count_passes && rel > t0) {
			t->ho_hist[hist_index(t1 - rel)]++;
			t->ho_n++;
		}
		if (count_passes) {
			t->held_ns += released - t1;
			t->hold_hist[hist_index(released - t1)]++;
			if (crossed) {
				t->hold_x_hist[hist_index(released - t1)]++;
				t->x_n++;
			}
		}
		t->counted++;
		bench_work(t->local, think_iters, n);
		/* paced: every time, 64 acquisitions may take a minute */
		if (((++n & 63) == 0 || period) && t1 > sh->deadline)
			WRITE_ONCE(sh->timed_out, true);
		cond_resched();
	}

	if (atomic_dec_and_test(&sh->running)) {
		sh->t_end = ktime_get_ns();
		complete(&sh->done);
	}
	/* Stay around until bench_round() has read our results. */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/*
 * pvx_spinlock's counters, read from its sysfs directory so that this
 * module needs nothing but the lock API from it. Missing file: 0.
 */
static u64 bench_pvx_counter(const char *name)
{
	char path[64], buf[32];
	struct file *f;
	loff_t pos = 0;
	ssize_t len;
	u64 v = 0;

	snprintf(path, sizeof(path), "/sys/kernel/pvx/spinlock/%s", name);
	f = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(f))
		return 0;
	len = kernel_read(f, buf, sizeof(buf) - 1, &pos);
	filp_close(f, NULL);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	if (kstrtou64(strim(buf), 0, &v))
		return 0;
	return v;
}

struct bench_counters {
	u64 issued, granted, slow, steals, priority;
};

static void bench_read_counters(struct bench_counters *c)
{
	c->issued = bench_pvx_counter("yields_issued");
	c->granted = bench_pvx_counter("yields_granted");
	c->slow = bench_pvx_counter("slow_paths");
	c->steals = bench_pvx_counter("steals");
	c->priority = bench_pvx_counter("priority_waits");
}

static int bench_round(enum bench_lock_kind kind, unsigned int nthreads,
		       struct bench_result *res)
{
	struct bench_counters c0, c1;
	struct bench_thread **t;
	struct bench_shared *sh;
	unsigned int i, j, cpu;
	int ret = 0;

	sh = kzalloc(sizeof(*sh), GFP_KERNEL);
	t = kcalloc(nthreads, sizeof(*t), GFP_KERNEL);
	if (!sh || !t) {
		ret = -ENOMEM;
		goto out;
	}
	atomic_set(&sh->ticket.next, 0);
	spin_lock_init(&sh->native);
	spin_lock_init(&sh->native_aa);
	pvx_spin_lock_init(&sh->pvx);
	sh->kind = kind;
	sh->nthreads = nthreads;
	sh->last_cpu = -1;
	init_waitqueue_head(&sh->start_wq);
	init_completion(&sh->done);
	atomic_set(&sh->running, nthreads);

	cpu = cpumask_first(cpu_online_mask);
	for (i = 0; i < nthreads; i++) {
		t[i] = vzalloc(sizeof(*t[i]));
		if (!t[i]) {
			ret = -ENOMEM;
			goto stop;
		}
		t[i]->sh = sh;
		t[i]->index = i;
		t[i]->task = kthread_create(bench_thread_fn, t[i], "pvx_lb_%s/%u",
					    bench_lock_names[kind], i);
		if (IS_ERR(t[i]->task)) {
			ret = PTR_ERR(t[i]->task);
			t[i]->task = NULL;
			goto stop;
		}
		kthread_bind(t[i]->task, cpu);
		cpu = cpumask_next(cpu, cpu_online_mask);
		if (cpu >= nr_cpu_ids)
			cpu = cpumask_first(cpu_online_mask);
		get_task_struct(t[i]->task);
		wake_up_process(t[i]->task);
	}

	bench_read_counters(&c0);
	sh->t_start = ktime_get_ns();
	sh->deadline = sh->t_start + (u64)max_ms * NSEC_PER_MSEC;
	WRITE_ONCE(sh->go, true);
	wake_up_all(&sh->start_wq);
	wait_for_completion(&sh->done);
	bench_read_counters(&c1);

	res->acq += sh->count;
	res->ns += sh->t_end - sh->t_start;
	if (sh->timed_out)
		res->complete = false;
	res->yields_issued += c1.issued - c0.issued;
	res->yields_granted += c1.granted - c0.granted;
	res->slow_paths += c1.slow - c0.slow;
	res->steals += c1.steals - c0.steals;
	res->priority += c1.priority - c0.priority;
	for (i = 0; i < nthreads; i++) {
		res->counted_sum += t[i]->counted;
		res->per_thread[i] += t[i]->counted;
		for (j = 0; j < HIST_BUCKETS; j++) {
			res->hist[j] += t[i]->hist[j];
			res->cs_hist[j] += t[i]->cs_hist[j];
			res->ho_hist[j] += t[i]->ho_hist[j];
			res->hold_hist[j] += t[i]->hold_hist[j];
			res->hold_x_hist[j] += t[i]->hold_x_hist[j];
		}
		res->ho_n += t[i]->ho_n;
		res->held_ns += t[i]->held_ns;
		res->x_n += t[i]->x_n;
	}

stop:
	if (ret) {
		/* Not all threads exist: let those that do run to the end. */
		atomic_sub(nthreads - i, &sh->running);
		sh->deadline = 0;
		WRITE_ONCE(sh->timed_out, true);
		WRITE_ONCE(sh->go, true);
		wake_up_all(&sh->start_wq);
		if (i)
			wait_for_completion(&sh->done);
	}
	for (i = 0; i < nthreads; i++) {
		if (!t[i])
			break;
		if (t[i]->task) {
			kthread_stop(t[i]->task);
			put_task_struct(t[i]->task);
		}
		vfree(t[i]);
	}
out:
	kfree(t);
	kfree(sh);
	return ret;
}

static u64 hist_percentile(const u64 *hist, u64 total, unsigned int pct)
{
	u64 want = div_u64(total * pct + 99, 100), sum = 0;
	unsigned int i;

	if (!total)
		return 0;
	for (i = 0; i < HIST_BUCKETS; i++) {
		sum += hist[i];
		if (sum >= want)
			return hist_upper(i);
	}
	return U64_MAX;
}

static u64 hist_max(const u64 *hist)
{
	int i;

	for (i = HIST_BUCKETS - 1; i >= 0; i--)
		if (hist[i])
			return hist_upper(i);
	return 0;
}

#define RESULTS_SIZE	2048
#define ROUND_LINES_SIZE	4096

static DEFINE_MUTEX(bench_mutex);	/* one run at a time; protects below */
static char bench_results[RESULTS_SIZE + ROUND_LINES_SIZE];
/* the rounds of the last run, one line each (bench_format_round()) */
static char bench_round_lines[ROUND_LINES_SIZE];
/* one round's result, added to bench_acc[] once its line is written */
static struct bench_result bench_one;
/* per lock: the sum of all rounds since load or the last "reset" */
static struct bench_result *bench_acc[BENCH_NR_LOCKS];
static unsigned int bench_rounds_done[BENCH_NR_LOCKS];
static unsigned int bench_nthreads;
static unsigned long bench_lock_mask;
static struct dentry *bench_dir;

/* The fewest (*@lo) and most (*@hi) acquisitions of one thread in @res. */
static void bench_thread_spread(const struct bench_result *res,
				unsigned long *lo, unsigned long *hi)
{
	unsigned int i;

	*lo = ULONG_MAX;
	*hi = 0;
	for (i = 0; i < bench_nthreads; i++) {
		*lo = min(*lo, res->per_thread[i]);
		*hi = max(*hi, res->per_thread[i]);
	}
	if (!bench_nthreads)
		*lo = 0;
}

static void bench_format(enum bench_lock_kind kind, struct seq_buf *s)
{
	const struct bench_result *res = bench_acc[kind];
	u64 total = res->counted_sum, acq_per_s;
	unsigned long lo, hi;
	char line[640];

	bench_thread_spread(res, &lo, &hi);
	acq_per_s = res->ns ? div64_u64((u64)res->acq * NSEC_PER_SEC, res->ns) : 0;
	snprintf(line, sizeof(line),
		 "bench lock=%s threads=%u cpus=%u rounds=%u acq=%lu complete=%d exact=%d cs_iters=%u think_iters=%u rate=%u ms=%llu acq_per_s=%llu p50_ns=%llu p99_ns=%llu max_ns=%llu thr_min=%lu thr_max=%lu yields_issued=%llu yields_granted=%llu slow_paths=%llu steals=%llu priority=%llu p10_ns=%llu p25_ns=%llu p75_ns=%llu p90_ns=%llu p95_ns=%llu",
		 bench_lock_names[kind], bench_nthreads, num_online_cpus(),
		 bench_rounds_done[kind], res->acq, res->complete,
		 res->acq == total, cs_iters, think_iters, rate,
		 div_u64(res->ns, NSEC_PER_MSEC), acq_per_s,
		 hist_percentile(res->hist, total, 50),
		 hist_percentile(res->hist, total, 99), hist_max(res->hist),
		 lo, hi, res->yields_issued, res->yields_granted,
		 res->slow_paths, res->steals, res->priority,
		 hist_percentile(res->hist, total, 10),
		 hist_percentile(res->hist, total, 25),
		 hist_percentile(res->hist, total, 75),
		 hist_percentile(res->hist, total, 90),
		 hist_percentile(res->hist, total, 95));
	pr_info("%s\n", line);
	seq_buf_printf(s, "%s\n", line);
}

/*
 * One round on its own, so that a reader gets the spread of the rounds
 * and not only their sum (a round of 10 000 acquisitions under TCG can
 * hinge on one preemption):
 *
 *   bench-round lock=pvx threads=8 round=2 acq=... ms=... acq_per_s=... \
 *               p50_ns=... p99_ns=... max_ns=... thr_min=... thr_max=...
 *
 * @round counts this lock's rounds since load or the last reset.
 */
static void bench_format_round(enum bench_lock_kind kind, const struct bench_result *res,
			       unsigned int round, struct seq_buf *s)
{
	u64 acq_per_s = res->ns ? div64_u64((u64)res->acq * NSEC_PER_SEC, res->ns) : 0;
	unsigned long lo, hi;

	bench_thread_spread(res, &lo, &hi);
	seq_buf_printf(s,
		       "bench-round lock=%s threads=%u round=%u acq=%lu complete=%d exact=%d ms=%llu acq_per_s=%llu p50_ns=%llu p99_ns=%llu max_ns=%llu thr_min=%lu thr_max=%lu\n",
		       bench_lock_names[kind], bench_nthreads, round, res->acq, res->complete,
		       res->acq == res->counted_sum, div_u64(res->ns, NSEC_PER_MSEC), acq_per_s,
		       hist_percentile(res->hist, res->counted_sum, 50),
		       hist_percentile(res->hist, res->counted_sum, 99), hist_max(res->hist),
		       lo, hi);
	if (!count_passes)
		return;
	seq_buf_printf(s, "bench-round-cs lock=%s round=%u", bench_lock_names[kind], round);
	if (count_passes == COUNT_SECTIONS)
		seq_buf_printf(s, " cs_p50=%llu cs_p99=%llu cs_max=%llu",
			       hist_percentile(res->cs_hist, res->counted_sum, 50),
			       hist_percentile(res->cs_hist, res->counted_sum, 99),
			       hist_max(res->cs_hist));
	seq_buf_printf(s,
		       " ho_n=%llu ho_p10=%llu ho_p50=%llu ho_p90=%llu ho_p99=%llu hold_p50=%llu hold_p99=%llu x_n=%llu hold_x_p50=%llu hold_x_p99=%llu held_ns=%llu held_pml=%llu\n",
		       res->ho_n, hist_percentile(res->ho_hist, res->ho_n, 10),
		       hist_percentile(res->ho_hist, res->ho_n, 50),
		       hist_percentile(res->ho_hist, res->ho_n, 90),
		       hist_percentile(res->ho_hist, res->ho_n, 99),
		       hist_percentile(res->hold_hist, res->counted_sum, 50),
		       hist_percentile(res->hold_hist, res->counted_sum, 99), res->x_n,
		       hist_percentile(res->hold_x_hist, res->x_n, 50),
		       hist_percentile(res->hold_x_hist, res->x_n, 99), res->held_ns,
		       res->ns ? div64_u64(res->held_ns * 1000, res->ns) : 0);
}

/* @one (a round) added to @acc (the sums since the last reset). */
static void bench_result_add(struct bench_result *acc, const struct bench_result *one)
{
	unsigned int j;

	acc->acq += one->acq;
	acc->counted_sum += one->counted_sum;
	acc->ns += one->ns;
	acc->complete = acc->complete && one->complete;
	acc->yields_issued += one->yields_issued;
	acc->yields_granted += one->yields_granted;
	acc->slow_paths += one->slow_paths;
	acc->steals += one->steals;
	acc->priority += one->priority;
	for (j = 0; j < bench_nthreads; j++)
		acc->per_thread[j] += one->per_thread[j];
	for (j = 0; j < HIST_BUCKETS; j++) {
		acc->hist[j] += one->hist[j];
		acc->cs_hist[j] += one->cs_hist[j];
		acc->ho_hist[j] += one->ho_hist[j];
		acc->hold_hist[j] += one->hold_hist[j];
		acc->hold_x_hist[j] += one->hold_x_hist[j];
	}
	acc->ho_n += one->ho_n;
	acc->held_ns += one->held_ns;
	acc->x_n += one->x_n;
}

/* @res zeroed, its per-thread array (allocated at load) kept. */
static void bench_result_clear(struct bench_result *res)
{
	unsigned long *per_thread = res->per_thread;

	memset(res, 0, sizeof(*res));
	memset(per_thread, 0, bench_nthreads * sizeof(*per_thread));
	res->per_thread = per_thread;
	res->complete = true;
}

static void bench_reset(void)
{
	unsigned int k;

	for (k = 0; k < BENCH_NR_LOCKS; k++) {
		bench_result_clear(bench_acc[k]);
		bench_rounds_done[k] = 0;
	}
	bench_results[0] = '\0';
}

/*
 * @rounds rounds of each lock in @mask, added to what the locks ran
 * before; the results then show every lock that ran since the last reset.
 */
static int bench_run(unsigned long mask)
{
	struct seq_buf s, sr;
	unsigned int k, r;
	int ret = 0;

	mutex_lock(&bench_mutex);
	seq_buf_init(&sr, bench_round_lines, sizeof(bench_round_lines));
	for (k = 0; k < BENCH_NR_LOCKS && !ret; k++) {
		if (!(mask & BIT(k)))
			continue;
		for (r = 0; r < rounds && !ret; r++) {
			bench_result_clear(&bench_one);
			ret = bench_round(k, bench_nthreads, &bench_one);
			if (ret)
				break;
			bench_rounds_done[k]++;
			bench_format_round(k, &bench_one, bench_rounds_done[k], &sr);
			bench_result_add(bench_acc[k], &bench_one);
		}
		if (ret)
			pr_err("lock=%s: run failed: %d\n", bench_lock_names[k], ret);
	}
	seq_buf_init(&s, bench_results, sizeof(bench_results));
	for (k = 0; k < BENCH_NR_LOCKS; k++)
		if (bench_rounds_done[k] && (mask & BIT(k) || !ret))
			bench_format(k, &s);
	/* after the sums: more rounds than fit lose rounds, not sums */
	seq_buf_printf(&s, "%s", seq_buf_str(&sr));
	mutex_unlock(&bench_mutex);
	return ret;
}

/* "ticket,native,pvx", "all" or one name: a mask of BIT(BENCH_*), 0 if bad. */
static unsigned long bench_parse_locks(const char *str)
{
	char buf[64], *p, *name;
	unsigned long mask = 0;
	unsigned int k;

	if (strscpy(buf, str, sizeof(buf)) < 0)
		return 0;
	p = strim(buf);
	if (!strcmp(p, "all"))
		return BIT(BENCH_NR_LOCKS) - 1;
	while ((name = strsep(&p, ",")) != NULL) {
		for (k = 0; k < BENCH_NR_LOCKS; k++)
			if (!strcmp(name, bench_lock_names[k]))
				break;
		if (k == BENCH_NR_LOCKS)
			return 0;
		mask |= BIT(k);
	}
	return mask;
}

static ssize_t bench_run_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	unsigned long mask;
	char buf[64];
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (!strcmp(strim(buf), "reset")) {
		mutex_lock(&bench_mutex);
		bench_reset();
		mutex_unlock(&bench_mutex);
		return len;
	}
	mask = bench_parse_locks(buf);
	if (!mask)
		return -EINVAL;
	ret = bench_run(mask);
	return ret ? ret : len;
}

static const struct file_operations bench_run_fops = {
	.owner = THIS_MODULE,
	.write = bench_run_write,
	.llseek = noop_llseek,
};

static ssize_t bench_results_read(struct file *file, char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&bench_mutex);
	ret = simple_read_from_buffer(ubuf, len, ppos, bench_results,
				      strnlen(bench_results, sizeof(bench_results)));
	mutex_unlock(&bench_mutex);
	return ret;
}

static const struct file_operations bench_results_fops = {
	.owner = THIS_MODULE,
	.read = bench_results_read,
	.llseek = default_llseek,
};

static void bench_results_free(void)
{
	unsigned int k;

	vfree(bench_one.per_thread);
	bench_one.per_thread = NULL;
	for (k = 0; k < BENCH_NR_LOCKS; k++) {
		if (bench_acc[k])
			vfree(bench_acc[k]->per_thread);
		vfree(bench_acc[k]);
		bench_acc[k] = NULL;
	}
}

/* The sums per lock and the round's result, with bench_nthreads counts. */
static int bench_results_alloc(void)
{
	size_t size = bench_nthreads * sizeof(unsigned long);
	unsigned int k;

	bench_one.per_thread = vzalloc(size);
	if (!bench_one.per_thread)
		return -ENOMEM;
	for (k = 0; k < BENCH_NR_LOCKS; k++) {
		bench_acc[k] = vzalloc(sizeof(*bench_acc[k]));
		if (!bench_acc[k])
			return -ENOMEM;
		bench_acc[k]->per_thread = vzalloc(size);
		if (!bench_acc[k]->per_thread)
			return -ENOMEM;
	}
	return 0;
}

static int bench_check_params(void)
{
	if (threads > 1024) {
		pr_err("threads=%u: must be 0..1024\n", threads);
		return -EINVAL;
	}
	if (acquisitions < 1000 || acquisitions > 1000000000UL) {
		pr_err("acquisitions=%lu: must be 1000..1000000000\n", acquisitions);
		return -EINVAL;
	}
	if (cs_iters < 1 || cs_iters > 100000) {
		pr_err("cs_iters=%u: must be 1..100000\n", cs_iters);
		return -EINVAL;
	}
	if (think_iters > 100000) {
		pr_err("think_iters=%u: must be 0..100000\n", think_iters);
		return -EINVAL;
	}
	if (rate > 10000000) {
		pr_err("rate=%u: must be 0..10000000\n", rate);
		return -EINVAL;
	}
	if (rounds < 1 || rounds > 100) {
		pr_err("rounds=%u: must be 1..100\n", rounds);
		return -EINVAL;
	}
	if (count_passes > COUNT_TIMES) {
		pr_err("count_passes=%u: must be 0..2\n", count_passes);
		return -EINVAL;
	}
	if (max_ms < 100 || max_ms > 3600000) {
		pr_err("max_ms=%u: must be 100..3600000\n", max_ms);
		return -EINVAL;
	}
	bench_lock_mask = locks ? bench_parse_locks(locks) : 0;
	if (!bench_lock_mask) {
		pr_err("locks='%s': want a comma-separated list of ticket, native, pvx, pvx-fifo, native-aa\n",
		       locks ? locks : "");
		return -EINVAL;
	}
	return 0;
}

static int __init pvx_lock_bench_init(void)
{
	int ret = bench_check_params();

	if (ret)
		return ret;
	bench_nthreads = threads ? threads : 2 * num_online_cpus();
	ret = bench_results_alloc();
	if (ret)
		goto free;
	bench_reset();

	bench_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("run", 0200, bench_dir, NULL, &bench_run_fops);
	debugfs_create_file("results", 0444, bench_dir, NULL, &bench_results_fops);

	if (autorun) {
		pr_info("%u threads on %u CPUs, %lu acquisitions x %u rounds, cs_iters=%u think_iters=%u\n",
			bench_nthreads, num_online_cpus(), acquisitions, rounds,
			cs_iters, think_iters);
		ret = bench_run(bench_lock_mask);
		if (ret) {
			debugfs_remove_recursive(bench_dir);
			goto free;
		}
	}
	return 0;
free:
	bench_results_free();
	return ret;
}

static void __exit pvx_lock_bench_exit(void)
{
	debugfs_remove_recursive(bench_dir);
	bench_results_free();
}

module_init(pvx_lock_bench_init);
module_exit(pvx_lock_bench_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvx: lock contention benchmark (ticket, native spinlock_t, struct pvx_spinlock)");
