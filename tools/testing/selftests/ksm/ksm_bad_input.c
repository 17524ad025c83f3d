// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input to KSM, beyond what ksm_sysfs_abi checks:
 *
 *  - every writable /sys/kernel/mm/ksm knob gets empty writes, bare
 *    whitespace, leading and trailing blanks, signs, numbers just out of
 *    the knob's range, numbers that overflow its type and a page-sized
 *    run of digits; each must fail with mainline's error (an empty write
 *    succeeds and does nothing), and the knob must keep its value;
 *  - several processes write such input to all the knobs at once while
 *    another writes good values to one knob and others read them all;
 *  - madvise(MADV_MERGEABLE/UNMERGEABLE) with unaligned, wrapping,
 *    unmapped and partly unmapped ranges, mappings KSM cannot merge and
 *    advice numbers that do not exist, process_madvise() with KSM advice,
 *    and prctl(PR_SET/GET_MEMORY_MERGE) with stray arguments.
 *
 * Runs as root; prints KTAP.
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include "ksm_common.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE	67
#define PR_GET_MEMORY_MERGE	68
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise	440
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open		434
#endif

#define WRITERS		4
#define ROUNDS		300
#define LONG_DIGITS	"<digits>"	/* stands for a page of '9's */

struct bad_input {
	const char *text;
	int err;		/* expected errno; 0: accepted, no change */
};

/* What every knob refuses the same way (or, empty, accepts as nothing). */
static const struct bad_input common_bad[] = {
	{ "", 0 }, { "\n", EINVAL }, { " ", EINVAL }, { "\t\n", EINVAL },
	{ " 1", EINVAL }, { "\n1", EINVAL }, { "abc", EINVAL },
	{ "-1", EINVAL },
};

/* kstrtouint() parsers, all errors -EINVAL */
static const struct bad_input uint_bad[] = {
	{ "1 ", EINVAL }, { "1\n\n", EINVAL }, { "0x10", EINVAL },
	{ "1e3", EINVAL }, { "4294967296", EINVAL },
	{ "18446744073709551616", EINVAL }, { LONG_DIGITS, EINVAL },
	{ "--1", EINVAL }, { "+", EINVAL },
};

static const struct bad_input run_bad[] = {
	{ "3", EINVAL }, { "4294967296", EINVAL }, { "1 ", EINVAL },
	{ LONG_DIGITS, EINVAL },
};

/* kstrtoul() whose error mainline passes on: overflow is -ERANGE */
static const struct bad_input man_bad[] = {
	{ "2", EINVAL }, { "4294967296", EINVAL }, { "1 ", EINVAL },
	{ "18446744073709551616", ERANGE }, { LONG_DIGITS, ERANGE },
};

/* kstrtoint() passed on, and at least 2 */
static const struct bad_input mps_bad[] = {
	{ "1", EINVAL }, { "0", EINVAL }, { "-2147483648", EINVAL },
	{ "2147483648", ERANGE }, { "-2147483649", ERANGE },
	{ LONG_DIGITS, ERANGE }, { "2 ", EINVAL },
};

/* kstrtobool(): only the first one or two characters count */
static const struct bad_input bool_bad[] = {
	{ "2", EINVAL }, { "o", EINVAL }, { "ox", EINVAL },
	{ LONG_DIGITS, EINVAL }, { "x", EINVAL },
};

/* kstrtoul(), all errors -EINVAL, no upper bound */
static const struct bad_input ul_bad[] = {
	{ "18446744073709551616", EINVAL }, { LONG_DIGITS, EINVAL },
	{ "1 ", EINVAL }, { "0x10", EINVAL },
};

static const struct bad_input target_bad[] = {
	{ "0", EINVAL }, { "18446744073709551616", EINVAL },
	{ LONG_DIGITS, EINVAL },
};

/* kstrtouint(), all errors -EINVAL, at most INT_MAX */
static const struct bad_input depth_bad[] = {
	{ "-1", EINVAL }, { "2147483648", EINVAL }, { "4294967296", EINVAL },
	{ "1 ", EINVAL }, { LONG_DIGITS, EINVAL },
};

static const struct bad_input mode_bad[] = {
	{ "scan-time ", EINVAL }, { " none", EINVAL }, { "NONE", EINVAL },
	{ "none\n\n", EINVAL }, { "scan", EINVAL }, { LONG_DIGITS, EINVAL },
};

struct knob {
	const char *name;
	const struct bad_input *bad;
	size_t nr;
};

