// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl: show and tune Kernel Samepage Merging.
 *
 * Tables and JSON come from libsmartcols, so the output looks and parses
 * like the util-linux tools; --prometheus prints the text exposition format.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static struct {
	enum format format;
	bool noheadings;
	bool raw;
	bool value_only;
	int top;
	struct ksm k;
} opt = { .top = 10 };

#define MIB (1024.0 * 1024.0)

static void __attribute__((format(printf, 1, 2))) warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("ksmctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int need_ksm(void)
{
	if (ksm_available(&opt.k))
		return 0;
	warnx("KSM is not available: no %s/%s (kernel built without CONFIG_KSM?)",
	      opt.k.root, KSM_SYSFS_DIR);
	return EXIT_NOKSM;
}

/* Report a failed access to @idx with the kernel's reason and our advice. */
static int fail_param(const char *what, int idx, const char *value, int err)
{
	const struct ksm_param_desc *d = ksm_param_desc(idx);
	const char *hint = ksm_param_hint(idx, err);

	warnx("cannot %s %s%s%s: %s%s%s", what, d->name, value ? "=" : "",
	      value ? value : "", strerror(-err), hint ? "; " : "", hint ? hint : "");
	return err == -ENOENT ? EXIT_NOKSM : EXIT_SYSTEM;
}

/* ---- libsmartcols output ---------------------------------------------- */

struct col {
	const char *name;
	int json_type;
	int flags;
};

static struct libscols_table *new_table(const char *name, const struct col *cols,
					size_t ncols)
{
	struct libscols_table *tb = scols_new_table();
	size_t i;

	if (!tb) {
		warnx("out of memory");
		exit(EXIT_SYSTEM);
	}
	scols_table_set_name(tb, name);
	scols_table_enable_json(tb, opt.format == FMT_JSON);
	scols_table_enable_noheadings(tb, opt.noheadings);
	scols_table_enable_raw(tb, opt.raw);
	for (i = 0; i < ncols; i++) {
		struct libscols_column *cl;

		cl = scols_table_new_column(tb, cols[i].name, 0, cols[i].flags);
		if (!cl) {
			warnx("out of memory");
			exit(EXIT_SYSTEM);
		}
		scols_column_set_json_type(cl, cols[i].json_type);
	}
	return tb;
}

static void add_row(struct libscols_table *tb, const char *const *cells, size_t n)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);
	size_t i;

	for (i = 0; ln && i < n; i++)
		if (scols_line_set_data(ln, i, cells[i]))
			ln = NULL;
	if (!ln) {
		warnx("out of memory");
		exit(EXIT_SYSTEM);
	}
}

/* One name/value pair; the JSON type says how to print it there. */
struct kv {
	const char *name;
	char value[64];
	int json_type;
	bool absent;		/* not on this kernel: null in JSON */
};

static void set_cell(struct libscols_line *ln, size_t col, const char *data)
{
	/* NULL (or "") is written as null in JSON. */
	if (scols_line_set_data(ln, col, data)) {
		warnx("out of memory");
		exit(EXIT_SYSTEM);
	}
}

static struct libscols_column *json_column(struct libscols_table *tb, const char *name,
					   int json_type, int flags)
{
	struct libscols_column *cl = scols_table_new_column(tb, name, 0, flags);

	if (!cl || scols_column_set_json_type(cl, json_type)) {
		warnx("out of memory");
		exit(EXIT_SYSTEM);
	}
	return cl;
}

/*
 * Humans get a NAME/VALUE list; JSON gets one object whose members are the
 * names, so that a value keeps its type (numbers unquoted).
 */
