// SPDX-License-Identifier: GPL-2.0
/* The Kubernetes source: not built yet; a config that asks for it is told so. */
#include <errno.h>
#include "veerd.h"

int k8s_new(struct k8s **out, struct veerd *d, const struct veer_k8s_spec *spec)
{
	(void)d;
	(void)spec;
	*out = NULL;
	log_warnx("the Kubernetes source is not built into this veerd");
	return -EOPNOTSUPP;
}

void k8s_free(struct k8s *x)
{
	(void)x;
}
