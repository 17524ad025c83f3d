// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_domains: merge_across_cgroups and cgroup_domain_depth.
 *
 * Workers are processes with the same 16 MiB (page i holds content i,
 * so a worker has nothing to merge with itself), placed in memory cgroups
 * under /sys/fs/cgroup/ksm-dom: two in a/, one in b/. Frames are compared
 * through /proc/self/pagemap, which each worker reads for itself (root).
 *
 * Runs as root in the test guest (cgroup v2 with the memory controller).
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ksm_common.h"

#define CG_DOM		CGROUP_DIR "ksm-dom"
#define CG_A		CG_DOM "/a"
#define CG_B		CG_DOM "/b"
#define NPAGES		4096	/* 16 MiB */
#define FULL_SCANS	4	/* past the state wanted, to be sure it stays */

static long psize;

struct worker {
	pid_t pid;
	int cmd, reply;
};

static void fill(char *p)
{
	long i;

	for (i = 0; i < NPAGES; i++) {
		memset(p + i * psize, (int)(i % 251) + 1, psize);
		*(long *)(p + i * psize + 64) = i;
	}
}

static bool intact(const char *p)
{
	long i;

	for (i = 0; i < NPAGES; i++)
		if (p[i * psize] != (char)(i % 251 + 1) ||
		    p[i * psize + psize - 1] != (char)(i % 251 + 1) ||
		    *(const long *)(p + i * psize + 64) != i)
			return false;
	return true;
}

/*
 * The worker: maps and fills its pages in @cg, advises them, then obeys
 * one-byte commands: 'f' sends its NPAGES frame numbers, 'c' one byte,
 * 'y' if its content is intact, 'q' quits.
 */
static void worker_main(const char *cg, int cmd, int reply)
{
	uint64_t *pfns = malloc(NPAGES * sizeof(*pfns));
	char c, *p;
	long i;

	if (!pfns || cg_join(cg, getpid()))
		_exit(2);
	p = mmap(NULL, NPAGES * psize, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(3);
	madvise(p, NPAGES * psize, MADV_NOHUGEPAGE);
	fill(p);
	if (madvise(p, NPAGES * psize, MADV_MERGEABLE))
		_exit(4);
	c = 'r';
	if (write(reply, &c, 1) != 1)
		_exit(5);
	while (read(cmd, &c, 1) == 1 && c != 'q') {
		if (c == 'f') {
			for (i = 0; i < NPAGES; i++)
				pfns[i] = pfn_of(p + i * psize);
			if (write(reply, pfns, NPAGES * sizeof(*pfns)) !=
			    (ssize_t)(NPAGES * sizeof(*pfns)))
				_exit(6);
		} else if (c == 'c') {
			c = intact(p) ? 'y' : 'n';
			if (write(reply, &c, 1) != 1)
				_exit(7);
		}
	}
	_exit(0);
}

static int worker_start(struct worker *w, const char *cg)
{
	int cmd[2], reply[2];
	char c;

	if (pipe(cmd) || pipe(reply))
		return -1;
	w->pid = fork();
	if (w->pid == 0) {
		close(cmd[1]);
		close(reply[0]);
		worker_main(cg, cmd[0], reply[1]);
	}
	close(cmd[0]);
	close(reply[1]);
	w->cmd = cmd[1];
	w->reply = reply[0];
	if (w->pid < 0 || read(w->reply, &c, 1) != 1 || c != 'r')
		return -1;
	return 0;
}

static void worker_stop(struct worker *w)
{
	if (w->pid <= 0)
		return;
	if (write(w->cmd, "q", 1) != 1)
		kill(w->pid, SIGKILL);
	waitpid(w->pid, NULL, 0);
	close(w->cmd);
	close(w->reply);
	w->pid = 0;
}

/* Read all of @len bytes, or fail. */
static int read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

static int worker_pfns(struct worker *w, uint64_t *pfns)
{
	if (write(w->cmd, "f", 1) != 1)
		return -1;
	return read_all(w->reply, pfns, NPAGES * sizeof(*pfns));
}

static bool worker_intact(struct worker *w)
{
	char c = 0;

	return write(w->cmd, "c", 1) == 1 && read(w->reply, &c, 1) == 1 &&
	       c == 'y';
}

static uint64_t pf[3][NPAGES];

/* How many pages of x and y are the same frame. */
static long same_frames(const uint64_t *x, const uint64_t *y)
{
	long i, n = 0;

	for (i = 0; i < NPAGES; i++)
		n += x[i] && x[i] == y[i];
	return n;
}

/*
 * Let ksmd run until @w[0] and @w[1] share @s01 frames, @w[0] and @w[2]
 * @s02, @w[1] and @w[2] @s12, and pages_sharing is @sharing, then for
 * FULL_SCANS more full scans, and check again. Returns NULL or what was
 * wrong.
 */
static const char *settle(struct worker *w, long s01, long s02, long s12,
			  long sharing, int timeout_s)
{
	time_t end = time(NULL) + timeout_s;
	long got[4] = { -1, -1, -1, -1 }, scans = -1, i;
	bool ok = false;

	ksm_set("pages_to_scan", 5000);
	ksm_set("sleep_millisecs", 0);
	ksm_set("run", 1);
	while (time(NULL) < end) {
		for (i = 0; i < 3; i++)
			if (worker_pfns(&w[i], pf[i]))
				return "a worker did not answer";
		got[0] = same_frames(pf[0], pf[1]);
		got[1] = same_frames(pf[0], pf[2]);
		got[2] = same_frames(pf[1], pf[2]);
		got[3] = ksm_get("pages_sharing");
		ok = got[0] == s01 && got[1] == s02 && got[2] == s12 &&
		     got[3] == sharing;
		if (ok && scans < 0)
			scans = ksm_get("full_scans");
		else if (!ok)
			scans = -1;
		if (ok && ksm_get("full_scans") >= scans + FULL_SCANS)
			break;
		usleep(100000);
	}
	ksft_print_msg("domains: shared frames %ld/%ld/%ld (want %ld/%ld/%ld), pages_sharing %ld (want %ld)\n",
		      got[0], got[1], got[2], s01, s02, s12, got[3], sharing);
	if (!ok)
		return "frames shared other than the domains allow";
	for (i = 0; i < 3; i++)
		if (!worker_intact(&w[i]))
			return "content changed";
	return NULL;
}

static long cg_current_kb(const char *cg)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), "%s/memory.current", cg);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	return atol(buf) >> 10;
}

