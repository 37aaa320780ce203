// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_guest_test: runs inside an L3 guest with pvx_guest.ko loaded and
 * checks it; init.sh runs its modes in this order:
 *
 *   --load KO --expect-host|--expect-fallback
 *                      the boot's first load: insmod KO, its dmesg lines
 *                      and sysfs files as comments, and its one dmesg line
 *                      on what the host offers said once.
 *   --expect-host|--expect-fallback
 *                      /sys/kernel/pvx and /dev/pvx against what the test
 *                      expects of the host: the L2 host runs pvx_host.ko,
 *                      or a stock KVM host where every feature falls back.
 *   --reload KO        rmmod refused while /dev/pvx is open, rmmod, its
 *                      sysfs directory and device node gone, insmod KO
 *                      again, and its one dmesg line about the host said
 *                      once more. Leaves the module loaded.
 *   --host-switch CTL_TTY CALL_KO
 *                      in a host boot, asks L2 on its control port CTL_TTY
 *                      (the guest's second serial port) to switch this
 *                      VM's pvx service off and on again, then to mask
 *                      YIELD and to announce ABI v1, each undone after;
 *                      the guest must follow each change without a
 *                      reprobe, say the loss and the return of pvx once
 *                      in dmesg, and answer or refuse its YIELDs to no
 *                      vCPU (made by the test module CALL_KO,
 *                      pvx_call_once.ko, loaded for the run) as the host
 *                      then serves them; then reprobe_ms's bad values are
 *                      refused and reprobe_ms 0 stops the periodic PROBE.
 *                      A host that does not serve YIELD: one SKIP instead.
 *                      Both end with pvx_call_once's "call" parameter
 *                      refusing 0 and 'x', and unload it.
 *
 * TAP 13 on stdout; exit 0 all passed, 1 any failed, 4 all skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pvx.h"
#include "kselftest.h"
#include "l2_ctl.h"
#include "module_util.h"
#include "sysfs_util.h"
#include "l3_tap.h"

#define SYSDIR	"/sys/kernel/pvx"
#define DEVNODE	"/dev/pvx"

static bool expect_host;
static int pvx_fd = -1;
static long page_size;

/* sysfs file under SYSDIR, trailing newline removed; 0 or -errno. */
static int read_attr(const char *name, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SYSDIR "/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static int read_attr_u64(const char *name, unsigned long long *val)
{
	char buf[64], *end;
	int ret = read_attr(name, buf, sizeof(buf));

	if (ret)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || end == buf || *end)
		return -EINVAL;
	return 0;
}

static void test_attr_str(const char *name, const char *want)
{
	char buf[128];
	int ret = read_attr(name, buf, sizeof(buf));

	if (ret)
		ksft_test_result_fail("%s is \"%s\" # read: %s\n", name, want,
				      strerror(-ret));
	else
		ksft_test_result(!strcmp(buf, want), "%s is \"%s\"%s%s%s\n",
				 name, want, strcmp(buf, want) ? " # got \"" : "",
				 strcmp(buf, want) ? buf : "",
				 strcmp(buf, want) ? "\"" : "");
}

static void test_attr_u64(const char *name, unsigned long long want)
{
	unsigned long long val;
	int ret = read_attr_u64(name, &val);

	if (ret)
		ksft_test_result_fail("%s is %llu # read: %s\n", name, want,
				      strerror(-ret));
	else if (val != want)
		ksft_test_result_fail("%s is %llu # got %llu\n", name, want, val);
	else
		ksft_test_result_pass("%s is %llu\n", name, want);
}

static const struct {
	const char *name;
	__u32 bit;
} features[] = {
	{ "yield", PVX_F_YIELD },
	{ "numa_hint", PVX_F_NUMA_HINT },
	{ "fork_copy", PVX_F_FORK_COPY },
	{ "ksm_hint", PVX_F_KSM_HINT },
};

static unsigned long long sys_features;

static void test_sysfs(void)
{
	struct stat st;
	unsigned long long v;
	unsigned int i;
	int ret;

	ksft_test_result(!stat(SYSDIR, &st) && S_ISDIR(st.st_mode),
			 SYSDIR " exists\n");
	test_attr_u64("abi_version", PVX_ABI_VERSION);
	test_attr_str("host", expect_host ? "pvx" : "no-pvx");
	test_attr_u64("host_abi_version", expect_host ? PVX_ABI_VERSION : 0);

	ret = read_attr_u64("host_features", &sys_features);
	if (ret)
		ksft_test_result_fail("host_features # read: %s\n", strerror(-ret));
	else if (expect_host)
		ksft_test_result(sys_features & PVX_F_PROBE,
				 "host_features 0x%llx has the PROBE bit\n",
				 sys_features);
	else
		ksft_test_result(sys_features == 0, "host_features 0x%llx is 0\n",
				 sys_features);

	for (i = 0; i < ARRAY_SIZE(features); i++) {
		char name[64];
		bool avail = expect_host && (sys_features & features[i].bit);

		snprintf(name, sizeof(name), "features/%s", features[i].name);
		test_attr_str(name, avail ? "available" : "unsupported by host");
	}

	/* PROBE is issued once per load, answered ENOSYS on a stock host. */
	ret = read_attr_u64("stats/hypercalls", &v);
	ksft_test_result(!ret && v >= 1,
			 "stats/hypercalls counts the PROBE (%llu)\n", ret ? 0 : v);
	ret = read_attr_u64("stats/errors", &v);
	if (ret)
		ksft_test_result_fail("stats/errors # read: %s\n", strerror(-ret));
	else
		ksft_test_result(expect_host ? true : v >= 1,
				 "stats/errors %s (%llu)\n",
				 expect_host ? "readable" : "counts the ENOSYS PROBE", v);
	ret = read_attr_u64("stats/refused", &v);
	ksft_test_result(!ret, "stats/refused readable\n");
}

/* ioctl returning -errno on failure, 0 on success. */
static int do_ioctl(unsigned long cmd, void *arg)
{
	return ioctl(pvx_fd, cmd, arg) < 0 ? -errno : 0;
}

static void test_get_info(void)
{
	struct pvx_info info;
	char sysbuf[32];
	unsigned long long sys_abi = ~0ull;
	__u32 want_flags;
	int ret;

	memset(&info, 0xa5, sizeof(info));
	info.size = sizeof(info);
	ret = do_ioctl(PVX_IOC_GET_INFO, &info);
	if (ret) {
		ksft_test_result_fail("GET_INFO succeeds # %s\n", strerror(-ret));
		ksft_test_result_fail("GET_INFO flags # no info\n");
		ksft_test_result_fail("GET_INFO agrees with sysfs # no info\n");
		return;
	}
	ksft_test_result(info.size == PVX_INFO_SIZE_V1,
			 "GET_INFO succeeds, size %u\n", info.size);

	want_flags = PVX_INFO_KVM | (expect_host ? PVX_INFO_HOST_PVX : 0);
	ksft_test_result(info.flags == want_flags,
			 "GET_INFO flags 0x%x (want 0x%x)\n", info.flags,
			 want_flags);

	read_attr_u64("host_abi_version", &sys_abi);
	read_attr("host", sysbuf, sizeof(sysbuf));
	ksft_test_result(info.guest_abi_version == PVX_ABI_VERSION &&
			 info.host_abi_version == sys_abi &&
			 info.host_magic == (expect_host ? PVX_MAGIC : 0) &&
			 info.host_features == sys_features &&
			 info.reserved == 0 &&
			 !!(info.flags & PVX_INFO_HOST_PVX) == !strcmp(sysbuf, "pvx"),
			 "GET_INFO agrees with sysfs (guest ABI %u, host ABI %u, magic 0x%x, features 0x%llx, reserved %u)\n",
			 info.guest_abi_version, info.host_abi_version,
			 info.host_magic, (unsigned long long)info.host_features,
			 info.reserved);
}

/*
 * A caller built against a larger struct: its ioctl number has that size
 * in its size bits. It gets V1's bytes and .size = V1.
 */
#define PVX_IOC_GET_INFO_64	_IOWR(PVX_IOC_MAGIC, 0x00, unsigned char[64])

static void test_get_info_larger(void)
{
	unsigned char buf[64];
	struct pvx_info *info = (struct pvx_info *)buf;
	bool tail_ok = true;
	unsigned int i;
	int ret;

	memset(buf, 0xa5, sizeof(buf));
	info->size = sizeof(buf);
	ret = do_ioctl(PVX_IOC_GET_INFO_64, buf);
	for (i = PVX_INFO_SIZE_V1; i < sizeof(buf); i++)
		tail_ok &= buf[i] == 0xa5;
	ksft_test_result(!ret && info->size == PVX_INFO_SIZE_V1 && tail_ok,
			 "GET_INFO numbered and sized for a %zu-byte struct writes %d bytes and sets size (ret %d, size %u)\n",
			 sizeof(buf), PVX_INFO_SIZE_V1, ret, info->size);
}

static void expect_errno(int ret, int want, const char *desc)
{
	ksft_test_result(ret == -want, "%s -> %s%s%s\n", desc, strerror(want),
			 ret == -want ? "" : " # got ",
			 ret == -want ? "" : (ret ? strerror(-ret) : "success"));
}

/* One result: passes when @err is 0, else says the errno. */
static void test_ok(int err, const char *desc)
{
	ksft_test_result(!err, "%s%s%s\n", desc, err ? " # " : "",
			 err ? strerror(-err) : "");
}

static void test_bad_size(void)
{
	static const __u32 sizes[] = { 0, 4, PVX_INFO_SIZE_V1 - 1 };
	struct pvx_info info;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		char desc[64];

		memset(&info, 0xa5, sizeof(info));
		info.size = sizes[i];
		ret = do_ioctl(PVX_IOC_GET_INFO, &info);
		snprintf(desc, sizeof(desc), "GET_INFO size %u", sizes[i]);
		expect_errno(ret, EINVAL, desc);
	}
	/* Nothing written on EINVAL. */
	ksft_test_result(ret == -EINVAL && info.size == PVX_INFO_SIZE_V1 - 1 &&
			 info.flags == 0xa5a5a5a5,
			 "GET_INFO with a short size leaves the buffer alone\n");
}

