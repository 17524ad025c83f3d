// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_rmap: how the rest of mm finds the mappings of a KSM page.
 *
 * A KSM page is found through the anon_vma each of its mappings pins.
 * When one anon_vma serves thousands of vmas (a range split by mprotect,
 * or many forks), a walk must ask its interval tree for the page's index
 * only, not visit every vma; and a vma that mremap moved before its pages
 * were merged keeps its old indexes, so its mappings must still be found.
 * Migration (move_pages() between the two fake NUMA nodes) walks every
 * mapping twice and fails if it misses one, so it serves both as the
 * stopwatch and as the check.
 *
 * Runs as root in the test guest (numa=fake=2).
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "ksm_common.h"

#define PAIRS		32
#define PAIR_PAGES	(2 * PAIRS)
#define SPLITS		10000	/* read-only holes: about 20,000 vmas */
#define ROUNDS		6
#define MOVE_ALL	(1 << 2)	/* MPOL_MF_MOVE_ALL */

static long psize;

/* Pages 2k and 2k + 1 hold the same content, different for every k. */
static void fill_pairs(char *p)
{
	int i;

	for (i = 0; i < PAIR_PAGES; i++) {
		memset(p + i * psize, 0, psize);
		snprintf(p + i * psize, psize, "ksm_rmap pair %d", i / 2);
		p[i * psize + psize - 1] = (char)(i / 2 + 1);
	}
}

static bool pairs_intact(const char *p)
{
	char want[64];
	int i;

	for (i = 0; i < PAIR_PAGES; i++) {
		snprintf(want, sizeof(want), "ksm_rmap pair %d", i / 2);
		if (strcmp(p + i * psize, want) ||
		    p[i * psize + psize - 1] != (char)(i / 2 + 1))
			return false;
	}
	return true;
}

/* Merge the pairs at @p (MADV_MERGEABLE), then stop ksmd: 0 on success. */
static int merge_pairs(char *p)
{
	ksm_set("run", 2);
	ksm_set("merge_across_nodes", 1);
	if (madvise(p, PAIR_PAGES * psize, MADV_MERGEABLE))
		return -1;
	ksm_set("pages_to_scan", 5000);
	ksm_set("sleep_millisecs", 0);
	ksm_set("run", 1);
	if (wait_self_merging(PAIR_PAGES, PAIR_PAGES, 60))
		return -1;
	ksm_set("run", 0);	/* KSM pages stay; nothing else moves them */
	return 0;
}

/*
 * Move one page of each pair to @node and back, ROUNDS times; returns the
 * median seconds per move of all PAIRS pages, or -1 if a page did not
 * reach its node.
 */
static double time_moves(char *p)
{
	void *pages[PAIRS];
	int nodes[PAIRS], status[PAIRS], r, i, k;
	double t[ROUNDS], tmp;

	for (i = 0; i < PAIRS; i++)
		pages[i] = p + 2 * i * psize;
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < PAIRS; i++)
			nodes[i] = (r + 1) & 1;
		t[r] = mono_seconds();
		if (sys_move_pages(PAIRS, pages, nodes, status, MOVE_ALL))
			return -1;
		t[r] = mono_seconds() - t[r];
		for (i = 0; i < PAIRS; i++)
			if (status[i] != nodes[i])
				return -1;
	}
	for (i = 1; i < ROUNDS; i++)
		for (k = i; k > 0 && t[k] < t[k - 1]; k--) {
			tmp = t[k];
			t[k] = t[k - 1];
			t[k - 1] = tmp;
		}
	return (t[ROUNDS / 2 - 1] + t[ROUNDS / 2]) / 2;
}

/*
 * In a child: PAIR_PAGES merged pages at the start of a range whose
 * anon_vma also serves @splits read-only holes' worth of vmas; writes the
 * median time of the moves to @fd (a double, negative on failure).
 */
static void timed_child(int fd, int splits)
{
	long n = PAIR_PAGES + 2L * splits + 1, i;
	double t = -1;
	char *p;

	p = mmap(NULL, n * psize, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		goto out;
	fill_pairs(p);		/* the range gets its anon_vma here */
	for (i = 0; i < splits; i++)
		if (mprotect(p + (PAIR_PAGES + 2 * i + 1) * psize, psize,
			     PROT_READ))
			goto out;
	if (merge_pairs(p))
		goto out;
	t = time_moves(p);
	if (!pairs_intact(p))
		t = -2;
out:
	if (write(fd, &t, sizeof(t)) != sizeof(t))
		_exit(1);
	_exit(0);
}

static double run_timed(int splits)
{
	double t = -3;
	int fds[2], status;
	pid_t pid;

	if (pipe(fds))
		return -3;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		timed_child(fds[1], splits);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &t, sizeof(t)) != sizeof(t))
		t = -3;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	ksm_set("run", 2);
	return t;
}

