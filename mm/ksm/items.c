// SPDX-License-Identifier: GPL-2.0
/*
 * What KSM knows of one page: its content key, the rmap item that
 * remembers it between scans, and the way back from an item to the page
 * its address maps now.
 */
#include <linux/mm.h>
#include <linux/pagewalk.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/xxhash.h>

#include "ksm_internal.h"

static struct kmem_cache *ksm_item_cache;

/**
 * ksm_items_init() - create the slab cache of rmap items
 *
 * Return: 0 or -ENOMEM.
 */
int __init ksm_items_init(void)
{
	ksm_item_cache = KMEM_CACHE(ksm_rmap_item, 0);
	return ksm_item_cache ? 0 : -ENOMEM;
}

/**
 * ksm_checksum() - the 64-bit content key of a page
 * @page: the page
 *
 * Return: xxhash64 of the page's bytes, seed 0.
 */
u64 ksm_checksum(struct page *page)
{
	void *kaddr = kmap_local_page(page);
	u64 sum = xxh64(kaddr, PAGE_SIZE, 0);

	kunmap_local(kaddr);
	return sum;
}

/**
 * ksm_item_alloc() - a new item for @addr in @mm
 * @mm: the mm
 * @addr: page-aligned address
 *
 * Return: the item (not yet on any list) or NULL.
 */
struct ksm_rmap_item *ksm_item_alloc(struct mm_struct *mm, unsigned long addr)
{
	struct ksm_rmap_item *item;

	item = kmem_cache_zalloc(ksm_item_cache,
				 GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN);
	if (!item)
		return NULL;
	item->mm = mm;
	item->addr = addr;
	ksm_count_add(KSM_ITEMS, 1);
	mm->ksm_rmap_items++;
	return item;
}

/**
 * ksm_item_free() - free an unlinked item
 * @item: the item
 */
void ksm_item_free(struct ksm_rmap_item *item)
{
	ksm_count_add(KSM_ITEMS, -1);
	item->mm->ksm_rmap_items--;
	kmem_cache_free(ksm_item_cache, item);
}

/**
 * ksm_node_roots() - one red-black tree root per NUMA node
 * @first: the root of the single tree so far, kept as node 0's
 *
 * For merge_across_nodes = 0, which gives the stable and the unstable
 * trees one tree per node. The other roots start empty (RB_ROOT is all
 * zeroes).
 *
 * Return: the kcalloc()ed array, kept for good by the caller, or NULL.
 */
struct rb_root *ksm_node_roots(struct rb_root first)
{
	struct rb_root *roots = kcalloc(nr_node_ids, sizeof(*roots),
					GFP_KERNEL);

	if (roots)
		roots[0] = first;
	return roots;
}

/**
 * ksm_find_vma() - the mergeable vma covering @addr, if any
 * @mm: the mm, mmap_lock held
 * @addr: the address
 *
 * Return: the vma if it is VM_MERGEABLE and has an anon_vma, else NULL.
 */
struct vm_area_struct *ksm_find_vma(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	if (ksm_mm_exiting(mm))
		return NULL;
	vma = vma_lookup(mm, addr);
	if (!vma || !vma->anon_vma || !(vma->vm_flags & VM_MERGEABLE))
		return NULL;
	return vma;
}

/**
 * ksm_item_page() - the anonymous page an item's address maps now
 * @item: an rmap item (usually one found in the unstable tree)
 *
 * Return: the page, with a reference on its folio, or NULL.
 */
struct page *ksm_item_page(struct ksm_rmap_item *item)
{
	unsigned long addr = ksm_item_addr(item);
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;
	struct page *page = NULL;
	struct folio_walk fw;
	struct folio *folio;

	mmap_read_lock(mm);
	vma = ksm_find_vma(mm, addr);
	if (vma) {
		folio = folio_walk_start(&fw, vma, addr, 0);
		if (folio) {
			if (folio_test_anon(folio) &&
			    !folio_is_zone_device(folio)) {
				folio_get(folio);
				page = fw.page;
			}
			folio_walk_end(&fw, vma);
		}
		if (page) {
			flush_anon_page(vma, page, addr);
			flush_dcache_page(page);
		}
	}
	mmap_read_unlock(mm);
	return page;
}

#ifdef CONFIG_KSM_KUNIT_TEST
#include "tests/items-kunit.h"
#endif
