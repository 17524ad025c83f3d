// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_stress workers: each is a process of its own that owns NR_RANGES
 * mergeable anonymous ranges, keeps a record of what every page of them
 * must hold and checks it all the time while it does random operations
 * on them (see op_names[]). Any page that does not hold what the record
 * says is reported by worker, range and page, with the operations that
 * touched that range last. This file has the record, its checks and the
 * operations of one thread; ksm_stress_worker.c the loop that draws them.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "ksm_stress.h"

#define MF_MOVE_ALL		(1 << 2)	/* MPOL_MF_MOVE_ALL */
#define HIST		32
#define MAX_REPORTS	20
#define UNIQUE		(1ULL << 63)
#define CHILD		(1ULL << 62)

const char *const op_names[NR_OPS] = {
	"verify", "write-dup", "write-unique", "fork", "munmap+mmap",
	"mremap", "mprotect", "dontneed", "unmerge+merge", "move_pages",
	"pageout", "threads", "uffd-wp", "/proc/pid/mem", "thp-range",
	"exit+respawn",
};


struct hist {
	unsigned char op, ri;
	short start, n;
	uint64_t id;
};

struct shared *sh;
long psize;
uint64_t seed;
int have_swap, have_node1, have_thp;
char memcg_procs[256];
static char *pat[NR_PATTERNS + 1];	/* pat[0] is the zero page */
static __thread char *scratch;

/*
 * Worker state. Worker threads (OP_THREADS) have an rng of their own and
 * own a share of one range's pages; they leave the history alone.
 */
struct range ranges[NR_RANGES];
static struct hist hist[HIST];
static unsigned int nhist;
int wid, wgen, in_child, no_uffd, in_memcg;
int merge_any;
__thread int in_thread;
__thread uint64_t wrng;
static uint64_t uniq;

void init_patterns(void)
{
	int i;

	for (i = 0; i <= NR_PATTERNS; i++) {
		pat[i] = malloc(psize);
		if (!pat[i])
			exit(1);
		fill(pat[i], i);
	}
}

void say(const char *fmt, ...)
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
uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

unsigned int rnd(uint64_t *s, unsigned int n)
{
	return n ? rng_next(s) % n : 0;
}

