/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmtuned: configuration, tuning policy, and the system side of it.
 */
#ifndef KSMTUNED_H
#define KSMTUNED_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "ksm.h"

#define TUNED_DEFAULT_CONFIG	"/etc/ksmtuned.conf"

struct tuned_conf {
	/* The keys of the classic shell ksmtuned. */
	long monitor_interval;	/* KSM_MONITOR_INTERVAL, seconds */
	long sleep_msec;	/* KSM_SLEEP_MSEC, for a 16 GiB machine */
	long npages_boost;	/* KSM_NPAGES_BOOST */
	long npages_decay;	/* KSM_NPAGES_DECAY (negative) */
	long npages_min;	/* KSM_NPAGES_MIN */
	long npages_max;	/* KSM_NPAGES_MAX */
	long thres_coef;	/* KSM_THRES_COEF, percent of MemTotal */
	long thres_const;	/* KSM_THRES_CONST, kB */
	char logfile[PATH_MAX];	/* LOGFILE, "" for stderr */
	bool debug;		/* DEBUG */
	/* Ours. */
	long psi_thres;		/* KSM_PSI_THRES: some avg10 percent, 0 off */
	long poll_interval;	/* KSM_POLL_INTERVAL: seconds, 0 off */
};

void tuned_conf_defaults(struct tuned_conf *c);

/* Receives each warning (unknown key...) as one line "file:line: text". */
typedef void (*tuned_warn_fn)(const char *msg, void *arg);

/*
 * Parse config text @text read from @name on top of @c. On error @c is
 * unchanged and @err holds one line "name:line: reason".
 */
int tuned_conf_parse(struct tuned_conf *c, const char *name, const char *text,
		     char *err, size_t errlen, tuned_warn_fn warn, void *arg);
/* Defaults, then @path; a missing file is an error only if @must_exist. */
int tuned_conf_load(struct tuned_conf *c, const char *path, bool must_exist,
		    char *err, size_t errlen, tuned_warn_fn warn, void *arg);

/* What the policy looks at. */
struct tuned_input {
	unsigned long long total_kb;	/* MemTotal */
	unsigned long long free_kb;	/* MemAvailable, or an estimate */
	unsigned long long committed_kb; /* RSS of the mergeable processes */
	size_t nprocs;			/* how many of them */
	bool have_psi;
	double psi_some_avg10;		/* percent */
	bool running;			/* run == 1 */
	long npages;			/* current pages_to_scan */
};

/* What it decides. */
struct tuned_output {
	bool run;
	long npages;
	long sleep_ms;
	unsigned long long thres_kb;
	bool pressure;			/* PSI says memory is short */
	const char *why;
};

unsigned long long tuned_threshold_kb(const struct tuned_conf *c,
				      unsigned long long total_kb);
long tuned_sleep_ms(const struct tuned_conf *c, unsigned long long total_kb);
/* The policy: a pure function of its inputs. */
void tuned_decide(const struct tuned_conf *c, const struct tuned_input *in,
		  struct tuned_output *out);

/* The mergeable processes: sorted pids, and their summed RSS. */
struct tuned_procs {
	int *pids;
	size_t n;
	unsigned long long rss_kb;
};

int tuned_scan_procs(const struct ksm *k, struct tuned_procs *p);
void tuned_procs_free(struct tuned_procs *p);
bool tuned_procs_equal(const struct tuned_procs *a, const struct tuned_procs *b);
/* Fill @in from /proc and /sys; @procs from tuned_scan_procs(). */
int tuned_collect(const struct ksm *k, const struct tuned_procs *procs,
		  struct tuned_input *in);
/* Write @out to sysfs; on error @what names the file that failed. */
int tuned_apply(const struct ksm *k, const struct tuned_input *in,
		const struct tuned_output *out, const char **what);

#endif /* KSMTUNED_H */
