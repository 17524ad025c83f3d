// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl: show and tune Kernel Samepage Merging.
 *
 * In the manner of util-linux's tools: one table of columns (infos[])
 * that -o/--output, --output-all, --list-columns and --help all read,
 * sizes human-readable unless --bytes, tables and JSON from libsmartcols.
 * This file has the command line and the parameter commands; common.c
 * what they all share, ps.c the processes, prometheus.c the text
 * exposition format.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "prometheus.h"
#include "ps.h"

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

/*
 * @p as a JSON literal, for a VALUE column, which mixes types:
 * libsmartcols 2.38 sets one JSON type per column and writes the cells of
 * a NUMBER column verbatim, so each cell carries its own literal. Only the
 * fixed choice words of a STRING parameter get here (they need no
 * escaping); anything else is null.
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

/* One row of the parameter view; @p is NULL for a file this kernel lacks. */
static void param_row(struct libscols_table *tb, int idx, const char *field,
		      const struct ksm_typed_param *p)
{
	const struct ksm_param_desc *d = ksm_param_desc(idx);
	struct libscols_line *ln = scols_table_new_line(tb, NULL);
	char buf[64];
	size_t i;

	if (!ln)
		oom();
	for (i = 0; i < opt.ncolumns; i++) {
		const char *data = NULL;
		enum unit u;

		buf[0] = '\0';
		switch (opt.columns[i]) {
		case COL_NAME:	 data = d->name; break;
		case COL_FIELD:	 data = field; break;
		case COL_TYPE:	 data = ksm_param_type_name(d->type); break;
		case COL_ACCESS: data = d->flags & KSM_PF_WRITABLE ? "rw" : "ro"; break;
		case COL_ALIAS:	 data = d->alias; break;
		case COL_DESC:	 data = d->help; break;
		case COL_VALUE:
			if (!p)
				break;
			if (opt.format == FMT_JSON)
				json_literal(p, buf, sizeof(buf));
			else
				ksm_param_format(p, buf, sizeof(buf));
			data = buf;
			break;
		case COL_SIZE:
			u = param_unit(d->name);
			if (!p || (u != U_PAGES && u != U_BYTES))
				break;
			size_str(buf, sizeof(buf), (long long)param_number(p) *
				 (u == U_PAGES ? opt.k.page_size : 1));
			data = buf;
			break;
		}
		set_cell(ln, i, data);
	}
}

/* "get -J" without -o: one object, its members the names, typed. */
static int get_json_object(const int *ids, int n, bool all)
{
	struct libscols_table *tb = new_table("ksm");
	struct libscols_line *ln;
	struct ksm_typed_param p;
	char v[64];
	int i, col = 0, ret;

	ln = NULL;
	for (i = 0; i < n; i++)
		json_column(tb, ksm_param_desc(ids[i])->name,
			    json_type_of(ksm_param_desc(ids[i])->type), 0);
	ln = scols_table_new_line(tb, NULL);
	if (!ln)
		oom();
	for (i = 0; i < n; i++, col++) {
		ret = ksm_param_get(&opt.k, ids[i], &p);
		if (ret == -ENOENT && all) {
			set_cell(ln, col, NULL);
			continue;
		}
		if (ret) {
			scols_unref_table(tb);
			return fail_param("read", ids[i], NULL, ret);
		}
		ksm_param_format(&p, v, sizeof(v));
		set_cell(ln, col, v);
	}
	return print_table(tb);
}

/*
 * The parameters named in @names, or all of them (files missing on this
 * kernel are then skipped, or null in JSON). Unknown names fail first.
 */
