// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_bench_numa: the NUMA hint benchmark (issue 9) and its room series
 * (issue 29), run as root inside the lab's NUMA L2 (two nodes, one CPU
 * each: scripts/lab.sh --tests numabench, make bench with PVX_BENCH=numa;
 * Documentation/numa.rst, "Benchmark").
 *
 * One L3 guest per case, its RAM preallocated on node 1 (QEMU started on
 * node 1's CPUs with -mem-prealloc; then every QEMU thread may run on
 * every CPU), a memory-bound thread pinned on each L3 vCPU
 * (pvx_numa_work). Cases, side by side in one run:
 *   blind     no hints, kernel.numa_balancing=0, pvx_numa mode observe
 *   balance   no hints, kernel.numa_balancing=1
 *   hints     the workload sends PVX_IOC_NUMA_HINT, mode act, balancing 0
 *   auto      no explicit hint: pvx_locality's automatic map (auto=1),
 *             mode act, balancing 0
 * Before them the room series: layouts of 2, 1 and 3 L3 vCPUs ("two",
 * "one", "thr"), all homed on node 1, each PVX_BENCH_NUMA_RUNS times
 * blind (observe) and act (hints) by turns, blind first in odd runs and
 * act first in even ones: the workload's passes, the share on the
 * memory's node, pvx's full count and the most vCPU threads pvx held on
 * one node's CPUs at once (the VM's debugfs, every 0.5 s);
 * medians with their spread and issue 29's floors, met or MISSED.
 *
 * Measured in L2 while the workload runs, every 0.1 s: where each vCPU
 * thread was when running (state R and its last CPU in
 * /proc/PID/task/TID/stat); the remote-page share of each vCPU's memory:
 * the L3 thread pinned on vCPU N writes its buffer's guest-physical
 * frames on the console ("gpa cpu=N PFN+COUNT ...", "gpa cpu=N end ...");
 * the page reader below takes QEMU's largest anonymous read-write mapping
 * as the guest's RAM (below 4 GiB guest-physical A at offset A), checks
 * every page (bytes 8..15 of each page of CPU N's buffer hold N + 1), then
 * every second reads each page's host frame (/proc/PID/pagemap) and its
 * node (the memory block holding it); each sample of vCPU N on a CPU of
 * node X counts the share of its pages not on X. Also vCPU moves by
 * pvx_numa, pages migrated (numa_pages_migrated), where QEMU's RAM ended
 * (numa_maps), and in the hints case what one hint costs in L3.
 * Not move_pages(2) without a target: on 6.1 it answers -EFAULT for the
 * pages automatic balancing has just made PROT_NONE. Not numa_maps for
 * the buffers: it counts a whole mapping, all of the guest's RAM.
 *
 * TAP on stdout (kselftest.h), the plan at the end; the tables and the
 * floors are "# " lines. Raw lines per case in $PVX_OUT/bench-numa.txt,
 * each L3 console in $PVX_OUT/bench-numa-CASE.log.
 *
 * Environment: PVX_ABI, PVX_BUILD, PVX_KIMAGE, PVX_OUT (the lab);
 * PVX_BENCH_INITRD (default $PVX_BUILD/l3-bench-initrd.gz),
 * PVX_BENCH_NUMA_SECS (workload seconds, 20), PVX_BENCH_NUMA_MB (MiB per
 * L3 CPU, 32), PVX_BENCH_L3_CPUS (2), PVX_BENCH_NUMA_RUNS (runs per
 * layout and mode of the room series, 3), PVX_BENCH_NUMA_ROOM_SECS
 * (their workload seconds, 10). Exit 0 when no check failed, 4 (skip)
 * without a second NUMA node.
 */
#define _GNU_SOURCE
#include <glob.h>
#include <math.h>
#include <sched.h>
#include <linux/types.h>
#include <sys/sysinfo.h>

#include "kselftest.h"
#include "module_util.h"
#include "sysfs_util.h"
#include "bench_stat.h"
#include "l3_vm.h"

#define MAX_VCPUS	L3_VM_MAX_VCPUS
#define PAGE		4096ull
#define QEMU_LIMIT_S	900	/* one L3 boot, as timeout 900 */
#define READER_EXTRA_S	30	/* the page reader outlives the window by this */
#define MAX_COST	8	/* cost lines of one case */
#define MIN_RUNS	3	/* issue 29: a median of at least 3 runs */
#define FEW_RUNS	"; fewer than 3 runs with a number: short of the floor's median of 3"
#define NODE_DIR	"/sys/devices/system/node"
#define NUMA_PARAMS	"/sys/module/pvx_numa/parameters/"
#define NUMA_DEBUGFS	"/sys/kernel/debug/pvx/numa"
#define BALANCING	"/proc/sys/kernel/numa_balancing"

static struct {
	int secs, mb, l3_cpus, runs, room_secs;
	const char *out;
	char kernel[512], initrd[512];
	char node0[64], node1[64];	/* cpulists */
	cpu_set_t node1_set;
	int ncpu0, ncpu1;
} cfg;

/* ---- where each vCPU's buffer pages are (the page reader) ------------ */

struct vcpu_pages {
	__u64 *pfn;		/* guest frames of its buffer */
	size_t n, cap;
	bool ended;		/* its list is complete */
	unsigned long checked, bad, readings;
	unsigned long node0, node1, other;	/* the last reading */
};

struct page_reader {
	pid_t pid;
	const char *log;
	int ncpus;
	double end, next;	/* stop reading at; next reading at */
	bool ready, done;	/* pages found; no more readings */
	char why[160];		/* why it could not read, "" if it could */
	__u64 base, size;	/* QEMU's RAM mapping */
	__u64 *pm;		/* a pagemap reading of it */
	struct vcpu_pages cpu[MAX_VCPUS];
};

/* memory blocks of the nodes: /sys/devices/system/node/nodeN/memoryM */
struct block {
	__u64 first, end;	/* host frames */
	int node;
};

static struct block *blocks;
static int nblocks;

/* a "# " line of the TAP stream (ksft_print_msg) */
static __printf(1, 2) void bench_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	va_end(ap);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int add_pfn(struct vcpu_pages *c, __u64 pfn)
{
	__u64 *p;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 4096;
		p = realloc(c->pfn, c->cap * sizeof(*p));
		if (!p)
			return -1;
		c->pfn = p;
	}
	c->pfn[c->n++] = pfn;
	return 0;
}

