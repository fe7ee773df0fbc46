/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VEER_LOG_H
#define VEER_LOG_H

enum veer_log_level {
	VEER_LOG_WARN = 0,
	VEER_LOG_INFO = 1,
	VEER_LOG_DEBUG = 2,
};

/* Sets the level and routes libbpf's and libxdp's output through veer's logger. */
void veer_log_init(int level);
void veer_log(enum veer_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Where libveer's messages go: stderr with a "veer: " prefix unless set. fn gets one whole
 * line at a time (with its newline); NULL restores stderr. veerd sends them to syslog.
 */
void veer_log_set_handler(void (*fn)(enum veer_log_level level, const char *line));

#define pr_warn(...)  veer_log(VEER_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  veer_log(VEER_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) veer_log(VEER_LOG_DEBUG, __VA_ARGS__)

#endif
