// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_bench_ksm: the KSM benchmark of make bench (PVX_BENCH=ksm; issue 11
 * item 4, and the lever series of issue 29 item 3), run inside the L2 KVM
 * host by scripts/bench-l2.sh as root; Documentation/ksm.rst, "Benchmark"
 * and "The lever: merging only the VMs that ask".
 *
 *   pvx_bench_ksm KERNEL INITRD
 *   pvx_bench_ksm --tables DIR    the tables again from DIR's result files
 *
 * KSM runs in L2 (run=1, pages_to_scan, sleep_millisecs and, on 6.12,
 * smart_scan set and recorded). Cases one after the other, each with TWO
 * L3 guests booted from KERNEL and the bench INITRD (a victim and an
 * attacker, QEMU's default mem-merge=on):
 *   (a) blind: no pvx_ksm_guest, nothing hinted, nothing protected;
 *   (b) pvx: pvx_ksm_guest in both (kernel-image candidates sent), the
 *       victim protects its set P with PVX_IOC_KSM_PROTECT;
 *   (c) pvx with zero_free=1: as (b), and both guests zero their stale
 *       free pages and send them as candidates too.
 * pvx_ksm.ko is loaded for all (it only counts in (a): no hint comes).
 *
 * Phase 1 (sharing): both guests idle at their first mark; KSM is reset
 * (run=2) and started, and sampled every second for PVX_BENCH_KSM_SECS:
 * full scans, pages_scanned (6.12), pages_sharing, each QEMU's
 * ksm_merging_pages. Then, per VM, its guest RAM's resident pages,
 * pvx_ksm's debugfs candidates and candidates_merged (the precision of
 * the hints), and pvx_ksm_census's count of the merged pages by content
 * and by kind of guest page (the map the guest sent with its first mark).
 * Phase 2 (never-merge): pvx_ksm_bench fills three sets of
 * PVX_BENCH_KSM_PAGES pages in each guest (U: both guests the same, P:
 * both the same, the victim's protected in (b), X: each guest its own)
 * and waits; L2 lets KSM run PVX_BENCH_KSM_SCANS full scans, reads the
 * merged counts and pvx_ksm's pins_merged, and lets both guests time the
 * first write to every page. PVX_BENCH_KSM_ROUNDS rounds.
 *
 * The lever series (case l): what merge_on_candidates buys a host whose
 * VMM starts its guests with merging off. PVX_BENCH_KSM_LEVER_VMS (4) L3
 * guests of PVX_BENCH_KSM_LEVER_MEM MiB (256), each with
 * PVX_BENCH_KSM_LEVER_PRIVATE_MB (128) MiB of data of its own; the first
 * PVX_BENCH_KSM_LEVER_ASK (2) boot nokaslr with pvx_ksm_guest (the same
 * kernel image, sent as candidates), the others with KASLR and no pvx
 * module. PVX_BENCH_KSM_LEVER_RUNS (1) runs of each case, by turns:
 *   m  blind: every VM mergeable (QEMU mem-merge=on), merge_on_candidates=0;
 *   n  pvx: QEMU mem-merge=off, merge_on_candidates=1: the VMs that ask;
 *   s  as m with smart_scan=1 where the kernel has it (6.7 and later);
 *   a  as m with KSM's advisor (advisor_mode=scan-time, 6.9 and later:
 *      ksmd sizes pages_to_scan so that a full scan of the mergeable
 *      memory takes PVX_BENCH_KSM_ADVISOR_SECS, 30);
 *   p  as n with that advisor: pvx's policy on a host whose scan rate
 *      follows the mergeable memory.
 * PVX_BENCH_KSM_LEVER_CASES (mnsap) chooses among them; the ones the
 * kernel lacks the knobs for are left out.
 * Once every guest is at its first mark (booted again up to
 * PVX_BENCH_KSM_BOOTS times, as a case's pair) KSM is reset and sampled
 * for PVX_BENCH_KSM_LEVER_SECS (120) s, then the guests are ended.
 *
 * Output: TAP (kselftest.h), the tables and floors as "#" lines, also in
 * $PVX_OUT/bench-ksm-table.txt and bench-ksm-lever-table.txt; the result
 * lines in $PVX_OUT/bench-ksm-results.txt and bench-ksm-lever-results.txt,
 * each L3 console in $PVX_OUT/l3-bench-ksm-CASE-ROLE.log. A test fails
 * only when a number is missing; floors are reported, never asserted.
 * Exit 0, 1 when a test failed.
 *
 * Knobs: PVX_BENCH_KSM_MEM (MiB per L3 guest, 512), PVX_BENCH_KSM_CPUS
 * (vCPUs per L3 guest, 1), PVX_BENCH_KSM_SECS (60), PVX_BENCH_KSM_PAGES
 * (1024), PVX_BENCH_KSM_ROUNDS (5), PVX_BENCH_KSM_SCANS (4),
 * PVX_BENCH_KSM_TO_SCAN (pages_to_scan, 1000), PVX_BENCH_KSM_SLEEP_MS
 * (sleep_millisecs, 10), PVX_BENCH_KSM_SMART (smart_scan on 6.12, 0),
 * PVX_BENCH_KSM_SLOW_NS (20000), PVX_BENCH_KSM_PRIVATE_MB (352: MiB of its
 * own data each guest writes before phase 1), PVX_BENCH_KSM_KASLR (0: the
 * guests boot with nokaslr), PVX_BENCH_KSM_FIRST (victim: which guest's
 * QEMU starts first, and so is scanned first), PVX_BENCH_KSM_ZERO_ORDER
 * (0: case (c)'s zero_order), PVX_BENCH_KSM_CASES (abl: which cases run;
 * c adds (c), l is the lever series), PVX_BENCH_KSM_BOOTS (3: tries to
 * boot a case's two guests to their first mark), PVX_BENCH_KSM_TIMEOUT
 * (per L3 guest, s, 1500), and the lever's PVX_BENCH_KSM_LEVER_* above.
 * Environment: PVX_ABI, PVX_OUT, PVX_BUILD (host/pvx_ksm.ko when it is
 * not loaded). With the defaults the benchmark takes about 13 min of L2
 * on 6.12 without the lever series, about 10 min per lever case.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest.h"
#include "bench_stat.h"
#include "l3_vm.h"
#include "module_util.h"
#include "sysfs_util.h"

#define KSM_SYS		"/sys/kernel/mm/ksm"
#define MOC_PARAM	"/sys/module/pvx_ksm/parameters/merge_on_candidates"
#define MAX_VMS		16
#define MAX_RUNS	64	/* lever runs; never-merge rounds */
#define LINE_SIZE	8192
#define CELL		256
#define NKINDS		128	/* pfnmap kinds: one ASCII letter */

static struct {
	const char *kernel, *initrd, *abi, *out, *first, *cases, *lv_cases;
	long mem, cpus, secs, pages, rounds, scans, to_scan, sleep_ms, smart;
	long slow_ns, private_mb, kaslr, zero_order, boots, timeout;
	long lv_vms, lv_ask, lv_mem, lv_secs, lv_runs, lv_private_mb, advisor_secs;
} cfg;

static char tool_dir[512];	/* where this program is, and pvx_ksm_census */

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? atol(v) : def;
}

static const char *env_str(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* ---- output: TAP, "#" lines, result lines ------------------------------- */

static FILE *table_copy;	/* the table being printed also goes here */
static FILE *res;		/* the result lines of the cases or the lever */

/* one check: "ok N DESC" when @ok, else "not ok N DESC" (DESC from @fmt) */
#define result(ok, fmt, ...) ksft_test_result(ok, fmt "\n", ##__VA_ARGS__)

/* a "# " line on stdout, and into table_copy while a table is printed */
#define tap_info(fmt, ...) bstat_say(table_copy, fmt "\n", ##__VA_ARGS__)

/* one result line into res; the last one kept in last_rec */
static char last_rec[LINE_SIZE];

static __printf(1, 2) void res_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_rec, sizeof(last_rec), fmt, ap);
	va_end(ap);
	if (res) {
		fprintf(res, "%s\n", last_rec);
		fflush(res);
	}
}

/* The last line of the file @path, CRs dropped (@nonblank: the last that is not empty). */
static char *last_line(const char *path, bool nonblank, char *buf, size_t size)
{
	char *text = read_text(path), *line, *next, *cr;

	buf[0] = '\0';
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while ((cr = strchr(line, '\r')))
			memmove(cr, cr + 1, strlen(cr));
		if (!nonblank || *line)
			snprintf(buf, size, "%s", line);
		if (!next)
			break;
	}
	free(text);
	return buf;
}

/* ---- what L2 reads: KSM, the QEMUs, pvx_ksm's debugfs -------------------- */

static long long ksm_get(const char *name)
{
	return sysfs_read_counter(KSM_SYS, name);
}

static void ksm_set(const char *name, long value)
{
	char path[128], val[32];

	snprintf(path, sizeof(path), KSM_SYS "/%s", name);
	snprintf(val, sizeof(val), "%ld", value);
	write_file(path, val);
}

/* KSM's count since @base, or -1 where the kernel has none (6.1's pages_scanned) */
static long long ksm_since(const char *name, long long base)
{
	return base < 0 ? -1 : ksm_get(name) - base;
}

/* The number after "@key " at the start of a line of @text, 0 when none. */
static long long text_value(const char *text, const char *key)
{
	size_t n = strlen(key);
	const char *p;

	for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, n) && p[n] == ' ')
			return atoll(p + n + 1);
	return 0;
}

static long long file_value(const char *path, const char *key)
{
	char *text = read_text(path);
	long long v = text_value(text, key);

	free(text);
	return v;
}

/* pages of QEMU @pid that KSM merged now */
static long long ksm_merging(pid_t pid)
{
	char dir[64];
	long long v;

	snprintf(dir, sizeof(dir), "/proc/%d", pid);
	v = sysfs_read_counter(dir, "ksm_merging_pages");
	return v < 0 ? 0 : v;
}

