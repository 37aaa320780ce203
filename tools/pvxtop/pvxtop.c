// SPDX-License-Identifier: GPL-2.0
/*
 * pvxtop: what pvx decides, live, like top (Documentation/pvxtop.rst).
 *
 *   pvxtop [--json] [-d SECONDS] [-p PID] [-i SECONDS] [--host|--guest]
 *   pvxtop --advise [-d SECONDS] [--json] [-p PID] [--host|--guest]
 *
 * Loads pvxtop.bpf.c (through the skeleton bpftool generates), attaches
 * its tracepoint programs to pvx's and KVM's tracepoints, and every
 * interval reads the counts the programs keep in BPF maps. Host or guest
 * is taken from the pvx modules that are loaded. Programs are attached
 * through bpf_link file descriptors only (nothing is pinned), so they go
 * away with the process whatever ends it; the normal paths (end of -d,
 * SIGINT, SIGTERM, SIGHUP, a closed pipe, an error) also destroy them
 * explicitly before exit.
 *
 * --advise counts over one window (-d, default 10 s) and then says which
 * knob to turn, with the numbers behind it (Documentation/tuning.rst).
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* asm/svm.h's exit names use kvm.h's exception vectors */
#include <asm/kvm.h>
#include <asm/svm.h>
#include <asm/vmx.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pvxtop.h"
#include "advise_rules.h"
#include "pvxtop.skel.h"

#define KVM_ISA_VMX	1
#define KVM_ISA_SVM	2
#define MAX_CPUS	1024
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
/* --advise's window when -d is not given */
#define ADVISE_SECONDS	10.0

enum mode { MODE_HOST, MODE_GUEST, MODE_AUTO };

static struct {
	enum mode mode;		/* --host, --guest; else from /proc/modules */
	bool json;
	bool advise;		/* --advise: one window, then advice */
	double duration;	/* -d, 0: until interrupted */
	double interval;	/* -i, default 1 s */
	unsigned int pid;	/* -p, 0: every VM */
} opt = { .mode = MODE_AUTO, .interval = 1.0 };

static volatile sig_atomic_t stop;

/* JSON keys and table meaning of enum pvxtop_ctr. */
static const char * const ctr_names[PVXTOP_NR] = {
	[PVXTOP_HC_PROBE]	= "hc_probe",
	[PVXTOP_HC_YIELD]	= "hc_yield",
	[PVXTOP_HC_OTHER]	= "hc_other",
	[PVXTOP_HR_OK]		= "res_ok",
	[PVXTOP_HR_ENOSYS]	= "res_enosys",
	[PVXTOP_HR_EINVAL]	= "res_einval",
	[PVXTOP_HR_EOPNOTSUPP]	= "res_eopnotsupp",
	[PVXTOP_HR_ENOMEM]	= "res_enomem",
	[PVXTOP_HR_EOTHER]	= "res_eother",
	[PVXTOP_Y_DONE]		= "yield_done",
	[PVXTOP_Y_NOT_DONE]	= "yield_not_done",
	[PVXTOP_Y_RUNNING]	= "yield_target_running",
	[PVXTOP_Y_INVALID]	= "yield_invalid",
	[PVXTOP_Y_EOTHER]	= "yield_eother",
	[PVXTOP_KVM_EXITS]	= "kvm_exits",
	[PVXTOP_KVM_HC]		= "kvm_hypercalls",
	[PVXTOP_KVM_HC_PVX]	= "kvm_hypercalls_pvx",
	[PVXTOP_NUMA_HINTS]	= "numa_hints",
	[PVXTOP_NUMA_MOVED]	= "numa_moved",
	[PVXTOP_NUMA_WOULD_MOVE] = "numa_would_move",
	[PVXTOP_NUMA_FULL]	= "numa_full",
	[PVXTOP_FC_CALLS]	= "fc_calls",
	[PVXTOP_FC_PAGES]	= "fc_pages",
	[PVXTOP_FC_ERR]		= "fc_errors",
	[PVXTOP_KSM_HINTS]	= "ksm_hints",
	[PVXTOP_KSM_ERR]	= "ksm_errors",
	[PVXTOP_KSM_PINNED]	= "ksm_pinned",
	[PVXTOP_KSM_UNPINNED]	= "ksm_unpinned",
	[PVXTOP_G_HC_ISSUED]	= "hc_issued",
	[PVXTOP_G_HC_REFUSED]	= "hc_refused",
	[PVXTOP_G_HC_ERR]	= "hc_error",
	[PVXTOP_G_SPIN_YIELD]	= "spin_yields",
	[PVXTOP_G_SPIN_PREEMPTED] = "spin_preempted",
	[PVXTOP_G_SPIN_NEXT]	= "spin_next",
	[PVXTOP_G_SPIN_DONE]	= "spin_done",
	[PVXTOP_G_SPIN_NOT_DONE] = "spin_not_done",
	[PVXTOP_G_SPIN_RUNNING]	= "spin_target_running",
	[PVXTOP_G_SPIN_ERR]	= "spin_error",
	[PVXTOP_G_SPIN_THR_RUNNING] = "spin_threshold_target_running",
	[PVXTOP_G_SPIN_THR_DONE] = "spin_threshold_done",
	[PVXTOP_G_SPIN_HALT]	= "spin_halts",
	[PVXTOP_G_SPIN_KICK]	= "spin_kicks",
	[PVXTOP_G_SPIN_KICK_MISS] = "spin_kick_misses",
	[PVXTOP_G_TIMER_FIRE]	= "timer_fires",
	[PVXTOP_G_TIMER_CAP]	= "timer_cap",
	[PVXTOP_G_TIMER_REARM]	= "timer_rearms",
};

/* Which counters belong to which side. */
static const enum pvxtop_ctr host_first = PVXTOP_HC_PROBE;
static const enum pvxtop_ctr guest_first = PVXTOP_G_HC_ISSUED;

struct reason_name {
	unsigned int code;
	const char *name;
};

static const struct reason_name svm_reasons[] = { SVM_EXIT_REASONS };
static const struct reason_name vmx_reasons[] = { VMX_EXIT_REASONS };

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static struct pvxtop *skel;

