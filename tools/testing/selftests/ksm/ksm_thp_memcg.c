// SPDX-License-Identifier: GPL-2.0
/*
 * KSM against transparent huge pages and memory cgroups:
 *  - merging one 4 KiB page of a THP splits that folio only;
 *  - khugepaged scanning as fast as it can and ksmd at full speed over the
 *    same MADV_HUGEPAGE|MADV_MERGEABLE range settle instead of collapsing
 *    and splitting the same memory over and over;
 *  - merged pages leave the cgroup's charge, unmerged copies are charged
 *    back;
 *  - breaking COW in a cgroup at memory.max ends with the writer
 *    OOM-killed once, not an endless OOM loop;
 *  - ksmd keeps scanning (and merging) an mm whose cgroup is full.
 * Runs as root in the test guest (cgroup v2 at /sys/fs/cgroup).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ksm_common.h"

#define THP_DIR		"/sys/kernel/mm/transparent_hugepage/"
#define CG		CGROUP_DIR "ksm-memcg"
#define HPAGE		(2UL << 20)

static long psize;

static long read_long(const char *path)
{
	char buf[64];

	if (read_file(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

static int write_long(const char *path, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	return write_file(path, buf);
}

/* AnonHugePages (kB) of the vma of this process that contains addr. */
/* The value of smaps field @key ("Rss", ...) of the vma holding @addr. */
static long vma_kb(const void *addr, const char *key)
{
	char field[64], line[512];

	snprintf(field, sizeof(field), "%s:", key);
	if (smaps_line(addr, field, line, sizeof(line)))
		return -1;
	return strtol(line + strlen(field), NULL, 10);
}

static long anon_huge_kb(const void *addr)
{
	return vma_kb(addr, "AnonHugePages");
}

