// SPDX-License-Identifier: GPL-2.0
/*
 * Exit, munmap, mremap, mprotect, fork, MADV_DONTNEED, writes and
 * MADV_UNMERGEABLE racing with ksmd at full speed (sleep_millisecs=0, a
 * large pages_to_scan, max_page_sharing small so that stable node chains
 * form, use_zero_pages on). Every process checks its memory against what
 * it wrote. Afterwards, with every user gone, the KSM counters must come
 * back to 0 and the slab caches ksm_rmap_item, ksm_stable_node and
 * ksm_mm_slot to their baseline (/proc/slabinfo, booted with slab_nomerge).
 *
 * Usage: ksm_races [--seconds N] (default 20). Runs as root in the guest.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "ksm_common.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#endif

#define WORKERS		4
#define REGIONS		4
#define MAX_PAGES	128
#define SHARING_MAX	4	/* max_page_sharing during the race */

static long psize;

struct region {
	char *p;
	long n;			/* pages */
	unsigned char b[MAX_PAGES * 2];	/* the byte each page is filled with */
};

static uint64_t rnd_state;

static unsigned int rnd(unsigned int n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return n ? (unsigned int)(rnd_state % n) : 0;
}

/* Few distinct bytes, zero among them: many duplicates and zero pages. */
static unsigned char pick_byte(void)
{
	static const unsigned char alphabet[] = { 0, 0x11, 0x22, 0x33, 0x44 };

	return alphabet[rnd(sizeof(alphabet))];
}

static void fill_page(char *p, unsigned char b)
{
	memset(p, b, psize);
}

/* Does every byte of every page match what was written? */
static int region_ok(const struct region *r)
{
	long i, j;

	for (i = 0; i < r->n; i++) {
		const uint64_t *w = (const uint64_t *)(r->p + i * psize);
		uint64_t want = 0x0101010101010101ULL * r->b[i];

		for (j = 0; j < psize / 8; j++)
			if (w[j] != want)
				return 0;
	}
	return 1;
}

static int region_new(struct region *r)
{
	long i;

	r->n = 8 + rnd(MAX_PAGES - 8);
	r->p = mmap(NULL, r->n * psize, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->p == MAP_FAILED) {
		r->p = NULL;
		return -1;
	}
	for (i = 0; i < r->n; i++) {
		r->b[i] = pick_byte();
		fill_page(r->p + i * psize, r->b[i]);
	}
	if (madvise(r->p, r->n * psize, MADV_MERGEABLE) && errno != EINVAL)
		return -1;
	return 0;
}

static void region_drop(struct region *r)
{
	if (r->p)
		munmap(r->p, r->n * psize);
	r->p = NULL;
	r->n = 0;
}

/* A child of a worker: check, write over some pages, maybe wait, exit. */
static void forked_child(struct region *rs)
{
	int i, bad = 0;
	long k;

	for (i = 0; i < REGIONS; i++) {
		struct region *r = &rs[i];

		if (!r->p)
			continue;
		bad |= !region_ok(r);
		for (k = rnd(r->n); k < r->n; k += 1 + rnd(8)) {
			r->b[k] = pick_byte();
			fill_page(r->p + k * psize, r->b[k]);
		}
		bad |= !region_ok(r);
	}
	usleep(rnd(20000));
	_exit(bad ? 1 : 0);
}

/*
 * One worker: random operations on its regions until @end, checking the
 * content before every change. Exit status 0 if all was intact, 1 if a
 * page lost its content, 2 if a child reported so.
 */
