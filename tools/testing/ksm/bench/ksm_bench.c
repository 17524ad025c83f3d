// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_bench: the workloads of `make bench`, run inside a guest as root.
 *
 *   ksm_bench [options] WORKLOAD...
 *
 * Workloads (run in the order given):
 *   merge-default  N processes with M MiB each, a share of it the same in
 *                  all of them (at different offsets), the rest unique;
 *                  time and ksmd CPU to 50/90/100% of the ideal
 *                  pages_sharing at pages_to_scan=100 sleep_millisecs=20
 *   merge-fast     the same at pages_to_scan=1000 sleep_millisecs=0, then,
 *                  with that memory merged and standing still, ksmd CPU
 *                  per page over several full scans, and the memory
 *                  bandwidth of a user program with ksmd off and on
 *   volatile       pages rewritten all the time: ksmd CPU, pages_volatile,
 *                  and merges that had to be broken again (cow_ksm)
 *   cow            first write to merged pages, MADV_UNMERGEABLE of merged
 *                  pages
 *   scale          merge-fast at several total sizes: time and CPU per full
 *                  scan once merged, and the kernel memory KSM uses
 *   profile        the memory of merge-default at pages_to_scan=1000
 *                  sleep_millisecs=0, merged from nothing several times,
 *                  then standing still, twice; the hook (-x) is run as
 *                  "HOOK start|stop merge|still|ftrace" around the phases
 *                  (with KSMD_PID in its environment) to profile ksmd
 *
 * Results are appended to the output file as "key=value" lines; the
 * pages_sharing trace of each merge run goes to DIR/trace-LABEL.dat.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define KSM "/sys/kernel/mm/ksm/"
#define PG 4096UL
#define MiB (1UL << 20)
#define STAMP_MAGIC 0x6b736d62u	/* "ksmb" */

struct opts {
	int procs;		/* workload 1: processes */
	long mib;		/* workload 1: MiB per process */
	int share;		/* workload 1: percent of it shared */
	int timeout;		/* seconds for any one wait */
	int still_scans;	/* workload 2: full scans measured */
	int bw_secs;		/* workload 6: seconds per bandwidth sample */
	long vol_mib;		/* workload 3 */
	long cow_mib;		/* workload 5 */
	long pool_mib;		/* cap on the file content pool */
	char *scale;		/* workload 7: comma list of total MiB */
	char *files;		/* comma list of files for content */
	const char *outfile;
	const char *dir;
	int interval_ms;	/* trace sampling */
	int min_secs;		/* shortest CPU measurement */
	const char *hook;	/* profile: command run around the phases */
	int prof_merges;	/* profile: merges from nothing */
	int prof_secs;		/* profile: seconds per standing-still phase */
};

static struct opts o = {
	.procs = 4, .mib = 64, .share = 50, .timeout = 300, .still_scans = 3,
	.bw_secs = 2, .vol_mib = 32, .cow_mib = 100, .pool_mib = 32,
	.scale = "256,1024,2048,4096,8192", .files = NULL, .outfile = NULL,
	.dir = ".", .interval_ms = 20, .min_secs = 5, .hook = NULL,
	.prof_merges = 3, .prof_secs = 10,
};

static FILE *out;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ksm_bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (errno)
		fprintf(stderr, ": %s", strerror(errno));
	fprintf(stderr, "\n");
	exit(1);
}

/* One result line, to the output file and to stdout. */
static void put(const char *key, const char *fmt, ...)
{
	char val[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	fprintf(out, "%s=%s\n", key, val);
	fflush(out);
	printf("%s=%s\n", key, val);
	fflush(stdout);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static long knob(const char *name)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), KSM "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static void set_knob(const char *name, long val)
{
	char path[128], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), KSM "%s", name);
	n = snprintf(buf, sizeof(buf), "%ld", val);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		die("open %s", path);
	if (write(fd, buf, n) != n)
		die("write %ld to %s", val, path);
	close(fd);
}

static int ksmd_pid(void)
{
	static int pid;
	char path[300], comm[32];
	struct dirent *de;
	DIR *d;

	if (pid)
		return pid;
	d = opendir("/proc");
	if (!d)
		die("opendir /proc");
	while ((de = readdir(d))) {
		FILE *f;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "ksmd\n"))
			pid = atoi(de->d_name);
		fclose(f);
		if (pid)
			break;
	}
	closedir(d);
	errno = 0;
	if (!pid)
		die("no ksmd thread found");
	return pid;
}