/* the frames of one "gpa cpu=N PFN+COUNT ..." line (from "gpa") */
static int add_gpa_line(struct vcpu_pages *c, char *s)
{
	unsigned long long start, count, i;
	char *tok, *save;

	strtok_r(s, " \r\n", &save);		/* gpa */
	strtok_r(NULL, " \r\n", &save);		/* cpu=N */
	while ((tok = strtok_r(NULL, " \r\n", &save))) {
		if (sscanf(tok, "%llx+%llx", &start, &count) != 2)
			continue;
		for (i = 0; i < count; i++)
			if (add_pfn(c, start + i))
				return -1;
	}
	return 0;
}

/* the console's page lists, read again; true once every CPU's ended */
static bool read_lists(struct page_reader *r)
{
	char *line = NULL, *s;
	int cpu, done = 0;
	size_t cap = 0;
	FILE *f;

	for (cpu = 0; cpu < r->ncpus; cpu++) {
		r->cpu[cpu].n = 0;
		r->cpu[cpu].ended = false;
	}
	f = fopen(r->log, "r");
	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		s = strstr(line, "gpa cpu=");
		if (!s || sscanf(s, "gpa cpu=%d", &cpu) != 1 || cpu < 0 || cpu >= r->ncpus)
			continue;
		if (strstr(s, " end "))
			r->cpu[cpu].ended = true;
		else if (add_gpa_line(&r->cpu[cpu], s))
			break;
	}
	fclose(f);
	free(line);
	for (cpu = 0; cpu < r->ncpus; cpu++)
		done += r->cpu[cpu].ended;
	return done == r->ncpus;
}

/* the largest anonymous read-write mapping of QEMU: the guest's RAM */
static int find_ram(struct page_reader *r)
{
	char path[64], line[512], perms[8];
	unsigned long long lo, hi;
	int n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", r->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	r->size = 0;
	while (fgets(line, sizeof(line), f)) {
		n = 0;
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &lo, &hi, perms, &n) != 3 ||
		    strcmp(perms, "rw-p"))
			continue;
		/* anonymous: no path after the inode */
		if (n && line[n] != '\n' && line[n] != '\0')
			continue;
		if (hi - lo > r->size) {
			r->base = lo;
			r->size = hi - lo;
		}
	}
	fclose(f);
	return r->size ? 0 : -1;
}

/* bytes 8..15 of each page of CPU N's buffer hold N + 1 */
static void check_pages(struct page_reader *r)
{
	unsigned char b[8];
	char path[64];
	int fd, cpu, j;
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d/mem", r->pid);
	fd = open(path, O_RDONLY);
	for (cpu = 0; cpu < r->ncpus; cpu++) {
		struct vcpu_pages *c = &r->cpu[cpu];

		for (i = 0; i < c->n; i++) {
			c->checked++;
			if (fd < 0 || pread(fd, b, sizeof(b),
					    r->base + c->pfn[i] * PAGE + 8) != sizeof(b)) {
				c->bad++;
				continue;
			}
			for (j = 0; j < 8 && b[j] == cpu + 1; j++)
				;
			c->bad += j < 8;
		}
	}
	if (fd >= 0)
		close(fd);
}

static int read_blocks(void)
{
	unsigned long long bs = 0;
	struct dirent *d, *m;
	char path[320];
	struct block *b;
	int node, mem;
	DIR *nd, *md;
	FILE *f;

	f = fopen("/sys/devices/system/memory/block_size_bytes", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%llx", &bs) != 1)
		bs = 0;
	fclose(f);
	nd = opendir(NODE_DIR);
	if (!bs || !nd)
		return -1;
	while ((d = readdir(nd))) {
		if (sscanf(d->d_name, "node%d", &node) != 1)
			continue;
		snprintf(path, sizeof(path), NODE_DIR "/%s", d->d_name);
		md = opendir(path);
		while (md && (m = readdir(md))) {
			if (sscanf(m->d_name, "memory%d", &mem) != 1)
				continue;
			b = realloc(blocks, (nblocks + 1) * sizeof(*b));
			if (!b)
				break;
			blocks = b;
			blocks[nblocks].first = mem * bs / PAGE;
			blocks[nblocks].end = (mem + 1) * bs / PAGE;
			blocks[nblocks++].node = node;
		}
		if (md)
			closedir(md);
	}
	closedir(nd);
	return nblocks ? 0 : -1;
}

static int node_of(__u64 pfn)
{
	int i;

	for (i = 0; i < nblocks; i++)
		if (pfn >= blocks[i].first && pfn < blocks[i].end)
			return blocks[i].node;
	return -1;
}

/* Once the lists are complete: the RAM found, its frames in it, checked. */
static void reader_setup(struct page_reader *r)
{
	int cpu;
	size_t i;

	if (find_ram(r)) {
		snprintf(r->why, sizeof(r->why), "no anonymous mapping in /proc/%d/maps", r->pid);
		return;
	}
	for (cpu = 0; cpu < r->ncpus; cpu++)
		for (i = 0; i < r->cpu[cpu].n; i++)
			if (r->cpu[cpu].pfn[i] * PAGE >= r->size) {
				snprintf(r->why, sizeof(r->why),
					 "frame %llx beyond the RAM mapping (%llu MiB)",
					 (unsigned long long)r->cpu[cpu].pfn[i],
					 (unsigned long long)r->size >> 20);
				return;
			}
	r->pm = malloc(r->size / PAGE * sizeof(*r->pm));
	if (!r->pm) {
		snprintf(r->why, sizeof(r->why), "no memory for a pagemap reading");
		return;
	}
	check_pages(r);
	r->ready = true;
}

/*
 * One reading of every page's node: QEMU's page table (/proc/PID/pagemap,
 * root: bit 63 present, bits 0-54 the host frame), then the frame's
 * memory block. False when QEMU is gone.
 */
static bool read_nodes(struct page_reader *r)
{
	size_t i, bytes = r->size / PAGE * sizeof(*r->pm);
	char path[64];
	int fd, cpu, node;
	ssize_t got;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", r->pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	got = pread(fd, r->pm, bytes, r->base / PAGE * sizeof(*r->pm));
	close(fd);
	if (got != (ssize_t)bytes)
		return false;
	for (cpu = 0; cpu < r->ncpus; cpu++) {
		struct vcpu_pages *c = &r->cpu[cpu];

		c->node0 = 0;
		c->node1 = 0;
		c->other = 0;
		for (i = 0; i < c->n; i++) {
			__u64 e = r->pm[c->pfn[i]];

			node = e >> 63 ? node_of(e & ((1ull << 55) - 1)) : -1;
			if (node == 0)
				c->node0++;
			else if (node == 1)
				c->node1++;
			else
				c->other++;
		}
		c->readings++;
	}
	return true;
}

static void reader_start(struct page_reader *r, pid_t pid, const char *log, int ncpus,
			 int secs)
{
	int cpu;

	for (cpu = 0; cpu < MAX_VCPUS; cpu++)
		free(r->cpu[cpu].pfn);
	free(r->pm);
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->log = log;
	r->ncpus = ncpus;
	r->end = now_s() + secs + READER_EXTRA_S;
}

/* Called every 0.1 s: the lists until they are complete, then a reading a second. */
static void reader_tick(struct page_reader *r)
{
	double t = now_s();

	if (r->done || r->why[0])
		return;
	if (t > r->end) {
		r->done = true;
		return;
	}
	if (!r->ready) {
		if (read_lists(r))
			reader_setup(r);
		return;
	}
	if (t >= r->next) {
		if (!read_nodes(r))
			r->done = true;
		r->next = t + 1;
	}
}

/* The reader's lines and its check: every page found, read, none bad. */
static void reader_report(struct page_reader *r, const char *name)
{
	unsigned long pages = 0, bad = 0;
	bool ok = r->ready;
	int cpu;

	if (!r->ready && !r->why[0])
		snprintf(r->why, sizeof(r->why), "the workload's page lists did not come");
	for (cpu = 0; r->ready && cpu < r->ncpus; cpu++) {
		struct vcpu_pages *c = &r->cpu[cpu];

		bench_info("%s: pages cpu=%d pages=%zu checked=%lu bad=%lu readings=%lu node0=%lu node1=%lu other=%lu\n",
			   name, cpu, c->n, c->checked, c->bad, c->readings, c->node0,
			   c->node1, c->other);
		pages += c->n;
		bad += c->bad;
		if (!c->readings || c->bad * 10 > c->checked)
			ok = false;
	}
	if (r->why[0])
		ksft_test_result_fail("%s: page reader # %s\n", name, r->why);
	else
		ksft_test_result(ok,
				 "%s: page reader: %lu pages of %d buffers found and checked, %lu bad, read while QEMU ran\n",
				 name, pages, r->ncpus, bad);
}

/* ---- one case: an L3 guest and what L2 sees of it -------------------- */

struct vcpu_samples {
	long run, home;		/* samples running; of those on node 1 */
	long pseen, remote;	/* with a page reading; their remote share, 1/10000 */
};

struct case_result {
	char name[16];
	int vcpus, hint;
	bool ran;		/* QEMU started */
	bool worked;		/* the workload printed its passes */
	double share, remote;	/* %; NAN without samples or readings */
	long samples, moves, migrated, full, passes;
	int ram_start, ram_end;	/* % of QEMU's RAM on node 1, -1 unknown */
	int placed0, placed1;	/* most vCPU threads pvx held on node 0's, 1's CPUs */
	struct vcpu_samples v[MAX_VCPUS];
	char cost[MAX_COST][256];
	int ncost;
};

static bool on_node1(int cpu)
{
	return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &cfg.node1_set);
}

