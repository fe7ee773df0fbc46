// SPDX-License-Identifier: GPL-2.0
/* user/veerd/health.c with its foreach and state renamed (health_real.h says why). */
#include "health_real.h"
#include "../../user/veerd/health.c"
