// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_stimer: steal-time-corrected timers. A timer expires once wall time
 * minus the steal time of its owner CPU reaches the request, or at the
 * wall-clock cap; kernel API in pvx_stimer.h, timer fds and the steal
 * query on /dev/pvx (PVX_IOC_STIMER_CREATE, PVX_IOC_STEAL_QUERY).
 * Documentation/stimer.rst.
 *
 * The steal source is chosen once, at load (steal_source parameter):
 * "kvm-steal-time" reads the live KVM steal-time record of a CPU, the
 * same numbers the kernel's (unexported) pv steal clock returns, exact to
 * the nanosecond as of the vCPU's last entry; "kcpustat" reads the
 * kernel's steal accounting, which only advances at ticks; "none" makes
 * every timer a wall-clock timer.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/kernel_stat.h>
#include <linux/kobject.h>
#include <linux/kvm_para.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <asm/barrier.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include "compat.h"
#include "pvx_guest.h"
#include "pvx_stimer.h"
#include "stimer_calc.h"

#define CREATE_TRACE_POINTS
#include "stimer_trace.h"

/* ---- steal source ----------------------------------------------------- */

static const char *const pvx_steal_src_names[] = {
	[PVX_STEAL_SRC_NONE] = "none",
	[PVX_STEAL_SRC_KVM] = "kvm-steal-time",
	[PVX_STEAL_SRC_KCPUSTAT] = "kcpustat",
};

#define PVX_STEAL_SRC_AUTO	ARRAY_SIZE(pvx_steal_src_names)

/* What the steal_source parameter asked for; auto by default. */
static unsigned int steal_source_req = PVX_STEAL_SRC_AUTO;
/* What is used: set once in module init, before any timer can run. */
static u32 pvx_steal_src __ro_after_init;

static int steal_source_set(const char *val, const struct kernel_param *kp)
{
	int i;

	if (sysfs_streq(val, "auto")) {
		steal_source_req = PVX_STEAL_SRC_AUTO;
		return 0;
	}
	i = sysfs_match_string(pvx_steal_src_names, val);
	if (i < 0)
		return -EINVAL;
	steal_source_req = i;
	return 0;
}

static int steal_source_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", steal_source_req == PVX_STEAL_SRC_AUTO ?
			  "auto" : pvx_steal_src_names[steal_source_req]);
}

static const struct kernel_param_ops steal_source_ops = {
	.set = steal_source_set,
	.get = steal_source_get,
};

module_param_cb(steal_source, &steal_source_ops, NULL, 0444);
MODULE_PARM_DESC(steal_source,
		 "auto (default: kvm-steal-time when the host offers it, else none), kvm-steal-time, kcpustat or none");

/*
 * Each CPU's KVM steal-time record, found through MSR_KVM_STEAL_TIME on
 * that CPU (the guest kernel registered its per-CPU record there). NULL
 * when the CPU has none enabled: its steal reads as 0.
 */
static DEFINE_PER_CPU(struct kvm_steal_time *, pvx_steal_rec);
static int pvx_steal_cpuhp = -1;

/* The record this CPU registered with KVM, or NULL. */
static struct kvm_steal_time *pvx_steal_rec_this_cpu(void)
{
	phys_addr_t pa;
	u64 msr;

	if (rdmsrq_safe(MSR_KVM_STEAL_TIME, &msr) || !(msr & KVM_MSR_ENABLED))
		return NULL;
	pa = msr & KVM_STEAL_VALID_BITS;
	if (!pfn_valid(PHYS_PFN(pa)))
		return NULL;
	return phys_to_virt(pa);
}

/* cpuhp callback: runs on @cpu when it comes online (and at load). */
static int pvx_steal_cpu_online(unsigned int cpu)
{
	struct kvm_steal_time *st = pvx_steal_rec_this_cpu();

	WRITE_ONCE(per_cpu(pvx_steal_rec, cpu), st);
	if (!st)
		pr_warn_once("CPU %u has no KVM steal-time record: its timers run on wall time\n",
			     cpu);
	return 0;
}

/*
 * The record's steal, read like the kernel's kvm_steal_clock(): the host
 * makes .version odd while it updates the record and even afterwards.
 */
static u64 pvx_kvm_steal(int cpu)
{
	struct kvm_steal_time *st = READ_ONCE(per_cpu(pvx_steal_rec, cpu));
	u32 version;
	u64 steal;

	if (!st)
		return 0;
	do {
		version = READ_ONCE(st->version);
		virt_rmb();	/* the version before the steal it covers */
		steal = READ_ONCE(st->steal);
		virt_rmb();	/* the steal before the version re-read */
	} while ((version & 1) || version != READ_ONCE(st->version));
	return steal;
}

