// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_locality's automatic locality map (Documentation/numa.rst, "The
 * automatic map"): every auto_interval_ms, for each online CPU, the user
 * thread that ran longest there since the last round (the growth of its
 * sum_exec_runtime), a sample of its process's resident anonymous pages
 * (looked up with get_user_pages_fast_only() in its address space, never
 * faulted in, at most auto_pages per round), merged into at most
 * auto_max_ranges guest-physical ranges, sent with PVX_HC_NUMA_HINT from
 * that CPU's vCPU, but only when it differs from the map that vCPU last
 * sent by more than an eighth of its bytes. The host's rate limit
 * (-PVX_EAGAIN) is counted and backed off from.
 *
 * Off by default (parameter auto): a background scan costs guest CPU and
 * host exits that nobody asked for. On a host without PVX_HC_NUMA_HINT
 * nothing is queued and the module says so once.
 *
 * One round runs at a time (one delayed work item); it holds
 * pvx_locmap_lock, which the debugfs map and the auto parameter take too.
 * Tasks are found under RCU and held with get_task_struct(); their memory
 * with get_task_mm()/mmput() and kthread_use_mm() for the lookups.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bsearch.h>
#include <linux/debugfs.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/sort.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "pvx_guest.h"
#include "locality.h"
#include "locality_calc.h"

#define CREATE_TRACE_POINTS
#include "locmap_trace.h"

#define PVX_LOC_INTERVAL_MIN	100
#define PVX_LOC_INTERVAL_MAX	60000
#define PVX_LOC_PAGES_MIN	64
#define PVX_LOC_PAGES_MAX	65536
/* User threads looked at per round; the others wait for a later one. */
#define PVX_LOC_MAX_TASKS	4096
/* A thread counts for a CPU when it ran there >= 1/10 of the interval. */
#define PVX_LOC_MIN_SHARE	10
/* After EAGAIN or an error: wait 1, 2, 4 .. 64 intervals more. */
#define PVX_LOC_BACKOFF_MAX	6
/* Pages per get_user_pages_fast_only() call. */
#define PVX_LOC_GUP_CHUNK	64

static bool pvx_locmap_auto;
static unsigned int pvx_locmap_interval_ms = 1000;
static unsigned int pvx_locmap_max_ranges = PVX_NUMA_MAX_RANGES;
static unsigned int pvx_locmap_pages = 8192;

enum pvx_locmap_stat {
	PVX_LM_ROUNDS,		/* rounds run */
	PVX_LM_HINTS,		/* maps the host accepted */
	PVX_LM_UNCHANGED,	/* maps not sent: as the last one sent */
	PVX_LM_RANGES,		/* ranges in the accepted maps */
	PVX_LM_BYTES,		/* bytes in them (sampled pages) */
	PVX_LM_EAGAIN,		/* the host's rate limit */
	PVX_LM_ERRORS,		/* any other refusal */
	PVX_LM_PAGES,		/* pages looked up */
	PVX_LM_NS,		/* time spent in rounds */
	PVX_LM_RESENT,		/* maps sent again to a host whose state was new */
	PVX_LM_NR
};

static u64 pvx_locmap_stats[PVX_LM_NR];

static void pvx_lm_count(enum pvx_locmap_stat s, u64 n)
{
	WRITE_ONCE(pvx_locmap_stats[s], pvx_locmap_stats[s] + n);
}

/* What a CPU sent last. */
struct pvx_lm_cpu {
	struct pvx_loc_batch *sent;	/* the map the host accepted, or NULL */
	u64 sent_bytes;
	pid_t pid;			/* the thread it was built from */
	char comm[TASK_COMM_LEN];
	int home;			/* the host's answer */
	u64 hints;			/* maps the host accepted */
	u64 tries;			/* maps sent, accepted or not */
	u64 unchanged;			/* maps not sent: as the last one */
	unsigned long retry_at;		/* jiffies: backing off until then */
	unsigned int backoff;
	bool resend;			/* the host's state is new: send anyway */
};