/* ksmd's CPU time so far (utime + stime of /proc/<ksmd>/stat), seconds. */
static double ksmd_cpu(void)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", ksmd_pid());
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open %s", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		die("read %s", path);
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* After "comm)": state is field 3; utime and stime are 14 and 15. */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		die("parse %s", path);
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/* A counter of /proc/vmstat, or -1 when the kernel does not have it. */
static long vmstat(const char *name)
{
	char key[64];
	long val, ret = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name)) {
			ret = val;
			break;
		}
	fclose(f);
	return ret;
}

/*
 * Kernel memory in KSM's own slab caches (names starting "ksm_"), bytes,
 * from /proc/slabinfo; *src says where it came from. Kernels without
 * /proc/slabinfo (CONFIG_SLUB_TINY) fall back to the SUnreclaim line of
 * /proc/meminfo (KSM's caches are not reclaimable), which counts every
 * such cache and so is only meaningful as a difference over a quiet
 * interval.
 */
static long ksm_slab_bytes(const char **src)
{
	char line[512], name[64];
	unsigned long act, num, osz, opp, pps, slabs;
	long sum = 0;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%63s %lu %lu %lu %lu %lu : tunables %*u %*u %*u : slabdata %*u %lu",
				   name, &act, &num, &osz, &opp, &pps, &slabs) != 7)
				continue;
			if (!strncmp(name, "ksm_", 4))
				sum += slabs * pps * PG;
		}
		fclose(f);
		*src = "slabinfo";
		return sum;
	}
	f = fopen("/proc/meminfo", "r");
	if (!f)
		die("open /proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SUnreclaim: %lu kB", &act) == 1)
			sum = act * 1024;
	fclose(f);
	*src = "meminfo";
	return sum;
}

/* Stop ksmd and undo every merge, so each workload starts from nothing. */
static void ksm_reset(void)
{
	set_knob("run", 2);
	set_knob("run", 0);
	set_knob("pages_to_scan", 100);
	set_knob("sleep_millisecs", 20);
}

/* Wait for `n` more full scans; 0 or -1 on timeout. */
static int wait_scans(int n, int timeout)
{
	long want = knob("full_scans") + n;
	double end = now() + timeout;

	while (knob("full_scans") < want) {
		if (now() > end)
			return -1;
		sleep_ms(20);
	}
	return 0;
}

/*
 * Measure over at least `n` full scans and at least o.min_secs seconds
 * (ksmd's CPU time is counted in scheduler ticks): the number of full
 * scans done, or -1 on timeout.
 */
static long measure_scans(int n)
{
	long first = knob("full_scans"), sc;
	double t0 = now(), end = t0 + o.timeout;

	do {
		sleep_ms(10);
		sc = knob("full_scans") - first;
		if (now() > end)
			return -1;
	} while (sc < n || now() - t0 < o.min_secs);
	/* End on a scan boundary, so every page is counted equally. */
	while (knob("full_scans") - first == sc) {
		if (now() > end)
			return -1;
		sleep_ms(2);
	}
	return sc + 1;
}

/* ---- content ---- */

static char *pool;		/* non-zero pages of real files */
static long pool_pages;