/* Does /proc/PID/ksm_stat of @w name the domain of cgroup @cg (0: none)? */
static bool domain_is(struct worker *w, const char *cg)
{
	char path[64];
	struct stat st;
	long want = 0;

	if (cg && stat(cg, &st))
		return false;
	if (cg)
		want = (long)st.st_ino;
	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", w->pid);
	return keyed_value(path, "ksm_merge_domain") == want;
}

static int set_knob(const char *name, const char *val)
{
	return ksm_write(name, val);
}

/*
 * Bad values are refused with EINVAL, and a change while KSM pages exist
 * with EBUSY; neither changes the value or the merged pages.
 */
static void test_knob_errors(struct worker *w)
{
	const char *why = NULL;
	long sharing;

	why = settle(w, NPAGES, NPAGES, NPAGES, 2 * NPAGES, 120);
	if (!why && !domain_is(&w[0], NULL))
		why = "ksm_stat names a domain while domains are off";
	sharing = ksm_get("pages_sharing");
	if (!why && set_knob("merge_across_cgroups", "0") != -EBUSY)
		why = "merge_across_cgroups=0 with KSM pages: not EBUSY";
	else if (!why && set_knob("cgroup_domain_depth", "1") != -EBUSY)
		why = "cgroup_domain_depth=1 with KSM pages: not EBUSY";
	else if (!why && set_knob("merge_across_cgroups", "2") != -EINVAL)
		why = "merge_across_cgroups=2: not EINVAL";
	else if (!why && set_knob("merge_across_cgroups", "x") != -EINVAL)
		why = "merge_across_cgroups=x: not EINVAL";
	else if (!why && set_knob("cgroup_domain_depth", "-1") != -EINVAL)
		why = "cgroup_domain_depth=-1: not EINVAL";
	else if (!why && set_knob("cgroup_domain_depth", "4294967296") != -EINVAL)
		why = "cgroup_domain_depth=2^32: not EINVAL";
	else if (!why && (ksm_get("merge_across_cgroups") != 1 ||
			  ksm_get("cgroup_domain_depth") != 0))
		why = "a refused write changed a value";
	else if (!why && ksm_get("pages_sharing") != sharing)
		why = "a refused write changed the merged pages";
	ksm_set("run", 2);
	if (!why && (set_knob("merge_across_cgroups", "0") ||
		     set_knob("merge_across_cgroups", "1")))
		why = "cannot switch after run=2";
	ksft_test_result(!why, "domains: knob errors (EBUSY, EINVAL) change nothing%s%s\n",
		    why ? ": " : "", why ? why : "");
}

