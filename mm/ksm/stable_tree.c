// SPDX-License-Identifier: GPL-2.0
/*
 * The stable trees: one node per KSM folio, ordered by the xxhash64 of the
 * (write-protected, hence unchanging) content and, for equal hashes, by
 * the content itself. Equal content that cannot be shared by one more
 * mapping (max_page_sharing) is kept as a chain: a tree node heading a
 * list of "dup" nodes, one per KSM folio of that content.
 *
 * A stable node does not pin its folio. The folio's ->mapping points back
 * to the node (tagged PAGE_MAPPING_KSM); a node is trusted only while that
 * back pointer is intact, which ksm_node_folio() checks each time. When a
 * folio is freed its ->mapping is cleared, and the node becomes stale and
 * is dropped on the next look.
 */
#include <linux/mm.h>
#include <linux/rmap.h>
#include <linux/pagemap.h>
#include <linux/ksm.h>
#include <linux/slab.h>
#include <linux/jiffies.h>
#include <linux/nodemask.h>
#include <linux/sched.h>
#include <trace/events/ksm.h>

#include "ksm_internal.h"

static struct kmem_cache *ksm_node_cache;

static struct rb_root single_root = RB_ROOT;
/* The trees: one, or one per NUMA node once merge_across_nodes was 0. */
static struct rb_root *stable_roots = &single_root;
static int nr_roots = 1;

/**
 * ksm_stable_init() - create the slab cache of stable nodes
 *
 * Return: 0 or -ENOMEM.
 */
int __init ksm_stable_init(void)
{
	ksm_node_cache = KMEM_CACHE(ksm_stable_node, 0);
	return ksm_node_cache ? 0 : -ENOMEM;
}

/**
 * ksm_stable_trees_per_node() - have one stable tree per NUMA node
 *
 * For merge_across_nodes = 0, which is only set while the trees are
 * empty: the roots are allocated on the first call and kept.
 *
 * Return: 0 or -ENOMEM.
 */
int ksm_stable_trees_per_node(void)
{
	struct rb_root *roots;

	if (nr_roots == nr_node_ids)
		return 0;
	roots = ksm_node_roots(single_root);
	if (!roots)
		return -ENOMEM;
	stable_roots = roots;
	nr_roots = nr_node_ids;
	return 0;
}

static struct ksm_stable_node *node_alloc(void)
{
	/* Reserves help ksmd make progress when memory is tight. */
	return kmem_cache_zalloc(ksm_node_cache, GFP_KERNEL | __GFP_HIGH);
}

static void node_free(struct ksm_stable_node *node)
{
	WARN_ON_ONCE(node->kind != KSM_NODE_CHAIN && node->nr_items);
	kmem_cache_free(ksm_node_cache, node);
}

/*
 * May one more mapping (plus @extra already promised) use this plain or
 * dup node? A node whose last mapping went away is not worth merging
 * into: its folio is about to be freed.
 */
static bool node_can_share(const struct ksm_stable_node *node, int extra)
{
	return node->nr_items > 0 &&
	       node->nr_items + extra < READ_ONCE(ksm_knobs.max_page_sharing);
}

static struct rb_root *node_root(struct ksm_stable_node *node)
{
	return stable_roots + node->nid;
}

/*
 * @item stops mapping @node's folio as far as KSM knows: it leaves the
 * node's list, the counters drop, and the item keeps the node's key as
 * its last checksum. Caller holds the folio lock or knows the folio gone.
 */
static void item_leave_node(struct ksm_rmap_item *item,
			    struct ksm_stable_node *node)
{
	trace_ksm_remove_rmap_item(node->kpfn, item, item->mm);
	hlist_del(&item->link);
	ksm_count_add(--node->nr_items ? KSM_PAGES_SHARING : KSM_PAGES_SHARED,
		      -1);
	item->mm->ksm_merging_pages--;
	put_anon_vma(item->anon_vma);
	item->anon_vma = NULL;
	item->addr &= ~(KSM_ITEM_STABLE | KSM_ITEM_UNSTABLE | KSM_ITEM_ROUND |
			KSM_ITEM_LINEAR);
	item->csum = node->csum;
}