static void test_bad_pointer(void)
{
	static const char *const mapped[] = {
		"GET_INFO unmapped pointer",
		"GET_INFO read-only buffer",
		"GET_INFO struct running into an unmapped page",
	};
	char *map, *ro, *rw, *none;
	unsigned int i;

	expect_errno(do_ioctl(PVX_IOC_GET_INFO, NULL), EFAULT, "GET_INFO NULL");
	expect_errno(do_ioctl(PVX_IOC_GET_INFO, (void *)-4096L), EFAULT,
		     "GET_INFO kernel-half pointer");

	/* page 0 read-only, page 1 read-write, page 2 inaccessible */
	map = mmap(NULL, 3 * page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED) {
		for (i = 0; i < ARRAY_SIZE(mapped); i++)
			ksft_test_result_skip("%s # mmap failed\n", mapped[i]);
		return;
	}
	ro = map;
	rw = map + 2 * page_size - 8;	/* .size readable, the rest not */
	none = map + 2 * page_size;
	((struct pvx_info *)ro)->size = PVX_INFO_SIZE_V1;
	((struct pvx_info *)rw)->size = PVX_INFO_SIZE_V1;
	if (mprotect(ro, page_size, PROT_READ) ||
	    mprotect(none, page_size, PROT_NONE)) {
		for (i = 0; i < ARRAY_SIZE(mapped); i++)
			ksft_test_result_skip("%s # mprotect failed\n", mapped[i]);
		munmap(map, 3 * page_size);
		return;
	}
	expect_errno(do_ioctl(PVX_IOC_GET_INFO, none), EFAULT, mapped[0]);
	expect_errno(do_ioctl(PVX_IOC_GET_INFO, ro), EFAULT, mapped[1]);
	expect_errno(do_ioctl(PVX_IOC_GET_INFO, rw), EFAULT, mapped[2]);
	munmap(map, 3 * page_size);
}

