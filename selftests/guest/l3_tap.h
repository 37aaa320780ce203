/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the L3 test programs that init.sh runs with run_test and
 * that do part of its work: its step lines (and failures) on the
 * console, a child process whose stdout the program reads, the results
 * of another TAP producer (such a child, a test module's results file)
 * relayed as the program's own, a file's text whole, a module's sysfs
 * files as comments, and the --expect-host|--expect-fallback argument.
 */
#ifndef _PVX_SELFTEST_L3_TAP_H
#define _PVX_SELFTEST_L3_TAP_H

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "kselftest.h"
#include "sysfs_util.h"

/* One line on the console, where init.sh's progress and failures go. */
static inline __printf(1, 2) void console_printf(const char *fmt, ...)
{
	int con = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	va_list ap;

	if (con < 0)
		return;
	va_start(ap, fmt);
	vdprintf(con, fmt, ap);
	va_end(ap);
	close(con);
}

/*
 * init.sh's progress line for a step of the program's: run-l3.sh times
 * the boot's steps by these lines and names the last one when L3 hangs.
 * Straight to the console, where init.sh's own go: the program's output
 * is a file until it exits.
 */
static inline void console_step(const char *what)
{
	char uptime[64] = "?";

	sysfs_read_str("/proc/uptime", uptime, sizeof(uptime));
	uptime[strcspn(uptime, " ")] = '\0';
	console_printf("pvx-l3: %s (uptime %s s)\n", what, uptime);
}

/*
 * One line of TAP output, relayed: a result as this program's next, its
 * description after @prefix (a SKIP stays a SKIP, with its reason), a
 * diagnostic as it is; the producer's version, plan and totals lines are
 * its own. *@results counts the results relayed.
 */
static inline void relay_line(char *line, const char *prefix, unsigned int *results)
{
	bool ok = !strncmp(line, "ok ", 3);
	char *desc, *skip, name[512];

	line[strcspn(line, "\n")] = '\0';
	if (ok || !strncmp(line, "not ok ", 7)) {
		desc = strchr(line + (ok ? 3 : 7), ' ');
		desc = desc ? desc + 1 : "";
		skip = ok ? strstr(desc, "# SKIP ") : NULL;
		++*results;
		if (skip == desc) {
			ksft_test_result_skip("%s%s\n", prefix, desc + 7);
		} else if (skip && skip[-1] == ' ') {
			/* "ok N name # SKIP why", as ksft_test_result_code() writes it */
			skip[-1] = '\0';
			snprintf(name, sizeof(name), "%s%s", prefix, desc);
			ksft_test_result_code(KSFT_SKIP, name, "%s", skip + 7);
		} else if (ok) {
			ksft_test_result_pass("%s%s\n", prefix, desc);
		} else {
			ksft_test_result_fail("%s%s\n", prefix, desc);
		}
	} else if (!strncmp(line, "# Totals", 8) || !strncmp(line, "# Planned", 9) ||
		   !strncmp(line, "1..", 3) || !strncmp(line, "TAP version", 11)) {
		return;
	} else if (line[0] == '#') {
		printf("%s\n", line);
	} else if (line[0]) {
		ksft_print_msg("%s\n", line);	/* "Bail out!" */
	}
}

/* The TAP @text's results relayed after @prefix (@text is cut into lines). */
static inline void relay_text(char *text, const char *prefix)
{
	unsigned int results = 0;
	char *pos = text, *line;

	while ((line = strsep(&pos, "\n")))
		relay_line(line, prefix, &results);
}

/*
 * Run @fn(@arg) in a child process whose stdout (line-buffered, as
 * ksft_print_header() left it: a killed child keeps the lines it wrote)
 * is a pipe, read here through *@out, NULL when there is no pipe. The
 * child exits 0 after @fn. Its pid, or -1 (errno set) when it did not
 * start; *@out then gives no line.
 */
static inline pid_t piped_child(void (*fn)(const void *arg), const void *arg, FILE **out)
{
	int p[2];
	pid_t pid;

	*out = NULL;
	if (pipe(p))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		fn(arg);
		fflush(stdout);
		_exit(0);
	}
	close(p[1]);
	*out = fdopen(p[0], "r");
	if (!*out)
		close(p[0]);
	return pid;
}

/*
 * Run @fn(@arg) in a child process (piped_child()) with its TAP relayed
 * as this program's results. One that exits neither 0 nor 4 without a
 * failed result (killed, or a bail-out) is one failed result more, "@name
 * exits N".
 */
static inline void run_child_relayed(void (*fn)(const void *arg), const void *arg,
				     const char *name)
{
	unsigned int results = 0, failed = 0;
	char *line = NULL;
	size_t len = 0;
	FILE *out;
	pid_t pid = piped_child(fn, arg, &out);
	int rc;

	while (out && getline(&line, &len, out) > 0) {
		failed += !strncmp(line, "not ok ", 7);
		relay_line(line, "", &results);
	}
	free(line);
	if (out)
		fclose(out);
	rc = wait_rc(pid);
	if (rc != 0 && rc != KSFT_SKIP && !failed)
		ksft_test_result_fail("%s exits %d\n", name, rc);
}

/*
 * Each regular file of the directory @dir (a module's sysfs directory)
 * whose name starts with @start as a "# @prefix/NAME: VALUE" comment,
 * VALUE its first line ("" when unreadable), in name order. run-l3.sh
 * reads some of them.
 */
static inline void print_sysfs_matching(const char *dir, const char *prefix,
					const char *start)
{
	struct dirent **names;
	char path[512], v[128];
	int i, n = scandir(dir, &names, NULL, alphasort);

	for (i = 0; i < n; i++) {
		if (names[i]->d_type == DT_REG &&
		    !strncmp(names[i]->d_name, start, strlen(start))) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			if (sysfs_read_str(path, v, sizeof(v)))
				v[0] = '\0';
			ksft_print_msg("%s/%s: %s\n", prefix, names[i]->d_name, v);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/* Each regular file of @dir, as print_sysfs_matching() prints them. */
static inline void print_sysfs_dir(const char *dir, const char *prefix)
{
	print_sysfs_matching(dir, prefix, "");
}

/*
 * --expect-host or --expect-fallback: whether the L2 host serves pvx into
 * *@host. False when @arg is neither.
 */
static inline bool parse_expect(const char *arg, bool *host)
{
	*host = !strcmp(arg, "--expect-host");
	return *host || !strcmp(arg, "--expect-fallback");
}

#endif /* _PVX_SELFTEST_L3_TAP_H */