/* KSM's rmap items of QEMU @pid: the pages it tracks */
static long long ksm_rmap(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", pid);
	return file_value(path, "ksm_rmap_items");
}

/* pvx_ksm's debugfs value @key for the VM of QEMU @pid, 0 without one */
static long long vm_dbg(pid_t pid, const char *key)
{
	char pattern[96];
	long long v = 0;
	glob_t g;

	snprintf(pattern, sizeof(pattern), "/sys/kernel/debug/pvx/vm*-%d/ksm", pid);
	if (!glob(pattern, 0, NULL, &g))
		v = file_value(g.gl_pathv[0], key);
	globfree(&g);
	return v;
}

/* resident pages of QEMU @pid's guest RAM (its mapping of @mib MiB) */
static long long ram_rss(pid_t pid, long mib)
{
	unsigned long long lo, hi;
	char path[64], line[512];
	long long kb = 0, rss = 0;
	bool cur = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2) {
			cur = false;
		} else if (sscanf(line, "Size: %lld", &kb) == 1) {
			cur = kb == mib * 1024;
		} else if (cur && sscanf(line, "Rss: %lld", &kb) == 1) {
			rss = kb / 4;
			break;
		}
	}
	if (f)
		fclose(f);
	return rss;
}

/* ksmd's CPU time (user + system), clock ticks */
static long long ksmd_ticks(void)
{
	static pid_t ksmd;
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	struct dirent *d;
	DIR *dir;

	for (dir = ksmd ? NULL : opendir("/proc"); dir && (d = readdir(dir));) {
		snprintf(path, sizeof(path), "/proc/%.20s/comm", d->d_name);
		if (atoi(d->d_name) > 0 && !sysfs_read_str(path, buf, sizeof(buf)) &&
		    !strcmp(buf, "ksmd"))
			ksmd = atoi(d->d_name);
	}
	if (dir)
		closedir(dir);
	snprintf(path, sizeof(path), "/proc/%d/stat", ksmd);
	if (!ksmd || sysfs_read_str(path, buf, sizeof(buf)))
		return 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return 0;
	return ut + st;
}

/* KSM's scan-time advisor: the kernel has it (6.9 and later). */
static bool ksm_has_advisor(void)
{
	return !access(KSM_SYS "/advisor_mode", W_OK);
}

/*
 * Reset KSM: unmerge everything, wait until nothing is merged, set the
 * scan knobs (smart_scan @smart where the kernel has it; with @advisor,
 * the scan-time advisor, which sets pages_to_scan from then on, else
 * none); KSM stays off.
 */
static void ksm_restart(long smart, bool advisor)
{
	int i;

	ksm_set("run", 2);
	for (i = 0; i < 300 && (ksm_get("pages_shared") || ksm_get("pages_sharing")); i++)
		sleep_ms(200);
	/* before pages_to_scan: a change of mode resets it */
	if (ksm_has_advisor())
		write_file(KSM_SYS "/advisor_mode", "none");
	ksm_set("pages_to_scan", cfg.to_scan);
	ksm_set("sleep_millisecs", cfg.sleep_ms);
	if (!access(KSM_SYS "/smart_scan", W_OK))
		ksm_set("smart_scan", smart);
	if (advisor) {
		ksm_set("advisor_target_scan_time", cfg.advisor_secs);
		write_file(KSM_SYS "/advisor_mode", "scan-time");
	}
}

/* ---- the L3 guests --------------------------------------------------------- */

/*
 * One L3 guest: QEMU, and the lines pvx_ksm_bench sends on its sync port
 * (a pipe chardev: the FIFOs FIFO.in and FIFO.out), read as they come
 * into memory and into FIFO.lines (pvx_ksm_census reads its pfnmap).
 */
struct ksm_vm {
	char role[16];
	char fifo[64];
	char lines_path[80];
	struct l3_vm vm;
	int out_fd, lines_fd;
	char *lines;
	size_t len;
};

static struct ksm_vm vms[MAX_VMS];
static int nvms;		/* the guests of the case or lever run */

/* what a guest boots with */
struct boot {
	char tag[16];		/* a, b, c; lm1 ... for the lever's runs */
	int hint;		/* pvx_ksm_hint: 0, 1 candidates, 2 with zero_free */
	bool kaslr;
	const char *merge;	/* QEMU's mem-merge; NULL: its default, on */
	long mem, private_mb;
};

static void vm_pump(struct ksm_vm *g)
{
	char buf[65536], *more;
	ssize_t n;

	while (g->out_fd >= 0 && (n = read(g->out_fd, buf, sizeof(buf))) > 0) {
		more = realloc(g->lines, g->len + n + 1);
		if (!more)
			return;
		memcpy(more + g->len, buf, n);
		g->lines = more;
		g->len += n;
		g->lines[g->len] = '\0';
		if (g->lines_fd >= 0 && write(g->lines_fd, buf, n) != n) {
			close(g->lines_fd);
			g->lines_fd = -1;
		}
	}
}

/*
 * Sleep @ms, the guests' lines read meanwhile: a sync port nobody reads
 * holds its guest (the pfnmap is 32 KiB per 128 MiB of guest).
 */
static void nap_ms(long ms)
{
	long slice;
	int i;

	for (; ms > 0; ms -= slice) {
		for (i = 0; i < nvms; i++)
			vm_pump(&vms[i]);
		slice = ms < 200 ? ms : 200;
		sleep_ms(slice);
	}
	for (i = 0; i < nvms; i++)
		vm_pump(&vms[i]);
}

static int vm_boot(struct ksm_vm *g, const char *role, const struct boot *b)
{
	struct l3_args a = { 0 };
	char path[96], log[sizeof(g->vm.log) - 4];	/* l3_vm_start adds ".err" */
	int ret;

	snprintf(g->role, sizeof(g->role), "%s", role);
	snprintf(g->fifo, sizeof(g->fifo), "/tmp/pvx-ksm-%s", role);
	snprintf(g->lines_path, sizeof(g->lines_path), "%s.lines", g->fifo);
	snprintf(path, sizeof(path), "%s.in", g->fifo);
	unlink(path);
	mkfifo(path, 0600);
	snprintf(path, sizeof(path), "%s.out", g->fifo);
	unlink(path);
	mkfifo(path, 0600);
	/*
	 * read-write: never blocks, never sees the end of a QEMU; not
	 * inherited by the other guests' QEMUs or pvx_ksm_census
	 */
	g->out_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	g->lines_fd = open(g->lines_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	free(g->lines);
	g->lines = NULL;
	g->len = 0;

	l3_arg(&a, "qemu-system-x86_64");
	l3_arg(&a, "-enable-kvm");
	l3_arg(&a, "-cpu");
	l3_arg(&a, "host");
	l3_arg(&a, "-m");
	l3_arg(&a, "%ld", b->mem);
	l3_arg(&a, "-smp");
	l3_arg(&a, "%ld", cfg.cpus);
	if (b->merge) {
		l3_arg(&a, "-machine");
		l3_arg(&a, "mem-merge=%s", b->merge);
	}
	l3_args_console(&a);
	l3_arg(&a, "-chardev");
	l3_arg(&a, "pipe,id=pvxsync,path=%s", g->fifo);
	l3_arg(&a, "-device");
	l3_arg(&a, "isa-serial,chardev=pvxsync");
	l3_args_boot(&a, cfg.kernel, cfg.initrd);
	l3_arg(&a, "-append");
	l3_arg(&a,
	       "console=ttyS0 panic=-1 %spvx_bench=ksm pvx_ksm_role=%s pvx_ksm_hint=%d pvx_ksm_pages=%ld pvx_ksm_rounds=%ld pvx_ksm_slow_ns=%ld pvx_ksm_private_mb=%ld pvx_ksm_zero_order=%ld",
	       b->kaslr ? "" : "nokaslr ", role, b->hint, cfg.pages, cfg.rounds, cfg.slow_ns,
	       b->private_mb, cfg.zero_order);
	snprintf(log, sizeof(log), "%s/l3-bench-ksm-%s-%s.log", cfg.out, b->tag, role);
	ret = l3_vm_start(&g->vm, &a, log, NULL);
	l3_args_free(&a);
	return ret;
}

/* Whether the guest sent the line @line (a whole line). */
static bool vm_has_line(const struct ksm_vm *g, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = g->lines; p && (p = strstr(p, line)); p++)
		if ((p == g->lines || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

/*
 * Wait up to @secs for the guest's mark @line; false when it did not
 * come, QEMU ended, or QEMU ran out of its time (then it is stopped).
 */
static bool vm_wait_mark(struct ksm_vm *g, const char *line, int secs)
{
	double until = now_s() + secs;

	for (;;) {
		vm_pump(g);
		if (vm_has_line(g, line))
			return true;
		if (!l3_vm_running(&g->vm))
			return false;
		if (l3_vm_elapsed_s(&g->vm) >= cfg.timeout) {
			l3_vm_stop(&g->vm);
			return false;
		}
		if (now_s() >= until)
			return false;
		nap_ms(200);
	}
}

/* The byte that lets the guest go on past its mark. */
static void vm_answer(const struct ksm_vm *g)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "%s.in", g->fifo);
	fd = open(path, O_WRONLY | O_NONBLOCK);
	if (fd < 0 || write(fd, "g", 1) != 1)
		ksft_print_msg("no answer to the %s guest: %s\n", g->role, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void vm_kill(struct ksm_vm *g)
{
	if (l3_vm_running(&g->vm))
		kill(g->vm.pid, SIGTERM);
}

/* Wait for QEMU within its time, its lines read: its status (124: stopped). */
static int vm_end(struct ksm_vm *g)
{
	int status = l3_vm_wait(&g->vm, cfg.timeout);

	vm_pump(g);
	if (g->out_fd >= 0)
		close(g->out_fd);
	if (g->lines_fd >= 0)
		close(g->lines_fd);
	g->out_fd = -1;
	g->lines_fd = -1;
	return status;
}

static void copy_file(const char *from, const char *to)
{
	char *text = read_text(from);
	FILE *f = text ? fopen(to, "w") : NULL;

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	free(text);
}

/* ---- cases (a), (b), (c) ------------------------------------------------- */

static const char *const roles[2] = { "victim", "attacker" };

/*
 * A boot of a try in which a guest did not reach its first mark: said
 * ("@what (@tag): boot TRY of BOOTS: ..."), its console kept as
 * l3-bench-ksm-TAG-ROLE-bootTRY.log; @again: which guests boot again.
 */
static void note_failed_boot(const char *what, const char *tag, int try, const struct ksm_vm *g,
			     const char *again)
{
	char last[512], copy[600];

	tap_info("%s (%s): boot %d of %ld: the %s guest did not reach its first mark, booting %s again; last line: %s",
		 what, tag, try, cfg.boots, g->role, again,
		 last_line(g->vm.log, true, last, sizeof(last)));
	snprintf(copy, sizeof(copy), "%s/l3-bench-ksm-%s-%s-boot%d.log", cfg.out, tag, g->role,
		 try);
	copy_file(g->vm.log, copy);
}

/*
 * Boot the victim (vms[0]) and the attacker (vms[1]) until both reach
 * their first mark, at most PVX_BENCH_KSM_BOOTS times. Under TCG an L3
 * guest now and then hangs or resets itself in early boot, before any pvx
 * module (QEMU exits 0 under -no-reboot; ksm.rst): such a pair is ended,
 * named in a "#" line and booted again. False (not ok lines for the last
 * try) when no try got both guests to their mark. One guest boots at a
 * time, the next once the one before is at its mark (or gone): L2
 * triple-faults in TCG's emulated world switch during L3 boots, far more
 * often when two or more boot at once (lab.rst); a guest at its mark
 * waits idle, and KSM is reset only once all are there.
 */
static bool boot_pair(const struct boot *b, bool attacker_first)
{
	bool bad[2];
	int try, i;

	nvms = 2;
	for (try = 1; ; try++) {
		for (i = 0; i < 2; i++) {
			int r = attacker_first ? 1 - i : i;

			vm_boot(&vms[r], roles[r], b);
			bad[r] = !vm_wait_mark(&vms[r], "I", 600);
		}
		if (!bad[0] && !bad[1])
			return true;
		for (i = 0; i < 2; i++)
			vm_kill(&vms[i]);
		for (i = 0; i < 2; i++)
			vm_end(&vms[i]);
		for (i = 0; i < 2; i++) {
			if (!bad[i])
				continue;
			if (try >= cfg.boots) {
				result(false,
				       "ksm bench (%s): the %s guest booted and reached its first mark (in %ld boots)",
				       b->tag, roles[i], cfg.boots);
				continue;
			}
			note_failed_boot("ksm bench", b->tag, try, &vms[i], "both");
		}
		if (try >= cfg.boots)
			return false;
	}
}

/* pvx_ksm_census of one VM into res ("census case=C role=R ..." lines) */
static void run_census(char c, const struct ksm_vm *g, long mib)
{
	char cmd[1200], line[LINE_SIZE], first[LINE_SIZE] = "";
	static char out[NKINDS + 1][LINE_SIZE];	/* census, censuskind... */
	int n = 0, i, status;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s/pvx_ksm_census' %d %ld '%s' 2>&1", tool_dir, g->vm.pid,
		 mib, g->lines_path);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		if (!first[0])
			snprintf(first, sizeof(first), "%s", line);
		if (n <= NKINDS)
			snprintf(out[n++], LINE_SIZE, "%s", line);
	}
	status = p ? pclose(p) : -1;
	if (status) {
		result(false, "ksm bench (%c): census of the %s VM's pages # %s", c, g->role,
		       first);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!strncmp(out[i], "census ", 7))
			res_info("census case=%c role=%s %s", c, g->role, out[i] + 7);
		else if (!strncmp(out[i], "censuskind ", 11))
			res_info("censuskind case=%c role=%s %s", c, g->role, out[i] + 11);
	}
}

