// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_ksm_census: what KSM merged in one VM's guest RAM and what those
 * pages hold, for the KSM benchmark (pvx_bench_ksm), run in L2 as root.
 *
 *   pvx_ksm_census QEMU_PID MIB [PFNMAP]
 *
 * The guest RAM is QEMU's anonymous read-write mapping of exactly MIB
 * MiB (/proc/PID/maps). For every page of it: present or not and its
 * host frame (/proc/PID/pagemap), whether that frame is a KSM page or
 * the shared zero page (/proc/kpageflags), and whether the page reads
 * all zero (/proc/PID/mem). One line on stdout:
 *
 *   census pages=N resident=R merged=M merged_zero=MZ zero_page=ZP
 *          resident_zero=RZ
 *
 * merged: KSM pages mapped more than once (/proc/kpagecount): 6.12's
 * kpageflags sets KPF_KSM on every anonymous page (stable_page_flags()
 * tests mapping & PAGE_MAPPING_KSM, true for any anon mapping), and a
 * KSM page mapped once saves nothing; merged_zero: of them, the ones that hold only
 * zeros; zero_page: pages mapped to the shared zero page (KSM's
 * use_zero_pages, or a zero-filled piece of a split huge page);
 * resident_zero: resident pages, not merged, that hold only zeros (KSM
 * would merge them with any other zero page). The hint precision of the
 * benchmark counts merged pages; this says how many of the merges a
 * guest's own zeroed memory explains.
 *
 * PFNMAP, a file of the guest's "pfnmap START KINDS" lines (one letter
 * per guest page frame, printed by pvx_ksm_bench in the guest; other
 * lines are skipped), adds one line per kind of guest page:
 *
 *   censuskind kind=K pages=N resident=R merged=M merged_zero=MZ
 *              zero_page=ZP resident_zero=RZ
 *
 * (guest page N at offset N * 4096 of the RAM mapping; frames the map
 * does not cover are kind '?'). Exit 0, 1 when the mapping, a /proc file
 * or PFNMAP cannot be read.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE		4096ull
#define PM_PRESENT	(1ull << 63)
#define PM_PFN_MASK	((1ull << 55) - 1)
#define KPF_KSM		21
#define KPF_ZERO_PAGE	24
#define CHUNK		512

struct census {
	unsigned long pages, resident, merged, merged_zero, zero_page, resident_zero;
};

#define NKINDS		128
static struct census kind_census[NKINDS];
static char *kind_of;		/* a letter per guest page, or NULL */
static uint64_t kind_pages;

/* read the guest's pfnmap lines from @path into kind_of[] */
static int read_pfnmap(const char *path, uint64_t pages)
{
	static char line[8192];
	unsigned long start;
	size_t i;
	int n;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	kind_of = malloc(pages);
	if (!kind_of) {
		fclose(f);
		return -1;
	}
	memset(kind_of, '?', pages);
	kind_pages = pages;
	while (fgets(line, sizeof(line), f)) {
		n = 0;
		if (sscanf(line, "pfnmap %lu %n", &start, &n) < 1 || !n)
			continue;
		for (i = 0; line[n + i] >= ' ' && start + i < pages; i++)
			kind_of[start + i] = line[n + i] & (NKINDS - 1);
	}
	fclose(f);
	return 0;
}

/* the per-kind census of guest page @gpn, or NULL without a map */
static struct census *kind_census_of(uint64_t gpn)
{
	if (!kind_of || gpn >= kind_pages)
		return NULL;
	return &kind_census[(unsigned char)kind_of[gpn]];
}

/* QEMU's anonymous read-write mapping of @size bytes: its start, or 0 */
static uint64_t find_ram(int pid, uint64_t size)
{
	char path[64], line[512], perms[8];
	unsigned long long lo, hi;
	uint64_t start = 0;
	int n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		n = 0;
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &lo, &hi, perms, &n) < 3)
			continue;
		/* anonymous: no path after the inode */
		if (hi - lo == size && !strncmp(perms, "rw", 2) &&
		    n && (line[n] == '\0' || line[n] == '\n')) {
			start = lo;
			break;
		}
	}
	fclose(f);
	return start;
}

static int is_zero(const unsigned char *p)
{
	static const unsigned char zero[PAGE];

	return !memcmp(p, zero, PAGE);
}

/* @pfn's entry of /proc/kpageflags or /proc/kpagecount (@fd) */
static int page_word(int fd, uint64_t pfn, uint64_t *word)
{
	return pread(fd, word, sizeof(*word), pfn * sizeof(*word)) == sizeof(*word) ? 0 : -1;
}

enum page_state { ABSENT, ON_ZERO_PAGE, MERGED, MERGED_ZERO, RESIDENT, RESIDENT_ZERO };

