// SPDX-License-Identifier: GPL-2.0
/*
 * How ksmd paces itself: the second look at a new page (soon, not a round
 * later, yet never merging pages that are being written), smart_scan
 * (pages that keep failing to merge are skipped in later rounds, KSM pages
 * never are) and the scan-time advisor (advisor_mode "scan-time" retunes
 * pages_to_scan after every round and reports each decision through the
 * ksm_advisor tracepoint).
 * Runs as root in the test guest. Every knob it touches is put back.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include "ksm_common.h"

#define UNIQUE_PAGES	512
#define SAME_PAGES	128
#define ROUNDS		12

static long psize;

static char *map_mergeable(long n)
{
	char *p = mmap(NULL, n * psize, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	return p;
}

static void test_smart_scan(void)
{
	long s0, s1, s2, s3, min_merging = LONG_MAX, n, saved;
	char *u = NULL, *m = NULL;
	const char *why = NULL;
	time_t end;

	saved = ksm_get("smart_scan");
	if (saved < 0) {
		ksft_test_result_skip("smart_scan: failing pages skipped, KSM pages never (no knob)\n");
		ksft_test_result_skip("smart_scan: merged pages stay merged and checked (no knob)\n");
		return;
	}
	ksm_set("smart_scan", 0);
	u = map_mergeable(UNIQUE_PAGES);
	m = map_same(SAME_PAGES, 0x3c);
	if (!u || !m) {
		why = "mmap";
		goto out;
	}
	fill_unique_pages(u, UNIQUE_PAGES, getpid());
	if (madvise(u, UNIQUE_PAGES * psize, MADV_MERGEABLE)) {
		why = "madvise";
		goto out;
	}
	if (wait_self_merged(SAME_PAGES, 60)) {
		why = "the identical pages did not merge";
		goto out;
	}
	/* smart_scan off: nothing may be skipped, however often it fails. */
	s0 = ksm_get("pages_skipped");
	if (wait_rounds(ROUNDS, 120)) {
		why = "ksmd did not finish its rounds (smart_scan=0)";
		goto out;
	}
	s1 = ksm_get("pages_skipped");
	/* smart_scan on: the unique pages get skipped, the KSM ones never. */
	ksm_set("smart_scan", 1);
	s2 = ksm_get("pages_skipped");
	end = time(NULL) + 120;
	n = ksm_get("full_scans") + ROUNDS;
	while (ksm_get("full_scans") < n && time(NULL) < end) {
		long v = self_merging_pages();

		if (v < min_merging)
			min_merging = v;
		usleep(2000);
	}
	s3 = ksm_get("pages_skipped");
	ksft_print_msg("smart_scan: pages_skipped +%ld over %d rounds with 0, +%ld with 1; merged pages never below %ld of %d\n",
		       s1 - s0, ROUNDS, s3 - s2, min_merging, SAME_PAGES);
	if (ksm_get("full_scans") < n)
		why = "ksmd did not finish its rounds (smart_scan=1)";
	else if (s1 != s0)
		why = "pages were skipped with smart_scan=0";
	else if (s3 <= s2)
		why = "no page skipped with smart_scan=1 although 512 pages never merge";
	ksft_test_result(!why, "smart_scan: failing pages skipped only when enabled%s%s\n",
			 why ? ": " : "", why ? why : "");
	if (why) {
		ksft_test_result_skip("smart_scan: merged pages stay merged and checked (earlier step failed)\n");
		goto done;
	}

	/*
	 * Had ksmd skipped a KSM page, it would have dropped its item from
	 * the stable tree and the count would have dipped. And the merged
	 * pages are still looked at: one that turns private again by a
	 * write is noticed within a few rounds.
	 */
	if (min_merging < SAME_PAGES) {
		why = "a merged page was dropped while smart_scan skipped others";
	} else if (!all_bytes(m, SAME_PAGES, 0x3c)) {
		why = "merged content changed";
	} else {
		m[0] = 0x3d;
		if (wait_self_merging(SAME_PAGES - 1, SAME_PAGES - 1, 60))
			why = "a page written after merging was never looked at again";
		else if (!all_bytes(m + psize, SAME_PAGES - 1, 0x3c))
			why = "the write showed in other merged pages";
	}
	ksft_test_result(!why, "smart_scan: merged pages stay merged and checked%s%s\n",
			 why ? ": " : "", why ? why : "");
	goto done;
