// SPDX-License-Identifier: GPL-2.0
/*
 * uapi/pvx.h compiles standalone as strict C99 (the Makefile's flags are
 * the first test) and its layouts have the sizes and offsets the ABI
 * document promises, checked at compile time and reported as TAP.
 */
#include <stddef.h>
#include <stdio.h>
#include <pvx.h>

/* Compile-time checks: a negative array size stops the build. */
#define LAYOUT_CHECK(name, cond) typedef char layout_##name[(cond) ? 1 : -1]

LAYOUT_CHECK(range, sizeof(struct pvx_gpa_range) == PVX_GPA_RANGE_SIZE);
LAYOUT_CHECK(hdr, sizeof(struct pvx_batch_hdr) == PVX_BATCH_HDR_SIZE);
LAYOUT_CHECK(pair, sizeof(struct pvx_copy_pair) == PVX_COPY_PAIR_SIZE);
LAYOUT_CHECK(ksm, sizeof(struct pvx_ksm_hint) == PVX_KSM_HINT_SIZE);
LAYOUT_CHECK(info, sizeof(struct pvx_info) == PVX_INFO_SIZE_V1);
LAYOUT_CHECK(info_feat, offsetof(struct pvx_info, host_features) == 24);
LAYOUT_CHECK(yield_to, sizeof(struct pvx_yield_to) == PVX_YIELD_TO_SIZE);
LAYOUT_CHECK(ioc_size, ((PVX_IOC_GET_INFO >> 16) & 0x3fff) == PVX_INFO_SIZE_V1);
LAYOUT_CHECK(stimer_spec, sizeof(struct pvx_stimer_spec) == PVX_STIMER_SPEC_SIZE);
LAYOUT_CHECK(stimer_create, sizeof(struct pvx_stimer_create) == PVX_STIMER_CREATE_SIZE);
LAYOUT_CHECK(stimer_create_spec, offsetof(struct pvx_stimer_create, spec) == 8);
LAYOUT_CHECK(stimer_settime, sizeof(struct pvx_stimer_settime) == PVX_STIMER_SETTIME_SIZE);
LAYOUT_CHECK(stimer_settime_old, offsetof(struct pvx_stimer_settime, old_spec) == 32);
LAYOUT_CHECK(stimer_state, sizeof(struct pvx_stimer_state) == PVX_STIMER_STATE_SIZE);
LAYOUT_CHECK(stimer_state_cnt, offsetof(struct pvx_stimer_state, fired_effective) == 32);
LAYOUT_CHECK(steal_snap, sizeof(struct pvx_steal_snapshot) == PVX_STEAL_SNAPSHOT_SIZE);
LAYOUT_CHECK(numa_hint_req, sizeof(struct pvx_numa_hint_req) == PVX_NUMA_HINT_REQ_SIZE);
LAYOUT_CHECK(steal_query, sizeof(struct pvx_steal_query) == PVX_STEAL_QUERY_SIZE);
LAYOUT_CHECK(steal_query_since, offsetof(struct pvx_steal_query, since) == 32);
LAYOUT_CHECK(steal_query_eff, offsetof(struct pvx_steal_query, effective_ns) == 72);
LAYOUT_CHECK(fork_copy_req, sizeof(struct pvx_fork_copy_req) == PVX_FORK_COPY_REQ_SIZE);
LAYOUT_CHECK(fork_copy_copied, offsetof(struct pvx_fork_copy_req, copied) == 32);
LAYOUT_CHECK(ioc_fork_copy_size,
	     ((PVX_IOC_FORK_COPY >> 16) & 0x3fff) == PVX_FORK_COPY_REQ_SIZE);
LAYOUT_CHECK(ksm_protect_req, sizeof(struct pvx_ksm_protect_req) == PVX_KSM_PROTECT_REQ_SIZE);
LAYOUT_CHECK(ksm_protect_fd, offsetof(struct pvx_ksm_protect_req, fd) == 20);
LAYOUT_CHECK(ksm_protect_reserved, offsetof(struct pvx_ksm_protect_req, reserved) == 24);
LAYOUT_CHECK(ioc_ksm_protect_size,
	     ((PVX_IOC_KSM_PROTECT >> 16) & 0x3fff) == PVX_KSM_PROTECT_REQ_SIZE);
LAYOUT_CHECK(ioc_stimer_size,
	     ((PVX_IOC_STIMER_CREATE >> 16) & 0x3fff) == PVX_STIMER_CREATE_SIZE);