/* One line on stderr, programs detached, exit 1. */
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("pvxtop: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pvxtop__destroy(skel);
	exit(1);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * No SA_RESTART: the sleep between two intervals returns early, so the
 * tool detaches at once. SIGPIPE is ignored: a closed pipe is seen as a
 * write error and ends the loop the same way.
 */
static void setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void __attribute__((noreturn)) usage(FILE *f, int status)
{
	fprintf(f,
		"usage: pvxtop [--json] [-d SECONDS] [-p PID] [-i SECONDS] [--host|--guest]\n"
		"       pvxtop --advise [-d SECONDS] [--json] [-p PID] [--host|--guest]\n"
		"  --json      one JSON object per line instead of the table\n"
		"  -d SECONDS  run that long, then print totals and exit\n"
		"  --advise    count for -d SECONDS (default 10), then say which knob to\n"
		"              turn, with the numbers behind it\n"
		"  -p PID      only the VM of that VMM process (host)\n"
		"  -i SECONDS  refresh interval (default 1)\n"
		"  --host, --guest  the side to watch when both pvx_host and\n"
		"              pvx_guest are loaded (a nested host)\n");
	exit(status);
}

static double parse_seconds(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v > 0) || v > 1e7)
		die("%s: '%s' is not a positive number of seconds", what, s);
	return v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "advise", no_argument, NULL, 'A' },
		{ "host", no_argument, NULL, 'H' },
		{ "guest", no_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool interval = false;
	char *end;
	long pid;
	int c;

	while ((c = getopt_long(argc, argv, "d:p:i:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt.json = true;
			break;
		case 'A':
			opt.advise = true;
			break;
		case 'H':
			opt.mode = MODE_HOST;
			break;
		case 'G':
			opt.mode = MODE_GUEST;
			break;
		case 'd':
			opt.duration = parse_seconds(optarg, "-d");
			break;
		case 'i':
			opt.interval = parse_seconds(optarg, "-i");
			interval = true;
			break;
		case 'p':
			pid = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || pid <= 0 || pid > 0x3fffffff)
				die("-p: '%s' is not a process id", optarg);
			opt.pid = pid;
			break;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 2);
		}
	}
	if (optind < argc)
		usage(stderr, 2);
	if (opt.advise && interval)
		die("-i: --advise counts over one window, set its length with -d");
	if (opt.advise && !opt.duration)
		opt.duration = ADVISE_SECONDS;
}

/* pvx_host or pvx_guest in /proc/modules; which one says the mode. */
static bool module_loaded(const char *name)
{
	char line[512];
	size_t n = strlen(name);
	bool found = false;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, name, n) && line[n] == ' ';
	fclose(f);
	return found;
}

static enum mode detect_mode(void)
{
	bool host = module_loaded("pvx_host");
	bool guest = module_loaded("pvx_guest");

	if (opt.mode == MODE_HOST && !host)
		die("--host: pvx_host is not loaded");
	if (opt.mode == MODE_GUEST && !guest)
		die("--guest: pvx_guest is not loaded");
	if (opt.mode != MODE_AUTO)
		return opt.mode;
	if (host && guest)
		die("both pvx_host and pvx_guest are loaded: say --host or --guest");
	if (!host && !guest)
		die("pvx is not loaded (neither pvx_host nor pvx_guest in /proc/modules)");
	return host ? MODE_HOST : MODE_GUEST;
}

/* --- tracepoint format files ------------------------------------------ */

static const char *const tracefs_roots[] = {
	"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
};

/* Open events/SYS/EVENT/format under whichever tracefs mount is there. */
static FILE *open_format(const char *event)
{
	char path[256];
	unsigned int i;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(tracefs_roots); i++) {
		snprintf(path, sizeof(path), "%s/events/%s/format",
			 tracefs_roots[i], event);
		f = fopen(path, "r");
		if (f)
			return f;
	}
	return NULL;
}

struct tp_field {
	const char *name;
	size_t offset, size;
};

#define FIELD(type, member) \
	{ #member, offsetof(type, member), sizeof(((type *)0)->member) }

/*
 * The format file has one line per field:
 *	field:unsigned int vcpu_id;	offset:56;	size:4;	signed:0;
 * Find @fld's line; 0 when offset and size match what pvxtop.h says.
 */
static int check_field(const char *event, FILE *f, const struct tp_field *fld)
{
	char line[512], *p, *semi;
	unsigned int off, size;
	size_t n = strlen(fld->name);

	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, "field:");
		semi = p ? strchr(p, ';') : NULL;
		if (!semi || (size_t)(semi - p) < n + 1 ||
		    strncmp(semi - n, fld->name, n) || semi[-n - 1] != ' ')
			continue;
		if (sscanf(semi + 1, " offset:%u; size:%u;", &off, &size) != 2)
			break;
		if (off == fld->offset && size == fld->size)
			return 0;
		die("tracepoint %s: field %s at offset %u size %u, pvxtop was built for offset %zu size %zu",
		    event, fld->name, off, size, fld->offset, fld->size);
	}
	die("tracepoint %s: no field %s in its format file", event, fld->name);
}

static const struct tp_field kvm_exit_fields[] = {
	FIELD(struct tp_kvm_exit, exit_reason), FIELD(struct tp_kvm_exit, isa),
	FIELD(struct tp_kvm_exit, vcpu_id), { NULL }
};

static const struct tp_field kvm_hypercall_fields[] = {
	FIELD(struct tp_kvm_hypercall, nr), { NULL }
};

/* --- programs --------------------------------------------------------- */

struct prog_desc {
	const char *event;		/* SYS/EVENT */
	enum mode mode;
	bool required;			/* else skipped when the event is absent */
	const struct tp_field *fields;	/* a plain tracepoint's, else NULL */
	struct bpf_program **prog;
	struct bpf_link **link;
	bool attach;			/* decided by select_progs() */
};

#define PROG(ev, m, req, flds, name) \
	{ ev, m, req, flds, &skel->progs.name, &skel->links.name, false }

static struct prog_desc progs[13];	/* as many as describe_progs() has */
static unsigned int nprogs;

static void describe_progs(void)
{
	const struct prog_desc p[] = {
		PROG("pvx/hypercall", MODE_HOST, true, NULL, pvx_hypercall),
		PROG("pvx/yield", MODE_HOST, false, NULL, pvx_yield),
		PROG("pvx/numa_hint", MODE_HOST, false, NULL, pvx_numa_hint),
		PROG("pvx/fork_copy", MODE_HOST, false, NULL, pvx_fork_copy),
		PROG("pvx/ksm_hint", MODE_HOST, false, NULL, pvx_ksm_hint),
		PROG("kvm/kvm_exit", MODE_HOST, true, kvm_exit_fields, kvm_exit),
		PROG("kvm/kvm_hypercall", MODE_HOST, true, kvm_hypercall_fields, kvm_hypercall),
		PROG("pvx/guest_hypercall", MODE_GUEST, true, NULL,
		     pvx_guest_hypercall),
		PROG("pvx/spin_yield", MODE_GUEST, false, NULL, pvx_spin_yield),
		PROG("pvx/spin_halt", MODE_GUEST, false, NULL, pvx_spin_halt),
		PROG("pvx/spin_kick", MODE_GUEST, false, NULL, pvx_spin_kick),
		PROG("pvx/stimer_fire", MODE_GUEST, false, NULL, pvx_stimer_fire),
		PROG("pvx/stimer_rearm", MODE_GUEST, false, NULL,
		     pvx_stimer_rearm),
	};

	static_assert(sizeof(p) == sizeof(progs), "progs[] has one entry per program");
	memcpy(progs, p, sizeof(p));
	nprogs = ARRAY_SIZE(p);
}

/*
 * Attach what this side has: pvx:yield exists only while pvx_yield is
 * loaded (pvx:numa_hint, pvx:fork_copy, pvx:ksm_hint likewise with their
 * modules), the guest's spin_* and stimer events only with theirs. A
 * module loaded after pvxtop started is not seen.
 */