/* This round's thread for a CPU. */
struct pvx_lm_best {
	struct task_struct *task;
	u64 delta;
};

static DEFINE_MUTEX(pvx_locmap_lock);
/* Under pvx_locmap_lock: */
static bool pvx_locmap_ready;		/* init done, exit not begun */
static bool pvx_locmap_running;		/* the work is queued or running */
static bool pvx_locmap_said;		/* the fallback line was printed */
static struct pvx_lm_cpu *pvx_lm_cpus;	/* nr_cpu_ids */
static struct pvx_lm_best *pvx_lm_best;	/* nr_cpu_ids */
static struct pvx_lm_seen *pvx_lm_prev, *pvx_lm_cur;
static unsigned int pvx_lm_nprev;
static u64 pvx_lm_last_round;		/* ktime_get_ns() of the last round */
static struct pvx_loc_batch *pvx_lm_spare;

static struct dentry *pvx_locmap_dir;

static void pvx_locmap_round(struct work_struct *work);
static DECLARE_DELAYED_WORK(pvx_locmap_work, pvx_locmap_round);

static void pvx_locmap_queue(void)
{
	queue_delayed_work(system_unbound_wq, &pvx_locmap_work,
			   msecs_to_jiffies(READ_ONCE(pvx_locmap_interval_ms)));
}

/* ---- which thread ran longest on each CPU ------------------------------ */

/* How long @e ran since the last round (pvx_lm_runtime_delta()). */
static u64 pvx_lm_delta(const struct pvx_lm_seen *e)
{
	return pvx_lm_runtime_delta(e, pvx_lm_prev, pvx_lm_nprev,
				    pvx_lm_last_round);
}

/*
 * Fill pvx_lm_best[] with a referenced thread per CPU (or NULL) and keep
 * this round's runtimes for the next. Returns how many CPUs have one. The
 * slots are walked by index, here and where the round drops them, never
 * by cpu_online_mask, which CPU hotplug changes between the two.
 */
static unsigned int pvx_lm_pick(u64 now, u64 min_delta)
{
	struct task_struct *g, *t;
	unsigned int n = 0, cpus = 0;
	int cpu;

	memset(pvx_lm_best, 0, nr_cpu_ids * sizeof(*pvx_lm_best));
	rcu_read_lock();
	for_each_process_thread(g, t) {
		struct pvx_lm_seen *e;
		u64 d;

		if (t->flags & (PF_KTHREAD | PF_EXITING))
			continue;
		if (n == PVX_LOC_MAX_TASKS)
			goto full;
		e = &pvx_lm_cur[n++];
		e->pid = t->pid;
		e->start = t->start_time;
		e->runtime = READ_ONCE(t->se.sum_exec_runtime);
		d = pvx_lm_delta(e);
		cpu = task_cpu(t);
		if (d >= min_delta && cpu < nr_cpu_ids && cpu_online(cpu) &&
		    d > pvx_lm_best[cpu].delta) {
			pvx_lm_best[cpu].task = t;
			pvx_lm_best[cpu].delta = d;
		}
	}
full:
	/*
	 * A reference for exactly the slots filled, whichever CPUs went
	 * offline since the loop above looked (the round drops exactly
	 * these: pvx_lm_one_round()); a CPU that is offline now just fails
	 * its IPI. Still under RCU: the tasks cannot be freed meanwhile.
	 */
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		if (pvx_lm_best[cpu].task) {
			get_task_struct(pvx_lm_best[cpu].task);
			cpus++;
		}
	}
	rcu_read_unlock();

	sort(pvx_lm_cur, n, sizeof(*pvx_lm_cur), pvx_lm_seen_cmp, NULL);
	swap(pvx_lm_prev, pvx_lm_cur);
	pvx_lm_nprev = n;
	pvx_lm_last_round = now;
	return cpus;
}

