// SPDX-License-Identifier: GPL-2.0
/*
 * How mms and vmas come to KSM and leave it: madvise(MADV_MERGEABLE /
 * MADV_UNMERGEABLE), prctl(PR_SET_MEMORY_MERGE), fork, exec and exit.
 *
 * An mm is registered (MMF_VM_MERGEABLE, a slot on ksmd's list, a grab
 * on the mm) the first time one of its vmas becomes mergeable, and stays
 * registered until it exits or ksmd finds no mergeable vma left in it.
 * MMF_VM_MERGE_ANY (prctl) makes every compatible vma mergeable, now and
 * whenever one is created; it survives fork and exec.
 */
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/ksm.h>
#include <linux/sched/mm.h>
#include <linux/sched/coredump.h>
#include <linux/export.h>
#include <trace/events/ksm.h>

#include "ksm_internal.h"

/* Architecture vma flags that KSM must keep away from, if any. */
#if defined(VM_SAO)
#define KSM_ARCH_UNFIT	VM_SAO
#elif defined(VM_SPARC_ADI)
#define KSM_ARCH_UNFIT	VM_SPARC_ADI
#else
#define KSM_ARCH_UNFIT	VM_NONE
#endif

/*
 * Can KSM work on this vma at all? Only private anonymous-capable memory
 * that is not special (pfn maps, io, hugetlb, dax, ...) qualifies; advice
 * on anything else is quietly ignored, as in mainline.
 */
static bool vma_mergeable_kind(struct vm_area_struct *vma)
{
	const vm_flags_t unfit = VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO |
				 VM_DONTEXPAND | VM_HUGETLB | VM_MIXEDMAP |
				 VM_DROPPABLE | KSM_ARCH_UNFIT;

	return !(vma->vm_flags & unfit) && !vma_is_dax(vma);
}

/* Make sure ksmd knows @mm. Return: 0 or -ENOMEM. */
static int ensure_registered(struct mm_struct *mm)
{
	return test_bit(MMF_VM_MERGEABLE, &mm->flags) ? 0 : __ksm_enter(mm);
}

static void vma_set_mergeable(struct vm_area_struct *vma)
{
	if (vma_mergeable_kind(vma) && !(vma->vm_flags & VM_MERGEABLE))
		vm_flags_set(vma, VM_MERGEABLE);
}

/**
 * ksm_add_vma() - make a new vma mergeable if its mm asked for all
 * @vma: the vma being created (mmap, brk)
 */
void ksm_add_vma(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;

	if (!test_bit(MMF_VM_MERGE_ANY, &mm->flags))
		return;
	vma_set_mergeable(vma);
	/*
	 * ksmd may have dropped the mm when it had no mergeable vma. Out of
	 * memory here, the vma is merely not scanned until the next mmap.
	 */
	ensure_registered(mm);
}

/**
 * ksm_enable_merge_any() - PR_SET_MEMORY_MERGE=1
 * @mm: the current mm, mmap_lock held for writing
 *
 * Return: 0 or -ENOMEM.
 */
int ksm_enable_merge_any(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	int err;

	VMA_ITERATOR(vmi, mm, 0);

	if (!test_bit(MMF_VM_MERGE_ANY, &mm->flags)) {
		err = ensure_registered(mm);
		if (err)
			return err;
		set_bit(MMF_VM_MERGE_ANY, &mm->flags);
		for_each_vma(vmi, vma)
			vma_set_mergeable(vma);
		ksm_note_new_candidates(mm);
	}
	return 0;
}

/*
 * Take every vma of @mm out of KSM: unshare what was merged, then clear
 * VM_MERGEABLE. Stops at the first error, leaving the rest as they were.
 */
static int clear_all_vmas(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	int err = 0;

	VMA_ITERATOR(vmi, mm, 0);

	for_each_vma(vmi, vma) {
		if (!(vma->vm_flags & VM_MERGEABLE))
			continue;
		if (vma->anon_vma)
			err = ksm_unmerge_range(vma, vma->vm_start,
						vma->vm_end, true);
		if (err)
			break;
		vm_flags_clear(vma, VM_MERGEABLE);
	}
	return err;
}

/**
 * ksm_disable_merge_any() - PR_SET_MEMORY_MERGE=0
 * @mm: the current mm, mmap_lock held for writing
 *
 * Unmerges like MADV_UNMERGEABLE on every vma; if that fails, every
 * compatible vma is left mergeable and the mode stays on.
 *
 * Return: 0, -ENOMEM or -ERESTARTSYS.
 */
