// SPDX-License-Identifier: GPL-2.0
/*
 * The event stream: veerd's own events, numbered, logged and handed to the sinks. (The data
 * plane's ring buffer and the `veer events` clients come next.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "veerd.h"

struct sink {
	event_sink_cb cb;
	void *arg;
};

struct events {
	struct veerd *d;
};

static struct {
	struct sink *sinks;
	size_t nsinks;
	uint64_t start_ns, seq;
} E;

int events_new(struct events **out, struct veerd *d)
{
	struct events *ev = calloc(1, sizeof(*ev));
	struct timespec ts;

	if (!ev)
		return -ENOMEM;
	ev->d = d;
	clock_gettime(CLOCK_REALTIME, &ts);
	E.start_ns = (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	*out = ev;
	return 0;
}

void events_free(struct events *ev)
{
	free(ev);
}

void event_emit(enum veer_event_type type, struct json_object *fields)
{
	struct json_object *o = json_object_new_object();
	char id[48], when[40];
	struct timespec ts;
	struct tm tm;
	const char *body;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(id, sizeof(id), "%016llx-%llu", (unsigned long long)E.start_ns,
		 (unsigned long long)++E.seq);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%06ldZ", ts.tv_nsec / 1000);
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "type", json_object_new_string(veer_event_type_name(type)));
	json_object_object_add(o, "time", json_object_new_string(when));
	if (fields) {
		json_object_object_foreach(fields, k, val)
			json_object_object_add(o, k, json_object_get(val));
		json_object_put(fields);
	}
	body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(body);
	log_info("event %s", body);
	for (size_t i = 0; i < E.nsinks; i++)
		E.sinks[i].cb(type, id, body, len, E.sinks[i].arg);
	json_object_put(o);
}

int event_sink_add(event_sink_cb cb, void *arg)
{
	struct sink *s = realloc(E.sinks, (E.nsinks + 1) * sizeof(*s));

	if (!s)
		return -ENOMEM;
	E.sinks = s;
	E.sinks[E.nsinks++] = (struct sink){cb, arg};
	return 0;
}

void event_sink_del(event_sink_cb cb, void *arg)
{
	for (size_t i = 0; i < E.nsinks; i++) {
		if (E.sinks[i].cb != cb || E.sinks[i].arg != arg)
			continue;
		E.sinks[i] = E.sinks[--E.nsinks];
		return;
	}
}
