// SPDX-License-Identifier: GPL-2.0
/*
 * ksmd: the scanning thread, its cursor over the registered mms, vmas and
 * pages, the per-mm lists of rmap items, and "smart scan" skipping.
 *
 * One round visits every anonymous page of every VM_MERGEABLE vma of
 * every registered mm, in list order, pages_to_scan pages per wake-up.
 * The unstable trees are emptied at the start of each round.
 */
#include <linux/mm.h>
#include <linux/mm_inline.h>
#include <linux/rmap.h>
#include <linux/pagemap.h>
#include <linux/pagewalk.h>
#include <linux/highmem.h>
#include <linux/hashtable.h>
#include <linux/kthread.h>
#include <linux/freezer.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/ksm.h>
#include <linux/sched/mm.h>
#include <linux/sched/coredump.h>
#include <linux/memory.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#define CREATE_TRACE_POINTS
#include <trace/events/ksm.h>

#include "ksm_internal.h"

/*
 * ksmd's mutex: held while it scans, and by the sysfs writers that walk
 * or rebuild the trees (ksm_lock_trees()). See ksm_internal.h.
 */
static DEFINE_MUTEX(ksm_thread_mutex);
/* Protects the list and hash of mm slots (and the cursor's slot). */
static DEFINE_SPINLOCK(ksm_mmlist_lock);
static DECLARE_WAIT_QUEUE_HEAD(ksm_thread_wait);
static DECLARE_WAIT_QUEUE_HEAD(ksm_iter_wait);

/* Heads ksmd's list of mms (slot.mm_node); it has no mm of its own. */
static struct ksm_mm_slot ksm_mm_head = {
	.slot.mm_node = LIST_HEAD_INIT(ksm_mm_head.slot.mm_node),
};

/**
 * struct ksm_scan_cursor - where ksmd is
 * @slot: the slot being scanned, or &ksm_mm_head between rounds
 * @addr: next address to look at in that mm
 * @pos: where the item for @addr is or would be linked
 *
 * The number of completed rounds is the counter KSM_FULL_SCANS.
 */
struct ksm_scan_cursor {
	struct ksm_mm_slot *slot;
	unsigned long addr;
	struct ksm_rmap_item **pos;
};

static struct ksm_scan_cursor ksm_cursor = {
	.slot = &ksm_mm_head,
};

#define KSM_SLOT_HASH_BITS 10
static DEFINE_HASHTABLE(ksm_slot_hash, KSM_SLOT_HASH_BITS);

static struct kmem_cache *ksm_slot_cache;

static struct ksm_mm_slot *next_slot(struct ksm_mm_slot *slot)
{
	return list_next_entry(slot, slot.mm_node);
}

static bool no_mm_registered(void)
{
	return list_empty(&ksm_mm_head.slot.mm_node);
}

/* The slot of @mm, or NULL. Caller holds ksm_mmlist_lock. */
static struct ksm_mm_slot *slot_lookup(struct mm_struct *mm)
{
	struct mm_slot *s = mm_slot_lookup(ksm_slot_hash, mm);

	return s ? mm_slot_entry(s, struct ksm_mm_slot, slot) : NULL;
}

/* Take @slot off the list and the hash. Caller holds ksm_mmlist_lock. */
static void slot_unhash(struct ksm_mm_slot *slot)
{
	hash_del(&slot->slot.hash);
	list_del(&slot->slot.mm_node);
}

/* Free the items from @pos to the end of the list; *@pos becomes NULL. */
static void free_items_from(struct ksm_rmap_item **pos)
{
	struct ksm_rmap_item *item;

	while ((item = *pos)) {
		*pos = item->next;
		ksm_item_unlink(item);
		ksm_item_free(item);
	}
}

/**
 * ksm_register_mm() - put an mm on ksmd's list
 * @mm: the mm, not registered yet
 *
 * Return: 0 or -ENOMEM.
 */
