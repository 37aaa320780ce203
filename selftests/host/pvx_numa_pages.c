// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_numa_pages: where the pages of each L3 worker's buffer are, for the
 * NUMA benchmark (scripts/bench-numa-l2.sh), run in L2 as root.
 *
 *   pvx_numa_pages QEMU_PID CONSOLE_LOG NCPUS OUT SECS
 *
 * The L3 workload (pvx_numa_work) writes the guest-physical frames of
 * each CPU's buffer on its console ("gpa cpu=N PFN+COUNT ...", then
 * "gpa cpu=N end ..."); QEMU writes the console into CONSOLE_LOG. Once
 * NCPUS CPUs have ended their lists, guest-physical address -> QEMU's
 * virtual address: the VM's RAM is QEMU's largest anonymous read-write
 * mapping (/proc/PID/maps; below 4 GiB it holds guest-physical address A
 * at offset A). Checked page by page: bytes 8..15 of every page of the
 * buffer of CPU N hold N + 1 (/proc/PID/mem; the workload writes byte 0
 * of each cache line only). Then every second, until QEMU ends or SECS
 * pass, the host frame of each page (/proc/PID/pagemap) and its node (the
 * memory block holding it, /sys/devices/system/node/nodeN/memoryM); OUT
 * is replaced (rename) by one line per CPU:
 *
 *   cpu N node0 P0 node1 P1 other PO
 *
 * (PO: pages on another node or not present). At the end, on stdout:
 *   pages cpu=N pages=P checked=C bad=B readings=R node0=P0 node1=P1 other=PO
 * Exit 0, or 1 when the lists did not come or the mapping was not found.
 * numa_maps gives pages per node of a whole mapping, not of a set of
 * pages: it cannot tell one vCPU's buffer from another's.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096ull
#define MAX_CPUS	64

struct cpu_pages {
	uint64_t *pfn;		/* guest frames */
	size_t n, cap;
	int ended;
	unsigned long checked, bad, readings;
	unsigned long node0, node1, other;
};

static struct cpu_pages cpus[MAX_CPUS];

static int add_pfn(struct cpu_pages *c, uint64_t pfn)
{
	uint64_t *p;

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

/* parse the console log; 1 when NCPUS lists are complete */
static int read_lists(const char *log, int ncpus)
{
	char *line = NULL, *s, *tok, *save;
	unsigned long long start, count, i;
	size_t cap = 0;
	int cpu, done = 0;
	FILE *f;

	for (cpu = 0; cpu < ncpus; cpu++) {
		cpus[cpu].n = 0;
		cpus[cpu].ended = 0;
	}
	f = fopen(log, "r");
	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		s = strstr(line, "gpa cpu=");
		if (!s || sscanf(s, "gpa cpu=%d", &cpu) != 1 || cpu < 0 || cpu >= ncpus)
			continue;
		if (strstr(s, " end ")) {
			cpus[cpu].ended = 1;
			continue;
		}
		strtok_r(s, " \r\n", &save);		/* gpa */
		strtok_r(NULL, " \r\n", &save);		/* cpu=N */
		while ((tok = strtok_r(NULL, " \r\n", &save))) {
			if (sscanf(tok, "%llx+%llx", &start, &count) != 2)
				continue;
			for (i = 0; i < count; i++)
				if (add_pfn(&cpus[cpu], start + i))
					goto out;
		}
	}
out:
	fclose(f);
	free(line);
	for (cpu = 0; cpu < ncpus; cpu++)
		done += cpus[cpu].ended;
	return done == ncpus;
}

/* the largest anonymous read-write mapping of PID: QEMU's guest RAM */
static int find_ram(int pid, uint64_t *base, uint64_t *size)
{
	char path[64], line[512], perms[8];
	unsigned long long lo, hi;
	int fields, n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	*size = 0;
	while (fgets(line, sizeof(line), f)) {
		n = 0;
		fields = sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &lo, &hi, perms, &n);
		if (fields != 3 || strcmp(perms, "rw-p"))
			continue;
		/* anonymous: no path after the inode */
		if (n && line[n] != '\n' && line[n] != '\0')
			continue;
		if (hi - lo > *size) {
			*base = lo;
			*size = hi - lo;
		}
	}
	fclose(f);
	return *size ? 0 : -1;
}

/* bytes 8..15 of each page of CPU N's buffer hold N + 1 */
static void check_pages(int pid, int ncpus, uint64_t base)
{
	unsigned char b[8], want;
	char path[64];
	int fd, cpu, j;
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY);
	for (cpu = 0; cpu < ncpus; cpu++) {
		want = cpu + 1;
		for (i = 0; i < cpus[cpu].n; i++) {
			cpus[cpu].checked++;
			if (fd < 0 || pread(fd, b, sizeof(b),
					    base + cpus[cpu].pfn[i] * PAGE + 8) != sizeof(b)) {
				cpus[cpu].bad++;
				continue;
			}
			for (j = 0; j < 8; j++)
				if (b[j] != want)
					break;
			cpus[cpu].bad += j < 8;
		}
	}
	if (fd >= 0)
		close(fd);
}

/* the node of each memory block: /sys/devices/system/node/nodeN/memoryM */
struct block {
	uint64_t first, end;	/* host frames */
	int node;
};

static struct block *blocks;
static int nblocks;