static void select_progs(enum mode mode)
{
	const struct tp_field *fld;
	struct prog_desc *p;
	unsigned int i;
	FILE *f;

	for (i = 0; i < nprogs; i++) {
		p = &progs[i];
		p->attach = p->mode == mode;
		if (!p->attach)
			continue;
		f = open_format(p->event);
		if (!f) {
			if (p->required)
				die("tracepoint %s not found (tracefs not mounted, or no %s?)",
				    p->event, mode == MODE_HOST ? "kvm" : "pvx_guest");
			p->attach = false;
			continue;
		}
		for (fld = p->fields; fld && fld->name; fld++)
			check_field(p->event, f, fld);
		fclose(f);
	}
	for (i = 0; i < nprogs; i++)
		bpf_program__set_autoload(*progs[i].prog, progs[i].attach);
}

/* libbpf's own messages only with PVXTOP_DEBUG set: errors are ours. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !getenv("PVXTOP_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void load_and_attach(enum mode mode)
{
	struct prog_desc *p;
	unsigned int i;
	int err;

	skel = pvxtop__open();
	if (!skel)
		die("BPF unavailable: cannot open the BPF object: %s", strerror(errno));
	skel->rodata->target_tgid = mode == MODE_HOST ? opt.pid : 0;
	describe_progs();
	select_progs(mode);
	err = pvxtop__load(skel);
	if (err)
		die("BPF unavailable: loading the programs failed: %s%s", strerror(-err),
		    err == -EPERM ? " (CAP_BPF and CAP_PERFMON needed)" : "");
	for (i = 0; i < nprogs; i++) {
		p = &progs[i];
		if (!p->attach)
			continue;
		*p->link = bpf_program__attach(*p->prog);
		if (!*p->link)
			die("cannot attach to tracepoint %s: %s", p->event, strerror(errno));
	}
}

/* --- snapshots of the maps -------------------------------------------- */

struct row {
	struct pvxtop_key key;
	struct pvxtop_row v;
};

struct exit_row {
	struct pvxtop_exit_key key;
	__u64 n;
};

struct snapshot {
	struct row *rows;
	size_t nrows;
	struct exit_row *exits;
	size_t nexits;
	unsigned long long steal[MAX_CPUS], total[MAX_CPUS];	/* guest */
	struct timespec ts;
};

/*
 * Events a program did not count, from its recursion_misses. A raw
 * tracepoint program (pvx's events) is skipped only when it already runs
 * on that CPU: an interrupt (the timer expiries) during the same program.
 * A plain tracepoint program (KVM's) is skipped while any BPF runs on its
 * CPU, this tool's own map reads included; 6.12 counts those skips, 6.1
 * counts them nowhere (its trace_call_bpf() drops them silently), so on
 * 6.1 KVM's columns can be a few events short with nothing missed said.
 */
static __u64 prog_missed(const struct prog_desc *p)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	if (!p->attach)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(*p->prog), &info, &len))
		return 0;
	return info.recursion_misses;
}

static __u64 total_missed(void)
{
	__u64 n = 0;
	unsigned int i;

	for (i = 0; i < nprogs; i++)
		n += prog_missed(&progs[i]);
	return n;
}

/* The title's note when some events were not counted, else "". */
static const char *incomplete_note(char *buf, size_t len)
{
	__u64 missed = total_missed();

	if (skel->bss->dropped)
		snprintf(buf, len, "  (map full: some events not counted)");
	else if (missed)
		snprintf(buf, len, "  (%llu events missed: BPF busy on their CPU)",
			 (unsigned long long)missed);
	else
		buf[0] = 0;
	return buf;
}

/* The JSON end line: map-full drops, and misses per attached event. */
static void print_end_json(void)
{
	const char *sep = "";
	unsigned int i;

	printf("{\"type\":\"end\",\"dropped\":%llu,\"missed\":{",
	       (unsigned long long)skel->bss->dropped);
	for (i = 0; i < nprogs; i++) {
		if (!progs[i].attach)
			continue;
		printf("%s\"%s\":%llu", sep, progs[i].event,
		       (unsigned long long)prog_missed(&progs[i]));
		sep = ",";
	}
	printf("}}\n");
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

/*
 * Read a whole hash map. Keys appear while we walk it; one that is gone
 * by the lookup (never here: nothing deletes) is skipped.
 */
static size_t read_map(int fd, size_t ksz, size_t vsz, void **out)
{
	char key[sizeof(struct pvxtop_exit_key)], next[sizeof(key)];
	char *buf = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			buf = xrealloc(buf, cap * (ksz + vsz));
		}
		memcpy(buf + n * (ksz + vsz), next, ksz);
		if (!bpf_map_lookup_elem(fd, next, buf + n * (ksz + vsz) + ksz))
			n++;
		memcpy(key, next, ksz);
		prev = key;
	}
	*out = buf;
	return n;
}

/* Guest: steal and total jiffies per CPU from /proc/stat. */
static void read_steal(struct snapshot *s)
{
	unsigned long long v[8];
	char line[512];
	unsigned int cpu, i;
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu,
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 9 ||
		    cpu >= MAX_CPUS)
			continue;
		s->steal[cpu] = v[7];
		s->total[cpu] = 0;
		for (i = 0; i < 8; i++)
			s->total[cpu] += v[i];
	}
	fclose(f);
}

static void take_snapshot(struct snapshot *s, enum mode mode)
{
	void *p;

	clock_gettime(CLOCK_MONOTONIC, &s->ts);
	s->nrows = read_map(bpf_map__fd(skel->maps.rows), sizeof(struct pvxtop_key),
			    sizeof(struct pvxtop_row), &p);
	s->rows = p;
	s->nexits = read_map(bpf_map__fd(skel->maps.exits), sizeof(struct pvxtop_exit_key),
			     sizeof(__u64), &p);
	s->exits = p;
	if (mode == MODE_GUEST)
		read_steal(s);
}

static void free_snapshot(struct snapshot *s)
{
	free(s->rows);
	free(s->exits);
	s->rows = NULL;
	s->exits = NULL;
	s->nrows = 0;
	s->nexits = 0;
}

static const struct pvxtop_row *find_row(const struct snapshot *s, const struct pvxtop_key *k)
{
	size_t i;

	for (i = 0; i < s->nrows; i++)
		if (s->rows[i].key.tgid == k->tgid && s->rows[i].key.vcpu == k->vcpu)
			return &s->rows[i].v;
	return NULL;
}

static __u64 find_exit(const struct snapshot *s, const struct pvxtop_exit_key *k)
{
	size_t i;

	for (i = 0; i < s->nexits; i++)
		if (!memcmp(&s->exits[i].key, k, sizeof(*k)))
			return s->exits[i].n;
	return 0;
}

/* Counts of @cur minus @prev (NULL: since start). */
static void row_delta(const struct snapshot *cur, const struct snapshot *prev, size_t i,
		      struct pvxtop_row *d)
{
	const struct pvxtop_row *old = prev ? find_row(prev, &cur->rows[i].key) : NULL;
	unsigned int c;

	*d = cur->rows[i].v;
	for (c = 0; old && c < PVXTOP_NR; c++)
		d->c[c] -= old->c[c];
}

static bool row_active(const struct pvxtop_row *d)
{
	unsigned int c;

	for (c = 0; c < PVXTOP_NR; c++)
		if (d->c[c])
			return true;
	return false;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->key.tgid != y->key.tgid)
		return x->key.tgid < y->key.tgid ? -1 : 1;
	return (x->key.vcpu > y->key.vcpu) - (x->key.vcpu < y->key.vcpu);
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