int ksm_register_mm(struct mm_struct *mm)
{
	struct ksm_mm_slot *slot = mm_slot_alloc(ksm_slot_cache);
	struct ksm_mm_slot *before;
	struct mm_slot *ms;
	bool was_idle;

	if (!slot)
		return -ENOMEM;

	was_idle = no_mm_registered();
	ms = &slot->slot;
	spin_lock(&ksm_mmlist_lock);
	mm_slot_insert(ksm_slot_hash, mm, ms);
	/*
	 * Normally the new mm goes just behind the cursor, so that a fork
	 * followed by exec is gone before ksmd gets to it. While everything
	 * is being unmerged it must go where the unmerge has yet to pass.
	 */
	before = (READ_ONCE(ksm_knobs.run) & KSM_RUN_UNMERGE) ? &ksm_mm_head :
								 ksm_cursor.slot;
	list_add_tail(&slot->slot.mm_node, &before->slot.mm_node);
	spin_unlock(&ksm_mmlist_lock);

	mmgrab(mm);
	set_bit(MMF_VM_MERGEABLE, &mm->flags);
	if (was_idle)
		ksm_wake_ksmd();
	return 0;
}

/**
 * ksm_unregister_mm() - an mm with MMF_VM_MERGEABLE is being torn down
 * @mm: the mm (mm_users already zero)
 *
 * A slot with no items, away from the cursor, is freed at once. Otherwise
 * ksmd frees it on its next visit; taking mmap_lock for writing here waits
 * until ksmd is out of the mm's page tables before they are freed.
 */
void ksm_unregister_mm(struct mm_struct *mm)
{
	struct ksm_mm_slot *slot;
	bool free_now = false;

	spin_lock(&ksm_mmlist_lock);
	slot = slot_lookup(mm);
	if (slot && slot != ksm_cursor.slot) {
		if (!slot->items) {
			slot_unhash(slot);
			free_now = true;
		} else {
			/* Let ksmd reach it next. */
			list_move(&slot->slot.mm_node,
				  &ksm_cursor.slot->slot.mm_node);
		}
	}
	spin_unlock(&ksm_mmlist_lock);

	if (free_now) {
		mm_slot_free(ksm_slot_cache, slot);
		clear_bit(MMF_VM_MERGE_ANY, &mm->flags);
		clear_bit(MMF_VM_MERGEABLE, &mm->flags);
		mmdrop(mm);
	} else if (slot) {
		mmap_write_lock(mm);
		mmap_write_unlock(mm);
	}
}

/**
 * ksm_wake_ksmd() - ksmd may have work now (run = 1, a new mm)
 */
void ksm_wake_ksmd(void)
{
	wake_up_interruptible(&ksm_thread_wait);
}

/**
 * ksm_nap_changed() - sleep_millisecs changed: end ksmd's nap
 */
void ksm_nap_changed(void)
{
	wake_up_interruptible(&ksm_iter_wait);
}

/*
 * Unregister @slot's mm: the slot leaves the list and hash and is freed,
 * and the mm loses MMF_VM_MERGEABLE. MMF_VM_MERGE_ANY goes too with
 * @all; otherwise it stays so that ksm_add_vma() registers the mm again
 * at its next mmap. Called with ksm_mmlist_lock held; the caller drops
 * the mm reference the slot held once it is done with the mm.
 */
static void forget_slot(struct ksm_mm_slot *slot, bool all)
{
	struct mm_struct *mm = slot->slot.mm;

	slot_unhash(slot);
	mm_slot_free(ksm_slot_cache, slot);
	clear_bit(MMF_VM_MERGEABLE, &mm->flags);
	if (all)
		clear_bit(MMF_VM_MERGE_ANY, &mm->flags);
}

/*
 * The item for @addr at list position @pos: items for lower addresses
 * found there no longer have a page and are freed; a missing item is
 * created.
 */
static struct ksm_rmap_item *item_at(struct mm_struct *mm,
				     struct ksm_rmap_item **pos,
				     unsigned long addr)
{
	struct ksm_rmap_item *item;

	while ((item = *pos)) {
		if (ksm_item_addr(item) == addr)
			return item;
		if (ksm_item_addr(item) > addr)
			break;
		*pos = item->next;
		ksm_item_unlink(item);
		ksm_item_free(item);
	}
	item = ksm_item_alloc(mm, addr);
	if (item) {
		item->next = *pos;
		*pos = item;
	}
	return item;
}

