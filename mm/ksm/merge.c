// SPDX-License-Identifier: GPL-2.0
/*
 * Page table side of KSM: write-protecting a candidate page, replacing it
 * by a KSM folio (or the shared zero page), and undoing merges by faulting
 * in private copies. What to merge with what is decided in decide.c.
 *
 * A candidate is compared with the KSM folio it is to join only after its
 * own pte has been write-protected (and KSM folios are write-protected
 * everywhere), so a match cannot go stale before the pte is replaced.
 */
#include <linux/mm.h>
#include <linux/rmap.h>
#include <linux/pagemap.h>
#include <linux/pagewalk.h>
#include <linux/mmu_notifier.h>
#include <linux/huge_mm.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/ksm.h>
#include <linux/sched/signal.h>
#include <asm/tlbflush.h>
#include <trace/events/ksm.h>

#include "ksm_internal.h"

/* Does @addr map a KSM folio, or the zero page placed by KSM? */
static bool maps_ksm_page(struct vm_area_struct *vma, unsigned long addr)
{
	struct folio_walk fw;
	struct folio *folio;
	bool ksm = false;

	folio = folio_walk_start(&fw, vma, addr, FW_MIGRATION | FW_ZEROPAGE);
	if (folio) {
		if (!folio_test_large(folio))
			ksm = folio_test_ksm(folio) || is_ksm_zero_pte(fw.pte);
		folio_walk_end(&fw, vma);
	}
	return ksm;
}

/**
 * ksm_break_one() - give one address a private copy again
 * @vma: the vma, mmap_lock held
 * @addr: the address, in @vma
 *
 * Undoes one merge if @addr maps KSM memory. An unsharing fault replaces
 * the KSM folio or KSM zero page by an exclusive anonymous page; the fault
 * may back off (a racing pte update, say), so it is repeated until the
 * address no longer maps KSM memory or the fault fails for good (out of
 * memory, or SIGBUS/SIGSEGV: the mapping went away under us).
 */
void ksm_break_one(struct vm_area_struct *vma, unsigned long addr)
{
	vm_fault_t ret;

	do {
		cond_resched();
		if (!maps_ksm_page(vma, addr))
			return;
		ret = handle_mm_fault(vma, addr,
				      FAULT_FLAG_UNSHARE | FAULT_FLAG_REMOTE,
				      NULL);
	} while (!(ret & (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)));
}

/* Does the pte at @addr map KSM memory (also while it migrates)? */
static bool pte_maps_ksm(struct vm_area_struct *vma, unsigned long addr,
			 pte_t pte)
{
	struct page *page;
	swp_entry_t entry;

	if (pte_present(pte)) {
		if (is_ksm_zero_pte(pte))
			return true;
		page = vm_normal_page(vma, addr, pte);
		return page && PageKsm(page);
	}
	if (pte_none(pte))
		return false;
	entry = pte_to_swp_entry(pte);
	return is_migration_entry(entry) &&
	       folio_test_ksm(pfn_swap_entry_folio(entry));
}

/* Addresses of KSM ptes gathered by one walk of ksm_unmerge_range(). */
#define KSM_HUNT_BATCH	32

struct ksm_pte_hunt {
	unsigned long addr[KSM_HUNT_BATCH];
	unsigned int nr;
};

/*
 * Page walk callback of ksm_unmerge_range(): gather the addresses whose
 * pte maps KSM memory, ending the walk when the batch is full. KSM pages
 * are never mapped by a pmd, so a huge pmd holds none.
 */
static int ksm_pte_pmd_entry(pmd_t *pmdp, unsigned long addr,
			     unsigned long end, struct mm_walk *walk)
{
	struct ksm_pte_hunt *hunt = walk->private;
	pte_t *first, *ptep;
	spinlock_t *ptl;		/* the pte table's lock */
	pmd_t pmdval;

	pmdval = pmdp_get_lockless(pmdp);
	if (!pmd_present(pmdval) || pmd_leaf(pmdval))
		return 0;
	first = pte_offset_map_lock(walk->mm, pmdp, addr, &ptl);
	if (!first)
		return 0;
	__acquire(ptl);		/* sparse: a mapped table comes locked */
	for (ptep = first; addr < end && hunt->nr < KSM_HUNT_BATCH;
	     ptep++, addr += PAGE_SIZE)
		if (pte_maps_ksm(walk->vma, addr, ptep_get(ptep)))
			hunt->addr[hunt->nr++] = addr;
	pte_unmap_unlock(first, ptl);
	return hunt->nr == KSM_HUNT_BATCH;
}