out:
	ksft_test_result(0, "smart_scan: failing pages skipped only when enabled: %s\n", why);
	ksft_test_result_skip("smart_scan: merged pages stay merged and checked (setup failed)\n");
done:
	if (u)
		munmap(u, UNIQUE_PAGES * psize);
	if (m)
		munmap(m, SAME_PAGES * psize);
	ksm_set("smart_scan", saved);
	ksm_set("run", 2);
}

#define FRESH_PAGES	4096	/* per copy: a round at the default knobs > 1 s */
#define VOLATILE_PAGES	256

static volatile int writer_stop;
static volatile long writer_passes;
static long writer_max_gap_us;

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

/*
 * Rewrite a counter in every page, a new value each pass, 1 ms apart;
 * note the longest time between two passes.
 */
static void *rewrite_pages(void *arg)
{
	long i, t, last = now_us();
	char *p = arg;
	uint64_t gen = 0;

	while (!writer_stop) {
		gen++;
		for (i = 0; i < VOLATILE_PAGES; i++)
			*(volatile uint64_t *)(p + i * psize + 64) = gen;
		t = now_us();
		if (t - last > writer_max_gap_us && writer_passes)
			writer_max_gap_us = t - last;
		last = t;
		writer_passes++;
		usleep(1000);
	}
	return NULL;
}

/*
 * A page must look the same twice before it can merge. The second look
 * need not wait for the next round: two copies of fresh content merge in
 * the round that first meets them (at the default knobs). But a page
 * rewritten every millisecond must never merge.
 */
static void test_second_look(void)
{
	long f0, merged = -1, cow0, cow1, rounds_done;
	char *a = NULL, *b = NULL, *v = NULL;
	const char *why = NULL;
	pthread_t writer;
	int writing = 0;
	time_t end;

	ksm_set("run", 2);
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 20);
	a = map_mergeable(FRESH_PAGES);
	b = map_mergeable(FRESH_PAGES);
	if (!a || !b) {
		why = "mmap";
		goto first;
	}
	fill_unique_pages(a, FRESH_PAGES, getpid() + 1000);
	memcpy(b, a, FRESH_PAGES * psize);
	if (madvise(a, FRESH_PAGES * psize, MADV_MERGEABLE) ||
	    madvise(b, FRESH_PAGES * psize, MADV_MERGEABLE)) {
		why = "madvise";
		goto first;
	}
	/* run=2 restarted the count: ksmd's next round is its first. */
	f0 = ksm_get("full_scans");
	ksm_set("run", 1);
	end = time(NULL) + 120;
	while (ksm_get("full_scans") < f0 + 1 && time(NULL) < end)
		usleep(1000);
	merged = self_merging_pages();
	ksft_print_msg("second look: %ld of %d pages merged when the first round ended (full_scans %ld -> %ld)\n",
		       merged, 2 * FRESH_PAGES, f0, ksm_get("full_scans"));
	if (ksm_get("full_scans") < f0 + 1)
		why = "ksmd did not finish a round";
	else if (merged < FRESH_PAGES)
		why = "fewer than half the copies merged in the round that found them";
	else if (wait_self_merged(2 * FRESH_PAGES, 60))
		why = "not every copy merged later either";
	else if (memcmp(a, b, FRESH_PAGES * psize))
		why = "merged content differs";