/* ---- its resident anonymous pages -------------------------------------- */

static bool pvx_lm_vma_ok(struct vm_area_struct *vma)
{
	return vma_is_anonymous(vma) &&
	       !(vma->vm_flags & (VM_IO | VM_PFNMAP | VM_HUGETLB));
}

/*
 * Up to @budget resident pages of @mm's anonymous mappings, evenly spread
 * over them, into @pfn; their number (0 when its mmap_lock is taken). The
 * caller runs in a kthread.
 */
static unsigned long pvx_lm_sample(struct mm_struct *mm, u64 *pfn,
				   unsigned long budget)
{
	struct page *pages[PVX_LOC_GUP_CHUNK];
	struct vm_area_struct *vma;
	unsigned long total = 0, stride, got = 0, looked = 0;
	unsigned long addr, n;
	int i, r;

	/*
	 * A workqueue: a process whose mmap_lock is held for write (by a
	 * long mmap(), or one stuck in a page fault on a FUSE file) must not
	 * stall the rounds and rmmod. Its CPU sends nothing this round.
	 */
	if (!mmap_read_trylock(mm))
		return 0;
	{
		VMA_ITERATOR(vmi, mm, 0);

		for_each_vma(vmi, vma)
			if (pvx_lm_vma_ok(vma))
				total += vma_pages(vma);
	}
	if (!total) {
		mmap_read_unlock(mm);
		return 0;
	}
	stride = DIV_ROUND_UP(total, budget);
	/* GUP-fast walks current->mm: borrow @mm, as vhost and io_uring do. */
	kthread_use_mm(mm);
	{
		VMA_ITERATOR(vmi, mm, 0);

		for_each_vma(vmi, vma) {
			if (!pvx_lm_vma_ok(vma))
				continue;
			for (addr = vma->vm_start; addr < vma->vm_end &&
			     looked < budget; addr += n * stride * PAGE_SIZE) {
				n = 1;
				if (stride == 1)
					n = min3((vma->vm_end - addr) >> PAGE_SHIFT,
						 budget - looked,
						 (unsigned long)PVX_LOC_GUP_CHUNK);
				if (stride > 1) {
					r = get_user_pages_fast_only(addr, 1, 0, pages);
				} else {
					r = get_user_pages_fast_only(addr, n, 0, pages);
					/* stopped short: the next page is not there */
					if (r >= 0 && r < n)
						n = r + 1;
				}
				looked += n;
				for (i = 0; i < r; i++) {
					pfn[got++] = page_to_pfn(pages[i]);
					put_page(pages[i]);
				}
				cond_resched();
			}
		}
	}
	kthread_unuse_mm(mm);
	mmap_read_unlock(mm);
	pvx_lm_count(PVX_LM_PAGES, looked);
	return got;
}

/* ---- the map: ranges of guest-physical memory --------------------------- */

/* True when @c sent nothing yet or @b differs from it (pvx_lm_differs()). */
static bool pvx_lm_changed(const struct pvx_lm_cpu *c,
			   const struct pvx_loc_batch *b, u64 bytes)
{
	return c->resend || !c->sent ||
	       pvx_lm_differs(c->sent, c->sent_bytes, b, bytes);
}

/* ---- sending from the CPU the map is about ----------------------------- */

struct pvx_lm_call {
	struct pvx_loc_batch *b;
	long hc;
	unsigned long home;
};

/* On the target CPU (an IPI): the hypercall names the calling vCPU. */
static void pvx_lm_call_fn(void *arg)
{
	struct pvx_lm_call *c = arg;

	c->hc = pvx_hypercall_rbx(PVX_HC_NUMA_HINT, __pa(c->b), 0, 0, 0, &c->home);
}

