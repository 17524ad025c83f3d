/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of the KSM core in mm/ksm/.
 *
 * The files depend on each other one way, each on those listed before it:
 *
 *   knobs.c          the knob values and the counters table
 *   items.c          the content key, rmap items, an item's page now
 *   domain.c         merge domains (merge_across_cgroups)
 *   recheck.c        the queue of second looks
 *   unstable_tree.c  pages waiting for a partner
 *   stable_tree.c    KSM folios by content
 *   merge.c          page tables: write-protect, replace, unshare
 *   rmap.c           what the rest of mm asks about KSM folios
 *   decide.c         what to do with one scanned page
 *   advisor.c        pages_to_scan from the scan time (advisor_mode)
 *   scan.c           ksmd, the registered mms and the scan cursor
 *   mm_register.c    madvise, prctl, fork and exit
 *   sysfs.c          /sys/kernel/mm/ksm and initialisation
 *
 * See Documentation/mm/ksm.rst for the design.
 *
 * Locking summary:
 *  - While memory goes offline nobody walks the stable trees: ksmd
 *    pauses and the sysfs writers that walk them wait (ksm_lock_trees()).
 *  - ksmd's mutex (scan.c) serialises everything that touches the trees,
 *    the scan cursor and the per-mm item lists: ksmd holds it while it
 *    scans, the sysfs writers that rebuild state take it through
 *    ksm_lock_trees().
 *  - A spinlock of scan.c protects the list and hash of mm slots against
 *    __ksm_enter()/__ksm_exit(), which do not take the mutex.
 *  - The item list of a stable node is changed only with the KSM folio
 *    locked; rmap_walk_ksm() reads it with the folio locked.
 */
#ifndef _MM_KSM_INTERNAL_H
#define _MM_KSM_INTERNAL_H

#include <linux/types.h>
#include <linux/rbtree.h>
#include <linux/list.h>
#include <linux/mm.h>

#include "../internal.h"
#include "../mm_slot.h"

/*
 * Low bits of ksm_rmap_item.addr: the address is page aligned, so the bits
 * below PAGE_SHIFT carry the item's state.
 */
#define KSM_ITEM_UNSTABLE	0x001UL	/* linked in an unstable tree */
#define KSM_ITEM_STABLE		0x002UL	/* on a stable node's item list */
#define KSM_ITEM_ROUND		0x004UL	/* parity of the round it was linked */
#define KSM_ITEM_RECHECK	0x008UL	/* queued for a second look (recheck.c) */
#define KSM_ITEM_AGE_SHIFT	4	/* smart scan: visits unmerged, 0..15 */
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
 * @slot: hash link, link in ksmd's list of mms, and the mm (mmgrab()bed
 *        while registered), as mm/mm_slot.h keeps them
 * @items: the mm's rmap items, in address order
 * @fresh_until: smart scan skips nothing here while full_scans is below it
 */
struct ksm_mm_slot {
	struct mm_slot slot;
	struct ksm_rmap_item *items;
	unsigned long fresh_until;
};

#define KSM_RUN_STOP	0
#define KSM_RUN_MERGE	1
#define KSM_RUN_UNMERGE	2

enum ksm_advisor_type {
	KSM_ADVISOR_NONE,
	KSM_ADVISOR_SCAN_TIME,
};

/**
 * struct ksm_knobs - the values of the knobs of /sys/kernel/mm/ksm
 * @run: KSM_RUN_*
 * @pages_to_scan: pages per batch of ksmd (the advisor sets it when on)
 * @sleep_ms: ksmd's pause between batches
 * @merge_across_nodes: one stable tree (1) or one per NUMA node (0)
 * @use_zero_pages: merge pages of zeroes into the zero page
 * @smart_scan: look less often at pages that never merge
 * @max_page_sharing: most mappings of one KSM folio
 * @chain_prune_ms: least time between two sweeps of a chain's stale dups
 * @advisor: advisor_mode
 * @advisor_max_cpu: the advisor's CPU ceiling, percent
 * @advisor_min_pages: the advisor's least pages_to_scan
 * @advisor_max_pages: the advisor's most pages_to_scan
 * @advisor_target_scan_time: the round length the advisor aims at, s
 * @merge_across_cgroups: merge pages of any processes (1) or only within
 *                        a merge domain (0; domain.c)
 * @cgroup_domain_depth: depth of the cgroup that makes a domain (0: each)
 *
 * sysfs.c writes them (and the advisor pages_to_scan); every file reads
 * them, with READ_ONCE() where no lock orders the read.
 */
struct ksm_knobs {
	unsigned long run;
	unsigned int pages_to_scan;
	unsigned int sleep_ms;
	unsigned long merge_across_nodes;
	bool use_zero_pages;
	bool smart_scan;
	int max_page_sharing;
	unsigned int chain_prune_ms;
	enum ksm_advisor_type advisor;
	unsigned int advisor_max_cpu;
	unsigned long advisor_min_pages;
	unsigned long advisor_max_pages;
	unsigned long advisor_target_scan_time;
#ifdef CONFIG_KSM_MERGE_DOMAINS
	bool merge_across_cgroups;
	unsigned int cgroup_domain_depth;
#endif
};