/*
 * Rounds in which smart scan skips nothing in an mm, counted from the one
 * in which the mm offers new memory (madvise, prctl): the round under way,
 * the one in which the new pages' checksums settle, and the one in which
 * they can pair. The mm's own older pages (a guest's RAM whose duplicates
 * are mostly its own) then meet the new ones in the unstable tree. Other
 * mms skip as before: one process that keeps advising small regions must
 * not turn smart scan off for the whole host.
 */
#define KSM_FRESH_ROUNDS	3

/**
 * ksm_note_new_candidates() - new mergeable memory was offered in @mm
 * @mm: the mm, already registered
 *
 * Called when madvise(MADV_MERGEABLE) or prctl(PR_SET_MEMORY_MERGE) makes
 * a vma mergeable; turns smart scan skipping off in @mm for the next
 * KSM_FRESH_ROUNDS rounds.
 */
void ksm_note_new_candidates(struct mm_struct *mm)
{
	struct ksm_mm_slot *slot;

	spin_lock(&ksm_mmlist_lock);
	slot = slot_lookup(mm);
	if (slot)
		WRITE_ONCE(slot->fresh_until,
			   ksm_count(KSM_FULL_SCANS) + KSM_FRESH_ROUNDS);
	spin_unlock(&ksm_mmlist_lock);
}

/* Rounds to skip a page that failed to merge @age times (smart scan). */
static unsigned int skip_rounds(unsigned int age)
{
	if (age > 8)
		return 8;
	if (age > 5)
		return 4;
	if (age > 3)
		return 2;
	return 1;
}

/*
 * Smart scan: a page that stays unmerged round after round is looked at
 * less and less often. KSM pages are never skipped, nor aged: a stable
 * item keeps KSM_ITEM_LINEAR in the age bits.
 */
static bool smart_scan_applies(struct ksm_mm_slot *slot,
			       const struct ksm_rmap_item *item)
{
	return READ_ONCE(ksm_knobs.smart_scan) &&
	       !(item->addr & KSM_ITEM_STABLE) &&
	       ksm_count(KSM_FULL_SCANS) >= READ_ONCE(slot->fresh_until);
}

static unsigned int item_age(const struct ksm_rmap_item *item)
{
	return (item->addr & KSM_ITEM_AGE_MASK) >> KSM_ITEM_AGE_SHIFT;
}

/*
 * Whether smart_skip() will skip @item's page (not a KSM page) on this
 * look; changes nothing, so the page walk may ask it.
 */
static bool skip_pending(struct ksm_mm_slot *slot,
			 const struct ksm_rmap_item *item)
{
	return smart_scan_applies(slot, item) && item_age(item) >= 3 &&
	       (item->addr & KSM_ITEM_SKIP_MASK);
}

static bool smart_skip(struct ksm_mm_slot *slot, struct page *page,
		       struct ksm_rmap_item *item)
{
	unsigned int age, skips;

	if (PageKsm(page) || !smart_scan_applies(slot, item))
		return false;

	age = item_age(item);
	skips = (item->addr & KSM_ITEM_SKIP_MASK) >> KSM_ITEM_SKIP_SHIFT;
	if (age < KSM_ITEM_AGE_MAX)
		item->addr += 1UL << KSM_ITEM_AGE_SHIFT;
	if (age < 3)
		return false;
	if (!skips) {
		item->addr |= (unsigned long)skip_rounds(age) <<
			      KSM_ITEM_SKIP_SHIFT;
		return false;
	}
	item->addr -= 1UL << KSM_ITEM_SKIP_SHIFT;
	ksm_count_add(KSM_PAGES_SKIPPED, 1);
	ksm_item_unlink(item);
	return true;
}

/* Pages gathered by one walk of the page tables (see scan_mm()). */
#define KSM_SCAN_BATCH	32U

struct anon_page_hit {
	struct folio *folio;
	struct page *page;
	unsigned long addr;
};

/*
 * One walk's hits. @next runs along the mm's items with the walk, for
 * skip_pending(): the first item not below the last address seen.
 * @domain is the mm's merge domain, read once per scan_mm().
 */
struct anon_page_hits {
	struct anon_page_hit hit[KSM_SCAN_BATCH];
	struct ksm_mm_slot *slot;
	struct ksm_rmap_item *next;
	u64 domain;
	unsigned int nr, max;
};

/* The folio of @page if KSM could take it: anonymous, ordinary memory. */
static struct folio *anon_folio(struct page *page)
{
	struct folio *folio = page ? page_folio(page) : NULL;

