// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_spinlock: a fair ticket spinlock for KVM guests whose waiters hand
 * their time to the lock holder's vCPU when the host preempted it (lock
 * holder preemption, the "lock convoy"), and /dev/pvx's PVX_IOC_YIELD_TO,
 * the same directed yield for userspace spinlocks.
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
 * Tickets advance by 4: bit 0 of .head is PVX_SPIN_HALTED, set by a waiter
 * before it halts and read by the unlocker in the xadd that releases the
 * lock (the kernel's pv ticket locks did the same after 2015's "fix
 * memory corruption on unlock"), so that nothing reads the lock after it
 * was handed over: the next holder may free it at once. The bit stays set
 * while waiters are queued and is cleared by a holder that finds nobody
 * queued behind it.
 *
 * Bit 1 is PVX_SPIN_CLAIMED: the ticket in .head is not only served but
 * taken. Every acquisition sets it with a compare-and-exchange, because
 * the lock can also be taken out of turn: a waiter whose turn comes
 * while its vCPU is off its CPU (preempted, or halted and kicked but not
 * run yet) leaves the lock free for as long as the host keeps it off, so
 * the next waiter, running, may take that turn instead (a "skip", below).
 * Only an unclaimed .head can be skipped, and the unlocker's add of
 * PVX_TICKET_STEP - PVX_SPIN_CLAIMED both clears the bit and serves the
 * next ticket.
 */
/* Distinct tickets: more contenders than this would look like a free lock. */
#define PVX_TICKETS		(BIT(16) / PVX_TICKET_STEP)

/*
 * Backoff: a waiter re-reads the lock word after a number of cpu_relax()
 * proportional to its place in the queue (the holder hands over one
 * ticket at a time), at most PVX_SPIN_BACKOFF_MAX.
 */
#define PVX_SPIN_BACKOFF_UNIT	4u
#define PVX_SPIN_BACKOFF_MAX	64u
/* Spins between two yields when the holder stays preempted. */
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
 * Skips (above): on by default; 0 keeps the lock strictly FIFO, for
 * comparison. Writable at run time: only waiters read it.
 */
static bool skip_preempted = true;
module_param_named(skip, skip_preempted, bool, 0644);
MODULE_PARM_DESC(skip,
		 "let the next waiter take the turn of a waiter whose vCPU is off its CPU while the lock is free (default 1)");

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
	PVX_SPIN_SKIPS,
	PVX_SPIN_REQUEUES,
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
 * Waiters in the slow path publish which ticket of which lock they wait
 * for, so that a waiter that finds the lock free but not yet taken can
 * find the vCPU whose turn it is. With a fair lock the convoy under
 * overcommit comes as much from that vCPU being preempted (the lock then
 * sits idle until the host runs it again) as from a preempted holder. One
 * slot per context that can be nested on a CPU: task, softirq, hardirq,
 * NMI; a deeper waiter is not published and is only found as a holder.
 */
#define PVX_SPIN_NEST_MAX	4

struct pvx_spin_waiter {
	const struct pvx_spinlock *lock;	/* NULL: slot unused */
	u16 ticket;
	bool halted;			/* halted until its turn comes */
	/* skipped once in this acquisition: not skipped again (fairness) */
	bool requeued;
	/*
	 * Set by the waiter that took this ticket's turn: the ticket is
	 * passed. Explicit, because a waiter kept off its CPU while head
	 * went round more than half the ticket space could not tell a
	 * passed ticket from one still ahead by their distance.
	 */
	bool passed;
};

struct pvx_spin_waiters {
	unsigned int depth;
	struct pvx_spin_waiter slot[PVX_SPIN_NEST_MAX];
};

static DEFINE_PER_CPU_ALIGNED(struct pvx_spin_waiters, pvx_spin_waiters);

/* Returns the published slot, or NULL when nested too deep. */
static struct pvx_spin_waiter *pvx_spin_publish(const struct pvx_spinlock *lock,
						u16 ticket)
{
	/* one instruction: an interrupt from here on nests one slot further */
	unsigned int depth = this_cpu_inc_return(pvx_spin_waiters.depth) - 1;
	struct pvx_spin_waiter *w;

	if (depth >= PVX_SPIN_NEST_MAX)
		return NULL;
	w = this_cpu_ptr(&pvx_spin_waiters.slot[depth]);
	WRITE_ONCE(w->ticket, ticket);
	WRITE_ONCE(w->halted, false);
	WRITE_ONCE(w->requeued, false);
	WRITE_ONCE(w->passed, false);
	/* a reader that sees the lock sees the ticket that goes with it */
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
 * The CPU waiting for @ticket of @lock, or -1; *@halted says whether that
 * waiter halted, *@slot (may be NULL) is its published slot. A hint: the
 * slot may change under us, and a wrong answer costs one needless yield
 * or kick; a skip checks its target again with a compare-and-exchange.
 */
static int pvx_spin_ticket_cpu(const struct pvx_spinlock *lock, u16 ticket,
			       bool *halted, struct pvx_spin_waiter **slot)
{
	int cpu, i;

	for_each_online_cpu(cpu) {
		struct pvx_spin_waiters *ws = per_cpu_ptr(&pvx_spin_waiters,
							  cpu);

		for (i = 0; i < PVX_SPIN_NEST_MAX; i++) {
			struct pvx_spin_waiter *w = &ws->slot[i];

			/* pairs with the release in pvx_spin_publish() */
			if (smp_load_acquire(&w->lock) != lock ||
			    READ_ONCE(w->ticket) != ticket)
				continue;
			/* pairs with the smp_wmb() of a requeue */
			smp_rmb();
			/*
			 * A passed ticket is stale: .head serves the same
			 * number a lap later to whoever drew it then.
			 */
			if (READ_ONCE(w->passed))
				continue;
			*halted = READ_ONCE(w->halted);
			if (slot)
				*slot = w;
			return cpu;
		}
	}
	return -1;
}

/*
 * Whom a waiter would yield to: the holder, or when the lock is free the
 * waiter whose ticket @head is being served (@next says which). -1 when
 * nobody (or the caller itself) is found. *@off_cpu: that vCPU is not
 * running: preempted by the host, or a halted waiter (a kicked vCPU is
 * runnable, but the host flags only involuntary preemption).
 */
static int pvx_spin_yield_target(const struct pvx_spinlock *lock, u16 head,
				 int me, bool *next, bool *off_cpu)
{
	int cpu = READ_ONCE(lock->holder_cpu);
	bool halted = false;

	*next = cpu < 0;
	if (*next)
		cpu = pvx_spin_ticket_cpu(lock, head, &halted, NULL);
	if (cpu < 0 || cpu == me || cpu >= nr_cpu_ids)
		return -1;
	*off_cpu = halted || vcpu_is_preempted(cpu);
	return cpu;
}

/*
 * Take the lock when the word is free, with one compare-and-exchange that
 * draws the ticket and claims it (the fast path and trylock). Returns
 * whether it did; *@ticket is the ticket then held.
 */
static __always_inline bool pvx_spin_take_free(struct pvx_spinlock *lock,
					       u16 *ticket)
{
	int old = atomic_read(&lock->val);

	if (!pvx_spin_free(old) ||
	    !atomic_try_cmpxchg_acquire(&lock->val, &old,
					(int)(((u32)old + PVX_TICKET_INC) |
					      PVX_SPIN_CLAIMED)))
		return false;
	*ticket = (u32)old >> 16;
	return true;
}

/*
 * Halt this vCPU until the unlocker whose release makes @ticket the one
 * served kicks it (KVM_HC_KICK_CPU), or an interrupt comes. The host then
 * runs the vCPUs that hold or are next in line for the lock, which a
 * directed yield only suggests. @w must be published: the unlocker finds
 * the CPU to kick there.
 */
static void pvx_spin_halt(struct pvx_spinlock *lock, struct pvx_spin_waiter *w,
			  u16 ticket)
{
	unsigned long flags;

	WRITE_ONCE(w->halted, true);
	/* the slot before the flag: a kicker that sees the flag finds it */
	smp_mb__before_atomic();
	atomic_or(PVX_SPIN_HALTED, &lock->val);
	/*
	 * The flag before head is read; pairs with the xadd in
	 * __pvx_spin_unlock(): either it returns the flag and the unlocker
	 * kicks, or this read sees the new head.
	 */
	smp_mb__after_atomic();
	local_irq_save(flags);
	/*
	 * Not when our turn came, nor when it was skipped (nobody would
	 * kick): the skipper sets ->passed before it reads ->halted.
	 */
	if ((READ_ONCE(lock->head) & ~PVX_SPIN_FLAGS) != ticket &&
	    !READ_ONCE(w->passed)) {
		pvx_spin_count(PVX_SPIN_HALTS);
		/* interrupts stay off: a kick meanwhile ends the halt at once */
		trace_spin_halt(lock, smp_processor_id(), ticket);
		/* sti;hlt: an interrupt arriving after the check still wakes */
		if (irqs_disabled_flags(flags))
			halt();
		else
			safe_halt();
	}
	local_irq_restore(flags);
	WRITE_ONCE(w->halted, false);
}

/*
 * Kick the halted waiter of @ticket, which the caller just made served.
 * @lock is only compared with the published slots, never dereferenced:
 * its new holder may have freed it already. A flag with no halted waiter
 * behind it (it stays set while waiters are queued; a waiter that set it
 * may not have needed to halt) is a miss: no hypercall, counted. Both
 * are traced (pvx:spin_kick) with @lock's value, which the event only
 * stores: nothing reads through it there either.
 */
/* Wake the halted vCPU of @cpu (KVM_HC_KICK_CPU by its APIC ID). */
static void pvx_spin_kick_cpu(int cpu)
{
	kvm_hypercall2(KVM_HC_KICK_CPU, 0, per_cpu(x86_cpu_to_apicid, cpu));
}

static noinline void pvx_spin_kick(const struct pvx_spinlock *lock, u16 ticket)
{
	bool halted = false;
	int cpu = pvx_spin_ticket_cpu(lock, ticket, &halted, NULL);

	if (cpu < 0 || !halted) {
		pvx_spin_count(PVX_SPIN_KICK_MISSES);
		trace_spin_kick(lock, cpu, ticket, true);
		return;
	}
	pvx_spin_kick_cpu(cpu);
	pvx_spin_count(PVX_SPIN_KICKS);
	trace_spin_kick(lock, cpu, ticket, false);
}

/*
 * Claim the turn of @ticket, served in @raw (.head as read): fails when a
 * flag changed meanwhile or a skip took it.
 */
static __always_inline bool pvx_spin_claim(struct pvx_spinlock *lock, u16 raw)
{
	return !(raw & PVX_SPIN_CLAIMED) &&
	       try_cmpxchg(&lock->head, &raw, raw | PVX_SPIN_CLAIMED);
}

/*
 * Take the turn of the waiter ahead of us, @head (as read: served, not
 * claimed), whose vCPU on @cpu is off its CPU: the lock sits free until
 * the host runs it. Our own ticket comes next, so moving .head to it
 * claimed makes us the holder. That waiter, published in @w (which stays
 * its own: it cannot take the turn we took), is marked passed and draws
 * a new ticket. A halted one is kicked, or it would sleep until an
 * interrupt: nobody kicks a passed ticket.
 */
static bool pvx_spin_skip(struct pvx_spinlock *lock, u16 raw, u16 ticket,
			  int cpu, struct pvx_spin_waiter *w)
{
	u16 want = ticket | PVX_SPIN_CLAIMED | (raw & PVX_SPIN_HALTED);
	bool halted;

	if (!try_cmpxchg(&lock->head, &raw, want))
		return false;
	WRITE_ONCE(w->passed, true);
	/* the mark before ->halted is read; pairs with pvx_spin_halt() */
	smp_mb();
	halted = READ_ONCE(w->halted);
	pvx_spin_count(PVX_SPIN_SKIPS);
	trace_spin_skip(lock, cpu, smp_processor_id(),
			(u16)(ticket - PVX_TICKET_STEP), halted);
	if (halted)
		pvx_spin_kick_cpu(cpu);
	return true;
}

/*
 * Whether to skip the waiter ahead, whose turn @raw serves: skips are on,
 * it is the ticket right before ours, unclaimed, and its waiter (found in
 * the published slots, *@w; not skipped before in this acquisition) is
 * off its CPU. Returns its CPU, or -1.
 */
static int pvx_spin_skip_target(const struct pvx_spinlock *lock, u16 raw,
				u16 ticket, struct pvx_spin_waiter **w)
{
	bool halted = false;
	int cpu;

	if (!READ_ONCE(skip_preempted) || !pvx_spin_skippable(raw, ticket))
		return -1;
	cpu = pvx_spin_ticket_cpu(lock, raw & ~PVX_SPIN_FLAGS, &halted, w);
	if (cpu < 0 || cpu >= nr_cpu_ids || cpu == smp_processor_id() ||
	    READ_ONCE((*w)->requeued))
		return -1;
	return halted || vcpu_is_preempted(cpu) ? cpu : -1;
}

/*
 * Draw a ticket (again, after a skip passed ours). Returns it; *@head is
 * the ticket served then.
 */
static u16 pvx_spin_draw(struct pvx_spinlock *lock, u16 *head)
{
	u32 old = atomic_fetch_add((int)PVX_TICKET_INC, &lock->val);

	*head = old & 0xffff & ~PVX_SPIN_FLAGS;
	return old >> 16;
}

/*
 * A skip took the turn of @w's ticket while its vCPU was off its CPU
 * (only published waiters are skipped): draw again, once per acquisition.
 * Returns the new ticket; *@head and *@queued as pvx_spin_wait() keeps
 * them.
 */
static u16 pvx_spin_requeue(struct pvx_spinlock *lock,
			    struct pvx_spin_waiter *w, u16 *head, u16 *queued)
{
	u16 ticket = pvx_spin_draw(lock, head);

	*queued = (u16)(ticket - *head) / PVX_TICKET_STEP;
	pvx_spin_count(PVX_SPIN_REQUEUES);
	/*
	 * Not skipped again, then unmarked, then the new ticket: a reader
	 * (pvx_spin_ticket_cpu()) that finds the old ticket unmarked finds
	 * it requeued, one that finds the new ticket finds it unmarked.
	 */
	WRITE_ONCE(w->requeued, true);
	/* requeued before unmarked; pairs with pvx_spin_ticket_cpu() */
	smp_wmb();
	WRITE_ONCE(w->passed, false);
	/* unmarked before the ticket; pairs with its smp_rmb() */
	smp_wmb();
	WRITE_ONCE(w->ticket, ticket);
	return ticket;
}

/*
 * Slow path: draw a ticket, wait for its turn and claim it. Returns the
 * ticket held; *@queued the tickets that were ahead of it when it was
 * drawn. Runs with preemption (and maybe interrupts) disabled.
 */
static noinline u16 pvx_spin_wait(struct pvx_spinlock *lock, u16 *queued)
{
	bool can_yield = pvx_spin_mode != PVX_SPIN_MODE_SPIN;
	unsigned int threshold = READ_ONCE(spin_threshold);
	unsigned int spins = 0, since_yield = 0, yields = 0;
	int me = smp_processor_id();
	struct pvx_spin_waiter *w;
	u16 head, ticket, raw;

	pvx_spin_count(PVX_SPIN_SLOW_PATHS);
	ticket = pvx_spin_draw(lock, &head);
	*queued = (u16)(ticket - head) / PVX_TICKET_STEP;
	w = pvx_spin_publish(lock, ticket);
	for (;;) {
		unsigned int delay, i;
		struct pvx_spin_waiter *passed = NULL;
		bool off_cpu = false, next;
		int target;
		long ret;

		delay = min_t(unsigned int, (u16)(ticket - head) /
			      PVX_TICKET_STEP * PVX_SPIN_BACKOFF_UNIT,
			      PVX_SPIN_BACKOFF_MAX);
		for (i = 0; i < delay; i++)
			cpu_relax();
		spins += delay;
		since_yield += delay;

		/* pairs with the release in __pvx_spin_unlock() */
		raw = smp_load_acquire(&lock->head);
		head = raw & ~PVX_SPIN_FLAGS;
		switch (pvx_spin_step(w && READ_ONCE(w->passed), raw, ticket)) {
		case PVX_SPIN_STEP_CLAIM:
			if (pvx_spin_claim(lock, raw))
				goto held;
			continue;
		case PVX_SPIN_STEP_REQUEUE:
			ticket = pvx_spin_requeue(lock, w, &head, queued);
			continue;
		case PVX_SPIN_STEP_WAIT:
			break;
		}
		if (!can_yield ||
		    since_yield < min(PVX_SPIN_YIELD_GAP, threshold))
			continue;

		target = pvx_spin_skip_target(lock, raw, ticket, &passed);
		if (target >= 0 && pvx_spin_skip(lock, raw, ticket, target,
						 passed))
			goto held;

		target = pvx_spin_yield_target(lock, head, me, &next, &off_cpu);
		if (target < 0)
			continue;
		off_cpu = off_cpu && since_yield >= PVX_SPIN_YIELD_GAP;
		if (!off_cpu && since_yield < threshold)
			continue;

		since_yield = 0;
		/*
		 * A yield did not get the lock to us: the host ran us again
		 * before the vCPUs ahead were done. Halt until our turn
		 * (not in NMI context: an NMI that halted could wait for an
		 * interrupt that the CPU it interrupted keeps masked).
		 */
		if (off_cpu && yields && w && pvx_spin_may_halt() && !in_nmi()) {
			pvx_spin_halt(lock, w, ticket);
			continue;
		}
		ret = pvx_spin_yield_to_cpu(target);
		trace_spin_yield(lock, target, me, spins, off_cpu, next, ret);
		yields++;
	}
held:
	pvx_spin_unpublish(w);
	return ticket;
}

/*
 * The holder of @ticket clears PVX_SPIN_HALTED when nobody is queued
 * behind it (a waiter that queues meanwhile makes the cmpxchg fail, and
 * it clears the flag itself when it is the last).
 */
static __always_inline void pvx_spin_clear_halted(struct pvx_spinlock *lock,
						  u16 ticket)
{
	u32 held = (u32)(u16)(ticket + PVX_TICKET_STEP) << 16 | ticket |
		   PVX_SPIN_CLAIMED;
	int old = (int)(held | PVX_SPIN_HALTED);

	if (pvx_spin_may_halt() &&
	    unlikely(READ_ONCE(lock->head) & PVX_SPIN_HALTED))
		atomic_try_cmpxchg_relaxed(&lock->val, &old, (int)held);
}

/*
 * The caller holds @lock now, with @ticket, after @queued tickets were
 * served.
 */
static __always_inline void pvx_spin_held(struct pvx_spinlock *lock,
					  u16 ticket, u16 queued)
{
	pvx_spin_clear_halted(lock, ticket);
	WRITE_ONCE(lock->holder_cpu, smp_processor_id());
	lock->queued = queued;
	pvx_spin_count(PVX_SPIN_ACQUISITIONS);
}

static __always_inline void __pvx_spin_lock(struct pvx_spinlock *lock)
{
	u16 ticket, queued = 0;

	if (unlikely(!pvx_spin_take_free(lock, &ticket)))
		ticket = pvx_spin_wait(lock, &queued);
	pvx_spin_held(lock, ticket, queued);
}

/*
 * Only the holder moves a claimed .head. One add of PVX_TICKET_STEP -
 * PVX_SPIN_CLAIMED serves the next ticket unclaimed. With halting on it
 * is an xadd on the 16-bit head that releases the lock (a locked
 * instruction: the critical section before the next ticket, pairs with
 * pvx_spin_wait()) and returns whether a waiter set PVX_SPIN_HALTED: the
 * lock is not read after it, since the next holder may free it at once.
 * The 16-bit operations may race with waiters' atomic add on the whole
 * word, which x86 keeps consistent (the kernel's own ticket locks did the
 * same); a skip cannot race with them: it needs an unclaimed .head.
 */
static __always_inline void __pvx_spin_unlock(struct pvx_spinlock *lock)
{
	const u16 release = PVX_TICKET_STEP - PVX_SPIN_CLAIMED;
	u16 head;

	WRITE_ONCE(lock->holder_cpu, -1);
	if (!pvx_spin_may_halt()) {
		/* no waiter halts, none sets the flag */
		smp_store_release(&lock->head, READ_ONCE(lock->head) + release);
		return;
	}
	head = xadd(&lock->head, release);
	if (unlikely(head & PVX_SPIN_HALTED))
		pvx_spin_kick(lock, (head & ~PVX_SPIN_FLAGS) + PVX_TICKET_STEP);
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
	u16 ticket;

	preempt_disable();
	if (pvx_spin_take_free(lock, &ticket)) {
		pvx_spin_held(lock, ticket, 0);
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
PVX_SPIN_STAT_ATTR(kick_misses, PVX_SPIN_KICK_MISSES);
PVX_SPIN_STAT_ATTR(skips, PVX_SPIN_SKIPS);
PVX_SPIN_STAT_ATTR(requeues, PVX_SPIN_REQUEUES);

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
	&stat_skips_attr.kattr.attr,
	&stat_requeues_attr.kattr.attr,
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
	/* tickets in flight: one per CPU and nesting context at most */
	if (nr_cpu_ids * PVX_SPIN_NEST_MAX >= PVX_TICKETS) {
		pr_err("%u CPUs: more lockers than the %lu tickets could tell apart\n",
		       nr_cpu_ids, PVX_TICKETS);
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
	pr_info("mode %s (%s); holder preemption %s; halt-and-kick %s; skip %s; spin_threshold %u\n",
		pvx_spin_mode_names[pvx_spin_mode], why,
		kvm_features & BIT(KVM_FEATURE_STEAL_TIME) ?
		"seen through steal time" : "not visible (no steal time)",
		pvx_spin_may_halt() ? "on" : "off",
		skip_preempted ? "on" : "off", spin_threshold);
	return 0;
}

static void __exit pvx_spinlock_exit(void)
{
	pvx_unregister_ioctl(PVX_IOC_YIELD_TO);
	pvx_sysfs_remove_group(&pvx_spin_group);
}

module_init(pvx_spinlock_init);
module_exit(pvx_spinlock_exit);

MODULE_DESCRIPTION("pvx pv spinlock: fair ticket lock with directed yield to a preempted holder");
MODULE_LICENSE("GPL");
