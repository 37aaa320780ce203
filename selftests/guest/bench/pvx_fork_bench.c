// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_fork_bench: the fork-copy benchmark's workload (issue 10 item 4),
 * run in the L3 bench guest (init.sh, pvx_bench=forkcopy).
 *
 *   pvx_fork_bench MB[,MB...] ROUNDS [COND[,COND...] [SYNC_TTY]]
 *
 * For each buffer size W (MiB, filled before each fork) and round, three
 * variants, populate first, then cow and pvx, whose order swaps from one
 * round to the next (variant_of()):
 *   cow       fork(); the child writes one word in every page (each write
 *             a copy-on-write fault)
 *   populate  fork(); the child breaks copy-on-write of the whole buffer
 *             with one madvise(MADV_POPULATE_WRITE), then writes
 *   pvx       pvx_fork() with the buffer as its range (the host copies it
 *             in batches), then the child writes
 * and in every variant the parent writes one word in every page as soon
 * as the fork returns to it. Printed per run, times from just before the
 * fork, in ms:
 *   fork mb=W variant=V round=R fork_ms= child_ms= parent_ms= copied=BYTES
 *        child_thp_kb= parent_thp_kb= plain=
 * child_ms: the child's first full pass of writes done; parent_ms: the
 * parent's; fork_ms: the fork call returned in the parent; copied: what
 * pvx_fork_stats() says the host copied (0: it fell back); plain: 1 when
 * libpvx's rule made pvx_fork() a plain fork() (pvx_fork_calc.h); *_thp_kb: the
 * process's anonymous memory in transparent huge pages after its pass
 * (AnonHugePages of /proc/self/smaps_rollup, -1 unknown): a copy-on-write
 * fault splits a huge page into 4 KiB ones, a fresh copy need not, and
 * with shadow paging that decides how many faults the child's writes
 * cost.
 *
 * COND (default plain), the outermost loop, names what L2 does around a
 * run; the guest only tells it (selftests/host/pvx_bench_fork in L2):
 *   plain     nothing (the L3 guest's memory is preallocated in L2)
 *   dirtylog  L2's QEMU has dirty logging on for the run (a migration)
 *   unbacked  L2 discarded the guest's free memory (free page reporting):
 *             the run first sleeps UNBACKED_WAIT_S for the report
 * With SYNC_TTY (a serial port to L2), each run is framed by "B<c> SEQ"
 * before the fork (c: p, d or u) and "E SEQ" after the child was reaped,
 * each answered by one byte from L2, which reads KVM's per-VM counters
 * there; the result line then carries cond=COND seq=SEQ.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <poll.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "pvx_fork.h"
#include "l2_sync.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PAGE	4096ul
#define UNBACKED_WAIT_S	5

static unsigned int seq;

enum variant { COW, POPULATE, PVX, NR_VARIANTS };
static const char *const names[NR_VARIANTS] = { "cow", "populate", "pvx" };

/*
 * The @i-th run of round @r: populate, then cow and pvx, pvx second in
 * odd rounds and first in even ones, so that over an even number of
 * rounds cow and pvx each follow populate in half of them and each other
 * in the rest. A rotating order gave pvx the place after populate in two
 * rounds of three: in one run (nested paging, 256 MiB in 4 KiB pages,
 * both sides the same fork()) the runs there took 4.1-4.7 s against
 * 3.5-3.6 s elsewhere, and pvx_fork() measured 1.09x; the next run, in
 * this order, did not show it (2.7-5.2 s after populate).
 */
static enum variant variant_of(unsigned int i, unsigned int r)
{
	static const enum variant order[2][NR_VARIANTS] = {
		{ POPULATE, PVX, COW }, { POPULATE, COW, PVX },
	};

	return order[r & 1][i];
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void write_pass(char *buf, size_t len, uint64_t v)
{
	size_t off;

	for (off = 0; off < len; off += PAGE)
		*(volatile uint64_t *)(buf + off) = v + off;
}

/* AnonHugePages of the calling process in kB, or -1. */
static long thp_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char l[128];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(l, sizeof(l), f))
		if (sscanf(l, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* What the child tells the parent through the pipe. */
struct child_result {
	double ms;
	long thp_kb;
};

static pid_t fork_variant(enum variant v, char *buf, size_t len)
{
	struct pvx_fork_range r = { buf, len };

	return v == PVX ? pvx_fork(&r, 1) : fork();
}

static int run(enum variant v, size_t mb, unsigned int round, const char *cond)
{
	size_t len = mb << 20;
	char *buf, line[64];
	struct pvx_fork_stats s0, s1;
	double t0, t_fork, t_parent;
	struct child_result c = { -1, -1 };
	long parent_thp;
	int p[2], status;
	pid_t pid;

	if (!strcmp(cond, "unbacked"))
		sleep(UNBACKED_WAIT_S);
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || pipe(p)) {
		printf("error %s %zu MiB: %s\n", names[v], mb, strerror(errno));
		return 1;
	}
	memset(buf, 0x5a, len);
	seq++;
	snprintf(line, sizeof(line), "B%c %u\n", cond[0], seq);
	sync_mark(line, 60000);
	pvx_fork_stats(&s0);
	t0 = now_ms();
	pid = fork_variant(v, buf, len);
	if (pid == 0) {
		if (v == POPULATE && madvise(buf, len, MADV_POPULATE_WRITE))
			_exit(2);
		write_pass(buf, len, 1);
		c.ms = now_ms() - t0;
		c.thp_kb = thp_kb();
		_exit(write(p[1], &c, sizeof(c)) == sizeof(c) ? 0 : 3);
	}
	t_fork = now_ms() - t0;
	if (pid < 0) {
		printf("error fork %s %zu MiB: %s\n", names[v], mb, strerror(errno));
		return 1;
	}
	write_pass(buf, len, 2);
	t_parent = now_ms() - t0;
	parent_thp = thp_kb();
	pvx_fork_stats(&s1);
	if (read(p[0], &c, sizeof(c)) != sizeof(c))
		c.ms = -1;
	waitpid(pid, &status, 0);
	snprintf(line, sizeof(line), "E %u\n", seq);
	sync_mark(line, 60000);
	close(p[0]);
	close(p[1]);
	munmap(buf, len);
	if (c.ms < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("error child %s %zu MiB: status 0x%x\n", names[v], mb, status);
		return 1;
	}
	printf("fork mb=%zu variant=%s round=%u cond=%s seq=%u ", mb, names[v], round, cond, seq);
	printf("fork_ms=%.1f child_ms=%.1f parent_ms=%.1f copied=%llu ",
	       t_fork, c.ms, t_parent, s1.bytes_copied - s0.bytes_copied);
	printf("child_thp_kb=%ld parent_thp_kb=%ld plain=%u\n", c.thp_kb, parent_thp,
	       s1.plain_forks - s0.plain_forks);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int rounds, r, i, errors = 0;
	char *list, *tok, *save, *conds, *cond, *csave;

	rounds = argc >= 3 && argc <= 5 ? strtoul(argv[2], NULL, 10) : 0;
	if (!rounds) {
		fprintf(stderr,
			"usage: pvx_fork_bench MB[,MB...] ROUNDS [COND[,COND...] [SYNC_TTY]]\n");
		return 2;
	}
	if (argc == 5) {
		sync_fd = sync_open(argv[4]);
		if (sync_fd < 0)
			return 1;
	}
	conds = strdup(argc >= 4 ? argv[3] : "plain");
	for (cond = strtok_r(conds, ",", &csave); cond; cond = strtok_r(NULL, ",", &csave)) {
		if (strcmp(cond, "plain") && strcmp(cond, "dirtylog") &&
		    strcmp(cond, "unbacked")) {
			printf("error unknown condition %s\n", cond);
			errors++;
			continue;
		}
		for (r = 1; r <= rounds; r++) {
			list = strdup(argv[1]);
			for (tok = strtok_r(list, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				for (i = 0; i < NR_VARIANTS; i++)
					errors += run(variant_of(i, r),
						      strtoul(tok, NULL, 10), r, cond);
			free(list);
		}
	}
	free(conds);
	return errors ? 1 : 0;
}
