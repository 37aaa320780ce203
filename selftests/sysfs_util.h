/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the test programs, L3 guest and L2 host (one
 * translation unit each, hence static functions in a header).
 */
#ifndef _PVX_SELFTEST_SYSFS_UTIL_H
#define _PVX_SELFTEST_SYSFS_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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

#endif /* _PVX_SELFTEST_SYSFS_UTIL_H */
