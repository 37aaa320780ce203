// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_ksm_bench: the L3 side of the KSM benchmark (issue 11 item 4,
 * selftests/host/pvx_bench_ksm.c, Documentation/ksm.rst). Two L3 guests run it,
 * one as the victim, one as the attacker; L2 runs KSM over both. The
 * lever series (issue 29 item 3) boots more guests, roles g1, g2, ...:
 * attackers whose set X and private data are each their own.
 *
 *   pvx_ksm_bench ROLE PAGES ROUNDS PROTECT SYNC_TTY [SLOW_NS [PRIVATE_MIB]]
 *
 * Three sets of PAGES pages each, refilled every round:
 *   U  content both guests hold (unprotected in both): KSM merges it;
 *   P  content both guests hold; the victim protects it with
 *      PVX_IOC_KSM_PROTECT when PROTECT is 1 (the "secret" page whose
 *      content the attacker guesses right);
 *   X  content only this guest holds (the baseline: a page KSM has no
 *      reason to touch).
 * Each page's content is unique within the guest (so pages of one guest
 * never merge with each other), and the same in both guests for U and P.
 *
 * PRIVATE_MIB (default 0) MiB of this guest's own data, unique page by
 * page and between the guests, are written before the first mark and kept:
 * a working set, the bulk of a busy guest's memory, which KSM has no
 * reason to merge (L2 measures the hints' precision against it).
 *
 * Before the first mark it sends L2, on SYNC_TTY (stdout reaches the
 * console only when the program ends), what kind of page each of the
 * guest's page frames is, from /proc/kpageflags, for pvx_ksm_census to tell
 * which kinds of guest memory KSM merged (a frame's guest-physical
 * address is its number times 4096 in these guests, all RAM below 4 GiB):
 *
 *   pfnmap START KINDS      (KINDS: one letter per frame from START, up to
 *                            4096 a line; see page_kind())
 *
 * Marks to L2 on SYNC_TTY (a line, then wait for one byte, no time limit):
 * "I" before anything is allocated (L2 measures the idle guests' sharing
 * meanwhile), "F ROUND" after a round's fill (L2 lets KSM run some full
 * scans). After the answer, the time of the first write to each page of
 * each set is taken (CLOCK_MONOTONIC around one 8-byte store), and one
 * line per set and round is printed:
 *
 *   ksmw role=R round=N set=S pages=N p50_ns= p90_ns= max_ns= slow=N
 *
 * slow counts writes over SLOW_NS (default 20000): a write that took a
 * fault into L2 (a copy-on-write of a merged page, or a refault after KSM
 * write-protected the page).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/const.h>

#include "pvx.h"
#include "l2_sync.h"

#define PAGE	4096ul
#define NSETS	3

static const char set_name[NSETS] = { 'U', 'P', 'X' };
static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x | 1;	/* never a zero word */
}

/*
 * What makes set X and the private data this guest's own: the victim's
 * and the attacker's tags as before, any other role (the lever series'
 * guests g1, g2, ...) a tag of its name, so no two guests hold the same.
 */
static uint64_t own_tag(const char *role)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (!strcmp(role, "victim"))
		return 0x1234;
	if (!strcmp(role, "attacker"))
		return 0x4321;
	while (*role)
		h = (h ^ (unsigned char)*role++) * 0x100000001b3ull;
	return (h & 0xffffff) | 0x10000;
}

/* fill page @i of set @s for round @r; X depends on the guest too */
static void fill(char *pg, int s, unsigned int r, size_t i, uint64_t own)
{
	uint64_t *w = (uint64_t *)pg;
	uint64_t seed = ((uint64_t)s << 56) ^ ((uint64_t)r << 40) ^ i;
	size_t k;

	if (set_name[s] == 'X')
		seed ^= own << 24;
	for (k = 0; k < PAGE / sizeof(*w); k++)
		w[k] = mix(seed * 4099 + k);
}

/* a working set of @mib MiB: set X's contents of round 0, never reused */
static int fill_private(unsigned long mib, uint64_t own)
{
	size_t i, n = mib * 256;
	char *w;

	if (!mib)
		return 0;
	w = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED)
		return -1;
	for (i = 0; i < n; i++)
		fill(w + i * PAGE, 2, 0, i, own);
	printf("# %lu MiB of own data written\n", mib);
	return 0;
}

/* kpageflags bits (include/uapi/linux/kernel-page-flags.h) */
#define KPF(b)		(1ull << (b))
#define KPF_SLAB	7
#define KPF_LRU		5
#define KPF_BUDDY	10
#define KPF_MMAP	11
#define KPF_ANON	12
#define KPF_SWAPBACKED	14
#define KPF_UNEVICTABLE	18
#define KPF_NOPAGE	20
#define KPF_PGTABLE	26
#define KPF_RESERVED	32
#define PFNMAP_LINE	4096
#define PFNMAP_MAX	_BITUL(20)	/* 4 GiB of frames */

/*
 * One letter for a frame: '-' no page, f free (a buddy block's first
 * page), F a flagless page right after free ones (most likely the rest
 * of the block: only its first page says it is free), r reserved
 * (the kernel image, boot allocations), s slab, t page table, a anonymous,
 * h shmem/tmpfs (the initramfs's files), x file page mapped by a process,
 * c file page cached only, z flagless elsewhere (vmalloc, stacks, raw
 * allocations), o anything else.
 */
