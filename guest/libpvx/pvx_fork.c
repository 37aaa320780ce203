// SPDX-License-Identifier: GPL-2.0
/*
 * libpvx: pvx_fork() of pvx_fork.h.
 *
 * fork(); in the child, for each range R (its whole pages), in chunks of
 * PVX_FORK_CHUNK: map fresh anonymous memory N, have the host copy R
 * into N (PVX_IOC_FORK_COPY: one exit per 255 pages) and mremap() N over
 * R. The child's pages of R then are its own; the pages it shared
 * copy-on-write with the parent are dropped, so the parent's next write
 * to one finds it no longer shared and reuses it without a copy. The
 * parent waits for the child's report on a pipe before it returns.
 * When every range was copied, the parent then faults its own pages of
 * the ranges that a write would reuse in writable (pvx_fork_prefault()).
 *
 * What the child copies is its own view of R at the time of the copy:
 * the fork-time snapshot (a parent write after the fork went to a new
 * page of the parent's) plus whatever the child's own atfork handlers
 * wrote. The child runs only async-signal-safe calls before it returns.
 *
 * Only private anonymous read-write memory is moved (mremap() carries no
 * file and no other protection over, and the stack cannot move), not the
 * stack the child runs on, and with signals blocked: between a copy and
 * its mremap() the child must not write to the range. The fresh mapping
 * replaces the old one with its own VMA flags, so a range is moved only
 * when every flag of its mappings is one the fresh mapping has or gets
 * (/proc/self/smaps' VmFlags: pvx_fork_flag_ok()); a range that is
 * MADV_WIPEONFORK or MAP_DROPPABLE, userfaultfd-registered, or anything
 * else the move would drop, stays as fork() made it. Pages the child has
 * no page table entry for (never touched, and not swapped out) are not
 * copied: they stay unbacked in the fresh mapping, zero on first use as
 * before. Anything else, and every failure, leaves that range
 * copy-on-write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pvx.h"
#include "pvx_fork.h"
#include "pvx_fork_calc.h"

#define PVX_API		__attribute__((visibility("default")))

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Fresh pages the child maps at a time: bounds its extra memory. */
#define PVX_FORK_CHUNK	(16ul << 20)

/* /proc/self/pagemap entries the parent reads at a time (4 KiB). */
#define PVX_FORK_PAGEMAP_PAGES	512
/* pagemap: present (bit 63) and mapped by this process only (bit 56) */
#define PVX_PM_REUSABLE		((1ull << 63) | (1ull << 56))
/* pagemap: present or swapped out (bit 62): a page with content */
#define PVX_PM_BACKED		((1ull << 63) | (1ull << 62))

/* Mappings of one range the child checks and moves: more stay COW. */
#define PVX_FORK_MAX_PIECES	32

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23	/* Linux 5.14 */
#endif

static struct pvx_fork_stats pvx_fork_totals;	/* __atomic builtins */

/* What the child tells the parent. */
struct pvx_fork_report {
	unsigned long long ranges_copied;
	unsigned long long bytes_copied;
	unsigned long long ranges_fallback;
	int last_error;
};

/* ---- the child: is a range private anonymous read-write memory? ---- */

/* /proc/self/maps, read line by line without malloc (after fork). */
struct pvx_maps {
	int fd;
	size_t len, pos;
	char buf[4096];
};

/* The next line, NUL-terminated (a longer one is cut), or NULL. */
static char *pvx_maps_line(struct pvx_maps *m)
{
	char *nl, *line;
	ssize_t got;

	for (;;) {
		nl = memchr(m->buf + m->pos, '\n', m->len - m->pos);
		if (nl) {
			line = m->buf + m->pos;
			*nl = 0;
			m->pos = nl + 1 - m->buf;
			return line;
		}
		memmove(m->buf, m->buf + m->pos, m->len - m->pos);
		m->len -= m->pos;
		m->pos = 0;
		if (m->len == sizeof(m->buf) - 1) {	/* cut: keep the start */
			m->buf[m->len] = '\n';
			m->len++;
			continue;
		}
		do
			got = read(m->fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len);
		while (got < 0 && errno == EINTR);
		if (got <= 0)
			return NULL;
		m->len += got;
	}
}

