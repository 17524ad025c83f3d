// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_stress: a seeded, replayable random stress of KSM.
 *
 * A few worker processes own mergeable anonymous ranges whose pages hold
 * one of a small set of patterns (so that many pages are identical across
 * processes), an all-zero page, or a pattern of their own. Each worker
 * keeps a record of what every page must hold and checks it all the time
 * while it rewrites pages, forks, remaps, mremaps, mprotects, drops pages
 * with MADV_DONTNEED, unmerges and re-advises, migrates pages between the
 * two NUMA nodes, pages them out to zram swap and exits to be respawned.
 * Worker 0 uses prctl(PR_SET_MEMORY_MERGE) instead of MADV_MERGEABLE.
 * Meanwhile the main process runs ksmd at full speed and flips its knobs:
 * use_zero_pages, smart_scan, and, around run=2, max_page_sharing and
 * merge_across_nodes.
 *
 * Every random choice comes from --seed, printed first as "# seed S": the
 * same seed gives each worker the same sequence of operations (the timing
 * against ksmd differs from run to run, of course).
 *
 * Usage: ksm_stress [--seconds N] [--seed S] [--procs N]
 * Runs as root; prints KTAP.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "ksm_common.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE	67
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#define MF_MOVE_ALL		(1 << 2)	/* MPOL_MF_MOVE_ALL */

#define MAX_PROCS	32
#define NR_RANGES	4
#define MIN_PAGES	8
#define MAX_PAGES	96
#define MAX_SUB		16
#define NR_PATTERNS	6		/* ids 1..NR_PATTERNS; id 0 is zero */
#define HIST		32
#define MAX_REPORTS	20
#define EXIT_ONE_IN	1500		/* chance per operation to exit */
#define UNIQUE		(1ULL << 63)
#define CHILD		(1ULL << 62)

enum op {
	OP_VERIFY, OP_WRITE_DUP, OP_WRITE_UNIQUE, OP_FORK, OP_REMAP,
	OP_MREMAP, OP_MPROTECT, OP_DONTNEED, OP_UNMERGE, OP_MIGRATE,
	OP_PAGEOUT, OP_EXIT, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"verify", "write-dup", "write-unique", "fork", "munmap+mmap",
	"mremap", "mprotect", "dontneed", "unmerge+merge", "move_pages",
	"pageout", "exit+respawn",
};

/* Relative weights; OP_EXIT is drawn apart (EXIT_ONE_IN). */
static const int op_weight[NR_OPS] = {
	[OP_VERIFY] = 20, [OP_WRITE_DUP] = 24, [OP_WRITE_UNIQUE] = 8,
	[OP_FORK] = 2, [OP_REMAP] = 3, [OP_MREMAP] = 3, [OP_MPROTECT] = 4,
	[OP_DONTNEED] = 5, [OP_UNMERGE] = 3, [OP_MIGRATE] = 4,
	[OP_PAGEOUT] = 3,
};

/* Shared by all processes of the test (MAP_SHARED, so never merged). */
struct shared {
	volatile int stop;
	long ops[NR_OPS];
	long mismatches;	/* pages that did not hold what they must */
	long errors;		/* unexpected syscall failures */
	long crashes;		/* workers or children that died badly */
	long pages_moved;	/* pages move_pages took to the other node */
	long move_errs;		/* move_pages returned an error (ignored) */
	long pageout_pages;	/* pages MADV_PAGEOUT was asked for */
	long swapped_pages;	/* of them, found on swap afterwards */
	long respawns;
};

struct range {
	char *addr;
	int npages;
	uint64_t exp[MAX_PAGES];
};

struct hist {
	unsigned char op, ri;
	short start, n;
	uint64_t id;
};

static struct shared *sh;
static long psize;
static uint64_t seed;
static int have_swap, have_node1;
static char *pat[NR_PATTERNS + 1];	/* pat[0] is the zero page */
static char *scratch;

/* Worker state: each worker is a process of its own. */
static struct range ranges[NR_RANGES];
static struct hist hist[HIST];
static unsigned int nhist;
static int wid, wgen, in_child, merge_any;
static uint64_t wrng, uniq;

static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	ssize_t w;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	w = write(STDOUT_FILENO, buf, n);
	(void)w;
}

