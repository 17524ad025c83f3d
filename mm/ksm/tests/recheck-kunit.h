/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the queue of second looks.
 * Included from recheck.c when CONFIG_KSM_KUNIT_TEST is set.
 */
#ifndef _KSM_RECHECK_KUNIT_H
#define _KSM_RECHECK_KUNIT_H

#include <kunit/test.h>

/* A queue of the test's own, its ring freed with the test. */
static struct ksm_recheck_queue *ksm_test_queue(struct kunit *test)
{
	struct ksm_recheck_queue *q = kunit_kzalloc(test, sizeof(*q),
						     GFP_KERNEL);

	if (q)
		q->ring = kunit_kcalloc(test, KSM_RECHECK_SLOTS,
					sizeof(*q->ring), GFP_KERNEL);
	return q && q->ring ? q : NULL;
}

static void ksm_test_recheck_order(struct kunit *test)
{
	struct ksm_rmap_item *it = kunit_kcalloc(test, 3, sizeof(*it),
						 GFP_KERNEL);
	struct ksm_recheck_queue *q = ksm_test_queue(test);
	unsigned long due;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, it);
	KUNIT_ASSERT_NOT_NULL(test, q);
	for (i = 0; i < 3; i++) {
		it[i].addr = (i + 1) * PAGE_SIZE;
		queue_push(q, &it[i]);
		KUNIT_EXPECT_TRUE(test, it[i].addr & KSM_ITEM_RECHECK);
	}
	due = it[2].recheck_at;
	/* Nothing is due before its pause is over. */
	KUNIT_EXPECT_NULL(test, queue_pop_due(q, it[0].recheck_at - 1));
	/* A forgotten item is skipped; the others come oldest first. */
	queue_forget(q, &it[1]);
	KUNIT_EXPECT_FALSE(test, it[1].addr & KSM_ITEM_RECHECK);
	KUNIT_EXPECT_PTR_EQ(test, queue_pop_due(q, due), &it[0]);
	KUNIT_EXPECT_PTR_EQ(test, queue_pop_due(q, due), &it[2]);
	KUNIT_EXPECT_NULL(test, queue_pop_due(q, due));
	KUNIT_EXPECT_FALSE(test, it[0].addr & KSM_ITEM_RECHECK);
	KUNIT_EXPECT_FALSE(test, it[2].addr & KSM_ITEM_RECHECK);
	KUNIT_EXPECT_EQ(test, q->head, q->tail);
	/* Forgetting an item that is not queued changes nothing. */
	queue_forget(q, &it[0]);
	KUNIT_EXPECT_EQ(test, it[0].addr, PAGE_SIZE);
}

static void ksm_test_recheck_full(struct kunit *test)
{
	unsigned int n = KSM_RECHECK_SLOTS + 1, i;
	struct ksm_rmap_item *it = kvcalloc(n, sizeof(*it), GFP_KERNEL);
	struct ksm_recheck_queue *q = ksm_test_queue(test);

	KUNIT_ASSERT_NOT_NULL(test, it);
	if (!q) {
		kvfree(it);
		KUNIT_FAIL(test, "no memory for a queue");
		return;
	}
	for (i = 0; i < n; i++) {
		it[i].addr = PAGE_SIZE;
		queue_push(q, &it[i]);
	}
	/* A full queue turns the newest away: that page waits a round. */
	KUNIT_EXPECT_TRUE(test, it[n - 2].addr & KSM_ITEM_RECHECK);
	KUNIT_EXPECT_FALSE(test, it[n - 1].addr & KSM_ITEM_RECHECK);
	KUNIT_EXPECT_EQ(test, q->tail - q->head, KSM_RECHECK_SLOTS);
	for (i = 0; i < n; i++)
		queue_forget(q, &it[i]);
	/* Forgotten entries are only holes, dropped as the queue drains. */
	KUNIT_EXPECT_NULL(test, queue_pop_due(q, jiffies));
	KUNIT_EXPECT_EQ(test, q->head, q->tail);
	kvfree(it);
}

static struct kunit_case ksm_recheck_cases[] = {
	KUNIT_CASE(ksm_test_recheck_order),
	KUNIT_CASE(ksm_test_recheck_full),
	{}
};

static struct kunit_suite ksm_recheck_suite = {
	.name = "ksm_recheck",
	.test_cases = ksm_recheck_cases,
};

kunit_test_suite(ksm_recheck_suite);

#endif /* _KSM_RECHECK_KUNIT_H */