/*
 * "lo-hi perms offset dev inode [name]": the mapping's bounds, and whether
 * it is one mremap() may replace: private, read-write, no file ([heap]
 * and named anonymous memory are anonymous; the stack grows down).
 */
static bool pvx_maps_parse(char *line, uintptr_t *lo, uintptr_t *hi, bool *anon_rw)
{
	char *p = line, *name;
	int field;

	*lo = strtoul(p, &p, 16);
	if (*p++ != '-')
		return false;
	*hi = strtoul(p, &p, 16);
	if (*p++ != ' ')
		return false;
	*anon_rw = !strncmp(p, "rw-p ", 5);
	for (field = 0, name = p; field < 4 && name; field++) {
		name = strchr(name, ' ');
		if (name)
			name++;
	}
	while (name && *name == ' ')
		name++;
	if (name && *name && strcmp(name, "[heap]") && strncmp(name, "[anon:", 6))
		*anon_rw = false;
	return true;
}

/* madvise() advice a piece's fresh mapping is given before the move. */
enum {
	PVX_ADV_HUGEPAGE = 1 << 0,	/* "hg" */
	PVX_ADV_NOHUGEPAGE = 1 << 1,	/* "nh" */
	PVX_ADV_DONTDUMP = 1 << 2,	/* "dd" */
	PVX_ADV_MERGEABLE = 1 << 3,	/* "mg" */
};

/*
 * A VmFlags word of a private anonymous read-write mapping that the fresh
 * mapping has too (rd wr mr mw me ac sd; nr: MAP_NORESERVE only changes
 * the commit accounting of the child's copy) or gets through madvise()
 * (*@adv). Every other flag (wf MADV_WIPEONFORK, dp MAP_DROPPABLE, um/uw
 * userfaultfd, gd a stack, and flags newer than this list) makes the
 * range stay as fork() made it.
 */
static bool pvx_fork_flag_ok(const char *f, unsigned int *adv)
{
	static const char keep[][3] = { "rd", "wr", "mr", "mw", "me", "ac", "sd", "nr" };
	static const struct { char name[3]; unsigned int adv; } set[] = {
		{ "hg", PVX_ADV_HUGEPAGE }, { "nh", PVX_ADV_NOHUGEPAGE },
		{ "dd", PVX_ADV_DONTDUMP }, { "mg", PVX_ADV_MERGEABLE },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keep); i++)
		if (!strncmp(f, keep[i], 2))
			return true;
	for (i = 0; i < ARRAY_SIZE(set); i++)
		if (!strncmp(f, set[i].name, 2)) {
			*adv |= set[i].adv;
			return true;
		}
	return false;
}

/* "VmFlags: rd wr ...": every flag acceptable; *@adv = the advice to give. */
static bool pvx_fork_vmflags_ok(const char *line, unsigned int *adv)
{
	const char *f = line + strlen("VmFlags:");

	*adv = 0;
	for (;;) {
		while (*f == ' ')
			f++;
		if (!*f)
			return true;
		if (!f[1] || (f[2] && f[2] != ' ') || !pvx_fork_flag_ok(f, adv))
			return false;
		f += 2;
	}
}

/* One mapping's part of a range, and the advice its fresh pages get. */
struct pvx_fork_piece {
	uintptr_t start, end;
	unsigned int adv;
};

/* The pieces of a range in address order, from /proc/self/smaps. */
struct pvx_fork_pieces {
	struct pvx_fork_piece p[PVX_FORK_MAX_PIECES];
	unsigned int n;
};

/* The mapping whose VmFlags line comes next in smaps. */
struct pvx_smaps_vma {
	uintptr_t lo, hi;
	bool anon_rw, pending;
};

