// SPDX-License-Identifier: GPL-2.0
/*
 * The unstable trees: pages whose checksum did not change between two
 * scans, waiting for a partner of equal content.
 *
 * The pages are not write-protected, so their content can change at any
 * time. The tree is therefore ordered by the checksum *recorded* in the
 * item when it was linked, which does not change while it is linked: the
 * shape of the tree stays valid whatever the pages do. Content is only
 * compared between pages with equal recorded checksums (a hit, or a rare
 * hash collision), and that comparison only decides which way to go among
 * equal keys. The trees are emptied at the start of every round.
 */
#include <linux/mm.h>
#include <linux/rbtree.h>
#include <linux/sched.h>

#include "ksm_internal.h"

/**
 * ksm_key_cmp() - order two 64-bit content keys
 * @a: first key
 * @b: second key
 *
 * Return: negative, zero or positive as @a is below, equal to or above @b.
 */
int ksm_key_cmp(u64 a, u64 b)
{
	if (a == b)
		return 0;
	return a < b ? -1 : 1;
}

/*
 * Bumped each time the trees are emptied. An item records the parity of
 * the generation it was linked in: every linked item is looked at again
 * (and unlinked) before the next reset, so one bit tells whether it is in
 * the current trees or in forgotten ones.
 */
static unsigned long ksm_unstable_gen;

static bool item_in_current_tree(const struct ksm_rmap_item *item)
{
	bool odd = item->addr & KSM_ITEM_ROUND;

	return odd == (ksm_unstable_gen & 1);
}

/*
 * Items do not record which tree (NUMA node) they are in: climb to the
 * top of the item's tree and find the root that holds it.
 */
static struct rb_root *item_root(struct ksm_rmap_item *item)
{
	struct rb_node *top = &item->rb, *up;
	int nid;

	while ((up = rb_parent(top)))
		top = up;
	for (nid = 0; nid < ksm_nr_roots; nid++)
		if (ksm_unstable_roots[nid].rb_node == top)
			return ksm_unstable_roots + nid;
	return NULL;
}

/**
 * ksm_unstable_remove_item() - unlink an item from the unstable tree
 * @item: any item; nothing happens unless it is KSM_ITEM_UNSTABLE
 *
 * Items linked in an earlier round need no erase: that tree was dropped
 * wholesale.
 */
void ksm_unstable_remove_item(struct ksm_rmap_item *item)
{
	struct rb_root *root;

	if (!(item->addr & KSM_ITEM_UNSTABLE))
		return;
	if (item_in_current_tree(item)) {
		root = item_root(item);
		if (!WARN_ON_ONCE(!root))
			rb_erase(&item->rb, root);
	}
	ksm_pages_unshared--;
	item->addr &= ~(KSM_ITEM_UNSTABLE | KSM_ITEM_ROUND);
}

/**
 * ksm_unstable_forget_item() - clear an item's unstable link without erase
 * @item: any item; nothing happens unless it is KSM_ITEM_UNSTABLE
 *
 * For a caller that empties the trees right after (ksm_unstable_reset()),
 * so that the tree the item was linked in is never walked again.
 */
void ksm_unstable_forget_item(struct ksm_rmap_item *item)
{
	if (!(item->addr & KSM_ITEM_UNSTABLE))
		return;
	ksm_pages_unshared--;
	item->addr &= ~(KSM_ITEM_UNSTABLE | KSM_ITEM_ROUND);
}

/**
 * ksm_unstable_reset() - forget the unstable trees (start of a round)
 */
void ksm_unstable_reset(void)
{
	int nid;

	for (nid = 0; nid < ksm_nr_roots; nid++)
		ksm_unstable_roots[nid] = RB_ROOT;
	ksm_unstable_gen++;
}

/**
 * ksm_unstable_search_insert() - find a partner for @page, or wait in tree
 * @item: the scanned page's item, unlinked, with the checksum just taken
 * @page: the scanned page (referenced)
 * @domain: the merge domain of @item's mm (domain.c)
 * @tree_page: on a match, the partner's page, referenced
 *
 * Items are ordered by key, then by the domain of their mm (read when
 * compared: a process may change cgroups during a round, which can only
 * make a match be missed), then by content.
 *
 * Return: the partner's item, or NULL (then @item may have been linked).
 */
struct ksm_rmap_item *ksm_unstable_search_insert(struct ksm_rmap_item *item,
						 struct page *page, u64 domain,
						 struct page **tree_page)
{
	int nid = ksm_tree_of_pfn(page_to_pfn(page));
	struct rb_root *root = ksm_unstable_roots + nid;
	struct rb_node **link = &root->rb_node, *parent = NULL;
	struct ksm_rmap_item *other;
	struct page *opage;
	int cmp;

	while (*link) {
		cond_resched();
		parent = *link;
		other = rb_entry(parent, struct ksm_rmap_item, rb);
		cmp = ksm_key_cmp(item->csum, other->csum);
		if (!cmp)
			cmp = ksm_key_cmp(domain, ksm_mm_domain(other->mm));
		if (cmp) {
			link = cmp < 0 ? &parent->rb_left : &parent->rb_right;
			continue;
		}
		opage = ksm_item_page(other);
		if (!opage)
			return NULL;	/* cannot order against it: try later */
		if (opage == page) {
			/* The same page reached through a fork. */
			put_page(opage);
			return NULL;
		}
		cmp = memcmp_pages(page, opage);
		if (cmp) {
			put_page(opage);
			link = cmp < 0 ? &parent->rb_left : &parent->rb_right;
			continue;
		}
		if (!ksm_merge_across_nodes && page_to_nid(opage) != nid) {
			/* Migrated since linked; next round sorts it out. */
			put_page(opage);
			return NULL;
		}
		*tree_page = opage;
		return other;
	}

	item->addr |= KSM_ITEM_UNSTABLE;
	if (ksm_unstable_gen & 1)
		item->addr |= KSM_ITEM_ROUND;
	else
		item->addr &= ~KSM_ITEM_ROUND;
	rb_link_node(&item->rb, parent, link);
	rb_insert_color(&item->rb, root);
	ksm_pages_unshared++;
	return NULL;
}

#ifdef CONFIG_KSM_KUNIT_TEST
#include "tests/unstable_tree-kunit.h"
#endif
