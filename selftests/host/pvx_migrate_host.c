// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_migrate_host: the L2 half of the lab's migrate suite
 * (Documentation/lab.rst, "The migrate suite"; the guest half is
 * selftests/guest/pvx_migrate_guest.c). Runs inside the L2 KVM host.
 *
 *   pvx_migrate_host CTL_DIR QEMU ARGS...
 *
 * Runs an L3 guest in QEMU (QEMU ARGS..., as run-l3.sh --migrate builds
 * them) and live-migrates it to a second QEMU process on this L2 and
 * back, PVX_MIGRATIONS times, then lets it finish. run-l3.sh starts it in
 * place of QEMU: its stdout is the L3 console (every QEMU of the run
 * writes to it, this program never does), its exit status the last
 * QEMU's. Each QEMU's stderr goes to CTL_DIR/mig/qemuK.err, and is
 * copied to this program's stderr (run-l3.sh's qemu.err) once it ended.
 *
 * Each QEMU K gets a QMP monitor on the unix socket CTL_DIR/mig/qmpK.sock;
 * QEMU K > 0 starts with -incoming unix:CTL_DIR/mig/migK.sock, QEMU K-1
 * is told to "migrate" there, query-migrate is polled until it
 * completes, QEMU K-1 quits. The guest's control port (its second serial
 * port, the FIFOs CTL_DIR/ctl.in and ctl.out, which every QEMU of the run
 * opens) carries pvx_migrate_guest's lines: "mig ready" once the host
 * wrote its pages, then for each landing L2's "landed K" and its "mig
 * checked K pages P mismatches M ...", at the end L2's "done" and its
 * "mig finished ...". Before each migration L2 says "migrating K".
 * "landed K" names what the guest landed on: nothing more for a pvx
 * host, "none" for L2 without pvx_host, "off" for pvx disabled for this
 * VM. L2 writes to the port only while one QEMU runs. After a landing on
 * a pvx host, L2's pvx_numa must have a home for a vCPU of the guest from
 * the map the guest resent by itself.
 *
 * Results as TAP lines without numbers ("ok DESC", "not ok DESC # WHY",
 * "# diag") in PVX_MIGRATE_TAP, which run-l3.sh adds to the boot's TAP.
 *
 * Environment: PVX_MIGRATE_TAP (required), PVX_BUILD (host/NAME.ko),
 * PVX_MIGRATE_DIRTY, how every QEMU tracks dirty pages:
 *   bitmap  KVM's dirty bitmap (the default)
 *   ring    its dirty ring: -enable-kvm becomes -accel
 *           kvm,dirty-ring-size=4096
 *   mixed   the ring for an odd K, the bitmap for an even one: migration
 *           1 is logged with the bitmap, 2 with the ring (the source
 *           logs); checked before each migration on the source
 *   unload  the bitmap, and L2 removes pvx_fork_copy before the last
 *           migration: the guest lands on a host without it and must
 *           copy its pages itself from then on, none lost; loaded again
 *           at the end (and when stopped: a retried boot needs it)
 *   nohost  the bitmap, and the guest lands on none, pvx, off, pvx: for
 *           none QEMU K starts paused (-S) and once QEMU K-1 quit L2
 *           removes pvx_host and its feature modules before QEMU K runs
 *           (pvx_host can go while VMs exist, but then the source would
 *           lose pvx before the migration); pvx_host comes back before
 *           QEMU K+1 starts, the running VM kept off by its pid_policy
 *           (adopted at its next pvx call); for off, QEMU K's
 *           vms/.../enabled is 0 before the migration
 * PVX_MIGRATIONS (default 4, 2 for unload), PVX_MIGRATE_READY_S (default
 * 600: the longest wait for "mig ready"), PVX_MIGRATE_S (default 300: the
 * longest one migration may take).
 *
 * SIGTERM or SIGINT (run-l3.sh stopping a boot to boot it again) stops
 * the QEMUs, puts L2's modules back as they were and exits 1.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "module_util.h"
#include "sysfs_util.h"
#include "l3_vm.h"

#define MAX_MIGRATIONS	32
#define LINE_SIZE	65536	/* a QMP reply: "info registers -a" of every vCPU */
#define START_S		300	/* QEMU's longest start under TCG, to its QMP answer */
#define QMP_S		60	/* the longest wait for a QMP reply */
#define PATH_SIZE	512
#define FC_FILE		"/sys/kernel/debug/pvx/fork_copy"
#define HOST_PARAMS	"/sys/module/pvx_host/parameters/"
/* QMP commands: migrate to the unix socket %s, no bandwidth limit, the vCPUs' registers */
#define QMP_MIGRATE	"{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:%s\"}}"
#define QMP_NO_LIMIT	"{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"max-bandwidth\": 10737418240}}"
#define QMP_REGISTERS	"{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info registers -a\"}}"

/* What a landing is on. */
enum kind { KIND_PVX, KIND_NONE, KIND_OFF };
static const char *const kind_name[] = { "pvx", "none", "off" };

/* A line reader over a socket or FIFO. */
struct lines {
	int fd;
	size_t len;
	char buf[LINE_SIZE];
};

struct qemu {
	pid_t pid;		/* 0: never started */
	bool ended;
	int status;		/* once ended: as the shell's $? */
	struct lines *qmp;
};

static struct {
	const char *ctl_dir, *dirty, *build;
	char **argv;		/* QEMU ARGS... */
	int argc, count, ready_s, mig_s;
} cfg;

static char work[200];			/* CTL_DIR/mig */
static int tap_fd = -1, console = -1, sig_fd = -1;
static int ctl_in = -1;			/* L2's lines to the guest (dprintf) */
static struct lines ctl_out;		/* the guest's lines */
static struct qemu qemus[MAX_MIGRATIONS + 1];
static int cur;				/* the QEMU that runs the guest now */
static char start_err[PATH_SIZE];	/* why start_qemu() failed */
static char reply[LINE_SIZE];		/* the last QMP reply, "" when none came */
static char gline[1024];		/* the guest's line that was waited for */
static char info[LINE_SIZE];		/* the source's last query-migrate answer */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * One line of TAP into PVX_MIGRATE_TAP: @head ("ok ", "not ok ", "# "),
 * then "migrate LBL K: " (no LBL when NULL, no K when 0), then @fmt.
 */
