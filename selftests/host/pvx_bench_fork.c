// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_bench_fork: the fork-copy benchmark in the L2 KVM host (issue 10
 * item 4, issue 29 item 4), run by scripts/bench-l2.sh for
 * PVX_BENCH=forkcopy (Documentation/fork_copy.rst, "Benchmark").
 *
 *   pvx_bench_fork KERNEL INITRD
 *
 * Reloads kvm_amd with npt=1 (nested paging), then npt=0 (shadow
 * paging), and for each boots L3 guests (KERNEL, INITRD: the bench
 * initramfs) with pvx_bench=forkcopy (pvx_fork.ko and
 * selftests/guest/bench/pvx_fork_bench: fork + copy-on-write, fork +
 * MADV_POPULATE_WRITE, pvx_fork(), W MiB each, rounds interleaved): case
 * backed (memory preallocated; conditions plain and dirtylog, a migration
 * kept running) and case unbacked (free page reporting), once per
 * transparent huge page policy asked for. Around every run it reads
 * KVM's per-VM counters (the guest's marks on its second serial port),
 * and prints the tables: times, exits and faults per page, ratios to
 * fork + copy-on-write, the floors (reported, never asserted: a test
 * fails only when a number is missing). kvm_amd is reloaded with the
 * lab's parameters afterwards.
 *
 * Knobs: PVX_BENCH_FORK_MB (W list, MiB, default 16,64),
 * PVX_BENCH_FORK_ROUNDS (3), PVX_BENCH_FORK_NPT (1,0),
 * PVX_BENCH_FORK_CASES (backed,unbacked), PVX_BENCH_FORK_CONDS (of the
 * backed case: plain,dirtylog), PVX_BENCH_FORK_SHADOW_CPUS (the L3 CPU
 * models tried in turn with npt=0, /-separated: host/host,-la57/qemu64),
 * PVX_BENCH_FORK_THP (the L3 guest's transparent huge pages, a list of
 * always, madvise, never: one L3 guest per policy; default the
 * kernel's), PVX_BENCH_FORK_PATH (LIBPVX_FORK_PATH for the pvx variant:
 * auto, the default, copy or fork; fork makes pvx_fork() a fork() before
 * it looks at anything, an A/A run against fork + COW),
 * PVX_BENCH_TIMEOUT (per L3 guest, s, 1800). From the lab:
 * PVX_ABI, PVX_BUILD, PVX_KIMAGE, PVX_OUT, PVX_SHARE, PVX_KVM_AMD_ARGS,
 * PVX_L2_QEMU, PVX_L3_CPUS.
 *
 * Output: TAP (kselftest.h), the tables and the raw result lines as "#"
 * lines; the tables also into PVX_OUT/bench-fork-table.txt, the result
 * lines into PVX_OUT/bench-fork-results.txt (copied to PVX_SHARE after
 * every L3 guest, so that an L2 stopped early still leaves them).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kselftest.h"
#include "bench_stat.h"
#include "l3_vm.h"
#include "module_util.h"
#include "sysfs_util.h"
#include "../../guest/libpvx/pvx_fork_calc.h"

#define MAX_LIST	16
#define MAX_RUNS	4096
#define MAX_ROUNDS	64
#define PATH_SIZE	512
#define LINE_SIZE	1024
#define HMP_SIZE	65536	/* "info registers -a" of every vCPU */
#define FIFO		"/tmp/pvx-fork-sync"
#define MONITOR		"/tmp/pvx-fork-mon.sock"
#define FC_FILE		"/sys/kernel/debug/pvx/fork_copy"
#define NPT_PARAM	"/sys/module/kvm_amd/parameters/npt"
#define TRACE_EVENTS	"kvm_exit kvm_inj_exception kvm_page_fault kvm_cr kvm_emulate_insn kvm_entry"

/* a comma- (or slash-) separated knob, split */
struct list {
	int n;
	char *v[MAX_LIST];
};

static struct {
	const char *kernel, *initrd, *out, *share, *build, *kimage, *abi;
	const char *kvm_args, *l2_qemu, *mb, *conds, *path;
	int rounds, l3_cpus, max_mb;
	double timeout_s;
	struct list npt, cases, thp, shadow_cpus;
} cfg;

enum variant { COW, POPULATE, PVX, NR_VARIANTS };
static const char *const variant_name[] = { "cow", "populate", "pvx" };

/* KVM's per-VM counters in debugfs, summed over the vCPUs */
static const char *const kvm_stat_name[] = {
	"exits", "pf_taken", "pf_fixed", "pf_fast", "pf_spurious", "pf_emulate",
	"pf_guest", "io_exits", "irq_exits", "halt_exits", "hypercalls", "tlb_flush",
	"pages_4k", "pages_2m",
};

#define NR_KVM_STATS	ARRAY_SIZE(kvm_stat_name)
enum { EXITS, PF_TAKEN };

/* the counters at one mark, and the L3 QEMU's resident memory */
struct kvm_counts {
	long long v[NR_KVM_STATS];
	bool has[NR_KVM_STATS];
	long long rss_kb;	/* -1: unknown */
};

/* what L2 measured around one run: its "kvm" line */
struct mark {
	int seq;
	struct kvm_counts before, after;
	char migration[32];
};

/* one run of the guest (its "fork" line), with L2's mark joined to it */
struct run {
	int npt, thp;		/* thp: index into cfg.thp, -1 for the kernel's */
	char cond[16];
	int mb, variant, round;
	double child_ms, copied, child_thp_kb, plain;
	bool has_mark;
	struct mark mark;
};

static struct run runs[MAX_RUNS];
static int nr_runs;
static FILE *results;		/* PVX_OUT/bench-fork-results.txt */
static char trace_dir[64];	/* tracefs, "" without KVM's events */

/* ---- output ---------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __printf(1, 2) void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static __printf(2, 3) void result(bool ok, const char *fmt, ...)
{
	char line[LINE_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (ok)
		ksft_test_result_pass("%s\n", line);
	else
		ksft_test_result_fail("%s\n", line);
}

static __printf(1, 2) char *path_of(const char *fmt, ...)
{
	static char bufs[4][PATH_SIZE];
	static int next;
	char *buf = bufs[next++ % 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_SIZE, fmt, ap);
	va_end(ap);
	return buf;
}

/* @from to @to, whole; false when either cannot be opened */
static bool copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), out = -1;
	char buf[65536];
	ssize_t n;

	if (in >= 0)
		out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	while (out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			break;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return in >= 0 && out >= 0;
}

/* ---- the knobs -------------------------------------------------------------- */

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static void split(struct list *l, const char *text, const char *seps)
{
	char *copy = strdup(text), *w, *save = NULL;

	l->n = 0;
	for (w = strtok_r(copy, seps, &save); w && l->n < MAX_LIST; w = strtok_r(NULL, seps, &save))
		l->v[l->n++] = w;
}

