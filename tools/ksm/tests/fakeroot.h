/* SPDX-License-Identifier: GPL-2.0 */
/* A throw-away directory tree that stands in for / in the host tests. */
#ifndef KSM_FAKEROOT_H
#define KSM_FAKEROOT_H

#include <stddef.h>

/* Create a new empty root under $TMPDIR; returns its path (static). */
const char *fr_create(void);
/* Write @text to @root/@rel, creating the directories on the way. */
int fr_write(const char *root, const char *rel, const char *text);
/* printf-style helper for fr_write(). */
int fr_writef(const char *root, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Read @root/@rel into @buf; returns 0 or -1. */
int fr_read(const char *root, const char *rel, char *buf, size_t len);
int fr_remove(const char *root, const char *rel);
/* A complete /sys/kernel/mm/ksm with the 6.12 defaults. */
int fr_ksm_defaults(const char *root);
/* MemTotal/MemFree/MemAvailable... in kB. */
int fr_meminfo(const char *root, unsigned long long total,
	       unsigned long long avail);
/*
 * /proc/<pid>/ksm_stat and status of a process; with @mergeable and
 * @merge_any both NULL, ksm_stat has no such lines (as on Linux 6.12).
 */
int fr_process(const char *root, int pid, const char *comm,
	       unsigned long long rss_kb, long long merging, const char *mergeable,
	       const char *merge_any, long long rmap_items);
/* /proc/<pid>/smaps: two areas, the second with VmFlags @vmflags. */
int fr_smaps(const char *root, int pid, const char *vmflags);
void fr_destroy(const char *root);

#endif /* KSM_FAKEROOT_H */
