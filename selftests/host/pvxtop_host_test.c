// SPDX-License-Identifier: GPL-2.0
/*
 * pvxtop_host_test: pvxtop on the KVM host (L2 in the lab; run by
 * run-l2.sh, Documentation/pvxtop.rst).
 *
 *   pvxtop_host_test loaded   pvx_host (and pvx_yield) loaded: the counts
 *                          pvxtop reports over pvx_hcall_test hcall-load
 *                          equal pvx_host's debugfs counters; --json
 *                          parses; -p, -d, SIGINT/SIGTERM/SIGKILL; no BPF
 *                          program or link left; the not-root and the
 *                          no-BPF errors; perf stat/record/trace count
 *                          pvx:hypercall as debugfs does
 *   pvxtop_host_test absent   pvx_host not loaded: the "not loaded" error
 *                          (each mode puts the host in its module state
 *                          first, loading from $PVX_BUILD, or skips)
 *   pvxtop_host_test watch-start DIR   pvxtop --json (and the table) in
 *                          the background, the debugfs totals of
 *                          pvx_fork_copy and pvx_ksm (those loaded) kept
 *                          in DIR; the caller then runs the stages of
 *                          their tests
 *   pvxtop_host_test watch-check DIR   SIGTERM to the table (exit 0),
 *                          SIGINT to --json: pvxtop's fork-copy and KSM
 *                          counts equal the growth of those debugfs
 *                          totals (allowing for BPF's missed events), each
 *                          feature's calls came from its own stage's test
 *                          and its VM shows in the table; no program
 *                          left, so the modules can be removed
 *
 * The checks follow one another over the same pvxtop runs and the same
 * load, so this is a plain kselftest.h program, not a harness one. Before
 * a result, a "# (+S s)" line when over a second of the host's uptime
 * went since the last one, and "# took S s: WHAT" lines, as the L2
 * suite's own (tap.sh). Without a mode (run_kselftest.sh) it skips.
 *
 * TAP 13 on stdout, the plan at the end; exit 0 pass, 1 fail, 4 nothing
 * passed. Environment: PVX_REPO (default: two directories above this
 * program's), PVX_SELFTESTS (default: this program's directory), PVX_OUT
 * (/tmp), PVXTOP (default $PVX_REPO/build/pvxtop/pvxtop), PVXTOP_LOAD_N
 * (200). It runs pvxtop, $PVX_SELFTESTS/pvx_hcall_test hcall-load,
 * bpftool, perf and setpriv as programs. Runs as root.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "module_util.h"
#include "sysfs_util.h"

#define DEBUGFS		"/sys/kernel/debug/pvx"
/*
 * What one missed event can hide: a call, or its pages (a fork-copy batch
 * holds PVX_COPY_MAX_PAIRS = 255 pairs; a KSM hint applies at most
 * PVX_KSM_MAX_BATCH_PAGES = 65536 pages)
 */
#define FC_MAX_PAGES	255
#define KSM_MAX_PAGES	65536
/* a debugfs counter not in its file */
#define MISSING		LLONG_MIN
/* "-" as a stderr of spawn(): this program's */
#define INHERIT		"-"

static char pvxtop[PATH_MAX], loadbin[PATH_MAX], bpftool[PATH_MAX], work[PATH_MAX];
static long load_n;

/* ---- TAP: time lines, results, the end ----------------------------------- */

static long t_tick, t_lap;

/* The host's uptime in centiseconds. */
static long now_cs(void)
{
	long s = 0, cs = 0;
	FILE *f = fopen("/proc/uptime", "r");

	if (f) {
		if (fscanf(f, "%ld.%ld", &s, &cs) != 2) {
			s = 0;
			cs = 0;
		}
		fclose(f);
	}
	return s * 100 + cs;
}

/* "# (+S s)" when a second or more went since the last result. */
static void tick(void)
{
	long now = now_cs(), d = now - t_tick;

	if (d >= 100)
		printf("# (+%ld.%02ld s)\n", d / 100, d % 100);
	t_tick = now;
}

static __printf(1, 2) void lap(const char *fmt, ...)
{
	long now = now_cs(), d = now - t_lap;
	va_list ap;

	printf("# took %ld.%02ld s: ", d / 100, d % 100);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	t_lap = now;
}

/* @s on one line: its newlines spaces, the trailing ones and blanks dropped. */
static void one_line(char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	for (; n; n--)
		if (s[n - 1] == '\n')
			s[n - 1] = ' ';
}

