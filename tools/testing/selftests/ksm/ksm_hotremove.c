// SPDX-License-Identifier: GPL-2.0
/*
 * Memory hot-remove under KSM: a movable memory block holding KSM pages
 * (found through /proc/self/pagemap and /sys/devices/system/memory) is
 * offlined while ksmd runs at full speed. The offline must succeed, the
 * merged pages must move elsewhere with their content and stay merged,
 * stable nodes left stale in the block (their users gone) must not hurt
 * later merges of the same content, and the block must come back online.
 * No round of ksmd may start during the offline's migration (tracepoints).
 * Last, with ksmd stopped, the stale nodes of a freed range must be
 * dropped by the offline of their block (pages_shared/pages_sharing).
 * Needs movable memory: boot with e.g. movablecore=512M.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/syscall.h>
#include "ksm_common.h"

#define MEM_DIR		"/sys/devices/system/memory/"
#define NPAGES		256
#define NKSM		64	/* distinct contents in the kept range */
#define NSTALE		64	/* pages of the range whose users go away */
#define MAXCAND		16
#define BALLAST		(120UL << 20)
#define MPOL_PREFERRED_	1

static long psize;
static unsigned long block_pages;

static void block_attr(long blk, const char *attr, char *buf, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), MEM_DIR "memory%ld/%s", blk, attr);
	if (read_file(path, buf, len))
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

static int set_state(long blk, const char *state)
{
	char path[128];

	snprintf(path, sizeof(path), MEM_DIR "memory%ld/state", blk);
	return write_file(path, state);
}

static void fill(char *p, long n, unsigned char base, int kinds)
{
	long i;

	for (i = 0; i < n; i++)
		memset(p + i * psize, base + i % kinds, psize);
}

static int content_ok(const char *p, long n, unsigned char base, int kinds)
{
	long i;

	for (i = 0; i < n; i++)
		if (!all_bytes(p + i * psize, 1, base + i % kinds))
			return 0;
	return 1;
}

/* How many pages of the range lie in memory block blk? */
static long pages_in_block(const char *p, long n, long blk)
{
	long i, in = 0;

	for (i = 0; i < n; i++) {
		uint64_t pfn = pfn_of(p + i * psize);

		in += pfn && (long)(pfn / block_pages) == blk;
	}
	return in;
}

/*
 * Movable blocks holding pages of the n pages at p, most pages first, in
 * cand[] with their counts in held[]. A block can still hold memory
 * reserved at boot (the end of a node often has some) and refuse to go
 * offline on any kernel: callers try them in turn. Returns their number.
 */
static long movable_blocks(const char *p, long n, long *cand, long *held)
{
	long i, k, in, ncand = 0;
	char buf[128];

	for (i = 0; i < n; i++) {
		uint64_t pfn = pfn_of(p + i * psize);
		long b = pfn ? (long)(pfn / block_pages) : -1;

		for (k = 0; k < ncand && cand[k] != b; k++)
			;
		if (b < 0 || k < ncand || ncand == MAXCAND)
			continue;
		block_attr(b, "valid_zones", buf, sizeof(buf));
		if (!strstr(buf, "Movable"))
			continue;
		in = pages_in_block(p, n, b);
		for (k = ncand++; k > 0 && held[k - 1] < in; k--) {
			cand[k] = cand[k - 1];
			held[k] = held[k - 1];
		}
		cand[k] = b;
		held[k] = in;
	}
	return ncand;
}

/* ksmd's rounds against the offline's page migration, from the trace. */
struct offline_watch {
	double mig0, mig1;	/* first migration start, last migration end */
	long rounds;		/* ksm_start_scan events in the whole trace */
	long in_window;		/* of them, between mig0 and mig1 */
};

static void trace_events(const char *on)
{
	write_file(TRACE_DIR "events/migrate/mm_migrate_pages_start/enable", on);
	write_file(TRACE_DIR "events/migrate/mm_migrate_pages/enable", on);
	write_file(TRACE_DIR "events/ksm/ksm_start_scan/enable", on);
}

/* The timestamp of a trace line: the number before ": <event>:". */
static double stamp(const char *line, const char *event)
{
	const char *at = strstr(line, event);

	if (!at || at - line < 3)
		return -1;
	at -= 2;			/* back over ": " */
	while (at > line && at[-1] != ' ')
		at--;
	return strtod(at, NULL);
}

