// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/mm/ksm: the knobs and statistics (the same ABI as mainline,
 * see Documentation/admin-guide/mm/ksm.rst), and KSM's initialisation.
 */
#include <linux/mm.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>
#include <linux/slab.h>
#include <linux/oom.h>
#include <linux/ksm.h>
#include <linux/init.h>
#include <linux/nodemask.h>

#include "ksm_internal.h"

unsigned long ksm_run = KSM_RUN_STOP;
unsigned int ksm_pages_to_scan = 100;
unsigned int ksm_sleep_ms = 20;
bool ksm_use_zero_pages;
int ksm_max_page_sharing = 256;
unsigned int ksm_chain_prune_ms = 2000;
bool ksm_smart_scan = true;
u64 ksm_zero_csum __read_mostly;

#ifdef CONFIG_NUMA
unsigned long ksm_merge_across_nodes = 1;
#endif
int ksm_nr_trees = 1;
int ksm_nr_roots = 1;

static struct rb_root single_stable_root = RB_ROOT;
static struct rb_root single_unstable_root = RB_ROOT;
struct rb_root *ksm_stable_roots = &single_stable_root;
struct rb_root *ksm_unstable_roots = &single_unstable_root;

#ifdef CONFIG_SYSFS

/*
 * Every numeric knob is described by a table entry and served by one pair
 * of show/store functions: the entry says how to parse a write, which
 * range is valid, and what to do with an accepted value. Parse errors
 * read as -EINVAL, except where mainline hands kstrto*()'s own error
 * back (KNOB_RAW_ERRNO: -ERANGE on overflow).
 */
enum knob_type { KNOB_UINT, KNOB_ULONG, KNOB_INT, KNOB_BOOL };

#define KNOB_RAW_ERRNO	0x1

struct ksm_knob {
	struct kobj_attribute attr;
	void *var;
	u8 type;
	u8 flags;
	long min;
	unsigned long max;
	/* Takes the place of a plain store; returns 0 or an error. */
	int (*apply)(unsigned long val);
};

static unsigned long knob_value(const struct ksm_knob *k)
{
	switch (k->type) {
	case KNOB_UINT:
		return READ_ONCE(*(unsigned int *)k->var);
	case KNOB_INT:
		return READ_ONCE(*(int *)k->var);
	case KNOB_BOOL:
		return READ_ONCE(*(bool *)k->var);
	default:
		return READ_ONCE(*(unsigned long *)k->var);
	}
}

static ssize_t knob_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	const struct ksm_knob *k = container_of(attr, struct ksm_knob, attr);

	if (k->type == KNOB_INT)
		return sysfs_emit(buf, "%d\n", (int)knob_value(k));
	return sysfs_emit(buf, "%lu\n", knob_value(k));
}

/* Parse @buf as @k's type into *@val; 0 or kstrto*()'s error. */
static int knob_parse(const struct ksm_knob *k, const char *buf,
		      unsigned long *val)
{
	unsigned int u;
	bool b;
	int i, err;

	switch (k->type) {
	case KNOB_UINT:
		err = kstrtouint(buf, 10, &u);
		*val = u;
		return err;
	case KNOB_INT:
		err = kstrtoint(buf, 10, &i);
		if (!err && i < k->min)
			err = -EINVAL;
		*val = i;
		return err;
	case KNOB_BOOL:
		err = kstrtobool(buf, &b);
		*val = b;
		return err;
	default:
		return kstrtoul(buf, 10, val);
	}
}

static ssize_t knob_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t count)
{
	const struct ksm_knob *k = container_of(attr, struct ksm_knob, attr);
	unsigned long val;
	int err;

	err = knob_parse(k, buf, &val);
	if (err)
		return (k->flags & KNOB_RAW_ERRNO) ? err : -EINVAL;
	if ((k->type != KNOB_INT && val < k->min) || val > k->max)
		return -EINVAL;
	if (k->apply) {
		err = k->apply(val);
		return err ? err : count;
	}
	switch (k->type) {
	case KNOB_UINT:
		WRITE_ONCE(*(unsigned int *)k->var, val);
		break;
	case KNOB_INT:
		WRITE_ONCE(*(int *)k->var, val);
		break;
	case KNOB_BOOL:
		WRITE_ONCE(*(bool *)k->var, val);
		break;
	default:
		WRITE_ONCE(*(unsigned long *)k->var, val);
	}
	return count;
}