static int cmd_get(char **names, int n)
{
	static const int defaults[] = { COL_NAME, COL_VALUE, COL_DESC };
	static const int value_only[] = { COL_VALUE };
	int cnt = ksm_param_count(), total = n ? n : cnt, i, ret;
	int ids[cnt > n ? cnt : n];
	struct libscols_table *tb;

	for (i = 0; i < total; i++) {
		ids[i] = n ? ksm_param_lookup(names[i]) : i;
		if (ids[i] < 0) {
			warnx("unknown KSM parameter '%s' (see 'ksmctl get')", names[i]);
			return EXIT_USAGE;
		}
	}
	if (opt.format == FMT_PROMETHEUS) {
		ret = prom_open();
		return prom_close(ret ?: prom_params(ids, total, !n));
	}
	if (opt.value_only) {
		memcpy(opt.columns, value_only, sizeof(value_only));
		opt.ncolumns = 1;
		/* Values only, one per line, unpadded, for scripts. */
		opt.noheadings = true;
		opt.raw = true;
	} else {
		if (opt.format == FMT_JSON && !opt.output && !opt.output_all)
			return get_json_object(ids, total, !n);
		ret = select_columns(VIEW_PARAM, defaults, 3);
		if (ret)
			return ret;
	}
	tb = new_table("ksm");
	add_columns(tb);
	for (i = 0; i < total; i++) {
		struct ksm_typed_param p;

		ret = ksm_param_get(&opt.k, ids[i], &p);
		if (ret == -ENOENT && !n) {
			if (opt.format == FMT_JSON)
				param_row(tb, ids[i], ksm_param_desc(ids[i])->name, NULL);
			continue;
		}
		if (ret) {
			scols_unref_table(tb);
			return fail_param("read", ids[i], NULL, ret);
		}
		param_row(tb, ids[i], p.field, &p);
	}
	return print_table(tb);
}

static int cmd_params(void)
{
	static const int defaults[] = { COL_FIELD, COL_TYPE, COL_VALUE, COL_ACCESS };
	int cnt = ksm_param_count(), nshm, nout = 0, i, ret;
	struct ksm_typed_param p[cnt * 2];
	struct libscols_table *tb;

	if (opt.format == FMT_PROMETHEUS)
		return cmd_get(NULL, 0);
	ret = select_columns(VIEW_PARAM, defaults, 4);
	if (ret)
		return ret;
	/* Ours first, then the same values again under libvirt's names. */
	for (i = 0; i < cnt; i++)
		if (!ksm_param_get(&opt.k, i, &p[nout]))
			nout++;
	nshm = ksm_get_shm_params(&opt.k, p + nout, cnt);
	tb = new_table("parameters");
	add_columns(tb);
	for (i = 0; i < nout + nshm; i++)
		param_row(tb, ksm_param_lookup(p[i].field), p[i].field, &p[i]);
	return print_table(tb);
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

/* --list-columns: the columns of @view (both when 0), as a table. */
static int list_columns(unsigned int view)
{
	struct libscols_table *tb = new_table("columns");
	int i;

	json_column(tb, "COLUMN", SCOLS_JSON_STRING, 0);
	json_column(tb, "COMMANDS", SCOLS_JSON_STRING, 0);
	json_column(tb, "DESCRIPTION", SCOLS_JSON_STRING, 0);
	for (i = 0; i < NCOLS; i++) {
		struct libscols_line *ln;

		if (view && !(infos[i].view & view))
			continue;
		ln = scols_table_new_line(tb, NULL);
		if (!ln)
			oom();
		set_cell(ln, 0, infos[i].name);
		set_cell(ln, 1, infos[i].view & VIEW_PARAM ? "get,params" : "ps,status");
		set_cell(ln, 2, infos[i].help);
	}
	return print_table(tb);
}

static void usage(void)
{
	unsigned int views[] = { VIEW_PARAM, VIEW_PROC };
	size_t v;
	int i;

	fputs("Usage:\n"
	      " ksmctl [options] [COMMAND [ARG...]]\n"
	      "\n"
	      "Show and tune Kernel Samepage Merging.\n"
	      "\n"
	      "Commands:\n"
	      " status               savings and the processes with most merged pages (default)\n"
	      " ps                   every process with KSM enabled\n"
	      " start | stop         run or stop ksmd (run=1 / run=0)\n"
	      " unmerge              stop ksmd and unmerge all pages (run=2)\n"
	      " get [NAME...]        show parameters (all by default)\n"
	      " set NAME=VALUE...    change tunables; all are checked before any is written\n"
	      " params               typed parameters, also under libvirt's shm_* names\n"
	      "\n"
	      "Options:\n"
	      " -o, --output LIST    the columns to print (+LIST adds to the defaults)\n"
	      "     --output-all     print every column\n"
	      "     --list-columns   list the columns and exit\n"
	      " -b, --bytes          print sizes in bytes, not in human-readable form\n"
	      " -n, --noheadings     do not print headings\n"
	      " -r, --raw            raw output\n"
	      " -J, --json           JSON output\n"
	      "     --value          print values only, one per line (get)\n"
	      " -p, --pid LIST       only these processes (ps, status; comma separated)\n"
	      " -t, --top N          processes listed by status and --prometheus (default 10)\n"
	      " -A, --all-processes  every process with KSM enabled (status, --prometheus)\n"
	      " -P, --prometheus     Prometheus text exposition format\n"
	      "     --textfile PATH  write it to PATH atomically (node_exporter's textfile)\n"
	      "     --root DIR       read /sys and /proc under DIR (or $KSM_ROOT)\n"
	      " -h, --help           display this help\n"
	      " -V, --version        display version\n", stdout);
	for (v = 0; v < sizeof(views) / sizeof(views[0]); v++) {
		printf("\nAvailable columns for %s (for --output):\n",
		       view_commands(views[v]));
		for (i = 0; i < NCOLS; i++)
			if (infos[i].view & views[v])
				printf(" %11s  %s\n", infos[i].name, infos[i].help);
	}
	fputs("\nFor more details see ksmctl(8).\n", stdout);
}

static int __attribute__((noreturn)) try_help(void)
{
	fputs("Try 'ksmctl --help' for more information.\n", stderr);
	exit(EXIT_USAGE);
}

enum {
	OPT_ROOT = 256,
	OPT_VALUE,
	OPT_OUTPUT_ALL,
	OPT_LIST_COLUMNS,
	OPT_TEXTFILE,
};

static const struct option longopts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "output-all", no_argument, NULL, OPT_OUTPUT_ALL },
	{ "list-columns", no_argument, NULL, OPT_LIST_COLUMNS },
	{ "bytes", no_argument, NULL, 'b' },
	{ "noheadings", no_argument, NULL, 'n' },
	{ "raw", no_argument, NULL, 'r' },
	{ "json", no_argument, NULL, 'J' },
	{ "value", no_argument, NULL, OPT_VALUE },
	{ "pid", required_argument, NULL, 'p' },
	{ "top", required_argument, NULL, 't' },
	{ "all-processes", no_argument, NULL, 'A' },
	{ "prometheus", no_argument, NULL, 'P' },
	{ "textfile", required_argument, NULL, OPT_TEXTFILE },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/*
 * Options that cannot go together: at most one of each group. The
 * output formats exclude each other; --textfile is Prometheus output.
 */