/*
 * Account the mapping @v, whose VmFlags line is @flags, to the range
 * [*@covered, @end): 0, or why the range must stay copy-on-write.
 */
static int pvx_fork_add_piece(struct pvx_fork_pieces *pc, const struct pvx_smaps_vma *v,
			      const char *flags, uintptr_t *covered, uintptr_t end,
			      uintptr_t sp)
{
	struct pvx_fork_piece *piece;
	unsigned int adv;

	if (v->hi <= *covered)
		return 0;
	if (v->lo > *covered)
		return EFAULT;		/* a hole */
	if (!v->anon_rw || (v->lo <= sp && sp < v->hi) || !pvx_fork_vmflags_ok(flags, &adv))
		return EINVAL;
	if (pc->n == PVX_FORK_MAX_PIECES)
		return E2BIG;
	piece = &pc->p[pc->n++];
	piece->start = *covered;
	piece->end = v->hi < end ? v->hi : end;
	piece->adv = adv;
	*covered = piece->end;
	return 0;
}

/*
 * 0 and the pieces of [start, end) when it is all private anonymous
 * read-write memory whose flags survive the move, and not in the mapping
 * of the stack this code runs on (a thread's stack is anonymous too):
 * what the child pushes there between the copy and the mremap() would be
 * lost. Read from smaps (not maps) for the VmFlags lines; the reading
 * stops at the range's end, so later mappings are not walked.
 */
static int pvx_fork_check_range(uintptr_t start, uintptr_t end, struct pvx_fork_pieces *pc)
{
	struct pvx_maps m = { .len = 0, .pos = 0 };
	struct pvx_smaps_vma v = { .pending = false };
	uintptr_t covered = start, sp = (uintptr_t)&m;
	char *line;
	int ret = 0;

	pc->n = 0;
	m.fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
	if (m.fd < 0)
		return errno;
	while (covered < end && !ret && (line = pvx_maps_line(&m))) {
		if (!strncmp(line, "VmFlags:", 8)) {
			if (v.pending)
				ret = pvx_fork_add_piece(pc, &v, line, &covered, end, sp);
			v.pending = false;
		} else if ((*line >= '0' && *line <= '9') || (*line >= 'a' && *line <= 'f')) {
			if (v.pending || !pvx_maps_parse(line, &v.lo, &v.hi, &v.anon_rw))
				ret = EIO;	/* a mapping without VmFlags */
			v.pending = true;
		}
	}
	close(m.fd);
	if (!ret && covered < end)
		ret = EFAULT;
	return ret;
}

/* ---- the child: copy a range ---------------------------------------- */

/* Give @fresh the advice its piece had: 0 or errno. */
static int pvx_fork_advise(void *fresh, size_t len, unsigned int adv)
{
	static const struct { unsigned int adv; int advice; } map[] = {
		{ PVX_ADV_HUGEPAGE, MADV_HUGEPAGE }, { PVX_ADV_NOHUGEPAGE, MADV_NOHUGEPAGE },
		{ PVX_ADV_DONTDUMP, MADV_DONTDUMP }, { PVX_ADV_MERGEABLE, MADV_MERGEABLE },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(map); i++)
		if ((adv & map[i].adv) && madvise(fresh, len, map[i].advice))
			return errno;
	return 0;
}

/*
 * Copy the pages of [addr, addr + len) that have content (present or
 * swapped out in the child's page table) to @fresh at the same offsets,
 * one PVX_IOC_FORK_COPY per run: 0 or errno. Pages never touched stay
 * unbacked in @fresh, so a sparse range does not become resident.
 * Without a readable pagemap everything is copied.
 */