#define KSM_KNOB(_name, _var, _type, _min, _max, _apply, _flags)	\
static struct ksm_knob knob_##_name = {					\
	.attr = __ATTR(_name, 0644, knob_show, knob_store),		\
	.var = &(_var), .type = (_type), .flags = (_flags),		\
	.min = (_min), .max = (_max), .apply = (_apply),		\
}

static int apply_sleep(unsigned long val)
{
	WRITE_ONCE(ksm_sleep_ms, val);
	/* ksmd's nap ends early when the value changes. */
	wake_up_interruptible(&ksm_iter_wait);
	return 0;
}

static int apply_pages_to_scan(unsigned long val)
{
	/* The advisor owns the value while it is active. */
	if (ksm_advisor != KSM_ADVISOR_NONE)
		return -EINVAL;
	WRITE_ONCE(ksm_pages_to_scan, val);
	return 0;
}

static int apply_run(unsigned long val)
{
	int err = 0;

	ksm_lock_trees();
	if (ksm_run != val) {
		ksm_run = val;
		if (val == KSM_RUN_UNMERGE) {
			/* Unmerging allocates: be the OOM killer's pick. */
			set_current_oom_origin();
			err = ksm_unmerge_all();
			clear_current_oom_origin();
			if (err)
				ksm_run = KSM_RUN_STOP;
		}
	}
	mutex_unlock(&ksm_thread_mutex);

	if (val == KSM_RUN_MERGE)
		wake_up_interruptible(&ksm_thread_wait);
	return err;
}

/*
 * Knobs that shape the stable trees may change only while the trees hold
 * no KSM page. Stale nodes (folios nobody maps) are dropped first. Called
 * with ksm_thread_mutex held.
 */
static int stable_trees_busy(void)
{
	return ksm_pages_shared || ksm_stable_remove_all() ? -EBUSY : 0;
}

static int apply_max_page_sharing(unsigned long val)
{
	int err = 0;

	if (READ_ONCE(ksm_max_page_sharing) == val)
		return 0;
	ksm_lock_trees();
	if (ksm_max_page_sharing != val) {
		err = stable_trees_busy();
		if (!err)
			ksm_max_page_sharing = val;
	}
	mutex_unlock(&ksm_thread_mutex);
	return err;
}

#ifdef CONFIG_KSM_MERGE_DOMAINS
/*
 * The merge domain knobs (domain.c): KSM pages made under one setting
 * must not be matched under another, so they change only with none left.
 */
static int apply_merge_across_cgroups(unsigned long val)
{
	int err = 0;

	ksm_lock_trees();
	if (ksm_merge_across_cgroups != val) {
		err = stable_trees_busy();
		if (!err)
			WRITE_ONCE(ksm_merge_across_cgroups, val);
	}
	mutex_unlock(&ksm_thread_mutex);
	return err;
}

static int apply_cgroup_domain_depth(unsigned long val)
{
	int err = 0;

	ksm_lock_trees();
	if (ksm_cgroup_domain_depth != val) {
		err = stable_trees_busy();
		if (!err)
			WRITE_ONCE(ksm_cgroup_domain_depth, val);
	}
	mutex_unlock(&ksm_thread_mutex);
	return err;
}

KSM_KNOB(merge_across_cgroups, ksm_merge_across_cgroups, KNOB_BOOL, 0, 1,
	 apply_merge_across_cgroups, 0);
KSM_KNOB(cgroup_domain_depth, ksm_cgroup_domain_depth, KNOB_UINT, 0,
	 INT_MAX, apply_cgroup_domain_depth, 0);
#endif

#ifdef CONFIG_NUMA
/* Per-node roots: allocated on the first switch to per-node trees. */
static int ensure_node_roots(void)
{
	struct rb_root *roots;

	if (ksm_stable_roots != &single_stable_root)
		return 0;
	roots = kcalloc(2 * nr_node_ids, sizeof(*roots), GFP_KERNEL);
	if (!roots)
		return -ENOMEM;
	/* RB_ROOT is all zeroes; the unstable tree keeps its content. */
	roots[nr_node_ids] = single_unstable_root;
	ksm_stable_roots = roots;
	ksm_unstable_roots = roots + nr_node_ids;
	ksm_nr_roots = nr_node_ids;
	return 0;
}

