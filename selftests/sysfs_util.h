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
#include <sys/utsname.h>
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

#endif /* _PVX_SELFTEST_SYSFS_UTIL_H */
