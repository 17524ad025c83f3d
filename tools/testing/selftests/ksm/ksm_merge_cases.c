// SPDX-License-Identifier: GPL-2.0
/*
 * Merge scenarios upstream's selftests leave out: mremap of a merged
 * range, fork of a merged range (contents intact, copy on write), the
 * -EBUSY rules of max_page_sharing and merge_across_nodes while KSM pages
 * exist, and exit of an mm while ksmd is scanning it. Runs as root.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "ksm_common.h"

#define NPAGES 64

static long psize;
/* Put back at the end, after run=2, in this order. */
static const char *const knobs[] = {
	"max_page_sharing", "use_zero_pages", "pages_to_scan",
	"sleep_millisecs", "run", NULL,
};

static void test_mremap(void)
{
	char *p = map_same(NPAGES, 0x5a), *q;
	const char *why = NULL;

	if (!p || wait_self_merged(NPAGES, 60)) {
		ksft_test_result(0, "mremap: pages merged before the move\n");
		goto out;
	}
	q = mmap(NULL, 2 * NPAGES * psize, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	q = mremap(p, NPAGES * psize, NPAGES * psize,
		   MREMAP_MAYMOVE | MREMAP_FIXED, q + NPAGES * psize);
	if (q == MAP_FAILED) {
		ksft_test_result(0, "mremap: move failed: %s\n", strerror(errno));
		goto out;
	}
	p = q;
	/*
	 * Moving a range breaks its KSM pages first (mremap unmerges the
	 * old range, as mainline does), but the area stays mergeable, so
	 * ksmd must find the pages again at their new address.
	 */
	if (!all_bytes(p, NPAGES, 0x5a)) {
		why = "content changed by the move";
	} else if (wait_self_merged(NPAGES, 60)) {
		why = "not merged again at the new address";
	} else {
		p[0] = 1;
		if (p[0] != 1 || !all_bytes(p + psize, NPAGES - 1, 0x5a))
			why = "a write to one page showed in others";
		else if (madvise(p, NPAGES * psize, MADV_UNMERGEABLE))
			why = "MADV_UNMERGEABLE failed";
		else if (wait_self_unmerged(60))
			why = "still counted as merged after MADV_UNMERGEABLE";
		else if (!all_bytes(p + psize, NPAGES - 1, 0x5a))
			why = "content changed by the unmerge";
	}
	ksft_test_result(!why, "mremap of a merged range keeps content and merges%s%s\n",
			 why ? ": " : "", why ? why : "");
out:
	if (p)
		munmap(p, NPAGES * psize);
	ksm_set("run", 2);
}

static void test_fork(void)
{
	char *p = map_same(NPAGES, 0x3c);
	int status, ok;
	pid_t pid;

	if (!p || wait_self_merged(NPAGES, 60)) {
		ksft_test_result(0, "fork: pages merged before fork\n");
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		int good = all_bytes(p, NPAGES, 0x3c);

		memset(p, 0x11, psize);
		good = good && all_bytes(p, 1, 0x11) &&
		       all_bytes(p + psize, NPAGES - 1, 0x3c);
		_exit(good ? 0 : 1);
	}
	ok = pid > 0 && waitpid(pid, &status, 0) == pid &&
	     WIFEXITED(status) && WEXITSTATUS(status) == 0;
	ok = ok && all_bytes(p, NPAGES, 0x3c);
	p[psize] = 0x22;
	ok = ok && p[psize] == 0x22 && all_bytes(p, 1, 0x3c);
	ksft_test_result(ok, "fork of a merged range: contents intact, COW on write\n");
out:
	if (p)
		munmap(p, NPAGES * psize);
	ksm_set("run", 2);
}

static void test_ebusy(void)
{
	char *p = map_same(NPAGES, 0x77);
	long mps = ksm_get("max_page_sharing");
	int ok, has_man = ksm_get("merge_across_nodes") >= 0;
	long man = ksm_get("merge_across_nodes");

	if (!p || wait_self_merged(NPAGES, 60)) {
		ksft_test_result(0, "EBUSY: pages merged\n");
		goto out;
	}
	ksm_set("run", 0);
	ok = ksm_set("max_page_sharing", mps + 1) == -EBUSY &&
	     ksm_get("max_page_sharing") == mps;
	/* Writing the current value is always fine. */
	ok = ok && ksm_set("max_page_sharing", mps) == 0;
	if (has_man)
		ok = ok && ksm_set("merge_across_nodes", !man) == -EBUSY &&
		     ksm_get("merge_across_nodes") == man &&
		     ksm_set("merge_across_nodes", man) == 0;
	/* Once everything is unmerged the knobs can change. */
	ok = ok && ksm_set("run", 2) == 0 && ksm_get("pages_shared") == 0;
	ok = ok && ksm_set("max_page_sharing", mps + 1) == 0 &&
	     ksm_set("max_page_sharing", mps) == 0;
	if (has_man)
		ok = ok && ksm_set("merge_across_nodes", !man) == 0 &&
		     ksm_set("merge_across_nodes", man) == 0;
	ksft_test_result(ok, "max_page_sharing/merge_across_nodes: -EBUSY while merged\n");
out:
	if (p)
		munmap(p, NPAGES * psize);
	ksm_set("run", 2);
}

static void test_exit_mid_scan(void)
{
	const int children = 6, big = 2048;
	int i, status, ok = 1;
	pid_t pids[6];

	/* Slow scan so that ksmd is inside the children when they exit. */
	ksm_set("pages_to_scan", 64);
	ksm_set("sleep_millisecs", 0);
	ksm_set("run", 1);
	for (i = 0; i < children; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char *p = map_same(big, (char)(i & 1));

			if (!p)
				_exit(2);
			usleep(20000 * (i + 1));
			_exit(0);	/* exit with the mm half scanned */
		}
	}
	for (i = 0; i < children; i++)
		if (pids[i] < 0 || waitpid(pids[i], &status, 0) != pids[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			ok = 0;
	/* KSM keeps working afterwards and forgets the exited mms. */
	{
		char *p = map_same(NPAGES, 0x42);

		ok = ok && p && !wait_self_merged(NPAGES, 60);
		if (p)
			munmap(p, NPAGES * psize);
	}
	ok = ok && ksm_set("run", 2) == 0 && ksm_get("pages_shared") == 0;
	ksft_test_result(ok, "exit while ksmd scans the mm\n");
}

int main(void)
{
	psize = sysconf(_SC_PAGESIZE);
	if (access(KSM_DIR "run", W_OK))
		ksft_exit_skip("no writable " KSM_DIR "\n");
	ksft_print_header();
	ksft_set_plan(4);
	ksm_save_knobs(knobs);
	ksm_set("use_zero_pages", 0);
	ksm_set("run", 2);
	test_mremap();
	test_fork();
	test_ebusy();
	test_exit_mid_scan();
	ksm_restore_knobs();
	ksft_finished();
}