/* the next line of a text read whole (cut there, \r dropped); *@next moves on */
static char *next_line(char **next)
{
	char *line = *next, *eol;

	if (!line || !*line)
		return NULL;
	eol = strchr(line, '\n');
	*next = eol ? eol + 1 : NULL;
	if (eol)
		*eol = '\0';
	eol = line + strlen(line);
	if (eol > line && eol[-1] == '\r')
		eol[-1] = '\0';
	return line;
}

/* % of QEMU's anonymous RAM pages on node 1 (numa_maps), -1 when none */
static int ram_on_node1(pid_t pid)
{
	char path[64], *text, *next, *p, *w;
	long long n0 = 0, n1 = 0, x;

	snprintf(path, sizeof(path), "/proc/%d/numa_maps", pid);
	text = read_text(path);
	next = text;
	while ((p = next_line(&next))) {
		if (!strstr(p, "anon="))
			continue;
		w = strstr(p, " N0=");
		if (w && sscanf(w, " N0=%lld", &x) == 1)
			n0 += x;
		w = strstr(p, " N1=");
		if (w && sscanf(w, " N1=%lld", &x) == 1)
			n1 += x;
	}
	free(text);
	return n0 + n1 ? (int)lround(100.0 * n1 / (n0 + n1)) : -1;
}

/*
 * The vCPU threads of QEMU @pid's VM that pvx holds on node 0's and node
 * 1's CPUs now: the first CPU of "cpus" in its debugfs vCPU lines ("-"
 * when pvx holds none); the most of each so far in @c.
 */
static void placed_max(pid_t pid, struct case_result *c)
{
	char pattern[96], *text, *next, *p, *cpus;
	int n0 = 0, n1 = 0, cpu;
	glob_t g;
	size_t i;

	snprintf(pattern, sizeof(pattern), "/sys/kernel/debug/pvx/vm*-%d/numa", pid);
	if (glob(pattern, 0, NULL, &g))
		return;
	for (i = 0; i < g.gl_pathc; i++) {
		text = read_text(g.gl_pathv[i]);
		next = text;
		while ((p = next_line(&next))) {
			cpus = strstr(p, " cpus ");
			if (strncmp(p, "vcpu ", 5) || !cpus || sscanf(cpus, " cpus %d", &cpu) != 1)
				continue;
			if (on_node1(cpu))
				n1++;
			else
				n0++;
		}
		free(text);
	}
	globfree(&g);
	c->placed0 = n0 > c->placed0 ? n0 : c->placed0;
	c->placed1 = n1 > c->placed1 ? n1 : c->placed1;
}

/* thread @tid's state and the CPU it last ran on (stat fields 3 and 39) */
static bool task_cpu(pid_t pid, pid_t tid, char *state, int *cpu)
{
	char path[64], buf[1024], *rest, *tok, *save;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	if (sysfs_read_str(path, buf, sizeof(buf)))
		return false;
	rest = strrchr(buf, ')');
	if (!rest)
		return false;
	tok = strtok_r(rest + 1, " ", &save);
	if (!tok)
		return false;
	*state = tok[0];
	for (field = 4; (tok = strtok_r(NULL, " ", &save)); field++)
		if (field == 39) {
			*cpu = atoi(tok);
			return true;
		}
	return false;
}

