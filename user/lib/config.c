// SPDX-License-Identifier: GPL-2.0
/* The config file: a stand-in until the libyaml parser lands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "veer.h"

int veer_config_parse(const char *buf, size_t len, const char *name, struct veer_config **out,
		      char *err, size_t errlen)
{
	(void)buf, (void)len, (void)out;
	snprintf(err, errlen, "%s: cannot read config files yet", name);
	return -ENOSYS;
}

int veer_config_load(const char *path, struct veer_config **out, char *err, size_t errlen)
{
	return veer_config_parse(NULL, 0, path, out, err, errlen);
}

void veer_config_free(struct veer_config *c)
{
	free(c);
}