first:
	ksft_test_result(!why, "second look: fresh copies merge in their first round%s%s\n",
			 why ? ": " : "", why ? why : "");
	if (a)
		munmap(a, FRESH_PAGES * psize);
	if (b)
		munmap(b, FRESH_PAGES * psize);

	why = NULL;
	ksm_set("run", 2);
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 20);
	cow0 = keyed_value("/proc/vmstat", "cow_ksm");
	v = map_same(VOLATILE_PAGES, 0x5a);
	if (!v) {
		why = "mmap";
		goto volatile_done;
	}
	if (pthread_create(&writer, NULL, rewrite_pages, v)) {
		why = "pthread_create";
		goto volatile_done;
	}
	writing = 1;
	/* ksmd must not see the pages before the writer is under way. */
	end = time(NULL) + 10;
	while (writer_passes < 2 && time(NULL) < end)
		usleep(1000);
	f0 = ksm_get("full_scans");
	ksm_set("run", 1);
	if (wait_rounds(8, 120))
		why = "ksmd did not finish its rounds";
	rounds_done = ksm_get("full_scans") - f0;
	merged = self_merging_pages();
	writer_stop = 1;
	pthread_join(writer, NULL);
	writing = 0;
	cow1 = keyed_value("/proc/vmstat", "cow_ksm");
	ksft_print_msg("second look: %d pages rewritten every ms: %ld merged after %ld rounds, cow_ksm %+ld; longest gap between writes %ld us\n",
		       VOLATILE_PAGES, merged, rounds_done,
		       cow0 >= 0 ? cow1 - cow0 : 0, writer_max_gap_us);
	if (!why && merged)
		why = "pages being rewritten were merged";
	else if (!why && cow0 >= 0 && cow1 != cow0)
		why = "pages being rewritten were merged (and broken by the next write)";
	/* A writer that stood still that long gave ksmd stable pages. */
	if (why && !strncmp(why, "pages being", 11) &&
	    writer_max_gap_us >= 40000) {
		ksft_test_result_skip("second look: pages rewritten every ms never merge: the writer stalled for %ld ms, cannot judge\n",
				      writer_max_gap_us / 1000);
		goto volatile_cleanup;
	}
volatile_done:
	ksft_test_result(!why, "second look: pages rewritten every ms never merge%s%s\n",
			 why ? ": " : "", why ? why : "");
volatile_cleanup:
	if (writing) {
		writer_stop = 1;
		pthread_join(writer, NULL);
	}
	if (v)
		munmap(v, VOLATILE_PAGES * psize);
	ksm_set("run", 2);
}

/* The advisor's knobs, saved and put back. */
static const char * const adv_knobs[] = {
	"advisor_min_pages_to_scan", "advisor_max_pages_to_scan",
	"advisor_target_scan_time", "advisor_max_cpu",
};
#define NKNOBS (sizeof(adv_knobs) / sizeof(adv_knobs[0]))

#define ADV_MIN		200
#define ADV_MAX		3000
#define ADV_TARGET	1	/* seconds */
#define ADV_CPU		70
#define ADV_PAGES	32768	/* 128 MiB: a round at ADV_MIN takes > 2 s */
#define ADV_SECONDS	40

/*
 * Pull "pages_to_scan N" out of every ksm_advisor line of the trace:
 * the count of events, the largest value and the last one.
 */
static int parse_advisor_trace(long *maxv, long *last)
{
	static char buf[1 << 20];
	int events = 0;
	char *s;

	if (read_file(TRACE_DIR "trace", buf, sizeof(buf)))
		return -1;
	*maxv = -1;
	*last = -1;
	for (s = buf; (s = strstr(s, "ksm_advisor:")); s++) {
		char *q = strstr(s, "pages_to_scan ");
		long v;

		if (!q)
			break;
		v = strtol(q + 14, NULL, 10);
		events++;
		if (v > *maxv)
			*maxv = v;
		*last = v;
		s = q;
	}
	return events;
}