LAYOUT_CHECK(ioc_steal_size,
	     ((PVX_IOC_STEAL_QUERY >> 16) & 0x3fff) == PVX_STEAL_QUERY_SIZE);

static int n_test, n_fail;

static void check(int cond, const char *what)
{
	n_test++;
	if (!cond)
		n_fail++;
	printf("%sok %d %s\n", cond ? "" : "not ", n_test, what);
}

int main(void)
{
	printf("TAP version 13\n1..14\n");
	check(1, "uapi/pvx.h compiles standalone with -std=c99 -pedantic -Werror");
	check(sizeof(struct pvx_batch_hdr) + PVX_COPY_MAX_PAIRS *
	      sizeof(struct pvx_copy_pair) <= PVX_BATCH_BYTES,
	      "a full fork-copy batch fits in one page");
	check(sizeof(struct pvx_batch_hdr) + PVX_NUMA_MAX_RANGES *
	      sizeof(struct pvx_gpa_range) <= PVX_BATCH_BYTES,
	      "a full NUMA hint batch fits in one page");
	check(sizeof(struct pvx_batch_hdr) + PVX_KSM_MAX_HINTS *
	      sizeof(struct pvx_ksm_hint) <= PVX_BATCH_BYTES,
	      "a full KSM hint batch fits in one page");
	/* Upstream KVM_HC_* numbers are 1..12 today and grow by one. */
	check(PVX_HC_BASE > 0xffff && PVX_HC_BASE + PVX_HC_RANGE - 1 <= 0xffffffffu,
	      "pvx range is far from KVM_HC_* and reachable by 32-bit callers");
	check(PVX_HC_KSM_HINT < PVX_HC_BASE + PVX_HC_RANGE &&
	      PVX_HC_NR_CALLS <= 32, "every defined call is inside the range");
	check(PVX_F_ALL == 0x1f && PVX_F_PROBE == 1 && PVX_F_KSM_HINT == 0x10,
	      "feature bits follow call indices");
	check(PVX_ENOSYS == 1000 && PVX_EINVAL == 22 && PVX_EFAULT == 14 &&
	      PVX_EPERM == 1 && PVX_E2BIG == 7 && PVX_EOPNOTSUPP == 95,
	      "result codes equal KVM's -KVM_E* values");
	check((unsigned int)(-PVX_ENOSYS) == 0xfffffc18u,
	      "a 32-bit caller reads -PVX_ENOSYS as 0xfffffc18");
	check((PVX_IOC_STIMER_CREATE & 0xff) == 0x02 &&
	      (PVX_IOC_STEAL_QUERY & 0xff) == 0x03 &&
	      ((PVX_IOC_STIMER_SETTIME >> 8) & 0xff) == PVX_IOC_MAGIC,
	      "timer ioctls have their numbers and the pvx magic");
	check((PVX_IOC_NUMA_HINT & 0xff) == 0x04 && (PVX_IOC_FORK_COPY & 0xff) == 0x05 &&
	      PVX_FORK_COPY_MAX_LEN % PVX_BATCH_BYTES == 0,
	      "/dev/pvx feature ioctls have distinct numbers; the fork-copy cap is whole pages");
	check((PVX_IOC_KSM_PROTECT & 0xff) == 0x06 &&
	      PVX_KSM_PROTECT_MAX_LEN % PVX_BATCH_BYTES == 0 &&
	      PVX_KSM_PROTECT_MAX_LEN / PVX_BATCH_BYTES <= PVX_KSM_MAX_BATCH_PAGES,
	      "PVX_IOC_KSM_PROTECT is 0x06; its cap is whole pages, within one batch's page count");
	check(PVX_STIMER_MIN_INTERVAL_NS < PVX_STIMER_MAX_NS &&
	      PVX_STIMER_MAX_NS * PVX_STIMER_CAP_FACTOR_MAX / PVX_STIMER_CAP_FACTOR_MAX ==
	      PVX_STIMER_MAX_NS,
	      "the largest cap (max request x max factor) fits in 64 bits");
	check((PVX_STIMER_F_ALL & (PVX_STIMER_CLOEXEC | PVX_STIMER_NONBLOCK)) ==
	      PVX_STIMER_F_ALL && PVX_STEAL_F_ALL == PVX_STEAL_SINCE &&
	      PVX_KSM_F_ALL == PVX_KSM_F_WITHDRAW,
	      "flag masks name exactly the defined flags");
	return n_fail ? 1 : 0;
}
