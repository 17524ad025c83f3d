// SPDX-License-Identifier: GPL-2.0
/*
 * ksmtuned policy, and the code that feeds it from /proc and /sys and
 * writes its decision back.
 *
 * The rules are those of the classic shell ksmtuned: KSM is worth running
 * when the memory committed to mergeable processes plus a safety threshold
 * does not fit in RAM, or when free memory is below that threshold. While
 * it runs, pages_to_scan grows by KSM_NPAGES_BOOST when memory is short and
 * shrinks by KSM_NPAGES_DECAY (a negative step) otherwise, within
 * [KSM_NPAGES_MIN, KSM_NPAGES_MAX]. Where the decisions differ from the
 * script's is listed in ksmtuned(8), "DIFFERENCES FROM THE CLASSIC
 * KSMTUNED"; keep the two in step.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksmtuned.h"

unsigned long long tuned_threshold_kb(const struct tuned_conf *c,
				      unsigned long long total_kb)
{
	unsigned long long t = total_kb * c->thres_coef / 100;
	unsigned long long floor = c->thres_const;

	return t > floor ? t : floor;
}

/*
 * KSM_SLEEP_MSEC is meant for a 16 GiB machine: smaller ones sleep longer,
 * bigger ones less, and never below 10 ms (as the script did).
 */
long tuned_sleep_ms(const struct tuned_conf *c, unsigned long long total_kb)
{
	unsigned long long s;

	if (!total_kb)
		return 10;
	s = (unsigned long long)c->sleep_msec * 16 * 1024 * 1024 / total_kb;
	return s < 10 ? 10 : s > 60000 ? 60000 : (long)s;
}

void tuned_decide(const struct tuned_conf *c, const struct tuned_input *in,
		  struct tuned_output *out)
{
	long long npages;
	bool low;

	memset(out, 0, sizeof(*out));
	out->thres_kb = tuned_threshold_kb(c, in->total_kb);
	out->sleep_ms = tuned_sleep_ms(c, in->total_kb);
	out->pressure = c->psi_thres > 0 && in->have_psi &&
			in->psi_some_avg10 >= c->psi_thres;
	low = in->free_kb < out->thres_kb || out->pressure;
	out->npages = in->npages;

	if (in->committed_kb + out->thres_kb < in->total_kb &&
	    in->free_kb > out->thres_kb && !out->pressure) {
		out->run = false;
		out->why = "committed + threshold < total and free > threshold";
		out->run_why = "stop: committed + threshold < total and free > threshold";
		return;
	}
	out->run = true;
	if (out->pressure)
		out->run_why = "start: memory pressure (PSI)";
	else if (in->committed_kb + out->thres_kb >= in->total_kb)
		out->run_why = "start: committed + threshold >= total";
	else
		out->run_why = "start: free <= threshold";
	/*
	 * Step from what the kernel has while KSM runs, from 0 when it is
	 * stopped. (The script kept a count of its own, 0 at its start and
	 * carried over a stop.)
	 */
	npages = (in->running ? in->npages : 0) +
		 (low ? c->npages_boost : c->npages_decay);
	if (npages < c->npages_min)
		npages = c->npages_min;
	if (npages > c->npages_max)
		npages = c->npages_max;
	out->npages = (long)npages;
	if (out->pressure)
		out->why = "memory pressure (PSI): boost";
	else if (low)
		out->why = "free < threshold: boost";
	else
		out->why = "committed + threshold >= total, free >= threshold: decay";
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static bool has_pid(const int *pids, size_t n, int pid)
{
	return n && bsearch(&pid, pids, n, sizeof(*pids), cmp_int);
}

/* 1 when an area of @pid is VM_MERGEABLE ("mg" in VmFlags), 0 if none. */
static int has_mergeable_vma(const struct ksm *k, int pid)
{
	char rel[64], path[PATH_MAX], *line = NULL, *tok, *save;
	size_t cap = 0;
	int found = 0, ret;
	FILE *f;

	snprintf(rel, sizeof(rel), "proc/%d/smaps", pid);
	ret = ksm_path(k, rel, path, sizeof(path));
	if (ret)
		return ret;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!found && getline(&line, &cap, f) > 0) {
		if (strncmp(line, "VmFlags:", 8))
			continue;
		for (tok = strtok_r(line + 8, " \t\n", &save); tok && !found;
		     tok = strtok_r(NULL, " \t\n", &save))
			found = !strcmp(tok, "mg");
	}
	ret = ferror(f) ? -EIO : found;
	free(line);
	fclose(f);
	return ret;
}

enum verdict { V_NO, V_KSM, V_MATCH };

static enum verdict classify(const struct ksm *k, const struct ksm_proc_stat *st,
			     const regex_t *re, const struct tuned_procs *prev)
{
	int ret;

	/* What KSM itself reports comes first. */
	if (ksm_proc_is_mergeable(st))
		return V_KSM;
	if (st->mergeable != -1 || st->merge_any != -1)
		return V_NO;
	/* Linux 6.12 without rmap items: a quick poll trusts the last look. */
	if (prev && has_pid(prev->pids, prev->n, st->pid))
		return V_KSM;
	if (prev && has_pid(prev->quiet, prev->nquiet, st->pid))
		return V_NO;
	ret = has_mergeable_vma(k, st->pid);
	if (ret >= 0)
		return ret ? V_KSM : V_NO;
	/* smaps is not ours to read (no CAP_SYS_PTRACE): the classic guess. */
	return re && !regexec(re, st->comm, 0, NULL, 0) ? V_MATCH : V_NO;
}

