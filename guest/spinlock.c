// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_spinlock: a queued spinlock for KVM guests whose waiters, served
 * in order, hand their time to the vCPU they wait for when the host
 * preempted it (the holder's: lock holder preemption; the predecessor's
 * in the queue: the "lock convoy"), and which a locker not yet queued may
 * take out of turn a bounded number of times; and /dev/pvx's
 * PVX_IOC_YIELD_TO, the same directed yield for userspace spinlocks.
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
 * the passes of the queue's head, the halted head's CPU and the tail of
 * the waiters' queue. Waiters queue in order on per-CPU nodes (an MCS
 * queue, as the kernel's qspinlock); each spins on its own node until its
 * predecessor, having taken the lock, makes it the head; only the head
 * spins on the word. So the running waiters are served in their order of
 * arrival, and the wait of one is bounded by the waiters ahead of it, not
 * a race among them. The head names itself in the word; a locker that is
 * not queued yet (the fast path) takes a free word ahead of the queue
 * only when the head cannot take it (its vCPU preempted by the host, or
 * halted), at most PVX_SPIN_PASS_LIMIT times per head: a running head is
 * never passed, and a head whose vCPU is off its CPU holds up only the
 * queue, not every running locker.
 *
 * The paravirtual part is whom a waiter gives its time to: while queued,
 * its predecessor's vCPU when the host preempted that (the queue cannot
 * move before it runs), else the holder's when preempted, or the
 * holder's once the wait passed spin_threshold; the second time the vCPU
 * it waits for is off its CPU, it halts until kicked (the predecessor
 * kicks it when it makes it head, the unlocker when it is the head).
 *
 * The unlock is one compare-and-exchange that releases the lock and
 * returns whether the head halted (and its CPU): the unlocker never reads
 * the lock after it (the next holder may free it at once; the kernel's pv ticket locks
 * fixed the same bug in 2015, "x86/spinlocks/paravirt: Fix memory
 * corruption on unlock").
 */

/* Spins between two looks at the vCPU waited for. */
#define PVX_SPIN_YIELD_GAP	256u

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
 * Lock stealing (above): on by default; 0 lets nobody take the lock ahead
 * of a queued waiter, a strictly FIFO lock, for comparison. Writable at
 * run time: lockers read it once per acquisition.
 */
static bool steal_free = true;
module_param_named(skip, steal_free, bool, 0644);
MODULE_PARM_DESC(skip,
		 "let a locker not yet queued take a free lock ahead of the queue while its head cannot (preempted, halted), up to PVX_SPIN_PASS_LIMIT times per head (default 1; 0: FIFO)");

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
	PVX_SPIN_STEALS,
	PVX_SPIN_QUEUE_GRANTS,
	PVX_SPIN_PRIORITY_WAITS,
	PVX_SPIN_PRIORITY_GRANTS,
	PVX_SPIN_STAT_NR
};

struct pvx_spin_stats {
	u64 n[PVX_SPIN_STAT_NR];
};

static DEFINE_PER_CPU(struct pvx_spin_stats, pvx_spin_stats);

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
 * The queue's nodes: one per context that can be nested on a CPU (task,
 * softirq, hardirq, NMI). Per-CPU and never freed, so a predecessor that
 * wrote to its successor's node after the successor went on touches
 * nothing freed; it still never does (pvx_spin_make_head()). A locker
 * nested deeper than PVX_SPIN_NEST_MAX does not queue: it spins on the
 * word.
 */
enum pvx_spin_node_state {
	PVX_SPIN_NODE_WAIT,	/* queued behind another waiter, running */
	PVX_SPIN_NODE_HALTED,	/* queued behind another waiter, halted */
	PVX_SPIN_NODE_HEAD,	/* the predecessor made it the queue's head */
};

struct pvx_spin_node {
	struct pvx_spin_node *next;	/* the successor, once it linked */
	int state;			/* enum pvx_spin_node_state */
	int cpu;			/* the CPU whose node it is */
};

struct pvx_spin_nodes {
	unsigned int depth;
	struct pvx_spin_node slot[PVX_SPIN_NEST_MAX];
};

static DEFINE_PER_CPU_ALIGNED(struct pvx_spin_nodes, pvx_spin_nodes);

static struct pvx_spin_node *pvx_spin_node_of(u16 tail)
{
	return per_cpu_ptr(&pvx_spin_nodes.slot[pvx_spin_tail_idx(tail)],
			   pvx_spin_tail_cpu(tail));
}

