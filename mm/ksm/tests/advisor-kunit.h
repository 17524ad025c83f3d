/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the scan-time advisor arithmetic.
 * Included from advisor.c when CONFIG_KSM_KUNIT_TEST is set.
 */
#ifndef _KSM_ADVISOR_KUNIT_H
#define _KSM_ADVISOR_KUNIT_H

#include <kunit/test.h>

static void ksm_test_advisor_bounds(struct kunit *test)
{
	unsigned long saved_max = ksm_knobs.advisor_max_pages;
	unsigned long saved_target = ksm_knobs.advisor_target_scan_time;
	unsigned int saved_cpu = ksm_knobs.advisor_max_cpu;
	unsigned long change = 100, pages;

	ksm_knobs.advisor_target_scan_time = 200;
	ksm_knobs.advisor_max_cpu = 70;
	ksm_knobs.advisor_max_pages = 30000;

	/* Round took 400 s for a 200 s target at 10% CPU: scan faster. */
	pages = advisor_next_pages(1000, 400, 400, 40000, &change);
	KUNIT_EXPECT_EQ(test, change, 100UL);
	KUNIT_EXPECT_EQ(test, pages, 2000UL);

	/* Never above advisor_max_pages_to_scan. */
	ksm_knobs.advisor_max_pages = 1500;
	pages = advisor_next_pages(1000, 400, 400, 40000, &change);
	KUNIT_EXPECT_EQ(test, pages, 1500UL);

	/* The same round at 100% CPU: capped at advisor_max_cpu (70%). */
	ksm_knobs.advisor_max_pages = 30000;
	pages = advisor_next_pages(1000, 400, 400, 400000, &change);
	KUNIT_EXPECT_EQ(test, pages, 700UL);

	/* Way too fast, little CPU: floor at 10% CPU worth of pages. */
	ksm_knobs.advisor_max_pages = 30000;
	change = 100;
	pages = advisor_next_pages(1000, 1, 1, 10, &change);
	/* cpu 1% -> cost 1000 pages per percent, floor 10000 */
	KUNIT_EXPECT_EQ(test, pages, 10000UL);

	/* High CPU use caps the rate at advisor_max_cpu. */
	change = 100;
	pages = advisor_next_pages(1000, 1000, 1000, 1000000, &change);
	KUNIT_EXPECT_LE(test, pages, 700UL);

	ksm_knobs.advisor_max_pages = saved_max;
	ksm_knobs.advisor_target_scan_time = saved_target;
	ksm_knobs.advisor_max_cpu = saved_cpu;
}

static void ksm_test_advisor_ewma(struct kunit *test)
{
	unsigned long change = 0;

	/* First sample from a zero history: 30% of the new value. */
	advisor_next_pages(1000, 10, 0, 1000, &change);
	KUNIT_EXPECT_EQ(test, change, 30UL);
	advisor_next_pages(1000, 10, 10, 1000, &change);
	KUNIT_EXPECT_EQ(test, change, 51UL);
}

static struct kunit_case ksm_advisor_cases[] = {
	KUNIT_CASE(ksm_test_advisor_bounds),
	KUNIT_CASE(ksm_test_advisor_ewma),
	{}
};

static struct kunit_suite ksm_advisor_suite = {
	.name = "ksm_advisor",
	.test_cases = ksm_advisor_cases,
};

kunit_test_suite(ksm_advisor_suite);

#endif /* _KSM_ADVISOR_KUNIT_H */
