// SPDX-License-Identifier: GPL-2.0
/*
 * demo-frames: which physical frames the guest RAM of QEMU processes maps,
 * and how many of them two or more of those processes share.
 *
 * Usage: demo-frames PID...
 *
 * For each PID it reads the page frame numbers of its MADV_MERGEABLE
 * mappings ("mg" in the VmFlags of /proc/PID/smaps; qemu's guest RAM with
 * -machine mem-merge=on) from /proc/PID/pagemap (bit 63: present, bits
 * 0-54: the frame, visible to root only) and classes each frame with
 * /proc/kpageflags: a KSM page (KPF_KSM, bit 21), the zero page or the
 * huge zero page (KPF_ZERO_PAGE, bit 24), or another page. It prints
 *
 *   pid PID pages N present N ksm N ksm_frames N zero N
 *
 * per process: the pages of its mergeable mappings, those present, those
 * mapping a KSM page and how many distinct KSM pages that is, and those
 * mapping a zero page; then
 *
 *   shared N ksm N zero_frames N
 *
 * the frames mapped by more than one of the processes, not counting the
 * zero pages (which every process may map, holding no one's data); how
 * many of them are KSM pages; and how many zero-page frames were mapped
 * by more than one. The whole reading is done twice in a row and a frame
 * counts as shared only if it was shared both times, so that a frame one
 * process freed and another allocated in between is not taken for one
 * they share. The figures per process are those of the second reading.
 *
 * Exit status 0 on success, 1 if something could not be read (run it as
 * root), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define KPF_KSM		21
#define KPF_ZERO_PAGE	24
#define CHUNK		4096	/* entries per pread() */

struct proc_frames {
	pid_t pid;
	uint64_t *pfn;		/* present frames, one per page, then sorted */
	size_t n, cap;
	size_t pages, ksm, ksm_frames, zero;
	uint64_t *uniq;		/* distinct frames other than zero pages */
	size_t nuniq;
};

static int kpf_fd = -1;
static long page_size;
/* The block of /proc/kpageflags read last (see page_flags()). */
static uint64_t kpf_block[CHUNK], kpf_base = UINT64_MAX;
static size_t kpf_valid;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		perror("demo-frames: realloc");
		exit(1);
	}
	return p;
}

static void push(uint64_t **a, size_t *n, size_t *cap, uint64_t v)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4096;
		*a = xrealloc(*a, *cap * sizeof(**a));
	}
	(*a)[(*n)++] = v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The kpageflags of @pfn. Frames are looked up in ascending order, so a
 * block of CHUNK entries is read at once and kept for the next lookups
 * (until kpf_base is reset to UINT64_MAX).
 */
static int page_flags(uint64_t pfn, uint64_t *flags)
{
	uint64_t start = pfn / CHUNK * CHUNK;

	if (start != kpf_base) {
		ssize_t r = pread(kpf_fd, kpf_block, sizeof(kpf_block), (off_t)(start * 8));

		if (r < 0) {
			perror("demo-frames: /proc/kpageflags");
			return -1;
		}
		kpf_base = start;
		kpf_valid = (size_t)r / 8;
	}
	if (pfn - kpf_base >= kpf_valid) {
		fprintf(stderr, "demo-frames: frame %#" PRIx64 " beyond /proc/kpageflags\n", pfn);
		return -1;
	}
	*flags = kpf_block[pfn - kpf_base];
	return 0;
}

/* Append the present frames of [@start, @end) of the process to @p. */
static int read_range(struct proc_frames *p, int pm_fd, uint64_t start, uint64_t end)
{
	static uint64_t ent[CHUNK];
	uint64_t vpn = start / (uint64_t)page_size, last = end / (uint64_t)page_size;

	while (vpn < last) {
		size_t want = last - vpn < CHUNK ? (size_t)(last - vpn) : CHUNK;
		ssize_t r = pread(pm_fd, ent, want * 8, (off_t)(vpn * 8));

		if (r <= 0) {
			fprintf(stderr, "demo-frames: /proc/%d/pagemap: %s\n", (int)p->pid,
				r ? strerror(errno) : "short read");
			return -1;
		}
		for (size_t i = 0; i < (size_t)r / 8; i++) {
			if (!(ent[i] & PM_PRESENT))
				continue;
			if (!(ent[i] & PM_PFN_MASK)) {
				fprintf(stderr, "demo-frames: /proc/%d/pagemap hides the frames: run as root\n",
					(int)p->pid);
				return -1;
			}
			push(&p->pfn, &p->n, &p->cap, ent[i] & PM_PFN_MASK);
		}
		p->pages += (size_t)r / 8;
		vpn += (size_t)r / 8;
	}
	return 0;
}