/* One check: ok when @ok. */
static __printf(2, 3) void result(bool ok, const char *fmt, ...)
{
	char desc[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	one_line(desc);
	tick();
	if (ok)
		ksft_test_result_pass("%s\n", desc);
	else
		ksft_test_result_fail("%s\n", desc);
}

/* A check that cannot be made ("ok N DESC # SKIP REASON"). */
static void skip(const char *reason, const char *desc)
{
	tick();
	ksft_test_result_code(KSFT_SKIP, desc, "%s", reason);
}

/* The plan; exit 0 pass, 1 fail, 4 nothing passed. */
static __noreturn void finish(void)
{
	ksft_set_plan(ksft_test_num());
	ksft_print_cnts();
	exit(ksft_get_fail_cnt() ? KSFT_FAIL : ksft_get_pass_cnt() ? KSFT_PASS : KSFT_SKIP);
}

/* ---- processes ----------------------------------------------------------- */

/*
 * Run @argv (looked up in PATH without a '/') in the background: stdin
 * @in's text (NULL: /dev/null), stdout into the file @out (NULL:
 * /dev/null), stderr into @err (NULL: as stdout, INHERIT: this
 * program's). Its pid, or -1.
 */
static pid_t spawn(char *const argv[], const char *in, const char *out, const char *err)
{
	int p[2] = { -1, -1 }, o, e;
	pid_t pid;

	if (in) {
		if (pipe(p))
			return -1;
		/* small texts: they fit in the pipe */
		if (write(p[1], in, strlen(in)) < 0)
			p[0] = -1;
		close(p[1]);
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid) {
		if (in)
			close(p[0]);
		return pid;
	}
	if (in)
		dup2(p[0], STDIN_FILENO);
	else
		dup2(open("/dev/null", O_RDONLY), STDIN_FILENO);
	o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (!err)
		e = o;
	else if (!strcmp(err, INHERIT))
		e = STDERR_FILENO;
	else
		e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (o < 0 || e < 0)
		_exit(127);
	dup2(o, STDOUT_FILENO);
	dup2(e, STDERR_FILENO);
	execvp(argv[0], argv);
	_exit(127);
}

/*
 * Run @argv with stdout and stderr together into a string (malloc'ed, its
 * trailing newlines cut, as "$(CMD 2>&1)"); its exit status in *@rc.
 */
static char *run_out(char *const argv[], int *rc)
{
	char *text = NULL;
	size_t len = 0, size = 0;
	int p[2];
	pid_t pid;
	ssize_t n;

	*rc = -1;
	if (pipe(p))
		return strdup("");
	fflush(stdout);
	pid = fork();
	if (!pid) {
		close(p[0]);
		dup2(open("/dev/null", O_RDONLY), STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		if (len + 4096 > size) {
			size = size * 2 + 4096;
			text = realloc(text, size);
			if (!text)
				break;
		}
		n = read(p[0], text + len, size - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	close(p[0]);
	*rc = wait_rc(pid);
	if (!text)
		return strdup("");
	text[len] = '\0';
	while (len && text[len - 1] == '\n')
		text[--len] = '\0';
	return text;
}

/* Whether the program @name is in PATH (command -v). */
static bool in_path(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH") ?: "/usr/sbin:/usr/bin:/sbin:/bin";
	const char *p = path, *end;

	for (; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		snprintf(buf, size, "%.*s/%s", (int)(end - p), p, name);
		if (!access(buf, X_OK))
			return true;
	}
	return false;
}

/*
 * A line from @fd within @secs seconds into @buf, without its newline:
 * false at the end of the input or when none came in time.
 */
static bool read_line(int fd, char *buf, size_t size, int secs)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	long deadline = now_cs() + secs * 100L;
	char c;

	buf[0] = '\0';
	while (len + 1 < size) {
		long left = deadline - now_cs();

		if (left <= 0 || poll(&pfd, 1, left * 10) <= 0 || read(fd, &c, 1) != 1)
			return false;
		if (c == '\n')
			return true;
		buf[len++] = c;
		buf[len] = '\0';
	}
	return true;
}

/* ---- files and their lines ------------------------------------------------ */

static bool write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok = f && fputs(text, f) >= 0;

	if (f && fclose(f))
		ok = false;
	return ok;
}

/* A file's lines, cut in place (the last one's newline is no line more). */
struct lines {
	char *text;
	char **v;
	size_t n;
};

static bool lines_read(struct lines *l, const char *path)
{
	char *p;

	memset(l, 0, sizeof(*l));
	l->text = read_text(path);
	/* an empty file has no lines (read_text() gives none) */
	if (!l->text && !access(path, R_OK))
		l->text = strdup("");
	if (!l->text)
		return false;
	for (p = l->text; *p; p = strchrnul(p, '\n') + !!*strchrnul(p, '\n')) {
		l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
		if (!l->v)
			break;
		l->v[l->n++] = p;
	}
	for (p = l->text; (p = strchr(p, '\n')); p++)
		*p = '\0';
	if (!l->v)
		l->n = 0;
	return true;
}

static void lines_free(struct lines *l)
{
	free(l->v);
	free(l->text);
	memset(l, 0, sizeof(*l));
}

/* The number at @s (digits only, as the awk of the shell read it), 0 if none. */
static long long number_at(const char *s)
{
	return isdigit((unsigned char)*s) ? strtoll(s, NULL, 10) : 0;
}

/* Sum of "KEY":number over the lines of "type":"TYPE" (pvxtop --json). */
static long long sum_key(const struct lines *l, const char *type, const char *key)
{
	char t[64], k[64];
	long long sum = 0;
	const char *v;
	size_t i;

	snprintf(t, sizeof(t), "\"type\":\"%s\"", type);
	snprintf(k, sizeof(k), "\"%s\":", key);
	for (i = 0; i < l->n; i++) {
		v = strstr(l->v[i], t) ? strstr(l->v[i], k) : NULL;
		if (v)
			sum += number_at(v + strlen(k));
	}
	return sum;
}

/* The lines that have @needle (and, with @unless, do not have that). */
static int count_lines(const struct lines *l, const char *needle, const char *unless)
{
	size_t i;
	int n = 0;

	for (i = 0; i < l->n; i++)
		n += strstr(l->v[i], needle) && !(unless && strstr(l->v[i], unless));
	return n;
}

/* The first @max of the lines with @needle as "# @prefix" comments. */
static void print_lines(const struct lines *l, const char *needle, const char *prefix, int max)
{
	size_t i;

	for (i = 0; i < l->n && max; i++)
		if (!needle || strstr(l->v[i], needle)) {
			ksft_print_msg("%s%s\n", prefix, l->v[i]);
			max--;
		}
}

static void print_file(const char *path, const char *prefix, int max)
{
	struct lines l;

	lines_read(&l, path);
	print_lines(&l, NULL, prefix, max);
	lines_free(&l);
}

/* Whether the file @path has @needle; with @at_start, at a line's start. */
static bool file_has(const char *path, const char *needle, bool at_start)
{
	char *text = read_text(path), *p;
	bool found = false;

	for (p = text; p && !found && (p = strstr(p, needle)); p++)
		found = !at_start || p == text || p[-1] == '\n';
	free(text);
	return found;
}

/* Whether the file gets such a line within @secs seconds. */
static bool wait_line(const char *path, const char *needle, bool at_start, int secs)
{
	int i;

	for (i = 0; i < secs * 10; i++) {
		if (file_has(path, needle, at_start))
			return true;
		sleep_ms(100);
	}
	return false;
}

/* The value of the "NAME value" line of a debugfs counters text, or MISSING. */
static long long counter(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = text; p && *p; p = strchrnul(p, '\n') + !!*strchrnul(p, '\n'))
		if (!strncmp(p, name, n) && (p[n] == ' ' || p[n] == '\t'))
			return strtoll(p + n + 1, NULL, 10);
	return MISSING;
}

/* A counter as the shell printed it ("missing" when not there). */
static const char *cstr(long long v, char *buf, size_t size)
{
	if (v == MISSING)
		snprintf(buf, size, "missing");
	else
		snprintf(buf, size, "%lld", v);
	return buf;
}

/* A counter in arithmetic: 0 when not there (as bash's $((missing))). */
static long long cval(long long v)
{
	return v == MISSING ? 0 : v;
}

static long long counter_file(const char *path, const char *name)
{
	char *text = read_text(path);
	long long v = counter(text, name);

	free(text);
	return v;
}

/* ---- JSON: every line of a file one value --------------------------------- */

/* a recursive-descent checker; nesting beyond this is refused */
#define JSON_DEPTH	64

static void j_ws(const char **s)
{
	while (**s == ' ' || **s == '\t')
		(*s)++;
}

static bool j_str(const char **s)
{
	const char *p = *s;
	int i;

	if (*p++ != '"')
		return false;
	for (;;) {
		if (!*p)
			return false;
		if (*p == '"')
			break;
		if (*p != '\\') {
			p++;
			continue;
		}
		p++;
		if (*p && strchr("\"\\/bfnrt", *p)) {
			p++;
		} else if (*p == 'u') {
			for (i = 1; i <= 4; i++)
				if (!isxdigit((unsigned char)p[i]))
					return false;
			p += 5;
		} else {
			return false;
		}
	}
	*s = p + 1;
	return true;
}

static bool j_num(const char **s)
{
	const char *p = *s;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (isdigit((unsigned char)*p))
			p++;
	else
		return false;
	if (p[0] == '.' && isdigit((unsigned char)p[1]))
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (*p == 'e' || *p == 'E') {
		const char *e = p + 1 + (p[1] == '-' || p[1] == '+');

		if (isdigit((unsigned char)*e))
			for (p = e; isdigit((unsigned char)*p); p++)
				;
	}
	*s = p;
	return true;
}

static bool j_val(const char **s, int depth);

/* The members of an object (@keyed) or array from its opening character. */
static bool j_members(const char **s, char endc, bool keyed, int depth)
{
	char c;

	(*s)++;
	j_ws(s);
	if (**s == endc) {
		(*s)++;
		return true;
	}
	for (;;) {
		j_ws(s);
		if (keyed) {
			if (!j_str(s))
				return false;
			j_ws(s);
			if (**s != ':')
				return false;
			(*s)++;
		}
		if (!j_val(s, depth + 1))
			return false;
		j_ws(s);
		c = **s;
		if (!c)
			return false;
		(*s)++;
		if (c == endc)
			return true;
		if (c != ',')
			return false;
	}
}

static bool j_val(const char **s, int depth)
{
	static const char *const lit[] = { "true", "false", "null" };
	size_t i;

	if (depth > JSON_DEPTH)
		return false;
	j_ws(s);
	if (**s == '{')
		return j_members(s, '}', true, depth);
	if (**s == '[')
		return j_members(s, ']', false, depth);
	if (**s == '"')
		return j_str(s);
	if (j_num(s))
		return true;
	for (i = 0; i < ARRAY_SIZE(lit); i++)
		if (!strncmp(*s, lit[i], strlen(lit[i]))) {
			*s += strlen(lit[i]);
			return true;
		}
	return false;
}

/*
 * Whether every line of the file @path is one JSON value; the bad ones as
 * "bad JSON line N: LINE" into @bad (cut to @size).
 */
static bool json_check(const char *path, char *bad, size_t size)
{
	struct lines l;
	size_t i, len = 0;
	const char *s;
	bool ok;

	bad[0] = '\0';
	if (!lines_read(&l, path))
		return false;
	ok = true;
	for (i = 0; i < l.n; i++) {
		s = l.v[i];
		if (j_val(&s, 0)) {
			j_ws(&s);
			if (!*s)
				continue;
		}
		ok = false;
		if (len < size)
			len += snprintf(bad + len, size - len, "bad JSON line %zu: %s\n", i + 1,
					l.v[i]);
	}
	lines_free(&l);
	return ok;
}

/* ---- pvxtop's BPF programs and links (bpftool) --------------------------- */

/* Split @s at blanks into at most @max fields; how many. */
static int fields(char *s, char **f, int max)
{
	int n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(s, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save))
		f[n++] = t;
	return n;
}

