/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pvx ABI v2: paravirtual extensions for KVM, shared by the host modules,
 * the guest modules and userspace tools.
 *
 * Calling convention (same registers as the KVM_HC_* hypercalls):
 *   RAX = call number, RBX/RCX/RDX/RSI = arguments a0..a3,
 *   VMCALL (Intel) or VMMCALL (AMD) at CPL0.
 *   RAX on return = 0 or a positive value on success, -PVX_E* on error.
 *   A caller that is not in 64-bit mode sees 32-bit values: the number and
 *   the arguments are truncated to 32 bits and -PVX_E* reads as a u32.
 *
 * Only fixed-size types; every structure has an explicit size that the
 * selftests and the modules check at compile time.
 */
#ifndef _UAPI_LINUX_PVX_H
#define _UAPI_LINUX_PVX_H

#include <linux/types.h>
#include <linux/ioctl.h>

/*
 * v2: PVX_HC_YIELD accepts PVX_YIELD_F_APIC_ID (the target by the APIC ID
 * the guest knows, not by the host's vCPU creation order). v1 callers
 * (flags 0) are served as before.
 */
#define PVX_ABI_VERSION		2
/* "PVX!": returned by PVX_HC_PROBE in RBX. */
#define PVX_MAGIC		0x50565821u

/*
 * Hypercall numbers. Upstream KVM_HC_* are small integers (1..12 in 6.12)
 * and grow one by one, so pvx lives far away from them. The range fits in
 * 32 bits so that 32-bit callers can reach it too.
 */
#define PVX_HC_BASE		0x50560000u
#define PVX_HC_RANGE		0x100u	/* numbers reserved for pvx */
#define PVX_HC_PROBE		(PVX_HC_BASE + 0x00u)
#define PVX_HC_YIELD		(PVX_HC_BASE + 0x01u)
#define PVX_HC_NUMA_HINT	(PVX_HC_BASE + 0x02u)
#define PVX_HC_FORK_COPY	(PVX_HC_BASE + 0x03u)
#define PVX_HC_KSM_HINT		(PVX_HC_BASE + 0x04u)
#define PVX_HC_NR_CALLS		5u	/* calls defined by this ABI version */

/* Index of a call inside the pvx range. */
#define PVX_HC_INDEX(nr)	((nr) - PVX_HC_BASE)

/*
 * Feature bits returned by PROBE in RDX: bit PVX_HC_INDEX(nr) is set when
 * the host serves call nr for this VM (feature module loaded, enabled by
 * host policy and for this VM). PROBE itself is bit 0 and always set: no
 * features mask can switch it off (the host rejects a mask without it);
 * a host or VM with pvx disabled answers PROBE -PVX_ENOSYS instead.
 */
#define PVX_FEAT(nr)		(1u << PVX_HC_INDEX(nr))
#define PVX_F_PROBE		PVX_FEAT(PVX_HC_PROBE)
#define PVX_F_YIELD		PVX_FEAT(PVX_HC_YIELD)
#define PVX_F_NUMA_HINT		PVX_FEAT(PVX_HC_NUMA_HINT)
#define PVX_F_FORK_COPY		PVX_FEAT(PVX_HC_FORK_COPY)
#define PVX_F_KSM_HINT		PVX_FEAT(PVX_HC_KSM_HINT)
#define PVX_F_ALL		((1u << PVX_HC_NR_CALLS) - 1u)

/*
 * Facts about the host that PROBE reports in RDX above the call bits
 * (issue 29). They are no features: no features mask switches them, and
 * a guest never takes one for a call. A host older than these bits
 * leaves them 0: "not reported".
 * PVX_PROBE_PAGING_KNOWN: the host reports this VM's paging mode, in
 * PVX_PROBE_NESTED_PAGING: set for nested paging (AMD NPT, Intel EPT),
 * clear for shadow paging. NESTED_PAGING without PAGING_KNOWN is no valid
 * answer; a guest reads it as "not reported". The host sets PAGING_KNOWN
 * only when the calling vCPU has paging on (the mode is told apart from
 * KVM's MMU roles, which say nothing while the guest's paging is off).
 */
#define PVX_PROBE_PAGING_KNOWN	0x10000u
#define PVX_PROBE_NESTED_PAGING	0x20000u
#define PVX_PROBE_INFO_ALL	(PVX_PROBE_PAGING_KNOWN | PVX_PROBE_NESTED_PAGING)