/* --- names ------------------------------------------------------------ */

static const char *reason_name(__u32 isa, __u32 reason, char *buf, size_t len)
{
	const struct reason_name *t = isa == KVM_ISA_SVM ? svm_reasons : vmx_reasons;
	size_t n = isa == KVM_ISA_SVM ? ARRAY_SIZE(svm_reasons) : ARRAY_SIZE(vmx_reasons);
	size_t i;

	/* VMX keeps flags in the upper bits; the reason is the low 16 */
	if (isa == KVM_ISA_VMX)
		reason &= 0xffff;
	for (i = 0; i < n; i++)
		if (t[i].code == reason)
			return t[i].name;
	snprintf(buf, len, "0x%x", reason);
	return buf;
}

/*
 * Names of VMM processes, kept once seen so that a VM that exited keeps
 * its name; @thread (the name of the thread of the row's first event)
 * when the process was gone before the first read.
 */
static struct comm {
	__u32 pid;
	char name[32];
} *comms;
static size_t ncomms;

static const char *comm_of(__u32 pid, const char *thread)
{
	char path[64];
	struct comm *c;
	size_t i;
	FILE *f;

	for (i = 0; i < ncomms; i++)
		if (comms[i].pid == pid)
			return comms[i].name;
	comms = xrealloc(comms, (ncomms + 1) * sizeof(*comms));
	c = &comms[ncomms++];
	c->pid = pid;
	snprintf(c->name, sizeof(c->name), "%.15s", thread[0] ? thread : "?");
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(c->name, sizeof(c->name), f))
			c->name[strcspn(c->name, "\n")] = '\0';
		fclose(f);
	}
	return c->name;
}

/* --- JSON ------------------------------------------------------------- */

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* "exit_reasons":{"name":n,...} of one vCPU, counts since @prev */
static void json_exits(const struct snapshot *cur, const struct snapshot *prev,
		       const struct pvxtop_key *k)
{
	const char *sep = "";
	char buf[16];
	size_t i;
	__u64 n;

	printf(",\"exit_reasons\":{");
	for (i = 0; i < cur->nexits; i++) {
		const struct pvxtop_exit_key *ek = &cur->exits[i].key;

		if (ek->tgid != k->tgid || ek->vcpu != k->vcpu)
			continue;
		n = cur->exits[i].n - (prev ? find_exit(prev, ek) : 0);
		if (!n)
			continue;
		printf("%s", sep);
		json_string(reason_name(ek->isa, ek->reason, buf, sizeof(buf)));
		printf(":%llu", (unsigned long long)n);
		sep = ",";
	}
	putchar('}');
}

static double steal_pct(const struct snapshot *cur, const struct snapshot *prev, int cpu)
{
	unsigned long long dt, ds;

	if (cpu < 0 || cpu >= MAX_CPUS)
		return 0;
	dt = cur->total[cpu] - (prev ? prev->total[cpu] : 0);
	ds = cur->steal[cpu] - (prev ? prev->steal[cpu] : 0);
	return dt ? 100.0 * ds / dt : 0;
}

/*
 * One object per row that counted something: "interval" lines hold the
 * counts of one interval, "total" lines (at the end of -d) those since
 * pvxtop attached.
 */
static void print_json(const char *type, enum mode mode, const struct snapshot *cur,
		       const struct snapshot *prev, double secs)
{
	unsigned int c, first = mode == MODE_HOST ? host_first : guest_first;
	unsigned int last = mode == MODE_HOST ? guest_first : PVXTOP_NR;
	struct timespec now;
	struct pvxtop_row d;
	size_t i;

	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < cur->nrows; i++) {
		const struct pvxtop_key *k = &cur->rows[i].key;

		row_delta(cur, prev, i, &d);
		if (!row_active(&d))
			continue;
		printf("{\"type\":\"%s\",\"time\":%lld.%03ld,\"seconds\":%.3f",
		       type, (long long)now.tv_sec, now.tv_nsec / 1000000, secs);
		if (mode == MODE_HOST) {
			printf(",\"pid\":%u,\"comm\":", k->tgid);
			json_string(comm_of(k->tgid, cur->rows[i].v.comm));
			printf(",\"vm_id\":%llu,\"vcpu\":%d", (unsigned long long)d.vm_id,
			       k->vcpu);
		} else {
			printf(",\"cpu\":%d,\"steal_pct\":%.1f", k->vcpu,
			       steal_pct(cur, prev, k->vcpu));
		}
		for (c = first; c < last; c++)
			printf(",\"%s\":%llu", ctr_names[c], (unsigned long long)d.c[c]);
		if (mode == MODE_HOST)
			json_exits(cur, prev, k);
		printf("}\n");
	}
}

/* --- table ------------------------------------------------------------ */

static __u64 hc_calls(const struct pvxtop_row *d)
{
	return d->c[PVXTOP_HC_PROBE] + d->c[PVXTOP_HC_YIELD] + d->c[PVXTOP_HC_OTHER];
}

static __u64 hc_errors(const struct pvxtop_row *d)
{
	return d->c[PVXTOP_HR_EINVAL] + d->c[PVXTOP_HR_EOPNOTSUPP] +
	       d->c[PVXTOP_HR_ENOMEM] + d->c[PVXTOP_HR_EOTHER];
}

/* NUMA moves: done (mode act) or that act would have done (observe) */
static __u64 numa_moves(const struct pvxtop_row *d)
{
	return d->c[PVXTOP_NUMA_MOVED] + d->c[PVXTOP_NUMA_WOULD_MOVE];
}

/* The three most frequent exit reasons of a vCPU in this interval. */
static void top_exits(const struct snapshot *cur, const struct snapshot *prev,
		      const struct pvxtop_key *k, double secs)
{
	struct { __u64 n; size_t i; } top[3] = { 0 };
	char buf[16];
	unsigned int j, m;
	size_t i;
	__u64 n;

	for (i = 0; i < cur->nexits; i++) {
		const struct pvxtop_exit_key *ek = &cur->exits[i].key;

		if (ek->tgid != k->tgid || ek->vcpu != k->vcpu)
			continue;
		n = cur->exits[i].n - (prev ? find_exit(prev, ek) : 0);
		for (j = 0; j < 3 && n <= top[j].n; j++)
			;
		if (j == 3)
			continue;
		for (m = 2; m > j; m--)
			top[m] = top[m - 1];
		top[j].n = n;
		top[j].i = i;
	}
	for (j = 0; j < 3 && top[j].n; j++) {
		const struct pvxtop_exit_key *ek = &cur->exits[top[j].i].key;

		printf(" %s:%.0f", reason_name(ek->isa, ek->reason, buf, sizeof(buf)),
		       top[j].n / secs);
	}
}

