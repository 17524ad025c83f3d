// SPDX-License-Identifier: GPL-2.0
/*
 * Merge domains: with merge_across_cgroups = 0, two pages are merged only
 * when the processes mapping them are in the same domain, so no KSM page
 * (and no copy-on-write timing through one) is shared between tenants.
 *
 * A process's domain is the memory cgroup of its mm (the mm owner's), or,
 * with cgroup_domain_depth = N > 0 and that cgroup deeper than N, its
 * ancestor at depth N: all the VMs under /machine.slice/tenant-a.slice are
 * one domain with N = 2. The domain is named by the cgroup's id (its
 * kernfs inode number, unique for the boot); 0 means "no domains", and is
 * what every process gets while merge_across_cgroups = 1, so the trees
 * order and match exactly as without this file.
 *
 * A stable node records the domain it was made in and never changes it;
 * an unstable item's domain is read from its mm when it is compared. A
 * process that moves to another cgroup gets a new domain: ksmd breaks its
 * mappings of KSM pages of the old domain when it next scans them, and
 * its pages may then merge inside the new one.
 *
 * The shared zero page (use_zero_pages) is not a merge: it holds no one's
 * data, and domains do not apply to it.
 */
#include <linux/cgroup.h>
#include <linux/ksm.h>
#include <linux/memcontrol.h>
#include <linux/mm_types.h>
#include <linux/rcupdate.h>

#include "ksm_internal.h"

#ifdef CONFIG_KSM_MERGE_DOMAINS

/**
 * ksm_mm_domain() - the merge domain of an mm
 * @mm: an mm registered with KSM
 *
 * Return: 0 while merge_across_cgroups is 1 (or without memory cgroups),
 * else the id of the domain's cgroup.
 */
u64 ksm_mm_domain(struct mm_struct *mm)
{
	u64 id = 0;
#ifdef CONFIG_MEMCG
	struct mem_cgroup *memcg;
	struct task_struct *owner;
	struct cgroup *cgrp;
	unsigned int depth;

	if (READ_ONCE(ksm_knobs.merge_across_cgroups) || mem_cgroup_disabled())
		return 0;
	depth = READ_ONCE(ksm_knobs.cgroup_domain_depth);
	rcu_read_lock();
	owner = rcu_dereference(mm->owner);
	memcg = owner ? mem_cgroup_from_task(owner) : NULL;
	if (!memcg)
		memcg = root_mem_cgroup;
	if (memcg) {
		cgrp = memcg->css.cgroup;
		if (depth && cgrp->level > depth)
			cgrp = cgrp->ancestors[depth];
		id = cgroup_id(cgrp);
	}
	rcu_read_unlock();
#endif
	return id;
}
#endif /* CONFIG_KSM_MERGE_DOMAINS */

#ifdef CONFIG_PROC_FS
/**
 * ksm_process_domain() - the merge domain /proc/<pid>/ksm_stat shows
 * @mm: the process's mm
 *
 * Return: the id of the domain's cgroup, or 0 while domains are off (and
 * always without CONFIG_KSM_MERGE_DOMAINS).
 */
u64 ksm_process_domain(struct mm_struct *mm)
{
	return ksm_mm_domain(mm);
}
#endif