/* splitmix64 */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int rnd(uint64_t *s, unsigned int n)
{
	return n ? rng_next(s) % n : 0;
}

static void count(long *c, long n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* The content of a page with the given id: the id, then a mix of it. */
static void fill(char *buf, uint64_t id)
{
	uint64_t *w = (uint64_t *)buf;
	long i;

	if (!id) {
		memset(buf, 0, psize);
		return;
	}
	w[0] = id;
	for (i = 1; i < psize / 8; i++)
		w[i] = id * 0x9e3779b97f4a7c15ULL + i * 0xd6e8feb86659fd93ULL;
}

static const char *expected(uint64_t id)
{
	if (id <= NR_PATTERNS)
		return pat[id];
	fill(scratch, id);
	return scratch;
}

static uint64_t unique_id(void)
{
	return UNIQUE | (in_child ? CHILD : 0) | (uint64_t)wid << 48 |
	       (uint64_t)(wgen & 0xffff) << 32 | (++uniq & 0xffffffff);
}

/* A shared pattern (one in four of them the zero page) or a unique one. */
static uint64_t random_id(int unique)
{
	if (unique)
		return unique_id();
	if (!rnd(&wrng, 4))
		return 0;
	return 1 + rnd(&wrng, NR_PATTERNS);
}

static void note(int op, int ri, int start, int n, uint64_t id)
{
	struct hist *h = &hist[nhist++ % HIST];

	h->op = op;
	h->ri = ri;
	h->start = start;
	h->n = n;
	h->id = id;
}

static void unexpected(const char *what, int err)
{
	long n = __atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);

	if (n <= MAX_REPORTS)
		say("# ERROR worker %d gen %d%s: %s: %s\n", wid, wgen,
		    in_child ? " (fork child)" : "", what, strerror(err));
}

static void hexbytes(char *out, const unsigned char *p, int n)
{
	int i;

	out[0] = 0;
	for (i = 0; i < n; i++)
		sprintf(out + (i ? 3 * i - 1 : 0), i ? " %02x" : "%02x", p[i]);
}

static void write_page(struct range *r, int i, uint64_t id)
{
	memcpy(r->addr + i * psize, expected(id), psize);
	r->exp[i] = id;
}

static void report(int ri, int i)
{
	struct range *r = &ranges[ri];
	const unsigned char *a = (void *)(r->addr + i * psize);
	const unsigned char *e = (const void *)expected(r->exp[i]);
	char eb[16 * 3 + 1], ab[16 * 3 + 1];
	uint64_t got;
	unsigned int k;
	long n, off;

	n = __atomic_add_fetch(&sh->mismatches, 1, __ATOMIC_RELAXED);
	if (n > MAX_REPORTS)
		return;
	for (off = 0; off < psize && a[off] == e[off]; off++)
		;
	memcpy(&got, a, sizeof(got));
	hexbytes(eb, e, 16);
	hexbytes(ab, a, 16);
	say("# MISMATCH worker %d gen %d pid %d%s range %d page %d (%p): expected id %#llx, first bytes expected [%s] actual [%s] (actual word 0 %#llx, first difference at byte %ld)\n",
	    wid, wgen, getpid(), in_child ? " (fork child)" : "", ri, i,
	    (void *)a, (unsigned long long)r->exp[i], eb, ab,
	    (unsigned long long)got, off);
	for (k = nhist > HIST ? nhist - HIST : 0; k < nhist; k++) {
		struct hist *h = &hist[k % HIST];

		if (h->ri != ri)
			continue;
		say("#   history: %s range %d pages %d+%d id %#llx%s\n",
		    op_names[h->op], h->ri, h->start, h->n,
		    (unsigned long long)h->id,
		    i >= h->start && i < h->start + h->n ? " <-" : "");
	}
}

static int verify(int ri, int start, int n)
{
	struct range *r = &ranges[ri];
	int i, bad = 0;

	for (i = start; i < start + n; i++) {
		if (!memcmp(r->addr + i * psize, expected(r->exp[i]), psize))
			continue;
		report(ri, i);
		bad++;
		/* Carry on from a known state. */
		write_page(r, i, unique_id());
	}
	return bad;
}

static void verify_all(void)
{
	int ri;

	for (ri = 0; ri < NR_RANGES; ri++)
		verify(ri, 0, ranges[ri].npages);
}