u64 pvx_steal_ns(int cpu)
{
	if (cpu < 0 || cpu >= nr_cpu_ids || !cpu_possible(cpu))
		return 0;
	switch (pvx_steal_src) {
	case PVX_STEAL_SRC_KVM:
		return pvx_kvm_steal(cpu);
	case PVX_STEAL_SRC_KCPUSTAT:
		return READ_ONCE(kcpustat_cpu(cpu).cpustat[CPUTIME_STEAL]);
	default:
		return 0;
	}
}
EXPORT_SYMBOL_GPL(pvx_steal_ns);

u32 pvx_steal_source(void)
{
	return pvx_steal_src;
}
EXPORT_SYMBOL_GPL(pvx_steal_source);

/* Why KVM steal time cannot be used, or NULL when it can. */
static const char *__init pvx_kvm_steal_missing(void)
{
	struct kvm_steal_time *st;

	if (!(pvx_kvm_features() & BIT(KVM_FEATURE_STEAL_TIME)))
		return "host offers no KVM_FEATURE_STEAL_TIME";
	preempt_disable();
	st = pvx_steal_rec_this_cpu();
	preempt_enable();
	if (!st)
		return "MSR_KVM_STEAL_TIME not enabled by the guest kernel";
	return NULL;
}

/* Pick the steal source; fills @why for the one dmesg line. */
static int __init pvx_steal_source_init(const char **why)
{
	const char *missing = pvx_kvm_steal_missing();
	int ret;

	switch (steal_source_req) {
	case PVX_STEAL_SRC_AUTO:
		pvx_steal_src = missing ? PVX_STEAL_SRC_NONE : PVX_STEAL_SRC_KVM;
		*why = missing ? missing : "live per-CPU record, ns";
		break;
	case PVX_STEAL_SRC_KVM:
		if (missing) {
			pr_err("steal_source=kvm-steal-time: %s\n", missing);
			return -ENODEV;
		}
		pvx_steal_src = PVX_STEAL_SRC_KVM;
		*why = "live per-CPU record, ns";
		break;
	case PVX_STEAL_SRC_KCPUSTAT:
		pvx_steal_src = PVX_STEAL_SRC_KCPUSTAT;
		*why = "kernel steal accounting, advances at ticks";
		break;
	default:
		pvx_steal_src = PVX_STEAL_SRC_NONE;
		*why = "steal_source=none";
		break;
	}
	if (pvx_steal_src != PVX_STEAL_SRC_KVM)
		return 0;
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "pvx/stimer:online",
				pvx_steal_cpu_online, NULL);
	if (ret < 0) {
		pr_err("cannot set up the per-CPU steal records: %d\n", ret);
		return ret;
	}
	pvx_steal_cpuhp = ret;
	return 0;
}

/* ---- parameters and counters ------------------------------------------ */

#define PVX_STIMER_CAP_FACTOR_DEFAULT	4u

static unsigned int cap_factor = PVX_STIMER_CAP_FACTOR_DEFAULT;