extern struct ksm_knobs ksm_knobs;

/*
 * The counters, each changed by one file (named here) under ksmd's mutex
 * and read locklessly by sysfs.c, which shows them.
 */
enum ksm_counter {
	KSM_FULL_SCANS,		/* completed rounds (scan.c) */
	KSM_PAGES_SCANNED,	/* pages looked at (scan.c) */
	KSM_PAGES_SKIPPED,	/* pages smart scan passed over (scan.c) */
	KSM_PAGES_SHARED,	/* KSM folios in use (stable_tree.c) */
	KSM_PAGES_SHARING,	/* further mappings of them (stable_tree.c) */
	KSM_CHAINS,		/* stable_node_chains (stable_tree.c) */
	KSM_DUPS,		/* stable_node_dups (stable_tree.c) */
	KSM_PAGES_UNSHARED,	/* items in the unstable trees (unstable_tree.c) */
	KSM_ITEMS,		/* rmap items allocated (items.c) */
	KSM_NR_COUNTERS
};

extern unsigned long ksm_counters[KSM_NR_COUNTERS];

static inline unsigned long ksm_count(enum ksm_counter c)
{
	return READ_ONCE(ksm_counters[c]);
}

static inline void ksm_count_add(enum ksm_counter c, long delta)
{
	WRITE_ONCE(ksm_counters[c], ksm_counters[c] + delta);
}

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
	return READ_ONCE(ksm_knobs.merge_across_nodes) ? 0 : pfn_to_nid(pfn);
}

/* Order of two 64-bit content keys: negative, zero or positive. */
static inline int ksm_key_cmp(u64 a, u64 b)
{
	if (a == b)
		return 0;
	return a < b ? -1 : 1;
}

static inline struct ksm_stable_node *ksm_folio_node(struct folio *folio)
{
	return folio_test_ksm(folio) ? folio_raw_mapping(folio) : NULL;
}

static inline void ksm_folio_set_node(struct folio *folio,
				      struct ksm_stable_node *node)
{
	folio->mapping = (void *)((unsigned long)node | PAGE_MAPPING_KSM);
}

/* items.c */
int ksm_items_init(void);
u64 ksm_checksum(struct page *page);
struct ksm_rmap_item *ksm_item_alloc(struct mm_struct *mm, unsigned long addr);
void ksm_item_free(struct ksm_rmap_item *item);
struct vm_area_struct *ksm_find_vma(struct mm_struct *mm, unsigned long addr);
struct page *ksm_item_page(struct ksm_rmap_item *item);
struct rb_root *ksm_node_roots(struct rb_root first);

/* domain.c; without CONFIG_KSM_MERGE_DOMAINS every mm is in domain 0. */
#ifdef CONFIG_KSM_MERGE_DOMAINS
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

/* recheck.c */
void ksm_recheck_init(void);
void ksm_recheck_queue(struct ksm_rmap_item *item);
void ksm_recheck_forget(struct ksm_rmap_item *item);
struct ksm_rmap_item *ksm_recheck_next_due(unsigned long now);

/* unstable_tree.c */
int ksm_unstable_trees_per_node(void);
struct ksm_rmap_item *ksm_unstable_search_insert(struct ksm_rmap_item *item,
						 struct page *page, u64 domain,
						 struct page **tree_page);
void ksm_unstable_remove_item(struct ksm_rmap_item *item);
void ksm_unstable_forget_item(struct ksm_rmap_item *item);
void ksm_unstable_reset(void);

/* stable_tree.c */
enum ksm_lock_mode { KSM_NOLOCK, KSM_LOCK, KSM_TRYLOCK };
int ksm_stable_init(void);
int ksm_stable_trees_per_node(void);
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

/* merge.c */
int ksm_merge_item(struct ksm_rmap_item *item, struct page *page,
		   struct page *kpage, u64 domain);
void ksm_merge_zero(struct ksm_rmap_item *item, struct page *page);
void ksm_pin_anon_vma(struct ksm_rmap_item *item, struct vm_area_struct *vma);
void ksm_break_one(struct vm_area_struct *vma, unsigned long addr);
void ksm_break_item(struct ksm_rmap_item *item);
int ksm_unmerge_range(struct vm_area_struct *vma, unsigned long start,
		      unsigned long end, bool lock_vma);

/* decide.c */
void ksm_decide_init(void);
void ksm_item_unlink(struct ksm_rmap_item *item);
bool ksm_item_up_to_date(struct page *page, const struct ksm_rmap_item *item,
			 u64 domain);
void ksm_cmp_and_merge(struct page *page, struct ksm_rmap_item *item,
		       bool second_look);

/* advisor.c */
void ksm_advisor_reset(void);
void ksm_advisor_round_start(void);
void ksm_advisor_round_end(void);

/* scan.c */
int ksm_scan_init(void);
int ksm_register_mm(struct mm_struct *mm);
void ksm_unregister_mm(struct mm_struct *mm);
void ksm_note_new_candidates(struct mm_struct *mm);
void ksm_wake_ksmd(void);
void ksm_nap_changed(void);
void ksm_lock_trees(void);
void ksm_unlock_trees(void);
int ksm_unmerge_all(void);

#endif /* _MM_KSM_INTERNAL_H */