/*
 * Forget a node whose folio is gone (or is being given up): every item
 * that pointed at it goes back to the unlinked state, then the node leaves
 * its tree or chain and is freed. An empty chain is left for the next
 * lookup through it to free.
 */
static void node_drop(struct ksm_stable_node *node)
{
	struct ksm_rmap_item *item;
	struct hlist_node *tmp;

	hlist_for_each_entry_safe(item, tmp, &node->hlist, link) {
		item_leave_node(item, node);
		cond_resched();
	}
	WARN_ON_ONCE(node->nr_items);

	trace_ksm_remove_ksm_page(node->kpfn);
	if (node->kind == KSM_NODE_DUP) {
		hlist_del(&node->dup_link);
		node->chain->nr_items--;
		ksm_count_add(KSM_DUPS, -1);
	} else {
		rb_erase(&node->rb, node_root(node));
	}
	node_free(node);
}

/**
 * ksm_node_folio() - the KSM folio of a stable node, if it is still one
 * @node: a plain or dup stable node
 * @mode: whether to return the folio locked (or only trylocked)
 *
 * Takes a reference on the folio and checks that its ->mapping still
 * names @node. A stale node is dropped. A folio whose refcount is frozen
 * in the swap cache may be in the middle of migration and is waited for;
 * migration moves node->kpfn before the old folio's ->mapping is cleared,
 * so a changed kpfn means "look again".
 *
 * Return: the referenced folio; NULL if the node was stale (and is freed
 * now); ERR_PTR(-EBUSY) if @mode is KSM_TRYLOCK and the lock was taken.
 */
struct folio *ksm_node_folio(struct ksm_stable_node *node,
			     enum ksm_lock_mode mode)
{
	void *key = (void *)((unsigned long)node | PAGE_MAPPING_KSM);
	unsigned long pfn;
	struct folio *folio;

retry:
	pfn = READ_ONCE(node->kpfn);
	folio = pfn_folio(pfn);
	if (READ_ONCE(folio->mapping) != key)
		goto gone;

	/*
	 * A zero refcount mostly means freed; a swap cache folio can have
	 * it frozen while it is being migrated or removed: spin on that.
	 */
	for (;;) {
		if (folio_try_get(folio))
			break;
		if (!folio_test_swapcache(folio))
			goto gone;
		cpu_relax();
	}
	if (READ_ONCE(folio->mapping) != key)
		goto gone_put;

	if (mode == KSM_TRYLOCK) {
		if (!folio_trylock(folio)) {
			folio_put(folio);
			return ERR_PTR(-EBUSY);
		}
	} else if (mode == KSM_LOCK) {
		folio_lock(folio);
	}
	if (mode != KSM_NOLOCK && READ_ONCE(folio->mapping) != key) {
		folio_unlock(folio);
		goto gone_put;
	}
	return folio;

gone_put:
	folio_put(folio);
gone:
	/* Pairs with the write barrier in folio_migrate_ksm(). */
	smp_rmb();
	if (READ_ONCE(node->kpfn) != pfn)
		goto retry;
	node_drop(node);
	return NULL;
}

static void chain_free(struct ksm_stable_node *chain, struct rb_root *root)
{
	rb_erase(&chain->rb, root);
	node_free(chain);
	ksm_count_add(KSM_CHAINS, -1);
}

/*
 * Choose the dup of a chain to merge into: the fullest one that still has
 * room, else any live one. With @prune (rate limited by
 * stable_node_chains_prune_millisecs) every dup is looked at, which drops
 * the stale ones. A chain left with one dup is replaced in the tree by
 * that dup (*@nodep then points to it); a chain left with none is freed.
 *
 * Returns the chosen dup's folio, referenced, and the dup in *@dupp; NULL
 * if the chain is gone.
 */
static struct folio *chain_pick(struct ksm_stable_node **nodep,
				struct ksm_stable_node **dupp, bool prune)
{
	struct ksm_stable_node *chain = *nodep, *dup, *best = NULL;
	struct rb_root *root = node_root(chain);
	struct folio *folio, *best_folio = NULL;
	struct hlist_node *tmp;

