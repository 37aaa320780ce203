/* SPDX-License-Identifier: GPL-2.0 */
/* The system's <linux/types.h> (__u64 for uapi/pvx.h), then the shim. */
#include_next <linux/types.h>
#include "../../kshim.h"
