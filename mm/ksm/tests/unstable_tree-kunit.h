/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the key ordering used by the KSM trees.
 * Included from unstable_tree.c when CONFIG_KSM_KUNIT_TEST is set.
 */
#ifndef _KSM_UNSTABLE_TREE_KUNIT_H
#define _KSM_UNSTABLE_TREE_KUNIT_H

#include <kunit/test.h>
#include <linux/random.h>

static void ksm_test_key_cmp(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, ksm_key_cmp(1, 1), 0);
	KUNIT_EXPECT_LT(test, ksm_key_cmp(1, 2), 0);
	KUNIT_EXPECT_GT(test, ksm_key_cmp(2, 1), 0);
	/* Unsigned order, also across the sign bit. */
	KUNIT_EXPECT_LT(test, ksm_key_cmp(0x7fffffffffffffffULL,
					  0x8000000000000000ULL), 0);
	KUNIT_EXPECT_GT(test, ksm_key_cmp(U64_MAX, 0), 0);
}

/* Link @item into @root by its checksum, as the unstable tree does. */
static void ksm_test_link(struct rb_root *root, struct ksm_rmap_item *item)
{
	struct rb_node **link = &root->rb_node, *parent = NULL;
	struct ksm_rmap_item *other;

	while (*link) {
		parent = *link;
		other = rb_entry(parent, struct ksm_rmap_item, rb);
		link = ksm_key_cmp(item->csum, other->csum) < 0 ?
			&parent->rb_left : &parent->rb_right;
	}
	rb_link_node(&item->rb, parent, link);
	rb_insert_color(&item->rb, root);
}

static struct ksm_rmap_item *ksm_test_find(struct rb_root *root, u64 key)
{
	struct rb_node *cur = root->rb_node;
	struct ksm_rmap_item *item;
	int cmp;

	while (cur) {
		item = rb_entry(cur, struct ksm_rmap_item, rb);
		cmp = ksm_key_cmp(key, item->csum);
		if (!cmp)
			return item;
		cur = cmp < 0 ? cur->rb_left : cur->rb_right;
	}
	return NULL;
}

static void ksm_test_tree_order(struct kunit *test)
{
	const int n = 200;
	struct ksm_rmap_item *items;
	struct rb_root root = RB_ROOT;
	struct rb_node *cur;
	u64 prev = 0;
	int i, seen = 0;

	items = kunit_kcalloc(test, n, sizeof(*items), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, items);
	for (i = 0; i < n; i++) {
		/* Scrambled keys, with some duplicates. */
		items[i].csum = ((u64)(i % 150) * 0x9e3779b97f4a7c15ULL);
		ksm_test_link(&root, &items[i]);
	}
	for (cur = rb_first(&root); cur; cur = rb_next(cur)) {
		struct ksm_rmap_item *it = rb_entry(cur, struct ksm_rmap_item,
						    rb);

		if (seen)
			KUNIT_EXPECT_LE(test, prev, it->csum);
		prev = it->csum;
		seen++;
	}
	KUNIT_EXPECT_EQ(test, seen, n);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_NOT_NULL(test, ksm_test_find(&root, items[i].csum));
	KUNIT_EXPECT_NULL(test, ksm_test_find(&root, 1));

	/* Erase half; the rest must still be found. */
	for (i = 0; i < n; i += 2)
		rb_erase(&items[i].rb, &root);
	for (i = 1; i < n; i += 2)
		KUNIT_EXPECT_NOT_NULL(test, ksm_test_find(&root, items[i].csum));
}

static void ksm_test_item_layout(struct kunit *test)
{
	/* The item must leave the low address bits to the flags. */
	KUNIT_EXPECT_LT(test, KSM_ITEM_SKIP_MASK, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, KSM_ITEM_AGE_MASK & KSM_ITEM_SKIP_MASK, 0UL);
	KUNIT_EXPECT_LE(test, sizeof(struct ksm_rmap_item), 64UL);
}

static struct kunit_case ksm_tree_cases[] = {
	KUNIT_CASE(ksm_test_key_cmp),
	KUNIT_CASE(ksm_test_tree_order),
	KUNIT_CASE(ksm_test_item_layout),
	{}
};

static struct kunit_suite ksm_tree_suite = {
	.name = "ksm_tree",
	.test_cases = ksm_tree_cases,
};

kunit_test_suite(ksm_tree_suite);

#endif /* _KSM_UNSTABLE_TREE_KUNIT_H */
