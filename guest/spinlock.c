// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_spinlock: a spinlock for KVM guests that a running waiter may take
 * while a waiter whose vCPU the host preempted is off its CPU, with a
 * bound on how often a waiter is passed, and whose waiters hand their
 * time to the lock holder's vCPU when the host preempted it (lock holder
 * preemption, the "lock convoy"); and /dev/pvx's PVX_IOC_YIELD_TO, the
 * same directed yield for userspace spinlocks.
 *
 * The directed yield is chosen at load: PVX_HC_YIELD when the host
 * announces PVX_F_YIELD ("pvx-yield"), else the stock KVM_HC_SCHED_YIELD
 * when the host offers KVM_FEATURE_PV_SCHED_YIELD ("sched-yield"), else
 * none: waiters only spin ("spin"). In "pvx-yield" a waiter uses the stock
 * call while the host stops serving PVX_HC_YIELD (after a migration, or
 * by its policy) and PVX_HC_YIELD again once PROBE finds it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bottom_half.h>
#include <linux/cache.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/irqflags.h>
#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/kvm_para.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/pid.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>
#include <linux/threads.h>
#include <linux/uaccess.h>
#include <asm/cmpxchg.h>
#include <asm/processor.h>
#include <asm/smp.h>

#include "compat.h"
#include "pvx_guest.h"
#include "pvx_spinlock.h"
#include "spinlock_calc.h"

#define CREATE_TRACE_POINTS
#include "spinlock_trace.h"

/*
 * The lock word (spinlock_calc.h) is one 64-bit atomic: the held bit,
 * the count of waiters that may be halted, gen (acquisitions so far) and
 * the priority queue's head and tail. A locker takes the lock with one
 * compare-and-exchange whenever it is free: not held and not reserved
 * for a priority ticket, so any running waiter may take it and nobody
 * waits for a waiter whose vCPU the host preempted (with a FIFO ticket
 * lock, the convoy under overcommit comes as much from the next waiter's
 * vCPU being off its CPU as from a preempted holder). A waiter that has
 * been passed by PVX_SPIN_PASS_LIMIT acquisitions draws a priority ticket;
 * while tickets are out, only the waiter of the one served may take the
 * lock, which bounds how often a running waiter is passed.
 *
 * The unlock is one atomic subtraction that releases the lock and returns
 * the halted count: the unlocker never reads the lock after it (the next
 * holder may free it at once; the kernel's pv ticket locks fixed the same
 * bug in 2015, "x86/spinlocks/paravirt: Fix memory corruption on unlock").
 */

/*
 * Backoff: cpu_relax() between two reads of the lock word. One without a
 * priority ticket, as the qspinlock's head reads its word after every
 * relax: a waiter that reads the word only every few relaxes comes late
 * to a free lock (in the lab, where a pause leaves the emulator's loop,
 * reading every 4 relaxes gave a p50 1.5-2x the native lock's, every
 * relax the same p50; bench.rst).
 */
#define PVX_SPIN_BACKOFF_UNIT	1u
#define PVX_SPIN_BACKOFF_MAX	64u
/* Spins between two yields when the holder stays preempted. */
#define PVX_SPIN_YIELD_GAP	256u
/*
 * Spins of a slow path before it publishes itself (and so may be yielded
 * to, draw a ticket, yield or halt): most waits are for the rest of one
 * holder's critical section (pvx_lock_bench count_passes=1: 99 % of the
 * waiters were passed at most once in the 2-CPU lab), and a waiter that
 * takes the lock within them has nothing to undo, so the handoff costs
 * what a compare-and-exchange costs (bench.rst). Below
 * PVX_SPIN_THRESHOLD_MIN and PVX_SPIN_YIELD_GAP, so no yield comes later
 * for it.
 */
#define PVX_SPIN_SHORT		32u

#define PVX_SPIN_THRESHOLD_DEFAULT	16384u
#define PVX_SPIN_THRESHOLD_MIN		64u
#define PVX_SPIN_THRESHOLD_MAX		BIT(24)

enum pvx_spin_mode {
	PVX_SPIN_MODE_SPIN,
	PVX_SPIN_MODE_SCHED_YIELD,
	PVX_SPIN_MODE_PVX_YIELD,
};

static const char *const pvx_spin_mode_names[] = {
	[PVX_SPIN_MODE_SPIN] = "spin",
	[PVX_SPIN_MODE_SCHED_YIELD] = "sched-yield",
	[PVX_SPIN_MODE_PVX_YIELD] = "pvx-yield",
};

/* Set once in module init, before any lock or ioctl can run. */
static enum pvx_spin_mode pvx_spin_mode __ro_after_init;

static unsigned int spin_threshold = PVX_SPIN_THRESHOLD_DEFAULT;

