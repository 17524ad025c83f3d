// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_stress: a seeded, replayable random stress of KSM.
 *
 * A few worker processes (ksm_stress_worker.c and the files it calls) own
 * mergeable anonymous ranges whose pages hold one of a small set of
 * patterns (so that many pages are identical across processes), an
 * all-zero page, or a pattern of their own. Each worker keeps a record of
 * what every page must hold and checks it all the time while it rewrites
 * pages, forks, remaps, mremaps, mprotects, drops pages with
 * MADV_DONTNEED, unmerges and re-advises, migrates pages between the two
 * NUMA nodes, pages them out to zram swap, runs threads over a range,
 * write-protects pages with userfaultfd, writes pages through
 * /proc/<pid>/mem, maps 2 MiB aligned ranges for THP, and exits to be
 * respawned. Worker 0 uses prctl(PR_SET_MEMORY_MERGE) instead of
 * MADV_MERGEABLE; workers 3, 7, ... run in a memory cgroup whose
 * memory.max is close to their size.
 *
 * Meanwhile the main process runs ksmd at full speed and flips its knobs:
 * use_zero_pages, smart_scan, THP's "enabled", and, around run=2,
 * max_page_sharing and merge_across_nodes.
 *
 * At the end, with every worker gone and run=2, every KSM counter must be
 * back to 0, the KSM slab caches back to where they were before the round
 * (where /proc/slabinfo lists them: boot with slab_nomerge), and the
 * memory that no counter of /proc/meminfo explains must not have grown by
 * more than MEM_SLACK_KB: a page frame leaked by KSM shows up there.
 *
 * Every random choice comes from --seed, printed first as "# seed S": the
 * same seed gives each worker the same sequence of operations (the timing
 * against ksmd and between threads differs from run to run, of course).
 *
 * Usage: ksm_stress [--seconds N] [--seed S] [--procs N]
 * Runs as root; prints KTAP.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <sys/wait.h>
#include "ksm_stress.h"
#include "ksm_common.h"

#define NR_CHECKS	8
#define MEM_SLACK_KB	4096	/* unexplained memory growth allowed */
#define MEMCG_MAX	(6L << 20)	/* with swap in it; 3x that without */
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"

/* ---- The main process: workers, knobs, counters. ---- */

/* Put back at the end, after run=2, in this order. */
static const char *const knobs[] = {
	"max_page_sharing", "merge_across_nodes", "use_zero_pages",
	"smart_scan", "pages_to_scan", "sleep_millisecs", "run", NULL,
};

static long ctl_zero_flips, ctl_smart_flips, ctl_run2, ctl_mps_ok,
	    ctl_mps_busy, ctl_man_ok, ctl_man_busy, ctl_bad, ctl_thp_flips;
static char thp_saved[64];

/* THP "enabled" to always, madvise or never, at random. */
static void flip_thp(uint64_t *crng)
{
	static const char *const modes[] = { "always", "madvise", "never" };
	const char *m = modes[rnd(crng, 3)];
	int err = write_file(THP_ENABLED, m);

	if (err) {
		ctl_bad++;
		say("# ERROR writing %s to " THP_ENABLED ": %s\n", m,
		    strerror(-err));
	} else {
		ctl_thp_flips++;
	}
}

static void print_delta(const char *what, const char *key, long before)
{
	long now = vmstat(key);

	if (now < 0 || before < 0)
		ksft_print_msg("%s: n/a (no such /proc/vmstat line: CONFIG_VM_EVENT_COUNTERS off?)\n",
			       what);
	else
		ksft_print_msg("%s: %ld\n", what, now - before);
}

/* A knob write that may be refused with EBUSY only. */
static void try_knob(const char *name, long val, long *ok, long *busy)
{
	int err = ksm_set(name, val);

	if (!err) {
		(*ok)++;
	} else if (err == -EBUSY) {
		(*busy)++;
	} else {
		ctl_bad++;
		say("# ERROR writing %ld to %s: %s\n", val, name,
		    strerror(-err));
	}
}

static void flip(const char *name, long *cnt)
{
	long v = ksm_get(name);
	int err = ksm_set(name, !v);

	if (err) {
		ctl_bad++;
		say("# ERROR writing %d to %s: %s\n", !v, name, strerror(-err));
	} else {
		(*cnt)++;
	}
}

