// SPDX-License-Identifier: GPL-2.0
/*
 * The second look at a page, soon after the first.
 *
 * The unstable tree only takes a page whose checksum was the same at two
 * looks, so that pages being written to stay out of it. With the two looks
 * a whole round apart, memory newly given to KSM can merge only in the
 * round after the one that first met it, which on a large range at the
 * default knobs is a matter of minutes. So ksmd queues every item it meets
 * for the first time and, at the start of a later batch once
 * KSM_RECHECK_MS have passed, looks at its page again through the usual
 * path, ksm_cmp_and_merge(): if the checksum held over that pause, the page
 * goes to the unstable tree (or merges) in the round that found it.
 *
 * Only first sightings are queued. A page whose checksum changed from one
 * round to the next has shown that it is being written and waits for the
 * next round, as before. So does a page that changed during the pause; it
 * also keeps the key of its first look, for the regular scan may look at it
 * again moments after the second look, and two looks that close together
 * would let a page that is rewritten every few milliseconds pass for
 * stable. The second looks come on top of pages_to_scan,
 * at most as many per batch as pages_to_scan: ksmd's work per batch at most
 * doubles while new memory arrives, and is unchanged once it is known.
 *
 * The queue holds item pointers. A queued item leaves the queue whenever it
 * is unlinked, which happens at every visit and before it is freed (see
 * ksm_item_unlink()), so the queue never names a freed item, and a regular
 * scan that reaches a queued item first simply takes the second look
 * itself. While queued, an item is in no tree, and its tree link holds the
 * queue position and due time instead. Everything here runs under
 * ksmd's mutex.
 */
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "ksm_internal.h"

/* The pause between the two looks at a new page. */
#define KSM_RECHECK_MS		50
/* Length of the queue, a power of two; when it is full, pages wait a round. */
#define KSM_RECHECK_SLOTS	8192U
#define KSM_RECHECK_MASK	(KSM_RECHECK_SLOTS - 1)

/**
 * struct ksm_recheck_queue - a ring of items waiting for their second look
 * @ring: KSM_RECHECK_SLOTS item pointers (NULL for a forgotten entry)
 * @head: free-running position of the oldest entry
 * @tail: free-running position of the next free slot
 */
struct ksm_recheck_queue {
	struct ksm_rmap_item **ring;
	unsigned int head, tail;
};

/* ksmd's queue; the KUnit suite builds queues of its own. */
static struct ksm_recheck_queue ksm_recheck;

/**
 * ksm_recheck_init() - allocate the queue
 *
 * Without it (no memory at boot) every page waits a round for its second
 * look, as it would without this file.
 */
void __init ksm_recheck_init(void)
{
	ksm_recheck.ring = kvcalloc(KSM_RECHECK_SLOTS,
				    sizeof(*ksm_recheck.ring), GFP_KERNEL);
}

static void queue_push(struct ksm_recheck_queue *q, struct ksm_rmap_item *item)
{
	unsigned int slot;

	if (!q->ring || q->tail - q->head >= KSM_RECHECK_SLOTS ||
	    WARN_ON_ONCE(item->addr & (KSM_ITEM_RECHECK | KSM_ITEM_UNSTABLE |
				       KSM_ITEM_STABLE)))
		return;
	slot = q->tail++ & KSM_RECHECK_MASK;
	q->ring[slot] = item;
	item->recheck_slot = slot;
	item->recheck_at = jiffies + msecs_to_jiffies(KSM_RECHECK_MS);
	item->addr |= KSM_ITEM_RECHECK;
}

static void queue_forget(struct ksm_recheck_queue *q, struct ksm_rmap_item *item)
{
	if (!(item->addr & KSM_ITEM_RECHECK))
		return;
	if (!WARN_ON_ONCE(q->ring[item->recheck_slot] != item))
		q->ring[item->recheck_slot] = NULL;
	item->addr &= ~KSM_ITEM_RECHECK;
}

/**
 * ksm_recheck_queue() - queue an item met for the first time
 * @item: the item, in no tree, with the checksum of its first look
 */
void ksm_recheck_queue(struct ksm_rmap_item *item)
{
	queue_push(&ksm_recheck, item);
}

/**
 * ksm_recheck_forget() - take an item off the queue, if it is on it
 * @item: the item
 */
void ksm_recheck_forget(struct ksm_rmap_item *item)
{
	queue_forget(&ksm_recheck, item);
}

/*
 * The oldest queued item if it is due at @now, taken off the queue; NULL
 * if the queue is empty or its oldest item is not due yet. Entries were
 * queued in time order, so nothing behind a young one can be due.
 */
static struct ksm_rmap_item *queue_pop_due(struct ksm_recheck_queue *q,
					   unsigned long now)
{
	struct ksm_rmap_item *item;
	unsigned int slot;

	while (q->head != q->tail) {
		slot = q->head & KSM_RECHECK_MASK;
		item = q->ring[slot];
		if (item && time_before(now, item->recheck_at))
			return NULL;
		q->ring[slot] = NULL;
		q->head++;
		if (item) {
			item->addr &= ~KSM_ITEM_RECHECK;
			return item;
		}
	}
	return NULL;
}

/**
 * ksm_recheck_next_due() - the next item whose second look is due
 * @now: jiffies at the start of the batch
 *
 * The caller (scan.c) takes the look through ksm_cmp_and_merge().
 *
 * Return: the item, off the queue, or NULL if none is due at @now.
 */
struct ksm_rmap_item *ksm_recheck_next_due(unsigned long now)
{
	return queue_pop_due(&ksm_recheck, now);
}

#ifdef CONFIG_KSM_KUNIT_TEST
#include "tests/recheck-kunit.h"
#endif
