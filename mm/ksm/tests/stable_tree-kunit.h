/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the stable tree: the sharing limit, the node layout, and
 * the real insert, search, chain and stale-node code run on a tree of the
 * test's own. Included from stable_tree.c when CONFIG_KSM_KUNIT_TEST is set.
 */
#ifndef _KSM_STABLE_TREE_KUNIT_H
#define _KSM_STABLE_TREE_KUNIT_H

#include <kunit/test.h>

static void ksm_test_can_share(struct kunit *test)
{
	struct ksm_stable_node node = { .kind = KSM_NODE_PLAIN };
	int saved = ksm_knobs.max_page_sharing;

	ksm_knobs.max_page_sharing = 4;
	node.nr_items = 0;
	KUNIT_EXPECT_FALSE(test, node_can_share(&node, 0));
	node.nr_items = 2;
	KUNIT_EXPECT_TRUE(test, node_can_share(&node, 0));
	KUNIT_EXPECT_TRUE(test, node_can_share(&node, 1));
	KUNIT_EXPECT_FALSE(test, node_can_share(&node, 2));
	node.nr_items = 3;
	KUNIT_EXPECT_TRUE(test, node_can_share(&node, 0));
	node.nr_items = 4;
	KUNIT_EXPECT_FALSE(test, node_can_share(&node, 0));
	ksm_knobs.max_page_sharing = saved;
}

static void ksm_test_node_layout(struct kunit *test)
{
	/* ->mapping carries the node with two tag bits below it. */
	KUNIT_EXPECT_GE(test, __alignof__(struct ksm_stable_node), 4UL);
	KUNIT_EXPECT_LE(test, sizeof(struct ksm_stable_node), 64UL);
}

/* A page of kernel memory filled with @fill. */
static struct page *test_page(struct kunit *test, u8 fill)
{
	struct page *page = alloc_page(GFP_KERNEL);
	void *p;

	KUNIT_ASSERT_NOT_NULL(test, page);
	p = kmap_local_page(page);
	memset(p, fill, PAGE_SIZE);
	kunmap_local(p);
	return page;
}

/* Make @page a KSM folio with a node in the tree, as a merge would. */
static struct ksm_stable_node *test_ksm_page(struct kunit *test,
					     struct page *page)
{
	struct folio *folio = page_folio(page);
	struct ksm_stable_node *node;

	folio_lock(folio);
	folio->mapping = (void *)PAGE_MAPPING_KSM;
	node = ksm_stable_insert(folio, 0);
	if (!node)
		folio->mapping = NULL;
	folio_unlock(folio);
	KUNIT_EXPECT_NOT_NULL(test, node);
	if (node) {
		KUNIT_EXPECT_PTR_EQ(test, ksm_folio_node(folio), node);
		KUNIT_EXPECT_EQ(test, node->kpfn, page_to_pfn(page));
	}
	return node;
}

/* @item maps @node's folio from now on. */
static void test_append(struct ksm_rmap_item *item, struct ksm_stable_node *node,
			struct anon_vma *av)
{
	struct folio *folio = pfn_folio(node->kpfn);

	atomic_inc(&av->refcount);
	item->anon_vma = av;
	folio_lock(folio);
	ksm_stable_append(item, node);
	folio_unlock(folio);
}

/* The folio a search for @page's content finds (its reference dropped). */
static struct folio *test_search(struct page *page, u64 csum)
{
	struct folio *folio = ksm_stable_search(page, csum, 0);

	if (!IS_ERR_OR_NULL(folio))
		folio_put(folio);
	return folio;
}

/*
 * The real stable tree code on a tree of the test's own: the roots are
 * swapped for the test's. That is not done under ksmd's mutex (taking it
 * from here would make this file call scan.c), so the test only runs
 * while KSM has no pages at all, as at boot.
 */