static void read_trace(struct offline_watch *w)
{
	char line[512];
	int pass, found = 0;
	double t;
	FILE *f = fopen(TRACE_DIR "trace", "r");

	/* First the migration's span, then ksmd's rounds against it. */
	for (pass = 0; f && pass < 2; pass++, rewind(f)) {
		while (fgets(line, sizeof(line), f)) {
			if (line[0] == '#')
				continue;
			t = stamp(line, "ksm_start_scan:");
			if (pass) {
				w->rounds += t >= 0;
				w->in_window += t > w->mig0 && t < w->mig1;
				continue;
			}
			if (t >= 0 || !strstr(line, "reason=memory_hotplug"))
				continue;
			t = stamp(line, "mm_migrate_pages_start:");
			if (t >= 0) {
				if (!found++ || t < w->mig0)
					w->mig0 = t;
				continue;
			}
			t = stamp(line, "mm_migrate_pages:");
			if (found && t > w->mig1)
				w->mig1 = t;
		}
		if (w->mig1 <= w->mig0)
			w->mig0 = w->mig1 = 0;
	}
	if (f)
		fclose(f);
}

/*
 * Offline block blk with the migrate and ksm_start_scan tracepoints on.
 * The offline migrates the block's pages between its MEM_GOING_OFFLINE
 * and MEM_OFFLINE notifications, where ksmd must not scan: no round of
 * ksmd may start within the span of that migration. (The block's
 * "going-offline" state is no guide: it is set well before the notifier
 * runs.) Returns set_state()'s result.
 */
static int offline_watched(long blk, struct offline_watch *w)
{
	char size[32];
	int err;

	memset(w, 0, sizeof(*w));
	if (read_file(TRACE_DIR "buffer_size_kb", size, sizeof(size)))
		size[0] = 0;
	/* Room for every round of the offline: nothing may be overwritten. */
	write_file(TRACE_DIR "buffer_size_kb", "16384");
	trace_clear();
	trace_events("1");
	err = set_state(blk, "offline");
	trace_events("0");
	read_trace(w);
	if (size[0])
		write_file(TRACE_DIR "buffer_size_kb", size);
	return err;
}

#define NPRUNE		128	/* NPRUNE / 2 contents, two pages each */

/*
 * Stale nodes in a block that goes offline are dropped by the offline
 * itself. With ksmd stopped (run=0 keeps the trees), a merged range is
 * unmapped: its KSM pages are freed, their nodes go stale and their items
 * still count in pages_shared and pages_sharing, as nothing looks at them.
 * Offlining the block that held most of those pages must drop exactly
 * the nodes whose pfn was in it, and their items with them.
 */
static void test_prune_stale(void)
{
	long i, kinds = NPRUNE / 2, cand[MAXCAND], held[MAXCAND];
	long blk = -1, best = 0, ncand;
	long shared0, sharing0, shared1, sharing1;
	const char *why = NULL;
	char *q, *ballast;
	int offline = 0;

	/* As above: ballast over the topmost block first. */
	ballast = mmap(NULL, BALLAST, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ballast != MAP_FAILED) {
		madvise(ballast, BALLAST, MADV_NOHUGEPAGE);
		memset(ballast, 1, BALLAST);
	}
	q = map_same(NPRUNE, 0);
	if (q)
		fill(q, NPRUNE, 0x40, kinds);
	if (ballast != MAP_FAILED)
		munmap(ballast, BALLAST);
	if (!q) {
		ksft_test_result(0, "hot-remove: offline drops the stale nodes of the block: mmap\n");
		return;
	}
	if (wait_self_merged(NPRUNE, 120)) {
		why = "the range did not merge";
		goto out;
	}
	ksm_set("run", 0);
	/* The first NPRUNE / 2 pages map every KSM page once. */
	ncand = movable_blocks(q, kinds, cand, held);
	shared0 = ksm_get("pages_shared");
	sharing0 = ksm_get("pages_sharing");
	munmap(q, NPRUNE * psize);
	q = NULL;
	/* Boot-time reservations keep some blocks online: try the next. */
	for (i = 0; i < ncand && !offline; i++) {
		offline = !set_state(cand[i], "offline");
		blk = cand[i];
		best = held[i];
	}
	if (!offline) {
		ksft_test_result_skip("hot-remove: offline drops the stale nodes of the block (none of %ld movable blocks holding them would go offline)\n",
				      ncand);
		goto out_run;
	}
	shared1 = ksm_get("pages_shared");
	sharing1 = ksm_get("pages_sharing");
	ksft_print_msg("prune: memory%ld held %ld of %ld freed KSM pages; pages_shared %ld -> %ld, pages_sharing %ld -> %ld\n",
		       blk, best, kinds, shared0, shared1, sharing0, sharing1);
	if (shared0 - shared1 != best || sharing0 - sharing1 != best)
		why = "the counters did not drop by the nodes in the block";
out:
	ksft_test_result(!why, "hot-remove: offline drops the stale nodes of the block%s%s\n",
			 why ? ": " : "", why ? why : "");
out_run:
	if (offline && set_state(blk, "online_movable") &&
	    set_state(blk, "online"))
		ksft_print_msg("memory%ld did not come back online\n", blk);
	if (q)
		munmap(q, NPRUNE * psize);
	ksm_set("run", 2);
}

