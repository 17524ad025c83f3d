/* SPDX-License-Identifier: GPL-2.0 */
/* ksmctl: the Prometheus text exposition format (prometheus.c). */
#ifndef KSMCTL_PROMETHEUS_H
#define KSMCTL_PROMETHEUS_H

#include "common.h"

/* Where samples go: stdout, or the temporary file of --textfile. */
int prom_open(void);
/* Finish the output: flush, sync and rename for --textfile. */
int prom_close(int ret);
/*
 * The parameters @ids; with @all, files this kernel lacks are left out,
 * else they fail. Returns 0 or an exit code (after one line on stderr).
 */
int prom_params(const int *ids, int n, bool all);
void prom_summary(unsigned long long sharing, size_t nprocs);
void prom_procs(const struct ksm_proc_info *pi, size_t n);
/* The per-domain series (status with merge_across_cgroups=0). */
void prom_domains(const struct domain_sum *d, size_t n);

#endif /* KSMCTL_PROMETHEUS_H */
