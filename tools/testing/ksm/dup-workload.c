// SPDX-License-Identifier: GPL-2.0
/*
 * dup-workload: a small mergeable workload for demos and smoke tests.
 *
 * Usage: dup-workload [-p PROCS] [-m MIB] [-d PERCENT] [-t SECONDS]
 *
 * Starts PROCS processes, each with MIB MiB of private anonymous memory
 * advised MADV_MERGEABLE. PERCENT of each area is filled with the same
 * pseudo-random pages in every process (each at a different offset), the
 * rest with pages unique to that process. The processes then sleep until
 * SECONDS have passed (0: until killed), and before leaving each checks that
 * its memory still holds what it wrote: merging must never change content.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64*: cheap, and good enough to make pages distinct. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Fill page @pg with the content named by @seed. */
static void fill_page(uint64_t *pg, size_t words, uint64_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i < words; i++)
		pg[i] = next_rand(&s);
}

/* Seed of page @i in process @proc: shared pages have one seed for all. */
static uint64_t page_seed(int proc, size_t i, size_t npages, size_t nshared)
{
	size_t rot = (i + (size_t)proc * 7) % npages;

	if (rot < nshared)
		return rot + 1;
	return ((uint64_t)(proc + 1) << 32) + i + 1;
}

static int child(int proc, size_t npages, size_t nshared, int seconds)
{
	size_t psz = (size_t)sysconf(_SC_PAGESIZE), words = psz / 8;
	uint64_t *mem, *want;

	mem = mmap(NULL, npages * psz, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	want = malloc(psz);
	if (mem == MAP_FAILED || !want) {
		perror("dup-workload: mmap");
		return 1;
	}
	if (madvise(mem, npages * psz, MADV_MERGEABLE)) {
		perror("dup-workload: madvise(MADV_MERGEABLE)");
		return 1;
	}
	for (size_t i = 0; i < npages; i++)
		fill_page(mem + i * words, words, page_seed(proc, i, npages, nshared));
	if (seconds > 0)
		sleep((unsigned int)seconds);
	else
		pause();
	for (size_t i = 0; i < npages; i++) {
		fill_page(want, words, page_seed(proc, i, npages, nshared));
		if (memcmp(want, mem + i * words, psz)) {
			fprintf(stderr, "dup-workload: process %d page %zu changed\n",
				proc, i);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int procs = 4, mib = 32, dup = 50, seconds = 0, opt, bad = 0;
	size_t npages, nshared;

	while ((opt = getopt(argc, argv, "p:m:d:t:")) != -1) {
		switch (opt) {
		case 'p':
			procs = atoi(optarg);
			break;
		case 'm':
			mib = atoi(optarg);
			break;
		case 'd':
			dup = atoi(optarg);
			break;
		case 't':
			seconds = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: dup-workload [-p PROCS] [-m MIB] [-d PERCENT] [-t SECONDS]\n");
			return 2;
		}
	}
	if (procs < 1 || procs > 256 || mib < 1 || dup < 0 || dup > 100 || seconds < 0) {
		fprintf(stderr, "dup-workload: PROCS 1..256, MIB >= 1, PERCENT 0..100, SECONDS >= 0\n");
		return 2;
	}
	npages = (size_t)mib * 1024 * 1024 / (size_t)sysconf(_SC_PAGESIZE);
	nshared = npages * (size_t)dup / 100;
	for (int p = 0; p < procs; p++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("dup-workload: fork");
			return 1;
		}
		if (pid == 0)
			_exit(child(p, npages, nshared, seconds));
	}
	for (int p = 0; p < procs; p++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	}
	return bad;
}
