// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_stress workers, the operations that need more than one thread or
 * process: threads sharing a range, userfaultfd write-protect, writes
 * through /proc/<pid>/mem; and 2 MiB aligned ranges for THP.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/userfaultfd.h>
#include "ksm_stress.h"

#define MAX_THREADS	4

/* ---- Threads: several writers and checkers in one process. ---- */

struct tctx {
	pthread_t th;
	int ri, t, nt, iters;
	uint64_t rng;
};

static int threads_left;

/* Thread t of nt owns the pages t, t + nt, t + 2 nt, ... of the range. */
static void *thread_main(void *arg)
{
	struct tctx *c = arg;
	struct range *r = &ranges[c->ri];
	int own = (r->npages - c->t + c->nt - 1) / c->nt;
	int k, i;

	in_thread = 1;
	wrng = c->rng;
	for (k = 0; k < c->iters; k++) {
		i = c->t + c->nt * rnd(&wrng, own);
		switch (rnd(&wrng, 5)) {
		case 0:
		case 1:
			write_page(r, i, random_id(0));
			break;
		case 2:
			write_page(r, i, random_id(1));
			break;
		case 3:
			if (madvise(r->addr + i * psize, psize, MADV_DONTNEED))
				unexpected("MADV_DONTNEED in a thread", errno);
			else
				r->exp[i] = 0;
			break;
		default:
			break;
		}
		verify(c->ri, i, 1);
		count(&sh->thread_ops, 1);
		if (rnd(&wrng, 2))
			usleep(rnd(&wrng, 1000));
	}
	for (i = c->t; i < r->npages; i += c->nt)
		verify(c->ri, i, 1);
	__atomic_sub_fetch(&threads_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Drop the merging of range ri and ask for it again, checking nothing. */
static void remerge(int ri)
{
	struct range *r = &ranges[ri];

	if (madvise(r->addr, r->npages * psize, MADV_UNMERGEABLE) &&
	    errno != ENOMEM && errno != EAGAIN)
		unexpected("MADV_UNMERGEABLE", errno);
	if (madvise(r->addr, r->npages * psize, MADV_MERGEABLE))
		unexpected("MADV_MERGEABLE again", errno);
}

/*
 * Threads write and check their own pages of range ri while this one
 * works on the other ranges and swaps out, migrates and unmerges range
 * ri under them (none of which may change a byte).
 */
void op_threads(int ri)
{
	struct tctx c[MAX_THREADS];
	int nt = 2 + rnd(&wrng, MAX_THREADS - 1), t, other;
	int started[MAX_THREADS] = { 0 };
	uint64_t saved;

	__atomic_store_n(&threads_left, nt, __ATOMIC_RELEASE);
	for (t = 0; t < nt; t++) {
		c[t].ri = ri;
		c[t].t = t;
		c[t].nt = nt;
		c[t].iters = 16 + rnd(&wrng, 48);
		c[t].rng = wrng ^ (0xa0761d6478bd642fULL * (t + 1));
		rng_next(&c[t].rng);
		if (pthread_create(&c[t].th, NULL, thread_main, &c[t])) {
			unexpected("pthread_create", EAGAIN);
			__atomic_sub_fetch(&threads_left, 1, __ATOMIC_RELEASE);
			continue;
		}
		started[t] = 1;
		count(&sh->threads, 1);
	}
	/*
	 * How long this loop runs depends on timing: it draws from a copy
	 * of the rng so that the worker's sequence afterwards does not.
	 */
	saved = wrng;
	while (__atomic_load_n(&threads_left, __ATOMIC_ACQUIRE) > 0) {
		other = (ri + 1 + rnd(&wrng, NR_RANGES - 1)) % NR_RANGES;
		switch (rnd(&wrng, 6)) {
		case 0:
			verify(other, 0, ranges[other].npages);
			break;
		case 1:
			op_write(other, rnd(&wrng, 2));
			break;
		case 2:
			if (have_swap)
				op_pageout(ri, 0);
			break;
		case 3:
			if (have_node1)
				op_migrate(ri, 0);
			break;
		case 4:
			remerge(ri);
			break;
		default:
			break;
		}
		usleep(rnd(&wrng, 2000));
	}
	for (t = 0; t < nt; t++)
		if (started[t])
			pthread_join(c[t].th, NULL);
	wrng = saved;
	rng_next(&wrng);
	note(OP_THREADS, ri, 0, ranges[ri].npages, nt);
	verify(ri, 0, ranges[ri].npages);
}

/* ---- userfaultfd write-protect over pages that KSM merges. ---- */

static int uffd_wp(int fd, char *p, long len, int wp)
{
	struct uffdio_writeprotect w = {
		.range = { .start = (uintptr_t)p, .len = len },
		.mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(fd, UFFDIO_WRITEPROTECT, &w);
}

struct wp_writer {
	struct range *r;
	int start, n;
	uint64_t ids[MAX_SUB];
	int done;
};

static void *wp_writer_main(void *arg)
{
	struct wp_writer *w = arg;
	int i;

	in_thread = 1;
	for (i = 0; i < w->n; i++)
		memcpy(w->r->addr + (w->start + i) * psize,
		       expected(w->ids[i]), psize);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api) ||
	    !(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Write-protect part of range ri with userfaultfd, give ksmd (and swap)
 * time on it, then write it from a thread: each write fault must find
 * the page still holding what it held, and once resolved the write must
 * land in this process only.
 */
void op_uffd_wp(int ri)
{
	struct range *r = &ranges[ri];
	struct uffdio_register reg;
	struct uffdio_range ur;
	struct wp_writer w;
	uint64_t pm[MAX_SUB];
	int faulted[MAX_SUB] = { 0 };
	int fd, start, n, i, k, have_pm;
	struct uffd_msg msg;
	struct pollfd pfd;
	unsigned long a0;
	pthread_t th;

	fd = uffd_open();
	if (fd < 0) {
		no_uffd = 1;
		count(&sh->uffd_unavail, 1);
		return;
	}
	reg.range.start = (uintptr_t)r->addr;
	reg.range.len = r->npages * psize;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(fd, UFFDIO_REGISTER, &reg)) {
		unexpected("UFFDIO_REGISTER_MODE_WP", errno);
		close(fd);
		return;
	}
	pick_sub(r, MAX_SUB, &start, &n);
	a0 = (uintptr_t)r->addr + start * psize;
	if (uffd_wp(fd, (char *)a0, n * psize, 1)) {
		unexpected("UFFDIO_WRITEPROTECT", errno);
		goto out;
	}
	count(&sh->wp_pages, n);
	usleep(rnd(&wrng, 20000));
	if (have_swap && !rnd(&wrng, 3))
		madvise((char *)a0, n * psize, MADV_PAGEOUT);
	verify(ri, start, n);
	have_pm = !pagemap_entries((char *)a0, n, pm);

	w.r = r;
	w.start = start;
	w.n = n;
	w.done = 0;
	for (i = 0; i < n; i++)
		w.ids[i] = random_id(!rnd(&wrng, 4));
	if (pthread_create(&th, NULL, wp_writer_main, &w)) {
		unexpected("pthread_create", EAGAIN);
		goto out;
	}
	while (!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE)) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if (read(fd, &msg, sizeof(msg)) != sizeof(msg) ||
		    msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		k = ((unsigned long)msg.arg.pagefault.address - a0) / psize;
		if ((unsigned long)msg.arg.pagefault.address < a0 || k >= n ||
		    !(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)) {
			unexpected("uffd fault outside the protected pages",
				   EINVAL);
			uffd_wp(fd, (char *)(uintptr_t)
				(msg.arg.pagefault.address & ~(psize - 1)),
				psize, 0);
			continue;
		}
		/* The writer waits on us: the page must be as it was. */
		if (memcmp((char *)a0 + k * psize,
			   expected(r->exp[start + k]), psize))
			report(ri, start + k);
		faulted[k]++;
		count(&sh->wp_faults, 1);
		if (uffd_wp(fd, (char *)a0 + k * psize, psize, 0))
			unexpected("UFFDIO_WRITEPROTECT off", errno);
	}
	pthread_join(th, NULL);
	for (i = 0; i < n; i++) {
		r->exp[start + i] = w.ids[i];
		if (have_pm && (pm[i] & PM_UFFD_WP) &&
		    (pm[i] & (PM_PRESENT | PM_SWAP)) && !faulted[i])
			count(&sh->wp_unfaulted, 1);
	}
out:
	ur.start = (uintptr_t)r->addr;
	ur.len = r->npages * psize;
	if (ioctl(fd, UFFDIO_UNREGISTER, &ur))
		unexpected("UFFDIO_UNREGISTER", errno);
	close(fd);
	note(OP_UFFD_WP, ri, start, n, 0);
	verify(ri, 0, r->npages);
}

/* ---- Writes through /proc/<pid>/mem. ---- */

static int mem_write(pid_t pid, char *addr, uint64_t id)
{
	char path[64];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	n = pwrite(fd, expected(id), psize, (off_t)(uintptr_t)addr);
	if (n < 0)
		err = -errno;
	else if (n != psize)
		err = -EIO;
	close(fd);
	return err;
}

/*
 * Write one page through /proc/<pid>/mem: into ourselves (perhaps
 * through a read-only mapping, as a debugger does), into a fork child
 * that shares the page with us, or from such a child into us. The
 * writer's own copy must not change, the target's must.
 */
void op_procmem(int ri)
{
	struct range *r = &ranges[ri];
	int i = rnd(&wrng, r->npages), how = rnd(&wrng, 3), ro, err, status;
	uint64_t id = random_id(!rnd(&wrng, 4)), msg[2];
	char *page = r->addr + i * psize;
	int p2c[2];
	pid_t pid;

	if (how == 0) {
		ro = rnd(&wrng, 2);
		if (ro && mprotect(page, psize, PROT_READ)) {
			unexpected("mprotect", errno);
			return;
		}
		err = mem_write(getpid(), page, id);
		if (ro && mprotect(page, psize, PROT_READ | PROT_WRITE)) {
			unexpected("mprotect back", errno);
			_exit(2);
		}
		if (err) {
			unexpected("write to /proc/self/mem", -err);
			return;
		}
		r->exp[i] = id;
		count(&sh->procmem_self, 1);
		goto done;
	}
	if (pipe(p2c)) {
		unexpected("pipe", errno);
		return;
	}
	pid = fork();
	if (pid < 0) {
		unexpected("fork", errno);
		close(p2c[0]);
		close(p2c[1]);
		return;
	}
	if (pid == 0) {
		in_child = 1;
		close(p2c[1]);
		if (how == 1) {
			/* The parent writes into us, then tells us what. */
			if (read(p2c[0], msg, sizeof(msg)) != sizeof(msg))
				_exit(3);
			if (msg[0] == (uint64_t)i)
				r->exp[i] = msg[1];
			verify_all();
			_exit(0);
		}
		err = mem_write(getppid(), page, id);
		if (err)
			unexpected("write to /proc/<parent>/mem", -err);
		verify_all();
		_exit(err ? 4 : 0);
	}
	close(p2c[0]);
	if (how == 1) {
		msg[0] = i;
		msg[1] = id;
		err = mem_write(pid, page, id);
		if (err) {
			unexpected("write to /proc/<child>/mem", -err);
			msg[0] = UINT64_MAX;
		} else {
			count(&sh->procmem_child, 1);
		}
		if (write(p2c[1], msg, sizeof(msg)) != sizeof(msg))
			unexpected("write to pipe", errno);
	}
	close(p2c[1]);
	if (waitpid(pid, &status, 0) != pid) {
		unexpected("waitpid", errno);
		return;
	}
	if (how == 2 && WIFEXITED(status) && !WEXITSTATUS(status)) {
		r->exp[i] = id;
		count(&sh->procmem_parent, 1);
	} else if ((!WIFEXITED(status) || WEXITSTATUS(status) != 4) &&
		   died_badly(status, in_memcg)) {
		count(&sh->crashes, 1);
		say("# CRASH /proc/pid/mem child of worker %d gen %d: status %#x\n",
		    wid, wgen, status);
	}
done:
	note(OP_PROCMEM, ri, i, 1, id);
	verify(ri, 0, r->npages);
}

/* ---- A 2 MiB aligned range that may be backed by a THP. ---- */

void op_thp(int ri)
{
	struct range *r = &ranges[ri];
	long len = THP_PAGES * psize;
	char *p, *a;

	p = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		unexpected("mmap", errno);
		return;
	}
	a = (char *)(((uintptr_t)p + len - 1) & ~(uintptr_t)(len - 1));
	if (a > p)
		munmap(p, a - p);
	if (a + len < p + 2 * len)
		munmap(a + len, p + 2 * len - (a + len));
	munmap(r->addr, r->npages * psize);
	if (madvise(a, len, rnd(&wrng, 2) ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		unexpected("MADV_(NO)HUGEPAGE", errno);
	r->addr = a;
	r->npages = THP_PAGES;
	advise(a, len, MADV_MERGEABLE);
	populate(r, 0, THP_PAGES);
	count(&sh->thp_ranges, 1);
	note(OP_THP, ri, 0, THP_PAGES, 0);
	verify(ri, 0, THP_PAGES);
}

