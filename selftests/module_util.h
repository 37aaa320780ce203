/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Module and kernel-log helpers for the test programs that check a
 * module's life themselves (load with parameters, refusals, unload while
 * in use, what it said in dmesg): the system calls insmod and rmmod make,
 * so that a refusal is an errno the test can name, not an exit status.
 */
#ifndef _PVX_SELFTEST_MODULE_UTIL_H
#define _PVX_SELFTEST_MODULE_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sysfs_util.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE	4	/* <linux/module.h>, 5.17 */
#endif

/*
 * Load the module file @path with @params ("" for none): 0 or -errno. A
 * file not named *.ko (a distribution's kvm-amd.ko.xz) the kernel
 * decompresses itself (CONFIG_MODULE_DECOMPRESS, as Debian's 6.12 has).
 */
static inline int module_load(const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;
	size_t n = strlen(path);
	int flags = n > 3 && !strcmp(path + n - 3, ".ko") ? 0 : MODULE_INIT_COMPRESSED_FILE;

	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params ? params : "", flags))
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Unload the module @name as rmmod does (O_NONBLOCK: a module in use is
 * refused with EWOULDBLOCK, not waited for): 0 or -errno.
 */
static inline int module_unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

/* Whether the module @name is in /proc/modules. */
static inline bool module_is_loaded(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	bool found = false;
	FILE *f = fopen("/proc/modules", "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, name, n) && line[n] == ' ';
	if (f)
		fclose(f);
	return found;
}

/* Whether @path exists. */
static inline bool path_exists(const char *path)
{
	return !access(path, F_OK);
}

/*
 * The kernel log as the ring buffer holds it now (malloc'ed, NUL
 * terminated), NULL when it cannot be read. Each record comes with its
 * "<level>[time] " prefix, which the ring buffer does not store: room
 * for three times the buffer, else READ_ALL leaves out the oldest
 * records of a full one, and line numbers (the marks) would move.
 */
static inline char *dmesg_read(void)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), n;
	char *buf;

	if (size <= 0)
		return NULL;
	size *= 3;
	buf = malloc(size + 1);
	if (!buf)
		return NULL;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

/* The lines of the kernel log now, the mark dmesg_count_since() counts from. */
static inline int dmesg_lines(void)
{
	char *log = dmesg_read(), *p;
	int n = 0;

	for (p = log; p && *p; p++)
		n += *p == '\n';
	free(log);
	return n;
}

/*
 * The line at *@pos of a log from dmesg_read(), its newline cut off (the
 * log is changed in place), and *@pos moved to the next; NULL at the end.
 */
static inline char *dmesg_next_line(char **pos)
{
	char *line = *pos, *end;

	if (!line || !*line)
		return NULL;
	end = strchr(line, '\n');
	if (end)
		*end++ = 0;
	*pos = end;
	return line;
}

/*
 * How many lines of the kernel log after its first @from lines contain
 * @needle; -1 when the log cannot be read. The oldest lines may leave a
 * full ring buffer meanwhile: the tests read it soon after their mark.
 */
static inline int dmesg_count_since(int from, const char *needle)
{
	char *log = dmesg_read(), *pos = log, *line;
	int n = 0, i = 0;

	if (!log)
		return -1;
	while ((line = dmesg_next_line(&pos)))
		n += i++ >= from && strstr(line, needle);
	free(log);
	return n;
}

/* Whether @line contains one of @needles (a NULL-terminated list). */
static inline bool line_has_any(const char *line, const char *const *needles)
{
	while (*needles)
		if (strstr(line, *needles++))
			return true;
	return false;
}

/*
 * The first line of the kernel log after its first @from lines that
 * contains one of @needles (NULL-terminated), and the @after lines that
 * follow it (a splat's registers and call trace), into @buf, one line
 * each with its newline, cut to fit @size: 1 found, 0 none (@buf empty),
 * -1 when the log cannot be read. Lines keep their "<level>" prefix.
 */
static inline int dmesg_find_since(int from, const char *const *needles, int after,
				   char *buf, size_t size)
{
	char *log = dmesg_read(), *pos = log, *line;
	size_t len = 0;
	int i = 0, left = -1;

	if (!log)
		return -1;
	buf[0] = 0;
	while (left && (line = dmesg_next_line(&pos))) {
		if (left < 0 && (i++ < from || !line_has_any(line, needles)))
			continue;
		left = left < 0 ? after : left - 1;
		if (len + 1 < size)
			len += snprintf(buf + len, size - len, "%s\n", line);
	}
	free(log);
	return left >= 0;
}

/*
 * The lines of the kernel log that contain one of @needles (NULL
 * terminated), the last @last of them (0: all), on stdout as "# dmesg: "
 * comments without the "<level>" that dmesg(1) does not show either.
 */