static void tap_line(const char *head, const char *lbl, int k, const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	n = snprintf(line, sizeof(line), "%smigrate%s%s", head, lbl ? " " : "", lbl ?: "");
	if (k)
		n += snprintf(line + n, sizeof(line) - n, " %d", k);
	n += snprintf(line + n, sizeof(line) - n, ": ");
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	n = strlen(line);
	line[n++] = '\n';
	if (write(tap_fd, line, n) != n)
		fprintf(stderr, "pvx_migrate_host: write to the TAP file: %s\n", strerror(errno));
}

/* A result, "ok migrate LBL K: DESC" or "not ok ..." (DESC from @fmt). */
static __printf(4, 5) void result(bool ok, const char *lbl, int k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_line(ok ? "ok " : "not ok ", lbl, k, fmt, ap);
	va_end(ap);
}

/* A diagnostic, "# migrate LBL K: ...". */
static __printf(3, 4) void diag(const char *lbl, int k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_line("# ", lbl, k, fmt, ap);
	va_end(ap);
}

static char *path_of(char *buf, const char *fmt, int k)
{
	snprintf(buf, PATH_SIZE, fmt, work, k);
	return buf;
}

/* ---- waiting: every wait watches for SIGTERM and SIGINT ------------------ */

static void stop_all(void);

/* The milliseconds until @deadline (now_s()), 0 once it passed. */
static int ms_until(double deadline)
{
	double ms = (deadline - now_s()) * 1e3;

	return ms <= 0 ? 0 : (int)ms + 1;
}

/*
 * Wait up to @ms for @fd to be readable (-1: for nothing but the time):
 * 1 readable, 0 not in time. A SIGTERM or SIGINT (run-l3.sh stopping the
 * boot) ends the program here (stop_all()).
 */
static int wait_readable(int fd, int ms)
{
	struct pollfd p[2] = { { .fd = sig_fd, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
	int r = poll(p, 2, ms);

	if (r > 0 && p[0].revents)
		stop_all();
	return r > 0 && p[1].revents;
}

static void nap_ms(int ms)
{
	wait_readable(-1, ms);
}

/*
 * The next line of @l, without its CRs and LF, into @line: 1, 0 when
 * none came by @deadline (now_s()), -1 at the end of the file or on an
 * error. A line longer than the buffer is dropped.
 */
static int next_line(struct lines *l, char *line, size_t size, double deadline)
{
	char *nl;
	size_t i, n;
	ssize_t got;

	for (;;) {
		nl = memchr(l->buf, '\n', l->len);
		if (nl) {
			for (i = n = 0; l->buf + i < nl; i++)
				if (l->buf[i] != '\r' && n + 1 < size)
					line[n++] = l->buf[i];
			line[n] = 0;
			l->len -= nl + 1 - l->buf;
			memmove(l->buf, nl + 1, l->len);
			return 1;
		}
		if (l->len == sizeof(l->buf))
			l->len = 0;
		if (!wait_readable(l->fd, ms_until(deadline))) {
			if (now_s() >= deadline)
				return 0;
			continue;
		}
		got = read(l->fd, l->buf + l->len, sizeof(l->buf) - l->len);
		if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (got > 0)
			l->len += got;
	}
}

/* ---- the QEMUs ----------------------------------------------------------- */

/* QEMU K tracks dirty pages with KVM's dirty ring (else the bitmap). */
static bool uses_ring(int k)
{
	return !strcmp(cfg.dirty, "ring") || (!strcmp(cfg.dirty, "mixed") && k % 2);
}

static const char *tracking(int k)
{
	return uses_ring(k) ? "ring" : "bitmap";
}

/*
 * In the child: QEMU ARGS... for QEMU @k, with its QMP socket, the ring
 * in place of -enable-kvm, its own -D log (ARG.K for K > 0), -incoming
 * for K > 0 and -S for @paused; stdout the console, stderr qemuK.err.
 */
static void exec_qemu(int k, bool paused)
{
	struct l3_args a = { 0 };
	char path[PATH_SIZE];
	sigset_t none;
	int i, err;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(console, STDOUT_FILENO);
	err = open(path_of(path, "%s/qemu%d.err", k), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (err >= 0 && dup2(err, STDERR_FILENO) >= 0)
		close(err);
	for (i = 0; i < cfg.argc; i++) {
		if (!strcmp(cfg.argv[i], "-enable-kvm") && uses_ring(k)) {
			l3_arg(&a, "-accel");
			l3_arg(&a, "kvm,dirty-ring-size=4096");
			continue;
		}
		l3_arg(&a, "%s", cfg.argv[i]);
		if (!strcmp(cfg.argv[i], "-D") && k > 0 && i + 1 < cfg.argc)
			l3_arg(&a, "%s.%d", cfg.argv[++i], k);
	}
	l3_arg(&a, "-qmp");
	l3_arg(&a, "unix:%s,server=on,wait=off", path_of(path, "%s/qmp%d.sock", k));
	if (paused)
		l3_arg(&a, "-S");
	if (k > 0) {
		l3_arg(&a, "-incoming");
		l3_arg(&a, "unix:%s", path_of(path, "%s/mig%d.sock", k));
	}
	if (a.overflow)
		errno = E2BIG;
	else
		execvp(a.v[0], a.v);
	fprintf(stderr, "pvx_migrate_host: cannot run %s: %s\n", cfg.argv[0], strerror(errno));
	_exit(127);
}

/* QEMU @k's stderr file, whole, onto this program's stderr. */
static void relay_stderr(int k)
{
	char path[PATH_SIZE], *text = read_text(path_of(path, "%s/qemu%d.err", k));

	if (text)
		fputs(text, stderr);
	free(text);
}

static void qemu_reap(int k)
{
	struct qemu *q = &qemus[k];

	q->status = wait_rc(q->pid);
	q->ended = true;
	relay_stderr(k);
	if (q->qmp) {
		close(q->qmp->fd);
		free(q->qmp);
		q->qmp = NULL;
	}
}

/* Whether QEMU @k runs; reaped once it ended. */
static bool qemu_running(int k)
{
	struct qemu *q = &qemus[k];
	siginfo_t si = { 0 };

	if (!q->pid || q->ended)
		return false;
	if (!waitid(P_PID, q->pid, &si, WEXITED | WNOHANG | WNOWAIT) && !si.si_pid)
		return true;
	qemu_reap(k);
	return false;
}

/* QEMU @k ended: its status (the shell's $?). */
static int qemu_wait(int k)
{
	while (qemu_running(k))
		nap_ms(100);
	return qemus[k].status;
}

static void qemu_kill(int k)
{
	if (qemu_running(k))
		kill(qemus[k].pid, SIGTERM);
}

/* ---- QMP ------------------------------------------------------------------ */

/* QEMU @k's next QMP line into reply: false when none came by @deadline or QEMU @k ended. */
static bool qmp_line(int k, double deadline)
{
	struct qemu *q = &qemus[k];
	int r;

	while (q->qmp && now_s() < deadline) {
		/* a second at a time: QEMU's end is looked at in between */
		r = next_line(q->qmp, reply, sizeof(reply),
			      deadline < now_s() + 1 ? deadline : now_s() + 1);
		if (r > 0)
			return true;
		if (r < 0 || !qemu_running(k))
			return false;
	}
	return false;
}

/*
 * Send @cmd to QEMU @k, its reply line into reply (events before it
 * skipped): false when none came within @secs or QEMU @k ended.
 */
static bool qmp(int k, const char *cmd, int secs)
{
	struct qemu *q = &qemus[k];
	double deadline = now_s() + secs;
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s\n", cmd);

	reply[0] = 0;
	if (!q->qmp || send(q->qmp->fd, line, n, MSG_NOSIGNAL) != n)
		return false;
	while (qmp_line(k, deadline))
		if (strstr(reply, "\"return\"") || strstr(reply, "\"error\""))
			return true;
	reply[0] = 0;
	return false;
}

/* The value after the first "@name": in @json (a number or a state), "" when none. */
static const char *field(const char *json, const char *name, char *out, size_t size)
{
	char key[64];
	const char *p;
	size_t n = 0;

	snprintf(key, sizeof(key), "\"%s\":", name);
	p = strstr(json, key);
	if (p) {
		p += strlen(key);
		p += strspn(p, " ");
		p += *p == '"';
		while (n + 1 < size && (islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
					*p == '-'))
			out[n++] = *p++;
	}
	out[n] = 0;
	return out;
}

/* Connect to QEMU @k's QMP socket, which it makes early in its start. */
static bool qmp_connect(int k, double deadline)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char path[PATH_SIZE];
	int fd;

	path_of(path, "%s/qmp%d.sock", k);
	if (strlen(path) >= sizeof(a.sun_path))
		return false;
	memcpy(a.sun_path, path, strlen(path) + 1);
	while (now_s() < deadline && qemu_running(k)) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a))) {
			qemus[k].qmp = calloc(1, sizeof(*qemus[k].qmp));
			if (qemus[k].qmp) {
				qemus[k].qmp->fd = fd;
				return true;
			}
		}
		if (fd >= 0)
			close(fd);
		nap_ms(100);
	}
	return false;
}