static char page_kind(uint64_t k, char prev)
{
	if (k & KPF(KPF_NOPAGE))
		return '-';
	if (k & KPF(KPF_BUDDY))
		return 'f';
	if (!k)
		return prev == 'f' || prev == 'F' ? 'F' : 'z';
	if (k & KPF(KPF_RESERVED))
		return 'r';
	if (k & KPF(KPF_SLAB))
		return 's';
	if (k & KPF(KPF_PGTABLE))
		return 't';
	if (k & KPF(KPF_ANON))
		return 'a';
	if (k & (KPF(KPF_LRU) | KPF(KPF_UNEVICTABLE))) {
		if (k & KPF(KPF_SWAPBACKED))
			return 'h';
		return k & KPF(KPF_MMAP) ? 'x' : 'c';
	}
	return 'o';
}

/* the kind of every frame, as pfnmap lines to L2 on @out */
static void send_pfnmap(int out)
{
	uint64_t flags[PFNMAP_LINE];
	char kinds[PFNMAP_LINE + 1], prev = 0;
	unsigned long start;
	ssize_t n, i;
	int fd;

	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0) {
		printf("# no pfnmap: /proc/kpageflags: %s\n", strerror(errno));
		return;
	}
	for (start = 0; start < PFNMAP_MAX; start += n) {
		n = pread(fd, flags, sizeof(flags), start * sizeof(flags[0]));
		n = n < 0 ? 0 : n / (ssize_t)sizeof(flags[0]);
		if (!n)
			break;
		for (i = 0; i < n; i++) {
			kinds[i] = page_kind(flags[i], prev);
			prev = kinds[i];
		}
		kinds[n] = '\0';
		dprintf(out, "pfnmap %lu %s\n", start, kinds);
	}
	close(fd);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned long pages, rounds, slow_ns = 20000, private_mib = 0, r, i, slow;
	struct pvx_ksm_protect_req req;
	char *set[NSETS], line[64];
	int victim, protect, s, pvx, pfd = -1;
	uint64_t own;
	double *lat;

	if (argc < 6) {
		fprintf(stderr, "usage: %s victim|attacker PAGES ROUNDS PROTECT SYNC_TTY %s\n",
			argv[0], "[SLOW_NS [PRIVATE_MIB]]");
		return 2;
	}
	victim = !strcmp(argv[1], "victim");
	own = own_tag(argv[1]);
	pages = strtoul(argv[2], NULL, 0);
	rounds = strtoul(argv[3], NULL, 0);
	protect = atoi(argv[4]) && victim;
	if (argc > 6)
		slow_ns = strtoul(argv[6], NULL, 0);
	if (argc > 7)
		private_mib = strtoul(argv[7], NULL, 0);
	if (!pages || pages > 16384 || !rounds || private_mib > 4096) {
		printf("error bad PAGES, ROUNDS or PRIVATE_MIB\n");
		return 2;
	}
	sync_fd = sync_open(argv[5]);
	if (sync_fd < 0)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fill_private(private_mib, own)) {
		printf("error mmap of %lu MiB: %s\n", private_mib, strerror(errno));
		return 1;
	}
	send_pfnmap(sync_fd);
	sync_mark("I\n", -1);
	lat = calloc(pages, sizeof(*lat));
	for (s = 0; s < NSETS; s++) {
		set[s] = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (set[s] == MAP_FAILED || !lat) {
			printf("error mmap: %s\n", strerror(errno));
			return 1;
		}
	}
	if (protect) {
		pvx = open("/dev/pvx", O_RDWR);
		memset(&req, 0, sizeof(req));
		req.addr = (uintptr_t)set[1];
		req.len = pages * PAGE;
		pfd = pvx < 0 ? -1 : ioctl(pvx, PVX_IOC_KSM_PROTECT, &req);
		if (pfd < 0) {
			printf("error PVX_IOC_KSM_PROTECT: %s\n", strerror(errno));
			return 1;
		}
		printf("# victim: %lu pages of set P protected (fd %d)\n", pages, pfd);
	}
	for (r = 1; r <= rounds; r++) {
		for (s = 0; s < NSETS; s++)
			for (i = 0; i < pages; i++)
				fill(set[s] + i * PAGE, s, r, i, own);
		snprintf(line, sizeof(line), "F %lu\n", r);
		sync_mark(line, -1);
		for (s = 0; s < NSETS; s++) {
			for (i = 0; i < pages; i++) {
				volatile uint64_t *p = (uint64_t *)(set[s] + i * PAGE);
				double t0 = now_ns();

				*p = 0;
				lat[i] = now_ns() - t0;
			}
			qsort(lat, pages, sizeof(*lat), cmp_d);
			for (slow = 0, i = 0; i < pages; i++)
				slow += lat[i] > slow_ns;
			printf("ksmw role=%s round=%lu set=%c pages=%lu ",
			       argv[1], r, set_name[s], pages);
			printf("p50_ns=%.0f p90_ns=%.0f max_ns=%.0f slow=%lu\n",
			       lat[pages / 2], lat[pages * 9 / 10], lat[pages - 1], slow);
		}
	}
	if (pfd >= 0)
		close(pfd);
	return 0;
}
