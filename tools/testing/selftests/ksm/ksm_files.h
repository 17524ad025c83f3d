/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File helpers shared by the project's KSM selftests: whole-value reads
 * and writes of sysfs/procfs files, and a zram swap device for the tests
 * that push merged pages out.
 */
#ifndef KSM_FILES_H
#define KSM_FILES_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The value of the "key value" line named @key in a file such as
 * /proc/vmstat or memory.events; -1 if there is none.
 */
static inline long keyed_value(const char *path, const char *key)
{
	char line[256], k[128];
	long v, found = -1;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", k, &v) == 2 && !strcmp(k, key))
			found = v;
	if (f)
		fclose(f);
	return found;
}

/* Write @val to @path in one write(); 0 or -errno. */
static inline int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Read @path into @buf (NUL-terminated, at most @len - 1 bytes); 0 or -errno. */
static inline int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* Does /proc/swaps list a zram device? Sets one up (128 MiB) if not. */
static inline int zram_swap_ready(void)
{
	char line[256];
	FILE *f;
	int found = 0;

	if (system("grep -q zram0 /proc/swaps 2>/dev/null") == 0)
		return 1;
	if (access("/sys/block/zram0", F_OK) &&
	    system("modprobe zram >/dev/null 2>&1"))
		return 0;
	if (write_file("/sys/block/zram0/disksize", "128M"))
		return 0;
	if (system("mkswap /dev/zram0 >/dev/null 2>&1 && swapon /dev/zram0 2>/dev/null"))
		return 0;
	f = fopen("/proc/swaps", "r");
	while (f && fgets(line, sizeof(line), f))
		found |= !!strstr(line, "zram0");
	if (f)
		fclose(f);
	return found;
}

/* The /proc/self/pagemap entry of the page at @p; 0 on error. */
static inline uint64_t pagemap_entry(const void *p)
{
	long psz = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t ent = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, 8, (uintptr_t)p / psz * 8) != 8)
		ent = 0;
	close(fd);
	return ent;
}

/* Frame number mapped at @p in this process (needs root); 0 if none. */
static inline uint64_t pfn_of(const void *p)
{
	uint64_t ent = pagemap_entry(p);

	if (!(ent & (1ULL << 63)))
		return 0;
	return ent & ((1ULL << 55) - 1);
}

#endif /* KSM_FILES_H */