/* First contents: mostly shared patterns, some zero, some left unfaulted. */
static void populate(struct range *r, int start, int n)
{
	int i, c;

	for (i = start; i < start + n; i++) {
		c = rnd(&wrng, 20);
		if (c < 2)
			r->exp[i] = 0;		/* never touched: reads zero */
		else
			write_page(r, i, random_id(c < 5));
	}
}

static int advise(char *p, long len, int advice)
{
	if (merge_any && advice == MADV_MERGEABLE && !rnd(&wrng, 2))
		return 0;	/* the prctl already covers new mappings */
	if (madvise(p, len, advice)) {
		unexpected(advice == MADV_MERGEABLE ? "MADV_MERGEABLE" :
			   "MADV_UNMERGEABLE", errno);
		return -1;
	}
	return 0;
}

static void map_range(int ri)
{
	struct range *r = &ranges[ri];
	int n = MIN_PAGES + rnd(&wrng, MAX_PAGES - MIN_PAGES + 1);
	char *p;

	p = mmap(NULL, n * psize, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		unexpected("mmap", errno);
		_exit(2);
	}
	r->addr = p;
	r->npages = n;
	advise(p, n * psize, MADV_MERGEABLE);
	populate(r, 0, n);
}

static void pick_sub(struct range *r, int max, int *start, int *n)
{
	*start = rnd(&wrng, r->npages);
	*n = 1 + rnd(&wrng, r->npages - *start < max ? r->npages - *start : max);
}

static void op_write(int ri, int unique)
{
	struct range *r = &ranges[ri];
	int start, n, i;

	pick_sub(r, 8, &start, &n);
	for (i = start; i < start + n; i++) {
		write_page(r, i, random_id(unique));
		note(unique ? OP_WRITE_UNIQUE : OP_WRITE_DUP, ri, i, 1,
		     r->exp[i]);
	}
	verify(ri, start, n);
}

static void op_fork(int ri)
{
	struct range *r = &ranges[ri];
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		unexpected("fork", errno);
		return;
	}
	if (pid == 0) {
		in_child = 1;
		wrng ^= 0x5851f42d4c957f2dULL;
		/* What we inherited, then writes of our own, then again. */
		verify_all();
		op_write(ri, rnd(&wrng, 2));
		usleep(rnd(&wrng, 20000));
		op_write(ri, 0);
		verify_all();
		_exit(0);
	}
	/* Write on our side of the COW while the child lives. */
	op_write(ri, 0);
	if (waitpid(pid, &status, 0) != pid) {
		unexpected("waitpid", errno);
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		count(&sh->crashes, 1);
		say("# CRASH fork child of worker %d gen %d: status %#x\n",
		    wid, wgen, status);
	}
	note(OP_FORK, ri, 0, r->npages, 0);
	verify(ri, 0, r->npages);
}