/* Empty page tables are skipped whole: there is no pte_hole callback. */
static const struct mm_walk_ops ksm_pte_walk_ops = {
	.pmd_entry = ksm_pte_pmd_entry,
	.walk_lock = PGWALK_RDLOCK,
};

/**
 * ksm_unmerge_range() - unshare every KSM page in [@start, @end) of @vma
 * @vma: the vma, mmap_lock held
 * @start: first address
 * @end: end address (exclusive)
 * @lock_vma: take the per-vma write lock first (madvise/prctl paths)
 *
 * Only page tables that exist are looked at: a sparse range of terabytes
 * costs what is mapped in it. One walk gathers a batch of KSM ptes, each
 * gets one unsharing fault, and the next walk starts at the batch's first
 * address: it sees each pte of the batch once more, and finds any whose
 * fault backed off (a racing migration, say), together with the next
 * batch. Items are left to the next scan to clean up.
 *
 * Return: 0, -ENOMEM, or -ERESTARTSYS if a signal is pending.
 */
int ksm_unmerge_range(struct vm_area_struct *vma, unsigned long start,
		      unsigned long end, bool lock_vma)
{
	unsigned long addr = start, next;
	struct ksm_pte_hunt hunt;
	unsigned int i;
	vm_fault_t ret;

	if (lock_vma)
		vma_start_write(vma);
	while (addr < end) {
		if (ksm_mm_exiting(vma->vm_mm))
			return 0;
		if (signal_pending(current))
			return -ERESTARTSYS;
		hunt.nr = 0;
		walk_page_range_vma(vma, addr, end, &ksm_pte_walk_ops, &hunt);
		if (!hunt.nr)
			return 0;
		next = hunt.addr[0];
		for (i = 0; i < hunt.nr; i++) {
			cond_resched();
			ret = handle_mm_fault(vma, hunt.addr[i],
					      FAULT_FLAG_UNSHARE |
					      FAULT_FLAG_REMOTE, NULL);
			if (ret & VM_FAULT_OOM)
				return -ENOMEM;
			/*
			 * The mapping went away under us (a truncated file
			 * behind a private mapping): nothing to undo here,
			 * go on after it.
			 */
			if (ret & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)) {
				next = hunt.addr[i] + PAGE_SIZE;
				break;
			}
		}
		addr = next;
	}
	return 0;
}

/**
 * ksm_break_item() - undo a merge that could not be recorded
 * @item: an unlinked item whose anon_vma is pinned
 */
void ksm_break_item(struct ksm_rmap_item *item)
{
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;

	if (item->anon_vma) {
		put_anon_vma(item->anon_vma);
		item->anon_vma = NULL;
	}
	mmap_read_lock(mm);
	vma = ksm_find_vma(mm, ksm_item_addr(item));
	if (vma)
		ksm_break_one(vma, ksm_item_addr(item));
	mmap_read_unlock(mm);
}

/*
 * Make the pte mapping @folio in @vma read-only and clean, and check that
 * nobody but the page tables (and the swap cache) holds a reference: an
 * extra reference could be GUP/O_DIRECT about to write into the page.
 * The pte is cleared and flushed before the count is read, so that no
 * lockless GUP can start in between. *@orig gets the resulting pte.
 */