static void host_line(const char *pid, const char *comm, const char *vm, const char *vcpu,
		      const struct pvxtop_row *d, double secs)
{
	printf("%7s %-15.15s %4s %4s %7.0f %6.0f %6.0f %6.0f %6.0f %5.0f %5.0f %5.0f %5.0f %5.0f",
	       pid, comm, vm, vcpu, hc_calls(d) / secs, d->c[PVXTOP_HC_PROBE] / secs,
	       d->c[PVXTOP_HC_YIELD] / secs, d->c[PVXTOP_HC_OTHER] / secs,
	       d->c[PVXTOP_HR_ENOSYS] / secs, hc_errors(d) / secs,
	       d->c[PVXTOP_Y_DONE] / secs, d->c[PVXTOP_Y_NOT_DONE] / secs,
	       d->c[PVXTOP_Y_RUNNING] / secs,
	       (d->c[PVXTOP_Y_INVALID] + d->c[PVXTOP_Y_EOTHER]) / secs);
	printf(" %5.0f %5.1f %5.1f", d->c[PVXTOP_NUMA_HINTS] / secs, numa_moves(d) / secs,
	       d->c[PVXTOP_NUMA_FULL] / secs);
	printf(" %6.0f %5.0f %6.0f %6.0f %6.0f %6.0f", d->c[PVXTOP_FC_PAGES] / secs,
	       d->c[PVXTOP_FC_ERR] / secs, d->c[PVXTOP_KSM_HINTS] / secs,
	       d->c[PVXTOP_KSM_ERR] / secs, d->c[PVXTOP_KSM_PINNED] / secs,
	       d->c[PVXTOP_KSM_UNPINNED] / secs);
	printf(" %8.0f %7.0f", d->c[PVXTOP_KVM_EXITS] / secs, d->c[PVXTOP_KVM_HC] / secs);
}

/* The vCPU rows of one VM (sorted rows [from, to)), after its summary row. */
static void host_vm(const struct snapshot *cur, const struct snapshot *prev,
		    size_t from, size_t to, double secs)
{
	struct pvxtop_row d, sum = { 0 };
	char pid[16], vm[24], vcpu[16];
	unsigned int c;
	size_t i;

	for (i = from; i < to; i++) {
		row_delta(cur, prev, i, &d);
		for (c = 0; c < PVXTOP_NR; c++)
			sum.c[c] += d.c[c];
		if (d.vm_id)
			sum.vm_id = d.vm_id;
	}
	if (!row_active(&sum))
		return;
	snprintf(pid, sizeof(pid), "%u", cur->rows[from].key.tgid);
	snprintf(vm, sizeof(vm), sum.vm_id ? "%llu" : "-", (unsigned long long)sum.vm_id);
	host_line(pid, comm_of(cur->rows[from].key.tgid, cur->rows[from].v.comm), vm, "all",
		  &sum, secs);
	putchar('\n');
	for (i = from; i < to; i++) {
		row_delta(cur, prev, i, &d);
		if (!row_active(&d))
			continue;
		if (cur->rows[i].key.vcpu < 0)
			snprintf(vcpu, sizeof(vcpu), "?");
		else
			snprintf(vcpu, sizeof(vcpu), "%d", cur->rows[i].key.vcpu);
		host_line("", "", "", vcpu, &d, secs);
		top_exits(cur, prev, &cur->rows[i].key, secs);
		putchar('\n');
	}
}

static void host_table(const struct snapshot *cur, const struct snapshot *prev, double secs)
{
	size_t i, from;

	printf("%7s %-15s %4s %4s %7s %6s %6s %6s %6s %5s %5s %5s %5s %5s %5s %5s %5s",
	       "PID", "COMM", "VM", "VCPU", "HC/s", "PROBE", "YIELD", "OTHER", "ENOSYS",
	       "ERR", "YDONE", "YNOTD", "YRUN", "YERR", "NHINT", "NMOVE", "NFULL");
	printf(" %6s %5s %6s %6s %6s %6s %8s %7s %s\n", "FCPG/s", "FCERR", "KSMH/s",
	       "KSMERR", "KSMPIN", "KSMUNP", "EXITS/s", "KVMHC/s", "TOP EXITS/s");
	for (from = 0; from < cur->nrows; from = i) {
		for (i = from; i < cur->nrows &&
		     cur->rows[i].key.tgid == cur->rows[from].key.tgid; i++)
			;
		host_vm(cur, prev, from, i, secs);
	}
}

static void guest_table(const struct snapshot *cur, const struct snapshot *prev, double secs)
{
	struct pvxtop_row d;
	size_t i;

	printf("%4s %7s %7s %6s %7s %7s %6s %6s %6s %6s %6s %6s %6s %6s %7s %6s %7s %6s\n",
	       "CPU", "HC/s", "REFUSD", "HCERR", "SPINY/s", "PREEMPT", "NEXT", "YDONE",
	       "YNOTD", "YRUN", "YERR", "HALT/s", "KICK/s", "KMISS", "TFIRE/s", "TCAP",
	       "REARM/s", "STEAL%");
	for (i = 0; i < cur->nrows; i++) {
		row_delta(cur, prev, i, &d);
		if (!row_active(&d))
			continue;
		printf("%4d %7.0f %7.0f %6.0f %7.0f %7.0f %6.0f %6.0f %6.0f %6.0f %6.0f",
		       cur->rows[i].key.vcpu, d.c[PVXTOP_G_HC_ISSUED] / secs,
		       d.c[PVXTOP_G_HC_REFUSED] / secs, d.c[PVXTOP_G_HC_ERR] / secs,
		       d.c[PVXTOP_G_SPIN_YIELD] / secs, d.c[PVXTOP_G_SPIN_PREEMPTED] / secs,
		       d.c[PVXTOP_G_SPIN_NEXT] / secs, d.c[PVXTOP_G_SPIN_DONE] / secs,
		       d.c[PVXTOP_G_SPIN_NOT_DONE] / secs, d.c[PVXTOP_G_SPIN_RUNNING] / secs,
		       d.c[PVXTOP_G_SPIN_ERR] / secs);
		printf(" %6.0f %6.0f %6.0f", d.c[PVXTOP_G_SPIN_HALT] / secs,
		       d.c[PVXTOP_G_SPIN_KICK] / secs, d.c[PVXTOP_G_SPIN_KICK_MISS] / secs);
		printf(" %7.0f %6.0f %7.0f %6.1f\n", d.c[PVXTOP_G_TIMER_FIRE] / secs,
		       d.c[PVXTOP_G_TIMER_CAP] / secs, d.c[PVXTOP_G_TIMER_REARM] / secs,
		       steal_pct(cur, prev, cur->rows[i].key.vcpu));
	}
}

static void print_table(const char *title, enum mode mode, const struct snapshot *cur,
			const struct snapshot *prev, double secs)
{
	char when[32], note[64];
	time_t t = time(NULL);

	/* like top: redraw in place on a terminal, blocks in a pipe */
	if (isatty(STDOUT_FILENO))
		printf("\033[H\033[2J");
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
	printf("pvxtop %s  %s  %s over %.2f s, per second%s\n", when,
	       mode == MODE_HOST ? "host" : "guest", title, secs,
	       incomplete_note(note, sizeof(note)));
	if (mode == MODE_HOST)
		host_table(cur, prev, secs);
	else
		guest_table(cur, prev, secs);
	putchar('\n');
}

