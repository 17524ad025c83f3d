// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl ps and status: the processes KSM works for, named the way an
 * operator knows them (a VM's name, a command line, a cgroup).
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "common.h"
#include "prometheus.h"
#include "ps.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const int proc_defaults[] = {
	COL_PID, COL_MODE, COL_MERGING, COL_SAVED, COL_PROFIT, COL_CGROUP, COL_COMMAND,
};
#define NPROC_DEFAULTS (sizeof(proc_defaults) / sizeof(proc_defaults[0]))

/*
 * The VM name in the value of qemu's -name: "guest=NAME,..." or a bare
 * first element "NAME,..."; ",," is a comma inside a value.
 */
static void qemu_name(const char *val, char *out, size_t len)
{
	char item[256];
	int first = 1;

	out[0] = '\0';
	while (*val) {
		size_t o = 0;

		for (; *val; val++) {
			if (*val == ',' && val[1] == ',')
				val++;
			else if (*val == ',')
				break;
			if (o + 1 < sizeof(item))
				item[o++] = *val;
		}
		item[o] = '\0';
		if (*val)
			val++;
		if (!strncmp(item, "guest=", 6)) {
			snprintf(out, len, "%s", item + 6);
			return;
		}
		if (first && !strchr(item, '='))
			snprintf(out, len, "%s", item);
		first = 0;
	}
}

/* /proc/PID/cmdline: the arguments joined by spaces, and qemu's VM name. */
static void read_cmdline(struct ksm_proc_info *pi)
{
	char rel[64], buf[sizeof(pi->args)], *arg, *end, *base;
	bool qemu;
	int n;

	snprintf(rel, sizeof(rel), "proc/%d/cmdline", pi->st.pid);
	n = ksm_read_file(&opt.k, rel, buf, sizeof(buf));
	if (n <= 0)
		return;
	end = buf + n;
	/* Only qemu's -name is a VM name ("find -name" is not). */
	base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	qemu = !strncmp(base, "qemu", 4);
	for (arg = buf; arg < end; arg += strlen(arg) + 1) {
		char *next = arg + strlen(arg) + 1;

		if (qemu && !pi->vm[0] && next < end &&
		    (!strcmp(arg, "-name") || !strcmp(arg, "--name")))
			qemu_name(next, pi->vm, sizeof(pi->vm));
	}
	/* The arguments are NUL-terminated: join them with spaces. */
	while (n > 0 && !buf[n - 1])
		n--;
	for (arg = buf; arg < buf + n; arg++)
		if (!*arg)
			*arg = ' ';
	buf[n] = '\0';
	snprintf(pi->args, sizeof(pi->args), "%s", buf);
}

/* The cgroup v2 line of /proc/PID/cgroup: "0::/PATH". */
static void read_cgroup(struct ksm_proc_info *pi)
{
	char rel[64], buf[8192], *line;

	snprintf(rel, sizeof(rel), "proc/%d/cgroup", pi->st.pid);
	if (ksm_read_file(&opt.k, rel, buf, sizeof(buf)) < 0)
		return;
	for (line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, "0::", 3))
			continue;
		line += 3;
		snprintf(pi->cgroup, sizeof(pi->cgroup), "%.*s", (int)strcspn(line, "\n"), line);
		pi->have_cgroup = true;
		return;
	}
}

/*
 * The cgroup directories by inode number, for ksm_merge_domain (the
 * inode of the domain cgroup's directory): one walk of the cgroup v2
 * tree, on the first process that has a domain, kept for the run.
 */
struct cg_dir {
	unsigned long long ino;
	char *path;
};

static struct cg_dir *cg_dirs;
static size_t cg_ndirs, cg_cap, cg_base_len;

static int cg_visit(const char *fpath, const struct stat *sb, int flag, struct FTW *ftw)
{
	const char *rel = fpath + cg_base_len;

	(void)ftw;
	if (flag != FTW_D && flag != FTW_DNR)
		return 0;
	if (cg_ndirs == cg_cap) {
		struct cg_dir *nd;

		cg_cap = cg_cap ? cg_cap * 2 : 256;
		nd = realloc(cg_dirs, cg_cap * sizeof(*nd));
		if (!nd)
			oom();
		cg_dirs = nd;
	}
	cg_dirs[cg_ndirs].ino = sb->st_ino;
	cg_dirs[cg_ndirs].path = strdup(*rel ? rel : "/");
	if (!cg_dirs[cg_ndirs].path)
		oom();
	cg_ndirs++;
	return 0;
}

