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
 * Parse "PID WORD" or "PID on MASK" (one line, blanks around and between)
 * into the PID number (> 0), pvx_pid_policy_word() and, with MASK (any
 * base kstrtou32() takes; "on" only), *@features and *@masked true: 0, or
 * -EINVAL or -ERANGE. The line's shape and MASK are checked before the
 * PID's value, the word last. Which masks the host allows is the
 * caller's check. Changes @line.
 */
static inline int pvx_pid_policy_parse(char *line, int *nr, int *word,
				       u32 *features, bool *masked)
{
	char *pid_str, *word_str, *mask_str;
	int ret;

	line = strim(line);
	pid_str = strsep(&line, " \t");
	if (!line)
		return -EINVAL;
	word_str = skip_spaces(line);
	mask_str = strpbrk(word_str, " \t");
	if (mask_str) {
		*mask_str++ = '\0';
		mask_str = skip_spaces(mask_str);
		if (!*mask_str || strpbrk(mask_str, " \t\n") ||
		    kstrtou32(mask_str, 0, features))
			return -EINVAL;
	}
	*masked = mask_str;
	if (!*word_str || strchr(word_str, '\n'))
		return -EINVAL;
	ret = kstrtoint(pid_str, 10, nr);
	if (ret)
		return ret;
	if (*nr <= 0)
		return -EINVAL;
	*word = pvx_pid_policy_word(word_str);
	if (*word == -EINVAL || (*masked && *word != 1))
		return -EINVAL;
	return 0;
}

#endif /* _PVX_POLICY_PARSE_H */
