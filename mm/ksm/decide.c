// SPDX-License-Identifier: GPL-2.0
/*
 * The decision for one scanned page (ksm_cmp_and_merge()): record a KSM
 * page, give a page of zeroes the zero page, merge into a stable node of
 * the same content, or pair up through the unstable tree; and what to
 * record once page tables were changed (merge.c does the changing).
 *
 * A page is merged on first sight when a stable node has the same content.
 * Two ordinary pages are only merged through the unstable tree, i.e. after
 * the candidate's checksum held between two looks: a round apart, or a
 * first look and the second look of recheck.c.
 */
#include <linux/mm.h>
#include <linux/rmap.h>
#include <linux/pagemap.h>
#include <linux/huge_mm.h>
#include <linux/ksm.h>
#include <linux/sched.h>

#include "ksm_internal.h"

/* The key of a page of zeroes. */
static u64 zero_csum __read_mostly;

/**
 * ksm_decide_init() - compute the key of a page of zeroes
 */
void __init ksm_decide_init(void)
{
	zero_csum = ksm_checksum(ZERO_PAGE(0));
}

/**
 * ksm_item_unlink() - take an item out of whichever tree it is in
 * @item: the item
 *
 * It also leaves the queue of second looks, if it was on it.
 */
void ksm_item_unlink(struct ksm_rmap_item *item)
{
	ksm_recheck_forget(item);
	if (item->addr & KSM_ITEM_STABLE)
		ksm_stable_remove_item(item);
	else
		ksm_unstable_remove_item(item);
	cond_resched();
}

/* Record a mapping of an existing KSM folio (typically after fork). */
static void adopt_ksm_mapping(struct ksm_rmap_item *item, struct folio *folio,
			      struct ksm_stable_node *node)
{
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = ksm_find_vma(mm, ksm_item_addr(item));
	if (vma) {
		folio_lock(folio);
		if (ksm_folio_node(folio) == node) {
			ksm_pin_anon_vma(item, vma);
			ksm_stable_append(item, node);
		}
		folio_unlock(folio);
	}
	mmap_read_unlock(mm);
}

/*
 * merge_pair() made @item's page the KSM folio @kfolio, then failed to
 * merge the partner into it. A KSM page with a single user is pointless,
 * so the merge is undone, unless a fork copied the mapping while ksmd was
 * busy with the partner: the child then maps @kfolio too, and only a
 * stable node can lead rmap (reclaim, migration, memory failure) to the
 * child's mapping, through the anon_vma that @item pins. Fork takes the
 * mmap_lock for writing, so with it held for reading here, a folio that
 * is mapped once stays mapped only by @item's mm until it is broken.
 */
static void undo_lone_ksm(struct ksm_rmap_item *item, struct folio *kfolio,
			  u64 domain)
{
	struct ksm_stable_node *node = NULL;
	unsigned long addr = ksm_item_addr(item);
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	if (folio_mapcount(kfolio) > 1) {
		folio_lock(kfolio);
		if (folio_test_ksm(kfolio) && !ksm_folio_node(kfolio))
			node = ksm_stable_insert(kfolio, domain);
		if (node)
			ksm_stable_append(item, node);
		folio_unlock(kfolio);
	}
	if (!node) {
		put_anon_vma(item->anon_vma);
		item->anon_vma = NULL;
		vma = ksm_find_vma(mm, addr);
		if (vma)
			ksm_break_one(vma, addr);
	}
	mmap_read_unlock(mm);
}

/* Two ordinary pages of equal content: make the first a KSM page. */
static void merge_pair(struct ksm_rmap_item *item, struct page *page,
		       struct ksm_rmap_item *other, struct page *opage,
		       u64 domain)
{
	struct ksm_stable_node *node;
	struct folio *kfolio;

	if (ksm_merge_item(item, page, NULL, domain))
		return;
	/*
	 * Only now: ksm_merge_item() may have split the THP that @page was in,
	 * and the KSM folio is @page's own, not the former head's.
	 */
	kfolio = page_folio(page);
	if (ksm_merge_item(other, opage, page, domain)) {
		undo_lone_ksm(item, kfolio, domain);
		return;
	}
	folio_lock(kfolio);
	node = ksm_stable_insert(kfolio, domain);
	if (node) {
		ksm_stable_append(other, node);
		ksm_stable_append(item, node);
	}
	folio_unlock(kfolio);
	if (!node) {
		ksm_break_item(other);
		ksm_break_item(item);
	}
}

/**
 * ksm_item_up_to_date() - whether a look at a page would change nothing
 * @page: the page at the item's address, referenced by the caller
 * @item: its rmap item
 * @domain: the merge domain of the item's mm (ksm_mm_domain())
 *
 * True for a KSM page that @item already records: on its stable node, in
 * the item's domain and in the tree of the page's NUMA node. That is most
 * of merged memory standing still, and scan.c settles such pages without
 * calling ksm_cmp_and_merge(), which would return at once for them.
 *
 * Return: true if ksm_cmp_and_merge() would do nothing for @page.
 */
bool ksm_item_up_to_date(struct page *page, const struct ksm_rmap_item *item,
			 u64 domain)
{
	struct folio *folio = page_folio(page);
	struct ksm_stable_node *node;

	if (!folio_test_ksm(folio) || !(item->addr & KSM_ITEM_STABLE))
		return false;
	node = ksm_folio_node(folio);
	return node && item->snode == node &&
	       ksm_node_domain(node) == domain &&
	       node->nid == ksm_tree_of_pfn(folio_pfn(folio));
}