/* What an object line of bpftool gives: its id, @what of its fields after "@key". */
struct bpf_scan {
	const char *key;
	bool (*want)(const char *value, const void *arg);
	const void *arg;
	bool colon;	/* the id as bpftool prints it ("ID:") */
	char *buf;
	size_t size, len;
};

/*
 * "bpftool KIND show": the ids of the objects (lines "ID: ...") with a
 * field @s->key followed by a value @s->want()s, blank-separated into
 * @s->buf.
 */
static void bpftool_scan(char *kind, struct bpf_scan *s)
{
	char *const argv[] = { bpftool, kind, "show", NULL }, *out, *line, *save = NULL, *f[64];
	int rc, n, i;

	s->buf[0] = '\0';
	s->len = 0;
	out = run_out(argv, &rc);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!isdigit((unsigned char)line[0]))
			continue;
		n = fields(line, f, ARRAY_SIZE(f));
		if (!n || f[0][strspn(f[0], "0123456789")] != ':')
			continue;
		for (i = 1; i + 1 < n; i++)
			if (!strcmp(f[i], s->key) && s->want(f[i + 1], s->arg) && s->len < s->size)
				s->len += snprintf(s->buf + s->len, s->size - s->len, "%s%.*s",
						   s->len ? " " : "",
						   (int)(strlen(f[0]) - !s->colon), f[0]);
	}
	free(out);
}

/* pvxtop's programs, by their names */
static bool our_name(const char *name, const void *arg)
{
	static const char *const names[] = {
		"pvx_hypercall", "pvx_yield", "pvx_numa_hint", "pvx_fork_copy",
		"pvx_ksm_hint", "kvm_exit", "kvm_hypercall", "pvx_guest_hyper",
		"pvx_spin_yield", "pvx_spin_halt", "pvx_spin_kick", "pvx_stimer_fire",
		"pvx_stimer_rear",
	};
	size_t j;

	(void)arg;
	for (j = 0; j < ARRAY_SIZE(names); j++)
		if (!strcmp(name, names[j]))
			return true;
	return false;
}

/* The ids of pvxtop's programs, blank-separated, into @ids. */
static void our_progs(char *ids, size_t size)
{
	struct bpf_scan s = { .key = "name", .want = our_name, .buf = ids, .size = size };

	bpftool_scan("prog", &s);
}

/* Whether the id @id is one of the blank-separated @arg. */
static bool one_of(const char *id, const void *arg)
{
	char padded[1024], want[32];

	snprintf(padded, sizeof(padded), " %s ", (const char *)arg);
	snprintf(want, sizeof(want), " %s ", id);
	return strstr(padded, want);
}

/*
 * The links to the programs @ids (bpftool link show), blank-separated into
 * @links, each as bpftool names it ("ID:").
 */
static void our_links(const char *ids, char *links, size_t size)
{
	struct bpf_scan s = { .key = "prog", .want = one_of, .arg = ids, .colon = true,
			      .buf = links, .size = size };

	bpftool_scan("link", &s);
}

/*
 * pvxtop's programs still loaded after up to 5 s (the kernel frees a
 * program a moment after its last link and fd are gone): "" when they
 * went.
 */
static void progs_left(char *left, size_t size)
{
	int i;

	for (i = 0; i < 50; i++) {
		our_progs(left, size);
		if (!left[0])
			return;
		sleep_ms(100);
	}
}

/* ---- absent --------------------------------------------------------------- */

/* Whether @out is one line (as "$(echo "$out" | wc -l)" = 1). */
static bool is_one_line(const char *out)
{
	return !strchr(out, '\n');
}

static void absent_test(void)
{
	char *const argv[] = { pvxtop, "-d", "1", NULL }, *out;
	int rc;

	out = run_out(argv, &rc);
	result(rc == 1 && is_one_line(out) && strstr(out, "pvx is not loaded"),
	       "pvxtop without pvx: exit 1 and one line: %s (exit %d)", out, rc);
	free(out);
	finish();
}

/* ---- watch-start / watch-check -------------------------------------------- */

/*
 * pvx:fork_copy and pvx:ksm_hint over the stages run-l2.sh runs between
 * them: the feature totals in debugfs and their pvxtop events
 */
static const struct feature {
	const char *file, *event;
} features[] = {
	{ "fork_copy", "pvx/fork_copy" },
	{ "ksm", "pvx/ksm_hint" },
};

static const char *watch_dir;

static const char *wpath(const char *name, const char *ext)
{
	static char paths[4][PATH_MAX];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s%s", watch_dir, name, ext);
	return p;
}

static void debugfs_path(char *buf, size_t size, const char *file)
{
	snprintf(buf, size, DEBUGFS "/%s", file);
}

/*
 * pvxtop ARGS in the background, its output in DIR/NAME.out (stderr
 * .err), its pid in DIR/NAME.pid and, once it ended, its exit status in
 * DIR/NAME.rc: a process of its own waits for it, since watch-start's own
 * process is gone by then (and an orphan would wait for L2's init to
 * reap it, which kill -0 cannot tell from running).
 */