static void shape_knobs(uint64_t *crng)
{
	long mps = ksm_get("max_page_sharing");

	if (rnd(crng, 2))
		try_knob("max_page_sharing", mps == 2 ? 256 : 2,
			 &ctl_mps_ok, &ctl_mps_busy);
	if (have_node1 && rnd(crng, 2))
		try_knob("merge_across_nodes",
			 !ksm_get("merge_across_nodes"),
			 &ctl_man_ok, &ctl_man_busy);
}

static void control(uint64_t *crng)
{
	int err;

	if (!rnd(crng, 20))
		flip("use_zero_pages", &ctl_zero_flips);
	if (!rnd(crng, 20))
		flip("smart_scan", &ctl_smart_flips);
	if (have_thp && !rnd(crng, 40))
		flip_thp(crng);
	/* Without run=2 first: EBUSY while anything is merged. */
	if (!rnd(crng, 80))
		shape_knobs(crng);
	if (rnd(crng, 100))
		return;
	err = ksm_set("run", 2);
	if (err) {
		ctl_bad++;
		say("# ERROR writing 2 to run: %s\n", strerror(-err));
	} else {
		ctl_run2++;
	}
	shape_knobs(crng);
	usleep(rnd(crng, 200000));
	err = ksm_set("run", 1);
	if (err) {
		ctl_bad++;
		say("# ERROR writing 1 to run: %s\n", strerror(-err));
	}
}

static pid_t spawn(int id, int gen)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		worker(id, gen);
	if (pid < 0)
		say("# ERROR fork of worker %d: %s\n", id, strerror(errno));
	return pid;
}

static const char *const counters[] = {
	"pages_shared", "pages_sharing", "pages_unshared", "pages_volatile",
	"ksm_zero_pages", "stable_node_chains", "stable_node_dups",
	"general_profit",
};
#define NR_COUNTERS (sizeof(counters) / sizeof(counters[0]))

/* Wait until every KSM counter reads 0; v[] gets the last values. */
static int counters_zero(int timeout_s, long v[NR_COUNTERS])
{
	time_t end = time(NULL) + timeout_s;
	unsigned int i;
	int zero;

	do {
		zero = 1;
		for (i = 0; i < NR_COUNTERS; i++) {
			v[i] = ksm_get(counters[i]);
			zero &= !v[i];
		}
		if (zero)
			return 1;
		usleep(100000);
	} while (time(NULL) < end);
	return 0;
}

static const char *const caches[] = {
	"ksm_rmap_item", "ksm_stable_node", "ksm_mm_slot",
};
#define NR_CACHES (sizeof(caches) / sizeof(caches[0]))

/* Active objects of the KSM caches, shrunk first; -1 if not listed. */
static int read_caches(long v[NR_CACHES])
{
	unsigned int i;

	for (i = 0; i < NR_CACHES; i++) {
		slab_shrink(caches[i]);
		if (slab_active(caches[i], &v[i]))
			return -1;
	}
	return 0;
}

/* Back to the baseline (or below) within timeout_s? */
static int caches_back(const long base[NR_CACHES], long v[NR_CACHES],
		       int timeout_s)
{
	time_t end = time(NULL) + timeout_s;
	unsigned int i;
	int back;

	do {
		if (read_caches(v))
			return 0;
		for (back = 1, i = 0; i < NR_CACHES; i++)
			back &= v[i] <= base[i];
		if (back)
			return 1;
		sleep(1);
	} while (time(NULL) < end);
	return 0;
}

/*
 * Memory in kB that nothing in /proc/meminfo accounts for: what is
 * neither free (MemFree plus the per-CPU free lists) nor page cache, anon,
 * swap cache, slab, kernel stacks, page tables, vmalloc, percpu or zram's
 * zsmalloc pages. A page frame that KSM leaks (a stable page nobody maps,
 * a reference never dropped) lands here.
 */
static long unexplained_kb(long *memfree)
{
	static const char *const used[] = {
		"Buffers", "Cached", "SwapCached", "AnonPages",
		"SReclaimable", "SUnreclaim", "KernelStack", "PageTables",
		"SecPageTables", "VmallocUsed", "Percpu",
	};
	long kb = meminfo("MemTotal"), zs = vmstat("nr_zspages");
	unsigned int i;

	drop_caches();
	*memfree = meminfo("MemFree");
	kb -= *memfree + pcp_pages() * (psize / 1024);
	for (i = 0; i < sizeof(used) / sizeof(used[0]); i++)
		kb -= meminfo(used[i]);
	if (zs > 0)
		kb -= zs * (psize / 1024);
	return kb;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--seconds N] [--seed S] [--procs N]\n",
		prog);
	exit(2);
}

