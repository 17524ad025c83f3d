// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of libksm against a fake root.
 *
 *   test-libksm             run the tests (TAP)
 *   test-libksm --mkroot D  fill D with a fake /sys and /proc (for the
 *                           shell tests of ksmctl and ksmtuned)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fakeroot.h"
#include "ksm.h"
#include "tap.h"

static const char *root;
static struct ksm k;

/* KSM defaults, 16 GiB of RAM, four processes of which three mergeable. */
static bool populate(const char *root)
{
	CHECK(!fr_ksm_defaults(root));
	CHECK(!fr_meminfo(root, 16777216, 8000000));
	CHECK(!fr_write(root, "proc/pressure/memory",
			"some avg10=1.50 avg60=0.80 avg300=0.10 total=1234\n"
			"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"));
	CHECK(!fr_process(root, 100, "qemu-kvm", 400000, 5000, "yes", "no", 9000));
	CHECK(!fr_process(root, 200, "bash", 4000, 0, "no", "no", 0));
	CHECK(!fr_process(root, 300, "java app", 100000, 7000, "no", "yes", 8000));
	CHECK(!fr_process(root, 400, "old", 2000, 10, "no", "no", 20));
	/* A kernel thread: ksm_stat is empty. */
	CHECK(!fr_write(root, "proc/2/ksm_stat", ""));
	return true;
}

static bool setup(void)
{
	fr_destroy(root);
	root = fr_create();
	CHECK(root);
	CHECK(populate(root));
	CHECK(!ksm_init(&k, root));
	return true;
}

static bool test_read_all(void)
{
	struct ksm_typed_param p;
	unsigned long long v;

	CHECK(setup());
	CHECK(ksm_available(&k));
	CHECK_EQ(ksm_param_count(), 26);
	CHECK_EQ(ksm_param_get(&k, ksm_param_lookup("pages_to_scan"), &p), 0);
	CHECK_EQ(p.type, KSM_PARAM_UINT);
	CHECK_EQ(p.value.ui, 100);
	CHECK(!strcmp(p.field, "pages_to_scan"));
	CHECK_EQ(ksm_param_get(&k, ksm_param_lookup("max_page_sharing"), &p), 0);
	CHECK_EQ(p.type, KSM_PARAM_INT);
	CHECK_EQ(p.value.i, 256);
	CHECK_EQ(ksm_param_get(&k, ksm_param_lookup("smart_scan"), &p), 0);
	CHECK_EQ(p.type, KSM_PARAM_BOOLEAN);
	CHECK(p.value.b);
	CHECK_EQ(ksm_get_ull(&k, "advisor_max_pages_to_scan", &v), 0);
	CHECK_EQ(v, 30000);
	CHECK(!fr_write(root, "sys/kernel/mm/ksm/general_profit", "-8192\n"));
	CHECK_EQ(ksm_param_get(&k, ksm_param_lookup("general_profit"), &p), 0);
	CHECK_EQ(p.value.l, -8192);
	return true;
}

static bool test_advisor_mode(void)
{
	struct ksm_typed_param p;
	int idx = ksm_param_lookup("advisor_mode");

	CHECK(setup());
	CHECK_EQ(ksm_param_get(&k, idx, &p), 0);
	CHECK_EQ(p.type, KSM_PARAM_STRING);
	CHECK(!strcmp(p.value.s, "none"));
	CHECK(!fr_write(root, "sys/kernel/mm/ksm/advisor_mode", "none [scan-time]\n"));
	CHECK_EQ(ksm_param_get(&k, idx, &p), 0);
	CHECK(!strcmp(p.value.s, "scan-time"));
	CHECK(!fr_write(root, "sys/kernel/mm/ksm/advisor_mode", "[bogus\n"));
	CHECK_EQ(ksm_param_get(&k, idx, &p), -EPROTO);
	return true;
}