/* Wake the halted vCPU of @cpu (KVM_HC_KICK_CPU by its APIC ID). */
static void pvx_spin_kick_cpu(const struct pvx_spinlock *lock, int cpu,
			      u16 tail)
{
	kvm_hypercall2(KVM_HC_KICK_CPU, 0, per_cpu(x86_cpu_to_apicid, cpu));
	pvx_spin_count(PVX_SPIN_KICKS);
	/* @lock only as a value: its next holder may have freed it */
	trace_spin_kick(lock, cpu, tail);
}

/*
 * Make @next the queue's head. One exchange of its state, the last
 * access to it: from then on it may take the lock, release it and reuse
 * the node, so its CPU is read before. A waiter that had halted is
 * kicked.
 */
static void pvx_spin_make_head(const struct pvx_spinlock *lock,
			       struct pvx_spin_node *next)
{
	int cpu = READ_ONCE(next->cpu);

	if (xchg(&next->state, PVX_SPIN_NODE_HEAD) == PVX_SPIN_NODE_HALTED)
		pvx_spin_kick_cpu(lock, cpu, 0);
}

/* Passes the queue's head allows before the lock is reserved for it. */
static unsigned int pvx_spin_pass_limit(void)
{
	return READ_ONCE(steal_free) ? PVX_SPIN_PASS_LIMIT : 0;
}

/*
 * The word @v is not 0 (held, or waiters queued): take it ahead of the
 * queue if the word allows, which needs to know whether the host
 * preempted the vCPU of a head that spins for it.
 */
static noinline bool pvx_spin_steal(struct pvx_spinlock *lock, s64 v)
{
	bool preempted = false;

	if (v & PVX_SPIN_LOCKED)
		return false;
	if (pvx_spin_tail(v) && pvx_spin_head_spinning(v))
		preempted = vcpu_is_preempted(pvx_spin_head_cpu(v));
	if (!pvx_spin_may_steal(v, pvx_spin_pass_limit(), preempted) ||
	    !atomic64_try_cmpxchg_acquire(&lock->val, &v, pvx_spin_stolen(v)))
		return false;
	if (pvx_spin_tail(v))
		pvx_spin_count(PVX_SPIN_STEALS);
	return true;
}

/*
 * Take the lock without queueing, with one compare-and-exchange, when the
 * word lets a locker that is not queued take it (the fast path, trylock,
 * a locker nested too deep to queue). Returns whether it did; one taken
 * while waiters were queued is a steal.
 */
static __always_inline bool pvx_spin_take_free(struct pvx_spinlock *lock)
{
	s64 v = atomic64_read(&lock->val);

	if (likely(!v))
		return atomic64_try_cmpxchg_acquire(&lock->val, &v,
						    PVX_SPIN_LOCKED);
	return pvx_spin_steal(lock, v);
}

/* Where pvx_spin_wait() is. */
struct pvx_spin_waiting {
	struct pvx_spinlock *lock;
	struct pvx_spin_node *node;	/* our queue node */
	unsigned int threshold;		/* spin_threshold at the start */
	unsigned int spins;		/* cpu_relax() so far */
	unsigned int since_yield;	/* cpu_relax() since the last yield */
	unsigned int yields;
	int prev_cpu;			/* the predecessor's; -1: we are head */
	u16 mine;			/* our tail value */
};

/*
 * The vCPU the lock waits for in @v: the holder's while held, else the
 * queue head's (named in the word); -1 when none, or when it is this
 * CPU's (an interrupted holder, or we are the head).
 */
static int pvx_spin_lock_waits_for(const struct pvx_spinlock *lock, s64 v)
{
	int cpu = v & PVX_SPIN_LOCKED ? READ_ONCE(lock->holder_cpu) :
					pvx_spin_head_cpu(v);

	if (cpu < 0 || cpu >= nr_cpu_ids || cpu == smp_processor_id())
		return -1;
	return cpu;
}

/*
 * The vCPU a waiter gives its time to: the one the lock waits for (the
 * holder's, or, while the lock is free, the queue head's: *@next) when
 * the host preempted it or it is waking from a halt; else, while queued,
 * its predecessor's when preempted (*@next: the queue cannot move past
 * it); else the one the lock waits for, running. *@off_cpu: whether the
 * vCPU returned is off its CPU. -1: none.
 */
static int pvx_spin_wait_target(const struct pvx_spin_waiting *s, bool *next,
				bool *off_cpu)
{
	s64 v = atomic64_read(&s->lock->val);
	int cpu = pvx_spin_lock_waits_for(s->lock, v);

	*next = !(v & PVX_SPIN_LOCKED);
	*off_cpu = cpu >= 0 &&
		   (vcpu_is_preempted(cpu) || (*next && (v & PVX_SPIN_WAKING)));
	if (*off_cpu)
		return cpu;
	if (s->prev_cpu >= 0 && vcpu_is_preempted(s->prev_cpu)) {
		*next = true;
		*off_cpu = true;
		return s->prev_cpu;
	}
	return cpu;
}