static struct libscols_table *kv_table(const char *name, const struct kv *kv,
				       size_t n)
{
	static const struct col cols[] = {
		{ "NAME", SCOLS_JSON_STRING, 0 },
		{ "VALUE", SCOLS_JSON_STRING, SCOLS_FL_RIGHT },
	};
	struct libscols_table *tb;
	struct libscols_line *ln;
	size_t i;

	if (opt.format != FMT_JSON) {
		tb = new_table(name, cols, opt.value_only ? 0 : 2);
		if (opt.value_only) {
			/* Values only, one per line, for scripts. */
			scols_table_enable_noheadings(tb, 1);
			scols_table_new_column(tb, "VALUE", 0, 0);
		}
		for (i = 0; i < n; i++) {
			const char *cells[] = { kv[i].name, kv[i].value };

			if (opt.value_only)
				add_row(tb, cells + 1, 1);
			else
				add_row(tb, cells, 2);
		}
		return tb;
	}
	tb = new_table(name, NULL, 0);
	for (i = 0; i < n; i++)
		json_column(tb, kv[i].name, kv[i].json_type, 0);
	ln = scols_table_new_line(tb, NULL);
	if (!ln) {
		warnx("out of memory");
		exit(EXIT_SYSTEM);
	}
	for (i = 0; i < n; i++)
		set_cell(ln, i, kv[i].absent ? NULL : kv[i].value);
	return tb;
}

/* Print and free @tb[0..n-1], one after the other (JSON has only one). */
static int print_tables(struct libscols_table **tb, size_t n)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		if (i)
			fputc('\n', stdout);
		ret |= scols_print_table(tb[i]);
		scols_unref_table(tb[i]);
	}
	return ret ? EXIT_SYSTEM : EXIT_OK;
}

/* ---- Prometheus text exposition format --------------------------------- */

/* Escape backslash, double quote and newline, as label values need. */
static void prom_escape(char *dst, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n')
			dst[o++] = '\\';
		dst[o++] = *s == '\n' ? 'n' : *s;
	}
	dst[o] = '\0';
}

