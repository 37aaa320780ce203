/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the test programs, L3 guest and L2 host (one
 * translation unit each, hence static functions in a header).
 */
#ifndef _PVX_SELFTEST_SYSFS_UTIL_H
#define _PVX_SELFTEST_SYSFS_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The running kernel is @major.@minor or newer (false when unknown). */
static inline bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/* Write @val to @path in one write(): 0 or -errno (of open or write). */
static inline int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The first line of @path, without its newline, into @buf: 0 or -errno. */
static inline int sysfs_read_str(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* The number in the file @dir/@name (a sysfs counter), or -1 when unreadable. */
static inline long long sysfs_read_counter(const char *dir, const char *name)
{
	char path[256], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return atoll(buf);
}

/*
 * The number of the line "@key N" of the file @path (/proc/vmstat, a
 * debugfs counters file such as /sys/kernel/debug/pvx/numa), or @none
 * when the file or the line is not there.
 */
static inline long long read_keyed(const char *path, const char *key, long long none)
{
	long long v = none, x;
	char line[256], name[64];
	FILE *f = fopen(path, "r");

	if (!f)
		return none;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", name, &x) == 2 && !strcmp(name, key)) {
			v = x;
			break;
		}
	fclose(f);
	return v;
}

/*
 * The text of the file @path, whole (malloc'ed), NULL when it cannot be
 * read (or is empty). Read with one getdelim(): a seq_file, such as a
 * test module's results in debugfs, gives its text in pieces.
 */
static inline char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t size = 0;

	if (!f)
		return NULL;
	if (getdelim(&text, &size, '\0', f) < 0) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

/* How @pid ended, as the shell's $? gives it (-1: no such child). */
static inline int wait_rc(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Sleep @ms milliseconds, a signal's interruption included. */
static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Up to @max bytes of the file @path into @buf, on one line (its newlines
 * spaces, the trailing ones dropped, as "$(head -c MAX FILE)" in a test
 * description, without the line breaks); "" when unreadable. Returns @buf.
 */
static inline char *file_head(const char *path, size_t max, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = 0;

	if (max >= size)
		max = size - 1;
	if (fd >= 0) {
		n = read(fd, buf, max);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	for (; n; n--)
		if (buf[n - 1] == '\n')
			buf[n - 1] = ' ';
	return buf;
}

/* ---- cgroup v2 ------------------------------------------------------ */

#define CG2_MNT	"/tmp/pvx-cg2"

struct cg2 {
	char root[128], dir[192];
	bool mounted;		/* root was mounted here (no cgroup2 mount found) */
};

/* Move this process into the group at @dir: 0 or -errno. */
static inline int cg2_enter(const struct cg2 *cg, const char *dir)
{
	char path[256], pid[32];

	(void)cg;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	return write_file(path, pid);
}

/*
 * A new group @name under the cgroup v2 root (mounted at CG2_MNT when
 * there is none) with @controller ("+cpuset", "+memory") enabled for it,
 * made anew if a run left it behind; not entered. 0 or -errno.
 */
static inline int cg2_create(struct cg2 *cg, const char *name, const char *controller)
{
	char line[512], dev[64], mnt[256], type[64], path[256];
	FILE *f = fopen("/proc/mounts", "r");
	int err;

	cg->root[0] = 0;
	cg->dir[0] = 0;
	cg->mounted = false;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %255s %63s", dev, mnt, type) == 3 &&
		    !strcmp(type, "cgroup2") && strlen(mnt) < sizeof(cg->root)) {
			strcpy(cg->root, mnt);
			break;
		}
	if (f)
		fclose(f);
	if (!cg->root[0]) {
		mkdir(CG2_MNT, 0755);
		if (mount("none", CG2_MNT, "cgroup2", 0, NULL))
			return -errno;
		strcpy(cg->root, CG2_MNT);
		cg->mounted = true;
	}
	snprintf(cg->dir, sizeof(cg->dir), "%s/%s", cg->root, name);
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", cg->root);
	err = write_file(path, controller);
	if (err)
		return err;
	rmdir(cg->dir);
	return mkdir(cg->dir, 0755) ? -errno : 0;
}

/* This process back into the root group, the group removed. */
static inline void cg2_destroy(struct cg2 *cg)
{
	if (!cg->dir[0])
		return;
	cg2_enter(cg, cg->root);
	rmdir(cg->dir);
	if (cg->mounted)
		umount(CG2_MNT);
}

#endif /* _PVX_SELFTEST_SYSFS_UTIL_H */
