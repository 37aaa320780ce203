// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_guest_test: runs inside an L3 guest with pvx_guest.ko loaded and
 * checks /sys/kernel/pvx and /dev/pvx against what the test expects of
 * the host: --expect-host (the L2 host runs pvx_host.ko) or
 * --expect-fallback (stock KVM host: every feature falls back).
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
#include <unistd.h>

#include "pvx.h"
#include "kselftest.h"
#include "sysfs_util.h"

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
	ret = write_file(SYSDIR "/reprobe", "1\n");
	ksft_test_result(!ret, "reprobe '1' succeeds%s%s\n", ret ? " # " : "",
			 ret ? strerror(-ret) : "");
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

int main(int argc, char **argv)
{
	int fails, skips, passes;

	if (argc != 2 || (strcmp(argv[1], "--expect-host") &&
			  strcmp(argv[1], "--expect-fallback"))) {
		fprintf(stderr, "usage: %s --expect-host|--expect-fallback\n",
			argv[0]);
		return KSFT_FAIL;
	}
	expect_host = !strcmp(argv[1], "--expect-host");
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
