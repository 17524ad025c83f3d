// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the ksmtuned policy: the pure decision function under
 * chosen inputs, then whole rounds (collect, decide, apply) over a fake
 * root whose memory state a script changes step by step.
 */
#include <stdio.h>
#include <string.h>

#include "fakeroot.h"
#include "ksmtuned.h"
#include "tap.h"

#define GIB_KB (1024ULL * 1024)

static struct tuned_conf conf(void)
{
	struct tuned_conf c;

	tuned_conf_defaults(&c);
	return c;
}

static bool test_threshold(void)
{
	struct tuned_conf c = conf();

	CHECK_EQ(tuned_threshold_kb(&c, 16 * GIB_KB), 16 * GIB_KB / 5);
	/* Tiny machine: the constant wins. */
	CHECK_EQ(tuned_threshold_kb(&c, 8000), 2048);
	c.thres_coef = 0;
	c.thres_const = 1;
	CHECK_EQ(tuned_threshold_kb(&c, 16 * GIB_KB), 1);
	return true;
}

static bool test_sleep(void)
{
	struct tuned_conf c = conf();

	CHECK_EQ(tuned_sleep_ms(&c, 16 * GIB_KB), 10);
	CHECK_EQ(tuned_sleep_ms(&c, 2 * GIB_KB), 80);
	CHECK_EQ(tuned_sleep_ms(&c, 64 * GIB_KB), 10);	/* never below 10 */
	c.sleep_msec = 100;
	CHECK_EQ(tuned_sleep_ms(&c, 4 * GIB_KB), 400);
	return true;
}

static struct tuned_input input(unsigned long long free_kb,
				unsigned long long committed_kb, bool running, long npages)
{
	struct tuned_input in = {
		.total_kb = 16 * GIB_KB, .free_kb = free_kb,
		.committed_kb = committed_kb, .running = running, .npages = npages,
		.have_psi = true, .psi_some_avg10 = 0.0,
	};
	return in;
}

static bool test_plenty(void)
{
	struct tuned_conf c = conf();
	struct tuned_input in = input(12 * GIB_KB, 1 * GIB_KB, true, 500);
	struct tuned_output out;

	tuned_decide(&c, &in, &out);
	CHECK(!out.run);
	CHECK(out.why);
	return true;
}

static bool test_start_boost(void)
{
	struct tuned_conf c = conf();
	struct tuned_input in = input(1 * GIB_KB, 1 * GIB_KB, false, 100);
	struct tuned_output out;

	/* Stopped: starts from 0 + boost, whatever pages_to_scan was. */
	tuned_decide(&c, &in, &out);
	CHECK(out.run);
	CHECK_EQ(out.npages, 300);
	CHECK_EQ(out.sleep_ms, 10);
	/* Running: boost on top, capped at the maximum. */
	in.running = true;
	in.npages = 300;
	tuned_decide(&c, &in, &out);
	CHECK_EQ(out.npages, 600);
	in.npages = 1100;
	tuned_decide(&c, &in, &out);
	CHECK_EQ(out.npages, 1250);
	return true;
}

static bool test_overcommit_decay(void)
{
	struct tuned_conf c = conf();
	/* Enough free now, but committed + threshold exceeds RAM. */
	struct tuned_input in = input(6 * GIB_KB, 14 * GIB_KB, true, 600);
	struct tuned_output out;

	tuned_decide(&c, &in, &out);
	CHECK(out.run);
	CHECK_EQ(out.npages, 550);
	in.npages = 100;
	tuned_decide(&c, &in, &out);
	CHECK_EQ(out.npages, 64);	/* floor */
	/* A small boost still respects the floor when starting. */
	c.npages_boost = 10;
	in.free_kb = 1 * GIB_KB;
	in.running = false;
	tuned_decide(&c, &in, &out);
	CHECK_EQ(out.npages, 64);
	return true;
}

