// SPDX-License-Identifier: GPL-2.0
/*
 * guest/spinlock_calc.h in userspace: the lock word's fields, the queue
 * tail's encoding, when a locker that is not queued may take the word,
 * and the words a steal, a queue head's acquisition, a head's halt and
 * an unlock leave, with exact expected values. The lab's lock torture
 * checks the same lock under contention end to end.
 */
#include "spinlock_calc.h"

#include "kselftest_harness.h"

#define L	PVX_SPIN_LOCKED
#define H	PVX_SPIN_HALTED
#define W	PVX_SPIN_WAKING
/* a lock word from its fields: bits 0-2, passes, head's CPU + 1, tail */
#define WORD(bits, passes, head, tail)					\
	((u64)(bits) |							\
	 (u64)(u16)(passes) << PVX_SPIN_PASSES_SHIFT |			\
	 (u64)(u16)(head) << PVX_SPIN_HEAD_SHIFT |			\
	 (u64)(u16)(tail) << PVX_SPIN_TAIL_SHIFT)

TEST(fields)
{
	u64 v = WORD(L, 0x1234, 8, 0xfffe);

	EXPECT_EQ(0x1234, pvx_spin_passes(v));
	EXPECT_EQ(7, pvx_spin_head_cpu(v));
	EXPECT_EQ(-1, pvx_spin_head_cpu(WORD(L, 3, 0, 9)));
	EXPECT_EQ(0xfffe, pvx_spin_tail(v));
	EXPECT_EQ(16383u, PVX_SPIN_CPUS_MAX);
}

TEST(tail_encoding)
{
	static const struct {
		int cpu;
		unsigned int idx;
		u16 tail;
	} c[] = {
		{ 0, 0, 4 }, { 0, 3, 7 }, { 1, 0, 8 }, { 5, 2, 26 },
		{ 16382, 3, 0xffff },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		u16 t = pvx_spin_tail_of(c[i].cpu, c[i].idx);

		EXPECT_EQ(c[i].tail, t) TH_LOG("cpu %d idx %u", c[i].cpu, c[i].idx);
		EXPECT_EQ(c[i].cpu, pvx_spin_tail_cpu(t));
		EXPECT_EQ(c[i].idx, pvx_spin_tail_idx(t));
		/* 0 is "nobody queued": no node encodes to it */
		EXPECT_NE(0, t);
	}
}

TEST(head_spinning)
{
	EXPECT_FALSE(pvx_spin_head_spinning(WORD(L, 0, 0, 8)));
	EXPECT_TRUE(pvx_spin_head_spinning(WORD(L, 0, 3, 8)));
	EXPECT_FALSE(pvx_spin_head_spinning(WORD(L | H, 0, 3, 8)));
	EXPECT_FALSE(pvx_spin_head_spinning(WORD(W, 0, 3, 8)));
}

TEST(may_steal)
{
	static const struct {
		const char *what;
		u64 val;
		unsigned int limit;
		bool preempted, may;
	} c[] = {
		{ "initial", 0, 256, false, true },
		{ "held", WORD(L, 0, 0, 0), 256, false, false },
		{ "held, queued, head preempted", WORD(L, 3, 2, 8), 256, true, false },
		{ "free, queued, head not named yet", WORD(0, 0, 0, 8), 256, false, true },
		{ "free, queued, head spins on a running vCPU", WORD(0, 0, 2, 8), 256,
		  false, false },
		{ "free, queued, head's vCPU preempted", WORD(0, 0, 2, 8), 256, true, true },
		{ "free, queued, head preempted, passed 255 times", WORD(0, 255, 2, 8),
		  256, true, true },
		{ "free, queued, head preempted, passed 256 times", WORD(0, 256, 2, 8),
		  256, true, false },
		{ "free, queued, head halted", WORD(H, 0, 2, 8), 256, false, true },
		{ "free, queued, head kicked, not running yet", WORD(W, 0, 2, 8), 256,
		  false, true },
		{ "free, nobody queued, stale count", WORD(0, 300, 0, 0), 256, false, true },
		{ "FIFO: free, queued, head preempted", WORD(0, 0, 2, 8), 0, true, false },
		{ "FIFO: free, nobody queued", 0, 0, false, true },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].may, pvx_spin_may_steal(c[i].val, c[i].limit,
						       c[i].preempted))
			TH_LOG("%s", c[i].what);
	}
}

TEST(stolen_word)
{
	/* nobody queued: held, the count stays 0 */
	EXPECT_EQ(WORD(L, 0, 0, 0), pvx_spin_stolen(0));
	EXPECT_EQ(WORD(L, 0, 0, 0), pvx_spin_stolen(WORD(0, 300, 0, 0)));
	/* queued: one more pass of the head; tail, head and its marks stay */
	EXPECT_EQ(WORD(L, 1, 0, 8), pvx_spin_stolen(WORD(0, 0, 0, 8)));
	EXPECT_EQ(WORD(L | H, 256, 3, 0x1d), pvx_spin_stolen(WORD(H, 255, 3, 0x1d)));
}

TEST(head_words)
{
	/* naming replaces the field, keeps the rest */
	EXPECT_EQ(WORD(L, 5, 3, 12), pvx_spin_head_named(WORD(L, 5, 0, 12), 2));
	EXPECT_EQ(WORD(0, 5, 1, 12), pvx_spin_head_named(WORD(0, 5, 7, 12), 0));
	/* the last in the queue takes it: the queue empties */
	EXPECT_EQ(WORD(L, 0, 0, 0), pvx_spin_head_taken(WORD(0, 7, 4, 12), 12));
	/* a successor swapped the tail: it stays, the rest starts afresh */
	EXPECT_EQ(WORD(L, 0, 0, 20), pvx_spin_head_taken(WORD(W, 256, 4, 20), 12));
	EXPECT_EQ(WORD(L, 0, 0, 20), pvx_spin_head_taken(WORD(H, 2, 4, 20), 12));
}

TEST(released_word)
{
	/* uncontended: 0 */
	EXPECT_EQ(0ull, pvx_spin_released(WORD(L, 0, 0, 0)));
	/* queued: passes, head and tail stay */
	EXPECT_EQ(WORD(0, 5, 3, 12), pvx_spin_released(WORD(L, 5, 3, 12)));
	/* a halted head: marked waking, so the next unlock kicks nobody */
	EXPECT_EQ(WORD(W, 5, 3, 12), pvx_spin_released(WORD(L | H, 5, 3, 12)));
	EXPECT_EQ(WORD(W, 0, 3, 12), pvx_spin_released(WORD(L | W, 0, 3, 12)));
}

TEST_HARNESS_MAIN