void count(long *c, long n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* The content of a page with the given id: the id, then a mix of it. */
void fill(char *buf, uint64_t id)
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

const char *expected(uint64_t id)
{
	if (id <= NR_PATTERNS)
		return pat[id];
	if (!scratch) {
		scratch = malloc(psize);
		if (!scratch)
			_exit(2);
	}
	fill(scratch, id);
	return scratch;
}

static uint64_t unique_id(void)
{
	return UNIQUE | (in_child ? CHILD : 0) | (uint64_t)wid << 48 |
	       (uint64_t)(wgen & 0xffff) << 32 |
	       (__atomic_add_fetch(&uniq, 1, __ATOMIC_RELAXED) & 0xffffffff);
}

/* A shared pattern (one in four of them the zero page) or a unique one. */
uint64_t random_id(int unique)
{
	if (unique)
		return unique_id();
	if (!rnd(&wrng, 4))
		return 0;
	return 1 + rnd(&wrng, NR_PATTERNS);
}

void note(int op, int ri, int start, int n, uint64_t id)
{
	struct hist *h;

	if (in_thread)
		return;
	h = &hist[nhist++ % HIST];
	h->op = op;
	h->ri = ri;
	h->start = start;
	h->n = n;
	h->id = id;
}

void unexpected(const char *what, int err)
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

void write_page(struct range *r, int i, uint64_t id)
{
	memcpy(r->addr + i * psize, expected(id), psize);
	r->exp[i] = id;
}

void report(int ri, int i)
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
	say("# MISMATCH worker %d gen %d pid %d%s%s range %d page %d (%p): expected id %#llx, first bytes expected [%s] actual [%s] (actual word 0 %#llx, first difference at byte %ld)\n",
	    wid, wgen, getpid(), in_child ? " (fork child)" : "",
	    in_thread ? " (thread)" : "", ri, i,
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

int verify(int ri, int start, int n)
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

void verify_all(void)
{
	int ri;

	for (ri = 0; ri < NR_RANGES; ri++)
		verify(ri, 0, ranges[ri].npages);
}

/* First contents: mostly shared patterns, some zero, some left unfaulted. */
void populate(struct range *r, int start, int n)
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

int advise(char *p, long len, int advice)
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

/* Map range @ri anew at a random size, mergeable and populated. */
void map_range(int ri)
{
	struct range *r = &ranges[ri];
	int n = MIN_PAGES + rnd(&wrng, MAX_PAGES - MIN_PAGES + 1);
	char *p;

	/*
	 * In the memcg that may swap, every range is a full RANGE_PAGES:
	 * four of them touch more than memory.max, whatever the seed, so
	 * the load always meets the limit and has to swap.
	 */
	if (in_memcg && sh->memcg_swap)
		n = RANGE_PAGES;
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

void pick_sub(struct range *r, int max, int *start, int *n)
{
	*start = rnd(&wrng, r->npages);
	*n = 1 + rnd(&wrng, r->npages - *start < max ? r->npages - *start : max);
}

void op_write(int ri, int unique)
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

/* Fork a child that checks and writes the range while we write ours. */
void op_fork(int ri)
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
	if (died_badly(status, in_memcg)) {
		count(&sh->crashes, 1);
		say("# CRASH fork child of worker %d gen %d: status %#x\n",
		    wid, wgen, status);
	}
	note(OP_FORK, ri, 0, r->npages, 0);
	verify(ri, 0, r->npages);
}

/* Map the range anew, or punch a hole in it and map that again. */
void op_remap(int ri)
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

/* Move the range elsewhere with mremap(), page by page if split. */
void op_mremap(int ri)
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

/* Make part of the range read-only or inaccessible for a while. */
void op_mprotect(int ri)
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

/* Drop part of the range with MADV_DONTNEED: it reads zeroes then. */
void op_dontneed(int ri)
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

/* MADV_UNMERGEABLE on the range or part of it, then mergeable again. */
void op_unmerge(int ri)
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

void op_migrate(int ri, int check)
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
	sys_move_pages(n, pages, NULL, before, 0);
	rc = sys_move_pages(n, pages, nodes, status, MF_MOVE_ALL);
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
	if (check)
		verify(ri, start, n);
}

void op_pageout(int ri, int check)
{
	struct range *r = &ranges[ri];
	int start = 0, n = r->npages, out;

	if (rnd(&wrng, 2))
		pick_sub(r, MAX_SUB, &start, &n);
	if (madvise(r->addr + start * psize, n * psize, MADV_PAGEOUT)) {
		unexpected("MADV_PAGEOUT", errno);
	} else {
		count(&sh->pageout_pages, n);
		out = pages_swapped(r->addr + start * psize, n);
		count(&sh->swapped_pages, out > 0 ? out : 0);
	}
	note(OP_PAGEOUT, ri, start, n, 0);
	if (check && rnd(&wrng, 2))
		verify(ri, start, n);
}

/**
 * died_badly() - did a worker or child that ended with @status fail?
 * @status: from waitpid()
 * @memcg: the process ran in the test memcg
 *
 * In the memcg that may swap, memory.max sits below what its workers
 * touch, so they thrash, and the memcg OOM killer may end one: stock
 * 6.12 does that too under this load. Such a SIGKILL is counted in
 * oom_killed (checked against memory.events at the end), not as a crash.
 *
 * Return: 1 if it crashed.
 */
int died_badly(int status, int memcg)
{
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	if (memcg && sh->memcg_swap && WIFSIGNALED(status) &&
	    WTERMSIG(status) == SIGKILL) {
		count(&sh->oom_killed, 1);
		return 0;
	}
	return 1;
}