/* The last line of QEMU @k's stderr, for why it ended. */
static const char *qemu_said(int k, char *buf, size_t size)
{
	char path[PATH_SIZE], *text = read_text(path_of(path, "%s/qemu%d.err", k)), *last;
	size_t n = text ? strlen(text) : 0;

	while (n && text[n - 1] == '\n')
		text[--n] = 0;
	last = text ? strrchr(text, '\n') : NULL;
	snprintf(buf, size, "%s", last ? last + 1 : text ? text : "");
	free(text);
	return buf;
}

/*
 * QEMU @k started, its QMP capabilities negotiated; false with why in
 * start_err. Under TCG QEMU greets slowly (up to 300 s while it runs),
 * and its main loop answers once the machine is made, which can take as
 * long: the rest of the 300 s, at least 60.
 */
static bool start_qemu(int k, bool paused)
{
	struct qemu *q = &qemus[k];
	double t0 = now_s(), greet;
	char path[PATH_SIZE], said[256];
	int left;

	unlink(path_of(path, "%s/qmp%d.sock", k));
	unlink(path_of(path, "%s/mig%d.sock", k));
	*q = (struct qemu){ 0 };
	q->pid = fork();
	if (q->pid == 0)
		exec_qemu(k, paused);
	if (q->pid < 0) {
		q->pid = 0;
		snprintf(start_err, sizeof(start_err), "fork: %s", strerror(errno));
		return false;
	}
	if (!qmp_connect(k, t0 + START_S) || !qmp_line(k, t0 + START_S)) {
		if (qemu_running(k))
			snprintf(start_err, sizeof(start_err),
				 "no QMP greeting from QEMU %d within %d s", k, START_S);
		else
			snprintf(start_err, sizeof(start_err),
				 "QEMU %d exited with status %d after %.0f s, before its QMP greeting (its stderr: the boot's qemu.err)",
				 k, q->status, now_s() - t0);
		fprintf(stderr, "pvx_migrate_host: %s\n", start_err);
		return false;
	}
	greet = now_s() - t0;
	left = (int)(t0 + START_S - now_s());
	if (left < 60)
		left = 60;
	if (!qmp(k, "{\"execute\": \"qmp_capabilities\"}", left)) {
		if (qemu_running(k))
			snprintf(start_err, sizeof(start_err),
				 "QEMU %d greeted on QMP after %.0f s but did not answer qmp_capabilities within %d s",
				 k, greet, left);
		else
			snprintf(start_err, sizeof(start_err),
				 "QEMU %d greeted on QMP after %.0f s, then exited with status %d after %.0f s: %s",
				 k, greet, q->status, now_s() - t0,
				 qemu_said(k, said, sizeof(said)));
		return false;
	}
	if (now_s() - t0 >= 30)
		diag(cfg.dirty, 0,
		     "QEMU %d took %.0f s to greet on QMP, %.0f s to answer",
		     k, greet, now_s() - t0);
	return true;
}

/* The first line of QEMU @k's stderr with QEMU's dirty-ring reaper assertion, or NULL. */
static const char *reaper_race(int k, char *buf, size_t size)
{
	char path[PATH_SIZE], *text = read_text(path_of(path, "%s/qemu%d.err", k)), *p;

	p = text ? strstr(text, "kvm_dirty_ring_reap_one: Assertion") : NULL;
	if (p) {
		while (p > text && p[-1] != '\n')
			p--;
		snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
	}
	free(text);
	return p ? buf : NULL;
}