static void test_bad_cmd(void)
{
	struct pvx_info info = { .size = sizeof(info) };

	expect_errno(do_ioctl(_IOWR(PVX_IOC_MAGIC, 0x7f, struct pvx_info), &info),
		     ENOTTY, "unknown ioctl number");
	expect_errno(do_ioctl(_IOWR(PVX_IOC_MAGIC - 1, 0x00, struct pvx_info), &info),
		     ENOTTY, "wrong ioctl magic");
	/* size bits are .size's business (uapi/pvx.h), direction bits are not */
	expect_errno(do_ioctl(_IOR(PVX_IOC_MAGIC, 0x00, struct pvx_info), &info),
		     ENOTTY, "GET_INFO encoded read-only (_IOR)");
	expect_errno(do_ioctl(_IO(PVX_IOC_MAGIC, 0x00), &info),
		     ENOTTY, "GET_INFO encoded without data (_IO)");
	expect_errno(do_ioctl(_IOR(PVX_IOC_MAGIC, 0x00, struct pvx_info), &info),
		     ENOTTY, "GET_INFO encoded with a wrong direction");
}

/*
 * reprobe: anything but "1" is -EINVAL and changes nothing; "1" PROBEs
 * again, and on an unchanged host finds what the load found.
 */
static void test_reprobe(void)
{
	unsigned long long v = ~0ull;
	int ret;

	expect_errno(write_file(SYSDIR "/reprobe", "2"), EINVAL, "reprobe '2'");
	expect_errno(write_file(SYSDIR "/reprobe", "yes"), EINVAL, "reprobe 'yes'");
	test_ok(write_file(SYSDIR "/reprobe", "1\n"), "reprobe '1' succeeds");
	test_attr_str("host", expect_host ? "pvx" : "no-pvx");
	ret = read_attr_u64("host_features", &v);
	ksft_test_result(!ret && v == sys_features,
			 "host_features after reprobe 0x%llx, as at load 0x%llx\n",
			 v, sys_features);
}

