// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_ksm_kapi: test module for the L3 selftests (pvx_ksm_guest_test).
 * Not for production use.
 *
 * At load it protects @pages pages of its own (vmalloc memory) from the
 * host's KSM through pvx_ksm_guest's kernel API, pvx_ksm_protect_range(),
 * and publishes the answer in its read-only parameter "result"; at
 * unload it withdraws them. pvx_ksm_guest_test uses it to show that the
 * kernel API keeps its reserve of max_pages when users have taken theirs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/vmalloc.h>

#include "pvx_ksm.h"

static unsigned int pages = 4;
module_param(pages, uint, 0444);
MODULE_PARM_DESC(pages, "pages to protect at load (1..64, default 4)");

static int result = 1;
module_param(result, int, 0444);
MODULE_PARM_DESC(result, "what pvx_ksm_protect_range() answered at load");

static void *pvx_kapi_buf;

static int __init pvx_ksm_kapi_init(void)
{
	if (!pages || pages > 64)
		return -EINVAL;
	pvx_kapi_buf = vzalloc(pages * PAGE_SIZE);
	if (!pvx_kapi_buf)
		return -ENOMEM;
	result = pvx_ksm_protect_range(pvx_kapi_buf, pages * PAGE_SIZE);
	pr_info("%u pages: %d\n", pages, result);
	return 0;
}

static void __exit pvx_ksm_kapi_exit(void)
{
	if (!result)
		pvx_ksm_unprotect_range(pvx_kapi_buf, pages * PAGE_SIZE);
	vfree(pvx_kapi_buf);
}

module_init(pvx_ksm_kapi_init);
module_exit(pvx_ksm_kapi_exit);

MODULE_DESCRIPTION("pvx test: protect pages through the pvx_ksm kernel API");
MODULE_LICENSE("GPL");