static int apply_merge_across_nodes(unsigned long val)
{
	int err = 0;

	ksm_lock_trees();
	if (ksm_merge_across_nodes != val) {
		err = stable_trees_busy();
		if (!err)
			err = ensure_node_roots();
		if (!err) {
			ksm_merge_across_nodes = val;
			ksm_nr_trees = val ? 1 : nr_node_ids;
		}
	}
	mutex_unlock(&ksm_thread_mutex);
	return err;
}

KSM_KNOB(merge_across_nodes, ksm_merge_across_nodes, KNOB_ULONG, 0, 1,
	 apply_merge_across_nodes, KNOB_RAW_ERRNO);
#endif

KSM_KNOB(run, ksm_run, KNOB_ULONG, 0, KSM_RUN_UNMERGE, apply_run, 0);
KSM_KNOB(pages_to_scan, ksm_pages_to_scan, KNOB_UINT, 0, UINT_MAX,
	 apply_pages_to_scan, 0);
KSM_KNOB(sleep_millisecs, ksm_sleep_ms, KNOB_UINT, 0, UINT_MAX,
	 apply_sleep, 0);
/* A KSM page starts out with two mappings: less makes no sense. */
KSM_KNOB(max_page_sharing, ksm_max_page_sharing, KNOB_INT, 2, INT_MAX,
	 apply_max_page_sharing, KNOB_RAW_ERRNO);
KSM_KNOB(use_zero_pages, ksm_use_zero_pages, KNOB_BOOL, 0, 1, NULL, 0);
KSM_KNOB(smart_scan, ksm_smart_scan, KNOB_BOOL, 0, 1, NULL, 0);
KSM_KNOB(stable_node_chains_prune_millisecs, ksm_chain_prune_ms, KNOB_UINT,
	 0, UINT_MAX, NULL, 0);
KSM_KNOB(advisor_max_cpu, ksm_advisor_max_cpu, KNOB_UINT, 0, UINT_MAX,
	 NULL, 0);
KSM_KNOB(advisor_min_pages_to_scan, ksm_advisor_min_pages, KNOB_ULONG, 0,
	 ULONG_MAX, NULL, 0);
KSM_KNOB(advisor_max_pages_to_scan, ksm_advisor_max_pages, KNOB_ULONG, 0,
	 ULONG_MAX, NULL, 0);
KSM_KNOB(advisor_target_scan_time, ksm_advisor_target_scan_time, KNOB_ULONG,
	 1, ULONG_MAX, NULL, 0);

static ssize_t advisor_mode_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	bool on = ksm_advisor == KSM_ADVISOR_SCAN_TIME;

	return sysfs_emit(buf, "%s\n",
			  on ? "none [scan-time]" : "[none] scan-time");
}

static ssize_t advisor_mode_store(struct kobject *kobj,
				  struct kobj_attribute *attr,
				  const char *buf, size_t count)
{
	enum ksm_advisor_type mode;

	if (sysfs_streq(buf, "scan-time"))
		mode = KSM_ADVISOR_SCAN_TIME;
	else if (sysfs_streq(buf, "none"))
		mode = KSM_ADVISOR_NONE;
	else
		return -EINVAL;
	if (mode != ksm_advisor) {
		ksm_advisor = mode;
		ksm_advisor_reset();
	}
	return count;
}

static struct kobj_attribute advisor_mode_attr = __ATTR_RW(advisor_mode);

/*
 * The counters, read without ksm_thread_mutex: a value may be a moment
 * old, and the derived ones are clamped so that they never read negative.
 */
enum ksm_counter {
	CNT_FULL_SCANS, CNT_GENERAL_PROFIT, CNT_ZERO_PAGES, CNT_SCANNED,
	CNT_SHARED, CNT_SHARING, CNT_SKIPPED, CNT_UNSHARED, CNT_VOLATILE,
	CNT_CHAINS, CNT_DUPS,
};

struct ksm_counter_attr {
	struct kobj_attribute attr;
	enum ksm_counter which;
};

