// SPDX-License-Identifier: GPL-2.0
/*
 * The scan-time advisor: with advisor_mode "scan-time", ksmd retunes
 * pages_to_scan after every round so that a round takes about
 * advisor_target_scan_time seconds, within advisor_max_cpu percent of a
 * CPU and the advisor_{min,max}_pages_to_scan bounds. Changes are smoothed
 * by an exponentially weighted moving average (weight 30% on the newest
 * sample).
 */
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/sched/cputime.h>
#include <trace/events/ksm.h>

#include "ksm_internal.h"

#define ADVISOR_MIN_CPU		10	/* percent */
#define ADVISOR_EWMA_NEW	30	/* percent weight of the new sample */

static struct {
	ktime_t round_start;		/* when the current round began */
	unsigned long last_scan_s;	/* length of the previous round */
	unsigned long change;		/* smoothed change, percent */
	unsigned long long cpu_ns;	/* ksmd's runtime at the last update */
} adv;

/**
 * ksm_advisor_reset() - advisor_mode changed: start from its defaults
 */
void ksm_advisor_reset(void)
{
	if (ksm_knobs.advisor == KSM_ADVISOR_SCAN_TIME) {
		memset(&adv, 0, sizeof(adv));
		WRITE_ONCE(ksm_knobs.pages_to_scan, ksm_knobs.advisor_min_pages);
	} else {
		WRITE_ONCE(ksm_knobs.pages_to_scan, 100);
	}
}

/**
 * ksm_advisor_round_start() - note when a round begins
 */
void ksm_advisor_round_start(void)
{
	if (ksm_knobs.advisor == KSM_ADVISOR_SCAN_TIME)
		adv.round_start = ktime_get();
}

static unsigned long nonzero(unsigned long v)
{
	return v ? v : 1;
}

/*
 * The advisor's arithmetic, free of state: the new pages_to_scan after a
 * round of @scan_s seconds (at least 1) at @pages, the round before it
 * having lasted @prev_scan_s (0 if none), in which ksmd used @cpu_ms of
 * CPU. *@change is the smoothed change so far, updated here.
 */
static unsigned long advisor_next_pages(unsigned long pages,
					unsigned long scan_s,
					unsigned long prev_scan_s,
					unsigned long cpu_ms,
					unsigned long *change)
{
	unsigned long cpu_pct, target_pct, step, cost, next;

	scan_s = nonzero(scan_s);
	if (!prev_scan_s)
		prev_scan_s = scan_s;
	cpu_pct = (unsigned int)(cpu_ms * 100 / (scan_s * 1000));
	cpu_pct = nonzero(cpu_pct);

	/* How far the round was from the target, in percent. */
	target_pct = nonzero(ksm_knobs.advisor_target_scan_time * 100 / scan_s);
	/* How the round compared to the previous one, smoothed. */
	step = nonzero(scan_s * 100 / prev_scan_s);
	step = ((100 - ADVISOR_EWMA_NEW) * *change +
		ADVISOR_EWMA_NEW * step) / 100;
	*change = step;

	next = pages * 100 / target_pct;
	next = next * step / 100;

	/* Keep within the CPU budget, estimated from this round's cost. */
	cost = nonzero(pages / cpu_pct);
	next = min(next, cost * ksm_knobs.advisor_max_cpu);
	next = max(next, cost * ADVISOR_MIN_CPU);
	return min(next, ksm_knobs.advisor_max_pages);
}

/**
 * ksm_advisor_round_end() - retune pages_to_scan after a round
 */
void ksm_advisor_round_end(void)
{
	unsigned long long now_ns;
	unsigned long scan_s, cpu_ms, pages;

	if (ksm_knobs.advisor != KSM_ADVISOR_SCAN_TIME)
		return;
	scan_s = div_s64(ktime_ms_delta(ktime_get(), adv.round_start),
			 MSEC_PER_SEC);
	scan_s = nonzero(scan_s);
	now_ns = task_sched_runtime(current);
	cpu_ms = div_u64(now_ns - adv.cpu_ns, NSEC_PER_MSEC);

	pages = advisor_next_pages(ksm_knobs.pages_to_scan, scan_s,
				   adv.last_scan_s, cpu_ms, &adv.change);
	adv.last_scan_s = scan_s;
	adv.cpu_ns = now_ns;
	WRITE_ONCE(ksm_knobs.pages_to_scan, pages);
	trace_ksm_advisor(scan_s, pages,
			  nonzero(cpu_ms * 100 / (scan_s * 1000)));
}

#ifdef CONFIG_KSM_KUNIT_TEST
#include "tests/advisor-kunit.h"
#endif