static bool test_missing_files(void)
{
	struct ksm_typed_param p[16];

	CHECK(setup());
	CHECK_EQ(ksm_get_shm_params(&k, p, 16), 8);
	/* Kernels before 6.8 lack smart_scan; non-NUMA ones merge_across_nodes. */
	CHECK(!fr_remove(root, "sys/kernel/mm/ksm/smart_scan"));
	CHECK(!fr_remove(root, "sys/kernel/mm/ksm/merge_across_nodes"));
	CHECK_EQ(ksm_param_get(&k, ksm_param_lookup("smart_scan"), p), -ENOENT);
	CHECK_EQ(ksm_get_shm_params(&k, p, 16), 7);
	CHECK(ksm_param_hint(ksm_param_lookup("smart_scan"), -ENOENT) != NULL);
	/* Writing never creates a file the kernel does not have. */
	CHECK_EQ(ksm_write_file(&k, "sys/kernel/mm/ksm/smart_scan", "1"), -ENOENT);
	CHECK_EQ(ksm_param_get(&k, ksm_param_lookup("smart_scan"), p), -ENOENT);
	return true;
}

static bool test_parse(void)
{
	static const struct {
		const char *name, *text;
		int ret;
	} cases[] = {
		{ "pages_to_scan", "0", 0 }, { "pages_to_scan", "4294967295", 0 },
		{ "pages_to_scan", "4294967296", -ERANGE }, { "pages_to_scan", "-1", -EINVAL },
		{ "pages_to_scan", "abc", -EINVAL }, { "pages_to_scan", "", -EINVAL },
		{ "pages_to_scan", "12 ", -EINVAL }, { "pages_to_scan", "0x10", -EINVAL },
		{ "run", "2", 0 }, { "run", "3", -ERANGE },
		{ "merge_across_nodes", "1", 0 }, { "merge_across_nodes", "2", -ERANGE },
		{ "max_page_sharing", "2", 0 }, { "max_page_sharing", "1", -ERANGE },
		{ "max_page_sharing", "-5", -ERANGE },
		{ "use_zero_pages", "on", 0 }, { "use_zero_pages", "N", 0 },
		{ "use_zero_pages", "2", -EINVAL },
		{ "advisor_mode", "scan-time", 0 }, { "advisor_mode", "scan", -EINVAL },
		{ "advisor_mode", "none scan-time", -EINVAL },
		{ "advisor_target_scan_time", "0", -ERANGE },
		{ "advisor_target_scan_time", "1", 0 },
		/* The kernel's types: an unsigned int, an unsigned long. */
		{ "advisor_max_cpu", "4294967295", 0 },
		{ "advisor_max_cpu", "5000000000", -ERANGE },
		{ "advisor_min_pages_to_scan", "18446744073709551615", 0 },
		{ "advisor_min_pages_to_scan", "18446744073709551616", -ERANGE },
		{ "max_page_sharing", "2147483648", -ERANGE },
		{ "max_page_sharing", "+300", 0 },
		{ "pages_sharing", "1", -EPERM }, { "no_such_knob", "1", -ENOENT },
	};
	struct ksm_typed_param p;
	char err[256], val[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		err[0] = '\0';
		ret = ksm_param_parse(ksm_param_lookup(cases[i].name), cases[i].text, &p,
				      err, sizeof(err));
		if (ret != cases[i].ret) {
			printf("# %s='%s': got %d, expected %d (%s)\n", cases[i].name,
			       cases[i].text, ret, cases[i].ret, err);
			return false;
		}
		/* Every refusal explains itself, on one line. */
		CHECK(!ret || (err[0] && !strchr(err, '\n')));
	}
	CHECK_EQ(ksm_param_parse(ksm_param_lookup("use_zero_pages"), "yes", &p, NULL, 0), 0);
	CHECK_EQ(ksm_param_format(&p, val, sizeof(val)), 0);
	CHECK(!strcmp(val, "1"));
	return true;
}