	if (prune && time_before(jiffies, chain->prune_time +
				 msecs_to_jiffies(READ_ONCE(ksm_knobs.chain_prune_ms))))
		prune = false;
	if (prune)
		chain->prune_time = jiffies;

	hlist_for_each_entry_safe(dup, tmp, &chain->hlist, dup_link) {
		cond_resched();
		folio = ksm_node_folio(dup, KSM_NOLOCK);
		if (!folio)
			continue;
		if (best && !(node_can_share(dup, 0) &&
			      (!node_can_share(best, 0) ||
			       dup->nr_items > best->nr_items))) {
			folio_put(folio);
			continue;
		}
		if (best_folio)
			folio_put(best_folio);
		best = dup;
		best_folio = folio;
		if (!prune && node_can_share(best, 0))
			break;
	}

	if (!best) {
		chain_free(chain, root);
		*dupp = NULL;
		return NULL;
	}

	if (hlist_is_singular_node(&best->dup_link, &chain->hlist)) {
		/* Only one folio of this content left: no chain needed. */
		hlist_del(&best->dup_link);
		ksm_count_add(KSM_DUPS, -1);
		best->kind = KSM_NODE_PLAIN;
		best->nid = chain->nid;
		rb_replace_node(&chain->rb, &best->rb, root);
		node_free(chain);
		ksm_count_add(KSM_CHAINS, -1);
		*nodep = best;
	} else if (chain->hlist.first != &best->dup_link &&
		   node_can_share(best, 1)) {
		/* Keep a dup with room at the head for the next search. */
		hlist_del(&best->dup_link);
		hlist_add_head(&best->dup_link, &chain->hlist);
	}
	*dupp = best;
	return best_folio;
}

/* The folio of a tree node (plain, or the chosen dup of a chain). */
static struct folio *tree_node_folio(struct ksm_stable_node **nodep,
				     struct ksm_stable_node **dupp, bool prune)
{
	if ((*nodep)->kind == KSM_NODE_CHAIN)
		return chain_pick(nodep, dupp, prune);
	*dupp = *nodep;
	return ksm_node_folio(*nodep, KSM_NOLOCK);
}

/*
 * Move @node, found in a tree other than the one of @folio's NUMA node, to
 * its right tree. Returns true if it moved (the tree it was found in
 * changed shape), false if the folio was busy or no memory was to be had.
 */
static bool refile_migrated(struct folio *folio, struct ksm_stable_node *node)
{
	bool moved = false;

	if (!folio_trylock(folio))
		return false;
	if (ksm_folio_node(folio) == node) {
		ksm_stable_refile(folio, node);
		moved = node->nid == ksm_tree_of_pfn(folio_pfn(folio));
	}
	folio_unlock(folio);
	return moved;
}

/**
 * ksm_stable_search() - find a KSM folio with the content of @page
 * @page: the page being scanned (not a KSM page)
 * @csum: its current checksum
 * @domain: the merge domain of its mm (domain.c)
 *
 * Nodes are ordered by key, then domain, then content: only nodes of
 * @domain whose key equals @csum have their content compared.
 *
 * Return: a referenced KSM folio with the same content and room for one
 * more mapping, NULL if there is none, or ERR_PTR(-EBUSY) if the folio
 * found is locked by someone else (try again later).
 */
