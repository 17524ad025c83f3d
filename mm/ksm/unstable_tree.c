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
#include <linux/nodemask.h>
#include <linux/rbtree.h>
#include <linux/sched.h>

#include "ksm_internal.h"

/**
 * struct ksm_unstable - a set of unstable trees
 * @roots: the trees: one, or one per NUMA node once merge_across_nodes
 *         was 0
 * @nr_roots: how many @roots there are
 * @gen: bumped each time the trees are emptied. An item records the
 *       parity of the generation it was linked in: every linked item is
 *       looked at again (and unlinked) before the next reset, so one bit
 *       tells whether it is in the current trees or in forgotten ones.
 * @single: the one tree before per-node trees are needed
 */
struct ksm_unstable {
	struct rb_root *roots;
	int nr_roots;
	unsigned long gen;
	struct rb_root single;
};

/* ksmd's trees; the KUnit suite builds its own. */
static struct ksm_unstable ksmd_trees = {
	.roots = &ksmd_trees.single,
	.nr_roots = 1,
	.single = RB_ROOT,
};

static bool item_in_current_tree(const struct ksm_unstable *t,
				 const struct ksm_rmap_item *item)
{
	bool odd = item->addr & KSM_ITEM_ROUND;

	return odd == (t->gen & 1);
}

/*
 * Items do not record which tree (NUMA node) they are in: climb to the
 * top of the item's tree and find the root that holds it.
 */
static struct rb_root *item_root(struct ksm_unstable *t,
				 struct ksm_rmap_item *item)
{
	struct rb_node *top = &item->rb, *up;
	int nid;

	while ((up = rb_parent(top)))
		top = up;
	for (nid = 0; nid < t->nr_roots; nid++)
		if (t->roots[nid].rb_node == top)
			return t->roots + nid;
	return NULL;
}

static void remove_item(struct ksm_unstable *t, struct ksm_rmap_item *item)
{
	struct rb_root *root;

	if (!(item->addr & KSM_ITEM_UNSTABLE))
		return;
	if (item_in_current_tree(t, item)) {
		root = item_root(t, item);
		if (!WARN_ON_ONCE(!root))
			rb_erase(&item->rb, root);
	}
	ksm_count_add(KSM_PAGES_UNSHARED, -1);
	item->addr &= ~(KSM_ITEM_UNSTABLE | KSM_ITEM_ROUND);
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
	remove_item(&ksmd_trees, item);
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
	ksm_count_add(KSM_PAGES_UNSHARED, -1);
	item->addr &= ~(KSM_ITEM_UNSTABLE | KSM_ITEM_ROUND);
}

static void reset(struct ksm_unstable *t)
{
	int nid;

	for (nid = 0; nid < t->nr_roots; nid++)
		t->roots[nid] = RB_ROOT;
	t->gen++;
}

/**
 * ksm_unstable_reset() - forget the unstable trees (start of a round)
 */
void ksm_unstable_reset(void)
{
	reset(&ksmd_trees);
}

/**
 * ksm_unstable_trees_per_node() - have one unstable tree per NUMA node
 *
 * For merge_across_nodes = 0: the roots are allocated on the first call
 * and kept (the items already linked stay in the first one).
 *
 * Return: 0 or -ENOMEM.
 */
int ksm_unstable_trees_per_node(void)
{
	struct ksm_unstable *t = &ksmd_trees;
	struct rb_root *roots;

	if (t->nr_roots == nr_node_ids)
		return 0;
	roots = ksm_node_roots(t->single);
	if (!roots)
		return -ENOMEM;
	t->roots = roots;
	t->nr_roots = nr_node_ids;
	return 0;
}

/*
 * Find a partner for @page in @t, or link @item there. See
 * ksm_unstable_search_insert().
 */
static struct ksm_rmap_item *search_insert(struct ksm_unstable *t,
					   struct ksm_rmap_item *item,
					   struct page *page, u64 domain,
					   struct page **tree_page)
{
	int nid = ksm_tree_of_pfn(page_to_pfn(page));
	struct rb_root *root = t->roots + nid;
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
		if (!READ_ONCE(ksm_knobs.merge_across_nodes) &&
		    page_to_nid(opage) != nid) {
			/* Migrated since linked; next round sorts it out. */
			put_page(opage);
			return NULL;
		}
		*tree_page = opage;
		return other;
	}

	item->addr |= KSM_ITEM_UNSTABLE;
	if (t->gen & 1)
		item->addr |= KSM_ITEM_ROUND;
	else
		item->addr &= ~KSM_ITEM_ROUND;
	rb_link_node(&item->rb, parent, link);
	rb_insert_color(&item->rb, root);
	ksm_count_add(KSM_PAGES_UNSHARED, 1);
	return NULL;
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
	return search_insert(&ksmd_trees, item, page, domain, tree_page);
}

#ifdef CONFIG_KSM_KUNIT_TEST
#include "tests/unstable_tree-kunit.h"
#endif