static long counter_value(enum ksm_counter which)
{
	long items = READ_ONCE(ksm_nr_items);
	long zero = atomic_long_read(&ksm_zero_pages);

	switch (which) {
	case CNT_FULL_SCANS:
		return ksm_cursor.seqnr;
	case CNT_GENERAL_PROFIT:
		/* Pages saved, less what the items tracking them cost. */
		return (ksm_pages_sharing + zero) * PAGE_SIZE -
		       items * (long)sizeof(struct ksm_rmap_item);
	case CNT_ZERO_PAGES:
		return zero;
	case CNT_SCANNED:
		return ksm_pages_scanned;
	case CNT_SHARED:
		return ksm_pages_shared;
	case CNT_SHARING:
		return ksm_pages_sharing;
	case CNT_SKIPPED:
		return ksm_pages_skipped;
	case CNT_UNSHARED:
		return ksm_pages_unshared;
	case CNT_VOLATILE:
		return max(items - (long)(ksm_pages_shared +
					  ksm_pages_sharing +
					  ksm_pages_unshared), 0L);
	case CNT_CHAINS:
		return ksm_chains;
	case CNT_DUPS:
		return ksm_dups;
	}
	return 0;
}

static ssize_t counter_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	const struct ksm_counter_attr *c =
		container_of(attr, struct ksm_counter_attr, attr);

	return sysfs_emit(buf, "%ld\n", counter_value(c->which));
}

#define KSM_COUNTER(_name, _which)					\
static struct ksm_counter_attr counter_##_name = {			\
	.attr = __ATTR(_name, 0444, counter_show, NULL),		\
	.which = (_which),						\
}

KSM_COUNTER(full_scans, CNT_FULL_SCANS);
KSM_COUNTER(general_profit, CNT_GENERAL_PROFIT);
KSM_COUNTER(ksm_zero_pages, CNT_ZERO_PAGES);
KSM_COUNTER(pages_scanned, CNT_SCANNED);
KSM_COUNTER(pages_shared, CNT_SHARED);
KSM_COUNTER(pages_sharing, CNT_SHARING);
KSM_COUNTER(pages_skipped, CNT_SKIPPED);
KSM_COUNTER(pages_unshared, CNT_UNSHARED);
KSM_COUNTER(pages_volatile, CNT_VOLATILE);
KSM_COUNTER(stable_node_chains, CNT_CHAINS);
KSM_COUNTER(stable_node_dups, CNT_DUPS);

/* Knobs first, then the advisor's, then the counters (alphabetically). */
static struct attribute *ksm_attrs[] = {
	&knob_run.attr.attr, &knob_pages_to_scan.attr.attr,
	&knob_sleep_millisecs.attr.attr, &knob_max_page_sharing.attr.attr,
	&knob_use_zero_pages.attr.attr, &knob_smart_scan.attr.attr,
	&knob_stable_node_chains_prune_millisecs.attr.attr,
#ifdef CONFIG_KSM_MERGE_DOMAINS
	&knob_merge_across_cgroups.attr.attr,
	&knob_cgroup_domain_depth.attr.attr,
#endif
#ifdef CONFIG_NUMA
	&knob_merge_across_nodes.attr.attr,
#endif
	&advisor_mode_attr.attr, &knob_advisor_max_cpu.attr.attr,
	&knob_advisor_min_pages_to_scan.attr.attr,
	&knob_advisor_max_pages_to_scan.attr.attr,
	&knob_advisor_target_scan_time.attr.attr,
	&counter_full_scans.attr.attr, &counter_general_profit.attr.attr,
	&counter_ksm_zero_pages.attr.attr, &counter_pages_scanned.attr.attr,
	&counter_pages_shared.attr.attr, &counter_pages_sharing.attr.attr,
	&counter_pages_skipped.attr.attr, &counter_pages_unshared.attr.attr,
	&counter_pages_volatile.attr.attr,
	&counter_stable_node_chains.attr.attr,
	&counter_stable_node_dups.attr.attr,
	NULL
};

static const struct attribute_group ksm_attr_group = {
	.name = "ksm",
	.attrs = ksm_attrs,
};
#endif /* CONFIG_SYSFS */

static int __init ksm_init(void)
{
	int err;

	ksm_zero_csum = ksm_checksum(ZERO_PAGE(0));

	err = ksm_slot_cache_init();
	if (!err)
		err = ksm_stable_cache_init();
	if (err)
		return err;
	ksm_recheck_init();

	err = ksm_start_thread();
	if (err) {
		pr_err("ksm: cannot start ksmd: %d\n", err);
		return err;
	}
#ifdef CONFIG_SYSFS
	err = sysfs_create_group(mm_kobj, &ksm_attr_group);
	if (err)
		pr_err("ksm: cannot register sysfs group: %d\n", err);
#else
	/* Nobody could ever start it otherwise. */
	ksm_run = KSM_RUN_MERGE;
#endif
	return err;
}
subsys_initcall(ksm_init);