static int pvx_fork_copy_backed(int fd, int pagemap, uintptr_t addr, uintptr_t fresh,
				size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	unsigned long long ent[PVX_FORK_PAGEMAP_PAGES];
	struct pvx_fork_copy_req req = { .src = addr, .dst = fresh, .len = len };
	size_t off, run = 0, i, n;
	bool in_run = false;

	if (pagemap < 0)
		return ioctl(fd, PVX_IOC_FORK_COPY, &req) ? errno : 0;
	for (off = 0; off < len; off += n * page) {
		n = (len - off) / page;
		if (n > PVX_FORK_PAGEMAP_PAGES)
			n = PVX_FORK_PAGEMAP_PAGES;
		if (pread(pagemap, ent, n * sizeof(ent[0]),
			  (off_t)((addr + off) / page * sizeof(ent[0]))) !=
		    (ssize_t)(n * sizeof(ent[0])))
			return EIO;
		for (i = 0; i <= n; i++) {
			bool backed = i < n && (ent[i] & PVX_PM_BACKED);
			size_t at = off + i * page;

			if (backed && !in_run) {
				run = at;
				in_run = true;
			} else if (!backed && in_run && (i < n || off + n * page == len)) {
				req = (struct pvx_fork_copy_req){ .src = addr + run,
					.dst = fresh + run, .len = at - run };
				if (ioctl(fd, PVX_IOC_FORK_COPY, &req))
					return errno;
				in_run = false;
			}
		}
	}
	return 0;
}

/*
 * Copy [addr, addr + len) into fresh pages with advice @adv and move them
 * over it: 0 or errno.
 */
static int pvx_fork_copy_chunk(int fd, int pagemap, uintptr_t addr, size_t len,
			       unsigned int adv)
{
	void *fresh = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err;

	if (fresh == MAP_FAILED)
		return errno;
	err = pvx_fork_advise(fresh, len, adv);
	if (!err)
		err = pvx_fork_copy_backed(fd, pagemap, addr, (uintptr_t)fresh, len);
	if (!err && mremap(fresh, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)addr) != MAP_FAILED)
		return 0;
	if (!err)
		err = errno;
	munmap(fresh, len);
	return err;
}

/*
 * A range's whole pages, mapping by mapping and chunk by chunk: 0 or
 * errno (then the rest stays COW).
 */
static int pvx_fork_copy_range(int fd, int pagemap, const struct pvx_fork_range *r,
			       struct pvx_fork_report *rep)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)r->addr + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)r->addr + r->len) & ~(page - 1);
	struct pvx_fork_pieces pc;
	unsigned int i;
	size_t len;
	int err;

	if (!r->len || (uintptr_t)r->addr + r->len < (uintptr_t)r->addr)
		return EINVAL;
	if (end <= start)
		return EINVAL;	/* no whole page: it all stays copy-on-write */
	err = pvx_fork_check_range(start, end, &pc);
	for (i = 0; !err && i < pc.n; i++) {
		for (start = pc.p[i].start; !err && start < pc.p[i].end; start += len) {
			len = pc.p[i].end - start < PVX_FORK_CHUNK ? pc.p[i].end - start :
								     PVX_FORK_CHUNK;
			err = pvx_fork_copy_chunk(fd, pagemap, start, len, pc.p[i].adv);
			if (!err)
				rep->bytes_copied += len;
		}
	}
	return err;
}

static void pvx_fork_child(const struct pvx_fork_range *ranges, unsigned int n,
			   int report_fd)
{
	struct pvx_fork_report rep = { .last_error = 0 };
	int fd = open("/dev/pvx", O_RDONLY | O_CLOEXEC);
	int err = fd < 0 ? errno : 0;
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	unsigned int i;
	ssize_t w;

	for (i = 0; i < n; i++) {
		/* no /dev/pvx, no ioctl, no host support: the same for every range */
		if (err != ENOENT && err != ENOTTY && err != EOPNOTSUPP && fd >= 0)
			err = pvx_fork_copy_range(fd, pagemap, &ranges[i], &rep);
		if (err) {
			rep.ranges_fallback++;
			rep.last_error = err;
		} else {
			rep.ranges_copied++;
		}
	}
	if (fd >= 0)
		close(fd);
	if (pagemap >= 0)
		close(pagemap);
	do
		w = write(report_fd, &rep, sizeof(rep));
	while (w < 0 && errno == EINTR);
	close(report_fd);
}