/* Halt this vCPU, interrupts off, until a kick or an interrupt. */
static void pvx_spin_halt_now(const struct pvx_spinlock *lock,
			      unsigned long flags, u16 mine)
{
	pvx_spin_count(PVX_SPIN_HALTS);
	trace_spin_halt(lock, smp_processor_id(), mine);
	/* sti;hlt: an interrupt arriving after the check still wakes */
	if (irqs_disabled_flags(flags))
		halt();
	else
		safe_halt();
}

/*
 * A queued waiter halts until its predecessor makes it head. Marking the
 * node halted and the predecessor's exchange of the state are both full
 * barriers on one word: either the mark comes first and the exchange
 * sees it and kicks, or the exchange comes first and the mark fails.
 */
static void pvx_spin_halt_queued(struct pvx_spin_waiting *s)
{
	unsigned long flags;

	if (cmpxchg(&s->node->state, PVX_SPIN_NODE_WAIT,
		    PVX_SPIN_NODE_HALTED) != PVX_SPIN_NODE_WAIT)
		return;
	local_irq_save(flags);
	/* a kick meanwhile ends the halt at once (KVM's pv_unhalted) */
	if (READ_ONCE(s->node->state) == PVX_SPIN_NODE_HALTED)
		pvx_spin_halt_now(s->lock, flags, s->mine);
	local_irq_restore(flags);
	cmpxchg(&s->node->state, PVX_SPIN_NODE_HALTED, PVX_SPIN_NODE_WAIT);
}

/*
 * The queue's head halts until the unlock: it marks itself halted in the
 * word (which names it) while the lock is held, so the release, which
 * clears the mark in the same compare-and-exchange, kicks it. A failed
 * exchange (the word changed) halts nobody; the head looks again. Awake,
 * it clears the halted mark (an interrupt, not the unlock, may have woken
 * it) or the waking one, so lockers no longer take the lock ahead of it.
 */
static void pvx_spin_halt_head(struct pvx_spin_waiting *s)
{
	s64 v = atomic64_read(&s->lock->val);
	unsigned long flags;

	if (!(v & PVX_SPIN_LOCKED) ||
	    !atomic64_try_cmpxchg(&s->lock->val, &v, v | PVX_SPIN_HALTED))
		return;
	local_irq_save(flags);
	if (atomic64_read(&s->lock->val) & PVX_SPIN_HALTED)
		pvx_spin_halt_now(s->lock, flags, s->mine);
	local_irq_restore(flags);
	atomic64_andnot(PVX_SPIN_HALTED | PVX_SPIN_WAKING, &s->lock->val);
}

/*
 * Name ourselves the queue's head in the word: from now on no locker
 * takes the lock ahead of us while our vCPU runs.
 */
static void pvx_spin_name_head(struct pvx_spinlock *lock)
{
	s64 v = atomic64_read(&lock->val);

	do {
	} while (!atomic64_try_cmpxchg(&lock->val, &v,
				       pvx_spin_head_named(v,
							   smp_processor_id())));
}

/*
 * A waiter that must wait on: a directed yield at the vCPU it waits for
 * when that is off its CPU (looked at every PVX_SPIN_YIELD_GAP spins) or
 * when the wait passed spin_threshold; the second time that vCPU is found
 * off its CPU, halt instead (not in NMI context: an NMI that halted could
 * wait for an interrupt that the CPU it interrupted keeps masked).
 */
static void pvx_spin_give_way(struct pvx_spin_waiting *s)
{
	bool off_cpu = false, next = false;
	int target;
	long ret;

	if (s->since_yield < min(PVX_SPIN_YIELD_GAP, s->threshold))
		return;
	target = pvx_spin_wait_target(s, &next, &off_cpu);
	if (target < 0)
		return;
	if (!off_cpu && s->since_yield < s->threshold)
		return;
	s->since_yield = 0;
	if (off_cpu && s->yields && pvx_spin_may_halt() && !in_nmi()) {
		if (s->prev_cpu >= 0)
			pvx_spin_halt_queued(s);
		else
			pvx_spin_halt_head(s);
		return;
	}
	ret = pvx_spin_yield_to_cpu(target);
	trace_spin_yield(s->lock, target, smp_processor_id(), s->spins, off_cpu,
			 next, ret);
	s->yields++;
}

