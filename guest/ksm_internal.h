/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the files of pvx_ksm_guest.ko: ksm.c (batches, the never-merge
 * core and kernel API, sysfs, module init), ksm_cand.c (candidates from
 * the kernel image), ksm_zero.c (zeroed free pages), ksm_file.c (the page
 * cache of executables) and ksm_fd.c (PVX_IOC_KSM_PROTECT and its fds).
 */
#ifndef _PVX_KSM_INTERNAL_H
#define _PVX_KSM_INTERNAL_H

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "pvx.h"

struct page;

enum pvx_ksm_stat {
	PVX_KSM_BATCHES,	/* PVX_HC_KSM_HINT calls issued */
	PVX_KSM_HOST_ERRORS,	/* ... that the host answered < 0 */
	PVX_KSM_CAND_ROUNDS,	/* candidate sends: at load, every interval */
	PVX_KSM_CAND_ADDED,	/* candidate pages the host took anew */
	PVX_KSM_CAND_WITHDRAWN,	/* candidate pages the host let go */
	PVX_KSM_PROTECT_CALLS,	/* protect requests: ioctl and kernel API */
	PVX_KSM_PROTECTED,	/* pages named by requests that succeeded */
	PVX_KSM_UNPROTECTED,	/* pages named by protections released */
	PVX_KSM_HINTED,		/* never-merge pages the host took anew */
	PVX_KSM_WITHDRAWN,	/* never-merge pages the host let go */
	PVX_KSM_UNMAPPED,	/* protections ended by an unmap of their range */
	PVX_KSM_EINVAL,		/* requests refused, by errno ... */
	PVX_KSM_E2BIG,
	PVX_KSM_EFAULT,
	PVX_KSM_ENOMEM,		/* RLIMIT_MEMLOCK, or no memory */
	PVX_KSM_ENOSPC,		/* the module's cap or the host's */
	PVX_KSM_EIO,		/* the host could not honour a hint */
	PVX_KSM_EOPNOTSUPP,	/* the host has no PVX_HC_KSM_HINT */
	PVX_KSM_OTHER,		/* any other errno (EMFILE, EINTR...) */
	PVX_KSM_ZERO_REPORTED,	/* zero_free: free blocks handed to us */
	PVX_KSM_ZERO_CLEARED,	/* ... pages we wrote zeros to */
	PVX_KSM_ZERO_CLEAN,	/* ... pages that read as zero */
	PVX_KSM_ZERO_STALE,	/* ... blocks withdrawn: allocated again */
	PVX_KSM_RESENDS,	/* the table sent again: the host's state was new */
	PVX_KSM_RESENT,		/* ... pages in it the host took */
	PVX_KSM_NR
};

void pvx_ksm_count(enum pvx_ksm_stat s, u64 n);
/*
 * kernel_param_ops @ops for an unsigned int module parameter of 0..@max:
 * a store above @max fails with -EINVAL and leaves the value as it was
 * (the kernel's param_set_uint_minmax()).
 */
#define PVX_KSM_PARAM_OPS_MAX(ops, max)					\
	static int ops##_set(const char *val, const struct kernel_param *kp) \
	{								\
		return param_set_uint_minmax(val, kp, 0, (max));	\
	}								\
	static const struct kernel_param_ops ops = {			\
		.set = ops##_set,					\
		.get = param_get_uint,					\
	}

/* A refused request: its errno's class. */
void pvx_ksm_count_err(long err);

/*
 * Batches. pvx_ksm_lock serializes the one batch page and the table of
 * protected pages; hold it from pvx_ksm_send_start() to _end().
 */
extern struct mutex pvx_ksm_lock;

struct pvx_ksm_sender {
	bool withdraw;		/* header flag PVX_KSM_F_WITHDRAW */
	bool stop;		/* add nothing after the host refused once */
	u32 hint;		/* PVX_KSM_MERGEABLE or PVX_KSM_UNMERGEABLE */
	u32 pages;		/* pages in the batch being filled */
	u64 done;		/* pages the host applied anew, all batches */
	long hc;		/* the host's first refusal (-PVX_E*), or 0 */
};

void pvx_ksm_send_start(struct pvx_ksm_sender *s, bool withdraw, u32 hint,
			bool stop);
void pvx_ksm_send_run(struct pvx_ksm_sender *s, unsigned long pfn,
		      unsigned long n);
long pvx_ksm_send_end(struct pvx_ksm_sender *s);

/*
 * The never-merge core (ksm.c); the caller counts the error. @owner: the
 * user whose share the pages count against (a protection fd's creator),
 * or INVALID_UID for the kernel API, which has a reserve of its own.
 */
int __pvx_ksm_protect(struct page **pages, unsigned long nr, kuid_t owner);
void __pvx_ksm_unprotect(struct page **pages, unsigned long nr, kuid_t owner);

/* User pages pinned now by protection fds (ksm_fd.c). */
extern atomic_long_t pvx_ksm_pinned_now;

/* Candidates (ksm_cand.c): the attributes are NULL-terminated. */
extern struct attribute *pvx_ksm_cand_attrs[];
int pvx_ksm_cand_init(void);
void pvx_ksm_cand_exit(void);
/* In a round of ksm_file.c: modules' read-only pages, the image's zeros. */
bool pvx_ksm_cand_round_wanted(void);
bool pvx_ksm_cand_note_round(void);
void pvx_ksm_cand_round_clear(void);
void pvx_ksm_cand_now(void);

/* Zeroed free pages as candidates, zero_free=1 (ksm_zero.c). */
extern struct attribute *pvx_ksm_zero_attrs[];
void pvx_ksm_zero_init(void);
void pvx_ksm_zero_round(void);
void pvx_ksm_zero_exit(void);

/*
 * The candidates found anew in every round (ksm_file.c): the page cache of
 * executables (exec_files=1) and of the root filesystem's files nobody
 * writes (ro_files=1), and ksm_cand.c's module and zero pages.
 * pvx_ksm_round_note() notes @n pages from @pfn as found in the round
 * being made, counting the new ones in *@found up to @cap; false when the
 * round must stop (the cap, or no memory).
 */
bool pvx_ksm_round_note(unsigned long pfn, unsigned long n,
			unsigned long *found, unsigned long cap);
extern struct attribute *pvx_ksm_file_attrs[];
void pvx_ksm_file_round(void);
void pvx_ksm_file_exit(void);

/* PVX_IOC_KSM_PROTECT (ksm_fd.c) */
int pvx_ksm_fd_init(void);
void pvx_ksm_fd_exit(void);

#endif /* _PVX_KSM_INTERNAL_H */