/* ---- the parent: does the host copy win here? ----------------------- */

/*
 * The two files the rule reads stay open between calls and are read with
 * pread(): on 6.1 every close() of a file queues an RCU callback
 * (file_free() in fs/file_table.c), and the grace period it started ran
 * during the fork() right after. With an open and a close of each per
 * call, a pvx_fork() the rule made plain took about 10 ms longer in the
 * parent than fork() at 256 MiB (15 of 16 rounds, fork_copy.rst). Both are
 * sysfs files, which pin no module (an open /dev/pvx would keep pvx_guest
 * from unloading). A descriptor is read only while fstat() says it still
 * is the file opened (a program may close descriptors it does not know
 * of, and the number come back as another file: that one is left alone),
 * and a failed read opens the file again once (pvx_guest reloaded: the
 * old file answers ENODEV). The lock is taken around every fork() of the
 * process (pthread_atfork()), so that a child never finds it held.
 */
struct pvx_fork_file {
	const char *path;
	int fd;
	dev_t dev;
	ino_t ino;
};

static pthread_mutex_t pvx_fork_files_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pvx_fork_files_once = PTHREAD_ONCE_INIT;
static struct pvx_fork_file pvx_fork_features_file = {
	.path = "/sys/kernel/pvx/host_features", .fd = -1,
};

static struct pvx_fork_file pvx_fork_thp_file = {
	.path = "/sys/kernel/mm/transparent_hugepage/enabled", .fd = -1,
};

/* pthread_atfork(): held from before any fork() to after it, in both */
static void pvx_fork_files_hold(void)
{
	pthread_mutex_lock(&pvx_fork_files_lock);
}

static void pvx_fork_files_release(void)
{
	pthread_mutex_unlock(&pvx_fork_files_lock);
}

static void pvx_fork_files_init(void)
{
	pthread_atfork(pvx_fork_files_hold, pvx_fork_files_release,
		       pvx_fork_files_release);
}

/* Whether @f's descriptor still is the file it opened. */
static bool pvx_fork_file_is_own(const struct pvx_fork_file *f)
{
	struct stat st;

	return f->fd >= 0 && !fstat(f->fd, &st) && st.st_dev == f->dev && st.st_ino == f->ino;
}

/* Open @f (again); the old descriptor is closed only while it is @f's. */
static void pvx_fork_file_open(struct pvx_fork_file *f)
{
	struct stat st;

	if (pvx_fork_file_is_own(f))
		close(f->fd);
	f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (f->fd >= 0 && fstat(f->fd, &st)) {
		close(f->fd);
		f->fd = -1;
	}
	if (f->fd >= 0) {
		f->dev = st.st_dev;
		f->ino = st.st_ino;
	}
}

/* The start of @f, NUL-terminated, into @buf; "" when unreadable. */
static void pvx_fork_file_read(struct pvx_fork_file *f, char *buf, size_t len)
{
	ssize_t got = -1;
	int tries;

	pthread_once(&pvx_fork_files_once, pvx_fork_files_init);
	pthread_mutex_lock(&pvx_fork_files_lock);
	for (tries = 0; tries < 2 && got <= 0; tries++) {
		if (tries || !pvx_fork_file_is_own(f))
			pvx_fork_file_open(f);
		if (f->fd >= 0)
			got = pread(f->fd, buf, len - 1, 0);
	}
	pthread_mutex_unlock(&pvx_fork_files_lock);
	buf[got > 0 ? got : 0] = 0;
}

/* PROBE's RDX as pvx_guest shows it ("0x3001f"): 0 without pvx_guest. */
static unsigned long long pvx_fork_host_features(void)
{
	char buf[32];

	pvx_fork_file_read(&pvx_fork_features_file, buf, sizeof(buf));
	return strtoull(buf, NULL, 16);
}