static int pvx_cap_factor_parse(const char *val, unsigned int *out)
{
	unsigned int v;
	int ret = kstrtouint(val, 0, &v);

	if (ret)
		return ret;
	if (v < 1 || v > PVX_STIMER_CAP_FACTOR_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

static int cap_factor_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret = pvx_cap_factor_parse(val, &v);

	if (!ret)
		WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return ret;
}

static const struct kernel_param_ops cap_factor_ops = {
	.set = cap_factor_set,
	.get = param_get_uint,
};

module_param_cb(cap_factor, &cap_factor_ops, &cap_factor, 0644);
MODULE_PARM_DESC(cap_factor,
		 "default wall-clock cap of a timer, in multiples of its request (1..64, default 4)");

enum pvx_stimer_stat {
	PVX_STIMER_STARTED,
	PVX_STIMER_FIRED_EFFECTIVE,
	PVX_STIMER_FIRED_CAP,
	PVX_STIMER_CANCELLED,
	PVX_STIMER_REARMS,
	PVX_STIMER_REJECTED,
	PVX_STIMER_STALE,
	PVX_STIMER_STAT_NR
};

struct pvx_stimer_stats {
	u64 n[PVX_STIMER_STAT_NR];
};

static DEFINE_PER_CPU(struct pvx_stimer_stats, pvx_stimer_stats);
static atomic_t pvx_stimer_fds = ATOMIC_INIT(0);

static __always_inline void pvx_stimer_count(enum pvx_stimer_stat s)
{
	this_cpu_inc(pvx_stimer_stats.n[s]);
}

/* ---- the timer -------------------------------------------------------- */

/* Wall and steal ns since @t's start, and the effective time they give. */
static u64 pvx_stimer_elapsed(const struct pvx_stimer *t, u64 now,
			      u64 *wall, u64 *steal)
{
	u64 s = pvx_steal_ns(t->cpu);

	*wall = now > t->start_ns ? now - t->start_ns : 0;
	*steal = s > t->start_steal ? s - t->start_steal : 0;
	return *wall > *steal ? *wall - *steal : 0;
}

/*
 * The expiry. Runs with the hrtimer core's base lock dropped, so that a
 * start or cancel on another CPU can meet it: under @t->lock it finds out
 * whether it still serves the current start. A start made since it began
 * (the hrtimer is queued again, which only a start under @t->lock can do
 * while the callback runs: hrtimer_try_to_cancel() leaves a running timer
 * alone) replaced it: it is dropped, and neither delivers nor touches the
 * expiry time of the queued node. Otherwise it re-arms for stolen time
 * (the key of a timer that is not queued, under @t->lock, so no start
 * meets it) or delivers.
 */
static enum hrtimer_restart pvx_stimer_expire(struct hrtimer *hrt)
{
	struct pvx_stimer *t = container_of(hrt, struct pvx_stimer, hrt);
	u64 now = ktime_get_ns(), wall, steal, eff, next, request;
	enum pvx_stimer_bound bound;
	unsigned int rearms;
	unsigned long flags;
	pvx_stimer_fn fn;
	int cpu;
	bool cap;

	raw_spin_lock_irqsave(&t->lock, flags);
	if (!t->armed || hrtimer_is_queued(hrt)) {
		raw_spin_unlock_irqrestore(&t->lock, flags);
		pvx_stimer_count(PVX_STIMER_STALE);
		return HRTIMER_NORESTART;
	}
	eff = pvx_stimer_elapsed(t, now, &wall, &steal);
	t->wall_ns = wall;
	t->steal_ns = steal;
	request = t->request_ns;
	cpu = t->cpu;
	cap = eff < request;
	if (cap && wall < t->cap_ns) {
		/* stolen time made it early: wait for the shortfall */
		next = min(t->start_ns + t->cap_ns, now + request - eff);
		t->rearms++;
		hrtimer_set_expires(hrt, ns_to_ktime(next));
		raw_spin_unlock_irqrestore(&t->lock, flags);
		pvx_stimer_count(PVX_STIMER_REARMS);
		trace_stimer_rearm(t, cpu, request, wall, steal, next - now);
		return HRTIMER_RESTART;
	}
	t->armed = false;
	fn = t->fn;
	rearms = t->rearms;
	bound = cap ? PVX_STIMER_CAP : PVX_STIMER_EFFECTIVE;
	raw_spin_unlock_irqrestore(&t->lock, flags);
	pvx_stimer_count(cap ? PVX_STIMER_FIRED_CAP : PVX_STIMER_FIRED_EFFECTIVE);
	trace_stimer_fire(t, cpu, request, wall, steal, rearms, cap);
	/* may re-arm @t: pvx_stimer_start() from its own callback is fine */
	fn(t, bound);
	return HRTIMER_NORESTART;
}

void pvx_stimer_init(struct pvx_stimer *timer)
{
	memset(timer, 0, sizeof(*timer));
	raw_spin_lock_init(&timer->lock);
	timer->cpu = -1;
	hrtimer_setup(&timer->hrt, pvx_stimer_expire, CLOCK_MONOTONIC,
		      HRTIMER_MODE_ABS_PINNED_HARD);
}
EXPORT_SYMBOL_GPL(pvx_stimer_init);

int pvx_stimer_start(struct pvx_stimer *timer, u64 effective_ns, u64 cap_ns,
		     pvx_stimer_fn fn)
{
	unsigned long flags;
	int cpu;

	if (!fn || pvx_stimer_check(effective_ns, cap_ns)) {
		pvx_stimer_count(PVX_STIMER_REJECTED);
		return -EINVAL;
	}
	if (!cap_ns)
		cap_ns = effective_ns * READ_ONCE(cap_factor);

	raw_spin_lock_irqsave(&timer->lock, flags);
	cpu = smp_processor_id();
	/* a pending start is replaced: it will neither fire nor be cancelled */
	if (timer->armed)
		pvx_stimer_count(PVX_STIMER_CANCELLED);
	timer->armed = true;
	timer->fn = fn;
	timer->request_ns = effective_ns;
	timer->cap_ns = cap_ns;
	timer->cpu = cpu;
	timer->rearms = 0;
	timer->start_steal = pvx_steal_ns(cpu);
	timer->start_ns = ktime_get_ns();
	hrtimer_start(&timer->hrt, ns_to_ktime(timer->start_ns + effective_ns),
		      HRTIMER_MODE_ABS_PINNED_HARD);
	pvx_stimer_count(PVX_STIMER_STARTED);
	raw_spin_unlock_irqrestore(&timer->lock, flags);
	return 0;
}
EXPORT_SYMBOL_GPL(pvx_stimer_start);

/*
 * hrtimer_cancel() under @timer->lock would deadlock with a callback that
 * waits for the lock; without it a start could slip in between the cancel
 * and the bookkeeping. So: try under the lock, and while the callback
 * runs, drop the lock and wait for it, as hrtimer_cancel() does.
 */
bool pvx_stimer_cancel(struct pvx_stimer *timer)
{
	unsigned long flags;
	bool was;
	int ret;

	for (;;) {
		raw_spin_lock_irqsave(&timer->lock, flags);
		ret = hrtimer_try_to_cancel(&timer->hrt);
		if (ret >= 0)
			break;
		raw_spin_unlock_irqrestore(&timer->lock, flags);
		hrtimer_cancel_wait_running(&timer->hrt);
	}
	was = timer->armed;
	timer->armed = false;
	raw_spin_unlock_irqrestore(&timer->lock, flags);
	if (was)
		pvx_stimer_count(PVX_STIMER_CANCELLED);
	return was;
}
EXPORT_SYMBOL_GPL(pvx_stimer_cancel);

bool pvx_stimer_active(const struct pvx_stimer *timer)
{
	return hrtimer_active(&timer->hrt);
}
EXPORT_SYMBOL_GPL(pvx_stimer_active);

u64 pvx_stimer_left(struct pvx_stimer *timer)
{
	u64 wall, steal, eff, left = 0;
	unsigned long flags;

	raw_spin_lock_irqsave(&timer->lock, flags);
	if (timer->armed) {
		eff = pvx_stimer_elapsed(timer, ktime_get_ns(), &wall, &steal);
		if (eff < timer->request_ns)
			left = timer->request_ns - eff;
	}
	raw_spin_unlock_irqrestore(&timer->lock, flags);
	return left;
}
EXPORT_SYMBOL_GPL(pvx_stimer_left);

/* ---- per-user limit on timer fds -------------------------------------- */

#define PVX_STIMER_FDS_PER_USER_DEFAULT	128u

static unsigned int max_timer_fds_per_user = PVX_STIMER_FDS_PER_USER_DEFAULT;
module_param(max_timer_fds_per_user, uint, 0644);
MODULE_PARM_DESC(max_timer_fds_per_user,
		 "timer fds one user (real uid) may have open; more is -EMFILE unless the caller has CAP_SYS_RESOURCE or CAP_SYS_ADMIN (default 128)");

/* Timer fds open per real uid; an entry lives while its count is not 0. */
struct pvx_stimer_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned int fds;
};