static bool test_set(void)
{
	struct ksm_typed_param p;
	char buf[64], err[256];

	CHECK(setup());
	CHECK_EQ(ksm_param_parse(ksm_param_lookup("shm_pages_to_scan"), "777", &p,
				 err, sizeof(err)), 0);
	CHECK_EQ(ksm_param_set(&k, &p), 0);
	CHECK(!fr_read(root, "sys/kernel/mm/ksm/pages_to_scan", buf, sizeof(buf)));
	CHECK(!strcmp(buf, "777"));
	CHECK_EQ(ksm_set_run(&k, KSM_RUN_UNMERGE), 0);
	CHECK(!fr_read(root, "sys/kernel/mm/ksm/run", buf, sizeof(buf)));
	CHECK(!strcmp(buf, "2"));
	/* Statistics cannot be written, even by a hand-made parameter. */
	strcpy(p.field, "pages_shared");
	CHECK_EQ(ksm_param_set(&k, &p), -EPERM);
	CHECK(!fr_read(root, "sys/kernel/mm/ksm/pages_shared", buf, sizeof(buf)));
	CHECK(!strcmp(buf, "0\n"));
	return true;
}

static bool test_shm_params(void)
{
	static const char *const names[] = {
		"shm_pages_to_scan", "shm_sleep_millisecs", "shm_merge_across_nodes",
		"shm_pages_shared", "shm_pages_sharing", "shm_pages_unshared",
		"shm_pages_volatile", "shm_full_scans",
	};
	static const int types[] = {
		KSM_PARAM_UINT, KSM_PARAM_UINT, KSM_PARAM_UINT, KSM_PARAM_ULLONG,
		KSM_PARAM_ULLONG, KSM_PARAM_ULLONG, KSM_PARAM_ULLONG, KSM_PARAM_ULLONG,
	};
	struct ksm_typed_param p[8];
	int i;

	CHECK(setup());
	CHECK(!fr_write(root, "sys/kernel/mm/ksm/pages_sharing", "4242\n"));
	CHECK_EQ(ksm_get_shm_params(&k, p, 8), 8);
	for (i = 0; i < 8; i++) {
		if (strcmp(p[i].field, names[i]) || p[i].type != types[i]) {
			printf("# param %d: %s/%d, expected %s/%d\n", i, p[i].field,
			       p[i].type, names[i], types[i]);
			return false;
		}
	}
	CHECK_EQ(p[4].value.ul, 4242);
	CHECK_EQ(p[1].value.ui, 20);
	CHECK_EQ(ksm_get_shm_params(&k, p, 3), 3);
	return true;
}

static bool test_proc_stat(void)
{
	struct ksm_proc_stat st;

	CHECK(setup());
	CHECK_EQ(ksm_read_proc_stat(&k, 100, &st), 0);
	CHECK(!strcmp(st.comm, "qemu-kvm"));
	CHECK_EQ(st.merging_pages, 5000);
	CHECK_EQ(st.rmap_items, 9000);
	CHECK_EQ(st.rss_kb, 400000);
	CHECK_EQ(st.mergeable, 1);
	CHECK_EQ(st.merge_any, 0);
	CHECK(ksm_proc_is_mergeable(&st));
	CHECK_EQ(ksm_read_proc_stat(&k, 200, &st), 0);
	CHECK(!ksm_proc_is_mergeable(&st));
	CHECK_EQ(ksm_read_proc_stat(&k, 300, &st), 0);
	CHECK(!strcmp(st.comm, "java app"));
	CHECK(ksm_proc_is_mergeable(&st));
	/* Older kernels: no mergeable lines, but rmap items give it away. */
	CHECK(!fr_write(root, "proc/400/ksm_stat", "ksm_rmap_items 20\nksm_merging_pages 10\n"));
	CHECK_EQ(ksm_read_proc_stat(&k, 400, &st), 0);
	CHECK_EQ(st.mergeable, -1);
	CHECK(ksm_proc_is_mergeable(&st));
	CHECK_EQ(ksm_read_proc_stat(&k, 2, &st), -ENODATA);
	CHECK_EQ(ksm_read_proc_stat(&k, 999, &st), -ENOENT);
	return true;
}

