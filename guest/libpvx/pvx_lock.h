/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libpvx: a userspace lock for programs that run in a KVM guest with pvx
 * (Documentation/libpvx.rst, man page libpvx.3).
 *
 * A pvx_lock is a futex mutex whose word holds the owner's thread id, so a
 * waiter knows whom it waits for. A waiter spins briefly; when /dev/pvx
 * says the holder's vCPU was preempted by the host it directs a yield at
 * that vCPU (PVX_IOC_YIELD_TO); when the holder is not running in the guest
 * it sleeps on the futex. Unlock wakes one sleeper, and only when there is
 * one. Without /dev/pvx (no pvx host, not in a VM) it is a plain futex
 * mutex.
 *
 * Every function returns 0 or a positive errno value, like pthread_mutex_*.
 */
#ifndef PVX_LOCK_H
#define PVX_LOCK_H

#ifdef __cplusplus
extern "C" {
#endif

#define PVX_LIB_VERSION_MAJOR	1
#define PVX_LIB_VERSION_MINOR	1

/* pvx_lock_init() flags */
#define PVX_LOCK_PSHARED	0x1u	/* in memory shared between processes */
#define PVX_LOCK_ROBUST		0x2u	/* a dead owner is reported: EOWNERDEAD */
#define PVX_LOCK_F_ALL		0x3u

/* Treat as opaque; 16 bytes, 4-byte aligned, zero is an unlocked lock. */
typedef struct pvx_lock {
	unsigned int word;	/* owner tid | PVX_LOCK_WAITERS | OWNER_DIED */
	unsigned int flags;	/* PVX_LOCK_* */
	unsigned int state;	/* private to libpvx */
	unsigned int reserved;
} pvx_lock_t;

/* A private, non-robust lock; or call pvx_lock_init(). */
#define PVX_LOCK_INITIALIZER	{ 0, 0, 0, 0 }

/* What the library runs on (pvx_lib_mode()). */
#define PVX_LIB_FALLBACK	0	/* plain futex mutex */
#define PVX_LIB_PVX		1	/* directed yields through /dev/pvx */

/* Counters of this process, from all its locks (pvx_lock_stats()). */
struct pvx_lock_stats {
	unsigned long long slow_paths;	/* lock calls that did not get it at once */
	unsigned long long yield_calls;	/* PVX_IOC_YIELD_TO issued */
	unsigned long long yields_done;	/* ...the host ran the holder's vCPU */
	unsigned long long holder_running; /* ...the holder's vCPU was running */
	unsigned long long holder_off_cpu; /* ...the holder was not on a CPU */
	unsigned long long futex_waits;	/* FUTEX_WAIT calls */
	unsigned long long futex_wakes;	/* FUTEX_WAKE calls by unlock */
	unsigned long long owner_died;	/* EOWNERDEAD returned */
};

int pvx_lib_init(void);
int pvx_lib_mode(void);
const char *pvx_lib_version(void);

int pvx_lock_init(pvx_lock_t *lock, unsigned int flags);
int pvx_lock_destroy(pvx_lock_t *lock);
int pvx_lock_lock(pvx_lock_t *lock);
int pvx_lock_trylock(pvx_lock_t *lock);
int pvx_lock_unlock(pvx_lock_t *lock);
int pvx_lock_consistent(pvx_lock_t *lock);
void pvx_lock_stats(struct pvx_lock_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* PVX_LOCK_H */
