// SPDX-License-Identifier: GPL-2.0
/* veer's unit test runner: every test registered with VEER_TEST, or those matching argv[1]. */
#include <stdarg.h>
#include <stdlib.h>
#include "test.h"

static struct veer_test *tests;
static bool current_failed, current_skipped;

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

void veer_test_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    skip: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	current_skipped = true;
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
	int passed = 0, failed = 0, skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (struct veer_test *t = tests; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		current_failed = current_skipped = false;
		t->fn();
		if (current_failed) {
			printf("FAIL %s\n", t->name);
			failed++;
		} else if (current_skipped) {
			printf("SKIP %s\n", t->name);
			skipped++;
		} else {
			printf("ok   %s\n", t->name);
			passed++;
		}
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
