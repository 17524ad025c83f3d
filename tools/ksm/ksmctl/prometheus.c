// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl --prometheus: the Prometheus text exposition format.
 *
 * Names follow node_exporter's ksmd collector (node_ksmd_<file>, the
 * full_scans counter as node_ksmd_full_scans_total, sleep_millisecs as
 * node_ksmd_sleep_seconds), extended the same way to every file: counters
 * end in _total, times are in seconds, sizes in bytes. node_exporter's own
 * ksmd collector is off by default; with it off, --textfile output stands
 * in for it under the same names, and adds what it lacks.
 *
 * --textfile PATH writes a temporary file next to PATH, syncs it and
 * renames it over PATH, so that the textfile collector never reads half
 * a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "prometheus.h"

#define PREFIX "node_ksmd_"

static FILE *out;
static char tmp_path[PATH_MAX];

int prom_open(void)
{
	char dir[PATH_MAX], base[PATH_MAX];
	int fd;

	if (!opt.textfile) {
		out = stdout;
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s", opt.textfile);
	snprintf(base, sizeof(base), "%s", opt.textfile);
	/* A name not ending in .prom: the collector skips it until renamed. */
	if (snprintf(tmp_path, sizeof(tmp_path), "%s/.%s.XXXXXX", dirname(dir),
		     basename(base)) >= (int)sizeof(tmp_path)) {
		warnx("cannot write %s: path too long", opt.textfile);
		return EXIT_USAGE;
	}
	fd = mkstemp(tmp_path);
	if (fd < 0) {
		warnx("cannot write %s: cannot create a file in %s: %s", opt.textfile,
		      dirname(dir), strerror(errno));
		tmp_path[0] = '\0';
		return EXIT_SYSTEM;
	}
	/* node_exporter runs as another user: the file must be readable. */
	if (fchmod(fd, 0644) || !(out = fdopen(fd, "w"))) {
		warnx("cannot write %s: %s", opt.textfile, strerror(errno));
		close(fd);
		unlink(tmp_path);
		tmp_path[0] = '\0';
		return EXIT_SYSTEM;
	}
	return 0;
}

/* Make the rename itself durable; not every file system can sync a directory. */
static void sync_dir(void)
{
	char dir[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%s", opt.textfile);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int prom_close(int ret)
{
	int err = 0;

	if (!opt.textfile || !out)
		return ret;
	if (ret) {
		fclose(out);
		unlink(tmp_path);
		return ret;
	}
	errno = 0;
	if (fflush(out) || ferror(out))
		err = errno ? errno : EIO;
	else if (fsync(fileno(out)))
		err = errno;
	if (fclose(out) && !err)
		err = errno ? errno : EIO;
	out = NULL;
	if (!err && rename(tmp_path, opt.textfile))
		err = errno;
	if (err) {
		warnx("cannot write %s: %s", opt.textfile, strerror(err));
		unlink(tmp_path);
		return EXIT_SYSTEM;
	}
	sync_dir();
	return EXIT_OK;
}

/* Escape backslash, double quote and newline, as label values need. */
static void escape(char *dst, size_t len, const char *s)
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
static void sample(const char *metric, const char *help, const char *type,
		   const char *labels, const char *value)
{
	static char last[128];

	if (strcmp(last, metric)) {
		snprintf(last, sizeof(last), "%s", metric);
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
	}
	fprintf(out, "%s%s %s\n", metric, labels ? labels : "", value);
}

/* @v / 10^@decimals, exactly, without trailing zeros: 20 ms is 0.02. */
static void scaled(char *buf, size_t len, unsigned long long v, int decimals)
{
	unsigned long long div = decimals == 3 ? 1000 : 100;
	char *end;

	snprintf(buf, len, "%llu.%0*llu", v / div, decimals, v % div);
	end = buf + strlen(buf);
	while (end[-1] == '0')
		*--end = '\0';
	if (end[-1] == '.')
		end[-1] = '\0';
}

static void param_metric(const struct ksm_param_desc *d, const struct ksm_typed_param *p)
{
	const char *name = strncmp(d->name, "ksm_", 4) ? d->name : d->name + 4;
	enum unit u = param_unit(d->name);
	char metric[128], value[64], labels[96], help[256];
	bool counter = d->flags & KSM_PF_COUNTER;
	size_t len;

	snprintf(metric, sizeof(metric), PREFIX "%s", name);
	len = strlen(metric);
	snprintf(help, sizeof(help), "%s (%s%s)", d->help, d->name,
		 u == U_MSEC ? ", here in seconds" : u == U_PERCENT ? ", here as a ratio" : "");
	if (p->type == KSM_PARAM_STRING) {
		/* A choice is a state set: the selected word is 1, the others 0. */
		const char *c = d->choices ? d->choices : p->value.s;

		while (*c) {
			size_t wl = strcspn(c, " ");
			bool on = strlen(p->value.s) == wl && !strncmp(c, p->value.s, wl);

			snprintf(labels, sizeof(labels), "{mode=\"%.*s\"}", (int)wl, c);
			sample(metric, help, "gauge", labels, on ? "1" : "0");
			c += wl;
			c += *c == ' ';
		}
		return;
	}
	ksm_param_format(p, value, sizeof(value));
	switch (u) {
	case U_MSEC:
		if (len > 10 && !strcmp(metric + len - 10, "_millisecs"))
			metric[len - 10] = '\0';
		strncat(metric, "_seconds", sizeof(metric) - strlen(metric) - 1);
		scaled(value, sizeof(value), (unsigned long long)param_number(p), 3);
		break;
	case U_SEC:
		strncat(metric, "_seconds", sizeof(metric) - len - 1);
		break;
	case U_BYTES:
		strncat(metric, "_bytes", sizeof(metric) - len - 1);
		break;
	case U_PERCENT:
		strncat(metric, "_ratio", sizeof(metric) - len - 1);
		scaled(value, sizeof(value), (unsigned long long)param_number(p), 2);
		break;
	default:
		break;
	}
	if (counter)
		strncat(metric, "_total", sizeof(metric) - strlen(metric) - 1);
	sample(metric, help, counter ? "counter" : "gauge", NULL, value);
}

int prom_params(const int *ids, int n, bool all)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		struct ksm_typed_param p;

		ret = ksm_param_get(&opt.k, ids[i], &p);
		if (ret == -ENOENT && all)
			continue;
		if (ret)
			return fail_param("read", ids[i], NULL, ret);
		param_metric(ksm_param_desc(ids[i]), &p);
	}
	return 0;
}

void prom_summary(unsigned long long sharing, size_t nprocs)
{
	char v[32];

	snprintf(v, sizeof(v), "%llu", sharing * (unsigned long long)opt.k.page_size);
	sample(PREFIX "saved_bytes", "memory saved by merging (pages_sharing times the page size)",
	       "gauge", NULL, v);
	snprintf(v, sizeof(v), "%ld", opt.k.page_size);
	sample(PREFIX "page_size_bytes", "size of a page, the unit of the *_pages metrics",
	       "gauge", NULL, v);
	snprintf(v, sizeof(v), "%zu", nprocs);
	sample(PREFIX "processes", "processes with KSM enabled", "gauge", NULL, v);
}

void prom_procs(const struct ksm_proc_info *pi, size_t n)
{
	static const struct {
		const char *metric, *help;
	} m[] = {
		{ PREFIX "process_merging_pages", "pages of the process merged by KSM" },
		{ PREFIX "process_saved_bytes", "memory of the process's merged pages" },
		{ PREFIX "process_profit_bytes", "memory KSM saves for the process, minus metadata" },
		{ PREFIX "process_rmap_items", "KSM reverse-map items of the process" },
		{ PREFIX "process_zero_pages", "empty pages of the process merged with the zero page" },
	};
	char labels[8192], comm[sizeof(pi->st.comm) * 2], vm[sizeof(pi->vm) * 2];
	char cg[sizeof(pi->cgroup) * 2], v[32];
	size_t i, j;

	for (j = 0; j < sizeof(m) / sizeof(m[0]); j++) {
		for (i = 0; i < n; i++) {
			const struct ksm_proc_stat *st = &pi[i].st;
			long long val[] = {
				st->merging_pages, st->merging_pages * opt.k.page_size,
				st->process_profit, st->rmap_items, st->zero_pages,
			};
			int o;

			/* comm, the VM name and the cgroup are not ours: escape them. */
			escape(comm, sizeof(comm), st->comm);
			o = snprintf(labels, sizeof(labels), "{pid=\"%d\",comm=\"%s\"", st->pid, comm);
			if (pi[i].vm[0]) {
				escape(vm, sizeof(vm), pi[i].vm);
				o += snprintf(labels + o, sizeof(labels) - o, ",vm=\"%s\"", vm);
			}
			if (pi[i].have_cgroup) {
				escape(cg, sizeof(cg), pi[i].cgroup);
				o += snprintf(labels + o, sizeof(labels) - o, ",cgroup=\"%s\"", cg);
			}
			/* The merge domain, empty when domains are off (or unknown). */
			escape(cg, sizeof(cg), pi[i].domain);
			snprintf(labels + o, sizeof(labels) - o, ",domain=\"%s\"}", cg);
			snprintf(v, sizeof(v), "%lld", val[j]);
			sample(m[j].metric, m[j].help, "gauge", labels, v);
		}
	}
}

void prom_domains(const struct domain_sum *d, size_t n)
{
	static const struct {
		const char *metric, *help;
	} m[] = {
		{ PREFIX "domain_processes", "processes with KSM enabled in the merge domain" },
		{ PREFIX "domain_merging_pages", "pages of the merge domain's processes merged by KSM" },
		{ PREFIX "domain_saved_bytes", "memory of the merge domain's merged pages" },
		{ PREFIX "domain_profit_bytes",
		  "memory KSM saves for the merge domain's processes, minus metadata" },
	};
	char labels[2200], dom[2100], v[32];
	size_t i, j;

	for (j = 0; j < sizeof(m) / sizeof(m[0]); j++) {
		for (i = 0; i < n; i++) {
			long long val[] = {
				(long long)d[i].processes, d[i].merging_pages,
				d[i].merging_pages * opt.k.page_size, d[i].profit,
			};

			/* Processes whose domain the kernel does not say: domain="". */
			escape(dom, sizeof(dom), d[i].domain ? d[i].domain : "");
			snprintf(labels, sizeof(labels), "{domain=\"%s\"}", dom);
			snprintf(v, sizeof(v), "%lld", val[j]);
			sample(m[j].metric, m[j].help, "gauge", labels, v);
		}
	}
}
