/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the queue of second looks.
 * Included from recheck.c when CONFIG_KSM_KUNIT_TEST is set.
 */
#ifndef _KSM_RECHECK_KUNIT_H
#define _KSM_RECHECK_KUNIT_H

#include <kunit/test.h>

/*
 * The queue is ksmd's: hold it off while a test plays with it (lock and
 * unlock in the test's own thread). Return: false to skip the test.
 */
static bool ksm_recheck_test_begin(struct kunit *test)
{
	if (!ksm_recheck_ring) {
		kunit_mark_skipped(test, "no queue (allocation failed at boot)");
		return false;
	}
	mutex_lock(&ksm_thread_mutex);
	if (ksm_recheck_head != ksm_recheck_tail) {
		mutex_unlock(&ksm_thread_mutex);
		kunit_mark_skipped(test, "ksmd has pages queued");
		return false;
	}
	return true;
}

static void ksm_test_recheck_order(struct kunit *test)
{
	struct ksm_rmap_item *it = kunit_kcalloc(test, 3, sizeof(*it),
						 GFP_KERNEL);
	unsigned long due;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, it);
	if (!ksm_recheck_test_begin(test))
		return;
	for (i = 0; i < 3; i++) {
		it[i].addr = (i + 1) * PAGE_SIZE;
		ksm_recheck_queue(&it[i]);
		KUNIT_EXPECT_TRUE(test, it[i].addr & KSM_ITEM_RECHECK);
	}
	due = it[2].recheck_at;
	/* Nothing is due before its pause is over. */
	KUNIT_EXPECT_NULL(test, recheck_pop_due(it[0].recheck_at - 1));
	/* A forgotten item is skipped; the others come oldest first. */
	ksm_recheck_forget(&it[1]);
	KUNIT_EXPECT_FALSE(test, it[1].addr & KSM_ITEM_RECHECK);
	KUNIT_EXPECT_PTR_EQ(test, recheck_pop_due(due), &it[0]);
	KUNIT_EXPECT_PTR_EQ(test, recheck_pop_due(due), &it[2]);
	KUNIT_EXPECT_NULL(test, recheck_pop_due(due));
	KUNIT_EXPECT_FALSE(test, it[0].addr & KSM_ITEM_RECHECK);
	KUNIT_EXPECT_FALSE(test, it[2].addr & KSM_ITEM_RECHECK);
	KUNIT_EXPECT_EQ(test, ksm_recheck_head, ksm_recheck_tail);
	/* Forgetting an item that is not queued changes nothing. */
	ksm_recheck_forget(&it[0]);
	KUNIT_EXPECT_EQ(test, it[0].addr, PAGE_SIZE);
	mutex_unlock(&ksm_thread_mutex);
}

static void ksm_test_recheck_full(struct kunit *test)
{
	unsigned int n = KSM_RECHECK_SLOTS + 1, i;
	struct ksm_rmap_item *it = kvcalloc(n, sizeof(*it), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, it);
	if (!ksm_recheck_test_begin(test)) {
		kvfree(it);
		return;
	}
	for (i = 0; i < n; i++) {
		it[i].addr = PAGE_SIZE;
		ksm_recheck_queue(&it[i]);
	}
	/* A full queue turns the newest away: that page waits a round. */
	KUNIT_EXPECT_TRUE(test, it[n - 2].addr & KSM_ITEM_RECHECK);
	KUNIT_EXPECT_FALSE(test, it[n - 1].addr & KSM_ITEM_RECHECK);
	KUNIT_EXPECT_EQ(test, ksm_recheck_tail - ksm_recheck_head,
			KSM_RECHECK_SLOTS);
	for (i = 0; i < n; i++)
		ksm_recheck_forget(&it[i]);
	/* Forgotten entries are only holes, dropped as the queue drains. */
	KUNIT_EXPECT_NULL(test, recheck_pop_due(jiffies));
	KUNIT_EXPECT_EQ(test, ksm_recheck_head, ksm_recheck_tail);
	mutex_unlock(&ksm_thread_mutex);
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
