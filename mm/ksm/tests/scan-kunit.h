/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of smart-scan pacing, and of the walk's look-ahead at it.
 * Included from scan.c when CONFIG_KSM_KUNIT_TEST is set.
 */
#ifndef _KSM_SCAN_KUNIT_H
#define _KSM_SCAN_KUNIT_H

#include <kunit/test.h>

static void ksm_test_skip_rounds(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, skip_rounds(3), 1U);
	KUNIT_EXPECT_EQ(test, skip_rounds(4), 2U);
	KUNIT_EXPECT_EQ(test, skip_rounds(5), 2U);
	KUNIT_EXPECT_EQ(test, skip_rounds(6), 4U);
	KUNIT_EXPECT_EQ(test, skip_rounds(8), 4U);
	KUNIT_EXPECT_EQ(test, skip_rounds(9), 8U);
	KUNIT_EXPECT_EQ(test, skip_rounds(KSM_ITEM_AGE_MAX), 8U);
	/* The largest skip count must fit its field. */
	KUNIT_EXPECT_LE(test, 8UL << KSM_ITEM_SKIP_SHIFT, KSM_ITEM_SKIP_MASK);
}

/*
 * skip_pending(), which the page walk asks, must say what smart_skip()
 * then does, and change nothing itself.
 */
static void ksm_test_skip_pending(struct kunit *test)
{
	unsigned long age, skips, stable, before;
	struct page *page = alloc_page(GFP_KERNEL);
	unsigned long skipped = ksm_count(KSM_PAGES_SKIPPED);
	bool saved = ksm_knobs.smart_scan;
	struct ksm_mm_slot slot = {};
	struct ksm_rmap_item *item;
	bool pending;
	int on, fresh;
	unsigned int n;

	KUNIT_ASSERT_NOT_NULL(test, page);
	item = ksm_item_alloc(&init_mm, PAGE_SIZE);
	if (!item)
		__free_page(page);
	KUNIT_ASSERT_NOT_NULL(test, item);
	/* Every state: smart_scan, fresh mm, stable, age and skip count. */
	for (n = 0; n < 2 * 2 * 2 * (KSM_ITEM_AGE_MAX + 1) * 9; n++) {
		on = n & 1;
		fresh = (n >> 1) & 1;
		stable = (n >> 2) & 1;
		age = (n >> 3) % (KSM_ITEM_AGE_MAX + 1);
		skips = (n >> 3) / (KSM_ITEM_AGE_MAX + 1);
		ksm_knobs.smart_scan = on;
		slot.fresh_until = ksm_count(KSM_FULL_SCANS) + fresh;
		item->addr = PAGE_SIZE | (stable ? KSM_ITEM_STABLE : 0) |
			     age << KSM_ITEM_AGE_SHIFT |
			     skips << KSM_ITEM_SKIP_SHIFT;
		before = item->addr;
		pending = skip_pending(&slot, item);
		KUNIT_EXPECT_EQ(test, item->addr, before);
		/* A stable item must not go through smart_skip()'s unlink. */
		if (stable) {
			KUNIT_EXPECT_FALSE(test, pending);
			continue;
		}
		KUNIT_EXPECT_EQ_MSG(test, pending,
				    smart_skip(&slot, page, item),
				    "on %d fresh %d age %lu skips %lu",
				    on, fresh, age, skips);
	}
	ksm_knobs.smart_scan = saved;
	/* pages_skipped counted this test's skips: they were not real. */
	ksm_count_add(KSM_PAGES_SKIPPED, skipped - ksm_count(KSM_PAGES_SKIPPED));
	item->addr = PAGE_SIZE;
	ksm_item_free(item);
	__free_page(page);
}

static struct kunit_case ksm_scan_cases[] = {
	KUNIT_CASE(ksm_test_skip_rounds),
	KUNIT_CASE(ksm_test_skip_pending),
	{}
};

static struct kunit_suite ksm_scan_suite = {
	.name = "ksm_scan",
	.test_cases = ksm_scan_cases,
};

kunit_test_suite(ksm_scan_suite);

#endif /* _KSM_SCAN_KUNIT_H */