static bool test_boundary(void)
{
	struct tuned_conf c = conf();
	unsigned long long thres = tuned_threshold_kb(&c, 16 * GIB_KB);
	struct tuned_input in = input(thres, 0, true, 400);
	struct tuned_output out;

	/* free == threshold: not "free > threshold", so it keeps running... */
	tuned_decide(&c, &in, &out);
	CHECK(out.run);
	/* ...but not "free < threshold" either: decay. */
	CHECK_EQ(out.npages, 350);
	in.free_kb = thres + 1;
	tuned_decide(&c, &in, &out);
	CHECK(!out.run);
	return true;
}

static bool test_psi(void)
{
	struct tuned_conf c = conf();
	struct tuned_input in = input(12 * GIB_KB, 0, false, 0);
	struct tuned_output out;

	in.psi_some_avg10 = 25.0;
	tuned_decide(&c, &in, &out);
	CHECK(out.pressure);
	CHECK(out.run);
	CHECK_EQ(out.npages, 300);
	in.psi_some_avg10 = 9.99;
	tuned_decide(&c, &in, &out);
	CHECK(!out.run);
	in.psi_some_avg10 = 50;
	c.psi_thres = 0;	/* disabled */
	tuned_decide(&c, &in, &out);
	CHECK(!out.run);
	c.psi_thres = 10;
	in.have_psi = false;	/* kernel without PSI */
	tuned_decide(&c, &in, &out);
	CHECK(!out.run);
	return true;
}

/* ---- rounds over a fake root ------------------------------------------ */

static const char *root;
static struct ksm k;

static bool fake_setup(void)
{
	root = fr_create();
	CHECK(root);
	CHECK(!fr_ksm_defaults(root));
	CHECK(!fr_meminfo(root, 2 * GIB_KB, 1800000));
	CHECK(!fr_write(root, "proc/pressure/memory",
			"some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"));
	CHECK(!fr_process(root, 1, "systemd", 12000, 0, "no", "no", 0));
	CHECK(!ksm_init(&k, root));
	return true;
}

static long knob(const char *name)
{
	unsigned long long v;

	return ksm_get_ull(&k, name, &v) ? -1 : (long)v;
}

/* One round of the daemon. */
static bool round_trip(const struct tuned_conf *c, struct tuned_output *out)
{
	struct tuned_procs procs;
	struct tuned_input in;
	const char *what;

	CHECK_EQ(tuned_scan_procs(&k, c, NULL, &procs), 0);
	CHECK_EQ(tuned_collect(&k, &procs, &in), 0);
	tuned_procs_free(&procs);
	tuned_decide(c, &in, out);
	CHECK_EQ(tuned_apply(&k, &in, out, &what), 0);
	return true;
}

static bool test_collect(void)
{
	struct tuned_conf c = conf();
	struct tuned_procs a, b;
	struct tuned_input in;

	CHECK(fake_setup());
	CHECK(!fr_process(root, 50, "qemu-kvm", 500000, 10, "yes", "no", 100));
	CHECK(!fr_process(root, 7, "redis", 300000, 0, "no", "yes", 0));
	CHECK(!fr_process(root, 9, "old-kernel", 1000, 0, "no", "no", 5));
	CHECK_EQ(tuned_scan_procs(&k, &c, NULL, &a), 0);
	CHECK_EQ(a.n, 3);
	CHECK_EQ(a.pids[0], 7);
	CHECK_EQ(a.pids[1], 9);
	CHECK_EQ(a.pids[2], 50);
	CHECK_EQ(a.rss_kb, 801000);	/* systemd is not mergeable */
	CHECK_EQ(tuned_collect(&k, &a, &in), 0);
	CHECK_EQ(in.total_kb, 2 * GIB_KB);
	CHECK_EQ(in.free_kb, 1800000);
	CHECK_EQ(in.committed_kb, 801000);
	CHECK(in.have_psi);
	CHECK(!in.running);
	CHECK_EQ(in.npages, 100);
	CHECK(!fr_process(root, 60, "qemu-kvm", 1, 0, "yes", "no", 0));
	CHECK_EQ(tuned_scan_procs(&k, &c, NULL, &b), 0);
	CHECK(!tuned_procs_equal(&a, &b));
	/* It turns KSM off again: back to the same set. */
	CHECK(!fr_write(root, "proc/60/ksm_stat", "ksm_rmap_items 0\nksm_mergeable: no\n"));
	tuned_procs_free(&b);
	CHECK_EQ(tuned_scan_procs(&k, &c, NULL, &b), 0);
	CHECK(tuned_procs_equal(&a, &b));
	tuned_procs_free(&a);
	tuned_procs_free(&b);
	fr_destroy(root);
	return true;
}

