// SPDX-License-Identifier: GPL-2.0
/*
 * merge-workload: give KSM something to merge, then wait to be killed.
 *
 *   merge-workload [-m MIB] [-k KINDS] [-p]
 *
 * Maps MIB MiB (default 16) of anonymous memory, fills it with KINDS
 * (default 4) distinct page contents repeated over and over, so nearly
 * every page has duplicates, and enables KSM for it with madvise
 * (MADV_MERGEABLE) or, with -p, for the whole process with prctl
 * (PR_SET_MEMORY_MERGE). Prints "ready PID" once set up.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67	/* Linux 6.4 */
#endif

int main(int argc, char **argv)
{
	long mib = 16, kinds = 4, page = sysconf(_SC_PAGESIZE), i;
	bool use_prctl = false;
	size_t len;
	char *mem;
	int c;

	while ((c = getopt(argc, argv, "m:k:p")) != -1) {
		switch (c) {
		case 'm': mib = atol(optarg); break;
		case 'k': kinds = atol(optarg); break;
		case 'p': use_prctl = true; break;
		default:
			fprintf(stderr, "usage: merge-workload [-m MIB] [-k KINDS] [-p]\n");
			return 2;
		}
	}
	if (mib < 1 || kinds < 1) {
		fprintf(stderr, "merge-workload: -m and -k must be positive\n");
		return 2;
	}
	/* prctl must come first: it applies to mappings made after it too. */
	if (use_prctl && prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0)) {
		perror("merge-workload: prctl(PR_SET_MEMORY_MERGE)");
		return 1;
	}
	len = (size_t)mib << 20;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("merge-workload: mmap");
		return 1;
	}
	/* Non-zero contents, so that use_zero_pages plays no part. */
	for (i = 0; i < (long)(len / page); i++)
		memset(mem + i * page, 'A' + i % kinds, page);
	if (!use_prctl && madvise(mem, len, MADV_MERGEABLE)) {
		perror("merge-workload: madvise(MADV_MERGEABLE)");
		return 1;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}