static void load_pool(void)
{
	char *list, *name, *save = NULL;
	long cap = o.pool_mib * MiB / PG;
	static const char *def = "/lib/x86_64-linux-gnu/libc.so.6,/usr/bin/perl";

	pool = malloc(cap * PG);
	if (!pool)
		die("malloc pool");
	list = strdup(o.files ? o.files : def);
	for (name = strtok_r(list, ",", &save); name && pool_pages < cap;
	     name = strtok_r(NULL, ",", &save)) {
		int fd = open(name, O_RDONLY);
		char *pg;
		ssize_t n;

		if (fd < 0) {
			fprintf(stderr, "ksm_bench: no %s, skipped\n", name);
			continue;
		}
		for (;;) {
			long i;

			if (pool_pages >= cap)
				break;
			pg = pool + pool_pages * PG;
			n = read(fd, pg, PG);
			if (n <= 0)
				break;
			memset(pg + n, 0, PG - n);
			for (i = 0; i < (long)PG && !pg[i]; i++)
				;
			if (i < (long)PG)
				pool_pages++;
		}
		close(fd);
	}
	free(list);
	errno = 0;
	if (pool_pages < 16)
		die("too little file content (%ld pages)", pool_pages);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * Mark a page with (kind, proc, index) at an offset that depends on them:
 * two pages with different marks always differ, so the number of distinct
 * pages, and the ideal pages_sharing, follow from the layout alone.
 */
static void stamp(char *pg, unsigned int kind, unsigned int proc, uint64_t idx)
{
	uint32_t head[2] = { STAMP_MAGIC, (kind << 16) | proc };
	unsigned long off = (mix(idx * 131 + kind * 7 + proc) % (PG / 16)) * 16;

	memcpy(pg + off, head, 8);
	memcpy(pg + off + 8, &idx, 8);
}

/* Shared page k: a file page, the same in every process. */
static void fill_shared(char *pg, uint64_t k)
{
	memcpy(pg, pool + (k % pool_pages) * PG, PG);
	stamp(pg, 1, 0, k);
}

/* Unique page j of process p: random bytes or a marked file page. */
static void fill_unique(char *pg, unsigned int p, uint64_t j)
{
	if (j & 1) {
		uint64_t s = mix((uint64_t)p << 40 ^ j ^ 0x9e3779b97f4a7c15ULL);
		uint64_t *w = (uint64_t *)pg;
		unsigned long i;

		for (i = 0; i < PG / 8; i++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			w[i] = s;
		}
	} else {
		memcpy(pg, pool + ((j * 7919 + p * 104729) % pool_pages) * PG, PG);
	}
	stamp(pg, 2, p + 1, j);
}

/* ---- process sets ---- */

struct set {
	int n;
	pid_t pid[64];
	int go[64];		/* write end: closing it lets the child exit */
	long pages;		/* per process */
	long shared;		/* per process */
};

/* Child: lay out `pages` pages, `shared` of them the common ones. */
static void child_region(unsigned int p, long pages, long shared, int ready, int go)
{
	char *mem = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long *slot, i, u = 0;
	uint64_t s = p + 1;
	char c = 1;

	if (mem == MAP_FAILED)
		die("mmap %ld pages", pages);
	/* THP would only hide pages from KSM until it splits them. */
	madvise(mem, pages * PG, MADV_NOHUGEPAGE);
	slot = malloc(pages * sizeof(*slot));
	if (!slot)
		die("malloc");
	for (i = 0; i < pages; i++)
		slot[i] = i;
	/* A different order in every process: the same pages at other offsets. */
	for (i = pages - 1; i > 0; i--) {
		long j, t;

		s = mix(s + i);
		j = s % (i + 1);
		t = slot[i];
		slot[i] = slot[j];
		slot[j] = t;
	}
	for (i = 0; i < pages; i++) {
		char *pg = mem + slot[i] * PG;

		if (i < shared)
			fill_shared(pg, i);
		else
			fill_unique(pg, p, u++);
	}
	free(slot);
	if (madvise(mem, pages * PG, MADV_MERGEABLE))
		die("MADV_MERGEABLE");
	if (write(ready, &c, 1) != 1)
		die("ready");
	/* Stay until the parent closes the pipe. */
	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

static void set_start(struct set *st, int n, long mib, int share)
{
	int ready[2], i;
	char c;

	st->n = n;
	st->pages = mib * MiB / PG;
	st->shared = st->pages * share / 100;
	if (pipe(ready))
		die("pipe");
	for (i = 0; i < n; i++) {
		int go[2];

		if (pipe(go))
			die("pipe");
		st->pid[i] = fork();
		if (st->pid[i] < 0)
			die("fork");
		if (!st->pid[i]) {
			close(ready[0]);
			close(go[1]);
			child_region(i, st->pages, st->shared, ready[1], go[0]);
		}
		close(go[0]);
		st->go[i] = go[1];
	}
	close(ready[1]);
	for (i = 0; i < n; i++)
		if (read(ready[0], &c, 1) != 1)
			die("a worker died while filling its memory");
	close(ready[0]);
}

static void set_stop(struct set *st)
{
	int i;

	for (i = 0; i < st->n; i++)
		close(st->go[i]);
	for (i = 0; i < st->n; i++)
		waitpid(st->pid[i], NULL, 0);
	st->n = 0;
}

/* ---- workload 1 (and 2, 6, 7 on top of it) ---- */

struct merge_res {
	double t[3], cpu[3];	/* 50%, 90%, 100% of ideal; -1 if never */
	long final, ideal;
	double elapsed;
	double rounds90;	/* rounds' worth of pages looked at to 90%; -1 if never */
	long scans90;		/* full_scans completed at 90%; -1 if never */
};

/*
 * The fewest rounds to 90% of the ideal pages_sharing: every duplicate
 * must be looked at once. The scan takes the processes one after the
 * other, each with its shared pages spread evenly over its range: the
 * first process gives nothing, each further one `shared` pages, so 90%
 * needs the first process whole and 0.9 (n - 1) processes more, out of n.
 */
static double rounds90_limit(int n)
{
	return (1 + 0.9 * (n - 1)) / n;
}

/*
 * Start ksmd on a prepared set and trace pages_sharing until the ideal
 * is reached or the time limit passes. The rounds to 90% count the pages
 * the scan looked at (the growth of pages_scanned, linearly interpolated
 * between the two samples around the crossing) over the pages tracked.
 */
static void merge_run(const char *label, struct set *st, struct merge_res *r)
{
	static const double frac[3] = { 0.5, 0.9, 1.0 };
	long tracked = (long)st->n * st->pages;
	long ps, prev_ps = 0, scanned, prev_scanned, scanned0, scans0;
	char path[512];
	double t0, c0, t, c;
	FILE *tr;
	int k;

	snprintf(path, sizeof(path), "%s/trace-%s.dat", o.dir, label);
	tr = fopen(path, "w");
	if (!tr)
		die("open %s", path);
	fprintf(tr, "# seconds pages_sharing pages_shared full_scans ksmd_cpu_s pages_scanned\n");
	r->ideal = (long)(st->n - 1) * st->shared;
	for (k = 0; k < 3; k++)
		r->t[k] = r->cpu[k] = -1;
	r->rounds90 = -1;
	r->scans90 = -1;
	r->final = 0;
	scans0 = knob("full_scans");
	scanned0 = prev_scanned = knob("pages_scanned");
	c0 = ksmd_cpu();
	t0 = now();
	set_knob("run", 1);
	for (;;) {
		long scans;

		sleep_ms(o.interval_ms);
		t = now() - t0;
		c = ksmd_cpu() - c0;
		ps = knob("pages_sharing");
		scans = knob("full_scans");
		scanned = knob("pages_scanned");
		fprintf(tr, "%.3f %ld %ld %ld %.3f %ld\n", t, ps,
			knob("pages_shared"), scans, c, scanned);
		if (ps > r->final)
			r->final = ps;
		for (k = 0; k < 3; k++)
			if (r->t[k] < 0 && ps >= frac[k] * r->ideal) {
				r->t[k] = t;
				r->cpu[k] = c;
			}
		if (r->rounds90 < 0 && ps >= 0.9 * r->ideal && tracked > 0) {
			double want = 0.9 * r->ideal, at = scanned;

			if (ps > prev_ps && want > prev_ps)
				at = prev_scanned + (scanned - prev_scanned) *
				     (want - prev_ps) / (ps - prev_ps);
			r->rounds90 = (at - scanned0) / tracked;
			r->scans90 = scans - scans0;
		}
		prev_ps = ps;
		prev_scanned = scanned;
		if (r->t[2] >= 0 || t > o.timeout)
			break;
	}
	r->final = ps;
	r->elapsed = t;
	fclose(tr);
}

static void merge_put(const char *label, const struct merge_res *r, int procs)
{
	static const char *name[3] = { "50", "90", "100" };
	char key[96];
	int k;

	for (k = 0; k < 3; k++) {
		snprintf(key, sizeof(key), "%s.t%s_s", label, name[k]);
		put(key, "%.3f", r->t[k]);
		snprintf(key, sizeof(key), "%s.cpu%s_s", label, name[k]);
		put(key, "%.3f", r->cpu[k]);
	}
	snprintf(key, sizeof(key), "%s.ideal_sharing", label);
	put(key, "%ld", r->ideal);
	snprintf(key, sizeof(key), "%s.final_sharing", label);
	put(key, "%ld", r->final);
	snprintf(key, sizeof(key), "%s.final_fraction", label);
	put(key, "%.4f", r->ideal ? (double)r->final / r->ideal : 0);
	snprintf(key, sizeof(key), "%s.rounds90", label);
	put(key, "%.4f", r->rounds90);
	snprintf(key, sizeof(key), "%s.full_scans90", label);
	put(key, "%ld", r->scans90);
	snprintf(key, sizeof(key), "%s.rounds90_limit", label);
	put(key, "%.4f", rounds90_limit(procs));
	snprintf(key, sizeof(key), "%s.rounds90_over_limit", label);
	put(key, "%.4f", r->rounds90 >= 0 ? r->rounds90 / rounds90_limit(procs) : -1.0);
}

/* Memory bandwidth of this process (copying 16 MiB buffers), MiB/s. */
static double bandwidth(int secs)
{
	static char *a, *b;
	size_t len = 16 * MiB;
	double t0, t;
	long n = 0;

	if (!a) {
		a = malloc(len);
		b = malloc(len);
		if (!a || !b)
			die("malloc");
		memset(a, 1, len);
		memset(b, 2, len);
	}
	t0 = now();
	do {
		memcpy(n & 1 ? a : b, n & 1 ? b : a, len);
		n++;
		t = now() - t0;
	} while (t < secs);
	return n * (double)len / MiB / t;
}

static void w_merge(int fast)
{
	const char *label = fast ? "w1_fast" : "w1_default";
	struct merge_res r;
	struct set st;

	ksm_reset();
	set_knob("pages_to_scan", fast ? 1000 : 100);
	set_knob("sleep_millisecs", fast ? 0 : 20);
	set_start(&st, o.procs, o.mib, o.share);
	merge_run(label, &st, &r);
	merge_put(label, &r, st.n);

	if (fast) {
		/* Workload 2: the merged memory standing still. */
		long tracked = (long)st.n * st.pages, sc0, n;
		double t0, c0, t, c;

		wait_scans(1, o.timeout);
		sc0 = knob("pages_scanned");
		c0 = ksmd_cpu();
		t0 = now();
		n = measure_scans(o.still_scans);
		c = ksmd_cpu() - c0;
		t = now() - t0;
		if (n < 0)
			die("standing still: no full scan within %d s", o.timeout);
		put("w2.tracked_pages", "%ld", tracked);
		put("w2.full_scans", "%ld", n);
		put("w2.s_per_full_scan", "%.4f", t / n);
		put("w2.cpu_s_per_full_scan", "%.4f", c / n);
		put("w2.cpu_us_per_page_scan", "%.4f",
		    c * 1e6 / ((double)tracked * n));
		if (sc0 >= 0)
			put("w2.cpu_us_per_scanned", "%.4f",
			    c * 1e6 / (double)(knob("pages_scanned") - sc0 + 1));

		/* Workload 6: bandwidth with ksmd off, at full speed, off. */
		{
			double off1, on, off2;

			set_knob("run", 0);
			off1 = bandwidth(o.bw_secs);
			set_knob("run", 1);
			on = bandwidth(o.bw_secs);
			set_knob("run", 0);
			off2 = bandwidth(o.bw_secs);
			put("w6.bw_idle_mibs", "%.1f", (off1 + off2) / 2);
			put("w6.bw_busy_mibs", "%.1f", on);
			put("w6.bw_busy_fraction", "%.4f", 2 * on / (off1 + off2));
		}
	}
	set_stop(&st);
	ksm_reset();
}

/* ---- workload 3 ---- */

static void w_volatile(void)
{
	long pages = o.vol_mib * MiB / PG, vsum = 0, vmax = 0, smax = 0, n = 0;
	long cow0 = vmstat("cow_ksm"), sc0;
	double t0, c0, c, t;
	char *mem;
	pid_t pid;

	ksm_reset();
	set_knob("pages_to_scan", 1000);
	set_knob("sleep_millisecs", 0);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		uint64_t gen = 0;
		long i;

		mem = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			die("mmap");
		madvise(mem, pages * PG, MADV_NOHUGEPAGE);
		for (i = 0; i < pages; i++)
			memcpy(mem + i * PG, pool, PG);
		if (madvise(mem, pages * PG, MADV_MERGEABLE))
			die("MADV_MERGEABLE");
		/* All pages alike, but never for long: a new generation each pass. */
		for (;;) {
			gen++;
			for (i = 0; i < pages; i++)
				memcpy(mem + i * PG + 64, &gen, sizeof(gen));
		}
	}
	sleep_ms(500);
	sc0 = knob("full_scans");
	c0 = ksmd_cpu();
	t0 = now();
	set_knob("run", 1);
	/* At least still_scans full scans and min_secs seconds. */
	while ((knob("full_scans") - sc0 < o.still_scans ||
		now() - t0 < o.min_secs) && now() - t0 < o.timeout) {
		long v, s;

		sleep_ms(o.interval_ms);
		v = knob("pages_volatile");
		s = knob("pages_sharing");
		vsum += v;
		n++;
		if (v > vmax)
			vmax = v;
		if (s > smax)
			smax = s;
	}
	c = ksmd_cpu() - c0;
	t = now() - t0;
	set_knob("run", 0);
	sc0 = knob("full_scans") - sc0;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	put("w3.tracked_pages", "%ld", pages);
	put("w3.seconds", "%.3f", t);
	put("w3.full_scans", "%ld", sc0);
	put("w3.cpu_s", "%.3f", c);
	put("w3.cpu_us_per_page_scan", "%.4f",
	    sc0 ? c * 1e6 / ((double)pages * sc0) : -1.0);
	put("w3.pages_volatile_avg", "%.1f", n ? (double)vsum / n : 0);
	put("w3.pages_volatile_max", "%ld", vmax);
	put("w3.pages_sharing_max", "%ld", smax);
	if (cow0 >= 0)
		put("w3.cow_ksm", "%ld", vmstat("cow_ksm") - cow0);
	ksm_reset();
}

/* ---- workload 5 ---- */

static void w_cow(void)
{
	long pages = o.cow_mib * MiB / PG, i, ideal;
	char *a, *b;
	double t0, t;

	ksm_reset();
	set_knob("pages_to_scan", 1000);
	set_knob("sleep_millisecs", 0);
	a = mmap(NULL, 2 * pages * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		die("mmap");
	b = a + pages * PG;
	madvise(a, 2 * pages * PG, MADV_NOHUGEPAGE);
	/* Every content four times, in the first and in the second range. */
	for (i = 0; i < 2 * pages; i++) {
		char *pg = a + i * PG;
		long k = (i % pages) / 4 + (i >= pages ? pages : 0);

		fill_shared(pg, k);
	}
	ideal = 2 * (pages - pages / 4);
	if (madvise(a, 2 * pages * PG, MADV_MERGEABLE))
		die("MADV_MERGEABLE");
	set_knob("run", 1);
	t0 = now();
	while (knob("pages_sharing") < ideal && now() - t0 < o.timeout)
		sleep_ms(50);
	set_knob("run", 0);
	put("w5.merged_sharing", "%ld", knob("pages_sharing"));
	put("w5.ideal_sharing", "%ld", ideal);

	t0 = now();
	for (i = 0; i < pages; i++)
		a[i * PG + 100]++;
	t = now() - t0;
	put("w5.cow_ms", "%.3f", t * 1e3);
	put("w5.cow_us_per_page", "%.4f", t * 1e6 / pages);

	t0 = now();
	if (madvise(b, pages * PG, MADV_UNMERGEABLE))
		die("MADV_UNMERGEABLE");
	t = now() - t0;
	put("w5.unmerge_ms", "%.3f", t * 1e3);
	put("w5.unmerge_us_per_page", "%.4f", t * 1e6 / pages);
	munmap(a, 2 * pages * PG);
	ksm_reset();
}

/* ---- workloads 7 and 4 ---- */

/*
 * The time limit of each wait at a scale point: the -t timeout up to
 * 2 GiB, growing with the size beyond (a round grows with the memory).
 */
static int scale_timeout(long total)
{
	long t = (long)o.timeout * total / 2048;

	return t > o.timeout ? (int)t : o.timeout;
}

static void w_scale(void)
{
	char *list = strdup(o.scale), *tok, *save = NULL;
	int timeout = o.timeout;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long total = atol(tok), tracked;
		const char *src, *src2;
		long slab0, slab1, sc0;
		struct merge_res r;
		double w0 = now(), t0, c0, t, c, fill;
		char label[64], key[128];
		struct set st;

		snprintf(label, sizeof(label), "w7_%ld", total);
		o.timeout = scale_timeout(total);
		ksm_reset();
		set_knob("pages_to_scan", 1000);
		set_knob("sleep_millisecs", 0);
		set_start(&st, o.procs, total / o.procs, o.share);
		fill = now() - w0;
		tracked = (long)st.n * st.pages;
		sleep_ms(1000);
		slab0 = ksm_slab_bytes(&src);
		merge_run(label, &st, &r);
		merge_put(label, &r, st.n);

		/* Cost of a full scan once the memory is merged. */
		wait_scans(1, o.timeout);
		c0 = ksmd_cpu();
		t0 = now();
		sc0 = measure_scans(2);
		c = ksmd_cpu() - c0;
		t = now() - t0;
		set_knob("run", 0);
		sleep_ms(1000);
		slab1 = ksm_slab_bytes(&src2);
		snprintf(key, sizeof(key), "%s.tracked_pages", label);
		put(key, "%ld", tracked);
		snprintf(key, sizeof(key), "%s.s_per_full_scan", label);
		put(key, "%.4f", sc0 > 0 ? t / sc0 : -1);
		snprintf(key, sizeof(key), "%s.cpu_s_per_full_scan", label);
		put(key, "%.4f", sc0 > 0 ? c / sc0 : -1);
		snprintf(key, sizeof(key), "%s.cpu_us_per_page_scan", label);
		put(key, "%.4f", sc0 > 0 ? c * 1e6 / ((double)tracked * sc0) : -1);
		snprintf(key, sizeof(key), "%s.meta_bytes", label);
		put(key, "%ld", slab1 - slab0);
		snprintf(key, sizeof(key), "%s.meta_bytes_per_page", label);
		put(key, "%.2f", (double)(slab1 - slab0) / tracked);
		snprintf(key, sizeof(key), "%s.meta_source", label);
		put(key, "%s", src2);
		snprintf(key, sizeof(key), "%s.general_profit", label);
		put(key, "%ld", knob("general_profit"));
		set_stop(&st);
		ksm_reset();
		snprintf(key, sizeof(key), "%s.fill_s", label);
		put(key, "%.1f", fill);
		snprintf(key, sizeof(key), "%s.wall_s", label);
		put(key, "%.1f", now() - w0);
		o.timeout = timeout;
	}
	free(list);
}

/* ---- profile ---- */

/* Run the hook as "HOOK ACTION PHASE"; a failing hook ends the run. */
static void hook(const char *action, const char *phase)
{
	char cmd[1024];
	int rc;

	if (!o.hook)
		return;
	snprintf(cmd, sizeof(cmd), "%s %s %s", o.hook, action, phase);
	fflush(NULL);
	rc = system(cmd);
	errno = 0;
	if (rc)
		die("hook \"%s\" failed (status %d)", cmd, rc);
}

/* Copy a file of /proc into DIR/NAME. */
static void save_proc(const char *src, const char *name)
{
	char path[512], buf[8192];
	FILE *in, *f;
	size_t n;

	in = fopen(src, "r");
	if (!in)
		return;
	snprintf(path, sizeof(path), "%s/%s", o.dir, name);
	f = fopen(path, "w");
	if (!f)
		die("open %s", path);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, f);
	fclose(in);
	fclose(f);
}