/*
 * sysfs 12, open 1, GET_INFO 3 + 1, bad size 4, bad pointer 5, bad cmd 5,
 * reprobe 5
 */
#define NR_TESTS 36

static int expect_test(void)
{
	int fails, skips, passes;

	page_size = sysconf(_SC_PAGESIZE);

	ksft_print_header();
	ksft_set_plan(NR_TESTS);
	ksft_print_msg("expecting %s\n", expect_host ?
		       "a pvx host" : "a host without pvx (fallback)");

	test_sysfs();

	pvx_fd = open(DEVNODE, O_RDONLY);
	ksft_test_result(pvx_fd >= 0, DEVNODE " opens%s%s\n",
			 pvx_fd < 0 ? " # " : "",
			 pvx_fd < 0 ? strerror(errno) : "");
	test_get_info();
	test_get_info_larger();
	test_bad_size();
	test_bad_pointer();
	test_bad_cmd();
	test_reprobe();
	if (pvx_fd >= 0)
		close(pvx_fd);

	ksft_print_cnts();
	fails = ksft_get_fail_cnt() + ksft_get_error_cnt();
	skips = ksft_get_xskip_cnt();
	passes = ksft_get_pass_cnt();
	if (fails || ksft_test_num() != NR_TESTS)
		return KSFT_FAIL;
	if (!passes && skips)
		return KSFT_SKIP;
	return KSFT_PASS;
}

/* ---- --reload KO --------------------------------------------------------- */

/* pvx_guest's dmesg line about what the host offers, said at each load */
#define HOST_LINE	"pvx_guest: host "
/* refused while open, rmmod, gone, insmod again, said once more */
#define RELOAD_TESTS	5

/* pvx_guest unloaded, its sysfs directory and device node gone with it. */
static bool pvx_guest_gone(void)
{
	return !module_is_loaded("pvx_guest") && !path_exists(SYSDIR) &&
	       !path_exists(DEVNODE);
}

/* An open /dev/pvx holds the module: rmmod must be refused. */
static void test_unload_while_open(void)
{
	int fd = open(DEVNODE, O_RDONLY);

	if (fd < 0) {
		ksft_test_result_fail("rmmod refused while /dev/pvx is open # open: %s\n",
				      strerror(errno));
		return;
	}
	ksft_test_result(module_unload("pvx_guest"), "rmmod refused while /dev/pvx is open\n");
	close(fd);
}

static int reload_test(const char *ko)
{
	static const char said_again[] = "second load says it once more";
	int c0, c;

	ksft_print_header();
	ksft_set_plan(RELOAD_TESTS);
	test_unload_while_open();
	test_ok(module_unload("pvx_guest"), "rmmod pvx_guest");
	ksft_test_result(pvx_guest_gone(), "/sys/kernel/pvx and /dev/pvx gone after rmmod\n");
	/* counted now: pvx_guest_test's reprobe said it once more too */
	c0 = dmesg_count(HOST_LINE);
	test_ok(module_load(ko, ""), "insmod pvx_guest.ko again");
	c = dmesg_count(HOST_LINE);
	if (c == c0 + 1)
		ksft_test_result_pass("%s\n", said_again);
	else
		ksft_test_result_fail("%s # %d 'pvx_guest: host' lines in total, %d before\n",
				      said_again, c, c0);
	ksft_finished();
}