static void print_stats(long max_sharing, long max_zero, long min_zero,
			long scans, const long *vm0)
{
	int i;

	ksft_print_msg("operations:\n");
	for (i = 0; i < NR_OPS; i++)
		ksft_print_msg("  %-14s %ld\n", op_names[i], sh->ops[i]);
	ksft_print_msg("control: use_zero_pages flips %ld, smart_scan flips %ld, THP enabled flips %ld, run=2 cycles %ld\n",
		       ctl_zero_flips, ctl_smart_flips, ctl_thp_flips, ctl_run2);
	ksft_print_msg("control: max_page_sharing set %ld, EBUSY %ld; merge_across_nodes set %ld, EBUSY %ld; bad writes %ld\n",
		       ctl_mps_ok, ctl_mps_busy, ctl_man_ok, ctl_man_busy,
		       ctl_bad);
	ksft_print_msg("merges: max pages_sharing %ld, ksm_zero_pages max %ld min %ld, full scans %ld\n",
		       max_sharing, max_zero, min_zero, scans);
	print_delta("COW breaks (vmstat cow_ksm)", "cow_ksm", vm0[0]);
	print_delta("swaps (vmstat pswpout)", "pswpout", vm0[1]);
	print_delta("swap-ins (vmstat pswpin)", "pswpin", vm0[2]);
	print_delta("KSM swap-in copies (vmstat ksm_swpin_copy)",
		    "ksm_swpin_copy", vm0[3]);
	print_delta("migrations (vmstat pgmigrate_success)",
		    "pgmigrate_success", vm0[4]);
	print_delta("THP faults (vmstat thp_fault_alloc)", "thp_fault_alloc",
		    vm0[5]);
	print_delta("THP splits (vmstat thp_split_page)", "thp_split_page",
		    vm0[6]);
	ksft_print_msg("swaps seen: MADV_PAGEOUT on %ld pages, %ld of them on swap right after\n",
		       sh->pageout_pages, sh->swapped_pages);
	ksft_print_msg("migrations seen: move_pages took %ld pages to the other node, %ld calls failed with EBUSY/EAGAIN/ENOMEM\n",
		       sh->pages_moved, sh->move_errs);
	ksft_print_msg("threads: %ld started, %ld page writes/checks done by them\n",
		       sh->threads, sh->thread_ops);
	ksft_print_msg("uffd-wp: %ld pages protected, %ld write faults resolved, %ld protected pages written without a fault%s\n",
		       sh->wp_pages, sh->wp_faults, sh->wp_unfaulted,
		       sh->uffd_unavail ? " (uffd-wp unavailable)" : "");
	ksft_print_msg("/proc/pid/mem: %ld writes into self, %ld into a child, %ld from a child into its parent\n",
		       sh->procmem_self, sh->procmem_child, sh->procmem_parent);
	ksft_print_msg("THP: %ld 2 MiB ranges mapped; memcg: %ld worker generations ran in it, %ld failed to join\n",
		       sh->thp_ranges, sh->memcg_workers, sh->memcg_join_errs);
	ksft_print_msg("respawns %ld, mismatches %ld, unexpected errors %ld, crashes %ld, memcg OOM kills %ld\n",
		       sh->respawns, sh->mismatches, sh->errors, sh->crashes,
		       sh->oom_killed);
}

static const char *const vm_keys[] = {
	"cow_ksm", "pswpout", "pswpin", "ksm_swpin_copy", "pgmigrate_success",
	"thp_fault_alloc", "thp_split_page",
};
#define NR_VM_KEYS (sizeof(vm_keys) / sizeof(vm_keys[0]))