static int worker(time_t end, unsigned int seed, int use_prctl)
{
	struct region rs[REGIONS] = { 0 };
	int kids = 0, bad = 0, status, i;
	long a, n;
	char *q;

	rnd_state = seed * 0x9e3779b97f4a7c15ULL + 12345;
	if (use_prctl)
		prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0);
	while (time(NULL) < end && !bad) {
		struct region *r = &rs[rnd(REGIONS)];

		while (waitpid(-1, &status, WNOHANG) > 0) {
			kids--;
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				bad = 2;
		}
		if (!r->p) {
			if (region_new(r))
				return 3;
			continue;
		}
		if (!region_ok(r)) {
			bad = 1;
			break;
		}
		switch (rnd(10)) {
		case 0:		/* munmap, whole or the tail */
			if (rnd(2) || r->n < 2) {
				region_drop(r);
			} else {
				a = 1 + rnd(r->n - 1);
				munmap(r->p + a * psize, (r->n - a) * psize);
				r->n = a;
			}
			break;
		case 1:		/* mremap: move, grow or shrink */
			n = 1 + rnd(MAX_PAGES * 2 - 1);
			q = mremap(r->p, r->n * psize, n * psize, MREMAP_MAYMOVE);
			if (q == MAP_FAILED)
				break;
			for (a = r->n; a < n; a++)
				r->b[a] = 0;	/* new anonymous pages */
			r->p = q;
			r->n = n;
			break;
		case 2:		/* mprotect read-only and back */
			a = rnd(r->n);
			n = 1 + rnd(r->n - a);
			mprotect(r->p + a * psize, n * psize, PROT_READ);
			usleep(rnd(2000));
			if (!region_ok(r))
				bad = 1;
			mprotect(r->p + a * psize, n * psize,
				 PROT_READ | PROT_WRITE);
			break;
		case 3:		/* fork a child that writes and exits */
			if (kids >= 4)
				break;
			switch (fork()) {
			case 0:
				forked_child(rs);
				break;
			case -1:
				break;
			default:
				kids++;
			}
			break;
		case 4:		/* MADV_DONTNEED a part */
			a = rnd(r->n);
			n = 1 + rnd(r->n - a);
			madvise(r->p + a * psize, n * psize, MADV_DONTNEED);
			memset(r->b + a, 0, n);
			break;
		case 5:		/* MADV_UNMERGEABLE, then mergeable again */
			madvise(r->p, r->n * psize, MADV_UNMERGEABLE);
			if (!region_ok(r))
				bad = 1;
			madvise(r->p, r->n * psize, MADV_MERGEABLE);
			break;
		case 6:		/* the process goes away */
			if (rnd(4) == 0)
				goto out;
			break;
		default:	/* write some pages (break COW) */
			for (a = rnd(r->n); a < r->n; a += 1 + rnd(16)) {
				r->b[a] = pick_byte();
				fill_page(r->p + a * psize, r->b[a]);
			}
			break;
		}
		usleep(rnd(3000));
	}
out:
	for (i = 0; i < REGIONS && !bad; i++)
		if (rs[i].p && !region_ok(&rs[i]))
			bad = 1;
	while (kids > 0 && wait(&status) > 0) {
		kids--;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad = bad ? bad : 2;
	}
	return bad;
}

static const char * const caches[] = {
	"ksm_rmap_item", "ksm_stable_node", "ksm_mm_slot",
};
#define NCACHES (sizeof(caches) / sizeof(caches[0]))

/*
 * Active objects of our caches, after asking SLUB to give back its
 * per-CPU slabs (which slabinfo counts as in use). -1 if the kernel has
 * no /proc/slabinfo or does not list the cache under its own name.
 */
static void caches_active(long *act)
{
	unsigned int i;

	for (i = 0; i < NCACHES; i++) {
		slab_shrink(caches[i]);
		if (slab_active(caches[i], &act[i]))
			act[i] = -1;
	}
}

