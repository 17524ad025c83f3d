// SPDX-License-Identifier: GPL-2.0
/*
 * Fake /proc and /sys trees for the host tests, so that the tools can be
 * checked against scripted states without touching the real kernel.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakeroot.h"

const char *fr_create(void)
{
	static char root[PATH_MAX];
	const char *tmp = getenv("TMPDIR");

	snprintf(root, sizeof(root), "%s/ksmtest.XXXXXX", tmp ? tmp : "/tmp");
	return mkdtemp(root);
}

/* mkdir -p of the directory part of @path. */
static int make_parents(char *path)
{
	char *p;

	for (p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

int fr_write(const char *root, const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (make_parents(path))
		return -1;
	f = fopen(path, "w");
	if (!f)
		return -1;
	ret = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) ? -1 : ret;
}

int fr_writef(const char *root, const char *rel, const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return fr_write(root, rel, text);
}

int fr_read(const char *root, const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

int fr_remove(const char *root, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return unlink(path);
}

int fr_ksm_defaults(const char *root)
{
	/* Defaults of Linux 6.12 (mm/ksm.c), statistics at zero. */
	static const char *const files[][2] = {
		{ "run", "0" }, { "pages_to_scan", "100" }, { "sleep_millisecs", "20" },
		{ "merge_across_nodes", "1" }, { "use_zero_pages", "0" },
		{ "merge_across_cgroups", "1" }, { "cgroup_domain_depth", "0" },
		{ "max_page_sharing", "256" },
		{ "stable_node_chains_prune_millisecs", "2000" }, { "smart_scan", "1" },
		{ "advisor_mode", "[none] scan-time" }, { "advisor_max_cpu", "70" },
		{ "advisor_min_pages_to_scan", "500" },
		{ "advisor_max_pages_to_scan", "30000" },
		{ "advisor_target_scan_time", "200" }, { "pages_shared", "0" },
		{ "pages_sharing", "0" }, { "pages_unshared", "0" },
		{ "pages_volatile", "0" }, { "pages_scanned", "0" },
		{ "pages_skipped", "0" }, { "full_scans", "0" },
		{ "stable_node_chains", "0" }, { "stable_node_dups", "0" },
		{ "ksm_zero_pages", "0" }, { "general_profit", "0" },
	};
	char rel[128];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(rel, sizeof(rel), "sys/kernel/mm/ksm/%s", files[i][0]);
		if (fr_writef(root, rel, "%s\n", files[i][1]))
			return -1;
	}
	return 0;
}

int fr_meminfo(const char *root, unsigned long long total, unsigned long long avail)
{
	return fr_writef(root, "proc/meminfo",
			 "MemTotal:       %llu kB\nMemFree:        %llu kB\n"
			 "MemAvailable:   %llu kB\nBuffers:           1000 kB\n"
			 "Cached:           2000 kB\nSwapCached:          0 kB\n",
			 total, avail / 2, avail);
}

int fr_process(const char *root, int pid, const char *comm,
	       unsigned long long rss_kb, long long merging, const char *mergeable,
	       const char *merge_any, long long rmap_items)
{
	char rel[64], lines[128] = "";

	/* Without the two lines, ksm_stat looks as Linux 6.12 prints it. */
	if (mergeable || merge_any)
		snprintf(lines, sizeof(lines), "ksm_merge_any: %s\nksm_mergeable: %s\n",
			 merge_any ? merge_any : "no", mergeable ? mergeable : "no");
	snprintf(rel, sizeof(rel), "proc/%d/ksm_stat", pid);
	if (fr_writef(root, rel,
		      "ksm_rmap_items %lld\nksm_zero_pages 0\nksm_merging_pages %lld\n"
		      "ksm_process_profit %lld\n%s",
		      rmap_items, merging, merging * 4096 - rmap_items * 64, lines))
		return -1;
	snprintf(rel, sizeof(rel), "proc/%d/status", pid);
	return fr_writef(root, rel,
			 "Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t%d\n"
			 "VmRSS:\t  %llu kB\nThreads:\t1\n", comm, pid, rss_kb);
}

int fr_smaps(const char *root, int pid, const char *vmflags)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "proc/%d/smaps", pid);
	return fr_writef(root, rel,
			 "55d0a0000000-55d0a0021000 r-xp 00000000 08:01 1234  /usr/bin/x\n"
			 "Size:                132 kB\nRss:                  64 kB\n"
			 "VmFlags: rd ex mr mw me\n"
			 "7f0000000000-7f0400000000 rw-p 00000000 00:00 0\n"
			 "Size:           16777216 kB\nRss:             1048576 kB\n"
			 "KSM:                   0 kB\nVmFlags: %s\n", vmflags);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fr_destroy(const char *root)
{
	if (root && strstr(root, "ksmtest."))
		nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
