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
	WRITE_ONCE(ksm_knobs.sleep_ms, val);
	/* ksmd's nap ends early when the value changes. */
	ksm_nap_changed();
	return 0;
}

static int apply_pages_to_scan(unsigned long val)
{
	/* The advisor owns the value while it is active. */
	if (READ_ONCE(ksm_knobs.advisor) != KSM_ADVISOR_NONE)
		return -EINVAL;
	WRITE_ONCE(ksm_knobs.pages_to_scan, val);
	return 0;
}

static int apply_run(unsigned long val)
{
	int err = 0;

	ksm_lock_trees();
	if (ksm_knobs.run != val) {
		WRITE_ONCE(ksm_knobs.run, val);
		if (val == KSM_RUN_UNMERGE) {
			/* Unmerging allocates: be the OOM killer's pick. */
			set_current_oom_origin();
			err = ksm_unmerge_all();
			clear_current_oom_origin();
			if (err)
				WRITE_ONCE(ksm_knobs.run, KSM_RUN_STOP);
		}
	}
	ksm_unlock_trees();

	if (val == KSM_RUN_MERGE)
		ksm_wake_ksmd();
	return err;
}

/*
 * Knobs that shape the stable trees may change only while the trees hold
 * no KSM page. Stale nodes (folios nobody maps) are dropped first. Called
 * under ksm_lock_trees().
 */
static int stable_trees_busy(void)
{
	return ksm_count(KSM_PAGES_SHARED) || ksm_stable_remove_all() ?
	       -EBUSY : 0;
}

static int apply_max_page_sharing(unsigned long val)
{
	int err = 0;

	if (READ_ONCE(ksm_knobs.max_page_sharing) == val)
		return 0;
	ksm_lock_trees();
	if (ksm_knobs.max_page_sharing != val) {
		err = stable_trees_busy();
		if (!err)
			WRITE_ONCE(ksm_knobs.max_page_sharing, val);
	}
	ksm_unlock_trees();
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
	if (ksm_knobs.merge_across_cgroups != val) {
		err = stable_trees_busy();
		if (!err)
			WRITE_ONCE(ksm_knobs.merge_across_cgroups, val);
	}
	ksm_unlock_trees();
	return err;
}

static int apply_cgroup_domain_depth(unsigned long val)
{
	int err = 0;

	ksm_lock_trees();
	if (ksm_knobs.cgroup_domain_depth != val) {
		err = stable_trees_busy();
		if (!err)
			WRITE_ONCE(ksm_knobs.cgroup_domain_depth, val);
	}
	ksm_unlock_trees();
	return err;
}

KSM_KNOB(merge_across_cgroups, ksm_knobs.merge_across_cgroups, KNOB_BOOL, 0, 1,
	 apply_merge_across_cgroups, 0);
KSM_KNOB(cgroup_domain_depth, ksm_knobs.cgroup_domain_depth, KNOB_UINT, 0,
	 INT_MAX, apply_cgroup_domain_depth, 0);
#endif

#ifdef CONFIG_NUMA
static int apply_merge_across_nodes(unsigned long val)
{
	int err = 0;

	ksm_lock_trees();
	if (ksm_knobs.merge_across_nodes != val) {
		err = stable_trees_busy();
		/* Per-node roots are allocated on the first switch to them. */
		if (!err && !val)
			err = ksm_stable_trees_per_node();
		if (!err && !val)
			err = ksm_unstable_trees_per_node();
		if (!err)
			WRITE_ONCE(ksm_knobs.merge_across_nodes, val);
	}
	ksm_unlock_trees();
	return err;
}

KSM_KNOB(merge_across_nodes, ksm_knobs.merge_across_nodes, KNOB_ULONG, 0, 1,
	 apply_merge_across_nodes, KNOB_RAW_ERRNO);
#endif

KSM_KNOB(run, ksm_knobs.run, KNOB_ULONG, 0, KSM_RUN_UNMERGE, apply_run, 0);
KSM_KNOB(pages_to_scan, ksm_knobs.pages_to_scan, KNOB_UINT, 0, UINT_MAX,
	 apply_pages_to_scan, 0);
KSM_KNOB(sleep_millisecs, ksm_knobs.sleep_ms, KNOB_UINT, 0, UINT_MAX,
	 apply_sleep, 0);
/* A KSM page starts out with two mappings: less makes no sense. */
KSM_KNOB(max_page_sharing, ksm_knobs.max_page_sharing, KNOB_INT, 2, INT_MAX,
	 apply_max_page_sharing, KNOB_RAW_ERRNO);
KSM_KNOB(use_zero_pages, ksm_knobs.use_zero_pages, KNOB_BOOL, 0, 1, NULL, 0);
KSM_KNOB(smart_scan, ksm_knobs.smart_scan, KNOB_BOOL, 0, 1, NULL, 0);
KSM_KNOB(stable_node_chains_prune_millisecs, ksm_knobs.chain_prune_ms,
	 KNOB_UINT,
	 0, UINT_MAX, NULL, 0);
KSM_KNOB(advisor_max_cpu, ksm_knobs.advisor_max_cpu, KNOB_UINT, 0, UINT_MAX,
	 NULL, 0);