static void read_config(char **argv)
{
	struct list mbs;
	int i;

	cfg.kernel = argv[1];
	cfg.initrd = argv[2];
	cfg.out = env_or("PVX_OUT", "/tmp");
	cfg.share = env_or("PVX_SHARE", NULL);
	cfg.build = env_or("PVX_BUILD", "");
	cfg.kimage = env_or("PVX_KIMAGE", "");
	cfg.abi = env_or("PVX_ABI", "");
	cfg.kvm_args = env_or("PVX_KVM_AMD_ARGS", "");
	cfg.l2_qemu = env_or("PVX_L2_QEMU", "");
	cfg.l3_cpus = atoi(env_or("PVX_L3_CPUS", "2"));
	cfg.timeout_s = atof(env_or("PVX_BENCH_TIMEOUT", "1800"));
	cfg.mb = env_or("PVX_BENCH_FORK_MB", "16,64");
	cfg.rounds = atoi(env_or("PVX_BENCH_FORK_ROUNDS", "3"));
	cfg.conds = env_or("PVX_BENCH_FORK_CONDS", "plain,dirtylog");
	cfg.path = env_or("PVX_BENCH_FORK_PATH", "auto");
	/* libpvx's own parser: the words LIBPVX_FORK_PATH takes */
	if (pvx_fork_force_of(cfg.path) == PVX_FORK_FORCE_BAD)
		ksft_exit_fail_msg("PVX_BENCH_FORK_PATH must be auto, copy or fork, got '%s'\n",
				   cfg.path);
	split(&cfg.npt, env_or("PVX_BENCH_FORK_NPT", "1,0"), ",");
	split(&cfg.cases, env_or("PVX_BENCH_FORK_CASES", "backed,unbacked"), ",");
	split(&cfg.thp, env_or("PVX_BENCH_FORK_THP", ""), ",");
	split(&cfg.shadow_cpus, env_or("PVX_BENCH_FORK_SHADOW_CPUS", "host/host,-la57/qemu64"),
	      "/");
	split(&mbs, cfg.mb, ",");
	for (i = 0; i < mbs.n; i++)
		if (atoi(mbs.v[i]) > cfg.max_mb)
			cfg.max_mb = atoi(mbs.v[i]);
}

/* " thp=never" in a description, "" for the kernel's policy */
static const char *thp_word(int thp)
{
	static char buf[4][48];
	static int next;
	char *s = buf[next++ % 4];

	if (thp < 0)
		return "";
	snprintf(s, sizeof(buf[0]), " thp=%s", cfg.thp.v[thp]);
	return s;
}

/* ---- kvm_amd -------------------------------------------------------------- */

/* Whether @pid holds /dev/kvm or a VM open (l2-run.sh's idle VM). */
static bool holds_kvm(const char *pid)
{
	char dir[PATH_SIZE], link[PATH_SIZE * 2], target[64];
	struct dirent *e;
	bool found = false;
	ssize_t n;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	d = opendir(dir);
	while (d && !found && (e = readdir(d))) {
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		found = !strcmp(target, "/dev/kvm") || !strcmp(target, "anon_inode:kvm-vm");
	}
	if (d)
		closedir(d);
	return found;
}

/* @pid's command line, its arguments separated by spaces */
static char *proc_cmdline(const char *pid, char *buf, size_t size)
{
	int fd = open(path_of("/proc/%s/cmdline", pid), O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, size - 1), i;

	if (fd >= 0)
		close(fd);
	for (i = 0; i < n; i++)
		buf[i] = buf[i] ? buf[i] : ' ';
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* End the processes that hold KVM open; how many are left after 10 s. */
static int end_kvm_users(void)
{
	struct dirent *e;
	int left = 0, i;
	char cmd[256];
	DIR *d;

	for (i = 0; i < 51; i++) {
		left = 0;
		d = opendir("/proc");
		while (d && (e = readdir(d))) {
			if (!isdigit((unsigned char)e->d_name[0]) || atoi(e->d_name) == getpid() ||
			    !holds_kvm(e->d_name))
				continue;
			left++;
			if (i)
				continue;
			say("ending PID %s, which holds KVM open (%s)", e->d_name,
			    proc_cmdline(e->d_name, cmd, sizeof(cmd)));
			kill(atoi(e->d_name), SIGTERM);
		}
		if (d)
			closedir(d);
		if (!left)
			break;
		sleep_ms(200);
	}
	return left;
}

/* The kvm-amd module file of the booted kernel, compressed or not. */
static bool kvm_amd_file(char *path, size_t size)
{
	static const char *const ext[] = { "", ".xz", ".zst", ".gz" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ext); i++) {
		snprintf(path, size, "%s/lib/modules/%s/kernel/arch/x86/kvm/kvm-amd.ko%s",
			 cfg.kimage, cfg.abi, ext[i]);
		if (path_exists(path))
			return true;
	}
	return false;
}

/*
 * kvm_amd with npt=@npt (NULL: the lab's parameters only) and pvx_host
 * with pvx_fork_copy on it; true when all loaded. The idle VM that keeps
 * kvm_amd in use is ended first (not restarted: the benchmark runs last
 * in its L2 boot).
 */
static bool reload_kvm(const char *npt)
{
	static const char *const old[] = {
		"pvx_fork_copy", "pvx_yield", "pvx_numa", "pvx_ksm", "pvx_host", "kvm_amd",
	};
	static const char *const pvx[] = { "pvx_host", "pvx_fork_copy" };
	char ko[PATH_SIZE], params[256];
	size_t i;
	int err;

	end_kvm_users();
	for (i = 0; i < ARRAY_SIZE(old); i++) {
		if (!module_is_loaded(old[i]))
			continue;
		err = module_unload(old[i]);
		if (err) {
			say("rmmod %s: %s", old[i], strerror(-err));
			return false;
		}
	}
	if (!kvm_amd_file(ko, sizeof(ko))) {
		say("no kvm-amd.ko* under %s/lib/modules/%s", cfg.kimage, cfg.abi);
		return false;
	}
	snprintf(params, sizeof(params), "%s%s%s%s", cfg.kvm_args,
		 *cfg.kvm_args && npt ? " " : "", npt ? "npt=" : "", npt ?: "");
	err = module_load(ko, params);
	if (err) {
		say("insmod kvm-amd npt=%s: %s", npt ?: "", strerror(-err));
		return false;
	}
	for (i = 0; i < ARRAY_SIZE(pvx); i++) {
		snprintf(ko, sizeof(ko), "%s/host/%s.ko", cfg.build, pvx[i]);
		err = module_load(ko, "");
		if (err) {
			say("insmod %s: %s", pvx[i], strerror(-err));
			return false;
		}
	}
	return true;
}

/* kvm_amd has npt=@npt and pvx_fork_copy is loaded, else reloaded so. */
static bool ensure_npt(const char *npt)
{
	char now[8] = "";

	sysfs_read_str(NPT_PARAM, now, sizeof(now));
	if (!strcmp(now, strcmp(npt, "1") ? "N" : "Y") && module_is_loaded("pvx_fork_copy"))
		return true;
	if (!reload_kvm(npt)) {
		result(false, "fork bench npt=%s: kvm_amd npt=%s with pvx_host and pvx_fork_copy",
		       npt, npt);
		return false;
	}
	sysfs_read_str(NPT_PARAM, now, sizeof(now));
	result(true,
	       "fork bench npt=%s: kvm_amd reloaded (npt %s), pvx_host and pvx_fork_copy loaded",
	       npt, now);
	return true;
}