#define KNOB(n, b) { n, b, ARRAY_SIZE(b) }
static const struct knob knobs[] = {
	KNOB("run", run_bad),
	KNOB("pages_to_scan", uint_bad),
	KNOB("sleep_millisecs", uint_bad),
	KNOB("merge_across_nodes", man_bad),
	KNOB("use_zero_pages", bool_bad),
	KNOB("max_page_sharing", mps_bad),
	KNOB("stable_node_chains_prune_millisecs", uint_bad),
	KNOB("smart_scan", bool_bad),
	KNOB("merge_across_cgroups", bool_bad),
	KNOB("cgroup_domain_depth", depth_bad),
	KNOB("advisor_mode", mode_bad),
	KNOB("advisor_max_cpu", ul_bad),
	KNOB("advisor_min_pages_to_scan", ul_bad),
	KNOB("advisor_max_pages_to_scan", ul_bad),
	KNOB("advisor_target_scan_time", target_bad),
};
#define NR_KNOBS ARRAY_SIZE(knobs)

static char before[NR_KNOBS][128];
static int present[NR_KNOBS];
static char *long_digits;
static long psize;

static const char *input_text(const char *t)
{
	return strcmp(t, LONG_DIGITS) ? t : long_digits;
}

static const char *shown(const char *t)
{
	static char buf[64];
	size_t i, o = 0;

	if (!strcmp(t, LONG_DIGITS))
		return "a page of 9s";
	for (i = 0; t[i] && o < sizeof(buf) - 3; i++) {
		if (t[i] == '\n' || t[i] == '\t') {
			buf[o++] = '\\';
			buf[o++] = t[i] == '\n' ? 'n' : 't';
		} else {
			buf[o++] = t[i];
		}
	}
	buf[o] = 0;
	return buf;
}

/* One bad write; 1 if it failed as it must. */
static int bad_write(const struct knob *k, const struct bad_input *b,
		     int verbose)
{
	int err = ksm_write(k->name, input_text(b->text));

	if (err == -b->err)
		return 1;
	if (verbose)
		printf("# %s <- \"%s\": got %s, want %s\n", k->name,
		       shown(b->text), err ? strerror(-err) : "success",
		       b->err ? strerror(b->err) : "success");
	return 0;
}

static int unchanged(size_t i, int verbose)
{
	char now[128];

	if (ksm_read(knobs[i].name, now, sizeof(now))) {
		if (verbose)
			printf("# cannot read %s\n", knobs[i].name);
		return 0;
	}
	if (!strcmp(now, before[i]))
		return 1;
	if (verbose)
		printf("# %s changed from \"%s\" to \"%s\"\n", knobs[i].name,
		       before[i], now);
	return 0;
}

static void check_knob(size_t i)
{
	const struct knob *k = &knobs[i];
	size_t j;
	int ok = 1;

	for (j = 0; j < ARRAY_SIZE(common_bad); j++) {
		ok &= bad_write(k, &common_bad[j], 1);
		ok &= unchanged(i, 1);
	}
	for (j = 0; j < k->nr; j++) {
		ok &= bad_write(k, &k->bad[j], 1);
		ok &= unchanged(i, 1);
	}
	ksft_test_result(ok, "%s: %zu bad inputs refused, value kept\n", k->name,
			 ARRAY_SIZE(common_bad) + k->nr);
}

/* A writer process: ROUNDS random bad writes to random knobs. */
static int bad_writer(unsigned int seed)
{
	const struct knob *k;
	const struct bad_input *b;
	int wrong = 0, r;
	size_t i;

	srand(seed);
	for (r = 0; r < ROUNDS; r++) {
		i = rand() % NR_KNOBS;
		if (!present[i])
			continue;
		k = &knobs[i];
		if (rand() % 2)
			b = &common_bad[rand() % ARRAY_SIZE(common_bad)];
		else
			b = &k->bad[rand() % k->nr];
		wrong += !bad_write(k, b, wrong < 5);
	}
	return wrong ? 1 : 0;
}

/* Good writes to sleep_millisecs, alternating two values. */
static int good_writer(long a, long b)
{
	int r, bad = 0;

	for (r = 0; r < ROUNDS; r++)
		bad += !!ksm_set("sleep_millisecs", r % 2 ? b : a);
	return bad ? 1 : 0;
}

