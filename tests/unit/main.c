// SPDX-License-Identifier: GPL-2.0
/* veer's unit test runner: every test registered with VEER_TEST, or those matching argv[1]. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"

static struct veer_test *tests;
static bool current_failed, current_skipped, current_unexpected_skip;

void veer_test_register(struct veer_test *t)
{
	struct veer_test **p = &tests;

	/* Keep them sorted by name so runs are reproducible whatever the link order. */
	while (*p && strcmp((*p)->name, t->name) < 0)
		p = &(*p)->next;
	t->next = *p;
	*p = t;
}

bool veer_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	current_failed = true;
	return false;
}

/*
 * A skip passes only when it names a kernel feature the test probed and found missing: any
 * other reason (no privileges, a setup step that failed) would let `make test` pass without
 * running the test, so it counts as a failure.
 */
static void skip(const char *feature, const char *fmt, va_list ap)
{
	bool probed = feature && *feature;

	if (probed)
		fprintf(stderr, "    skip: kernel feature missing: %s: ", feature);
	else
		fprintf(stderr, "    skip without a missing kernel feature (a failure): ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (probed)
		current_skipped = true;
	else
		current_failed = current_unexpected_skip = true;
}

bool veer_test_kernel_has_fs(const char *type)
{
	char line[128], want[128];
	FILE *f = fopen("/proc/filesystems", "r");
	bool found = false;

	if (!f)
		return true;
	snprintf(want, sizeof(want), "nodev\t%s\n", type);
	while (!found && fgets(line, sizeof(line), f))
		found = !strcmp(line, want);
	fclose(f);
	return found;
}

void veer_test_skip_missing(const char *feature, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	skip(feature, fmt, ap);
	va_end(ap);
}

void veer_test_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	skip(NULL, fmt, ap);
	va_end(ap);
}

void veer_test_hexdiff(const void *got, size_t got_len, const void *want, size_t want_len)
{
	const unsigned char *g = got, *w = want;
	size_t n = got_len > want_len ? got_len : want_len;

	fprintf(stderr, "    got %zu bytes, want %zu\n", got_len, want_len);
	for (size_t i = 0; i < n; i++) {
		int gv = i < got_len ? g[i] : -1, wv = i < want_len ? w[i] : -1;

		if (gv != wv)
			fprintf(stderr, "    offset %3zu: got %s%02x want %s%02x\n", i,
				gv < 0 ? "--" : "", gv < 0 ? 0 : gv, wv < 0 ? "--" : "",
				wv < 0 ? 0 : wv);
	}
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0, unexpected = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (struct veer_test *t = tests; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		current_failed = current_skipped = current_unexpected_skip = false;
		t->fn();
		if (current_failed) {
			printf("FAIL %s%s\n", t->name,
			       current_unexpected_skip
				       ? " (skipped without a missing kernel feature)"
				       : "");
			failed++;
			unexpected += current_unexpected_skip;
		} else if (current_skipped) {
			printf("SKIP %s\n", t->name);
			skipped++;
		} else {
			printf("ok   %s\n", t->name);
			passed++;
		}
	}
	printf("%d passed, %d failed", passed, failed);
	if (unexpected)
		printf(" (%d of them skipped without a missing kernel feature)", unexpected);
	printf(", %d skipped (kernel feature missing)\n", skipped);
	return failed ? 1 : 0;
}
