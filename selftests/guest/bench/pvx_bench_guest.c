// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_bench_guest: /init of the L3 bench guest (its initramfs:
 * mkinitrd-bench.sh; booted by make bench's L2 drivers,
 * selftests/host/pvx_bench_*.c). Runs one benchmark, chosen on the
 * kernel command line, and prints its results between the console lines
 * PVX-BENCH-BEGIN and PVX-BENCH-END, then powers the guest off:
 *
 *   bench lock=... / bench-round ...   kernel locks (pvx_lock_bench.ko)
 *   ubench mode=...                    userspace locks (pvx_ulock_bench)
 *   steal lock=NAME ticks=N rounds=R   guest steal time, USER_HZ, summed
 *                                      over NAME's R rounds in this boot
 *                                      (none when it ran none here: a boot
 *                                      after a reset resumes past them;
 *                                      umode=THREADS: the userspace runs)
 *   stimer / arm / ustimer / uarm / share ... run=N   the timer benchmark
 *   error WHAT                         something did not run
 *   # ...                              diagnostics
 *
 * Progress goes to the console as "pvx-bench: ..." lines (the L2 drivers
 * relay the last one, and wait for a workload's "start" and "end").
 *
 * pvx_bench= [locks] chooses:
 *   locks    pvx_guest and pvx_spinlock, then pvx_ticket_rounds= [5]
 *            rounds of the plain ticket lock and pvx_rounds= [18] rounds
 *            of the other kernel locks (native, pvx, pvx-fifo: pvx with
 *            skips off, native-aa: native again, the A/A pair)
 *            interleaved in a balanced order (kernel_lock_at()),
 *            pvx_acq= [100000] acquisitions each,
 *            pvx_count_passes=1 [0] adds each round's critical sections
 *            waited through, its handoffs and holds (2: the handoffs
 *            and holds only; pvx_lock_bench's count_passes),
 *            pvx_rate= [0] paces each thread to that many acquisitions
 *            a second (pvx_lock_bench's rate: an open loop),
 *            pvx_threads= [0: 2 x CPUs], pvx_cs= [128] and pvx_think=
 *            [128] work steps, pvx_max_ms= [5000] per lock and round;
 *            pvx_first_round= [1] and pvx_first_ticket= [1] resume a run
 *            whose guest reset after those rounds (each round's lines
 *            are also kept on the console as it ends: keep_round());
 *            pvx_fake_reset=R [0] resets the guest after round R, a test
 *            of that resume; then the
 *            userspace locks, pvx_urounds= [5] rounds of pvx_uacq=
 *            [1000000] acquisitions or pvx_umax_ms= [5000] ms per mode,
 *            pvx_uthreshold= [1000] spins, for each of pvx_uthreads=
 *            [2 x CPUs,CPUs; pvx_threads= if set] thread counts;
 *            pvx_usat_sleep=1 [0] runs them with LIBPVX_SATURATED_SLEEP=1
 *            (libpvx's opt-in sleep on a saturated lock)
 *   ulocks   the userspace locks only
 *   timers   the retransmit-timeout benchmark: pvx_timer_runs= [3] runs,
 *            each the arming cost at steal 0, then for each of
 *            pvx_levels= [0,25,50,75] (pvx_steal_share --set: the L2
 *            driver injects the steal) pvx_timers= [16] timers of
 *            pvx_deadline_ms= [100] of each kind in the kernel
 *            (pvx_stimer_bench.ko) and in userspace (pvx_stimer_ubench),
 *            pvx cap pvx_cap_factor= [16] deadlines, pvx_arm_loops= [20000]
 *   numa     pvx_numa_work with pvx_numa_mb= [32] MiB per CPU for
 *            pvx_numa_secs= [20] s, hinting when pvx_numa_hint=1 [0], or
 *            with pvx_locality's automatic map when 2
 *   forkcopy pvx_fork_bench with pvx_fork_mb= [16,64], pvx_fork_rounds=
 *            [3], pvx_fork_conds= [plain] (plain, dirtylog, unbacked: with
 *            virtio_balloon's free page reporting), framed for L2 on
 *            pvx_fork_sync= [none, e.g. ttyS1], transparent huge pages
 *            pvx_fork_thp= [the kernel's default], LIBPVX_FORK_PATH
 *            pvx_fork_path= [auto] (copy, fork)
 *   ksm      pvx_ksm_bench as pvx_ksm_role= [victim] (or attacker), with
 *            pvx_ksm_pages= [512], pvx_ksm_rounds= [5], pvx_ksm_slow_ns=
 *            [20000], pvx_ksm_private_mb= [0], framed on pvx_ksm_sync=
 *            [ttyS1]; pvx_ksm_hint=1 [0] loads pvx_ksm_guest (2: with
 *            zero_free=1 zero_order=pvx_ksm_zero_order= [0])
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_PATH	"/tmp/out"
#define CMD_OUT		"/tmp/cmd.out"
#define LOCK_DIR	"/sys/kernel/debug/pvx_lock_bench"
#define TIMER_DIR	"/sys/kernel/debug/pvx_stimer_bench"
#define SKIP_PARAM	"/sys/module/pvx_spinlock/parameters/skip"
#define STEAL_SHARE	"/pvx/pvx_steal_share"
#define LINE_MAX_LEN	4096
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static FILE *out;

/* The kernel command line's pvx_ parameters, with their defaults. */
static struct param {
	const char *name;
	const char *value;
} params[] = {
	{ "bench", "locks" },
	{ "acq", "100000" }, { "uacq", "1000000" }, { "umax_ms", "5000" },
	{ "threads", "0" }, { "cs", "128" }, { "think", "128" },
	{ "max_ms", "5000" }, { "uthreshold", "1000" }, { "rounds", "18" },
	{ "ticket_rounds", "5" }, { "count_passes", "0" }, { "rate", "0" },
	{ "first_round", "1" }, { "first_ticket", "1" }, { "fake_reset", "0" },
	{ "urounds", "5" }, { "uthreads", "" }, { "usat_sleep", "0" },
	{ "timers", "16" }, { "deadline_ms", "100" }, { "cap_factor", "16" },
	{ "levels", "0,25,50,75" }, { "arm_loops", "20000" },
	{ "timer_runs", "3" },
	{ "numa_mb", "32" }, { "numa_secs", "20" }, { "numa_hint", "0" },
	{ "fork_mb", "16,64" }, { "fork_rounds", "3" },
	{ "fork_conds", "plain" }, { "fork_sync", "" }, { "fork_thp", "" },
	{ "fork_path", "auto" },
	{ "ksm_role", "victim" }, { "ksm_pages", "512" }, { "ksm_rounds", "5" },
	{ "ksm_slow_ns", "20000" }, { "ksm_hint", "0" }, { "ksm_sync", "ttyS1" },
	{ "ksm_private_mb", "0" }, { "ksm_zero_order", "0" },
};

static const char *param(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(params); i++)
		if (!strcmp(params[i].name, name))
			return params[i].value;
	fprintf(stderr, "pvx_bench_guest: no parameter %s\n", name);
	return "";
}

/* pvx_NAME=VALUE words of the command line set NAME (others ignored) */
static void read_params(char *cmdline)
{
	char *word, *save = NULL, *eq;
	size_t i;

	for (word = strtok_r(cmdline, " \t\n", &save); word;
	     word = strtok_r(NULL, " \t\n", &save)) {
		eq = strchr(word, '=');
		if (strncmp(word, "pvx_", 4) || !eq)
			continue;
		*eq = '\0';
		for (i = 0; i < ARRAY_SIZE(params); i++)
			if (!strcmp(params[i].name, word + 4))
				params[i].value = eq + 1;
	}
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

/* the first line of @path, without its newline ("" when unreadable) */
static char *first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, len, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* write @text to @path; 0 or the errno */
static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, text, strlen(text)) < 0)
		err = errno;
	close(fd);
	return err;
}

static const char *uptime_text(char *buf, size_t len)
{
	char line[64];

	first_line("/proc/uptime", line, sizeof(line));
	snprintf(buf, len, "%.*s", (int)strcspn(line, " "), line);
	return buf;
}

static long uptime_cs(void)
{
	char line[64];
	long s = 0, cs = 0;

	first_line("/proc/uptime", line, sizeof(line));
	if (sscanf(line, "%ld.%ld", &s, &cs) != 2)
		return 0;
	return s * 100 + cs;
}

static void progress(const char *fmt, ...)
{
	char up[32];
	va_list ap;

	printf("pvx-bench: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (uptime %s s)\n", uptime_text(up, sizeof(up)));
	fflush(stdout);
}

/* steal ticks of the /proc/stat line of @cpu ("cpu": all CPUs) */
static long steal_ticks(const char *cpu)
{
	char line[LINE_MAX_LEN], name[16];
	long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%15s %ld %ld %ld %ld %ld %ld %ld %ld", name,
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7]) == 9 && !strcmp(name, cpu))
			break;
	fclose(f);
	return v[7];
}