/* Looks at the vCPU waited for once per this many spins. */
#define PVX_SPIN_LOOK_EVERY	64u

static void pvx_spin_relax(struct pvx_spin_waiting *s, bool can_yield)
{
	cpu_relax();
	s->spins++;
	s->since_yield++;
	if (can_yield && !(s->spins % PVX_SPIN_LOOK_EVERY))
		pvx_spin_give_way(s);
}

/*
 * Put our node at the queue's tail (one compare-and-exchange, which also
 * publishes the node's fields) and link it behind the predecessor.
 * Returns the predecessor's CPU, or -1 when the queue was empty.
 */
static int pvx_spin_enqueue(struct pvx_spin_waiting *s)
{
	s64 v = atomic64_read(&s->lock->val);
	u16 prev;

	do {
	} while (!atomic64_try_cmpxchg(&s->lock->val, &v,
				       (v & ~PVX_SPIN_TAIL_MASK) |
				       (u64)s->mine << PVX_SPIN_TAIL_SHIFT));
	prev = pvx_spin_tail(v);
	if (!prev)
		return -1;
	WRITE_ONCE(pvx_spin_node_of(prev)->next, s->node);
	return pvx_spin_tail_cpu(prev);
}

/*
 * As the queue's head: take the lock when it is free. Returns the word
 * as it was taken (its passes: how often the head was passed; @limit or
 * more: the lock was reserved for it).
 */
static u64 pvx_spin_head_take(struct pvx_spin_waiting *s,
			      unsigned int limit, bool can_yield)
{
	bool reserved = false;
	s64 v;

	for (;;) {
		v = atomic64_read_acquire(&s->lock->val);
		if (!(v & PVX_SPIN_LOCKED)) {
			if (atomic64_try_cmpxchg_acquire(&s->lock->val, &v,
							 pvx_spin_head_taken(v, s->mine)))
				return v;
			continue;
		}
		if (!reserved && pvx_spin_passes(v) >= limit) {
			/* no locker may pass us any more: priority */
			reserved = true;
			pvx_spin_count(PVX_SPIN_PRIORITY_WAITS);
			trace_spin_priority(s->lock, smp_processor_id(),
					    pvx_spin_passes(v), s->mine, 0);
		}
		pvx_spin_relax(s, can_yield);
	}
}

/*
 * Slow path: queue, wait to be the head, take the lock, make the
 * successor head. Returns how often the lock passed us while we were the
 * head. Runs with preemption (and maybe interrupts) disabled.
 */
static noinline u16 pvx_spin_wait(struct pvx_spinlock *lock)
{
	bool can_yield = pvx_spin_mode != PVX_SPIN_MODE_SPIN;
	unsigned int limit = pvx_spin_pass_limit();
	unsigned int idx = this_cpu_inc_return(pvx_spin_nodes.depth) - 1;
	struct pvx_spin_waiting s = {
		.lock = lock, .threshold = READ_ONCE(spin_threshold),
	};
	struct pvx_spin_node *next;
	u64 taken;

	if (unlikely(idx >= PVX_SPIN_NEST_MAX)) {
		while (!pvx_spin_take_free(lock))
			cpu_relax();
		this_cpu_dec(pvx_spin_nodes.depth);
		return 0;
	}
	pvx_spin_count(PVX_SPIN_SLOW_PATHS);
	s.node = this_cpu_ptr(&pvx_spin_nodes.slot[idx]);
	s.mine = pvx_spin_tail_of(smp_processor_id(), idx);
	s.node->next = NULL;
	s.node->state = PVX_SPIN_NODE_WAIT;
	s.node->cpu = smp_processor_id();
	s.prev_cpu = pvx_spin_enqueue(&s);
	while (s.prev_cpu >= 0) {
		/* acquire: the predecessor's critical section before ours */
		if (smp_load_acquire(&s.node->state) == PVX_SPIN_NODE_HEAD)
			break;
		pvx_spin_relax(&s, can_yield);
	}
	s.prev_cpu = -1;
	pvx_spin_name_head(lock);
	taken = pvx_spin_head_take(&s, limit, can_yield);
	pvx_spin_count(pvx_spin_passes(taken) >= limit ?
		       PVX_SPIN_PRIORITY_GRANTS : PVX_SPIN_QUEUE_GRANTS);
	if (pvx_spin_tail(taken) != s.mine) {
		/* a successor swapped the tail: wait until it linked */
		while (!(next = READ_ONCE(s.node->next)))
			cpu_relax();
		pvx_spin_make_head(lock, next);
	}
	this_cpu_dec(pvx_spin_nodes.depth);
	return pvx_spin_passes(taken);
}

