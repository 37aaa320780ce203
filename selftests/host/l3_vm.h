/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One L3 guest in QEMU, for the programs that run on the L2 host and boot
 * their own guests (make bench's drivers): an argument vector built as
 * it goes, QEMU started with its console in a file (optionally pinned
 * to a CPU list), waited for with a time limit the way timeout(1) does
 * (SIGTERM, then SIGKILL 5 s later, exit 124), its console searched,
 * its vCPU threads found ("CPU N/KVM"); a CPU list read into a set.
 * Include it after defining _GNU_SOURCE, as the programs that use it do.
 */
#ifndef PVX_L3_VM_H
#define PVX_L3_VM_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sysfs_util.h"

#ifndef __printf
#define __printf(a, b) __attribute__((format(printf, a, b)))
#endif

#define L3_VM_MAX_ARGS	128
#define L3_VM_MAX_VCPUS	64
#define L3_VM_KILL_S	5	/* SIGTERM to SIGKILL, as timeout -k 5 */

struct l3_args {
	char *v[L3_VM_MAX_ARGS + 1];
	int n;
	bool overflow;		/* an argument did not fit: l3_vm_start refuses */
};

struct l3_vm {
	pid_t pid;
	char log[256];		/* the console, QEMU's stdout */
	char err[256];		/* QEMU's stderr */
	struct timespec t0;
	int status;		/* the shell's $?: 124 after the time limit */
	bool ended;
};

/* Append one argument, printf-style, to @a (a copy the vector owns). */
static inline __printf(2, 3) void l3_arg(struct l3_args *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s || a->n >= L3_VM_MAX_ARGS) {
		free(s);
		a->overflow = true;
		return;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static inline void l3_args_free(struct l3_args *a)
{
	while (a->n > 0)
		free(a->v[--a->n]);
	a->overflow = false;
}

static inline double l3_vm_elapsed_s(const struct l3_vm *vm)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - vm->t0.tv_sec) + (t.tv_nsec - vm->t0.tv_nsec) / 1e9;
}

/* A CPU list as taskset -c takes it ("0-3,8") into @set: 0 or -EINVAL. */
static inline int l3_cpulist(const char *cpus, cpu_set_t *set)
{
	int lo, hi, used;

	CPU_ZERO(set);
	while (*cpus) {
		if (sscanf(cpus, "%d%n", &lo, &used) != 1)
			return -EINVAL;
		cpus += used;
		hi = lo;
		if (*cpus == '-' && sscanf(cpus + 1, "%d%n", &hi, &used) == 1)
			cpus += used + 1;
		for (; lo <= hi && lo < CPU_SETSIZE; lo++)
			CPU_SET(lo, set);
		if (*cpus == '\n')	/* the end of a sysfs cpulist */
			break;
		if (*cpus == ',')
			cpus++;
		else if (*cpus)
			return -EINVAL;
	}
	return 0;
}

/*
 * The arguments every bench guest shares: its console on QEMU's stdout
 * (no display, no default devices, no reboot: a reset ends QEMU) and
 * the kernel and initramfs it boots; the caller adds -append.
 */
static inline void l3_args_console(struct l3_args *a)
{
	l3_arg(a, "-nographic");
	l3_arg(a, "-no-reboot");
	l3_arg(a, "-nodefaults");
	l3_arg(a, "-serial");
	l3_arg(a, "stdio");
}

static inline void l3_args_boot(struct l3_args *a, const char *kernel, const char *initrd)
{
	l3_arg(a, "-kernel");
	l3_arg(a, "%s", kernel);
	l3_arg(a, "-initrd");
	l3_arg(a, "%s", initrd);
}