static const int excl[][6] = {
	{ 'J', 'P', 'r', OPT_VALUE },
	{ 'J', 'r', OPT_VALUE, OPT_TEXTFILE },
	{ 'o', OPT_OUTPUT_ALL, OPT_VALUE, 'P' },
	{ 'o', OPT_OUTPUT_ALL, OPT_VALUE, OPT_TEXTFILE },
	{ 'A', 't' },
	{ 'A', 'p' },
};

static const char *opt_name(int c)
{
	size_t i;

	for (i = 0; longopts[i].name; i++)
		if (longopts[i].val == c)
			return longopts[i].name;
	return "?";
}

static void check_exclusive(int c)
{
	static int seen[sizeof(excl) / sizeof(excl[0])];
	size_t g, i;

	for (g = 0; g < sizeof(excl) / sizeof(excl[0]); g++) {
		for (i = 0; i < 6 && excl[g][i]; i++) {
			if (excl[g][i] != c)
				continue;
			if (seen[g] && seen[g] != c) {
				warnx("--%s and --%s are mutually exclusive",
				      opt_name(seen[g]), opt_name(c));
				exit(EXIT_USAGE);
			}
			seen[g] = c;
		}
	}
}

static void parse_pids(const char *arg)
{
	const char *s = arg;

	while (*s) {
		unsigned long long v;
		char num[24];
		size_t len = strcspn(s, ",");
		int *np;

		snprintf(num, sizeof(num), "%.*s", (int)(len < 23 ? len : 23), s);
		if (len >= 23 || ksm_parse_ull(num, &v) || !v || v > 4194304) {
			warnx("invalid --pid '%s': expected process IDs, comma separated", arg);
			exit(EXIT_USAGE);
		}
		np = realloc(opt.pids, (opt.npids + 1) * sizeof(*np));
		if (!np)
			oom();
		opt.pids = np;
		opt.pids[opt.npids++] = (int)v;
		s += len;
		if (*s == ',')
			s++;
	}
}