static bool test_scripted(void)
{
	struct tuned_conf c = conf();
	struct tuned_output out;

	CHECK(fake_setup());
	/* 1: 2 GiB, 1.8 GiB free, nothing mergeable: KSM stays off. */
	CHECK(round_trip(&c, &out));
	CHECK_EQ(knob("run"), 0);
	CHECK_EQ(knob("pages_to_scan"), 100);

	/* 2: guests start and eat memory: start with the boost. */
	CHECK(!fr_process(root, 1000, "qemu-kvm", 900000, 0, "yes", "no", 1000));
	CHECK(!fr_process(root, 1001, "qemu-kvm", 900000, 0, "yes", "no", 1000));
	CHECK(!fr_meminfo(root, 2 * GIB_KB, 200000));
	CHECK(round_trip(&c, &out));
	CHECK_EQ(knob("run"), 1);
	CHECK_EQ(knob("pages_to_scan"), 300);
	CHECK_EQ(knob("sleep_millisecs"), 80);

	/* 3: still short: boost again. */
	CHECK(round_trip(&c, &out));
	CHECK_EQ(knob("pages_to_scan"), 600);

	/* 4: merging freed memory, but the guests still overcommit: decay. */
	CHECK(!fr_meminfo(root, 2 * GIB_KB, 1000000));
	CHECK(round_trip(&c, &out));
	CHECK_EQ(knob("run"), 1);
	CHECK_EQ(knob("pages_to_scan"), 550);

	/* 5: pressure stall while free looks fine: boost. */
	CHECK(!fr_write(root, "proc/pressure/memory",
			"some avg10=40.00 avg60=10.00 avg300=2.00 total=99\n"));
	CHECK(round_trip(&c, &out));
	CHECK(out.pressure);
	CHECK_EQ(knob("pages_to_scan"), 850);

	/* 6: the guests exit, pressure gone: stop. */
	CHECK(!fr_remove(root, "proc/1000/ksm_stat"));
	CHECK(!fr_remove(root, "proc/1001/ksm_stat"));
	CHECK(!fr_write(root, "proc/pressure/memory",
			"some avg10=0.00 avg60=0.00 avg300=0.00 total=99\n"));
	CHECK(!fr_meminfo(root, 2 * GIB_KB, 1900000));
	CHECK(round_trip(&c, &out));
	CHECK_EQ(knob("run"), 0);
	/* Stopping leaves the tuning alone, as the script did. */
	CHECK_EQ(knob("pages_to_scan"), 850);
	fr_destroy(root);
	return true;
}

static bool test_advisor(void)
{
	struct tuned_conf c = conf();
	struct tuned_output out;

	CHECK(fake_setup());
	/* With the kernel's advisor on, pages_to_scan is left to it. */
	CHECK(!fr_write(root, "sys/kernel/mm/ksm/advisor_mode", "none [scan-time]\n"));
	CHECK(!fr_meminfo(root, 2 * GIB_KB, 100000));
	CHECK(round_trip(&c, &out));
	CHECK_EQ(knob("run"), 1);
	CHECK_EQ(knob("pages_to_scan"), 100);
	CHECK_EQ(knob("sleep_millisecs"), 80);
	fr_destroy(root);
	return true;
}

/*
 * Linux 6.12 prints no ksm_mergeable/ksm_merge_any lines, and a stopped
 * ksmd makes no rmap items: a process that enabled KSM must still count.
 */
