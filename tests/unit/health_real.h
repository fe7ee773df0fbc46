/* SPDX-License-Identifier: GPL-2.0 */
/*
 * veerd's health checker (user/veerd/health.c) as test_health.c runs it. test_veerd_metrics.c
 * stands in for health_foreach and health_state (the exporter's view of the checker), so in
 * this runner the real ones go by other names: health_real.c builds health.c under them.
 */
#ifndef VEER_TEST_HEALTH_REAL_H
#define VEER_TEST_HEALTH_REAL_H

#define health_foreach health_foreach_real
#define health_state   health_state_real
#include "veerd.h"

#endif
