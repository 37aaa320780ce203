/* SPDX-License-Identifier: GPL-2.0 */
/*
 * l2_sync.h: a bench program's handshake with the L2 script that runs it,
 * over a serial port of its own (not the console): one line out, one
 * byte back once L2 has read what it needs (KVM's counters, KSM's).
 */
#ifndef PVX_BENCH_L2_SYNC_H
#define PVX_BENCH_L2_SYNC_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int sync_fd = -1;

/* sync_mark: LINE to L2, then wait up to TIMEOUT_MS (-1: for ever) for its byte */
static void sync_mark(const char *line, int timeout_ms)
{
	struct pollfd pfd = { .fd = sync_fd, .events = POLLIN };
	char c;

	if (sync_fd < 0)
		return;
	if (write(sync_fd, line, strlen(line)) < 0 ||
	    poll(&pfd, 1, timeout_ms) != 1 || read(sync_fd, &c, 1) != 1)
		printf("# sync: no answer from L2 to %s", line);
}

/* sync_open: PATH raw at 115200 baud, or -1 (said on stdout) */
static int sync_open(const char *path)
{
	struct termios t;
	int fd = open(path, O_RDWR | O_NOCTTY);

	if (fd < 0 || tcgetattr(fd, &t)) {
		printf("error sync %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	cfmakeraw(&t);
	cfsetspeed(&t, B115200);
	tcsetattr(fd, TCSANOW, &t);
	tcflush(fd, TCIOFLUSH);
	return fd;
}

#endif
