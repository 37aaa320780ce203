/* SPDX-License-Identifier: GPL-2.0 */
/*
 * l2_ctl.h: a test program's requests to L2 on the control port, the L3
 * guest's second serial port (L2's end is steal-l2.sh's steal_controller):
 * one request line, such as "steal 50" or "pvx off", and L2's answer line
 * ("ok ..." once done, or "err WHY") within 20 s.
 */
#ifndef _PVX_SELFTEST_L2_CTL_H
#define _PVX_SELFTEST_L2_CTL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* L2 answers once it has acted: a steal level applied, a pvx switch made */
#define L2_CTL_REPLY_MS	20000

static int l2_ctl_fd = -1;

/*
 * The port, opened once and raw: no echo of L2's answers back to L2, no
 * line editing. What it held before is dropped. 0 or -errno.
 */
static inline int l2_ctl_open(const char *port)
{
	struct termios t;

	if (l2_ctl_fd >= 0)
		return 0;
	l2_ctl_fd = open(port, O_RDWR | O_NOCTTY);
	if (l2_ctl_fd < 0)
		return -errno;
	if (tcgetattr(l2_ctl_fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(l2_ctl_fd, TCSANOW, &t);
	}
	tcflush(l2_ctl_fd, TCIOFLUSH);
	return 0;
}

static inline long long l2_ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * L2's next line that is not empty, without its CR and LF, into @buf:
 * 0, or -ETIMEDOUT when none came within L2_CTL_REPLY_MS, or -EIO.
 */
static inline int l2_ctl_reply(char *buf, size_t len)
{
	long long deadline = l2_ctl_now_ms() + L2_CTL_REPLY_MS;
	size_t n = 0;

	while (n + 1 < len) {
		struct pollfd p = { .fd = l2_ctl_fd, .events = POLLIN };
		int left = deadline - l2_ctl_now_ms();
		char c;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -ETIMEDOUT;
		if (read(l2_ctl_fd, &c, 1) != 1)
			return -EIO;
		if (c == '\r')
			continue;
		if (c == '\n') {
			if (n == 0)
				continue;
			break;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	return 0;
}

/*
 * Send @request (without its newline) to L2 on @port and wait for its
 * answer: 0 when it is @want, else -errno with @why saying what happened.
 */
static inline int l2_ask(const char *port, const char *request, const char *want,
			 char *why, size_t len)
{
	char line[128];
	int ret = l2_ctl_open(port);

	if (ret) {
		snprintf(why, len, "cannot open %s: %s", port, strerror(-ret));
		return ret;
	}
	snprintf(line, sizeof(line), "%s\n", request);
	if (write(l2_ctl_fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		ret = -errno;
		snprintf(why, len, "write to %s: %s", port, strerror(errno));
		return ret;
	}
	ret = l2_ctl_reply(line, sizeof(line));
	if (ret) {
		snprintf(why, len, "no answer from L2 on %s within %d s", port,
			 L2_CTL_REPLY_MS / 1000);
		return ret;
	}
	if (strcmp(line, want)) {
		snprintf(why, len, "L2 answered '%s'", line);
		return -EPROTO;
	}
	return 0;
}

#endif /* _PVX_SELFTEST_L2_CTL_H */