/* HELP and TYPE go out once, before the first sample of a metric. */
static void prom_sample(const char *metric, const char *help, const char *type,
			const char *labels, const char *value)
{
	static char last[128];

	if (strcmp(last, metric)) {
		snprintf(last, sizeof(last), "%s", metric);
		printf("# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
	}
	printf("%s%s %s\n", metric, labels ? labels : "", value);
}

static void prom_param(const struct ksm_param_desc *d,
		       const struct ksm_typed_param *p)
{
	char metric[128], value[64], labels[96];

	/* ksm_zero_pages already carries the prefix. */
	snprintf(metric, sizeof(metric), "%s%s",
		 strncmp(d->name, "ksm_", 4) ? "ksm_" : "", d->name);
	if (p->type == KSM_PARAM_STRING) {
		/* A choice is an info-style gauge: the selected label is 1. */
		snprintf(labels, sizeof(labels), "{%s=\"%s\"}",
			 strcmp(d->name, "advisor_mode") ? "value" : "mode",
			 p->value.s);
		prom_sample(metric, d->help, "gauge", labels, "1");
		return;
	}
	ksm_param_format(p, value, sizeof(value));
	prom_sample(metric, d->help, d->flags & KSM_PF_COUNTER ? "counter" : "gauge",
		    NULL, value);
}

/* Per-process samples, labelled with pid and comm. */
static void prom_procs(const struct ksm_proc_stat *ps, size_t n)
{
	static const struct {
		const char *metric, *help;
		size_t off;
	} m[] = {
		{ "ksm_process_merging_pages", "pages of the process merged by KSM",
		  offsetof(struct ksm_proc_stat, merging_pages) },
		{ "ksm_process_profit_bytes", "bytes KSM saves for the process, minus metadata",
		  offsetof(struct ksm_proc_stat, process_profit) },
		{ "ksm_process_rmap_items", "KSM reverse-map items of the process",
		  offsetof(struct ksm_proc_stat, rmap_items) },
		{ "ksm_process_zero_pages", "empty pages of the process merged with the zero page",
		  offsetof(struct ksm_proc_stat, zero_pages) },
	};
	char labels[192], comm[sizeof(ps->comm) * 2], v[32];
	size_t i, j;

	for (j = 0; j < sizeof(m) / sizeof(m[0]); j++) {
		for (i = 0; i < n; i++) {
			/* comm is the process's own choice: escape it. */
			prom_escape(comm, sizeof(comm), ps[i].comm);
			snprintf(labels, sizeof(labels), "{pid=\"%d\",comm=\"%s\"}",
				 ps[i].pid, comm);
			snprintf(v, sizeof(v), "%lld",
				 *(const long long *)((const char *)&ps[i] + m[j].off));
			prom_sample(m[j].metric, m[j].help, "gauge", labels, v);
		}
	}
}

/* ---- commands ---------------------------------------------------------- */

static int json_type_of(int type)
{
	switch (type) {
	case KSM_PARAM_STRING:	return SCOLS_JSON_STRING;
	/*
	 * libsmartcols reads a BOOLEAN cell's first character ("0", "n" are
	 * false, so "false" would be true): cells hold "0" or "1". The
	 * OPTIONAL kind writes an absent value as null.
	 */
	case KSM_PARAM_BOOLEAN:	return SCOLS_JSON_BOOLEAN_OPTIONAL;
	default:		return SCOLS_JSON_NUMBER;
	}
}

static void param_kv(const struct ksm_typed_param *p, struct kv *kv)
{
	memset(kv, 0, sizeof(*kv));
	kv->name = ksm_param_desc(ksm_param_lookup(p->field))->name;
	kv->json_type = json_type_of(p->type);
	ksm_param_format(p, kv->value, sizeof(kv->value));
}

/* Parameter @idx that this kernel lacks: null in JSON. */
static void absent_kv(int idx, struct kv *kv)
{
	const struct ksm_param_desc *d = ksm_param_desc(idx);

	memset(kv, 0, sizeof(*kv));
	kv->name = d->name;
	kv->json_type = json_type_of(d->type);
	kv->absent = true;
}

/*
 * @p as a JSON literal, for the VALUE column of "params -J", which mixes
 * types: libsmartcols 2.38 sets one JSON type per column, and writes the
 * cells of a NUMBER column verbatim, so each cell carries its own literal.
 * Only the fixed choice words of a STRING parameter get here (they need
 * no escaping); anything else is null.
 */
static void json_literal(const struct ksm_typed_param *p, char *buf, size_t len)
{
	const char *c;

	switch (p->type) {
	case KSM_PARAM_BOOLEAN:
		snprintf(buf, len, "%s", p->value.b ? "true" : "false");
		return;
	case KSM_PARAM_STRING:
		for (c = p->value.s; *c; c++)
			if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_-", *c))
				break;
		if (*c || snprintf(buf, len, "\"%s\"", p->value.s) >= (int)len)
			buf[0] = '\0';
		return;
	default:
		if (ksm_param_format(p, buf, len))
			buf[0] = '\0';
	}
}

/*
 * Read the parameters named in @names (all of them when @n is 0; files
 * missing on this kernel are then skipped, or null in JSON). Unknown names
 * fail first.
 */
static int cmd_get(char **names, int n)
{
	int cnt = ksm_param_count(), total = n ? n : cnt, nout = 0, i, ret;
	struct ksm_typed_param p[cnt > n ? cnt : n];
	struct kv kv[cnt > n ? cnt : n];
	struct libscols_table *tb;

	for (i = 0; i < n; i++) {
		if (ksm_param_lookup(names[i]) < 0) {
			warnx("unknown KSM parameter '%s' (see 'ksmctl get')", names[i]);
			return EXIT_USAGE;
		}
	}
	for (i = 0; i < total; i++) {
		int id = n ? ksm_param_lookup(names[i]) : i;

		ret = ksm_param_get(&opt.k, id, &p[nout]);
		if (ret == -ENOENT && !n) {
			if (opt.format == FMT_JSON)
				absent_kv(id, &kv[nout++]);
			continue;
		}
		if (ret)
			return fail_param("read", id, NULL, ret);
		if (opt.format == FMT_PROMETHEUS)
			prom_param(ksm_param_desc(id), &p[nout]);
		else
			param_kv(&p[nout], &kv[nout]);
		nout++;
	}
	if (opt.format == FMT_PROMETHEUS)
		return EXIT_OK;
	tb = kv_table("ksm", kv, nout);
	return print_tables(&tb, 1);
}

static int cmd_params(void)
{
	static const struct col cols[] = {
		{ "FIELD", SCOLS_JSON_STRING, 0 },
		{ "TYPE", SCOLS_JSON_STRING, 0 },
		/* Each cell a JSON literal of its own type: json_literal(). */
		{ "VALUE", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
		{ "ACCESS", SCOLS_JSON_STRING, 0 },
	};
	int cnt = ksm_param_count(), nshm, i;
	struct ksm_typed_param p[cnt * 2];
	struct libscols_table *tb;
	int nout = 0;

	if (opt.format == FMT_PROMETHEUS)
		return cmd_get(NULL, 0);
	/* Ours first, then the same values again under libvirt's names. */
	for (i = 0; i < cnt; i++)
		if (!ksm_param_get(&opt.k, i, &p[nout]))
			nout++;
	nshm = ksm_get_shm_params(&opt.k, p + nout, cnt);
	tb = new_table("parameters", cols, 4);
	for (i = 0; i < nout + nshm; i++) {
		const struct ksm_param_desc *d = ksm_param_desc(ksm_param_lookup(p[i].field));
		char value[64];
		const char *cells[] = { p[i].field, ksm_param_type_name(p[i].type), value,
					d->flags & KSM_PF_WRITABLE ? "rw" : "ro" };

		if (opt.format == FMT_JSON)
			json_literal(&p[i], value, sizeof(value));
		else
			ksm_param_format(&p[i], value, sizeof(value));
		add_row(tb, cells, 4);
	}
	return print_tables(&tb, 1);
}

static void mib(char *buf, size_t len, double bytes)
{
	snprintf(buf, len, "%.1f", bytes / MIB);
}

/* The cells of a process row of status; MODE is NULL when unknown. */
static void proc_cells(const struct ksm_proc_stat *st, double page, char buf[8][64],
		       const char *cells[8])
{
	int i;

	snprintf(buf[0], 64, "%d", st->pid);
	snprintf(buf[2], 64, "%lld", st->merging_pages);
	mib(buf[3], 64, st->merging_pages * page);
	mib(buf[4], 64, st->process_profit);
	snprintf(buf[5], 64, "%lld", st->rmap_items);
	snprintf(buf[6], 64, "%lld", st->zero_pages);
	for (i = 0; i < 8; i++)
		cells[i] = buf[i];
	cells[1] = st->comm;
	cells[7] = st->merge_any == 1 ? "prctl" : st->mergeable == 1 ? "madvise" : NULL;
}

static int cmd_status(void)
{
	static const struct col cols[] = {
		{ "PID", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
		{ "COMM", SCOLS_JSON_STRING, 0 },
		{ "MERGING", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
		{ "SAVED_MIB", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
		{ "PROFIT_MIB", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
		{ "RMAP_ITEMS", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
		{ "ZERO_PAGES", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
		{ "MODE", SCOLS_JSON_STRING, 0 },
	};
	static const char *const summary[] = {
		"run", "pages_to_scan", "sleep_millisecs", "pages_shared",
		"pages_sharing", "pages_unshared", "pages_volatile", "full_scans",
		"ksm_zero_pages", "general_profit",
	};
	const size_t nsum = sizeof(summary) / sizeof(summary[0]);
	struct kv kv[sizeof(summary) / sizeof(summary[0]) + 3];
	double page = opt.k.page_size;
	unsigned long long sharing = 0;
	struct libscols_table *tb[2];
	struct ksm_proc_stat *ps = NULL;
	long long profit = 0;
	size_t nps = 0, i, nkv = 0;
	int ret;

	ret = need_ksm();
	if (ret)
		return ret;
	ret = ksm_list_procs(&opt.k, KSM_LIST_MERGEABLE | KSM_LIST_BY_MERGING, &ps, &nps);
	if (ret)
		warnx("cannot list processes: %s", strerror(-ret));
	if (nps > (size_t)opt.top)
		nps = opt.top;

	for (i = 0; i < nsum; i++) {
		struct ksm_typed_param p;
		int idx = ksm_param_lookup(summary[i]);

		if (ksm_param_get(&opt.k, idx, &p)) {
			/* Older kernels lack some: null in JSON. */
			if (opt.format == FMT_JSON)
				absent_kv(idx, &kv[nkv++]);
			continue;
		}
		if (!strcmp(summary[i], "pages_sharing"))
			sharing = p.value.ul;
		if (!strcmp(summary[i], "general_profit"))
			profit = p.value.l;
		if (opt.format == FMT_PROMETHEUS)
			prom_param(ksm_param_desc(idx), &p);
		else
			param_kv(&p, &kv[nkv++]);
	}

	if (opt.format == FMT_PROMETHEUS) {
		char v[64];

		snprintf(v, sizeof(v), "%.0f", sharing * page);
		prom_sample("ksm_saved_bytes", "memory saved by merging (pages_sharing * page size)",
			    "gauge", NULL, v);
		prom_procs(ps, nps);
		free(ps);
		return EXIT_OK;
	}

	memset(&kv[nkv], 0, 2 * sizeof(kv[0]));
	kv[nkv].name = "saved_mib";
	kv[nkv].json_type = SCOLS_JSON_NUMBER;
	mib(kv[nkv++].value, sizeof(kv[0].value), sharing * page);
	kv[nkv].name = "profit_mib";
	kv[nkv].json_type = SCOLS_JSON_NUMBER;
	mib(kv[nkv++].value, sizeof(kv[0].value), profit);

	if (opt.format == FMT_JSON) {
		/*
		 * One document: the summary is the one object of "ksm", and
		 * the processes are its children (libsmartcols' tree), sharing
		 * the saved_mib and profit_mib columns; other columns are null
		 * where they do not apply.
		 */
		size_t col[8], j;
		struct libscols_line *top;

		tb[0] = new_table("ksm", NULL, 0);
		for (i = 0; i < nkv; i++)
			json_column(tb[0], kv[i].name, kv[i].json_type, i ? 0 : SCOLS_FL_TREE);
		for (j = 0; j < 8; j++) {
			if (!strcmp(cols[j].name, "SAVED_MIB") || !strcmp(cols[j].name, "PROFIT_MIB")) {
				col[j] = nkv - (cols[j].name[0] == 'S' ? 2 : 1);
				continue;
			}
			col[j] = scols_table_get_ncols(tb[0]);
			json_column(tb[0], cols[j].name, cols[j].json_type, 0);
		}
		top = scols_table_new_line(tb[0], NULL);
		if (!top) {
			warnx("out of memory");
			exit(EXIT_SYSTEM);
		}
		for (i = 0; i < nkv; i++)
			set_cell(top, i, kv[i].absent ? NULL : kv[i].value);
		for (i = 0; i < nps; i++) {
			struct libscols_line *ln = scols_table_new_line(tb[0], top);
			char buf[8][64];
			const char *cells[8];

			if (!ln) {
				warnx("out of memory");
				exit(EXIT_SYSTEM);
			}
			proc_cells(&ps[i], page, buf, cells);
			for (j = 0; j < 8; j++)
				set_cell(ln, col[j], cells[j]);
		}
		free(ps);
		return print_tables(tb, 1);
	}
	tb[0] = kv_table("ksm", kv, nkv);

	tb[1] = new_table("processes", cols, 8);
	for (i = 0; i < nps; i++) {
		char buf[8][64];
		const char *cells[8];

		proc_cells(&ps[i], page, buf, cells);
		if (!cells[7])
			cells[7] = "-";
		add_row(tb[1], cells, 8);
	}
	free(ps);
	return print_tables(tb, 2);
}

/*
 * The refusals of the kernel's store functions that depend on its state,
 * for @args in the order they will be written: pages_to_scan while the
 * advisor is on (EINVAL), and a new max_page_sharing or merge_across_nodes
 * while KSM pages exist (EBUSY), unless run=2 comes first. Returns 0, or
 * prints one line and returns EXIT_SYSTEM, as if the kernel had refused
 * (nothing is written).
 */
static int check_state(char **args, const struct ksm_typed_param *p, const int *idx,
		       int n)
{
	struct ksm_typed_param mode, cur;
	unsigned long long shared = 0;
	char now[64], want[64];
	bool advisor, merged;
	int i;

	advisor = !ksm_param_get(&opt.k, ksm_param_lookup("advisor_mode"), &mode) &&
		  strcmp(mode.value.s, "none");
	merged = !ksm_get_ull(&opt.k, "pages_shared", &shared) && shared;
	for (i = 0; i < n; i++) {
		const struct ksm_param_desc *d = ksm_param_desc(idx[i]);
		int err = 0;

		if (!strcmp(d->name, "advisor_mode")) {
			advisor = strcmp(p[i].value.s, "none");
		} else if (!strcmp(d->name, "run")) {
			if (p[i].value.ui == KSM_RUN_UNMERGE)
				merged = false;
		} else if (!strcmp(d->name, "pages_to_scan")) {
			if (advisor)
				err = -EINVAL;
		} else if ((d->flags & KSM_PF_BUSY) && merged &&
			   !ksm_param_get(&opt.k, idx[i], &cur) &&
			   !ksm_param_format(&cur, now, sizeof(now)) &&
			   !ksm_param_format(&p[i], want, sizeof(want)) && strcmp(now, want)) {
			err = -EBUSY;
		}
		if (err) {
			warnx("cannot set %s: %s", args[i], ksm_param_hint(idx[i], err));
			return EXIT_SYSTEM;
		}
	}
	return 0;
}

static int cmd_set(char **args, int n)
{
	struct ksm_typed_param p[n ? n : 1];
	int idx[n ? n : 1], i, ret;
	char err[256];

	if (!n) {
		warnx("set: expected NAME=VALUE arguments");
		return EXIT_USAGE;
	}
	ret = need_ksm();
	if (ret)
		return ret;
	/* Check everything first, so that one bad argument writes nothing. */
	for (i = 0; i < n; i++) {
		char *eq = strchr(args[i], '=');
		struct ksm_typed_param cur;

		if (!eq || eq == args[i]) {
			warnx("set: '%s' is not NAME=VALUE", args[i]);
			return EXIT_USAGE;
		}
		*eq = '\0';
		idx[i] = ksm_param_lookup(args[i]);
		if (idx[i] < 0) {
			warnx("unknown KSM parameter '%s' (see 'ksmctl get')", args[i]);
			return EXIT_USAGE;
		}
		if (ksm_param_parse(idx[i], eq + 1, &p[i], err, sizeof(err))) {
			warnx("%s", err);
			return EXIT_USAGE;
		}
		*eq = '=';
		ret = ksm_param_get(&opt.k, idx[i], &cur);
		if (ret)
			return fail_param("read", idx[i], NULL, ret);
	}
	ret = check_state(args, p, idx, n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		ret = ksm_param_set(&opt.k, &p[i]);
		if (ret) {
			ret = fail_param("set", idx[i], strchr(args[i], '=') + 1, ret);
			if (i)
				warnx("the %d setting%s before it %s applied", i,
				      i > 1 ? "s" : "", i > 1 ? "were" : "was");
			return ret;
		}
	}
	return EXIT_OK;
}

static int cmd_run(enum ksm_run_mode mode)
{
	static const char *const val[] = { "0", "1", "2" };
	int ret = need_ksm();

	if (ret)
		return ret;
	ret = ksm_set_run(&opt.k, mode);
	return ret ? fail_param("set", ksm_param_lookup("run"), val[mode], ret) : EXIT_OK;
}

static void usage(FILE *out)
{
	fputs("Usage: ksmctl [options] COMMAND [ARG...]\n"
	      "\n"
	      "Commands:\n"
	      "  status               savings and the processes with most merged pages\n"
	      "  start | stop         run or stop ksmd (run=1 / run=0)\n"
	      "  unmerge              stop ksmd and unmerge all pages (run=2)\n"
	      "  get [NAME...]        show parameters (all by default)\n"
	      "  set NAME=VALUE...    change tunables; all are checked before any is written\n"
	      "  params               typed parameters, also under libvirt's shm_* names\n"
	      "\n"
	      "Options:\n"
	      "  -J, --json           JSON output\n"
	      "  -P, --prometheus     Prometheus text exposition format\n"
	      "  -n, --noheadings     no table headings\n"
	      "  -r, --raw            raw table output\n"
	      "      --value          print values only, one per line (get)\n"
	      "  -t, --top N          processes to list in status (default 10)\n"
	      "      --root DIR       read /sys and /proc under DIR (or $KSM_ROOT)\n"
	      "  -h, --help           this help\n"
	      "  -V, --version        version\n", out);
}

int main(int argc, char **argv)
{
	enum { OPT_ROOT = 256, OPT_VALUE };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "raw", no_argument, NULL, 'r' },
		{ "value", no_argument, NULL, OPT_VALUE },
		{ "top", required_argument, NULL, 't' },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = NULL, *cmd;
	unsigned long long top;
	int c;

	/* Options may follow the command: NAME=VALUE never starts with '-'. */
	while ((c = getopt_long(argc, argv, "JPnrt:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'J': opt.format = FMT_JSON; break;
		case 'P': opt.format = FMT_PROMETHEUS; break;
		case 'n': opt.noheadings = true; break;
		case 'r': opt.raw = true; break;
		case OPT_VALUE: opt.value_only = true; break;
		case OPT_ROOT: root = optarg; break;
		case 't':
			if (ksm_parse_ull(optarg, &top) || top > 100000) {
				warnx("invalid --top '%s'", optarg);
				return EXIT_USAGE;
			}
			opt.top = (int)top;
			break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': puts("ksmctl (KSM tools) 1.0"); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (ksm_init(&opt.k, root)) {
		warnx("--root: path too long");
		return EXIT_USAGE;
	}
	cmd = optind < argc ? argv[optind++] : "status";
	argv += optind;
	argc -= optind;

	if (!strcmp(cmd, "status") && !argc)
		return cmd_status();
	if (!strcmp(cmd, "get"))
		return need_ksm() ?: cmd_get(argv, argc);
	if (!strcmp(cmd, "set"))
		return cmd_set(argv, argc);
	if (!strcmp(cmd, "params") && !argc)
		return need_ksm() ?: cmd_params();
	if (!strcmp(cmd, "start") && !argc)
		return cmd_run(KSM_RUN_MERGE);
	if (!strcmp(cmd, "stop") && !argc)
		return cmd_run(KSM_RUN_STOP);
	if (!strcmp(cmd, "unmerge") && !argc)
		return cmd_run(KSM_RUN_UNMERGE);
	warnx("unknown command or extra arguments: '%s' (see 'ksmctl --help')", cmd);
	return EXIT_USAGE;
}
