// SPDX-License-Identifier: GPL-2.0
/* The webhooks: not built yet; a config that asks for them is told so. */
#include <errno.h>
#include "veerd.h"

int webhooks_new(struct webhooks **out, struct veerd *d, const struct veer_webhook_spec *specs,
		 size_t n)
{
	(void)d;
	(void)specs;
	(void)n;
	*out = NULL;
	log_warnx("webhooks are not built into this veerd");
	return -EOPNOTSUPP;
}

void webhooks_free(struct webhooks *w)
{
	(void)w;
}
