// SPDX-License-Identifier: GPL-2.0
/*
 * libpvx: the userspace lock of pvx_lock.h.
 *
 * The lock word is a futex: bits 0..29 the owner's thread id, bit 31
 * "waiters" (somebody may sleep on the futex), bit 30 unused here (the
 * kernel's FUTEX_OWNER_DIED; kept clear so that the layout stays the
 * robust-futex one). Drepper's "Futexes are tricky" mutex with the owner's
 * tid in place of the "locked" value:
 *
 *   lock:   CAS 0 -> tid. Else spin, reading the word; every
 *           PVX_SPIN_CHECK pauses look at the holder: with /dev/pvx ask the
 *           guest to direct a yield at the holder's vCPU (PVX_IOC_YIELD_TO;
 *           about a new holder at once, then every PVX_ASK_EVERY looks):
 *             DONE / NOT_DONE  the host had preempted it: spin on, it runs
 *             TARGET_RUNNING   it runs: spin on, up to LIBPVX_SPIN_LOOKS
 *                              looks (default PVX_SPIN_ROUNDS)
 *             EAGAIN           not on a CPU in the guest: sleep now
 *           without /dev/pvx spin PVX_SPIN_ROUNDS_FALLBACK rounds. With
 *           LIBPVX_SATURATED_SLEEP=1 in the environment (opt-in: it is
 *           less fair, libpvx_test's fairness check fails now and then), a
 *           waiter that sees the waiters bit (others sleep: the lock is
 *           saturated) sleeps after its first look, once it has asked
 *           about the holder (a preempted holder still gets its yield):
 *           the running thread then re-takes the free lock at once, as
 *           with a pthread mutex, instead of waiting for a spinner's
 *           critical section; not while a waiter starves (it slept
 *           PVX_STARVE_SLEEPS times: lock->reserved counts those), so
 *           that barging is bounded. Then set
 *           the waiters bit and FUTEX_WAIT. A thread that slept takes the
 *           lock with the waiters bit set, since others may sleep too.
 *   unlock: exchange with 0; FUTEX_WAKE one sleeper only if the waiters
 *           bit was set (no thundering herd, no syscall without waiters).
 *
 * Robust locks: a sleeper wakes every PVX_ROBUST_POLL_MS and checks that
 * the owner thread still exists (private lock: in this process, tgkill
 * signal 0; shared lock: kill signal 0); if not, it takes the lock over
 * and gets EOWNERDEAD, as with a robust pthread mutex.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"
#include "pvx_lock.h"

#define PVX_API			__attribute__((visibility("default")))

#define PVX_TID_MASK		0x3fffffffu
#define PVX_WAITERS		0x80000000u

#define PVX_SPIN_CHECK		64	/* pauses between looks at the holder */
#define PVX_SPIN_ROUNDS		16	/* looks while the holder runs */
#define PVX_ASK_EVERY		4	/* looks per ioctl about one holder */
#define PVX_SPIN_ROUNDS_FALLBACK 4	/* looks without /dev/pvx */
#define PVX_YIELDS_MAX		8	/* directed yields per wait */
#define PVX_ROBUST_POLL_MS	20
#define PVX_STARVE_SLEEPS	2	/* sleeps before a waiter is starving */

/* lock->state (robust locks) */
#define PVX_STATE_OK		0u
#define PVX_STATE_INCONSISTENT	1u	/* taken over from a dead owner */
#define PVX_STATE_NOTRECOVERABLE 2u	/* unlocked while inconsistent */

static pthread_once_t pvx_once = PTHREAD_ONCE_INIT;
static int pvx_fd = -1;		/* /dev/pvx, when directed yields work */
static int pvx_mode = PVX_LIB_FALLBACK;
static unsigned int pvx_spin_looks = PVX_SPIN_ROUNDS;	/* LIBPVX_SPIN_LOOKS */
static bool pvx_saturated_sleep;	/* LIBPVX_SATURATED_SLEEP=1 */
static __thread unsigned int pvx_tid;	/* cached; 0 in a fork child */

static struct pvx_lock_stats pvx_stats;	/* __atomic builtins */

#define pvx_count(field) \
	__atomic_fetch_add(&pvx_stats.field, 1, __ATOMIC_RELAXED)

static void pvx_atfork_child(void)
{
	pvx_tid = 0;
}

/*
 * Directed yields need /dev/pvx with PVX_IOC_YIELD_TO (pvx_spinlock.ko):
 * a yield "to" the caller itself answers TARGET_RUNNING without a
 * hypercall when the ioctl is there and enabled. LIBPVX_FALLBACK=1 in the
 * environment forces the plain futex mutex.
 */