static void report(const char *what, enum mode mode, struct snapshot *cur,
		   const struct snapshot *prev)
{
	double secs = seconds_between(prev ? &prev->ts : &cur->ts, &cur->ts);

	qsort(cur->rows, cur->nrows, sizeof(cur->rows[0]), cmp_rows);
	if (opt.json)
		print_json(what, mode, cur, prev, secs);
	else
		print_table(what, mode, cur, prev, secs > 0 ? secs : 1);
	if (fflush(stdout) || ferror(stdout))
		stop = 1;	/* reader gone (EPIPE): detach and leave */
}

/* Sleep until @deadline or a signal. */
static void sleep_until(const struct timespec *deadline)
{
	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline, NULL) == EINTR)
		;
}

static struct timespec ts_add(struct timespec t, double secs)
{
	long long ns = t.tv_nsec + (long long)(secs * 1e9);

	t.tv_sec += ns / 1000000000;
	t.tv_nsec = ns % 1000000000;
	return t;
}

static void run(enum mode mode)
{
	struct snapshot start = { 0 }, prev = { 0 }, cur = { 0 };
	struct timespec end, next;
	unsigned int k;
	bool last;

	take_snapshot(&start, mode);
	take_snapshot(&prev, mode);
	if (opt.json) {
		printf("{\"type\":\"start\",\"mode\":\"%s\",\"pid\":%u}\n",
		       mode == MODE_HOST ? "host" : "guest", opt.pid);
		fflush(stdout);
	}
	end = ts_add(start.ts, opt.duration);
	/*
	 * The last snapshot is one begun after the signal: one that was
	 * under way when it came may have read a CPU's row before events
	 * that the signaller saw counted.
	 */
	for (k = 1, last = false; !last; k++) {
		next = ts_add(start.ts, k * opt.interval);
		if (opt.duration && seconds_between(&end, &next) > 0)
			next = end;
		sleep_until(&next);
		last = stop;
		take_snapshot(&cur, mode);
		report("interval", mode, &cur, &prev);
		free_snapshot(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
		if (opt.duration && seconds_between(&end, &prev.ts) >= 0)
			last = true;
	}
	/* totals since the start line, also after a signal */
	if (opt.json || opt.duration)
		report("total", mode, &prev, &start);
	if (opt.json)
		print_end_json();
	free_snapshot(&prev);
	free_snapshot(&start);
}

/* --- --advise ---------------------------------------------------------- */

/*
 * The rules. Each judges one knob on the counts of one window, and only
 * on a sample of at least its minimum: a share of a handful of events is
 * noise. Documentation/tuning.rst says why each threshold is where it is.
 * The guest's are in advise_rules.h, which the lab's check of this
 * advice applies too.
 */
#define SPIN_SLOW_PATHS		"/sys/kernel/pvx/spinlock/slow_paths"
#define NUMA_MIN_HINTS		10	/* hints of all vCPUs */
#define NUMA_MIN_MOVES		3	/* moves of the busiest vCPU ... */
#define NUMA_MOVES_PER_MIN	6	/* ... and per minute */
#define NUMA_STEP_PCT		25ull	/* hysteresis_pct: at least this much more */
#define HYSTERESIS_MAX		1000ull	/* host/numa.c's bound */

/* V_NO_ROOM: not a knob's value; the administrator's CPUs or memory */
enum verdict { V_CHANGE, V_NONE, V_TOO_FEW, V_NOT_JUDGED, V_NO_ROOM };

static const char * const verdict_names[] = {
	[V_CHANGE] = "change", [V_NONE] = "none",
	[V_TOO_FEW] = "too_few", [V_NOT_JUDGED] = "not_judged",
	[V_NO_ROOM] = "no_room",
};

#define MAX_NUMBERS	8

struct advice {
	const char *module, *knob;
	char current[32];		/* as /sys/module says it */
	enum verdict verdict;
	const char *direction;		/* V_CHANGE: "raise" or "lower" */
	unsigned long long suggested;	/* V_CHANGE */
	char why[640];			/* the numbers, in words */
	unsigned int nnum;
	struct { const char *name; double v; } num[MAX_NUMBERS];
};

static void advice_init(struct advice *a, const char *module, const char *knob)
{
	memset(a, 0, sizeof(*a));
	a->module = module;
	a->knob = knob;
	a->verdict = V_NOT_JUDGED;
}

static void advice_why(struct advice *a, enum verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void advice_why(struct advice *a, enum verdict v, const char *fmt, ...)
{
	va_list ap;

	a->verdict = v;
	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
}

/* A number behind the advice, for --json ("numbers"). */
static void advice_num(struct advice *a, const char *name, double v)
{
	if (a->nnum < MAX_NUMBERS) {
		a->num[a->nnum].name = name;
		a->num[a->nnum].v = v;
		a->nnum++;
	}
}

/* A change, unless the knob is already at the end it would move towards. */
static void advice_change(struct advice *a, const char *direction, unsigned long long cur,
			  unsigned long long to)
{
	size_t n = strlen(a->why);

	if (to == cur) {
		a->verdict = V_NONE;
		snprintf(a->why + n, sizeof(a->why) - n, "; %s is already at its %s",
			 a->knob, strcmp(direction, "raise") ? "minimum" : "maximum");
		return;
	}
	a->verdict = V_CHANGE;
	a->direction = direction;
	a->suggested = to;
}

/* First line of a sysfs file, without its newline; false when unreadable. */
static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = !!fgets(buf, len, f);
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ok && buf[0];
}

/*
 * The knob's value now, from /sys/module/MOD/parameters/KNOB; false (and
 * the advice says why it is not judged) when the module is not loaded.
 */
static bool knob_value(struct advice *a, unsigned long long *v)
{
	char path[160], *end;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", a->module, a->knob);
	if (!module_loaded(a->module) || !read_line(path, a->current, sizeof(a->current))) {
		advice_why(a, V_NOT_JUDGED, "%s is not loaded", a->module);
		return false;
	}
	*v = strtoull(a->current, &end, 0);
	if (*end) {
		advice_why(a, V_NOT_JUDGED, "cannot read %s", path);
		return false;
	}
	return true;
}

/* Whether pvxtop attached to @event (its module was loaded at start). */
static bool attached(const char *event)
{
	unsigned int i;

	for (i = 0; i < nprogs; i++)
		if (!strcmp(progs[i].event, event))
			return progs[i].attach;
	return false;
}

/* Too few @what (@n of @min) to judge: the advice says so. */
static bool too_few(struct advice *a, __u64 n, unsigned int min, const char *what)
{
	if (n >= min)
		return false;
	advice_why(a, V_TOO_FEW, "%llu %s in the window (a rule needs %u)",
		   (unsigned long long)n, what, min);
	return true;
}

static double pct(__u64 part, __u64 whole)
{
	return whole ? 100.0 * part / whole : 0;
}

/*
 * spin_threshold: how long a waiter spins before it yields to a holder
 * whose vCPU it does not see preempted. Such a yield is a VM exit. The
 * threshold is too short when the host answers most of them "target
 * running" (the holder was making progress: the exit bought nothing), or
 * when there is one for every 4 slow paths or more (the threshold sits
 * inside the waits the workload has, not in their tail where unseen
 * preemption is: the waits pay exits, however the host answers). Never
 * lowered: the share of threshold yields the host granted was about half
 * at 16384 and at 64 alike in the lab, and 64 made 38 to 195 times fewer
 * acquisitions a second (tuning.rst).
 */
static void advise_spin(const struct pvxtop_row *t, __u64 slow_paths, struct advice *a)
{
	__u64 yields = t->c[PVXTOP_G_SPIN_YIELD];
	__u64 thr = yields - t->c[PVXTOP_G_SPIN_PREEMPTED];
	__u64 running = t->c[PVXTOP_G_SPIN_THR_RUNNING];
	__u64 done = t->c[PVXTOP_G_SPIN_THR_DONE];
	unsigned long long cur;
	char mode[32];

	advice_init(a, "pvx_spinlock", "spin_threshold");
	if (!knob_value(a, &cur))
		return;
	if (!read_line("/sys/kernel/pvx/spinlock/mode", mode, sizeof(mode)) ||
	    strcmp(mode, "pvx-yield") || !attached("pvx/spin_yield")) {
		advice_why(a, V_NOT_JUDGED,
			   "spinlock mode %s: only pvx-yield's answers say whether the holder ran",
			   mode[0] ? mode : "unknown");
		return;
	}
	advice_num(a, "yields", yields);
	advice_num(a, "threshold_yields", thr);
	advice_num(a, "target_running", running);
	advice_num(a, "done", done);
	advice_num(a, "slow_paths", slow_paths);
	if (too_few(a, thr, SPIN_MIN_YIELDS, "yields made on the spin threshold"))
		return;
	advice_why(a, V_NONE,
		   "%llu yields made on the spin threshold in %llu slow paths (%.2f each); the host found the holder running in %llu (%.0f%%), preempted in %llu (%.0f%%); rules: >= %d%% running or >= 1 per %d slow paths raises",
		   (unsigned long long)thr, (unsigned long long)slow_paths,
		   slow_paths ? (double)thr / slow_paths : 0, (unsigned long long)running,
		   pct(running, thr), (unsigned long long)done, pct(done, thr), SPIN_SHARE_PCT,
		   SPIN_SLOW_PER_YIELD);
	if (spin_rule_raises(thr, running, slow_paths))
		advice_change(a, "raise", cur, spin_rule_raise_to(cur));
}

/* A sysfs counter, 0 when unreadable (the module is not loaded). */
static __u64 read_counter(const char *path)
{
	char buf[32];

	return read_line(path, buf, sizeof(buf)) ? strtoull(buf, NULL, 10) : 0;
}

/*
 * cap_factor: the wall-clock cap of a steal-corrected timer, in multiples
 * of its request. A timer that fires on the cap fired before its
 * effective time was served: the steal correction was cut short. When
 * that is a large share of the expiries, the cap is too tight for the
 * steal this guest gets.
 */
static void advise_cap(const struct pvxtop_row *t, struct advice *a)
{
	__u64 fires = t->c[PVXTOP_G_TIMER_FIRE], cap = t->c[PVXTOP_G_TIMER_CAP];
	unsigned long long cur;

	advice_init(a, "pvx_stimer", "cap_factor");
	if (!knob_value(a, &cur))
		return;
	if (!attached("pvx/stimer_fire")) {
		advice_why(a, V_NOT_JUDGED, "pvx_stimer was loaded after pvxtop started");
		return;
	}
	advice_num(a, "fires", fires);
	advice_num(a, "cap", cap);
	advice_num(a, "rearms", t->c[PVXTOP_G_TIMER_REARM]);
	if (too_few(a, fires, CAP_MIN_FIRES, "timer expiries"))
		return;
	advice_why(a, V_NONE,
		   "%llu of %llu timer expiries on the cap (%.0f%%), %llu re-arms for steal; rule: >= %d%% on the cap raises",
		   (unsigned long long)cap, (unsigned long long)fires, pct(cap, fires),
		   (unsigned long long)t->c[PVXTOP_G_TIMER_REARM], CAP_SHARE_PCT);
	if (cap_rule_raises(fires, cap))
		advice_change(a, "raise", cur, cap_rule_raise_to(cur));
}

/* One count of pvx:numa_hint over the window's rows (all VMs). */
struct numa_tally {
	__u64 hints;		/* every hint */
	__u64 n;		/* the count, all vCPUs */
	__u64 most;		/* ... of the vCPU with the most */
	unsigned int vcpus;	/* vCPUs with any */
	int vcpu;		/* the one with the most, -1: none */
};

static void numa_tally(const struct snapshot *cur, const struct snapshot *prev,
		       __u64 (*count)(const struct pvxtop_row *), struct numa_tally *t)
{
	struct pvxtop_row d;
	size_t i;
	__u64 n;

	memset(t, 0, sizeof(*t));
	t->vcpu = -1;
	for (i = 0; i < cur->nrows; i++) {
		row_delta(cur, prev, i, &d);
		n = count(&d);
		t->hints += d.c[PVXTOP_NUMA_HINTS];
		t->n += n;
		t->vcpus += n > 0;
		if (n > t->most) {
			t->most = n;
			t->vcpu = cur->rows[i].key.vcpu;
		}
	}
}

/*
 * hysteresis_pct: how much more of a vCPU's memory another node must hold
 * before the vCPU changes home. A vCPU that keeps moving pays a migration
 * and a cold cache each time for a locality that does not last: its
 * memory is spread about evenly, and the hysteresis should say "stay".
 * Judged on the vCPU that moved most (moves of mode observe count too:
 * they are the moves act would make).
 */
static void advise_numa(const struct snapshot *cur, const struct snapshot *prev,
			double secs, struct advice *a)
{
	unsigned long long val, to;
	struct numa_tally t;
	double per_min;

	advice_init(a, "pvx_numa", "hysteresis_pct");
	if (!knob_value(a, &val))
		return;
	if (!attached("pvx/numa_hint")) {
		advice_why(a, V_NOT_JUDGED, "pvx_numa was loaded after pvxtop started");
		return;
	}
	numa_tally(cur, prev, numa_moves, &t);
	per_min = secs > 0 ? t.most * 60 / secs : 0;
	advice_num(a, "hints", t.hints);
	advice_num(a, "moves", t.n);
	advice_num(a, "vcpus_moved", t.vcpus);
	advice_num(a, "max_vcpu_moves", t.most);
	advice_num(a, "max_vcpu_moves_per_min", per_min);
	if (too_few(a, t.hints, NUMA_MIN_HINTS, "NUMA hints"))
		return;
	advice_why(a, V_NONE,
		   "%llu hints, %llu moves of %u vCPUs; the most, vCPU %d: %llu moves, %.1f per minute; rule: >= %d moves and >= %d per minute raises",
		   (unsigned long long)t.hints, (unsigned long long)t.n, t.vcpus, t.vcpu,
		   (unsigned long long)t.most, per_min, NUMA_MIN_MOVES, NUMA_MOVES_PER_MIN);
	if (t.most >= NUMA_MIN_MOVES && per_min >= NUMA_MOVES_PER_MIN) {
		to = val * 2 > val + NUMA_STEP_PCT ? val * 2 : val + NUMA_STEP_PCT;
		advice_change(a, "raise", val, to < HYSTERESIS_MAX ? to : HYSTERESIS_MAX);
	}
}

#define NUMA_MODE	"/sys/module/pvx_numa/parameters/mode"

/*
 * Room (host/numa.c): in mode act, a vCPU whose home node's CPUs (those
 * its thread may use) all hold vCPU threads of its VM that pvx put there
 * stays where it is (pvx:numa_hint action full) and runs on remote
 * memory rather than share a CPU. No knob of pvx_numa changes that: the
 * node has too few CPUs for the vCPUs whose memory is there, and only
 * the administrator can give it more (the VM's CPUs) or put less there
 * (the VM's memory). Said whenever any hint of the window was full.
 */
static __u64 numa_full(const struct pvxtop_row *d)
{
	return d->c[PVXTOP_NUMA_FULL];
}

static void advise_room(const struct snapshot *cur, const struct snapshot *prev,
			struct advice *a)
{
	struct numa_tally t;

	advice_init(a, "pvx_numa", "mode");
	if (!module_loaded("pvx_numa") || !read_line(NUMA_MODE, a->current, sizeof(a->current))) {
		advice_why(a, V_NOT_JUDGED, "pvx_numa is not loaded");
		return;
	}
	if (!attached("pvx/numa_hint")) {
		advice_why(a, V_NOT_JUDGED, "pvx_numa was loaded after pvxtop started");
		return;
	}
	numa_tally(cur, prev, numa_full, &t);
	advice_num(a, "hints", t.hints);
	advice_num(a, "full", t.n);
	advice_num(a, "vcpus_full", t.vcpus);
	advice_num(a, "max_vcpu_full", t.most);
	if (!t.n && too_few(a, t.hints, NUMA_MIN_HINTS, "NUMA hints"))
		return;
	if (!t.n) {
		advice_why(a, V_NONE, "%llu hints, none left a vCPU in place for lack of room",
			   (unsigned long long)t.hints);
		return;
	}
	advice_why(a, V_NO_ROOM,
		   "%u vCPU(s) left in place for lack of room in %llu of %llu hints (the most, vCPU %d: %llu): the CPUs of their home node that their threads may use all run vCPUs of their VM that pvx put there, so they run on remote memory instead of sharing a CPU; to place them, give the VM's vCPU threads more CPUs of that node (cpuset, affinity), or spread the VM's memory over the nodes (the VMM's memory policy); leaving it is safe",
		   t.vcpus, (unsigned long long)t.n, (unsigned long long)t.hints, t.vcpu,
		   (unsigned long long)t.most);
}

static void print_advice_text(const struct advice *a)
{
	switch (a->verdict) {
	case V_CHANGE:
		printf("advice: %s %s %s from %s to %llu: %s\n", a->direction, a->module,
		       a->knob, a->current, a->suggested, a->why);
		break;
	case V_NONE:
		printf("no change advised: %s %s %s: %s\n", a->module, a->knob, a->current,
		       a->why);
		break;
	case V_TOO_FEW:
		printf("too few events to judge: %s %s %s: %s\n", a->module, a->knob,
		       a->current, a->why);
		break;
	case V_NOT_JUDGED:
		printf("not judged: %s %s: %s\n", a->module, a->knob, a->why);
		break;
	case V_NO_ROOM:
		printf("advice: %s %s %s: vCPUs left in place for lack of room: %s\n",
		       a->module, a->knob, a->current, a->why);
		break;
	}
}

static void print_advice_json(const struct advice *a, double secs)
{
	unsigned int i;

	printf("{\"type\":\"advice\",\"seconds\":%.3f", secs);
	printf(",\"module\":\"%s\",\"knob\":\"%s\",\"current\":", a->module, a->knob);
	json_string(a->current);
	printf(",\"verdict\":\"%s\"", verdict_names[a->verdict]);
	if (a->verdict == V_CHANGE)
		printf(",\"direction\":\"%s\",\"suggested\":%llu", a->direction, a->suggested);
	printf(",\"numbers\":{");
	for (i = 0; i < a->nnum; i++)
		printf("%s\"%s\":%.10g", i ? "," : "", a->num[i].name, a->num[i].v);
	printf("},\"why\":");
	json_string(a->why);
	printf("}\n");
}

/* The counts of every row of the window, added up (guest: all CPUs). */
static void sum_rows(const struct snapshot *cur, const struct snapshot *prev,
		     struct pvxtop_row *sum)
{
	struct pvxtop_row d;
	unsigned int c;
	size_t i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < cur->nrows; i++) {
		row_delta(cur, prev, i, &d);
		for (c = 0; c < PVXTOP_NR; c++)
			sum->c[c] += d.c[c];
	}
}

