/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libksm: read and tune Kernel Samepage Merging through
 * /sys/kernel/mm/ksm and /proc/<pid>/ksm_stat.
 *
 * All functions return 0 or a positive count on success and a negative
 * errno value on failure; none of them prints anything.
 */
#ifndef KSM_H
#define KSM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define KSM_SYSFS_DIR	"sys/kernel/mm/ksm"

/* Where to find sysfs and procfs: "" is the real root. */
struct ksm {
	char root[PATH_MAX];
	long page_size;
};

/* Use @root, or $KSM_ROOT when @root is NULL, or "/" when both are unset. */
int ksm_init(struct ksm *k, const char *root);
/* True when the kernel has KSM (the sysfs directory exists). */
bool ksm_available(const struct ksm *k);

/* Generic file helpers, @rel is relative to the root ("proc/meminfo"). */
int ksm_path(const struct ksm *k, const char *rel, char *buf, size_t len);
int ksm_read_file(const struct ksm *k, const char *rel, char *buf, size_t len);
int ksm_write_file(const struct ksm *k, const char *rel, const char *text);

/* Typed parameters, numbered like libvirt's virTypedParameterType. */
enum ksm_param_type {
	KSM_PARAM_INT = 1,
	KSM_PARAM_UINT = 2,
	KSM_PARAM_LLONG = 3,
	KSM_PARAM_ULLONG = 4,
	KSM_PARAM_BOOLEAN = 6,
	KSM_PARAM_STRING = 7,
};

#define KSM_PARAM_FIELD_LENGTH	80	/* as VIR_TYPED_PARAM_FIELD_LENGTH */
#define KSM_PARAM_STRING_LENGTH	32

struct ksm_typed_param {
	char field[KSM_PARAM_FIELD_LENGTH];
	int type;
	union {
		int i;
		unsigned int ui;
		long long l;
		unsigned long long ul;
		bool b;
		char s[KSM_PARAM_STRING_LENGTH];
	} value;
};

enum ksm_param_flags {
	KSM_PF_WRITABLE = 1 << 0,	/* a tunable, not a statistic */
	KSM_PF_COUNTER = 1 << 1,	/* only grows (Prometheus counter) */
	KSM_PF_BUSY = 1 << 2,		/* EBUSY while pages are merged */
};

struct ksm_param_desc {
	const char *name;	/* file name in /sys/kernel/mm/ksm */
	const char *alias;	/* libvirt's shm_* name, or NULL */
	enum ksm_param_type type;
	unsigned int flags;
	/* Writable numeric ones: the range the kernel's store accepts. */
	long long min;
	unsigned long long max;
	const char *choices;	/* STRING: the accepted words, space separated */
	const char *help;
};

enum ksm_run_mode {
	KSM_RUN_STOP = 0,
	KSM_RUN_MERGE = 1,
	KSM_RUN_UNMERGE = 2,
};

int ksm_param_count(void);
const struct ksm_param_desc *ksm_param_desc(int idx);
/* Index of the parameter called @name (ours or shm_*), or -ENOENT. */
int ksm_param_lookup(const char *name);
/*
 * Read one parameter into @p (field set to its sysfs name);
 * -ENOENT when this kernel does not have the file.
 */
int ksm_param_get(const struct ksm *k, int idx, struct ksm_typed_param *p);
/* Shorthand for numeric parameters: the value as unsigned long long. */
int ksm_get_ull(const struct ksm *k, const char *name, unsigned long long *val);
/*
 * Check @text for parameter @idx without touching the system, and fill @p.
 * On error, a one-line reason goes to @err.
 */
int ksm_param_parse(int idx, const char *text, struct ksm_typed_param *p,
		    char *err, size_t errlen);
/* Write @p (as made by ksm_param_parse) to sysfs; -EBUSY, -EINVAL... */
int ksm_param_set(const struct ksm *k, const struct ksm_typed_param *p);
/* Format a value as sysfs expects it ("1", "scan-time"). */
int ksm_param_format(const struct ksm_typed_param *p, char *buf, size_t len);
/* One-line advice for a failed write of @idx with errno @err, or NULL. */
const char *ksm_param_hint(int idx, int err);
const char *ksm_param_type_name(int type);

/*
 * The libvirt node memory parameters (shm_*), as typed parameters:
 * fills up to @max entries of @params and returns how many were filled.
 * Files missing on this kernel are left out.
 */
int ksm_get_shm_params(const struct ksm *k, struct ksm_typed_param *params,
		       int max);

int ksm_set_run(const struct ksm *k, enum ksm_run_mode mode);

/* /proc/<pid>/ksm_stat, plus comm and VmRSS from /proc/<pid>/status. */
struct ksm_proc_stat {
	int pid;
	char comm[64];
	long long rmap_items;
	long long zero_pages;
	long long merging_pages;
	long long process_profit;
	int merge_any;		/* 1 yes, 0 no, -1 not reported */
	int mergeable;		/* 1 yes, 0 no, -1 not reported */
	/*
	 * ksm_merge_domain: the inode number of the merge domain's cgroup
	 * directory, 0 while merge_across_cgroups=1; have_merge_domain is
	 * false when the kernel does not report it (before merge domains).
	 */
	unsigned long long merge_domain;
	bool have_merge_domain;
	unsigned long long rss_kb;
};

int ksm_read_proc_stat(const struct ksm *k, int pid, struct ksm_proc_stat *st);
/* KSM is enabled for the process (madvise or prctl), or it has rmap items. */
bool ksm_proc_is_mergeable(const struct ksm_proc_stat *st);

enum ksm_list_flags {
	KSM_LIST_MERGEABLE = 1 << 0,	/* only ksm_proc_is_mergeable() ones */
	KSM_LIST_BY_MERGING = 1 << 1,	/* sort by merging_pages, most first */
};

/* All processes with a readable ksm_stat; free *out with free(). */
int ksm_list_procs(const struct ksm *k, unsigned int flags,
		   struct ksm_proc_stat **out, size_t *n);

struct ksm_meminfo {
	unsigned long long total_kb;
	unsigned long long free_kb;
	unsigned long long available_kb;
	unsigned long long buffers_kb;
	unsigned long long cached_kb;
	bool have_available;	/* MemAvailable exists (Linux >= 3.14) */
};

int ksm_read_meminfo(const struct ksm *k, struct ksm_meminfo *mi);
/* Memory that can be had without swapping: MemAvailable, or an estimate. */
unsigned long long ksm_meminfo_avail_kb(const struct ksm_meminfo *mi);
/* "some avg10" of /proc/pressure/memory; -ENOENT without PSI. */
int ksm_read_psi_some_avg10(const struct ksm *k, double *avg10);

/* Helpers for parsing numbers the way the kernel's kstrto*() do. */
int ksm_parse_ull(const char *s, unsigned long long *v);
int ksm_parse_ll(const char *s, long long *v);
int ksm_parse_bool(const char *s, bool *v);

#endif /* KSM_H */