	if (folio && folio_test_anon(folio) && !folio_is_zone_device(folio))
		return folio;
	return NULL;
}

/*
 * Will the page at @addr, not a KSM page, need ksm_cmp_and_merge()? Not
 * if smart scan is going to skip it. A page without an item yet does.
 */
static bool needs_work(struct anon_page_hits *hits, unsigned long addr)
{
	struct ksm_rmap_item *item = hits->next;

	while (item && ksm_item_addr(item) < addr)
		item = item->next;
	hits->next = item;
	return !item || ksm_item_addr(item) != addr ||
	       !skip_pending(hits->slot, item);
}

/*
 * Record a hit with a reference on its folio (none for a page under
 * migration: @folio NULL); returns 1 to end the walk: when the batch is
 * full, at a THP (@last: the walk would step over the rest of it), or at
 * a page that will need ksm_cmp_and_merge() (see take_hits()). KSM pages
 * and pages that smart scan skips go on in the batch.
 */
static int take_hit(struct anon_page_hits *hits, struct folio *folio,
		    struct page *page, unsigned long addr, bool last)
{
	struct anon_page_hit *hit = &hits->hit[hits->nr++];

	if (folio)
		folio_get(folio);
	hit->folio = folio;
	hit->page = page;
	hit->addr = addr;
	return hits->nr == hits->max || last ||
	       (folio && !folio_test_ksm(folio) && needs_work(hits, addr));
}

/*
 * A pmd that maps a THP: its page at @addr is the hit (and the walk's
 * last). Returns -EAGAIN when the pmd stopped being a leaf meanwhile
 * (split under us).
 */
static int hit_in_huge_pmd(pmd_t *pmdp, unsigned long addr,
			   struct mm_walk *walk)
{
	spinlock_t *ptl = pmd_lock(walk->mm, pmdp);
	pmd_t pmdval = pmdp_get(pmdp);
	struct folio *folio;
	struct page *page;
	int ret = -EAGAIN;

	if (pmd_present(pmdval) && pmd_leaf(pmdval)) {
		page = vm_normal_page_pmd(walk->vma, addr, pmdval);
		folio = anon_folio(page);
		ret = folio ? take_hit(walk->private, folio,
				       page + ((addr & ~PMD_MASK) >> PAGE_SHIFT),
				       addr, true) : 0;
	}
	spin_unlock(ptl);
	return ret;
}

/*
 * The ptes under one pmd: each present anonymous page is a hit. A page
 * under migration is a hit without a page: it is still there, and its
 * item (perhaps on a stable node, which migration's rmap walk uses) must
 * not be freed as if the page had gone.
 */
static int hit_in_ptes(pmd_t *pmdp, unsigned long addr, unsigned long end,
		       struct mm_walk *walk)
{
	struct folio *folio;
	struct page *page;
	pte_t *first, *ptep;
	spinlock_t *ptl;		/* the pte table's lock */
	pte_t entry;
	int ret = 0;

	first = pte_offset_map_lock(walk->mm, pmdp, addr, &ptl);
	if (!first)
		return 0;
	__acquire(ptl);		/* sparse: a mapped table comes locked */
	for (ptep = first; addr < end && !ret; ptep++, addr += PAGE_SIZE) {
		entry = ptep_get(ptep);
		if (!pte_present(entry)) {
			if (!pte_none(entry) &&
			    is_migration_entry(pte_to_swp_entry(entry)))
				ret = take_hit(walk->private, NULL, NULL, addr,
					       false);
			continue;
		}
		page = vm_normal_page(walk->vma, addr, entry);
		folio = anon_folio(page);
		if (folio)
			ret = take_hit(walk->private, folio, page, addr, false);
	}
	pte_unmap_unlock(first, ptl);
	return ret;
}

/* Page walk callback: gather the anonymous pages of the range. */
static int anon_page_pmd_entry(pmd_t *pmdp, unsigned long addr,
			       unsigned long end, struct mm_walk *walk)
{
	pmd_t pmdval;
	int ret;

	if (ksm_mm_exiting(walk->mm))
		return 0;
	cond_resched();
	pmdval = pmdp_get_lockless(pmdp);
	if (!pmd_present(pmdval))
		return 0;
	if (IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) && pmd_leaf(pmdval)) {
		ret = hit_in_huge_pmd(pmdp, addr, walk);
		if (ret != -EAGAIN)
			return ret;
	}
	return hit_in_ptes(pmdp, addr, end, walk);
}