/* one sample of vCPU @i's thread: running, where, against its pages */
static void sample_vcpu(struct case_result *c, const struct page_reader *r, pid_t pid,
			pid_t tid, int i)
{
	const struct vcpu_pages *p = &r->cpu[i];
	struct vcpu_samples *s = &c->v[i];
	unsigned long n0 = p->node0, n1 = p->node1;
	char state;
	int cpu;

	if (!task_cpu(pid, tid, &state, &cpu) || state != 'R')
		return;
	s->run++;
	if (on_node1(cpu))
		s->home++;
	if (!p->readings || !(n0 + n1))
		return;
	s->pseen++;
	s->remote += 10000 * (on_node1(cpu) ? n0 : n1) / (n0 + n1);
}

/*
 * Samples every 0.1 s for @secs while QEMU runs; the page reader's turn
 * in each; placement every 0.5 s, where QEMU's RAM is every 2 s (the last
 * reading of a running QEMU: one on its way out has an empty numa_maps).
 */
static void sample(struct case_result *c, struct l3_vm *vm, struct page_reader *r, int secs)
{
	double end = now_s() + secs;
	pid_t tids[MAX_VCPUS];
	long tick;
	int i, ram;

	l3_vm_vcpu_threads(vm->pid, tids, MAX_VCPUS);
	for (tick = 0; now_s() < end && l3_vm_running(vm); tick++) {
		reader_tick(r);
		for (i = 0; i < c->vcpus; i++)
			if (tids[i])
				sample_vcpu(c, r, vm->pid, tids[i], i);
		if (tick % 5 == 0)
			placed_max(vm->pid, c);
		if (tick % 20 == 0) {
			ram = ram_on_node1(vm->pid);
			if (ram >= 0)
				c->ram_end = ram;
		}
		sleep_ms(100);
	}
}

/* every thread of QEMU may run on every CPU of L2 */
static void unpin_threads(pid_t pid)
{
	struct dirent *d;
	char path[64];
	cpu_set_t all;
	int cpu;
	DIR *dir;

	CPU_ZERO(&all);
	for (cpu = 0; cpu < get_nprocs() && cpu < CPU_SETSIZE; cpu++)
		CPU_SET(cpu, &all);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	while (dir && (d = readdir(dir)))
		if (d->d_name[0] != '.')
			sched_setaffinity(atoi(d->d_name), sizeof(all), &all);
	if (dir)
		closedir(dir);
}

static int start_qemu(struct l3_vm *vm, const struct case_result *c, const char *log,
		      int secs)
{
	struct l3_args a = { 0 };
	int ret;

	l3_arg(&a, "qemu-system-x86_64");
	l3_arg(&a, "-enable-kvm");
	l3_arg(&a, "-cpu");
	l3_arg(&a, "host");
	l3_arg(&a, "-m");
	l3_arg(&a, "%d", c->vcpus * cfg.mb + 160);
	l3_arg(&a, "-mem-prealloc");
	l3_arg(&a, "-smp");
	l3_arg(&a, "%d", c->vcpus);
	l3_arg(&a, "-name");
	l3_arg(&a, "numa-%s,process=pvxnb-%s,debug-threads=on", c->name, c->name);
	l3_args_console(&a);
	l3_args_boot(&a, cfg.kernel, cfg.initrd);
	l3_arg(&a, "-append");
	l3_arg(&a,
	       "console=ttyS0 quiet panic=-1 pvx_bench=numa pvx_numa_mb=%d pvx_numa_secs=%d pvx_numa_hint=%d",
	       cfg.mb, secs, c->hint);
	/* the RAM preallocated by QEMU's main thread on node 1's CPUs */
	ret = l3_vm_start(vm, &a, log, cfg.node1);
	l3_args_free(&a);
	return ret;
}

/* what the case's console says, as far as L2's tables need it */
struct console_says {
	char work[2048];	/* the workload's "work" lines, each with ";" after it */
	char notes[4096];	/* its "error" and "# locality" lines, one per line */
	char autos[1024];	/* the lines with "locality/auto_", blank-separated */
};

static void read_console(struct case_result *c, const char *log, struct console_says *cs)
{
	char *text = read_text(log), *next = text, *p, *w;
	long passes;

	memset(cs, 0, sizeof(*cs));
	while ((p = next_line(&next))) {
		w = strstr(p, " passes=");
		if (!strncmp(p, "work ", 5)) {
			bstat_cat(cs->work, sizeof(cs->work), "%s;", p);
			c->worked = true;
			if (w && sscanf(w, " passes=%ld", &passes) == 1)
				c->passes += passes;
		}
		if (!strncmp(p, "error", 5) || !strncmp(p, "# locality", 10))
			bstat_cat(cs->notes, sizeof(cs->notes), "%s\n", p);
		if (strstr(p, "locality/auto_"))
			bstat_cat(cs->autos, sizeof(cs->autos), "%s ", p);
		if (!strncmp(p, "cost ", 5) && c->ncost < MAX_COST)
			snprintf(c->cost[c->ncost++], sizeof(c->cost[0]), "%s", p);
	}
	free(text);
}

static long numa_counter(const char *key)
{
	return read_keyed(NUMA_DEBUGFS, key, 0);
}

static long migrated_pages(void)
{
	return read_keyed("/proc/vmstat", "numa_pages_migrated", 0);
}

static bool room_case(const struct case_result *c)
{
	return !strncmp(c->name, "one-", 4) || !strncmp(c->name, "two-", 4) ||
	       !strncmp(c->name, "thr-", 4);
}

/* "12.3" or "-" (no number) into @buf */
static const char *pct(double x, char *buf, size_t size)
{
	if (isnan(x))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.1f", x);
	return buf;
}