/**
 * ksm_cmp_and_merge() - the decision for one scanned page
 * @page: the page at the item's address, referenced by the caller
 * @item: its rmap item
 * @second_look: this is the early second look at a new page (recheck.c)
 *
 * Order of attempts: a KSM page is only (re)recorded; a page of zeroes
 * goes to the zero page (use_zero_pages); a page matching a stable node is
 * merged into it at once; otherwise a page whose checksum did not change
 * since the last look is matched against (or linked into) the unstable
 * tree. A page seen for the first time is queued for a second look in a
 * later batch (recheck.c) rather than in the next round.
 */
void ksm_cmp_and_merge(struct page *page, struct ksm_rmap_item *item,
		       bool second_look)
{
	u64 domain = ksm_mm_domain(item->mm);
	struct folio *folio = page_folio(page);
	struct ksm_stable_node *node;
	struct ksm_rmap_item *other;
	struct page *opage = NULL;
	struct folio *kfolio;
	u64 csum;

	if (folio_test_ksm(folio)) {
		if (ksm_item_up_to_date(page, item, domain))
			return;
		node = ksm_folio_node(folio);
		if (node && ksm_node_domain(node) != domain) {
			/*
			 * Merged in another domain: the process has changed
			 * cgroups since. It stops sharing with the old one.
			 */
			ksm_item_unlink(item);
			ksm_break_item(item);
			return;
		}
		/* Migrated off its NUMA node's tree (per-node trees only)? */
		if (node && node->nid != ksm_tree_of_pfn(folio_pfn(folio)) &&
		    folio_trylock(folio)) {
			if (ksm_folio_node(folio) == node)
				ksm_stable_refile(folio, node);
			folio_unlock(folio);
		}
		if (node && (item->addr & KSM_ITEM_STABLE) && item->snode == node)
			return;
		ksm_item_unlink(item);
		/*
		 * No node: a merge given up half way (a fork may have copied
		 * the mapping in between). Nothing to record; its users
		 * leave it on their next write.
		 */
		if (node)
			adopt_ksm_mapping(item, folio, node);
		return;
	}

	ksm_item_unlink(item);
	csum = ksm_checksum(page);
	/*
	 * Changed since the first look: keep that look's key. The next look
	 * may come moments from now, in this very batch, and must be compared
	 * with a key taken at least KSM_RECHECK_MS before it.
	 */
	if (second_look && csum != item->csum)
		return;

	if (READ_ONCE(ksm_knobs.use_zero_pages) && csum == zero_csum) {
		/*
		 * Zeroes are the content most often passing through: a buffer
		 * just cleared, a guest page zeroed when freed. Merged on sight,
		 * such a page would cost an invalidation and a COW fault at its
		 * next write. So only a page that was zero at the look a pass
		 * ago (not at a second look moments later) gets the zero page.
		 */
		if (item->csum == csum && !second_look)
			ksm_merge_zero(item, page);
		item->csum = csum;
		return;
	}

	if (csum == zero_csum && PageTransCompound(page)) {
		/*
		 * Zeroes in a THP (without use_zero_pages: those went above).
		 * Splitting the THP maps every zero-filled page of it to the
		 * shared zero page (6.12's split does so for anonymous THPs),
		 * which saves more than merging them into a KSM page would,
		 * and merging needs that split anyway. Like merge_zero(), only
		 * for a page that was zero a pass ago too.
		 */
		if (item->csum == csum && !second_look && trylock_page(page)) {
			split_huge_page(page);
			unlock_page(page);
		}
		item->csum = csum;
		return;
	}

	kfolio = ksm_stable_search(page, csum, domain);
	if (IS_ERR(kfolio)) {
		item->csum = csum;
		return;
	}
	if (kfolio) {
		if (!ksm_merge_item(item, page, folio_page(kfolio, 0), domain)) {
			folio_lock(kfolio);
			node = ksm_folio_node(kfolio);
			if (node)
				ksm_stable_append(item, node);
			folio_unlock(kfolio);
			if (!node)
				ksm_break_item(item);
		} else {
			item->csum = csum;
		}
		folio_put(kfolio);
		return;
	}

	if (item->csum != csum) {
		/*
		 * Never looked at before (no key yet): look again soon.
		 * Changed since the last round: being written, try next round.
		 */
		bool first_look = !item->csum;

		item->csum = csum;
		if (first_look)
			ksm_recheck_queue(item);
		return;
	}

	other = ksm_unstable_search_insert(item, page, domain, &opage);
	if (other && PageTransCompound(page) &&
	    compound_head(page) == compound_head(opage)) {
		/*
		 * Two pages of one THP: the split fails while both are
		 * referenced. Split it holding only @page and find the partner
		 * again at once. Split now and merged a round later, the THP's
		 * pages would lie unmerged in small pages for a round, and
		 * khugepaged collapses such a range straight back.
		 */
		put_page(opage);
		other = NULL;
		if (trylock_page(page)) {
			if (!split_huge_page(page))
				other = ksm_unstable_search_insert(item, page,
								   domain,
								   &opage);
			unlock_page(page);
		}
	}
	if (!other)
		return;
	merge_pair(item, page, other, opage, domain);
	put_page(opage);
}