static void pvx_init_once(void)
{
	struct pvx_yield_to req = { .tid = (unsigned int)syscall(SYS_gettid) };
	const char *env = getenv("LIBPVX_FALLBACK");
	const char *looks = getenv("LIBPVX_SPIN_LOOKS");
	const char *sat = getenv("LIBPVX_SATURATED_SLEEP");
	char *end;
	long n;
	int fd;

	pthread_atfork(NULL, NULL, pvx_atfork_child);
	if (looks && *looks) {
		n = strtol(looks, &end, 10);
		if (!*end && n >= 0 && n <= 1000)
			pvx_spin_looks = n;
	}
	if (sat && *sat && strcmp(sat, "0"))
		pvx_saturated_sleep = true;
	if (env && *env && strcmp(env, "0"))
		return;
	fd = open("/dev/pvx", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (ioctl(fd, PVX_IOC_YIELD_TO, &req) != PVX_YIELD_TARGET_RUNNING) {
		close(fd);
		return;
	}
	pvx_fd = fd;
	pvx_mode = PVX_LIB_PVX;
}

PVX_API int pvx_lib_init(void)
{
	return pthread_once(&pvx_once, pvx_init_once);
}

PVX_API int pvx_lib_mode(void)
{
	pvx_lib_init();
	return pvx_mode;
}

PVX_API const char *pvx_lib_version(void)
{
	return "libpvx 1.1";
}

static inline unsigned int pvx_self(void)
{
	if (__builtin_expect(!pvx_tid, 0)) {
		pvx_lib_init();
		pvx_tid = (unsigned int)syscall(SYS_gettid);
	}
	return pvx_tid;
}

/*
 * The futex operation for a lock of @flags (lock->flags, read while the lock
 * is held or waited for: never after the unlock's releasing store).
 */
static inline int pvx_futex_op(unsigned int flags, int op)
{
	return op | (flags & PVX_LOCK_PSHARED ? 0 : FUTEX_PRIVATE_FLAG);
}

static void pvx_futex_wait(pvx_lock_t *lock, unsigned int val, bool timed)
{
	struct timespec ts = { 0, PVX_ROBUST_POLL_MS * 1000000L };

	pvx_count(futex_waits);
	/* EAGAIN (word changed), EINTR (signal), ETIMEDOUT: the caller looks again */
	syscall(SYS_futex, &lock->word, pvx_futex_op(lock->flags, FUTEX_WAIT),
		val, timed ? &ts : NULL, NULL, 0);
}

/*
 * Wake @n sleepers on @word after the unlock released it: only the address
 * is passed to the kernel, the lock's memory is not touched (another thread
 * may have taken, released and freed it by now). A private futex wake does
 * not read the word; a shared one on memory unmapped meanwhile fails with
 * EFAULT, and one on memory reused as another futex wakes a sleeper there
 * spuriously, which every futex user copes with (as with glibc's mutexes).
 */
static void pvx_futex_wake(unsigned int *word, int op, int n)
{
	pvx_count(futex_wakes);
	syscall(SYS_futex, word, op, n, NULL, NULL, 0);
}

/* Does the thread @tid that owns @lock still exist? */
static bool pvx_owner_alive(const pvx_lock_t *lock, unsigned int tid)
{
	int ret;

	if (lock->flags & PVX_LOCK_PSHARED)
		ret = kill((pid_t)tid, 0);
	else
		ret = (int)syscall(SYS_tgkill, getpid(), (pid_t)tid, 0);
	return ret == 0 || errno != ESRCH;
}

/*
 * Take @lock over from its dead owner: @v is the word seen. 0 when the
 * word changed meanwhile (look again), else EOWNERDEAD.
 */
static int pvx_take_over(pvx_lock_t *lock, unsigned int v, unsigned int me)
{
	if (!__atomic_compare_exchange_n(&lock->word, &v, me | (v & PVX_WAITERS),
					 false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;
	lock->state = PVX_STATE_INCONSISTENT;
	pvx_count(owner_died);
	return EOWNERDEAD;
}

/* Whether the lock may be used once taken: 0, or it was released again. */
static int pvx_acquired(pvx_lock_t *lock)
{
	if (!(lock->flags & PVX_LOCK_ROBUST) ||
	    lock->state != PVX_STATE_NOTRECOVERABLE)
		return 0;
	pvx_lock_unlock(lock);
	return ENOTRECOVERABLE;
}

/*
 * Spin while it is worth it. Returns true when the lock was taken (with
 * @extra or'ed into the word), false when the waiter should sleep.
 */
static bool pvx_spin(pvx_lock_t *lock, unsigned int me, unsigned int extra)
{
	unsigned int rounds = 0, yields = 0, asked = 0, v, i, owner;
	struct pvx_yield_to req = { 0 };
	/* LIBPVX_SPIN_LOOKS=0: no spin while the holder runs, ask at once */
	bool eager = pvx_mode == PVX_LIB_PVX && !pvx_spin_looks;
	int ret;

	for (;;) {
		v = __atomic_load_n(&lock->word, __ATOMIC_RELAXED);
		for (i = 0; i < PVX_SPIN_CHECK && !eager; i++) {
			v = __atomic_load_n(&lock->word, __ATOMIC_RELAXED);
			if (!(v & PVX_TID_MASK) &&
			    __atomic_compare_exchange_n(&lock->word, &v,
							v | me | extra, false,
							__ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return true;
			__builtin_ia32_pause();
		}
		eager = false;
		owner = v & PVX_TID_MASK;
		if (!owner)
			continue;
		/*
		 * Saturated: others already sleep on it and the holder runs.
		 * Sleep too instead of spinning, so that a running thread takes
		 * the lock again at once (the mutex's fast path, its low p99)
		 * and a spinner does not take it from under it and make it wait.
		 * A holder the host preempted still gets its directed yield.
		 */
		if ((v & PVX_WAITERS) && pvx_saturated_sleep &&
		    (pvx_mode != PVX_LIB_PVX || owner == asked) &&
		    !__atomic_load_n(&lock->reserved, __ATOMIC_RELAXED))
			return false;
		if (pvx_mode != PVX_LIB_PVX) {
			if (++rounds >= PVX_SPIN_ROUNDS_FALLBACK)
				return false;
			continue;
		}
		/* a syscall costs spinning time: ask about a new holder, then
		 * every PVX_ASK_EVERY looks
		 */
		if (owner == asked && rounds % PVX_ASK_EVERY) {
			if (++rounds >= pvx_spin_looks)
				return false;
			continue;
		}
		asked = owner;
		req.tid = owner;
		pvx_count(yield_calls);
		ret = ioctl(pvx_fd, PVX_IOC_YIELD_TO, &req);
		if (ret == PVX_YIELD_DONE || ret == PVX_YIELD_NOT_DONE) {
			/* the host had preempted the holder: it runs now */
			if (ret == PVX_YIELD_DONE)
				pvx_count(yields_done);
			if (++yields >= PVX_YIELDS_MAX)
				return false;
		} else if (ret == PVX_YIELD_TARGET_RUNNING) {
			pvx_count(holder_running);
			if (++rounds >= pvx_spin_looks)
				return false;
		} else {
			/* EAGAIN: descheduled in the guest; ESRCH, EPERM... */
			if (errno == EAGAIN)
				pvx_count(holder_off_cpu);
			return false;
		}
	}
}

/*
 * Taken in the slow path after @sleeps sleeps: a starving waiter that got
 * it withdraws its claim (lock->reserved counts the starving waiters).
 */
static int pvx_got(pvx_lock_t *lock, unsigned int sleeps, int ret)
{
	if (sleeps >= PVX_STARVE_SLEEPS)
		__atomic_fetch_sub(&lock->reserved, 1, __ATOMIC_RELAXED);
	return ret ? ret : pvx_acquired(lock);
}

static int pvx_lock_slow(pvx_lock_t *lock, unsigned int me)
{
	bool robust = lock->flags & PVX_LOCK_ROBUST;
	unsigned int extra = 0, sleeps = 0, v, owner;
	int ret;

	pvx_count(slow_paths);
	v = __atomic_load_n(&lock->word, __ATOMIC_RELAXED);
	if ((v & PVX_TID_MASK) == me)
		return EDEADLK;
	for (;;) {
		if (pvx_spin(lock, me, extra))
			return pvx_got(lock, sleeps, 0);
		/* sleep: make sure the waiters bit is set in what we wait on */
		v = __atomic_load_n(&lock->word, __ATOMIC_RELAXED);
		owner = v & PVX_TID_MASK;
		if (!owner) {
			if (__atomic_compare_exchange_n(&lock->word, &v,
							me | PVX_WAITERS, false,
							__ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return pvx_got(lock, sleeps, 0);
			continue;
		}
		if (robust && !pvx_owner_alive(lock, owner)) {
			ret = pvx_take_over(lock, v, me);
			if (ret)
				return pvx_got(lock, sleeps, ret);
			continue;
		}
		if (!(v & PVX_WAITERS) &&
		    !__atomic_compare_exchange_n(&lock->word, &v, v | PVX_WAITERS,
						 false, __ATOMIC_RELAXED,
						 __ATOMIC_RELAXED))
			continue;
		pvx_futex_wait(lock, v | PVX_WAITERS, robust);
		/* having slept, take it with the waiters bit: others may sleep */
		extra = PVX_WAITERS;
		/*
		 * Woken this often and the lock still taken by running
		 * threads: starving. While a waiter starves, nobody sleeps on
		 * the saturated lock at first sight: waiters spin again, so
		 * that a woken waiter gets it within its spin (bounds barging).
		 */
		if (++sleeps == PVX_STARVE_SLEEPS)
			__atomic_fetch_add(&lock->reserved, 1, __ATOMIC_RELAXED);
	}
}

PVX_API int pvx_lock_init(pvx_lock_t *lock, unsigned int flags)
{
	if (!lock || (flags & ~PVX_LOCK_F_ALL))
		return EINVAL;
	memset(lock, 0, sizeof(*lock));
	lock->flags = flags;
	pvx_lib_init();
	return 0;
}

PVX_API int pvx_lock_destroy(pvx_lock_t *lock)
{
	if (!lock)
		return EINVAL;
	if (__atomic_load_n(&lock->word, __ATOMIC_RELAXED) & PVX_TID_MASK)
		return EBUSY;
	return 0;
}

PVX_API int pvx_lock_lock(pvx_lock_t *lock)
{
	unsigned int me = pvx_self(), v = 0;

	if (__atomic_compare_exchange_n(&lock->word, &v, me, false,
					__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return pvx_acquired(lock);
	return pvx_lock_slow(lock, me);
}

PVX_API int pvx_lock_trylock(pvx_lock_t *lock)
{
	unsigned int me = pvx_self(), v = 0, owner;

	if (__atomic_compare_exchange_n(&lock->word, &v, me, false,
					__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return pvx_acquired(lock);
	owner = v & PVX_TID_MASK;
	if (!owner && __atomic_compare_exchange_n(&lock->word, &v, v | me, false,
						  __ATOMIC_ACQUIRE,
						  __ATOMIC_RELAXED))
		return pvx_acquired(lock);
	if (owner && owner != me && (lock->flags & PVX_LOCK_ROBUST) &&
	    !pvx_owner_alive(lock, owner) && pvx_take_over(lock, v, me))
		return EOWNERDEAD;
	return EBUSY;
}

/*
 * Everything the unlock needs from the lock (flags, state) is read, and
 * the NOTRECOVERABLE state stored, before the one store that releases the
 * word: from that store on another thread may take the lock, unlock it,
 * destroy and free its memory (pthread_mutex_unlock() allows that, POSIX
 * "destroying a mutex"), so the unlock must not touch it again.
 */
PVX_API int pvx_lock_unlock(pvx_lock_t *lock)
{
	unsigned int me = pvx_self(), flags, *word = &lock->word;
	unsigned int v = __atomic_load_n(word, __ATOMIC_RELAXED);
	bool lost = false;
	int wake;

	if ((v & PVX_TID_MASK) != me)
		return EPERM;
	flags = lock->flags;
	if ((flags & PVX_LOCK_ROBUST) && lock->state != PVX_STATE_OK) {
		/* unlocked without pvx_lock_consistent(): unusable from now on */
		lock->state = PVX_STATE_NOTRECOVERABLE;
		lost = true;
	}
	wake = pvx_futex_op(flags, FUTEX_WAKE);
	/* no waiter: one CAS releases, nothing to wake */
	if (!lost && v == me &&
	    __atomic_compare_exchange_n(word, &v, 0, false, __ATOMIC_RELEASE,
					__ATOMIC_RELAXED))
		return 0;
	/* the releasing store; the lock's memory is not touched after it */
	v = __atomic_exchange_n(word, 0, __ATOMIC_RELEASE);
	if (lost)
		pvx_futex_wake(word, wake, INT_MAX);
	else if (v & PVX_WAITERS)
		pvx_futex_wake(word, wake, 1);
	return 0;
}

PVX_API int pvx_lock_consistent(pvx_lock_t *lock)
{
	unsigned int v = __atomic_load_n(&lock->word, __ATOMIC_RELAXED);

	if (!(lock->flags & PVX_LOCK_ROBUST) ||
	    lock->state != PVX_STATE_INCONSISTENT)
		return EINVAL;
	if ((v & PVX_TID_MASK) != pvx_self())
		return EPERM;
	lock->state = PVX_STATE_OK;
	return 0;
}

PVX_API void pvx_lock_stats(struct pvx_lock_stats *stats)
{
	unsigned long long *d = (unsigned long long *)stats;
	unsigned long long *s = (unsigned long long *)&pvx_stats;
	size_t i;

	for (i = 0; i < sizeof(*stats) / sizeof(*d); i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}