/* "Name:   1234 kB" in bytes, when @line is that field. */
static bool pvx_fork_smaps_kb(const char *line, const char *name, unsigned long long *bytes)
{
	size_t len = strlen(name);

	if (strncmp(line, name, len))
		return false;
	*bytes = strtoull(line + len, NULL, 10) << 10;
	return true;
}

/* Whether the VmFlags line @line has the two-letter flag @flag. */
static bool pvx_fork_vmflag(const char *line, const char *flag)
{
	const char *f;

	for (f = line + strlen("VmFlags:"); (f = strstr(f, flag)); f += 2)
		if (f[-1] == ' ' && (!f[2] || f[2] == ' '))
			return true;
	return false;
}

/* Bytes of [lo, hi) inside the whole pages of the ranges. */
static unsigned long long pvx_fork_overlap(const struct pvx_fork_range *ranges,
					   unsigned int n, uintptr_t lo, uintptr_t hi)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a, b;
	unsigned long long sum = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		a = ((uintptr_t)ranges[i].addr + page - 1) & ~(page - 1);
		b = ((uintptr_t)ranges[i].addr + ranges[i].len) & ~(page - 1);
		if (b < (uintptr_t)ranges[i].addr)	/* wraps: the child refuses it */
			continue;
		a = a > lo ? a : lo;
		b = b < hi ? b : hi;
		if (a < b)
			sum += b - a;
	}
	return sum;
}

/*
 * The ranges' share of the Rss and AnonHugePages of their mappings (a
 * mapping's counts scaled by the part of it the ranges hold), and whether
 * one of those mappings has MADV_HUGEPAGE or MADV_NOHUGEPAGE.
 */
static void pvx_fork_backing(const struct pvx_fork_range *ranges, unsigned int n,
			     struct pvx_fork_facts *f)
{
	struct pvx_maps m = { .len = 0, .pos = 0 };
	uintptr_t lo = 0, hi = 0;
	unsigned long long in = 0, v;
	bool anon_rw;
	char *line;

	m.fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
	if (m.fd < 0)
		return;
	while ((line = pvx_maps_line(&m))) {
		if ((*line >= '0' && *line <= '9') || (*line >= 'a' && *line <= 'f')) {
			in = pvx_maps_parse(line, &lo, &hi, &anon_rw) && hi > lo ?
			     pvx_fork_overlap(ranges, n, lo, hi) : 0;
		} else if (!in) {
			continue;
		} else if (pvx_fork_smaps_kb(line, "Rss:", &v)) {
			f->resident += (unsigned long long)((double)v * in / (hi - lo));
		} else if (pvx_fork_smaps_kb(line, "AnonHugePages:", &v)) {
			f->huge += (unsigned long long)((double)v * in / (hi - lo));
		} else if (!strncmp(line, "VmFlags:", 8)) {
			f->advised_huge |= pvx_fork_vmflag(line, "hg");
			f->advised_nohuge |= pvx_fork_vmflag(line, "nh");
		}
	}
	close(m.fd);
}

/* What the rule says for this call (pvx_fork_calc.h), from what the guest knows. */
static enum pvx_fork_why pvx_fork_choose(const struct pvx_fork_range *ranges, unsigned int n)
{
	enum pvx_fork_force force = pvx_fork_force_of(getenv("LIBPVX_FORK_PATH"));
	struct pvx_fork_facts f = { .paging = PVX_FORK_PAGING_UNKNOWN };
	char thp[128];

	if (force == PVX_FORK_FORCE_COPY || force == PVX_FORK_FORCE_PLAIN)
		return pvx_fork_decide(&f, force);
	f.paging = pvx_fork_paging_of(pvx_fork_host_features());
	if (f.paging != PVX_FORK_PAGING_NESTED)
		return pvx_fork_decide(&f, force);
	pvx_fork_file_read(&pvx_fork_thp_file, thp, sizeof(thp));
	f.thp = pvx_fork_thp_of(thp);
	f.bytes = pvx_fork_overlap(ranges, n, 0, UINTPTR_MAX);
	/*
	 * smaps costs a walk of every mapping: read only when the size and
	 * the policy leave the answer open (a fork() the rule makes plain
	 * must cost no more than fork())
	 */
	if (f.bytes >= PVX_FORK_NESTED_MIN_BYTES && f.thp != PVX_FORK_THP_NEVER)
		pvx_fork_backing(ranges, n, &f);
	return pvx_fork_decide(&f, force);
}