int tuned_scan_procs(const struct ksm *k, const struct tuned_conf *c,
		     const struct tuned_procs *prev, struct tuned_procs *p)
{
	struct ksm_proc_stat *ps;
	regex_t re;
	bool use_re = false;
	size_t n, i;
	int ret;

	memset(p, 0, sizeof(*p));
	if (strcmp(c->proc_match, "off")) {
		/* tuned_conf_parse() checked it; a failure here is memory. */
		if (regcomp(&re, c->proc_match, REG_EXTENDED | REG_NOSUB))
			return -ENOMEM;
		use_re = true;
	}
	ret = ksm_list_procs(k, 0, &ps, &n);
	if (ret)
		goto out;
	p->pids = malloc((n ? n : 1) * sizeof(*p->pids));
	p->quiet = malloc((n ? n : 1) * sizeof(*p->quiet));
	if (!p->pids || !p->quiet) {
		tuned_procs_free(p);
		ret = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < n; i++) {
		enum verdict v = classify(k, &ps[i], use_re ? &re : NULL, prev);

		if (v == V_NO) {
			/* Only smaps or the name could have said yes. */
			if (ps[i].mergeable == -1 && ps[i].merge_any == -1)
				p->quiet[p->nquiet++] = ps[i].pid;
			continue;
		}
		p->by_match += v == V_MATCH;
		p->pids[p->n++] = ps[i].pid;
		p->rss_kb += ps[i].rss_kb;
	}
	qsort(p->pids, p->n, sizeof(*p->pids), cmp_int);
	qsort(p->quiet, p->nquiet, sizeof(*p->quiet), cmp_int);
out_free:
	free(ps);
out:
	if (use_re)
		regfree(&re);
	return ret;
}

void tuned_procs_free(struct tuned_procs *p)
{
	free(p->pids);
	free(p->quiet);
	memset(p, 0, sizeof(*p));
}

bool tuned_procs_equal(const struct tuned_procs *a, const struct tuned_procs *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->pids, b->pids, a->n * sizeof(int)));
}

int tuned_collect(const struct ksm *k, const struct tuned_procs *procs,
		  struct tuned_input *in)
{
	struct ksm_typed_param mode;
	struct ksm_meminfo mi;
	unsigned long long v;
	int ret;

	memset(in, 0, sizeof(*in));
	ret = ksm_read_meminfo(k, &mi);
	if (ret)
		return ret;
	in->total_kb = mi.total_kb;
	in->free_kb = ksm_meminfo_avail_kb(&mi);
	in->committed_kb = procs->rss_kb;
	in->nprocs = procs->n;
	in->have_psi = !ksm_read_psi_some_avg10(k, &in->psi_some_avg10);
	ret = ksm_get_ull(k, "run", &v);
	if (ret)
		return ret;
	in->running = v == KSM_RUN_MERGE;
	ret = ksm_get_ull(k, "pages_to_scan", &v);
	if (ret)
		return ret;
	in->npages = v > LONG_MAX ? LONG_MAX : (long)v;
	/* A kernel without the advisor leaves pages_to_scan to us. */
	in->advisor = !ksm_param_get(k, ksm_param_lookup("advisor_mode"), &mode) &&
		      strcmp(mode.value.s, "none");
	return 0;
}

size_t tuned_plan(const struct tuned_input *in, const struct tuned_output *out,
		  struct tuned_write w[TUNED_MAX_WRITES])
{
	size_t n = 0;

	if (!out->run) {
		/* Only run=1 is stopped: run=2 (all unmerged) stays as it is. */
		if (in->running)
			w[n++] = (struct tuned_write){ "run", KSM_RUN_STOP, out->run_why };
		return n;
	}
	/* The kernel's advisor owns pages_to_scan while it is on. */
	if (!in->advisor)
		w[n++] = (struct tuned_write){ "pages_to_scan", out->npages, out->why };
	w[n++] = (struct tuned_write){ "sleep_millisecs", out->sleep_ms,
				       "KSM_SLEEP_MSEC scaled by 16 GiB / MemTotal" };
	if (!in->running)
		w[n++] = (struct tuned_write){ "run", KSM_RUN_MERGE, out->run_why };
	return n;
}

int tuned_write_all(const struct ksm *k, const struct tuned_write *w, size_t n,
		    bool dry_run, const char **what)
{
	struct ksm_typed_param p[TUNED_MAX_WRITES];
	char text[32];
	size_t i;
	int ret;

	*what = NULL;
	if (n > TUNED_MAX_WRITES)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "%ld", w[i].value);
		ret = ksm_param_parse(ksm_param_lookup(w[i].knob), text, &p[i], NULL, 0);
		if (ret) {
			*what = w[i].knob;
			return ret;
		}
	}
	for (i = 0; i < n && !dry_run; i++) {
		ret = ksm_param_set(k, &p[i]);
		if (ret) {
			*what = w[i].knob;
			return ret;
		}
	}
	return 0;
}

int tuned_apply(const struct ksm *k, const struct tuned_input *in,
		const struct tuned_output *out, const char **what)
{
	struct tuned_write w[TUNED_MAX_WRITES];

	return tuned_write_all(k, w, tuned_plan(in, out, w), false, what);
}
