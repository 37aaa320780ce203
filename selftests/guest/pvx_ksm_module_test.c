// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_ksm_module_test: the life of pvx_ksm_guest.ko inside an L3 guest
 * with pvx_guest.ko loaded: its load, what its first round sent, its
 * parameters and rounds, its unload, and the zero_free load. The ioctl's
 * tests are pvx_ksm_guest_test's; init.sh runs the two in this order:
 *
 *   --load KO --expect-host|--expect-fallback
 *                      a load under the rate limit refused, a load with
 *                      interval_ms=0 (no periodic round beside the tests);
 *                      dmesg says once whether the host takes KSM hints;
 *                      with them, the first round sent every kind of
 *                      candidate (executables' page cache, root files
 *                      nobody writes, modules' read-only pages, the
 *                      kernel image's zero pages), without them nothing
 *                      was walked. Leaves the module loaded.
 *   --params --expect-host|--expect-fallback
 *                      bad parameter values refused with the old kept;
 *                      interval_ms 1000 sends the candidates again (host)
 *                      or sends nothing (fallback); with the host's hints,
 *                      max_file_pages 0 withdraws the page cache and its
 *                      old value brings it back, a root file is held once
 *                      closed and let go once open for write, and the
 *                      walk of a root filesystem with many files of an
 *                      unprivileged user leaves no soft lockup.
 *   --unload           the counters as "# ksm/NAME: N" lines (run-l3.sh
 *                      compares them with the host's), nothing protected,
 *                      pvx_guest held, the unload, its final count.
 *   --zero KO --expect-host|--expect-fallback
 *                      with pvx_ksm_guest unloaded: bad zero_free and
 *                      zero_order refused; a zero_free=1 load zeroes stale
 *                      free pages and sends them (host) or touches nothing
 *                      (fallback); unloads it.
 *
 * TAP 13; exit 0 all passed, 1 any failed. Runs as root.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "module_util.h"
#include "sysfs_util.h"
#include "l3_tap.h"

#define KSMDIR		"/sys/kernel/pvx/ksm"
#define PARAMS		"/sys/module/pvx_ksm_guest/parameters"
#define REPORT_ORDER	"/sys/module/page_reporting/parameters/page_reporting_order"
#define WATCHDOG_THRESH	"/proc/sys/kernel/watchdog_thresh"
#define RO_FILE		"/pvx-ro-test"
#define MANY_DIR	"/pvx-many"
#define ZERO_ARGS	"zero_free=1 zero_order=1 interval_ms=1000 exec_files=0 ro_files=0 " \
			"module_ro=0 image_zero=0"
#define NOBODY		65534
/* what the module says in dmesg */
#define NO_HINTS_LINE	"pvx_ksm_guest: host has no PVX_HC_KSM_HINT: KSM hints unsupported by host"
#define ZERO_ON_LINE	"pvx_ksm_guest: zero_free: stale free pages are zeroed and sent as candidates"
#define ZERO_OFF_LINE	"pvx_ksm_guest: zero_free: the host takes no KSM hints, free pages not zeroed"

static bool host;

static long long ks(const char *name)
{
	return sysfs_read_counter(KSMDIR, name);
}

static void ks_str(const char *name, char *buf, size_t size)
{
	char path[sizeof(KSMDIR) + 256];

	snprintf(path, sizeof(path), KSMDIR "/%s", name);
	if (sysfs_read_str(path, buf, size))
		buf[0] = 0;
}

static double uptime_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_BOOTTIME, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Wait up to @secs s for candidate_rounds to reach @want. */
static bool rounds_reach(long long want, int secs)
{
	int i;

	for (i = 0; i < secs; i++) {
		if (ks("candidate_rounds") >= want)
			return true;
		sleep(1);
	}
	return ks("candidate_rounds") >= want;
}

/* The kernel log's lines containing @needle, as "# dmesg: " comments. */
static void print_dmesg(const char *needle)
{
	const char *const needles[] = { needle, NULL };

	dmesg_print(needles, 0);
}

/* pvx_ksm_guest said one "host" line at load, and it says @text. */
static bool ksm_says(const char *text)
{
	return dmesg_count("pvx_ksm_guest: host ") == 1 && dmesg_count(text) >= 1;
}

/* ---- --load -------------------------------------------------------------- */

/* What the first round did with the page cache, modules and zero pages. */
static void files_sent(void)
{
	long long img = ks("candidate_pages"), fp = ks("file_pages_now");
	long long mp = ks("module_pages_now"), zp = ks("image_zero_pages_now");
	long long added = ks("candidates_added");

	if (!host) {
		ksft_test_result(ks("file_files") == 0 && fp == 0,
				 "exec_files without the host's hints: no process walked, nothing held (files %lld, pages %lld)\n",
				 ks("file_files"), fp);
		ksft_test_result(ks("ro_file_files") == 0 && mp == 0 && zp == 0,
				 "ro_files, module_ro and image_zero without the host's hints: nothing walked or held (%lld files, %lld module and %lld zero pages)\n",
				 ks("ro_file_files"), mp, zp);
		return;
	}
	ksft_test_result(ks("file_files") > 0 && fp > 0 && added >= img + fp,
			 "exec_files: the page cache of %lld executable files held as candidates at load (%lld pages, host took %lld >= %lld of the image + them)\n",
			 ks("file_files"), fp, added, img);
	ksft_test_result(ks("ro_file_files") > 0,
			 "ro_files: the root filesystem's %lld files nobody writes held as candidates at load\n",
			 ks("ro_file_files"));
	ksft_test_result(mp > 0,
			 "module_ro: %lld pages of modules' text and read-only data held as candidates at load\n",
			 mp);
	ksft_test_result(zp > 0,
			 "image_zero: %lld zero pages of the kernel image's data and bss held as candidates at load\n",
			 zp);
	ksft_test_result(added >= img + fp + mp + zp,
			 "the host took every kind: candidates_added %lld >= image %lld + files %lld + modules %lld + zero pages %lld\n",
			 added, img, fp, mp, zp);
}

static int load_test(const char *ko)
{
	int err = module_load(ko, "interval_ms=500");

	ksft_set_plan(host ? 8 : 5);
	if (!err)
		module_unload("pvx_ksm_guest");
	ksft_test_result(err < 0,
			 "insmod pvx_ksm_guest.ko interval_ms=500 refused (under the rate limit)\n");
	err = module_load(ko, "interval_ms=0");
	if (err)
		ksft_exit_fail_msg("insmod pvx_ksm_guest.ko interval_ms=0: %s\n", strerror(-err));
	ksft_test_result_pass("insmod pvx_ksm_guest.ko interval_ms=0\n");
	print_dmesg("pvx_ksm_guest: ");
	if (host)
		ksft_test_result(ksm_says("pvx_ksm_guest: host takes KSM hints"),
				 "dmesg says once that the host takes KSM hints\n");
	else
		ksft_test_result(ksm_says(NO_HINTS_LINE),
				 "dmesg says once that KSM hints are unsupported by the host\n");
	files_sent();
	ksft_finished();
}

/* ---- --params ------------------------------------------------------------ */

/*
 * exec_files: the page cache of init's busybox (mapped executable) is
 * sent as candidates; max_file_pages 0 withdraws all of it in the next
 * whole round, and the old cap brings it back (a round counts in
 * candidate_rounds when it begins: the one before the third after the
 * write has ended, and it began after the write)
 */
static void file_cap(void)
{
	char cap[32];
	long long r0;

	if (sysfs_read_str(PARAMS "/max_file_pages", cap, sizeof(cap)))
		ksft_exit_fail_msg("no %s/max_file_pages\n", PARAMS);
	r0 = ks("candidate_rounds");
	write_file(PARAMS "/max_file_pages", "0");
	rounds_reach(r0 + 3, 10);
	ksft_test_result(ks("file_pages_now") == 0 && ks("file_capped") == 1 &&
			 ks("candidates_withdrawn") > 0,
			 "max_file_pages 0: no page cache held after a round (file_pages_now %lld, capped %lld, withdrawn %lld)\n",
			 ks("file_pages_now"), ks("file_capped"), ks("candidates_withdrawn"));
	r0 = ks("candidate_rounds");
	write_file(PARAMS "/max_file_pages", cap);
	rounds_reach(r0 + 3, 10);
	ksft_test_result(ks("file_pages_now") > 0 && ks("file_capped") == 0,
			 "max_file_pages %s again: the page cache is held again (file_pages_now %lld, capped %lld)\n",
			 cap, ks("file_pages_now"), ks("file_capped"));
}

/* A file of @pages zero pages at @path: 0 or -1. */
static int write_zero_file(const char *path, size_t pages)
{
	static const char page[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t i;

	if (fd < 0)
		return -1;
	for (i = 0; i < pages; i++)
		if (write(fd, page, sizeof(page)) != sizeof(page))
			break;
	close(fd);
	return i == pages ? 0 : -1;
}

/*
 * ro_files: a 1 MiB file written on the root filesystem (rootfs; /tmp is
 * another tmpfs) is held within three rounds; opened for write, it is let
 * go within three more (file_pages_now moves by its 256 pages; other root
 * files change by a few pages at most meanwhile)
 */
static void ro_file_held(void)
{
	long long p0 = ks("file_pages_now"), p1, p2, r0;
	int fd;

	write_zero_file(RO_FILE, 256);
	r0 = ks("candidate_rounds");
	rounds_reach(r0 + 3, 10);
	p1 = ks("file_pages_now");
	ksft_test_result(p1 >= p0 + 250,
			 "ro_files: a 256-page file written to the root filesystem and closed is held as candidates (%lld -> %lld pages, ro_file_files %lld)\n",
			 p0, p1, ks("ro_file_files"));
	fd = open(RO_FILE, O_WRONLY | O_APPEND);
	r0 = ks("candidate_rounds");
	rounds_reach(r0 + 3, 10);
	p2 = ks("file_pages_now");
	ksft_test_result(fd >= 0 && p2 <= p1 - 250,
			 "ro_files: the same file open for write is let go (%lld -> %lld pages)\n",
			 p1, p2);
	if (fd >= 0)
		close(fd);
	unlink(RO_FILE);
}

/*
 * Create @*n empty files in @dir as uid 65534, fewer when the filesystem
 * has fewer free inodes than that + 1000 (a tmpfs root has an inode limit,
 * half its pages: leave 1000); *n is then how many were tried. How many
 * were made, -1 when the child could not run.
 */
static long make_files(const char *dir, unsigned long *n)
{
	unsigned long i, *made = mmap(NULL, sizeof(*made), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct statvfs sv;
	char name[64];
	int fd, st = -1;
	long ret = -1;
	pid_t pid;

	if (made == MAP_FAILED)
		return -1;
	*made = 0;
	if (!statvfs(dir, &sv) && sv.f_favail < *n + 1000)
		*n = sv.f_favail > 1000 ? sv.f_favail - 1000 : 0;
	pid = fork();
	if (!pid) {
		if (setgid(NOBODY) || setuid(NOBODY) || chdir(dir))
			_exit(2);
		for (i = 0; i < *n; i++) {
			snprintf(name, sizeof(name), "f%lu", i);
			fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd < 0)
				break;
			close(fd);
			(*made)++;
		}
		_exit(0);
	}
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st))
		ret = *made;
	munmap(made, sizeof(*made));
	return ret;
}

/* @dir and every file in it (one level: make_files' files) removed. */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

/* The first line of the kernel log after @from lines that tells a lockup. */
static void first_lockup_line(int from, char *buf, size_t size)
{
	static const char * const bad[] = {
		"soft lockup", "hard LOCKUP", "BUG:", "WARNING:",
	};
	char *log = dmesg_read(), *line, *end, *rcu;
	unsigned int i;
	int k = 0;

	buf[0] = 0;
	for (line = log; line && *line && !buf[0]; line = end, k++) {
		end = strchr(line, '\n');
		if (end)
			*end++ = 0;
		if (k < from)
			continue;
		rcu = strstr(line, "rcu_");
		if (rcu && strstr(rcu, "stall"))
			snprintf(buf, size, "%s", line);
		for (i = 0; i < ARRAY_SIZE(bad) && !buf[0]; i++)
			if (strstr(line, bad[i]))
				snprintf(buf, size, "%s", line);
	}
	free(log);
}

/* MemAvailable in KiB, 0 when unknown. */
static unsigned long mem_available_kb(void)
{
	unsigned long kb = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/*
 * ro_files' walk of the root filesystem's inodes with many files of an
 * unprivileged user (empty: skipped under s_inode_list_lock), rounds every
 * second and the soft-lockup watchdog at its shortest (watchdog_thresh 1:
 * 2 s without a schedule): the walk gives up the lock and the CPU when the
 * CPU is wanted, so no soft lockup, and the rounds go on. A quarter of the
 * memory available is given to the files (about 1 KiB of inode and dentry
 * each on the initramfs root), at most a million and at most the root's
 * free inodes less 1000 (tmpfs: 32768 in all in a 256 MiB L3).
 */
static void many_files(void)
{
	unsigned long n = mem_available_kb() / 4;
	char thresh[16], bad[256];
	long long r0, r1;
	double t0, t1;
	long made;
	int from;

	if (n > 1000000)
		n = 1000000;
	if (sysfs_read_str(WATCHDOG_THRESH, thresh, sizeof(thresh)))
		snprintf(thresh, sizeof(thresh), "10");
	from = dmesg_lines();
	mkdir(MANY_DIR, 0755);
	if (chown(MANY_DIR, NOBODY, NOBODY))
		ksft_print_msg("chown %s: %s\n", MANY_DIR, strerror(errno));
	write_file(WATCHDOG_THRESH, "1");
	t0 = uptime_s();
	made = make_files(MANY_DIR, &n);
	ksft_print_msg("ksm_many_files: made %ld of %lu files in %s as uid %d in %.0f ms\n",
		       made, n, MANY_DIR, NOBODY, (uptime_s() - t0) * 1000);
	r0 = ks("candidate_rounds");
	t0 = uptime_s();
	rounds_reach(r0 + 4, 30);
	r1 = ks("candidate_rounds");
	t1 = uptime_s();
	write_file(WATCHDOG_THRESH, thresh);
	first_lockup_line(from, bad, sizeof(bad));
	ksft_test_result(made >= 0 && (unsigned long)made == n && made >= 1000 && r1 >= r0 + 4 &&
			 !bad[0],
			 "ro_files: %ld of %lu empty files of uid %d on the root filesystem, %lld rounds in %.1f s with watchdog_thresh 1: no soft lockup (dmesg: %s)\n",
			 made, n, NOBODY, r1 - r0, t1 - t0, bad[0] ? bad : "nothing");
	remove_dir(MANY_DIR);
}

static int params_test(void)
{
	static const char * const bad_values[][2] = {
		{ "interval_ms", "999" }, { "interval_ms", "86400001" },
		{ "interval_ms", "abc" }, { "interval_ms", "-1" },
		{ "max_pages", "262145" }, { "max_pages", "x" },
		{ "max_file_pages", "262145" }, { "max_file_pages", "-1" },
		{ "exec_files", "0" }, { "ro_files", "0" },
		{ "module_ro", "0" }, { "image_zero", "0" },
	};
	char accepted[512] = "";
	long long r0;
	size_t i;

	ksft_set_plan(host ? 7 : 2);
	for (i = 0; i < ARRAY_SIZE(bad_values); i++)
		if (!param_refused(PARAMS, bad_values[i][0], bad_values[i][1]))
			snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted),
				 " %s=%s", bad_values[i][0], bad_values[i][1]);
	ksft_test_result(!accepted[0],
			 "bad interval_ms, max_pages and max_file_pages values and a change of exec_files, ro_files, module_ro or image_zero refused, old ones kept (accepted:%s)\n",
			 accepted);
	r0 = ks("candidate_rounds");
	write_file(PARAMS "/interval_ms", "1000");
	if (host) {
		rounds_reach(r0 + 1, 5);
		ksft_test_result(ks("candidate_rounds") > r0,
				 "interval_ms 1000: the candidates are sent again within 5 s (rounds %lld -> %lld)\n",
				 r0, ks("candidate_rounds"));
		file_cap();
		ro_file_held();
		many_files();
	} else {
		sleep(2);
		ksft_test_result(ks("candidate_rounds") == 0 && ks("batches") == 0,
				 "interval_ms 1000 without the host's hints: no round sends anything (rounds %lld, batches %lld)\n",
				 ks("candidate_rounds"), ks("batches"));
	}
	write_file(PARAMS "/interval_ms", "0");
	ksft_finished();
}