static DEFINE_HASHTABLE(pvx_stimer_users, 6);
static DEFINE_SPINLOCK(pvx_stimer_users_lock);

static struct pvx_stimer_user *pvx_stimer_user_find(kuid_t uid)
{
	struct pvx_stimer_user *u;

	hash_for_each_possible(pvx_stimer_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/*
 * Charge one timer fd to the caller's real uid (as pipes and inotify
 * instances are charged), -EMFILE past max_timer_fds_per_user unless the
 * caller may exceed resource limits (CAP_SYS_RESOURCE, CAP_SYS_ADMIN: the
 * pipe buffer limits' rule). @uid receives whom to uncharge.
 */
static int pvx_stimer_user_charge(kuid_t *uid)
{
	struct pvx_stimer_user *u, *fresh;
	unsigned int max = READ_ONCE(max_timer_fds_per_user);
	bool exempt = capable(CAP_SYS_RESOURCE) || capable(CAP_SYS_ADMIN);

	*uid = current_uid();
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;
	spin_lock(&pvx_stimer_users_lock);
	u = pvx_stimer_user_find(*uid);
	if (u && u->fds >= max && !exempt) {
		spin_unlock(&pvx_stimer_users_lock);
		kfree(fresh);
		return -EMFILE;
	}
	if (!u && !max && !exempt) {
		spin_unlock(&pvx_stimer_users_lock);
		kfree(fresh);
		return -EMFILE;
	}
	if (!u) {
		u = fresh;
		fresh = NULL;
		u->uid = *uid;
		hash_add(pvx_stimer_users, &u->node, __kuid_val(*uid));
	}
	u->fds++;
	spin_unlock(&pvx_stimer_users_lock);
	kfree(fresh);
	return 0;
}

static void pvx_stimer_user_uncharge(kuid_t uid)
{
	struct pvx_stimer_user *u;

	spin_lock(&pvx_stimer_users_lock);
	u = pvx_stimer_user_find(uid);
	if (u && !--u->fds)
		hash_del(&u->node);
	else
		u = NULL;
	spin_unlock(&pvx_stimer_users_lock);
	kfree(u);
}

/* ---- timer fds -------------------------------------------------------- */

/*
 * A periodic timer fd has timerfd's cost model: its expiry is never
 * re-armed from the callback. The callback counts the expiry and notes
 * when it happened (ctx->lazy); the next read() or GETTIME counts the
 * periods that passed since then (overruns) and re-arms for the rest of
 * the current one. So a timer nobody reads costs one interrupt, however
 * short its period.
 */
struct pvx_stimer_ctx {
	struct pvx_stimer timer;
	/* its lock protects the fields below, also from the callback */
	wait_queue_head_t wqh;
	struct pvx_stimer_spec spec;	/* current arming */
	bool armed;			/* armed, or periodic and lazy */
	bool lazy;			/* periodic, expired, not re-armed yet */
	u64 ticks;			/* expirations not read yet */
	/* the expiry that made it lazy: CLOCK_MONOTONIC, steal, CPU */
	u64 fire_ns;
	u64 fire_steal;
	int fire_cpu;
	struct pvx_stimer_state last;	/* counters and the last expiry */
	struct mutex settime_lock;	/* one disarm-and-arm at a time */
	kuid_t uid;			/* charged to */
};

static u64 pvx_stimer_fd_cap(const struct pvx_stimer_ctx *ctx)
{
	return ctx->spec.cap_ns ? ctx->spec.cap_ns :
	       ctx->spec.interval_ns * READ_ONCE(cap_factor);
}

/* The late periods of @t's expiry (pvx_stimer_late_periods()). */
static u64 pvx_stimer_fd_late_periods(const struct pvx_stimer_ctx *ctx,
				      const struct pvx_stimer *t)
{
	return pvx_stimer_late_periods(t->request_ns, t->cap_ns, t->wall_ns,
				       t->steal_ns, ctx->spec.interval_ns,
				       pvx_stimer_fd_cap(ctx));
}

static void pvx_stimer_fd_expired(struct pvx_stimer *t,
				  enum pvx_stimer_bound bound)
{
	struct pvx_stimer_ctx *ctx = container_of(t, struct pvx_stimer_ctx, timer);
	unsigned long flags;

	spin_lock_irqsave(&ctx->wqh.lock, flags);
	ctx->ticks++;
	ctx->last.last_bound = bound;
	ctx->last.last_wall_ns = t->wall_ns;
	ctx->last.last_steal_ns = t->steal_ns;
	if (bound == PVX_STIMER_CAP)
		ctx->last.fired_cap++;
	else
		ctx->last.fired_effective++;
	if (ctx->armed && ctx->spec.interval_ns) {
		ctx->ticks += pvx_stimer_fd_late_periods(ctx, t);
		/* re-armed by the reader: pvx_stimer_fd_catch_up() */
		ctx->lazy = true;
		ctx->fire_ns = t->start_ns + t->wall_ns;
		ctx->fire_steal = t->start_steal + t->steal_ns;
		ctx->fire_cpu = t->cpu;
	} else {
		ctx->armed = false;
	}
	wake_up_locked_poll(&ctx->wqh, EPOLLIN);
	spin_unlock_irqrestore(&ctx->wqh.lock, flags);
}

/*
 * A lazy periodic timer: add the periods that passed since its expiry to
 * the count and re-arm it on this CPU for the rest of the current one
 * (pvx_stimer_catch_up()). Under wqh.lock.
 */
static void pvx_stimer_fd_catch_up(struct pvx_stimer_ctx *ctx)
{
	u64 now, s, wall, steal, req, req_cap = ctx->spec.cap_ns;

	if (!ctx->lazy)
		return;
	ctx->lazy = false;
	now = ktime_get_ns();
	s = pvx_steal_ns(ctx->fire_cpu);
	wall = now > ctx->fire_ns ? now - ctx->fire_ns : 0;
	steal = s > ctx->fire_steal ? s - ctx->fire_steal : 0;
	ctx->ticks += pvx_stimer_catch_up(ctx->spec.interval_ns,
					  pvx_stimer_fd_cap(ctx), wall, steal,
					  &req, &req_cap);
	/* 1 <= req <= interval, req_cap within 1..64 x req: cannot fail */
	pvx_stimer_start(&ctx->timer, req, req_cap, pvx_stimer_fd_expired);
}

/* The current arming, value_ns = effective ns left. Under wqh.lock. */
static void pvx_stimer_fd_spec_locked(struct pvx_stimer_ctx *ctx,
				      struct pvx_stimer_spec *s)
{
	if (!ctx->armed) {
		memset(s, 0, sizeof(*s));
		return;
	}
	pvx_stimer_fd_catch_up(ctx);
	*s = ctx->spec;
	/* due but not run yet: 1 ns left, as timerfd says */
	s->value_ns = max_t(u64, pvx_stimer_left(&ctx->timer), 1);
}

/* Arm with @s (validated), the timer disarmed. Under wqh.lock. */
static void pvx_stimer_fd_arm_locked(struct pvx_stimer_ctx *ctx,
				     const struct pvx_stimer_spec *s)
{
	ctx->spec = *s;
	ctx->ticks = 0;
	ctx->lazy = false;
	ctx->armed = s->value_ns != 0;
	if (ctx->armed)
		pvx_stimer_start(&ctx->timer, s->value_ns, s->cap_ns,
				 pvx_stimer_fd_expired);
}

/* Disarm; on return the callback neither runs nor will run. */
static void pvx_stimer_fd_disarm(struct pvx_stimer_ctx *ctx)
{
	spin_lock_irq(&ctx->wqh.lock);
	ctx->armed = false;	/* a callback running now will not re-arm */
	ctx->lazy = false;
	spin_unlock_irq(&ctx->wqh.lock);
	pvx_stimer_cancel(&ctx->timer);
}

static long pvx_stimer_fd_settime(struct pvx_stimer_ctx *ctx,
				  struct pvx_stimer_settime __user *uarg)
{
	struct pvx_stimer_settime req;
	int ret;

	BUILD_BUG_ON(sizeof(req) != PVX_STIMER_SETTIME_SIZE);
	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved)
		return -EINVAL;
	ret = pvx_stimer_spec_check(&req.new_spec);
	if (ret)
		return ret;

	mutex_lock(&ctx->settime_lock);
	spin_lock_irq(&ctx->wqh.lock);
	pvx_stimer_fd_spec_locked(ctx, &req.old_spec);
	spin_unlock_irq(&ctx->wqh.lock);
	pvx_stimer_fd_disarm(ctx);
	spin_lock_irq(&ctx->wqh.lock);
	pvx_stimer_fd_arm_locked(ctx, &req.new_spec);
	spin_unlock_irq(&ctx->wqh.lock);
	mutex_unlock(&ctx->settime_lock);

	if (copy_to_user(&uarg->old_spec, &req.old_spec, sizeof(req.old_spec)))
		return -EFAULT;
	return 0;
}

static long pvx_stimer_fd_gettime(struct pvx_stimer_ctx *ctx,
				  struct pvx_stimer_state __user *uarg)
{
	struct pvx_stimer_state st;