static int by_ino(const void *a, const void *b)
{
	const struct cg_dir *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static void cg_walk(void)
{
	static bool walked;
	char path[PATH_MAX];
	struct statfs sf;

	if (walked)
		return;
	walked = true;
	/* cgroup v2 is /sys/fs/cgroup, or /sys/fs/cgroup/unified (hybrid). */
	if (ksm_path(&opt.k, "sys/fs/cgroup/unified", path, sizeof(path)) ||
	    statfs(path, &sf) || sf.f_type != CGROUP2_SUPER_MAGIC)
		if (ksm_path(&opt.k, "sys/fs/cgroup", path, sizeof(path)))
			return;
	cg_base_len = strlen(path);
	/* Not into other mounts: their inode numbers are another space. */
	nftw(path, cg_visit, 16, FTW_PHYS | FTW_MOUNT);
	qsort(cg_dirs, cg_ndirs, sizeof(*cg_dirs), by_ino);
}

static void find_domain(struct ksm_proc_info *pi)
{
	struct cg_dir key = { .ino = pi->st.merge_domain }, *d;

	if (!pi->st.have_merge_domain || !pi->st.merge_domain)
		return;
	cg_walk();
	d = cg_ndirs ? bsearch(&key, cg_dirs, cg_ndirs, sizeof(*cg_dirs), by_ino) : NULL;
	/* Not found: a cgroup made after the walk, or no cgroup v2 here. */
	if (d)
		snprintf(pi->domain, sizeof(pi->domain), "%s", d->path);
	else
		snprintf(pi->domain, sizeof(pi->domain), "#%llu", pi->st.merge_domain);
	pi->have_domain = true;
}

static void fill_info(struct ksm_proc_info *pi, const struct ksm_proc_stat *st)
{
	memset(pi, 0, sizeof(*pi));
	pi->st = *st;
	read_cmdline(pi);
	read_cgroup(pi);
	find_domain(pi);
}

int read_procs(struct ksm_proc_info **out, size_t *n)
{
	struct ksm_proc_stat *ps = NULL;
	struct ksm_proc_info *pi;
	size_t nps = 0, i;
	int ret;

	if (opt.npids) {
		ps = calloc(opt.npids, sizeof(*ps));
		if (!ps)
			oom();
		for (i = 0; i < opt.npids; i++) {
			ret = ksm_read_proc_stat(&opt.k, opt.pids[i], &ps[i]);
			if (ret) {
				warnx("process %d: %s", opt.pids[i],
				      ret == -ENOENT ? "no such process" :
				      ret == -ENODATA ? "no KSM state (a kernel thread?)" :
				      strerror(-ret));
				free(ps);
				return ret == -ENOENT || ret == -ENODATA ? EXIT_USAGE : EXIT_SYSTEM;
			}
		}
		nps = opt.npids;
	} else {
		ret = ksm_list_procs(&opt.k, KSM_LIST_MERGEABLE | KSM_LIST_BY_MERGING, &ps, &nps);
		if (ret) {
			warnx("cannot list processes: %s", strerror(-ret));
			return EXIT_SYSTEM;
		}
	}
	pi = calloc(nps ? nps : 1, sizeof(*pi));
	if (!pi)
		oom();
	for (i = 0; i < nps; i++)
		fill_info(&pi[i], &ps[i]);
	free(ps);
	*out = pi;
	*n = nps;
	return 0;
}

const char *proc_command(const struct ksm_proc_info *pi)
{
	static char kthread[sizeof(pi->st.comm) + 2];

	if (pi->vm[0])
		return pi->vm;
	if (pi->args[0])
		return pi->args;
	snprintf(kthread, sizeof(kthread), "[%s]", pi->st.comm);
	return kthread;
}

const char *proc_mode(const struct ksm_proc_stat *st)
{
	return st->merge_any == 1 ? "process" : st->mergeable == 1 ? "madvise" : NULL;
}

/* The cell of column @col for @pi; NULL is null in JSON. */
static const char *proc_cell(const struct ksm_proc_info *pi, int col, char *buf, size_t len)
{
	const struct ksm_proc_stat *st = &pi->st;
	const char *mode;

	switch (col) {
	case COL_PID:		snprintf(buf, len, "%d", st->pid); return buf;
	case COL_COMM:		return st->comm;
	case COL_COMMAND:	return proc_command(pi);
	case COL_ARGS:		return pi->args[0] ? pi->args : NULL;
	case COL_VM:		return pi->vm[0] ? pi->vm : NULL;
	case COL_CGROUP:	return pi->have_cgroup ? pi->cgroup : NULL;
	case COL_DOMAIN:
		return pi->have_domain ? pi->domain : opt.format == FMT_JSON ? NULL : "-";
	case COL_MODE:
		mode = proc_mode(st);
		return mode ? mode : opt.format == FMT_JSON ? NULL : "-";
	case COL_MERGING:	snprintf(buf, len, "%lld", st->merging_pages); return buf;
	case COL_RMAP_ITEMS:	snprintf(buf, len, "%lld", st->rmap_items); return buf;
	case COL_ZERO_PAGES:	snprintf(buf, len, "%lld", st->zero_pages); return buf;
	case COL_SAVED:
		size_str(buf, len, st->merging_pages * opt.k.page_size);
		return buf;
	case COL_PROFIT:	size_str(buf, len, st->process_profit); return buf;
	case COL_RSS:		size_str(buf, len, (long long)st->rss_kb * 1024); return buf;
	}
	return NULL;
}

static void proc_row(struct libscols_table *tb, struct libscols_line *parent,
		     const struct ksm_proc_info *pi, const size_t *colno)
{
	struct libscols_line *ln = scols_table_new_line(tb, parent);
	char buf[64];
	size_t i;

	if (!ln)
		oom();
	for (i = 0; i < opt.ncolumns; i++)
		set_cell(ln, colno ? colno[i] : i, proc_cell(pi, opt.columns[i], buf, sizeof(buf)));
}

int cmd_ps(void)
{
	struct ksm_proc_info *pi;
	struct libscols_table *tb;
	size_t n, i;
	int ret;

	if (opt.format == FMT_PROMETHEUS) {
		ret = read_procs(&pi, &n);
		if (ret)
			return ret;
		ret = prom_open();
		if (!ret)
			prom_procs(pi, n);
		free(pi);
		return prom_close(ret);
	}
	ret = select_columns(VIEW_PROC, proc_defaults, NPROC_DEFAULTS);
	if (ret)
		return ret;
	ret = read_procs(&pi, &n);
	if (ret)
		return ret;
	tb = new_table("processes");
	add_columns(tb);
	for (i = 0; i < n; i++)
		proc_row(tb, NULL, &pi[i], NULL);
	free(pi);
	return print_table(tb);
}

/* The rows of the status summary. */
static const char *const summary[] = {
	"run", "pages_to_scan", "sleep_millisecs", "pages_shared",
	"pages_sharing", "pages_unshared", "pages_volatile", "full_scans",
	"ksm_zero_pages", "general_profit", "merge_across_cgroups", "cgroup_domain_depth",
};
#define NSUMMARY (sizeof(summary) / sizeof(summary[0]))

struct kv {
	const char *name;
	char value[64];
	int json_type;
	bool absent;		/* not on this kernel: null in JSON */
};

static int summary_json_type(int type)
{
	/* A boolean cell is "0" or "1" (see json_type_of() in ksmctl.c). */
	return type == KSM_PARAM_STRING ? SCOLS_JSON_STRING :
	       type == KSM_PARAM_BOOLEAN ? SCOLS_JSON_BOOLEAN_OPTIONAL : SCOLS_JSON_NUMBER;
}

/* Merge domains are on: merge_across_cgroups exists and is 0. */
static bool domains_on(void)
{
	struct ksm_typed_param p;

	return !ksm_param_get(&opt.k, ksm_param_lookup("merge_across_cgroups"), &p) &&
	       !p.value.b;
}

static int by_domain_merging(const void *a, const void *b)
{
	const struct domain_sum *x = a, *y = b;

	if (x->merging_pages != y->merging_pages)
		return x->merging_pages > y->merging_pages ? -1 : 1;
	if (!x->domain || !y->domain)
		return !x->domain - !y->domain;
	return strcmp(x->domain, y->domain);
}

/*
 * The processes of @pi summed by merge domain (ksm_merge_domain), most
 * merged pages first; those whose domain is not known form one row.
 */
static size_t domain_sums(const struct ksm_proc_info *pi, size_t n, struct domain_sum **out)
{
	struct domain_sum *d = calloc(n ? n : 1, sizeof(*d));
	size_t nd = 0, i, j;

	if (!d)
		oom();
	for (i = 0; i < n; i++) {
		const struct ksm_proc_stat *st = &pi[i].st;

		for (j = 0; j < nd; j++)
			if (d[j].have_id == st->have_merge_domain &&
			    (!d[j].have_id || d[j].id == st->merge_domain))
				break;
		if (j == nd) {
			d[nd].have_id = st->have_merge_domain;
			d[nd].id = st->merge_domain;
			d[nd].domain = pi[i].have_domain ? pi[i].domain : NULL;
			nd++;
		}
		d[j].processes++;
		d[j].merging_pages += st->merging_pages;
		d[j].profit += st->process_profit;
	}
	qsort(d, nd, sizeof(*d), by_domain_merging);
	*out = d;
	return nd;
}

/* The per-domain table: DOMAIN ID PROCESSES MERGING SAVED PROFIT. */
static struct libscols_table *domain_table(const struct domain_sum *d, size_t nd)
{
	struct libscols_table *tb = new_table("domains");
	char buf[64];
	size_t i;

	json_column(tb, "DOMAIN", SCOLS_JSON_STRING, SCOLS_FL_TRUNC);
	json_column(tb, "ID", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT);
	json_column(tb, "PROCESSES", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT);
	json_column(tb, "MERGING", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT);
	json_column(tb, "SAVED", json_type_of_kind(CK_SIZE), SCOLS_FL_RIGHT);
	json_column(tb, "PROFIT", json_type_of_kind(CK_SIZE), SCOLS_FL_RIGHT);
	for (i = 0; i < nd; i++) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);
		bool json = opt.format == FMT_JSON;

		if (!ln)
			oom();
		set_cell(ln, 0, d[i].domain ? d[i].domain : json ? NULL : "-");
		snprintf(buf, sizeof(buf), "%llu", d[i].id);
		set_cell(ln, 1, d[i].have_id ? buf : json ? NULL : "-");
		snprintf(buf, sizeof(buf), "%zu", d[i].processes);
		set_cell(ln, 2, buf);
		snprintf(buf, sizeof(buf), "%lld", d[i].merging_pages);
		set_cell(ln, 3, buf);
		size_str(buf, sizeof(buf), d[i].merging_pages * opt.k.page_size);
		set_cell(ln, 4, buf);
		size_str(buf, sizeof(buf), d[i].profit);
		set_cell(ln, 5, buf);
	}
	return tb;
}