static const struct mm_walk_ops anon_page_walk_ops = {
	.pmd_entry = anon_page_pmd_entry,
	.walk_lock = PGWALK_RDLOCK,
};

static void round_start(void)
{
	ksm_advisor_round_start();
	trace_ksm_start_scan(ksm_count(KSM_FULL_SCANS), ksm_count(KSM_ITEMS));
	/*
	 * Pages sitting in per-cpu LRU batches carry an extra reference
	 * that makes the write-protect check fail: flush them once a round.
	 */
	lru_add_drain_all();
	ksm_unstable_reset();
}

/* A round is over: it counts in full_scans from now on. */
static void round_end(void)
{
	ksm_advisor_round_end();
	trace_ksm_stop_scan(ksm_count(KSM_FULL_SCANS), ksm_count(KSM_ITEMS));
	ksm_count_add(KSM_FULL_SCANS, 1);
}

/* A page to look at, with its item, as scan_mm() hands it out. */
struct ksm_scan_page {
	struct ksm_rmap_item *item;
	struct page *page;
};

/*
 * Go through the hits of one walk, advancing the cursor: each gets its
 * item (created if needed; items for addresses skipped on the way are
 * freed). A KSM page that its item already records needs nothing more and
 * is settled here, under the mmap_lock of the walk: that is most of the
 * pages of merged memory standing still. The first page that needs more
 * goes to *@out, and the hits after it are let go (the next walk finds
 * them again), so that ksmd never holds a reference to a page it is not
 * working on: merging its neighbour could need that page's refcount, and
 * migration its folio. Returns the pages dealt with (settled or handed
 * out), or -ENOMEM if an item could not be allocated.
 */
static int take_hits(struct ksm_mm_slot *slot, struct vm_area_struct *vma,
		     struct anon_page_hits *hits, struct ksm_scan_page *out)
{
	struct mm_struct *mm = slot->slot.mm;
	struct ksm_rmap_item *item;
	struct anon_page_hit *hit;
	unsigned int i, seen = 0;
	int err = 0;

	for (i = 0; i < hits->nr && !out->page; i++) {
		hit = &hits->hit[i];
		item = item_at(mm, ksm_cursor.pos, hit->addr);
		if (!item) {
			err = -ENOMEM;
			break;
		}
		ksm_cursor.pos = &item->next;
		ksm_cursor.addr = hit->addr + PAGE_SIZE;
		/*
		 * Under migration: keep the item and look next round; only
		 * an unstable link goes, since every linked item must be
		 * visited and unlinked before the next reset.
		 */
		if (!hit->folio) {
			ksm_unstable_remove_item(item);
			continue;
		}
		if (smart_skip(slot, hit->page, item)) {
			folio_put(hit->folio);
			continue;
		}
		seen++;
		if (ksm_item_up_to_date(hit->page, item, hits->domain)) {
			folio_put(hit->folio);
			continue;
		}
		flush_anon_page(vma, hit->page, hit->addr);
		flush_dcache_page(hit->page);
		out->item = item;
		out->page = hit->page;
	}
	for (; i < hits->nr; i++)
		if (hits->hit[i].folio)
			folio_put(hits->hit[i].folio);
	return err ? err : seen;
}

/*
 * Go through @slot's mm from the cursor on, under one mmap_lock, with one
 * page table walk per run of pages that need no ksm_cmp_and_merge() (KSM
 * pages already recorded, pages smart scan skips), until @max pages were
 * dealt with,
 * one page needing work is in *@out (referenced), or the mm has no more
 * (*@done set). Returns the pages dealt with (see take_hits()).
 */
