// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"

static int log_level = VEER_LOG_WARN;
static void (*log_handler)(enum veer_log_level level, const char *line);

void veer_log_set_handler(void (*fn)(enum veer_log_level level, const char *line))
{
	log_handler = fn;
}

static void vlog(int level, const char *fmt, va_list ap)
{
	char line[1024];

	if (level > log_level)
		return;
	if (!log_handler) {
		fputs("veer: ", stderr);
		vfprintf(stderr, fmt, ap);
		return;
	}
	/* A daemon's log takes whole lines: libbpf's verifier dumps arrive a piece at a time. */
	vsnprintf(line, sizeof(line), fmt, ap);
	log_handler(level > VEER_LOG_DEBUG ? VEER_LOG_DEBUG : level, line);
}

void veer_log(enum veer_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

/*
 * libbpf's warnings are mostly verifier logs and probe noise: shown from -v on, so that a
 * plain failure prints veer's one-line reason and -v shows why.
 */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	vlog(level == LIBBPF_DEBUG ? VEER_LOG_DEBUG + 1 : VEER_LOG_INFO + (level == LIBBPF_INFO),
	     fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	vlog(level == LIBXDP_DEBUG ? VEER_LOG_DEBUG + 1 : VEER_LOG_INFO + (level == LIBXDP_INFO),
	     fmt, ap);
	return 0;
}

void veer_log_init(int level)
{
	log_level = level;
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