	BUILD_BUG_ON(sizeof(st) != PVX_STIMER_STATE_SIZE);
	spin_lock_irq(&ctx->wqh.lock);
	st = ctx->last;
	pvx_stimer_fd_spec_locked(ctx, &st.spec);
	st.cpu = ctx->timer.cpu < 0 ? 0 : ctx->timer.cpu;
	spin_unlock_irq(&ctx->wqh.lock);
	return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
}

static long pvx_stimer_fd_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	struct pvx_stimer_ctx *ctx = file->private_data;

	switch (cmd) {
	case PVX_IOC_STIMER_SETTIME:
		return pvx_stimer_fd_settime(ctx, (void __user *)arg);
	case PVX_IOC_STIMER_GETTIME:
		return pvx_stimer_fd_gettime(ctx, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

/*
 * The expiration count as a u64, like a timerfd; a lazy periodic timer
 * adds its overruns and is re-armed here.
 */
static ssize_t pvx_stimer_fd_read(struct file *file, char __user *buf,
				  size_t count, loff_t *ppos)
{
	struct pvx_stimer_ctx *ctx = file->private_data;
	u64 ticks = 0;
	int ret;

	if (count < sizeof(ticks))
		return -EINVAL;
	spin_lock_irq(&ctx->wqh.lock);
	if (file->f_flags & O_NONBLOCK)
		ret = ctx->ticks ? 0 : -EAGAIN;
	else
		ret = wait_event_interruptible_locked_irq(ctx->wqh, ctx->ticks);
	if (!ret) {
		pvx_stimer_fd_catch_up(ctx);
		ticks = ctx->ticks;
		ctx->ticks = 0;
	}
	spin_unlock_irq(&ctx->wqh.lock);
	if (ret)
		return ret;
	return put_user(ticks, (u64 __user *)buf) ? -EFAULT : sizeof(ticks);
}

static __poll_t pvx_stimer_fd_poll(struct file *file, poll_table *wait)
{
	struct pvx_stimer_ctx *ctx = file->private_data;
	unsigned long flags;
	__poll_t mask;

	poll_wait(file, &ctx->wqh, wait);
	spin_lock_irqsave(&ctx->wqh.lock, flags);
	mask = ctx->ticks ? EPOLLIN | EPOLLRDNORM : 0;
	spin_unlock_irqrestore(&ctx->wqh.lock, flags);
	return mask;
}

static int pvx_stimer_fd_release(struct inode *inode, struct file *file)
{
	struct pvx_stimer_ctx *ctx = file->private_data;

	pvx_stimer_fd_disarm(ctx);
	pvx_stimer_user_uncharge(ctx->uid);
	atomic_dec(&pvx_stimer_fds);
	kfree(ctx);
	return 0;
}

/* .owner: every open timer fd holds a reference on this module */
static const struct file_operations pvx_stimer_fops = {
	.owner = THIS_MODULE,
	.release = pvx_stimer_fd_release,
	.read = pvx_stimer_fd_read,
	.poll = pvx_stimer_fd_poll,
	.unlocked_ioctl = pvx_stimer_fd_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static long pvx_stimer_ioc_create(struct file *file, unsigned int cmd,
				  unsigned long arg)
{
	struct pvx_stimer_create __user *ureq = (void __user *)arg;
	struct pvx_stimer_create req;
	struct pvx_stimer_ctx *ctx;
	struct file *f;
	int fd, ret;

	BUILD_BUG_ON(sizeof(req) != PVX_STIMER_CREATE_SIZE);
	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	if ((req.flags & ~PVX_STIMER_F_ALL) || req.reserved)
		return -EINVAL;
	ret = pvx_stimer_spec_check(&req.spec);
	if (ret)
		return ret;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;
	ret = pvx_stimer_user_charge(&ctx->uid);
	if (ret) {
		kfree(ctx);
		return ret;
	}
	pvx_stimer_init(&ctx->timer);
	init_waitqueue_head(&ctx->wqh);
	mutex_init(&ctx->settime_lock);

	fd = get_unused_fd_flags(req.flags & PVX_STIMER_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0) {
		ret = fd;
		goto err_uncharge;
	}
	f = anon_inode_getfile("[pvx_stimer]", &pvx_stimer_fops, ctx,
			       O_RDWR | (req.flags & PVX_STIMER_NONBLOCK ?
					 O_NONBLOCK : 0));
	if (IS_ERR(f)) {
		put_unused_fd(fd);
		ret = PTR_ERR(f);
		goto err_uncharge;
	}
	atomic_inc(&pvx_stimer_fds);	/* from here on, release frees ctx */
	if (put_user(fd, &ureq->fd)) {
		put_unused_fd(fd);
		fput(f);
		return -EFAULT;
	}
	spin_lock_irq(&ctx->wqh.lock);
	pvx_stimer_fd_arm_locked(ctx, &req.spec);
	spin_unlock_irq(&ctx->wqh.lock);
	fd_install(fd, f);
	return fd;

err_uncharge:
	pvx_stimer_user_uncharge(ctx->uid);
	kfree(ctx);
	return ret;
}

/* ---- PVX_IOC_STEAL_QUERY ---------------------------------------------- */

static long pvx_stimer_ioc_steal_query(struct file *file, unsigned int cmd,
				       unsigned long arg)
{
	struct pvx_steal_query __user *uq = (void __user *)arg;
	struct pvx_steal_query q;
	u64 steal;
	int cpu;

	BUILD_BUG_ON(sizeof(q) != PVX_STEAL_QUERY_SIZE);
	if (copy_from_user(&q, uq, sizeof(q)))
		return -EFAULT;
	if ((q.flags & ~PVX_STEAL_F_ALL) || q.since.reserved)
		return -EINVAL;

	cpu = get_cpu();
	q.now.steal_ns = pvx_steal_ns(cpu);
	q.now.mono_ns = ktime_get_ns();
	put_cpu();
	q.now.cpu = cpu;
	q.now.reserved = 0;
	q.source = pvx_steal_src;
	q.wall_ns = 0;
	q.steal_ns = 0;
	q.effective_ns = 0;

	if (q.flags & PVX_STEAL_SINCE) {
		if (q.since.cpu >= nr_cpu_ids || !cpu_possible(q.since.cpu) ||
		    q.since.mono_ns > q.now.mono_ns)
			return -EINVAL;
		steal = q.since.cpu == cpu ? q.now.steal_ns :
			pvx_steal_ns(q.since.cpu);
		if (q.since.steal_ns > steal)
			return -EINVAL;
		q.wall_ns = q.now.mono_ns - q.since.mono_ns;
		q.steal_ns = steal - q.since.steal_ns;
		q.effective_ns = q.wall_ns > q.steal_ns ?
				 q.wall_ns - q.steal_ns : 0;
	}
	return copy_to_user(uq, &q, sizeof(q)) ? -EFAULT : 0;
}

/* ---- /sys/kernel/pvx/stimer ------------------------------------------- */

struct pvx_stimer_stat_attr {
	struct kobj_attribute kattr;
	enum pvx_stimer_stat stat;
};

static ssize_t stat_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	struct pvx_stimer_stat_attr *sa =
		container_of(attr, struct pvx_stimer_stat_attr, kattr);
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(pvx_stimer_stats, cpu).n[sa->stat];
	return sysfs_emit(buf, "%llu\n", sum);
}

#define PVX_STIMER_STAT_ATTR(_name, _stat)				\
	static struct pvx_stimer_stat_attr stat_##_name##_attr = {	\
		.kattr = __ATTR(_name, 0444, stat_show, NULL),		\
		.stat = (_stat),					\
	}

PVX_STIMER_STAT_ATTR(started, PVX_STIMER_STARTED);
PVX_STIMER_STAT_ATTR(fired_effective, PVX_STIMER_FIRED_EFFECTIVE);
PVX_STIMER_STAT_ATTR(fired_cap, PVX_STIMER_FIRED_CAP);
PVX_STIMER_STAT_ATTR(cancelled, PVX_STIMER_CANCELLED);
PVX_STIMER_STAT_ATTR(rearms, PVX_STIMER_REARMS);
PVX_STIMER_STAT_ATTR(rejected, PVX_STIMER_REJECTED);
PVX_STIMER_STAT_ATTR(stale, PVX_STIMER_STALE);

static ssize_t steal_source_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", pvx_steal_src_names[pvx_steal_src]);
}

static ssize_t timer_fds_show(struct kobject *kobj,
			      struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&pvx_stimer_fds));
}