/*
 * Result codes, negated in RAX. The first six are KVM's own -KVM_E*
 * values (include/uapi/linux/kvm_para.h); the others are pvx additions
 * with the Linux errno value of the same name.
 */
#define PVX_OK			0
#define PVX_EPERM		1	/* KVM_EPERM: caller not at CPL0 */
#define PVX_E2BIG		7	/* KVM_E2BIG: batch or range too large */
#define PVX_EAGAIN		11	/* rate limited, try later */
#define PVX_ENOMEM		12	/* host could not allocate state */
#define PVX_EFAULT		14	/* KVM_EFAULT: GPA not in a memslot */
#define PVX_EINVAL		22	/* KVM_EINVAL: bad argument or flag */
#define PVX_EOPNOTSUPP		95	/* KVM_EOPNOTSUPP: disabled by host */
#define PVX_ENOSYS		1000	/* KVM_ENOSYS: no such call */

/*
 * PVX_HC_PROBE
 *   in:  a0 (RBX) = 0 (reserved, anything else is -PVX_EINVAL)
 *   in:  RSI = 0
 *   out: RAX = 0, RBX = PVX_MAGIC, RCX = host ABI version,
 *        RDX = feature bitmap (PVX_F_*) and host facts (PVX_PROBE_*),
 *        RSI = the host's epoch for this VM (32 bits, never 0): it changes
 *        when the host's state of the VM is new (a live migration's
 *        destination, pvx_host or a feature module loaded again), and the
 *        guest then sends again what it keeps on the host (never-merge
 *        pins, its NUMA map). A host that leaves RSI 0 has no epochs.
 *   A host without pvx answers -PVX_ENOSYS and leaves RBX..RSI alone.
 */

/*
 * PVX_HC_YIELD: directed yield to the vCPU that holds a lock.
 *   in:  a0 = the target: with PVX_YIELD_F_APIC_ID (ABI v2) its APIC ID,
 *        the number KVM_HC_KICK_CPU and KVM_HC_SCHED_YIELD take (the host
 *        looks it up as the KVM vcpu_id, which x86 VMMs set to the APIC
 *        ID); without it (ABI v1) its vCPU index, the KVM_CREATE_VCPU
 *        order, which a guest cannot know (it equals the Linux CPU number
 *        only when the VMM created the vCPUs in that order),
 *        a1 = flags (PVX_YIELD_F_*; undefined bits are -PVX_EINVAL)
 *   out: RAX = PVX_YIELD_DONE, PVX_YIELD_NOT_DONE or
 *        PVX_YIELD_TARGET_RUNNING, or -PVX_E*.
 */
#define PVX_YIELD_F_APIC_ID	0x1u
#define PVX_YIELD_F_ALL		0x1u
#define PVX_YIELD_DONE		1
#define PVX_YIELD_NOT_DONE	0
#define PVX_YIELD_TARGET_RUNNING 2

/* A guest-physical range, page aligned. */
struct pvx_gpa_range {
	__u64 gpa;
	__u64 len;
};

#define PVX_GPA_RANGE_SIZE	16

/*
 * Batches: a0 = GPA of a page-aligned struct pvx_batch_hdr followed by
 * hdr.count entries; the whole batch must fit in one 4 KiB guest page.
 */
struct pvx_batch_hdr {
	__u32 flags;
	__u32 count;
	__u64 reserved;		/* must be 0 */
};

#define PVX_BATCH_HDR_SIZE	16
#define PVX_BATCH_BYTES		4096u

/* PVX_HC_NUMA_HINT: entries are struct pvx_gpa_range. */
#define PVX_NUMA_F_ALL		0x0u
#define PVX_NUMA_MAX_RANGES	\
	((PVX_BATCH_BYTES - PVX_BATCH_HDR_SIZE) / PVX_GPA_RANGE_SIZE)

/* PVX_HC_FORK_COPY: copy one 4 KiB guest page per entry. */
struct pvx_copy_pair {
	__u64 src_gpa;
	__u64 dst_gpa;
};

#define PVX_COPY_PAIR_SIZE	16
#define PVX_COPY_F_ALL		0x0u
#define PVX_COPY_MAX_PAIRS	\
	((PVX_BATCH_BYTES - PVX_BATCH_HDR_SIZE) / PVX_COPY_PAIR_SIZE)