/*
 * Halt-and-kick (on when the host offers KVM_FEATURE_PV_UNHALT, the mode
 * yields and the halt parameter allows): fixed at load, because a waiter
 * halted while unlockers stopped kicking would sleep until an interrupt.
 */
static bool halt_waiters = true;
module_param_named(halt, halt_waiters, bool, 0444);
MODULE_PARM_DESC(halt,
		 "let a waiter that a directed yield did not help halt until kicked (needs KVM_FEATURE_PV_UNHALT; load time only; default 1)");

static DEFINE_STATIC_KEY_FALSE(pvx_spin_halting);

/*
 * Lock stealing (above): on by default; 0 makes every waiter draw a
 * priority ticket at once, a strictly FIFO lock, for comparison. Writable
 * at run time: only waiters read it.
 */
static bool steal_free = true;
module_param_named(skip, steal_free, bool, 0644);
MODULE_PARM_DESC(skip,
		 "let a running waiter take a free lock out of turn, until it has passed a waiter PVX_SPIN_PASS_LIMIT times (default 1; 0: FIFO)");

static __always_inline bool pvx_spin_may_halt(void)
{
	return static_branch_unlikely(&pvx_spin_halting);
}

static int pvx_spin_threshold_parse(const char *val, unsigned int *out)
{
	unsigned int v;
	int ret = kstrtouint(val, 0, &v);

	if (ret)
		return ret;
	if (v < PVX_SPIN_THRESHOLD_MIN || v > PVX_SPIN_THRESHOLD_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

static int spin_threshold_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret = pvx_spin_threshold_parse(val, &v);

	if (!ret)
		WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return ret;
}

static const struct kernel_param_ops spin_threshold_ops = {
	.set = spin_threshold_set,
	.get = param_get_uint,
};

module_param_cb(spin_threshold, &spin_threshold_ops, &spin_threshold, 0644);
MODULE_PARM_DESC(spin_threshold,
		 "cpu_relax() spins after which a waiter yields to the holder even if its vCPU runs (64..16777216, default 16384)");

enum pvx_spin_stat {
	PVX_SPIN_ACQUISITIONS,
	PVX_SPIN_SLOW_PATHS,
	PVX_SPIN_YIELDS_ISSUED,
	PVX_SPIN_YIELDS_GRANTED,
	PVX_SPIN_HALTS,
	PVX_SPIN_KICKS,
	PVX_SPIN_KICK_MISSES,
	PVX_SPIN_STEALS,
	PVX_SPIN_PRIORITY_WAITS,
	PVX_SPIN_PRIORITY_GRANTS,
	PVX_SPIN_STAT_NR
};

struct pvx_spin_stats {
	u64 n[PVX_SPIN_STAT_NR];
};

static DEFINE_PER_CPU(struct pvx_spin_stats, pvx_spin_stats);
/* the fast path's count, apart: it runs in the callers (pvx_spinlock.h) */
DEFINE_PER_CPU(u64, pvx_spin_fast_acquired);
EXPORT_PER_CPU_SYMBOL_GPL(pvx_spin_fast_acquired);

static __always_inline void pvx_spin_count(enum pvx_spin_stat s)
{
	this_cpu_inc(pvx_spin_stats.n[s]);
}

/*
 * Directed yield to @cpu's vCPU. Returns PVX_YIELD_* or -PVX_E* (in
 * "sched-yield" mode: the stock call's 0, which says nothing about the
 * outcome, or its -KVM_E*). Any context; the caller has preemption off.
 */
/* KVM offers KVM_HC_SCHED_YIELD (CPUID, fixed for the guest's life). */
static bool pvx_spin_sched_yield __ro_after_init;

static long pvx_spin_yield_to_cpu(int cpu)
{
	long ret;

	switch (pvx_spin_mode) {
	case PVX_SPIN_MODE_PVX_YIELD:
		/* by APIC ID: the host's vCPU index need not be @cpu */
		if (pvx_host_has(PVX_F_YIELD)) {
			ret = pvx_hypercall(PVX_HC_YIELD,
					    per_cpu(x86_cpu_to_apicid, cpu),
					    PVX_YIELD_F_APIC_ID, 0, 0);
			break;
		}
		/*
		 * The host stopped serving it (a migration, its policy): the
		 * stock call where KVM offers it, until PROBE finds it again.
		 */
		if (!pvx_spin_sched_yield)
			return -PVX_EOPNOTSUPP;
		fallthrough;
	case PVX_SPIN_MODE_SCHED_YIELD:
		ret = kvm_hypercall1(KVM_HC_SCHED_YIELD,
				     per_cpu(x86_cpu_to_apicid, cpu));
		break;
	default:
		return -PVX_EOPNOTSUPP;
	}
	pvx_spin_count(PVX_SPIN_YIELDS_ISSUED);
	if (pvx_spin_mode == PVX_SPIN_MODE_PVX_YIELD && ret == PVX_YIELD_DONE)
		pvx_spin_count(PVX_SPIN_YIELDS_GRANTED);
	return ret;
}

/*
 * Waiters in the slow path publish which lock they wait for, since when
 * (gen) and their priority ticket, so that a waiter can find the vCPU of
 * the priority ticket served, to direct a yield at it, and an unlocker
 * the halted waiter to kick. One slot per context that can be nested on
 * a CPU: task, softirq, hardirq, NMI; a deeper waiter is not published:
 * it never halts and nobody yields to it.
 */
#define PVX_SPIN_NEST_MAX	4

struct pvx_spin_waiter {
	const struct pvx_spinlock *lock;	/* NULL: slot unused */
	u16 since;			/* gen when it began to wait */
	u16 ticket;			/* its priority ticket, when prio */
	bool prio;			/* holds a priority ticket */
	bool halted;			/* halted until kicked */
};

struct pvx_spin_waiters {
	unsigned int depth;
	struct pvx_spin_waiter slot[PVX_SPIN_NEST_MAX];
};

static DEFINE_PER_CPU_ALIGNED(struct pvx_spin_waiters, pvx_spin_waiters);

/* Returns the published slot, or NULL when nested too deep. */
static struct pvx_spin_waiter *pvx_spin_publish(const struct pvx_spinlock *lock,
						u16 since)
{
	/* one instruction: an interrupt from here on nests one slot further */
	unsigned int depth = this_cpu_inc_return(pvx_spin_waiters.depth) - 1;
	struct pvx_spin_waiter *w;

	if (depth >= PVX_SPIN_NEST_MAX)
		return NULL;
	w = this_cpu_ptr(&pvx_spin_waiters.slot[depth]);
	WRITE_ONCE(w->since, since);
	WRITE_ONCE(w->prio, false);
	WRITE_ONCE(w->halted, false);
	/* a reader that sees the lock sees the rest that goes with it */
	smp_store_release(&w->lock, lock);
	return w;
}

static void pvx_spin_unpublish(struct pvx_spin_waiter *w)
{
	if (w)
		WRITE_ONCE(w->lock, NULL);
	barrier();
	this_cpu_dec(pvx_spin_waiters.depth);
}

/*
 * The published waiter of @lock holding priority ticket @ticket: its CPU,
 * or -1; *@halted whether it halted. A hint: a slot may change while it
 * is read, and a wrong answer costs one needless yield.
 */
static int pvx_spin_ticket_cpu(const struct pvx_spinlock *lock, u16 ticket,
			       bool *halted)
{
	int cpu, i;

	for_each_online_cpu(cpu) {
		struct pvx_spin_waiters *ws = per_cpu_ptr(&pvx_spin_waiters,
							  cpu);

		for (i = 0; i < PVX_SPIN_NEST_MAX; i++) {
			struct pvx_spin_waiter *w = &ws->slot[i];

			if (READ_ONCE(w->lock) != lock || !READ_ONCE(w->prio))
				continue;
			/* the ticket before the mark; pairs with pvx_spin_queue() */
			smp_rmb();
			if (READ_ONCE(w->ticket) != ticket)
				continue;
			*halted = READ_ONCE(w->halted);
			return cpu;
		}
	}
	return -1;
}

/* Wake the halted vCPU of @cpu (KVM_HC_KICK_CPU by its APIC ID). */
static void pvx_spin_kick_cpu(int cpu)
{
	kvm_hypercall2(KVM_HC_KICK_CPU, 0, per_cpu(x86_cpu_to_apicid, cpu));
}

/*
 * An unlock whose release returned @old (with waiters counted halted):
 * kick the halted waiter whose priority ticket is now served, else the
 * one halted longest (spinlock_calc.h). The kicker clears the waiter's
 * halted mark (one exchange: one kick per halt), so that the unlocks that
 * come before the kicked vCPU runs kick nobody, or the next halted
 * waiter, instead of the same one again. @lock is only compared with the
 * published slots, never dereferenced: its next holder may have freed it
 * already. No halted waiter found (one that counted itself found the lock
 * free and did not halt, was kicked already, or woke and has not
 * uncounted itself yet) is a miss: no hypercall, counted. Both are traced
 * (pvx:spin_kick) with @lock's value, which the event only stores:
 * nothing reads through it.
 */
noinline void pvx_spin_kick(const struct pvx_spinlock *lock, u64 old)
{
	struct pvx_spin_waiter *best_w = NULL;
	bool have = false, best_head = false;
	u16 best_since = 0;
	int cpu, i, best = -1;

	for_each_online_cpu(cpu) {
		struct pvx_spin_waiters *ws = per_cpu_ptr(&pvx_spin_waiters,
							  cpu);

		for (i = 0; i < PVX_SPIN_NEST_MAX; i++) {
			struct pvx_spin_waiter *w = &ws->slot[i];
			u16 since;
			bool head;

			if (READ_ONCE(w->lock) != lock || !READ_ONCE(w->halted))
				continue;
			since = READ_ONCE(w->since);
			head = READ_ONCE(w->prio);
			/* pairs with pvx_spin_queue() */
			smp_rmb();
			head = pvx_spin_served(old, head, READ_ONCE(w->ticket));
			if (!pvx_spin_kick_better(head, since, have, best_head,
						  best_since))
				continue;
			have = true;
			best = cpu;
			best_w = w;
			best_head = head;
			best_since = since;
		}
	}
	if (!best_w || !xchg(&best_w->halted, false)) {
		pvx_spin_count(PVX_SPIN_KICK_MISSES);
		trace_spin_kick(lock, -1, pvx_spin_gen(old), true);
		return;
	}
	pvx_spin_kick_cpu(best);
	pvx_spin_count(PVX_SPIN_KICKS);
	trace_spin_kick(lock, best, best_since, false);
}
EXPORT_SYMBOL_GPL(pvx_spin_kick);

/* Passes allowed before a waiter draws a priority ticket (0: FIFO). */
static unsigned int pvx_spin_pass_limit(void)
{
	return READ_ONCE(steal_free) ? PVX_SPIN_PASS_LIMIT : 0;
}

/*
 * Draw a priority ticket (into *@ticket) and publish it in @w. Returns the
 * lock word as the draw found it: its tickets were ahead of ours.
 */
static u64 pvx_spin_queue(struct pvx_spinlock *lock, struct pvx_spin_waiter *w,
			  u16 *ticket, u16 passes)
{
	u64 old = atomic64_fetch_add(PVX_SPIN_PTAIL_ONE, &lock->val);

	*ticket = pvx_spin_ptail(old);
	pvx_spin_count(PVX_SPIN_PRIORITY_WAITS);
	trace_spin_priority(lock, smp_processor_id(), passes, *ticket,
			    (u16)(*ticket - pvx_spin_phead(old)));
	if (w) {
		WRITE_ONCE(w->ticket, *ticket);
		/* the ticket before the mark; pairs with the readers' smp_rmb() */
		smp_wmb();
		WRITE_ONCE(w->prio, true);
	}
	return old;
}

/*
 * Halt this vCPU until an unlock kicks it (KVM_HC_KICK_CPU), or an
 * interrupt comes: the host then runs the vCPUs that hold or are served
 * the lock, which a directed yield only suggests. @w must be published:
 * the unlocker finds the CPU to kick there. Counting itself halted is a
 * full barrier that returns the word: either the lock is still not ours
 * then, and the unlock that makes it so sees the count and kicks (the
 * waiter served, else the one halted longest: every unlock with halted
 * waiters wakes one), or the word says it is ours and we do not halt.
 */
static void pvx_spin_halt(struct pvx_spinlock *lock, struct pvx_spin_waiter *w,
			  u16 since, unsigned int limit, bool prio, u16 ticket)
{
	unsigned long flags;
	u64 v;

	WRITE_ONCE(w->halted, true);
	/* the slot before the count: a kicker that sees the count finds it */
	smp_mb__before_atomic();
	v = atomic64_add_return(PVX_SPIN_HALT_ONE, &lock->val);
	local_irq_save(flags);
	if (pvx_spin_step(v, since, limit, prio, ticket) == PVX_SPIN_STEP_WAIT) {
		pvx_spin_count(PVX_SPIN_HALTS);
		/* interrupts stay off: a kick meanwhile ends the halt at once */
		trace_spin_halt(lock, smp_processor_id(), READ_ONCE(w->since));
		/* sti;hlt: an interrupt arriving after the check still wakes */
		if (irqs_disabled_flags(flags))
			halt();
		else
			safe_halt();
	}
	local_irq_restore(flags);
	WRITE_ONCE(w->halted, false);
	atomic64_sub(PVX_SPIN_HALT_ONE, &lock->val);
}

/*
 * The vCPU a waiter that read @v and must wait directs a yield at: the
 * holder's, or, while the lock is free but reserved, that of the waiter
 * whose priority ticket is served. *@served says which; *@off_cpu whether
 * it is off its CPU (preempted by the host, or halted). -1: none.
 */
static int pvx_spin_yield_target(const struct pvx_spinlock *lock, u64 v,
				 bool prio, u16 ticket, bool *served,
				 bool *off_cpu)
{
	bool halted = false;
	int cpu;

	switch (pvx_spin_target(v, prio, ticket)) {
	case PVX_SPIN_TARGET_HOLDER:
		*served = false;
		cpu = READ_ONCE(lock->holder_cpu);
		break;
	case PVX_SPIN_TARGET_PHEAD:
		*served = true;
		cpu = pvx_spin_ticket_cpu(lock, pvx_spin_phead(v), &halted);
		break;
	default:
		return -1;
	}
	if (cpu < 0 || cpu >= nr_cpu_ids || cpu == smp_processor_id())
		return -1;
	*off_cpu = halted || vcpu_is_preempted(cpu);
	return cpu;
}

/* Where pvx_spin_wait() is. */
struct pvx_spin_waiting {
	struct pvx_spin_waiter *w;	/* our slot, NULL when unpublished */
	unsigned int limit;		/* pvx_spin_pass_limit() */
	unsigned int spins;		/* cpu_relax() so far */
	unsigned int since_yield;	/* cpu_relax() since the last yield */
	unsigned int yields;
	u16 since;			/* gen since when we count passes */
	u16 ticket;			/* our priority ticket, when prio */
	bool prio;
};

/*
 * A waiter that read @v and found the lock not its own: a directed yield
 * at the vCPU it waits for when that is off its CPU (checked every
 * PVX_SPIN_YIELD_GAP spins) or when the wait passed spin_threshold; the
 * second time the vCPU it waits for is found off its CPU, halt instead
 * (not in NMI context: an NMI that halted could wait for an interrupt
 * that the CPU it interrupted keeps masked).
 */
static void pvx_spin_give_way(struct pvx_spinlock *lock, u64 v,
			      struct pvx_spin_waiting *s, unsigned int threshold)
{
	bool off_cpu = false, served = false;
	int target;
	long ret;

	if (s->since_yield < min(PVX_SPIN_YIELD_GAP, threshold))
		return;
	target = pvx_spin_yield_target(lock, v, s->prio, s->ticket, &served,
				       &off_cpu);
	if (target < 0)
		return;
	off_cpu = off_cpu && s->since_yield >= PVX_SPIN_YIELD_GAP;
	if (!off_cpu && s->since_yield < threshold)
		return;
	s->since_yield = 0;
	if (off_cpu && s->yields && s->w && pvx_spin_may_halt() && !in_nmi()) {
		pvx_spin_halt(lock, s->w, s->since, s->limit, s->prio,
			      s->ticket);
		return;
	}
	ret = pvx_spin_yield_to_cpu(target);
	trace_spin_yield(lock, target, smp_processor_id(), s->spins, off_cpu,
			 served, ret);
	s->yields++;
}

/* A spinning waiter wants the lock: one plain store, when no other made it. */
static __always_inline void pvx_spin_want(struct pvx_spinlock *lock)
{
	if (!READ_ONCE(lock->wanted))
		WRITE_ONCE(lock->wanted, true);
}

/*
 * The slow path after PVX_SPIN_SHORT spins, or at once when it must draw
 * a priority ticket: published (the waiter that began to wait at gen
 * @since and has spun @spins times), it waits until the lock word lets it
 * take the lock, and takes it. Returns the acquisitions that passed it
 * since it could act on it (since it began to wait; with a priority
 * ticket, since it drew it).
 */
static noinline u16 pvx_spin_wait_long(struct pvx_spinlock *lock, u16 since,
				       unsigned int limit, unsigned int spins)
{
	bool can_yield = pvx_spin_mode != PVX_SPIN_MODE_SPIN;
	unsigned int threshold = READ_ONCE(spin_threshold);
	struct pvx_spin_waiting s = {
		.limit = limit, .since = since, .spins = spins,
		.since_yield = spins,
	};
	s64 v;

	s.w = pvx_spin_publish(lock, s.since);
	v = atomic64_read_acquire(&lock->val);
	for (;;) {
		unsigned int delay, i;
		u64 old;

		switch (pvx_spin_step(v, s.since, s.limit, s.prio, s.ticket)) {
		case PVX_SPIN_STEP_TAKE:
			/* a failed exchange reads the word again into v */
			if (atomic64_try_cmpxchg_acquire(&lock->val, &v,
							 pvx_spin_taken(v, s.prio)))
				goto held;
			continue;
		case PVX_SPIN_STEP_PRIORITY:
			old = pvx_spin_queue(lock, s.w, &s.ticket,
					     pvx_spin_passes(v, s.since));
			s.prio = true;
			/* from here on, passes count from the draw */
			s.since = pvx_spin_gen(old);
			v = old + PVX_SPIN_PTAIL_ONE;
			continue;
		case PVX_SPIN_STEP_WAIT:
			break;
		}
		/* with a ticket: in proportion to the tickets ahead */
		delay = PVX_SPIN_BACKOFF_UNIT;
		if (s.prio)
			delay = min_t(unsigned int, PVX_SPIN_BACKOFF_MAX, delay *
				      ((u16)(s.ticket - pvx_spin_phead(v)) + 1));
		pvx_spin_want(lock);
		for (i = 0; i < delay; i++)
			cpu_relax();
		s.spins += delay;
		s.since_yield += delay;
		if (can_yield)
			pvx_spin_give_way(lock, v, &s, threshold);
		v = atomic64_read_acquire(&lock->val);
	}
held:
	/* the others still spinning set it again */
	WRITE_ONCE(lock->wanted, false);
	pvx_spin_unpublish(s.w);
	pvx_spin_count(s.prio ? PVX_SPIN_PRIORITY_GRANTS : PVX_SPIN_STEALS);
	return pvx_spin_passes(v, s.since);
}

/*
 * Slow path: wait until the lock word lets us take it, and take it; the
 * first PVX_SPIN_SHORT spins unpublished (above), then
 * pvx_spin_wait_long(). Returns what pvx_spin_wait_long() returns. Runs
 * with preemption (and maybe interrupts) disabled.
 */
static noinline u16 pvx_spin_wait(struct pvx_spinlock *lock)
{
	unsigned int limit = pvx_spin_pass_limit(), spins = 1;
	enum pvx_spin_step step;
	u16 since;
	s64 v;

	pvx_spin_count(PVX_SPIN_SLOW_PATHS);
	since = pvx_spin_gen(atomic64_read(&lock->val));
	/* a waiter spinning already comes first: one backoff before our read */
	cpu_relax();
	v = atomic64_read_acquire(&lock->val);
	while (spins <= PVX_SPIN_SHORT) {
		step = pvx_spin_step(v, since, limit, false, 0);
		if (step == PVX_SPIN_STEP_PRIORITY)
			break;
		if (step == PVX_SPIN_STEP_TAKE) {
			/* a failed exchange reads the word again into v */
			if (!atomic64_try_cmpxchg_acquire(&lock->val, &v,
							  pvx_spin_taken(v, false)))
				continue;
			WRITE_ONCE(lock->wanted, false);
			pvx_spin_count(PVX_SPIN_STEALS);
			return pvx_spin_passes(v, since);
		}
		pvx_spin_want(lock);
		cpu_relax();
		spins++;
		v = atomic64_read_acquire(&lock->val);
	}
	return pvx_spin_wait_long(lock, since, limit, spins);
}

/* The holder, as pvx_spin_set_holder(), counted in the module's counter. */
static __always_inline void pvx_spin_held(struct pvx_spinlock *lock,
					  u16 queued)
{
	pvx_spin_set_holder(lock, queued);
	pvx_spin_count(PVX_SPIN_ACQUISITIONS);
}

/*
 * The inline fast paths' way out (pvx_spinlock.h): the lock was held,
 * reserved or wanted. Preemption (and maybe interrupts) off.
 */
void pvx_spin_lock_slow(struct pvx_spinlock *lock)
{
	pvx_spin_held(lock, pvx_spin_wait(lock));
}
EXPORT_SYMBOL_GPL(pvx_spin_lock_slow);

void pvx_spin_lock_init(struct pvx_spinlock *lock)
{
	*lock = (struct pvx_spinlock)__PVX_SPIN_LOCK_UNLOCKED;
}
EXPORT_SYMBOL_GPL(pvx_spin_lock_init);

bool pvx_spin_trylock(struct pvx_spinlock *lock)
{
	preempt_disable();
	if (pvx_spin_take_free(lock)) {
		pvx_spin_held(lock, 0);
		return true;
	}
	preempt_enable();
	return false;
}
EXPORT_SYMBOL_GPL(pvx_spin_trylock);

/* ---- PVX_IOC_YIELD_TO ------------------------------------------------- */

/* A host answer to the ioctl's caller: PVX_YIELD_* or -errno. */
static long pvx_spin_yield_errno(long ret)
{
	if (ret >= 0)
		return pvx_spin_mode == PVX_SPIN_MODE_PVX_YIELD ?
		       ret : PVX_YIELD_NOT_DONE;
	switch (-ret) {
	case PVX_EOPNOTSUPP:
	case PVX_ENOSYS:
		return -EOPNOTSUPP;
	case PVX_EAGAIN:
		return -EAGAIN;
	default:
		pr_warn_ratelimited("host answered the directed yield with %ld\n",
				    ret);
		return -EIO;
	}
}

/*
 * A directed yield boosts the target's vCPU: allowed towards the caller's
 * own threads and those of its user (the rule of setpriority()), else
 * only with CAP_SYS_NICE. Under rcu_read_lock().
 */
static bool pvx_spin_may_yield_to(struct task_struct *t)
{
	const struct cred *cred = current_cred(), *tcred = __task_cred(t);

	if (same_thread_group(t, current) || uid_eq(tcred->uid, cred->euid) ||
	    uid_eq(tcred->euid, cred->euid))
		return true;
	return ns_capable(tcred->user_ns, CAP_SYS_NICE);
}

/*
 * The thread @tid of the caller's pid namespace: -ESRCH when there is none,
 * -EPERM when it belongs to another user and the caller lacks
 * CAP_SYS_NICE, -EAGAIN when it is not on a CPU now (task_curr() is not
 * exported, so ->on_cpu says it: set from just before the switch to the
 * thread until just after the switch away), PVX_YIELD_TARGET_RUNNING
 * without a hypercall when it is the caller itself or its vCPU runs, else
 * the directed yield's result.
 */
static long pvx_spin_ioc_yield_to(struct file *file, unsigned int cmd,
				  unsigned long arg)
{
	struct pvx_yield_to req;
	struct task_struct *t;
	long ret;
	int cpu;

	BUILD_BUG_ON(sizeof(req) != PVX_YIELD_TO_SIZE);
	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	if (req.flags)
		return -EINVAL;
	if (pvx_spin_mode == PVX_SPIN_MODE_SPIN)
		return -EOPNOTSUPP;
	if (!req.tid || req.tid > PID_MAX_LIMIT)
		return -ESRCH;

	rcu_read_lock();
	t = pid_task(find_vpid(req.tid), PIDTYPE_PID);
	if (!t) {
		ret = -ESRCH;
	} else if (!pvx_spin_may_yield_to(t)) {
		ret = -EPERM;
	} else if (t == current) {
		ret = PVX_YIELD_TARGET_RUNNING;
	} else {
		preempt_disable();
		cpu = task_cpu(t);
		if (!READ_ONCE(t->on_cpu) || cpu == smp_processor_id()) {
			ret = -EAGAIN;
		} else if (!vcpu_is_preempted(cpu)) {
			ret = PVX_YIELD_TARGET_RUNNING;
		} else {
			ret = pvx_spin_yield_to_cpu(cpu);
			trace_spin_yield(NULL, cpu, smp_processor_id(), 0,
					 true, false, ret);
			ret = pvx_spin_yield_errno(ret);
		}
		preempt_enable();
	}
	rcu_read_unlock();
	return ret;
}

/* ---- /sys/kernel/pvx/spinlock ----------------------------------------- */

struct pvx_spin_stat_attr {
	struct kobj_attribute kattr;
	enum pvx_spin_stat stat;
};

static ssize_t stat_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	struct pvx_spin_stat_attr *sa =
		container_of(attr, struct pvx_spin_stat_attr, kattr);
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		sum += per_cpu(pvx_spin_stats, cpu).n[sa->stat];
		if (sa->stat == PVX_SPIN_ACQUISITIONS)
			sum += per_cpu(pvx_spin_fast_acquired, cpu);
	}
	return sysfs_emit(buf, "%llu\n", sum);
}