static int count_pfnmap_lines(const struct ksm_vm *g)
{
	const char *p;
	int n = 0;

	for (p = g->lines; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, "pfnmap ", 7);
	return n;
}

/* Phase 1: KSM from nothing over the two idle guests, sampled every second. */
static void phase_sharing(char c, const char *first)
{
	pid_t v = vms[0].vm.pid, a = vms[1].vm.pid;
	long long fs0, ps0;
	char sample[LINE_SIZE];
	double t0, t;
	int i;

	ksm_restart(cfg.smart, false);
	fs0 = ksm_get("full_scans");
	ps0 = ksm_get("pages_scanned");
	t0 = now_s();
	ksm_set("run", 1);
	res_info("ksmconf case=%c first=%s pages_to_scan=%lld sleep_millisecs=%lld smart_scan=%lld use_zero_pages=%lld merge_across_nodes=%lld mem=%ld private_mb=%ld",
		 c, first, ksm_get("pages_to_scan"), ksm_get("sleep_millisecs"),
		 ksm_get("smart_scan"),
		 ksm_get("use_zero_pages"), ksm_get("merge_across_nodes"), cfg.mem, cfg.private_mb);
	for (;;) {
		t = now_s() - t0;
		res_info("sample case=%c t=%.1f full_scans=%lld pages_scanned=%lld sharing=%lld shared=%lld mv=%lld ma=%lld rmap=%lld",
			 c, t, ksm_get("full_scans") - fs0, ksm_since("pages_scanned", ps0),
			 ksm_get("pages_sharing"), ksm_get("pages_shared"), ksm_merging(v),
			 ksm_merging(a),
			 ksm_rmap(v) + ksm_rmap(a));
		snprintf(sample, sizeof(sample), "%s", last_rec);
		if (t >= cfg.secs)
			break;
		nap_ms(1000);
	}
	for (i = 0; i < 2; i++) {
		pid_t q = vms[i].vm.pid;

		res_info("vm case=%c role=%s rss=%lld merging=%lld candidates=%lld candidates_merged=%lld candidates_zero=%lld candidates_absent=%lld",
			 c, roles[i], ram_rss(q, cfg.mem), ksm_merging(q), vm_dbg(q, "candidates"),
			 vm_dbg(q, "candidates_merged"), vm_dbg(q, "candidates_zero"),
			 vm_dbg(q, "candidates_absent"));
		/* what the merged pages hold, and of which kinds of guest page */
		res_info("pfnmap case=%c role=%s lines=%d", c, roles[i],
			 count_pfnmap_lines(&vms[i]));
		run_census(c, &vms[i], cfg.mem);
	}
	tap_info("ksm bench (%c): phase 1 done, %s", c, sample);
}

/* Phase 2: the never-merge rounds. */
static void phase_never_merge(char c)
{
	pid_t v = vms[0].vm.pid, a = vms[1].vm.pid;
	long long f0;
	char mark[16];
	int r, i;

	for (r = 1; r <= cfg.rounds; r++) {
		snprintf(mark, sizeof(mark), "F %d", r);
		if (!vm_wait_mark(&vms[0], mark, 300) || !vm_wait_mark(&vms[1], mark, 300)) {
			result(false, "ksm bench (%c): round %d reached by both guests", c, r);
			break;
		}
		f0 = ksm_get("full_scans");
		for (i = 0; i < 3000 && ksm_get("full_scans") - f0 < cfg.scans; i++)
			nap_ms(200);
		res_info("round case=%c round=%d scans=%lld mv=%lld ma=%lld pins=%lld pins_merged=%lld",
			 c, r, ksm_get("full_scans") - f0, ksm_merging(v), ksm_merging(a),
			 vm_dbg(v, "pins"), vm_dbg(v, "pins_merged"));
		vm_answer(&vms[0]);
		vm_answer(&vms[1]);
	}
}

/*
 * The guest's results (its console between PVX-BENCH-BEGIN and END): one
 * test that it ran to its end, its "#" and "error" lines as "#" lines,
 * its ksmw lines into res.
 */
static void guest_results(char c, const struct ksm_vm *g, int qrc)
{
	char last[512], *text, *line, *next;
	struct l3_results r;
	bool ended;
	int pass;

	if (l3_vm_results(&g->vm, &r))
		r = (struct l3_results){ 0 };
	text = r.text;
	ended = r.ended;
	if (ended)
		result(true, "ksm bench (%c): %s guest ran to the end", c, g->role);
	else
		result(false,
		       "ksm bench (%c): %s guest ran to the end # qemu exit %d; last line: %s",
		       c, g->role, qrc, last_line(g->vm.log, false, last, sizeof(last)));
	for (pass = 0; pass < 3; pass++) {
		for (line = text; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next = '\0';
			if (pass == 0 && line[0] == '#')
				printf("%s\n", line);
			else if (pass == 1 && !strncmp(line, "error ", 6))
				printf("# %s\n", line);
			else if (pass == 2 && !strncmp(line, "ksmw ", 5))
				res_info("ksmw case=%c %s", c, line + 5);
			if (!next)
				break;
			*next++ = '\n';
		}
	}
	free(text);
}

/* One case: HINT 0 blind, 1 candidates and protection, 2 with zero_free. */
static void run_case(char c, int hint)
{
	bool attacker_first = !strcmp(cfg.first, "attacker");
	struct boot b = { .hint = hint, .kaslr = cfg.kaslr == 1, .mem = cfg.mem,
			  .private_mb = cfg.private_mb };
	int i;

	snprintf(b.tag, sizeof(b.tag), "%c", c);
	/* the QEMU started first registers with KSM first and is scanned first */
	if (boot_pair(&b, attacker_first)) {
		result(true, "ksm bench (%c): both L3 guests booted and idle", c);
		phase_sharing(c, roles[attacker_first]);
		vm_answer(&vms[0]);
		vm_answer(&vms[1]);
		phase_never_merge(c);
	}
	for (i = 0; i < 2; i++)
		guest_results(c, &vms[i], vm_end(&vms[i]));
	ksm_set("run", 2);
}