static void op_remap(int ri)
{
	struct range *r = &ranges[ri];
	int start, n;
	char *p;

	if (rnd(&wrng, 2)) {
		munmap(r->addr, r->npages * psize);
		map_range(ri);
		note(OP_REMAP, ri, 0, r->npages, 0);
		verify(ri, 0, r->npages);
		return;
	}
	/* A hole punched and mapped again in place. */
	pick_sub(r, MAX_SUB, &start, &n);
	p = r->addr + start * psize;
	if (munmap(p, n * psize)) {
		unexpected("munmap", errno);
		return;
	}
	if (mmap(p, n * psize, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p) {
		unexpected("mmap MAP_FIXED", errno);
		_exit(2);
	}
	advise(p, n * psize, MADV_MERGEABLE);
	populate(r, start, n);
	note(OP_REMAP, ri, start, n, 0);
	verify(ri, start, n);
}

static void op_mremap(int ri)
{
	struct range *r = &ranges[ri];
	long len = r->npages * psize;
	char *dst, *p;
	int i;

	dst = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dst == MAP_FAILED) {
		unexpected("mmap", errno);
		return;
	}
	p = mremap(r->addr, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (p == MAP_FAILED && errno == EFAULT) {
		/* The range is split into several VMAs: one page at a time. */
		for (i = 0; i < r->npages; i++) {
			p = mremap(r->addr + i * psize, psize, psize,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   dst + i * psize);
			if (p == MAP_FAILED) {
				unexpected("mremap of a page", errno);
				_exit(2);
			}
		}
		p = dst;
	}
	if (p != dst) {
		unexpected("mremap", errno);
		munmap(dst, len);
		return;
	}
	r->addr = dst;
	note(OP_MREMAP, ri, 0, r->npages, 0);
	verify(ri, 0, r->npages);
}

static void op_mprotect(int ri)
{
	struct range *r = &ranges[ri];
	int start, n, ro = rnd(&wrng, 2);
	char *p;

	pick_sub(r, MAX_SUB, &start, &n);
	p = r->addr + start * psize;
	if (mprotect(p, n * psize, ro ? PROT_READ : PROT_NONE)) {
		unexpected("mprotect", errno);
		return;
	}
	usleep(rnd(&wrng, 3000));
	if (ro)
		verify(ri, start, n);
	if (mprotect(p, n * psize, PROT_READ | PROT_WRITE)) {
		unexpected("mprotect back", errno);
		_exit(2);
	}
	note(OP_MPROTECT, ri, start, n, ro);
	verify(ri, start, n);
}

static void op_dontneed(int ri)
{
	struct range *r = &ranges[ri];
	int start, n, i;

	pick_sub(r, MAX_SUB, &start, &n);
	if (madvise(r->addr + start * psize, n * psize, MADV_DONTNEED)) {
		unexpected("MADV_DONTNEED", errno);
		return;
	}
	for (i = start; i < start + n; i++)
		r->exp[i] = 0;
	note(OP_DONTNEED, ri, start, n, 0);
	verify(ri, start, n);
}

static void op_unmerge(int ri)
{
	struct range *r = &ranges[ri];
	int start = 0, n = r->npages;
	char *p;

	if (rnd(&wrng, 2))
		pick_sub(r, MAX_SUB, &start, &n);
	p = r->addr + start * psize;
	if (madvise(p, n * psize, MADV_UNMERGEABLE)) {
		if (errno != ENOMEM && errno != EAGAIN)
			unexpected("MADV_UNMERGEABLE", errno);
	}
	note(OP_UNMERGE, ri, start, n, 0);
	verify(ri, start, n);
	if (rnd(&wrng, 2))
		op_write(ri, 0);
	if (madvise(p, n * psize, MADV_MERGEABLE))
		unexpected("MADV_MERGEABLE again", errno);
	verify(ri, start, n);
}

static void op_migrate(int ri)
{
	struct range *r = &ranges[ri];
	void *pages[MAX_SUB];
	int nodes[MAX_SUB], status[MAX_SUB], before[MAX_SUB];
	int start, n, i, to = rnd(&wrng, 2), mixed = !rnd(&wrng, 4);
	long rc;

	pick_sub(r, MAX_SUB, &start, &n);
	for (i = 0; i < n; i++) {
		pages[i] = r->addr + (start + i) * psize;
		nodes[i] = mixed ? (int)rnd(&wrng, 2) : to;
		status[i] = -1;
		before[i] = -1;
	}
	/* Where they are now (errors are per page, in before[]). */
	syscall(SYS_move_pages, 0, n, pages, NULL, before, 0);
	rc = syscall(SYS_move_pages, 0, n, pages, nodes, status, MF_MOVE_ALL);
	if (rc < 0) {
		if (errno != EBUSY && errno != EAGAIN && errno != ENOMEM)
			unexpected("move_pages", errno);
		count(&sh->move_errs, 1);
	} else {
		for (i = 0; i < n; i++)
			if (before[i] >= 0 && before[i] != nodes[i] &&
			    status[i] == nodes[i])
				count(&sh->pages_moved, 1);
	}
	note(OP_MIGRATE, ri, start, n, to);
	verify(ri, start, n);
}

/* How many of the n pages at p are out on swap (pagemap bit 62)? */
static int pages_on_swap(const char *p, int n)
{
	uint64_t ent[MAX_PAGES];
	int fd = open("/proc/self/pagemap", O_RDONLY);
	int i, out = 0;
	ssize_t got;

	if (fd < 0)
		return 0;
	got = pread(fd, ent, n * sizeof(ent[0]),
		    (uintptr_t)p / psize * sizeof(ent[0]));
	close(fd);
	for (i = 0; i < got / (ssize_t)sizeof(ent[0]); i++)
		out += !!(ent[i] & (1ULL << 62));
	return out;
}

static void op_pageout(int ri)
{
	struct range *r = &ranges[ri];
	int start = 0, n = r->npages;

	if (rnd(&wrng, 2))
		pick_sub(r, MAX_SUB, &start, &n);
	if (madvise(r->addr + start * psize, n * psize, MADV_PAGEOUT)) {
		unexpected("MADV_PAGEOUT", errno);
	} else {
		count(&sh->pageout_pages, n);
		count(&sh->swapped_pages,
		      pages_on_swap(r->addr + start * psize, n));
	}
	note(OP_PAGEOUT, ri, start, n, 0);
	if (rnd(&wrng, 2))
		verify(ri, start, n);
}

static int pick_op(void)
{
	int total = 0, op, x;

	for (op = 0; op < NR_OPS; op++)
		if ((op != OP_MIGRATE || have_node1) &&
		    (op != OP_PAGEOUT || have_swap))
			total += op_weight[op];
	x = rnd(&wrng, total);
	for (op = 0; op < NR_OPS; op++) {
		if ((op == OP_MIGRATE && !have_node1) ||
		    (op == OP_PAGEOUT && !have_swap))
			continue;
		if (x < op_weight[op])
			return op;
		x -= op_weight[op];
	}
	return OP_VERIFY;
}

static void __attribute__((noreturn)) worker(int id, int gen)
{
	unsigned long nops = 0;
	int ri, op;

	wid = id;
	wgen = gen;
	wrng = seed ^ (0x2545f4914f6cdd1dULL * (id + 1)) ^
	       (0x9e3779b97f4a7c15ULL * (gen + 1));
	rng_next(&wrng);
	if (id == 0) {
		if (prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0))
			unexpected("prctl(PR_SET_MEMORY_MERGE)", errno);
		else
			merge_any = 1;
	}
	for (ri = 0; ri < NR_RANGES; ri++)
		map_range(ri);

	while (!sh->stop) {
		op = pick_op();
		ri = rnd(&wrng, NR_RANGES);
		switch (op) {
		case OP_VERIFY:
			verify(ri, 0, ranges[ri].npages);
			break;
		case OP_WRITE_DUP:
			op_write(ri, 0);
			break;
		case OP_WRITE_UNIQUE:
			op_write(ri, 1);
			break;
		case OP_FORK:
			op_fork(ri);
			break;
		case OP_REMAP:
			op_remap(ri);
			break;
		case OP_MREMAP:
			op_mremap(ri);
			break;
		case OP_MPROTECT:
			op_mprotect(ri);
			break;
		case OP_DONTNEED:
			op_dontneed(ri);
			break;
		case OP_UNMERGE:
			op_unmerge(ri);
			break;
		case OP_MIGRATE:
			op_migrate(ri);
			break;
		case OP_PAGEOUT:
			op_pageout(ri);
			break;
		}
		count(&sh->ops[op], 1);
		if (!(++nops % 64))
			verify_all();
		if (!rnd(&wrng, EXIT_ONE_IN)) {
			/* Leave with everything mapped, while ksmd scans. */
			verify_all();
			count(&sh->ops[OP_EXIT], 1);
			_exit(0);
		}
		usleep(rnd(&wrng, 2000));
	}
	verify_all();
	_exit(0);
}