static void pvx_lm_send(int cpu, struct task_struct *t, struct pvx_loc_batch *b,
			u64 bytes)
{
	struct pvx_lm_cpu *c = &pvx_lm_cpus[cpu];
	struct pvx_lm_call call = { .b = b, .hc = -PVX_ENOSYS };
	unsigned long wait;

	if (smp_call_function_single(cpu, pvx_lm_call_fn, &call, 1))
		return;		/* went offline meanwhile */
	c->tries++;
	trace_locality_map(cpu, t->pid, b->hdr.count, bytes, PVX_LM_SENT, call.hc,
			   call.hc ? -1 : (s32)call.home);
	if (call.hc == 0) {
		if (c->resend)
			pvx_lm_count(PVX_LM_RESENT, 1);
		c->resend = false;
		pvx_lm_spare = c->sent;
		c->sent = b;
		c->sent_bytes = bytes;
		c->pid = t->pid;
		get_task_comm(c->comm, t);
		c->home = (s32)call.home;
		c->hints++;
		c->backoff = 0;
		c->retry_at = jiffies;
		pvx_lm_count(PVX_LM_HINTS, 1);
		pvx_lm_count(PVX_LM_RANGES, b->hdr.count);
		pvx_lm_count(PVX_LM_BYTES, bytes);
		return;
	}
	pvx_lm_count(call.hc == -PVX_EAGAIN ? PVX_LM_EAGAIN : PVX_LM_ERRORS, 1);
	wait = msecs_to_jiffies(READ_ONCE(pvx_locmap_interval_ms)) << c->backoff;
	c->retry_at = jiffies + wait;
	if (c->backoff < PVX_LOC_BACKOFF_MAX)
		c->backoff++;
}

/* ---- one round ---------------------------------------------------------- */

static void pvx_locmap_say_off(void)
{
	if (pvx_locmap_said)
		return;
	pvx_locmap_said = true;
	pr_info("host has no PVX_HC_NUMA_HINT: the automatic locality map sends nothing\n");
}

/* Under pvx_locmap_lock. */
static void pvx_lm_one_round(void)
{
	unsigned int max = READ_ONCE(pvx_locmap_max_ranges), cpus;
	unsigned long budget, n;
	struct pvx_gpa_range *r;
	u64 now = ktime_get_ns(), bytes, *pfn;
	int cpu;

	cpus = pvx_lm_pick(now, (u64)READ_ONCE(pvx_locmap_interval_ms) *
			   (NSEC_PER_MSEC / PVX_LOC_MIN_SHARE));
	if (!cpus)
		return;
	budget = max(READ_ONCE(pvx_locmap_pages) / cpus, 1u);
	pfn = kvmalloc_array(budget, sizeof(*pfn), GFP_KERNEL);
	r = kvmalloc_array(budget, sizeof(*r), GFP_KERNEL);
	/* every slot pvx_lm_pick() referenced, as it walked them */
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct task_struct *t = pvx_lm_best[cpu].task;
		struct pvx_lm_cpu *c = &pvx_lm_cpus[cpu];
		struct mm_struct *mm;
		struct pvx_loc_batch *b;

		if (!t)
			continue;
		pvx_lm_best[cpu].task = NULL;
		mm = pfn && r ? get_task_mm(t) : NULL;
		n = mm ? pvx_lm_sample(mm, pfn, budget) : 0;
		if (mm)
			mmput(mm);
		if (!pvx_lm_spare)
			pvx_lm_spare = (void *)get_zeroed_page(GFP_KERNEL);
		b = pvx_lm_spare;
		/* sent: b becomes the CPU's map and its old one the spare */
		if (n && b) {
			bytes = pvx_lm_build(pfn, n, r, b, max);
			if (!pvx_lm_changed(c, b, bytes)) {
				c->unchanged++;
				pvx_lm_count(PVX_LM_UNCHANGED, 1);
				trace_locality_map(cpu, t->pid, b->hdr.count, bytes,
						   PVX_LM_SAME, 0, c->home);
			} else if (time_before(jiffies, c->retry_at)) {
				trace_locality_map(cpu, t->pid, b->hdr.count, bytes,
						   PVX_LM_BACKOFF, 0, -1);
			} else {
				pvx_lm_send(cpu, t, b, bytes);
			}
		}
		put_task_struct(t);
	}
	kvfree(r);
	kvfree(pfn);
}

