/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of the KSM core in mm/ksm/.
 *
 * The core is split by job: scan.c drives ksmd over the registered mms,
 * merge.c changes page tables, stable_tree.c and unstable_tree.c keep the
 * two content indexes, rmap.c answers the rest of mm about KSM folios,
 * mm_register.c handles madvise/prctl/fork/exit, sysfs.c and advisor.c the
 * knobs. See Documentation/mm/ksm.rst for the design.
 *
 * Locking summary:
 *  - While memory goes offline nobody walks the stable trees: ksmd
 *    pauses and the sysfs writers that walk them wait (ksm_lock_trees()).
 *  - ksm_thread_mutex serialises everything that touches the trees, the
 *    scan cursor and the per-mm item lists (ksmd holds it while it scans,
 *    the sysfs writers that rebuild state hold it too).
 *  - ksm_mmlist_lock (a spinlock) protects the list and hash of mm slots
 *    against __ksm_enter()/__ksm_exit(), which do not take the mutex.
 *  - The item list of a stable node is changed only with the KSM folio
 *    locked; rmap_walk_ksm() reads it with the folio locked.
 */
#ifndef _MM_KSM_INTERNAL_H
#define _MM_KSM_INTERNAL_H

#include <linux/types.h>
#include <linux/rbtree.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "../internal.h"

/*
 * Low bits of ksm_rmap_item.addr: the address is page aligned, so the bits
 * below PAGE_SHIFT carry the item's state.
 */
#define KSM_ITEM_UNSTABLE	0x001UL	/* linked in an unstable tree */
#define KSM_ITEM_STABLE		0x002UL	/* on a stable node's item list */
#define KSM_ITEM_ROUND		0x004UL	/* parity of the round it was linked */
#define KSM_ITEM_RECHECK	0x008UL	/* queued for a second look (recheck.c) */
#define KSM_ITEM_AGE_SHIFT	4	/* smart scan: failed rounds, 0..15 */
#define KSM_ITEM_AGE_MASK	(0xfUL << KSM_ITEM_AGE_SHIFT)
#define KSM_ITEM_SKIP_SHIFT	8	/* smart scan: rounds left to skip */
#define KSM_ITEM_SKIP_MASK	(0xfUL << KSM_ITEM_SKIP_SHIFT)
#define KSM_ITEM_AGE_MAX	15
/*
 * While an item is stable (smart scan never ages those), the lowest age
 * bit says the page sits at page index addr >> PAGE_SHIFT of its anon_vma,
 * as in any vma that mremap never moved: rmap then asks the anon_vma's
 * interval tree for that one index rather than for all of them.
 */
#define KSM_ITEM_LINEAR		BIT(KSM_ITEM_AGE_SHIFT)

/**
 * struct ksm_rmap_item - what KSM remembers about one scanned page
 * @next: next item of the same mm, in address order
 * @mm: the mm that maps the page
 * @addr: user address of the page, with KSM_ITEM_* bits in the low bits
 * @csum: xxhash64 of the content at the last scan (not linked stable)
 * @snode: the stable node whose KSM folio is mapped here (when stable)
 * @rb: link in an unstable tree (when unstable)
 * @link: link in @snode's item list (when stable)
 * @anon_vma: anon_vma of the mapping, pinned (when stable)
 * @recheck_at: jiffies when the second look is due (when queued for it)
 * @recheck_slot: position in the queue of second looks (when queued)
 */
struct ksm_rmap_item {
	struct ksm_rmap_item *next;
	struct mm_struct *mm;
	unsigned long addr;
	union {
		u64 csum;
		struct ksm_stable_node *snode;
	};
	union {
		struct rb_node rb;
		struct {
			struct hlist_node link;
			struct anon_vma *anon_vma;
		};
		struct {
			unsigned long recheck_at;
			unsigned int recheck_slot;
		};
	};
};

enum ksm_node_kind {
	KSM_NODE_PLAIN,		/* in a tree, one KSM folio */
	KSM_NODE_CHAIN,		/* in a tree, heads a list of dups */
	KSM_NODE_DUP,		/* on a chain's list, one KSM folio */
};

/**
 * struct ksm_stable_node - one KSM folio (or a chain of equal ones)
 * @rb: link in a stable tree (plain nodes and chains)
 * @dup_link: link in the chain's list (dups)
 * @chain: the chain a dup belongs to
 * @hlist: rmap items mapping the folio, or the dups of a chain
 * @csum: xxhash64 of the (write-protected) content: the tree key
 * @kpfn: pfn of the KSM folio (plain nodes and dups)
 * @prune_time: jiffies of the last stale-dup sweep (chains)
 * @nr_items: number of items on @hlist (plain and dups), or of dups (chain)
 * @domain: the merge domain it was made in (domain.c); 0 with domains off
 * @nid: index of the stable tree the node (or its chain) is in
 * @kind: an enum ksm_node_kind
 */