/* ---- the tables ------------------------------------------------------------ */

/* The value of @key= in the result line @line into @val ("" when none). */
static bool kv_str(const char *line, const char *key, char *val, size_t size)
{
	size_t k = strlen(key);
	const char *p;

	for (p = line; (p = strstr(p, key)); p += k) {
		if ((p == line || p[-1] == ' ') && p[k] == '=') {
			snprintf(val, size, "%.*s", (int)strcspn(p + k + 1, " "), p + k + 1);
			return true;
		}
	}
	val[0] = '\0';
	return false;
}

/* @key='s number in @line; NAN when it has none */
static double kv_num(const char *line, const char *key)
{
	char val[64], *end;
	double x;

	if (!kv_str(line, key, val, sizeof(val)))
		return NAN;
	x = strtod(val, &end);
	return end == val ? NAN : x;
}

/* as awk adds a field: 0 when none */
static double kv0(const char *line, const char *key)
{
	double x = kv_num(line, key);

	return isnan(x) ? 0 : x;
}

static char *cell_of(char *buf, const char *fmt, const char *unit, const double *v, size_t n)
{
	const struct bstat_style st = { fmt, 1, unit };
	double scratch[MAX_RUNS];
	struct bstat_spread s;

	bstat_format(buf, CELL, &st, &s, bstat_spread_of(v, n, scratch, &s));
	return buf;
}

/* the median of the runs with n and min..max: "746 (n=3 633..883)" */
static char *cell_stat(char *buf, const char *fmt, const double *v, size_t n)
{
	return cell_of(buf, fmt, "", v, n);
}

/* the runs' own ratios a[i] / b[i]: "1.02x (n=6 0.96..1.05)" */
static char *cell_pratio(char *buf, const char *fmt, const double *a, const double *b, size_t n)
{
	double r[MAX_RUNS];

	bstat_paired(a, b, n, r);
	return cell_of(buf, fmt, "x", r, n);
}

/* a floor on the runs' own ratios a[i] / b[i]: "met (1.01x, n=6 ..., 4 of 6 runs, ...)" */
static char *cell_floor(char *buf, const char *fmt, const double *a, const double *b, size_t n,
			enum bstat_cmp cmp, double limit)
{
	const struct bstat_style st = { fmt, 1, "x" };
	/* zeroed: gcc 12 cannot see that bstat_paired() fills the n read */
	double r[MAX_RUNS] = { 0 }, scratch[MAX_RUNS];

	bstat_paired(a, b, n, r);
	bstat_format_floor(buf, CELL, &st, r, n, scratch, cmp, limit);
	return buf;
}

/*
 * A two-sided floor on the runs' own ratios a[i] / b[i]: met when their
 * median is within @lo..@hi, with the runs that are on their own.
 */
static char *cell_within(char *buf, const double *a, const double *b, size_t n, double lo,
			 double hi)
{
	const struct bstat_style st = { "%.3g", 1, "x" };
	double r[MAX_RUNS], scratch[MAX_RUNS];
	struct bstat_spread s;
	size_t i, in = 0;

	bstat_paired(a, b, n, r);
	buf[0] = '\0';
	if (bstat_spread_of(r, n, scratch, &s)) {
		bstat_cat(buf, CELL, "not evaluated, no result");
		return buf;
	}
	for (i = 0; i < n; i++)
		in += bstat_meets(r[i], BSTAT_GE, lo) && bstat_meets(r[i], BSTAT_LE, hi);
	bstat_cat(buf, CELL, "%s (", bstat_meets(s.median, BSTAT_GE, lo) &&
		  bstat_meets(s.median, BSTAT_LE, hi) ? "met" : "MISSED");
	s.dropped = 0;
	bstat_cat_spread(buf, CELL, &st, &s, ", ");
	bstat_cat(buf, CELL, ", %zu of %zu runs within", in, s.n);
	if (n > s.n)
		bstat_cat(buf, CELL, ", %zu without a number", n - s.n);
	bstat_cat(buf, CELL, ")");
	return buf;
}

/* awk's "%.2f" of a / b, "-" without a ratio */
static char *ratio_str(char *buf, double a, double b)
{
	if (b > 0)
		snprintf(buf, 32, "%.2f", a / b);
	else
		snprintf(buf, 32, "-");
	return buf;
}

/* the census's numbers, in the order of its lines */
enum { C_RES, C_MERGED, C_MZERO, C_ZPAGE, C_RZERO, NCENSUS };
static const char *const census_key[NCENSUS] = {
	"resident", "merged", "merged_zero", "zero_page", "resident_zero"
};

struct sample_pt {
	char t[16];
	double sharing, scanned, merged, full_scans;
};

/* one case's result lines, summed over both VMs as the table needs them */
struct case_tab {
	char conf[LINE_SIZE], last[LINE_SIZE];
	struct sample_pt *s;
	int ns;
	double rss, merging, cand, cand_merged, cand_zero, cand_absent;
	bool census, kinds;
	double census_sum[NCENSUS], kind_sum[NKINDS][NCENSUS];
	double round_scans, pins_merged_max;
	int rounds;
	long long pins;
};

/* the first writes of one case, role and set over the rounds */
struct write_cell {
	bool seen;
	double writes, slow, max_ns;
	double p50[MAX_RUNS];
	size_t n;
};

static struct case_tab tab[3];
static struct write_cell cells[3][2][3];

static int case_idx(const char *line)
{
	char c[8];

	kv_str(line, "case", c, sizeof(c));
	return c[0] >= 'a' && c[0] <= 'c' && !c[1] ? c[0] - 'a' : -1;
}

static void load_sample(struct case_tab *ct, const char *line)
{
	struct sample_pt *s, *more = realloc(ct->s, (ct->ns + 1) * sizeof(*ct->s));

	if (!more)
		return;
	ct->s = more;
	s = &ct->s[ct->ns++];
	kv_str(line, "t", s->t, sizeof(s->t));
	s->sharing = kv0(line, "sharing");
	s->scanned = kv0(line, "pages_scanned");
	/* 6.1: no pages_scanned (-1), full scans x rmap items */
	if (s->scanned < 0)
		s->scanned = kv0(line, "full_scans") * kv0(line, "rmap");
	s->merged = kv0(line, "mv") + kv0(line, "ma");
	s->full_scans = kv0(line, "full_scans");
	snprintf(ct->last, sizeof(ct->last), "%s", line);
}

static void load_census(struct case_tab *ct, const char *line, bool by_kind)
{
	char kind[8];
	double *sum = ct->census_sum;
	int i;

	if (by_kind) {
		kv_str(line, "kind", kind, sizeof(kind));
		sum = ct->kind_sum[(unsigned char)kind[0] % NKINDS];
		ct->kinds = true;
	} else {
		ct->census = true;
	}
	for (i = 0; i < NCENSUS; i++)
		sum[i] += kv0(line, census_key[i]);
}

static void load_write(int c, const char *line)
{
	char role[16], set[4];
	struct write_cell *w;
	int r, s;

	kv_str(line, "role", role, sizeof(role));
	kv_str(line, "set", set, sizeof(set));
	r = !strcmp(role, "victim") ? 0 : !strcmp(role, "attacker") ? 1 : -1;
	s = set[0] && !set[1] && strchr("UPX", set[0]) ? strchr("UPX", set[0]) - "UPX" : -1;
	if (r < 0 || s < 0)
		return;
	w = &cells[c][r][s];
	w->seen = true;
	w->writes += kv0(line, "pages");
	w->slow += kv0(line, "slow");
	w->max_ns = fmax(w->max_ns, kv0(line, "max_ns"));
	if (w->n < MAX_RUNS && !isnan(kv_num(line, "p50_ns")))
		w->p50[w->n++] = kv_num(line, "p50_ns");
}

/* the result lines of the file @path into tab and cells */
static void load_results(const char *path)
{
	char line[LINE_SIZE];
	struct case_tab *ct;
	FILE *f = fopen(path, "r");
	int c;

	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		c = case_idx(line);
		if (c < 0)
			continue;
		ct = &tab[c];
		if (!strncmp(line, "ksmconf ", 8)) {
			snprintf(ct->conf, sizeof(ct->conf), "%s", line);
		} else if (!strncmp(line, "sample ", 7)) {
			load_sample(ct, line);
		} else if (!strncmp(line, "vm ", 3)) {
			ct->rss += kv0(line, "rss");
			ct->merging += kv0(line, "merging");
			ct->cand += kv0(line, "candidates");
			ct->cand_merged += kv0(line, "candidates_merged");
			ct->cand_zero += kv0(line, "candidates_zero");
			ct->cand_absent += kv0(line, "candidates_absent");
		} else if (!strncmp(line, "census ", 7) || !strncmp(line, "censuskind ", 11)) {
			load_census(ct, line, line[6] == 'k');
		} else if (!strncmp(line, "round ", 6)) {
			ct->round_scans += kv0(line, "scans");
			ct->rounds++;
			ct->pins_merged_max = fmax(ct->pins_merged_max, kv0(line, "pins_merged"));
			ct->pins = kv0(line, "pins");
		} else if (!strncmp(line, "ksmw ", 5)) {
			load_write(c, line);
		}
	}
	if (f)
		fclose(f);
}