static void pvx_locmap_round(struct work_struct *work)
{
	u64 t0 = ktime_get_ns();

	mutex_lock(&pvx_locmap_lock);
	if (!pvx_locmap_running) {
		mutex_unlock(&pvx_locmap_lock);
		return;
	}
	if (!pvx_host_has(PVX_F_NUMA_HINT)) {
		/* the host stopped serving it (migration, its policy) */
		pvx_locmap_said = false;
		pvx_locmap_say_off();
		pvx_locmap_running = false;
		mutex_unlock(&pvx_locmap_lock);
		return;
	}
	pvx_lm_one_round();
	pvx_lm_count(PVX_LM_ROUNDS, 1);
	pvx_lm_count(PVX_LM_NS, ktime_get_ns() - t0);
	pvx_locmap_queue();
	mutex_unlock(&pvx_locmap_lock);
}

/* ---- start and stop ----------------------------------------------------- */

static void pvx_lm_free(void)
{
	int cpu;

	if (pvx_lm_cpus)
		for_each_possible_cpu(cpu)
			free_page((unsigned long)pvx_lm_cpus[cpu].sent);
	free_page((unsigned long)pvx_lm_spare);
	pvx_lm_spare = NULL;
	kfree(pvx_lm_cpus);
	kfree(pvx_lm_best);
	kvfree(pvx_lm_prev);
	kvfree(pvx_lm_cur);
	pvx_lm_cpus = NULL;
	pvx_lm_best = NULL;
	pvx_lm_prev = NULL;
	pvx_lm_cur = NULL;
}

/* Under pvx_locmap_lock: allocate once, the first time auto goes on. */
static int pvx_lm_alloc(void)
{
	if (pvx_lm_cpus)
		return 0;
	pvx_lm_cpus = kcalloc(nr_cpu_ids, sizeof(*pvx_lm_cpus), GFP_KERNEL);
	pvx_lm_best = kcalloc(nr_cpu_ids, sizeof(*pvx_lm_best), GFP_KERNEL);
	pvx_lm_prev = kvmalloc_array(PVX_LOC_MAX_TASKS, sizeof(*pvx_lm_prev), GFP_KERNEL);
	pvx_lm_cur = kvmalloc_array(PVX_LOC_MAX_TASKS, sizeof(*pvx_lm_cur), GFP_KERNEL);
	if (!pvx_lm_cpus || !pvx_lm_best || !pvx_lm_prev || !pvx_lm_cur) {
		pvx_lm_free();
		return -ENOMEM;
	}
	pvx_lm_nprev = 0;
	pvx_lm_last_round = 0;
	return 0;
}

/* Under pvx_locmap_lock: make the work match @on. */
static int pvx_lm_apply(bool on)
{
	int ret;

	if (!pvx_locmap_ready)
		return 0;	/* init does it */
	if (!on) {
		pvx_locmap_running = false;
		return 0;	/* a queued round ends at once */
	}
	if (pvx_locmap_running)
		return 0;
	if (!pvx_host_has(PVX_F_NUMA_HINT)) {
		pvx_locmap_say_off();
		return 0;
	}
	ret = pvx_lm_alloc();
	if (ret)
		return ret;
	/* forget the runtimes of a run long ago: they are not this interval's */
	pvx_lm_nprev = 0;
	pvx_lm_last_round = 0;
	pvx_locmap_running = true;
	pvx_locmap_queue();
	return 0;
}

/* ---- parameters --------------------------------------------------------- */