/* The caller holds @lock now, passed @queued times while it waited. */
static __always_inline void pvx_spin_held(struct pvx_spinlock *lock,
					  u16 queued)
{
	WRITE_ONCE(lock->holder_cpu, smp_processor_id());
	lock->queued = queued;
	pvx_spin_count(PVX_SPIN_ACQUISITIONS);
}

static __always_inline void __pvx_spin_lock(struct pvx_spinlock *lock)
{
	u16 queued = 0;

	if (unlikely(!pvx_spin_take_free(lock)))
		queued = pvx_spin_wait(lock);
	pvx_spin_held(lock, queued);
}

/*
 * One compare-and-exchange releases the lock (a locked instruction: the
 * critical section before the release; pairs with the acquire of the
 * next taker's exchange) and clears the head's halted mark; the word it
 * returns names the head to kick: the lock is not read after it, since
 * the next holder may free it at once.
 */
static __always_inline void __pvx_spin_unlock(struct pvx_spinlock *lock)
{
	s64 v = PVX_SPIN_LOCKED;

	WRITE_ONCE(lock->holder_cpu, -1);
	if (likely(atomic64_try_cmpxchg_release(&lock->val, &v, 0)))
		return;
	do {
	} while (!atomic64_try_cmpxchg_release(&lock->val, &v,
					       pvx_spin_released(v)));
	if (unlikely(v & PVX_SPIN_HALTED))
		pvx_spin_kick_cpu(lock, pvx_spin_head_cpu(v),
				  pvx_spin_tail(v));
}

void pvx_spin_lock_init(struct pvx_spinlock *lock)
{
	*lock = (struct pvx_spinlock)__PVX_SPIN_LOCK_UNLOCKED;
}
EXPORT_SYMBOL_GPL(pvx_spin_lock_init);

void pvx_spin_lock(struct pvx_spinlock *lock)
{
	preempt_disable();
	__pvx_spin_lock(lock);
}
EXPORT_SYMBOL_GPL(pvx_spin_lock);

void pvx_spin_unlock(struct pvx_spinlock *lock)
{
	__pvx_spin_unlock(lock);
	preempt_enable();
}
EXPORT_SYMBOL_GPL(pvx_spin_unlock);

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

void pvx_spin_lock_bh(struct pvx_spinlock *lock)
{
	local_bh_disable();	/* disables preemption too */
	__pvx_spin_lock(lock);
}
EXPORT_SYMBOL_GPL(pvx_spin_lock_bh);

void pvx_spin_unlock_bh(struct pvx_spinlock *lock)
{
	__pvx_spin_unlock(lock);
	local_bh_enable();
}
EXPORT_SYMBOL_GPL(pvx_spin_unlock_bh);

unsigned long _pvx_spin_lock_irqsave(struct pvx_spinlock *lock)
{
	unsigned long flags;

	local_irq_save(flags);
	preempt_disable();
	__pvx_spin_lock(lock);
	return flags;
}
EXPORT_SYMBOL_GPL(_pvx_spin_lock_irqsave);

void pvx_spin_unlock_irqrestore(struct pvx_spinlock *lock, unsigned long flags)
{
	__pvx_spin_unlock(lock);
	local_irq_restore(flags);
	preempt_enable();
}
EXPORT_SYMBOL_GPL(pvx_spin_unlock_irqrestore);

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

	for_each_possible_cpu(cpu)
		sum += per_cpu(pvx_spin_stats, cpu).n[sa->stat];
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
PVX_SPIN_STAT_ATTR(steals, PVX_SPIN_STEALS);
PVX_SPIN_STAT_ATTR(queue_grants, PVX_SPIN_QUEUE_GRANTS);
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
	&stat_steals_attr.kattr.attr,
	&stat_queue_grants_attr.kattr.attr,
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

	pvx_spin_sched_yield = kvm_features & BIT(KVM_FEATURE_PV_SCHED_YIELD);
	/* the queue's tail and the halted head name a CPU in 14 bits */
	if (nr_cpu_ids > PVX_SPIN_CPUS_MAX) {
		pr_err("%u CPUs: more than the lock word can name (%u)\n",
		       nr_cpu_ids, PVX_SPIN_CPUS_MAX);
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
	pr_info("mode %s (%s); holder preemption %s; halt-and-kick %s; stealing %s (pass limit %u); spin_threshold %u\n",
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

MODULE_DESCRIPTION("pvx pv spinlock: a queue lock with bounded stealing whose waiters yield to the preempted vCPU they wait for");
MODULE_LICENSE("GPL");
