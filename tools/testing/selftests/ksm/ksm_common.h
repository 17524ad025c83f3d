/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every program of the project's KSM selftests shares; the code is in
 * ksm_common.c, linked into each of them. Results and diagnostics go out
 * through kselftest.h; the pagemap bits and readers are selftests/mm's
 * vm_util, used as they are in the source tree.
 */
#ifndef KSM_COMMON_H
#define KSM_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "../kselftest.h"

/*
 * vm_util.h has an inline psize(), a name our programs give their page
 * size variable: rename it while the header is read. (vm_util.h has no
 * include guard; this header is its only includer.)
 */
#define psize vm_util_psize
#define pshift vm_util_pshift
#include "../mm/vm_util.h"
#undef psize
#undef pshift

#define KSM_DIR		"/sys/kernel/mm/ksm/"
#define TRACE_DIR	"/sys/kernel/tracing/"
#define CGROUP_DIR	"/sys/fs/cgroup/"

/* ---- ksmd's knobs and counters in /sys/kernel/mm/ksm ---- */

/* Read a knob into buf (trailing newline removed); 0 or -errno. */
int ksm_read(const char *name, char *buf, size_t len);
/* Write a string to a knob; 0 or -errno. */
int ksm_write(const char *name, const char *val);
/* A knob's value as a number; -1 if it cannot be read. */
long ksm_get(const char *name);
/* Write a number to a knob; 0 or -errno. */
int ksm_set(const char *name, long val);

/*
 * Remember the knobs of the NULL-terminated list @names as they read now;
 * ksm_restore_knobs() sets run=2 (some knobs refuse changes while KSM
 * pages exist), then writes them back in the order of the list.
 */
void ksm_save_knobs(const char *const *names);
void ksm_restore_knobs(void);

/* This process's /proc/self/ksm_merging_pages; -1 on error. */
long self_merging_pages(void);
/* Let ksmd run fast until pages_sharing >= want and two more rounds. */
int ksm_wait_sharing(long want, int timeout_s);
/* Let ksmd run fast until ksm_merging_pages is within [lo, hi]. */
int wait_self_merging(long lo, long hi, int timeout_s);
/* Wait until this process has at least want merged pages. */
int wait_self_merged(long want, int timeout_s);
/*
 * After MADV_UNMERGEABLE the pages are private again at once, but, as in
 * mainline, the count in /proc/self/ksm_merging_pages falls only when
 * ksmd next passes the range and drops what it knew of it.
 */
int wait_self_unmerged(int timeout_s);
/* With ksmd running, wait until no page is counted as shared. */
int wait_sharing_zero(int timeout_s);
/* Wait until ksmd has finished @n more full rounds; 0 or -1 on timeout. */
int wait_rounds(long n, int timeout_s);

/* move_pages(2) of this process, without libnuma. */
long sys_move_pages(int count, void **pages, const int *nodes, int *status,
		    int flags);
/* CLOCK_MONOTONIC in seconds. */
double mono_seconds(void);

/* ---- Pages to merge ---- */

/* Map n pages, all filled with byte c, advised mergeable. */
char *map_same(int n, char c);
/* Do the n pages at p hold nothing but byte c? */
int all_bytes(const char *p, int n, char c);
/* Fill n pages with content no other page in the system has. */
void fill_unique_pages(char *p, long n, uint64_t seed);

/* ---- Whole files of sysfs, procfs, cgroupfs and tracefs ---- */

/*
 * The value of the "key value" line named @key in a file such as
 * /proc/vmstat, /proc/meminfo ("MemFree:") or memory.events; -1 if none.
 */
long keyed_value(const char *path, const char *key);
/* Write @val to @path in one write(); 0 or -errno. */
int write_file(const char *path, const char *val);
int trace_clear(void);
/* Read @path into @buf (NUL-terminated, at most @len - 1 bytes); 0 or -errno. */
int read_file(const char *path, char *buf, size_t len);
/* A /proc/vmstat counter; -1 if the kernel has no such line. */
long vmstat(const char *key);
/* A /proc/meminfo line ("MemTotal") in kB; 0 if there is none. */
long meminfo(const char *key);
/* Ask SLUB to give back the per-CPU slabs of cache @name. */
void slab_shrink(const char *name);
/* Active objects of a cache per /proc/slabinfo; 0, or -1 if not listed. */
int slab_active(const char *name, long *active);

/*
 * A child of the root cgroup with the memory controller on (made if
 * need be); 0 or -errno.
 */
int cg_make(const char *dir);
/* Move process @pid into cgroup @dir (CGROUP_DIR for the root); 0 or -errno. */
int cg_join(const char *dir, pid_t pid);

/* Does /proc/swaps list a zram device? Sets one up (128 MiB) if not. */
int zram_swap_ready(void);

/* ---- Page tables: pagemap (vm_util), kpageflags, smaps ---- */

/* The /proc/self/pagemap entry of the page at @p; 0 on error. */
uint64_t pagemap_entry(const void *p);
/* The pagemap entries of the @n pages at @p; 0 or -1. */
int pagemap_entries(const void *p, int n, uint64_t *ent);
/* Frame number mapped at @p in this process (needs root); 0 if none. */
uint64_t pfn_of(const void *p);
/* How many of the n pages at p are out on swap (PM_SWAP)? -1 on error. */
int pages_swapped(const void *p, int n);
/* The 64-bit entry of frame @pfn in /proc/kpageflags or /proc/kpagecgroup. */
uint64_t kpage_entry(const char *file, uint64_t pfn);
/*
 * The line of /proc/self/smaps that starts with @key ("VmFlags:",
 * "AnonHugePages:") in the block of the vma that holds @addr; 0 or -1.
 */
int smaps_line(const void *addr, const char *key, char *buf, size_t len);

#endif /* KSM_COMMON_H */
