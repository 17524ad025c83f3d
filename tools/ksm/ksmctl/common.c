// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl: what the commands share. The options, the column table
 * (infos[]) that -o/--output, --output-all, --list-columns and --help all
 * read, libsmartcols tables, sizes as util-linux prints them, and the
 * units and errors of parameters. It calls none of the command files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"

struct ksmctl_opts opt = { .top = 10 };

#define P VIEW_PARAM
#define PR VIEW_PROC
#define R SCOLS_FL_RIGHT
#define T SCOLS_FL_TRUNC

const struct colinfo infos[NCOLS] = {
	[COL_NAME] = { "NAME", 0.25, 0, CK_STRING, P,
		       "parameter: its file in /sys/kernel/mm/ksm" },
	[COL_FIELD] = { "FIELD", 0.25, 0, CK_STRING, P,
			"typed-parameter field: NAME, or libvirt's shm_* name" },
	[COL_VALUE] = { "VALUE", 0.1, R, CK_LITERAL, P, "current value" },
	[COL_SIZE] = { "SIZE", 5, R, CK_SIZE, P,
		       "memory a page or byte count stands for" },
	[COL_TYPE] = { "TYPE", 6, 0, CK_STRING, P,
		       "type: int, uint, llong, ullong, boolean or string" },
	[COL_ACCESS] = { "ACCESS", 2, 0, CK_STRING, P,
			 "rw for a tunable, ro for a statistic" },
	[COL_ALIAS] = { "ALIAS", 0.2, 0, CK_STRING, P,
			"libvirt's name for it (shm_*)" },
	[COL_DESC] = { "DESCRIPTION", 0.4, T, CK_STRING, P, "what it is" },
	[COL_PID] = { "PID", 5, R, CK_NUMBER, PR, "process ID" },
	[COL_COMM] = { "COMM", 0.1, 0, CK_STRING, PR, "command name" },
	[COL_COMMAND] = { "COMMAND", 0.3, T, CK_STRING, PR,
			  "VM name (qemu's -name), else the full command line" },
	[COL_ARGS] = { "ARGS", 0.3, T, CK_STRING, PR, "full command line" },
	[COL_VM] = { "VM", 0.1, 0, CK_STRING, PR,
		     "VM name: qemu's -name guest=NAME or -name NAME" },
	[COL_CGROUP] = { "CGROUP", 0.2, T, CK_STRING, PR, "cgroup v2 path" },
	[COL_DOMAIN] = { "DOMAIN", 0.2, T, CK_STRING, PR,
			 "merge domain: the cgroup its pages merge within (merge_across_cgroups=0)" },
	[COL_MODE] = { "MODE", 7, 0, CK_STRING, PR,
		       "KSM enabled for the whole process (prctl) or by madvise" },
	[COL_MERGING] = { "MERGING", 5, R, CK_NUMBER, PR,
			  "pages merged (ksm_merging_pages)" },
	[COL_SAVED] = { "SAVED", 5, R, CK_SIZE, PR,
			"memory of the merged pages (MERGING times the page size)" },
	[COL_PROFIT] = { "PROFIT", 5, R, CK_SIZE, PR,
			 "memory saved minus KSM's metadata (ksm_process_profit)" },
	[COL_RMAP_ITEMS] = { "RMAP_ITEMS", 5, R, CK_NUMBER, PR,
			     "KSM reverse-map items (ksm_rmap_items)" },
	[COL_ZERO_PAGES] = { "ZERO_PAGES", 5, R, CK_NUMBER, PR,
			     "empty pages merged with the zero page (ksm_zero_pages)" },
	[COL_RSS] = { "RSS", 5, R, CK_SIZE, PR, "resident memory (VmRSS)" },
};

#undef P
#undef PR
#undef R
#undef T

void warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("ksmctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void oom(void)
{
	warnx("out of memory");
	exit(EXIT_SYSTEM);
}

int need_ksm(void)
{
	if (ksm_available(&opt.k))
		return 0;
	warnx("KSM is not available: no %s/%s (kernel built without CONFIG_KSM?)",
	      opt.k.root, KSM_SYSFS_DIR);
	return EXIT_NOKSM;
}

/* ---- columns and tables ------------------------------------------------- */

static int column_lookup(const char *name, size_t len)
{
	int i;

	for (i = 0; i < NCOLS; i++)
		if (strlen(infos[i].name) == len && !strncasecmp(infos[i].name, name, len))
			return i;
	return -1;
}

/* The commands that list the columns of @view, for --help. */
const char *view_commands(unsigned int view)
{
	return view == VIEW_PARAM ? "get and params" : "ps and status";
}

int select_columns(unsigned int view, const int *defaults, size_t ndefaults)
{
	const char *s = opt.output;
	size_t i;

	opt.ncolumns = 0;
	if (opt.output_all) {
		for (i = 0; i < NCOLS; i++)
			if (infos[i].view & view)
				opt.columns[opt.ncolumns++] = i;
		return 0;
	}
	/* "-o +LIST" adds to the defaults, as util-linux's tools do. */
	if (!s || *s == '+') {
		memcpy(opt.columns, defaults, ndefaults * sizeof(*defaults));
		opt.ncolumns = ndefaults;
		if (!s)
			return 0;
		s++;
	}
	while (*s) {
		size_t len = strcspn(s, ",");
		int id = column_lookup(s, len);

		if (!len) {
			warnx("empty column name in '%s'", opt.output);
			return EXIT_USAGE;
		}
		if (id < 0) {
			warnx("unknown column: %.*s (see 'ksmctl --list-columns')", (int)len, s);
			return EXIT_USAGE;
		}
		if (!(infos[id].view & view)) {
			warnx("column %s is not shown by %s (see 'ksmctl --list-columns')",
			      infos[id].name, view_commands(view));
			return EXIT_USAGE;
		}
		if (opt.ncolumns == sizeof(opt.columns) / sizeof(opt.columns[0])) {
			warnx("too many columns in '%s'", opt.output);
			return EXIT_USAGE;
		}
		opt.columns[opt.ncolumns++] = id;
		s += len;
		if (*s == ',')
			s++;
	}
	if (!opt.ncolumns) {
		warnx("no columns in '%s'", opt.output);
		return EXIT_USAGE;
	}
	return 0;
}

int json_type_of_kind(enum col_kind kind)
{
	switch (kind) {
	case CK_NUMBER:
	case CK_LITERAL:
		return SCOLS_JSON_NUMBER;
	case CK_SIZE:
		/* util-linux: sizes are numbers only in --bytes mode. */
		return opt.bytes ? SCOLS_JSON_NUMBER : SCOLS_JSON_STRING;
	default:
		return SCOLS_JSON_STRING;
	}
}

struct libscols_table *new_table(const char *name)
{
	struct libscols_table *tb = scols_new_table();

	if (!tb)
		oom();
	scols_table_set_name(tb, name);
	scols_table_enable_json(tb, opt.format == FMT_JSON);
	scols_table_enable_noheadings(tb, opt.noheadings);
	scols_table_enable_raw(tb, opt.raw);
	return tb;
}

struct libscols_column *json_column(struct libscols_table *tb, const char *name,
				    int json_type, int flags)
{
	struct libscols_column *cl = scols_table_new_column(tb, name, 0, flags);

	if (!cl || scols_column_set_json_type(cl, json_type))
		oom();
	return cl;
}

void add_columns(struct libscols_table *tb)
{
	size_t i;

	for (i = 0; i < opt.ncolumns; i++) {
		const struct colinfo *ci = &infos[opt.columns[i]];
		struct libscols_column *cl;

		cl = scols_table_new_column(tb, ci->name, ci->whint, ci->flags);
		if (!cl || scols_column_set_json_type(cl, json_type_of_kind(ci->kind)))
			oom();
	}
}

void set_cell(struct libscols_line *ln, size_t col, const char *data)
{
	/* NULL (or "") is null in JSON. */
	if (scols_line_set_data(ln, col, data))
		oom();
}

int print_table(struct libscols_table *tb)
{
	int ret = scols_print_table(tb);

	scols_unref_table(tb);
	return ret ? EXIT_SYSTEM : EXIT_OK;
}

void size_str(char *buf, size_t len, long long bytes)
{
	static const char units[] = "BKMGTPE";
	unsigned long long v = bytes < 0 ? -(unsigned long long)bytes : (unsigned long long)bytes;
	const char *sign = bytes < 0 ? "-" : "";
	unsigned long long frac;
	int e = 0;

	if (opt.bytes) {
		snprintf(buf, len, "%lld", bytes);
		return;
	}
	while (e < 6 && v >= (1ULL << (10 * (e + 1))))
		e++;
	if (!e) {
		snprintf(buf, len, "%s%lluB", sign, v);
		return;
	}
	/* One decimal, rounded, dropped when it is zero: 1.5M, 16M. */
	frac = ((v & ((1ULL << (10 * e)) - 1)) * 10 + (1ULL << (10 * e - 1))) >> (10 * e);
	v >>= 10 * e;
	if (frac == 10) {
		v++;
		frac = 0;
	}
	if (frac)
		snprintf(buf, len, "%s%llu.%llu%c", sign, v, frac, units[e]);
	else
		snprintf(buf, len, "%s%llu%c", sign, v, units[e]);
}

/* ---- parameters ----------------------------------------------------------- */

enum unit param_unit(const char *name)
{
	static const struct {
		const char *name;
		enum unit unit;
	} units[] = {
		{ "pages_shared", U_PAGES }, { "pages_sharing", U_PAGES },
		{ "pages_unshared", U_PAGES }, { "pages_volatile", U_PAGES },
		{ "ksm_zero_pages", U_PAGES }, { "general_profit", U_BYTES },
		{ "sleep_millisecs", U_MSEC },
		{ "stable_node_chains_prune_millisecs", U_MSEC },
		{ "advisor_target_scan_time", U_SEC }, { "advisor_max_cpu", U_PERCENT },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(units[i].name, name))
			return units[i].unit;
	return U_NONE;
}

double param_number(const struct ksm_typed_param *p)
{
	switch (p->type) {
	case KSM_PARAM_INT:	return p->value.i;
	case KSM_PARAM_UINT:	return p->value.ui;
	case KSM_PARAM_LLONG:	return p->value.l;
	case KSM_PARAM_ULLONG:	return p->value.ul;
	case KSM_PARAM_BOOLEAN:	return p->value.b;
	default:		return 0;
	}
}

/* Report a failed access to @idx with the kernel's reason and our advice. */
int fail_param(const char *what, int idx, const char *value, int err)
{
	const struct ksm_param_desc *d = ksm_param_desc(idx);
	const char *hint = ksm_param_hint(idx, err);

	warnx("cannot %s %s%s%s: %s%s%s", what, d->name, value ? "=" : "",
	      value ? value : "", strerror(-err), hint ? "; " : "", hint ? hint : "");
	return err == -ENOENT ? EXIT_NOKSM : EXIT_SYSTEM;
}
