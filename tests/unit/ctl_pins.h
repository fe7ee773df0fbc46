/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A pin directory of a test's own under /sys/fs/bpf, for the control-plane tests that run
 * libveer against real maps (test_ctl_*.c): made fresh, made the process's, removed at the end.
 */
#ifndef VEER_TEST_CTL_PINS_H
#define VEER_TEST_CTL_PINS_H

#include <limits.h>
#include <stdbool.h>
#include "test.h"
#include "veer.h"

/* Connection tables small enough to create in every test (the default is sized for the host). */
#define SMALL_FLOWS 4096

struct pins {
	char dir[PATH_MAX];
	char saved[PATH_MAX]; /* the process's pin directory before the test */
};

/* A fresh pin directory, made the process's; absent unless mkdir_it is set. */
bool pins_up(struct pins *p, bool mkdir_it);
/* Unpins everything in the directory, which stays the process's. */
void pins_empty(const struct pins *p);
/* Removes every pin and the directory; the maps go with the last fd on them. */
void pins_down(struct pins *p);

/* libveer opened for writing on a fresh pin directory of its own, with SMALL_FLOWS tables. */
struct ctl_veer {
	struct pins pins;
	struct veer *v;
};

bool ctl_veer_up(struct ctl_veer *c);
void ctl_veer_down(struct ctl_veer *c);

/* The names in the pin directory, sorted, joined by spaces; "" when empty, NULL if absent. */
char *pins_listing(const struct pins *p);

/* fn(arg)'s result, with what it wrote on stderr in msg (what libveer said). */
int stderr_of(int (*fn)(void *arg), void *arg, char *msg, size_t len);

#endif
