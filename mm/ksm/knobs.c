// SPDX-License-Identifier: GPL-2.0
/*
 * The values every file of the core reads: the knobs of /sys/kernel/mm/ksm
 * (sysfs.c parses and checks writes to them, the advisor sets
 * pages_to_scan) and the table of counters that sysfs.c shows. Kept apart
 * so that the layers above read them without depending on sysfs.c.
 */
#include <linux/ksm.h>

#include "ksm_internal.h"

struct ksm_knobs ksm_knobs = {
	.run = KSM_RUN_STOP,
	.pages_to_scan = 100,
	.sleep_ms = 20,
	.merge_across_nodes = 1,
	.smart_scan = true,
	.max_page_sharing = 256,
	.chain_prune_ms = 2000,
	.advisor = KSM_ADVISOR_NONE,
	.advisor_max_cpu = 70,
	.advisor_min_pages = 500,
	.advisor_max_pages = 30000,
	.advisor_target_scan_time = 200,
#ifdef CONFIG_KSM_MERGE_DOMAINS
	.merge_across_cgroups = true,
#endif
};

unsigned long ksm_counters[KSM_NR_COUNTERS];

/* Pages of zeroes merged into the zero page (include/linux/ksm.h). */
atomic_long_t ksm_zero_pages = ATOMIC_LONG_INIT(0);
