// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_stimer_torture: test module for the pvx_stimer kernel API, run by
 * the L3 selftests (selftests/guest/init.sh). Not for production use.
 *
 * At load it checks, and reports as TAP lines in
 * /sys/kernel/debug/pvx_stimer_torture/results:
 *   - pvx_stimer_start() refuses bad requests and arms nothing then;
 *   - a timer fires once, in hard interrupt context, on the CPU it was
 *     started on, with the effective bound and effective time >= request;
 *   - pvx_stimer_left()/pvx_stimer_active() of an armed and a cancelled
 *     timer;
 *   - cancel racing with expiry, the timer armed on one CPU and cancelled
 *     from another (race_rounds times): after pvx_stimer_cancel() returns
 *     the callback is not running and never runs again, for one-shot
 *     timers and for timers whose callback re-arms them;
 *   - starts, cancels and expiries of the same few timers hammered from
 *     a thread on every online CPU at once (hammer_ms), half of the
 *     timers re-arming themselves from their callback: afterwards every
 *     callback ran in hard interrupt context, a final cancel leaves every
 *     timer inactive and silent, and the module's counters balance
 *     (init.sh: started = fired_effective + fired_cap + cancelled);
 * and, as a diagnostic (not a test), the cost of arming a pvx timer and
 * an hrtimer measured side by side.
 *
 * While loaded, writing N (1..200000) to irqs_off_us keeps the writer's
 * CPU busy for N us with interrupts off: pvx_stimer_test --torture makes a
 * timer fd's expiry come late with it, as a vCPU that does not run (and
 * shows no steal) would.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/preempt.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "pvx_stimer.h"

/*
 * Each round wakes the other vCPU with an IPI: about 10 ms in the nested
 * lab, where L3's two vCPUs share one emulated CPU.
 */
static unsigned int race_rounds = 500;
module_param(race_rounds, uint, 0444);
MODULE_PARM_DESC(race_rounds, "rounds of each cancel-vs-expiry race (1..100000, default 500)");

static unsigned int hammer_ms = 3000;
module_param(hammer_ms, uint, 0444);
MODULE_PARM_DESC(hammer_ms, "how long the start/cancel/expiry hammer runs (0..60000 ms, default 3000; 0: skip)");

#define HAMMER_TIMERS	4

#define ARM_COST_ROUNDS	7
#define ARM_COST_ARMS	2000
#define RESULTS_SIZE	4096

static char *results;
static size_t results_len;
static unsigned int nr_tests;
static struct dentry *dbg_dir;

/* One line of the results: @prefix, then the formatted text. */
static __printf(2, 0) void results_line(const char *prefix, const char *fmt,
					va_list ap)
{
	results_len += scnprintf(results + results_len,
				 RESULTS_SIZE - results_len, "%s", prefix);
	results_len += vscnprintf(results + results_len,
				  RESULTS_SIZE - results_len, fmt, ap);
	results_len += scnprintf(results + results_len,
				 RESULTS_SIZE - results_len, "\n");
}

static __printf(2, 3) void report(bool pass, const char *fmt, ...)
{
	char prefix[24];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%sok %u ", pass ? "" : "not ",
		 ++nr_tests);
	va_start(ap, fmt);
	results_line(prefix, fmt, ap);
	va_end(ap);
}

static __printf(1, 2) void diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	results_line("# ", fmt, ap);
	va_end(ap);
}

struct torture_timer {
	struct pvx_stimer t;
	struct completion fired;
	atomic_t calls;
	atomic_t inside;	/* the callback runs now */
	atomic_t wrong_ctx;	/* not hard irq, or not on the owner CPU */
	bool rearm;		/* the callback re-arms it (20 us) */
	enum pvx_stimer_bound bound;
	u64 request_ns;
};

static void torture_cb(struct pvx_stimer *t, enum pvx_stimer_bound bound)
{
	struct torture_timer *tt = container_of(t, struct torture_timer, t);

	atomic_set(&tt->inside, 1);
	if (!in_hardirq() || smp_processor_id() != t->cpu)
		atomic_inc(&tt->wrong_ctx);
	tt->bound = bound;
	udelay(5);	/* widen the window a cancel can meet */
	atomic_inc(&tt->calls);
	if (READ_ONCE(tt->rearm))
		pvx_stimer_start(t, 20 * NSEC_PER_USEC, 0, torture_cb);
	atomic_set(&tt->inside, 0);
	complete(&tt->fired);
}

static void torture_timer_init(struct torture_timer *tt)
{
	memset(tt, 0, sizeof(*tt));
	pvx_stimer_init(&tt->t);
	init_completion(&tt->fired);
}