KSM_KNOB(advisor_min_pages_to_scan, ksm_knobs.advisor_min_pages, KNOB_ULONG, 0,
	 ULONG_MAX, NULL, 0);
KSM_KNOB(advisor_max_pages_to_scan, ksm_knobs.advisor_max_pages, KNOB_ULONG, 0,
	 ULONG_MAX, NULL, 0);
KSM_KNOB(advisor_target_scan_time, ksm_knobs.advisor_target_scan_time, KNOB_ULONG,
	 1, ULONG_MAX, NULL, 0);

static ssize_t advisor_mode_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	bool on = READ_ONCE(ksm_knobs.advisor) == KSM_ADVISOR_SCAN_TIME;

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
	if (mode != ksm_knobs.advisor) {
		WRITE_ONCE(ksm_knobs.advisor, mode);
		ksm_advisor_reset();
	}
	return count;
}

static struct kobj_attribute advisor_mode_attr = __ATTR_RW(advisor_mode);

/*
 * The statistics: one read-only file per entry of this table, each either
 * a counter of the core's table (ksm_counters[], read without a lock: a
 * value may be a moment old) or a figure derived from them (of which
 * pages_volatile is clamped at 0; general_profit may be negative, as in
 * mainline). Sorted by name.
 */
enum ksm_derived {
	KSM_GENERAL_PROFIT = KSM_NR_COUNTERS,
	KSM_ZERO_PAGES,
	KSM_PAGES_VOLATILE,
};

struct ksm_stat_attr {
	struct kobj_attribute attr;
	int which;		/* an enum ksm_counter or enum ksm_derived */
};

static long stat_value(int which)
{
	long items = ksm_count(KSM_ITEMS);
	long zero = atomic_long_read(&ksm_zero_pages);

	switch (which) {
	case KSM_GENERAL_PROFIT:
		/* Pages saved, less what the items tracking them cost. */
		return (ksm_count(KSM_PAGES_SHARING) + zero) * PAGE_SIZE -
		       items * (long)sizeof(struct ksm_rmap_item);
	case KSM_ZERO_PAGES:
		return zero;
	case KSM_PAGES_VOLATILE:
		return max(items - (long)(ksm_count(KSM_PAGES_SHARED) +
					  ksm_count(KSM_PAGES_SHARING) +
					  ksm_count(KSM_PAGES_UNSHARED)), 0L);
	}
	return ksm_count(which);
}

static ssize_t stat_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	const struct ksm_stat_attr *st =
		container_of(attr, struct ksm_stat_attr, attr);

	return sysfs_emit(buf, "%ld\n", stat_value(st->which));
}

#define KSM_STAT(_name, _which)						\
	{ .attr = __ATTR(_name, 0444, stat_show, NULL), .which = (_which) }

static struct ksm_stat_attr ksm_stats[] = {
	KSM_STAT(full_scans, KSM_FULL_SCANS),
	KSM_STAT(general_profit, KSM_GENERAL_PROFIT),
	KSM_STAT(ksm_zero_pages, KSM_ZERO_PAGES),
	KSM_STAT(pages_scanned, KSM_PAGES_SCANNED),
	KSM_STAT(pages_shared, KSM_PAGES_SHARED),
	KSM_STAT(pages_sharing, KSM_PAGES_SHARING),
	KSM_STAT(pages_skipped, KSM_PAGES_SKIPPED),
	KSM_STAT(pages_unshared, KSM_PAGES_UNSHARED),
	KSM_STAT(pages_volatile, KSM_PAGES_VOLATILE),
	KSM_STAT(stable_node_chains, KSM_CHAINS),
	KSM_STAT(stable_node_dups, KSM_DUPS),
};

/* The knobs, then the advisor's: the statistics follow (ksm_sysfs_init()). */
static struct attribute *ksm_knob_attrs[] = {
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
};

static struct attribute *ksm_attrs[ARRAY_SIZE(ksm_knob_attrs) +
				   ARRAY_SIZE(ksm_stats) + 1];

static const struct attribute_group ksm_attr_group = {
	.name = "ksm",
	.attrs = ksm_attrs,
};

static int __init ksm_sysfs_init(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(ksm_knob_attrs); i++)
		ksm_attrs[n++] = ksm_knob_attrs[i];
	for (i = 0; i < ARRAY_SIZE(ksm_stats); i++)
		ksm_attrs[n++] = &ksm_stats[i].attr.attr;
	return sysfs_create_group(mm_kobj, &ksm_attr_group);
}
#endif /* CONFIG_SYSFS */

static int __init ksm_init(void)
{
	int err;

	err = ksm_items_init();
	if (!err)
		err = ksm_stable_init();
	if (err)
		return err;
	ksm_decide_init();
	ksm_recheck_init();

	err = ksm_scan_init();
	if (err) {
		pr_err("ksm: cannot start ksmd: %d\n", err);
		return err;
	}
#ifdef CONFIG_SYSFS
	err = ksm_sysfs_init();
	if (err)
		pr_err("ksm: cannot register sysfs group: %d\n", err);
#else
	/* Nobody could ever start it otherwise. */
	ksm_knobs.run = KSM_RUN_MERGE;
#endif
	return err;
}
subsys_initcall(ksm_init);