struct ksm_stable_node {
	union {
		struct rb_node rb;
		struct {
			struct hlist_node dup_link;
			struct ksm_stable_node *chain;
		};
	};
	struct hlist_head hlist;
	u64 csum;
	union {
		unsigned long kpfn;
		unsigned long prune_time;
	};
#ifdef CONFIG_KSM_MERGE_DOMAINS
	u64 domain;
#endif
	int nr_items;
	s16 nid;
	u8 kind;
};

/**
 * struct ksm_mm_slot - an mm registered with KSM
 * @hash: link in the mm to slot hash
 * @link: link in the scan list (headed by ksm_mm_head)
 * @mm: the mm (mmgrab()bed while registered)
 * @items: the mm's rmap items, in address order
 * @fresh_until: smart scan skips nothing here while full_scans is below it
 */
struct ksm_mm_slot {
	struct hlist_node hash;
	struct list_head link;
	struct mm_struct *mm;
	struct ksm_rmap_item *items;
	unsigned long fresh_until;
};

/**
 * struct ksm_scan_cursor - where ksmd is
 * @slot: the slot being scanned, or &ksm_mm_head between rounds
 * @addr: next address to look at in that mm
 * @pos: where the item for @addr is or would be linked
 * @seqnr: number of completed rounds (full_scans)
 */
struct ksm_scan_cursor {
	struct ksm_mm_slot *slot;
	unsigned long addr;
	struct ksm_rmap_item **pos;
	unsigned long seqnr;
};

#define KSM_RUN_STOP	0
#define KSM_RUN_MERGE	1
#define KSM_RUN_UNMERGE	2

enum ksm_advisor_type {
	KSM_ADVISOR_NONE,
	KSM_ADVISOR_SCAN_TIME,
};

/* Tunables (sysfs.c). */
extern unsigned long ksm_run;
extern unsigned int ksm_pages_to_scan;
extern unsigned int ksm_sleep_ms;
#ifdef CONFIG_NUMA
extern unsigned long ksm_merge_across_nodes;
#else
#define ksm_merge_across_nodes 1UL	/* one tree: there is one node */
#endif
extern int ksm_nr_trees;
extern int ksm_nr_roots;
extern bool ksm_use_zero_pages;
extern int ksm_max_page_sharing;
extern unsigned int ksm_chain_prune_ms;
extern bool ksm_smart_scan;

/* Statistics. */
extern unsigned long ksm_pages_scanned;
extern unsigned long ksm_pages_shared;
extern unsigned long ksm_pages_sharing;
extern unsigned long ksm_pages_unshared;
extern unsigned long ksm_pages_skipped;
extern unsigned long ksm_nr_items;
extern unsigned long ksm_chains;
extern unsigned long ksm_dups;

/* Shared state (scan.c). */
extern struct mutex ksm_thread_mutex;
extern spinlock_t ksm_mmlist_lock;
extern wait_queue_head_t ksm_thread_wait;
extern wait_queue_head_t ksm_iter_wait;
extern struct ksm_mm_slot ksm_mm_head;
extern struct ksm_scan_cursor ksm_cursor;
extern struct rb_root *ksm_stable_roots;
extern struct rb_root *ksm_unstable_roots;
extern u64 ksm_zero_csum;

/* Advisor (advisor.c). */
extern enum ksm_advisor_type ksm_advisor;
extern unsigned int ksm_advisor_max_cpu;
extern unsigned long ksm_advisor_min_pages;
extern unsigned long ksm_advisor_max_pages;
extern unsigned long ksm_advisor_target_scan_time;
void ksm_advisor_reset(void);
void ksm_advisor_round_start(void);
void ksm_advisor_round_end(void);
unsigned long ksm_advisor_next_pages(unsigned long pages, unsigned long scan_s,
				     unsigned long prev_scan_s,
				     unsigned long cpu_ms,
				     unsigned long *change);

/* An mm that passed through ksm_exit() must not have its tables touched. */
static inline bool ksm_mm_exiting(struct mm_struct *mm)
{
	return atomic_read(&mm->mm_users) == 0;
}

static inline unsigned long ksm_item_addr(const struct ksm_rmap_item *item)
{
	return item->addr & PAGE_MASK;
}

static inline int ksm_tree_of_pfn(unsigned long pfn)
{
	return ksm_merge_across_nodes ? 0 : pfn_to_nid(pfn);
}

