// SPDX-License-Identifier: GPL-2.0
/*
 * dup-workload: a small mergeable workload for demos and smoke tests.
 *
 * Usage: dup-workload [-p PROCS] [-m MIB] [-d PERCENT] [-t SECONDS]
 *                     [-s SALT] [-r READY_FILE] [-w RELEASE_FILE]
 *
 * Starts PROCS processes, each with MIB MiB of private anonymous memory
 * advised MADV_MERGEABLE. PERCENT of each area is filled with the same
 * pseudo-random pages in every process (each at a different offset), the
 * rest with pages unique to that process. The processes then sleep until
 * SECONDS have passed (0: until killed), and before leaving each checks that
 * its memory still holds what it wrote: merging must never change content.
 *
 * SALT (default 0) changes the unique pages only: runs with different salts
 * (say, in different virtual machines) have the same shared pages and
 * different unique ones. READY_FILE is created once every process has
 * filled its memory. With RELEASE_FILE, the processes stop holding their
 * memory (check it and exit) as soon as that file exists, looked for once
 * a second; SECONDS, if not 0, still bounds the wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

static unsigned int salt;

/*
 * Seed of page @i in process @proc: shared pages have one seed for all,
 * below 2^32; unique ones have (salt, proc) in their upper half.
 */
static uint64_t page_seed(int proc, size_t i, size_t npages, size_t nshared)
{
	size_t rot = (i + (size_t)proc * 7) % npages;

	if (rot < nshared)
		return rot + 1;
	return ((uint64_t)salt * 256 + (uint64_t)proc + 1) << 32 | (i + 1);
}

/* Hold the memory: SECONDS (0: no limit), or until @release exists. */
static void hold(int seconds, const char *release)
{
	time_t end = time(NULL) + seconds;

	if (!release) {
		if (seconds > 0)
			sleep((unsigned int)seconds);
		else
			pause();
		return;
	}
	while (access(release, F_OK)) {
		if (seconds > 0 && time(NULL) >= end)
			return;
		sleep(1);
	}
}

static int child(int proc, size_t npages, size_t nshared, int seconds,
		 int ready_fd, const char *release)
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
	/* One byte to the parent: this process has filled its memory. */
	if (ready_fd >= 0 && (write(ready_fd, "", 1) != 1 || close(ready_fd))) {
		perror("dup-workload: ready pipe");
		return 1;
	}
	hold(seconds, release);
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
	const char *ready = NULL, *release = NULL;
	int pfd[2] = { -1, -1 };
	size_t npages, nshared;

	while ((opt = getopt(argc, argv, "p:m:d:t:s:r:w:")) != -1) {
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
		case 's':
			salt = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			ready = optarg;
			break;
		case 'w':
			release = optarg;
			break;
		default:
			fprintf(stderr, "usage: dup-workload [-p PROCS] [-m MIB] [-d PERCENT] [-t SECONDS]\n"
				"                    [-s SALT] [-r READY_FILE] [-w RELEASE_FILE]\n");
			return 2;
		}
	}
	if (procs < 1 || procs > 256 || mib < 1 || dup < 0 || dup > 100 || seconds < 0) {
		fprintf(stderr, "dup-workload: PROCS 1..256, MIB >= 1, PERCENT 0..100, SECONDS >= 0\n");
		return 2;
	}
	if (salt > 0xffffff) {
		fprintf(stderr, "dup-workload: SALT 0..16777215\n");
		return 2;
	}
	npages = (size_t)mib * 1024 * 1024 / (size_t)sysconf(_SC_PAGESIZE);
	nshared = npages * (size_t)dup / 100;
	if (ready && pipe(pfd)) {
		perror("dup-workload: pipe");
		return 1;
	}
	for (int p = 0; p < procs; p++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("dup-workload: fork");
			return 1;
		}
		if (pid == 0) {
			if (pfd[0] >= 0)
				close(pfd[0]);
			_exit(child(p, npages, nshared, seconds, pfd[1], release));
		}
	}
	if (ready) {
		int filled = 0, fd;
		char c;

		/* Every child writes one byte when filled; EOF if one failed. */
		close(pfd[1]);
		while (filled < procs) {
			ssize_t n = read(pfd[0], &c, 1);

			if (n == 1)
				filled++;
			else if (n == 0 || errno != EINTR)
				break;
		}
		close(pfd[0]);
		if (filled == procs) {
			fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0 || close(fd))
				perror("dup-workload: ready file");
		}
	}
	for (int p = 0; p < procs; p++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	}
	return bad;
}