/* Put back at the end, after run=2, in this order. */
static const char *const knobs[] = {
	"pages_to_scan", "sleep_millisecs", "run", NULL,
};

int main(void)
{
	long blk = -1, i, ncand = 0;
	long cand[MAXCAND], held[MAXCAND];
	unsigned long nodemask;
	long shared0, sharing0, shared1, sharing1, left;
	char buf[128], *p = NULL, *s = NULL, *ballast;
	const char *why = NULL;
	int err, offline = 0;
	struct offline_watch watch_buf, *watch = &watch_buf;

	psize = sysconf(_SC_PAGESIZE);
	if (access(KSM_DIR "run", W_OK))
		ksft_exit_skip("needs root and /sys/kernel/mm/ksm\n");
	ksft_print_header();
	ksft_set_plan(5);
	if (read_file(MEM_DIR "block_size_bytes", buf, sizeof(buf))) {
		ksft_test_result_skip("hot-remove: offline a block of KSM pages (no memory hotplug)\n");
		ksft_test_result_skip("hot-remove: ksmd does not scan while the block goes offline\n");
		ksft_test_result_skip("hot-remove: stale stable nodes of the block do no harm\n");
		ksft_test_result_skip("hot-remove: the block comes back online\n");
		ksft_test_result_skip("hot-remove: offline drops the stale nodes of the block (no memory hotplug)\n");
		return KSFT_SKIP;
	}
	block_pages = strtoul(buf, NULL, 16) / psize;
	ksm_save_knobs(knobs);
	ksm_set("run", 2);

	/*
	 * p: NPAGES pages of NKSM contents (4 copies each), kept all along.
	 * s: NSTALE pages of NSTALE/2 other contents, merged then unmapped,
	 * which leaves their stable nodes stale (mainline prunes those
	 * lazily, or when their memory goes offline).
	 */
	/*
	 * Prefer the last node: with movablecore= its movable zone is at the
	 * top of memory, where whole blocks are free of boot reservations.
	 */
	for (i = 63; i > 0; i--) {
		snprintf(buf, sizeof(buf), "/sys/devices/system/node/node%ld", i);
		if (!access(buf, F_OK))
			break;
	}
	nodemask = 1UL << i;
	if (syscall(SYS_set_mempolicy, MPOL_PREFERRED_, &nodemask, 64))
		ksft_print_msg("set_mempolicy: %s\n", strerror(errno));
	/*
	 * The topmost block usually has such a hole; ballast that fills
	 * about a block first lets our pages land in the one below too.
	 */
	ballast = mmap(NULL, BALLAST, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ballast != MAP_FAILED) {
		/* 4 KiB pages: huge ones come from other free blocks. */
		madvise(ballast, BALLAST, MADV_NOHUGEPAGE);
		memset(ballast, 1, BALLAST);
		ksft_print_msg("ballast from memory%lu to memory%lu\n",
			       (unsigned long)(pfn_of(ballast) / block_pages),
			       (unsigned long)(pfn_of(ballast + BALLAST - psize) / block_pages));
	}
	p = map_same(NPAGES, 0);
	s = map_same(NSTALE, 0);
	if (!p || !s) {
		why = "mmap";
		goto out;
	}
	fill(p, NPAGES, 0x80, NKSM);
	fill(s, NSTALE, 0x10, NSTALE / 2);
	if (ballast != MAP_FAILED)
		munmap(ballast, BALLAST);
	if (wait_self_merged(NPAGES + NSTALE, 120)) {
		why = "the range did not merge";
		goto out;
	}
	munmap(s, NSTALE * psize);
	s = NULL;
	if (wait_self_merging(NPAGES, NPAGES, 60)) {
		why = "ksmd did not drop the unmapped pages";
		goto out;
	}

	ncand = movable_blocks(p, NPAGES, cand, held);
	if (!ncand) {
		ksft_test_result_skip("hot-remove: offline a block of KSM pages (no movable block holds them: boot with movablecore=)\n");
		ksft_test_result_skip("hot-remove: ksmd does not scan while the block goes offline\n");
		ksft_test_result_skip("hot-remove: stale stable nodes of the block do no harm\n");
		ksft_test_result_skip("hot-remove: the block comes back online\n");
		goto restore;
	}
	shared0 = ksm_get("pages_shared");
	sharing0 = ksm_get("pages_sharing");

	/* Offline with ksmd at full speed. */
	ksm_set("pages_to_scan", 5000);
	ksm_set("sleep_millisecs", 0);
	ksm_set("run", 1);
	err = -ENODEV;
	for (i = 0; i < ncand && err; i++) {
		blk = cand[i];
		ksft_print_msg("memory%ld (%lu pages a block) holds %ld of our %d mapped pages; pages_shared %ld sharing %ld\n",
			       blk, block_pages, held[i], NPAGES, shared0, sharing0);
		err = offline_watched(blk, watch);
		block_attr(blk, "state", buf, sizeof(buf));
		if (err)
			ksft_print_msg("offline memory%ld: %s (state %s)\n", blk,
				       strerror(-err), buf);
		/*
		 * Busy with boot-time reservations, or not all present (a
		 * hole at the end of memory): try the next one.
		 */
		if (err != -EBUSY && err != -EINVAL)
			break;
	}
	offline = !err;
	if (err) {
		why = "no block holding KSM pages could be offlined";
		goto out;
	}
	left = pages_in_block(p, NPAGES, blk);
	if (left) {
		why = "pages still in the offlined block";
	} else if (!content_ok(p, NPAGES, 0x80, NKSM)) {
		why = "content changed by the offline";
	} else if (wait_self_merging(NPAGES, NPAGES, 60)) {
		why = "pages not merged after the offline";
	} else {
		ksm_wait_sharing(1, 30);
		shared1 = ksm_get("pages_shared");
		sharing1 = ksm_get("pages_sharing");
		ksft_print_msg("after offline: pages_shared %ld sharing %ld\n",
			       shared1, sharing1);
		if (shared1 != shared0 || sharing1 != sharing0)
			why = "pages_shared/pages_sharing changed across the offline";
	}
out:
	ksft_test_result(!why, "hot-remove: offline a movable block of KSM pages%s%s\n",
			 why ? ": " : "", why ? why : "");
	if (!offline) {
		ksft_test_result_skip("hot-remove: ksmd does not scan while the block goes offline (not offlined)\n");
	} else {
		ksft_print_msg("offline: migration for %.1f ms by the trace; ksmd started %ld rounds during the offline, %ld of them within the migration\n",
			       (watch->mig1 - watch->mig0) * 1e3,
			       watch->rounds, watch->in_window);
		if (watch->mig1 <= 0)
			ksft_test_result_skip("hot-remove: ksmd does not scan while the block goes offline (no migrate tracepoints)\n");
		else if (!watch->rounds)
			ksft_test_result_skip("hot-remove: ksmd does not scan while the block goes offline (no ksm_start_scan events at all)\n");
		else
			ksft_test_result(!watch->in_window,
					 "hot-remove: ksmd does not scan while the block goes offline\n");
	}
	if (why) {
		ksft_test_result_skip("hot-remove: stale stable nodes of the block do no harm (earlier step failed)\n");
		goto online;
	}

	/*
	 * Bring the unmapped contents back: stable tree lookups now meet the
	 * nodes left stale in the offlined block, which must have been
	 * pruned (or be recognised as stale) rather than followed.
	 */
	why = NULL;
	s = map_same(NSTALE, 0);
	if (!s) {
		why = "mmap";
	} else {
		fill(s, NSTALE, 0x10, NSTALE / 2);
		if (wait_self_merging(NPAGES + NSTALE, NPAGES + NSTALE, 60))
			why = "contents of stale nodes did not merge again";
		else if (!content_ok(s, NSTALE, 0x10, NSTALE / 2) ||
			 !content_ok(p, NPAGES, 0x80, NKSM))
			why = "content changed";
		else if (ksm_set("run", 2) || ksm_get("pages_shared") ||
			 ksm_get("pages_sharing") || ksm_get("stable_node_chains"))
			why = "counters not 0 after run=2";
	}
	ksft_test_result(!why, "hot-remove: stale stable nodes of the block do no harm%s%s\n",
			 why ? ": " : "", why ? why : "");
online:
	if (offline) {
		err = set_state(blk, "online_movable");
		if (err)
			err = set_state(blk, "online");
		block_attr(blk, "state", buf, sizeof(buf));
		ksft_test_result(!err && !strncmp(buf, "online", 6),
				 "hot-remove: the block comes back online (%s)\n",
				 err ? strerror(-err) : buf);
	} else {
		ksft_test_result_skip("hot-remove: the block comes back online (not offlined)\n");
	}
restore:
	if (p)
		munmap(p, NPAGES * psize);
	if (s)
		munmap(s, NSTALE * psize);
	ksm_set("run", 2);
	test_prune_stale();
	ksm_restore_knobs();
	ksft_finished();
}