/* ---- The main process: workers, knobs, counters. ---- */

static const char *const knobs[] = {
	"max_page_sharing", "merge_across_nodes", "use_zero_pages",
	"smart_scan", "pages_to_scan", "sleep_millisecs", "run",
};
#define NR_KNOBS (sizeof(knobs) / sizeof(knobs[0]))
static char saved[NR_KNOBS][64];
static int have_saved[NR_KNOBS];

static long ctl_zero_flips, ctl_smart_flips, ctl_run2, ctl_mps_ok,
	    ctl_mps_busy, ctl_man_ok, ctl_man_busy, ctl_bad;

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Does /proc/swaps list a zram device? Sets one up (128 MiB) if not. */
static int zram_swap_ready(void)
{
	char line[256];
	FILE *f;
	int found = 0;

	if (system("grep -q zram0 /proc/swaps 2>/dev/null") == 0)
		return 1;
	if (access("/sys/block/zram0", F_OK))
		system("modprobe zram >/dev/null 2>&1");
	if (write_file("/sys/block/zram0/disksize", "128M"))
		return 0;
	if (system("mkswap /dev/zram0 >/dev/null 2>&1 && swapon /dev/zram0 2>/dev/null"))
		return 0;
	f = fopen("/proc/swaps", "r");
	while (f && fgets(line, sizeof(line), f))
		found |= !!strstr(line, "zram0");
	if (f)
		fclose(f);
	return found;
}

