/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the page checksum and smart-scan pacing.
 * Included from scan.c when CONFIG_KSM_KUNIT_TEST is set.
 */
#ifndef _KSM_SCAN_KUNIT_H
#define _KSM_SCAN_KUNIT_H

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

static struct kunit_case ksm_scan_cases[] = {
	KUNIT_CASE(ksm_test_checksum),
	KUNIT_CASE(ksm_test_skip_rounds),
	{}
};

static struct kunit_suite ksm_scan_suite = {
	.name = "ksm_scan",
	.test_cases = ksm_scan_cases,
};

kunit_test_suite(ksm_scan_suite);

#endif /* _KSM_SCAN_KUNIT_H */
