// SPDX-License-Identifier: GPL-2.0
/*
 * KSM pages in the rest of mm: swap-out and swap-in through zram under a
 * memory cgroup's memory.reclaim, migration between the two emulated NUMA
 * nodes with move_pages(), MADV_HWPOISON of a merged page (early kill
 * of exactly the processes that map it), the KSM tracepoints read back
 * from tracefs,
 * and the global counters back at zero once every user is gone.
 * Runs as root in the test guest (numa=fake=2, zram, cgroup v2, tracefs).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ksm_common.h"

#define NPAGES		128
#define CG_DIR		"/sys/fs/cgroup/ksm-paths"
#define MF_MOVE_ALL	(1 << 2)	/* MPOL_MF_MOVE_ALL */

static long psize;

/* Print what the kernel says of the page at p: flags and memory cgroup. */
static void describe_page(const char *p)
{
	uint64_t pfn = pfn_of(p);
	uint64_t flags = pfn ? kpage_entry("/proc/kpageflags", pfn) : 0;
	uint64_t cg = pfn ? kpage_entry("/proc/kpagecgroup", pfn) : 0;

	ksft_print_msg("page pfn %#llx flags %#llx (lru %d active %d ksm %d) memcg ino %llu\n",
		       (unsigned long long)pfn, (unsigned long long)flags,
		       !!(flags & (1 << 5)), !!(flags & (1 << 6)),
		       !!(flags & (1 << 21)), (unsigned long long)cg);
}

/*
 * fork() with a command pipe: the parent gets the child's pid and the
 * write end in *cmd, the child 0 and the read end in *in.
 */
static pid_t fork_commanded(int *cmd, int *in)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fds[1]);
		*in = fds[0];
		return 0;
	}
	close(fds[0]);
	*cmd = fds[1];
	return pid;
}

/* A child that keeps the mapping until told, then checks it. */
static pid_t hold_and_check(const char *p, char c, int *release)
{
	pid_t pid;
	int in;
	char x;

	pid = fork_commanded(release, &in);
	if (pid == 0) {
		if (read(in, &x, 1) < 0)
			_exit(2);
		_exit(all_bytes(p, NPAGES, c) ? 0 : 1);
	}
	return pid;
}

