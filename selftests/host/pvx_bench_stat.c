// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_bench_stat: the statistics of make bench's tables (scripts/bench-*.sh,
 * run in L2), so that every number comes with its runs and min..max.
 *
 *   pvx_bench_stat [OPTIONS] stat LIST            median of LIST
 *   pvx_bench_stat [OPTIONS] ratio LIST_A LIST_B  median(A) / median(B)
 *   pvx_bench_stat [OPTIONS] pratio LIST_A LIST_B median of A[i] / B[i]
 *   pvx_bench_stat [OPTIONS] floor ge|le LIMIT LIST [LIST_B]
 *   pvx_bench_stat batch                          one of the above per line
 *
 * A LIST is one argument of numbers separated by commas or blanks, one
 * per run; "-" is a run without a number (left out, counted as dropped).
 * ratio's range is min(A) / max(B) .. max(A) / min(B); pratio pairs the
 * runs (A[i] with B[i], the same length) and gives the median and range
 * of the runs' own ratios. A ratio of x > 0 to 0 is inf, 0 / 0 has none.
 * floor judges the median of LIST (or of the paired ratios A[i] / B[i])
 * against LIMIT (in the samples' unit, before -s) and counts the runs
 * that meet it on their own:
 *
 *   stat, ratio, pratio:  0.95x (n=5 0.8..1.1)        n=1: 0.95x (n=1)
 *   floor:                met (0.95x, n=5 0.8..1.1, 3 of 5 runs,
 *                         sign test: undecided p=0.5)
 *                         MISSED (...), or "not evaluated, no result"
 *   -r (raw):             N MEDIAN MIN MAX            (0 - - - if none)
 *   -l (list, pratio):    the runs' ratios, comma-separated, "-" for none
 *
 * batch reads requests from stdin, one per line (the words of one of the
 * command lines above, blank-separated: a LIST without blanks), and
 * answers each with one line, "-" for a request in error (the message
 * on stderr): a table of many cells costs one process, which matters in
 * L2, where each costs a good part of a second under emulation.
 *
 * Runs without a number add ", D without a number". Options: -f FMT, the
 * printf conversion of each number (%.3g; %[.P]f|e|g only); -s SCALE, a
 * factor applied to what is printed; -u UNIT, a suffix of a finite median
 * ("x" for ratios, none for stat). Exit 0; 2 on a usage error or a word that
 * is not a number. The arithmetic is bench_stat.h's.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_stat.h"

#define MAX_RUNS	4096
#define MAX_WORDS	16	/* of one batch request */

struct series {
	size_t n;
	double v[MAX_RUNS];
};

struct style {
	struct bstat_style num;
	bool raw;
	bool list;
};

/* in batch mode, where an error ends the request rather than the program */
static jmp_buf *request_err;

static void bad_usage(void)
{
	fprintf(stderr,
		"usage: pvx_bench_stat [-r|-l] [-f FMT] [-s SCALE] [-u UNIT] stat LIST\n"
		"       pvx_bench_stat ... ratio|pratio LIST_A LIST_B\n"
		"       pvx_bench_stat ... floor ge|le LIMIT LIST [LIST_B]\n"
		"       pvx_bench_stat batch < REQUESTS\n");
	if (request_err)
		longjmp(*request_err, 1);
	exit(2);
}

static void die(const char *what, const char *word)
{
	fprintf(stderr, "pvx_bench_stat: %s: '%s'\n", what, word);
	if (request_err)
		longjmp(*request_err, 1);
	exit(2);
}

/* one number of a list into *x ("-" has none, NAN); false if not one */
static bool read_word(const char *w, double *x)
{
	char *end;

	if (!strcmp(w, "-")) {
		*x = NAN;
		return true;
	}
	*x = strtod(w, &end);
	return end != w && !*end;
}

static double parse_word(const char *w)
{
	double x;

	if (!read_word(w, &x))
		die("not a number", w);
	return x;
}

static void parse_list(const char *arg, struct series *s)
{
	char *copy = strdup(arg), *w, *save = NULL;
	const char *err = NULL;

	if (!copy)
		die("out of memory", arg);
	s->n = 0;
	for (w = strtok_r(copy, ", \t\n", &save); w && !err;
	     w = strtok_r(NULL, ", \t\n", &save)) {
		if (s->n == MAX_RUNS)
			err = "too many samples";
		else if (!read_word(w, &s->v[s->n++]))
			err = "not a number";
	}
	free(copy);
	if (err)
		die(err, arg);
}

/* %[.P]f, %[.P]e or %[.P]g and nothing else: the format takes one double */
static bool format_ok(const char *f)
{
	if (*f++ != '%')
		return false;
	if (*f == '.') {
		f++;
		while (isdigit((unsigned char)*f))
			f++;
	}
	return (*f == 'f' || *f == 'e' || *f == 'g') && !f[1];
}

static void put_raw(const struct bstat_spread *s, int ret)
{
	if (ret)
		printf("0 - - -\n");
	else
		printf("%zu %.17g %.17g %.17g\n", s->n, s->median, s->min,
		       s->max);
}

/* a spread as the tables print it: "-" when there is none */
static void report(const struct style *st, const struct bstat_spread *s,
		   int ret)
{
	char buf[256];

	if (st->raw) {
		put_raw(s, ret);
		return;
	}
	bstat_format(buf, sizeof(buf), &st->num, s, ret);
	puts(buf);
}

static int spread_of(const struct series *a, struct bstat_spread *s)
{
	static double scratch[MAX_RUNS];

	return bstat_spread_of(a->v, a->n, scratch, s);
}

/* the runs' own ratios A[i] / B[i] into r */
static void pair(const struct series *a, const struct series *b,
		 struct series *r)
{
	if (a->n != b->n)
		die("paired lists of different lengths", "pratio");
	bstat_paired(a->v, b->v, a->n, r->v);
	r->n = a->n;
}

static void put_list(const struct series *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (i)
			putchar(',');
		if (isnan(r->v[i]))
			putchar('-');
		else
			printf("%.17g", r->v[i]);
	}
	putchar('\n');
}