#define PVX_SPIN_STAT_ATTR(_name, _stat)				\
	static struct pvx_spin_stat_attr stat_##_name##_attr = {	\
		.kattr = __ATTR(_name, 0444, stat_show, NULL),		\
		.stat = (_stat),					\
	}

PVX_SPIN_STAT_ATTR(acquisitions, PVX_SPIN_ACQUISITIONS);
PVX_SPIN_STAT_ATTR(slow_paths, PVX_SPIN_SLOW_PATHS);
PVX_SPIN_STAT_ATTR(yields_issued, PVX_SPIN_YIELDS_ISSUED);
PVX_SPIN_STAT_ATTR(yields_granted, PVX_SPIN_YIELDS_GRANTED);
PVX_SPIN_STAT_ATTR(halts, PVX_SPIN_HALTS);
PVX_SPIN_STAT_ATTR(kicks, PVX_SPIN_KICKS);
PVX_SPIN_STAT_ATTR(kick_misses, PVX_SPIN_KICK_MISSES);
PVX_SPIN_STAT_ATTR(steals, PVX_SPIN_STEALS);
PVX_SPIN_STAT_ATTR(priority_waits, PVX_SPIN_PRIORITY_WAITS);
PVX_SPIN_STAT_ATTR(priority_grants, PVX_SPIN_PRIORITY_GRANTS);

