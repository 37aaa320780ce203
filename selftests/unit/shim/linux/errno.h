/* SPDX-License-Identifier: GPL-2.0 */
/* The system's header of this name (system headers include it), then the shim. */
#include_next <linux/errno.h>
#include "../../kshim.h"