/* Reap workers; respawn them unless stopping. Returns how many live. */
static int reap(pid_t *pids, int *gens, int procs, int respawn)
{
	int i, status, live = 0;
	pid_t pid;

	for (i = 0; i < procs; i++) {
		if (pids[i] <= 0)
			continue;
		pid = waitpid(pids[i], &status, WNOHANG);
		if (pid == 0) {
			live++;
			continue;
		}
		if (pid == pids[i] &&
		    died_badly(status, memcg_procs[0] &&
				       i % MEMCG_EVERY == MEMCG_EVERY - 1)) {
			count(&sh->crashes, 1);
			say("# CRASH worker %d gen %d: status %#x\n",
			    i, gens[i], status);
		}
		pids[i] = 0;
		if (respawn) {
			pids[i] = spawn(i, ++gens[i]);
			count(&sh->respawns, 1);
			live++;
		}
	}
	return live;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "procs", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	long seconds = 60, max_sharing = 0, max_zero = 0, min_zero = 0, v;
	long cnt[NR_COUNTERS], slab0[NR_CACHES], slab1[NR_CACHES];
	long vm0[NR_VM_KEYS], scans = 0, last_scans, oom_kill = -1, max_hits = -1;
	long mem0, mem1, free0, free1;
	pid_t pids[MAX_PROCS];
	int gens[MAX_PROCS];
	int procs = 4, seeded = 0, c, i, zero_ok, run2_err, have_slab;
	int slab_ok = 0, have_memcg, memcg_swap, tries;
	long memcg_max;
	unsigned int k;
	uint64_t crng;
	time_t end;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			seconds = strtol(optarg, NULL, 0);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			seeded = 1;
			break;
		case 'p':
			procs = strtol(optarg, NULL, 0);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc || seconds < 1 || procs < 1 || procs > MAX_PROCS)
		usage(argv[0]);
	if (!seeded)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	printf("# seed %llu\n", (unsigned long long)seed);
	ksft_print_header();
	ksft_set_plan(NR_CHECKS);

	if (geteuid() || ksm_get("run") < 0) {
		ksft_print_msg("needs root and /sys/kernel/mm/ksm\n");
		for (i = 0; i < NR_CHECKS; i++)
			ksft_test_result_skip("ksm_stress\n");
		return KSFT_SKIP;
	}

	psize = sysconf(_SC_PAGESIZE);
	crng = seed;
	rng_next(&crng);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("setup");
		return KSFT_FAIL;
	}
	init_patterns();
	have_node1 = !access("/sys/devices/system/node/node1", F_OK);
	have_swap = zram_swap_ready();
	have_thp = !read_file(THP_ENABLED, thp_saved, sizeof(thp_saved));
	if (have_thp) {
		/* "always [madvise] never" -> "madvise" */
		char *a = strchr(thp_saved, '['), *b = a ? strchr(a, ']') : NULL;

		if (a && b) {
			*b = 0;
			memmove(thp_saved, a + 1, strlen(a + 1) + 1);
		} else {
			have_thp = 0;
		}
	}
	/*
	 * The memcg may use zram swap or not (memory.swap.max 0): the seed
	 * decides. Without swap, memory.max leaves room for the most the
	 * workers in it can map (four THP ranges and a fork child's COWs).
	 */
	memcg_swap = have_swap && !((seed >> 1) & 1);
	memcg_max = memcg_swap ? MEMCG_MAX : 3 * MEMCG_MAX;
	have_memcg = !memcg_setup(memcg_max, memcg_swap);
	sh->memcg_swap = memcg_swap;
	ksft_print_msg("%d workers for %ld s; NUMA node 1: %s; zram swap: %s; THP: %s\n",
		       procs, seconds, have_node1 ? "yes" : "no (no migration)",
		       have_swap ? "yes" : "no (no pageout)",
		       have_thp ? thp_saved : "no");
	if (!have_memcg || procs < MEMCG_EVERY)
		ksft_print_msg("memcg: none%s\n", have_memcg ?
			       " (no worker would be in it: --procs < 4)" : "");
	else
		ksft_print_msg("memcg: workers 3, 7, ... in memory.max %ld MiB, %s\n",
			       memcg_max >> 20, memcg_swap ?
			       "with zram swap" : "memory.swap.max 0");

	/* The baseline: nothing merged, caches shrunk, caches dropped. */
	ksm_save_knobs(knobs);
	if (ksm_set("run", 2))
		ksft_print_msg("cannot set run=2 for the baseline\n");
	counters_zero(60, cnt);
	have_slab = !read_caches(slab0);
	if (have_slab)
		ksft_print_msg("slab baseline: %s %ld, %s %ld, %s %ld active objects\n",
			       caches[0], slab0[0], caches[1], slab0[1],
			       caches[2], slab0[2]);
	mem0 = unexplained_kb(&free0);

	if (ksm_set("pages_to_scan", 10000) || ksm_set("sleep_millisecs", 0))
		ksft_print_msg("cannot set ksmd to full speed\n");
	ksm_set("run", 1);
	for (k = 0; k < NR_VM_KEYS; k++)
		vm0[k] = vmstat(vm_keys[k]);
	last_scans = ksm_get("full_scans");

	for (i = 0; i < procs; i++) {
		gens[i] = 0;
		pids[i] = spawn(i, 0);
	}

	end = time(NULL) + seconds;
	while (time(NULL) < end) {
		usleep(50000);
		reap(pids, gens, procs, 1);
		v = ksm_get("pages_sharing");
		if (v > max_sharing)
			max_sharing = v;
		v = ksm_get("ksm_zero_pages");
		if (v > max_zero)
			max_zero = v;
		if (v < min_zero)
			min_zero = v;
		/* run=2 starts full_scans from 0 again. */
		v = ksm_get("full_scans");
		scans += v >= last_scans ? v - last_scans : v;
		last_scans = v;
		control(&crng);
	}

	/* Workers check everything once more, then leave. */
	sh->stop = 1;
	end = time(NULL) + 300;
	while (reap(pids, gens, procs, 0) && time(NULL) < end)
		usleep(50000);
	for (i = 0; i < procs; i++) {
		if (pids[i] > 0) {
			say("# worker %d (pid %d) did not exit: killing it\n",
			    i, pids[i]);
			count(&sh->crashes, 1);
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	}
	if (have_thp)
		write_file(THP_ENABLED, thp_saved);

	run2_err = ksm_set("run", 2);
	if (run2_err)
		say("# ERROR final run=2: %s\n", strerror(-run2_err));
	zero_ok = counters_zero(60, cnt);
	if (have_slab)
		slab_ok = caches_back(slab0, slab1, 30);
	/* Frees that RCU or workqueues finish late get a little time. */
	for (tries = 0; tries < 10; tries++) {
		mem1 = unexplained_kb(&free1);
		if (mem1 - mem0 <= MEM_SLACK_KB)
			break;
		sleep(1);
	}
	if (have_memcg)
		memcg_report(&oom_kill, &max_hits);
	memcg_teardown();

	print_stats(max_sharing, max_zero, min_zero, scans, vm0);
	for (k = 0; k < NR_COUNTERS; k++)
		ksft_print_msg("after run=2: %-18s %ld\n", counters[k], cnt[k]);
	if (have_slab)
		for (k = 0; k < NR_CACHES; k++)
			ksft_print_msg("slab %-16s active objects before %ld, after %ld\n",
				       caches[k], slab0[k], slab1[k]);
	ksft_print_msg("memory: MemFree %ld kB before, %ld kB after (%+ld kB); unexplained %ld kB before, %ld kB after (%+ld kB, allowed +%d kB)\n",
		       free0, free1, free1 - free0, mem0, mem1, mem1 - mem0,
		       MEM_SLACK_KB);

	ksm_restore_knobs();

	ksft_test_result(!sh->mismatches, "no content mismatch\n");
	/* Every SIGKILL taken for a memcg OOM kill must be one. */
	ksft_test_result(!sh->crashes && !sh->errors &&
			 sh->oom_killed <= (oom_kill > 0 ? oom_kill : 0),
			 "workers ran without crashes or unexpected syscall errors\n");
	ksft_test_result(!ctl_bad, "knob writes succeeded or were refused with EBUSY\n");
	ksft_test_result(max_sharing > 0, "ksmd merged pages during the run\n");
	ksft_test_result(!run2_err && zero_ok,
			 "every KSM counter back to 0 with all processes gone\n");
	if (!have_slab)
		ksft_test_result_skip("KSM slab caches back to baseline: %s\n",
				      access("/proc/slabinfo", F_OK) ?
				      "no /proc/slabinfo (CONFIG_SLUB_DEBUG off)" :
				      "caches not listed (boot with slab_nomerge)");
	else
		ksft_test_result(slab_ok, "KSM slab caches back to baseline\n");
	ksft_test_result(mem1 - mem0 <= MEM_SLACK_KB,
			 "no page frames leaked (unexplained memory within %d kB)\n",
			 MEM_SLACK_KB);
	/*
	 * Without swap, memory.max leaves room for all the workers in the
	 * memcg can map: an OOM kill there is a charging bug. With swap it
	 * is below that, and the load must really have met the limit.
	 */
	if (!have_memcg || procs < MEMCG_EVERY)
		ksft_test_result_skip("memcg near memory.max: no memcg\n");
	else if (!memcg_swap)
		ksft_test_result(oom_kill == 0 && !sh->memcg_join_errs,
				 "memcg near memory.max (no swap, room left): no OOM kill\n");
	else
		ksft_test_result(max_hits > 0 && !sh->memcg_join_errs,
				 "memcg near memory.max (with swap): the limit was hit\n");
	ksft_finished();
}