/* The sharing table, left at the end of phase 1, right at t90. */
static void table_sharing(void)
{
	double target = tab[0].ns ? 0.9 * kv0(tab[0].last, "sharing") : 0;
	char r1[32], r2[40], rs[40], sc[40], s9[40], fs9[24], t9[16];
	int c, j;

	tap_info("---- KSM benchmark, kernel %s: L2 KSM %s", cfg.abi, tab[0].conf);
	tap_info("(a) blind KSM over all guest RAM (QEMU mem-merge=on, no hints); (b) pvx: pvx_ksm_guest candidates, victim set P protected; (c) as (b) with zero_free=1");
	tap_info("%-4s %6s %6s %9s %8s %8s %8s | %6s %6s %9s %8s", "case", "secs", "scans",
		 "scanned", "sharing", "merged", "scan/mrg", "t90 s", "scans", "scanned",
		 "scan/mrg");
	for (c = 0; c < 3; c++) {
		const struct case_tab *ct = &tab[c];
		const char *est = "", *l = ct->last;
		double scanned, merged;

		if (!ct->ns) {
			tap_info("%-4c (no result)", 'a' + c);
			continue;
		}
		scanned = kv0(l, "pages_scanned");
		merged = kv0(l, "mv") + kv0(l, "ma");
		if (scanned < 0) {
			scanned = kv0(l, "full_scans") * kv0(l, "rmap");
			est = "~";
		}
		for (j = 0; j < ct->ns && ct->s[j].sharing < target; j++)
			;
		if (j < ct->ns) {
			snprintf(t9, sizeof(t9), "%s", ct->s[j].t);
			snprintf(fs9, sizeof(fs9), "%.0f", ct->s[j].full_scans);
			snprintf(s9, sizeof(s9), "%s%.0f", est, ct->s[j].scanned);
			snprintf(r2, sizeof(r2), "%s%s", est,
				 ratio_str(r1, ct->s[j].scanned, ct->s[j].merged));
		} else {
			snprintf(t9, sizeof(t9), "never");
			snprintf(fs9, sizeof(fs9), "-");
			snprintf(s9, sizeof(s9), "-");
			snprintf(r2, sizeof(r2), "-");
		}
		snprintf(sc, sizeof(sc), "%s%.0f", est, scanned);
		snprintf(rs, sizeof(rs), "%s%s", est, ratio_str(r1, scanned, merged));
		tap_info("%-4c %6s %6.0f %9s %8.0f %8.0f %8s | %6s %6s %9s %8s", 'a' + c,
			 ct->s[ct->ns - 1].t, kv0(l, "full_scans"), sc, kv0(l, "sharing"), merged,
			 rs, t9, fs9, s9, r2);
	}
	tap_info("left: at the end of the phase; right: at t90, the first sample with pages_sharing >= 90%% of what (a) had at its end (%lld)",
		 (long long)target);
	tap_info("  merged = both VMs' ksm_merging_pages; scanned: pages_scanned (6.12); ~ = full_scans x rmap items (6.1 has no pages_scanned)");
	tap_info("  guest RAM resident in L2, both VMs: (a) %lld pages, (b) %lld pages, (c) %lld pages",
		 (long long)tab[0].rss, (long long)tab[1].rss, (long long)tab[2].rss);
}

/* The hint precision of (b) and (c): hinted pages merged against the others. */
static void table_precision(void)
{
	double hinted_backed, hinted_resident, hinted_share, other_share;
	char r[32];
	int c;

	for (c = 1; c < 3; c++) {
		const struct case_tab *ct = &tab[c];
		const char *verdict;

		if (!ct->ns)
			continue;
		/*
		 * a hinted page never backed (absent) is neither; one on the
		 * shared zero page (a THP split maps zero-filled pages to it)
		 * costs no memory, like a merged one, and is not in Rss
		 */
		hinted_backed = ct->cand - ct->cand_absent;
		hinted_resident = hinted_backed - ct->cand_zero;
		hinted_share = hinted_backed > 0 ?
			       (ct->cand_merged + ct->cand_zero) / hinted_backed : 0;
		other_share = ct->rss - hinted_resident > 0 ?
			      (ct->merging - ct->cand_merged) / (ct->rss - hinted_resident) : 0;
		tap_info("---- hint precision (%c), both VMs: hinted %lld (never backed %lld), hinted merged %lld + on the zero page %lld of %lld (%.1f%%); unhinted resident %lld, merged %lld (%.1f%%)",
			 'a' + c, (long long)ct->cand, (long long)ct->cand_absent,
			 (long long)ct->cand_merged, (long long)ct->cand_zero,
			 (long long)hinted_backed,
			 100 * hinted_share, (long long)(ct->rss - hinted_resident),
			 (long long)(ct->merging - ct->cand_merged), 100 * other_share);
		if (other_share > 0)
			verdict = hinted_share >= 10 * other_share ? "met" : "MISSED";
		else
			verdict = hinted_share > 0 ? "met" : "MISSED";
		tap_info("floor hinted pages merge >= 10x as often as unhinted (%c): %s (%sx)",
			 'a' + c, verdict, ratio_str(r, hinted_share, other_share));
	}
}

/* pvx_ksm_bench's pfnmap letters, in the order the table lists them */
static const char kind_order[] = "fFrstahxczo-?";
static const char *const kind_name[] = {
	"free", "free?", "reserved", "slab", "pagetable", "anon", "shmem", "file,mapped",
	"file,cached", "flagless", "other", "nopage", "unmapped"
};

static void census_kind_row(const struct case_tab *ct, int k)
{
	const double *v = ct->kind_sum[k];
	const char *pos = k ? strchr(kind_order, k) : NULL;
	char name[16];

	if (v[C_RES] <= 0)
		return;
	if (pos)
		snprintf(name, sizeof(name), "%s", kind_name[pos - kind_order]);
	else
		snprintf(name, sizeof(name), "%c", k);
	tap_info("     %-12s %8lld %8lld %8lld %7.1f%% %8lld", name, (long long)v[C_RES],
		 (long long)v[C_MERGED], (long long)v[C_MZERO], 100 * v[C_MERGED] / v[C_RES],
		 (long long)v[C_RZERO]);
}

/* What the merged pages hold, and which kinds of guest page they are. */
static void table_census(void)
{
	int c, k;

	for (c = 0; c < 3; c++) {
		const double *v = tab[c].census_sum;

		if (!tab[c].census)
			continue;
		tap_info("---- census (%c), both VMs (pvx_ksm_census): resident %lld, merged %lld of them %lld zero-filled (%.1f%%), on the zero page %lld; resident zero-filled, not merged %lld",
			 'a' + c, (long long)v[C_RES], (long long)v[C_MERGED],
			 (long long)v[C_MZERO],
			 v[C_MERGED] > 0 ? 100 * v[C_MZERO] / v[C_MERGED] : 0,
			 (long long)v[C_ZPAGE],
			 (long long)v[C_RZERO]);
	}
	for (c = 0; c < 3; c++) {
		if (!tab[c].kinds)
			continue;
		tap_info("---- census (%c) by the kind of guest page (pvx_ksm_bench pfnmap at the idle mark), both VMs",
			 'a' + c);
		tap_info("     %-12s %8s %8s %8s %8s %8s", "kind", "resident", "merged", "m.zero",
			 "%merged", "r.zero");
		for (k = 0; kind_order[k]; k++)
			census_kind_row(&tab[c], kind_order[k]);
		for (k = 1; k < NKINDS; k++)
			if (!strchr(kind_order, k))
				census_kind_row(&tab[c], k);
	}
}

/* the median of a cell's rounds' p50 */
static char *p50_cell(char *buf, int c, int r, int s)
{
	const struct write_cell *w = &cells[c][r][s];

	if (!w->seen || !w->n) {
		snprintf(buf, CELL, "-");
		return buf;
	}
	return cell_stat(buf, "%.0f", w->p50, w->n);
}

/* The never-merge table and its floor; whether a floor line was printed. */
static bool table_never_merge(void)
{
	char med[CELL], med_x[CELL];
	bool floor = false;
	int c, r, s;

	tap_info("---- never-merge: first write to each page after %ld full scans, %ld pages per set; slow = writes > slow_ns",
		 cfg.scans, cfg.pages);
	tap_info("U: both guests hold it; P: both hold it, victim protected in (b); X: only this guest holds it");
	tap_info("%-4s %-8s %-3s %7s %-22s %10s %9s", "case", "role", "set", "writes",
		 "p50 ns (rounds)", "max ns", "slow");
	for (c = 0; c < 3; c++)
		for (r = 0; r < 2; r++)
			for (s = 0; s < 3; s++) {
				const struct write_cell *w = &cells[c][r][s];

				if (!w->seen)
					continue;
				tap_info("%-4c %-8s %-3c %7lld %-22s %10lld %9lld", 'a' + c,
					 roles[r], "UPX"[s], (long long)w->writes,
					 p50_cell(med, c, r, s),
					 (long long)w->max_ns, (long long)w->slow);
			}
	/* the never-merge floor from each case that protects P: (b) and (c) */
	for (c = 1; c < 3; c++) {
		const struct case_tab *ct = &tab[c];
		const struct write_cell *p = &cells[c][1][1], *x = &cells[c][1][2];
		long long att;

		if (!ct->rounds)
			continue;
		att = cfg.pages * ((long long)ct->round_scans - 2 * ct->rounds);
		tap_info("(%c) attempts on protected pages: %ld pages x (%lld full scans - 2 per round, %d rounds) = %lld; pins_merged max %lld (pins %lld)",
			 'a' + c, cfg.pages, (long long)ct->round_scans, ct->rounds, att,
			 (long long)ct->pins_merged_max, ct->pins);
		tap_info("floor never-merge pages merged 0 times in >= 10^4 attempts (%c): %s (%lld attempts, pins_merged max %lld)",
			 'a' + c, att >= 10000 && ct->pins_merged_max == 0 ? "met" : "MISSED", att,
			 (long long)ct->pins_merged_max);
		floor = true;
		tap_info("(%c) the attacker's first write to its copy of protected P against its unique X: p50 %s vs %s ns, slow %lld vs %lld of %lld: %s",
			 'a' + c, p50_cell(med, c, 1, 1), p50_cell(med_x, c, 1, 2),
			 (long long)p->slow,
			 (long long)x->slow, (long long)p->writes,
			 p->writes && p->slow <= 0.1 * p->writes ?
			 "no spike (the guess is not told)" : "SPIKE (a right guess still shows)");
	}
	return floor;
}