/*
 * run @argv with its stdout and stderr into @path (appended when
 * @append); its exit status, 0 when it ran and succeeded
 */
static int run(const char *path, int append, char *const argv[])
{
	int status, fd;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		fd = open(path, O_WRONLY | O_CREAT |
			  (append ? O_APPEND : O_TRUNC), 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* @line, cut to @len - 1 bytes, into @dst */
static void keep_first(char *dst, size_t len, const char *line)
{
	size_t n = strnlen(line, len - 1);

	memcpy(dst, line, n);
	dst[n] = '\0';
}

/* whether @line starts with one of @prefixes (NULL-ended) */
static bool has_prefix(const char *line, const char *const prefixes[])
{
	size_t i;

	for (i = 0; prefixes[i]; i++)
		if (!strncmp(line, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/*
 * lines of @path that start with one of @prefixes (NULL-ended) into the
 * results, with @suffix appended; the first other line into @other
 */
static void copy_lines(const char *path, const char *const prefixes[],
		       const char *suffix, char *other, size_t other_len)
{
	char line[LINE_MAX_LEN];
	FILE *f = fopen(path, "r");

	if (other)
		other[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (has_prefix(line, prefixes))
			fprintf(out, "%s%s\n", line, suffix);
		else if (other && !other[0])
			keep_first(other, other_len, line);
	}
	fclose(f);
	fflush(out);
}

/*
 * the kernel log's lines that contain one of @words (NULL-ended), at
 * most @max, as "# dmesg: " diagnostics
 */
static void dmesg_lines(const char *const words[], int max)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), n = 0;
	char *buf, *line, *save = NULL;
	size_t i;

	if (len <= 0)
		return;
	buf = malloc(len + 1);
	if (!buf)
		return;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	buf[len > 0 ? len : 0] = '\0';
	for (line = strtok_r(buf, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		for (i = 0; words[i]; i++)
			if (strstr(line, words[i]))
				break;
		if (words[i]) {
			/* without the level, as dmesg(1) prints it */
			if (line[0] == '<' && strchr(line, '>'))
				line = strchr(line, '>') + 1;
			say("# dmesg: %s", line);
			n++;
		}
	}
	free(buf);
}

static void dmesg_faults(void)
{
	static const char *const faults[] = {
		"BUG", "WARNING", "soft lockup", "stall", NULL
	};

	dmesg_lines(faults, 5);
}

/* insmod /pvx/NAME.ko with @args (module parameters); 0 or the errno */
static int insmod(const char *name, const char *args)
{
	char path[256];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/pvx/%s.ko", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (syscall(SYS_finit_module, fd, args, 0))
		err = errno;
	close(fd);
	return err;
}

static int insmod_or_say(const char *name, const char *args)
{
	int err = insmod(name, args);

	if (err)
		say("error insmod %s.ko: %s", name, strerror(err));
	return err;
}

static void rmmod_or_say(const char *name)
{
	if (syscall(SYS_delete_module, name, O_NONBLOCK))
		say("error rmmod %s: %s", name, strerror(errno));
}

/* ttyS0's transmit count, -1 when the kernel does not tell it */
static long serial_tx(void)
{
	char line[LINE_MAX_LEN], *tx;
	FILE *f = fopen("/proc/tty/driver/serial", "r");
	long cur = -1;

	while (f && fgets(line, sizeof(line), f)) {
		tx = strstr(line, " tx:");
		if (!strncmp(line, "0: ", 3) && tx)
			cur = atol(tx + 4);
	}
	if (f)
		fclose(f);
	return cur;
}

/*
 * Wait until ttyS0's transmit count stands still for @still polls @poll_us
 * apart, at most @max polls; false when the count cannot be read.
 */
static bool serial_wait_still(unsigned int poll_us, int still, int max)
{
	long prev = -1, cur;
	int i, n = 0;

	for (i = 0; i < max && n < still; i++) {
		cur = serial_tx();
		if (cur < 0)
			return false;
		n = cur == prev ? n + 1 : 0;
		prev = cur;
		usleep(poll_us);
	}
	return true;
}

/* wait until ttyS0's transmit count stands still for 1 s (at most 30 s) */
static void console_drain(void)
{
	if (!serial_wait_still(500000, 2, 60))
		sleep(3);
}

/* the same for 60 ms (at most 10 s): between two rounds */
static void console_drain_quick(void)
{
	serial_wait_still(20000, 3, 500);
}

/*
 * The results on the console between the marker lines, then power off.
 * A write to the console returns once its bytes are in the serial
 * driver's buffer, which the emulated UART sends at about 0.6 ms a byte
 * in the lab, and power-off does not wait for it: hence console_drain().
 */
static void __attribute__((noreturn)) finish(void)
{
	char line[LINE_MAX_LEN];
	FILE *f;

	write_file("/proc/sys/kernel/printk", "1");	/* keep kernel lines out */
	fflush(out);
	printf("PVX-BENCH-BEGIN\n");
	f = fopen(OUT_PATH, "r");
	while (f && fgets(line, sizeof(line), f))
		fputs(line, stdout);
	printf("PVX-BENCH-END\n");
	fflush(stdout);
	console_drain();
	sync();
	reboot(RB_POWER_OFF);
	_exit(0);
}

/* the regular files of /sys/kernel/pvx/@dir as "# DIR/FILE: VALUE" */
static void pvx_counters(const char *dir)
{
	char path[512], value[256];
	struct dirent *e;
	struct stat st;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/kernel/pvx/%s", dir);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		snprintf(path, sizeof(path), "/sys/kernel/pvx/%s/%s", dir,
			 e->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		say("# %s/%s: %s", dir, e->d_name,
		    first_line(path, value, sizeof(value)));
	}
	if (d)
		closedir(d);
}

/*
 * A workload: load @mods (each NAME or NAME:ARG,ARG...), run @argv into
 * the results between the console lines "NAME start" and "NAME end" (the
 * L2 drivers wait for them), then the counters of /sys/kernel/pvx/@dir.
 */
static void __attribute__((noreturn))
workload(const char *name, const char *mods, const char *dir, char *argv[])
{
	char list[512], *m, *save = NULL, *args, *c;

	snprintf(list, sizeof(list), "%s", mods);
	for (m = strtok_r(list, " ", &save); m; m = strtok_r(NULL, " ", &save)) {
		args = strchr(m, ':');
		if (args) {
			*args++ = '\0';
			for (c = args; *c; c++)
				if (*c == ',')
					*c = ' ';
		}
		insmod_or_say(m, args ? args : "");
	}
	progress("%s start", name);
	if (run(OUT_PATH, 1, argv))
		say("error %s", strrchr(argv[0], '/') + 1);
	progress("%s end", name);
	pvx_counters(dir);
	finish();
}

/* the fork-copy condition unbacked: free page reporting, virtio_balloon */
static void load_balloon(void)
{
	/* virtio and virtio_pci are built in on 6.12, modules on 6.1 */
	static const char *const mods[] = {
		"virtio_ring", "virtio", "virtio_pci_modern_dev",
		"virtio_pci_legacy_dev", "virtio_pci", "virtio_balloon", NULL
	};
	char name[64];
	struct stat st;
	int i, err;

	for (i = 0; mods[i]; i++) {
		snprintf(name, sizeof(name), "virtio/%s", mods[i]);
		err = insmod(name, "");
		if (err && err != ENOENT)
			say("# insmod %s.ko: %s", mods[i], strerror(err));
	}
	if (!stat("/sys/bus/virtio/drivers/virtio_balloon", &st))
		say("# virtio_balloon loaded: free page reporting");
	else
		say("error unbacked: no virtio_balloon driver (free page reporting)");
}

static void __attribute__((noreturn)) fork_bench(void)
{
	static const char thp[] = "/sys/kernel/mm/transparent_hugepage/enabled";
	const char *want = param("fork_thp");
	char conds[256], sync_dev[64], value[128];
	char *argv[] = { "/pvx/pvx_fork_bench", (char *)param("fork_mb"),
			 (char *)param("fork_rounds"),
			 (char *)param("fork_conds"), sync_dev, NULL };

	snprintf(conds, sizeof(conds), ",%s,", param("fork_conds"));
	if (strstr(conds, ",unbacked,"))
		load_balloon();
	/* the kernel's default unless pvx_fork_thp= says; printed either way */
	if (*want && write_file(thp, want))
		say("error pvx_fork_thp=%s: not accepted by %s", want, thp);
	first_line(thp, value, sizeof(value));
	say("# transparent_hugepage/enabled: %s", *value ? value : "none");
	/* LIBPVX_FORK_PATH for pvx_fork() (pvx_bench_fork checked the word) */
	if (*param("fork_path") && strcmp(param("fork_path"), "auto")) {
		setenv("LIBPVX_FORK_PATH", param("fork_path"), 1);
		say("# LIBPVX_FORK_PATH=%s", param("fork_path"));
	}
	if (*param("fork_sync"))
		snprintf(sync_dev, sizeof(sync_dev), "/dev/%s", param("fork_sync"));
	else
		argv[4] = NULL;
	workload("fork-copy", "pvx_guest pvx_fork", "fork_copy", argv);
}

static void __attribute__((noreturn)) ksm_bench(void)
{
	const char *hint = param("ksm_hint");
	char mods[128], name[64], sync_dev[64];
	char *argv[] = { "/pvx/pvx_ksm_bench", (char *)param("ksm_role"),
			 (char *)param("ksm_pages"), (char *)param("ksm_rounds"),
			 (char *)hint, sync_dev, (char *)param("ksm_slow_ns"),
			 (char *)param("ksm_private_mb"), NULL };

	if (!strcmp(hint, "1"))
		snprintf(mods, sizeof(mods), "pvx_guest pvx_ksm_guest");
	else if (!strcmp(hint, "2"))
		snprintf(mods, sizeof(mods),
			 "pvx_guest pvx_ksm_guest:zero_free=1,zero_order=%s",
			 param("ksm_zero_order"));
	else
		snprintf(mods, sizeof(mods), "pvx_guest");
	snprintf(sync_dev, sizeof(sync_dev), "/dev/%s", param("ksm_sync"));
	snprintf(name, sizeof(name), "ksm %s", param("ksm_role"));
	workload(name, mods, "ksm", argv);
}

static void __attribute__((noreturn)) numa_bench(void)
{
	const char *hint = param("numa_hint");
	char *argv[] = { "/pvx/pvx_numa_work", (char *)param("numa_mb"),
			 (char *)param("numa_secs"),
			 !strcmp(hint, "1") ? "hint" : "nohint", NULL };

	workload("numa workload", !strcmp(hint, "2") ?
		 "pvx_guest pvx_locality:auto=1" : "pvx_guest pvx_locality",
		 "locality", argv);
}

/* pvx_steal_share --set @level; 0 or, said as an error, its status */
static int steal_level(const char *level)
{
	char *argv[] = { STEAL_SHARE, "--set", (char *)level, NULL };
	char msg[256];
	int rc = run(CMD_OUT, 0, argv);

	if (rc)
		say("error steal level %s: %s", level,
		    first_line(CMD_OUT, msg, sizeof(msg)));
	return rc;
}

static void debugfs_run(const char *cmd, const char *what)
{
	int err = write_file(TIMER_DIR "/run", cmd);

	if (err)
		say("error %s (kernel): %s", what, strerror(err));
}

/* the userspace timer benchmark with @args, its @kind lines tagged @tag */
static void timer_ubench(char *const argv[], const char *kind,
			 const char *what, const char *tag)
{
	const char *const kinds[] = { kind, NULL };
	char msg[256];

	if (run(CMD_OUT, 0, argv))
		say("error %s (userspace): %s", what,
		    first_line(CMD_OUT, msg, sizeof(msg)));
	copy_lines(CMD_OUT, kinds, tag, NULL, 0);
}

/*
 * Timer run @r: the arming costs at level 0, then every level. The kernel
 * module's results are taken and emptied at the end of the run (its
 * buffer holds one run's lines).
 */
static void timer_run(int r)
{
	static const char *const kernel_kinds[] = { "stimer ", "arm ", NULL };
	char tag[32], levels[256], label[64], up[32], *l, *save = NULL;
	char *arm[] = { "/pvx/pvx_stimer_ubench", "--arm", "--arm-loops",
			(char *)param("arm_loops"), NULL };
	char *timers[] = { "/pvx/pvx_stimer_ubench", "--label", label,
			   "--timers", (char *)param("timers"), "--deadline-ms",
			   (char *)param("deadline_ms"), "--cap-factor",
			   (char *)param("cap_factor"), NULL };
	long s0, t0, dt;

	snprintf(tag, sizeof(tag), " run=%d", r);
	if (!steal_level("0")) {
		debugfs_run("arm", "arm");
		timer_ubench(arm, "uarm ", "arm", tag);
	}
	snprintf(levels, sizeof(levels), "%s", param("levels"));
	for (l = strtok_r(levels, ",", &save); l; l = strtok_r(NULL, ",", &save)) {
		if (steal_level(l))
			continue;
		say("# run %d level %s%% at uptime %s s", r, l, uptime_text(up, sizeof(up)));
		snprintf(label, sizeof(label), "steal=%s", l);
		s0 = steal_ticks("cpu0");
		t0 = uptime_cs();
		debugfs_run(label, label);
		timer_ubench(timers, "ustimer ", label, tag);
		dt = uptime_cs() - t0;
		say("share label=%s steal_pct=%ld wall_s=%ld%s", label,
		    (steal_ticks("cpu0") - s0) * 100 / (dt > 0 ? dt : 1),
		    dt / 100, tag);
	}
	copy_lines(TIMER_DIR "/results", kernel_kinds, tag, NULL, 0);
	write_file(TIMER_DIR "/run", "reset");
}

static void __attribute__((noreturn)) timer_bench(void)
{
	static const char *const logged[] = { "pvx_", "steal", NULL };
	char args[256];
	int r, runs = atoi(param("timer_runs"));

	if (insmod_or_say("pvx_guest", "") || insmod_or_say("pvx_stimer", ""))
		finish();
	snprintf(args, sizeof(args),
		 "timers=%s deadline_ms=%s cap_factor=%s arm_loops=%s",
		 param("timers"), param("deadline_ms"), param("cap_factor"),
		 param("arm_loops"));
	if (insmod_or_say("pvx_stimer_bench", args))
		finish();
	dmesg_lines(logged, 1000);
	pvx_counters("stimer");
	for (r = 1; r <= runs; r++) {
		say("# run %d of %d", r, runs);
		timer_run(r);
	}
	run(CMD_OUT, 0, (char *[]){ STEAL_SHARE, "--set", "0", NULL });
	rmmod_or_say("pvx_stimer_bench");
	dmesg_faults();
	finish();
}

/* kernel_locks()'s locks, in their places in an odd round */
enum kernel_lock {
	KLOCK_TICKET, KLOCK_NATIVE, KLOCK_PVX, KLOCK_FIFO, KLOCK_NATIVE_AA, KLOCK_NR
};

/*
 * The lock that runs in place @pos (0..3) of round @r (from 1), of the
 * four whose ratios are near 1: rounds in cycles of three whose twelve
 * locks in a row (native pvx fifo aa, native fifo pvx aa, pvx native aa
 * fifo, then again) have each of the four run right after each of the
 * other three exactly once, so no pair compared (native and pvx, whose
 * ratio has floors; native and native-aa, the A/A pair) differs in what
 * ran before it. A lock leaves the lab changed behind it for a while
 * (halted vCPUs, the L2 scheduler's view of them): with odd rounds in
 * enum order and even ones reversed, native-aa always followed pvx-fifo
 * and native never did, and over 64 rounds on 6.12 native-aa's p99 was
 * above native's in 38, below in 22 (bench.rst).
 */
static enum kernel_lock kernel_lock_at(int r, int pos)
{
	static const enum kernel_lock cycle[3][4] = {
		{ KLOCK_NATIVE, KLOCK_PVX, KLOCK_FIFO, KLOCK_NATIVE_AA },
		{ KLOCK_NATIVE, KLOCK_FIFO, KLOCK_PVX, KLOCK_NATIVE_AA },
		{ KLOCK_PVX, KLOCK_NATIVE, KLOCK_NATIVE_AA, KLOCK_FIFO },
	};

	return cycle[(r - 1) % 3][pos];
}

/*
 * A round's lines kept for the console (keep_round()), each
 * "PVX-BENCH-KEEP LINE"; their length, and how many were kept: a line
 * that does not fit is counted but not printed, so the L2 driver, which
 * checks the count, drops the round.
 */
static char keep_buf[8192];
static size_t keep_len;
static int keep_count;

static void keep_line(const char *line)
{
	int n = snprintf(keep_buf + keep_len, sizeof(keep_buf) - keep_len,
			 "PVX-BENCH-KEEP %s\n", line);

	keep_count++;
	if (n > 0 && (size_t)n < sizeof(keep_buf) - keep_len)
		keep_len += n;
}

/*
 * The lines of pvx_lock_bench's results that start with one of @prefixes
 * into the results and the kept lines; the module counts a lock's rounds
 * from its load, so "round=N" becomes "round=@r", the run's own number
 * (a resumed run's rounds go on from the ones kept).
 */
static void copy_round_lines(const char *const prefixes[], int r)
{
	char line[LINE_MAX_LEN], fixed[LINE_MAX_LEN], *at;
	FILE *f = fopen(LOCK_DIR "/results", "r");

	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!has_prefix(line, prefixes))
			continue;
		at = strstr(line, " round=");
		if (at)
			snprintf(fixed, sizeof(fixed), "%.*s round=%d%s", (int)(at - line), line, r,
				 at + 7 + strspn(at + 7, "0123456789"));
		else
			snprintf(fixed, sizeof(fixed), "%s", line);
		fprintf(out, "%s\n", fixed);
		keep_line(fixed);
	}
	if (f)
		fclose(f);
	fflush(out);
}

/*
 * A round ended (@what: "ticket" or "kernel", round @r): its lines on the
 * console now, then "PVX-BENCH-KEPT WHAT round=R lines=N", and the
 * console drained before the next run (the UART sends a byte in about
 * 0.6 ms, by interrupts that would land in that run). When the emulator
 * resets L3 later (lab.rst), the L2 driver keeps the rounds whose lines
 * all came and boots L3 again for the rest (pvx_first_round=,
 * pvx_first_ticket=); without this a reset lost every round of the boot.
 */
static void keep_round(const char *what, int r)
{
	fwrite(keep_buf, 1, keep_len, stdout);
	printf("PVX-BENCH-KEPT %s round=%d lines=%d\n", what, r, keep_count);
	fflush(stdout);
	keep_len = 0;
	keep_count = 0;
	console_drain_quick();
}

/* Steal ticks over a lock's rounds in this boot, and how many it ran. */
struct lock_steal {
	long ticks;
	int rounds;
};

/* One round of lock @i: its lines, and its steal ticks into @steal. */
static void kernel_lock_round(const char *const *locks, int i, int r,
			      struct lock_steal *steal)
{
	static const char *const round_lines[] = { "bench-round ", "bench-round-cs ", NULL };
	long s0;
	int err;

	progress("round %d lock=%s", r, locks[i]);
	/* pvx-fifo: the same lock with skips off */
	if (i == KLOCK_FIFO)
		write_file(SKIP_PARAM, "0");
	s0 = steal_ticks("cpu");
	err = write_file(LOCK_DIR "/run", locks[i]);
	if (err)
		say("error run lock=%s round %d: %s", locks[i], r, strerror(err));
	copy_round_lines(round_lines, r);
	steal[i].ticks += steal_ticks("cpu") - s0;
	steal[i].rounds++;
	write_file(SKIP_PARAM, "1");
}

/*
 * The module's summed lines ("bench lock=...") of the locks whose last
 * round this was, kept with it: a resumed boot that runs none of a
 * lock's rounds prints none of its own.
 */
static void keep_sums(const char *lock)
{
	char line[LINE_MAX_LEN], want[64];
	const char *const prefixes[] = { want, NULL };
	FILE *f = fopen(LOCK_DIR "/results", "r");

	snprintf(want, sizeof(want), "bench lock=%s ", lock);
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (has_prefix(line, prefixes))
			keep_line(line);
	}
	if (f)
		fclose(f);
}