/* Reads of every knob: each must read back as one of the values. */
static int reader(long a, long b)
{
	char buf[128];
	int r, bad = 0;
	size_t i;
	long v;

	for (r = 0; r < ROUNDS / 10; r++) {
		for (i = 0; i < NR_KNOBS; i++) {
			if (!present[i] || ksm_read(knobs[i].name, buf,
						    sizeof(buf))) {
				continue;
			}
			if (!strcmp(knobs[i].name, "sleep_millisecs")) {
				v = strtol(buf, NULL, 10);
				bad += v != a && v != b;
			} else {
				bad += !!strcmp(buf, before[i]);
			}
		}
	}
	if (bad)
		printf("# a reader saw %d unexpected values\n", bad);
	return bad ? 1 : 0;
}

static void check_concurrent(void)
{
	pid_t pids[WRITERS + 2];
	long a, b;
	int i, status, ok = 1, si = -1;
	size_t k;

	for (k = 0; k < NR_KNOBS; k++)
		if (!strcmp(knobs[k].name, "sleep_millisecs"))
			si = k;
	a = ksm_get("sleep_millisecs");
	b = a + 7;
	fflush(stdout);
	for (i = 0; i < WRITERS + 2; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			ok = 0;
			continue;
		}
		if (pids[i] == 0) {
			if (i < WRITERS)
				_exit(bad_writer(1000 + i));
			_exit(i == WRITERS ? good_writer(a, b) : reader(a, b));
		}
	}
	for (i = 0; i < WRITERS + 2; i++) {
		if (pids[i] <= 0)
			continue;
		if (waitpid(pids[i], &status, 0) != pids[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("# concurrent process %d failed (status %#x)\n",
			       i, status);
			ok = 0;
		}
	}
	if (ksm_get("sleep_millisecs") != a && ksm_get("sleep_millisecs") != b) {
		printf("# sleep_millisecs is %ld, written were %ld and %ld\n",
		       ksm_get("sleep_millisecs"), a, b);
		ok = 0;
	}
	ksm_set("sleep_millisecs", a);
	for (k = 0; k < NR_KNOBS; k++)
		if (present[k] && (int)k != si)
			ok &= unchanged(k, 1);
	ksft_test_result(ok, "%d processes writing bad input to every knob at once, one writing good values, one reading: errors as alone, values kept\n",
			 WRITERS);
}

/* Does the VMA at p carry the "mg" (VM_MERGEABLE) flag in smaps? */
static int vma_mergeable(void *p)
{
	char line[512];

	if (smaps_line(p, "VmFlags:", line, sizeof(line)))
		return -1;
	return strstr(line, " mg") != NULL;
}

static int expect_call(const char *what, long ret, int want_err)
{
	int err = ret < 0 ? errno : 0;

	if (want_err ? (ret == -1 && err == want_err) : ret == 0)
		return 1;
	printf("# %s: returned %ld (%s), want %s\n", what, ret,
	       ret < 0 ? strerror(err) : "no error",
	       want_err ? strerror(want_err) : "0");
	return 0;
}