/* @tb as a JSON document in a malloc()ed string, or NULL; @tb is freed. */
static char *table_text(struct libscols_table *tb)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int ret;

	if (!f)
		oom();
	scols_table_set_stream(tb, f);
	ret = scols_print_table(tb);
	scols_unref_table(tb);
	if (fclose(f) || ret) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Two libsmartcols documents {"a": [...]} and {"b": [...]} as the one
 * object {"a": [...], "b": [...]}.
 */
static int print_joined(struct libscols_table *first, struct libscols_table *second)
{
	char *a = table_text(first), *b = table_text(second), *end, *start;
	int ret = EXIT_SYSTEM;

	end = a ? strrchr(a, '}') : NULL;
	start = b ? strchr(b, '{') : NULL;
	if (end && start) {
		while (end > a && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		fwrite(a, 1, end - a, stdout);
		fputc(',', stdout);
		fputs(start + 1, stdout);
		ret = EXIT_OK;
	}
	free(a);
	free(b);
	return ret;
}

/* The summary rows, with "saved" and "profit" as sizes at the end. */
static size_t read_summary(struct kv *kv, unsigned long long *sharing)
{
	long long profit = 0;
	size_t i, n = 0;

	for (i = 0; i < NSUMMARY; i++) {
		int idx = ksm_param_lookup(summary[i]);
		struct ksm_typed_param p;

		memset(&kv[n], 0, sizeof(kv[n]));
		kv[n].name = summary[i];
		kv[n].json_type = summary_json_type(ksm_param_desc(idx)->type);
		if (ksm_param_get(&opt.k, idx, &p)) {
			/* Older kernels lack some: null in JSON, left out otherwise. */
			if (opt.format == FMT_JSON) {
				kv[n].absent = true;
				n++;
			}
			continue;
		}
		if (!strcmp(summary[i], "pages_sharing"))
			*sharing = p.value.ul;
		if (!strcmp(summary[i], "general_profit"))
			profit = p.value.l;
		ksm_param_format(&p, kv[n].value, sizeof(kv[n].value));
		n++;
	}
	memset(&kv[n], 0, 2 * sizeof(kv[n]));
	kv[n].name = "saved";
	kv[n].json_type = json_type_of_kind(CK_SIZE);
	size_str(kv[n++].value, sizeof(kv[0].value), *sharing * opt.k.page_size);
	kv[n].name = "profit";
	kv[n].json_type = json_type_of_kind(CK_SIZE);
	size_str(kv[n++].value, sizeof(kv[0].value), profit);
	return n;
}

/*
 * JSON: one document. The summary is the one object of "ksm", and the
 * processes are its children (libsmartcols' tree); a process's SAVED and
 * PROFIT share the summary's saved and profit members, and the other
 * members of each are null in the other.
 */
static int status_json(const struct kv *kv, size_t nkv, const struct ksm_proc_info *pi,
		       size_t n, const struct domain_sum *d, ssize_t nd)
{
	struct libscols_table *tb = new_table("ksm");
	size_t colno[NCOLS * 2], i, j;
	struct libscols_line *top;

	for (i = 0; i < nkv; i++)
		json_column(tb, kv[i].name, kv[i].json_type, i ? 0 : SCOLS_FL_TREE);
	for (j = 0; j < opt.ncolumns; j++) {
		int id = opt.columns[j];

		if (id == COL_SAVED || id == COL_PROFIT) {
			colno[j] = nkv - (id == COL_SAVED ? 2 : 1);
			continue;
		}
		colno[j] = scols_table_get_ncols(tb);
		json_column(tb, infos[id].name, json_type_of_kind(infos[id].kind), 0);
	}
	top = scols_table_new_line(tb, NULL);
	if (!top)
		oom();
	for (i = 0; i < nkv; i++)
		set_cell(top, i, kv[i].absent ? NULL : kv[i].value);
	for (i = 0; i < n; i++)
		proc_row(tb, top, &pi[i], colno);
	/* With domains on, "domains": [...] follows "ksm". */
	if (nd >= 0)
		return print_joined(tb, domain_table(d, nd));
	return print_table(tb);
}

int cmd_status(void)
{
	struct kv kv[NSUMMARY + 2];
	unsigned long long sharing = 0;
	struct domain_sum *dom = NULL;
	struct libscols_table *tb;
	struct ksm_proc_info *pi;
	size_t n, total, nkv, i;
	ssize_t ndom = -1;	/* -1: domains off */
	int ret;

	ret = need_ksm();
	if (ret)
		return ret;
	if (opt.format != FMT_PROMETHEUS) {
		ret = select_columns(VIEW_PROC, proc_defaults, NPROC_DEFAULTS);
		if (ret)
			return ret;
	}
	/* Every process for the domains' sums, then the top ones. */
	ret = read_procs(&pi, &n);
	if (ret)
		return ret;
	total = n;
	if (domains_on())
		ndom = domain_sums(pi, n, &dom);
	if (!opt.all_procs && n > (size_t)opt.top)
		n = opt.top;
	if (opt.format == FMT_PROMETHEUS) {
		int cnt = ksm_param_count(), ids[cnt];

		for (i = 0; i < (size_t)cnt; i++)
			ids[i] = i;
		if (ksm_get_ull(&opt.k, "pages_sharing", &sharing))
			sharing = 0;
		ret = prom_open();
		if (!ret)
			ret = prom_params(ids, cnt, true);
		if (!ret) {
			prom_summary(sharing, total);
			if (ndom >= 0)
				prom_domains(dom, ndom);
			prom_procs(pi, n);
		}
		ret = prom_close(ret);
		goto out;
	}
	nkv = read_summary(kv, &sharing);
	if (opt.format == FMT_JSON) {
		ret = status_json(kv, nkv, pi, n, dom, ndom);
		goto out;
	}

	tb = new_table("ksm");
	json_column(tb, "NAME", SCOLS_JSON_STRING, 0);
	json_column(tb, "VALUE", SCOLS_JSON_STRING, SCOLS_FL_RIGHT);
	for (i = 0; i < nkv; i++) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);

		if (!ln)
			oom();
		set_cell(ln, 0, kv[i].name);
		set_cell(ln, 1, kv[i].value);
	}
	ret = print_table(tb);
	if (!ret && ndom >= 0) {
		fputc('\n', stdout);
		ret = print_table(domain_table(dom, ndom));
	}
	if (!ret) {
		fputc('\n', stdout);
		tb = new_table("processes");
		add_columns(tb);
		for (i = 0; i < n; i++)
			proc_row(tb, NULL, &pi[i], NULL);
		ret = print_table(tb);
	}
out:
	free(dom);
	free(pi);
	return ret;
}