static ssize_t mode_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", pvx_spin_mode_names[pvx_spin_mode]);
}

static ssize_t spin_threshold_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(spin_threshold));
}

static ssize_t spin_threshold_store(struct kobject *kobj,
				    struct kobj_attribute *attr,
				    const char *buf, size_t count)
{
	unsigned int v;
	int ret = pvx_spin_threshold_parse(buf, &v);

	if (ret)
		return ret;
	WRITE_ONCE(spin_threshold, v);
	return count;
}

static ssize_t halting_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", pvx_spin_may_halt());
}

static struct kobj_attribute mode_attr = __ATTR_RO(mode);
static struct kobj_attribute halting_attr = __ATTR_RO(halting);
static struct kobj_attribute spin_threshold_attr = __ATTR_RW(spin_threshold);

static struct attribute *pvx_spin_attrs[] = {
	&mode_attr.attr,
	&halting_attr.attr,
	&spin_threshold_attr.attr,
	&stat_acquisitions_attr.kattr.attr,
	&stat_slow_paths_attr.kattr.attr,
	&stat_yields_issued_attr.kattr.attr,
	&stat_yields_granted_attr.kattr.attr,
	&stat_halts_attr.kattr.attr,
	&stat_kicks_attr.kattr.attr,
	&stat_kick_misses_attr.kattr.attr,
	&stat_steals_attr.kattr.attr,
	&stat_priority_waits_attr.kattr.attr,
	&stat_priority_grants_attr.kattr.attr,
	NULL
};