static int pvx_lm_auto_set(const char *val, const struct kernel_param *kp)
{
	bool on;
	int ret = kstrtobool(val, &on);

	if (ret)
		return ret;
	mutex_lock(&pvx_locmap_lock);
	ret = pvx_lm_apply(on);
	if (!ret)
		WRITE_ONCE(pvx_locmap_auto, on);
	mutex_unlock(&pvx_locmap_lock);
	return ret;
}

static const struct kernel_param_ops pvx_lm_auto_ops = {
	.set = pvx_lm_auto_set,
	.get = param_get_bool,
};

/*
 * module_param_cb(auto, ...) would name it "__auto_type": the kernel
 * defines auto as that (compiler_types.h), and module_param_cb() passes
 * its name on unstringified. __module_param_call() stringifies it at once.
 */
__module_param_call(MODULE_PARAM_PREFIX, auto, &pvx_lm_auto_ops, &pvx_locmap_auto,
		    0644, -1, 0);
MODULE_PARM_DESC(auto,
		 "build and send the locality map by itself (default N: the scan costs CPU and host exits)");

/* The kernel's bounded setter (param_set_uint_minmax(), 5.15 on). */
static int pvx_lm_interval_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, PVX_LOC_INTERVAL_MIN,
				     PVX_LOC_INTERVAL_MAX);
}

static int pvx_lm_ranges_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, PVX_NUMA_MAX_RANGES);
}

static int pvx_lm_pages_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, PVX_LOC_PAGES_MIN, PVX_LOC_PAGES_MAX);
}

static const struct kernel_param_ops pvx_lm_interval_ops = {
	.set = pvx_lm_interval_set,
	.get = param_get_uint,
};

static const struct kernel_param_ops pvx_lm_ranges_ops = {
	.set = pvx_lm_ranges_set,
	.get = param_get_uint,
};

static const struct kernel_param_ops pvx_lm_pages_ops = {
	.set = pvx_lm_pages_set,
	.get = param_get_uint,
};

module_param_cb(auto_interval_ms, &pvx_lm_interval_ops, &pvx_locmap_interval_ms, 0644);
MODULE_PARM_DESC(auto_interval_ms, "ms between two rounds of the automatic map (100..60000, default 1000)");
module_param_cb(auto_max_ranges, &pvx_lm_ranges_ops, &pvx_locmap_max_ranges, 0644);
MODULE_PARM_DESC(auto_max_ranges, "ranges in one map, the longest kept (1..255, default 255)");
module_param_cb(auto_pages, &pvx_lm_pages_ops, &pvx_locmap_pages, 0644);
MODULE_PARM_DESC(auto_pages, "pages looked up per round, shared by the CPUs (64..65536, default 8192)");

/* ---- sysfs counters, debugfs map --------------------------------------- */

static struct kobj_attribute pvx_lm_kattrs[PVX_LM_NR];

/* The counter is the attribute's place in pvx_lm_kattrs[]. */
static ssize_t pvx_lm_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	ptrdiff_t s = attr - pvx_lm_kattrs;

	if (s < 0 || s >= PVX_LM_NR)
		return -EINVAL;
	return sysfs_emit(buf, "%llu\n", READ_ONCE(pvx_locmap_stats[s]));
}

static struct kobj_attribute pvx_lm_kattrs[PVX_LM_NR] = {
	__ATTR(auto_rounds, 0444, pvx_lm_show, NULL),
	__ATTR(auto_hints, 0444, pvx_lm_show, NULL),
	__ATTR(auto_unchanged, 0444, pvx_lm_show, NULL),
	__ATTR(auto_ranges, 0444, pvx_lm_show, NULL),
	__ATTR(auto_bytes, 0444, pvx_lm_show, NULL),
	__ATTR(auto_eagain, 0444, pvx_lm_show, NULL),
	__ATTR(auto_errors, 0444, pvx_lm_show, NULL),
	__ATTR(auto_pages, 0444, pvx_lm_show, NULL),
	__ATTR(auto_ns, 0444, pvx_lm_show, NULL),
	__ATTR(auto_resent, 0444, pvx_lm_show, NULL),
};

