/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of smart-scan pacing.
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

static struct kunit_case ksm_scan_cases[] = {
	KUNIT_CASE(ksm_test_skip_rounds),
	{}
};

static struct kunit_suite ksm_scan_suite = {
	.name = "ksm_scan",
	.test_cases = ksm_scan_cases,
};

kunit_test_suite(ksm_scan_suite);

#endif /* _KSM_SCAN_KUNIT_H */
