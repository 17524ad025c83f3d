// SPDX-License-Identifier: GPL-2.0
/*
 * The helpers the project's KSM selftests share (see ksm_common.h): one
 * copy of each, linked into every program.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include "ksm_common.h"

/*
 * Line-buffered output whatever stdout is, as under the runner's
 * pseudo-terminal: every line is out before the next fork, so a child
 * never prints its parent's buffered lines again, and before a crash.
 */
static void __attribute__((constructor)) ksm_line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* ---- ksmd's knobs and counters ---- */

int ksm_read(const char *name, char *buf, size_t len)
{
	char path[256];
	size_t n;
	int err;

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	err = read_file(path, buf, len);
	if (err)
		return err;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

int ksm_write(const char *name, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	return write_file(path, val);
}

long ksm_get(const char *name)
{
	char buf[64];

	if (ksm_read(name, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

int ksm_set(const char *name, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", val);
	return ksm_write(name, buf);
}

#define MAX_SAVED 16

static struct {
	const char *name;
	char val[64];
} saved_knob[MAX_SAVED];
static int nr_saved;

void ksm_save_knobs(const char *const *names)
{
	nr_saved = 0;
	for (; *names && nr_saved < MAX_SAVED; names++) {
		if (ksm_read(*names, saved_knob[nr_saved].val,
			     sizeof(saved_knob[nr_saved].val)))
			continue;	/* not in this kernel */
		saved_knob[nr_saved++].name = *names;
	}
}

void ksm_restore_knobs(void)
{
	int i, err;

	ksm_set("run", 2);
	for (i = 0; i < nr_saved; i++) {
		err = ksm_write(saved_knob[i].name, saved_knob[i].val);
		if (err)
			ksft_print_msg("cannot restore %s to %s: %s\n",
				       saved_knob[i].name, saved_knob[i].val,
				       strerror(-err));
	}
}

long self_merging_pages(void)
{
	char buf[64];

	if (read_file("/proc/self/ksm_merging_pages", buf, sizeof(buf)) ||
	    !buf[0])
		return -1;
	return strtol(buf, NULL, 10);
}

int ksm_wait_sharing(long want, int timeout_s)
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

int wait_self_merging(long lo, long hi, int timeout_s)
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

int wait_self_merged(long want, int timeout_s)
{
	return wait_self_merging(want, LONG_MAX, timeout_s);
}

int wait_self_unmerged(int timeout_s)
{
	return wait_self_merging(0, 0, timeout_s);
}

int wait_sharing_zero(int timeout_s)
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

int wait_rounds(long n, int timeout_s)
{
	long want = ksm_get("full_scans") + n;
	time_t end = time(NULL) + timeout_s;

	while (time(NULL) < end) {
		if (ksm_get("full_scans") >= want)
			return 0;
		usleep(5000);
	}
	return -1;
}

long sys_move_pages(int count, void **pages, const int *nodes, int *status,
		    int flags)
{
	return syscall(SYS_move_pages, 0, count, pages, nodes, status, flags);
}

double mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- Pages to merge ---- */

char *map_same(int n, char c)
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

int all_bytes(const char *p, int n, char c)
{
	long i, len = n * sysconf(_SC_PAGESIZE);

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

void fill_unique_pages(char *p, long n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	uint64_t *w = (uint64_t *)p;
	long i, words = n * sysconf(_SC_PAGESIZE) / 8;

	/* xorshift64, plus the index so that no two words repeat. */
	for (i = 0; i < words; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x + i;
	}
}

/* ---- Whole files ---- */

long keyed_value(const char *path, const char *key)
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

int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/*
 * Empty the trace buffer. Opening "trace" for writing with O_TRUNC is what
 * clears it; a write of nothing without O_TRUNC leaves it as it was.
 */
int trace_clear(void)
{
	int fd = open(TRACE_DIR "trace", O_WRONLY | O_TRUNC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	size_t n = 0;
	ssize_t r = 0;

	if (fd < 0)
		return -errno;
	/* A sysfs value comes in one read(), a trace buffer in many. */
	while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += r;
	buf[n] = 0;
	if (r < 0 && !n) {
		r = -errno;
		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

long vmstat(const char *key)
{
	return keyed_value("/proc/vmstat", key);
}

long meminfo(const char *key)
{
	char k[128];
	long kb;

	snprintf(k, sizeof(k), "%s:", key);
	kb = keyed_value("/proc/meminfo", k);
	return kb < 0 ? 0 : kb;
}

void slab_shrink(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", name);
	write_file(path, "1");
}

int slab_active(const char *name, long *active)
{
	char line[512], cache[64];
	int ret = -1;
	long a;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld", cache, &a) == 2 &&
		    !strcmp(cache, name)) {
			*active = a;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

int cg_make(const char *dir)
{
	int err = write_file(CGROUP_DIR "cgroup.subtree_control", "+memory");

	if (err)
		ksft_print_msg("enabling the memory controller: %s\n",
			       strerror(-err));
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int cg_join(const char *dir, pid_t pid)
{
	char path[256], val[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(val, sizeof(val), "%d", (int)pid);
	return write_file(path, val);
}

int zram_swap_ready(void)
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

/* ---- Page tables ---- */

int pagemap_entries(const void *p, int n, uint64_t *ent)
{
	long psz = sysconf(_SC_PAGESIZE);
	int i, fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return -1;
	for (i = 0; i < n; i++)
		ent[i] = pagemap_get_entry(fd, (char *)p + i * psz);
	close(fd);
	return 0;
}

uint64_t pagemap_entry(const void *p)
{
	uint64_t ent;

	return pagemap_entries(p, 1, &ent) ? 0 : ent;
}

uint64_t pfn_of(const void *p)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	unsigned long pfn;

	if (fd < 0)
		return 0;
	pfn = pagemap_get_pfn(fd, (char *)p);
	close(fd);
	return pfn == -1UL ? 0 : pfn;
}

int pages_swapped(const void *p, int n)
{
	long psz = sysconf(_SC_PAGESIZE);
	int i, out = 0, fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return -1;
	for (i = 0; i < n; i++)
		out += !!(pagemap_get_entry(fd, (char *)p + i * psz) & PM_SWAP);
	close(fd);
	return out;
}

uint64_t kpage_entry(const char *file, uint64_t pfn)
{
	uint64_t ent = 0;
	int fd = open(file, O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), pfn * sizeof(ent)) != sizeof(ent))
		ent = 0;
	close(fd);
	return ent;
}

int smaps_line(const void *addr, const char *key, char *buf, size_t len)
{
	unsigned long s, e, a = (unsigned long)addr;
	size_t klen = strlen(key);
	int in = 0, ret = -1;
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* A vma's first line: "start-end perms ...", in hex. */
		if (line[strspn(line, "0123456789abcdef")] == '-' &&
		    sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			if (in)
				break;
			in = a >= s && a < e;
			continue;
		}
		if (in && !strncmp(line, key, klen)) {
			snprintf(buf, len, "%s", line);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}