struct attribute *pvx_locmap_attrs[PVX_LM_NR + 1] = {
	&pvx_lm_kattrs[0].attr, &pvx_lm_kattrs[1].attr, &pvx_lm_kattrs[2].attr,
	&pvx_lm_kattrs[3].attr, &pvx_lm_kattrs[4].attr, &pvx_lm_kattrs[5].attr,
	&pvx_lm_kattrs[6].attr, &pvx_lm_kattrs[7].attr, &pvx_lm_kattrs[8].attr,
	&pvx_lm_kattrs[9].attr, NULL,
};

/* Per CPU the last map the host accepted: a line, then one per range. */
static int pvx_lm_map_show(struct seq_file *m, void *unused)
{
	unsigned int i;
	int cpu;

	mutex_lock(&pvx_locmap_lock);
	for_each_possible_cpu(cpu) {
		const struct pvx_lm_cpu *c = pvx_lm_cpus ? &pvx_lm_cpus[cpu] : NULL;

		if (!c || !c->sent)
			continue;
		seq_printf(m, "cpu %d pid %d comm %s hints %llu tries %llu unchanged %llu home %d ranges %u bytes %llu\n",
			   cpu, c->pid, c->comm, c->hints, c->tries, c->unchanged,
			   c->home, c->sent->hdr.count, c->sent_bytes);
		for (i = 0; i < c->sent->hdr.count; i++)
			seq_printf(m, "range 0x%llx 0x%llx\n",
				   c->sent->r[i].gpa, c->sent->r[i].len);
	}
	mutex_unlock(&pvx_locmap_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvx_lm_map);

/*
 * The host's state of this VM is new (a migration landed, its pvx_numa was
 * loaded again) or NUMA_HINT came back: its maps and placement are gone,
 * so every CPU sends its map at the next round even when it did not
 * change, without waiting out a back-off; a map that stopped for want of
 * NUMA_HINT starts again.
 */
static int pvx_lm_host_changed(struct notifier_block *nb, unsigned long features,
			       void *data)
{
	int cpu;

	mutex_lock(&pvx_locmap_lock);
	if (pvx_lm_cpus) {
		for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
			pvx_lm_cpus[cpu].resend = true;
			pvx_lm_cpus[cpu].backoff = 0;
			pvx_lm_cpus[cpu].retry_at = jiffies;
		}
	}
	if (features & PVX_F_NUMA_HINT)
		pvx_locmap_said = false;
	pvx_lm_apply(READ_ONCE(pvx_locmap_auto));
	mutex_unlock(&pvx_locmap_lock);
	return NOTIFY_OK;
}

static struct notifier_block pvx_lm_host_nb = {
	.notifier_call = pvx_lm_host_changed,
};

int pvx_locmap_init(void)
{
	int ret;

	pvx_locmap_dir = debugfs_create_dir("pvx_locality", NULL);
	debugfs_create_file("map", 0400, pvx_locmap_dir, NULL, &pvx_lm_map_fops);
	mutex_lock(&pvx_locmap_lock);
	pvx_locmap_ready = true;
	ret = pvx_lm_apply(pvx_locmap_auto);
	if (ret)
		pvx_locmap_ready = false;
	mutex_unlock(&pvx_locmap_lock);
	if (ret)
		debugfs_remove_recursive(pvx_locmap_dir);
	else
		pvx_host_register_notifier(&pvx_lm_host_nb);
	return ret;
}

void pvx_locmap_exit(void)
{
	pvx_host_unregister_notifier(&pvx_lm_host_nb);
	mutex_lock(&pvx_locmap_lock);
	pvx_locmap_ready = false;
	pvx_locmap_running = false;
	mutex_unlock(&pvx_locmap_lock);
	cancel_delayed_work_sync(&pvx_locmap_work);
	debugfs_remove_recursive(pvx_locmap_dir);
	pvx_lm_free();
}