/*
 * Kernel locks: the ticket lock's pvx_ticket_rounds first (a round takes
 * pvx_max_ms where the others take a few hundred ms, and its ratios are
 * hundreds: few rounds decide them, and none of the others follows it but
 * the first), then the rounds of the other four interleaved (the lab's
 * speed drifts with the load of the machine under it) in a balanced order
 * (kernel_lock_at()); each round's own line (bench-round) for the spread
 * and the module's sums per lock last. Steal time is summed per lock
 * around its runs.
 */
static void kernel_locks(void)
{
	static const char *const sum_lines[] = { "bench ", NULL };
	static const char *const locks[KLOCK_NR] = {
		"ticket", "native", "pvx", "pvx-fifo", "native-aa"
	};
	char args[512], up[32];
	struct lock_steal steal[KLOCK_NR] = { 0 };
	int r, pos, i, rounds = atoi(param("rounds"));
	int ticket_rounds = atoi(param("ticket_rounds"));

	snprintf(args, sizeof(args),
		 "autorun=0 threads=%s acquisitions=%s cs_iters=%s think_iters=%s max_ms=%s count_passes=%s rate=%s",
		 param("threads"), param("acq"), param("cs"), param("think"),
		 param("max_ms"), param("count_passes"), param("rate"));
	if (insmod("pvx_lock_bench", args)) {
		insmod_or_say("pvx_lock_bench", args);
		dmesg_lines((const char *const[]){ "pvx_lock_bench", NULL }, 1000);
		return;
	}
	/* pvx_lock_bench's line after each run: the kept lines' console time */
	write_file("/proc/sys/kernel/printk", "4");
	/* its ratios are hundreds: its rounds first, away from the others' */
	for (r = atoi(param("first_ticket")); r <= ticket_rounds; r++) {
		kernel_lock_round(locks, KLOCK_TICKET, r, steal);
		if (r == ticket_rounds)
			keep_sums(locks[KLOCK_TICKET]);
		keep_round("ticket", r);
	}
	for (r = atoi(param("first_round")); r <= rounds; r++) {
		for (pos = 0; pos < 4; pos++)
			kernel_lock_round(locks, kernel_lock_at(r, pos), r, steal);
		if (r == rounds)
			for (i = KLOCK_NATIVE; i < KLOCK_NR; i++)
				keep_sums(locks[i]);
		keep_round("kernel", r);
		say("# kernel round %d done at uptime %s s", r, uptime_text(up, sizeof(up)));
		/* a test of the resume: reset as the emulator does */
		if (r == atoi(param("fake_reset"))) {
			progress("fake reset after round %d", r);
			reboot(RB_AUTOBOOT);
		}
	}
	copy_lines(LOCK_DIR "/results", sum_lines, "", NULL, 0);
	for (i = 0; i < KLOCK_NR; i++)
		if (steal[i].rounds)
			say("steal lock=%s ticks=%ld rounds=%d", locks[i],
			    steal[i].ticks, steal[i].rounds);
	rmmod_or_say("pvx_lock_bench");
}