static long vmstat(const char *key)
{
	char name[64];
	long v, ret = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &v) == 2) {
		if (!strcmp(name, key)) {
			ret = v;
			break;
		}
	}
	fclose(f);
	return ret;
}

static void print_delta(const char *what, const char *key, long before)
{
	long now = vmstat(key);

	if (now < 0 || before < 0)
		ksm_print_msg("%s: n/a (no such /proc/vmstat line: CONFIG_VM_EVENT_COUNTERS off?)\n",
			      what);
	else
		ksm_print_msg("%s: %ld\n", what, now - before);
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
		say("# ERROR writing %ld to %s: %s\n", !v, name, strerror(-err));
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

static void save_knobs(void)
{
	unsigned int i;

	for (i = 0; i < NR_KNOBS; i++)
		have_saved[i] = !ksm_read(knobs[i], saved[i], sizeof(saved[i]));
}

/* With run=2 (the shaping knobs need it), in an order that works. */
static void restore_knobs(void)
{
	unsigned int i;
	int err;

	ksm_set("run", 2);
	for (i = 0; i < NR_KNOBS; i++) {
		if (!have_saved[i])
			continue;
		err = ksm_write(knobs[i], saved[i]);
		if (err)
			say("# cannot restore %s to %s: %s\n", knobs[i],
			    saved[i], strerror(-err));
	}
}

static int counters_zero(int timeout_s, long v[4])
{
	static const char *const names[] = {
		"pages_shared", "pages_sharing", "pages_unshared",
		"ksm_zero_pages",
	};
	time_t end = time(NULL) + timeout_s;
	int i, zero;

	do {
		zero = 1;
		for (i = 0; i < 4; i++) {
			v[i] = ksm_get(names[i]);
			zero &= !v[i];
		}
		if (zero)
			return 1;
		usleep(100000);
	} while (time(NULL) < end);
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--seconds N] [--seed S] [--procs N]\n",
		prog);
	exit(2);
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
	long cnt[4];
	long cow0, pswpout0, pswpin0, mig0, scans = 0, last_scans;
	pid_t pids[MAX_PROCS];
	int gens[MAX_PROCS];
	int procs = 4, seeded = 0, c, i, status, live, zero_ok, run2_err;
	uint64_t crng;
	time_t end;
	pid_t pid;

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
	ktap_plan(5);

	if (geteuid() || ksm_get("run") < 0) {
		ksm_print_msg("needs root and /sys/kernel/mm/ksm\n");
		for (i = 0; i < 5; i++)
			ktap_skip("ksm_stress");
		return KSFT_SKIP;
	}

	psize = sysconf(_SC_PAGESIZE);
	crng = seed;
	rng_next(&crng);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	scratch = malloc(psize);
	if (sh == MAP_FAILED || !scratch) {
		perror("setup");
		return KSFT_FAIL;
	}
	for (i = 0; i <= NR_PATTERNS; i++) {
		pat[i] = malloc(psize);
		if (!pat[i])
			return KSFT_FAIL;
		fill(pat[i], i);
	}
	have_node1 = !access("/sys/devices/system/node/node1", F_OK);
	have_swap = zram_swap_ready();
	ksm_print_msg("%d workers for %ld s; NUMA node 1: %s; zram swap: %s\n",
		      procs, seconds, have_node1 ? "yes" : "no (no migration)",
		      have_swap ? "yes" : "no (no pageout)");

	save_knobs();
	if (ksm_set("pages_to_scan", 10000) || ksm_set("sleep_millisecs", 0))
		ksm_print_msg("cannot set ksmd to full speed\n");
	ksm_set("run", 1);

	cow0 = vmstat("cow_ksm");
	pswpout0 = vmstat("pswpout");
	pswpin0 = vmstat("pswpin");
	mig0 = vmstat("pgmigrate_success");
	last_scans = ksm_get("full_scans");

	for (i = 0; i < procs; i++) {
		gens[i] = 0;
		pids[i] = spawn(i, 0);
	}

	end = time(NULL) + seconds;
	while (time(NULL) < end) {
		usleep(50000);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < procs && pids[i] != pid; i++)
				;
			if (i == procs)
				continue;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				count(&sh->crashes, 1);
				say("# CRASH worker %d gen %d: status %#x\n",
				    i, gens[i], status);
			}
			pids[i] = spawn(i, ++gens[i]);
			count(&sh->respawns, 1);
		}
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
	do {
		for (live = 0, i = 0; i < procs; i++) {
			if (pids[i] <= 0)
				continue;
			pid = waitpid(pids[i], &status, WNOHANG);
			if (pid == 0) {
				live++;
				continue;
			}
			if (pid == pids[i] &&
			    (!WIFEXITED(status) || WEXITSTATUS(status))) {
				count(&sh->crashes, 1);
				say("# CRASH worker %d gen %d: status %#x\n",
				    i, gens[i], status);
			}
			pids[i] = 0;
		}
		if (live)
			usleep(50000);
	} while (live && time(NULL) < end);
	for (i = 0; i < procs; i++) {
		if (pids[i] > 0) {
			say("# worker %d (pid %d) did not exit: killing it\n",
			    i, pids[i]);
			count(&sh->crashes, 1);
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status, 0);
		}
	}

	run2_err = ksm_set("run", 2);
	if (run2_err)
		say("# ERROR final run=2: %s\n", strerror(-run2_err));
	zero_ok = counters_zero(60, cnt);

	ksm_print_msg("operations:\n");
	for (i = 0; i < NR_OPS; i++)
		ksm_print_msg("  %-14s %ld\n", op_names[i], sh->ops[i]);
	ksm_print_msg("control: use_zero_pages flips %ld, smart_scan flips %ld, run=2 cycles %ld\n",
		      ctl_zero_flips, ctl_smart_flips, ctl_run2);
	ksm_print_msg("control: max_page_sharing set %ld, EBUSY %ld; merge_across_nodes set %ld, EBUSY %ld; bad writes %ld\n",
		      ctl_mps_ok, ctl_mps_busy, ctl_man_ok, ctl_man_busy,
		      ctl_bad);
	ksm_print_msg("merges: max pages_sharing %ld, ksm_zero_pages max %ld min %ld, full scans %ld\n",
		      max_sharing, max_zero, min_zero, scans);
	print_delta("COW breaks (vmstat cow_ksm)", "cow_ksm", cow0);
	print_delta("swaps (vmstat pswpout)", "pswpout", pswpout0);
	print_delta("swap-ins (vmstat pswpin)", "pswpin", pswpin0);
	print_delta("migrations (vmstat pgmigrate_success)",
		    "pgmigrate_success", mig0);
	ksm_print_msg("swaps seen: MADV_PAGEOUT on %ld pages, %ld of them on swap right after\n",
		      sh->pageout_pages, sh->swapped_pages);
	ksm_print_msg("migrations seen: move_pages took %ld pages to the other node, %ld calls failed with EBUSY/EAGAIN/ENOMEM\n",
		      sh->pages_moved, sh->move_errs);
	ksm_print_msg("respawns %ld, mismatches %ld, unexpected errors %ld, crashes %ld\n",
		      sh->respawns, sh->mismatches, sh->errors, sh->crashes);
	ksm_print_msg("after run=2: pages_shared %ld, pages_sharing %ld, pages_unshared %ld, ksm_zero_pages %ld, stable_node_chains %ld, stable_node_dups %ld\n",
		      cnt[0], cnt[1], cnt[2], cnt[3],
		      ksm_get("stable_node_chains"), ksm_get("stable_node_dups"));

	restore_knobs();

	ktap_result(!sh->mismatches, "no content mismatch");
	ktap_result(!sh->crashes && !sh->errors,
		    "workers ran without crashes or unexpected syscall errors");
	ktap_result(!ctl_bad, "knob writes succeeded or were refused with EBUSY");
	ktap_result(max_sharing > 0, "ksmd merged pages during the run");
	ktap_result(!run2_err && zero_ok, "counters back to 0");
	return ktap_exit();
}