/* Standard output may be a full disk or a closed pipe: say so. */
static int close_stdout(int ret)
{
	if (fflush(stdout) || ferror(stdout)) {
		if (!ret)
			warnx("write error on standard output: %s", strerror(errno ? errno : EIO));
		return ret ? ret : EXIT_SYSTEM;
	}
	return ret;
}

static int run_command(const char *cmd, char **argv, int argc)
{
	if (!strcmp(cmd, "status") && !argc)
		return cmd_status();
	if (!strcmp(cmd, "ps") && !argc)
		return need_ksm() ?: cmd_ps();
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
	if (argc && (!strcmp(cmd, "status") || !strcmp(cmd, "ps") || !strcmp(cmd, "params") ||
		     !strcmp(cmd, "start") || !strcmp(cmd, "stop") || !strcmp(cmd, "unmerge")))
		warnx("%s: unexpected argument '%s'", cmd, argv[0]);
	else
		warnx("unknown command '%s'", cmd);
	try_help();
}

int main(int argc, char **argv)
{
	const char *root = NULL, *cmd;
	bool list_cols = false;
	unsigned long long top;
	int c;

	opterr = 0;
	/* Options may follow the command: NAME=VALUE never starts with '-'. */
	while ((c = getopt_long(argc, argv, ":o:bnrJp:t:APhV", longopts, NULL)) != -1) {
		if (c != '?' && c != ':')
			check_exclusive(c);
		switch (c) {
		case 'o': opt.output = optarg; break;
		case OPT_OUTPUT_ALL: opt.output_all = true; break;
		case OPT_LIST_COLUMNS: list_cols = true; break;
		case 'b': opt.bytes = true; break;
		case 'n': opt.noheadings = true; break;
		case 'r': opt.raw = true; break;
		case 'J': opt.format = FMT_JSON; break;
		case OPT_VALUE: opt.value_only = true; break;
		case 'p': parse_pids(optarg); break;
		case 'A': opt.all_procs = true; break;
		case 'P': opt.format = FMT_PROMETHEUS; break;
		case OPT_TEXTFILE:
			if (!*optarg) {
				warnx("--textfile: empty path");
				return EXIT_USAGE;
			}
			opt.textfile = optarg;
			opt.format = FMT_PROMETHEUS;
			break;
		case OPT_ROOT: root = optarg; break;
		case 't':
			if (ksm_parse_ull(optarg, &top) || top > 100000) {
				warnx("invalid --top '%s': expected a number up to 100000", optarg);
				return EXIT_USAGE;
			}
			opt.top = (int)top;
			break;
		case 'h': usage(); return close_stdout(EXIT_OK);
		case 'V': puts("ksmctl (KSM tools) 1.1"); return close_stdout(EXIT_OK);
		case ':':
			if (!strncmp(argv[optind - 1], "--", 2))
				warnx("option '%s' requires an argument", argv[optind - 1]);
			else if (optopt)
				warnx("option requires an argument -- '%c'", optopt);
			else
				warnx("option requires an argument");
			try_help();
		default:
			if (!strncmp(argv[optind - 1], "--", 2))
				warnx("unrecognized option '%s'", argv[optind - 1]);
			else if (optopt)
				warnx("invalid option -- '%c'", optopt);
			else
				warnx("invalid option");
			try_help();
		}
	}
	if (ksm_init(&opt.k, root)) {
		warnx("--root: path too long");
		return EXIT_USAGE;
	}
	if (list_cols) {
		unsigned int view = 0;

		if (optind < argc) {
			cmd = argv[optind];
			if (!strcmp(cmd, "get") || !strcmp(cmd, "params"))
				view = VIEW_PARAM;
			else if (!strcmp(cmd, "ps") || !strcmp(cmd, "status"))
				view = VIEW_PROC;
		}
		return close_stdout(list_columns(view));
	}
	cmd = optind < argc ? argv[optind++] : "status";
	argv += optind;
	argc -= optind;
	return close_stdout(run_command(cmd, argv, argc));
}
