/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small test harness in the manner of the kernel's BPF selftests: ASSERT_* macros print what
 * differed and evaluate to false, so a test can stop or go on. Tests register themselves with
 * VEER_TEST(name); the runner runs them all, or those whose name contains argv[1].
 */
#ifndef VEER_TEST_H
#define VEER_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <inttypes.h>

struct veer_test {
	const char *name;
	void (*fn)(void);
	struct veer_test *next;
};

void veer_test_register(struct veer_test *t);
/* Marks the running test failed; returns false so ASSERT_* can be used in conditions. */
bool veer_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Marks the running test skipped because the kernel lacks feature (probed by the test, named
 * in a word or two: "IPv6", "cgroup2"), printing why. The only skip that is not a failure.
 */
void veer_test_skip_missing(const char *feature, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Whether the kernel has a filesystem type ("bpf", "cgroup2") in /proc/filesystems: the probe
 * behind a skip. True when it cannot tell, so that the test runs and its own check fails.
 */
bool veer_test_kernel_has_fs(const char *type);
/*
 * A skip for any other reason (no privileges, an environment that could not be set up): the
 * test did not run, so it counts as failed, reported as a skip with its reason.
 */
void veer_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Hex dump of where two buffers differ, for packet fixtures. */
void veer_test_hexdiff(const void *got, size_t got_len, const void *want, size_t want_len);

#define VEER_TEST(name)                                                                            \
	static void test_##name(void);                                                             \
	static struct veer_test __test_##name = {#name, test_##name, NULL};                        \
	__attribute__((constructor)) static void __register_##name(void)                           \
	{                                                                                          \
		veer_test_register(&__test_##name);                                                \
	}                                                                                          \
	static void test_##name(void)

#define ASSERT_TRUE(cond, what)                                                                    \
	((cond) ? true : veer_test_fail(__FILE__, __LINE__, "%s: expected true", what))

#define ASSERT_FALSE(cond, what)                                                                   \
	(!(cond) ? true : veer_test_fail(__FILE__, __LINE__, "%s: expected false", what))

#define ASSERT_EQ(a, b, what)                                                                      \
	({                                                                                         \
		long long __a = (long long)(a), __b = (long long)(b);                              \
		__a == __b ? true                                                                  \
			   : veer_test_fail(__FILE__, __LINE__, "%s: got %lld, want %lld", what,   \
					    __a, __b);                                             \
	})

#define ASSERT_NEQ(a, b, what)                                                                     \
	({                                                                                         \
		long long __a = (long long)(a), __b = (long long)(b);                              \
		__a != __b ? true                                                                  \
			   : veer_test_fail(__FILE__, __LINE__, "%s: got %lld, want not that",     \
					    what, __a);                                            \
	})

#define ASSERT_LE(a, b, what)                                                                      \
	({                                                                                         \
		double __a = (double)(a), __b = (double)(b);                                       \
		__a <= __b ? true                                                                  \
			   : veer_test_fail(__FILE__, __LINE__, "%s: got %g, want <= %g", what,    \
					    __a, __b);                                             \
	})

#define ASSERT_OK(err, what)                                                                       \
	({                                                                                         \
		long long __e = (long long)(err);                                                  \
		__e == 0 ? true                                                                    \
			 : veer_test_fail(__FILE__, __LINE__, "%s: error %lld (%s)", what, __e,    \
					  strerror(__e < 0 ? (int)-__e : (int)__e));               \
	})

#define ASSERT_ERR(err, what)                                                                      \
	({                                                                                         \
		long long __e = (long long)(err);                                                  \
		__e < 0 ? true                                                                     \
			: veer_test_fail(__FILE__, __LINE__, "%s: got %lld, want an error", what,  \
					 __e);                                                     \
	})

#define ASSERT_STREQ(a, b, what)                                                                   \
	({                                                                                         \
		const char *__a = (a), *__b = (b);                                                 \
		(__a && __b && !strcmp(__a, __b))                                                  \
			? true                                                                     \
			: veer_test_fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", what,  \
					 __a ? __a : "(null)", __b ? __b : "(null)");              \
	})

#define ASSERT_MEMEQ(got, got_len, want, want_len, what)                                           \
	({                                                                                         \
		bool __ok = (size_t)(got_len) == (size_t)(want_len) &&                             \
			    !memcmp((got), (want), (want_len));                                    \
		if (!__ok) {                                                                       \
			veer_test_fail(__FILE__, __LINE__, "%s: bytes differ", what);              \
			veer_test_hexdiff((got), (got_len), (want), (want_len));                   \
		}                                                                                  \
		__ok;                                                                              \
	})

#endif /* VEER_TEST_H */