/*
 * With 20,000 vmas on the anon_vma, a move must not cost much more than
 * with one: a walk of the whole interval tree per mapping makes it
 * hundreds of times slower (measured on 6.12.117).
 */
static void test_many_vmas(void)
{
	double one, many;
	const char *why = NULL;

	one = run_timed(0);
	many = run_timed(SPLITS);
	ksft_print_msg("rmap: moving %d KSM pages takes %.2f ms with 1 vma, %.2f ms with %d vmas on the anon_vma (%.1fx)\n",
		       PAIRS, one * 1e3, many * 1e3, 2 * SPLITS + 1,
		       one > 0 ? many / one : 0);
	if (one < 0 || many < 0)
		why = one == -2 || many == -2 ? "content changed" :
		      "a KSM page did not migrate";
	else if (many > 4 * one + 0.005)
		why = "a walk visits every vma of the anon_vma";
	ksft_test_result(!why, "rmap: a walk looks only at the vmas at the page's index%s%s\n",
			 why ? ": " : "", why ? why : "");
}

/*
 * A range moved by mremap before its pages were merged: its vma keeps the
 * page indexes of the old address. Its KSM pages, and the same pages in a
 * child forked after the merge, must still be found: they migrate, keep
 * their content, and parent and child keep sharing one frame.
 */
static void test_mremap_moved(void)
{
	size_t len = PAIR_PAGES * psize;
	int go[2], done[2], i, status[PAIRS], nodes[PAIRS];
	void *pages[PAIRS];
	const char *why = NULL;
	char *a, *b, c = 0;
	uint64_t pfn[PAIRS];
	pid_t pid = -1;

	a = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, 2 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED || pipe(go) || pipe(done)) {
		ksft_test_result(0, "rmap: KSM pages of an mremap-moved vma are found: setup\n");
		return;
	}
	/* Fault it first: the anon_vma is made for the old address. */
	a[0] = 1;
	b = mremap(a, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, b + len);
	if (b == MAP_FAILED) {
		why = "mremap";
		goto out;
	}
	fill_pairs(b);
	if (merge_pairs(b)) {
		why = "the pairs did not merge";
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		/* Maps the KSM pages at the same address, unmoved. */
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		c = pairs_intact(b) ? 'y' : 'n';
		for (i = 0; i < PAIRS && c == 'y'; i++)
			if (pfn_of(b + 2 * i * psize) !=
			    pfn_of(b + (2 * i + 1) * psize))
				c = 'f';
		if (write(done[1], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	for (i = 0; i < PAIRS; i++) {
		pages[i] = b + 2 * i * psize;
		pfn[i] = pfn_of(pages[i]);
	}
	for (i = 0; i < PAIRS; i++)
		nodes[i] = 1;
	if (sys_move_pages(PAIRS, pages, NULL, status, 0)) {
		why = "move_pages (query)";
		goto out;
	}
	for (i = 0; i < PAIRS; i++)
		nodes[i] = !status[i];
	if (sys_move_pages(PAIRS, pages, nodes, status, MOVE_ALL)) {
		why = "move_pages";
		goto out;
	}
	for (i = 0; i < PAIRS && !why; i++)
		if (status[i] != nodes[i])
			why = "a KSM page did not migrate (a mapping was missed)";
		else if (pfn_of(pages[i]) == pfn[i])
			why = "a KSM page kept its frame";
	if (!why && self_merging_pages() != PAIR_PAGES)
		why = "the pages are no longer merged";
	if (!why && !pairs_intact(b))
		why = "content changed";
	if (write(go[1], "g", 1) != 1 || read(done[0], &c, 1) != 1)
		why = why ? why : "the child did not answer";
	else if (!why && c != 'y')
		why = c == 'f' ? "the child's pairs no longer share a frame" :
		      "the child sees changed content";
out:
	if (pid > 0) {
		close(go[1]);
		waitpid(pid, NULL, 0);
	}
	ksm_set("run", 2);
	munmap(b, len);
	ksft_test_result(!why, "rmap: KSM pages of an mremap-moved vma are found%s%s\n",
			 why ? ": " : "", why ? why : "");
}

/* Put back at the end, after run=2, in this order. */
static const char *const knobs[] = {
	"merge_across_nodes", "pages_to_scan", "sleep_millisecs", "run", NULL,
};

int main(void)
{
	psize = sysconf(_SC_PAGESIZE);
	if (access(KSM_DIR "run", W_OK))
		ksft_exit_skip("needs root and CONFIG_KSM\n");
	ksm_save_knobs(knobs);
	ksft_print_header();
	ksft_set_plan(2);
	test_many_vmas();
	test_mremap_moved();
	ksm_restore_knobs();
	ksft_finished();
}