/* ---- --load KO ----------------------------------------------------------- */

/* insmod, said once */
#define LOAD_TESTS	2

/*
 * The boot's first load of pvx_guest (init.sh): insmod KO, its dmesg
 * lines and sysfs files as comments, and the one line about what the
 * host offers, said once. Leaves the module loaded.
 */
static int load_test(const char *ko)
{
	static const char *const lines[] = { "pvx_guest", NULL };
	static const char said_once[] = "dmesg says once what the host offers";
	const char *want = expect_host ? HOST_LINE "pvx ABI " : HOST_LINE "has no pvx ";
	int err, c;

	ksft_print_header();
	ksft_set_plan(LOAD_TESTS);
	err = module_load(ko, "");
	test_ok(err, "insmod pvx_guest.ko");
	dmesg_print(lines, 0);
	if (err)
		ksft_exit_fail_msg("pvx_guest did not load\n");
	print_sysfs_dir(SYSDIR, SYSDIR);
	print_sysfs_dir(SYSDIR "/features", SYSDIR "/features");
	print_sysfs_dir(SYSDIR "/stats", SYSDIR "/stats");
	c = dmesg_count(HOST_LINE);
	if (c == 1 && dmesg_count(want) == 1)
		ksft_test_result_pass("%s ('%s')\n", said_once, want);
	else
		ksft_test_result_fail("%s ('%s') # %d 'pvx_guest: host' lines\n", said_once,
				      want, c);
	ksft_finished();
}

/* ---- --host-switch CTL_TTY CALL_KO --------------------------------------- */

/*
 * L2 serves "pvx SWITCH" on the control port (steal-l2.sh's ctl_pvx):
 * off|on write this VM's enabled file in pvx_host, which is what the guest
 * sees after a migration to a host without pvx (every pvx call -ENOSYS);
 * mask-yield|unmask its features mask; abi1|abi2 the ABI version pvx_host
 * announces. The guest must follow each by itself: its periodic PROBE
 * (reprobe_ms, every second) or the first call that meets the change.
 */
#define CALL_DIR	"/sys/module/pvx_call_once/parameters"
#define CALL_PARAM	CALL_DIR "/call"
#define CALL_RESULT	CALL_DIR "/result"
#define GUEST_PARAMS	"/sys/module/pvx_guest/parameters"
#define LOST_LINE	"pvx_guest: host stopped serving pvx"
#define BACK_LINE	"pvx_guest: host serves pvx again"
#define NO_YIELD	"unsupported by host"
/* the periodic PROBE runs every second: 30 s is many chances */
#define FOLLOW_MS	30000
/*
 * pvx off and on again 13, two changes L2 makes and undoes 5 each,
 * reprobe_ms 2, pvx_call_once's parameter 1
 */
#define HOST_SWITCH_TESTS	26
/* without YIELD: the SKIP and pvx_call_once's parameter */
#define HOST_SWITCH_SKIP_TESTS	2

static const char *ctl_tty, *call_ko;

/* What L2 changes and undoes, after which YIELD is not usable. */
struct host_change {
	const char *set, *undo;	/* L2's pvx switches */
	const char *attr;	/* what shows the change in SYSDIR */
	const char *what;	/* the checks' description */
};

static const struct host_change host_changes[] = {
	{ "mask-yield", "unmask", "features/yield", "a features mask without YIELD" },
	/* v1's YIELD, which this guest does not speak */
	{ "abi1", "abi2", "host_abi_version", "ABI v1 announced" },
};

/* SYSDIR/@name into @buf, "" when unreadable (as the checks print it). */
static char *attr(const char *name, char *buf, size_t len)
{
	if (read_attr(name, buf, len))
		buf[0] = 0;
	return buf;
}

static bool attr_is(const char *name, const char *want)
{
	char buf[128];

	return !strcmp(attr(name, buf, sizeof(buf)), want);
}

/* SYSDIR/stats/@name, -1 when unreadable. */
static long long stat_of(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "stats/%s", name);
	return sysfs_read_counter(SYSDIR, path);
}

