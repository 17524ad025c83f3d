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

/* The Makefile passes SYSCONFDIR in. */
#ifndef KSM_SYSCONFDIR
#define KSM_SYSCONFDIR		"/etc"
#endif
#define TUNED_DEFAULT_CONFIG	KSM_SYSCONFDIR "/ksmtuned.conf"
/*
 * The process names the classic script counted (pgrep), as a POSIX
 * extended regular expression on the command name (comm).
 */
#define TUNED_DEFAULT_PROC_MATCH "^qemu(-(kvm|system-.+)|:.{1,11})$"

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
	/* KSM_PROC_MATCH: ERE on comm, or "off"; see tuned_scan_procs() */
	char proc_match[256];
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
	bool advisor;			/* advisor_mode is not "none" */
};

/* What it decides. */
struct tuned_output {
	bool run;
	long npages;
	long sleep_ms;
	unsigned long long thres_kb;
	bool pressure;			/* PSI says memory is short */
	const char *why;
	const char *run_why;		/* why KSM runs or not, "start: ..." */
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
	size_t by_match;	/* of them, counted by KSM_PROC_MATCH alone */
	/* Sorted pids that smaps or the name match found not mergeable. */
	int *quiet;
	size_t nquiet;
};

/*
 * Find the processes with KSM enabled. A process counts when its ksm_stat
 * says ksm_mergeable or ksm_merge_any, or has rmap items; when ksm_stat
 * has neither line (Linux 6.12) and no rmap items, when a VM_MERGEABLE
 * area ("mg" in VmFlags) is in its smaps; when smaps cannot be read, when
 * its comm matches @c->proc_match. With @prev (a quick poll), the smaps
 * and name verdicts of @prev are kept for the pids it had seen.
 */
int tuned_scan_procs(const struct ksm *k, const struct tuned_conf *c,
		     const struct tuned_procs *prev, struct tuned_procs *p);
void tuned_procs_free(struct tuned_procs *p);
bool tuned_procs_equal(const struct tuned_procs *a, const struct tuned_procs *b);
/* Fill @in from /proc and /sys; @procs from tuned_scan_procs(). */
int tuned_collect(const struct ksm *k, const struct tuned_procs *procs,
		  struct tuned_input *in);
/* One write to a file of /sys/kernel/mm/ksm that a decision makes. */
struct tuned_write {
	const char *knob;		/* "run", "pages_to_scan"... */
	long value;
	const char *why;
};
#define TUNED_MAX_WRITES 3

/*
 * The writes that carry @out out from the state @in, in the order they
 * are made: none when KSM stays stopped; pages_to_scan (unless the
 * kernel's advisor owns it), sleep_millisecs, and run=1 if KSM was not
 * running, when it runs; run=0 when it stops. Returns how many.
 */
size_t tuned_plan(const struct tuned_input *in, const struct tuned_output *out,
		  struct tuned_write w[TUNED_MAX_WRITES]);
/*
 * Check every write of @w as libksm would before writing any; unless
 * @dry_run, then make them in order. On error @what names the knob.
 */
int tuned_write_all(const struct ksm *k, const struct tuned_write *w, size_t n,
		    bool dry_run, const char **what);
/* tuned_plan() and tuned_write_all(): write @out to sysfs. */
int tuned_apply(const struct ksm *k, const struct tuned_input *in,
		const struct tuned_output *out, const char **what);

#endif /* KSMTUNED_H */