/*
 * start_qemu(), and once more (twice at most) when QEMU died of QEMU's
 * own race between its dirty-ring reaper thread and vCPU creation (the
 * assertion in kvm_dirty_ring_reap_one: the reaper ran over a vCPU whose
 * ring was not mapped yet; TCG's slowness widens the window; no pvx code
 * runs in QEMU). A QEMU that did not start is stopped.
 */
static bool start_again(int k, bool paused)
{
	char said[256];
	int try;

	for (try = 1; try <= 3; try++) {
		if (start_qemu(k, paused))
			return true;
		if (try == 3 || qemu_running(k) || !reaper_race(k, said, sizeof(said)))
			break;
		diag(cfg.dirty, 0,
		     "QEMU %d died of QEMU's dirty-ring reaper race at vCPU creation (%s): started again",
		     k, said);
	}
	qemu_kill(k);
	qemu_wait(k);
	return false;
}

/* Quit QEMU @k (killed when it does not answer): its status. */
static int stop_qemu(int k)
{
	if (!qmp(k, "{\"execute\": \"quit\"}", QMP_S))
		qemu_kill(k);
	return qemu_wait(k);
}

/* ---- L2's modules -------------------------------------------------------- */

static char why[PATH_SIZE * 2];	/* why a module step failed */

static bool load_module(const char *name, const char *params)
{
	char ko[PATH_SIZE];
	int err;

	snprintf(ko, sizeof(ko), "%s/host/%s.ko", cfg.build, name);
	err = module_load(ko, params);
	if (err)
		snprintf(why, sizeof(why), "insmod %s: %s", ko, strerror(-err));
	return !err;
}

/*
 * pvx_fork_copy loaded again if the unload boot removed it: at the end,
 * and when stopped (run-l3.sh stops a boot at an L3 reset and boots it
 * again, and the retried unload boot must start on an L2 with it).
 */
static void fc_restore(void)
{
	if (!strcmp(cfg.dirty, "unload") && !module_is_loaded("pvx_fork_copy") &&
	    !load_module("pvx_fork_copy", ""))
		diag("unload", 0, "cannot load pvx_fork_copy again: %s", why);
}

/*
 * pvx_host and its feature modules out of L2. A few tries each:
 * run-l3.sh reading pvx's debugfs counters at that moment holds the
 * module (EBUSY).
 */
static bool host_unload(void)
{
	static const char *const mods[] = {
		"pvx_ksm", "pvx_numa", "pvx_fork_copy", "pvx_yield", "pvx_host",
	};
	unsigned int m, i;
	int err = 0;

	for (m = 0; m < ARRAY_SIZE(mods); m++) {
		for (i = 0; i < 6 && module_is_loaded(mods[m]); i++) {
			err = module_unload(mods[m]);
			if (!err)
				break;
			if (i < 5)
				nap_ms(500);
		}
		if (err && module_is_loaded(mods[m])) {
			snprintf(why, sizeof(why), "rmmod %s: %s", mods[m], strerror(-err));
			return false;
		}
	}
	return true;
}

static bool write_param(const char *path, const char *val)
{
	int err = write_file(path, val);

	if (err)
		snprintf(why, sizeof(why), "echo %s >%s: %s", val, path, strerror(-err));
	return !err;
}

/*
 * pvx_host and its feature modules loaded as run-l3.sh loads them; the
 * VMs of QEMU @pid (> 0: one that has a VM already) stay without pvx.
 */
static bool host_load(pid_t pid)
{
	static const char *const features[] = {
		"pvx_yield", "pvx_fork_copy", "pvx_numa", "pvx_ksm",
	};
	char ko[PATH_SIZE], policy[32];
	unsigned int m;

	if (module_is_loaded("pvx_host"))
		return true;
	if (!load_module("pvx_host", "new_vms=none"))
		return false;
	snprintf(policy, sizeof(policy), "%d off", (int)pid);
	if ((pid > 0 && !write_param(HOST_PARAMS "pid_policy", policy)) ||
	    !write_param(HOST_PARAMS "new_vms", "all"))
		return false;
	for (m = 0; m < ARRAY_SIZE(features); m++) {
		snprintf(ko, sizeof(ko), "%s/host/%s.ko", cfg.build, features[m]);
		if (path_exists(ko) && !load_module(features[m], ""))
			return false;
	}
	return write_param("/sys/module/pvx_numa/parameters/hint_interval_ms", "60000");
}

/*
 * On SIGTERM and SIGINT, or when QEMU 0 does not start: the QEMUs
 * stopped, L2's modules as they were, exit 1.
 */
static void stop_all(void)
{
	int k;

	for (k = 0; k <= cfg.count; k++)
		qemu_kill(k);
	for (k = 0; k <= cfg.count; k++)
		if (qemus[k].pid && !qemus[k].ended)
			qemu_reap(k);
	fc_restore();
	if (!strcmp(cfg.dirty, "nohost"))
		host_load(0);
	exit(1);
}

/* ---- what L2 sees of the guest -------------------------------------------- */

