// SPDX-License-Identifier: GPL-2.0
/*
 * Names users see for numbers of the ABI: event types (configs, `veer events --type`, webhook
 * bodies) and VIP owners (`veer vip list`). One table each, so every reader spells them alike.
 */
#include <stdio.h>
#include <string.h>
#include "veer.h"

static const char *const event_names[VEER_EVENT_MAX] = {
	[VEER_EVENT_FLOW_NEW] = "flow_new",
	[VEER_EVENT_DROP_BURST] = "drop_burst",
	[VEER_EVENT_TABLE_FULL] = "table_full",
	[VEER_EVENT_BACKEND_DOWN] = "backend_down",
	[VEER_EVENT_BACKEND_UP] = "backend_up",
	[VEER_EVENT_CONFIG_APPLIED] = "config_applied",
	[VEER_EVENT_CONFIG_REFUSED] = "config_refused",
	[VEER_EVENT_SOURCE_CONNECTED] = "source_connected",
	[VEER_EVENT_SOURCE_LOST] = "source_lost",
	[VEER_EVENT_CACHE_FEED_LOST] = "cache_feed_lost",
};

const char *veer_event_type_name(unsigned type)
{
	return type < VEER_EVENT_MAX ? event_names[type] : NULL;
}

enum veer_event_type veer_event_type_parse(const char *name)
{
	for (unsigned t = 1; t < VEER_EVENT_MAX; t++)
		if (!strcmp(name, event_names[t]))
			return t;
	return VEER_EVENT_NONE;
}

const char *veer_event_type_list(void)
{
	static char list[256];

	if (!list[0]) {
		size_t off = 0;

		for (unsigned t = 1; t < VEER_EVENT_MAX && off < sizeof(list); t++)
			off += snprintf(list + off, sizeof(list) - off, "%s%s", t > 1 ? ", " : "",
					event_names[t]);
	}
	return list;
}

const char *veer_owner_name(__u8 owner)
{
	switch (owner) {
	case VEER_OWNER_CLI:
		return "cli";
	case VEER_OWNER_CONFIG:
		return "config";
	case VEER_OWNER_ETCD:
		return "etcd";
	case VEER_OWNER_KUBERNETES:
		return "kubernetes";
	}
	return "?";
}