/* Map len bytes aligned to a huge page, MADV_HUGEPAGE. */
static char *map_huge(size_t len)
{
	char *raw = mmap(NULL, len + HPAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p;

	if (raw == MAP_FAILED)
		return NULL;
	p = (char *)(((unsigned long)raw + HPAGE - 1) & ~(HPAGE - 1));
	if (p > raw)
		munmap(raw, p - raw);
	munmap(p + len, raw + len + HPAGE - p - len);
	if (madvise(p, len, MADV_HUGEPAGE)) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

static int thp_usable(void)
{
	char buf[128];

	return !read_file(THP_DIR "enabled", buf, sizeof(buf)) &&
	       !strstr(buf, "[never]");
}

/*
 * Two THPs with one page of equal content each: whichever ksmd meets
 * second splits its THP to merge that page. The other pages of both THPs
 * must stay private: a page elsewhere given the content of one of them
 * must not end up seeing this process's writes to it (which it would if
 * that page had entered the stable tree while still mapped writable
 * here). /proc/kpageflags cannot tell: on 6.12 its KSM bit is set for
 * every anonymous page.
 */
static void test_thp_rest_private(void)
{
	size_t len = 2 * HPAGE;
	long per = HPAGE / psize;
	char *p, *third = NULL, *before = NULL;
	const char *why = NULL;
	int i;

	if (!thp_usable()) {
		ksft_test_result_skip("thp: the rest of a split THP stays private (THP disabled)\n");
		return;
	}
	p = map_huge(len);
	if (!p) {
		why = "mmap";
		goto out;
	}
	fill_unique_pages(p, len / psize, getpid() + 7);
	if (anon_huge_kb(p) != (long)(len >> 10)) {
		ksft_test_result_skip("thp: the rest of a split THP stays private (no THPs)\n");
		goto done;
	}
	memset(p + 7 * psize, 0x5a, psize);
	memset(p + (per + 9) * psize, 0x5a, psize);
	if (madvise(p, len, MADV_MERGEABLE)) {
		why = "madvise";
		goto out;
	}
	if (wait_self_merging(2, 2, 60)) {
		why = "the two identical pages did not merge (or others did)";
		goto out;
	}
	/* Newcomers with the content of the first page of each THP. */
	third = mmap(NULL, 2 * psize, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	before = malloc(2 * psize);
	if (third == MAP_FAILED)
		third = NULL;
	if (!third || !before) {
		why = "mmap";
		goto out;
	}
	for (i = 0; i < 2; i++)
		memcpy(third + i * psize, p + i * HPAGE, psize);
	memcpy(before, third, 2 * psize);
	if (madvise(third, 2 * psize, MADV_MERGEABLE)) {
		why = "madvise";
		goto out;
	}
	ksm_wait_sharing(1, 30);	/* two more full rounds */
	for (i = 0; i < 2; i++)
		memset(p + i * HPAGE, 0x3c, psize);
	if (memcmp(third, before, 2 * psize))
		why = "a write to a THP's page showed up in another mapping";
	else if (!all_bytes(p, 1, 0x3c) || !all_bytes(p + HPAGE, 1, 0x3c))
		why = "a write to a THP's page was lost";
out:
	ksft_test_result(!why, "thp: the rest of a split THP stays private%s%s\n",
			 why ? ": " : "", why ? why : "");
done:
	if (p)
		munmap(p, len);
	if (third)
		munmap(third, 2 * psize);
	free(before);
	ksm_set("run", 2);
}

#define SPLIT_THPS	4

static void test_thp_split_one(void)
{
	size_t len = SPLIT_THPS * HPAGE;
	char *p = NULL, *other = NULL, *copy = NULL;
	long kb0, kb1, split0, split1;
	const char *why = NULL;
	long target = HPAGE / psize + 7;	/* a page of the second THP */

	if (!thp_usable()) {
		ksft_test_result_skip("thp: merging a subpage splits only its THP (THP disabled)\n");
		return;
	}
	p = map_huge(len);
	other = map_same(1, 0);
	copy = malloc(len);
	if (!p || !other || !copy) {
		why = "mmap";
		goto out;
	}
	fill_unique_pages(p, len / psize, getpid());
	kb0 = anon_huge_kb(p);
	if (kb0 != (long)(len >> 10)) {
		ksft_test_result_skip("thp: merging a subpage splits only its THP (only %ld of %zu kB huge)\n",
				      kb0, len >> 10);
		goto done;
	}
	/* One subpage gets the content of a page elsewhere. */
	memset(other, 0xa7, psize);
	memset(p + target * psize, 0xa7, psize);
	memcpy(copy, p, len);
	split0 = keyed_value("/proc/vmstat", "thp_split_page");
	if (madvise(p, len, MADV_MERGEABLE)) {
		why = "madvise";
		goto out;
	}
	if (wait_self_merging(2, 2, 60)) {
		why = "the two identical pages did not merge (or others did)";
		goto out;
	}
	ksm_wait_sharing(1, 30);	/* two more full rounds */
	kb1 = anon_huge_kb(p);
	split1 = keyed_value("/proc/vmstat", "thp_split_page");
	if (split0 >= 0)
		ksft_print_msg("thp: AnonHugePages %ld kB before, %ld kB after the merge; thp_split_page +%ld\n",
			       kb0, kb1, split1 - split0);
	else
		ksft_print_msg("thp: AnonHugePages %ld kB before, %ld kB after the merge (no thp_split_page in /proc/vmstat)\n",
			       kb0, kb1);
	if (kb1 != kb0 - (long)(HPAGE >> 10))
		why = "not exactly one THP was split";
	else if (self_merging_pages() != 2)
		why = "merged page count changed";
	else if (memcmp(copy, p, len))
		why = "content changed";
	else if (split0 >= 0 && split1 - split0 != 1)
		why = "thp_split_page did not count exactly one split";
out:
	ksft_test_result(!why, "thp: merging a subpage splits only its THP%s%s\n",
			 why ? ": " : "", why ? why : "");
done:
	if (p)
		munmap(p, len);
	if (other)
		munmap(other, psize);
	free(copy);
	ksm_set("run", 2);
}

/*
 * Zero-filled THPs: ksmd's first merge attempt in one splits it, and since
 * 6.12 a split maps every zero-filled page of an anonymous THP to the
 * shared zero page (remap_page(), RMP_USE_SHARED_ZEROPAGE). So the memory
 * comes back at once, in both use_zero_pages modes, though not as KSM
 * zero pages: ksm_zero_pages counts only zero ptes ksmd installed. The
 * range must be down to less than one THP within 10 s at 5000/0, read as
 * zeroes, map the zero page, and take writes again.
 */
#define ZERO_THPS	32

static void test_thp_zero_filled(void)
{
	size_t len = ZERO_THPS * HPAGE;
	long saved_zero = ksm_get("use_zero_pages"), i, n = len / psize;
	long huge, anon = -1, zero_pfn, alien = 0, mode;
	const char *why = NULL;
	double t0, t = -1;
	char *p = NULL, *z;

	z = mmap(NULL, psize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (z == MAP_FAILED || !thp_usable()) {
		ksft_test_result(0, "thp: zero-filled THPs are freed: %s\n",
				 z == MAP_FAILED ? "mmap" : "THP disabled");
		return;
	}
	zero_pfn = *(volatile char *)z ? -1 : (long)pfn_of(z);
	for (mode = 0; mode < 2 && !why; mode++) {
		ksm_set("run", 2);
		ksm_set("use_zero_pages", mode);
		p = map_huge(len);
		if (!p) {
			why = "mmap";
			break;
		}
		memset(p, 0, len);
		huge = anon_huge_kb(p);
		if (huge < (long)(len >> 11)) {
			why = "the range did not get THPs";
			break;
		}
		ksm_set("pages_to_scan", 5000);
		ksm_set("sleep_millisecs", 0);
		if (madvise(p, len, MADV_MERGEABLE)) {
			why = "madvise";
			break;
		}
		ksm_set("run", 1);
		t0 = mono_seconds();
		t = -1;
		while (mono_seconds() - t0 < 10) {
			anon = vma_kb(p, "Anonymous");
			if (anon >= 0 && anon < (long)(HPAGE >> 10)) {
				t = mono_seconds() - t0;
				break;
			}
			usleep(50000);
		}
		ksm_set("run", 0);
		for (i = 0, alien = 0; i < n; i++)
			if (p[i * psize] || p[i * psize + psize - 1] ||
			    (long)pfn_of(p + i * psize) != zero_pfn)
				alien++;
		ksft_print_msg("thp zero (use_zero_pages=%ld): %ld kB in THPs, %ld kB anonymous left after %.2f s; %ld of %ld pages not the zero page\n",
			       mode, huge, anon, t, alien, n);
		if (t < 0)
			why = "the memory did not come back in 10 s";
		else if (alien)
			why = "a page is not the zero page or not zero";
		for (i = 0; i < n && !why; i += HPAGE / psize)
			p[i * psize + 7] = (char)(i | 1);
		for (i = 0; i < n && !why; i += HPAGE / psize)
			if (p[i * psize + 7] != (char)(i | 1) || p[i * psize])
				why = "a write after the merge did not stick";
		munmap(p, len);
		p = NULL;
	}
	if (p)
		munmap(p, len);
	munmap(z, psize);
	ksm_set("run", 2);
	ksm_set("use_zero_pages", saved_zero);
	ksft_test_result(!why, "thp: zero-filled THPs are freed (both use_zero_pages modes)%s%s\n",
			 why ? ": " : "", why ? why : "");
}

#define FIGHT_THPS	8
#define FIGHT_SECONDS	20
/*
 * No loop: each THP is split once by the first merge in it and may be
 * collapsed back and split again at most once more while its pages are
 * still being merged; and in the second half of the window nothing is
 * split, collapsed or even tried (thp_collapse_alloc) any more.
 * thp_collapse_alloc counts attempts, most of which fail once khugepaged
 * finds KSM pages shared beyond max_ptes_shared: 1 to 60 of them were
 * seen in the first seconds on both kernels, so it is bounded only by
 * the second half, and completed collapses (pages_collapsed) by count.
 */
#define MAX_SPLITS	(2 * FIGHT_THPS)
#define MAX_COLLAPSES	FIGHT_THPS

static const char * const khp_knobs[] = {
	"scan_sleep_millisecs", "alloc_sleep_millisecs", "pages_to_scan",
};

static void test_thp_no_fight(void)
{
	size_t len = FIGHT_THPS * HPAGE;
	long saved[3], i, n = len / psize, kb, prev_kb;
	long split0, coll0, split_h, coll_h, split1, coll1, pc0, pc1, fs0, fs1;
	long pc_h = -1;
	long kb_drops = 0, kb_rises = 0, kb_drops_h = 0, kb_rises_h = 0;
	int counters = 0, k;
	const char *why = NULL;
	char *p;
	time_t start, half, end;

	if (!thp_usable()) {
		ksft_test_result_skip("thp: khugepaged and ksmd do not fight (THP disabled)\n");
		return;
	}
	for (k = 0; k < 3; k++) {
		char path[128];

		snprintf(path, sizeof(path), THP_DIR "khugepaged/%s", khp_knobs[k]);
		saved[k] = read_long(path);
	}
	write_file(THP_DIR "khugepaged/scan_sleep_millisecs", "0");
	write_file(THP_DIR "khugepaged/alloc_sleep_millisecs", "0");
	write_file(THP_DIR "khugepaged/pages_to_scan", "8192");
	p = map_huge(len);
	if (!p) {
		why = "mmap";
		goto out;
	}
	/* 16 contents, each 32 times in every 2 MiB: all of it merges. */
	for (i = 0; i < n; i++)
		memset(p + i * psize, 1 + i % 16, psize);
	counters = keyed_value("/proc/vmstat", "thp_split_page") >= 0 &&
		   keyed_value("/proc/vmstat", "thp_collapse_alloc") >= 0;
	split0 = keyed_value("/proc/vmstat", "thp_split_page");
	coll0 = keyed_value("/proc/vmstat", "thp_collapse_alloc");
	pc0 = read_long(THP_DIR "khugepaged/pages_collapsed");
	fs0 = read_long(THP_DIR "khugepaged/full_scans");
	prev_kb = anon_huge_kb(p);
	ksm_set("pages_to_scan", 5000);
	ksm_set("sleep_millisecs", 0);
	ksm_set("run", 1);
	if (madvise(p, len, MADV_MERGEABLE)) {
		why = "madvise";
		goto out;
	}
	start = time(NULL);
	half = start + FIGHT_SECONDS / 2;
	end = start + FIGHT_SECONDS;
	split_h = coll_h = -1;
	while (time(NULL) < end) {
		kb = anon_huge_kb(p);
		if (kb < prev_kb) {
			kb_drops += (prev_kb - kb) / (HPAGE >> 10);
			if (time(NULL) >= half)
				kb_drops_h += (prev_kb - kb) / (HPAGE >> 10);
		} else if (kb > prev_kb) {
			kb_rises += (kb - prev_kb) / (HPAGE >> 10);
			if (time(NULL) >= half)
				kb_rises_h += (kb - prev_kb) / (HPAGE >> 10);
		}
		prev_kb = kb;
		if (split_h < 0 && time(NULL) >= half) {
			split_h = keyed_value("/proc/vmstat", "thp_split_page");
			coll_h = keyed_value("/proc/vmstat", "thp_collapse_alloc");
			pc_h = read_long(THP_DIR "khugepaged/pages_collapsed");
		}
		usleep(20000);
	}
	split1 = keyed_value("/proc/vmstat", "thp_split_page");
	coll1 = keyed_value("/proc/vmstat", "thp_collapse_alloc");
	pc1 = read_long(THP_DIR "khugepaged/pages_collapsed");
	fs1 = read_long(THP_DIR "khugepaged/full_scans");
	ksft_print_msg("thp fight over %d s: thp_split_page +%ld (+%ld in 2nd half), thp_collapse_alloc +%ld (+%ld in 2nd half), khugepaged pages_collapsed +%ld, full_scans +%ld; smaps: %ld THPs lost (%ld late), %ld gained (%ld late); merged %ld of %ld\n",
		       FIGHT_SECONDS, split1 - split0, split1 - split_h,
		       coll1 - coll0, coll1 - coll_h, pc1 - pc0, fs1 - fs0,
		       kb_drops, kb_drops_h, kb_rises, kb_rises_h,
		       self_merging_pages(), n);
	if (fs1 - fs0 < 2)
		why = "khugepaged did not scan (full_scans did not advance)";
	else if (self_merging_pages() < n - 16)
		why = "the range did not merge";
	else if ((pc1 - pc0) / 512 > MAX_COLLAPSES)
		why = "khugepaged collapsed more than once per THP: collapse loop";
	else if (counters && split1 - split0 > MAX_SPLITS)
		why = "thp_split_page beyond 2 per THP: split loop";
	else if (counters && (split1 != split_h || coll1 != coll_h ||
			      pc1 != pc_h))
		why = "still splitting or collapsing in the second half";
	else if (!counters && (kb_drops_h || kb_rises_h || pc1 != pc_h))
		why = "THPs still appearing or vanishing in the second half";
	else if (!counters && kb_drops > MAX_SPLITS)
		why = "THPs split again and again";
	else
		for (i = 0; i < n && !why; i++)
			if (p[i * psize] != 1 + i % 16 ||
			    p[i * psize + psize - 1] != 1 + i % 16)
				why = "content changed";
out:
	ksft_test_result(!why, "thp: khugepaged and ksmd do not fight%s%s%s\n",
			 why ? ": " : "", why ? why : "",
			 counters ? "" : " (no thp_* vmstat: smaps and pages_collapsed)");
	if (p)
		munmap(p, len);
	for (k = 0; k < 3; k++) {
		char path[128];

		snprintf(path, sizeof(path), THP_DIR "khugepaged/%s", khp_knobs[k]);
		if (saved[k] >= 0)
			write_long(path, saved[k]);
	}
	ksm_set("run", 2);
}

/* ---- memory cgroups ---- */

static long cg_current(void)
{
	return read_long(CG "/memory.current");
}

static int cg_enter(void)
{
	return cg_join(CG, getpid());
}

/*
 * Mainline: when ksmd merges a page into a KSM page, the duplicate is
 * freed and uncharged; the KSM page stays charged to the cgroup of the
 * page that was kept. Unmerging copies each page again, charged to the
 * cgroup of the process that gets the copy.
 */
#define CHARGE_PAGES	4096
static void test_memcg_charge(void)
{
	long c0, c1, c2, want = (CHARGE_PAGES - 1) * psize / 10 * 9;
	int fds[2], status;
	long res[3] = { -1, -1, -1 };
	const char *why = NULL;
	pid_t pid;

	if (pipe(fds)) {
		ksft_test_result(0, "memcg: merged pages leave the charge\n");
		return;
	}
	pid = fork();
	if (pid == 0) {
		char *p;
		int bad = 0;

		close(fds[0]);
		if (cg_enter())
			_exit(2);
		p = mmap(NULL, CHARGE_PAGES * psize, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(3);
		memset(p, 0x71, CHARGE_PAGES * psize);
		res[0] = cg_current();
		if (madvise(p, CHARGE_PAGES * psize, MADV_MERGEABLE) ||
		    wait_self_merged(CHARGE_PAGES, 120))
			bad = 1;
		res[1] = cg_current();
		if (madvise(p, CHARGE_PAGES * psize, MADV_UNMERGEABLE))
			bad = 1;
		res[2] = cg_current();
		if (!all_bytes(p, CHARGE_PAGES, 0x71))
			bad = 1;
		if (write(fds[1], res, sizeof(res)) != sizeof(res))
			_exit(4);
		_exit(bad);
	}
	close(fds[1]);
	if (read(fds[0], res, sizeof(res)) != sizeof(res))
		why = "the child failed before measuring";
	close(fds[0]);
	waitpid(pid, &status, 0);
	c0 = res[0];
	c1 = res[1];
	c2 = res[2];
	ksft_print_msg("memcg: memory.current %ld kB filled, %ld kB merged, %ld kB unmerged (%d pages)\n",
		       c0 >> 10, c1 >> 10, c2 >> 10, CHARGE_PAGES);
	if (!why && (!WIFEXITED(status) || WEXITSTATUS(status)))
		why = "merging or unmerging failed, or content changed";
	else if (!why && c0 - c1 < want)
		why = "merging did not uncharge the freed duplicates";
	else if (!why && c1 <= 0)
		why = "memory.current not sane after merging";
	else if (!why && c2 - c1 < want)
		why = "unmerged copies were not charged to the cgroup";
	ksft_test_result(!why, "memcg: merged pages leave the charge, unmerged copies come back%s%s\n",
			 why ? ": " : "", why ? why : "");
	ksm_set("run", 2);
}

/*
 * A process merges 32 MiB into one page, then the cgroup's memory.max is
 * set 8 MiB above what it uses and it writes every page. Mainline: the
 * COW copies are charged until the limit, no swap to escape to, the
 * memcg OOM killer kills the writer (SIGKILL), once; the cgroup is then
 * empty and quiet.
 */
#define COW_PAGES	8192
static void test_memcg_cow_at_limit(void)
{
	long cur, ooms0 = -1, ooms1, ooms2;
	int ready[2], go[2], status = 0, i;
	const char *why = NULL;
	pid_t pid;
	char x;

	if (pipe(ready) || pipe(go)) {
		ksft_test_result(0, "memcg: COW at memory.max\n");
		return;
	}
	write_file(CG "/memory.swap.max", "0");
	pid = fork();
	if (pid == 0) {
		char *p;
		long k;

		close(ready[0]);
		close(go[1]);
		if (cg_enter())
			_exit(2);
		p = map_same(COW_PAGES, 0x5e);
		if (!p || wait_self_merged(COW_PAGES, 120))
			_exit(3);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(4);
		for (k = 0; k < COW_PAGES; k++)
			p[k * psize] = (char)k;
		_exit(0);	/* not expected: the copies do not fit */
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &x, 1) != 1) {
		why = "the child did not merge";
		goto reap;
	}
	cur = cg_current();
	ooms0 = keyed_value(CG "/memory.events", "oom_kill");
	ksm_set("run", 0);	/* no re-merging of the copies */
	if (write_long(CG "/memory.max", cur + (8 << 20))) {
		why = "cannot set memory.max";
		goto reap;
	}
	ksft_print_msg("memcg: merged %d pages, memory.current %ld kB, memory.max %ld kB\n",
		       COW_PAGES, cur >> 10, (cur >> 10) + 8192);
	if (write(go[1], "g", 1) != 1)
		why = "cannot start the writer";
reap:
	for (i = 0; i < 600; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(100000);
	}
	if (i == 600) {
		why = why ? why : "the writer neither finished nor died in 60 s";
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	ooms1 = keyed_value(CG "/memory.events", "oom_kill");
	sleep(3);
	ooms2 = keyed_value(CG "/memory.events", "oom_kill");
	ksft_print_msg("memcg: writer %s %d; oom_kill %ld -> %ld, %ld 3 s later; memory.current %ld kB\n",
		       WIFSIGNALED(status) ? "killed by signal" : "exited",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
		       ooms0, ooms1, ooms2, cg_current() >> 10);
	if (!why && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		why = "the writer was not OOM-killed";
	else if (!why && ooms1 - ooms0 != 1)
		why = "not exactly one OOM kill";
	else if (!why && ooms2 != ooms1)
		why = "OOM kills go on after the writer died";
	else if (!why && cg_current() > (1 << 20))
		why = "the cgroup kept more than 1 MiB after its only process died";
	close(ready[0]);
	close(go[1]);
	write_file(CG "/memory.max", "max");
	write_file(CG "/memory.swap.max", "max");
	ksft_test_result(!why, "memcg: breaking COW at memory.max OOM-kills the writer once%s%s\n",
			 why ? ": " : "", why ? why : "");
	ksm_set("run", 2);
}

/*
 * A process with 64 MiB of KSM zero pages (use_zero_pages) forks in a
 * cgroup whose memory.max leaves little room, 16 KiB more at every try:
 * the first forks fail (ENOMEM), some of them part of the way through
 * copying the page tables. The process cannot be OOM-killed
 * (oom_score_adj -1000), so each failure is a failed fork, and it makes
 * no allocation of its own meanwhile (it talks to us through a page we
 * faulted in). Whatever the failed children had copied is torn down with
 * them, and once everything has exited the global ksm_zero_pages must be
 * back where it was. On 6.12.117 it ends below: ksm_fork() never ran for
 * those children, so their zero ptes were taken off a count that never
 * had them.
 */
#define FORK_ZERO_PAGES	16384
#define FORK_TRIES	6
/*
 * One page in every 64 KiB: the child needs 512 page tables (2 MiB), more
 * than the per-cpu charge stocks (64 pages a cpu) and the cgroup's
 * reclaimable page cache can hand it, so no try can fit and every one of
 * them fails somewhere in copying the tables.
 */
#define FORK_STRIDE	(64 << 10)

struct fork_talk {
	volatile int stage;	/* 1 merged, 2 try, 3 tried, 4 done, 5 exit */
	volatile int failed;	/* last try: 1 ENOMEM, 0 forked, -1 other */
};

static void fork_with_zero_pages(struct fork_talk *t)
{
	pid_t c, child = 0;
	char *p;
	long k;

	if (cg_enter() || write_file("/proc/self/oom_score_adj", "-1000"))
		_exit(2);
	p = mmap(NULL, FORK_ZERO_PAGES * FORK_STRIDE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		_exit(3);
	madvise(p, FORK_ZERO_PAGES * FORK_STRIDE, MADV_NOHUGEPAGE);
	for (k = 0; k < FORK_ZERO_PAGES; k++)
		p[k * FORK_STRIDE] = 0;
	if (madvise(p, FORK_ZERO_PAGES * FORK_STRIDE, MADV_MERGEABLE))
		_exit(4);
	ksm_set("pages_to_scan", 5000);
	ksm_set("sleep_millisecs", 0);
	ksm_set("run", 1);
	for (k = 0; k < 1200; k++) {
		if (keyed_value("/proc/self/ksm_stat", "ksm_zero_pages") >=
		    FORK_ZERO_PAGES)
			break;
		usleep(100000);
	}
	if (k == 1200) {
		printf("# zero pages merged: %ld of %d\n",
		       keyed_value("/proc/self/ksm_stat", "ksm_zero_pages"),
		       FORK_ZERO_PAGES);
		_exit(5);
	}
	t->stage = 1;
	for (;;) {
		while (t->stage != 2 && t->stage != 5)
			usleep(1000);
		if (t->stage == 5)
			break;
		c = fork();
		if (c == 0)
			_exit(0);
		t->failed = c > 0 ? 0 : errno == ENOMEM ? 1 : -1;
		if (c > 0)
			child = c;
		t->stage = 3;
	}
	if (child)
		waitpid(child, NULL, 0);
	_exit(0);
}

static void test_memcg_failed_fork_zero_pages(void)
{
	long z0, z1, cur, saved_zero = ksm_get("use_zero_pages");
	int failed = 0, forked = 0, other = 0, hung = 0, status, i, k;
	const char *why = NULL;
	struct fork_talk *t;
	pid_t pid;

	if (saved_zero < 0) {
		ksft_test_result_skip("memcg: failed forks leave ksm_zero_pages right (no use_zero_pages)\n");
		return;
	}
	t = mmap(NULL, psize, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED) {
		ksft_test_result(0, "memcg: failed forks leave ksm_zero_pages right: mmap\n");
		return;
	}
	t->stage = 0;		/* faulted in here, charged to us */
	ksm_set("run", 2);
	ksm_set("use_zero_pages", 1);
	z0 = ksm_get("ksm_zero_pages");
	write_file(CG "/memory.swap.max", "0");
	pid = fork();
	if (pid == 0)
		fork_with_zero_pages(t);
	for (i = 0; i < 1300 && t->stage != 1; i++)
		usleep(100000);
	if (t->stage != 1) {
		why = "the process did not get its zero pages merged";
		goto reap;
	}
	ksm_set("run", 0);
	cur = cg_current();
	for (k = 1; k <= FORK_TRIES && !forked; k++) {
		if (write_long(CG "/memory.max", cur + k * 16384)) {
			why = "cannot set memory.max";
			break;
		}
		t->stage = 2;
		for (i = 0; i < 3000 && t->stage != 3; i++)
			usleep(10000);
		if (t->stage != 3) {
			hung = 1;
			break;
		}
		if (t->failed > 0)
			failed++;
		else if (!t->failed)
			forked++;
		else
			other++;
	}
reap:
	/* Room for the child that fitted, if one did, to finish. */
	write_file(CG "/memory.max", "max");
	write_file(CG "/memory.swap.max", "max");
	t->stage = 5;
	waitpid(pid, &status, 0);
	ksm_set("run", 2);
	z1 = ksm_get("ksm_zero_pages");
	ksft_print_msg("memcg: %d forks failed with ENOMEM, %d other errors, then %s%s; ksm_zero_pages %ld before, %ld after; forking process exit %d\n",
		       failed, other, forked ? "one fitted" : "none fitted",
		       hung ? " (one hung at the limit)" : "", z0, z1, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (!why && z1 != z0)
		why = "ksm_zero_pages did not come back";
	else if (!why && !hung && (!WIFEXITED(status) || WEXITSTATUS(status)))
		why = "the forking process failed";
	if (!why && hung)
		why = "a fork at the limit hung for 30 s";
	else if (!why && !failed)
		why = "no fork failed";
	ksft_test_result(!why, "memcg: failed forks leave ksm_zero_pages right%s%s\n",
			 why ? ": " : "", why ? why : "");
	ksm_set("use_zero_pages", saved_zero);
	munmap(t, psize);
}

/*
 * A process whose cgroup is at memory.max (no swap) registers 16 MiB of
 * identical pages: ksmd must merge them (merging frees, never charges)
 * and keep completing full scans meanwhile.
 */
#define FULL_PAGES	4096
static void test_memcg_full_not_stuck(void)
{
	int ready[2], go[2], done[2], status, merged = 0, i;
	const char *why = NULL;
	char path[64];
	long fs0, fs1, cur;
	pid_t pid;
	char x;

	if (pipe(ready) || pipe(go) || pipe(done)) {
		ksft_test_result(0, "memcg: ksmd not stuck on a full cgroup\n");
		return;
	}
	write_file(CG "/memory.swap.max", "0");
	pid = fork();
	if (pid == 0) {
		char *p;

		close(ready[0]);
		close(go[1]);
		close(done[0]);
		if (cg_enter())
			_exit(2);
		p = mmap(NULL, FULL_PAGES * psize, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(3);
		memset(p, 0x29, FULL_PAGES * psize);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(4);
		/*
		 * No syscall here may need kernel memory once the cgroup is
		 * full (an open() of a /proc file could be OOM-killed for its
		 * struct file): the parent watches the merging from outside.
		 */
		x = !madvise(p, FULL_PAGES * psize, MADV_MERGEABLE);
		if (write(done[1], &x, 1) != 1)
			_exit(6);
		/* Stay registered until the parent has counted rounds. */
		if (read(go[0], &x, 1) < 0)
			_exit(7);
		_exit(all_bytes(p, FULL_PAGES, 0x29) ? 0 : 8);
	}
	close(ready[1]);
	close(go[0]);
	close(done[1]);
	if (read(ready[0], &x, 1) != 1) {
		why = "the child did not start";
		goto reap;
	}
	/* Full: the limit is what it uses now, nothing more fits. */
	cur = cg_current();
	write_long(CG "/memory.max", cur);
	ksm_set("pages_to_scan", 5000);
	ksm_set("sleep_millisecs", 0);
	ksm_set("run", 1);
	if (write(go[1], "g", 1) != 1 || read(done[0], &x, 1) != 1) {
		why = "the child went away";
		goto reap;
	}
	if (!x) {
		why = "MADV_MERGEABLE failed in the full cgroup";
		goto reap;
	}
	snprintf(path, sizeof(path), "/proc/%d/ksm_merging_pages", pid);
	for (i = 0; i < 1200 && !merged; i++) {
		merged = read_long(path) == FULL_PAGES;
		if (!merged)
			usleep(100000);
	}
	fs0 = ksm_get("full_scans");
	sleep(5);
	fs1 = ksm_get("full_scans");
	ksft_print_msg("memcg: cgroup at memory.max %ld kB: merged %s, full_scans +%ld in 5 s, memory.current now %ld kB\n",
		       cur >> 10, merged ? "yes" : "no", fs1 - fs0,
		       cg_current() >> 10);
	if (!merged)
		why = "pages of the full cgroup did not merge";
	else if (fs1 - fs0 < 3)
		why = "ksmd did not complete 3 full scans in 5 s";
reap:
	close(go[1]);
	waitpid(pid, &status, 0);
	if (!why && (!WIFEXITED(status) || WEXITSTATUS(status)))
		why = "the process in the full cgroup failed or saw changed content";
	close(ready[0]);
	close(done[0]);
	write_file(CG "/memory.max", "max");
	write_file(CG "/memory.swap.max", "max");
	ksft_test_result(!why, "memcg: ksmd keeps scanning and merging a full cgroup's mm%s%s\n",
			 why ? ": " : "", why ? why : "");
	ksm_set("run", 2);
}

static const struct {
	const char *name;
	void (*fn)(void);
	bool memcg;
} tests[] = {
	{ "split_one", test_thp_split_one, false },
	{ "rest_private", test_thp_rest_private, false },
	{ "no_fight", test_thp_no_fight, false },
	{ "zero_filled", test_thp_zero_filled, false },
	{ "charge", test_memcg_charge, true },
	{ "cow_at_limit", test_memcg_cow_at_limit, true },
	{ "full", test_memcg_full_not_stuck, true },
	{ "failed_fork", test_memcg_failed_fork_zero_pages, true },
};

static bool wanted(int argc, char **argv, const char *name)
{
	int j;

	for (j = 1; j < argc; j++)
		if (!strcmp(argv[j], name))
			return true;
	return argc == 1;
}

/* Usage: ksm_thp_memcg [TEST...]; without arguments every test runs. */
int main(int argc, char **argv)
{
	int n = sizeof(tests) / sizeof(tests[0]), i, j, planned = 0;
	long saved_scan, saved_sleep, saved_run;
	int cg;

	psize = sysconf(_SC_PAGESIZE);
	if (access(KSM_DIR "run", W_OK)) {
		printf("1..0 # SKIP needs root and /sys/kernel/mm/ksm\n");
		return KSFT_SKIP;
	}
	for (j = 1; j < argc; j++) {
		for (i = 0; i < n && strcmp(argv[j], tests[i].name); i++)
			;
		if (i == n) {
			fprintf(stderr, "ksm_thp_memcg: no test named '%s'\n",
				argv[j]);
			return KSFT_FAIL;
		}
	}
	for (i = 0; i < n; i++)
		planned += wanted(argc, argv, tests[i].name);
	saved_run = ksm_get("run");
	saved_scan = ksm_get("pages_to_scan");
	saved_sleep = ksm_get("sleep_millisecs");
	ksm_set("run", 2);
	ksft_print_header();
	ksft_set_plan(planned);
	cg = !cg_make(CG) && !access(CG "/memory.max", W_OK);
	for (i = 0; i < n; i++) {
		if (!wanted(argc, argv, tests[i].name))
			continue;
		if (tests[i].memcg && !cg)
			ksft_test_result_skip("memcg: %s (no memory cgroup)\n", tests[i].name);
		else
			tests[i].fn();
	}
	rmdir(CG);
	ksm_set("pages_to_scan", saved_scan);
	ksm_set("sleep_millisecs", saved_sleep);
	ksm_set("run", saved_run);
	ksft_finished();
}
