// SPDX-License-Identifier: GPL-2.0
/*
 * Every writable knob of /sys/kernel/mm/ksm given bad input must fail with
 * mainline's error (-EINVAL; -ERANGE where mainline passes kstrto*()'s
 * overflow error through) and leave the value unchanged. Statistics
 * cannot be written. Runs as root.
 */
#include "ksm_common.h"

struct bad_input {
	const char *text;
	int err;		/* expected errno */
};

#define OVERFLOW "999999999999999999999999"

static const struct bad_input num_bad[] = {
	{ "abc", EINVAL }, { "-1", EINVAL }, { "12x", EINVAL },
	{ "0x10", EINVAL }, { OVERFLOW, EINVAL }, { " ", EINVAL },
};

static const struct bad_input bool_bad[] = {
	{ "abc", EINVAL }, { "-1", EINVAL }, { "2", EINVAL }, { "x", EINVAL },
};

static const struct bad_input run_bad[] = {
	{ "abc", EINVAL }, { "-1", EINVAL }, { "3", EINVAL },
	{ "4", EINVAL }, { OVERFLOW, EINVAL },
};

static const struct bad_input mpn_bad[] = {	/* max_page_sharing */
	{ "abc", EINVAL }, { "-1", EINVAL }, { "0", EINVAL }, { "1", EINVAL },
	{ "99999999999", ERANGE },
};

static const struct bad_input man_bad[] = {	/* merge_across_nodes */
	{ "abc", EINVAL }, { "-1", EINVAL }, { "2", EINVAL },
	{ OVERFLOW, ERANGE },
};

static const struct bad_input target_bad[] = {
	{ "abc", EINVAL }, { "-1", EINVAL }, { "0", EINVAL },
	{ OVERFLOW, EINVAL },
};

static const struct bad_input mode_bad[] = {
	{ "abc", EINVAL }, { "scan", EINVAL }, { "nonee", EINVAL },
	{ "1", EINVAL },
};


struct knob {
	const char *name;
	const struct bad_input *bad;
	size_t nr;
};

static const struct knob knobs[] = {
	{ "run", run_bad, ARRAY_SIZE(run_bad) },
	{ "pages_to_scan", num_bad, ARRAY_SIZE(num_bad) },
	{ "sleep_millisecs", num_bad, ARRAY_SIZE(num_bad) },
	{ "merge_across_nodes", man_bad, ARRAY_SIZE(man_bad) },
	{ "use_zero_pages", bool_bad, ARRAY_SIZE(bool_bad) },
	{ "max_page_sharing", mpn_bad, ARRAY_SIZE(mpn_bad) },
	{ "stable_node_chains_prune_millisecs", num_bad, ARRAY_SIZE(num_bad) },
	{ "smart_scan", bool_bad, ARRAY_SIZE(bool_bad) },
	{ "advisor_mode", mode_bad, ARRAY_SIZE(mode_bad) },
	{ "advisor_max_cpu", num_bad, ARRAY_SIZE(num_bad) },
	{ "advisor_min_pages_to_scan", num_bad, ARRAY_SIZE(num_bad) },
	{ "advisor_max_pages_to_scan", num_bad, ARRAY_SIZE(num_bad) },
	{ "advisor_target_scan_time", target_bad, ARRAY_SIZE(target_bad) },
};

static const char * const stats[] = {
	"pages_shared", "pages_sharing", "pages_unshared", "pages_volatile",
	"pages_scanned", "pages_skipped", "full_scans", "stable_node_chains",
	"stable_node_dups", "ksm_zero_pages", "general_profit",
};

static void check_knob(const struct knob *k)
{
	char before[128], after[128];
	size_t i;
	int err, ok = 1;

	if (ksm_read(k->name, before, sizeof(before))) {
		ksft_test_result_skip("%s: not present\n", k->name);
		return;
	}
	for (i = 0; i < k->nr; i++) {
		err = ksm_write(k->name, k->bad[i].text);
		if (err != -k->bad[i].err) {
			printf("# %s <- \"%s\": got %d (%s), want -%d\n",
			       k->name, k->bad[i].text, err,
			       err ? strerror(-err) : "success",
			       k->bad[i].err);
			ok = 0;
		}
		if (ksm_read(k->name, after, sizeof(after)) ||
		    strcmp(before, after)) {
			printf("# %s changed from \"%s\" to \"%s\"\n",
			       k->name, before, after);
			ok = 0;
		}
	}
	ksft_test_result(ok, "%s rejects bad input and keeps \"%s\"\n", k->name,
			 before);
}

static void check_stats_read_only(void)
{
	char buf[128];
	size_t i;
	int ok = 1;

	for (i = 0; i < ARRAY_SIZE(stats); i++) {
		if (ksm_read(stats[i], buf, sizeof(buf))) {
			printf("# cannot read %s\n", stats[i]);
			ok = 0;
			continue;
		}
		if (!ksm_write(stats[i], "0")) {
			printf("# %s accepted a write\n", stats[i]);
			ok = 0;
		}
	}
	ksft_test_result(ok, "statistics are readable and read-only\n");
}

static void check_advisor_mode(void)
{
	char buf[64], saved[64];
	int ok;

	ksm_read("advisor_mode", saved, sizeof(saved));
	ok = !ksm_write("advisor_mode", "none") &&
	     !ksm_read("advisor_mode", buf, sizeof(buf)) &&
	     !strcmp(buf, "[none] scan-time");
	if (ok) {
		ok = !ksm_write("advisor_mode", "scan-time") &&
		     !ksm_read("advisor_mode", buf, sizeof(buf)) &&
		     !strcmp(buf, "none [scan-time]");
		/* The advisor owns pages_to_scan while active. */
		ok = ok && ksm_write("pages_to_scan", "100") == -EINVAL;
		ksm_write("advisor_mode", "none");
	}
	ok = ok && ksm_get("pages_to_scan") == 100;
	if (strstr(saved, "[scan-time]"))
		ksm_write("advisor_mode", "scan-time");
	ksft_test_result(ok, "advisor_mode reads as mainline and owns pages_to_scan\n");
}

int main(void)
{
	size_t i;

	if (access(KSM_DIR "run", W_OK))
		ksft_exit_skip("no writable " KSM_DIR "\n");
	ksft_print_header();
	ksft_set_plan(ARRAY_SIZE(knobs) + 2);
	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		check_knob(&knobs[i]);
	check_stats_read_only();
	check_advisor_mode();
	ksft_finished();
}
