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
 *   fallback   LIBPVX_FALLBACK=1: plain futex mutex, no PVX_IOC_YIELD_TO.
 *
 * Usage: libpvx_test [--threads N] [--acquisitions N]. TAP 13; exit 0, 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pvx_lock.h"
#include "../host/tap.h"

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

	tap_result(ok, "mutual exclusion: %u threads, more than CPUs, exact count over %lu acquisitions",
		   nthreads, total_acq);
	tap_result(fair, "fairness: every thread gets at least 1/16 of an even share");
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

	tap_result(pvx_lock_init(&l, 0x80) == EINVAL, "init with an unknown flag: EINVAL");
	r1 = pvx_lock_trylock(&err_lock);
	pthread_create(&th, NULL, trylock_other, &r2);
	pthread_join(th, NULL);
	pthread_create(&th, NULL, unlock_other, &r3);
	pthread_join(th, NULL);
	r4 = pvx_lock_lock(&err_lock);
	r5 = pvx_lock_destroy(&err_lock);
	r6 = pvx_lock_unlock(&err_lock);
	tap_result(!r1 && r2 == EBUSY && r3 == EPERM && r4 == EDEADLK && r5 == EBUSY && !r6,
		   "trylock 0, trylock by another EBUSY (%d), unlock by another EPERM (%d), relock EDEADLK (%d), destroy held EBUSY (%d), unlock 0",
		   r2, r3, r4, r5);
	tap_result(pvx_lock_unlock(&err_lock) == EPERM && !pvx_lock_destroy(&err_lock),
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
	tap_result(ho_got == N && s2.futex_waits - s1.futex_waits <= 2 * N &&
		   s2.futex_wakes - s1.futex_wakes <= N + 1,
		   "handover: %d sleepers each get the lock, woken one by one (%llu waits, %llu wakes)",
		   N, s2.futex_waits - s1.futex_waits, s2.futex_wakes - s1.futex_wakes);
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
	tap_result(r1 == EOWNERDEAD && !r2 && !r3 && !r4,
		   "robust: holder thread exited: lock EOWNERDEAD (%d), consistent 0 (%d), unlock, lock 0 (%d)",
		   r1, r2, r4);

	pvx_lock_init(&l, PVX_LOCK_ROBUST);
	pthread_create(&th, NULL, hold_and_exit, &l);
	join_dead(th);
	r1 = pvx_lock_trylock(&l);
	pvx_lock_unlock(&l);	/* not made consistent */
	r2 = pvx_lock_lock(&l);
	r3 = pvx_lock_trylock(&l);
	tap_result(r1 == EOWNERDEAD && r2 == ENOTRECOVERABLE && r3 == ENOTRECOVERABLE,
		   "robust: unlocked without consistent: ENOTRECOVERABLE (trylock %d, lock %d, trylock %d)",
		   r1, r2, r3);

	pvx_lock_init(&l, 0);
	pthread_create(&th, NULL, hold_and_exit, &l);
	join_dead(th);
	r5 = pvx_lock_trylock(&l);
	tap_result(r5 == EBUSY, "not robust: a dead holder's lock stays held (trylock %d)", r5);

	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pvx_lock_init(sh, PVX_LOCK_ROBUST | PVX_LOCK_PSHARED);
	pid = fork();
	if (!pid)
		_exit(pvx_lock_lock(sh));
	waitpid(pid, &st, 0);
	r1 = pvx_lock_lock(sh);
	r2 = pvx_lock_consistent(sh);
	r3 = pvx_lock_unlock(sh);
	tap_result(WIFEXITED(st) && !WEXITSTATUS(st) && r1 == EOWNERDEAD && !r2 && !r3,
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
	tap_result(!sig_early && sigs > 0,
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
	tap_result(!err && !e->overlaps && e->count == total_acq && sum == total_acq,
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
	tap_result(WIFEXITED(st1) && !WEXITSTATUS(st1),
		   "fork while held: the child sees the private lock held (EBUSY)");
	tap_result(WIFEXITED(st2) && !WEXITSTATUS(st2),
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
	tap_result(WIFEXITED(st3) && !WEXITSTATUS(st3),
		   "fork while held: shared lock, the child waits and gets it after the parent's unlock (exit %d)",
		   WIFEXITED(st3) ? WEXITSTATUS(st3) : -1);
	munmap(sh, 4096);
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
	int st = -1;
	pid_t pid;

	pvx_lock_stats(&s);
	printf("# mode: %s (%s), yield_calls %llu done %llu running %llu off_cpu %llu futex waits %llu\n",
	       pvx_lib_mode() == PVX_LIB_PVX ? "pvx" : "fallback", pvx_lib_version(),
	       s.yield_calls, s.yields_done, s.holder_running, s.holder_off_cpu,
	       s.futex_waits);
	if (access("/dev/pvx", R_OK))
		tap_result(pvx_lib_mode() == PVX_LIB_FALLBACK && s.yield_calls == 0,
			   "fallback: no /dev/pvx, a plain futex mutex without directed yields");
	else
		tap_result(pvx_lib_mode() == PVX_LIB_PVX || s.yield_calls == 0,
			   "/dev/pvx: mode %s", pvx_lib_mode() == PVX_LIB_PVX ? "pvx" : "fallback");
	fflush(stdout);
	pid = fork();
	if (!pid) {
		setenv("LIBPVX_FALLBACK", "1", 1);
		execl("/proc/self/exe", "libpvx_test", "--fallback-child", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	tap_result(WIFEXITED(st) && !WEXITSTATUS(st),
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
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--acquisitions") && i + 1 < argc)
			total_acq = strtoul(argv[++i], NULL, 10);
	}
	tap_begin();
	test_exclusion();
	test_errors();
	test_handover();
	test_robust();
	test_signals();
	test_signal_storm();
	test_fork();
	test_fallback();
	return tap_end();
}