/* The tables of (a), (b), (c) (Documentation/ksm.rst); whether the floor was reached. */
static bool table_cases(void)
{
	table_sharing();
	table_precision();
	table_census();
	return table_never_merge();
}

/* ---- the lever series ------------------------------------------------------ */

/* @get of every lever guest, summed: sum[0] the ones that ask, sum[1] the others */
static void lever_sum(long long (*get)(pid_t), long long sum[2])
{
	int i;

	sum[0] = 0;
	sum[1] = 0;
	for (i = 0; i < nvms; i++)
		sum[i >= cfg.lv_ask] += get(vms[i].vm.pid);
}

static long long made_mergeable(pid_t pid)
{
	return vm_dbg(pid, "made_mergeable");
}

/* where KSM's counters stood when the lever window began */
struct window {
	double t0;
	long long fs0, ps0, k0;
};

/*
 * Boot the lever guests (the first PVX_BENCH_KSM_LEVER_ASK ask) until all
 * reach their first mark, at most PVX_BENCH_KSM_BOOTS times, as
 * boot_pair() does; false, the roles that did not into @bad, when no try
 * got them all there.
 */
static bool lever_boot(struct boot *b, char *bad, size_t size)
{
	bool late[MAX_VMS];
	char role[16];
	int try, i;

	nvms = cfg.lv_vms;
	for (try = 1; ; try++) {
		bad[0] = '\0';
		/* one at a time: see boot_pair() */
		for (i = 0; i < nvms; i++) {
			b->hint = i < cfg.lv_ask;
			b->kaslr = i >= cfg.lv_ask;
			snprintf(role, sizeof(role), "g%d", i + 1);
			vm_boot(&vms[i], role, b);
			late[i] = !vm_wait_mark(&vms[i], "I", 900);
			if (late[i])
				snprintf(bad + strlen(bad), size - strlen(bad), " g%d", i + 1);
		}
		if (!bad[0] || try >= cfg.boots)
			return !bad[0];
		for (i = 0; i < nvms; i++)
			vm_kill(&vms[i]);
		for (i = 0; i < nvms; i++)
			vm_end(&vms[i]);
		for (i = 0; i < nvms; i++)
			if (late[i])
				note_failed_boot("ksm lever", b->tag, try, &vms[i], "all");
	}
}

/*
 * The lever cases (the header's m, n, s, a, p): their letters in table
 * order, a letter's index, and what a case does.
 */
static const char lever_cases[] = "mnsap";
#define NLEVER	(sizeof(lever_cases) - 1)

static int lever_ci(char c)
{
	return strchr(lever_cases, c) - lever_cases;
}

/* pvx's policy: mem-merge=off, merge_on_candidates=1 */
static bool lever_pvx(char c)
{
	return c == 'n' || c == 'p';
}

/* KSM's scan-time advisor sets the scan rate */
static bool lever_advised(char c)
{
	return c == 'a' || c == 'p';
}

/* The case whose sharing at the end is a case's t90 mark: its blind one. */
static int lever_blind(int ci)
{
	return lever_ci(lever_advised(lever_cases[ci]) ? 'a' : 'm');
}

/* Boot the guests of case @c, run @run, sample KSM, end them. */
static void lever_run(char c, int run)
{
	bool pvx = lever_pvx(c);
	struct boot b = { .mem = cfg.lv_mem, .private_mb = cfg.lv_private_mb,
			  .merge = pvx ? "off" : "on" };
	char bad[256], end[LINE_SIZE];
	long long mg[2], rm[2], made[2];
	struct window w;
	double t = 0;
	int i;

	snprintf(b.tag, sizeof(b.tag), "l%c%d", c, run);
	write_file(MOC_PARAM, pvx ? "1" : "0");
	if (lever_boot(&b, bad, sizeof(bad))) {
		result(true, "ksm lever (%c, run %d): all %ld guests booted to their first mark", c,
		       run, cfg.lv_vms);
		ksm_restart(c == 's', lever_advised(c));
		w.fs0 = ksm_get("full_scans");
		w.ps0 = ksm_get("pages_scanned");
		w.k0 = ksmd_ticks();
		w.t0 = now_s();
		ksm_set("run", 1);
		for (;;) {
			t = now_s() - w.t0;
			lever_sum(ksm_rmap, rm);
			res_info("lsample case=%c run=%d t=%.1f full_scans=%lld pages_scanned=%lld sharing=%lld rmap=%lld ksmd_ticks=%lld",
				 c, run, t, ksm_get("full_scans") - w.fs0,
				 ksm_since("pages_scanned", w.ps0), ksm_get("pages_sharing"),
				 rm[0] + rm[1], ksmd_ticks() - w.k0);
			if (t >= cfg.lv_secs)
				break;
			nap_ms(1000);
		}
		/*
		 * KSM's own counters first: ksmd goes on while the per-VM
		 * ones are read, seconds of L2 under emulation
		 */
		snprintf(end, sizeof(end),
			 "t=%.1f full_scans=%lld pages_scanned=%lld sharing=%lld shared=%lld ksmd_ticks=%lld",
			 t, ksm_get("full_scans") - w.fs0, ksm_since("pages_scanned", w.ps0),
			 ksm_get("pages_sharing"), ksm_get("pages_shared"), ksmd_ticks() - w.k0);
		lever_sum(ksm_merging, mg);
		lever_sum(ksm_rmap, rm);
		lever_sum(made_mergeable, made);
		res_info("lever case=%c run=%d %s smart_scan=%lld advisor=%d to_scan=%lld mask=%lld mother=%lld rmap=%lld hz=%ld made=%lld",
			 c, run, end, ksm_get("smart_scan"), lever_advised(c),
			 ksm_get("pages_to_scan"), mg[0], mg[1], rm[0] + rm[1],
			 sysconf(_SC_CLK_TCK), made[0] + made[1]);
		tap_info("ksm lever (%c, run %d): %s", c, run, last_rec);
		ksm_set("run", 2);
	} else {
		result(false,
		       "ksm lever (%c, run %d): all %ld guests booted to their first mark # not:%s (in %ld boots)",
		       c, run, cfg.lv_vms, bad, cfg.boots);
	}
	for (i = 0; i < nvms; i++)
		vm_kill(&vms[i]);
	for (i = 0; i < nvms; i++)
		vm_end(&vms[i]);
}

/* the numbers of a lever line */
enum { LV_SHARING, LV_FULL_SCANS, LV_SCANNED, LV_RMAP, LV_HZ, LV_KSMD, LV_MASK, LV_MOTHER,
	LV_MADE, LV_TO_SCAN, NLV };
static const char *const lv_key[NLV] = {
	"sharing", "full_scans", "pages_scanned", "rmap", "hz", "ksmd_ticks", "mask", "mother",
	"made", "to_scan"
};

/* one run of one lever case: its lever line's numbers, its samples' lines */
struct lever_res {
	bool has;
	double v[NLV];
	char **samples;
	int ns;
};

static struct lever_res lever[NLEVER][MAX_RUNS];

static void load_lever(const char *path)
{
	char line[LINE_SIZE], c[8], **more;
	struct lever_res *lr;
	FILE *f = fopen(path, "r");
	double run;
	int k;

	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		kv_str(line, "case", c, sizeof(c));
		run = kv_num(line, "run");
		if (!c[0] || !strchr(lever_cases, c[0]) || !(run >= 1 && run <= MAX_RUNS))
			continue;
		lr = &lever[lever_ci(c[0])][(int)run - 1];
		if (!strncmp(line, "lever ", 6)) {
			lr->has = true;
			for (k = 0; k < NLV; k++)
				lr->v[k] = kv_num(line, lv_key[k]);
		} else if (!strncmp(line, "lsample ", 8)) {
			more = realloc(lr->samples, (lr->ns + 1) * sizeof(*more));
			if (!more)
				continue;
			lr->samples = more;
			lr->samples[lr->ns] = strdup(line);
			if (lr->samples[lr->ns])
				lr->ns++;
		}
	}
	if (f)
		fclose(f);
}

/* pages scanned: pages_scanned, or on 6.1 (-1) full scans x rmap items */
static double scanned_of(double pages_scanned, double full_scans, double rmap)
{
	return pages_scanned == -1 ? full_scans * rmap : pages_scanned;
}

/*
 * One lever case's series over the runs (NAN for a run without a
 * number): at the end of the window and at t90, the first sample with
 * pages_sharing >= 90 % of what its blind case (m; a for the advisor's)
 * had at the end of the same run.
 */
struct lever_series {
	double v[NLV][MAX_RUNS];
	double scanned[MAX_RUNS], spm[MAX_RUNS], ksmd_s[MAX_RUNS];
	double t90[MAX_RUNS], spm90[MAX_RUNS], ksmd90[MAX_RUNS];
	int never;		/* runs that did not reach t90 */
	bool any, est;
};

static void lever_t90(const struct lever_res *lr, double end, double *t, double *sc,
		      double *sh, double *kt)
{
	int i;

	*t = NAN;
	*sc = NAN;
	*sh = NAN;
	*kt = NAN;
	for (i = 0; end > 0 && i < lr->ns; i++) {
		const char *l = lr->samples[i];

		if (kv0(l, "sharing") * 10 >= end * 9) {
			*t = kv_num(l, "t");
			*sc = scanned_of(kv0(l, "pages_scanned"), kv0(l, "full_scans"),
					 kv0(l, "rmap"));
			*sh = kv0(l, "sharing");
			*kt = kv0(l, "ksmd_ticks");
			return;
		}
	}
}