/* Userspace locks, for each thread count: mutex, yield, ioctl, libpvx. */
static void user_locks(void)
{
	static const char *const kept[] = { "ubench", "#", NULL };
	char list[256], msg[256], *t, *save = NULL;
	char *argv[] = { "/pvx/pvx_ulock_bench",
			 "--acquisitions", (char *)param("uacq"),
			 "--max-ms", (char *)param("umax_ms"),
			 "--cs-iters", (char *)param("cs"),
			 "--think-iters", (char *)param("think"),
			 "--spin-threshold", (char *)param("uthreshold"),
			 "--rounds", (char *)param("urounds"),
			 "--threads", NULL, NULL };
	long s0, ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	if (*param("uthreads"))
		snprintf(list, sizeof(list), "%s", param("uthreads"));
	else if (strcmp(param("threads"), "0"))
		snprintf(list, sizeof(list), "%s", param("threads"));
	else
		snprintf(list, sizeof(list), "%ld,%ld", 2 * ncpu, ncpu);
	/* libpvx reads it once, at its first lock: the program inherits it */
	if (!strcmp(param("usat_sleep"), "1")) {
		setenv("LIBPVX_SATURATED_SLEEP", "1", 1);
		say("# userspace locks: LIBPVX_SATURATED_SLEEP=1");
	}
	for (t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		s0 = steal_ticks("cpu");
		progress("userspace, %s threads", t);
		argv[ARRAY_SIZE(argv) - 2] = t;	/* --threads T */
		rc = run(CMD_OUT, 0, argv);
		copy_lines(CMD_OUT, kept, "", msg, sizeof(msg));
		if (rc)
			say("error pvx_ulock_bench --threads %s: %s", t, msg);
		say("steal umode=%s ticks=%ld", t, steal_ticks("cpu") - s0);
	}
}