static void test_bad_requests(struct torture_timer *tt)
{
	const u64 ms = NSEC_PER_MSEC;
	bool ok = pvx_stimer_start(&tt->t, 0, 0, torture_cb) == -EINVAL &&
		  pvx_stimer_start(&tt->t, PVX_STIMER_MAX_NS + 1, 0,
				   torture_cb) == -EINVAL &&
		  pvx_stimer_start(&tt->t, 10 * ms, 9 * ms, torture_cb) == -EINVAL &&
		  pvx_stimer_start(&tt->t, ms, 65 * ms, torture_cb) == -EINVAL &&
		  pvx_stimer_start(&tt->t, ms, 0, NULL) == -EINVAL;

	report(ok && !pvx_stimer_active(&tt->t),
	       "start refuses 0, > 1 h, cap < request, cap > 64 x request, no callback with -EINVAL and arms nothing");
}

static void test_fires_once(struct torture_timer *tt)
{
	u64 req = 2 * NSEC_PER_MSEC;
	int ret;

	tt->request_ns = req;
	/*
	 * The widest cap: with the default (4 x) a vCPU that loses 6 ms of
	 * its 8 to its host fires on the cap, rightly, and this test is about
	 * the effective bound.
	 */
	ret = pvx_stimer_start(&tt->t, req, req * PVX_STIMER_CAP_FACTOR_MAX, torture_cb);
	if (!ret && !wait_for_completion_timeout(&tt->fired, 10 * HZ))
		ret = -ETIMEDOUT;
	msleep(20);	/* a second call would show now */
	report(!ret && atomic_read(&tt->calls) == 1 && !atomic_read(&tt->wrong_ctx) &&
	       tt->bound == PVX_STIMER_EFFECTIVE &&
	       tt->t.wall_ns - tt->t.steal_ns >= req,
	       "a 2 ms timer fires once, in hard irq on its owner CPU, on effective time (ret %d, calls %d, wall %llu, steal %llu ns)",
	       ret, atomic_read(&tt->calls), tt->t.wall_ns, tt->t.steal_ns);
}

static void test_left(struct torture_timer *tt)
{
	u64 left0, left1;
	bool active;

	pvx_stimer_start(&tt->t, NSEC_PER_SEC, 0, torture_cb);
	left0 = pvx_stimer_left(&tt->t);
	active = pvx_stimer_active(&tt->t);
	report(pvx_stimer_cancel(&tt->t) && active && left0 > 0 &&
	       left0 <= NSEC_PER_SEC,
	       "an armed 1 s timer is active with %llu ns left; cancel says it was armed",
	       left0);
	left1 = pvx_stimer_left(&tt->t);
	report(!left1 && !pvx_stimer_active(&tt->t) && !pvx_stimer_cancel(&tt->t),
	       "a cancelled timer is inactive, 0 ns left, a second cancel says not armed");
}

/* Busy wait: sleeping 4000 times costs tens of seconds in the lab. */
static void spin_us(unsigned int us)
{
	u64 end = ktime_get_ns() + (u64)us * NSEC_PER_USEC;

	while (ktime_get_ns() < end)
		cpu_relax();
}

/* IPI handler: start the race timer on the CPU this runs on */
static void race_start(void *arg)
{
	struct torture_timer *tt = arg;

	pvx_stimer_start(&tt->t, tt->request_ns, 0, torture_cb);
}

struct race {
	struct torture_timer *tt;
	int target_cpu;
	unsigned int late, inside;
	struct completion done;
};

/*
 * Runs on a CPU other than @target_cpu when there is one: arm there for
 * 1..64 us, wait 0..80 us, cancel, then check that the callback is not
 * running and does not run again.
 */
static int race_thread(void *arg)
{
	struct race *r = arg;
	struct torture_timer *tt = r->tt;
	unsigned int i, calls;

	for (i = 0; i < race_rounds; i++) {
		tt->request_ns = (1 + get_random_u32_below(64)) * NSEC_PER_USEC;
		smp_call_function_single(r->target_cpu, race_start, tt, 1);
		ndelay(get_random_u32_below(80000));
		pvx_stimer_cancel(&tt->t);
		if (atomic_read(&tt->inside))
			r->inside++;
		calls = atomic_read(&tt->calls);
		/* a re-armed timer (20 us) would fire by now */
		spin_us(100);
		if (atomic_read(&tt->calls) != calls)
			r->late++;
		if (i % 64 == 63)
			cond_resched();
	}
	/* not complete() and return: rmmod may free this text right after */
	kthread_complete_and_exit(&r->done, 0);
}

