/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksm_stress: what the worker side (ksm_stress_worker.c, ksm_stress_ops.c,
 * ksm_stress_extra.c), the environment helpers (ksm_stress_env.c) and the
 * main process (ksm_stress.c) share.
 */
#ifndef KSM_STRESS_H
#define KSM_STRESS_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "ksm_common.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE	67
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif

#define MAX_PROCS	32
#define NR_RANGES	4
#define MIN_PAGES	8
#define MAX_PAGES	96
#define THP_PAGES	512		/* a PMD of 4 KiB pages */
#define RANGE_PAGES	THP_PAGES	/* most a range can hold */
#define NR_PATTERNS	6		/* ids 1..NR_PATTERNS; id 0 is zero */
#define MEMCG_EVERY	4		/* worker ids 3, 7, ... run in a memcg */

enum op {
	OP_VERIFY, OP_WRITE_DUP, OP_WRITE_UNIQUE, OP_FORK, OP_REMAP,
	OP_MREMAP, OP_MPROTECT, OP_DONTNEED, OP_UNMERGE, OP_MIGRATE,
	OP_PAGEOUT, OP_THREADS, OP_UFFD_WP, OP_PROCMEM, OP_THP,
	OP_EXIT, NR_OPS
};

/* Shared by all processes of the test (MAP_SHARED, so never merged). */
struct shared {
	volatile int stop;
	long ops[NR_OPS];
	long mismatches;	/* pages that did not hold what they must */
	long errors;		/* unexpected syscall failures */
	long crashes;		/* workers or children that died badly */
	long oom_killed;	/* SIGKILLed in the memcg with swap */
	int memcg_swap;		/* the memcg may swap (and so thrash) */
	long pages_moved;	/* pages move_pages took to the other node */
	long move_errs;		/* move_pages returned an error (ignored) */
	long pageout_pages;	/* pages MADV_PAGEOUT was asked for */
	long swapped_pages;	/* of them, found on swap afterwards */
	long respawns;
	long thread_ops;	/* writes and checks done by worker threads */
	long threads;		/* threads started */
	long wp_pages;		/* pages write-protected with uffd */
	long wp_faults;		/* write faults uffd reported and we resolved */
	long wp_unfaulted;	/* protected pages written without a fault */
	long uffd_unavail;	/* uffd-wp not offered by the kernel */
	long procmem_self, procmem_child, procmem_parent;
	long thp_ranges;	/* 2 MiB aligned ranges mapped */
	long memcg_workers;	/* worker generations run inside the memcg */
	long memcg_join_errs;
};

extern struct shared *sh;
extern long psize;
extern uint64_t seed;
extern int have_swap, have_node1, have_thp;
extern char memcg_procs[256];	/* cgroup.procs of the test memcg, or "" */
extern const char *const op_names[NR_OPS];

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t rng_next(uint64_t *s);
unsigned int rnd(uint64_t *s, unsigned int n);
void count(long *c, long n);
void fill(char *buf, uint64_t id);
void init_patterns(void);
void __attribute__((noreturn)) worker(int id, int gen);

/* Worker side (ksm_stress_worker.c, ksm_stress_ops.c, ksm_stress_extra.c). */
#define MAX_SUB		16

struct range {
	char *addr;
	int npages;
	uint64_t exp[RANGE_PAGES];
};

extern struct range ranges[NR_RANGES];
extern int wid, wgen, in_child, no_uffd;
extern __thread int in_thread;
extern __thread uint64_t wrng;

const char *expected(uint64_t id);
uint64_t random_id(int unique);
void note(int op, int ri, int start, int n, uint64_t id);
void unexpected(const char *what, int err);
void write_page(struct range *r, int i, uint64_t id);
void report(int ri, int i);
int verify(int ri, int start, int n);
void verify_all(void);
void populate(struct range *r, int start, int n);
void map_range(int ri);
int advise(char *p, long len, int advice);
void pick_sub(struct range *r, int max, int *start, int *n);
extern int merge_any;		/* this worker did PR_SET_MEMORY_MERGE */

void op_write(int ri, int unique);
void op_fork(int ri);
void op_remap(int ri);
void op_mremap(int ri);
void op_mprotect(int ri);
void op_dontneed(int ri);
void op_unmerge(int ri);
void op_migrate(int ri, int check);
void op_pageout(int ri, int check);
void op_threads(int ri);
void op_uffd_wp(int ri);
void op_procmem(int ri);
void op_thp(int ri);
int died_badly(int status, int memcg);

/* ksm_stress_env.c */
long pcp_pages(void);
int memcg_setup(long max_bytes, int swap);
void memcg_report(long *oom_kill, long *max_hits);
extern int in_memcg;		/* this process runs in the test memcg */
void memcg_teardown(void);
void drop_caches(void);

#endif /* KSM_STRESS_H */