static void test_advisor(void)
{
	long saved[NKNOBS], v, lo = LONG_MAX, hi = -1, first, tmax = -1, tlast = -1;
	long saved_smart = ksm_get("smart_scan");
	int traced = 0, events, i;
	const char *why = NULL;
	char mode[32] = "";
	char *p = NULL;
	time_t end;

	if (ksm_read("advisor_mode", mode, sizeof(mode))) {
		ksft_test_result_skip("advisor: scan-time steers pages_to_scan within its bounds (no advisor)\n");
		return;
	}
	for (i = 0; i < (int)NKNOBS; i++)
		saved[i] = ksm_get(adv_knobs[i]);
	p = map_mergeable(ADV_PAGES);
	if (!p) {
		why = "mmap";
		goto out;
	}
	fill_unique_pages(p, ADV_PAGES, getpid() + 77);
	/* Every page fails every round: keep rounds the same length. */
	ksm_set("smart_scan", 0);
	ksm_set("run", 0);
	ksm_set("sleep_millisecs", 20);
	if (!write_file(TRACE_DIR "events/ksm/ksm_advisor/enable", "1")) {
		traced = 1;
		trace_clear();
	}
	if (ksm_set("advisor_min_pages_to_scan", ADV_MIN) ||
	    ksm_set("advisor_max_pages_to_scan", ADV_MAX) ||
	    ksm_set("advisor_target_scan_time", ADV_TARGET) ||
	    ksm_set("advisor_max_cpu", ADV_CPU)) {
		why = "cannot set the advisor's knobs";
		goto out;
	}
	/* Writing a different mode restarts the advisor from its minimum. */
	ksm_write("advisor_mode", "none");
	if (ksm_write("advisor_mode", "scan-time")) {
		why = "cannot select advisor_mode scan-time";
		goto out;
	}
	first = ksm_get("pages_to_scan");
	if (madvise(p, ADV_PAGES * psize, MADV_MERGEABLE)) {
		why = "madvise";
		goto out;
	}
	ksm_set("run", 1);
	/*
	 * Rounds over 128 MiB at 200 pages a batch take longer than the
	 * 1 s target, so the advisor must raise pages_to_scan, never past
	 * advisor_max_pages_to_scan. (As in mainline, the floor is not
	 * advisor_min_pages_to_scan but what 10% of a CPU buys; only the
	 * starting value is the minimum.)
	 */
	end = time(NULL) + ADV_SECONDS;
	while (time(NULL) < end) {
		v = ksm_get("pages_to_scan");
		if (v < lo)
			lo = v;
		if (v > hi)
			hi = v;
		usleep(20000);
	}
	ksm_set("run", 0);
	v = ksm_get("pages_to_scan");
	events = traced ? parse_advisor_trace(&tmax, &tlast) : -1;
	ksft_print_msg("advisor: pages_to_scan started at %ld, seen in [%ld, %ld], ended at %ld after %ld rounds; %d ksm_advisor events (largest %ld, last %ld)\n",
		       first, lo, hi, v, ksm_get("full_scans"), events,
		       traced ? tmax : -1, traced ? tlast : -1);
	if (first != ADV_MIN)
		why = "selecting scan-time did not start pages_to_scan at advisor_min_pages_to_scan";
	else if (hi > ADV_MAX)
		why = "pages_to_scan went past advisor_max_pages_to_scan";
	else if (hi <= ADV_MIN)
		why = "rounds longer than the target did not raise pages_to_scan";
	else if (!traced)
		why = "no ksm_advisor tracepoint in tracefs";
	else if (events < 2)
		why = "the ksm_advisor tracepoint did not fire after the rounds";
	else if (tmax > ADV_MAX)
		why = "a traced decision went past the maximum";
	else if (tlast != v)
		why = "the last traced pages_to_scan is not the value in force";
out:
	ksft_test_result(!why, "advisor: scan-time steers pages_to_scan within its bounds%s%s\n",
			 why ? ": " : "", why ? why : "");
	if (traced)
		write_file(TRACE_DIR "events/ksm/ksm_advisor/enable", "0");
	ksm_write("advisor_mode", "none");
	for (i = 0; i < (int)NKNOBS; i++)
		if (saved[i] >= 0)
			ksm_set(adv_knobs[i], saved[i]);
	if (saved_smart >= 0)
		ksm_set("smart_scan", saved_smart);
	if (p)
		munmap(p, ADV_PAGES * psize);
	ksm_set("run", 2);
}

/* Put back at the end, after run=2, in this order. */
static const char *const knobs[] = {
	"pages_to_scan", "sleep_millisecs", "run", NULL,
};

int main(void)
{
	psize = sysconf(_SC_PAGESIZE);
	if (access(KSM_DIR "run", W_OK))
		ksft_exit_skip("needs root and /sys/kernel/mm/ksm\n");
	ksm_save_knobs(knobs);
	ksm_set("run", 2);
	ksft_print_header();
	ksft_set_plan(5);
	test_second_look();
	test_smart_scan();
	test_advisor();
	ksm_restore_knobs();
	ksft_finished();
}