static void lever_series_of(int ci, int runs, struct lever_series *ls)
{
	double sc9[MAX_RUNS], sh9[MAX_RUNS], k9[MAX_RUNS], hz[MAX_RUNS], end;
	int r, k;

	memset(ls, 0, sizeof(*ls));
	for (r = 0; r < runs; r++) {
		const struct lever_res *lr = &lever[ci][r];

		for (k = 0; k < NLV; k++)
			ls->v[k][r] = lr->has ? lr->v[k] : NAN;
		ls->any |= !isnan(ls->v[LV_SHARING][r]);
		ls->est |= ls->v[LV_SCANNED][r] == -1;
		ls->scanned[r] = scanned_of(ls->v[LV_SCANNED][r], ls->v[LV_FULL_SCANS][r],
					    ls->v[LV_RMAP][r]);
		hz[r] = lr->has && isnan(lr->v[LV_HZ]) ? 100 : ls->v[LV_HZ][r];
		end = lever[lever_blind(ci)][r].has ? lever[lever_blind(ci)][r].v[LV_SHARING] : NAN;
		lever_t90(lr, end, &ls->t90[r], &sc9[r], &sh9[r], &k9[r]);
		ls->never += isnan(ls->t90[r]);
	}
	bstat_paired(ls->scanned, ls->v[LV_SHARING], runs, ls->spm);
	bstat_paired(ls->v[LV_KSMD], hz, runs, ls->ksmd_s);
	bstat_paired(sc9, sh9, runs, ls->spm90);
	bstat_paired(k9, hz, runs, ls->ksmd90);
}

static void lever_case_lines(char c, const struct lever_series *ls, int runs)
{
	char cell[12][CELL];
	const char *est = ls->est ? "~" : "";

	cell_stat(cell[0], "%.0f", ls->v[LV_SHARING], runs);
	cell_stat(cell[1], "%.0f", ls->scanned, runs);
	cell_stat(cell[2], "%.1f", ls->spm, runs);
	cell_stat(cell[3], "%.1f", ls->ksmd_s, runs);
	cell_stat(cell[4], "%.0f", ls->v[LV_MASK], runs);
	cell_stat(cell[5], "%.0f", ls->v[LV_MOTHER], runs);
	cell_stat(cell[6], "%.0f", ls->v[LV_FULL_SCANS], runs);
	cell_stat(cell[7], "%.0f", ls->v[LV_MADE], runs);
	cell_stat(cell[8], "%.1f", ls->t90, runs);
	cell_stat(cell[9], "%.2f", ls->spm90, runs);
	cell_stat(cell[10], "%.1f", ls->ksmd90, runs);
	cell_stat(cell[11], "%.0f", ls->v[LV_TO_SCAN], runs);
	tap_info("%c  at the end: sharing %s  scanned %s%s  scan/merged %s  ksmd s %s  merged: asking VMs %s, others %s  full scans %s  VMAs made mergeable %s  pages_to_scan %s",
		 c, cell[0], est, cell[1], cell[2], cell[3], cell[4], cell[5], cell[6], cell[7],
		 cell[11]);
	if (ls->never < runs)
		tap_info("%c  at t90 (reached in %d of %d runs): t90 s %s  scan/merged %s%s  ksmd s %s",
			 c, runs - ls->never, runs, cell[8], est, cell[9], cell[10]);
	else
		tap_info("%c  at t90: never reached (%d runs)", c, runs);
}

/*
 * The floors of issue 29 item 3, on the runs' own ratios of pvx's case
 * (@pc: n, or p with the advisor) to its blind one (@bc: m, or a): the
 * same sharing within 5 % (each side, then both), >= 2x fewer pages
 * scanned per merged page to t90; ksmd's CPU time reported.
 */
static void lever_pair_floors(char bc, const struct lever_series *m, char pc,
			      const struct lever_series *n, int runs)
{
	char cell[2][CELL];

	tap_info("floor lever sharing (%c) within 5%% of blind (%c), >= 0.95x: %s", pc, bc,
		 cell_floor(cell[0], "%.3g", n->v[LV_SHARING], m->v[LV_SHARING], runs, BSTAT_GE,
			    0.95));
	tap_info("floor lever sharing (%c) within 5%% of blind (%c), <= 1.05x: %s", pc, bc,
		 cell_floor(cell[0], "%.3g", n->v[LV_SHARING], m->v[LV_SHARING], runs, BSTAT_LE,
			    1.05));
	tap_info("floor lever sharing (%c) within 5%% of blind (%c): %s", pc, bc,
		 cell_within(cell[0], n->v[LV_SHARING], m->v[LV_SHARING], runs, 0.95, 1.05));
	/*
	 * pages scanned per merged page to t90: over a fixed window ksmd
	 * scans at its set rate whatever it finds, so the end of the window
	 * says little; what the lever saves is the scanning to get there
	 */
	if (n->never == runs)
		tap_info("floor lever scanned per merged page to t90 (%c) >= 2x fewer than blind (%c): MISSED (%c never reached t90 in %d runs)",
			 pc, bc, pc, runs);
	else
		tap_info("floor lever scanned per merged page to t90 (%c) >= 2x fewer than blind (%c): %s",
			 pc, bc,
			 cell_floor(cell[0], "%.2f", m->spm90, n->spm90, runs, BSTAT_GE, 2));
	tap_info("ksmd CPU time to t90 (%c) / blind (%c): %s; whole window %s (reported, no floor)",
		 pc, bc, cell_pratio(cell[0], "%.2f", n->ksmd90, m->ksmd90, runs),
		 cell_pratio(cell[1], "%.2f", n->ksmd_s, m->ksmd_s, runs));
}

/*
 * The floors of each pair that ran (n against m, p against a), and the
 * stock smart_scan lever (s) against blind.
 */
static void lever_floors(const struct lever_series *ls, int runs)
{
	const struct lever_series *m = &ls[lever_ci('m')], *n = &ls[lever_ci('n')];
	const struct lever_series *s = &ls[lever_ci('s')];
	const struct lever_series *a = &ls[lever_ci('a')], *p = &ls[lever_ci('p')];
	char cell[5][CELL];
	bool printed = false;

	tap_info("t90: the first sample with pages_sharing >= 90 %% of what the blind case (m; a for p) had at the end of the same run");
	if (m->any && n->any) {
		lever_pair_floors('m', m, 'n', n, runs);
		printed = true;
	}
	if (a->any && p->any) {
		lever_pair_floors('a', a, 'p', p, runs);
		printed = true;
	}
	if (m->any && n->any && a->any && p->any)
		tap_info("advisor against a fixed rate: blind (a) / (m) ksmd whole window %s; pvx (p) / (n) ksmd whole window %s, sharing %s",
			 cell_pratio(cell[0], "%.2f", a->ksmd_s, m->ksmd_s, runs),
			 cell_pratio(cell[1], "%.2f", p->ksmd_s, n->ksmd_s, runs),
			 cell_pratio(cell[2], "%.3g", p->v[LV_SHARING], n->v[LV_SHARING], runs));
	if (!printed) {
		tap_info("floors (lever): not evaluated, no pair of cases (m and n, a and p) has results");
		return;
	}
	if (!s->any || !m->any)
		return;
	tap_info("stock lever smart_scan (s) against blind (m): sharing %s, scanned per merged to t90 %s fewer, ksmd to t90 %s; pvx (n) against (s): sharing %s, scanned per merged to t90 %s fewer",
		 cell_pratio(cell[0], "%.3g", s->v[LV_SHARING], m->v[LV_SHARING], runs),
		 cell_pratio(cell[1], "%.2f", m->spm90, s->spm90, runs),
		 cell_pratio(cell[2], "%.2f", s->ksmd90, m->ksmd90, runs),
		 cell_pratio(cell[3], "%.3g", n->v[LV_SHARING], s->v[LV_SHARING], runs),
		 cell_pratio(cell[4], "%.2f", s->spm90, n->spm90, runs));
}

/* The lever cases lever_series() ran (one make bench may run only some). */
static char lever_ran[NLEVER + 1];

/*
 * The lever table: per case the medians of the runs (n min..max) at the
 * end of the window and at t90, every ratio run by run; the floors of the
 * pairs that ran. Whether every case that ran has its results.
 */
static bool lever_table(const char *path)
{
	static struct lever_series ls[NLEVER];
	int runs = cfg.lv_runs, ci;
	bool all = true;

	load_lever(path);
	for (ci = 0; ci < (int)NLEVER; ci++)
		lever_series_of(ci, runs, &ls[ci]);
	tap_info("---- KSM lever series, kernel %s: %ld guests of %ld MiB, %ld ask (nokaslr, pvx_ksm_guest), %ld do not (KASLR)",
		 cfg.abi, cfg.lv_vms, cfg.lv_mem, cfg.lv_ask, cfg.lv_vms - cfg.lv_ask);
	tap_info("m: blind, every VM mergeable; n: pvx, mem-merge=off + merge_on_candidates=1; s: blind + smart_scan=1");
	tap_info("a: m with the scan-time advisor (target %ld s per full scan); p: n with it",
		 cfg.advisor_secs);
	tap_info("medians of the runs (n min..max), ratios run by run; scanned: pages_scanned (6.12), ~ = full_scans x rmap items (6.1)");
	for (ci = 0; ci < (int)NLEVER; ci++) {
		if (ls[ci].any)
			lever_case_lines(lever_cases[ci], &ls[ci], runs);
		else if (strchr(cfg.lv_cases, lever_cases[ci]))
			tap_info("%c  (no run)", lever_cases[ci]);
		if (strchr(lever_ran, lever_cases[ci]) && !ls[ci].any)
			all = false;
	}
	lever_floors(ls, runs);
	return all;
}

