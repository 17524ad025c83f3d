// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_stress environment: the memory cgroup some workers run
 * in, and what the accounting checks read beyond ksm_common.c's readers
 * (/proc/zoneinfo).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ksm_stress.h"

#define MEMCG_DIR	"/sys/fs/cgroup/ksm_stress"

/* Free pages held in the per-CPU lists (not in MemFree). */
long pcp_pages(void)
{
	char line[256];
	long total = 0;
	FILE *f = fopen("/proc/zoneinfo", "r");
	char *p;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		p = line + strspn(line, " ");
		if (!strncmp(p, "count:", 6))
			total += strtol(p + 6, NULL, 10);
	}
	fclose(f);
	return total;
}

void drop_caches(void)
{
	sync();
	write_file("/proc/sys/vm/drop_caches", "3");
}

/*
 * A child cgroup with the memory controller and the given memory.max,
 * allowed to swap or not; workers join it by writing to memcg_procs.
 * 0 or -1.
 */
int memcg_setup(long max_bytes, int swap)
{
	char buf[32];

	memcg_procs[0] = 0;
	rmdir(MEMCG_DIR);
	if (access(CGROUP_DIR "cgroup.controllers", F_OK) || cg_make(MEMCG_DIR))
		return -1;
	snprintf(buf, sizeof(buf), "%ld", max_bytes);
	if (write_file(MEMCG_DIR "/memory.max", buf)) {
		rmdir(MEMCG_DIR);
		return -1;
	}
	if (!swap && write_file(MEMCG_DIR "/memory.swap.max", "0")) {
		rmdir(MEMCG_DIR);
		return -1;
	}
	snprintf(memcg_procs, sizeof(memcg_procs), MEMCG_DIR "/cgroup.procs");
	return 0;
}

/*
 * Print the memcg's events and peak; *oom_kill gets its OOM kills and
 * *max_hits the times usage hit memory.max.
 */
void memcg_report(long *oom_kill, long *max_hits)
{
	const char *ev = MEMCG_DIR "/memory.events";
	char peak[64], swap[64];

	*oom_kill = -1;
	*max_hits = -1;
	if (!memcg_procs[0] || access(ev, R_OK))
		return;
	if (read_file(MEMCG_DIR "/memory.peak", peak, sizeof(peak)))
		strcpy(peak, "n/a\n");
	if (read_file(MEMCG_DIR "/memory.swap.peak", swap, sizeof(swap)))
		strcpy(swap, "n/a\n");
	peak[strcspn(peak, "\n")] = 0;
	swap[strcspn(swap, "\n")] = 0;
	*oom_kill = keyed_value(ev, "oom_kill");
	*max_hits = keyed_value(ev, "max");
	say("# memcg: memory.max hit %ld times, high %ld, oom %ld, oom_kill %ld; memory.peak %s, memory.swap.peak %s\n",
	    *max_hits, keyed_value(ev, "high"),
	    keyed_value(ev, "oom"), *oom_kill, peak, swap);
}

void memcg_teardown(void)
{
	int i;

	if (!memcg_procs[0])
		return;
	for (i = 0; i < 50 && rmdir(MEMCG_DIR) && errno == EBUSY; i++)
		usleep(100000);
}