struct folio *ksm_stable_search(struct page *page, u64 csum, u64 domain)
{
	int nid = ksm_tree_of_pfn(page_to_pfn(page));
	struct rb_root *root = stable_roots + nid;
	struct ksm_stable_node *node, *dup;
	struct rb_node *cur;
	struct folio *folio;
	int cmp;

restart:
	cur = root->rb_node;
	while (cur) {
		cond_resched();
		node = rb_entry(cur, struct ksm_stable_node, rb);
		cmp = ksm_key_cmp(csum, node->csum);
		if (!cmp)
			cmp = ksm_key_cmp(domain, ksm_node_domain(node));
		if (cmp) {
			cur = cmp < 0 ? cur->rb_left : cur->rb_right;
			continue;
		}
		folio = tree_node_folio(&node, &dup, true);
		if (!folio)
			goto restart;	/* a stale node left: tree rebalanced */
		cmp = memcmp_pages(page, folio_page(folio, 0));
		if (cmp) {
			folio_put(folio);
			cur = cmp < 0 ? node->rb.rb_left : node->rb.rb_right;
			continue;
		}
		if (ksm_tree_of_pfn(folio_pfn(folio)) != nid) {
			/*
			 * Migrated to another NUMA node since it was filed:
			 * merging into it would put this node's page on the
			 * other one. Refile it, then search again without it.
			 */
			if (!refile_migrated(folio, dup)) {
				folio_put(folio);
				return ERR_PTR(-EBUSY);
			}
			folio_put(folio);
			goto restart;
		}
		if (!node_can_share(dup, 0)) {
			/* All full: the unstable tree will make a new dup. */
			folio_put(folio);
			return NULL;
		}
		/*
		 * Take and drop the lock so that a migration of this folio
		 * that started before us sees our reference.
		 */
		if (!folio_trylock(folio)) {
			folio_put(folio);
			return ERR_PTR(-EBUSY);
		}
		if (ksm_folio_node(folio) != dup) {
			folio_unlock(folio);
			folio_put(folio);
			goto restart;
		}
		folio_unlock(folio);
		return folio;
	}
	return NULL;
}

/*
 * Link @node (key, kpfn and nid already set) into the tree of its nid: as
 * a plain node, or as a dup of the chain of its content, turning a plain
 * node of that content into a chain first. The chain head is *@spare when
 * the caller preallocated one (then *@spare is cleared if used).
 *
 * Returns 0, or -ENOMEM if a chain head was needed and none could be had.
 */
static int node_link(struct ksm_stable_node *node, struct folio *kfolio,
		     struct ksm_stable_node **spare)
{
	struct rb_root *root = stable_roots + node->nid;
	struct ksm_stable_node *other = NULL, *dup, *chain;
	struct rb_node **link, *parent;
	struct folio *folio;
	bool same = false;
	int cmp;

restart:
	link = &root->rb_node;
	parent = NULL;
	while (*link) {
		cond_resched();
		other = rb_entry(*link, struct ksm_stable_node, rb);
		cmp = ksm_key_cmp(node->csum, other->csum);
		if (!cmp)
			cmp = ksm_key_cmp(ksm_node_domain(node),
					  ksm_node_domain(other));
		if (!cmp) {
			folio = tree_node_folio(&other, &dup, false);
			if (!folio)
				goto restart;
			cmp = memcmp_pages(folio_page(kfolio, 0),
					   folio_page(folio, 0));
			folio_put(folio);
		}
		if (!cmp) {
			same = true;
			break;
		}
		parent = *link;
		link = cmp < 0 ? &parent->rb_left : &parent->rb_right;
	}

	if (!same) {
		node->kind = KSM_NODE_PLAIN;
		rb_link_node(&node->rb, parent, link);
		rb_insert_color(&node->rb, root);
		return 0;
	}

	chain = other;
	if (other->kind != KSM_NODE_CHAIN) {
		/* Turn the plain node into the first dup of a chain. */
		chain = *spare ? *spare : node_alloc();
		if (!chain)
			return -ENOMEM;
		*spare = NULL;
		INIT_HLIST_HEAD(&chain->hlist);
		chain->kind = KSM_NODE_CHAIN;
		chain->csum = other->csum;
		ksm_node_set_domain(chain, ksm_node_domain(other));
		chain->nid = other->nid;
		chain->nr_items = 0;
		chain->prune_time = jiffies;
		rb_replace_node(&other->rb, &chain->rb, root);
		ksm_count_add(KSM_CHAINS, 1);
		other->kind = KSM_NODE_DUP;
		other->chain = chain;
		hlist_add_head(&other->dup_link, &chain->hlist);
		chain->nr_items++;
		ksm_count_add(KSM_DUPS, 1);
	}
	node->kind = KSM_NODE_DUP;
	node->chain = chain;
	hlist_add_head(&node->dup_link, &chain->hlist);
	chain->nr_items++;
	ksm_count_add(KSM_DUPS, 1);
	return 0;
}