int ksm_disable_merge_any(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	int err;

	VMA_ITERATOR(vmi, mm, 0);

	if (!test_bit(MMF_VM_MERGE_ANY, &mm->flags))
		return 0;
	err = clear_all_vmas(mm);
	if (!err) {
		clear_bit(MMF_VM_MERGE_ANY, &mm->flags);
		return 0;
	}
	/* Leave the mode as it was: every compatible vma mergeable. */
	for_each_vma(vmi, vma)
		vma_set_mergeable(vma);
	return err;
}

/**
 * ksm_disable() - turn KSM off for an mm (e.g. before s390 gmap setup)
 * @mm: the mm, mmap_lock held for writing
 *
 * Return: 0 or an unmerge error.
 */
int ksm_disable(struct mm_struct *mm)
{
	mmap_assert_write_locked(mm);
	/* Merge-any mode is undone as a whole, vma flags and mode bit. */
	if (test_bit(MMF_VM_MERGE_ANY, &mm->flags))
		return ksm_disable_merge_any(mm);
	return test_bit(MMF_VM_MERGEABLE, &mm->flags) ? clear_all_vmas(mm) : 0;
}

/**
 * ksm_madvise() - MADV_MERGEABLE and MADV_UNMERGEABLE
 * @vma: the vma (mmap_lock held for writing)
 * @start: start of the advised range within @vma
 * @end: end of the advised range
 * @advice: MADV_MERGEABLE or MADV_UNMERGEABLE
 * @vm_flags: the vma's flags to update
 *
 * Return: 0, or -ENOMEM (registration), -ENOMEM/-ERESTARTSYS (unmerge).
 */
int ksm_madvise(struct vm_area_struct *vma, unsigned long start,
		unsigned long end, int advice, unsigned long *vm_flags)
{
	struct mm_struct *mm = vma->vm_mm;
	int err;

	if (advice == MADV_MERGEABLE) {
		if ((vma->vm_flags & VM_MERGEABLE) || !vma_mergeable_kind(vma))
			return 0;
		err = ensure_registered(mm);
		if (err)
			return err;
		*vm_flags |= VM_MERGEABLE;
		ksm_note_new_candidates(mm);
	} else if (advice == MADV_UNMERGEABLE) {
		if (!(*vm_flags & VM_MERGEABLE))
			return 0;
		if (vma->anon_vma) {
			err = ksm_unmerge_range(vma, start, end, true);
			if (err)
				return err;
		}
		*vm_flags &= ~VM_MERGEABLE;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(ksm_madvise);

/**
 * __ksm_enter() - register an mm with ksmd
 * @mm: the mm
 *
 * Return: 0 or -ENOMEM.
 */
int __ksm_enter(struct mm_struct *mm)
{
	int err = ksm_register_mm(mm);

	if (!err)
		trace_ksm_enter(mm);
	return err;
}

/**
 * __ksm_exit() - an mm with MMF_VM_MERGEABLE is being torn down
 * @mm: the mm
 *
 * See ksm_unregister_mm().
 */
void __ksm_exit(struct mm_struct *mm)
{
	/*
	 * exec's error path (__bprm_mm_init()) calls in with the new mm
	 * still in use and its mmap_lock held for writing: waiting for
	 * ksmd here would wait for ourselves if ksmd's cursor is on the
	 * slot. The mmput() that follows brings the mm back here with
	 * mm_users at zero; until then ksmd may only find it empty.
	 */
	if (atomic_read(&mm->mm_users)) {
		mmap_assert_write_locked(mm);
		return;
	}
	ksm_unregister_mm(mm);
	trace_ksm_exit(mm);
}

#ifdef CONFIG_PROC_FS
/**
 * ksm_process_mergeable() - does any vma of @mm let KSM merge its pages?
 * @mm: the mm, mmap_lock held
 *
 * Return: true if some vma of @mm is VM_MERGEABLE.
 */
bool ksm_process_mergeable(struct mm_struct *mm)
{
	struct vm_area_struct *vma;

	VMA_ITERATOR(vmi, mm, 0);

	mmap_assert_locked(mm);
	for_each_vma(vmi, vma)
		if (vma->vm_flags & VM_MERGEABLE)
			return true;
	return false;
}

/**
 * ksm_process_profit() - bytes an mm saves through KSM, net of metadata
 * @mm: the mm
 *
 * Return: (merged pages + KSM zero pages) * PAGE_SIZE - item bytes.
 */
long ksm_process_profit(struct mm_struct *mm)
{
	return (long)(mm->ksm_merging_pages + mm_ksm_zero_pages(mm)) *
		PAGE_SIZE - mm->ksm_rmap_items * sizeof(struct ksm_rmap_item);
}
#endif