/* PVX_HC_KSM_HINT: one entry per run of guest pages. */
struct pvx_ksm_hint {
	__u64 gpa;
	__u32 npages;
	__u32 flags;		/* exactly one of the two below */
};

#define PVX_KSM_HINT_SIZE	16
#define PVX_KSM_MERGEABLE	0x1u
#define PVX_KSM_UNMERGEABLE	0x2u
#define PVX_KSM_MAX_HINTS	\
	((PVX_BATCH_BYTES - PVX_BATCH_HDR_SIZE) / PVX_KSM_HINT_SIZE)
/* Header flag: take the listed hints back instead of adding them. */
#define PVX_KSM_F_WITHDRAW	0x1u
#define PVX_KSM_F_ALL		PVX_KSM_F_WITHDRAW
/* The runs of one batch add up to at most this many pages (256 MiB). */
#define PVX_KSM_MAX_BATCH_PAGES	65536u

/*
 * /dev/pvx in the guest. Every user may open it (read-only suffices) and
 * use PVX_IOC_GET_INFO, PVX_IOC_STEAL_QUERY and PVX_IOC_STIMER_CREATE,
 * the latter within a per-user limit on timer fds (EMFILE past it, unless
 * the caller has CAP_SYS_RESOURCE or CAP_SYS_ADMIN). PVX_IOC_YIELD_TO
 * towards another user's thread needs CAP_SYS_NICE (EPERM), and so does
 * PVX_IOC_NUMA_HINT (it moves the caller's vCPU on the host).
 * PVX_IOC_FORK_COPY and PVX_IOC_KSM_PROTECT need nothing (the caller's own
 * memory; the pages PVX_IOC_KSM_PROTECT pins are charged to the caller's
 * RLIMIT_MEMLOCK, which CAP_IPC_LOCK lifts, as for mlock()). The policy:
 * Documentation/admin.rst, "Who may use /dev/pvx".
 *
 * PVX_IOC_GET_INFO fills struct pvx_info. The caller sets .size to the
 * size of the structure it knows (at least PVX_INFO_SIZE_V1; smaller is
 * -EINVAL); the module writes at most that many bytes and sets .size to
 * what it wrote. .size alone versions the structure: the module ignores
 * the size bits of the ioctl number, which change when the structure
 * grows, so old and new programs and modules work together.
 */
struct pvx_info {
	__u32 size;
	__u32 flags;		/* PVX_INFO_* */
	__u32 guest_abi_version;
	__u32 host_abi_version;	/* 0 when the host has no pvx */
	__u32 host_magic;	/* PVX_MAGIC, or 0 */
	__u32 reserved;		/* 0 */
	__u64 host_features;	/* PVX_F_* from PROBE */
};

#define PVX_INFO_SIZE_V1	32

#define PVX_INFO_KVM		0x1u	/* running on KVM */
#define PVX_INFO_HOST_PVX	0x2u	/* PROBE succeeded */

/*
 * PVX_IOC_YIELD_TO: a userspace spinlock waiter names the thread that holds
 * the lock. When that thread is on a CPU whose vCPU the host preempted, the
 * guest issues a directed yield to that vCPU. Returns PVX_YIELD_* (>= 0) or
 * -1 with errno: ESRCH (no such thread in the caller's pid namespace),
 * EPERM (another user's thread, and no CAP_SYS_NICE), EAGAIN (the thread
 * is not on a CPU now), EINVAL (flags), EOPNOTSUPP (no directed yield
 * available).
 */
struct pvx_yield_to {
	__u32 tid;		/* thread id in the caller's pid namespace */
	__u32 flags;		/* 0 */
};

#define PVX_YIELD_TO_SIZE	8

/*
 * Steal-time-corrected timers (pvx_stimer.ko, Documentation/stimer.rst).
 *
 * A pvx timer expires on effective time: wall time (CLOCK_MONOTONIC)
 * minus the steal time that its owner CPU (the CPU it was armed on)
 * accumulated meanwhile. A wall-clock cap (cap_ns, default the module
 * parameter cap_factor times the request) makes it expire even when the
 * vCPU is starved forever. All times are in nanoseconds.
 *
 * PVX_IOC_STIMER_CREATE on /dev/pvx creates a timer file descriptor that
 * behaves like a timerfd: read() of 8 bytes or more returns the number of
 * expirations since the last read as a __u64 (blocks while there are
 * none, or -EAGAIN with PVX_STIMER_NONBLOCK; a smaller buffer is
 * -EINVAL), poll/select/epoll report EPOLLIN when it is nonzero, close()
 * disarms and frees it. .spec arms it at once (value_ns 0: created
 * disarmed). On success .fd is the new descriptor (also the return
 * value). EMFILE: the caller's user has max_timer_fds_per_user (module
 * parameter, default 128) timer fds open. As with a timerfd, a periodic
 * timer is re-armed by the reader: an expiry that nobody read stops it,
 * and the next read() (or GETTIME) adds the periods that passed
 * meanwhile to the count and re-arms it.
 */