static const char *or_dash(int x, char *buf, size_t size)
{
	if (x < 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%d", x);
	return buf;
}

/* whether the guest's map was sent: "locality/auto_hints: N", N > 0 */
static bool auto_hints_sent(const char *autos)
{
	const char *h = strstr(autos, "locality/auto_hints: ");

	return h && h[21] >= '1' && h[21] <= '9';
}

/* the case's results over its vCPUs, and its TAP results */
static void judge_case(struct case_result *c, const char *log, long moves0, double ran_s)
{
	long home = 0, rsum = 0, rseen = 0, moved;
	char rem[16], *next, *p;
	struct console_says cs;
	int i;

	for (i = 0; i < c->vcpus; i++) {
		c->samples += c->v[i].run;
		home += c->v[i].home;
		rsum += c->v[i].remote;
		rseen += c->v[i].pseen;
	}
	c->share = c->samples ? 100.0 * home / c->samples : 0;
	c->remote = rseen ? rsum / (double)rseen / 100 : NAN;
	read_console(c, log, &cs);
	bench_info("%s: L3 ran %.0f s; %s\n", c->name, ran_s, cs.work);
	next = cs.notes;
	while ((p = next_line(&next)))
		bench_info("%s: %s\n", c->name, p);
	if (c->samples > 0 && cs.work[0])
		ksft_test_result_report(KSFT_PASS,
					"%s: vCPU threads on the memory's node %.1f%% of %ld running samples\n",
					c->name, c->share, c->samples);
	else
		ksft_test_result_report(KSFT_FAIL,
					"%s: no samples or no workload result (see %s)\n",
					c->name, log);
	/*
	 * the automatic map: the host must have found the memory's node
	 * from the guest's own map and moved the vCPU threads there
	 */
	moved = numa_counter("moves") - moves0;
	if (c->hint == 2 && moved >= 1 && auto_hints_sent(cs.autos))
		ksft_test_result_report(KSFT_PASS,
					"%s: the guest's automatic map reached the host, which moved %ld vCPU thread(s) to the memory's node\n",
					c->name, moved);
	else if (c->hint == 2)
		ksft_test_result_report(KSFT_FAIL,
					"%s: the automatic map moved no vCPU thread # moves %ld, %s\n",
					c->name, moved, cs.autos);
	if (rseen > 0)
		ksft_test_result_report(KSFT_PASS,
					"%s: remote-page share of the vCPUs' buffers %s%% over %ld samples\n",
					c->name, pct(c->remote, rem, sizeof(rem)), rseen);
	else if (room_case(c))
		/*
		 * the room series' short windows: with more vCPUs than L2
		 * has CPUs, the first page reading may come after the window,
		 * and the series' floors do not use it
		 */
		ksft_test_result_report(KSFT_SKIP,
					"%s: no reading of where the buffers' pages are in its window\n",
					c->name);
	else
		ksft_test_result_report(KSFT_FAIL,
					"%s: no reading of where the buffers' pages are (see the page reader above)\n",
					c->name);
}

/* the case's raw line in $PVX_OUT/bench-numa.txt, and its cost lines */
static void record_case(const struct case_result *c, FILE *raw)
{
	char rem[16], r0[16], r1[16], passes[16], costs[2048] = "";
	int i;

	fprintf(raw,
		"numa case=%s home_share=%.1f samples=%ld remote=%s moves=%ld migrated=%ld ram_node1_at_start=%s ram_node1_at_end=%s vcpus=%d passes=%s full=%ld placed0=%d placed1=%d",
		c->name, c->share, c->samples, pct(c->remote, rem, sizeof(rem)), c->moves,
		c->migrated, or_dash(c->ram_start, r0, sizeof(r0)),
		or_dash(c->ram_end, r1, sizeof(r1)), c->vcpus,
		or_dash(c->worked ? c->passes : -1, passes, sizeof(passes)), c->full, c->placed0,
		c->placed1);
	for (i = 0; i < c->vcpus; i++) {
		const struct vcpu_samples *v = &c->v[i];

		if (!v->run)
			continue;
		fprintf(raw, " v%d=%.1f/%s/%ld", i, 100.0 * v->home / v->run,
			pct(v->pseen ? v->remote / (double)v->pseen / 100 : NAN, rem, sizeof(rem)),
			v->run);
	}
	fputc('\n', raw);
	for (i = 0; i < c->ncost; i++) {
		fprintf(raw, "numacost case=%s %s\n", c->name, c->cost[i]);
		bstat_cat(costs, sizeof(costs), "%s;", c->cost[i]);
	}
	if (c->ncost)
		bench_info("%s: %s\n", c->name, costs);
	fflush(raw);
}

/* One case: an L3 guest, sampled while its workload runs; its results. */
static void run_case(struct case_result *c, int balancing, const char *mode, int secs,
		     FILE *raw)
{
	static struct page_reader reader;
	char log[200], line[256], threads[256] = "";
	long migrated0, moves0, full0;
	pid_t tids[MAX_VCPUS];
	struct l3_vm vm;
	double ran_s;
	int i, ret;

	snprintf(log, sizeof(log), "%s/bench-numa-%s.log", cfg.out, c->name);
	write_file(BALANCING, balancing ? "1" : "0");
	write_file(NUMA_PARAMS "mode", mode);
	migrated0 = migrated_pages();
	moves0 = numa_counter("moves");
	full0 = numa_counter("full");
	c->ram_start = -1;
	c->ram_end = -1;
	ret = start_qemu(&vm, c, log, secs);
	/*
	 * RAM is preallocated before QEMU makes its vCPU threads: from then
	 * on every thread may run anywhere (before the workload can send a
	 * hint: pvx_numa takes a later change of CPUs for the administrator's)
	 */
	while (!ret && l3_vm_running(&vm) && !l3_vm_vcpu_threads(vm.pid, tids, MAX_VCPUS) &&
	       l3_vm_elapsed_s(&vm) < QEMU_LIMIT_S)
		sleep_ms(200);
	if (ret || !l3_vm_running(&vm) || !l3_vm_vcpu_threads(vm.pid, tids, MAX_VCPUS)) {
		if (ret)
			snprintf(line, sizeof(line), "%s", strerror(-ret));
		else if (vm.ended)
			file_head(vm.err, 200, line, sizeof(line));
		else
			snprintf(line, sizeof(line), "no vCPU thread in %d s", QEMU_LIMIT_S);
		if (!ret)
			l3_vm_stop(&vm);
		ksft_test_result_fail("%s: QEMU did not start # %s\n", c->name, line);
		return;
	}
	c->ran = true;
	unpin_threads(vm.pid);
	c->ram_start = ram_on_node1(vm.pid);
	l3_vm_console_wait(&vm, "numa workload start", line, sizeof(line),
			   QEMU_LIMIT_S - l3_vm_elapsed_s(&vm));
	l3_vm_vcpu_threads(vm.pid, tids, MAX_VCPUS);
	for (i = 0; i < c->vcpus; i++)
		bstat_cat(threads, sizeof(threads), " %d", tids[i]);
	bench_info("%s: QEMU %d, vCPU threads%s\n", c->name, vm.pid, threads);
	reader_start(&reader, vm.pid, log, c->vcpus, secs);
	sample(c, &vm, &reader, secs);
	/* the page reader goes on while QEMU runs, up to its own end */
	while (l3_vm_running(&vm) && l3_vm_elapsed_s(&vm) < QEMU_LIMIT_S) {
		reader_tick(&reader);
		sleep_ms(100);
	}
	l3_vm_wait(&vm, QEMU_LIMIT_S);
	ran_s = l3_vm_elapsed_s(&vm);
	reader_report(&reader, c->name);
	judge_case(c, log, moves0, ran_s);
	c->moves = numa_counter("moves") - moves0;
	c->migrated = migrated_pages() - migrated0;
	c->full = numa_counter("full") - full0;
	record_case(c, raw);
}

/* ---- the tables --------------------------------------------------- */

static struct case_result *cases;
static int ncases;

static const struct case_result *find_case(const char *name)
{
	int i;

	for (i = 0; i < ncases; i++)
		if (cases[i].ran && !strcmp(cases[i].name, name))
			return &cases[i];
	return NULL;
}

static const char *const main_cases[] = { "blind", "balance", "hints", "auto" };

static void placement_table(void)
{
	const struct case_result *b = find_case("blind"), *c;
	char share[16], ratio[16], rem[16], ram[40], r0[16], r1[16];
	size_t k;

	bench_info("---- NUMA hints: share of running time on the memory's node (L2 samples), remote-page share of the vCPUs' buffers, vCPU moves by pvx, pages migrated by the kernel\n");
	bench_info("%-8s %10s %8s %10s %10s %10s %14s\n", "case", "on-node %", "x blind",
		   "remote %", "pvx moves", "migrated", "RAM on node 1 %");
	for (k = 0; k < ARRAY_SIZE(main_cases); k++) {
		c = find_case(main_cases[k]);
		if (!c) {
			bench_info("%-8s %10s\n", main_cases[k], "-");
			continue;
		}
		snprintf(share, sizeof(share), "%.1f", c->share);
		if (b && b->share > 0)
			snprintf(ratio, sizeof(ratio), "%.2f", c->share / b->share);
		else
			snprintf(ratio, sizeof(ratio), "-");
		snprintf(ram, sizeof(ram), "%s->%s", or_dash(c->ram_start, r0, sizeof(r0)),
			 or_dash(c->ram_end, r1, sizeof(r1)));
		bench_info("%-8s %10s %8s %10s %10ld %10ld %14s\n", c->name, share, ratio,
			   pct(c->remote, rem, sizeof(rem)), c->moves, c->migrated, ram);
	}
}

static void per_vcpu_table(void)
{
	const struct case_result *c;
	const struct vcpu_samples *v;
	char home[16], rem[16];
	size_t k;
	int i;

	bench_info("---- per vCPU thread: on the memory's node %% / remote pages of its buffer %% / running samples\n");
	bench_info("%-8s %6s %10s %10s %8s\n",
		   "case", "vCPU", "on-node %", "remote %", "samples");
	for (k = 0; k < ARRAY_SIZE(main_cases); k++) {
		c = find_case(main_cases[k]);
		for (i = 0; c && i < c->vcpus; i++) {
			v = &c->v[i];
			pct(v->run ? 100.0 * v->home / v->run : NAN, home, sizeof(home));
			pct(v->pseen ? v->remote / (double)v->pseen / 100 : NAN, rem, sizeof(rem));
			bench_info("%-8s %6d %10s %10s %8ld\n", c->name, i, home, rem, v->run);
		}
	}
}

/* the number of " KEY=" in a cost line, NAN when not there */
static double cost_of(const char *line, const char *key)
{
	char pattern[32];
	const char *p;

	snprintf(pattern, sizeof(pattern), " %s=", key);
	p = strstr(line, pattern);
	return p ? strtod(p + strlen(pattern), NULL) : NAN;
}

static void cost_table(void)
{
	double ci, gi, h1, h, hp, hr, he, cpu;
	char label[32], per_page[16];
	int i, k;

	bench_info("---- cost of one PVX_IOC_NUMA_HINT in L3 (medians, ns of this emulated guest; ratios to one CPUID exit)\n");
	bench_info("%-12s %9s %9s %9s %11s %7s %7s %8s %8s %8s %8s\n", "", "CPUID", "GET_INFO",
		   "hint 1pg", "hint buffer", "pages", "ranges", "1pg/exit", "buf/exit",
		   "page/exit", "errors");
	for (i = 0; i < ncases; i++)
		for (k = 0; k < cases[i].ncost; k++) {
			const char *line = cases[i].cost[k];

			cpu = cost_of(line, "cpu");
			ci = cost_of(line, "cpuid_ns");
			gi = cost_of(line, "getinfo_ns");
			h1 = cost_of(line, "hint1_ns");
			h = cost_of(line, "hint_ns");
			hp = cost_of(line, "hint_pages");
			hr = cost_of(line, "hint_ranges");
			he = cost_of(line, "errors");
			snprintf(label, sizeof(label), "%s cpu %.0f", cases[i].name, cpu);
			if (hp > 1 && ci > 0)
				snprintf(per_page, sizeof(per_page), "%.3f",
					 (h - h1) / (hp - 1) / ci);
			else
				snprintf(per_page, sizeof(per_page), "-");
			bench_info("%-12s %9.0f %9.0f %9.0f %11.0f %7.0f %7.0f %8.2f %8.2f %8s %8.0f\n",
				   label, ci, gi, h1, h, hp, hr, ci > 0 ? h1 / ci : 0,
				   ci > 0 ? h / ci : 0, per_page, he);
		}
}

/* ---- the room series (issue 29) ------------------------------------ */

struct layout {
	const char *name;
	int vcpus;
};

/* the layout that lost first: its numbers come first */
static const struct layout layouts[] = { { "two", 2 }, { "one", 1 }, { "thr", 3 } };

enum room_key { RK_PASSES, RK_SHARE, RK_FULL, RK_PLACED0, RK_PLACED1 };

static double room_value(const struct case_result *c, enum room_key key)
{
	switch (key) {
	/* a run whose workload did not report has no number, not 0 */
	case RK_PASSES:
		return c->worked ? c->passes : NAN;
	case RK_SHARE:
		return c->samples ? c->share : NAN;
	case RK_FULL:
		return c->full;
	case RK_PLACED0:
		return c->placed0;
	default:
		return c->placed1;
	}
}

/* KEY of the runs 1..runs of LAY-MODE (b blind, a act), NAN for a run that did not */
static void room_list(const char *lay, char mode, enum room_key key, double *v)
{
	const struct case_result *c;
	char name[16];
	int r;

	for (r = 0; r < cfg.runs; r++) {
		snprintf(name, sizeof(name), "%s-%c%d", lay, mode, r + 1);
		c = find_case(name);
		v[r] = c ? room_value(c, key) : NAN;
	}
}

/* how many of v[0..n) have a number */
static int numbered(const double *v, int n)
{
	int k = 0;

	while (n--)
		k += !isnan(v[n]);
	return k;
}

/*
 * Each act run's placement, a TAP result: pvx never held more vCPU
 * threads on a node's CPUs than it has CPUs, and with more vCPUs homed
 * on node 1 than its CPUs it left some in place (full).
 */
static void room_checks(void)
{
	const struct case_result *c;
	char name[16];
	size_t l;
	int r;

	for (l = 0; l < ARRAY_SIZE(layouts); l++)
		for (r = 1; r <= cfg.runs; r++) {
			snprintf(name, sizeof(name), "%s-a%d", layouts[l].name, r);
			c = find_case(name);
			if (!c)
				continue;
			ksft_test_result(c->placed0 <= cfg.ncpu0 && c->placed1 <= cfg.ncpu1 &&
					 (c->vcpus <= cfg.ncpu1 || c->full >= 1),
					 "room %s: %d vCPU(s) homed on node 1: pvx held at most %d vCPU thread(s) on node 0's %d CPU(s), %d on node 1's %d; full %ld\n",
					 name, c->vcpus, c->placed0, cfg.ncpu0, c->placed1,
					 cfg.ncpu1, c->full);
		}
}

/* the spread of @v as the table prints it */
static char *spread_text(char *buf, size_t size, const char *fmt, const double *v, int n,
			 double *scratch)
{
	const struct bstat_style st = { fmt, 1, "" };
	struct bstat_spread s;

	bstat_format(buf, size, &st, &s, bstat_spread_of(v, n, scratch, &s));
	return buf;
}

/* throughput against blind, from the ratio of the medians: within 5 % a tie */
static const char *verdict(int ret, double x)
{
	if (ret)
		return "not evaluated";
	if (bstat_meets(x, BSTAT_GE, 1.05))
		return "wins";
	return bstat_meets(x, BSTAT_LE, 0.95) ? "loses" : "ties";
}

/*
 * One layout's row and floors: the medians of the runs with n and
 * min..max, act's passes over blind's (the ratio of the medians, its
 * range min(act)/max(blind)..max(act)/min(blind)); the floors: with room
 * (one vCPU), act on the memory's node >= 90 %; without, no node held
 * more vCPUs pvx placed than CPUs, and act >= 1.0x blind run by run
 * (each act run after its blind run).
 */
static void room_row(const struct layout *lay)
{
	double a[cfg.runs], b[cfg.runs], s[cfg.runs], f[cfg.runs], p0[cfg.runs],
		p1[cfg.runs], paired[cfg.runs], scratch[cfg.runs];
	const struct bstat_style pct_style = { "%.1f", 1, "%" }, x_style = { "%.2f", 1, "x" };
	char bt[64], at[64], xt[64], st[64], ft[64], held_t[16], floor[160], first[16];
	struct bstat_spread sa, sb, xr = { 0 };
	int r, held = 0, ret;
	bool over = false;

	room_list(lay->name, 'a', RK_PASSES, a);
	room_list(lay->name, 'b', RK_PASSES, b);
	if (!numbered(a, cfg.runs) || !numbered(b, cfg.runs))
		return;
	room_list(lay->name, 'a', RK_SHARE, s);
	room_list(lay->name, 'a', RK_FULL, f);
	room_list(lay->name, 'a', RK_PLACED0, p0);
	room_list(lay->name, 'a', RK_PLACED1, p1);
	for (r = 0; r < cfg.runs; r++) {
		if (!isnan(p0[r]) && p0[r] > held)
			held = p0[r];
		if (!isnan(p1[r]) && p1[r] > held)
			held = p1[r];
		over |= p0[r] > cfg.ncpu0 || p1[r] > cfg.ncpu1;
	}
	ret = bstat_spread_of(a, cfg.runs, scratch, &sa) ?:
	      bstat_spread_of(b, cfg.runs, scratch, &sb) ?:
	      bstat_ratio_of_medians(&sa, &sb, &xr);
	spread_text(bt, sizeof(bt), "%.0f", b, cfg.runs, scratch);
	spread_text(at, sizeof(at), "%.0f", a, cfg.runs, scratch);
	bstat_format(xt, sizeof(xt), &x_style, &xr, ret);
	spread_text(st, sizeof(st), "%.1f", s, cfg.runs, scratch);
	spread_text(ft, sizeof(ft), "%.0f", f, cfg.runs, scratch);
	snprintf(held_t, sizeof(held_t), "%d", held);
	if (sscanf(ft, "%15s", first) != 1)
		first[0] = '\0';
	bench_info("%-4s %5d %-24s %-24s %-22s %-24s %6s %6s\n", lay->name, lay->vcpus, bt, at,
		   xt, st, first, held_t);
	if (sscanf(xt, "%15s", first) != 1)
		first[0] = '\0';
	if (lay->vcpus <= cfg.ncpu1) {
		bstat_format_floor(floor, sizeof(floor), &pct_style, s, cfg.runs, scratch,
				   BSTAT_GE, 90);
		bench_info("floor %s (room): act on the memory's node >= 90 %%: %s; throughput %s (%s)\n",
			   lay->name, floor, verdict(ret, xr.median), first);
		return;
	}
	bench_info("floor %s: no node holds more pvx-placed vCPUs than CPUs: %s; throughput %s (%s)\n",
		   lay->name, over ? "MISSED" : "met", verdict(ret, xr.median), first);
	bstat_paired(a, b, cfg.runs, paired);
	bstat_format_floor(floor, sizeof(floor), &x_style, paired, cfg.runs, scratch, BSTAT_GE,
			   1.0);
	bench_info("floor %s: act >= 1.0x blind, run by run: %s%s\n", lay->name, floor,
		   numbered(paired, cfg.runs) < MIN_RUNS ? FEW_RUNS : "");
}

static void room_table(void)
{
	bench_info("---- room series: passes of the workload (sum over its threads), medians of the runs (n min..max), on the memory's node, pvx full, most vCPUs pvx held on one node\n");
	bench_info("%-4s %5s %-24s %-24s %-22s %-24s %6s %6s\n", "lay", "vCPUs", "blind passes",
		   "act passes", "x blind", "act on-node %", "full", "held");
	/* the layout with room first, then the two without */
	room_row(&layouts[1]);
	room_row(&layouts[0]);
	room_row(&layouts[2]);
}

/* ---- main ----------------------------------------------------------- */

static int env_int(const char *name, int def, int min, int max)
{
	const char *v = getenv(name);
	int x = v && *v ? atoi(v) : def;

	return x < min ? min : x > max ? max : x;
}

/* the CPUs of node @node: its cpulist into @list, how many into *@n */
static int node_cpus(int node, char *list, size_t size, cpu_set_t *set, int *n)
{
	char path[64];

	snprintf(path, sizeof(path), NODE_DIR "/node%d/cpulist", node);
	if (sysfs_read_str(path, list, size) || !list[0] || l3_cpulist(list, set))
		return -1;
	*n = CPU_COUNT(set);
	return 0;
}

/* the plan from the results so far; exit 0 when none failed */
static __noreturn void finish(void)
{
	ksft_set_plan(ksft_test_num());
	ksft_finished();
}

static void configure(void)
{
	const char *abi = getenv("PVX_ABI"), *kimage = getenv("PVX_KIMAGE");
	const char *build = getenv("PVX_BUILD"), *initrd = getenv("PVX_BENCH_INITRD");
	cpu_set_t set0;

	cfg.secs = env_int("PVX_BENCH_NUMA_SECS", 20, 1, 3600);
	cfg.mb = env_int("PVX_BENCH_NUMA_MB", 32, 1, 4096);
	cfg.l3_cpus = env_int("PVX_BENCH_L3_CPUS", 2, 1, MAX_VCPUS);
	cfg.runs = env_int("PVX_BENCH_NUMA_RUNS", 3, 1, 100);
	cfg.room_secs = env_int("PVX_BENCH_NUMA_ROOM_SECS", 10, 1, 3600);
	cfg.out = getenv("PVX_OUT") ?: "/tmp";
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s/boot/vmlinuz-%s", kimage ?: "", abi ?: "");
	if (initrd && *initrd)
		snprintf(cfg.initrd, sizeof(cfg.initrd), "%s", initrd);
	else
		snprintf(cfg.initrd, sizeof(cfg.initrd), "%s/l3-bench-initrd.gz", build ?: "");
	if (node_cpus(1, cfg.node1, sizeof(cfg.node1), &cfg.node1_set, &cfg.ncpu1) ||
	    node_cpus(0, cfg.node0, sizeof(cfg.node0), &set0, &cfg.ncpu0))
		ksft_exit_skip("%s\n",
			       "the NUMA benchmark needs an L2 with two NUMA nodes (lab.sh --tests numabench)");
}

/* the host modules, the initramfs, the memory blocks: or fail and end */
static void prepare(void)
{
	static const char *const mods[] = { "pvx_host", "pvx_numa" };
	const char *why;
	size_t i;

	if (!path_exists(cfg.initrd)) {
		ksft_test_result_fail("bench initramfs # no %s (scripts/bench.sh builds it)\n",
				      cfg.initrd);
		finish();
	}
	if (read_blocks()) {
		ksft_test_result_fail("memory blocks # none in %s: %s\n", NODE_DIR "/nodeN/memoryM",
				      "the page reader cannot tell a page's node");
		finish();
	}
	for (i = 0; i < ARRAY_SIZE(mods); i++) {
		why = module_ensure_loaded(mods[i]);
		if (why) {
			ksft_test_result_fail("insmod %s.ko # %s\n", mods[i], why);
			finish();
		}
	}
}

static struct case_result *new_case(const char *name, int vcpus, int hint)
{
	struct case_result *c = &cases[ncases++];

	snprintf(c->name, sizeof(c->name), "%s", name);
	c->vcpus = vcpus;
	c->hint = hint;
	return c;
}

/*
 * One run of the room series: layout @lay, run @r, blind ('b': observe,
 * no hint) or act ('a': hints). The two modes alternate which goes first
 * from run to run, so a drift of the lab over the series (its load, its
 * page cache) does not always fall on the same mode.
 */
static void run_room(const struct layout *lay, int r, char mode, FILE *raw)
{
	char name[16];

	snprintf(name, sizeof(name), "%s-%c%d", lay->name, mode, r);
	run_case(new_case(name, lay->vcpus, mode == 'a'), 0,
		 mode == 'a' ? "act" : "observe", cfg.room_secs, raw);
}

int main(void)
{
	char path[320];
	size_t l;
	FILE *raw;
	int r;

	/* QEMU's serial port is its stdio: nothing for it to read */
	if (!freopen("/dev/null", "r", stdin))
		return 1;
	ksft_print_header();
	configure();
	prepare();
	if (!path_exists(BALANCING))
		bench_info("no kernel.numa_balancing in this kernel\n");
	bench_info("L2: node0 CPUs %s, node1 CPUs %s; L3: %d vCPUs, %d MiB per vCPU, %d s\n",
		   cfg.node0, cfg.node1, cfg.l3_cpus, cfg.mb, cfg.secs);
	cases = calloc(ARRAY_SIZE(layouts) * 2 * cfg.runs + ARRAY_SIZE(main_cases),
		       sizeof(*cases));
	snprintf(path, sizeof(path), "%s/bench-numa.txt", cfg.out);
	raw = fopen(path, "w");
	if (!cases || !raw) {
		ksft_test_result_fail("bench-numa.txt # %s: %s\n", path, strerror(errno));
		finish();
	}
	write_file(NUMA_PARAMS "hint_interval_ms", "0");
	bench_info("room series: node 1 has %d CPU(s), node 0 %d; %d runs of blind and act per layout, %d s each\n",
		   cfg.ncpu1, cfg.ncpu0, cfg.runs, cfg.room_secs);
	for (l = 0; l < ARRAY_SIZE(layouts); l++)
		for (r = 1; r <= cfg.runs; r++) {
			/* odd runs blind first, even runs act first */
			run_room(&layouts[l], r, r % 2 ? 'b' : 'a', raw);
			run_room(&layouts[l], r, r % 2 ? 'a' : 'b', raw);
		}
	run_case(new_case("blind", cfg.l3_cpus, 0), 0, "observe", cfg.secs, raw);
	run_case(new_case("balance", cfg.l3_cpus, 0), 1, "observe", cfg.secs, raw);
	run_case(new_case("hints", cfg.l3_cpus, 1), 0, "act", cfg.secs, raw);
	run_case(new_case("auto", cfg.l3_cpus, 2), 0, "act", cfg.secs, raw);
	fclose(raw);
	room_checks();
	write_file(BALANCING, "0");
	write_file(NUMA_PARAMS "mode", "observe");
	write_file(NUMA_PARAMS "hint_interval_ms", "100");
	placement_table();
	per_vcpu_table();
	cost_table();
	room_table();
	finish();
}