static void __attribute__((noreturn)) lock_bench(void)
{
	static const char *const logged[] = {
		"pvx_guest", "pvx_spinlock", "kvm-guest", "steal", NULL
	};
	static const char *const counters[] = {
		"acquisitions", "slow_paths", "yields_issued", "yields_granted"
	};
	char a[64], b[64], path[128];
	size_t i;

	if (insmod_or_say("pvx_guest", "") || insmod_or_say("pvx_spinlock", "")) {
		dmesg_lines((const char *const[]){ "pvx", NULL }, 1000);
		finish();
	}
	dmesg_lines(logged, 1000);
	say("# host: %s features %s",
	    first_line("/sys/kernel/pvx/host", a, sizeof(a)),
	    first_line("/sys/kernel/pvx/host_features", b, sizeof(b)));
	say("# spinlock mode: %s spin_threshold: %s",
	    first_line("/sys/kernel/pvx/spinlock/mode", a, sizeof(a)),
	    first_line("/sys/kernel/pvx/spinlock/spin_threshold", b, sizeof(b)));
	if (strcmp(param("bench"), "ulocks"))
		kernel_locks();
	else
		say("# kernel locks: not run (pvx_bench=ulocks)");
	user_locks();
	fprintf(out, "# pvx_spinlock totals:");
	for (i = 0; i < ARRAY_SIZE(counters); i++) {
		snprintf(path, sizeof(path), "/sys/kernel/pvx/spinlock/%s", counters[i]);
		fprintf(out, " %s %s", counters[i], first_line(path, a, sizeof(a)));
	}
	fputc('\n', out);
	dmesg_faults();
	finish();
}