#define PVX_STIMER_MAX_NS	3600000000000ull /* 1 h: value, interval */
#define PVX_STIMER_MIN_INTERVAL_NS 100000ull	/* 100 us: interval */
#define PVX_STIMER_CAP_FACTOR_MAX 64u		/* cap <= 64 x request */

/* Which bound made a timer expire. */
#define PVX_STIMER_BOUND_NONE		0u	/* not expired yet */
#define PVX_STIMER_BOUND_EFFECTIVE	1u	/* effective time reached */
#define PVX_STIMER_BOUND_CAP		2u	/* wall-clock cap reached first */

/*
 * An arming, like struct itimerspec: value_ns of effective time to the
 * first expiry (0: disarm), then every interval_ns of effective time
 * (0: one-shot; else PVX_STIMER_MIN_INTERVAL_NS..PVX_STIMER_MAX_NS).
 * cap_ns: wall-clock bound of each expiry, measured from its start; 0
 * takes cap_factor x the request; else it must be >= value_ns and
 * >= interval_ns and <= PVX_STIMER_CAP_FACTOR_MAX x each of them.
 */
struct pvx_stimer_spec {
	__u64 value_ns;
	__u64 interval_ns;
	__u64 cap_ns;
};

#define PVX_STIMER_SPEC_SIZE	24

#define PVX_STIMER_CLOEXEC	0x1u	/* the new fd gets FD_CLOEXEC */
#define PVX_STIMER_NONBLOCK	0x2u	/* read() is -EAGAIN, never blocks */
#define PVX_STIMER_F_ALL	0x3u

struct pvx_stimer_create {
	__u32 flags;		/* in: PVX_STIMER_CLOEXEC | PVX_STIMER_NONBLOCK */
	__s32 fd;		/* out: the timer fd */
	struct pvx_stimer_spec spec;	/* in: initial arming */
	__u64 reserved;		/* 0 */
};

#define PVX_STIMER_CREATE_SIZE	40

/*
 * Ioctls on the timer fd (not on /dev/pvx).
 * PVX_IOC_STIMER_SETTIME: like timerfd_settime(): disarms, clears the
 * expiration count, arms with .new (unless new.value_ns is 0) on the
 * caller's CPU; .old receives the previous arming (value_ns = effective
 * ns that were left, 0 when it was disarmed).
 * PVX_IOC_STIMER_GETTIME: fills struct pvx_stimer_state.
 */
struct pvx_stimer_settime {
	__u32 flags;		/* 0 */
	__u32 reserved;		/* 0 */
	struct pvx_stimer_spec new_spec;	/* in */
	struct pvx_stimer_spec old_spec;	/* out */
};

#define PVX_STIMER_SETTIME_SIZE	56

struct pvx_stimer_state {
	struct pvx_stimer_spec spec;	/* value_ns: effective ns left */
	__u32 last_bound;	/* PVX_STIMER_BOUND_* of the last expiry */
	__u32 cpu;		/* owner CPU of the current or last arming */
	__u64 fired_effective;	/* expiries by effective time */
	__u64 fired_cap;	/* expiries by the cap */
	__u64 last_wall_ns;	/* last expiry: wall ns from its start */
	__u64 last_steal_ns;	/* last expiry: owner's steal ns meanwhile */
};

#define PVX_STIMER_STATE_SIZE	64

/*
 * PVX_IOC_STEAL_QUERY: .now = this CPU's cumulative steal (ns, as the
 * steal source sees it) at CLOCK_MONOTONIC .now.mono_ns. With
 * PVX_STEAL_SINCE, .since is an earlier .now (possibly of another CPU):
 * wall_ns = now - since, steal_ns = steal of since.cpu meanwhile,
 * effective_ns = wall_ns - steal_ns, or 0 when steal_ns exceeds wall_ns
 * (KVM publishes a preemption's steal at the vCPU's next entry, so over a
 * short window steal may exceed wall time). A point in the future, a
 * steal count above since.cpu's current one, a CPU that does not exist
 * or nonzero reserved fields are -EINVAL.
 */