/**
 * ksm_stable_insert() - give a new KSM folio its stable node
 * @kfolio: the folio, locked, write-protected in every mapping, with
 *          ->mapping already tagged PAGE_MAPPING_KSM
 * @domain: the merge domain of the mms that map it
 *
 * The key is hashed here, from the write-protected content. A folio whose
 * content is already in the tree becomes a dup of that content's chain
 * (the chain is created when needed).
 *
 * Return: the new node, or NULL if memory ran out.
 */
struct ksm_stable_node *ksm_stable_insert(struct folio *kfolio, u64 domain)
{
	unsigned long pfn = folio_pfn(kfolio);
	struct ksm_stable_node *fresh, *spare = NULL;

	/* Anything else may still be mapped writable somewhere. */
	if (WARN_ON_ONCE(!folio_test_ksm(kfolio) || folio_test_large(kfolio)))
		return NULL;
	fresh = node_alloc();
	if (!fresh)
		return NULL;
	INIT_HLIST_HEAD(&fresh->hlist);
	fresh->csum = ksm_checksum(folio_page(kfolio, 0));
	ksm_node_set_domain(fresh, domain);
	fresh->kpfn = pfn;
	fresh->nid = ksm_tree_of_pfn(pfn);
	if (node_link(fresh, kfolio, &spare)) {
		node_free(fresh);
		return NULL;
	}
	ksm_folio_set_node(kfolio, fresh);
	return fresh;
}

/**
 * ksm_stable_refile() - move a migrated KSM folio's node to the right tree
 * @kfolio: a KSM folio, locked
 * @node: its node (plain or dup)
 *
 * With merge_across_nodes off there is one stable tree per NUMA node, and
 * a folio belongs in the tree of the node its memory is on. Migration
 * (NUMA balancing, move_pages, compaction, hot-remove) can move a KSM folio
 * to another node; ksmd notices when it scans one of the folio's mappings
 * and moves the node, with all its mappings, to the tree of the node the
 * folio is on now. If that tree already has the content the node joins its
 * chain, as a folio of content that could not be shared would.
 */
void ksm_stable_refile(struct folio *kfolio, struct ksm_stable_node *node)
{
	int nid = ksm_tree_of_pfn(folio_pfn(kfolio));
	struct ksm_stable_node *spare, *chain;

	if (node->nid == nid || node->kind == KSM_NODE_CHAIN)
		return;
	/* Allocate first: once out of its tree, the node must get back in. */
	spare = node_alloc();
	if (!spare)
		return;

	if (node->kind == KSM_NODE_DUP) {
		chain = node->chain;
		hlist_del(&node->dup_link);
		chain->nr_items--;
		ksm_count_add(KSM_DUPS, -1);
		if (hlist_empty(&chain->hlist))
			chain_free(chain, node_root(chain));
	} else {
		rb_erase(&node->rb, node_root(node));
	}
	node->nid = nid;
	WARN_ON_ONCE(node_link(node, kfolio, &spare));
	if (spare)
		node_free(spare);
}

/**
 * ksm_stable_append() - record that @item maps the KSM folio of @node
 * @item: an unlinked rmap item whose anon_vma is already pinned
 * @node: plain or dup node; its folio must be locked by the caller
 */
void ksm_stable_append(struct ksm_rmap_item *item,
		       struct ksm_stable_node *node)
{
	ksm_count_add(node->nr_items++ ? KSM_PAGES_SHARING : KSM_PAGES_SHARED,
		      1);
	item->snode = node;
	item->addr |= KSM_ITEM_STABLE;
	hlist_add_head(&item->link, &node->hlist);
	item->mm->ksm_merging_pages++;
}

