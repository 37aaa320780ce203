// SPDX-License-Identifier: GPL-2.0
/*
 * host/policy_parse.h in userspace: the words of the new_vms parameter
 * and the lines the pid_policy parameter accepts, with exact results.
 */
#include "policy_parse.h"

#include "kselftest_harness.h"

TEST(new_vms_word)
{
	static const struct {
		const char *val;
		int ret;
	} c[] = {
		{ "all", 1 },
		{ "all\n", 1 },
		{ "none", 0 },
		{ "none\n", 0 },
		{ "", -EINVAL },
		{ "\n", -EINVAL },
		{ "al", -EINVAL },
		{ "alll", -EINVAL },
		{ "All", -EINVAL },
		{ " all", -EINVAL },
		{ "all ", -EINVAL },
		{ "all\n\n", -EINVAL },
		{ "on", -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].ret, pvx_new_vms_word(c[i].val))
			TH_LOG("\"%s\"", c[i].val);
	}
}

TEST(pid_policy_word)
{
	EXPECT_EQ(1, pvx_pid_policy_word("on"));
	EXPECT_EQ(0, pvx_pid_policy_word("off"));
	EXPECT_EQ(-1, pvx_pid_policy_word("default"));
	EXPECT_EQ(-EINVAL, pvx_pid_policy_word(""));
	EXPECT_EQ(-EINVAL, pvx_pid_policy_word("ON"));
	EXPECT_EQ(-EINVAL, pvx_pid_policy_word("on\n"));
	EXPECT_EQ(-EINVAL, pvx_pid_policy_word("defaults"));
}

/*
 * a line, as written -> the result, and when it is 0 the PID, the word,
 * whether a features mask was given and which
 */
static const struct {
	const char *line;
	int ret, nr, word;
	bool masked;
	u32 mask;
} parse_cases[] = {
	{ "123 on", 0, 123, 1, false, 0 },
	{ "123 off\n", 0, 123, 0, false, 0 },
	{ "1 default", 0, 1, -1, false, 0 },
	{ "  42\tdefault \r\n", 0, 42, -1, false, 0 },
	{ "7 \t  on", 0, 7, 1, false, 0 },
	{ "+5 on", 0, 5, 1, false, 0 },
	{ "2147483647 off", 0, 2147483647, 0, false, 0 },
	/* the newline before the blank ends the number, as kstrtoint() takes it */
	{ "9\n on", 0, 9, 1, false, 0 },
	{ "", -EINVAL, 0, 0, false, 0 },
	{ "\t\r\n", -EINVAL, 0, 0, false, 0 },
	{ "123", -EINVAL, 0, 0, false, 0 },
	{ "123 ", -EINVAL, 0, 0, false, 0 },
	{ "123\n", -EINVAL, 0, 0, false, 0 },
	{ "on", -EINVAL, 0, 0, false, 0 },
	{ "123 on off", -EINVAL, 0, 0, false, 0 },
	{ "123 on\toff", -EINVAL, 0, 0, false, 0 },
	{ "123 ON", -EINVAL, 0, 0, false, 0 },
	{ "123 maybe", -EINVAL, 0, 0, false, 0 },
	{ "0 on", -EINVAL, 0, 0, false, 0 },
	{ "-0 on", -EINVAL, 0, 0, false, 0 },
	{ "-1 on", -EINVAL, 0, 0, false, 0 },
	{ "12a on", -EINVAL, 0, 0, false, 0 },
	{ "0x10 on", -EINVAL, 0, 0, false, 0 },
	{ " on 123", -EINVAL, 0, 0, false, 0 },
	{ "2147483648 on", -ERANGE, 0, 0, false, 0 },
	{ "99999999999999999999 on", -ERANGE, 0, 0, false, 0 },
	/* the PID's errors come after the word's shape, before its value */
	{ "2147483648 on off", -EINVAL, 0, 0, false, 0 },
	{ "2147483648 maybe", -ERANGE, 0, 0, false, 0 },
	/* "PID on MASK": any base, "on" only, one word, checked before the PID */
	{ "123 on 0x3", 0, 123, 1, true, 0x3 },
	{ " 9 on\t\t017\r\n", 0, 9, 1, true, 017 },
	{ "5 on 31", 0, 5, 1, true, 31 },
	{ "5 on 0", 0, 5, 1, true, 0 },
	{ "5 on 0xffffffff", 0, 5, 1, true, 0xffffffff },
	{ "5 on 0x100000000", -EINVAL, 0, 0, false, 0 },
	{ "5 on -1", -EINVAL, 0, 0, false, 0 },
	{ "5 on 3x", -EINVAL, 0, 0, false, 0 },
	{ "5 on 3 4", -EINVAL, 0, 0, false, 0 },
	{ "5 off 0x3", -EINVAL, 0, 0, false, 0 },
	{ "5 default 0x3", -EINVAL, 0, 0, false, 0 },
	{ "5 maybe 0x3", -EINVAL, 0, 0, false, 0 },
	{ "0 on 0x3", -EINVAL, 0, 0, false, 0 },
	{ "2147483648 on 0x3", -ERANGE, 0, 0, false, 0 },
	{ "2147483648 on 0x1g", -EINVAL, 0, 0, false, 0 },
};

TEST(pid_policy_parse)
{
	unsigned int i;
	int nr, word, ret;
	char buf[64];
	size_t len;

	for (i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		u32 features = 0xdead;
		bool masked = true;

		len = strlen(parse_cases[i].line) + 1;
		ASSERT_LE(len, sizeof(buf));
		memcpy(buf, parse_cases[i].line, len);
		nr = -2;
		word = -2;
		ret = pvx_pid_policy_parse(buf, &nr, &word, &features, &masked);
		EXPECT_EQ(parse_cases[i].ret, ret) TH_LOG("\"%s\"", parse_cases[i].line);
		if (ret || parse_cases[i].ret)
			continue;
		EXPECT_EQ(parse_cases[i].nr, nr) TH_LOG("\"%s\"", parse_cases[i].line);
		EXPECT_EQ(parse_cases[i].word, word) TH_LOG("\"%s\"", parse_cases[i].line);
		EXPECT_EQ(parse_cases[i].masked, masked)
			TH_LOG("\"%s\"", parse_cases[i].line);
		if (masked)
			EXPECT_EQ(parse_cases[i].mask, features)
				TH_LOG("\"%s\"", parse_cases[i].line);
	}
}

TEST_HARNESS_MAIN