static void test_race(struct torture_timer *tt, bool rearm)
{
	struct race r = { .tt = tt, .target_cpu = 0 };
	struct task_struct *task;
	int other = cpumask_next(0, cpu_online_mask);

	torture_timer_init(tt);
	tt->rearm = rearm;
	init_completion(&r.done);
	task = kthread_create(race_thread, &r, "pvx_stimer_race");
	if (IS_ERR(task)) {
		report(false, "cancel race: kthread # error %ld", PTR_ERR(task));
		return;
	}
	if (other < nr_cpu_ids)
		kthread_bind(task, other);
	wake_up_process(task);
	wait_for_completion(&r.done);
	report(!r.inside && !r.late && !atomic_read(&tt->wrong_ctx),
	       "%u x arm on CPU %d for 1..64 us, cancel from CPU %d%s: callback never running after cancel (%u), never called after it (%u); %d calls",
	       race_rounds, r.target_cpu, other < nr_cpu_ids ? other : 0,
	       rearm ? ", callback re-arms" : "", r.inside, r.late,
	       atomic_read(&tt->calls));
}

/* ---- starts, cancels and expiries from every CPU at once ---------------- */

static struct torture_timer *hammer_timers;
static bool hammer_stop;

static void hammer_cb(struct pvx_stimer *t, enum pvx_stimer_bound bound)
{
	struct torture_timer *tt = container_of(t, struct torture_timer, t);

	if (!in_hardirq())
		atomic_inc(&tt->wrong_ctx);
	atomic_inc(&tt->calls);
	if (tt->rearm && !READ_ONCE(hammer_stop))
		pvx_stimer_start(t, (1 + get_random_u32_below(30)) * NSEC_PER_USEC,
				 0, hammer_cb);
}

struct hammer {
	struct completion done;
	unsigned long starts, cancels;
};

static int hammer_thread(void *arg)
{
	struct hammer *h = arg;
	u64 end = ktime_get_ns() + (u64)hammer_ms * NSEC_PER_MSEC;
	unsigned int i = 0;

	while (ktime_get_ns() < end) {
		struct torture_timer *tt =
			&hammer_timers[get_random_u32_below(HAMMER_TIMERS)];
		u32 op = get_random_u32_below(8);

		if (op < 5) {
			/* 1..40 us: some expire while others re-arm them */
			if (!pvx_stimer_start(&tt->t,
					      (1 + get_random_u32_below(40)) *
					      NSEC_PER_USEC, 0, hammer_cb))
				h->starts++;
		} else if (op < 7) {
			pvx_stimer_cancel(&tt->t);
			h->cancels++;
		} else {
			ndelay(get_random_u32_below(20000));
		}
		if (++i % 64 == 0)
			cond_resched();
	}
	/* not complete() and return: rmmod may free this text right after */
	kthread_complete_and_exit(&h->done, 0);
}

static void test_hammer(void)
{
	unsigned int n = 0, i, cpu, late = 0, active = 0, wrong = 0, calls = 0;
	unsigned long starts = 0, cancels = 0;
	struct hammer *h;

	if (!hammer_ms) {
		report(true, "start/cancel/expiry hammer # SKIP hammer_ms=0");
		return;
	}
	hammer_timers = kcalloc(HAMMER_TIMERS, sizeof(*hammer_timers), GFP_KERNEL);
	h = kcalloc(nr_cpu_ids, sizeof(*h), GFP_KERNEL);
	if (!hammer_timers || !h) {
		report(false, "start/cancel/expiry hammer # no memory");
		goto out;
	}
	hammer_stop = false;
	for (i = 0; i < HAMMER_TIMERS; i++) {
		torture_timer_init(&hammer_timers[i]);
		hammer_timers[i].rearm = i % 2;
	}
	for_each_online_cpu(cpu) {
		struct task_struct *task;

		init_completion(&h[cpu].done);
		task = kthread_create(hammer_thread, &h[cpu], "pvx_stimer_hammer/%u",
				      cpu);
		if (IS_ERR(task)) {
			complete(&h[cpu].done);
			continue;
		}
		kthread_bind(task, cpu);
		wake_up_process(task);
		n++;
	}
	for_each_online_cpu(cpu) {
		wait_for_completion(&h[cpu].done);
		starts += h[cpu].starts;
		cancels += h[cpu].cancels;
	}
	WRITE_ONCE(hammer_stop, true);
	for (i = 0; i < HAMMER_TIMERS; i++) {
		struct torture_timer *tt = &hammer_timers[i];

		pvx_stimer_cancel(&tt->t);
		calls += atomic_read(&tt->calls);
		if (pvx_stimer_active(&tt->t))
			active++;
	}
	spin_us(200);	/* a callback after the cancel would show now */
	for (i = 0; i < HAMMER_TIMERS; i++) {
		struct torture_timer *tt = &hammer_timers[i];

		late += atomic_read(&tt->calls);
		wrong += atomic_read(&tt->wrong_ctx);
	}
	late -= calls;
	report(n == num_online_cpus() && !active && !late && !wrong && calls > 0,
	       "%u threads on %u CPUs start (%lu) and cancel (%lu) %u timers for %u ms while they expire (%u callbacks, half re-arming): all in hard irq (%u not), none active (%u) or called (%u) after the final cancel",
	       n, num_online_cpus(), starts, cancels, HAMMER_TIMERS, hammer_ms,
	       calls, wrong, active, late);
out:
	kfree(h);
	kfree(hammer_timers);
	hammer_timers = NULL;
}