/* A table printed and copied into $PVX_OUT/@name; whether @table says it is whole. */
static bool print_table(const char *name, bool (*table)(const char *), const char *arg)
{
	char path[600];
	bool made;

	snprintf(path, sizeof(path), "%s/%s", cfg.out, name);
	table_copy = fopen(path, "w");
	made = table(arg);
	if (table_copy)
		fclose(table_copy);
	table_copy = NULL;
	return made;
}

/* why a table has no floor line: its first 200 bytes */
static const char *table_head(const char *name, char *buf, size_t size)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", cfg.out, name);
	return file_head(path, 200, buf, size);
}

/* The lever series: its runs, by turns, and its table. */
static void lever_series(void)
{
	char path[600], head[256];
	size_t nc = 0;
	int run;
	const char *c;

	/* the chosen cases; s where the kernel has smart_scan, a and p its advisor */
	for (c = lever_cases; *c; c++) {
		if (!strchr(cfg.lv_cases, *c))
			continue;
		if (*c == 's' && access(KSM_SYS "/smart_scan", W_OK))
			continue;
		if (lever_advised(*c) && !ksm_has_advisor())
			continue;
		lever_ran[nc++] = *c;
	}
	snprintf(path, sizeof(path), "%s/bench-ksm-lever-results.txt", cfg.out);
	res = fopen(path, "we");
	for (run = 1; run <= cfg.lv_runs; run++)
		for (c = lever_ran; *c; c++)
			lever_run(*c, run);
	write_file(MOC_PARAM, "0");
	if (res)
		fclose(res);
	res = NULL;
	if (print_table("bench-ksm-lever-table.txt", lever_table, path))
		result(true, "ksm lever: the table was made");
	else
		result(false, "ksm lever: the table was made # %s",
		       table_head("bench-ksm-lever-table.txt", head, sizeof(head)));
}

static bool cases_table(const char *path)
{
	(void)path;
	return table_cases();
}

/* every result line, but only every 10th sample */
static void raw_lines(const char *path)
{
	char line[LINE_SIZE];
	FILE *f = fopen(path, "r");
	int samples = 0;

	tap_info("---- raw result lines (ksm; samples every 10th)");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "sample ", 7) || ++samples % 10 == 1)
			printf("#   %s", line);
	if (f)
		fclose(f);
}

static void run_bench(void)
{
	char path[600], head[256];
	const char *why;
	bool any = strpbrk(cfg.cases, "abc");

	if (!path_exists(cfg.initrd)) {
		result(false, "ksm bench: initramfs # no %s", cfg.initrd);
		return;
	}
	if (!path_exists(cfg.kernel)) {
		result(false, "ksm bench: L3 kernel # no %s", cfg.kernel);
		return;
	}
	if (!path_exists(KSM_SYS)) {
		result(false, "ksm bench: KSM in L2 # no %s", KSM_SYS);
		return;
	}
	why = module_ensure_loaded("pvx_ksm");
	result(!why, "ksm bench: pvx_ksm loaded%s%s", why ? " # " : "", why ?: "");
	if (why)
		return;
	snprintf(path, sizeof(path), "%s/bench-ksm-results.txt", cfg.out);
	res = fopen(path, "we");
	if (strchr(cfg.cases, 'a'))
		run_case('a', 0);
	if (strchr(cfg.cases, 'b'))
		run_case('b', 1);
	if (strchr(cfg.cases, 'c'))
		run_case('c', 2);
	if (res)
		fclose(res);
	res = NULL;
	if (strchr(cfg.cases, 'l'))
		lever_series();
	if (!any)
		return;
	load_results(path);
	/* a chosen subset without the pair is nothing to compare, not a failure */
	if (!strchr(cfg.cases, 'a') || !strpbrk(cfg.cases, "bc"))
		ksft_test_result_skip("ksm bench: write latencies of both cases (PVX_BENCH_KSM_CASES=%s: the comparison needs a and b or c)\n",
				      cfg.cases);
	else if ((cells[1][1][1].seen || cells[2][1][1].seen) && cells[0][1][1].seen)
		result(true, "ksm bench: write latencies of both cases");
	else
		result(false, "ksm bench: write latencies of both cases (a and b or c)");
	if (print_table("bench-ksm-table.txt", cases_table, path))
		result(true, "ksm bench: the table was made");
	else if (!strpbrk(cfg.cases, "bc"))
		ksft_test_result_skip("ksm bench: the table was made (PVX_BENCH_KSM_CASES=%s: its floor needs b or c)\n",
				      cfg.cases);
	else
		result(false, "ksm bench: the table was made # %s",
		       table_head("bench-ksm-table.txt", head, sizeof(head)));
	raw_lines(path);
}

/* The tables of an earlier run, from the result files in @dir (no TAP). */
static void reprint_tables(const char *dir)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/bench-ksm-results.txt", dir);
	if (path_exists(path)) {
		load_results(path);
		table_cases();
	}
	snprintf(path, sizeof(path), "%s/bench-ksm-lever-results.txt", dir);
	if (path_exists(path))
		lever_table(path);
}

static void read_config(char **argv)
{
	cfg.kernel = argv[1];
	cfg.initrd = argv[2];
	cfg.abi = env_str("PVX_ABI", "?");
	cfg.out = env_str("PVX_OUT", "/tmp");
	/*
	 * The defaults are guests that use their memory (512 MiB each, 352
	 * MiB of it their own data): where the floors of issue 11 are
	 * measured (ksm.rst, "A guest whose own data is most of its memory")
	 */
	cfg.mem = env_long("PVX_BENCH_KSM_MEM", 512);
	cfg.cpus = env_long("PVX_BENCH_KSM_CPUS", 1);
	cfg.secs = env_long("PVX_BENCH_KSM_SECS", 60);
	cfg.pages = env_long("PVX_BENCH_KSM_PAGES", 1024);
	cfg.rounds = env_long("PVX_BENCH_KSM_ROUNDS", 5);
	cfg.scans = env_long("PVX_BENCH_KSM_SCANS", 4);
	cfg.to_scan = env_long("PVX_BENCH_KSM_TO_SCAN", 1000);
	cfg.sleep_ms = env_long("PVX_BENCH_KSM_SLEEP_MS", 10);
	cfg.smart = env_long("PVX_BENCH_KSM_SMART", 0);
	cfg.slow_ns = env_long("PVX_BENCH_KSM_SLOW_NS", 20000);
	cfg.private_mb = env_long("PVX_BENCH_KSM_PRIVATE_MB", 352);
	cfg.kaslr = env_long("PVX_BENCH_KSM_KASLR", 0);
	cfg.first = env_str("PVX_BENCH_KSM_FIRST", "victim");
	cfg.zero_order = env_long("PVX_BENCH_KSM_ZERO_ORDER", 0);
	cfg.cases = env_str("PVX_BENCH_KSM_CASES", "abl");
	cfg.boots = env_long("PVX_BENCH_KSM_BOOTS", 3);
	cfg.timeout = env_long("PVX_BENCH_KSM_TIMEOUT", 1500);
	cfg.lv_vms = env_long("PVX_BENCH_KSM_LEVER_VMS", 4);
	cfg.lv_ask = env_long("PVX_BENCH_KSM_LEVER_ASK", 2);
	cfg.lv_mem = env_long("PVX_BENCH_KSM_LEVER_MEM", 256);
	cfg.lv_secs = env_long("PVX_BENCH_KSM_LEVER_SECS", 120);
	cfg.lv_runs = env_long("PVX_BENCH_KSM_LEVER_RUNS", 1);
	cfg.lv_private_mb = env_long("PVX_BENCH_KSM_LEVER_PRIVATE_MB", 128);
	cfg.lv_cases = env_str("PVX_BENCH_KSM_LEVER_CASES", "mnsap");
	cfg.advisor_secs = env_long("PVX_BENCH_KSM_ADVISOR_SECS", 30);
}

/* The plan; exit 0 pass, 1 fail, 4 nothing passed. */
static __noreturn void finish(void)
{
	ksft_set_plan(ksft_test_num());
	ksft_print_cnts();
	exit(ksft_get_fail_cnt() ? KSFT_FAIL : ksft_get_pass_cnt() ? KSFT_PASS : KSFT_SKIP);
}

int main(int argc, char **argv)
{
	ssize_t n;
	int i;

	/* a line at a time: what was printed stays if L2 ends the run */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3)
		read_config(argv);
	if (argc == 3 && !strcmp(argv[1], "--tables")) {
		reprint_tables(argv[2]);
		return 0;
	}
	ksft_print_header();
	if (argc != 3)
		ksft_exit_fail_msg("usage: pvx_bench_ksm KERNEL INITRD | --tables DIR\n");
	if (cfg.lv_vms > MAX_VMS || cfg.lv_runs > MAX_RUNS || cfg.rounds > MAX_RUNS)
		ksft_exit_fail_msg("at most %d lever VMs, %d lever runs and %d rounds\n", MAX_VMS,
				   MAX_RUNS, MAX_RUNS);
	if (cfg.lv_cases[strspn(cfg.lv_cases, lever_cases)])
		ksft_exit_fail_msg("PVX_BENCH_KSM_LEVER_CASES takes only %s\n", lever_cases);
	if (cfg.advisor_secs < 1)
		ksft_exit_fail_msg("PVX_BENCH_KSM_ADVISOR_SECS must be 1 or more\n");
	n = readlink("/proc/self/exe", tool_dir, sizeof(tool_dir) - 1);
	tool_dir[n > 0 ? n : 0] = '\0';
	if (strrchr(tool_dir, '/'))
		*strrchr(tool_dir, '/') = '\0';
	for (i = 0; i < MAX_VMS; i++) {
		vms[i].out_fd = -1;
		vms[i].lines_fd = -1;
	}
	run_bench();
	finish();
}