static void floor_verdict(const struct style *st, const struct series *v,
			  enum bstat_cmp cmp, double limit)
{
	static double scratch[MAX_RUNS];
	char buf[256];

	bstat_format_floor(buf, sizeof(buf), &st->num, v->v, v->n, scratch,
			   cmp, limit);
	puts(buf);
}

static struct series sa, sb, sr;

/* one command line: its options, command and arguments; its answer */
static void run_request(int argc, char **argv)
{
	struct style st = { { "%.3g", 1, NULL }, false, false };
	struct bstat_spread a, b, r;
	enum bstat_cmp cmp;
	const char *cmd;
	double limit;
	int opt, ret;

	optind = 0;	/* glibc: start over, for each request of a batch */
	while ((opt = getopt(argc, argv, "+f:lrs:u:")) != -1) {
		switch (opt) {
		case 'f':
			if (!format_ok(optarg))
				die("not a %[.P]f/e/g format", optarg);
			st.num.fmt = optarg;
			break;
		case 'l':
			st.list = true;
			break;
		case 'r':
			st.raw = true;
			break;
		case 's':
			st.num.scale = parse_word(optarg);
			if (isnan(st.num.scale))
				die("not a scale", optarg);
			break;
		case 'u':
			st.num.unit = optarg;
			break;
		default:
			bad_usage();
		}
	}
	if (optind >= argc)
		bad_usage();
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "stat") && argc == 1) {
		st.num.unit = st.num.unit ? st.num.unit : "";
		parse_list(argv[0], &sa);
		ret = spread_of(&sa, &a);
		report(&st, &a, ret);
	} else if (!strcmp(cmd, "ratio") && argc == 2) {
		st.num.unit = st.num.unit ? st.num.unit : "x";
		parse_list(argv[0], &sa);
		parse_list(argv[1], &sb);
		ret = spread_of(&sa, &a) ?: spread_of(&sb, &b);
		if (!ret)
			ret = bstat_ratio_of_medians(&a, &b, &r);
		report(&st, &r, ret);
	} else if (!strcmp(cmd, "pratio") && argc == 2) {
		st.num.unit = st.num.unit ? st.num.unit : "x";
		parse_list(argv[0], &sa);
		parse_list(argv[1], &sb);
		pair(&sa, &sb, &sr);
		if (st.list) {
			put_list(&sr);
			return;
		}
		report(&st, &r, spread_of(&sr, &r));
	} else if (!strcmp(cmd, "floor") && (argc == 3 || argc == 4)) {
		if (!strcmp(argv[0], "ge"))
			cmp = BSTAT_GE;
		else if (!strcmp(argv[0], "le"))
			cmp = BSTAT_LE;
		else
			bad_usage();
		limit = parse_word(argv[1]);
		if (isnan(limit))
			die("not a limit", argv[1]);
		parse_list(argv[2], &sa);
		if (argc == 4) {
			st.num.unit = st.num.unit ? st.num.unit : "x";
			parse_list(argv[3], &sb);
			pair(&sa, &sb, &sr);
			floor_verdict(&st, &sr, cmp, limit);
		} else {
			st.num.unit = st.num.unit ? st.num.unit : "";
			floor_verdict(&st, &sa, cmp, limit);
		}
	} else {
		bad_usage();
	}
}

/* one request: the words of a line as a command line */
static void answer(char *line)
{
	char *argv[MAX_WORDS + 1], *save;
	int argc = 1;

	argv[0] = "pvx_bench_stat";
	for (argv[argc] = strtok_r(line, " \t\n", &save);
	     argv[argc] && argc < MAX_WORDS;
	     argv[argc] = strtok_r(NULL, " \t\n", &save))
		argc++;
	argv[argc] = NULL;
	run_request(argc, argv);
}

/* each line of stdin a request, each answered with one line */
static void run_batch(void)
{
	static char line[65536];
	jmp_buf err;

	request_err = &err;
	while (fgets(line, sizeof(line), stdin)) {
		if (!line[strspn(line, " \t\n")])
			puts("-");	/* a blank line: no request */
		else if (setjmp(err))
			puts("-");
		else
			answer(line);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "batch"))
		run_batch();
	else
		run_request(argc, argv);
	return 0;
}