static void spawn_watcher(const char *name, const char *arg)
{
	char *const argv[] = { pvxtop, (char *)arg, NULL }, buf[32];
	pid_t pid;
	int null;

	fflush(stdout);
	if (fork())
		return;
	null = open("/dev/null", O_RDWR);
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	pid = fork();
	if (!pid) {
		/* its pid before anything of its own is in its files */
		snprintf(buf, sizeof(buf), "%d\n", getpid());
		write_text(wpath(name, ".pid"), buf);
		dup2(open(wpath(name, ".out"), O_WRONLY | O_CREAT | O_TRUNC, 0644),
		     STDOUT_FILENO);
		dup2(open(wpath(name, ".err"), O_WRONLY | O_CREAT | O_TRUNC, 0644),
		     STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	snprintf(buf, sizeof(buf), "%d\n", wait_rc(pid));
	write_text(wpath(name, ".rc"), buf);
	_exit(0);
}

/* The pid in DIR/NAME.pid, 0 when none. */
static pid_t watcher_pid(const char *name)
{
	char *text = read_text(wpath(name, ".pid"));
	pid_t pid = text ? atoi(text) : 0;

	free(text);
	return pid;
}

static void kill_watcher(const char *name, int sig)
{
	pid_t pid = watcher_pid(name);

	if (pid > 0)
		kill(pid, sig);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static __noreturn void watch_start_failed(const char *what, const char *err)
{
	char head[320];

	file_head(wpath(err, ".err"), 300, head, sizeof(head));
	result(false, "watch: %s in 60 s: %s", what, head);
	kill_watcher("json", SIGTERM);
	kill_watcher("table", SIGTERM);
	unlink(wpath("json", ".pid"));
	finish();
}

static void watch_start(void)
{
	char src[PATH_MAX], kept[256] = "", *text;
	size_t i, len = 0;

	remove_tree(watch_dir);
	if (mkdir(watch_dir, 0755) && errno != EEXIST)
		ksft_exit_fail_msg("mkdir %s: %s\n", watch_dir, strerror(errno));
	spawn_watcher("json", "--json");
	spawn_watcher("table", NULL);
	if (!wait_line(wpath("json", ".out"), "\"type\":\"start\"", false, 60))
		watch_start_failed("pvxtop --json: no start line", "json");
	/*
	 * and the table's first screen: it is attached too (watch-check
	 * looks for the stages' VMs in its screens)
	 */
	if (!wait_line(wpath("table", ".out"), "pvxtop ", true, 60))
		watch_start_failed("pvxtop (table): no screen", "table");
	/*
	 * after the start line: every event counted in debugfs from now on
	 * reaches pvxtop's programs
	 */
	for (i = 0; i < ARRAY_SIZE(features); i++) {
		debugfs_path(src, sizeof(src), features[i].file);
		text = read_text(src);
		if (text && write_text(wpath(features[i].file, ".before"), text))
			len += snprintf(kept + len, sizeof(kept) - len, "%s%s.before",
					len ? " " : "", features[i].file);
		free(text);
	}
	result(true, "watch: pvxtop --json started (pid %d), debugfs totals kept: %s",
	       watcher_pid("json"), len ? kept : "*.before");
	lap("watch-start: pvxtop --json and the table attached");
	finish();
}

/*
 * Up to 30 s for the exit status of a watcher already signalled (both at
 * once: each detaches its programs meanwhile).
 */
static bool stop_watcher(const char *name)
{
	pid_t pid = watcher_pid(name);
	struct stat st;
	int i;

	if (pid <= 0)
		return false;
	for (i = 0; i < 300; i++) {
		if (!stat(wpath(name, ".rc"), &st) && st.st_size > 0)
			return true;
		sleep_ms(100);
	}
	kill(pid, SIGKILL);
	return false;
}

/* Growth of the debugfs counter @name of @file over the watch. */
static long long grew(const char *file, const char *name)
{
	return cval(counter_file(wpath(file, ".after"), name)) -
	       cval(counter_file(wpath(file, ".before"), name));
}

/*
 * pvxtop's @counted is the debugfs growth @want when no event was missed;
 * each missed event (the kernel skips a program on a CPU where BPF
 * already runs, and counts it) may hide up to @per of @want. With @per 0,
 * a count of events: @counted + @missed must be @want exactly (as
 * pvxtop_guest_test's counted_all()).
 */
static void counted(const char *what, long long c, long long missed, long long per,
		    long long want)
{
	if (!per)
		result(c + missed == want, "%s: pvxtop %lld + %lld missed = debugfs growth %lld",
		       what, c, missed, want);
	else
		result(c <= want && want <= c + missed * per,
		       "%s: pvxtop %lld (+ up to %lld missed x %lld) = debugfs growth %lld",
		       what, c, missed, per, want);
}

/* pvxtop's missed count of @event from its last end line naming it, or -1. */
static long long missed_of(const struct lines *l, const char *event)
{
	char k[64];
	const char *v, *p;
	long long mi = -1;
	size_t i;

	snprintf(k, sizeof(k), "\"%s\":", event);
	for (i = 0; i < l->n; i++) {
		p = strstr(l->v[i], "\"type\":\"end\"");
		if (!p || !strstr(p, k))
			continue;
		for (v = NULL; (p = strstr(p, k)); p++)
			v = p + strlen(k);
		mi = isdigit((unsigned char)*v) ? strtoll(v, NULL, 10) : -1;
	}
	return mi;
}

/* The checks of one feature module. */
static void watch_feature(const struct lines *json, const struct feature *f)
{
	long long mi = missed_of(json, f->event), calls, pages, pinned, unpinned;
	char src[PATH_MAX], buf[32];

	debugfs_path(src, sizeof(src), f->file);
	if (access(wpath(f->file, ".before"), F_OK) || access(src, R_OK))
		return;
	result(mi >= 0, "watch: pvxtop attached to %s (its missed count in the end line: %s)",
	       f->event, mi >= 0 ? cstr(mi, buf, sizeof(buf)) : "none");
	mi = mi < 0 ? 0 : mi;
	calls = grew(f->file, "calls");
	if (!strcmp(f->file, "fork_copy")) {
		pages = grew(f->file, "pages");
		counted("watch: pvx:fork_copy calls", sum_key(json, "total", "fc_calls"), mi, 0,
			calls);
		counted("watch: fork-copy pages copied", sum_key(json, "total", "fc_pages"), mi,
			FC_MAX_PAGES, pages);
		counted("watch: fork-copy calls answered < 0 (calls - done)",
			sum_key(json, "total", "fc_errors"), mi, 1, calls - grew(f->file, "done"));
		result(pages > 0, "watch: the stage copied pages (debugfs pages +%lld)", pages);
	} else {
		pinned = grew(f->file, "pinned");
		unpinned = grew(f->file, "unpinned");
		counted("watch: pvx:ksm_hint calls", sum_key(json, "total", "ksm_hints"), mi, 0,
			calls);
		counted("watch: KSM hint calls answered < 0 (calls - done)",
			sum_key(json, "total", "ksm_errors"), mi, 1, calls - grew(f->file, "done"));
		counted("watch: KSM never-merge pins taken", sum_key(json, "total", "ksm_pinned"),
			mi, KSM_MAX_PAGES, pinned);
		counted("watch: KSM pins given back by withdraws",
			sum_key(json, "total", "ksm_unpinned"), mi, KSM_MAX_PAGES, unpinned);
		result(pinned > 0 && unpinned > 0,
		       "watch: the stage pinned and unpinned (debugfs pinned +%lld, unpinned +%lld)",
		       pinned, unpinned);
	}
}

/* The number at the start of @s as awk's "$n + 0" reads it. */
static double field_num(const char *s)
{
	return strtod(s, NULL);
}

/*
 * One pvxtop watched several stages: the feature's calls in the --json
 * totals all came from its own stage's test (by its COMM), and the table
 * showed that test's VM at work.
 */
static void stage_split(const struct lines *json, const struct feature *fe)
{
	bool fc = !strcmp(fe->file, "fork_copy"), shown = false;
	const char *key = fc ? "fc_calls" : "ksm_hints";
	const char *comm = fc ? "pvx_fork_copy_t" : "pvx_ksm_host_te";
	const char *name = fc ? "FCPG/s" : "KSMH/s";
	long long mine = 0, other = 0;
	char k[64], c[64], *f[64], *copy;
	const char *v;
	struct lines t;
	int col = 0, n, i;
	size_t j;

	snprintf(k, sizeof(k), "\"%s\":", key);
	snprintf(c, sizeof(c), "\"comm\":\"%s\",", comm);
	for (j = 0; j < json->n; j++) {
		v = strstr(json->v[j], "\"type\":\"total\"") ? strstr(json->v[j], k) : NULL;
		if (!v)
			continue;
		if (strstr(json->v[j], c))
			mine += number_at(v + strlen(k));
		else
			other += number_at(v + strlen(k));
	}
	result(mine > 0 && other == 0,
	       "watch: --json %s by stage: %lld from %s, %lld from other processes", key, mine,
	       comm, other);
	/* the column by its header, wherever the table puts it */
	lines_read(&t, wpath("table", ".out"));
	for (j = 0; j < t.n && !col; j++) {
		copy = strdup(t.v[j]);
		n = copy ? fields(copy, f, ARRAY_SIZE(f)) : 0;
		for (i = 1; n && !strcmp(f[0], "PID") && i < n && !col; i++)
			if (!strcmp(f[i], name))
				col = i + 1;
		free(copy);
	}
	for (j = 0; j < t.n && col && !shown; j++) {
		copy = strdup(t.v[j]);
		n = copy ? fields(copy, f, ARRAY_SIZE(f)) : 0;
		shown = n >= col && n >= 4 && !strcmp(f[1], comm) && !strcmp(f[3], "all") &&
			field_num(f[col - 1]) > 0;
		free(copy);
	}
	lines_free(&t);
	result(shown, "watch: the table shows %s's VM with column %s above 0", comm, name);
}

/* Whether a table line is a VM's at work: copied pages or pinned. */
static bool table_hit(const char *line)
{
	char *copy = strdup(line), *f[64];
	int n = copy ? fields(copy, f, ARRAY_SIZE(f)) : 0;
	bool hit = n >= 4 && !strcmp(f[3], "all") &&
		   ((n >= 18 && field_num(f[17]) > 0) || (n >= 22 && field_num(f[21]) > 0));

	free(copy);
	return hit;
}

/* The table's screens where a VM copied pages or pinned, at most two. */
static void table_excerpt(void)
{
	struct lines t;
	size_t start = 0, i, j;
	bool hit = false;
	int shown = 0;

	lines_read(&t, wpath("table", ".out"));
	for (i = 0; i <= t.n && shown < 2; i++) {
		if (i < t.n && strncmp(t.v[i], "pvxtop ", 7)) {
			hit = hit || table_hit(t.v[i]);
			continue;
		}
		/* a screen ends where the next begins */
		if (hit && i > start) {
			for (j = start; j < i; j++)
				ksft_print_msg("%s\n", t.v[j]);
			shown++;
		}
		start = i;
		hit = i < t.n && table_hit(t.v[i]);
	}
	lines_free(&t);
}

/* The watcher @name (@what) signalled with @sig: ended in time, and exit 0. */
static void watcher_ended(const char *name, const char *what, const char *sig)
{
	char err[256], *rc;

	result(stop_watcher(name), "watch: %s ended within 30 s of %s", what, sig);
	rc = read_text(wpath(name, ".rc"));
	if (rc)
		one_line(rc);
	result(rc && !strcmp(rc, "0"), "watch: %s exit 0 after %s (exit %s) %s", what, sig,
	       rc && *rc ? rc : "none", file_head(wpath(name, ".err"), 200, err, sizeof(err)));
	free(rc);
}

static void watch_check(void)
{
	char src[PATH_MAX], bad[256], left[512], *text;
	struct lines json;
	size_t i, j;
	int shown;

	if (access(wpath("json", ".pid"), F_OK)) {
		result(false, "watch: no pvxtop started by watch-start in %s", watch_dir);
		finish();
	}
	for (i = 0; i < ARRAY_SIZE(features); i++) {
		if (access(wpath(features[i].file, ".before"), F_OK))
			continue;
		debugfs_path(src, sizeof(src), features[i].file);
		text = read_text(src);
		if (text)
			write_text(wpath(features[i].file, ".after"), text);
		free(text);
	}
	kill_watcher("table", SIGTERM);
	kill_watcher("json", SIGINT);
	watcher_ended("table", "pvxtop (table)", "SIGTERM");
	watcher_ended("json", "pvxtop --json", "SIGINT");
	result(json_check(wpath("json", ".out"), bad, sizeof(bad)),
	       "watch: every --json line parses %.200s", bad);
	result(file_has(wpath("json", ".out"), "\"type\":\"end\",\"dropped\":0,", false),
	       "watch: an end line, no event dropped");
	lines_read(&json, wpath("json", ".out"));
	for (i = 0; i < ARRAY_SIZE(features); i++) {
		watch_feature(&json, &features[i]);
		if (!access(wpath(features[i].file, ".before"), F_OK))
			stage_split(&json, &features[i]);
	}
	/* the first totals of a feature at work */
	for (j = 0, shown = 0; j < json.n && shown < 3; j++) {
		const char *l = json.v[j], *z = strstr(l, "\"fc_calls\":0,");

		if (strstr(l, "\"type\":\"total\"") && !(z && strstr(z, "\"ksm_hints\":0,"))) {
			ksft_print_msg("%s\n", l);
			shown++;
		}
	}
	lines_free(&json);
	table_excerpt();
	progs_left(left, sizeof(left));
	result(!left[0], "watch: no pvxtop program left, the modules can go (%s)", left);
	finish();
}

/* ---- loaded: counts over a known load, -p, SIGINT ------------------------- */

static const char *work_path(const char *name)
{
	static char paths[4][PATH_MAX];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, PATH_MAX, "%.4000s/%s", work, name);
	return p;
}

static void remove_work(void)
{
	if (work[0])
		remove_tree(work);
}

/* hcall-load's 2-vCPU VM, its pipes (stdin, stdout and stderr). */
struct load {
	pid_t pid;
	int in, out;
};

static bool load_start(struct load *ld)
{
	char n[16], *argv[] = { loadbin, "hcall-load", n, NULL };
	int in[2], out[2];

	snprintf(n, sizeof(n), "%ld", load_n);
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return false;
	fflush(stdout);
	ld->pid = fork();
	if (!ld->pid) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(out[1], STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	ld->in = in[1];
	ld->out = out[0];
	return ld->pid > 0;
}

static long long sum(const struct lines *l, const char *key)
{
	return sum_key(l, "total", key);
}

/* The per-VM and host counters against pvxtop's totals. */
static void counts_checks(const struct lines *js, const char *vmdir, const char *vm_counters,
			  const char *vm_yield, const char *before, const char *after,
			  pid_t vm_pid)
{
	long long calls = sum(js, "hc_probe") + sum(js, "hc_yield") + sum(js, "hc_other");
	long long errors = sum(js, "res_einval") + sum(js, "res_eopnotsupp") +
			   sum(js, "res_enomem") + sum(js, "res_eother");
	const char *const keys[] = { "calls", "probe", "enosys", "errors" };
	const char *const ykeys[] = { "done", "not_done", "target_running", "invalid" };
	long long v[] = { calls, sum(js, "hc_probe"), sum(js, "res_enosys"), errors };
	long long yv[] = { sum(js, "yield_done"), sum(js, "yield_not_done"),
			   sum(js, "yield_target_running"), sum(js, "yield_invalid") };
	char want[32], b[64];
	long long y, d, k;
	const char *base;
	size_t i;

	if (!vmdir) {
		result(false, "debugfs: no " DEBUGFS "/vm*-%d directory", vm_pid);
	} else {
		base = strrchr(vmdir, '/') + 1;
		k = strtoll(base + 2, NULL, 10);
		snprintf(b, sizeof(b), "\"vm_id\":%lld,", k);
		result(count_lines(js, "\"type\":\"total\"", b) == 0,
		       "total rows name vm_id %lld of %s (%d do not)", k, base,
		       count_lines(js, "\"type\":\"total\"", b));
		for (i = 0; i < ARRAY_SIZE(keys); i++) {
			d = counter(vm_counters, keys[i]);
			result(d == v[i], "per-VM counter %s: debugfs %s, pvxtop %lld", keys[i],
			       cstr(d, want, sizeof(want)), v[i]);
		}
		if (module_is_loaded("pvx_yield") && vm_yield && *vm_yield) {
			for (i = 0; i < ARRAY_SIZE(ykeys); i++) {
				d = counter(vm_yield, ykeys[i]);
				result(d == yv[i], "per-VM yield %s: debugfs %s, pvxtop %lld",
				       ykeys[i], cstr(d, want, sizeof(want)), yv[i]);
			}
			y = counter(vm_yield, "calls");
			result(y != MISSING && y > 0, "the load made yields reach pvx_yield (%s)",
			       cstr(y, want, sizeof(want)));
		} else {
			skip("pvx_yield not loaded", "per-VM yield counters");
		}
	}
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		d = cval(counter(after, keys[i])) - cval(counter(before, keys[i]));
		result(d == v[i], "host counter %s grew by %lld, pvxtop saw %lld", keys[i], d,
		       v[i]);
	}
	result(calls >= load_n + load_n / 2,
	       "pvxtop saw at least the %ld PROBEs of the load (%lld calls)",
	       load_n + load_n / 2, calls);
	d = sum(js, "kvm_hypercalls_pvx");
	result(d == calls, "kvm:kvm_hypercall in pvx's range (%lld) = pvx:hypercall (%lld)", d,
	       calls);
	d = sum(js, "kvm_exits");
	result(d >= calls, "kvm:kvm_exit counted (%lld) >= hypercalls (%lld)", d, calls);
	print_lines(js, "\"type\":\"total\"", "", 4);
}

static void pid_test(void)
{
	char line[256], word[64] = "", rest[64] = "", err[320], ids[512], links[512], left[512];
	char bad[256], pidstr[16], pat[128], *before, *after, *vm_counters = NULL;
	char *vm_yield = NULL, *vmdir = NULL, *text;
	char *const argv[] = { pvxtop, "--json", "-p", pidstr, NULL };
	struct load ld = { .pid = -1 };
	struct lines js;
	pid_t top, vm_pid = 0;
	glob_t g;
	int rc, nl = 0;
	size_t i;

	if (!module_is_loaded("pvx_yield"))
		ksft_print_msg("pvx_yield not loaded: yields answer -ENOSYS, no yield counts\n");
	if (!load_start(&ld) || !read_line(ld.out, line, sizeof(line), 60) ||
	    sscanf(line, "%63s %63s", word, rest) < 1 || strcmp(word, "vm")) {
		result(false, "hcall-load: VM set-up (got '%s %s')", word, rest);
		if (ld.pid > 0)
			kill(ld.pid, SIGKILL);
		finish();
	}
	vm_pid = atoi(rest);
	snprintf(pidstr, sizeof(pidstr), "%d", vm_pid);
	top = spawn(argv, NULL, work_path("load.json"), work_path("load.err"));
	if (!wait_line(work_path("load.json"), "\"type\":\"start\"", false, 60)) {
		result(false, "pvxtop --json -p: no start line in 60 s: %s",
		       file_head(work_path("load.err"), 300, err, sizeof(err)));
		kill(top, SIGTERM);
		kill(ld.pid, SIGTERM);
		finish();
	}
	lap("hcall-load's VM, pvxtop --json -p attached");
	our_progs(ids, sizeof(ids));
	result(ids[0], "pvxtop running: its programs in bpftool prog show (ids %s)", ids);
	our_links(ids, links, sizeof(links));
	result(links[0], "pvxtop running: links to them in bpftool link show (ids %s)", links);
	before = read_text(DEBUGFS "/counters");
	if (write(ld.in, "go\n", 3) != 3)
		ksft_print_msg("hcall-load: go not written: %s\n", strerror(errno));
	word[0] = '\0';
	rest[0] = '\0';
	if (read_line(ld.out, line, sizeof(line), 300))
		sscanf(line, "%63s %63s", word, rest);
	result(!strcmp(word, "done") && !strcmp(rest, "0"),
	       "hcall-load %ld: every call ran (%s %s)", load_n, word[0] ? word : "nothing",
	       rest);
	snprintf(pat, sizeof(pat), DEBUGFS "/vm*-%d", vm_pid);
	if (!glob(pat, 0, NULL, &g) && g.gl_pathc) {
		vmdir = strdup(g.gl_pathv[0]);
		snprintf(line, sizeof(line), "%s/counters", vmdir);
		vm_counters = read_text(line);
		snprintf(line, sizeof(line), "%s/yield", vmdir);
		vm_yield = read_text(line);
	}
	globfree(&g);
	after = read_text(DEBUGFS "/counters");
	wait_line(work_path("load.json"), "\"type\":\"interval\"", false, 10); /* checked below */
	lap("bpftool, hcall-load %ld", load_n);
	kill(top, SIGINT);
	rc = wait_rc(top);
	lap("pvxtop's exit on SIGINT");
	result(rc == 0, "pvxtop --json -p: exit 0 after SIGINT (exit %d) %s", rc,
	       file_head(work_path("load.err"), 200, err, sizeof(err)));
	close(ld.in);	/* end of its stdin: it destroys the VM */
	close(ld.out);
	wait_rc(ld.pid);

	text = read_text(work_path("load.json"));
	for (i = 0; text && text[i]; i++)
		nl += text[i] == '\n';
	free(text);
	lines_read(&js, work_path("load.json"));
	result(json_check(work_path("load.json"), bad, sizeof(bad)),
	       "--json: every line parses (%d lines) %.200s", nl, bad);
	result(count_lines(&js, "\"type\":\"interval\"", NULL), "--json: interval lines");
	result(count_lines(&js, "\"type\":\"end\",\"dropped\":0,\"missed\":{\"pvx/hypercall\":",
			   NULL),
	       "--json: end line, no events dropped, the misses of each event (pvx/hypercall first)");
	snprintf(pat, sizeof(pat), "\"pid\":%d,", vm_pid);
	nl = count_lines(&js, "\"type\":\"total\"", pat);
	result(nl == 0, "-p %d: no total row of another process (%d)", vm_pid, nl);
	counts_checks(&js, vmdir, vm_counters ?: "", vm_yield, before ?: "", after ?: "", vm_pid);
	lines_free(&js);
	free(before);
	free(after);
	free(vm_counters);
	free(vm_yield);
	free(vmdir);
	progs_left(left, sizeof(left));
	result(!left[0], "after SIGINT: no pvxtop program left in bpftool prog show (%s)", left);
	our_links(ids, left, sizeof(left));
	result(!left[0], "after SIGINT: no link to them left in bpftool link show (%s)", left);
	lap("pvxtop --json -p over hcall-load %ld, SIGINT, checks", load_n);
}

/* ---- -d: exits by itself (--json, the table under a load, --advise) ------- */

/* pvxtop --advise with the bad input @a, @b (and @c): refused. */
static void bad_advise(const char *a, const char *b, const char *c)
{
	char *const argv[] = { pvxtop, "--advise", (char *)a, (char *)b, (char *)c, NULL }, *out;
	bool ok, usage = false;
	const char *p;
	int rc;

	out = run_out(argv, &rc);
	if (c) {
		for (p = out; p && !usage; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
			usage = !strncmp(p, "usage: ", 7);
		ok = rc == 2 && usage;
	} else {
		ok = rc == 1 && is_one_line(out) && !strncmp(out, "pvxtop: ", 8);
	}
	out[strcspn(out, "\n")] = '\0';
	result(ok, "pvxtop --advise %s %s%s%s: refused, exit %d: %s", a, b, c ? " " : "",
	       c ?: "", rc, out);
	free(out);
}

static void d_test(void)
{
	char *const json[] = { pvxtop, "--json", "-d", "2", NULL };
	char *const table[] = { pvxtop, "-d", "4", NULL };
	char *const advise[] = { pvxtop, "--advise", "-d", "2", NULL }, n[16];
	char *const load[] = { loadbin, "hcall-load", n, NULL }, err[256], bad[256], *first;
	pid_t djson, dtable, dadvise;
	bool ok;
	int rc;

	/*
	 * --advise's bad input first (refused before any BPF), then the
	 * three -d runs at once: each loads and verifies its BPF programs,
	 * which L2's two CPUs share, and their intervals overlap
	 */
	bad_advise("-d", "0", NULL);
	bad_advise("-d", "x", NULL);
	bad_advise("-i", "1", NULL);
	bad_advise("-d", "2", "extra");
	djson = spawn(json, NULL, work_path("d.json"), work_path("d.err"));
	dtable = spawn(table, NULL, work_path("table.txt"), NULL);
	dadvise = spawn(advise, NULL, work_path("advise.txt"), NULL);
	/*
	 * the table's first screen: its programs are attached (a file read,
	 * not bpftool while pvxtop's programs load); the load then shows in
	 * it
	 */
	wait_line(work_path("table.txt"), "pvxtop ", true, 30);
	snprintf(n, sizeof(n), "%ld", load_n);
	wait_rc(spawn(load, "go\n", NULL, NULL));
	rc = wait_rc(djson);
	result(rc == 0, "pvxtop --json -d 2: exit 0 by itself (exit %d) %s", rc,
	       file_head(work_path("d.err"), 200, err, sizeof(err)));
	result(json_check(work_path("d.json"), bad, sizeof(bad)) &&
	       file_has(work_path("d.json"), "\"type\":\"end\"", false),
	       "pvxtop --json -d 2: parses, ends with an end line");
	rc = wait_rc(dtable);
	result(rc == 0 && file_has(work_path("table.txt"), "HC/s", false) &&
	       file_has(work_path("table.txt"), "EXITS/s", false),
	       "pvxtop -d 4 (table): exit 0 with its header (exit %d)", rc);
	print_file(work_path("table.txt"), "", -1);
	/*
	 * --advise on a host without pvx_numa, whose one rule
	 * (hysteresis_pct) cannot be judged (Documentation/tuning.rst)
	 */
	rc = wait_rc(dadvise);
	if (module_is_loaded("pvx_numa"))
		ok = file_has(work_path("advise.txt"), "pvx_numa hysteresis_pct", false);
	else
		ok = file_has(work_path("advise.txt"),
			      "not judged: pvx_numa hysteresis_pct: pvx_numa is not loaded\n",
			      true);
	first = read_text(work_path("advise.txt"));
	if (first)
		first[strcspn(first, "\n")] = '\0';
	ok = ok && rc == 0 && first && !strncmp(first, "pvxtop --advise ", 16) &&
	     strstr(first + 15, " host  counted over ");
	free(first);
	result(ok,
	       "pvxtop --advise -d 2 on the host: exit %d, a header and the hysteresis_pct line",
	       rc);
	print_file(work_path("advise.txt"), "", -1);
	lap("pvxtop --advise refusals; --json -d 2, -d 4 (table) under hcall-load %ld and %s",
	    load_n, "--advise -d 2 at once");
}

/* ---- perf with pvx's tracepoints (Documentation/pvxtop.rst) -------------- */

/* pvx_host's "calls" counter growth over @argv (stdout dropped, stderr to @err). */
static long long calls_delta(char *const argv[], const char *err)
{
	long long a = cval(counter_file(DEBUGFS "/counters", "calls")), b;

	wait_rc(spawn(argv, NULL, NULL, err));
	b = cval(counter_file(DEBUGFS "/counters", "calls"));
	return b - a;
}

/* The lines of @path with @needle, -1 when it cannot be read. */
static long long count_in(const char *path, const char *needle)
{
	struct lines l;
	long long n = -1;

	if (lines_read(&l, path))
		n = count_lines(&l, needle, NULL);
	lines_free(&l);
	return n;
}

static bool nonempty(const char *path)
{
	struct stat st;

	return !stat(path, &st) && st.st_size > 0;
}

static void perf_trace(char *const argv[], long long *c, long long *d)
{
	*d = calls_delta(argv, work_path("trace.err"));
	*c = count_in(work_path("perf.trace"), "pvx:hypercall");
}

static void perf_test(void)
{
	char script[PATH_MAX + 64], sh[PATH_MAX], data[PATH_MAX], stat_out[PATH_MAX];
	char trace_out[PATH_MAX], err[256], *f[8], perf[PATH_MAX];
	char *const pstat[] = { "perf", "stat", "-a", "-x,", "-o", stat_out, "-e", "pvx:*",
				"--", "sh", sh, NULL };
	char *const precord[] = { "perf", "record", "-q", "-B", "-N", "-a", "-e",
				  "pvx:hypercall", "-o", data, "--", "sh", sh, NULL };
	char *const pscript[] = { "perf", "script", "-i", data, NULL };
	char *const ptrace[] = { "perf", "trace", "--no-syscalls", "-e", "pvx:hypercall", "-o",
				 trace_out, "--", "sh", sh, NULL };
	char cs[64] = "", ds[32];
	long long c, d;
	struct lines l;
	size_t i;

	snprintf(sh, sizeof(sh), "%s", work_path("load.sh"));
	snprintf(data, sizeof(data), "%s", work_path("perf.data"));
	snprintf(stat_out, sizeof(stat_out), "%s", work_path("perf.stat"));
	snprintf(trace_out, sizeof(trace_out), "%s", work_path("perf.trace"));
	snprintf(script, sizeof(script),
		 "#!/bin/sh\necho go | \"%s\" hcall-load 40 >/dev/null 2>&1\n", loadbin);
	write_text(sh, script);
	chmod(sh, 0755);
	if (!in_path("perf", perf, sizeof(perf))) {
		skip("no perf (make deps installs linux-perf)",
		     "perf stat/record/trace with pvx:*");
		lap("perf trace");
		return;
	}
	d = calls_delta(pstat, INHERIT);
	lines_read(&l, stat_out);
	for (i = 0; i < l.n; i++) {
		if (l.v[i][0])
			ksft_print_msg("perf stat: %s\n", l.v[i]);
	}
	for (i = 0; i < l.n && !cs[0]; i++) {
		/* the CSV's third field is the event (awk -F,) */
		char *copy = strdup(l.v[i]), *save = copy, *p;
		int n = 0;

		while (copy && n < 8 && (p = strsep(&save, ",")))
			f[n++] = p;
		if (n >= 3 && !strcmp(f[2], "pvx:hypercall"))
			snprintf(cs, sizeof(cs), "%s", f[0]);
		free(copy);
	}
	lines_free(&l);
	snprintf(ds, sizeof(ds), "%lld", d);
	result(!strcmp(cs, ds),
	       "perf stat -e 'pvx:*': pvx:hypercall %s, debugfs calls grew by %lld",
	       cs[0] ? cs : "missing", d);
	lap("perf stat");
	d = calls_delta(precord, work_path("perf.err"));
	wait_rc(spawn(pscript, NULL, work_path("perf.script"), "/dev/null"));
	c = count_in(work_path("perf.script"), "pvx:hypercall");
	print_file(work_path("perf.script"), "perf script: ", 3);
	result(c == d,
	       "perf record -e pvx:hypercall + perf script: %lld events, debugfs calls grew by %lld %s",
	       c, d, file_head(work_path("perf.err"), 200, err, sizeof(err)));
	lap("perf record, perf script");
	perf_trace(ptrace, &c, &d);
	/*
	 * perf trace reads its ring buffer as it goes: once in a CI run
	 * (6.1) it printed 94 of 95 events (perf record and perf stat above
	 * count every one); a second run must then be exact
	 */
	if (nonempty(trace_out) && c != d) {
		ksft_print_msg("perf trace: %lld events, debugfs calls grew by %lld; %s\n", c,
			       d, "once more");
		perf_trace(ptrace, &c, &d);
	}
	if (nonempty(trace_out)) {
		print_file(trace_out, "perf trace: ", 3);
		result(c == d, "perf trace -e pvx:hypercall: %lld events, %s %lld", c,
		       "debugfs calls grew by", d);
	} else {
		char why[300];

		snprintf(why, sizeof(why), "perf trace gave nothing: %s ",
			 file_head(work_path("trace.err"), 200, err, sizeof(err)));
		skip(why, "perf trace -e pvx:hypercall");
	}
	lap("perf trace");
}

/* ---- SIGTERM and SIGKILL leave nothing attached (one pvxtop each, at once) */

static void signals_test(void)
{
	char *const argv[] = { pvxtop, NULL }, left[512];
	pid_t pterm, pkill;
	int rc;

	pterm = spawn(argv, NULL, work_path("TERM.txt"), NULL);
	pkill = spawn(argv, NULL, work_path("KILL.txt"), NULL);
	/* attached: its first screen */
	wait_line(work_path("TERM.txt"), "pvxtop ", true, 30);
	wait_line(work_path("KILL.txt"), "pvxtop ", true, 30);
	kill(pterm, SIGTERM);
	kill(pkill, SIGKILL);
	rc = wait_rc(pterm);
	wait_rc(pkill);
	progs_left(left, sizeof(left));
	result(rc == 0 && !left[0], "SIGTERM: exit 0, no program left (exit %d, left: %s)", rc,
	       left);
	result(!left[0], "SIGKILL: no program left (the kernel drops unpinned links; left: %s)",
	       left);
	lap("pvxtop SIGTERM, SIGKILL");
}

/* ---- errors --------------------------------------------------------------- */

static void errors_test(void)
{
	char *const nobody[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
				 pvxtop, "-d", "1", NULL };
	char *const nocaps[] = { "setpriv", "--inh-caps=-all", "--bounding-set=-all", pvxtop,
				 "-d", "1", NULL };
	char *const bad_d[] = { pvxtop, "-d", "nope", NULL }, *out, path[PATH_MAX], left[512];
	int rc;

	if (in_path("setpriv", path, sizeof(path))) {
		out = run_out(nobody, &rc);
		result(rc == 1 && is_one_line(out) && strstr(out, "must run as root"),
		       "not root: exit 1 and one line: %s (exit %d)", out, rc);
		free(out);
		/* root without capabilities: BPF refused */
		out = run_out(nocaps, &rc);
		result(rc == 1 && is_one_line(out) && strstr(out, "BPF unavailable"),
		       "root without capabilities: exit 1 and one line: %s (exit %d)", out, rc);
		free(out);
	} else {
		skip("no setpriv", "not root: one-line error");
		skip("no setpriv", "no capabilities: one-line error");
	}
	out = run_out(bad_d, &rc);
	result(rc == 1 && strstr(out, "not a positive number"), "bad -d: %s", out);
	free(out);
	our_progs(left, sizeof(left));
	result(!left[0], "at the end: no pvxtop program left (%s)", left);
	lap("errors: not root, no capabilities, bad -d");
}

/* ---- main ----------------------------------------------------------------- */

#define USAGE	"usage: pvxtop_host_test loaded|absent|watch-start DIR|watch-check DIR\n"

/* The paths and settings from the environment, defaults beside this program. */
static void setup(void)
{
	char self[PATH_MAX], repo[PATH_MAX], tests[PATH_MAX], *e;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = '\0';
	if (strrchr(self, '/'))
		*strrchr(self, '/') = '\0';
	snprintf(tests, sizeof(tests), "%s", getenv("PVX_SELFTESTS") ?: self);
	snprintf(repo, sizeof(repo), "%.4000s/../..", self);
	if (getenv("PVX_REPO"))
		snprintf(repo, sizeof(repo), "%s", getenv("PVX_REPO"));
	else if (realpath(repo, self))
		snprintf(repo, sizeof(repo), "%s", self);
	if (getenv("PVXTOP"))
		snprintf(pvxtop, sizeof(pvxtop), "%s", getenv("PVXTOP"));
	else
		snprintf(pvxtop, sizeof(pvxtop), "%.4000s/build/pvxtop/pvxtop", repo);
	snprintf(loadbin, sizeof(loadbin), "%.4000s/pvx_hcall_test", tests);
	e = getenv("PVXTOP_LOAD_N");
	load_n = e ? atol(e) : 200;
	if (!in_path("bpftool", bpftool, sizeof(bpftool)))
		snprintf(bpftool, sizeof(bpftool), "/usr/sbin/bpftool");
}

/*
 * Put the host in the module state of @mode, or skip with the reason:
 * loaded needs pvx_host and pvx_yield (its load's yields), absent no
 * pvx_host, watch-start the feature modules whose calls it counts.
 */
static void need_modules(const char *mode)
{
	const char *why = NULL;

	if (!strcmp(mode, "loaded"))
		why = module_ensure_loaded("pvx_yield");
	else if (!strcmp(mode, "absent"))
		why = module_ensure_absent("pvx_host");
	else if (!strcmp(mode, "watch-start"))
		why = module_ensure_loaded("pvx_fork_copy") ?: module_ensure_loaded("pvx_ksm");
	if (why)
		ksft_exit_skip("%s\n", why);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : NULL;
	bool watch = mode && (!strcmp(mode, "watch-start") || !strcmp(mode, "watch-check"));

	t_tick = now_cs();
	t_lap = t_tick;
	ksft_print_header();
	/* run_kselftest.sh runs it without a mode: nothing to do there */
	if (!mode)
		ksft_exit_skip("no mode: run-l2.sh gives %s\n",
			       "loaded, absent, watch-start DIR or watch-check DIR");
	if (watch ? argc != 3 :
	    argc != 2 || (strcmp(mode, "loaded") && strcmp(mode, "absent")))
		ksft_exit_fail_msg(USAGE);
	setup();
	need_modules(mode);
	if (access(pvxtop, X_OK)) {
		result(false, "pvxtop: %s missing (make -C tools/pvxtop; %s)", pvxtop,
		       "needs clang, bpftool, libbpf-dev: make deps");
		finish();
	}
	if (!strcmp(mode, "absent"))
		absent_test();
	if (watch) {
		watch_dir = argv[2];
		if (!strcmp(mode, "watch-start"))
			watch_start();
		watch_check();
	}
	snprintf(work, sizeof(work), "%s/pvxtop-test.XXXXXX", getenv("PVX_OUT") ?: "/tmp");
	if (!mkdtemp(work))
		ksft_exit_fail_msg("mkdtemp %s: %s\n", work, strerror(errno));
	atexit(remove_work);
	pid_test();
	d_test();
	perf_test();
	signals_test();
	errors_test();
	finish();
}
