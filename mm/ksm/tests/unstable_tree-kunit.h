/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the unstable tree code on a tree set of their own.
 * Included from unstable_tree.c when CONFIG_KSM_KUNIT_TEST is set.
 *
 * The keys are all different, so no content is ever compared and the
 * items need no mm: what is tested is the ordering, the linking, the
 * unlinking and the generation bit that makes a reset free.
 */
#ifndef _KSM_UNSTABLE_TREE_KUNIT_H
#define _KSM_UNSTABLE_TREE_KUNIT_H

#include <kunit/test.h>

#define KSM_TEST_ITEMS	200

static void ksm_test_tree_init(struct ksm_unstable *t)
{
	t->single = RB_ROOT;
	t->roots = &t->single;
	t->nr_roots = 1;
	t->gen = 0;
}

static int ksm_test_tree_count(struct ksm_unstable *t, struct kunit *test)
{
	struct ksm_rmap_item *it;
	struct rb_node *cur;
	u64 prev = 0;
	int seen = 0;

	for (cur = rb_first(t->roots); cur; cur = rb_next(cur)) {
		it = rb_entry(cur, struct ksm_rmap_item, rb);
		if (seen)
			KUNIT_EXPECT_LT(test, prev, it->csum);
		prev = it->csum;
		seen++;
	}
	return seen;
}

static void ksm_test_unstable_insert_remove(struct kunit *test)
{
	unsigned long unshared = ksm_count(KSM_PAGES_UNSHARED);
	struct page *page = alloc_page(GFP_KERNEL);
	struct ksm_rmap_item *items, *other;
	struct page *opage = NULL;
	struct ksm_unstable t;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, page);
	items = kunit_kcalloc(test, KSM_TEST_ITEMS, sizeof(*items), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, items);
	ksm_test_tree_init(&t);
	for (i = 0; i < KSM_TEST_ITEMS; i++) {
		/* Scrambled, distinct keys (an odd multiplier is a bijection). */
		items[i].csum = (u64)(i + 1) * 0x9e3779b97f4a7c15ULL;
		other = search_insert(&t, &items[i], page, 0, &opage);
		KUNIT_EXPECT_NULL(test, other);
		KUNIT_EXPECT_TRUE(test, items[i].addr & KSM_ITEM_UNSTABLE);
		KUNIT_EXPECT_FALSE(test, items[i].addr & KSM_ITEM_ROUND);
	}
	KUNIT_EXPECT_NULL(test, opage);
	KUNIT_EXPECT_EQ(test, ksm_test_tree_count(&t, test), KSM_TEST_ITEMS);
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_PAGES_UNSHARED),
			unshared + KSM_TEST_ITEMS);

	/* Unlink every other one: erased, uncounted, flags cleared. */
	for (i = 0; i < KSM_TEST_ITEMS; i += 2) {
		remove_item(&t, &items[i]);
		KUNIT_EXPECT_FALSE(test, items[i].addr & KSM_ITEM_UNSTABLE);
		/* A second unlink is a no-op. */
		remove_item(&t, &items[i]);
	}
	KUNIT_EXPECT_EQ(test, ksm_test_tree_count(&t, test), KSM_TEST_ITEMS / 2);
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_PAGES_UNSHARED),
			unshared + KSM_TEST_ITEMS / 2);

	/*
	 * A reset drops the tree whole; the items still linked to it are
	 * then unlinked without an erase (their tree is not walked).
	 */
	reset(&t);
	KUNIT_EXPECT_EQ(test, ksm_test_tree_count(&t, test), 0);
	for (i = 1; i < KSM_TEST_ITEMS; i += 2) {
		KUNIT_EXPECT_FALSE(test, item_in_current_tree(&t, &items[i]));
		remove_item(&t, &items[i]);
		KUNIT_EXPECT_FALSE(test, items[i].addr & KSM_ITEM_UNSTABLE);
	}
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_PAGES_UNSHARED), unshared);

	/* Linked in the new generation: the parity bit follows it. */
	other = search_insert(&t, &items[0], page, 0, &opage);
	KUNIT_EXPECT_NULL(test, other);
	KUNIT_EXPECT_TRUE(test, items[0].addr & KSM_ITEM_ROUND);
	KUNIT_EXPECT_TRUE(test, item_in_current_tree(&t, &items[0]));
	KUNIT_EXPECT_PTR_EQ(test, item_root(&t, &items[0]), t.roots);
	remove_item(&t, &items[0]);
	KUNIT_EXPECT_EQ(test, ksm_test_tree_count(&t, test), 0);
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_PAGES_UNSHARED), unshared);
	__free_page(page);
}

static struct kunit_case ksm_unstable_cases[] = {
	KUNIT_CASE(ksm_test_unstable_insert_remove),
	{}
};

static struct kunit_suite ksm_unstable_suite = {
	.name = "ksm_unstable_tree",
	.test_cases = ksm_unstable_cases,
};

kunit_test_suite(ksm_unstable_suite);

#endif /* _KSM_UNSTABLE_TREE_KUNIT_H */
