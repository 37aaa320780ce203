/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx_ksm_guest kernel API: keep the host's KSM off pages of the guest
 * kernel (keys and other secrets), for other guest modules. Exported by
 * pvx_ksm_guest.ko; Documentation/ksm.rst.
 *
 * The pages are sent to the host as PVX_KSM_UNMERGEABLE runs of
 * PVX_HC_KSM_HINT and withdrawn when the last protection naming them
 * goes: a page two callers protect is hinted once and stays protected
 * until both unprotect it. The host holds a pin on its own copy of each
 * page; the caller must keep each page where it is (the same physical
 * page) while it is protected: memory from the page allocator, kmalloc()
 * or vmalloc(), not a movable page of a user mapping (PVX_IOC_KSM_PROTECT
 * pins those for its caller).
 *
 * Both protect calls return 0, or:
 *   -EINVAL      @nr or @len 0, @addr or @len not page aligned, an
 *                address that is not in the linear map or vmalloc space
 *   -E2BIG       more than PVX_KSM_PROTECT_MAX_LEN bytes in one call
 *   -EOPNOTSUPP  the host has no PVX_HC_KSM_HINT: nothing is protected
 *   -ENOSPC      past the module's cap (max_pages) or the host's
 *   -EIO         the host could not honour the hint
 *   -ENOMEM      no memory for the module's bookkeeping
 * and leave nothing protected on error. Process context (they sleep).
 * Unprotect with exactly what was protected, once.
 */
#ifndef _PVX_KSM_H
#define _PVX_KSM_H

#include <linux/types.h>

struct page;

int pvx_ksm_protect_pages(struct page **pages, unsigned long nr);
void pvx_ksm_unprotect_pages(struct page **pages, unsigned long nr);

/* @addr: linear-map (kmalloc, page allocator) or vmalloc address. */
int pvx_ksm_protect_range(const void *addr, size_t len);
void pvx_ksm_unprotect_range(const void *addr, size_t len);

#endif /* _PVX_KSM_H */