static unsigned int scan_mm(struct ksm_mm_slot *slot, struct ksm_scan_page *out,
			    unsigned int max, bool *done)
{
	struct mm_struct *mm = slot->slot.mm;
	struct anon_page_hits hits;
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	unsigned int seen = 0;
	int found, got;

	*done = false;
	out->page = NULL;
	hits.slot = slot;
	hits.domain = ksm_mm_domain(mm);
	vma_iter_init(&vmi, mm, ksm_cursor.addr);
	for_each_vma(vmi, vma) {
		if (!(vma->vm_flags & VM_MERGEABLE))
			continue;
		if (ksm_cursor.addr < vma->vm_start)
			ksm_cursor.addr = vma->vm_start;
		if (!vma->anon_vma) {
			ksm_cursor.addr = vma->vm_end;
			continue;
		}
		while (ksm_cursor.addr < vma->vm_end) {
			if (ksm_mm_exiting(mm))
				goto finished;
			hits.nr = 0;
			hits.max = min(max - seen, KSM_SCAN_BATCH);
			hits.next = *ksm_cursor.pos;
			found = walk_page_range_vma(vma, ksm_cursor.addr,
						    vma->vm_end,
						    &anon_page_walk_ops, &hits);
			got = take_hits(slot, vma, &hits, out);
			if (got < 0)
				return seen;
			seen += got;
			if (out->page || seen == max)
				return seen;
			/* The walk went to the end: nothing more here. */
			if (found <= 0)
				ksm_cursor.addr = vma->vm_end;
		}
	}
finished:
	*done = true;
	return seen;
}

/*
 * The next pages, at most @max: returns how many were dealt with, *@out
 * holding the one (if any) that needs ksm_cmp_and_merge(); 0 at the end
 * of a round, when nothing is registered, or when memory for an item ran
 * out.
 */
static unsigned int next_pages(struct ksm_scan_page *out, unsigned int max)
{
	struct ksm_mm_slot *slot = ksm_cursor.slot;
	struct mm_struct *mm;
	unsigned int seen;
	bool done, drop;

	out->page = NULL;
	if (no_mm_registered())
		return 0;

	if (slot == &ksm_mm_head) {
		round_start();
		spin_lock(&ksm_mmlist_lock);
		slot = next_slot(slot);
		ksm_cursor.slot = slot;
		spin_unlock(&ksm_mmlist_lock);
		/* The last mm may have left since the test above. */
		if (slot == &ksm_mm_head)
			return 0;
		ksm_cursor.addr = 0;
		ksm_cursor.pos = &slot->items;
	}

	for (;;) {
		mm = slot->slot.mm;
		mmap_read_lock(mm);
		if (!ksm_mm_exiting(mm)) {
			seen = scan_mm(slot, out, max, &done);
			/* Pages dealt with: the mm's end is seen to next time. */
			if (seen || !done) {
				mmap_read_unlock(mm);
				return seen;
			}
		}
		if (ksm_mm_exiting(mm)) {
			/* Drop every item of an exiting mm. */
			ksm_cursor.addr = 0;
			ksm_cursor.pos = &slot->items;
		}
		/* Items past the last page found have no page any more. */
		free_items_from(ksm_cursor.pos);

		/*
		 * No VM_MERGEABLE vma left (or the mm is exiting): forget
		 * the mm, as __ksm_exit() would. The mm is unlocked before
		 * the list lock: with its slot still hashed, __ksm_exit()
		 * may free it as soon as that lock is dropped.
		 */
		spin_lock(&ksm_mmlist_lock);
		ksm_cursor.slot = next_slot(slot);
		drop = !ksm_cursor.addr;
		if (drop)
			forget_slot(slot, false);
		mmap_read_unlock(mm);
		spin_unlock(&ksm_mmlist_lock);
		if (drop)
			mmdrop(mm);

		slot = ksm_cursor.slot;
		if (slot == &ksm_mm_head)
			break;
		ksm_cursor.addr = 0;
		ksm_cursor.pos = &slot->items;
	}

	round_end();
	return 0;
}

/*
 * One batch of ksmd's work, under ksm_thread_mutex: the second looks that
 * are due (at most @budget of them), then up to @budget pages from the
 * cursor on, fewer when a round ends or the thread is being frozen.
 */