/* ---- --unload and the final count ---------------------------------------- */

/*
 * The counters as "# PREFIX/NAME: N" lines, candidates_added as
 * "# @added_as/candidates_added" (NULL: as the others): candidates may
 * still arrive until the unload, whose dmesg line has the final count.
 */
static void print_counters(const char *prefix, const char *added_as)
{
	struct dirent **names;
	char v[128];
	int i, n = scandir(KSMDIR, &names, NULL, alphasort);

	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		bool added = added_as && !strcmp(name, "candidates_added");

		if (name[0] != '.') {
			ks_str(name, v, sizeof(v));
			ksft_print_msg("%s/%s: %s\n", added ? added_as : prefix, name, v);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/*
 * The final count of candidates the host took over this load, from the
 * dmesg line at rmmod, as the "# ksm/candidates_added" line run-l3.sh sums.
 */
static void final_added(void)
{
	static const char said[] = "pvx_ksm_guest: unloaded: the host took ";
	char *log = dmesg_read(), *p, *found = NULL;
	long long added = -1;

	for (p = log; p && (p = strstr(p, said)); p += sizeof(said) - 1)
		found = p + sizeof(said) - 1;
	if (found && sscanf(found, "%lld candidate pages", &added) != 1)
		added = -1;
	free(log);
	if (added >= 0)
		ksft_test_result_pass("dmesg at rmmod: the final count of candidates %s (%lld)\n",
				      "the host took", added);
	else
		ksft_test_result_fail("dmesg at rmmod: the final count of candidates %s ()\n",
				      "the host took");
	ksft_print_msg("ksm/candidates_added: %lld\n", added >= 0 ? added : 0);
}

static int unload_test(void)
{
	ksft_set_plan(5);
	print_counters("ksm", "ksm-load");
	ksft_test_result(ks("pinned_now") == 0 && ks("held_now") == 0,
			 "nothing protected once the test is over (pinned_now %lld, held_now %lld)\n",
			 ks("pinned_now"), ks("held_now"));
	ksft_test_result(module_unload("pvx_guest") < 0,
			 "rmmod pvx_guest refused while pvx_ksm_guest uses it\n");
	ksft_test_result(!module_unload("pvx_ksm_guest"), "rmmod pvx_ksm_guest\n");
	final_added();
	ksft_test_result(!path_exists(KSMDIR), "/sys/kernel/pvx/ksm gone after rmmod\n");
	ksft_finished();
}

/* ---- --zero -------------------------------------------------------------- */

/* Wait up to 90 s for @stat to be > 0 (page reporting's first pass over
 * all free memory is spread over about 30 s).
 */
static bool stat_appears(const char *stat)
{
	int i;

	for (i = 0; i < 45 && ks(stat) <= 0; i++)
		sleep(2);
	return ks(stat) > 0;
}

/* 32 MiB of random bytes in a file of the root filesystem, deleted. */
static void leave_stale_free_memory(void)
{
	static char chunk[1 << 20];
	int fd = open("/tmp/zero-stale", O_WRONLY | O_CREAT | O_TRUNC, 0600), i;

	for (i = 0; fd >= 0 && i < 32; i++)
		if (getrandom(chunk, sizeof(chunk), 0) < 0 ||
		    write(fd, chunk, sizeof(chunk)) != sizeof(chunk))
			break;
	if (fd >= 0)
		close(fd);
	unlink("/tmp/zero-stale");
}

/*
 * The order page reporting will use: 6.1 takes the device's at every
 * registration, 6.12 only while its own is unset (-1).
 */
static void order_wanted(const char *before, char *want, size_t size)
{
	snprintf(want, size, "%s", !kernel_at_least(6, 2) || !strcmp(before, "-1") ? "1" : before);
}

static void zero_with_host(const char *want, const char *before)
{
	char order[16] = "", on[64];
	long long held, added;

	ksft_test_result(dmesg_count(ZERO_ON_LINE) >= 1,
			 "dmesg: zero_free on\n");
	ks_str("zero_free", on, sizeof(on));
	ksft_test_result(!strcmp(on, "on"), "sysfs ksm/zero_free reads on\n");
	sysfs_read_str(REPORT_ORDER, order, sizeof(order));
	ksft_test_result(!strcmp(order, want),
			 "page reporting's order is zero_order's 1 (or 6.12's own, set before: %s): %s\n",
			 before, order);
	stat_appears("zero_pages_now");
	ksft_test_result(ks("zero_pages_cleared") > 0 && ks("zero_pages_now") > 0,
			 "stale free pages zeroed and held as candidates within 90 s (blocks %lld, pages zeroed %lld, already zero %lld, held %lld)\n",
			 ks("zero_blocks_reported"), ks("zero_pages_cleared"),
			 ks("zero_pages_clean"), ks("zero_pages_now"));
	/* sent by the rounds (every second): two whole rounds after the count */
	held = ks("zero_pages_now");
	rounds_reach(ks("candidate_rounds") + 3, 10);
	added = ks("candidates_added");
	ksft_test_result(added >= held, "the host took them (candidates_added %lld >= held %lld)\n",
			 added, held);
}

static void zero_without_host(void)
{
	char on[64];

	sleep(5);
	ksft_test_result(dmesg_count(ZERO_OFF_LINE) >= 1,
			 "dmesg: zero_free does nothing without the host's hints\n");
	ks_str("zero_free", on, sizeof(on));
	ksft_test_result(!strcmp(on, "off (not registered)") && ks("zero_blocks_reported") == 0 &&
			 ks("batches") == 0,
			 "without the host's hints no free page is read or written (zero_free '%s', blocks %lld, batches %lld)\n",
			 on, ks("zero_blocks_reported"), ks("batches"));
}

/* A load with @params must be refused; one that was not is unloaded. */
static void expect_refused(const char *ko, const char *params, const char *what)
{
	int err = module_load(ko, params);

	if (!err)
		module_unload("pvx_ksm_guest");
	ksft_test_result(err < 0, "insmod pvx_ksm_guest.ko %s refused\n", what);
}

static int zero_test(const char *ko)
{
	char before[16] = "", want[16], v[8] = "";
	int err;

	ksft_set_plan(host ? 13 : 10);
	expect_refused(ko, "zero_free=2", "zero_free=2");
	expect_refused(ko, "zero_free=1 zero_order=10", "zero_order=10 (past pageblock order)");
	expect_refused(ko, "zero_free=1 zero_order=-1", "zero_order=-1");
	sysfs_read_str(REPORT_ORDER, before, sizeof(before));
	order_wanted(before, want, sizeof(want));
	err = module_load(ko, ZERO_ARGS);
	if (err)
		ksft_exit_fail_msg("insmod pvx_ksm_guest.ko " ZERO_ARGS ": %s\n", strerror(-err));
	ksft_test_result_pass("insmod pvx_ksm_guest.ko " ZERO_ARGS "\n");
	ksft_test_result(ks("file_files") == 0 && ks("ro_file_files") == 0 &&
			 ks("file_pages_now") == 0 && ks("module_pages_now") == 0 &&
			 ks("image_zero_pages_now") == 0,
			 "exec_files=0 ro_files=0 module_ro=0 image_zero=0: no page cache, module or zero page walked or held (files %lld + %lld, pages %lld, module %lld, zero %lld)\n",
			 ks("file_files"), ks("ro_file_files"), ks("file_pages_now"),
			 ks("module_pages_now"), ks("image_zero_pages_now"));
	print_dmesg("pvx_ksm_guest: zero_free");
	err = write_file(PARAMS "/zero_free", "0");
	sysfs_read_str(PARAMS "/zero_free", v, sizeof(v));
	ksft_test_result(err < 0 && !strcmp(v, "Y"), "zero_free cannot be changed at run time\n");
	leave_stale_free_memory();
	if (host)
		zero_with_host(want, before);
	else
		zero_without_host();
	print_counters("ksm-zero", NULL);
	ksft_test_result(!module_unload("pvx_ksm_guest"), "rmmod pvx_ksm_guest (zero_free)\n");
	final_added();
	ksft_finished();
}

/* ---- main ---------------------------------------------------------------- */

static int print_usage(void)
{
	fprintf(stderr, "usage: pvx_ksm_module_test --load KO --expect-host|--expect-fallback\n"
		"       pvx_ksm_module_test --params --expect-host|--expect-fallback\n"
		"       pvx_ksm_module_test --unload\n"
		"       pvx_ksm_module_test --zero KO --expect-host|--expect-fallback\n");
	return 2;
}

int main(int argc, char **argv)
{
	/* run_kselftest.sh runs it without arguments: a skip, not a failure */
	if (argc == 1)
		ksft_exit_skip("no mode: the lab's init.sh gives %s\n",
			       "--load, --params, --unload or --zero");

	if (argc == 2 && !strcmp(argv[1], "--unload")) {
		ksft_print_header();
		return unload_test();
	}
	if (argc == 3 && !strcmp(argv[1], "--params") && parse_expect(argv[2], &host)) {
		ksft_print_header();
		return params_test();
	}
	if (argc != 4 || !parse_expect(argv[3], &host))
		return print_usage();
	ksft_print_header();
	if (!strcmp(argv[1], "--load"))
		return load_test(argv[2]);
	if (!strcmp(argv[1], "--zero"))
		return zero_test(argv[2]);
	return print_usage();
}