/* PID 1's file systems, and a console on fds 0-2 if the kernel gave none */
static void mount_all(void)
{
	int fd;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
	if (fcntl(1, F_GETFD) < 0) {
		fd = open("/dev/console", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
}

int main(void)
{
	static char cmdline[LINE_MAX_LEN];
	struct utsname u;
	const char *bench;
	char up[32];
	FILE *f;

	mount_all();
	/*
	 * append mode: a workload's program appends to the same file
	 * (run()), and our writes must land after its lines, not over them
	 */
	out = fopen(OUT_PATH, "a");
	if (!out)
		out = stderr;
	f = fopen("/proc/cmdline", "r");
	if (f && fgets(cmdline, sizeof(cmdline), f))
		read_params(cmdline);
	if (f)
		fclose(f);
	uname(&u);
	say("# L3 guest: kernel %s, %ld vCPUs, uptime %s s", u.release,
	    sysconf(_SC_NPROCESSORS_ONLN), uptime_text(up, sizeof(up)));
	bench = param("bench");
	if (!strcmp(bench, "timers"))
		timer_bench();
	if (!strcmp(bench, "forkcopy"))
		fork_bench();
	if (!strcmp(bench, "ksm"))
		ksm_bench();
	if (!strcmp(bench, "numa"))
		numa_bench();
	lock_bench();
}