static int read_blocks(void)
{
	unsigned long long bs = 0;
	char path[320];
	struct dirent *d, *m;
	struct block *b;
	DIR *nd, *md;
	FILE *f;
	int node, mem;

	f = fopen("/sys/devices/system/memory/block_size_bytes", "r");
	if (!f || fscanf(f, "%llx", &bs) != 1 || !bs) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	nd = opendir("/sys/devices/system/node");
	if (!nd)
		return -1;
	while ((d = readdir(nd))) {
		if (sscanf(d->d_name, "node%d", &node) != 1)
			continue;
		snprintf(path, sizeof(path), "/sys/devices/system/node/%s", d->d_name);
		md = opendir(path);
		if (!md)
			continue;
		while ((m = readdir(md))) {
			if (sscanf(m->d_name, "memory%d", &mem) != 1)
				continue;
			b = realloc(blocks, (nblocks + 1) * sizeof(*b));
			if (!b)
				break;
			blocks = b;
			blocks[nblocks].first = mem * bs / PAGE;
			blocks[nblocks].end = (mem + 1) * bs / PAGE;
			blocks[nblocks].node = node;
			nblocks++;
		}
		closedir(md);
	}
	closedir(nd);
	return nblocks ? 0 : -1;
}

static int node_of(uint64_t pfn)
{
	int i;

	for (i = 0; i < nblocks; i++)
		if (pfn >= blocks[i].first && pfn < blocks[i].end)
			return blocks[i].node;
	return -1;
}

/*
 * One reading of every page's node: QEMU's page table (/proc/PID/pagemap,
 * root: bit 63 present, bits 0-54 the host frame), then the frame's
 * memory block. Not move_pages(2) without target nodes: on 6.1 it answers
 * -EFAULT for the pages automatic NUMA balancing has just made PROT_NONE
 * (its hinting faults), most of them in the balance case.
 * 0, or -1 when QEMU is gone.
 */
static int read_nodes(int pid, int ncpus, uint64_t base, uint64_t size, const char *out)
{
	static uint64_t *pm;
	unsigned long n0, n1, no;
	size_t i, npages = size / PAGE;
	char tmp[4096];
	uint64_t e;
	int fd, cpu, node;
	FILE *f;

	if (!pm)
		pm = malloc(npages * sizeof(*pm));
	snprintf(tmp, sizeof(tmp), "/proc/%d/pagemap", pid);
	fd = open(tmp, O_RDONLY);
	if (!pm || fd < 0)
		goto gone;
	if (pread(fd, pm, npages * sizeof(*pm), base / PAGE * sizeof(*pm)) !=
	    (ssize_t)(npages * sizeof(*pm)))
		goto gone;
	close(fd);
	for (cpu = 0; cpu < ncpus; cpu++) {
		struct cpu_pages *c = &cpus[cpu];

		n0 = 0;
		n1 = 0;
		no = 0;
		for (i = 0; i < c->n; i++) {
			e = pm[c->pfn[i]];
			node = e >> 63 ? node_of(e & ((1ull << 55) - 1)) : -1;
			if (node == 0)
				n0++;
			else if (node == 1)
				n1++;
			else
				no++;
		}
		c->node0 = n0;
		c->node1 = n1;
		c->other = no;
		c->readings++;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	f = fopen(tmp, "w");
	if (!f)
		return 0;
	for (cpu = 0; cpu < ncpus; cpu++)
		fprintf(f, "cpu %d node0 %lu node1 %lu other %lu\n", cpu,
			cpus[cpu].node0, cpus[cpu].node1, cpus[cpu].other);
	if (fclose(f) == 0)
		rename(tmp, out);
	return 0;
gone:
	if (fd >= 0)
		close(fd);
	return -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const struct timespec second = { .tv_sec = 1 };
	const struct timespec tenth = { .tv_nsec = 100000000 };
	uint64_t base = 0, size = 0;
	int pid, ncpus, cpu, ret = 0;
	char proc[64];
	double end;
	size_t i;

	if (argc != 6) {
		fprintf(stderr, "usage: pvx_numa_pages QEMU_PID CONSOLE_LOG NCPUS OUT SECS\n");
		return 2;
	}
	pid = atoi(argv[1]);
	ncpus = atoi(argv[3]);
	if (pid <= 0 || ncpus <= 0 || ncpus > MAX_CPUS) {
		fprintf(stderr, "pvx_numa_pages: bad PID or NCPUS (1..%d)\n", MAX_CPUS);
		return 2;
	}
	end = now() + atof(argv[5]);
	snprintf(proc, sizeof(proc), "/proc/%d", pid);
	while (!read_lists(argv[2], ncpus)) {
		if (now() > end || access(proc, F_OK)) {
			printf("# pvx_numa_pages: the workload's page lists did not come\n");
			return 1;
		}
		nanosleep(&tenth, NULL);
	}
	if (find_ram(pid, &base, &size)) {
		printf("# pvx_numa_pages: no anonymous mapping in %s/maps\n", proc);
		return 1;
	}
	for (cpu = 0; cpu < ncpus; cpu++)
		for (i = 0; i < cpus[cpu].n; i++)
			if (cpus[cpu].pfn[i] * PAGE >= size) {
				printf("# pvx_numa_pages: frame %llx beyond the RAM mapping (%llu MiB)\n",
				       (unsigned long long)cpus[cpu].pfn[i],
				       (unsigned long long)size >> 20);
				return 1;
			}
	if (read_blocks()) {
		printf("# pvx_numa_pages: no memory blocks in /sys/devices/system/node\n");
		return 1;
	}
	check_pages(pid, ncpus, base);
	while (now() < end && !read_nodes(pid, ncpus, base, size, argv[4]))
		nanosleep(&second, NULL);
	for (cpu = 0; cpu < ncpus; cpu++) {
		struct cpu_pages *c = &cpus[cpu];

		printf("pages cpu=%d pages=%zu checked=%lu bad=%lu readings=%lu",
		       cpu, c->n, c->checked, c->bad, c->readings);
		printf(" node0=%lu node1=%lu other=%lu\n", c->node0, c->node1, c->other);
		if (!c->readings || c->bad * 10 > c->checked)
			ret = 1;
	}
	return ret;
}
