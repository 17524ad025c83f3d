// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_stress environment: the memory cgroup some workers run
 * in, and what the accounting checks read (/proc/vmstat, /proc/meminfo,
 * /proc/zoneinfo, /proc/slabinfo).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ksm_stress.h"

#define MEMCG_DIR	"/sys/fs/cgroup/ksm_stress"

long vmstat(const char *key)
{
	return keyed_value("/proc/vmstat", key);
}

/* A /proc/meminfo line in kB; 0 when the line is not there. */
long meminfo(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long ret = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			ret = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return ret;
}

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
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK))
		return -1;
	write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	if (mkdir(MEMCG_DIR, 0755) && errno != EEXIST)
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

static long events_field(const char *text, const char *key)
{
	size_t len = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, len) && p[len] == ' ')
			return strtol(p + len + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/*
 * Print the memcg's events and peak; *oom_kill gets its OOM kills and
 * *max_hits the times usage hit memory.max.
 */
void memcg_report(long *oom_kill, long *max_hits)
{
	char ev[512], peak[64], swap[64];

	*oom_kill = -1;
	*max_hits = -1;
	if (!memcg_procs[0] || read_file(MEMCG_DIR "/memory.events", ev,
					 sizeof(ev)))
		return;
	if (read_file(MEMCG_DIR "/memory.peak", peak, sizeof(peak)))
		strcpy(peak, "n/a\n");
	if (read_file(MEMCG_DIR "/memory.swap.peak", swap, sizeof(swap)))
		strcpy(swap, "n/a\n");
	peak[strcspn(peak, "\n")] = 0;
	swap[strcspn(swap, "\n")] = 0;
	*oom_kill = events_field(ev, "oom_kill");
	*max_hits = events_field(ev, "max");
	say("# memcg: memory.max hit %ld times, high %ld, oom %ld, oom_kill %ld; memory.peak %s, memory.swap.peak %s\n",
	    *max_hits, events_field(ev, "high"),
	    events_field(ev, "oom"), *oom_kill, peak, swap);
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

void memcg_teardown(void)
{
	int i;

	if (!memcg_procs[0])
		return;
	for (i = 0; i < 50 && rmdir(MEMCG_DIR) && errno == EBUSY; i++)
		usleep(100000);
}

void slab_shrink(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", name);
	write_file(path, "1");
}

/* Active objects of a cache per /proc/slabinfo; 0, or -1 if not listed. */
int slab_active(const char *name, long *active)
{
	char line[512], cache[64];
	int ret = -1;
	long a;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld", cache, &a) == 2 &&
		    !strcmp(cache, name)) {
			*active = a;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}