static bool test_list_procs(void)
{
	struct ksm_proc_stat *ps;
	size_t n;

	CHECK(setup());
	CHECK_EQ(ksm_list_procs(&k, 0, &ps, &n), 0);
	free(ps);
	CHECK_EQ(n, 4);
	CHECK_EQ(ksm_list_procs(&k, KSM_LIST_MERGEABLE | KSM_LIST_BY_MERGING, &ps, &n), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(ps[0].pid, 300);
	CHECK_EQ(ps[1].pid, 100);
	CHECK_EQ(ps[2].pid, 400);
	free(ps);
	return true;
}

static bool test_meminfo_psi(void)
{
	struct ksm_meminfo mi;
	double avg10;

	CHECK(setup());
	CHECK_EQ(ksm_read_meminfo(&k, &mi), 0);
	CHECK_EQ(mi.total_kb, 16777216);
	CHECK(mi.have_available);
	CHECK_EQ(ksm_meminfo_avail_kb(&mi), 8000000);
	CHECK_EQ(ksm_read_psi_some_avg10(&k, &avg10), 0);
	CHECK(avg10 > 1.49 && avg10 < 1.51);
	/* Before 3.14: MemFree + Buffers + Cached. */
	CHECK(!fr_write(root, "proc/meminfo",
			"MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 30 kB\n"));
	CHECK_EQ(ksm_read_meminfo(&k, &mi), 0);
	CHECK(!mi.have_available);
	CHECK_EQ(ksm_meminfo_avail_kb(&mi), 150);
	CHECK(!fr_remove(root, "proc/pressure/memory"));
	CHECK_EQ(ksm_read_psi_some_avg10(&k, &avg10), -ENOENT);
	CHECK(!fr_write(root, "proc/meminfo", "garbage\n"));
	CHECK_EQ(ksm_read_meminfo(&k, &mi), -EPROTO);
	return true;
}

static bool test_hints(void)
{
	const char *h;

	h = ksm_param_hint(ksm_param_lookup("merge_across_nodes"), -EBUSY);
	CHECK(h && strstr(h, "ksmctl unmerge") && strstr(h, "ksmctl start"));
	h = ksm_param_hint(ksm_param_lookup("max_page_sharing"), EBUSY);
	CHECK(h && strstr(h, "ksmctl unmerge"));
	h = ksm_param_hint(ksm_param_lookup("pages_to_scan"), -EINVAL);
	CHECK(h && strstr(h, "advisor_mode=none"));
	CHECK(ksm_param_hint(ksm_param_lookup("sleep_millisecs"), -EBUSY) == NULL);
	CHECK(strstr(ksm_param_hint(0, -EACCES), "root"));
	return true;
}

static bool test_root_env(void)
{
	struct ksm k2;

	CHECK(setup());
	setenv("KSM_ROOT", root, 1);
	CHECK_EQ(ksm_init(&k2, NULL), 0);
	unsetenv("KSM_ROOT");
	CHECK(!strcmp(k2.root, root));
	CHECK(ksm_available(&k2));
	CHECK_EQ(ksm_init(&k2, "/nonexistent/"), 0);
	CHECK(!strcmp(k2.root, "/nonexistent"));
	CHECK(!ksm_available(&k2));
	return true;
}

static const struct tap_test tests[] = {
	{ "libksm: read typed parameters", test_read_all },
	{ "libksm: advisor_mode brackets", test_advisor_mode },
	{ "libksm: missing files tolerated", test_missing_files },
	{ "libksm: value validation", test_parse },
	{ "libksm: set writes only tunables", test_set },
	{ "libksm: libvirt shm_* parameters", test_shm_params },
	{ "libksm: /proc/<pid>/ksm_stat", test_proc_stat },
	{ "libksm: process list sorted by merging pages", test_list_procs },
	{ "libksm: meminfo and PSI", test_meminfo_psi },
	{ "libksm: error hints", test_hints },
	{ "libksm: KSM_ROOT", test_root_env },
};

int main(int argc, char **argv)
{
	int ret;

	if (argc == 3 && !strcmp(argv[1], "--mkroot"))
		return populate(argv[2]) ? 0 : 1;
	ret = tap_run(tests, sizeof(tests) / sizeof(tests[0]));
	fr_destroy(root);
	return ret;
}
