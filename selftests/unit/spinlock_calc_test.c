// SPDX-License-Identifier: GPL-2.0
/*
 * guest/spinlock_calc.h in userspace: the lock word's free test, the word
 * an acquisition leaves (gen and the priority head wrapping in their own
 * 16 bits), what a waiter does with the word it read, whom it yields to,
 * and which halted waiter an unlock kicks, with exact expected values.
 * The lab's lock torture checks the same lock under contention end to
 * end.
 */
#include "spinlock_calc.h"

#include "kselftest_harness.h"

#define L	PVX_SPIN_LOCKED
/* a lock word from its fields: halted count, gen, priority head and tail */
#define WORD(locked, halted, gen, head, tail)				\
	((u64)(locked) | (u64)(halted) * PVX_SPIN_HALT_ONE |		\
	 (u64)(u16)(gen) << PVX_SPIN_GEN_SHIFT |			\
	 (u64)(u16)(head) << PVX_SPIN_PHEAD_SHIFT |			\
	 (u64)(u16)(tail) << PVX_SPIN_PTAIL_SHIFT)

TEST(fields)
{
	u64 v = WORD(L, 3, 0x1234, 0xfffe, 0xffff);

	EXPECT_EQ(3u, pvx_spin_halted(v));
	EXPECT_EQ(0x1234, pvx_spin_gen(v));
	EXPECT_EQ(0xfffe, pvx_spin_phead(v));
	EXPECT_EQ(0xffff, pvx_spin_ptail(v));
	EXPECT_EQ(PVX_SPIN_WAITERS_MAX, pvx_spin_halted(PVX_SPIN_HALT_MASK));
	EXPECT_EQ(32767ull, PVX_SPIN_WAITERS_MAX);
	EXPECT_EQ(0x2a, pvx_spin_passes(WORD(0, 0, 0x10, 0, 0), 0xffe6));
	EXPECT_EQ(0, pvx_spin_passes(WORD(0, 0, 7, 0, 0), 7));
}

TEST(free_word)
{
	static const struct {
		const char *what;
		u64 val;
		bool free, reserved;
	} c[] = {
		{ "initial", 0, true, false },
		{ "held", WORD(L, 0, 1, 0, 0), false, false },
		{ "released, waiters halted", WORD(0, 5, 9, 0, 0), true, false },
		{ "free, a priority ticket out", WORD(0, 0, 9, 3, 4), false, true },
		{ "held, a priority ticket out", WORD(L, 0, 9, 3, 4), false, true },
		{ "priority queue empty at the wrap", WORD(0, 0, 9, 0xffff, 0xffff),
		  true, false },
		{ "a ticket out across the wrap", WORD(0, 0, 9, 0xffff, 0), false, true },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].free, pvx_spin_free(c[i].val))
			TH_LOG("%s", c[i].what);
		EXPECT_EQ(c[i].reserved, pvx_spin_reserved(c[i].val))
			TH_LOG("%s", c[i].what);
	}
}

TEST(taken)
{
	static const struct {
		const char *what;
		u64 val;
		bool prio;
		u64 want;
	} c[] = {
		{ "initial", 0, false, WORD(L, 0, 1, 0, 0) },
		{ "halted count and tickets kept", WORD(0, 2, 40, 7, 7), false,
		  WORD(L, 2, 41, 7, 7) },
		{ "gen wraps without a carry into the head",
		  WORD(0, 1, 0xffff, 5, 5), false, WORD(L, 1, 0, 5, 5) },
		{ "priority: the next ticket served", WORD(0, 0, 3, 5, 7), true,
		  WORD(L, 0, 4, 6, 7) },
		{ "priority: the head wraps without a carry into the tail",
		  WORD(0, 4, 0xffff, 0xffff, 1), true, WORD(L, 4, 0, 0, 1) },
		{ "priority: the last ticket out served", WORD(0, 0, 8, 0xffff, 0),
		  true, WORD(L, 0, 9, 0, 0) },
		{ "gen and the head wrap together", WORD(0, 0x7fff, 0xffff, 0xffff, 0),
		  true, WORD(L, 0x7fff, 0, 0, 0) },
		{ "gen wraps, the head and the tail at their top",
		  WORD(0, 0, 0xffff, 0xffff, 0xffff), false,
		  WORD(L, 0, 0, 0xffff, 0xffff) },
		{ "priority: the head wraps, the tail at its top",
		  WORD(0, 0, 1, 0xffff, 0xffff), true, WORD(L, 0, 2, 0, 0xffff) },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].want, pvx_spin_taken(c[i].val, c[i].prio))
			TH_LOG("%s", c[i].what);
	}
}