/*
 * One window from the start snapshot to the end of -d (or a signal),
 * then one advice per knob of this side.
 */
static void run_advise(enum mode mode)
{
	struct snapshot start = { 0 }, end = { 0 };
	struct advice adv[2];
	struct timespec deadline;
	struct pvxtop_row sum;
	unsigned int n = 0, i;
	__u64 slow_paths;
	char when[32], note[64];
	time_t t;
	double secs;

	take_snapshot(&start, mode);
	slow_paths = read_counter(SPIN_SLOW_PATHS);
	if (opt.json) {
		printf("{\"type\":\"start\",\"mode\":\"%s\",\"pid\":%u",
		       mode == MODE_HOST ? "host" : "guest", opt.pid);
		printf(",\"advise\":true,\"seconds\":%.3f}\n", opt.duration);
		fflush(stdout);
	}
	deadline = ts_add(start.ts, opt.duration);
	sleep_until(&deadline);
	take_snapshot(&end, mode);
	slow_paths = read_counter(SPIN_SLOW_PATHS) - slow_paths;
	secs = seconds_between(&start.ts, &end.ts);
	if (mode == MODE_HOST) {
		advise_numa(&end, &start, secs, &adv[n++]);
		advise_room(&end, &start, &adv[n++]);
	} else {
		sum_rows(&end, &start, &sum);
		advise_spin(&sum, slow_paths, &adv[n++]);
		advise_cap(&sum, &adv[n++]);
	}
	if (!opt.json) {
		t = time(NULL);
		strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
		printf("pvxtop --advise %s  %s  counted over %.1f s%s\n", when,
		       mode == MODE_HOST ? "host" : "guest", secs,
		       incomplete_note(note, sizeof(note)));
	}
	for (i = 0; i < n; i++) {
		if (opt.json)
			print_advice_json(&adv[i], secs);
		else
			print_advice_text(&adv[i]);
	}
	if (opt.json)
		print_end_json();
	fflush(stdout);
	free_snapshot(&end);
	free_snapshot(&start);
}

int main(int argc, char **argv)
{
	enum mode mode;

	parse_args(argc, argv);
	if (geteuid() != 0)
		die("must run as root (it loads BPF programs and reads tracefs)");
	mode = detect_mode();
	if (mode == MODE_GUEST && opt.pid)
		die("-p PID selects a VM on the host; a guest's rows are its CPUs");
	libbpf_set_print(libbpf_print);
	setup_signals();
	load_and_attach(mode);
	if (opt.advise)
		run_advise(mode);
	else
		run(mode);
	pvxtop__destroy(skel);
	return 0;
}