static void scan_batch(unsigned int budget)
{
	struct ksm_scan_page next;
	unsigned long now = jiffies;
	struct ksm_rmap_item *item;
	unsigned int seen, nr;
	struct page *page;

	for (seen = 0; seen < budget && !freezing(current); seen++) {
		item = ksm_recheck_next_due(now);
		if (!item)
			break;
		/* NULL if the page went away: the next round frees the item. */
		page = ksm_item_page(item);
		if (page) {
			ksm_cmp_and_merge(page, item, true);
			put_page(page);
		}
		cond_resched();
	}
	for (seen = 0; seen < budget && !freezing(current); seen += nr) {
		nr = next_pages(&next, budget - seen);
		if (!nr)
			break;
		if (next.page) {
			ksm_cmp_and_merge(next.page, next.item, false);
			put_page(next.page);
		}
		cond_resched();
	}
	ksm_count_add(KSM_PAGES_SCANNED, seen);
}

/*
 * Memory going offline: set (under ksm_thread_mutex) from the moment a
 * range starts going offline until its stale stable nodes are pruned or
 * the offline is cancelled. Nothing walks the stable trees meanwhile.
 */
static int ksm_offlining;
static DECLARE_WAIT_QUEUE_HEAD(ksm_offline_wait);

/**
 * ksm_lock_trees() - take ksm_thread_mutex to walk the stable trees
 *
 * Like mutex_lock(&ksm_thread_mutex), but waits until no memory range is
 * on its way offline: a stale node may name a pfn whose struct page is
 * being torn down until the offline notifier has pruned it.
 */
void ksm_lock_trees(void)
{
	mutex_lock(&ksm_thread_mutex);
	while (ksm_offlining) {
		mutex_unlock(&ksm_thread_mutex);
		wait_event(ksm_offline_wait, !READ_ONCE(ksm_offlining));
		mutex_lock(&ksm_thread_mutex);
	}
}

/**
 * ksm_unlock_trees() - the end of ksm_lock_trees()
 */
void ksm_unlock_trees(void)
{
	mutex_unlock(&ksm_thread_mutex);
}

/* ksmd has work when run is 1, some mm is registered and no offline runs. */
static bool ksmd_has_work(void)
{
	return READ_ONCE(ksm_knobs.run) == KSM_RUN_MERGE &&
	       !READ_ONCE(ksm_offlining) && !no_mm_registered();
}

static int ksmd_fn(void *unused)
{
	unsigned int ms;

	set_freezable();
	set_user_nice(current, 5);

	while (!kthread_should_stop()) {
		if (!ksmd_has_work()) {
			wait_event_freezable(ksm_thread_wait,
					     ksmd_has_work() ||
					     kthread_should_stop());
			continue;
		}
		mutex_lock(&ksm_thread_mutex);
		if (ksmd_has_work())
			scan_batch(READ_ONCE(ksm_knobs.pages_to_scan));
		mutex_unlock(&ksm_thread_mutex);

		/* A write to sleep_millisecs ends the nap early. */
		ms = READ_ONCE(ksm_knobs.sleep_ms);
		wait_event_freezable_timeout(ksm_iter_wait,
					     READ_ONCE(ksm_knobs.sleep_ms) != ms,
					     msecs_to_jiffies(ms));
	}
	return 0;
}

#ifdef CONFIG_MEMORY_HOTREMOVE
/*
 * Offlining migrates every KSM folio out of the range (rmap and
 * folio_migrate_ksm() need no help for that); what KSM must do is keep its
 * own walks away from the range's struct pages until the nodes of freed
 * folios there are gone.
 */
static int ksm_offline_notify(struct notifier_block *nb, unsigned long action,
			      void *arg)
{
	struct memory_notify *mn = arg;

	switch (action) {
	case MEM_GOING_OFFLINE:
		/* Waits for ksmd's current batch to end. */
		mutex_lock(&ksm_thread_mutex);
		ksm_offlining++;
		mutex_unlock(&ksm_thread_mutex);
		break;
	case MEM_OFFLINE:
	case MEM_CANCEL_OFFLINE:
		mutex_lock(&ksm_thread_mutex);
		if (action == MEM_OFFLINE)
			ksm_stable_prune_pfns(mn->start_pfn,
					      mn->start_pfn + mn->nr_pages);
		/* A cancel may come without the matching MEM_GOING_OFFLINE. */
		if (ksm_offlining)
			ksm_offlining--;
		mutex_unlock(&ksm_thread_mutex);
		wake_up_all(&ksm_offline_wait);
		wake_up_interruptible(&ksm_thread_wait);
		break;
	}
	return NOTIFY_OK;
}
#endif