static void test_domains(struct worker *w)
{
	long a_kb, b_kb, own = NPAGES * psize >> 10;
	const char *why;

	ksm_set("run", 2);
	set_knob("merge_across_cgroups", "0");
	set_knob("cgroup_domain_depth", "0");
	why = settle(w, NPAGES, 0, 0, NPAGES, 120);
	if (!why && (!domain_is(&w[0], CG_A) || !domain_is(&w[1], CG_A) ||
		     !domain_is(&w[2], CG_B)))
		why = "ksm_stat does not name the cgroup as the domain";
	a_kb = cg_current_kb(CG_A);
	b_kb = cg_current_kb(CG_B);
	ksft_print_msg("domains: memory.current a/ %ld kB, b/ %ld kB (one copy: %ld kB)\n",
		      a_kb, b_kb, own);
	/* Each domain pays for its own copy, and only for it. */
	if (!why && (a_kb < own * 9 / 10 || a_kb > own * 3 / 2 ||
		     b_kb < own * 9 / 10 || b_kb > own * 3 / 2))
		why = "a cgroup is charged for another domain's pages";
	ksft_test_result(!why, "domains: two processes of a/ share frames, the one in b/ none%s%s\n",
		    why ? ": " : "", why ? why : "");
}

/*
 * The merge events name the domain: with domains on, the merges of a/'s
 * two processes (the only ones here with content in common) say a/'s id.
 * Other processes of the guest may merge meanwhile, but no merge may say
 * b/ (it has nothing to merge) or 0 (every process is in some domain).
 */
static void test_trace(struct worker *w)
{
	char line[512], want_a[64], want_b[64], other[512] = "";
	struct stat sa, sb;
	const char *why = NULL;
	long merges = 0, bad = 0;
	FILE *f;

	ksm_set("run", 2);
	if (stat(CG_A, &sa) || stat(CG_B, &sb) ||
	    write_file(TRACE_DIR "events/ksm/ksm_merge_with_ksm_page/enable", "1")) {
		ksft_test_result_skip("domains: merge events name the domain (no tracefs)\n");
		return;
	}
	trace_clear();
	snprintf(want_a, sizeof(want_a), " domain %lu\n", (unsigned long)sa.st_ino);
	snprintf(want_b, sizeof(want_b), " domain %lu\n", (unsigned long)sb.st_ino);
	why = settle(w, NPAGES, 0, 0, NPAGES, 120);
	write_file(TRACE_DIR "events/ksm/ksm_merge_with_ksm_page/enable", "0");
	f = fopen(TRACE_DIR "trace", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, "ksm_merge_with_ksm_page:") ||
		    !strstr(line, " error 0 "))
			continue;
		if (strstr(line, want_a)) {
			merges++;
		} else if (strstr(line, want_b) || strstr(line, " domain 0\n") ||
			   !strstr(line, " domain ")) {
			if (!bad++)
				snprintf(other, sizeof(other), "%s", line);
		}
	}
	if (f)
		fclose(f);
	ksft_print_msg("domains: %ld merge events name a/ (domain %lu), %ld name b/, none or 0%s%s",
		       merges, (unsigned long)sa.st_ino, bad,
		       bad ? ", e.g. " : "", bad ? other : "\n");
	if (!why && !f)
		why = "cannot read the trace";
	else if (!why && (merges < NPAGES || bad))
		why = "merge events do not name the domain";
	ksft_test_result(!why, "domains: merge events name the domain%s%s\n",
			 why ? ": " : "", why ? why : "");
}