static void count_state(struct census *c, enum page_state st)
{
	c->pages++;
	c->resident += st != ABSENT;
	c->zero_page += st == ON_ZERO_PAGE;
	c->merged += st == MERGED || st == MERGED_ZERO;
	c->merged_zero += st == MERGED_ZERO;
	c->resident_zero += st == RESIDENT_ZERO;
}

/* /proc/kpageflags and /proc/kpagecount, open */
struct kpage_files {
	int flags, count;
};

/* KSM merged the page at @pfn with another: a KSM page mapped twice or more */
static int is_merged(const struct kpage_files *kp, uint64_t pfn, uint64_t flags)
{
	uint64_t count = 0;

	if (!(flags & (1ull << KPF_KSM)))
		return 0;
	if (page_word(kp->count, pfn, &count))
		return -1;
	return count > 1;
}

/* one page with its pagemap entry @pm at address @va: its state, or -1 */
static int page_state(const struct kpage_files *kp, int mem, uint64_t va, uint64_t pm)
{
	static unsigned char buf[PAGE];
	uint64_t flags = 0, pfn = pm & PM_PFN_MASK;
	int zero, merged;

	if (!(pm & PM_PRESENT))
		return ABSENT;
	if (page_word(kp->flags, pfn, &flags))
		return -1;
	if (flags & (1ull << KPF_ZERO_PAGE))
		return ON_ZERO_PAGE;
	if (pread(mem, buf, PAGE, va) != PAGE)
		return -1;
	zero = is_zero(buf);
	merged = is_merged(kp, pfn, flags);
	if (merged < 0)
		return -1;
	if (merged)
		return zero ? MERGED_ZERO : MERGED;
	return zero ? RESIDENT_ZERO : RESIDENT;
}

static int census_ram(int pid, uint64_t start, uint64_t size, struct census *c)
{
	struct kpage_files kp;
	uint64_t pm[CHUNK], va, i, n;
	char path[64];
	int pmf, mem, ret = -1;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pmf = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem = open(path, O_RDONLY);
	kp.flags = open("/proc/kpageflags", O_RDONLY);
	kp.count = open("/proc/kpagecount", O_RDONLY);
	if (pmf < 0 || mem < 0 || kp.flags < 0 || kp.count < 0)
		goto out;
	for (va = start; va < start + size; va += n * PAGE) {
		n = (start + size - va) / PAGE;
		if (n > CHUNK)
			n = CHUNK;
		if (pread(pmf, pm, n * sizeof(pm[0]), va / PAGE * sizeof(pm[0])) !=
		    (ssize_t)(n * sizeof(pm[0])))
			goto out;
		for (i = 0; i < n; i++) {
			int st = page_state(&kp, mem, va + i * PAGE, pm[i]);
			struct census *k = kind_census_of((va - start) / PAGE + i);

			if (st < 0)
				goto out;
			count_state(c, st);
			if (k)
				count_state(k, st);
		}
	}
	ret = 0;
out:
	if (pmf >= 0)
		close(pmf);
	if (mem >= 0)
		close(mem);
	if (kp.flags >= 0)
		close(kp.flags);
	if (kp.count >= 0)
		close(kp.count);
	return ret;
}

int main(int argc, char **argv)
{
	struct census c = { 0 };
	uint64_t start, size;
	int pid, i;

	if (argc < 3 || argc > 4 || atoi(argv[1]) <= 0 || strtoull(argv[2], NULL, 10) == 0) {
		fprintf(stderr, "usage: pvx_ksm_census QEMU_PID MIB [PFNMAP]\n");
		return 2;
	}
	pid = atoi(argv[1]);
	size = strtoull(argv[2], NULL, 10) << 20;
	start = find_ram(pid, size);
	if (!start) {
		fprintf(stderr, "pvx_ksm_census: no anonymous rw mapping of %s MiB in process %d\n",
			argv[2], pid);
		return 1;
	}
	if (argc == 4 && read_pfnmap(argv[3], size / PAGE)) {
		perror("pvx_ksm_census: PFNMAP");
		return 1;
	}
	if (census_ram(pid, start, size, &c)) {
		perror("pvx_ksm_census: /proc");
		return 1;
	}
	printf("census pages=%lu resident=%lu merged=%lu merged_zero=%lu ",
	       c.pages, c.resident, c.merged, c.merged_zero);
	printf("zero_page=%lu resident_zero=%lu\n", c.zero_page, c.resident_zero);
	for (i = 0; kind_of && i < NKINDS; i++) {
		const struct census *k = &kind_census[i];

		if (!k->pages)
			continue;
		printf("censuskind kind=%c pages=%lu resident=%lu merged=%lu ",
		       (char)i, k->pages, k->resident, k->merged);
		printf("merged_zero=%lu zero_page=%lu resident_zero=%lu\n",
		       k->merged_zero, k->zero_page, k->resident_zero);
	}
	return 0;
}