/**
 * ksm_scan_init() - create the slab cache of mm slots, start ksmd (and
 * watch memory going offline)
 *
 * Return: 0, -ENOMEM or the error of kthread_run().
 */
int __init ksm_scan_init(void)
{
	struct task_struct *t;

	ksm_slot_cache = KMEM_CACHE(ksm_mm_slot, 0);
	if (!ksm_slot_cache)
		return -ENOMEM;
	t = kthread_run(ksmd_fn, NULL, "ksmd");
	if (IS_ERR(t))
		return PTR_ERR(t);
#ifdef CONFIG_MEMORY_HOTREMOVE
	hotplug_memory_notifier(ksm_offline_notify, KSM_CALLBACK_PRI);
#endif
	return 0;
}

/*
 * An unmerge that stopped at @slot leaves the items of that slot and of
 * the slots after it as they were, some linked in this round's unstable
 * tree and some in the last round's, and the cursor starts a new round.
 * An unstable item knows its round only by one bit of parity, which is
 * right only if every linked item is visited again before the next reset
 * of the trees; a round that starts over breaks that. So unlink them all
 * here, and empty the trees at once: nothing may search them with items
 * that no longer say they are linked. The slots before @slot have no
 * items left. The cursor walks along so that __ksm_exit() leaves the slot
 * being worked on alone.
 */
static void abandon_unstable_from(struct ksm_mm_slot *slot)
{
	struct ksm_rmap_item *item;

	while (slot != &ksm_mm_head) {
		for (item = slot->items; item; item = item->next) {
			ksm_unstable_forget_item(item);
			cond_resched();
		}
		spin_lock(&ksm_mmlist_lock);
		slot = next_slot(slot);
		ksm_cursor.slot = slot;
		spin_unlock(&ksm_mmlist_lock);
	}
	ksm_unstable_reset();
}

/**
 * ksm_unmerge_all() - unshare all KSM pages and free all items (run = 2)
 *
 * Called under ksm_lock_trees(). mm slots stay registered; those of
 * exiting mms are freed.
 *
 * Return: 0, or the error that stopped the unmerge (-ENOMEM, -ERESTARTSYS).
 */
int ksm_unmerge_all(void)
{
	struct ksm_mm_slot *slot;
	struct vm_area_struct *vma;
	struct mm_struct *mm;
	bool drop;
	int err = 0;

	spin_lock(&ksm_mmlist_lock);
	slot = next_slot(&ksm_mm_head);
	ksm_cursor.slot = slot;
	spin_unlock(&ksm_mmlist_lock);

	while (slot != &ksm_mm_head) {
		VMA_ITERATOR(vmi, slot->slot.mm, 0);

		mm = slot->slot.mm;
		mmap_read_lock(mm);
		if (!ksm_mm_exiting(mm)) {
			for_each_vma(vmi, vma) {
				if (!(vma->vm_flags & VM_MERGEABLE) ||
				    !vma->anon_vma)
					continue;
				err = ksm_unmerge_range(vma, vma->vm_start,
							vma->vm_end, false);
				if (err)
					goto failed;
			}
		}
		free_items_from(&slot->items);
		mmap_read_unlock(mm);
		/* Full scans count from 0 again: so must fresh rounds. */
		WRITE_ONCE(slot->fresh_until, 0);

		spin_lock(&ksm_mmlist_lock);
		ksm_cursor.slot = next_slot(slot);
		drop = ksm_mm_exiting(mm);
		if (drop)
			forget_slot(slot, true);
		spin_unlock(&ksm_mmlist_lock);
		if (drop)
			mmdrop(mm);
		slot = ksm_cursor.slot;
	}

	/* Unmapped KSM folios may linger; they are not an error here. */
	ksm_stable_remove_all();
	ksm_unstable_reset();
	WRITE_ONCE(ksm_counters[KSM_FULL_SCANS], 0);
	return 0;

failed:
	mmap_read_unlock(mm);
	abandon_unstable_from(slot);
	spin_lock(&ksm_mmlist_lock);
	ksm_cursor.slot = &ksm_mm_head;
	spin_unlock(&ksm_mmlist_lock);
	return err;
}

#ifdef CONFIG_KSM_KUNIT_TEST
#include "tests/scan-kunit.h"
#endif