/* ---- the parent ------------------------------------------------------ */

static void pvx_fork_account(const struct pvx_fork_report *rep)
{
	__atomic_fetch_add(&pvx_fork_totals.forks, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&pvx_fork_totals.ranges_copied, rep->ranges_copied,
			   __ATOMIC_RELAXED);
	__atomic_fetch_add(&pvx_fork_totals.bytes_copied, rep->bytes_copied,
			   __ATOMIC_RELAXED);
	__atomic_fetch_add(&pvx_fork_totals.ranges_fallback, rep->ranges_fallback,
			   __ATOMIC_RELAXED);
	if (rep->ranges_fallback)
		__atomic_store_n(&pvx_fork_totals.last_error, rep->last_error,
				 __ATOMIC_RELAXED);
}

/*
 * The rule says the host copy would lose: fork() alone, counted as
 * a fork whose ranges all stayed copy-on-write, with ECANCELED.
 */
static pid_t pvx_fork_plain(unsigned int n)
{
	struct pvx_fork_report rep = {
		.ranges_fallback = n, .last_error = ECANCELED,
	};
	pid_t pid = fork();
	int saved = errno;

	if (pid > 0) {
		pvx_fork_account(&rep);
		__atomic_fetch_add(&pvx_fork_totals.plain_forks, 1, __ATOMIC_RELAXED);
	}
	errno = saved;
	return pid;
}

/* Populate [start, end) writable; a failure is ignored (an optimisation). */
static void pvx_fork_populate(uintptr_t start, uintptr_t end)
{
	madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

/*
 * The parent's PTEs of a copied range are still write-protected since the
 * fork, although its pages are no longer shared: the child's were replaced
 * by the host's copies. Each first write of the parent to one of them is a
 * guest page fault, which under shadow paging (kvm_amd npt=0) is a VM exit
 * of its own: about one exit per page, nearly half of what pvx_fork() cost.
 * MADV_POPULATE_WRITE takes those faults in one system call instead, the
 * kernel reusing each page.
 *
 * Only runs of pages that /proc/self/pagemap calls present and exclusively
 * mapped are populated: exactly those a write would reuse without a copy.
 * A page never touched stays unbacked, the shared zero page behind a page
 * only read stays shared, and a page still shared copy-on-write with an
 * earlier child is not copied ahead of a write that may never come. The
 * flags need no privilege (only the frame numbers do). Every failure
 * leaves the rest to the ordinary faults.
 */
static void pvx_fork_prefault(int pagemap, const struct pvx_fork_range *r)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)r->addr + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)r->addr + r->len) & ~(page - 1);
	unsigned long long ent[PVX_FORK_PAGEMAP_PAGES];
	uintptr_t addr, run, len;
	size_t i, n;

	if ((uintptr_t)r->addr + r->len < (uintptr_t)r->addr)
		return;
	for (addr = start, run = 0; addr < end; addr += len) {
		n = (end - addr) / page;
		if (n > PVX_FORK_PAGEMAP_PAGES)
			n = PVX_FORK_PAGEMAP_PAGES;
		len = n * page;
		if (pread(pagemap, ent, n * sizeof(ent[0]),
			  (off_t)(addr / page * sizeof(ent[0]))) !=
		    (ssize_t)(n * sizeof(ent[0])))
			break;
		for (i = 0; i < n; i++) {
			if ((ent[i] & PVX_PM_REUSABLE) == PVX_PM_REUSABLE) {
				if (!run)
					run = addr + i * page;
			} else if (run) {
				pvx_fork_populate(run, addr + i * page);
				run = 0;
			}
		}
	}
	if (run)
		pvx_fork_populate(run, addr);
}

