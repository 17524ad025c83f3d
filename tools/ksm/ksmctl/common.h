/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmctl: what its source files share (common.c). ksmctl.c has the
 * command line and the parameter commands; ps.c the per-process view and
 * status; prometheus.c the text exposition format.
 */
#ifndef KSMCTL_COMMON_H
#define KSMCTL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libsmartcols.h>

#include "ksm.h"

/* Exit codes, documented in ksmctl(8). */
enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,		/* bad command line or value: nothing written */
	EXIT_NOKSM = 2,		/* no KSM, or no such file on this kernel */
	EXIT_SYSTEM = 3,	/* the kernel refused, or I/O failed */
};

enum format { FMT_TABLE, FMT_JSON, FMT_PROMETHEUS };

/* Which listing a column belongs to. */
enum view {
	VIEW_PARAM = 1 << 0,	/* get, params: one row per parameter */
	VIEW_PROC = 1 << 1,	/* ps, status: one row per process */
};

/* The columns, indexes of infos[]. */
enum {
	/* parameters */
	COL_NAME,
	COL_FIELD,
	COL_VALUE,
	COL_SIZE,
	COL_TYPE,
	COL_ACCESS,
	COL_ALIAS,
	COL_DESC,
	/* processes */
	COL_PID,
	COL_COMM,
	COL_COMMAND,
	COL_ARGS,
	COL_VM,
	COL_CGROUP,
	COL_DOMAIN,
	COL_MODE,
	COL_MERGING,
	COL_SAVED,
	COL_PROFIT,
	COL_RMAP_ITEMS,
	COL_ZERO_PAGES,
	COL_RSS,
	NCOLS
};

/* How a column's cells are typed in JSON. */
enum col_kind {
	CK_STRING,
	CK_NUMBER,
	CK_SIZE,	/* human-readable string, or a number with --bytes */
	CK_LITERAL,	/* each cell is its own JSON literal (VALUE) */
};

struct colinfo {
	const char *name;
	double whint;
	int flags;		/* SCOLS_FL_* */
	enum col_kind kind;
	unsigned int view;	/* enum view */
	const char *help;
};

extern const struct colinfo infos[NCOLS];

struct ksmctl_opts {
	enum format format;
	bool noheadings;
	bool raw;
	bool bytes;
	bool value_only;
	bool all_procs;
	int top;
	const char *textfile;
	/* -o: the chosen columns, or none for the command's defaults. */
	int columns[NCOLS * 2];
	size_t ncolumns;
	const char *output;	/* the -o argument, parsed per command */
	bool output_all;
	int *pids;
	size_t npids;
	struct ksm k;
};

extern struct ksmctl_opts opt;

void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void __attribute__((noreturn)) oom(void);
int need_ksm(void);

/* The commands that list the columns of @view, for --help. */
const char *view_commands(unsigned int view);
/*
 * Settle the columns of @view: -o, --output-all, or @defaults. Returns 0,
 * or prints one line and returns EXIT_USAGE for a bad -o.
 */
int select_columns(unsigned int view, const int *defaults, size_t ndefaults);
struct libscols_table *new_table(const char *name);
/* Add the selected columns to @tb. */
void add_columns(struct libscols_table *tb);
struct libscols_column *json_column(struct libscols_table *tb, const char *name,
				    int json_type, int flags);
void set_cell(struct libscols_line *ln, size_t col, const char *data);
int print_table(struct libscols_table *tb);

/* @bytes as "16M" (or "16777216" with --bytes), as util-linux prints sizes. */
void size_str(char *buf, size_t len, long long bytes);

/* The JSON type libsmartcols should give a column of @kind. */
int json_type_of_kind(enum col_kind kind);

/* What a parameter's number counts, for SIZE and for Prometheus' units. */
enum unit { U_NONE, U_PAGES, U_BYTES, U_MSEC, U_SEC, U_PERCENT };
enum unit param_unit(const char *name);
/* The value of a numeric or boolean parameter as a double. */
double param_number(const struct ksm_typed_param *p);
/* A failed access to parameter @idx, reported; returns the exit code. */
int fail_param(const char *what, int idx, const char *value, int err);

/* A process as ps shows it: ksm_stat plus what identifies it. */
struct ksm_proc_info {
	struct ksm_proc_stat st;
	char vm[256];		/* qemu's -name, or "" */
	char args[4096];	/* the full command line, or "" (kernel thread) */
	char cgroup[1024];	/* the cgroup v2 path, or "" */
	bool have_cgroup;
	/*
	 * The merge domain's cgroup as a path like cgroup's ("/" the root),
	 * or "#ID" when no directory under /sys/fs/cgroup has inode ID; ""
	 * with have_domain false when domains are off (ksm_merge_domain 0)
	 * or the kernel does not say.
	 */
	char domain[1024];
	bool have_domain;
};

/* The processes of one merge domain, for status. */
struct domain_sum {
	const char *domain;	/* as in ksm_proc_info; NULL when unknown */
	unsigned long long id;	/* ksm_merge_domain */
	bool have_id;
	size_t processes;
	long long merging_pages;
	long long profit;
};

#endif /* KSMCTL_COMMON_H */