/*
 * L2 runs on a QEMU whose TCG does not exit to L2 on the L3 guest's
 * reads of CR3 and CR4 although KVM intercepts them with npt=0, so the
 * guest reads KVM's shadow page table root as its CR3 and dies in its
 * decompressor (Documentation/fork_copy.rst, "Shadow paging").
 * Measured: QEMU 10.0.2 does, 7.2 does not; the versions between were
 * not tried and are let through.
 */
static bool tcg_hides_cr_reads(void)
{
	return isdigit((unsigned char)cfg.l2_qemu[0]) && atoi(cfg.l2_qemu) >= 10;
}

static long long pages_copied(void)
{
	char *text = read_text(FC_FILE), *p = text;
	long long n = 0;

	while (p && *p) {
		if (!strncmp(p, "pages ", 6)) {
			n = atoll(p + 6);
			break;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	free(text);
	return n;
}

/* ---- the L3 QEMU's monitor --------------------------------------------------- */

/* Read @fd into @buf (from @len) until @until appears after @from or @ms passed. */
static size_t read_until(int fd, char *buf, size_t size, size_t len, size_t from,
			 const char *until, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (len + 1 < size && !strstr(buf + from, until) && poll(&p, 1, ms) == 1) {
		n = read(fd, buf + len, size - len - 1);
		if (n <= 0)
			break;
		len += n;
		buf[len] = '\0';
	}
	return len;
}

/* @text without CRs and terminal escapes (ESC [ digits ; letter), in place */
static void strip_escapes(char *text)
{
	char *r = text, *w = text;

	while (*r) {
		if (r[0] == '\x1b' && r[1] == '[') {
			r += 2;
			r += strspn(r, "0123456789;");
			if (*r)
				r++;
			continue;
		}
		if (*r != '\r')
			*w++ = *r;
		r++;
	}
	*w = '\0';
}

/*
 * One command to the L3 QEMU's human monitor, its answer (the echo of
 * the command, then its output; CRs, escapes and prompts removed) into
 * @out; false when the monitor did not answer.
 */
static bool hmp(const char *cmd, char *out, size_t size)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	static char buf[HMP_SIZE];
	size_t len = 0, start;
	char *prompt, line[256];
	int fd;

	if (size)
		out[0] = '\0';
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", MONITOR);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return false;
	}
	buf[0] = '\0';
	/* the greeting, up to its prompt */
	len = read_until(fd, buf, sizeof(buf), 0, 0, "(qemu) ", 2000);
	prompt = strstr(buf, "(qemu) ");
	snprintf(line, sizeof(line), "%s\n", cmd);
	if (!prompt || send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
		close(fd);
		return false;
	}
	start = prompt + 7 - buf;
	len = read_until(fd, buf, sizeof(buf), len, start, "(qemu) ", 5000);
	close(fd);
	prompt = strstr(buf + start, "(qemu) ");
	if (prompt)
		*prompt = '\0';
	strip_escapes(buf + start);
	if (size)
		snprintf(out, size, "%s", buf + start);
	return len > start;
}

/* The rest of the monitor's line that starts with @head, into @val. */
static bool hmp_line(const char *answer, const char *head, char *val, size_t size)
{
	const char *p = answer;
	size_t n = strlen(head);

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, head, n))
			continue;
		snprintf(val, size, "%.*s", (int)strcspn(p + n, "\n"), p + n);
		return true;
	}
	return false;
}

static void migration_status(char *status, size_t size)
{
	static char answer[HMP_SIZE];

	status[0] = '\0';
	hmp("info migrate", answer, sizeof(answer));
	hmp_line(answer, "Migration status: ", status, size);
}

/*
 * A migration of the L3 VM to a sink at 100 bytes/s, which keeps KVM's
 * dirty logging on for the run: QEMU enables it with the migration and
 * write-protects all of the guest's memory when it sends the first page,
 * so every first write to a page after that is a write fault into L2's
 * KVM. Waited for until the first page went.
 */
static void start_dirty_log(void)
{
	static char answer[HMP_SIZE];
	char sent[64];
	double t0 = now_s();

	hmp("migrate_set_parameter max-bandwidth 100B", NULL, 0);
	/* without a space: HMP would take ">/dev/null" as another argument */
	hmp("migrate -d exec:cat>/dev/null", NULL, 0);
	while (now_s() - t0 < 12) {
		hmp("info migrate", answer, sizeof(answer));
		if (hmp_line(answer, "transferred ram: ", sent, sizeof(sent)) && atoll(sent) > 0)
			break;
		sleep_ms(100);
	}
	sleep_ms(200);
}

/* The migration's status (into @status), then cancelled and waited for. */
static void stop_dirty_log(char *status, size_t size)
{
	char now[32];
	double t0 = now_s();

	migration_status(status, size);
	hmp("migrate_cancel", NULL, 0);
	do {
		migration_status(now, sizeof(now));
		if (strcmp(now, "active"))
			break;
		sleep_ms(100);
	} while (now_s() - t0 < 10);
}

/* ---- KVM's counters, at the guest's marks ---------------------------------- */

#define MAX_MARKS	1024

/* The counters of the one VM in L2 (debugfs PID-FD) and its QEMU's VmRSS. */
static void read_kvm_counts(struct kvm_counts *c)
{
	char *status, *rss;
	long long x;
	glob_t g;
	size_t i;

	memset(c, 0, sizeof(*c));
	c->rss_kb = -1;
	if (glob("/sys/kernel/debug/kvm/[0-9]*-[0-9]*", 0, NULL, &g))
		return;
	for (i = 0; i < NR_KVM_STATS; i++) {
		x = sysfs_read_counter(g.gl_pathv[0], kvm_stat_name[i]);
		c->has[i] = x >= 0;
		c->v[i] = x;
	}
	status = read_text(path_of("/proc/%d/status", atoi(strrchr(g.gl_pathv[0], '/') + 1)));
	rss = status ? strstr(status, "\nVmRSS:") : NULL;
	if (rss)
		c->rss_kb = atoll(rss + 7);
	free(status);
	globfree(&g);
}

/* what serves the guest's marks during one L3 guest */
struct sync {
	int in, out;		/* FIFO.in (to the guest), FIFO.out (its marks) */
	char buf[LINE_SIZE];
	size_t len;
	char cond;		/* of the last "B" mark: d for dirtylog */
	struct kvm_counts before;
	struct mark marks[MAX_MARKS];
	int n;
};

static void tracing_off(void)
{
	if (*trace_dir)
		write_file(path_of("%s/tracing_on", trace_dir), "0");
}

/*
 * One mark of pvx_fork_bench. "B<c> SEQ" (before the fork): with c = d
 * the migration that keeps dirty logging on, then KVM's counters; "E
 * SEQ" (after the child was reaped): the counters again into a mark,
 * and the migration is cancelled. Each mark is answered with one byte.
 */