static long long uptime_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_BOOTTIME, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Until SYSDIR/@name reads @want, at most FOLLOW_MS: the ms waited. */
static long wait_attr(const char *name, const char *want)
{
	long long t0 = uptime_ms();
	int i;

	for (i = 0; i < FOLLOW_MS / 100 && !attr_is(name, want); i++)
		sleep_ms(100);
	return uptime_ms() - t0;
}

/* A PROBE now, as a write of 1 to /sys/kernel/pvx/reprobe asks. */
static void probe_now(void)
{
	write_file(SYSDIR "/reprobe", "1\n");
}

/*
 * A YIELD to no vCPU through pvx_call_once: its "call" parameter while
 * the module is loaded, else a load of its own (it calls at load). Its
 * answer into @r, or why there is none.
 */
static void call_once(char *r, size_t len)
{
	int err;

	r[0] = 0;
	if (path_exists(CALL_PARAM)) {
		if (write_file(CALL_PARAM, "1\n"))
			snprintf(r, len, "call: write refused");
		else
			sysfs_read_str(CALL_RESULT, r, len);
		return;
	}
	err = module_load(call_ko, "");
	if (err) {
		snprintf(r, len, "insmod: %s", strerror(-err));
		return;
	}
	sysfs_read_str(CALL_RESULT, r, len);
	module_unload("pvx_call_once");
}

/* The call's answer @r is the pvx error @want (-PVX_EINVAL, -PVX_ENOSYS). */
static bool answered(const char *r, long want)
{
	char s[24];

	snprintf(s, sizeof(s), "%ld", want);
	return !strcmp(r, s);
}

/* "pvx @sw" to L2: true when it answered "ok pvx @sw", else @why says why not. */
static bool ask_l2(const char *sw, char *why, size_t len)
{
	char request[64], want[64];

	snprintf(request, sizeof(request), "pvx %s", sw);
	snprintf(want, sizeof(want), "ok pvx %s", sw);
	return !l2_ask(ctl_tty, request, want, why, len);
}

/*
 * pvx off: the next YIELD answers -ENOSYS, the guest falls back at once
 * and says so once, refuses the calls after that itself, and a reprobe
 * finds no pvx. False when L2 did not switch.
 */
static bool host_off_test(long long refused0)
{
	char why[256], r[64], host[32];
	long long refused;

	if (!ask_l2("off", why, sizeof(why))) {
		ksft_test_result_fail("L2 disables pvx for this VM # %s\n", why);
		return false;
	}
	ksft_test_result_pass("L2 disables pvx for this VM\n");
	call_once(r, sizeof(r));
	ksft_test_result(answered(r, -PVX_ENOSYS),
			 "YIELD after the host stopped pvx: -ENOSYS (got %s)\n", r);
	attr("host", host, sizeof(host));
	ksft_test_result(!strcmp(host, "no-pvx"),
			 "the guest fell back at once: host reads no-pvx (%s)\n", host);
	ksft_test_result(attr_is("features/yield", NO_YIELD),
			 "features/yield reads unsupported by host\n");
	call_once(r, sizeof(r));
	refused = stat_of("refused");
	ksft_test_result(answered(r, -PVX_ENOSYS) && refused > refused0,
			 "the next YIELD is refused without an exit (-ENOSYS, refused %lld -> %lld)\n",
			 refused0, refused);
	ksft_test_result(dmesg_count(LOST_LINE) == 1, "dmesg says it once (%d lines)\n",
			 dmesg_count(LOST_LINE));
	probe_now();
	ksft_test_result(attr_is("host", "no-pvx"),
			 "reprobe while the host has no pvx: still no-pvx\n");
	return true;
}

/*
 * pvx on again: the periodic PROBE finds pvx without a reprobe, YIELD
 * reaches the host again, the return is said once and counted. False
 * when L2 did not switch.
 */