static void test_moves(struct worker *w)
{
	const char *why;

	/* b/'s process joins a/: it may share now. */
	cg_join(CG_A, w[2].pid);
	why = settle(w, NPAGES, NPAGES, NPAGES, 2 * NPAGES, 120);
	ksft_test_result(!why, "domains: a process that joins a/ shares with it%s%s\n",
		    why ? ": " : "", why ? why : "");
	/* One of a/ leaves for b/: it stops sharing with a/. */
	cg_join(CG_B, w[1].pid);
	why = settle(w, 0, NPAGES, 0, NPAGES, 120);
	ksft_test_result(!why, "domains: a process moved to b/ stops sharing with a/%s%s\n",
		    why ? ": " : "", why ? why : "");
	/* Put it back where it was for the next test. */
	cg_join(CG_A, w[1].pid);
	cg_join(CG_B, w[2].pid);
}

/* With depth 1, a/ and b/ are both ksm-dom/'s domain: all share. */
static void test_depth(struct worker *w)
{
	const char *why = NULL;

	ksm_set("run", 2);
	if (set_knob("cgroup_domain_depth", "1"))
		why = "cannot set cgroup_domain_depth=1";
	if (!why)
		why = settle(w, NPAGES, NPAGES, NPAGES, 2 * NPAGES, 120);
	if (!why && (!domain_is(&w[0], CG_DOM) || !domain_is(&w[2], CG_DOM)))
		why = "ksm_stat does not name the parent as the domain";
	ksm_set("run", 2);
	set_knob("cgroup_domain_depth", "0");
	ksft_test_result(!why, "domains: cgroup_domain_depth=1 makes a/ and b/ one domain%s%s\n",
		    why ? ": " : "", why ? why : "");
}

/* Flip the mode a few times under ksmd at full speed. */
static void test_flips(struct worker *w)
{
	const char *why = NULL;
	int i;

	for (i = 0; i < 6 && !why; i++) {
		ksm_set("run", 2);
		if (set_knob("merge_across_cgroups", i & 1 ? "1" : "0"))
			why = "cannot switch after run=2";
		else
			why = i & 1 ? settle(w, NPAGES, NPAGES, NPAGES,
					     2 * NPAGES, 120) :
				      settle(w, NPAGES, 0, 0, NPAGES, 120);
	}
	ksft_test_result(!why, "domains: switching on and off, six times%s%s\n",
		    why ? ": " : "", why ? why : "");
}

static const char *const knobs[] = {
	"use_zero_pages", "pages_to_scan", "sleep_millisecs", "run", NULL,
};

int main(void)
{
	struct worker w[3] = { };
	int i;

	psize = sysconf(_SC_PAGESIZE);
	if (access(KSM_DIR "run", W_OK))
		ksft_exit_skip("needs root and CONFIG_KSM\n");
	if (access(KSM_DIR "merge_across_cgroups", W_OK))
		ksft_exit_fail_msg("no merge_across_cgroups knob\n");
	ksm_save_knobs(knobs);
	ksm_set("run", 2);
	ksm_set("use_zero_pages", 0);
	ksft_print_header();
	ksft_set_plan(7);
	cg_make(CG_DOM);
	write_file(CG_DOM "/cgroup.subtree_control", "+memory");
	mkdir(CG_A, 0755);
	mkdir(CG_B, 0755);
	if (worker_start(&w[0], CG_A) || worker_start(&w[1], CG_A) ||
	    worker_start(&w[2], CG_B)) {
		for (i = 0; i < 7; i++)
			ksft_test_result(0, "domains: workers did not start\n");
		goto out;
	}
	test_knob_errors(w);
	test_domains(w);
	test_trace(w);
	test_moves(w);
	test_depth(w);
	test_flips(w);
out:
	for (i = 0; i < 3; i++)
		worker_stop(&w[i]);
	ksm_set("run", 2);
	set_knob("merge_across_cgroups", "1");
	set_knob("cgroup_domain_depth", "0");
	rmdir(CG_A);
	rmdir(CG_B);
	rmdir(CG_DOM);
	ksm_restore_knobs();
	ksft_finished();
}