static void serve_mark(struct sync *s, const char *line)
{
	struct mark *m;

	if (line[0] == 'B' && line[1] && line[2] == ' ') {
		s->cond = line[1];
		tracing_off();	/* the events before a reset are kept */
		if (s->cond == 'd')
			start_dirty_log();
		read_kvm_counts(&s->before);
	} else if (!strncmp(line, "E ", 2) && s->n < MAX_MARKS) {
		m = &s->marks[s->n++];
		m->seq = atoi(line + 2);
		m->before = s->before;
		read_kvm_counts(&m->after);
		m->migration[0] = '\0';
		if (s->cond == 'd')
			stop_dirty_log(m->migration, sizeof(m->migration));
		if (!m->migration[0])
			snprintf(m->migration, sizeof(m->migration), "none");
	} else {
		return;
	}
	if (write(s->in, "g", 1) != 1)
		say("fork bench: no answer to the guest's mark %s: %s", line, strerror(errno));
}

/* The marks that came on FIFO.out within @ms, served. */
static void serve_marks(struct sync *s, int ms)
{
	struct pollfd p = { .fd = s->out, .events = POLLIN };
	char *nl;
	size_t used;
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return;
	n = read(s->out, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
	if (n <= 0)
		return;
	s->len += n;
	s->buf[s->len] = '\0';
	while ((nl = strchr(s->buf, '\n'))) {
		*nl = '\0';
		if (nl > s->buf && nl[-1] == '\r')
			nl[-1] = '\0';
		serve_mark(s, s->buf);
		used = nl + 1 - s->buf;
		memmove(s->buf, nl + 1, s->len - used + 1);
		s->len -= used;
	}
	if (s->len == sizeof(s->buf) - 1)
		s->len = 0;	/* a line too long for a mark */
}

/* ---- one L3 guest ------------------------------------------------------------ */

struct guest {
	const char *npt, *kase, *cpu;
	int thp;
	char tag[128], what[128], log[256];
	struct l3_vm vm;
	struct sync sync;
	struct l3_results res;
};

static char *guest_file(const struct guest *g, const char *suffix)
{
	return path_of("%s/l3-bench-fork-%s%s", cfg.out, g->tag, suffix);
}

/* Shadow paging: KVM's last events in L2 before a reset, kept in its trace. */
static void trace_start(void)
{
	const char *dir = "/sys/kernel/tracing";
	struct list ev;
	int i, fd;

	if (!path_exists(path_of("%s/events/kvm", dir)))
		dir = "/sys/kernel/debug/tracing";
	if (!path_exists(path_of("%s/events/kvm", dir)))
		return;
	snprintf(trace_dir, sizeof(trace_dir), "%s", dir);
	write_file(path_of("%s/tracing_on", dir), "0");
	write_file(path_of("%s/buffer_size_kb", dir), "4096");
	fd = open(path_of("%s/trace", dir), O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
	split(&ev, TRACE_EVENTS, " ");
	for (i = 0; i < ev.n; i++)
		write_file(path_of("%s/events/kvm/%s/enable", dir, ev.v[i]), "1");
	write_file(path_of("%s/tracing_on", dir), "1");
}

/* Whether @line has one of @w's words ("^WORD": starts with it); any line for none. */
static bool line_matches(const char *line, const struct list *w)
{
	int j;

	for (j = 0; j < w->n; j++)
		if (w->v[j][0] == '^' ? !strncmp(line, w->v[j] + 1, strlen(w->v[j] + 1)) :
		    !!strstr(line, w->v[j]))
			return true;
	return !w->n;
}

/*
 * The lines of @text that have one of @words ('|'-separated, "" for
 * every line), the first @first of them or the last @last, as "#   "
 * lines.
 */
static void print_matching(const char *text, const char *words, int first, int last)
{
	char *copy = strdup(text ?: ""), *line, *save = NULL, *hits[4096];
	struct list w;
	int n = 0, i;

	split(&w, words, "|");
	for (line = strtok_r(copy, "\n", &save); line && n < 4096;
	     line = strtok_r(NULL, "\n", &save))
		if (line_matches(line, &w))
			hits[n++] = line;
	for (i = last && n > last ? n - last : 0; i < n && (!first || i < first); i++)
		say("  %s", hits[i]);
	free(copy);
}

/* After a shadow-paging guest: tracing off; without a mark, what it left. */
static void trace_report(struct guest *g)
{
	char *trace, *regs, *p;
	int lines = 0, fd;
	FILE *f;

	write_file(path_of("%s/tracing_on", trace_dir), "0");
	write_file(path_of("%s/events/kvm/enable", trace_dir), "0");
	if (!g->sync.n) {
		trace = read_text(path_of("%s/trace", trace_dir));
		/* its last 400 lines */
		for (p = trace ? trace + strlen(trace) : NULL; p && p > trace && lines <= 400; p--)
			lines += p[-1] == '\n';
		f = fopen(guest_file(g, "-trace.txt"), "w");
		if (f && p) {
			fputs(p + (p > trace), f);
			fclose(f);
		} else if (f) {
			fclose(f);
		}
		say("npt=0 reset: the last KVM events in L2 in l3-bench-fork-%s-trace.txt, %s",
		    g->tag, path_of("registers in l3-bench-fork-%s-regs.log", g->tag));
		regs = read_text(guest_file(g, "-regs.log"));
		print_matching(regs, "RIP=|CR0=|CR3=|EFER=|^EAX|^RAX", 12, 0);
		print_matching(p, "kvm_inj_exception|kvm_page_fault|kvm_cr", 0, 12);
		print_matching(p, "", 0, 8);
		free(regs);
		free(trace);
	}
	fd = open(path_of("%s/trace", trace_dir), O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
	trace_dir[0] = '\0';
}

/*
 * A shadow-paging guest's QEMU paused at a shutdown (-action) before its
 * results were complete (a reset, e.g. a triple fault): its registers
 * into the regs log, then QEMU quits. False once that was done.
 */
static bool watch_reset(struct guest *g)
{
	static char answer[HMP_SIZE];
	char line[64];
	FILE *f;

	if (!hmp("info status", answer, sizeof(answer)) || !strstr(answer, "paused (shutdown)"))
		return true;
	if (l3_vm_console_find(&g->vm, "PVX-BENCH-END", line, sizeof(line))) {
		hmp("info registers -a", answer, sizeof(answer));
		f = fopen(guest_file(g, "-regs.log"), "w");
		if (f) {
			fputs(answer, f);
			fclose(f);
		}
	}
	hmp("quit", NULL, 0);
	return false;
}

/* QEMU for @g, started; -errno when it could not be */
static int start_qemu(struct guest *g)
{
	struct l3_args a = { 0 };
	int ret;

	l3_arg(&a, "qemu-system-x86_64");
	l3_arg(&a, "-enable-kvm");
	l3_arg(&a, "-cpu");
	l3_arg(&a, "%s", g->cpu);
	l3_arg(&a, "-m");
	l3_arg(&a, "%d", 2 * cfg.max_mb + 32 + 192);	/* the buffer, its copy, fresh pages */
	l3_arg(&a, "-smp");
	l3_arg(&a, "%d", cfg.l3_cpus);
	if (!strcmp(g->kase, "backed")) {
		l3_arg(&a, "-mem-prealloc");
	} else {
		/* what the guest frees, QEMU discards in L2 */
		l3_arg(&a, "-device");
		l3_arg(&a, "virtio-balloon-pci,free-page-reporting=on");
	}
	l3_args_console(&a);
	l3_arg(&a, "-chardev");
	l3_arg(&a, "pipe,id=pvxsync,path=%s", FIFO);
	l3_arg(&a, "-device");
	l3_arg(&a, "isa-serial,chardev=pvxsync");
	l3_arg(&a, "-monitor");
	l3_arg(&a, "unix:%s,server=on,wait=off", MONITOR);
	if (!strcmp(g->npt, "0")) {
		/* shadow paging: a reset pauses QEMU, to read the registers */
		l3_arg(&a, "-action");
		l3_arg(&a, "reboot=shutdown,shutdown=pause");
	}
	l3_args_boot(&a, cfg.kernel, cfg.initrd);
	l3_arg(&a, "-append");
	l3_arg(&a,
	       "console=ttyS0 panic=-1 pvx_bench=forkcopy pvx_fork_mb=%s pvx_fork_rounds=%d pvx_fork_conds=%s pvx_fork_path=%s pvx_fork_sync=ttyS1%s%s",
	       cfg.mb, cfg.rounds, strcmp(g->kase, "backed") ? "unbacked" : cfg.conds, cfg.path,
	       g->thp < 0 ? "" : " pvx_fork_thp=", g->thp < 0 ? "" : cfg.thp.v[g->thp]);
	ret = l3_vm_start(&g->vm, &a, g->log, NULL);
	l3_args_free(&a);
	return ret;
}

/* QEMU's exit status, its marks served until it ended or its time ran out. */
static int run_qemu(struct guest *g)
{
	bool shadow = !strcmp(g->npt, "0");
	double next_watch = 2;

	while (l3_vm_running(&g->vm) && l3_vm_elapsed_s(&g->vm) < cfg.timeout_s) {
		serve_marks(&g->sync, 200);
		if (shadow && l3_vm_elapsed_s(&g->vm) >= next_watch)
			next_watch = watch_reset(g) ? l3_vm_elapsed_s(&g->vm) + 2 : INFINITY;
	}
	return l3_vm_wait(&g->vm, cfg.timeout_s);
}

/* ---- a guest's results ------------------------------------------------------- */

static double kv_num(const char *line, const char *key)
{
	char val[64];

	return bstat_field(line, key, val, sizeof(val)) && *val ? atof(val) : NAN;
}

static int variant_of(const char *name)
{
	int v;

	for (v = 0; v < NR_VARIANTS; v++)
		if (!strcmp(name, variant_name[v]))
			return v;
	return -1;
}

/* @g's mark of run @seq, NULL when L2 read no counters around it */
static const struct mark *mark_of(const struct guest *g, int seq)
{
	int i;

	for (i = 0; i < g->sync.n; i++)
		if (g->sync.marks[i].seq == seq)
			return &g->sync.marks[i];
	return NULL;
}

/* "fork npt=N case=C[ thp=T] ..." of a result line, into the results */
static void record_run(const struct guest *g, const char *line)
{
	char val[64];
	struct run *r = &runs[nr_runs];
	const struct mark *m;

	fprintf(results, "fork npt=%s case=%s%s %s\n", g->npt, g->kase, thp_word(g->thp),
		line + 5);
	if (nr_runs == MAX_RUNS || !bstat_field(line, "variant", val, sizeof(val)) ||
	    variant_of(val) < 0)
		return;
	memset(r, 0, sizeof(*r));
	r->variant = variant_of(val);
	r->npt = atoi(g->npt);
	r->thp = g->thp;
	if (!bstat_field(line, "cond", r->cond, sizeof(r->cond)))
		snprintf(r->cond, sizeof(r->cond), "plain");
	r->mb = (int)kv_num(line, "mb");
	r->round = (int)kv_num(line, "round");
	r->child_ms = kv_num(line, "child_ms");
	r->copied = kv_num(line, "copied");
	r->child_thp_kb = kv_num(line, "child_thp_kb");
	r->plain = kv_num(line, "plain");
	m = mark_of(g, (int)kv_num(line, "seq"));
	if (m) {
		r->mark = *m;
		r->has_mark = true;
	}
	if (r->mb > 0 && r->round > 0 && r->round <= MAX_ROUNDS)
		nr_runs++;
}

/* L2's "kvm" line of a mark: the counters' differences, the resident size before and after */
static void record_mark(const struct guest *g, const struct mark *m)
{
	size_t i;

	fprintf(results, "kvm npt=%s case=%s%s seq=%d", g->npt, g->kase, thp_word(g->thp), m->seq);
	for (i = 0; i < NR_KVM_STATS; i++)
		if (m->after.has[i])
			fprintf(results, " %s=%lld", kvm_stat_name[i],
				m->after.v[i] - (m->before.has[i] ? m->before.v[i] : 0));
	if (m->after.rss_kb >= 0 && m->before.rss_kb >= 0)
		fprintf(results, " rss_kb_before=%lld rss_kb_after=%lld", m->before.rss_kb,
			m->after.rss_kb);
	fprintf(results, " migration=%s\n", m->migration);
}

/*
 * The guest got to the end; its diagnostics and errors as "#" lines, its
 * result lines and L2's marks into the results, and the checks on them.
 * The number of its result lines.
 */
static int check_guest(struct guest *g, int qrc)
{
	int forks = 0, pvx = 0, done = 0, plain = 0, dirty = 0, active = 0, i;
	char *copy, *line, *save = NULL, val[32];

	l3_vm_results(&g->vm, &g->res);
	if (g->res.ended)
		result(true, "%s: L3 guest ran to the end", g->what);
	else
		result(false, "%s: L3 guest ran to the end # qemu exit %d; last line: %s", g->what,
		       qrc, g->res.last);
	copy = strdup(g->res.text ?: "");
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			printf("%s\n", line);
		else if (!strncmp(line, "error ", 6))
			say("%s", line);
		if (strncmp(line, "fork ", 5))
			continue;
		forks++;
		record_run(g, line);
		dirty += bstat_field(line, "cond", val, sizeof(val)) && !strcmp(val, "dirtylog");
		if (!bstat_field(line, "variant", val, sizeof(val)) || strcmp(val, "pvx"))
			continue;
		pvx++;
		plain += kv_num(line, "plain") == 1;
		/* each pvx_fork() copied through the host, or was a plain fork() by the rule */
		done += kv_num(line, "copied") > 0 || kv_num(line, "plain") == 1;
	}
	free(copy);
	for (i = 0; i < g->sync.n; i++) {
		record_mark(g, &g->sync.marks[i]);
		active += !strcmp(g->sync.marks[i].migration, "active");
	}
	fflush(results);
	if (pvx > 0 && pvx == done)
		result(true,
		       "%s: every pvx_fork() copied through the host or was plain fork() by the rule (%d of %d plain)",
		       g->what, plain, pvx);
	else
		result(false,
		       "%s: every pvx_fork() copied through the host or was plain fork() by the rule # %d of %d",
		       g->what, done, pvx);
	if (forks)
		result(forks == g->sync.n, "%s: KVM's counters read around every run%s", g->what,
		       forks == g->sync.n ? "" : path_of(" # %d of %d", g->sync.n, forks));
	if (dirty)
		result(active == dirty,
		       "%s: dirty logging (a migration) active to the end of all %d dirtylog runs%s",
		       g->what, dirty, active == dirty ? "" : path_of(" # %d", active));
	return forks;
}

/* the results so far to the lab's share, in case L2 is stopped before the tables */
static void share_results(const struct guest *g)
{
	static const char *const suffix[] = { ".log", ".log.err", "-regs.log", "-trace.txt" };
	size_t i;

	if (!cfg.share)
		return;
	copy_file(path_of("%s/bench-fork-results.txt", cfg.out),
		  path_of("%s/bench-fork-results.txt", cfg.share));
	for (i = 0; i < ARRAY_SIZE(suffix); i++)
		copy_file(guest_file(g, suffix[i]),
			  path_of("%s/l3-bench-fork-%s%s", cfg.share, g->tag, suffix[i]));
}

/*
 * One L3 guest with kvm_amd npt=@npt, case @kase backed (L3 memory
 * preallocated in L2; conditions plain and dirtylog) or unbacked (not
 * preallocated, virtio-balloon with free page reporting: what the guest
 * frees, QEMU discards in L2), with the THP policy @thp and CPU model
 * @cpu. False when the guest gave no result line.
 */
static bool run_guest(const char *npt, int thp, const char *kase, const char *cpu)
{
	static struct guest g;
	const char *c;
	long long p0;
	int qrc, n;

	if (!ensure_npt(npt))
		return false;
	memset(&g, 0, sizeof(g));
	g.npt = npt;
	g.thp = thp;
	g.kase = kase;
	g.cpu = cpu;
	n = snprintf(g.tag, sizeof(g.tag), "npt%s-%s%s%s-", npt, kase, thp < 0 ? "" : "-",
		     thp < 0 ? "" : cfg.thp.v[thp]);
	for (c = cpu; *c && n + 1 < (int)sizeof(g.tag); c++)
		g.tag[n++] = islower((unsigned char)*c) || isdigit((unsigned char)*c) ? *c : '_';
	g.tag[n] = '\0';
	snprintf(g.what, sizeof(g.what), "fork bench npt=%s %s%s", npt, kase, thp_word(thp));
	snprintf(g.log, sizeof(g.log), "%s", guest_file(&g, ".log"));
	unlink(FIFO ".in");
	unlink(FIFO ".out");
	unlink(MONITOR);
	if (mkfifo(FIFO ".in", 0600) || mkfifo(FIFO ".out", 0600)) {
		result(false, "%s: L3 guest ran to the end # mkfifo %s: %s", g.what, FIFO,
		       strerror(errno));
		return false;
	}
	/* read-write: no open blocks, no end of file comes */
	g.sync.in = open(FIFO ".in", O_RDWR | O_CLOEXEC);
	g.sync.out = open(FIFO ".out", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	p0 = pages_copied();
	if (!strcmp(npt, "0"))
		trace_start();
	qrc = start_qemu(&g) ? 127 : run_qemu(&g);
	say("%s (-cpu %s): L3 (%d MB, %d vCPUs) ran %.0f s, qemu exit %d, host copied %lld %s %s",
	    g.what, cpu, 2 * cfg.max_mb + 224, cfg.l3_cpus,
	    g.vm.pid > 0 ? l3_vm_elapsed_s(&g.vm) : 0, qrc,
	    pages_copied() - p0, "pages, console", g.log);
	if (*trace_dir)
		trace_report(&g);
	close(g.sync.in);
	close(g.sync.out);
	qrc = check_guest(&g, qrc);
	free(g.res.text);
	share_results(&g);
	return qrc > 0;
}

/* ---- the tables ----------------------------------------------------------------- */

#define CELL	160

/* the numbers of a run the tables read */
enum col { CHILD_MS, NS_PP, EXITS_PP, PF_PP, RSS_MIB, THP_MIB, PLAIN, COPIED };

/* a cell of the tables: one THP policy, npt, condition and W, its rounds */
struct group {
	int npt, thp, mb, nr;
	const char *cond;
};

static struct group groups[MAX_RUNS];
static int nr_groups;
static FILE *table_file;	/* PVX_OUT/bench-fork-table.txt */

/* @r's counter @i from before the fork to the child reaped, per page of W */
static double per_page(const struct run *r, int i)
{
	const struct mark *m = &r->mark;

	if (!r->has_mark || !m->after.has[i])
		return NAN;
	return (m->after.v[i] - (m->before.has[i] ? m->before.v[i] : 0)) / (r->mb * 256.0);
}

static double run_value(const struct run *r, enum col c)
{
	const struct mark *m = &r->mark;

	switch (c) {
	case CHILD_MS:
		return r->child_ms;
	case NS_PP:
		return bstat_ratio(r->child_ms, r->mb * 256.0) * 1e6;
	case EXITS_PP:
		return per_page(r, EXITS);
	case PF_PP:
		return per_page(r, PF_TAKEN);
	case RSS_MIB:
		if (!r->has_mark || m->after.rss_kb < 0 || m->before.rss_kb < 0)
			return NAN;
		return (m->after.rss_kb - m->before.rss_kb) / 1024.0;
	case THP_MIB:
		return r->child_thp_kb >= 0 ? r->child_thp_kb / 1024 : NAN;
	case PLAIN:
		return r->plain;
	case COPIED:
		return r->copied;
	}
	return NAN;
}

static bool in_group(const struct run *r, const struct group *g)
{
	return r->npt == g->npt && r->thp == g->thp && r->mb == g->mb && !strcmp(r->cond, g->cond);
}

/* plain, unbacked, dirtylog */
static int cond_rank(const char *cond)
{
	return !strcmp(cond, "plain") ? 0 : !strcmp(cond, "unbacked") ? 1 :
	       !strcmp(cond, "dirtylog") ? 2 : 3;
}

/* THP policies in the knob's order, npt=1 first, the conditions, W ascending */
static int group_order(const void *pa, const void *pb)
{
	const struct group *a = pa, *b = pb;

	if (a->thp != b->thp)
		return a->thp - b->thp;
	if (a->npt != b->npt)
		return b->npt - a->npt;
	if (cond_rank(a->cond) != cond_rank(b->cond))
		return cond_rank(a->cond) - cond_rank(b->cond);
	return a->mb - b->mb;
}

static void make_groups(void)
{
	struct group *g;
	int i, j;

	for (i = 0; i < nr_runs; i++) {
		if (runs[i].npt != 0 && runs[i].npt != 1)
			continue;
		for (j = 0; j < nr_groups && !in_group(&runs[i], &groups[j]); j++)
			;
		g = &groups[j];
		if (j == nr_groups) {
			*g = (struct group){ .npt = runs[i].npt, .thp = runs[i].thp,
					     .mb = runs[i].mb, .cond = runs[i].cond };
			nr_groups++;
		}
		if (runs[i].round > g->nr)
			g->nr = runs[i].round;
	}
	qsort(groups, nr_groups, sizeof(*groups), group_order);
}

/* into @out variant @v's column @c in each round of @g, NAN for a round without it */
static void column(const struct group *g, int v, enum col c, double *out)
{
	int i;

	for (i = 0; i < g->nr; i++)
		out[i] = NAN;
	for (i = 0; i < nr_runs; i++)
		if (in_group(&runs[i], g) && runs[i].variant == v)
			out[runs[i].round - 1] = run_value(&runs[i], c);
}

/* the median of @g's rounds of @v's column @c, alone ("-" for none) */
static void median_of(char *buf, const struct group *g, int v, enum col c, const char *fmt)
{
	struct bstat_style st = { fmt, 1, "" };
	double x[MAX_ROUNDS], scratch[MAX_ROUNDS];
	struct bstat_spread s;

	column(g, v, c, x);
	bstat_format(buf, CELL, &st, &s, bstat_spread_of(x, g->nr, scratch, &s));
	buf[strcspn(buf, " ")] = '\0';
}

/* into @r the rounds' own ratios of @a's column @c to @b's */
static void ratios(const struct group *g, int a, int b, enum col c, double *r)
{
	double x[MAX_ROUNDS], y[MAX_ROUNDS];

	column(g, a, c, x);
	column(g, b, c, y);
	bstat_paired(x, y, g->nr, r);
}

/* "0.95x (n=3 0.90..1.02)": the median of the rounds' own ratios a / b of column @c */
static void ratio_of(char *buf, const struct group *g, int a, int b, enum col c)
{
	struct bstat_style st = { "%.2f", 1, "x" };
	double r[MAX_ROUNDS], scratch[MAX_ROUNDS];
	struct bstat_spread s;

	ratios(g, a, b, c, r);
	bstat_format(buf, CELL, &st, &s, bstat_spread_of(r, g->nr, scratch, &s));
}

/* the floor @cmp @limit on the rounds' own ratios a / b of column @c */
static void floor_of(char *buf, const struct group *g, int a, int b, enum col c,
		     enum bstat_cmp cmp, double limit)
{
	struct bstat_style st = { "%.2f", 1, "x" };
	double r[MAX_ROUNDS], scratch[MAX_ROUNDS];

	ratios(g, a, b, c, r);
	bstat_format_floor(buf, CELL, &st, r, g->nr, scratch, cmp, limit);
}

/* A "# " line of the tables, on stdout and in the table file. */
#define table(fmt, ...) bstat_say(table_file, fmt "\n", ##__VA_ARGS__)

/* the tables' headings and the floors' lines */
#define TIME_HEAD "---- fork-copy: time from the fork to the child's full pass of writes (median ms of the rounds; ns per page of W); ratio = variant / cow round by round, median (n min..max) (< 1: faster than fork + COW)"
#define KVM_HEAD "---- fork-copy: KVM in L2, per page of W, from before the fork to the child reaped (median of the rounds): exits, page faults taken (pf_taken); L2 resident growth of the L3 QEMU (MiB); ratios round by round"
#define THP_HEAD "---- fork-copy: the child's memory in transparent huge pages after its pass (median MiB of the rounds; copy-on-write splits them, a fresh copy need not)"
#define FLOORS_HEAD "---- floors (reported, not asserted): on the median of the rounds' own ratios, with the rounds that met them"
#define FLOOR11_FMT "floor npt=1, %d MiB%s: the child with pvx_fork not slower than 1.1x fork + COW: %s"
#define FLOOR105_FMT "floor pvx_fork <= 1.05x fork, cell npt=%d %s %d MiB%s: %s; pvx path: %d copy, %d plain"

#define F1 "%-4d %-8s %4d %8s %8s %8s %-24s %-24s | %7s %7s %7s"
#define F1H "%-4s %-8s %4s %8s %8s %8s %-24s %-24s | %7s %7s %7s"
#define F2 "%-4d %-8s %4d %7s %7s %7s %-24s %-24s | %6s %6s %6s | %6s %6s %6s"
#define F2H "%-4s %-8s %4s %7s %7s %7s %-24s %-24s | %6s %6s %6s | %6s %6s %6s"
#define F3 "%-4d %-8s %4d %7s %7s %7s"
#define F3H "%-4s %-8s %4s %7s %7s %7s"

/* the medians of one column of the three variants */
struct triple {
	char v[NR_VARIANTS][CELL];
};

static void medians(struct triple *t, const struct group *g, enum col c, const char *fmt)
{
	int v;

	for (v = 0; v < NR_VARIANTS; v++)
		median_of(t->v[v], g, v, c, fmt);
}

static void time_table(const struct group *g, int n)
{
	char pop[CELL], pvx[CELL];
	struct triple ms, ns;
	int i;

	table("%s", TIME_HEAD);
	table(F1H, "npt", "cond", "MiB", "cow ms", "pop ms", "pvx ms", "pop/cow", "pvx/cow",
	      "ns/p cow", "pop", "pvx");
	for (i = 0; i < n; i++, g++) {
		medians(&ms, g, CHILD_MS, "%.1f");
		medians(&ns, g, NS_PP, "%.0f");
		ratio_of(pop, g, POPULATE, COW, CHILD_MS);
		ratio_of(pvx, g, PVX, COW, CHILD_MS);
		table(F1, g->npt, g->cond, g->mb, ms.v[COW], ms.v[POPULATE], ms.v[PVX], pop, pvx,
		      ns.v[COW], ns.v[POPULATE], ns.v[PVX]);
	}
}

static void kvm_table(const struct group *g, int n)
{
	struct triple ex, pf, rss;
	char pop[CELL], pvx[CELL];
	int i;

	table("%s", KVM_HEAD);
	table(F2H, "npt", "cond", "MiB", "ex cow", "ex pop", "ex pvx", "pop/cow", "pvx/cow",
	      "pf cow", "pop", "pvx", "rss cow", "pop", "pvx");
	for (i = 0; i < n; i++, g++) {
		medians(&ex, g, EXITS_PP, "%.2f");
		medians(&pf, g, PF_PP, "%.2f");
		medians(&rss, g, RSS_MIB, "%.2f");
		ratio_of(pop, g, POPULATE, COW, EXITS_PP);
		ratio_of(pvx, g, PVX, COW, EXITS_PP);
		table(F2, g->npt, g->cond, g->mb, ex.v[COW], ex.v[POPULATE], ex.v[PVX], pop, pvx,
		      pf.v[COW], pf.v[POPULATE], pf.v[PVX],
		      rss.v[COW], rss.v[POPULATE], rss.v[PVX]);
	}
}

static void thp_table(const struct group *g, int n)
{
	struct triple thp;
	int i;

	table("%s", THP_HEAD);
	table(F3H, "npt", "cond", "MiB", "cow", "pop", "pvx");
	for (i = 0; i < n; i++, g++) {
		medians(&thp, g, THP_MIB, "%.1f");
		table(F3, g->npt, g->cond, g->mb, thp.v[COW], thp.v[POPULATE], thp.v[PVX]);
	}
}

/* ", THP never" in a floor's name, "" for the kernel's policy */
static const char *thp_label(int thp)
{
	return thp < 0 ? "" : path_of(", THP %s", cfg.thp.v[thp]);
}

/* issue 10's floors: nested paging not slower, shadow paging fewer exits and faster */
static void issue10_floors(const struct group *g, int n)
{
	char buf[CELL];
	int i;

	for (i = 0; i < n; i++, g++) {
		if (strcmp(g->cond, "plain"))
			continue;
		if (g->npt == 1) {
			floor_of(buf, g, PVX, COW, CHILD_MS, BSTAT_LE, 1.1);
			table(FLOOR11_FMT,
			      g->mb, thp_label(g->thp), buf);
		} else if (g->mb == 64) {
			floor_of(buf, g, COW, PVX, EXITS_PP, BSTAT_GE, 10);
			table("floor npt=0, 64 MiB%s: pvx >= 10x fewer exits than fork + COW: %s",
			      thp_label(g->thp), buf);
			floor_of(buf, g, COW, PVX, CHILD_MS, BSTAT_GE, 2);
			table("floor npt=0, 64 MiB%s: pvx >= 2x faster than fork + COW: %s",
			      thp_label(g->thp), buf);
		}
	}
}

/*
 * Issue 29 item 4, per cell: pvx_fork() never slower than fork() + COW
 * (with the rounds whose pvx_fork() copied through the host and those
 * that were a plain fork() by libpvx's rule); with shadow paging from 64
 * MiB on, issue 10's floors in every cell too.
 */
static void cell_floors(const struct group *g, int n)
{
	double plain[MAX_ROUNDS], copied[MAX_ROUNDS];
	int i, k, copy, nplain;
	char buf[CELL];

	for (i = 0; i < n; i++, g++) {
		column(g, PVX, PLAIN, plain);
		column(g, PVX, COPIED, copied);
		for (k = copy = nplain = 0; k < g->nr; k++) {
			nplain += plain[k] == 1;
			copy += plain[k] != 1 && copied[k] > 0;
		}
		floor_of(buf, g, PVX, COW, CHILD_MS, BSTAT_LE, 1.05);
		table(FLOOR105_FMT,
		      g->npt, g->cond, g->mb, thp_word(g->thp), buf, copy, nplain);
		if (g->npt != 0 || g->mb < 64)
			continue;
		floor_of(buf, g, COW, PVX, EXITS_PP, BSTAT_GE, 10);
		table("floor pvx >= 10x fewer exits than fork + COW, cell npt=0 %s %d MiB%s: %s",
		      g->cond, g->mb, thp_word(g->thp), buf);
		floor_of(buf, g, COW, PVX, CHILD_MS, BSTAT_GE, 2);
		table("floor pvx >= 2x faster than fork + COW, cell npt=0 %s %d MiB%s: %s",
		      g->cond, g->mb, thp_word(g->thp), buf);
	}
}

/* The tables of the THP policy @thp (-1: the kernel's): groups [@g, @g + @n). */
static void print_tables(int thp, const struct group *g, int n)
{
	bool any_thp = false, shadow64 = false;
	int i;

	if (thp >= 0)
		table("---- fork-copy with the L3 guest's transparent huge pages %s (%s)",
		      cfg.thp.v[thp], "PVX_BENCH_FORK_THP");
	if (strcmp(cfg.path, "auto"))
		table("---- the pvx variant with LIBPVX_FORK_PATH=%s (PVX_BENCH_FORK_PATH)",
		      cfg.path);
	time_table(g, n);
	kvm_table(g, n);
	for (i = 0; i < nr_runs; i++)
		any_thp |= runs[i].thp == thp && runs[i].child_thp_kb >= 0;
	if (any_thp)
		thp_table(g, n);
	table("%s", FLOORS_HEAD);
	issue10_floors(g, n);
	cell_floors(g, n);
	for (i = 0; i < n; i++)
		shadow64 |= g[i].npt == 0 && !strcmp(g[i].cond, "plain") && g[i].mb == 64;
	if (!shadow64)
		table("floor npt=0, 64 MiB%s: not measured (no npt=0 result)", thp_label(thp));
}

static void print_all_tables(void)
{
	int thp = cfg.thp.n ? 0 : -1, first, i = 0;

	make_groups();
	table_file = fopen(path_of("%s/bench-fork-table.txt", cfg.out), "w");
	do {
		for (first = i; i < nr_groups && groups[i].thp == thp; i++)
			;
		print_tables(thp, groups + first, i - first);
	} while (++thp < cfg.thp.n);
	if (table_file)
		fclose(table_file);
}

/* ---- the benchmark ------------------------------------------------------------------ */

/* The plan last; exit 0 when nothing failed. */
static __noreturn void finish(void)
{
	ksft_set_plan(ksft_test_num());
	ksft_print_cnts();
	exit(ksft_get_fail_cnt() ? KSFT_FAIL : KSFT_PASS);
}

/* The raw result lines, as "#" lines. */
static void print_results(void)
{
	char *text = read_text(path_of("%s/bench-fork-results.txt", cfg.out)), *line, *save = NULL;

	say("---- raw result lines (fork)");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		say("  %s", line);
	free(text);
}

/* The L3 guests of one kvm_amd setting, for each THP policy and case. */
static void bench_npt(const char *npt)
{
	const char *host = "host";
	const char *const *cpus = (const char *const *)&host;
	int ncpus = 1, thp = cfg.thp.n ? 0 : -1, k, c;

	if (!strcmp(npt, "0")) {
		if (tcg_hides_cr_reads()) {
			ksft_test_result_code(KSFT_SKIP, "fork bench npt=0",
					      "L2's QEMU %s (TCG) does not deliver the CR3/CR4 read intercepts shadow paging needs, so no L3 guest boots (Documentation/fork_copy.rst); run the lab with --l2-cpus 1 (Debian 12's QEMU 7.2)\n",
					      cfg.l2_qemu);
			return;
		}
		/*
		 * shadow paging: the L3 guest reset in early boot with -cpu
		 * host (Documentation/fork_copy.rst); the next CPU models
		 * are tried until one boots, and kept
		 */
		cpus = (const char *const *)cfg.shadow_cpus.v;
		ncpus = cfg.shadow_cpus.n;
	}
	do {
		for (k = 0; k < cfg.cases.n; k++) {
			for (c = 0; c < ncpus; c++) {
				if (!run_guest(npt, thp, cfg.cases.v[k], cpus[c]))
					continue;
				cpus += c;
				ncpus = 1;
				break;
			}
		}
	} while (++thp < cfg.thp.n);
}

int main(int argc, char **argv)
{
	int i;

	if (argc != 3) {
		fprintf(stderr, "usage: %s KERNEL INITRD (%s, PVX_BENCH=forkcopy)\n",
			argv[0], "scripts/bench-l2.sh");
		return 2;
	}
	read_config(argv);
	ksft_print_header();
	/* QEMU's -serial stdio must not read the suite's input */
	if (!freopen("/dev/null", "r", stdin))
		say("stdin: /dev/null: %s", strerror(errno));
	if (!path_exists(cfg.initrd)) {
		result(false, "fork bench: initramfs # no %s", cfg.initrd);
		finish();
	}
	if (!path_exists(cfg.kernel)) {
		result(false, "fork bench: L3 kernel # no %s", cfg.kernel);
		finish();
	}
	results = fopen(path_of("%s/bench-fork-results.txt", cfg.out), "w");
	if (!results)
		ksft_exit_fail_msg("%s/bench-fork-results.txt: %s\n", cfg.out, strerror(errno));
	for (i = 0; i < cfg.npt.n; i++)
		bench_npt(cfg.npt.v[i]);
	result(reload_kvm(NULL) && module_is_loaded("pvx_fork_copy"),
	       "fork bench: kvm_amd back with the lab's parameters");
	fclose(results);
	print_all_tables();
	print_results();
	finish();
}
