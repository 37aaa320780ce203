// SPDX-License-Identifier: GPL-2.0
/*
 * libpvx_test: libpvx's lock, natively (make check) and in an L3 guest.
 *
 *   exclusion  N threads (default 4 x online CPUs, so more threads than
 *              CPUs) take one lock for a fixed total of acquisitions
 *              (default 5 000 000); a plain counter and an "inside" flag
 *              under the lock must add up exactly, and every thread must
 *              get a fair share (fairness under overcommit).
 *   errors     trylock EBUSY, relock EDEADLK, unlock by a non-owner EPERM,
 *              bad flags EINVAL, destroy of a held lock EBUSY.
 *   handover   waiters asleep on a held lock are woken one at a time
 *              (no thundering herd: few extra FUTEX_WAITs).
 *   robust     a holder thread that exits: EOWNERDEAD, consistent, reuse;
 *              without consistent: ENOTRECOVERABLE; a holder process that
 *              exits holding a shared lock: EOWNERDEAD in another process.
 *   signals    a waiter bombarded with signals (no SA_RESTART) does not
 *              get the lock before it is released; exclusion under signals.
 *   fork       a child forked while the lock is held sees it held (private:
 *              EBUSY; robust private: EOWNERDEAD, its owner is not in the
 *              child; shared: the child gets it after the parent unlocks).
 *   free after unlock
 *              the unlock does not touch the lock after its releasing
 *              store: every access of an unlock traced (waiters, shared,
 *              robust not recoverable), and a torture where the next owner
 *              destroys and frees the lock into a poisoning allocator.
 *   fallback   LIBPVX_FALLBACK=1: plain futex mutex, no PVX_IOC_YIELD_TO.
 *
 * Usage: libpvx_test [--threads N] [--acquisitions N]. TAP 13 (kselftest.h);
 * exit 0, 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "pvx_lock.h"
#include "kselftest.h"

/* One check: a kselftest result whose description is printf-formatted. */
static __attribute__((format(printf, 2, 3))) bool check(bool pass, const char *fmt, ...)
{
	char desc[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	ksft_test_result(pass, "%s\n", desc);
	return pass;
}

static unsigned int nthreads;
static unsigned long total_acq = 5000000;

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- exclusion and fairness ------------------------------------------ */

struct excl {
	pvx_lock_t lock;
	char pad[64];
	unsigned long count;	/* under the lock */
	int inside;		/* under the lock: must be 0 on entry */
	unsigned long overlaps;
	char pad2[64];
	pthread_barrier_t start;
};

struct excl_thread {
	struct excl *e;
	pthread_t th;
	unsigned long mine;
	int err;
};

static void *excl_fn(void *arg)
{
	struct excl_thread *t = arg;
	struct excl *e = t->e;
	unsigned int think = 0;
	int ret;

	pthread_barrier_wait(&e->start);
	for (;;) {
		ret = pvx_lock_lock(&e->lock);
		if (ret) {
			t->err = ret;
			break;
		}
		if (e->inside++)
			e->overlaps++;
		if (e->count >= total_acq) {
			e->inside--;
			pvx_lock_unlock(&e->lock);
			break;
		}
		e->count++;
		e->inside--;
		pvx_lock_unlock(&e->lock);
		t->mine++;
		for (think = 0; think < 32; think++)
			__asm__ volatile("" ::: "memory");
	}
	return NULL;
}

/* Returns whether the lock excluded and counted exactly; *@fair: shares. */
static bool run_exclusion(const char *what, bool *fair)
{
	struct excl *e = calloc(1, sizeof(*e));
	struct excl_thread *t = calloc(nthreads, sizeof(*t));
	unsigned long sum = 0, min = ~0ul, max = 0;
	struct timespec t0, t1;
	unsigned int i;
	int err = 0;
	bool ok;
	double s;

	pvx_lock_init(&e->lock, 0);
	pthread_barrier_init(&e->start, NULL, nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		t[i].e = e;
		pthread_create(&t[i].th, NULL, excl_fn, &t[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_barrier_wait(&e->start);
	for (i = 0; i < nthreads; i++) {
		pthread_join(t[i].th, NULL);
		sum += t[i].mine;
		min = t[i].mine < min ? t[i].mine : min;
		max = t[i].mine > max ? t[i].mine : max;
		err |= t[i].err;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# %s: %u threads on %ld CPUs, %lu acquisitions in %.2f s, per thread min %lu max %lu\n",
	       what, nthreads, sysconf(_SC_NPROCESSORS_ONLN), sum, s, min, max);
	printf("# %s: counted %lu, overlaps %lu, error %d\n", what, sum, e->overlaps, err);
	ok = !err && !e->overlaps && e->count == total_acq && sum == total_acq;
	/* fair share: no thread starves (at least 1/16 of an even share) */
	*fair = min * 16 * nthreads >= total_acq;
	pthread_barrier_destroy(&e->start);
	free(t);
	free(e);
	return ok;
}

static void test_exclusion(void)
{
	bool fair, ok = run_exclusion("exclusion", &fair);

	check(ok, "mutual exclusion: %u threads, more than CPUs, exact count over %lu acquisitions",
	      nthreads, total_acq);
	check(fair, "fairness: every thread gets at least 1/16 of an even share");
}

/* ---- errors ------------------------------------------------------------ */

static pvx_lock_t err_lock = PVX_LOCK_INITIALIZER;

static void *unlock_other(void *arg)
{
	*(int *)arg = pvx_lock_unlock(&err_lock);
	return NULL;
}

static void *trylock_other(void *arg)
{
	*(int *)arg = pvx_lock_trylock(&err_lock);
	return NULL;
}

static void test_errors(void)
{
	pvx_lock_t l;
	pthread_t th;
	int r1, r2 = -1, r3 = -1, r4, r5, r6;

	check(pvx_lock_init(&l, 0x80) == EINVAL, "init with an unknown flag: EINVAL");
	r1 = pvx_lock_trylock(&err_lock);
	pthread_create(&th, NULL, trylock_other, &r2);
	pthread_join(th, NULL);
	pthread_create(&th, NULL, unlock_other, &r3);
	pthread_join(th, NULL);
	r4 = pvx_lock_lock(&err_lock);
	r5 = pvx_lock_destroy(&err_lock);
	r6 = pvx_lock_unlock(&err_lock);
	check(!r1 && r2 == EBUSY && r3 == EPERM && r4 == EDEADLK && r5 == EBUSY && !r6,
	      "trylock 0, trylock by another EBUSY (%d), unlock by another EPERM (%d), relock EDEADLK (%d), destroy held EBUSY (%d), unlock 0",
	      r2, r3, r4, r5);
	check(pvx_lock_unlock(&err_lock) == EPERM && !pvx_lock_destroy(&err_lock),
	      "unlock of an unlocked lock EPERM, destroy 0");
}

/* ---- handover: wake one ---------------------------------------------- */

static pvx_lock_t ho_lock = PVX_LOCK_INITIALIZER;
static int ho_got;

static void *ho_fn(void *arg)
{
	(void)arg;
	pvx_lock_lock(&ho_lock);
	__atomic_fetch_add(&ho_got, 1, __ATOMIC_RELAXED);
	sleep_ms(2);
	pvx_lock_unlock(&ho_lock);
	return NULL;
}

static void test_handover(void)
{
	enum { N = 6 };
	struct pvx_lock_stats s0, s1, s2;
	pthread_t th[N];
	int i;

	pvx_lock_lock(&ho_lock);
	pvx_lock_stats(&s0);
	for (i = 0; i < N; i++)
		pthread_create(&th[i], NULL, ho_fn, NULL);
	sleep_ms(300);	/* all of them asleep on the futex by now */
	pvx_lock_stats(&s1);
	pvx_lock_unlock(&ho_lock);
	for (i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	pvx_lock_stats(&s2);
	printf("# handover: futex waits %llu while held, %llu after; wakes %llu\n",
	       s1.futex_waits - s0.futex_waits, s2.futex_waits - s1.futex_waits,
	       s2.futex_wakes - s1.futex_wakes);
	/* a herd would re-sleep ~N*N/2 times; wake-one: each sleeps ~once more */
	check(ho_got == N && s2.futex_waits - s1.futex_waits <= 2 * N &&
	      s2.futex_wakes - s1.futex_wakes <= N + 1,
	      "handover: %d sleepers each get the lock, woken one by one (%llu waits, %llu wakes)",
	      N, s2.futex_waits - s1.futex_waits, s2.futex_wakes - s1.futex_wakes);
}

/* ---- barging: a running thread re-takes a lock others sleep on -------- */

static pvx_lock_t bg_lock = PVX_LOCK_INITIALIZER;
static int bg_stop;

static void *bg_fn(void *arg)
{
	(void)arg;
	for (;;) {
		pvx_lock_lock(&bg_lock);
		if (__atomic_load_n(&bg_stop, __ATOMIC_RELAXED)) {
			pvx_lock_unlock(&bg_lock);
			return NULL;
		}
		pvx_lock_unlock(&bg_lock);
		sleep_ms(1);
	}
}

/*
 * A saturated lock (sleepers queued, the holder running): the unlocking
 * thread may take the free lock again at once, out of turn, as a pthread
 * mutex lets it; the woken sleeper finds it taken and sleeps again (no
 * handoff that would make the running thread wait for a sleeper to be
 * scheduled). A woken sleeper might win one race now and then: of 20
 * tries, most must be the running thread's.
 */
static void test_barging(void)
{
	enum { N = 3, TRIES = 20 };
	struct pvx_lock_stats s0, s1;
	unsigned long long waits = 0;
	int i, retaken = 0;
	pthread_t th[N];

	for (i = 0; i < N; i++)
		pthread_create(&th[i], NULL, bg_fn, NULL);
	for (i = 0; i < TRIES; i++) {
		pvx_lock_lock(&bg_lock);
		pvx_lock_stats(&s0);
		sleep_ms(20);	/* the others asleep on the futex by now */
		pvx_lock_stats(&s1);
		pvx_lock_unlock(&bg_lock);
		if (!pvx_lock_trylock(&bg_lock)) {
			retaken++;
			pvx_lock_unlock(&bg_lock);
		}
		sleep_ms(2);	/* let the woken one run its turn */
		waits += s1.futex_waits - s0.futex_waits;
	}
	__atomic_store_n(&bg_stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	printf("# barging: the unlocker re-took the lock %d of %d times, %llu futex waits while held\n",
	       retaken, TRIES, waits);
	check(waits && retaken * 2 > TRIES,
	      "barging: with sleepers queued the unlocking thread re-takes the free lock (%d of %d)",
	      retaken, TRIES);
}

/* In a child with LIBPVX_SATURATED_SLEEP=1 (sleep at once on a saturated lock). */
static int saturated_sleep_child(void)
{
	bool fair, ok;

	nthreads = 8;
	total_acq = 200000;
	ok = run_exclusion("saturated sleep", &fair);
	return ok ? 0 : 1;
}

/* Run this test as "libpvx_test @arg" with @env=1: whether it exited 0. */
static bool run_child(const char *env, const char *arg)
{
	int st = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!pid) {
		setenv(env, "1", 1);
		execl("/proc/self/exe", "libpvx_test", arg, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && !WEXITSTATUS(st);
}

static void test_saturated_sleep(void)
{
	check(run_child("LIBPVX_SATURATED_SLEEP", "--saturated-sleep-child"),
	      "LIBPVX_SATURATED_SLEEP=1: waiters sleep at once on a saturated lock, and it excludes");
}

/* ---- robustness ------------------------------------------------------- */

static pid_t held_by;

static void *hold_and_exit(void *arg)
{
	pvx_lock_lock(arg);
	__atomic_store_n(&held_by, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	return NULL;	/* exits holding it */
}

/*
 * Join the holder and wait (up to 5 s) until its thread id is gone:
 * pthread_join() returns when the kernel clears the thread's tid word,
 * a moment before it releases the thread, and until then the thread
 * still exists for tgkill(), so a trylock may find its owner alive.
 */
static void join_dead(pthread_t th)
{
	pid_t tid;
	int i;

	pthread_join(th, NULL);
	tid = __atomic_load_n(&held_by, __ATOMIC_ACQUIRE);
	for (i = 0; i < 5000; i++) {
		if (syscall(SYS_tgkill, getpid(), tid, 0) && errno == ESRCH)
			return;
		sleep_ms(1);
	}
}

static void test_robust(void)
{
	pvx_lock_t l;
	pthread_t th;
	int r1, r2, r3, r4, r5;
	pvx_lock_t *sh;
	pid_t pid;
	int st;

	pvx_lock_init(&l, PVX_LOCK_ROBUST);
	pthread_create(&th, NULL, hold_and_exit, &l);
	pthread_join(th, NULL);
	r1 = pvx_lock_lock(&l);
	r2 = pvx_lock_consistent(&l);
	r3 = pvx_lock_unlock(&l);
	r4 = pvx_lock_lock(&l);
	pvx_lock_unlock(&l);
	check(r1 == EOWNERDEAD && !r2 && !r3 && !r4,
	      "robust: holder thread exited: lock EOWNERDEAD (%d), consistent 0 (%d), unlock, lock 0 (%d)",
	      r1, r2, r4);

	pvx_lock_init(&l, PVX_LOCK_ROBUST);
	pthread_create(&th, NULL, hold_and_exit, &l);
	join_dead(th);
	r1 = pvx_lock_trylock(&l);
	pvx_lock_unlock(&l);	/* not made consistent */
	r2 = pvx_lock_lock(&l);
	r3 = pvx_lock_trylock(&l);
	check(r1 == EOWNERDEAD && r2 == ENOTRECOVERABLE && r3 == ENOTRECOVERABLE,
	      "robust: unlocked without consistent: ENOTRECOVERABLE (trylock %d, lock %d, trylock %d)",
	      r1, r2, r3);

	pvx_lock_init(&l, 0);
	pthread_create(&th, NULL, hold_and_exit, &l);
	join_dead(th);
	r5 = pvx_lock_trylock(&l);
	check(r5 == EBUSY, "not robust: a dead holder's lock stays held (trylock %d)", r5);

	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pvx_lock_init(sh, PVX_LOCK_ROBUST | PVX_LOCK_PSHARED);
	pid = fork();
	if (!pid)
		_exit(pvx_lock_lock(sh));
	waitpid(pid, &st, 0);
	r1 = pvx_lock_lock(sh);
	r2 = pvx_lock_consistent(sh);
	r3 = pvx_lock_unlock(sh);
	check(WIFEXITED(st) && !WEXITSTATUS(st) && r1 == EOWNERDEAD && !r2 && !r3,
	      "robust shared: holder process exited: EOWNERDEAD in another process (%d)", r1);
	munmap(sh, 4096);
}

/* ---- signals ---------------------------------------------------------- */

static volatile sig_atomic_t sigs;
static pvx_lock_t sig_lock = PVX_LOCK_INITIALIZER;
static int sig_holder_done, sig_early;

static void on_sig(int sig)
{
	(void)sig;
	sigs++;
}

static void *sig_waiter(void *arg)
{
	(void)arg;
	pvx_lock_lock(&sig_lock);
	if (!__atomic_load_n(&sig_holder_done, __ATOMIC_ACQUIRE))
		sig_early = 1;
	pvx_lock_unlock(&sig_lock);
	return NULL;
}

static void test_signals(void)
{
	struct sigaction sa = { .sa_handler = on_sig };	/* no SA_RESTART */
	pthread_t th;
	int i;

	sigaction(SIGUSR1, &sa, NULL);
	pvx_lock_lock(&sig_lock);
	pthread_create(&th, NULL, sig_waiter, NULL);
	sleep_ms(50);
	for (i = 0; i < 2000; i++) {
		pthread_kill(th, SIGUSR1);
		if (!(i % 100))
			sleep_ms(1);
	}
	sleep_ms(20);
	__atomic_store_n(&sig_holder_done, 1, __ATOMIC_RELEASE);
	pvx_lock_unlock(&sig_lock);
	pthread_join(th, NULL);
	check(!sig_early && sigs > 0,
	      "signals: a waiter interrupted %d times gets the lock only after its release",
	      (int)sigs);
}

struct sig_storm {
	volatile int stop;
	pthread_t *victims;
	unsigned int n;
};

static void *storm_fn(void *arg)
{
	struct sig_storm *s = arg;
	unsigned int i = 0;

	while (!s->stop) {
		pthread_kill(s->victims[i++ % s->n], SIGUSR1);
		if (!(i % 64))
			sched_yield();
	}
	return NULL;
}

static void test_signal_storm(void)
{
	struct excl *e = calloc(1, sizeof(*e));
	struct excl_thread *t = calloc(nthreads, sizeof(*t));
	struct sig_storm s = { 0 };
	unsigned long saved = total_acq, sum = 0;
	int before = sigs, err = 0;
	pthread_t storm;
	unsigned int i;

	total_acq = saved / 10;
	pvx_lock_init(&e->lock, 0);
	pthread_barrier_init(&e->start, NULL, nthreads + 1);
	s.victims = calloc(nthreads, sizeof(pthread_t));
	s.n = nthreads;
	for (i = 0; i < nthreads; i++) {
		t[i].e = e;
		pthread_create(&t[i].th, NULL, excl_fn, &t[i]);
		s.victims[i] = t[i].th;
	}
	pthread_create(&storm, NULL, storm_fn, &s);
	pthread_barrier_wait(&e->start);
	for (i = 0; i < nthreads; i++) {
		pthread_join(t[i].th, NULL);
		sum += t[i].mine;
		err |= t[i].err;
		/* joined threads must not be signalled: stop first */
		if (i == 0) {
			s.stop = 1;
			pthread_join(storm, NULL);
		}
	}
	check(!err && !e->overlaps && e->count == total_acq && sum == total_acq,
	      "signals: exclusion while %d signals hit the waiters (%lu acquisitions, overlaps %lu)",
	      (int)(sigs - before), sum, e->overlaps);
	total_acq = saved;
	free(s.victims);
	free(t);
	free(e);
}

/* ---- fork while held ------------------------------------------------- */

static void test_fork(void)
{
	pvx_lock_t priv, rob, *sh;
	int st1, st2, st3, r;
	pid_t pid;

	pvx_lock_init(&priv, 0);
	pvx_lock_init(&rob, PVX_LOCK_ROBUST);
	pvx_lock_lock(&priv);
	pvx_lock_lock(&rob);
	pid = fork();
	if (!pid)
		_exit(pvx_lock_trylock(&priv) == EBUSY ? 0 : 1);
	waitpid(pid, &st1, 0);
	pid = fork();
	if (!pid) {
		r = pvx_lock_lock(&rob);
		_exit(r == EOWNERDEAD && !pvx_lock_consistent(&rob) &&
		      !pvx_lock_unlock(&rob) ? 0 : 1);
	}
	waitpid(pid, &st2, 0);
	pvx_lock_unlock(&priv);
	pvx_lock_unlock(&rob);
	check(WIFEXITED(st1) && !WEXITSTATUS(st1),
	      "fork while held: the child sees the private lock held (EBUSY)");
	check(WIFEXITED(st2) && !WEXITSTATUS(st2),
	      "fork while held: robust private lock, the owner is not in the child: EOWNERDEAD");

	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pvx_lock_init(sh, PVX_LOCK_PSHARED);
	pvx_lock_lock(sh);
	pid = fork();
	if (!pid) {
		if (pvx_lock_trylock(sh) != EBUSY)
			_exit(2);
		r = pvx_lock_lock(sh);	/* sleeps until the parent unlocks */
		_exit(r || pvx_lock_unlock(sh) ? 1 : 0);
	}
	sleep_ms(100);
	pvx_lock_unlock(sh);
	waitpid(pid, &st3, 0);
	check(WIFEXITED(st3) && !WEXITSTATUS(st3),
	      "fork while held: shared lock, the child waits and gets it after the parent's unlock (exit %d)",
	      WIFEXITED(st3) ? WEXITSTATUS(st3) : -1);
	munmap(sh, 4096);
}

/* ---- free after unlock ------------------------------------------------- */

/*
 * The unlock may not touch the lock once its releasing store is done:
 * from then on another thread may take it, unlock it, destroy and free it.
 *
 * Traced (deterministic): the lock alone in a page that is PROT_NONE while
 * pvx_lock_unlock() runs; every access faults, the SIGSEGV handler opens
 * the page, notes whether the word still names the caller as its owner,
 * and single-steps the access (EFLAGS.TF), after which the SIGTRAP handler
 * closes the page again. An access the handler sees with another owner (or
 * none) in the word is one after the release.
 *
 * Torture (poisoning allocator): pairs of threads on more threads than
 * CPUs; per round one thread takes a freshly allocated lock, the other
 * waits for it (spinning or asleep), gets it, unlocks, destroys and frees
 * it while the first one is still returning from its unlock. Free poisons
 * the lock's page (0x6b) and makes it PROT_NONE in a quarantine; a late
 * read or write faults (counted, then let through) and a late write is
 * also seen as a broken poison when the page is allocated again.
 */
#define UAF_TID_MASK	0x3fffffffu	/* the owner's tid in the word */
#define UAF_WAITERS	0x80000000u
#define UAF_POISON	0x6b
#define UAF_TF		0x100

static long uaf_psz;
static char *uaf_page;			/* the traced lock's page */
static unsigned int uaf_me;
static unsigned long uaf_touches, uaf_after;
static char *uaf_pool;			/* the torture's pages */
static size_t uaf_pool_len;
static unsigned long uaf_late;		/* faults on freed pages */

static void uaf_segv(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	char *a = si->si_addr;
	pvx_lock_t *l = (pvx_lock_t *)uaf_page;
	unsigned int w;

	if (uaf_page && a >= uaf_page && a < uaf_page + uaf_psz) {
		mprotect(uaf_page, uaf_psz, PROT_READ | PROT_WRITE);
		w = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
		uaf_touches++;
		if ((w & UAF_TID_MASK) != uaf_me)
			uaf_after++;
		uc->uc_mcontext.gregs[REG_EFL] |= UAF_TF;
		return;
	}
	if (uaf_pool && a >= uaf_pool && a < uaf_pool + uaf_pool_len) {
		__atomic_fetch_add(&uaf_late, 1, __ATOMIC_RELAXED);
		mprotect((void *)((unsigned long)a & ~(uaf_psz - 1)), uaf_psz,
			 PROT_READ | PROT_WRITE);
		return;
	}
	signal(sig, SIG_DFL);	/* not ours: fault again and die */
}

static void uaf_trap(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	(void)si;
	uc->uc_mcontext.gregs[REG_EFL] &= ~UAF_TF;
	mprotect(uaf_page, uaf_psz, PROT_NONE);
}

/* Unlock the lock of uaf_page with every access to it traced: 0 or errno. */
static int uaf_traced_unlock(void)
{
	int r;

	uaf_touches = 0;
	uaf_after = 0;
	uaf_me = (unsigned int)syscall(SYS_gettid);
	mprotect(uaf_page, uaf_psz, PROT_NONE);
	r = pvx_lock_unlock((pvx_lock_t *)uaf_page);
	mprotect(uaf_page, uaf_psz, PROT_READ | PROT_WRITE);
	return r;
}

struct uaf_pair {
	pthread_t a, b;
	char *pages;			/* UAF_SLOTS pages of uaf_pool */
	unsigned int next;		/* the slot allocated next */
	unsigned long seq, taken, freed;	/* round numbers */
	unsigned long rounds, bad_poison, bad_ret;
	char pad[64];
};

#define UAF_SLOTS	8

static unsigned long uaf_rounds;
static int uaf_stop;

/* Allocate the oldest page of the quarantine: its poison must be intact. */
static pvx_lock_t *uaf_alloc(struct uaf_pair *p)
{
	char *pg = p->pages + (size_t)(p->next++ % UAF_SLOTS) * uaf_psz;
	size_t i;

	mprotect(pg, uaf_psz, PROT_READ | PROT_WRITE);
	for (i = 0; i < sizeof(pvx_lock_t); i++)
		if ((unsigned char)pg[i] != UAF_POISON) {
			p->bad_poison++;
			break;
		}
	return (pvx_lock_t *)pg;
}

static void uaf_free(pvx_lock_t *l)
{
	memset(l, UAF_POISON, sizeof(*l));
	mprotect(l, uaf_psz, PROT_NONE);
}

static void uaf_wait_for(unsigned long *v, unsigned long want)
{
	while (__atomic_load_n(v, __ATOMIC_ACQUIRE) != want &&
	       !__atomic_load_n(&uaf_stop, __ATOMIC_RELAXED))
		sched_yield();	/* more threads than CPUs */
}

/* Takes a new lock per round, lets the other thread wait, unlocks it. */
static void *uaf_holder(void *arg)
{
	struct uaf_pair *p = arg;
	unsigned long r;
	pvx_lock_t *l;
	unsigned int i, spin = 0;

	for (r = 1; r <= uaf_rounds && !__atomic_load_n(&uaf_stop, __ATOMIC_RELAXED); r++) {
		l = uaf_alloc(p);
		pvx_lock_init(l, r & 1 ? PVX_LOCK_ROBUST : 0);
		if (pvx_lock_lock(l))
			p->bad_ret++;
		__atomic_store_n(&p->seq, r, __ATOMIC_RELEASE);
		uaf_wait_for(&p->taken, r);	/* the other one is at the lock */
		spin = spin * 1103515245u + 12345u;
		for (i = 0; i < (spin >> 16) % 4096; i++)
			__builtin_ia32_pause();
		if (pvx_lock_unlock(l))
			p->bad_ret++;
		uaf_wait_for(&p->freed, r);
		p->rounds++;
	}
	__atomic_store_n(&p->seq, ~0UL, __ATOMIC_RELEASE);
	return NULL;
}

/* Waits for the round's lock, takes it, unlocks, destroys and frees it. */
static void *uaf_taker(void *arg)
{
	struct uaf_pair *p = arg;
	unsigned long r = 0, s;
	pvx_lock_t *l;

	for (;;) {
		do
			s = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
		while (s == r && !__atomic_load_n(&uaf_stop, __ATOMIC_RELAXED) &&
		       !sched_yield());
		if (s == ~0UL || s == r)
			return NULL;
		r = s;
		l = (pvx_lock_t *)(p->pages + (size_t)((r - 1) % UAF_SLOTS) * uaf_psz);
		__atomic_store_n(&p->taken, r, __ATOMIC_RELEASE);
		if (pvx_lock_lock(l) || pvx_lock_unlock(l) || pvx_lock_destroy(l))
			p->bad_ret++;
		uaf_free(l);
		__atomic_store_n(&p->freed, r, __ATOMIC_RELEASE);
	}
}

static void test_free_after_unlock(void)
{
	struct sigaction sa = { .sa_flags = SA_SIGINFO | SA_NODEFER }, old_segv, old_trap;
	unsigned long rounds = 0, bad_poison = 0, bad_ret = 0, t1, t2, t3;
	unsigned int npairs = nthreads / 2 ? nthreads / 2 : 1, i;
	pvx_lock_t *l;
	struct uaf_pair *p;
	pthread_t th;
	int r1, r2, r3, r4, w;

	uaf_psz = sysconf(_SC_PAGESIZE);
	uaf_page = mmap(NULL, uaf_psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (uaf_page == MAP_FAILED) {
		check(false, "free after unlock: mmap: %s", strerror(errno));
		return;
	}
	sa.sa_sigaction = uaf_segv;
	sigaction(SIGSEGV, &sa, &old_segv);
	sa.sa_sigaction = uaf_trap;
	sigaction(SIGTRAP, &sa, &old_trap);
	l = (pvx_lock_t *)uaf_page;

	/* a sleeper may be there (waiters bit): unlock wakes it, private */
	pvx_lock_init(l, 0);
	pvx_lock_lock(l);
	__atomic_fetch_or(&l->word, UAF_WAITERS, __ATOMIC_RELAXED);
	r1 = uaf_traced_unlock();
	t1 = uaf_after;
	w = uaf_touches > 0;
	/* the same, shared between processes */
	pvx_lock_init(l, PVX_LOCK_PSHARED);
	pvx_lock_lock(l);
	__atomic_fetch_or(&l->word, UAF_WAITERS, __ATOMIC_RELAXED);
	r2 = uaf_traced_unlock();
	t2 = uaf_after;
	/* robust, taken over from a dead owner, unlocked without consistent */
	pvx_lock_init(l, PVX_LOCK_ROBUST);
	pthread_create(&th, NULL, hold_and_exit, l);
	join_dead(th);
	r3 = pvx_lock_trylock(l);
	r4 = uaf_traced_unlock();
	t3 = uaf_after;
	check(w && !r1 && !r2 && r3 == EOWNERDEAD && !r4 && !t1 && !t2 && !t3,
	      "free after unlock (traced): no access to the lock after the releasing store (with waiters: private %lu, shared %lu; robust unlocked inconsistent %lu)",
	      t1, t2, t3);
	check(pvx_lock_lock(l) == ENOTRECOVERABLE,
	      "free after unlock (traced): the robust lock is not recoverable after the traced unlock");
	munmap(uaf_page, uaf_psz);
	uaf_page = NULL;

	/* torture: pairs of threads, the lock freed by the one that took it */
	uaf_rounds = total_acq / 250 ? total_acq / 250 : 1;
	uaf_pool_len = (size_t)npairs * UAF_SLOTS * uaf_psz;
	p = calloc(npairs, sizeof(*p));
	uaf_pool = mmap(NULL, uaf_pool_len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!p || uaf_pool == MAP_FAILED) {
		check(false, "free after unlock (torture): no memory");
		uaf_pool = NULL;
		goto out;
	}
	memset(uaf_pool, UAF_POISON, uaf_pool_len);
	for (i = 0; i < npairs; i++) {
		p[i].pages = uaf_pool + (size_t)i * UAF_SLOTS * uaf_psz;
		pthread_create(&p[i].b, NULL, uaf_taker, &p[i]);
		pthread_create(&p[i].a, NULL, uaf_holder, &p[i]);
	}
	for (i = 0; i < 200 && !__atomic_load_n(&uaf_stop, __ATOMIC_RELAXED); i++) {
		unsigned int j, done = 0;

		sleep_ms(50);	/* at most 10 s */
		for (j = 0; j < npairs; j++)
			done += __atomic_load_n(&p[j].seq, __ATOMIC_RELAXED) == ~0UL;
		if (done == npairs)
			break;
	}
	__atomic_store_n(&uaf_stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < npairs; i++) {
		pthread_join(p[i].a, NULL);
		pthread_join(p[i].b, NULL);
		/* a round cut short by the time limit: its lock was not freed */
		if (p[i].freed != p[i].next)
			memset(p[i].pages + (size_t)((p[i].next - 1) % UAF_SLOTS) * uaf_psz,
			       UAF_POISON, sizeof(pvx_lock_t));
		/* pages still in quarantine keep their poison */
		p[i].next = 0;
		while (p[i].next < UAF_SLOTS)
			uaf_alloc(&p[i]);
		rounds += p[i].rounds;
		bad_poison += p[i].bad_poison;
		bad_ret += p[i].bad_ret;
	}
	__atomic_store_n(&uaf_stop, 0, __ATOMIC_RELAXED);
	printf("# free after unlock (torture): %u pairs, %lu rounds, %lu late accesses, %lu broken poisons\n",
	       npairs, rounds, uaf_late, bad_poison);
	check(rounds >= npairs && !uaf_late && !bad_poison && !bad_ret,
	      "free after unlock (torture): %lu rounds of unlock racing destroy+free by the next owner (%u thread pairs): %lu late accesses, %lu broken poisons, %lu errors",
	      rounds, npairs, uaf_late, bad_poison, bad_ret);
	munmap(uaf_pool, uaf_pool_len);
	uaf_pool = NULL;
out:
	free(p);
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGTRAP, &old_trap, NULL);
}

/* ---- fallback ------------------------------------------------------- */

/* In a child with LIBPVX_FALLBACK=1: exit 0 when it is a plain futex mutex. */
static int fallback_child(void)
{
	struct pvx_lock_stats s;
	bool fair, ok;

	nthreads = 4;
	total_acq = 200000;
	ok = run_exclusion("forced fallback", &fair);
	pvx_lock_stats(&s);
	printf("# forced fallback: mode %d, directed yields %llu, futex waits %llu\n",
	       pvx_lib_mode(), s.yield_calls, s.futex_waits);
	return ok && pvx_lib_mode() == PVX_LIB_FALLBACK && !s.yield_calls ? 0 : 1;
}

static void test_fallback(void)
{
	struct pvx_lock_stats s;

	pvx_lock_stats(&s);
	printf("# mode: %s (%s), yield_calls %llu done %llu running %llu off_cpu %llu futex waits %llu\n",
	       pvx_lib_mode() == PVX_LIB_PVX ? "pvx" : "fallback", pvx_lib_version(),
	       s.yield_calls, s.yields_done, s.holder_running, s.holder_off_cpu,
	       s.futex_waits);
	if (access("/dev/pvx", R_OK))
		check(pvx_lib_mode() == PVX_LIB_FALLBACK && s.yield_calls == 0,
		      "fallback: no /dev/pvx, a plain futex mutex without directed yields");
	else
		check(pvx_lib_mode() == PVX_LIB_PVX || s.yield_calls == 0,
		      "/dev/pvx: mode %s", pvx_lib_mode() == PVX_LIB_PVX ? "pvx" : "fallback");
	check(run_child("LIBPVX_FALLBACK", "--fallback-child"),
	      "fallback: LIBPVX_FALLBACK=1 makes it a plain futex mutex that excludes");
}

int main(int argc, char **argv)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	int i;

	nthreads = n > 0 && n < 64 ? 4 * n : 8;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fallback-child"))
			return fallback_child();
		if (!strcmp(argv[i], "--saturated-sleep-child"))
			return saturated_sleep_child();
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--acquisitions") && i + 1 < argc)
			total_acq = strtoul(argv[++i], NULL, 10);
	}
	ksft_print_header();
	test_exclusion();
	test_errors();
	test_handover();
	test_barging();
	test_saturated_sleep();
	test_robust();
	test_signals();
	test_signal_storm();
	test_fork();
	test_free_after_unlock();
	test_fallback();
	/* the number of checks depends on what failed on the way: the plan last */
	ksft_set_plan(ksft_test_num());
	ksft_print_cnts();
	return ksft_get_fail_cnt() ? KSFT_FAIL : KSFT_PASS;
}