/* domain.c; without CONFIG_KSM_MERGE_DOMAINS every mm is in domain 0. */
#ifdef CONFIG_KSM_MERGE_DOMAINS
extern bool ksm_merge_across_cgroups;
extern unsigned int ksm_cgroup_domain_depth;
u64 ksm_mm_domain(struct mm_struct *mm);

static inline u64 ksm_node_domain(const struct ksm_stable_node *node)
{
	return node->domain;
}

static inline void ksm_node_set_domain(struct ksm_stable_node *node,
				       u64 domain)
{
	node->domain = domain;
}
#else
static inline u64 ksm_mm_domain(struct mm_struct *mm)
{
	return 0;
}

static inline u64 ksm_node_domain(const struct ksm_stable_node *node)
{
	return 0;
}

static inline void ksm_node_set_domain(struct ksm_stable_node *node,
				       u64 domain)
{
}
#endif

/* scan.c */
u64 ksm_checksum(struct page *page);
struct ksm_rmap_item *ksm_item_alloc(struct mm_struct *mm, unsigned long addr);
void ksm_item_free(struct ksm_rmap_item *item);
void ksm_item_unlink(struct ksm_rmap_item *item);
void ksm_free_items_from(struct ksm_rmap_item **pos);
int ksm_unmerge_all(void);
int ksm_slot_cache_init(void);
struct ksm_mm_slot *ksm_slot_alloc(void);
void ksm_slot_free(struct ksm_mm_slot *slot);
struct ksm_mm_slot *ksm_slot_lookup(struct mm_struct *mm);
void ksm_slot_unhash(struct ksm_mm_slot *slot);
void ksm_slot_hash_add(struct ksm_mm_slot *slot, struct mm_struct *mm);
int ksm_start_thread(void);
void ksm_lock_trees(void);
void ksm_note_new_candidates(struct mm_struct *mm);

/* stable_tree.c */
enum ksm_lock_mode { KSM_NOLOCK, KSM_LOCK, KSM_TRYLOCK };
int ksm_stable_cache_init(void);
struct folio *ksm_node_folio(struct ksm_stable_node *node,
			     enum ksm_lock_mode mode);
struct folio *ksm_stable_search(struct page *page, u64 csum, u64 domain);
struct ksm_stable_node *ksm_stable_insert(struct folio *kfolio, u64 domain);
void ksm_stable_refile(struct folio *kfolio, struct ksm_stable_node *node);
void ksm_stable_append(struct ksm_rmap_item *item,
		       struct ksm_stable_node *node);
void ksm_stable_remove_item(struct ksm_rmap_item *item);
int ksm_stable_remove_all(void);
void ksm_stable_prune_pfns(unsigned long start_pfn, unsigned long end_pfn);
bool ksm_node_can_share(const struct ksm_stable_node *node, int extra);
int ksm_items_to_pages(int nr_items, int *shared, int *sharing);
int ksm_chain_dups_needed(unsigned long mappings, int max_sharing);

static inline struct ksm_stable_node *ksm_folio_node(struct folio *folio)
{
	return folio_test_ksm(folio) ? folio_raw_mapping(folio) : NULL;
}

static inline void ksm_folio_set_node(struct folio *folio,
				      struct ksm_stable_node *node)
{
	folio->mapping = (void *)((unsigned long)node | PAGE_MAPPING_KSM);
}

/* unstable_tree.c */
struct ksm_rmap_item *ksm_unstable_search_insert(struct ksm_rmap_item *item,
						 struct page *page, u64 domain,
						 struct page **tree_page);
void ksm_unstable_remove_item(struct ksm_rmap_item *item);
void ksm_unstable_forget_item(struct ksm_rmap_item *item);
void ksm_unstable_reset(void);
int ksm_key_cmp(u64 a, u64 b);

/* recheck.c */
void ksm_recheck_init(void);
void ksm_recheck_queue(struct ksm_rmap_item *item);
void ksm_recheck_forget(struct ksm_rmap_item *item);
void ksm_recheck_due(unsigned int budget);

/* merge.c */
struct vm_area_struct *ksm_find_vma(struct mm_struct *mm, unsigned long addr);
struct page *ksm_item_page(struct ksm_rmap_item *item);
int ksm_unmerge_range(struct vm_area_struct *vma, unsigned long start,
		      unsigned long end, bool lock_vma);
void ksm_break_item(struct ksm_rmap_item *item);
void ksm_cmp_and_merge(struct page *page, struct ksm_rmap_item *item,
		       bool second_look);

#endif /* _MM_KSM_INTERNAL_H */