/* The host's pages copied by pvx_fork_copy (all VMs, since it loaded). */
static long long fc_pages(void)
{
	char *text = read_text(FC_FILE), *p = text;
	long long pages = 0;

	while (p && *p) {
		if (sscanf(p, "pages %lld", &pages) == 1)
			break;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	free(text);
	return pages;
}

/* The paths that @fmt with @pid matches, in @g (free with globfree): how many. */
static size_t glob_paths(glob_t *g, const char *fmt, int pid)
{
	char pattern[PATH_SIZE];

	snprintf(pattern, sizeof(pattern), fmt, pid);
	if (glob(pattern, 0, NULL, g)) {
		globfree(g);
		*g = (glob_t){ 0 };
	}
	return g->gl_pathc;
}

/*
 * Whether QEMU @pid runs a thread named kvm-reaper: QEMU's
 * kvm_dirty_ring_reaper_thread, there with the dirty ring only (-name
 * ...,debug-threads=on names threads).
 */
static bool has_reaper(pid_t pid)
{
	char comm[32];
	glob_t g;
	size_t i, n = glob_paths(&g, "/proc/%d/task/*/comm", pid);
	bool found = false;

	for (i = 0; i < n && !found; i++)
		found = !sysfs_read_str(g.gl_pathv[i], comm, sizeof(comm)) &&
			!strcmp(comm, "kvm-reaper");
	globfree(&g);
	return found;
}

/* pvx disabled for QEMU @k's VM (its directory comes from a work item after KVM_CREATE_VM). */
static bool vm_off(int k)
{
	char path[PATH_SIZE];
	glob_t g;
	size_t i, n;
	int tries;
	bool done = false;

	for (tries = 0; tries < 50 && !done; tries++) {
		n = glob_paths(&g, "/sys/kernel/pvx_host/vms/vm*-%d", qemus[k].pid);
		for (i = 0; i < n && !done; i++) {
			snprintf(path, sizeof(path), "%s/enabled", g.gl_pathv[i]);
			done = !write_file(path, "0");
		}
		globfree(&g);
		if (!done)
			nap_ms(100);
	}
	return done;
}

/*
 * The vCPUs of QEMU $cur's VM that L2's pvx_numa gave a home (a hint
 * taken, a home node >= 0), -1 without its debugfs file; the files' text
 * into @text.
 */
static int numa_homes(char *text, size_t size)
{
	char *all, *line, *pos;
	int homes = 0, node, hints;
	unsigned int vcpu;
	size_t i, n = 0;
	glob_t g;

	text[0] = 0;
	if (!glob_paths(&g, "/sys/kernel/debug/pvx/vm*-%d/numa", qemus[cur].pid))
		homes = -1;
	for (i = 0; i < g.gl_pathc && homes >= 0; i++) {
		all = read_text(g.gl_pathv[i]);
		if (!all)
			homes = -1;
		for (pos = all; all && (line = strsep(&pos, "\n"));) {
			if (sscanf(line, "vcpu %u home %d hints %d", &vcpu, &node, &hints) == 3 &&
			    node >= 0 && hints >= 1)
				homes++;
			if (*line && n + 1 < size)
				n += snprintf(text + n, size - n, "%s%s", n ? " " : "", line);
		}
		free(all);
	}
	globfree(&g);
	return homes;
}

/*
 * numa_homes() until it finds a home, for at most 10 s: a VM's debugfs
 * directory appears from a work item after its first hypercall
 * (host/vm.c), which a loaded L2 may run after the guest has already
 * reported its landing.
 */
static int numa_homes_wait(char *text, size_t size)
{
	int i, homes = 0;

	for (i = 0; i < 100; i++) {
		homes = numa_homes(text, size);
		if (homes > 0)
			break;
		nap_ms(100);
	}
	return homes;
}

/* A thread's state and CPU and guest time (clock ticks) from its stat file. */
static bool task_times(const char *task, char *state, long long *cpu, long long *guest)
{
	char path[PATH_SIZE], stat[1024], *p, *f[48];
	int n = 0;

	snprintf(path, sizeof(path), "%s/stat", task);
	if (sysfs_read_str(path, stat, sizeof(stat)))
		return false;
	p = strrchr(stat, ')');
	if (!p)
		return false;
	for (p = strtok(p + 1, " "); p && n < 48; p = strtok(NULL, " "))
		f[n++] = p;
	if (n < 41)
		return false;
	*state = f[0][0];
	*cpu = atoll(f[11]) + atoll(f[12]);
	*guest = atoll(f[40]);
	return true;
}

/* The first kernel frames of a thread ("func+0x1a" each), on one line. */
static void task_stack(const char *task, char *out, size_t size)
{
	char path[PATH_SIZE], *text, *line, *pos, *p;
	size_t n = 0;
	int frames = 0;

	snprintf(path, sizeof(path), "%s/stack", task);
	text = read_text(path);
	out[0] = 0;
	for (pos = text; text && frames < 4 && (line = strsep(&pos, "\n")) && *line; frames++) {
		p = strstr(line, "] ");
		line = p ? p + 2 : line;
		p = strstr(line, "/0x");
		if (p)
			*p = 0;
		if (n + 1 < size)
			n += snprintf(out + n, size - n, "%s%s", n ? " " : "", line);
	}
	free(text);
}

/*
 * L2's view of QEMU $cur's vCPU threads ("CPU N/KVM"), one diag line
 * each: its state, the CPU time it took in 2 s (guest: in L3), and the
 * kernel frames it is in (a vCPU held inside L2's KVM, in a pvx
 * hypercall say, shows there; one that L2 never runs again shows no
 * time; one halted waits in kvm_vcpu_halt).
 */
static void vcpu_threads(void)
{
	long long hz = sysconf(_SC_CLK_TCK), cpu0[64], guest0[64], cpu, guest;
	char comm[32], state, frames[512];
	size_t i, n;
	glob_t g;

	if (hz <= 0)
		hz = 100;
	n = glob_paths(&g, "/proc/%d/task/*", qemus[cur].pid);
	if (n > 64)
		n = 64;
	for (i = 0; i < n; i++)
		if (!task_times(g.gl_pathv[i], &state, &cpu0[i], &guest0[i]))
			cpu0[i] = -1;
	nap_ms(2000);
	for (i = 0; i < n; i++) {
		char path[PATH_SIZE];

		snprintf(path, sizeof(path), "%s/comm", g.gl_pathv[i]);
		if (cpu0[i] < 0 || sysfs_read_str(path, comm, sizeof(comm)) ||
		    strncmp(comm, "CPU", 3) || !task_times(g.gl_pathv[i], &state, &cpu, &guest))
			continue;
		task_stack(g.gl_pathv[i], frames, sizeof(frames));
		diag(cfg.dirty, 0,
		     "L2: QEMU %d's %s (%s): state %c, in 2 s %lld%% CPU, %lld%% in L3; kernel: %s",
		     cur, comm, strrchr(g.gl_pathv[i], '/') + 1, state, (cpu - cpu0[i]) * 100 / hz,
		     (guest - guest0[i]) * 100 / hz, frames);
	}
	globfree(&g);
}

/*
 * Where QEMU $cur's vCPUs are, for a guest that stopped answering: L2's
 * view of their threads, then their RIPs and halted flags (QMP's
 * "info registers -a", which waits for every vCPU to leave KVM_RUN; L3
 * boots nokaslr, so a kernel RIP names its function in lab.sh's
 * l2-kallsyms).
 */
static void vcpu_rips(void)
{
	char rips[1024], *p;
	size_t n = 0, len;

	vcpu_threads();
	qmp(cur, QMP_REGISTERS, QMP_S);
	rips[0] = 0;
	for (p = reply; *p; p++) {
		if (!strncmp(p, "RIP=", 4))
			len = 4 + strspn(p + 4, "0123456789abcdef");
		else if (!strncmp(p, "HLT=", 4) && (p[4] == '0' || p[4] == '1'))
			len = 5;
		else
			continue;
		if (n + len + 2 < sizeof(rips))
			n += snprintf(rips + n, sizeof(rips) - n, "%s%.*s", n ? " " : "",
				      (int)len, p);
		p += len - 1;
	}
	diag(cfg.dirty, 0,
	     "the guest does not answer; QEMU %d's vCPUs: %s",
	     cur, n ? rips : "no registers: QMP did not answer within 60 s");
}

/* ---- the guest's control port --------------------------------------------- */

/* The guest's next line that starts with @prefix into gline: false when none came in @secs. */
static bool guest_line(const char *prefix, int secs)
{
	double deadline = now_s() + secs;
	char line[sizeof(gline)];

	gline[0] = 0;
	while (next_line(&ctl_out, line, sizeof(line), deadline) > 0) {
		if (!strncmp(line, prefix, strlen(prefix))) {
			snprintf(gline, sizeof(gline), "%s", line);
			return true;
		}
		diag(cfg.dirty, 0, "control port: %s", line);
	}
	return false;
}

/* The number after " @name " in the guest's line (0 without one). */
static long long gnum(const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), " %s ", name);
	p = strstr(gline, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

/* ---- the migrations -------------------------------------------------------- */

static struct {
	int done, homes;
	long long checked, bad, resent, lost, pinned, fallback;
	char srcs[256], back_ms[256];
} tot;

static enum kind kind_of(int k)
{
	static const enum kind nohost[] = { KIND_PVX, KIND_NONE, KIND_PVX, KIND_OFF, KIND_PVX };

	if (!strcmp(cfg.dirty, "nohost") && k < 5)
		return nohost[k];
	return KIND_PVX;
}

/* QEMU @k started for migration @k, ready for it; false: no migration. */
static bool prepare_destination(int k, const char *lbl)
{
	char path[PATH_SIZE];
	struct stat st;
	int i;

	if (kind_of(k) == KIND_PVX && kind_of(k - 1) == KIND_NONE) {
		if (host_load(qemus[cur].pid))
			result(true, lbl, k,
			       "pvx_host and its modules loaded again, QEMU %d's VM kept without pvx (pid_policy off)",
			       cur);
		else
			result(false, lbl, k, "pvx_host and its modules loaded again # %s", why);
	}
	if (!start_again(k, kind_of(k) == KIND_NONE)) {
		result(false, lbl, k,
		       "destination QEMU %d starts with -incoming # %s",
		       k, start_err);
		return false;
	}
	if (kind_of(k) == KIND_OFF) {
		if (vm_off(k))
			result(true, lbl, k,
			       "pvx disabled for QEMU %d's VM before the migration (vms/.../enabled 0)",
			       k);
		else
			result(false, lbl, k,
			       "pvx disabled for QEMU %d's VM # no vms/vm*-%d/enabled within 5 s",
			       k, qemus[k].pid);
	}
	for (i = 0; i < 50 && stat(path_of(path, "%s/mig%d.sock", k), &st); i++)
		nap_ms(100);
	return true;
}

/* Before the last migration of the unload boot: pvx_fork_copy out of L2. */
static bool unload_fork_copy(int k)
{
	int err = module_unload("pvx_fork_copy");

	if (err) {
		result(false, "unload", k,
		       "pvx_fork_copy removed from L2 before the migration # rmmod pvx_fork_copy: %s",
		       strerror(-err));
		return false;
	}
	result(true, "unload", k,
	       "pvx_fork_copy removed from L2 while the guest runs, before the migration");
	return true;
}

/* The source QEMU @src tracks dirty pages as it should. */
static void check_tracking(int k, int src, const char *lbl)
{
	bool ring = has_reaper(qemus[src].pid);
	const char *got = ring ? "ring" : "bitmap";

	if (!strcmp(got, tracking(src)))
		result(true, lbl, k,
		       "the source QEMU %d tracks dirty pages with KVM's dirty %s (kvm-reaper thread: %s)",
		       src, got, ring ? "runs" : "none");
	else
		result(false, lbl, k,
		       "the source QEMU %d tracks dirty pages with KVM's dirty %s # it uses the %s (kvm-reaper thread)",
		       src, tracking(src), got);
}

/*
 * QEMU @src migrated to QEMU @k: true once completed, its last
 * query-migrate answer in info; else QEMU @k stopped.
 */
static bool run_migration(int k, int src, const char *lbl)
{
	char cmd[PATH_SIZE + 80], path[PATH_SIZE], status[32] = "", total[32];
	double t0 = now_s();

	info[0] = 0;
	snprintf(cmd, sizeof(cmd), QMP_MIGRATE, path_of(path, "%s/mig%d.sock", k));
	qmp(src, cmd, QMP_S);
	if (strstr(reply, "\"error\"")) {
		result(false, lbl, k, "QEMU %d accepts migrate # %s", src, reply);
		stop_qemu(k);
		return false;
	}
	while (now_s() - t0 < cfg.mig_s) {
		nap_ms(500);
		if (!qmp(src, "{\"execute\": \"query-migrate\"}", QMP_S))
			continue;
		memcpy(info, reply, sizeof(info));
		field(info, "status", status, sizeof(status));
		if (!strcmp(status, "completed") || !strcmp(status, "failed") ||
		    !strcmp(status, "cancelled"))
			break;
	}
	/*
	 * QEMU 7.2 says "completed" a moment before it computes the total
	 * time and downtime (0 until then: seen with the dirty ring on 6.12)
	 */
	field(info, "total-time", total, sizeof(total));
	if (!strcmp(status, "completed") && !strcmp(total, "0")) {
		nap_ms(1000);
		if (qmp(src, "{\"execute\": \"query-migrate\"}", QMP_S))
			memcpy(info, reply, sizeof(info));
	}
	if (strcmp(status, "completed")) {
		result(false, lbl, k,
		       "QEMU %d -> QEMU %d completes # status '%s' after %.0f s: %.300s",
		       src, k, status, now_s() - t0, info);
		qmp(src, "{\"execute\": \"migrate_cancel\"}", QMP_S);
		stop_qemu(k);
		return false;
	}
	return true;
}

static const char *or_unknown(const char *s)
{
	return *s ? s : "?";
}

/* The guest runs on QEMU @k, and what the migration took. */
static void report_migration(int k, int src, const char *lbl, long long copied)
{
	char run[32], down[32], total[32], setup[32], syncs[32], sent[32];

	qmp(k, "{\"execute\": \"query-status\"}", QMP_S);
	field(reply, "status", run, sizeof(run));
	if (!strcmp(run, "running"))
		result(true, lbl, k,
		       "QEMU %d -> QEMU %d completed, the guest runs on QEMU %d",
		       src, k, k);
	else
		result(false, lbl, k,
		       "QEMU %d -> QEMU %d completed, the guest runs on QEMU %d # status '%s'",
		       src, k, k, run);
	diag(lbl, k,
	     "downtime %s ms, total %s ms, setup %s ms, %s dirty syncs, %lld MiB sent; the host copied %lld guest pages while it ran",
	     or_unknown(field(info, "downtime", down, sizeof(down))),
	     or_unknown(field(info, "total-time", total, sizeof(total))),
	     or_unknown(field(info, "setup-time", setup, sizeof(setup))),
	     or_unknown(field(info, "dirty-sync-count", syncs, sizeof(syncs))),
	     atoll(field(info, "transferred", sent, sizeof(sent))) / 1048576, copied);
	/* still 0: the whole answer */
	if (!atoll(total))
		diag(lbl, k, "query-migrate said: %.600s", info);
}

/*
 * The guest's check of its pages after landing @k: false when it did not
 * answer. With @unloaded, the guest must have copied pages itself.
 */
static bool check_landing(int k, const char *lbl, bool unloaded)
{
	char prefix[32];
	long long pages, bad, fallback;

	if (kind_of(k) == KIND_PVX)
		dprintf(ctl_in, "landed %d\n", k);
	else
		dprintf(ctl_in, "landed %d %s\n", k, kind_name[kind_of(k)]);
	snprintf(prefix, sizeof(prefix), "mig checked %d ", k);
	if (!guest_line(prefix, 180)) {
		result(false, lbl, k,
		       "the guest checks its pages on the destination # no answer within 180 s");
		vcpu_rips();
		return false;
	}
	/* mig checked K pages P mismatches M child C/N rounds R host H fallback F ... */
	pages = gnum("pages");
	bad = gnum("mismatches");
	fallback = gnum("fallback");
	if (unloaded && fallback > tot.fallback)
		result(true, "unload", k,
		       "without pvx_fork_copy the guest copies its pages itself (fallback pages %lld -> %lld)",
		       tot.fallback, fallback);
	else if (unloaded)
		result(false, "unload", k,
		       "without pvx_fork_copy the guest copies its pages itself # fallback pages %lld -> %lld",
		       tot.fallback, fallback);
	tot.fallback = fallback;
	tot.checked += pages;
	tot.bad += bad;
	if (!bad)
		result(true, lbl, k,
		       "all %lld pages the host wrote hold their last contents on the destination",
		       pages);
	else
		result(false, lbl, k,
		       "all %lld pages the host wrote hold their last contents on the destination # %lld mismatches",
		       pages, bad);
	diag(lbl, k, "guest: %s", gline);
	tot.resent += gnum("resent");
	tot.lost += gnum("lost");
	return true;
}

/* After landing @k on a pvx host: pvx followed the guest. */
static void check_pvx_back(int k, const char *lbl)
{
	char text[512];
	size_t n = strlen(tot.back_ms);
	int homes;

	tot.pinned += gnum("pinned");
	if (kind_of(k - 1) != KIND_PVX)
		snprintf(tot.back_ms + n, sizeof(tot.back_ms) - n, " %lld", gnum("follow_ms"));
	homes = numa_homes_wait(text, sizeof(text));
	if (homes > 0) {
		tot.homes++;
		result(true, lbl, k,
		       "L2's pvx_numa has a home for %d vCPU(s) of the guest again, from the map the guest resent by itself",
		       homes);
	} else {
		result(false, lbl, k,
		       "L2's pvx_numa has a home for a vCPU of the guest again # %d vCPUs with a hint and a home: %.300s",
		       homes < 0 ? 0 : homes,
		       homes < 0 && !*text ? "no /sys/kernel/debug/pvx/vm*-PID/numa" : text);
	}
}

/* Migration @k, from QEMU $cur: false when the run cannot go on. */
static bool migrate_once(int k)
{
	int src = cur;
	char lbl[32];
	long long fc0, fc;
	bool unloaded = false;
	size_t n = strlen(tot.srcs);

	/* the lines of a mixed boot name the source's mode: it logs the pages */
	if (strcmp(cfg.dirty, "mixed"))
		snprintf(lbl, sizeof(lbl), "%s", cfg.dirty);
	else
		snprintf(lbl, sizeof(lbl), "mixed %s", tracking(src));
	/* while QEMU $src alone has the control port open */
	dprintf(ctl_in, "migrating %d\n", k);
	if (!prepare_destination(k, lbl))
		return false;
	/* QEMU 7.2's default bandwidth limit is 128 MiB/s: none here */
	qmp(src, QMP_NO_LIMIT, QMP_S);
	if (!strcmp(cfg.dirty, "unload") && k == cfg.count)
		unloaded = unload_fork_copy(k);
	check_tracking(k, src, lbl);
	snprintf(tot.srcs + n, sizeof(tot.srcs) - n, " %s", tracking(src));
	fc0 = fc_pages();
	if (!run_migration(k, src, lbl))
		return false;
	fc = fc_pages();
	stop_qemu(src);
	cur = k;
	if (kind_of(k) == KIND_NONE) {
		/* only the paused destination has a VM of this run now */
		if (host_unload())
			result(true, lbl, k,
			       "pvx_host and its modules removed from L2 while QEMU %d waits paused",
			       k);
		else
			result(false, lbl, k, "pvx_host and its modules removed from L2 # %s", why);
		qmp(k, "{\"execute\": \"cont\"}", QMP_S);
	}
	report_migration(k, src, lbl, fc - fc0);
	/* the guest's fallback is checked after the landing */
	if (!unloaded && kind_of(k - 1) == KIND_PVX) {
		if (fc > fc0)
			result(true, lbl, k,
			       "the host wrote guest pages while the migration ran (%lld)",
			       fc - fc0);
		else
			result(false, lbl, k,
			       "the host wrote guest pages while the migration ran # none");
	}
	if (!check_landing(k, lbl, unloaded))
		return false;
	if (kind_of(k) == KIND_PVX)
		check_pvx_back(k, lbl);
	tot.done = k;
	return true;
}

/* ---- the run ---------------------------------------------------------------- */

/* The whole run's results, and L2's modules as they were before it. */
static void report_totals(double t_start)
{
	char text[512];

	if (tot.done == cfg.count)
		result(true, cfg.dirty, 0,
		       "%d migrations (dirty tracking of their sources:%s), %lld pages checked after landings, %lld mismatches",
		       tot.done, tot.srcs, tot.checked, tot.bad);
	else
		result(false, cfg.dirty, 0,
		       "%d migrations # %d done, %lld pages checked, %lld mismatches",
		       cfg.count, tot.done, tot.checked, tot.bad);
	diag(cfg.dirty, 0,
	     "totals: %d migrations, %lld pages checked, %lld mismatches, %lld protected pages pinned again, %lld losses of pvx said (fallbacks), %lld locality maps resent, %d NUMA homes re-established, features back in%s ms after L2's word",
	     tot.done, tot.checked, tot.bad, tot.pinned, tot.lost, tot.resent, tot.homes,
	     *tot.back_ms ? tot.back_ms : " -");
	fc_restore();
	if (!strcmp(cfg.dirty, "nohost"))
		host_load(0);
	diag(cfg.dirty, 0,
	     "%d migrations in %.0f s of L2 time since QEMU 0 started",
	     tot.done, now_s() - t_start);
	if (!access(FC_FILE, R_OK))
		diag(cfg.dirty, 0,
		     "L2's pvx/fork_copy: %s",
		     file_head(FC_FILE, sizeof(text) - 1, text, sizeof(text)));
}

/* Tell the guest "done" and wait for QEMU $cur: its status. */
static int finish(void)
{
	dprintf(ctl_in, "done\n");
	if (guest_line("mig finished", 120)) {
		diag(cfg.dirty, 0, "guest: %s", gline);
	} else {
		result(false, cfg.dirty, 0,
		       "the guest ends its run when L2 says done # no 'mig finished' within 120 s");
		/* a guest that does not answer is not waited for until run-l3.sh's timeout */
		vcpu_rips();
		qemu_kill(cur);
	}
	return qemu_wait(cur);
}

static int env_int(const char *name, int def, int min, int max)
{
	const char *v = getenv(name);
	int n = v && *v ? atoi(v) : def;

	return n < min ? min : n > max ? max : n;
}

/* CTL_DIR/mig made empty (the files of an earlier boot removed). */
static bool make_work_dir(void)
{
	char path[PATH_SIZE * 2];
	struct dirent *e;
	DIR *d;

	snprintf(work, sizeof(work), "%s/mig", cfg.ctl_dir);
	d = opendir(work);
	while (d && (e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", work, e->d_name);
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlink(path);
	}
	if (d)
		closedir(d);
	return !mkdir(work, 0755) || errno == EEXIST;
}

/* The control port's FIFOs, opened read-write: no open blocks, no end of file comes. */
static bool open_ctl(void)
{
	char path[PATH_SIZE];

	snprintf(path, sizeof(path), "%s/ctl.in", cfg.ctl_dir);
	ctl_in = open(path, O_RDWR | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/ctl.out", cfg.ctl_dir);
	ctl_out.fd = open(path, O_RDWR | O_CLOEXEC);
	return ctl_in >= 0 && ctl_out.fd >= 0;
}

/*
 * The console for the QEMUs only: stdout moves to @console and becomes
 * /dev/null. SIGTERM and SIGINT come through sig_fd (wait_readable()).
 */
static void setup_fds(void)
{
	sigset_t stop;
	int null = open("/dev/null", O_WRONLY);

	console = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	sig_fd = signalfd(-1, &stop, SFD_CLOEXEC);
}

static void parse_args(int argc, char **argv)
{
	const char *tap_path = getenv("PVX_MIGRATE_TAP");

	if (argc < 3 || !tap_path || !*tap_path) {
		fprintf(stderr, "usage: PVX_MIGRATE_TAP=FILE %s CTL_DIR QEMU ARGS...\n", argv[0]);
		exit(2);
	}
	cfg.ctl_dir = argv[1];
	cfg.argv = argv + 2;
	cfg.argc = argc - 2;
	cfg.dirty = getenv("PVX_MIGRATE_DIRTY") ?: "bitmap";
	cfg.build = getenv("PVX_BUILD") ?: "";
	/* two for unload: one onto L2 with pvx_fork_copy, one without */
	cfg.count = env_int("PVX_MIGRATIONS", strcmp(cfg.dirty, "unload") ? 4 : 2, 1,
			    MAX_MIGRATIONS);
	cfg.ready_s = env_int("PVX_MIGRATE_READY_S", 600, 1, 86400);
	cfg.mig_s = env_int("PVX_MIGRATE_S", 300, 1, 86400);
	tap_fd = open(tap_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (tap_fd < 0) {
		fprintf(stderr, "pvx_migrate_host: %s: %s\n", tap_path, strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	double t_start;
	int k;

	parse_args(argc, argv);
	setup_fds();
	if (!make_work_dir()) {
		result(false, NULL, 0, "cannot make %s: %s", work, strerror(errno));
		return 1;
	}
	if (!open_ctl()) {
		result(false, NULL, 0,
		       "cannot open the control port %s/ctl.in, ctl.out: %s",
		       cfg.ctl_dir, strerror(errno));
		return 1;
	}
	t_start = now_s();
	if (!start_again(0, false)) {
		result(false, cfg.dirty, 0, "QEMU 0 starts with a QMP monitor # %s", start_err);
		stop_all();
	}
	cur = 0;
	if (!guest_line("mig ready", cfg.ready_s)) {
		result(false, cfg.dirty, 0,
		       "the guest's checker says it is ready # nothing within %d s",
		       cfg.ready_s);
		qemu_kill(0);
		qemu_wait(0);
		return 1;
	}
	result(true, cfg.dirty, 0,
	       "the guest's checker runs: the host has written each of its pages once (%s)",
	       gline);
	for (k = 1; k <= cfg.count; k++)
		if (!migrate_once(k))
			break;
	report_totals(t_start);
	return finish();
}