struct pvx_steal_snapshot {
	__u64 mono_ns;		/* CLOCK_MONOTONIC */
	__u64 steal_ns;		/* cumulative steal of .cpu at mono_ns */
	__u32 cpu;
	__u32 reserved;		/* 0 */
};

#define PVX_STEAL_SNAPSHOT_SIZE	24

/* Where the steal numbers come from (/sys/kernel/pvx/stimer/steal_source). */
#define PVX_STEAL_SRC_NONE	0u	/* no steal information: wall timers */
#define PVX_STEAL_SRC_KVM	1u	/* live KVM steal-time record, ns */
#define PVX_STEAL_SRC_KCPUSTAT	2u	/* kernel steal accounting, per tick */

#define PVX_STEAL_SINCE		0x1u
#define PVX_STEAL_F_ALL		0x1u

struct pvx_steal_query {
	__u32 flags;		/* in: PVX_STEAL_SINCE */
	__u32 source;		/* out: PVX_STEAL_SRC_* */
	struct pvx_steal_snapshot now;		/* out */
	struct pvx_steal_snapshot since;	/* in, with PVX_STEAL_SINCE */
	__u64 wall_ns;		/* out, with PVX_STEAL_SINCE */
	__u64 steal_ns;		/* out, with PVX_STEAL_SINCE */
	__u64 effective_ns;	/* out, with PVX_STEAL_SINCE */
};

#define PVX_STEAL_QUERY_SIZE	80

/*
 * PVX_IOC_NUMA_HINT (pvx_locality.ko, Documentation/numa.rst): the calling
 * thread says that [addr, addr + len) of its memory is what it works on,
 * on the CPU it runs on now (pin the thread first). The guest sends the
 * guest-physical ranges of the resident pages of that buffer (never
 * faulting any in) as PVX_HC_NUMA_HINT from that CPU's vCPU. addr and len
 * page aligned, 0 < len <= PVX_NUMA_HINT_MAX_LEN, flags and reserved 0:
 * else EINVAL. Needs CAP_SYS_NICE (it asks the host to move a vCPU, as
 * sched_setaffinity() moves another user's task): EPERM. Out: home = the
 * host's home node of the vCPU (-1: none of the pages is backed on the
 * host), ranges = ranges sent, pages = resident pages sent. EAGAIN: the
 * host's rate limit; EOPNOTSUPP: no PVX_HC_NUMA_HINT; ENODATA: none of
 * the buffer is resident.
 */
#define PVX_NUMA_HINT_MAX_LEN	0x40000000ull	/* 1 GiB */

struct pvx_numa_hint_req {
	__u64 addr;		/* in */
	__u64 len;		/* in */
	__u32 flags;		/* in: 0 */
	__s32 home;		/* out */
	__u32 ranges;		/* out */
	__u32 reserved;		/* 0 */
	__u64 pages;		/* out */
};

#define PVX_NUMA_HINT_REQ_SIZE	40

/*
 * PVX_IOC_FORK_COPY (pvx_fork.ko, Documentation/fork_copy.rst): copy len
 * bytes of the caller's own memory from src to dst with PVX_HC_FORK_COPY,
 * 255 pages per hypercall. src, dst and len page aligned, 0 < len <=
 * PVX_FORK_COPY_MAX_LEN, neither range wraps, the two do not overlap,
 * flags and reserved 0: else EINVAL. dst must lie in private anonymous
 * writable mappings (shared or file-backed: EINVAL; unmapped or not
 * writable: EFAULT), src in readable mappings (EFAULT); these are checked
 * before the first byte is copied, so a refused call changes nothing.
 * EOPNOTSUPP: the host has no PVX_HC_FORK_COPY. A call that stops part
 * way (EINTR on a fatal signal, EFAULT, ENOMEM, EIO) has copied the first
 * .copied bytes, none after them. Any user (it touches only the caller's
 * own memory). libpvx's pvx_fork() is built on it.
 */
#define PVX_FORK_COPY_MAX_LEN	0x40000000ull	/* 1 GiB per call */

struct pvx_fork_copy_req {
	__u64 src;		/* in */
	__u64 dst;		/* in */
	__u64 len;		/* in */
	__u32 flags;		/* in: 0 */
	__u32 reserved;		/* 0 */
	__u64 copied;		/* out: bytes copied, on success and error */
};