/* One reading of process @p: its mergeable mappings' frames, classed. */
static int read_proc(struct proc_frames *p)
{
	char path[64], *line = NULL;
	size_t len = 0, ucap = 0, i, j;
	unsigned long long start = 0, end = 0;
	int pm_fd, ret = 0, mappings = 0;
	FILE *smaps;

	p->n = p->pages = p->ksm = p->ksm_frames = p->zero = p->nuniq = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)p->pid);
	smaps = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)p->pid);
	pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!smaps || pm_fd < 0) {
		fprintf(stderr, "demo-frames: /proc/%d: %s\n", (int)p->pid, strerror(errno));
		if (smaps)
			fclose(smaps);
		if (pm_fd >= 0)
			close(pm_fd);
		return -1;
	}
	while (!ret && getline(&line, &len, smaps) > 0) {
		unsigned long long s, e;
		char *f;

		if (sscanf(line, "%llx-%llx ", &s, &e) == 2) {
			start = s;
			end = e;
			continue;
		}
		if (strncmp(line, "VmFlags:", 8))
			continue;
		for (f = strtok(line + 8, "\n "); f; f = strtok(NULL, "\n "))
			if (!strcmp(f, "mg"))
				break;
		if (f) {
			mappings++;
			ret = read_range(p, pm_fd, start, end);
		}
	}
	free(line);
	fclose(smaps);
	close(pm_fd);
	if (ret)
		return ret;
	if (!mappings) {
		fprintf(stderr, "demo-frames: process %d has no MADV_MERGEABLE mapping\n", (int)p->pid);
		return -1;
	}

	qsort(p->pfn, p->n, sizeof(*p->pfn), cmp_u64);
	kpf_base = UINT64_MAX;
	for (i = 0; i < p->n; i = j) {
		uint64_t flags;

		for (j = i + 1; j < p->n && p->pfn[j] == p->pfn[i]; j++)
			;
		if (page_flags(p->pfn[i], &flags))
			return -1;
		if (flags & (1ULL << KPF_ZERO_PAGE)) {
			p->zero += j - i;
			continue;
		}
		if (flags & (1ULL << KPF_KSM)) {
			p->ksm += j - i;
			p->ksm_frames++;
		}
		push(&p->uniq, &p->nuniq, &ucap, p->pfn[i]);
	}
	return 0;
}

/*
 * The frames (other than zero pages) in the distinct-frame lists of more
 * than one of @procs, sorted, into @out; the number of zero-page frames
 * that more than one maps into @zero_frames.
 */
static size_t shared_frames(struct proc_frames *procs, int nprocs, uint64_t **out,
			    size_t *zero_frames)
{
	uint64_t *all = NULL, *zeros = NULL;
	size_t n = 0, cap = 0, nz = 0, zcap = 0, nout = 0, ocap = 0, i, j;

	for (int k = 0; k < nprocs; k++) {
		for (i = 0; i < procs[k].nuniq; i++)
			push(&all, &n, &cap, procs[k].uniq[i]);
		/* Zero-page frames: those of p->pfn not in p->uniq. */
		for (i = 0, j = 0; i < procs[k].n; i++) {
			uint64_t v = procs[k].pfn[i];

			if (i && procs[k].pfn[i - 1] == v)
				continue;
			while (j < procs[k].nuniq && procs[k].uniq[j] < v)
				j++;
			if (j == procs[k].nuniq || procs[k].uniq[j] != v)
				push(&zeros, &nz, &zcap, v);
		}
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	*out = NULL;
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && all[j] == all[i]; j++)
			;
		if (j - i > 1)
			push(out, &nout, &ocap, all[i]);
	}
	qsort(zeros, nz, sizeof(*zeros), cmp_u64);
	*zero_frames = 0;
	for (i = 0; i < nz; i = j) {
		for (j = i + 1; j < nz && zeros[j] == zeros[i]; j++)
			;
		if (j - i > 1)
			(*zero_frames)++;
	}
	free(all);
	free(zeros);
	return nout;
}

int main(int argc, char **argv)
{
	struct proc_frames *procs;
	uint64_t *first = NULL, *second = NULL;
	size_t nfirst = 0, nsecond = 0, zero_frames = 0, both = 0, both_ksm = 0, i, j;
	int nprocs = argc - 1;

	if (nprocs < 1) {
		fprintf(stderr, "usage: demo-frames PID...\n");
		return 2;
	}
	page_size = sysconf(_SC_PAGESIZE);
	procs = calloc((size_t)nprocs, sizeof(*procs));
	if (!procs) {
		perror("demo-frames: calloc");
		return 1;
	}
	for (int k = 0; k < nprocs; k++) {
		char *end;
		long v = strtol(argv[k + 1], &end, 10);

		if (*end || v <= 0) {
			fprintf(stderr, "demo-frames: bad PID %s\n", argv[k + 1]);
			return 2;
		}
		procs[k].pid = (pid_t)v;
	}
	kpf_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (kpf_fd < 0) {
		perror("demo-frames: /proc/kpageflags");
		return 1;
	}

	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < nprocs; k++)
			if (read_proc(&procs[k]))
				return 1;
		if (pass)
			nsecond = shared_frames(procs, nprocs, &second, &zero_frames);
		else
			nfirst = shared_frames(procs, nprocs, &first, &zero_frames);
	}
	kpf_base = UINT64_MAX;
	for (i = 0, j = 0; i < nsecond; i++) {
		uint64_t flags;

		while (j < nfirst && first[j] < second[i])
			j++;
		if (j == nfirst || first[j] != second[i])
			continue;
		both++;
		if (page_flags(second[i], &flags))
			return 1;
		if (flags & (1ULL << KPF_KSM))
			both_ksm++;
	}

	for (int k = 0; k < nprocs; k++)
		printf("pid %d pages %zu present %zu ksm %zu ksm_frames %zu zero %zu\n",
		       (int)procs[k].pid, procs[k].pages, procs[k].n, procs[k].ksm,
		       procs[k].ksm_frames, procs[k].zero);
	printf("shared %zu ksm %zu zero_frames %zu\n", both, both_ksm, zero_frames);
	return 0;
}