static inline void dmesg_print(const char *const *needles, int last)
{
	char *log = dmesg_read(), *pos = log, *line, *end;
	int found = 0, i = 0;

	if (!log)
		return;
	end = log + strlen(log);
	while ((line = dmesg_next_line(&pos)))
		found += line_has_any(line, needles);
	for (line = log; line < end; line += strlen(line) + 1) {
		if (!line_has_any(line, needles) || (last && i++ < found - last))
			continue;
		if (line[0] == '<' && strchr(line, '>'))
			line = strchr(line, '>') + 1;
		printf("# dmesg: %s\n", line);
	}
	free(log);
}

/*
 * Whether @line opens or closes a memcg OOM report that pvx_nomem_test
 * provokes on purpose (from "pvx_nomem_test invoked oom-killer" to "Out
 * of memory and no killable processes": its call trace is the
 * allocation failing as that test wants): @in_report is updated, and
 * true returned for every line of such a report.
 */
static inline bool dmesg_in_nomem_oom(const char *line, bool *in_report)
{
	if (strstr(line, "pvx_nomem_test invoked oom-killer"))
		*in_report = true;
	if (!*in_report)
		return false;
	if (strstr(line, "Out of memory and no killable processes"))
		*in_report = false;
	return true;
}

/*
 * The lines of the kernel log after its first @from lines that show a
 * kernel bug (BUG, WARNING, Oops, a call trace, a general protection
 * fault), pvx_nomem_test's OOM reports left out: how many (-1 when the
 * log cannot be read), the first ones into @buf (one line each).
 */
static inline int dmesg_splats_since(int from, char *buf, size_t size)
{
	static const char *const splat[] = { "BUG", "WARNING", "Oops", "Call Trace",
					     "general protection", NULL };
	char *log = dmesg_read(), *pos = log, *line;
	bool in_oom = false;
	size_t len = 0;
	int i = 0, n = 0;

	if (!log)
		return -1;
	buf[0] = 0;
	while ((line = dmesg_next_line(&pos))) {
		if (i++ < from || dmesg_in_nomem_oom(line, &in_oom) ||
		    !line_has_any(line, splat))
			continue;
		if (!n++ || len + 1 < size)
			len += snprintf(buf + len, size - len, "%s\n", line);
		len = len < size ? len : size - 1;
	}
	free(log);
	return n;
}

/* How many lines of the whole kernel log contain @needle (-1: unreadable). */
static inline int dmesg_count(const char *needle)
{
	return dmesg_count_since(0, needle);
}

/*
 * The module state a test needs: @name loaded or absent. A module not
 * loaded is loaded from $PVX_BUILD/host/@name.ko (the lab's and
 * run-l2.sh's build; scripts/lab.sh sets it), after pvx_host for every
 * other pvx module (they use its symbols); one loaded is unloaded after
 * the modules that hold it. Each returns NULL when the host is in the
 * state, else why not (a static string, for the fixture's SKIP).
 */
static inline bool pvx_module_file(const char *name, char *buf, size_t size)
{
	const char *build = getenv("PVX_BUILD");

	if (!build)
		return false;
	snprintf(buf, size, "%s/host/%s.ko", build, name);
	return true;
}

static inline const char *module_ensure_loaded(const char *name)
{
	static char why[600];
	char ko[512];
	const char *dep;
	int err;

	if (module_is_loaded(name))
		return NULL;
	if (strcmp(name, "pvx_host") && !strncmp(name, "pvx_", 4)) {
		dep = module_ensure_loaded("pvx_host");
		if (dep)
			return dep;
	}
	if (!pvx_module_file(name, ko, sizeof(ko))) {
		snprintf(why, sizeof(why), "%s not loaded, no PVX_BUILD to load it from", name);
		return why;
	}
	err = module_load(ko, "");
	if (!err)
		return NULL;
	snprintf(why, sizeof(why), "%s not loaded: loading %s: %s", name, ko, strerror(-err));
	return why;
}

static inline const char *module_ensure_absent(const char *name)
{
	static char why[600];
	char path[256];
	struct dirent *holder;
	DIR *dir;
	const char *held;
	int err;

	if (!module_is_loaded(name))
		return NULL;
	snprintf(path, sizeof(path), "/sys/module/%s/holders", name);
	dir = opendir(path);
	while (dir && (holder = readdir(dir))) {
		if (holder->d_name[0] == '.')
			continue;
		held = module_ensure_absent(holder->d_name);
		if (held) {
			closedir(dir);
			return held;
		}
	}
	if (dir)
		closedir(dir);
	err = module_unload(name);
	if (!err)
		return NULL;
	snprintf(why, sizeof(why), "%s loaded: unloading it: %s", name, strerror(-err));
	return why;
}

/*
 * Write @value to the module parameter @dir/@name and say whether it was
 * refused with the old value kept: the write fails, and the parameter
 * reads as before.
 */
static inline bool param_refused(const char *dir, const char *name, const char *value)
{
	char path[256], before[64], after[64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (sysfs_read_str(path, before, sizeof(before)))
		return false;
	if (!write_file(path, value))
		return false;
	return !sysfs_read_str(path, after, sizeof(after)) && !strcmp(before, after);
}

#endif /* _PVX_SELFTEST_MODULE_UTIL_H */
