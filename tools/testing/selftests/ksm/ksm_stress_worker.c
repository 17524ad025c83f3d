// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_stress workers' main loop: draw an operation by weight among those
 * this machine allows, do it on a random range (ksm_stress_ops.c and
 * ksm_stress_extra.c have the operations), check everything now and then,
 * and leave now and then with everything mapped.
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include "ksm_stress.h"

#define EXIT_ONE_IN	1500		/* chance per operation to exit */

/* Relative weights; OP_EXIT is drawn apart (EXIT_ONE_IN). */
static const int op_weight[NR_OPS] = {
	[OP_VERIFY] = 20, [OP_WRITE_DUP] = 24, [OP_WRITE_UNIQUE] = 8,
	[OP_FORK] = 2, [OP_REMAP] = 3, [OP_MREMAP] = 3, [OP_MPROTECT] = 4,
	[OP_DONTNEED] = 5, [OP_UNMERGE] = 3, [OP_MIGRATE] = 4,
	[OP_PAGEOUT] = 3, [OP_THREADS] = 2, [OP_UFFD_WP] = 2,
	[OP_PROCMEM] = 3, [OP_THP] = 1,
};

static int op_allowed(int op)
{
	switch (op) {
	case OP_MIGRATE:
		return have_node1;
	case OP_PAGEOUT:
		return have_swap;
	case OP_UFFD_WP:
		return !no_uffd;
	case OP_THP:
		return have_thp;
	default:
		return 1;
	}
}

static int pick_op(void)
{
	int total = 0, op, x;

	for (op = 0; op < NR_OPS; op++)
		if (op_allowed(op))
			total += op_weight[op];
	x = rnd(&wrng, total);
	for (op = 0; op < NR_OPS; op++) {
		if (!op_allowed(op))
			continue;
		if (x < op_weight[op])
			return op;
		x -= op_weight[op];
	}
	return OP_VERIFY;
}

void __attribute__((noreturn)) worker(int id, int gen)
{
	unsigned long nops = 0;
	int ri, op;

	wid = id;
	wgen = gen;
	wrng = seed ^ (0x2545f4914f6cdd1dULL * (id + 1)) ^
	       (0x9e3779b97f4a7c15ULL * (gen + 1));
	rng_next(&wrng);
	if (memcg_procs[0] && id % MEMCG_EVERY == MEMCG_EVERY - 1) {
		/* Into the memcg whose memory.max is close to our size. */
		if (write_file(memcg_procs, "0")) {
			count(&sh->memcg_join_errs, 1);
			unexpected("joining the memory cgroup", EIO);
		} else {
			count(&sh->memcg_workers, 1);
			in_memcg = 1;
		}
	}
	if (id == 0) {
		if (prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0))
			unexpected("prctl(PR_SET_MEMORY_MERGE)", errno);
		else
			merge_any = 1;
	}
	for (ri = 0; ri < NR_RANGES; ri++)
		map_range(ri);

	while (!sh->stop) {
		op = pick_op();
		ri = rnd(&wrng, NR_RANGES);
		switch (op) {
		case OP_VERIFY:
			verify(ri, 0, ranges[ri].npages);
			break;
		case OP_WRITE_DUP:
			op_write(ri, 0);
			break;
		case OP_WRITE_UNIQUE:
			op_write(ri, 1);
			break;
		case OP_FORK:
			op_fork(ri);
			break;
		case OP_REMAP:
			op_remap(ri);
			break;
		case OP_MREMAP:
			op_mremap(ri);
			break;
		case OP_MPROTECT:
			op_mprotect(ri);
			break;
		case OP_DONTNEED:
			op_dontneed(ri);
			break;
		case OP_UNMERGE:
			op_unmerge(ri);
			break;
		case OP_MIGRATE:
			op_migrate(ri, 1);
			break;
		case OP_PAGEOUT:
			op_pageout(ri, 1);
			break;
		case OP_THREADS:
			op_threads(ri);
			break;
		case OP_UFFD_WP:
			op_uffd_wp(ri);
			break;
		case OP_PROCMEM:
			op_procmem(ri);
			break;
		case OP_THP:
			op_thp(ri);
			break;
		}
		count(&sh->ops[op], 1);
		if (!(++nops % 64))
			verify_all();
		if (!rnd(&wrng, EXIT_ONE_IN)) {
			/* Leave with everything mapped, while ksmd scans. */
			verify_all();
			count(&sh->ops[OP_EXIT], 1);
			_exit(0);
		}
		usleep(rnd(&wrng, 2000));
	}
	verify_all();
	_exit(0);
}