static bool host_on_test(void)
{
	/* before L2 answers: the periodic PROBE may see the change first */
	long long changes0 = stat_of("host_changes"), changes;
	char why[256], r[64];
	long w;

	if (!ask_l2("on", why, sizeof(why))) {
		ksft_test_result_fail("L2 enables pvx for this VM again # %s\n", why);
		return false;
	}
	ksft_test_result_pass("L2 enables pvx for this VM again\n");
	w = wait_attr("host", "pvx");
	ksft_test_result(attr_is("host", "pvx"),
			 "without a reprobe, host reads pvx again (periodic PROBE, after %ld ms)\n",
			 w);
	call_once(r, sizeof(r));
	ksft_test_result(answered(r, -PVX_EINVAL),
			 "YIELD to no vCPU after that: -EINVAL again (got %s)\n", r);
	ksft_test_result(dmesg_count(LOST_LINE) == 1 && dmesg_count(BACK_LINE) == 1,
			 "dmesg still says the loss once (%d lines) and the return once (%d)\n",
			 dmesg_count(LOST_LINE), dmesg_count(BACK_LINE));
	changes = stat_of("host_changes");
	ksft_test_result(changes > changes0, "stats/host_changes counted it (%lld -> %lld)\n",
			 changes0, changes);
	return true;
}

/*
 * L2 makes @c: the guest sees YIELD go without a reprobe, keeps pvx and
 * the other features, and refuses YIELD itself. False when L2 did not.
 */
static bool host_change_set(const struct host_change *c, char *feats0, size_t len)
{
	char why[256], val[64], feats[64], r[64];
	long long refused0, refused;
	long w;

	if (!ask_l2(c->set, why, sizeof(why))) {
		ksft_test_result_fail("L2 sets %s # %s\n", c->what, why);
		return false;
	}
	attr("host_features", feats0, len);
	w = wait_attr("features/yield", NO_YIELD);
	ksft_test_result(attr_is("features/yield", NO_YIELD),
			 "%s: features/yield reads unsupported by host without a reprobe (after %ld ms, %s %s)\n",
			 c->what, w, c->attr, attr(c->attr, val, sizeof(val)));
	attr("host_features", feats, sizeof(feats));
	ksft_test_result(attr_is("host", "pvx") && feats[0],
			 "%s: the host still reads pvx, the other features stay (%s)\n",
			 c->what, feats);
	refused0 = stat_of("refused");
	call_once(r, sizeof(r));
	refused = stat_of("refused");
	ksft_test_result(answered(r, -PVX_ENOSYS) && refused > refused0,
			 "%s: YIELD refused without an exit (got %s, refused %lld -> %lld)\n",
			 c->what, r, refused0, refused);
	return true;
}

/* L2 undoes @c: YIELD comes back without a reprobe, pvx was never lost. */
static void host_change_undo(const struct host_change *c)
{
	char why[256], r[64];
	long w;

	if (!ask_l2(c->undo, why, sizeof(why))) {
		ksft_test_result_fail("L2 undoes %s # %s\n", c->what, why);
		return;
	}
	w = wait_attr("features/yield", "available");
	ksft_test_result(attr_is("features/yield", "available"),
			 "%s undone: features/yield available again without a reprobe (after %ld ms)\n",
			 c->what, w);
	call_once(r, sizeof(r));
	ksft_test_result(answered(r, -PVX_EINVAL) && dmesg_count(LOST_LINE) == 1,
			 "%s undone: YIELD to no vCPU reaches the host again (-EINVAL, got %s); dmesg said no loss of pvx (%d)\n",
			 c->what, r, dmesg_count(LOST_LINE));
}

static void host_follows(const struct host_change *c)
{
	char feats0[64];

	if (!host_change_set(c, feats0, sizeof(feats0)))
		return;
	host_change_undo(c);
	ksft_print_msg("%s: host_features %s while set\n", c->what, feats0);
}

/* reprobe_ms: 0 (no periodic PROBE) or 100..3600000; anything else refused */
static void reprobe_ms_refuses(const char *was)
{
	/* as echo writes them */
	static const char *const bad[] = { "99\n", "3600001\n", "4294967296\n", "-1\n",
					   "abc\n", "\n" };
	char now[32] = "";
	unsigned int i;
	int accepted = 0;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		accepted += !param_refused(GUEST_PARAMS, "reprobe_ms", bad[i]);
	sysfs_read_str(GUEST_PARAMS "/reprobe_ms", now, sizeof(now));
	ksft_test_result(!accepted && !strcmp(now, was),
			 "reprobe_ms: 99, 3600001, 2^32, -1, 'abc', '' refused (%d accepted), it stays %s\n",
			 accepted, was);
}