static int wrprotect_folio_pte(struct vm_area_struct *vma,
			       struct folio *folio, pte_t *orig)
{
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, 0, 0);
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	bool exclusive, in_swapcache;
	int ret = -EFAULT;
	unsigned long addr;
	pte_t pte;

	if (WARN_ON_ONCE(folio_test_large(folio)))
		return -EFAULT;
	addr = page_address_in_vma(folio_page(folio, 0), vma);
	if (addr == -EFAULT)
		return -EFAULT;
	pvmw.address = addr;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
				addr + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	if (!page_vma_mapped_walk(&pvmw))
		goto end_notify;
	if (WARN_ONCE(!pvmw.pte, "ksm: folio mapped by a pmd"))
		goto end_walk;

	pte = ptep_get(pvmw.pte);
	exclusive = PageAnonExclusive(folio_page(folio, 0));
	if (pte_write(pte) || pte_dirty(pte) || exclusive ||
	    mm_tlb_flush_pending(mm)) {
		in_swapcache = folio_test_swapcache(folio);
		flush_cache_page(vma, addr, folio_pfn(folio));
		pte = ptep_clear_flush(vma, addr, pvmw.pte);
		if (folio_ref_count(folio) !=
		    folio_mapcount(folio) + 1 + in_swapcache) {
			set_pte_at(mm, addr, pvmw.pte, pte);
			goto end_walk;
		}
		/* Unshare the anon page only once the pte is gone. */
		if (exclusive &&
		    folio_try_share_anon_rmap_pte(folio, folio_page(folio, 0))) {
			set_pte_at(mm, addr, pvmw.pte, pte);
			goto end_walk;
		}
		if (pte_dirty(pte))
			folio_mark_dirty(folio);
		pte = pte_wrprotect(pte_mkclean(pte));
		set_pte_at(mm, addr, pvmw.pte, pte);
	}
	*orig = pte;
	ret = 0;
end_walk:
	page_vma_mapped_walk_done(&pvmw);
end_notify:
	mmu_notifier_invalidate_range_end(&range);
	return ret;
}

/*
 * Point the pte that maps @page (and still equals @orig) at @kpage, a KSM
 * page or the zero page, and drop @page's mapping.
 */
static int map_ksm_page(struct vm_area_struct *vma, struct page *page,
			struct page *kpage, pte_t orig)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	struct folio *old = page_folio(page);
	unsigned long addr, kpfn = page_to_pfn(kpage);
	pte_t *ptep, newpte;
	spinlock_t *ptl;		/* the pte table's lock */
	pmd_t *pmd, pmdval;
	int ret = -EFAULT;

	addr = page_address_in_vma(page, vma);
	if (addr == -EFAULT)
		return ret;
	pmd = mm_find_pmd(mm, addr);
	if (!pmd)
		return ret;
	/* Only a pte table will do, not a (possibly changing) huge pmd. */
	pmdval = pmdp_get_lockless(pmd);
	if (!pmd_present(pmdval) || pmd_trans_huge(pmdval))
		return ret;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
				addr + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!ptep)
		goto end_notify;
	if (!pte_same(ptep_get(ptep), orig))
		goto unlock;

	if (is_zero_pfn(kpfn)) {
		/* The dirty bit marks zero pages that KSM put there. */
		newpte = pte_mkdirty(pte_mkspecial(pfn_pte(kpfn,
							   vma->vm_page_prot)));
		ksm_map_zero_page(mm);
		/* The zero page is not counted as anonymous memory. */
		dec_mm_counter(mm, MM_ANONPAGES);
	} else {
		struct folio *kfolio = page_folio(kpage);

		folio_get(kfolio);
		folio_add_anon_rmap_pte(kfolio, kpage, vma, addr, RMAP_NONE);
		newpte = mk_pte(kpage, vma->vm_page_prot);
	}
	/*
	 * What userspace tracks per pte survives the merge: a page written
	 * since clear_refs stays soft-dirty (a checkpoint would otherwise
	 * keep its older copy), and a page write-protected by userfaultfd
	 * still reports its next write. The unsharing fault keeps both too.
	 */
	if (pte_soft_dirty(orig))
		newpte = pte_mksoft_dirty(newpte);
	if (pte_uffd_wp(orig))
		newpte = pte_mkuffd_wp(newpte);
	flush_cache_page(vma, addr, pte_pfn(ptep_get(ptep)));
	ptep_clear_flush(vma, addr, ptep);
	set_pte_at(mm, addr, ptep, newpte);

	folio_remove_rmap_pte(old, page, vma);
	if (!folio_mapped(old))
		folio_free_swap(old);
	folio_put(old);
	ret = 0;