static ssize_t cap_factor_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(cap_factor));
}

static ssize_t cap_factor_store(struct kobject *kobj,
				struct kobj_attribute *attr,
				const char *buf, size_t count)
{
	unsigned int v;
	int ret = pvx_cap_factor_parse(buf, &v);

	if (ret)
		return ret;
	WRITE_ONCE(cap_factor, v);
	return count;
}

static struct kobj_attribute steal_source_attr = __ATTR_RO(steal_source);
static struct kobj_attribute timer_fds_attr = __ATTR_RO(timer_fds);
static struct kobj_attribute cap_factor_attr = __ATTR_RW(cap_factor);

static struct attribute *pvx_stimer_attrs[] = {
	&steal_source_attr.attr,
	&cap_factor_attr.attr,
	&timer_fds_attr.attr,
	&stat_started_attr.kattr.attr,
	&stat_fired_effective_attr.kattr.attr,
	&stat_fired_cap_attr.kattr.attr,
	&stat_cancelled_attr.kattr.attr,
	&stat_rearms_attr.kattr.attr,
	&stat_rejected_attr.kattr.attr,
	&stat_stale_attr.kattr.attr,
	NULL
};

static const struct attribute_group pvx_stimer_group = {
	.name = "stimer",
	.attrs = pvx_stimer_attrs,
};