/* ksmd standing still for o.prof_secs with the hook's PHASE around it. */
static void prof_still(const char *phase)
{
	long sc0 = knob("full_scans"), sc;
	double t0, c0, t, c;
	char key[96];

	hook("start", phase);
	c0 = ksmd_cpu();
	t0 = now();
	while (now() - t0 < o.prof_secs)
		sleep_ms(50);
	c = ksmd_cpu() - c0;
	t = now() - t0;
	sc = knob("full_scans") - sc0;
	hook("stop", phase);
	snprintf(key, sizeof(key), "prof.%s.seconds", phase);
	put(key, "%.3f", t);
	snprintf(key, sizeof(key), "prof.%s.cpu_s", phase);
	put(key, "%.3f", c);
	snprintf(key, sizeof(key), "prof.%s.full_scans", phase);
	put(key, "%ld", sc);
}

static void w_profile(void)
{
	char label[32], key[96];
	struct merge_res r;
	struct set st;
	int i;

	ksm_reset();
	set_knob("pages_to_scan", 1000);
	set_knob("sleep_millisecs", 0);
	set_start(&st, o.procs, o.mib, o.share);
	put("prof.tracked_pages", "%ld", (long)st.n * st.pages);
	sleep_ms(1000);
	save_proc("/proc/slabinfo", "slabinfo-before.txt");
	snprintf(key, sizeof(key), "%d", ksmd_pid());
	setenv("KSMD_PID", key, 1);

	/* Merging from nothing, several times: ksmd's work up to the ideal. */
	hook("start", "merge");
	for (i = 0; i < o.prof_merges; i++) {
		if (i) {
			set_knob("run", 2);
			set_knob("run", 0);
		}
		snprintf(label, sizeof(label), "prof_merge%d", i + 1);
		merge_run(label, &st, &r);
		snprintf(key, sizeof(key), "%s.t90_s", label);
		put(key, "%.3f", r.t[1]);
		snprintf(key, sizeof(key), "%s.t100_s", label);
		put(key, "%.3f", r.t[2]);
	}
	hook("stop", "merge");

	/* Standing still: once under perf, once under the function profiler. */
	wait_scans(1, o.timeout);
	save_proc("/proc/slabinfo", "slabinfo-merged.txt");
	prof_still("still");
	prof_still("ftrace");
	set_stop(&st);
	ksm_reset();
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ksm_bench [-n procs] [-m MiB] [-s share%%] [-t timeout] [-k scans]\n"
		"                 [-b bw-secs] [-v volatile-MiB] [-c cow-MiB] [-p pool-MiB]\n"
		"                 [-S scale-MiB,...] [-f file,...] [-o out] [-d dir] [-i ms]\n"
		"                 [-T min-secs] [-x hook] [-P merges] [-K profile-secs]\n"
		"                 merge-default|merge-fast|volatile|cow|scale|profile...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int opt, i;

	while ((opt = getopt(argc, argv, "n:m:s:t:k:b:v:c:p:S:f:o:d:i:T:x:P:K:")) != -1) {
		switch (opt) {
		case 'n': o.procs = atoi(optarg); break;
		case 'm': o.mib = atol(optarg); break;
		case 's': o.share = atoi(optarg); break;
		case 't': o.timeout = atoi(optarg); break;
		case 'k': o.still_scans = atoi(optarg); break;
		case 'b': o.bw_secs = atoi(optarg); break;
		case 'v': o.vol_mib = atol(optarg); break;
		case 'c': o.cow_mib = atol(optarg); break;
		case 'p': o.pool_mib = atol(optarg); break;
		case 'S': o.scale = optarg; break;
		case 'f': o.files = optarg; break;
		case 'o': o.outfile = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'i': o.interval_ms = atoi(optarg); break;
		case 'T': o.min_secs = atoi(optarg); break;
		case 'x': o.hook = optarg; break;
		case 'P': o.prof_merges = atoi(optarg); break;
		case 'K': o.prof_secs = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind >= argc || o.procs < 2 || o.procs > 64 || o.share < 0 ||
	    o.share > 100 || o.mib <= 0 || o.timeout <= 0 || o.still_scans <= 0 ||
	    o.prof_merges <= 0 || o.prof_secs <= 0)
		usage();
	out = o.outfile ? fopen(o.outfile, "a") : stdout;
	if (!out)
		die("open %s", o.outfile);
	if (access(KSM "run", W_OK)) {
		errno = 0;
		die("KSM is not available (no writable " KSM "run)");
	}
	put("boot.pages_to_scan", "%ld", knob("pages_to_scan"));
	put("boot.sleep_millisecs", "%ld", knob("sleep_millisecs"));
	load_pool();
	put("pool_pages", "%ld", pool_pages);
	for (i = optind; i < argc; i++) {
		double t0 = now();

		if (!strcmp(argv[i], "merge-default"))
			w_merge(0);
		else if (!strcmp(argv[i], "merge-fast"))
			w_merge(1);
		else if (!strcmp(argv[i], "volatile"))
			w_volatile();
		else if (!strcmp(argv[i], "cow"))
			w_cow();
		else if (!strcmp(argv[i], "scale"))
			w_scale();
		else if (!strcmp(argv[i], "profile"))
			w_profile();
		else
			usage();
		fprintf(stderr, "ksm_bench: %s took %.1f s\n", argv[i], now() - t0);
	}
	return 0;
}