unlock:
	pte_unmap_unlock(ptep, ptl);
end_notify:
	mmu_notifier_invalidate_range_end(&range);
	return ret;
}

/*
 * Merge @page (mapped in @vma) into @kpage; with @kpage NULL, turn @page
 * itself into a KSM page (its stable node is set by the caller).
 */
static int merge_page(struct vm_area_struct *vma, struct page *page,
		      struct page *kpage)
{
	struct folio *folio;
	pte_t orig = __pte(0);
	int err = -EFAULT;

	if (page == kpage)
		return 0;
	if (!PageAnon(page))
		return -EFAULT;
	/* Never wait for a page lock: come back to it next round. */
	if (!trylock_page(page))
		return -EFAULT;
	if (PageTransCompound(page) && split_huge_page(page))
		goto unlock;
	folio = page_folio(page);
	if (wrprotect_folio_pte(vma, folio, &orig))
		goto unlock;
	if (!kpage) {
		ksm_folio_set_node(folio, NULL);
		folio_mark_accessed(folio);
		/* Reclaim must write a KSM page out, not just drop it. */
		if (!folio_test_dirty(folio))
			folio_set_dirty(folio);
		err = 0;
	} else if (pages_identical(page, kpage)) {
		err = map_ksm_page(vma, page, kpage, orig);
	}
unlock:
	unlock_page(page);
	return err;
}

/**
 * ksm_pin_anon_vma() - @item now maps a KSM folio through @vma
 * @item: the item, in no tree
 * @vma: its vma, mmap_lock held
 *
 * Pins the vma's anon_vma, which rmap walks to find this mapping and those
 * forks copied from it, and records whether the page index there is the
 * one a never-moved vma would have (KSM_ITEM_LINEAR).
 */
void ksm_pin_anon_vma(struct ksm_rmap_item *item, struct vm_area_struct *vma)
{
	unsigned long addr = ksm_item_addr(item);

	item->anon_vma = vma->anon_vma;
	get_anon_vma(vma->anon_vma);
	item->addr &= ~(KSM_ITEM_AGE_MASK | KSM_ITEM_SKIP_MASK);
	if (linear_page_index(vma, addr) == addr >> PAGE_SHIFT)
		item->addr |= KSM_ITEM_LINEAR;
}

/**
 * ksm_merge_item() - merge the page of an item
 * @item: the item
 * @page: its page, referenced
 * @kpage: the KSM page to merge into, or NULL to make @page a KSM page
 * @domain: the merge domain both are in (for the tracepoint)
 *
 * On success the item leaves the unstable tree and pins the vma's
 * anon_vma, ready for ksm_stable_append().
 *
 * Return: 0 or -EFAULT (the page or its mapping would not do, now).
 */
int ksm_merge_item(struct ksm_rmap_item *item, struct page *page,
		   struct page *kpage, u64 domain)
{
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;
	int err = -EFAULT;

	mmap_read_lock(mm);
	vma = ksm_find_vma(mm, ksm_item_addr(item));
	if (vma)
		err = merge_page(vma, page, kpage);
	if (!err) {
		ksm_unstable_remove_item(item);
		ksm_pin_anon_vma(item, vma);
	}
	mmap_read_unlock(mm);
	trace_ksm_merge_with_ksm_page(kpage, page_to_pfn(kpage ? kpage : page),
				      item, mm, err, domain);
	return err;
}

/**
 * ksm_merge_zero() - replace a page of zeroes by the zero page
 * @item: the page's item
 * @page: the page, referenced, found to hold only zeroes
 *
 * Nothing happens if the item's vma went away.
 */
void ksm_merge_zero(struct ksm_rmap_item *item, struct page *page)
{
	unsigned long addr = ksm_item_addr(item);
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;
	int err;

	mmap_read_lock(mm);
	vma = ksm_find_vma(mm, addr);
	if (vma) {
		err = merge_page(vma, page, ZERO_PAGE(addr));
		trace_ksm_merge_one_page(page_to_pfn(ZERO_PAGE(addr)), item,
					 mm, err, ksm_mm_domain(mm));
	}
	mmap_read_unlock(mm);
}

