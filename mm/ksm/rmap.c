// SPDX-License-Identifier: GPL-2.0
/*
 * What the rest of mm asks about KSM folios: where they are mapped
 * (reclaim, migration, compaction, idle tracking), which processes to
 * signal when one is poisoned, how to follow a folio that migration
 * moved, and whether a folio coming back from swap can be mapped as is.
 *
 * A stable node lists one rmap item per (mm, address) that ksmd saw
 * mapping the folio. Each item pins the anon_vma of its vma; that
 * anon_vma also reaches vmas of children forked since, which map the
 * folio at the same address.
 */
#include <linux/mm.h>
#include <linux/rmap.h>
#include <linux/pagemap.h>
#include <linux/ksm.h>
#include <linux/swap.h>
#include <linux/memcontrol.h>
#include <linux/highmem.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/vm_event_item.h>

#include "ksm_internal.h"

/*
 * The page indexes of @item's anon_vma at which a vma can map its page:
 * the one index of a linear item, else all (the vma was moved by mremap
 * before the merge, and its index is not known here). Every vma reached
 * must also map the item's address, as forks copy vmas unmoved and mremap
 * unmerges what it moves.
 */
static void item_pgoff_range(struct ksm_rmap_item *item, pgoff_t *first,
			     pgoff_t *last)
{
	if (item->addr & KSM_ITEM_LINEAR) {
		*first = ksm_item_addr(item) >> PAGE_SHIFT;
		*last = *first;
	} else {
		*first = 0;
		*last = ULONG_MAX;
	}
}

/*
 * Visit the vmas reachable from @item that map its address: on the first
 * pass those of the item's own mm, on the second those of other mms.
 * Returns false when the walk must stop.
 */
static bool walk_item(struct folio *folio, struct ksm_rmap_item *item,
		      struct rmap_walk_control *rwc, bool others)
{
	struct anon_vma *av = item->anon_vma;
	unsigned long addr = ksm_item_addr(item);
	struct anon_vma_chain *avc;
	struct vm_area_struct *vma;
	bool go_on = true, own_mm;
	pgoff_t first, last;

	if (!anon_vma_trylock_read(av)) {
		if (rwc->try_lock) {
			rwc->contended = true;
			return false;
		}
		anon_vma_lock_read(av);
	}
	item_pgoff_range(item, &first, &last);
	anon_vma_interval_tree_foreach(avc, &av->rb_root, first, last) {
		cond_resched();
		vma = avc->vma;
		if (addr < vma->vm_start || addr >= vma->vm_end)
			continue;
		own_mm = vma->vm_mm == item->mm;
		if (own_mm == others)
			continue;
		if (rwc->invalid_vma && rwc->invalid_vma(vma, rwc->arg))
			continue;
		if (!rwc->rmap_one(folio, vma, addr, rwc->arg) ||
		    (rwc->done && rwc->done(folio))) {
			go_on = false;
			break;
		}
	}
	anon_vma_unlock_read(av);
	return go_on;
}

/**
 * rmap_walk_ksm() - call @rwc->rmap_one for each mapping of a KSM folio
 * @folio: the KSM folio, locked
 * @rwc: the walk control
 */
void rmap_walk_ksm(struct folio *folio, struct rmap_walk_control *rwc)
{
	struct ksm_stable_node *node;
	struct ksm_rmap_item *item;
	int pass;

	/* The folio lock keeps the node's item list still. */
	if (WARN_ON_ONCE(!folio_test_locked(folio) || !folio_test_ksm(folio)))
		return;
	node = ksm_folio_node(folio);
	if (!node)
		return;
	for (pass = 0; pass < 2; pass++) {
		hlist_for_each_entry(item, &node->hlist, link) {
			cond_resched();
			if (!walk_item(folio, item, rwc, pass))
				return;
		}
	}
}

#ifdef CONFIG_MEMORY_FAILURE
/**
 * collect_procs_ksm() - processes mapping a poisoned KSM page
 * @folio: the KSM folio
 * @page: the poisoned page
 * @to_kill: list to add the tasks to
 * @force_early: kill even tasks that did not ask for early kill
 */
