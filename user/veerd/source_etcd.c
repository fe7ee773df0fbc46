// SPDX-License-Identifier: GPL-2.0
/* The etcd source: not built yet; a config that asks for it is told so. */
#include <errno.h>
#include "veerd.h"

int etcd_new(struct etcd **out, struct veerd *d, const struct veer_etcd_spec *spec)
{
	(void)d;
	(void)spec;
	*out = NULL;
	log_warnx("the etcd source is not built into this veerd");
	return -EOPNOTSUPP;
}

void etcd_free(struct etcd *x)
{
	(void)x;
}
