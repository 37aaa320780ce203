// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_stimer_bench.ko: the retransmit-timeout benchmark of the
 * steal-corrected timers (make bench, Documentation/bench.rst).
 *
 * A kernel thread bound to one CPU runs a steady loop (a multiply/add
 * step, cond_resched() every 1024 steps) while a timer with deadline D is
 * armed on that CPU, stops when the timer fired, and does that for K
 * timers, one after the other, alternating between
 *
 *   hrtimer  a wall-clock hrtimer (HRTIMER_MODE_REL_PINNED_HARD), what a
 *            retransmit timer uses today;
 *   pvx      a pvx_stimer for D of effective time (pvx_stimer.ko), with a
 *            wall-clock cap of cap_factor x D.
 *
 * At each expiry, in the callback, the CPU the thread got since the start
 * is measured as effective time = wall time - the CPU's steal meanwhile
 * (pvx_steal_ns(): the steal source of pvx_stimer.ko, the live KVM
 * steal-time record when it has one). An expiry with less than D of
 * effective time is a spurious timeout: the loop was stopped although it
 * never got its D of CPU. The effective-time error is |effective - D| / D.
 *
 * Writing a label (e.g. "steal=50": letters, digits, '=', '_', '.', '-';
 * at most 31) to /sys/kernel/debug/pvx_stimer_bench/run runs K timers of
 * each kind and appends one line per kind to .../results; writing "arm"
 * measures the cost of arming: arm_loops x (start with a 1 s deadline,
 * then cancel) per batch, 5 batches per kind interleaved, the fastest
 * batch of each kind reported; "reset" empties the results. The write
 * returns when the run is done. Lines:
 *
 *   stimer label=L kind=K cpu=C timers=K deadline_ns=D tick_ns=T fired=N
 *          spurious=N capped=N missed=N eff_mean_ns=.. wall_mean_ns=..
 *          steal_mean_ns=.. err_mean_ppm=.. err_max_ppm=.. work_per_ms=..
 *   arm kind=K loops=N batches=B ns_per_arm=.. (start + cancel)
 *
 * Parameters are checked at load; a bad value fails insmod with -EINVAL.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/seq_buf.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "pvx_stimer.h"

static unsigned int timers = 16;
module_param(timers, uint, 0444);
MODULE_PARM_DESC(timers, "timers (K) of each kind per run, 1..10000");

static unsigned int deadline_ms = 100;
module_param(deadline_ms, uint, 0444);
MODULE_PARM_DESC(deadline_ms, "deadline (D) of each timer in ms, 1..60000");

static unsigned int cap_factor = 16;
module_param(cap_factor, uint, 0444);
MODULE_PARM_DESC(cap_factor, "wall-clock cap of the pvx timers, in D, 1..64");

static unsigned int arm_loops = 20000;
module_param(arm_loops, uint, 0444);
MODULE_PARM_DESC(arm_loops, "start+cancel pairs per batch of the arming cost, 100..10000000");

static unsigned int cpu;
module_param(cpu, uint, 0444);
MODULE_PARM_DESC(cpu, "CPU the loop and its timers run on (online)");

#define BENCH_LABEL_MAX	32
#define BENCH_RESULTS_MAX	8192
#define BENCH_ARM_BATCHES	5

enum bench_kind { KIND_HRTIMER, KIND_PVX, KIND_NR };

static const char * const kind_names[KIND_NR] = {
	[KIND_HRTIMER] = "hrtimer",
	[KIND_PVX] = "pvx",
};

/* one timer of the run: what its callback saw */
struct bench_shot {
	struct hrtimer hrt;
	struct pvx_stimer st;
	u64 start_ns, start_steal;
	u64 wall_ns, steal_ns;	/* at expiry, since start */
	bool capped;
	bool fired;		/* written last by the callback */
};

/* the totals of one kind in one run */
struct bench_sum {
	unsigned int fired, spurious, capped, missed;
	u64 eff_ns, wall_ns, steal_ns, work;
	u64 err_ppm_sum, err_ppm_max;
};

static struct bench_shot shot;
static struct dentry *bench_dir;
static DEFINE_MUTEX(bench_lock);	/* one run at a time; results */
static char *results;
static struct seq_buf results_buf;
static unsigned long bench_sink;	/* keeps the loop's work */

/* The callbacks run in hard interrupt context on the bench CPU. */
static void shot_expired(bool capped)
{
	u64 now = ktime_get_ns();

	shot.wall_ns = now - shot.start_ns;
	shot.steal_ns = pvx_steal_ns(cpu) - shot.start_steal;
	shot.capped = capped;
	/* the loop reads the numbers after it sees fired */
	smp_store_release(&shot.fired, true);
}

static enum hrtimer_restart shot_hrtimer_fn(struct hrtimer *t)
{
	shot_expired(false);
	return HRTIMER_NORESTART;
}