/**
 * ksm_stable_remove_item() - take a stable item off its node
 * @item: an item with KSM_ITEM_STABLE set
 *
 * The item keeps the node's key as its last checksum.
 */
void ksm_stable_remove_item(struct ksm_rmap_item *item)
{
	struct ksm_stable_node *node = item->snode;
	struct folio *folio;

	folio = ksm_node_folio(node, KSM_LOCK);
	if (!folio)
		return;	/* the node was stale: node_drop() did the work */

	item_leave_node(item, node);
	folio_unlock(folio);
	folio_put(folio);
}

/*
 * Give up a node whose folio is no longer mapped (sysfs changing a knob
 * that needs empty trees). Returns -EBUSY if the folio is still mapped.
 */
static int node_release(struct ksm_stable_node *node)
{
	struct folio *folio;
	int err = -EBUSY;

	folio = ksm_node_folio(node, KSM_LOCK);
	if (!folio)
		return 0;
	if (!folio_mapped(folio)) {
		/* Still tagged KSM, but no longer found through a node. */
		ksm_folio_set_node(folio, NULL);
		node_drop(node);
		err = 0;
	}
	folio_unlock(folio);
	folio_put(folio);
	return err;
}

/**
 * ksm_stable_remove_all() - empty the stable trees where possible
 *
 * Nodes whose folios are still mapped stay.
 *
 * Return: 0, or -EBUSY if some node could not be removed.
 */
int ksm_stable_remove_all(void)
{
	struct ksm_stable_node *node, *dup;
	struct hlist_node *tmp;
	struct rb_node *cur, *next;
	int nid, err = 0;

	for (nid = 0; nid < nr_roots; nid++) {
		for (cur = rb_first(stable_roots + nid); cur; cur = next) {
			next = rb_next(cur);
			node = rb_entry(cur, struct ksm_stable_node, rb);
			if (node->kind != KSM_NODE_CHAIN) {
				if (node_release(node))
					err = -EBUSY;
				cond_resched();
				continue;
			}
			hlist_for_each_entry_safe(dup, tmp, &node->hlist,
						  dup_link) {
				if (node_release(dup))
					err = -EBUSY;
				cond_resched();
			}
			if (hlist_empty(&node->hlist))
				chain_free(node, stable_roots + nid);
		}
	}
	return err;
}

static bool pfn_in(unsigned long pfn, unsigned long start, unsigned long end)
{
	return pfn >= start && pfn < end;
}

/**
 * ksm_stable_prune_pfns() - forget every node whose folio was in a range
 * @start_pfn: first pfn of the range
 * @end_pfn: the pfn just past it
 *
 * For memory hot-remove. Once a range is offline, every KSM folio still in
 * use has been migrated out of it (and its node's kpfn moved along), so a
 * node still naming a pfn inside is stale. Its struct page is about to be
 * freed with the memory map, so the node is dropped without looking at the
 * folio. Caller holds ksmd's mutex, and nobody has walked the trees
 * since the range started going offline.
 */
void ksm_stable_prune_pfns(unsigned long start_pfn, unsigned long end_pfn)
{
	struct ksm_stable_node *node, *dup;
	struct hlist_node *tmp;
	struct rb_node *cur, *next;
	int nid;

	for (nid = 0; nid < nr_roots; nid++) {
		for (cur = rb_first(stable_roots + nid); cur; cur = next) {
			next = rb_next(cur);
			node = rb_entry(cur, struct ksm_stable_node, rb);
			cond_resched();
			if (node->kind != KSM_NODE_CHAIN) {
				if (pfn_in(node->kpfn, start_pfn, end_pfn))
					node_drop(node);
				continue;
			}
			hlist_for_each_entry_safe(dup, tmp, &node->hlist,
						  dup_link) {
				if (pfn_in(dup->kpfn, start_pfn, end_pfn))
					node_drop(dup);
			}
			if (hlist_empty(&node->hlist))
				chain_free(node, stable_roots + nid);
		}
	}
}

#ifdef CONFIG_KSM_KUNIT_TEST
#include "tests/stable_tree-kunit.h"
#endif