static void check_madvise(void)
{
	char *p, *q, *s;
	struct iovec iov;
	int ok = 1, pidfd;

	p = mmap(NULL, 8 * psize, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	s = mmap(NULL, 2 * psize, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || s == MAP_FAILED) {
		ksft_test_result(0, "madvise with bad ranges: mmap failed\n");
		return;
	}
	memset(p, 0x5a, 8 * psize);
	ok &= expect_call("MADV_MERGEABLE, unaligned start",
			  madvise(p + 1, psize, MADV_MERGEABLE), EINVAL);
	ok &= expect_call("MADV_MERGEABLE, length wrapping around",
			  madvise(p, -psize, MADV_MERGEABLE), EINVAL);
	ok &= expect_call("MADV_MERGEABLE, length -1",
			  madvise(p, (size_t)-1, MADV_MERGEABLE), EINVAL);
	ok &= expect_call("MADV_UNMERGEABLE, unaligned start",
			  madvise(p + 1, psize, MADV_UNMERGEABLE), EINVAL);
	ok &= expect_call("advice 12345", madvise(p, psize, 12345), EINVAL);
	ok &= expect_call("advice -1", madvise(p, psize, -1), EINVAL);
	if (vma_mergeable(p) != 0) {
		printf("# a refused madvise left the range mergeable\n");
		ok = 0;
	}
	ok &= expect_call("MADV_MERGEABLE, length 0",
			  madvise(p, 0, MADV_MERGEABLE), 0);
	ok &= expect_call("MADV_UNMERGEABLE on a range never advised",
			  madvise(p, 8 * psize, MADV_UNMERGEABLE), 0);
	ok &= expect_call("MADV_MERGEABLE on MAP_SHARED memory",
			  madvise(s, 2 * psize, MADV_MERGEABLE), 0);
	if (vma_mergeable(s) != 0) {
		printf("# MAP_SHARED memory became mergeable\n");
		ok = 0;
	}
	/* Punch a hole: the whole range is partly unmapped now. */
	munmap(p + 4 * psize, psize);
	ok &= expect_call("MADV_MERGEABLE over a hole",
			  madvise(p, 8 * psize, MADV_MERGEABLE), ENOMEM);
	ok &= expect_call("MADV_UNMERGEABLE over a hole",
			  madvise(p, 8 * psize, MADV_UNMERGEABLE), ENOMEM);
	ok &= expect_call("MADV_MERGEABLE on the hole itself",
			  madvise(p + 4 * psize, psize, MADV_MERGEABLE), ENOMEM);
	ok &= expect_call("MADV_MERGEABLE above the address space",
			  madvise((void *)(-16 * psize), psize, MADV_MERGEABLE),
			  ENOMEM);
	/* The advice is not one process_madvise() takes. */
	pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	iov.iov_base = p;
	iov.iov_len = psize;
	if (pidfd >= 0) {
		ok &= expect_call("process_madvise(MADV_MERGEABLE)",
				  syscall(SYS_process_madvise, pidfd, &iov, 1,
					  MADV_MERGEABLE, 0), EINVAL);
		close(pidfd);
	}
	q = p;
	if (!all_bytes(q, 4, 0x5a) || !all_bytes(q + 5 * psize, 3, 0x5a)) {
		printf("# the range's content changed\n");
		ok = 0;
	}
	munmap(p, 8 * psize);
	munmap(s, 2 * psize);
	ksft_test_result(ok, "madvise/process_madvise with bad ranges, mappings and advice\n");
}

static void check_prctl(void)
{
	int ok = 1;

	ok &= expect_call("PR_SET_MEMORY_MERGE with arg3",
			  prctl(PR_SET_MEMORY_MERGE, 1, 1, 0, 0), EINVAL);
	ok &= expect_call("PR_SET_MEMORY_MERGE with arg4",
			  prctl(PR_SET_MEMORY_MERGE, 1, 0, 1, 0), EINVAL);
	ok &= expect_call("PR_SET_MEMORY_MERGE with arg5",
			  prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, -1L), EINVAL);
	ok &= expect_call("PR_GET_MEMORY_MERGE with arg2",
			  prctl(PR_GET_MEMORY_MERGE, 1, 0, 0, 0), EINVAL);
	ok &= expect_call("PR_GET_MEMORY_MERGE with arg5",
			  prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 1), EINVAL);
	if (prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) != 0) {
		printf("# a refused PR_SET_MEMORY_MERGE turned merging on\n");
		ok = 0;
	}
	/* Any nonzero arg2 means on, as in mainline. */
	ok &= expect_call("PR_SET_MEMORY_MERGE 2",
			  prctl(PR_SET_MEMORY_MERGE, 2, 0, 0, 0), 0);
	if (prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) != 1) {
		printf("# PR_SET_MEMORY_MERGE 2 did not turn merging on\n");
		ok = 0;
	}
	ok &= expect_call("PR_SET_MEMORY_MERGE 0",
			  prctl(PR_SET_MEMORY_MERGE, 0, 0, 0, 0), 0);
	if (prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) != 0) {
		printf("# PR_SET_MEMORY_MERGE 0 did not turn merging off\n");
		ok = 0;
	}
	ksft_test_result(ok, "prctl(PR_SET/GET_MEMORY_MERGE) with stray arguments\n");
}

int main(void)
{
	size_t i;
	int ok = 1;

	if (access(KSM_DIR "run", W_OK))
		ksft_exit_skip("no writable " KSM_DIR "\n");
	psize = sysconf(_SC_PAGESIZE);
	long_digits = malloc(psize + 1);
	if (!long_digits)
		return KSFT_FAIL;
	memset(long_digits, '9', psize);
	long_digits[psize] = 0;

	ksft_print_header();
	ksft_set_plan(NR_KNOBS + 4);
	for (i = 0; i < NR_KNOBS; i++)
		present[i] = !ksm_read(knobs[i].name, before[i],
				       sizeof(before[i]));
	for (i = 0; i < NR_KNOBS; i++) {
		if (present[i])
			check_knob(i);
		else
			ksft_test_result_skip("%s: not present\n", knobs[i].name);
	}
	check_concurrent();
	check_madvise();
	check_prctl();
	for (i = 0; i < NR_KNOBS; i++)
		if (present[i])
			ok &= unchanged(i, 1);
	ksft_test_result(ok, "every knob reads as before the test\n");
	ksft_finished();
}
