// SPDX-License-Identifier: GPL-2.0
/*
 * veerd's messages: to stderr in the foreground (-d, -n), else to syslog (the journal under
 * systemd). libveer's and libbpf's lines are routed here too.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "veerd.h"

static bool to_stderr = true;
static int verbosity;
/* Under systemd (JOURNAL_STREAM set), "<N>" before a line gives the journal its priority. */
static bool journal;

static void vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (to_stderr && journal)
		fprintf(stderr, "<%d>veerd: %s%s%s\n", pri, line, suffix ? ": " : "",
			suffix ? suffix : "");
	else if (to_stderr)
		fprintf(stderr, "veerd: %s%s%s\n", line, suffix ? ": " : "", suffix ? suffix : "");
	else
		syslog(pri, "%s%s%s", line, suffix ? ": " : "", suffix ? suffix : "");
}

/* libveer's lines end in a newline; syslog and vlog add their own. */
static void lib_line(enum veer_log_level level, const char *line)
{
	static const int pri[] = {LOG_WARNING, LOG_INFO, LOG_DEBUG};
	size_t n = strlen(line);

	while (n && line[n - 1] == '\n')
		n--;
	if (to_stderr && journal)
		fprintf(stderr, "<%d>veerd: %.*s\n", pri[level], (int)n, line);
	else if (to_stderr)
		fprintf(stderr, "veerd: %.*s\n", (int)n, line);
	else
		syslog(pri[level], "%.*s", (int)n, line);
}

void log_init(bool foreground, int verbose)
{
	to_stderr = foreground;
	verbosity = verbose;
	journal = getenv("JOURNAL_STREAM") != NULL;
	if (!foreground)
		openlog("veerd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	veer_log_init(verbose);
	veer_log_set_handler(lib_line);
}

void log_warn(const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, why);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, why);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
