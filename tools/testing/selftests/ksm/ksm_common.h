/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by the project's KSM selftests: KTAP output in the
 * kselftest style and access to /sys/kernel/mm/ksm.
 */
#ifndef KSM_COMMON_H
#define KSM_COMMON_H

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "ksm_files.h"

#define KSM_DIR "/sys/kernel/mm/ksm/"
#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

static int ktap_n, ktap_fail;

static inline void ktap_plan(int n)
{
	printf("TAP version 13\n1..%d\n", n);
	fflush(stdout);
}

static inline void ktap_result(int ok, const char *fmt, ...)
{
	va_list ap;

	ktap_n++;
	if (!ok)
		ktap_fail++;
	printf("%s %d ", ok ? "ok" : "not ok", ktap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static inline void ktap_skip(const char *fmt, ...)
{
	va_list ap;

	ktap_n++;
	printf("ok %d ", ktap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP\n");
	fflush(stdout);
}

static inline int ktap_exit(void)
{
	return ktap_fail ? KSFT_FAIL : KSFT_PASS;
}

/* Open a knob for reading or writing; a descriptor or -errno. */
static inline int ksm_open(const char *name, int flags)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	fd = open(path, flags);
	return fd < 0 ? -errno : fd;
}

/* Read a knob into buf (trailing newline removed); -errno on failure. */
static inline int ksm_read(const char *name, char *buf, size_t len)
{
	int fd = ksm_open(name, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

/* Write a string to a knob; 0 or -errno. */
static inline int ksm_write(const char *name, const char *val)
{
	int fd = ksm_open(name, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

static inline long ksm_get(const char *name)
{
	char buf[64];

	if (ksm_read(name, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

static inline int ksm_set(const char *name, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", val);
	return ksm_write(name, buf);
}

static inline long self_merging_pages(void)
{
	char buf[64];
	ssize_t n;
	int fd = open("/proc/self/ksm_merging_pages", O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/* Let ksmd run fast until pages_sharing >= want or timeout. */
static inline int ksm_wait_sharing(long want, int timeout_s)
{
	time_t end = time(NULL) + timeout_s;
	long start = ksm_get("full_scans");

	ksm_set("pages_to_scan", 5000);
	ksm_set("sleep_millisecs", 0);
	ksm_set("run", 1);
	while (time(NULL) < end) {
		/* Two full rounds past our setup make a fair chance. */
		if (ksm_get("pages_sharing") >= want &&
		    ksm_get("full_scans") >= start + 2)
			return 0;
		usleep(10000);
	}
	return -1;
}

/*
 * Let ksmd run at full speed and wait until this process's count of
 * merged pages (/proc/self/ksm_merging_pages) is within [lo, hi].
 */
static inline int wait_self_merging(long lo, long hi, int timeout_s)
{
	time_t end = time(NULL) + timeout_s;
	long n;

	ksm_set("pages_to_scan", 5000);
	ksm_set("sleep_millisecs", 0);
	ksm_set("run", 1);
	do {
		n = self_merging_pages();
		if (n >= lo && n <= hi)
			return 0;
		usleep(10000);
	} while (time(NULL) < end);
	return -1;
}

/* Map n pages, all filled with byte c, advised mergeable. */
static inline char *map_same(int n, char c)
{
	long psz = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, n * psz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, c, n * psz);
	if (madvise(p, n * psz, MADV_MERGEABLE)) {
		munmap(p, n * psz);
		return NULL;
	}
	return p;
}

/* Do the n pages at p hold nothing but byte c? */
static inline int all_bytes(const char *p, int n, char c)
{
	long i, len = n * sysconf(_SC_PAGESIZE);

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

/* A diagnostic line in the TAP stream. */
static inline void ksm_print_msg(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* With ksmd running, wait until no page is counted as shared. */
static inline int wait_sharing_zero(int timeout_s)
{
	time_t end = time(NULL) + timeout_s;

	ksm_set("run", 1);
	do {
		if (ksm_get("pages_sharing") == 0 &&
		    ksm_get("pages_shared") == 0)
			return 0;
		usleep(10000);
	} while (time(NULL) < end);
	return -1;
}

/* Wait until this process has at least want merged pages. */
static inline int wait_self_merged(long want, int timeout_s)
{
	return wait_self_merging(want, LONG_MAX, timeout_s);
}

/*
 * After MADV_UNMERGEABLE the pages are private again at once, but, as in
 * mainline, the count in /proc/self/ksm_merging_pages falls only when
 * ksmd next passes the range and drops what it knew of it.
 */
static inline int wait_self_unmerged(int timeout_s)
{
	return wait_self_merging(0, 0, timeout_s);
}

#endif /* KSM_COMMON_H */