#define PVX_FORK_COPY_REQ_SIZE	40

/*
 * PVX_IOC_KSM_PROTECT (pvx_ksm_guest.ko, Documentation/ksm.rst): never let
 * the host's KSM merge [addr, addr + len) of the caller's own memory (a
 * key buffer: a merged page is slower to write, which tells another VM
 * that it guessed the content). The module pins those pages for write, long
 * term (their guest-physical addresses stay what the host was told),
 * charges them to the caller's RLIMIT_MEMLOCK, and sends them to the host
 * as PVX_KSM_UNMERGEABLE runs of PVX_HC_KSM_HINT. On success it returns a
 * new file descriptor (also in .fd; always close-on-exec) that holds the
 * protection: closing it, the last copy of it, withdraws the hint and
 * unpins the pages; so does the process's exit, and so does munmap() or
 * mremap() of any part of the range (soon after it, the fd staying open;
 * MADV_DONTNEED does not: the pinned page stays protected, a new page
 * faulted in at that address is not).
 * Checked in this order, the first failure answers:
 *   EFAULT      the structure cannot be read
 *   EINVAL      flags or reserved not 0, addr or len not page aligned,
 *               len 0, addr + len wraps
 *   E2BIG       len > PVX_KSM_PROTECT_MAX_LEN
 *   EFAULT      the range is not in the user address space
 *   EMFILE      no fd number left
 *   EOPNOTSUPP  the host has no PVX_HC_KSM_HINT: nothing is protected
 *   ENOMEM      past the caller's RLIMIT_MEMLOCK (without CAP_IPC_LOCK)
 *   EFAULT      part of the range unmapped, not writable, or not pinnable
 *               long term (a file mapping of most file systems)
 *   ENOSPC      a cap of the module would be passed: all protections
 *               (parameter max_pages), the caller's user's fds together
 *               (user_max_pages), all users' fds together (max_pages
 *               less kernel_reserve, kept for the in-kernel API)
 *   ENOSPC, EIO the host refused: its own cap on never-merge pages
 *               (ENOSPC) or it could not pin its page (EIO); EOPNOTSUPP
 *               when it stopped serving the call meanwhile
 * A failed call leaves nothing pinned, charged or hinted. A page that two
 * protections name is hinted once and withdrawn with the last of them.
 * A child made by fork() gets a copy of the pinned pages: the child's
 * copy is not protected.
 */
#define PVX_KSM_PROTECT_MAX_LEN	0x4000000ull	/* 64 MiB per call */

struct pvx_ksm_protect_req {
	__u64 addr;		/* in */
	__u64 len;		/* in */
	__u32 flags;		/* in: 0 */
	__s32 fd;		/* out: the protection's fd */
	__u64 reserved;		/* 0 */
};

#define PVX_KSM_PROTECT_REQ_SIZE	32

#define PVX_IOC_MAGIC		0xB9
#define PVX_IOC_GET_INFO	_IOWR(PVX_IOC_MAGIC, 0x00, struct pvx_info)
#define PVX_IOC_YIELD_TO	_IOW(PVX_IOC_MAGIC, 0x01, struct pvx_yield_to)
#define PVX_IOC_STIMER_CREATE	_IOWR(PVX_IOC_MAGIC, 0x02, struct pvx_stimer_create)
#define PVX_IOC_STEAL_QUERY	_IOWR(PVX_IOC_MAGIC, 0x03, struct pvx_steal_query)
#define PVX_IOC_NUMA_HINT	_IOWR(PVX_IOC_MAGIC, 0x04, struct pvx_numa_hint_req)
#define PVX_IOC_FORK_COPY	_IOWR(PVX_IOC_MAGIC, 0x05, struct pvx_fork_copy_req)
#define PVX_IOC_KSM_PROTECT	_IOWR(PVX_IOC_MAGIC, 0x06, struct pvx_ksm_protect_req)
/* on a timer fd */
#define PVX_IOC_STIMER_SETTIME	_IOWR(PVX_IOC_MAGIC, 0x10, struct pvx_stimer_settime)
#define PVX_IOC_STIMER_GETTIME	_IOR(PVX_IOC_MAGIC, 0x11, struct pvx_stimer_state)

#endif /* _UAPI_LINUX_PVX_H */
