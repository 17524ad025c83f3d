// SPDX-License-Identifier: GPL-2.0
/*
 * ksmtuned: start, stop and pace KSM by the memory situation.
 *
 * The loop wakes up for four reasons: the monitor interval, a change in
 * the set of mergeable processes (polled every KSM_POLL_INTERVAL s),
 * SIGUSR1/SIGHUP, and the systemd watchdog. Only the first three retune,
 * and every retune rescans the processes first.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "ksmtuned.h"

static struct tuned_conf conf;
static FILE *logf;		/* LOGFILE, or NULL for stderr */
static bool journal;		/* stderr is the journal: use <N> prefixes */

static void __attribute__((format(printf, 2, 3))) logmsg(int level, const char *fmt, ...)
{
	FILE *out = logf ? logf : stderr;
	va_list ap;

	if (level >= LOG_DEBUG && !conf.debug)
		return;
	if (logf) {
		char stamp[32];
		time_t now = time(NULL);

		strftime(stamp, sizeof(stamp), "%b %d %H:%M:%S", localtime(&now));
		fprintf(out, "%s ksmtuned[%d]: ", stamp, (int)getpid());
	} else if (journal) {
		fprintf(out, "<%d>", level);
	} else {
		fputs("ksmtuned: ", out);
	}
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

static void conf_warning(const char *msg, void *arg)
{
	(void)arg;
	logmsg(LOG_WARNING, "warning: %s", msg);
}

static int open_log(void)
{
	if (logf)
		fclose(logf);
	logf = NULL;
	if (!conf.logfile[0])
		return 0;
	logf = fopen(conf.logfile, "ae");
	if (!logf) {
		logmsg(LOG_ERR, "cannot open LOGFILE %s: %s", conf.logfile, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * --dry-run: what the knobs would hold had the earlier rounds written
 * their decisions, so that the loop takes the steps a normal run would.
 */
static bool dry_run;
static struct {
	bool valid;
	long run, npages, sleep_ms;
} dry;

static long *dry_knob(const char *knob)
{
	return !strcmp(knob, "run") ? &dry.run :
	       !strcmp(knob, "pages_to_scan") ? &dry.npages :
	       !strcmp(knob, "sleep_millisecs") ? &dry.sleep_ms : NULL;
}

/* In a dry run, the state as the previous rounds would have left it. */
static void dry_overlay(const struct ksm *k, struct tuned_input *in)
{
	unsigned long long v;

	if (!dry.valid) {
		dry.run = ksm_get_ull(k, "run", &v) ? -1 : (long)v;
		dry.npages = in->npages;
		dry.sleep_ms = ksm_get_ull(k, "sleep_millisecs", &v) ? -1 : (long)v;
		dry.valid = true;
	}
	in->running = dry.run == KSM_RUN_MERGE;
	in->npages = dry.npages;
}

/* Print the writes of a dry run, each with the file, the old value and why. */
static void dry_print(const struct ksm *k, const struct tuned_input *in,
		      const struct tuned_output *out, const struct tuned_write *w, size_t n)
{
	char rel[128], path[PATH_MAX];
	size_t i;

	if (out->run && in->advisor)
		printf("would leave pages_to_scan to the kernel's advisor "
		       "(advisor_mode is not none)\n");
	if (!n)
		printf("would write nothing: %s\n", out->why);
	for (i = 0; i < n; i++) {
		long *was = dry_knob(w[i].knob);

		snprintf(rel, sizeof(rel), "%s/%s", KSM_SYSFS_DIR, w[i].knob);
		if (ksm_path(k, rel, path, sizeof(path)))
			snprintf(path, sizeof(path), "%s", rel);
		printf("would write %ld to %s (was %ld): %s\n", w[i].value, path,
		       was ? *was : -1, w[i].why);
		if (was)
			*was = w[i].value;
	}
}

/*
 * One round: look, decide, act. Prints the decision to stdout when @verbose
 * (--once) or in a dry run, and logs it otherwise. A dry run writes
 * nothing and prints every write it would make. Returns 0 or a negative
 * errno.
 */
static int adjust(const struct ksm *k, const struct tuned_procs *procs, bool verbose,
		  char *status, size_t slen)
{
	struct tuned_write w[TUNED_MAX_WRITES];
	struct tuned_input in;
	struct tuned_output out;
	const char *what;
	char psi[32] = "n/a";
	size_t n;
	int ret;

	ret = tuned_collect(k, procs, &in);
	if (ret) {
		logmsg(LOG_ERR, "cannot read the memory or KSM state: %s", strerror(-ret));
		return ret;
	}
	if (dry_run)
		dry_overlay(k, &in);
	verbose |= dry_run;
	tuned_decide(&conf, &in, &out);
	if (in.have_psi)
		snprintf(psi, sizeof(psi), "%.2f", in.psi_some_avg10);
	if (verbose)
		printf("memory: total %llu kB, free %llu kB, committed %llu kB by %zu "
		       "processes (%zu by name), threshold %llu kB, psi some avg10 %s\n",
		       in.total_kb, in.free_kb, in.committed_kb, in.nprocs,
		       procs->by_match, out.thres_kb, psi);
	else
		logmsg(LOG_DEBUG, "total %llu free %llu committed %llu (%zu procs, %zu by "
		       "name) thres %llu psi %s", in.total_kb, in.free_kb, in.committed_kb,
		       in.nprocs, procs->by_match, out.thres_kb, psi);

	n = tuned_plan(&in, &out, w);
	ret = tuned_write_all(k, w, n, dry_run, &what);
	if (ret) {
		const char *hint = ksm_param_hint(ksm_param_lookup(what), ret);

		logmsg(LOG_ERR, "cannot set %s: %s%s%s", what, strerror(-ret),
		       hint ? "; " : "", hint ? hint : "");
		return ret;
	}
	if (dry_run)
		dry_print(k, &in, &out, w, n);
	if (out.run && in.advisor)
		snprintf(status, slen, "KSM running: pages_to_scan by the advisor "
			 "sleep_millisecs=%ld (%s)", out.sleep_ms, out.why);
	else if (out.run)
		snprintf(status, slen, "KSM running: pages_to_scan=%ld sleep_millisecs=%ld (%s)",
			 out.npages, out.sleep_ms, out.why);
	else
		snprintf(status, slen, "KSM stopped (%s)", out.why);
	if (verbose) {
		printf("%s: %s\n", out.run ? (in.running ? "run" : "start") :
		       (in.running ? "stop" : "idle"), status);
		fflush(stdout);
	} else if (out.run != in.running) {
		logmsg(LOG_INFO, "%s", status);
	} else {
		logmsg(LOG_DEBUG, "%s", status);
	}
	return 0;
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long now_ms(void)
{
	return now_us() / 1000;
}

static bool debug_opt;		/* -d: DEBUG whatever the file says */

/*
 * Load @path whole, or keep the configuration running: nothing of a bad
 * file is applied. @again: a reload (SIGHUP), which says so when it fails.
 */
static int reload(const char *path, bool must_exist, bool again)
{
	struct tuned_conf n;
	char err[512];

	if (tuned_conf_load(&n, path, must_exist, err, sizeof(err), conf_warning, NULL)) {
		logmsg(LOG_ERR, "%s%s", err, again ? "; keeping the previous configuration" : "");
		return -1;
	}
	n.debug |= debug_opt;
	conf = n;
	/* A dry run writes nothing, not even to the daemon's LOGFILE. */
	return dry_run ? 0 : open_log();
}

static int run_daemon(const struct ksm *k, const char *config, bool explicit_config)
{
	struct tuned_procs procs = { 0 }, cur;
	long long next_adjust = 0, next_poll, next_wd = -1, wd_ms = 0, t;
	uint64_t wd_usec;
	char status[256] = "starting";
	sigset_t set;
	bool again = true;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec >= 2000)
		wd_ms = wd_usec / 2000;	/* ping at half the timeout */
	if (!ksm_available(k)) {
		/* Nothing to tune: say so once and leave without fuss. */
		logmsg(LOG_INFO, "KSM is not available (no /%s); nothing to do", KSM_SYSFS_DIR);
		sd_notify(0, "READY=1\nSTATUS=KSM is not available");
		return 0;
	}
	next_poll = now_ms();
	while (again) {
		struct timespec ts;
		siginfo_t si;
		bool due;

		t = now_ms();
		due = t >= next_adjust;
		/*
		 * Every round (and so every signal) looks at the processes
		 * afresh; in between, the poll only watches for a change.
		 */
		if (due || (conf.poll_interval && t >= next_poll)) {
			/* A poll keeps the last look at smaps of known pids. */
			int ret = tuned_scan_procs(k, &conf, due ? NULL : &procs, &cur);

			if (ret) {
				logmsg(LOG_ERR, "cannot list processes: %s", strerror(-ret));
			} else {
				if (!tuned_procs_equal(&cur, &procs)) {
					logmsg(LOG_DEBUG, "mergeable processes: %zu -> %zu",
					       procs.n, cur.n);
					/* A mergeable process started or exited: retune now. */
					due = true;
				}
				tuned_procs_free(&procs);
				procs = cur;
			}
			next_poll = t + conf.poll_interval * 1000;
		}
		if (due) {
			adjust(k, &procs, false, status, sizeof(status));
			sd_notifyf(0, "READY=1\nSTATUS=%s", status);
			next_adjust = t + conf.monitor_interval * 1000;
		}
		if (wd_ms && t >= next_wd) {
			sd_notify(0, "WATCHDOG=1");
			next_wd = t + wd_ms;
		}

		t = next_adjust;
		if (conf.poll_interval && next_poll < t)
			t = next_poll;
		if (wd_ms && next_wd < t)
			t = next_wd;
		t -= now_ms();
		if (t < 0)
			t = 0;
		ts.tv_sec = t / 1000;
		ts.tv_nsec = (t % 1000) * 1000000;
		sig = sigtimedwait(&set, &si, &ts);
		switch (sig) {
		case SIGHUP:
			/* What Type=notify-reload asks for: when the reload began. */
			sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
				   (unsigned long long)now_us());
			if (!reload(config, explicit_config, true))
				logmsg(LOG_INFO, "configuration reloaded");
			sd_notify(0, "READY=1");
			/* fall through */
		case SIGUSR1:
			next_adjust = now_ms();
			break;
		case SIGTERM:
		case SIGINT:
			again = false;
			break;
		}
	}
	sd_notify(0, "STOPPING=1");
	tuned_procs_free(&procs);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: ksmtuned [options]\n"
		"\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  -f, --foreground    do not detach (implied under systemd)\n"
		"  -1, --once          decide once, act, print what was done, exit\n"
		"  -n, --dry-run       print each decision and the writes it would make;\n"
		"                      write nothing (implies --foreground)\n"
		"  -d, --debug         log every decision (like DEBUG=1)\n"
		"      --root DIR      use DIR/proc and DIR/sys (or $KSM_ROOT)\n"
		"  -h, --help          this help\n"
		"  -V, --version       version\n", TUNED_DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
	enum { OPT_ROOT = 256 };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "once", no_argument, NULL, '1' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = TUNED_DEFAULT_CONFIG, *root = NULL;
	bool once = false, foreground = false, explicit_config = false;
	struct tuned_procs procs;
	char status[256];
	struct ksm k;
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:f1ndhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; explicit_config = true; break;
		case 'f': foreground = true; break;
		case '1': once = true; break;
		case 'n': dry_run = true; break;
		case 'd': debug_opt = true; break;
		case OPT_ROOT: root = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': puts("ksmtuned (KSM tools) 1.0"); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ksmtuned: unexpected argument '%s'\n", argv[optind]);
		return 1;
	}
	journal = getenv("JOURNAL_STREAM") != NULL;
	if (ksm_init(&k, root)) {
		fprintf(stderr, "ksmtuned: --root: path too long\n");
		return 1;
	}
	tuned_conf_defaults(&conf);
	if (reload(config, explicit_config, false))
		return 1;

	if (once) {
		if (!ksm_available(&k)) {
			printf("idle: KSM is not available (no %s/%s)\n", k.root, KSM_SYSFS_DIR);
			return 0;
		}
		ret = tuned_scan_procs(&k, &conf, NULL, &procs);
		if (ret) {
			fprintf(stderr, "ksmtuned: cannot list processes: %s\n", strerror(-ret));
			return 1;
		}
		ret = adjust(&k, &procs, true, status, sizeof(status));
		tuned_procs_free(&procs);
		return ret ? 1 : 0;
	}
	/* systemd (NOTIFY_SOCKET) wants us in the foreground. */
	if (!foreground && !dry_run && !getenv("NOTIFY_SOCKET") && daemon(0, 1)) {
		fprintf(stderr, "ksmtuned: cannot detach: %s\n", strerror(errno));
		return 1;
	}
	logmsg(LOG_INFO, "started%s: monitor every %ld s, poll every %ld s",
	       dry_run ? " (dry run: nothing is written)" : "",
	       conf.monitor_interval, conf.poll_interval);
	return run_daemon(&k, config, explicit_config) ? 1 : 0;
}
