// SPDX-License-Identifier: GPL-2.0
/*
 * libksm: per-process KSM state and memory state from /proc.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksm.h"

/*
 * ksm_stat, status and meminfo are all "key value" or "key: value" lines:
 * call @fn for each line with the key and the value, both trimmed.
 */
static void for_each_kv(char *buf, void (*fn)(const char *key, char *val, void *arg),
			void *arg)
{
	char *line, *next, *sep, *val, *end;

	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		sep = line + strcspn(line, ": \t");
		if (!*sep)
			continue;
		val = sep + 1;
		*sep = '\0';
		while (*val == ':' || isspace((unsigned char)*val))
			val++;
		end = val + strlen(val);
		while (end > val && isspace((unsigned char)end[-1]))
			*--end = '\0';
		fn(line, val, arg);
	}
}

static long long to_ll(const char *val)
{
	long long v;

	/* "123 kB": the number stops at the first space. */
	char num[32];

	snprintf(num, sizeof(num), "%.*s", (int)strcspn(val, " \t"), val);
	return ksm_parse_ll(num, &v) ? 0 : v;
}

static int yes_no(const char *val)
{
	/* Mainline prints yes/no; accept 1/0 too. */
	return !strcmp(val, "yes") || !strcmp(val, "1") ? 1 :
	       !strcmp(val, "no") || !strcmp(val, "0") ? 0 : -1;
}

static void ksm_stat_kv(const char *key, char *val, void *arg)
{
	struct ksm_proc_stat *st = arg;

	if (!strcmp(key, "ksm_rmap_items"))
		st->rmap_items = to_ll(val);
	else if (!strcmp(key, "ksm_zero_pages"))
		st->zero_pages = to_ll(val);
	else if (!strcmp(key, "ksm_merging_pages"))
		st->merging_pages = to_ll(val);
	else if (!strcmp(key, "ksm_process_profit"))
		st->process_profit = to_ll(val);
	else if (!strcmp(key, "ksm_merge_any"))
		st->merge_any = yes_no(val);
	else if (!strcmp(key, "ksm_mergeable"))
		st->mergeable = yes_no(val);
	else if (!strcmp(key, "ksm_merge_domain"))
		/* A u64; anything else leaves it unknown. */
		st->have_merge_domain = !ksm_parse_ull(val, &st->merge_domain);
}

static void status_kv(const char *key, char *val, void *arg)
{
	struct ksm_proc_stat *st = arg;

	if (!strcmp(key, "Name"))
		snprintf(st->comm, sizeof(st->comm), "%s", val);
	else if (!strcmp(key, "VmRSS"))
		st->rss_kb = to_ll(val);
}

int ksm_read_proc_stat(const struct ksm *k, int pid, struct ksm_proc_stat *st)
{
	char rel[64], buf[4096];
	int ret;

	memset(st, 0, sizeof(*st));
	st->pid = pid;
	st->merge_any = -1;
	st->mergeable = -1;
	snprintf(rel, sizeof(rel), "proc/%d/ksm_stat", pid);
	ret = ksm_read_file(k, rel, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	/* Kernel threads have an empty ksm_stat: nothing to report. */
	if (!strstr(buf, "ksm_rmap_items"))
		return -ENODATA;
	for_each_kv(buf, ksm_stat_kv, st);

	strcpy(st->comm, "?");
	snprintf(rel, sizeof(rel), "proc/%d/status", pid);
	if (ksm_read_file(k, rel, buf, sizeof(buf)) >= 0)
		for_each_kv(buf, status_kv, st);
	return 0;
}

bool ksm_proc_is_mergeable(const struct ksm_proc_stat *st)
{
	return st->mergeable == 1 || st->merge_any == 1 || st->rmap_items > 0;
}

static int by_merging(const void *a, const void *b)
{
	const struct ksm_proc_stat *x = a, *y = b;

	if (x->merging_pages != y->merging_pages)
		return x->merging_pages > y->merging_pages ? -1 : 1;
	return x->pid - y->pid;
}

int ksm_list_procs(const struct ksm *k, unsigned int flags,
		   struct ksm_proc_stat **out, size_t *n)
{
	struct ksm_proc_stat *v = NULL, st;
	size_t len = 0, cap = 0;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int ret;

	ret = ksm_path(k, "proc", path, sizeof(path));
	if (ret)
		return ret;
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || !isdigit((unsigned char)de->d_name[0]))
			continue;
		/* Processes come and go, and some are not ours to read. */
		if (ksm_read_proc_stat(k, (int)pid, &st))
			continue;
		if ((flags & KSM_LIST_MERGEABLE) && !ksm_proc_is_mergeable(&st))
			continue;
		if (len == cap) {
			struct ksm_proc_stat *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(dir);
				return -ENOMEM;
			}
			v = nv;
		}
		v[len++] = st;
	}
	closedir(dir);
	if (flags & KSM_LIST_BY_MERGING)
		qsort(v, len, sizeof(*v), by_merging);
	*out = v;
	*n = len;
	return 0;
}

static void meminfo_kv(const char *key, char *val, void *arg)
{
	struct ksm_meminfo *mi = arg;

	if (!strcmp(key, "MemTotal"))
		mi->total_kb = to_ll(val);
	else if (!strcmp(key, "MemFree"))
		mi->free_kb = to_ll(val);
	else if (!strcmp(key, "Buffers"))
		mi->buffers_kb = to_ll(val);
	else if (!strcmp(key, "Cached"))
		mi->cached_kb = to_ll(val);
	else if (!strcmp(key, "MemAvailable")) {
		mi->available_kb = to_ll(val);
		mi->have_available = true;
	}
}

int ksm_read_meminfo(const struct ksm *k, struct ksm_meminfo *mi)
{
	char buf[8192];
	int ret;

	memset(mi, 0, sizeof(*mi));
	ret = ksm_read_file(k, "proc/meminfo", buf, sizeof(buf));
	if (ret < 0)
		return ret;
	for_each_kv(buf, meminfo_kv, mi);
	return mi->total_kb ? 0 : -EPROTO;
}

unsigned long long ksm_meminfo_avail_kb(const struct ksm_meminfo *mi)
{
	/* Before MemAvailable, free + page cache was the usual estimate. */
	if (mi->have_available)
		return mi->available_kb;
	return mi->free_kb + mi->buffers_kb + mi->cached_kb;
}

int ksm_read_psi_some_avg10(const struct ksm *k, double *avg10)
{
	char buf[512];
	int ret;

	ret = ksm_read_file(k, "proc/pressure/memory", buf, sizeof(buf));
	if (ret < 0)
		return ret;
	if (sscanf(buf, "some avg10=%lf", avg10) != 1)
		return -EPROTO;
	return 0;
}