static const char * const counters[] = {
	"pages_shared", "pages_sharing", "pages_unshared",
	"ksm_zero_pages", "stable_node_chains", "stable_node_dups",
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

/* The first counter not at 0 (its value in *v), or NULL. */
static const char *nonzero_counter(long *v)
{
	unsigned int i;

	for (i = 0; i < NCOUNTERS; i++) {
		*v = ksm_get(counters[i]);
		if (*v != 0)
			return counters[i];
	}
	return NULL;
}

static void print_counters(const char *when)
{
	unsigned int i;

	ksft_print_msg("%s:", when);
	for (i = 0; i < NCOUNTERS; i++)
		printf(" %s=%ld", counters[i], ksm_get(counters[i]));
	printf(" full_scans=%ld\n", ksm_get("full_scans"));
}

/* Put back at the end, after run=2, in this order. */
static const char *const knobs[] = {
	"max_page_sharing", "use_zero_pages", "pages_to_scan",
	"sleep_millisecs", "run", NULL,
};

int main(int argc, char **argv)
{
	long base[NCACHES], after[NCACHES], v = 0, peak_chains = 0;
	long peak_sharing = 0, peak_zero = 0, spawned = 0, scans0, rounds;
	int seconds = 20, bad = 0, status, live = 0;
	const char *left = NULL, *why = NULL;
	unsigned int c;
	time_t end, stop;
	pid_t pid;

	if (argc == 3 && !strcmp(argv[1], "--seconds"))
		seconds = atoi(argv[2]);
	psize = sysconf(_SC_PAGESIZE);
	if (access(KSM_DIR "run", W_OK))
		ksft_exit_skip("needs root and /sys/kernel/mm/ksm\n");
	ksm_save_knobs(knobs);
	ksft_print_header();
	ksft_set_plan(4);

	/* Start from empty trees: run=2 unmerges whatever is left. */
	ksm_set("run", 2);
	caches_active(base);
	if (ksm_set("max_page_sharing", SHARING_MAX))
		ksft_print_msg("cannot set max_page_sharing (trees not empty?)\n");
	ksm_set("use_zero_pages", 1);
	ksm_set("pages_to_scan", 10000);
	ksm_set("sleep_millisecs", 0);
	ksm_set("run", 1);
	scans0 = ksm_get("full_scans");

	end = time(NULL) + seconds;
	srand(getpid());
	while (time(NULL) < end && !bad) {
		while (live < WORKERS) {
			pid = fork();
			if (pid == 0)
				_exit(worker(end, rand(), spawned % 3 == 0));
			if (pid < 0)
				break;
			live++;
			spawned++;
		}
		pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			live--;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				ksft_print_msg("worker %d: %s %d\n", pid,
					       WIFEXITED(status) ? "exit" : "signal",
					       WIFEXITED(status) ? WEXITSTATUS(status) :
					       WTERMSIG(status));
				bad = 1;
			}
			continue;
		}
		v = ksm_get("pages_sharing");
		peak_sharing = v > peak_sharing ? v : peak_sharing;
		v = ksm_get("stable_node_chains");
		peak_chains = v > peak_chains ? v : peak_chains;
		v = ksm_get("ksm_zero_pages");
		peak_zero = v > peak_zero ? v : peak_zero;
		usleep(10000);
	}
	while (live > 0 && wait(&status) > 0) {
		live--;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad = 1;
	}
	rounds = ksm_get("full_scans") - scans0;
	ksft_print_msg("%ld processes in %d s, %ld full scans; peaks: pages_sharing %ld, stable_node_chains %ld, ksm_zero_pages %ld\n",
		       spawned, seconds, rounds, peak_sharing, peak_chains,
		       peak_zero);
	if (bad)
		why = "a process saw its memory change under it";
	else if (peak_sharing == 0)
		why = "nothing was merged during the race";
	else if (rounds < 3)
		why = "ksmd made fewer than 3 full scans during the race";
	ksft_test_result(!why, "race: content intact across exit/munmap/mremap/mprotect/fork/DONTNEED%s%s\n",
			 why ? ": " : "", why ? why : "");

	/*
	 * Every user is gone. ksmd (still at full speed) drops the exited
	 * mms' items when it reaches their slots; with no mm left it has no
	 * full scans to make, so poll for up to a minute. The merged-page
	 * counters fall as the items go.
	 */
	print_counters("right after the race");
	stop = time(NULL) + 60;
	do {
		left = NULL;
		for (c = 0; c < 4 && !left; c++) {
			v = ksm_get(counters[c]);
			if (v)
				left = counters[c];
		}
		if (left)
			usleep(10000);
	} while (left && time(NULL) < stop);
	print_counters("once the exited mms were dropped");
	ksft_test_result(!left, "race: page counters back to 0 once ksmd dropped the exited mms%s%s (%ld)\n",
			 left ? ": " : "", left ? left : "", left ? v : 0L);

	/*
	 * Stale stable nodes (their KSM page freed with its last user) are
	 * pruned by stable tree lookups or by run=2, as in mainline; after
	 * run=2 nothing at all may remain: counters, stable node chains and
	 * dups, and slab objects beyond the baseline.
	 */
	ksm_set("run", 2);
	left = nonzero_counter(&v);
	print_counters("after run=2");
	ksft_test_result(!left, "race: all counters 0 once unmerged%s%s (%ld)\n",
			 left ? ": " : "", left ? left : "", left ? v : 0L);

	caches_active(after);
	left = NULL;
	for (c = 0; c < NCACHES; c++) {
		ksft_print_msg("slab %s: %ld active before, %ld after\n",
			       caches[c], base[c], after[c]);
		if (!left && (base[c] < 0 || after[c] < 0))
			left = "";
		else if (!left && after[c] > base[c])
			left = caches[c];
	}
	if (left && !*left)
		ksft_test_result_skip("race: no KSM objects left in the slab caches (no /proc/slabinfo with distinct ksm caches: needs SLUB_DEBUG and slab_nomerge)\n");
	else
		ksft_test_result(!left, "race: no KSM objects left in the slab caches%s%s\n",
				 left ? ": leak in " : "", left ? left : "");

	ksm_restore_knobs();
	ksft_finished();
}
