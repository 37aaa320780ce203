/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel header of this name, for the unit tests: kshim.h. */
#include "../../kshim.h"