static int child_ok(pid_t pid, int release)
{
	int status;

	/* A byte, not EOF: later children hold copies of this pipe too. */
	if (write(release, "x", 1) != 1)
		kill(pid, SIGKILL);
	close(release);
	if (waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_swap(void)
{
	char *p = NULL;
	const char *why = NULL;
	int rel[2], out = 0, i, err = 0;
	pid_t kid[2] = { -1, -1 };

	if (!zram_swap_ready()) {
		ksft_test_result_skip("swap: merged pages go out to zram and come back (no zram swap)\n");
		return;
	}
	cg_make(CG_DIR);
	if (cg_join(CG_DIR, getpid())) {
		ksft_test_result_skip("swap: merged pages go out to zram and come back (no memory cgroup)\n");
		return;
	}

	ksft_print_msg("swap: in cgroup, merging\n");
	p = map_same(NPAGES, 0x66);
	if (!p || wait_self_merged(NPAGES, 60)) {
		why = "not merged to begin with";
		goto out;
	}
	/* Two more processes map the same KSM pages through fork. */
	for (i = 0; i < 2; i++)
		kid[i] = hold_and_check(p, 0x66, &rel[i]);
	ksm_set("run", 0);
	ksft_print_msg("swap: merged, reclaiming\n");
	for (i = 0; i < 100 && out < NPAGES / 2; i++) {
		if (i)
			usleep(100000);
		/* Anon only (swappiness=200): the file cache must not shield it. */
		err = write_file(CG_DIR "/memory.reclaim", "16M swappiness=200");
		out = pages_swapped(p, NPAGES);
	}
	if (err)
		ksft_print_msg("swap: memory.reclaim: %s\n", strerror(-err));
	if (out <= 0) {
		struct stat st;

		describe_page(p);
		if (!stat(CG_DIR, &st))
			ksft_print_msg("test cgroup ino %llu\n",
				       (unsigned long long)st.st_ino);
		system("(grep -E '^(anon|file|active_anon|inactive_anon|swapcached) ' " CG_DIR "/memory.stat; cat /proc/swaps /proc/sys/vm/swappiness " CG_DIR "/memory.swap.max " CG_DIR "/memory.swap.current; grep -E 'pswp|pgscan|pgsteal' /proc/vmstat) | sed 's/^/# /'");
	}
	ksft_print_msg("swap: %d of %d merged pages were swapped out after %d memory.reclaim writes\n",
		       out, NPAGES, i);
	if (out <= 0) {
		why = "reclaim did not swap the merged pages out";
	} else if (!all_bytes(p, NPAGES, 0x66)) {
		why = "content changed across swap";
	} else {
		for (i = 0; i < 2; i++)
			if (kid[i] > 0 && !child_ok(kid[i], rel[i]))
				why = "a forked user saw changed content";
		kid[0] = kid[1] = -1;
		if (!why && wait_self_merged(NPAGES, 60))
			why = "pages did not merge again after swap-in";
	}
out:
	for (i = 0; i < 2; i++)
		if (kid[i] > 0)
			child_ok(kid[i], rel[i]);
	ksft_test_result(!why, "swap: merged pages go out to zram and come back%s%s\n",
			 why ? ": " : "", why ? why : "");
	if (p)
		munmap(p, NPAGES * psize);
	cg_join(CGROUP_DIR, getpid());
	rmdir(CG_DIR);
	ksm_set("run", 2);
}

static void test_migration(void)
{
	void *pages[NPAGES];
	int nodes[NPAGES], status[NPAGES];
	int i, from, to, tries, left = 0;
	const char *why = NULL;
	long rc = 0;
	char *p;

	if (access("/sys/devices/system/node/node1", F_OK)) {
		ksft_test_result_skip("migration: merged pages move between nodes (one node)\n");
		return;
	}
	p = map_same(NPAGES, 0x2d);
	if (!p || wait_self_merged(NPAGES, 60)) {
		ksft_test_result(0, "migration: pages merged before the move\n");
		goto out;
	}
	for (i = 0; i < NPAGES; i++)
		pages[i] = p + i * psize;
	if (sys_move_pages(1, pages, NULL, status, 0) || status[0] < 0) {
		ksft_test_result(0, "migration: cannot tell the node of a merged page\n");
		goto out;
	}
	from = status[0];
	to = !from;
	for (i = 0; i < NPAGES; i++)
		nodes[i] = to;
	/* ksmd at its default pace, as on a real host. */
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 20);
	/*
	 * move_pages() is best effort: a page that ksmd (running at full
	 * speed here) holds a moment too long stays behind and is reported.
	 * Ask again a few times, as a caller would, then check the nodes.
	 */
	for (tries = 1; tries <= 5; tries++) {
		rc = sys_move_pages(NPAGES, pages, nodes, status, MF_MOVE_ALL);
		if (rc < 0)
			break;
		sys_move_pages(NPAGES, pages, NULL, status, 0);
		for (left = 0, i = 0; i < NPAGES; i++)
			left += status[i] != to;
		if (!left)
			break;
	}
	if (rc < 0)
		why = "move_pages failed";
	else if (left)
		why = "merged pages stayed on the old node";
	if (!why && !all_bytes(p, NPAGES, 0x2d))
		why = "content changed by the move";
	if (!why && self_merging_pages() < NPAGES)
		why = "pages no longer merged after the move";
	if (!why) {
		/* The stable tree must know the new frame: COW and unmerge. */
		p[0] = 1;
		if (!all_bytes(p + psize, NPAGES - 1, 0x2d))
			why = "a write after the move showed in other pages";
		else if (madvise(p, NPAGES * psize, MADV_UNMERGEABLE) ||
			 wait_self_unmerged(60))
			why = "unmerge after the move failed";
		else if (!all_bytes(p + psize, NPAGES - 1, 0x2d))
			why = "content changed by the unmerge";
	}
	ksft_print_msg("merged pages from node %d to %d: %d left after %d tries\n",
		       from, to, left, tries);
	ksft_test_result(!why, "migration: merged pages move between nodes%s%s\n",
			 why ? ": " : "", why ? why : "");
out:
	if (p)
		munmap(p, NPAGES * psize);
	ksm_set("run", 2);
}

/*
 * A process that maps NPAGES pages of byte c, merged, then waits for a
 * command on its pipe: 'p' poisons its first page, anything else ends
 * it. Reports "merged" by writing a byte to *ready.
 */
static pid_t spawn_mapper(char c, int mergeable, int *cmd, int ready)
{
	pid_t pid;
	int in;
	char x;

	pid = fork_commanded(cmd, &in);
	if (pid == 0) {
		char *p = mergeable ? map_same(NPAGES, c) :
			  mmap(NULL, NPAGES * psize, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (!p || p == MAP_FAILED)
			_exit(2);
		if (!mergeable)
			memset(p, c, NPAGES * psize);
		else if (wait_self_merged(NPAGES, 60))
			_exit(3);
		if (write(ready, "r", 1) != 1)
			_exit(4);
		while (read(in, &x, 1) == 1) {
			if (x != 'p')
				_exit(0);
			madvise(p, psize, MADV_HWPOISON);
		}
		_exit(0);
	}
	return pid;
}

/* Did @pid die of SIGBUS within a few seconds? Reaps it either way. */
static int died_of_sigbus(pid_t pid)
{
	int status, i;

	for (i = 0; i < 500; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 0;
}

static void test_memory_failure(void)
{
	int cmd[3], ready[2], got = 0, i, a_bus, b_bus, c_alive;
	const char *why = NULL;
	long early = -1;
	pid_t kid[3];
	char buf[32];
	FILE *f;
	char x;

	if (pipe(ready)) {
		ksft_test_result(0, "memory-failure: pipe\n");
		return;
	}
	f = fopen("/proc/sys/vm/memory_failure_early_kill", "r");
	if (f) {
		if (fscanf(f, "%ld", &early) != 1)
			early = -1;
		fclose(f);
	}
	write_file("/proc/sys/vm/memory_failure_early_kill", "1");
	/* A and B merge the same content; C maps other, private memory. */
	kid[0] = spawn_mapper(0x4b, 1, &cmd[0], ready[1]);
	kid[1] = spawn_mapper(0x4b, 1, &cmd[1], ready[1]);
	kid[2] = spawn_mapper(0x4c, 0, &cmd[2], ready[1]);
	close(ready[1]);
	while (got < 3 && read(ready[0], &x, 1) == 1)
		got++;
	close(ready[0]);
	if (got < 3) {
		why = "the mappers did not get ready (not merged?)";
		for (i = 0; i < 3; i++)
			kill(kid[i], SIGKILL);
	} else if (write(cmd[0], "p", 1) != 1) {
		why = "cannot reach the poisoner";
	}
	a_bus = died_of_sigbus(kid[0]);
	b_bus = died_of_sigbus(kid[1]);
	c_alive = kill(kid[2], 0) == 0;
	if (write(cmd[2], "q", 1) != 1)
		kill(kid[2], SIGKILL);
	waitpid(kid[2], NULL, 0);
	for (i = 0; i < 3; i++)
		close(cmd[i]);
	if (!why && !a_bus)
		why = "the poisoning process was not killed by SIGBUS";
	else if (!why && !b_bus)
		why = "the other process mapping the page was not killed";
	else if (!why && !c_alive)
		why = "a process not mapping the page died";
	if (early >= 0) {
		snprintf(buf, sizeof(buf), "%ld", early);
		write_file("/proc/sys/vm/memory_failure_early_kill", buf);
	}
	ksft_test_result(!why, "memory-failure: a poisoned KSM page kills exactly its users%s%s\n",
			 why ? ": " : "", why ? why : "");
	ksm_set("run", 2);
}

/* Wait until this process has at least n pages on the KSM zero page. */
static int wait_zero_pages(long n, int timeout_s)
{
	time_t end = time(NULL) + timeout_s;

	do {
		if (keyed_value("/proc/self/ksm_stat", "ksm_zero_pages") >= n)
			return 0;
		usleep(10000);
	} while (time(NULL) < end);
	return -1;
}

/* Is event name in the trace buffer? */
static int traced(const char *buf, const char *name)
{
	return strstr(buf, name) != NULL;
}

static void test_tracepoints(void)
{
	static const char * const want[] = {
		"ksm_enter", "ksm_start_scan", "ksm_stop_scan",
		"ksm_merge_one_page", "ksm_merge_with_ksm_page",
		"ksm_remove_rmap_item", "ksm_remove_ksm_page", "ksm_exit",
	};
	static char buf[1 << 20];
	const char *missing = NULL;
	unsigned int i;
	pid_t pid;

	if (write_file(TRACE_DIR "events/ksm/enable", "1")) {
		ksft_test_result_skip("tracepoints: every KSM event fires (no tracefs)\n");
		return;
	}
	trace_clear();
	ksm_set("use_zero_pages", 1);
	pid = fork();
	if (pid == 0) {
		char *p = map_same(16, 0x11);

		char *z = map_same(4, 0);

		/*
		 * Exit while merged: ksm_exit fires, and ksmd then drops
		 * the items and the KSM page of the dead mm. The pages of
		 * zeroes go to the zero page (ksm_merge_one_page, which
		 * mainline fires for those merges only).
		 */
		_exit(!p || !z || wait_self_merged(16, 60) ||
		      wait_zero_pages(4, 60));
	}
	waitpid(pid, NULL, 0);
	/*
	 * ksmd drops the dead mm's items on its next pass; the KSM page's
	 * node, stale now, goes when run=2 empties the stable trees.
	 */
	wait_sharing_zero(30);
	ksm_set("run", 2);
	ksm_set("use_zero_pages", 0);
	write_file(TRACE_DIR "events/ksm/enable", "0");
	if (read_file(TRACE_DIR "trace", buf, sizeof(buf)))
		buf[0] = 0;
	for (i = 0; i < sizeof(want) / sizeof(want[0]) && !missing; i++)
		if (!traced(buf, want[i]))
			missing = want[i];
	ksft_test_result(!missing, "tracepoints: every KSM event fires%s%s\n",
			 missing ? ": missing " : "", missing ? missing : "");
	ksm_set("run", 2);
}

/* With every user gone, nothing may be left counted. */
static void test_counters_zero(void)
{
	static const char * const names[] = {
		"pages_shared", "pages_sharing", "pages_unshared",
		"ksm_zero_pages", "stable_node_chains", "stable_node_dups",
	};
	const char *left = NULL;
	unsigned int i;
	long v = 0;

	ksm_set("run", 2);
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && !left; i++) {
		v = ksm_get(names[i]);
		if (v != 0)
			left = names[i];
	}
	ksft_test_result(!left, "counters back to 0 after all users left%s%s (%ld)\n",
			 left ? ": " : "", left ? left : "", left ? v : 0L);
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
	test_swap();
	test_migration();
	test_memory_failure();
	test_tracepoints();
	test_counters_zero();
	ksm_restore_knobs();
	ksft_finished();
}