static void ksm_test_tree(struct kunit *test)
{
	unsigned long shared = ksm_count(KSM_PAGES_SHARED);
	unsigned long sharing = ksm_count(KSM_PAGES_SHARING);
	unsigned long chains = ksm_count(KSM_CHAINS);
	unsigned long dups = ksm_count(KSM_DUPS);
	int saved_sharing = ksm_knobs.max_page_sharing;
	int saved_across = ksm_knobs.merge_across_nodes;
	struct ksm_rmap_item *item[3];
	struct ksm_stable_node *na, *nd;
	struct rb_root root = RB_ROOT;
	struct rb_root *saved_roots;
	struct anon_vma av = {};
	struct page *pa, *pb, *pc, *pd;
	u64 x, y;
	int i;

	if (nr_roots != 1 || !RB_EMPTY_ROOT(stable_roots) ||
	    ksm_count(KSM_ITEMS))
		kunit_skip(test, "KSM is in use");
	atomic_set(&av.refcount, 1);
	pa = test_page(test, 'x');
	pb = test_page(test, 'x');
	pc = test_page(test, 'y');
	pd = test_page(test, 'x');
	x = ksm_checksum(pb);
	y = ksm_checksum(pc);
	for (i = 0; i < ARRAY_SIZE(item); i++) {
		item[i] = ksm_item_alloc(&init_mm, (i + 1) * PAGE_SIZE);
		KUNIT_ASSERT_NOT_NULL(test, item[i]);
	}
	saved_roots = stable_roots;
	stable_roots = &root;
	ksm_knobs.merge_across_nodes = 1;
	ksm_knobs.max_page_sharing = 2;

	/* A node with no mapping is not merged into. */
	na = test_ksm_page(test, pa);
	if (!na)
		goto out;
	KUNIT_EXPECT_EQ(test, na->kind, KSM_NODE_PLAIN);
	KUNIT_EXPECT_EQ(test, na->csum, x);
	KUNIT_EXPECT_PTR_EQ(test, root.rb_node, &na->rb);
	KUNIT_EXPECT_NULL(test, test_search(pb, x));

	/* With one, equal content is found, other content or keys not. */
	test_append(item[0], na, &av);
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_PAGES_SHARED), shared + 1);
	KUNIT_EXPECT_PTR_EQ(test, test_search(pb, x), page_folio(pa));
	KUNIT_EXPECT_NULL(test, test_search(pc, y));
	KUNIT_EXPECT_NULL(test, test_search(pb, x ^ 1));

	/* Full at max_page_sharing: nothing to merge into. */
	test_append(item[1], na, &av);
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_PAGES_SHARING), sharing + 1);
	KUNIT_EXPECT_NULL(test, test_search(pb, x));

	/* A second folio of that content: a chain of two dups. */
	nd = test_ksm_page(test, pd);
	if (!nd)
		goto out;
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_CHAINS), chains + 1);
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_DUPS), dups + 2);
	KUNIT_EXPECT_EQ(test, na->kind, KSM_NODE_DUP);
	KUNIT_EXPECT_EQ(test, nd->kind, KSM_NODE_DUP);
	KUNIT_EXPECT_PTR_EQ(test, na->chain, nd->chain);
	KUNIT_EXPECT_PTR_EQ(test, root.rb_node, &na->chain->rb);
	test_append(item[2], nd, &av);
	KUNIT_EXPECT_PTR_EQ(test, test_search(pb, x), page_folio(pd));

	/* An item leaving: the counters drop, it keeps the node's key. */
	ksm_stable_remove_item(item[1]);
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_PAGES_SHARING), sharing);
	KUNIT_EXPECT_FALSE(test, item[1]->addr & KSM_ITEM_STABLE);
	KUNIT_EXPECT_EQ(test, item[1]->csum, x);

	/*
	 * pd's folio stops being a KSM folio (as when freed): its dup is
	 * dropped on the next search, with its item, and the chain of one
	 * dup left becomes that plain node again.
	 */
	page_folio(pd)->mapping = NULL;
	KUNIT_EXPECT_PTR_EQ(test, test_search(pb, x), page_folio(pa));
	KUNIT_EXPECT_FALSE(test, item[2]->addr & KSM_ITEM_STABLE);
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_CHAINS), chains);
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_DUPS), dups);
	KUNIT_EXPECT_EQ(test, na->kind, KSM_NODE_PLAIN);
	KUNIT_EXPECT_PTR_EQ(test, root.rb_node, &na->rb);

	/* And the last one: the tree is empty, every pin given back. */
	page_folio(pa)->mapping = NULL;
	KUNIT_EXPECT_NULL(test, test_search(pb, x));
	KUNIT_EXPECT_TRUE(test, RB_EMPTY_ROOT(&root));
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_PAGES_SHARED), shared);
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_PAGES_SHARING), sharing);
	KUNIT_EXPECT_EQ(test, atomic_read(&av.refcount), 1);
out:
	/* After a failure too: every node left goes stale and is dropped. */
	page_folio(pa)->mapping = NULL;
	page_folio(pd)->mapping = NULL;
	for (i = 0; i < 4 && !RB_EMPTY_ROOT(&root); i++)
		test_search(pb, x);
	KUNIT_EXPECT_TRUE(test, RB_EMPTY_ROOT(&root));
	stable_roots = saved_roots;
	ksm_knobs.merge_across_nodes = saved_across;
	ksm_knobs.max_page_sharing = saved_sharing;
	for (i = 0; i < ARRAY_SIZE(item); i++)
		ksm_item_free(item[i]);
	__free_page(pa);
	__free_page(pb);
	__free_page(pc);
	__free_page(pd);
}

static struct kunit_case ksm_stable_cases[] = {
	KUNIT_CASE(ksm_test_can_share),
	KUNIT_CASE(ksm_test_node_layout),
	KUNIT_CASE(ksm_test_tree),
	{}
};

static struct kunit_suite ksm_stable_suite = {
	.name = "ksm_stable",
	.test_cases = ksm_stable_cases,
};

kunit_test_suite(ksm_stable_suite);

#endif /* _KSM_STABLE_TREE_KUNIT_H */