TEST(waiter_step)
{
	static const struct {
		const char *what;
		u64 val;
		u16 since;
		unsigned int limit;
		bool prio;
		u16 ticket;
		enum pvx_spin_step step;
	} c[] = {
		{ "free", WORD(0, 0, 10, 0, 0), 5, 256, false, 0, PVX_SPIN_STEP_TAKE },
		{ "held", WORD(L, 0, 10, 0, 0), 5, 256, false, 0, PVX_SPIN_STEP_WAIT },
		{ "free, halted waiters", WORD(0, 3, 10, 0, 0), 5, 256, false, 0,
		  PVX_SPIN_STEP_TAKE },
		{ "free but reserved", WORD(0, 0, 10, 1, 2), 5, 256, false, 0,
		  PVX_SPIN_STEP_WAIT },
		{ "passed limit - 1 times", WORD(0, 0, 255, 0, 0), 0, 256, false, 0,
		  PVX_SPIN_STEP_TAKE },
		{ "passed limit times, free", WORD(0, 0, 256, 0, 0), 0, 256, false, 0,
		  PVX_SPIN_STEP_PRIORITY },
		{ "passed limit times, held", WORD(L, 0, 256, 0, 0), 0, 256, false, 0,
		  PVX_SPIN_STEP_PRIORITY },
		{ "passes across the gen wrap", WORD(0, 0, 0x0010, 0, 0), 0xfff0, 256,
		  false, 0, PVX_SPIN_STEP_TAKE },
		{ "limit 0 (FIFO): a ticket at once", WORD(0, 0, 7, 0, 0), 7, 0, false,
		  0, PVX_SPIN_STEP_PRIORITY },
		{ "ticket served, free", WORD(0, 0, 9, 4, 6), 0, 256, true, 4,
		  PVX_SPIN_STEP_TAKE },
		{ "ticket served, held", WORD(L, 0, 9, 4, 6), 0, 256, true, 4,
		  PVX_SPIN_STEP_WAIT },
		{ "ticket ahead of ours served", WORD(0, 0, 9, 4, 6), 0, 256, true, 5,
		  PVX_SPIN_STEP_WAIT },
		{ "ticket: passes do not matter", WORD(L, 0, 900, 4, 6), 0, 256, true,
		  5, PVX_SPIN_STEP_WAIT },
		{ "ticket served across the wrap", WORD(0, 0, 9, 0xffff, 1), 0, 256,
		  true, 0xffff, PVX_SPIN_STEP_TAKE },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].step, pvx_spin_step(c[i].val, c[i].since, c[i].limit,
						   c[i].prio, c[i].ticket))
			TH_LOG("%s", c[i].what);
	}
}

TEST(yield_target)
{
	static const struct {
		const char *what;
		u64 val;
		bool prio;
		u16 ticket;
		enum pvx_spin_target target;
		bool served;
	} c[] = {
		{ "held", WORD(L, 0, 1, 0, 0), false, 0, PVX_SPIN_TARGET_HOLDER, false },
		{ "held, our ticket served", WORD(L, 0, 1, 2, 3), true, 2,
		  PVX_SPIN_TARGET_HOLDER, true },
		{ "free", WORD(0, 0, 1, 0, 0), false, 0, PVX_SPIN_TARGET_NONE, false },
		{ "free, reserved for another", WORD(0, 0, 1, 2, 3), false, 0,
		  PVX_SPIN_TARGET_PHEAD, false },
		{ "free, reserved for the ticket before ours", WORD(0, 0, 1, 2, 4), true,
		  3, PVX_SPIN_TARGET_PHEAD, false },
		{ "free, reserved for us", WORD(0, 0, 1, 2, 4), true, 2,
		  PVX_SPIN_TARGET_NONE, true },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].target, pvx_spin_target(c[i].val, c[i].prio,
						       c[i].ticket))
			TH_LOG("%s", c[i].what);
		EXPECT_EQ(c[i].served, pvx_spin_served(c[i].val, c[i].prio,
						       c[i].ticket))
			TH_LOG("%s", c[i].what);
	}
	EXPECT_FALSE(pvx_spin_served(WORD(0, 0, 1, 2, 2), true, 2))
		TH_LOG("no ticket out: a stale ticket equal to the head is not served");
}

TEST(older)
{
	EXPECT_TRUE(pvx_spin_older(1, 2));
	EXPECT_FALSE(pvx_spin_older(2, 1));
	EXPECT_FALSE(pvx_spin_older(5, 5));
	EXPECT_TRUE(pvx_spin_older(0xfff0, 0x0010)) TH_LOG("across the wrap");
	EXPECT_FALSE(pvx_spin_older(0x0010, 0xfff0)) TH_LOG("across the wrap");
	EXPECT_TRUE(pvx_spin_older(0, 0x7fff));
	EXPECT_FALSE(pvx_spin_older(0, 0x8000)) TH_LOG("half the space: not older");
}

TEST(kick_choice)
{
	static const struct {
		const char *what;
		bool head;
		u16 since;
		bool have, best_head;
		u16 best_since;
		bool better;
	} c[] = {
		{ "the first one found", false, 9, false, false, 0, true },
		{ "older than the best", false, 3, true, false, 5, true },
		{ "younger than the best", false, 7, true, false, 5, false },
		{ "as old as the best", false, 5, true, false, 5, false },
		{ "served, younger than the best", true, 7, true, false, 5, true },
		{ "older, but the best is served", false, 1, true, true, 5, false },
		{ "older across the wrap", false, 0xfffe, true, false, 2, true },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].better,
			  pvx_spin_kick_better(c[i].head, c[i].since, c[i].have,
					       c[i].best_head, c[i].best_since))
			TH_LOG("%s", c[i].what);
	}
}

TEST_HARNESS_MAIN
