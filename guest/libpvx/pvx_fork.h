/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libpvx: pvx_fork(), a fork() whose child gets its own copy of the
 * caller's large private memory at once, copied by the host in batches
 * (PVX_IOC_FORK_COPY, Documentation/fork_copy.rst, man page libpvx.3),
 * instead of page by page by copy-on-write faults later.
 *
 * The child sees exactly the parent's bytes at the time of the fork, and
 * later writes of either are invisible to the other, as with fork().
 * Without /dev/pvx, on a host without fork-copy, or for a range that is
 * not private anonymous read-write memory, that range stays copy-on-write
 * as after fork(): pvx_fork() never fails because of pvx.
 */
#ifndef PVX_FORK_H
#define PVX_FORK_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A range of the caller's memory that the child gets copied at once. */
struct pvx_fork_range {
	void *addr;
	size_t len;
};

/* Counters of this process's pvx_fork() calls (pvx_fork_stats()). */
struct pvx_fork_stats {
	unsigned long long forks;	/* pvx_fork() calls that forked */
	unsigned long long ranges_copied; /* ranges copied by the host */
	unsigned long long bytes_copied;  /* bytes in them */
	unsigned long long ranges_fallback; /* ranges left copy-on-write */
	int last_error;		/* why the last fallback happened (errno) */
	/*
	 * Forks made plain fork() because the host copy would lose there
	 * (their ranges count in ranges_fallback, last_error ECANCELED;
	 * LIBPVX_FORK_PATH in libpvx(3)); before issue 29 reserved, 0.
	 */
	unsigned int plain_forks;
};

/*
 * fork(), then in the child copy the whole pages of each range into fresh
 * pages; the parent returns once the child has done so. Returns what
 * fork() returns: the child's pid in the parent, 0 in the child, -1 with
 * errno when fork() failed; -1 with EINVAL (and no fork) for ranges NULL
 * with n > 0. pvx_fork(NULL, 0) is fork().
 */
pid_t pvx_fork(const struct pvx_fork_range *ranges, unsigned int n);

/* This process's counters, summed over its pvx_fork() calls. */
void pvx_fork_stats(struct pvx_fork_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* PVX_FORK_H */