static void shot_pvx_fn(struct pvx_stimer *t, enum pvx_stimer_bound bound)
{
	shot_expired(bound == PVX_STIMER_CAP);
}

static int shot_arm(enum bench_kind kind, u64 d_ns)
{
	WRITE_ONCE(shot.fired, false);
	shot.start_steal = pvx_steal_ns(cpu);
	shot.start_ns = ktime_get_ns();
	if (kind == KIND_HRTIMER) {
		hrtimer_start(&shot.hrt, ns_to_ktime(d_ns), HRTIMER_MODE_REL_PINNED_HARD);
		return 0;
	}
	return pvx_stimer_start(&shot.st, d_ns, (u64)cap_factor * d_ns, shot_pvx_fn);
}

static void shot_cancel(enum bench_kind kind)
{
	if (kind == KIND_HRTIMER)
		hrtimer_cancel(&shot.hrt);
	else
		pvx_stimer_cancel(&shot.st);
}

/* The steady loop until the timer fired (or far past its cap); work done. */
static u64 shot_loop(u64 d_ns)
{
	u64 give_up = shot.start_ns + (u64)(cap_factor + 4) * d_ns;
	unsigned long x = 1;
	u64 work = 0;
	int i;

	/* pairs with the release in shot_expired(): its numbers are visible */
	while (!smp_load_acquire(&shot.fired)) {
		for (i = 0; i < 1024; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
		work++;
		cond_resched();
		if (ktime_get_ns() > give_up)
			break;
	}
	WRITE_ONCE(bench_sink, x);
	return work;
}

static void shot_account(struct bench_sum *s, u64 d_ns, u64 work)
{
	u64 eff, err;

	if (!shot.fired) {
		s->missed++;
		return;
	}
	eff = shot.wall_ns > shot.steal_ns ? shot.wall_ns - shot.steal_ns : 0;
	err = eff > d_ns ? eff - d_ns : d_ns - eff;
	err = div64_u64(err * 1000000, d_ns);
	s->fired++;
	s->spurious += eff < d_ns;
	s->capped += shot.capped;
	s->eff_ns += eff;
	s->wall_ns += shot.wall_ns;
	s->steal_ns += shot.steal_ns;
	s->work += work;
	s->err_ppm_sum += err;
	s->err_ppm_max = max(s->err_ppm_max, err);
}

struct bench_job {
	struct completion done;
	char label[BENCH_LABEL_MAX];
	bool arm;
	int ret;
};

static void report_run(const char *label, struct bench_sum *sum, u64 d_ns)
{
	int k;

	for (k = 0; k < KIND_NR; k++) {
		struct bench_sum *s = &sum[k];
		unsigned int n = max(s->fired, 1U);

		seq_buf_printf(&results_buf,
			       "stimer label=%s kind=%s cpu=%u timers=%u deadline_ns=%llu tick_ns=%lu fired=%u spurious=%u capped=%u missed=%u eff_mean_ns=%llu wall_mean_ns=%llu steal_mean_ns=%llu err_mean_ppm=%llu err_max_ppm=%llu work_per_ms=%llu\n",
			       label, kind_names[k], cpu, timers, d_ns, TICK_NSEC, s->fired,
			       s->spurious, s->capped, s->missed, div_u64(s->eff_ns, n),
			       div_u64(s->wall_ns, n), div_u64(s->steal_ns, n),
			       div_u64(s->err_ppm_sum, n), s->err_ppm_max,
			       div64_u64(s->work * NSEC_PER_MSEC, max(s->eff_ns, 1ULL)));
	}
}

/* K timers of each kind, alternating; 0 or -errno of a pvx start */
static int bench_timers(const char *label)
{
	struct bench_sum sum[KIND_NR] = {};
	u64 d_ns = (u64)deadline_ms * NSEC_PER_MSEC;
	unsigned int i;
	int k, ret;

	for (i = 0; i < timers; i++) {
		for (k = 0; k < KIND_NR; k++) {
			u64 work;

			ret = shot_arm(k, d_ns);
			if (ret)
				return ret;
			work = shot_loop(d_ns);
			shot_cancel(k);
			shot_account(&sum[k], d_ns, work);
		}
		if (kthread_should_stop())
			return -EINTR;
	}
	report_run(label, sum, d_ns);
	return 0;
}

/* ns per start+cancel pair, fastest of the batches, kinds interleaved */
static int bench_arm(void)
{
	u64 best[KIND_NR] = { U64_MAX, U64_MAX };
	unsigned int b, i;
	int k, ret;

	for (b = 0; b < BENCH_ARM_BATCHES; b++) {
		for (k = 0; k < KIND_NR; k++) {
			u64 t0 = ktime_get_ns(), t;

			for (i = 0; i < arm_loops; i++) {
				ret = shot_arm(k, NSEC_PER_SEC);
				if (ret)
					return ret;
				shot_cancel(k);
			}
			t = ktime_get_ns() - t0;
			best[k] = min(best[k], t);
			cond_resched();
		}
	}
	for (k = 0; k < KIND_NR; k++)
		seq_buf_printf(&results_buf,
			       "arm kind=%s loops=%u batches=%u ns_per_arm=%llu\n",
			       kind_names[k], arm_loops, BENCH_ARM_BATCHES,
			       div_u64(best[k], arm_loops));
	return 0;
}

static int bench_thread(void *data)
{
	struct bench_job *job = data;

	job->ret = job->arm ? bench_arm() : bench_timers(job->label);
	/* not complete() and return: rmmod may free this text right after */
	kthread_complete_and_exit(&job->done, 0);
}

/* run one job on the bench CPU and wait for it */
static int bench_run_job(struct bench_job *job)
{
	struct task_struct *t;

	init_completion(&job->done);
	t = kthread_create(bench_thread, job, "pvx_stimer_bench");
	if (IS_ERR(t))
		return PTR_ERR(t);
	kthread_bind(t, cpu);
	wake_up_process(t);
	wait_for_completion(&job->done);
	return job->ret;
}

static bool label_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum(*s) && !strchr("=_.-", *s))
			return false;
	return true;
}

