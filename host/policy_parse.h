/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The words pvx's VM-creation policy (policy.c) accepts: the new_vms
 * parameter and a line written to the pid_policy parameter. Pure
 * functions of the text, so that selftests/unit/ builds this header in
 * userspace and checks them with exact values (Documentation/unit.rst).
 */
#ifndef _PVX_POLICY_PARSE_H
#define _PVX_POLICY_PARSE_H

#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>

/* new_vms: "all" 1, "none" 0 (a trailing newline allowed), else -EINVAL. */
static inline int pvx_new_vms_word(const char *val)
{
	if (sysfs_streq(val, "all"))
		return 1;
	if (sysfs_streq(val, "none"))
		return 0;
	return -EINVAL;
}

/* "on", "off" or "default": 1, 0, or -1 for default; -EINVAL otherwise. */
static inline int pvx_pid_policy_word(const char *word)
{
	if (!strcmp(word, "on"))
		return 1;
	if (!strcmp(word, "off"))
		return 0;
	if (!strcmp(word, "default"))
		return -1;
	return -EINVAL;
}

/*
 * Parse "PID WORD" (one line, blanks around and between) into the PID
 * number (> 0) and pvx_pid_policy_word(): 0, or -EINVAL or -ERANGE
 * (kstrtoint()). Changes @line.
 */
static inline int pvx_pid_policy_parse(char *line, int *nr, int *word)
{
	char *pid_str, *word_str;
	int ret;

	line = strim(line);
	pid_str = strsep(&line, " \t");
	if (!line)
		return -EINVAL;
	word_str = skip_spaces(line);
	if (!*word_str || strpbrk(word_str, " \t\n"))
		return -EINVAL;
	ret = kstrtoint(pid_str, 10, nr);
	if (ret)
		return ret;
	if (*nr <= 0)
		return -EINVAL;
	*word = pvx_pid_policy_word(word_str);
	return *word == -EINVAL ? -EINVAL : 0;
}

#endif /* _PVX_POLICY_PARSE_H */
