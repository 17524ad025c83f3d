/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal kselftest-style TAP for the host tests: each test is a function
 * returning true on success and printing "# " diagnostics on failure.
 */
#ifndef KSM_TAP_H
#define KSM_TAP_H

#include <stdbool.h>
#include <stdio.h>

struct tap_test {
	const char *name;
	bool (*fn)(void);
};

/* Print diagnostics and fail the current test when @cond is false. */
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("# %s:%d: check failed: %s\n",			\
		       __FILE__, __LINE__, #cond);			\
		return false;						\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		printf("# %s:%d: %s == %lld, expected %s == %lld\n",	\
		       __FILE__, __LINE__, #a, _a, #b, _b);		\
		return false;						\
	}								\
} while (0)

static inline int tap_run(const struct tap_test *t, int n)
{
	int i, failed = 0;

	printf("TAP version 13\n1..%d\n", n);
	for (i = 0; i < n; i++) {
		bool ok;

		fflush(stdout);
		ok = t[i].fn();
		printf("%sok %d %s\n", ok ? "" : "not ", i + 1, t[i].name);
		failed += !ok;
	}
	printf("# %d passed, %d failed\n", n - failed, failed);
	return failed ? 1 : 0;
}

#define TAP_MAIN(tests)							\
int main(void)								\
{									\
	return tap_run(tests, (int)(sizeof(tests) / sizeof(tests[0])));	\
}

#endif /* KSM_TAP_H */