static bool test_enabled_without_rmap(void)
{
	struct tuned_conf c = conf();
	struct tuned_procs p, q;

	CHECK(fake_setup());
	/* Not scanned yet, but an area is VM_MERGEABLE: counts. */
	CHECK(!fr_process(root, 70, "guest", 14000000, 0, NULL, NULL, 0));
	CHECK(!fr_smaps(root, 70, "rd wr mr mw me ac sd mg"));
	/* Nothing mergeable. */
	CHECK(!fr_process(root, 71, "bash", 4000, 0, NULL, NULL, 0));
	CHECK(!fr_smaps(root, 71, "rd wr mr mw me ac"));
	CHECK_EQ(tuned_scan_procs(&k, &c, NULL, &p), 0);
	CHECK_EQ(p.n, 1);
	CHECK_EQ(p.pids[0], 70);
	CHECK_EQ(p.rss_kb, 14000000);
	CHECK_EQ(p.by_match, 0);
	tuned_procs_free(&p);

	/* smaps unreadable (no smaps here): the name decides, qemu's by default. */
	CHECK(!fr_process(root, 72, "qemu-system-x86", 900000, 0, NULL, NULL, 0));
	CHECK(!fr_process(root, 73, "qemu:guest1", 800000, 0, NULL, NULL, 0));
	CHECK(!fr_process(root, 74, "sshd", 7000, 0, NULL, NULL, 0));
	CHECK(!fr_process(root, 75, "qemu-img", 5000, 0, NULL, NULL, 0));
	/* The kernel's own lines win over smaps and the name, in either spelling. */
	CHECK(!fr_process(root, 76, "qemu-kvm", 3000, 0, "no", "no", 0));
	CHECK(!fr_smaps(root, 76, "rd wr mg"));
	CHECK(!fr_write(root, "proc/77/ksm_stat", "ksm_rmap_items 0\nksm_merge_any 1\n"));
	CHECK(!fr_write(root, "proc/77/status", "Name:\tredis\nVmRSS:\t100 kB\n"));
	CHECK_EQ(tuned_scan_procs(&k, &c, NULL, &p), 0);
	CHECK_EQ(p.n, 4);
	CHECK_EQ(p.pids[0], 70);
	CHECK_EQ(p.pids[1], 72);
	CHECK_EQ(p.pids[2], 73);
	CHECK_EQ(p.pids[3], 77);
	CHECK_EQ(p.by_match, 2);
	CHECK_EQ(p.rss_kb, 14000000 + 900000 + 800000 + 100);

	/* A quick poll keeps the last verdicts of known pids... */
	CHECK(!fr_remove(root, "proc/70/smaps"));
	CHECK(!fr_smaps(root, 71, "rd wr mg"));
	CHECK_EQ(tuned_scan_procs(&k, &c, &p, &q), 0);
	CHECK(tuned_procs_equal(&p, &q));
	CHECK_EQ(q.rss_kb, p.rss_kb);
	tuned_procs_free(&q);
	/* ...a full look sees the changes. */
	CHECK_EQ(tuned_scan_procs(&k, &c, NULL, &q), 0);
	CHECK_EQ(q.n, 4);
	CHECK_EQ(q.pids[0], 71);
	tuned_procs_free(&q);

	/* KSM_PROC_MATCH=off: no guessing by name. */
	strcpy(c.proc_match, "off");
	CHECK_EQ(tuned_scan_procs(&k, &c, NULL, &q), 0);
	CHECK_EQ(q.n, 2);
	CHECK_EQ(q.by_match, 0);
	tuned_procs_free(&q);
	tuned_procs_free(&p);

	/* The 14 GB guest alone makes KSM worth running on 16 GiB. */
	CHECK(!fr_meminfo(root, 16 * GIB_KB, 15000000));
	CHECK(!fr_smaps(root, 70, "rd wr mr mw me ac mg"));
	for (int pid = 71; pid <= 77; pid++) {
		char rel[32];

		snprintf(rel, sizeof(rel), "proc/%d/ksm_stat", pid);
		fr_remove(root, rel);
	}
	{
		struct tuned_output out;

		CHECK(round_trip(&c, &out));
		CHECK(out.run);
		CHECK_EQ(knob("run"), 1);
	}
	fr_destroy(root);
	return true;
}