static enum hrtimer_restart plain_cb(struct hrtimer *h)
{
	return HRTIMER_NORESTART;
}

/*
 * ns per arm, each arming replacing the last, of a timer never due: the
 * best of a few alternating rounds, so that a round the host preempted
 * does not count.
 */
static void arm_cost(struct torture_timer *tt)
{
	u64 t0, t, best_hr = U64_MAX, best_pvx = U64_MAX;
	struct hrtimer h;
	unsigned int r, i;

	hrtimer_setup_on_stack(&h, plain_cb, CLOCK_MONOTONIC,
			       HRTIMER_MODE_REL_PINNED_HARD);
	for (r = 0; r < ARM_COST_ROUNDS; r++) {
		preempt_disable();
		t0 = ktime_get_ns();
		for (i = 0; i < ARM_COST_ARMS; i++)
			hrtimer_start(&h, ns_to_ktime(NSEC_PER_SEC + i),
				      HRTIMER_MODE_REL_PINNED_HARD);
		t = ktime_get_ns() - t0;
		best_hr = min(best_hr, t);
		t0 = ktime_get_ns();
		for (i = 0; i < ARM_COST_ARMS; i++)
			pvx_stimer_start(&tt->t, NSEC_PER_SEC + i, 0, torture_cb);
		t = ktime_get_ns() - t0;
		best_pvx = min(best_pvx, t);
		preempt_enable();
		cond_resched();
	}
	hrtimer_cancel(&h);
	destroy_hrtimer_on_stack(&h);
	pvx_stimer_cancel(&tt->t);
	best_hr = max_t(u64, best_hr, 1);
	/* emulation time: a diagnostic, not a test */
	diag("arm cost: hrtimer %llu ns, pvx_stimer %llu ns per arm, ratio %llu.%02llu",
	     best_hr / ARM_COST_ARMS, best_pvx / ARM_COST_ARMS,
	     best_pvx / best_hr, best_pvx * 100 / best_hr % 100);
}

static int results_show(struct seq_file *m, void *v)
{
	seq_printf(m, "1..%u\n", nr_tests);
	seq_write(m, results, results_len);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(results);

#define IRQS_OFF_MAX_US	200000

static ssize_t irqs_off_write(struct file *file, const char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	unsigned long flags;
	unsigned int us;
	u64 end;
	int ret;

	ret = kstrtouint_from_user(ubuf, len, 0, &us);
	if (ret)
		return ret;
	if (!us || us > IRQS_OFF_MAX_US)
		return -EINVAL;
	local_irq_save(flags);
	end = ktime_get_ns() + (u64)us * NSEC_PER_USEC;
	while (ktime_get_ns() < end)
		cpu_relax();
	local_irq_restore(flags);
	return len;
}

static const struct file_operations irqs_off_fops = {
	.owner = THIS_MODULE,
	.write = irqs_off_write,
	.llseek = noop_llseek,
};

static int __init stimer_torture_init(void)
{
	struct torture_timer *tt;

	if (!race_rounds || race_rounds > 100000 || hammer_ms > 60000)
		return -EINVAL;
	results = kzalloc(RESULTS_SIZE, GFP_KERNEL);
	tt = kzalloc(sizeof(*tt), GFP_KERNEL);
	if (!results || !tt) {
		kfree(results);
		kfree(tt);
		return -ENOMEM;
	}
	diag("steal source %u, %u online CPUs", pvx_steal_source(),
	     num_online_cpus());
	torture_timer_init(tt);
	test_bad_requests(tt);
	test_fires_once(tt);
	test_left(tt);
	test_race(tt, false);
	test_race(tt, true);
	test_hammer();
	torture_timer_init(tt);
	arm_cost(tt);
	kfree(tt);
	pr_info("%u tests done\n", nr_tests);

	dbg_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("results", 0444, dbg_dir, NULL, &results_fops);
	debugfs_create_file("irqs_off_us", 0200, dbg_dir, NULL, &irqs_off_fops);
	return 0;
}

static void __exit stimer_torture_exit(void)
{
	debugfs_remove_recursive(dbg_dir);
	kfree(results);
}

module_init(stimer_torture_init);
module_exit(stimer_torture_exit);

MODULE_DESCRIPTION("pvx_stimer kernel API test (selftests only)");
MODULE_LICENSE("GPL");