/* reprobe_ms 0 stops the periodic PROBE, the old value starts it again. */
static void reprobe_ms_zero(const char *was)
{
	long long p0 = stat_of("periodic_probes"), p1, p2, p3;
	unsigned int i;
	char line[40];

	write_file(GUEST_PARAMS "/reprobe_ms", "0\n");
	sleep_ms(500);
	p1 = stat_of("periodic_probes");
	sleep_ms(2500);
	p2 = stat_of("periodic_probes");
	snprintf(line, sizeof(line), "%s\n", was);
	write_file(GUEST_PARAMS "/reprobe_ms", line);
	/*
	 * Looked at every 100 ms: the PROBE's timer is deferrable, so on an
	 * idle guest it runs when its CPU wakes for something else, and this
	 * program's own wake-up is the only thing that wakes it.
	 */
	for (i = 0; i < 50 && (p3 = stat_of("periodic_probes")) <= p2; i++)
		sleep_ms(100);
	ksft_test_result(p1 == p2 && p3 > p2 && p1 >= p0,
			 "reprobe_ms 0 stops the periodic PROBE (%lld -> %lld in 2.5 s), %s starts it again (-> %lld after %u ms)\n",
			 p1, p2, was, p3, i * 100);
}

/* The host serves YIELD: L2 takes pvx away and gives it back, then takes YIELD twice. */
static void host_switch_calls(void)
{
	long long refused0 = stat_of("refused");
	char r[64], was[32] = "";
	unsigned int i;

	call_once(r, sizeof(r));
	ksft_test_result(answered(r, -PVX_EINVAL),
			 "YIELD to no vCPU while the host serves pvx: -EINVAL (got %s)\n", r);
	if (!host_off_test(refused0) || !host_on_test())
		return;
	for (i = 0; i < ARRAY_SIZE(host_changes); i++)
		host_follows(&host_changes[i]);
	sysfs_read_str(GUEST_PARAMS "/reprobe_ms", was, sizeof(was));
	reprobe_ms_refuses(was);
	reprobe_ms_zero(was);
}

/* pvx_call_once's "call" takes 1 only. */
static void test_call_param(void)
{
	ksft_test_result(path_exists(CALL_PARAM) && write_file(CALL_PARAM, "0\n") &&
			 write_file(CALL_PARAM, "x\n"),
			 "pvx_call_once: its 'call' parameter refuses 0 and 'x'\n");
}

static int host_switch_test(void)
{
	int err;

	ksft_print_header();
	/* loaded once for its dozen calls: a module load in L3 costs seconds under TCG */
	err = module_load(call_ko, "");
	if (err)
		ksft_print_msg("pvx_call_once stays unloaded between calls: %s\n",
			       strerror(-err));
	if (attr_is("features/yield", "available")) {
		ksft_set_plan(HOST_SWITCH_TESTS);
		host_switch_calls();
	} else {
		ksft_set_plan(HOST_SWITCH_SKIP_TESTS);
		ksft_test_result_code(KSFT_SKIP, "migration fallback",
				      "the host does not serve YIELD");
	}
	test_call_param();
	module_unload("pvx_call_once");
	ksft_finished();
}

/* ---- main ---------------------------------------------------------------- */

static int print_usage(void)
{
	fprintf(stderr, "usage: pvx_guest_test --expect-host|--expect-fallback\n"
		"       pvx_guest_test --load KO --expect-host|--expect-fallback\n"
		"       pvx_guest_test --reload KO\n"
		"       pvx_guest_test --host-switch CTL_TTY CALL_KO\n");
	return KSFT_FAIL;
}

int main(int argc, char **argv)
{
	/* run_kselftest.sh runs it without arguments: a skip, not a failure */
	if (argc == 1)
		ksft_exit_skip("no mode: the lab's init.sh gives %s\n",
			       "--load, --expect-host, --expect-fallback, --reload or --host-switch");

	if (argc == 4 && !strcmp(argv[1], "--load") && parse_expect(argv[3], &expect_host))
		return load_test(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "--reload"))
		return reload_test(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "--host-switch")) {
		ctl_tty = argv[2];
		call_ko = argv[3];
		return host_switch_test();
	}
	if (argc != 2 || (strcmp(argv[1], "--expect-host") &&
			  strcmp(argv[1], "--expect-fallback")))
		return print_usage();
	expect_host = !strcmp(argv[1], "--expect-host");
	return expect_test();
}