/*
 * Whether the child's report can be read now, or the child is gone
 * without one. The pipe's end of file is not enough: a process another
 * thread of the parent forked while the pipe was open holds its write end
 * too, so a child that died before its report would leave read() blocked
 * for as long as that process lives. A pidfd (Linux 5.3) says when the
 * child is gone; without one, the read blocks as before.
 */
static bool pvx_fork_report_ready(int report_fd, int pidfd)
{
	struct pollfd fds[2] = {
		{ .fd = report_fd, .events = POLLIN },
		{ .fd = pidfd, .events = POLLIN },
	};

	if (pidfd < 0)
		return true;
	while (poll(fds, 2, -1) < 0)
		if (errno != EINTR)
			return true;
	if (fds[0].revents)
		return true;
	/* gone: a report it wrote before it died is in the pipe by now */
	fds[0].revents = 0;
	return poll(fds, 1, 0) > 0;
}

/* Wait for the child's report; a child that died before it sends none. */
static void pvx_fork_wait(int report_fd, pid_t pid, const struct pvx_fork_range *ranges,
			  unsigned int n)
{
	struct pvx_fork_report rep = { .last_error = 0 };
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ssize_t got = 0;

	if (pvx_fork_report_ready(report_fd, pidfd)) {
		do
			got = read(report_fd, &rep, sizeof(rep));
		while (got < 0 && errno == EINTR);
	}
	if (pidfd >= 0)
		close(pidfd);
	if (got != (ssize_t)sizeof(rep))
		memset(&rep, 0, sizeof(rep));
	pvx_fork_account(&rep);
	if (rep.ranges_copied == n && !rep.ranges_fallback) {
		int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

		if (pagemap < 0)
			return;
		while (n--)
			pvx_fork_prefault(pagemap, &ranges[n]);
		close(pagemap);
	}
}

static bool pvx_fork_disabled(void)
{
	const char *env = getenv("LIBPVX_FALLBACK");

	return env && *env && strcmp(env, "0");
}

/*
 * Signals are blocked from before the fork until the child has copied: a
 * handler that ran in the child between a copy and its mremap() would
 * write to pages about to be replaced, and its writes would be lost.
 */
PVX_API pid_t pvx_fork(const struct pvx_fork_range *ranges, unsigned int n)
{
	enum pvx_fork_why why;
	sigset_t all, old;
	int p[2], saved;
	pid_t pid;

	if (!ranges && n) {
		errno = EINVAL;
		return -1;
	}
	if (!n || pvx_fork_disabled())
		return fork();
	why = pvx_fork_choose(ranges, n);
	if (!pvx_fork_why_copies(why))
		return pvx_fork_plain(n);
	if (pipe2(p, O_CLOEXEC))
		return fork();
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		pvx_fork_child(ranges, n, p[1]);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 0;
	}
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid > 0)
		pvx_fork_wait(p[0], pid, ranges, n);
	close(p[0]);
	errno = saved;
	return pid;
}

PVX_API void pvx_fork_stats(struct pvx_fork_stats *stats)
{
	stats->forks = __atomic_load_n(&pvx_fork_totals.forks, __ATOMIC_RELAXED);
	stats->ranges_copied = __atomic_load_n(&pvx_fork_totals.ranges_copied,
					       __ATOMIC_RELAXED);
	stats->bytes_copied = __atomic_load_n(&pvx_fork_totals.bytes_copied,
					      __ATOMIC_RELAXED);
	stats->ranges_fallback = __atomic_load_n(&pvx_fork_totals.ranges_fallback,
						 __ATOMIC_RELAXED);
	stats->last_error = __atomic_load_n(&pvx_fork_totals.last_error,
					    __ATOMIC_RELAXED);
	stats->plain_forks = __atomic_load_n(&pvx_fork_totals.plain_forks, __ATOMIC_RELAXED);
}