/* ---- load and unload -------------------------------------------------- */

static void pvx_stimer_teardown(void)
{
	if (pvx_steal_cpuhp >= 0)
		cpuhp_remove_state(pvx_steal_cpuhp);
	pvx_steal_cpuhp = -1;
}

static int __init pvx_stimer_mod_init(void)
{
	const char *why = "";
	int ret;

	ret = pvx_steal_source_init(&why);
	if (ret)
		return ret;
	ret = pvx_sysfs_add_group(&pvx_stimer_group);
	if (ret) {
		pr_err("cannot create /sys/kernel/pvx/stimer: %d\n", ret);
		goto err_cpuhp;
	}
	/*
	 * Last, after every step that can fail: from here on userspace can
	 * call in. If the second fails, unregistering the first waits for
	 * calls running in it (pvx_unregister_ioctl()).
	 */
	ret = pvx_register_ioctl(PVX_IOC_STEAL_QUERY, pvx_stimer_ioc_steal_query);
	if (ret) {
		pr_err("cannot register PVX_IOC_STEAL_QUERY: %d\n", ret);
		goto err_sysfs;
	}
	ret = pvx_register_ioctl(PVX_IOC_STIMER_CREATE, pvx_stimer_ioc_create);
	if (ret) {
		pr_err("cannot register PVX_IOC_STIMER_CREATE: %d\n", ret);
		goto err_query;
	}
	pr_info("steal source %s (%s)%s; cap_factor %u\n",
		pvx_steal_src_names[pvx_steal_src], why,
		pvx_steal_src == PVX_STEAL_SRC_NONE ?
		": timers run on wall time" : "", cap_factor);
	return 0;

err_query:
	pvx_unregister_ioctl(PVX_IOC_STEAL_QUERY);
err_sysfs:
	pvx_sysfs_remove_group(&pvx_stimer_group);
err_cpuhp:
	pvx_stimer_teardown();
	return ret;
}

/*
 * Timer fds hold a reference on this module and kernel users link to it:
 * by the time this runs no timer is armed.
 */
static void __exit pvx_stimer_mod_exit(void)
{
	pvx_unregister_ioctl(PVX_IOC_STIMER_CREATE);
	pvx_unregister_ioctl(PVX_IOC_STEAL_QUERY);
	pvx_sysfs_remove_group(&pvx_stimer_group);
	pvx_stimer_teardown();
}

module_init(pvx_stimer_mod_init);
module_exit(pvx_stimer_mod_exit);

MODULE_DESCRIPTION("pvx steal-time-corrected timers: kernel API, timer fds, steal query");
MODULE_LICENSE("GPL");
