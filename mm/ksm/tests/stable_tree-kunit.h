/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the stable tree's sharing limit and node layout.
 * Included from stable_tree.c when CONFIG_KSM_KUNIT_TEST is set.
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

static struct kunit_case ksm_stable_cases[] = {
	KUNIT_CASE(ksm_test_can_share),
	KUNIT_CASE(ksm_test_node_layout),
	{}
};

static struct kunit_suite ksm_stable_suite = {
	.name = "ksm_stable",
	.test_cases = ksm_stable_cases,
};

kunit_test_suite(ksm_stable_suite);

#endif /* _KSM_STABLE_TREE_KUNIT_H */
