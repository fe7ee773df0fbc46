// SPDX-License-Identifier: GPL-2.0
/* Backend health checks: a stand-in until the checker lands. */
#include <errno.h>
#include <stdlib.h>
#include "veerd.h"

struct health {
	int unused;
};

int health_new(struct health **h, struct loop *l, health_change_cb changed,
	       health_initial_cb initial, void *arg)
{
	(void)l, (void)changed, (void)initial, (void)arg;
	*h = calloc(1, sizeof(**h));
	return *h ? 0 : -ENOMEM;
}

int health_sync(struct health *h, const struct veer_config *c)
{
	(void)h, (void)c;
	return 0;
}

void health_free(struct health *h)
{
	free(h);
}

void health_foreach(struct health *h, void (*fn)(const struct health_status *s, void *arg),
		    void *arg)
{
	(void)h, (void)fn, (void)arg;
}

int health_state(struct health *h, const struct veer_vip_key *vip, const struct veer_endpoint *be)
{
	(void)h, (void)vip, (void)be;
	return -ENOENT;
}