/* The writes a decision makes, in order: what --dry-run prints. */
static bool test_plan(void)
{
	struct tuned_conf c = conf();
	struct tuned_write w[TUNED_MAX_WRITES];
	struct tuned_input in;
	struct tuned_output out;
	const char *what;

	/* Plenty of memory, KSM stopped: nothing to write. */
	in = input(12 * GIB_KB, 1 * GIB_KB, false, 500);
	tuned_decide(&c, &in, &out);
	CHECK_EQ(tuned_plan(&in, &out, w), 0);
	/* ...and running: only run=0. */
	in.running = true;
	tuned_decide(&c, &in, &out);
	CHECK_EQ(tuned_plan(&in, &out, w), 1);
	CHECK(!strcmp(w[0].knob, "run"));
	CHECK_EQ(w[0].value, 0);
	CHECK(!strncmp(w[0].why, "stop: ", 6));

	/* Short memory, stopped: pages_to_scan, sleep_millisecs, then run=1. */
	in = input(1 * GIB_KB, 1 * GIB_KB, false, 100);
	tuned_decide(&c, &in, &out);
	CHECK_EQ(tuned_plan(&in, &out, w), 3);
	CHECK(!strcmp(w[0].knob, "pages_to_scan"));
	CHECK_EQ(w[0].value, 300);
	CHECK(!strcmp(w[1].knob, "sleep_millisecs"));
	CHECK_EQ(w[1].value, 10);
	CHECK(!strcmp(w[2].knob, "run"));
	CHECK_EQ(w[2].value, 1);
	CHECK(!strcmp(w[2].why, "start: free <= threshold"));
	/* Running: no run write. */
	in.running = true;
	tuned_decide(&c, &in, &out);
	CHECK_EQ(tuned_plan(&in, &out, w), 2);
	CHECK_EQ(w[0].value, 400);
	/* The advisor owns pages_to_scan. */
	in.advisor = true;
	CHECK_EQ(tuned_plan(&in, &out, w), 1);
	CHECK(!strcmp(w[0].knob, "sleep_millisecs"));

	/* run=2 (unmerging) is not stopped by a stop decision. */
	in = input(12 * GIB_KB, 1 * GIB_KB, false, 500);
	tuned_decide(&c, &in, &out);
	CHECK(!out.run);
	CHECK_EQ(tuned_plan(&in, &out, w), 0);

	/* A dry run checks the writes and makes none. */
	CHECK(fake_setup());
	in = input(1 * GIB_KB, 1 * GIB_KB, false, 100);
	tuned_decide(&c, &in, &out);
	CHECK_EQ(tuned_write_all(&k, w, tuned_plan(&in, &out, w), true, &what), 0);
	CHECK_EQ(knob("run"), 0);
	CHECK_EQ(knob("pages_to_scan"), 100);
	CHECK_EQ(knob("sleep_millisecs"), 20);
	w[0].value = -5;
	CHECK(tuned_write_all(&k, w, 3, true, &what) < 0);
	CHECK(what && !strcmp(what, "pages_to_scan"));
	/* Nothing is written when a later write would be refused. */
	w[0].value = 300;
	w[1].value = -1;
	CHECK(tuned_write_all(&k, w, 3, false, &what) < 0);
	CHECK(!strcmp(what, "sleep_millisecs"));
	CHECK_EQ(knob("pages_to_scan"), 100);
	CHECK_EQ(tuned_write_all(&k, w, tuned_plan(&in, &out, w), false, &what), 0);
	CHECK_EQ(knob("run"), 1);
	CHECK_EQ(knob("pages_to_scan"), 300);
	CHECK_EQ(knob("sleep_millisecs"), 10);
	fr_destroy(root);
	return true;
}

static const struct tap_test tests[] = {
	{ "policy: threshold", test_threshold },
	{ "policy: sleep scaled by memory size", test_sleep },
	{ "policy: plenty of memory stops KSM", test_plenty },
	{ "policy: short memory starts and boosts", test_start_boost },
	{ "policy: overcommit decays to the floor", test_overcommit_decay },
	{ "policy: free == threshold", test_boundary },
	{ "policy: PSI counts as short memory", test_psi },
	{ "policy: collect from a fake root", test_collect },
	{ "policy: scripted memory states", test_scripted },
	{ "policy: advisor owns pages_to_scan", test_advisor },
	{ "policy: KSM enabled without rmap items counts", test_enabled_without_rmap },
	{ "policy: the writes of a decision, checked before any", test_plan },
};

TAP_MAIN(tests)