void collect_procs_ksm(struct folio *folio, struct page *page,
		       struct list_head *to_kill, int force_early)
{
	struct ksm_stable_node *node = ksm_folio_node(folio);
	struct ksm_rmap_item *item;
	struct anon_vma_chain *avc;
	struct task_struct *tsk, *t;

	if (!node)
		return;
	hlist_for_each_entry(item, &node->hlist, link) {
		struct anon_vma *av = item->anon_vma;
		pgoff_t first, last;

		item_pgoff_range(item, &first, &last);
		anon_vma_lock_read(av);
		rcu_read_lock();
		for_each_process(tsk) {
			t = task_early_kill(tsk, force_early);
			if (!t)
				continue;
			anon_vma_interval_tree_foreach(avc, &av->rb_root,
						       first, last) {
				if (avc->vma->vm_mm != t->mm)
					continue;
				add_to_kill_ksm(t, page, avc->vma, to_kill,
						ksm_item_addr(item));
			}
		}
		rcu_read_unlock();
		anon_vma_unlock_read(av);
	}
}
#endif

#ifdef CONFIG_MIGRATION
/**
 * folio_migrate_ksm() - the KSM folio @folio now lives in @newfolio
 * @newfolio: the destination, locked, ->mapping already copied
 * @folio: the source, locked
 */
void folio_migrate_ksm(struct folio *newfolio, struct folio *folio)
{
	struct ksm_stable_node *node = ksm_folio_node(folio);

	VM_WARN_ON_ONCE_FOLIO(!folio_test_locked(folio), folio);
	VM_WARN_ON_ONCE_FOLIO(!folio_test_locked(newfolio), newfolio);
	VM_WARN_ON_ONCE_FOLIO(newfolio->mapping != folio->mapping, newfolio);
	if (!node)
		return;
	VM_WARN_ON_ONCE_FOLIO(node->kpfn != folio_pfn(folio), folio);
	WRITE_ONCE(node->kpfn, folio_pfn(newfolio));
	/*
	 * ksm_node_folio() must see the new pfn before it can see the old
	 * folio's ->mapping cleared (or its swap cache flag dropped).
	 */
	smp_wmb();
	ksm_folio_set_node(folio, NULL);
}
#endif

/**
 * ksm_might_need_to_copy() - can a folio read from swap be mapped here?
 * @folio: the folio found in the swap cache, locked
 * @vma: the vma faulting it in
 * @addr: the faulting address
 *
 * A KSM folio still known to its stable node can be mapped anywhere. An
 * ordinary anonymous folio only where its anon_vma and index fit. In all
 * other cases (a KSM folio that lost its node, say, or one swapped in by
 * another process) a private copy is made.
 *
 * Return: @folio, a new locked copy, NULL if memory ran out, or
 * ERR_PTR(-EHWPOISON).
 */
struct folio *ksm_might_need_to_copy(struct folio *folio,
				     struct vm_area_struct *vma,
				     unsigned long addr)
{
	struct anon_vma *av = folio_anon_vma(folio);
	struct page *page = folio_page(folio, 0);
	struct folio *copy;

	if (folio_test_large(folio))
		return folio;
	if (folio_test_ksm(folio)) {
		if (ksm_folio_node(folio) && !(READ_ONCE(ksm_knobs.run) & KSM_RUN_UNMERGE))
			return folio;
	} else if (!av) {
		return folio;
	} else if (folio->index == linear_page_index(vma, addr) &&
		   av->root == vma->anon_vma->root) {
		return folio;
	}
	if (PageHWPoison(page))
		return ERR_PTR(-EHWPOISON);
	if (!folio_test_uptodate(folio))
		return folio;	/* do_swap_page() reports the I/O error */

	copy = vma_alloc_folio(GFP_HIGHUSER_MOVABLE, 0, vma, addr, false);
	if (!copy)
		return NULL;
	if (mem_cgroup_charge(copy, vma->vm_mm, GFP_KERNEL)) {
		folio_put(copy);
		return NULL;
	}
	if (copy_mc_user_highpage(folio_page(copy, 0), page, addr, vma)) {
		folio_put(copy);
		return ERR_PTR(-EHWPOISON);
	}
	folio_set_dirty(copy);
	__folio_mark_uptodate(copy);
	__folio_set_locked(copy);
#ifdef CONFIG_SWAP
	count_vm_event(KSM_SWPIN_COPY);
#endif
	return copy;
}
