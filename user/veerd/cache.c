// SPDX-License-Identifier: GPL-2.0
/* The cache manager in the loop: a stand-in until it lands. */
#include <errno.h>
#include <stdlib.h>
#include "veerd.h"

int cachemgr_new(struct cachemgr **cm, struct veerd *d, const struct veer_cache_spec *spec)
{
	(void)d, (void)spec;
	*cm = NULL;
	return -ENOSYS;
}

void cachemgr_free(struct cachemgr *cm)
{
	(void)cm;
}
