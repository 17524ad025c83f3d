/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the content key and the item layout.
 * Included from items.c when CONFIG_KSM_KUNIT_TEST is set.
 */
#ifndef _KSM_ITEMS_KUNIT_H
#define _KSM_ITEMS_KUNIT_H

#include <kunit/test.h>

static void ksm_test_checksum(struct kunit *test)
{
	struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	u64 zero, again;
	u8 *p;

	KUNIT_ASSERT_NOT_NULL(test, page);
	zero = ksm_checksum(page);
	KUNIT_EXPECT_EQ(test, zero, ksm_checksum(ZERO_PAGE(0)));
	p = kmap_local_page(page);
	p[PAGE_SIZE - 1] = 1;
	kunmap_local(p);
	again = ksm_checksum(page);
	KUNIT_EXPECT_NE(test, zero, again);
	KUNIT_EXPECT_EQ(test, again, ksm_checksum(page));
	__free_page(page);
}

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

static void ksm_test_item_layout(struct kunit *test)
{
	/* The item must leave the low address bits to the flags. */
	KUNIT_EXPECT_LT(test, KSM_ITEM_SKIP_MASK, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, KSM_ITEM_AGE_MASK & KSM_ITEM_SKIP_MASK, 0UL);
	KUNIT_EXPECT_LE(test, sizeof(struct ksm_rmap_item), 64UL);
}

/* A real item: allocated, counted, freed, uncounted. */
static void ksm_test_item_alloc(struct kunit *test)
{
	unsigned long before = ksm_count(KSM_ITEMS);
	struct mm_struct *mm = current->mm ? current->mm : &init_mm;
	unsigned long mm_items = mm->ksm_rmap_items;
	struct ksm_rmap_item *item;

	item = ksm_item_alloc(mm, 0x1000);
	KUNIT_ASSERT_NOT_NULL(test, item);
	KUNIT_EXPECT_EQ(test, ksm_item_addr(item), 0x1000UL);
	KUNIT_EXPECT_PTR_EQ(test, item->mm, mm);
	KUNIT_EXPECT_EQ(test, item->csum, 0ULL);
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_ITEMS), before + 1);
	KUNIT_EXPECT_EQ(test, mm->ksm_rmap_items, mm_items + 1);
	ksm_item_free(item);
	KUNIT_EXPECT_EQ(test, ksm_count(KSM_ITEMS), before);
	KUNIT_EXPECT_EQ(test, mm->ksm_rmap_items, mm_items);
}

static struct kunit_case ksm_items_cases[] = {
	KUNIT_CASE(ksm_test_checksum),
	KUNIT_CASE(ksm_test_key_cmp),
	KUNIT_CASE(ksm_test_item_layout),
	KUNIT_CASE(ksm_test_item_alloc),
	{}
};

static struct kunit_suite ksm_items_suite = {
	.name = "ksm_items",
	.test_cases = ksm_items_cases,
};

kunit_test_suite(ksm_items_suite);

#endif /* _KSM_ITEMS_KUNIT_H */
