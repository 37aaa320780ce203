// SPDX-License-Identifier: GPL-2.0
/*
 * guest/spinlock_calc.h in userspace: the lock word's free test, what a
 * waiter does with the .head it read and its slot's passed mark, and
 * which turns a waiter may skip, with exact expected values. The lab's
 * lock torture checks the same lock under contention end to end.
 */
#include "spinlock_calc.h"

#include "kselftest_harness.h"

#define S	PVX_TICKET_STEP
#define H	PVX_SPIN_HALTED
#define C	PVX_SPIN_CLAIMED
#define WORD(tail, head)	((u32)(u16)(tail) << 16 | (u16)(head))

TEST(free_word)
{
	static const struct {
		const char *what;
		u32 val;
		bool free;
	} c[] = {
		{ "initial", WORD(0, 0), true },
		{ "held, nobody queued", WORD(S, 0 | C), false },
		{ "released", WORD(S, S), true },
		{ "released with the halted flag", WORD(S, S | H), true },
		{ "served but unclaimed, a waiter queued", WORD(2 * S, S), false },
		{ "claimed at tail (cannot be free)", WORD(S, S | C), false },
		{ "wrapped: tail 0, head 0xfffc", WORD(0, 0xfffc), false },
		{ "wrapped and released", WORD(0, 0), true },
		{ "last ticket released", WORD(0xfffc, 0xfffc | H), true },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].free, pvx_spin_free(c[i].val))
			TH_LOG("%s", c[i].what);
	}
}

TEST(waiter_step)
{
	static const struct {
		const char *what;
		bool passed;
		u16 raw, ticket;
		enum pvx_spin_step step;
	} c[] = {
		{ "ahead", false, 0, 2 * S, PVX_SPIN_STEP_WAIT },
		{ "ours, unclaimed", false, 2 * S, 2 * S, PVX_SPIN_STEP_CLAIM },
		{ "ours, halted flag", false, 2 * S | H, 2 * S,
		  PVX_SPIN_STEP_CLAIM },
		{ "ours, claimed (lost a race)", false, 2 * S | C, 2 * S,
		  PVX_SPIN_STEP_WAIT },
		{ "skipped: head past us", true, 3 * S | C, 2 * S,
		  PVX_SPIN_STEP_REQUEUE },
		/* the hang of the signed distance: passed, a long way back */
		{ "skipped, head half a lap on", true, (u16)(2 * S + 0x8000),
		  2 * S, PVX_SPIN_STEP_REQUEUE },
		/* a lap later .head serves our number to another waiter */
		{ "skipped, head a lap on at our number", true, 2 * S, 2 * S,
		  PVX_SPIN_STEP_REQUEUE },
		{ "not skipped, head past us (never happens)", false, 3 * S,
		  2 * S, PVX_SPIN_STEP_WAIT },
		{ "ours across the wrap", false, 0, 0, PVX_SPIN_STEP_CLAIM },
		{ "ahead across the wrap", false, 0xfffc, 0,
		  PVX_SPIN_STEP_WAIT },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].step,
			  pvx_spin_step(c[i].passed, c[i].raw, c[i].ticket))
			TH_LOG("%s", c[i].what);
	}
}

TEST(skippable)
{
	static const struct {
		const char *what;
		u16 raw, ticket;
		bool skip;
	} c[] = {
		{ "the turn right before ours", S, 2 * S, true },
		{ "with the halted flag", S | H, 2 * S, true },
		{ "claimed", S | C, 2 * S, false },
		{ "claimed and halted", S | C | H, 2 * S, false },
		{ "two turns before ours", 0, 2 * S, false },
		{ "our own turn", 2 * S, 2 * S, false },
		{ "across the wrap", 0xfffc, 0, true },
		{ "across the wrap, claimed", 0xfffc | C, 0, false },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].skip, pvx_spin_skippable(c[i].raw, c[i].ticket))
			TH_LOG("%s", c[i].what);
	}
}

TEST_HARNESS_MAIN