static ssize_t bench_run_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	struct bench_job job = {};
	int ret;

	if (len >= BENCH_LABEL_MAX)
		return -EINVAL;
	if (copy_from_user(job.label, ubuf, len))
		return -EFAULT;
	job.label[len] = '\0';
	strim(job.label);
	if (!strcmp(job.label, "reset")) {
		mutex_lock(&bench_lock);
		seq_buf_clear(&results_buf);
		mutex_unlock(&bench_lock);
		return len;
	}
	job.arm = !strcmp(job.label, "arm");
	if (!job.arm && !label_valid(job.label))
		return -EINVAL;
	if (!cpu_online(cpu))
		return -ENODEV;
	mutex_lock(&bench_lock);
	ret = bench_run_job(&job);
	mutex_unlock(&bench_lock);
	if (ret)
		pr_warn_ratelimited("run '%s' failed: %d\n", job.label, ret);
	return ret ? ret : len;
}

static ssize_t bench_results_read(struct file *file, char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&bench_lock);
	ret = simple_read_from_buffer(ubuf, len, ppos, results,
				      seq_buf_used(&results_buf));
	mutex_unlock(&bench_lock);
	return ret;
}

static const struct file_operations bench_run_fops = {
	.owner = THIS_MODULE,
	.write = bench_run_write,
	.llseek = noop_llseek,
};

static const struct file_operations bench_results_fops = {
	.owner = THIS_MODULE,
	.read = bench_results_read,
	.llseek = default_llseek,
};

static int __init bench_check_params(void)
{
	if (timers < 1 || timers > 10000 || deadline_ms < 1 || deadline_ms > 60000 ||
	    cap_factor < 1 || cap_factor > PVX_STIMER_CAP_FACTOR_MAX ||
	    arm_loops < 100 || arm_loops > 10000000 ||
	    cpu >= nr_cpu_ids || !cpu_online(cpu)) {
		pr_err("bad parameter: timers=%u deadline_ms=%u cap_factor=%u arm_loops=%u cpu=%u\n",
		       timers, deadline_ms, cap_factor, arm_loops, cpu);
		return -EINVAL;
	}
	return 0;
}

static int __init pvx_stimer_bench_init(void)
{
	int ret = bench_check_params();

	if (ret)
		return ret;
	results = kzalloc(BENCH_RESULTS_MAX, GFP_KERNEL);
	if (!results)
		return -ENOMEM;
	seq_buf_init(&results_buf, results, BENCH_RESULTS_MAX);
	hrtimer_setup(&shot.hrt, shot_hrtimer_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_PINNED_HARD);
	pvx_stimer_init(&shot.st);
	bench_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("run", 0200, bench_dir, NULL, &bench_run_fops);
	debugfs_create_file("results", 0444, bench_dir, NULL, &bench_results_fops);
	pr_info("loaded: K=%u D=%u ms cap %ux on cpu%u, steal source %u\n",
		timers, deadline_ms, cap_factor, cpu, pvx_steal_source());
	return 0;
}
module_init(pvx_stimer_bench_init);

static void __exit pvx_stimer_bench_exit(void)
{
	/* no run is in progress: a run holds the debugfs file open */
	debugfs_remove_recursive(bench_dir);
	hrtimer_cancel(&shot.hrt);
	pvx_stimer_cancel(&shot.st);
	kfree(results);
}
module_exit(pvx_stimer_bench_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvx: retransmit-timeout benchmark, wall-clock hrtimers vs pvx_stimer");