static const struct attribute_group pvx_spin_group = {
	.name = "spinlock",
	.attrs = pvx_spin_attrs,
};

static int __init pvx_spinlock_init(void)
{
	u32 kvm_features = pvx_kvm_features();
	const char *why;
	int ret;

	/* the unpublished spins delay no yield (PVX_SPIN_SHORT) */
	BUILD_BUG_ON(min(PVX_SPIN_THRESHOLD_MIN, PVX_SPIN_YIELD_GAP) <= PVX_SPIN_SHORT);
	pvx_spin_sched_yield = kvm_features & BIT(KVM_FEATURE_PV_SCHED_YIELD);
	/* halted waiters, priority tickets: one per CPU and context at most */
	if (nr_cpu_ids * PVX_SPIN_NEST_MAX > PVX_SPIN_WAITERS_MAX) {
		pr_err("%u CPUs: more waiters than the lock word can count (%llu)\n",
		       nr_cpu_ids, PVX_SPIN_WAITERS_MAX);
		return -EINVAL;
	}

	if (kvm_para_has_hint(KVM_HINTS_REALTIME)) {
		/* as kvm_spinlock_init(): dedicated CPUs, nobody is preempted */
		pvx_spin_mode = PVX_SPIN_MODE_SPIN;
		why = "KVM_HINTS_REALTIME: vCPUs are not preempted";
	} else if (num_possible_cpus() == 1) {
		pvx_spin_mode = PVX_SPIN_MODE_SPIN;
		why = "one CPU: no other vCPU to yield to or kick";
	} else if (pvx_host_has(PVX_F_YIELD) && pvx_host_abi_version() >= 2) {
		pvx_spin_mode = PVX_SPIN_MODE_PVX_YIELD;
		why = "host pvx announces PVX_F_YIELD by APIC ID (ABI v2)";
	} else if (pvx_spin_sched_yield) {
		pvx_spin_mode = PVX_SPIN_MODE_SCHED_YIELD;
		why = "no pvx directed yield; host offers KVM_FEATURE_PV_SCHED_YIELD";
	} else {
		pvx_spin_mode = PVX_SPIN_MODE_SPIN;
		why = "no pvx directed yield, no KVM_FEATURE_PV_SCHED_YIELD";
	}

	/* before any lock of a user module can be taken */
	if (halt_waiters && pvx_spin_mode != PVX_SPIN_MODE_SPIN &&
	    (kvm_features & BIT(KVM_FEATURE_PV_UNHALT)))
		static_branch_enable(&pvx_spin_halting);

	ret = pvx_sysfs_add_group(&pvx_spin_group);
	if (ret) {
		pr_err("cannot create /sys/kernel/pvx/spinlock: %d\n", ret);
		return ret;
	}
	ret = pvx_register_ioctl(PVX_IOC_YIELD_TO, pvx_spin_ioc_yield_to);
	if (ret) {
		pr_err("cannot register PVX_IOC_YIELD_TO: %d\n", ret);
		pvx_sysfs_remove_group(&pvx_spin_group);
		return ret;
	}
	pr_info("mode %s (%s); holder preemption %s; halt-and-kick %s; steal %s (pass limit %u); spin_threshold %u\n",
		pvx_spin_mode_names[pvx_spin_mode], why,
		kvm_features & BIT(KVM_FEATURE_STEAL_TIME) ?
		"seen through steal time" : "not visible (no steal time)",
		pvx_spin_may_halt() ? "on" : "off",
		steal_free ? "on" : "off", PVX_SPIN_PASS_LIMIT, spin_threshold);
	return 0;
}

static void __exit pvx_spinlock_exit(void)
{
	pvx_unregister_ioctl(PVX_IOC_YIELD_TO);
	pvx_sysfs_remove_group(&pvx_spin_group);
}

module_init(pvx_spinlock_init);
module_exit(pvx_spinlock_exit);

MODULE_DESCRIPTION("pvx pv spinlock: lock stealing with bounded overtaking, directed yield to a preempted holder");
MODULE_LICENSE("GPL");