/* In the child: pin to @cpus (a cpu list as taskset -c takes, or NULL). */
static inline int l3_pin(const char *cpus)
{
	cpu_set_t set;

	if (!cpus)
		return 0;
	if (l3_cpulist(cpus, &set))
		return -EINVAL;
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/*
 * Start QEMU with @a (a->v[0] is the program), its console into @log and
 * its stderr into @log with ".err" appended, pinned to @cpus (NULL: not
 * pinned). 0 or -errno; the child's exec failure shows as exit 127.
 */
static inline int l3_vm_start(struct l3_vm *vm, const struct l3_args *a, const char *log,
			      const char *cpus)
{
	int out, err;

	memset(vm, 0, sizeof(*vm));
	if (a->overflow || a->n == 0)
		return -E2BIG;
	snprintf(vm->log, sizeof(vm->log), "%s", log);
	snprintf(vm->err, sizeof(vm->err), "%s.err", log);
	clock_gettime(CLOCK_MONOTONIC, &vm->t0);
	fflush(NULL);
	vm->pid = fork();
	if (vm->pid < 0)
		return -errno;
	if (vm->pid > 0)
		return 0;
	out = open(vm->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	err = open(vm->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
		_exit(126);
	if (l3_pin(cpus))
		_exit(126);
	execvp(a->v[0], a->v);
	_exit(127);
}

/* Whether QEMU still runs; reaped (vm->status set) once it ended. */
static inline bool l3_vm_running(struct l3_vm *vm)
{
	int st;

	if (vm->ended || vm->pid <= 0)
		return false;
	if (waitpid(vm->pid, &st, WNOHANG) == 0)
		return true;
	vm->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	vm->ended = true;
	return false;
}

/*
 * Wait for QEMU until @limit_s seconds after its start (0: no limit),
 * then stop it as timeout -k 5 does. Its status, 124 if it was stopped.
 */
static inline int l3_vm_wait(struct l3_vm *vm, double limit_s)
{
	bool stopped = false;
	double kill_at = 0;

	while (l3_vm_running(vm)) {
		double t = l3_vm_elapsed_s(vm);

		if (limit_s > 0 && t >= limit_s && !stopped) {
			kill(vm->pid, SIGTERM);
			stopped = true;
			kill_at = t + L3_VM_KILL_S;
		}
		if (stopped && t >= kill_at)
			kill(vm->pid, SIGKILL);
		sleep_ms(100);
	}
	if (stopped)
		vm->status = 124;
	return vm->status;
}

/* Stop QEMU now (SIGTERM, SIGKILL after 5 s) and reap it. */
static inline int l3_vm_stop(struct l3_vm *vm)
{
	return l3_vm_wait(vm, 0.001);
}

/*
 * The first console line that holds @needle into @line (the rest of the
 * line, from @needle on); 0, or -ENOENT when there is none (yet).
 */
static inline int l3_vm_console_find(const struct l3_vm *vm, const char *needle, char *line,
				     size_t size)
{
	char *text = read_text(vm->log), *hit, *end;

	if (!text)
		return -ENOENT;
	hit = strstr(text, needle);
	if (!hit) {
		free(text);
		return -ENOENT;
	}
	end = strpbrk(hit, "\r\n");
	if (end)
		*end = '\0';
	snprintf(line, size, "%s", hit);
	free(text);
	return 0;
}

/* Wait up to @secs for a console line with @needle while QEMU runs. */
static inline int l3_vm_console_wait(struct l3_vm *vm, const char *needle, char *line,
				     size_t size, double secs)
{
	double until = l3_vm_elapsed_s(vm) + secs;

	for (;;) {
		if (!l3_vm_console_find(vm, needle, line, size))
			return 0;
		if (!l3_vm_running(vm) || l3_vm_elapsed_s(vm) >= until)
			return l3_vm_console_find(vm, needle, line, size);
		sleep_ms(200);
	}
}

/*
 * QEMU's vCPU threads: tids[i] is vCPU i's thread ("CPU i/KVM"), 0 where
 * none was found. The number of vCPUs found.
 */
static inline int l3_vm_vcpu_threads(pid_t qemu, pid_t *tids, int max)
{
	char path[300], comm[32];
	struct dirent *d;
	int found = 0, idx;
	DIR *dir;

	memset(tids, 0, sizeof(*tids) * max);
	snprintf(path, sizeof(path), "/proc/%d/task", qemu);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", qemu, d->d_name);
		if (sysfs_read_str(path, comm, sizeof(comm)) < 0)
			continue;
		if (sscanf(comm, "CPU %d/KVM", &idx) == 1 && idx >= 0 && idx < max && !tids[idx]) {
			tids[idx] = atoi(d->d_name);
			found++;
		}
	}
	closedir(dir);
	return found;
}

/*
 * The next line of a console text at *@at, NUL-ended in place and its
 * CRs removed (a serial console ends lines with CR LF); *@at moves past
 * it. NULL at the end.
 */
static inline char *l3_console_line(char **at)
{
	char *line = *at, *next;
	size_t len;

	if (!line || !*line)
		return NULL;
	next = strchr(line, '\n');
	if (next)
		*next++ = '\0';
	else
		next = line + strlen(line);
	for (len = strlen(line); len && line[len - 1] == '\r'; len--)
		line[len - 1] = '\0';
	*at = next;
	return line;
}

/*
 * What an L3 bench guest printed between its PVX-BENCH-BEGIN and
 * PVX-BENCH-END lines (selftests/guest/bench/pvx_bench_guest.c) on @vm's console,
 * CRs removed: @res->text (malloc'ed, "" when none), @res->ended when
 * the END line came, @res->last the console's last line (why not).
 * 0, or -ENOMEM.
 */
struct l3_results {
	char *text;
	bool ended;
	char last[256];
};

static inline int l3_vm_results(const struct l3_vm *vm, struct l3_results *res)
{
	char *log = read_text(vm->log), *at = log, *line, *end = NULL;
	bool inside = false;
	size_t n = 0, len;

	memset(res, 0, sizeof(*res));
	res->text = calloc(1, log ? strlen(log) + 1 : 1);
	if (!res->text) {
		free(log);
		return -ENOMEM;
	}
	while ((line = l3_console_line(&at))) {
		len = strlen(line);
		if (*line)
			end = line;
		/* firmware leaves terminal escapes before the first line */
		if (!inside && len >= 15 && !strcmp(line + len - 15, "PVX-BENCH-BEGIN")) {
			inside = true;
		} else if (inside && !strcmp(line, "PVX-BENCH-END")) {
			inside = false;
			res->ended = true;
		} else if (inside) {
			n += sprintf(res->text + n, "%s\n", line);
		}
	}
	snprintf(res->last, sizeof(res->last), "%s", end ? end : "");
	free(log);
	return 0;
}

#endif
